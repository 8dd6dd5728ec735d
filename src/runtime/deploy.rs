//! Deployments: a compiled SOP with the exact sources it came from (its imports, the
//! procedures it calls and its calendars), so a running case never depends on files on disk.

use crate::runtime::name::{Name, Names};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::store::Deployment;
use super::RuntimeError;
use crate::compile::{compile_bytes, Loader, Options};
use crate::diagnostic::{render_all, Lang};
use crate::interpret::Interpreter;
use crate::model::Sop;
use crate::syntax::SourceMap;
use crate::time::{Calendar, CalendarSet};

/// The compiler a deployment records: the crate's version, which every release changes.
pub const COMPILER: &str = concat!("alur ", env!("CARGO_PKG_VERSION"));

/// How this alur's compile of a stored deployment compares with the one it was deployed with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recompiled {
    /// The same model.
    Same,
    /// Deployed before deployments recorded their model's hash: nothing to compare with.
    Unrecorded,
    /// Another model from the same sources: its cases would run differently than they started.
    Differs { deployed_by: Option<String> },
}

impl Recompiled {
    /// The word the API and the metrics use: `same`, `unrecorded`, `differs`.
    pub fn word(&self) -> &'static str {
        match self {
            Recompiled::Same => "same",
            Recompiled::Unrecorded => "unrecorded",
            Recompiled::Differs { .. } => "differs",
        }
    }
}

/// What to do with a stored deployment this alur compiles into another model than it was
/// deployed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnRecompiled {
    /// Refuse to start: a running case's behaviour must not change under it unasked.
    Refuse,
    /// Run it on this alur's model, and say so (log, `/api/sops`, `/metrics`).
    Accept,
}

impl OnRecompiled {
    /// `ALUR_ACCEPT_RECOMPILED=1` accepts; anything else refuses.
    pub fn from_env() -> OnRecompiled {
        match std::env::var("ALUR_ACCEPT_RECOMPILED").as_deref() {
            Ok("1") => OnRecompiled::Accept,
            _ => OnRecompiled::Refuse,
        }
    }
}

/// SHA-256 (hex) of a compiled model: its JSON, which is deterministic (the model holds lists
/// and structs, no hash maps). The calendar is compiled from its kept text the same way each
/// time and is not part of it.
pub fn model_sha256(sop: &Sop) -> Result<String, RuntimeError> {
    let json = serde_json::to_vec(sop).map_err(|e| RuntimeError::InvalidSop(format!("the model as JSON: {e}")))?;
    Ok(crate::runtime::media::sha256_hex(&json))
}

/// A deployment ready to run: the model, its calendar and its interpreter.
pub struct Deployed {
    pub deployment: Deployment,
    /// SHA-256 of the model this alur compiled.
    pub model_sha256: String,
    /// Whether that is the model the deployment was made with.
    pub recompiled: Recompiled,
    pub sop: Sop,
    pub calendar: Calendar,
    /// What follows what in the flow (routes in written order, joins, steps done at once),
    /// worked out once here, not on every command.
    pub interpreter: Interpreter,
    /// Step index by step id.
    step_ids: HashMap<String, usize, foldhash::fast::RandomState>,
    /// Per step: its id and actor ids, interned once and held by every task that opens on it.
    step_names: Vec<StepNames>,
    /// For an SOP with service variants: the flow of each (`compile::for_variant`), on which
    /// the cases of that variant run.
    variants: Vec<(String, Arc<Deployed>)>,
}

/// A step's id and actor ids as the events, tasks and the inbox hold them.
pub struct StepNames {
    pub id: Name,
    pub actors: Names,
}

impl Deployed {
    fn new(deployment: Deployment, sop: Sop, calendar: Calendar, model_sha256: String) -> Deployed {
        let recompiled = match &deployment.model_sha256 {
            None => Recompiled::Unrecorded,
            Some(then) if *then == model_sha256 => Recompiled::Same,
            Some(_) => Recompiled::Differs { deployed_by: deployment.compiler.clone() },
        };
        let interpreter = Interpreter::new(&sop);
        let step_ids = sop.steps.iter().enumerate().map(|(i, s)| (s.id.name.clone(), i)).collect();
        let step_names = sop
            .steps
            .iter()
            .map(|step| StepNames {
                id: step.id.name.as_str().into(),
                actors: step.actor_ids().map(Name::new).collect(),
            })
            .collect();
        // A variant's own flow has no variants of its own.
        let of_variants = if sop.needs_variant() { sop.variants.as_slice() } else { &[] };
        let variants = of_variants
            .iter()
            .filter_map(|v| {
                let flow = crate::compile::for_variant(&sop, &v.id.name)?;
                let variant = Deployed::new(deployment.clone(), flow, calendar.clone(), model_sha256.clone());
                Some((v.id.name.clone(), Arc::new(variant)))
            })
            .collect();
        Deployed { deployment, model_sha256, recompiled, sop, calendar, interpreter, step_ids, step_names, variants }
    }

