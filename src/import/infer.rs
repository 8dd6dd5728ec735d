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

/// A flowchart terminator written in an actor cell (`MULAI`, `SELESAI`): the flowchart's
/// first and last symbols, which stand in the column of the step's actor.
pub fn is_terminator(cell: &str) -> bool {
    matches!(norm(cell).as_str(), "mulai" | "selesai" | "start" | "end" | "finish")
}

/// The words of a text, lower case, split at spaces and punctuation: "Ka.Bid. Yandu." and
/// "Ka. Bid." both give `ka bid`.
pub fn words(text: &str) -> Vec<String> {
    norm(text)
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '(' | ')' | '.' | '/'))
        .map(str::to_string)
        .filter(|w| !w.is_empty())
        .collect()
}

/// Words written before an actor's title without being part of it: "petugas Front Office".
const TITLE_WORDS: &[&str] = &["petugas", "pejabat", "staf", "bagian"];

/// The actor a phrase starts with: the heading written in full ("Back Office"), its first
/// words ("Kabid" for "Kabid Perizinan" where the phrase ends there; "Ka. Bid." for "Ka.Bid.
/// Yandu."), its initials ("FO" for "Front Office"), each after an optional title word
/// ("petugas Front Office"). Returns the actor and how many words of the phrase it took.
pub fn actor_in_phrase(phrase: &[String], actors: &[String]) -> Option<(usize, usize)> {
    heading_at(phrase, actors).or_else(|| {
        let first = phrase.first()?;
        if !TITLE_WORDS.contains(&first.as_str()) {
            return None;
        }
        heading_at(&phrase[1..], actors).map(|(actor, k)| (actor, k + 1))
    })
}

fn heading_at(phrase: &[String], actors: &[String]) -> Option<(usize, usize)> {
    let mut best: Vec<(usize, usize, bool)> = Vec::new();
    for (index, label) in actors.iter().enumerate() {
        let label_words = words(label);
        let k = phrase.iter().zip(&label_words).take_while(|(a, b)| a == b).count();
        if k == 0 {
            continue;
        }
        let full = k == label_words.len();
        let ends = k == phrase.len() || phrase.get(k).is_some_and(|w| PHRASE_ENDS.contains(&w.as_str()));
        if full || ends || k >= 2 {
            best.push((index, k, full));
        }
    }
    if let Some(longest) = best.iter().map(|(_, k, _)| *k).max() {
        let top: Vec<_> = best.iter().filter(|(_, k, _)| *k == longest).collect();
        return match top.as_slice() {
            [one] => Some((one.0, one.1)),
            many => many.iter().find(|(_, _, full)| *full).map(|(i, k, _)| (*i, *k)),
        };
    }
    // Initials: "FO" for "Front Office", when exactly one heading of several words has them
    // (never a common short word such as "di").
    let first = phrase.first().filter(|w| w.len() >= 2 && !matches!(w.as_str(), "di" | "ke" | "se" | "ya" | "dan"))?;
    let by_initials: Vec<usize> = actors
        .iter()
        .enumerate()
        .filter(|(_, label)| {
            let label_words = words(label);
            label_words.len() >= 2 && label_words.iter().filter_map(|w| w.chars().next()).collect::<String>() == *first
        })
        .map(|(i, _)| i)
        .collect();
    match by_initials.as_slice() {
        [one] => Some((*one, 1)),
        _ => None,
    }
}

const PHRASE_ENDS: &[&str] =
    &["apabila", "jika", "bila", "kalau", "bilamana", "untuk", "dan", "atau", "yang", "guna", "sebagai"];
const CONDITION_WORDS: &[&str] = &["apabila", "jika", "bila", "kalau", "bilamana"];
/// Words that end an outcome's phrase ("jika berkas tidak lengkap maka …").
const OUTCOME_ENDS: &[&str] = &["maka", "akan", "selanjutnya", "untuk", "oleh", "dan", "atau"];
const TO_WORDS: &[&str] = &["ke", "kepada"];

