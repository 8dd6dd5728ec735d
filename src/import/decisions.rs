//! Decisions read from routes written in Keterangan with a condition ("apabila diterima").

use crate::diagnostic::{Code, Diagnostic};
use crate::model::ActorKind;
use crate::t;

use super::actors::Who;
use super::body::StepRow;
use super::infer::{self, NoteRoute, RouteTarget};
use super::table::Layout;
use super::text::Ids;
use super::Importer;

/// One outcome of a decision read from Keterangan.
pub(super) struct OutcomeLine {
    pub(super) name: String,
    /// Index of the target step; `None` is the next element (`lanjut`).
    pub(super) target: Option<usize>,
    pub(super) back: bool,
}

impl Importer<'_> {
    /// Decisions from routes written in Keterangan with a condition ("apabila diterima").
    pub(super) fn decisions(&mut self, layout: &Layout, steps: &[StepRow], who: &[Who]) -> Vec<Vec<OutcomeLine>> {
        let mut out = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let mut routes: Vec<NoteRoute> =
                infer::note_routes(&step.notes, &layout.actors).into_iter().filter(|r| r.outcome.is_some()).collect();
            // Without a route in Keterangan, a return written in the activity ("apabila tidak
            // lengkap dikembalikan kepada pemohon", as Standar Pelayanan prose puts it); the
            // way on is the written order.
            let from_activity = routes.is_empty();
            // The activity's own name for the way on ("apabila sudah lengkap … diteruskan").
            let mut written_forward = None;
            if from_activity {
                let (back, on): (Vec<NoteRoute>, Vec<NoteRoute>) = infer::note_routes(&step.activity, &layout.actors)
                    .into_iter()
                    .filter(|r| r.outcome.is_some())
                    .partition(|r| r.outcome.as_deref().is_some_and(infer::is_negative));
                routes = back;
                if let [one] = on.as_slice() {
                    written_forward = one.outcome.clone();
                }
            }
            if routes.is_empty() {
                out.push(Vec::new());
                continue;
            }
            let (column_id, column_en) =
                if from_activity { ("kegiatan", "kegiatan") } else { ("keterangan", "keterangan") };
            let mut lines = Vec::new();
            let mut problem = None;
            for route in &routes {
                let outcome = route.outcome.clone().unwrap_or_default();
                let negative = infer::is_negative(&outcome);
                let by = |j: usize| match route.target {
                    RouteTarget::Actor(actor) => who[j].actors().contains(&actor),
                    RouteTarget::Applicant => {
                        who[j].actors().iter().any(|a| infer::actor_kind(&layout.actors[*a]) == ActorKind::Applicant)
                    }
                };
                let actor = match route.target {
                    RouteTarget::Actor(actor) => layout.actors[actor].clone(),
                    RouteTarget::Applicant => "pemohon".to_string(),
                };
                if negative && route.target == RouteTarget::Applicant {
                    // Back to the applicant: their latest step before this one, or nowhere (a
                    // step the table does not have is not made up).
                    match (0..i).rev().find(|&j| by(j)) {
                        Some(j) => lines.push(OutcomeLine { name: outcome, target: Some(j), back: true }),
                        None => {
                            problem = Some(t!(
                                "`{outcome}` kembali ke pemohon, tetapi tidak ada langkah pemohon sebelum langkah ini, jadi rute itu tidak dapat ditempatkan",
                                "`{outcome}` goes back to the applicant, but no step of the applicant comes before this one, so the route could not be placed"
                            ))
                        }
                    }
                } else if !negative {
                    if i + 1 < steps.len() && by(i + 1) {
                        lines.push(OutcomeLine { name: outcome, target: Some(i + 1), back: false });
                    } else {
                        problem = Some(t!(
                            "`{outcome}` menuju {actor}, padahal langkah berikutnya bukan dikerjakan {actor}",
                            "`{outcome}` goes to {actor}, but the next step is not done by {actor}"
                        ));
                    }
                } else if let Some(j) = (0..i).rev().find(|&j| by(j)) {
                    lines.push(OutcomeLine { name: outcome, target: Some(j), back: true });
                } else if let Some(j) = (i + 1..steps.len()).find(|&j| by(j)) {
                    lines.push(OutcomeLine { name: outcome, target: Some(j), back: false });
                } else {
                    problem = Some(t!("tidak ada langkah yang dikerjakan {actor}", "no step is done by {actor}"));
                }
            }
            if problem.is_none() && lines.len() == 1 && lines[0].back && written_forward.is_some() {
                let name = written_forward.unwrap_or_default();
                let target = (i + 1 < steps.len()).then_some(i + 1);
                lines.insert(0, OutcomeLine { name, target, back: false });
            } else if problem.is_none() && lines.len() == 1 && lines[0].back {
                let name = infer::opposite(&lines[0].name);
                let target = (i + 1 < steps.len()).then_some(i + 1);
                lines.insert(0, OutcomeLine { name: name.clone(), target, back: false });
                let (line, number) = (step.lines[0], step.number.clone());
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportRouteGuessed,
                        t!(
                            "baris {line}: {column_id} langkah {number} hanya menyebut satu hasil; hasil `{name}` (lanjut ke langkah berikutnya) ditambahkan",
                            "line {line}: the {column_en} of step {number} names one outcome; the outcome `{name}` (on to the next step) was added"
                        ),
                        step.span,
                        t!("kolom {column_id}", "the {column_en} column"),
                    )
                    .with_help(t!("periksa blok `keputusan` langkah ini", "review this step's `keputusan` block")),
                );
            } else if problem.is_none() && lines.len() == 1 {
                // One forward outcome is the written order itself: no decision is needed.
                lines.clear();
            }
            let mut names: Vec<String> = lines.iter().map(|l| outcome_id(&l.name)).collect();
            names.sort();
            names.dedup();
            if problem.is_none() && names.len() != lines.len() {
                problem = Some(t!("dua hasil bernama sama", "two outcomes have the same name"));
            }
            if let Some(why) = problem {
                let (line, number) = (step.lines[0], step.number.clone());
                let (why_id, why_en) = (why.id, why.en);
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::ImportRouteGuessed,
                        t!(
                            "baris {line}: rute di {column_id} langkah {number} tidak dijadikan keputusan: {why_id}",
                            "line {line}: the route in the {column_en} of step {number} was not made a decision: {why_en}"
                        ),
                        step.span,
                        t!("kolom {column_id}", "the {column_en} column"),
                    )
                    .with_help(t!(
                        "teks {column_id} tetap disalin; tulis blok `keputusan` sendiri bila langkah ini memutuskan",
                        "the {column_en} text is kept; write a `keputusan` block yourself if this step decides"
                    )),
                );
                lines.clear();
            }
            out.push(lines);
        }
        out
    }
}

pub(super) fn outcome_id(outcome: &str) -> String {
    let mut ids = Ids::default();
    ids.make(outcome, 4, "hasil", false)
}
