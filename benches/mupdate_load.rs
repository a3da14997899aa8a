//! End-to-end load on a MUPDATE master: `corvid mupdate` beside Cyrus 3.6's `mupdate -m`, on
//! the same work, measured from outside over TCP on 127.0.0.1.
//!
//! Run (from the repository root; `cargo bench` builds the release `corvid` binary first):
//!
//! ```text
//! cargo bench --bench mupdate_load                       # 1M entries, 3 runs, both masters
//! cargo bench --bench mupdate_load -- --entries 200000 --runs 1 --no-cyrus
//! ```
//!
//! Under `cargo test` (no `--bench` argument) it makes a smoke run instead: 2,000 entries, one
//! run, corvid only, one-second phases.
//!
//! Flags: `--entries N` (table size, default 1,000,000), `--runs N` (default 3; medians are
//! reported), `--write-secs S` (each writer phase, default 5), `--changes N` (latency samples
//! on corvid, default 10,000, paced one a millisecond), `--cyrus-changes N` and
//! `--cyrus-pace-ms MS` (on Cyrus, default 1,000 one every 10 ms: one Cyrus connection commits
//! a few hundred ACTIVATEs a second, so at one a millisecond its latency is only its backlog),
//! `--idle N` (idle connections on corvid, default 5,000), `--cyrus-idle N` (on Cyrus, default
//! 900: its mupdate watches connections with select(2), whose FD_SETSIZE is 1,024; it is
//! given `mupdate_connections_max: 1000`, the default being 128), `--no-cyrus`,
//! `--no-corvid`. `RUST_LOG=corvid_mupdate=debug` shows the follower's log.
//!
//! Each run first times `fdatasync` of a small append in the temp dir (the floor under every
//! durable commit on this disk), then, for corvid and then Cyrus (so both see the same machine
//! within a few minutes):
//!
//! 1. **idle connections**, on a fresh empty master: its RSS (`VmRSS` of `/proc/PID/status`;
//!    for Cyrus the `mupdate` child of `master`), then `--idle` authenticated connections left
//!    silent, then the RSS again: the growth per connection. This RSS is also "empty".
//! 2. **load**, on a second fresh master: corvid over MUPDATE, 4 connections each pipelining
//!    256 ACTIVATEs (`user.load.NNNNNNN`, `be1!default`, `anyone lrs`) with the blocking
//!    `corvid_mupdate::client::Client`. Cyrus would need about 1,000 s for that (one fsync per
//!    ACTIVATE), so its mailboxes.db is written before it starts with `cyr_dbtool -T ...
//!    twoskip set` (one transaction), each record exactly as its mupdate writes one.
//! 3. **dump, plain UPDATE**: one `Client` sends `UPDATE` and reads every record up to the
//!    tagged OK (decoded into a `Vec<Record>`): the same client for both masters. Then, after
//!    1 s, the **loaded RSS** (`VmRSS`, `RssAnon`): (loaded − empty) / entries is the memory
//!    per mailbox. Cyrus's table is an mmap of mailboxes.db, so it counts as file pages.
//! 4. **dump, corvid follower**: `corvid_mupdate::follower::run` on its own glommio thread (no
//!    state directory), timed from start to ready (table built): XRESUME's dump against
//!    corvid, plain UPDATE against Cyrus.
//! 5. **commit → follower latency**: with that follower streaming, one connection sends paced
//!    ACTIVATEs (a second thread drains the OKs); latency is from a change's send to the
//!    follower's `on_update` seeing it. p50, p99, max.
//! 6. **writers**: 16 threads, one connection each, each keeping W ACTIVATEs in flight (W = 1
//!    and W = 8) of new names for `--write-secs`; an ACTIVATE counts when its OK arrives (both
//!    masters answer only once the change is on disk). Acks per second over the phase, and ack
//!    latency (send → OK) p50 and p99.
//!
//! The machine is shared and noisy: compare the two masters within one run of this tool, and
//! read the medians.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::cell::Cell;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::sync::{Arc, Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use corvid_mupdate::client::Client;
use corvid_mupdate::follower::{Credentials, Follower, FollowerConfig, Update};
use corvid_mupdate::table::Change;
use corvid_proto::mupdate::{
    AuthReply, Banner, Command, CommandKind, DecodeError, Decoded, Limits, Response, Status,
};
use support::corvid::CorvidMaster;
use support::cyrus::CyrusMaster;
use support::{MupdateEndpoint, MupdateMaster, procfs};

