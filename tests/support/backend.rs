//! `corvid backend` (the reference backend) from the binary under test, on a free port of
//! 127.0.0.1 (or only on a Unix socket in its directory) with a fresh data directory and
//! password file; stopped by pid (SIGTERM, or SIGKILL as a crash or on drop), and started again
//! on the same directory and port.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::{ImapClient, free_port, imap_greets, wait_until};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How a [`CorvidBackend`] is started.
#[derive(Debug, Clone, Default)]
pub struct BackendOptions {
    /// `--server`.
    pub server: String,
    /// Users and their passwords, written to the password file (hashed).
    pub users: Vec<(String, String)>,
    /// `--mupdate HOST:PORT` and `--mupdate-user NAME:PASSWORD`, if any.
    pub master: Option<(String, String)>,
    /// More flags (`--proxy-user proxy`, `--admin admin`).
    pub extra: Vec<String>,
    /// The data directory on a tmpfs of its own of this many MiB (the backend then has a
    /// file system of that size), unmounted on drop.
    pub tmpfs_mib: Option<u64>,
    /// Listen only on a Unix socket ([`CorvidBackend::socket_path`]), not on TCP.
    pub unix_only: bool,
}

/// A `corvid backend` process.
#[derive(Debug)]
pub struct CorvidBackend {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    options: BackendOptions,
}

impl CorvidBackend {
    /// Starts one and waits for its greeting.
    pub fn start(options: BackendOptions) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "corvid-backend-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the backend's directory");
        let passwords: String = options
            .users
            .iter()
            .map(|(user, password)| {
                let hash = corvid_mupdate::master::auth::hash_password(password)
                    .expect("hash a test password");
                format!("{user}:{hash}\n")
            })
            .collect();
        fs::write(dir.join("passwords"), passwords).expect("write the password file");
        if let Some(mib) = options.tmpfs_mib {
            fs::create_dir_all(dir.join("data")).expect("create the data directory");
            let mounted = Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
                .arg(dir.join("data"))
                .status()
                .expect("run mount");
            assert!(mounted.success(), "mount a tmpfs (the tests run as root)");
        }
        let mut backend = CorvidBackend {
            child: None,
            dir,
            port: free_port(),
            options,
        };
        backend.start_again();
        backend
    }

    /// Starts the (stopped) process again on the same directory and port, and waits for its
    /// greeting.
    pub fn start_again(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("stderr.log"))
            .expect("open the backend's log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_corvid"));
        command.arg("backend");
        if self.options.unix_only {
            command.arg("--listen-unix").arg(self.socket_path());
        } else {
            command.args(["--listen", &self.addr()]);
        }
        command
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(["--server", &self.options.server])
            .arg("--password-file")
            .arg(self.dir.join("passwords"))
            .args(&self.options.extra)
            .env("CORVID_LOG", "debug")
            .env_remove("CORVID_MUPDATE_USER");
        if let Some((master, user)) = &self.options.master {
            command.args(["--mupdate", master, "--mupdate-user", user]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start corvid backend");
        self.child = Some(child);
        let (addr, socket) = (self.addr(), self.socket_path());
        let unix_only = self.options.unix_only;
        let ready = wait_until(Duration::from_secs(20), || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("corvid backend exited with {status}:\n{}", self.logs());
            }
            let greets = match unix_only {
                true => ImapClient::connect_unix(&socket).is_ok(),
                false => imap_greets(&addr),
            };
            greets.then_some(())
        });
        assert!(
            ready.is_some(),
            "corvid backend not ready:\n{}",
            self.logs()
        );
    }

    /// Stops the process with SIGTERM and waits for it (at most 20 s, then SIGKILL). Returns
    /// whether it exited with success.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let exited = wait_until(Duration::from_secs(20), || child.try_wait().ok().flatten());
        match exited {
            Some(status) => status.success(),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                false
            }
        }
    }

    /// Kills the process (SIGKILL), as a crash would, and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `127.0.0.1:PORT`, where it listens (unless [`BackendOptions::unix_only`]).
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its Unix socket's path, with [`BackendOptions::unix_only`].
    pub fn socket_path(&self) -> PathBuf {
        self.dir.join("imap.sock")
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its log.
    pub fn logs(&self) -> String {
        fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

impl Drop for CorvidBackend {
    fn drop(&mut self) {
        self.kill();
        if self.options.tmpfs_mib.is_some() {
            let _ = Command::new("umount").arg(self.dir.join("data")).status();
        }
        if std::thread::panicking() || std::env::var_os("CORVID_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept corvid backend in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A `corvid mupdate` master that knows the backends `be1` and `be2` (backend roles, passwords
/// `be1-secret` and `be2-secret`), and those two backends registering with it, each with
/// `users` in its password file and the `extra` flags: the murder the proxy tests stand on.
pub fn two_registered(
    users: &[(&str, &str)],
    extra: &[&str],
) -> (super::corvid::CorvidMaster, CorvidBackend, CorvidBackend) {
    let master = master_for_two();
    let backend = |server| CorvidBackend::start(registered(&master, server, users, extra));
    let (be1, be2) = (backend("be1"), backend("be2"));
    (master, be1, be2)
}

/// The options of backend `server` (`be1` or `be2`) registering with a master started as
/// [`two_registered`] starts it, with `users` and the `extra` flags.
pub fn registered(
    master: &super::corvid::CorvidMaster,
    server: &str,
    users: &[(&str, &str)],
    extra: &[&str],
) -> BackendOptions {
    BackendOptions {
        server: server.into(),
        users: users
            .iter()
            .map(|(user, password)| (user.to_string(), password.to_string()))
            .collect(),
        master: Some((master.addr(), format!("{server}:{server}-secret"))),
        extra: extra.iter().map(|flag| flag.to_string()).collect(),
        ..BackendOptions::default()
    }
}

/// The master that [`two_registered`] starts, knowing `be1` and `be2`.
pub fn master_for_two() -> super::corvid::CorvidMaster {
    super::corvid::CorvidMaster::start_with(&[
        "--backend",
        "be1:be1-secret:be1",
        "--backend",
        "be2:be2-secret:be2",
    ])
}
