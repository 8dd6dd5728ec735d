//! `alur lsp`: the language server, driven in memory through its real loop (`lsp::serve` on an
//! `lsp-server` memory connection), and as the real binary by a real LSP client library
//! (tests/tools/lsp_client.mjs, vscode-languageserver-protocol, the library VS Code's client
//! is built on).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use serde_json::{json, Value};

use alur::diagnostic::Lang;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Client {
    connection: Connection,
    server: Option<std::thread::JoinHandle<Result<(), String>>>,
    next: i32,
    /// Notifications received while waiting for something else.
    notifications: Vec<Notification>,
}

impl Client {
    fn start(debounce_ms: u64) -> Client {
        let (server, client) = Connection::memory();
        let handle = std::thread::spawn(move || alur::lsp::serve(&server, Lang::Id));
        let mut c = Client { connection: client, server: Some(handle), next: 0, notifications: Vec::new() };
        c.request("initialize", json!({ "capabilities": {}, "initializationOptions": { "debounceMs": debounce_ms } }))
            .unwrap();
        c.notify("initialized", json!({}));
        c
    }

    fn notify(&self, method: &str, params: Value) {
        self.connection.sender.send(Message::Notification(Notification::new(method.into(), params))).unwrap();
    }

    fn request(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.connection.sender.send(Message::Request(Request::new(id.clone(), method.into(), params))).unwrap();
        loop {
            match self.connection.receiver.recv_timeout(Duration::from_secs(20)).expect("an answer") {
                Message::Response(Response { id: got, result, error }) if got == id => {
                    return match error {
                        Some(e) => Err(e.message),
                        None => Ok(result.unwrap_or(Value::Null)),
                    };
                }
                Message::Notification(n) => self.notifications.push(n),
                _ => {}
            }
        }
    }

    /// The diagnostics published for a version of a document.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(at) = self.notifications.iter().position(|n| {
                n.method == "textDocument/publishDiagnostics"
                    && n.params["uri"] == uri
                    && n.params["version"] == version
            }) {
                let n = self.notifications.remove(at);
                return n.params["diagnostics"].as_array().unwrap().clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.connection.receiver.recv_timeout(left).expect("diagnostics") {
                Message::Notification(n) => self.notifications.push(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "alur", "version": 1, "text": text } }),
        );
        self.diagnostics(uri, 1)
    }

    fn change(&self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    fn finish(mut self) {
        self.request("shutdown", Value::Null).unwrap();
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap().unwrap();
    }
}

fn lks() -> (String, String) {
    let path = Path::new(ROOT).join("sop/lks-lksa.sop");
    let uri = url_of(&path);
    (uri, std::fs::read_to_string(&path).unwrap())
}

fn url_of(path: &Path) -> String {
    lsp_types::Url::from_file_path(path).unwrap().to_string()
}

/// The LSP position (line, UTF-16 column) of the `nth` occurrence of `needle`.
fn at(text: &str, needle: &str, nth: usize) -> Value {
    let offset = text.match_indices(needle).nth(nth).unwrap().0;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column: usize = before.rsplit('\n').next().unwrap().encode_utf16().count();
    json!({ "line": line, "character": column })
}

fn position_params(uri: &str, position: Value) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": position })
}

/// Applies LSP text edits (whole lines and columns in UTF-16) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let index = alur::lsp::LineIndex::new(text);
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            let range: lsp_types::Range = serde_json::from_value(e["range"].clone()).unwrap();
            (index.offset(text, range.start), index.offset(text, range.end), e["newText"].as_str().unwrap().to_string())
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

