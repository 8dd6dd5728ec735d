//! The engine: commands in, events out. A command reads the case (the fold of its events),
//! checks it against the SOP, works out every event that follows (tasks opening, steps
//! skipped, branches joining, the case ending) and appends them at the version it read, so of
//! two commands racing on one case exactly one wins.

use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use super::case::{CaseState, CaseStatus, DeployedRef, TaskStatus};
use super::clock::Clock;
use super::deploy::{self, Deployed};
use super::event::{Event, Fields, Recorded, Storage};
use super::metrics::{Command, EngineMetrics, Outcome};
use super::report::case_tallies;
use super::store::summary::{projections_off, unsettles, Tally, Unsettled};
use super::store::{Deployment, OpenTask, Partition, Store, StoreError};
use super::{CaseId, Name, RuntimeError, TaskNo};
use crate::interpret::{OutcomeError, Reached};
use crate::model::{DeadlineAction, FieldType, FieldValues, NodeIndex, Sop, Value};
use crate::time::step_window;
use tracing::Instrument;

/// Who issues a command: a user and the actor roles they hold, or the engine itself.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Shared: every event a command appends, and the task it completes, hold this one name.
    pub user: Arc<str>,
    pub roles: Vec<String>,
    /// The engine itself: set only by [`Caller::system`], never by a user's name, so a user
    /// called `system` is an ordinary user.
    system: bool,
}

impl Caller {
    pub fn new(user: impl Into<Arc<str>>, roles: &[&str]) -> Caller {
        Caller::with_roles(user, roles.iter().map(|r| r.to_string()).collect())
    }

    /// A user with these actor roles.
    pub fn with_roles(user: impl Into<Arc<str>>, roles: Vec<String>) -> Caller {
        Caller { user: user.into(), roles, system: false }
    }

    /// Whether the caller holds the actor role `actor`.
    pub fn holds(&self, actor: &str) -> bool {
        self.roles.iter().any(|role| role == actor)
    }

    /// The engine itself (timers, sub-procedure results): it may complete any task.
    pub fn system() -> Caller {
        Caller { user: system_user(), roles: Vec::new(), system: true }
    }

    /// Whether this is the engine itself.
    pub fn is_system(&self) -> bool {
        self.system
    }
}

/// The user name the engine's own commands (timers, sub-procedure results) are recorded under.
/// No account may take it (`server::accounts` reserves it).
pub const SYSTEM_USER: &str = "system";

fn system_user() -> Arc<str> {
    static SYSTEM: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
    SYSTEM.get_or_init(|| Arc::from(SYSTEM_USER)).clone()
}

/// The facts of a case fixed when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseIdentity {
    pub sop: String,
    pub version: u32,
    pub applicant: String,
    pub variant: Option<String>,
}

/// What completing a task says.
#[derive(Clone, Debug, Default)]
pub struct Completion {
    pub outcome: Option<String>,
    pub fields: Fields,
    pub note: Option<String>,
}

/// The result of a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployResult {
    pub sop: String,
    pub version: u32,
    /// False when the same sources were deployed already (same version returned).
    pub new: bool,
}

pub struct Engine {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Deployments by SOP id, then version (looked up on every command, without allocating).
    deployed: RwLock<HashMap<String, std::collections::BTreeMap<u32, Arc<Deployed>>, foldhash::fast::RandomState>>,
    /// Folded cases, brought up to date from the store on every read (so changes made by other
    /// engine processes are seen), to avoid folding whole streams again and again; in shards
    /// by case id, so commands on different cases rarely wait on one lock.
    cache: Box<[crossbeam_utils::CachePadded<std::sync::Mutex<CaseCache>>]>,
    /// The name this engine claims deadlines under (see `fire_due`).
    node: String,
    /// Versions this engine is saving right now, so a change feed announcing them is known
    /// for this engine's own doing (see [`Engine::is_deploying`]).
    saving: std::sync::Mutex<std::collections::HashSet<(String, u32)>>,
    /// What `/metrics` reads (commands by kind and result, timer firings); `None` counts nothing.
    metrics: Option<Arc<EngineMetrics>>,
    /// What to do with a stored deployment this alur compiles differently.
    on_recompiled: deploy::OnRecompiled,
}

/// Boxed: a command takes its case's state out and puts it back, which moves a pointer
/// instead of the whole state.
/// A command takes its case's fold out (`None` is left in its slot while the command runs)
/// and puts the updated fold back: the slot stays, where removing and inserting again did the
/// table's bookkeeping twice per command.
type CaseCache = HashMap<CaseId, Option<Box<CaseState>>, foldhash::fast::RandomState>;

/// Cached states per shard beyond this are dropped (a full shard starts over; the next read
/// folds from the store).
const CACHE_LIMIT: usize = 200_000 / CACHE_SHARDS;
const CACHE_SHARDS: usize = 16;

/// Cases per store read in [`Engine::load_each`]: a read holds a connection that long.
const LOAD_ROUND: usize = 512;

/// The span of one command, a child of whatever asked for it (an HTTP request's span): which
/// command, on which case and task, by whom.
fn command_span(command: Command, case: CaseId, task: Option<TaskNo>, caller: &Caller) -> tracing::Span {
    tracing::info_span!("command", command = command.word(), case = %case, task, user = &*caller.user)
}

/// A case of `written`'s SOP asked for `variant` (none, or one the SOP does not have).
fn unknown_variant(written: &Deployed, variant: Option<&str>) -> RuntimeError {
    RuntimeError::UnknownVariant {
        sop: written.deployment.sop.clone(),
        variant: variant.map(str::to_string),
        allowed: written.sop.variants.iter().map(|v| v.id.name.clone()).collect(),
    }
}

fn store_error(error: StoreError) -> RuntimeError {
    match error {
        StoreError::Conflict(case) => RuntimeError::Conflict(case),
        StoreError::Transient(message) => RuntimeError::Unavailable(message),
        // The rest are the server's to log and the office's IT to fix, not the caller's.
        other @ (StoreError::Refused(_)
        | StoreError::Schema(_)
        | StoreError::Config(_)
        | StoreError::Corrupt(_)
        | StoreError::Backend(_)
        | StoreError::Damaged { .. }
        | StoreError::BlobDamaged { .. }) => RuntimeError::Store(other.to_string()),
    }
}

impl Engine {
    /// An engine on a store, with the deployments the store holds loaded.
    /// A deployment this alur compiles into another model than it was deployed with is
    /// refused unless `ALUR_ACCEPT_RECOMPILED=1` (see [`Engine::with_recompiled`]).
    pub async fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<Engine, RuntimeError> {
        Engine::with_recompiled(store, clock, deploy::OnRecompiled::from_env()).await
    }

