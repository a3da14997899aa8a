//! The `corvid` binary: one clap subcommand per role, nothing else.
//!
//! Each server role lives in its crate (`corvid-mupdate`, `corvid-proxy`, `corvid-shim`,
//! `corvid-bench`) and gets its subcommand here when its issue lands: `corvid mupdate`,
//! `corvid proxy`, `corvid backend`, `corvid shim`, `corvid demo`, `corvid bench`,
//! `corvid stats`, `corvid mboxlist`, `corvid tune check`. None is built yet, so today the
//! binary only answers `--help` and `--version`.

use clap::{CommandFactory, Parser};

/// corvid: an IMAP murder (MUPDATE master, thread-per-core proxy, backend side).
///
/// Its servers are being built; see README.md for what runs today.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    Cli::parse();
    Cli::command().print_help()?;
    Ok(())
}
