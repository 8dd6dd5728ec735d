//! `alur serve`'s settings, resolved in one place: a command-line flag wins over an environment
//! variable, which wins over the configuration file (`alur.toml`), which wins over the default.
//! Everything the server needs is read from the resolved [`Settings`]; each value keeps where it
//! came from, for `alur config check`.
//!
//! The file is TOML, read into typed sections that refuse unknown keys. Before that, every key
//! is checked against the schema with its position, so a mistake is reported as
//! `alur.toml:LINE:COLUMN` with what is wrong and how to fix it, in the reader's language.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;

use crate::diagnostic::{did_you_mean, Lang, Text};
use crate::t;

/// How the log is written to stderr.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// A line a person reads: time, level, the spans (request, command, commit) with their
    /// fields, the message.
    #[default]
    Human,
    /// One JSON object a line, for a log collector: `timestamp`, `level`, `target`, `fields`
    /// (the message among them), `span` (the innermost) and `spans` (from the request's down,
    /// so `spans[0].request_id` is the request id).
    Json,
}

/// The SOP folder's calendars when none are named: `sop/calendars`.
pub fn calendar_dir(sop_dir: &Path) -> PathBuf {
    sop_dir.join("calendars")
}

/// The file read when `--config` is not given (and it exists in the working directory).
pub const FILE_NAME: &str = "alur.toml";
/// The shortest metrics token accepted: a short one can be guessed.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The longest drain time (seconds) once the server is asked to stop.
pub const MAX_DRAIN_SECONDS: u64 = 3600;
/// The longest retention before archiving (days): 100 years.
pub const MAX_ARCHIVE_AFTER_DAYS: u64 = 36_500;
/// The longest sign-in (hours): 30 days.
pub const MAX_SESSION_HOURS: u64 = 720;

pub const ENV_CONFIG: &str = "ALUR_CONFIG";
pub const ENV_DB: &str = "ALUR_DB";
pub const ENV_METRICS_TOKEN: &str = "ALUR_METRICS_TOKEN";
pub const ENV_DRAIN_SECONDS: &str = "ALUR_DRAIN_SECONDS";
pub const ENV_LOG_FORMAT: &str = "ALUR_LOG_FORMAT";
pub const ENV_ADMIN_PASSWORD: &str = "ALUR_ADMIN_PASSWORD";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Table,
    Str,
    Int,
    Bool,
}

/// Every key the file may hold, by its dotted path.
const SCHEMA: &[(&str, Kind)] = &[
    ("server", Kind::Table),
    ("server.addr", Kind::Str),
    ("server.database", Kind::Str),
    ("server.sop_dir", Kind::Str),
    ("server.calendars_dir", Kind::Str),
    ("server.secure_cookies", Kind::Bool),
    ("server.drain_seconds", Kind::Int),
    ("server.archive_after_days", Kind::Int),
    ("security", Kind::Table),
    ("security.metrics_token", Kind::Str),
    ("security.session_hours", Kind::Int),
    ("security.sign_in", Kind::Table),
    ("security.sign_in.free_per_user", Kind::Int),
    ("security.sign_in.free_per_address", Kind::Int),
    ("security.sign_in.first_wait_seconds", Kind::Int),
    ("security.sign_in.max_wait_seconds", Kind::Int),
    ("log", Kind::Table),
    ("log.format", Kind::Str),
];

