//! The MUPDATE wire layer shared by every message: a bounded reader and the string writers.
//!
//! Every MUPDATE message has one shape, `tag SP word *(SP string) CRLF`, where a string may be a
//! literal whose payload spans lines. [`Reader`] walks that shape over a buffer, token by token,
//! with the lexer of [`crate::lex`], and enforces [`Limits`] as it goes: it stops with
//! [`Stop::Incomplete`] when the buffer ends inside a token, [`Stop::Continue`] when a server must
//! answer a synchronizing literal first, and an error when no more bytes can help. The writers
//! put strings on the wire in Cyrus's forms: `{n+}` literals, or quoted strings where they can be.

use nom::IResult;

use crate::lex;

/// The decoder limits: the most one message may hold.
///
/// A message is a command, a response or a banner line, with the literals it carries. Limits
/// bound a decoder's memory: it never holds more than `max_line + max_literal` bytes of one
/// message, and gives up with an error as soon as a message would go past either limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most octets of one message outside its literal payloads (all its lines together).
    pub max_line: usize,
    /// The most octets of literal payload one message may carry (all its literals together).
    pub max_literal: usize,
}

impl Default for Limits {
    /// 64 KiB of line and 1 MiB of literals: far above any mailbox name, location or ACL.
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_literal: 1024 * 1024,
        }
    }
}

/// Which limit a message went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Line,
    Literal,
}

/// Why the reader stopped short of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The buffer ends inside the token: more bytes may complete it.
    Incomplete,
    /// A synchronizing literal's header ends at this offset and its payload is not here: the
    /// server must send a continuation before the client sends it.
    Continue(usize),
    /// The bytes at the reader's position can never be valid here.
    Syntax,
    /// The message goes past a limit.
    TooLarge(Limit),
}

/// A cursor over one message at the front of a buffer.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// Where the current line segment (the text since the last CRLF or literal) starts.
    segment: usize,
    /// Octets of earlier line segments of this message.
    line_bytes: usize,
    /// Octets of literal payload read so far.
    literal_bytes: usize,
    limits: Limits,
    /// Server side: synchronizing literals whose header ends at or before this offset have been
    /// answered with a continuation. `None` on the client side, which never sends one.
    granted: Option<usize>,
}

impl<'a> Reader<'a> {
    /// A reader for a client-side decoder: synchronizing literals need no continuation.
    pub(crate) fn new(input: &'a [u8], limits: Limits) -> Self {
        Reader {
            input,
            pos: 0,
            segment: 0,
            line_bytes: 0,
            literal_bytes: 0,
            limits,
            granted: None,
        }
    }

    /// A reader for the server side, where continuations up to offset `granted` were sent.
    pub(crate) fn granting(input: &'a [u8], limits: Limits, granted: usize) -> Self {
        Reader {
            granted: Some(granted),
            ..Reader::new(input, limits)
        }
    }

