//! The compiled model of one SOP: what the file says, resolved and typed, plus its control flow
//! as a petgraph state graph. Serialisable, so `alur inspect`, the server and editors share it.

mod expr;
mod flow;
mod options;
mod registration;

pub use expr::{CompareOp, Expr, ExprKind, FieldType, FieldValues, Value};
pub use flow::{Edge, Flow, Node, NodeIndex};
pub use options::Options;
pub use registration::{NumberPart, Numbering, PatternError, RegistrationPattern, MAX_PATTERN_CHARS};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Lang;
use crate::syntax::Span;
use crate::time::Duration;

/// An identifier with the place it was written. Compares by name only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Name {
    pub name: String,
    pub span: Span,
}

impl Name {
    pub fn new(name: impl Into<String>, span: Span) -> Name {
        Name { name: name.into(), span }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sop {
    pub id: Name,
    pub title: String,
    /// The language its keywords are written in (the one `alur fmt` keeps).
    pub language: Lang,
    pub header: Header,
    pub actors: Vec<Actor>,
    pub artifacts: Vec<Artifact>,
    pub fields: Vec<Field>,
    pub ends: Vec<End>,
    /// Steps in written order.
    pub steps: Vec<Step>,
    /// The written structure: steps, parallel blocks and alternatives in order.
    pub body: Vec<Element>,
    pub flow: Flow,
    pub span: Span,
    /// The service variants the file holds (`varian { baru "Izin baru" ... }`): each case is
    /// one of them, chosen when it starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// The variant this SOP is the flow of ([`crate::compile::for_variant`]); `None` for the
    /// file as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Name>,
    /// In the flow of a variant: the steps of the file the variant does not do (a scenario
    /// written for the whole file may time them; they are not mistakes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<Name>,
    /// In the flow of a variant: the actors only other variants' steps name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_out_actors: Vec<Name>,
}

/// One service variant of an SOP (baru, perpanjangan, perubahan, pencabutan).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub id: Name,
    pub label: String,
}

impl Sop {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id.name == id)
    }

    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.id.name == id)
    }

    pub fn actor(&self, id: &str) -> Option<&Actor> {
        self.actors.iter().find(|a| a.id.name == id)
    }

    pub fn artifact(&self, id: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.id.name == id)
    }

    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id.name == id)
    }

    pub fn end(&self, id: &str) -> Option<&End> {
        self.ends.iter().find(|e| e.id.name == id)
    }

    pub fn declared_variant(&self, id: &str) -> Option<&Variant> {
        self.variants.iter().find(|v| v.id.name == id)
    }

    /// The variants' ids, as written (`baru, perpanjangan`), for messages.
    pub fn variant_list(&self) -> String {
        self.variants.iter().map(|v| v.id.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The file declares variants but this is not the flow of one of them: the steps of every
    /// variant are here together, so no case runs on it and no total is measured on it.
    pub fn needs_variant(&self) -> bool {
        !self.variants.is_empty() && self.variant.is_none()
    }

    /// The step after which the applicant is served (`dilayani`), if the SOP marks one.
    pub fn served_step(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.serves)
    }

    /// Where a promise's clock stops: its `sampai`, else when the applicant is served, else
    /// (`None`) at the end of the case. The one rule the check, the runtime and the simulator use.
    pub fn promise_until(&self, standard: &ServiceStandard) -> Option<ClockPoint> {
        standard.until.clone().or_else(|| self.served_step().map(|s| ClockPoint::EndOf(s.id.clone())))
    }

    /// What the SOP promises the applicant for the rest of a case: the first service standard
    /// that runs to the end (no `sampai`), else the stated total.
    pub fn promise(&self) -> Option<Duration> {
        let standard = self.header.service_standards.iter().find(|s| s.until.is_none()).map(|s| s.duration);
        standard.or(self.header.stated_total.as_ref().map(|t| t.duration))
    }

    /// The step whose completion tells the applicant the completion date, and how long after it
    /// that date is (the SOP's promise when the step names no time).
    pub fn completion_date(&self) -> Option<(usize, Duration)> {
        self.steps.iter().enumerate().find_map(|(i, s)| {
            let told = s.completion_date.as_ref()?;
            Some((i, told.duration.or_else(|| self.promise())?))
        })
    }
}

