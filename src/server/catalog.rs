//! The SOP folder as the server sees it: every file checked the way `alur check` checks it,
//! the clean ones deployed (a changed file becomes a new version), and what the checker said
//! kept per file, so the analyst's page shows the diagnostics of what is running.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use crate::compile::folders::{sop_files, Calendars};
use crate::compile::{compile_bytes, duplicate_sop, read_source, Compiled, FsLoader};
use crate::diagnostic::{self, Lang, Text};
use crate::runtime::Engine;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FileReport {
    pub file: String,
    /// The SOP id the file defines, when it got that far.
    pub sop: Option<String>,
    /// The version now serving from this file (the previous one when the file has errors).
    pub version: Option<u32>,
    /// This load made a new version.
    pub new: bool,
    pub errors: usize,
    pub warnings: usize,
    /// The checker's diagnostics, as `alur check --format json` gives them.
    #[schema(value_type = Object)]
    pub diagnostics: serde_json::Value,
    /// The same, rendered as text for people (Bahasa Indonesia and English).
    pub rendered_id: String,
    pub rendered_en: String,
    /// Why the file is not deployed, when it is not.
    pub refused: Option<String>,
}

pub struct Catalog {
    sop_dir: PathBuf,
    /// The office calendars (`sop/calendars` unless the settings say otherwise).
    calendars_dir: PathBuf,
    reports: RwLock<BTreeMap<String, FileReport>>,
}

pub struct ReloadReport {
    pub files: Vec<FileReport>,
}

impl ReloadReport {
    /// What `alur serve` prints at start.
    pub fn lines(&self, lang: Lang) -> Vec<String> {
        let mut lines = Vec::new();
        for f in &self.files {
            match (&f.refused, f.version) {
                (Some(why), _) => {
                    lines.push(match lang {
                        Lang::Id => format!("TIDAK di-deploy: {} ({} kesalahan)", f.file, f.errors),
                        Lang::En => format!("NOT deployed: {} ({} error(s))", f.file, f.errors),
                    });
                    let text = if f.errors > 0 {
                        match lang {
                            Lang::Id => &f.rendered_id,
                            Lang::En => &f.rendered_en,
                        }
                    } else {
                        why
                    };
                    lines.extend(text.lines().map(|l| format!("    {l}")));
                }
                (None, Some(version)) => lines.push(format!(
                    "{} {} v{version}{} ({})",
                    match lang {
                        Lang::Id => "SOP",
                        Lang::En => "SOP",
                    },
                    f.sop.as_deref().unwrap_or("?"),
                    if f.new {
                        match lang {
                            Lang::Id => " baru",
                            Lang::En => " new",
                        }
                    } else {
                        ""
                    },
                    f.file
                )),
                (None, None) => {}
            }
        }
        lines
    }
}

impl Catalog {
    pub fn new(sop_dir: &Path) -> Catalog {
        Catalog {
            sop_dir: sop_dir.to_path_buf(),
            calendars_dir: crate::server::settings::calendar_dir(sop_dir),
            reports: RwLock::new(BTreeMap::new()),
        }
    }

    /// The same, with the calendars in `dir`.
    pub fn with_calendars_dir(mut self, dir: &Path) -> Catalog {
        self.calendars_dir = dir.to_path_buf();
        self
    }

    pub fn sop_dir(&self) -> &Path {
        &self.sop_dir
    }

    /// Checks and deploys every SOP file of the folder. Two files with one SOP id: the one its
    /// latest deployment came from keeps it (else the first by name), the other is refused.
    pub async fn reload(&self, engine: &Engine) -> ReloadReport {
        let files = match sop_files(std::slice::from_ref(&self.sop_dir)) {
            Ok(files) => files,
            Err(message) => {
                return ReloadReport { files: vec![refused_report(&self.sop_dir, Text::new(message.clone(), message))] }
            }
        };
        let calendars_dir = self.calendars_dir.clone();
        let mut calendars = Calendars::new(Some(calendars_dir.clone()));
        let mut out = Vec::new();
        let mut checked = Vec::new();
        for file in files {
            if file.starts_with(&calendars_dir) {
                continue;
            }
            // A regular file, read up to the parser's limit: not a device behind a link.
            let bytes = match read_source(&file) {
                Ok(bytes) => bytes,
                Err(e) => {
                    out.push(refused_report(&file, e.about(&file.display().to_string())));
                    continue;
                }
            };
            let compiled = self.check(&mut calendars, &file, &bytes);
            checked.push((file, bytes, compiled));
        }
        // Which file keeps each SOP id.
        let mut keeper: HashMap<String, &Path> = HashMap::new();
        for (file, _, compiled) in &checked {
            if let Some(sop) = &compiled.sop {
                keeper.entry(sop.id.name.clone()).or_insert(file);
            }
        }
        for (id, file) in keeper.iter_mut() {
            let deployed_from = engine.deployment(id, None).ok().and_then(|d| d.deployment.sources.first().cloned());
            if let Some((from, _)) = deployed_from {
                let defines = |c: &Compiled| c.sop.as_ref().is_some_and(|s| s.id.name == *id);
                if let Some((f, _, _)) = checked.iter().find(|(f, _, c)| f.as_path() == Path::new(&from) && defines(c))
                {
                    *file = f;
                }
            }
        }
        let keeper: HashMap<String, PathBuf> = keeper.into_iter().map(|(id, f)| (id, f.to_path_buf())).collect();
        for (file, bytes, compiled) in checked {
            let other = compiled.sop.as_ref().and_then(|s| keeper.get(&s.id.name)).filter(|k| **k != file).cloned();
            if let Some(report) = self.finish(engine, &file, &bytes, compiled, other.as_deref(), false).await {
                out.push(report);
            }
        }
        ReloadReport { files: out }
    }

