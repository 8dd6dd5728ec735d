//! Calendar files written inline: office overrides, special hours, and every error a calendar
//! file can hold, reported as a diagnostic with a help line in both languages.

// Tests state their expectations with unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alur::diagnostic::{Code, Diagnostic};
use alur::syntax::SourceMap;
use alur::time::{Calendar, CalendarSet, Duration};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};

const BASE: &str = r#"
kalender nasional {
    berlaku 2026-01-01 - 2026-12-31
    libur 2026-12-25 "Natal"
    cuti_bersama 2026-12-24 "Cuti Bersama Natal"
}
"#;

fn load(text: &str) -> (CalendarSet, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let mut set = CalendarSet::new();
    let file = sources.add("test.sop", None, text);
    let mut diagnostics = alur::compile::calendar::add_file(&mut set, file, text);
    diagnostics.extend(set.check());
    (set, diagnostics)
}

fn codes(text: &str) -> Vec<Code> {
    let (_, diagnostics) = load(text);
    for d in &diagnostics {
        assert!(!d.message.id.is_empty() && !d.message.en.is_empty());
        assert!(d.help.is_some(), "{:?} has no help", d.code);
    }
    diagnostics.iter().map(|d| d.code).collect()
}

fn compile(text: &str, name: &str) -> Calendar {
    let (set, diagnostics) = load(text);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    set.calendar(name).unwrap()
}

fn local(cal: &Calendar, text: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
    cal.time_zone().from_local_datetime(&naive).single().unwrap().with_timezone(&Utc)
}

fn show(cal: &Calendar, t: DateTime<Utc>) -> String {
    t.with_timezone(&cal.time_zone()).format("%Y-%m-%d %H:%M").to_string()
}

#[test]
fn english_keywords_and_a_working_collective_leave_day() {
    let text = format!(
        "{BASE}
calendar office {{
    zone WITA
    extends nasional
    hours monday-thursday 07:30-12:00, 13:00-16:00
    hours friday 07:30-11:30, 13:00-16:30
    working_day 2026-12-24 \"licensing counter stays open\"
    add_holiday 2026-12-31 \"office anniversary\"
}}"
    );
    let cal = compile(&text, "office");
    assert_eq!(cal.day_length_minutes(), 450);
    assert_eq!(show(&cal, cal.due(local(&cal, "2026-12-23 10:00"), Duration::workdays(1)).at), "2026-12-24 10:00");
    // 31 December is the office's own holiday; 2027 is not covered by `nasional`, so the
    // deadline follows the weekly hours and is uncertain.
    let due = cal.due(local(&cal, "2026-12-28 10:00"), Duration::workdays(3));
    assert_eq!(show(&cal, due.at), "2027-01-01 10:00");
    assert!(due.uncertain);
}

#[test]
fn special_hours_and_clamping_to_a_shorter_day() {
    let text = format!(
        "{BASE}
kalender kantor {{
    zona Asia/Makassar
    turunan nasional
    jam_kerja senin-kamis 07:30-16:00 istirahat 12:00-13:00
    jam_kerja jumat 07:30-16:30 istirahat 11:30-13:00
    jam_khusus 2026-02-19 - 2026-03-19 \"Ramadan 1447 H\" {{
        senin-kamis 08:00-15:00 istirahat 12:00-12:30
        jumat 08:00-15:30 istirahat 11:30-12:30
    }}
}}"
    );
    let cal = compile(&text, "kantor");
    assert_eq!(cal.day_length_minutes(), 450);
    let ramadan_day = NaiveDate::from_ymd_opt(2026, 2, 23).unwrap();
    assert_eq!(cal.periods_on(ramadan_day).iter().map(|p| p.minutes()).sum::<u32>(), 390);
    // Wednesday 18 February 15:50 is 440 minutes into the day; Thursday 19 is a Ramadan day
    // of 390 minutes, so the position is clamped to its closing time.
    assert_eq!(show(&cal, cal.due(local(&cal, "2026-02-18 15:50"), Duration::workdays(1)).at), "2026-02-19 15:00");
    assert_eq!(show(&cal, cal.due(local(&cal, "2026-02-19 07:45"), Duration::minutes(10)).at), "2026-02-19 08:10");
}

