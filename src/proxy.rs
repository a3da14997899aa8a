//! `corvid proxy`: the configuration file and command-line flags to a proxy configuration,
//! then run it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_mupdate::follower::{Credentials, FollowerConfig};
use corvid_mupdate::master::tls;
use corvid_mupdate::passwords::PasswordFile;
use corvid_proto::imap::framer::FramerLimits;
use corvid_proto::mailbox::name::Namespace;
use corvid_proxy::config::{BackendAddress, ConfigFile, PlacementSection, PolicyName, VerifyMode};
use corvid_proxy::placement::{Placement, Policy};
use corvid_proxy::reload::Reloadable;
use corvid_proxy::server::{self, ProxyConfig};
use corvid_proxy::session::{BackendLogin, SessionConfig, Verify};
use corvid_proxy::survey::{FreeSpace, SurveyConfig, SurveyTarget};

/// Flags of `corvid proxy`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The configuration file (TOML; see docs/configuration.md).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check the configuration (file and flags), then exit.
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
    mupdate: Option<String>,
    /// The proxy's login on the master, NAME:PASSWORD (a frontend role is enough).
    #[arg(
        long,
        value_name = "NAME:PASSWORD",
        env = "CORVID_MUPDATE_USER",
        hide_env_values = true
    )]
    mupdate_user: Option<String>,
    /// A backend server as the mailbox table names it, and its IMAP address: SERVER=HOST:PORT,
    /// or SERVER=unix:/PATH for a backend on this host (its --listen-unix socket).
    #[arg(long = "backend", value_name = "SERVER=HOST:PORT")]
    backends: Vec<String>,
    /// A backend that does not register its own mailboxes with the master (Dovecot): the
    /// proxy RESERVEs and ACTIVATEs its CREATEs (the --mupdate-user must be allowed to write
    /// its entries). Repeatable.
    #[arg(long = "unregistered", value_name = "SERVER")]
    unregistered: Vec<String>,
    /// Where an administrator's new user goes: `least-mailboxes`, `most-free` (the backend
    /// that reports the most space free; needs --proxy-user), or `fixed:SERVER,SERVER...` (in
    /// turn) [default: least-mailboxes].
    #[arg(long, value_name = "POLICY")]
    placement: Option<String>,
    /// A user with the administrator's rights on every mailbox of the table. Repeatable.
    #[arg(long = "admin", value_name = "NAME")]
    admins: Vec<String>,
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
    /// Verify logins against this file of `user:$argon2id$...` lines instead of the user's
    /// INBOX backend.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// The admin endpoint, HTTP `/metrics` and `/stats` (what `corvid stats` reads)
    /// [default: 127.0.0.1:9143].
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
    /// Executors, one per core [default: every CPU].
    #[arg(long)]
    cores: Option<usize>,
    /// Allow LOGIN and AUTHENTICATE without TLS (for tests and loopback demos).
    #[arg(long)]
    plaintext_auth: bool,
    /// Seconds a failed login waits before its answer [default: 2].
    #[arg(long)]
    failed_login_delay: Option<u64>,
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

/// The placement policy of `--placement`, else of `[placement]`.
fn placement(flag: Option<&str>, section: Option<&PlacementSection>) -> anyhow::Result<Policy> {
    let servers = |list: Vec<String>| -> anyhow::Result<Vec<Box<str>>> {
        if list.is_empty() {
            bail!("the fixed placement policy needs at least one server");
        }
        Ok(list.into_iter().map(Into::into).collect())
    };
    Ok(match (flag, section) {
        (Some("least-mailboxes"), _) => Policy::LeastMailboxes,
        (Some("most-free"), _) => Policy::MostFree,
        (Some(spec), _) => match spec.strip_prefix("fixed:") {
            Some(list) => Policy::Fixed(servers(list.split(',').map(str::to_string).collect())?),
            None => bail!(
                "--placement {spec:?}: expected least-mailboxes, most-free or fixed:SERVER,..."
            ),
        },
        (None, Some(section)) => match section.policy {
            PolicyName::LeastMailboxes => Policy::LeastMailboxes,
            PolicyName::MostFree => Policy::MostFree,
            PolicyName::Fixed => Policy::Fixed(servers(section.servers.clone())?),
        },
        (None, None) => Policy::LeastMailboxes,
    })
}

