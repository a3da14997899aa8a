//! FETCH responses of the reference backend: one stored message and the attributes asked for
//! in, the bytes of its `* n FETCH (...)` line out.
//!
//! Sans-IO and infallible: [`write_fetch`] appends a whole response to a caller's buffer. The
//! MIME view ([`corvid_proto::message::Message`]) is built only when an attribute needs it
//! (ENVELOPE, BODY, BODYSTRUCTURE, a section, the RFC822 items other than RFC822.SIZE), once per
//! response. Message octets always go as literals, so any content is carried exactly, with one
//! exception IMAP forces: a NUL, which no literal outside BINARY's literal8 may hold, is sent as
//! the byte 0x80 (as ENVELOPE and BODYSTRUCTURE strings already are); counts are unchanged.

use std::cell::OnceCell;

use corvid_proto::imap::request::FetchAttr;
use corvid_proto::imap::writer::ResponseWriter;
use corvid_proto::lex::{LiteralHeader, write_decimal};
use corvid_proto::message::{FetchBody, Message as MimeMessage, Section, SectionText};

use super::store::{Message, SystemFlags};

/// The system flags in the order FLAGS lists them, with their wire names.
const SYSTEM_FLAGS: [(SystemFlags, &[u8]); 5] = [
    (SystemFlags::SEEN, b"\\Seen"),
    (SystemFlags::ANSWERED, b"\\Answered"),
    (SystemFlags::FLAGGED, b"\\Flagged"),
    (SystemFlags::DELETED, b"\\Deleted"),
    (SystemFlags::DRAFT, b"\\Draft"),
];

/// Writes a flag list, `(\Seen \Answered ... keywords \Recent)`: the system flags set in
/// `flags`, then the keywords as stored, then `\Recent` when `recent`.
pub fn write_flags(out: &mut Vec<u8>, flags: SystemFlags, keywords: &[Box<[u8]>], recent: bool) {
    let system = SYSTEM_FLAGS
        .iter()
        .filter(|(flag, _)| flags.contains(*flag))
        .map(|(_, name)| *name);
    let recent = recent.then_some(&b"\\Recent"[..]);
    out.push(b'(');
    let names = system.chain(keywords.iter().map(|k| &k[..])).chain(recent);
    for (i, name) in names.enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(name);
    }
    out.push(b')');
}

/// Does fetching `attrs` set `\Seen` (RFC 3501 §6.4.5): a body section without PEEK, RFC822
/// or RFC822.TEXT?
pub fn sets_seen(attrs: &[FetchAttr<'_>]) -> bool {
    attrs.iter().any(|attr| match attr {
        FetchAttr::Section(body) => !body.peek,
        FetchAttr::Rfc822 | FetchAttr::Rfc822Text => true,
        _ => false,
    })
}

/// Writes `* seq FETCH (...)\r\n` for `message`: the items of `attrs` in the order asked, after
/// a `UID` item put first when `with_uid` (UID FETCH) and `attrs` does not ask for it. `recent`
/// says whether the message is `\Recent` for this session.
pub fn write_fetch(
    out: &mut Vec<u8>,
    seq: u32,
    message: &Message,
    recent: bool,
    attrs: &[FetchAttr<'_>],
    with_uid: bool,
) {
    let mime = OnceCell::new();
    let view = || mime.get_or_init(|| MimeMessage::parse(&message.bytes));
    out.extend_from_slice(b"* ");
    write_decimal(out, seq.into());
    out.extend_from_slice(b" FETCH (");
    let implicit_uid = (with_uid && !attrs.contains(&FetchAttr::Uid)).then_some(&FetchAttr::Uid);
    for (i, attr) in implicit_uid.into_iter().chain(attrs).enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        match attr {
            FetchAttr::Flags => {
                out.extend_from_slice(b"FLAGS ");
                write_flags(out, message.flags, &message.keywords, recent);
            }
            FetchAttr::Uid => {
                out.extend_from_slice(b"UID ");
                write_decimal(out, message.uid.into());
            }
            FetchAttr::InternalDate => {
                out.extend_from_slice(b"INTERNALDATE ");
                message.internal_date.write_imap(out);
            }
            FetchAttr::Rfc822Size => {
                out.extend_from_slice(b"RFC822.SIZE ");
                write_decimal(out, message.bytes.len() as u64);
            }
            FetchAttr::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                view().write_envelope(out);
            }
            FetchAttr::Body => {
                out.extend_from_slice(b"BODY ");
                view().write_body_structure(out, false);
            }
            FetchAttr::BodyStructure => {
                out.extend_from_slice(b"BODYSTRUCTURE ");
                view().write_body_structure(out, true);
            }
            FetchAttr::Rfc822 => {
                out.extend_from_slice(b"RFC822 ");
                write_literal(out, &message.bytes);
            }
            FetchAttr::Rfc822Header => {
                out.extend_from_slice(b"RFC822.HEADER ");
                write_literal(out, view().header());
            }
            FetchAttr::Rfc822Text => {
                out.extend_from_slice(b"RFC822.TEXT ");
                write_literal(out, view().text());
            }
            FetchAttr::Section(body) => {
                write_section_name(out, body);
                out.push(b' ');
                write_literal(out, &body.bytes(view()));
            }
        }
    }
    out.extend_from_slice(b")\r\n");
}

