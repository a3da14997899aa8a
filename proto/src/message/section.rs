//! `BODY[section]<partial>` (RFC 3501 §6.4.5): the FETCH item parser and the bytes it names.
//!
//! [`FetchBody::parse`] reads one `BODY[...]` or `BODY.PEEK[...]` item as a streaming parser in
//! the style of corvid-proto's: `Ok` with the bytes it consumed, [`SectionError::Incomplete`]
//! when the input stops before it could decide, [`SectionError::Invalid`] when no continuation
//! can make it valid. Header field names are astrings, read with corvid-proto's lexer.
//!
//! [`Message::section`] returns the bytes a section names: a slice of the message for every
//! section but `HEADER.FIELDS[.NOT]`, whose selected fields are copied (each field keeps its
//! own bytes; an empty line ends them). [`Partial::apply`] cuts `<origin.count>` out of them.

use std::borrow::Cow;

use crate::lex::{self, AString};

use super::header::Fields;
use super::{Kind, Message, Part};

/// A `BODY[section]<partial>` or `BODY.PEEK[section]<partial>` FETCH item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchBody<'a> {
    /// `BODY.PEEK`: fetching does not set `\Seen`.
    pub peek: bool,
    /// The section between the brackets.
    pub section: Section<'a>,
    /// The `<origin.count>` after the brackets.
    pub partial: Option<Partial>,
}

/// A section: a part path and what of that part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section<'a> {
    /// The part numbers (`1.2.3`), empty for the whole message.
    pub part: Vec<u32>,
    /// The section text after the part numbers; `None` for the part's whole body.
    pub text: Option<SectionText<'a>>,
}

/// What of a part (or of the message) a section names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText<'a> {
    /// `HEADER`: the header, its empty line included.
    Header,
    /// `HEADER.FIELDS (..)` or, with `not`, `HEADER.FIELDS.NOT (..)`.
    HeaderFields {
        /// `.NOT`: every field except these.
        not: bool,
        /// The field names, as sent.
        names: Vec<AString<'a>>,
    },
    /// `TEXT`: the body after the header.
    Text,
    /// `MIME`: a body part's MIME header (only after a part number).
    Mime,
}

/// `<origin.count>`: a byte range of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    /// The first octet returned.
    pub origin: u32,
    /// How many octets at most.
    pub count: u32,
}

impl Partial {
    /// The octets of `bytes` this partial names (empty when `origin` is past the end).
    pub fn apply<'b>(&self, bytes: &'b [u8]) -> &'b [u8] {
        let start = (self.origin as usize).min(bytes.len());
        let end = start.saturating_add(self.count as usize).min(bytes.len());
        bytes.get(start..end).unwrap_or_default()
    }
}

/// Why a FETCH body item could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SectionError {
    /// The input stops before the item does: more bytes may make it valid.
    #[error("incomplete FETCH item")]
    Incomplete,
    /// No continuation can make it valid; the text says why.
    #[error("invalid section: {0}")]
    Invalid(&'static str),
}

type Parsed<'a, T> = Result<(&'a [u8], T), SectionError>;

/// Maps a lexer error.
fn lexed<'a, T>(result: lex::LexResult<'a, T>, what: &'static str) -> Parsed<'a, T> {
    result.map_err(|e| match e {
        nom::Err::Incomplete(_) => SectionError::Incomplete,
        _ => SectionError::Invalid(what),
    })
}

/// Takes `word` (ignoring ASCII case) from the start of `i`.
fn keyword<'a>(i: &'a [u8], word: &[u8], what: &'static str) -> Parsed<'a, ()> {
    let n = word.len().min(i.len());
    let (head, rest) = i.split_at(n);
    if !head.eq_ignore_ascii_case(word.get(..n).unwrap_or_default()) {
        return Err(SectionError::Invalid(what));
    }
    if n < word.len() {
        return Err(SectionError::Incomplete);
    }
    Ok((rest, ()))
}

/// Takes one byte `b`.
fn byte<'a>(i: &'a [u8], b: u8, what: &'static str) -> Parsed<'a, ()> {
    match i.split_first() {
        None => Err(SectionError::Incomplete),
        Some((&first, rest)) if first == b => Ok((rest, ())),
        Some(_) => Err(SectionError::Invalid(what)),
    }
}

