//! `alur.toml`: the server's settings file, with flags over environment over file over
//! defaults, each mistake reported at its line and column with how to fix it, and
//! `alur config check` showing where every value came from without showing a secret.

use alur::diagnostic::Lang;
use alur::server::settings::{resolve, Flags, Problem, Settings, Source};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name: &str| map.get(name).cloned()
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let file = dir.join("alur.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn settings(file: &Path, flags: &Flags, env: &[(&str, &str)]) -> Settings {
    resolve(Some(file), flags, &env_of(env))
        .unwrap_or_else(|p| panic!("{}", alur::server::settings::render(&p, Lang::En)))
}

fn problems(text: &str) -> (PathBuf, Vec<Problem>) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), text);
    let problems = resolve(Some(&file), &Flags::default(), &env_of(&[])).expect_err("the file is refused");
    (file, problems)
}

fn file_line(file: &Path, line: usize) -> Source {
    Source::File { path: file.to_path_buf(), line }
}

#[test]
fn a_flag_wins_over_the_environment_which_wins_over_the_file_which_wins_over_the_default() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sop")).unwrap();
    let file = write(
        dir.path(),
        "[server]\naddr = \"127.0.0.1:9000\"\ndatabase = \"file.db\"\ndrain_seconds = 7\n\n[log]\nformat = \"json\"\n",
    );
    // The file alone.
    let only_file = settings(&file, &Flags::default(), &[]);
    assert_eq!(only_file.addr.value, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(only_file.addr.source, file_line(&file, 2));
    assert_eq!(only_file.database.value, dir.path().join("file.db"), "relative to the file's folder");
    assert_eq!(only_file.database.source, file_line(&file, 3));
    assert_eq!(only_file.drain_seconds.value, 7);
    assert_eq!(only_file.log_format.value, alur::server::LogFormat::Json);
    // Not in the file: the default.
    assert_eq!(only_file.session_hours.source, Source::Default);
    assert_eq!(only_file.sop_dir.value, PathBuf::from("sop"));

    // The environment over the file.
    let env = [("ALUR_DB", "env.db"), ("ALUR_DRAIN_SECONDS", "3"), ("ALUR_LOG_FORMAT", "human")];
    let with_env = settings(&file, &Flags::default(), &env);
    assert_eq!(with_env.database.value, PathBuf::from("env.db"));
    assert_eq!(with_env.database.source, Source::Env("ALUR_DB"));
    assert_eq!(with_env.drain_seconds.value, 3);
    assert_eq!(with_env.log_format.value, alur::server::LogFormat::Human);
    assert_eq!(with_env.addr.source, file_line(&file, 2), "no variable for it: still the file");

    // A flag over both.
    let flags = Flags {
        db: Some("flag.db".into()),
        addr: Some("127.0.0.1:9100".parse().unwrap()),
        log_format: Some(alur::server::LogFormat::Json),
        ..Flags::default()
    };
    let with_flags = settings(&file, &flags, &env);
    assert_eq!(with_flags.database.value, PathBuf::from("flag.db"));
    assert_eq!(with_flags.database.source, Source::Flag("--db"));
    assert_eq!(with_flags.addr.value, "127.0.0.1:9100".parse().unwrap());
    assert_eq!(with_flags.log_format.source, Source::Flag("--log-format"));
    assert_eq!(with_flags.drain_seconds.source, Source::Env("ALUR_DRAIN_SECONDS"));
}

#[test]
fn an_unknown_key_is_named_at_its_line_and_column_with_a_suggestion() {
    let (file, problems) = problems("# alur\n[server]\n  address = \"127.0.0.1:8080\"\n");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let en = alur::server::settings::render(&problems, Lang::En);
    assert!(en.starts_with(&format!("{}:3:3: error: unknown key `address` in [server]", file.display())), "{en}");
    assert!(en.contains("did you mean `addr`?"), "{en}");
    let id = alur::server::settings::render(&problems, Lang::Id);
    assert!(id.contains("kunci `address` tidak dikenal di [server]"), "{id}");
    assert!(id.contains("bantuan: maksud Anda `addr`?"), "{id}");

    // A key in the wrong section says where it belongs.
    let (_, problems) = problems_of("[security]\ndrain_seconds = 5\n");
    let en = alur::server::settings::render(&problems, Lang::En);
    assert!(en.contains(":2:1: error: unknown key `drain_seconds` in [security]"), "{en}");
    assert!(en.contains("belongs in the section [server]"), "{en}");

    // What a later version adds is refused, not silently ignored.
    let (_, problems) = problems_of("[smtp]\nhost = \"mail\"\n");
    let en = alur::server::settings::render(&problems, Lang::En);
    assert!(en.contains(":1:2: error: the section `[smtp]` is not supported"), "{en}");
}

