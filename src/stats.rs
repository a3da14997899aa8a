//! `corvid stats`: the proxy's per-core statistics, fetched from its admin endpoint's `/stats`
//! and shown as a table for the NOC (or as the JSON report).
//!
//! The first table shows rates averaged since the proxy started; with `--watch`, each later
//! one shows rates over the last interval, from the difference between two fetches.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_proxy::admin::DEFAULT_ADDR;
use corvid_proxy::stats::{CoreReport, Counter, Gauge, Latency, Report};

/// Flags of `corvid stats`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The proxy's admin endpoint, `HOST:PORT`.
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_ADDR.to_string())]
    admin: String,
    /// Refresh every SECONDS [default: 2], with rates over each interval, until interrupted.
    #[arg(
        long,
        value_name = "SECONDS",
        num_args = 0..=1,
        default_missing_value = "2",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    watch: Option<u64>,
    /// Print the JSON report (one line per fetch) instead of the table.
    #[arg(long)]
    json: bool,
}

/// How long connecting to, or one read from, the admin endpoint may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read from the admin endpoint.
const MAX_ANSWER: u64 = 64 << 20;

/// Clears the terminal and puts the cursor at its top left (ANSI).
const CLEAR: &str = "\x1b[2J\x1b[H";

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let mut previous: Option<Report> = None;
    loop {
        let fetched = fetch(&args.admin);
        let frame = match (&fetched, args.watch) {
            (Ok(report), _) if args.json => serde_json::to_string(report)? + "\n",
            (Ok(report), watch) => {
                let clear = if watch.is_some() { CLEAR } else { "" };
                format!("{clear}{}", table(&args.admin, report, previous.as_ref()))
            }
            // Watching, the NOC sees the failure and the next refresh tries again.
            (Err(error), Some(_)) => format!("{CLEAR}{error:#}\n"),
            (Err(_), None) => return fetched.map(drop),
        };
        #[allow(clippy::print_stdout)]
        {
            print!("{frame}");
        }
        std::io::stdout().flush()?;
        let Some(seconds) = args.watch else {
            return Ok(());
        };
        previous = fetched.ok();
        std::thread::sleep(Duration::from_secs(seconds));
    }
}

/// Fetches and reads the report at `addr` (`HOST:PORT`).
fn fetch(addr: &str) -> anyhow::Result<Report> {
    let unreachable = || format!("cannot reach the proxy's admin endpoint at {addr}");
    let candidates: Vec<SocketAddr> = addr.to_socket_addrs().with_context(unreachable)?.collect();
    let mut last_error = None;
    let mut stream = None;
    for candidate in &candidates {
        match TcpStream::connect_timeout(candidate, TIMEOUT) {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = Some(error),
        }
    }
    let Some(mut stream) = stream else {
        let error = last_error.unwrap_or_else(|| std::io::ErrorKind::NotFound.into());
        return Err(error).with_context(unreachable);
    };
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let request = format!("GET /stats HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut answer = Vec::new();
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.take(MAX_ANSWER).read_to_end(&mut answer))
        .with_context(unreachable)?;
    let body = ok_body(&answer)
        .with_context(|| format!("the admin endpoint at {addr} did not answer /stats"))?;
    serde_json::from_slice(body)
        .with_context(|| format!("the admin endpoint at {addr} sent a report that is not JSON"))
}

/// The body of an HTTP answer whose status is 200.
fn ok_body(answer: &[u8]) -> anyhow::Result<&[u8]> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        bail!("the answer is not HTTP");
    };
    let (head, body) = answer.split_at(end);
    let status_line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    if status_line.split(' ').nth(1) != Some("200") {
        bail!("it answered {status_line}");
    }
    Ok(body.get(4..).unwrap_or_default())
}

/// Rates: per second over the interval between two reports, or since the proxy started.
struct Rates<'a> {
    earlier: Option<&'a CoreReport>,
    seconds: f64,
}

impl Rates<'_> {
    fn of(&self, now: &CoreReport, value: impl Fn(&CoreReport) -> u64) -> f64 {
        let before = self.earlier.map_or(0, &value);
        value(now).saturating_sub(before) as f64 / self.seconds.max(1e-3)
    }
}