    /// The offset of the next unread byte.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// The unread bytes.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.input.get(self.pos..).unwrap_or_default()
    }

    fn line_so_far(&self) -> usize {
        self.line_bytes + (self.pos - self.segment)
    }

    /// The outcome of running out of bytes inside a line segment.
    fn incomplete(&self) -> Stop {
        if self.line_bytes + (self.input.len() - self.segment) > self.limits.max_line {
            Stop::TooLarge(Limit::Line)
        } else {
            Stop::Incomplete
        }
    }

    /// Ends the current line segment at the reader's position.
    fn close_segment(&mut self) {
        self.line_bytes = self.line_so_far();
        self.segment = self.pos;
    }

    /// Runs a lexer function at the reader's position and steps over what it read. On any
    /// error (the line limit included) the reader stays where it was.
    fn lex<T>(&mut self, parser: fn(&'a [u8]) -> IResult<&'a [u8], T>) -> Result<T, Stop> {
        match parser(self.rest()) {
            Ok((rest, value)) => {
                let end = self.input.len() - rest.len();
                if self.line_bytes + (end - self.segment) > self.limits.max_line {
                    return Err(Stop::TooLarge(Limit::Line));
                }
                self.pos = end;
                Ok(value)
            }
            Err(nom::Err::Incomplete(_)) => Err(self.incomplete()),
            Err(_) => Err(Stop::Syntax),
        }
    }

    /// The next byte, without reading it.
    pub(crate) fn peek(&self) -> Result<u8, Stop> {
        self.rest()
            .first()
            .copied()
            .ok_or_else(|| self.incomplete())
    }

    /// A command tag: 1*(ASTRING-CHAR except `+`).
    pub(crate) fn tag(&mut self) -> Result<&'a [u8], Stop> {
        self.lex(lex::tag_token)
    }

    /// A response tag: a command tag, or `*` for an untagged line.
    pub(crate) fn tag_or_star(&mut self) -> Result<&'a [u8], Stop> {
        if self.peek()? == b'*' {
            self.pos += 1;
            return Ok(b"*");
        }
        self.tag()
    }

    /// One space.
    pub(crate) fn sp(&mut self) -> Result<(), Stop> {
        self.lex(lex::sp)
    }

    /// An atom (a command or response keyword).
    pub(crate) fn atom(&mut self) -> Result<&'a [u8], Stop> {
        self.lex(lex::atom)
    }

    /// Is the reader at the end of the line (CR or LF next)?
    pub(crate) fn at_line_end(&self) -> Result<bool, Stop> {
        Ok(matches!(self.peek()?, b'\r' | b'\n'))
    }

    /// The line end: CRLF, or (the lexer's quirk) a bare LF.
    pub(crate) fn line_end(&mut self) -> Result<(), Stop> {
        self.lex(lex::crlf)?;
        self.close_segment();
        Ok(())
    }

    /// The rest of the line as raw text, and the line end after it.
    pub(crate) fn text_to_line_end(&mut self) -> Result<&'a [u8], Stop> {
        self.line_since(self.pos)
    }

    /// Reads to the line end; returns the raw text from offset `start` (at or before the
    /// reader's position) to the line end.
    pub(crate) fn line_since(&mut self, start: usize) -> Result<&'a [u8], Stop> {
        let rest = self.rest();
        let Some(lf) = memchr::memchr(b'\n', rest) else {
            return Err(self.incomplete());
        };
        let line = &rest[..lf];
        self.pos += line.strip_suffix(b"\r").unwrap_or(line).len();
        let text = self.input.get(start..self.pos).unwrap_or_default();
        self.line_end()?;
        Ok(text)
    }

    /// Another argument, if the line goes on: `SP string`, or `None` at the line end.
    pub(crate) fn next_argument(&mut self) -> Result<Option<Vec<u8>>, Stop> {
        if self.at_line_end()? {
            return Ok(None);
        }
        self.sp()?;
        self.string().map(Some)
    }

    /// A string in any input form: quoted, literal (`{n}` or `{n+}`), or (leniently) an atom.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, Stop> {
        match self.peek()? {
            b'"' => {
                let raw = self.lex(lex::quoted)?;
                Ok(lex::AString::Quoted(raw).to_vec())
            }
            b'{' => self.literal(),
            _ => self.lex(lex::astring_atom).map(<[u8]>::to_vec),
        }
    }

    /// A literal: its header (checked against the limits before any payload is awaited) and
    /// its payload, which may not contain NUL. A literal over the limit leaves the reader at
    /// its header.
    fn literal(&mut self) -> Result<Vec<u8>, Stop> {
        let start = self.pos;
        let header = self.lex(lex::literal_header)?;
        let Some(len) = usize::try_from(header.len)
            .ok()
            .filter(|&len| len <= self.limits.max_literal.saturating_sub(self.literal_bytes))
        else {
            self.pos = start;
            return Err(Stop::TooLarge(Limit::Literal));
        };
        self.close_segment();
        // The sender of a `{n}` waits for a continuation before it sends anything more, even
        // for `{0}`; if bytes are here already, it did not wait and needs none.
        let unanswered = self.granted.is_some_and(|granted| self.pos > granted);
        if header.needs_continuation() && unanswered && self.rest().is_empty() {
            return Err(Stop::Continue(self.pos));
        }
        let Some(payload) = self.rest().get(..len) else {
            return Err(Stop::Incomplete);
        };
        self.pos += len;
        self.segment = self.pos;
        self.literal_bytes += len;
        if payload.contains(&0) {
            return Err(Stop::Syntax);
        }
        Ok(payload.to_vec())
    }
}

