//! Real Cyrus IMAP 3.6 components (Debian's `cyrus-imapd`, `cyrus-murder`, `cyrus-clients`),
//! started by a test on 127.0.0.1 and stopped by their own pid.
//!
//! Each instance ([`CyrusMaster`], [`CyrusBackend`], [`CyrusSlave`]) gets a fresh directory
//! under the system temp dir with its own `imapd.conf`, `cyrus.conf`, sasldb and config
//! directory, and listens on ports picked free. Cyrus's `master(8)` runs it in the foreground
//! under `setsid` (master stops with `kill(0, SIGTERM)`, which would otherwise hit the test's
//! own process group); Drop sends SIGTERM to that pid, waits up to 5 s, then SIGKILLs its
//! process group (whose id is that pid). Nothing is ever killed by name.
//!
//! # Logs
//!
//! Cyrus logs only through `syslog(3)`, and this machine runs no syslog daemon (there is no
//! `/dev/log`). When the tests run as root (CI does), every Cyrus process of an instance,
//! master and tools alike, runs in its own mount namespace (`unshare --mount`) whose `/dev` is
//! the real one plus `log`, a symlink to a datagram socket in the instance's directory; a
//! thread of the test reads it into `syslog.log`. Stdout and stderr of `master` go to
//! `stderr.log`. A start that fails, or [`CyrusInstance::logs`], shows both. Without root the
//! instances still run, but syslog lines are lost. Set `CORVID_KEEP_CYRUS=1` to keep the
//! directories after the test; a panicking test always keeps them and prints where.
//!
//! # Configuration that matters (see docs/testing-with-cyrus.md)
//!
//! `allowplaintext: yes`, `sasl_mech_list: PLAIN`, sasldb through auxprop with users in the
//! realm named by `servername`; by default `altnamespace: no` and `unixhierarchysep: no`, so an
//! admin's IMAP names are Cyrus's internal names (`user.alice.Sent`), while a backend behind
//! corvid's proxy runs with [`CyrusNamespace::Alternate`], the view the proxy gives its clients;
//! a backend has both `mupdate_server` (as `host:port`) and `proxyservers` (and, in a murder,
//! `allowallsubscribe`, for subscriptions to other backends' mailboxes); a frontend
//! ([`CyrusFrontend`]) has `mupdate_server` and its own slave `mupdate`; a slave has
//! `mupdate_server` and no `proxyservers`; the master lets in only its `admins`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::{
    Entry, ImapClient, MupdateClient, MupdateEndpoint, MupdateMaster, free_port, imap_greets,
    imap_quote, log_tail, running_as_root,
};

/// Where Debian puts Cyrus's programs.
pub const CYRUS_BIN: &str = "/usr/lib/cyrus/bin";
/// How long an instance may take to answer on its port.
pub const START_BOUND: Duration = Duration::from_secs(20);
/// How long a stopping master gets after SIGTERM before its group is SIGKILLed.
pub const STOP_BOUND: Duration = Duration::from_secs(5);
/// How long one Cyrus tool run (`ctl_mboxlist`, `mupdatetest`, ...) may take.
pub const TOOL_BOUND: Duration = Duration::from_secs(30);

/// The admin of a [`CyrusMaster`], which backends and slaves log in as too.
pub const MUPDATE_ADMIN: &str = "mupduser";
/// The users every [`CyrusBackend`] has: `admin` is its IMAP admin, `mailproxy` its proxy user.
pub const BACKEND_USERS: [&str; 6] = ["alice", "bob", "john", "jane", "admin", "mailproxy"];

/// The proxy user of every [`CyrusBackend`] (in its `proxyservers`), as `corvid proxy
/// --proxy-user` takes it: `NAME:PASSWORD`.
pub fn proxy_user() -> String {
    format!("mailproxy:{}", password("mailproxy"))
}

