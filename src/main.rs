//! The `corvid` binary: one clap subcommand per role, nothing else.
//!
//! Each server role lives in its crate and gets its subcommand here when its issue lands.
//! Today: `corvid mupdate` (the MUPDATE master, `corvid-mupdate`). To come: `corvid proxy`,
//! `corvid backend`, `corvid shim`, `corvid demo`, `corvid bench`, `corvid stats`,
//! `corvid mboxlist`, `corvid tune check`.

mod mupdate;

use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CORVID_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Mupdate(args) => mupdate::run(args),
    }
}