impl<'a> FetchBody<'a> {
    /// Parses a FETCH item `BODY[section]<partial>` or `BODY.PEEK[...]` at the start of
    /// `input`; returns it and how many bytes it took. Something must follow the item (a
    /// space, `)` or the line end): until then, a partial may still come.
    pub fn parse(input: &'a [u8]) -> Result<(Self, usize), SectionError> {
        let (i, ()) = keyword(input, b"BODY", "expected BODY")?;
        let (i, peek) = match i.first() {
            None => return Err(SectionError::Incomplete),
            Some(b'.') => (keyword(i, b".PEEK", "expected BODY.PEEK")?.0, true),
            Some(_) => (i, false),
        };
        let (i, ()) = byte(i, b'[', "expected [")?;
        let (i, section) = Section::parse(i)?;
        let (i, ()) = byte(i, b']', "expected ]")?;
        let (i, partial) = match i.first() {
            // A partial may follow.
            None => return Err(SectionError::Incomplete),
            Some(b'<') => {
                let (i, origin) = lexed(lex::number(&i[1..]), "invalid partial origin")?;
                let (i, ()) = byte(i, b'.', "expected . in partial")?;
                let (i, count) = lexed(lex::number(i), "invalid partial count")?;
                if count == 0 {
                    return Err(SectionError::Invalid("a partial count must not be zero"));
                }
                let (i, ()) = byte(i, b'>', "expected > after partial")?;
                (i, Some(Partial { origin, count }))
            }
            _ => (i, None),
        };
        let item = FetchBody {
            peek,
            section,
            partial,
        };
        Ok((item, input.len() - i.len()))
    }

    /// The octets this item returns from `message`, partial applied.
    pub fn bytes<'m>(&self, message: &Message<'m>) -> Cow<'m, [u8]> {
        match (self.partial, message.section(&self.section)) {
            (None, bytes) => bytes,
            (Some(p), Cow::Borrowed(b)) => Cow::Borrowed(p.apply(b)),
            (Some(p), Cow::Owned(b)) => Cow::Owned(p.apply(&b).to_vec()),
        }
    }
}

impl<'a> Section<'a> {
    /// Parses the section between the brackets (`1.2.HEADER.FIELDS (From To)`), up to the `]`.
    pub fn parse(mut i: &'a [u8]) -> Result<(&'a [u8], Self), SectionError> {
        let mut part = Vec::new();
        while i.first().is_some_and(u8::is_ascii_digit) {
            let (rest, n) = lexed(lex::number(i), "invalid part number")?;
            if n == 0 {
                return Err(SectionError::Invalid("part numbers start at 1"));
            }
            part.push(n);
            i = rest;
            match i.first() {
                None => return Err(SectionError::Incomplete),
                Some(b'.') => i = &i[1..],
                Some(_) => return Ok((i, Section { part, text: None })),
            }
        }
        if i.first() == Some(&b']') {
            if !part.is_empty() {
                return Err(SectionError::Invalid("expected a section text after ."));
            }
            return Ok((i, Section { part, text: None }));
        }
        let n = i
            .iter()
            .position(|b| !(b.is_ascii_alphabetic() || *b == b'.'))
            .ok_or(SectionError::Incomplete)?;
        let (word, rest) = i.split_at(n);
        let upper = word.to_ascii_uppercase();
        let (rest, text) = match upper.as_slice() {
            b"HEADER" => (rest, SectionText::Header),
            b"TEXT" => (rest, SectionText::Text),
            b"MIME" if !part.is_empty() => (rest, SectionText::Mime),
            b"HEADER.FIELDS" | b"HEADER.FIELDS.NOT" => {
                let (rest, names) = header_list(rest)?;
                let not = upper.len() > b"HEADER.FIELDS".len();
                (rest, SectionText::HeaderFields { not, names })
            }
            _ => return Err(SectionError::Invalid("unknown section text")),
        };
        Ok((
            rest,
            Section {
                part,
                text: Some(text),
            },
        ))
    }
}

/// ` (name name ...)`: at least one header field name.
fn header_list(i: &[u8]) -> Parsed<'_, Vec<AString<'_>>> {
    let (mut i, ()) = byte(i, b' ', "expected a space before the field names")?;
    (i, ()) = byte(i, b'(', "expected (")?;
    let mut names = Vec::new();
    loop {
        let (rest, name) = lexed(lex::astring(i), "invalid header field name")?;
        names.push(name);
        match rest.split_first() {
            None => return Err(SectionError::Incomplete),
            Some((b' ', rest)) => i = rest,
            Some((b')', rest)) => return Ok((rest, names)),
            Some(_) => return Err(SectionError::Invalid("expected ) after the field names")),
        }
    }
}

