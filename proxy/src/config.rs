//! The proxy's configuration file (TOML), as `corvid proxy --config FILE` reads it.
//!
//! Every key is optional except what a proxy cannot run without (the master and at least one
//! backend, given here or by flags); unknown keys are refused, so a misspelt key is an error
//! rather than a silent default. The command line's quick-start flags are applied over the
//! file. A reference with every key is in docs/configuration.md.
//!
//! ```toml
//! listen = ["0.0.0.0:143"]
//! listen_tls = ["0.0.0.0:993"]
//! admin_listen = "127.0.0.1:9143"
//! data_dir = "/var/lib/corvid/proxy"
//! admins = ["cyrus"]                # all rights in the table; may create new users
//! referrals = false                 # RFC 2193 mailbox referrals, for clients that ask
//!
//! [tls]
//! cert = "/etc/corvid/imap.crt"
//! key = "/etc/corvid/imap.key"
//!
//! [mupdate]
//! master = "mupdate.example.net:3905"
//! user = "fe1"
//! password = "..."
//!
//! [auth]
//! verify = "inbox-backend"          # or "password-file", with password_file = "..."
//!
//! [backend_login]
//! user = "proxy"                    # omit to log in with the client's own credentials
//! password = "..."
//!
//! [placement]
//! policy = "least-mailboxes"        # or "fixed", with servers = ["be1", "be2"]
//!
//! [[backend]]
//! server = "be1"
//! address = "unix:/run/corvid/backend.sock" # on this host (unified topology)
//!
//! [[backend]]
//! server = "be2"
//! address = "10.0.0.12:143"
//! registers = false                 # Dovecot: the proxy RESERVEs/ACTIVATEs its CREATEs
//! other_users_inbox_folder = true   # Dovecot: jane's INBOX is "Other Users/jane/INBOX"
//! referral_host = "be2.example.net" # where referred clients reach it
//! ```

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use corvid_mupdate::config_file::FileError;
pub use corvid_mupdate::config_file::MupdateSection;
use serde::Deserialize;

/// The file's content.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Plaintext IMAP listeners (STARTTLS offered when `[tls]` is set).
    #[serde(default)]
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS IMAP listeners.
    #[serde(default)]
    pub listen_tls: Vec<SocketAddr>,
    /// The admin endpoint (`/metrics`, `/stats`).
    pub admin_listen: Option<SocketAddr>,
    /// Executors, one per core (0: every CPU).
    pub cores: Option<usize>,
    /// Where the follower keeps its snapshot of the table.
    pub data_dir: Option<PathBuf>,
    /// Allow LOGIN and AUTHENTICATE without TLS.
    pub plaintext_auth: Option<bool>,
    /// Seconds a failed login waits before its answer.
    pub failed_login_delay_secs: Option<u64>,
    /// Offer RFC 2193 mailbox referrals (`MAILBOX-REFERRALS`, RLIST, RLSUB) to clients that
    /// ask for them (default off).
    pub referrals: Option<bool>,
    /// Seconds of client silence after which a logged-in session is logged out.
    pub idle_timeout_secs: Option<u64>,
    /// Certificate and key.
    pub tls: Option<TlsFiles>,
    /// The MUPDATE master.
    pub mupdate: Option<MupdateSection>,
    /// How clients are verified.
    pub auth: Option<AuthSection>,
    /// How the proxy logs in to backends.
    pub backend_login: Option<BackendLoginSection>,
    /// Users with the administrator's rights on every mailbox of the table.
    #[serde(default)]
    pub admins: Vec<String>,
    /// Where an administrator's new user goes.
    pub placement: Option<PlacementSection>,
    /// The backend servers.
    #[serde(default, rename = "backend")]
    pub backends: Vec<BackendEntry>,
}

/// PEM files for TLS (re-read on SIGHUP).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// `[auth]`: how a client's login is verified.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// `inbox-backend` (log in to the user's INBOX backend with the client's credentials) or
    /// `password-file` (argon2 hashes in `password_file`).
    pub verify: VerifyMode,
    /// `user:$argon2id$...` lines, for `password-file`.
    pub password_file: Option<PathBuf>,
}

