//! The MUPDATE codec against transcripts (RFC 3656's examples, Cyrus 3.6's wire forms, errors)
//! and proptest round trips of every command and response.
//!
//! Each transcript is cut into messages, each read by the decoder its receiver uses: the
//! server's [`CommandDecoder`] (commands, or SASL lines during AUTHENTICATE), the client's
//! [`Banner`], [`Response`] and [`AuthReply`] decoders. Every message is decoded at every prefix
//! (never complete, never an error, until it is whole), as a stream cut at random points, and
//! re-encoded: byte for byte in the transcripts written in Cyrus's forms.

mod common;

use common::{Side, split_at_points, transcript};
use corvid_proto::mupdate::{
    AuthReply, Banner, CONTINUATION, Command, CommandDecoder, CommandError, CommandKind,
    DecodeError, Decoded, Limits, Outcome, Reason, Record, Response, Role, SaslResponse, Status,
    Step, encode_sasl_line,
};
use proptest::prelude::*;

const LIMITS: Limits = Limits {
    max_line: 4096,
    max_literal: 4096,
};

/// The transcripts, and whether they are written in the exact form our encoders produce.
const TRANSCRIPTS: [(&str, bool); 4] = [
    ("mupdate-cyrus-backend.txt", true),
    ("mupdate-cyrus-slave.txt", true),
    ("mupdate-errors.txt", false),
    ("mupdate-rfc3656.txt", false),
];

/// Which decoder reads a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Command,
    Sasl,
    Banner,
    Response,
    AuthReply,
}

#[derive(Debug, Clone)]
struct Message {
    side: Side,
    kind: Kind,
    bytes: Vec<u8>,
    /// How many `+ go ahead` the server sent within it.
    continuations: usize,
}

/// A decoded message.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Command(Command),
    Rejected(CommandError),
    Sasl(SaslResponse),
    Banner(Banner),
    Response(Response),
    AuthReply(AuthReply),
}

/// Cuts a transcript into messages, following AUTHENTICATE exchanges and continuations.
fn messages(name: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    let mut banner = Vec::new();
    let mut auth_tag: Option<Vec<u8>> = None;
    let mut continued = false;
    for (side, bytes) in transcript(name) {
        let message = |kind, bytes| Message {
            side,
            kind,
            bytes,
            continuations: 0,
        };
        match side {
            Side::Server if bytes == CONTINUATION => {
                continued = true;
                let last = out.iter_mut().rev().find(|m| m.side == Side::Client);
                last.expect("a continuation follows a command")
                    .continuations += 1;
            }
            Side::Server if !out.iter().any(|m| m.kind == Kind::Banner) => {
                banner.extend_from_slice(&bytes);
                if bytes.starts_with(b"* OK MUPDATE") {
                    out.push(message(Kind::Banner, std::mem::take(&mut banner)));
                }
            }
            Side::Server => {
                let kind = match &auth_tag {
                    Some(tag) => {
                        if bytes.starts_with(tag) && bytes.get(tag.len()) == Some(&b' ') {
                            auth_tag = None;
                        }
                        Kind::AuthReply
                    }
                    None => Kind::Response,
                };
                out.push(message(kind, bytes));
            }
            Side::Client if continued => {
                continued = false;
                let last = out.iter_mut().rev().find(|m| m.side == Side::Client);
                last.expect("a continued command")
                    .bytes
                    .extend_from_slice(&bytes);
            }
            Side::Client if auth_tag.is_some() => out.push(message(Kind::Sasl, bytes)),
            Side::Client => {
                let mut words = bytes.split(|&b| b == b' ');
                let tag = words.next().unwrap_or_default().to_vec();
                let verb = words.next().unwrap_or_default();
                if verb.eq_ignore_ascii_case(b"AUTHENTICATE") {
                    auth_tag = Some(tag);
                }
                out.push(message(Kind::Command, bytes));
            }
        }
    }
    out
}

/// What one decoder call gave.
#[derive(Debug)]
enum Got {
    Value(Value, usize),
    Incomplete(usize),
    Continue,
}

fn from_step<T>(step: Step<T>, wrap: fn(T) -> Value) -> Got {
    match step.outcome {
        Outcome::Done(value) => Got::Value(wrap(value), step.consumed),
        Outcome::Rejected(error) => Got::Value(Value::Rejected(error), step.consumed),
        Outcome::Incomplete => Got::Incomplete(step.consumed),
        Outcome::Continue(reply) => {
            assert_eq!((reply, step.consumed), (CONTINUATION, 0));
            Got::Continue
        }
    }
}