/// First words of an official's or a desk's title, lower case: "Kabid", "Kasi", "Front Office".
/// A Pelaksana cell "A, B dan C" is a sequence of desks only when every part starts with one.
const ROLE_WORDS: &[&str] = &[
    "pemohon",
    "masyarakat",
    "petugas",
    "frontoffice",
    "backoffice",
    "fo",
    "bo",
    "loket",
    "operator",
    "verifikator",
    "validator",
    "kepala",
    "ka",
    "kabid",
    "kasi",
    "kasie",
    "kasubag",
    "kasubbag",
    "kasubid",
    "kasubbid",
    "kabag",
    "kadis",
    "kaban",
    "sekretaris",
    "sekdis",
    "sekban",
    "sekcam",
    "camat",
    "lurah",
    "kades",
    "tim",
    "seksi",
    "bidang",
    "subbagian",
    "subbidang",
    "bagian",
    "dinas",
    "badan",
    "instansi",
    "opd",
    "pejabat",
    "pimpinan",
    "staf",
    "pengawas",
    "kelompok",
    "admin",
    "arsiparis",
    "bendahara",
    "kasir",
    "bupati",
    "walikota",
    "gubernur",
    "direktur",
    "koordinator",
    "analis",
    "sistem",
    "aplikasi",
    "oss",
];
const ROLE_PHRASES: &[&str] =
    &["front office", "back office", "customer service", "help desk", "pelaku usaha", "wali kota", "sub bagian"];

fn is_role_phrase(part: &str) -> bool {
    let ws = words(part);
    let two = ws.iter().take(2).cloned().collect::<Vec<_>>().join(" ");
    ws.first().is_some_and(|w| ROLE_WORDS.contains(&w.as_str())) || ROLE_PHRASES.contains(&two.as_str())
}

/// The desks a Pelaksana cell names in sequence: "Kabid -> Kasi -> Back Office" (any arrow),
/// "Kabid - Kasi - Back Office", "Kabid, Kasi dan Back Office". Dashes, commas and `dan`
/// separate desks only when every part is a title ("Kasubag Umum dan Kepegawaian" is one
/// desk); `/` never does ("Kasi/Sekcam" is one desk written two ways, kept as written).
pub fn split_chain(cell: &str) -> Vec<String> {
    let cell = cell.trim();
    let parts = |separators: &[&str]| -> Vec<String> {
        let mut parts = vec![cell.to_string()];
        for separator in separators {
            parts = parts.iter().flat_map(|p| p.split(separator).map(str::to_string).collect::<Vec<_>>()).collect();
        }
        parts.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()
    };
    let arrows = ["->", "\u{2192}", "=>", "\u{21d2}", "\u{2794}", "\u{bb}", ">"];
    if arrows.iter().any(|a| cell.contains(a)) {
        return parts(&arrows);
    }
    for separators in [&[" - ", " \u{2013} "][..], &[",", " dan ", " & "][..]] {
        let split = parts(separators);
        if split.len() > 1 && split.iter().all(|p| is_role_phrase(p)) {
            return split;
        }
    }
    if cell.is_empty() {
        Vec::new()
    } else {
        vec![cell.to_string()]
    }
}