/// How logins are verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyMode {
    /// By the user's INBOX backend.
    InboxBackend,
    /// By a local file of argon2 hashes.
    PasswordFile,
}

/// `[backend_login]`: the proxy's identity on the backends.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendLoginSection {
    /// The login name (Cyrus `proxyservers`, a Dovecot master user).
    pub user: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Debug for BackendLoginSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendLoginSection")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// One `[[backend]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendEntry {
    /// The server name, as the mailbox table's locations carry it (`be1` in `be1!default`).
    pub server: String,
    /// Its IMAP address: `host:port`, or `unix:/path` for a backend on this host (see
    /// [`BackendAddress`]).
    pub address: String,
    /// Whether the backend registers its own mailboxes with the master (Cyrus, corvid
    /// backend; the default). `false` (Dovecot): the proxy RESERVEs and ACTIVATEs its CREATEs.
    #[serde(default = "registers_by_default")]
    pub registers: bool,
    /// The backend names another user's INBOX `Other Users/<user>/INBOX` (Dovecot's shared
    /// namespace with `prefix = Other Users/%u/`), where the proxy says `Other Users/<user>`.
    #[serde(default)]
    pub other_users_inbox_folder: bool,
    /// Where clients reach this backend directly (`host` or `host:port`), for referrals; a
    /// backend without it is never referred to.
    pub referral_host: Option<String>,
}

impl BackendEntry {
    /// What sessions know of this backend beyond its address.
    pub fn profile(&self) -> crate::session::BackendProfile {
        crate::session::BackendProfile {
            other_users_inbox_folder: self.other_users_inbox_folder,
            referral_host: self.referral_host.clone(),
        }
    }
}

fn registers_by_default() -> bool {
    true
}

/// Where the proxy reaches a backend: over TCP, or over a Unix stream socket when the backend
/// runs on the same host (the unified topology: no TCP/IP stack, no network hop).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendAddress {
    /// `host:port`, resolved when the configuration is read.
    Tcp(SocketAddr),
    /// `unix:/path/to/socket`.
    Unix(PathBuf),
}

/// The prefix of a Unix socket's address.
const UNIX_PREFIX: &str = "unix:";

/// The longest Unix socket path the kernel takes (`sun_path` holds 108 bytes with the NUL).
const MAX_UNIX_PATH: usize = 107;

/// Why a backend's address is not one.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// `unix:` with nothing after it.
    #[error("unix: needs a socket path (unix:/run/corvid/backend.sock)")]
    EmptyUnixPath,
    /// A socket path the kernel cannot bind or connect to.
    #[error("unix socket path of {0} bytes: at most 107")]
    UnixPathTooLong(usize),
    /// A NUL byte in a socket path (Linux's abstract sockets are not supported).
    #[error("unix socket path with a NUL byte")]
    NulInUnixPath,
    /// `host:port` that does not resolve.
    #[error("{address:?}: {source} (expected HOST:PORT or unix:/PATH)")]
    Resolve {
        /// The text.
        address: String,
        /// Why.
        source: std::io::Error,
    },
    /// `host:port` that resolves to nothing.
    #[error("{0:?}: no address")]
    NoAddress(String),
}

impl BackendAddress {
    /// Reads `unix:/path`, or `host:port` and resolves it (a name is looked up now, once).
    pub fn resolve(text: &str) -> Result<BackendAddress, AddressError> {
        if let Some(path) = text.strip_prefix(UNIX_PREFIX) {
            return match path.len() {
                0 => Err(AddressError::EmptyUnixPath),
                _ if path.contains('\0') => Err(AddressError::NulInUnixPath),
                len if len > MAX_UNIX_PATH => Err(AddressError::UnixPathTooLong(len)),
                _ => Ok(BackendAddress::Unix(path.into())),
            };
        }
        let resolve = |source| AddressError::Resolve {
            address: text.into(),
            source,
        };
        text.to_socket_addrs()
            .map_err(resolve)?
            .next()
            .map(BackendAddress::Tcp)
            .ok_or_else(|| AddressError::NoAddress(text.into()))
    }
}

impl std::fmt::Display for BackendAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendAddress::Tcp(addr) => write!(f, "{addr}"),
            BackendAddress::Unix(path) => write!(f, "{UNIX_PREFIX}{}", path.display()),
        }
    }
}

