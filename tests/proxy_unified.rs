//! The unified topology through `corvid proxy`: be1 runs on the proxy's host and is reached
//! over its Unix socket only (it has no TCP listener), be2 over TCP, both corvid reference
//! backends registering with a `corvid mupdate` master.
//!
//! john (INBOX on be1) logs in through the proxy, SELECTs and FETCHes his INBOX and COPYs a
//! message to jane's INBOX on be2, which she shares with him; be1's socket shows the proxy's
//! connection. A crashed be1 leaves its socket file behind and starts again all the same; a
//! clean stop removes the file.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use support::backend::{BackendOptions, CorvidBackend, master_for_two, registered};
use support::corvid::CorvidProxy;
use support::{ImapClient, exists, imap_quote, wait_until};

const JOHN: (&str, &str) = ("john", "john-pw");
const JANE: (&str, &str) = ("jane", "jane-pw");
const PROXY: (&str, &str) = ("proxy", "proxy-pw");

/// Connections accepted on the Unix socket at `path` and still open, from /proc/net/unix (an
/// accepted socket shows its listener's path; the listener itself is flagged `__SO_ACCEPTCON`).
fn connections_at(path: &Path) -> usize {
    let path = path.display().to_string();
    std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Num RefCount Protocol Flags Type St Inode Path
            fields.len() == 8 && fields[7] == path && fields[3] != "00010000" && fields[5] == "03"
        })
        .count()
}

#[test]
fn a_backend_on_the_proxys_host_is_reached_over_its_unix_socket() {
    let master = master_for_two();
    let users = [JOHN, JANE, PROXY];
    let extra = ["--proxy-user", PROXY.0];
    let mut be1 = CorvidBackend::start(BackendOptions {
        unix_only: true,
        ..registered(&master, "be1", &users, &extra)
    });
    let be2 = CorvidBackend::start(registered(&master, "be2", &users, &extra));
    let socket = be1.socket_path();
    assert!(
        std::net::TcpStream::connect(be1.addr()).is_err(),
        "be1 listens on its Unix socket only"
    );

    // john's INBOX is made on be1 (over its socket) with one message; jane shares hers.
    let mut john = ImapClient::connect_unix(&socket)
        .unwrap()
        .logged_in(JOHN.0, JOHN.1)
        .unwrap();
    let message = "From: john@example.com\r\nSubject: over the socket\r\n\r\nhello jane\r\n";
    john.ok(&format!(
        "APPEND INBOX (\\Flagged) {{{}+}}\r\n{message}",
        message.len()
    ))
    .unwrap();
    john.logout();
    let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
    jane.setacl("INBOX", JOHN.0, "lrsi").unwrap();
    jane.logout();

    let proxy = CorvidProxy::start(
        &master.addr(),
        &[
            ("be1", format!("unix:{}", socket.display())),
            ("be2", be2.addr()),
        ],
        &format!("{}:{}", PROXY.0, PROXY.1),
        &[],
    );
    let shared = imap_quote("Other Users/jane");
    let john = wait_until(Duration::from_secs(20), || {
        let mut john = ImapClient::login(&proxy.addr(), JOHN.0, JOHN.1).ok()?;
        john.ok(&format!("EXAMINE {shared}")).ok()?;
        Some(john)
    });
    let mut john = john.unwrap_or_else(|| panic!("john never saw jane's INBOX:\n{}", proxy.logs()));
    assert_eq!(
        connections_at(&socket),
        1,
        "the proxy's link to be1 is over be1's socket"
    );

    let selected = john.ok("SELECT INBOX").unwrap();
    assert_eq!(exists(&selected), Some(1), "{selected:?}");
    let fetched = john
        .ok("FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        .unwrap()
        .concat();
    assert!(fetched.contains("\\Flagged"), "{fetched}");
    assert!(fetched.contains("Subject: over the socket"), "{fetched}");
    let (untagged, tagged) = john.command(&format!("COPY 1 {shared}")).unwrap();
    assert!(tagged.contains(" OK [COPYUID "), "{tagged}\n{untagged:?}");
    john.logout();
    assert!(proxy.metric_total("backend_connects") >= 2);

    let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
    let selected = jane.ok("SELECT INBOX").unwrap();
    assert_eq!(exists(&selected), Some(1), "{selected:?}");
    let copied = jane.ok("FETCH 1 (FLAGS BODY.PEEK[])").unwrap().concat();
    assert!(copied.contains("\\Flagged"), "{copied}");
    assert!(copied.contains("hello jane"), "{copied}");
    jane.logout();

    // A crash leaves the socket file behind; be1 starts again over it, and the proxy reaches it.
    be1.kill();
    assert!(socket.exists(), "a killed backend leaves its socket file");
    be1.start_again();
    let again = wait_until(Duration::from_secs(10), || {
        let mut john = ImapClient::login(&proxy.addr(), JOHN.0, JOHN.1).ok()?;
        let selected = john.ok("EXAMINE INBOX").ok()?;
        john.logout();
        exists(&selected)
    });
    assert_eq!(again, Some(1), "{}", be1.logs());
    assert!(be1.logs().contains("removing a stale socket file"));

    assert!(be1.stop(), "a clean stop:\n{}", be1.logs());
    assert!(!socket.exists(), "a clean stop removes the socket file");
}
