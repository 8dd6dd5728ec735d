//! Each step's actor: the marks or the Pelaksana cell (a hand-off chain when its days divide
//! over the desks), else inferred from the text, else the marker actor; weak guesses reported.

use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::Span;
use crate::t;

use super::body::StepRow;
use super::infer::{self, NoteRoute};
use super::table::{Col, Layout};
use super::text::norm;
use super::write::{days_in, waktu_text};
use super::{Importer, UNKNOWN_ACTOR};

/// How a step's actor was found.
#[derive(Clone, Debug)]
pub(super) enum Who {
    Marked(Vec<usize>),
    /// Inferred from the text; `from` is the number of the step before when the guess rests
    /// on its text (its Keterangan or its activity).
    Inferred {
        guess: infer::Guess,
        from: Option<String>,
    },
    Unknown,
}

impl Who {
    pub(super) fn actors(&self) -> Vec<usize> {
        match self {
            Who::Marked(a) => a.clone(),
            Who::Inferred { guess, .. } => vec![guess.clue.actor],
            Who::Unknown => Vec::new(),
        }
    }
}

impl Importer<'_> {
    /// Reads the Pelaksana cells of a table with one column of actors' names: each name is an
    /// actor (declared in the order met), and the step's actor. A cell naming several desks in
    /// sequence is a hand-off chain (`oleh kabid -> kasi`), unless its time in days does not
    /// divide over the desks (the language would ask for each desk's share, which the table does
    /// not give): that step gets the first desk, the chain kept for a comment and reported.
    pub(super) fn performers(&mut self, layout: &mut Layout, steps: &mut [StepRow]) {
        for step in steps.iter_mut() {
            let desks = infer::split_chain(&step.performer);
            let Some(first) = desks.first().cloned() else { continue };
            let days = days_in(&waktu_text(&step.time));
            let chained = desks.len() > 1 && days % desks.len() as u32 == 0;
            let written = if chained { desks.clone() } else { vec![first.clone()] };
            step.marks = written
                .iter()
                .map(|desk| match layout.actors.iter().position(|a| norm(a) == norm(desk)) {
                    Some(index) => index,
                    None => {
                        layout.actors.push(desk.clone());
                        layout.actors.len() - 1
                    }
                })
                .collect();
            step.chained = chained;
            if desks.len() > 1 && !chained {
                step.chain = Some(step.performer.clone());
                let (line, number, cell) = (step.lines[0], step.number.clone(), step.performer.clone());
                let n = desks.len();
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportHandOffChain,
                        t!(
                            "baris {line}: Pelaksana langkah {number} `{cell}` menyebut {n} meja berurutan, tetapi {days} hari tidak terbagi rata ke {n} meja: langkah diberi meja pertama ({first}), urutannya disimpan sebagai komentar",
                            "line {line}: the Pelaksana of step {number} `{cell}` names {n} desks in sequence, but {days} days do not divide evenly over {n} desks: the step is given the first desk ({first}), the sequence is kept as a comment"
                        ),
                        step.span,
                        t!("sel Pelaksana", "the Pelaksana cell"),
                    )
                    .with_help(t!(
                        "tulis rantainya dengan bagian waktu tiap meja: `oleh a -> b` dan `waktu 1 hari -> 2 jam`",
                        "write the chain with each desk's share of the time: `by a -> b` and `takes 1 workday -> 2 hours`"
                    )),
                );
            }
        }
    }

    /// Finds each step's actor: the marks (or the Pelaksana cell), else the hints the text
    /// gives (the route written in the row before, the activity, the row before's hand-over),
    /// else the marker. A guess the text does not back firmly is reported as weak.
    pub(super) fn actors(&mut self, layout: &Layout, steps: &[StepRow], header_span: Span) -> Vec<Who> {
        let mut out = Vec::new();
        let mut inferred = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let marked: Vec<usize> = step.marks.clone();
            if !marked.is_empty() {
                out.push(Who::Marked(marked));
                continue;
            }
            let previous = i.checked_sub(1).map(|p| &steps[p]);
            let mut clues = Vec::new();
            let note_route = previous.and_then(|prev| {
                infer::note_routes(&prev.notes, &layout.actors)
                    .into_iter()
                    .find(|r: &NoteRoute| r.outcome.as_deref().is_none_or(|o| !infer::is_negative(o)))
            });
            if let (Some(route), Some(prev)) = (note_route, previous) {
                if let infer::RouteTarget::Actor(actor) = route.target {
                    clues.push(infer::Clue {
                        actor,
                        basis: infer::Basis::Note,
                        phrase: prev.notes.clone(),
                        weak: false,
                    });
                }
            }
            clues.extend(infer::clues(&step.activity, previous.map(|p| p.activity.as_str()), &layout.actors));
            let Some(guess) = infer::choose(&clues) else {
                let (line, number) = (step.lines[0], step.number.clone());
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportActorUnknown,
                        t!("baris {line}: pelaksana langkah {number} tidak terbaca", "line {line}: the actor of step {number} cannot be read"),
                        step.span,
                        t!("tidak ada tanda di kolom pelaksana", "no mark in the actor columns"),
                    )
                    .with_help(t!(
                        "ganti `oleh {UNKNOWN_ACTOR}` di berkas `.sop` dengan pelaksana yang benar, atau beri tanda `X` di kolom pelaksananya lalu impor lagi",
                        "replace `oleh {UNKNOWN_ACTOR}` in the `.sop` file with the right actor, or put an `X` in its actor column and import again"
                    )),
                );
                out.push(Who::Unknown);
                continue;
            };
            inferred.push(step.number.clone());
            if guess.weak {
                let (line, number, label) =
                    (step.lines[0], step.number.clone(), layout.actors[guess.clue.actor].clone());
                let why = weak_reason(layout, &guess);
                let (why_id, why_en) = (why.id, why.en);
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportActorGuessWeak,
                        t!(
                            "baris {line}: pelaksana langkah {number} ({label}) hanya dugaan lemah: {why_id}",
                            "line {line}: the actor of step {number} ({label}) is a weak guess: {why_en}"
                        ),
                        step.span,
                        t!("langkah ini", "this step"),
                    )
                    .with_help(t!(
                        "periksa `oleh` langkah ini; untuk kepastian beri tanda `X` di kolom pelaksananya lalu impor lagi",
                        "check this step's `oleh`; to be sure, put an `X` in its actor column and import again"
                    )),
                );
            }
            let from = match guess.clue.basis {
                infer::Basis::Note | infer::Basis::HandOver => previous.map(|p| p.number.clone()),
                _ => None,
            };
            out.push(Who::Inferred { guess, from });
        }
        if !inferred.is_empty() {
            let list = inferred.join(", ");
            let columns = layout.cols.iter().any(|c| matches!(c, Col::Actor(_)));
            let (message_id, message_en) = if layout.position(Col::Performer).is_some() {
                (
                    format!("kolom Pelaksana kosong di langkah {list}: pelaksananya disimpulkan dari teks tabel"),
                    format!("the Pelaksana column is empty for steps {list}: their actors are inferred from the table's text"),
                )
            } else if !columns {
                (
                    format!("tabel tidak punya kolom pelaksana: pelaksana langkah {list} disimpulkan dari kalimat yang menyebutnya"),
                    format!("the table has no actor column: the actors of steps {list} are inferred from the sentences that name them"),
                )
            } else {
                (
                    format!("kolom pelaksana tidak bertanda: pelaksana langkah {list} disimpulkan dari teks tabel"),
                    format!("the actor columns have no marks: the actors of steps {list} are inferred from the table's text"),
                )
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ImportActorsInferred,
                    t!("{message_id}", "{message_en}"),
                    header_span,
                    t!("kolom pelaksana", "actor columns"),
                )
                .with_help(t!(
                    "periksa baris `oleh` langkah-langkah itu; komentar di atas tiap langkah menyebut dasar kesimpulannya",
                    "review the `oleh` of those steps; a comment above each step says what the inference rests on"
                )),
            );
        }
        out
    }
}

/// Why a guessed actor is weak, for the warning.
pub(super) fn weak_reason(layout: &Layout, guess: &infer::Guess) -> crate::diagnostic::Text {
    if guess.conflicts.is_empty() {
        return t!(
            "teks menyebut apa yang dikerjakan, bukan siapa yang mengerjakannya",
            "the text says what is done, not who does it"
        );
    }
    let others: Vec<&str> = guess.conflicts.iter().map(|a| layout.actors[*a].as_str()).collect();
    let others = others.join(", ");
    t!("teks juga menunjuk {others}", "the text also points at {others}")
}
