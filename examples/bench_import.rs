//! Benchmarks `alur import` in process: a generated table of N steps (actor marks missing,
//! routes in Keterangan, a page break every 20 rows with a page number, a repeated header and a
//! row continued on the next page), and the seed table. Usage: bench_import [STEPS] [RUNS]

use std::time::Instant;

use alur::diagnostic::Lang;
use alur::import::{import, ImportOptions};
use alur::time::Duration;

fn table(steps: usize) -> String {
    let header =
        "No\tKegiatan\tPemohon\tFront Office\tBack Office\tKepala Dinas\tKelengkapan\tWaktu\tOutput\tKeterangan\n";
    let mut out = format!("SOP Generated {steps}\n{header}");
    for i in 1..=steps {
        let (activity, note) = match i % 4 {
            1 => ("Mengajukan permohonan", ""),
            2 => (
                "Memverifikasi berkas permohonan",
                "Terouting ke Back Office apabila diterima dan ke Pemohon apabila ditolak",
            ),
            3 => ("Memproses berkas", "Berkas dirouting ke Kepala Dinas"),
            _ => ("Menandatangani surat", ""),
        };
        out.push_str(&format!("{i}\t{activity} {i}\t\t\t\t\tBerkas {}\t10 Menit\tBerkas {i}\t{note}\n", i - 1));
        if i % 20 == 0 && i < steps {
            out.push_str(&format!("\t(lanjutan {i})\t\t\t\t\t\t\t\t\n\n{}\n\n{header}", i / 20));
        }
    }
    let total = Duration::minutes(10 * steps as u32);
    out.push_str(&format!("Jumlah Waktu\t\t\t\t\t\t\t{total} ({} Hari)\t\t\n", total.rounded_workdays(450)));
    out
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn bench(name: &str, bytes: &[u8], runs: usize) {
    let mut samples = Vec::new();
    let mut steps = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let imported = import(name, None, bytes, &ImportOptions::default());
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
        let Some(text) = imported.text else {
            eprintln!("{}", alur::diagnostic::render_all(&imported.sources, &imported.diagnostics, Lang::En));
            std::process::exit(1);
        };
        steps = text.matches("\n    langkah ").count();
    }
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    // How much of that is compiling and checking the result (which `alur check` does anyway).
    let text = import(name, None, bytes, &ImportOptions::default()).text.unwrap_or_default();
    let mut compile = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let compiled = alur::compile::compile_source("bench.sop", &text, &alur::compile::Options::default());
        compile.push(start.elapsed().as_secs_f64() * 1000.0);
        assert!(!compiled.has_errors());
    }
    println!(
        "alur import {name} ({lines} lines, {steps} steps): median {:.2} ms, min {:.2} ms over {runs} runs \
         (compiling and checking the result alone: median {:.2} ms)",
        median(samples.clone()),
        samples.iter().copied().fold(f64::INFINITY, f64::min),
        median(compile)
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let steps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let generated = table(steps);
    bench(&format!("generated-{steps}.tsv"), generated.as_bytes(), runs);
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/import/seed-lks-lksa.tsv");
    if let Ok(bytes) = std::fs::read(seed) {
        bench("seed-lks-lksa.tsv", &bytes, runs);
    }
}
