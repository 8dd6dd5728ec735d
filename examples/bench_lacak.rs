//! Public tracking under load (issue 24): `/lacak` answered over HTTP on loopback by the real
//! router, on the embedded SQLite store, with `CASES` registered LKS cases; `CONCURRENT`
//! lookups (number + tracking code, the receipt's QR link) at once, `ROUNDS` times. Prints
//! p50, p99 and the slowest lookup.
//!
//!     cargo run --release --example bench_lacak            # CASES=200 CONCURRENT=200 ROUNDS=5

use alur::runtime::{Engine, SqliteStore, SystemClock};
use alur::server::accounts::Accounts;
use alur::server::catalog::Catalog;
use alur::server::{router, AppState};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn var(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (cases, concurrent, rounds) = (var("CASES", 200), var("CONCURRENT", 200), var("ROUNDS", 5));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir()?;
    let text = std::fs::read_to_string(root.join("sop/lks-lksa.sop"))?;
    let text = text.replacen(
        "    kalender wita_kantor\n",
        "    kalender wita_kantor\n    nomor_pendaftaran \"503/{nomor:4}/DPMPTSP/{bulan:romawi}/{tahun}\"\n",
        1,
    );
    let sop = dir.path().join("lks-lksa.sop");
    std::fs::write(&sop, text)?;
    let store = Arc::new(SqliteStore::open(dir.path().join("alur.db"))?);
    let engine = Arc::new(Engine::new(store, Arc::new(SystemClock)).await?);
    engine.deploy_file(&sop, &root.join("sop/calendars")).await?;
    let mut lookups = Vec::new();
    for i in 0..cases {
        let case = engine.start_case("lks_lksa", &format!("p{i}"), Default::default(), None).await?;
        let r = engine.load(case).await?.registration.ok_or("a case without a number")?;
        lookups.push(format!("/lacak?nomor={}&kode={}", encode(&r.number), r.secret));
    }
    let state = Arc::new(AppState {
        engine,
        accounts: Arc::new(Accounts::open(None)?),
        catalog: Catalog::new(dir.path()),
        secure_cookies: false,
        throttle: Default::default(),
        metrics: Arc::new(alur::server::metrics::Metrics::new(None)?),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("serving: {e}");
        }
    });
    let lookups = Arc::new(lookups);
    let mut took: Vec<Duration> = Vec::new();
    let started = Instant::now();
    for round in 0..rounds {
        let tasks: Vec<_> = (0..concurrent)
            .map(|i| {
                let lookups = lookups.clone();
                tokio::spawn(async move {
                    let path = &lookups[(i + round) % lookups.len()];
                    let begun = Instant::now();
                    let mut stream = tokio::net::TcpStream::connect(addr).await?;
                    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
                    stream.write_all(request.as_bytes()).await?;
                    let mut reply = Vec::new();
                    stream.read_to_end(&mut reply).await?;
                    let took = begun.elapsed();
                    let reply = String::from_utf8_lossy(&reply);
                    if !reply.starts_with("HTTP/1.1 200") || !reply.contains("Menunggu Anda") {
                        return Err(format!("a lookup failed: {}", reply.lines().next().unwrap_or_default()).into());
                    }
                    Ok::<Duration, Error>(took)
                })
            })
            .collect();
        for task in tasks {
            took.push(task.await??);
        }
    }
    let wall = started.elapsed();
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q).ceil() as usize).saturating_sub(1).min(took.len() - 1)];
    println!(
        "lookups={} cases={cases} concurrent={concurrent} p50={:.1}ms p99={:.1}ms max={:.1}ms wall={:.2}s",
        took.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        took.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        wall.as_secs_f64()
    );
    Ok(())
}
