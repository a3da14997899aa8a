//! The MIME view of a stored message: what FETCH needs to answer ENVELOPE, BODYSTRUCTURE,
//! BODY, BODY[section] and the RFC822 items, computed from the message's bytes alone.
//!
//! Sans-IO: [`Message::parse`] takes the message bytes and builds its part tree (byte ranges
//! into those bytes, plus each part's media type); the writers append IMAP bytes to a caller's
//! buffer, and [`Message::section`] returns the bytes of a `BODY[section]<partial>`. Nothing
//! here fails: any input is a message, read as leniently as Dovecot reads it (bare LF line ends,
//! a missing empty line after the header, a multipart without its final boundary, unclosed
//! quotes and comments), and every count is of the stored bytes.
//!
//! Modules: `header` splits header fields ([`Fields`]), `content` reads structured fields
//! (Content-Type, Content-Disposition), `address` reads address lists, `envelope` and
//! `structure` write ENVELOPE and BODYSTRUCTURE, `strings` picks each string's form, and
//! [`section`] parses FETCH body items and cuts sections; the fuzz body is in
//! [`crate::fuzzing::message`].
//!
//! # Limits
//!
//! Parsing is linear in the message size per nesting level, and nesting is bounded as Dovecot
//! bounds it: a multipart or message/rfc822 part [`MAX_DEPTH`] levels deep, or past the first
//! [`MAX_PARTS`] parts of the message, is not split further: it is a leaf, described as
//! `text/plain`; and once a message has [`MAX_PARTS`] parts, a multipart's last part runs to
//! the end of its body. So a hostile message of 100 000 nested parts costs at most
//! [`MAX_DEPTH`] scans of its bytes and no deep recursion.
//!
//! # Dovecot's readings
//!
//! Clients are tuned to real servers, so where RFC 3501 leaves room this module answers as
//! Dovecot 2.3 does (`tests/message_vs_dovecot.rs` checks it byte for byte):
//!
//! * a multipart without a boundary parameter, or in which no delimiter line is found, has one
//!   empty part;
//! * a close delimiter line followed at once by an outer delimiter keeps its line end (RFC 2046
//!   would give that line end to the outer delimiter); the part sizes and the section bytes
//!   agree either way;
//! * a text part's line count is its number of line ends (a last line without one is not
//!   counted), and a text part without a charset parameter is given `"charset" "us-ascii"`;
//! * string forms, address placeholders, which of several same-named fields counts:
//!   see `envelope` and `strings`;
//! * a section naming a part the message does not have is empty, not NIL;
//! * malformed Content-Type and parameters: see `content`.
//!
//! Two of Dovecot's readings are not followed, being wrong by the RFCs: a part's
//! Content-Transfer-Encoding, Content-Description, Content-Disposition and Content-Language
//! count even when it has no Content-Type (Dovecot ignores them then), and a delimiter line is
//! the delimiter followed by nothing but white space or `--` (RFC 2046 §5.1.1; Dovecot takes
//! any line that starts with the delimiter).

mod address;
mod content;
mod envelope;
mod header;
pub mod section;
mod strings;
mod structure;

use std::ops::Range;

pub use content::{Param, Structured};
pub use header::{Field, Fields, first_field};
pub use section::{FetchBody, Partial, Section, SectionError, SectionText};

/// How deep multiparts and embedded messages nest before a part is no longer split.
pub const MAX_DEPTH: usize = 100;

/// How many parts a message may have before later parts are no longer split.
pub const MAX_PARTS: usize = 10_000;

/// A parsed message: its bytes and its part tree.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    bytes: &'a [u8],
    root: Part,
}

/// One MIME entity of a message: byte ranges into the message and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its header block, the empty line that ends it included.
    pub header: Range<usize>,
    /// Its body.
    pub body: Range<usize>,
    /// Its Content-Type as parsed, the defaults applied: `value` is `type/subtype` (either
    /// may be empty when the field is malformed).
    pub content_type: Structured,
    /// What its body holds.
    pub kind: Kind,
}

/// What a part's body holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Content (text, image, ...): a leaf.
    Single,
    /// A multipart's body parts, in order (at least one).
    Multipart(Vec<Part>),
    /// A message/rfc822 part's embedded message.
    Message(Box<Part>),
}

