//! `alur time`: the steps' due dates on the office calendar and the timing totals.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc, Weekday};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::compile::compile_path;
use crate::compile::folders::Calendars;
use crate::diagnostic::{self, Lang};
use crate::model::ClockPolicy;
use crate::time::{schedule, totals, Calendar};

pub struct TimeArgs {
    pub file: PathBuf,
    pub start: Option<String>,
    pub calendar: Option<String>,
    pub calendars: Option<PathBuf>,
    pub format: OutputFormat,
}

fn zone_abbreviation(calendar: &Calendar) -> String {
    match calendar.time_zone().name() {
        "Asia/Jakarta" | "Asia/Pontianak" => "WIB".into(),
        "Asia/Makassar" => "WITA".into(),
        "Asia/Jayapura" => "WIT".into(),
        other => other.into(),
    }
}

fn day_name(day: Weekday, lang: Lang) -> &'static str {
    let id = ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"];
    let en = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let i = day.num_days_from_monday() as usize;
    match lang {
        Lang::Id => id[i],
        Lang::En => en[i],
    }
}

fn local(calendar: &Calendar, t: DateTime<Utc>, lang: Lang) -> String {
    let l = t.with_timezone(&calendar.time_zone());
    format!("{} {}", day_name(l.weekday(), lang), l.format("%Y-%m-%d %H:%M"))
}

fn usage(message: String) -> ExitCode {
    eprintln!("alur: {message}");
    ExitCode::from(EXIT_USAGE)
}

pub fn run(args: TimeArgs, lang: Lang) -> ExitCode {
    let mut calendars = Calendars::new(args.calendars.clone());
    let Some(folder) = calendars.folder_for(&args.file) else {
        return usage(match lang {
            Lang::Id => "folder kalender tidak ditemukan; pakai --calendars FOLDER".into(),
            Lang::En => "no calendar folder found; use --calendars DIR".into(),
        });
    };
    let (context, _) = calendars.load(&folder);
    let options = context.options.clone();
    let compiled = compile_path(&args.file, &options);
    let color = std::io::stderr().is_terminal();
    diagnostic::render(&compiled.sources, &compiled.diagnostics, lang, color);
    let Some(sop) = compiled.sop.as_ref().filter(|_| !compiled.has_errors()) else {
        return ExitCode::from(EXIT_ERRORS);
    };
    let Some(name) = args.calendar.clone().or_else(|| sop.header.calendar.as_ref().map(|c| c.name.clone())) else {
        return usage(match lang {
            Lang::Id => "SOP ini tidak menyebut kalender; pakai --calendar NAMA".into(),
            Lang::En => "this SOP names no calendar; use --calendar NAME".into(),
        });
    };
    let calendar = match context.set.calendar(&name) {
        Ok(calendar) => calendar,
        Err(diagnostics) => {
            diagnostic::render(&context.sources, &diagnostics, lang, color);
            return usage(match lang {
                Lang::Id => format!("kalender `{name}` tidak dapat dipakai"),
                Lang::En => format!("calendar `{name}` cannot be used"),
            });
        }
    };
    let start = match &args.start {
        None => Utc::now(),
        Some(text) => match parse_start(text, &calendar) {
            Some(t) => t,
            None => {
                return usage(match lang {
                    Lang::Id => format!("waktu mulai `{text}` tidak dimengerti; tulis misalnya \"2026-12-23 15:00\""),
                    Lang::En => format!("cannot read the start `{text}`; write for example \"2026-12-23 15:00\""),
                })
            }
        },
    };
    let totals = totals(sop, calendar.day_length_minutes());
    let rows = schedule(sop, &totals.main_path.steps, &calendar, start);
    match args.format {
        OutputFormat::Json => {
            let out = crate::time::schedule::timing_json(sop, &calendar, start, lang);
            outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        OutputFormat::Human => print_table(sop, &calendar, start, &rows, &totals, lang),
    }
    ExitCode::SUCCESS
}

/// "2026-12-23 15:00" (or with a `T`) in the calendar's time zone, or RFC 3339 with an offset.
fn parse_start(text: &str, calendar: &Calendar) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN))
        })?;
    calendar.time_zone().from_local_datetime(&naive).earliest().map(|t| t.with_timezone(&Utc))
}

