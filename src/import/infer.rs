//! What the importer reads into the table's words: marks in actor cells, the actor of a row
//! without marks, the kind of each actor, and routes written in the Keterangan column.

use crate::model::ActorKind;

use super::text::norm;

/// A mark in an actor cell: `X`, `v`, `√`, `✓`.
pub fn is_mark(cell: &str) -> bool {
    matches!(
        cell.trim(),
        "x" | "X" | "v" | "V" | "√" | "✓" | "✔" | "☑" | "☒" | "✗" | "●" | "•" | "■" | "*" | "o" | "O" | "ο"
    )
}

/// The kind of an actor from its column heading.
pub fn actor_kind(label: &str) -> ActorKind {
    let n = norm(label);
    if is_applicant(&n) {
        ActorKind::Applicant
    } else if ["sistem", "aplikasi", "oss", "sicantik", "system"].iter().any(|w| n.split(' ').any(|x| x == *w)) {
        ActorKind::System
    } else if ["dinas ", "instansi", "opd", "tim teknis", "badan ", "kantor "].iter().any(|p| n.starts_with(p)) {
        ActorKind::External
    } else {
        ActorKind::Staff
    }
}

fn is_applicant(n: &str) -> bool {
    ["pemohon", "pelaku usaha", "masyarakat", "applicant", "wajib pajak", "pengguna layanan"]
        .iter()
        .any(|p| n.contains(p))
}

fn words(text: &str) -> Vec<String> {
    norm(text)
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':' || c == '(' || c == ')')
        .map(|w| w.trim_end_matches('.').to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The actor a phrase starts with: the heading written in full ("Back Office"), or the first
/// words of exactly one heading ("Kabid" for "Kabid Perizinan"). Returns the actor and how
/// many words of the phrase it took.
pub fn actor_in_phrase(phrase: &[String], actors: &[String]) -> Option<(usize, usize)> {
    let mut best: Vec<(usize, usize, bool)> = Vec::new();
    for (index, label) in actors.iter().enumerate() {
        let label_words = words(label);
        let k = phrase.iter().zip(&label_words).take_while(|(a, b)| a == b).count();
        if k == 0 {
            continue;
        }
        let full = k == label_words.len();
        let ends = k == phrase.len() || phrase.get(k).is_some_and(|w| PHRASE_ENDS.contains(&w.as_str()));
        if full || ends {
            best.push((index, k, full));
        }
    }
    let longest = best.iter().map(|(_, k, _)| *k).max()?;
    let top: Vec<_> = best.iter().filter(|(_, k, _)| *k == longest).collect();
    match top.as_slice() {
        [one] => Some((one.0, one.1)),
        many => many.iter().find(|(_, _, full)| *full).map(|(i, k, _)| (*i, *k)),
    }
}

const PHRASE_ENDS: &[&str] =
    &["apabila", "jika", "bila", "kalau", "bilamana", "untuk", "dan", "atau", "yang", "guna", "sebagai"];
const CONDITION_WORDS: &[&str] = &["apabila", "jika", "bila", "kalau", "bilamana"];
const TO_WORDS: &[&str] = &["ke", "kepada"];

/// A route written in a Keterangan cell: "terouting ke Back Office apabila diterima".
#[derive(Clone, Debug, PartialEq)]
pub struct NoteRoute {
    pub actor: usize,
    /// The condition ("diterima", "tidak lengkap"), when the clause has one.
    pub outcome: Option<String>,
}

/// Reads the routes of a Keterangan cell: clauses separated by `dan` or `;`, each naming an
/// actor after `ke`/`kepada`, with or without `apabila ...` before or after it.
pub fn note_routes(note: &str, actors: &[String]) -> Vec<NoteRoute> {
    let mut clauses: Vec<Vec<String>> = Vec::new();
    for part in note.split(';') {
        clauses.push(Vec::new());
        for w in words(part) {
            if w == "dan" && clauses.last().is_some_and(|c| c.iter().any(|x| TO_WORDS.contains(&x.as_str()))) {
                clauses.push(Vec::new());
            } else if let Some(last) = clauses.last_mut() {
                last.push(w);
            }
        }
    }
    let mut out = Vec::new();
    for clause in clauses {
        let Some(to) = clause.iter().position(|w| TO_WORDS.contains(&w.as_str())) else { continue };
        let Some((actor, _)) = actor_in_phrase(&clause[to + 1..], actors) else { continue };
        let condition = clause.iter().position(|w| CONDITION_WORDS.contains(&w.as_str()));
        let outcome = condition.map(|c| {
            let phrase: Vec<&String> = if c < to {
                clause[c + 1..to].iter().take_while(|w| !is_routing_verb(w)).collect()
            } else {
                clause[c + 1..].iter().collect()
            };
            let phrase: Vec<&str> = phrase
                .iter()
                .map(|w| w.as_str())
                .skip_while(|w| matches!(*w, "berkas" | "permohonan" | "dokumen" | "persyaratan" | "data"))
                .take(3)
                .collect();
            phrase.join(" ")
        });
        out.push(NoteRoute { actor, outcome: outcome.filter(|o| !o.is_empty()) });
    }
    out
}

fn is_routing_verb(word: &str) -> bool {
    ["rout", "kembali", "kirim", "terus", "serah", "sampai", "lanjut", "limpah"].iter().any(|r| word.contains(r))
}

/// Whether an outcome sends the file back rather than on: "ditolak", "tidak lengkap".
pub fn is_negative(outcome: &str) -> bool {
    outcome.split(' ').any(|w| {
        w.contains("tolak")
            || matches!(w, "tidak" | "belum" | "kurang" | "gagal" | "salah" | "perbaikan" | "revisi")
            || w.contains("kembali")
    })
}

/// The outcome opposite to a written one, for a decision whose Keterangan names only one:
/// "tidak lengkap" gives "lengkap", "ditolak" gives "diterima".
pub fn opposite(outcome: &str) -> String {
    let ws: Vec<&str> = outcome.split(' ').collect();
    match ws.as_slice() {
        ["ditolak"] => "diterima".into(),
        ["diterima"] => "ditolak".into(),
        [first, rest @ ..] if matches!(*first, "tidak" | "belum" | "kurang") && !rest.is_empty() => rest.join(" "),
        _ => format!("tidak {outcome}"),
    }
}

/// A role an activity suggests, matched against the actor headings.
struct Rule {
    /// Phrases in the activity (lower case) that suggest the role.
    phrases: &'static [&'static str],
    /// Phrases of actor headings that fill the role.
    actors: &'static [&'static str],
    /// Whether the phrase must start the activity.
    at_start: bool,
}