const TIMEOUT: Duration = Duration::from_secs(30);
const LOCATION: &[u8] = b"be1!default";
const ACL: &[u8] = b"anyone\tlrs\t";
const WRITERS: usize = 16;

#[derive(Debug, Clone)]
struct Options {
    entries: usize,
    runs: usize,
    write_secs: u64,
    changes: usize,
    idle: usize,
    cyrus_idle: usize,
    cyrus_changes: usize,
    cyrus_pace_ms: u64,
    corvid: bool,
    cyrus: bool,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            entries: 1_000_000,
            runs: 3,
            write_secs: 5,
            changes: 10_000,
            idle: 5_000,
            cyrus_idle: 900,
            cyrus_changes: 1_000,
            cyrus_pace_ms: 10,
            corvid: true,
            cyrus: true,
        };
        // `cargo bench` passes `--bench`; `cargo test --all-targets` (ci/test) runs this target
        // without it: then a small smoke run, so that a broken harness fails CI but CI does not
        // spend a quarter of an hour here.
        if !std::env::args().any(|arg| arg == "--bench") {
            o = Options {
                entries: 2_000,
                runs: 1,
                write_secs: 1,
                changes: 200,
                idle: 50,
                cyrus: false,
                ..o
            };
        }
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut number = || -> usize {
                args.next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .unwrap_or_else(|| panic!("{arg} needs a number"))
            };
            match arg.as_str() {
                "--entries" => o.entries = number(),
                "--runs" => o.runs = number(),
                "--write-secs" => o.write_secs = number() as u64,
                "--changes" => o.changes = number(),
                "--idle" => o.idle = number(),
                "--cyrus-idle" => o.cyrus_idle = number(),
                "--cyrus-changes" => o.cyrus_changes = number(),
                "--cyrus-pace-ms" => o.cyrus_pace_ms = number() as u64,
                "--no-cyrus" => o.cyrus = false,
                "--no-corvid" => o.corvid = false,
                // `cargo bench` passes `--bench`; filters are not used.
                _ => {}
            }
        }
        o
    }
}

/// A master under load.
enum Master {
    Corvid(CorvidMaster),
    Cyrus(CyrusMaster),
}

impl Master {
    fn endpoint(&self) -> MupdateEndpoint {
        match self {
            Master::Corvid(m) => m.endpoint(),
            Master::Cyrus(m) => m.endpoint(),
        }
    }

    /// The process that holds the table and the connections.
    fn pid(&self) -> u32 {
        match self {
            Master::Corvid(m) => m.pid().unwrap(),
            Master::Cyrus(m) => {
                let master = m.instance.master_pid().unwrap();
                cyrus_mupdate_pid(master).expect("Cyrus's mupdate process")
            }
        }
    }
}

/// The `mupdate` child of Cyrus's `master` (there is one: prefork=1, and it is threaded).
fn cyrus_mupdate_pid(master: u32) -> Option<u32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((comm, rest)) = stat.split_once(") ") else {
            continue;
        };
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok());
        if comm.ends_with("(mupdate") && ppid == Some(master) {
            return Some(pid);
        }
    }
    None
}

/// `VmRSS` and `RssAnon` of a process, in KiB.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn login(endpoint: &MupdateEndpoint) -> Client {
    let mut client = Client::connect(&endpoint.addr(), TIMEOUT).unwrap();
    client
        .authenticate(&endpoint.user, &endpoint.password, "")
        .unwrap();
    client
}

fn activate(name: String) -> CommandKind {
    CommandKind::Activate {
        name: name.into_bytes(),
        location: LOCATION.to_vec(),
        acl: ACL.to_vec(),
    }
}

/// A raw pipelining connection: sends commands and reads responses on its own terms, so that
/// each command can be timed from its send to its OK.
struct Raw {
    stream: TcpStream,
    buffer: Vec<u8>,
    next_tag: u64,
}

