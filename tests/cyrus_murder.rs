//! Real Cyrus 3.6 components against a MUPDATE master (reference/murder.md §7 T1, T2, T5).
//!
//! The master is reached only through [`support::MupdateMaster`] (an address and admin
//! credentials), and every test runs twice: against `corvid mupdate` (module `corvid`), and
//! against Cyrus's own `mupdate -m` (module `cyrus`), which shows that the expectations are
//! Cyrus's behaviour and not ours.
//!
//! Needs Debian's Cyrus packages (`ci/install-peers`); every server is started here on
//! 127.0.0.1 and stopped by pid.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::corvid::CorvidMaster;
use support::cyrus::{CyrusBackend, CyrusMaster, CyrusSlave, mupdatetest};
use support::{Entry, MupdateEndpoint, MupdateMaster, names, table, wait_until};

/// Which master a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Corvid,
    Cyrus,
}

fn start_master(kind: Kind) -> Box<dyn MupdateMaster> {
    match kind {
        Kind::Corvid => Box::new(CorvidMaster::start()),
        Kind::Cyrus => Box::new(CyrusMaster::start()),
    }
}

/// Each test, once per master.
macro_rules! against_both_masters {
    ($($test:ident),* $(,)?) => {
        mod corvid {
            $(#[test] fn $test() { super::$test(super::Kind::Corvid) })*
        }
        mod cyrus {
            $(#[test] fn $test() { super::$test(super::Kind::Cyrus) })*
        }
    };
}

against_both_masters!(
    backend_push_registers_every_mailbox_and_is_idempotent,
    live_operations_reach_the_master,
    slave_follows_the_master,
    mupdatetest_talks_to_the_master,
);

/// The owner's rights Cyrus gives a new mailbox, as an ACL string.
const OWNER: &str = "lrswipkxtecdan";

/// What the master holds for `server` (LIST "server!"), as name → entry.
fn master_table(master: &MupdateEndpoint, server: &str) -> BTreeMap<String, Entry> {
    table(&master.list(Some(&format!("{server}!"))))
}

/// FIND `name` on the master: its entry, if any.
fn find(master: &MupdateEndpoint, name: &str) -> Option<Entry> {
    let mut client = master.connect().expect("connect to the master");
    let record = client.find(name).expect("FIND");
    client.logout();
    table(record.as_slice()).remove(name)
}

/// An active mailbox's entry.
fn mailbox(location: &str, acl: &str) -> Option<Entry> {
    Some(Entry {
        location: location.to_owned(),
        acl: Some(acl.to_owned()),
    })
}

/// alice's and bob's mailboxes, with the names whose order matters (reference/murder.md §3)
/// and a delayed-delete name (`DELETED.user.alice.Trash.<hex>`).
fn populate(backend: &CyrusBackend) {
    let mut admin = backend.imap("admin");
    admin
        .create("user.alice")
        .expect("IMAP command on the backend");
    admin
        .create("user.bob")
        .expect("IMAP command on the backend");
    admin.logout();
    let mut alice = backend.imap("alice");
    for name in [
        "INBOX.Sent",
        "INBOX.Sent.x",
        "INBOX.Sent-Items",
        "INBOX.a b",
        "INBOX.Trash",
    ] {
        alice.create(name).expect("IMAP command on the backend");
    }
    alice
        .setacl("INBOX.a b", "bob", "lr")
        .expect("IMAP command on the backend");
    alice
        .delete("INBOX.Trash")
        .expect("IMAP command on the backend");
    alice.logout();
}

fn force_activated(push_output: &str) -> Vec<&str> {
    push_output
        .lines()
        .filter_map(|l| l.strip_prefix("Force Activate: "))
        .collect()
}

fn backend_push_registers_every_mailbox_and_is_idempotent(kind: Kind) {
    let master = start_master(kind);
    let ep = master.endpoint();
    let backend = CyrusBackend::start(Some(&ep));
    populate(&backend);
    let server = backend.servername();
    let local = backend.table();
    assert!(
        local
            .keys()
            .any(|n| n.starts_with("DELETED.user.alice.Trash.")),
        "{local:?}"
    );
    assert_eq!(local.len(), 7, "{local:?}");

    // Make the master forget this backend, and give it a stale entry, a wrong ACL and
    // another server's mailbox: what a backend's start-up push must repair or leave alone.
    let mut admin = ep.connect().unwrap();
    for name in names(&admin.list(Some(&format!("{server}!"))).unwrap()) {
        admin.delete(&name).unwrap();
    }
    admin
        .activate("user.alice.Stale", &backend.location(), "alice\tlr\t")
        .unwrap();
    admin
        .activate("user.alice.Sent", &backend.location(), "alice\tl\t")
        .unwrap();
    admin
        .activate("user.carol", "127.0.0.1:1!default", "carol\tlr\t")
        .unwrap();
    admin.logout();
    let before = table(&ep.list(None));

    // Dry run: says what it would do, changes nothing.
    let dry = backend.push(true);
    assert!(
        dry.stdout
            .lines()
            .any(|l| l == "Remove from MUPDATE: user.alice.Stale"),
        "{}",
        dry.stdout
    );
    let mut would: Vec<&str> = force_activated(&dry.stdout);
    would.sort_unstable();
    let expected: Vec<&str> = local.keys().map(String::as_str).collect();
    assert_eq!(would, expected, "{}", dry.stdout);
    assert_eq!(
        table(&ep.list(None)),
        before,
        "a dry run changed the master"
    );

    // The push: the master now holds exactly the backend's mailboxes, in its DB order.
    backend.push(false);
    let listed = ep.list(Some(&format!("{server}!")));
    assert_eq!(table(&listed), local, "{}", master.logs());
    let dump_order: Vec<String> = (backend.instance.dump().into_iter())
        .filter(|e| !e.mbtype.contains('d'))
        .map(|e| e.name)
        .collect();
    assert_eq!(names(&listed), dump_order, "LIST order is not the DB order");
    assert_eq!(
        find(&ep, "user.carol"),
        mailbox("127.0.0.1:1!default", "carol\tlr\t")
    );
    let entry = &local["user.alice.a b"];
    assert_eq!(entry.location, backend.location());
    assert_eq!(
        entry.acl.as_deref(),
        Some(format!("alice\t{OWNER}\tbob\tlr\t").as_str())
    );

    // A second push finds nothing to do.
    let again = backend.push(true);
    assert_eq!(again.stdout.trim(), "", "second dry run wants changes");
    backend.push(false);
    assert_eq!(table(&ep.list(Some(&format!("{server}!")))), local);
}

fn live_operations_reach_the_master(kind: Kind) {
    let master = start_master(kind);
    let ep = master.endpoint();
    let backend = CyrusBackend::start(Some(&ep));
    let location = backend.location();
    // Where Cyrus says a renamed mailbox lives: no partition (reference/murder.md §8).
    let no_partition = format!("{}!", backend.servername());

    let mut admin = backend.imap("admin");
    admin.create("user.alice").unwrap();
    admin.logout();
    let owner_acl = format!("alice\t{OWNER}\t");
    assert_eq!(find(&ep, "user.alice"), mailbox(&location, &owner_acl));

    let mut alice = backend.imap("alice");
    alice.create("INBOX.Work").unwrap();
    alice.create("INBOX.Work.Sub").unwrap();
    assert_eq!(find(&ep, "user.alice.Work"), mailbox(&location, &owner_acl));

    alice.rename("INBOX.Work", "INBOX.Play").unwrap();
    assert_eq!(find(&ep, "user.alice.Work"), None);
    assert_eq!(find(&ep, "user.alice.Work.Sub"), None);
    assert_eq!(
        find(&ep, "user.alice.Play"),
        mailbox(&no_partition, &owner_acl)
    );
    assert_eq!(
        find(&ep, "user.alice.Play.Sub"),
        mailbox(&no_partition, &owner_acl)
    );

    alice.setacl("INBOX.Play", "bob", "lr").unwrap();
    assert_eq!(
        find(&ep, "user.alice.Play"),
        mailbox(&location, &format!("alice\t{OWNER}\tbob\tlr\t"))
    );

    alice.delete("INBOX.Play.Sub").unwrap();
    assert_eq!(find(&ep, "user.alice.Play.Sub"), None);
    alice.logout();
    let listed = names(&ep.list(Some(&format!("{}!", backend.servername()))));
    assert!(
        listed
            .iter()
            .any(|n| n.starts_with("DELETED.user.alice.Play.Sub.")),
        "no delayed-delete name on the master: {listed:?}"
    );

    // After a start-up push the master and the backend agree byte for byte.
    backend.push(false);
    assert_eq!(
        master_table(&ep, backend.servername()),
        backend.table(),
        "{}",
        master.logs()
    );
}

fn slave_follows_the_master(kind: Kind) {
    let master = start_master(kind);
    let ep = master.endpoint();
    let backend = CyrusBackend::start(Some(&ep));
    populate(&backend);
    backend.push(false);

    // The initial sync.
    let slave = CyrusSlave::start(&ep);
    let everything = table(&ep.list(None));
    assert_eq!(everything.len(), 7);
    assert_eq!(slave.table(), everything, "{}", slave.instance.logs());

    // Live changes stream to it (Cyrus batches every 5 s).
    let mut alice = backend.imap("alice");
    alice.create("INBOX.Late").unwrap();
    alice.delete("INBOX.Sent-Items").unwrap();
    alice.logout();
    let expected = table(&ep.list(None));
    assert!(expected.contains_key("user.alice.Late"));
    assert!(!expected.contains_key("user.alice.Sent-Items"));
    let synced = wait_until(Duration::from_secs(15), || {
        (slave.table() == expected).then_some(())
    });
    assert!(
        synced.is_some(),
        "slave {:?}\nmaster {expected:?}\n{}",
        slave.table(),
        slave.instance.logs()
    );

    // The slave serves the same table over MUPDATE, and refuses writes.
    assert_eq!(table(&slave.endpoint().list(None)), expected);
    let transcript = mupdatetest(
        &slave.endpoint(),
        "X1 FIND \"user.alice.Late\"\nX2 DELETE \"user.alice.Late\"\n",
    );
    assert!(transcript.contains("* OK MUPDATE"), "{transcript}");
    assert!(transcript.contains("X1 MAILBOX"), "{transcript}");
    assert!(
        transcript.contains("X2 BAD \"read-only session\""),
        "{transcript}"
    );
}

fn mupdatetest_talks_to_the_master(kind: Kind) {
    let master = start_master(kind);
    let ep = master.endpoint();
    let transcript = mupdatetest(
        &ep,
        "X1 ACTIVATE \"user.dave\" \"127.0.0.1:1!default\" \"dave\tlr\t\"\nX2 FIND \"user.dave\"\nX3 FIND user.dave\n",
    );
    assert!(
        transcript.contains("A01 OK \"Authenticated\""),
        "{transcript}"
    );
    assert!(transcript.contains("X1 OK \"done\""), "{transcript}");
    assert!(transcript.contains("X2 MAILBOX {9+}"), "{transcript}");
    assert!(
        transcript.contains("X2 OK \"Search completed\""),
        "{transcript}"
    );
    // Cyrus reads arguments as strings only and refuses a bare atom; corvid takes it.
    match kind {
        Kind::Cyrus => assert!(transcript.contains("X3 BAD"), "{transcript}"),
        Kind::Corvid => assert!(
            transcript.contains("X3 OK \"Search completed\""),
            "{transcript}"
        ),
    }
    assert!(transcript.contains("Q01 OK \"bye-bye\""), "{transcript}");
    assert_eq!(
        find(&ep, "user.dave"),
        mailbox("127.0.0.1:1!default", "dave\tlr\t")
    );
}

/// The same `mupdatetest` session against both masters gives the same answers, byte for byte
/// (reference/murder.md §7 T4). The script avoids what crashes Cyrus 3.6.1's master (DEACTIVATE
/// of a missing or same-location reserved name, DELETE of a missing name: §4.1, 8) and what
/// corvid accepts on purpose (bare atoms).
#[test]
fn mupdatetest_answers_match_cyrus() {
    let script = "X1 FIND \"user.none\"\n\
                  X2 ACTIVATE \"user.a\" \"127.0.0.1:1!p\" \"a\tlrs\t\"\n\
                  X3 RESERVE \"user.a\" \"127.0.0.1:2!p\"\n\
                  X4 RESERVE \"user.b\" \"127.0.0.1:1!p\"\n\
                  X5 FIND \"user.b\"\n\
                  X6 ACTIVATE \"user.a.Sent-Items\" \"127.0.0.1:1!p\" \"a\tlrs\t\"\n\
                  X7 ACTIVATE \"user.a.Sent\" \"127.0.0.1:1!p\" \"a\tlrs\tb\tlr\t\"\n\
                  X8 ACTIVATE \"user.a.Sent.x\" \"127.0.0.1:1!\" \"\"\n\
                  X9 LIST \"127.0.0.1:1!\"\n\
                  X10 DEACTIVATE \"user.a.Sent\" \"127.0.0.1:2!p\"\n\
                  X11 DEACTIVATE \"user.a.Sent\" \"127.0.0.1:2!q\"\n\
                  X12 FIND \"user.a.Sent\"\n\
                  X13 DELETE \"user.b\"\n\
                  X14 FROB\n\
                  X15 FIND\n\
                  X16 FIND \"a\" \"b\"\n\
                  X17 NOOP\n\
                  X18 LIST\n";
    let answers = |master: &dyn MupdateMaster| {
        let transcript = mupdatetest(&master.endpoint(), script);
        let start = transcript
            .find("Security strength factor")
            .unwrap_or_else(|| panic!("no login in {transcript}"));
        transcript[start..]
            .lines()
            .skip(1)
            .filter(|line| !line.starts_with("C: "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ours = answers(&*start_master(Kind::Corvid));
    let theirs = answers(&*start_master(Kind::Cyrus));
    assert!(ours.contains("X18 OK \"list complete\""), "{ours}");
    assert_eq!(ours, theirs);
}
