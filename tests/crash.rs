//! Crash safety of the SQLite store: a worker process (examples/crash_worker.rs) runs many
//! concurrent commands on one database and is killed with SIGKILL at random moments, then
//! started again on the same file, over and over. Afterwards every command it acknowledged is
//! in the store exactly once, every case's stream is whole, and the inbox index agrees with
//! the fold of the events.

use alur::runtime::store::prelude::*;
use alur::runtime::store::{OpenTask, Timer};
use alur::runtime::{CaseId, CaseState, Event, SqliteStore, TaskNo};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const ROUNDS: usize = 120;
/// Stop adding rounds past this (a slow machine), as long as the minimum was reached.
const BUDGET: Duration = Duration::from_secs(45);
const MIN_ROUNDS: usize = 100;

/// Builds the worker example (a no-op when it is fresh) next to this test binary, in the same
/// target directory and profile, and returns its path.
fn worker() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/integration-<hash>
    let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let target_dir = profile_dir.parent().unwrap().to_path_buf();
    let profile = profile_dir.file_name().unwrap().to_string_lossy().to_string();
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "--example", "crash_worker", "--target-dir"]).arg(&target_dir);
    build.current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile == "release" {
        build.arg("--release");
    }
    let status = build.status().unwrap();
    assert!(status.success(), "building the crash_worker example failed");
    let path = profile_dir.join("examples").join(format!("crash_worker{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "no worker at {}", path.display());
    path
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[derive(Debug)]
enum Ack {
    Start { case: CaseId, applicant: String },
    Complete { case: CaseId, task: TaskNo, user: String },
}

fn parse_ack(line: &str) -> Option<Ack> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["ack", "start", case, applicant] => {
            Some(Ack::Start { case: case.parse().unwrap(), applicant: applicant.to_string() })
        }
        ["ack", "complete", case, task, user] => {
            Some(Ack::Complete { case: case.parse().unwrap(), task: task.parse().unwrap(), user: user.to_string() })
        }
        _ => None,
    }
}

