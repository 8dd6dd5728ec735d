//! Syntax tree to model: gives each line its meaning. Every problem becomes a diagnostic and
//! lowering goes on with the next line, so one run reports everything.

use chrono::NaiveDate;
use std::collections::HashMap;

use super::cursor::{expect_duration, Cursor};
use super::expr::expect_condition;
use super::keyword::{suggest, Kw};
use crate::diagnostic::{Code, Diagnostic, Lang, Text};
use crate::model::{
    Actor, ActorKind, Approval, Artifact, ArtifactUse, Call, ClockPoint, ClockPolicy, DeadlineAction, Decision,
    Element, End, Field, FieldType, Header, Name, Outcome, PatternError, PerformerMode, Performers,
    RegistrationPattern, Rework, Route, ServiceStandard, StatedTotal, Step, StepDuration, Target, Variant,
    MAX_PATTERN_CHARS,
};
use crate::syntax::{Block, Item, Span, Token, TokenKind};
use crate::t;

/// A named list of steps that several SOPs share (`potongan` / `fragment`).
#[derive(Clone, Debug)]
pub struct Fragment {
    pub name: Name,
    pub items: Vec<Item>,
}

/// Everything an SOP says, before names are resolved and the graph is built.
#[derive(Debug, Default)]
pub struct Draft {
    pub id: Option<Name>,
    pub title: String,
    pub header: Header,
    pub actors: Vec<Actor>,
    pub artifacts: Vec<Artifact>,
    pub fields: Vec<Field>,
    pub ends: Vec<End>,
    pub variants: Vec<Variant>,
    pub steps: Vec<Step>,
    pub body: Vec<Element>,
    pub span: Span,
    pub votes_id: usize,
    pub votes_en: usize,
    /// Steps (by header span) whose `oleh` was written but could not be read (already reported).
    pub actor_reported: Vec<Span>,
    /// Steps (by header span) whose `waktu` line was written but could not be read.
    pub duration_reported: Vec<Span>,
}

impl Draft {
    pub fn language(&self) -> Lang {
        if self.votes_en > self.votes_id {
            Lang::En
        } else {
            Lang::Id
        }
    }
}

/// The most `pakai` expansions inside one another (a fragment using itself is reported).
const MAX_EXPANSION: usize = 8;

pub struct Lowerer<'a> {
    pub diagnostics: Vec<Diagnostic>,
    fragments: &'a HashMap<String, Fragment>,
    draft: Draft,
    seen_settings: HashMap<&'static str, Span>,
    expanding: Vec<String>,
    /// An import could not be read, so an unknown fragment may simply be in that file.
    pub imports_failed: bool,
    /// Ids of the documents declared so far (outputs declare them too).
    artifact_names: foldhash::HashSet<String>,
}

fn what_text() -> Text {
    t!("teks dalam tanda kutip", "a text in double quotes")
}

impl<'a> Lowerer<'a> {
    pub fn new(fragments: &'a HashMap<String, Fragment>) -> Self {
        Lowerer {
            diagnostics: Vec::new(),
            fragments,
            draft: Draft::default(),
            seen_settings: HashMap::new(),
            expanding: Vec::new(),
            imports_failed: false,
            artifact_names: foldhash::HashSet::default(),
        }
    }

    pub fn finish(self) -> (Draft, Vec<Diagnostic>) {
        (self.draft, self.diagnostics)
    }

    fn vote(&mut self, token: &Token) {
        match Kw::of(token) {
            Some((_, Some(Lang::Id))) => self.draft.votes_id += 1,
            Some((_, Some(Lang::En))) => self.draft.votes_en += 1,
            _ => {}
        }
    }

    fn report(&mut self, result: Result<(), Diagnostic>) {
        if let Err(d) = result {
            self.diagnostics.push(d);
        }
    }

    fn unknown_keyword(&mut self, token: &Token, allowed: &[Kw], context: Text) {
        let text = &token.text;
        let (context_id, context_en) = (&context.id, &context.en);
        let mut diagnostic = Diagnostic::new(
            Code::UnknownKeyword,
            t!("`{text}` tidak dikenal di dalam {context_id}", "`{text}` is not known inside {context_en}"),
            token.span,
            t!("kata kunci tidak dikenal", "unknown keyword"),
        );
        let lang = self.draft.language();
        let list = allowed.iter().map(|k| format!("`{}`", k.word(lang))).collect::<Vec<_>>().join(", ");
        diagnostic = match suggest(text, allowed) {
            Some(better) => diagnostic.with_help(t!("maksudnya `{better}`?", "did you mean `{better}`?")),
            None => diagnostic.with_help(t!("yang dapat ditulis di sini: {list}", "what can be written here: {list}")),
        };
        self.diagnostics.push(diagnostic);
    }