/// The identity block of the official SOP document and the timing it promises.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub agency: Option<String>,
    pub version: Option<String>,
    /// Nomor SOP.
    pub number: Option<String>,
    pub created: Option<NaiveDate>,
    pub revised: Option<NaiveDate>,
    pub effective: Option<NaiveDate>,
    pub approved_by: Option<Approval>,
    pub legal_basis: Vec<String>,
    pub related: Vec<String>,
    pub warnings: Vec<String>,
    pub qualifications: Vec<String>,
    pub equipment: Vec<String>,
    pub records: Vec<String>,
    /// Rows some provinces add to the identity page ("Pengendalian", "Identifikasi Risiko"):
    /// (label, text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_identity: Vec<(String, String)>,
    /// The Standar Pelayanan published beside the SOP.
    #[serde(default)]
    pub service: ServiceDeclarations,
    pub calendar: Option<Name>,
    pub stated_total: Option<StatedTotal>,
    /// `total … untuk VARIANT`: totals of some variants, in place of `stated_total` in their flow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_totals: Vec<StatedTotal>,
    pub service_standards: Vec<ServiceStandard>,
    /// `nomor_pendaftaran "503/{nomor:4}/DPMPTSP/{bulan:romawi}/{tahun}"`: the format of the
    /// registration number each case gets when it starts (none: cases have no number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationPattern>,
    /// `kontak_loket "..."`: how applicants reach the service desk, printed on the receipt.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub desk_contact: Vec<String>,
}

/// The components of a Standar Pelayanan (Permenpan-RB 15/2014) that the SOP does not already
/// say (its procedure, time and legal basis are the SOP's own): texts as the office publishes
/// them, for the identity page and the applicant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceDeclarations {
    /// Persyaratan: what the applicant brings.
    pub requirements: Vec<String>,
    /// Biaya/tarif.
    pub fees: Vec<String>,
    /// Produk pelayanan.
    pub products: Vec<String>,
    /// Penanganan pengaduan, saran dan masukan.
    pub complaints: Vec<String>,
    /// Sarana, prasarana dan/atau fasilitas.
    pub facilities: Vec<String>,
    /// Pengawasan internal.
    pub supervision: Vec<String>,
    /// Jumlah pelaksana.
    pub staffing: Vec<String>,
    /// Jaminan pelayanan.
    pub guarantee: Vec<String>,
    /// Jaminan keamanan dan keselamatan pelayanan.
    pub safety: Vec<String>,
    /// Evaluasi kinerja pelaksana.
    pub evaluation: Vec<String>,
    /// `persyaratan untuk perpanjangan "…"`: requirements of some variants only, added to
    /// `requirements` in the flow of each of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_requirements: Vec<(Vec<Name>, Vec<String>)>,
}

impl ServiceDeclarations {
    pub fn is_empty(&self) -> bool {
        self.items().iter().all(|(_, items)| items.is_empty())
    }

    /// Each component with a stable key (`requirements`, `fees`, ...) in the order of the
    /// regulation.
    pub fn items(&self) -> [(&'static str, &Vec<String>); 10] {
        [
            ("requirements", &self.requirements),
            ("fees", &self.fees),
            ("products", &self.products),
            ("complaints", &self.complaints),
            ("facilities", &self.facilities),
            ("supervision", &self.supervision),
            ("staffing", &self.staffing),
            ("guarantee", &self.guarantee),
            ("safety", &self.safety),
            ("evaluation", &self.evaluation),
        ]
    }
}

/// Disahkan oleh: the official who signs the SOP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub name: String,
    pub nip: Option<String>,
    pub position: Option<String>,
}

/// The total exactly as the SOP states it: "4 Hari 1 Jam 18 Menit (5 Hari)".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatedTotal {
    pub duration: Duration,
    /// The rounded working days in parentheses, when stated.
    pub rounded_workdays: Option<u32>,
    pub span: Span,
    pub duration_span: Span,
    pub rounded_span: Option<Span>,
    /// `total 3 hari untuk perpanjangan`: the total of these variants only (empty: the
    /// total of every variant without one of its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Name>,
}

