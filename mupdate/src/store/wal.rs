//! The write-ahead log: every change the master accepts, framed and checksummed, appended to a
//! segment file and synced before the change is acknowledged.
//!
//! A record is `length (u32 LE) | crc32 of the payload (u32 LE) | payload`, the payload being
//! `seq (u64) | op (u8: 0 active, 1 reserved, 2 delete) | name, location, ACL lengths (u32 each)
//! | name | location | ACL`. Many records are written with one `write` and one `fdatasync`
//! ([`Segment::append`]): that is the group commit. At start, [`read_segment`] replays a segment
//! and tells apart a torn tail (the last batch, cut short by a crash: dropped, since it was never
//! acknowledged) from damage earlier in the file (refused: someone must look).
//!
//! The framing, the replay ([`read_records`]) and the [`Segment`] know nothing of the payload:
//! the reference backend's mail store keeps its own record logs with them.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::table::{Change, State};

/// Bytes before a record's payload.
const FRAME_HEADER: usize = 8;
/// Bytes of a payload before its name.
const PAYLOAD_HEADER: usize = 8 + 1 + 12;

/// The most bytes one group commit writes; a bad record closer than this to the end of a
/// segment is a torn tail, one further from the end is damage.
pub const MAX_BATCH: usize = 4 << 20;

/// Appends one change, numbered `seq`, to a batch being prepared for [`Segment::append`].
pub fn encode(seq: u64, change: &Change, out: &mut Vec<u8>) {
    let (op, name, location, acl): (u8, &[u8], &[u8], &[u8]) = match change {
        Change::Upsert {
            name,
            location,
            acl,
            state,
        } => (
            match state {
                State::Active => 0,
                State::Reserved => 1,
            },
            name,
            location,
            acl,
        ),
        Change::Delete { name } => (2, name, b"", b""),
    };
    push_record(out, |out| {
        out.extend_from_slice(&seq.to_le_bytes());
        out.push(op);
        for field in [name, location, acl] {
            out.extend_from_slice(&(field.len() as u32).to_le_bytes());
        }
        for field in [name, location, acl] {
            out.extend_from_slice(field);
        }
    });
}

/// Appends one framed record to `out`: its header (length and CRC32), then the payload that
/// `payload` writes (under 4 GiB). The framing of every record log, this one's and others'.
pub fn push_record(out: &mut Vec<u8>, payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_HEADER]);
    payload(out);
    let payload = &out[start + FRAME_HEADER..];
    let length = (payload.len() as u32).to_le_bytes();
    let crc = crc32fast::hash(payload).to_le_bytes();
    out[start..start + 4].copy_from_slice(&length);
    out[start + 4..start + 8].copy_from_slice(&crc);
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize)
}

/// The payload of the framed record at the front of `bytes`, and the bytes the record took;
/// `None` when the bytes are not a whole record whose CRC matches.
fn unframe(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let length = u32_at(bytes, 0)?;
    let crc = u32_at(bytes, 4)? as u32;
    let used = FRAME_HEADER.checked_add(length)?;
    let payload = bytes.get(FRAME_HEADER..used)?;
    (crc32fast::hash(payload) == crc).then_some((payload, used))
}

/// Decodes the payload of one of this log's records: the change and its number.
fn decode_change(payload: &[u8]) -> Option<(u64, Change)> {
    if payload.len() < PAYLOAD_HEADER {
        return None;
    }
    let seq = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let op = *payload.get(8)?;
    let (name_len, location_len, acl_len) = (
        u32_at(payload, 9)?,
        u32_at(payload, 13)?,
        u32_at(payload, 17)?,
    );
    let body = payload.get(PAYLOAD_HEADER..)?;
    if body.len() != name_len + location_len + acl_len {
        return None;
    }
    let (name, rest) = body.split_at(name_len);
    let (location, acl) = rest.split_at(location_len);
    let change = match op {
        0 | 1 => Change::Upsert {
            name: name.into(),
            location: location.into(),
            acl: acl.into(),
            state: if op == 0 {
                State::Active
            } else {
                State::Reserved
            },
        },
        2 => Change::Delete { name: name.into() },
        _ => return None,
    };
    Some((seq, change))
}

/// What reading a segment found.
#[derive(Debug)]
pub struct Replay<T = (u64, Change)> {
    /// The intact records, decoded, in file order.
    pub records: Vec<T>,
    /// Bytes of intact records (where the next append goes).
    pub valid_len: u64,
    /// Bytes after them that were a torn tail.
    pub torn: u64,
}

/// Why a segment could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// Reading the file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The segment.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A record is damaged before the segment's last batch: not a crash's torn tail.
    #[error("{path} is damaged at byte {offset} ({after} bytes follow): refusing to guess")]
    Damaged {
        /// The segment.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
        /// How many bytes follow it.
        after: u64,
    },
}

/// Reads every intact record of a segment.
pub fn read_segment(path: &Path) -> Result<Replay, WalError> {
    read_records(path, MAX_BATCH, decode_change)
}

/// Reads every intact record of a file of framed records ([`push_record`]), decoding each
/// payload with `decode`. The first record that is cut short, fails its CRC or does not decode
/// ends the intact part: what follows is a torn tail if it is at most `max_tail` bytes (the
/// most a crash can leave unsynced: the writer's largest batch), and damage otherwise.
pub fn read_records<T>(
    path: &Path,
    max_tail: usize,
    mut decode: impl FnMut(&[u8]) -> Option<T>,
) -> Result<Replay<T>, WalError> {
    let io_error = |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .map_err(io_error)?;
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = bytes.get(at..).unwrap_or_default();
        match unframe(rest).and_then(|(payload, used)| Some((decode(payload)?, used))) {
            Some((record, used)) => {
                records.push(record);
                at += used;
            }
            None => {
                let after = rest.len() as u64;
                if rest.len() > max_tail {
                    return Err(WalError::Damaged {
                        path: path.to_path_buf(),
                        offset: at as u64,
                        after,
                    });
                }
                return Ok(Replay {
                    records,
                    valid_len: at as u64,
                    torn: after,
                });
            }
        }
    }
    Ok(Replay {
        records,
        valid_len: at as u64,
        torn: 0,
    })
}

