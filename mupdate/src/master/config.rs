//! The master's configuration file (TOML), as `corvid mupdate --config FILE` reads it.
//!
//! Every key is optional except what a master cannot run without (a data directory, a user);
//! unknown keys are refused, so a misspelt key is an error rather than a silent default. The
//! command line's quick-start flags are applied over the file. A reference with every key is in
//! docs/configuration.md.
//!
//! ```toml
//! listen = "0.0.0.0:3905"
//! data_dir = "/var/lib/corvid/mupdate"
//! host = "mupdate.example.net"
//!
//! [tls]
//! cert = "/etc/corvid/mupdate.crt"
//! key = "/etc/corvid/mupdate.key"
//!
//! [[user]]
//! name = "admin"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."
//! role = "admin"
//!
//! [[user]]
//! name = "be1"
//! password_hash = "$argon2id$..."
//! role = "backend"
//! server = "be1"
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::auth::{Role, UserError, Users};
use crate::config_file::FileError;

/// The file's content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// The data directory (snapshots and write-ahead log).
    pub data_dir: Option<PathBuf>,
    /// Host name in the banner.
    pub host: Option<String>,
    /// Connections beyond this are refused with `* BYE "Server Unable"`.
    pub max_connections: Option<usize>,
    /// Seconds of silence after which a connection is closed.
    pub idle_timeout_secs: Option<u64>,
    /// A log segment this large (MiB) triggers a snapshot.
    pub snapshot_after_mib: Option<u64>,
    /// Changes kept in memory for followers that reconnect (XRESUME) or lag.
    pub changes_kept: Option<usize>,
    /// Certificate and key for STARTTLS.
    pub tls: Option<TlsFiles>,
    /// Who may log in.
    #[serde(default, rename = "user")]
    pub users: Vec<UserEntry>,
}

/// PEM files for STARTTLS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// One `[[user]]` table.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// The login name.
    pub name: String,
    /// An argon2 hash in PHC form (`corvid hash-password` prints one).
    pub password_hash: Option<String>,
    /// A password in clear (tests and quick runs only).
    pub password: Option<String>,
    /// `admin`, `backend` or `frontend`.
    pub role: RoleName,
    /// For a backend: the server name its entries carry (`be1` in `be1!default`).
    pub server: Option<String>,
}

impl std::fmt::Debug for UserEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// A role's name in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// Everything.
    Admin,
    /// Writes of its own server's entries.
    Backend,
    /// Reads only.
    Frontend,
}

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// It could not be read or parsed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A user is defined wrongly.
    #[error("user {name:?}: {problem}")]
    User {
        /// The user.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

impl ConfigFile {
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        Ok(crate::config_file::load(path)?)
    }

    /// Adds the file's users to `users`.
    pub fn add_users(&self, users: &mut Users) -> Result<(), ConfigError> {
        for entry in &self.users {
            let problem = |problem: &str| ConfigError::User {
                name: entry.name.clone(),
                problem: problem.to_string(),
            };
            let role = match (entry.role, &entry.server) {
                (RoleName::Backend, Some(server)) if !server.is_empty() => Role::Backend {
                    server: server.as_bytes().into(),
                },
                (RoleName::Backend, _) => return Err(problem("a backend needs `server`")),
                (_, Some(_)) => return Err(problem("only a backend has a `server`")),
                (RoleName::Admin, None) => Role::Admin,
                (RoleName::Frontend, None) => Role::Frontend,
            };
            let added = match (&entry.password_hash, &entry.password) {
                (Some(hash), None) => users.add_hashed(&entry.name, hash, role),
                (None, Some(password)) => users.add_clear(&entry.name, password, role),
                _ => {
                    return Err(problem(
                        "give exactly one of `password_hash` and `password`",
                    ));
                }
            };
            added.map_err(|error: UserError| problem(&error.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn a_whole_file() {
        let hash = super::super::auth::hash_password("pw").unwrap();
        let config = parse(&format!(
            r#"
            listen = "127.0.0.1:3905"
            data_dir = "/var/lib/corvid/mupdate"
            host = "m.example"
            max_connections = 100
            idle_timeout_secs = 900
            snapshot_after_mib = 8
            changes_kept = 1000
            [tls]
            cert = "c.pem"
            key = "k.pem"
            [[user]]
            name = "admin"
            password_hash = "{hash}"
            role = "admin"
            [[user]]
            name = "be1"
            password = "x"
            role = "backend"
            server = "be1"
            [[user]]
            name = "fe"
            password = "y"
            role = "frontend"
            "#
        ))
        .unwrap();
        assert_eq!(config.host.as_deref(), Some("m.example"));
        assert_eq!(config.tls.as_ref().unwrap().key, PathBuf::from("k.pem"));
        let mut users = Users::new();
        config.add_users(&mut users).unwrap();
        assert_eq!(users.len(), 3);
    }

    #[test]
    fn mistakes_are_refused_clearly() {
        let error = parse("listen = \"127.0.0.1:3905\"\nlisten_port = 1\n").unwrap_err();
        assert!(error.to_string().contains("listen_port"), "{error}");
        assert!(parse("listen = \"nowhere\"").is_err());
        for (user, expected) in [
            (
                "name = \"b\"\npassword = \"x\"\nrole = \"backend\"",
                "a backend needs `server`",
            ),
            (
                "name = \"a\"\npassword = \"x\"\nrole = \"admin\"\nserver = \"s\"",
                "only a backend",
            ),
            ("name = \"a\"\nrole = \"admin\"", "exactly one of"),
            (
                "name = \"a\"\npassword_hash = \"nope\"\nrole = \"admin\"",
                "argon2",
            ),
        ] {
            let config = parse(&format!("[[user]]\n{user}\n")).unwrap();
            let error = config.add_users(&mut Users::new()).unwrap_err();
            assert!(error.to_string().contains(expected), "{error}");
        }
        assert!(parse("[[user]]\nname = \"a\"\npassword = \"x\"\nrole = \"root\"\n").is_err());
    }
}
