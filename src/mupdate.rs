//! `corvid mupdate`: the configuration file and command-line flags to a master configuration,
//! then run it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_mupdate::master::auth::QuickRole;
use corvid_mupdate::master::config::{ConfigFile, TlsFiles};
use corvid_mupdate::master::server::{self, ServerConfig};
use corvid_mupdate::master::{self, SessionConfig, Users, tls};
use corvid_proto::mupdate::Limits;

/// Flags of `corvid mupdate`. Flags given override the configuration file.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The configuration file (TOML; see docs/configuration.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check the configuration (file and flags), then exit.
    #[arg(long)]
    check: bool,
    /// Address to listen on [default: 127.0.0.1:3905].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of the durable store (snapshots and write-ahead log); created if missing.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// An administrator, `NAME:PASSWORD` (may do everything).
    #[arg(long = "admin", value_name = "NAME:PASSWORD")]
    admins: Vec<String>,
    /// A backend, `NAME:PASSWORD:SERVER` (may write only entries located on SERVER).
    #[arg(long = "backend", value_name = "NAME:PASSWORD:SERVER")]
    backends: Vec<String>,
    /// A frontend, `NAME:PASSWORD` (may only read).
    #[arg(long = "frontend", value_name = "NAME:PASSWORD")]
    frontends: Vec<String>,
    /// Host name in the banner [default: this machine's].
    #[arg(long)]
    host: Option<String>,
    /// Certificate chain (PEM) for STARTTLS; with --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for STARTTLS; with --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Connections beyond this are refused with `* BYE "Server Unable"` [default: 20000].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds of silence after which a connection is closed (RFC 3656: at least 900)
    /// [default: 10800].
    #[arg(long)]
    idle_timeout: Option<u64>,
}

/// Flags of `corvid hash-password`.
#[derive(Debug, clap::Args)]
pub(crate) struct HashArgs {}

/// Reads a password from stdin and prints its argon2 hash for the configuration file.
pub(crate) fn hash_password(_: HashArgs) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("no password on stdin");
    }
    let hash = master::auth::hash_password(password)
        .map_err(|error| anyhow::anyhow!("hashing: {error}"))?;
    #[allow(clippy::print_stdout)]
    {
        println!("{hash}");
    }
    Ok(())
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let config = configure(&args)?;
    if args.check {
        tracing::info!(
            listen = %config.listen,
            data_dir = %config.data_dir.display(),
            users = config.users.len(),
            tls = config.tls.is_some(),
            "configuration is valid"
        );
        return Ok(());
    }
    server::run(config, |_| {}).context("mupdate master")?;
    Ok(())
}

/// The file (if any) with the flags over it.
fn configure(args: &Args) -> anyhow::Result<ServerConfig> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let mut users = Users::new();
    file.add_users(&mut users)?;
    for (specs, role) in [
        (&args.admins, QuickRole::Admin),
        (&args.backends, QuickRole::Backend),
        (&args.frontends, QuickRole::Frontend),
    ] {
        for spec in specs {
            users.add_spec(spec, role).context("a user flag")?;
        }
    }
    if users.is_empty() {
        bail!("no users: give a [[user]] in the configuration file or --admin NAME:PASSWORD");
    }
    let Some(data_dir) = args.data_dir.clone().or(file.data_dir) else {
        bail!("no data directory: give data_dir in the configuration file or --data-dir");
    };
    let tls_files = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => file.tls,
    };
    let tls = tls_files
        .map(|files| tls::server_config(&files.cert, &files.key))
        .transpose()?;
    let host = args.host.clone().or(file.host).unwrap_or_else(host_name);
    Ok(ServerConfig {
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3905))),
        data_dir,
        users,
        session: SessionConfig {
            banner: master::banner(&host),
            starttls: tls.is_some(),
            limits: Limits::default(),
            output_budget: 256 << 10,
        },
        max_connections: args
            .max_connections
            .or(file.max_connections)
            .unwrap_or(20_000),
        changes_kept: file.changes_kept.unwrap_or(1 << 20),
        idle_timeout: Duration::from_secs(
            args.idle_timeout
                .or(file.idle_timeout_secs)
                .unwrap_or(3 * 60 * 60)
                .max(1),
        ),
        failed_login_delay: Duration::from_secs(1),
        snapshot_after_bytes: file.snapshot_after_mib.unwrap_or(64) << 20,
        tls,
    })
}

/// This machine's host name, from the kernel.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