/// Sections `alur.example.toml` shows (as comments) for what a later version adds: not read yet.
const RESERVED: &[&str] = &["smtp", "webhooks", "numbers"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    security: SecuritySection,
    #[serde(default)]
    log: LogSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    addr: Option<Spanned<String>>,
    database: Option<Spanned<String>>,
    sop_dir: Option<Spanned<String>>,
    calendars_dir: Option<Spanned<String>>,
    secure_cookies: Option<Spanned<bool>>,
    drain_seconds: Option<Spanned<u64>>,
    archive_after_days: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecuritySection {
    metrics_token: Option<Spanned<String>>,
    session_hours: Option<Spanned<u64>>,
    #[serde(default)]
    sign_in: SignInSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInSection {
    free_per_user: Option<Spanned<u64>>,
    free_per_address: Option<Spanned<u64>>,
    first_wait_seconds: Option<Spanned<u64>>,
    max_wait_seconds: Option<Spanned<u64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSection {
    format: Option<Spanned<String>>,
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag (`--db`).
    Flag(&'static str),
    /// An environment variable.
    Env(&'static str),
    /// The configuration file, at this line.
    File {
        path: PathBuf,
        line: usize,
    },
    Default,
}

impl Source {
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (Source::Flag(flag), Lang::Id) => format!("opsi {flag}"),
            (Source::Flag(flag), Lang::En) => format!("flag {flag}"),
            (Source::Env(var), _) => format!("env {var}"),
            (Source::File { path, line }, Lang::Id) => format!("berkas {}:{line}", path.display()),
            (Source::File { path, line }, Lang::En) => format!("file {}:{line}", path.display()),
            (Source::Default, Lang::Id) => "bawaan".into(),
            (Source::Default, Lang::En) => "default".into(),
        }
    }
}

/// A resolved value and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Setting<T> {
    fn new(value: T, source: Source) -> Setting<T> {
        Setting { value, source }
    }

    fn default(value: T) -> Setting<T> {
        Setting { value, source: Source::Default }
    }
}

/// The settings `alur serve` runs with.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    pub addr: Setting<SocketAddr>,
    /// An SQLite file or a `postgres://` URL.
    pub database: Setting<PathBuf>,
    pub sop_dir: Setting<PathBuf>,
    pub calendars_dir: Setting<PathBuf>,
    pub secure_cookies: Setting<bool>,
    pub drain_seconds: Setting<u64>,
    /// Ended cases move to the SQLite file's archive this many days after they end (0: never).
    pub archive_after_days: Setting<u64>,
    pub metrics_token: Setting<Option<String>>,
    /// The first admin's password (environment only: a password is not kept in a file).
    pub admin_password: Setting<Option<String>>,
    pub session_hours: Setting<u64>,
    pub free_per_user: Setting<u32>,
    pub free_per_address: Setting<u32>,
    pub first_wait_seconds: Setting<u64>,
    pub max_wait_seconds: Setting<u64>,
    pub log_format: Setting<LogFormat>,
}

/// The `alur serve` flags that override settings (`None`/`false`: not given).
#[derive(Clone, Debug, Default)]
pub struct Flags {
    pub addr: Option<SocketAddr>,
    pub db: Option<PathBuf>,
    pub sop_dir: Option<PathBuf>,
    pub calendars: Option<PathBuf>,
    pub secure_cookies: bool,
    pub log_format: Option<LogFormat>,
}

/// One thing wrong with the settings: where (`alur.toml:3:1`, or an environment variable),
/// what, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub place: String,
    pub message: Text,
    pub help: Option<Text>,
}

/// The problems as lines for standard error: `PLACE: error: MESSAGE` and a help line.
pub fn render(problems: &[Problem], lang: Lang) -> String {
    let mut out = String::new();
    for problem in problems {
        out.push_str(&format!("{}: error: {}\n", problem.place, problem.message.get(lang)));
        if let Some(help) = &problem.help {
            let word = match lang {
                Lang::Id => "bantuan",
                Lang::En => "help",
            };
            out.push_str(&format!("  = {word}: {}\n", help.get(lang)));
        }
    }
    out
}

/// The file to read: `--config` (or `ALUR_CONFIG`) when given, else `alur.toml` in the
/// working directory when it exists, else none.
pub fn find_file(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(path) => Some(path.to_path_buf()),
        None => Path::new(FILE_NAME).is_file().then(|| PathBuf::from(FILE_NAME)),
    }
}