    /// `new`, saying what to do with a deployment this alur compiles differently.
    pub async fn with_recompiled(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        on_recompiled: deploy::OnRecompiled,
    ) -> Result<Engine, RuntimeError> {
        let engine = Engine {
            store,
            clock,
            deployed: RwLock::default(),
            saving: Default::default(),
            cache: (0..CACHE_SHARDS).map(|_| Default::default()).collect(),
            node: super::node::default_node(),
            metrics: None,
            on_recompiled,
        };
        for deployment in engine.store.deployments().await.map_err(store_error)? {
            let loaded = deploy::load(&deployment)?;
            deploy::check_recompiled(&loaded, on_recompiled)?;
            engine.insert(loaded);
        }
        Ok(engine)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Loads the deployments the store holds that this engine does not have yet (made by
    /// another engine process on the same store: a node hears of them on the change feed).
    /// Returns the (SOP, version) pairs loaded.
    pub async fn refresh_deployments(&self) -> Result<Vec<(String, u32)>, RuntimeError> {
        let mut loaded = Vec::new();
        for deployment in self.store.deployments().await.map_err(store_error)? {
            let known = self
                .deployed
                .read()
                .map(|m| m.get(&deployment.sop).is_some_and(|v| v.contains_key(&deployment.version)))
                .unwrap_or(false);
            if !known {
                let d = deploy::load(&deployment)?;
                deploy::check_recompiled(&d, self.on_recompiled)?;
                loaded.push((deployment.sop.clone(), deployment.version));
                self.insert(d);
            }
        }
        Ok(loaded)
    }

    /// True while this engine itself is saving `sop` at `version` (the change feed may
    /// announce the save before the engine holds it).
    pub fn is_deploying(&self, sop: &str, version: u32) -> bool {
        self.saving.lock().map(|s| s.contains(&(sop.to_string(), version))).unwrap_or(false)
    }

    /// The engine counting its commands and timer firings in `metrics`, and its store its commits.
    pub fn with_metrics(mut self, metrics: Arc<EngineMetrics>) -> Engine {
        self.store.observe(metrics.store());
        self.metrics = Some(metrics);
        self
    }

    /// Counts a command's result (when the engine has metrics) and hands it on.
    fn counted<T>(&self, command: Command, result: Result<T, RuntimeError>) -> Result<T, RuntimeError> {
        if let Some(metrics) = &self.metrics {
            metrics.command(command, &result);
        }
        match &result {
            Err(RuntimeError::Store(error)) => tracing::warn!(%error, "command failed in the store"),
            _ => tracing::debug!(result = Outcome::of(&result).word(), "command"),
        }
        result
    }

    /// The same engine claiming deadlines as `node` (default: host name, process id and a
    /// random part, so every process is a node of its own).
    pub fn with_node(mut self, node: impl Into<String>) -> Engine {
        self.node = node.into();
        self
    }

    /// The name this engine claims deadlines under.
    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn insert(&self, loaded: Deployed) {
        if let Ok(mut map) = self.deployed.write() {
            let versions = map.entry(loaded.deployment.sop.clone()).or_default();
            versions.insert(loaded.deployment.version, Arc::new(loaded));
        }
    }

    /// The flow a case runs on: its SOP at its version, and its variant's steps when the SOP
    /// has variants.
    pub fn case_deployment(&self, case: &CaseState) -> Result<Arc<Deployed>, RuntimeError> {
        let written = self.deployment(&case.sop, Some(case.version))?;
        written.variant(case.variant.as_deref()).ok_or_else(|| unknown_variant(&written, case.variant.as_deref()))
    }

    /// The deployment of `sop` at `version`, or the latest.
    pub fn deployment(&self, sop: &str, version: Option<u32>) -> Result<Arc<Deployed>, RuntimeError> {
        let map = self.deployed.read().map_err(|_| RuntimeError::Store("deployments lock poisoned".into()))?;
        let Some(versions) = map.get(sop) else { return Err(RuntimeError::UnknownSop(sop.to_string())) };
        let found = match version {
            Some(v) => versions.get(&v),
            None => versions.values().next_back(),
        };
        found
            .cloned()
            .ok_or_else(|| RuntimeError::UnknownVersion { sop: sop.to_string(), version: version.unwrap_or(0) })
    }

    /// Every deployed SOP version, latest last for each SOP.
    pub fn deployments(&self) -> Vec<Arc<Deployed>> {
        let mut all: Vec<_> =
            self.deployed.read().map(|m| m.values().flat_map(|v| v.values().cloned()).collect()).unwrap_or_default();
        all.sort_by(|a, b| (&a.deployment.sop, a.deployment.version).cmp(&(&b.deployment.sop, b.deployment.version)));
        all
    }

    /// Deploys an SOP file with the calendar files of `calendar_dir`. A changed file becomes a
    /// new version; running cases stay on theirs. Its imports and calls are read from its SOP
    /// folder (`compile::folders::sop_root`).
    pub async fn deploy_file(&self, path: &Path, calendar_dir: &Path) -> Result<DeployResult, RuntimeError> {
        self.deploy_file_within(path, &crate::compile::folders::sop_root(path), calendar_dir).await
    }

    /// [`Engine::deploy_file`] reading imports and calls only from inside `root`.
    pub async fn deploy_file_within(
        &self,
        path: &Path,
        root: &Path,
        calendar_dir: &Path,
    ) -> Result<DeployResult, RuntimeError> {
        let mut calendar_map = crate::syntax::SourceMap::new();
        let (set, problems) = crate::compile::calendar::load_dir(calendar_dir, &mut calendar_map);
        if problems.iter().any(|d| d.is_error()) {
            return Err(RuntimeError::Calendar(crate::diagnostic::render_all(
                &calendar_map,
                &problems,
                crate::diagnostic::Lang::En,
            )));
        }
        let calendars: Vec<(String, String)> =
            calendar_map.files().map(|(_, f)| (f.name.clone(), f.text.clone())).collect();
        let names: Vec<String> = set.names().map(str::to_string).collect();
        let day_lengths =
            names.iter().filter_map(|n| set.calendar(n).ok().map(|c| (n.clone(), c.day_length_minutes()))).collect();
        let options = crate::compile::Options { calendars: Some(names), day_lengths, ..Default::default() };
        let compiled = crate::compile::compile_path_within(path, root, &options);
        if compiled.has_errors() {
            return Err(RuntimeError::InvalidSop(crate::diagnostic::render_all(
                &compiled.sources,
                &compiled.diagnostics,
                crate::diagnostic::Lang::En,
            )));
        }
        let Some(sop) = &compiled.sop else { return Err(RuntimeError::InvalidSop("no `sop` in the file".into())) };
        let sources = deploy::sources_of(&compiled.sources);
        self.deploy_sources(&sop.id.name, sources, calendars).await
    }

    /// Deploys kept sources (the SOP file first) with calendar files.
    pub async fn deploy_sources(
        &self,
        sop_id: &str,
        sources: Vec<(String, String)>,
        calendars: Vec<(String, String)>,
    ) -> Result<DeployResult, RuntimeError> {
        let sha256 = deploy::fingerprint(&sources, &calendars);
        // Another engine on the same store may deploy the same SOP at the same time: the store
        // keeps the first save of a version and ignores the others. So after saving, the
        // version is read back; if another engine's text took it, ours goes to the next one
        // (or is that version, when the texts are the same).
        for _ in 0..8 {
            let latest = self.deployment(sop_id, None).ok();
            if let Some(latest) = &latest {
                // The same text, unless this alur compiles it differently: then it is deployed
                // again as a new version (new cases run on that; the old one's stay as accepted).
                if latest.deployment.sha256 == sha256
                    && !matches!(latest.recompiled, deploy::Recompiled::Differs { .. })
                {
                    return Ok(DeployResult {
                        sop: sop_id.to_string(),
                        version: latest.deployment.version,
                        new: false,
                    });
                }
            }
            let version = latest.map(|l| l.deployment.version + 1).unwrap_or(1);
            let mut deployment = Deployment {
                sop: sop_id.to_string(),
                version,
                sha256: sha256.clone(),
                sources: sources.clone(),
                calendars: calendars.clone(),
                deployed_at: self.clock.now(),
                compiler: Some(deploy::COMPILER.to_string()),
                model_sha256: None,
            };
            let loaded = deploy::load(&deployment)?;
            deployment.model_sha256 = Some(loaded.model_sha256.clone());
            if loaded.sop.id.name != sop_id {
                return Err(RuntimeError::InvalidSop(format!(
                    "the file defines `{}`, not `{sop_id}`",
                    loaded.sop.id.name
                )));
            }
            let key = (sop_id.to_string(), version);
            if let Ok(mut saving) = self.saving.lock() {
                saving.insert(key.clone());
            }
            let saved = match self.store.save_deployment(&deployment).await.map_err(store_error) {
                Ok(()) => self.refresh_deployments().await.map(|_| ()),
                Err(error) => Err(error),
            };
            if let Ok(mut saving) = self.saving.lock() {
                saving.remove(&key);
            }
            saved?;
            let saved = self.deployment(sop_id, Some(version))?;
            if saved.deployment.sha256 == sha256 {
                // Ours, or the same text saved by another engine first (told apart by the
                // instant of the save).
                let new = saved.deployment.deployed_at == deployment.deployed_at;
                return Ok(DeployResult { sop: sop_id.to_string(), version, new });
            }
        }
        Err(RuntimeError::Store(format!("deploying {sop_id}: other nodes kept deploying other texts; try again")))
    }

    fn cache_of(&self, case: CaseId) -> &std::sync::Mutex<CaseCache> {
        &self.cache[case.0.as_u128() as usize % CACHE_SHARDS]
    }

    /// Reads a case: the cached fold brought up to date with the events appended since.
    pub async fn load(&self, case: CaseId) -> Result<CaseState, RuntimeError> {
        let cached = self.cached(case);
        let after = cached.as_ref().map_or(0, |s| s.seq);
        let events = self.store.events_after(case, after).await.map_err(store_error)?;
        let state = self.brought_up_to_date(cached, &events).ok_or(RuntimeError::UnknownCase(case))?;
        Ok(state)
    }

    /// A copy of the case's cached fold, if any.
    fn cached(&self, case: CaseId) -> Option<CaseState> {
        self.cache_of(case).lock().ok().and_then(|c| c.get(&case)?.as_deref().cloned())
    }

    /// The cached fold with the events appended since (or, without one, the fold of all the
    /// case's events), remembered; `None` for a case with no events.
    fn brought_up_to_date(&self, cached: Option<CaseState>, events: &[Recorded]) -> Option<CaseState> {
        let state = match cached {
            Some(mut state) => {
                events.iter().for_each(|event| state.apply(event));
                state
            }
            None => CaseState::fold(events)?,
        };
        self.remember(&state);
        Some(state)
    }

    /// [`load`](Engine::load) of many cases, in the order given, with one store read per
    /// [`LOAD_ROUND`] cases; a case the store does not hold is left out. For reports and lists
    /// that read every running case.
    pub async fn load_each(&self, cases: &[CaseId]) -> Result<Vec<CaseState>, RuntimeError> {
        let mut out = Vec::with_capacity(cases.len());
        for round in cases.chunks(LOAD_ROUND) {
            let cached: Vec<Option<CaseState>> = round.iter().map(|case| self.cached(*case)).collect();
            let asks: Vec<(CaseId, u64)> =
                round.iter().zip(&cached).map(|(case, state)| (*case, state.as_ref().map_or(0, |s| s.seq))).collect();
            let tails = self.store.events_after_each(&asks).await.map_err(store_error)?;
            for (cached, events) in cached.into_iter().zip(tails) {
                out.extend(self.brought_up_to_date(cached, &events));
            }
        }
        Ok(out)
    }

    /// The state a command starts from: the cached fold when there is one (no read from the
    /// store), otherwise the store's. A stale cache is caught by the conditional append, and
    /// the command is then tried once more on a fresh read.
    /// What never changes about a case: its SOP, the version it runs on, and its applicant.
    /// From the cached fold when there is one, so asking costs no store read.
    pub async fn identity(&self, case: CaseId) -> Result<CaseIdentity, RuntimeError> {
        let cached = self.cache_of(case).lock().ok().and_then(|c| {
            c.get(&case)?.as_deref().map(|s| CaseIdentity {
                sop: s.sop.clone(),
                version: s.version,
                applicant: s.applicant.clone(),
                variant: s.variant.clone(),
            })
        });
        match cached {
            Some(identity) => Ok(identity),
            None => {
                let s = self.load(case).await?;
                Ok(CaseIdentity { sop: s.sop, version: s.version, applicant: s.applicant, variant: s.variant })
            }
        }
    }

    async fn read(&self, case: CaseId, fresh: bool) -> Result<Box<CaseState>, RuntimeError> {
        if !fresh {
            // Taken out, not copied: the append puts the updated state back. A command that
            // fails first just leaves the next read to fold from the store.
            if let Some(state) = self.cache_of(case).lock().ok().and_then(|mut c| c.get_mut(&case)?.take()) {
                return Ok(state);
            }
        }
        self.load(case).await.map(Box::new)
    }

    fn remember_owned(&self, state: Box<CaseState>) {
        if let Ok(mut cache) = self.cache_of(state.id).lock() {
            if state.status != CaseStatus::Active {
                // A closed case takes no more commands: keeping its fold would only hold memory.
                cache.remove(&state.id);
                return;
            }
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            match cache.get_mut(&state.id) {
                Some(slot) => {
                    if slot.as_ref().is_none_or(|known| known.seq < state.seq) {
                        *slot = Some(state);
                    }
                }
                None => {
                    cache.insert(state.id, Some(state));
                }
            }
        }
    }

    fn remember(&self, state: &CaseState) {
        if state.status != CaseStatus::Active {
            return;
        }
        if let Ok(mut cache) = self.cache_of(state.id).lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            if cache.get(&state.id).and_then(Option::as_ref).is_none_or(|known| known.seq < state.seq) {
                cache.insert(state.id, Some(Box::new(state.clone())));
            }
        }
    }

    /// Every event of a case, in order: its full history.
    pub async fn history(&self, case: CaseId) -> Result<Vec<Recorded>, RuntimeError> {
        let events = self.store.events(case).await.map_err(store_error)?;
        if events.is_empty() {
            return Err(RuntimeError::UnknownCase(case));
        }
        Ok(events)
    }

    /// Appends events at the version `state` is at and keeps the updated fold. Returns what
    /// the engine owes after it (see `effects`).
    async fn append(
        &self,
        base: Base<'_>,
        case: CaseId,
        by: &Arc<str>,
        at: DateTime<Utc>,
        events: Vec<Event>,
    ) -> Result<FollowUps, RuntimeError> {
        let expected = match &base {
            Base::Case(state) => state.seq,
            Base::New(_) => 0,
        };
        let recorded: Vec<Recorded> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Recorded { case, seq: expected + 1 + i as u64, at, by: by.clone(), event })
            .collect();
        let follow_ups: Vec<Event> =
            recorded.iter().filter(|r| has_effects(&r.event)).map(|r| r.event.clone()).collect();
        // The store marks the case unsettled from these events' seqs (`store::summary`).
        let mut unsettled = recorded.iter().filter(|r| unsettles(&r.event)).map(|r| r.seq);
        let pending = unsettled.next().map(|first| (first, unsettled.next_back().unwrap_or(first)));
        // Folded before the store takes the events (without copying them); dropped if the
        // append is refused.
        let base_sop = match &base {
            Base::New(d) => Some(Arc::clone(d)),
            Base::Case(_) => None,
        };
        let updated = match base {
            Base::Case(mut next) => {
                recorded.iter().for_each(|r| next.apply(r));
                Some(next)
            }
            Base::New(d) => CaseState::fold(&recorded[..recorded.len().min(1)]).map(|mut fresh| {
                // The task list sized for the SOP's steps before the first task goes in (see
                // `complete_once`), and the deployment kept, so the first command needs neither.
                fresh.tasks.reserve_total(d.sop.steps.len());
                fresh.deployed = Some(DeployedRef(d.clone()));
                recorded.iter().skip(1).for_each(|r| fresh.apply(r));
                Box::new(fresh)
            }),
        };
        // A registered start: the store takes the number in the same transaction.
        let numbering = match (&base_sop, recorded.first().map(|r| &r.event)) {
            (Some(d), Some(Event::CaseStarted { registration: Some(_), .. })) => super::registration::numbering(d, at),
            _ => None,
        };
        let appended = match numbering {
            Some(numbering) => self.store.append_registered(case, recorded, &numbering).await.map(Some),
            None => self.store.append_owned(case, expected, recorded).await.map(|()| None),
        };
        let mut updated = updated;
        match appended {
            Ok(Some(registration)) => {
                if let Some(state) = updated.as_mut() {
                    state.number = Some(registration.number.clone());
                    state.registration = Some(registration);
                }
            }
            Ok(None) => {}
            Err(error) => {
                // Our view was stale or lost a race: forget it, the retry reads the store.
                if let Ok(mut cache) = self.cache_of(case).lock() {
                    cache.remove(&case);
                }
                return Err(store_error(error));
            }
        }
        let mut settle = pending.map(|(first, last)| (Unsettled { case, first, last }, Vec::new()));
        if let Some(updated) = updated {
            if let Some((_, tallies)) = settle.as_mut().filter(|_| updated.status != CaseStatus::Active) {
                // A closed case's tasks are final: counted for the reports once, now.
                if let Ok(d) = self.case_deployment(&updated) {
                    *tallies = case_tallies(&updated, &d, at);
                }
            }
            self.remember_owned(updated);
        }
        Ok(FollowUps { events: follow_ups, settle })
    }