/// A service-standard promise, e.g. "5 hari kerja sejak berkas dinyatakan lengkap", or one of
/// several separately clocked segments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceStandard {
    pub label: Option<String>,
    pub duration: Duration,
    /// Where the clock starts; `None` is the start of the case.
    pub from: Option<ClockPoint>,
    /// Where the clock stops; `None` is the end of the case.
    pub until: Option<ClockPoint>,
    /// Steps whose time the promise does not count (`kecuali rekomendasi_teknis`: the
    /// technical agency's review): the clock stands still while one of them is open.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Name>,
    /// `untuk perpanjangan`: the promise of these variants only (empty: of every variant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Name>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "at", content = "step", rename_all = "snake_case")]
pub enum ClockPoint {
    /// When the named step starts.
    StartOf(Name),
    /// When the named step finishes.
    EndOf(Name),
}

impl ClockPoint {
    pub fn step(&self) -> &Name {
        match self {
            ClockPoint::StartOf(n) | ClockPoint::EndOf(n) => n,
        }
    }

    /// The point as the SOP writes it: on a hand-off chain's row, not its last desk (which
    /// the compiler points `setelah`/`sampai` at).
    pub fn as_written(&self, sop: &Sop) -> ClockPoint {
        let row = |n: &Name| sop.step(n.as_str()).map_or_else(|| n.clone(), |s| s.row_id().clone());
        match self {
            ClockPoint::StartOf(n) => ClockPoint::StartOf(row(n)),
            ClockPoint::EndOf(n) => ClockPoint::EndOf(row(n)),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Applicant,
    Staff,
    External,
    System,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub id: Name,
    pub label: String,
    pub kind: ActorKind,
}

/// A document that steps need (kelengkapan) or give (output).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    pub id: Name,
    pub label: String,
    /// Declared in `dokumen`: brought from outside rather than produced by a step.
    pub external: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub id: Name,
    pub label: Option<String>,
    pub ty: FieldType,
}

/// A named terminal end: issued, refused, withdrawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct End {
    pub id: Name,
    pub label: String,
}

/// Who performs a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Performers {
    pub actors: Vec<Name>,
    pub mode: PerformerMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerformerMode {
    /// One actor.
    Single,
    /// "A atau B": either may do it.
    Either,
    /// "A dan B": done jointly (both sign).
    Jointly,
    /// "A -> B -> C": a hand-off chain, one desk after the other, inside one row of the table.
    /// Only in what lowering writes: the compiler expands such a step into one step per desk
    /// (each with [`Step::desk`] set and a single actor), so a compiled model never holds it.
    Chain,
}

/// A use of a document in a step, with the cell text as the SOP prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtifactUse {
    pub artifact: Name,
    /// The Kelengkapan or Output cell text for this step.
    pub text: String,
}

/// A step's Waktu: the value and the text as written ("10 menit", or "-" when the SOP states
/// no time for the step).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepDuration {
    /// The whole Waktu (both parts of a two-part one); `None` when the SOP states no time for
    /// the step (`waktu -`, `waktu tidak_tertulis`): unknown, not zero.
    pub value: Option<Duration>,
    pub text: String,
    pub span: Span,
    /// `waktu 1 jam, lalu hari_berikutnya 1 hari`: the two parts, with the next working day
    /// between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_next_workday: Option<(Duration, Duration)>,
    /// `waktu 10 menit -> 10 menit -> 1 jam`: each desk's share of a hand-off chain as written
    /// (`value` is their sum). Kept in the row's cell ([`Desk::cell`]); each desk's own
    /// duration is its share alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<Duration>,
}