/// `[placement]`: the policy that picks a new user's backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementSection {
    /// `least-mailboxes`, `most-free` or `fixed`.
    pub policy: PolicyName,
    /// The servers of `fixed`, taken in turn.
    #[serde(default)]
    pub servers: Vec<String>,
    /// How often `most-free` asks the backends their free space, in seconds (default 60).
    pub survey_interval_secs: Option<u64>,
}

/// The placement policies by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyName {
    /// The backend with the fewest mailboxes.
    LeastMailboxes,
    /// The backend that reports the most space free.
    MostFree,
    /// A list, in turn.
    Fixed,
}

impl ConfigFile {
    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<ConfigFile, FileError> {
        corvid_mupdate::config_file::load(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses_and_unknown_keys_are_refused() {
        let doc = include_str!("config.rs");
        let example: String = doc
            .lines()
            .skip_while(|line| !line.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|line| !line.starts_with("//! ```"))
            .map(|line| format!("{}\n", line.trim_start_matches("//!").trim_start()))
            .collect();
        let file: ConfigFile = toml::from_str(&example).unwrap();
        assert_eq!(file.backends.len(), 2);
        let registers: Vec<bool> = file.backends.iter().map(|b| b.registers).collect();
        assert_eq!(registers, [true, false]);
        assert_eq!(file.placement.unwrap().policy, PolicyName::LeastMailboxes);
        assert_eq!(file.admins, ["cyrus"]);
        assert_eq!(file.referrals, Some(false));
        assert!(!file.backends[0].profile().other_users_inbox_folder);
        let be2 = file.backends[1].profile();
        assert!(be2.other_users_inbox_folder);
        assert_eq!(be2.referral_host.as_deref(), Some("be2.example.net"));
        assert_eq!(file.auth.unwrap().verify, VerifyMode::InboxBackend);
        assert_eq!(file.mupdate.unwrap().master, "mupdate.example.net:3905");
        let error = toml::from_str::<ConfigFile>("listen = []\nlisten_tsl = []\n").unwrap_err();
        assert!(error.to_string().contains("listen_tsl"), "{error}");
        let be1 = BackendAddress::resolve(&file.backends[0].address).unwrap();
        assert_eq!(be1, BackendAddress::Unix("/run/corvid/backend.sock".into()));
    }

    #[test]
    fn a_backend_address_is_host_and_port_or_a_unix_socket_path() {
        let tcp = BackendAddress::resolve("127.0.0.1:2143").unwrap();
        assert_eq!(tcp, BackendAddress::Tcp(([127, 0, 0, 1], 2143).into()));
        assert_eq!(tcp.to_string(), "127.0.0.1:2143");
        let unix = BackendAddress::resolve("unix:/run/corvid/be1.sock").unwrap();
        assert_eq!(unix, BackendAddress::Unix("/run/corvid/be1.sock".into()));
        assert_eq!(unix.to_string(), "unix:/run/corvid/be1.sock");
        // A relative path is taken as it is (relative to the proxy's working directory).
        assert_eq!(
            BackendAddress::resolve("unix:be1.sock").unwrap(),
            BackendAddress::Unix("be1.sock".into())
        );

        assert!(matches!(
            BackendAddress::resolve("unix:"),
            Err(AddressError::EmptyUnixPath)
        ));
        let long = format!("unix:/{}", "x".repeat(107));
        assert!(matches!(
            BackendAddress::resolve(&long),
            Err(AddressError::UnixPathTooLong(108))
        ));
        assert!(BackendAddress::resolve(&format!("unix:/{}", "x".repeat(106))).is_ok());
        assert!(matches!(
            BackendAddress::resolve("unix:/run/a\0b"),
            Err(AddressError::NulInUnixPath)
        ));
        for bad in ["be1.example", "/run/corvid/be1.sock", "127.0.0.1:imap", ""] {
            let error = BackendAddress::resolve(bad).unwrap_err();
            assert!(
                matches!(error, AddressError::Resolve { .. }),
                "{bad:?}: {error}"
            );
            assert!(error.to_string().contains("unix:/PATH"), "{error}");
        }
    }
}
