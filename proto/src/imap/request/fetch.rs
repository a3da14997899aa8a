//! FETCH attributes.

use crate::message::FetchBody;

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
