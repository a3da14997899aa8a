//! `corvid mupdate` end to end, over real sockets: durability under SIGKILL, hostile input,
//! RFC 3656 conformance byte for byte, the roles of the quick-start flags, and a RESERVE
//! conflict between two real Cyrus backends.
//!
//! Every master is started here on a free port of 127.0.0.1 with its own data directory
//! ([`CorvidMaster`]), and every wait is bounded. The random parts print their seed;
//! `CORVID_TEST_SEED=N` repeats a run.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use corvid_proto::mupdate::{CommandKind, Status};
use support::corvid::{ADMIN, CorvidMaster};
use support::cyrus::{CyrusBackend, CyrusMaster};
use support::{
    Entry, MupdateEndpoint, MupdateMaster, RawClient, XorShift, plain_base64, rss_kib, table,
    wait_until,
};

/// The host name every master here announces.
const HOST: &str = "corvid.test";

/// A master with a fixed banner host and `extra` flags.
fn start(extra: &[&str]) -> CorvidMaster {
    let mut flags = vec!["--host", HOST];
    flags.extend_from_slice(extra);
    CorvidMaster::start_with(&flags)
}

/// The banner, byte for byte.
fn banner() -> Vec<u8> {
    format!(
        "* AUTH \"PLAIN\"\r\n* PARTIAL-UPDATE\r\n* X-CORVID-RESUME\r\n* OK MUPDATE \"{HOST}\" \"corvid\" \"{}\" \"(master)\"\r\n",
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// A raw connection past the banner (checked byte for byte).
fn connect(master: &CorvidMaster) -> RawClient {
    let mut client = RawClient::connect(&master.addr()).unwrap();
    client.expect(&banner());
    client
}

/// A raw connection logged in with SASL PLAIN (initial response) as `user` acting as
/// `authzid` (empty: itself).
fn login(master: &CorvidMaster, authzid: &str, user: &str, password: &str) -> RawClient {
    let mut client = connect(master);
    client.exchange(
        format!(
            "A01 AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
            plain_base64(authzid, user, password)
        )
        .as_bytes(),
        b"A01 OK \"Authenticated\"\r\n",
    );
    client
}

fn admin(master: &CorvidMaster) -> RawClient {
    login(master, "", ADMIN.0, ADMIN.1)
}

/// `tag OK "text"` and the like.
fn status(tag: &str, status: &str, text: &str) -> Vec<u8> {
    format!("{tag} {status} \"{text}\"\r\n").into_bytes()
}

/// A `{n+}` literal followed by `then` (a space, or the line end).
fn literal(s: &str, then: &str) -> String {
    format!("{{{}+}}\r\n{s}{then}", s.len())
}

/// The MAILBOX record a master sends for an active entry.
fn mailbox(tag: &str, name: &str, location: &str, acl: &str) -> Vec<u8> {
    format!(
        "{tag} MAILBOX {}{}{}",
        literal(name, " "),
        literal(location, " "),
        literal(acl, "\r\n")
    )
    .into_bytes()
}

/// The RESERVE record a master sends for a reserved entry.
fn reserved(tag: &str, name: &str, location: &str) -> Vec<u8> {
    format!(
        "{tag} RESERVE {}{}",
        literal(name, " "),
        literal(location, "\r\n")
    )
    .into_bytes()
}

/// The DELETE record of the update stream.
fn deleted(tag: &str, name: &str) -> Vec<u8> {
    format!("{tag} DELETE {}", literal(name, "\r\n")).into_bytes()
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// `ACTIVATE` with quoted strings (no quote or backslash in them).
fn activate(tag: &str, name: &str, location: &str, acl: &str) -> Vec<u8> {
    format!("{tag} ACTIVATE \"{name}\" \"{location}\" \"{acl}\"\r\n").into_bytes()
}

/// Asserts that an admin session on `master` still works: NOOP, and a FIND.
#[track_caller]
fn still_serves(master: &CorvidMaster) {
    let mut client = admin(master);
    client.exchange(b"S1 NOOP\r\n", &status("S1", "OK", "Noop done"));
    client.exchange(
        b"S2 FIND \"user.nobody\"\r\n",
        &status("S2", "OK", "Search completed"),
    );
}

/// The log without terminal colour codes.
fn plain_logs(master: &CorvidMaster) -> String {
    let logs = master.logs();
    let mut out = String::with_capacity(logs.len());
    let mut chars = logs.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `key=value` numbers of each "mupdate master ready" line of the log.
fn ready_lines(master: &CorvidMaster) -> Vec<BTreeMap<String, u64>> {
    plain_logs(master)
        .lines()
        .filter(|line| line.contains("mupdate master ready"))
        .map(|line| {
            line.split_whitespace()
                .filter_map(|word| word.split_once('='))
                .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Durability under SIGKILL.
// ---------------------------------------------------------------------------------------------

const WRITERS: usize = 6;
const NAMES_PER_WRITER: u64 = 12;
const KILL_ROUNDS: usize = 10;

/// One write a writer issued: the ACL of an ACTIVATE, or `None` for a DELETE, and whether the
/// master answered OK.
#[derive(Debug, Clone)]
struct Issued {
    acl: Option<String>,
    acked: bool,
}

fn writer_name(writer: usize, n: u64) -> String {
    format!("user.w{writer}.n{n}")
}

fn writer_location(writer: usize) -> String {
    format!("w{writer}!p")
}

/// Writes continuously to its own names, a few pipelined commands at a time, reconnecting
/// whenever the master is gone, until `stop`. Returns every write issued, per name, in order.
fn writer(
    endpoint: MupdateEndpoint,
    id: usize,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Vec<Vec<Issued>> {
    let mut rng = XorShift::new(seed);
    let mut history = vec![Vec::new(); NAMES_PER_WRITER as usize];
    let mut version = 0u64;
    'connect: while !stop.load(Ordering::Relaxed) {
        let Ok(mut client) = endpoint.connect() else {
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        while !stop.load(Ordering::Relaxed) {
            let mut pending = Vec::new();
            for _ in 0..rng.range(1..6) {
                let n = rng.below(NAMES_PER_WRITER);
                let name = writer_name(id, n).into_bytes();
                let (acl, kind) = if rng.below(4) == 0 {
                    (None, CommandKind::Delete { name })
                } else {
                    version += 1;
                    let acl = format!("w{id}\tlr{version}\t");
                    let kind = CommandKind::Activate {
                        name,
                        location: writer_location(id).into_bytes(),
                        acl: acl.clone().into_bytes(),
                    };
                    (Some(acl), kind)
                };
                let slot = &mut history[n as usize];
                slot.push(Issued { acl, acked: false });
                let index = slot.len() - 1;
                match client.send(kind) {
                    Ok(tag) => pending.push((tag, n as usize, index)),
                    // In flight: it may or may not have reached the master.
                    Err(_) => continue 'connect,
                }
            }
            for (tag, n, index) in pending {
                match client.finish(&tag) {
                    Ok((_, Status::Ok, _)) => history[n][index].acked = true,
                    Ok((_, status, text)) => panic!("writer {id}: {status:?} {text}"),
                    Err(_) => continue 'connect,
                }
            }
        }
    }
    history
}

/// The states a name may be in after its writes: the last acknowledged one (absent if none),
/// or that of any later write (in flight at a kill, so maybe applied).
fn allowed_states(writes: &[Issued]) -> Vec<Option<String>> {
    let last_acked = writes.iter().rposition(|w| w.acked);
    let mut allowed = vec![last_acked.and_then(|i| writes[i].acl.clone())];
    let later = last_acked.map_or(0, |i| i + 1);
    allowed.extend(writes[later..].iter().map(|w| w.acl.clone()));
    allowed
}

/// A master killed while clients are connected comes back at once on the same port: neither
/// the killed master's connections (in TIME_WAIT for a minute) nor its listening socket (which
/// the kernel closes a little after the process is gone, with its io_uring) keep it off.
#[test]
fn restarts_at_once_after_sigkill_with_clients_connected() {
    let mut master = start(&[]);
    for round in 0..6 {
        let clients: Vec<RawClient> = (0..4).map(|_| admin(&master)).collect();
        master.kill();
        if round % 2 == 0 {
            // Straight away.
            master.restart();
        }
        // The clients see the close and close their side: the master's side is in TIME_WAIT.
        for mut client in clients {
            assert!(client.closed_within(Duration::from_secs(5)));
        }
        if round % 2 == 1 {
            master.restart();
        }
        assert_eq!(ready_lines(&master).len(), round + 2);
        still_serves(&master);
    }
}

/// A second master on a port in use fails (after its bounded retry) instead of sharing it.
#[test]
fn a_second_master_on_the_same_port_fails() {
    let master = start(&[]);
    let dir = master.dir().join("second");
    let started = Instant::now();
    let out = support::run_bounded(
        std::process::Command::new(env!("CARGO_BIN_EXE_corvid"))
            .args(["mupdate", "--listen", &master.addr(), "--admin", "a:b"])
            .arg("--data-dir")
            .arg(&dir),
        b"",
        Duration::from_secs(20),
    )
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("refused after {:?}", started.elapsed());
    assert!(!out.status.success());
    assert!(stderr.contains("Address already in use"), "{stderr}");
    still_serves(&master);
}

/// Appends a torn record (a plausible header, then too few random bytes) to the newest log
/// segment of a stopped master; returns how many bytes.
fn tear_the_log(master: &CorvidMaster, rng: &mut XorShift) -> u64 {
    let newest = std::fs::read_dir(master.data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("wal-"))
        })
        .max()
        .unwrap();
    let length = rng.range(40..200) as u32;
    let mut torn = length.to_le_bytes().to_vec();
    torn.extend((0..rng.range(0..u64::from(length))).map(|_| rng.next_u64() as u8));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    file.write_all(&torn).unwrap();
    torn.len() as u64
}

/// The issue's test: writers write continuously, the master is killed with SIGKILL at random
/// moments and restarted on the same data directory, ten times (with a torn record appended to
/// the log now and then); in the end every acknowledged write's final state is in the master.
#[test]
fn every_acknowledged_write_survives_sigkill() {
    let started = Instant::now();
    let mut rng = XorShift::from_env_or_clock("every_acknowledged_write_survives_sigkill");
    let mut master = start(&[]);
    let endpoint = master.endpoint();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|id| {
            let (endpoint, stop, seed) = (endpoint.clone(), stop.clone(), rng.next_u64());
            thread::spawn(move || writer(endpoint, id, seed, stop))
        })
        .collect();

    let mut torn_rounds = 0;
    for round in 0..KILL_ROUNDS {
        thread::sleep(Duration::from_millis(rng.range(150..700)));
        master.kill();
        // Now and then, what a power cut leaves: the start of a record that never made it.
        let torn = if round % 3 == 1 {
            torn_rounds += 1;
            tear_the_log(&master, &mut rng)
        } else {
            0
        };
        thread::sleep(Duration::from_millis(rng.range(0..100)));
        // Panics unless it comes back (a torn tail must not stop it).
        master.restart();
        let ready = ready_lines(&master);
        assert_eq!(ready.len(), round + 2, "{}", plain_logs(&master));
        let cut = ready[round + 1].get("torn_bytes").copied();
        assert!(
            cut >= Some(torn),
            "appended {torn} torn bytes, recovery cut {cut:?}"
        );
    }
    assert!(torn_rounds > 0);
    thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let histories: Vec<Vec<Vec<Issued>>> = writers.into_iter().map(|w| w.join().unwrap()).collect();

    // Every restart recovered the table from the disk and said so.
    let ready = ready_lines(&master);
    eprintln!("recoveries: {ready:?}");
    let recovered = |line: &BTreeMap<String, u64>, key: &str| line.get(key).copied();
    for line in &ready[1..] {
        assert!(
            recovered(line, "replayed").is_some() && recovered(line, "torn_bytes").is_some(),
            "{line:?}"
        );
    }
    assert!(
        ready[1..]
            .iter()
            .any(|line| recovered(line, "replayed") > Some(0)
                && recovered(line, "entries") > Some(0)),
        "no restart replayed the log: {ready:?}"
    );

    // Every name holds its last acknowledged state, or that of a write in flight after it.
    let everything = table(&endpoint.list(None));
    let (mut acked, mut unacked, mut in_flight_won) = (0, 0, 0);
    for (id, history) in histories.iter().enumerate() {
        for (n, writes) in history.iter().enumerate() {
            acked += writes.iter().filter(|w| w.acked).count();
            unacked += writes.iter().filter(|w| !w.acked).count();
            let name = writer_name(id, n as u64);
            let found = everything.get(&name).map(|entry| {
                assert_eq!(entry.location, writer_location(id), "{name}");
                entry.acl.clone().unwrap()
            });
            let allowed = allowed_states(writes);
            assert!(
                allowed.contains(&found),
                "{name}: the master has {found:?}, allowed {allowed:?}\nwrites {writes:?}\n{}",
                plain_logs(&master)
            );
            if found != allowed[0] {
                in_flight_won += 1;
            }
        }
    }
    let ours = everything
        .keys()
        .filter(|name| name.starts_with("user.w"))
        .count();
    assert_eq!(ours, everything.len(), "unexpected names");
    eprintln!(
        "{acked} acknowledged writes, {unacked} in flight at a kill ({in_flight_won} of them \
         the final state), {KILL_ROUNDS} kills, {:?}",
        started.elapsed()
    );
    assert!(acked > 200, "too few writes to mean anything: {acked}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

// ---------------------------------------------------------------------------------------------
// 2. Hostile input.
// ---------------------------------------------------------------------------------------------

/// The master's resident memory in MiB.
fn rss_mib(master: &CorvidMaster) -> u64 {
    rss_kib(master.pid().unwrap()).unwrap() / 1024
}

/// Bytes sent by a thread, ignoring errors (the master may close on us), while this thread
/// reads; returns what the sender managed to send.
fn send_in_background(stream: &TcpStream, bytes: Vec<u8>) -> thread::JoinHandle<usize> {
    let mut stream = stream.try_clone().unwrap();
    thread::spawn(move || {
        let mut sent = 0;
        for chunk in bytes.chunks(64 << 10) {
            if stream.write_all(chunk).is_err() {
                break;
            }
            sent += chunk.len();
        }
        sent
    })
}

#[test]
fn a_huge_literal_is_refused_without_a_continuation() {
    let master = start(&[]);
    let mut client = admin(&master);
    // A synchronizing literal past the limit: BAD at once, no "+ go ahead", and the
    // connection goes on.
    client.exchange(
        b"X1 FIND {999999999}\r\n",
        &status("X1", "BAD", "Literal too large"),
    );
    client.exchange(b"X2 NOOP\r\n", &status("X2", "OK", "Noop done"));
    // Before login too.
    let mut anonymous = connect(&master);
    anonymous.exchange(
        b"X1 FIND {4294967296}\r\n",
        &status("X1", "BAD", "Literal too large"),
    );
    // A length past 64 bits is no number at all.
    anonymous.exchange(
        b"X2 FIND {18446744073709551616}\r\n",
        &status("X2", "BAD", "Badly formed arguments"),
    );
    anonymous.exchange(b"X3 NOOP\r\n", &status("X3", "BAD", "Please login first"));
    assert!(client.read_for(Duration::from_millis(100)).is_empty());
    still_serves(&master);
}

#[test]
fn a_line_without_end_is_refused_and_memory_stays_bounded() {
    let master = start(&[]);
    let before = rss_mib(&master);
    let mut endless = admin(&master);
    let mut other = admin(&master);
    let sender = send_in_background(&endless.stream, vec![b'a'; 16 << 20]);
    endless.expect(b"* BAD \"Line too long\"\r\n");
    // Others are served while the flood goes on.
    for i in 0..20 {
        let tag = format!("O{i}");
        other.exchange(
            &activate(&tag, &format!("user.o{i}"), "be1!p", "o\tlr\t"),
            &status(&tag, "OK", "done"),
        );
    }
    let sent = sender.join().unwrap();
    let during = rss_mib(&master);
    eprintln!("sent {sent} bytes without a line end; RSS {before} MiB -> {during} MiB");
    assert_eq!(sent, 16 << 20, "the master stopped reading");
    assert!(during < 200 && during < before + 32, "RSS {during} MiB");
    // The line ends: the connection is usable again.
    endless.exchange(b"\r\nX1 NOOP\r\n", &status("X1", "OK", "Noop done"));
    still_serves(&master);
}

#[test]
fn random_garbage_never_stops_the_master() {
    let master = start(&[]);
    let mut rng = XorShift::from_env_or_clock("random_garbage_never_stops_the_master");
    let mut bystander = admin(&master);
    // Bytes biased towards the protocol's syntax, so that the decoder's paths are all taken.
    let alphabet: &[u8] = b"{}+0123456789 \"\\\r\n\r\n\0\x7f\xff*ABCDEFINDLISTUPDATEACTIVATE.!";
    let mut senders = Vec::new();
    let mut drains = Vec::new();
    for i in 0..6 {
        let client = if i % 2 == 0 {
            connect(&master)
        } else {
            admin(&master)
        };
        let garbage: Vec<u8> = (0..(512 << 10))
            .map(|_| match rng.below(3) {
                0 => rng.next_u64() as u8,
                _ => alphabet[rng.below(alphabet.len() as u64) as usize],
            })
            .collect();
        senders.push(send_in_background(&client.stream, garbage));
        // Read everything the master answers, so that it never waits on us.
        let mut stream = client.stream.try_clone().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        drains.push(thread::spawn(move || {
            let mut total = 0;
            let mut chunk = [0u8; 64 << 10];
            while let Ok(n) = stream.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                total += n;
            }
            total
        }));
    }
    for i in 0..20 {
        let tag = format!("B{i}");
        bystander.exchange(
            format!("{tag} FIND \"user.b{i}\"\r\n").as_bytes(),
            &status(&tag, "OK", "Search completed"),
        );
    }
    for sender in senders {
        sender.join().unwrap();
    }
    let answered: usize = drains.into_iter().map(|d| d.join().unwrap()).sum();
    eprintln!("the master answered {answered} bytes to the garbage");
    assert!(answered > 0);
    bystander.exchange(b"B NOOP\r\n", &status("B", "OK", "Noop done"));
    still_serves(&master);
}

#[test]
fn clients_that_never_read_a_big_list_do_not_grow_the_master() {
    const ENTRIES: usize = 10_000;
    let master = start(&[]);
    let endpoint = master.endpoint();
    let mut writer = endpoint.connect().unwrap();
    for chunk in (0..ENTRIES).collect::<Vec<_>>().chunks(500) {
        let tags: Vec<_> = chunk
            .iter()
            .map(|i| {
                writer
                    .send(CommandKind::Activate {
                        name: format!("user.u{i:05}").into_bytes(),
                        location: b"be1!default".to_vec(),
                        acl: format!("u{i:05}\tlrswipkxtecdan\t").into_bytes(),
                    })
                    .unwrap()
            })
            .collect();
        for tag in tags {
            assert_eq!(writer.finish(&tag).unwrap().1, Status::Ok);
        }
    }
    let before = rss_mib(&master);

    // 20 clients each ask for 20 LISTs of everything (~12 MB each) and never read.
    let mut sleepers = Vec::new();
    for _ in 0..20 {
        let mut client = admin(&master);
        let lists: Vec<u8> = (0..20)
            .flat_map(|i| format!("L{i} LIST\r\n").into_bytes())
            .collect();
        client.send(&lists).unwrap();
        sleepers.push(client);
    }
    thread::sleep(Duration::from_millis(500));

    // Others are still served, a full LIST included.
    let started = Instant::now();
    let mut reader = endpoint.connect().unwrap();
    assert_eq!(reader.list(None).unwrap().len(), ENTRIES);
    assert!(reader.find("user.u04242").unwrap().is_some());
    reader.activate("user.late", "be2!p", "").unwrap();
    let served_in = started.elapsed();
    let during = rss_mib(&master);
    eprintln!(
        "RSS {before} MiB with {ENTRIES} entries, {during} MiB with 20 stalled LIST readers; \
         another client served in {served_in:?}"
    );
    assert!(served_in < Duration::from_secs(10));
    assert!(during < 200, "RSS {during} MiB");
    assert!(
        during < before + 64,
        "RSS grew from {before} to {during} MiB"
    );
    drop(sleepers);
    still_serves(&master);
}

#[test]
fn connections_beyond_the_limit_get_bye() {
    let master = start(&["--max-connections", "8"]);
    // Admitted: the banner, not BYE. (The start-up check's connection may not be counted out
    // yet: retry.)
    let admitted = || {
        wait_until(Duration::from_secs(5), || {
            let mut client = RawClient::connect(&master.addr()).ok()?;
            (client.read_n(banner().len(), Duration::from_secs(2)) == banner()).then_some(client)
        })
    };
    let mut held: Vec<RawClient> = (0..8).map(|_| admitted().unwrap()).collect();
    for _ in 0..4 {
        let mut refused = RawClient::connect(&master.addr()).unwrap();
        refused.expect(b"* BYE \"Server Unable\"\r\n");
        assert!(refused.closed_within(Duration::from_secs(5)));
    }
    // Those in keep being served.
    let (user, password) = ADMIN;
    held[0].exchange(
        format!(
            "A01 AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
            plain_base64("", user, password)
        )
        .as_bytes(),
        b"A01 OK \"Authenticated\"\r\n",
    );
    held[0].exchange(b"N1 NOOP\r\n", &status("N1", "OK", "Noop done"));
    // A slot freed is a slot taken.
    held.pop();
    assert!(
        admitted().is_some(),
        "no connection admitted after one closed"
    );
}

#[test]
fn idle_connections_are_closed() {
    let master = start(&["--idle-timeout", "1"]);
    let mut anonymous = connect(&master);
    let mut streaming = admin(&master);
    streaming.exchange(b"U01 UPDATE\r\n", &status("U01", "OK", "streaming starts"));
    let started = Instant::now();
    for client in [&mut anonymous, &mut streaming] {
        client.expect(b"* BYE \"idle for too long\"\r\n");
        assert!(client.closed_within(Duration::from_secs(5)));
    }
    let idle = started.elapsed();
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_secs(5),
        "{idle:?}"
    );
    still_serves(&master);
}

#[test]
fn bad_logins_are_refused_and_wrong_passwords_delayed() {
    let master = start(&[]);
    let mut client = connect(&master);
    // Bad base64 as an initial response, then as the answer to the empty challenge.
    client.exchange(
        b"A1 AUTHENTICATE \"PLAIN\" \"!!not*base64\"\r\n",
        &status("A1", "BAD", "Badly formed arguments"),
    );
    client.exchange(b"A2 AUTHENTICATE \"PLAIN\"\r\n", b"\r\n");
    client.exchange(b"%%%\r\n", &status("A2", "BAD", "Badly formed arguments"));
    // A cancelled exchange, an unknown mechanism, a message that is not PLAIN's.
    client.exchange(b"A3 AUTHENTICATE \"PLAIN\"\r\n", b"\r\n");
    client.exchange(b"*\r\n", &status("A3", "NO", "authentication failure"));
    client.exchange(
        b"A4 AUTHENTICATE \"CRAM-MD5\"\r\n",
        &status("A4", "NO", "no mechanism available"),
    );
    client.exchange(
        b"A5 AUTHENTICATE \"PLAIN\" \"bm9udWxz\"\r\n",
        &status("A5", "NO", "authentication failure"),
    );
    client.exchange(b"X1 NOOP\r\n", &status("X1", "BAD", "Please login first"));

    // A wrong password: NO after a delay, during which others are served at once.
    let mut other = admin(&master);
    for (tag, user, password) in [("A6", ADMIN.0, "wrong"), ("A7", "nobody", ADMIN.1)] {
        let started = Instant::now();
        client
            .send(
                format!(
                    "{tag} AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
                    plain_base64("", user, password)
                )
                .as_bytes(),
            )
            .unwrap();
        thread::sleep(Duration::from_millis(50));
        let noop = Instant::now();
        other.exchange(b"N NOOP\r\n", &status("N", "OK", "Noop done"));
        let noop = noop.elapsed();
        client.expect(&status(tag, "NO", "authentication failure"));
        let delay = started.elapsed();
        eprintln!("{tag}: refused after {delay:?}; another client's NOOP took {noop:?}");
        assert!(delay >= Duration::from_millis(500), "{delay:?}");
        assert!(noop < Duration::from_millis(400), "{noop:?}");
    }
    // The connection may still log in properly.
    client.exchange(
        format!(
            "A8 AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
            plain_base64("", ADMIN.0, ADMIN.1)
        )
        .as_bytes(),
        &status("A8", "OK", "Authenticated"),
    );
    client.exchange(
        b"A9 AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\n",
        &status("A9", "BAD", "already authenticated"),
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Protocol conformance, byte for byte.
// ---------------------------------------------------------------------------------------------

#[test]
fn banner_login_and_literals() {
    let master = start(&[]);
    let mut client = connect(&master);
    client.exchange(
        b"X1 FIND \"user.a\"\r\n",
        &status("X1", "BAD", "Please login first"),
    );
    client.exchange(b"X2 LIST\r\n", &status("X2", "BAD", "Please login first"));
    // AUTHENTICATE without an initial response: an empty challenge, then the client's line.
    client.exchange(b"A01 AUTHENTICATE \"PLAIN\"\r\n", b"\r\n");
    client.exchange(
        format!("{}\r\n", plain_base64("", ADMIN.0, ADMIN.1)).as_bytes(),
        &status("A01", "OK", "Authenticated"),
    );
    client.exchange(
        &activate("W1", "user.a", "be1!p", "a\tlrs\t"),
        &status("W1", "OK", "done"),
    );
    let found = |tag: &str| {
        concat(&[
            &mailbox(tag, "user.a", "be1!p", "a\tlrs\t"),
            &status(tag, "OK", "Search completed"),
        ])
    };

    // A synchronizing literal whose payload is not sent yet: "+ go ahead", then the payload.
    client.exchange(b"X3 FIND {6}\r\n", b"+ go ahead\r\n");
    client.exchange(b"user.a\r\n", &found("X3"));
    // The payload sent with the header: no continuation.
    client.exchange(b"X4 FIND {6}\r\nuser.a\r\n", &found("X4"));
    // Non-synchronizing literals, everywhere.
    client.exchange(
        format!(
            "W2 ACTIVATE {}{}{}",
            literal("user.b", " "),
            literal("be1!p", " "),
            literal("b\tlr\t", "\r\n")
        )
        .as_bytes(),
        &status("W2", "OK", "done"),
    );
    client.exchange(
        format!("X5 FIND {}", literal("user.b", "\r\n")).as_bytes(),
        &concat(&[
            &mailbox("X5", "user.b", "be1!p", "b\tlr\t"),
            &status("X5", "OK", "Search completed"),
        ]),
    );
    // A synchronizing literal split across reads: one continuation only.
    client.exchange(b"X6 FIND {6}\r\n", b"+ go ahead\r\n");
    client.send(b"use").unwrap();
    assert!(client.read_for(Duration::from_millis(100)).is_empty());
    client.exchange(b"r.a\r\n", &found("X6"));
    assert!(client.read_for(Duration::from_millis(100)).is_empty());
}

/// Commands pipelined behind an AUTHENTICATE wait for its outcome, a slow failure included.
#[test]
fn commands_pipelined_behind_a_login_wait_for_it() {
    let master = start(&[]);
    let good = plain_base64("", ADMIN.0, ADMIN.1);
    let mut client = connect(&master);
    client.exchange(
        format!("A01 AUTHENTICATE \"PLAIN\" \"{good}\"\r\nX1 NOOP\r\nX2 FIND \"a\"\r\n").as_bytes(),
        &concat(&[
            &status("A01", "OK", "Authenticated"),
            &status("X1", "OK", "Noop done"),
            &status("X2", "OK", "Search completed"),
        ]),
    );
    // The client's SASL line sent with the command, before the empty challenge.
    let mut client = connect(&master);
    client.exchange(
        format!("A01 AUTHENTICATE \"PLAIN\"\r\n{good}\r\nX1 NOOP\r\n").as_bytes(),
        &concat(&[
            b"\r\n",
            &status("A01", "OK", "Authenticated"),
            &status("X1", "OK", "Noop done"),
        ]),
    );
    let bad = plain_base64("", ADMIN.0, "wrong");
    let mut client = connect(&master);
    let started = Instant::now();
    client.exchange(
        format!("A01 AUTHENTICATE \"PLAIN\" \"{bad}\"\r\nX1 NOOP\r\nQ01 LOGOUT\r\n").as_bytes(),
        &concat(&[
            &status("A01", "NO", "authentication failure"),
            &status("X1", "BAD", "Please login first"),
            &status("Q01", "OK", "bye-bye"),
        ]),
    );
    assert!(started.elapsed() >= Duration::from_millis(500));
    assert!(client.closed_within(Duration::from_secs(5)));
}

#[test]
fn pipelining_find_and_list_order() {
    let master = start(&[]);
    let mut client = admin(&master);
    // Written out of order, on two servers, one only reserved.
    let be1 = [
        "user.a.Sent-Items",
        "user.a",
        "user.a.Sent.x",
        "user.a.Sent",
    ];
    let mut setup = Vec::new();
    let mut answers = Vec::new();
    for (i, name) in be1.iter().enumerate() {
        setup.extend(activate(&format!("S{i}"), name, "be1!p", "a\tlr\t"));
        answers.extend(status(&format!("S{i}"), "OK", "done"));
    }
    setup.extend(activate("S8", "user.b", "be2!q", "b\tlr\t"));
    answers.extend(status("S8", "OK", "done"));
    setup.extend(b"S9 RESERVE \"user.a.Sent.r\" \"be2!q\"\r\n");
    answers.extend(status("S9", "OK", "done"));
    // All pipelined in one write: answered in order.
    client.exchange(&setup, &answers);

    // FIND: absent, reserved, active; pipelined.
    client.exchange(
        b"F1 FIND \"user.none\"\r\nF2 FIND \"user.a.Sent.r\"\r\nF3 FIND user.b\r\nF4 NOOP\r\n",
        &concat(&[
            &status("F1", "OK", "Search completed"),
            &reserved("F2", "user.a.Sent.r", "be2!q"),
            &status("F2", "OK", "Search completed"),
            &mailbox("F3", "user.b", "be2!q", "b\tlr\t"),
            &status("F3", "OK", "Search completed"),
            &status("F4", "OK", "Noop done"),
        ]),
    );

    // LIST: Cyrus's dbname order (the hierarchy separator sorts first).
    let a = |tag: &str, name: &str| mailbox(tag, name, "be1!p", "a\tlr\t");
    client.exchange(
        b"L1 LIST\r\n",
        &concat(&[
            &a("L1", "user.a"),
            &a("L1", "user.a.Sent"),
            &reserved("L1", "user.a.Sent.r", "be2!q"),
            &a("L1", "user.a.Sent.x"),
            &a("L1", "user.a.Sent-Items"),
            &mailbox("L1", "user.b", "be2!q", "b\tlr\t"),
            &status("L1", "OK", "list complete"),
        ]),
    );
    client.exchange(
        b"L2 LIST \"be1!\"\r\nL3 LIST \"be3!\"\r\n",
        &concat(&[
            &a("L2", "user.a"),
            &a("L2", "user.a.Sent"),
            &a("L2", "user.a.Sent.x"),
            &a("L2", "user.a.Sent-Items"),
            &status("L2", "OK", "list complete"),
            &status("L3", "OK", "list complete"),
        ]),
    );
}

#[test]
fn update_streams_changes_noop_is_a_barrier_and_logout_closes() {
    let master = start(&[]);
    let mut writer = admin(&master);
    writer.exchange(
        &activate("W1", "user.a", "be1!p", "a\tlr\t"),
        &status("W1", "OK", "done"),
    );
    let mut follower = admin(&master);
    follower.exchange(
        b"U01 UPDATE\r\n",
        &concat(&[
            &mailbox("U01", "user.a", "be1!p", "a\tlr\t"),
            &status("U01", "OK", "streaming starts"),
        ]),
    );

    // A change from another connection arrives without NOOP.
    let mut latencies = Vec::new();
    for i in 0..5 {
        let name = format!("user.s{i}");
        let started = Instant::now();
        writer.exchange(
            &activate("W2", &name, "be2!p", "s\tlr\t"),
            &status("W2", "OK", "done"),
        );
        let expected = mailbox("U01", &name, "be2!p", "s\tlr\t");
        let got = follower.read_n(expected.len(), Duration::from_secs(1));
        latencies.push(started.elapsed());
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "not streamed within 1 s"
        );
    }
    eprintln!("ACTIVATE → streamed MAILBOX latencies: {latencies:?}");
    writer.exchange(b"W3 DELETE \"user.s0\"\r\n", &status("W3", "OK", "done"));
    follower.expect(&deleted("U01", "user.s0"));

    // NOOP is a barrier: a change made just before it comes before its OK.
    for i in 0..5 {
        let name = format!("user.n{i}");
        writer.exchange(
            &activate("W4", &name, "be1!p", "n\tlr\t"),
            &status("W4", "OK", "done"),
        );
        follower.exchange(
            b"N01 NOOP\r\n",
            &concat(&[
                &mailbox("U01", &name, "be1!p", "n\tlr\t"),
                &status("N01", "OK", "Noop done"),
            ]),
        );
    }
    // Only NOOP and LOGOUT while streaming.
    follower.exchange(
        b"F01 FIND \"user.a\"\r\n",
        &status("F01", "BAD", "not legal when streaming"),
    );
    follower.exchange(
        b"F02 LIST\r\n",
        &status("F02", "BAD", "not legal when streaming"),
    );
    follower.exchange(b"Q01 LOGOUT\r\n", &status("Q01", "OK", "bye-bye"));
    assert!(follower.closed_within(Duration::from_secs(5)));
    writer.exchange(b"Q01 LOGOUT\r\n", &status("Q01", "OK", "bye-bye"));
    assert!(writer.closed_within(Duration::from_secs(5)));
}

// ---------------------------------------------------------------------------------------------
// 4. Roles over the wire.
// ---------------------------------------------------------------------------------------------

#[test]
fn roles_limit_what_each_user_may_do() {
    let master = start(&["--backend", "be1:pw1:be1", "--frontend", "fe:pwf"]);
    let mut admin = admin(&master);
    admin.exchange(
        &activate("W1", "user.on2", "be2!p", "x\tlr\t"),
        &status("W1", "OK", "done"),
    );

    // A backend writes its own server's entries only.
    let mut be1 = login(&master, "", "be1", "pw1");
    be1.exchange(
        b"B1 RESERVE \"user.x\" \"be1!p\"\r\n",
        &status("B1", "OK", "done"),
    );
    be1.exchange(
        &activate("B2", "user.x", "be1!p", "x\tlr\t"),
        &status("B2", "OK", "done"),
    );
    be1.exchange(
        b"B3 DEACTIVATE \"user.x\" \"be1!p\"\r\n",
        &status("B3", "OK", "done"),
    );
    be1.exchange(b"B4 DELETE \"user.x\"\r\n", &status("B4", "OK", "done"));
    let denied = |tag: &str| status(tag, "NO", "permission denied");
    be1.exchange(&activate("B5", "user.y", "be2!x", ""), &denied("B5"));
    be1.exchange(b"B6 RESERVE \"user.y\" \"be2!x\"\r\n", &denied("B6"));
    // An entry on be2: be1 may neither take it, nor delete it, nor reserve it.
    be1.exchange(&activate("B7", "user.on2", "be1!p", ""), &denied("B7"));
    be1.exchange(b"B8 DELETE \"user.on2\"\r\n", &denied("B8"));
    be1.exchange(b"B9 DEACTIVATE \"user.on2\" \"be1!p\"\r\n", &denied("B9"));
    // Reading is fine.
    be1.exchange(
        b"B10 FIND \"user.on2\"\r\n",
        &concat(&[
            &mailbox("B10", "user.on2", "be2!p", "x\tlr\t"),
            &status("B10", "OK", "Search completed"),
        ]),
    );

    // A frontend only reads.
    let read_only = |tag: &str| status(tag, "BAD", "read-only session");
    let check_frontend = |mut fe: RawClient| {
        fe.exchange(&activate("F1", "user.f", "be1!p", ""), &read_only("F1"));
        fe.exchange(b"F2 RESERVE \"user.f\" \"be1!p\"\r\n", &read_only("F2"));
        fe.exchange(
            b"F3 DEACTIVATE \"user.on2\" \"be2!p\"\r\n",
            &read_only("F3"),
        );
        fe.exchange(b"F4 DELETE \"user.on2\"\r\n", &read_only("F4"));
        let on2 = |tag: &str| mailbox(tag, "user.on2", "be2!p", "x\tlr\t");
        fe.exchange(
            b"F5 FIND \"user.on2\"\r\nF6 LIST\r\nF7 UPDATE\r\n",
            &concat(&[
                &on2("F5"),
                &status("F5", "OK", "Search completed"),
                &on2("F6"),
                &status("F6", "OK", "list complete"),
                &on2("F7"),
                &status("F7", "OK", "streaming starts"),
            ]),
        );
        fe
    };
    let mut fe = check_frontend(login(&master, "", "fe", "pwf"));
    // An admin acting as fe is fe.
    let mut as_fe = check_frontend(login(&master, "fe", ADMIN.0, ADMIN.1));
    admin.exchange(b"W2 DELETE \"user.on2\"\r\n", &status("W2", "OK", "done"));
    fe.expect(&deleted("F7", "user.on2"));
    as_fe.expect(&deleted("F7", "user.on2"));

    // Only admins may act as someone else.
    for (tag, authzid, user, password) in [
        ("A1", ADMIN.0, "be1", "pw1"),
        ("A2", "be1", "fe", "pwf"),
        ("A3", "fe", "be1", "pw1"),
    ] {
        let mut client = connect(&master);
        client.exchange(
            format!(
                "{tag} AUTHENTICATE \"PLAIN\" \"{}\"\r\n",
                plain_base64(authzid, user, password)
            )
            .as_bytes(),
            &status(tag, "NO", "authorization failure"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Two Cyrus backends create the same name.
// ---------------------------------------------------------------------------------------------

/// Runs against `corvid mupdate` and, to show that the expectations are Cyrus's, against
/// Cyrus's own master.
#[test]
fn a_second_cyrus_backend_cannot_create_a_name_the_first_holds() {
    support::cyrus::require_cyrus();
    reserve_conflict(&start(&[]));
}

#[test]
fn a_second_cyrus_backend_cannot_create_a_name_the_first_holds_on_cyrus_master() {
    support::cyrus::require_cyrus();
    reserve_conflict(&CyrusMaster::start());
}

fn reserve_conflict(master: &dyn MupdateMaster) {
    let endpoint = master.endpoint();
    let first = CyrusBackend::start(Some(&endpoint));
    let second = CyrusBackend::start(Some(&endpoint));

    let mut imap = first.imap("admin");
    imap.create("user.x").unwrap();
    imap.logout();

    // The second backend's RESERVE is refused, so its CREATE fails (Cyrus words it its own way:
    // "unable to reserve mailbox on mupdate server").
    let mut imap = second.imap("admin");
    let (_, tagged) = imap.command("CREATE \"user.x\"").unwrap();
    imap.logout();
    eprintln!("the second backend answers: {tagged}");
    assert_eq!(tagged.split_whitespace().nth(1), Some("NO"), "{tagged}");
    assert!(
        second
            .instance
            .logs()
            .contains("MUPDATE: can't commit mailbox entry for 'user.x'"),
        "{}",
        second.instance.logs()
    );

    // The master still places it on the first; the second has no such mailbox.
    let mut client = endpoint.connect().unwrap();
    let found = table(client.find("user.x").unwrap().as_slice());
    assert_eq!(
        found.get("user.x"),
        Some(&Entry {
            location: first.location(),
            acl: Some("x\tlrswipkxtecdan\t".to_owned()),
        }),
        "{}",
        master.logs()
    );
    assert!(!second.table().contains_key("user.x"));
    assert!(
        client
            .list(Some(&format!("{}!", second.servername())))
            .unwrap()
            .is_empty()
    );
    // What the master answered the second backend: the same RESERVE, with the same
    // credentials (backends log in as the master's admin).
    let (_, status, text) = client
        .command(CommandKind::Reserve {
            name: b"user.x".to_vec(),
            location: second.location().into_bytes(),
        })
        .unwrap();
    assert_eq!(
        (status, text.as_str()),
        (Status::No, "mailbox already exists")
    );
    client.logout();
}
