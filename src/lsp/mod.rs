//! `alur lsp`: a language server over stdio (rust-analyzer's synchronous `lsp-server`, so the
//! language part stays free of tokio). Every answer comes from the compiler and checker that
//! `alur check` runs and the formatter `alur fmt` runs: diagnostics (debounced after edits),
//! hover, definition, references, rename, completion, formatting, the steps as an outline,
//! did-you-mean fixes and each step's cumulative time as an inlay hint.

mod analysis;
mod keywords;
mod text;

pub use analysis::{Analysis, Kind, Symbol};
pub use text::LineIndex;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use lsp_types::{OneOf, Url};

use crate::compile::folders::{sop_root, Calendars};
use crate::compile::keyword::Kw;
use crate::compile::{FsLoader, NoLoader, Options, UNIT_WORDS};
use crate::diagnostic::{Diagnostic, Lang, Severity};
use crate::source::Span;
use crate::syntax;

use analysis::tr;

/// How long the server waits after the last edit before it checks the file again.
pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(120);

/// Runs the server on standard input and output until the client says `exit`.
pub fn run_stdio(lang: Lang) -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    serve(&connection, lang)?;
    drop(connection);
    threads.join().map_err(|e| e.to_string())
}

/// The server on any connection (standard streams, or memory in tests and the benchmark).
/// `initializationOptions.debounceMs` sets the wait after an edit.
pub fn serve(connection: &Connection, lang: Lang) -> Result<(), String> {
    let capabilities = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let params = connection.initialize(capabilities).map_err(|e| e.to_string())?;
    let debounce = params
        .get("initializationOptions")
        .and_then(|o| o.get("debounceMs"))
        .and_then(serde_json::Value::as_u64)
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_DEBOUNCE);
    let mut server = Server { docs: HashMap::new(), calendars: Calendars::new(None), lang, debounce };
    server.main_loop(connection)
}

pub fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(lsp::TextDocumentSyncKind::FULL)),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        completion_provider: Some(lsp::CompletionOptions::default()),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        inlay_hint_provider: Some(OneOf::Left(true)),
        ..Default::default()
    }
}

struct Document {
    text: String,
    version: i32,
    /// The analysis of `text`; stale while `due` is set.
    analysis: Option<Analysis>,
    /// When the debounced check of the latest edit is due.
    due: Option<Instant>,
}

struct Server {
    docs: HashMap<Url, Document>,
    calendars: Calendars,
    lang: Lang,
    debounce: Duration,
}

/// A request the server could not answer: the code and a message in both languages.
struct Failure(ErrorCode, String);

fn failure(code: ErrorCode, id: &str, en: &str) -> Failure {
    Failure(code, format!("{id} / {en}"))
}

impl Server {
    fn main_loop(&mut self, connection: &Connection) -> Result<(), String> {
        loop {
            let due = self.docs.values().filter_map(|d| d.due).min();
            let message = match due {
                Some(due) => match connection.receiver.recv_deadline(due) {
                    Ok(message) => Some(message),
                    Err(e) if e.is_timeout() => None,
                    Err(_) => return Ok(()),
                },
                None => match connection.receiver.recv() {
                    Ok(message) => Some(message),
                    Err(_) => return Ok(()),
                },
            };
            match message {
                None => {
                    let now = Instant::now();
                    let ready: Vec<Url> = self
                        .docs
                        .iter()
                        .filter(|(_, d)| d.due.is_some_and(|t| t <= now))
                        .map(|(u, _)| u.clone())
                        .collect();
                    for uri in ready {
                        self.analyze(connection, &uri);
                    }
                }
                Some(Message::Request(request)) => {
                    if connection.handle_shutdown(&request).map_err(|e| e.to_string())? {
                        return Ok(());
                    }
                    let id = request.id.clone();
                    let response = match self.request(connection, request) {
                        Ok(value) => Response { id, result: Some(value), error: None },
                        Err(Failure(code, message)) => Response::new_err(id, code as i32, message),
                    };
                    send(connection, Message::Response(response));
                }
                Some(Message::Notification(notification)) => {
                    if notification.method == lsp::notification::Exit::METHOD {
                        return Ok(());
                    }
                    self.notification(connection, notification);
                }
                Some(Message::Response(_)) => {}
            }
        }
    }