/// An open segment, appended to by group commits.
#[derive(Debug)]
pub struct Segment {
    file: File,
    path: PathBuf,
    len: u64,
}

impl Segment {
    /// Opens (or creates) a segment for appending at `valid_len`, cutting off anything after
    /// it (a torn tail found by [`read_segment`]).
    pub fn open(path: &Path, valid_len: u64) -> io::Result<Segment> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        if file.metadata()?.len() != valid_len {
            file.set_len(valid_len)?;
            file.sync_all()?;
        }
        let mut segment = Segment {
            file,
            path: path.to_path_buf(),
            len: valid_len,
        };
        segment.seek_end()?;
        Ok(segment)
    }

    fn seek_end(&mut self) -> io::Result<()> {
        use std::io::Seek;
        self.file.seek(io::SeekFrom::Start(self.len)).map(drop)
    }

    /// Writes a batch of encoded records and syncs it to disk: when this returns `Ok`, every
    /// change in the batch survives a crash. On error the segment is cut back to where it was,
    /// so a later batch does not follow a half-written one.
    pub fn append(&mut self, batch: &[u8]) -> io::Result<()> {
        self.write_batch(batch, true)
    }

    /// Writes a batch like [`Segment::append`] without syncing it: it reaches the disk after
    /// the batches before it, and is made durable by the next `append` at the latest (a crash
    /// before that may lose it, as a torn tail).
    pub fn write(&mut self, batch: &[u8]) -> io::Result<()> {
        self.write_batch(batch, false)
    }

    fn write_batch(&mut self, batch: &[u8], sync: bool) -> io::Result<()> {
        let result = self
            .file
            .write_all(batch)
            .and_then(|()| if sync { self.file.sync_data() } else { Ok(()) });
        match result {
            Ok(()) => {
                self.len += batch.len() as u64;
                Ok(())
            }
            Err(error) => {
                let _ = self.file.set_len(self.len);
                let _ = self.seek_end();
                Err(error)
            }
        }
    }

    /// The segment's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written to it.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Option<(u64, Change, usize)> {
        let (payload, used) = unframe(bytes)?;
        let (seq, change) = decode_change(payload)?;
        Some((seq, change, used))
    }

    fn upsert(name: &str) -> Change {
        Change::Upsert {
            name: name.as_bytes().into(),
            location: b"be1!default".as_slice().into(),
            acl: b"alice\tlrs\t".as_slice().into(),
            state: State::Active,
        }
    }

    #[test]
    fn records_round_trip() {
        let changes = [
            upsert("user.alice"),
            Change::Delete {
                name: b"user.bob".as_slice().into(),
            },
            Change::Upsert {
                name: b"user.carol".as_slice().into(),
                location: b"be2!".as_slice().into(),
                acl: Box::default(),
                state: State::Reserved,
            },
        ];
        let mut bytes = Vec::new();
        for (seq, change) in changes.iter().enumerate() {
            encode(seq as u64 + 1, change, &mut bytes);
        }
        let mut at = 0;
        for (seq, change) in changes.iter().enumerate() {
            let (got_seq, got, used) = decode(&bytes[at..]).unwrap();
            assert_eq!((got_seq, &got), (seq as u64 + 1, change));
            at += used;
        }
        assert_eq!(at, bytes.len());
        // Every prefix short of a whole record, and every flipped byte, is refused.
        let one = &bytes[..decode(&bytes).unwrap().2];
        for cut in 0..one.len() {
            assert!(decode(&one[..cut]).is_none());
        }
        for at in 0..one.len() {
            let mut damaged = one.to_vec();
            damaged[at] ^= 0x40;
            assert!(decode(&damaged).is_none_or(|(s, c, _)| (s, c) != (1, changes[0].clone())));
        }
    }

    #[test]
    fn torn_tail_is_cut_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal");
        let mut segment = Segment::open(&path, 0).unwrap();
        let mut batch = Vec::new();
        for seq in 1..=3 {
            encode(seq, &upsert(&format!("user.u{seq}")), &mut batch);
        }
        segment.append(&batch).unwrap();
        let whole = segment.len();
        // A crash in the middle of the next batch.
        let mut next = Vec::new();
        encode(4, &upsert("user.u4"), &mut next);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(&next[..next.len() / 2])
            .unwrap();
        let replay = read_segment(&path).unwrap();
        assert_eq!(replay.records.len(), 3);
        assert_eq!(replay.valid_len, whole);
        assert_eq!(replay.torn, (next.len() / 2) as u64);
        let mut segment = Segment::open(&path, replay.valid_len).unwrap();
        segment.append(&next).unwrap();
        assert_eq!(read_segment(&path).unwrap().records.len(), 4);

        // Damage followed by more than a batch of data is not a torn tail.
        let mut big = Vec::new();
        encode(1, &upsert("user.x"), &mut big);
        big[10] ^= 1;
        big.resize(MAX_BATCH + 100, 0);
        std::fs::write(&path, &big).unwrap();
        assert!(matches!(
            read_segment(&path),
            Err(WalError::Damaged { offset: 0, .. })
        ));
    }
}
