//! A server's full view of one IMAP command: every argument parsed, for corvid's reference backend.
//!
//! The proxy reads only a command's head ([`super::command`]); a server needs all of it. A
//! driver gathers one command message (its lines and the payloads of its literals, inline, as
//! they came on the wire) and [`parse_request`] turns it into a [`Request`]. Like every parser
//! in this crate it tells *incomplete* (a strict prefix of a valid command) apart from
//! *invalid* (no continuation can make it valid: answer `BAD` with the tag and the reason), and
//! it never panics; nesting (`NOT`, `OR`, parentheses in SEARCH) is bounded by [`MAX_DEPTH`].
//! Tokens are read with [`crate::lex`]; literal payloads are as long as the driver let them be.
//!
//! The grammar is RFC 3501's, with ACL (RFC 4314), ENABLE (RFC 5161), ID (RFC 2971), UID
//! EXPUNGE (RFC 4315), MOVE (RFC 6851), UNSELECT (RFC 3691), SASL-IR (RFC 4959), literal8
//! APPEND (RFC 3516) and LIST-EXTENDED's options and multiple patterns (RFC 5258). SELECT
//! parameters (RFC 4466, `(CONDSTORE)`) and LIST return options are accepted and ignored. A
//! command this server does not implement is invalid (`unknown command`): unlike the proxy,
//! a server answers only what it serves.
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

use crate::imap::command::{self, CommandKind, HeadError};
use crate::lex::{self, AString, LexResult};

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
    /// `LOCALCREATE mailbox` (Cyrus's, a frontend's or an administrator's only): CREATE on
    /// this server alone, the mailbox master not told.
    LocalCreate(AString<'a>),
    /// `LOCALDELETE mailbox` (Cyrus's, a frontend's or an administrator's only): DELETE on
    /// this server alone, the mailbox master not told.
    LocalDelete(AString<'a>),
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
    /// `GETMETADATA [(options)] mailbox entries` (RFC 5464; the options, MAXSIZE and DEPTH,
    /// are accepted and ignored). The mailbox `""` names the server.
    GetMetadata {
        /// The mailbox, or `""` for the server.
        mailbox: AString<'a>,
        /// The entries asked for, one or more.
        entries: Vec<AString<'a>>,
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
    let (after_tag, tag) = match lex::tag_token(input) {
        Ok(ok) => ok,
        Err(nom::Err::Incomplete(_)) => return Err(RequestError::Incomplete),
        Err(_) => return bad("invalid tag"),
    };
    let parsed = match after_tag {
        [] => Err(RequestError::Incomplete),
        [b' ', body @ ..] => parse_command(body).and_then(|(rest, command)| {
            match lexed(lex::crlf(rest), "expected end of line")? {
                ([], ()) => Ok(command),
                _ => bad("expected end of line"),
            }
        }),
        [b'\r' | b'\n', ..] => bad("missing command name"),
        _ => return bad("invalid tag"),
    };
    match parsed {
        Ok(command) => Ok(Request { tag, command }),
        Err(e) => Err(e.tagged(tag)),
    }
}

impl Flag<'_> {
    /// The flag as written on the wire (`\Seen`, system flags in their canonical case).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Flag::Seen => b"\\Seen",
            Flag::Answered => b"\\Answered",
            Flag::Flagged => b"\\Flagged",
            Flag::Deleted => b"\\Deleted",
            Flag::Draft => b"\\Draft",
            Flag::Recent => b"\\Recent",
            Flag::Keyword(written) | Flag::Extension(written) => written,
        }
    }

    /// The system flag named `name` (without its backslash, any case).
    fn system(name: &[u8]) -> Option<Flag<'static>> {
        [
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft,
            Flag::Recent,
        ]
        .into_iter()
        .find(|flag| {
            flag.as_bytes()
                .get(1..)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }
}

