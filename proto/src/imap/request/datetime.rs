//! IMAP dates and date-times, and RFC 5322 `Date:` values, as calendar values and Unix seconds.
//!
//! [`Date::parse`] and [`DateTime::parse`] read RFC 3501's `date` (SEARCH) and `date-time`
//! (APPEND) as streaming lexers in the style of [`crate::lex`]; [`parse_rfc5322`] reads a
//! message's `Date:` header leniently. The calendar arithmetic (proleptic Gregorian, days
//! counted from 1970-01-01) is here too; nothing reads a clock.

use nom::error::ErrorKind;

use crate::lex::{self, LexResult};

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

/// Month names as IMAP and RFC 5322 write them.
const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Days from 0000-03-01 to 1970-01-01 (the calendar below counts years from March).
const EPOCH_FROM_MARCH_0000: i64 = 719_468;
/// Days in 400 Gregorian years.
const DAYS_PER_ERA: i64 = 146_097;
const SECONDS_PER_DAY: i64 = 86_400;

fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days in `month` (1–12) of `year`; 0 for a month that does not exist.
fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The earliest date a 4-digit year can write.
    const FIRST: Date = Date {
        year: 0,
        month: 1,
        day: 1,
    };
    /// The latest date a 4-digit year can write.
    const LAST: Date = Date {
        year: 9999,
        month: 12,
        day: 31,
    };

    /// The date, if `day` exists in that month of that year.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        (year <= 9999 && day >= 1 && day <= days_in_month(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// The date `days` days after 1970-01-01 (negative: before); days outside the years
    /// 0000–9999 give the first or last day of that range.
    pub fn from_days(days: i64) -> Date {
        if days < Date::FIRST.days() {
            return Date::FIRST;
        }
        if days > Date::LAST.days() {
            return Date::LAST;
        }
        // Count from 0000-03-01 so that the leap day ends each year, in eras of 400 years.
        let from_march = days + EPOCH_FROM_MARCH_0000;
        let era = from_march.div_euclid(DAYS_PER_ERA);
        let day_of_era = from_march - era * DAYS_PER_ERA;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        // Months from March: five-month cycles of 153 days (31 30 31 30 31).
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = era * 400 + year_of_era + i64::from(month <= 2);
        Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Days since 1970-01-01.
    pub fn days(&self) -> i64 {
        let month = i64::from(self.month);
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * DAYS_PER_ERA + day_of_era - EPOCH_FROM_MARCH_0000
    }

    /// Reads an IMAP `date` (`1-Feb-1994`, or the same in double quotes; month names in any
    /// case) as a streaming lexer: incomplete when the input stops inside it, an error when it
    /// is not a date that exists.
    pub fn parse(i: &[u8]) -> LexResult<'_, Date> {
        match i {
            [] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
            [b'"', rest @ ..] => {
                let (rest, date) = date_text(rest, 2)?;
                let (rest, ()) = byte(rest, b'"')?;
                Ok((rest, date))
            }
            _ => date_text(i, 2),
        }
    }

    /// Writes `1-Feb-1994`, the day padded to `day_width` characters with spaces.
    fn write(&self, out: &mut Vec<u8>, day_width: usize) {
        if day_width == 2 && self.day < 10 {
            out.push(b' ');
        }
        lex::write_decimal(out, u64::from(self.day));
        out.push(b'-');
        let month = MONTHS
            .get(usize::from(self.month).wrapping_sub(1))
            .map_or(&b"???"[..], |m| &m[..]);
        out.extend_from_slice(month);
        out.push(b'-');
        write_padded(out, u32::from(self.year), 4);
    }
}

