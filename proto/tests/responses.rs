//! The response classifier on whole transcripts, at every prefix, and the writer's round trips.

mod common;

use common::{Side, stream, transcript};
use corvid_proto::imap::response::{
    Atoms, Code, Response, ResponseError, StatusKind, Untagged, classify,
};
use corvid_proto::imap::writer::{ListKind, ResponseWriter, WriteError};
use corvid_proto::lex::{
    self, AString, is_astring_char, is_quotable, is_tag_char, literal_at_line_end,
};
use proptest::prelude::*;

/// Where the response message starting at `at` ends: the classified line, then any literal
/// its line ends in and the rest of the line after it (what the framer would stream through).
fn message_end(s: &[u8], at: usize, used: usize) -> usize {
    let mut end = at + used;
    loop {
        let line = s[at..end].strip_suffix(b"\n").unwrap_or(&s[at..end]);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let last = line.rsplit(|&b| b == b'\n').next().unwrap_or(line);
        let Some(Ok(header)) = literal_at_line_end(last) else {
            return end;
        };
        end += usize::try_from(header.len).expect("literal length fits");
        if end >= s.len() {
            return s.len();
        }
        end += memchr::memchr(b'\n', &s[end..]).expect("line end after a literal") + 1;
    }
}

/// The server messages of a transcript, checking on the way that every strict prefix of each
/// message's classified line is Incomplete.
fn server_messages(name: &str) -> Vec<Vec<u8>> {
    let s = stream(&transcript(name), Side::Server);
    let mut at = 0;
    let mut messages = Vec::new();
    while at < s.len() {
        let (_, used) = classify(&s[at..]).unwrap_or_else(|e| {
            let next = String::from_utf8_lossy(&s[at..(at + 80).min(s.len())]);
            panic!("{name}: {e}: {next:?} after {} messages", messages.len())
        });
        for cut in at..at + used {
            assert_eq!(
                classify(&s[at..cut]),
                Err(ResponseError::Incomplete),
                "{:?} cut at {}",
                String::from_utf8_lossy(&s[at..at + used]),
                cut - at
            );
        }
        let end = message_end(&s, at, used);
        messages.push(s[at..end].to_vec());
        at = end;
    }
    messages
}

/// A one-line summary of each server message of a transcript.
fn classify_stream(name: &str) -> Vec<String> {
    let summarise = |m: Vec<u8>| classify(&m).map(|(r, _)| summary(&r)).expect("classified");
    server_messages(name).into_iter().map(summarise).collect()
}

/// The variant name of a Debug rendering: `Exists(3)` -> `Exists`.
fn variant(debug: String) -> String {
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn summary(r: &Response<'_>) -> String {
    let status = |who: &str, s: &corvid_proto::imap::response::Status<'_>| {
        let code = s
            .code
            .map(|c| format!(" {}", variant(format!("{c:?}"))))
            .unwrap_or_default();
        format!("{who} {:?}{code}", s.kind)
    };
    match r {
        Response::Continuation { .. } => "+".to_owned(),
        Response::Tagged { tag, status: s } => status(&String::from_utf8_lossy(tag), s),
        Response::Untagged(Untagged::Status(s)) => status("*", s),
        Response::Untagged(u) => format!("* {}", variant(format!("{u:?}"))),
    }
}

#[test]
fn rfc3501_example_session() {
    assert_eq!(
        classify_stream("rfc3501-example.txt"),
        [
            "* Ok",
            "a001 Ok",
            "* Exists",
            "* Flags",
            "* Recent",
            "* Ok Unseen",
            "* Ok UidValidity",
            "a002 Ok ReadWrite",
            "* Fetch",
            "a003 Ok",
            "* Fetch",
            "a004 Ok",
            "* Fetch",
            "a005 Ok",
            "* Bye",
            "a006 Ok",
        ]
    );
}

