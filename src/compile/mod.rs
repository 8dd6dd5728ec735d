//! Stage 2: syntax tree to compiled model and state graph, then the checks of stage 3.
//!
//! Entry points: [`compile_path`] for a file on disk, [`compile_source`] for text in memory.
//! Both return every diagnostic of the file (and of the files it imports) in one go.

pub mod calendar;
pub mod chain;
mod cursor;
mod expr;
pub mod folders;
pub(crate) mod graph;
pub mod keyword;
mod lower;
mod recover;
mod variant;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::check;
use crate::diagnostic::{self, did_you_mean, Code, Diagnostic, Text};
use crate::model::{End, ExprKind, FieldType, Name, Sop, Value};
use crate::syntax::{self, FileId, Item, SourceMap, Span};
use crate::t;
use keyword::Kw;
pub use lower::Fragment;
pub use variant::{flows as variant_flows, for_variant, unknown_variant};

/// Reads the files an SOP imports (`impor`) and calls (`panggil`).
pub trait Loader {
    /// Loads `path` as written in the file `from` (relative paths are relative to it). The
    /// error says why, in both languages, and never quotes the file.
    fn load(&self, from: Option<&Path>, path: &str) -> Result<(PathBuf, Vec<u8>), Text>;
}

/// Loads from the file system, only files inside one folder (the SOP folder): a path that
/// leaves it, by `..`, an absolute path or a symbolic link, is refused without being read, and
/// so is anything but a regular file (`/dev/zero`) or a file over the parser's size limit.
pub struct FsLoader {
    /// The folder as the user named it, for messages.
    root: PathBuf,
    /// The same, with every symbolic link resolved (`None` when it does not exist: then
    /// nothing can be loaded).
    real_root: Option<PathBuf>,
}

impl FsLoader {
    /// Loads files inside `root` and its subfolders.
    pub fn within(root: &Path) -> FsLoader {
        let root = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        FsLoader { root: root.to_path_buf(), real_root: std::fs::canonicalize(root).ok() }
    }
}

impl Loader for FsLoader {
    fn load(&self, from: Option<&Path>, path: &str) -> Result<(PathBuf, Vec<u8>), Text> {
        let base = from.and_then(Path::parent).unwrap_or(Path::new(""));
        let full = base.join(path);
        let shown = full.display().to_string();
        let root = self.root.display().to_string();
        let outside = || {
            t!(
                "`{shown}` berada di luar folder SOP `{root}`: `impor` dan `panggil` hanya membaca berkas di dalamnya",
                "`{shown}` is outside the SOP folder `{root}`: `import` and `call` read only files inside it"
            )
        };
        let Some(real_root) = &self.real_root else { return Err(outside()) };
        let real = match std::fs::canonicalize(&full) {
            Ok(real) => real,
            // Whether a file outside the folder exists is not said either.
            Err(_) if !lexically_within(&full, real_root) => return Err(outside()),
            Err(error) => return Err(io_text(&shown, &error)),
        };
        if !real.starts_with(real_root) {
            return Err(outside());
        }
        read_source(&real).map(|bytes| (full, bytes)).map_err(|why| why.about(&shown))
    }
}

/// Whether `path`, with `.` and `..` taken as written and relative to the working folder,
/// stays inside `root` (for a path that does not exist, so cannot be resolved).
fn lexically_within(path: &Path, root: &Path) -> bool {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(dir) => dir.join(path),
            Err(_) => return false,
        }
    };
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root)
}

/// Why a source file was not read.
pub enum ReadError {
    /// Larger than the parser reads: its size in bytes (at least).
    TooLarge(u64),
    /// A device, a pipe, a folder: nothing alur reads.
    NotAFile,
    Io(std::io::Error),
}

impl ReadError {
    /// What went wrong reading the file `shown`, in both languages.
    pub fn about(&self, shown: &str) -> Text {
        match self {
            ReadError::TooLarge(bytes) => {
                let mib = bytes.div_ceil(1024 * 1024);
                let limit = syntax::MAX_FILE_BYTES / (1024 * 1024);
                t!(
                    "`{shown}` berukuran {mib} MiB, melebihi batas {limit} MiB",
                    "`{shown}` is {mib} MiB, over the {limit} MiB limit"
                )
            }
            ReadError::NotAFile => t!("`{shown}` bukan berkas biasa", "`{shown}` is not a regular file"),
            ReadError::Io(error) => io_text(shown, error),
        }
    }
}