/// The process's environment, for [`resolve`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Resolves the settings from the flags, the environment (`env` looks a variable up) and the
/// file (when given, it must exist), in that order of precedence, and checks them.
pub fn resolve(
    file: Option<&Path>,
    flags: &Flags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, Vec<Problem>> {
    let parsed = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                vec![Problem {
                    place: path.display().to_string(),
                    message: t!(
                        "berkas konfigurasi tidak dapat dibaca: {e}",
                        "the configuration file cannot be read: {e}"
                    ),
                    help: Some(t!(
                        "periksa jalur yang diberikan ke --config (atau {ENV_CONFIG})",
                        "check the path given to --config (or {ENV_CONFIG})"
                    )),
                }]
            })?;
            parse(path, &text)?
        }
        None => Parsed::default(),
    };
    let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut problems = Vec::new();

    let addr = match flags.addr {
        Some(addr) => Setting::new(addr, Source::Flag("--addr")),
        None => parsed.addr.unwrap_or_else(|| Setting::default(SocketAddr::from(([127, 0, 0, 1], 8080)))),
    };
    let database = match (&flags.db, env(ENV_DB)) {
        (Some(db), _) => Setting::new(db.clone(), Source::Flag("--db")),
        (None, Some(db)) => Setting::new(PathBuf::from(db), Source::Env(ENV_DB)),
        (None, None) => parsed.database.unwrap_or_else(|| Setting::default(PathBuf::from("alur.db"))),
    };
    let sop_dir = match &flags.sop_dir {
        Some(dir) => Setting::new(dir.clone(), Source::Flag("--sop-dir")),
        None => parsed.sop_dir.unwrap_or_else(|| Setting::default(PathBuf::from("sop"))),
    };
    let calendars_dir = match &flags.calendars {
        Some(dir) => Setting::new(dir.clone(), Source::Flag("--calendars")),
        None => parsed.calendars_dir.unwrap_or_else(|| Setting::default(calendar_dir(&sop_dir.value))),
    };
    let secure_cookies = if flags.secure_cookies {
        Setting::new(true, Source::Flag("--secure-cookies"))
    } else {
        parsed.secure_cookies.unwrap_or_else(|| Setting::default(false))
    };
    let drain_seconds = match env(ENV_DRAIN_SECONDS) {
        Some(value) => match value.trim().parse::<u64>() {
            Ok(seconds) if seconds <= MAX_DRAIN_SECONDS => Setting::new(seconds, Source::Env(ENV_DRAIN_SECONDS)),
            _ => {
                problems.push(Problem {
                    place: ENV_DRAIN_SECONDS.into(),
                    message: t!(
                        "`{value}` bukan jumlah detik 0 sampai {MAX_DRAIN_SECONDS}",
                        "`{value}` is not a number of seconds from 0 to {MAX_DRAIN_SECONDS}"
                    ),
                    help: Some(t!("tulis bilangan bulat, misalnya 30", "write a whole number, e.g. 30")),
                });
                Setting::default(30)
            }
        },
        None => parsed.drain_seconds.unwrap_or_else(|| Setting::default(30)),
    };
    let metrics_token = match env(ENV_METRICS_TOKEN) {
        Some(token) => {
            if token.trim().chars().count() < MIN_TOKEN_CHARS {
                problems.push(short_token(ENV_METRICS_TOKEN.into()));
            }
            Setting::new(Some(token.trim().to_string()), Source::Env(ENV_METRICS_TOKEN))
        }
        None => parsed.metrics_token.unwrap_or_else(|| Setting::default(None)),
    };
    let admin_password = match env(ENV_ADMIN_PASSWORD) {
        Some(password) => Setting::new(Some(password), Source::Env(ENV_ADMIN_PASSWORD)),
        None => Setting::default(None),
    };
    let log_format = match (flags.log_format, env(ENV_LOG_FORMAT)) {
        (Some(format), _) => Setting::new(format, Source::Flag("--log-format")),
        (None, Some(value)) => match parse_log_format(&value) {
            Some(format) => Setting::new(format, Source::Env(ENV_LOG_FORMAT)),
            None => {
                problems.push(Problem {
                    place: ENV_LOG_FORMAT.into(),
                    message: t!("format log `{value}` tidak dikenal", "unknown log format `{value}`"),
                    help: Some(t!("pakai `human` atau `json`", "use `human` or `json`")),
                });
                Setting::default(LogFormat::Human)
            }
        },
        (None, None) => parsed.log_format.unwrap_or_else(|| Setting::default(LogFormat::Human)),
    };
    let policy = crate::server::throttle::ThrottlePolicy::default();
    let seconds = |d: chrono::Duration| d.num_seconds().unsigned_abs();
    let session_hours = parsed
        .session_hours
        .unwrap_or_else(|| Setting::default(crate::server::accounts::TOKEN_LIFETIME.num_hours().unsigned_abs()));
    let first_wait_seconds = parsed.first_wait_seconds.unwrap_or_else(|| Setting::default(seconds(policy.first_wait)));
    let max_wait_seconds = parsed.max_wait_seconds.unwrap_or_else(|| Setting::default(seconds(policy.max_wait)));
    let free_per_user = parsed.free_per_user.unwrap_or_else(|| Setting::default(policy.free_per_user));
    let free_per_address = parsed.free_per_address.unwrap_or_else(|| Setting::default(policy.free_per_address));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Settings {
        file: file.map(Path::to_path_buf),
        addr,
        database,
        sop_dir,
        calendars_dir,
        secure_cookies,
        drain_seconds,
        archive_after_days: parsed.archive_after_days.unwrap_or_else(|| Setting::default(0)),
        metrics_token,
        admin_password,
        session_hours,
        free_per_user,
        free_per_address,
        first_wait_seconds,
        max_wait_seconds,
        log_format,
    })
}

