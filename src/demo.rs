//! `corvid demo`: a whole murder on loopback from one command, as child processes of this
//! binary: the MUPDATE master, the reference backends `be1` and `be2`, and the proxy.
//!
//! Everything lives in one directory (`--dir`, or a temporary one removed at exit):
//!
//! | path | what |
//! |---|---|
//! | `mupdate.toml` | the master's users (mode 0600): `admin`/`demo`, `be1`, `be2`, `proxy` |
//! | `users.passwords` | john and jane (password `demo`), argon2 hashes: the proxy checks logins |
//! | `backends.passwords` | the same users and the proxy's identity: the backends check logins |
//! | `tls/cert.pem`, `tls/key.pem` | a self-signed certificate for `localhost` and 127.0.0.1 |
//! | `mupdate/`, `be1/`, `be2/`, `proxy/` | each server's data |
//! | `logs/ROLE.log` | each server's log (its stderr) |
//! | `seeded` | present once john's and jane's mailboxes were seeded |
//! | `be1.sock` | with `--unified`: be1's Unix socket, which the proxy reaches it by |
//!
//! The passwords of `be1`, `be2` and `proxy` are generated at random on every run: no server
//! keeps them, so a kept directory starts again with new ones. They reach the children through
//! the environment and files, never their command line. The certificate is made once per
//! directory. On the first run only, the demo logs in to be1 as john and to be2 as jane (each
//! backend creates the user's INBOX at first login and registers it with the master), appends a
//! few messages and has jane grant john `lrs` on her INBOX ([`seed`]).
//!
//! With `--unified`, be1 runs unified with the proxy, as on one host: it also listens on a Unix
//! socket, and the proxy reaches it there rather than over TCP (be2 stays over TCP).
//!
//! The children run in process groups of their own, so a Ctrl-C in the terminal reaches only the
//! demo, which then stops the proxy, the backends and the master in that order (SIGTERM, then
//! SIGKILL after a deadline). A server that exits on its own stops the demo with its log.

mod seed;

use std::fs;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rand::Rng;
use rand::distr::Alphanumeric;
use rustix::process::{Pid, Signal, kill_process};
use wait_timeout::ChildExt;

/// Flags of `corvid demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Keep the murder's state (mailboxes, table, certificate, logs) in this directory between
    /// runs [default: a temporary directory, removed at exit].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Run be1 unified with the proxy: the proxy reaches it over its Unix socket (DIR/be1.sock)
    /// instead of TCP.
    #[arg(long)]
    unified: bool,
}

/// The master's address.
const MASTER: &str = "127.0.0.1:3905";
/// The backends: server name and IMAP address.
const BACKENDS: [(&str, &str); 2] = [("be1", "127.0.0.1:2143"), ("be2", "127.0.0.1:2144")];
/// The proxy's plaintext listener (STARTTLS).
const PROXY_IMAP: &str = "127.0.0.1:1143";
/// The proxy's implicit-TLS listener.
const PROXY_IMAPS: &str = "127.0.0.1:1993";
/// The proxy's admin endpoint.
const PROXY_ADMIN: &str = "127.0.0.1:9143";
/// The mail users.
const USERS: [&str; 2] = ["john", "jane"];
/// Their password.
const USER_PASSWORD: &str = "demo";
/// The master's administrator.
const ADMIN: (&str, &str) = ("admin", "demo");
/// The proxy's name on the master and on the backends.
const PROXY_IDENTITY: &str = "proxy";