impl<'a> Message<'a> {
    /// The octets `section` names. A part the message does not have (or `HEADER`, `TEXT` or
    /// `HEADER.FIELDS` after the number of a part that is not message/rfc822) names no octets:
    /// the answer is an empty string, as Dovecot gives it.
    pub fn section(&self, section: &Section<'_>) -> Cow<'a, [u8]> {
        let Some(part) = self.part(&section.part) else {
            return Cow::Borrowed(&[]);
        };
        // HEADER, TEXT and HEADER.FIELDS of a body part are those of its embedded message.
        let message = match (&part.kind, section.part.is_empty()) {
            (_, true) => Some(part),
            (Kind::Message(inner), false) => Some(inner.as_ref()),
            _ => None,
        };
        let range = match (&section.text, message) {
            (None, _) if section.part.is_empty() => 0..self.bytes.len(),
            (None, _) => part.body.clone(),
            (Some(SectionText::Mime), _) => part.header.clone(),
            (Some(SectionText::Header), Some(message)) => message.header.clone(),
            (Some(SectionText::Text), Some(message)) => message.body.clone(),
            (Some(SectionText::HeaderFields { not, names }), Some(message)) => {
                let header = self.slice(message.header.clone());
                return Cow::Owned(header_fields(header, names, *not));
            }
            (Some(_), None) => return Cow::Borrowed(&[]),
        };
        Cow::Borrowed(self.slice(range))
    }

    /// The part at `path` (RFC 3501 part numbers); the message itself for an empty path.
    ///
    /// A non-multipart part has one part, itself (`1`), but, as in Dovecot, not twice in a
    /// row: `BODY[1]` of a single-part message is its body, `BODY[1.1]` is nothing (entering
    /// a single-part embedded message counts as its one step).
    pub fn part(&self, path: &[u32]) -> Option<&Part> {
        let mut part = &self.root;
        let mut stayed = false;
        for (depth, &n) in path.iter().enumerate() {
            let mut entered = false;
            if depth > 0
                && let Kind::Message(inner) = &part.kind
            {
                part = inner;
                entered = true;
            }
            (part, stayed) = match &part.kind {
                Kind::Multipart(children) => (children.get((n as usize).checked_sub(1)?)?, false),
                _ if n == 1 && (entered || !stayed) => (part, true),
                _ => return None,
            };
        }
        Some(part)
    }

    /// RFC822.HEADER: the message header, as `BODY.PEEK[HEADER]`.
    pub fn header(&self) -> &'a [u8] {
        self.slice(self.root.header.clone())
    }

    /// RFC822.TEXT: the message body, as `BODY[TEXT]`.
    pub fn text(&self) -> &'a [u8] {
        self.slice(self.root.body.clone())
    }
}

