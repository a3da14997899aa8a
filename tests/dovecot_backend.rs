//! Real Dovecot 2.3 backends as the proxy's end-to-end tests use them (tests/support/dovecot.rs):
//! two at once, end users and the proxy's master user, the capabilities and namespaces the proxy
//! relies on, mail delivered while a client watches, and python3's imaplib as a client.
//!
//! Needs Dovecot unpacked by `ci/install-peers` and root; every server is started here on
//! 127.0.0.1 and stopped by pid.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{IO_TIMEOUT, ImapClient, RawClient, imap_greets, run_bounded, wait_until};

const USERS: [(&str, &str); 2] = [("alice", "alice-secret"), ("bob", "bob-secret")];

/// A message with CRLF line ends, as Dovecot gives it back.
const MESSAGE: &[u8] = b"From: carol@example.org\r\nTo: alice@example.org\r\n\
Subject: corvid test\r\nMessage-ID: <1@corvid.test>\r\n\r\nFirst line.\r\n\r\n\
A line with trailing space \r\n.\r\nLast line.\r\n";

fn start(name: &str) -> Dovecot {
    Dovecot::start(name, &USERS)
}

/// Logs in to `dovecot` as the master user on behalf of `user` (SASL PLAIN, authzid = user).
fn as_proxy(dovecot: &Dovecot, user: &str) -> ImapClient {
    let mut client = ImapClient::connect(&dovecot.addr()).unwrap();
    client
        .authenticate_plain(user, MASTER_USER, MASTER_PASSWORD)
        .unwrap_or_else(|e| panic!("master login as {user}: {e}\n{}", dovecot.logs()));
    client
}

