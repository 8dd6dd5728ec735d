//! The `.sop` text written from what was read, each line that holds a cell tied to it, then
//! compiled: an error in the written file is reported at the cell it came from.

use std::collections::HashMap;

use crate::compile::{compile_source, Options};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::ActorKind;
use crate::syntax::{self, Span};
use crate::t;

use super::actors::Who;
use super::body::{StepRow, TotalRow};
use super::decisions::{outcome_id, OutcomeLine};
use super::infer;
use super::table::Layout;
use super::text::{self, comment_text, norm, promise_duration, quote, Ids};
use super::{Importer, UNKNOWN_ACTOR};

/// A generated line and, when it holds a cell, where that cell came from.
pub(super) struct Origin {
    pub(super) span: Span,
    pub(super) line: usize,
    pub(super) what: String,
    pub(super) cell: String,
    pub(super) total: bool,
}

impl Importer<'_> {
    pub(super) fn write(
        &mut self,
        doc: &Document<'_>,
        title: &str,
        top: &[String],
        total: Option<TotalRow>,
        trailing: &[String],
    ) -> Option<String> {
        let mut demote_total = false;
        loop {
            let (text, origins) = self.render(doc, title, top, total.as_ref(), trailing, demote_total);
            let compiled = compile_source("import.sop", &text, &Options::default());
            let errors: Vec<&Diagnostic> = compiled.diagnostics.iter().filter(|d| d.is_error()).collect();
            if errors.is_empty() {
                let (cst, syntax_errors) = syntax::parse(compiled.file, &text);
                if !syntax_errors.is_empty() {
                    return Some(text);
                }
                return Some(crate::format::format(&cst, &text));
            }
            let origin_of = |d: &Diagnostic| {
                let span = d.primary_span()?;
                if span.file != compiled.file {
                    return None;
                }
                let (line, _) = compiled.sources.line_col(compiled.file, span.start);
                origins.get(&(line - 1))
            };
            if !demote_total && errors.iter().any(|d| origin_of(d).is_some_and(|o| o.total)) {
                demote_total = true;
                if let Some(total) = &total {
                    let why: Vec<String> = errors
                        .iter()
                        .filter(|d| origin_of(d).is_some_and(|o| o.total))
                        .map(|d| format!("{}: {}", d.code, d.message.id))
                        .collect();
                    let why_en: Vec<String> = errors
                        .iter()
                        .filter(|d| origin_of(d).is_some_and(|o| o.total))
                        .map(|d| format!("{}: {}", d.code, d.message.en))
                        .collect();
                    let cell = total.text.clone();
                    let (why, why_en) = (why.join("; "), why_en.join("; "));
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::ImportKeptAsComment,
                            t!("jumlah waktu `{cell}` tidak cocok dengan langkah-langkahnya: disimpan sebagai komentar", "the total `{cell}` does not match the steps: kept as a comment"),
                            total.span,
                            t!("baris jumlah waktu", "the total row"),
                        )
                        .with_note(t!("{why}", "{why_en}"))
                        .with_help(t!(
                            "perbaiki jumlah waktu atau waktu langkah, lalu ganti komentar itu dengan baris `total`",
                            "fix the total or the steps' times, then turn the comment back into a `total` line"
                        )),
                    );
                }
                continue;
            }
            for d in errors {
                let (code, message_id, message_en) = (d.code, d.message.id.clone(), d.message.en.clone());
                match origin_of(d) {
                    Some(origin) => {
                        let (what, cell, line) = (origin.what.clone(), origin.cell.clone(), origin.line);
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::ImportBadCell,
                                t!(
                                    "baris {line}: sel {what} `{cell}` tidak dapat dibaca",
                                    "line {line}: the {what} cell `{cell}` cannot be read"
                                ),
                                origin.span,
                                t!("sel ini", "this cell"),
                            )
                            .with_note(t!("{code}: {message_id}", "{code}: {message_en}"))
                            .with_help(cell_help(&what)),
                        );
                    }
                    None => self.diagnostics.push(
                        Diagnostic::new(
                            Code::ImportBadCell,
                            t!(
                                "berkas hasil impor tidak lolos `alur check`",
                                "the imported file does not pass `alur check`"
                            ),
                            Span::new(self.file, 0, 0),
                            t!("tabel ini", "this table"),
                        )
                        .with_note(t!("{code}: {message_id}", "{code}: {message_en}")),
                    ),
                }
            }
            return None;
        }
    }

    /// Writes the `.sop` text, with the origin of each line that holds a cell (by line index).
    pub(super) fn render(
        &self,
        doc: &Document<'_>,
        title: &str,
        top: &[String],
        total: Option<&TotalRow>,
        trailing: &[String],
        demote_total: bool,
    ) -> (String, HashMap<usize, Origin>) {
        let mut w = Writer::default();
        let layout = doc.layout;
        let steps = doc.steps;
        let mut ids = Ids::default();
        self.write_header(&mut w, &mut ids, title, top, total, demote_total);
        for line in &doc.header_lines {
            w.line(format!("    {line}"), None);
        }
        let (actor_ids, unknown_id) = write_actors(&mut w, &mut ids, doc);
        let Documents { step_ids, output_ids, needs_ids } = write_documents(&mut w, &mut ids, steps);
        for (i, step) in steps.iter().enumerate() {
            w.blank();
            let origin = |what: &str, cell: &str| {
                Some(Origin {
                    span: if what == "Waktu" { step.time_span } else { step.span },
                    line: step.lines[0],
                    what: what.into(),
                    cell: cell.into(),
                    total: false,
                })
            };
            if step.lines.len() > 1 {
                let lines: Vec<String> = step.lines.iter().map(usize::to_string).collect();
                w.line(format!("    // baris {} digabung: baris tabel yang terpotong halaman", lines.join(", ")), None);
            }
            match &doc.who[i] {
                Who::Marked(actors) if actors.len() > 1 && !step.chained => {
                    w.line(
                        "    // beberapa kolom pelaksana bertanda: dibaca sebagai dikerjakan bersama (`dan`)".into(),
                        None,
                    );
                }
                Who::Inferred { guess, from } => {
                    let phrase = comment_text(&guess.clue.phrase);
                    let line = match (guess.clue.basis, from) {
                        (infer::Basis::Note, Some(from)) => {
                            format!("    // pelaksana disimpulkan dari keterangan langkah {from}: \"{phrase}\"")
                        }
                        (infer::Basis::HandOver, Some(from)) => {
                            format!("    // pelaksana disimpulkan dari kegiatan langkah {from}: \"{phrase}\"")
                        }
                        _ => format!("    // pelaksana disimpulkan dari kegiatan (\"{phrase}\")"),
                    };
                    w.line(line, None);
                    if guess.weak {
                        let others: Vec<String> =
                            guess.conflicts.iter().map(|a| comment_text(&layout.actors[*a])).collect();
                        let why = if others.is_empty() {
                            "teks menyebut apa yang dikerjakan, bukan siapa".to_string()
                        } else {
                            format!("teks juga menunjuk {}", others.join(", "))
                        };
                        w.line(format!("    // PERIKSA: dugaan lemah ({why})"), None);
                    }
                }
                Who::Unknown => {
                    w.line("    // PERIKSA: pelaksana tidak terbaca dari tabel: ganti `belum_ditentukan`".into(), None);
                }
                Who::Marked(_) => {}
            }
            if step.chained {
                // The cell as printed, since `oleh` holds only the actors' ids.
                w.line(
                    format!(
                        "    // pelaksana tertulis \"{}\": rantai serah terima, dikerjakan meja demi meja",
                        comment_text(&step.performer)
                    ),
                    None,
                );
            }
            if let Some(chain) = &step.chain {
                w.line(
                    format!(
                        "    // PERIKSA: pelaksana tertulis \"{}\": beberapa meja berurutan, tetapi waktunya dalam hari tidak terbagi rata ke meja-mejanya; langkah ini diberi meja pertama (tulis rantainya dengan bagian waktu tiap meja)",
                        comment_text(chain)
                    ),
                    None,
                );
            }
            for (actor, text) in &step.mark_texts {
                w.line(
                    format!("    // isi kolom {}: {}", comment_text(&layout.actors[*actor]), comment_text(text)),
                    None,
                );
            }
            for text in &step.unplaced {
                w.line(
                    format!(
                        "    // isi kolom pelaksana yang tidak dapat dicocokkan dengan kolomnya: {}",
                        comment_text(text)
                    ),
                    None,
                );
            }
            // The desks of a hand-off chain one after the other; several marks together.
            let join = if step.chained { " -> " } else { " dan " };
            let by = match &doc.who[i] {
                Who::Unknown => unknown_id.clone(),
                who => who.actors().iter().map(|a| actor_ids[*a].clone()).collect::<Vec<_>>().join(join),
            };
            w.line(format!("    langkah {} {} oleh {by} {{", step.number, step_ids[i]), origin("No", &step.number));
            w.line(format!("        kegiatan {}", quote(&step.activity)), origin("Kegiatan", &step.activity));
            if let Some(id) = &needs_ids[i] {
                w.line(format!("        kelengkapan {id} {}", quote(&step.needs)), origin("Kelengkapan", &step.needs));
            }
            let time = waktu_text(&step.time);
            if time != step.time && step.time.chars().any(|c| c.is_ascii_digit()) {
                w.line(format!("        // waktu tertulis di tabel: {}", comment_text(&step.time)), None);
            }
            w.line(format!("        waktu {time}"), origin("Waktu", &step.time));
            if let Some(id) = &output_ids[i] {
                w.line(format!("        output {id} {}", quote(&step.output)), origin("Output", &step.output));
            }
            if !step.notes.is_empty() {
                w.line(format!("        keterangan {}", quote(&step.notes)), origin("Keterangan", &step.notes));
            }
            let decision = &doc.decisions[i];
            if !decision.is_empty() {
                w.line("        keputusan {".into(), origin("Keterangan", &step.notes));
                for outcome in decision {
                    let target = outcome.target.map_or("lanjut".to_string(), |j| step_ids[j].clone());
                    let name = outcome_id(&outcome.name);
                    let line = if outcome.back {
                        format!("            {name} -> kembali ke {target}, jam berhenti")
                    } else {
                        format!("            {name} -> {target}")
                    };
                    w.line(line, origin("Keterangan", &step.notes));
                }
                w.line("        }".into(), None);
            }
            w.line("    }".into(), None);
        }
        w.line("}".into(), None);
        for c in trailing {
            w.line(format!("// {}", comment_text(c)), None);
        }
        (w.text, w.origins)
    }

    /// The comments above the SOP, its `sop` line, its calendar and its total (a total the
    /// written file cannot keep, `demote_total`, as a comment).
    fn write_header(
        &self,
        w: &mut Writer,
        ids: &mut Ids,
        title: &str,
        top: &[String],
        total: Option<&TotalRow>,
        demote_total: bool,
    ) {
        w.line(
            format!(
                "// Diimpor dari {} dengan `alur import`: setiap sel tabel disalin apa adanya.",
                comment_text(&self.source_name)
            ),
            None,
        );
        for c in top {
            w.line(format!("// {}", comment_text(c)), None);
        }
        let sop_id = match &self.options.sop_id {
            Some(id) => ids.claim(id.clone()),
            None => ids.make(without_sop_word(title), 5, "sop", false),
        };
        w.line(format!("sop {sop_id} {} {{", quote(title)), None);
        if let Some(calendar) = &self.options.calendar {
            w.line(format!("    kalender {calendar}"), None);
        }
        if let Some(total) = total {
            let cell = total.text.as_str();
            let origin = Origin {
                span: total.span,
                line: total.line,
                what: "Jumlah Waktu".into(),
                cell: cell.into(),
                total: true,
            };
            let plain = text::without_spelled_numbers(cell);
            if demote_total || cell.is_empty() {
                w.line(format!("    // total tertulis di tabel: {}", comment_text(cell)), None);
            } else if plain != cell {
                // "5 (lima) hari kerja": the number spelled out again is left out of the line.
                w.line(format!("    // total tertulis di tabel: {}", comment_text(cell)), None);
                w.line(format!("    total {plain}"), Some(origin));
            } else {
                w.line(format!("    total {cell}"), Some(origin));
            }
            for rest in &total.rest {
                w.line(format!("    // baris jumlah waktu: {}", comment_text(rest)), None);
            }
        }
    }
}