#[test]
fn day_length_is_derived_or_written() {
    let uneven = format!(
        "{BASE}
kalender a {{ zona WIB; turunan nasional; jam_kerja senin-jumat 08:00-15:00 }}
kalender b {{ zona WIB; turunan nasional; jam_kerja senin-kamis 08:00-16:00; jam_kerja jumat 08:00-11:00 }}
kalender c {{ zona WIB; turunan nasional; jam_kerja senin-kamis 08:00-16:00; panjang_hari 6 jam 30 menit }}"
    );
    let (set, diagnostics) = load(&uneven);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    assert_eq!(set.calendar("a").unwrap().day_length_minutes(), 420);
    assert_eq!(set.calendar("b").unwrap().day_length_minutes(), 450);
    assert_eq!(set.calendar("c").unwrap().day_length_minutes(), 390);
}

#[test]
fn a_provisional_calendar_makes_deadlines_uncertain() {
    let text = "kalender p { zona WIB; berlaku 2027-01-01 - 2027-12-31; sementara \"no SKB\"; jam_kerja senin-jumat 08:00-16:00 }";
    let cal = compile(text, "p");
    let due = cal.due(local(&cal, "2027-03-01 09:00"), Duration::minutes(10));
    assert!(due.uncertain);
    assert_eq!(cal.provisional().len(), 1);
}

