//! Writes a large, valid SOP to standard output, for benchmarking `alur check`.
//!
//! Usage: `cargo run --release --example gen_sop -- 10000 > big.sop`
//!
//! Every tenth step is a verification that can send the file back to the step before it, every
//! hundredth block of steps runs two recommendations in parallel, and the stated total is the
//! real main-path sum, so the generated file checks clean.

use std::fmt::Write as _;

fn main() {
    let steps: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mut body = String::new();
    let (mut minutes, mut days) = (0u64, 0u64);
    let actors = ["pemohon", "front_office", "back_office", "dinas_teknis", "kabid", "sekretaris", "kepala_dinas"];
    let mut i = 1;
    while i <= steps {
        let actor = actors[i % actors.len()];
        if i % 100 == 50 && i < steps {
            // Two recommendations at once: the longer one (1 hari) counts.
            let _ = writeln!(body, "    paralel rekomendasi_{i} {{");
            for (offset, waktu) in [(0, "1 hari"), (1, "30 menit")] {
                let n = i + offset;
                let _ = writeln!(
                    body,
                    "        langkah {n} s{n} oleh dinas_teknis {{\n            kegiatan \"Rekomendasi {n}\"\n            kelengkapan d{prev}\n            waktu {waktu}\n            output d{n} \"Dokumen {n}\"\n        }}",
                    prev = i - 1
                );
            }
            let _ = writeln!(body, "    }}");
            days += 1;
            // The step after the block needs the longer branch's output.
            i += 2;
            let n = i;
            if n <= steps {
                let _ = writeln!(
                    body,
                    "    langkah {n} s{n} oleh back_office {{\n        kegiatan \"Gabung {n}\"\n        kelengkapan d{a}, d{b}\n        waktu 5 menit\n        output d{n} \"Dokumen {n}\"\n    }}",
                    a = n - 2,
                    b = n - 1
                );
                minutes += 5;
                i += 1;
            }
            continue;
        }
        let needs = if i == 1 { "persyaratan".to_string() } else { format!("d{}", i - 1) };
        let decision = if i % 10 == 0 && i > 1 {
            format!(
                "\n        keputusan {{\n            diterima -> lanjut\n            ditolak  -> kembali ke s{}, jam berhenti, maks 3 kali\n        }}",
                i - 1
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            body,
            "    langkah {i} s{i} oleh {actor} {{\n        kegiatan \"Kegiatan nomor {i}\"\n        kelengkapan {needs}\n        waktu 3 menit\n        output d{i} \"Dokumen {i}\"{decision}\n    }}"
        );
        minutes += 3;
        i += 1;
    }
    let (hours, minutes) = (minutes / 60, minutes % 60);
    let rounded = days + (hours * 60 + minutes).div_ceil(450);
    let mut out = String::new();
    let _ = writeln!(out, "sop besar \"SOP sintetis {steps} langkah\" {{");
    let _ = writeln!(out, "    instansi \"Kantor Uji\"");
    let _ = writeln!(out, "    kalender wita_kantor");
    let _ = writeln!(out, "    total {days} hari {hours} jam {minutes} menit ({rounded} hari)");
    let _ = writeln!(out, "    pelaksana {{");
    for actor in actors {
        let kind = if actor == "pemohon" { "pemohon" } else { "staf" };
        let _ = writeln!(out, "        {actor} \"{actor}\" {kind}");
    }
    let _ = writeln!(out, "    }}");
    let _ = writeln!(out, "    dokumen {{\n        persyaratan \"Persyaratan\"\n    }}");
    out.push_str(&body);
    out.push_str("}\n");
    print!("{out}");
}
