//! Calendar files (`sop/calendars/*.sop`): the same line-and-block syntax as SOP files, read
//! with the compiler's cursor and keyword table, lowered into [`CalendarDef`]s (one per
//! `kalender` block) and gathered into a [`CalendarSet`].
//!
//! Lowering checks each line on its own (times, days, dates, zones); whatever needs more than
//! one calendar (extension, conflicts between bases) is checked by [`CalendarSet::check`].
//! Every problem becomes a diagnostic and the line is skipped, so one run reports them all.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use super::cursor::Cursor;
use super::keyword::{Kw, CALENDAR_KEYWORDS};
use crate::diagnostic::{did_you_mean, Code, Diagnostic, Lang};
use crate::syntax::{parse, parse_bytes, Cst, FileId, Item, SourceMap, Span, Token, TokenKind};
use crate::t;
use crate::time::{
    CalendarDef, CalendarSet, DateRange, HolidayDecl, HolidayKind, Period, SpecialHoursDecl, WeekHours, WorkingDayDecl,
    MAX_RANGE_DAYS,
};

/// Calendar files end in `.sop` like SOPs (same syntax); `.kalender` and `.cal` are read too.
const CALENDAR_EXTENSIONS: &[&str] = &["sop", "kalender", "cal"];

/// Day names, Monday first: Indonesian, English, and common variants.
const DAY_NAMES: &[(usize, &str)] = &[
    (0, "senin"),
    (1, "selasa"),
    (2, "rabu"),
    (3, "kamis"),
    (4, "jumat"),
    (5, "sabtu"),
    (6, "minggu"),
    (6, "ahad"),
    (0, "monday"),
    (1, "tuesday"),
    (2, "wednesday"),
    (3, "thursday"),
    (4, "friday"),
    (5, "saturday"),
    (6, "sunday"),
];

/// Words that join the two ends of a range: `07:30-12:00`, `2026-02-19 sampai 2026-03-19`.
const RANGE_WORDS: &[&str] = &["sampai", "hingga", "to", "until"];
const BREAK_WORDS: &[&str] = &["istirahat", "break"];

/// Short names Indonesian officials use for their zones.
const ZONE_ALIASES: &[(&str, Tz)] =
    &[("WIB", Tz::Asia__Jakarta), ("WITA", Tz::Asia__Makassar), ("WIT", Tz::Asia__Jayapura)];

/// Loads every calendar file in `dir` (sorted by name, so diagnostics are stable) into
/// `sources`, then checks extension across files.
pub fn load_dir(dir: &Path, sources: &mut SourceMap) -> (CalendarSet, Vec<Diagnostic>) {
    let mut set = CalendarSet::new();
    let mut diagnostics = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            let shown = dir.display().to_string();
            let error = error.to_string();
            diagnostics.push(
                Diagnostic::new(
                    Code::ImportFailed,
                    t!(
                        "folder kalender `{shown}` tidak bisa dibaca: {error}",
                        "cannot read the calendar folder `{shown}`: {error}"
                    ),
                    Span::default(),
                    t!("folder kalender", "calendar folder"),
                )
                .with_help(t!("periksa jalur foldernya", "check the folder path")),
            );
            return (set, diagnostics);
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| CALENDAR_EXTENSIONS.contains(&e)))
        .collect();
    paths.sort();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) => {
                let file = sources.add(name, Some(&path), String::from_utf8_lossy(&bytes).into_owned());
                if let Err(d) = parse_bytes(file, &bytes) {
                    diagnostics.push(d);
                    continue;
                }
                let text = sources.text(file).to_string();
                diagnostics.extend(add_file(&mut set, file, &text));
            }
            Err(error) => {
                let error = error.to_string();
                diagnostics.push(Diagnostic::new(
                    Code::ImportFailed,
                    t!(
                        "berkas kalender `{name}` tidak bisa dibaca: {error}",
                        "cannot read the calendar file `{name}`: {error}"
                    ),
                    Span::default(),
                    t!("berkas kalender", "calendar file"),
                ));
            }
        }
    }
    diagnostics.extend(set.check());
    (set, diagnostics)
}

/// Parses one calendar file's text and adds its calendars to `set`. Call
/// [`CalendarSet::check`] once every file is added.
pub fn add_file(set: &mut CalendarSet, file: FileId, text: &str) -> Vec<Diagnostic> {
    let (defs, mut diagnostics) = parse_calendar_file(file, text);
    diagnostics.extend(set.add_definitions(defs));
    diagnostics
}

