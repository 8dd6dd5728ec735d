//! Deadline arithmetic on the shipped calendars (sop/calendars).

// Tests state their expectations with unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use alur::syntax::SourceMap;
use alur::time::{Calendar, CalendarSet, Duration};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

fn set() -> &'static CalendarSet {
    static SET: OnceLock<CalendarSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sop/calendars");
        let mut sources = SourceMap::new();
        let (set, diagnostics) = alur::compile::calendar::load_dir(&dir, &mut sources);
        assert!(
            diagnostics.is_empty(),
            "{}",
            alur::diagnostic::render_all(&sources, &diagnostics, alur::diagnostic::Lang::En)
        );
        set
    })
}

fn calendar(name: &str) -> &'static Calendar {
    static CALENDARS: OnceLock<Vec<Calendar>> = OnceLock::new();
    let all = CALENDARS.get_or_init(|| {
        ["wib_kantor", "wita_kantor", "wit_kantor"].iter().map(|n| set().calendar(n).unwrap()).collect()
    });
    all.iter().find(|c| c.name() == name).unwrap()
}

/// A local time in the calendar's zone: "2026-12-01 08:00".
fn local(cal: &Calendar, text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    cal.time_zone().from_local_datetime(&naive).single().unwrap().with_timezone(&Utc)
}

fn show(cal: &Calendar, t: DateTime<Utc>) -> String {
    t.with_timezone(&cal.time_zone()).format("%Y-%m-%d %H:%M").to_string()
}

fn d(workdays: u32, hours: u32, minutes: u32) -> Duration {
    Duration::new(workdays, hours, minutes)
}

#[test]
fn examples_from_the_issue() {
    let wita = calendar("wita_kantor");
    let cases = [
        ("2026-12-01 08:00", d(4, 1, 18), "2026-12-07 09:18"),
        ("2026-11-26 15:55", d(0, 0, 30), "2026-11-27 07:55"),
        ("2026-11-27 11:20", d(0, 0, 30), "2026-11-27 13:20"),
    ];
    for (start, duration, expected) in cases {
        let due = wita.due(local(wita, start), duration);
        assert_eq!(show(wita, due.at), expected, "{start} + {duration}");
        assert!(!due.uncertain);
    }
}

/// (start, duration, due, uncertain), local WITA times.
/// (start, (hari, jam, menit), due, uncertain).
type Case = (&'static str, (u32, u32, u32), &'static str, bool);