impl StepDuration {
    /// The Waktu cell as shown on a table: the value, or the text printed where the SOP states no
    /// time (`-` for an empty cell).
    pub fn cell(&self, lang: crate::diagnostic::Lang) -> String {
        if !self.shares.is_empty() {
            return self.shares.iter().map(|s| s.display(lang)).collect::<Vec<_>>().join(" → ");
        }
        match self.value {
            Some(value) => value.display(lang),
            None if self.text.trim().is_empty() => "-".to_string(),
            None => self.text.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The number as printed (gaps and suffixes allowed).
    pub number: String,
    pub id: Name,
    /// Kegiatan, verbatim.
    pub activity: String,
    pub performers: Option<Performers>,
    pub inputs: Vec<ArtifactUse>,
    pub outputs: Vec<ArtifactUse>,
    pub duration: Option<StepDuration>,
    /// Keterangan, verbatim.
    pub notes: Option<String>,
    /// Done only when this holds; skipped otherwise.
    pub condition: Option<Expr>,
    /// May only start at the next working day's opening.
    pub starts_next_workday: bool,
    pub decision: Option<Decision>,
    /// Conditional and explicit routes, tried in order (used when there is no decision).
    pub routes: Vec<Route>,
    /// A sub-procedure: another SOP run as a child case.
    pub call: Option<Call>,
    pub deadline_actions: Vec<DeadlineAction>,
    /// `tanggal_selesai`: when this step is done the applicant is told when the permit will be
    /// ready (the date on the receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_date: Option<CompletionDate>,
    /// `dilayani`: once this step is done the applicant is served (the permit handed over);
    /// steps after it are the office's own (archiving) and no promise counts them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub serves: bool,
    /// `untuk perpanjangan, perubahan`: the step is done in these variants only (empty: in
    /// every variant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Name>,
    /// `waktu 1 hari untuk perpanjangan`: the Waktu of some variants, in place of `duration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variant_durations: Vec<(Vec<Name>, StepDuration)>,
    /// `penangguhan maks 14 hari -> gugur`: the step's task may be put on hold (the office
    /// waits for a missing document or another agency) with the clock paused, for at most
    /// `max`; a hold that lasts longer sends the case to `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<Hold>,
    /// One desk of a hand-off chain (`oleh kabid -> kasi -> back_office`): the row of the
    /// table is compiled into one step per desk, done one after the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<Desk>,
    pub span: Span,
}

/// The longest a step's task may stand on hold, and where the case goes when it does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub max: Duration,
    pub target: Target,
    pub span: Span,
}

/// Where a step stands in the hand-off chain of its row. The first desk keeps the row's id
/// (routes to the row reach it); desk `k` (from 2) is `ROW.k`, an id no one can write. The
/// first desk needs the row's documents and carries its condition; the last gives its outputs
/// and takes its decision, routes and deadline actions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Desk {
    /// The row's id (the first desk's own).
    pub row: Name,
    /// The desk's place in the chain, from 0.
    pub index: usize,
    /// How many desks the row has.
    pub count: usize,
    /// The row's Waktu cell as written (the document prints it; the desks' shares sum to it).
    pub cell: Option<StepDuration>,
    /// Every desk's actor, in order (the document draws them in one row).
    pub actors: Vec<Name>,
}

impl Desk {
    pub fn is_first(&self) -> bool {
        self.index == 0
    }

    pub fn is_last(&self) -> bool {
        self.index + 1 >= self.count
    }
}

/// The completion date told to the applicant: `duration` after the step is done, counted on
/// the calendar; `None` takes the SOP's promise ([`Sop::promise`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletionDate {
    pub duration: Option<Duration>,
    pub span: Span,
}

impl Step {
    /// The step's time as the calendar counts it; its duration is `None` when the SOP states
    /// none (or the Waktu could not be read).
    pub fn time(&self) -> crate::time::StepTime {
        crate::time::StepTime {
            duration: self.stated_duration(),
            starts_next_workday: self.starts_next_workday,
            then_next_workday: self.duration.as_ref().and_then(|d| d.then_next_workday),
        }
    }

    /// The Waktu when the SOP states one.
    pub fn stated_duration(&self) -> Option<Duration> {
        self.duration.as_ref().and_then(|d| d.value)
    }

    /// The SOP states no time for this step (`waktu -`): every analysis says its total is
    /// incomplete rather than counting the step as instant.
    pub fn time_not_stated(&self) -> bool {
        self.duration.as_ref().is_some_and(|d| d.value.is_none())
    }