fn short_token(place: String) -> Problem {
    Problem {
        place,
        message: t!(
            "token metrik terlalu pendek: paling sedikit {MIN_TOKEN_CHARS} karakter",
            "the metrics token is too short: at least {MIN_TOKEN_CHARS} characters"
        ),
        help: Some(t!(
            "buat token acak, misalnya dengan `openssl rand -hex 24`",
            "make a random one, e.g. with `openssl rand -hex 24`"
        )),
    }
}

fn parse_log_format(value: &str) -> Option<LogFormat> {
    match value.trim() {
        "human" => Some(LogFormat::Human),
        "json" => Some(LogFormat::Json),
        _ => None,
    }
}

/// The file's values, checked, with their lines.
#[derive(Debug, Default)]
struct Parsed {
    addr: Option<Setting<SocketAddr>>,
    database: Option<Setting<PathBuf>>,
    sop_dir: Option<Setting<PathBuf>>,
    calendars_dir: Option<Setting<PathBuf>>,
    secure_cookies: Option<Setting<bool>>,
    drain_seconds: Option<Setting<u64>>,
    archive_after_days: Option<Setting<u64>>,
    metrics_token: Option<Setting<Option<String>>>,
    session_hours: Option<Setting<u64>>,
    free_per_user: Option<Setting<u32>>,
    free_per_address: Option<Setting<u32>>,
    first_wait_seconds: Option<Setting<u64>>,
    max_wait_seconds: Option<Setting<u64>>,
    log_format: Option<Setting<LogFormat>>,
}

/// Line and column (from 1) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The keys directly under `prefix` (the top level for "").
fn keys_under(prefix: &str) -> impl Iterator<Item = &'static str> + '_ {
    SCHEMA.iter().filter_map(move |(k, _)| {
        let rest = if prefix.is_empty() { Some(*k) } else { k.strip_prefix(prefix)?.strip_prefix('.') };
        rest.filter(|r| !r.contains('.'))
    })
}