    /// Reports a block where none belongs, or a missing block.
    fn no_block(&mut self, item: &Item) {
        if let Some(block) = &item.block {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Expected,
                    t!("pengaturan ini tidak memakai blok `{{ }}`", "this setting takes no `{{ }}` block"),
                    block.open,
                    t!("blok tidak diharapkan", "block not expected"),
                )
                .with_help(t!("tulis nilainya di baris yang sama", "write its value on the same line")),
            );
        }
    }

    fn block_of<'b>(&mut self, item: &'b Item, what: Text) -> Option<&'b Block> {
        if item.block.is_none() {
            let (what_id, what_en) = (&what.id, &what.en);
            self.diagnostics.push(
                Diagnostic::new(
                    Code::Expected,
                    t!("{what_id} memerlukan blok `{{ ... }}`", "{what_en} needs a `{{ ... }}` block"),
                    item.head_span(),
                    t!("blok belum ditulis", "block missing"),
                )
                .with_help(t!(
                    "tambahkan `{{` di akhir baris ini dan `}}` setelah isinya",
                    "add `{{` at the end of this line and `}}` after its contents"
                )),
            );
        }
        item.block.as_ref()
    }

    // ---- file level ----

    /// Lowers the `sop` item of a file.
    pub fn sop(&mut self, item: &Item) {
        let mut cursor = Cursor::new(&item.tokens, item.span);
        cursor.next();
        self.draft.span = item.span;
        match cursor.expect_name(&t!("id SOP seperti `izin_lks`", "an SOP id such as `lks_permit`")) {
            Ok(id) => self.draft.id = Some(Name::new(&id.text, id.span)),
            Err(d) => {
                self.diagnostics.push(d);
                return;
            }
        }
        match cursor.expect_string(&t!("judul SOP dalam tanda kutip", "the SOP title in double quotes")) {
            Ok(title) => self.draft.title = title,
            Err(d) => self.diagnostics.push(d),
        }
        self.report(cursor.expect_end());
        let Some(block) = self.block_of(item, t!("`sop`", "`sop`")) else { return };
        for child in &block.items {
            self.sop_item(child);
        }
    }

    fn sop_item(&mut self, item: &Item) {
        if item.broken {
            return;
        }
        let Some(first) = item.tokens.first() else {
            self.diagnostics.push(Diagnostic::new(
                Code::Expected,
                t!("blok tanpa nama", "a block without a name"),
                item.head_span(),
                t!("tulis kata kunci sebelum `{{`", "write a keyword before `{{`"),
            ));
            return;
        };
        self.vote(first);
        let kw = Kw::of(first).map(|(k, _)| k);
        match kw {
            Some(Kw::Step | Kw::Parallel | Kw::Alternatives | Kw::Use) => {
                let mut body = std::mem::take(&mut self.draft.body);
                self.body_item(item, &mut body, 0);
                self.draft.body = body;
            }
            Some(Kw::Actors) => self.actors(item),
            Some(Kw::Documents) => self.documents(item),
            Some(Kw::Fields) => self.fields(item),
            Some(Kw::Ends) => self.ends(item),
            Some(Kw::Variants) => self.variants(item),
            Some(k) if HEADER_KEYWORDS.contains(&k) => self.header(k, item),
            _ => self.unknown_keyword(first, &[HEADER_KEYWORDS, SOP_BLOCKS].concat(), t!("`sop`", "`sop`")),
        }
    }

    fn once(&mut self, key: &'static str, span: Span) -> bool {
        if let Some(first) = self.seen_settings.get(key) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateSetting,
                    t!("`{key}` sudah ditulis sebelumnya", "`{key}` is already set"),
                    span,
                    t!("ditulis lagi di sini", "set again here"),
                )
                .with_label(*first, t!("pertama kali di sini", "first set here"))
                .with_help(t!("hapus salah satunya", "remove one of them")),
            );
            return false;
        }
        self.seen_settings.insert(key, span);
        true
    }

    fn header(&mut self, kw: Kw, item: &Item) {
        self.no_block(item);
        let mut cursor = Cursor::new(&item.tokens, item.span);
        cursor.next();
        let result = self.header_value(kw, &mut cursor, item.head_span()).and_then(|()| cursor.expect_end());
        self.report(result);
    }

    fn header_value(&mut self, kw: Kw, cursor: &mut Cursor<'_>, span: Span) -> Result<(), Diagnostic> {
        let key = kw.word(Lang::Id);
        let list = |cursor: &mut Cursor<'_>| -> Result<Vec<String>, Diagnostic> {
            let mut out = vec![cursor.expect_string(&what_text())?];
            while cursor.eat_punct(",").is_some() {
                out.push(cursor.expect_string(&what_text())?);
            }
            Ok(out)
        };
        match kw {
            Kw::Agency | Kw::Version | Kw::Number => {
                let value = match cursor.peek() {
                    Some(t) if kw == Kw::Version && t.kind == TokenKind::Number => {
                        cursor.next();
                        t.text.clone()
                    }
                    _ => cursor.expect_string(&what_text())?,
                };
                if self.once(key, span) {
                    let header = &mut self.draft.header;
                    let slot = match kw {
                        Kw::Agency => &mut header.agency,
                        Kw::Version => &mut header.version,
                        _ => &mut header.number,
                    };
                    *slot = Some(value);
                }
            }
            Kw::Created | Kw::Revised | Kw::Effective => {
                let date = expect_date(cursor)?;
                if self.once(key, span) {
                    let header = &mut self.draft.header;
                    let slot = match kw {
                        Kw::Created => &mut header.created,
                        Kw::Revised => &mut header.revised,
                        _ => &mut header.effective,
                    };
                    *slot = Some(date);
                }
            }
            Kw::ApprovedBy => {
                let name = cursor
                    .expect_string(&t!("nama pejabat dalam tanda kutip", "the official's name in double quotes"))?;
                let mut approval = Approval { name, nip: None, position: None };
                loop {
                    if cursor.eat_kw(Kw::Nip) {
                        approval.nip = Some(match cursor.peek() {
                            Some(t) if t.kind == TokenKind::Number => {
                                cursor.next();
                                t.text.clone()
                            }
                            _ => cursor.expect_string(&t!("NIP", "the NIP"))?,
                        });
                    } else if cursor.eat_kw(Kw::Position) {
                        approval.position = Some(cursor.expect_string(&what_text())?);
                    } else {
                        break;
                    }
                }
                if self.once(key, span) {
                    self.draft.header.approved_by = Some(approval);
                }
            }
            Kw::LegalBasis => self.draft.header.legal_basis.extend(list(cursor)?),
            Kw::Related => self.draft.header.related.extend(list(cursor)?),
            Kw::Warning => self.draft.header.warnings.extend(list(cursor)?),
            Kw::Qualification => self.draft.header.qualifications.extend(list(cursor)?),
            Kw::Equipment => self.draft.header.equipment.extend(list(cursor)?),
            Kw::Records => self.draft.header.records.extend(list(cursor)?),
            Kw::Requirements if cursor.eat_kw(Kw::For) => {
                let variants = expect_variant_list(cursor)?;
                let items = list(cursor)?;
                self.draft.header.service.variant_requirements.push((variants, items));
            }
            Kw::Requirements => self.draft.header.service.requirements.extend(list(cursor)?),
            Kw::Fee => self.draft.header.service.fees.extend(list(cursor)?),
            Kw::Product => self.draft.header.service.products.extend(list(cursor)?),
            Kw::Complaints => self.draft.header.service.complaints.extend(list(cursor)?),
            Kw::Facilities => self.draft.header.service.facilities.extend(list(cursor)?),
            Kw::Supervision => self.draft.header.service.supervision.extend(list(cursor)?),
            Kw::Staffing => self.draft.header.service.staffing.extend(list(cursor)?),
            Kw::Guarantee => self.draft.header.service.guarantee.extend(list(cursor)?),
            Kw::Safety => self.draft.header.service.safety.extend(list(cursor)?),
            Kw::Evaluation => self.draft.header.service.evaluation.extend(list(cursor)?),
            Kw::Identity => {
                // `identitas "Pengendalian" "…"`: a row some provinces add to the identity page.
                let label = cursor.expect_string(&t!("nama baris dalam tanda kutip", "the row's name in quotes"))?;
                let value = cursor.expect_string(&what_text())?;
                self.draft.header.extra_identity.push((label, value));
            }
            Kw::RegistrationNumber => {
                let token = cursor.expect_kind(
                    TokenKind::String,
                    &t!(
                        "format nomor dalam tanda kutip, seperti \"503/{{nomor:4}}/DPMPTSP/{{tahun}}\"",
                        "the number's format in quotes, such as \"503/{{nomor:4}}/DPMPTSP/{{tahun}}\""
                    ),
                )?;
                let pattern = RegistrationPattern::parse(&token.string_value(), token.span)
                    .map_err(|e| registration_diagnostic(e, token.span))?;
                if self.once(key, span) {
                    self.draft.header.registration = Some(pattern);
                }
            }
            Kw::DeskContact => self.draft.header.desk_contact.extend(list(cursor)?),
            Kw::Calendar => {
                let name = cursor
                    .expect_name(&t!("nama kalender seperti `wita_kantor`", "a calendar name such as `wita_kantor`"))?;
                if self.once(key, span) {
                    self.draft.header.calendar = Some(Name::new(&name.text, name.span));
                }
            }
            Kw::Total => {
                let start = cursor.position();
                let duration = expect_duration(cursor)?;
                self.diagnostics.extend(duration.warnings);
                let mut rounded = None;
                if cursor.eat_punct("(").is_some() {
                    let inner = cursor.position();
                    let days = expect_duration(cursor)?;
                    self.diagnostics.extend(days.warnings);
                    let only_days = days.value.hours == 0 && days.value.minutes == 0 && days.value.calendar_days == 0;
                    if !only_days {
                        return Err(Diagnostic::new(
                            Code::InvalidValue,
                            t!(
                                "pembulatan dalam kurung harus dalam hari kerja saja",
                                "the rounding in parentheses must be in working days only"
                            ),
                            cursor.span_from(inner),
                            t!("hanya `N hari`", "only `N hari`"),
                        )
                        .with_help(t!("tulis misalnya `(5 hari)`", "write for example `(5 workdays)`")));
                    }
                    cursor.expect_punct(")", &t!("`)` penutup", "a closing `)`"))?;
                    rounded = Some((days.value.workdays, days.span));
                }
                let variants = if cursor.eat_kw(Kw::For) { expect_variant_list(cursor)? } else { Vec::new() };
                let total = StatedTotal {
                    duration: duration.value,
                    rounded_workdays: rounded.map(|r| r.0),
                    span: cursor.span_from(start),
                    duration_span: duration.span,
                    rounded_span: rounded.map(|r| r.1),
                    variants,
                };
                if !total.variants.is_empty() {
                    self.draft.header.variant_totals.push(total);
                } else if self.once(key, span) {
                    self.draft.header.stated_total = Some(total);
                }
            }
            Kw::ServiceStandard => {
                let label = match cursor.peek() {
                    Some(t) if t.kind == TokenKind::String => {
                        cursor.next();
                        Some(t.string_value())
                    }
                    _ => None,
                };
                let duration = expect_duration(cursor)?;
                self.diagnostics.extend(duration.warnings);
                let mut standard = ServiceStandard {
                    label,
                    duration: duration.value,
                    from: None,
                    until: None,
                    excluded: Vec::new(),
                    variants: Vec::new(),
                    span,
                };
                loop {
                    if cursor.eat_kw(Kw::From) {
                        standard.from = Some(ClockPoint::StartOf(expect_step_name(cursor)?));
                    } else if cursor.eat_kw(Kw::After) {
                        standard.from = Some(ClockPoint::EndOf(expect_step_name(cursor)?));
                    } else if cursor.eat_kw(Kw::Until) {
                        standard.until = Some(ClockPoint::EndOf(expect_step_name(cursor)?));
                    } else if cursor.eat_kw(Kw::For) {
                        standard.variants.extend(expect_variant_list(cursor)?);
                    } else if cursor.eat_kw(Kw::Except) {
                        standard.excluded.push(expect_step_name(cursor)?);
                        while cursor.eat_punct(",").is_some() {
                            standard.excluded.push(expect_step_name(cursor)?);
                        }
                    } else {
                        break;
                    }
                }
                self.draft.header.service_standards.push(standard);
            }
            _ => {}
        }
        Ok(())
    }

    // ---- declarations ----

    fn table<F>(&mut self, item: &Item, what: Text, mut row: F)
    where
        F: FnMut(&mut Self, &mut Cursor<'_>) -> Result<(), Diagnostic>,
    {
        let mut cursor = Cursor::new(&item.tokens, item.span);
        cursor.next();
        self.report(cursor.expect_end());
        let Some(block) = self.block_of(item, what) else { return };
        for line in &block.items {
            if line.broken {
                continue;
            }
            self.no_block(line);
            let mut cursor = Cursor::new(&line.tokens, line.span);
            let result = row(self, &mut cursor).and_then(|()| cursor.expect_end());
            self.report(result);
        }
    }

    fn actors(&mut self, item: &Item) {
        self.table(item, t!("`pelaksana`", "`actors`"), |this, cursor| {
            let id =
                cursor.expect_name(&t!("id pelaksana seperti `front_office`", "an actor id such as `front_office`"))?;
            let label =
                cursor.expect_string(&t!("nama pelaksana dalam tanda kutip", "the actor's name in double quotes"))?;
            let kind = match cursor.peek() {
                None => ActorKind::Staff,
                Some(t) => {
                    let kind = match Kw::of(t).map(|(k, _)| k) {
                        Some(Kw::Applicant) => ActorKind::Applicant,
                        Some(Kw::Staff) => ActorKind::Staff,
                        Some(Kw::External) => ActorKind::External,
                        Some(Kw::System) => ActorKind::System,
                        _ => {
                            return Err(cursor.expected(&t!(
                                "jenis pelaksana: `pemohon`, `staf`, `instansi_luar` atau `sistem`",
                                "an actor kind: `applicant`, `staff`, `external` or `system`"
                            )))
                        }
                    };
                    this.vote(t);
                    cursor.next();
                    kind
                }
            };
            this.draft.actors.push(Actor { id: Name::new(&id.text, id.span), label, kind });
            Ok(())
        });
    }

    fn documents(&mut self, item: &Item) {
        self.table(item, t!("`dokumen`", "`documents`"), |this, cursor| {
            let id = cursor.expect_name(&t!(
                "id dokumen seperti `surat_permohonan`",
                "a document id such as `application_letter`"
            ))?;
            let label =
                cursor.expect_string(&t!("nama dokumen dalam tanda kutip", "the document's name in double quotes"))?;
            this.artifact_names.insert(id.text.clone());
            this.draft.artifacts.push(Artifact { id: Name::new(&id.text, id.span), label, external: true });
            Ok(())
        });
    }

    fn ends(&mut self, item: &Item) {
        self.table(item, t!("`selesai`", "`ends`"), |this, cursor| {
            let id = cursor.expect_name(&t!("id akhir seperti `izin_terbit`", "an end id such as `permit_issued`"))?;
            let label = cursor.expect_string(&t!("nama akhir dalam tanda kutip", "the end's name in double quotes"))?;
            this.draft.ends.push(End { id: Name::new(&id.text, id.span), label });
            Ok(())
        });
    }

    fn variants(&mut self, item: &Item) {
        self.table(item, t!("`varian`", "`variants`"), |this, cursor| {
            let id = cursor.expect_name(&t!("id varian seperti `perpanjangan`", "a variant id such as `renewal`"))?;
            let label =
                cursor.expect_string(&t!("nama varian dalam tanda kutip", "the variant's name in double quotes"))?;
            this.draft.variants.push(Variant { id: Name::new(&id.text, id.span), label });
            Ok(())
        });
    }

    fn fields(&mut self, item: &Item) {
        self.table(item, t!("`data`", "`fields`"), |this, cursor| {
            let id = cursor.expect_name(&t!("id data seperti `luas_bangunan`", "a field id such as `floor_area`"))?;
            let what_type = t!(
                "jenis data: `teks`, `angka`, `ya_tidak`, `tanggal` atau `pilihan(a, b)`",
                "a field type: `text`, `number`, `boolean`, `date` or `choice(a, b)`"
            );
            let Some(type_token) = cursor.peek() else {
                return Err(cursor.expected(&what_type));
            };
            let ty = if Kw::TextType.matches(type_token) {
                FieldType::Text
            } else if Kw::NumberType.matches(type_token) {
                FieldType::Number
            } else if Kw::BoolType.matches(type_token) {
                FieldType::Bool
            } else if Kw::DateType.matches(type_token) {
                FieldType::Date
            } else if Kw::ChoiceType.matches(type_token) {
                FieldType::Choice(Vec::new())
            } else {
                return Err(cursor.expected(&what_type));
            };
            this.vote(type_token);
            cursor.next();
            let ty = match ty {
                FieldType::Choice(_) => {
                    cursor.expect_punct("(", &t!("`(` lalu pilihan-pilihannya", "`(` and then the choices"))?;
                    let mut choices = Vec::new();
                    loop {
                        let choice =
                            cursor.expect_name(&t!("sebuah pilihan seperti `baru`", "a choice such as `new`"))?;
                        choices.push(choice.text.clone());
                        if cursor.eat_punct(",").is_none() {
                            break;
                        }
                    }
                    cursor.expect_punct(")", &t!("`,` atau `)` penutup", "`,` or a closing `)`"))?;
                    FieldType::Choice(choices)
                }
                other => other,
            };
            let label = match cursor.peek() {
                Some(t) if t.kind == TokenKind::String => {
                    cursor.next();
                    Some(t.string_value())
                }
                _ => None,
            };
            this.draft.fields.push(Field { id: Name::new(&id.text, id.span), label, ty });
            Ok(())
        });
    }

    // ---- body ----

    fn body_item(&mut self, item: &Item, out: &mut Vec<Element>, renumber: i64) {
        if item.broken {
            return;
        }
        let Some(first) = item.tokens.first() else {
            self.diagnostics.push(Diagnostic::new(
                Code::Expected,
                t!("blok tanpa nama", "a block without a name"),
                item.head_span(),
                t!(
                    "tulis `langkah`, `paralel` atau `cabang` sebelum `{{`",
                    "write `step`, `parallel` or `branch` before `{{`"
                ),
            ));
            return;
        };
        self.vote(first);
        match Kw::of(first).map(|(k, _)| k) {
            Some(Kw::Step) => {
                if let Some(step) = self.step(item, renumber) {
                    out.push(Element::Step { step });
                }
            }
            Some(kw @ (Kw::Parallel | Kw::Alternatives)) => {
                let mut cursor = Cursor::new(&item.tokens, item.span);
                cursor.next();
                let name = match cursor.peek() {
                    Some(t) if t.kind == TokenKind::Word => {
                        cursor.next();
                        Some(Name::new(&t.text, t.span))
                    }
                    _ => None,
                };
                self.report(cursor.expect_end());
                let what =
                    if kw == Kw::Parallel { t!("`paralel`", "`parallel`") } else { t!("`alternatif`", "`either`") };
                let Some(block) = self.block_of(item, what) else { return };
                let mut branches = Vec::new();
                for child in &block.items {
                    if child.broken {
                        continue;
                    }
                    match child.tokens.first() {
                        Some(t) if Kw::Branch.matches(t) => {
                            self.vote(t);
                            let mut cursor = Cursor::new(&child.tokens, child.span);
                            cursor.next();
                            self.report(cursor.expect_end());
                            let Some(inner) = self.block_of(child, t!("`cabang`", "`branch`")) else { continue };
                            let mut branch = Vec::new();
                            for step_item in &inner.items {
                                self.body_item(step_item, &mut branch, renumber);
                            }
                            branches.push(branch);
                        }
                        _ => {
                            let mut branch = Vec::new();
                            self.body_item(child, &mut branch, renumber);
                            if !branch.is_empty() {
                                branches.push(branch);
                            }
                        }
                    }
                }
                let span = item.head_span();
                if branches.len() < 2 {
                    let (word_id, word_en) = (kw.word(Lang::Id), kw.word(Lang::En));
                    let message = if branches.is_empty() {
                        t!("blok `{word_id}` ini tidak punya cabang", "this `{word_en}` block has no branches")
                    } else {
                        t!("blok `{word_id}` ini hanya punya satu cabang", "this `{word_en}` block has only one branch")
                    };
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::EmptyBlock,
                            message,
                            span,
                            t!("perlu paling sedikit dua cabang", "needs at least two branches"),
                        )
                        .with_help(t!(
                            "tulis langkah-langkahnya langsung tanpa blok ini, atau tambahkan cabang",
                            "write the steps directly without this block, or add branches"
                        )),
                    );
                }
                out.push(if kw == Kw::Parallel {
                    Element::Parallel { name, branches, span }
                } else {
                    Element::Alternatives { name, branches, span }
                });
            }
            Some(Kw::Use) => self.use_fragment(item, out, renumber),
            _ => self.unknown_keyword(first, BODY_KEYWORDS, t!("alur langkah", "the steps")),
        }
    }

    fn use_fragment(&mut self, item: &Item, out: &mut Vec<Element>, renumber: i64) {
        self.no_block(item);
        let mut cursor = Cursor::new(&item.tokens, item.span);
        cursor.next();
        let result = (|| {
            let name = cursor.expect_name(&t!("nama potongan", "a fragment name"))?;
            let mut first_number = None;
            if cursor.eat_kw(Kw::Starts) || cursor.eat_kw(Kw::From) {
                first_number = Some(cursor.expect_number(&t!("nomor langkah pertama", "the first step number"))?.0);
            }
            cursor.expect_end()?;
            Ok((name, first_number))
        })();
        let (name, first_number) = match result {
            Ok(v) => v,
            Err(d) => {
                self.diagnostics.push(d);
                return;
            }
        };
        let Some(fragment) = self.fragments.get(&name.text) else {
            if self.imports_failed {
                return;
            }
            let text = &name.text;
            let mut d = Diagnostic::new(
                Code::UnknownFragment,
                t!("potongan `{text}` tidak ditemukan", "fragment `{text}` is not defined"),
                name.span,
                t!("tidak ada potongan bernama ini", "no fragment has this name"),
            );
            d = match crate::diagnostic::did_you_mean(text, self.fragments.keys().map(String::as_str)) {
                Some(better) => d.with_help(t!("maksudnya `{better}`?", "did you mean `{better}`?")),
                None => d.with_help(t!(
                    "definisikan `potongan {text} {{ ... }}` atau `impor` berkas yang memuatnya",
                    "define `fragment {text} {{ ... }}` or `import` the file that has it"
                )),
            };
            self.diagnostics.push(d);
            return;
        };
        if self.expanding.contains(&name.text) || self.expanding.len() >= MAX_EXPANSION {
            let text = &name.text;
            self.diagnostics.push(Diagnostic::new(
                Code::UnknownFragment,
                t!("potongan `{text}` memakai dirinya sendiri", "fragment `{text}` uses itself"),
                name.span,
                t!("pemakaian berulang tanpa akhir", "endless repetition"),
            ));
            return;
        }
        let fragment_first = fragment.items.iter().find_map(|i| {
            i.tokens.first().filter(|t| Kw::Step.matches(t))?;
            i.tokens.get(1).and_then(|n| leading_integer(&n.text))
        });
        let offset = match (first_number, fragment_first) {
            (Some(wanted), Some(have)) => i64::from(wanted) - have,
            _ => 0,
        };
        let items = fragment.items.clone();
        self.expanding.push(name.text.clone());
        for child in &items {
            self.body_item(child, out, renumber + offset);
        }
        self.expanding.pop();
    }

    fn step(&mut self, item: &Item, renumber: i64) -> Option<usize> {
        let mut cursor = Cursor::new(&item.tokens, item.span);
        cursor.next();
        let header = (|| {
            let number = match (cursor.peek(), item.tokens.get(2)) {
                (Some(t), _) if t.kind == TokenKind::Number => {
                    cursor.next();
                    (renumbered(&t.text, renumber), t.span)
                }
                // A number printed as letters (`a`, `c1`) or a Roman numeral (`IV`): a word that
                // looks like one, followed by the step's id.
                (Some(t), Some(next))
                    if t.kind == TokenKind::Word
                        && printed_step_number(&t.text)
                        && next.kind == TokenKind::Word
                        && !Kw::By.matches(next) =>
                {
                    cursor.next();
                    (t.text.clone(), t.span)
                }
                _ => {
                    return Err(cursor.expected(&t!("nomor langkah seperti `1`", "a step number such as `1`")).with_help(t!(
                        "nomor langkah ditulis seperti di SOP: angka (`1`, `2b`, `3.1.a`), huruf (`a`, `c1`) atau angka Romawi (`IV`)",
                        "a step number is written as the SOP prints it: digits (`1`, `2b`, `3.1.a`), letters (`a`, `c1`) or a Roman numeral (`IV`)"
                    )))
                }
            };
            let id = cursor.expect_name(&t!("id langkah seperti `verifikasi`", "a step id such as `verify`"))?;
            Ok((number, Name::new(&id.text, id.span)))
        })();
        // A wrong `oleh` is reported, but the step is kept: dropping it would make every route
        // to it and every document it gives look wrong too.
        let mut actor_reported = false;
        let performers = match header {
            Ok(_) if cursor.eat_kw(Kw::By) => match expect_performers(&mut cursor) {
                Ok(p) => Some(p),
                Err(d) => {
                    self.diagnostics.push(d);
                    actor_reported = true;
                    None
                }
            },
            _ => None,
        };
        if header.is_ok() && !actor_reported {
            self.report(cursor.expect_end());
        }
        let (number, id) = match header {
            Ok(v) => v,
            Err(d) => {
                self.diagnostics.push(d);
                return None;
            }
        };
        let mut step = Step {
            number: number.0,
            id,
            activity: String::new(),
            performers,
            inputs: Vec::new(),
            outputs: Vec::new(),
            duration: None,
            notes: None,
            condition: None,
            starts_next_workday: false,
            decision: None,
            routes: Vec::new(),
            call: None,
            deadline_actions: Vec::new(),
            completion_date: None,
            serves: false,
            variants: Vec::new(),
            variant_durations: Vec::new(),
            hold: None,
            desk: None,
            span: item.head_span(),
        };
        if actor_reported {
            self.draft.actor_reported.push(step.span);
        }
        // Where each setting a step may have once was first written.
        let mut seen = [None::<Span>; SINGLE_STEP_KEYWORDS.len()];
        if let Some(block) = self.block_of(item, t!("`langkah`", "`step`")) {
            for line in &block.items {
                let takes = line.tokens.first().is_some_and(|t| Kw::Takes.matches(t));
                if line.broken {
                    if takes {
                        self.draft.duration_reported.push(step.span);
                    }
                    continue;
                }
                let Some(first) = line.tokens.first() else { continue };
                self.vote(first);
                let kw = Kw::of(first).map(|(k, _)| k).filter(|k| STEP_KEYWORDS.contains(k));
                let Some(kw) = kw else {
                    self.unknown_keyword(first, STEP_KEYWORDS, t!("`langkah`", "`step`"));
                    continue;
                };
                // `waktu 1 hari untuk perpanjangan`: one Waktu per variant, each checked on its own.
                let for_variants = kw == Kw::Takes && line.tokens.iter().any(|t| Kw::For.matches(t));
                if let Some(slot) = SINGLE_STEP_KEYWORDS.iter().position(|k| *k == kw).filter(|_| !for_variants) {
                    let key = kw.word(Lang::Id);
                    if let Some(previous) = &seen[slot] {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DuplicateSetting,
                                t!("`{key}` sudah ditulis untuk langkah ini", "`{key}` is already set for this step"),
                                line.head_span(),
                                t!("ditulis lagi di sini", "set again here"),
                            )
                            .with_label(*previous, t!("pertama kali di sini", "first set here"))
                            .with_help(t!("gabungkan keduanya atau hapus salah satu", "merge them or remove one")),
                        );
                        continue;
                    }
                    seen[slot] = Some(line.head_span());
                }
                if kw != Kw::Decide {
                    self.no_block(line);
                }
                let mut cursor = Cursor::new(&line.tokens, line.span);
                cursor.next();
                let result = self.step_line(kw, line, &mut cursor, &mut step);
                if result.is_err() && takes {
                    self.draft.duration_reported.push(step.span);
                }
                self.report(result);
            }
        }
        self.draft.steps.push(step);
        Some(self.draft.steps.len() - 1)
    }

    /// A step's Waktu: `-`, `tidak_tertulis ["cell"]`, a duration, or two parts with the next
    /// working day between them.
    fn step_duration(&mut self, cursor: &mut Cursor<'_>) -> Result<StepDuration, Diagnostic> {
        // `waktu -` / `waktu tidak_tertulis ["cell"]`: the SOP states no time for the step.
        let first = cursor.peek().map(|t| (t.span, t.text.clone()));
        if let Some((first_span, first_text)) = first {
            if cursor.eat_punct("-").is_some() {
                return Ok(StepDuration {
                    value: None,
                    text: first_text,
                    span: first_span,
                    then_next_workday: None,
                    shares: Vec::new(),
                });
            }
            if cursor.eat_kw(Kw::NotStated) {
                let (cell, span) = match cursor.peek() {
                    Some(t) if t.kind == TokenKind::String => {
                        cursor.next();
                        (t.string_value(), first_span.to(t.span))
                    }
                    _ => (String::new(), first_span),
                };
                return Ok(StepDuration { value: None, text: cell, span, then_next_workday: None, shares: Vec::new() });
            }
        }
        let parsed = expect_duration(cursor)?;
        self.diagnostics.extend(parsed.warnings);
        // `waktu 1 jam, lalu hari_berikutnya 1 hari`: a second part on the next working day.
        let mut then_next_workday = None;
        let (mut value, mut text, mut span) = (parsed.value, parsed.text, parsed.span);
        // `waktu 10 menit -> 10 menit -> 1 jam`: each desk's share of a hand-off chain.
        let mut shares = Vec::new();
        while let Some(arrow) = cursor.peek().filter(|t| t.kind == TokenKind::Arrow) {
            cursor.next();
            if shares.is_empty() {
                shares.push(value);
            }
            let share = expect_duration(cursor)?;
            self.diagnostics.extend(share.warnings);
            shares.push(share.value);
            value = value.checked_add(share.value).ok_or_else(|| {
                Diagnostic::new(
                    Code::InvalidValue,
                    t!("lama waktu ini terlalu besar", "this duration is too large"),
                    share.span,
                    t!("terlalu besar", "too large"),
                )
            })?;
            span = span.to(share.span);
            text = format!("{text} {} {}", arrow.text, share.text);
        }
        if !shares.is_empty() && cursor.peek().is_some_and(|t| t.text == ",") {
            return Err(Diagnostic::new(
                Code::InvalidValue,
                t!(
                    "bagian waktu tiap meja tidak bisa digabung dengan `lalu hari_berikutnya`",
                    "a time shared over the desks cannot be combined with `then next_workday`"
                ),
                cursor.here(),
                t!("di sini", "here"),
            )
            .with_help(t!(
                "tulis bagian tiap meja saja, atau pecah baris menjadi beberapa langkah",
                "write each desk's share only, or split the row into steps"
            )));
        }
        if cursor.peek().is_some_and(|t| t.text == ",") {
            cursor.next();
            let then = cursor.peek().map(|t| t.text.clone()).unwrap_or_default();
            cursor.expect_kw(Kw::Then, &t!("`lalu`", "`then`"))?;
            let next_day = cursor.peek().map(|t| t.text.replace('_', " ")).unwrap_or_default();
            cursor.expect_kw(Kw::NextWorkday, &t!("`hari_berikutnya`", "`next_workday`"))?;
            let second = expect_duration(cursor)?;
            self.diagnostics.extend(second.warnings);
            then_next_workday = Some((value, second.value));
            value += second.value;
            span = span.to(second.span);
            text = format!("{text}, {then} {next_day} {}", second.text);
        }
        Ok(StepDuration { value: Some(value), text, span, then_next_workday, shares })
    }

    /// Documents given by a step (or one of its outcomes) exist from then on.
    fn declare_outputs(&mut self, outputs: &[ArtifactUse]) {
        for output in outputs {
            if !self.artifact_names.contains(output.artifact.as_str()) {
                self.artifact_names.insert(output.artifact.name.clone());
                self.draft.artifacts.push(Artifact {
                    id: output.artifact.clone(),
                    label: output.text.clone(),
                    external: false,
                });
            }
        }
    }

    fn step_line(&mut self, kw: Kw, line: &Item, cursor: &mut Cursor<'_>, step: &mut Step) -> Result<(), Diagnostic> {
        match kw {
            Kw::Activity => step.activity = cursor.expect_string(&what_text())?,
            Kw::Notes => step.notes = Some(cursor.expect_string(&what_text())?),
            Kw::By => step.performers = Some(expect_performers(cursor)?),
            Kw::Needs => step.inputs.extend(expect_artifact_list(cursor)?),
            Kw::Gives => {
                let outputs = expect_artifact_list(cursor)?;
                self.declare_outputs(&outputs);
                step.outputs.extend(outputs);
            }
            Kw::Takes => {
                let duration = self.step_duration(cursor)?;
                if cursor.eat_kw(Kw::For) {
                    step.variant_durations.push((expect_variant_list(cursor)?, duration));
                } else {
                    step.duration = Some(duration);
                }
            }
            Kw::For => step.variants = expect_variant_list(cursor)?,
            Kw::If => step.condition = Some(expect_condition(cursor)?),
            Kw::Starts => {
                cursor.expect_kw(Kw::NextWorkday, &t!("`hari_berikutnya`", "`next_workday`"))?;
                step.starts_next_workday = true;
            }
            // `dilayani`: the applicant is served once this step is done; the rows after it
            // (archiving, the register book) are the office's own.
            Kw::Served => step.serves = true,
            Kw::CompletionDate => {
                // `tanggal_selesai [DURATION]`: the applicant is told, when this step is done, the
                // date the permit will be ready; without a duration, the SOP's own promise.
                let span = line.head_span();
                let duration = if cursor.peek().is_some_and(|t| t.kind == TokenKind::Number) {
                    let parsed = expect_duration(cursor)?;
                    self.diagnostics.extend(parsed.warnings);
                    Some(parsed.value)
                } else {
                    None
                };
                step.completion_date = Some(crate::model::CompletionDate { duration, span });
            }
            Kw::Call => {
                let token = cursor.expect_kind(
                    TokenKind::String,
                    &t!(
                        "berkas SOP dalam tanda kutip, seperti \"rekomendasi.sop\"",
                        "an SOP file in double quotes, such as \"recommendation.sop\""
                    ),
                )?;
                step.call = Some(Call {
                    path: token.string_value(),
                    sop: None,
                    ends: Vec::new(),
                    promise: None,
                    span: token.span,
                });
            }
            Kw::Next => {
                cursor.eat_kw(Kw::To);
                let target = expect_target(cursor)?;
                let condition = if cursor.eat_kw(Kw::If) { Some(expect_condition(cursor)?) } else { None };
                step.routes.push(Route { target, condition, span: line.head_span() });
            }
            Kw::Overdue => {
                let start = cursor.here();
                let action = if cursor.eat_kw(Kw::Escalate) {
                    cursor.eat_kw(Kw::To);
                    let actor = cursor.expect_name(&t!("id pelaksana", "an actor id"))?;
                    DeadlineAction::Escalate { actor: Name::new(&actor.text, actor.span), span: start.to(actor.span) }
                } else if cursor.eat_kw(Kw::Notify) {
                    let actor = cursor.expect_name(&t!("id pelaksana", "an actor id"))?;
                    DeadlineAction::Notify { actor: Name::new(&actor.text, actor.span), span: start.to(actor.span) }
                } else if cursor.eat_kw(Kw::Next) {
                    cursor.eat_kw(Kw::To);
                    let target = expect_target(cursor)?;
                    DeadlineAction::Route { target, span: line.head_span() }
                } else {
                    return Err(cursor.expected(&t!(
                        "`eskalasi ke PELAKSANA`, `beritahu PELAKSANA` atau `lanjut ke LANGKAH`",
                        "`escalate to ACTOR`, `notify ACTOR` or `next STEP`"
                    )));
                };
                step.deadline_actions.push(action);
            }
            Kw::Hold => {
                // `penangguhan maks 14 hari -> gugur`: the longest the task may stand on hold,
                // and where the case goes when the hold lasts longer.
                cursor.expect_kw(Kw::Max, &t!("`maks` lalu lama paling lama", "`max` and the longest hold"))?;
                let parsed = expect_duration(cursor)?;
                self.diagnostics.extend(parsed.warnings);
                if parsed.value.is_zero() {
                    return Err(Diagnostic::new(
                        Code::InvalidValue,
                        t!("lama penangguhan paling lama harus lebih dari nol", "the longest hold must be more than zero"),
                        parsed.span,
                        t!("nol", "zero"),
                    )
                    .with_help(t!(
                        "tulis batasnya seperti di SOP, misalnya `penangguhan maks 14 hari -> gugur`, atau hapus baris ini",
                        "write the limit the SOP states, for example `hold max 14 workdays -> lapsed`, or remove the line"
                    )));
                }
                cursor.expect_punct(
                    "->",
                    &t!("`->` lalu tujuan bila melewati batas", "`->` and where the case goes past the limit"),
                )?;
                let target = expect_target(cursor)?;
                step.hold = Some(crate::model::Hold { max: parsed.value, target, span: line.head_span() });
            }
            Kw::Decide => {
                let record = if cursor.eat_kw(Kw::Record) {
                    let field = cursor
                        .expect_name(&t!("id data tempat hasilnya dicatat", "the field to record the outcome in"))?;
                    Some(Name::new(&field.text, field.span))
                } else {
                    None
                };
                cursor.expect_end()?;
                let mut decision = Decision { record, outcomes: Vec::new(), span: line.head_span() };
                if let Some(block) = self.block_of(line, t!("`keputusan`", "`decide`")) {
                    for outcome_line in &block.items {
                        if outcome_line.broken {
                            continue;
                        }
                        self.no_block(outcome_line);
                        let mut cursor = Cursor::new(&outcome_line.tokens, outcome_line.span);
                        match expect_outcome(&mut cursor, outcome_line.head_span(), &mut self.diagnostics).and_then(
                            |o| {
                                cursor.expect_end()?;
                                Ok(o)
                            },
                        ) {
                            Ok(outcome) => {
                                self.declare_outputs(&outcome.outputs);
                                decision.outcomes.push(outcome)
                            }
                            Err(d) => self.diagnostics.push(d),
                        }
                    }
                }
                step.decision = Some(decision);
                return Ok(());
            }
            _ => {}
        }
        cursor.expect_end()
    }
}

