//! Command heads on a corpus (tests/data/commands-corpus.txt), on RFC 3501's sample session, and
//! on generated commands: expected fields, and every prefix Incomplete or the same result.

mod common;

use common::{Side, transcript};
use corvid_proto::imap::command::{Args, CommandHead, CommandKind, HeadError, parse_head};
use corvid_proto::lex::{AString, is_astring_char, is_quotable};
use proptest::prelude::*;

/// Bytes as the corpus writes them: printable ASCII as is, CR and LF as `\r` and `\n`.
fn text(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\r' => "\\r".to_owned(),
            b'\n' => "\\n".to_owned(),
            0x20..=0x7e => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}

fn astring(a: AString<'_>) -> String {
    match a {
        AString::Atom(raw) => text(raw),
        AString::Quoted(raw) => format!("\"{}\"", text(raw)),
        AString::Literal(form, payload) => {
            let mut wire = Vec::new();
            form.header(payload.len()).write(&mut wire);
            wire.extend_from_slice(payload);
            text(&wire)
        }
    }
}

/// The corpus's one-line rendering of a parse result.
fn render(result: Result<CommandHead<'_>, HeadError<'_>>) -> String {
    let head = match result {
        Ok(head) => head,
        Err(HeadError::Incomplete) => return "INCOMPLETE".to_owned(),
        Err(HeadError::Invalid { tag, reason }) => {
            return format!("BAD {} {reason:?}", tag.map_or("*".to_owned(), text));
        }
    };
    let mut out = vec![text(head.tag)];
    if head.uid {
        out.push("UID".to_owned());
    }
    out.push(text(head.name));
    out.push(format!("{:?}", head.kind));
    let mut field = |name: &str, value: String| out.push(format!("{name}={value}"));
    match head.args {
        Args::None => {}
        Args::Mailbox(m) => field("mailbox", astring(m)),
        Args::Rename { from, to, location } => {
            field("from", astring(from));
            field("to", astring(to));
            if let Some(location) = location {
                field("location", astring(location));
            }
        }
        Args::Copy {
            sequence_set,
            mailbox,
        } => {
            field("set", text(sequence_set));
            field("mailbox", astring(mailbox));
        }
        Args::List(list) => {
            if let Some(s) = list.selection {
                field("select", text(s));
            }
            field("ref", astring(list.reference));
            for p in list.patterns {
                field("pattern", astring(p));
            }
            if let Some(r) = list.return_options {
                field("return", text(r));
            }
        }
        Args::Acl {
            mailbox,
            identifier,
            rights,
        } => {
            field("mailbox", astring(mailbox));
            field("id", astring(identifier));
            if let Some(r) = rights {
                field("rights", astring(r));
            }
        }
        Args::GetMetadata { options, mailbox } => {
            if let Some(o) = options {
                field("options", text(o));
            }
            field("mailbox", astring(mailbox));
        }
        Args::Login { user, password } => {
            field("user", astring(user));
            field("password", astring(password));
        }
        Args::Authenticate {
            mechanism,
            initial_response,
        } => {
            field("mech", text(mechanism));
            if let Some(ir) = initial_response {
                field("ir", text(ir));
            }
        }
    }
    out.push(if head.complete { "end" } else { "more" }.to_owned());
    out.join(" ")
}

/// Every strict prefix is Incomplete or the same result, and a head's own bytes are needed:
/// prefixes that stop before the parser could decide are Incomplete.
fn check_prefixes(input: &[u8]) {
    let whole = parse_head(input);
    let decided_at = match whole {
        Ok(head) if head.complete => head.consumed,
        Ok(head) => head.consumed + 1, // the space after the unread arguments' start
        Err(HeadError::Invalid { .. }) => 1,
        Err(HeadError::Incomplete) => panic!("{:?} is incomplete", text(input)),
    };
    for cut in 0..input.len() {
        let part = parse_head(&input[..cut]);
        if cut < decided_at && whole.is_ok() {
            assert_eq!(
                part,
                Err(HeadError::Incomplete),
                "{:?} cut at {cut}",
                text(input)
            );
        } else {
            assert!(
                part == Err(HeadError::Incomplete) || part == whole,
                "{:?} cut at {cut}: {part:?}",
                text(input)
            );
        }
    }
}

/// The corpus as (command bytes, expected rendering) pairs.
fn corpus() -> Vec<(Vec<u8>, String)> {
    let entries = transcript("commands-corpus.txt");
    let mut pairs = Vec::new();
    let mut lines = entries.into_iter();
    while let Some((side, command)) = lines.next() {
        assert_eq!(side, Side::Client, "{:?}", text(&command));
        let (side, expected) = lines.next().expect("an S: line after each C: entry");
        assert_eq!(side, Side::Server);
        let expected = String::from_utf8(expected).expect("ASCII");
        pairs.push((command, expected.trim_end().to_owned()));
    }
    pairs
}