fn from_decoded<T>(decoded: Result<Decoded<T>, DecodeError>, wrap: fn(T) -> Value) -> Got {
    match decoded {
        Ok(Decoded::Done { value, consumed }) => Got::Value(wrap(value), consumed),
        Ok(Decoded::Incomplete) => Got::Incomplete(0),
        Err(error) => panic!("client-side decoder failed: {error}"),
    }
}

fn decode(kind: Kind, decoder: &mut CommandDecoder, input: &[u8]) -> Got {
    match kind {
        Kind::Command => from_step(decoder.decode(input), Value::Command),
        Kind::Sasl => from_step(decoder.decode_sasl(input), Value::Sasl),
        Kind::Banner => from_decoded(Banner::decode(input, LIMITS), Value::Banner),
        Kind::Response => from_decoded(Response::decode(input, LIMITS), Value::Response),
        Kind::AuthReply => from_decoded(AuthReply::decode(input, LIMITS), Value::AuthReply),
    }
}

/// The value's encoding; `None` for a rejection, which has no encoding of its own.
fn encode(value: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match value {
        Value::Command(command) => command.encode(&mut out),
        Value::Rejected(_) => return None,
        Value::Sasl(sasl) => sasl.encode(&mut out),
        Value::Banner(banner) => banner.encode(&mut out),
        Value::Response(response) | Value::AuthReply(AuthReply::Done(response)) => {
            response.encode(&mut out);
        }
        Value::AuthReply(AuthReply::Challenge(data)) => encode_sasl_line(data, &mut out),
    }
    Some(out)
}

/// Decodes a whole message with a fresh decoder.
fn decode_whole(message: &Message) -> Value {
    match decode(
        message.kind,
        &mut CommandDecoder::new(LIMITS),
        &message.bytes,
    ) {
        Got::Value(value, consumed) => {
            if !matches!(value, Value::Rejected(_)) {
                assert_eq!(consumed, message.bytes.len(), "{message:?}");
            }
            value
        }
        other => panic!("{message:?}: {other:?}"),
    }
}

#[test]
fn every_prefix_is_incomplete_until_the_message_is_whole() {
    for (name, _) in TRANSCRIPTS {
        for message in messages(name) {
            let rejected = matches!(decode_whole(&message), Value::Rejected(_));
            let mut decoder = CommandDecoder::new(LIMITS);
            let mut continuations = 0;
            for cut in 0..message.bytes.len() {
                let prefix = &message.bytes[..cut];
                match decode(message.kind, &mut decoder, prefix) {
                    Got::Incomplete(0) => {}
                    Got::Continue => continuations += 1,
                    Got::Value(Value::Rejected(_), _) if rejected => break,
                    other => panic!("{name}: {message:?} cut at {cut}: {other:?}"),
                }
            }
            if !rejected {
                assert_eq!(continuations, message.continuations, "{name}: {message:?}");
            }
        }
    }
}

#[test]
fn rejections_are_answered_in_cyrus_words() {
    let mut answered = 0;
    for (name, _) in TRANSCRIPTS {
        let messages = messages(name);
        for (at, message) in messages.iter().enumerate() {
            if let Value::Rejected(error) = decode_whole(message) {
                let reply = messages[at + 1..]
                    .iter()
                    .find(|m| m.side == Side::Server)
                    .expect("an answer");
                let mut out = Vec::new();
                error.response().encode(&mut out);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    String::from_utf8_lossy(&reply.bytes),
                    "{name}"
                );
                answered += 1;
            }
        }
    }
    assert_eq!(answered, 11);
}

#[test]
fn messages_encode_back() {
    let mut exact = 0;
    for (name, cyrus_form) in TRANSCRIPTS {
        for message in messages(name) {
            let value = decode_whole(&message);
            let Some(encoded) = encode(&value) else {
                continue;
            };
            if cyrus_form {
                assert_eq!(
                    String::from_utf8_lossy(&encoded),
                    String::from_utf8_lossy(&message.bytes),
                    "{name}"
                );
                exact += 1;
            }
            let again = Message {
                bytes: encoded,
                ..message
            };
            assert_eq!(decode_whole(&again), value, "{name}");
        }
    }
    assert_eq!(exact, 41);
}

