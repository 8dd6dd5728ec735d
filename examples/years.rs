//! Years of cases (issue 28): builds an SQLite database holding N finished and M open cases, as
//! an office that ran alur for years would have, for `scripts/bench-years.sh` to measure.
//!
//! `cargo run --release --example years -- --db FILE --finished N --open M [--years 4] [--seed 1]`
//!
//! The cases are real: the engine runs them on an in-memory store (the shipped SOPs of `sop/`,
//! every one that deploys, picked at random per case), a chunk at a time on a clock that moves
//! through the years: tasks completed through the inbox with the first outcome most of the
//! time and another one (a return, a refusal) now and then, documents attached to some tasks,
//! deadlines fired as the clock passes them. Each chunk's events are then written into the
//! SQLite file through the store's own append path, a case per append and many appends at once,
//! so the group commit writes them in large batches. The open cases are the last chunk, each
//! left after a random number of rounds.
//!
//! Prints what it made: cases, events, documents, seconds, and the file's size.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use alur::runtime::store::{BlobStore, DeploymentStore, EventLog, SqliteStore};
use alur::runtime::{Attachment, Caller, CaseId, Completion, Engine, ManualClock, MemoryStore, RuntimeError};
use chrono::{Duration, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    db: PathBuf,
    finished: usize,
    open: usize,
    years: i64,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args { db: PathBuf::from("target/years/alur.db"), finished: 10_000, open: 1_000, years: 4, seed: 1 };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--db" => a.db = PathBuf::from(value),
            "--finished" => a.finished = value.parse().unwrap_or(a.finished),
            "--open" => a.open = value.parse().unwrap_or(a.open),
            "--years" => a.years = value.parse().unwrap_or(a.years).max(1),
            "--seed" => a.seed = value.parse().unwrap_or(a.seed),
            other => eprintln!("ignored argument {other}"),
        }
    }
    a
}

/// Cases run on the in-memory store at once before they are written out.
const CHUNK: usize = 2_000;

/// Rounds of the inbox a chunk gets before what is still open is cancelled (a case that cannot
/// finish in the generator's simple hands: a step wanting fields it does not fill).
const MAX_ROUNDS: usize = 80;

/// The SOP files every chunk deploys: the shipped ones at the top of `sop/`.
fn sop_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("sop"))
        .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sop"));
    files.sort();
    files
}

struct Made {
    cases: usize,
    events: usize,
    documents: usize,
    cancelled: usize,
}

/// Runs `count` cases on a fresh in-memory engine from `start`; the open ones (`leave_open`)
/// stop after a random number of rounds. Returns the engine holding them and their ids.
async fn run_chunk(
    root: &Path,
    start: chrono::DateTime<Utc>,
    count: usize,
    leave_open: bool,
    rng: &mut rand_pcg::Pcg64,
    made: &mut Made,
) -> Result<(Arc<Engine>, Vec<CaseId>), Error> {
    let clock = Arc::new(ManualClock::new(start));
    let engine = Arc::new(Engine::new(Arc::new(MemoryStore::new()), clock.clone()).await?);
    let mut sops = Vec::new();
    for file in sop_files(root) {
        if let Ok(deployed) = engine.deploy_file(&file, &root.join("sop/calendars")).await {
            sops.push(deployed.sop);
        }
    }
    if sops.is_empty() {
        return Err("no SOP of sop/ deploys".into());
    }
    let mut cases = Vec::with_capacity(count);
    // The day's applications come in over the working day.
    for i in 0..count {
        let sop = &sops[rng.gen_range(0..sops.len())];
        let d = engine.deployment(sop, None)?;
        let variant = d.sop.variants.first().map(|v| v.id.name.to_string());
        match engine.start_case_of(sop, variant.as_deref(), "pemohon", Default::default(), None).await {
            Ok(case) => cases.push(case),
            Err(error) => eprintln!("start of a {sop} case refused: {error}"),
        }
        if i % 50 == 49 {
            clock.advance(Duration::minutes(7));
        }
    }
    // How many rounds each open case still gets.
    let mut rounds_left: foldhash::HashMap<CaseId, usize> =
        cases.iter().map(|c| (*c, if leave_open { rng.gen_range(0..8) } else { usize::MAX })).collect();
    let mut returned: foldhash::HashSet<CaseId> = Default::default();
    for _ in 0..MAX_ROUNDS {
        let inbox = engine.inbox(&[]).await?;
        if inbox.is_empty() {
            break;
        }
        let mut worked = 0;
        for task in inbox {
            let left = rounds_left.entry(task.case).or_insert(0);
            if *left == 0 {
                continue;
            }
            *left = left.saturating_sub(1);
            worked += 1;
            let roles: Vec<String> = task.actors.iter().map(|a| a.to_string()).collect();
            let caller = Caller::with_roles(format!("petugas-{}", roles.first().cloned().unwrap_or_default()), roles);
            if rng.gen_bool(0.1) {
                let bytes = format!("%PDF-1.4\n% berkas {} {}\n%%EOF\n", task.case, task.task).into_bytes();
                let name = format!("berkas-{}.pdf", task.task);
                if engine
                    .attach(
                        task.case,
                        Some(task.task),
                        &caller,
                        "lampiran",
                        &name,
                        "application/pdf",
                        Attachment::Bytes(bytes),
                    )
                    .await
                    .is_ok()
                {
                    made.documents += 1;
                }
            }
            let mut outcome = None;
            for _ in 0..3 {
                let completion = Completion { outcome: outcome.clone(), ..Completion::default() };
                match engine.complete(task.case, task.task, &caller, completion).await {
                    Err(RuntimeError::OutcomeRequired { allowed, .. }) => {
                        let allowed: Vec<&str> = allowed.split(", ").collect();
                        // A return or a refusal now and then, once per case.
                        let pick = if allowed.len() > 1 && !returned.contains(&task.case) && rng.gen_bool(0.15) {
                            returned.insert(task.case);
                            rng.gen_range(1..allowed.len())
                        } else {
                            0
                        };
                        outcome = allowed.get(pick).map(|s| s.to_string());
                    }
                    Err(RuntimeError::RoundLimit { .. }) => outcome = None,
                    _ => break,
                }
            }
        }
        if worked == 0 {
            break;
        }
        // Some hours pass between rounds: some tasks fall due, and their deadlines fire.
        clock.advance(Duration::hours(rng.gen_range(2..30)));
        engine.fire_due(engine.now()).await?;
    }
    if !leave_open {
        // What the simple hands could not finish is cancelled, as an office would.
        let system = Caller::system();
        for task in engine.inbox(&[]).await? {
            if engine.cancel(task.case, &system, Some("dibatalkan".into())).await.is_ok() {
                made.cancelled += 1;
            }
        }
    }
    // Every case the chunk made, the sub-procedures its cases started included (copying only
    // the cases started here left those out, and the first start then began them again).
    let every = engine.store().case_ids().await?;
    Ok((engine, every))
}