/// Parses a calendar file and lowers every `kalender` block in it.
pub fn parse_calendar_file(file: FileId, text: &str) -> (Vec<CalendarDef>, Vec<Diagnostic>) {
    let (cst, mut diagnostics) = parse(file, text);
    let defs = lower(file, &cst, &mut diagnostics);
    (defs, diagnostics)
}

/// Lowers a parsed calendar file.
pub fn lower(file: FileId, cst: &Cst, diagnostics: &mut Vec<Diagnostic>) -> Vec<CalendarDef> {
    let mut lowerer = Lowerer { file, diagnostics };
    let mut defs = Vec::new();
    for item in &cst.items {
        if item.broken {
            continue;
        }
        match item.tokens.first() {
            Some(first) if Kw::Calendar.matches(first) => {
                if let Some(def) = lowerer.calendar(item) {
                    defs.push(def);
                }
            }
            Some(first) => lowerer.unknown_keyword(first, &["kalender", "calendar"]),
            None => lowerer.diagnostics.push(
                Diagnostic::new(
                    Code::Expected,
                    t!("blok tanpa `kalender` di depannya", "a block without `kalender` before it"),
                    item.head_span(),
                    t!("diharapkan `kalender NAMA {{`", "expected `calendar NAME {{`"),
                )
                .with_help(t!(
                    "tulis nama kalender sebelum blok: `kalender wita_kantor {{ ... }}`",
                    "name the calendar before the block: `calendar wita_kantor {{ ... }}`"
                )),
            ),
        }
    }
    defs
}

struct Lowerer<'a> {
    file: FileId,
    diagnostics: &'a mut Vec<Diagnostic>,
}

/// A cursor on a line after its keyword.
fn after_keyword(item: &Item) -> Cursor<'_> {
    let mut cursor = Cursor::new(&item.tokens, item.head_span());
    cursor.next();
    cursor
}

fn is_range_joiner(token: &Token) -> bool {
    token.is_punct("-") || (token.kind == TokenKind::Word && RANGE_WORDS.contains(&token.text.as_str()))
}

