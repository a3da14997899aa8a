//! corvid's proxy beside nginx's mail proxy and a bare rustls server, in one run, on this
//! machine: memory per idle session, CPU per relayed command, TLS handshakes per core.
//!
//! Run (from the repository root, as root: Dovecot must switch users; `ci/install-peers
//! --nginx` installs the peers; `cargo bench` builds the release `corvid` binary first):
//!
//! ```text
//! cargo bench --bench proxy_peers                      # 2,000 sessions, 5 s phases
//! cargo bench --bench proxy_peers -- --sessions 500 --secs 2 --no-nginx
//! ```
//!
//! Under `cargo test` (no `--bench` argument) it makes a smoke run instead: 20 sessions,
//! quarter-second phases, nginx only if it is installed; nothing about the figures is asserted,
//! only that every phase completes.
//!
//! Flags: `--sessions N` (idle sessions per memory phase, default 2,000), `--secs S` (each
//! CPU and handshake phase, default 5), `--conns A,B` (connections of the CPU phases,
//! default `1,32`), `--no-nginx`.
//!
//! The set-up: one Dovecot (tuned for many sessions of one user: long-lived login
//! processes, 100 clients per `imap` process), a `corvid mupdate` master placing `user.bench`
//! on it, and in front of it, one at a time, `corvid proxy --cores 1` (master-user login to
//! Dovecot) and nginx (one worker; its `auth_http` sends every login to the same Dovecot with
//! the client's own credentials). Each proxy runs pinned to CPU 0 (`taskset -c 0`; corvid's
//! executor pins itself to core 0, nginx gets `worker_cpu_affinity`); this process, its client
//! threads and Dovecot run on CPU 1. The same client code drives every target: a blocking
//! IMAP client over TCP or rustls (TLS 1.3, X25519, ECDSA P-256 certificate; the client checks
//! no certificate or signature, so that its core is not what limits the handshake phase).
//!
//! 1. **Memory per idle session**, plain and implicit TLS, each on a fresh proxy process: 8
//!    sessions opened and closed (warm-up), the proxy's RSS (`VmRSS`, summed over nginx's
//!    master and worker), then `--sessions` sessions each logged in (`LOGIN`) with `INBOX`
//!    selected (so that corvid's backend leg exists; nginx keeps one backend connection per
//!    session from the login on), one second of quiet, the RSS again: (after − before) / N.
//!    Dovecot's memory is not counted; kernel socket buffers are not in RSS.
//! 2. **CPU per relayed command**: C connections (`--conns`) logged in with `INBOX` selected,
//!    each a thread looping `NOOP` (then `FETCH 1 (UID FLAGS)`) and waiting for its answer, for
//!    `--secs`; the proxy's CPU time (utime + stime of /proc/PID/stat, all processes of nginx)
//!    over the phase divided by the commands completed. The same loop direct to Dovecot gives
//!    the baseline rate.
//! 3. **TLS handshakes per core**: 4 client threads doing full handshakes (no resumption) and
//!    reading the greeting, for `--secs`, against corvid's implicit-TLS listener and against a
//!    bare rustls server in this process (4 std threads pinned to CPU 0, each accept →
//!    `ServerConnection` → handshake → greeting line → close) built from the same
//!    `corvid_mupdate::master::tls::server_config` and the same files. Handshakes per second
//!    of wall clock, and per second of the server's CPU time (the per-core figure).
//!
//! The machine is shared and noisy (2 vCPUs, a quarter stolen by the host): compare within one
//! run, and read docs/benchmarking.md for the figures and their caveats.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use support::corvid::{CorvidMaster, CorvidProxy, ProxyLaunch};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::nginx::{NginxMailProxy, NginxTls};
use support::{procfs, rss_kib, wait_until};

/// The one end user every session logs in as.
const USER: &str = "bench";
/// Its password.
const PASSWORD: &str = "bench-pw";
/// The CPU the proxy under test runs on.
const PROXY_CPU: usize = 0;
/// Each read waits at most this long.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Threads that open sessions at once (login latency overlaps; CPU is one core anyway).
const OPENERS: usize = 4;
/// Client threads (and bare-server threads) of the handshake phase.
const HANDSHAKERS: usize = 4;
/// The small commands relayed in the CPU phase.
const COMMANDS: [&str; 2] = ["NOOP", "FETCH 1 (UID FLAGS)"];