/// How long a server may take to listen.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long a server may take to exit after SIGTERM before it gets SIGKILL.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// How often the waits look at the children and the signal flag.
const POLL: Duration = Duration::from_millis(100);

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop))?;
    }
    // The temporary directory is removed when this guard drops, after the murder has stopped.
    let (dir, temporary) = match args.dir {
        Some(dir) => {
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            (dir.canonicalize()?, None)
        }
        None => {
            let temporary = tempfile::Builder::new().prefix("corvid-demo-").tempdir()?;
            (temporary.path().to_path_buf(), Some(temporary))
        }
    };
    let kept = temporary.is_none();
    let addresses = [
        MASTER,
        BACKENDS[0].1,
        BACKENDS[1].1,
        PROXY_IMAP,
        PROXY_IMAPS,
        PROXY_ADMIN,
    ];
    for addr in addresses {
        if listening(addr) {
            bail!("{addr} is in use (another corvid demo running?)");
        }
    }
    let secrets = Secrets::generate();
    let files = Files::write(&dir, &secrets)?;

    let mut murder = Murder {
        program: std::env::current_exe().context("finding this binary")?,
        logs: dir.join("logs"),
        stop,
        servers: Vec::new(),
    };
    fs::create_dir_all(&murder.logs)?;
    let mut master = murder.command("mupdate", &dir.join("mupdate"));
    master
        .args(["--listen", MASTER, "--config"])
        .arg(&files.master_config);
    murder.start("mupdate", master, &[MASTER.into()])?;
    // Where the proxy reaches each backend: be1 over its socket when unified.
    let mut proxy_routes = Vec::new();
    for ((server, addr), password) in BACKENDS.into_iter().zip(&secrets.backends) {
        let mut backend = murder.command("backend", &dir.join(server));
        backend
            .args(["--listen", addr, "--server", server, "--mupdate", MASTER])
            .args(["--proxy-user", PROXY_IDENTITY, "--password-file"])
            .arg(&files.backend_passwords)
            .env("CORVID_MUPDATE_USER", format!("{server}:{password}"));
        let mut addrs = vec![addr.to_string()];
        if args.unified && server == "be1" {
            let socket = dir.join("be1.sock");
            backend.arg("--listen-unix").arg(&socket);
            addrs.push(format!("unix:{}", socket.display()));
        }
        proxy_routes.push(format!("{server}={}", addrs[addrs.len() - 1]));
        murder.start(server, backend, &addrs)?;
    }

    let marker = dir.join("seeded");
    if !marker.exists() {
        seed::seed(BACKENDS[0].1, BACKENDS[1].1, USER_PASSWORD).context("seeding the mailboxes")?;
        fs::write(&marker, "john's and jane's mailboxes were seeded\n")?;
    }

    let proxy_credentials = format!("{PROXY_IDENTITY}:{}", secrets.proxy);
    let mut proxy = murder.command("proxy", &dir.join("proxy"));
    proxy
        .args(["--listen", PROXY_IMAP, "--listen-tls", PROXY_IMAPS])
        .args(["--admin-listen", PROXY_ADMIN, "--mupdate", MASTER])
        .args(
            proxy_routes
                .iter()
                .flat_map(|route| ["--backend", route.as_str()]),
        )
        .arg("--cert")
        .arg(&files.cert)
        .arg("--key")
        .arg(&files.key)
        .arg("--password-file")
        .arg(&files.user_passwords)
        .env("CORVID_MUPDATE_USER", &proxy_credentials)
        .env("CORVID_PROXY_USER", &proxy_credentials);
    murder.start(
        "proxy",
        proxy,
        &[PROXY_IMAP.into(), PROXY_IMAPS.into(), PROXY_ADMIN.into()],
    )?;

    murder.print(&dir, kept, &files);
    let outcome = murder.wait();
    murder.stop_all();
    outcome
}

/// Is something listening at `addr` (`host:port`, or `unix:/path`)?
fn listening(addr: &str) -> bool {
    match addr.strip_prefix("unix:") {
        Some(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
        None => addr
            .parse::<SocketAddr>()
            .is_ok_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()),
    }
}

/// The passwords generated for this run.
struct Secrets {
    /// Of `be1` and `be2` on the master, in [`BACKENDS`] order.
    backends: [String; 2],
    /// Of the proxy's identity, on the master and on the backends.
    proxy: String,
}

impl Secrets {
    fn generate() -> Secrets {
        let password = || {
            rand::rng()
                .sample_iter(Alphanumeric)
                .take(24)
                .map(char::from)
                .collect::<String>()
        };
        Secrets {
            backends: [password(), password()],
            proxy: password(),
        }
    }
}