impl<'a> RequestError<'a> {
    /// The error with `tag` filled in, if it is `Invalid`.
    fn tagged(self, tag: &'a [u8]) -> Self {
        match self {
            RequestError::Invalid { reason, .. } => RequestError::Invalid {
                tag: Some(tag),
                reason,
            },
            RequestError::Incomplete => RequestError::Incomplete,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Steps, shared with the SEARCH and FETCH parsers.

/// A parsing step: the rest of the input and a value, or why it failed (an `Invalid` step
/// carries no tag yet: [`parse_request`] fills it in).
type Step<'a, T> = Result<(&'a [u8], T), RequestError<'a>>;

/// The error of a step that found invalid bytes.
fn bad<T>(reason: &'static str) -> Result<T, RequestError<'static>> {
    Err(RequestError::Invalid { tag: None, reason })
}

/// Lifts a lexer result into a step, naming what was wrong if it is invalid.
fn lexed<'a, T>(result: LexResult<'a, T>, reason: &'static str) -> Step<'a, T> {
    result.map_err(|e| match e {
        nom::Err::Incomplete(_) => RequestError::Incomplete,
        nom::Err::Error(_) | nom::Err::Failure(_) => RequestError::Invalid { tag: None, reason },
    })
}

/// One space between arguments.
fn space(i: &[u8]) -> Result<&[u8], RequestError<'_>> {
    match i {
        [] => Err(RequestError::Incomplete),
        [b' ', rest @ ..] => Ok(rest),
        [b'\r' | b'\n', ..] => bad("missing argument"),
        _ => bad("expected a space between arguments"),
    }
}

/// An atom.
fn atom<'a>(i: &'a [u8], reason: &'static str) -> Step<'a, &'a [u8]> {
    lexed(lex::atom(i), reason)
}

/// An astring argument.
fn astring<'a>(i: &'a [u8], reason: &'static str) -> Step<'a, AString<'a>> {
    lexed(lex::astring(i), reason)
}

/// A mailbox name.
fn mailbox(i: &[u8]) -> Step<'_, AString<'_>> {
    astring(i, "invalid mailbox name")
}

/// A sequence set.
fn sequence_set(i: &[u8]) -> Step<'_, SequenceSet> {
    lexed(SequenceSet::parse(i), "invalid sequence set")
}

/// `(item *(SP item))`, or also `()` when `may_be_empty`.
fn list_of<'a, T>(
    i: &'a [u8],
    may_be_empty: bool,
    reason: &'static str,
    item: impl Fn(&'a [u8]) -> Step<'a, T>,
) -> Step<'a, Vec<T>> {
    let mut i = match i {
        [] => return Err(RequestError::Incomplete),
        [b'(', rest @ ..] => rest,
        _ => return bad(reason),
    };
    let mut items = Vec::new();
    if let ([b')', rest @ ..], true) = (i, may_be_empty) {
        return Ok((rest, items));
    }
    loop {
        let (rest, value) = item(i)?;
        items.push(value);
        i = match rest {
            [] => return Err(RequestError::Incomplete),
            [b' ', rest @ ..] => rest,
            [b')', rest @ ..] => return Ok((rest, items)),
            _ => return bad(reason),
        };
    }
}

/// `item *(SP item)`, without parentheses.
fn one_or_more<'a, T>(i: &'a [u8], item: impl Fn(&'a [u8]) -> Step<'a, T>) -> Step<'a, Vec<T>> {
    let (mut i, first) = item(i)?;
    let mut items = vec![first];
    while let [b' ', rest @ ..] = i {
        let (rest, value) = item(rest)?;
        items.push(value);
        i = rest;
    }
    Ok((i, items))
}

/// A parenthesised list of options this parser accepts and ignores (SELECT parameters, LIST
/// return options), skipped whole.
fn ignored_options<'a>(i: &'a [u8], reason: &'static str) -> Step<'a, ()> {
    match command::parenthesised(i) {
        Ok((rest, _)) => Ok((rest, ())),
        Err(HeadError::Incomplete) => Err(RequestError::Incomplete),
        Err(HeadError::Invalid { .. }) => bad(reason),
    }
}

/// A flag: `\Name` (system or extension) or a keyword atom; `\*` is no flag here.
fn flag(i: &[u8]) -> Step<'_, Flag<'_>> {
    let [b'\\', name @ ..] = i else {
        return atom(i, "invalid flag").map(|(rest, keyword)| (rest, Flag::Keyword(keyword)));
    };
    let (rest, name) = atom(name, "invalid flag")?;
    let written = i.get(..=name.len()).unwrap_or_default();
    Ok((rest, Flag::system(name).unwrap_or(Flag::Extension(written))))
}

/// `NIL` (any case).
fn nil<'a>(i: &'a [u8], reason: &'static str) -> Step<'a, ()> {
    match atom(i, reason)? {
        (rest, word) if word.eq_ignore_ascii_case(b"NIL") => Ok((rest, ())),
        _ => bad(reason),
    }
}