struct Reader<'a> {
    path: &'a Path,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn place(&self, offset: usize) -> String {
        let (line, column) = line_column(self.text, offset);
        format!("{}:{line}:{column}", self.path.display())
    }

    fn source(&self, offset: usize) -> Source {
        Source::File { path: self.path.to_path_buf(), line: line_column(self.text, offset).0 }
    }

    fn problem(&mut self, offset: usize, message: Text, help: Option<Text>) {
        let place = self.place(offset);
        self.problems.push(Problem { place, message, help });
    }

    /// A path in the file, relative to the file's folder.
    fn path_of(&self, value: &str) -> PathBuf {
        let path = PathBuf::from(value);
        match self.path.parent() {
            Some(folder) if path.is_relative() && !folder.as_os_str().is_empty() => folder.join(path),
            _ => path,
        }
    }

    /// Every key against the schema: unknown keys (with a suggestion) and wrong types.
    fn walk(&mut self, table: &toml::de::DeTable<'_>, prefix: &str) {
        use toml::de::DeValue;
        for (key, value) in table {
            let name: &str = key.get_ref();
            let full = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
            let Some(&(_, kind)) = SCHEMA.iter().find(|(k, _)| *k == full) else {
                self.unknown(key.span().start, prefix, name, &full);
                continue;
            };
            let found = value.get_ref();
            let fits = matches!(
                (kind, found),
                (Kind::Table, DeValue::Table(_))
                    | (Kind::Str, DeValue::String(_))
                    | (Kind::Int, DeValue::Integer(_))
                    | (Kind::Bool, DeValue::Boolean(_))
            );
            if !fits {
                let (id, en, example) = match kind {
                    Kind::Table => ("sebuah bagian", "a section", format!("[{full}]")),
                    Kind::Str => ("teks dalam tanda kutip", "a quoted string", format!("{name} = \"...\"")),
                    Kind::Int => ("bilangan bulat", "a whole number", format!("{name} = 30")),
                    Kind::Bool => ("`true` atau `false`", "`true` or `false`", format!("{name} = true")),
                };
                let got = found.type_str();
                let got_id = match got {
                    "string" => "teks",
                    "integer" => "bilangan bulat",
                    "float" => "bilangan pecahan",
                    "boolean" => "true/false",
                    "datetime" => "tanggal",
                    "array" => "daftar",
                    "table" => "bagian",
                    other => other,
                };
                self.problem(
                    value.span().start,
                    t!("`{full}` harus {id}, bukan {got_id}", "`{full}` must be {en}, not {got}"),
                    Some(t!("tulis misalnya `{example}`", "write for example `{example}`")),
                );
                continue;
            }
            if let DeValue::Table(inner) = found {
                self.walk(inner, &full);
            }
        }
    }

    fn unknown(&mut self, offset: usize, prefix: &str, name: &str, full: &str) {
        if prefix.is_empty() && RESERVED.contains(&name) {
            self.problem(
                offset,
                t!(
                    "bagian `[{name}]` belum didukung versi alur ini",
                    "the section `[{name}]` is not supported by this version of alur yet"
                ),
                Some(t!(
                    "hapus bagian itu (alur.example.toml menunjukkannya hanya sebagai komentar)",
                    "remove the section (alur.example.toml shows it only as a comment)"
                )),
            );
            return;
        }
        // A near spelling, or a known key the name starts with (`address` for `addr`).
        let near = did_you_mean(name, keys_under(prefix))
            .or_else(|| keys_under(prefix).find(|k| k.len() >= 3 && name.starts_with(k)))
            .or_else(|| {
                // A looser spelling (`adress` for `addr`): close by Jaro-Winkler, which weighs
                // the first letters.
                let name = name.to_lowercase();
                keys_under(prefix)
                    .map(|k| (strsim::jaro_winkler(&name, k), k))
                    .filter(|(score, _)| *score >= 0.8)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(_, k)| k)
            });
        let help = if let Some(near) = near {
            t!("maksud Anda `{near}`?", "did you mean `{near}`?")
        } else if let Some((elsewhere, _)) =
            SCHEMA.iter().find(|(k, _)| k.rsplit('.').next() == Some(name) && *k != full)
        {
            let at = elsewhere.rsplit_once('.').map_or("", |(at, _)| at);
            t!("`{name}` ditulis di bagian [{at}]", "`{name}` belongs in the section [{at}]")
        } else {
            let keys = keys_under(prefix).collect::<Vec<_>>().join("`, `");
            t!("kunci yang dikenal di sini: `{keys}`", "the keys known here: `{keys}`")
        };
        let message = if prefix.is_empty() {
            t!("kunci `{name}` tidak dikenal", "unknown key `{name}`")
        } else {
            t!("kunci `{name}` tidak dikenal di [{prefix}]", "unknown key `{name}` in [{prefix}]")
        };
        self.problem(offset, message, Some(help));
    }

    /// A whole number in `min..=max`.
    fn bounded(&mut self, key: &str, spanned: &Option<Spanned<u64>>, min: u64, max: u64) -> Option<Setting<u64>> {
        let spanned = spanned.as_ref()?;
        let at = spanned.span().start;
        let value = *spanned.get_ref();
        if (min..=max).contains(&value) {
            Some(Setting::new(value, self.source(at)))
        } else {
            self.problem(
                at,
                t!("`{key}` = {value} di luar batas {min} sampai {max}", "`{key}` = {value} is outside {min} to {max}"),
                Some(t!("tulis bilangan dari {min} sampai {max}", "write a number from {min} to {max}")),
            );
            None
        }
    }

    /// A folder that must exist.
    fn folder(&mut self, key: &str, spanned: &Option<Spanned<String>>) -> Option<Setting<PathBuf>> {
        let spanned = spanned.as_ref()?;
        let at = spanned.span().start;
        let folder = self.path_of(spanned.get_ref().trim());
        if folder.is_dir() {
            return Some(Setting::new(folder, self.source(at)));
        }
        let shown = folder.display().to_string();
        self.problem(
            at,
            t!("`{key}`: folder `{shown}` tidak ada", "`{key}`: the folder `{shown}` does not exist"),
            Some(t!(
                "jalur relatif dibaca dari folder berkas konfigurasi; perbaiki jalurnya atau buat foldernya",
                "a relative path is read from the configuration file's folder; fix the path or create the folder"
            )),
        );
        None
    }
}