const WITA_CASES: &[Case] = &[
    // Closing time is a valid deadline; the weekend is skipped.
    ("2026-11-27 16:00", (0, 0, 30), "2026-11-27 16:30", false),
    ("2026-11-27 16:20", (0, 0, 30), "2026-11-30 07:50", false),
    ("2026-11-26 16:00", (0, 0, 30), "2026-11-27 08:00", false),
    // Zero durations: a start in working time stays, any other moves to the next opening.
    ("2026-12-01 10:00", (0, 0, 0), "2026-12-01 10:00", false),
    ("2026-11-28 10:00", (0, 0, 0), "2026-11-30 07:30", false),
    ("2026-12-01 16:00", (0, 0, 0), "2026-12-02 07:30", false),
    ("2026-12-01 12:00", (0, 0, 0), "2026-12-01 13:00", false),
    // Breaks: Monday to Thursday 12:00-13:00, Friday 11:30-13:00.
    ("2026-11-30 11:50", (0, 0, 20), "2026-11-30 13:10", false),
    ("2026-11-30 11:50", (0, 0, 10), "2026-11-30 12:00", false),
    ("2026-11-30 12:30", (0, 0, 10), "2026-11-30 13:10", false),
    ("2026-11-27 11:30", (0, 0, 5), "2026-11-27 13:05", false),
    ("2026-11-27 11:00", (0, 1, 0), "2026-11-27 13:30", false),
    // Before opening and after closing.
    ("2026-12-01 06:00", (0, 1, 0), "2026-12-01 08:30", false),
    ("2026-12-01 17:00", (0, 1, 0), "2026-12-02 08:30", false),
    ("2026-12-01 07:29", (0, 0, 1), "2026-12-01 07:31", false),
    // Whole days keep the position within the day.
    ("2026-12-01 08:00", (1, 0, 0), "2026-12-02 08:00", false),
    ("2026-11-27 16:20", (4, 0, 0), "2026-12-03 15:50", false),
    ("2026-11-30 13:00", (1, 0, 0), "2026-12-01 12:00", false),
    ("2026-11-30 13:00", (1, 0, 1), "2026-12-01 13:01", false),
    ("2026-12-01 08:00", (0, 7, 30), "2026-12-02 08:00", false),
    ("2026-12-01 07:30", (0, 7, 30), "2026-12-01 16:00", false),
    ("2026-12-01 07:30", (0, 7, 31), "2026-12-02 07:31", false),
    // New Year (Thursday, LN).
    ("2026-01-01 08:00", (0, 1, 0), "2026-01-02 08:30", false),
    // Imlek: 16 February CB, 17 February LN.
    ("2026-02-13 16:00", (0, 1, 0), "2026-02-18 08:00", false),
    ("2026-02-13 09:00", (1, 0, 0), "2026-02-18 09:00", false),
    // Nyepi and Idul Fitri, 18-24 March: Tuesday 17 to Wednesday 25.
    ("2026-03-17 10:00", (1, 0, 0), "2026-03-25 10:00", false),
    ("2026-03-17 15:00", (0, 2, 0), "2026-03-25 08:30", false),
    ("2026-03-20 09:00", (0, 0, 0), "2026-03-25 07:30", false),
    ("2026-03-16 10:00", (2, 0, 0), "2026-03-25 10:00", false),
    // Kenaikan, 14-15 May.
    ("2026-05-13 09:00", (1, 0, 0), "2026-05-18 09:00", false),
    ("2026-05-14 09:00", (0, 0, 10), "2026-05-18 07:40", false),
    // Idul Adha 27-28 May; Waisak 31 May (Sunday) and Pancasila 1 June.
    ("2026-05-26 14:00", (1, 0, 0), "2026-05-29 14:30", false),
    ("2026-05-29 09:00", (1, 0, 0), "2026-06-02 09:00", false),
    // Christmas, 24-25 December.
    ("2026-12-23 10:00", (1, 0, 0), "2026-12-28 10:00", false),
    ("2026-12-25 09:00", (1, 0, 0), "2026-12-29 07:30", false),
    ("2026-12-23 15:30", (0, 1, 0), "2026-12-28 08:00", false),
    // The year boundary: 2027 is provisional.
    ("2026-12-30 10:00", (0, 0, 30), "2026-12-30 10:30", false),
    ("2026-12-31 15:00", (0, 2, 0), "2027-01-04 08:30", true),
    ("2026-12-31 10:00", (1, 0, 0), "2027-01-04 10:00", true),
    ("2027-03-01 10:00", (0, 0, 10), "2027-03-01 10:10", true),
    // Past the last covered date (2027-12-31): weekly hours, uncertain.
    ("2027-12-31 10:00", (1, 0, 0), "2028-01-03 10:00", true),
    ("2025-12-31 10:00", (0, 0, 10), "2025-12-31 10:10", true),
];