// ---------------------------------------------------------------------------------------------
// Commands.

/// The command after its tag, up to (not including) its final line end.
fn parse_command(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, first) = command_name(i)?;
    let (i, uid, name) = if first.eq_ignore_ascii_case(b"UID") {
        let (i, name) = command_name(space(i)?)?;
        (i, true, name)
    } else {
        (i, false, first)
    };
    use CommandKind as K;
    let kind = CommandKind::from_name(name);
    match kind {
        K::Fetch => return fetch::fetch(i, uid),
        K::Store => return store(i, uid),
        K::Search => return search::search(i, uid),
        K::Copy | K::Move => return copy(i, uid, kind == K::Move),
        K::Expunge => return expunge(i, uid),
        _ if uid => return bad("UID applies to FETCH, STORE, SEARCH, COPY, MOVE and EXPUNGE only"),
        _ => {}
    }
    let done = |command| Ok((i, command));
    match kind {
        K::Capability => done(Command::Capability),
        K::Noop => done(Command::Noop),
        K::Logout => done(Command::Logout),
        K::Starttls => done(Command::StartTls),
        K::Namespace => done(Command::Namespace),
        K::Idle => done(Command::Idle),
        K::Check => done(Command::Check),
        K::Close => done(Command::Close),
        K::Unselect => done(Command::Unselect),
        K::Login => login(i),
        K::Authenticate => authenticate(i),
        K::Enable => enable(i),
        K::Id => id(i),
        K::Select | K::Examine => select(i, kind == K::Examine),
        K::Create => with_mailbox(i, Command::Create),
        K::Delete => with_mailbox(i, Command::Delete),
        K::LocalCreate => with_mailbox(i, Command::LocalCreate),
        K::LocalDelete => with_mailbox(i, Command::LocalDelete),
        K::Subscribe => with_mailbox(i, Command::Subscribe),
        K::Unsubscribe => with_mailbox(i, Command::Unsubscribe),
        K::GetAcl => with_mailbox(i, Command::GetAcl),
        K::MyRights => with_mailbox(i, Command::MyRights),
        K::Rename => rename(i),
        K::List => list(i),
        K::Lsub => lsub(i),
        K::Status => status(i),
        K::Append => append(i),
        K::SetAcl => set_acl(i),
        K::DeleteAcl => acl_identifier(i, |mailbox, identifier| Command::DeleteAcl {
            mailbox,
            identifier,
        }),
        K::ListRights => acl_identifier(i, |mailbox, identifier| Command::ListRights {
            mailbox,
            identifier,
        }),
        K::GetMetadata => get_metadata(i),
        _ => bad("unknown command"),
    }
}

/// A command name (an atom).
fn command_name(i: &[u8]) -> Step<'_, &[u8]> {
    match i {
        [b'\r' | b'\n', ..] => bad("missing command name"),
        _ => atom(i, "invalid command name"),
    }
}

/// ` mailbox`, the only argument.
fn with_mailbox<'a>(i: &'a [u8], command: fn(AString<'a>) -> Command<'a>) -> Step<'a, Command<'a>> {
    let (i, mailbox) = mailbox(space(i)?)?;
    Ok((i, command(mailbox)))
}

fn login(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, user) = astring(space(i)?, "invalid user name")?;
    let (i, password) = astring(space(i)?, "invalid password")?;
    Ok((i, Command::Login { user, password }))
}

/// `AUTHENTICATE mechanism [SP (base64 / "=")]`.
fn authenticate(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, mechanism) = atom(space(i)?, "invalid mechanism")?;
    let (i, initial_response) = match i {
        [b' ', rest @ ..] => {
            let base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
            let taken = nom::bytes::streaming::take_while1(base64)(rest);
            let (rest, response) = lexed(taken, "invalid initial response")?;
            (rest, Some(response))
        }
        _ => (i, None),
    };
    Ok((
        i,
        Command::Authenticate {
            mechanism,
            initial_response,
        },
    ))
}

fn enable(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, capabilities) = one_or_more(space(i)?, |i| atom(i, "invalid capability"))?;
    Ok((i, Command::Enable(capabilities)))
}

