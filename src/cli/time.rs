//! `alur time`: the steps' due dates on the office calendar and the timing totals.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc, Weekday};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{OutputFormat, EXIT_ERRORS, EXIT_USAGE};
use crate::compile::compile_path;
use crate::compile::folders::Calendars;
use crate::diagnostic::{self, Lang};
use crate::interpret::{Chosen, Interpreter};
use crate::model::ClockPolicy;
use crate::time::Calendar;
use crate::timing::table::{timing_json_of, timing_table, TimingTable};
use crate::timing::totals::{totals_with, Totals};

pub struct TimeArgs {
    pub file: PathBuf,
    pub start: Option<String>,
    pub calendar: Option<String>,
    pub calendars: Option<PathBuf>,
    pub format: OutputFormat,
    /// `STEP=OUTCOME` pairs: the path to time instead of the main one.
    pub outcomes: Vec<String>,
    /// The service variant to time; `None`: each variant of a file that has them.
    pub variant: Option<String>,
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
    let flows = match crate::compile::variant_flows(sop, args.variant.as_deref()) {
        Ok(flows) => flows,
        Err(why) => return usage(why.get(lang).to_string()),
    };
    let mut json = Vec::new();
    for (i, sop) in flows.iter().enumerate() {
        let interpreter = Interpreter::new(sop);
        let mut chosen = match Chosen::parse(sop, &interpreter, &args.outcomes) {
            Ok(chosen) => chosen,
            Err(message) => return usage(message.get(lang).to_string()),
        };
        let totals = totals_with(&interpreter, sop, calendar.day_length_minutes());
        let table = timing_table(&interpreter, sop, &calendar, start, &mut chosen);
        match args.format {
            OutputFormat::Json => json.push(timing_json_of(sop, &calendar, &table, &totals, lang)),
            OutputFormat::Human => {
                if i > 0 {
                    outln!();
                }
                print_table(sop, &calendar, &table, &totals, !args.outcomes.is_empty(), lang)
            }
        }
    }
    if args.format == OutputFormat::Json {
        // A file with variants gives one object per variant (each with its `variant`).
        let out = if sop.variants.is_empty() { json.pop().unwrap_or_default() } else { serde_json::Value::from(json) };
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
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

/// At most `width` characters, with an ellipsis when cut.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn print_table(
    sop: &crate::model::Sop,
    calendar: &Calendar,
    table: &TimingTable,
    totals: &Totals,
    chosen_path: bool,
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
        local(calendar, table.start, lang)
    );
    if table.clock_starts != table.start {
        outln!(
            "{}: {} {zone}",
            t("di luar jam kerja; jam layanan mulai berjalan", "outside working hours; the clock starts at"),
            local(calendar, table.clock_starts, lang)
        );
    }
    if chosen_path {
        outln!("{}", t("jalur: pilihan yang diberikan (--outcome)", "path: the outcomes given (--outcome)"));
    }
    outln!();
    let headers = [
        t("No", "No"),
        t("Langkah", "Step"),
        t("Pelaksana", "Actor"),
        t("Waktu", "Time"),
        t("Kumulatif", "Cumulative"),
        format!("{} ({zone})", t("Tenggat", "Due")),
        t("Hasil", "Outcome"),
    ];
    let mut rows: Vec<[String; 7]> = vec![headers];
    let mut uncertain = false;
    let mut off_critical = false;
    let mut untimed = false;
    for r in &table.steps {
        let step = &sop.steps[r.step];
        let mark = if r.uncertain { " ?" } else { "" };
        uncertain |= r.uncertain;
        off_critical |= !r.critical;
        let number = if r.critical { step.numbered() } else { format!("{} ·", step.numbered()) };
        let actors: Vec<&str> =
            step.actor_ids().map(|a| sop.actor(a).map_or(a, |actor| actor.label.as_str())).collect();
        let at_once = if r.at_once { t(" (seketika)", " (at once)") } else { String::new() };
        untimed |= r.duration.is_none();
        let waktu = r.duration.map_or_else(|| t("tidak tertulis", "not stated"), |d| d.display(lang));
        let cumulative = match r.cumulative_untimed {
            0 => r.cumulative.display(lang),
            _ => format!("{} + ?", r.cumulative.display(lang)),
        };
        rows.push([
            number,
            format!("{} · {}", step.id.name, clip(&step.activity, 44)),
            actors.join(", "),
            format!("{waktu}{at_once}"),
            cumulative,
            r.due.map_or_else(|| "—".to_string(), |due| format!("{}{mark}", local(calendar, due, lang))),
            r.outcome.clone().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..7).map(|c| rows.iter().map(|row| row[c].chars().count()).max().unwrap_or(0)).collect();
    for row in &rows {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        outln!("{}", line.join("  ").trim_end());
    }
    if off_critical {
        outln!(
            "{}",
            t(
                "· = di cabang paralel di luar jalur kritis (tidak menentukan lama layanan)",
                "· = on a parallel branch off the critical path (does not set the lead time)",
            )
        );
    }
    if untimed {
        outln!(
            "{}",
            t(
                "tidak tertulis = SOP tidak menyebut waktu langkah ini: tanpa tenggat, dihitung seketika, jumlahnya tidak lengkap (+ ?)",
                "not stated = the SOP gives this step no time: no due date, counted as instant, the sums are incomplete (+ ?)",
            )
        );
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
    if !table.skipped.is_empty() {
        let skipped: Vec<&str> = table.skipped.iter().map(|&s| sop.steps[s].id.as_str()).collect();
        outln!(
            "{}: {}",
            t("Dilewati (syarat tidak terpenuhi)", "Skipped (condition does not hold)"),
            skipped.join(", ")
        );
    }
    match (table.end.and_then(|e| sop.ends.get(e)), table.finished) {
        (Some(end), Some(at)) => {
            // Steps without a stated time were counted as instant: the end is the earliest.
            let earliest = if untimed { t(", paling cepat", ", at the earliest") } else { String::new() };
            outln!(
                "{}: {} ({}){earliest}, {} {zone}",
                t("Berakhir", "Ends"),
                end.label,
                end.id,
                local(calendar, at, lang)
            )
        }
        _ if table.stuck => outln!(
            "{}",
            t(
                "Kasus ini berputar tanpa keluar pada pilihan yang diberikan",
                "The case goes round a loop it never leaves on the outcomes given"
            )
        ),
        _ => {}
    }
    // Holds (`penangguhan`): the clock stands still while a task is on hold, so no promise
    // changes; the applicant may get the permit later by as much as every hold on the path.
    let holds: Vec<(usize, crate::time::Duration)> =
        table.steps.iter().filter_map(|r| Some((r.step, sop.steps[r.step].hold.as_ref()?.max))).collect();
    for (step, max) in &holds {
        outln!(
            "{} {} {}: {} {} ({})",
            t("Penangguhan: langkah", "Hold: step"),
            sop.steps[*step].number,
            sop.steps[*step].id,
            t("paling lama", "at most"),
            max.display(lang),
            t(
                "jam layanan berhenti selama penangguhan; janji layanan tidak berubah",
                "the service clock stands still while on hold; the promise is unchanged"
            )
        );
    }
    if let (false, Some(at)) = (holds.is_empty(), table.finished) {
        let worst = holds.iter().fold(at, |t, (_, max)| calendar.due(t, *max).at);
        outln!(
            "{}: {} {zone}",
            t(
                "Dengan setiap penangguhan sampai batasnya, pemohon menerima paling lambat",
                "With every hold at its limit, the applicant is served at the latest"
            ),
            local(calendar, worst, lang)
        );
    }
    if let Some((step, after)) = sop.completion_date() {
        // The date the applicant is told when that step is done, as the runtime computes it.
        if let Some(r) = table.steps.iter().find(|r| r.step == step) {
            let done = if r.at_once { r.opened } else { r.due.unwrap_or(r.starts) };
            outln!(
                "{} ({} {}): {} {zone}",
                t("Tanggal selesai diberitahukan", "Completion date told"),
                t("pada langkah", "at step"),
                sop.steps[step].numbered(),
                local(calendar, calendar.due(done, after).at, lang)
            );
        }
    }
    outln!();
    let main = &totals.main_path;
    let rounded = |d: u32| match lang {
        Lang::Id => format!("({d} Hari)"),
        Lang::En => format!("({d} workdays)"),
    };
    let incomplete = |n: usize| match (n, lang) {
        (0, _) => String::new(),
        (n, Lang::Id) => format!(" + ? (tidak lengkap: {n} langkah tanpa waktu)"),
        (n, Lang::En) => format!(" + ? (incomplete: {n} steps without time)"),
    };
    outln!(
        "{}: {} {}{}",
        t("Total jalur utama", "Main-path total"),
        main.duration.display(lang),
        rounded(main.rounded_workdays),
        incomplete(main.untimed.len())
    );
    if let Some(stated) = &sop.header.stated_total {
        let day = totals.day_length_minutes;
        let verdict = if stated.duration == main.duration && main.untimed.is_empty() {
            t("sesuai", "matches")
        } else if !main.untimed.is_empty() && main.duration.length_key(day) <= stated.duration.length_key(day) {
            t("belum dapat dipastikan", "cannot be told yet")
        } else {
            t("TIDAK sesuai", "does NOT match")
        };
        let stated_rounded = stated.rounded_workdays.map(rounded).unwrap_or_default();
        outln!(
            "{}: {} {stated_rounded} ({verdict})",
            t("Total tertulis", "Stated total"),
            stated.duration.display(lang)
        );
    }
    outln!(
        "{}: {} {}{}  ·  {}: {} {}{}",
        t("Tercepat", "Best"),
        totals.best.duration.display(lang),
        rounded(totals.best.rounded_workdays),
        incomplete(totals.best.untimed.len()),
        t("Terlama (tanpa putaran)", "Worst (no rounds)"),
        totals.worst.duration.display(lang),
        rounded(totals.worst.rounded_workdays),
        incomplete(totals.worst.untimed.len())
    );
    let critical: Vec<String> = main.steps.iter().map(|&s| sop.steps[s].numbered()).collect();
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
    let per_actor: Vec<String> = totals
        .per_actor
        .iter()
        .map(|a| {
            let label = sop.actor(&a.actor).map_or(a.actor.as_str(), |actor| actor.label.as_str());
            let unknown = if a.untimed > 0 { " + ?" } else { "" };
            format!("{label} {}{unknown}", a.duration.display(lang))
        })
        .collect();
    outln!("{}: {}", t("Per pelaksana", "Per actor"), per_actor.join(", "));
    for s in &totals.service_standards {
        let label = s.label.clone().unwrap_or_else(|| t("standar pelayanan", "service standard"));
        let verdict = match s.within {
            Some(true) => t("terpenuhi", "kept"),
            Some(false) => t("TIDAK terpenuhi", "NOT kept"),
            None => t("belum dapat dipastikan", "cannot be told yet"),
        };
        outln!(
            "{label}: {} {} / {} {}{} ({verdict})",
            t("dijanjikan", "promised"),
            s.promised.display(lang),
            t("terhitung", "measured"),
            s.measured.display(lang),
            incomplete(s.untimed.len())
        );
    }
}