/// The rules, most specific first: signing is the head's, field work and recommendations the
/// technical agency's, submitting and receiving the permit the applicant's, verification the
/// front office's, processing and drafting the back office's.
const RULES: &[Rule] = &[
    Rule {
        phrases: &["tanda tangan", "menandatangani", "penandatanganan"],
        actors: &["kepala dinas", "kepala badan", "kepala kantor", "kepala dpmptsp", "kadis", "kaban", "kepala"],
        at_start: false,
    },
    Rule {
        phrases: &[
            "membuat rekomendasi",
            "bap lapangan",
            "survei",
            "survey",
            "peninjauan lapangan",
            "meninjau lokasi",
            "pemeriksaan lapangan",
            "kajian teknis",
        ],
        actors: &["dinas teknis", "tim teknis", "opd teknis", "instansi teknis"],
        at_start: false,
    },
    Rule {
        phrases: &["mengajukan", "mendaftar", "mengisi", "mengunggah", "mengupload", "melengkapi", "membayar"],
        actors: &["pemohon", "pelaku usaha", "masyarakat", "applicant"],
        at_start: true,
    },
    Rule {
        phrases: &[
            "menerima surat izin",
            "menerima izin",
            "menerima sk",
            "menerima surat keputusan",
            "mengambil izin",
            "mengambil surat izin",
        ],
        actors: &["pemohon", "pelaku usaha", "masyarakat", "applicant"],
        at_start: false,
    },
    Rule {
        phrases: &["verifikasi", "memverifikasi", "memeriksa kelengkapan", "pemeriksaan berkas"],
        actors: &["front office", "loket", "petugas pendaftaran", "customer service", "petugas pelayanan"],
        at_start: false,
    },
    Rule {
        phrases: &["memproses", "draft", "konsep", "mengetik", "menyiapkan"],
        actors: &["back office", "petugas pemroses", "pemroses"],
        at_start: false,
    },
];