impl Lowerer<'_> {
    fn push(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn unknown_keyword(&mut self, token: &Token, candidates: &[&str]) {
        let word = &token.text;
        let mut diagnostic = Diagnostic::new(
            Code::UnknownKeyword,
            t!("`{word}` bukan kata kunci kalender", "`{word}` is not a calendar keyword"),
            token.span,
            t!("kata kunci tidak dikenal", "unknown keyword"),
        );
        let suggestion = did_you_mean(word, candidates.iter().copied());
        let list = candidates.join(", ");
        diagnostic = match suggestion {
            Some(s) => diagnostic.with_help(t!("mungkin maksud Anda `{s}`?", "did you mean `{s}`?")),
            None => diagnostic.with_help(t!("kata kunci yang dikenal: {list}", "known keywords: {list}")),
        };
        self.push(diagnostic);
    }

    fn expected(&mut self, span: Span, what_id: &str, what_en: &str, example: &str) {
        self.push(
            Diagnostic::new(
                Code::Expected,
                t!("diharapkan {what_id}", "expected {what_en}"),
                span,
                t!("{what_id} di sini", "{what_en} here"),
            )
            .with_help(t!("contoh: `{example}`", "example: `{example}`")),
        );
    }

    /// Reports what is left on a line, the way SOP lines report it.
    fn trailing_tokens(&mut self, line: &Cursor<'_>) {
        if let Err(d) = line.expect_end() {
            self.push(d);
        }
    }

    fn calendar(&mut self, item: &Item) -> Option<CalendarDef> {
        let mut line = after_keyword(item);
        let Some((name, name_span)) = line.eat_joined_name() else {
            self.expected(line.end(), "nama kalender", "a calendar name", "kalender wita_kantor {");
            return None;
        };
        self.trailing_tokens(&line);
        let mut def = CalendarDef {
            name,
            name_span,
            span: item.span,
            file: self.file,
            description: None,
            source: None,
            zone: None,
            extends: Vec::new(),
            covers: Vec::new(),
            provisional: None,
            hours: None,
            day_length: None,
            holidays: Vec::new(),
            working_days: Vec::new(),
            special_hours: Vec::new(),
        };
        let Some(block) = &item.block else {
            let n = &def.name;
            self.push(
                Diagnostic::new(
                    Code::Expected,
                    t!("kalender `{n}` tidak punya blok `{{ ... }}`", "calendar `{n}` has no `{{ ... }}` block"),
                    name_span,
                    t!("blok diharapkan setelah nama", "a block was expected after the name"),
                )
                .with_help(t!(
                    "tulis isi kalender di antara kurung kurawal: `kalender {n} {{ zona Asia/Makassar }}`",
                    "put the calendar's lines in braces: `calendar {n} {{ zone Asia/Makassar }}`"
                )),
            );
            return Some(def);
        };
        let mut hours_lines: Vec<(Vec<usize>, Vec<Period>, Span)> = Vec::new();
        let mut hours_span: Option<Span> = None;
        for inner in &block.items {
            if inner.broken {
                continue;
            }
            let Some(first) = inner.tokens.first() else {
                self.expected(inner.head_span(), "kata kunci sebelum blok", "a keyword before the block", "jam_khusus");
                continue;
            };
            let kw = CALENDAR_KEYWORDS.iter().chain([&Kw::Calendar]).copied().find(|k| k.matches(first));
            let Some(kw) = kw else {
                let names: Vec<&str> = CALENDAR_KEYWORDS.iter().flat_map(|k| k.spellings()).collect();
                self.unknown_keyword(first, &names);
                continue;
            };
            if kw != Kw::Hours && kw != Kw::SpecialHours {
                if let Some(block) = &inner.block {
                    let (id, en) = (kw.word(Lang::Id), kw.word(Lang::En));
                    self.push(
                        Diagnostic::new(
                            Code::Expected,
                            t!("`{id}` tidak memakai blok", "`{en}` takes no block"),
                            block.open,
                            t!("blok tidak diharapkan di sini", "no block expected here"),
                        )
                        .with_help(t!("tulis `{id}` pada satu baris", "write `{en}` on one line")),
                    );
                }
            }
            let mut line = after_keyword(inner);
            match kw {
                Kw::Calendar => {
                    self.push(
                        Diagnostic::new(
                            Code::Expected,
                            t!(
                                "kalender tidak bisa berada di dalam kalender lain",
                                "a calendar cannot be inside another"
                            ),
                            first.span,
                            t!("kalender bersarang", "nested calendar"),
                        )
                        .with_help(t!(
                            "tulis kalender ini di luar blok, lalu pakai `turunan` untuk mewarisi",
                            "write this calendar outside the block, and use `extends` to inherit"
                        )),
                    );
                }
                Kw::Zone => self.zone(&mut line, first, &mut def),
                Kw::Extends => self.extends(&mut line, &mut def),
                Kw::Covers => {
                    if let Some(range) = self.date_range(&mut line, true) {
                        def.covers.push(range);
                    }
                    self.trailing_tokens(&line);
                }
                Kw::Provisional => {
                    let reason = self.optional_string(&mut line);
                    self.trailing_tokens(&line);
                    if self.once(&def.provisional.as_ref().map(|p| p.1), first, kw) {
                        def.provisional = Some((reason, inner.head_span()));
                    }
                }
                Kw::Description | Kw::Source => {
                    let text = self.required_string(&mut line, "keterangan \"Kalender kerja kantor\"");
                    self.trailing_tokens(&line);
                    match kw {
                        Kw::Description => def.description = text,
                        _ => def.source = text,
                    }
                }
                Kw::Hours => {
                    hours_span = Some(hours_span.map_or(first.span, |s| s.to(first.span)));
                    if let Some(block) = &inner.block {
                        if !line.at_end() {
                            self.trailing_tokens(&line);
                        }
                        for day_line in &block.items {
                            if day_line.broken {
                                continue;
                            }
                            let mut l = Cursor::new(&day_line.tokens, day_line.head_span());
                            if let Some(spec) = self.day_hours(&mut l) {
                                hours_lines.push(spec);
                            }
                        }
                    } else if let Some(spec) = self.day_hours(&mut line) {
                        hours_lines.push(spec);
                    }
                }
                Kw::Holiday | Kw::CollectiveLeave | Kw::AddHoliday => {
                    let kind = match kw {
                        Kw::Holiday => HolidayKind::National,
                        Kw::CollectiveLeave => HolidayKind::CollectiveLeave,
                        _ => HolidayKind::Office,
                    };
                    let Some(range) = self.date_range(&mut line, false) else { continue };
                    let Some(name) = self.required_string(&mut line, "libur 2026-08-17 \"Proklamasi Kemerdekaan RI\"")
                    else {
                        continue;
                    };
                    self.trailing_tokens(&line);
                    def.holidays.push(HolidayDecl { range, kind, name, span: inner.head_span() });
                }
                Kw::WorkingDay => {
                    let Some(range) = self.date_range(&mut line, false) else { continue };
                    let hours = if line.peek().is_some_and(|t| t.kind == TokenKind::Clock) {
                        match self.periods(&mut line) {
                            Some(p) => Some(p),
                            None => continue,
                        }
                    } else {
                        None
                    };
                    let reason = self.optional_string(&mut line);
                    self.trailing_tokens(&line);
                    def.working_days.push(WorkingDayDecl { range, hours, reason, span: inner.head_span() });
                }
                Kw::SpecialHours => self.special_hours(&mut line, inner, &mut def),
                Kw::DayLength => self.day_length(&mut line, first, inner, &mut def),
                // Only the keywords of calendar files reach here (`kw` is one of them).
                _ => {}
            }
        }
        if !hours_lines.is_empty() {
            if let Some(week) = self.week(hours_lines) {
                def.hours = Some((week, hours_span.unwrap_or(def.name_span)));
            }
        }
        self.check_dates(&def);
        Some(def)
    }

    /// Reports a second occurrence of a setting that may appear once; true when it is the first.
    fn once(&mut self, previous: &Option<Span>, token: &Token, kw: Kw) -> bool {
        let Some(previous) = previous else { return true };
        let (id, en) = (kw.word(Lang::Id), kw.word(Lang::En));
        self.push(
            Diagnostic::new(
                Code::DuplicateSetting,
                t!("`{id}` ditulis dua kali", "`{en}` is written twice"),
                token.span,
                t!("yang kedua", "the second one"),
            )
            .with_label(*previous, t!("yang pertama", "the first one"))
            .with_help(t!("hapus salah satunya", "remove one of them")),
        );
        false
    }

    fn zone(&mut self, line: &mut Cursor<'_>, first: &Token, def: &mut CalendarDef) {
        let Some((name, span)) = line.eat_joined_name() else {
            self.expected(line.end(), "nama zona waktu", "a time-zone name", "zona Asia/Makassar");
            return;
        };
        self.trailing_tokens(line);
        let zone = ZONE_ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(&name))
            .map(|(_, tz)| *tz)
            .or_else(|| name.parse::<Tz>().ok());
        let Some(zone) = zone else {
            let candidates = ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Pontianak", "WIB", "WITA", "WIT"];
            let help = match did_you_mean(&name, candidates) {
                Some(s) => t!("mungkin maksud Anda `{s}`?", "did you mean `{s}`?"),
                None => t!(
                    "pakai nama IANA: Asia/Jakarta (WIB), Asia/Makassar (WITA) atau Asia/Jayapura (WIT)",
                    "use an IANA name: Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)"
                ),
            };
            self.push(
                Diagnostic::new(
                    Code::UnknownTimeZone,
                    t!("zona waktu `{name}` tidak dikenal", "unknown time zone `{name}`"),
                    span,
                    t!("bukan nama zona IANA", "not an IANA zone name"),
                )
                .with_help(help),
            );
            return;
        };
        if self.once(&def.zone.map(|z| z.1), first, Kw::Zone) {
            def.zone = Some((zone, span));
        }
    }

    fn extends(&mut self, line: &mut Cursor<'_>, def: &mut CalendarDef) {
        loop {
            let Some((name, span)) = line.eat_joined_name() else {
                self.expected(line.end(), "nama kalender", "a calendar name", "turunan nasional-2026, nasional-2027");
                return;
            };
            def.extends.push((name, span));
            if line.peek().is_some_and(|t| t.is_punct(",")) {
                line.next();
            } else {
                break;
            }
        }
        self.trailing_tokens(line);
    }

    fn optional_string(&mut self, line: &mut Cursor<'_>) -> Option<String> {
        if line.peek().is_some_and(|t| t.kind == TokenKind::String) {
            line.next().map(Token::string_value)
        } else {
            None
        }
    }

    fn required_string(&mut self, line: &mut Cursor<'_>, example: &str) -> Option<String> {
        let text = self.optional_string(line);
        if text.is_none() {
            let span = line.peek().map(|t| t.span).unwrap_or_else(|| line.end());
            self.expected(span, "teks dalam tanda kutip", "a text in double quotes", example);
        }
        text
    }

    fn date(&mut self, line: &mut Cursor<'_>) -> Option<(NaiveDate, Span)> {
        let Some(token) = line.peek().filter(|t| t.kind == TokenKind::Date) else {
            let span = line.peek().map(|t| t.span).unwrap_or_else(|| line.end());
            self.expected(span, "tanggal TTTT-BB-HH", "a date YYYY-MM-DD", "2026-08-17");
            return None;
        };
        line.next();
        match NaiveDate::parse_from_str(&token.text, "%Y-%m-%d") {
            Ok(date) => Some((date, token.span)),
            Err(_) => {
                let text = &token.text;
                self.push(
                    Diagnostic::new(
                        Code::InvalidDate,
                        t!("tanggal `{text}` tidak ada", "the date `{text}` does not exist"),
                        token.span,
                        t!("tanggal tidak sah", "not a valid date"),
                    )
                    .with_help(t!(
                        "tulis tahun-bulan-tanggal, misalnya 2026-02-28; periksa bulan (01-12) dan tanggalnya",
                        "write year-month-day, for example 2026-02-28; check the month (01-12) and the day"
                    )),
                );
                None
            }
        }
    }

    /// `DATE` or `DATE - DATE` (also `sampai`/`to`). `need_end` requires the second date.
    fn date_range(&mut self, line: &mut Cursor<'_>, need_end: bool) -> Option<DateRange> {
        let (first, first_span) = self.date(line)?;
        let joined =
            line.peek().is_some_and(is_range_joiner) && line.peek_at(1).is_some_and(|t| t.kind == TokenKind::Date);
        if !joined {
            if need_end {
                self.expected(line.end(), "tanggal akhir", "an end date", "berlaku 2026-01-01 - 2026-12-31");
                return None;
            }
            return Some(DateRange { first, last: first, span: first_span });
        }
        line.next();
        let (last, last_span) = self.date(line)?;
        let span = first_span.to(last_span);
        let days = (last - first).num_days();
        if days < 0 {
            self.push(
                Diagnostic::new(
                    Code::InvalidDate,
                    t!("rentang tanggal berakhir sebelum dimulai", "the date range ends before it starts"),
                    span,
                    t!("tanggal akhir lebih awal", "the end date is earlier"),
                )
                .with_help(t!("tukar kedua tanggal", "swap the two dates")),
            );
            return None;
        }
        if days > MAX_RANGE_DAYS {
            self.push(
                Diagnostic::new(
                    Code::InvalidDate,
                    t!("rentang tanggal lebih dari 100 tahun", "the date range is longer than 100 years"),
                    span,
                    t!("rentang terlalu panjang", "range too long"),
                )
                .with_help(t!("periksa tahunnya", "check the years")),
            );
            return None;
        }
        Some(DateRange { first, last, span })
    }

    fn clock(&mut self, line: &mut Cursor<'_>, is_end: bool) -> Option<(u16, Span)> {
        let Some(token) = line.peek().filter(|t| t.kind == TokenKind::Clock) else {
            let span = line.peek().map(|t| t.span).unwrap_or_else(|| line.end());
            self.expected(span, "jam JJ:MM", "a time HH:MM", "07:30-12:00");
            return None;
        };
        line.next();
        let (h, m) = token.text.split_once(':').unwrap_or(("", ""));
        let (h, m) = (h.parse::<u16>().unwrap_or(99), m.parse::<u16>().unwrap_or(99));
        let valid = m < 60 && (h < 24 || (is_end && h == 24 && m == 0));
        if !valid {
            let text = &token.text;
            self.push(
                Diagnostic::new(
                    Code::InvalidTime,
                    t!("`{text}` bukan jam yang sah", "`{text}` is not a valid time of day"),
                    token.span,
                    t!("jam 00-23, menit 00-59", "hours 00-23, minutes 00-59"),
                )
                .with_help(t!(
                    "tulis jam 24 jam, misalnya 07:30 atau 16:00 (24:00 hanya sebagai akhir)",
                    "write a 24-hour time such as 07:30 or 16:00 (24:00 only as an end)"
                )),
            );
            return None;
        }
        Some((h * 60 + m, token.span))
    }

    fn period(&mut self, line: &mut Cursor<'_>) -> Option<(Period, Span)> {
        let (start, start_span) = self.clock(line, false)?;
        if !line.peek().is_some_and(is_range_joiner) {
            let span = line.peek().map(|t| t.span).unwrap_or_else(|| line.end());
            self.expected(span, "`-` dan jam selesai", "`-` and an end time", "07:30-12:00");
            return None;
        }
        line.next();
        let (end, end_span) = self.clock(line, true)?;
        let span = start_span.to(end_span);
        if end <= start {
            self.push(
                Diagnostic::new(
                    Code::InvalidTime,
                    t!("rentang jam berakhir sebelum dimulai", "the time range ends before it starts"),
                    span,
                    t!("jam selesai harus setelah jam mulai", "the end must come after the start"),
                )
                .with_help(t!(
                    "jam kerja tidak melewati tengah malam; tulis misalnya 07:30-16:00",
                    "working periods do not cross midnight; write for example 07:30-16:00"
                )),
            );
            return None;
        }
        Some((Period { start, end }, span))
    }

    /// Time ranges separated by commas, then optionally `istirahat` and the breaks to cut out:
    /// `07:30-16:00 istirahat 12:00-13:00` reads the way Perpres 21/2023 states hours.
    fn periods(&mut self, line: &mut Cursor<'_>) -> Option<Vec<Period>> {
        let mut periods: Vec<(Period, Span)> = Vec::new();
        let mut ok = true;
        loop {
            match self.period(line) {
                Some(p) => periods.push(p),
                None => return None,
            }
            if line.peek().is_some_and(|t| t.is_punct(","))
                && line.peek_at(1).is_some_and(|t| t.kind == TokenKind::Clock)
            {
                line.next();
                continue;
            }
            if line.peek().is_some_and(|t| t.kind == TokenKind::Clock) {
                continue;
            }
            break;
        }
        periods.sort_by_key(|(p, _)| *p);
        for pair in periods.windows(2) {
            if let [(a, a_span), (b, b_span)] = pair {
                if b.start < a.end {
                    ok = false;
                    self.push(
                        Diagnostic::new(
                            Code::OverlappingHours,
                            t!("dua rentang jam kerja bertumpuk", "two working periods overlap"),
                            *b_span,
                            t!("rentang ini", "this period"),
                        )
                        .with_label(*a_span, t!("bertumpuk dengan ini", "overlaps this one"))
                        .with_help(t!(
                            "tulis rentang yang tidak bertumpuk, misalnya 07:30-12:00, 13:00-16:00",
                            "write periods that do not overlap, for example 07:30-12:00, 13:00-16:00"
                        )),
                    );
                }
            }
        }
        let mut periods: Vec<Period> = periods.into_iter().map(|(p, _)| p).collect();
        if line.peek().is_some_and(|t| t.kind == TokenKind::Word && BREAK_WORDS.contains(&t.text.as_str())) {
            line.next();
            loop {
                let (cut, cut_span) = self.period(line)?;
                match periods.iter().position(|p| p.start <= cut.start && cut.end <= p.end) {
                    Some(i) => {
                        let whole = periods[i];
                        periods.remove(i);
                        let before = Period { start: whole.start, end: cut.start };
                        let after = Period { start: cut.end, end: whole.end };
                        for piece in [after, before] {
                            if piece.end > piece.start {
                                periods.insert(i, piece);
                            }
                        }
                    }
                    None => {
                        ok = false;
                        self.push(
                            Diagnostic::new(
                                Code::BreakOutsideHours,
                                t!(
                                    "istirahat ini tidak berada di dalam satu rentang jam kerja",
                                    "this break does not lie inside one working period"
                                ),
                                cut_span,
                                t!("istirahat di luar jam kerja", "break outside working hours"),
                            )
                            .with_help(t!(
                                "istirahat harus di dalam jam kerja: `07:30-16:00 istirahat 12:00-13:00`",
                                "a break must lie inside the hours: `07:30-16:00 break 12:00-13:00`"
                            )),
                        );
                    }
                }
                if line.peek().is_some_and(|t| t.is_punct(",")) {
                    line.next();
                    continue;
                }
                if line.peek().is_some_and(|t| t.kind == TokenKind::Clock) {
                    continue;
                }
                break;
            }
        }
        ok.then_some(periods)
    }

    /// One day-hours line: `senin-kamis 07:30-16:00 istirahat 12:00-13:00`.
    fn day_hours(&mut self, line: &mut Cursor<'_>) -> Option<(Vec<usize>, Vec<Period>, Span)> {
        let start_span = line.peek().map(|t| t.span).unwrap_or_else(|| line.end());
        let mut days = Vec::new();
        loop {
            let (first, _) = self.day_name(line)?;
            if line.peek().is_some_and(|t| t.is_punct("-"))
                && line.peek_at(1).is_some_and(|t| t.kind == TokenKind::Word)
            {
                line.next();
                let (last, _) = self.day_name(line)?;
                // A range may wrap over the weekend (`jumat-senin`), as people read it.
                let mut day = first;
                loop {
                    days.push(day);
                    if day == last {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            } else {
                days.push(first);
            }
            if line.peek().is_some_and(|t| t.is_punct(","))
                && line.peek_at(1).is_some_and(|t| t.kind == TokenKind::Word)
            {
                line.next();
                continue;
            }
            break;
        }
        let periods = self.periods(line)?;
        let span = start_span.to(line.last_read().map(|t| t.span).unwrap_or(start_span));
        self.trailing_tokens(line);
        Some((days, periods, span))
    }

    fn day_name(&mut self, line: &mut Cursor<'_>) -> Option<(usize, Span)> {
        let Some(token) = line.peek() else {
            self.expected(line.end(), "nama hari", "a day name", "senin-kamis 07:30-16:00");
            return None;
        };
        if token.kind != TokenKind::Word {
            self.expected(token.span, "nama hari", "a day name", "senin-kamis 07:30-16:00");
            return None;
        }
        line.next();
        let lower = token.text.to_lowercase();
        if let Some((day, _)) = DAY_NAMES.iter().find(|(_, name)| *name == lower) {
            return Some((*day, token.span));
        }
        let text = &token.text;
        let help = match did_you_mean(text, DAY_NAMES.iter().map(|(_, n)| *n)) {
            Some(s) => t!("mungkin maksud Anda `{s}`?", "did you mean `{s}`?"),
            None => t!(
                "nama hari: senin, selasa, rabu, kamis, jumat, sabtu, minggu",
                "day names: monday, tuesday, wednesday, thursday, friday, saturday, sunday"
            ),
        };
        self.push(
            Diagnostic::new(
                Code::UnknownDay,
                t!("`{text}` bukan nama hari", "`{text}` is not a day of the week"),
                token.span,
                t!("hari tidak dikenal", "unknown day"),
            )
            .with_help(help),
        );
        None
    }

    /// Gathers day-hours lines into a week, reporting a day given hours twice.
    fn week(&mut self, lines: Vec<(Vec<usize>, Vec<Period>, Span)>) -> Option<WeekHours> {
        let mut week: WeekHours = Default::default();
        let mut seen: [Option<Span>; 7] = [None; 7];
        let mut ok = true;
        for (days, periods, span) in lines {
            for day in days {
                let Some(slot) = seen.get_mut(day) else { continue };
                if let Some(previous) = slot {
                    ok = false;
                    let name = DAY_NAMES.iter().find(|(d, _)| *d == day).map(|(_, n)| *n).unwrap_or("?");
                    self.push(
                        Diagnostic::new(
                            Code::OverlappingHours,
                            t!("jam kerja hari {name} ditulis dua kali", "the hours of {name} are given twice"),
                            span,
                            t!("yang kedua", "the second time"),
                        )
                        .with_label(*previous, t!("yang pertama", "the first time"))
                        .with_help(t!(
                            "tulis jam setiap hari sekali saja; pisahkan rentang dengan koma",
                            "give each day's hours once; separate periods with commas"
                        )),
                    );
                    continue;
                }
                *slot = Some(span);
                if let Some(w) = week.get_mut(day) {
                    w.clone_from(&periods);
                }
            }
        }
        ok.then_some(week)
    }

    fn special_hours(&mut self, line: &mut Cursor<'_>, item: &Item, def: &mut CalendarDef) {
        let Some(range) = self.date_range(line, true) else { return };
        let name = self.optional_string(line);
        self.trailing_tokens(line);
        let Some(block) = &item.block else {
            self.push(
                Diagnostic::new(
                    Code::Expected,
                    t!("`jam_khusus` memerlukan blok berisi jam kerja", "`special_hours` needs a block of hours"),
                    item.head_span(),
                    t!("blok tidak ada", "no block"),
                )
                .with_help(t!(
                    "contoh: `jam_khusus 2026-02-19 - 2026-03-19 \"Ramadan\" {{ senin-kamis 08:00-15:00 istirahat 12:00-12:30 }}`",
                    "example: `special_hours 2026-02-19 - 2026-03-19 \"Ramadan\" {{ monday-thursday 08:00-15:00 break 12:00-12:30 }}`"
                )),
            );
            return;
        };
        let mut lines = Vec::new();
        for day_line in &block.items {
            if day_line.broken {
                continue;
            }
            // `jam_kerja` inside the block is allowed and ignored: people copy lines from above.
            let mut l = Cursor::new(&day_line.tokens, day_line.head_span());
            l.eat_kw(Kw::Hours);
            if let Some(spec) = self.day_hours(&mut l) {
                lines.push(spec);
            }
        }
        if let Some(week) = self.week(lines) {
            def.special_hours.push(SpecialHoursDecl { range, name, week, span: item.head_span() });
        }
    }

    /// `panjang_hari 7 jam 30 menit`, `7.5 jam`, `450 menit`.
    fn day_length(&mut self, line: &mut Cursor<'_>, first: &Token, item: &Item, def: &mut CalendarDef) {
        let example = "panjang_hari 7 jam 30 menit";
        let mut minutes: f64 = 0.0;
        let mut any = false;
        while let Some(number) = line.peek().filter(|t| t.kind == TokenKind::Number) {
            line.next();
            let value: Option<f64> = number.text.parse().ok();
            let unit = line.next();
            let factor = match unit.map(|u| u.text.to_lowercase()) {
                Some(u) if matches!(u.as_str(), "jam" | "hour" | "hours") => 60.0,
                Some(u) if matches!(u.as_str(), "menit" | "minute" | "minutes") => 1.0,
                _ => {
                    self.expected(
                        unit.map(|u| u.span).unwrap_or(number.span),
                        "`jam` atau `menit`",
                        "`hours` or `minutes`",
                        example,
                    );
                    return;
                }
            };
            let Some(value) = value else {
                self.expected(number.span, "angka", "a number", example);
                return;
            };
            minutes += value * factor;
            any = true;
        }
        if !any {
            let span = line.peek().map(|t| t.span).unwrap_or_else(|| line.end());
            self.expected(span, "lama hari kerja", "a working-day length", example);
            return;
        }
        self.trailing_tokens(line);
        let rounded = minutes.round();
        if !(1.0..=1440.0).contains(&rounded) || (rounded - minutes).abs() > 1e-9 {
            self.push(
                Diagnostic::new(
                    Code::InvalidDayLength,
                    t!(
                        "panjang hari kerja harus 1 menit sampai 24 jam, dalam menit utuh",
                        "a working day must last 1 minute to 24 hours, in whole minutes"
                    ),
                    item.head_span(),
                    t!("panjang tidak sah", "invalid length"),
                )
                .with_help(t!("contoh: `{example}`", "example: `day_length 7 hours 30 minutes`")),
            );
            return;
        }
        if self.once(&def.day_length.map(|d| d.1), first, Kw::DayLength) {
            def.day_length = Some((rounded as u32, item.head_span()));
        }
    }

    /// Dates declared twice, and dates outside the calendar's own `berlaku` ranges.
    fn check_dates(&mut self, def: &CalendarDef) {
        let mut seen: std::collections::HashMap<NaiveDate, Span> = std::collections::HashMap::new();
        let declared = def
            .holidays
            .iter()
            .map(|h| (h.range, h.span))
            .chain(def.working_days.iter().map(|w| (w.range, w.span)))
            .collect::<Vec<_>>();
        for (range, span) in &declared {
            for date in range.dates() {
                if let Some(previous) = seen.insert(date, *span) {
                    let d = date.format("%Y-%m-%d").to_string();
                    self.push(
                        Diagnostic::new(
                            Code::DuplicateDate,
                            t!(
                                "tanggal {d} ditulis dua kali di kalender ini",
                                "the date {d} is declared twice in this calendar"
                            ),
                            *span,
                            t!("yang kedua", "the second time"),
                        )
                        .with_label(previous, t!("yang pertama", "the first time"))
                        .with_help(t!(
                            "satu tanggal satu baris; hapus salah satunya",
                            "one line per date; remove one of them"
                        )),
                    );
                    break;
                }
            }
        }
        if def.covers.is_empty() {
            return;
        }
        let ranges = declared.iter().map(|(r, _)| *r).chain(def.special_hours.iter().map(|s| s.range));
        for range in ranges {
            let inside = |date: NaiveDate| def.covers.iter().any(|c| c.contains(date));
            if inside(range.first) && inside(range.last) {
                continue;
            }
            let (first, last) = (def.covers.iter().map(|c| c.first).min(), def.covers.iter().map(|c| c.last).max());
            let (first, last) = (
                first.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                last.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default(),
            );
            let year = range.first.year();
            self.push(
                Diagnostic::new(
                    Code::DateOutsideCover,
                    t!(
                        "tanggal ini di luar masa berlaku kalender ({first} sampai {last})",
                        "this date is outside the dates the calendar covers ({first} to {last})"
                    ),
                    range.span,
                    t!("di luar `berlaku`", "outside `covers`"),
                )
                .with_help(t!(
                    "periksa tahunnya, atau tulis tanggal tahun {year} di kalender tahun itu",
                    "check the year, or put {year} dates in that year's calendar"
                )),
            );
        }
    }
}
