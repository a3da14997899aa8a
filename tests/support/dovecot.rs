//! Real Dovecot 2.3 IMAP backends (Debian's `dovecot-core` and `dovecot-imapd`, unpacked by
//! `ci/install-peers`), started by a test on 127.0.0.1 and stopped by their own pid.
//!
//! Each [`Dovecot`] gets a fresh directory under the system temp dir holding its
//! `dovecot.conf`, its password files, its `base_dir` and `state_dir`, its log and its mail
//! (`mail/`, owned by the [`MAIL_USER`]). It listens for IMAP on a port picked free, with
//! plaintext logins allowed (`ssl = no`), and knows two kinds of users: the end users given to
//! [`Dovecot::start`], and the master user [`MASTER_USER`], who cannot log in as itself but
//! logs in as any end user, the way corvid's proxy does: SASL PLAIN with the end user as
//! authorization id, or `LOGIN user*proxy password`. ACLs are then checked as the end user
//! (`acl_user = %u`), so the master user sees exactly what the user sees.
//!
//! # Namespaces, as corvid's proxy shows them
//!
//! | prefix | type | what |
//! |---|---|---|
//! | `""` (separator `/`) | private | the user's own mailboxes, `INBOX` included |
//! | `Other Users/<owner>/` | shared | other users' mailboxes shared with this user by SETACL |
//! | `Shared Folders/` | public | one tree for everyone (`anyone` has all rights but admin) |
//!
//! Maildirs use `LAYOUT=fs`, so mailbox names may contain dots.
//!
//! # Lifetime
//!
//! `dovecot -F` runs under a small `sh` supervisor in a process group of its own (whose id is
//! the supervisor's pid). [`Dovecot::kill`], and Drop, SIGKILL that group: every process of the
//! instance at once, without Dovecot's graceful shutdown, which takes seconds. The supervisor's
//! stdin is a pipe that only the test process holds: if the test process dies without dropping
//! the instance (even by SIGKILL), the pipe closes and the supervisor sends SIGTERM to Dovecot's
//! master, which stops its children. Nothing is ever killed by name. Set
//! `CORVID_KEEP_DOVECOT=1` to keep the directory after the test; a panicking test always keeps
//! it and prints where.
//!
//! Dovecot refuses to run mail processes as root, and only root can switch to the users it
//! needs (`dovecot`, `dovenull`, [`MAIL_USER`]; `ci/install-peers` creates them), so the tests
//! that use this module must run as root, as CI does.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, imap_greets, log_tail, run_bounded, running_as_root};

/// Dovecot's master program, where `ci/install-peers` puts it.
pub const DOVECOT: &str = "/usr/sbin/dovecot";
/// Dovecot's admin tool.
pub const DOVEADM: &str = "/usr/bin/doveadm";
/// The master user: logs in as any end user, never as itself (the proxy's identity).
pub const MASTER_USER: &str = "proxy";
/// The master user's password.
pub const MASTER_PASSWORD: &str = "proxypass";
/// The system user that owns the mail and runs the IMAP processes.
pub const MAIL_USER: &str = "vmail";
/// How long an instance may take to greet on its port.
pub const START_BOUND: Duration = Duration::from_secs(20);
/// How long one `doveadm` run may take.
pub const TOOL_BOUND: Duration = Duration::from_secs(30);

/// The supervisor: runs `dovecot -F` with the given arguments and SIGTERMs it once stdin
/// closes (fd 3 keeps the pipe: a background list's stdin would be /dev/null); exits with
/// Dovecot's status.
const SUPERVISOR: &str = r#"exec 3<&0
"$0" -F "$@" </dev/null 3<&- &
server=$!
(read -r _ <&3; kill -TERM "$server") &
watcher=$!
wait "$server"
status=$?
kill "$watcher" 2>/dev/null
exit "$status""#;

/// Panics with a clear message unless Dovecot is installed and this process can run it.
pub fn require_dovecot() {
    for program in [DOVECOT, DOVEADM] {
        assert!(
            Path::new(program).exists(),
            "{program} is missing: install the Dovecot peer with ci/install-peers"
        );
    }
    assert!(
        running_as_root(),
        "the Dovecot tests must run as root (Dovecot switches to its own users)"
    );
}

/// One Dovecot IMAP server on 127.0.0.1.
#[derive(Debug)]
pub struct Dovecot {
    name: String,
    dir: PathBuf,
    port: u16,
    supervisor: Option<Child>,
    /// The supervisor's stdin: Dovecot stops when it closes.
    lifeline: Option<ChildStdin>,
}

