//! ACL strings as MUPDATE carries them, RFC 4314 rights, and their evaluation.
//!
//! A Cyrus ACL string is `identifier TAB rights TAB`, repeated, trailing tab included:
//! `alice\tlrswipkxtecdan\tanyone\tp\t`. MUPDATE carries it in every `MAILBOX` record and
//! `ctl_mboxlist -m` compares it with `strcmp`, so corvid stores and sends it **verbatim**; this
//! module parses it only to answer questions about it (LIST's `l` filter, GETACL, MYRIGHTS,
//! LISTRIGHTS, the perimeter checks on SELECT/APPEND/COPY) and to derive a new string for
//! SETACL/DELETEACL that leaves every untouched entry byte for byte as it was.
//!
//! # Layout
//!
//! * [`Rights`]: the bitset of RFC 4314 rights plus Cyrus's user rights `0`-`9`, read and
//!   written in Cyrus's form (legacy `c`/`d` included); [`RightsChange`] is the SETACL argument
//!   (`lrs`, `+w`, `-x`).
//! * [`Acl`]: a validated, borrowed view of an ACL string; [`Acl::entries`] iterates its
//!   [`Entry`]s without allocating; [`Acl::modify`] and [`Acl::delete`] derive new strings.
//! * [`Principal`], [`ImplicitRights`] and [`Acl::effective_rights`]: who gets what;
//!   [`ListRights`]: the LISTRIGHTS answer.
//!
//! # Strictness
//!
//! [`Acl::parse`] accepts exactly what Cyrus writes and reports anything else as an
//! [`AclError`] with the byte offset of the fault: an identifier without a rights field (an
//! odd number of fields), a last entry without its trailing tab, an empty identifier (`\t` or
//! `-\t`), a control byte in an identifier, or a rights letter Cyrus does not know. Cyrus itself
//! silently skips a last entry that lacks its trailing tab and ignores unknown letters; corvid
//! refuses such a string instead, so a caller evaluating it can fail closed rather than guess.
//! (It still stores and forwards it verbatim: strictness applies to evaluation only.) One
//! leniency: an empty rights field (`bob\t\t`) is accepted and grants nothing; Cyrus never
//! writes one (it drops entries whose rights become empty) but reads it the same way.
//!
//! Identifiers are compared byte for byte, as Cyrus does once it has canonicalised them
//! (`ANYONE` and `anybody` are stored as `anyone`): callers pass canonical identifiers.

mod access;
mod rights;
mod string;

pub use access::{ImplicitRights, ListRights, Principal};
pub use rights::{Rights, RightsChange};
pub use string::{Acl, Entries, Entry, Identifier};

/// Why an ACL string, an identifier or a rights string was refused.
///
/// `at` is the byte offset of the fault in the input that was given (the ACL string, the
/// identifier, or the SETACL rights argument).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    /// An identifier with no tab after it: the string has an odd number of fields.
    #[error("identifier at byte {at} has no rights field")]
    MissingRights {
        /// Where the identifier starts.
        at: usize,
    },
    /// The last rights field is not followed by its tab.
    #[error("missing trailing tab at byte {at}")]
    MissingTrailingTab {
        /// The end of the input.
        at: usize,
    },
    /// An identifier that is empty, or only `-`.
    #[error("empty identifier at byte {at}")]
    EmptyIdentifier {
        /// Where the identifier starts.
        at: usize,
    },
    /// A control byte (a tab, CR, LF, NUL, ...) inside an identifier.
    #[error("control byte {byte:#04x} in identifier at byte {at}")]
    ControlByte {
        /// Where the byte is.
        at: usize,
        /// The byte.
        byte: u8,
    },
    /// A byte that is not an RFC 4314 or Cyrus right.
    #[error("unknown right {:?} at byte {at}", char::from(*right))]
    UnknownRight {
        /// Where the letter is.
        at: usize,
        /// The letter.
        right: u8,
    },
}

impl AclError {
    /// The byte offset of the fault.
    pub fn at(&self) -> usize {
        match *self {
            AclError::MissingRights { at }
            | AclError::MissingTrailingTab { at }
            | AclError::EmptyIdentifier { at }
            | AclError::ControlByte { at, .. }
            | AclError::UnknownRight { at, .. } => at,
        }
    }

    /// The same error with its offset moved `by` bytes further: for a field found inside a
    /// larger input.
    fn shifted(mut self, by: usize) -> Self {
        match &mut self {
            AclError::MissingRights { at }
            | AclError::MissingTrailingTab { at }
            | AclError::EmptyIdentifier { at }
            | AclError::ControlByte { at, .. }
            | AclError::UnknownRight { at, .. } => *at += by,
        }
        self
    }
}
