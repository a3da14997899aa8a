//! FETCH attributes: the arguments of `[UID] FETCH`, macros expanded.
//!
//! A FETCH names one attribute, a parenthesised list of them, or one of the macros `ALL`,
//! `FAST` and `FULL`; `BODY[section]<partial>` items are read by [`FetchBody::parse`].

use super::{Command, RequestError, Step, atom, bad, list_of, sequence_set, space};
use crate::message::{FetchBody, SectionError};

/// One FETCH attribute (RFC 3501 §6.4.5); the macros `ALL`, `FAST` and `FULL` come expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr<'a> {
    /// `FLAGS`.
    Flags,
    /// `UID`.
    Uid,
    /// `INTERNALDATE`.
    InternalDate,
    /// `RFC822.SIZE`.
    Rfc822Size,
    /// `ENVELOPE`.
    Envelope,
    /// `BODY` (the structure without extension data).
    Body,
    /// `BODYSTRUCTURE`.
    BodyStructure,
    /// `RFC822` (as `BODY[]`, sets `\Seen`).
    Rfc822,
    /// `RFC822.HEADER` (as `BODY.PEEK[HEADER]`).
    Rfc822Header,
    /// `RFC822.TEXT` (as `BODY[TEXT]`, sets `\Seen`).
    Rfc822Text,
    /// `BODY[section]<partial>` or `BODY.PEEK[...]`.
    Section(FetchBody<'a>),
}

const REASON: &str = "invalid fetch attribute";

/// The attributes named by one word, any case (`BODY` alone is the structure).
const WORDS: [(&[u8], FetchAttr<'static>); 10] = [
    (b"FLAGS", FetchAttr::Flags),
    (b"UID", FetchAttr::Uid),
    (b"INTERNALDATE", FetchAttr::InternalDate),
    (b"RFC822.SIZE", FetchAttr::Rfc822Size),
    (b"ENVELOPE", FetchAttr::Envelope),
    (b"BODY", FetchAttr::Body),
    (b"BODYSTRUCTURE", FetchAttr::BodyStructure),
    (b"RFC822", FetchAttr::Rfc822),
    (b"RFC822.HEADER", FetchAttr::Rfc822Header),
    (b"RFC822.TEXT", FetchAttr::Rfc822Text),
];

/// `FULL`: `ALL` and `BODY`; `ALL` and `FAST` are its first four and three.
const FULL: [FetchAttr<'static>; 5] = [
    FetchAttr::Flags,
    FetchAttr::InternalDate,
    FetchAttr::Rfc822Size,
    FetchAttr::Envelope,
    FetchAttr::Body,
];

/// The macros and how many of [`FULL`] each stands for.
const MACROS: [(&[u8], usize); 3] = [(b"ALL", 4), (b"FAST", 3), (b"FULL", 5)];

/// `[UID] FETCH set (attr / (attr *(SP attr)) / ALL / FAST / FULL)`.
pub(super) fn fetch(i: &[u8], uid: bool) -> Step<'_, Command<'_>> {
    let (i, set) = sequence_set(space(i)?)?;
    let i = space(i)?;
    let (i, attrs) = match i {
        [b'(', ..] => list_of(i, false, REASON, attribute)?,
        _ => {
            let (rest, word) = atom(i, REASON)?;
            match MACROS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(word))
            {
                Some(&(_, count)) => (rest, FULL.get(..count).unwrap_or_default().to_vec()),
                None => attribute(i).map(|(i, attr)| (i, vec![attr]))?,
            }
        }
    };
    Ok((i, Command::Fetch { uid, set, attrs }))
}

/// One attribute.
fn attribute(i: &[u8]) -> Step<'_, FetchAttr<'_>> {
    let (rest, word) = atom(i, REASON)?;
    if word.contains(&b'[') {
        return match FetchBody::parse(i) {
            Ok((item, len)) => Ok((i.get(len..).unwrap_or_default(), FetchAttr::Section(item))),
            Err(SectionError::Incomplete) => Err(RequestError::Incomplete),
            Err(SectionError::Invalid(reason)) => bad(reason),
        };
    }
    match WORDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
    {
        Some((_, attr)) => Ok((rest, attr.clone())),
        None => bad(REASON),
    }
}
