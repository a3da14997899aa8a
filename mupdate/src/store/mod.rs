//! The master's durable store: snapshots of the table and a write-ahead log of later changes.
//!
//! A data directory holds `snapshot-<seq>.rkyv` files (a table [`Base`] as archived, including
//! every change up to `seq`) and `wal-<seq>.log` segments (changes from `seq` on, see [`wal`]).
//! [`Store::open`] recovers the table: the newest snapshot that validates, then every segment's
//! records after it, a torn tail of the last segment cut off. Writes go through
//! [`Store::append`], one group commit at a time. From time to time the master writes a new
//! snapshot ([`write_snapshot`], on any thread) and then [`Store::rotate`]s to a new segment; the
//! two newest snapshots and the segments they need are kept, older files removed. A snapshot
//! file ([`write_base`]) is the archive and a CRC32 trailer, checked when it is read.

pub mod wal;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rkyv::util::AlignedVec;

use crate::table::{Base, BaseError, MailboxTable};
use wal::{Segment, WalError};

/// How many snapshots are kept (the newest, and one to fall back on if it is damaged).
const SNAPSHOTS_KEPT: usize = 2;

/// Why the store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A log segment is damaged.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// A torn record in a segment that is not the last: the log has a hole.
    #[error("{path} ends in a torn record but later segments exist: the log has a hole")]
    Hole {
        /// The segment.
        path: PathBuf,
    },
    /// No snapshot could be read and the log does not start at the beginning.
    #[error("no readable snapshot, and the oldest log segment starts at change {first}")]
    NoSnapshot {
        /// The first change the oldest segment holds.
        first: u64,
    },
    /// A snapshot could not be built.
    #[error(transparent)]
    Base(#[from] BaseError),
}

/// What recovery found, for the start-up log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The store's epoch: drawn at random when the directory was first used, so that followers
    /// can tell this store's history from any other's (see `crate::resume`).
    pub epoch: u64,
    /// The sequence number of the snapshot used (0: none).
    pub snapshot_seq: u64,
    /// Snapshots that were skipped because they did not validate.
    pub damaged_snapshots: Vec<PathBuf>,
    /// Changes replayed from the log.
    pub replayed: usize,
    /// Bytes of torn tail cut from the last segment.
    pub torn_bytes: u64,
}

