//! `corvid shim` against a real Dovecot and a real `corvid mupdate`: the initial reconcile,
//! changes made directly on Dovecot reaching the master (at a `--once` run and on SIGHUP), the
//! three rules, and a dry run that changes nothing. Also the `doveadm` discovery on its own.
//!
//! Needs Dovecot unpacked by `ci/install-peers` and root; every server is started here on
//! 127.0.0.1 and stopped by pid.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use corvid_proto::mailbox::Namespace;
use corvid_shim::shim::Doveadm;
use support::corvid::CorvidMaster;
use support::dovecot::{DOVEADM, Dovecot};
use support::{Entry, MupdateMaster, run_bounded, table, wait_until};

const USERS: [(&str, &str); 2] = [("alice", "alice-secret"), ("bob", "bob-secret")];
/// The shim's user on the master: a backend role that may write only `be1`'s entries.
const BACKEND_USER: &str = "be1:be1-secret";
/// What Cyrus shows for an owner, and what the shim pushes for a personal mailbox without ACL.
const OWNER: &str = "lrswipkxtecdan";

/// A Dovecot `be1` with alice and bob, and a master that knows `be1` as a backend.
fn start(name: &str) -> (Dovecot, CorvidMaster) {
    let dovecot = Dovecot::start(name, &USERS);
    let master = CorvidMaster::start_with(&["--backend", &format!("{BACKEND_USER}:be1")]);
    (dovecot, master)
}

/// The `corvid shim` arguments for `dovecot` and `master`, then `extra`.
fn shim_command(dovecot: &Dovecot, master: &CorvidMaster, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corvid"));
    command
        .args(["shim", "--mupdate", &master.endpoint().addr()])
        .args(["--server", "be1", "--doveadm", DOVEADM, "--doveadm-config"])
        .arg(dovecot.config_path())
        .args(extra)
        .env("CORVID_MUPDATE_USER", BACKEND_USER)
        .env("CORVID_LOG", "info");
    command
}

/// Runs `corvid shim --once` with `extra` flags; panics unless it succeeds.
fn shim_once(dovecot: &Dovecot, master: &CorvidMaster, extra: &[&str]) -> Output {
    let mut command = shim_command(dovecot, master, extra);
    command.arg("--once");
    let out = run_bounded(&mut command, b"", Duration::from_secs(60)).unwrap();
    assert!(
        out.status.success(),
        "corvid shim {extra:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        master.logs()
    );
    out
}

/// The master's whole table.
fn master_table(master: &CorvidMaster) -> BTreeMap<String, Entry> {
    table(&master.endpoint().list(None))
}

fn active(location: &str, acl: &str) -> Entry {
    Entry {
        location: location.into(),
        acl: Some(acl.into()),
    }
}

/// The internal name of a shared folder (`Shared Folders/<path>`), as corvid's namespace maps it.
fn shared(path: &str) -> String {
    let namespace = Namespace::default();
    let anyone = namespace.user("alice").unwrap();
    namespace
        .to_internal_utf8(&anyone, &format!("Shared Folders/{path}"))
        .unwrap()
}

/// Writes on the master as its admin.
fn admin(master: &CorvidMaster) -> support::MupdateClient {
    master.endpoint().connect().unwrap()
}