#[test]
fn server_corpus() {
    let expected = [
        "* Ok Capability",
        "* Ok Capability",
        "* Preauth Capability",
        "* Capability",
        "a1 Ok Capability",
        "* Enabled",
        "* Id",
        "* Id",
        "* Flags",
        "* Ok PermanentFlags",
        "* Exists",
        "* Recent",
        "* Ok Unseen",
        "* Ok UidValidity",
        "* Ok UidNext",
        "* Ok HighestModSeq",
        "* Ok Other",
        "* Ok Closed",
        "* Vanished",
        "* Vanished",
        "a2 Ok ReadWrite",
        "a3 Ok ReadOnly",
        "* Esearch",
        "* Search",
        "* Search",
        "a5 Ok AppendUid",
        "a6 Ok CopyUid",
        "a7 Ok CopyUid",
        "* Expunge",
        "a8 No TryCreate",
        "a9 No NonExistent",
        "a10 No AlreadyExists",
        "a11 No NoPerm",
        "a12 No OverQuota",
        "a13 No Unavailable",
        "a14 No InUse",
        "a15 No Referral",
        "a16 No Referral",
        "a17 Bad Parse",
        "a18 No BadCharset",
        "a19 Ok Other",
        "a20 Ok",
        "a21 Ok ReadWrite",
        "* Ok Alert",
        "* No Alert",
        "* Bad",
        "* List",
        "* List",
        "* List",
        "* List",
        "* List",
        "* List",
        "* List",
        "* List",
        "* List",
        "* List",
        "* Lsub",
        "* MailboxStatus",
        "* MailboxStatus",
        "* Acl",
        "* MyRights",
        "* ListRights",
        "* Namespace",
        "* Namespace",
        "* Fetch",
        "* Fetch",
        "* Other",
        "* Other",
        "+",
        "+",
        "+",
        "+",
        "* Bye",
        "* Bye Alert",
        "a22 Ok",
    ];
    assert_eq!(classify_stream("responses-servers.txt"), expected);
}

