//! `corvid mupdate` with a configuration file: STARTTLS that works (rustls on both ends), the
//! banner again without STARTTLS after it, a login checked against an argon2 hash from the
//! file, and bytes pipelined after STARTTLS refused.

#![allow(clippy::unwrap_used)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use corvid_mupdate::master::auth::hash_password;
use support::MupdateMaster;
use support::corvid::CorvidMaster;

/// A master with a certificate for `localhost` and a user `ops` whose password is hashed; the
/// directory of its files goes when the test ends.
fn master_with_tls() -> (
    CorvidMaster,
    rcgen::CertifiedKey<rcgen::KeyPair>,
    tempfile::TempDir,
) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let files = tempfile_dir();
    let dir = files.path();
    let (cert, key, config) = (
        dir.join("c.pem"),
        dir.join("k.pem"),
        dir.join("mupdate.toml"),
    );
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    std::fs::write(
        &config,
        format!(
            "host = \"m.test\"\n[tls]\ncert = \"{}\"\nkey = \"{}\"\n\
             [[user]]\nname = \"ops\"\npassword_hash = \"{}\"\nrole = \"admin\"\n",
            cert.display(),
            key.display(),
            hash_password("s3cret").unwrap()
        ),
    )
    .unwrap();
    let master = CorvidMaster::start_with(&["--config", config.to_str().unwrap()]);
    (master, generated, files)
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Reads until `until` appears (bounded by the socket's read timeout).
fn read_until(stream: &mut impl Read, until: &str) -> String {
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&text).contains(until) {
        match stream.read(&mut byte) {
            Ok(1) => text.push(byte[0]),
            other => panic!(
                "stream ended ({other:?}) before {until:?}: {}",
                String::from_utf8_lossy(&text)
            ),
        }
    }
    String::from_utf8(text).unwrap()
}

#[test]
fn starttls_then_login_with_a_hashed_password() {
    let (master, generated, _files) = master_with_tls();
    let mut tcp = TcpStream::connect(master.endpoint().addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let banner = read_until(&mut tcp, "(master)\"\r\n");
    assert!(banner.contains("* STARTTLS\r\n"), "{banner}");
    assert!(banner.contains("\"m.test\""), "{banner}");
    tcp.write_all(b"S01 STARTTLS\r\n").unwrap();
    assert_eq!(
        read_until(&mut tcp, "\r\n"),
        "S01 OK \"Begin TLS negotiation now\"\r\n"
    );

    let mut roots = rustls::RootCertStore::empty();
    roots.add(generated.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connection =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    let again = read_until(&mut tls, "(master)\"\r\n");
    assert!(!again.contains("STARTTLS"), "{again}");
    assert!(again.starts_with("* AUTH \"PLAIN\"\r\n"), "{again}");
    assert!(tls.conn.protocol_version().is_some());

    // The user from the file, checked against its argon2 hash.
    tls.write_all(b"A01 AUTHENTICATE \"PLAIN\" \"AG9wcwBzM2NyZXQ=\"\r\n")
        .unwrap();
    assert_eq!(read_until(&mut tls, "\r\n"), "A01 OK \"Authenticated\"\r\n");
    tls.write_all(
        b"X1 ACTIVATE \"user.t\" \"be1!p\" \"\"\r\nX2 FIND \"user.t\"\r\nX3 STARTTLS\r\n",
    )
    .unwrap();
    let answers = read_until(&mut tls, "X3 ");
    assert!(
        answers.starts_with("X1 OK \"done\"\r\nX2 MAILBOX {6+}\r\nuser.t"),
        "{answers}"
    );
    assert!(
        read_until(&mut tls, "\r\n").starts_with("BAD"),
        "no second STARTTLS"
    );
}

#[test]
fn bytes_pipelined_after_starttls_are_refused() {
    let (master, _, _files) = master_with_tls();
    let mut tcp = TcpStream::connect(master.endpoint().addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    read_until(&mut tcp, "(master)\"\r\n");
    tcp.write_all(b"S01 STARTTLS\r\nX1 FIND \"user.t\"\r\n")
        .unwrap();
    assert_eq!(
        read_until(&mut tcp, "\r\n"),
        "S01 OK \"Begin TLS negotiation now\"\r\n"
    );
    let mut rest = Vec::new();
    let end = tcp.read_to_end(&mut rest);
    assert!(
        end.is_ok() && rest.is_empty(),
        "the master closes the connection: {end:?} {rest:?}"
    );
    // Others are still served.
    assert!(master.endpoint().list(None).is_empty());
}
