//! Stable diagnostic codes. A code never changes meaning once released; every code is
//! documented in `docs/diagnostics.md` (a test keeps the two in step).

use serde::{Deserialize, Serialize};

use super::Severity;

macro_rules! codes {
    ($( $variant:ident = $code:literal, $severity:ident, $summary:literal; )*) => {
        /// Every diagnostic alur reports.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Code {
            $( #[doc = $summary] #[serde(rename = $code)] $variant, )*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code, such as `E104`.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line saying what the code is about (English, for the reference).
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    // Input and syntax.
    InputNotUtf8 = "E001", Error, "the file is not UTF-8 text";
    InputTooLarge = "E002", Error, "the file is larger than alur reads";
    NestingTooDeep = "E003", Error, "blocks are nested deeper than alur allows";
    ParserLimit = "E004", Error, "the parser gave up on a pathological input";
    UnexpectedCharacter = "E005", Error, "a character that cannot start any word, number or symbol";
    UnclosedString = "E006", Error, "a text in quotes is not closed";
    UnclosedBlock = "E007", Error, "a `{` has no matching `}`";
    UnmatchedClose = "E008", Error, "a `}` has no matching `{`";
    Expected = "E009", Error, "something else was expected here";
    UnknownKeyword = "E010", Error, "a word that is not a keyword where a keyword is expected";
    NoSop = "E011", Error, "the file defines no `sop`";
    DuplicateSetting = "E012", Error, "a setting that may appear once appears twice";
    MissingSetting = "E013", Error, "a required setting is missing";
    InvalidValue = "E014", Error, "a value that is not allowed here";
    ImportFailed = "E015", Error, "an imported or called file cannot be read";
    // Names and references.
    DuplicateId = "E101", Error, "two things of the same kind share an id";
    DuplicateStepNumber = "E102", Error, "two steps share a number";
    UnknownActor = "E103", Error, "a step names an actor that is not declared";
    UnknownStep = "E104", Error, "a route or setting names a step or end that does not exist";
    UnknownArtifact = "E105", Error, "a step needs or gives a document that is not declared";
    UnknownOutcome = "E106", Error, "an outcome that the decision cannot have";
    UnknownField = "E107", Error, "a condition names a case field that is not declared";
    UnknownCalendar = "E108", Error, "the calendar named by the SOP does not exist";
    UnknownFragment = "E109", Error, "`pakai` names a fragment that is not defined or imported";
    UnknownVariant = "E110", Error, "`untuk` names a service variant that is not declared";
    // Flow.
    UnreachableStep = "E201", Error, "no route leads to this step";
    NoEndReachable = "E202", Error, "from this step no end can be reached";
    LoopWithoutExit = "E203", Error, "a loop that no route leaves";
    SingleOutcome = "E204", Error, "a decision with only one outcome";
    MissingActor = "E205", Error, "a step without an actor";
    MissingDuration = "E206", Error, "a step without a duration (waktu)";
    RouteLeavesBranch = "E207", Error, "a route jumps into or out of a parallel branch";
    EmptyBlock = "E208", Error, "a parallel or alternative block with fewer than two branches";
    SubprocedureOutcomes = "E209", Error, "a call's decision does not match the called procedure's ends";
    DeadlineWithoutTime = "E210", Error, "a deadline action on a step whose time is not stated";
    VariantLeavesOutStep = "E216", Error, "a line of one variant leads to, times or measures a step the variant does not do";
    CompletionDateWithoutTime = "E211", Error, "a completion date (`tanggal_selesai`) with no time and no promise to count it from";
    HoldWithoutStaff = "E215", Error, "a hold (`penangguhan`) on a step that no office staff performs";
    ChainSharesMismatch = "E212", Error, "the time shares written for a step do not match its desks";
    ChainTimeUneven = "E213", Error, "a hand-off chain's time in days does not divide evenly over its desks";
    // Rules.
    TypeMismatch = "E301", Error, "a condition compares values of different types";
    // Time.
    StatedTotalMismatch = "E401", Error, "the stated total differs from the sum of the steps";
    StatedRoundingMismatch = "E402", Error, "the rounded days in parentheses differ from the total";
    // Notes: a check that could not run because of errors elsewhere.
    TotalNotChecked = "N401", Note, "the stated total or a service standard was not checked because of errors in the steps";
    TotalIncomplete = "N402", Note, "the stated total or a service standard can only be checked in part: steps on it have no stated time";
    // Warnings.
    AmbiguousDay = "W001", Warning, "a bare English `day`: working day or calendar day?";
    InputNotProduced = "W002", Warning, "a step needs a document that is not produced on every path before it";
    OutputUnused = "W003", Warning, "a document that is produced but never needed";
    PromiseExceeded = "W004", Warning, "the computed time exceeds the service-standard promise";
    UnusedActor = "W005", Warning, "an actor that no step uses";
    AssumedOutcome = "W006", Warning, "a decision states one outcome: the other is assumed to return the file to the applicant";
    CallOutlastsStep = "W007", Warning, "a called procedure promises more time than the calling step allows";
    // Calendars (sop/calendars, documented in docs/calendar.md).
    InvalidTime = "E501", Error, "a time of day or a time range that is not valid";
    UnknownDay = "E502", Error, "a word that is not a day of the week";
    OverlappingHours = "E503", Error, "working periods on the same day overlap";
    UnknownTimeZone = "E504", Error, "a time zone that is not an IANA zone name";
    UnknownBaseCalendar = "E505", Error, "`turunan` names a calendar that does not exist";
    CalendarCycle = "E506", Error, "calendars extend each other in a cycle";
    DuplicateCalendar = "E507", Error, "two calendars share a name";
    InvalidDate = "E508", Error, "a date that does not exist or a date range that is empty or too long";
    CalendarIncomplete = "E509", Error, "a calendar used for deadlines has no time zone or no working hours";
    ConflictingBases = "E510", Error, "the extended calendars disagree on the time zone or the working hours";
    DateOutsideCover = "E511", Error, "a date outside the dates the calendar says it covers";
    DuplicateDate = "E512", Error, "the same date is declared twice in one calendar";
    InvalidDayLength = "E513", Error, "a working-day length that is zero or longer than a day";
    WorkingDayWithoutHours = "E514", Error, "a `hari_kerja` date that has no working hours";
    BreakOutsideHours = "E515", Error, "a break that does not lie inside one working period";
    // Importing SOP tables (`alur import`, documented in docs/import.md).
    ImportUnreadable = "E601", Error, "the table cannot be read as UTF-8 text with separated columns";
    ImportNoHeader = "E602", Error, "the table has no header row alur recognises, or no steps";
    ImportBadRow = "E603", Error, "a row that is not a step, a continued step, a header, a page number or the total";
    ImportExtraCell = "E604", Error, "a cell outside the columns the header names";
    ImportBadCell = "E605", Error, "a cell that the `.sop` language cannot read as written";
    ImportKeptAsComment = "W601", Warning, "text outside the table's columns, kept as a comment";
    ImportActorUnknown = "W602", Warning, "a step whose actor could not be read or inferred";
    ImportPageNumber = "W603", Warning, "a page number left out of the SOP";
    ImportRouteGuessed = "W604", Warning, "a route in Keterangan that was completed or not made a decision";
    ImportActorsInferred = "W605", Warning, "actors inferred from the table's text, not read from marks";
    ImportHandOffChain = "W606", Warning, "a Pelaksana cell names desks in sequence whose days do not divide over them: the step is given the first";
    ImportActorGuessWeak = "W607", Warning, "an inferred actor that the table's text does not back firmly";
    ImportServiceStandard = "W608", Warning, "a Standar Pelayanan table: read into declarations where the language has them, the rest kept as comments";
    // The public service desk (docs/desk.md).
    RegistrationUnknownPart = "E701", Error, "a registration number pattern names a part alur does not know";
    RegistrationRunningNumber = "E702", Error, "a registration number pattern without exactly one running number";
    RegistrationBrace = "E703", Error, "a registration number pattern with an unmatched `{` or `}`";
    RegistrationShape = "E704", Error, "a registration number pattern that is empty, too long or spans lines";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
