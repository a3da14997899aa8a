//! The reference backend's configuration file (TOML), as `corvid backend --config FILE` reads
//! it.
//!
//! Every key is optional here; what a backend cannot run without (its data directory and
//! server name) may come from the command line instead, whose flags are applied over the file.
//! Unknown keys are refused, so a misspelt key is an error rather than a silent default. A
//! reference with every key is in docs/configuration.md.
//!
//! ```toml
//! listen = "127.0.0.1:2143"
//! listen_unix = "/run/corvid/backend.sock"  # for a proxy on this host (unified topology)
//! data_dir = "/var/lib/corvid/backend"
//! server = "be1"
//! partition = "default"
//! password_file = "/etc/corvid/passwords"
//! proxy_users = ["proxy"]
//! admins = ["admin"]
//! max_message = 67108864
//! idle_timeout_secs = 1800
//!
//! [mupdate]
//! master = "mupdate.example.net:3905"
//! user = "be1"
//! password = "..."
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use corvid_mupdate::config_file::{self, FileError, MupdateSection};
use serde::Deserialize;

/// The file's content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where clients connect over TCP.
    pub listen: Option<SocketAddr>,
    /// The Unix socket a proxy on the same host connects to.
    pub listen_unix: Option<PathBuf>,
    /// The store's directory.
    pub data_dir: Option<PathBuf>,
    /// This backend's server name, as the master's locations carry it (`be1`).
    pub server: Option<String>,
    /// The partition its locations carry (`server!partition`).
    pub partition: Option<String>,
    /// `user:$argon2id$...` lines: who may log in.
    pub password_file: Option<PathBuf>,
    /// Users who may log in on behalf of another (the proxy's identity).
    #[serde(default)]
    pub proxy_users: Vec<String>,
    /// Users with the administrator's rights on every mailbox.
    #[serde(default)]
    pub admins: Vec<String>,
    /// The largest message APPEND accepts, in octets.
    pub max_message: Option<u64>,
    /// Seconds of client silence after which a session is logged out (at least 1800).
    pub idle_timeout_secs: Option<u64>,
    /// The MUPDATE master; without it the backend runs standalone.
    pub mupdate: Option<MupdateSection>,
}

impl ConfigFile {
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<ConfigFile, FileError> {
        config_file::load(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_and_unknown_keys_are_refused() {
        let example: String = include_str!("config.rs")
            .lines()
            .skip_while(|line| !line.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|line| !line.starts_with("//! ```"))
            .map(|line| format!("{}\n", line.trim_start_matches("//!").trim_start()))
            .collect();
        let file: ConfigFile = toml::from_str(&example).unwrap();
        assert_eq!(file.server.as_deref(), Some("be1"));
        assert_eq!(
            file.listen_unix.as_deref(),
            Some(Path::new("/run/corvid/backend.sock"))
        );
        assert_eq!(file.proxy_users, ["proxy"]);
        assert_eq!(file.max_message, Some(64 << 20));
        assert_eq!(file.mupdate.unwrap().master, "mupdate.example.net:3905");
        let error = toml::from_str::<ConfigFile>("server = \"be1\"\nservre = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("servre"), "{error}");
    }
}
