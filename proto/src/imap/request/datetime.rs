//! IMAP dates and date-times, and RFC 5322 `Date:` values, as calendar values and Unix seconds.

/// A calendar date (`date` in SEARCH: `1-Feb-1994`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year (4 digits).
    pub year: u16,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31 (valid for the month).
    pub day: u8,
}

/// A date, a time of day and a zone (`date-time` in APPEND: `"17-Jul-1996 02:44:25 -0700"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The local date.
    pub date: Date,
    /// Hours, 0–23.
    pub hour: u8,
    /// Minutes, 0–59.
    pub minute: u8,
    /// Seconds, 0–60.
    pub second: u8,
    /// The zone's offset from UTC in minutes (`-0700` is -420).
    pub zone_minutes: i16,
}
