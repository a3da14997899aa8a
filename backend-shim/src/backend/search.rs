//! SEARCH evaluation of the reference backend: whether one stored message matches a SEARCH key.
//!
//! Sans-IO: [`matches()`] takes the key, the message as a [`Candidate`] (with its sequence number
//! and whether it is `\Recent` for the session) and the mailbox's [`Bounds`] (what `*` stands
//! for), and answers. Flags, dates, sizes and numbers come from the store's metadata; header
//! keys read the header fields in place; only BODY needs the MIME view, built at most once per
//! candidate, and the `Date:` field is read at most once.
//!
//! String keys match substrings ignoring ASCII case. Header values are unfolded and their
//! RFC 2047 encoded words decoded first (UTF-8, US-ASCII and ISO-8859-1 words; a word in
//! another charset is compared as sent). BODY reads the body as a reader sees it, as Dovecot
//! and Cyrus do: each text part decoded from its transfer encoding (base64, quoted-printable)
//! and from ISO-8859-1 to UTF-8, and each embedded message's header; MIME part headers,
//! boundaries, preambles and non-text parts are not searched. TEXT is the message's header
//! and its BODY. The SENT keys read the `Date:` field, or the internal date where it is
//! missing or unreadable (RFC 5256's rule for the sent date). Recursion follows the key's
//! nesting, which the request parser bounds ([`corvid_proto::imap::request::MAX_DEPTH`]).

use std::borrow::Cow;
use std::cell::OnceCell;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use corvid_proto::imap::request::datetime::parse_rfc5322;
use corvid_proto::imap::request::search::DateCmp;
use corvid_proto::imap::request::{Date, Flag, SearchKey};
use corvid_proto::lex::AString;
use corvid_proto::message::{Fields, Kind, Message as MimeMessage, Part, first_field};
use memchr::memmem::Finder;

use super::store::{Message, SystemFlags};

/// One message as SEARCH sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'m> {
    /// Its sequence number in the session.
    pub seq: u32,
    /// The message.
    pub message: &'m Message,
    /// Is it `\Recent` for the session?
    pub recent: bool,
}

/// What `*` stands for in the key's sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// The largest sequence number (the number of messages).
    pub largest_seq: u32,
    /// The largest UID in the mailbox.
    pub largest_uid: u32,
}

/// Does `candidate` match `key`?
pub fn matches(key: &SearchKey<'_>, candidate: &Candidate<'_>, bounds: Bounds) -> bool {
    Evaluation {
        candidate,
        bounds,
        mime: OnceCell::new(),
        sent: OnceCell::new(),
    }
    .matches(key)
}

/// The evaluation of one key against one candidate, with what was read of it so far.
struct Evaluation<'c, 'm> {
    candidate: &'c Candidate<'m>,
    bounds: Bounds,
    mime: OnceCell<MimeMessage<'m>>,
    sent: OnceCell<Date>,
}

