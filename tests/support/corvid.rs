//! corvid's own servers, started from the binary under test (`CARGO_BIN_EXE_corvid`).
//!
//! [`CorvidMaster`] runs `corvid mupdate` on a free port of 127.0.0.1 with a fresh data
//! directory, waits for its banner, and stops it by pid on drop. It can be killed (SIGKILL) and
//! restarted on the same directory and port, for the durability tests. Its stderr (the log) goes
//! to a file in its directory, shown by [`MupdateMaster::logs`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{MupdateClient, MupdateEndpoint, MupdateMaster, free_port, wait_until};

/// The admin every test master has.
pub const ADMIN: (&str, &str) = ("mupduser", "mupdpass");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A `corvid mupdate` process.
#[derive(Debug)]
pub struct CorvidMaster {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    extra: Vec<String>,
}

impl CorvidMaster {
    /// Starts one with [`ADMIN`] as its admin.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts one with extra flags (`--backend be1:pw:be1`, say).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "corvid-mupdate-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the master's directory");
        let mut master = CorvidMaster {
            child: None,
            dir,
            port: free_port(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        master.launch();
        master
    }

    fn launch(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stderr.log"))
            .expect("open the master's log");
        let child = Command::new(env!("CARGO_BIN_EXE_corvid"))
            .arg("mupdate")
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(["--admin", &format!("{}:{}", ADMIN.0, ADMIN.1)])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start corvid mupdate");
        self.child = Some(child);
        let addr = format!("127.0.0.1:{}", self.port);
        let ready = wait_until(Duration::from_secs(20), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("corvid mupdate exited with {status}:\n{}", self.logs());
            }
            MupdateClient::connect(&addr).ok()
        });
        assert!(
            ready.is_some(),
            "corvid mupdate not ready:\n{}",
            self.logs()
        );
    }

    /// The data directory (snapshots and log).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same directory and port.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// `127.0.0.1:PORT`, where it listens.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl MupdateMaster for CorvidMaster {
    fn endpoint(&self) -> MupdateEndpoint {
        MupdateEndpoint {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            user: ADMIN.0.to_owned(),
            password: ADMIN.1.to_owned(),
        }
    }

    fn logs(&self) -> String {
        fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for CorvidMaster {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() || std::env::var_os("CORVID_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept corvid mupdate in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A `corvid proxy` process on a free port of 127.0.0.1, following `master`, with
/// `--plaintext-auth` and no failed-login delay unless `extra` says otherwise.
#[derive(Debug)]
pub struct CorvidProxy {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    args: Vec<String>,
    launch: ProxyLaunch,
}

/// How a [`CorvidProxy`] process is run, beyond its IMAP flags.
#[derive(Debug, Clone)]
pub struct ProxyLaunch {
    /// Its `--cores`.
    pub cores: usize,
    /// Its `CORVID_LOG` filter.
    pub log: String,
    /// A command it runs under (`["taskset", "-c", "0"]`), empty for none.
    pub wrapper: Vec<String>,
}

impl Default for ProxyLaunch {
    /// Two cores, debug logs, no wrapper: what the end-to-end tests use.
    fn default() -> Self {
        ProxyLaunch {
            cores: 2,
            log: "debug".into(),
            wrapper: Vec::new(),
        }
    }
}

impl CorvidProxy {
    /// Starts one in front of `backends` (`(server, "host:port")`), logging in to them as
    /// `proxy_user` (`NAME:PASSWORD`), with extra flags.
    pub fn start(
        master: &str,
        backends: &[(&str, String)],
        proxy_user: &str,
        extra: &[&str],
    ) -> Self {
        Self::start_launched(master, backends, proxy_user, extra, ProxyLaunch::default())
    }

    /// [`CorvidProxy::start`], run as `launch` says.
    pub fn start_launched(
        master: &str,
        backends: &[(&str, String)],
        proxy_user: &str,
        extra: &[&str],
        launch: ProxyLaunch,
    ) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "corvid-proxy-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the proxy's directory");
        let port = free_port();
        let mut args: Vec<String> = vec![
            "proxy".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--mupdate".into(),
            master.into(),
            "--mupdate-user".into(),
            format!("{}:{}", ADMIN.0, ADMIN.1),
            "--proxy-user".into(),
            proxy_user.into(),
            "--data-dir".into(),
            dir.join("data").display().to_string(),
            "--cores".into(),
            launch.cores.to_string(),
            "--plaintext-auth".into(),
            "--failed-login-delay".into(),
            "0".into(),
            "--admin-listen".into(),
            format!("127.0.0.1:{}", free_port()),
        ];
        for (server, addr) in backends {
            args.push("--backend".into());
            args.push(format!("{server}={addr}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut proxy = CorvidProxy {
            child: None,
            dir,
            port,
            args,
            launch,
        };
        proxy.launch();
        proxy
    }

    fn launch(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stderr.log"))
            .expect("open the proxy's log");
        let corvid = env!("CARGO_BIN_EXE_corvid").to_owned();
        let mut command = self.launch.wrapper.iter().chain([&corvid]);
        let child = Command::new(command.next().unwrap_or(&corvid))
            .args(command)
            .args(&self.args)
            .env("CORVID_LOG", &self.launch.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start corvid proxy");
        self.child = Some(child);
        let addr = self.addr();
        let ready = wait_until(Duration::from_secs(20), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("corvid proxy exited with {status}:\n{}", self.logs());
            }
            std::net::TcpStream::connect(&addr).ok()
        });
        assert!(ready.is_some(), "corvid proxy not ready:\n{}", self.logs());
    }

    /// Kills the process (SIGKILL) and starts it again with the same flags and data directory.
    /// The killed process's listening sockets outlive it for a moment (until the kernel has
    /// torn down its io_uring); the new one starts once they are gone, so that no connection
    /// lands on them.
    pub fn restart(&mut self) {
        self.kill();
        let addr = self.addr();
        let gone = wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(&addr).is_err().then_some(())
        });
        assert!(gone.is_some(), "the killed proxy still accepts on {addr}");
        self.launch();
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `127.0.0.1:PORT`, where it listens.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where its admin endpoint listens.
    pub fn admin_addr(&self) -> String {
        let at = self
            .args
            .iter()
            .position(|a| a == "--admin-listen")
            .expect("--admin-listen");
        self.args[at + 1].clone()
    }

    /// Waits (at most 20 s) until each of `users` (name, password) logs in through the proxy,
    /// which it does once its follower has their INBOXes; panics with the proxy's log if one
    /// never does. Returns the last user's session, logged in.
    pub fn wait_for_logins(&self, users: &[(&str, &str)]) -> super::ImapClient {
        let mut last = None;
        for (user, password) in users {
            let login = || super::ImapClient::login(&self.addr(), user, password).ok();
            let session = super::wait_until(std::time::Duration::from_secs(20), login);
            let session =
                session.unwrap_or_else(|| panic!("no login for {user}:\n{}", self.logs()));
            if let Some(previous) = last.replace(session) {
                super::ImapClient::logout(previous);
            }
        }
        last.expect("at least one user")
    }

    /// A counter of `/metrics` summed over its labels (every core): `corvid_proxy_<name>_total`.
    pub fn metric_total(&self, name: &str) -> u64 {
        let prefix = format!("corvid_proxy_{name}_total{{");
        self.metrics()
            .lines()
            .filter(|line| line.starts_with(&prefix))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// The admin endpoint's `/metrics` response (headers and body).
    pub fn metrics(&self) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(self.admin_addr()).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its log.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for CorvidProxy {
    fn drop(&mut self) {
        self.kill();
    }
}
