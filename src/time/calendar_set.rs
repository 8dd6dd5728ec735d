//! All calendars of a project: loaded from the files of one directory, looked up by name,
//! with `turunan` (extends) resolved and compiled into fast [`Calendar`]s.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use chrono_tz::Tz;

use super::calendar::{Calendar, CalendarSpec, Holiday, ProvisionalRange};
use super::calendar_def::{CalendarDef, DateRange, Period, SpecialHoursDecl, WeekHours};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::source::Span;
use crate::t;

/// The working-day length when the weekdays differ in length (domain brief: 37.5 h over 5 days).
pub const DEFAULT_DAY_LENGTH_MINUTES: u32 = 450;

#[derive(Clone, Debug, Default)]
pub struct CalendarSet {
    defs: Vec<CalendarDef>,
    by_name: HashMap<String, usize>,
}

/// A calendar with its bases merged in: what [`Calendar`] is compiled from.
#[derive(Clone, Debug)]
struct Resolved {
    zone: Option<(Tz, Span)>,
    hours: Option<(WeekHours, Span)>,
    day_length: Option<u32>,
    covers: Vec<DateRange>,
    provisional: Vec<ProvisionalRange>,
    holidays: BTreeMap<NaiveDate, Holiday>,
    /// Dates made working days, with their own hours if any, and where that was said.
    working_days: BTreeMap<NaiveDate, (Option<Vec<Period>>, Span)>,
    special_hours: Vec<SpecialHoursDecl>,
}