impl<'m> Evaluation<'_, 'm> {
    /// Does the candidate match `key`?
    fn matches(&self, key: &SearchKey<'_>) -> bool {
        let candidate = self.candidate;
        let message = candidate.message;
        match key {
            SearchKey::And(keys) => keys.iter().all(|key| self.matches(key)),
            SearchKey::Or(a, b) => self.matches(a) || self.matches(b),
            SearchKey::Not(key) => !self.matches(key),
            SearchKey::All => true,
            SearchKey::SequenceSet(set) => set.contains(candidate.seq, self.bounds.largest_seq),
            SearchKey::Uid(set) => set.contains(message.uid, self.bounds.largest_uid),
            SearchKey::Flag(flag) => self.has_flag(flag),
            SearchKey::New => candidate.recent && !message.flags.contains(SystemFlags::SEEN),
            SearchKey::Old => !candidate.recent,
            SearchKey::InternalDate(cmp, date) => on_day(*cmp, message.internal_date.date, *date),
            SearchKey::SentDate(cmp, date) => on_day(*cmp, self.sent_date(), *date),
            SearchKey::Larger(n) => message.bytes.len() > *n as usize,
            SearchKey::Smaller(n) => message.bytes.len() < *n as usize,
            SearchKey::Header(name, value) => {
                let needle = Needle::new(value);
                Fields::new(&message.bytes)
                    .filter(|field| name.eq_ignore_ascii_case(field.name))
                    .any(|field| needle.found_in(&decode_words(&field.unfolded())))
            }
            SearchKey::Body(value) => self.body_contains(&Needle::new(value)),
            SearchKey::Text(value) => {
                let needle = Needle::new(value);
                header_contains(&needle, self.mime().header()) || self.body_contains(&needle)
            }
        }
    }

    /// Does the candidate carry `flag`? Keywords compare ignoring ASCII case; an unknown
    /// `\`-flag matches a keyword stored under that name, if the session stores it so.
    fn has_flag(&self, flag: &Flag<'_>) -> bool {
        let message = self.candidate.message;
        let system = match flag {
            Flag::Seen => SystemFlags::SEEN,
            Flag::Answered => SystemFlags::ANSWERED,
            Flag::Flagged => SystemFlags::FLAGGED,
            Flag::Deleted => SystemFlags::DELETED,
            Flag::Draft => SystemFlags::DRAFT,
            Flag::Recent => return self.candidate.recent,
            Flag::Keyword(name) | Flag::Extension(name) => {
                return message
                    .keywords
                    .iter()
                    .any(|keyword| keyword.eq_ignore_ascii_case(name));
            }
        };
        message.flags.contains(system)
    }

    /// The MIME view, parsed on first use.
    fn mime(&self) -> &MimeMessage<'m> {
        let bytes: &'m [u8] = &self.candidate.message.bytes;
        self.mime.get_or_init(|| MimeMessage::parse(bytes))
    }

    /// The day of the `Date:` field, read on first use; the internal date's without a
    /// readable one.
    fn sent_date(&self) -> Date {
        let message = self.candidate.message;
        *self.sent.get_or_init(|| {
            first_field(&message.bytes, b"Date")
                .and_then(|field| parse_rfc5322(&field.unfolded()))
                .map_or(message.internal_date.date, |sent| sent.date)
        })
    }

    /// Is the needle in the body as a reader sees it (see the module doc)? The part tree is
    /// walked with a stack of its own, so a deep message costs no recursion.
    fn body_contains(&self, needle: &Needle) -> bool {
        if needle.len == 0 {
            return true;
        }
        let mime = self.mime();
        let mut parts: Vec<&Part> = vec![mime.root()];
        while let Some(part) = parts.pop() {
            match &part.kind {
                Kind::Single => {
                    let (media, _) = part.media_type();
                    if media.eq_ignore_ascii_case(b"text") && needle.found_in(&readable(mime, part))
                    {
                        return true;
                    }
                }
                Kind::Multipart(children) => parts.extend(children.iter().rev()),
                Kind::Message(inner) => {
                    if header_contains(needle, mime.slice(inner.header.clone())) {
                        return true;
                    }
                    parts.push(inner);
                }
            }
        }
        false
    }
}

/// Is the needle in a header block: its bytes as sent, or a field's value unfolded and decoded?
fn header_contains(needle: &Needle, header: &[u8]) -> bool {
    needle.found_in(header)
        || Fields::new(header).any(|field| needle.found_in(&decode_words(&field.unfolded())))
}

/// A text part's body as its reader sees it: decoded from its Content-Transfer-Encoding
/// (base64 that does not decode is left as sent), then from its charset to UTF-8 where this
/// module knows the charset.
fn readable<'m>(mime: &MimeMessage<'m>, part: &Part) -> Cow<'m, [u8]> {
    let body = mime.slice(part.body.clone());
    let header = mime.slice(part.header.clone());
    let encoding = first_field(header, b"Content-Transfer-Encoding");
    let encoding = encoding.as_ref().map_or(&b""[..], |field| field.trimmed());
    let decoded = if encoding.eq_ignore_ascii_case(b"base64") {
        let alphabet: Vec<u8> = body
            .iter()
            .copied()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .collect();
        WORD_BASE64
            .decode(alphabet)
            .map_or(Cow::Borrowed(body), Cow::Owned)
    } else if encoding.eq_ignore_ascii_case(b"quoted-printable") {
        Cow::Owned(quoted_printable(body))
    } else {
        Cow::Borrowed(body)
    };
    match part
        .param(b"charset")
        .and_then(|charset| to_utf8(charset, &decoded))
    {
        Some(Cow::Owned(utf8)) => Cow::Owned(utf8),
        _ => decoded,
    }
}