/// How a Cyrus instance names mailboxes over IMAP. Either way the names in its mailboxes.db and
/// on the MUPDATE wire are the internal ones (`user.alice.Sent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CyrusNamespace {
    /// `altnamespace: no`, `unixhierarchysep: no`: alice's folders are `INBOX.Sent`, an admin's
    /// names are the internal ones (`user.alice.Sent`).
    Internal,
    /// `altnamespace: yes`, `unixhierarchysep: yes`: alice's folders at the top level (`Sent`),
    /// other users' under `Other Users/`, shared ones under `Shared Folders/`, with `/` as the
    /// separator; an admin names them `user/alice/Sent`. This is what corvid's proxy shows its
    /// clients, and it forwards names verbatim, so the backends behind it must use it too.
    Alternate,
}

impl CyrusNamespace {
    /// The `imapd.conf` lines.
    fn conf(self) -> &'static str {
        match self {
            CyrusNamespace::Internal => "altnamespace: no\nunixhierarchysep: no\n",
            CyrusNamespace::Alternate => "altnamespace: yes\nunixhierarchysep: yes\n",
        }
    }
}

/// The password the harness gives `user` everywhere.
pub fn password(user: &str) -> String {
    format!("{user}-secret")
}

/// Panics with a clear message if Debian's Cyrus is not installed.
pub fn require_cyrus() {
    for bin in ["master", "imapd", "mupdate", "ctl_mboxlist", "mupdatetest"] {
        let path = Path::new(CYRUS_BIN).join(bin);
        assert!(
            path.exists(),
            "{} is missing: install the Cyrus peers with ci/install-peers",
            path.display()
        );
    }
}

/// The `cyrus` user's uid and gid, from /etc/passwd.
fn cyrus_ids() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"cyrus") && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

fn chown_tree(path: &Path, ids: (u32, u32)) {
    let _ = std::os::unix::fs::chown(path, Some(ids.0), Some(ids.1));
    if path.is_dir()
        && !path.is_symlink()
        && let Ok(entries) = fs::read_dir(path)
    {
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_symlink() {
                let _ = std::os::unix::fs::lchown(&p, Some(ids.0), Some(ids.1));
            } else {
                chown_tree(&p, ids);
            }
        }
    }
}

/// What a Cyrus tool printed.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// How it exited (a failure if it was killed at [`TOOL_BOUND`]).
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// The sh script that gives a process its own `/dev` with `log` pointing into `$1`.
const ISOLATE: &str =
    r#"mount --bind /dev "$1/.realdev" && mount --bind "$1/.dev" /dev && shift && exec "$@""#;

