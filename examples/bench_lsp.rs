//! The language server's loop, end to end: `alur::lsp::serve` on an in-memory connection, a
//! client thread sending `didChange` (the whole text with one activity edited, as a keystroke
//! makes it) and timing until the `publishDiagnostics` of that version arrives: reading the
//! message, compiling and checking, turning the diagnostics into LSP ones, sending them. The
//! debounce is set to 0 so the time is the server's own (an editor adds its debounce, 120 ms by
//! default, on top). Prints p50, p95 and the mean.
//!
//! Usage: `cargo run --release --example bench_lsp -- [ROUNDS] [FILE]`
//! (defaults 500 and `sop/lks-lksa.sop`). A 1,000-step file:
//! `cargo run --release --example gen_sop -- 1000 > /tmp/big.sop` then pass `/tmp/big.sop`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::json;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(500);
    let path = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "sop/lks-lksa.sop".into()));
    let path = std::path::absolute(&path)?;
    let text = std::fs::read_to_string(&path)?;
    let at = text
        .match_indices("kegiatan")
        .map(|(i, _)| i)
        .find(|&i| text[..i].rsplit('\n').next().is_some_and(|indent| indent.trim().is_empty()))
        .and_then(|i| text[i..].find('"').map(|quote| i + quote + 1))
        .ok_or("the SOP has no `kegiatan` line to edit")?;
    let uri = lsp_types::Url::from_file_path(&path).map_err(|()| "not a file path")?.to_string();

    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || alur::lsp::serve(&server, alur::diagnostic::Lang::Id));
    let send = |message: Message| client.sender.send(message).map_err(|e| e.to_string());
    send(Message::Request(Request::new(
        RequestId::from(1),
        "initialize".into(),
        json!({ "capabilities": {}, "initializationOptions": { "debounceMs": 0 } }),
    )))?;
    let wait = |version: i64| -> Result<usize, String> {
        loop {
            match client.receiver.recv_timeout(Duration::from_secs(60)).map_err(|e| e.to_string())? {
                Message::Notification(n)
                    if n.method == "textDocument/publishDiagnostics" && n.params["version"] == version =>
                {
                    let errors = n.params["diagnostics"]
                        .as_array()
                        .map(|list| list.iter().filter(|d| d["severity"] == 1).count())
                        .unwrap_or(0);
                    return Ok(errors);
                }
                _ => {}
            }
        }
    };
    client.receiver.recv_timeout(Duration::from_secs(60))?; // the initialize response
    send(Message::Notification(Notification::new("initialized".into(), json!({}))))?;
    send(Message::Notification(Notification::new(
        "textDocument/didOpen".into(),
        json!({ "textDocument": { "uri": uri, "languageId": "alur", "version": 1, "text": text } }),
    )))?;
    wait(1)?;

    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds.max(1) {
        let version = round as i64 + 2;
        let edited = format!("{}{round} {}", &text[..at], &text[at..]);
        let change = Notification::new(
            "textDocument/didChange".into(),
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": edited }] }),
        );
        let start = Instant::now();
        send(Message::Notification(change))?;
        if wait(version)? > 0 {
            return Err(format!("{} does not check clean after the edit", path.display()).into());
        }
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    send(Message::Request(Request::new(RequestId::from(2), "shutdown".into(), json!(null))))?;
    send(Message::Notification(Notification::new("exit".into(), json!(null))))?;
    handle.join().map_err(|_| "the server panicked")??;

    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    println!(
        "alur lsp: diagnostics after an edit of {} ({} bytes), {} rounds: p50 {:.2} ms, p95 {:.2} ms, mean {:.2} ms",
        path.display(),
        text.len(),
        samples.len(),
        pick(0.5),
        pick(0.95),
        mean
    );
    Ok(())
}