/// Whether a word reads as an Indonesian verb (`meN-`, `di-`, `ber-`, `ter-`), which ends the
/// actor a sentence starts with. Nouns with those beginnings that titles use are not verbs.
fn is_verb_like(token: &str) -> bool {
    let word: String = token.chars().filter(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
    const NOUNS: &[&str] = &[
        "dinas", "direktur", "distrik", "divisi", "berkas", "terpadu", "teknis", "terkait", "meja", "menteri", "desa",
        "daerah", "data", "dokumen",
    ];
    if NOUNS.iter().any(|n| word.starts_with(n)) {
        return false;
    }
    ["me", "di", "ber", "ter"].iter().any(|p| word.starts_with(p) && word.len() > p.len() + 2)
}

/// An office written as its acronym: "DPMPTSP", "DPM-PTSP", "BPPT".
fn is_office_acronym(token: &str) -> bool {
    let letters: Vec<char> = token.chars().filter(|c| *c != '-').collect();
    letters.len() >= 3 && letters.iter().all(|c| c.is_ascii_uppercase())
}

/// Words between an actor and its verb.
const AUXILIARIES: &[&str] = &["akan", "telah", "sudah", "dapat", "bisa", "segera", "kemudian", "selanjutnya", "lalu"];

/// Words after which an actor's name has ended ("oleh Camat kepada pemohon").
const NAME_ENDS: &[&str] =
    &["kepada", "ke", "dari", "untuk", "melalui", "dengan", "di", "pada", "yang", "setelah", "dan"];

/// The actors a procedure written as prose names, in order: the words a sentence starts with
/// up to its verb, when they start with a title ("Petugas frontoffice (FO) DPM-PTSP menerima
/// …"), then the words after `oleh` ("… divalidasi oleh Kabid perizinan") that no name found
/// before covers. Each is the text as written.
pub fn named_actors(activities: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let clean = |tokens: &[&str]| tokens.join(" ").trim_end_matches([',', ';', ':', '.']).trim().to_string();
    for activity in activities {
        let tokens: Vec<&str> = activity.split_whitespace().collect();
        // The name ends at the verb, or at an auxiliary before it ("Dinas PUTR akan memverifikasi").
        let verb =
            tokens.iter().take(11).position(|t| is_verb_like(t) || AUXILIARIES.contains(&t.to_lowercase().as_str()));
        if let Some(verb) = verb.filter(|v| *v > 0) {
            let name = clean(&tokens[..verb]);
            let office = is_office_acronym(tokens[0]);
            if (office || is_role_phrase(&name)) && !names.iter().any(|n| norm(n) == norm(&name)) {
                names.push(name);
            }
        }
    }
    for activity in activities {
        let tokens: Vec<&str> = activity.split_whitespace().collect();
        for (at, token) in tokens.iter().enumerate() {
            if !token.eq_ignore_ascii_case("oleh") {
                continue;
            }
            let rest = &tokens[at + 1..];
            let mut end = 0;
            while end < rest.len() && end < 6 {
                let word = rest[end].to_lowercase();
                if NAME_ENDS.contains(&word.as_str()) || is_verb_like(rest[end]) {
                    break;
                }
                end += 1;
                if rest[end - 1].ends_with([',', ';', '.']) && !rest[end - 1].ends_with("..") {
                    // "Kasubag." is a title's abbreviation, not the end of the sentence.
                    if !ROLE_WORDS.contains(&word.trim_end_matches('.')) {
                        break;
                    }
                }
            }
            let name = clean(&rest[..end]);
            if name.is_empty() || !is_role_phrase(&name) {
                continue;
            }
            if actor_in_phrase(&words(&name), &names).is_none() {
                names.push(name);
            }
        }
    }
    names
}

/// Where a route written in Keterangan sends the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// An actor of the table.
    Actor(usize),
    /// The applicant ("dikembalikan kepada pemohon"), when no actor heading or name says
    /// "Pemohon": the steps of an actor of the applicant kind, if any.
    Applicant,
}

/// A route written in a Keterangan cell: "terouting ke Back Office apabila diterima".
#[derive(Clone, Debug, PartialEq)]
pub struct NoteRoute {
    pub target: RouteTarget,
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
            let routed = clauses.last().is_some_and(|c| c.iter().any(|x| TO_WORDS.contains(&x.as_str())));
            let conditioned = clauses.last().is_some_and(|c| c.iter().any(|x| CONDITION_WORDS.contains(&x.as_str())));
            if w == "dan" && routed {
                clauses.push(Vec::new());
            } else if CONDITION_WORDS.contains(&w.as_str()) && routed && conditioned {
                // "apabila tidak lengkap dikembalikan kepada pemohon, apabila lengkap diteruskan …"
                clauses.push(vec![w]);
            } else if let Some(last) = clauses.last_mut() {
                last.push(w);
            }
        }
    }
    let mut out = Vec::new();
    for clause in clauses {
        let Some(to) = clause.iter().position(|w| TO_WORDS.contains(&w.as_str())) else { continue };
        let target = match actor_in_phrase(&clause[to + 1..], actors) {
            Some((actor, _)) => RouteTarget::Actor(actor),
            None if clause.get(to + 1).is_some_and(|w| is_applicant(w)) => RouteTarget::Applicant,
            None => continue,
        };
        // "berkas yang tidak lengkap dikembalikan …": `yang` and a negative word state a condition.
        let negative_which =
            |c: usize| clause[c] == "yang" && clause[c + 1..(c + 3).min(clause.len())].iter().any(|w| is_negative(w));
        // The condition nearest before the route ("jika lengkap maka dilanjutkan, jika tidak
        // lengkap dikembalikan kepada pemohon"), else the one after it ("ke pemohon apabila
        // ditolak").
        let is_condition = |c: usize| CONDITION_WORDS.contains(&clause[c].as_str());
        let condition = (0..to)
            .rev()
            .find(|&c| is_condition(c))
            .or_else(|| (0..to).find(|&c| negative_which(c)))
            .or_else(|| (to..clause.len()).find(|&c| is_condition(c)));
        let outcome = condition.map(|c| {
            let phrase: Vec<&String> = if c < to {
                clause[c + 1..to].iter().take_while(|w| !is_routing_verb(w)).collect()
            } else {
                clause[c + 1..].iter().collect()
            };
            // The outcome is the words of the condition: its first word, and then words up to
            // a verb or a connective ("apabila sudah lengkap diregistrasi" gives "sudah lengkap").
            let mut taken: Vec<&str> = Vec::new();
            let rest = phrase
                .iter()
                .map(|w| w.as_str())
                .skip_while(|w| matches!(*w, "berkas" | "permohonan" | "dokumen" | "persyaratan" | "data"));
            for word in rest {
                let stop = OUTCOME_ENDS.contains(&word) || (!taken.is_empty() && is_verb_like(word));
                if stop || taken.len() == 3 {
                    break;
                }
                taken.push(word);
            }
            taken.join(" ")
        });
        out.push(NoteRoute { target, outcome: outcome.filter(|o| !o.is_empty()) });
    }
    out
}

