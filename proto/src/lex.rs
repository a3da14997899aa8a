//! The shared lexer: the tokens IMAP (RFC 3501/9051) and MUPDATE (RFC 3656) both build on.
//!
//! Atoms, tags, numbers, quoted strings, literals (`{n}`, `{n+}`, `~{n}`) and astrings. Every
//! parser is a nom *streaming* parser over raw wire bytes, so a literal is lexed from its header
//! through its payload (`{5}\r\nINBOX`):
//!
//! * `Ok((rest, token))` when the token is complete;
//! * `Err(nom::Err::Incomplete(_))` when the input stops before the token does (more bytes may
//!   still make it valid);
//! * `Err(nom::Err::Error(_))` when no continuation can make it valid.
//!
//! Nothing allocates: tokens borrow from the input, and a quoted string keeps its escapes until
//! a caller asks for the unescaped bytes ([`AString::bytes`]).
//!
//! One documented leniency (a *quirk*, as Dovecot and Cyrus also accept it): a line may end in a
//! bare LF instead of CRLF; see [`crlf`].

use nom::bytes::streaming::{tag, take};
use nom::error::{Error, ErrorKind};
use nom::{IResult, Parser};

/// The result of every lexer function: nom's streaming result over bytes.
pub type LexResult<'a, T> = IResult<&'a [u8], T>;

/// Builds the "can never be valid" error at `input`.
pub(crate) fn invalid<T>(input: &[u8], kind: ErrorKind) -> LexResult<'_, T> {
    Err(nom::Err::Error(Error::new(input, kind)))
}

// ---------------------------------------------------------------------------------------------
// Character classes (RFC 3501 §9 with RFC 9051's 8-bit text), as 256-entry tables.

/// Builds a 256-entry membership table from a `const fn(u8) -> bool`.
macro_rules! class {
    ($f:ident) => {{
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = $f(i as u8);
            i += 1;
        }
        t
    }};
}

const fn is_ctl(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// atom-specials: `(` `)` `{` SP CTL list-wildcards quoted-specials resp-specials.
const fn atom_char(b: u8) -> bool {
    b < 0x80
        && !is_ctl(b)
        && !matches!(
            b,
            b'(' | b')' | b'{' | b' ' | b'%' | b'*' | b'"' | b'\\' | b']'
        )
}

const fn astring_char(b: u8) -> bool {
    atom_char(b) || b == b']'
}

const fn list_char(b: u8) -> bool {
    atom_char(b) || matches!(b, b'%' | b'*' | b']')
}

const fn tag_char(b: u8) -> bool {
    astring_char(b) && b != b'+'
}

const fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// Bytes allowed unescaped between double quotes: any but NUL, CR, LF, `"` and `\`
/// (8-bit bytes are allowed, as RFC 9051 allows UTF-8 in quoted strings).
const fn quoted_plain(b: u8) -> bool {
    !matches!(b, 0 | b'\r' | b'\n' | b'"' | b'\\')
}

static ATOM_CHAR: [bool; 256] = class!(atom_char);
static ASTRING_CHAR: [bool; 256] = class!(astring_char);
static LIST_CHAR: [bool; 256] = class!(list_char);
static TAG_CHAR: [bool; 256] = class!(tag_char);
static QUOTED_PLAIN: [bool; 256] = class!(quoted_plain);
static DIGIT: [bool; 256] = class!(digit);

/// Is `b` an ATOM-CHAR?
pub fn is_atom_char(b: u8) -> bool {
    ATOM_CHAR[b as usize]
}

/// Is `b` an ASTRING-CHAR (an ATOM-CHAR or `]`)?
pub fn is_astring_char(b: u8) -> bool {
    ASTRING_CHAR[b as usize]
}

/// Is `b` a list-char (an ATOM-CHAR, `%`, `*` or `]`)?
pub fn is_list_char(b: u8) -> bool {
    LIST_CHAR[b as usize]
}

/// Is `b` allowed in a tag (an ASTRING-CHAR other than `+`)?
pub fn is_tag_char(b: u8) -> bool {
    TAG_CHAR[b as usize]
}

/// May `b` stand inside a quoted string, escaped (`"`, `\`) or not? CR, LF and NUL may not.
pub fn is_quotable(b: u8) -> bool {
    QUOTED_PLAIN[b as usize] || b == b'"' || b == b'\\'
}

/// `b` in each of the eight bytes of a word.
const fn bytes_of(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// How many ASCII letters open `word`, read as eight input bytes in order (`u64::from_le_bytes`
/// of them): 0 to 8, without a loop over the bytes.
///
/// Each byte's high bit flags a test on that byte; no test carries into the next byte.
pub(crate) fn leading_letters(word: u64) -> usize {
    const HIGH: u64 = bytes_of(0x80);
    // Case folded and below 0x80: a letter is one of 0x41..=0x5a here, and an 8-bit byte
    // (`word`'s high bit) is not a letter.
    let upper = word & bytes_of(0x5f);
    let from_a = upper + bytes_of(0x80 - b'A');
    let past_z = upper + bytes_of(0x80 - b'Z' - 1);
    let letters = from_a & !past_z & !word & HIGH;
    ((!letters & HIGH).trailing_zeros() / 8) as usize
}

// ---------------------------------------------------------------------------------------------
// Simple tokens.

/// One space.
pub fn sp(i: &[u8]) -> LexResult<'_, ()> {
    match i.first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b' ') => Ok((&i[1..], ())),
        Some(_) => invalid(i, ErrorKind::Space),
    }
}