fn print_table(
    sop: &crate::model::Sop,
    calendar: &Calendar,
    start: DateTime<Utc>,
    rows: &[crate::time::ScheduledStep],
    totals: &crate::time::Totals,
    lang: Lang,
) {
    let zone = zone_abbreviation(calendar);
    let t = |id: &str, en: &str| match lang {
        Lang::Id => id.to_string(),
        Lang::En => en.to_string(),
    };
    outln!("{} ({})", sop.title, sop.id);
    outln!(
        "{}: {} ({}), {}: {} {zone}",
        t("kalender", "calendar"),
        calendar.name(),
        calendar.time_zone().name(),
        t("mulai", "start"),
        local(calendar, start, lang)
    );
    outln!();
    let headers = [
        t("No", "No"),
        t("Langkah", "Step"),
        t("Pelaksana", "Actor"),
        t("Waktu", "Time"),
        t("Kumulatif", "Cumulative"),
        format!("{} ({zone})", t("Tenggat", "Due")),
    ];
    let mut table: Vec<[String; 6]> = vec![headers];
    let mut uncertain = false;
    for r in rows {
        let step = &sop.steps[r.step];
        let mark = if r.uncertain { " ?" } else { "" };
        uncertain |= r.uncertain;
        table.push([
            step.number.clone(),
            step.id.name.clone(),
            step.actor_ids().collect::<Vec<_>>().join(", "),
            r.duration.display(lang),
            r.cumulative.display(lang),
            format!("{}{mark}", local(calendar, r.due, lang)),
        ]);
    }
    let widths: Vec<usize> =
        (0..6).map(|c| table.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &table {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        outln!("{}", line.join("  ").trim_end());
    }
    if uncertain {
        outln!(
            "{}",
            t(
                "? = tenggat melewati tanggal yang diketahui kalender atau jatuh di tahun sementara: belum pasti",
                "? = the due date is past the calendar's known dates or in a provisional year: not certain",
            )
        );
    }
    outln!();
    let main = &totals.main_path;
    let rounded = |d: u32| match lang {
        Lang::Id => format!("({d} Hari)"),
        Lang::En => format!("({d} workdays)"),
    };
    outln!(
        "{}: {} {}",
        t("Total jalur utama", "Main-path total"),
        main.duration.display(lang),
        rounded(main.rounded_workdays)
    );
    if let Some(stated) = &sop.header.stated_total {
        let same = stated.duration == main.duration;
        let verdict = if same { t("sesuai", "matches") } else { t("TIDAK sesuai", "does NOT match") };
        let stated_rounded = stated.rounded_workdays.map(rounded).unwrap_or_default();
        outln!(
            "{}: {} {stated_rounded} ({verdict})",
            t("Total tertulis", "Stated total"),
            stated.duration.display(lang)
        );
    }
    outln!(
        "{}: {} {}  ·  {}: {} {}",
        t("Tercepat", "Best"),
        totals.best.duration.display(lang),
        rounded(totals.best.rounded_workdays),
        t("Terlama (tanpa putaran)", "Worst (no rounds)"),
        totals.worst.duration.display(lang),
        rounded(totals.worst.rounded_workdays)
    );
    let critical: Vec<&str> = main.steps.iter().map(|&s| sop.steps[s].number.as_str()).collect();
    outln!("{}: {}", t("Jalur kritis (langkah)", "Critical path (steps)"), critical.join(" → "));
    for l in &totals.rework_loops {
        let clock = match (l.clock, lang) {
            (ClockPolicy::Pause, Lang::Id) => "jam berhenti",
            (ClockPolicy::Restart, Lang::Id) => "jam diulang",
            (ClockPolicy::Run, Lang::Id) => "jam berjalan",
            (ClockPolicy::Pause, Lang::En) => "clock pauses",
            (ClockPolicy::Restart, Lang::En) => "clock restarts",
            (ClockPolicy::Run, Lang::En) => "clock runs",
        };
        let worst = match (l.max_rounds, &l.worst_with_rounds) {
            (Some(n), Some(w)) => match lang {
                Lang::Id => format!(", maks {n} kali: terlama {}", w.display(lang)),
                Lang::En => format!(", max {n} rounds: worst {}", w.display(lang)),
            },
            _ => String::new(),
        };
        outln!(
            "{}: {} → {} ({}): {} {}, {clock}{worst}",
            t("Putaran kembali", "Rework loop"),
            sop.steps[l.decision_step].id,
            sop.steps[l.back_to].id,
            l.outcome,
            l.round.display(lang),
            t("per putaran", "per round"),
        );
    }
    let per_actor: Vec<String> =
        totals.per_actor.iter().map(|a| format!("{} {}", a.actor, a.duration.display(lang))).collect();
    outln!("{}: {}", t("Per pelaksana", "Per actor"), per_actor.join(", "));
    for s in &totals.service_standards {
        let label = s.label.clone().unwrap_or_else(|| t("standar pelayanan", "service standard"));
        let verdict = if s.within { t("terpenuhi", "kept") } else { t("TIDAK terpenuhi", "NOT kept") };
        outln!(
            "{label}: {} {} / {} {} ({verdict})",
            t("dijanjikan", "promised"),
            s.promised.display(lang),
            t("terhitung", "measured"),
            s.measured.display(lang)
        );
    }
}