/// `ID NIL` or `ID (field value ...)`: fields are strings, values strings or `NIL`.
fn id(i: &[u8]) -> Step<'_, Command<'_>> {
    const REASON: &str = "invalid ID parameters";
    let i = space(i)?;
    if !i.starts_with(b"(") {
        let (i, ()) = nil(i, REASON)?;
        return Ok((i, Command::Id(Vec::new())));
    }
    let (i, fields) = list_of(i, true, REASON, |i| {
        let (i, field) = lexed(lex::string(i), REASON)?;
        let i = space(i)?;
        let (i, value) = match i {
            [b'"' | b'{' | b'~', ..] => lexed(lex::string(i), REASON).map(|(i, v)| (i, Some(v)))?,
            _ => (nil(i, REASON)?.0, None),
        };
        Ok((i, (field, value)))
    })?;
    Ok((i, Command::Id(fields)))
}

/// `GETMETADATA [SP (options)] SP mailbox SP (entry / "(" entry *(SP entry) ")")`.
fn get_metadata(i: &[u8]) -> Step<'_, Command<'_>> {
    const REASON: &str = "invalid GETMETADATA entries";
    let mut i = space(i)?;
    if i.starts_with(b"(") {
        i = space(ignored_options(i, "invalid GETMETADATA options")?.0)?;
    }
    let (i, mailbox) = mailbox(i)?;
    let i = space(i)?;
    let entry = |i| astring(i, REASON);
    let (i, entries) = match i {
        [b'(', ..] => list_of(i, false, REASON, entry)?,
        _ => entry(i).map(|(i, entry)| (i, vec![entry]))?,
    };
    Ok((i, Command::GetMetadata { mailbox, entries }))
}

/// `SELECT mailbox [SP (params)]` (RFC 4466 parameters accepted and ignored).
fn select(i: &[u8], read_only: bool) -> Step<'_, Command<'_>> {
    let (i, mailbox) = mailbox(space(i)?)?;
    let i = match i {
        [b' ', rest @ ..] => ignored_options(rest, "invalid SELECT parameters")?.0,
        _ => i,
    };
    Ok((i, Command::Select { mailbox, read_only }))
}

fn rename(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, from) = mailbox(space(i)?)?;
    let (i, to) = mailbox(space(i)?)?;
    Ok((i, Command::Rename { from, to }))
}

/// A LIST pattern.
fn pattern(i: &[u8]) -> Step<'_, AString<'_>> {
    lexed(lex::list_mailbox(i), "invalid mailbox pattern")
}

/// `LIST [SP (selection)] SP reference SP (pattern / (patterns)) [SP RETURN SP (options)]`.
fn list(i: &[u8]) -> Step<'_, Command<'_>> {
    const OPTION: &str = "invalid LIST option";
    let mut i = space(i)?;
    let mut subscribed = false;
    if i.starts_with(b"(") {
        // Selection options are atoms; an option's value, if any, is a list of its own.
        let (rest, options) = list_of(i, true, OPTION, |i| match i {
            [b'(', ..] => ignored_options(i, OPTION).map(|(i, ())| (i, false)),
            _ => atom(i, OPTION).map(|(i, o)| (i, o.eq_ignore_ascii_case(b"SUBSCRIBED"))),
        })?;
        subscribed = options.contains(&true);
        i = space(rest)?;
    }
    let (i, reference) = mailbox(i)?;
    let i = space(i)?;
    let (i, patterns) = match i {
        [b'(', ..] => list_of(i, false, "invalid mailbox pattern", pattern)?,
        _ => pattern(i).map(|(i, p)| (i, vec![p]))?,
    };
    let i = match i {
        [b' ', rest @ ..] => match atom(rest, OPTION)? {
            (rest, word) if word.eq_ignore_ascii_case(b"RETURN") => {
                ignored_options(space(rest)?, OPTION)?.0
            }
            _ => return bad(OPTION),
        },
        _ => i,
    };
    Ok((
        i,
        Command::List {
            lsub: false,
            subscribed,
            reference,
            patterns,
        },
    ))
}

fn lsub(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, reference) = mailbox(space(i)?)?;
    let (i, pattern) = pattern(space(i)?)?;
    Ok((
        i,
        Command::List {
            lsub: true,
            subscribed: false,
            reference,
            patterns: vec![pattern],
        },
    ))
}