/// What is wrong with a registration number pattern, as a diagnostic on its text.
fn registration_diagnostic(error: PatternError, span: Span) -> Diagnostic {
    let parts = "`{nomor}`, `{nomor:4}`, `{bulan}`, `{bulan:romawi}`, `{tahun}`, `{tahun:2}`, `{tanggal}`";
    let parts_en = "`{number}`, `{number:4}`, `{month}`, `{month:roman}`, `{year}`, `{year:2}`, `{day}`";
    match error {
        PatternError::UnknownPart(part) => Diagnostic::new(
            Code::RegistrationUnknownPart,
            t!(
                "bagian `{{{part}}}` tidak dikenal dalam nomor pendaftaran",
                "unknown part `{{{part}}}` in the registration number"
            ),
            span,
            t!("dalam format ini", "in this format"),
        )
        .with_help(t!(
            "bagian yang dikenal: {parts} (lebar nomor 1 sampai 9)",
            "the parts alur knows: {parts_en} (a width of 1 to 9)"
        )),
        PatternError::RunningNumbers(n) => Diagnostic::new(
            Code::RegistrationRunningNumber,
            t!(
                "nomor pendaftaran harus memuat tepat satu `{{nomor}}`, di sini {n}",
                "a registration number needs exactly one `{{number}}`, this one has {n}"
            ),
            span,
            t!("nomor urut", "the running number"),
        )
        .with_help(t!(
            "tulis satu `{{nomor:4}}` di tempat nomor urut, mis. \"503/{{nomor:4}}/DPMPTSP/{{tahun}}\"",
            "write one `{{number:4}}` where the running number goes, e.g. \"503/{{number:4}}/DPMPTSP/{{year}}\""
        )),
        PatternError::Brace => Diagnostic::new(
            Code::RegistrationBrace,
            t!(
                "`{{` atau `}}` tanpa pasangan dalam nomor pendaftaran",
                "an unmatched `{{` or `}}` in the registration number"
            ),
            span,
            t!("di sini", "here"),
        )
        .with_help(t!("setiap bagian ditulis `{{nama}}`; {parts}", "every part is written `{{name}}`; {parts_en}")),
        PatternError::Shape => Diagnostic::new(
            Code::RegistrationShape,
            t!(
                "nomor pendaftaran kosong, lebih dari {MAX_PATTERN_CHARS} karakter, atau lebih dari satu baris",
                "the registration number is empty, longer than {MAX_PATTERN_CHARS} characters, or spans lines"
            ),
            span,
            t!("format ini", "this format"),
        )
        .with_help(t!(
            "nomor dicetak pada satu baris tanda terima",
            "the number is printed on one line of the receipt"
        )),
    }
}