#[test]
fn errors_are_diagnostics() {
    let cases: &[(&str, Code)] = &[
        ("kalender k { zona WIB; jam_kerja senin 07:30-25:00 }", Code::InvalidTime),
        ("kalender k { zona WIB; jam_kerja senin 16:00-07:30 }", Code::InvalidTime),
        ("kalender k { zona WIB; jam_kerja senin 07:75-08:00 }", Code::InvalidTime),
        ("kalender k { zona WIB; jam_kerja sennin 07:30-16:00 }", Code::UnknownDay),
        ("kalender k { zona WIB; jam_kerja senin 07:30-12:00, 11:00-16:00 }", Code::OverlappingHours),
        (
            "kalender k { zona WIB; jam_kerja senin-rabu 07:30-12:00\n jam_kerja rabu 13:00-16:00 }",
            Code::OverlappingHours,
        ),
        ("kalender k { zona WIB; jam_kerja senin 07:30-16:00 istirahat 15:00-17:00 }", Code::BreakOutsideHours),
        ("kalender k { zona Asia/Makasar }", Code::UnknownTimeZone),
        ("kalender k { turunan nasional-2099 }", Code::UnknownBaseCalendar),
        ("kalender a { turunan b }\nkalender b { turunan a }", Code::CalendarCycle),
        ("kalender a { zona WIB }\nkalender a { zona WIT }", Code::DuplicateCalendar),
        ("kalender k { libur 2026-02-30 \"x\" }", Code::InvalidDate),
        ("kalender k { berlaku 2026-12-31 - 2026-01-01 }", Code::InvalidDate),
        ("kalender k { berlaku 2026-01-01 - 2026-12-31; libur 2025-12-25 \"Natal\" }", Code::DateOutsideCover),
        ("kalender k { libur 2026-12-25 \"a\"; cuti_bersama 2026-12-25 \"b\" }", Code::DuplicateDate),
        ("kalender k { panjang_hari 25 jam }", Code::InvalidDayLength),
        ("kalender a { zona WIB }\nkalender b { zona WIT }\nkalender c { turunan a, b }", Code::ConflictingBases),
        ("kalender k { zona WIB; zona WIT }", Code::DuplicateSetting),
        ("kalender k { libur 2026-12-25 }", Code::Expected),
        ("kalender k { jam 07:30-16:00 }", Code::UnknownKeyword),
        ("kalendar k { }", Code::UnknownKeyword),
        ("kalender k { sementara }", Code::MissingSetting),
        ("kalender k { zona WIB; jam_kerja senin 07:30-16:00 ekstra }", Code::Expected),
    ];
    let mut failures = Vec::new();
    for (text, code) in cases {
        let got = codes(text);
        if !got.contains(code) {
            failures.push(format!("{text:?}: expected {code}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn incomplete_calendars_are_refused_when_used() {
    let (set, _) = load("kalender daftar { berlaku 2026-01-01 - 2026-12-31 }\nkalender kosong { zona WIB; jam_kerja sabtu 08:00-12:00 }\nkalender s { zona WIB; jam_kerja senin 08:00-12:00; hari_kerja 2026-03-07 }");
    let error = set.calendar("daftar").unwrap_err();
    assert_eq!(error[0].code, Code::CalendarIncomplete);
    assert!(set.calendar("kosong").is_ok());
    assert_eq!(set.calendar("s").unwrap_err()[0].code, Code::WorkingDayWithoutHours);
    let unknown = set.calendar("daftr").unwrap_err();
    assert_eq!(unknown[0].code, Code::UnknownCalendar);
    assert!(unknown[0].help.as_ref().unwrap().en.contains("daftar"));
}

#[test]
fn every_calendar_code_is_documented() {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/calendar.md")).unwrap();
    for code in Code::ALL.iter().filter(|c| c.as_str().starts_with("E5")) {
        assert!(docs.contains(code.as_str()), "{code} is not in docs/calendar.md");
    }
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "}",
        "{",
        "kalender",
        "kalender {",
        "kalender k { jam_kerja }",
        "kalender k { jam_kerja senin- }",
        "kalender k { jam_kerja senin 07:30- }",
        "kalender k { berlaku 2026-01-01 - }",
        "kalender k { jam_khusus }",
        "kalender k { panjang_hari }",
        "kalender k { panjang_hari 7 }",
        "kalender k { turunan }",
        "kalender k { hari_kerja 2026-01-01 07:00 }",
        "kalender k { libur \"x\" 2026-01-01 }",
        "kalender k { zona WIB; jam_kerja senin 00:00-24:00; berlaku 2026-01-01 - 2126-01-01 }",
    ];
    for text in inputs {
        let (set, _) = load(text);
        for name in set.names().map(str::to_string).collect::<Vec<_>>() {
            if let Ok(cal) = set.calendar(&name) {
                let _ = cal.due(Utc::now(), Duration::new(3, 2, 1));
            }
        }
    }
}

/// Calendar files are read by the compiler's own cursor: text left at the end of a line is
/// reported exactly as in an SOP file, and with the same help.
#[test]
fn a_calendar_line_with_text_left_reads_like_an_sop_line() {
    let (_, diagnostics) = load("kalender kantor {\n    zona Asia/Makassar sekarang\n}\n");
    let calendar = diagnostics.iter().find(|d| d.code == Code::Expected).expect("the leftover is reported");
    let sop = alur::compile::compile_source(
        "x.sop",
        "sop x \"X\" {\n    versi 1 sekarang\n}\n",
        &alur::compile::Options::default(),
    );
    let sop = sop.diagnostics.iter().find(|d| d.code == Code::Expected).expect("the SOP's leftover is reported");
    assert_eq!(calendar.message.en, "unexpected `sekarang` at the end of the line");
    assert_eq!(calendar.message.en, sop.message.en);
    assert_eq!(calendar.help, sop.help);
}

/// The words only calendar files know stay free for ids in an SOP: an actor may be `libur`.
#[test]
fn calendar_keywords_are_not_reserved_in_sop_files() {
    for word in ["zona", "libur", "sumber", "berlaku"] {
        assert!(alur::compile::keyword::Kw::of_word(word).is_none(), "{word} is taken by SOP files");
    }
    assert!(alur::compile::keyword::Kw::Holiday.spellings().any(|s| s == "libur"));
}