/// Dovecot set up for thousands of sessions of one user on few processes: login processes
/// and `imap` processes that live on (`service_count = 0`), 100 sessions per `imap` process, no
/// per-user cap.
const DOVECOT_TUNING: &str = r#"
# benches/proxy_peers.rs: many sessions of one user, few processes
default_client_limit = 20000
default_vsz_limit = 1G
service imap-login {
  service_count = 0
  client_limit = 10000
  process_min_avail = 1
}
service imap {
  service_count = 0
  client_limit = 100
  process_limit = 200
}
protocol imap {
  mail_max_userip_connections = 100000
}
"#;

#[derive(Debug, Clone)]
struct Options {
    sessions: usize,
    phase: Duration,
    conns: Vec<usize>,
    nginx: bool,
}

impl Options {
    fn parse() -> Options {
        let bench = std::env::args().any(|arg| arg == "--bench");
        let mut o = if bench {
            Options {
                sessions: 2_000,
                phase: Duration::from_secs(5),
                conns: vec![1, 32],
                nginx: true,
            }
        } else {
            // `cargo test --all-targets` (ci/test): a smoke run that only checks the harness.
            Options {
                sessions: 20,
                phase: Duration::from_millis(250),
                conns: vec![1, 4],
                nginx: std::path::Path::new(support::nginx::NGINX).exists(),
            }
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            match arg.as_str() {
                "--sessions" => o.sessions = value().replace('_', "").parse().unwrap(),
                "--secs" => o.phase = Duration::from_secs_f64(value().parse().unwrap()),
                "--conns" => {
                    o.conns = value().split(',').map(|c| c.parse().unwrap()).collect();
                }
                "--no-nginx" => o.nginx = false,
                // `cargo bench` passes `--bench`; filters are not used.
                _ => {}
            }
        }
        o
    }
}

/// A byte stream to an IMAP server: plain TCP or rustls over TCP.
#[derive(Debug)]
enum Transport {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.read(buf),
            Transport::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Transport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(stream) => stream.write(buf),
            Transport::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(stream) => stream.flush(),
            Transport::Tls(stream) => stream.flush(),
        }
    }
}

/// Where the client connects: an address, over TLS when `tls` is given.
#[derive(Debug, Clone)]
struct Target {
    addr: String,
    tls: Option<Arc<ClientConfig>>,
}

impl Target {
    fn connect(&self) -> io::Result<Transport> {
        let stream = TcpStream::connect(&self.addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        Ok(match &self.tls {
            None => Transport::Plain(stream),
            Some(config) => {
                let name = ServerName::try_from("localhost").unwrap();
                let connection =
                    ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
                Transport::Tls(Box::new(StreamOwned::new(connection, stream)))
            }
        })
    }
}

/// The blocking IMAP client every phase uses: one command at a time, answers without literals.
#[derive(Debug)]
struct Imap {
    io: BufReader<Transport>,
    next_tag: u64,
    line: String,
}

impl Imap {
    /// Connects and reads the `* OK` greeting (for TLS, the handshake happens here).
    fn connect(target: &Target) -> io::Result<Imap> {
        let mut imap = Imap {
            io: BufReader::new(target.connect()?),
            next_tag: 1,
            line: String::new(),
        };
        imap.read_line()?;
        if !imap.line.starts_with("* OK") {
            return Err(io::Error::other(format!("greeting: {}", imap.line)));
        }
        Ok(imap)
    }

    /// Connects, logs in as [`USER`] and selects `INBOX`.
    fn session(target: &Target) -> io::Result<Imap> {
        let mut imap = Imap::connect(target)?;
        imap.ok(&format!("LOGIN {USER} {PASSWORD}"))?;
        imap.ok("SELECT INBOX")?;
        Ok(imap)
    }