/// Reads syslog datagrams from the instance's socket into `syslog.log`.
#[derive(Debug)]
struct SyslogSink {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SyslogSink {
    fn start(socket: &Path, file: &Path) -> std::io::Result<Self> {
        let sock = UnixDatagram::bind(socket)?;
        fs::set_permissions(socket, fs::Permissions::from_mode(0o666))?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(file)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        let mut line = buf[..n].to_vec();
                        if line.last() != Some(&b'\n') {
                            line.push(b'\n');
                        }
                        let _ = out.write_all(&line);
                    }
                    Err(_) if flag.load(Ordering::Relaxed) => break,
                    Err(_) => {}
                }
            }
        });
        Ok(SyslogSink {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for SyslogSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One Cyrus instance: its directory, its `master` process and its logs.
#[derive(Debug)]
pub struct CyrusInstance {
    label: String,
    dir: PathBuf,
    isolated: bool,
    ids: Option<(u32, u32)>,
    master: Option<Child>,
    syslog: Option<SyslogSink>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl CyrusInstance {
    /// Makes the directory tree and the syslog sink for a new instance called `label`.
    fn new(label: &str) -> Self {
        require_cyrus();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "corvid-cyrus-{label}-{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        for sub in [
            "conf/db",
            "conf/socket",
            "conf/proc",
            "conf/lock",
            "conf/log",
            "conf/sieve",
            "conf/quota",
            "conf/user",
            "conf/msg",
            "conf/ptclient",
            "conf/sync",
            "spool",
            ".realdev",
            ".dev",
        ] {
            fs::create_dir_all(dir.join(sub)).expect("create the instance's directories");
        }
        let root = running_as_root();
        let isolated = root && Path::new("/usr/bin/unshare").exists();
        let mut syslog = None;
        if isolated {
            // The namespace's /dev: every entry of the real one (bind-mounted on .realdev
            // inside the namespace) plus `log`.
            for entry in fs::read_dir("/dev").expect("read /dev").flatten() {
                let name = entry.file_name();
                let _ = std::os::unix::fs::symlink(
                    dir.join(".realdev").join(&name),
                    dir.join(".dev").join(&name),
                );
            }
            std::os::unix::fs::symlink(dir.join("syslog.sock"), dir.join(".dev/log"))
                .expect("symlink .dev/log");
            syslog = Some(
                SyslogSink::start(&dir.join("syslog.sock"), &dir.join("syslog.log"))
                    .expect("syslog socket"),
            );
        }
        CyrusInstance {
            label: label.to_owned(),
            dir,
            isolated,
            ids: if root { cyrus_ids() } else { None },
            master: None,
            syslog,
        }
    }

    /// The pid of its `master` process, while it runs.
    pub fn master_pid(&self) -> Option<u32> {
        self.master.as_ref().map(Child::id)
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its `imapd.conf`.
    pub fn imapd_conf(&self) -> PathBuf {
        self.dir.join("imapd.conf")
    }

    /// Writes `imapd.conf`: the common part, the namespace, then `extra` lines.
    fn write_imapd_conf(
        &self,
        servername: &str,
        admins: &str,
        namespace: CyrusNamespace,
        extra: &str,
    ) {
        let d = self.dir.display();
        let text = format!(
            "configdirectory: {d}/conf\n\
             defaultpartition: default\n\
             partition-default: {d}/spool\n\
             servername: {servername}\n\
             admins: {admins}\n\
             allowplaintext: yes\n\
             sasl_mech_list: PLAIN\n\
             sasl_pwcheck_method: auxprop\n\
             sasl_auxprop_plugin: sasldb\n\
             sasl_sasldb_path: {d}/sasldb2\n\
             {namespace}\
             lmtpsocket: {d}/conf/socket/lmtp\n\
             idlesocket: {d}/conf/socket/idle\n\
             notifysocket: {d}/conf/socket/notify\n\
             syslog_prefix: {label}\n\
             {extra}",
            label = self.label,
            namespace = namespace.conf(),
        );
        fs::write(self.imapd_conf(), text).expect("write imapd.conf");
    }

    /// Writes `cyrus.conf` with one service: `cmd` listening on 127.0.0.1:`port`.
    fn write_cyrus_conf(&self, service: &str, cmd: &str, port: u16, prefork: u32) {
        self.write_cyrus_services(&[(service, cmd, port, prefork)]);
    }

    /// Writes `cyrus.conf` with `services`: each `(name, cmd, port, prefork)` is `cmd`
    /// listening on 127.0.0.1:`port`.
    fn write_cyrus_services(&self, services: &[(&str, &str, u16, u32)]) {
        let conf = self.imapd_conf();
        let conf = conf.display();
        let services: String = services
            .iter()
            .map(|(service, cmd, port, prefork)| {
                format!(
                    "  {service} cmd=\"{cmd} -C {conf}\" listen=\"127.0.0.1:{port}\" prefork={prefork}\n"
                )
            })
            .collect();
        let text = format!(
            "START {{\n  recover cmd=\"ctl_cyrusdb -r -C {conf}\"\n}}\n\
             SERVICES {{\n{services}}}\n\
             EVENTS {{\n}}\n"
        );
        fs::write(self.dir.join("cyrus.conf"), text).expect("write cyrus.conf");
    }

    /// Adds a sasldb user in `realm` (Cyrus looks users up in the realm named by `servername`).
    fn add_user(&self, realm: &str, user: &str, password: &str) {
        let out = super::run_bounded(
            Command::new("saslpasswd2")
                .args(["-p", "-c", "-f"])
                .arg(self.dir.join("sasldb2"))
                .args(["-u", realm, user]),
            password.as_bytes(),
            TOOL_BOUND,
        )
        .expect("run saslpasswd2");
        assert!(
            out.status.success(),
            "saslpasswd2 {user}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A command that runs `program` the instance's way: in its mount namespace when isolated.
    fn command(&self, program: &Path) -> Command {
        if self.isolated {
            let mut cmd = Command::new("unshare");
            cmd.args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                ISOLATE,
                "sh",
            ])
            .arg(&self.dir)
            .arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    /// Starts `master` under setsid and waits until `ready` says yes (polled; bounded).
    fn start(&mut self, ready: impl Fn() -> bool) {
        if let Some(ids) = self.ids {
            chown_tree(&self.dir, ids);
        }
        let stderr = fs::File::create(self.dir.join("stderr.log")).expect("create stderr.log");
        let stdout = stderr.try_clone().expect("clone stderr.log");
        let mut cmd = Command::new("setsid");
        let inner = self.command(&Path::new(CYRUS_BIN).join("master"));
        cmd.arg(inner.get_program())
            .args(inner.get_args())
            .arg("-C")
            .arg(self.imapd_conf())
            .arg("-M")
            .arg(self.dir.join("cyrus.conf"))
            .arg("-p")
            .arg(self.dir.join("master.pid"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        self.master = Some(cmd.spawn().expect("spawn Cyrus master"));
        let deadline = Instant::now() + START_BOUND;
        loop {
            if ready() {
                return;
            }
            if let Some(Ok(Some(status))) = self.master.as_mut().map(Child::try_wait) {
                panic!(
                    "Cyrus {} exited while starting ({status})\n{}",
                    self.label,
                    self.logs()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "Cyrus {} not ready after {START_BOUND:?}\n{}",
                    self.label,
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs a Cyrus tool of this instance (`-C imapd.conf` first), bounded by [`TOOL_BOUND`].
    pub fn tool(&self, program: &str, args: &[&str], stdin: &str) -> ToolOutput {
        let mut cmd = self.command(&Path::new(CYRUS_BIN).join(program));
        cmd.arg("-C").arg(self.imapd_conf()).args(args);
        let out = super::run_bounded(&mut cmd, stdin.as_bytes(), TOOL_BOUND)
            .unwrap_or_else(|e| panic!("run {program}: {e}"));
        ToolOutput {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `ctl_mboxlist -d`, parsed: this instance's mailboxes.db.
    pub fn dump(&self) -> Vec<DumpEntry> {
        let out = self.tool("ctl_mboxlist", &["-d"], "");
        assert!(
            out.status.success(),
            "ctl_mboxlist -d: {}\n{}",
            out.stderr,
            self.logs()
        );
        parse_dump(&out.stdout)
            .unwrap_or_else(|| panic!("unparsable ctl_mboxlist -d output:\n{}", out.stdout))
    }

    /// The last lines of the instance's syslog and of master's stderr.
    pub fn logs(&self) -> String {
        let tail = |name: &str| log_tail(&self.dir.join(name));
        let syslog = if self.isolated {
            tail("syslog.log")
        } else {
            "(not captured: not root)".to_owned()
        };
        format!(
            "--- Cyrus {} in {} ---\n--- syslog ---\n{}\n--- stderr ---\n{}\n---",
            self.label,
            self.dir.display(),
            syslog,
            tail("stderr.log")
        )
    }

    /// Stops master: SIGTERM, up to [`STOP_BOUND`], then SIGKILL to its process group.
    pub fn stop(&mut self) {
        let Some(child) = self.master.as_mut() else {
            return;
        };
        signal(&["-TERM", &child.id().to_string()]);
        let deadline = Instant::now() + STOP_BOUND;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Services that outlived master, or master itself if it did not stop.
        self.kill();
    }

    /// Kills master and every service it runs at once (SIGKILL to its process group), as a
    /// crash would; [`CyrusInstance::start`] may run it again on the same directory.
    pub fn kill(&mut self) {
        let Some(mut child) = self.master.take() else {
            return;
        };
        signal(&["-KILL", "--", &format!("-{}", child.id())]);
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for CyrusInstance {
    fn drop(&mut self) {
        self.stop();
        self.syslog = None;
        if std::thread::panicking() || std::env::var_os("CORVID_KEEP_CYRUS").is_some() {
            eprintln!("kept Cyrus {} in {}", self.label, self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs `kill` with `args`, quietly.
fn signal(args: &[&str]) {
    let _ = Command::new("kill")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn mupdate_ready(addr: &str) -> bool {
    MupdateClient::connect(addr).is_ok()
}

/// Cyrus's MUPDATE master: `mupdate -m` under `master`.
#[derive(Debug)]
pub struct CyrusMaster {
    /// The instance.
    pub instance: CyrusInstance,
    port: u16,
}

impl CyrusMaster {
    /// Starts one, with [`MUPDATE_ADMIN`] as its admin, and waits for its banner.
    pub fn start() -> Self {
        Self::start_with(true, |_| {})
    }

    /// Starts one with or without session telemetry (every session's traffic written to
    /// disk, which [`CyrusMaster::telemetry`] reads; load runs turn it off), calling `prepare`
    /// on the configured instance before `master` starts (to write its mailboxes.db, say).
    pub fn start_with(telemetry: bool, prepare: impl FnOnce(&CyrusInstance)) -> Self {
        let port = free_port();
        let mut instance = CyrusInstance::new("master");
        let servername = format!("127.0.0.1:{port}");
        instance.write_imapd_conf(&servername, MUPDATE_ADMIN, CyrusNamespace::Internal, "");
        instance.write_cyrus_conf("mupdate", "mupdate -m", port, 1);
        // Session telemetry: every connection's traffic, under conf/log/<user>/.
        if telemetry {
            fs::create_dir_all(instance.dir.join("conf/log").join(MUPDATE_ADMIN))
                .expect("telemetry dir");
        }
        instance.add_user(&servername, MUPDATE_ADMIN, &password(MUPDATE_ADMIN));
        // Cyrus tools that `prepare` runs work as the cyrus user.
        if let Some(ids) = instance.ids {
            chown_tree(&instance.dir, ids);
        }
        prepare(&instance);
        let addr = format!("127.0.0.1:{port}");
        instance.start(|| mupdate_ready(&addr));
        CyrusMaster { instance, port }
    }

    /// The telemetry of every session so far (what each client sent and got), concatenated.
    pub fn telemetry(&self) -> String {
        let dir = self.instance.dir.join("conf/log").join(MUPDATE_ADMIN);
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|f| fs::read_to_string(f).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl MupdateMaster for CyrusMaster {
    fn endpoint(&self) -> MupdateEndpoint {
        MupdateEndpoint {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            user: MUPDATE_ADMIN.to_owned(),
            password: password(MUPDATE_ADMIN),
        }
    }

    fn logs(&self) -> String {
        self.instance.logs()
    }
}

/// A Cyrus backend: `imapd` with `proxyservers`, registering its mailboxes with a master.
#[derive(Debug)]
pub struct CyrusBackend {
    /// The instance.
    pub instance: CyrusInstance,
    port: u16,
    servername: String,
}

impl CyrusBackend {
    /// Starts one whose `servername` is `127.0.0.1:PORT`, with the users [`BACKEND_USERS`]
    /// (`admin` is the IMAP admin) and, when `master` is given, `mupdate_server` and its
    /// credentials. Without a master it is a standalone server. Waits for the IMAP greeting.
    /// Its IMAP names are [`CyrusNamespace::Internal`].
    pub fn start(master: Option<&MupdateEndpoint>) -> Self {
        Self::start_with(master, CyrusNamespace::Internal)
    }

    /// [`CyrusBackend::start`] with the given IMAP namespace.
    pub fn start_with(master: Option<&MupdateEndpoint>, namespace: CyrusNamespace) -> Self {
        let port = free_port();
        let mut instance = CyrusInstance::new("backend");
        let servername = format!("127.0.0.1:{port}");
        let mut extra = String::from("proxyservers: mailproxy\nlmtp_admins: mailproxy\n");
        if let Some(m) = master {
            // In a murder a user's subscriptions, kept on the INBOX backend, name mailboxes of
            // other backends too, which this backend's mailboxes.db does not hold.
            extra.push_str(&format!(
                "mupdate_server: {}\nmupdate_authname: {}\nmupdate_password: {}\n\
                 allowallsubscribe: yes\n",
                m.addr(),
                m.user,
                m.password
            ));
        }
        instance.write_imapd_conf(&servername, "admin", namespace, &extra);
        instance.write_cyrus_conf("imap", "imapd", port, 0);
        for user in BACKEND_USERS {
            instance.add_user(&servername, user, &password(user));
        }
        let addr = format!("127.0.0.1:{port}");
        instance.start(|| imap_greets(&addr));
        CyrusBackend {
            instance,
            port,
            servername,
        }
    }

    /// Starts it again on its directory and port after [`CyrusInstance::kill`] (or
    /// [`CyrusInstance::stop`]), and waits for its greeting.
    pub fn start_again(&mut self) {
        let addr = self.addr();
        self.instance.start(|| imap_greets(&addr));
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its `servername`, the server part of its mailboxes' locations.
    pub fn servername(&self) -> &str {
        &self.servername
    }

    /// `servername!default`, where its mailboxes live.
    pub fn location(&self) -> String {
        format!("{}!default", self.servername)
    }

    /// An IMAP session logged in as `user` (one of [`BACKEND_USERS`]).
    pub fn imap(&self, user: &str) -> ImapClient {
        ImapClient::login(&self.addr(), user, &password(user))
            .unwrap_or_else(|e| panic!("IMAP login as {user}: {e}\n{}", self.instance.logs()))
    }

    /// APPENDs `message` (with CRLF line ends, which Cyrus keeps byte for byte) to `mailbox`, as
    /// `user` and in the names this backend shows `user`.
    pub fn append(&self, user: &str, mailbox: &str, message: &str) {
        let mut imap = self.imap(user);
        let append = format!(
            "APPEND {} {{{}+}}\r\n{message}",
            imap_quote(mailbox),
            message.len()
        );
        imap.ok(&append).unwrap_or_else(|e| {
            panic!(
                "APPEND to {mailbox} as {user}: {e}\n{}",
                self.instance.logs()
            )
        });
        imap.logout();
    }

    /// Runs `ctl_mboxlist` with `args` (such as `-m`, `-mw`, `-d`).
    pub fn ctl_mboxlist(&self, args: &[&str]) -> ToolOutput {
        self.instance.tool("ctl_mboxlist", args, "")
    }

    /// `ctl_mboxlist -m` (or `-mw`, a dry run, when `dry_run`): pushes the local mailboxes to
    /// the master. Returns what it printed (`Force Activate: name`, `Remove from MUPDATE:
    /// name`, ...); panics if it fails.
    pub fn push(&self, dry_run: bool) -> ToolOutput {
        let out = self.ctl_mboxlist(&[if dry_run { "-mw" } else { "-m" }]);
        assert!(
            out.status.success(),
            "ctl_mboxlist -m failed ({}): {}{}\n{}",
            out.status,
            out.stdout,
            out.stderr,
            self.instance.logs()
        );
        out
    }

    /// Its mailboxes.db as the master should hold it: name → location and ACL string.
    pub fn table(&self) -> BTreeMap<String, Entry> {
        dump_table(&self.instance.dump(), &self.servername)
    }
}

/// Two backends registering with `master`, in the [`CyrusNamespace::Alternate`] that corvid's
/// proxy shows its clients, started at once (each start takes seconds).
pub fn two_registered(master: &MupdateEndpoint) -> [CyrusBackend; 2] {
    let start = || CyrusBackend::start_with(Some(master), CyrusNamespace::Alternate);
    std::thread::scope(|scope| {
        let be1 = scope.spawn(start);
        let be2 = start();
        [be1.join().expect("start be1"), be2]
    })
}

/// A Cyrus murder frontend: `imapd` with `mupdate_server` and no `proxyservers`, which
/// holds no mail and proxies each session to the backends its mailboxes live on, with its
/// own `mupdate` in slave mode keeping its mailboxes.db in step with the master. It checks
/// the users' passwords itself ([`BACKEND_USERS`] but the proxy user, [`password`]) and logs
/// in to the backends as their proxy user `mailproxy` for them; its IMAP names are
/// [`CyrusNamespace::Alternate`], as the backends behind it must have too.
#[derive(Debug)]
pub struct CyrusFrontend {
    /// The instance.
    pub instance: CyrusInstance,
    port: u16,
}

impl CyrusFrontend {
    /// Starts one following `master` and waits for its IMAP greeting and its slave's banner
    /// (a slave sends it once its first sync is done).
    pub fn start(master: &MupdateEndpoint) -> Self {
        let (port, slave_port) = (free_port(), free_port());
        let mut instance = CyrusInstance::new("frontend");
        let servername = format!("127.0.0.1:{port}");
        let extra = format!(
            "mupdate_server: {}\nmupdate_authname: {}\nmupdate_password: {}\n\
             mupdate_config: standard\nproxy_authname: mailproxy\nproxy_password: {}\n",
            master.addr(),
            master.user,
            master.password,
            password("mailproxy"),
        );
        instance.write_imapd_conf(
            &servername,
            MUPDATE_ADMIN,
            CyrusNamespace::Alternate,
            &extra,
        );
        instance.write_cyrus_services(&[
            ("mupdate", "mupdate", slave_port, 1),
            ("imap", "imapd", port, 1),
        ]);
        for user in BACKEND_USERS.iter().filter(|user| **user != "mailproxy") {
            instance.add_user(&servername, user, &password(user));
        }
        let (addr, slave) = (
            format!("127.0.0.1:{port}"),
            format!("127.0.0.1:{slave_port}"),
        );
        instance.start(|| mupdate_ready(&slave) && imap_greets(&addr));
        CyrusFrontend { instance, port }
    }

    /// `127.0.0.1:PORT`, its IMAP service.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// A Cyrus frontend's `mupdate` in slave mode, following a master.
#[derive(Debug)]
pub struct CyrusSlave {
    /// The instance.
    pub instance: CyrusInstance,
    port: u16,
}

impl CyrusSlave {
    /// Starts one following `master` and waits until its first sync is done (a slave sends
    /// its banner only then).
    pub fn start(master: &MupdateEndpoint) -> Self {
        let port = free_port();
        let mut instance = CyrusInstance::new("slave");
        let servername = format!("127.0.0.1:{port}");
        let extra = format!(
            "mupdate_server: {}\nmupdate_authname: {}\nmupdate_password: {}\n",
            master.addr(),
            master.user,
            master.password
        );
        instance.write_imapd_conf(&servername, MUPDATE_ADMIN, CyrusNamespace::Internal, &extra);
        instance.write_cyrus_conf("mupdate", "mupdate", port, 1);
        instance.add_user(&servername, MUPDATE_ADMIN, &password(MUPDATE_ADMIN));
        let addr = format!("127.0.0.1:{port}");
        instance.start(|| mupdate_ready(&addr));
        CyrusSlave { instance, port }
    }

    /// Where the slave's own MUPDATE service listens (read-only; admin [`MUPDATE_ADMIN`]).
    pub fn endpoint(&self) -> MupdateEndpoint {
        MupdateEndpoint {
            host: "127.0.0.1".to_owned(),
            port: self.port,
            user: MUPDATE_ADMIN.to_owned(),
            password: password(MUPDATE_ADMIN),
        }
    }

    /// `ctl_mboxlist -d` on the slave, as name → location and ACL string.
    pub fn table(&self) -> BTreeMap<String, Entry> {
        dump_table(&self.instance.dump(), "")
    }
}

/// Runs Cyrus's `mupdatetest` against `endpoint`, logged in as its admin with PLAIN, with
/// `script` as its input (one command a line; it sends LOGOUT at the end of input). Returns
/// the transcript (stdout, then stderr).
pub fn mupdatetest(endpoint: &MupdateEndpoint, script: &str) -> String {
    require_cyrus();
    let port = endpoint.port.to_string();
    let out = super::run_bounded(
        Command::new(Path::new(CYRUS_BIN).join("mupdatetest")).args([
            "-m",
            "PLAIN",
            "-a",
            &endpoint.user,
            "-w",
            &endpoint.password,
            "-p",
            &port,
            &endpoint.host,
        ]),
        script.as_bytes(),
        TOOL_BOUND,
    )
    .expect("run mupdatetest");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One entry of `ctl_mboxlist -d`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpEntry {
    /// The internal mailbox name.
    pub name: String,
    /// The type flags (`e`, `er` for a remote entry, `z` reserved, ...).
    pub mbtype: String,
    /// The server, for a remote entry.
    pub server: Option<String>,
    /// The partition.
    pub partition: String,
    /// The ACL, in the dump's order.
    pub acl: Vec<(String, String)>,
}

impl DumpEntry {
    /// The ACL string as MUPDATE carries it: `id TAB rights TAB` for each entry.
    pub fn acl_string(&self) -> String {
        self.acl
            .iter()
            .map(|(id, r)| format!("{id}\t{r}\t"))
            .collect()
    }
}

/// A dump as name → [`Entry`], as a master should hold it: local entries get `server` as
/// their server, and tombstones (type `d`, left by a delete; `ctl_mboxlist -m` skips them) are
/// left out.
pub fn dump_table(dump: &[DumpEntry], server: &str) -> BTreeMap<String, Entry> {
    dump.iter()
        .filter(|e| !e.mbtype.contains('d'))
        .map(|e| {
            let server = e.server.as_deref().unwrap_or(server);
            let reserved = e.mbtype.contains('z');
            (
                e.name.clone(),
                Entry {
                    location: format!("{server}!{}", e.partition),
                    acl: (!reserved).then(|| e.acl_string()),
                },
            )
        })
        .collect()
}

/// A JSON value, as far as `ctl_mboxlist -d` needs.
#[derive(Debug)]
enum Json {
    Str(String),
    Obj(Vec<(String, Json)>),
    Other,
}

struct JsonReader<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonReader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let hex = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
                            self.i += 4;
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
    }

    fn value(&mut self) -> Option<Json> {
        self.ws();
        match *self.s.get(self.i)? {
            b'"' => self.string().map(Json::Str),
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                if self.eat(b'}').is_some() {
                    return Some(Json::Obj(fields));
                }
                loop {
                    let key = self.string()?;
                    self.eat(b':')?;
                    fields.push((key, self.value()?));
                    if self.eat(b',').is_none() {
                        self.eat(b'}')?;
                        return Some(Json::Obj(fields));
                    }
                }
            }
            b'[' => {
                self.i += 1;
                if self.eat(b']').is_some() {
                    return Some(Json::Other);
                }
                loop {
                    self.value()?;
                    if self.eat(b',').is_none() {
                        self.eat(b']')?;
                        return Some(Json::Other);
                    }
                }
            }
            _ => {
                while self.i < self.s.len() && !b",}]".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                Some(Json::Other)
            }
        }
    }
}

/// Parses `ctl_mboxlist -d` output (a JSON object of mailbox name → fields).
pub fn parse_dump(text: &str) -> Option<Vec<DumpEntry>> {
    let mut reader = JsonReader {
        s: text.as_bytes(),
        i: 0,
    };
    let Json::Obj(entries) = reader.value()? else {
        return None;
    };
    let field = |fields: &[(String, Json)], key: &str| {
        fields.iter().find_map(|(k, v)| match v {
            Json::Str(s) if k == key => Some(s.clone()),
            _ => None,
        })
    };
    entries
        .into_iter()
        .map(|(name, value)| {
            let Json::Obj(fields) = value else {
                return None;
            };
            let acl = fields
                .iter()
                .find_map(|(k, v)| match v {
                    Json::Obj(acl) if k == "acl" => Some(
                        acl.iter()
                            .filter_map(|(id, r)| match r {
                                Json::Str(r) => Some((id.clone(), r.clone())),
                                _ => None,
                            })
                            .collect(),
                    ),
                    _ => None,
                })
                .unwrap_or_default();
            Some(DumpEntry {
                mbtype: field(&fields, "mbtype").unwrap_or_default(),
                server: field(&fields, "server"),
                partition: field(&fields, "partition").unwrap_or_default(),
                acl,
                name,
            })
        })
        .collect()
}
