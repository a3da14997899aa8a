//! Differential test against imap-codec's full command parser (`CommandCodec`), on the corpus
//! (tests/data/commands-corpus.txt plus RFC 3501's sample session) and on commands imap-codec
//! itself encodes from generated values.
//!
//! Where both parse a command they must agree on the tag, the command name and the mailbox
//! names (and LOGIN's credentials); where the head ends at the routed arguments, both must
//! also find the same message length. What the head parser refuses, imap-codec must refuse
//! too. imap-codec (with its default features) does not know ACL, METADATA, LIST-EXTENDED,
//! `~{n}` astrings or unknown commands, so some of the corpus is ours alone.

mod common;

use std::borrow::Cow;

use common::{Side, transcript};
use corvid_proto::imap::command::{Args, CommandHead, HeadError, Reason, parse_head};
use corvid_proto::lex::AString;
use imap_codec::CommandCodec;
use imap_codec::decode::{CommandDecodeError, Decoder};
use imap_codec::encode::Encoder;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox};
use imap_codec::imap_types::status::StatusDataItemName;
use proptest::prelude::*;

/// What routing sees of a command: tag, name, and the routed names as logical bytes
/// (mailbox names that denote INBOX written `INBOX`, as imap-codec normalises them).
#[derive(Debug, PartialEq, Eq)]
struct View {
    tag: Vec<u8>,
    name: String,
    names: Vec<Vec<u8>>,
}

fn mailbox_name(a: AString<'_>) -> Vec<u8> {
    if a.is_inbox() {
        b"INBOX".to_vec()
    } else {
        a.to_vec()
    }
}

fn their_mailbox(m: &Mailbox<'_>) -> Vec<u8> {
    match m {
        Mailbox::Inbox => b"INBOX".to_vec(),
        Mailbox::Other(other) => other.as_ref().to_vec(),
    }
}

fn their_pattern(p: &ListMailbox<'_>) -> Vec<u8> {
    match p {
        ListMailbox::Token(token) => token.as_ref().to_vec(),
        ListMailbox::String(string) => string.as_ref().to_vec(),
    }
}

fn our_view(head: &CommandHead<'_>) -> View {
    let names = match head.args {
        Args::None | Args::Authenticate { .. } => vec![],
        Args::Mailbox(m) | Args::Copy { mailbox: m, .. } => vec![mailbox_name(m)],
        Args::GetMetadata { mailbox, .. } => vec![mailbox_name(mailbox)],
        Args::Rename { from, to, .. } => vec![mailbox_name(from), mailbox_name(to)],
        Args::List(list) => [mailbox_name(list.reference)]
            .into_iter()
            .chain(list.patterns.iter().map(|p| p.to_vec()))
            .collect(),
        Args::Acl {
            mailbox,
            identifier,
            ..
        } => vec![mailbox_name(mailbox), identifier.to_vec()],
        Args::Login { user, password } => vec![user.to_vec(), password.to_vec()],
    };
    View {
        tag: head.tag.to_vec(),
        name: String::from_utf8_lossy(head.name).to_ascii_uppercase(),
        names,
    }
}

fn their_view(command: &Command<'_>) -> View {
    let names = match &command.body {
        CommandBody::Select { mailbox, .. }
        | CommandBody::Examine { mailbox, .. }
        | CommandBody::Create { mailbox }
        | CommandBody::Delete { mailbox }
        | CommandBody::Subscribe { mailbox }
        | CommandBody::Unsubscribe { mailbox }
        | CommandBody::Status { mailbox, .. }
        | CommandBody::Append { mailbox, .. }
        | CommandBody::GetQuotaRoot { mailbox }
        | CommandBody::Copy { mailbox, .. }
        | CommandBody::Move { mailbox, .. } => vec![their_mailbox(mailbox)],
        CommandBody::Rename { from, to } => vec![their_mailbox(from), their_mailbox(to)],
        CommandBody::List {
            reference,
            mailbox_wildcard,
        }
        | CommandBody::Lsub {
            reference,
            mailbox_wildcard,
        } => vec![their_mailbox(reference), their_pattern(mailbox_wildcard)],
        CommandBody::Login { username, password } => {
            vec![
                username.as_ref().to_vec(),
                password.declassify().as_ref().to_vec(),
            ]
        }
        _ => vec![],
    };
    View {
        tag: command.tag.inner().as_bytes().to_vec(),
        name: command.body.name().to_owned(),
        names,
    }
}

