//! What a calendar file declares: one [`CalendarDef`] per `kalender` block, as the compiler's
//! front end (`crate::compile::calendar`) reads it, before extension is resolved in
//! [`super::CalendarSet`].

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::source::{FileId, Span};

/// The longest date range a calendar may cover or a line may span: a typo in a year must not
/// make the engine build a table of millions of days.
pub const MAX_RANGE_DAYS: i64 = 100 * 366;

/// A working period, in minutes since local midnight, half-open: `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub start: u16,
    pub end: u16,
}

impl Period {
    pub fn minutes(&self) -> u32 {
        u32::from(self.end.saturating_sub(self.start))
    }
}

/// Working periods for each day of the week, Monday first.
pub type WeekHours = [Vec<Period>; 7];

/// An inclusive range of dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub span: Span,
}

impl DateRange {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> {
        let last = self.last;
        self.first.iter_days().take_while(move |d| *d <= last)
    }
}

/// What kind of day off a holiday is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum HolidayKind {
    /// Libur nasional (LN), set by the SKB.
    National,
    /// Cuti bersama (CB), set by the SKB.
    CollectiveLeave,
    /// A day one office adds for itself (`tambah_libur`).
    Office,
}

impl HolidayKind {
    /// The abbreviation used in the SKB tables (LN, CB), or `kantor` for office additions.
    pub fn code(self) -> &'static str {
        match self {
            HolidayKind::National => "LN",
            HolidayKind::CollectiveLeave => "CB",
            HolidayKind::Office => "kantor",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolidayDecl {
    pub range: DateRange,
    pub kind: HolidayKind,
    pub name: String,
    pub span: Span,
}

/// `hari_kerja`: dates that are working days whatever the bases say (a collective-leave day an
/// office stays open, or a weekend day the government declares a working day).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkingDayDecl {
    pub range: DateRange,
    /// Hours for those dates; `None` means the usual hours of that weekday.
    pub hours: Option<Vec<Period>>,
    pub reason: Option<String>,
    pub span: Span,
}

/// `jam_khusus`: other working hours over a date range (Ramadan).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecialHoursDecl {
    pub range: DateRange,
    pub name: Option<String>,
    pub week: WeekHours,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarDef {
    pub name: String,
    pub name_span: Span,
    /// The whole `kalender` item.
    pub span: Span,
    pub file: FileId,
    pub description: Option<String>,
    pub source: Option<String>,
    pub zone: Option<(Tz, Span)>,
    pub extends: Vec<(String, Span)>,
    pub covers: Vec<DateRange>,
    /// `sementara`: the covered dates are not final (no SKB yet); with the reason given.
    pub provisional: Option<(Option<String>, Span)>,
    /// `jam_kerja` lines; `None` when the calendar declares none (and inherits them).
    pub hours: Option<(WeekHours, Span)>,
    /// `panjang_hari` in minutes.
    pub day_length: Option<(u32, Span)>,
    pub holidays: Vec<HolidayDecl>,
    pub working_days: Vec<WorkingDayDecl>,
    pub special_hours: Vec<SpecialHoursDecl>,
}
