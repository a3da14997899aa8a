//! corvid's message view (corvid-shim's `message`) against a real Dovecot 2.3, byte for byte:
//! every message of `backend-shim/tests/data/messages/` is APPENDed to Dovecot, which is asked
//! for ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE, RFC822.HEADER, RFC822.TEXT and a set of
//! `BODY.PEEK[section]<partial>` items; corvid computes the same from the message's bytes and
//! must give the same answers.
//!
//! Dovecot stores a message with bare LF line ends as given and serves it with CRLF, as IMAP
//! requires; corvid's reference backend stores it CRLF-normalized
//! ([`corvid_shim::message::crlf_normalized`]), so that is what is compared.
//!
//! Every difference is reported at once (message, item, both answers). Where RFC 3501 leaves
//! room, corvid follows Dovecot (the readings are listed in corvid-shim's `message` module
//! doc); none of Dovecot's answers here contradicts RFC 3501, so none is overridden.
//!
//! Needs Dovecot unpacked by `ci/install-peers` and root; the server is started here on
//! 127.0.0.1 and stopped by pid.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;

use corvid_shim::message::{FetchBody, Message, crlf_normalized};
use support::IO_TIMEOUT;
use support::dovecot::Dovecot;

/// The sections fetched from every message (absent parts included: both sides must agree that
/// they are absent).
const SECTIONS: &[&str] = &[
    "BODY.PEEK[]",
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[TEXT]",
    "BODY.PEEK[HEADER.FIELDS (From To Subject)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (Subject Content-Type)]",
    "BODY.PEEK[1]",
    "BODY.PEEK[1.MIME]",
    "BODY.PEEK[1.HEADER]",
    "BODY.PEEK[1.TEXT]",
    "BODY.PEEK[1.1]",
    "BODY.PEEK[2]",
    "BODY.PEEK[2.MIME]",
    "BODY.PEEK[2.HEADER]",
    "BODY.PEEK[2.TEXT]",
    "BODY.PEEK[2.HEADER.FIELDS (subject FROM)]",
    "BODY.PEEK[2.1]",
    "BODY.PEEK[2.1.MIME]",
    "BODY.PEEK[3]",
    "BODY.PEEK[1.1.1.1]",
    "BODY.PEEK[1.1.1.1.1]",
    "BODY.PEEK[]<0.20>",
    "BODY.PEEK[TEXT]<5.10>",
    "BODY.PEEK[1]<3.1000>",
    "BODY.PEEK[2.MIME]<10000.5>",
    "BODY.PEEK[HEADER.FIELDS (Subject)]<4.6>",
    "BODY.PEEK[2.1.HEADER]",
    "BODY.PEEK[2.1.TEXT]",
    "BODY.PEEK[1.2]",
    "BODY.PEEK[1.1.HEADER.FIELDS.NOT (To)]",
];

/// A minimal byte-exact IMAP client: one command at a time, literals read whole.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: u32,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            tag: 0,
        };
        client.line();
        client
    }

    fn line(&mut self) -> Vec<u8> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line).unwrap();
        assert!(line.ends_with(b"\r\n"), "short read: {line:?}");
        line
    }

    /// Sends `command` (literals in it sent as LITERAL+) and returns the untagged responses,
    /// each whole with its literals; panics unless the command ends in OK.
    fn run(&mut self, command: &[u8]) -> Vec<Vec<u8>> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        let mut wire = format!("{tag} ").into_bytes();
        wire.extend_from_slice(command);
        wire.extend_from_slice(b"\r\n");
        self.writer.write_all(&wire).unwrap();
        let mut responses = Vec::new();
        loop {
            let mut response = self.line();
            while let Some(n) = literal_len(&response) {
                let mut payload = vec![0; n];
                self.reader.read_exact(&mut payload).unwrap();
                response.extend_from_slice(&payload);
                response.extend_from_slice(&self.line());
            }
            if response.starts_with(tag.as_bytes()) {
                let ok = response.get(tag.len()..tag.len() + 4) == Some(b" OK ");
                assert!(ok, "{}: {}", lossy(command), lossy(&response));
                return responses;
            }
            responses.push(response);
        }
    }
}