#[test]
fn transcripts_hold_what_they_claim() {
    let backend = messages("mupdate-cyrus-backend.txt");
    let values: Vec<Value> = backend.iter().map(decode_whole).collect();
    assert!(values.contains(&Value::Command(Command {
        tag: b"X5".to_vec(),
        kind: CommandKind::Activate {
            name: b"user.bob.Drafts".to_vec(),
            location: b"be2!default".to_vec(),
            acl: b"bob\tlrswipkxtecdan\t".to_vec(),
        },
    })));
    assert!(values.contains(&Value::Command(Command {
        tag: b"X6".to_vec(),
        kind: CommandKind::Reserve {
            name: b"DELETED.user.bob.Trash.65E33B49".to_vec(),
            location: b"be2!".to_vec(),
        },
    })));
    let Value::Banner(banner) = &values[0] else {
        panic!("{:?}", values[0]);
    };
    assert_eq!(banner.role, Role::Master);
    assert_eq!(banner.mechanisms, ["PLAIN", "DIGEST-MD5"]);

    let slave: Vec<Value> = messages("mupdate-cyrus-slave.txt")
        .iter()
        .map(decode_whole)
        .collect();
    assert!(slave.contains(&Value::Response(Response::tagged(
        b"U01",
        Status::Ok,
        Reason::StreamingStarts
    ))));
    assert!(slave.contains(&Value::Response(Response::Record {
        tag: b"U01".to_vec(),
        record: Record::Delete {
            name: b"user.alice.Sent".to_vec()
        }
    })));

    let errors: Vec<Value> = messages("mupdate-errors.txt")
        .iter()
        .map(decode_whole)
        .collect();
    assert!(errors.contains(&Value::Sasl(SaslResponse::Cancel)));
    assert!(errors.contains(&Value::AuthReply(AuthReply::Challenge(Vec::new()))));
    assert!(errors.contains(&Value::Command(Command {
        tag: b"X11".to_vec(),
        kind: CommandKind::Activate {
            name: b"user.bob".to_vec(),
            location: b"be2!default".to_vec(),
            acl: Vec::new(),
        },
    })));
}

/// Decodes one side's stream, fed in the given chunks, into values.
fn decode_stream(messages: &[Message], side: Side, chunks: &[&[u8]]) -> Vec<Value> {
    let kinds: Vec<Kind> = messages
        .iter()
        .filter(|m| m.side == side)
        .map(|m| m.kind)
        .collect();
    let mut decoder = CommandDecoder::new(LIMITS);
    let mut buffer = Vec::new();
    let mut values = Vec::new();
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        while let Some(&kind) = kinds.get(values.len()) {
            match decode(kind, &mut decoder, &buffer) {
                Got::Value(value, consumed) => {
                    buffer.drain(..consumed);
                    values.push(value);
                }
                Got::Incomplete(consumed) => {
                    buffer.drain(..consumed);
                    break;
                }
                Got::Continue => break,
            }
        }
    }
    values
}