    fn read_line(&mut self) -> io::Result<()> {
        self.line.clear();
        if self.io.read_line(&mut self.line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }

    /// Sends `command` and reads up to its tagged answer, which must be OK.
    fn ok(&mut self, command: &str) -> io::Result<()> {
        let tag = format!("t{} ", self.next_tag);
        self.next_tag += 1;
        let stream = self.io.get_mut();
        stream.write_all(format!("{tag}{command}\r\n").as_bytes())?;
        stream.flush()?;
        loop {
            self.read_line()?;
            if let Some(status) = self.line.strip_prefix(&tag) {
                return if status.starts_with("OK") {
                    Ok(())
                } else {
                    Err(io::Error::other(format!("{command}: {}", self.line.trim())))
                };
            }
        }
    }
}

/// `n` sessions to `target`, opened by [`OPENERS`] threads.
fn open_sessions(target: &Target, n: usize) -> Vec<Imap> {
    std::thread::scope(|scope| {
        let openers: Vec<_> = (0..OPENERS)
            .map(|i| {
                let share = n / OPENERS + usize::from(i < n % OPENERS);
                scope.spawn(move || {
                    (0..share)
                        .map(|_| Imap::session(target))
                        .collect::<io::Result<Vec<_>>>()
                })
            })
            .collect();
        openers
            .into_iter()
            .flat_map(|opener| opener.join().unwrap().expect("open a session"))
            .collect()
    })
}

/// A self-signed ECDSA P-256 certificate for `localhost` and its key, as PEM files.
struct Certificate {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

impl Certificate {
    fn generate() -> Certificate {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        Certificate {
            _dir: dir,
            cert,
            key,
        }
    }

    fn server_config(&self) -> Arc<ServerConfig> {
        corvid_mupdate::master::tls::server_config(&self.cert, &self.key).unwrap()
    }
}

/// The proxy under test: its processes (for RSS and CPU) and its listeners.
trait Proxy {
    fn pids(&self) -> Vec<u32>;
    fn plain(&self) -> String;
    fn tls(&self) -> String;
}

/// `corvid proxy` and the address of its implicit-TLS listener.
struct Corvid {
    proxy: CorvidProxy,
    tls: String,
}

impl Proxy for Corvid {
    fn pids(&self) -> Vec<u32> {
        self.proxy.pid().into_iter().collect()
    }
    fn plain(&self) -> String {
        self.proxy.addr()
    }
    fn tls(&self) -> String {
        self.tls.clone()
    }
}

impl Proxy for NginxMailProxy {
    fn pids(&self) -> Vec<u32> {
        NginxMailProxy::pids(self)
    }
    fn plain(&self) -> String {
        self.addr()
    }
    fn tls(&self) -> String {
        self.tls_addr().unwrap()
    }
}

/// The murder: a Dovecot with one user and a message, a master placing the user on it, a
/// certificate; and how to start each proxy in front of them.
struct Bench {
    dovecot: Dovecot,
    master: CorvidMaster,
    certificate: Certificate,
    client_tls: Arc<ClientConfig>,
}

impl Bench {
    fn start() -> Bench {
        let dovecot = Dovecot::start_with("peers", &[(USER, PASSWORD)], DOVECOT_TUNING);
        dovecot.append(
            USER,
            "INBOX",
            b"From: a@example.org\r\nSubject: hello\r\n\r\nhello\r\n",
        );
        let master = CorvidMaster::start();
        let mut admin = support::MupdateMaster::endpoint(&master).connect().unwrap();
        admin
            .activate(
                &format!("user.{USER}"),
                "be1!default",
                &format!("{USER}\tlrswipkxtecda\t"),
            )
            .unwrap();
        admin.logout();
        Bench {
            dovecot,
            master,
            certificate: Certificate::generate(),
            client_tls: corvid_bench::tls::client_config().unwrap(),
        }
    }