const HEADER_KEYWORDS: &[Kw] = &[
    Kw::Agency,
    Kw::Version,
    Kw::Number,
    Kw::Created,
    Kw::Revised,
    Kw::Effective,
    Kw::ApprovedBy,
    Kw::LegalBasis,
    Kw::Related,
    Kw::Warning,
    Kw::Qualification,
    Kw::Equipment,
    Kw::Records,
    Kw::Requirements,
    Kw::Fee,
    Kw::Product,
    Kw::Complaints,
    Kw::Facilities,
    Kw::Supervision,
    Kw::Staffing,
    Kw::Guarantee,
    Kw::Safety,
    Kw::Evaluation,
    Kw::Identity,
    Kw::RegistrationNumber,
    Kw::DeskContact,
    Kw::Calendar,
    Kw::Total,
    Kw::ServiceStandard,
];

/// What may stand in an `sop` block besides the header settings.
const SOP_BLOCKS: &[Kw] =
    &[Kw::Actors, Kw::Documents, Kw::Fields, Kw::Ends, Kw::Variants, Kw::Step, Kw::Parallel, Kw::Alternatives, Kw::Use];

/// The settings a step may have only once.
const SINGLE_STEP_KEYWORDS: [Kw; 11] = [
    Kw::Activity,
    Kw::Takes,
    Kw::Notes,
    Kw::Decide,
    Kw::If,
    Kw::Call,
    Kw::By,
    Kw::CompletionDate,
    Kw::Served,
    Kw::Hold,
    Kw::For,
];