/// The length of the literal announced at the end of `line`, if any.
fn literal_len(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"}\r\n")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    std::str::from_utf8(&body[open + 1..]).ok()?.parse().ok()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The value of the only item of a `* n FETCH (item value)` response.
fn fetch_value(response: &[u8]) -> &[u8] {
    let open = response.iter().position(|&b| b == b'(').unwrap();
    let items = &response[open + 1..response.len() - 3];
    let label_end = if items.starts_with(b"BODY[") {
        let close = items.iter().position(|&b| b == b']').unwrap();
        close + items[close..].iter().position(|&b| b == b' ').unwrap()
    } else {
        items.iter().position(|&b| b == b' ').unwrap()
    };
    &items[label_end + 1..]
}

/// A section value as sent: NIL, a quoted string or a literal.
fn nstring_value(value: &[u8]) -> Option<Vec<u8>> {
    if value == b"NIL" {
        return None;
    }
    if let Some(quoted) = value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
    {
        return Some(quoted.to_vec());
    }
    let newline = value.iter().position(|&b| b == b'\n').unwrap();
    Some(value[newline + 1..].to_vec())
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("backend-shim/tests/data/messages");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

#[test]
fn message_views_match_dovecot() {
    let dovecot = Dovecot::start("mime", &[("alice", "alice-secret")]);
    let mut client = Client::connect(&dovecot.addr());
    client.run(b"LOGIN alice alice-secret");
    let corpus = corpus();
    assert!(
        corpus.len() >= 25,
        "the corpus has {} messages",
        corpus.len()
    );
    for (_, bytes) in &corpus {
        let mut append = format!("APPEND INBOX {{{}+}}\r\n", bytes.len()).into_bytes();
        append.extend_from_slice(bytes);
        client.run(&append);
    }
    client.run(b"SELECT INBOX");

    let mut mismatches = Vec::new();
    for (seq, (name, bytes)) in corpus.iter().enumerate() {
        let stored = crlf_normalized(bytes);
        let message = Message::parse(&stored);
        let mut ask = |item: &str| -> Vec<u8> {
            let responses = client.run(format!("FETCH {} ({item})", seq + 1).as_bytes());
            assert_eq!(responses.len(), 1, "{name} {item}: {responses:?}");
            fetch_value(&responses[0]).to_vec()
        };
        let mut compare = |item: &str, dovecot: Vec<u8>, ours: Vec<u8>| {
            if dovecot != ours {
                mismatches.push(format!(
                    "{name} {item}\n  dovecot: {}\n  corvid:  {}",
                    lossy(&dovecot).escape_debug(),
                    lossy(&ours).escape_debug()
                ));
            }
        };
        let mut ours = Vec::new();
        message.write_envelope(&mut ours);
        compare("ENVELOPE", ask("ENVELOPE"), ours);
        let mut ours = Vec::new();
        message.write_body_structure(&mut ours, false);
        compare("BODY", ask("BODY"), ours);
        let mut ours = Vec::new();
        message.write_body_structure(&mut ours, true);
        compare("BODYSTRUCTURE", ask("BODYSTRUCTURE"), ours);
        compare(
            "RFC822.SIZE",
            ask("RFC822.SIZE"),
            message.size().to_string().into_bytes(),
        );
        for (item, ours) in [
            ("RFC822.HEADER", message.header()),
            ("RFC822.TEXT", message.text()),
        ] {
            let dovecot = nstring_value(&ask(item)).unwrap_or_default();
            compare(item, dovecot, ours.to_vec());
        }
        for item in SECTIONS {
            let dovecot = nstring_value(&ask(item));
            let item_in_list = format!("{item})");
            let (fetch, _) = FetchBody::parse(item_in_list.as_bytes()).unwrap();
            let ours = Some(fetch.bytes(&message).into_owned());
            let show = |v: Option<Vec<u8>>| v.map_or(b"NIL".to_vec(), |v| v);
            compare(item, show(dovecot), show(ours));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}
