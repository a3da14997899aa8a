//! The admin endpoint over real TCP: values recorded by two "cores" (threads) are served as
//! Prometheus text and JSON; unknown paths, other methods and garbage get their errors.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use corvid_proto::imap::command::CommandKind;
use corvid_proxy::admin::{self, MAX_HEAD};
use corvid_proxy::stats::{Counter, Gauge, Latency, Report, Stats};

/// Sends `request` raw and reads the whole answer (the endpoint closes after it).
fn exchange(addr: SocketAddr, request: &[u8]) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

fn get(addr: SocketAddr, path: &str) -> (String, String) {
    exchange(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
    )
}

#[test]
fn serves_metrics_stats_and_errors_over_tcp() {
    let stats = Stats::new(2);
    let cores: Vec<_> = (0..2)
        .map(|core| {
            let recorder = stats.recorder(core).unwrap();
            std::thread::spawn(move || {
                let n = core as u64 + 1;
                for _ in 0..n {
                    recorder.count(Counter::ConnectionsAccepted);
                    recorder.raise(Gauge::ConnectionsOpen);
                    recorder.command(CommandKind::Login);
                    recorder.count(Counter::LoginsOk);
                    recorder.record(Latency::Login, Duration::from_millis(2));
                }
                recorder.add(Counter::ClientReadBytes, 1000 * n);
                recorder.command(CommandKind::Unknown);
                recorder.record(Latency::CommandRelay, Duration::from_micros(300));
            })
        })
        .collect();
    for core in cores {
        core.join().unwrap();
    }
    let handle = admin::spawn(TcpListener::bind("127.0.0.1:0").unwrap(), stats).unwrap();
    let addr = handle.local_addr();

    let (head, body) = get(addr, "/metrics");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
    assert!(head.contains(&format!("Content-Length: {}\r\n", body.len())));
    assert!(head.contains("Connection: close"));
    for line in [
        "corvid_proxy_connections_accepted_total{core=\"0\"} 1",
        "corvid_proxy_connections_accepted_total{core=\"1\"} 2",
        "corvid_proxy_connections_open{core=\"1\"} 2",
        "corvid_proxy_commands_total{core=\"1\",command=\"LOGIN\"} 2",
        "corvid_proxy_commands_total{core=\"0\",command=\"UNKNOWN\"} 1",
        "corvid_proxy_client_read_bytes_total{core=\"1\"} 2000",
        "corvid_proxy_login_seconds_bucket{core=\"1\",le=\"0.001024\"} 0",
        "corvid_proxy_login_seconds_bucket{core=\"1\",le=\"0.002048\"} 2",
        "corvid_proxy_login_seconds_count{core=\"1\"} 2",
        "corvid_proxy_command_relay_seconds_bucket{core=\"0\",le=\"0.000512\"} 1",
    ] {
        assert!(body.lines().any(|l| l == line), "no line {line}");
    }

    let (head, body) = get(addr, "/stats?fresh");
    assert!(
        head.contains("Content-Type: application/json\r\n"),
        "{head}"
    );
    let report: Report = serde_json::from_str(&body).unwrap();
    assert_eq!(report.cores.len(), 2);
    assert_eq!(report.cores[1].core, Some(1));
    assert_eq!(report.total.counter(Counter::LoginsOk), 3);
    assert_eq!(report.total.gauge(Gauge::ConnectionsOpen), 3);
    assert_eq!(report.total.counter(Counter::ClientReadBytes), 3000);
    assert_eq!(report.total.commands_total(), 5);
    let login = report.total.latency(Latency::Login);
    assert_eq!(login.count, 3);
    let p50 = login.p50_seconds.unwrap();
    assert!((0.0019..0.0023).contains(&p50), "{p50}");

    let (head, body) = get(addr, "/");
    assert!(head.starts_with("HTTP/1.1 200 OK") && body.contains("/metrics"));
    let (head, _) = get(addr, "/nowhere");
    assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
    let (head, _) = exchange(addr, b"DELETE /stats HTTP/1.1\r\n\r\n");
    assert!(
        head.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
        "{head}"
    );
    assert!(head.contains("Allow: GET\r\n"));
    let (head, body) = exchange(addr, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03");
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
    assert!(body.contains("malformed"));
    let endless = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
    let (head, _) = exchange(addr, endless.as_bytes());
    assert!(head.starts_with("HTTP/1.1 431 "), "{head}");

    // A client that says nothing delays no other, and is dropped after the timeout.
    let mut silent = TcpStream::connect(addr).unwrap();
    let asked = Instant::now();
    let (head, _) = get(addr, "/");
    assert!(head.starts_with("HTTP/1.1 200 OK"));
    assert!(asked.elapsed() < admin::TIMEOUT / 2);
    let mut nothing = Vec::new();
    assert_eq!(silent.read_to_end(&mut nothing).unwrap(), 0);
    assert!(asked.elapsed() >= admin::TIMEOUT);

    handle.shutdown();
    assert!(TcpStream::connect(addr).is_err());
}