/// The quoted-printable encoding of RFC 2045 §6.7: `=XX` for an octet, `=` at a line end for a
/// soft line break; an `=` that is neither stays as sent.
fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    while let Some(&b) = body.get(at) {
        at += 1;
        if b != b'=' {
            out.push(b);
            continue;
        }
        let rest = body.get(at..).unwrap_or_default();
        if let Some(after) = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
        {
            at = body.len() - after.len();
        } else if let [high, low, ..] = rest
            && let (Some(high), Some(low)) = (hex_digit(*high), hex_digit(*low))
        {
            out.push(high << 4 | low);
            at += 2;
        } else {
            out.push(b'=');
        }
    }
    out
}

/// `text` in UTF-8, from `charset`: borrowed when it is UTF-8 or US-ASCII already, `None` for
/// a charset this module does not read (only ISO-8859-1 besides those).
fn to_utf8<'t>(charset: &[u8], text: &'t [u8]) -> Option<Cow<'t, [u8]>> {
    if charset.eq_ignore_ascii_case(b"utf-8") || charset.eq_ignore_ascii_case(b"us-ascii") {
        Some(Cow::Borrowed(text))
    } else if charset.eq_ignore_ascii_case(b"iso-8859-1") || charset.eq_ignore_ascii_case(b"latin1")
    {
        let utf8: String = text.iter().map(|&b| char::from(b)).collect();
        Some(Cow::Owned(utf8.into_bytes()))
    } else {
        None
    }
}

/// Does a message's `day` stand in relation `cmp` to the key's `date`?
fn on_day(cmp: DateCmp, day: Date, date: Date) -> bool {
    match cmp {
        DateCmp::Before => day < date,
        DateCmp::On => day == date,
        DateCmp::Since => day >= date,
    }
}

/// How much of a haystack is lowered at a time, bounding the memory one search takes.
const CHUNK: usize = 64 * 1024;

/// A search string, ready to be found in haystacks ignoring ASCII case, in linear time.
struct Needle {
    len: usize,
    finder: Finder<'static>,
}

impl Needle {
    /// The needle for a key's string.
    fn new(value: &AString<'_>) -> Needle {
        let lowered = value.to_vec().to_ascii_lowercase();
        Needle {
            len: lowered.len(),
            finder: Finder::new(&lowered).into_owned(),
        }
    }

    /// Is the needle in `haystack` (always, when it is empty)? The haystack is lowered a chunk
    /// at a time, each chunk overlapping the next by the needle's length less one.
    fn found_in(&self, haystack: &[u8]) -> bool {
        if self.len == 0 {
            return true;
        }
        let mut lowered = Vec::with_capacity(haystack.len().min(CHUNK + self.len));
        let mut start = 0;
        while start < haystack.len() {
            let end = start
                .saturating_add(CHUNK + self.len - 1)
                .min(haystack.len());
            let window = haystack.get(start..end).unwrap_or_default();
            lowered.clear();
            lowered.extend(window.iter().map(u8::to_ascii_lowercase));
            if self.finder.find(&lowered).is_some() {
                return true;
            }
            start += CHUNK;
        }
        false
    }
}

