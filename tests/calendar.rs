//! Deadline arithmetic on the shipped calendars (sop/calendars).

use std::path::Path;
use std::sync::OnceLock;

use alur::syntax::SourceMap;
use alur::time::{Calendar, CalendarSet, Duration};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

fn set() -> &'static CalendarSet {
    static SET: OnceLock<CalendarSet> = OnceLock::new();
    SET.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sop/calendars");
        let mut sources = SourceMap::new();
        let (set, diagnostics) = CalendarSet::load_dir(&dir, &mut sources);
        assert!(diagnostics.is_empty(), "{}", alur::diagnostic::render_all(&sources, &diagnostics, alur::diagnostic::Lang::En));
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