/// One run of the worker, killed after a random while. Returns its complete stdout lines and
/// its stderr.
fn run_once(worker: &PathBuf, db: &PathBuf, rng: &mut Rng) -> (Vec<String>, String) {
    let mut child = Command::new(worker)
        .arg(db)
        .arg("16")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut lines = Vec::new();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            // A line cut short by the kill was never acknowledged.
            if buf.last() != Some(&b'\n') {
                break;
            }
            let line = String::from_utf8_lossy(&buf).trim_end().to_string();
            if line == "ready" {
                let _ = ready_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    if rng.below(8) == 0 {
        // Now and then during start-up: opening, migrating, deploying.
        std::thread::sleep(Duration::from_millis(rng.below(60)));
    } else {
        ready_rx.recv_timeout(Duration::from_secs(20)).expect("the worker did not get ready");
        std::thread::sleep(Duration::from_millis(10 + rng.below(250)));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    (reader.join().unwrap(), errors.join().unwrap())
}

#[test]
fn acknowledged_commands_survive_sigkill() {
    let worker = worker();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rng = Rng(seed);
    let began = Instant::now();
    let mut acks = Vec::new();
    let mut rounds = 0;
    while rounds < ROUNDS && (rounds < MIN_ROUNDS || began.elapsed() < BUDGET) {
        let (lines, errors) = run_once(&worker, &db, &mut rng);
        assert!(
            !errors.contains("unexpected") && !errors.contains("panicked"),
            "round {rounds} (seed {seed}): the worker reported\n{errors}"
        );
        acks.extend(lines.iter().filter_map(|l| parse_ack(l)));
        rounds += 1;
    }
    let elapsed = began.elapsed();
    eprintln!("crash test: {rounds} kill rounds, {} acknowledged commands, {elapsed:.1?} (seed {seed})", acks.len());
    assert!(rounds >= MIN_ROUNDS);

    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        assert_eq!(store.deployments().await.unwrap().len(), 1, "one deployment however often it was deployed");

        // Every case's stream is whole: seqs 1..n, starting with CaseStarted.
        let ids = store.case_ids().await.unwrap();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        let mut states = BTreeMap::new();
        let mut streams = BTreeMap::new();
        for &case in &ids {
            let events = store.events(case).await.unwrap();
            assert!(matches!(events.first().map(|e| &e.event), Some(Event::CaseStarted { .. })), "case {case}");
            for (i, e) in events.iter().enumerate() {
                assert_eq!(e.seq, i as u64 + 1, "case {case} has a gap or a duplicate");
                assert_eq!(e.case, case);
            }
            states.insert(case, CaseState::fold(&events).unwrap());
            streams.insert(case, events);
        }

        // Every acknowledged command is there exactly once, as the event it caused.
        let mut starts = 0;
        let mut completes = 0;
        let mut seen = HashSet::new();
        for ack in &acks {
            match ack {
                Ack::Start { case, applicant } => {
                    starts += 1;
                    assert!(seen.insert(format!("start {case}")), "{case} acknowledged twice");
                    let state = states.get(case).unwrap_or_else(|| panic!("acknowledged case {case} is missing"));
                    assert_eq!(&state.applicant, applicant);
                    let started = streams[case].iter().filter(|r| matches!(r.event, Event::CaseStarted { .. })).count();
                    assert_eq!(started, 1);
                }
                Ack::Complete { case, task, user } => {
                    completes += 1;
                    assert!(seen.insert(format!("complete {case} {task}")), "{case}/{task} acknowledged twice");
                    let stream = streams.get(case).unwrap_or_else(|| panic!("case {case} of an ack is missing"));
                    let done: Vec<_> = stream
                        .iter()
                        .filter(|r| matches!(&r.event, Event::TaskCompleted { task: t, .. } if t == task))
                        .collect();
                    assert_eq!(done.len(), 1, "task {task} of {case} completed {} times", done.len());
                    assert_eq!(*done[0].by, **user, "task {task} of {case} was completed by someone else");
                }
            }
        }
        assert!(
            starts > 0 && completes > 0,
            "the worker acknowledged too little: {starts} starts, {completes} completions"
        );

        // The inbox and timer indexes agree with the fold of the events.
        let mut folded: Vec<OpenTask> = states
            .values()
            .flat_map(|s| {
                s.open_tasks().map(|t| OpenTask {
                    case: s.id,
                    task: t.no,
                    sop: s.sop.as_str().into(),
                    step: t.step,
                    actors: t.actors,
                    due: t.due,
                    claimed_by: t.claimed_by.as_deref().map(str::to_string),
                })
            })
            .collect();
        folded.sort_by_key(|t| (t.case, t.task));
        let indexed = store.open_tasks(&[]).await.unwrap();
        assert_eq!(indexed, folded);
        let mut timers: Vec<Timer> = states
            .values()
            .flat_map(|s| {
                s.open_tasks()
                    .filter(|t| !t.deadline_passed)
                    .filter_map(|t| t.due.map(|due| Timer { case: s.id, task: t.no, due }))
            })
            .collect();
        timers.sort_by_key(|t| (t.due, t.case, t.task));
        let far = chrono::DateTime::parse_from_rfc3339("9999-12-31T00:00:00Z").unwrap().to_utc();
        assert_eq!(store.due_timers(far, usize::MAX).await.unwrap(), timers);

        let ended = states.values().filter(|s| s.end.is_some()).count();
        let by_step: HashMap<&str, usize> = folded.iter().fold(HashMap::new(), |mut m, t| {
            *m.entry(&*t.step).or_default() += 1;
            m
        });
        eprintln!(
            "crash test: {} cases ({ended} ended), {starts} starts and {completes} completions acknowledged, \
             open tasks by step {by_step:?}",
            ids.len()
        );
    });
}
