//! The `corvid` binary: one clap subcommand per role, nothing else.
//!
//! Each server role lives in its crate (`corvid-mupdate`, `corvid-proxy`, `corvid-shim`,
//! `corvid-bench`); this file only parses the command line and calls into them.

use clap::Parser;

/// corvid: an IMAP murder (MUPDATE master, thread-per-core proxy, backend side).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
