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