impl DateTime {
    /// The moment `secs` after the Unix epoch, as seen in the zone `zone_minutes` east of UTC.
    pub fn from_unix(secs: i64, zone_minutes: i16) -> DateTime {
        let local = secs.saturating_add(i64::from(zone_minutes) * 60);
        let second_of_day = local.rem_euclid(SECONDS_PER_DAY);
        DateTime {
            date: Date::from_days(local.div_euclid(SECONDS_PER_DAY)),
            hour: (second_of_day / 3600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
            zone_minutes,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn to_unix(&self) -> i64 {
        let local = self.date.days() * SECONDS_PER_DAY
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second);
        local - i64::from(self.zone_minutes) * 60
    }

    /// Writes it as INTERNALDATE shows it, quotes included: `"17-Jul-1996 02:44:25 -0700"`
    /// (the day space-padded to two characters).
    pub fn write_imap(&self, out: &mut Vec<u8>) {
        out.push(b'"');
        self.date.write(out, 2);
        for (separator, value) in [(b' ', self.hour), (b':', self.minute), (b':', self.second)] {
            out.push(separator);
            write_padded(out, u32::from(value), 2);
        }
        out.extend_from_slice(if self.zone_minutes < 0 { b" -" } else { b" +" });
        let zone = self.zone_minutes.unsigned_abs();
        write_padded(out, u32::from(zone / 60), 2);
        write_padded(out, u32::from(zone % 60), 2);
        out.push(b'"');
    }

    /// Reads an IMAP `date-time` (`"17-Jul-1996 02:44:25 -0700"`, the day space-padded or
    /// two digits) as a streaming lexer: incomplete when the input stops inside it, an error
    /// when it is not a moment that exists.
    pub fn parse(i: &[u8]) -> LexResult<'_, DateTime> {
        let (i, ()) = byte(i, b'"')?;
        let (i, day_width) = match i {
            [] => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            [b' ', rest @ ..] => (rest, 1),
            _ => (i, 2),
        };
        let (i, date) = date_text(i, day_width)?;
        let (i, ()) = byte(i, b' ')?;
        let (i, hour) = fixed_number(i, 2, 23)?;
        let (i, ()) = byte(i, b':')?;
        let (i, minute) = fixed_number(i, 2, 59)?;
        let (i, ()) = byte(i, b':')?;
        let (i, second) = fixed_number(i, 2, 60)?;
        let (i, ()) = byte(i, b' ')?;
        let (i, sign) = match i {
            [] => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            [b'+', rest @ ..] => (rest, 1),
            [b'-', rest @ ..] => (rest, -1),
            _ => return lex::invalid(i, ErrorKind::Char),
        };
        let (i, zone_hours) = fixed_number(i, 2, 23)?;
        let (i, zone_mins) = fixed_number(i, 2, 59)?;
        let (i, ()) = byte(i, b'"')?;
        Ok((
            i,
            DateTime {
                date,
                hour: hour as u8,
                minute: minute as u8,
                second: second as u8,
                zone_minutes: sign * (zone_hours * 60 + zone_mins) as i16,
            },
        ))
    }
}

/// Appends `n` in decimal, zero-padded to `width` digits (at most 10).
fn write_padded(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut digits = [b'0'; 10];
    let mut start = digits.len();
    let mut rest = n;
    while rest > 0 {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let start = start.min(digits.len().saturating_sub(width.max(1)));
    out.extend_from_slice(&digits[start..]);
}

/// One byte `b`.
fn byte(i: &[u8], b: u8) -> LexResult<'_, ()> {
    match i.split_first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some((&first, rest)) if first == b => Ok((rest, ())),
        Some(_) => lex::invalid(i, ErrorKind::Char),
    }
}

/// `1*width` digits (exactly `width` when `exact`), at most `max`. The run ends at the first
/// non-digit, so a shorter run at the end of the input is incomplete.
fn number_upto(i: &[u8], width: usize, exact: bool, max: u32) -> LexResult<'_, u32> {
    let run = i
        .iter()
        .take(width)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if run < width && run == i.len() {
        return Err(nom::Err::Incomplete(nom::Needed::new(1)));
    }
    if run == 0 || (exact && run < width) {
        return lex::invalid(i, ErrorKind::Digit);
    }
    let (digits, rest) = i.split_at(run);
    let value = digits
        .iter()
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    if value > max {
        return lex::invalid(i, ErrorKind::TooLarge);
    }
    Ok((rest, value))
}