/// The table of a report; rates over the interval since `previous` when it is an earlier
/// report of the same proxy run, else since the proxy started.
fn table(addr: &str, report: &Report, previous: Option<&Report>) -> String {
    let previous = previous.filter(|p| {
        p.uptime_seconds < report.uptime_seconds && p.cores.len() == report.cores.len()
    });
    let (span, seconds) = match previous {
        Some(p) => {
            let seconds = report.uptime_seconds - p.uptime_seconds;
            (format!("over the last {seconds:.1} s"), seconds)
        }
        None => ("since start".to_owned(), report.uptime_seconds),
    };
    let mut out = format!(
        "corvid proxy at {addr}: up {}, {} cores; rates {span}\n\n",
        duration(report.uptime_seconds),
        report.cores.len(),
    );
    let _ = writeln!(
        out,
        "{:>5} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9}",
        "core",
        "conns",
        "tls",
        "idle",
        "login ok",
        "login bad",
        "cmd/s",
        "in/s",
        "out/s",
        "relay p50",
        "relay p99",
    );
    let rows = report
        .cores
        .iter()
        .enumerate()
        .map(|(at, core)| (at.to_string(), core, previous.and_then(|p| p.cores.get(at))))
        .chain([(
            "total".to_owned(),
            &report.total,
            previous.map(|p| &p.total),
        )]);
    for (name, core, earlier) in rows {
        let rates = Rates { earlier, seconds };
        let relay = core.latency(Latency::CommandRelay);
        let _ = writeln!(
            out,
            "{name:>5} {:>8} {:>8} {:>8} {:>9} {:>9} {:>9.1} {:>10} {:>10} {:>9} {:>9}",
            core.gauge(Gauge::ConnectionsOpen),
            core.gauge(Gauge::ConnectionsTls),
            core.gauge(Gauge::SessionsIdle),
            core.counter(Counter::LoginsOk),
            core.counter(Counter::LoginsFailed),
            rates.of(core, CoreReport::commands_total),
            bytes(rates.of(core, |c| c.counter(Counter::ClientReadBytes))),
            bytes(rates.of(core, |c| c.counter(Counter::ClientWrittenBytes))),
            latency(relay.p50_seconds),
            latency(relay.p99_seconds),
        );
    }
    out
}

/// Bytes per second, in B, KB, MB or GB (powers of 1000).
fn bytes(per_second: f64) -> String {
    let units = [("GB", 1e9), ("MB", 1e6), ("KB", 1e3)];
    match units.iter().find(|(_, size)| per_second >= *size) {
        Some((unit, size)) => format!("{:.1} {unit}", per_second / size),
        None => format!("{per_second:.0} B"),
    }
}

/// A latency in µs, ms or s; `-` when nothing was measured.
fn latency(seconds: Option<f64>) -> String {
    match seconds {
        None => "-".to_owned(),
        Some(s) if s >= 1.0 => format!("{s:.2} s"),
        Some(s) if s >= 1e-3 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{:.0} µs", s * 1e6),
    }
}

/// An uptime as `3d 4h`, `2h 5m`, `4m 10s` or `12s`.
fn duration(seconds: f64) -> String {
    let total = seconds as u64;
    let (days, hours, minutes, secs) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, _) => format!("{minutes}m {secs}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(1500.0), "1.5 KB");
        assert_eq!(bytes(2.5e9), "2.5 GB");
        assert_eq!(latency(None), "-");
        assert_eq!(latency(Some(0.000_250)), "250 µs");
        assert_eq!(latency(Some(0.0125)), "12.5 ms");
        assert_eq!(latency(Some(2.0)), "2.00 s");
        assert_eq!(duration(12.7), "12s");
        assert_eq!(duration(250.0), "4m 10s");
        assert_eq!(duration(7500.0), "2h 5m");
        assert_eq!(duration(3.0 * 86_400.0 + 4.0 * 3600.0), "3d 4h");
    }

    #[test]
    fn only_a_200_answer_has_a_body() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(ok_body(ok).unwrap(), b"{}");
        let missing = b"HTTP/1.1 404 Not Found\r\n\r\nnot found";
        let error = ok_body(missing).unwrap_err().to_string();
        assert_eq!(error, "it answered HTTP/1.1 404 Not Found");
        assert!(ok_body(b"SSH-2.0-OpenSSH\r\n").is_err());
    }
}
