//! `corvid mupdate`: command-line flags to a master configuration, then run it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use corvid_mupdate::master::auth::QuickRole;
use corvid_mupdate::master::server::{self, ServerConfig};
use corvid_mupdate::master::{self, SessionConfig, Users};
use corvid_proto::mupdate::Limits;

/// Flags of `corvid mupdate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on (MUPDATE's port is 3905).
    #[arg(long, default_value = "127.0.0.1:3905")]
    listen: SocketAddr,
    /// Directory of the durable store (snapshots and write-ahead log); created if missing.
    #[arg(long)]
    data_dir: PathBuf,
    /// An administrator, `NAME:PASSWORD` (may do everything).
    #[arg(long = "admin", value_name = "NAME:PASSWORD")]
    admins: Vec<String>,
    /// A backend, `NAME:PASSWORD:SERVER` (may write only entries located on SERVER).
    #[arg(long = "backend", value_name = "NAME:PASSWORD:SERVER")]
    backends: Vec<String>,
    /// A frontend, `NAME:PASSWORD` (may only read).
    #[arg(long = "frontend", value_name = "NAME:PASSWORD")]
    frontends: Vec<String>,
    /// Host name in the banner (default: this machine's).
    #[arg(long)]
    host: Option<String>,
    /// Connections beyond this are refused with `* BYE "Server Unable"`.
    #[arg(long, default_value_t = 20_000)]
    max_connections: usize,
    /// Seconds of silence after which a connection is closed (RFC 3656: at least 900).
    #[arg(long, default_value_t = 3 * 60 * 60)]
    idle_timeout: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut users = Users::new();
    for (specs, role) in [
        (&args.admins, QuickRole::Admin),
        (&args.backends, QuickRole::Backend),
        (&args.frontends, QuickRole::Frontend),
    ] {
        for spec in specs {
            users.add_spec(spec, role).context("a user flag")?;
        }
    }
    anyhow::ensure!(
        !users.is_empty(),
        "no users: give at least one --admin NAME:PASSWORD"
    );
    let host = args.host.unwrap_or_else(host_name);
    let config = ServerConfig {
        listen: args.listen,
        data_dir: args.data_dir,
        users,
        session: SessionConfig {
            banner: master::banner(&host),
            starttls: false,
            limits: Limits::default(),
            output_budget: 256 << 10,
        },
        max_connections: args.max_connections,
        changes_kept: 1 << 20,
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        failed_login_delay: Duration::from_secs(1),
        snapshot_after_bytes: 64 << 20,
    };
    server::run(config, |_| {}).context("mupdate master")?;
    Ok(())
}

/// This machine's host name, from the kernel (no libc call needed).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