impl Dovecot {
    /// Starts an instance called `name` whose end users are `users` (name, password), and waits
    /// until it greets. Panics, with its logs, if it does not start.
    pub fn start(name: &str, users: &[(&str, &str)]) -> Dovecot {
        Self::start_with(name, users, "")
    }

    /// [`Dovecot::start`], with `extra` appended to its `dovecot.conf` (Dovecot merges a
    /// repeated section into the first, so `service imap { client_limit = 100 }` tunes the
    /// service defined above it).
    pub fn start_with(name: &str, users: &[(&str, &str)], extra: &str) -> Dovecot {
        require_dovecot();
        let dir = tempfile::Builder::new()
            .prefix(&format!("corvid-dovecot-{name}-"))
            .tempdir()
            .expect("create the instance's directory")
            .keep();
        // The mail processes run as MAIL_USER and must reach mail/ inside.
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .expect("open the instance's directory");
        let port = free_port();
        let mut dovecot = Dovecot {
            name: name.to_owned(),
            dir,
            port,
            supervisor: None,
            lifeline: None,
        };
        dovecot.configure(users, extra);
        dovecot.spawn();
        dovecot.wait_ready();
        dovecot
    }

    /// Writes the config (with `extra` at its end), the password files and the mail tree.
    fn configure(&self, users: &[(&str, &str)], extra: &str) {
        // `users` is the userdb too (so that `doveadm user '*'` lists them): its uid, gid and
        // home fields are left empty for the userdb's default_fields.
        let passwd_file = |entries: &[(&str, &str)], userdb_fields: &str| -> String {
            entries
                .iter()
                .map(|(user, password)| {
                    assert!(
                        !format!("{user}{password}").contains([':', '\n', '\r']),
                        "a user or password with ':' or a line break: {user}"
                    );
                    format!("{user}:{{PLAIN}}{password}{userdb_fields}\n")
                })
                .collect()
        };
        let write = |name: &str, text: &str| {
            fs::write(self.dir.join(name), text).unwrap_or_else(|e| panic!("write {name}: {e}"));
        };
        write("users", &passwd_file(users, "::::::"));
        write(
            "masters",
            &passwd_file(&[(MASTER_USER, MASTER_PASSWORD)], ""),
        );
        write("dovecot.conf", &(self.config() + extra));

        let mail = self.dir.join("mail");
        fs::create_dir_all(mail.join("users")).expect("create mail/users");
        fs::create_dir_all(mail.join("public")).expect("create mail/public");
        // The public namespace's root ACL, which its mailboxes inherit when created.
        fs::write(mail.join("public/dovecot-acl"), "anyone lrwstipekx\n")
            .expect("write the public ACL");
        let status = Command::new("chown")
            .args(["-R", &format!("{MAIL_USER}:{MAIL_USER}")])
            .arg(&mail)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown {MAIL_USER} {}", mail.display());
    }