fn is_routing_verb(word: &str) -> bool {
    ["rout", "kembali", "kirim", "terus", "nerus", "serah", "nyerah", "sampai", "nyampai", "lanjut", "limpah"]
        .iter()
        .any(|r| word.contains(r))
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
    /// Whether the phrase says what is done but not who does it, so that the guess is weak
    /// however it stands ("diserahkan kepada pemohon": someone hands over).
    weak: bool,
}

const APPLICANTS: &[&str] = &["pemohon", "pelaku usaha", "masyarakat", "applicant"];
const FRONT_OFFICE: &[&str] =
    &["front office", "frontoffice", "loket", "petugas pendaftaran", "customer service", "petugas pelayanan"];

/// The rules, most specific first: signing is the head's, field work and recommendations the
/// technical agency's, submitting and receiving the permit the applicant's, verification the
/// front office's, processing and drafting the back office's, handing the permit over the
/// front office's (a weak guess: the text says to whom, not by whom).
const RULES: &[Rule] = &[
    Rule {
        phrases: &["tanda tangan", "menandatangani", "penandatanganan"],
        actors: &["kepala dinas", "kepala badan", "kepala kantor", "kepala dpmptsp", "kadis", "kaban", "kepala"],
        at_start: false,
        weak: false,
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
        weak: false,
    },
    Rule {
        phrases: &["mengajukan", "mendaftar", "mengisi", "mengunggah", "mengupload", "melengkapi", "membayar"],
        actors: APPLICANTS,
        at_start: true,
        weak: false,
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
        actors: APPLICANTS,
        at_start: false,
        weak: false,
    },
    Rule {
        phrases: &["verifikasi", "memverifikasi", "memeriksa kelengkapan", "pemeriksaan berkas"],
        actors: FRONT_OFFICE,
        at_start: false,
        weak: false,
    },
    Rule {
        phrases: &["memproses", "draft", "konsep", "mengetik", "menyiapkan"],
        actors: &["back office", "backoffice", "petugas pemroses", "pemroses"],
        at_start: false,
        weak: false,
    },
    Rule {
        phrases: &[
            "diserahkan kepada pemohon",
            "diserahkan ke pemohon",
            "diserakan kepada pemohon",
            "menyerahkan kepada pemohon",
            "penyerahan izin",
            "penyerahan surat izin",
            "penyerahan sk",
        ],
        actors: FRONT_OFFICE,
        at_start: false,
        weak: true,
    },
];

/// What a guess of a step's actor rests on, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Basis {
    /// The route written in the Keterangan of the row before ("dirouting ke Kabid").
    Note,
    /// The activity starts with the actor ("Seksi Survei melakukan cek lokasi").
    Subject,
    /// The activity names who does it ("Verifikasi teknis oleh Tim Teknis").
    Agent,
    /// The row before hands the file to the actor ("menyerahkan berkas kepada Seksi Survei").
    HandOver,
    /// The activity names the actor somewhere else than as the receiver of something.
    Named,
    /// The activity's words suggest a role (signing: the head).
    Rule,
}