/// How the two parsers compared on one input.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Both parsed it, and agreed.
    Agreed,
    /// Only the head parser parsed it (a command imap-codec does not know).
    OursOnly,
    /// Both refused it.
    BothRefused,
    /// The head parser refused it by policy (a routed literal too long), not by grammar.
    PolicyRefused,
}

/// Compares the two parsers on one whole command; panics where they must agree but do not.
fn compare(input: &[u8]) -> Outcome {
    let ours = parse_head(input);
    let theirs = CommandCodec::default().decode(input);
    let shown = String::from_utf8_lossy(input);
    match (ours, theirs) {
        (Ok(head), Ok((rest, command))) => {
            assert_eq!(our_view(&head), their_view(&command), "{shown:?}");
            if head.complete {
                assert_eq!(head.consumed, input.len() - rest.len(), "{shown:?}");
            }
            Outcome::Agreed
        }
        (Ok(_), Err(_)) => Outcome::OursOnly,
        (
            Err(HeadError::Invalid {
                reason: Reason::LiteralTooLong,
                ..
            }),
            _,
        ) => Outcome::PolicyRefused,
        (Err(HeadError::Invalid { .. }), Err(CommandDecodeError::Failed)) => Outcome::BothRefused,
        (ours, theirs) => panic!("{shown:?}: ours {ours:?}, imap-codec {theirs:?}"),
    }
}

#[test]
fn corpus_agrees_with_imap_codec() {
    let inputs = transcript("commands-corpus.txt")
        .into_iter()
        .chain(transcript("rfc3501-example.txt"))
        .filter(|(side, _)| *side == Side::Client);
    let mut counts = [0usize; 4];
    for (_, input) in inputs {
        let index = match compare(&input) {
            Outcome::Agreed => 0,
            Outcome::OursOnly => 1,
            Outcome::BothRefused => 2,
            Outcome::PolicyRefused => 3,
        };
        counts[index] += 1;
    }
    let [agreed, _, refused, _] = counts;
    assert!(agreed >= 60, "{counts:?}");
    assert!(refused >= 15, "{counts:?}");
}

/// Builds one command imap-codec can encode from generated values.
fn generated_body(
    which: usize,
    a: Vec<u8>,
    b: Vec<u8>,
    pattern: String,
    uid: bool,
) -> Option<CommandBody<'static>> {
    let body = match which {
        0 => CommandBody::select(a).ok()?,
        1 => CommandBody::examine(a).ok()?,
        2 => CommandBody::create(a).ok()?,
        3 => CommandBody::delete(a).ok()?,
        4 => CommandBody::subscribe(a).ok()?,
        5 => CommandBody::unsubscribe(a).ok()?,
        6 => CommandBody::rename(a, b).ok()?,
        7 => CommandBody::copy("1:5,9", a, uid).ok()?,
        8 => CommandBody::login(a, b).ok()?,
        9 => CommandBody::list(a, pattern).ok()?,
        10 => CommandBody::lsub(a, pattern).ok()?,
        _ => CommandBody::status(a, Cow::Borrowed(&[StatusDataItemName::Messages][..])).ok()?,
    };
    Some(body)
}

proptest! {
    #[test]
    fn generated_commands_agree(
        tag in "[A-Za-z0-9.]{1,8}",
        which in 0usize..12,
        a in prop::collection::vec(1u8..=255, 0..12),
        b in prop::collection::vec(1u8..=255, 0..12),
        pattern in "[a-zA-Z0-9%*/. \"\\\\]{0,8}",
        uid in any::<bool>(),
    ) {
        let Some(body) = generated_body(which, a, b, pattern, uid) else {
            return Ok(()); // a value imap-types refuses (an empty atom pattern, say)
        };
        let command = Command::new(tag.as_str(), body).expect("a valid tag");
        let wire = CommandCodec::default().encode(&command).dump();
        let head = parse_head(&wire).map_err(|e| TestCaseError::fail(format!("{e:?} on {wire:?}")))?;
        prop_assert_eq!(our_view(&head), their_view(&command));
        prop_assert_eq!(compare(&wire), Outcome::Agreed);
    }
}