fn problems_of(text: &str) -> (PathBuf, Vec<Problem>) {
    problems(text)
}

#[test]
fn a_wrong_type_a_bad_address_a_short_token_and_a_missing_folder_are_each_explained() {
    let (_, found) = problems("[server]\ndrain_seconds = \"30\"\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains(":2:17: error: `server.drain_seconds` must be a whole number, not string"), "{en}");
    assert!(en.contains("help: write for example `drain_seconds = 30`"), "{en}");

    let (_, found) = problems("[server]\naddr = \"http://localhost:8080\"\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains(":2:8: error: `http://localhost:8080` is not an address to listen on"), "{en}");
    assert!(en.contains("0.0.0.0:8080"), "{en}");

    let (_, found) = problems("[security]\nmetrics_token = \"abc\"\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains(":2:17: error: the metrics token is too short: at least 16 characters"), "{en}");
    let id = alur::server::settings::render(&found, Lang::Id);
    assert!(id.contains("token metrik terlalu pendek"), "{id}");

    let (_, found) = problems("[server]\nsop_dir = \"no-such-folder\"\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains(":2:11: error: `sop_dir`: the folder"), "{en}");
    assert!(en.contains("no-such-folder` does not exist"), "{en}");

    let (_, found) = problems("[server]\ndrain_seconds = -1\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains(":2:17: error:"), "{en}");

    let (_, found) = problems("[server\naddr = 1\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains(":1:") && en.contains("invalid TOML"), "{en}");

    // From the environment too, named by its variable.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "");
    let found = resolve(Some(&file), &Flags::default(), &env_of(&[("ALUR_METRICS_TOKEN", "short")])).unwrap_err();
    assert!(alur::server::settings::render(&found, Lang::En)
        .starts_with("ALUR_METRICS_TOKEN: error: the metrics token is too short"));
}

#[test]
fn the_report_says_where_each_value_came_from_and_masks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "[server]\ndatabase = \"postgres://alur:kata-sandi-db@db.kantor:5432/alur\"\n\n[security]\nmetrics_token = \"token-rahasia-kantor-2026\"\n",
    );
    let env = [("ALUR_ADMIN_PASSWORD", "Sandi-Admin-Rahasia"), ("ALUR_DRAIN_SECONDS", "5")];
    let flags = Flags { addr: Some("127.0.0.1:8181".parse().unwrap()), ..Flags::default() };
    let report = settings(&file, &flags, &env).report(Lang::En);
    for secret in ["kata-sandi-db", "token-rahasia-kantor-2026", "Sandi-Admin-Rahasia"] {
        assert!(!report.contains(secret), "{secret} shown:\n{report}");
    }
    assert!(report.contains("postgres://alur:******@db.kantor:5432/alur"), "{report}");
    assert!(report.contains("******"), "{report}");
    let line = |key: &str| report.lines().find(|l| l.starts_with(key)).unwrap_or_else(|| panic!("{key}: {report}"));
    assert!(line("server.addr ").ends_with("[flag --addr]"), "{report}");
    assert!(line("server.drain_seconds").ends_with("[env ALUR_DRAIN_SECONDS]"), "{report}");
    assert!(line("security.metrics_token").ends_with(&format!("[file {}:5]", file.display())), "{report}");
    assert!(line("log.format").ends_with("[default]"), "{report}");
    let id = settings(&file, &flags, &env).report(Lang::Id);
    assert!(id.contains("[bawaan]") && id.contains("[opsi --addr]"), "{id}");
}

/// The binary: `alur serve` refuses a bad file with exit status 2 and the message; `alur
/// config check` prints the settings (secrets masked) or the same errors.
#[test]
fn the_binary_refuses_a_bad_file_with_exit_status_2_and_checks_a_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[server]\naddr = \"127.0.0.1:0\"\ndatabse = \"x.db\"\n").unwrap();
    let alur = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_alur"));
        cmd.current_dir(dir.path()).env_remove("ALUR_DB").env_remove("ALUR_METRICS_TOKEN").env("LANG", "en_US.UTF-8");
        cmd
    };
    let out = alur().args(["serve", "--config"]).arg(&bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:3:1: error: unknown key `databse` in [server]", bad.display())), "{stderr}");
    assert!(stderr.contains("did you mean `database`?"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // In Bahasa Indonesia with --lang id.
    let out = alur().args(["--lang", "id", "serve", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("maksud Anda `database`?"));

    // `alur.toml` in the working directory is read without --config.
    std::fs::copy(&bad, dir.path().join("alur.toml")).unwrap();
    let out = alur().args(["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("alur.toml:3:1"));
    let out = alur().args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "config check: errors are status 1");
    assert!(String::from_utf8_lossy(&out.stderr).contains("alur.toml:3:1"));

    // A good file: the resolved settings, from where, with the token masked.
    std::fs::write(
        dir.path().join("alur.toml"),
        "[server]\naddr = \"127.0.0.1:8123\"\n[security]\nmetrics_token = \"0123456789abcdef-rahasia\"\n",
    )
    .unwrap();
    let out = alur().args(["config", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("127.0.0.1:8123") && stdout.contains("[file alur.toml:2]"), "{stdout}");
    assert!(!stdout.contains("0123456789abcdef-rahasia"), "{stdout}");
    let out = alur().args(["serve", "--check-config", "--db", "flag.db"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.lines().any(|l| l.starts_with("server.database") && l.contains("flag.db") && l.ends_with("[flag --db]")),
        "{stdout}"
    );
    // A --config that does not exist is refused too.
    let out = alur().args(["serve", "--config", "missing.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
}

/// The commented example at the top of the repository is a valid file, read as it is.
#[test]
fn the_example_file_is_valid_and_every_value_it_sets_comes_from_it() {
    let example = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/alur.example.toml"));
    let settings = settings(&example, &Flags::default(), &[]);
    assert!(matches!(settings.addr.source, Source::File { .. }));
    assert!(matches!(settings.max_wait_seconds.source, Source::File { .. }));
    assert_eq!(settings.max_wait_seconds.value, 900);
    assert!(settings.sop_dir.value.ends_with("sop"));
}

#[test]
fn a_looser_misspelling_still_gets_a_suggestion_and_types_are_named_in_indonesian() {
    let (_, found) = problems("[server]\nadress = \"127.0.0.1:8080\"\nsecure_cookies = \"ya\"\n");
    let id = alur::server::settings::render(&found, Lang::Id);
    assert!(id.contains(":2:1: error: kunci `adress` tidak dikenal di [server]"), "{id}");
    assert!(id.contains("maksud Anda `addr`?"), "{id}");
    assert!(id.contains(":3:18: error: `server.secure_cookies` harus `true` atau `false`, bukan teks"), "{id}");
}

#[test]
fn archive_after_days_is_read_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "[server]\narchive_after_days = 365\n");
    let read = settings(&file, &Flags::default(), &[]);
    assert_eq!(read.archive_after_days.value, 365);
    assert!(matches!(read.archive_after_days.source, Source::File { .. }));
    assert!(read.report(Lang::En).contains("server.archive_after_days"), "{}", read.report(Lang::En));
    let default = settings(&write(dir.path(), "[server]\n"), &Flags::default(), &[]);
    assert_eq!(default.archive_after_days.value, 0, "never, unless asked");
    let (_, found) = problems("[server]\narchive_after_days = 40000\n");
    let en = alur::server::settings::render(&found, Lang::En);
    assert!(en.contains("archive_after_days") && en.contains("36500"), "{en}");
}
