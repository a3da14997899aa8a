//! `corvid proxy`: command-line flags to a proxy configuration, then run it.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_mupdate::follower::{Credentials, FollowerConfig};
use corvid_mupdate::master::tls;
use corvid_proto::imap::framer::FramerLimits;
use corvid_proto::mailbox::name::Namespace;
use corvid_proxy::server::{self, ProxyConfig};
use corvid_proxy::session::{BackendLogin, SessionConfig};

/// Flags of `corvid proxy`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Check the configuration, then exit.
    #[arg(long)]
    check: bool,
    /// A plaintext IMAP listener (STARTTLS offered with --cert/--key) [default: 127.0.0.1:1143].
    #[arg(long = "listen", value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// An implicit-TLS IMAP listener (needs --cert and --key).
    #[arg(long = "listen-tls", value_name = "ADDR", requires = "cert")]
    listen_tls: Vec<SocketAddr>,
    /// Certificate chain (PEM) for STARTTLS and implicit TLS; with --key.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM); with --cert.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// The MUPDATE master, HOST:PORT.
    #[arg(long)]
    mupdate: String,
    /// The proxy's login on the master, NAME:PASSWORD (a frontend role is enough).
    #[arg(
        long,
        value_name = "NAME:PASSWORD",
        env = "CORVID_MUPDATE_USER",
        hide_env_values = true
    )]
    mupdate_user: String,
    /// A backend server as the mailbox table names it, and its IMAP address: SERVER=HOST:PORT.
    #[arg(long = "backend", value_name = "SERVER=HOST:PORT", required = true)]
    backends: Vec<String>,
    /// The proxy's identity on the backends, NAME:PASSWORD (Cyrus proxyservers, Dovecot
    /// master user); without it the client's own credentials are used everywhere.
    #[arg(
        long,
        value_name = "NAME:PASSWORD",
        env = "CORVID_PROXY_USER",
        hide_env_values = true
    )]
    proxy_user: Option<String>,
    /// Where the follower keeps its snapshot of the table (a restarted proxy routes at once).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Executors, one per core [default: every CPU].
    #[arg(long, default_value_t = 0)]
    cores: usize,
    /// Allow LOGIN and AUTHENTICATE without TLS (for tests and loopback demos).
    #[arg(long)]
    plaintext_auth: bool,
    /// Seconds a failed login waits before its answer.
    #[arg(long, default_value_t = 2)]
    failed_login_delay: u64,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let config = configure(&args)?;
    if args.check {
        tracing::info!(listen = ?config.listen, listen_tls = ?config.listen_tls, backends = config.backends.len(), "configuration is valid");
        return Ok(());
    }
    server::run(config, || {}).context("proxy")?;
    Ok(())
}

/// Splits `NAME:PASSWORD`.
fn name_password(spec: &str, flag: &str) -> anyhow::Result<(String, String)> {
    match spec.split_once(':') {
        Some((name, password)) if !name.is_empty() => Ok((name.into(), password.into())),
        _ => bail!("{flag}: expected NAME:PASSWORD"),
    }
}

fn configure(args: &Args) -> anyhow::Result<ProxyConfig> {
    let mut backends = HashMap::new();
    for spec in &args.backends {
        let Some((server, addr)) = spec.split_once('=') else {
            bail!("--backend {spec:?}: expected SERVER=HOST:PORT");
        };
        let addr = addr
            .to_socket_addrs()
            .with_context(|| format!("--backend {spec:?}"))?
            .next()
            .with_context(|| format!("--backend {spec:?}: no address"))?;
        backends.insert(server.to_string(), addr);
    }
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(tls::server_config(cert, key)?),
        _ => None,
    };
    let (mupdate_user, mupdate_password) = name_password(&args.mupdate_user, "--mupdate-user")?;
    let backend_login = match &args.proxy_user {
        Some(spec) => {
            let (user, password) = name_password(spec, "--proxy-user")?;
            BackendLogin::Proxy { user, password }
        }
        None => BackendLogin::ClientCredentials,
    };
    let listen = if args.listen.is_empty() && args.listen_tls.is_empty() {
        vec![SocketAddr::from(([127, 0, 0, 1], 1143))]
    } else {
        args.listen.clone()
    };
    Ok(ProxyConfig {
        listen,
        listen_tls: args.listen_tls.clone(),
        cores: args.cores,
        backends,
        follower: FollowerConfig {
            master: args.mupdate.clone(),
            credentials: Credentials {
                user: mupdate_user,
                password: mupdate_password,
                authzid: String::new(),
            },
            hosts: Vec::new(),
            state_dir: args.data_dir.clone(),
            keepalive: Duration::from_secs(30),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            snapshot_every: Duration::from_secs(60),
        },
        session: SessionConfig {
            namespace: Namespace::default(),
            starttls_offered: tls.is_some(),
            plaintext_auth: args.plaintext_auth,
            backend_login,
            limits: FramerLimits::default(),
            failed_login_delay: Duration::from_secs(args.failed_login_delay),
            product: "corvid".into(),
        },
        tls,
        idle_timeout: Duration::from_secs(30 * 60 + 60),
        login_timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(5),
        backend_retry: Duration::from_secs(2),
    })
}