/// The mailbox names of a `LIST "" "*"`, sorted.
fn list(client: &mut ImapClient) -> Vec<String> {
    let mut names: Vec<String> = client
        .ok(r#"LIST "" "*""#)
        .unwrap()
        .iter()
        .filter_map(|line| line.strip_prefix("* LIST "))
        .map(|rest| {
            let name = rest.rsplit_once(r#""/" "#).unwrap().1;
            name.trim_matches('"').to_owned()
        })
        .collect();
    names.sort();
    names
}

/// SELECTs `mailbox` and returns the number in its `* N EXISTS`.
fn exists(client: &mut ImapClient, mailbox: &str) -> u32 {
    client
        .ok(&format!("SELECT {}", support::imap_quote(mailbox)))
        .unwrap()
        .iter()
        .find_map(|l| l.strip_prefix("* ")?.strip_suffix(" EXISTS")?.parse().ok())
        .unwrap()
}

#[test]
fn two_instances_run_at_once_each_with_its_own_mail() {
    let (one, two) = std::thread::scope(|s| {
        let one = s.spawn(|| start("one"));
        let two = s.spawn(|| start("two"));
        (one.join().unwrap(), two.join().unwrap())
    });
    assert_ne!(one.port(), two.port());
    one.create_mailbox("alice", "OnlyOnOne");
    let mut on_one = ImapClient::login(&one.addr(), "alice", "alice-secret").unwrap();
    let mut on_two = ImapClient::login(&two.addr(), "alice", "alice-secret").unwrap();
    assert_eq!(list(&mut on_one), ["INBOX", "OnlyOnOne"]);
    assert_eq!(list(&mut on_two), ["INBOX"]);
    assert!(ImapClient::login(&two.addr(), "alice", "bob-secret").is_err());
    assert!(ImapClient::login(&two.addr(), "mallory", "x").is_err());
}

#[test]
fn master_user_acts_as_the_user() {
    let dovecot = start("master");
    dovecot.create_mailbox("alice", "Work");
    dovecot.append("alice", "INBOX", MESSAGE);
    dovecot.create_mailbox("bob", "BobsOwn");

    // SASL PLAIN with authzid = the user: alice's mailboxes, with alice's rights.
    let mut client = as_proxy(&dovecot, "alice");
    assert_eq!(exists(&mut client, "INBOX"), 1);
    assert_eq!(list(&mut client), ["INBOX", "Work"]);
    let rights = client.ok("MYRIGHTS INBOX").unwrap();
    assert_eq!(rights, ["* MYRIGHTS INBOX lrwstipekxacd"]);
    client.logout();

    // The LOGIN form, user*master.
    let mut client = ImapClient::login(
        &dovecot.addr(),
        &format!("bob*{MASTER_USER}"),
        MASTER_PASSWORD,
    )
    .unwrap();
    assert_eq!(exists(&mut client, "INBOX"), 0);
    assert_eq!(list(&mut client), ["BobsOwn", "INBOX"]);
}

#[test]
fn master_user_is_refused_with_a_wrong_password_an_unknown_user_or_as_itself() {
    let dovecot = start("refusals");
    let refused = |authzid: &str, user: &str, password: &str| {
        let mut client = ImapClient::connect(&dovecot.addr()).unwrap();
        let err = client
            .authenticate_plain(authzid, user, password)
            .unwrap_err();
        assert!(
            err.to_string().contains("NO"),
            "{authzid}/{user}: {err}\n{}",
            dovecot.logs()
        );
    };
    refused("alice", MASTER_USER, "wrong");
    refused("nobody", MASTER_USER, MASTER_PASSWORD);
    refused("", MASTER_USER, MASTER_PASSWORD);
    // An end user is no master user.
    refused("alice", "bob", "bob-secret");
    assert!(ImapClient::login(&dovecot.addr(), MASTER_USER, MASTER_PASSWORD).is_err());
}

#[test]
fn capabilities_and_namespaces_are_what_the_proxy_expects() {
    let dovecot = start("caps");
    let mut client = as_proxy(&dovecot, "alice");
    let caps = client.ok("CAPABILITY").unwrap();
    let caps: Vec<&str> = caps[0].split(' ').collect();
    for cap in [
        "IMAP4rev1",
        "LITERAL+",
        "IDLE",
        "UIDPLUS",
        "MOVE",
        "NAMESPACE",
        "ACL",
    ] {
        assert!(caps.contains(&cap), "{cap} missing from {caps:?}");
    }
    assert_eq!(
        client.ok("NAMESPACE").unwrap(),
        [r#"* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))"#]
    );
}

#[test]
fn acl_sharing_shows_in_other_users_and_shared_folders() {
    let dovecot = start("acl");
    dovecot.create_mailbox("alice", "Team");
    dovecot.append("alice", "Team", MESSAGE);
    let mut alice = as_proxy(&dovecot, "alice");
    alice.setacl("Team", "bob", "lr").unwrap();
    assert_eq!(
        alice.ok("GETACL Team").unwrap(),
        ["* ACL Team bob lr alice lrwstipekxacd"]
    );
    alice.create("Shared Folders/news").unwrap();

    let mut bob = as_proxy(&dovecot, "bob");
    assert_eq!(
        list(&mut bob),
        [
            "INBOX",
            "Other Users",
            "Other Users/alice",
            "Other Users/alice/Team",
            "Shared Folders",
            "Shared Folders/news"
        ]
    );
    assert_eq!(
        bob.ok(r#"MYRIGHTS "Other Users/alice/Team""#).unwrap(),
        [r#"* MYRIGHTS "Other Users/alice/Team" lr"#]
    );
    let examine = bob.ok(r#"EXAMINE "Other Users/alice/Team""#).unwrap();
    assert!(examine.contains(&"* 1 EXISTS".to_owned()), "{examine:?}");
    // bob may read alice's mailbox but not change it.
    assert!(bob.create("Other Users/alice/Team/sub").is_err());
    assert!(bob.ok(r#"DELETE "Other Users/alice/Team""#).is_err());
}

#[test]
fn delivered_mail_is_fetched_byte_for_byte_and_seen_by_an_idle_client() {
    let dovecot = start("deliver");
    // Dots and hierarchy in names (maildir LAYOUT=fs).
    dovecot.create_mailbox("alice", "Lists/rust.users");
    assert_eq!(
        dovecot.mailboxes("alice"),
        ["INBOX", "Lists", "Lists/rust.users"]
    );

    // A client IDLEs on the mailbox while a message is delivered.
    let mut watcher = RawClient::connect(&dovecot.addr()).unwrap();
    watcher.read_until(b"\r\n", IO_TIMEOUT);
    watcher
        .send(b"a LOGIN alice alice-secret\r\nb SELECT Lists/rust.users\r\nc IDLE\r\n")
        .unwrap();
    let opened = watcher.read_until(b"+ idling\r\n", IO_TIMEOUT);
    assert!(
        opened.ends_with(b"+ idling\r\n"),
        "{}",
        String::from_utf8_lossy(&opened)
    );
    dovecot.append("alice", "Lists/rust.users", MESSAGE);
    let mut seen = String::new();
    let arrived = wait_until(IO_TIMEOUT, || {
        seen.push_str(&String::from_utf8_lossy(
            &watcher.read_for(Duration::from_millis(50)),
        ));
        seen.contains("* 1 EXISTS\r\n").then_some(())
    });
    assert!(arrived.is_some(), "the IDLE client saw: {seen}");
    watcher.send(b"DONE\r\n").unwrap();

    let mut client = as_proxy(&dovecot, "alice");
    assert_eq!(exists(&mut client, "Lists/rust.users"), 1);
    let fetched = client.ok("FETCH 1 BODY.PEEK[]").unwrap();
    let expected = format!(
        "* 1 FETCH (BODY[] {{{}}}\r\n{})",
        MESSAGE.len(),
        String::from_utf8_lossy(MESSAGE)
    );
    assert_eq!(fetched, [expected]);
}

#[test]
fn kill_drops_connections_and_drop_leaves_no_process() {
    let mut dovecot = start("kill");
    let group = dovecot.pid().unwrap();
    let mut client = ImapClient::login(&dovecot.addr(), "alice", "alice-secret").unwrap();
    dovecot.kill();
    assert!(client.command("NOOP").is_err());
    assert!(!imap_greets(&dovecot.addr()));
    assert!(gone_within(group, Duration::from_secs(5)));

    let dovecot = start("drop");
    let group = dovecot.pid().unwrap();
    let addr = dovecot.addr();
    drop(dovecot);
    assert!(gone_within(group, Duration::from_secs(5)));
    assert!(!imap_greets(&addr));
}

/// Whether process group `pgid` is empty within `bound` (killed processes may linger a moment
/// as zombies until they are reaped).
fn gone_within(pgid: u32, bound: Duration) -> bool {
    let alive = || {
        Command::new("kill")
            .args(["-0", "--", &format!("-{pgid}")])
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    wait_until(bound, || (!alive()).then_some(())).is_some()
}

/// Set in the child process that [`instance_stops_when_the_test_process_dies`] starts.
const ORPHAN_ENV: &str = "CORVID_DOVECOT_ORPHAN";

#[test]
fn instance_stops_when_the_test_process_dies() {
    if std::env::var_os(ORPHAN_ENV).is_some() {
        // The child: start an instance, say where it is, and wait to be SIGKILLed.
        let dovecot = start("orphan");
        let dir = dovecot.dir().display().to_string();
        println!("orphan {} {} {dir}", dovecot.pid().unwrap(), dovecot.port());
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "instance_stops_when_the_test_process_dies",
            "--nocapture",
        ])
        .env(ORPHAN_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let announced = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            let mut fields = line.strip_prefix("orphan ")?.split(' ');
            let pgid: u32 = fields.next()?.parse().ok()?;
            let port: u16 = fields.next()?.parse().ok()?;
            Some((pgid, port, fields.next()?.to_owned()))
        });
    child.kill().unwrap();
    child.wait().unwrap();
    let (group, port, dir) = announced.expect("the child started an instance");
    // Dovecot's graceful shutdown (SIGTERM from its supervisor) takes a few seconds.
    assert!(gone_within(group, Duration::from_secs(20)));
    assert!(!imap_greets(&format!("127.0.0.1:{port}")));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn python_imaplib_logs_in_as_the_user_and_through_the_master_user() {
    let dovecot = start("python");
    dovecot.append("alice", "INBOX", MESSAGE);
    let script = format!(
        r#"
import imaplib
m = imaplib.IMAP4("127.0.0.1", {port})
m.login("alice", "alice-secret")
print(m.select("INBOX"))
m.logout()
m = imaplib.IMAP4("127.0.0.1", {port})
m.authenticate("PLAIN", lambda _: b"alice\0{MASTER_USER}\0{MASTER_PASSWORD}")
print(m.select("INBOX"))
print(m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")[1][0][1])
m.logout()
"#,
        port = dovecot.port()
    );
    let out = run_bounded(
        Command::new("python3").args(["-c", &script]),
        b"",
        Duration::from_secs(30),
    )
    .expect("run python3");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dovecot.logs()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "('OK', [b'1'])\n('OK', [b'1'])\nb'Subject: corvid test\\r\\n\\r\\n'\n"
    );
}
