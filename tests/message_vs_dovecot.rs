//! corvid's message view (corvid-shim's `message`) against a real Dovecot 2.3, byte for byte:
//! every message of `proto/tests/data/messages/` is APPENDed to Dovecot, which is asked
//! for ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE, RFC822.HEADER, RFC822.TEXT and a set of
//! `BODY.PEEK[section]<partial>` items; corvid computes the same from the message's bytes and
//! must give the same answers.
//!
//! Dovecot stores a message with bare LF line ends as given and serves it with CRLF, as IMAP
//! requires; corvid's reference backend stores it CRLF-normalized
//! ([`corvid_proto::message::crlf_normalized`]), so that is what is compared.
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

use corvid_proto::message::{FetchBody, Message, crlf_normalized};
use support::dovecot::Dovecot;
use support::{IO_TIMEOUT, XorShift};

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

/// The sections of the message itself, which depend on its header and body split alone.
const TOP_LEVEL_SECTIONS: &[&str] = &[
    "BODY.PEEK[]",
    "BODY.PEEK[HEADER]",
    "BODY.PEEK[TEXT]",
    "BODY.PEEK[HEADER.FIELDS (From To Subject)]",
    "BODY.PEEK[HEADER.FIELDS.NOT (Subject Content-Type)]",
    "BODY.PEEK[]<0.20>",
    "BODY.PEEK[TEXT]<5.10>",
];

/// Which items [`mismatches`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Items {
    /// Every item: ENVELOPE, BODY, BODYSTRUCTURE, the RFC822 items and [`SECTIONS`].
    All,
    /// The RFC822 items and [`TOP_LEVEL_SECTIONS`].
    TopLevel,
}

/// Where Dovecot is wrong by the RFCs, the answer corvid gives instead: (message, item, answer).
const RFC_ANSWERS: &[(&str, &str, &str)] = &[
    // Dovecot ignores a part's Content-Transfer-Encoding, Content-Description,
    // Content-Disposition and Content-Language when it has no Content-Type; RFC 3501 §7.4.2
    // takes body-fld-enc, body-fld-desc, body-fld-dsp and body-fld-lang from those fields
    // whatever the type (RFC 2045 §5.2 defaults only the type), and a client that believed
    // "7bit" would show a quoted-printable body undecoded.
    (
        "37-encoding-without-type.eml",
        "BODY",
        r#"("text" "plain" ("charset" "us-ascii") NIL "described" "quoted-printable" 9 1)"#,
    ),
    (
        "37-encoding-without-type.eml",
        "BODYSTRUCTURE",
        r#"("text" "plain" ("charset" "us-ascii") NIL "described" "quoted-printable" 9 1 NIL ("inline" NIL) ("de") NIL)"#,
    ),
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
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto/tests/data/messages");
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

/// Starts Dovecot, APPENDs `messages` to alice's INBOX and SELECTs it.
fn dovecot_with(messages: &[(String, Vec<u8>)]) -> (Dovecot, Client) {
    let dovecot = Dovecot::start("mime", &[("alice", "alice-secret")]);
    let mut client = Client::connect(&dovecot.addr());
    client.run(b"LOGIN alice alice-secret");
    for (_, bytes) in messages {
        let mut append = format!("APPEND INBOX {{{}+}}\r\n", bytes.len()).into_bytes();
        append.extend_from_slice(bytes);
        client.run(&append);
    }
    client.run(b"SELECT INBOX");
    (dovecot, client)
}

/// Every item on which corvid's answer for message `seq` (`bytes`, called `name`) differs
/// from Dovecot's.
fn mismatches(
    client: &mut Client,
    seq: usize,
    name: &str,
    bytes: &[u8],
    items: Items,
) -> Vec<String> {
    let stored = crlf_normalized(bytes);
    let message = Message::parse(&stored);
    let mut ask = |item: &str| -> Vec<u8> {
        let responses = client.run(format!("FETCH {seq} ({item})").as_bytes());
        assert_eq!(responses.len(), 1, "{name} {item}: {responses:?}");
        fetch_value(&responses[0]).to_vec()
    };
    let mut mismatches = Vec::new();
    let mut compare = |item: &str, dovecot: Vec<u8>, ours: Vec<u8>| {
        let rfc = RFC_ANSWERS
            .iter()
            .find(|(file, rfc_item, _)| *file == name && *rfc_item == item);
        if let Some((_, _, answer)) = rfc {
            // Keeps the exception honest: Dovecot still differs, and corvid gives the RFC's.
            if dovecot == answer.as_bytes() || ours != answer.as_bytes() {
                mismatches.push(format!(
                    "{name} {item}: the RFC answer\n  rfc:     {}\n  dovecot: {}\n  corvid:  {}",
                    answer.escape_debug(),
                    lossy(&dovecot).escape_debug(),
                    lossy(&ours).escape_debug()
                ));
            }
        } else if dovecot != ours {
            mismatches.push(format!(
                "{name} {item}\n  dovecot: {}\n  corvid:  {}",
                lossy(&dovecot).escape_debug(),
                lossy(&ours).escape_debug()
            ));
        }
    };
    if items == Items::All {
        let mut ours = Vec::new();
        message.write_envelope(&mut ours);
        compare("ENVELOPE", ask("ENVELOPE"), ours);
        let mut ours = Vec::new();
        message.write_body_structure(&mut ours, false);
        compare("BODY", ask("BODY"), ours);
        let mut ours = Vec::new();
        message.write_body_structure(&mut ours, true);
        compare("BODYSTRUCTURE", ask("BODYSTRUCTURE"), ours);
    }
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
    let sections = match items {
        Items::All => SECTIONS,
        Items::TopLevel => TOP_LEVEL_SECTIONS,
    };
    for item in sections {
        let dovecot = nstring_value(&ask(item)).unwrap_or_else(|| b"NIL".to_vec());
        let item_in_list = format!("{item})");
        let (fetch, _) = FetchBody::parse(item_in_list.as_bytes()).unwrap();
        compare(item, dovecot, fetch.bytes(&message).into_owned());
    }
    mismatches
}

/// Fails with every mismatch listed.
#[track_caller]
fn assert_none(mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn message_views_match_dovecot() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 25,
        "the corpus has {} messages",
        corpus.len()
    );
    let (_dovecot, mut client) = dovecot_with(&corpus);
    let mut all = Vec::new();
    for (seq, (name, bytes)) in corpus.iter().enumerate() {
        all.extend(mismatches(&mut client, seq + 1, name, bytes, Items::All));
    }
    assert_none(&all);
}