impl Basis {
    /// Whether the text names the actor as the one who does the step.
    fn names_the_doer(self) -> bool {
        matches!(self, Basis::Note | Basis::Subject)
    }
}

/// One hint about who does a step: the actor, what it rests on, and the words it rests on.
#[derive(Clone, Debug, PartialEq)]
pub struct Clue {
    pub actor: usize,
    pub basis: Basis,
    pub phrase: String,
    /// The rule says what is done, not who does it.
    pub weak: bool,
}

/// The actor chosen for a step and, when the guess is weak, why.
#[derive(Clone, Debug, PartialEq)]
pub struct Guess {
    pub clue: Clue,
    /// Other actors the text points at (by their index), when it points at several.
    pub conflicts: Vec<usize>,
    pub weak: bool,
}

/// Words before an actor that make it the receiver or a companion, not the doer.
const NOT_DOER_WORDS: &[&str] = &["kepada", "ke", "dari", "melalui", "dengan", "bersama", "untuk", "kpd"];
/// Verbs that pass the file on ("menyerahkan berkas kepada …"), as parts of words.
/// `meN-` drops the first letter of some stems (serah: menyerahkan, terus: meneruskan).
const HAND_OVER_VERBS: &[&str] =
    &["serah", "nyerah", "terus", "nerus", "kirim", "sampai", "nyampai", "rout", "limpah", "naik", "aju", "disposisi"];
/// Words that open a clause about what happened before the step ("Setelah ditandatangani oleh …").
const BEFORE_WORDS: &[&str] = &["setelah", "sesudah", "apabila", "jika", "bila"];

/// Every hint the text gives about who does a step: its activity (the actor it starts with,
/// names with `oleh`, or names elsewhere; the role its words suggest) and the activity of the
/// row before (to whom it hands the file).
pub fn clues(activity: &str, previous: Option<&str>, actors: &[String]) -> Vec<Clue> {
    let ws = words(activity);
    let mut out = Vec::new();
    let mut receivers = Vec::new();
    let mut p = 0;
    while p < ws.len() {
        let Some((actor, k)) = actor_in_phrase(&ws[p..], actors) else {
            p += 1;
            continue;
        };
        let phrase = ws[p..p + k].join(" ");
        let before = p.checked_sub(1).map(|b| ws[b].as_str());
        // "Setelah penandatanganan oleh kepala direkap …": an `oleh` before the first verb of
        // a sentence opening with "setelah" belongs to that clause, about the step before.
        let in_opening_clause = ws.first().is_some_and(|w| BEFORE_WORDS.contains(&w.as_str()))
            && ws[..p].iter().skip(1).all(|w| !is_verb_like(w));
        match before {
            None => out.push(Clue { actor, basis: Basis::Subject, phrase, weak: false }),
            Some(w) if NOT_DOER_WORDS.contains(&w) => receivers.push(actor),
            // "Setelah penandatanganan oleh kepala …" is about the step before.
            Some("oleh") if in_opening_clause => {}
            Some("oleh") => out.push(Clue { actor, basis: Basis::Agent, phrase, weak: false }),
            Some(_) => out.push(Clue { actor, basis: Basis::Named, phrase, weak: false }),
        }
        p += k;
    }
    if let Some((actor, phrase)) = previous.and_then(|prev| hand_over(prev, actors)) {
        if !receivers.contains(&actor) {
            out.push(Clue { actor, basis: Basis::HandOver, phrase, weak: false });
        }
    }
    let text = norm(activity);
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
            out.push(Clue { actor: *one, basis: Basis::Rule, phrase: (*phrase).to_string(), weak: rule.weak });
        }
    }
    out
}