impl CalendarSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file's calendars, reporting a name another calendar has already. Call
    /// [`CalendarSet::check`] once every file is added.
    pub fn add_definitions(&mut self, defs: Vec<CalendarDef>) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        for def in defs {
            if let Some(&previous) = self.by_name.get(&def.name) {
                let name = &def.name;
                let mut d = Diagnostic::new(
                    Code::DuplicateCalendar,
                    t!("kalender `{name}` sudah ada", "a calendar named `{name}` already exists"),
                    def.name_span,
                    t!("nama kembar", "duplicate name"),
                )
                .with_help(t!("beri kalender ini nama lain", "give this calendar another name"));
                if let Some(p) = self.defs.get(previous) {
                    d = d.with_label(p.name_span, t!("didefinisikan pertama di sini", "first defined here"));
                }
                diagnostics.push(d);
                continue;
            }
            self.by_name.insert(def.name.clone(), self.defs.len());
            self.defs.push(def);
        }
        diagnostics
    }

    /// Resolves every calendar once, reporting unknown bases, cycles and conflicts between
    /// bases; whether a calendar is complete enough for deadlines is checked when it is used.
    pub fn check(&self) -> Vec<Diagnostic> {
        let mut diagnostics = Vec::new();
        for def in &self.defs {
            let mut stack = Vec::new();
            if let Err(ds) = self.resolve(def, &mut stack) {
                // A base's problems come back with every calendar extending it: `dedup` below
                // keeps one of each.
                diagnostics.extend(ds);
            }
        }
        dedup(&mut diagnostics);
        diagnostics
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|d| d.name.as_str())
    }

    pub fn definition(&self, name: &str) -> Option<&CalendarDef> {
        self.by_name.get(name).and_then(|&i| self.defs.get(i))
    }

    pub fn definitions(&self) -> &[CalendarDef] {
        &self.defs
    }

    /// The closest calendar name, for "did you mean" help where an SOP names a calendar.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        did_you_mean(name, self.names())
    }

    /// Every holiday of a calendar, its bases' included, by date (also for calendars without
    /// hours, such as the national holiday lists).
    pub fn holidays(&self, name: &str) -> Result<Vec<Holiday>, Vec<Diagnostic>> {
        let def = self.definition(name).ok_or_else(|| vec![self.unknown(name, Span::default())])?;
        let resolved = self.resolve(def, &mut Vec::new())?;
        Ok(resolved.holidays.into_values().collect())
    }

    /// Compiles a calendar for deadline arithmetic; `used_at` is where it is named (an SOP's
    /// `kalender` line), for the error when it does not exist.
    pub fn compile(&self, name: &str, used_at: Span) -> Result<Calendar, Vec<Diagnostic>> {
        let def = self.definition(name).ok_or_else(|| vec![self.unknown(name, used_at)])?;
        let resolved = self.resolve(def, &mut Vec::new())?;
        let mut problems = Vec::new();
        let missing = match (&resolved.zone, &resolved.hours) {
            (None, None) => Some(t!("zona waktu dan jam kerja", "a time zone and working hours")),
            (None, Some(_)) => Some(t!("zona waktu", "a time zone")),
            (Some(_), None) => Some(t!("jam kerja", "working hours")),
            (Some(_), Some((week, _))) if week.iter().all(Vec::is_empty) => {
                Some(t!("satu hari kerja pun", "a single working day"))
            }
            _ => None,
        };
        if let Some(missing) = missing {
            let (id, en) = (&missing.id, &missing.en);
            problems.push(
                Diagnostic::new(
                    Code::CalendarIncomplete,
                    t!("kalender `{name}` tidak punya {id}", "calendar `{name}` has no {en}"),
                    def.name_span,
                    t!("kalender ini", "this calendar"),
                )
                .with_help(t!(
                    "tambahkan `zona` dan `jam_kerja`, atau pakai kalender kantor yang `turunan` dari kalender ini",
                    "add `zone` and `hours`, or use an office calendar that `extends` this one"
                )),
            );
        }
        let (Some((zone, _)), Some((hours, _))) = (resolved.zone, resolved.hours.clone()) else {
            return Err(problems);
        };
        // A working day on a date whose weekday has no hours needs hours of its own.
        for (date, (own, span)) in &resolved.working_days {
            if own.is_some() {
                continue;
            }
            let weekday = date.weekday().num_days_from_monday() as usize;
            let special = resolved.special_hours.iter().rev().find(|s| s.range.contains(*date));
            let usual = special.map(|s| &s.week).unwrap_or(&hours);
            if usual.get(weekday).is_none_or(Vec::is_empty) {
                let d = date.format("%Y-%m-%d").to_string();
                problems.push(
                    Diagnostic::new(
                        Code::WorkingDayWithoutHours,
                        t!(
                            "{d} dijadikan hari kerja, tetapi hari itu tidak punya jam kerja",
                            "{d} is made a working day, but that weekday has no working hours"
                        ),
                        *span,
                        t!("jam kerja tidak diketahui", "hours unknown"),
                    )
                    .with_help(t!(
                        "tulis jamnya: `hari_kerja {d} 08:00-12:00 \"alasan\"`",
                        "give the hours: `working_day {d} 08:00-12:00 \"reason\"`"
                    )),
                );
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let day_length = resolved.day_length.unwrap_or_else(|| derived_day_length(&hours));
        Ok(Calendar::from_spec(CalendarSpec {
            name: name.to_string(),
            zone,
            day_length_minutes: day_length,
            weekly: hours,
            covers: resolved.covers.iter().map(|c| (c.first, c.last)).collect(),
            provisional: resolved.provisional,
            holidays: resolved.holidays,
            working_days: resolved.working_days.into_iter().map(|(d, (hours, _))| (d, hours)).collect(),
            special_hours: resolved.special_hours.into_iter().map(|s| (s.range.first, s.range.last, s.week)).collect(),
        }))
    }

    /// [`CalendarSet::compile`] without a place of use.
    pub fn calendar(&self, name: &str) -> Result<Calendar, Vec<Diagnostic>> {
        self.compile(name, Span::default())
    }

    fn unknown(&self, name: &str, span: Span) -> Diagnostic {
        let d = Diagnostic::new(
            Code::UnknownCalendar,
            t!("kalender `{name}` tidak ada", "there is no calendar named `{name}`"),
            span,
            t!("kalender tidak dikenal", "unknown calendar"),
        );
        match self.suggest(name) {
            Some(s) => d.with_help(t!("mungkin maksud Anda `{s}`?", "did you mean `{s}`?")),
            None => {
                let list = self.names().collect::<Vec<_>>().join(", ");
                d.with_help(t!("kalender yang ada: {list}", "known calendars: {list}"))
            }
        }
    }

    /// Merges a calendar with its bases, depth first; `stack` holds the calendars being
    /// resolved, to report a cycle instead of recursing forever.
    fn resolve(&self, def: &CalendarDef, stack: &mut Vec<String>) -> Result<Resolved, Vec<Diagnostic>> {
        let mut merged = Resolved {
            zone: None,
            hours: None,
            day_length: None,
            covers: Vec::new(),
            provisional: Vec::new(),
            holidays: BTreeMap::new(),
            working_days: BTreeMap::new(),
            special_hours: Vec::new(),
        };
        let mut errors = Vec::new();
        stack.push(def.name.clone());
        for (base_name, span) in &def.extends {
            if stack.contains(base_name) {
                let chain = stack.iter().chain(std::iter::once(base_name)).cloned().collect::<Vec<_>>().join(" → ");
                errors.push(
                    Diagnostic::new(
                        Code::CalendarCycle,
                        t!(
                            "kalender saling menurunkan secara melingkar: {chain}",
                            "calendars extend each other in a cycle: {chain}"
                        ),
                        *span,
                        t!("lingkaran ditutup di sini", "the cycle closes here"),
                    )
                    .with_help(t!(
                        "hapus salah satu `turunan` agar pewarisan berujung",
                        "remove one of the `extends` so that inheritance ends somewhere"
                    )),
                );
                continue;
            }
            let Some(base) = self.definition(base_name) else {
                let mut d = Diagnostic::new(
                    Code::UnknownBaseCalendar,
                    t!("kalender dasar `{base_name}` tidak ada", "there is no base calendar named `{base_name}`"),
                    *span,
                    t!("kalender tidak dikenal", "unknown calendar"),
                );
                d = match self.suggest(base_name) {
                    Some(s) => d.with_help(t!("mungkin maksud Anda `{s}`?", "did you mean `{s}`?")),
                    None => d.with_help(t!(
                        "kalender dasar harus ada di salah satu berkas di folder kalender",
                        "the base calendar must be defined in one of the files of the calendar folder"
                    )),
                };
                errors.push(d);
                continue;
            };
            match self.resolve(base, stack) {
                Ok(base) => {
                    let own = (def.zone.is_some(), def.hours.is_some());
                    merge_base(&mut merged, base, span, own, &mut errors)
                }
                Err(mut ds) => errors.append(&mut ds),
            }
        }
        stack.pop();
        // The calendar's own lines override what it inherits.
        if def.zone.is_some() {
            merged.zone = def.zone;
        }
        if def.hours.is_some() {
            merged.hours.clone_from(&def.hours);
        }
        if let Some((minutes, _)) = def.day_length {
            merged.day_length = Some(minutes);
        }
        if !def.covers.is_empty() {
            if merged.covers.is_empty() {
                merged.covers = def.covers.clone();
            } else {
                // Own covers extend the inherited ones: an office may cover more than its bases,
                // and the dates only its bases cover stay covered.
                merged.covers.extend(def.covers.iter().copied());
            }
        }
        if let Some((reason, _)) = &def.provisional {
            for cover in &def.covers {
                merged.provisional.push(ProvisionalRange {
                    first: cover.first,
                    last: cover.last,
                    reason: reason.clone(),
                    calendar: def.name.clone(),
                });
            }
        }
        for holiday in &def.holidays {
            for date in holiday.range.dates() {
                merged.working_days.remove(&date);
                merged.holidays.insert(date, Holiday { date, kind: holiday.kind, name: holiday.name.clone() });
            }
        }
        for working in &def.working_days {
            for date in working.range.dates() {
                merged.working_days.insert(date, (working.hours.clone(), working.span));
            }
        }
        merged.special_hours.extend(def.special_hours.iter().cloned());
        if def.provisional.is_some() && def.covers.is_empty() {
            let name = &def.name;
            errors.push(
                Diagnostic::new(
                    Code::MissingSetting,
                    t!(
                        "kalender sementara `{name}` tidak menyebut `berlaku`",
                        "provisional calendar `{name}` does not say what it `covers`"
                    ),
                    def.name_span,
                    t!("tanggal berlaku tidak diketahui", "covered dates unknown"),
                )
                .with_help(t!(
                    "tambahkan misalnya `berlaku 2027-01-01 - 2027-12-31`",
                    "add for example `covers 2027-01-01 - 2027-12-31`"
                )),
            );
        }
        if errors.is_empty() {
            Ok(merged)
        } else {
            Err(errors)
        }
    }
}

/// Adds one base to what the calendar has inherited so far. Two bases that disagree on the zone
/// or the hours are an error unless the calendar sets its own (`own`: zone, hours), which then
/// decides.
fn merge_base(merged: &mut Resolved, base: Resolved, span: &Span, own: (bool, bool), errors: &mut Vec<Diagnostic>) {
    let (own_zone, own_hours) = own;
    match (&merged.zone, base.zone) {
        (Some((a, a_span)), Some((b, _))) if *a != b && !own_zone => {
            let (a, b) = (a.name(), b.name());
            errors.push(
                Diagnostic::new(
                    Code::ConflictingBases,
                    t!(
                        "kalender dasar berbeda zona waktu: {a} dan {b}",
                        "the base calendars have different time zones: {a} and {b}"
                    ),
                    *span,
                    t!("zona {b}", "zone {b}"),
                )
                .with_label(*a_span, t!("zona {a}", "zone {a}"))
                .with_help(t!("tulis `zona` di kalender ini sendiri", "set `zone` in this calendar itself")),
            );
        }
        (None, Some(zone)) => merged.zone = Some(zone),
        _ => {}
    }
    match (&merged.hours, base.hours) {
        (Some((a, a_span)), Some((b, _))) if *a != b && !own_hours => {
            errors.push(
                Diagnostic::new(
                    Code::ConflictingBases,
                    t!("kalender dasar berbeda jam kerja", "the base calendars have different working hours"),
                    *span,
                    t!("jam kerja lain", "other hours"),
                )
                .with_label(*a_span, t!("jam kerja pertama", "the first hours"))
                .with_help(t!("tulis `jam_kerja` di kalender ini sendiri", "set `hours` in this calendar itself")),
            );
        }
        (None, Some(hours)) => merged.hours = Some(hours),
        _ => {}
    }
    if base.day_length.is_some() && merged.day_length.is_none() {
        merged.day_length = base.day_length;
    }
    merged.covers.extend(base.covers);
    merged.provisional.extend(base.provisional);
    for (date, holiday) in base.holidays {
        merged.working_days.remove(&date);
        merged.holidays.insert(date, holiday);
    }
    merged.working_days.extend(base.working_days);
    merged.special_hours.extend(base.special_hours);
}

/// The day length when none is written: the common length if every weekday with hours has the
/// same, otherwise the national 7.5 hours.
pub fn derived_day_length(week: &WeekHours) -> u32 {
    let mut lengths = week.iter().filter(|p| !p.is_empty()).map(|p| p.iter().map(Period::minutes).sum::<u32>());
    match lengths.next() {
        Some(first) if lengths.all(|l| l == first) => first,
        _ => DEFAULT_DAY_LENGTH_MINUTES,
    }
}

fn dedup(diagnostics: &mut Vec<Diagnostic>) {
    let mut seen = Vec::new();
    diagnostics.retain(|d| {
        let key = (d.code, d.primary_span().map(|s| (s.file, s.start, s.end)));
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
}
