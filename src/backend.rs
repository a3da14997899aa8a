//! `corvid backend`: the configuration file and command-line flags to a reference backend's
//! configuration, then run it until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_mupdate::passwords::PasswordFile;
use corvid_proto::mailbox::Namespace;
use corvid_shim::backend::config::ConfigFile;
use corvid_shim::backend::server::{self, BackendConfig};
use corvid_shim::backend::session::SessionConfig;
use corvid_shim::shim::{AgentConfig, Credentials, Placement};

/// Flags of `corvid backend`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The configuration file (TOML; see docs/configuration.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check the configuration (file and flags), then exit.
    #[arg(long)]
    check: bool,
    /// Where clients connect over TCP [default: 127.0.0.1:2143, unless only a Unix socket is
    /// given].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// A Unix socket to serve IMAP on too (mode 0660), for a proxy on this host: the unified
    /// topology. A stale socket file from a crash is removed at start.
    #[arg(long, value_name = "PATH")]
    listen_unix: Option<PathBuf>,
    /// The mail store's directory (created if missing).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// This backend's server name, as the master's locations carry it (`be1`).
    #[arg(long)]
    server: Option<String>,
    /// The partition its locations carry (`server!partition`) [default: default].
    #[arg(long)]
    partition: Option<String>,
    /// The MUPDATE master, HOST:PORT; without it (and without a `[mupdate]` table in the file) the backend runs
    /// standalone.
    #[arg(long, value_name = "HOST:PORT")]
    mupdate: Option<String>,
    /// The backend's login on the master, NAME:PASSWORD: a backend role for this server (or
    /// set CORVID_MUPDATE_USER, which keeps the password out of `ps`).
    #[arg(
        long,
        value_name = "NAME:PASSWORD",
        env = "CORVID_MUPDATE_USER",
        hide_env_values = true
    )]
    mupdate_user: Option<String>,
    /// Who may log in: `user:$argon2id$...` lines (`corvid hash-password` prints a hash).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// A user who may log in on behalf of another (SASL PLAIN authorization id), as Cyrus
    /// `proxyservers`: the proxy's identity. Repeatable.
    #[arg(long = "proxy-user", value_name = "NAME")]
    proxy_users: Vec<String>,
    /// A user with the administrator's rights on every mailbox. Repeatable.
    #[arg(long = "admin", value_name = "NAME")]
    admins: Vec<String>,
    /// The largest message APPEND accepts, in octets [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    max_message: Option<u64>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let config = configure(&args)?;
    if args.check {
        tracing::info!(
            listen = ?config.listen,
            listen_unix = ?config.listen_unix,
            server = %config.session.server,
            master = ?config.mupdate.as_ref().map(|agent| &agent.master),
            "configuration is valid"
        );
        return Ok(());
    }
    server::run(config).context("backend")?;
    Ok(())
}

/// The file's settings with the flags applied over them.
fn configure(args: &Args) -> anyhow::Result<BackendConfig> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let Some(server) = args.server.clone().or(file.server) else {
        bail!("no server name: give --server NAME or `server` in the configuration file");
    };
    if server.is_empty() || server.contains('!') {
        bail!("server name {server:?}: a name, without '!'");
    }
    let Some(data_dir) = args.data_dir.clone().or(file.data_dir) else {
        bail!("no data directory: give --data-dir DIR or `data_dir` in the configuration file");
    };
    let partition = args
        .partition
        .clone()
        .or(file.partition)
        .unwrap_or_else(|| "default".into());
    let master = args
        .mupdate
        .clone()
        .or_else(|| file.mupdate.as_ref().map(|section| section.master.clone()));
    let login = match (&args.mupdate_user, &file.mupdate) {
        (Some(spec), _) => Some(name_password(spec)?),
        (None, Some(section)) => Some((section.user.clone(), section.password.clone())),
        (None, None) => None,
    };
    let mupdate = match (master, login) {
        (Some(master), Some(login)) => Some((master, login)),
        (Some(_), None) => bail!("the MUPDATE master needs a login: --mupdate-user NAME:PASSWORD"),
        (None, Some(_)) => {
            tracing::warn!("a MUPDATE login without a master (--mupdate): standalone");
            None
        }
        (None, None) => None,
    };
    let placement = Placement {
        server: server.clone(),
        partition,
    };
    let mupdate = mupdate.map(|(master, (user, password))| AgentConfig {
        master,
        credentials: Credentials { user, password },
        timeout: Duration::from_secs(30),
        placement,
        delete_local: false,
    });
    let passwords = args
        .password_file
        .clone()
        .or(file.password_file)
        .map(|path| {
            PasswordFile::load(&path).with_context(|| format!("password file {}", path.display()))
        })
        .transpose()?
        .map(Arc::new);
    if passwords.is_none() {
        tracing::warn!("no password file: every login will fail");
    }
    let mut proxy_users = file.proxy_users;
    proxy_users.extend(args.proxy_users.iter().cloned());
    let mut admins = file.admins;
    admins.extend(args.admins.iter().cloned());
    let listen_unix = args.listen_unix.clone().or(file.listen_unix);
    let listen = match (args.listen.or(file.listen), &listen_unix) {
        (None, None) => Some(SocketAddr::from(([127, 0, 0, 1], 2143))),
        (listen, _) => listen,
    };
    Ok(BackendConfig {
        listen,
        listen_unix,
        data_dir,
        session: Arc::new(SessionConfig {
            server,
            namespace: Namespace::default(),
            proxy_users,
            admins,
            max_message: args.max_message.or(file.max_message).unwrap_or(64 << 20),
            autocreate_inbox: true,
            clock: || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |since| since.as_secs() as i64)
            },
        }),
        passwords,
        mupdate,
        idle_timeout: Duration::from_secs(file.idle_timeout_secs.unwrap_or(30 * 60).max(30 * 60)),
    })
}

/// Splits `--mupdate-user NAME:PASSWORD`.
fn name_password(spec: &str) -> anyhow::Result<(String, String)> {
    match spec.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.into(), password.into())),
        _ => bail!("--mupdate-user: expected NAME:PASSWORD"),
    }
}
