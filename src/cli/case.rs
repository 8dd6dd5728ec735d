//! `alur deploy` and `alur case ...`: work cases through an SOP from the shell, on the
//! embedded database file (`alur.db` in the working directory by default) or on PostgreSQL
//! (`--db postgres://...`).

use crate::runtime::store::summary::SummaryFilter;
use chrono::{TimeZone, Utc};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::{OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::diagnostic::Lang;
use crate::runtime::store;
use crate::runtime::view::view;
use crate::runtime::{Attachment, Caller, CaseId, CaseStatus, Completion, Engine, Fields, RuntimeError, SystemClock};

#[derive(Subcommand)]
pub enum CaseCommand {
    /// Start a case on the latest version of an SOP.
    Start {
        sop: String,
        /// The applicant.
        #[arg(long = "as")]
        user: String,
        /// A case field: --field luas=120 (repeatable).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        /// The entry step where the SOP offers alternatives (counter or online).
        #[arg(long)]
        entry: Option<String>,
        /// The service variant, for an SOP that has them (`varian`: baru, perpanjangan).
        #[arg(long = "varian", visible_alias = "variant", value_name = "VARIANT")]
        variant: Option<String>,
    },
    /// List cases, the newest last: the newest 100 unless told otherwise.
    List {
        /// At most this many of the newest cases.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Every case (an office's whole history may be long).
        #[arg(long, conflicts_with = "limit")]
        all: bool,
        /// Only cases with this status: active, ended, withdrawn, cancelled.
        #[arg(long)]
        status: Option<String>,
    },
    /// One case: state, open tasks with due dates, service standard, history.
    Show {
        case: String,
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Open tasks for a role (all roles when none is given).
    Inbox {
        #[arg(long)]
        role: Vec<String>,
    },
    Claim {
        case: String,
        task: u32,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        role: Vec<String>,
    },
    Release {
        case: String,
        task: u32,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        role: Vec<String>,
    },
    /// Complete a task, with the decision's outcome where the step decides.
    Complete {
        case: String,
        task: u32,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        role: Vec<String>,
        #[arg(long)]
        outcome: Option<String>,
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Attach a document (a step's output) to a case.
    Attach {
        case: String,
        /// The document id in the SOP.
        artifact: String,
        file: PathBuf,
        #[arg(long)]
        task: Option<u32>,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        role: Vec<String>,
        /// The file's media type; by default guessed from its extension (.pdf, .png, .jpg,
        /// .docx, .xlsx, .txt).
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Put a task on hold (penangguhan) while the office waits for what --reason says: its
    /// deadline and the service clock stand still, at most as long as the step allows.
    Hold {
        case: String,
        /// What the office waits for (the applicant's missing document, another agency).
        #[arg(long)]
        reason: String,
        /// The task; by default the one open task whose step may be held.
        #[arg(long)]
        task: Option<u32>,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        role: Vec<String>,
    },
    /// Take a task off hold: it is open again with the time it had left.
    Resume {
        case: String,
        /// The task; by default the one on hold.
        #[arg(long)]
        task: Option<u32>,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        role: Vec<String>,
    },
    Withdraw {
        case: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        reason: Option<String>,
    },
    Cancel {
        case: String,
        #[arg(long = "as")]
        user: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

fn say(lang: Lang, id: &str, en: &str) -> String {
    match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    }
}

fn sla_word(sla: crate::runtime::view::Sla, lang: Lang) -> String {
    use crate::runtime::view::Sla;
    let (id, en) = match sla {
        Sla::OnTime => ("tepat waktu", "on time"),
        Sla::DueSoon => ("segera jatuh tempo", "due soon"),
        Sla::Overdue => ("terlambat", "overdue"),
        Sla::Met => ("terpenuhi", "met"),
        Sla::Missed => ("terlewat", "missed"),
    };
    say(lang, id, en)
}

fn status_word(status: CaseStatus, lang: Lang) -> String {
    let (id, en) = match status {
        CaseStatus::Active => ("berjalan", "active"),
        CaseStatus::Ended => ("selesai", "ended"),
        CaseStatus::Withdrawn => ("ditarik", "withdrawn"),
        CaseStatus::Cancelled => ("dibatalkan", "cancelled"),
    };
    say(lang, id, en)
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())
}

/// Opens the engine on the database, deploys the SOPs of `sop_dir` (changed files become new
/// versions) and fires deadlines that fell due while nothing was running.
async fn open(db: &Path, sop_dir: &Path) -> Result<Arc<Engine>, String> {
    let engine = Engine::new(open_store(db).await?, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
    deploy_dir(&engine, sop_dir).await?;
    engine.fire_due(engine.now()).await.map_err(|e| e.to_string())?;
    Ok(Arc::new(engine))
}

/// Opens the store `--db` names: an SQLite file, or PostgreSQL for a `postgres://` URL.
async fn open_store(db: &Path) -> Result<Arc<dyn store::Store>, String> {
    let spec = db.to_string_lossy();
    store::open(&spec).await.map_err(|e| format!("{}: {e}", without_password(&spec)))
}

/// A database URL fit to print: the password, if any, left out.
fn without_password(spec: &str) -> String {
    let Some((scheme, rest)) = spec.split_once("://") else { return spec.to_string() };
    let Some((userinfo, host)) = rest.split_once('@') else { return spec.to_string() };
    let user = userinfo.split_once(':').map(|(user, _)| user).unwrap_or(userinfo);
    format!("{scheme}://{user}@{host}")
}

/// Deploys every SOP under `dir` (fragment libraries and calendars are not SOPs and are skipped).
pub async fn deploy_dir(engine: &Engine, dir: &Path) -> Result<Vec<String>, String> {
    let files = super::sop_files(&[dir.to_path_buf()])?;
    let calendars = dir.join("calendars");
    let mut report = Vec::new();
    for file in files {
        if file.starts_with(&calendars) {
            continue;
        }
        let compiled = crate::compile::compile_path(&file, &Default::default());
        if compiled.sop.is_none() {
            continue;
        }
        match engine.deploy_file(&file, &calendars).await {
            Ok(r) if r.new => report.push(format!("{} v{} ({})", r.sop, r.version, file.display())),
            Ok(_) => {}
            Err(e) => report.push(format!("{}: {e}", file.display())),
        }
    }
    Ok(report)
}

/// A case by its id, or by its registration number (`503/0042/DPMPTSP/XII/2026`).
async fn parse_case(engine: &Engine, text: &str) -> Result<CaseId, String> {
    if let Ok(case) = text.parse() {
        return Ok(case);
    }
    match engine.store().case_by_number(text).await.map_err(|e| e.to_string())? {
        Some(case) => Ok(case),
        None => Err(format!(
            "`{text}` bukan id perkara dan bukan nomor pendaftaran / is neither a case id nor a registration number"
        )),
    }
}

/// `name=value`, typed by the SOP's declaration of the field.
fn parse_fields(engine: &Engine, sop: &str, version: Option<u32>, pairs: &[String]) -> Result<Fields, String> {
    let d = engine.deployment(sop, version).map_err(|e| e.to_string())?;
    crate::runtime::fields::from_pairs(&d.sop, pairs)
}

fn caller(user: &str, roles: &[String]) -> Caller {
    Caller::with_roles(user, roles.to_vec())
}

pub fn run_deploy(db: &Path, sop_dir: &Path, lang: Lang) -> ExitCode {
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let engine = Engine::new(open_store(db).await?, Arc::new(SystemClock)).await.map_err(|e| e.to_string())?;
            deploy_dir(&engine, sop_dir).await
        })
    });
    match result {
        Ok(lines) if lines.is_empty() => {
            outln!("{}", say(lang, "tidak ada yang berubah", "nothing changed"));
            ExitCode::SUCCESS
        }
        Ok(lines) => {
            for line in lines {
                outln!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("alur: {message}");
            ExitCode::from(EXIT_ERRORS)
        }
    }
}

pub fn run(command: CaseCommand, db: &Path, sop_dir: &Path, lang: Lang) -> ExitCode {
    let result = runtime().and_then(|rt| rt.block_on(async { execute(command, db, sop_dir, lang).await }));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("alur: {message}");
            ExitCode::from(if message.starts_with("usage:") { EXIT_USAGE } else { EXIT_ERRORS })
        }
    }
}

async fn execute(command: CaseCommand, db: &Path, sop_dir: &Path, lang: Lang) -> Result<(), String> {
    let engine = open(db, sop_dir).await?;
    let e = |error: RuntimeError| error.to_string();
    match command {
        CaseCommand::Start { sop, user, fields, entry, variant } => {
            let fields = parse_fields(&engine, &sop, None, &fields)?;
            let case =
                engine.start_case_of(&sop, variant.as_deref(), &user, fields, entry.as_deref()).await.map_err(e)?;
            outln!("{case}");
            if let Some(r) = engine.load(case).await.map_err(e)?.registration {
                outln!("{}: {}", say(lang, "nomor pendaftaran", "registration number"), r.number);
                outln!("{}: {}", say(lang, "kode lacak", "tracking code"), r.secret);
            }
            print_open(&engine, case, lang).await?;
        }
        CaseCommand::List { limit, all, status } => {
            // From the case summaries, newest last; only running cases are read (their open steps).
            if let Some(word) = status.as_deref().filter(|w| !["active", "ended", "withdrawn", "cancelled"].contains(w))
            {
                return Err(say(
                    lang,
                    &format!("status `{word}` tidak dikenal; pakai active, ended, withdrawn atau cancelled"),
                    &format!("unknown status `{word}`; use active, ended, withdrawn or cancelled"),
                ));
            }
            let limit = if all { usize::MAX } else { limit };
            let filter = SummaryFilter { limit, status: status.clone(), ..SummaryFilter::default() };
            let mut summaries = engine.store().case_summaries(&filter).await.map_err(|x| x.to_string())?;
            summaries.reverse();
            if !all && summaries.len() == limit {
                let counts = engine.store().case_counts().await.map_err(|x| x.to_string())?;
                let total: u64 =
                    counts.iter().filter(|(_, s, _)| status.as_ref().is_none_or(|w| w == s)).map(|(_, _, n)| n).sum();
                if total > limit as u64 {
                    eprintln!(
                        "{}",
                        say(
                            lang,
                            &format!("({limit} perkara terbaru dari {total}; --limit N atau --all untuk lebih)"),
                            &format!("(the newest {limit} of {total} cases; --limit N or --all for more)"),
                        )
                    );
                }
            }
            for s in summaries {
                let case = s.case;
                let status = match s.status.as_str() {
                    "active" => {
                        let state = engine.load(case).await.map_err(e)?;
                        let steps: Vec<String> = state.open_tasks().map(|t| t.step.to_string()).collect();
                        steps.join(", ")
                    }
                    word => {
                        let status = match word {
                            "ended" => CaseStatus::Ended,
                            "withdrawn" => CaseStatus::Withdrawn,
                            _ => CaseStatus::Cancelled,
                        };
                        format!("{} {}", status_word(status, lang), s.end.clone().unwrap_or_default())
                    }
                };
                outln!("{case}  {} v{}  {}  {status}", s.sop, s.version, s.applicant);
            }
        }
        CaseCommand::Show { case, format } => {
            let case = parse_case(&engine, &case).await?;
            let state = engine.load(case).await.map_err(e)?;
            let d = engine.case_deployment(&state).map_err(e)?;
            let v = view(&state, &d, engine.now());
            match format {
                OutputFormat::Json => {
                    let out = serde_json::json!({ "case": state, "view": v });
                    outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
                }
                OutputFormat::Human => {
                    let zone = d.calendar.time_zone();
                    let local = |t: chrono::DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
                    outln!("{} ({} v{}) — {}", case, state.sop, state.version, state.applicant);
                    if let Some(number) = &state.number {
                        outln!("{}: {number}", say(lang, "nomor pendaftaran", "registration number"));
                    }
                    outln!("status: {} {}", status_word(state.status, lang), state.end.clone().unwrap_or_default());
                    for t in &v.open_tasks {
                        outln!(
                            "  {} #{} {} [{}] {} {} ({})",
                            say(lang, "tugas", "task"),
                            t.task,
                            t.step,
                            t.actors.join("/"),
                            say(lang, "tenggat", "due"),
                            t.due.map(local).unwrap_or_else(|| say(lang, "tidak ada", "none")),
                            match (&t.on_hold, t.sla) {
                                (Some(_), _) => say(lang, "ditangguhkan", "on hold"),
                                (None, Some(s)) => sla_word(s, lang),
                                (None, None) => say(lang, "waktu langkah tidak tertulis", "no time stated"),
                            }
                        );
                    }
                    if let Some(hold) = &v.on_hold {
                        outln!(
                            "  {} #{} {} {}: {}",
                            say(lang, "ditangguhkan: tugas", "on hold: task"),
                            hold.task,
                            say(lang, "paling lama sampai", "at most until"),
                            local(hold.until),
                            hold.reason
                        );
                    }
                    if let Some(c) = &v.case_due {
                        outln!(
                            "{}: {}, {} {} ({})",
                            say(lang, "janji layanan", "service promise"),
                            c.promised.display(lang),
                            say(lang, "tenggat", "due"),
                            c.due.map(local).unwrap_or_default(),
                            c.sla.map(|s| sla_word(s, lang)).unwrap_or_default()
                        );
                    }
                    for r in &engine.history(case).await.map_err(e)? {
                        outln!("  {} {} {}", local(r.at), r.by, serde_json::to_string(&r.event).unwrap_or_default());
                    }
                }
            }
        }
        CaseCommand::Inbox { role } => {
            for t in engine.inbox(&role).await.map_err(e)? {
                let zone = engine.deployment(&t.sop, None).map(|d| d.calendar.time_zone()).unwrap_or(chrono_tz::UTC);
                let due = match t.due {
                    Some(due) => zone.from_utc_datetime(&due.naive_utc()).format("%Y-%m-%d %H:%M").to_string(),
                    None => say(lang, "tanpa-batas", "no-deadline"),
                };
                let late = if t.due.is_some_and(|due| due < engine.now()) {
                    say(lang, "  TERLAMBAT", "  OVERDUE")
                } else {
                    String::new()
                };
                outln!(
                    "{} {} {} [{}] {} {due}{late}",
                    t.case,
                    t.task,
                    t.step,
                    t.actors.join("/"),
                    say(lang, "tenggat", "due")
                );
            }
        }
        CaseCommand::Claim { case, task, user, role } => {
            engine.claim(parse_case(&engine, &case).await?, task, &caller(&user, &role)).await.map_err(e)?;
        }
        CaseCommand::Release { case, task, user, role } => {
            engine.release(parse_case(&engine, &case).await?, task, &caller(&user, &role)).await.map_err(e)?;
        }
        CaseCommand::Complete { case, task, user, role, outcome, fields, note } => {
            let case = parse_case(&engine, &case).await?;
            let state = engine.load(case).await.map_err(e)?;
            let fields = parse_fields(&engine, &state.sop, Some(state.version), &fields)?;
            engine
                .complete(case, task, &caller(&user, &role), Completion { outcome, fields, note })
                .await
                .map_err(e)?;
            print_open(&engine, case, lang).await?;
        }
        CaseCommand::Attach { case, artifact, file, task, user, role, media_type } => {
            let bytes = std::fs::read(&file).map_err(|x| format!("{}: {x}", file.display()))?;
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let media_type = media_type
                .or_else(|| alur_media_type(&name))
                .unwrap_or_else(|| crate::runtime::media::OPAQUE.to_string());
            engine
                .attach(
                    parse_case(&engine, &case).await?,
                    task,
                    &caller(&user, &role),
                    &artifact,
                    &name,
                    &media_type,
                    Attachment::Bytes(bytes),
                )
                .await
                .map_err(e)?;
        }
        CaseCommand::Hold { case, reason, task, user, role } => {
            let case = parse_case(&engine, &case).await?;
            let state = engine.load(case).await.map_err(e)?;
            let d = engine.case_deployment(&state).map_err(e)?;
            let holdable = |t: &&crate::runtime::Task| d.sop.step(&t.step).is_some_and(|s| s.hold.is_some());
            let task = pick_task(task, state.open_tasks().filter(holdable).map(|t| t.no), lang)?;
            engine.hold(case, task, &caller(&user, &role), &reason).await.map_err(e)?;
            let state = engine.load(case).await.map_err(e)?;
            if let Some(hold) = state.on_hold() {
                let local = hold.until.with_timezone(&d.calendar.time_zone()).format("%Y-%m-%d %H:%M");
                outln!(
                    "{} #{task} {} {local}",
                    say(lang, "ditangguhkan: tugas", "on hold: task"),
                    say(lang, "paling lama sampai", "at most until")
                );
            }
        }
        CaseCommand::Resume { case, task, user, role } => {
            let case = parse_case(&engine, &case).await?;
            let state = engine.load(case).await.map_err(e)?;
            let task = pick_task(task, state.open_tasks().filter(|t| t.hold.is_some()).map(|t| t.no), lang)?;
            engine.resume(case, task, &caller(&user, &role)).await.map_err(e)?;
            print_open(&engine, case, lang).await?;
        }
        CaseCommand::Withdraw { case, user, reason } => {
            engine.withdraw(parse_case(&engine, &case).await?, &caller(&user, &[]), reason).await.map_err(e)?;
        }
        CaseCommand::Cancel { case, user, reason } => {
            engine.cancel(parse_case(&engine, &case).await?, &caller(&user, &[]), reason).await.map_err(e)?;
        }
    }
    Ok(())
}

/// The task a command names, or the only one it can mean.
fn pick_task(named: Option<u32>, candidates: impl Iterator<Item = u32>, lang: Lang) -> Result<u32, String> {
    if let Some(task) = named {
        return Ok(task);
    }
    let candidates: Vec<u32> = candidates.collect();
    match candidates.as_slice() {
        [one] => Ok(*one),
        [] => Err(say(
            lang,
            "tidak ada tugas yang dapat dipilih untuk perintah ini; sebutkan dengan --task",
            "no task this command can act on; name one with --task",
        )),
        many => Err(format!(
            "{} {}",
            say(lang, "beberapa tugas cocok, pilih dengan --task:", "several tasks match, choose with --task:"),
            many.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn alur_media_type(name: &str) -> Option<String> {
    crate::runtime::media::type_of_name(name).map(str::to_string)
}

async fn print_open(engine: &Engine, case: CaseId, lang: Lang) -> Result<(), String> {
    let state = engine.load(case).await.map_err(|e| e.to_string())?;
    if state.status != CaseStatus::Active {
        outln!("{}: {}", say(lang, "selesai", "ended"), state.end.unwrap_or_else(|| state.status.word().to_string()));
        return Ok(());
    }
    for t in state.open_tasks() {
        outln!("{} #{} {} [{}]", say(lang, "tugas", "task"), t.no, t.step, t.actors.join("/"));
    }
    Ok(())
}
