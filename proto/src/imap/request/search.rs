//! SEARCH keys.

use super::{Date, SequenceSet};
use crate::lex::AString;

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