/// Base64 as encoded words carry it: padding optional.
const WORD_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `value` with its RFC 2047 encoded words (`=?charset?B|Q?text?=`) decoded to UTF-8, and the
/// white space between two adjacent encoded words dropped. A word that cannot be decoded (an
/// unknown charset, bad base64) stays as sent.
fn decode_words(value: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memmem::find(value, b"=?").is_none() {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    // Did the last thing copied end with a decoded word?
    let mut after_word = false;
    while let Some(at) = memchr::memmem::find(rest, b"=?") {
        let (before, word) = rest.split_at(at);
        match encoded_word(word) {
            Some((text, len)) => {
                let only_blanks = before.iter().all(|b| matches!(b, b' ' | b'\t'));
                if !(after_word && only_blanks) {
                    out.extend_from_slice(before);
                }
                out.extend_from_slice(&text);
                after_word = true;
                rest = word.get(len..).unwrap_or_default();
            }
            None => {
                out.extend_from_slice(before);
                out.extend_from_slice(b"=?");
                after_word = false;
                rest = word.get(2..).unwrap_or_default();
            }
        }
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Decodes the encoded word at the start of `input` (which starts with `=?`): its text in
/// UTF-8 and the word's length; `None` when it is not a word this decoder reads.
fn encoded_word(input: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut pieces = input.get(2..)?.splitn(3, |&b| b == b'?');
    let charset = pieces.next()?;
    let encoding = pieces.next()?;
    let tail = pieces.next()?;
    let text_len = memchr::memmem::find(tail, b"?=")?;
    let text = tail.get(..text_len)?;
    if text.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let raw = match encoding {
        b"B" | b"b" => WORD_BASE64.decode(text).ok()?,
        b"Q" | b"q" => quoted_printable_word(text)?,
        _ => return None,
    };
    // RFC 2231 §5: `charset*language`.
    let charset = charset.split(|&b| b == b'*').next().unwrap_or_default();
    let utf8 = to_utf8(charset, &raw)?.into_owned();
    let len = input.len() - tail.len() + text_len + 2;
    Some((utf8, len))
}

/// The Q encoding of RFC 2047 §4.2: `_` for a space, `=XX` for any octet.
fn quoted_printable_word(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let high = hex_digit(*bytes.next()?)?;
                let low = hex_digit(*bytes.next()?)?;
                out.push(high << 4 | low);
            }
            _ => out.push(b),
        }
    }
    Some(out)
}

