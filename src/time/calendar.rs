//! A compiled working calendar: for every date it covers, the working periods of that date in
//! minutes since local midnight, precomputed once, so that deadline arithmetic is a walk over
//! a few table entries with no time-zone or holiday lookups on the way.
//!
//! Instants are handled in whole seconds since the Unix epoch; a day is addressed by its index
//! in the table (negative before it, beyond its length after it). Dates outside the table follow
//! the weekly hours with no holidays and are always uncertain.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::calendar_def::{HolidayKind, Period, WeekHours};

const SECONDS_PER_DAY: i64 = 86_400;
/// How far a search for the next working instant may go through days without hours before it
/// gives up (only reachable with a calendar that never works, which compiling refuses).
const MAX_SCAN_DAYS: i64 = 400_000;

/// A day off, as the calendar lists it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub kind: HolidayKind,
    pub name: String,
}

/// Dates whose holidays are not final yet (no SKB): deadlines on them are uncertain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ProvisionalRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub reason: Option<String>,
    /// The calendar that says so.
    pub calendar: String,
}

impl ProvisionalRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }
}

/// Everything a [`Calendar`] is built from, with extension already resolved.
#[derive(Clone, Debug)]
pub struct CalendarSpec {
    pub name: String,
    pub zone: Tz,
    pub day_length_minutes: u32,
    pub weekly: WeekHours,
    pub covers: Vec<(NaiveDate, NaiveDate)>,
    pub provisional: Vec<ProvisionalRange>,
    pub holidays: BTreeMap<NaiveDate, Holiday>,
    /// Dates that are working days whatever else says, with their own hours if given.
    pub working_days: BTreeMap<NaiveDate, Option<Vec<Period>>>,
    /// Other hours over date ranges; a later entry wins over an earlier one.
    pub special_hours: Vec<(NaiveDate, NaiveDate, WeekHours)>,
}

/// A deadline: when, and whether the calendar could vouch for every day up to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Due {
    pub at: DateTime<Utc>,
    /// True when the deadline runs over a date the calendar does not cover or whose holidays
    /// are provisional: the date may move when the SKB is published.
    pub uncertain: bool,
}

/// A point in working time: working seconds since the calendar's first covered date (negative
/// before it). Differences of positions are working time; simulators can add to a position and
/// turn it back into an instant with [`Calendar::instant_at`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct WorkPosition(pub i64);

#[derive(Clone, Copy, Debug)]
struct DayEntry {
    /// Local midnight as seconds since the Unix epoch.
    utc_midnight: i64,
    first_period: u32,
    period_count: u32,
    /// Working seconds on this date.
    length: i64,
}

/// One day's hours, wherever they come from (table or weekly pattern).
#[derive(Clone, Copy, Debug)]
pub(crate) struct DayView<'a> {
    pub periods: &'a [Period],
    pub length: i64,
}

impl DayView<'_> {
    /// Working seconds elapsed on this day before `second` (seconds since local midnight).
    pub fn elapsed_before(&self, second: i64) -> i64 {
        let mut elapsed = 0;
        for p in self.periods {
            let (start, end) = (i64::from(p.start) * 60, i64::from(p.end) * 60);
            if second >= end {
                elapsed += end - start;
            } else {
                if second > start {
                    elapsed += second - start;
                }
                break;
            }
        }
        elapsed
    }

    /// The earliest second of the day at which `elapsed` working seconds have passed (a closing
    /// time rather than the next opening when `elapsed` ends a period). `elapsed` must be in
    /// `0..=length`.
    pub fn second_at(&self, mut elapsed: i64) -> i64 {
        for p in self.periods {
            let (start, end) = (i64::from(p.start) * 60, i64::from(p.end) * 60);
            if elapsed <= end - start {
                return start + elapsed;
            }
            elapsed -= end - start;
        }
        self.periods.last().map_or(0, |p| i64::from(p.end) * 60)
    }

    /// The first working second at or after `second`, if this day has one.
    pub fn open_at_or_after(&self, second: i64) -> Option<i64> {
        self.periods.iter().find(|p| second < i64::from(p.end) * 60).map(|p| second.max(i64::from(p.start) * 60))
    }
}

