//! PostgreSQL store benchmark, beside the SQLite store in the same run: appends per second and
//! append latency (p50, p99) with 1 and with 64 concurrent writers, the ratios between the two
//! stores, and how long a change takes to reach another node's change feed. Its physical
//! anchor, in the same run: `pgbench` on the same database with the same client counts, a
//! transaction of one UPDATE (the case's version) and one INSERT (the event), the shape of one
//! append in its own transaction; the PostgreSQL store's rate is printed as a ratio of it.
//! The PostgreSQL store runs twice: as shipped (group commit) and as before it (one
//! transaction per append, `ALUR_PG_GROUP_COMMIT=off`), so before and after are in one run.
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

/// `pgbench` with `clients` clients for `RUN` on the tables made by [`PGBENCH_TABLES`] in
/// `schema`: transactions per second, or why it could not run.
fn pgbench(base: &str, schema: &str, clients: usize, script: &std::path::Path) -> Result<f64, String> {
    // pgbench takes libpq's URL without alur's own parameters.
    let url = base.split_once('?').map_or(base, |(url, _)| url);
    let output = std::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", "2", "-T", &RUN.as_secs().to_string()])
        .arg("-f")
        .arg(script)
        .arg(url)
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .output()
        .map_err(|e| format!("pgbench: {e} (install the PostgreSQL client: apt-get install postgresql-client)"))?;
    let out = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("pgbench failed: {}{}", out, String::from_utf8_lossy(&output.stderr)));
    }
    out.lines()
        .find_map(|l| l.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("pgbench printed no `tps = `: {out}"))
}

/// What pgbench writes to: a case row per client and an event table shaped as the store's.
const PGBENCH_TABLES: &str = "
    CREATE TABLE pgbench_cases (id INT PRIMARY KEY, version BIGINT NOT NULL);
    INSERT INTO pgbench_cases SELECT i, 0 FROM generate_series(0, 255) i;
    CREATE TABLE pgbench_events (case_id INT, seq BIGINT, at TEXT, by TEXT, body TEXT, PRIMARY KEY (case_id, seq));";

/// One append's shape: the case's version moved on, the event inserted, one transaction.
const PGBENCH_SCRIPT: &str = "BEGIN;
UPDATE pgbench_cases SET version = version + 1 WHERE id = :client_id RETURNING version \\gset
INSERT INTO pgbench_events VALUES (:client_id, :version, now()::text, 'bench', '{\"type\":\"task_claimed\",\"task\":1,\"user\":\"u\"}');
END;
";

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
    // The store as before group commit (read when it opens), then as shipped.
    std::env::set_var("ALUR_PG_GROUP_COMMIT", "off");
    let before: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).await?);
    std::env::remove_var("ALUR_PG_GROUP_COMMIT");
    let pg = Arc::new(PostgresStore::open(&url).await?);
    let postgres: Arc<dyn Store> = pg.clone();
    let result = async {
        let mut rows = Vec::new();
        for writers in [1, MANY] {
            let s = measure(&sqlite, writers).await?;
            line("sqlite", writers, &s);
            let b = measure(&before, writers).await?;
            line("pg-before", writers, &b);
            let p = measure(&postgres, writers).await?;
            line("postgres", writers, &p);
            rows.push((writers, s, p, b));
        }
        // The anchor: pgbench, same database, same client counts.
        let script = temp.path().join("append.sql");
        std::fs::write(&script, PGBENCH_SCRIPT).map_err(|e| e.to_string())?;
        pg.pool()
            .get()
            .await
            .map_err(|e| e.to_string())?
            .batch_execute(PGBENCH_TABLES)
            .await
            .map_err(|e| e.to_string())?;
        let mut anchors = Vec::new();
        for (writers, ..) in &rows {
            let tps = pgbench(&base, &schema, *writers, &script)?;
            println!("pgbench    {writers:>2} client(s): {tps:>7.0} transactions/s (one UPDATE + one INSERT each)");
            anchors.push(tps);
        }
        for ((writers, s, p, b), tps) in rows.iter().zip(&anchors) {
            println!(
                "{writers:>2} writer(s): postgres/pgbench {:.2}x (before group commit {:.2}x, after/before {:.2}x); \
                 postgres/sqlite throughput {:.2}x, p99 {:.2}x",
                p.rate() / tps,
                b.rate() / tps,
                p.rate() / b.rate(),
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