    fn corvid(&self) -> Corvid {
        let tls = format!("127.0.0.1:{}", support::free_port());
        let proxy = CorvidProxy::start_launched(
            &self.master.addr(),
            &[("be1", self.dovecot.addr())],
            &format!("{MASTER_USER}:{MASTER_PASSWORD}"),
            &[
                "--listen-tls",
                &tls,
                "--cert",
                &self.certificate.cert.display().to_string(),
                "--key",
                &self.certificate.key.display().to_string(),
            ],
            ProxyLaunch {
                cores: 1,
                log: "warn".into(),
                wrapper: procfs::pinned_to(PROXY_CPU),
            },
        );
        let corvid = Corvid { proxy, tls };
        // Logins route once the follower has the table.
        let target = self.plain(&corvid);
        let ready = wait_until(Duration::from_secs(20), || Imap::session(&target).ok());
        assert!(
            ready.is_some(),
            "no session through corvid:\n{}",
            corvid.proxy.logs()
        );
        corvid
    }

    fn nginx(&self) -> NginxMailProxy {
        let backend: SocketAddr = self.dovecot.addr().parse().unwrap();
        let tls = NginxTls {
            cert: &self.certificate.cert,
            key: &self.certificate.key,
        };
        NginxMailProxy::start(backend, Some(tls), PROXY_CPU, &procfs::pinned_to(PROXY_CPU))
    }

    fn plain(&self, proxy: &dyn Proxy) -> Target {
        Target {
            addr: proxy.plain(),
            tls: None,
        }
    }

    fn tls(&self, proxy: &dyn Proxy) -> Target {
        Target {
            addr: proxy.tls(),
            tls: Some(Arc::clone(&self.client_tls)),
        }
    }

    fn direct(&self) -> Target {
        Target {
            addr: self.dovecot.addr(),
            tls: None,
        }
    }
}

/// The summed RSS of `pids`, in KiB.
fn rss(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&pid| rss_kib(pid)).sum()
}

/// The summed CPU time of `pids`.
fn cpu(pids: &[u32]) -> Duration {
    pids.iter().map(|&pid| procfs::cpu_time(pid)).sum()
}

/// Bytes of proxy RSS per idle session through `target` (memory phase, module doc item 1).
fn idle_memory(proxy: &dyn Proxy, target: &Target, sessions: usize) -> f64 {
    drop(open_sessions(target, 8));
    std::thread::sleep(Duration::from_millis(500));
    let pids = proxy.pids();
    let before = rss(&pids);
    let open = open_sessions(target, sessions);
    std::thread::sleep(Duration::from_secs(1));
    let after = rss(&proxy.pids());
    drop(open);
    (after.saturating_sub(before) * 1024) as f64 / sessions as f64
}

/// One CPU phase's result.
#[derive(Debug, Clone, Copy)]
struct Relay {
    commands: u64,
    elapsed: Duration,
    /// The proxy's CPU time over the phase (none for the direct baseline).
    cpu: Option<Duration>,
}

impl Relay {
    fn rate(&self) -> f64 {
        self.commands as f64 / self.elapsed.as_secs_f64()
    }

    fn micros_per_command(&self) -> Option<f64> {
        self.cpu
            .map(|cpu| cpu.as_secs_f64() * 1e6 / self.commands.max(1) as f64)
    }
}

/// `conns` sessions looping `command` for `phase` (CPU phase, module doc item 2).
fn relay(
    proxy: Option<&dyn Proxy>,
    target: &Target,
    conns: usize,
    command: &str,
    phase: Duration,
) -> Relay {
    let sessions = open_sessions(target, conns);
    let pids = proxy.map(|proxy| proxy.pids()).unwrap_or_default();
    let start = Barrier::new(conns + 1);
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let cpu_before = cpu(&pids);
    let begun = std::thread::scope(|scope| {
        for mut session in sessions {
            let (start, stop, done) = (&start, &stop, &done);
            scope.spawn(move || {
                start.wait();
                let mut count = 0;
                while !stop.load(Ordering::Relaxed) {
                    session.ok(command).expect("relayed command");
                    count += 1;
                }
                done.fetch_add(count, Ordering::Relaxed);
            });
        }
        start.wait();
        let begun = Instant::now();
        std::thread::sleep(phase);
        stop.store(true, Ordering::Relaxed);
        begun
    });
    Relay {
        commands: done.load(Ordering::Relaxed),
        elapsed: begun.elapsed(),
        cpu: proxy.map(|_| cpu(&pids).saturating_sub(cpu_before)),
    }
}

/// A bare rustls server: [`HANDSHAKERS`] std threads pinned to [`PROXY_CPU`], each accepting,
/// completing the handshake, writing a greeting line and closing. Stops on drop.
struct BareRustls {
    addr: SocketAddr,
    tids: Vec<u32>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl BareRustls {
    fn start(config: Arc<ServerConfig>) -> BareRustls {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tid_tx, tid_rx) = mpsc::channel();
        let threads = (0..HANDSHAKERS)
            .map(|_| {
                let listener = listener.try_clone().unwrap();
                let (config, stop, tid_tx) =
                    (Arc::clone(&config), Arc::clone(&stop), tid_tx.clone());
                std::thread::spawn(move || {
                    let tid = procfs::current_tid().unwrap();
                    procfs::pin(tid, PROXY_CPU);
                    tid_tx.send(tid).unwrap();
                    for stream in listener.incoming() {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        if let Ok(stream) = stream {
                            let _ = greet_over_tls(&config, stream);
                        }
                    }
                })
            })
            .collect();
        let tids = tid_rx.iter().take(HANDSHAKERS).collect();
        BareRustls {
            addr,
            tids,
            stop,
            threads,
        }
    }