/// A line end: CRLF, or (quirk) a bare LF.
pub fn crlf(i: &[u8]) -> LexResult<'_, ()> {
    match i {
        [] => Err(nom::Err::Incomplete(nom::Needed::new(2))),
        [b'\n', rest @ ..] => Ok((rest, ())),
        [b'\r'] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        [b'\r', b'\n', rest @ ..] => Ok((rest, ())),
        _ => invalid(i, ErrorKind::CrLf),
    }
}

/// One or more bytes of a class, as a streaming parser: incomplete when the input ends inside
/// the run (it may go on), invalid when the first byte is not in the class.
fn run_of<'a>(i: &'a [u8], class: &[bool; 256], kind: ErrorKind) -> LexResult<'a, &'a [u8]> {
    match i.iter().position(|&b| !class[b as usize]) {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(0) => invalid(i, kind),
        Some(n) => Ok((&i[n..], &i[..n])),
    }
}

/// 1*ATOM-CHAR.
pub fn atom(i: &[u8]) -> LexResult<'_, &[u8]> {
    run_of(i, &ATOM_CHAR, ErrorKind::TakeWhile1)
}

/// 1*ASTRING-CHAR: the atom form of an astring (it may contain `]`).
pub fn astring_atom(i: &[u8]) -> LexResult<'_, &[u8]> {
    run_of(i, &ASTRING_CHAR, ErrorKind::TakeWhile1)
}

/// 1*list-char: the atom form of a LIST pattern (it may contain `%`, `*` and `]`).
pub fn list_atom(i: &[u8]) -> LexResult<'_, &[u8]> {
    run_of(i, &LIST_CHAR, ErrorKind::TakeWhile1)
}

/// A command or response tag: 1*(ASTRING-CHAR except `+`).
pub fn tag_token(i: &[u8]) -> LexResult<'_, &[u8]> {
    run_of(i, &TAG_CHAR, ErrorKind::TakeWhile1)
}

/// The value of a run of ASCII digits, if it is no larger than `max`.
fn digits_value(digits: &[u8], max: u64) -> Option<u64> {
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .filter(|&n| n <= max)
    })
}

/// Digits as an unsigned number no larger than `max`; more digits than fit is invalid.
fn bounded_number(i: &[u8], max: u64) -> LexResult<'_, u64> {
    let (rest, digits) = run_of(i, &DIGIT, ErrorKind::Digit)?;
    match digits_value(digits, max) {
        Some(n) => Ok((rest, n)),
        None => invalid(i, ErrorKind::TooLarge),
    }
}