fn io_text(shown: &str, error: &std::io::Error) -> Text {
    match error.kind() {
        std::io::ErrorKind::NotFound => t!("`{shown}` tidak ada", "`{shown}` does not exist"),
        std::io::ErrorKind::PermissionDenied => {
            t!("`{shown}` tidak boleh dibaca (izin ditolak)", "`{shown}` may not be read (permission denied)")
        }
        _ => t!("`{shown}` tidak dapat dibaca: {error}", "`{shown}` cannot be read: {error}"),
    }
}

/// Reads a source file: a regular file only (a symbolic link to one is followed), and at most
/// one byte more than the parser accepts, so `/dev/zero` or a huge file costs nothing.
pub fn read_source(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let metadata = file.metadata().map_err(ReadError::Io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotAFile);
    }
    let limit = syntax::MAX_FILE_BYTES as u64;
    if metadata.len() > limit {
        return Err(ReadError::TooLarge(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        // It grew since its size was read (or the size lied, as in /proc).
        return Err(ReadError::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Loads nothing: for sources compiled from memory with no file around them.
pub struct NoLoader;

impl Loader for NoLoader {
    fn load(&self, _from: Option<&Path>, path: &str) -> Result<(PathBuf, Vec<u8>), Text> {
        Err(t!("`{path}`: berkas tidak dapat dimuat di sini", "`{path}`: files cannot be loaded here"))
    }
}

/// E101 on an SOP whose id another file of the folder defines already (`other`, the file that
/// keeps it): two files with one id would take turns being the SOP at every reload.
pub fn duplicate_sop(sop: &Sop, other: &str) -> Diagnostic {
    let id = &sop.id.name;
    Diagnostic::new(
        Code::DuplicateId,
        t!("SOP `{id}` sudah didefinisikan di `{other}`", "SOP `{id}` is already defined in `{other}`"),
        sop.id.span,
        t!("id yang sama dengan berkas lain", "the same id as another file"),
    )
    .with_help(t!(
        "setiap SOP di folder memerlukan id sendiri: ganti id ini, atau hapus salah satu berkas",
        "every SOP of the folder needs an id of its own: change this one, or remove one of the files"
    ))
    .with_note(t!("`{other}` tetap menjadi SOP `{id}`", "`{other}` remains SOP `{id}`"))
}

/// The result of compiling one file.
#[derive(Debug)]
pub struct Compiled {
    pub sources: SourceMap,
    pub file: FileId,
    pub sop: Option<Sop>,
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the file defines calendars (checked by the calendar loader, not here).
    pub has_calendars: bool,
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

// Options come from outside the file; they belong to the model, so the checks read them
// without depending on the compiler that runs them.
pub use crate::model::Options;
pub use cursor::UNIT_WORDS;
pub use lower::is_step_number;

/// How deep `panggil` may nest (a procedure calling itself is caught before this).
const MAX_CALL_DEPTH: usize = 4;
const MAX_IMPORT_DEPTH: usize = 8;

/// Compiles a file on disk; its imports and calls are read from its SOP folder
/// ([`folders::sop_root`]).
pub fn compile_path(path: &Path, options: &Options) -> Compiled {
    compile_path_within(path, &folders::sop_root(path), options)
}

/// Compiles a file on disk whose imports and calls are read only from inside `root`.
pub fn compile_path_within(path: &Path, root: &Path, options: &Options) -> Compiled {
    let mut sources = SourceMap::new();
    let name = path.display().to_string();
    match read_source(path) {
        Ok(bytes) => compile_bytes(sources, &name, Some(path), &bytes, &FsLoader::within(root), options),
        Err(error) => {
            let file = sources.add(&name, Some(path), "");
            let diagnostic = match error {
                ReadError::TooLarge(bytes) => syntax::too_large(file, bytes),
                error => {
                    let Text { id, en } = error.about(&name);
                    Diagnostic::new(
                        Code::ImportFailed,
                        t!("berkas tidak dapat dibaca: {id}", "the file cannot be read: {en}"),
                        Span::new(file, 0, 0),
                        t!("di sini", "here"),
                    )
                }
            };
            Compiled { sources, file, sop: None, diagnostics: vec![diagnostic], has_calendars: false }
        }
    }
}

pub fn compile_source(name: &str, text: &str, options: &Options) -> Compiled {
    compile_bytes(SourceMap::new(), name, None, text.as_bytes(), &NoLoader, options)
}

pub fn compile_bytes(
    mut sources: SourceMap,
    name: &str,
    path: Option<&Path>,
    bytes: &[u8],
    loader: &dyn Loader,
    options: &Options,
) -> Compiled {
    let text = source_text(bytes);
    let file = sources.add(name, path, text);
    if let Err(d) = syntax::parse_bytes(file, bytes) {
        return Compiled { sources, file, sop: None, diagnostics: vec![d], has_calendars: false };
    }
    let mut session = Session { sources, loader, calls: Vec::new(), calendar_items: 0 };
    let (sop, mut diagnostics) = session.compile(file, options);
    diagnostic::sort(&mut diagnostics);
    let has_calendars = session.calendar_items > 0;
    Compiled { sources: session.sources, file, sop, diagnostics, has_calendars }
}

struct Session<'a> {
    sources: SourceMap,
    loader: &'a dyn Loader,
    /// Files on the current `panggil` chain, to catch a procedure calling itself.
    calls: Vec<PathBuf>,
    /// `kalender` blocks seen at the top of the compiled file.
    calendar_items: usize,
}

impl Session<'_> {
    fn compile(&mut self, file: FileId, options: &Options) -> (Option<Sop>, Vec<Diagnostic>) {
        let (mut cst, mut diagnostics) = syntax::parse(file, self.sources.text(file));
        recover::unclosed_steps(&mut cst, &mut diagnostics);
        recover::misplaced_closings(&cst, self.sources.text(file), &mut diagnostics);
        let mut fragments = HashMap::new();
        let mut sop_items: Vec<&Item> = Vec::new();
        self.top_level(file, &cst.items, &mut fragments, &mut sop_items, &mut diagnostics, 0);
        let Some(sop_item) = sop_items.first() else {
            if fragments.is_empty() && self.calendar_items == 0 && !diagnostics.iter().any(Diagnostic::is_error) {
                let span = Span::new(file, 0, self.sources.text(file).len().min(1));
                diagnostics.push(
                    Diagnostic::new(
                        Code::NoSop,
                        t!("berkas ini tidak mendefinisikan `sop`", "this file defines no `sop`"),
                        span,
                        t!("`sop` diharapkan di sini", "`sop` expected here"),
                    )
                    .with_help(t!(
                        "mulai dengan `sop id_sop \"Judul SOP\" {{ ... }}`",
                        "start with `sop sop_id \"SOP title\" {{ ... }}`"
                    )),
                );
            }
            return (None, diagnostics);
        };
        for extra in sop_items.iter().skip(1) {
            diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateSetting,
                    t!("satu berkas hanya boleh memuat satu `sop`", "a file may hold only one `sop`"),
                    extra.head_span(),
                    t!("`sop` kedua", "second `sop`"),
                )
                .with_label(sop_item.head_span(), t!("`sop` pertama", "first `sop`"))
                .with_help(t!("pindahkan SOP ini ke berkasnya sendiri", "move this SOP to a file of its own")),
            );
        }
        // A fragment may live in a file that could not be read: `pakai` cannot be judged then.
        let imports_failed =
            diagnostics.iter().any(|d| matches!(d.code, Code::ImportFailed | Code::InputNotUtf8 | Code::InputTooLarge));
        let mut lowerer = lower::Lowerer::new(&fragments);
        lowerer.imports_failed = imports_failed;
        lowerer.sop(sop_item);
        let (draft, lowered) = lowerer.finish();
        // The syntax tree is not needed past lowering: freed before the checks.
        drop(cst);
        diagnostics.extend(lowered);
        let Some(id) = draft.id.clone() else { return (None, diagnostics) };
        let language = draft.language();
        let (actor_reported, duration_reported) = (draft.actor_reported.clone(), draft.duration_reported.clone());
        let mut sop = Sop {
            id,
            title: draft.title,
            language,
            header: draft.header,
            actors: draft.actors,
            artifacts: draft.artifacts,
            fields: draft.fields,
            ends: draft.ends,
            steps: draft.steps,
            body: draft.body,
            flow: Default::default(),
            span: draft.span,
            variants: draft.variants,
            variant: None,
            left_out: Vec::new(),
            left_out_actors: Vec::new(),
        };
        if sop.ends.is_empty() {
            let (name, label) = match language {
                crate::diagnostic::Lang::Id => ("selesai", "Selesai"),
                crate::diagnostic::Lang::En => ("done", "Done"),
            };
            sop.ends.push(End { id: Name::new(name, sop.span), label: label.to_string() });
        }
        self.resolve_calls(file, &mut sop, options, &mut diagnostics);
        resolve_choice_words(&mut sop);
        assume_unstated_outcomes(&mut sop, &mut diagnostics);
        chain::expand(&mut sop, &mut diagnostics);
        sop.flow = graph::build(&sop);
        let checked = if variant::written(&sop) { variant::check(&sop, options) } else { check::check(&sop, options) };
        let reported_at =
            |spans: &[Span], d: &Diagnostic| d.primary_span().is_some_and(|p| spans.iter().any(|s| s.same_place(&p)));
        let mut checked: Vec<Diagnostic> = checked
            .into_iter()
            .filter(|d| match d.code {
                // The step's `oleh` or `waktu` line is written but already reported as wrong.
                Code::MissingActor => !reported_at(&actor_reported, d),
                Code::MissingDuration => !reported_at(&duration_reported, d),
                _ => true,
            })
            .collect();
        self.leave_out_echoes(&mut diagnostics, &mut checked, !actor_reported.is_empty());
        diagnostics.extend(checked);
        (Some(sop), diagnostics)
    }

    /// Warnings are reported beside errors, except those that only echo an error: a document or
    /// an actor that looks unused or missing because the line naming it (or a misspelling of
    /// it) was reported as wrong, an actor that looks unused while a step's actor could not be
    /// read, or any of these while steps of a fragment or an import could not be read (the
    /// error that hides them says so in a note).
    fn leave_out_echoes(&self, diagnostics: &mut [Diagnostic], checked: &mut Vec<Diagnostic>, actor_unread: bool) {
        let echo_prone =
            |d: &Diagnostic| matches!(d.code, Code::InputNotProduced | Code::OutputUnused | Code::UnusedActor);
        if !checked.iter().any(echo_prone) {
            return;
        }
        let hidden_steps = diagnostics.iter().position(|d| {
            matches!(d.code, Code::UnknownFragment | Code::ImportFailed | Code::InputNotUtf8 | Code::InputTooLarge)
        });
        if let Some(hiding) = hidden_steps {
            let before = checked.len();
            checked.retain(|d| !echo_prone(d));
            if checked.len() < before {
                diagnostics[hiding].notes.push(t!(
                    "apakah dokumen dan pelaksana dipakai, dan apakah dokumen ada sebelum dibutuhkan, belum diperiksa: langkah-langkah yang hilang di sini mungkin memakai atau menghasilkannya",
                    "whether documents and actors are used, and documents given before they are needed, was not checked: the steps missing here may use or give them"
                ));
            }
        }
        // The words on the lines of the errors, where a name may stand that the model lacks.
        let mut troubled: Vec<&str> = Vec::new();
        for d in diagnostics.iter().chain(checked.iter()).filter(|d| d.is_error()) {
            let Some(span) = d.primary_span() else { continue };
            let Some(file) = self.sources.get(span.file) else { continue };
            let text = file.text.as_str();
            let (start, end) = (span.start as usize, span.end as usize);
            let line_start = text.get(..start).and_then(|t| t.rfind('\n')).map_or(0, |i| i + 1);
            let line_end = text.get(end..).and_then(|t| t.find('\n')).map_or(text.len(), |i| end + i);
            let line = text.get(line_start..line_end).unwrap_or("");
            troubled.extend(line.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()));
        }
        let sources = &self.sources;
        checked.retain(|d| {
            if !echo_prone(d) {
                return true;
            }
            if actor_unread && d.code == Code::UnusedActor {
                return false;
            }
            let Some(name) = d.primary_span().map(|s| sources.slice(s)) else { return true };
            !troubled.iter().any(|w| *w == name || did_you_mean(w, [name]).is_some())
        });
    }

    fn top_level<'c>(
        &mut self,
        file: FileId,
        items: &'c [Item],
        fragments: &mut HashMap<String, Fragment>,
        sops: &mut Vec<&'c Item>,
        diagnostics: &mut Vec<Diagnostic>,
        depth: usize,
    ) {
        for item in items {
            if item.broken {
                continue;
            }
            let Some(first) = item.tokens.first() else { continue };
            match Kw::of(first).map(|(k, _)| k) {
                Some(Kw::Sop) if depth == 0 => sops.push(item),
                // An imported file's own `sop` is not this file's business.
                Some(Kw::Sop) => {}
                Some(Kw::Fragment) => {
                    let Some(name) = item.tokens.get(1).filter(|t| t.kind == syntax::TokenKind::Word) else {
                        diagnostics.push(Diagnostic::new(
                            Code::Expected,
                            t!("diharapkan nama potongan", "expected a fragment name"),
                            item.head_span(),
                            t!("nama belum ditulis", "name missing"),
                        ));
                        continue;
                    };
                    let items = item.block.as_ref().map(|b| b.items.clone()).unwrap_or_default();
                    fragments
                        .entry(name.text.clone())
                        .or_insert(Fragment { name: Name::new(&name.text, name.span), items });
                }
                Some(Kw::Import) => self.import(file, item, fragments, diagnostics, depth),
                // Calendars share the syntax; `time::CalendarSet` reads and checks them.
                Some(Kw::Calendar) if depth == 0 => self.calendar_items += 1,
                Some(Kw::Calendar) => {}
                _ => {
                    let mut d = Diagnostic::new(
                        Code::UnknownKeyword,
                        {
                            let text = &first.text;
                            t!("`{text}` tidak dikenal di tingkat berkas", "`{text}` is not known at the top of a file")
                        },
                        first.span,
                        t!("diharapkan `sop`, `impor` atau `potongan`", "expected `sop`, `import` or `fragment`"),
                    );
                    if let Some(better) = keyword::suggest(&first.text, &[Kw::Sop, Kw::Import, Kw::Fragment]) {
                        d = d.with_help(t!("maksudnya `{better}`?", "did you mean `{better}`?"));
                    }
                    diagnostics.push(d);
                }
            }
        }
    }

    fn import(
        &mut self,
        file: FileId,
        item: &Item,
        fragments: &mut HashMap<String, Fragment>,
        diagnostics: &mut Vec<Diagnostic>,
        depth: usize,
    ) {
        let Some(path_token) = item.tokens.get(1).filter(|t| t.kind == syntax::TokenKind::String) else {
            diagnostics.push(Diagnostic::new(
                Code::Expected,
                t!("diharapkan nama berkas dalam tanda kutip", "expected a file name in double quotes"),
                item.head_span(),
                t!("misalnya `impor \"bersama/paraf.sop\"`", "for example `import \"shared/initials.sop\"`"),
            ));
            return;
        };
        let path = path_token.string_value();
        if depth >= MAX_IMPORT_DEPTH {
            diagnostics.push(Diagnostic::new(
                Code::ImportFailed,
                t!("impor bersarang terlalu dalam", "imports are nested too deeply"),
                path_token.span,
                t!("di sini", "here"),
            ));
            return;
        }
        let from = self.sources.get(file).and_then(|f| f.path.clone());
        match self.loader.load(from.as_deref(), &path) {
            Ok((full, bytes)) => {
                if self.sources.find_path(&full).is_some() {
                    // Already loaded (a diamond of imports, or a cycle): nothing new to read.
                    return;
                }
                let name = full.display().to_string();
                let text = source_text(&bytes);
                let imported = self.sources.add(name, Some(&full), text);
                if let Err(d) = syntax::parse_bytes(imported, &bytes) {
                    diagnostics.push(d);
                    return;
                }
                let (mut cst, mut parse_diagnostics) = syntax::parse(imported, self.sources.text(imported));
                recover::unclosed_steps(&mut cst, &mut parse_diagnostics);
                recover::misplaced_closings(&cst, self.sources.text(imported), &mut parse_diagnostics);
                diagnostics.extend(parse_diagnostics);
                let mut ignored = Vec::new();
                self.top_level(imported, &cst.items, fragments, &mut ignored, diagnostics, depth + 1);
            }
            Err(message) => diagnostics.push(
                Diagnostic::new(
                    Code::ImportFailed,
                    t!("berkas `{path}` tidak dapat dibaca", "file `{path}` cannot be read"),
                    path_token.span,
                    message,
                )
                .with_help(t!("jalur dibaca relatif terhadap berkas ini", "the path is relative to this file")),
            ),
        }
    }

    /// Loads each called procedure to learn its id and its ends (the outcomes of the call).
    fn resolve_calls(&mut self, file: FileId, sop: &mut Sop, options: &Options, diagnostics: &mut Vec<Diagnostic>) {
        let from = self.sources.get(file).and_then(|f| f.path.clone());
        for step in &mut sop.steps {
            let Some(call) = &mut step.call else { continue };
            let path = call.path.clone();
            let (full, bytes) = match self.loader.load(from.as_deref(), &path) {
                Ok(loaded) => loaded,
                Err(message) => {
                    diagnostics.push(
                        Diagnostic::new(
                            Code::ImportFailed,
                            t!("prosedur `{path}` tidak dapat dibaca", "procedure `{path}` cannot be read"),
                            call.span,
                            message,
                        )
                        .with_help(t!("jalur dibaca relatif terhadap berkas ini", "the path is relative to this file")),
                    );
                    continue;
                }
            };
            if self.calls.contains(&full) || self.calls.len() >= MAX_CALL_DEPTH || from.as_ref() == Some(&full) {
                diagnostics.push(Diagnostic::new(
                    Code::ImportFailed,
                    t!("prosedur `{path}` memanggil dirinya sendiri", "procedure `{path}` calls itself"),
                    call.span,
                    t!("panggilan berulang", "recursive call"),
                ));
                continue;
            }
            let name = full.display().to_string();
            let text = source_text(&bytes);
            let callee = self.sources.add(name, Some(&full), text);
            if let Err(d) = syntax::parse_bytes(callee, &bytes) {
                diagnostics.push(d);
                continue;
            }
            self.calls.push(full);
            let (child, child_diagnostics) = self.compile(callee, options);
            self.calls.pop();
            let errors = child_diagnostics.iter().filter(|d| d.is_error()).count();
            if errors > 0 {
                diagnostics.push(
                    Diagnostic::new(
                        Code::ImportFailed,
                        t!("prosedur `{path}` memuat {errors} kesalahan", "procedure `{path}` has {errors} error(s)"),
                        call.span,
                        t!("dipanggil di sini", "called here"),
                    )
                    .with_help(t!("jalankan `alur check` pada berkas itu", "run `alur check` on that file")),
                );
            }
            if let Some(child) = child.as_ref().filter(|c| c.needs_variant()) {
                // A child case would not know which variant it is: not supported (yet).
                let list = child.variant_list();
                diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidValue,
                        t!(
                            "prosedur `{path}` memiliki varian layanan ({list}) dan tidak dapat dipanggil",
                            "procedure `{path}` has service variants ({list}) and cannot be called"
                        ),
                        call.span,
                        t!("dipanggil di sini", "called here"),
                    )
                    .with_help(t!(
                        "panggil berkas SOP tanpa varian: pisahkan varian yang dipakai ke berkasnya sendiri",
                        "call an SOP file without variants: move the variant used into a file of its own"
                    )),
                );
                continue;
            }
            if let Some(child) = child {
                call.sop = Some(child.id.name.clone());
                call.ends = child.ends.iter().map(|e| e.id.name.clone()).collect();
                let whole = child.header.service_standards.iter().find(|s| s.from.is_none() && s.until.is_none());
                call.promise = child.header.stated_total.as_ref().map(|t| t.duration).or(whole.map(|s| s.duration));
            }
        }
    }
}