/// Writes how the response names a body item: `BODY[section]`, then `<origin>` for a partial
/// (RFC 3501 §7.4.2); `BODY.PEEK` is answered as `BODY`.
fn write_section_name(out: &mut Vec<u8>, body: &FetchBody<'_>) {
    let Section { part, text } = &body.section;
    out.extend_from_slice(b"BODY[");
    for (i, n) in part.iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        write_decimal(out, (*n).into());
    }
    if let Some(text) = text {
        if !part.is_empty() {
            out.push(b'.');
        }
        match text {
            SectionText::Header => out.extend_from_slice(b"HEADER"),
            SectionText::Text => out.extend_from_slice(b"TEXT"),
            SectionText::Mime => out.extend_from_slice(b"MIME"),
            SectionText::HeaderFields { not, names } => {
                out.extend_from_slice(if *not {
                    b"HEADER.FIELDS.NOT ("
                } else {
                    b"HEADER.FIELDS ("
                });
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    let name = name.to_vec();
                    if ResponseWriter::new(out, false).astring(&name).is_err() {
                        // Only a NUL makes it fail, which a literal8 name may carry.
                        write_literal(out, &name);
                    }
                }
                out.push(b')');
            }
        }
    }
    out.push(b']');
    if let Some(partial) = body.partial {
        out.push(b'<');
        write_decimal(out, partial.origin.into());
        out.push(b'>');
    }
}

