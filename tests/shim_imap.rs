//! `corvid shim --imap` against real IMAP backends and a real `corvid mupdate`: corvid's
//! reference backend (`corvid backend --admin admin`) and Debian's Cyrus IMAP 3.6 with its
//! admin. Mailboxes and ACLs are made through IMAP as the users; the shim reads them as the
//! admin and the master's entries are asserted: the initial reconcile, a later change, the
//! three rules and a dry run.
//!
//! Cyrus needs `ci/install-peers`; every server is started here on 127.0.0.1 and stopped by
//! pid.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

use support::backend::{BackendOptions, CorvidBackend};
use support::corvid::CorvidMaster;
use support::cyrus::{CyrusBackend, CyrusNamespace, dump_table, password};
use support::{Entry, ImapClient, MupdateMaster, run_bounded, table};

/// The shim's user on the master: a backend role that may write only `be1`'s entries.
const BACKEND_USER: &str = "be1:be1-secret";
/// The rights of a mailbox's owner, as Cyrus and the reference backend write them.
const OWNER: &str = "lrswipkxtecdan";

/// A master that knows `be1` as a backend.
fn master() -> CorvidMaster {
    CorvidMaster::start_with(&["--backend", &format!("{BACKEND_USER}:be1")])
}

/// Runs `corvid shim --once --imap ADDR` as `admin` with `extra` flags; panics unless it
/// succeeds. Returns what it printed and logged.
fn shim_once(imap: &str, admin: &str, master: &CorvidMaster, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corvid"));
    command
        .args(["shim", "--once", "--server", "be1"])
        .args(["--mupdate", &master.endpoint().addr(), "--imap", imap])
        .args(extra)
        .env("CORVID_MUPDATE_USER", BACKEND_USER)
        .env("CORVID_SHIM_IMAP_USER", admin)
        .env("CORVID_LOG", "info");
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

fn active(acl: &str) -> Entry {
    Entry {
        location: "be1!default".into(),
        acl: Some(acl.into()),
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------------------------
// corvid's reference backend.

const USERS: [(&str, &str); 3] = [
    ("alice", "alice-secret"),
    ("bob", "bob-secret"),
    ("admin", "admin-secret"),
];

/// A standalone reference backend (no master of its own) with `admin` as its admin.
fn reference_backend() -> CorvidBackend {
    CorvidBackend::start(BackendOptions {
        server: "be1".into(),
        users: USERS.map(|(u, p)| (u.to_owned(), p.to_owned())).to_vec(),
        master: None,
        extra: vec!["--admin".into(), "admin".into()],
        ..BackendOptions::default()
    })
}

fn login(backend: &CorvidBackend, user: &str) -> ImapClient {
    let password = USERS.iter().find(|(u, _)| *u == user).unwrap().1;
    ImapClient::login(&backend.addr(), user, password).unwrap()
}

#[test]
fn the_reference_backend_is_read_through_its_admin() {
    let backend = reference_backend();
    let master = master();
    let mut alice = login(&backend, "alice");
    alice.create("Sent").unwrap();
    alice.create("Sent/2024").unwrap();
    alice.create("my.folder").unwrap();
    alice.setacl("Sent", "bob", "lr").unwrap();
    let mut bob = login(&backend, "bob");
    bob.create("Work").unwrap();
    let mut admin = login(&backend, "admin");
    admin.create("Shared Folders/lists").unwrap();

    let out = shim_once(&backend.addr(), "admin:admin-secret", &master, &[]);
    // The admin's own INBOX, made at its login, is a mailbox like any other.
    assert!(
        stderr(&out).contains("8 pushed, 0 updated, 0 removed"),
        "{}",
        stderr(&out)
    );
    let owner = |user: &str| active(&format!("{user}\t{OWNER}\t"));
    let mut expected: BTreeMap<String, Entry> = [
        ("user.admin", owner("admin")),
        ("user.alice", owner("alice")),
        (
            "user.alice.Sent",
            active(&format!("alice\t{OWNER}\tbob\tlr\t")),
        ),
        ("user.alice.Sent.2024", owner("alice")),
        ("user.alice.my^folder", owner("alice")),
        ("user.bob", owner("bob")),
        ("user.bob.Work", owner("bob")),
        ("lists", active("anyone\tlrs\t")),
    ]
    .into_iter()
    .map(|(name, entry)| (name.to_owned(), entry))
    .collect();
    assert_eq!(master_table(&master), expected);

    // In step: nothing to write.
    let out = shim_once(&backend.addr(), "admin:admin-secret", &master, &[]);
    assert!(
        stderr(&out).contains("0 pushed, 0 updated, 0 removed"),
        "{}",
        stderr(&out)
    );

    // Changes made since reach the master at the next reconcile.
    bob.create("Later").unwrap();
    alice.delete("my.folder").unwrap();
    alice.setacl("INBOX", "bob", "lrs").unwrap();
    admin.setacl("Shared Folders/lists", "bob", "lrsp").unwrap();
    shim_once(&backend.addr(), "admin:admin-secret", &master, &[]);
    expected.insert("user.bob.Later".into(), owner("bob"));
    expected.remove("user.alice.my^folder");
    expected.insert(
        "user.alice".into(),
        active(&format!("alice\t{OWNER}\tbob\tlrs\t")),
    );
    expected.insert("lists".into(), active("anyone\tlrs\tbob\tlrsp\t"));
    assert_eq!(master_table(&master), expected);
    for client in [alice, bob, admin] {
        client.logout();
    }
}

#[test]
fn a_refused_login_fails_the_reconcile_and_changes_nothing() {
    let backend = reference_backend();
    let master = master();
    let mut client = master.endpoint().connect().unwrap();
    client
        .activate("user.bob", "be1!default", "bob\tlrs\t")
        .unwrap();
    client.logout();
    let mut command = Command::new(env!("CARGO_BIN_EXE_corvid"));
    command
        .args(["shim", "--once", "--server", "be1"])
        .args([
            "--mupdate",
            &master.endpoint().addr(),
            "--imap",
            &backend.addr(),
        ])
        .env("CORVID_MUPDATE_USER", BACKEND_USER)
        .env("CORVID_SHIM_IMAP_USER", "admin:wrong-password");
    let out = run_bounded(&mut command, b"", Duration::from_secs(60)).unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the server answered NO to LOGIN"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("wrong-password"), "{}", stderr(&out));
    assert!(master_table(&master).contains_key("user.bob"));
}

// ---------------------------------------------------------------------------------------------
// Cyrus.

/// A standalone Cyrus backend whose users see the alternate namespace (its admin never does),
/// with INBOXes for alice and bob.
fn cyrus() -> CyrusBackend {
    let cyrus = CyrusBackend::start_with(None, CyrusNamespace::Alternate);
    let mut admin = cyrus.imap("admin");
    admin.create("user/alice").unwrap();
    admin.create("user/bob").unwrap();
    admin.logout();
    cyrus
}

fn cyrus_admin() -> String {
    format!("admin:{}", password("admin"))
}

/// The Cyrus backend's mailboxes.db as the master should hold it for `be1`.
fn cyrus_table(cyrus: &CyrusBackend) -> BTreeMap<String, Entry> {
    dump_table(&cyrus.instance.dump(), "be1")
}

#[test]
fn cyrus_is_read_through_its_admin_at_start_and_at_the_next_reconcile() {
    let cyrus = cyrus();
    let master = master();
    let mut alice = cyrus.imap("alice");
    alice.create("Sent").unwrap();
    alice.create("Archive/2024").unwrap();
    alice.setacl("Sent", "bob", "lr").unwrap();
    let mut admin = cyrus.imap("admin");
    admin.create("lists").unwrap();
    admin.create("lists/rust").unwrap();

    let out = shim_once(&cyrus.addr(), &cyrus_admin(), &master, &[]);
    assert!(
        stderr(&out).contains("7 pushed, 0 updated, 0 removed"),
        "{}",
        stderr(&out)
    );
    let owner = |user: &str| active(&format!("{user}\t{OWNER}\t"));
    let expected: BTreeMap<String, Entry> = [
        ("user.alice", owner("alice")),
        ("user.alice.Archive", owner("alice")),
        ("user.alice.Archive.2024", owner("alice")),
        (
            "user.alice.Sent",
            active(&format!("alice\t{OWNER}\tbob\tlr\t")),
        ),
        ("user.bob", owner("bob")),
        ("lists", active("anyone\tlrs\t")),
        ("lists.rust", active("anyone\tlrs\t")),
    ]
    .into_iter()
    .map(|(name, entry)| (name.to_owned(), entry))
    .collect();
    assert_eq!(master_table(&master), expected);
    // Exactly what Cyrus's own `ctl_mboxlist -m` would have pushed.
    assert_eq!(master_table(&master), cyrus_table(&cyrus));

    // A mailbox made later reaches the master at the next reconcile.
    let mut bob = cyrus.imap("bob");
    bob.create("Later").unwrap();
    let out = shim_once(&cyrus.addr(), &cyrus_admin(), &master, &[]);
    assert!(
        stderr(&out).contains("1 pushed, 0 updated, 0 removed"),
        "{}",
        stderr(&out)
    );
    assert_eq!(master_table(&master)["user.bob.Later"], owner("bob"));
    assert_eq!(master_table(&master), cyrus_table(&cyrus));
    for client in [alice, bob, admin] {
        client.logout();
    }
}

#[test]
fn cyrus_rules_two_and_three_and_a_dry_run() {
    let cyrus = cyrus();
    let master = master();
    let mut alice = cyrus.imap("alice");
    alice.create("Elsewhere").unwrap();
    alice.logout();
    let mut client = master.endpoint().connect().unwrap();
    client
        .activate("user.alice.Ghost", "be1!default", "alice\tlrs\t")
        .unwrap();
    client
        .activate("user.alice.Elsewhere", "be2!default", "alice\tlr\t")
        .unwrap();
    client.logout();
    let before = master_table(&master);

    // A dry run prints the plan and changes nothing.
    let out = shim_once(&cyrus.addr(), &cyrus_admin(), &master, &["--dry-run"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    for line in [
        "remove user.alice.Ghost\n",
        &format!("push user.alice acl \"alice\\t{OWNER}\\t\"\n"),
        &format!("push user.bob acl \"bob\\t{OWNER}\\t\"\n"),
        "conflict user.alice.Elsewhere: the master places it on be2!default\n",
        "dry run: 2 pushed, 0 updated, 1 removed, 1 conflicts (kept), 0 unmapped, 0 failed\n",
    ] {
        assert!(printed.contains(line), "{line:?} not in:\n{printed}");
    }
    assert_eq!(master_table(&master), before);

    let out = shim_once(&cyrus.addr(), &cyrus_admin(), &master, &[]);
    let log = stderr(&out);
    assert!(log.contains("remove user.alice.Ghost"), "{log}");
    assert!(
        log.contains("conflict user.alice.Elsewhere: the master places it on be2!default"),
        "{log}"
    );
    let table = master_table(&master);
    // Rule 2: the entry of a mailbox the backend lacks is gone.
    assert!(!table.contains_key("user.alice.Ghost"), "{table:?}");
    // Rule 3: reported only; the master's entry and Cyrus's mailbox both stay.
    assert_eq!(
        table["user.alice.Elsewhere"],
        Entry {
            location: "be2!default".into(),
            acl: Some("alice\tlr\t".into()),
        }
    );
    assert!(cyrus_table(&cyrus).contains_key("user.alice.Elsewhere"));
    assert_eq!(table["user.alice"], active(&format!("alice\t{OWNER}\t")));
}