    /// Starts a case on the latest version of `sop`. `entry` picks the entry step where the
    /// SOP offers alternatives (at the counter or online).
    pub async fn start_case(
        &self,
        sop: &str,
        applicant: &str,
        fields: Fields,
        entry: Option<&str>,
    ) -> Result<CaseId, RuntimeError> {
        self.start_case_of(sop, None, applicant, fields, entry).await
    }

    /// Starts a case of one service variant of an SOP that has them (`varian`): the case runs
    /// on that variant's steps and times. An SOP with variants refuses a case without one.
    pub async fn start_case_of(
        &self,
        sop: &str,
        variant: Option<&str>,
        applicant: &str,
        fields: Fields,
        entry: Option<&str>,
    ) -> Result<CaseId, RuntimeError> {
        let span =
            tracing::info_span!("command", command = "start", sop, case = tracing::field::Empty, user = applicant);
        async {
            let result = self.start_new(sop, variant, applicant, fields, entry).await;
            if let Ok(case) = &result {
                tracing::Span::current().record("case", tracing::field::display(case));
            }
            self.counted(Command::Start, result)
        }
        .instrument(span)
        .await
    }

    async fn start_new(
        &self,
        sop: &str,
        variant: Option<&str>,
        applicant: &str,
        fields: Fields,
        entry: Option<&str>,
    ) -> Result<CaseId, RuntimeError> {
        let written = self.deployment(sop, None)?;
        if written.sop.needs_variant() && variant.is_none() {
            return Err(unknown_variant(&written, None));
        }
        let d = written.variant(variant).ok_or_else(|| unknown_variant(&written, variant))?;
        check_fields(&d.sop, &fields)?;
        if let Some(entry) = entry {
            let entries = d.interpreter.entries(&d.sop);
            if !entries.iter().any(|&s| d.sop.steps[s].id.name == entry) {
                let allowed = entries.iter().map(|&s| d.sop.steps[s].id.name.clone()).collect();
                return Err(RuntimeError::UnknownEntry { entry: entry.to_string(), allowed });
            }
        }
        let case = CaseId::new();
        self.start_with_id(case, &d, applicant, fields, entry, None).await?;
        Ok(case)
    }