/// Reads and checks the file's text.
fn parse(path: &Path, text: &str) -> Result<Parsed, Vec<Problem>> {
    let mut reader = Reader { path, text, problems: Vec::new() };
    let table = match toml::de::DeTable::parse(text) {
        Ok(table) => table,
        Err(error) => {
            let offset = error.span().map_or(0, |s| s.start);
            let message = error.message().trim().to_string();
            reader.problem(
                offset,
                t!("TOML tidak sah: {message}", "invalid TOML: {message}"),
                Some(t!("lihat alur.example.toml untuk bentuk yang benar", "see alur.example.toml for the right form")),
            );
            return Err(reader.problems);
        }
    };
    reader.walk(table.get_ref(), "");
    if !reader.problems.is_empty() {
        return Err(reader.problems);
    }
    let file: FileSettings = match toml::from_str(text) {
        Ok(file) => file,
        Err(error) => {
            // Keys and types are right (the walk above): a value out of range, such as -1.
            let offset = error.span().map_or(0, |s| s.start);
            let message = error.message().trim().to_string();
            reader.problem(
                offset,
                t!("nilai tidak sah: {message}", "invalid value: {message}"),
                Some(t!("lihat alur.example.toml", "see alur.example.toml")),
            );
            return Err(reader.problems);
        }
    };
    let mut parsed = Parsed::default();
    if let Some(addr) = &file.server.addr {
        let at = addr.span().start;
        match addr.get_ref().trim().parse::<SocketAddr>() {
            Ok(value) => parsed.addr = Some(Setting::new(value, reader.source(at))),
            Err(_) => {
                let given = addr.get_ref();
                reader.problem(
                    at,
                    t!("alamat `{given}` tidak sah", "`{given}` is not an address to listen on"),
                    Some(t!(
                        "tulis IP:port, misalnya \"127.0.0.1:8080\" atau \"0.0.0.0:8080\" (tanpa http://)",
                        "write IP:port, e.g. \"127.0.0.1:8080\" or \"0.0.0.0:8080\" (no http://)"
                    )),
                );
            }
        }
    }
    if let Some(database) = &file.server.database {
        let at = database.span().start;
        let value = database.get_ref().trim();
        if value.is_empty() {
            reader.problem(
                at,
                t!("`database` kosong", "`database` is empty"),
                Some(t!(
                    "tulis berkas SQLite (\"alur.db\") atau URL postgres://",
                    "write an SQLite file (\"alur.db\") or a postgres:// URL"
                )),
            );
        } else if crate::server::is_postgres(value) {
            parsed.database = Some(Setting::new(PathBuf::from(value), reader.source(at)));
        } else {
            let file = reader.path_of(value);
            match file.parent().filter(|f| !f.as_os_str().is_empty()) {
                Some(folder) if !folder.is_dir() => {
                    let shown = folder.display().to_string();
                    reader.problem(
                        at,
                        t!("folder basis data `{shown}` tidak ada", "the database's folder `{shown}` does not exist"),
                        Some(t!(
                            "buat folder itu, atau tulis berkas di folder yang ada",
                            "create the folder, or name a file in a folder that exists"
                        )),
                    );
                }
                _ => parsed.database = Some(Setting::new(file, reader.source(at))),
            }
        }
    }
    parsed.sop_dir = reader.folder("sop_dir", &file.server.sop_dir);
    parsed.calendars_dir = reader.folder("calendars_dir", &file.server.calendars_dir);
    if let Some(secure) = &file.server.secure_cookies {
        parsed.secure_cookies = Some(Setting::new(*secure.get_ref(), reader.source(secure.span().start)));
    }
    parsed.drain_seconds = reader.bounded("drain_seconds", &file.server.drain_seconds, 0, MAX_DRAIN_SECONDS);
    parsed.archive_after_days =
        reader.bounded("archive_after_days", &file.server.archive_after_days, 0, MAX_ARCHIVE_AFTER_DAYS);
    parsed.session_hours = reader.bounded("session_hours", &file.security.session_hours, 1, MAX_SESSION_HOURS);
    let sign_in = &file.security.sign_in;
    parsed.first_wait_seconds = reader.bounded("first_wait_seconds", &sign_in.first_wait_seconds, 1, 3600);
    parsed.max_wait_seconds = reader.bounded("max_wait_seconds", &sign_in.max_wait_seconds, 1, 86_400);
    let narrow = |s: Setting<u64>| Setting::new(u32::try_from(s.value).unwrap_or(u32::MAX), s.source);
    parsed.free_per_user = reader.bounded("free_per_user", &sign_in.free_per_user, 1, 1000).map(narrow);
    parsed.free_per_address = reader.bounded("free_per_address", &sign_in.free_per_address, 1, 100_000).map(narrow);
    if let (Some(first), Some(max)) = (&sign_in.first_wait_seconds, &sign_in.max_wait_seconds) {
        if max.get_ref() < first.get_ref() {
            reader.problem(
                max.span().start,
                t!(
                    "`max_wait_seconds` lebih kecil dari `first_wait_seconds`",
                    "`max_wait_seconds` is less than `first_wait_seconds`"
                ),
                Some(t!(
                    "jeda terpanjang harus paling sedikit sama dengan jeda pertama",
                    "the longest wait must be at least the first wait"
                )),
            );
        }
    }
    if let Some(token) = &file.security.metrics_token {
        let at = token.span().start;
        let value = token.get_ref().trim();
        if value.chars().count() < MIN_TOKEN_CHARS {
            let place = reader.place(at);
            reader.problems.push(short_token(place));
        } else {
            parsed.metrics_token = Some(Setting::new(Some(value.to_string()), reader.source(at)));
        }
    }
    if let Some(format) = &file.log.format {
        let at = format.span().start;
        match parse_log_format(format.get_ref()) {
            Some(value) => parsed.log_format = Some(Setting::new(value, reader.source(at))),
            None => {
                let given = format.get_ref();
                reader.problem(
                    at,
                    t!("format log `{given}` tidak dikenal", "unknown log format `{given}`"),
                    Some(t!("pakai \"human\" atau \"json\"", "use \"human\" or \"json\"")),
                );
            }
        }
    }
    if reader.problems.is_empty() {
        Ok(parsed)
    } else {
        Err(reader.problems)
    }
}

