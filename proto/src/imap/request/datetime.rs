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

#[allow(unused_variables, clippy::todo)]
impl Date {
    /// The date `days` days after 1970-01-01 (negative: before).
    pub fn from_days(days: i64) -> Date {
        todo!()
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        todo!()
    }
}

#[allow(unused_variables, clippy::todo)]
impl DateTime {
    /// The moment `secs` after the Unix epoch, as seen in the zone `zone_minutes` east of UTC.
    pub fn from_unix(secs: i64, zone_minutes: i16) -> DateTime {
        todo!()
    }

    /// Seconds since the Unix epoch.
    pub fn to_unix(&self) -> i64 {
        todo!()
    }

    /// Writes it as INTERNALDATE shows it, quotes included: `"17-Jul-1996 02:44:25 -0700"`
    /// (the day space-padded to two characters).
    pub fn write_imap(&self, out: &mut Vec<u8>) {
        todo!()
    }
}

/// Reads an RFC 5322 `Date:` field value (`Tue, 1 Jul 2003 10:52:37 +0200`), leniently as mail
/// in the wild needs (no day name, two-digit years, obsolete zone names, comments, extra
/// spaces); `None` when no date can be read.
#[allow(unused_variables, clippy::todo)]
pub fn parse_rfc5322(value: &[u8]) -> Option<DateTime> {
    todo!()
}
