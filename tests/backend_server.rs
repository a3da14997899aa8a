//! `corvid backend` end to end: the binary on a free port with a fresh store, against a real
//! `corvid mupdate` where the test is about the master. Greeting and logins, CREATE reaching
//! the master at `server!partition`, a restart that keeps the mailboxes and the master in
//! step, a master that refuses, and IDLE seeing another session's APPEND.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::backend::{BackendOptions, CorvidBackend};
use support::corvid::CorvidMaster;
use support::{Entry, ImapClient, MupdateMaster, RawClient, table, wait_until};

const JOHN: (&str, &str) = ("john", "john-secret");
/// The backend's login on the master: a backend role that may write only `be1`'s entries.
const BE1_LOGIN: &str = "be1:be1-secret";

fn options(master: Option<&CorvidMaster>) -> BackendOptions {
    BackendOptions {
        server: "be1".into(),
        users: vec![(JOHN.0.into(), JOHN.1.into())],
        master: master.map(|m| (m.addr(), BE1_LOGIN.into())),
        extra: Vec::new(),
        ..BackendOptions::default()
    }
}

/// A master that knows `be1` as a backend.
fn master() -> CorvidMaster {
    CorvidMaster::start_with(&["--backend", &format!("{BE1_LOGIN}:be1")])
}

/// John's session, with his INBOX made (a fresh store may not have it yet).
fn john(backend: &CorvidBackend) -> ImapClient {
    let mut client = ImapClient::login(&backend.addr(), JOHN.0, JOHN.1).unwrap();
    let _ = client.command("CREATE INBOX");
    client
}

/// The master's entry for `name`, once it has one.
fn entry_at(master: &CorvidMaster, name: &str) -> Option<Entry> {
    table(&master.endpoint().list(None)).remove(name)
}

#[test]
fn greets_and_checks_passwords() {
    let backend = CorvidBackend::start(options(None));
    let mut client = ImapClient::connect(&backend.addr()).unwrap();
    assert!(client.greeting.contains("IMAP4rev1"), "{}", client.greeting);
    let (_, refused) = client.command("LOGIN john wrong-password").unwrap();
    assert!(refused.starts_with("c1 NO"), "{refused}");
    let (_, unknown) = client.command("LOGIN nobody john-secret").unwrap();
    assert!(unknown.starts_with("c2 NO"), "{unknown}");
    client.ok("LOGIN john john-secret").unwrap();
    client.logout();
}

#[test]
fn create_reaches_the_master_and_survives_a_restart() {
    let master = master();
    let mut backend = CorvidBackend::start(options(Some(&master)));
    let mut client = john(&backend);
    client.create("Sent").unwrap();
    client.logout();
    let sent = entry_at(&master, "user.john.Sent").expect("CREATE registered with the master");
    assert_eq!(sent.location, "be1!default");
    assert!(sent.acl.is_some(), "activated, not only reserved: {sent:?}");

    // While the backend is down, the master loses the entry; the restarted backend keeps
    // its mailbox and pushes it again at its start-up reconcile.
    assert!(backend.stop(), "clean stop on SIGTERM:\n{}", backend.logs());
    master
        .endpoint()
        .connect()
        .unwrap()
        .delete("user.john.Sent")
        .unwrap();
    assert_eq!(entry_at(&master, "user.john.Sent"), None);
    backend.start_again();
    let mut client = john(&backend);
    let listed = client.ok("LIST \"\" \"*\"").unwrap();
    assert!(
        listed
            .iter()
            .any(|line| line.ends_with("Sent") || line.ends_with("\"Sent\"")),
        "{listed:?}"
    );
    client.logout();
    let back = wait_until(Duration::from_secs(10), || {
        entry_at(&master, "user.john.Sent")
    });
    assert_eq!(
        back,
        Some(sent),
        "the master is in step again:\n{}",
        backend.logs()
    );
}

#[test]
fn a_name_the_master_places_elsewhere_cannot_be_created() {
    let master = master();
    master
        .endpoint()
        .connect()
        .unwrap()
        .activate("user.john.Taken", "be2!default", "john\tlrswipkxtecda\t")
        .unwrap();
    let backend = CorvidBackend::start(options(Some(&master)));
    let mut client = john(&backend);
    let (_, answer) = client.command("CREATE Taken").unwrap();
    assert_eq!(answer.split(' ').nth(1), Some("NO"), "{answer}");
    let listed = client.ok("LIST \"\" \"*\"").unwrap();
    assert!(
        !listed.iter().any(|line| line.contains("Taken")),
        "{listed:?}"
    );
    client.logout();
    let taken = entry_at(&master, "user.john.Taken").unwrap();
    assert_eq!(taken.location, "be2!default");
}

#[test]
fn idle_sees_an_append_from_another_session() {
    let backend = CorvidBackend::start(options(None));
    john(&backend).logout();
    let mut idler = RawClient::connect(&backend.addr()).unwrap();
    let greeting = idler.read_until(b"\r\n", Duration::from_secs(5));
    assert!(greeting.starts_with(b"* OK"));
    idler.send(b"a LOGIN john john-secret\r\n").unwrap();
    until_tagged(&mut idler, "a");
    idler.send(b"b SELECT INBOX\r\n").unwrap();
    let selected = until_tagged(&mut idler, "b");
    assert!(selected.contains("* 0 EXISTS"), "{selected}");
    idler.send(b"c IDLE\r\n").unwrap();
    let idling =
        String::from_utf8_lossy(&idler.read_until(b"\r\n", Duration::from_secs(5))).into_owned();
    assert!(idling.starts_with("+ "), "{idling}");

    let message = "From: jane@example.net\r\nSubject: hi\r\n\r\nhello\r\n";
    let mut appender = ImapClient::login(&backend.addr(), JOHN.0, JOHN.1).unwrap();
    appender
        .ok(&format!("APPEND INBOX {{{}+}}\r\n{message}", message.len()))
        .unwrap();
    appender.logout();

    let news =
        String::from_utf8_lossy(&idler.read_until(b"\r\n", Duration::from_secs(5))).into_owned();
    assert!(news.contains("* 1 EXISTS"), "{news}");
    idler.send(b"DONE\r\n").unwrap();
    let done = until_tagged(&mut idler, "c");
    assert!(done.contains("c OK"), "{done}");
}

/// Reads until the tagged response of `tag`; returns everything read.
fn until_tagged(client: &mut RawClient, tag: &str) -> String {
    let mut read = String::new();
    let tagged = format!("{tag} ");
    while !read.lines().any(|line| line.starts_with(&tagged)) {
        let more = client.read_until(b"\r\n", Duration::from_secs(10));
        assert!(!more.is_empty(), "no tagged answer to {tag}: {read}");
        read.push_str(&String::from_utf8_lossy(&more));
    }
    read
}