    async fn start_with_id(
        &self,
        case: CaseId,
        d: &Arc<Deployed>,
        applicant: &str,
        fields: Fields,
        entry: Option<&str>,
        parent: Option<(CaseId, TaskNo)>,
    ) -> Result<(), RuntimeError> {
        let now = self.clock.now();
        let mut plan = Plan::new(d, None, now, Cow::Owned(fields.clone()));
        plan.entry = entry.map(str::to_string);
        plan.events.push(Event::CaseStarted {
            sop: d.sop.id.name.clone(),
            version: d.deployment.version,
            applicant: applicant.to_string(),
            fields,
            parent,
            entry: entry.map(str::to_string),
            variant: d.sop.variant.as_ref().map(|v| v.name.clone()),
            // A sub-procedure's case is the office's own work, not an application: no number.
            registration: d
                .sop
                .header
                .registration
                .as_ref()
                .filter(|_| parent.is_none())
                .map(|_| super::registration::unnumbered()),
        });
        plan.go(d.sop.flow.start);
        let events = plan.events;
        let follow_ups = self.append(Base::New(d), case, &Arc::from(applicant), now, events).await?;
        self.effects(case, parent, follow_ups).await
    }

    /// The open tasks of the given roles (every open task when `roles` is empty).
    pub async fn inbox(&self, roles: &[String]) -> Result<Vec<OpenTask>, RuntimeError> {
        self.store.inbox(roles).await.map_err(store_error)
    }

    /// [`Engine::inbox`] for the cases of one partition: for workers that split the cases
    /// between them, each taking its own share's tasks.
    pub async fn inbox_of(&self, roles: &[String], partition: Partition) -> Result<Vec<OpenTask>, RuntimeError> {
        self.store.inbox_of(roles, partition).await.map_err(store_error)
    }

    fn open_task(state: &CaseState, task: TaskNo) -> Result<&super::case::Task, RuntimeError> {
        if state.status != CaseStatus::Active {
            return Err(RuntimeError::CaseClosed { case: state.id, state: state.status.word() });
        }
        let t = state.tasks.get(&task).ok_or(RuntimeError::UnknownTask { case: state.id, task })?;
        if t.status != TaskStatus::Open {
            return Err(RuntimeError::TaskNotOpen { task, state: t.status.word() });
        }
        Ok(t)
    }

    fn check_role(task: &super::case::Task, caller: &Caller) -> Result<(), RuntimeError> {
        if caller.is_system() || task.actors.iter().any(|a| caller.holds(a)) {
            Ok(())
        } else {
            Err(RuntimeError::WrongActor {
                task: task.no,
                actor: caller.roles.join(", "),
                expected: task.actors.join(" / "),
            })
        }
    }

    pub async fn claim(&self, case: CaseId, task: TaskNo, caller: &Caller) -> Result<(), RuntimeError> {
        self.claim_counted(case, task, caller).instrument(command_span(Command::Claim, case, Some(task), caller)).await
    }

    async fn claim_counted(&self, case: CaseId, task: TaskNo, caller: &Caller) -> Result<(), RuntimeError> {
        let result = match self.claim_once(case, task, caller, false).await {
            Ok(()) => Ok(()),
            Err(RuntimeError::Conflict(case)) => retried(case, self.claim_once(case, task, caller, true).await),
            // The cached view may be stale: decide on the store's.
            Err(_) => self.claim_once(case, task, caller, true).await,
        };
        self.counted(Command::Claim, result)
    }

    async fn claim_once(&self, case: CaseId, task: TaskNo, caller: &Caller, fresh: bool) -> Result<(), RuntimeError> {
        let state = self.read(case, fresh).await?;
        let t = Self::open_task(&state, task)?;
        Self::check_role(t, caller)?;
        if let Some(by) = &t.claimed_by {
            if **by != *caller.user {
                return Err(RuntimeError::ClaimedByOther { task, by: by.to_string() });
            }
            return Ok(());
        }
        self.append(
            Base::Case(state),
            case,
            &caller.user,
            self.clock.now(),
            vec![Event::TaskClaimed { task, user: caller.user.to_string() }],
        )
        .await
        .map(|_| ())
    }

    pub async fn release(&self, case: CaseId, task: TaskNo, caller: &Caller) -> Result<(), RuntimeError> {
        self.release_counted(case, task, caller)
            .instrument(command_span(Command::Release, case, Some(task), caller))
            .await
    }

    async fn release_counted(&self, case: CaseId, task: TaskNo, caller: &Caller) -> Result<(), RuntimeError> {
        let result = match self.release_once(case, task, caller, false).await {
            Ok(()) => Ok(()),
            Err(RuntimeError::Conflict(case)) => retried(case, self.release_once(case, task, caller, true).await),
            // The cached view may be stale: decide on the store's.
            Err(_) => self.release_once(case, task, caller, true).await,
        };
        self.counted(Command::Release, result)
    }

