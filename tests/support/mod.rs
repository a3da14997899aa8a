//! Support for corvid's end-to-end tests: real peers started by the test on 127.0.0.1.
//!
//! * [`corvid`]: `corvid mupdate` from the binary under test, killable and restartable;
//!   [`backend`]: `corvid backend`, the reference backend, stoppable and restartable.
//! * [`follower`]: corvid's follower on a thread of its own, for tests and the load bench.
//! * [`cyrus`]: Cyrus IMAP 3.6 instances from Debian's packages (a MUPDATE master, backends, a
//!   frontend slave) and the `mupdatetest` runner. Install them with `ci/install-peers`.
//! * [`dovecot`]: Dovecot 2.3 IMAP backends with a master user for the proxy (also installed by
//!   `ci/install-peers`).
//! * [`nginx`]: nginx's mail proxy (installed by `ci/install-peers --nginx`) and its
//!   `auth_http` endpoint, for the side-by-side proxy benchmark.
//! * [`procfs`]: CPU time, children and CPU pinning of processes, for the benchmarks.
//! * [`MupdateEndpoint`]: where a MUPDATE master listens and the admin that may log in to it.
//!   Tests are written against this, so that they can be pointed at Cyrus's master or ours.
//! * [`MupdateClient`]: a tiny blocking MUPDATE client on `corvid_proto::mupdate`.
//! * [`ImapClient`]: a tiny blocking IMAP client (LOGIN, then one command at a time);
//!   [`race`] runs one command in two sessions at once, [`one_winner`] checks a CREATE race.
//! * [`exists`]: the `* n EXISTS` of a SELECT's answer.
//! * [`run_bounded`], [`free_port`], [`wait_until`]: process and polling helpers; everything
//!   here is bounded in time.
//!
//! Used from a test file as `mod support;`; not every test file uses every item.
#![allow(dead_code, unreachable_pub)]

pub mod backend;
pub mod corvid;
pub mod cyrus;
pub mod dovecot;
pub mod follower;
pub mod nginx;
pub mod procfs;

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use corvid_mupdate::client::{Client, ClientError};
use corvid_proto::mupdate::{Banner, CommandKind, Record, Response, Status};

/// How long one network read may block before the helpers give up.
pub const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `bound`.
pub fn wait_until<T>(bound: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether this process runs as root (some peers can only be run by root).
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Whether an IMAP server at `addr` answers with an `* OK` greeting (within 2 s).
pub fn imap_greets(addr: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).is_ok() && &buf == b"* OK"
}

/// The last 80 lines of the log file at `path` (empty if it cannot be read).
pub fn log_tail(path: &std::path::Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(80)..].join("\n")
}