/// Exactly `width` digits, at most `max`.
fn fixed_number(i: &[u8], width: usize, max: u32) -> LexResult<'_, i32> {
    number_upto(i, width, true, max).map(|(rest, n)| (rest, n as i32))
}

/// A month's three-letter name, any case: 1–12.
fn month(i: &[u8]) -> LexResult<'_, u8> {
    let given = i.get(..3).unwrap_or(i);
    let found = MONTHS
        .iter()
        .position(|m| m[..given.len()].eq_ignore_ascii_case(given));
    match found {
        None => lex::invalid(i, ErrorKind::Tag),
        Some(_) if given.len() < 3 => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(index) => Ok((&i[3..], index as u8 + 1)),
    }
}

/// `day "-" month "-" 4DIGIT`; the day has 1 or 2 digits (`day_width` 2), or exactly one
/// (`day_width` 1, after date-time's padding space).
fn date_text(i: &[u8], day_width: usize) -> LexResult<'_, Date> {
    let (rest, day) = number_upto(i, day_width, false, 31)?;
    let (rest, ()) = byte(rest, b'-')?;
    let (rest, month) = month(rest)?;
    let (rest, ()) = byte(rest, b'-')?;
    let (rest, year) = number_upto(rest, 4, true, 9999)?;
    match Date::new(year as u16, month, day as u8) {
        Some(date) => Ok((rest, date)),
        None => lex::invalid(i, ErrorKind::Verify),
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 5322 dates, leniently.

/// The words of a `Date:` value: runs of bytes between spaces, commas and comments.
struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let mut depth = 0usize;
        let mut escaped = false;
        let start = self.rest.iter().position(|&b| {
            let in_comment = depth > 0;
            match b {
                _ if escaped => escaped = false,
                b'\\' if in_comment => escaped = true,
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            !in_comment && depth == 0 && !matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b')')
        })?;
        let from = self.rest.get(start..)?;
        let len = from
            .iter()
            .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'('))
            .unwrap_or(from.len());
        let (word, rest) = from.split_at(len);
        self.rest = rest;
        Some(word)
    }
}