#[test]
fn diagnostics_on_open_and_after_an_edit_with_the_did_you_mean_fix() {
    let (uri, text) = lks();
    let mut client = Client::start(0);
    let opened = client.open(&uri, &text);
    assert!(opened.iter().all(|d| d["severity"] != 1), "the shipped SOP checks clean: {opened:?}");

    let typo = text.replacen("oleh front_office", "oleh front_ofice", 1);
    client.change(&uri, 2, &typo);
    let found = client.diagnostics(&uri, 2);
    let error = found.iter().find(|d| d["severity"] == 1).expect("an error for the typo");
    assert_eq!(error["source"], "alur");
    assert!(error["code"].as_str().unwrap().starts_with('E'), "{error}");
    // The file is written in Bahasa Indonesia: so is the message.
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("front_ofice") && message.contains("maksudnya `front_office`"), "{message}");
    assert_eq!(error["range"]["start"], at(&typo, "front_ofice", 0));

    let actions = client
        .request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": uri }, "range": error["range"], "context": { "diagnostics": [] } }),
        )
        .unwrap();
    let action = &actions[0];
    assert_eq!(action["title"], "Ganti dengan `front_office`");
    let edits = action["edit"]["changes"][&uri].as_array().unwrap();
    assert_eq!(apply(&typo, edits), text, "the fix restores the file");

    client.change(&uri, 3, &text);
    assert!(client.diagnostics(&uri, 3).iter().all(|d| d["severity"] != 1));
    client.finish();
}

#[test]
fn an_english_file_gets_english_messages_and_related_locations() {
    let path = Path::new(ROOT).join("tests/invalid/en-e401-total.sop");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut client = Client::start(0);
    let found = client.open(&url_of(&path), &text);
    let total = found.iter().find(|d| d["code"] == "E401").expect("E401");
    let message = total["message"].as_str().unwrap();
    assert!(message.starts_with("the stated total is"), "English: {message}");
    // Its other labels (the steps summed) come as related locations.
    assert!(total["relatedInformation"].as_array().is_some_and(|r| !r.is_empty()), "{total}");
    client.finish();
}

#[test]
fn edits_are_debounced_into_one_check_of_the_latest_text() {
    let (uri, text) = lks();
    let mut client = Client::start(200);
    client.open(&uri, &text);
    let broken = text.replacen("oleh kabid", "oleh kabdi", 1);
    for version in 2..=4 {
        client.change(&uri, version, if version == 4 { &broken } else { &text });
    }
    let found = client.diagnostics(&uri, 4);
    assert!(found.iter().any(|d| d["message"].as_str().unwrap().contains("kabdi")));
    // Versions 2 and 3 were superseded before the wait was over: never checked nor published.
    std::thread::sleep(Duration::from_millis(300));
    while let Ok(Message::Notification(n)) = client.connection.receiver.try_recv() {
        client.notifications.push(n);
    }
    let published: Vec<&Value> = client.notifications.iter().map(|n| &n.params["version"]).collect();
    assert!(published.is_empty(), "only version 4 was published, not {published:?}");
    client.finish();
}