/// The last actor an activity hands the file to: `kepada`/`ke` and an actor, after a verb that
/// passes it on within the few words before ("dikembalikan kepada pemohon" is no hand-over).
fn hand_over(activity: &str, actors: &[String]) -> Option<(usize, String)> {
    let ws = words(activity);
    let mut found = None;
    for (p, w) in ws.iter().enumerate() {
        if !TO_WORDS.contains(&w.as_str()) {
            continue;
        }
        let Some((actor, k)) = actor_in_phrase(&ws[p + 1..], actors) else { continue };
        let verb = ws[p.saturating_sub(8)..p]
            .iter()
            .rev()
            .find(|v| v.contains("kembali") || HAND_OVER_VERBS.iter().any(|h| v.contains(h)));
        if verb.is_some_and(|v| !v.contains("kembali")) {
            let from = ws[..p].iter().rposition(|v| HAND_OVER_VERBS.iter().any(|h| v.contains(h))).unwrap_or(p);
            found = Some((actor, ws[from..p + 1 + k].join(" ")));
        }
    }
    found
}

/// Chooses a step's actor from the hints: the strongest kind of hint that points at one actor.
/// The guess is weak when its rule says so, or when the text also points at another actor
/// (by a hint of any kind, or, for a guess the text states, by another stated one).
pub fn choose(clues: &[Clue]) -> Option<Guess> {
    let mut bases: Vec<Basis> = clues.iter().map(|c| c.basis).collect();
    bases.sort();
    bases.dedup();
    for basis in bases {
        let at: Vec<&Clue> = clues.iter().filter(|c| c.basis == basis).collect();
        let first = at[0];
        // Names that disagree leave the choice to the next kind of hint; rules are ordered, so
        // the first one that applies is taken, and the others make it weak.
        if basis != Basis::Rule && at.iter().any(|c| c.actor != first.actor) {
            continue;
        }
        let stated = basis.names_the_doer();
        let mut conflicts: Vec<usize> = clues
            .iter()
            .filter(|c| c.actor != first.actor && (!stated || c.basis.names_the_doer()))
            .map(|c| c.actor)
            .collect();
        conflicts.sort();
        conflicts.dedup();
        let weak = at.iter().all(|c| c.weak) || !conflicts.is_empty();
        return Some(Guess { clue: first.clone(), conflicts, weak });
    }
    None
}