/// The `pelaksana` block: each actor's id, and the marker actor's (empty when no step needs it).
fn write_actors(w: &mut Writer, ids: &mut Ids, doc: &Document<'_>) -> (Vec<String>, String) {
    let layout = doc.layout;
    w.blank();
    w.line("    pelaksana {".into(), None);
    let mut actor_ids = Vec::new();
    for label in &layout.actors {
        let id = ids.make(label, 4, "pelaksana", true);
        let kind = match infer::actor_kind(label) {
            ActorKind::Applicant => "pemohon",
            ActorKind::Staff => "staf",
            ActorKind::External => "instansi_luar",
            ActorKind::System => "sistem",
        };
        w.line(format!("        {id} {} {kind}", quote(label)), None);
        actor_ids.push(id);
    }
    let unknown = doc.who.iter().any(|w| matches!(w, Who::Unknown));
    let unknown_id = if unknown { ids.claim(UNKNOWN_ACTOR.to_string()) } else { String::new() };
    if unknown {
        w.line(format!("        {unknown_id} \"PERIKSA: pelaksana belum ditentukan\" staf"), None);
    }
    w.line("    }".into(), None);
    (actor_ids, unknown_id)
}

/// The ids [`write_documents`] gives, by step.
struct Documents {
    step_ids: Vec<String>,
    output_ids: Vec<Option<String>>,
    needs_ids: Vec<Option<String>>,
}

