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

/// A deployment ready to run: the model, its calendar and its interpreter.
pub struct Deployed {
    pub deployment: Deployment,
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
    pub fn new(deployment: Deployment, sop: Sop, calendar: Calendar) -> Deployed {
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
                Some((v.id.name.clone(), Arc::new(Deployed::new(deployment.clone(), flow, calendar.clone()))))
            })
            .collect();
        Deployed { deployment, sop, calendar, interpreter, step_ids, step_names, variants }
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
    Ok(Deployed::new(deployment.clone(), sop, calendar))
}