/// Can `bytes` go on the wire as a quoted string without escapes, as Cyrus writes them?
/// That is 7-bit text without NUL, CR, LF, `"` or `\`.
fn quotable(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b.is_ascii() && !matches!(b, 0 | b'\r' | b'\n' | b'"' | b'\\'))
}

/// Writes `bytes` as a non-synchronizing literal: `{n+}` CRLF payload.
pub(crate) fn write_literal(out: &mut Vec<u8>, bytes: &[u8]) {
    lex::LiteralHeader {
        len: bytes.len() as u64,
        non_sync: true,
        binary: false,
    }
    .write(out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(bytes);
}

/// Writes `bytes` as a quoted string when it can be one, else as a `{n+}` literal.
pub(crate) fn write_string(out: &mut Vec<u8>, bytes: &[u8]) {
    if quotable(bytes) {
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    } else {
        write_literal(out, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        max_line: 16,
        max_literal: 8,
    };

    fn strings(input: &[u8], limits: Limits) -> Result<Vec<Vec<u8>>, Stop> {
        let mut reader = Reader::new(input, limits);
        let mut out = vec![reader.string()?];
        while let Some(arg) = reader.next_argument()? {
            out.push(arg);
        }
        reader.line_end()?;
        Ok(out)
    }

    #[test]
    fn every_string_form() {
        let got = strings(
            b"\"a\\\"b\" {2}\r\nxy {1+}\r\nz atom]\r\n",
            Limits::default(),
        );
        assert_eq!(
            got,
            Ok(vec![
                b"a\"b".to_vec(),
                b"xy".to_vec(),
                b"z".to_vec(),
                b"atom]".to_vec()
            ])
        );
    }

    #[test]
    fn limits_stop_early() {
        assert_eq!(
            strings(b"{9+}\r\n", SMALL),
            Err(Stop::TooLarge(Limit::Literal))
        );
        assert_eq!(
            strings(b"{5+}\r\n12345 {4+}\r\n", SMALL),
            Err(Stop::TooLarge(Limit::Literal))
        );
        assert_eq!(
            strings(b"\"0123456789abcdef", SMALL),
            Err(Stop::TooLarge(Limit::Line))
        );
        assert_eq!(strings(b"\"0123456789abcd", SMALL), Err(Stop::Incomplete));
        assert_eq!(
            strings(b"{99999999999999999999}\r\n", SMALL),
            Err(Stop::Syntax)
        );
    }

    #[test]
    fn synchronizing_literal_asks_once() {
        let input = b"{3}\r\n";
        assert_eq!(
            Reader::granting(input, SMALL, 0).string(),
            Err(Stop::Continue(5))
        );
        assert_eq!(
            Reader::granting(input, SMALL, 5).string(),
            Err(Stop::Incomplete)
        );
        assert_eq!(Reader::new(input, SMALL).string(), Err(Stop::Incomplete));
        assert_eq!(
            Reader::granting(b"{0}\r\n", SMALL, 0).string(),
            Err(Stop::Continue(5))
        );
        assert_eq!(
            Reader::granting(b"{3}\r\nab", SMALL, 0).string(),
            Err(Stop::Incomplete)
        );
        assert_eq!(
            Reader::granting(b"{3+}\r\n", SMALL, 0).string(),
            Err(Stop::Incomplete)
        );
    }

    #[test]
    fn nul_in_literal_is_invalid() {
        assert_eq!(strings(b"{2+}\r\na\0\r\n", SMALL), Err(Stop::Syntax));
    }

    #[test]
    fn writers_pick_cyrus_forms() {
        let mut out = Vec::new();
        write_string(&mut out, b"be1!");
        out.push(b' ');
        write_string(&mut out, b"a\"b");
        out.push(b' ');
        write_literal(&mut out, b"");
        assert_eq!(out, b"\"be1!\" {3+}\r\na\"b {0+}\r\n");
    }
}