/// The configuration files written into the directory.
#[derive(Debug)]
struct Files {
    master_config: PathBuf,
    user_passwords: PathBuf,
    backend_passwords: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    /// Writes the users and passwords, and the certificate if the directory has none yet.
    fn write(dir: &Path, secrets: &Secrets) -> anyhow::Result<Files> {
        let tls = dir.join("tls");
        let files = Files {
            master_config: dir.join("mupdate.toml"),
            user_passwords: dir.join("users.passwords"),
            backend_passwords: dir.join("backends.passwords"),
            cert: tls.join("cert.pem"),
            key: tls.join("key.pem"),
        };

        let mut master = String::from("# corvid demo: the master's users, written on every run\n");
        let backends = BACKENDS.iter().zip(&secrets.backends);
        let users = [(ADMIN.0, ADMIN.1, "admin", None)]
            .into_iter()
            .chain(
                backends.map(|((server, _), pw)| (*server, pw.as_str(), "backend", Some(*server))),
            )
            .chain([(PROXY_IDENTITY, secrets.proxy.as_str(), "frontend", None)]);
        for (name, password, role, server) in users {
            master.push_str(&format!(
                "\n[[user]]\nname = \"{name}\"\npassword = \"{password}\"\nrole = \"{role}\"\n"
            ));
            if let Some(server) = server {
                master.push_str(&format!("server = \"{server}\"\n"));
            }
        }
        write_private(&files.master_config, master.as_bytes())?;

        let mut users = String::new();
        for user in USERS {
            users.push_str(&format!("{user}:{}\n", hash(USER_PASSWORD)?));
        }
        write_private(&files.user_passwords, users.as_bytes())?;
        let proxy = format!("{PROXY_IDENTITY}:{}\n", hash(&secrets.proxy)?);
        write_private(&files.backend_passwords, (users + &proxy).as_bytes())?;

        if !files.cert.exists() || !files.key.exists() {
            fs::create_dir_all(&tls)?;
            let generated =
                rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                    .context("generating the certificate")?;
            write_private(&files.key, generated.signing_key.serialize_pem().as_bytes())?;
            fs::write(&files.cert, generated.cert.pem())?;
        }
        Ok(files)
    }
}

/// An argon2 hash of `password`, as password files hold them.
fn hash(password: &str) -> anyhow::Result<String> {
    corvid_mupdate::master::auth::hash_password(password)
        .map_err(|error| anyhow::anyhow!("hashing a password: {error}"))
}

/// Writes a file only its owner may read (replacing what was there).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// The running servers, in start order; dropping it stops them.
struct Murder {
    /// This binary, which every server runs.
    program: PathBuf,
    logs: PathBuf,
    /// Set by SIGINT and SIGTERM.
    stop: Arc<AtomicBool>,
    servers: Vec<Server>,
}