/// The actor an activity suggests, and the phrase that suggested it. An actor heading written
/// in the activity wins; then the first rule whose phrase is in the activity and whose role
/// exactly one actor column fills.
pub fn actor_from_activity(activity: &str, actors: &[String]) -> Option<(usize, String)> {
    let text = norm(activity);
    let named: Vec<usize> = actors
        .iter()
        .enumerate()
        .filter(|(_, label)| {
            let l = norm(label);
            !l.is_empty() && contains_words(&text, &l)
        })
        .map(|(i, _)| i)
        .collect();
    if let [one] = named.as_slice() {
        return Some((*one, actors[*one].clone()));
    }
    for rule in RULES {
        let Some(phrase) =
            rule.phrases.iter().find(|p| if rule.at_start { text.starts_with(*p) } else { text.contains(*p) })
        else {
            continue;
        };
        let filling: Vec<usize> = actors
            .iter()
            .enumerate()
            .filter(|(_, label)| {
                let l = norm(label);
                rule.actors.iter().any(|a| l == *a || l.starts_with(&format!("{a} ")) || l.contains(a))
            })
            .map(|(i, _)| i)
            .collect();
        if let [one] = filling.as_slice() {
            return Some((*one, (*phrase).to_string()));
        }
    }
    None
}

/// Whether `phrase` occurs in `text` as whole words.
fn contains_words(text: &str, phrase: &str) -> bool {
    let t: Vec<&str> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    let p: Vec<&str> = phrase.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    !p.is_empty() && t.windows(p.len()).any(|w| w == p.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_actors() -> Vec<String> {
        ["Pemohon", "Front Office", "Back Office", "Dinas Teknis", "Kabid Perizinan", "Sekretaris", "Kepala Dinas"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn routes_in_keterangan() {
        let actors = seed_actors();
        let routes = note_routes(
            "Otomatis terouting ke Back Office apabila diterima dan terouting ke pemohon apabila ditolak",
            &actors,
        );
        assert_eq!(
            routes,
            vec![
                NoteRoute { actor: 2, outcome: Some("diterima".into()) },
                NoteRoute { actor: 0, outcome: Some("ditolak".into()) }
            ]
        );
        assert_eq!(note_routes("Berkas dirouting ke Kabid", &actors), vec![NoteRoute { actor: 4, outcome: None }]);
        assert_eq!(
            note_routes("Apabila berkas tidak lengkap dikembalikan ke Pemohon", &actors),
            vec![NoteRoute { actor: 0, outcome: Some("tidak lengkap".into()) }]
        );
        assert_eq!(
            note_routes("Berkas dirouting ke Kepala Dinas", &actors),
            vec![NoteRoute { actor: 6, outcome: None }]
        );
        assert!(note_routes("Dikirim ke lokasi", &actors).is_empty());
    }

    #[test]
    fn actors_from_activities() {
        let actors = seed_actors();
        let who = |a: &str| actor_from_activity(a, &actors).map(|(i, _)| actors[i].clone());
        assert_eq!(who("Mengajukan Permohonan Pendaftaran secara online").as_deref(), Some("Pemohon"));
        assert_eq!(who("Memverifikasi berkas permohonan").as_deref(), Some("Front Office"));
        assert_eq!(
            who("Menerima Berkas Permohonan secara elektronik, Rekomendasi, memproses").as_deref(),
            Some("Back Office")
        );
        assert_eq!(
            who("Menerima permohonan, memproses permohonan, Membuat BAP Lapangan").as_deref(),
            Some("Dinas Teknis")
        );
        assert_eq!(who("Tanda Tangan Surat Izin (SK)").as_deref(), Some("Kepala Dinas"));
        assert_eq!(who("Menerima Surat Izin / SK").as_deref(), Some("Pemohon"));
        assert_eq!(who("Memberikan Paraf persetujuan"), None);
    }

    #[test]
    fn opposites_and_kinds() {
        assert_eq!(opposite("tidak lengkap"), "lengkap");
        assert_eq!(opposite("ditolak"), "diterima");
        assert_eq!(opposite("sesuai"), "tidak sesuai");
        assert!(is_negative("tidak lengkap") && is_negative("ditolak") && !is_negative("diterima"));
        assert_eq!(actor_kind("Dinas Teknis"), ActorKind::External);
        assert_eq!(actor_kind("Kepala Dinas"), ActorKind::Staff);
        assert_eq!(actor_kind("Pemohon"), ActorKind::Applicant);
    }
}