/// The open store: the current log segment and the directory.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    segment: Segment,
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir` and recovers the table it holds.
    pub fn open(dir: &Path) -> Result<(Store, MailboxTable, Recovery), StoreError> {
        fs::create_dir_all(dir).map_err(io_error("creating", dir))?;
        let files = Files::list(dir)?;
        let mut recovery = Recovery {
            epoch: read_or_create_epoch(dir)?,
            snapshot_seq: 0,
            damaged_snapshots: Vec::new(),
            replayed: 0,
            torn_bytes: 0,
        };
        let mut table = MailboxTable::default();
        for &seq in files.snapshots.iter().rev() {
            let path = snapshot_path(dir, seq);
            match read_snapshot(&path) {
                Ok(base) => {
                    recovery.snapshot_seq = base.seq();
                    table = MailboxTable::new(Arc::new(base));
                    break;
                }
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "skipping a damaged snapshot");
                    recovery.damaged_snapshots.push(path);
                }
            }
        }
        if let Some(&first) = files.segments.first()
            && first > table.seq() + 1
        {
            return Err(StoreError::NoSnapshot { first });
        }
        let mut last = None;
        for (i, &first) in files.segments.iter().enumerate() {
            let path = segment_path(dir, first);
            let replay = wal::read_segment(&path)?;
            let is_last = i + 1 == files.segments.len();
            if replay.torn > 0 && !is_last {
                return Err(StoreError::Hole { path });
            }
            for (seq, change) in replay.records {
                if seq > table.seq() {
                    table.apply(seq, change);
                    recovery.replayed += 1;
                }
            }
            recovery.torn_bytes = replay.torn;
            if is_last {
                last = Some((path, replay.valid_len));
            }
        }
        let (path, valid_len) = last.unwrap_or_else(|| (segment_path(dir, table.seq() + 1), 0));
        let segment = Segment::open(&path, valid_len).map_err(io_error("opening", &path))?;
        sync_dir(dir)?;
        Ok((
            Store {
                dir: dir.to_path_buf(),
                segment,
            },
            table,
            recovery,
        ))
    }

    /// Writes a batch of records encoded by [`wal::encode`] and syncs it: on `Ok`, the changes
    /// survive a crash. Meant to run off the event loop (it blocks on the disk).
    pub fn append(&mut self, batch: &[u8]) -> io::Result<()> {
        self.segment.append(batch)
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes in the current segment: the master snapshots and rotates when this grows large.
    pub fn segment_len(&self) -> u64 {
        self.segment.len()
    }

    /// Starts a new segment for changes from `next_seq` on, once a snapshot holding every
    /// change before it is on disk, and removes the files no longer needed.
    pub fn rotate(&mut self, next_seq: u64) -> Result<(), StoreError> {
        let path = segment_path(&self.dir, next_seq);
        if path == self.segment.path() {
            return Ok(());
        }
        self.segment = Segment::open(&path, 0).map_err(io_error("creating", &path))?;
        sync_dir(&self.dir)?;
        self.prune()
    }

    /// Removes snapshots beyond the newest two, and the segments that only hold changes the
    /// oldest kept snapshot already includes.
    fn prune(&self) -> Result<(), StoreError> {
        let files = Files::list(&self.dir)?;
        let Some(keep_from) = files
            .snapshots
            .iter()
            .rev()
            .nth(SNAPSHOTS_KEPT - 1)
            .copied()
        else {
            return Ok(());
        };
        for &seq in files.snapshots.iter().filter(|&&s| s < keep_from) {
            remove(&snapshot_path(&self.dir, seq))?;
        }
        // A segment is needed if a later segment does not start at or before keep_from + 1.
        for pair in files.segments.windows(2) {
            if pair[1] <= keep_from + 1 {
                remove(&segment_path(&self.dir, pair[0]))?;
            }
        }
        sync_dir(&self.dir)
    }
}

/// The epoch in `dir/epoch` (16 hex digits), written durably with a new random one if missing
/// or unreadable.
fn read_or_create_epoch(dir: &Path) -> Result<u64, StoreError> {
    let path = dir.join("epoch");
    if let Ok(text) = fs::read_to_string(&path)
        && let Ok(epoch) = u64::from_str_radix(text.trim(), 16)
    {
        return Ok(epoch);
    }
    let epoch = rand::random::<u64>();
    write_atomically(&path, format!("{epoch:016x}\n").as_bytes())?;
    Ok(epoch)
}

fn remove(path: &Path) -> Result<(), StoreError> {
    fs::remove_file(path).map_err(io_error("removing", path))
}

/// Writes `base` as a snapshot file in `dir` (see [`write_base`]).
pub fn write_snapshot(dir: &Path, base: &Base) -> Result<PathBuf, StoreError> {
    let path = snapshot_path(dir, base.seq());
    write_base(&path, base)?;
    Ok(path)
}

/// Replaces the file at `path` with `bytes` so that a crash leaves the old content or the new,
/// never a mix: a temporary file, synced, renamed into place, the directory synced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let temporary = path.with_extension("tmp");
    {
        let mut file = File::create(&temporary).map_err(io_error("creating", &temporary))?;
        io::Write::write_all(&mut file, bytes).map_err(io_error("writing", &temporary))?;
        file.sync_all().map_err(io_error("syncing", &temporary))?;
    }
    fs::rename(&temporary, path).map_err(io_error("renaming", &temporary))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Reads a snapshot file (see [`read_base`]).
pub fn read_snapshot(path: &Path) -> Result<Base, StoreError> {
    read_base(path)
}

/// What ends a base file: a magic word and the CRC32 of the archive before it.
const TRAILER_MAGIC: &[u8; 4] = b"CVB1";
const TRAILER: usize = 8;

/// Writes a table base to a file, atomically (see [`write_atomically`]): the archive, then a
/// trailer holding the archive's CRC32, so that damage on disk is found when it is read.
pub fn write_base(path: &Path, base: &Base) -> Result<(), StoreError> {
    let archive = base.as_bytes();
    let mut trailer = [0u8; TRAILER];
    trailer[..4].copy_from_slice(TRAILER_MAGIC);
    trailer[4..].copy_from_slice(&crc32fast::hash(archive).to_le_bytes());
    write_atomically(path, &[archive, &trailer].concat())
}

/// Reads a base file written by [`write_base`]: the CRC32 must match (damage on disk) and rkyv
/// must validate the archive (its structure); then the archive is used in place. The records
/// are not walked one by one ([`Base::verify`] does that, for tests and tools): every read of
/// them is bounds-checked, and the checksum already vouches for the bytes our builder wrote.
pub fn read_base(path: &Path) -> Result<Base, StoreError> {
    let mut file = File::open(path).map_err(io_error("opening", path))?;
    let len = file.metadata().map_err(io_error("reading", path))?.len();
    let mut bytes = AlignedVec::<16>::with_capacity(len as usize);
    bytes
        .extend_from_reader(&mut file)
        .map_err(io_error("reading", path))?;
    let damaged =
        |what: &str| StoreError::Base(BaseError::Invalid(format!("{}: {what}", path.display())));
    let Some(archive_len) = bytes.len().checked_sub(TRAILER) else {
        return Err(damaged("shorter than its trailer"));
    };
    let trailer = &bytes[archive_len..];
    if &trailer[..4] != TRAILER_MAGIC {
        return Err(damaged("no trailer (not a corvid table file)"));
    }
    let crc = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if crc32fast::hash(&bytes[..archive_len]) != crc {
        return Err(damaged("checksum mismatch"));
    }
    bytes.resize(archive_len, 0);
    Ok(Base::from_archive(bytes)?)
}

/// Syncs a directory, so that the files created, renamed or removed in it stay so after a crash.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("syncing", dir))
}

fn snapshot_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("snapshot-{seq:020}.rkyv"))
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("wal-{first:020}.log"))
}

/// The snapshot and segment numbers found in a directory, ascending.
struct Files {
    snapshots: Vec<u64>,
    segments: Vec<u64>,
}

impl Files {
    fn list(dir: &Path) -> Result<Files, StoreError> {
        let mut files = Files {
            snapshots: Vec::new(),
            segments: Vec::new(),
        };
        for entry in fs::read_dir(dir).map_err(io_error("listing", dir))? {
            let entry = entry.map_err(io_error("listing", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let number = |prefix: &str, suffix: &str| {
                name.strip_prefix(prefix)?
                    .strip_suffix(suffix)?
                    .parse::<u64>()
                    .ok()
            };
            if let Some(seq) = number("snapshot-", ".rkyv") {
                files.snapshots.push(seq);
            } else if let Some(first) = number("wal-", ".log") {
                files.segments.push(first);
            }
        }
        files.snapshots.sort_unstable();
        files.segments.sort_unstable();
        Ok(files)
    }
}

#[cfg(test)]
mod tests;