    /// Checks `bytes` as the file `path` and deploys it when clean. With `write`, the file is
    /// (re)written on disk only once it checked clean, so a bad upload leaves the old one.
    /// An SOP id that another file of the folder serves is refused. `None` for a file that is
    /// not an SOP (a fragment library).
    pub async fn deploy_text(
        &self,
        engine: &Engine,
        calendars: &mut Calendars,
        path: &Path,
        bytes: &[u8],
        write: bool,
    ) -> Option<FileReport> {
        let compiled = self.check(calendars, path, bytes);
        let other = compiled.sop.as_ref().and_then(|sop| self.served_elsewhere(engine, &sop.id.name, path));
        self.finish(engine, path, bytes, compiled, other.as_deref(), write).await
    }

    /// Compiles `bytes` as the file `path`, reading imports and calls inside the SOP folder.
    fn check(&self, calendars: &mut Calendars, path: &Path, bytes: &[u8]) -> Compiled {
        let calendars_dir = self.calendars_dir.clone();
        let (context, _) = calendars.load(&calendars_dir);
        let options = context.options.clone();
        let name = path.display().to_string();
        compile_bytes(Default::default(), &name, Some(path), bytes, &FsLoader::within(&self.sop_dir), &options)
    }

    /// The file other than `path` that serves SOP `id` now: the one its latest deployment came
    /// from, if it is still there, or one the last reload deployed it from.
    fn served_elsewhere(&self, engine: &Engine, id: &str, path: &Path) -> Option<PathBuf> {
        let deployed_from = engine.deployment(id, None).ok().and_then(|d| d.deployment.sources.first().cloned());
        if let Some((from, _)) = deployed_from {
            let from = PathBuf::from(from);
            if from != path && from.is_file() {
                return Some(from);
            }
        }
        let reports = self.reports.read().ok()?;
        reports
            .values()
            .find(|r| r.sop.as_deref() == Some(id) && r.refused.is_none() && Path::new(&r.file) != path)
            .map(|r| PathBuf::from(&r.file))
    }

    /// Reports on a checked file and deploys it when clean; `duplicate_of` is the file that
    /// keeps its SOP id, when another one does.
    async fn finish(
        &self,
        engine: &Engine,
        path: &Path,
        bytes: &[u8],
        mut compiled: Compiled,
        duplicate_of: Option<&Path>,
        write: bool,
    ) -> Option<FileReport> {
        let calendars_dir = self.calendars_dir.clone();
        let name = path.display().to_string();
        if let (Some(sop), Some(other)) = (&compiled.sop, duplicate_of) {
            let d = duplicate_sop(sop, &other.display().to_string());
            compiled.diagnostics.push(d);
        }
        let errors = compiled.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = compiled.diagnostics.iter().filter(|d| d.severity == diagnostic::Severity::Warning).count();
        let mut diagnostics = compiled.diagnostics.clone();
        diagnostic::sort(&mut diagnostics);
        let sop = compiled.sop.as_ref().map(|s| s.id.name.clone());
        if sop.is_none() && errors == 0 {
            return None;
        }
        let mut report = FileReport {
            file: name.clone(),
            sop: sop.clone(),
            // The version this file serves: none when another file keeps its SOP id.
            version: sop
                .as_ref()
                .filter(|_| duplicate_of.is_none())
                .and_then(|s| engine.deployment(s, None).ok())
                .map(|d| d.deployment.version),
            new: false,
            errors,
            warnings,
            diagnostics: diagnostic::to_json(&compiled.sources, &diagnostics, Lang::En),
            rendered_id: diagnostic::render_all(&compiled.sources, &diagnostics, Lang::Id),
            rendered_en: diagnostic::render_all(&compiled.sources, &diagnostics, Lang::En),
            refused: None,
        };
        if errors > 0 {
            report.refused = Some(format!("{errors} error(s)"));
        } else {
            let written = if write { write_atomically(path, bytes) } else { Ok(()) };
            match written {
                Err(e) => report.refused = Some(format!("{}: {e}", path.display())),
                Ok(()) => match engine.deploy_file_within(path, &self.sop_dir, &calendars_dir).await {
                    Ok(result) => {
                        report.version = Some(result.version);
                        report.new = result.new;
                    }
                    Err(e) => report.refused = Some(e.to_string()),
                },
            }
        }
        if let Ok(mut reports) = self.reports.write() {
            reports.insert(name, report.clone());
        }
        Some(report)
    }

    pub fn reports(&self) -> Vec<FileReport> {
        self.reports.read().map(|r| r.values().cloned().collect()).unwrap_or_default()
    }

    /// The latest report of the file that defines `sop`.
    pub fn report_for(&self, sop: &str) -> Option<FileReport> {
        self.reports.read().ok()?.values().find(|r| r.sop.as_deref() == Some(sop)).cloned()
    }
}

fn refused_report(file: &Path, why: Text) -> FileReport {
    FileReport {
        file: file.display().to_string(),
        sop: None,
        version: None,
        new: false,
        errors: 1,
        warnings: 0,
        diagnostics: serde_json::Value::Array(Vec::new()),
        rendered_id: why.id,
        rendered_en: why.en.clone(),
        refused: Some(why.en),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("sop.uploading");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