const BODY_KEYWORDS: &[Kw] = &[Kw::Step, Kw::Parallel, Kw::Alternatives, Kw::Branch, Kw::Use];

const STEP_KEYWORDS: &[Kw] = &[
    Kw::Activity,
    Kw::By,
    Kw::Needs,
    Kw::Takes,
    Kw::Gives,
    Kw::Notes,
    Kw::Decide,
    Kw::Next,
    Kw::If,
    Kw::Starts,
    Kw::Call,
    Kw::Overdue,
    Kw::CompletionDate,
    Kw::Served,
    Kw::For,
    Kw::Hold,
];

/// Whether a text is a step number as the language reads it: digits as the grammar's `number`
/// reads them (`1`, `4.1`, `7a`, `3.1.a`), or a word that reads as one ([`printed_step_number`]).
/// The importer asks the same question of a table's No column.
pub fn is_step_number(text: &str) -> bool {
    let digit_led = text.starts_with(|c: char| c.is_ascii_digit()) && {
        let mut parts = text.split('.').peekable();
        let mut ok = true;
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let digits = part.chars().take_while(char::is_ascii_digit).count();
            let rest = &part[digits..];
            let letter = rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase());
            ok &= match (digits, rest.is_empty()) {
                (d, true) => d > 0,
                (0, false) => letter,
                (_, false) => letter && last,
            };
        }
        ok
    };
    digit_led || printed_step_number(text)
}

