//! The field encoding inside the store's records: little-endian integers, byte strings with a
//! `u32` length before them, and dates as their calendar fields.
//!
//! Writing appends to a `Vec<u8>`; reading goes through a [`Reader`] whose every read is
//! bounds-checked and returns `None` past the end, so a record that does not decode is refused,
//! never misread.

use corvid_proto::imap::request::{Date, DateTime};

/// Appends a byte string: its length (`u32` LE), then the bytes.
pub(super) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Appends a list of byte strings: their count (`u32` LE), then each as [`put_bytes`].
pub(super) fn put_list<B: AsRef<[u8]>>(out: &mut Vec<u8>, items: &[B]) {
    out.extend_from_slice(&(items.len() as u32).to_le_bytes());
    for item in items {
        put_bytes(out, item.as_ref());
    }
}

/// Appends a list of UIDs: their count, then each (`u32` LE).
pub(super) fn put_uids(out: &mut Vec<u8>, uids: &[u32]) {
    out.extend_from_slice(&(uids.len() as u32).to_le_bytes());
    for uid in uids {
        out.extend_from_slice(&uid.to_le_bytes());
    }
}

/// Appends a date-time: year (`u16`), month, day, hour, minute, second (`u8` each) and the zone
/// (`i16` minutes).
pub(super) fn put_date_time(out: &mut Vec<u8>, at: &DateTime) {
    out.extend_from_slice(&at.date.year.to_le_bytes());
    out.extend_from_slice(&[at.date.month, at.date.day, at.hour, at.minute, at.second]);
    out.extend_from_slice(&at.zone_minutes.to_le_bytes());
}

/// Reads the fields of one record payload, front to back.
#[derive(Debug)]
pub(super) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `payload`.
    pub(super) fn new(payload: &'a [u8]) -> Reader<'a> {
        Reader { rest: payload }
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.rest.split_first_chunk::<N>()?;
        self.rest = rest;
        Some(*head)
    }

    /// One byte.
    pub(super) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }

    /// A `u32`.
    pub(super) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    /// A `u64`.
    pub(super) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    /// A byte string written by [`put_bytes`].
    pub(super) fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        let (bytes, rest) = self.rest.split_at_checked(len)?;
        self.rest = rest;
        Some(bytes)
    }

    /// A byte string written by [`put_bytes`], as UTF-8 text.
    pub(super) fn text(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }

    /// A list written by [`put_list`]. The count is checked against the bytes left before
    /// anything is allocated.
    pub(super) fn list(&mut self) -> Option<Vec<Box<[u8]>>> {
        let count = self.count(4)?;
        (0..count).map(|_| self.bytes().map(Box::from)).collect()
    }

    /// A list written by [`put_uids`].
    pub(super) fn uids(&mut self) -> Option<Vec<u32>> {
        let count = self.count(4)?;
        (0..count).map(|_| self.u32()).collect()
    }

    /// A count of items of at least `min_size` bytes each, if that many bytes are left.
    fn count(&mut self, min_size: usize) -> Option<usize> {
        let count = usize::try_from(self.u32()?).ok()?;
        (count.checked_mul(min_size)? <= self.rest.len()).then_some(count)
    }

    /// A date-time written by [`put_date_time`], its fields in their ranges.
    pub(super) fn date_time(&mut self) -> Option<DateTime> {
        let year = u16::from_le_bytes(self.take()?);
        let [month, day, hour, minute, second] = self.take()?;
        let zone_minutes = i16::from_le_bytes(self.take()?);
        let valid = (1..=12).contains(&month)
            && (1..=31).contains(&day)
            && hour < 24
            && minute < 60
            && second <= 60
            && zone_minutes.abs() < 24 * 60;
        valid.then_some(DateTime {
            date: Date { year, month, day },
            hour,
            minute,
            second,
            zone_minutes,
        })
    }

    /// `Some` if every byte was read: a record with bytes left over is not one of ours.
    pub(super) fn end(self) -> Option<()> {
        self.rest.is_empty().then_some(())
    }
}