/// Seeded mutations of the corpus (bytes spliced, replaced, cut and copied; never a NUL, which
/// an IMAP literal cannot carry, nor a bare CR): `CORVID_TEST_SEED` picks another seed.
fn mutated(corpus: &[(String, Vec<u8>)], count: usize) -> Vec<(String, Vec<u8>)> {
    const TOKENS: [&[u8]; 9] = [
        b"\r\n",
        b"\n",
        b"--",
        b"\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=",
        b"Content-Type: message/rfc822\r\n\r\n",
        b"\"",
        b"(",
        b"\xe9",
    ];
    let seed = std::env::var("CORVID_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00c0_ffee);
    let mut rng = XorShift::new(seed);
    let mut pick = |n: usize| rng.below(n as u64) as usize;
    (0..count)
        .map(|i| {
            let (name, original) = &corpus[i % corpus.len()];
            let mut message = original.clone();
            for _ in 0..1 + pick(4) {
                let at = pick(message.len() + 1);
                match pick(4) {
                    0 => {
                        let token = TOKENS[pick(TOKENS.len())];
                        message.splice(at..at, token.iter().copied());
                    }
                    1 if at < message.len() => message[at] = (pick(255) + 1) as u8,
                    2 => {
                        let end = (at + pick(40)).min(message.len());
                        message.drain(at..end);
                    }
                    _ => {
                        let from = pick(message.len() + 1);
                        let end = (from + pick(200)).min(message.len());
                        let copy = message[from..end].to_vec();
                        message.splice(at..at, copy);
                    }
                }
            }
            let bare_cr = |at: usize, m: &[u8]| m[at] == b'\r' && m.get(at + 1) != Some(&b'\n');
            let mut at = 0;
            while at < message.len() {
                if bare_cr(at, &message) {
                    message.remove(at);
                } else {
                    at += 1;
                }
            }
            if message.is_empty() {
                message.push(b'x');
            }
            (format!("mutation {i} of {name} (seed {seed})"), message)
        })
        .collect()
}

/// The header and body split of malformed messages: their sizes, headers, texts and header
/// fields. Their ENVELOPE and part structure are not compared: Dovecot's recovery from a
/// malformed address list (a `SYNTAX_ERROR` domain, the addresses after it dropped) is its own,
/// and it takes a line that merely starts with a boundary's delimiter for a delimiter, where
/// RFC 2046 §5.1.1 allows only white space after it (corvid follows the RFC).
#[test]
fn mutated_messages_match_dovecot() {
    let messages = mutated(&corpus(), 300);
    let (_dovecot, mut client) = dovecot_with(&messages);
    let mut all = Vec::new();
    for (seq, (name, bytes)) in messages.iter().enumerate() {
        all.extend(mismatches(
            &mut client,
            seq + 1,
            name,
            bytes,
            Items::TopLevel,
        ));
    }
    assert_none(&all);
}