/// Whether a word reads as a printed step number: one or two letters with digits after them
/// (`a`, `b2`, `aa`), or a Roman numeral (`iv`, `XII`).
fn printed_step_number(word: &str) -> bool {
    let letters = word.chars().take_while(char::is_ascii_alphabetic).count();
    let rest = &word[letters..];
    let lettered = (1..=2).contains(&letters) && rest.chars().all(|c| c.is_ascii_digit()) && rest.len() <= 3;
    let upper = word.to_ascii_uppercase();
    let roman = !upper.is_empty()
        && upper.len() <= 8
        && upper.chars().all(|c| matches!(c, 'I' | 'V' | 'X' | 'L' | 'C' | 'D' | 'M'))
        && (word == upper || word == word.to_ascii_lowercase());
    lettered || roman
}

fn leading_integer(text: &str) -> Option<i64> {
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Shifts a printed step number by `offset` (for a fragment placed at another number).
fn renumbered(text: &str, offset: i64) -> String {
    if offset == 0 {
        return text.to_string();
    }
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<i64>() {
        Ok(n) => format!("{}{}", n + offset, &text[digits.len()..]),
        Err(_) => text.to_string(),
    }
}

fn expect_date(cursor: &mut Cursor<'_>) -> Result<NaiveDate, Diagnostic> {
    let token =
        cursor.expect_kind(TokenKind::Date, &t!("tanggal seperti `2026-01-31`", "a date such as `2026-01-31`"))?;
    NaiveDate::parse_from_str(&token.text, "%Y-%m-%d").map_err(|_| {
        let text = &token.text;
        Diagnostic::new(
            Code::InvalidValue,
            t!("`{text}` bukan tanggal yang ada", "`{text}` is not a real date"),
            token.span,
            t!("tanggal tidak valid", "invalid date"),
        )
        .with_help(t!(
            "tulis tahun-bulan-tanggal, misalnya `2026-01-31`",
            "write year-month-day, for example `2026-01-31`"
        ))
    })
}

/// `untuk baru, perpanjangan`: the variants a line is of (after `untuk`).
fn expect_variant_list(cursor: &mut Cursor<'_>) -> Result<Vec<Name>, Diagnostic> {
    let what = t!("id varian seperti `perpanjangan`", "a variant id such as `renewal`");
    let mut out = vec![cursor.expect_name(&what).map(|t| Name::new(&t.text, t.span))?];
    while cursor.eat_punct(",").is_some() {
        out.push(cursor.expect_name(&what).map(|t| Name::new(&t.text, t.span))?);
    }
    Ok(out)
}

fn expect_step_name(cursor: &mut Cursor<'_>) -> Result<Name, Diagnostic> {
    let token = cursor.expect_name(&t!("id langkah", "a step id"))?;
    Ok(Name::new(&token.text, token.span))
}

fn expect_performers(cursor: &mut Cursor<'_>) -> Result<Performers, Diagnostic> {
    let what = t!("id pelaksana seperti `front_office`", "an actor id such as `front_office`");
    let first = cursor.expect_name(&what)?;
    let mut performers = Performers { actors: vec![Name::new(&first.text, first.span)], mode: PerformerMode::Single };
    loop {
        let joined_at = cursor.here();
        let mode = if cursor.eat_kw(Kw::Or) {
            PerformerMode::Either
        } else if cursor.eat_kw(Kw::And) {
            PerformerMode::Jointly
        } else if cursor.peek().is_some_and(|t| t.kind == TokenKind::Arrow) {
            // `kabid -> kasi -> back_office`: the desks of a hand-off chain, in order.
            cursor.next();
            PerformerMode::Chain
        } else {
            break;
        };
        if performers.mode != PerformerMode::Single && performers.mode != mode {
            let chain = mode == PerformerMode::Chain || performers.mode == PerformerMode::Chain;
            let (message, help) = if chain {
                (
                    t!(
                        "`->` (satu demi satu) tidak boleh dicampur dengan `atau` atau `dan`",
                        "`->` (one after the other) cannot be mixed with `or` or `and`"
                    ),
                    t!(
                        "tulis satu pelaksana per meja dalam rantai, atau pecah menjadi beberapa langkah",
                        "write one actor per desk in the chain, or split it into steps"
                    ),
                )
            } else {
                (
                    t!("`atau` dan `dan` tidak boleh dicampur", "`or` and `and` cannot be mixed"),
                    t!("pecah menjadi dua langkah", "split it into two steps"),
                )
            };
            return Err(Diagnostic::new(Code::InvalidValue, message, joined_at, t!("campuran di sini", "mixed here"))
                .with_help(help));
        }
        performers.mode = mode;
        let next = cursor.expect_name(&what)?;
        performers.actors.push(Name::new(&next.text, next.span));
    }
    Ok(performers)
}

/// `berkas_diperiksa "Berkas yang sdh diperiksa", bapl`
fn expect_artifact_list(cursor: &mut Cursor<'_>) -> Result<Vec<ArtifactUse>, Diagnostic> {
    let mut out = Vec::new();
    loop {
        let id = cursor
            .expect_name(&t!("id dokumen seperti `data_elektronik`", "a document id such as `application_data`"))?;
        let text = match cursor.peek() {
            Some(t) if t.kind == TokenKind::String => {
                cursor.next();
                t.string_value()
            }
            _ => String::new(),
        };
        out.push(ArtifactUse { artifact: Name::new(&id.text, id.span), text });
        if cursor.eat_punct(",").is_none() {
            return Ok(out);
        }
    }
}

fn expect_target(cursor: &mut Cursor<'_>) -> Result<Target, Diagnostic> {
    if cursor.eat_kw(Kw::Next) {
        return Ok(Target::Next);
    }
    let token = cursor.expect_name(&t!("id langkah atau akhir", "a step or end id"))?;
    Ok(Target::Named(Name::new(&token.text, token.span)))
}

/// `diterima -> terima_berkas` or `ditolak -> kembali ke ajukan, jam berhenti, maks 3 kali`.
/// A problem that leaves the outcome usable (a zero round limit) goes to `problems`, so the
/// outcome is kept and the decision is not reported as missing it.
fn expect_outcome(cursor: &mut Cursor<'_>, span: Span, problems: &mut Vec<Diagnostic>) -> Result<Outcome, Diagnostic> {
    let name =
        cursor.expect_name(&t!("nama hasil keputusan seperti `diterima`", "an outcome name such as `accepted`"))?;
    cursor.expect_punct("->", &t!("`->` lalu tujuannya", "`->` and then where it goes"))?;
    let mut rework = None;
    let mut outputs = Vec::new();
    let target = if cursor.eat_kw(Kw::Return) {
        cursor.expect_kw(Kw::To, &t!("`ke`", "`to`"))?;
        let target = expect_target(cursor)?;
        let mut policy = Rework { clock: ClockPolicy::Pause, max_rounds: None };
        while cursor.eat_punct(",").is_some() {
            if cursor.eat_kw(Kw::Clock) {
                policy.clock = if cursor.eat_kw(Kw::Pauses) {
                    ClockPolicy::Pause
                } else if cursor.eat_kw(Kw::Restarts) {
                    ClockPolicy::Restart
                } else if cursor.eat_kw(Kw::Runs) {
                    ClockPolicy::Run
                } else {
                    return Err(
                        cursor.expected(&t!("`berhenti`, `diulang` atau `berjalan`", "`pauses`, `restarts` or `runs`"))
                    );
                };
            } else if cursor.eat_kw(Kw::Gives) {
                // The documents given with this outcome: always the last option of the line.
                outputs = expect_artifact_list(cursor)?;
                break;
            } else if cursor.eat_kw(Kw::Max) {
                let (n, n_span) = cursor.expect_number(&t!("jumlah putaran", "a number of rounds"))?;
                cursor.eat_kw(Kw::Rounds);
                if n == 0 {
                    problems.push(
                        Diagnostic::new(
                            Code::InvalidValue,
                            t!("batas putaran harus paling sedikit 1", "the round limit must be at least 1"),
                            n_span,
                            t!("nol putaran", "zero rounds"),
                        )
                        .with_help(t!(
                            "tulis `maks 1 kali` atau lebih, atau hapus batasnya",
                            "write `max 1 rounds` or more, or remove the limit"
                        )),
                    );
                } else {
                    policy.max_rounds = Some(n);
                }
            } else {
                return Err(cursor.expected(&t!(
                    "`jam berhenti|diulang|berjalan`, `maks N kali` atau `output DOKUMEN`",
                    "`clock pauses|restarts|runs`, `max N rounds` or `gives DOCUMENT`"
                )));
            }
        }
        rework = Some(policy);
        target
    } else {
        let target = expect_target(cursor)?;
        if cursor.eat_punct(",").is_some() {
            cursor.expect_kw(Kw::Gives, &t!("`output DOKUMEN`", "`gives DOCUMENT`"))?;
            outputs = expect_artifact_list(cursor)?;
        }
        target
    };
    Ok(Outcome { name: Name::new(&name.text, name.span), target, rework, outputs, span })
}
