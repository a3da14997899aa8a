//! `corvid shim`: keep the MUPDATE master in step with a Dovecot backend, from the flags.
//!
//! Reconciles at start, then every `--interval` seconds and on each SIGHUP; `--once` stops
//! after the first, `--dry-run` prints the plan and changes nothing. Each reconcile is logged
//! (a summary line, then one line per step); a dry run prints them on stdout.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_proto::mailbox::Namespace;
use corvid_shim::shim::{Agent, AgentConfig, Credentials, Doveadm, Outcome, Placement};

/// Flags of `corvid shim`.
#[derive(Debug, clap::Args)]
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
    /// Seconds between reconciles (SIGHUP also starts one).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    interval: u64,
    /// Reconcile once, then exit (non-zero if a step failed).
    #[arg(long)]
    once: bool,
    /// Print what a reconcile would do; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete the backend's copy of a mailbox the master places on another server (rule 3).
    /// Off by default: such mailboxes are only reported.
    #[arg(long)]
    delete_local: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let (user, password) = match args.mupdate_user.split_once(':') {
        Some((user, password)) if !user.is_empty() => (user.to_owned(), password.to_owned()),
        _ => bail!("--mupdate-user: expected NAME:PASSWORD"),
    };
    if args.server.is_empty() || args.server.contains('!') {
        bail!("--server {:?}: a server name, without '!'", args.server);
    }
    let mut agent = Agent::new(AgentConfig {
        master: args.mupdate.clone(),
        credentials: Credentials { user, password },
        timeout: Duration::from_secs(60),
        placement: Placement {
            server: args.server.clone(),
            partition: args.partition.clone(),
        },
        delete_local: args.delete_local,
    });
    let doveadm = Doveadm {
        program: args.doveadm.clone(),
        config: args.doveadm_config.clone(),
        timeout: Duration::from_secs(args.doveadm_timeout),
    };
    let namespace = Namespace::default();
    if args.once {
        let outcome = doveadm
            .reconcile(&mut agent, &namespace, args.dry_run)
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
        match doveadm.reconcile(&mut agent, &namespace, args.dry_run) {
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