/// Runs `command` with `stdin` as its input and kills it if it has not finished within `bound`.
/// Returns its output (the status is a failure when it was killed).
pub fn run_bounded(command: &mut Command, stdin: &[u8], bound: Duration) -> io::Result<Output> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + bound;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    Ok(Output {
        status,
        stdout: reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Where a MUPDATE master listens, and the admin (user and password) that may log in to it.
/// Backends and slaves log in with the same credentials (a Cyrus master lets only admins in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MupdateEndpoint {
    /// The address to connect to (always 127.0.0.1 here).
    pub host: String,
    /// The TCP port.
    pub port: u16,
    /// An admin user of the master.
    pub user: String,
    /// Its password.
    pub password: String,
}

impl MupdateEndpoint {
    /// `host:port`, the form Cyrus's `mupdate_server` needs (`mupdate_port` is never read).
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Connects and logs in as the admin.
    pub fn connect(&self) -> io::Result<MupdateClient> {
        let mut client = MupdateClient::connect(&self.addr())?;
        client.authenticate(&self.user, &self.password)?;
        Ok(client)
    }

    /// Every record whose location starts with `prefix` (all of them for `None`), in the
    /// master's order.
    pub fn list(&self, prefix: Option<&str>) -> Vec<Record> {
        let mut client = self.connect().expect("connect to the MUPDATE master");
        let records = client.list(prefix).expect("MUPDATE LIST");
        client.logout();
        records
    }
}

/// A MUPDATE master under test: Cyrus's today, `corvid mupdate` later.
pub trait MupdateMaster {
    /// Where it listens, with admin credentials.
    fn endpoint(&self) -> MupdateEndpoint;
    /// Its logs so far, for failure messages.
    fn logs(&self) -> String;
}

fn protocol_error(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

fn client_error(error: ClientError) -> io::Error {
    match error {
        ClientError::Io(error) => error,
        other => protocol_error(other),
    }
}

/// A blocking MUPDATE client for tests: corvid's own ([`corvid_mupdate::client::Client`]) with
/// `io::Result`s and shortcuts for the common commands.
#[derive(Debug)]
pub struct MupdateClient {
    inner: Client,
    /// The server's capability banner.
    pub banner: Banner,
}

impl MupdateClient {
    /// Connects and reads the banner.
    pub fn connect(addr: &str) -> io::Result<Self> {
        let inner = Client::connect(addr, IO_TIMEOUT).map_err(client_error)?;
        Ok(MupdateClient {
            banner: inner.banner().clone(),
            inner,
        })
    }

    /// Reads one response.
    pub fn read_response(&mut self) -> io::Result<Response> {
        self.inner.read_response().map_err(client_error)
    }

    /// Sends a command without waiting for its answer (to pipeline several); returns its tag,
    /// for [`MupdateClient::finish`].
    pub fn send(&mut self, kind: CommandKind) -> io::Result<Vec<u8>> {
        let tag = self.inner.send(kind);
        self.inner.flush().map_err(client_error)?;
        Ok(tag)
    }

    /// Logs in with SASL PLAIN (empty authorization id, as Cyrus's own client does).
    pub fn authenticate(&mut self, user: &str, password: &str) -> io::Result<()> {
        self.inner
            .authenticate(user, password, "")
            .map_err(|error| protocol_error(format!("AUTHENTICATE failed: {error}")))
    }

    /// Sends a command and reads up to its tagged status: the records, and the status.
    pub fn command(&mut self, kind: CommandKind) -> io::Result<(Vec<Record>, Status, String)> {
        let tag = self.send(kind)?;
        self.finish(&tag)
    }

    /// Reads up to the tagged status of the command sent with `tag`: its records, and the
    /// status. Commands pipelined earlier must have been finished first.
    pub fn finish(&mut self, tag: &[u8]) -> io::Result<(Vec<Record>, Status, String)> {
        let reply = self.inner.finish(tag).map_err(client_error)?;
        Ok((reply.records, reply.status, reply.text))
    }

    fn expect_ok(&mut self, kind: CommandKind) -> io::Result<Vec<Record>> {
        let what = format!("{kind:?}");
        match self.command(kind)? {
            (records, Status::Ok, _) => Ok(records),
            (_, status, text) => Err(protocol_error(format!("{what}: {status:?} {text}"))),
        }
    }

    /// `LIST [prefix]`.
    pub fn list(&mut self, prefix: Option<&str>) -> io::Result<Vec<Record>> {
        self.expect_ok(CommandKind::List {
            prefix: prefix.map(|p| p.as_bytes().to_vec()),
        })
    }

    /// `FIND name`: the record, if the master has one.
    pub fn find(&mut self, name: &str) -> io::Result<Option<Record>> {
        let records = self.expect_ok(CommandKind::Find {
            name: name.as_bytes().to_vec(),
        })?;
        Ok(records.into_iter().next())
    }

    /// `DELETE name`.
    pub fn delete(&mut self, name: &str) -> io::Result<()> {
        self.expect_ok(CommandKind::Delete {
            name: name.as_bytes().to_vec(),
        })
        .map(drop)
    }

    /// `ACTIVATE name location acl`.
    pub fn activate(&mut self, name: &str, location: &str, acl: &str) -> io::Result<()> {
        self.expect_ok(CommandKind::Activate {
            name: name.as_bytes().to_vec(),
            location: location.as_bytes().to_vec(),
            acl: acl.as_bytes().to_vec(),
        })
        .map(drop)
    }

    /// `RESERVE name location`.
    pub fn reserve(&mut self, name: &str, location: &str) -> io::Result<()> {
        self.expect_ok(CommandKind::Reserve {
            name: name.as_bytes().to_vec(),
            location: location.as_bytes().to_vec(),
        })
        .map(drop)
    }

    /// `LOGOUT`, ignoring errors.
    pub fn logout(mut self) {
        let _ = self.command(CommandKind::Logout);
    }
}

/// One mailbox as a master or a `ctl_mboxlist -d` dump sees it: where it lives and its ACL
/// string (`id TAB rights TAB ...`), or `None` for a reserved name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// `server!partition`.
    pub location: String,
    /// The ACL string, `None` when the name is only reserved.
    pub acl: Option<String>,
}

/// A master's records as a map from mailbox name to [`Entry`].
pub fn table(records: &[Record]) -> std::collections::BTreeMap<String, Entry> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    records
        .iter()
        .filter_map(|record| match record {
            Record::Mailbox {
                name,
                location,
                acl,
            } => Some((
                text(name),
                Entry {
                    location: text(location),
                    acl: Some(text(acl)),
                },
            )),
            Record::Reserve { name, location } => Some((
                text(name),
                Entry {
                    location: text(location),
                    acl: None,
                },
            )),
            Record::Delete { .. } => None,
        })
        .collect()
}