impl Part {
    /// The media type and subtype, as sent (`text`, `plain`).
    pub fn media_type(&self) -> (&[u8], &[u8]) {
        let value = self.content_type.value.as_slice();
        match memchr::memchr(b'/', value) {
            Some(slash) => (
                value.get(..slash).unwrap_or_default(),
                value.get(slash + 1..).unwrap_or_default(),
            ),
            None => (value, &[]),
        }
    }

    /// The value of Content-Type parameter `name` (ignoring ASCII case).
    pub fn param(&self, name: &[u8]) -> Option<&[u8]> {
        self.content_type
            .params
            .iter()
            .find(|(attribute, _)| attribute.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_slice())
    }

    /// Is its type `t/s` (ignoring ASCII case)?
    fn is(&self, t: &[u8], s: &[u8]) -> bool {
        let (media, sub) = self.media_type();
        media.eq_ignore_ascii_case(t) && sub.eq_ignore_ascii_case(s)
    }
}

/// The state of one parse: the bytes and how many parts were made.
struct Parser<'a> {
    bytes: &'a [u8],
    parts: usize,
}

/// The default Content-Type of a body part: message/rfc822 in a multipart/digest, else
/// text/plain; charset=us-ascii (RFC 2046 §5.1.5, RFC 2045 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DefaultType {
    Text,
    Message,
}

impl Parser<'_> {
    /// Parses the entity whose header starts at `range.start`, within `range`, `depth` levels
    /// down; also says whether it ends inside a close delimiter line (whose line end lies
    /// beyond `range`).
    fn entity(&mut self, range: Range<usize>, default: DefaultType, depth: usize) -> (Part, bool) {
        self.parts += 1;
        let window = self.bytes.get(..range.end).unwrap_or_default();
        let header_end = header::header_end(window, range.start);
        let header = range.start..header_end;
        let header_bytes = self.bytes.get(header.clone()).unwrap_or_default();
        let content_type = first_field(header_bytes, b"Content-Type")
            .map(|f| content::parse_media_type(f.value))
            .unwrap_or_else(|| default_type(default));
        let mut part = Part {
            header,
            body: header_end..range.end,
            content_type,
            kind: Kind::Single,
        };
        let multipart = part.media_type().0.eq_ignore_ascii_case(b"multipart");
        let message = part.is(b"message", b"rfc822");
        if !multipart && !message {
            return (part, false);
        }
        if depth >= MAX_DEPTH || self.parts >= MAX_PARTS {
            part.content_type = default_type(DefaultType::Text);
            return (part, false);
        }
        if message {
            let (inner, in_close_line) =
                self.entity(part.body.clone(), DefaultType::Text, depth + 1);
            part.kind = Kind::Message(Box::new(inner));
            return (part, in_close_line);
        }
        let child_default = if part.is(b"multipart", b"digest") {
            DefaultType::Message
        } else {
            DefaultType::Text
        };
        let boundary = part.param(b"boundary").unwrap_or_default().to_vec();
        let (mut children, in_close_line) =
            self.multipart(part.body.clone(), &boundary, child_default, depth + 1);
        if children.is_empty() {
            // No delimiter (or no boundary): one empty part, as Dovecot shows it.
            let end = part.body.end;
            children.push(Part {
                header: end..end,
                body: end..end,
                content_type: default_type(child_default),
                kind: Kind::Single,
            });
        }
        part.kind = Kind::Multipart(children);
        (part, in_close_line)
    }

    /// Splits the multipart body `range` at the delimiter lines of `boundary` and parses each
    /// body part; the preamble and epilogue belong to no part. Also says whether `range` ends
    /// inside the close delimiter line.
    ///
    /// The line end before a delimiter belongs to the delimiter, except when it ends the close
    /// delimiter line of a multipart inside the part before: as in Dovecot, that line is the
    /// inner multipart's whole, line end included.
    fn multipart(
        &mut self,
        range: Range<usize>,
        boundary: &[u8],
        default: DefaultType,
        depth: usize,
    ) -> (Vec<Part>, bool) {
        let mut children = Vec::new();
        if boundary.is_empty() {
            return (children, false);
        }
        let body = self.bytes.get(range.clone()).unwrap_or_default();
        let mut delimiter = b"--".to_vec();
        delimiter.extend_from_slice(boundary);
        let finder = memchr::memmem::Finder::new(&delimiter);
        // Where the current body part starts, once the first delimiter line was seen.
        let mut open: Option<usize> = None;
        let mut search = 0;
        while let Some(found) = body.get(search..).and_then(|rest| finder.find(rest)) {
            let at = search + found;
            search = at + delimiter.len();
            let after = body.get(search..).unwrap_or_default();
            let line_start = at == 0 || body.get(at - 1) == Some(&b'\n');
            let close = after.starts_with(b"--");
            let whole = close || matches!(after.first(), None | Some(b'\r' | b'\n' | b' ' | b'\t'));
            if !line_start || !whole {
                continue;
            }
            if open.is_some() && self.parts >= MAX_PARTS {
                // Too many parts: the last one runs to the end.
                break;
            }
            if let Some(start) = open.take() {
                let line_end = if at >= 2 && body.get(at - 2) == Some(&b'\r') {
                    2
                } else {
                    1
                };
                let end = range.start + at.saturating_sub(line_end).max(start);
                let (mut child, in_close_line) =
                    self.entity(range.start + start..end, default, depth);
                if in_close_line {
                    extend_body(&mut child, range.start + at);
                }
                children.push(child);
            }
            if close {
                let line_ends = after
                    .get(2..)
                    .is_some_and(|rest| memchr::memchr(b'\n', rest).is_some());
                return (children, !line_ends);
            }
            let next_line = memchr::memchr(b'\n', after).map_or(body.len(), |n| search + n + 1);
            open = Some(next_line);
            search = next_line;
        }
        if let Some(start) = open {
            children.push(
                self.entity(range.start + start..range.end, default, depth)
                    .0,
            );
        }
        (children, false)
    }
}

