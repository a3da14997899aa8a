//! `corvid bench`: the load generator's command line, on corvid-bench.
//!
//! It reads the flags into a [`BenchConfig`], runs it with progress on stderr once per second,
//! prints the report's table on stdout, writes the JSON and SVG reports when asked, and fails
//! (non-zero exit) if any session failed. docs/benchmarking.md has the usage and the method.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_bench::imap::Credentials;
use corvid_bench::scenario::parse_duration;
use corvid_bench::{BenchConfig, Scenario, Target};

/// Flags of `corvid bench`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The scenario: login, relay, idle-hold, append, tls-handshake or isp-mix (or none with
    /// --scenario-file).
    scenario: Option<String>,
    /// A scenario file (TOML: `[[client]]` tables; see docs/benchmarking.md).
    #[arg(long, conflicts_with = "scenario")]
    scenario_file: Option<PathBuf>,
    /// The IMAP server to drive, HOST:PORT (`tls://HOST:PORT` for implicit TLS).
    #[arg(long)]
    target: String,
    /// Targets compared with the first, run in interleaved rounds (repeatable).
    #[arg(long)]
    compare: Vec<String>,
    /// Implicit TLS to every target.
    #[arg(long)]
    tls: bool,
    /// The user every session logs in as.
    #[arg(long)]
    user: String,
    /// Its password.
    #[arg(long, env = "CORVID_BENCH_PASSWORD")]
    password: String,
    /// Sessions per target.
    #[arg(long, default_value_t = 1)]
    sessions: usize,
    /// Open loop at this many operations per second (all sessions together) [default: closed
    /// loop, as fast as the target answers].
    #[arg(long)]
    rate: Option<f64>,
    /// Measured time per target (30s, 500ms, 2m).
    #[arg(long, default_value = "30s", value_parser = duration)]
    duration: Duration,
    /// Time before each round's measured window.
    #[arg(long, default_value = "2s", value_parser = duration)]
    warmup: Duration,
    /// Rounds per target [default: 1, or 5 with --compare].
    #[arg(long)]
    rounds: Option<usize>,
    /// The target processes, one per target in order: their CPU time and memory are read,
    /// each summed with its descendants' (a forking server's master pid covers its workers).
    #[arg(long)]
    pid: Vec<u32>,
    /// The CPUs the load generator runs on, one executor each (`3`, `2,3`, `0-3`)
    /// [default: the last CPU].
    #[arg(long, value_parser = cores)]
    // `::std::vec::Vec`: one value parsed into a list (clap would take `Vec` for many values).
    cores: Option<::std::vec::Vec<usize>>,
    /// Write the whole report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the chart (latency over time and its distribution) as SVG here.
    #[arg(long)]
    svg: Option<PathBuf>,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// A CPU list: numbers and ranges, comma-separated.
fn cores(text: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("{text:?} is not a CPU list (examples: 3, 2,3, 0-3)");
    let mut cores = Vec::new();
    for part in text.split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let first: usize = first.trim().parse().map_err(|_| bad())?;
        let last: usize = last.trim().parse().map_err(|_| bad())?;
        if first > last {
            return Err(bad());
        }
        cores.extend(first..=last);
    }
    Ok(cores)
}

/// Runs `corvid bench`.
#[allow(clippy::print_stdout)]
pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let scenario = match (&args.scenario, &args.scenario_file) {
        (_, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let name = file
                .file_stem()
                .map_or("custom".into(), |stem| stem.to_string_lossy().into_owned());
            Scenario::from_toml(&name, &text).with_context(|| file.display().to_string())?
        }
        (Some(name), None) => Scenario::preset(name)?,
        (None, None) => bail!("name a scenario or give --scenario-file"),
    };
    let targets: Vec<Target> = std::iter::once(&args.target)
        .chain(&args.compare)
        .map(|text| Target::parse(text, args.tls))
        .collect();
    if scenario.name == "tls-handshake" && targets.iter().any(|t| !t.tls) {
        bail!("tls-handshake needs TLS: --tls, or tls://HOST:PORT targets");
    }
    if args.pid.len() > targets.len() {
        bail!("{} --pid for {} target(s)", args.pid.len(), targets.len());
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let cores = args.cores.unwrap_or_else(|| vec![cpus - 1]);
    if let Some(core) = cores.iter().find(|&&core| core >= cpus) {
        bail!("--cores: CPU {core} is not there (this machine has {cpus})");
    }
    let config = BenchConfig {
        scenario,
        pids: args.pid,
        credentials: Credentials::new(&args.user, &args.password)?,
        sessions: args.sessions,
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
        rounds: args.rounds.unwrap_or(if targets.len() > 1 { 5 } else { 1 }),
        cores,
        targets,
    };
    let report = corvid_bench::run(&config, &mut |progress| eprintln!("{progress}"))?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.svg {
        std::fs::write(path, corvid_bench::chart::svg(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(first) = report.errors.first() {
        bail!(
            "{} session(s) failed; the first: {first}",
            report.errors.len()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(cores("3"), Ok(vec![3]));
        assert_eq!(cores("0,2-4"), Ok(vec![0, 2, 3, 4]));
        assert!(cores("4-2").is_err());
        assert!(cores("a").is_err());
        assert!(cores("").is_err());
    }

    #[test]
    fn cores_on_the_command_line() {
        #[derive(clap::Parser)]
        struct Command {
            #[command(flatten)]
            args: Args,
        }
        let args = |cores: &[&str]| {
            let base = ["bench", "relay", "--target", "127.0.0.1:1", "--user", "u"];
            <Command as clap::Parser>::try_parse_from(
                base.iter().chain(["--password", "p"].iter()).chain(cores),
            )
            .map(|command| command.args.cores)
        };
        assert_eq!(args(&["--cores", "0,2-3"]).ok(), Some(Some(vec![0, 2, 3])));
        assert_eq!(args(&[]).ok(), Some(None));
        assert!(args(&["--cores", "x"]).is_err());
    }
}