    /// The instance's `dovecot.conf`.
    fn config(&self) -> String {
        let d = self.dir.display();
        let name = &self.name;
        let port = self.port;
        let pid = std::process::id();
        format!(
            r#"# corvid test backend "{name}" (tests/support/dovecot.rs)
instance_name = corvid-{name}-{pid}-{port}
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_master_user_separator = *
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull

# Failed logins are answered at once: no delay, and no per-IP penalty (the auth process
# cannot open anvil's penalty socket), so tests that try wrong passwords stay fast.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}

passdb {{
  driver = passwd-file
  args = {d}/masters
  master = yes
  result_success = continue
}}
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
  default_fields = uid={MAIL_USER} gid={MAIL_USER} home={d}/mail/users/%u
}}

mail_location = maildir:{d}/mail/users/%u:LAYOUT=fs
mail_plugins = acl
protocol imap {{
  mail_plugins = $mail_plugins imap_acl
}}
plugin {{
  acl = vfile
  acl_shared_dict = file:{d}/mail/shared-mailboxes
  acl_user = %u
}}

namespace inbox {{
  type = private
  separator = /
  prefix =
  inbox = yes
}}
namespace users {{
  type = shared
  separator = /
  prefix = Other Users/%%u/
  location = maildir:{d}/mail/users/%%u:LAYOUT=fs
  subscriptions = no
  list = children
}}
namespace public {{
  type = public
  separator = /
  prefix = Shared Folders/
  location = maildir:{d}/mail/public:LAYOUT=fs
  subscriptions = no
  list = children
}}
"#
        )
    }

    /// Starts the supervisor (and so Dovecot) in a process group of its own.
    fn spawn(&mut self) {
        let stderr = fs::File::create(self.dir.join("stderr.log")).expect("create stderr.log");
        let stdout = stderr.try_clone().expect("clone stderr.log");
        let mut child = Command::new("sh")
            .args(["-c", SUPERVISOR, DOVECOT, "-c"])
            .arg(self.config_path())
            .process_group(0)
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn Dovecot");
        self.lifeline = child.stdin.take();
        self.supervisor = Some(child);
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_BOUND;
        loop {
            if imap_greets(&self.addr()) {
                return;
            }
            if let Some(Ok(Some(status))) = self.supervisor.as_mut().map(Child::try_wait) {
                panic!(
                    "Dovecot {} exited while starting ({status})\n{}",
                    self.name,
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "Dovecot {} not ready after {START_BOUND:?}\n{}",
                self.name,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `127.0.0.1:port`, where it serves IMAP.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Its IMAP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its `dovecot.conf`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("dovecot.conf")
    }

    /// The pid of its process group (the supervisor's pid), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.supervisor.as_ref().map(Child::id)
    }

    /// The last lines of Dovecot's log and of its stderr, for failure messages.
    pub fn logs(&self) -> String {
        format!(
            "--- Dovecot {} in {} ---\n--- dovecot.log ---\n{}\n--- stderr ---\n{}\n---",
            self.name,
            self.dir.display(),
            log_tail(&self.dir.join("dovecot.log")),
            log_tail(&self.dir.join("stderr.log"))
        )
    }

    /// SIGKILLs every process of the instance at once, as a crash would: connections drop.
    /// Dropping a [`Dovecot`] does the same (its mail is thrown away, so nothing needs a clean
    /// shutdown).
    pub fn kill(&mut self) {
        if let Some(mut supervisor) = self.supervisor.take() {
            signal_group("KILL", supervisor.id());
            let _ = supervisor.wait();
        }
        self.lifeline = None;
    }

    /// Starts the (killed) instance again on the same directory and port, its mail kept, and
    /// waits until it greets.
    pub fn restart(&mut self) {
        self.kill();
        // The killed master may linger as a zombie nobody reaps: Dovecot would take its pid
        // file for a running instance.
        let _ = fs::remove_file(self.dir.join("run/master.pid"));
        self.spawn();
        self.wait_ready();
    }

    /// Runs `doveadm` with this instance's config, `stdin` as its input; returns its standard
    /// output. Panics, with the logs, if it fails.
    pub fn doveadm(&self, args: &[&str], stdin: &[u8]) -> String {
        let mut command = Command::new(DOVEADM);
        command.arg("-c").arg(self.config_path()).args(args);
        let out = run_bounded(&mut command, stdin, TOOL_BOUND).expect("run doveadm");
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates mailbox `name` (`/`-separated) for `user`.
    pub fn create_mailbox(&self, user: &str, name: &str) {
        self.doveadm(&["mailbox", "create", "-u", user, name], b"");
    }

    /// Deletes `user`'s mailbox `name`, its mail included.
    pub fn delete_mailbox(&self, user: &str, name: &str) {
        self.doveadm(&["mailbox", "delete", "-u", user, name], b"");
    }

    /// Sets `identifier`'s rights (Dovecot's names: `lookup`, `read`, ...) on `user`'s
    /// `mailbox`.
    pub fn set_acl(&self, user: &str, mailbox: &str, identifier: &str, rights: &[&str]) {
        let mut args = vec!["acl", "set", "-u", user, mailbox, identifier];
        args.extend_from_slice(rights);
        self.doveadm(&args, b"");
    }

    /// Delivers `message` into `user`'s `mailbox` while clients may be watching it (IDLE
    /// sessions see it arrive). Dovecot keeps lines with LF only and gives CRLF back, so a
    /// message with CRLF line ends is fetched byte for byte as it was given.
    pub fn append(&self, user: &str, mailbox: &str, message: &[u8]) {
        self.doveadm(&["save", "-u", user, "-m", mailbox], message);
    }

    /// Every mailbox `user` sees (as `LIST "" "*"` would, the namespaces' roots included),
    /// sorted.
    pub fn mailboxes(&self, user: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .doveadm(&["mailbox", "list", "-u", user], b"")
            .lines()
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() || std::env::var_os("CORVID_KEEP_DOVECOT").is_some() {
            eprintln!("kept Dovecot {} in {}", self.name, self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends SIG`signal` to the process group `pgid`, ignoring errors (it may be gone already).
fn signal_group(signal: &str, pgid: u32) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