/// Step ids, outputs, and what each Kelengkapan refers to: an earlier output of the same text,
/// the step before's output, else a document from outside, declared in a `dokumen` block.
fn write_documents(w: &mut Writer, ids: &mut Ids, steps: &[StepRow]) -> Documents {
    let step_ids: Vec<String> = steps.iter().map(|s| ids.make(&s.activity, 3, "tahap", false)).collect();
    let mut output_ids: Vec<Option<String>> = Vec::new();
    let mut needs_ids: Vec<Option<String>> = Vec::new();
    let mut external: Vec<(String, String)> = Vec::new();
    // The latest output, and the outside document, of each (normalised) text.
    let mut given: HashMap<String, String> = HashMap::new();
    let mut brought: HashMap<String, String> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        let needs = norm(&step.needs);
        let need = if step.needs.is_empty() {
            None
        } else if let Some(id) = given.get(&needs) {
            Some(id.clone())
        } else if let Some(Some(prev)) = i.checked_sub(1).map(|p| output_ids[p].clone()) {
            Some(prev)
        } else if let Some(id) = brought.get(&needs) {
            Some(id.clone())
        } else {
            let id = ids.make(&step.needs, 3, "dok", false);
            external.push((id.clone(), step.needs.clone()));
            brought.insert(needs, id.clone());
            Some(id)
        };
        needs_ids.push(need);
        let output = (!step.output.is_empty()).then(|| ids.make(&step.output, 3, "dok", false));
        if let Some(id) = &output {
            given.insert(norm(&step.output), id.clone());
        }
        output_ids.push(output);
    }
    if !external.is_empty() {
        w.blank();
        w.line("    dokumen {".into(), None);
        for (id, label) in &external {
            w.line(format!("        {id} {}", quote(label)), None);
        }
        w.line("    }".into(), None);
    }
    Documents { step_ids, output_ids, needs_ids }
}

