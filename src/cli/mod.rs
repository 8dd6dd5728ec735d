//! The `alur` command line.

/// Writes to standard output. A closed pipe (`alur time FILE | head`) ends the output quietly
/// instead of panicking the way `println!` does.
pub(crate) fn print_out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// `println!` through [`print_out`].
macro_rules! outln {
    () => { $crate::cli::print_out("\n") };
    ($($arg:tt)*) => { $crate::cli::print_out(&format!("{}\n", format_args!($($arg)*))) };
}

mod backup;
mod case;

mod check;
mod format;
mod import;
mod inspect;
mod render;
mod simulate;
mod time;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::diagnostic::Lang;

#[derive(Parser)]
#[command(
    name = "alur",
    version,
    about = "Alur: SOP perizinan sebagai berkas teks / government SOPs as plain-text files"
)]
struct Cli {
    /// Language of messages: id (Bahasa Indonesia) or en. Default from LANG.
    #[arg(long, global = true, value_parser = parse_lang)]
    lang: Option<Lang>,
    #[command(subcommand)]
    command: Command,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    #[default]
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check SOP files: syntax, names, routes, rules and timing.
    Check {
        /// Files or directories (searched for *.sop).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
        /// Exit with status 1 on warnings too.
        #[arg(long)]
        deny_warnings: bool,
        /// Folder of calendar files (default: the nearest `calendars/` beside or above each file).
        #[arg(long)]
        calendars: Option<PathBuf>,
    },
    /// Reformat SOP files canonically (comments kept).
    Fmt {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Report files that are not formatted instead of rewriting them.
        #[arg(long)]
        check: bool,
    },
    /// The language server (LSP over standard input and output) for editors: diagnostics,
    /// hover, go to definition, rename, completion, formatting (docs/editor.md).
    Lsp {
        /// Accepted for editors that pass it (VS Code's client does); stdio is the only transport.
        #[arg(long, hide = true)]
        stdio: bool,
    },
    /// Timing: each step's due date on the office calendar, and the totals.
    Time {
        file: PathBuf,
        /// When the case starts, in the calendar's time zone: "2026-12-23 15:00" (default: now).
        #[arg(long)]
        start: Option<String>,
        /// Use this calendar instead of the SOP's own.
        #[arg(long)]
        calendar: Option<String>,
        /// Folder of calendar files (default: the nearest `calendars/` beside or above the file).
        #[arg(long)]
        calendars: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
        /// Time this path: STEP=OUTCOME for a decision, STEP=TARGET for conditional routes,
        /// STEP=ya|tidak for a conditional step, BLOCK=FIRST_STEP for alternatives. Repeat it
        /// (also for one step: its first, second... time).
        #[arg(long = "outcome", value_name = "STEP=OUTCOME")]
        outcomes: Vec<String>,
        /// Time this service variant (`varian` of the SOP); default: each variant in turn.
        #[arg(long = "varian", visible_alias = "variant", value_name = "VARIANT")]
        variant: Option<String>,
    },
    /// Deploy every SOP under the SOP folder to the database (a changed file is a new version).
    Deploy {
        /// The database: an SQLite file, or a postgres:// URL.
        #[arg(long, env = "ALUR_DB", default_value = "alur.db")]
        db: PathBuf,
        #[arg(long, default_value = "sop")]
        sop_dir: PathBuf,
    },
    /// Work cases from the shell: start, inbox, claim, complete, show...
    Case {
        #[command(subcommand)]
        command: case::CaseCommand,
        /// The database: an SQLite file, or a postgres:// URL.
        #[arg(long, env = "ALUR_DB", default_value = "alur.db", global = true)]
        db: PathBuf,
        /// Where the SOPs are (deployed before each command).
        #[arg(long, default_value = "sop", global = true)]
        sop_dir: PathBuf,
    },
    /// Serve the web app and the JSON API: deploys every SOP under the SOP folder and runs the timers.
    /// Settings come from flags, then the environment, then the configuration file (`alur.toml`
    /// in this folder, or --config), then the defaults.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        addr: Option<std::net::SocketAddr>,
        /// The database: an SQLite file, or a postgres:// URL (several nodes may serve one)
        /// [env: ALUR_DB] [default: alur.db].
        #[arg(long)]
        db: Option<PathBuf>,
        /// The SOP folder [default: sop].
        #[arg(long)]
        sop_dir: Option<PathBuf>,
        /// Folder of calendar files [default: calendars in the SOP folder].
        #[arg(long)]
        calendars: Option<PathBuf>,
        /// Create demo users (password `demo`) for every actor of the deployed SOPs.
        #[arg(long)]
        demo: bool,
        /// Mark the session cookie `Secure` (when served behind HTTPS).
        #[arg(long)]
        secure_cookies: bool,
        /// The log's format on stderr: `human` lines, or `json` (one object a line, with the
        /// request id). `RUST_LOG` filters it (default `info`) [env: ALUR_LOG_FORMAT].
        #[arg(long, value_enum)]
        log_format: Option<crate::server::LogFormat>,
        /// The configuration file (default: `alur.toml` in this folder, when there is one).
        #[arg(long, env = "ALUR_CONFIG")]
        config: Option<PathBuf>,
        /// Print the resolved settings, and where each came from, instead of serving.
        #[arg(long)]
        check_config: bool,
    },
    /// The configuration file of `alur serve` (`alur.toml`).
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Copy the SQLite database (and its audit log) to FILE; `alur serve` may keep running.
    Backup {
        /// The copy to write (the audit log goes beside it: `FILE-audit.db`).
        file: PathBuf,
        /// The database: an SQLite file (for PostgreSQL use pg_dump).
        #[arg(long, env = "ALUR_DB", default_value = "alur.db")]
        db: PathBuf,
        /// Overwrite FILE when it exists.
        #[arg(long)]
        force: bool,
    },
    /// Move the cases that ended before DATE into the archive beside the SQLite database
    /// (`<db>.archive`); they stay readable in `alur case show`, the web app and the API.
    /// `alur serve` may keep running.
    Archive {
        /// Cases that ended before this day (YYYY-MM-DD, the office's midnight in UTC+7 unless
        /// --zone says otherwise).
        #[arg(long)]
        before: String,
        /// The time zone of the day (an IANA name).
        #[arg(long, default_value = "Asia/Jakarta")]
        zone: String,
        /// The database: an SQLite file.
        #[arg(long, env = "ALUR_DB", default_value = "alur.db")]
        db: PathBuf,
    },
    /// Put a backup in place of the database (and its audit log); the server must be stopped.
    Restore {
        /// The backup made by `alur backup`.
        file: PathBuf,
        /// The database to replace: an SQLite file (for PostgreSQL use pg_restore).
        #[arg(long, env = "ALUR_DB", default_value = "alur.db")]
        db: PathBuf,
        /// Replace the database when it exists.
        #[arg(long)]
        force: bool,
    },
    /// Render an SOP: the official document (html, md), its flowchart (svg), the state graph
    /// (mermaid, dot) or BPMN 2.0 XML (bpmn).
    Render {
        file: PathBuf,
        /// The output format.
        #[arg(long, value_enum)]
        to: render::RenderFormat,
        /// Write to this file instead of standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Render this service variant (`varian` of the SOP); html and md default to every
        /// variant, one document after another.
        #[arg(long = "varian", visible_alias = "variant", value_name = "VARIANT")]
        variant: Option<String>,
    },
    /// Turn an SOP table (TSV/CSV text from a document or spreadsheet) into a .sop file.
    Import {
        /// The table: tab-, comma- or semicolon-separated text.
        table: PathBuf,
        /// Write the .sop file here (default: standard output).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Overwrite the output file when it exists.
        #[arg(long)]
        force: bool,
        /// The column separator: `tab`, `,`, `;` or another character (default: tab if the
        /// table has one, else `,` or `;`).
        #[arg(long)]
        delimiter: Option<String>,
        /// The SOP's id (default: from the title).
        #[arg(long)]
        id: Option<String>,
        /// Write `kalender NAME` (e.g. wita_kantor).
        #[arg(long)]
        calendar: Option<String>,
        /// How to print the diagnostics (on standard error).
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// What-if simulation: lead times, promises kept, waiting per desk, the bottleneck.
    Simulate {
        /// The SOP (two with --compare).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The scenario file (TOML, docs/simulate.md).
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Run the same scenario on two versions of an SOP, side by side.
        #[arg(long)]
        compare: bool,
        /// How many cases arrive (overrides the scenario).
        #[arg(long)]
        cases: Option<u64>,
        /// Random seed (overrides the scenario); the same seed gives the same output.
        #[arg(long)]
        seed: Option<u64>,
        /// Write the lead-time histogram as an SVG chart.
        #[arg(long)]
        svg: Option<PathBuf>,
        /// Folder of calendar files (default: the nearest `calendars/` beside or above the file).
        #[arg(long)]
        calendars: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
        /// Simulate this service variant (`varian` of the SOP; or `varian` in the scenario).
        #[arg(long = "varian", visible_alias = "variant", value_name = "VARIANT")]
        variant: Option<String>,
    },
    /// Print the compiled model and state graph.
    Inspect {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = OutputFormat::Json)]
        format: OutputFormat,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Check the file and print the resolved settings (flags aside), where each came from
    /// (env, file:line or default), secrets masked. Exit status 1 when the settings are wrong.
    Check {
        /// The file (default: `alur.toml` in this folder, when there is one).
        #[arg(env = "ALUR_CONFIG")]
        file: Option<PathBuf>,
    },
}

