//! `corvid proxy` end to end, in front of two real Dovecot backends (master-user login) with a
//! `corvid mupdate` master saying where each user's mailboxes live: logins verified by the
//! INBOX backend, SELECT moving between backends with the right untagged data, FETCH byte for
//! byte as direct, unknown mailboxes, a backend killed under a session, hostile input.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use support::corvid::{CorvidMaster, CorvidProxy};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{ImapClient, MupdateMaster, RawClient, exists, wait_until};

/// Two backends, a master, a proxy: alice's INBOX on be1 and her Archive on be2; bob on be2.
struct Murder {
    be1: Dovecot,
    be2: Dovecot,
    master: CorvidMaster,
    proxy: CorvidProxy,
}

const USERS: &[(&str, &str)] = &[("alice", "alice-pw"), ("bob", "bob-pw")];

/// A message with CRLF line ends (Dovecot gives them back byte for byte).
fn message(subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: carol@example.com\r\nTo: alice@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

impl Murder {
    fn start() -> Murder {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Murder {
        Self::start_with_password(extra, "bob-pw")
    }

    /// With `extra` flags; `bob_password` is bob's password as the proxy checks it.
    fn start_with_password(extra: &[&str], bob_password: &str) -> Murder {
        let be1 = Dovecot::start("be1", USERS);
        let be2 = Dovecot::start("be2", USERS);
        be1.append("alice", "INBOX", &message("one", "first on be1"));
        be1.append("alice", "INBOX", &message("two", "second on be1"));
        be2.create_mailbox("alice", "Archive");
        be2.append("alice", "Archive", &message("old", "archived on be2"));
        be2.append("bob", "INBOX", &message("hi bob", "bob's on be2"));
        let master = CorvidMaster::start();
        let mut admin = master.endpoint().connect().unwrap();
        admin
            .activate("user.alice", "be1!default", "alice\tlrswipkxtecda\t")
            .unwrap();
        admin
            .activate(
                "user.alice.Archive",
                "be2!default",
                "alice\tlrswipkxtecda\t",
            )
            .unwrap();
        admin
            .activate("user.bob", "be2!default", "bob\tlrswipkxtecda\t")
            .unwrap();
        admin.logout();
        let proxy_user = format!("{MASTER_USER}:{MASTER_PASSWORD}");
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &proxy_user,
            extra,
        );
        let murder = Murder {
            be1,
            be2,
            master,
            proxy,
        };
        // The proxy's follower has the table once a login succeeds.
        let ready = wait_until(Duration::from_secs(10), || {
            ImapClient::login(&murder.proxy.addr(), "bob", bob_password).ok()
        });
        assert!(
            ready.is_some(),
            "no login through the proxy:\n{}",
            murder.proxy.logs()
        );
        murder
    }

    fn login(&self, user: &str) -> std::io::Result<ImapClient> {
        let password = USERS.iter().find(|(u, _)| *u == user).unwrap().1;
        ImapClient::login(&self.proxy.addr(), user, password)
    }
}

#[test]
fn select_moves_between_backends_and_fetches_byte_for_byte() {
    let murder = Murder::start();
    let mut client = murder.login("alice").unwrap();
    assert!(client.greeting.contains("IMAP4rev1"), "{}", client.greeting);

    let inbox = client.ok("SELECT INBOX").unwrap();
    assert_eq!(exists(&inbox), Some(2), "alice's INBOX on be1: {inbox:?}");
    let archive = client.ok("SELECT Archive").unwrap();
    assert_eq!(
        exists(&archive),
        Some(1),
        "alice's Archive on be2: {archive:?}"
    );

    // The same FETCH, direct to be2 and through the proxy, byte for byte.
    let through = client.ok("FETCH 1 (UID RFC822.SIZE BODY.PEEK[])").unwrap();
    let mut direct = ImapClient::login(&murder.be2.addr(), "alice", "alice-pw").unwrap();
    direct.ok("SELECT Archive").unwrap();
    let expected = direct.ok("FETCH 1 (UID RFC822.SIZE BODY.PEEK[])").unwrap();
    assert_eq!(through, expected);
    assert!(through.concat().contains("archived on be2"), "{through:?}");

    // Back to be1: the INBOX is there again.
    let inbox = client.ok("EXAMINE INBOX").unwrap();
    assert_eq!(exists(&inbox), Some(2), "{inbox:?}");
    let fetched = client
        .ok("FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .unwrap();
    assert!(fetched.concat().contains("Subject: two"), "{fetched:?}");

    // A mailbox the table does not know.
    let (_, tagged) = client.command("SELECT Nowhere").unwrap();
    assert!(tagged.contains("NO [NONEXISTENT]"), "{tagged}");
    client.logout();

    // The NOC's view: per-core counters on the admin endpoint, and `corvid stats`.
    let metrics = http_get(&murder.proxy.admin_addr(), "/metrics");
    let total = |prefix: &str| -> u64 {
        metrics
            .lines()
            .filter(|line| line.starts_with(prefix))
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    assert!(total("corvid_proxy_commands_total{") >= 8, "{metrics}");
    assert!(total("corvid_proxy_logins_total{") >= 2, "{metrics}");
    assert!(
        total("corvid_proxy_backend_connects_total{") >= 2,
        "{metrics}"
    );
    assert!(
        total("corvid_proxy_client_written_bytes_total{") > 300,
        "{metrics}"
    );
    let selects: u64 = metrics
        .lines()
        .filter(|line| {
            line.starts_with("corvid_proxy_commands_total{") && line.contains("command=\"SELECT\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!(selects >= 3, "{metrics}");
    let stats = std::process::Command::new(env!("CARGO_BIN_EXE_corvid"))
        .args(["stats", "--admin", &murder.proxy.admin_addr()])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&stats.stdout);
    assert!(stats.status.success() && table.contains("total"), "{table}");
}

/// The body of an HTTP GET on the admin endpoint.
fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").unwrap().1.to_string()
}

#[test]
fn logins_are_verified_by_the_inbox_backend() {
    let murder = Murder::start();
    let mut bob = murder.login("bob").unwrap();
    let inbox = bob.ok("SELECT INBOX").unwrap();
    assert_eq!(exists(&inbox), Some(1), "bob's INBOX on be2: {inbox:?}");
    bob.logout();

    let refused = ImapClient::login(&murder.proxy.addr(), "alice", "wrong").unwrap_err();
    assert!(
        refused.to_string().contains("AUTHENTICATIONFAILED"),
        "{refused}"
    );
    let unknown = ImapClient::login(&murder.proxy.addr(), "mallory", "x").unwrap_err();
    assert!(
        unknown.to_string().contains("AUTHENTICATIONFAILED"),
        "{unknown}"
    );

    // SASL PLAIN with an initial response works the same.
    let mut raw = RawClient::connect(&murder.proxy.addr()).unwrap();
    raw.read_until(b"\r\n", Duration::from_secs(5));
    let plain = support::plain_base64("", "alice", "alice-pw");
    raw.send(format!("a1 AUTHENTICATE PLAIN {plain}\r\n").as_bytes())
        .unwrap();
    let answer = raw.read_until(b"a1 ", Duration::from_secs(10));
    let answer = [answer, raw.read_until(b"\r\n", Duration::from_secs(5))].concat();
    assert!(
        String::from_utf8_lossy(&answer).contains("a1 OK [CAPABILITY"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn a_backend_killed_ends_only_the_sessions_using_it() {
    let mut murder = Murder::start();
    let mut alice = murder.login("alice").unwrap();
    alice.ok("SELECT INBOX").unwrap();
    let mut bob = RawClient::connect(&murder.proxy.addr()).unwrap();
    bob.read_until(b"\r\n", Duration::from_secs(5));
    bob.send(b"b1 LOGIN bob bob-pw\r\nb2 SELECT INBOX\r\n")
        .unwrap();
    bob.read_until(b"b2 OK", Duration::from_secs(10));
    bob.read_until(b"\r\n", Duration::from_secs(5));

    murder.be2.kill();
    // bob's selected backend is gone: his session ends with a BYE that says why.
    let bye = bob.read_until(b"\r\n", Duration::from_secs(10));
    let bye = String::from_utf8_lossy(&bye);
    assert!(
        bye.starts_with("* BYE [UNAVAILABLE] Backend be2 lost"),
        "{bye}"
    );
    // alice (on be1) carries on; her Archive (on be2) is unavailable, with a tagged NO.
    alice.ok("NOOP").unwrap();
    let (_, tagged) = alice.command("SELECT Archive").unwrap();
    assert!(tagged.contains("NO [UNAVAILABLE]"), "{tagged}");
    alice.ok("SELECT INBOX").unwrap();
    let _ = &murder.master;
}

#[test]
fn hostile_input_gets_bad_or_a_close() {
    let murder = Murder::start();
    let mut raw = RawClient::connect(&murder.proxy.addr()).unwrap();
    raw.read_until(b"\r\n", Duration::from_secs(5));
    raw.send(b"\x00\x01garbage\r\n").unwrap();
    let bad = raw.read_until(b"\r\n", Duration::from_secs(5));
    assert!(
        bad.starts_with(b"* BAD"),
        "{}",
        String::from_utf8_lossy(&bad)
    );
    raw.send(b"a1 SELECT INBOX\r\n").unwrap();
    let bad = raw.read_until(b"\r\n", Duration::from_secs(5));
    assert!(
        bad.starts_with(b"a1 BAD"),
        "before login: {}",
        String::from_utf8_lossy(&bad)
    );
    // A literal of 4 GB announced: refused, and the session goes on.
    raw.send(b"a2 LOGIN {4000000000}\r\n").unwrap();
    let refused = raw.read_until(b"\r\n", Duration::from_secs(5));
    assert!(
        refused.starts_with(b"a2 BAD"),
        "{}",
        String::from_utf8_lossy(&refused)
    );
    raw.send(b"a3 NOOP\r\n").unwrap();
    let ok = raw.read_until(b"\r\n", Duration::from_secs(5));
    assert!(ok.starts_with(b"a3 OK"), "{}", String::from_utf8_lossy(&ok));
    // A line with no end: cut at the limit, answered BAD, then the session goes on.
    let mut long = b"a4 NOOP ".to_vec();
    long.resize(200_000, b'x');
    raw.send(&long).unwrap();
    raw.send(b"\r\na5 NOOP\r\n").unwrap();
    let answers = raw.read_until(b"a5 OK", Duration::from_secs(5));
    assert!(
        String::from_utf8_lossy(&answers).contains("a4 BAD"),
        "{}",
        String::from_utf8_lossy(&answers)
    );
    // Others are unaffected.
    let mut alice = murder.login("alice").unwrap();
    alice.ok("SELECT INBOX").unwrap();
}

/// Reads from `stream` until `until` appears; panics on EOF or timeout.
fn read_until(stream: &mut impl Read, until: &str) -> String {
    let mut text = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&text).contains(until) {
        match stream.read(&mut buf) {
            Ok(n) if n > 0 => text.extend_from_slice(&buf[..n]),
            other => panic!(
                "stream ended ({other:?}) before {until:?}: {}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn idle_sees_a_message_delivered_meanwhile() {
    let murder = Murder::start();
    let mut raw = TcpStream::connect(murder.proxy.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_until(&mut raw, "\r\n");
    raw.write_all(b"a1 LOGIN alice alice-pw\r\na2 SELECT INBOX\r\na3 IDLE\r\n")
        .unwrap();
    let idling = read_until(&mut raw, "\r\n+ idling\r\n");
    assert!(idling.contains("a2 OK"), "{idling}");
    murder
        .be1
        .append("alice", "INBOX", &message("three", "delivered during IDLE"));
    let news = read_until(&mut raw, "* 3 EXISTS\r\n");
    assert!(!news.contains("a3 "), "IDLE still on: {news}");
    raw.write_all(b"DONE\r\na4 FETCH 3 BODY.PEEK[TEXT]\r\n")
        .unwrap();
    let done = read_until(&mut raw, "a4 OK");
    assert!(done.contains("a3 OK"), "{done}");
    assert!(done.contains("delivered during IDLE"), "{done}");
}

#[test]
fn append_of_20_mb_streams_through_to_the_mailboxs_backend() {
    let murder = Murder::start();
    let mut raw = TcpStream::connect(murder.proxy.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    read_until(&mut raw, "\r\n");
    let mut body = message("big", "");
    let line =
        b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef\r\n";
    while body.len() + line.len() <= 20 << 20 {
        body.extend_from_slice(line);
    }
    raw.write_all(
        format!(
            "a1 LOGIN alice alice-pw\r\na2 APPEND Archive (\\Seen) {{{}}}\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let go = read_until(&mut raw, "\r\n+ go ahead\r\n");
    assert!(go.contains("a1 OK"), "{go}");
    for chunk in body.chunks(1 << 16) {
        raw.write_all(chunk).unwrap();
    }
    raw.write_all(b"\r\n").unwrap();
    let appended = read_until(&mut raw, "a2 OK");
    assert!(appended.contains("APPENDUID"), "{appended}");

    let mut direct = ImapClient::login(&murder.be2.addr(), "alice", "alice-pw").unwrap();
    direct.ok("SELECT Archive").unwrap();
    let size = direct.ok("FETCH 2 RFC822.SIZE").unwrap();
    assert_eq!(
        size,
        vec![format!("* 2 FETCH (RFC822.SIZE {})", body.len())]
    );
}

/// A proxy with a certificate for `localhost`: STARTTLS on the plain port, implicit TLS on
/// another; returns the murder, the TLS port's address and a client configuration.
fn murder_with_tls() -> (Murder, String, Arc<rustls::ClientConfig>, tempfile::TempDir) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert, key) = (files.path().join("c.pem"), files.path().join("k.pem"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let tls_addr = format!("127.0.0.1:{}", support::free_port());
    let murder = Murder::start_with(&[
        "--listen-tls",
        &tls_addr,
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    (murder, tls_addr, Arc::new(config), files)
}

fn tls_client(
    config: &Arc<rustls::ClientConfig>,
    tcp: TcpStream,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let connection =
        rustls::ClientConnection::new(config.clone(), "localhost".try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(connection, tcp)
}

#[test]
fn starttls_and_implicit_tls() {
    let (murder, tls_addr, config, _files) = murder_with_tls();

    // STARTTLS: offered, then a session under TLS.
    let mut tcp = TcpStream::connect(murder.proxy.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let greeting = read_until(&mut tcp, "\r\n");
    assert!(greeting.contains("STARTTLS"), "{greeting}");
    tcp.write_all(b"s1 STARTTLS\r\n").unwrap();
    assert!(read_until(&mut tcp, "\r\n").starts_with("s1 OK"));
    let mut tls = tls_client(&config, tcp);
    tls.write_all(b"s2 CAPABILITY\r\n").unwrap();
    let caps = read_until(&mut tls, "s2 OK");
    assert!(
        caps.contains("AUTH=PLAIN") && !caps.contains("STARTTLS"),
        "{caps}"
    );
    tls.write_all(b"s3 LOGIN alice alice-pw\r\ns4 SELECT INBOX\r\n")
        .unwrap();
    let selected = read_until(&mut tls, "s4 OK");
    assert!(selected.contains("* 2 EXISTS"), "{selected}");

    // Implicit TLS.
    let tcp = TcpStream::connect(&tls_addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = tls_client(&config, tcp);
    let greeting = read_until(&mut tls, "\r\n");
    assert!(
        greeting.starts_with("* OK") && greeting.contains("AUTH=PLAIN"),
        "{greeting}"
    );
    tls.write_all(b"t1 LOGIN bob bob-pw\r\nt2 SELECT INBOX\r\n")
        .unwrap();
    assert!(read_until(&mut tls, "t2 OK").contains("* 1 EXISTS"));
    assert!(tls.conn.protocol_version().is_some());

    // Bytes pipelined after STARTTLS could be an injection: the connection is dropped.
    let mut tcp = TcpStream::connect(murder.proxy.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_until(&mut tcp, "\r\n");
    tcp.write_all(b"s1 STARTTLS\r\ns2 LOGIN alice alice-pw\r\n")
        .unwrap();
    let rest = {
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest);
        String::from_utf8_lossy(&rest).into_owned()
    };
    assert!(!rest.contains("s2 OK"), "{rest}");
}

#[test]
fn python_imaplib_full_session_through_the_proxy() {
    let murder = Murder::start();
    let script = r#"
import imaplib, sys
host, port, direct_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def session(p):
    m = imaplib.IMAP4(host, p)
    m.login("alice", "alice-pw")
    typ, data = m.select("Archive")
    assert typ == "OK", (typ, data)
    typ, found = m.search(None, "ALL")
    typ, fetched = m.fetch("1", "(UID RFC822.SIZE BODY.PEEK[])")
    assert typ == "OK", fetched
    m.logout()
    return found, fetched
through = session(port)
direct = session(direct_port)
assert through == direct, (through, direct)
m = imaplib.IMAP4(host, port)
m.login("alice", "alice-pw")
typ, data = m.append("INBOX", None, None, b"Subject: via imaplib\r\n\r\nhello\r\n")
assert typ == "OK", data
typ, data = m.select("INBOX")
assert data == [b"3"], data
typ, data = m.namespace()
assert typ == "OK" and b"Other Users/" in data[0], data
m.logout()
print("imaplib ok")
"#;
    let be2_port = murder.be2.port().to_string();
    let proxy_port = murder.proxy.addr().rsplit(':').next().unwrap().to_string();
    let output = std::process::Command::new("python3")
        .args(["-c", script, "127.0.0.1", &proxy_port, &be2_port])
        .output()
        .unwrap();
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("imaplib ok"),
        "{}{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        murder.proxy.logs()
    );
}

#[test]
fn clients_keep_working_while_the_master_is_down() {
    let mut murder = Murder::start();
    murder.master.kill();
    let mut alice = murder.login("alice").unwrap();
    assert_eq!(exists(&alice.ok("SELECT Archive").unwrap()), Some(1));
    assert_eq!(exists(&alice.ok("SELECT INBOX").unwrap()), Some(2));
}

#[test]
fn sighup_reloads_the_certificate_and_the_password_file() {
    use corvid_mupdate::master::auth::hash_password;
    let files = tempfile::tempdir().unwrap();
    let (cert, key, passwords) = (
        files.path().join("c.pem"),
        files.path().join("k.pem"),
        files.path().join("passwords"),
    );
    let write_identity = |generated: &rcgen::CertifiedKey<rcgen::KeyPair>, password: &str| {
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        let hash = hash_password(password).unwrap();
        std::fs::write(&passwords, format!("alice:{hash}\nbob:{hash}\n")).unwrap();
    };
    let first = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let second = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    write_identity(&first, "first-pw");
    let tls_addr = format!("127.0.0.1:{}", support::free_port());
    let murder = Murder::start_with_password(
        &[
            "--listen-tls",
            &tls_addr,
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--password-file",
            passwords.to_str().unwrap(),
        ],
        "first-pw",
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(first.cert.der().clone()).unwrap();
    roots.add(second.cert.der().clone()).unwrap();
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    // Logs alice in over implicit TLS; returns the certificate seen and the login's answer.
    let session = |password: &str| {
        let tcp = TcpStream::connect(&tls_addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut tls = tls_client(&config, tcp);
        read_until(&mut tls, "\r\n");
        let seen = tls.conn.peer_certificates().unwrap()[0].clone();
        tls.write_all(format!("a1 LOGIN alice {password}\r\n").as_bytes())
            .unwrap();
        (seen, read_until(&mut tls, "a1 "))
    };
    let (seen, _) = session("first-pw");
    assert_eq!(&seen, first.cert.der());

    write_identity(&second, "second-pw");
    let pid = murder.proxy.pid().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let reloaded = wait_until(Duration::from_secs(10), || {
        let (seen, _) = session("second-pw");
        (&seen == second.cert.der()).then_some(())
    });
    assert!(
        reloaded.is_some(),
        "certificate not reloaded:\n{}",
        murder.proxy.logs()
    );
    let mut tls = {
        let tcp = TcpStream::connect(&tls_addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tls_client(&config, tcp)
    };
    read_until(&mut tls, "\r\n");
    tls.write_all(b"a1 LOGIN alice second-pw\r\na2 LOGOUT\r\n")
        .unwrap();
    assert!(read_until(&mut tls, "a2 OK").contains("a1 OK"));
    tls.write_all(b"").unwrap();
    let mut tls = {
        let tcp = TcpStream::connect(&tls_addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tls_client(&config, tcp)
    };
    read_until(&mut tls, "\r\n");
    tls.write_all(b"a1 LOGIN alice first-pw\r\n").unwrap();
    assert!(read_until(&mut tls, "\r\n").starts_with("a1 NO [AUTHENTICATIONFAILED]"));
    assert!(murder.proxy.logs().contains("reloaded on SIGHUP"));
}

#[test]
fn changes_reach_every_core_and_a_restarted_proxy_routes_from_its_snapshot() {
    let mut murder = Murder::start();
    murder.be2.create_mailbox("alice", "Projects");
    murder
        .be2
        .append("alice", "Projects", &message("plan", "on be2"));
    let mut admin = murder.master.endpoint().connect().unwrap();
    admin
        .activate(
            "user.alice.Projects",
            "be2!default",
            "alice\tlrswipkxtecda\t",
        )
        .unwrap();
    admin.logout();
    // Connections land on both cores (SO_REUSEPORT spreads them by port): every one of them
    // soon routes the new mailbox.
    let routed_everywhere = wait_until(Duration::from_secs(10), || {
        let all = (0..8).all(|_| {
            let mut alice = murder.login("alice").unwrap();
            alice.command("SELECT Projects").unwrap().1.contains(" OK")
        });
        all.then_some(())
    });
    assert!(routed_everywhere.is_some(), "{}", murder.proxy.logs());

    // Without the master, a restarted proxy routes at once from the snapshot its follower
    // wrote after the first dump.
    murder.master.kill();
    murder.proxy.restart();
    let mut alice = murder.login("alice").unwrap();
    assert_eq!(exists(&alice.ok("SELECT Archive").unwrap()), Some(1));
    assert_eq!(exists(&alice.ok("SELECT INBOX").unwrap()), Some(2));
}

/// The names of `* LIST` / `* LSUB` lines, sorted.
fn listed_names(lines: &[String]) -> Vec<String> {
    let mut names: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let rest = line
                .strip_prefix("* LIST ")
                .or_else(|| line.strip_prefix("* LSUB "))?;
            let name = rest.rsplit_once(" \"/\" ")?.1;
            Some(name.trim_matches('"').to_string())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn list_comes_from_the_table_and_lsub_from_the_inbox_backend() {
    let murder = Murder::start();
    // alice's mailboxes live on two backends: LIST shows both, from the table.
    let mut alice = murder.login("alice").unwrap();
    let listed = alice.ok("LIST \"\" \"*\"").unwrap();
    assert_eq!(listed_names(&listed), ["Archive", "INBOX"], "{listed:?}");
    // bob's live on be2 alone: the proxy's LIST names what be2 itself lists.
    let mut bob = murder.login("bob").unwrap();
    let through = listed_names(&bob.ok("LIST \"\" \"*\"").unwrap());
    let mut direct = ImapClient::login(&murder.be2.addr(), "bob", "bob-pw").unwrap();
    assert_eq!(
        through,
        listed_names(&direct.ok("LIST \"\" \"*\"").unwrap())
    );

    // Subscriptions live on the INBOX backend (Dovecot takes only its own mailboxes there:
    // subscribing to a mailbox of another backend is issue 6). LSUB marks a subscription to a
    // mailbox the murder does not have, and LIST (SUBSCRIBED) says it does not exist.
    murder.be1.create_mailbox("alice", "Unregistered");
    alice.ok("SUBSCRIBE INBOX").unwrap();
    alice.ok("SUBSCRIBE Unregistered").unwrap();
    let lsub = alice.ok("LSUB \"\" \"*\"").unwrap();
    assert_eq!(listed_names(&lsub), ["INBOX", "Unregistered"], "{lsub:?}");
    let gone = |l: &String, flag: &str| l.contains(flag) && l.ends_with("Unregistered");
    assert!(lsub.iter().any(|l| gone(l, "\\Noselect")), "{lsub:?}");
    let subscribed = alice.ok("LIST (SUBSCRIBED) \"\" \"*\"").unwrap();
    assert!(
        subscribed.iter().any(|l| gone(l, "\\NonExistent")),
        "{subscribed:?}"
    );
    assert!(
        subscribed
            .iter()
            .any(|l| l.contains("\\Subscribed") && l.ends_with("INBOX")),
        "{subscribed:?}"
    );
    // The ACL reads come from the table too.
    let rights = alice.ok("MYRIGHTS Archive").unwrap();
    assert_eq!(
        rights,
        ["* MYRIGHTS Archive lrswipkxtecdan"],
        "with the owner's implicit n"
    );
    let acl = alice.ok("GETACL INBOX").unwrap();
    assert_eq!(acl, ["* ACL INBOX alice lrswipkxtecda"]);
}

#[test]
fn a_client_that_never_reads_holds_bounded_memory_and_others_go_on() {
    let murder = Murder::start();
    let mut big = message("big", "");
    while big.len() < 4 << 20 {
        big.extend_from_slice(
            b"a line of a big message, over and over, to make four megabytes\r\n",
        );
    }
    murder.be1.append("alice", "INBOX", &big);
    let pid = murder.proxy.pid().unwrap();
    let before = support::rss_kib(pid).unwrap();

    // Thirty FETCHes of the 4 MB message pipelined, and never a byte read back: 120 MB the
    // proxy must not buffer.
    let mut greedy = TcpStream::connect(murder.proxy.addr()).unwrap();
    greedy
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    read_until(&mut greedy, "\r\n");
    greedy
        .write_all(b"a1 LOGIN alice alice-pw\r\na2 SELECT INBOX\r\n")
        .unwrap();
    read_until(&mut greedy, "a2 OK");
    let fetches: String = (0..30)
        .map(|n| format!("f{n} FETCH 3 BODY.PEEK[]\r\n"))
        .collect();
    greedy.write_all(fetches.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let during = support::rss_kib(pid).unwrap();
    assert!(
        during < before + 32 * 1024,
        "proxy RSS grew from {before} KiB to {during} KiB"
    );

    // Meanwhile other sessions are served.
    let mut bob = murder.login("bob").unwrap();
    assert_eq!(exists(&bob.ok("SELECT INBOX").unwrap()), Some(1));
    drop(greedy);
}