/// Moves the end of `part`'s body (and of its embedded messages' bodies) to `end`.
fn extend_body(part: &mut Part, end: usize) {
    part.body.end = end;
    if let Kind::Message(inner) = &mut part.kind {
        extend_body(inner, end);
    }
}

/// The Content-Type a part gets when it declares none.
fn default_type(default: DefaultType) -> Structured {
    match default {
        DefaultType::Text => Structured {
            value: b"text/plain".to_vec(),
            params: vec![(b"charset".to_vec(), b"us-ascii".to_vec())],
        },
        DefaultType::Message => Structured {
            value: b"message/rfc822".to_vec(),
            params: Vec::new(),
        },
    }
}

impl<'a> Message<'a> {
    /// Parses `bytes` as a message. Never fails: see the module doc for how malformed input
    /// is read.
    pub fn parse(bytes: &'a [u8]) -> Self {
        let mut parser = Parser { bytes, parts: 0 };
        let (root, _) = parser.entity(0..bytes.len(), DefaultType::Text, 0);
        Message { bytes, root }
    }

    /// The message's bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The top-level part (the message itself).
    pub fn root(&self) -> &Part {
        &self.root
    }

    /// RFC822.SIZE: the size of the message in octets.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The bytes of `range` of the message (empty when out of bounds, which a parsed range
    /// never is).
    pub fn slice(&self, range: Range<usize>) -> &'a [u8] {
        self.bytes.get(range).unwrap_or_default()
    }

    /// Appends the ENVELOPE of the message (RFC 3501 §7.4.2) to `out`.
    pub fn write_envelope(&self, out: &mut Vec<u8>) {
        envelope::write(self.slice(self.root.header.clone()), out);
    }

    /// Appends the BODYSTRUCTURE (`extensions`) or BODY (no extension data) of the message to
    /// `out`.
    pub fn write_body_structure(&self, out: &mut Vec<u8>, extensions: bool) {
        structure::write(self, &self.root, extensions, out);
    }
}

