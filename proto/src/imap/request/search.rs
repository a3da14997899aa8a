//! SEARCH keys: the arguments of `[UID] SEARCH` (RFC 3501 §6.4.4).
//!
//! Keys in a row are an implicit AND; `NOT`, `OR` and parentheses nest, at most
//! [`MAX_DEPTH`] deep. The `UN` keys come as `Not` of their flag.

use super::{
    Command, Date, Flag, MAX_DEPTH, RequestError, SequenceSet, Step, astring, atom, bad, lexed,
    one_or_more, sequence_set, space,
};
use crate::lex::{self, AString};

/// One SEARCH key (RFC 3501 §6.4.4). Several keys in a row are an [`SearchKey::And`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey<'a> {
    /// Every key must match (the implicit AND of a key list, and parentheses).
    And(Vec<SearchKey<'a>>),
    /// `OR a b`.
    Or(Box<SearchKey<'a>>, Box<SearchKey<'a>>),
    /// `NOT key`.
    Not(Box<SearchKey<'a>>),
    /// `ALL`.
    All,
    /// A sequence set by itself: messages by sequence number.
    SequenceSet(SequenceSet),
    /// `UID set`.
    Uid(SequenceSet),
    /// `ANSWERED`, `DELETED`, `DRAFT`, `FLAGGED`, `SEEN`, `RECENT`, `KEYWORD k` (and their `UN`
    /// forms as `Not`), through the flag they test.
    Flag(super::Flag<'a>),
    /// `NEW`: recent and not seen.
    New,
    /// `OLD`: not recent.
    Old,
    /// `BEFORE`, `ON`, `SINCE`: the internal date's day (in its own zone) against a date.
    InternalDate(DateCmp, Date),
    /// `SENTBEFORE`, `SENTON`, `SENTSINCE`: the `Date:` header's day against a date.
    SentDate(DateCmp, Date),
    /// `LARGER n`.
    Larger(u32),
    /// `SMALLER n`.
    Smaller(u32),
    /// `BCC`, `CC`, `FROM`, `SUBJECT`, `TO`: a header field contains the string; `HEADER
    /// name string` for any field (an empty string matches any message that has the field).
    Header(AString<'a>, AString<'a>),
    /// `BODY s`: the body (after the header) contains the string.
    Body(AString<'a>),
    /// `TEXT s`: the header or the body contains the string.
    Text(AString<'a>),
}

/// How a date key compares a message's day with the key's date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateCmp {
    /// Earlier than the date.
    Before,
    /// On the date.
    On,
    /// On or after the date.
    Since,
}

const REASON: &str = "invalid search key";

/// The header fields with a SEARCH key of their own.
const ADDRESS_KEYS: [&[u8]; 5] = [b"BCC", b"CC", b"FROM", b"SUBJECT", b"TO"];

/// `[UID] SEARCH [CHARSET charset] key *(SP key)`.
pub(super) fn search(i: &[u8], uid: bool) -> Step<'_, Command<'_>> {
    let i = space(i)?;
    let (i, charset) = match lex::atom(i) {
        Ok((rest, word)) if word.eq_ignore_ascii_case(b"CHARSET") => {
            let (rest, charset) = astring(space(rest)?, "invalid charset")?;
            (space(rest)?, Some(charset))
        }
        Err(nom::Err::Incomplete(_)) => return Err(RequestError::Incomplete),
        _ => (i, None),
    };
    let (i, keys) = one_or_more(i, |i| key(i, 0))?;
    Ok((
        i,
        Command::Search {
            uid,
            charset,
            key: all_of(keys),
        },
    ))
}

/// Keys that must all match, as one key.
fn all_of(keys: Vec<SearchKey<'_>>) -> SearchKey<'_> {
    match <[SearchKey<'_>; 1]>::try_from(keys) {
        Ok([key]) => key,
        Err(keys) => SearchKey::And(keys),
    }
}

/// One key, inside `depth` enclosing `NOT`, `OR` or parentheses (0 at the top).
fn key(i: &[u8], depth: usize) -> Step<'_, SearchKey<'_>> {
    if depth > MAX_DEPTH {
        return bad("search keys nested too deeply");
    }
    match i {
        [] => Err(RequestError::Incomplete),
        [b'(', rest @ ..] => {
            let (rest, keys) = one_or_more(rest, |i| key(i, depth + 1))?;
            match rest {
                [] => Err(RequestError::Incomplete),
                [b')', rest @ ..] => Ok((rest, all_of(keys))),
                _ => bad(REASON),
            }
        }
        [b'*' | b'0'..=b'9', ..] => {
            sequence_set(i).map(|(rest, set)| (rest, SearchKey::SequenceSet(set)))
        }
        _ => {
            let (rest, word) = atom(i, REASON)?;
            named_key(rest, word, depth)
        }
    }
}

/// The key named `word`, its arguments read from `i`.
fn named_key<'a>(i: &'a [u8], word: &[u8], depth: usize) -> Step<'a, SearchKey<'a>> {
    use SearchKey as K;
    let done = |key| Ok((i, key));
    if let Some(flag) = Flag::system(word) {
        return done(K::Flag(flag));
    }
    let unflag = match word {
        [u, n, name @ ..] if [*u, *n].eq_ignore_ascii_case(b"UN") => Flag::system(name),
        _ => None,
    };
    if let Some(flag) = unflag.filter(|flag| *flag != Flag::Recent) {
        return done(K::Not(Box::new(K::Flag(flag))));
    }
    if let Some(&name) = ADDRESS_KEYS.iter().find(|n| n.eq_ignore_ascii_case(word)) {
        let (i, value) = string(i)?;
        return Ok((i, K::Header(AString::Atom(name), value)));
    }
    let upper = word.to_ascii_uppercase();
    match upper.as_slice() {
        b"ALL" => done(K::All),
        b"NEW" => done(K::New),
        b"OLD" => done(K::Old),
        b"KEYWORD" => keyword(i).map(|(i, flag)| (i, K::Flag(flag))),
        b"UNKEYWORD" => keyword(i).map(|(i, flag)| (i, K::Not(Box::new(K::Flag(flag))))),
        b"BEFORE" => date(i, |d| K::InternalDate(DateCmp::Before, d)),
        b"ON" => date(i, |d| K::InternalDate(DateCmp::On, d)),
        b"SINCE" => date(i, |d| K::InternalDate(DateCmp::Since, d)),
        b"SENTBEFORE" => date(i, |d| K::SentDate(DateCmp::Before, d)),
        b"SENTON" => date(i, |d| K::SentDate(DateCmp::On, d)),
        b"SENTSINCE" => date(i, |d| K::SentDate(DateCmp::Since, d)),
        b"LARGER" => size(i, K::Larger),
        b"SMALLER" => size(i, K::Smaller),
        b"HEADER" => {
            let (i, field) = string(i)?;
            let (i, value) = string(i)?;
            Ok((i, K::Header(field, value)))
        }
        b"BODY" => string(i).map(|(i, s)| (i, K::Body(s))),
        b"TEXT" => string(i).map(|(i, s)| (i, K::Text(s))),
        b"UID" => sequence_set(space(i)?).map(|(i, set)| (i, K::Uid(set))),
        b"NOT" => key(space(i)?, depth + 1).map(|(i, k)| (i, K::Not(Box::new(k)))),
        b"OR" => {
            let (i, a) = key(space(i)?, depth + 1)?;
            let (i, b) = key(space(i)?, depth + 1)?;
            Ok((i, K::Or(Box::new(a), Box::new(b))))
        }
        _ => bad(REASON),
    }
}

/// ` astring`, a key's string argument.
fn string(i: &[u8]) -> Step<'_, AString<'_>> {
    astring(space(i)?, REASON)
}

/// ` keyword`, the flag of `KEYWORD` and `UNKEYWORD`.
fn keyword(i: &[u8]) -> Step<'_, Flag<'_>> {
    atom(space(i)?, "invalid keyword").map(|(i, k)| (i, Flag::Keyword(k)))
}

/// ` date`, and the key it makes.
fn date(i: &[u8], key: fn(Date) -> SearchKey<'static>) -> Step<'_, SearchKey<'_>> {
    lexed(Date::parse(space(i)?), "invalid date").map(|(i, d)| (i, key(d)))
}

/// ` number`, and the key it makes.
fn size(i: &[u8], key: fn(u32) -> SearchKey<'static>) -> Step<'_, SearchKey<'_>> {
    lexed(lex::number(space(i)?), "invalid size").map(|(i, n)| (i, key(n)))
}