/// An RFC 3501 `number`: 32 bits unsigned.
pub fn number(i: &[u8]) -> LexResult<'_, u32> {
    let (rest, n) = bounded_number(i, u64::from(u32::MAX))?;
    Ok((rest, n as u32))
}

/// An RFC 3516 `number64` (literal8 lengths): 63 bits unsigned.
pub fn number64(i: &[u8]) -> LexResult<'_, u64> {
    bounded_number(i, i64::MAX as u64)
}

// ---------------------------------------------------------------------------------------------
// Literals.

/// How a literal was announced: its payload length and form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LiteralHeader {
    /// Payload length in octets.
    pub len: u64,
    /// `{n+}` (LITERAL+ / LITERAL-): the sender does not wait for a continuation.
    pub non_sync: bool,
    /// `~{n}` (RFC 3516 literal8): the payload may contain NUL.
    pub binary: bool,
}

impl LiteralHeader {
    /// A synchronizing literal (`{n}`): the receiver must answer `+` before the payload comes.
    pub fn needs_continuation(&self) -> bool {
        !self.non_sync
    }

    /// Writes the header as it goes on the wire, without the CRLF after it.
    pub fn write(&self, out: &mut Vec<u8>) {
        if self.binary {
            out.push(b'~');
        }
        out.push(b'{');
        write_decimal(out, self.len);
        if self.non_sync {
            out.push(b'+');
        }
        out.push(b'}');
    }
}

/// How a literal was sent, apart from its length (which its payload carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LiteralForm {
    /// `{n+}`: sent without waiting for a continuation.
    pub non_sync: bool,
    /// `~{n}`: a literal8.
    pub binary: bool,
}

impl LiteralForm {
    /// The header that announces a payload of `len` octets in this form.
    pub fn header(self, len: usize) -> LiteralHeader {
        LiteralHeader {
            len: len as u64,
            non_sync: self.non_sync,
            binary: self.binary,
        }
    }
}

impl LiteralHeader {
    /// The form of this literal, without its length.
    pub fn form(&self) -> LiteralForm {
        LiteralForm {
            non_sync: self.non_sync,
            binary: self.binary,
        }
    }
}

/// Appends `value` as a quoted string, `"` and `\` escaped. The caller has checked that every
/// byte may stand in one (no CR, LF or NUL; 8-bit only where the peer accepts it).
pub fn write_quoted(out: &mut Vec<u8>, value: &[u8]) {
    out.reserve(value.len() + 2);
    out.push(b'"');
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Appends `n` in decimal (what a writer of IMAP numbers needs, without formatting machinery).
pub fn write_decimal(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = n;
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[at..]);
}

/// A literal header: `["~"] "{" number64 ["+"] "}" CRLF`.
pub fn literal_header(i: &[u8]) -> LexResult<'_, LiteralHeader> {
    let (i, binary) = match i.first() {
        None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'~') => (&i[1..], true),
        Some(_) => (i, false),
    };
    let (i, _) = tag(&b"{"[..]).parse(i)?;
    let (i, len) = number64(i)?;
    let (i, non_sync) = match i.first() {
        None => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'+') => (&i[1..], true),
        Some(_) => (i, false),
    };
    let (i, _) = tag(&b"}"[..]).parse(i)?;
    let (i, ()) = crlf(i)?;
    Ok((
        i,
        LiteralHeader {
            len,
            non_sync,
            binary,
        },
    ))
}

/// A whole literal: its header and its payload.
pub fn literal(i: &[u8]) -> LexResult<'_, (LiteralHeader, &[u8])> {
    let (i, header) = literal_header(i)?;
    let Ok(len) = usize::try_from(header.len) else {
        return invalid(i, ErrorKind::TooLarge);
    };
    let (i, payload) = take(len).parse(i)?;
    if !header.binary && payload.contains(&0) {
        return invalid(i, ErrorKind::Char);
    }
    Ok((i, (header, payload)))
}