    fn cpu(&self) -> Duration {
        self.tids
            .iter()
            .map(|&tid| procfs::thread_cpu_time(tid))
            .sum()
    }
}

/// The bare server's work for one connection: the handshake, then a greeting line.
fn greet_over_tls(config: &Arc<ServerConfig>, stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    let connection = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(connection, stream);
    tls.write_all(b"* OK bare rustls ready\r\n")?;
    tls.flush()
}

impl Drop for BareRustls {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for _ in &self.threads {
            let _ = TcpStream::connect(self.addr);
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One handshake phase's result.
#[derive(Debug, Clone, Copy)]
struct Handshakes {
    count: u64,
    elapsed: Duration,
    server_cpu: Duration,
}

impl Handshakes {
    fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64()
    }

    fn per_cpu_second(&self) -> f64 {
        self.count as f64 / self.server_cpu.as_secs_f64().max(1e-3)
    }
}

/// [`HANDSHAKERS`] clients doing full handshakes to `target` for `phase`, the server's CPU
/// read by `server_cpu` (handshake phase, module doc item 3).
fn handshakes(target: &Target, phase: Duration, server_cpu: &dyn Fn() -> Duration) -> Handshakes {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let before = server_cpu();
    let begun = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..HANDSHAKERS {
            let (stop, done) = (&stop, &done);
            scope.spawn(move || {
                let mut count = 0;
                while !stop.load(Ordering::Relaxed) {
                    drop(Imap::connect(target).expect("TLS handshake and greeting"));
                    count += 1;
                }
                done.fetch_add(count, Ordering::Relaxed);
            });
        }
        std::thread::sleep(phase);
        stop.store(true, Ordering::Relaxed);
    });
    Handshakes {
        count: done.load(Ordering::Relaxed),
        elapsed: begun.elapsed(),
        server_cpu: server_cpu().saturating_sub(before),
    }
}

/// Memory per idle session, plain and TLS, each on a fresh proxy from `start`.
fn memory_row(
    name: &str,
    start: &dyn Fn() -> Box<dyn Proxy>,
    bench: &Bench,
    sessions: usize,
) -> [f64; 2] {
    let plain = {
        let proxy = start();
        idle_memory(proxy.as_ref(), &bench.plain(proxy.as_ref()), sessions)
    };
    let tls = {
        let proxy = start();
        idle_memory(proxy.as_ref(), &bench.tls(proxy.as_ref()), sessions)
    };
    println!(
        "memory  {name:<8} {sessions:>6} sessions   plain {:>8.0} B/session   TLS {:>8.0} B/session",
        plain, tls
    );
    [plain, tls]
}

/// Every relay phase against `target` (one row per command and connection count).
fn relay_rows(
    name: &str,
    proxy: Option<&dyn Proxy>,
    target: &Target,
    options: &Options,
) -> Vec<Relay> {
    let mut rows = Vec::new();
    for command in COMMANDS {
        for &conns in &options.conns {
            let relay = relay(proxy, target, conns, command, options.phase);
            let cost = relay
                .micros_per_command()
                .map_or("-".to_owned(), |us| format!("{us:.2} µs/cmd"));
            println!(
                "relay   {name:<8} {command:<20} {conns:>3} conns   {:>9.0} cmd/s   {cost:>14}   ({} commands)",
                relay.rate(),
                relay.commands
            );
            rows.push(relay);
        }
    }
    rows
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    }
}