/// The fields of `header` named (or, with `not`, not named) in `names`, as sent, then an
/// empty line. As in Dovecot, `HEADER.FIELDS` ends each field and the whole with CRLF, while
/// `HEADER.FIELDS.NOT` copies the header's own ends (so none where the message has none).
fn header_fields(header: &[u8], names: &[AString<'_>], not: bool) -> Vec<u8> {
    let mut wanted: Vec<Vec<u8>> = names
        .iter()
        .map(|n| n.to_vec().to_ascii_lowercase())
        .collect();
    wanted.sort_unstable();
    let mut out = Vec::new();
    let mut name = Vec::new();
    let mut fields_len = 0;
    for field in Fields::new(header) {
        fields_len += field.raw.len();
        name.clear();
        name.extend(field.name.iter().map(u8::to_ascii_lowercase));
        if wanted.binary_search(&name).is_ok() != not {
            out.extend_from_slice(field.raw);
            if !not && !field.raw.ends_with(b"\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    if not {
        out.extend_from_slice(header.get(fields_len..).unwrap_or_default());
    } else {
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(item: &str) -> (FetchBody<'_>, usize) {
        FetchBody::parse(item.as_bytes()).unwrap_or_else(|e| panic!("{item}: {e}"))
    }

    #[test]
    fn items_parse_with_parts_texts_and_partials() {
        let (item, consumed) =
            parsed("body.peek[1.2.HEADER.FIELDS (From \"To\" {2}\r\nCc)]<0.100> RFC822.SIZE");
        assert_eq!(
            consumed,
            "body.peek[1.2.HEADER.FIELDS (From \"To\" {2}\r\nCc)]<0.100>".len()
        );
        assert!(item.peek);
        assert_eq!(item.section.part, [1, 2]);
        let Some(SectionText::HeaderFields { not, names }) = &item.section.text else {
            panic!("{item:?}");
        };
        assert!(!not);
        let names: Vec<Vec<u8>> = names.iter().map(AString::to_vec).collect();
        assert_eq!(names, [b"From".to_vec(), b"To".to_vec(), b"Cc".to_vec()]);
        assert_eq!(
            item.partial,
            Some(Partial {
                origin: 0,
                count: 100
            })
        );

        let (item, _) = parsed("BODY[] ");
        assert_eq!(
            (item.peek, item.section, item.partial),
            (false, Section::default(), None)
        );
        assert_eq!(
            parsed("BODY[3.MIME] ").0.section.text,
            Some(SectionText::Mime)
        );
        assert_eq!(
            parsed("BODY[TEXT]<5.1> ").0.section.text,
            Some(SectionText::Text)
        );
        let (item, _) = parsed("BODY[header.fields.not (X)] ");
        assert!(matches!(
            item.section.text,
            Some(SectionText::HeaderFields { not: true, .. })
        ));
        assert_eq!(parsed("BODY[2] ").0.section.part, [2]);
    }

    #[test]
    fn prefixes_are_incomplete_and_bad_items_invalid() {
        let item = "BODY.PEEK[1.HEADER.FIELDS (A B)]<1.2>";
        for cut in 0..item.len() {
            assert_eq!(
                FetchBody::parse(&item.as_bytes()[..cut]).err(),
                Some(SectionError::Incomplete),
                "cut at {cut}"
            );
        }
        for bad in [
            "BODX[]",
            "BODY.PEEX[]",
            "BODY(",
            "BODY[0]",
            "BODY[1.]",
            "BODY[MIME]",
            "BODY[1.FOO]",
            "BODY[HEADER.FIELDS]",
            "BODY[HEADER.FIELDS ()]",
            "BODY[HEADER.FIELDS (A)x",
            "BODY[HEADER.FIELDS (A{1}\r\n",
            "BODY[]<1.0>",
            "BODY[]<1>",
            "BODY[1x]",
        ] {
            assert!(
                matches!(
                    FetchBody::parse(bad.as_bytes()),
                    Err(SectionError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn sections_of_a_nested_message() {
        let bytes = b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
--x\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\
--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: a@b\r\n\r\ninner body\r\n\
--x--\r\n";
        let message = Message::parse(bytes);
        let get = |item: &str| {
            let (item, _) = parsed(item);
            String::from_utf8_lossy(&item.bytes(&message)).into_owned()
        };
        assert_eq!(get("BODY[1] "), "first");
        assert_eq!(get("BODY[1.MIME] "), "Content-Type: text/plain\r\n\r\n");
        assert_eq!(
            get("BODY[2.HEADER] "),
            "Subject: inner\r\nFrom: a@b\r\n\r\n"
        );
        assert_eq!(get("BODY[2.TEXT] "), "inner body");
        assert_eq!(get("BODY[2.1] "), "inner body");
        assert_eq!(get("BODY[2.HEADER.FIELDS (from)] "), "From: a@b\r\n\r\n");
        assert_eq!(
            get("BODY[2.HEADER.FIELDS.NOT (from)] "),
            "Subject: inner\r\n\r\n"
        );
        assert_eq!(get("BODY[1.HEADER] "), "");
        assert_eq!(get("BODY[3] "), "");
        assert_eq!(get("BODY[1.1.1] "), "");
        assert_eq!(get("BODY[]<2.5> "), "bject");
        assert_eq!(get("BODY[1]<3.100> "), "st");
        assert_eq!(get("BODY[1]<300.1> "), "");
        assert_eq!(message.header(), get("BODY[HEADER] ").as_bytes());
        assert_eq!(message.text(), get("BODY[TEXT] ").as_bytes());
    }
}
