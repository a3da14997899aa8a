//! `corvid tune check`: the host's fitness for corvid, from corvid-bench's `tune` module,
//! printed as a table (or JSON) with an exit code a provisioning script can act on.
//!
//! Exit codes: 0 nothing to change, 1 something should change for the intended load, 2 corvid
//! cannot run here (io_uring refused, too little locked memory). The profiles to apply are in
//! `tuning/`, the reasons in `tuning/README.md`.

use std::io::Write as _;

use corvid_bench::tune::{self, Intent, Profile};

/// Flags of `corvid tune`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: TuneCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TuneCommand {
    /// Inspect this host (io_uring, limits, sysctls, CPUs, IRQs, memory): what to change and
    /// why. Exits 0 if nothing, 1 if something should change, 2 if corvid cannot run.
    Check(CheckArgs),
}

/// Flags of `corvid tune check`.
#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Print the report (checks and the facts read) as JSON.
    #[arg(long)]
    json: bool,
    /// The role the host is for: proxy, backend or bench.
    #[arg(long, default_value = "proxy", value_parser = profile)]
    profile: Profile,
    /// Concurrent sessions the host should carry.
    #[arg(long, default_value_t = 100_000)]
    sessions: u64,
}

fn profile(name: &str) -> Result<Profile, String> {
    Profile::parse(name).ok_or_else(|| format!("{name:?}: the profiles are proxy, backend, bench"))
}

/// Runs `corvid tune`; the process exits with the check's code.
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let TuneCommand::Check(args) = args.command;
    let report = tune::check(
        tune::host::read(),
        Intent {
            profile: args.profile,
            sessions: args.sessions,
        },
    );
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        report.table()
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    std::process::exit(report.exit_code())
}