/// Writes the chunk's cases (events and documents) into the SQLite store, many appends at once.
async fn copy_out(engine: &Engine, cases: &[CaseId], store: &Arc<SqliteStore>, made: &mut Made) -> Result<(), Error> {
    let mut pending = Vec::with_capacity(cases.len());
    for case in cases {
        let events = engine.store().events(*case).await?;
        for r in &events {
            if let alur::runtime::event::Event::ArtifactAttached(file) = &r.event {
                if !store.has_blob(&file.sha256).await? {
                    if let Some(bytes) = engine.store().blob(&file.sha256).await? {
                        store.put_blob(bytes).await?;
                    }
                }
            }
        }
        made.events += events.len();
        made.cases += 1;
        let (store, case) = (store.clone(), *case);
        pending.push(tokio::spawn(async move { store.append_owned(case, 0, events).await }));
    }
    for p in pending {
        p.await??;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let a = args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let began = Instant::now();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", a.db.display()));
    }
    let _ = std::fs::remove_dir_all(format!("{}.blobs", a.db.display()));
    if let Some(parent) = a.db.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let store = Arc::new(SqliteStore::open(&a.db)?);
    let mut rng = rand_pcg::Pcg64::seed_from_u64(a.seed);
    let mut made = Made { cases: 0, events: 0, documents: 0, cancelled: 0 };
    // The finished cases spread over the years before now, the open ones in the last weeks.
    let now = Utc::now();
    let first = chrono_tz::Asia::Makassar
        .from_local_datetime(
            &(now - Duration::days(365 * a.years)).date_naive().and_hms_opt(8, 0, 0).unwrap_or_default(),
        )
        .single()
        .ok_or("start")?
        .with_timezone(&Utc);
    let chunks = a.finished.div_ceil(CHUNK).max(1);
    let span = (now - Duration::days(30)) - first;
    let mut deployed = false;
    let mut done = 0;
    for chunk in 0..chunks {
        let count = CHUNK.min(a.finished - done);
        if count == 0 {
            break;
        }
        let start = first + span * (chunk as i32) / (chunks as i32);
        let (engine, cases) = run_chunk(root, start, count, false, &mut rng, &mut made).await?;
        if !deployed {
            for d in engine.store().deployments().await? {
                store.save_deployment(&d).await?;
            }
            deployed = true;
        }
        copy_out(&engine, &cases, &store, &mut made).await?;
        done += count;
        eprintln!("{done} finished cases, {} events, {:.0} s", made.events, began.elapsed().as_secs_f64());
    }
    let mut open = 0;
    while open < a.open {
        let count = CHUNK.min(a.open - open);
        let start = now - Duration::days(21);
        let (engine, cases) = run_chunk(root, start, count, true, &mut rng, &mut made).await?;
        if !deployed {
            for d in engine.store().deployments().await? {
                store.save_deployment(&d).await?;
            }
            deployed = true;
        }
        copy_out(&engine, &cases, &store, &mut made).await?;
        open += count;
    }
    // The copied cases arrive unsettled (their follow-ups ran on the in-memory engines): one
    // recovery settles them and counts the closed ones into the report tallies, as the first
    // start after an upgrade does.
    let settling = Instant::now();
    let engine = Arc::new(Engine::new(store.clone(), Arc::new(alur::runtime::SystemClock)).await?);
    engine.recover().await?;
    drop(engine);
    println!("SETTLED {:.1} s", settling.elapsed().as_secs_f64());
    drop(store);
    let size = std::fs::metadata(&a.db).map(|m| m.len()).unwrap_or(0);
    println!(
        "MADE {} cases ({} finished asked, {} open asked, {} cancelled) {} events {} documents {:.1} s {} MB",
        made.cases,
        a.finished,
        a.open,
        made.cancelled,
        made.events,
        made.documents,
        began.elapsed().as_secs_f64(),
        size >> 20
    );
    Ok(())
}