#[test]
fn hover_tells_a_steps_activity_actor_time_and_cumulative_time() {
    let (uri, text) = lks();
    let mut client = Client::start(0);
    client.open(&uri, &text);
    let hover = client.request("textDocument/hover", position_params(&uri, at(&text, "verifikasi", 0))).unwrap();
    let shown = hover["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("Memverifikasi berkas permohonan"), "{shown}");
    assert!(shown.contains("Front Office"), "{shown}");
    // 30 minutes of step 1, then the 10 of step 2.
    assert!(shown.contains("Waktu kumulatif") && shown.contains("40"), "{shown}");

    let actor = client.request("textDocument/hover", position_params(&uri, at(&text, "back_office", 0))).unwrap();
    let shown = actor["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("Back Office") && shown.contains("terima_berkas"), "an actor's steps: {shown}");

    let document =
        client.request("textDocument/hover", position_params(&uri, at(&text, "berkas_diperiksa", 0))).unwrap();
    let shown = document["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("Dihasilkan oleh") && shown.contains("verifikasi"), "its producer: {shown}");
    assert!(shown.contains("Diperlukan oleh") && shown.contains("terima_berkas"), "its consumer: {shown}");

    let keyword = client.request("textDocument/hover", position_params(&uri, at(&text, "kegiatan    \"", 0))).unwrap();
    let shown = keyword["contents"]["value"].as_str().unwrap();
    assert!(shown.contains("`activity`") && shown.contains("Kolom Kegiatan"), "{shown}");
    client.finish();
}

#[test]
fn definition_references_and_rename_of_a_step() {
    let (uri, text) = lks();
    let mut client = Client::start(0);
    client.open(&uri, &text);
    let definition =
        client.request("textDocument/definition", position_params(&uri, at(&text, "terima_berkas", 0))).unwrap();
    let expected_at = at(&text, "terima_berkas oleh", 0);
    assert_eq!(definition[0]["range"]["start"], expected_at);
    assert_eq!(definition[0]["uri"], uri);

    let mut params = position_params(&uri, at(&text, "back_office", 0));
    params["context"] = json!({ "includeDeclaration": true });
    let references = client.request("textDocument/references", params).unwrap();
    let count = text.matches("back_office").count();
    assert_eq!(references.as_array().unwrap().len(), count);

    let prepared =
        client.request("textDocument/prepareRename", position_params(&uri, at(&text, "verifikasi", 0))).unwrap();
    assert_eq!(prepared["start"], at(&text, "verifikasi", 0));
    let mut params = position_params(&uri, at(&text, "verifikasi", 0));
    params["newName"] = json!("periksa_berkas");
    let rename = client.request("textDocument/rename", params).unwrap();
    let renamed = apply(&text, rename["changes"][&uri].as_array().unwrap());
    assert!(!renamed.contains(" verifikasi") && renamed.contains("langkah 2 periksa_berkas"));
    client.change(&uri, 2, &renamed);
    assert!(client.diagnostics(&uri, 2).iter().all(|d| d["severity"] != 1), "the renamed file checks clean");

    for bad in ["langkah", "2x", "front_office"] {
        let mut params = position_params(&uri, at(&renamed, "periksa_berkas", 0));
        params["newName"] = json!(bad);
        let refused = client.request("textDocument/rename", params).unwrap_err();
        assert!(refused.contains(bad), "{refused}");
    }
    let on_keyword = client
        .request("textDocument/prepareRename", position_params(&uri, at(&renamed, "kegiatan    \"", 0)))
        .unwrap_err();
    assert!(on_keyword.contains("only the ids"), "{on_keyword}");
    client.finish();
}

#[test]
fn formatting_is_alur_fmt_and_symbols_are_the_steps() {
    let (uri, text) = lks();
    let mut client = Client::start(0);
    let messy = text.replace("\n    langkah", "\n  langkah").replace("waktu       ", "waktu ");
    client.open(&uri, &messy);
    let edits = client
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
        )
        .unwrap();
    assert_eq!(apply(&messy, edits.as_array().unwrap()), text, "alur fmt's own output");

    client.change(&uri, 2, &text);
    let edits = client
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
        )
        .unwrap();
    assert_eq!(edits, json!([]), "a formatted file needs no edit");
    let unclosed = text.replacen("kegiatan    \"Memverifikasi", "kegiatan    \"Memverifikasi \" \"", 1);
    client.change(&uri, 3, &unclosed);
    let edits = client
        .request(
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
        )
        .unwrap();
    assert_eq!(edits, json!([]), "a file that does not parse is left alone");

    client.change(&uri, 4, &text);
    let symbols = client.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri } })).unwrap();
    let names: Vec<&str> = symbols.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), text.matches("\n    langkah ").count(), "{names:?}");
    assert_eq!(names[1], "2 verifikasi");
    client.finish();
}

#[test]
fn completion_offers_keywords_of_the_files_language_ids_and_units() {
    let (uri, text) = lks();
    let mut client = Client::start(0);
    client.open(&uri, &text);
    let items =
        client.request("textDocument/completion", position_params(&uri, json!({ "line": 0, "character": 0 }))).unwrap();
    let labels: Vec<&str> = items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    for expected in ["kegiatan", "kelengkapan", "front_office", "terima_berkas", "izin_diterima", "menit", "hari"] {
        assert!(labels.contains(&expected), "{expected} in {labels:?}");
    }
    assert!(!labels.contains(&"activity"), "keywords in the file's language only");
    let hints = client
        .request(
            "textDocument/inlayHint",
            json!({ "textDocument": { "uri": uri }, "range": { "start": { "line": 0, "character": 0 }, "end": { "line": 999, "character": 0 } } }),
        )
        .unwrap();
    let labels: Vec<&str> = hints.as_array().unwrap().iter().map(|h| h["label"].as_str().unwrap()).collect();
    assert!(labels.len() >= 8, "{labels:?}");
    assert!(labels[1].starts_with("Σ ") && labels[1].contains("40"), "{labels:?}");
    client.finish();
}

