//! One record log of the store (the catalogue, or a mailbox): a file of framed, checksummed
//! records, replayed at open and appended to by every change.
//!
//! The framing, the replay and the appends are the MUPDATE master's write-ahead log's
//! (`corvid_mupdate::store::wal`): `length | crc32 | payload` per record, a torn tail cut off at
//! open. A log is compacted by replacing it whole with the records of its live state
//! ([`Log::compact_if_larger`]).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use corvid_mupdate::store::{self as wal_store, wal};

use super::{MAX_MESSAGE, StoreError};

/// The most bytes a log writes in one batch before syncing it: a copy larger than this is
/// written in several synced batches.
pub(super) const MAX_BATCH: usize = 64 << 20;

/// The longest tail a crash can leave unsynced: one batch, plus the record that made it
/// overflow ([`MAX_BATCH`]), with room for its metadata. A bad record further from the end of
/// the file than this is damage, not a crash.
const MAX_TAIL: usize = MAX_BATCH + MAX_MESSAGE + (1 << 20);

/// An open record log.
#[derive(Debug)]
pub(super) struct Log {
    path: PathBuf,
    segment: wal::Segment,
    /// The length at open, or when it was last compacted or weighed ([`Log::due_for_weighing`]).
    weighed_at: u64,
}

/// How sure a write must be before it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// Written and synced: it survives a crash.
    Synced,
    /// Written, in order after the writes before it; synced by the next synced write.
    Written,
}

impl Log {
    /// Opens an existing log, decoding its intact records with `decode`; a torn tail is cut off.
    pub(super) fn open<T>(
        path: &Path,
        decode: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<(Log, Vec<T>), StoreError> {
        let replay = wal::read_records(path, MAX_TAIL, decode).map_err(|error| match error {
            wal::WalError::Io { path, source } => StoreError::Io { path, source },
            wal::WalError::Damaged {
                path,
                offset,
                after,
            } => StoreError::Damaged {
                path,
                reason: format!("a bad record at byte {offset}, {after} bytes before the end"),
            },
        })?;
        if replay.torn > 0 {
            tracing::warn!(path = %path.display(), bytes = replay.torn, "cut a torn tail");
        }
        let segment = wal::Segment::open(path, replay.valid_len).map_err(io_error(path))?;
        let log = Log {
            path: path.to_path_buf(),
            weighed_at: segment.len(),
            segment,
        };
        Ok((log, replay.records))
    }

    /// Creates an empty log (replacing any file at `path`), durably: the file and its
    /// directory are synced.
    pub(super) fn create(path: &Path) -> Result<Log, StoreError> {
        File::create(path)
            .and_then(|file| file.sync_all())
            .map_err(io_error(path))?;
        let segment = wal::Segment::open(path, 0).map_err(io_error(path))?;
        let log = Log {
            path: path.to_path_buf(),
            segment,
            weighed_at: 0,
        };
        sync_dir(log.dir())?;
        Ok(log)
    }

    /// Writes a batch of records (made with `wal::push_record`). On error nothing of it stays.
    pub(super) fn write(&mut self, batch: &[u8], durability: Durability) -> Result<(), StoreError> {
        match durability {
            Durability::Synced => self.segment.append(batch),
            Durability::Written => self.segment.write(batch),
        }
        .map_err(io_error(&self.path))
    }

    /// Whether the log may have grown much larger than its live state: it has doubled since it
    /// was last compacted or weighed. Weighing only at doublings keeps its cost constant per
    /// byte written.
    pub(super) fn due_for_weighing(&self) -> bool {
        self.segment.len() > 2 * self.weighed_at + (1 << 20)
    }

    /// Weighs the log against `live`, an estimate of the bytes of its live state, and if it is
    /// more than twice that, replaces it with `snapshot()`, the records of that state: written
    /// to a temporary file, synced, opened, then renamed into place. Until the rename the old
    /// log stays in use; after it, both files hold the same state, so a crash before the
    /// directory is synced leaves either.
    pub(super) fn compact_if_larger(
        &mut self,
        live: u64,
        snapshot: impl FnOnce() -> Vec<u8>,
    ) -> Result<(), StoreError> {
        if self.segment.len() > 2 * live {
            let snapshot = snapshot();
            let temporary = self.path.with_extension("tmp");
            File::create(&temporary)
                .and_then(|mut file| {
                    file.write_all(&snapshot)?;
                    file.sync_all()
                })
                .map_err(io_error(&temporary))?;
            let segment = wal::Segment::open(&temporary, snapshot.len() as u64)
                .map_err(io_error(&temporary))?;
            fs::rename(&temporary, &self.path).map_err(io_error(&self.path))?;
            self.segment = segment;
            sync_dir(self.dir())?;
        }
        self.weighed_at = self.segment.len();
        Ok(())
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// Syncs a directory (see `corvid_mupdate::store::sync_dir`).
pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    wal_store::sync_dir(dir).map_err(mupdate_error(dir))
}

/// Maps an I/O error at `path` to a [`StoreError`].
pub(super) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Maps an error of the master's store helpers (only ever I/O) to a [`StoreError`].
fn mupdate_error(path: &Path) -> impl FnOnce(wal_store::StoreError) -> StoreError + '_ {
    move |error| match error {
        wal_store::StoreError::Io { path, source, .. } => StoreError::Io { path, source },
        other => StoreError::Io {
            path: PathBuf::from(path),
            source: std::io::Error::other(other.to_string()),
        },
    }
}