    fn notification(&mut self, connection: &Connection, n: Notification) {
        use lsp::notification::*;
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params) else { return };
                let doc = p.text_document;
                self.docs.insert(
                    doc.uri.clone(),
                    Document { text: doc.text, version: doc.version, analysis: None, due: None },
                );
                // A file just opened is checked at once: nobody is typing yet.
                self.analyze(connection, &doc.uri);
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params) else { return };
                let Some(doc) = self.docs.get_mut(&p.text_document.uri) else { return };
                for change in p.content_changes {
                    match change.range {
                        Some(range) => {
                            let index = LineIndex::new(&doc.text);
                            let start = index.offset(&doc.text, range.start);
                            let end = index.offset(&doc.text, range.end).max(start);
                            doc.text.replace_range(start..end, &change.text);
                        }
                        None => doc.text = change.text,
                    }
                }
                doc.version = p.text_document.version;
                doc.due = Some(Instant::now() + self.debounce);
                if self.debounce.is_zero() {
                    self.analyze(connection, &p.text_document.uri);
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params) else { return };
                self.docs.remove(&p.text_document.uri);
                publish(connection, &p.text_document.uri, Vec::new(), None);
            }
            DidSaveTextDocument::METHOD => {
                // Imported files and calendars may have changed on disk: read them again and
                // check the open files again.
                self.calendars = Calendars::new(None);
                let uris: Vec<Url> = self.docs.keys().cloned().collect();
                for uri in uris {
                    self.analyze(connection, &uri);
                }
            }
            _ => {}
        }
    }

    /// Compiles a document's current text and publishes its diagnostics.
    fn analyze(&mut self, connection: &Connection, uri: &Url) {
        let path = uri.to_file_path().ok();
        let options = match path.as_deref().and_then(|p| self.calendars.folder_for(p)) {
            Some(folder) => self.calendars.load(&folder).0.options.clone(),
            None => Options::default(),
        };
        let Some(doc) = self.docs.get_mut(uri) else { return };
        let name = path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| uri.to_string());
        let analysis = match &path {
            Some(p) => {
                let loader = FsLoader::within(&sop_root(p));
                Analysis::new(&name, Some(p), &doc.text, &loader, &options, self.lang)
            }
            None => Analysis::new(&name, None, &doc.text, &NoLoader, &options, self.lang),
        };
        let diagnostics = analysis.diagnostics().iter().map(|d| to_lsp(&analysis, uri, d)).collect();
        publish(connection, uri, diagnostics, Some(doc.version));
        doc.analysis = Some(analysis);
        doc.due = None;
    }

    /// The document's analysis, brought up to date first (a request right after an edit is
    /// answered on the text it was asked about).
    fn analysis(&mut self, connection: &Connection, uri: &Url) -> Result<&Analysis, Failure> {
        let stale = match self.docs.get(uri) {
            Some(doc) => doc.due.is_some() || doc.analysis.is_none(),
            None => return Err(failure(ErrorCode::InvalidParams, "berkas tidak dibuka", "the file is not open")),
        };
        if stale {
            self.analyze(connection, uri);
        }
        self.docs.get(uri).and_then(|d| d.analysis.as_ref()).ok_or_else(|| {
            failure(ErrorCode::InternalError, "berkas tidak dapat dianalisis", "the file could not be analysed")
        })
    }

    fn request(&mut self, connection: &Connection, r: Request) -> Result<serde_json::Value, Failure> {
        use lsp::request::*;
        let json =
            |v: serde_json::Result<serde_json::Value>| v.map_err(|e| Failure(ErrorCode::InternalError, e.to_string()));
        match r.method.as_str() {
            HoverRequest::METHOD => {
                let p: lsp::HoverParams = params(r)?;
                let doc = p.text_document_position_params;
                let a = self.analysis(connection, &doc.text_document.uri)?;
                let offset = a.lines.offset(a.text(), doc.position);
                let hover = a.hover(offset).map(|(markdown, span)| lsp::Hover {
                    contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                        kind: lsp::MarkupKind::Markdown,
                        value: markdown,
                    }),
                    range: Some(a.lines.range(a.text(), span.start as usize, span.end as usize)),
                });
                json(serde_json::to_value(hover))
            }
            GotoDefinition::METHOD => {
                let p: lsp::GotoDefinitionParams = params(r)?;
                let doc = p.text_document_position_params;
                let uri = doc.text_document.uri;
                let a = self.analysis(connection, &uri)?;
                let offset = a.lines.offset(a.text(), doc.position);
                let locations: Vec<lsp::Location> = match a.word_at(offset) {
                    Some(word) => {
                        a.symbols_named(&word.text).iter().filter_map(|s| location(a, &uri, s.span)).collect()
                    }
                    None => Vec::new(),
                };
                json(serde_json::to_value(lsp::GotoDefinitionResponse::Array(locations)))
            }
            References::METHOD => {
                let p: lsp::ReferenceParams = params(r)?;
                let doc = p.text_document_position;
                let uri = doc.text_document.uri;
                let a = self.analysis(connection, &uri)?;
                let offset = a.lines.offset(a.text(), doc.position);
                let mut locations = Vec::new();
                if let Some(word) = a.word_at(offset).filter(|w| !a.symbols_named(&w.text).is_empty()) {
                    let symbols = a.symbols_named(&word.text);
                    for span in a.occurrences(&word.text) {
                        let is_declaration = symbols.iter().any(|s| s.span.same_place(&span));
                        if p.context.include_declaration || !is_declaration {
                            locations.extend(location(a, &uri, span));
                        }
                    }
                    if p.context.include_declaration {
                        // A declaration in an imported file is not among this file's words.
                        locations.extend(
                            symbols
                                .iter()
                                .filter(|s| s.span.file != a.file())
                                .filter_map(|s| location(a, &uri, s.span)),
                        );
                    }
                }
                json(serde_json::to_value(locations))
            }
            PrepareRenameRequest::METHOD => {
                let p: lsp::TextDocumentPositionParams = params(r)?;
                let a = self.analysis(connection, &p.text_document.uri)?;
                let offset = a.lines.offset(a.text(), p.position);
                let (word, _) = renamable(a, offset)?;
                json(serde_json::to_value(lsp::PrepareRenameResponse::Range(a.lines.range(
                    a.text(),
                    word.start as usize,
                    word.end as usize,
                ))))
            }
            Rename::METHOD => {
                let p: lsp::RenameParams = params(r)?;
                let doc = p.text_document_position;
                let uri = doc.text_document.uri;
                let a = self.analysis(connection, &uri)?;
                let offset = a.lines.offset(a.text(), doc.position);
                let (_, old) = renamable(a, offset)?;
                check_new_name(a, &old, &p.new_name)?;
                let edits: Vec<lsp::TextEdit> = a
                    .occurrences(&old)
                    .into_iter()
                    .map(|span| lsp::TextEdit {
                        range: a.lines.range(a.text(), span.start as usize, span.end as usize),
                        new_text: p.new_name.clone(),
                    })
                    .collect();
                let changes = std::collections::HashMap::from([(uri, edits)]);
                json(serde_json::to_value(lsp::WorkspaceEdit { changes: Some(changes), ..Default::default() }))
            }
            Completion::METHOD => {
                let p: lsp::CompletionParams = params(r)?;
                let a = self.analysis(connection, &p.text_document_position.text_document.uri)?;
                json(serde_json::to_value(lsp::CompletionResponse::Array(completions(a))))
            }
            Formatting::METHOD => {
                let p: lsp::DocumentFormattingParams = params(r)?;
                let a = self.analysis(connection, &p.text_document.uri)?;
                json(serde_json::to_value(format_edits(a)))
            }
            DocumentSymbolRequest::METHOD => {
                let p: lsp::DocumentSymbolParams = params(r)?;
                let a = self.analysis(connection, &p.text_document.uri)?;
                json(serde_json::to_value(lsp::DocumentSymbolResponse::Nested(outline(a))))
            }
            CodeActionRequest::METHOD => {
                let p: lsp::CodeActionParams = params(r)?;
                let uri = p.text_document.uri.clone();
                let a = self.analysis(connection, &uri)?;
                json(serde_json::to_value(code_actions(a, &uri, p.range)))
            }
            InlayHintRequest::METHOD => {
                let p: lsp::InlayHintParams = params(r)?;
                let a = self.analysis(connection, &p.text_document.uri)?;
                json(serde_json::to_value(inlay_hints(a, p.range)))
            }
            _ => Err(Failure(ErrorCode::MethodNotFound, format!("unknown request `{}`", r.method))),
        }
    }
}