/// Returns a copy of `bytes` with every bare LF turned into CRLF (a bare CR stays as it is),
/// or `bytes` itself when no LF is bare: how a server stores an appended message so that its
/// sizes and sections count CRLF line ends, as IMAP requires (RFC 3501 §2.3.4).
pub fn crlf_normalized(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bare = |at: usize| at == 0 || bytes.get(at - 1) != Some(&b'\r');
    if !memchr::memchr_iter(b'\n', bytes).any(bare) {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    let mut from = 0;
    for at in memchr::memchr_iter(b'\n', bytes).filter(|&at| bare(at)) {
        out.extend_from_slice(bytes.get(from..at).unwrap_or_default());
        out.extend_from_slice(b"\r\n");
        from = at + 1;
    }
    out.extend_from_slice(bytes.get(from..).unwrap_or_default());
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structure(bytes: &[u8], extensions: bool) -> String {
        let mut out = Vec::new();
        Message::parse(bytes).write_body_structure(&mut out, extensions);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn multipart_parts_exclude_the_line_end_before_a_delimiter() {
        let bytes = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\n\r\none\r\n--b \r\nContent-Type: text/html\r\n\r\ntwo\r\n--b--\r\nepilogue\r\n";
        let message = Message::parse(bytes);
        let Kind::Multipart(children) = &message.root().kind else {
            panic!("not a multipart: {:?}", message.root());
        };
        let bodies: Vec<&[u8]> = children
            .iter()
            .map(|c| message.slice(c.body.clone()))
            .collect();
        assert_eq!(bodies, [&b"one"[..], b"two"]);
        assert_eq!(children[1].media_type(), (&b"text"[..], &b"html"[..]));
        assert_eq!(
            structure(bytes, false),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)\
             (\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0) \"mixed\")"
        );
    }

    #[test]
    fn a_boundary_is_not_a_prefix_of_a_longer_one() {
        let bytes = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--bb\n--b--\n";
        let message = Message::parse(bytes);
        let Kind::Multipart(children) = &message.root().kind else {
            panic!("not a multipart");
        };
        assert_eq!(children.len(), 1);
        assert_eq!(message.slice(children[0].body.clone()), b"--bb");
    }

    #[test]
    fn a_multipart_without_delimiters_has_one_empty_part() {
        assert_eq!(
            structure(b"Content-Type: multipart/mixed\r\n\r\nbody\r\n", true),
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \
             \"mixed\" NIL NIL NIL NIL)"
        );
    }

    #[test]
    fn digest_parts_default_to_message_rfc822() {
        let bytes = b"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: s\r\n\r\nx\r\n--d--\r\n";
        let message = Message::parse(bytes);
        let part = message.part(&[1]).map(|p| &p.kind);
        assert!(matches!(part, Some(Kind::Message(_))), "{part:?}");
    }

    #[test]
    fn nesting_is_bounded() {
        let depth = 100_000;
        let mut bytes = Vec::new();
        for _ in 0..depth {
            bytes.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        bytes.extend_from_slice(b"body\r\n");
        let message = Message::parse(&bytes);
        let mut levels = 0;
        let mut part = message.root();
        while let Kind::Message(inner) = &part.kind {
            part = inner;
            levels += 1;
        }
        assert_eq!(levels, MAX_DEPTH);
        assert_eq!(part.media_type(), (&b"text"[..], &b"plain"[..]));
        let mut out = Vec::new();
        message.write_body_structure(&mut out, true);
        assert!(out.starts_with(b"(\"message\" \"rfc822\""));
    }

    #[test]
    fn parts_are_bounded() {
        let mut bytes = b"Content-Type: multipart/mixed; boundary=p\r\n\r\n".to_vec();
        for _ in 0..MAX_PARTS * 2 {
            bytes.extend_from_slice(b"--p\r\n\r\nx\r\n");
        }
        let message = Message::parse(&bytes);
        let Kind::Multipart(children) = &message.root().kind else {
            panic!("not a multipart");
        };
        assert_eq!(children.len(), MAX_PARTS);
        let last = children.last().map(|c| message.slice(c.body.clone()));
        assert!(last.is_some_and(|b| b.len() > MAX_PARTS));
    }

    #[test]
    fn bare_line_feeds_become_crlf() {
        assert_eq!(&*crlf_normalized(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(matches!(
            crlf_normalized(b"a\r\nb"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(&*crlf_normalized(b"\n"), b"\r\n");
    }
}