#[derive(Clone, Debug)]
pub struct Calendar {
    name: String,
    zone: Tz,
    day_length_minutes: u32,
    /// The date of table index 0.
    origin: NaiveDate,
    /// Weekday of `origin`, Monday = 0.
    origin_weekday: i64,
    days: Vec<DayEntry>,
    periods: Vec<Period>,
    /// Working seconds before each day of the table, and the total at the end.
    work_prefix: Vec<i64>,
    /// Uncertain days before each day of the table, and the total at the end.
    uncertain_prefix: Vec<u32>,
    /// Local midnight of `origin` read as if it were UTC, in seconds.
    origin_local_seconds: i64,
    /// UTC offsets used before and after the table (Indonesian zones have had one offset
    /// since 1964, so a constant is exact for them).
    offset_before: i64,
    offset_after: i64,
    weekly: WeekHours,
    weekly_length: [i64; 7],
    week_total: i64,
    workdays_per_week: i64,
    holidays: BTreeMap<NaiveDate, Holiday>,
    provisional: Vec<ProvisionalRange>,
    covered: Option<(NaiveDate, NaiveDate)>,
}

/// UTC offset in seconds at local noon of `date`: noon is never inside a DST gap, and a
/// zone that changes its offset during working hours is approximated by its noon offset.
fn noon_offset(zone: Tz, date: NaiveDate) -> i64 {
    let noon = date.and_hms_opt(12, 0, 0).unwrap_or_default();
    let offset = match zone.from_local_datetime(&noon).earliest() {
        Some(dt) => dt.offset().fix(),
        None => zone.offset_from_utc_datetime(&noon).fix(),
    };
    i64::from(offset.local_minus_utc())
}