    async fn release_once(&self, case: CaseId, task: TaskNo, caller: &Caller, fresh: bool) -> Result<(), RuntimeError> {
        let state = self.read(case, fresh).await?;
        let t = Self::open_task(&state, task)?;
        Self::check_role(t, caller)?;
        match &t.claimed_by {
            Some(by) if **by == *caller.user => {}
            Some(by) => return Err(RuntimeError::ClaimedByOther { task, by: by.to_string() }),
            None => return Ok(()),
        }
        self.append(
            Base::Case(state),
            case,
            &caller.user,
            self.clock.now(),
            vec![Event::TaskReleased { task, user: caller.user.to_string() }],
        )
        .await
        .map(|_| ())
    }

    /// Completes a task with an outcome (for a decision), field values and a note.
    pub async fn complete(
        &self,
        case: CaseId,
        task: TaskNo,
        caller: &Caller,
        completion: Completion,
    ) -> Result<(), RuntimeError> {
        async {
            let result = self.complete_uncounted(case, task, caller, completion).await;
            self.counted(Command::Complete, result)
        }
        .instrument(command_span(Command::Complete, case, Some(task), caller))
        .await
    }

    /// [`Engine::complete`], not counted: for the parent's task an ending child case completes.
    async fn complete_uncounted(
        &self,
        case: CaseId,
        task: TaskNo,
        caller: &Caller,
        completion: Completion,
    ) -> Result<(), RuntimeError> {
        match self.complete_once(case, task, caller, &completion, false).await {
            Ok(()) => Ok(()),
            Err(RuntimeError::Conflict(case)) => {
                retried(case, self.complete_once(case, task, caller, &completion, true).await)
            }
            // The cached view may be stale: decide on the store's.
            Err(_) => self.complete_once(case, task, caller, &completion, true).await,
        }
    }

    async fn complete_once(
        &self,
        case: CaseId,
        task: TaskNo,
        caller: &Caller,
        completion: &Completion,
        fresh: bool,
    ) -> Result<(), RuntimeError> {
        let mut state = self.read(case, fresh).await?;
        // Looked up once per cached case: the shared table (a lock and a counter every core
        // writes to) is not touched on every command.
        if state.deployed.is_none() {
            let d = self.case_deployment(&state)?;
            // Room for a task per step: most cases take each step once, and a round of rework
            // grows the list by what it needs (see `Tasks::insert`), where doubling would copy
            // every task and leave half the room unused.
            state.tasks.reserve_total(d.sop.steps.len());
            state.deployed = Some(DeployedRef(d));
        }
        let t = Self::open_task(&state, task)?;
        Self::check_role(t, caller)?;
        if let Some(by) = &t.claimed_by {
            if **by != *caller.user && !caller.is_system() {
                return Err(RuntimeError::ClaimedByOther { task, by: by.to_string() });
            }
        }
        if t.hold.is_some() {
            return Err(RuntimeError::OnHold { task });
        }
        let d = match &state.deployed {
            Some(DeployedRef(d)) => d,
            None => return Err(RuntimeError::UnknownVersion { sop: state.sop.clone(), version: state.version }),
        };
        let sop = &d.sop;
        let step_index =
            d.step_index(&t.step).ok_or_else(|| RuntimeError::InvalidSop(format!("no step `{}`", t.step)))?;
        let step = &sop.steps[step_index];
        check_fields(sop, &completion.fields)?;
        let mut fields = completion.fields.clone();
        // Where the case goes next, and what the outcome means.
        let after = d.interpreter.after(sop, step_index, completion.outcome.as_deref()).map_err(|e| match e {
            OutcomeError::Unknown(allowed) => RuntimeError::UnknownOutcome {
                step: step.id.name.clone(),
                outcome: completion.outcome.clone().unwrap_or_default(),
                allowed: allowed.join(", "),
            },
            OutcomeError::Required(allowed) => {
                RuntimeError::OutcomeRequired { step: step.id.name.clone(), allowed: allowed.join(", ") }
            }
            OutcomeError::NoDecision => RuntimeError::NoDecision { step: step.id.name.clone() },
        })?;
        if let (Some(record), Some(outcome)) = (after.record, &completion.outcome) {
            fields.insert(record.to_string(), Value::Choice(outcome.clone()));
        }
        let next = after.node;
        let rework = after.rework.zip(completion.outcome.as_ref()).map(|(r, o)| (o.clone(), r.clone()));
        // The case's fields as they will be: copied only when the completion changes any.
        let all_fields = if fields.is_empty() {
            Cow::Borrowed(&state.fields)
        } else {
            let mut all = state.fields.clone();
            all.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            Cow::Owned(all)
        };
        // One reading of the clock for the whole command: the due dates it plans and the
        // instant its events carry are the same moment.
        let now = self.clock.now();
        let mut plan = Plan::new(d, Some(&state), now, all_fields);
        plan.events.push(Event::TaskCompleted {
            task,
            outcome: completion.outcome.clone(),
            fields,
            note: completion.note.clone(),
        });
        if let Some((outcome, policy)) = rework {
            let key = format!("{}/{outcome}", step.id.name);
            let used = state.rounds.get(&key).copied().unwrap_or(0);
            if let Some(max) = policy.max_rounds {
                if used >= max {
                    return Err(RuntimeError::RoundLimit { outcome, rounds: used });
                }
            }
            plan.events.push(Event::ReworkStarted { task, outcome, round: used + 1, clock: policy.clock });
        }
        if let Some(next) = next {
            plan.go(next);
        }
        let parent = state.parent;
        let events = plan.events;
        let follow_ups = self.append(Base::Case(state), case, &caller.user, now, events).await?;
        self.effects(case, parent, follow_ups).await
    }

