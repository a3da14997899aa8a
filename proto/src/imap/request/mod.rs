//! A server's full view of one IMAP command: every argument parsed, for corvid's reference backend.
//!
//! The proxy reads only a command's head ([`super::command`]); a server needs all of it. A
//! driver gathers one command message (its lines and the payloads of its literals, inline, as
//! they came on the wire) and [`parse_request`] turns it into a [`Request`]. Like every parser
//! in this crate it tells *incomplete* (a prefix of a valid command) apart from *invalid*, and
//! it never panics; nesting (`NOT`, `OR`, parentheses in SEARCH) is bounded by [`MAX_DEPTH`].
//!
//! * [`sequence`]: sequence sets (`1:3,7,*`).
//! * [`fetch`]: FETCH attributes, with the `ALL`/`FAST`/`FULL` macros expanded.
//! * [`search`]: SEARCH keys (RFC 3501 §6.4.4).
//! * [`datetime`]: IMAP `date` and `date-time`, RFC 5322 `Date:` header values, and the
//!   calendar arithmetic between them and Unix seconds (no clock: callers pass the time).

pub mod datetime;
pub mod fetch;
pub mod search;
pub mod sequence;

use crate::lex::AString;

pub use datetime::{Date, DateTime};
pub use fetch::FetchAttr;
pub use search::SearchKey;
pub use sequence::{SeqNumber, SeqRange, SequenceSet};

/// How deep SEARCH keys may nest (`NOT`, `OR`, parenthesised lists) before the command is
/// refused: bounds the parser's and the evaluator's recursion on hostile input.
pub const MAX_DEPTH: usize = 32;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// The tag, as sent.
    pub tag: &'a [u8],
    /// The command and its arguments.
    pub command: Command<'a>,
}

/// A message flag, system flags recognised in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flag<'a> {
    /// `\Seen`.
    Seen,
    /// `\Answered`.
    Answered,
    /// `\Flagged`.
    Flagged,
    /// `\Deleted`.
    Deleted,
    /// `\Draft`.
    Draft,
    /// `\Recent` (only ever reported by a server; a client may not set it).
    Recent,
    /// A keyword (an atom), as sent.
    Keyword(&'a [u8]),
    /// Another `\`-flag this server does not know (`\Junk`): kept as sent, backslash included.
    Extension(&'a [u8]),
}

/// The items of STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusItem {
    /// `MESSAGES`.
    Messages,
    /// `RECENT`.
    Recent,
    /// `UIDNEXT`.
    UidNext,
    /// `UIDVALIDITY`.
    UidValidity,
    /// `UNSEEN`.
    Unseen,
    /// `SIZE` (RFC 8438): the mailbox's total size in octets.
    Size,
}

/// How STORE changes flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    /// `FLAGS`: replace.
    Replace,
    /// `+FLAGS`: add.
    Add,
    /// `-FLAGS`: remove.
    Remove,
}

