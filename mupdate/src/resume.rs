//! The resumable update stream: corvid's extension to RFC 3656, by which a reconnecting
//! follower receives only what changed while it was away.
//!
//! Cyrus slaves take a full dump on every reconnect (murder.md §4.1, weakness 4). A corvid
//! master advertises `* X-CORVID-RESUME` in its banner (Cyrus clients skip capability lines they
//! do not know). A corvid follower that has a copy of the table then sends
//! `tag XRESUME "<position>" [host ...]` instead of `UPDATE`, where the position is the last one
//! the master reported to it. The master answers, in order:
//!
//! ```text
//! * OK "delta"                 (or * OK "dump": forget your copy, a whole dump follows)
//! tag MAILBOX|RESERVE|DELETE …  (delta: every name changed since, in its current state)
//! * OK "position 5f3a…-1042"    (everything up to here has been sent)
//! tag OK "streaming starts"
//! tag MAILBOX|RESERVE|DELETE …  (the stream, as after UPDATE)
//! * OK "position 5f3a…-1043"    (after each piece of the stream)
//! ```
//!
//! A [`Position`] is the master's *epoch* (a random number drawn when its data directory is
//! created, so that a wiped or different master is never mistaken for the same one) and the
//! sequence number of its last change sent. A dump is sent when the epoch differs, when the
//! follower claims to be ahead of the master, or when the master no longer keeps the changes
//! since the position. Cyrus clients keep the plain RFC behaviour.

use std::fmt;

use corvid_proto::mupdate::{Response, Status};

/// The banner capability line (the text after `* `).
pub const CAPABILITY: &[u8] = b"X-CORVID-RESUME";

/// The untagged line that opens a delta.
pub const DELTA: &[u8] = b"delta";
/// The untagged line that opens a whole dump.
pub const DUMP: &[u8] = b"dump";
const POSITION_PREFIX: &[u8] = b"position ";

/// Where a copy of the table stands in a master's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// The master's epoch.
    pub epoch: u64,
    /// The number of the last change included.
    pub seq: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}-{}", self.epoch, self.seq)
    }
}

impl Position {
    /// Reads the text form (`epoch` in hex, `-`, `seq` in decimal).
    pub fn parse(text: &[u8]) -> Option<Position> {
        let text = std::str::from_utf8(text).ok()?;
        let (epoch, seq) = text.split_once('-')?;
        if epoch.len() != 16 {
            return None;
        }
        Some(Position {
            epoch: u64::from_str_radix(epoch, 16).ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// The untagged line that reports this position to a follower.
    pub fn line(&self) -> Response {
        let mut text = POSITION_PREFIX.to_vec();
        text.extend_from_slice(self.to_string().as_bytes());
        Response::Status {
            tag: None,
            status: Status::Ok,
            text,
        }
    }

    /// The position an untagged `OK` line reports, if it is one.
    pub fn from_line(text: &[u8]) -> Option<Position> {
        Position::parse(text.strip_prefix(POSITION_PREFIX)?)
    }
}

/// The untagged `OK` line that opens a delta (`true`) or a dump.
pub fn opening_line(delta: bool) -> Response {
    Response::Status {
        tag: None,
        status: Status::Ok,
        text: if delta { DELTA } else { DUMP }.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip() {
        let position = Position {
            epoch: 0x5f3a_0000_0000_00ff,
            seq: 1042,
        };
        assert_eq!(position.to_string(), "5f3a0000000000ff-1042");
        assert_eq!(Position::parse(b"5f3a0000000000ff-1042"), Some(position));
        let Response::Status { text, .. } = position.line() else {
            panic!()
        };
        assert_eq!(Position::from_line(&text), Some(position));
        for bad in [
            &b""[..],
            b"-1",
            b"5f3a-1",
            b"5f3a0000000000ff-",
            b"zz3a0000000000ff-1",
            b"5f3a0000000000ff-x",
        ] {
            assert_eq!(Position::parse(bad), None, "{bad:?}");
        }
    }
}