fn main() {
    let options = Options::parse();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let client_cpu = if cpus > 1 { 1 } else { 0 };
    // This thread's pinning is inherited by every client thread and by Dovecot.
    procfs::pin(std::process::id(), client_cpu);
    println!(
        "proxy_peers: {options:?}; proxies on CPU {PROXY_CPU}, clients and Dovecot on CPU {client_cpu}"
    );
    if !options.nginx {
        println!("nginx: not run (ci/install-peers --nginx installs it)");
    }
    let bench = Bench::start();

    // 1. Memory per idle session.
    let corvid_memory = memory_row(
        "corvid",
        &|| Box::new(bench.corvid()),
        &bench,
        options.sessions,
    );
    let nginx_memory = options.nginx.then(|| {
        memory_row(
            "nginx",
            &|| Box::new(bench.nginx()),
            &bench,
            options.sessions,
        )
    });

    // 2. CPU per relayed command.
    let direct = relay_rows("dovecot", None, &bench.direct(), &options);
    let corvid = bench.corvid();
    let corvid_relay = relay_rows("corvid", Some(&corvid), &bench.plain(&corvid), &options);
    let nginx_relay = options.nginx.then(|| {
        let nginx = bench.nginx();
        relay_rows("nginx", Some(&nginx), &bench.plain(&nginx), &options)
    });

    // 3. TLS handshakes per core.
    let corvid_pids = corvid.pids();
    let corvid_tls = handshakes(&bench.tls(&corvid), options.phase, &|| cpu(&corvid_pids));
    drop(corvid);
    let bare = BareRustls::start(bench.certificate.server_config());
    let bare_target = Target {
        addr: bare.addr.to_string(),
        tls: Some(Arc::clone(&bench.client_tls)),
    };
    let bare_tls = handshakes(&bare_target, options.phase, &|| bare.cpu());
    drop(bare);
    for (name, result) in [("corvid", corvid_tls), ("rustls", bare_tls)] {
        println!(
            "tls     {name:<8} {:>6} handshakes   {:>7.0}/s wall   {:>7.0}/s per server CPU second",
            result.count,
            result.per_second(),
            result.per_cpu_second()
        );
    }

    // Ratios.
    println!("\nratios (corvid / peer; lower is better for memory and CPU, higher for handshakes)");
    if let Some(nginx) = nginx_memory {
        println!(
            "memory per idle session   plain {}   TLS {}   (target ≤ 0.80x)",
            ratio(Some(corvid_memory[0]), Some(nginx[0])),
            ratio(Some(corvid_memory[1]), Some(nginx[1]))
        );
    }
    if let Some(nginx) = &nginx_relay {
        let mut rows = corvid_relay.iter().zip(nginx);
        for command in COMMANDS {
            for &conns in &options.conns {
                let (ours, theirs) = rows.next().unwrap();
                println!(
                    "CPU per {command:<20} {conns:>3} conns   {}   (target ≤ 0.70x)",
                    ratio(ours.micros_per_command(), theirs.micros_per_command())
                );
            }
        }
    }
    println!(
        "TLS handshakes per server CPU second   {}   per wall second {}   (target ≥ 0.90x)",
        ratio(
            Some(corvid_tls.per_cpu_second()),
            Some(bare_tls.per_cpu_second())
        ),
        ratio(Some(corvid_tls.per_second()), Some(bare_tls.per_second()))
    );

    // The smoke run's checks: every phase did its work.
    assert!(corvid_memory.iter().all(|&bytes| bytes >= 0.0));
    assert!(
        direct
            .iter()
            .chain(&corvid_relay)
            .all(|relay| relay.commands > 0)
    );
    assert!(nginx_relay.iter().flatten().all(|relay| relay.commands > 0));
    assert!(corvid_tls.count > 0 && bare_tls.count > 0);
}