    /// The id of the row the step is on: its own, or its chain's for a desk.
    pub fn row_id(&self) -> &Name {
        self.desk.as_ref().map_or(&self.id, |d| &d.row)
    }

    /// The number as lists of tasks show it: a desk of a hand-off chain adds its place
    /// (`3 (2/3)`).
    pub fn numbered(&self) -> String {
        match &self.desk {
            Some(d) => format!("{} ({}/{})", self.number, d.index + 1, d.count),
            None => self.number.clone(),
        }
    }

    /// A desk of a hand-off chain other than the first: the same row as the step before it.
    pub fn continues_row(&self) -> bool {
        self.desk.as_ref().is_some_and(|d| !d.is_first())
    }

    pub fn actor_ids(&self) -> impl Iterator<Item = &str> {
        self.performers.iter().flat_map(|p| p.actors.iter().map(|a| a.as_str()))
    }

    /// Whether the step names `actor`: as who does it, or in a deadline action (escalate to,
    /// notify).
    pub fn names_actor(&self, actor: &str) -> bool {
        self.actor_ids().any(|a| a == actor)
            || self.deadline_actions.iter().any(|d| match d {
                DeadlineAction::Escalate { actor: a, .. } | DeadlineAction::Notify { actor: a, .. } => a.name == actor,
                DeadlineAction::Route { .. } => false,
            })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The case field the chosen outcome is recorded in.
    pub record: Option<Name>,
    pub outcomes: Vec<Outcome>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub name: Name,
    pub target: Target,
    /// Set when the outcome sends the file back (to the applicant) to be redone.
    pub rework: Option<Rework>,
    /// Documents the step gives only with this outcome (`disetujui -> lanjut, output izin`,
    /// `ditolak -> ditolak, output surat_penolakan`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<ArtifactUse>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Target {
    /// The next element in written order.
    Next,
    /// A step or an end, by id.
    Named(Name),
}

/// A return-for-completion loop: limit on rounds and what the service clock does meanwhile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rework {
    pub clock: ClockPolicy,
    pub max_rounds: Option<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockPolicy {
    /// The clock stops while the file is with the applicant (common practice).
    Pause,
    /// The clock starts again from zero on resubmission (the OSS rule).
    Restart,
    /// The clock keeps running.
    Run,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Route {
    pub target: Target,
    pub condition: Option<Expr>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The called file, relative to the calling file.
    pub path: String,
    /// The id of the called SOP, once loaded.
    pub sop: Option<String>,
    /// The ends of the called SOP (its possible results), once loaded.
    pub ends: Vec<String>,
    /// What the called SOP promises for a whole case, once loaded: its stated total, else a
    /// service standard over the whole procedure; checked against the calling step's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promise: Option<Duration>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DeadlineAction {
    /// Hand the task to another actor.
    Escalate { actor: Name, span: Span },
    /// Tell an actor, leaving the task where it is.
    Notify { actor: Name, span: Span },
    /// Route the case (OSS "fiktif positif": the permit is issued when the authority is late).
    Route { target: Target, span: Span },
}

impl DeadlineAction {
    pub fn span(&self) -> Span {
        match self {
            DeadlineAction::Escalate { span, .. }
            | DeadlineAction::Notify { span, .. }
            | DeadlineAction::Route { span, .. } => *span,
        }
    }
}

/// The written structure of the procedure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Element {
    Step {
        step: usize,
    },
    /// All branches run at once and join before what follows.
    Parallel {
        name: Option<Name>,
        branches: Vec<Vec<Element>>,
        span: Span,
    },
    /// Exactly one branch runs (entry at the counter or online), and they converge.
    Alternatives {
        name: Option<Name>,
        branches: Vec<Vec<Element>>,
        span: Span,
    },
}

impl Element {
    /// The first step of the element, in written order.
    pub fn first_step(&self) -> Option<usize> {
        match self {
            Element::Step { step } => Some(*step),
            Element::Parallel { branches, .. } | Element::Alternatives { branches, .. } => {
                branches.iter().find_map(|b| b.first().and_then(Element::first_step))
            }
        }
    }
}