fn params<P: serde::de::DeserializeOwned>(r: Request) -> Result<P, Failure> {
    serde_json::from_value(r.params).map_err(|e| Failure(ErrorCode::InvalidParams, e.to_string()))
}

fn send(connection: &Connection, message: Message) {
    // A closed channel means the client went away; the loop ends at the next receive.
    let _ = connection.sender.send(message);
}

fn publish(connection: &Connection, uri: &Url, diagnostics: Vec<lsp::Diagnostic>, version: Option<i32>) {
    let params = lsp::PublishDiagnosticsParams { uri: uri.clone(), diagnostics, version };
    send(
        connection,
        Message::Notification(Notification::new(lsp::notification::PublishDiagnostics::METHOD.to_string(), params)),
    );
}

/// Where a span is: the open document, or the file (imported, called) it was read from.
fn location(a: &Analysis, uri: &Url, span: Span) -> Option<lsp::Location> {
    if span.file == a.file() {
        return Some(lsp::Location {
            uri: uri.clone(),
            range: a.lines.range(a.text(), span.start as usize, span.end as usize),
        });
    }
    let file = a.compiled.sources.get(span.file)?;
    let target = Url::from_file_path(absolute(file.path.as_deref()?)).ok()?;
    let lines = LineIndex::new(&file.text);
    Some(lsp::Location { uri: target, range: lines.range(&file.text, span.start as usize, span.end as usize) })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// One alur diagnostic as the editor shows it: the message, then the help and notes, in the
/// file's language; its other labels as related locations.
fn to_lsp(a: &Analysis, uri: &Url, d: &Diagnostic) -> lsp::Diagnostic {
    let lang = a.lang;
    let primary = d.primary_span();
    let mut message = d.message.get(lang).to_string();
    let range = match primary.and_then(|span| location(a, uri, span)) {
        Some(place) if place.uri == *uri => place.range,
        // A finding in an imported file: shown at the top of this one, with where it is.
        other => {
            if let Some(place) = other {
                message = format!("{}: {message}", place.uri.path());
            }
            lsp::Range::default()
        }
    };
    if let Some(label) = d.labels.iter().find(|l| l.primary) {
        message.push_str(&format!(" ({})", label.message.get(lang)));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\n{}: {}", tr(lang, "bantuan", "help"), help.get(lang)));
    }
    for note in &d.notes {
        message.push_str(&format!("\n{}: {}", tr(lang, "catatan", "note"), note.get(lang)));
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter(|l| !l.primary)
        .filter_map(|l| {
            Some(lsp::DiagnosticRelatedInformation {
                location: location(a, uri, l.span)?,
                message: l.message.get(lang).to_string(),
            })
        })
        .collect();
    lsp::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            Severity::Note => lsp::DiagnosticSeverity::INFORMATION,
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        source: Some("alur".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// The declared name under the cursor, when it is declared in this file.
fn renamable(a: &Analysis, offset: usize) -> Result<(Span, String), Failure> {
    let word = a
        .word_at(offset)
        .ok_or_else(|| failure(ErrorCode::InvalidParams, "tidak ada nama di sini", "there is no name here"))?;
    let symbols = a.symbols_named(&word.text);
    if symbols.is_empty() {
        return Err(failure(
            ErrorCode::InvalidParams,
            "hanya id pelaksana, dokumen, data, akhir, langkah dan varian yang dapat diganti namanya",
            "only the ids of actors, documents, fields, ends, steps and variants can be renamed",
        ));
    }
    if symbols.iter().any(|s| s.span.file != a.file()) {
        return Err(failure(
            ErrorCode::InvalidParams,
            "nama ini dideklarasikan di berkas lain: ganti namanya di sana",
            "this name is declared in another file: rename it there",
        ));
    }
    Ok((word.span, word.text.clone()))
}

fn check_new_name(a: &Analysis, old: &str, new: &str) -> Result<(), Failure> {
    let mut chars = new.chars();
    let well_formed =
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_');
    if !well_formed {
        return Err(Failure(
            ErrorCode::InvalidParams,
            format!(
                "`{new}` bukan id: gunakan huruf, angka dan `_`, diawali huruf / `{new}` is not an id: use letters, digits and `_`, starting with a letter"
            ),
        ));
    }
    if Kw::of_word(new).is_some() {
        return Err(Failure(
            ErrorCode::InvalidParams,
            format!("`{new}` adalah kata kunci: pilih nama lain / `{new}` is a keyword: choose another name"),
        ));
    }
    if new != old && !a.symbols_named(new).is_empty() {
        return Err(Failure(
            ErrorCode::InvalidParams,
            format!("`{new}` sudah dipakai di SOP ini / `{new}` is already used in this SOP"),
        ));
    }
    Ok(())
}

fn completions(a: &Analysis) -> Vec<lsp::CompletionItem> {
    let lang = a.lang;
    let mut items = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (kw, _, _) in Kw::all() {
        let word = kw.word(lang);
        if seen.insert(word) {
            items.push(lsp::CompletionItem {
                label: word.to_string(),
                kind: Some(lsp::CompletionItemKind::KEYWORD),
                detail: Some(tr(lang, "kata kunci", "keyword").to_string()),
                ..Default::default()
            });
        }
    }
    for symbol in a.symbols() {
        items.push(lsp::CompletionItem {
            label: symbol.name.clone(),
            kind: Some(match symbol.kind {
                Kind::Step => lsp::CompletionItemKind::EVENT,
                Kind::Actor => lsp::CompletionItemKind::CLASS,
                Kind::Document => lsp::CompletionItemKind::FILE,
                Kind::Field => lsp::CompletionItemKind::FIELD,
                Kind::End => lsp::CompletionItemKind::ENUM_MEMBER,
                Kind::Variant => lsp::CompletionItemKind::ENUM,
            }),
            detail: Some(symbol.kind.word(lang).to_string()),
            ..Default::default()
        });
    }
    // The unit words are listed Indonesian first (`menit`, `mnt`, `jam`, `hari`), then English.
    let units = match lang {
        Lang::Id => UNIT_WORDS.get(..4),
        Lang::En => UNIT_WORDS.get(4..),
    };
    let units = units.unwrap_or_default();
    for unit in units {
        items.push(lsp::CompletionItem {
            label: unit.to_string(),
            kind: Some(lsp::CompletionItemKind::UNIT),
            detail: Some(tr(lang, "satuan waktu", "unit of time").to_string()),
            ..Default::default()
        });
    }
    items
}

/// `alur fmt` of the text as one edit; none when it is formatted, or does not parse (formatting
/// a file that does not parse could lose text).
fn format_edits(a: &Analysis) -> Vec<lsp::TextEdit> {
    let text = a.text();
    if syntax::parse_bytes(a.file(), text.as_bytes()).is_err() {
        return Vec::new();
    }
    let (cst, diagnostics) = syntax::parse(a.file(), text);
    if !diagnostics.is_empty() {
        return Vec::new();
    }
    let formatted = crate::format::format(&cst, text);
    if formatted == text {
        return Vec::new();
    }
    vec![lsp::TextEdit { range: a.lines.range(text, 0, text.len()), new_text: formatted }]
}

/// The steps as an outline, in the order written.
fn outline(a: &Analysis) -> Vec<lsp::DocumentSymbol> {
    let Some(sop) = a.sop() else { return Vec::new() };
    a.symbols()
        .iter()
        .filter(|s| s.kind == Kind::Step && s.span.file == a.file())
        .filter_map(|s| {
            let step = sop.steps.get(s.index)?;
            let whole = if step.span.file == a.file() { step.span } else { s.span };
            #[allow(deprecated)] // `deprecated` is a required field of the struct
            Some(lsp::DocumentSymbol {
                name: format!("{} {}", step.number, s.name),
                detail: Some(step.activity.clone()),
                kind: lsp::SymbolKind::EVENT,
                tags: None,
                deprecated: None,
                range: a.lines.range(a.text(), whole.start as usize, whole.end.max(s.span.end) as usize),
                selection_range: a.lines.range(a.text(), s.span.start as usize, s.span.end as usize),
                children: None,
            })
        })
        .collect()
}

fn overlaps(a: &Analysis, range: lsp::Range, span: Span) -> bool {
    let (start, end) = (a.lines.offset(a.text(), range.start), a.lines.offset(a.text(), range.end));
    (span.start as usize) <= end && start <= (span.end as usize)
}

/// The did-you-mean fixes of the diagnostics in the range.
fn code_actions(a: &Analysis, uri: &Url, range: lsp::Range) -> Vec<lsp::CodeAction> {
    a.fixes()
        .into_iter()
        .filter(|(_, span, _)| overlaps(a, range, *span))
        .map(|(d, span, better)| {
            let edit = lsp::TextEdit {
                range: a.lines.range(a.text(), span.start as usize, span.end as usize),
                new_text: better.clone(),
            };
            lsp::CodeAction {
                title: match a.lang {
                    Lang::Id => format!("Ganti dengan `{better}`"),
                    Lang::En => format!("Change to `{better}`"),
                },
                kind: Some(lsp::CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![to_lsp(a, uri, d)]),
                edit: Some(lsp::WorkspaceEdit {
                    changes: Some(std::collections::HashMap::from([(uri.clone(), vec![edit])])),
                    ..Default::default()
                }),
                is_preferred: Some(true),
                ..Default::default()
            }
        })
        .collect()
}

/// After each step's time, the time summed along the main path up to the end of the step.
fn inlay_hints(a: &Analysis, range: lsp::Range) -> Vec<lsp::InlayHint> {
    let Some(sop) = a.sop() else { return Vec::new() };
    let mut hints = Vec::new();
    for (index, step) in sop.steps.iter().enumerate() {
        let Some(duration) = step.duration.as_ref().filter(|d| d.span.file == a.file()) else { continue };
        // A chain's desks share their row's `waktu`: the hint goes after the last desk's.
        if step.desk.as_ref().is_some_and(|d| !d.is_last()) {
            continue;
        }
        let Some((sum, untimed)) = a.cumulative().get(&index) else { continue };
        if !overlaps(a, range, duration.span) {
            continue;
        }
        let mut label = format!("Σ {}", sum.display(a.lang));
        if *untimed > 0 {
            label.push('+');
        }
        hints.push(lsp::InlayHint {
            position: a.lines.position(a.text(), duration.span.end as usize),
            label: lsp::InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: Some(lsp::InlayHintTooltip::String(
                tr(a.lang, "waktu kumulatif pada jalur utama", "cumulative time on the main path").to_string(),
            )),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    hints
}