/// A bare word in a condition is a field when such a field exists, and otherwise a choice
/// value (`jenis == baru`). Decided here, once fields are known.
fn resolve_choice_words(sop: &mut Sop) {
    let fields: HashMap<String, FieldType> = sop.fields.iter().map(|f| (f.id.name.clone(), f.ty.clone())).collect();
    let fix = |expr: &mut crate::model::Expr| resolve_expr(expr, &fields);
    for step in &mut sop.steps {
        if let Some(c) = &mut step.condition {
            fix(c);
        }
        for route in &mut step.routes {
            if let Some(c) = &mut route.condition {
                fix(c);
            }
        }
    }
}

fn resolve_expr(expr: &mut crate::model::Expr, fields: &HashMap<String, FieldType>) {
    match &mut expr.kind {
        ExprKind::Compare { left, right, .. } => {
            let choice_field = |e: &crate::model::Expr| match &e.kind {
                ExprKind::Field { name } => matches!(fields.get(name), Some(FieldType::Choice(_))),
                _ => false,
            };
            let unknown_word = |e: &crate::model::Expr| match &e.kind {
                ExprKind::Field { name } => !fields.contains_key(name),
                _ => false,
            };
            if choice_field(left) && unknown_word(right) {
                to_choice(right);
            } else if choice_field(right) && unknown_word(left) {
                to_choice(left);
            }
        }
        ExprKind::And { left, right } | ExprKind::Or { left, right } => {
            resolve_expr(left, fields);
            resolve_expr(right, fields);
        }
        ExprKind::Not { inner } => resolve_expr(inner, fields),
        ExprKind::Field { .. } | ExprKind::Literal { .. } => {}
    }
}

