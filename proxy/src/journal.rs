//! The journals of RENAMEs across backends on disk: the driver's side of
//! [`Action::Journal`](crate::session::Action::Journal), one small file per move in
//! `<data_dir>/renames/`, written durably.
//!
//! The session decides what a journal says and when it is read, written or removed
//! (`session/relocate.rs`); this module only moves its bytes. A write goes to a temporary
//! file that is fsynced, renamed over the journal, and the directory fsynced, so a journal
//! read after a crash is the old one or the new one, whole.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::session::JournalOp;

/// Why a journal operation failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The proxy runs without a data directory: it keeps no journal.
    #[error("the proxy has no data_dir")]
    NoDataDir,
    /// A key that is not a plain file name (the session makes only hex digits and dots).
    #[error("invalid journal key {0:?}")]
    InvalidKey(String),
    /// The file system said no.
    #[error("journal file: {0}")]
    Io(#[from] io::Error),
}

/// Carries out `op` on the journals under `data_dir`: a read's contents (`None`: no such
/// journal), nothing for a write or a removal.
pub fn carry_out(data_dir: Option<&Path>, op: &JournalOp) -> Result<Option<Vec<u8>>, JournalError> {
    let dir = data_dir.ok_or(JournalError::NoDataDir)?.join("renames");
    match op {
        JournalOp::Read(key) => match fs::read(path(&dir, key)?) {
            Ok(contents) => Ok(Some(contents)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        },
        JournalOp::Write { key, contents } => {
            fs::create_dir_all(&dir)?;
            let path = path(&dir, key)?;
            let temporary = dir.join(format!("{key}.tmp"));
            let mut file = fs::File::create(&temporary)?;
            file.write_all(contents)?;
            file.sync_all()?;
            fs::rename(&temporary, &path)?;
            fs::File::open(&dir)?.sync_all()?;
            Ok(None)
        }
        JournalOp::Remove(key) => match fs::remove_file(path(&dir, key)?) {
            Ok(()) => Ok(None),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        },
    }
}

/// The file of journal `key` in `dir`.
fn path(dir: &Path, key: &str) -> Result<PathBuf, JournalError> {
    let plain = !key.is_empty()
        && !key.starts_with('.')
        && key.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.');
    if !plain {
        return Err(JournalError::InvalidKey(key.to_string()));
    }
    Ok(dir.join(key))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_journal_is_written_read_back_and_removed() {
        let dir = std::env::temp_dir().join(format!("corvid-journal-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let read = JournalOp::Read("61.7".into());
        assert_eq!(carry_out(Some(&dir), &read).unwrap(), None);
        let write = JournalOp::Write {
            key: "61.7".into(),
            contents: b"journal".to_vec(),
        };
        carry_out(Some(&dir), &write).unwrap();
        assert_eq!(
            carry_out(Some(&dir), &read).unwrap().as_deref(),
            Some(&b"journal"[..])
        );
        carry_out(Some(&dir), &JournalOp::Remove("61.7".into())).unwrap();
        assert_eq!(carry_out(Some(&dir), &read).unwrap(), None);
        assert!(matches!(
            carry_out(None, &read),
            Err(JournalError::NoDataDir)
        ));
        assert!(matches!(
            carry_out(Some(&dir), &JournalOp::Read("../x".into())),
            Err(JournalError::InvalidKey(_))
        ));
        let _ = fs::remove_dir_all(&dir);
    }
}