/// A command and its arguments. Mailbox names are as sent (modified UTF-7, not yet mapped to
/// internal names); `uid` is set for the `UID` forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// `CAPABILITY`.
    Capability,
    /// `NOOP`.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `STARTTLS`.
    StartTls,
    /// `LOGIN user password`.
    Login {
        /// The user name.
        user: AString<'a>,
        /// The password.
        password: AString<'a>,
    },
    /// `AUTHENTICATE mechanism [initial-response]` (RFC 4959 SASL-IR).
    Authenticate {
        /// The mechanism, as sent.
        mechanism: &'a [u8],
        /// The initial response, base64 as sent (`=` for empty).
        initial_response: Option<&'a [u8]>,
    },
    /// `ENABLE cap...` (RFC 5161).
    Enable(Vec<&'a [u8]>),
    /// `ID NIL` or `ID (field value ...)` (RFC 2971).
    Id(Vec<(AString<'a>, Option<AString<'a>>)>),
    /// `NAMESPACE` (RFC 2342).
    Namespace,
    /// `IDLE` (RFC 2177); the `DONE` line that ends it is not a command.
    Idle,
    /// `SELECT` (`read_only` false) or `EXAMINE` (`read_only` true); `(CONDSTORE)` and other
    /// parameters are accepted and ignored.
    Select {
        /// The mailbox.
        mailbox: AString<'a>,
        /// EXAMINE.
        read_only: bool,
    },
    /// `CREATE mailbox` (parameters, RFC 4466, refused as invalid).
    Create(AString<'a>),
    /// `DELETE mailbox`.
    Delete(AString<'a>),
    /// `RENAME from to`.
    Rename {
        /// The existing name.
        from: AString<'a>,
        /// The new name.
        to: AString<'a>,
    },
    /// `SUBSCRIBE mailbox`.
    Subscribe(AString<'a>),
    /// `UNSUBSCRIBE mailbox`.
    Unsubscribe(AString<'a>),
    /// `LIST reference pattern` or `LSUB reference pattern`. LIST-EXTENDED's selection option
    /// `(SUBSCRIBED)` sets `subscribed`; other options and `RETURN (...)` are accepted and
    /// ignored; several patterns are kept in order.
    List {
        /// LSUB rather than LIST.
        lsub: bool,
        /// LIST (SUBSCRIBED ...).
        subscribed: bool,
        /// The reference name.
        reference: AString<'a>,
        /// The pattern(s), `*` and `%` as wildcards.
        patterns: Vec<AString<'a>>,
    },
    /// `STATUS mailbox (items)`.
    Status {
        /// The mailbox.
        mailbox: AString<'a>,
        /// The items asked for, in order.
        items: Vec<StatusItem>,
    },
    /// `APPEND mailbox [(flags)] [date-time] literal`: one message (no MULTIAPPEND).
    Append {
        /// The mailbox.
        mailbox: AString<'a>,
        /// The flags to set.
        flags: Vec<Flag<'a>>,
        /// The internal date, if given.
        date: Option<DateTime>,
        /// The message, the literal's payload.
        message: &'a [u8],
    },
    /// `CHECK`.
    Check,
    /// `CLOSE`.
    Close,
    /// `UNSELECT` (RFC 3691).
    Unselect,
    /// `EXPUNGE`, or `UID EXPUNGE set` (RFC 4315) with `uids`.
    Expunge {
        /// The UIDs of `UID EXPUNGE`.
        uids: Option<SequenceSet>,
    },
    /// `[UID] SEARCH [CHARSET c] keys` (several keys are an implicit AND).
    Search {
        /// UID SEARCH.
        uid: bool,
        /// The charset, if given (only `US-ASCII` and `UTF-8` are served).
        charset: Option<AString<'a>>,
        /// The keys, ANDed into one.
        key: SearchKey<'a>,
    },
    /// `[UID] FETCH set attributes`.
    Fetch {
        /// UID FETCH (the response then always carries UID).
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The attributes, macros expanded, in the order asked.
        attrs: Vec<FetchAttr<'a>>,
    },
    /// `[UID] STORE set [+|-]FLAGS[.SILENT] (flags)`.
    Store {
        /// UID STORE.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// Replace, add or remove.
        mode: StoreMode,
        /// `.SILENT`: no FETCH response for the change.
        silent: bool,
        /// The flags.
        flags: Vec<Flag<'a>>,
    },
    /// `[UID] COPY set mailbox`.
    Copy {
        /// UID COPY.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: AString<'a>,
    },
    /// `[UID] MOVE set mailbox` (RFC 6851).
    Move {
        /// UID MOVE.
        uid: bool,
        /// The messages.
        set: SequenceSet,
        /// The destination.
        mailbox: AString<'a>,
    },
    /// `GETACL mailbox` (RFC 4314).
    GetAcl(AString<'a>),
    /// `SETACL mailbox identifier rights` (rights may start with `+` or `-`).
    SetAcl {
        /// The mailbox.
        mailbox: AString<'a>,
        /// The identifier.
        identifier: AString<'a>,
        /// The rights, as sent.
        rights: AString<'a>,
    },
    /// `DELETEACL mailbox identifier`.
    DeleteAcl {
        /// The mailbox.
        mailbox: AString<'a>,
        /// The identifier.
        identifier: AString<'a>,
    },
    /// `MYRIGHTS mailbox`.
    MyRights(AString<'a>),
    /// `LISTRIGHTS mailbox identifier`.
    ListRights {
        /// The mailbox.
        mailbox: AString<'a>,
        /// The identifier.
        identifier: AString<'a>,
    },
}

/// Why a command could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError<'a> {
    /// The bytes are a prefix of a command: more may complete it.
    #[error("incomplete command")]
    Incomplete,
    /// The bytes are not a command this parser accepts; answer `BAD` (tagged when the tag is
    /// known) with the reason.
    #[error("{reason}")]
    Invalid {
        /// The tag, when it could be read.
        tag: Option<&'a [u8]>,
        /// What is wrong, as the BAD text says it (`unknown command`, `invalid sequence set`).
        reason: &'static str,
    },
}

/// Parses one whole command message: tag, command, arguments (literal payloads inline, right
/// after their `{n}` headers' line ends) and the final line end, which `input` must end with.
pub fn parse_request(input: &[u8]) -> Result<Request<'_>, RequestError<'_>> {
    let _ = input;
    unimplemented!("parse_request: being written (issue 5)")
}

#[allow(clippy::todo)]
impl Flag<'_> {
    /// The flag as written on the wire (`\Seen`, system flags in their canonical case).
    pub fn as_bytes(&self) -> &[u8] {
        todo!()
    }
}