#[test]
fn deadline_table_wita() {
    let wita = calendar("wita_kantor");
    let mut failures = Vec::new();
    for (start, (days, hours, minutes), expected, uncertain) in WITA_CASES {
        let duration = d(*days, *hours, *minutes);
        let due = wita.due(local(wita, start), duration);
        let got = show(wita, due.at);
        if got != *expected || due.uncertain != *uncertain {
            failures.push(format!(
                "{start} + {duration}: got {got} (uncertain {}), expected {expected} (uncertain {uncertain})",
                due.uncertain
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn all_three_zones_agree_in_local_time() {
    for (name, zone) in
        [("wib_kantor", Tz::Asia__Jakarta), ("wita_kantor", Tz::Asia__Makassar), ("wit_kantor", Tz::Asia__Jayapura)]
    {
        let cal = calendar(name);
        assert_eq!(cal.time_zone(), zone);
        assert_eq!(cal.day_length_minutes(), 450);
        for (start, (days, hours, minutes), expected, uncertain) in WITA_CASES {
            let due = cal.due(local(cal, start), d(*days, *hours, *minutes));
            assert_eq!(show(cal, due.at), *expected, "{name}: {start}");
            assert_eq!(due.uncertain, *uncertain, "{name}: {start}");
        }
    }
}

#[test]
fn one_utc_instant_is_a_different_office_time_in_each_zone() {
    // 2026-12-01 00:00 UTC is 07:00 WIB (closed), 08:00 WITA and 09:00 WIT.
    let start = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
    let expected =
        [("wib_kantor", "2026-12-01 08:00"), ("wita_kantor", "2026-12-01 08:30"), ("wit_kantor", "2026-12-01 09:30")];
    for (name, due) in expected {
        let cal = calendar(name);
        assert_eq!(show(cal, cal.due(start, d(0, 0, 30)).at), due, "{name}");
    }
    assert!(!calendar("wib_kantor").is_working(start));
    assert!(calendar("wita_kantor").is_working(start));
}

#[test]
fn calendar_days_keep_the_clock_time_then_wait_for_an_opening() {
    let wita = calendar("wita_kantor");
    let cases = [
        ("2026-12-01 10:00", 7, "2026-12-08 10:00"),
        ("2026-11-28 10:00", 14, "2026-12-14 07:30"),
        ("2026-12-01 17:00", 1, "2026-12-03 07:30"),
        ("2026-12-10 10:00", 14, "2026-12-28 07:30"),
    ];
    for (start, days, expected) in cases {
        let due = wita.due(local(wita, start), Duration::calendar_days(days));
        assert_eq!(show(wita, due.at), expected, "{start} + {days} hari kalender");
    }
}

#[test]
fn working_minutes_openings_and_positions() {
    let wita = calendar("wita_kantor");
    let a = local(wita, "2026-11-26 15:55");
    let b = local(wita, "2026-11-27 07:55");
    assert_eq!(wita.working_minutes_between(a, b), 30);
    assert_eq!(wita.working_minutes_between(b, a), 0);
    // A whole ordinary week is 5 x 7.5 hours.
    let monday = local(wita, "2026-11-30 00:00");
    let next_monday = local(wita, "2026-12-07 00:00");
    assert_eq!(wita.working_minutes_between(monday, next_monday), 5 * 450);
    // The Idul Fitri week has two working days (Wednesday 25 to Friday 27 March: three).
    let w = wita.working_minutes_between(local(wita, "2026-03-16 00:00"), local(wita, "2026-03-30 00:00"));
    assert_eq!(w, (2 + 3) * 450);
    assert_eq!(show(wita, wita.next_opening(local(wita, "2026-03-18 09:00"))), "2026-03-25 07:30");
    assert_eq!(show(wita, wita.next_opening(local(wita, "2026-03-25 09:00"))), "2026-03-25 09:00");
    assert!(!wita.is_working(local(wita, "2026-12-01 16:00")));
    assert!(wita.is_working(local(wita, "2026-12-01 07:30")));
    let p = wita.position(local(wita, "2026-11-30 12:30"));
    assert_eq!(show(wita, wita.instant_at(p)), "2026-11-30 12:00");
    let later = alur::time::WorkPosition(p.0 + 60);
    assert_eq!(show(wita, wita.instant_at(later)), "2026-11-30 13:01");
    assert_eq!(show(wita, wita.add_working_minutes(local(wita, "2026-11-26 15:55"), 30)), "2026-11-27 07:55");
}

#[test]
fn holidays_are_listed_with_their_kind() {
    let wita = calendar("wita_kantor");
    let christmas_eve = wita.holiday_on(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()).unwrap();
    assert_eq!(christmas_eve.kind.code(), "CB");
    assert!(!wita.is_working_day(NaiveDate::from_ymd_opt(2026, 12, 24).unwrap()));
    assert!(wita.is_certain(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
    assert!(!wita.is_certain(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()));
    assert_eq!(wita.holidays().filter(|h| h.date.format("%Y").to_string() == "2026").count(), 25);
    assert_eq!(wita.holidays().filter(|h| h.date.format("%Y").to_string() == "2027").count(), 8);
}

#[test]
fn the_lks_chain_totals_four_days_one_hour_eighteen_minutes() {
    let wita = calendar("wita_kantor");
    let steps: Vec<Duration> = [(0, 30), (0, 10), (0, 10), (4, 0), (0, 10), (0, 5), (0, 5), (0, 5), (0, 3)]
        .iter()
        .map(|(days, minutes)| Duration::new(*days, 0, *minutes))
        .collect();
    let chain = wita.due_chain(local(wita, "2026-12-01 08:00"), &steps);
    let last = chain.last().unwrap();
    let once = wita.due(local(wita, "2026-12-01 08:00"), steps.iter().copied().sum());
    assert_eq!(show(wita, last.at), "2026-12-07 09:18");
    assert_eq!(last.at, once.at);
}