#[test]
fn a_request_before_the_debounce_is_answered_on_the_latest_text() {
    let (uri, text) = lks();
    let mut client = Client::start(5_000);
    client.open(&uri, &text);
    let edited = text.replacen("langkah 2 verifikasi", "langkah 2 cek", 1);
    client.change(&uri, 2, &edited);
    let hover = client.request("textDocument/hover", position_params(&uri, at(&edited, "cek", 0))).unwrap();
    assert!(hover["contents"]["value"].as_str().unwrap().contains("Memverifikasi"), "{hover}");
    client.finish();
}

/// The real binary, driven by a real LSP client library over stdio.
#[test]
fn the_binary_serves_a_real_lsp_client() {
    let tools = Path::new(ROOT).join("tests/tools");
    let library = tools.join("node_modules/vscode-languageserver-protocol");
    let node_ok = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !node_ok || !library.exists() {
        assert!(std::env::var("ALUR_CI").as_deref() != Ok("1"), "needs node and vscode-languageserver-protocol");
        println!("SKIPPED: needs node and vscode-languageserver-protocol (cd tests/tools && npm ci)");
        return;
    }
    let file: PathBuf = Path::new(ROOT).join("sop/lks-lksa.sop");
    let out = std::process::Command::new("node")
        .arg(tools.join("lsp_client.mjs"))
        .arg(env!("CARGO_BIN_EXE_alur"))
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the client failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_str(stdout.trim()).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();

    assert_eq!(seen["capabilities"]["hoverProvider"], true);
    assert!(seen["opened"].as_array().unwrap().iter().all(|d| d["severity"] != 1));
    let typo = &seen["typo"].as_array().unwrap()[0];
    assert!(typo["message"].as_str().unwrap().contains("maksudnya `front_office`"), "{typo}");
    assert_eq!(seen["actions"][0]["title"], "Ganti dengan `front_office`");
    assert!(seen["fixed"].as_array().unwrap().iter().all(|d| d["severity"] != 1));
    assert!(seen["hover"]["contents"]["value"].as_str().unwrap().contains("Memverifikasi berkas permohonan"));
    assert_eq!(seen["definition"][0]["range"]["start"], at(&text, "terima_berkas oleh", 0));
    assert_eq!(seen["references"].as_array().unwrap().len(), text.matches("back_office").count());
    let uri = url_of(&file);
    let renamed = apply(&text, seen["rename"]["changes"][&uri].as_array().unwrap());
    assert!(renamed.contains("langkah 2 periksa_berkas") && !renamed.contains(" verifikasi"));
    assert!(seen["renameToKeyword"].as_str().unwrap().contains("kata kunci"), "{}", seen["renameToKeyword"]);
    let messy = text.replace("\n    langkah", "\n  langkah");
    assert_eq!(apply(&messy, seen["format"].as_array().unwrap()), text);
    assert_eq!(seen["symbols"][0]["name"], "1 ajukan");
    assert_eq!(seen["exitCode"], 0);
}

/// The VS Code grammar highlights every keyword the compiler knows, in both languages.
#[test]
fn the_textmate_grammar_knows_every_keyword() {
    let path = Path::new(ROOT).join("editors/vscode/syntaxes/alur.tmLanguage.json");
    let grammar: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let pattern = grammar["repository"]["keyword"]["match"].as_str().unwrap();
    let listed: std::collections::HashSet<&str> =
        pattern.trim_start_matches("\\b(").trim_end_matches(")\\b").split('|').collect();
    for (_, id, en) in alur::compile::keyword::Kw::all() {
        for word in id.iter().chain(en.iter()) {
            assert!(listed.contains(word), "`{word}` is missing from the grammar's keywords");
        }
    }
}