fn to_choice(expr: &mut crate::model::Expr) {
    if let ExprKind::Field { name } = &expr.kind {
        expr.kind = ExprKind::Literal { value: Value::Choice(name.clone()) };
    }
}

/// The text of a file's bytes; invalid UTF-8 (reported by `syntax::parse_bytes`) is replaced so
/// the diagnostic can still show the file. Valid text, the common case, is validated once.
fn source_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// A decision whose SOP states one outcome only ("jika lengkap diteruskan"): the other is taken
/// to be the common practice, an outcome `lainnya` (`otherwise`) that returns the file to the
/// applicant's last step before it, with the service clock stopped; a warning says so, and
/// writing the outcome silences it. Without an applicant step before it (or with a recorded
/// outcome, whose field lists its values, or a call, whose ends are its outcomes) nothing is
/// assumed and the decision stays an error (E204).
fn assume_unstated_outcomes(sop: &mut Sop, diagnostics: &mut Vec<Diagnostic>) {
    use crate::model::{ActorKind, ClockPolicy, Outcome, Rework, Target};
    for index in 0..sop.steps.len() {
        let step = &sop.steps[index];
        let Some(decision) = step.decision.as_ref() else { continue };
        if decision.outcomes.len() != 1 || decision.record.is_some() || step.call.is_some() {
            continue;
        }
        let applicant = |s: &crate::model::Step| {
            s.actor_ids().any(|a| sop.actor(a).is_some_and(|actor| actor.kind == ActorKind::Applicant))
        };
        let Some(back) = sop.steps[..index].iter().rev().find(|s| applicant(s)).map(|s| s.id.clone()) else {
            continue;
        };
        let stated = decision.outcomes[0].name.name.clone();
        let name = match sop.language {
            crate::diagnostic::Lang::Id => "lainnya",
            crate::diagnostic::Lang::En => "otherwise",
        };
        if stated == name {
            continue;
        }
        let span = decision.span;
        let back_id = back.name.clone();
        diagnostics.push(
            Diagnostic::new(
                Code::AssumedOutcome,
                t!(
                    "keputusan ini hanya menyebut `{stated}`; hasil lain dianggap `{name} -> kembali ke {back_id}, jam berhenti`",
                    "this decision states only `{stated}`; the other outcome is taken as `{name} -> return to {back_id}, clock stops`"
                ),
                span,
                t!("hanya satu hasil tertulis", "one outcome written"),
            )
            .with_help(t!(
                "tulis hasil yang lain bila SOP menyebutnya (misalnya `tidak_lengkap -> kembali ke {back_id}`)",
                "write the other outcome where the SOP says it (for example `incomplete -> return to {back_id}`)"
            )),
        );
        let outcome = Outcome {
            name: Name::new(name, span),
            target: Target::Named(back),
            rework: Some(Rework { clock: ClockPolicy::Pause, max_rounds: None }),
            outputs: Vec::new(),
            span,
        };
        if let Some(decision) = sop.steps[index].decision.as_mut() {
            decision.outcomes.push(outcome);
        }
    }
}