/// A run of ASCII digits as a number (`None` for anything else or more than 4 digits).
fn small_number(word: &[u8]) -> Option<u16> {
    if word.is_empty() || word.len() > 4 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(word.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')))
}

/// A zone: `+hhmm`/`-hhmm`, an obsolete name, or a military letter (read as +0000, RFC 5322
/// §4.3); anything unreadable is +0000 too.
fn zone_minutes(word: Option<&[u8]>) -> i16 {
    let Some(word) = word else { return 0 };
    if let [sign @ (b'+' | b'-'), digits @ ..] = word
        && digits.len() == 4
        && let Some(hhmm) = small_number(digits)
    {
        let (hours, minutes) = (hhmm / 100, hhmm % 100);
        if minutes < 60 {
            let offset = (hours * 60 + minutes) as i16;
            return if *sign == b'-' { -offset } else { offset };
        }
        return 0;
    }
    const NAMED: [(&[u8], i16); 10] = [
        (b"UT", 0),
        (b"GMT", 0),
        (b"EST", -5),
        (b"EDT", -4),
        (b"CST", -6),
        (b"CDT", -5),
        (b"MST", -7),
        (b"MDT", -6),
        (b"PST", -8),
        (b"PDT", -7),
    ];
    NAMED
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map_or(0, |(_, hours)| hours * 60)
}

/// Reads an RFC 5322 `Date:` field value (`Tue, 1 Jul 2003 10:52:37 +0200`), leniently as mail
/// in the wild needs (no day name, two-digit years, obsolete zone names, comments, extra
/// spaces); `None` when no date can be read.
pub fn parse_rfc5322(value: &[u8]) -> Option<DateTime> {
    let mut words = Words { rest: value }.peekable();
    // The day name, if any: a word of letters before the day number.
    if words.peek()?.first()?.is_ascii_alphabetic() {
        words.next();
    }
    let day = small_number(words.next()?)?;
    let month_word = words.next()?;
    let (_, month) = month(month_word.get(..3)?).ok()?;
    let year_word = words.next()?;
    let year = small_number(year_word)?;
    // RFC 5322 §4.3: two-digit years below 50 are 20xx, others (and three digits) 19xx.
    let year = match year_word.len() {
        1 | 2 if year < 50 => year + 2000,
        1..=3 => year + 1900,
        _ => year,
    };
    let time = words.next()?;
    let mut fields = time.split(|&b| b == b':');
    let hour = small_number(fields.next()?)?;
    let minute = small_number(fields.next()?)?;
    let second = fields.next().map_or(Some(0), small_number)?;
    if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some(DateTime {
        date: Date::new(year, month, u8::try_from(day).ok()?)?,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        zone_minutes: zone_minutes(words.next()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    fn at(date: Date, hour: u8, minute: u8, second: u8, zone_minutes: i16) -> DateTime {
        DateTime {
            date,
            hour,
            minute,
            second,
            zone_minutes,
        }
    }

    #[test]
    fn days_match_known_dates() {
        assert_eq!(date(1970, 1, 1).days(), 0);
        assert_eq!(date(1969, 12, 31).days(), -1);
        assert_eq!(date(2000, 2, 29).days(), 11_016);
        assert_eq!(date(2000, 3, 1).days(), 11_017);
        assert_eq!(date(1900, 3, 1).days() - date(1900, 2, 28).days(), 1);
        assert_eq!(date(2038, 1, 19).days(), 24_855);
        assert_eq!(date(1, 1, 1).days(), -719_162);
        assert_eq!(Date::from_days(11_016), date(2000, 2, 29));
        assert_eq!(Date::from_days(i64::MIN), Date::FIRST);
        assert_eq!(Date::from_days(i64::MAX), Date::LAST);
    }

    #[test]
    fn days_round_trip_over_every_day() {
        let mut expected = Date::FIRST;
        for days in Date::FIRST.days()..=Date::LAST.days() {
            let got = Date::from_days(days);
            assert_eq!(got, expected, "{days}");
            assert_eq!(got.days(), days);
            expected = Date::new(got.year, got.month, got.day + 1)
                .or_else(|| Date::new(got.year, got.month + 1, 1))
                .unwrap_or(date(got.year + 1, 1, 1));
        }
    }

    #[test]
    fn unix_round_trips() {
        // From year 0001 to 9999, leap days and negative seconds included.
        let mut secs = -62_000_000_000i64;
        while secs < 253_000_000_000 {
            for zone in [0, -420, 330, 14 * 60, -12 * 60] {
                let t = DateTime::from_unix(secs, zone);
                assert_eq!(t.to_unix(), secs, "{secs} {zone}");
                assert_eq!(t.zone_minutes, zone);
                let mut out = Vec::new();
                t.write_imap(&mut out);
                out.push(b' ');
                assert_eq!(DateTime::parse(&out), Ok((&b" "[..], t)), "{out:?}");
            }
            secs += 99_999_989;
        }
        // Every leap day of four centuries, each second of its first and last minute.
        for year in (1804..=2204).filter(|&y| is_leap(y)) {
            let leap_day = date(year, 2, 29).days() * SECONDS_PER_DAY;
            for secs in (0..60).chain(SECONDS_PER_DAY - 60..SECONDS_PER_DAY) {
                let t = DateTime::from_unix(leap_day + secs, 0);
                assert_eq!((t.date, t.to_unix()), (date(year, 2, 29), leap_day + secs));
            }
        }
        assert_eq!(
            DateTime::from_unix(951_782_400, 0),
            at(date(2000, 2, 29), 0, 0, 0, 0)
        );
        assert_eq!(
            DateTime::from_unix(-1, -60),
            at(date(1969, 12, 31), 22, 59, 59, -60)
        );
    }

    #[test]
    fn writes_internaldate() {
        let mut out = Vec::new();
        at(date(1996, 7, 7), 2, 44, 5, -420).write_imap(&mut out);
        assert_eq!(out, b"\" 7-Jul-1996 02:44:05 -0700\"");
        out.clear();
        at(date(33, 12, 17), 23, 0, 0, 330).write_imap(&mut out);
        assert_eq!(out, b"\"17-Dec-0033 23:00:00 +0530\"");
    }

    #[test]
    fn parses_imap_dates() {
        assert_eq!(
            Date::parse(b"1-Feb-1994 "),
            Ok((&b" "[..], date(1994, 2, 1)))
        );
        assert_eq!(
            Date::parse(b"\"29-fEB-2000\")"),
            Ok((&b")"[..], date(2000, 2, 29)))
        );
        assert_eq!(
            DateTime::parse(b"\"17-Jul-1996 02:44:25 -0700\"\r\n"),
            Ok((&b"\r\n"[..], at(date(1996, 7, 17), 2, 44, 25, -420)))
        );
        assert_eq!(
            DateTime::parse(b"\" 1-jan-2024 00:00:60 +1400\" "),
            Ok((&b" "[..], at(date(2024, 1, 1), 0, 0, 60, 840)))
        );
        for bad in [
            &b"29-Feb-1900 "[..],
            b"31-Apr-2000 ",
            b"0-Jan-2000 ",
            b"123-Jan-2000 ",
            b"1-Jun-99 ",
            b"1-Foo-2000 ",
            b"1 Jan 2000 ",
            b"\"1-Jan-2000 ",
        ] {
            assert!(
                matches!(Date::parse(bad), Err(nom::Err::Error(_))),
                "{bad:?}"
            );
        }
        for bad in [
            &b"\"17-Jul-1996 24:00:00 +0000\""[..],
            b"\"17-Jul-1996 02:60:00 +0000\"",
            b"\"17-Jul-1996 02:44:25 0700\"",
            b"\"17-Jul-1996 02:44:25 +0760\"",
            b"\"  7-Jul-1996 02:44:25 +0000\"",
            b"\" 17-Jul-1996 02:44:25 +0000\"",
            b"17-Jul-1996 02:44:25 +0000",
        ] {
            assert!(
                matches!(DateTime::parse(bad), Err(nom::Err::Error(_))),
                "{bad:?}"
            );
        }
        let whole = b"\" 7-Jul-1996 02:44:25 -0700\" ";
        for cut in 0..whole.len() - 1 {
            assert!(
                matches!(DateTime::parse(&whole[..cut]), Err(nom::Err::Incomplete(_))),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn parses_rfc5322_leniently() {
        let cases: [(&[u8], DateTime); 8] = [
            (
                b"Tue, 1 Jul 2003 10:52:37 +0200",
                at(date(2003, 7, 1), 10, 52, 37, 120),
            ),
            (
                b"1 Jul 2003 10:52:37 +0200",
                at(date(2003, 7, 1), 10, 52, 37, 120),
            ),
            (
                b"  Thu,  13 Feb 69 23:32 -0330 (Newfoundland Time)",
                at(date(1969, 2, 13), 23, 32, 0, -210),
            ),
            (
                b"1 jan 05 01:02:03 EST",
                at(date(2005, 1, 1), 1, 2, 3, -300),
            ),
            (
                b"1 Jan 105 01:02:03 PDT",
                at(date(2005, 1, 1), 1, 2, 3, -420),
            ),
            (b"1 Jan 2005 01:02:03 Z", at(date(2005, 1, 1), 1, 2, 3, 0)),
            (b"1 Jan 2005 01:02:03", at(date(2005, 1, 1), 1, 2, 3, 0)),
            (
                b"(the (day)) Mon,(x)3 March 2025 12:00:00 (UTC) +0000",
                at(date(2025, 3, 3), 12, 0, 0, 0),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_rfc5322(value), Some(expected), "{value:?}");
        }
        for bad in [
            &b""[..],
            b"yesterday",
            b"30 Feb 2004 10:00:00 +0000",
            b"1 Jul 2003 25:00:00 +0000",
            b"1 Jul 2003",
            b"1 Jul 2003 10:00:00:00",
            b"Tue, 1 Jul",
        ] {
            assert_eq!(parse_rfc5322(bad), None, "{bad:?}");
        }
    }
}
