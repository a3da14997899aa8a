//! Test support for the backend's unit tests: stored messages built by hand, and the message
//! corpus of corvid-proto.

use std::sync::Arc;

use corvid_proto::imap::request::{Date, DateTime};

use super::store::{Message, SystemFlags};

/// A stored message with these metadata and bytes (modseq 1).
pub(crate) fn stored(
    uid: u32,
    flags: SystemFlags,
    keywords: &[&str],
    internal_date: DateTime,
    bytes: &[u8],
) -> Message {
    Message {
        uid,
        flags,
        keywords: keywords.iter().map(|k| k.as_bytes().into()).collect(),
        internal_date,
        modseq: 1,
        bytes: Arc::from(bytes),
    }
}

/// `year-month-day hour:00:00` in the zone `zone_minutes` east of UTC.
pub(crate) fn at(year: u16, month: u8, day: u8, hour: u8, zone_minutes: i16) -> DateTime {
    DateTime {
        date: Date { year, month, day },
        hour,
        minute: 0,
        second: 0,
        zone_minutes,
    }
}

/// A message of corvid-proto's corpus (`proto/tests/data/messages/`), by file name.
pub(crate) fn corpus(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../proto/tests/data/messages/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