    /// Attaches a document (a step's output) to a case.
    #[allow(clippy::too_many_arguments)]
    pub async fn attach(
        &self,
        case: CaseId,
        task: Option<TaskNo>,
        caller: &Caller,
        artifact: &str,
        name: &str,
        media_type: &str,
        content: Attachment,
    ) -> Result<(), RuntimeError> {
        async {
            let result = self.attach_uncounted(case, task, caller, artifact, name, media_type, content).await;
            self.counted(Command::Attach, result)
        }
        .instrument(command_span(Command::Attach, case, task, caller))
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn attach_uncounted(
        &self,
        case: CaseId,
        task: Option<TaskNo>,
        caller: &Caller,
        artifact: &str,
        name: &str,
        media_type: &str,
        content: Attachment,
    ) -> Result<(), RuntimeError> {
        let state = self.load(case).await?;
        if state.status != CaseStatus::Active {
            return Err(RuntimeError::CaseClosed { case, state: state.status.word() });
        }
        if let Some(task) = task {
            let t = Self::open_task(&state, task)?;
            Self::check_role(t, caller)?;
        }
        let d = self.case_deployment(&state)?;
        if d.sop.artifact(artifact).is_none() {
            return Err(RuntimeError::UnknownArtifact { artifact: artifact.to_string() });
        }
        let (size, sha256, storage) = match content {
            Attachment::Bytes(bytes) => {
                super::media::check_upload(media_type, &bytes)
                    .map_err(|refusal| RuntimeError::DocumentRefused { media_type: media_type.to_string(), refusal })?;
                let size = bytes.len() as u64;
                // Durable before the event naming it is appended: no event ever names a missing blob.
                let hash = self.store.put_blob(bytes).await.map_err(store_error)?;
                (size, hash, Storage::Blob)
            }
            Attachment::Reference { uri, size, sha256 } => (size, sha256, Storage::Reference { uri }),
        };
        let event = Event::ArtifactAttached(Box::new(super::event::Artifact {
            task,
            artifact: artifact.to_string(),
            name: name.to_string(),
            media_type: media_type.to_string(),
            size,
            sha256,
            storage,
        }));
        self.append(Base::Case(Box::new(state)), case, &caller.user, self.clock.now(), vec![event]).await.map(|_| ())
    }

    /// The bytes of a document attached to a case, checked against the hash its event holds:
    /// from the blob store, or from the event itself for a document stored inline before the
    /// blob store. A document stored elsewhere (`Storage::Reference`) has no bytes here.
    pub async fn document(&self, file: &super::event::Artifact) -> Result<Vec<u8>, RuntimeError> {
        match &file.storage {
            Storage::Blob => match self.store.blob(&file.sha256).await.map_err(store_error)? {
                Some(bytes) => Ok(bytes),
                None => Err(RuntimeError::Store(format!(
                    "the stored document {} (`{}`) is missing from the blob store",
                    file.sha256, file.name
                ))),
            },
            Storage::Inline { base64 } => {
                use base64::Engine as _;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(base64)
                    .map_err(|e| RuntimeError::Store(format!("the stored document {} is damaged: {e}", file.sha256)))?;
                super::store::verified(&file.sha256, bytes).map_err(store_error)
            }
            Storage::Reference { uri } => {
                Err(RuntimeError::Store(format!("the document `{}` is stored elsewhere: {uri}", file.name)))
            }
        }
    }

    pub async fn withdraw(&self, case: CaseId, caller: &Caller, reason: Option<String>) -> Result<(), RuntimeError> {
        async {
            let result = self.close(case, caller, Event::CaseWithdrawn { reason }).await;
            self.counted(Command::Withdraw, result)
        }
        .instrument(command_span(Command::Withdraw, case, None, caller))
        .await
    }

    pub async fn cancel(&self, case: CaseId, caller: &Caller, reason: Option<String>) -> Result<(), RuntimeError> {
        async {
            let result = self.close(case, caller, Event::CaseCancelled { reason }).await;
            self.counted(Command::Cancel, result)
        }
        .instrument(command_span(Command::Cancel, case, None, caller))
        .await
    }

    async fn close(&self, case: CaseId, caller: &Caller, event: Event) -> Result<(), RuntimeError> {
        match self.close_once(case, caller, event.clone(), false).await {
            Ok(()) => Ok(()),
            Err(RuntimeError::Conflict(case)) => retried(case, self.close_once(case, caller, event, true).await),
            // The cached view may be stale: decide on the store's.
            Err(_) => self.close_once(case, caller, event, true).await,
        }
    }

    async fn close_once(&self, case: CaseId, caller: &Caller, event: Event, fresh: bool) -> Result<(), RuntimeError> {
        let state = self.read(case, fresh).await?;
        if state.status != CaseStatus::Active {
            return Err(RuntimeError::CaseClosed { case, state: state.status.word() });
        }
        let parent = state.parent;
        let follow_ups = self.append(Base::Case(state), case, &caller.user, self.clock.now(), vec![event]).await?;
        // Nothing acts on another case; the close is counted for the reports.
        self.effects(case, parent, follow_ups).await
    }

    /// Puts an open task on hold (`penangguhan`): the office waits for what `reason` says. The
    /// task leaves the inbox, its deadline and the service clock stand still, and if it is not
    /// resumed by the step's maximum the timer sends the case where the SOP says.
    pub async fn hold(&self, case: CaseId, task: TaskNo, caller: &Caller, reason: &str) -> Result<(), RuntimeError> {
        async {
            let result = match self.hold_once(case, task, caller, reason, false).await {
                Ok(()) => Ok(()),
                Err(RuntimeError::Conflict(case)) => {
                    retried(case, self.hold_once(case, task, caller, reason, true).await)
                }
                // The cached view may be stale: decide on the store's.
                Err(_) => self.hold_once(case, task, caller, reason, true).await,
            };
            self.counted(Command::Hold, result)
        }
        .instrument(command_span(Command::Hold, case, Some(task), caller))
        .await
    }

    async fn hold_once(
        &self,
        case: CaseId,
        task: TaskNo,
        caller: &Caller,
        reason: &str,
        fresh: bool,
    ) -> Result<(), RuntimeError> {
        let state = self.read(case, fresh).await?;
        let t = Self::held_task(&state, task, caller)?;
        if t.hold.is_some() {
            return Err(RuntimeError::AlreadyOnHold { task });
        }
        let d = self.case_deployment(&state)?;
        let step = d.sop.step(&t.step).ok_or_else(|| RuntimeError::InvalidSop(format!("no step `{}`", t.step)))?;
        let Some(hold) = &step.hold else { return Err(RuntimeError::HoldNotAllowed { step: step.id.name.clone() }) };
        let now = self.clock.now();
        let until = d.calendar.due(now, hold.max).at;
        let event = Event::TaskHeld { task, reason: reason.to_string(), until };
        self.append(Base::Case(state), case, &caller.user, now, vec![event]).await.map(|_| ())
    }

    /// Takes a task off hold: it is open again with the time it had left (its due instant
    /// moved by the working time it stood on hold).
    pub async fn resume(&self, case: CaseId, task: TaskNo, caller: &Caller) -> Result<(), RuntimeError> {
        async {
            let result = match self.resume_once(case, task, caller, false).await {
                Ok(()) => Ok(()),
                Err(RuntimeError::Conflict(case)) => retried(case, self.resume_once(case, task, caller, true).await),
                // The cached view may be stale: decide on the store's.
                Err(_) => self.resume_once(case, task, caller, true).await,
            };
            self.counted(Command::Resume, result)
        }
        .instrument(command_span(Command::Resume, case, Some(task), caller))
        .await
    }

    async fn resume_once(&self, case: CaseId, task: TaskNo, caller: &Caller, fresh: bool) -> Result<(), RuntimeError> {
        let state = self.read(case, fresh).await?;
        let t = Self::held_task(&state, task, caller)?;
        let Some(hold) = t.hold.as_deref() else { return Err(RuntimeError::NotOnHold { task }) };
        let d = self.case_deployment(&state)?;
        let now = self.clock.now();
        let held = d.calendar.working_minutes_between(hold.since, now);
        let event = Event::TaskResumed {
            task,
            step: t.step,
            actors: t.actors,
            due: t.due.map(|due| d.calendar.add_working_minutes(due, held)),
            claimed_by: t.claimed_by.as_deref().map(str::to_string),
            overdue: t.deadline_passed,
        };
        self.append(Base::Case(state), case, &caller.user, now, vec![event]).await.map(|_| ())
    }

    /// The open task a hold or a resume acts on: the caller holds its role and no one else
    /// has claimed it.
    fn held_task<'s>(
        state: &'s CaseState,
        task: TaskNo,
        caller: &Caller,
    ) -> Result<&'s super::case::Task, RuntimeError> {
        let t = Self::open_task(state, task)?;
        Self::check_role(t, caller)?;
        if let Some(by) = &t.claimed_by {
            if **by != *caller.user && !caller.is_system() {
                return Err(RuntimeError::ClaimedByOther { task, by: by.to_string() });
            }
        }
        Ok(t)
    }

    /// Fires every deadline due at `now`: escalations, notifications and routes happen once,
    /// as events. Returns how many tasks passed their deadline. With several engines on one
    /// store, each deadline is claimed by one of them (see `fire_claimed`).
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<usize, RuntimeError> {
        self.fire_claimed(now, super::node::LEASE).await
    }

    /// Claims due deadlines for this engine's node under a `lease` and fires them; a deadline
    /// another node holds is left to it (unless its lease ran out). Firing is an append at the
    /// case's version, so even a deadline fired by two nodes (a lease that ran out while its
    /// node was still busy) takes effect once.
    pub async fn fire_claimed(&self, now: DateTime<Utc>, lease: chrono::Duration) -> Result<usize, RuntimeError> {
        let mut fired = 0;
        loop {
            let timers = self.store.claim_due_timers(&self.node, now, lease, 256).await.map_err(store_error)?;
            if timers.is_empty() {
                return Ok(fired);
            }
            let mut progressed = false;
            for timer in timers {
                let lag = now - timer.due;
                let span = tracing::info_span!("timer", case = %timer.case, task = timer.task, due = %timer.due);
                let result = self.fire(timer.case, timer.task).instrument(span.clone()).await;
                if let Some(metrics) = &self.metrics {
                    metrics.command(Command::Fire, &result);
                    if let Ok(true) = result {
                        metrics.fired(lag);
                    }
                }
                span.in_scope(|| match &result {
                    Ok(true) => tracing::info!(lag_seconds = lag.num_milliseconds() as f64 / 1000.0, "deadline fired"),
                    Ok(false) => tracing::debug!("deadline with nothing to fire"),
                    Err(RuntimeError::Conflict(_)) => tracing::debug!("deadline raced a command; tried again"),
                    Err(error) => tracing::warn!(%error, "deadline not fired"),
                });
                match result {
                    Ok(true) => {
                        fired += 1;
                        progressed = true;
                    }
                    // Nothing to fire; the claim runs out by itself.
                    Ok(false) => progressed = true,
                    // Someone acted on the case meanwhile: give the claim back so the next
                    // round sees the new state.
                    Err(RuntimeError::Conflict(_)) => {
                        self.store.release_timer(&self.node, timer.case, timer.task).await.map_err(store_error)?
                    }
                    Err(other) => {
                        let _ = self.store.release_timer(&self.node, timer.case, timer.task).await;
                        return Err(other);
                    }
                }
            }
            if !progressed {
                return Ok(fired);
            }
        }
    }

    async fn fire(&self, case: CaseId, task: TaskNo) -> Result<bool, RuntimeError> {
        let state = self.load(case).await?;
        let Some(t) = state.tasks.get(&task) else { return Ok(false) };
        // A task on hold has no deadline running: its timer is the end of the longest hold.
        if let (TaskStatus::Open, CaseStatus::Active, Some(hold)) = (t.status, state.status, t.hold.as_deref()) {
            let now = self.clock.now();
            if now < hold.until {
                return Ok(false);
            }
            let d = self.case_deployment(&state)?;
            let target = d.step_index(&t.step).and_then(|i| d.interpreter.after_hold(&d.sop, i));
            let mut plan = Plan::new(&d, Some(&state), now, Cow::Borrowed(&state.fields));
            plan.events.push(Event::HoldExpired { task });
            plan.events.push(Event::TaskExpired { task });
            if let Some(target) = target {
                plan.go(target);
            }
            let parent = state.parent;
            let events = plan.events;
            let follow_ups = self.append(Base::Case(Box::new(state)), case, &system_user(), now, events).await?;
            self.effects(case, parent, follow_ups).await?;
            return Ok(true);
        }
        if t.status != TaskStatus::Open || t.deadline_passed || state.status != CaseStatus::Active {
            // Nothing to do; record nothing but make sure the timer goes.
            let events = vec![Event::DeadlinePassed { task }];
            if t.status == TaskStatus::Open && state.status == CaseStatus::Active && !t.deadline_passed {
                self.append(Base::Case(Box::new(state)), case, &system_user(), self.clock.now(), events).await?;
            }
            return Ok(false);
        }
        let d = self.case_deployment(&state)?;
        let sop = &d.sop;
        let step_index = d.step_index(&t.step);
        let now = self.clock.now();
        let mut plan = Plan::new(&d, Some(&state), now, Cow::Borrowed(&state.fields));
        plan.events.push(Event::DeadlinePassed { task });
        if let Some(step) = step_index.map(|i| &sop.steps[i]) {
            for action in &step.deadline_actions {
                match action {
                    DeadlineAction::Escalate { actor, .. } => {
                        plan.events.push(Event::TaskEscalated { task, to: actor.name.clone() })
                    }
                    DeadlineAction::Notify { actor, .. } => {
                        plan.events.push(Event::Notified { task, to: actor.name.clone() })
                    }
                    DeadlineAction::Route { .. } => {
                        let target = step_index.and_then(|i| d.interpreter.after_deadline(sop, i));
                        plan.events.push(Event::TaskExpired { task });
                        if let Some(target) = target {
                            plan.go(target);
                        }
                        break;
                    }
                }
            }
        }
        let parent = state.parent;
        let events = plan.events;
        let follow_ups = self.append(Base::Case(Box::new(state)), case, &system_user(), now, events).await?;
        self.effects(case, parent, follow_ups).await?;
        Ok(true)
    }

    /// What follows an append in other cases: a sub-procedure starts as a child case; a child
    /// case that ends completes its parent's task with the end as the outcome. Idempotent, so
    /// `recover` can run it again after a crash. `parent` is the case's parent (when it is a
    /// sub-procedure): every caller knows it, so a case that ends is not read again for it.
    async fn effects(
        &self,
        case: CaseId,
        parent: Option<(CaseId, TaskNo)>,
        follow_ups: FollowUps,
    ) -> Result<(), RuntimeError> {
        for event in &follow_ups.events {
            match event {
                Event::ChildStarted { task, child } => {
                    let state = self.load(case).await?;
                    let Some(t) = state.tasks.get(task) else { continue };
                    let d = self.case_deployment(&state)?;
                    let Some(call) = d.sop.step(&t.step).and_then(|s| s.call.as_ref()) else { continue };
                    let Some(callee) = call.sop.clone() else { continue };
                    let child_d = self.deployment(&callee, None)?;
                    match Box::pin(self.start_with_id(
                        *child,
                        &child_d,
                        &state.applicant,
                        state.fields.clone(),
                        None,
                        Some((case, *task)),
                    ))
                    .await
                    {
                        Ok(()) | Err(RuntimeError::Conflict(_)) => {}
                        Err(other) => return Err(other),
                    }
                }
                Event::CaseEnded { end } => {
                    if let Some((parent, task)) = parent {
                        let completion = Completion { outcome: Some(end.clone()), ..Completion::default() };
                        match Box::pin(self.complete_uncounted(parent, task, &Caller::system(), completion)).await {
                            Ok(()) | Err(RuntimeError::TaskNotOpen { .. }) | Err(RuntimeError::CaseClosed { .. }) => {}
                            Err(other) => return Err(other),
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some((unsettled, tallies)) = follow_ups.settle {
            // Not settled (the case moved on meanwhile, or the store failed): the marker stays
            // and the next `recover` settles it; the command itself is done.
            if let Err(error) = self.store.settle(unsettled, &tallies).await {
                tracing::warn!(%case, %error, "settling a case failed; the next start settles it");
            }
        }
        Ok(())
    }

    /// Re-runs the cross-case effects of the cases whose follow-ups may not have happened (a
    /// crash between an append and its effects, or a database migrated to the summaries) and
    /// counts the closed ones among them into the reports. Reads only those cases: the store
    /// keeps them marked until settled (`store::summary`).
    pub async fn recover(self: &Arc<Self>) -> Result<(), RuntimeError> {
        if projections_off() {
            for case in self.store.case_ids().await.map_err(store_error)? {
                let events = self.history(case).await?;
                let parent = CaseState::fold(&events[..1]).and_then(|s| s.parent);
                let follow_ups: Vec<Event> = events.into_iter().map(|r| r.event).filter(has_effects).collect();
                self.effects(case, parent, FollowUps { events: follow_ups, settle: None }).await?;
            }
            return Ok(());
        }
        // Several at once, each on a task of its own: each settle is a commit, and the SQLite
        // store's group commit takes the settles of many commands in one (one at a time, the
        // first start after the upgrade of a file of 10,000 cases took 36 s). The follow-ups
        // are idempotent, so their order does not matter.
        let mut running = tokio::task::JoinSet::new();
        for unsettled in self.store.unsettled().await.map_err(store_error)? {
            if running.len() >= RECOVER_AT_ONCE {
                joined(running.join_next().await)?;
            }
            let engine = self.clone();
            running.spawn(async move { engine.settle_case(unsettled).await });
        }
        while let Some(done) = running.join_next().await {
            joined(Some(done))?;
        }
        Ok(())
    }

    /// Re-runs one unsettled case's follow-ups and settles it (see `recover`).
    async fn settle_case(&self, unsettled: Unsettled) -> Result<(), RuntimeError> {
        let case = unsettled.case;
        let events = self.history(case).await?;
        let state = CaseState::fold(&events).ok_or(RuntimeError::UnknownCase(case))?;
        let tallies = match self.case_deployment(&state) {
            Ok(d) if state.status != CaseStatus::Active => case_tallies(&state, &d, self.clock.now()),
            _ => Vec::new(),
        };
        let follow_ups: Vec<Event> = events.into_iter().map(|r| r.event).filter(has_effects).collect();
        let follow_ups = FollowUps { events: follow_ups, settle: Some((unsettled, tallies)) };
        self.effects(case, state.parent, follow_ups).await
    }
}

/// Unsettled cases `recover` works on at once.
const RECOVER_AT_ONCE: usize = 64;

/// The result of one of `recover`'s tasks.
fn joined(done: Option<Result<Result<(), RuntimeError>, tokio::task::JoinError>>) -> Result<(), RuntimeError> {
    match done {
        Some(Ok(result)) => result,
        Some(Err(error)) => Err(RuntimeError::Store(format!("recovering a case: {error}"))),
        None => Ok(()),
    }
}

/// What the engine owes after an append: the events that act on other cases, and the settle
/// of the case's marker (with a closed case's report tallies), once they are done.
struct FollowUps {
    events: Vec<Event>,
    settle: Option<(Unsettled, Vec<Tally>)>,
}

/// Whether an event acts on another case (a child case to start, a parent to complete).
fn has_effects(event: &Event) -> bool {
    matches!(event, Event::ChildStarted { .. } | Event::CaseEnded { .. })
}

/// The result of a command tried again after a conflict: if the case has meanwhile moved so
/// that the command no longer applies (the task was completed by someone else), that is the
/// conflict the caller must hear about.
fn retried(case: CaseId, result: Result<(), RuntimeError>) -> Result<(), RuntimeError> {
    match result {
        Err(
            RuntimeError::TaskNotOpen { .. } | RuntimeError::ClaimedByOther { .. } | RuntimeError::CaseClosed { .. },
        ) => Err(RuntimeError::Conflict(case)),
        other => other,
    }
}

/// A document's content.
pub enum Attachment {
    Bytes(Vec<u8>),
    Reference { uri: String, size: u64, sha256: String },
}

/// Field values must be declared and of the declared type.
fn check_fields(sop: &Sop, fields: &Fields) -> Result<(), RuntimeError> {
    for (name, value) in fields {
        let Some(field) = sop.field(name) else { return Err(RuntimeError::UnknownField { field: name.clone() }) };
        let ok = match (&field.ty, value) {
            (FieldType::Text, Value::Text(_)) | (FieldType::Number, Value::Number(_)) => true,
            (FieldType::Bool, Value::Bool(_)) | (FieldType::Date, Value::Date(_)) => true,
            (FieldType::Choice(choices), Value::Choice(c) | Value::Text(c)) => choices.contains(c),
            _ => false,
        };
        if !ok {
            let expected = match &field.ty {
                FieldType::Choice(c) => format!("one of {}", c.join(", ")),
                FieldType::Text => "text".into(),
                FieldType::Number => "a number".into(),
                FieldType::Bool => "yes or no".into(),
                FieldType::Date => "a date".into(),
            };
            return Err(RuntimeError::FieldType { field: name.clone(), expected, got: format!("{value:?}") });
        }
    }
    Ok(())
}

/// What a command's events are appended to: a case's fold, or a new case of a deployment.
enum Base<'a> {
    Case(Box<CaseState>),
    New(&'a Arc<Deployed>),
}

/// Works out the events that follow a command: the interpreter moves the case's token through
/// the flow, and each thing it reaches becomes an event. Pure: state and command in, events out.
struct Plan<'a> {
    d: &'a Deployed,
    now: DateTime<Utc>,
    /// The case's fields, which conditions read.
    fields: Cow<'a, Fields>,
    next_task: TaskNo,
    joined: HashMap<u32, u32>,
    entry: Option<String>,
    events: Vec<Event>,
}

impl crate::interpret::Case for Plan<'_> {
    fn fields(&self) -> &dyn FieldValues {
        &*self.fields
    }

    fn arrived(&self, join: NodeIndex) -> u32 {
        self.joined.get(&(join.index() as u32)).copied().unwrap_or(0)
    }

    fn set_arrived(&mut self, join: NodeIndex, count: u32) {
        if count == 0 {
            self.joined.remove(&(join.index() as u32));
        } else {
            self.joined.insert(join.index() as u32, count);
        }
    }

    fn alternative(&mut self, _choice: NodeIndex, first_steps: &[Option<usize>]) -> usize {
        let sop = &self.d.sop;
        self.entry
            .as_ref()
            .and_then(|entry| {
                first_steps.iter().position(|s| s.and_then(|s| sop.steps.get(s)).is_some_and(|s| s.id.name == *entry))
            })
            .unwrap_or(0)
    }
}

impl<'a> Plan<'a> {
    fn new(d: &'a Deployed, state: Option<&CaseState>, now: DateTime<Utc>, fields: Cow<'a, Fields>) -> Plan<'a> {
        Plan {
            d,
            now,
            fields,
            next_task: state.map(CaseState::next_task_no).unwrap_or(1),
            // Most cases never reach a join: no copy of the empty map then.
            joined: state.filter(|s| !s.joined.is_empty()).map(|s| s.joined.clone()).unwrap_or_default(),
            entry: state.and_then(|s| s.entry.clone()),
            events: Vec::new(),
        }
    }

    fn go(&mut self, start: NodeIndex) {
        let d = self.d;
        let mut reached = Vec::new();
        d.interpreter.walk(&d.sop, start, self, &mut reached);
        for r in reached {
            match r {
                Reached::Opened { step, .. } => self.open(step),
                Reached::DoneAtOnce { .. } => {
                    let task = self.next_task - 1;
                    self.events.push(Event::TaskCompleted { task, outcome: None, fields: Fields::new(), note: None });
                }
                Reached::Skipped { step } => {
                    self.events.push(Event::StepSkipped { step: d.sop.steps[step].id.name.clone() })
                }
                Reached::Joined { join, passed } => {
                    self.events.push(Event::BranchJoined { join: join.index() as u32, passed })
                }
                Reached::Ended { end, .. } => {
                    self.events.push(Event::CaseEnded { end: d.sop.ends[end].id.name.clone() })
                }
            }
        }
    }

    fn open(&mut self, step_index: usize) {
        let sop = &self.d.sop;
        let step = &sop.steps[step_index];
        let task = self.next_task;
        self.next_task += 1;
        let (_, due) = step_window(&self.d.calendar, step.time(), self.now);
        let (id, actors) = match self.d.step_names(step_index) {
            Some(names) => (names.id, names.actors),
            None => (step.id.name.as_str().into(), step.actor_ids().map(Name::new).collect()),
        };
        let (due, uncertain) = (due.map(|d| d.at), due.is_some_and(|d| d.uncertain));
        self.events.push(Event::TaskOpened { task, step: id, actors, due, uncertain });
        if step.call.as_ref().is_some_and(|c| c.sop.is_some()) {
            self.events.push(Event::ChildStarted { task, child: CaseId::new() });
        }
    }
}