impl Raw {
    fn login(endpoint: &MupdateEndpoint) -> Raw {
        let mut stream = TcpStream::connect(endpoint.addr()).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buffer = Vec::new();
        read(&mut stream, &mut buffer, |i| {
            Banner::decode(i, Limits::default())
        });
        let message = [
            b"".as_slice(),
            endpoint.user.as_bytes(),
            endpoint.password.as_bytes(),
        ]
        .join(&0u8);
        let mut out = Vec::new();
        Command {
            tag: b"A0".to_vec(),
            kind: CommandKind::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some(message),
            },
        }
        .encode(&mut out);
        stream.write_all(&out).unwrap();
        match read(&mut stream, &mut buffer, |i| {
            AuthReply::decode(i, Limits::default())
        }) {
            AuthReply::Done(Response::Status {
                status: Status::Ok, ..
            }) => {}
            other => panic!("login refused: {other:?}"),
        }
        Raw {
            stream,
            buffer,
            next_tag: 1,
        }
    }

    /// Encodes one command into `out` and returns its tag.
    fn encode(&mut self, kind: CommandKind, out: &mut Vec<u8>) -> Vec<u8> {
        let tag = format!("W{}", self.next_tag).into_bytes();
        self.next_tag += 1;
        Command {
            tag: tag.clone(),
            kind,
        }
        .encode(out);
        tag
    }

    /// The next tagged status (untagged lines and records are skipped): its tag and status.
    fn next_tagged(&mut self) -> (Vec<u8>, Status) {
        loop {
            match read(&mut self.stream, &mut self.buffer, |i| {
                Response::decode(i, Limits::default())
            }) {
                Response::Status {
                    tag: Some(tag),
                    status,
                    ..
                } => return (tag, status),
                Response::Status {
                    status: Status::Bye,
                    text,
                    ..
                } => panic!("BYE: {}", String::from_utf8_lossy(&text)),
                _ => {}
            }
        }
    }
}

