//! `corvid demo` end to end: the whole murder started by one command, used by a real client
//! (Python's `imaplib`, as a newcomer would) through the proxy, checked in the master's table,
//! then stopped with SIGINT, leaving no process behind.
//!
//! The demo listens on fixed ports, so this file holds one test function: two demos cannot run
//! side by side.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use support::{log_tail, run_bounded};
use wait_timeout::ChildExt;

/// What the demo prints last, once everything listens.
const READY: &str = "corvid demo is ready";

/// john through the proxy over TLS (the demo's certificate verified): LIST, SELECT jane's
/// shared INBOX, FETCH it, CREATE a mailbox; then jane with STARTTLS on the plain port. Prints
/// what it saw as one JSON object.
const CLIENT: &str = r#"
import imaplib, json, ssl, sys

context = ssl.create_default_context(cafile=sys.argv[1])
seen = {}

john = imaplib.IMAP4_SSL("127.0.0.1", 1993, ssl_context=context)
john.login("john", "demo")
status, listing = john.list()
seen["list"] = [line.decode() for line in listing]
status, data = john.select('"Other Users/jane"', readonly=True)
seen["select"] = status
seen["exists"] = int(data[0])
status, data = john.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)] BODY.PEEK[TEXT])")
seen["fetched"] = b"".join(part[1] for part in data if isinstance(part, tuple)).decode()
status, _ = john.create("Projects")
seen["create"] = status
john.logout()

jane = imaplib.IMAP4("127.0.0.1", 1143)
jane.starttls(ssl_context=context)
jane.login("jane", "demo")
status, data = jane.select("INBOX", readonly=True)
seen["jane_exists"] = int(data[0])
jane.logout()

print(json.dumps(seen))
"#;

/// The `corvid demo` process; dropping it interrupts it (and kills it if it lingers), so a
/// failed test leaves no murder running on the fixed ports.
struct Demo {
    child: Child,
}

impl Demo {
    fn interrupt(&mut self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        let _ = kill_process(pid, Signal::INT);
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.interrupt();
            if !matches!(
                self.child.wait_timeout(Duration::from_secs(60)),
                Ok(Some(_))
            ) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// The lines the demo printed up to [`READY`]; panics with its log if it exits or takes too
/// long.
fn wait_ready(demo: &mut Demo, lines: &mpsc::Receiver<String>, log: &Path) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut printed = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains(READY) => return printed,
            Ok(line) => printed.push(line),
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(_) => {
                let status = demo.child.try_wait().unwrap();
                panic!(
                    "corvid demo not ready (exit: {status:?}); printed:\n{}\nlog:\n{}",
                    printed.join("\n"),
                    log_tail(log)
                );
            }
        }
    }
}

/// The pid the demo's table gives `role` (`  ROLE  PID  ADDRESSES  LOG`).
fn pid_of(printed: &[String], role: &str) -> u32 {
    printed
        .iter()
        .find_map(|line| {
            let mut fields = line.split_whitespace();
            (fields.next() == Some(role)).then(|| fields.next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {role} in the demo's table:\n{}", printed.join("\n")))
}

/// `corvid mboxlist find NAME` against the demo's master as its admin: the entry as JSON.
fn find_in_master(name: &str) -> serde_json::Value {
    let output = run_bounded(
        Command::new(env!("CARGO_BIN_EXE_corvid")).args([
            "mboxlist",
            "--master",
            "127.0.0.1:3905",
            "--user",
            "admin",
            "--password",
            "demo",
            "find",
            name,
        ]),
        b"",
        Duration::from_secs(60),
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "mboxlist find {name}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("mboxlist find {name}: {error}: {stdout:?}"))
}

#[test]
fn john_reads_janes_shared_inbox_through_the_proxy_and_ctrl_c_stops_everything() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("demo.log");
    let child = Command::new(env!("CARGO_BIN_EXE_corvid"))
        .arg("demo")
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut demo = Demo { child };
    let stdout = demo.child.stdout.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let printed = wait_ready(&mut demo, &lines, &log);
    let pids: Vec<u32> = ["mupdate", "be1", "be2", "proxy"]
        .iter()
        .map(|role| pid_of(&printed, role))
        .collect();
    let all = printed.join("\n");
    for shown in [
        "127.0.0.1:1993",
        "127.0.0.1:1143",
        "http://127.0.0.1:9143/metrics",
    ] {
        assert!(all.contains(shown), "{shown} not shown:\n{all}");
    }

    // A real client, as the README's walk-through.
    let cert = dir.path().join("tls/cert.pem");
    let output = run_bounded(
        Command::new("python3").arg("-").arg(&cert),
        CLIENT.as_bytes(),
        Duration::from_secs(120),
    )
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the Python client failed: {stdout}{}\nproxy log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        log_tail(&dir.path().join("logs/proxy.log"))
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let listing: Vec<&str> = seen["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|line| line.as_str())
        .collect();
    assert!(
        listing
            .iter()
            .any(|line| line.ends_with("\"Other Users/jane\"")),
        "{listing:?}"
    );
    assert!(
        listing.iter().any(|line| line.ends_with(" INBOX")),
        "{listing:?}"
    );
    assert_eq!(seen["select"], "OK", "{seen}");
    assert_eq!(seen["exists"], 3, "jane's three messages: {seen}");
    let fetched = seen["fetched"].as_str().unwrap();
    for expected in [
        "Subject: Quarterly report draft",
        "From: John Smith <john@example.org>",
        "filename=\"q3-revenue.csv\"",
        "north,412000",
        "Subject: Maintenance window on Saturday",
        "Subject: Re: Conference talk",
        "Slides by Monday please.",
    ] {
        assert!(fetched.contains(expected), "{expected:?} not in {fetched}");
    }
    assert_eq!(seen["create"], "OK", "{seen}");
    assert_eq!(seen["jane_exists"], 3, "{seen}");

    // The master's table: the new mailbox on john's backend, jane's INBOX on be2 with john's
    // rights.
    let projects = find_in_master("user.john.Projects");
    assert_eq!(projects["location"], "be1!default", "{projects}");
    assert_eq!(projects["state"], "active", "{projects}");
    let jane = find_in_master("user.jane");
    assert_eq!(jane["location"], "be2!default", "{jane}");
    let acl: Vec<&str> = jane["acl"].as_str().unwrap().split('\t').collect();
    assert!(
        acl.chunks(2).any(|entry| entry == ["john", "lrs"]),
        "{jane}"
    );

    // Ctrl-C: everything stops, the demo exits 0.
    demo.interrupt();
    let status = demo
        .child
        .wait_timeout(Duration::from_secs(60))
        .unwrap()
        .unwrap_or_else(|| {
            panic!(
                "corvid demo still running after SIGINT:\n{}",
                log_tail(&log)
            )
        });
    assert!(status.success(), "{status}:\n{}", log_tail(&log));
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} outlived the demo"
        );
    }
}