/// A secret as shown: whether it is set and how long, never the value.
fn masked(secret: &Option<String>, lang: Lang) -> String {
    match (secret, lang) {
        (Some(s), Lang::Id) => format!("****** ({} karakter)", s.chars().count()),
        (Some(s), Lang::En) => format!("****** ({} characters)", s.chars().count()),
        (None, Lang::Id) => "(tidak diisi)".into(),
        (None, Lang::En) => "(not set)".into(),
    }
}

/// A database as shown: a PostgreSQL URL without its password.
pub fn shown_database(database: &Path) -> String {
    let spec = database.to_string_lossy();
    if !crate::server::is_postgres(&spec) {
        return spec.into_owned();
    }
    let Some((scheme, rest)) = spec.split_once("://") else { return spec.into_owned() };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:******@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    // A password may also come as a query parameter.
    let tail = tail
        .split('&')
        .map(|part| match part.split_once("password=") {
            Some((head, _)) => format!("{head}password=******"),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("{scheme}://{authority}{tail}")
}

impl Settings {
    /// The lines of `alur config check`: each setting, its value (secrets masked) and where it
    /// came from.
    pub fn report(&self, lang: Lang) -> String {
        let log_format = match self.log_format.value {
            LogFormat::Human => "human",
            LogFormat::Json => "json",
        };
        let rows: Vec<(&str, String, &Source)> = vec![
            ("server.addr", self.addr.value.to_string(), &self.addr.source),
            ("server.database", shown_database(&self.database.value), &self.database.source),
            ("server.sop_dir", self.sop_dir.value.display().to_string(), &self.sop_dir.source),
            ("server.calendars_dir", self.calendars_dir.value.display().to_string(), &self.calendars_dir.source),
            ("server.secure_cookies", self.secure_cookies.value.to_string(), &self.secure_cookies.source),
            ("server.drain_seconds", self.drain_seconds.value.to_string(), &self.drain_seconds.source),
            ("server.archive_after_days", self.archive_after_days.value.to_string(), &self.archive_after_days.source),
            ("security.metrics_token", masked(&self.metrics_token.value, lang), &self.metrics_token.source),
            ("security.session_hours", self.session_hours.value.to_string(), &self.session_hours.source),
            ("security.sign_in.free_per_user", self.free_per_user.value.to_string(), &self.free_per_user.source),
            (
                "security.sign_in.free_per_address",
                self.free_per_address.value.to_string(),
                &self.free_per_address.source,
            ),
            (
                "security.sign_in.first_wait_seconds",
                self.first_wait_seconds.value.to_string(),
                &self.first_wait_seconds.source,
            ),
            (
                "security.sign_in.max_wait_seconds",
                self.max_wait_seconds.value.to_string(),
                &self.max_wait_seconds.source,
            ),
            ("log.format", log_format.to_string(), &self.log_format.source),
            (ENV_ADMIN_PASSWORD, masked(&self.admin_password.value, lang), &self.admin_password.source),
        ];
        let mut out = match (&self.file, lang) {
            (Some(file), Lang::Id) => format!("berkas konfigurasi: {}\n", file.display()),
            (Some(file), Lang::En) => format!("configuration file: {}\n", file.display()),
            (None, Lang::Id) => "berkas konfigurasi: tidak ada (hanya opsi, env dan bawaan)\n".to_string(),
            (None, Lang::En) => "configuration file: none (flags, environment and defaults only)\n".to_string(),
        };
        let key_width = rows.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
        let value_width = rows.iter().map(|(_, v, _)| v.chars().count()).max().unwrap_or(0);
        for (key, value, source) in rows {
            out.push_str(&format!("{key:<key_width$} = {value:<value_width$}  [{}]\n", source.describe(lang)));
        }
        out
    }

    /// The sign-in throttling policy these settings give.
    pub fn throttle_policy(&self) -> crate::server::throttle::ThrottlePolicy {
        let seconds = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(86_400));
        crate::server::throttle::ThrottlePolicy {
            free_per_user: self.free_per_user.value,
            free_per_address: self.free_per_address.value,
            first_wait: seconds(self.first_wait_seconds.value),
            max_wait: seconds(self.max_wait_seconds.value),
            ..Default::default()
        }
    }

    /// How long a sign-in lasts.
    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::try_from(self.session_hours.value).unwrap_or(12))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        assert_eq!(line_column("a\nbc = 1", 3), (2, 2));
        assert_eq!(line_column("x", 0), (1, 1));
    }

    #[test]
    fn a_postgres_password_is_masked() {
        assert_eq!(
            shown_database(Path::new("postgres://alur:s3cret@db.local:5432/alur")),
            "postgres://alur:******@db.local:5432/alur"
        );
        assert_eq!(
            shown_database(Path::new("postgres://db/alur?password=x&sslmode=require")),
            "postgres://db/alur?password=******&sslmode=require"
        );
        assert_eq!(shown_database(Path::new("data/alur.db")), "data/alur.db");
    }
}