/// The literal header that ends a line, if any: the line is given without its line end.
///
/// This is how a server learns that a literal follows (it scans the end of each line, as the
/// framer does). Returns `None` when the line does not end in `{n}`, `{n+}` or `~{n}` (with or
/// without `+`), and `Some(Err(()))` when it ends in a brace group that is not a valid header
/// (a number too large, say).
pub fn literal_at_line_end(line: &[u8]) -> Option<Result<LiteralHeader, ()>> {
    let body = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', body)?;
    let mut digits = &body[open + 1..];
    let non_sync = match digits.strip_suffix(b"+") {
        Some(d) => {
            digits = d;
            true
        }
        None => false,
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let binary = open > 0 && line[open - 1] == b'~';
    let Some(len) = digits_value(digits, i64::MAX as u64) else {
        return Some(Err(()));
    };
    Some(Ok(LiteralHeader {
        len,
        non_sync,
        binary,
    }))
}

// ---------------------------------------------------------------------------------------------
// Quoted strings and astrings.

/// A quoted string; returns the bytes between the quotes with their escapes still in place.
///
/// Only `\"` and `\\` are escapes; any other backslash, a NUL, CR or LF is invalid.
pub fn quoted(i: &[u8]) -> LexResult<'_, &[u8]> {
    let (body, _) = tag(&b"\""[..]).parse(i)?;
    let mut at = 0;
    loop {
        let Some(&b) = body.get(at) else {
            return Err(nom::Err::Incomplete(nom::Needed::Unknown));
        };
        match b {
            b'"' => return Ok((&body[at + 1..], &body[..at])),
            b'\\' => match body.get(at + 1) {
                None => return Err(nom::Err::Incomplete(nom::Needed::Unknown)),
                Some(b'"' | b'\\') => at += 2,
                Some(_) => return invalid(&body[at..], ErrorKind::Escaped),
            },
            _ if QUOTED_PLAIN[b as usize] => at += 1,
            _ => return invalid(&body[at..], ErrorKind::Char),
        }
    }
}

/// An IMAP string argument in any of its wire forms, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AString<'a> {
    /// A bare atom (ASTRING-CHARs, or list-chars in a LIST pattern).
    Atom(&'a [u8]),
    /// A quoted string: the bytes between the quotes, escapes (`\"`, `\\`) not yet removed.
    Quoted(&'a [u8]),
    /// A literal: its form (`{n}`, `{n+}`, `~{n}`) and payload; the payload's length is the
    /// announced length.
    Literal(LiteralForm, &'a [u8]),
}

impl<'a> AString<'a> {
    /// The logical bytes, escapes removed.
    pub fn bytes(&self) -> Unescaped<'a> {
        match *self {
            AString::Quoted(raw) => Unescaped { raw, quoted: true },
            AString::Atom(raw) | AString::Literal(_, raw) => Unescaped { raw, quoted: false },
        }
    }

    /// The logical bytes as one slice, when that needs no copy (no escapes present).
    pub fn as_slice(&self) -> Option<&'a [u8]> {
        match *self {
            AString::Quoted(raw) if memchr::memchr(b'\\', raw).is_some() => None,
            AString::Atom(raw) | AString::Quoted(raw) | AString::Literal(_, raw) => Some(raw),
        }
    }

    /// The logical bytes, copied (escapes removed).
    pub fn to_vec(&self) -> Vec<u8> {
        match self.as_slice() {
            Some(s) => s.to_vec(),
            None => self.bytes().collect(),
        }
    }

    /// Logical length in octets.
    pub fn len(&self) -> usize {
        match *self {
            AString::Quoted(raw) => self
                .as_slice()
                .map_or_else(|| self.bytes().count(), |_| raw.len()),
            AString::Atom(raw) | AString::Literal(_, raw) => raw.len(),
        }
    }

    /// Is the logical value empty (`""` or `{0}`)?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Does the logical value equal `other`, ignoring ASCII case?
    pub fn eq_ignore_ascii_case(&self, other: &[u8]) -> bool {
        match self.as_slice() {
            Some(s) => s.eq_ignore_ascii_case(other),
            None => {
                self.len() == other.len()
                    && self
                        .bytes()
                        .zip(other)
                        .all(|(a, b)| a.eq_ignore_ascii_case(b))
            }
        }
    }

    /// Is this the mailbox name `INBOX` (case-insensitive, RFC 3501 §5.1)?
    pub fn is_inbox(&self) -> bool {
        self.eq_ignore_ascii_case(b"INBOX")
    }
}