#[test]
fn initial_reconcile_pushes_every_mailbox_with_its_acl() {
    let (dovecot, master) = start("shim-initial");
    dovecot.create_mailbox("alice", "Sent");
    dovecot.create_mailbox("alice", "Sent/2024");
    dovecot.create_mailbox("alice", "my.folder");
    dovecot.create_mailbox("alice", "Shared Folders/lists");
    dovecot.create_mailbox("bob", "Work");
    dovecot.set_acl("bob", "Work", "user=alice", &["lookup", "read"]);
    dovecot.set_acl("bob", "Work", "group=staff", &["lookup"]);

    let out = shim_once(&dovecot, &master, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("7 pushed, 0 updated, 0 removed"), "{log}");

    let alice = format!("alice\t{OWNER}\t");
    let expected: BTreeMap<String, Entry> = [
        ("user.alice", active("be1!default", &alice)),
        ("user.alice.Sent", active("be1!default", &alice)),
        ("user.alice.Sent.2024", active("be1!default", &alice)),
        ("user.alice.my^folder", active("be1!default", &alice)),
        (
            "user.bob",
            active("be1!default", &format!("bob\t{OWNER}\t")),
        ),
        (
            "user.bob.Work",
            active(
                "be1!default",
                // In Dovecot's order: groups before users.
                &format!("bob\t{OWNER}\tgroup:staff\tl\talice\tlr\t"),
            ),
        ),
        (
            shared("lists").as_str(),
            // The public namespace's ACL (tests/support/dovecot.rs): every right but admin.
            active("be1!default", "anyone\tlrswipkxtecd\t"),
        ),
    ]
    .into_iter()
    .map(|(name, entry)| (name.to_owned(), entry))
    .collect();
    assert_eq!(master_table(&master), expected);

    // In step: a second reconcile writes nothing.
    let again = shim_once(&dovecot, &master, &[]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(log.contains("0 pushed, 0 updated, 0 removed"), "{log}");
    assert_eq!(master_table(&master), expected);
}

#[test]
fn changes_on_dovecot_reach_the_master_at_the_next_reconcile() {
    let (dovecot, master) = start("shim-changes");
    dovecot.create_mailbox("alice", "Old");
    dovecot.create_mailbox("alice", "Kept");
    shim_once(&dovecot, &master, &[]);
    assert!(master_table(&master).contains_key("user.alice.Old"));

    // A --once run.
    dovecot.create_mailbox("alice", "New");
    dovecot.delete_mailbox("alice", "Old");
    shim_once(&dovecot, &master, &[]);
    let table = master_table(&master);
    assert!(table.contains_key("user.alice.New"), "{table:?}");
    assert!(!table.contains_key("user.alice.Old"), "{table:?}");

    // A running shim, woken by SIGHUP (its interval is far away). Its first reconcile is
    // logged after it listens for SIGHUP, which would kill it before.
    let log_path = dovecot.dir().join("shim.log");
    let mut shim = shim_command(&dovecot, &master, &["--interval", "3600"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let running = Running(&mut shim);
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let first = wait_until(Duration::from_secs(20), || {
        log().contains("reconciled:").then_some(())
    });
    assert!(first.is_some(), "no first reconcile:\n{}", log());
    dovecot.create_mailbox("bob", "Later");
    dovecot.delete_mailbox("alice", "New");
    dovecot.set_acl(
        "alice",
        "Kept",
        "user=bob",
        &["lookup", "read", "write-seen"],
    );
    let reached = wait_until(Duration::from_secs(20), || {
        running.sighup();
        let table = master_table(&master);
        let kept = table.get("user.alice.Kept")?.acl.clone()?;
        (table.contains_key("user.bob.Later")
            && !table.contains_key("user.alice.New")
            && kept == format!("alice\t{OWNER}\tbob\tlrs\t"))
        .then_some(())
    });
    assert!(reached.is_some(), "{:?}\n{}", master_table(&master), log());
    assert!(log().contains("SIGHUP: reconciling now"), "{}", log());
}

/// A running shim, killed (by its pid) when dropped.
struct Running<'a>(&'a mut Child);

impl Running<'_> {
    fn sighup(&self) {
        let status = Command::new("kill")
            .args(["-HUP", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn entries_on_this_server_that_dovecot_lacks_are_removed() {
    let (dovecot, master) = start("shim-rule2");
    let mut client = admin(&master);
    client
        .activate("user.alice.Ghost", "be1!default", "alice\tlrs\t")
        .unwrap();
    client.reserve("user.alice.Half", "be1!default").unwrap();
    client
        .activate("user.carol", "be2!default", "carol\tlrs\t")
        .unwrap();
    client.logout();

    let out = shim_once(&dovecot, &master, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("remove user.alice.Ghost"), "{log}");
    let table = master_table(&master);
    assert!(!table.contains_key("user.alice.Ghost"), "{table:?}");
    assert!(!table.contains_key("user.alice.Half"), "{table:?}");
    assert_eq!(table["user.carol"], active("be2!default", "carol\tlrs\t"));
    assert_eq!(
        table["user.alice"],
        active("be1!default", &format!("alice\t{OWNER}\t"))
    );
}

#[test]
fn mailboxes_placed_elsewhere_are_reported_and_deleted_locally_only_when_asked() {
    let (dovecot, master) = start("shim-rule3");
    dovecot.create_mailbox("alice", "Elsewhere");
    let mut client = admin(&master);
    client
        .activate("user.alice.Elsewhere", "be2!default", "alice\tlr\t")
        .unwrap();
    client.logout();
    let placed = active("be2!default", "alice\tlr\t");

    let out = shim_once(&dovecot, &master, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("conflict user.alice.Elsewhere: the master places it on be2!default"),
        "{log}"
    );
    assert!(dovecot.mailboxes("alice").contains(&"Elsewhere".to_owned()));
    assert_eq!(master_table(&master)["user.alice.Elsewhere"], placed);

    let out = shim_once(&dovecot, &master, &["--delete-local"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("delete-local user.alice.Elsewhere"), "{log}");
    assert!(!dovecot.mailboxes("alice").contains(&"Elsewhere".to_owned()));
    assert_eq!(master_table(&master)["user.alice.Elsewhere"], placed);
}

#[test]
fn a_dry_run_changes_nothing_and_prints_the_plan() {
    let (dovecot, master) = start("shim-dry");
    dovecot.create_mailbox("alice", "Elsewhere");
    let mut client = admin(&master);
    client
        .activate("user.alice", "be1!default", "alice\tlr\t")
        .unwrap();
    client
        .activate("user.alice.Ghost", "be1!default", "alice\tlrs\t")
        .unwrap();
    client
        .activate("user.alice.Elsewhere", "be2!default", "alice\tlr\t")
        .unwrap();
    client.logout();
    let before = master_table(&master);
    let mailboxes = dovecot.mailboxes("alice");

    let out = shim_once(&dovecot, &master, &["--dry-run", "--delete-local"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    for line in [
        "remove user.alice.Ghost\n",
        &format!("update user.alice acl \"alice\\t{OWNER}\\t\"\n"),
        &format!("push user.bob acl \"bob\\t{OWNER}\\t\"\n"),
        "conflict user.alice.Elsewhere: the master places it on be2!default\n",
        "delete-local user.alice.Elsewhere (alice \"Elsewhere\")\n",
        "dry run: 1 pushed, 1 updated, 1 removed, 1 conflicts (deleted locally), 0 unmapped, 0 failed\n",
    ] {
        assert!(printed.contains(line), "{line:?} not in:\n{printed}");
    }
    assert_eq!(master_table(&master), before);
    assert_eq!(dovecot.mailboxes("alice"), mailboxes);
}

#[test]
fn doveadm_discovery_reads_a_real_dovecot() {
    let dovecot = Dovecot::start("shim-discovery", &USERS);
    dovecot.create_mailbox("alice", "Ünï");
    dovecot.create_mailbox("alice", "Odd");
    dovecot.create_mailbox("alice", "a^b");
    dovecot.doveadm(&["mailbox", "create", "-u", "alice", "--", "-dash"], b"");
    dovecot.create_mailbox("bob", "Shared Folders/lists");
    dovecot.set_acl("alice", "INBOX", "owner", &["lookup", "read", "admin"]);
    dovecot.set_acl("alice", "INBOX", "user=bob", &["lookup", "read"]);
    dovecot.set_acl("alice", "Odd", "authenticated", &["lookup"]);
    // Shared with alice: listed under `Other Users/bob/`, and still bob's alone.
    dovecot.set_acl("bob", "INBOX", "user=alice", &["lookup"]);
    // Negative rights, which `doveadm acl set` cannot give, in the mailbox's own ACL file
    // (maildir keeps the name in modified UTF-7).
    std::fs::write(
        dovecot
            .dir()
            .join("mail/users/alice/&ANw-n&AO8-/dovecot-acl"),
        "-user=carol w\nuser=carol l\n",
    )
    .unwrap();

    let doveadm = Doveadm {
        program: DOVEADM.into(),
        config: Some(dovecot.config_path()),
        timeout: Duration::from_secs(30),
    };
    assert_eq!(doveadm.users().unwrap(), ["alice", "bob"]);
    let view = doveadm.discover(&Namespace::default()).unwrap();
    let acls: BTreeMap<String, String> = view
        .mailboxes
        .iter()
        .map(|(name, mailbox)| {
            (
                String::from_utf8_lossy(name).into_owned(),
                String::from_utf8_lossy(&mailbox.acl).into_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("user.alice".to_owned(), "alice\tlra\tbob\tlr\t".to_owned()),
        (
            "user.alice.&ANw-n&AO8-".to_owned(),
            format!("alice\t{OWNER}\tcarol\tl\t-carol\tw\t"),
        ),
        ("user.alice.-dash".to_owned(), format!("alice\t{OWNER}\t")),
        ("user.bob".to_owned(), format!("bob\t{OWNER}\talice\tl\t")),
        (shared("lists"), "anyone\tlrswipkxtecd\t".to_owned()),
    ]
    .into_iter()
    .collect();
    assert_eq!(acls, expected);
    let origin = &view.mailboxes[b"user.alice.&ANw-n&AO8-".as_slice()].origin;
    assert_eq!(
        (origin.user.as_str(), origin.mailbox.as_str()),
        ("alice", "Ünï")
    );

    let mut unmapped: Vec<(&str, Option<&[u8]>)> = view
        .unmapped
        .iter()
        .map(|u| (u.origin.mailbox.as_str(), u.name.as_deref()))
        .collect();
    unmapped.sort();
    assert_eq!(
        unmapped,
        [("Odd", Some(b"user.alice.Odd".as_slice())), ("a^b", None)]
    );
}

#[test]
fn a_backend_that_lists_nothing_is_not_taken_as_emptied() {
    // No users at all (a broken userdb looks the same): the shim must not remove the entries the
    // master places on this server.
    let dovecot = Dovecot::start("shim-empty", &[]);
    let master = CorvidMaster::start_with(&["--backend", &format!("{BACKEND_USER}:be1")]);
    let mut client = admin(&master);
    client
        .activate("user.alice", "be1!default", "alice\tlrs\t")
        .unwrap();
    client.logout();
    let mut command = shim_command(&dovecot, &master, &["--once"]);
    let out = run_bounded(&mut command, b"", Duration::from_secs(60)).unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("refusing to remove them all"), "{log}");
    assert!(master_table(&master).contains_key("user.alice"));
}