/// The value of a hexadecimal digit.
fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use corvid_proto::imap::request::{SeqNumber, SeqRange, SequenceSet};

    use super::*;
    use crate::backend::testing::{at, corpus, stored};

    /// A small mailbox: each message with its flags, keywords, internal date and `\Recent`.
    fn mailbox() -> Vec<(Message, bool)> {
        let late = b"From: Erin <erin@example.org>\r\nDate: Wed, 6 Mar 2024 23:30:00 -0500\r\n\
Subject: late\r\n\r\nlate body\r\n";
        vec![
            (
                stored(
                    3,
                    SystemFlags::SEEN,
                    &["$Junk"],
                    at(2024, 3, 5, 9, 60),
                    &corpus("01-simple.eml"),
                ),
                false,
            ),
            (
                stored(
                    5,
                    SystemFlags::ANSWERED | SystemFlags::FLAGGED,
                    &["Work"],
                    at(2024, 3, 6, 0, 0),
                    &corpus("05-nested-rfc822.eml"),
                ),
                true,
            ),
            (
                stored(
                    9,
                    SystemFlags::DELETED | SystemFlags::DRAFT,
                    &[],
                    at(2024, 3, 7, 12, 0),
                    &corpus("08-folded-headers.eml"),
                ),
                true,
            ),
            (
                stored(
                    10,
                    SystemFlags::SEEN,
                    &[],
                    at(2024, 2, 29, 12, 0),
                    &corpus("10-encoded-words.eml"),
                ),
                false,
            ),
            // 23:00 on the 6th in its own zone (the 7th in UTC): its day is the 6th.
            (
                stored(
                    20,
                    SystemFlags::NONE,
                    &[],
                    at(2024, 3, 6, 23, -300),
                    &corpus("12-no-body.eml"),
                ),
                false,
            ),
            (
                stored(21, SystemFlags::NONE, &[], at(2024, 3, 8, 8, 0), late),
                false,
            ),
        ]
    }

    /// The sequence numbers of the messages of [`mailbox`] that match `key`.
    fn found(key: &SearchKey<'_>) -> Vec<u32> {
        let messages = mailbox();
        let bounds = Bounds {
            largest_seq: 6,
            largest_uid: 21,
        };
        (1..)
            .zip(&messages)
            .filter(|(seq, (message, recent))| {
                let candidate = Candidate {
                    seq: *seq,
                    message,
                    recent: *recent,
                };
                matches(key, &candidate, bounds)
            })
            .map(|(seq, _)| seq)
            .collect()
    }

    fn atom(s: &str) -> AString<'_> {
        AString::Atom(s.as_bytes())
    }

    fn header<'a>(name: &'a str, value: &'a str) -> SearchKey<'a> {
        SearchKey::Header(atom(name), AString::Quoted(value.as_bytes()))
    }

    fn not(key: SearchKey<'_>) -> SearchKey<'_> {
        SearchKey::Not(Box::new(key))
    }

    fn date(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn flags_keywords_and_recency() {
        let flag = SearchKey::Flag;
        assert_eq!(found(&flag(Flag::Seen)), [1, 4]);
        assert_eq!(found(&not(flag(Flag::Seen))), [2, 3, 5, 6]);
        assert_eq!(found(&flag(Flag::Answered)), [2]);
        assert_eq!(found(&flag(Flag::Flagged)), [2]);
        assert_eq!(found(&flag(Flag::Deleted)), [3]);
        assert_eq!(found(&flag(Flag::Draft)), [3]);
        assert_eq!(found(&flag(Flag::Recent)), [2, 3]);
        assert_eq!(found(&flag(Flag::Keyword(b"work"))), [2]);
        assert_eq!(found(&flag(Flag::Keyword(b"$JUNK"))), [1]);
        assert_eq!(found(&flag(Flag::Keyword(b"Personal"))), [] as [u32; 0]);
        assert_eq!(found(&flag(Flag::Extension(b"\\Junk"))), [] as [u32; 0]);
        assert_eq!(found(&SearchKey::New), [2, 3]);
        assert_eq!(found(&SearchKey::Old), [1, 4, 5, 6]);
    }

    #[test]
    fn internal_dates_compare_by_their_own_day() {
        let on = |cmp, d| found(&SearchKey::InternalDate(cmp, d));
        assert_eq!(on(DateCmp::On, date(2024, 3, 6)), [2, 5]);
        assert_eq!(on(DateCmp::Before, date(2024, 3, 6)), [1, 4]);
        assert_eq!(on(DateCmp::Since, date(2024, 3, 6)), [2, 3, 5, 6]);
        assert_eq!(on(DateCmp::Since, date(2025, 1, 1)), [] as [u32; 0]);
        assert_eq!(on(DateCmp::Before, date(2024, 3, 1)), [4]);
    }

    #[test]
    fn sizes_are_strict_bounds() {
        // 170, 572, 222, 209, 48 and 102 octets.
        assert_eq!(found(&SearchKey::Larger(209)), [2, 3]);
        assert_eq!(found(&SearchKey::Smaller(209)), [1, 5, 6]);
        assert_eq!(found(&SearchKey::Larger(169)), [1, 2, 3, 4]);
        assert_eq!(found(&SearchKey::Smaller(170)), [5, 6]);
    }

    #[test]
    fn header_keys_search_unfolded_decoded_values() {
        assert_eq!(found(&header("FROM", "CAROL")), [1, 2, 3, 5]);
        assert_eq!(found(&header("from", "example.NET")), [] as [u32; 0]);
        assert_eq!(found(&header("TO", "dave@example")), [3]);
        assert_eq!(found(&header("SUBJECT", "is  folded over three")), [3]);
        // RFC 2047 words: UTF-8 Q, ISO-8859-1 B, UTF-8 B.
        assert_eq!(found(&header("FROM", "Café <")), [4]);
        assert_eq!(found(&header("TO", "andré PIRARD")), [4]);
        assert_eq!(found(&header("SUBJECT", "été et")), [4]);
        assert_eq!(found(&header("SUBJECT", "=?UTF-8?")), [] as [u32; 0]);
        // An empty string: every message that has the field.
        assert_eq!(found(&header("Message-ID", "")), [1]);
        assert_eq!(found(&header("Date", "")), [1, 6]);
        assert_eq!(found(&header("X-Absent", "")), [] as [u32; 0]);
        // Fields of an embedded message are not the message's own.
        assert_eq!(found(&header("From", "dave")), [] as [u32; 0]);
    }

    #[test]
    fn body_and_text_keys() {
        let body = |s: &'static str| found(&SearchKey::Body(AString::Quoted(s.as_bytes())));
        let text = |s: &'static str| found(&SearchKey::Text(AString::Quoted(s.as_bytes())));
        assert_eq!(body("WORLD"), [1]);
        // The embedded message's header is in the outer body.
        assert_eq!(body("subject: inner"), [2]);
        assert_eq!(body("Subject: Hello"), [] as [u32; 0]);
        assert_eq!(body(""), [1, 2, 3, 4, 5, 6]);
        assert_eq!(text("subject: hello"), [1]);
        assert_eq!(text("hello, world"), [1]);
        assert_eq!(text("ÉTÉ"), [] as [u32; 0]); // ASCII case folding only
        assert_eq!(text("été"), [4]);
        assert_eq!(text("headers only"), [5]);
    }

    #[test]
    fn boolean_combinations() {
        let seen = || SearchKey::Flag(Flag::Seen);
        let deleted = || SearchKey::Flag(Flag::Deleted);
        let or = SearchKey::Or(Box::new(seen()), Box::new(deleted()));
        assert_eq!(found(&or), [1, 3, 4]);
        let and = SearchKey::And(vec![
            SearchKey::Flag(Flag::Recent),
            not(SearchKey::Flag(Flag::Draft)),
        ]);
        assert_eq!(found(&and), [2]);
        assert_eq!(found(&SearchKey::And(Vec::new())), [1, 2, 3, 4, 5, 6]);
        assert_eq!(found(&SearchKey::All), [1, 2, 3, 4, 5, 6]);
        assert_eq!(found(&not(SearchKey::All)), [] as [u32; 0]);
        let nested = not(SearchKey::Or(
            Box::new(or),
            Box::new(header("FROM", "erin")),
        ));
        assert_eq!(found(&nested), [2, 5]);
    }

    #[test]
    fn sets_name_sequence_numbers_and_uids_with_star() {
        let set = |ranges: &[(SeqNumber, SeqNumber)]| {
            SequenceSet(
                ranges
                    .iter()
                    .map(|&(start, end)| SeqRange { start, end })
                    .collect(),
            )
        };
        use SeqNumber::{Largest, Value};
        assert_eq!(
            found(&SearchKey::SequenceSet(set(&[
                (Value(2), Value(3)),
                (Largest, Largest)
            ]))),
            [2, 3, 6]
        );
        assert_eq!(
            found(&SearchKey::SequenceSet(set(&[(Largest, Value(5))]))),
            [5, 6]
        );
        assert_eq!(
            found(&SearchKey::Uid(set(&[(Value(9), Value(10))]))),
            [3, 4]
        );
        assert_eq!(found(&SearchKey::Uid(set(&[(Value(20), Largest)]))), [5, 6]);
        assert_eq!(
            found(&SearchKey::Uid(set(&[(Value(4), Value(4))]))),
            [] as [u32; 0]
        );
    }

    #[test]
    fn sent_dates_come_from_the_date_field_else_the_internal_date() {
        // Only messages 1 (7 Feb 1994) and 6 (6 Mar 2024, in its own zone) have a Date field
        // in their own header (message 2's is in its embedded message): the others are sent
        // on their internal date's day (RFC 5256).
        let sent = |cmp, d| found(&SearchKey::SentDate(cmp, d));
        assert_eq!(sent(DateCmp::On, date(1994, 2, 7)), [1]);
        assert_eq!(sent(DateCmp::On, date(2024, 3, 6)), [2, 5, 6]);
        assert_eq!(sent(DateCmp::Since, date(1994, 2, 8)), [2, 3, 4, 5, 6]);
        assert_eq!(sent(DateCmp::Before, date(2024, 3, 6)), [1, 4]);
        assert_eq!(sent(DateCmp::Before, date(2030, 1, 1)), [1, 2, 3, 4, 5, 6]);
    }

    /// Whether BODY (and TEXT) `needle` matches `message`.
    fn body_and_text(message: &[u8], needle: &str) -> (bool, bool) {
        let message = stored(1, SystemFlags::NONE, &[], at(2024, 1, 1, 0, 0), message);
        let candidate = Candidate {
            seq: 1,
            message: &message,
            recent: false,
        };
        let bounds = Bounds {
            largest_seq: 1,
            largest_uid: 1,
        };
        let value = || AString::Quoted(needle.as_bytes());
        (
            matches(&SearchKey::Body(value()), &candidate, bounds),
            matches(&SearchKey::Text(value()), &candidate, bounds),
        )
    }

    #[test]
    fn body_reads_text_parts_decoded_and_nothing_of_the_mime_framing() {
        let message = b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
preamble text\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: base64\r\n\r\nY2Fmw6kgYXUg\r\nbGFpdA==\r\n--b\r\n\
Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
<p>cr=E8me br=FBl=\r\n=E9e =3D done</p>=ZZ\r\n--b\r\n\
Content-Type: application/octet-stream\r\n\r\nsecret binary words\r\n--b--\r\nepilogue\r\n";
        // base64, then UTF-8.
        assert_eq!(body_and_text(message, "CAFÉ au lait"), (false, false));
        assert_eq!(body_and_text(message, "café au lait"), (true, true));
        // quoted-printable with a soft line break, then ISO-8859-1 to UTF-8; a bad `=` stays.
        assert_eq!(body_and_text(message, "crème brûlée = done"), (true, true));
        assert_eq!(body_and_text(message, "</p>=ZZ"), (true, true));
        assert_eq!(body_and_text(message, "=E8"), (false, false));
        // Not the framing, the part headers, or a non-text part.
        for absent in [
            "preamble", "epilogue", "--b", "charset=", "base64", "secret",
        ] {
            assert_eq!(body_and_text(message, absent), (false, false), "{absent}");
        }
        // TEXT also reads the message's header.
        assert_eq!(body_and_text(message, "subject: PARTS"), (false, true));
        assert_eq!(
            body_and_text(message, "content-type: multipart"),
            (false, true)
        );
        assert_eq!(body_and_text(message, ""), (true, true));
    }

    #[test]
    fn body_reads_an_embedded_message_header_and_undecodable_base64_as_sent() {
        let message = b"Content-Type: message/rfc822\r\n\r\nSubject: =?utf-8?q?inn=C3=A9r?=\r\n\
Content-Transfer-Encoding: base64\r\n\r\nnot base64 at all!\r\n";
        assert_eq!(body_and_text(message, "innér"), (true, true));
        assert_eq!(body_and_text(message, "Subject: =?utf-8"), (true, true));
        assert_eq!(body_and_text(message, "at all!"), (true, true));
    }

    #[test]
    fn encoded_words_decode_and_join() {
        let decoded = |s: &str| String::from_utf8_lossy(&decode_words(s.as_bytes())).into_owned();
        assert_eq!(
            decoded("=?utf-8?q?a_b?= =?UTF-8?B?w6k=?=\t=?iso-8859-1?Q?=E9?="),
            "a béé"
        );
        assert_eq!(decoded("x =?utf-8?b?w6k?= y"), "x é y");
        assert_eq!(decoded("=?utf-8*fr?Q?=C3=A9?="), "é");
        // Not words: kept as sent.
        assert_eq!(
            decoded("=?koi8-r?B?8g==?= and =?utf-8?X?a?= =?utf-8?Q?bad=Z?="),
            "=?koi8-r?B?8g==?= and =?utf-8?X?a?= =?utf-8?Q?bad=Z?="
        );
        assert_eq!(decoded("=?utf-8?Q?a b?="), "=?utf-8?Q?a b?=");
        assert_eq!(decoded("=?"), "=?");
        assert_eq!(decoded("=?utf-8?Q?ok?= tail =?"), "ok tail =?");
    }

    #[test]
    fn long_haystacks_are_searched_across_chunks() {
        let mut haystack = vec![b'a'; CHUNK * 3];
        let needle = Needle::new(&AString::Atom(b"XYZ"));
        assert!(!needle.found_in(&haystack));
        for at in [0, CHUNK - 2, CHUNK - 1, CHUNK, 2 * CHUNK - 1, 3 * CHUNK - 3] {
            let mut copy = haystack.clone();
            copy[at..at + 3].copy_from_slice(b"xYz");
            assert!(needle.found_in(&copy), "at {at}");
        }
        haystack.truncate(2);
        assert!(!needle.found_in(&haystack));
    }
}
