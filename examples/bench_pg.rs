//! PostgreSQL store benchmark, beside the SQLite store in the same run: appends per second and
//! append latency (p50, p99) with 1 and with 64 concurrent writers, the ratios between the two
//! stores, and how long a change takes to reach another node's change feed.
//!
//! Usage: bench_pg [POSTGRES_URL] [DIR]
//!   POSTGRES_URL default: $ALUR_BENCH_PG, else postgres://postgres@127.0.0.1:5432/test. The run
//!   works in a schema of its own (`alur_bench_<random>`), dropped at the end.
//!   DIR: where the SQLite file goes (default: the system temp dir).

use alur::runtime::store::{Change, PostgresStore};
use alur::runtime::{CaseId, Event, Recorded, SqliteStore, Store};
use chrono::Utc;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each measurement runs.
const RUN: Duration = Duration::from_secs(3);

/// Writers in the concurrent measurement.
const MANY: usize = 64;

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

fn event(case: CaseId, seq: u64, event: Event) -> Recorded {
    Recorded { case, seq, at: Utc::now(), by: "bench".into(), event }
}

async fn start_case(store: &dyn Store, case: CaseId) -> Result<(), String> {
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
    store.append(case, 0, &start).await.map_err(|e| e.to_string())
}

/// The one-event append of step `seq` (claim and release in turn: they touch the inbox index).
fn step(case: CaseId, seq: u64) -> [Recorded; 1] {
    let e = if seq % 2 == 0 {
        Event::TaskClaimed { task: 1, user: "u".into() }
    } else {
        Event::TaskReleased { task: 1, user: "u".into() }
    };
    [event(case, seq + 1, e)]
}

/// One writer: a case of its own, then one-event appends back to back.
async fn writer(store: Arc<dyn Store>, until: Instant) -> Result<Vec<Duration>, String> {
    let case = CaseId::new();
    start_case(&*store, case).await?;
    let mut seq = 2;
    let mut latencies = Vec::new();
    while Instant::now() < until {
        let batch = step(case, seq);
        let t = Instant::now();
        store.append(case, seq, &batch).await.map_err(|e| e.to_string())?;
        latencies.push(t.elapsed());
        seq += 1;
    }
    Ok(latencies)
}

async fn measure(store: &Arc<dyn Store>, writers: usize) -> Result<Measured, String> {
    let started = Instant::now();
    let until = started + RUN;
    let handles: Vec<_> = (0..writers).map(|_| tokio::spawn(writer(store.clone(), until))).collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.map_err(|e| e.to_string())??);
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok(Measured { appends: all.len(), elapsed, p50: percentile(&all, 0.50), p99: percentile(&all, 0.99) })
}

/// From an append's return on one node to its announcement on another node's feed.
async fn feed_latency(a: &Arc<dyn Store>, b: &Arc<dyn Store>, samples: usize) -> Result<Measured, String> {
    let mut feed = b.changes();
    let case = CaseId::new();
    start_case(&**a, case).await?;
    let started = Instant::now();
    let mut all = Vec::new();
    for seq in 2..2 + samples as u64 {
        let batch = step(case, seq);
        let t = Instant::now();
        a.append(case, seq, &batch).await.map_err(|e| e.to_string())?;
        let want = Change::Appended { case, version: seq + 1 };
        loop {
            match tokio::time::timeout(Duration::from_secs(5), feed.recv()).await {
                Ok(Ok(change)) if change == want => break,
                Ok(Ok(_)) => {}
                other => return Err(format!("the change feed did not deliver: {other:?}")),
            }
        }
        all.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    all.sort();
    Ok(Measured { appends: all.len(), elapsed, p50: percentile(&all, 0.50), p99: percentile(&all, 0.99) })
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn line(name: &str, writers: usize, r: &Measured) {
    println!(
        "{name:<10} {writers:>2} writer(s): {:>7.0} appends/s  p50 {:>9}  p99 {:>9}",
        r.rate(),
        ms(r.p50),
        ms(r.p99)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .or_else(|| std::env::var("ALUR_BENCH_PG").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let temp = tempfile::tempdir_in(args.next().unwrap_or_else(|| std::env::temp_dir().display().to_string()))?;
    let schema = format!("alur_bench_{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}schema={schema}");
    println!(
        "store benchmark: SQLite in {} beside PostgreSQL (schema {schema}), {} s per measurement",
        temp.path().display(),
        RUN.as_secs()
    );

    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(temp.path().join("bench.db"))?);
    let pg = Arc::new(PostgresStore::open(&url).await?);
    let postgres: Arc<dyn Store> = pg.clone();
    let result = async {
        let mut rows = Vec::new();
        for writers in [1, MANY] {
            let s = measure(&sqlite, writers).await?;
            line("sqlite", writers, &s);
            let p = measure(&postgres, writers).await?;
            line("postgres", writers, &p);
            rows.push((writers, s, p));
        }
        for (writers, s, p) in &rows {
            println!(
                "{writers:>2} writer(s): postgres/sqlite throughput {:.2}x, p99 {:.2}x",
                p.rate() / s.rate(),
                p.p99.as_secs_f64() / s.p99.as_secs_f64().max(1e-9)
            );
        }
        println!(
            "{MANY} writers / 1 writer throughput: sqlite {:.1}x, postgres {:.1}x",
            rows[1].1.rate() / rows[0].1.rate(),
            rows[1].2.rate() / rows[0].2.rate()
        );
        // A second node on the same schema hears the first one's appends.
        let other: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).await.map_err(|e| e.to_string())?);
        let f = feed_latency(&postgres, &other, 500).await?;
        println!(
            "change feed, append returned on node A -> announced on node B: p50 {}, p99 {} ({} samples)",
            ms(f.p50),
            ms(f.p99),
            f.appends
        );
        Ok::<(), String>(())
    }
    .await;
    pg.drop_schema().await?;
    result?;
    Ok(())
}