/// The logical bytes of an [`AString`], with quoted-string escapes removed.
#[derive(Debug, Clone)]
pub struct Unescaped<'a> {
    raw: &'a [u8],
    quoted: bool,
}

impl Iterator for Unescaped<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&b, rest) = self.raw.split_first()?;
        if self.quoted && b == b'\\' {
            let (&escaped, rest) = rest.split_first()?;
            self.raw = rest;
            return Some(escaped);
        }
        self.raw = rest;
        Some(b)
    }
}

/// A string: quoted or literal (no atom), as MUPDATE and IMAP `string` require.
pub fn string(i: &[u8]) -> LexResult<'_, AString<'_>> {
    match i.first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'"') => quoted(i).map(|(r, q)| (r, AString::Quoted(q))),
        Some(b'{' | b'~') => literal(i).map(|(r, (h, p))| (r, AString::Literal(h.form(), p))),
        Some(_) => invalid(i, ErrorKind::Alt),
    }
}

/// Does `i` start a string (quoted or literal) rather than an atom? `~` opens a literal8 only
/// when `{` follows it: `~/Mail/saved` is an atom (RFC 4314's own example).
fn starts_string(i: &[u8]) -> Result<bool, nom::Err<Error<&[u8]>>> {
    match i {
        [] | [b'~'] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        [b'"' | b'{', ..] | [b'~', b'{', ..] => Ok(true),
        _ => Ok(false),
    }
}

/// An astring: an atom of ASTRING-CHARs, a quoted string or a literal.
pub fn astring(i: &[u8]) -> LexResult<'_, AString<'_>> {
    if starts_string(i)? {
        return string(i);
    }
    astring_atom(i).map(|(r, a)| (r, AString::Atom(a)))
}

