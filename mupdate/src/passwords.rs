//! The local password file, `user:$argon2id$...` lines: how the proxy and the reference
//! backend verify an IMAP login without asking anyone else.
//!
//! Checking a hash costs tens of milliseconds by design, so a driver runs
//! [`PasswordFile::verify`] on glommio's blocking pool, never on an executor. An unknown
//! user is checked against a fixed hash all the same, so that the time taken does not tell
//! which users exist. Blank lines and lines starting with `#` are ignored; the file holds
//! hashes only (`corvid hash-password` prints one), never a password in clear.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use argon2::{Argon2, PasswordHash, PasswordVerifier};

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordFileError {
    /// It could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A line is not `user:hash` with an argon2 PHC hash, or names a user twice.
    #[error("line {line}: {problem}")]
    Line {
        /// The line number (from 1).
        line: usize,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Users and their argon2 hashes.
#[derive(Clone, Default)]
pub struct PasswordFile {
    hashes: HashMap<String, String>,
}

impl std::fmt::Debug for PasswordFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PasswordFile({} users)", self.hashes.len())
    }
}

/// Checked when the user is unknown, so that failing takes as long either way.
const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                     Hx7Y8c2m2k0mZ0b3a1b0YQ4m0u0m0w0y0b0y0m0u0m0";

impl PasswordFile {
    /// Reads a file.
    pub fn load(path: &Path) -> Result<PasswordFile, PasswordFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| PasswordFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        PasswordFile::parse(&text)
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<PasswordFile, PasswordFileError> {
        let mut hashes = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let problem = |problem| PasswordFileError::Line {
                line: index + 1,
                problem,
            };
            let (user, hash) = line
                .split_once(':')
                .filter(|(user, _)| !user.is_empty())
                .ok_or_else(|| problem("expected user:hash"))?;
            PasswordHash::new(hash).map_err(|_| problem("not an argon2 PHC hash"))?;
            if hashes.insert(user.to_string(), hash.to_string()).is_some() {
                return Err(problem("user listed twice"));
            }
        }
        Ok(PasswordFile { hashes })
    }

    /// How many users the file has.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether the file has no users.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Is `password` the user's? (Slow on purpose: call it off the cores.)
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        let (hash, known) = match self.hashes.get(user) {
            Some(hash) => (hash.as_str(), true),
            None => (DECOY, false),
        };
        let matches = PasswordHash::new(hash)
            .is_ok_and(|hash| Argon2::default().verify_password(password, &hash).is_ok());
        known && matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;

    fn hash(password: &str) -> String {
        let salt = SaltString::encode_b64(b"corvid-test-salt").unwrap();
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[test]
    fn verifies_listed_users_only() {
        let file = PasswordFile::parse(&format!(
            "# users\n\nalice:{}\nbob:{}\n",
            hash("alice-pw"),
            hash("bob-pw")
        ))
        .unwrap();
        assert_eq!(file.len(), 2);
        assert!(file.verify("alice", b"alice-pw"));
        assert!(!file.verify("alice", b"bob-pw"));
        assert!(!file.verify("carol", b"alice-pw"));
        assert!(
            PasswordHash::new(DECOY).is_ok(),
            "the decoy is a valid hash"
        );
    }

    #[test]
    fn refuses_malformed_lines() {
        for (text, line) in [
            ("alice\n", 1),
            ("# c\n:hash\n", 2),
            ("alice:clear-password\n", 1),
        ] {
            match PasswordFile::parse(text) {
                Err(PasswordFileError::Line { line: at, .. }) => assert_eq!(at, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        let twice = format!("a:{h}\na:{h}\n", h = hash("x"));
        assert!(PasswordFile::parse(&twice).is_err());
    }
}