/// Exit statuses: 0 clean or warnings only, 1 errors, 2 usage or I/O problems.
pub const EXIT_ERRORS: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() { ExitCode::from(EXIT_USAGE) } else { ExitCode::SUCCESS };
        }
    };
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
    match cli.command {
        Command::Check { paths, format, deny_warnings, calendars } => {
            check::run(&paths, format, deny_warnings, calendars, lang)
        }
        Command::Fmt { paths, check } => format::run(&paths, check, lang),
        Command::Lsp { stdio: _ } => match crate::lsp::run_stdio(lang) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("alur lsp: {error}");
                ExitCode::from(EXIT_USAGE)
            }
        },
        Command::Inspect { file, format } => inspect::run(&file, format, lang),
        Command::Serve { addr, db, sop_dir, calendars, demo, secure_cookies, log_format, config, check_config } => {
            use crate::server::settings;
            let flags = settings::Flags { addr, db, sop_dir, calendars, secure_cookies, log_format };
            let file = settings::find_file(config.as_deref());
            let settings = match settings::resolve(file.as_deref(), &flags, &settings::process_env) {
                Ok(settings) => settings,
                Err(problems) => {
                    eprint!("{}", settings::render(&problems, lang));
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            if check_config {
                print_out(&settings.report(lang));
                return ExitCode::SUCCESS;
            }
            crate::server::init_logging(settings.log_format.value);
            let options = crate::server::ServeOptions::from_settings(&settings, demo, lang);
            let served = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| runtime.block_on(crate::server::serve(options)));
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => {
                    eprintln!("alur: {message}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
        Command::Config { command: ConfigCommand::Check { file } } => {
            use crate::server::settings;
            let file = settings::find_file(file.as_deref());
            match settings::resolve(file.as_deref(), &settings::Flags::default(), &settings::process_env) {
                Ok(settings) => {
                    print_out(&settings.report(lang));
                    ExitCode::SUCCESS
                }
                Err(problems) => {
                    eprint!("{}", settings::render(&problems, lang));
                    ExitCode::from(EXIT_ERRORS)
                }
            }
        }
        Command::Backup { file, db, force } => backup::run_backup(&file, &db, force, lang),
        Command::Restore { file, db, force } => backup::run_restore(&file, &db, force, lang),
        Command::Archive { before, zone, db } => backup::run_archive(&before, &zone, &db, lang),
        Command::Render { file, to, output, variant } => render::run(&file, to, output, variant.as_deref(), lang),
        Command::Import { table, output, force, delimiter, id, calendar, format } => {
            import::run(import::ImportArgs { table, output, force, delimiter, id, calendar, format }, lang)
        }
        Command::Deploy { db, sop_dir } => case::run_deploy(&db, &sop_dir, lang),
        Command::Case { command, db, sop_dir } => case::run(command, &db, &sop_dir, lang),

        Command::Simulate { files, scenario, compare, cases, seed, svg, calendars, format, variant } => simulate::run(
            simulate::SimulateArgs { files, scenario, compare, cases, seed, svg, calendars, format, variant },
            lang,
        ),
        Command::Time { file, start, calendar, calendars, format, outcomes, variant } => {
            time::run(time::TimeArgs { file, start, calendar, calendars, format, outcomes, variant }, lang)
        }
    }
}

pub(crate) use crate::compile::folders::sop_files;