/// The names of records, in the order given.
pub fn names(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.name()).into_owned())
        .collect()
}

/// A blocking IMAP client for driving a backend: LOGIN, then one command at a time, over TCP
/// or a Unix socket.
pub struct ImapClient {
    reader: BufReader<Box<dyn Read + Send>>,
    writer: Box<dyn Write + Send>,
    next_tag: u32,
    /// The greeting line.
    pub greeting: String,
}

/// Quotes a string for IMAP (names with spaces, and the like; no CR/LF).
pub fn imap_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

impl std::fmt::Debug for ImapClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapClient")
            .field("greeting", &self.greeting)
            .finish_non_exhaustive()
    }
}

impl ImapClient {
    /// Connects and reads the greeting, which must be `* OK` (not yet logged in).
    pub fn connect(addr: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        let writer = stream.try_clone()?;
        Self::greeted(Box::new(stream), Box::new(writer))
    }

    /// [`ImapClient::connect`] to the Unix socket at `path`.
    pub fn connect_unix(path: &std::path::Path) -> io::Result<Self> {
        let stream = std::os::unix::net::UnixStream::connect(path)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        let writer = stream.try_clone()?;
        Self::greeted(Box::new(stream), Box::new(writer))
    }

    /// A client on a connected stream, once the server's `* OK` greeting was read from it.
    fn greeted(reader: Box<dyn Read + Send>, writer: Box<dyn Write + Send>) -> io::Result<Self> {
        let mut client = ImapClient {
            reader: BufReader::new(reader),
            writer,
            next_tag: 1,
            greeting: String::new(),
        };
        client.greeting = client.read_line()?;
        if !client.greeting.starts_with("* OK") {
            return Err(protocol_error(format!("greeting: {}", client.greeting)));
        }
        Ok(client)
    }

    /// Connects, reads the greeting and logs in with LOGIN.
    pub fn login(addr: &str, user: &str, password: &str) -> io::Result<Self> {
        Self::connect(addr)?.logged_in(user, password)
    }

    /// Logs in with LOGIN.
    pub fn logged_in(mut self, user: &str, password: &str) -> io::Result<Self> {
        let login = format!("LOGIN {} {}", imap_quote(user), imap_quote(password));
        self.ok(&login)?;
        Ok(self)
    }

