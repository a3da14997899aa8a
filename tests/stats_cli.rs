//! `corvid stats` against a real admin endpoint: the per-core table, the JSON report, the
//! refreshing view, and a clear error when no proxy listens.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use corvid_proto::imap::command::CommandKind;
use corvid_proxy::admin::{self, AdminHandle};
use corvid_proxy::stats::{Counter, Gauge, Latency, Report, Stats};

/// An admin endpoint serving two cores' statistics, with some values recorded.
fn endpoint() -> AdminHandle {
    let stats = Stats::new(2);
    let (zero, one) = (stats.recorder(0).unwrap(), stats.recorder(1).unwrap());
    for _ in 0..3 {
        zero.raise(Gauge::ConnectionsOpen);
        zero.count(Counter::LoginsOk);
    }
    zero.raise(Gauge::ConnectionsTls);
    one.raise(Gauge::ConnectionsOpen);
    one.raise(Gauge::SessionsIdle);
    one.count(Counter::LoginsFailed);
    for _ in 0..10 {
        zero.command(CommandKind::Fetch);
        zero.record(Latency::CommandRelay, Duration::from_micros(700));
    }
    admin::spawn(TcpListener::bind("127.0.0.1:0").unwrap(), stats).unwrap()
}

fn corvid_stats(args: &[&str], bound: Duration) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corvid"));
    command.arg("stats").args(args);
    support::run_bounded(&mut command, b"", bound).unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// The table row that starts with `name`, split into its columns.
fn row(table: &str, name: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("no row {name} in\n{table}"));
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn prints_the_per_core_table() {
    let endpoint = endpoint();
    let addr = endpoint.local_addr().to_string();
    let output = corvid_stats(&["--admin", &addr], Duration::from_secs(30));
    assert!(output.status.success(), "{output:?}");
    let table = stdout(&output);
    assert!(
        table.starts_with(&format!("corvid proxy at {addr}: up ")),
        "{table}"
    );
    assert!(table.contains("2 cores; rates since start"));
    // core, conns, tls, idle, login ok, login bad, cmd/s, in/s (2 words), out/s, relay p50, p99
    let zero = row(&table, "0");
    assert_eq!(zero[1..6], ["3", "1", "0", "3", "0"]);
    assert!(zero[6].parse::<f64>().unwrap() > 0.0);
    assert_eq!(zero[7..11], ["0", "B", "0", "B"]);
    let p50 = zero[11].parse::<f64>().unwrap();
    assert!(
        (600.0..800.0).contains(&p50) && zero[12] == "µs",
        "{zero:?}"
    );
    let one = row(&table, "1");
    assert_eq!(one[1..6], ["1", "0", "1", "0", "1"]);
    assert_eq!(one[one.len() - 2..], ["-", "-"]);
    let total = row(&table, "total");
    assert_eq!(total[1..6], ["4", "1", "1", "3", "1"]);

    let output = corvid_stats(&["--admin", &addr, "--json"], Duration::from_secs(30));
    assert!(output.status.success(), "{output:?}");
    let report: Report = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report.total.commands_total(), 10);
    assert_eq!(report.cores[0].latency(Latency::CommandRelay).count, 10);
    endpoint.shutdown();
}

#[test]
fn watch_refreshes_with_rates_over_the_interval() {
    let endpoint = endpoint();
    let addr = endpoint.local_addr().to_string();
    let output = corvid_stats(
        &["--admin", &addr, "--watch", "1"],
        Duration::from_millis(2500),
    );
    let screen = stdout(&output);
    let frames: Vec<&str> = screen.split("\x1b[2J\x1b[H").skip(1).collect();
    assert!(frames.len() >= 2, "{screen}");
    assert!(frames[0].contains("rates since start"));
    assert!(
        frames[1].contains("rates over the last 1."),
        "{}",
        frames[1]
    );
    // Nothing happened between the two fetches.
    assert_eq!(row(frames[1], "total")[6], "0.0");
    endpoint.shutdown();
}

#[test]
fn says_clearly_when_the_proxy_is_not_reachable() {
    let addr = format!("127.0.0.1:{}", support::free_port());
    let output = corvid_stats(&["--admin", &addr], Duration::from_secs(30));
    assert!(!output.status.success());
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(
        error.contains(&format!(
            "cannot reach the proxy's admin endpoint at {addr}"
        )),
        "{error}"
    );
}
