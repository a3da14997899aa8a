//! Reading a server's TOML configuration file: the one loader `corvid mupdate`, `corvid proxy`
//! and `corvid backend` share, and the `[mupdate]` section the proxy and the backend share.
//!
//! Each server describes its file as a `serde` type with `deny_unknown_fields`, so that a
//! misspelt key is an error naming the key and its line rather than a silent default.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Why a configuration file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// It could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// It is not valid TOML for this schema (unknown keys included).
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error, with the line.
        source: Box<toml::de::Error>,
    },
}

/// `[mupdate]`: the master a server keeps in step with, and its login there.
#[derive(Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MupdateSection {
    /// `host:port`.
    pub master: String,
    /// The login (a frontend role for a proxy, a backend role for a backend).
    pub user: String,
    /// Its password (never shown by `Debug`).
    pub password: String,
}

impl std::fmt::Debug for MupdateSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MupdateSection")
            .field("master", &self.master)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Reads and parses the file at `path`.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    toml::from_str(&text).map_err(|source| FileError::Parse {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        listen: String,
    }

    #[test]
    fn reads_a_file_and_names_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "listen = \"a\"\n").unwrap();
        assert_eq!(load::<Example>(&path).unwrap().listen, "a");
        std::fs::write(&path, "listen = \"a\"\nlisten_port = 1\n").unwrap();
        let error = load::<Example>(&path).unwrap_err();
        assert!(matches!(error, FileError::Parse { .. }), "{error}");
        assert!(error.to_string().contains("listen_port"), "{error}");
        let missing = dir.path().join("missing.toml");
        assert!(matches!(
            load::<Example>(&missing),
            Err(FileError::Read { .. })
        ));
    }
}