    /// `AUTHENTICATE PLAIN` with the initial response on the command line (SASL-IR): `user`
    /// and `password` authenticate, `authzid` (empty for none) is who to act as.
    pub fn authenticate_plain(
        &mut self,
        authzid: &str,
        user: &str,
        password: &str,
    ) -> io::Result<()> {
        self.ok(&format!(
            "AUTHENTICATE PLAIN {}",
            plain_base64(authzid, user, password)
        ))
        .map(drop)
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "IMAP server closed the connection",
            ));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    /// Sends `command` (without tag) and reads up to its tagged response. Returns the untagged
    /// lines (a literal's bytes inlined) and the tagged line.
    pub fn command(&mut self, command: &str) -> io::Result<(Vec<String>, String)> {
        let tag = format!("c{}", self.next_tag);
        self.next_tag += 1;
        self.writer
            .write_all(format!("{tag} {command}\r\n").as_bytes())?;
        let mut untagged = Vec::new();
        loop {
            let mut line = self.read_line()?;
            // A literal at the end of a line: its bytes, then the rest of the response.
            while let Some(n) = line
                .strip_suffix('}')
                .and_then(|l| l.rsplit_once('{'))
                .and_then(|(_, n)| n.parse::<usize>().ok())
            {
                let mut literal = vec![0u8; n];
                self.reader.read_exact(&mut literal)?;
                line.push_str("\r\n");
                line.push_str(&String::from_utf8_lossy(&literal));
                line.push_str(&self.read_line()?);
            }
            if line.starts_with(&format!("{tag} ")) {
                return Ok((untagged, line));
            }
            untagged.push(line);
        }
    }

    /// Runs `command` and fails unless it ends in OK.
    pub fn ok(&mut self, command: &str) -> io::Result<Vec<String>> {
        let (untagged, tagged) = self.command(command)?;
        match tagged.split_whitespace().nth(1) {
            Some("OK") => Ok(untagged),
            _ => Err(protocol_error(format!("{command}: {tagged}"))),
        }
    }

    /// `CREATE name`.
    pub fn create(&mut self, name: &str) -> io::Result<()> {
        self.ok(&format!("CREATE {}", imap_quote(name))).map(drop)
    }

    /// `DELETE name`.
    pub fn delete(&mut self, name: &str) -> io::Result<()> {
        self.ok(&format!("DELETE {}", imap_quote(name))).map(drop)
    }

    /// `RENAME from to`.
    pub fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.ok(&format!("RENAME {} {}", imap_quote(from), imap_quote(to)))
            .map(drop)
    }

    /// `SETACL name identifier rights`.
    pub fn setacl(&mut self, name: &str, identifier: &str, rights: &str) -> io::Result<()> {
        self.ok(&format!(
            "SETACL {} {} {}",
            imap_quote(name),
            imap_quote(identifier),
            imap_quote(rights)
        ))
        .map(drop)
    }

    /// `LOGOUT`, ignoring errors.
    pub fn logout(mut self) {
        let _ = self.command("LOGOUT");
    }
}