pub(super) struct Document<'a> {
    pub(super) layout: &'a Layout,
    pub(super) steps: &'a [StepRow],
    pub(super) who: &'a [Who],
    pub(super) decisions: &'a [Vec<OutcomeLine>],
    /// Header lines read from a Standar Pelayanan (`persyaratan "…"`, `standar_pelayanan 5
    /// hari`, comments), written after the total.
    pub(super) header_lines: Vec<String>,
}

#[derive(Default)]
pub(super) struct Writer {
    pub(super) text: String,
    pub(super) line: usize,
    pub(super) origins: HashMap<usize, Origin>,
}

impl Writer {
    pub(super) fn line(&mut self, text: String, origin: Option<Origin>) {
        if let Some(origin) = origin {
            self.origins.insert(self.line, origin);
        }
        self.line += 1;
        self.text.push_str(&text);
        self.text.push('\n');
    }

    pub(super) fn blank(&mut self) {
        self.line += 1;
        self.text.push('\n');
    }
}

/// A title without its leading word "SOP", for the SOP's id.
pub(super) fn without_sop_word(title: &str) -> &str {
    let trimmed = title.trim_start();
    match trimmed.get(..3) {
        Some(first) if first.eq_ignore_ascii_case("sop") && !trimmed[3..].starts_with(char::is_alphanumeric) => {
            &trimmed[3..]
        }
        _ => trimmed,
    }
}

/// The `waktu` line's value for a Waktu cell: the cell as written when it is a duration or
/// looks like one (a number: the compiler reads it or says why not), `-` as printed, and for an
/// empty cell or words without a number ("Sesuai jadwal") the time not stated, with the words.
/// A duration written with words around it ("paling lambat 5 (lima) hari kerja") is written as
/// the duration, the cell kept in a comment above; a range or an approximation is left for the
/// compiler to refuse.
pub(super) fn waktu_text(cell: &str) -> String {
    if cell.is_empty() {
        "tidak_tertulis".to_string()
    } else if cell == "-" {
        "-".to_string()
    } else if !cell.chars().any(|c| c.is_ascii_digit()) {
        format!("tidak_tertulis {}", quote(cell))
    } else if text::looks_like_duration(cell) {
        cell.to_string()
    } else {
        promise_duration(cell).unwrap_or_else(|_| cell.to_string())
    }
}

/// The whole days (working or calendar) in a Waktu as written in the `.sop` file: what a
/// hand-off chain must split evenly over its desks.
pub(super) fn days_in(waktu: &str) -> u32 {
    let words: Vec<String> = waktu.split_whitespace().map(str::to_lowercase).collect();
    words
        .windows(2)
        .filter(|w| ["hari", "workday", "workdays", "day", "days", "calendar", "working"].contains(&w[1].as_str()))
        .filter_map(|w| w[0].parse::<u32>().ok())
        .fold(0u32, u32::saturating_add)
}

pub(super) fn cell_help(what: &str) -> crate::diagnostic::Text {
    match what {
        "Waktu" => t!(
            "tulis waktu sebagai angka dan satuan: `30 Menit`, `1 Jam`, `4 Hari`, `14 Hari Kalender`",
            "write the time as numbers and units: `30 Menit`, `1 Jam`, `4 Hari`, `14 Hari Kalender`"
        ),
        _ => t!("perbaiki isi sel ini di tabel lalu impor lagi", "fix this cell in the table and import again"),
    }
}
