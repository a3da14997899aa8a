//! The `corvid` binary: one clap subcommand per role, nothing else.
//!
//! Each server role lives in its crate and gets its subcommand here when its issue lands.
//! Today: `corvid mupdate` (the MUPDATE master) and `corvid mboxlist` (its table, from the
//! command line), both from `corvid-mupdate`, `corvid proxy` and `corvid stats` (a proxy's
//! per-core view, from `corvid-proxy`'s admin endpoint), `corvid shim` and `corvid backend`
//! (from `corvid-shim`), `corvid demo`, which runs a whole murder on loopback as children of
//! this binary (master, backends `be1` and `be2`, proxy), and `corvid bench`, the load generator
//! (from `corvid-bench`), and `corvid tune check`, the host inspection (also from
//! `corvid-bench`).

mod backend;
mod bench;
mod demo;
mod mboxlist;
mod mupdate;
mod proxy;
mod shim;
mod stats;
mod tune;

use clap::{Parser, Subcommand};

/// mimalloc: per-thread heaps (no allocator lock shared by the cores) and little overhead per
/// small allocation, which idle sessions are made of.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// corvid: an IMAP murder (MUPDATE master, thread-per-core proxy, backend side).
///
/// See README.md for what runs today.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The MUPDATE master: the murder's authoritative mailbox table (RFC 3656).
    Mupdate(mupdate::Args),
    /// The frontend IMAP proxy: routes each command to the backend holding its mailbox.
    Proxy(proxy::Args),
    /// Read or load a running master's mailbox table (dump, load, find, list).
    Mboxlist(mboxlist::Args),
    /// corvid's reference IMAP backend, registering its mailboxes with the master.
    Backend(backend::Args),
    /// Keep the master in step with a backend that does not speak MUPDATE: Dovecot through
    /// doveadm, or any IMAP server through an admin login (push, remove, report conflicts).
    Shim(shim::Args),
    /// A whole murder on loopback: master, two backends and the proxy, seeded; Ctrl-C stops it.
    Demo(demo::Args),
    /// A running proxy's per-core statistics, from its admin endpoint (a table for the NOC).
    Stats(stats::Args),
    /// Load an IMAP server (or several, compared) with a scenario; report rates, latency, CPU.
    Bench(bench::Args),
    /// Check this host for corvid: io_uring, limits, sysctls, CPUs, IRQs (`tune check`).
    Tune(tune::Args),
    /// Read a password on stdin and print its argon2 hash, for a configuration file.
    HashPassword(mupdate::HashArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORVID_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match Cli::parse().command {
        Command::Mupdate(args) => mupdate::run(args),
        Command::Mboxlist(args) => mboxlist::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::HashPassword(args) => mupdate::hash_password(args),
        Command::Shim(args) => shim::run(args),
        Command::Backend(args) => backend::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Tune(args) => tune::run(args),
    };
    // Output cut short by a closed pipe (`corvid mboxlist dump | head`) is not a failure.
    match result {
        Err(error)
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}