fn status(i: &[u8]) -> Step<'_, Command<'_>> {
    const REASON: &str = "invalid status item";
    const ITEMS: [(&[u8], StatusItem); 6] = [
        (b"MESSAGES", StatusItem::Messages),
        (b"RECENT", StatusItem::Recent),
        (b"UIDNEXT", StatusItem::UidNext),
        (b"UIDVALIDITY", StatusItem::UidValidity),
        (b"UNSEEN", StatusItem::Unseen),
        (b"SIZE", StatusItem::Size),
    ];
    let (i, mailbox) = mailbox(space(i)?)?;
    let (i, items) = list_of(space(i)?, false, REASON, |i| {
        let (i, word) = atom(i, REASON)?;
        match ITEMS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
        {
            Some(&(_, item)) => Ok((i, item)),
            None => bad(REASON),
        }
    })?;
    Ok((i, Command::Status { mailbox, items }))
}

/// `APPEND mailbox [SP (flags)] [SP date-time] SP literal`.
fn append(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, mailbox) = mailbox(space(i)?)?;
    let mut i = space(i)?;
    let mut flags = Vec::new();
    if i.starts_with(b"(") {
        let (rest, list) = list_of(i, true, "invalid flag", flag)?;
        flags = list;
        i = space(rest)?;
    }
    let mut date = None;
    if i.starts_with(b"\"") {
        let (rest, value) = lexed(DateTime::parse(i), "invalid date-time")?;
        date = Some(value);
        i = space(rest)?;
    }
    let (i, (_, message)) = lexed(lex::literal(i), "expected the message as a literal")?;
    Ok((
        i,
        Command::Append {
            mailbox,
            flags,
            date,
            message,
        },
    ))
}

/// `EXPUNGE`, or `UID EXPUNGE set`.
fn expunge(i: &[u8], uid: bool) -> Step<'_, Command<'_>> {
    if !uid {
        return Ok((i, Command::Expunge { uids: None }));
    }
    let (i, set) = sequence_set(space(i)?)?;
    Ok((i, Command::Expunge { uids: Some(set) }))
}

/// `[UID] STORE set [+|-]FLAGS[.SILENT] SP (flag-list / flag *(SP flag))`.
fn store(i: &[u8], uid: bool) -> Step<'_, Command<'_>> {
    const REASON: &str = "invalid STORE item";
    let (i, set) = sequence_set(space(i)?)?;
    let (i, item) = atom(space(i)?, REASON)?;
    let (mode, name) = match item {
        [b'+', name @ ..] => (StoreMode::Add, name),
        [b'-', name @ ..] => (StoreMode::Remove, name),
        name => (StoreMode::Replace, name),
    };
    let silent = if name.eq_ignore_ascii_case(b"FLAGS") {
        false
    } else if name.eq_ignore_ascii_case(b"FLAGS.SILENT") {
        true
    } else {
        return bad(REASON);
    };
    let i = space(i)?;
    let (i, flags) = match i {
        [b'(', ..] => list_of(i, true, "invalid flag", flag)?,
        _ => one_or_more(i, flag)?,
    };
    Ok((
        i,
        Command::Store {
            uid,
            set,
            mode,
            silent,
            flags,
        },
    ))
}

/// `[UID] COPY set mailbox` and `[UID] MOVE set mailbox`.
fn copy(i: &[u8], uid: bool, is_move: bool) -> Step<'_, Command<'_>> {
    let (i, set) = sequence_set(space(i)?)?;
    let (i, mailbox) = mailbox(space(i)?)?;
    let command = if is_move {
        Command::Move { uid, set, mailbox }
    } else {
        Command::Copy { uid, set, mailbox }
    };
    Ok((i, command))
}

/// An ACL identifier.
fn identifier(i: &[u8]) -> Step<'_, AString<'_>> {
    astring(i, "invalid identifier")
}

fn set_acl(i: &[u8]) -> Step<'_, Command<'_>> {
    let (i, mailbox) = mailbox(space(i)?)?;
    let (i, identifier) = identifier(space(i)?)?;
    let (i, rights) = astring(space(i)?, "invalid rights")?;
    Ok((
        i,
        Command::SetAcl {
            mailbox,
            identifier,
            rights,
        },
    ))
}

/// ` mailbox identifier`, the arguments of DELETEACL and LISTRIGHTS.
fn acl_identifier<'a>(
    i: &'a [u8],
    command: fn(AString<'a>, AString<'a>) -> Command<'a>,
) -> Step<'a, Command<'a>> {
    let (i, mailbox) = mailbox(space(i)?)?;
    let (i, identifier) = identifier(space(i)?)?;
    Ok((i, command(mailbox, identifier)))
}

#[cfg(test)]
mod tests;