/// The actor an activity suggests, and the phrase that suggested it.
#[cfg(test)]
fn actor_from_activity(activity: &str, actors: &[String]) -> Option<(usize, String)> {
    choose(&clues(activity, None, actors)).map(|g| (g.clue.actor, g.clue.phrase))
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
                NoteRoute { target: RouteTarget::Actor(2), outcome: Some("diterima".into()) },
                NoteRoute { target: RouteTarget::Actor(0), outcome: Some("ditolak".into()) }
            ]
        );
        assert_eq!(
            note_routes("Berkas dirouting ke Kabid", &actors),
            vec![NoteRoute { target: RouteTarget::Actor(4), outcome: None }]
        );
        assert_eq!(
            note_routes("Apabila berkas tidak lengkap dikembalikan ke Pemohon", &actors),
            vec![NoteRoute { target: RouteTarget::Actor(0), outcome: Some("tidak lengkap".into()) }]
        );
        assert_eq!(
            note_routes("Berkas dirouting ke Kepala Dinas", &actors),
            vec![NoteRoute { target: RouteTarget::Actor(6), outcome: None }]
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
    fn desks_in_sequence_in_one_cell() {
        let desks = |cell: &str| split_chain(cell);
        assert_eq!(desks("Kabid -> Kasi -> Back Office"), ["Kabid", "Kasi", "Back Office"]);
        assert_eq!(desks("Kasubag. Umum dan Kepegawaian \u{2192} Sekcam"), ["Kasubag. Umum dan Kepegawaian", "Sekcam"]);
        assert_eq!(desks("Kabid - Kasi - Back Office"), ["Kabid", "Kasi", "Back Office"]);
        assert_eq!(desks("Kabid, Kasi dan Back Office"), ["Kabid", "Kasi", "Back Office"]);
        // One desk whose name has `dan`, `,` or `/` in it.
        assert_eq!(desks("Kasubag. Umum dan Kepegawaian"), ["Kasubag. Umum dan Kepegawaian"]);
        assert_eq!(desks("Kelompok Fungsional Pengaduan, Pelaporan dan Pengolahan Data").len(), 1);
        assert_eq!(desks("Kasi/Sekcam"), ["Kasi/Sekcam"]);
        assert_eq!(desks("DPMPTSP - Bidang Perizinan"), ["DPMPTSP - Bidang Perizinan"]);
        assert!(desks("").is_empty());
    }

    #[test]
    fn a_guess_the_text_contradicts_is_weak() {
        // Kulon Progo's SOP (issue 22 corpus, file 01): the heads' titles abbreviated in the text.
        let actors: Vec<String> =
            ["Pemohon", "Front Office", "Seksi Survei", "Seksi Perizinan", "Ka.Bid. Yandu.", "Kepala"]
                .map(String::from)
                .to_vec();
        let guess = |activity: &str, previous: Option<&str>| {
            choose(&clues(activity, previous, &actors)).map(|g| (actors[g.clue.actor].as_str(), g.clue.basis, g.weak))
        };
        // The actor the sentence starts with, its title abbreviated.
        assert_eq!(
            guess("Ka. Bid. Pelayanan dan Pengaduan memverifikasi konsep izin dan memaraf serta menyerahkan kepada Kepala Dinas", None),
            Some(("Ka.Bid. Yandu.", Basis::Subject, false))
        );
        // Whom the row before hands the file to; the receiver here is not the doer.
        assert_eq!(
            guess(
                "Berkas permohonan yang belum lengkap dikembalikan kepada pemohon untuk dilengkapi.",
                Some("Pemohon menyerahkan berkas/dokumen permohonan izin kepada petugas Front Office (FO)")
            ),
            Some(("Front Office", Basis::HandOver, false))
        );
        // Several actors in the text: a weak guess.
        assert_eq!(
            guess("Setelah penandatanganan oleh kepala direkap pada Seksi Perizinan dan diserahkan kepada pemohon melalui FO.", None),
            Some(("Seksi Perizinan", Basis::Named, true))
        );
        // Only what is done: weak.
        assert_eq!(
            guess("Surat ijin tidak berbayar bisa langsung diserahkan kepada pemohon", None),
            Some(("Front Office", Basis::Rule, true))
        );
        // `oleh` names the doer, after the verb of an opening "setelah" clause.
        assert_eq!(
            guess("Setelah rekomendasi terbit divalidasi oleh Kepala", None),
            Some(("Kepala", Basis::Agent, false))
        );
    }

    #[test]
    fn actors_named_in_sentences() {
        let names = named_actors(&[
            "Pemohon mengajukan permohonan ke DPM-PTSP",
            "Petugas frontoffice (FO) DPM-PTSP menerima dan meneliti kelengkapan berkas.",
            "Permohonan diteruskan ke Dinas kesehatan untuk diterbitkan rekomendasi.",
            "Setelah rekomendasi terbit divalidasi oleh Kabid perizinan",
            "Penyerahan SIP kepada pemohon oleh petugas Frontoffice (FO)",
            "DPMPTSP mengajukan permohonan Rekomendasi kepada Dinas Sosial",
        ]);
        assert_eq!(names, ["Pemohon", "Petugas frontoffice (FO) DPM-PTSP", "DPMPTSP", "Kabid perizinan"]);
    }

    #[test]
    fn returns_written_without_a_column_for_the_applicant() {
        let actors: Vec<String> = ["Front Office", "Back Office"].map(String::from).to_vec();
        assert_eq!(
            note_routes("Jika tidak lengkap dikembalikan ke pemohon", &actors),
            vec![NoteRoute { target: RouteTarget::Applicant, outcome: Some("tidak lengkap".into()) }]
        );
        assert_eq!(
            note_routes("berkas yang tidak lengkap dikembalikan kepada pemohon untuk dilengkapi", &actors),
            vec![NoteRoute { target: RouteTarget::Applicant, outcome: Some("tidak lengkap".into()) }]
        );
        assert_eq!(
            note_routes(
                "jika berkas lengkap maka proses akan dilanjutkan, jika berkas tidak lengkap maka berkas akan dikembalikan kepada pemohon",
                &actors
            ),
            vec![NoteRoute { target: RouteTarget::Applicant, outcome: Some("tidak lengkap".into()) }]
        );
        assert_eq!(
            note_routes(
                "apabila tidak lengkap dikembalikan kepada pemohon, apabila sudah lengkap diregistrasi dan diteruskan kepada Back Office.",
                &actors
            ),
            vec![
                NoteRoute { target: RouteTarget::Applicant, outcome: Some("tidak lengkap".into()) },
                NoteRoute { target: RouteTarget::Actor(1), outcome: Some("sudah lengkap".into()) },
            ]
        );
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
