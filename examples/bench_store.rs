//! Store benchmark: appends per second and append latency (p50, p99) on the SQLite store for
//! one client and for 64 concurrent clients, next to the raw fsync rate of the same disk, so
//! the cost of durability and the gain of group commit can be read off.
//!
//! Usage: bench_store [DIR] [--fsync-only] (default: a temporary directory under the system temp
//! dir; pass a directory on the disk the store will live on to measure that disk).
//! `--fsync-only` prints just the raw fsync rate, so a script can measure it right next to
//! another benchmark (the disk of a shared machine changes speed from minute to minute).

use alur::runtime::store::EventLog;
use alur::runtime::{CaseId, Event, Recorded, SqliteStore};
use chrono::Utc;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(3);

struct Measured {
    appends: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.appends as f64 / self.elapsed.as_secs_f64()
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The most durable commits the disk allows, two ways, and the faster counts: appending a
/// small record to a file and `fdatasync` (the file grows, as a WAL does), and rewriting one
/// block in place and `fdatasync` (nothing but the data to sync).
fn raw_fsync_rate(dir: &Path) -> std::io::Result<f64> {
    let appending = fsync_loop(dir, false)?;
    let in_place = fsync_loop(dir, true)?;
    println!("raw fsync probes: appending {appending:.0}/s, rewriting in place {in_place:.0}/s");
    Ok(appending.max(in_place))
}

fn fsync_loop(dir: &Path, in_place: bool) -> std::io::Result<f64> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::OpenOptions::new().create(true).write(true).truncate(true).open(&path)?;
    let record = [b'a'; 512];
    if in_place {
        file.write_all(&[0u8; 4096])?;
        file.sync_all()?;
    }
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < RUN {
        if in_place {
            file.seek(SeekFrom::Start(0))?;
        }
        file.write_all(&record)?;
        file.sync_data()?;
        n += 1;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    Ok(rate)
}

fn event(case: CaseId, seq: u64, event: Event) -> Recorded {
    Recorded { case, seq, at: Utc::now(), by: "bench".into(), event }
}

/// One client: a case of its own, then one-event appends (claim, release, ...) back to back.
async fn client(store: Arc<SqliteStore>, until: Instant) -> Result<Vec<Duration>, String> {
    let case = CaseId::new();
    let start = vec![
        event(
            case,
            1,
            Event::CaseStarted {
                sop: "bench".into(),
                version: 1,
                applicant: "p".into(),
                fields: Default::default(),
                parent: None,
                entry: None,
                variant: None,
                registration: None,
            },
        ),
        event(
            case,
            2,
            Event::TaskOpened {
                task: 1,
                step: "a".into(),
                actors: ["x"].into_iter().collect(),
                due: Some(Utc::now()),
                uncertain: false,
            },
        ),
    ];
    store.append(case, 0, &start).await.map_err(|e| e.to_string())?;
    let mut seq = 2;
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let e = if seq % 2 == 0 {
            Event::TaskClaimed { task: 1, user: "u".into() }
        } else {
            Event::TaskReleased { task: 1, user: "u".into() }
        };
        let batch = [event(case, seq + 1, e)];
        let t = Instant::now();
        store.append(case, seq, &batch).await.map_err(|e| e.to_string())?;
        latencies.push(t.elapsed());
        seq += 1;
    }
    Ok(latencies)
}

async fn measure(store: &Arc<SqliteStore>, clients: usize) -> Result<Measured, String> {
    let started = Instant::now();
    let until = started + RUN;
    let handles: Vec<_> = (0..clients).map(|_| tokio::spawn(client(store.clone(), until))).collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok(Measured { appends: all.len(), elapsed, p50: percentile(&all, 0.50), p99: percentile(&all, 0.99) })
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fsync_only = args.iter().any(|a| a == "--fsync-only");
    let base = args.iter().find(|a| !a.starts_with("--")).cloned();
    let temp = tempfile::tempdir_in(base.unwrap_or_else(|| std::env::temp_dir().display().to_string()))?;
    let dir = temp.path();
    if fsync_only {
        let fsyncs = raw_fsync_rate(dir)?;
        println!("raw fsync (the faster probe): {fsyncs:.0}/s");
        return Ok(());
    }
    println!("store benchmark in {} ({} s per measurement)", dir.display(), RUN.as_secs());

    let fsyncs = raw_fsync_rate(dir)?;
    println!("raw fsync (the faster probe): {fsyncs:.0}/s");

    let store = Arc::new(SqliteStore::open(dir.join("bench.db"))?);
    let mut results = Vec::new();
    for clients in [1, 64] {
        let before = store.commit_stats();
        let r = measure(&store, clients).await?;
        let after = store.commit_stats();
        let per_commit = (after.requests - before.requests) as f64 / (after.commits - before.commits).max(1) as f64;
        println!(
            "{clients:>2} client(s): {:.0} appends/s, p50 {}, p99 {}, {} appends, {per_commit:.1} appends per commit",
            r.rate(),
            ms(r.p50),
            ms(r.p99),
            r.appends
        );
        results.push(r);
    }
    let one = results[0].rate();
    let many = results[1].rate();
    println!("64 clients / 1 client throughput: {:.1}x", many / one);
    println!("1 client / raw fsync: {:.2}", one / fsyncs);
    Ok(())
}