/// Writes `bytes` as a literal, `{n}` CRLF then the octets, each NUL sent as 0x80.
fn write_literal(out: &mut Vec<u8>, bytes: &[u8]) {
    let header = LiteralHeader {
        len: bytes.len() as u64,
        non_sync: false,
        binary: false,
    };
    header.write(out);
    out.extend_from_slice(b"\r\n");
    if bytes.contains(&0) {
        out.extend(bytes.iter().map(|&b| if b == 0 { 0x80 } else { b }));
    } else {
        out.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::testing::{at, corpus, stored};

    /// The FETCH response for `attrs` of `message` as message number `seq`.
    fn fetch(
        seq: u32,
        message: &Message,
        recent: bool,
        attrs: &[FetchAttr<'_>],
        uid: bool,
    ) -> String {
        let mut out = Vec::new();
        write_fetch(&mut out, seq, message, recent, attrs, uid);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A body item, parsed as a client sends it.
    fn item(text: &str) -> FetchAttr<'_> {
        let (body, _) = FetchBody::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        FetchAttr::Section(body)
    }

    fn simple() -> Message {
        stored(
            7,
            SystemFlags::SEEN,
            &["$Junk"],
            at(2024, 3, 5, 9, 60),
            &corpus("01-simple.eml"),
        )
    }

    const SIMPLE_HEADER: &str = "From: Carol <carol@example.org>\r\nTo: alice@example.org\r\n\
Subject: Hello\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\n\r\n";
    const SIMPLE_TEXT: &str = "Hello, world.\r\nSecond line.\r\n";

    #[test]
    fn uid_fetch_puts_uid_first_and_keeps_the_order_asked() {
        let message = simple();
        assert_eq!(
            fetch(
                3,
                &message,
                false,
                &[FetchAttr::Flags, FetchAttr::Rfc822Size],
                true
            ),
            "* 3 FETCH (UID 7 FLAGS (\\Seen $Junk) RFC822.SIZE 170)\r\n"
        );
        assert_eq!(
            fetch(
                3,
                &message,
                true,
                &[FetchAttr::Rfc822Size, FetchAttr::Uid],
                true
            ),
            "* 3 FETCH (RFC822.SIZE 170 UID 7)\r\n"
        );
        assert_eq!(
            fetch(
                12,
                &message,
                false,
                &[FetchAttr::Uid, FetchAttr::Flags],
                false
            ),
            "* 12 FETCH (UID 7 FLAGS (\\Seen $Junk))\r\n"
        );
    }

    #[test]
    fn flag_lists_put_system_flags_then_keywords_then_recent() {
        let mut out = Vec::new();
        let every = SystemFlags::SEEN
            | SystemFlags::ANSWERED
            | SystemFlags::FLAGGED
            | SystemFlags::DELETED
            | SystemFlags::DRAFT;
        write_flags(
            &mut out,
            every,
            &[b"$Forwarded"[..].into(), b"work"[..].into()],
            true,
        );
        assert_eq!(
            out,
            b"(\\Seen \\Answered \\Flagged \\Deleted \\Draft $Forwarded work \\Recent)"
        );
        out.clear();
        write_flags(&mut out, SystemFlags::NONE, &[], false);
        assert_eq!(out, b"()");
        out.clear();
        write_flags(
            &mut out,
            SystemFlags::DRAFT | SystemFlags::ANSWERED,
            &[],
            true,
        );
        assert_eq!(out, b"(\\Answered \\Draft \\Recent)");
    }

    #[test]
    fn sections_are_named_as_asked_with_literal_payloads() {
        let message = simple();
        let attrs = [
            item("BODY.PEEK[HEADER.FIELDS (From \"To\")] "),
            item("BODY[]<6.5> "),
            item("body[text] "),
            item("BODY.PEEK[1]<20.100> "),
            item("BODY[HEADER.FIELDS.NOT (Message-ID Date from TO)] "),
        ];
        assert_eq!(
            fetch(1, &message, false, &attrs, false),
            "* 1 FETCH (BODY[HEADER.FIELDS (From To)] {58}\r\n\
From: Carol <carol@example.org>\r\nTo: alice@example.org\r\n\r\n \
BODY[]<6> {5}\r\nCarol \
BODY[TEXT] {29}\r\nHello, world.\r\nSecond line.\r\n \
BODY[1]<20> {9}\r\nd line.\r\n \
BODY[HEADER.FIELDS.NOT (Message-ID Date from TO)] {18}\r\nSubject: Hello\r\n\r\n)\r\n"
        );
    }

    #[test]
    fn parts_of_a_nested_message_are_named_by_number() {
        let message = stored(
            2,
            SystemFlags::NONE,
            &[],
            at(2024, 1, 1, 0, 0),
            &corpus("05-nested-rfc822.eml"),
        );
        let attrs = [
            item("BODY.PEEK[1.MIME] "),
            item("BODY.PEEK[2.HEADER.FIELDS (subject)] "),
            item("BODY.PEEK[2.1] "),
            item("BODY.PEEK[2.2] "),
            item("BODY.PEEK[9] "),
        ];
        assert_eq!(
            fetch(1, &message, false, &attrs, false),
            "* 1 FETCH (BODY[1.MIME] {46}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n \
BODY[2.HEADER.FIELDS (subject)] {18}\r\nSubject: inner\r\n\r\n \
BODY[2.1] {11}\r\ninner plain \
BODY[2.2] {17}\r\n<b>inner html</b> \
BODY[9] {0}\r\n)\r\n"
        );
    }

    #[test]
    fn rfc822_items_are_named_as_such() {
        let message = simple();
        let attrs = [
            FetchAttr::Rfc822Header,
            FetchAttr::Rfc822Text,
            FetchAttr::Rfc822,
        ];
        assert_eq!(
            fetch(4, &message, false, &attrs, false),
            format!(
                "* 4 FETCH (RFC822.HEADER {{141}}\r\n{SIMPLE_HEADER} RFC822.TEXT {{29}}\r\n{SIMPLE_TEXT} \
RFC822 {{170}}\r\n{SIMPLE_HEADER}{SIMPLE_TEXT})\r\n"
            )
        );
    }

    #[test]
    fn envelope_and_structures_come_from_the_mime_view() {
        let message = simple();
        let attrs = [
            FetchAttr::Envelope,
            FetchAttr::Body,
            FetchAttr::BodyStructure,
        ];
        let carol = "((\"Carol\" NIL \"carol\" \"example.org\"))";
        assert_eq!(
            fetch(1, &message, false, &attrs, false),
            format!(
                "* 1 FETCH (ENVELOPE (\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hello\" {carol} {carol} {carol} \
((NIL NIL \"alice\" \"example.org\")) NIL NIL NIL \"<1@example.org>\") \
BODY (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 29 2) \
BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 29 2 NIL NIL NIL NIL))\r\n"
            )
        );
    }

    #[test]
    fn payloads_carry_any_octet_and_nul_as_0x80() {
        let bytes = b"Subject: x\r\n\r\na\0b\xff\r\n";
        let message = stored(1, SystemFlags::NONE, &[], at(2024, 1, 1, 0, 0), bytes);
        let mut out = Vec::new();
        write_fetch(
            &mut out,
            1,
            &message,
            false,
            &[FetchAttr::Rfc822Text],
            false,
        );
        assert_eq!(out, b"* 1 FETCH (RFC822.TEXT {6}\r\na\x80b\xff\r\n)\r\n");
    }

    #[test]
    fn internal_dates_show_their_own_zone() {
        let message = simple();
        assert_eq!(
            fetch(1, &message, false, &[FetchAttr::InternalDate], true),
            "* 1 FETCH (UID 7 INTERNALDATE \" 5-Mar-2024 09:00:00 +0100\")\r\n"
        );
    }

    #[test]
    fn only_unpeeked_bodies_set_seen() {
        assert!(!sets_seen(&[
            FetchAttr::Flags,
            FetchAttr::Rfc822Header,
            FetchAttr::BodyStructure
        ]));
        assert!(!sets_seen(&[item("BODY.PEEK[] ")]));
        assert!(sets_seen(&[FetchAttr::Uid, item("BODY[1]<0.10> ")]));
        assert!(sets_seen(&[FetchAttr::Rfc822]));
        assert!(sets_seen(&[FetchAttr::Rfc822Text]));
        assert!(!sets_seen(&[]));
    }
}