#[test]
fn corpus_heads_and_prefixes() {
    let pairs = corpus();
    assert!(pairs.len() > 100, "{}", pairs.len());
    for (command, expected) in &pairs {
        let result = parse_head(command);
        assert_eq!(render(result), *expected, "{:?}", text(command));
        if let Ok(head) = result {
            let end = if head.complete {
                command.len()
            } else {
                assert_eq!(command.get(head.consumed), Some(&b' '));
                head.consumed
            };
            assert_eq!(head.consumed, end);
        }
        check_prefixes(command);
    }
}

#[test]
fn corpus_covers_every_kind_that_reads_arguments() {
    let rendered: Vec<String> = corpus().into_iter().map(|(_, s)| s).collect();
    for kind in [
        "Select",
        "Examine",
        "Create",
        "Delete",
        "Rename",
        "Subscribe",
        "Unsubscribe",
        "Status",
        "Append",
        "Copy",
        "Move",
        "List",
        "Lsub",
        "Login",
        "Authenticate",
        "Idle",
        "GetAcl",
        "SetAcl",
        "DeleteAcl",
        "ListRights",
        "MyRights",
        "GetQuotaRoot",
        "GetMetadata",
        "SetMetadata",
    ] {
        let cases: Vec<&String> = rendered
            .iter()
            .filter(|s| s.contains(&format!(" {kind} ")))
            .collect();
        assert!(!cases.is_empty(), "{kind}");
        if !matches!(kind, "Idle" | "Authenticate") {
            for forms in [&["=\""][..], &["={", "=~{"]] {
                assert!(
                    cases.iter().any(|s| forms.iter().any(|f| s.contains(f))),
                    "{kind} has no case in the forms {forms:?}"
                );
            }
        }
    }
}

#[test]
fn rfc3501_session_client_lines() {
    let lines = transcript("rfc3501-example.txt");
    let client: Vec<&Vec<u8>> = lines
        .iter()
        .filter(|(side, _)| *side == Side::Client)
        .map(|(_, bytes)| bytes)
        .collect();
    assert_eq!(client.len(), 6);
    for line in client {
        let head = parse_head(line).expect("a valid command");
        assert!(line.starts_with(head.tag) && line.get(head.tag.len()) == Some(&b' '));
        assert_ne!(head.kind, CommandKind::Unknown);
        check_prefixes(line);
    }
}

// ---------------------------------------------------------------------------------------------
// Generated commands.

/// How a generated astring goes on the wire.
#[derive(Debug, Clone, Copy)]
enum Form {
    Atom,
    Quoted,
    Literal,
    NonSync,
    Binary,
}

/// The forms that can carry `value`, most compact first.
fn forms(value: &[u8]) -> Vec<Form> {
    let mut out = Vec::new();
    if !value.is_empty() && value.iter().all(|&b| is_astring_char(b)) {
        out.push(Form::Atom);
    }
    if value.iter().all(|&b| is_quotable(b)) {
        out.push(Form::Quoted);
    }
    if !value.contains(&0) {
        out.extend([Form::Literal, Form::NonSync]);
    }
    out.push(Form::Binary);
    out
}

fn encode(out: &mut Vec<u8>, value: &[u8], pick: usize) {
    let forms = forms(value);
    let form = forms[pick % forms.len()];
    match form {
        Form::Atom => out.extend_from_slice(value),
        Form::Quoted => {
            out.push(b'"');
            for &b in value {
                if b == b'"' || b == b'\\' {
                    out.push(b'\\');
                }
                out.push(b);
            }
            out.push(b'"');
        }
        Form::Literal | Form::NonSync | Form::Binary => {
            let prefix = if matches!(form, Form::Binary) {
                "~"
            } else {
                ""
            };
            let plus = if matches!(form, Form::NonSync) {
                "+"
            } else {
                ""
            };
            out.extend_from_slice(format!("{prefix}{{{}{plus}}}\r\n", value.len()).as_bytes());
            out.extend_from_slice(value);
        }
    }
}

/// A command template: name, whether the UID prefix fits, how many routed astrings it has,
/// and the fixed text between or after them.
struct Template {
    name: &'static str,
    kind: CommandKind,
    astrings: usize,
    before: &'static str,
    after: &'static str,
    complete: bool,
}

