//! Properties of deadline arithmetic on wita_kantor, over random starts in 2025-2028 (so
//! covered, provisional and uncovered dates are all exercised).

// Tests state their expectations with unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use alur::syntax::SourceMap;
use alur::time::{Calendar, Duration};
use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;

fn wita() -> &'static Calendar {
    static CAL: OnceLock<Calendar> = OnceLock::new();
    CAL.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sop/calendars");
        let (set, diagnostics) = alur::compile::calendar::load_dir(&dir, &mut SourceMap::new());
        assert!(diagnostics.is_empty());
        set.calendar("wita_kantor").unwrap()
    })
}

fn start() -> impl Strategy<Value = DateTime<Utc>> {
    let first = Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap().timestamp();
    let last = Utc.with_ymd_and_hms(2028, 3, 1, 0, 0, 0).unwrap().timestamp();
    (first..last).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

fn duration() -> impl Strategy<Value = Duration> {
    (0u32..12, 0u32..20, 0u32..600).prop_map(|(days, hours, minutes)| Duration::new(days, hours, minutes))
}

/// Inside a working period, or exactly at the end of one.
fn working_or_closing(cal: &Calendar, t: DateTime<Utc>) -> bool {
    let local = t.with_timezone(&cal.time_zone());
    let minute = i64::from(chrono::Timelike::hour(&local)) * 60 + i64::from(chrono::Timelike::minute(&local));
    let at_minute = chrono::Timelike::second(&local) == 0;
    cal.is_working(t) || (at_minute && cal.periods_on(local.date_naive()).iter().any(|p| i64::from(p.end) == minute))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn due_is_never_before_start(s in start(), d in duration()) {
        prop_assert!(wita().due(s, d).at >= s);
    }

    #[test]
    fn due_is_monotone_in_the_duration(s in start(), d in duration(), extra in duration()) {
        let cal = wita();
        prop_assert!(cal.due(s, d).at <= cal.due(s, d + extra).at);
    }

    #[test]
    fn due_is_working_time_or_a_closing_time(s in start(), d in duration()) {
        let cal = wita();
        let due = cal.due(s, d).at;
        prop_assert!(working_or_closing(cal, due), "{} + {} = {}", s, d, due);
    }

    #[test]
    fn minutes_in_two_parts_equal_minutes_at_once(s in start(), a in 0u32..3000, b in 1u32..3000) {
        let cal = wita();
        let once = cal.due(s, Duration::minutes(a + b)).at;
        let twice = cal.due(cal.due(s, Duration::minutes(a)).at, Duration::minutes(b)).at;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn working_minutes_between_start_and_due_is_the_duration(s in start(), m in 0u32..5000) {
        let cal = wita();
        let opening = cal.next_opening(s);
        let due = cal.due(s, Duration::minutes(m)).at;
        prop_assert_eq!(cal.working_minutes_between(opening, due), u64::from(m));
    }

    #[test]
    fn zero_duration_is_the_next_opening(s in start()) {
        let cal = wita();
        prop_assert_eq!(cal.due(s, Duration::ZERO).at, cal.next_opening(s));
    }
}