proptest! {
    #[test]
    fn streams_decode_the_same_at_any_split(
        points in proptest::collection::vec(0usize..2000, 0..12),
    ) {
        for (name, _) in TRANSCRIPTS {
            let messages = messages(name);
            for side in [Side::Client, Side::Server] {
                let expected: Vec<Value> = messages
                    .iter()
                    .filter(|m| m.side == side)
                    .map(decode_whole)
                    .collect();
                let stream: Vec<u8> = messages
                    .iter()
                    .filter(|m| m.side == side)
                    .flat_map(|m| m.bytes.iter().copied())
                    .collect();
                let chunks = split_at_points(&stream, &points);
                prop_assert_eq!(decode_stream(&messages, side, &chunks), expected, "{}", name);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Round trips of arbitrary values, through our encoders and through other input forms.

/// A string as a peer may send it.
#[derive(Debug, Clone, Copy)]
enum Form {
    Quoted,
    Synchronizing,
    NonSynchronizing,
    Atom,
}

fn write_in_form(out: &mut Vec<u8>, bytes: &[u8], form: Form) {
    let quotable = !bytes.iter().any(|b| matches!(b, 0 | b'\r' | b'\n'));
    let atom = !bytes.is_empty() && bytes.iter().all(|&b| corvid_proto::lex::is_astring_char(b));
    match form {
        Form::Quoted if quotable => {
            out.push(b'"');
            for &b in bytes {
                if matches!(b, b'"' | b'\\') {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        Form::Atom if atom => out.extend_from_slice(bytes),
        Form::NonSynchronizing => {
            out.extend_from_slice(format!("{{{}+}}\r\n", bytes.len()).as_bytes());
            out.extend_from_slice(bytes);
        }
        _ => {
            out.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
            out.extend_from_slice(bytes);
        }
    }
}

/// Writes `tag word args CRLF`, each argument in its own form.
fn write_line(tag: &[u8], word: &str, args: &[&[u8]], forms: &[Form]) -> Vec<u8> {
    let mut out = tag.to_vec();
    out.push(b' ');
    out.extend_from_slice(word.as_bytes());
    for (arg, form) in args.iter().zip(forms.iter().cycle()) {
        out.push(b' ');
        write_in_form(&mut out, arg, *form);
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The wire arguments of a command, as the RFC orders them.
fn command_arguments(kind: &CommandKind) -> Vec<Vec<u8>> {
    use base64::Engine;
    match kind {
        CommandKind::Authenticate {
            mechanism,
            initial_response,
        } => {
            let mut args = vec![mechanism.as_bytes().to_vec()];
            args.extend(initial_response.as_ref().map(|data| {
                match data.len() {
                    0 => b"=".to_vec(),
                    _ => base64::engine::general_purpose::STANDARD
                        .encode(data)
                        .into_bytes(),
                }
            }));
            args
        }
        CommandKind::Activate {
            name,
            location,
            acl,
        } => vec![name.clone(), location.clone(), acl.clone()],
        CommandKind::Reserve { name, location } | CommandKind::Deactivate { name, location } => {
            vec![name.clone(), location.clone()]
        }
        CommandKind::Delete { name } | CommandKind::Find { name } => vec![name.clone()],
        CommandKind::List { prefix } => prefix.iter().cloned().collect(),
        CommandKind::Update { hosts } => hosts.clone(),
        CommandKind::Resume { position, hosts } => std::iter::once(position.clone())
            .chain(hosts.iter().cloned())
            .collect(),
        CommandKind::Compress { algorithm } => vec![algorithm.as_bytes().to_vec()],
        CommandKind::Noop | CommandKind::Logout | CommandKind::StartTls => Vec::new(),
    }
}

fn field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(1u8..=255, 0..24),
        "[a-z]{1,8}(\\.[A-Za-z0-9^ -]{1,8}){0,3}".prop_map(String::into_bytes),
        "[a-z0-9]{1,8}(\t[lrswipkxtecdan]{1,11}\t){1,3}".prop_map(String::into_bytes),
    ]
}

fn atom_text() -> impl Strategy<Value = String> {
    "[A-Z0-9_-]{1,12}"
}

fn tag() -> impl Strategy<Value = Vec<u8>> {
    "[A-Za-z0-9.]{1,8}".prop_map(String::into_bytes)
}

fn command_kind() -> impl Strategy<Value = CommandKind> {
    prop_oneof![
        (
            atom_text(),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))
        )
            .prop_map(|(mechanism, initial_response)| CommandKind::Authenticate {
                mechanism,
                initial_response
            }),
        (field(), field(), field()).prop_map(|(name, location, acl)| CommandKind::Activate {
            name,
            location,
            acl
        }),
        (field(), field()).prop_map(|(name, location)| CommandKind::Reserve { name, location }),
        (field(), field()).prop_map(|(name, location)| CommandKind::Deactivate { name, location }),
        field().prop_map(|name| CommandKind::Delete { name }),
        field().prop_map(|name| CommandKind::Find { name }),
        proptest::option::of(field()).prop_map(|prefix| CommandKind::List { prefix }),
        proptest::collection::vec(field(), 0..4).prop_map(|hosts| CommandKind::Update { hosts }),
        (field(), proptest::collection::vec(field(), 0..3))
            .prop_map(|(position, hosts)| CommandKind::Resume { position, hosts }),
        Just(CommandKind::Noop),
        Just(CommandKind::Logout),
        Just(CommandKind::StartTls),
        atom_text().prop_map(|algorithm| CommandKind::Compress { algorithm }),
    ]
}

fn response() -> impl Strategy<Value = Response> {
    let record = prop_oneof![
        (field(), field(), field()).prop_map(|(name, location, acl)| Record::Mailbox {
            name,
            location,
            acl
        }),
        (field(), field()).prop_map(|(name, location)| Record::Reserve { name, location }),
        field().prop_map(|name| Record::Delete { name }),
    ];
    let status = prop_oneof![
        Just(Status::Ok),
        Just(Status::No),
        Just(Status::Bad),
        Just(Status::Bye)
    ];
    prop_oneof![
        (tag(), record).prop_map(|(tag, record)| Response::Record { tag, record }),
        (proptest::option::of(tag()), status, field())
            .prop_map(|(tag, status, text)| Response::Status { tag, status, text }),
    ]
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Quoted),
        Just(Form::Synchronizing),
        Just(Form::NonSynchronizing),
        Just(Form::Atom)
    ]
}

fn decode_command(input: &[u8]) -> Command {
    let step = CommandDecoder::new(LIMITS).decode(input);
    assert_eq!(step.consumed, input.len(), "{step:?}");
    match step.outcome {
        Outcome::Done(command) => command,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn decode_response(input: &[u8]) -> Response {
    match Response::decode(input, LIMITS) {
        Ok(Decoded::Done { value, consumed }) if consumed == input.len() => value,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

proptest! {
    #[test]
    fn commands_round_trip(tag in tag(), kind in command_kind()) {
        let command = Command { tag, kind };
        let mut out = Vec::new();
        command.encode(&mut out);
        prop_assert_eq!(decode_command(&out), command);
    }

    #[test]
    fn commands_decode_from_every_string_form(
        tag in tag(),
        kind in command_kind(),
        forms in proptest::collection::vec(form(), 1..4),
        lower in any::<bool>(),
    ) {
        let args = command_arguments(&kind);
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        let name = match lower {
            true => kind.name().to_ascii_lowercase(),
            false => kind.name().to_owned(),
        };
        let input = write_line(&tag, &name, &args, &forms);
        prop_assert_eq!(decode_command(&input), Command { tag, kind });
    }

    #[test]
    fn responses_round_trip(response in response()) {
        let mut out = Vec::new();
        response.encode(&mut out);
        prop_assert_eq!(decode_response(&out), response);
    }

    #[test]
    fn responses_decode_from_every_string_form(
        response in response(),
        forms in proptest::collection::vec(form(), 1..4),
    ) {
        let input = match &response {
            Response::Record { tag, record } => {
                let (word, args): (&str, Vec<&[u8]>) = match record {
                    Record::Mailbox { name, location, acl } => ("MAILBOX", vec![name, location, acl]),
                    Record::Reserve { name, location } => ("RESERVE", vec![name, location]),
                    Record::Delete { name } => ("DELETE", vec![name]),
                };
                write_line(tag, word, &args, &forms)
            }
            Response::Status { tag, status, text } => {
                // Atom-like text would be read as the rest of the line: only strings here.
                let forms: Vec<Form> = forms
                    .iter()
                    .map(|f| if matches!(f, Form::Atom) { Form::Quoted } else { *f })
                    .collect();
                let word = format!("{status:?}").to_ascii_uppercase();
                write_line(tag.as_deref().unwrap_or(b"*"), &word, &[text], &forms)
            }
        };
        prop_assert_eq!(decode_response(&input), response);
    }

    #[test]
    fn banners_round_trip(
        mechanisms in proptest::collection::vec(atom_text(), 0..4),
        starttls in any::<bool>(),
        compress in proptest::collection::vec(atom_text(), 0..2),
        partial_update in any::<bool>(),
        extensions in proptest::collection::vec("X-[A-Z]{1,8}( [ -~]{0,12})?", 0..3),
        names in proptest::collection::vec("[^\0\r\n]{0,16}", 3),
        master in proptest::option::of("mupdate://[a-z.]{1,12}/"),
    ) {
        let banner = Banner {
            mechanisms,
            starttls,
            compress,
            partial_update,
            extensions: extensions.into_iter().map(String::into_bytes).collect(),
            host: names[0].clone(),
            implementation: names[1].clone(),
            version: names[2].clone(),
            role: master.map_or(Role::Master, Role::Slave),
        };
        let mut out = Vec::new();
        banner.encode(&mut out);
        prop_assert_eq!(
            Banner::decode(&out, LIMITS),
            Ok(Decoded::Done { value: banner, consumed: out.len() })
        );
    }

    #[test]
    fn sasl_lines_round_trip(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        let mut out = Vec::new();
        encode_sasl_line(&data, &mut out);
        let step = CommandDecoder::new(LIMITS).decode_sasl(&out);
        prop_assert_eq!(step.consumed, out.len());
        prop_assert_eq!(step.outcome, Outcome::Done(SaslResponse::Data(data.clone())));
        prop_assert_eq!(
            AuthReply::decode(&out, LIMITS),
            Ok(Decoded::Done { value: AuthReply::Challenge(data), consumed: out.len() })
        );
    }
}