/// A LIST pattern (`list-mailbox`): an atom of list-chars, a quoted string or a literal.
pub fn list_mailbox(i: &[u8]) -> LexResult<'_, AString<'_>> {
    if starts_string(i)? {
        return string(i);
    }
    list_atom(i).map(|(r, a)| (r, AString::Atom(a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete<T: std::fmt::Debug>(r: LexResult<'_, T>) -> bool {
        matches!(r, Err(nom::Err::Incomplete(_)))
    }

    fn error<T: std::fmt::Debug>(r: LexResult<'_, T>) -> bool {
        matches!(r, Err(nom::Err::Error(_)))
    }

    #[test]
    fn astring_forms() {
        assert_eq!(astring(b"INBOX "), Ok((&b" "[..], AString::Atom(b"INBOX"))));
        assert_eq!(astring(b"a]b "), Ok((&b" "[..], AString::Atom(b"a]b"))));
        let (rest, q) = astring(b"\"a \\\"b\\\\\" x").unwrap();
        assert_eq!(rest, b" x");
        assert_eq!(q.to_vec(), b"a \"b\\");
        assert_eq!(q.len(), 5);
        assert!(q.as_slice().is_none());
        let (rest, l) = astring(b"{5+}\r\nINBOX)").unwrap();
        assert_eq!(rest, b")");
        assert!(l.is_inbox());
        assert_eq!(
            l,
            AString::Literal(
                LiteralForm {
                    non_sync: true,
                    binary: false
                },
                b"INBOX"
            )
        );
    }

    #[test]
    fn every_prefix_of_a_token_is_incomplete() {
        let inputs: [&[u8]; 4] = [
            b"\"a \\\"b\" ",
            b"{5}\r\nINBOX ",
            b"~{3+}\r\na\0b ",
            b"INBOX ",
        ];
        for input in inputs {
            for cut in 0..input.len() - 1 {
                assert!(incomplete(astring(&input[..cut])), "{input:?} cut at {cut}");
            }
            assert!(astring(input).is_ok(), "{input:?}");
        }
    }

    #[test]
    fn invalid_tokens() {
        assert!(error(astring(b"\"a\\x\"")));
        assert!(error(astring(b"\"a\rb\"")));
        assert!(error(astring(b"(x")));
        assert_eq!(
            astring(b"~/Mail "),
            Ok((&b" "[..], AString::Atom(b"~/Mail")))
        );
        assert!(incomplete(astring(b"~")));
        assert!(error(astring(b"{99999999999999999999}\r\n")));
        assert!(error(astring(b"{2}\r\na\0")));
        assert!(error(literal_header(b"{5x}\r\n")));
        assert!(error(crlf(b"\rx")));
        assert!(error(number(b"4294967296 ")));
        assert_eq!(number(b"4294967295 "), Ok((&b" "[..], u32::MAX)));
    }

    #[test]
    fn line_end_literals() {
        let h = |len, non_sync, binary| {
            Some(Ok(LiteralHeader {
                len,
                non_sync,
                binary,
            }))
        };
        assert_eq!(
            literal_at_line_end(b"a APPEND x {310}"),
            h(310, false, false)
        );
        assert_eq!(literal_at_line_end(b"a APPEND x ~{3+}"), h(3, true, true));
        assert_eq!(literal_at_line_end(b"a NOOP"), None);
        assert_eq!(literal_at_line_end(b"a X {}"), None);
        assert_eq!(literal_at_line_end(b"a X {+}"), None);
        assert_eq!(literal_at_line_end(b"a X {1a}"), None);
        assert_eq!(
            literal_at_line_end(b"a X {99999999999999999999}"),
            Some(Err(()))
        );
    }

    #[test]
    fn header_writes_back() {
        for h in [
            LiteralHeader {
                len: 0,
                non_sync: false,
                binary: false,
            },
            LiteralHeader {
                len: 1234,
                non_sync: true,
                binary: true,
            },
        ] {
            let mut out = Vec::new();
            h.write(&mut out);
            out.extend_from_slice(b"\r\n");
            assert_eq!(literal_header(&out), Ok((&b""[..], h)));
        }
    }

    #[test]
    fn tags_and_classes() {
        assert_eq!(
            tag_token(b"a1.x SELECT"),
            Ok((&b" SELECT"[..], &b"a1.x"[..]))
        );
        assert!(error(tag_token(b"+ go")));
        assert!(is_list_char(b'%') && !is_atom_char(b'%'));
        assert!(is_astring_char(b']') && !is_atom_char(b']'));
        assert!(!is_atom_char(0xc3));
        assert!(is_quotable(0xc3) && !is_quotable(b'\n'));
    }

    #[test]
    fn leading_letters_match_a_byte_loop() {
        let word = |bytes: [u8; 8]| u64::from_le_bytes(bytes);
        assert_eq!(leading_letters(word(*b"SELECT I")), 6);
        assert_eq!(leading_letters(word(*b"azAZazAZ")), 8);
        assert_eq!(leading_letters(word(*b"@[`{AZaz")), 0);
        // Every byte value in every position, beside letters and beside non-letters.
        for b in 0..=u8::MAX {
            for at in 0..8 {
                for fill in [b'q', b'Q', b' ', 0xe1] {
                    let mut bytes = [fill; 8];
                    bytes[at] = b;
                    let expected = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
                    assert_eq!(leading_letters(word(bytes)), expected, "{bytes:?}");
                }
            }
        }
    }
}