const TEMPLATES: &[Template] = &[
    t("SELECT", CommandKind::Select, 1, "", "", true),
    t(
        "EXAMINE",
        CommandKind::Examine,
        1,
        "",
        " (CONDSTORE)",
        false,
    ),
    t("CREATE", CommandKind::Create, 1, "", "", true),
    t("DELETE", CommandKind::Delete, 1, "", "", true),
    t("SUBSCRIBE", CommandKind::Subscribe, 1, "", "", true),
    t("UNSUBSCRIBE", CommandKind::Unsubscribe, 1, "", "", true),
    t("STATUS", CommandKind::Status, 1, "", " (MESSAGES)", false),
    t("APPEND", CommandKind::Append, 1, "", " {3}", false),
    t("GETACL", CommandKind::GetAcl, 1, "", "", true),
    t("MYRIGHTS", CommandKind::MyRights, 1, "", "", true),
    t("GETQUOTAROOT", CommandKind::GetQuotaRoot, 1, "", "", true),
    t("RENAME", CommandKind::Rename, 2, "", "", true),
    t("LOGIN", CommandKind::Login, 2, "", "", true),
    t("LIST", CommandKind::List, 2, "", "", true),
    t("LSUB", CommandKind::Lsub, 2, "", "", true),
    t("DELETEACL", CommandKind::DeleteAcl, 2, "", "", true),
    t("SETACL", CommandKind::SetAcl, 3, "", "", true),
    t("COPY", CommandKind::Copy, 1, " 1:3,7:*", "", true),
    t("MOVE", CommandKind::Move, 1, " $", "", true),
];

const fn t(
    name: &'static str,
    kind: CommandKind,
    astrings: usize,
    before: &'static str,
    after: &'static str,
    complete: bool,
) -> Template {
    Template {
        name,
        kind,
        astrings,
        before,
        after,
        complete,
    }
}

/// The logical bytes of the routed astrings, in order.
fn routed_values(args: Args<'_>) -> Vec<Vec<u8>> {
    let all: Vec<AString<'_>> = match args {
        Args::None | Args::Authenticate { .. } => vec![],
        Args::Mailbox(m) => vec![m],
        Args::Rename { from, to, location } => [from, to].into_iter().chain(location).collect(),
        Args::Copy { mailbox, .. } => vec![mailbox],
        Args::List(list) => [list.reference].into_iter().chain(list.patterns).collect(),
        Args::Acl {
            mailbox,
            identifier,
            rights,
        } => [mailbox, identifier].into_iter().chain(rights).collect(),
        Args::GetMetadata { mailbox, .. } => vec![mailbox],
        Args::Login { user, password } => vec![user, password],
    };
    all.iter().map(AString::to_vec).collect()
}

fn tag_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        any::<u8>().prop_filter("tag char", |&b| corvid_proto::lex::is_tag_char(b)),
        1..8,
    )
}

proptest! {
    #[test]
    fn generated_commands_parse_back(
        tag in tag_strategy(),
        template in 0..TEMPLATES.len(),
        uid in any::<bool>(),
        lower in prop::collection::vec(any::<bool>(), 16),
        values in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 3),
        picks in prop::collection::vec(any::<usize>(), 3),
        cut in any::<prop::sample::Index>(),
    ) {
        let template = &TEMPLATES[template];
        let uid = uid && matches!(template.kind, CommandKind::Copy | CommandKind::Move);
        let name: Vec<u8> = template
            .name
            .bytes()
            .zip(&lower)
            .map(|(b, &l)| if l { b.to_ascii_lowercase() } else { b })
            .collect();
        let mut input = tag.clone();
        input.push(b' ');
        if uid {
            input.extend_from_slice(b"uid ");
        }
        input.extend_from_slice(&name);
        input.extend_from_slice(template.before.as_bytes());
        for (value, &pick) in values.iter().zip(&picks).take(template.astrings) {
            input.push(b' ');
            encode(&mut input, value, pick);
        }
        input.extend_from_slice(template.after.as_bytes());
        input.extend_from_slice(b"\r\n");

        let head = parse_head(&input).map_err(|e| TestCaseError::fail(format!("{e:?} on {:?}", text(&input))))?;
        prop_assert_eq!(head.tag, &tag[..]);
        prop_assert_eq!(head.uid, uid);
        prop_assert_eq!(head.name, &name[..]);
        prop_assert_eq!(head.kind, template.kind);
        prop_assert_eq!(head.complete, template.complete);
        let expected_len = input.len() - if template.complete { 0 } else { template.after.len() + 2 };
        prop_assert_eq!(head.consumed, expected_len);
        prop_assert_eq!(routed_values(head.args), values[..template.astrings].to_vec());

        let part = parse_head(&input[..cut.index(input.len())]);
        prop_assert!(part == Err(HeadError::Incomplete) || part == Ok(head), "{:?}", part);
    }
}