#[test]
fn corpus_fields() {
    let t = transcript("responses-servers.txt");
    let line = |start: &str| {
        t.iter()
            .map(|(_, b)| b.as_slice())
            .find(|b| b.starts_with(start.as_bytes()))
            .unwrap_or_else(|| panic!("{start}"))
    };
    let (r, _) = classify(line("a16 ")).unwrap();
    let Response::Tagged { status, .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(
        status.code,
        Some(Code::Referral(b"imap://alice@[2001:db8::1]/Shared/x"))
    );
    assert_eq!(status.text, b"Mailbox moved");

    let (r, _) = classify(line("* LIST (\\HasNoChildren) \"/\" {9}")).unwrap();
    let Response::Untagged(Untagged::List(list)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(list.mailbox.to_vec(), b"foo bar\r\n");

    let (r, _) = classify(line("* LIST (\\HasNoChildren) \"/\" \"Quote")).unwrap();
    let Response::Untagged(Untagged::List(list)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(list.mailbox.to_vec(), b"Quote\"And\\Backslash");

    let (r, _) = classify(line("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN")).unwrap();
    let Response::Untagged(Untagged::Status(s)) = r else {
        panic!("{r:?}")
    };
    let Some(Code::Capability(caps)) = s.code else {
        panic!("{s:?}")
    };
    assert!(caps.contains(b"literal+") && caps.iter().count() == 9);

    let (r, _) = classify(line("* VANISHED (EARLIER)")).unwrap();
    assert_eq!(
        r,
        Response::Untagged(Untagged::Vanished {
            earlier: true,
            uids: b"41,43:116,118,120:211,214:540"
        })
    );
}

/// imap-codec (an independent, complete parser) agrees on every message both of us read.
#[test]
fn agrees_with_imap_codec() {
    use imap_codec::ResponseCodec;
    use imap_codec::decode::Decoder;
    use imap_codec::imap_types::response::{self as theirs, Data};

    let kind = |k: theirs::StatusKind| match k {
        theirs::StatusKind::Ok => StatusKind::Ok,
        theirs::StatusKind::No => StatusKind::No,
        theirs::StatusKind::Bad => StatusKind::Bad,
    };
    let mut compared = 0;
    for name in ["rfc3501-example.txt", "responses-servers.txt"] {
        for message in server_messages(name) {
            let Ok((_, their)) = ResponseCodec::default().decode(&message) else {
                continue;
            };
            let (ours, _) = classify(&message).expect("classified");
            let text = String::from_utf8_lossy(&message);
            match (&their, ours) {
                (
                    theirs::Response::CommandContinuationRequest(_),
                    Response::Continuation { .. },
                ) => {}
                (
                    theirs::Response::Status(theirs::Status::Tagged(t)),
                    Response::Tagged { tag, status },
                ) => {
                    assert_eq!(
                        (t.tag.inner().as_bytes(), kind(t.body.kind)),
                        (tag, status.kind),
                        "{text}"
                    );
                }
                (
                    theirs::Response::Status(theirs::Status::Untagged(b)),
                    Response::Untagged(Untagged::Status(s)),
                ) => {
                    assert_eq!(kind(b.kind), s.kind, "{text}");
                }
                (
                    theirs::Response::Status(theirs::Status::Bye(_)),
                    Response::Untagged(Untagged::Status(s)),
                ) => {
                    assert_eq!(s.kind, StatusKind::Bye, "{text}");
                }
                (theirs::Response::Data(data), Response::Untagged(u)) => match (data, u) {
                    (Data::Exists(n), Untagged::Exists(m))
                    | (Data::Recent(n), Untagged::Recent(m)) => {
                        assert_eq!(*n, m, "{text}");
                    }
                    (Data::Expunge(n), Untagged::Expunge(m)) => assert_eq!(n.get(), m, "{text}"),
                    (Data::Fetch { seq, .. }, Untagged::Fetch { number, .. }) => {
                        assert_eq!(seq.get(), number, "{text}");
                    }
                    (Data::Capability(caps), Untagged::Capability(atoms)) => {
                        assert_eq!(caps.as_ref().len(), atoms.iter().count(), "{text}");
                    }
                    (Data::Enabled { capabilities }, Untagged::Enabled(atoms)) => {
                        assert_eq!(capabilities.len(), atoms.iter().count(), "{text}");
                    }
                    (Data::Flags(flags), Untagged::Flags(atoms)) => {
                        assert_eq!(flags.len(), atoms.iter().count(), "{text}");
                    }
                    (
                        Data::List {
                            items, delimiter, ..
                        },
                        Untagged::List(l),
                    )
                    | (
                        Data::Lsub {
                            items, delimiter, ..
                        },
                        Untagged::Lsub(l),
                    ) => {
                        assert_eq!(items.len(), l.attributes.iter().count(), "{text}");
                        let delimiter = delimiter.as_ref().map(|d| d.inner() as u32);
                        assert_eq!(delimiter, l.delimiter.map(u32::from), "{text}");
                    }
                    (Data::Status { .. }, Untagged::MailboxStatus(_)) => {}
                    (Data::Search(numbers, ..), Untagged::Search(span)) => {
                        let ours = span.split(|&b| b == b' ').filter(|n| !n.is_empty()).count();
                        assert_eq!(numbers.len(), ours, "{text}");
                    }
                    (Data::Quota { .. }, Untagged::Other { name, .. }) => {
                        assert!(name.eq_ignore_ascii_case(b"QUOTA"), "{text}");
                    }
                    (data, u) => panic!("{text}: {data:?} vs {u:?}"),
                },
                (their, ours) => panic!("{text}: {their:?} vs {ours:?}"),
            }
            compared += 1;
        }
    }
    assert!(compared >= 50, "only {compared} messages compared");
}

// ---------------------------------------------------------------------------------------------
// Writer round trips.

/// Parses `wire` (followed by a space, so that an atom ends) back as an astring that must end
/// exactly there.
fn read_astring(wire: &mut Vec<u8>) -> AString<'_> {
    wire.push(b' ');
    let (rest, a) = lex::astring(wire).unwrap_or_else(|e| panic!("{wire:?}: {e:?}"));
    assert_eq!(rest, b" ");
    a
}

/// The text a status line carries after the writer's sanitising (see writer's module doc).
fn sanitised(text: &[u8], utf8: bool, has_code: bool) -> Vec<u8> {
    if text.is_empty() {
        return b".".to_vec();
    }
    let lead: &[u8] = if !has_code && text[0] == b'[' {
        b" "
    } else {
        b""
    };
    let body = text.iter().map(|&b| match b {
        0 | b'\r' | b'\n' => b' ',
        0x80.. if !utf8 => b'?',
        _ => b,
    });
    lead.iter().copied().chain(body).collect()
}

fn kind() -> impl Strategy<Value = StatusKind> {
    prop_oneof![
        Just(StatusKind::Ok),
        Just(StatusKind::No),
        Just(StatusKind::Bad),
        Just(StatusKind::Preauth),
        Just(StatusKind::Bye),
    ]
}

fn code() -> impl Strategy<Value = Option<Code<'static>>> {
    prop_oneof![
        Just(None),
        Just(Some(Code::Alert)),
        Just(Some(Code::TryCreate)),
        any::<u32>().prop_map(|n| Some(Code::UidValidity(n))),
        Just(Some(Code::Capability(
            Atoms::new(b"IMAP4rev1 IDLE").expect("atoms")
        ))),
        Just(Some(Code::CopyUid {
            uid_validity: 9,
            source: b"1:3",
            destination: b"4,5"
        })),
        Just(Some(Code::Referral(b"imap://;AUTH=*@b2/user.x"))),
    ]
}

fn tag() -> impl Strategy<Value = Vec<u8>> {
    let tag_chars: Vec<u8> = (0..=u8::MAX).filter(|&b| is_tag_char(b)).collect();
    proptest::collection::vec(prop::sample::select(tag_chars), 1..8)
}

proptest! {
    #[test]
    fn astring_round_trip_in_smallest_form(
        value in proptest::collection::vec(1..=u8::MAX, 0..40),
        utf8 in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        ResponseWriter::new(&mut wire, utf8).astring(&value).unwrap();
        let parsed = read_astring(&mut wire);
        prop_assert_eq!(parsed.to_vec(), value.clone());
        let atom = !value.is_empty()
            && value.iter().all(|&b| is_astring_char(b))
            && !value.eq_ignore_ascii_case(b"NIL")
            && value[0] != b'~';
        let quoted = value.iter().all(|&b| is_quotable(b) && (utf8 || b.is_ascii()));
        match parsed {
            AString::Atom(_) => prop_assert!(atom),
            AString::Quoted(_) => prop_assert!(!atom && quoted),
            AString::Literal(h, _) => prop_assert!(!atom && !quoted && !h.non_sync && !h.binary),
        }
    }

    #[test]
    fn any_nul_is_refused(
        head in proptest::collection::vec(any::<u8>(), 0..10),
        tail in proptest::collection::vec(any::<u8>(), 0..10),
    ) {
        let value = [head, vec![0], tail].concat();
        let mut wire = Vec::new();
        prop_assert_eq!(ResponseWriter::new(&mut wire, true).astring(&value), Err(WriteError::Nul));
        prop_assert!(wire.is_empty());
    }

    #[test]
    fn status_lines_read_back(
        tag in proptest::option::of(tag()),
        kind in kind(),
        code in code(),
        text in proptest::collection::vec(any::<u8>(), 0..40),
        utf8 in any::<bool>(),
    ) {
        let mut wire = Vec::new();
        let written = ResponseWriter::new(&mut wire, utf8).status(tag.as_deref(), kind, code.as_ref(), &text);
        if tag.is_some() && !kind.may_be_tagged() {
            prop_assert_eq!(written, Err(WriteError::TaggedStatus(kind)));
            return Ok(());
        }
        prop_assert_eq!(written, Ok(()));
        let (r, used) = classify(&wire).unwrap();
        prop_assert_eq!(used, wire.len());
        let status = match (r, tag.as_deref()) {
            (Response::Tagged { tag: t, status }, Some(tag)) if t == tag => status,
            (Response::Untagged(Untagged::Status(status)), None) => status,
            (r, _) => return Err(TestCaseError::fail(format!("{r:?}"))),
        };
        prop_assert_eq!(status.kind, kind);
        prop_assert_eq!(status.code, code);
        let expected_text = sanitised(&text, utf8, code.is_some());
        prop_assert_eq!(status.text, expected_text.as_slice());
        for cut in 0..wire.len() {
            prop_assert_eq!(classify(&wire[..cut]), Err(ResponseError::Incomplete));
        }
    }

    #[test]
    fn list_lines_read_back(
        lsub in any::<bool>(),
        attributes in prop_oneof![Just(&b""[..]), Just(&b"\\HasNoChildren"[..]), Just(&b"\\Noselect \\HasChildren"[..])],
        delimiter in proptest::option::of(0x21u8..0x7f),
        mailbox in prop_oneof![
            proptest::collection::vec(1..=u8::MAX, 0..30),
            Just(b"iNbOx".to_vec()),
        ],
        utf8 in any::<bool>(),
    ) {
        let attributes = Atoms::new(attributes).unwrap();
        let kind = if lsub { ListKind::Lsub } else { ListKind::List };
        let mut wire = Vec::new();
        ResponseWriter::new(&mut wire, utf8).list(kind, &attributes, delimiter, &mailbox).unwrap();
        let (r, used) = classify(&wire).unwrap();
        prop_assert_eq!(used, wire.len());
        let list = match r {
            Response::Untagged(Untagged::List(l)) if !lsub => l,
            Response::Untagged(Untagged::Lsub(l)) if lsub => l,
            r => return Err(TestCaseError::fail(format!("{r:?}"))),
        };
        prop_assert_eq!(list.attributes, attributes);
        prop_assert_eq!(list.delimiter, delimiter);
        let expected = if mailbox.eq_ignore_ascii_case(b"INBOX") { b"INBOX".to_vec() } else { mailbox };
        prop_assert_eq!(list.mailbox.to_vec(), expected);
        prop_assert_eq!(list.extended, b"");
    }

    #[test]
    fn classify_never_panics_and_prefixes_agree(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        corvid_proto::fuzzing::response::fuzz_response(&data);
    }

    #[test]
    fn mutated_corpus_lines_keep_the_invariants(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(&b" []()\"{}~+*\\\r\n0:,\x00\xc3AN"[..]), any::<bool>()),
            1..4,
        ),
    ) {
        let t = transcript("responses-servers.txt");
        let mut line = pick.get(&t).1.clone();
        for (at, byte, insert) in edits {
            let at = at.index(line.len() + 1);
            if insert || at == line.len() {
                line.insert(at, byte);
            } else {
                line[at] = byte;
            }
        }
        corvid_proto::fuzzing::response::fuzz_response(&line);
    }

    #[test]
    fn writer_fuzz_body_holds(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        corvid_proto::fuzzing::response::fuzz_writer(&data);
    }
}
