//! `corvid shim`: keep the MUPDATE master in step with a backend that does not speak MUPDATE,
//! from the flags.
//!
//! The backend is read through `doveadm` (Dovecot, the default) or, with `--imap`, over IMAP
//! as an admin who sees every mailbox (Cyrus, corvid's reference backend). Reconciles at start, then every `--interval` seconds and on each SIGHUP; `--once` stops
//! after the first, `--dry-run` prints the plan and changes nothing. Each reconcile is logged
//! (a summary line, then one line per step); a dry run prints them on stdout.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_proto::mailbox::Namespace;
use corvid_shim::shim::{
    Agent, AgentConfig, AgentError, Credentials, Doveadm, ImapAdmin, Outcome, Placement,
};

/// Flags of `corvid shim`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("doveadm_source")
    .args(["doveadm", "doveadm_config", "doveadm_timeout"])
    .multiple(true)
    .conflicts_with("imap_source"))]
#[command(group = clap::ArgGroup::new("imap_source")
    .args(["imap", "imap_timeout"])
    .multiple(true)
    .requires_all(["imap", "imap_user"]))]
pub(crate) struct Args {
    /// The MUPDATE master, `HOST:PORT`.
    #[arg(long, default_value = "127.0.0.1:3905")]
    mupdate: String,
    /// The master user, `NAME:PASSWORD`: a backend role for this server (or set
    /// CORVID_MUPDATE_USER, which keeps the password out of `ps`).
    #[arg(
        long,
        value_name = "NAME:PASSWORD",
        env = "CORVID_MUPDATE_USER",
        hide_env_values = true
    )]
    mupdate_user: String,
    /// This backend's server name, as locations carry it (`be1`).
    #[arg(long)]
    server: String,
    /// The partition locations carry (`server!partition`).
    #[arg(long, default_value = "default")]
    partition: String,
    /// The `doveadm` program.
    #[arg(long, default_value = "/usr/bin/doveadm")]
    doveadm: PathBuf,
    /// Dovecot's configuration file, passed to `doveadm -c` [default: Dovecot's own].
    #[arg(long)]
    doveadm_config: Option<PathBuf>,
    /// Seconds one `doveadm` run may take before it is killed (the reconcile then fails).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    doveadm_timeout: u64,
    /// Read the backend over IMAP instead of through `doveadm`: the backend, `HOST:PORT`
    /// (plain text: loopback or a trusted network).
    #[arg(long, value_name = "HOST:PORT")]
    imap: Option<String>,
    /// The backend's admin, who sees every mailbox, `NAME:PASSWORD` (or set
    /// CORVID_SHIM_IMAP_USER, which keeps the password out of `ps`).
    #[arg(
        long,
        value_name = "NAME:PASSWORD",
        env = "CORVID_SHIM_IMAP_USER",
        hide_env_values = true
    )]
    imap_user: Option<String>,
    /// Seconds connecting to the IMAP backend, and each read from it, may wait.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    imap_timeout: u64,
    /// Seconds between reconciles (SIGHUP also starts one).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
    /// Reconcile once, then exit (non-zero if a step failed).
    #[arg(long)]
    once: bool,
    /// Print what a reconcile would do; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete the backend's copy of a mailbox the master places on another server (rule 3;
    /// through `doveadm` only). Off by default: such mailboxes are only reported.
    #[arg(long, conflicts_with = "imap")]
    delete_local: bool,
}

/// Where the backend's mailboxes are read.
enum Discovery {
    /// Dovecot, through `doveadm`.
    Doveadm(Doveadm, Namespace),
    /// An IMAP server, as its admin.
    Imap(ImapAdmin),
}

impl Discovery {
    fn reconcile(&self, agent: &mut Agent, dry_run: bool) -> Result<Outcome, AgentError> {
        match self {
            Discovery::Doveadm(doveadm, namespace) => doveadm.reconcile(agent, namespace, dry_run),
            Discovery::Imap(imap) => imap.reconcile(agent, dry_run),
        }
    }
}

/// `NAME:PASSWORD`, the name not empty; `flag` names the flag in the error.
fn name_password(spec: &str, flag: &str) -> anyhow::Result<Credentials> {
    match spec.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        }),
        _ => bail!("{flag}: expected NAME:PASSWORD"),
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let credentials = name_password(&args.mupdate_user, "--mupdate-user")?;
    if args.server.is_empty() || args.server.contains('!') {
        bail!("--server {:?}: a server name, without '!'", args.server);
    }
    let mut agent = Agent::new(AgentConfig {
        master: args.mupdate.clone(),
        credentials,
        timeout: Duration::from_secs(60),
        placement: Placement {
            server: args.server.clone(),
            partition: args.partition.clone(),
        },
        delete_local: args.delete_local,
    });
    let discovery = match (&args.imap, &args.imap_user) {
        (Some(addr), Some(user)) => Discovery::Imap(ImapAdmin {
            addr: addr.clone(),
            credentials: name_password(user, "--imap-user")?,
            timeout: Duration::from_secs(args.imap_timeout),
        }),
        (Some(_), None) => bail!("--imap needs the admin: --imap-user NAME:PASSWORD"),
        (None, _) => Discovery::Doveadm(
            Doveadm {
                program: args.doveadm.clone(),
                config: args.doveadm_config.clone(),
                timeout: Duration::from_secs(args.doveadm_timeout),
            },
            Namespace::default(),
        ),
    };
    if args.once {
        let outcome = discovery
            .reconcile(&mut agent, args.dry_run)
            .context("reconcile")?;
        report(&outcome);
        if !outcome.failures.is_empty() {
            bail!("{} steps failed", outcome.failures.len());
        }
        return Ok(());
    }
    let sighup = on_sighup()?;
    let interval = Duration::from_secs(args.interval);
    tracing::info!(
        master = %args.mupdate,
        server = %args.server,
        interval_secs = args.interval,
        dry_run = args.dry_run,
        delete_local = args.delete_local,
        "shim started"
    );
    loop {
        match discovery.reconcile(&mut agent, args.dry_run) {
            Ok(outcome) => report(&outcome),
            Err(error) => tracing::error!(%error, "reconcile failed; retrying at the next"),
        }
        match sighup.recv_timeout(interval) {
            Ok(()) => {
                // Signals that came during the last reconcile are all served by the next one.
                while sighup.try_recv().is_ok() {}
                tracing::info!("SIGHUP: reconciling now");
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the signal thread stopped"),
        }
    }
}

/// A channel that receives one message per SIGHUP.
fn on_sighup() -> anyhow::Result<mpsc::Receiver<()>> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGHUP])
        .context("listening for SIGHUP")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("corvid-shim-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if sender.send(()).is_err() {
                    return;
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(receiver)
}

/// Logs what a reconcile did; a dry run's plan goes to stdout.
fn report(outcome: &Outcome) {
    if outcome.dry_run {
        #[allow(clippy::print_stdout)]
        {
            print!("{}", outcome.plan);
            println!("{outcome}");
        }
        return;
    }
    outcome.log();
}