/// Runs `command` in two logged-in sessions at once; returns both tagged answers.
pub fn race(clients: [ImapClient; 2], command: &str) -> Vec<String> {
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            let (barrier, command) = (barrier.clone(), command.to_string());
            std::thread::spawn(move || {
                barrier.wait();
                let (_, tagged) = client.command(&command).expect("a racing command");
                client.logout();
                tagged
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|thread| thread.join().expect("a racing session"))
        .collect()
}

/// Exactly one answer is OK and the other `NO [ALREADYEXISTS]`; the index of the OK.
pub fn one_winner(answers: &[String]) -> usize {
    let ok: Vec<usize> = (0..answers.len())
        .filter(|&at| answers[at].split_whitespace().nth(1) == Some("OK"))
        .collect();
    assert_eq!(ok.len(), 1, "exactly one CREATE succeeds: {answers:?}");
    let loser = &answers[1 - ok[0]];
    assert!(loser.contains("NO [ALREADYEXISTS]"), "{answers:?}");
    ok[0]
}

/// SASL PLAIN's message `authzid NUL authcid NUL password` in base64, as sent on the wire.
pub fn plain_base64(authzid: &str, user: &str, password: &str) -> String {
    let mut line = Vec::new();
    corvid_proto::mupdate::encode_sasl_line(
        format!("{authzid}\0{user}\0{password}").as_bytes(),
        &mut line,
    );
    String::from_utf8_lossy(&line).trim_end().to_owned()
}

/// A raw connection for byte-level protocol tests: what is sent and read is compared as bytes.
/// Reads are bounded: each waits at most [`IO_TIMEOUT`] in all.
#[derive(Debug)]
pub struct RawClient {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawClient {
    /// Connects (without reading anything).
    pub fn connect(addr: &str) -> io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        Ok(RawClient {
            stream,
            buf: Vec::new(),
        })
    }

    /// Sends `bytes` as they are.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Reads until `n` bytes are buffered (or the bound passes, or the server closes), then
    /// takes them; fewer on timeout or close.
    pub fn read_n(&mut self, n: usize, bound: Duration) -> Vec<u8> {
        let deadline = Instant::now() + bound;
        while self.buf.len() < n && self.fill(deadline) {}
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// Reads until the buffered bytes end with `end` (or the bound passes, or the server
    /// closes) and takes everything buffered.
    pub fn read_until(&mut self, end: &[u8], bound: Duration) -> Vec<u8> {
        let deadline = Instant::now() + bound;
        while !self.buf.ends_with(end) && self.fill(deadline) {}
        std::mem::take(&mut self.buf)
    }

    /// Reads exactly as many bytes as `expected` has and asserts they are those bytes.
    #[track_caller]
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.read_n(expected.len(), IO_TIMEOUT);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "unexpected bytes from the server"
        );
    }

    /// Sends `command` and asserts the answer is exactly `expected`.
    #[track_caller]
    pub fn exchange(&mut self, command: &[u8], expected: &[u8]) {
        self.send(command).expect("send to the server");
        self.expect(expected);
    }

    /// Whatever arrives within `wait` (nothing, usually: to check that the server is quiet).
    pub fn read_for(&mut self, wait: Duration) -> Vec<u8> {
        let deadline = Instant::now() + wait;
        while self.fill(deadline) {}
        std::mem::take(&mut self.buf)
    }

    /// Whether the server closes the connection (EOF or reset) within `bound`, bytes sent
    /// before the close being dropped.
    pub fn closed_within(&mut self, bound: Duration) -> bool {
        let deadline = Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            let _ = self.stream.set_read_timeout(Some(left));
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return false;
                }
                Err(_) => return true,
            }
        }
    }

    /// One read into the buffer before `deadline`; false on timeout, close or error.
    fn fill(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = self.stream.set_read_timeout(Some(left));
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }
}

/// A small seeded random number generator (xorshift64*): tests print the seed so that a
/// failing run can be repeated (`CORVID_TEST_SEED`).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// From `CORVID_TEST_SEED` if set, else from the clock; the seed is printed.
    pub fn from_env_or_clock(what: &str) -> Self {
        let seed = std::env::var("CORVID_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        eprintln!("{what}: seed {seed} (CORVID_TEST_SEED={seed} repeats it)");
        Self::new(seed)
    }

    /// From a seed.
    pub fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `range`.
    pub fn range(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.below(range.end - range.start)
    }
}

/// A process's resident memory in KiB (`VmRSS` of /proc/PID/status), if it runs.
// Not every test binary reads memory, and `dead_code` does not cover re-exports.
#[allow(unused_imports)]
pub use corvid_bench::procfs::rss_kib;

/// The number in the `* n EXISTS` line of `untagged` (a SELECT's or EXAMINE's answer).
pub fn exists(untagged: &[String]) -> Option<u32> {
    untagged.iter().find_map(|line| {
        line.strip_prefix("* ")?
            .strip_suffix(" EXISTS")?
            .parse()
            .ok()
    })
}