    /// The flow a case of `variant` runs on: that variant's, or this one for an SOP without
    /// variants. `None` when the SOP has no such variant.
    pub fn variant(self: &Arc<Self>, variant: Option<&str>) -> Option<Arc<Deployed>> {
        match variant {
            None => Some(self.clone()),
            Some(v) => self.variants.iter().find(|(name, _)| name == v).map(|(_, d)| d.clone()),
        }
    }

    pub fn step_index(&self, id: &str) -> Option<usize> {
        self.step_ids.get(id).copied()
    }

    /// The interned id and actor ids of a step (by index).
    pub fn step_names(&self, step: usize) -> Option<&StepNames> {
        self.step_names.get(step)
    }
}

/// Loads imports and calls from the sources kept in a deployment.
struct KeptSources<'a>(&'a HashMap<PathBuf, String>);

impl Loader for KeptSources<'_> {
    fn load(&self, from: Option<&Path>, path: &str) -> Result<(PathBuf, Vec<u8>), crate::diagnostic::Text> {
        let base = from.and_then(Path::parent).unwrap_or(Path::new(""));
        let full = normalise(&base.join(path));
        self.0
            .get(&full)
            .map(|text| (full.clone(), text.clone().into_bytes()))
            .ok_or_else(|| crate::t!("`{path}` tidak ada di deployment ini", "`{path}` is not in the deployment"))
    }
}

/// `a/b/../c` to `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The sources of one SOP: the file itself first, then everything it loaded.
pub fn sources_of(map: &SourceMap) -> Vec<(String, String)> {
    map.files()
        .map(|(_, f)| {
            (f.path.as_ref().map(|p| normalise(p).display().to_string()).unwrap_or(f.name.clone()), f.text.clone())
        })
        .collect()
}

pub fn fingerprint(sources: &[(String, String)], calendars: &[(String, String)]) -> String {
    let mut hash = Sha256::new();
    for (name, text) in sources.iter().chain(calendars) {
        hash.update(name.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.update([0]);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Compiles a deployment's kept sources into a runnable SOP on its calendar.
pub fn load(deployment: &Deployment) -> Result<Deployed, RuntimeError> {
    let sources = &deployment.sources;
    let kept: HashMap<PathBuf, String> = sources.iter().map(|(n, t)| (PathBuf::from(n), t.clone())).collect();
    let Some((main_name, main_text)) = sources.first() else {
        return Err(RuntimeError::InvalidSop("a deployment without sources".into()));
    };
    let mut calendar_sources = SourceMap::new();
    let mut set = CalendarSet::new();
    let mut problems = Vec::new();
    for (name, text) in &deployment.calendars {
        let file = calendar_sources.add(name.clone(), None, text.clone());
        problems.extend(crate::compile::calendar::add_file(&mut set, file, text));
    }
    problems.extend(set.check());
    if problems.iter().any(|d| d.is_error()) {
        return Err(RuntimeError::Calendar(render_all(&calendar_sources, &problems, Lang::En)));
    }
    let names: Vec<String> = set.names().map(str::to_string).collect();
    let day_lengths =
        names.iter().filter_map(|n| set.calendar(n).ok().map(|c| (n.clone(), c.day_length_minutes()))).collect();
    let options = Options { calendars: Some(names), day_lengths, ..Options::default() };
    let path = PathBuf::from(main_name);
    let compiled =
        compile_bytes(SourceMap::new(), main_name, Some(&path), main_text.as_bytes(), &KeptSources(&kept), &options);
    if compiled.has_errors() {
        return Err(RuntimeError::InvalidSop(render_all(&compiled.sources, &compiled.diagnostics, Lang::En)));
    }
    let Some(sop) = compiled.sop else { return Err(RuntimeError::InvalidSop("no `sop` in the file".into())) };
    let calendar_name = sop.header.calendar.as_ref().map(|c| c.name.clone()).unwrap_or_default();
    let calendar = set.calendar(&calendar_name).map_err(|d| {
        RuntimeError::Calendar(format!("{calendar_name}: {}", render_all(&calendar_sources, &d, Lang::En)))
    })?;
    let model_sha256 = model_sha256(&sop)?;
    Ok(Deployed::new(deployment.clone(), sop, calendar, model_sha256))
}

/// Refuses a deployment this alur compiles into another model than it was deployed with,
/// unless told to accept it; an accepted one is said in the log.
pub fn check_recompiled(loaded: &Deployed, on: OnRecompiled) -> Result<(), RuntimeError> {
    let Recompiled::Differs { deployed_by } = &loaded.recompiled else { return Ok(()) };
    let (sop, version) = (&loaded.deployment.sop, loaded.deployment.version);
    let by = deployed_by.as_deref().unwrap_or("an alur that did not record its version");
    match on {
        OnRecompiled::Refuse => {
            Err(RuntimeError::Recompiled { sop: sop.clone(), version, deployed_by: by.to_string() })
        }
        OnRecompiled::Accept => {
            tracing::warn!(
                sop = %sop,
                version,
                deployed_by = by,
                compiler = COMPILER,
                "SOP {sop} v{version} dikompilasi berbeda oleh alur ini; kasusnya berjalan pada hasil kompilasi baru \
                 (SOP {sop} v{version} compiles differently with this alur; its cases run on the new compile)"
            );
            Ok(())
        }
    }
}