fn configure(args: &Args) -> anyhow::Result<ProxyConfig> {
    let file = match &args.config {
        Some(path) => ConfigFile::load(path)?,
        None => ConfigFile::default(),
    };
    let mut backends = HashMap::new();
    let mut unregistered: Vec<Box<str>> = file
        .backends
        .iter()
        .filter(|entry| !entry.registers)
        .map(|entry| entry.server.as_str().into())
        .collect();
    unregistered.extend(
        args.unregistered
            .iter()
            .map(|server| server.as_str().into()),
    );
    let profiles = file
        .backends
        .iter()
        .map(|entry| (entry.server.as_str().into(), entry.profile()))
        .collect();
    let entries = file
        .backends
        .iter()
        .map(|entry| (entry.server.clone(), entry.address.clone()));
    let flags = args.backends.iter().map(|spec| match spec.split_once('=') {
        Some((server, addr)) => Ok((server.to_string(), addr.to_string())),
        None => bail!("--backend {spec:?}: expected SERVER=HOST:PORT or SERVER=unix:/PATH"),
    });
    for entry in entries.map(Ok).chain(flags) {
        let (server, addr) = entry?;
        let address =
            BackendAddress::resolve(&addr).with_context(|| format!("backend {server}"))?;
        backends.insert(server, address);
    }
    if backends.is_empty() {
        bail!(
            "no backends: give [[backend]] in the configuration file or --backend SERVER=ADDRESS"
        );
    }
    let mut servers: Vec<Box<str>> = backends
        .keys()
        .map(|server| server.as_str().into())
        .collect();
    servers.sort();
    for server in &unregistered {
        if !backends.contains_key(&**server) {
            bail!("--unregistered {server}: no such backend");
        }
    }
    let policy = placement(args.placement.as_deref(), file.placement.as_ref())?;
    if let Policy::Fixed(list) = &policy
        && let Some(unknown) = list
            .iter()
            .find(|server| !backends.contains_key(&***server))
    {
        bail!("placement: {unknown} is not a backend");
    }
    let mut admins = file.admins.clone();
    admins.extend(args.admins.iter().cloned());

    let tls_files = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
        _ => file.tls.map(|tls| (tls.cert, tls.key)),
    };
    let tls = tls_files
        .map(|(cert, key)| {
            Reloadable::new("TLS certificate and key", move || {
                tls::server_config(&cert, &key)
                    .map(Arc::unwrap_or_clone)
                    .map_err(|error| error.to_string())
            })
        })
        .transpose()
        .map_err(anyhow::Error::msg)?
        .map(Arc::new);
    let listen_tls = if args.listen_tls.is_empty() {
        file.listen_tls
    } else {
        args.listen_tls.clone()
    };
    if !listen_tls.is_empty() && tls.is_none() {
        bail!("TLS listeners need a certificate and key ([tls] or --cert and --key)");
    }

    let (master, mupdate_user, mupdate_password) = match (
        &args.mupdate,
        &args.mupdate_user,
        &file.mupdate,
    ) {
        (Some(master), Some(user), _) => {
            let (user, password) = name_password(user, "--mupdate-user")?;
            (master.clone(), user, password)
        }
        (master, None, Some(section)) => (
            master.clone().unwrap_or_else(|| section.master.clone()),
            section.user.clone(),
            section.password.clone(),
        ),
        _ => bail!(
            "no MUPDATE master: give [mupdate] in the configuration file or --mupdate and --mupdate-user"
        ),
    };

    let backend_login = match (&args.proxy_user, &file.backend_login) {
        (Some(spec), _) => {
            let (user, password) = name_password(spec, "--proxy-user")?;
            BackendLogin::Proxy { user, password }
        }
        (None, Some(section)) => BackendLogin::Proxy {
            user: section.user.clone(),
            password: section.password.clone(),
        },
        (None, None) => BackendLogin::ClientCredentials,
    };
    // `most-free` hears the backends' free space from a survey that logs in as the proxy.
    let (placement, survey) = match (&policy, &backend_login) {
        (Policy::MostFree, BackendLogin::Proxy { user, password }) => {
            let free = Arc::new(FreeSpace::new(servers.clone()));
            let mut targets: Vec<SurveyTarget> = backends
                .iter()
                .map(|(server, addr)| SurveyTarget {
                    server: server.as_str().into(),
                    addr: addr.to_string(),
                })
                .collect();
            targets.sort_by(|a, b| a.server.cmp(&b.server));
            let interval = file.placement.as_ref().and_then(|p| p.survey_interval_secs);
            let survey = SurveyConfig {
                targets,
                user: user.clone(),
                password: password.clone(),
                interval: Duration::from_secs(interval.unwrap_or(60).max(1)),
                timeout: Duration::from_secs(10),
            };
            (Placement::new(policy).with_free_space(free), Some(survey))
        }
        (Policy::MostFree, BackendLogin::ClientCredentials) => {
            bail!(
                "the most-free placement policy needs the proxy's backend identity (--proxy-user or [backend_login])"
            )
        }
        _ => (Placement::new(policy), None),
    };
    let password_file = args.password_file.clone().or_else(|| match &file.auth {
        Some(auth) if auth.verify == VerifyMode::PasswordFile => auth.password_file.clone(),
        _ => None,
    });
    if file
        .auth
        .as_ref()
        .is_some_and(|auth| auth.verify == VerifyMode::PasswordFile)
        && password_file.is_none()
    {
        bail!("[auth] verify = \"password-file\" needs password_file");
    }
    let passwords = password_file
        .map(|path| {
            Reloadable::new("password file", move || {
                PasswordFile::load(&path).map_err(|error| error.to_string())
            })
        })
        .transpose()
        .map_err(anyhow::Error::msg)?
        .map(Arc::new);
    let verify = if passwords.is_some() {
        Verify::PasswordFile
    } else {
        Verify::InboxBackend
    };

    let listen = match (
        args.listen.is_empty(),
        file.listen.is_empty(),
        listen_tls.is_empty(),
    ) {
        (false, _, _) => args.listen.clone(),
        (true, false, _) => file.listen.clone(),
        (true, true, true) => vec![SocketAddr::from(([127, 0, 0, 1], 1143))],
        (true, true, false) => Vec::new(),
    };
    let failed_login_delay = args
        .failed_login_delay
        .or(file.failed_login_delay_secs)
        .unwrap_or(2);
    Ok(ProxyConfig {
        listen,
        listen_tls,
        cores: args.cores.or(file.cores).unwrap_or(0),
        backends,
        follower: FollowerConfig {
            master,
            credentials: Credentials {
                user: mupdate_user,
                password: mupdate_password,
                authzid: String::new(),
            },
            hosts: Vec::new(),
            state_dir: args.data_dir.clone().or(file.data_dir),
            keepalive: Duration::from_secs(30),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            snapshot_every: Duration::from_secs(60),
        },
        session: SessionConfig {
            namespace: Namespace::default(),
            starttls_offered: tls.is_some(),
            plaintext_auth: args.plaintext_auth || file.plaintext_auth.unwrap_or(false),
            verify,
            backend_login,
            limits: FramerLimits::default(),
            failed_login_delay: Duration::from_secs(failed_login_delay),
            product: "corvid".into(),
            servers,
            proxy_registers: unregistered,
            placement,
            admins,
            backends: profiles,
            referrals: file.referrals.unwrap_or(false),
        },
        tls,
        passwords,
        survey,
        idle_timeout: Duration::from_secs(file.idle_timeout_secs.unwrap_or(30 * 60 + 60).max(60)),
        login_timeout: Duration::from_secs(60),
        connect_timeout: Duration::from_secs(5),
        backend_retry: Duration::from_secs(1),
        admin_listen: Some(
            args.admin_listen
                .or(file.admin_listen)
                .unwrap_or(corvid_proxy::admin::DEFAULT_ADDR),
        ),
    })
}