/// One child process.
struct Server {
    role: &'static str,
    /// `host:port`, or `unix:/path` for a Unix socket.
    addrs: Vec<String>,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Waits until it listens on every one of its addresses: an error if it exits first, does
    /// not within [`START_DEADLINE`], or the demo is interrupted.
    fn wait_listening(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status}\n{}", self.role, self.log_tail());
            }
            if self.addrs.iter().all(|addr| listening(addr)) {
                return Ok(());
            }
            if stop.load(Ordering::Relaxed) {
                bail!("interrupted while {} was starting", self.role);
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} not listening on {} after {START_DEADLINE:?}\n{}",
                    self.role,
                    self.addrs.join(", "),
                    self.log_tail()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// The end of its log, for an error message.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines
            .get(lines.len().saturating_sub(40)..)
            .unwrap_or_default();
        format!("--- {} (end) ---\n{}", self.log.display(), tail.join("\n"))
    }

    /// SIGTERM, then SIGKILL if it has not exited within [`STOP_DEADLINE`].
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw);
        if let Some(pid) = pid {
            let _ = kill_process(pid, Signal::TERM);
        }
        match self.child.wait_timeout(STOP_DEADLINE) {
            Ok(Some(_)) => {}
            _ => {
                tracing::warn!(role = self.role, "no exit after SIGTERM: SIGKILL");
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

impl Murder {
    /// `corvid SUBCOMMAND --data-dir DATA_DIR`, run by this very binary.
    fn command(&self, subcommand: &str, data_dir: &Path) -> Command {
        let mut command = Command::new(&self.program);
        command.arg(subcommand).arg("--data-dir").arg(data_dir);
        command
    }

    /// Spawns `command` as `role` with its stderr in `logs/ROLE.log`, then waits until it
    /// listens on every one of `addrs` ([`Server::wait_listening`]).
    fn start(
        &mut self,
        role: &'static str,
        mut command: Command,
        addrs: &[String],
    ) -> anyhow::Result<()> {
        let log = self.logs.join(format!("{role}.log"));
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("opening {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .env("NO_COLOR", "1")
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {role}"))?;
        let mut server = Server {
            role,
            addrs: addrs.to_vec(),
            child,
            log,
        };
        let listening = server.wait_listening(&self.stop);
        // Kept even when it failed, so that it is stopped with the others.
        self.servers.push(server);
        listening
    }

    /// Waits for SIGINT or SIGTERM (Ok) or for a server to exit on its own (an error with its log).
    fn wait(&mut self) -> anyhow::Result<()> {
        while !self.stop.load(Ordering::Relaxed) {
            for server in &mut self.servers {
                if let Some(status) = server.child.try_wait()? {
                    bail!(
                        "{} exited with {status}\n{}",
                        server.role,
                        server.log_tail()
                    );
                }
            }
            std::thread::sleep(POLL);
        }
        tracing::info!("stopping the proxy, the backends and the master");
        Ok(())
    }

    /// Stops the servers, last started first.
    fn stop_all(&mut self) {
        while let Some(mut server) = self.servers.pop() {
            server.stop();
        }
    }

    /// What runs, where, and how to connect.
    #[allow(clippy::print_stdout)]
    fn print(&self, dir: &Path, kept: bool, files: &Files) {
        let fate = if kept { "kept" } else { "removed at exit" };
        println!(
            "corvid demo: a murder on loopback, in {} ({fate})",
            dir.display()
        );
        println!();
        println!("  {:<8} {:>7}  {:<48} log", "role", "pid", "listens on");
        for server in &self.servers {
            println!(
                "  {:<8} {:>7}  {:<48} {}",
                server.role,
                server.child.id(),
                server.addrs.join(", "),
                server.log.display()
            );
        }
        println!();
        println!(
            "  The proxy: IMAP with STARTTLS on {PROXY_IMAP}, IMAP over TLS on {PROXY_IMAPS},"
        );
        println!(
            "  certificate {} (self-signed, for localhost and 127.0.0.1).",
            files.cert.display()
        );
        println!(
            "  Admin endpoint: http://{PROXY_ADMIN}/metrics and /stats (corvid stats --admin {PROXY_ADMIN})."
        );
        println!();
        println!(
            "Users (password {USER_PASSWORD}): john, INBOX on be1; jane, INBOX on be2, shared with john (lrs)."
        );
        println!(
            "The master's admin: {} / {} (corvid mboxlist --user {} --password {} list).",
            ADMIN.0, ADMIN.1, ADMIN.0, ADMIN.1
        );
        println!(
            "The passwords of be1, be2 and the proxy are new on every run: {}.",
            files.master_config.display()
        );
        println!();
        println!("Connect as john:");
        println!("  openssl s_client -connect {PROXY_IMAPS} -quiet");
        println!("      a LOGIN john demo");
        println!("      b LIST \"\" \"*\"");
        println!("      c SELECT \"Other Users/jane\"");
        println!("      d FETCH 1:* BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)]");
        println!(
            "  python3 -c 'import imaplib, ssl; c = ssl.create_default_context(cafile=\"{}\"); \
             m = imaplib.IMAP4_SSL(\"127.0.0.1\", 1993, ssl_context=c); m.login(\"john\", \"demo\"); print(m.list())'",
            files.cert.display()
        );
        println!(
            "  or any mail client: server 127.0.0.1, port 1143 with STARTTLS (or 1993 with TLS)."
        );
        println!();
        println!("corvid demo is ready; Ctrl-C stops it.");
    }
}

impl Drop for Murder {
    fn drop(&mut self) {
        self.stop_all();
    }
}