fn days_since_epoch(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

fn period_seconds(periods: &[Period]) -> i64 {
    periods.iter().map(|p| i64::from(p.minutes()) * 60).sum()
}

fn instant(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(if seconds < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// Seconds since the epoch, rounded up so that a deadline is never before its start.
fn ceil_seconds(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

impl Calendar {
    /// Builds the per-date table. Prefer [`super::CalendarSet::compile`], which checks the spec.
    pub fn from_spec(spec: CalendarSpec) -> Calendar {
        let covered = match (spec.covers.iter().map(|c| c.0).min(), spec.covers.iter().map(|c| c.1).max()) {
            (Some(first), Some(last)) => Some((first, last)),
            _ => None,
        };
        let origin = covered.map_or(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(), |c| c.0);
        let origin_local_seconds = days_since_epoch(origin) * SECONDS_PER_DAY;
        let weekly_length: [i64; 7] = std::array::from_fn(|i| spec.weekly.get(i).map_or(0, |p| period_seconds(p)));
        let mut calendar = Calendar {
            name: spec.name,
            zone: spec.zone,
            day_length_minutes: spec.day_length_minutes,
            origin,
            origin_weekday: i64::from(origin.weekday().num_days_from_monday()),
            days: Vec::new(),
            periods: Vec::new(),
            work_prefix: vec![0],
            uncertain_prefix: vec![0],
            origin_local_seconds,
            offset_before: noon_offset(spec.zone, origin),
            offset_after: noon_offset(spec.zone, covered.map_or(origin, |c| c.1)),
            week_total: weekly_length.iter().sum(),
            workdays_per_week: weekly_length.iter().filter(|l| **l > 0).count() as i64,
            weekly_length,
            weekly: spec.weekly,
            holidays: spec.holidays,
            provisional: spec.provisional,
            covered,
        };
        let Some((first, last)) = covered else { return calendar };
        for date in first.iter_days().take_while(|d| *d <= last) {
            let weekday = date.weekday().num_days_from_monday() as usize;
            let special = spec.special_hours.iter().rev().find(|(a, b, _)| *a <= date && date <= *b);
            let usual: &[Period] =
                special.map_or(&calendar.weekly, |s| &s.2).get(weekday).map_or(&[], |p| p.as_slice());
            let periods: &[Period] = match spec.working_days.get(&date) {
                Some(Some(own)) => own,
                Some(None) => usual,
                None if calendar.holidays.contains_key(&date) => &[],
                None => usual,
            };
            let certain = spec.covers.iter().any(|(a, b)| *a <= date && date <= *b)
                && !calendar.provisional.iter().any(|p| p.contains(date));
            let length = period_seconds(periods);
            let offset = noon_offset(calendar.zone, date);
            calendar.days.push(DayEntry {
                utc_midnight: days_since_epoch(date) * SECONDS_PER_DAY - offset,
                first_period: calendar.periods.len() as u32,
                period_count: periods.len() as u32,
                length,
            });
            calendar.periods.extend_from_slice(periods);
            let before = calendar.work_prefix.last().copied().unwrap_or(0);
            calendar.work_prefix.push(before + length);
            let uncertain = calendar.uncertain_prefix.last().copied().unwrap_or(0);
            calendar.uncertain_prefix.push(uncertain + u32::from(!certain));
        }
        calendar
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    /// Working minutes in one working day ("1 Hari"), for converting and rounding durations.
    /// Deadlines count days on the calendar itself and do not use it.
    pub fn day_length_minutes(&self) -> u32 {
        self.day_length_minutes
    }

    /// The first and last date the calendar's sources cover.
    pub fn covered(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.covered
    }

    pub fn provisional(&self) -> &[ProvisionalRange] {
        &self.provisional
    }

    /// Every holiday the calendar knows, by date (including ones later made working days).
    pub fn holidays(&self) -> impl Iterator<Item = &Holiday> {
        self.holidays.values()
    }

    pub fn holiday_on(&self, date: NaiveDate) -> Option<&Holiday> {
        self.holidays.get(&date)
    }

    /// Whether the calendar vouches for this date: covered, and not provisional.
    pub fn is_certain(&self, date: NaiveDate) -> bool {
        let d = self.index_of(date);
        !self.any_uncertain(d, d)
    }

    /// The working periods of a date, in minutes since local midnight.
    pub fn periods_on(&self, date: NaiveDate) -> &[Period] {
        self.view(self.index_of(date)).periods
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.periods_on(date).is_empty()
    }

    /// Whether `t` lies inside a working period (openings included, closings excluded).
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        let (day, second) = self.locate(ceil_seconds(t));
        self.view(day).periods.iter().any(|p| i64::from(p.start) * 60 <= second && second < i64::from(p.end) * 60)
    }

    /// The earliest working instant at or after `t` (`t` itself when it is working time).
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let (day, second) = self.locate(ceil_seconds(t));
        let (day, second) = self.next_working(day, second);
        instant(self.utc_midnight(day) + second)
    }

    /// Whole working minutes from `a` to `b` (0 when `b` is not after `a`).
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> u64 {
        let seconds = self.position(b).0 - self.position(a).0;
        u64::try_from(seconds / 60).unwrap_or(0)
    }

    /// The working-time position of an instant.
    pub fn position(&self, t: DateTime<Utc>) -> WorkPosition {
        let (day, second) = self.locate(ceil_seconds(t));
        WorkPosition(self.work_before(day) + self.view(day).elapsed_before(second))
    }

    /// The earliest instant at a working-time position (a closing time rather than the next
    /// opening when the position falls between two periods).
    pub fn instant_at(&self, position: WorkPosition) -> DateTime<Utc> {
        let p = position.0;
        let total = self.work_prefix.last().copied().unwrap_or(0);
        let (day, rest) = if p < 0 {
            let weeks = if self.week_total > 0 { (-p + self.week_total - 1) / self.week_total } else { 0 };
            let day = -7 * weeks;
            (day, p - self.work_before(day))
        } else if p > total {
            let day = self.days.len() as i64;
            (day, p - total)
        } else {
            // The first day whose end position reaches `p`.
            let day = self.work_prefix.get(1..).map_or(0, |ends| ends.partition_point(|end| *end < p)) as i64;
            (day, p - self.work_before(day))
        };
        let (day, second) = self.advance(day, rest);
        instant(self.utc_midnight(day) + second)
    }

    /// `minutes` working minutes after `t` (counted from the next opening when `t` is outside
    /// working time): the minute-only case of [`Calendar::due`].
    pub fn add_working_minutes(&self, t: DateTime<Utc>, minutes: u64) -> DateTime<Utc> {
        self.due_seconds(ceil_seconds(t), 0, 0, minutes.saturating_mul(60)).0
    }

    /// Local date of an instant in the calendar's zone.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.zone).date_naive()
    }

    // ---- internals shared with the deadline arithmetic ----

    pub(crate) fn due_parts(&self, start: DateTime<Utc>, calendar_days: u32, workdays: u32, seconds: u64) -> Due {
        let (at, uncertain) = self.due_seconds(ceil_seconds(start), calendar_days, workdays, seconds);
        Due { at, uncertain }
    }

    /// The deadline convention (docs/calendar.md): calendar days first (same local clock
    /// time), then the next opening, then whole working days at the same position within the
    /// day (clamped to that day's length), then working seconds to the earliest instant.
    fn due_seconds(&self, start: i64, calendar_days: u32, workdays: u32, seconds: u64) -> (DateTime<Utc>, bool) {
        let (start_day, second) = self.locate(start);
        let day = start_day + i64::from(calendar_days);
        let (mut day, second) = self.next_working(day, second);
        if workdays == 0 && seconds == 0 {
            // Nothing to count: due at the start, or at the opening it waits for (never at the
            // closing before it, which an earliest-instant search would pick).
            let at = instant(self.utc_midnight(day).saturating_add(second));
            return (at, self.any_uncertain(start_day, day));
        }
        let mut elapsed = self.view(day).elapsed_before(second);
        if workdays > 0 {
            day = self.nth_working_day_after(day, i64::from(workdays));
            elapsed = elapsed.min(self.view(day).length);
        }
        let rest = elapsed.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX / 2));
        let (day, second) = self.advance(day, rest);
        let at = instant(self.utc_midnight(day).saturating_add(second));
        (at, self.any_uncertain(start_day, day))
    }

    fn index_of(&self, date: NaiveDate) -> i64 {
        (date - self.origin).num_days()
    }

    fn weekday(&self, day: i64) -> usize {
        (self.origin_weekday + day).rem_euclid(7) as usize
    }

    fn utc_midnight(&self, day: i64) -> i64 {
        match usize::try_from(day).ok().and_then(|i| self.days.get(i)) {
            Some(entry) => entry.utc_midnight,
            None => {
                let offset = if day < 0 { self.offset_before } else { self.offset_after };
                self.origin_local_seconds.saturating_add(day.saturating_mul(SECONDS_PER_DAY)) - offset
            }
        }
    }

    pub(crate) fn view(&self, day: i64) -> DayView<'_> {
        if let Some(entry) = usize::try_from(day).ok().and_then(|i| self.days.get(i)) {
            let first = entry.first_period as usize;
            let periods = self.periods.get(first..first + entry.period_count as usize).unwrap_or(&[]);
            return DayView { periods, length: entry.length };
        }
        let weekday = self.weekday(day);
        DayView {
            periods: self.weekly.get(weekday).map_or(&[], |p| p.as_slice()),
            length: self.weekly_length.get(weekday).copied().unwrap_or(0),
        }
    }

    /// The day holding an instant and the second of local time within it.
    fn locate(&self, t: i64) -> (i64, i64) {
        let origin_midnight =
            self.days.first().map_or(self.origin_local_seconds - self.offset_before, |d| d.utc_midnight);
        let mut day = (t - origin_midnight).div_euclid(SECONDS_PER_DAY);
        // The guess is off by at most a day where the offset differs from the origin's.
        while t < self.utc_midnight(day) {
            day -= 1;
        }
        while t >= self.utc_midnight(day + 1) {
            day += 1;
        }
        (day, t - self.utc_midnight(day))
    }

    /// The first working instant at or after (`day`, `second`).
    fn next_working(&self, day: i64, second: i64) -> (i64, i64) {
        if let Some(s) = self.view(day).open_at_or_after(second) {
            return (day, s);
        }
        for next in day + 1..day + MAX_SCAN_DAYS {
            if let Some(s) = self.view(next).open_at_or_after(0) {
                return (next, s);
            }
        }
        (day, second)
    }

    fn past_table(&self, day: i64) -> bool {
        day >= self.days.len() as i64
    }

    /// The `n`-th working day after `day` (n ≥ 1).
    fn nth_working_day_after(&self, mut day: i64, mut n: i64) -> i64 {
        let mut scanned = 0;
        while n > 0 && scanned < MAX_SCAN_DAYS {
            if self.past_table(day + 1) && self.workdays_per_week > 0 && n > self.workdays_per_week {
                // Past the table every week has the same working days: jump whole weeks.
                let weeks = (n - 1) / self.workdays_per_week;
                day += 7 * weeks;
                n -= weeks * self.workdays_per_week;
                continue;
            }
            day += 1;
            scanned += 1;
            if self.view(day).length > 0 {
                n -= 1;
            }
        }
        day
    }

    /// The earliest (day, second) at which `rest` working seconds have passed since the start
    /// of `day` (`rest` ≥ 0; zero means the day's first opening, or the next one).
    fn advance(&self, mut day: i64, mut rest: i64) -> (i64, i64) {
        let mut scanned = 0;
        loop {
            let view = self.view(day);
            if view.length > 0 && rest <= view.length {
                return (day, view.second_at(rest));
            }
            if scanned >= MAX_SCAN_DAYS {
                return (day, 0);
            }
            if self.past_table(day) && self.week_total > 0 && rest > self.week_total {
                let weeks = (rest - 1) / self.week_total;
                day += 7 * weeks;
                rest -= weeks * self.week_total;
                continue;
            }
            rest -= view.length;
            day += 1;
            scanned += 1;
        }
    }

    /// Working seconds from the start of the table to the start of `day`.
    fn work_before(&self, day: i64) -> i64 {
        let len = self.days.len() as i64;
        if (0..=len).contains(&day) {
            return self.work_prefix.get(day as usize).copied().unwrap_or(0);
        }
        if day > len {
            self.work_prefix.last().copied().unwrap_or(0) + self.weekly_work(len, day)
        } else {
            -self.weekly_work(day, 0)
        }
    }

    /// Working seconds by the weekly hours from the start of `from` to the start of `to`.
    fn weekly_work(&self, from: i64, to: i64) -> i64 {
        let n = to - from;
        let full = n / 7;
        let first = self.weekday(from);
        let rest: i64 =
            (0..(n % 7) as usize).map(|i| self.weekly_length.get((first + i) % 7).copied().unwrap_or(0)).sum();
        full.saturating_mul(self.week_total).saturating_add(rest)
    }

    /// Whether any day from `first` to `last` (table indices) is uncertain.
    fn any_uncertain(&self, first: i64, last: i64) -> bool {
        let len = self.days.len() as i64;
        if first < 0 || last >= len {
            return true;
        }
        let (Some(a), Some(b)) =
            (self.uncertain_prefix.get(first as usize), self.uncertain_prefix.get(last as usize + 1))
        else {
            return true;
        };
        b > a
    }
}