fn read<T>(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<Decoded<T>, DecodeError>,
) -> T {
    loop {
        if let Decoded::Done { value, consumed } = decode(buffer).unwrap() {
            buffer.drain(..consumed);
            return value;
        }
        let mut chunk = [0u8; 16 << 10];
        match stream.read(&mut chunk).unwrap() {
            0 => panic!("master closed the connection"),
            n => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The `q` quantile of sorted samples.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Loads `entries` names, 4 connections pipelining 256 each, stopping at `bound`. Returns how
/// many were loaded and how long it took.
fn load(endpoint: &MupdateEndpoint, entries: usize, bound: Duration) -> (usize, Duration) {
    const LOADERS: usize = 4;
    const CHUNK: usize = 4096;
    let started = Instant::now();
    let deadline = started + bound;
    let threads: Vec<JoinHandle<usize>> = (0..LOADERS)
        .map(|t| {
            let endpoint = endpoint.clone();
            std::thread::spawn(move || {
                let mut client = login(&endpoint);
                let mine: Vec<usize> = (t..entries).step_by(LOADERS).collect();
                let mut done = 0;
                for chunk in mine.chunks(CHUNK) {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let replies = client
                        .pipeline(
                            chunk.iter().map(|i| activate(format!("user.load.{i:07}"))),
                            256,
                        )
                        .unwrap();
                    assert!(replies.iter().all(|r| r.status == Status::Ok));
                    done += chunk.len();
                }
                client.logout();
                done
            })
        })
        .collect();
    let loaded = threads.into_iter().map(|t| t.join().unwrap()).sum();
    (loaded, started.elapsed())
}

/// A plain UPDATE with the blocking client: time to the tagged OK, and records read.
fn dump_update(endpoint: &MupdateEndpoint) -> (Duration, usize) {
    let mut client = login(endpoint);
    let started = Instant::now();
    let reply = client
        .command(CommandKind::Update { hosts: Vec::new() })
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(reply.status, Status::Ok, "{}", reply.text);
    (elapsed, reply.records.len())
}

/// What the follower thread reports.
enum Seen {
    /// The dump is applied: the table's size.
    Ready(usize),
    /// A latency-probe change, by index, and when it was seen.
    Probe(usize, Instant),
}

/// corvid's follower on its own glommio thread, until dropped, and what it reports.
struct FollowerThread {
    seen: mpsc::Receiver<Seen>,
    _thread: support::follower::FollowerThread,
}

impl FollowerThread {
    fn start(endpoint: &MupdateEndpoint, probe: String) -> FollowerThread {
        let config = FollowerConfig {
            master: endpoint.addr(),
            credentials: Credentials {
                user: endpoint.user.clone(),
                password: endpoint.password.clone(),
                authzid: String::new(),
            },
            hosts: Vec::new(),
            state_dir: None,
            keepalive: Duration::from_secs(30),
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(400),
            snapshot_every: Duration::from_secs(3600),
        };
        let (tx, seen) = mpsc::channel();
        let thread = support::follower::FollowerThread::start(config, move |_| {
            let probe = probe.into_bytes();
            // Against Cyrus the dump arrives as plain changes and readiness may come with
            // no update at all, so readiness is also polled (every millisecond, until seen).
            let told = Rc::new(Cell::new(false));
            let (told_run, tx_run) = (told.clone(), tx.clone());
            let on_update = move |f: &Follower, updates: &[Update]| {
                let now = Instant::now();
                if f.is_ready() && !told_run.replace(true) {
                    let _ = tx_run.send(Seen::Ready(f.table().len()));
                }
                for update in updates {
                    if let Update::Changed(Change::Upsert { name, .. }) = update
                        && name.starts_with(&probe)
                    {
                        let i = std::str::from_utf8(&name[probe.len()..])
                            .ok()
                            .and_then(|s| s.parse().ok());
                        if let Some(i) = i {
                            let _ = tx_run.send(Seen::Probe(i, now));
                        }
                    }
                }
            };
            let poll = move |f: &Follower| {
                if told.get() {
                    return Duration::from_millis(20);
                }
                if f.is_ready() && !told.replace(true) {
                    let _ = tx.send(Seen::Ready(f.table().len()));
                }
                Duration::from_millis(1)
            };
            (on_update, poll)
        });
        FollowerThread {
            seen,
            _thread: thread,
        }
    }
}

/// Paced ACTIVATEs of `{probe}{i}`, one every millisecond; returns each send time.
fn paced_writer(
    endpoint: &MupdateEndpoint,
    probe: &str,
    changes: usize,
    pace: Duration,
) -> Vec<Instant> {
    let mut raw = Raw::login(endpoint);
    let mut reader = raw.stream.try_clone().unwrap();
    let drain = std::thread::spawn(move || {
        let mut buffer = std::mem::take(&mut raw.buffer);
        let mut oks = 0;
        while oks < changes {
            let response = read(&mut reader, &mut buffer, |i| {
                Response::decode(i, Limits::default())
            });
            if let Response::Status { tag: Some(_), .. } = response {
                oks += 1;
            }
        }
    });
    let mut writer = Raw {
        stream: raw.stream,
        buffer: Vec::new(),
        next_tag: 1,
    };
    let start = Instant::now() + Duration::from_millis(10);
    let mut sent = Vec::with_capacity(changes);
    let mut out = Vec::new();
    for i in 0..changes {
        let due = start + pace * i as u32;
        while Instant::now() < due {
            let left = due.saturating_duration_since(Instant::now());
            if left > Duration::from_micros(200) {
                std::thread::sleep(left - Duration::from_micros(100));
            } else {
                std::hint::spin_loop();
            }
        }
        out.clear();
        writer.encode(activate(format!("{probe}{i}")), &mut out);
        sent.push(Instant::now());
        writer.stream.write_all(&out).unwrap();
    }
    drain.join().unwrap();
    sent
}

/// Results of one writer phase.
#[derive(Debug, Clone, Copy)]
struct Writes {
    rate: f64,
    /// The master's CPU time per acknowledged ACTIVATE.
    cpu_per_ack: Duration,
    /// The master's CPU use over the phase (1.0: one core).
    cpu_share: f64,
    p50: Duration,
    p99: Duration,
}

/// 16 writers, each keeping `window` ACTIVATEs of fresh names in flight for `secs`.
fn writers(endpoint: &MupdateEndpoint, pid: u32, window: usize, secs: u64, tag: &str) -> Writes {
    let barrier = Arc::new(Barrier::new(WRITERS + 1));
    let threads: Vec<JoinHandle<Vec<Duration>>> = (0..WRITERS)
        .map(|t| {
            let endpoint = endpoint.clone();
            let barrier = barrier.clone();
            let prefix = format!("user.{tag}.t{t:02}.");
            std::thread::spawn(move || {
                let mut raw = Raw::login(&endpoint);
                barrier.wait();
                let deadline = Instant::now() + Duration::from_secs(secs);
                let mut in_flight = std::collections::VecDeque::new();
                let mut latencies = Vec::new();
                let mut next = 0usize;
                let mut out = Vec::new();
                loop {
                    let open = Instant::now() < deadline;
                    if !open && in_flight.is_empty() {
                        break;
                    }
                    out.clear();
                    while open && in_flight.len() < window {
                        let tag = raw.encode(activate(format!("{prefix}{next}")), &mut out);
                        next += 1;
                        in_flight.push_back((tag, Instant::now()));
                    }
                    if !out.is_empty() {
                        raw.stream.write_all(&out).unwrap();
                    }
                    let (tag, status) = raw.next_tagged();
                    let (sent_tag, sent) = in_flight.pop_front().unwrap();
                    assert_eq!(tag, sent_tag);
                    assert_eq!(status, Status::Ok);
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let cpu_before = procfs::cpu_time(pid);
    let mut all: Vec<Duration> = Vec::new();
    for t in threads {
        all.extend(t.join().unwrap());
    }
    let elapsed = started.elapsed();
    let used = procfs::cpu_time(pid).saturating_sub(cpu_before);
    all.sort();
    Writes {
        rate: all.len() as f64 / elapsed.as_secs_f64(),
        cpu_per_ack: used / all.len().max(1) as u32,
        cpu_share: used.as_secs_f64() / elapsed.as_secs_f64(),
        p50: quantile(&all, 0.5),
        p99: quantile(&all, 0.99),
    }
}

/// Everything one run measures on one master.
#[derive(Debug, Clone, Default)]
struct RunResult {
    entries: usize,
    load_rate: f64,
    rss_empty: (u64, u64),
    rss_loaded: (u64, u64),
    /// corvid only: RSS after a restart on the same data (no change history in memory), and
    /// the entries then.
    rss_restarted: Option<((u64, u64), usize)>,
    dump_update: Duration,
    dump_follower: Duration,
    lat_p50: Duration,
    lat_p99: Duration,
    lat_max: Duration,
    lat_lost: usize,
    w1: Option<Writes>,
    w8: Option<Writes>,
    idle: usize,
    idle_bytes_per_conn: f64,
}

/// Starts a fresh master. A Cyrus master gets its `entries` written into mailboxes.db first
/// (`cyr_dbtool -T ... twoskip set`, one transaction), in the very form its `mupdate` writes
/// for an ACTIVATE of a remote mailbox: loading them over MUPDATE would take Cyrus about
/// 1,000 s (one fsync per ACTIVATE).
fn start(cyrus: bool, entries: usize) -> Master {
    if !cyrus {
        return Master::Corvid(CorvidMaster::start());
    }
    Master::Cyrus(CyrusMaster::start_with(false, |instance| {
        // Cyrus refuses connections past 128 by default. Its mupdate watches them with
        // select(2) (FD_SETSIZE 1,024), hence --cyrus-idle 900.
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(instance.imapd_conf())
            .unwrap();
        conf.write_all(b"mupdate_connections_max: 1000\n").unwrap();
        if entries == 0 {
            return;
        }
        let started = Instant::now();
        let mut input = String::with_capacity(entries * 72);
        for i in 0..entries {
            input.push_str(&format!(
                "Nuser\x1fload\x1f{i:07}\t%(T er P default S be1 M 1795886605 A %(anyone lrs))\n"
            ));
        }
        let db = instance.dir().join("conf/mailboxes.db");
        let db = db.to_str().unwrap();
        let out = instance.tool("cyr_dbtool", &["-n", "-T", db, "twoskip", "set"], &input);
        assert!(out.status.success(), "cyr_dbtool: {}", out.stderr);
        eprintln!(
            "  Cyrus mailboxes.db: {entries} entries written in {:.2?}",
            started.elapsed()
        );
    }))
}

/// Opens `count` authenticated idle connections on a fresh master: its RSS before them, and
/// the growth per connection.
fn idle_phase(master: &Master, count: usize, r: &mut RunResult) {
    let endpoint = master.endpoint();
    let pid = master.pid();
    std::thread::sleep(Duration::from_millis(500));
    r.rss_empty = rss(pid);
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        conns.push(login(&endpoint));
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = rss(pid);
    r.idle = conns.len();
    r.idle_bytes_per_conn = (after.0 as f64 - r.rss_empty.0 as f64) * 1024.0 / count.max(1) as f64;
    eprintln!(
        "  idle: {count} connections, RSS {} -> {} KiB: {:.0} bytes each",
        r.rss_empty.0, after.0, r.idle_bytes_per_conn
    );
}

fn table_phase(master: &mut Master, opts: &Options, cyrus: bool, run: usize, r: &mut RunResult) {
    let endpoint = master.endpoint();
    let pid = master.pid();

    // Load (corvid: over MUPDATE; Cyrus: loaded before it started).
    if !cyrus {
        let (loaded, took) = load(&endpoint, opts.entries, Duration::from_secs(120));
        r.load_rate = loaded as f64 / took.as_secs_f64();
        eprintln!(
            "  load: {loaded} entries in {took:.2?} ({:.0}/s)",
            r.load_rate
        );
        std::thread::sleep(Duration::from_secs(2));
    }

    // Dump, plain UPDATE.
    let (took, records) = dump_update(&endpoint);
    r.entries = records;
    r.dump_update = took;
    eprintln!("  dump (UPDATE, blocking client): {records} records in {took:.2?}");
    std::thread::sleep(Duration::from_secs(1));
    r.rss_loaded = rss(pid);
    eprintln!("  rss loaded (VmRSS, RssAnon): {:?} KiB", r.rss_loaded);

    // Dump to corvid's follower, then latency to it.
    let probe = format!("user.lat.r{run}.");
    let started = Instant::now();
    let follower = FollowerThread::start(&endpoint, probe.clone());
    match follower.seen.recv_timeout(Duration::from_secs(60)) {
        Ok(Seen::Ready(entries)) => {
            r.dump_follower = started.elapsed();
            eprintln!(
                "  dump (corvid follower): {entries} entries in {:.2?}",
                r.dump_follower
            );
        }
        _ => panic!("the follower did not sync within 60 s"),
    }
    let (changes, pace) = if cyrus {
        (
            opts.cyrus_changes,
            Duration::from_millis(opts.cyrus_pace_ms),
        )
    } else {
        (opts.changes, Duration::from_millis(1))
    };
    let sent = paced_writer(&endpoint, &probe, changes, pace);
    let mut seen: Vec<Option<Instant>> = vec![None; changes];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut count = 0;
    while count < changes {
        let left = deadline.saturating_duration_since(Instant::now());
        match follower.seen.recv_timeout(left) {
            Ok(Seen::Probe(i, at)) if i < changes && seen[i].is_none() => {
                seen[i] = Some(at);
                count += 1;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    drop(follower);
    let mut lat: Vec<Duration> = sent
        .iter()
        .zip(&seen)
        .filter_map(|(s, seen)| seen.map(|at| at.saturating_duration_since(*s)))
        .collect();
    lat.sort();
    r.lat_lost = changes - lat.len();
    r.lat_p50 = quantile(&lat, 0.5);
    r.lat_p99 = quantile(&lat, 0.99);
    r.lat_max = lat.last().copied().unwrap_or_default();
    eprintln!(
        "  commit→follower: p50 {:.3?} p99 {:.3?} max {:.3?} ({} not seen)",
        r.lat_p50, r.lat_p99, r.lat_max, r.lat_lost
    );

    // Writers.
    for window in [1, 8] {
        let w = writers(
            &endpoint,
            pid,
            window,
            opts.write_secs,
            &format!("w{window}r{run}"),
        );
        eprintln!(
            "  writers x{WRITERS}, window {window}: {:.0} acks/s, p50 {:.3?} p99 {:.3?}; \
             master CPU {:.2} cores, {:.1?} per ack",
            w.rate, w.p50, w.p99, w.cpu_share, w.cpu_per_ack
        );
        if window == 1 {
            r.w1 = Some(w);
        } else {
            r.w8 = Some(w);
        }
    }

    // corvid keeps its last 2^20 changes in memory (for followers that lag or resume), so the
    // loaded RSS above holds the load's history too: the table alone is measured after a
    // restart on the same data (snapshot plus log replayed, no history).
    if let Master::Corvid(m) = master {
        m.restart();
        std::thread::sleep(Duration::from_secs(2));
        let restarted = rss(m.pid().unwrap());
        let (_, records) = dump_update(&m.endpoint());
        eprintln!("  restarted: {records} entries, RSS (VmRSS, RssAnon) {restarted:?} KiB");
        r.rss_restarted = Some((restarted, records));
    }
}

/// The disk's floor under any durable commit: `fdatasync` of a small append, p50 and p99 of
/// 200, in the temp dir (where the masters' data directories are).
fn fdatasync_probe() -> (Duration, Duration) {
    let path = std::env::temp_dir().join(format!("mupdate-load-fsync-{}", std::process::id()));
    let mut file = std::fs::File::create(&path).unwrap();
    let mut samples = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        file.write_all(&[b'x'; 128]).unwrap();
        file.sync_data().unwrap();
        samples.push(started.elapsed());
    }
    let _ = std::fs::remove_file(&path);
    samples.sort();
    (quantile(&samples, 0.5), quantile(&samples, 0.99))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    if values.is_empty() {
        return f64::NAN;
    }
    values[values.len() / 2]
}

fn main() {
    let opts = Options::parse();
    // RUST_LOG=corvid_mupdate=debug shows the follower's view, say.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    eprintln!("{opts:?}");
    let mut results: [Vec<RunResult>; 2] = [Vec::new(), Vec::new()];
    let mut fsyncs = Vec::new();
    for run in 0..opts.runs {
        let (p50, p99) = fdatasync_probe();
        eprintln!("fdatasync of 128 bytes: p50 {p50:.3?} p99 {p99:.3?}");
        fsyncs.push((p50, p99));
        for (k, cyrus) in [(0, false), (1, true)] {
            if (cyrus && !opts.cyrus) || (!cyrus && !opts.corvid) {
                continue;
            }
            let name = if cyrus { "cyrus" } else { "corvid" };
            eprintln!("run {} / {}: {name}", run + 1, opts.runs);
            let mut r = RunResult::default();
            {
                let empty = start(cyrus, 0);
                let idle = if cyrus { opts.cyrus_idle } else { opts.idle };
                idle_phase(&empty, idle, &mut r);
            }
            let mut master = start(cyrus, opts.entries);
            table_phase(&mut master, &opts, cyrus, run, &mut r);
            drop(master);
            results[k].push(r);
        }
    }
    report(&opts, &results);
    for (i, (p50, p99)) in fsyncs.iter().enumerate() {
        println!(
            "fdatasync of a 128-byte append, run {}: p50 {p50:.3?}, p99 {p99:.3?}",
            i + 1
        );
    }
}

/// One row of the table: the medians of both masters, their ratio, and the target.
fn report(opts: &Options, results: &[Vec<RunResult>; 2]) {
    let med = |k: usize, f: &dyn Fn(&RunResult) -> f64| {
        median(results[k].iter().map(f).collect::<Vec<_>>())
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    type Metric<'a> = (&'a str, Box<dyn Fn(&RunResult) -> f64>, bool, &'a str);
    // (label, metric, lower is better, target)
    let rows: Vec<Metric<'_>> = vec![
        ("table entries", Box::new(|r| r.entries as f64), false, ""),
        (
            "load rate (ACTIVATE/s, 4 conns x 256)",
            Box::new(|r| r.load_rate),
            false,
            "",
        ),
        (
            "dump, plain UPDATE, blocking client (ms)",
            Box::new(move |r| ms(r.dump_update)),
            true,
            "< 2000 at 1M",
        ),
        (
            "dump to corvid's follower (ms)",
            Box::new(move |r| ms(r.dump_follower)),
            true,
            "< 2000 at 1M",
        ),
        (
            "dump rate to the follower (entries/s)",
            Box::new(|r| r.entries as f64 / r.dump_follower.as_secs_f64()),
            false,
            "",
        ),
        (
            "writers x16, W=1: acks/s",
            Box::new(|r| r.w1.map_or(f64::NAN, |w| w.rate)),
            false,
            ">= 50,000",
        ),
        (
            "writers x16, W=1: ack p50 (ms)",
            Box::new(move |r| r.w1.map_or(f64::NAN, |w| ms(w.p50))),
            true,
            "",
        ),
        (
            "writers x16, W=1: ack p99 (ms)",
            Box::new(move |r| r.w1.map_or(f64::NAN, |w| ms(w.p99))),
            true,
            "",
        ),
        (
            "writers x16, W=8: acks/s",
            Box::new(|r| r.w8.map_or(f64::NAN, |w| w.rate)),
            false,
            ">= 50,000",
        ),
        (
            "writers x16, W=8: ack p50 (ms)",
            Box::new(move |r| r.w8.map_or(f64::NAN, |w| ms(w.p50))),
            true,
            "",
        ),
        (
            "writers x16, W=8: ack p99 (ms)",
            Box::new(move |r| r.w8.map_or(f64::NAN, |w| ms(w.p99))),
            true,
            "",
        ),
        (
            "writers x16, W=8: master CPU per ack (µs)",
            Box::new(|r| r.w8.map_or(f64::NAN, |w| w.cpu_per_ack.as_secs_f64() * 1e6)),
            true,
            "",
        ),
        (
            "writers x16, W=8: master CPU use (cores)",
            Box::new(|r| r.w8.map_or(f64::NAN, |w| w.cpu_share)),
            true,
            "",
        ),
        (
            "commit→follower p50 (ms)",
            Box::new(move |r| ms(r.lat_p50)),
            true,
            "",
        ),
        (
            "commit→follower p99 (ms)",
            Box::new(move |r| ms(r.lat_p99)),
            true,
            "< 1",
        ),
        (
            "commit→follower max (ms)",
            Box::new(move |r| ms(r.lat_max)),
            true,
            "",
        ),
        (
            "RSS empty (MiB)",
            Box::new(|r| r.rss_empty.0 as f64 / 1024.0),
            true,
            "",
        ),
        (
            "RSS loaded (MiB)",
            Box::new(|r| r.rss_loaded.0 as f64 / 1024.0),
            true,
            "",
        ),
        (
            "memory per mailbox (bytes, RSS)",
            Box::new(|r| {
                (r.rss_loaded.0 as f64 - r.rss_empty.0 as f64) * 1024.0 / r.entries as f64
            }),
            true,
            "",
        ),
        (
            "memory per mailbox (bytes, RssAnon)",
            Box::new(|r| {
                (r.rss_loaded.1 as f64 - r.rss_empty.1 as f64) * 1024.0 / r.entries as f64
            }),
            true,
            "",
        ),
        (
            "idle connections opened",
            Box::new(|r| r.idle as f64),
            false,
            "",
        ),
        (
            "memory per idle connection (bytes)",
            Box::new(|r| r.idle_bytes_per_conn),
            true,
            "",
        ),
    ];
    println!();
    println!(
        "## mupdate_load: medians of {} run(s), {} entries asked",
        opts.runs, opts.entries
    );
    println!();
    println!("| measure | corvid | Cyrus 3.6 | corvid advantage | target |");
    println!("|---|---|---|---|---|");
    for (label, metric, lower_better, target) in rows {
        let c = med(0, metric.as_ref());
        let y = med(1, metric.as_ref());
        let ratio = if c.is_finite() && y.is_finite() && c > 0.0 && y > 0.0 {
            let x = if lower_better { y / c } else { c / y };
            format!("{x:.1}x")
        } else {
            String::new()
        };
        println!("| {label} | {} | {} | {ratio} | {target} |", fmt(c), fmt(y));
    }
    for (k, name) in [(0, "corvid"), (1, "cyrus")] {
        for (i, r) in results[k].iter().enumerate() {
            println!("<!-- {name} run {}: {r:?} -->", i + 1);
        }
    }
}

fn fmt(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v >= 100.0 {
        let s = format!("{v:.0}");
        // Thousands separators.
        let bytes = s.as_bytes();
        let mut out = String::new();
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 && (bytes.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(*b as char);
        }
        out
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}
