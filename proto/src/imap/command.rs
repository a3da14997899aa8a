//! The command head parser: the routing view of one IMAP client command.
//!
//! The framer hands the proxy one command message at a time; the proxy gathers its start (the
//! first line with any small literals inline, exactly as on the wire) and calls [`parse_head`].
//! It reads only what routing needs: the tag, an optional `UID` prefix, the command name and the
//! mailbox-like arguments of the commands that name a mailbox or a user. Everything else is
//! forwarded byte for byte, so an unknown command is valid: any atom may name a command.
//!
//! Nothing allocates: every field borrows from the input, and astrings stay [`AString`]s (atom,
//! quoted with escapes kept, or literal). Like the lexer, the parser is streaming:
//!
//! * `Ok(head)`: [`CommandHead::consumed`] bytes were read. When [`CommandHead::complete`] is
//!   true they end with the command's final line end; otherwise the command goes on, from the
//!   space at `consumed`, with arguments the parser did not read (QRESYNC parameters of SELECT,
//!   the flags and message of APPEND, FETCH items, ...).
//! * `Err(HeadError::Incomplete)`: the input stops before the parser could decide; a longer
//!   input (the rest of the line, a literal's payload) may parse. Every prefix of a valid
//!   command is incomplete or parses to the same head.
//! * `Err(HeadError::Invalid { tag, reason })`: no continuation can make it valid; the proxy
//!   answers `tag BAD reason` (or `* BAD` when the tag itself is unreadable).
//!
//! Literals in routed arguments are limited to [`MAX_ROUTED_LITERAL`] octets, so a client cannot
//! make the proxy gather a huge "mailbox name" before it can decide where to send it.
//!
//! One quirk, shared with the lexer: a line may end in a bare LF.

use nom::Parser;

use crate::lex::{self, AString, LexResult};

/// The largest literal the parser accepts in an argument it reads (mailbox, user, pattern, ...).
pub const MAX_ROUTED_LITERAL: u64 = 64 * 1024;

/// The routing view of one command: what [`parse_head`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandHead<'a> {
    /// The tag, as sent.
    pub tag: &'a [u8],
    /// Whether the command came as `UID <name> ...`.
    pub uid: bool,
    /// The command name as sent (any case; after `UID` when [`Self::uid`] is set).
    pub name: &'a [u8],
    /// The command this name denotes.
    pub kind: CommandKind,
    /// The arguments routing needs.
    pub args: Args<'a>,
    /// How many input bytes were read.
    pub consumed: usize,
    /// `true` when the command ended within [`Self::consumed`] (through its final line end);
    /// `false` when unread arguments follow, starting with the space at `consumed`.
    pub complete: bool,
}

/// The arguments [`parse_head`] reads, by command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Args<'a> {
    /// None read: the command takes none, or routing needs none of them.
    None,
    /// The mailbox of SELECT, EXAMINE, CREATE, DELETE, SUBSCRIBE, UNSUBSCRIBE, STATUS, APPEND,
    /// GETACL, MYRIGHTS, GETQUOTAROOT and SETMETADATA.
    Mailbox(AString<'a>),
    /// RENAME's existing and new names, and the server an administrator moves the mailbox
    /// to (Cyrus's optional third argument, `server` or `server!partition`).
    Rename {
        /// The mailbox renamed.
        from: AString<'a>,
        /// Its new name.
        to: AString<'a>,
        /// The third argument, when one was sent.
        location: Option<AString<'a>>,
    },
    /// COPY and MOVE (plain or `UID`): the messages and where they go.
    Copy {
        /// The sequence set, as sent (`1:3,7`, `*`, `$`).
        sequence_set: &'a [u8],
        /// The destination mailbox.
        mailbox: AString<'a>,
    },
    /// LIST and LSUB, and RFC 2193's RLIST and RLSUB (the same arguments).
    List(ListArgs<'a>),
    /// SETACL, DELETEACL and LISTRIGHTS (RFC 4314).
    Acl {
        /// The mailbox whose ACL is read or changed.
        mailbox: AString<'a>,
        /// The identifier (user or group) the command is about.
        identifier: AString<'a>,
        /// SETACL's rights (`+lr`, `-w`, `lrs`); `None` for DELETEACL and LISTRIGHTS.
        rights: Option<AString<'a>>,
    },
    /// GETMETADATA (RFC 5464); its entries follow, unread.
    GetMetadata {
        /// The options list with its parentheses (`(MAXSIZE 1024)`), as sent.
        options: Option<&'a [u8]>,
        /// The mailbox (empty for server annotations).
        mailbox: AString<'a>,
    },
    /// LOGIN's credentials.
    Login {
        /// The user name.
        user: AString<'a>,
        /// The password.
        password: AString<'a>,
    },
    /// AUTHENTICATE's first line.
    Authenticate {
        /// The SASL mechanism name, as sent.
        mechanism: &'a [u8],
        /// The SASL-IR initial response (RFC 4959), base64 as sent; `=` means empty.
        initial_response: Option<&'a [u8]>,
    },
}

/// The arguments of LIST (RFC 3501, with RFC 5258 LIST-EXTENDED) and LSUB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListArgs<'a> {
    /// The selection options with their parentheses (`(SUBSCRIBED REMOTE)`), as sent.
    pub selection: Option<&'a [u8]>,
    /// The reference name.
    pub reference: AString<'a>,
    /// The mailbox pattern(s).
    pub patterns: Patterns<'a>,
    /// The return options with their parentheses (`(CHILDREN)`), after `RETURN`, as sent.
    pub return_options: Option<&'a [u8]>,
}

/// The patterns of a LIST: one, or a parenthesised list of several (RFC 5258).
///
/// Iterating re-reads the already validated patterns in place, so it allocates nothing. Two
/// `Patterns` are equal when they hold the same patterns.
#[derive(Clone, Copy)]
pub struct Patterns<'a> {
    /// The input from the first pattern (or the list's `(`) to the end of what was parsed.
    from: &'a [u8],
}

impl<'a> Patterns<'a> {
    /// The first (often the only) pattern.
    pub fn first(&self) -> AString<'a> {
        // The patterns were validated when the head was parsed: there is always a first.
        self.iter().next().unwrap_or(AString::Atom(&[]))
    }

    /// Every pattern, in order.
    pub fn iter(&self) -> PatternIter<'a> {
        match self.from {
            [b'(', list @ ..] => PatternIter {
                rest: list,
                list: true,
            },
            single => PatternIter {
                rest: single,
                list: false,
            },
        }
    }
}

impl PartialEq for Patterns<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Patterns<'_> {}

impl std::fmt::Debug for Patterns<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Patterns<'a> {
    type Item = AString<'a>;
    type IntoIter = PatternIter<'a>;

    fn into_iter(self) -> PatternIter<'a> {
        self.iter()
    }
}

/// The iterator over [`Patterns`].
#[derive(Debug, Clone)]
pub struct PatternIter<'a> {
    /// Where the next pattern starts; empty when there is none.
    rest: &'a [u8],
    /// Are these the patterns of a parenthesised list?
    list: bool,
}

impl<'a> Iterator for PatternIter<'a> {
    type Item = AString<'a>;

    fn next(&mut self) -> Option<AString<'a>> {
        let (after, next) = pattern(self.rest).ok()?;
        self.rest = match after {
            [b' ', more @ ..] if self.list => more,
            _ => &[],
        };
        Some(next)
    }
}

/// Why a command is invalid: the text of the proxy's `BAD` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    /// The line does not start with a valid tag followed by a space.
    #[error("invalid tag")]
    Tag,
    /// The tag is followed by the end of the line.
    #[error("missing command name")]
    MissingCommand,
    /// The command name is not an atom.
    #[error("invalid command name")]
    CommandName,
    /// `UID` precedes a command that has no UID form.
    #[error("UID applies to COPY, MOVE, FETCH, STORE, SEARCH, SORT, THREAD and EXPUNGE only")]
    Uid,
    /// The line ends where an argument must come.
    #[error("missing argument")]
    MissingArgument,
    /// Arguments are not separated by one space.
    #[error("expected a space between arguments")]
    Separator,
    /// A mailbox name is not a valid astring.
    #[error("invalid mailbox name")]
    Mailbox,
    /// A LIST pattern is not a valid list-mailbox, or the pattern list is malformed.
    #[error("invalid mailbox pattern")]
    Pattern,
    /// A sequence set is malformed.
    #[error("invalid sequence set")]
    SequenceSet,
    /// Another argument the parser reads (a user, an identifier, options) is malformed.
    #[error("invalid argument")]
    Argument,
    /// A literal in a routed argument is longer than [`MAX_ROUTED_LITERAL`].
    #[error("literal too long")]
    LiteralTooLong,
    /// The command goes on where it must end.
    #[error("expected end of line")]
    LineEnd,
    /// The line that ends IDLE is not `DONE`.
    #[error("expected DONE")]
    Done,
}

/// Why [`parse_head`] returned no head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeadError<'a> {
    /// The input stops before the parser could decide: gather more bytes and parse again.
    #[error("incomplete command")]
    Incomplete,
    /// No continuation can make the input a valid command.
    #[error("{reason}")]
    Invalid {
        /// The tag, when it could be read (answer `tag BAD`, else `* BAD`).
        tag: Option<&'a [u8]>,
        /// What is wrong.
        reason: Reason,
    },
}

/// Defines [`CommandKind`] with each known command's wire name.
macro_rules! command_kinds {
    ($($kind:ident => $name:literal,)*) => {
        /// A command [`parse_head`] knows by name; anything else is [`CommandKind::Unknown`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CommandKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $kind,
            )*
            /// Any other name: forwarded, never refused for being unknown.
            Unknown,
        }

        /// Every known name's [`name_key`] with its kind.
        const KNOWN: &[(u128, CommandKind)] = &[$((name_key($name.as_bytes()), CommandKind::$kind),)*];

        /// [`KNOWN`] laid out by [`slot`]: a perfect hash table, found when compiling.
        static TABLE: NameTable = NameTable::build(KNOWN);

        impl CommandKind {
            /// The command an atom names, ignoring ASCII case.
            pub(crate) fn from_name(name: &[u8]) -> CommandKind {
                atom_key(name).map_or(CommandKind::Unknown, |key| TABLE.get(key))
            }

            /// Every kind in declaration order, [`CommandKind::Unknown`] last, so that
            /// `ALL[kind.index()] == kind` (for tables indexed by kind, such as statistics).
            pub const ALL: &'static [CommandKind] =
                &[$(CommandKind::$kind,)* CommandKind::Unknown];

            /// How many kinds there are: the length of [`CommandKind::ALL`].
            pub const COUNT: usize = CommandKind::ALL.len();

            /// This kind's position in [`CommandKind::ALL`].
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The command's name in upper case (`"SELECT"`); `"UNKNOWN"` for
            /// [`CommandKind::Unknown`].
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(CommandKind::$kind => $name,)*
                    CommandKind::Unknown => "UNKNOWN",
                }
            }
        }
    };
}

/// The [`name_key`] of an atom as sent, any case: `None` when it is longer than any name.
/// Clearing bit 0x20 of each byte folds case (see [`name_key`]).
fn atom_key(name: &[u8]) -> Option<u128> {
    if name.len() > 16 {
        return None;
    }
    let mut buf = [0u8; 16];
    for (key, &b) in buf.iter_mut().zip(name) {
        *key = b & !0x20;
    }
    Some(u128::from_le_bytes(buf))
}

/// Slots in the command-name hash table (a power of two).
const NAME_SLOTS: usize = 256;

/// The slot of a name key under a multiplier: multiplicative hashing of the key's two halves.
const fn slot(key: u128, multiplier: u64) -> usize {
    let folded = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(multiplier) >> (64 - NAME_SLOTS.trailing_zeros())) as usize
}

/// A perfect hash table from name keys to command kinds: one multiply, one load, one compare.
struct NameTable {
    multiplier: u64,
    slots: [(u128, CommandKind); NAME_SLOTS],
}

impl NameTable {
    /// Tries odd multipliers until every known key has a slot of its own (at compile time).
    const fn build(known: &[(u128, CommandKind)]) -> NameTable {
        let mut multiplier: u64 = 0x9e37_79b9_7f4a_7c15;
        loop {
            let mut slots = [(0u128, CommandKind::Unknown); NAME_SLOTS];
            let mut at = 0;
            let mut clash = false;
            while at < known.len() && !clash {
                let (key, kind) = known[at];
                let i = slot(key, multiplier);
                clash = slots[i].0 != 0;
                slots[i] = (key, kind);
                at += 1;
            }
            if !clash {
                return NameTable { multiplier, slots };
            }
            multiplier = multiplier.wrapping_add(0x2_0000_0002);
        }
    }

    fn get(&self, key: u128) -> CommandKind {
        let (known, kind) = self.slots[slot(key, self.multiplier)];
        if known == key {
            kind
        } else {
            CommandKind::Unknown
        }
    }
}

/// A known command name (upper-case letters, at most 16) as one number, zero-padded, so that
/// recognising a name is one integer match.
///
/// [`atom_key`] (and [`short_name`], a word at a time) builds the same number from the atom
/// sent by clearing bit 0x20 of each byte: that folds the case of letters, and turns no other
/// byte into a letter. Only NUL and SP would turn into the padding, and an atom holds neither,
/// so no other name can match.
const fn name_key(name: &[u8]) -> u128 {
    assert!(name.len() <= 16);
    let mut buf = [0u8; 16];
    let mut at = 0;
    while at < name.len() {
        assert!(name[at].is_ascii_uppercase());
        buf[at] = name[at];
        at += 1;
    }
    u128::from_le_bytes(buf)
}

command_kinds! {
    Capability => "CAPABILITY",
    Noop => "NOOP",
    Logout => "LOGOUT",
    Starttls => "STARTTLS",
    Authenticate => "AUTHENTICATE",
    Login => "LOGIN",
    Id => "ID",
    Enable => "ENABLE",
    Compress => "COMPRESS",
    Namespace => "NAMESPACE",
    Select => "SELECT",
    Examine => "EXAMINE",
    Create => "CREATE",
    Delete => "DELETE",
    Rename => "RENAME",
    Subscribe => "SUBSCRIBE",
    Unsubscribe => "UNSUBSCRIBE",
    List => "LIST",
    Lsub => "LSUB",
    Rlist => "RLIST",
    Rlsub => "RLSUB",
    Status => "STATUS",
    Append => "APPEND",
    Idle => "IDLE",
    Check => "CHECK",
    Close => "CLOSE",
    Unselect => "UNSELECT",
    Expunge => "EXPUNGE",
    Search => "SEARCH",
    Sort => "SORT",
    Thread => "THREAD",
    Fetch => "FETCH",
    Store => "STORE",
    Copy => "COPY",
    Move => "MOVE",
    GetAcl => "GETACL",
    SetAcl => "SETACL",
    DeleteAcl => "DELETEACL",
    ListRights => "LISTRIGHTS",
    MyRights => "MYRIGHTS",
    GetQuota => "GETQUOTA",
    GetQuotaRoot => "GETQUOTAROOT",
    SetQuota => "SETQUOTA",
    GetMetadata => "GETMETADATA",
    SetMetadata => "SETMETADATA",
    LocalCreate => "LOCALCREATE",
    LocalDelete => "LOCALDELETE",
}

/// What may follow the arguments a command's head parser reads.
#[derive(Debug, Clone, Copy)]
enum Tail {
    /// Only the line end: the command was read whole.
    Closed,
    /// The line end, or a space and arguments left unread.
    Open,
    /// A space and arguments left unread: the command cannot end here.
    Required,
}

/// A parsing step: the rest of the input and a value, or why it failed (an `Invalid` step
/// carries no tag yet: [`parse_head`] sets it).
type Step<'a, T> = Result<(&'a [u8], T), HeadError<'a>>;

/// The error of a step that found invalid bytes.
fn refuse<T>(reason: Reason) -> Result<T, HeadError<'static>> {
    Err(HeadError::Invalid { tag: None, reason })
}

/// The shape of a command's routed arguments: which reader reads them.
#[derive(Debug, Clone, Copy)]
enum Shape {
    None,
    Mailbox,
    Rename,
    Copy,
    List,
    Lsub,
    SetAcl,
    AclIdentifier,
    GetMetadata,
    Login,
    Authenticate,
}

impl Shape {
    /// Reads the routed arguments that follow the command name.
    fn read(self, i: &[u8]) -> Step<'_, Args<'_>> {
        match self {
            Shape::None => Ok((i, Args::None)),
            Shape::Mailbox => one_mailbox(i),
            Shape::Rename => rename(i),
            Shape::Copy => copy(i),
            Shape::List => list(i),
            Shape::Lsub => lsub(i),
            Shape::SetAcl => set_acl(i),
            Shape::AclIdentifier => acl_identifier(i),
            Shape::GetMetadata => get_metadata(i),
            Shape::Login => login(i),
            Shape::Authenticate => authenticate(i),
        }
    }
}

impl CommandKind {
    /// May this command follow `UID`? Unknown commands may: their syntax is the backend's.
    fn takes_uid(self) -> bool {
        use CommandKind::*;
        matches!(
            self,
            Copy | Move | Fetch | Store | Search | Sort | Thread | Expunge | Unknown
        )
    }

    /// How to read this command's routed arguments, and what may follow them.
    fn grammar(self) -> (Shape, Tail) {
        use CommandKind::*;
        match self {
            Capability | Noop | Logout | Starttls | Namespace | Idle | Check | Close | Unselect => {
                (Shape::None, Tail::Closed)
            }
            Authenticate => (Shape::Authenticate, Tail::Closed),
            Login => (Shape::Login, Tail::Closed),
            Select | Examine | Create => (Shape::Mailbox, Tail::Open),
            Delete | Subscribe | Unsubscribe | GetAcl | MyRights | GetQuotaRoot | LocalCreate
            | LocalDelete => (Shape::Mailbox, Tail::Closed),
            Status | Append | SetMetadata => (Shape::Mailbox, Tail::Required),
            Rename => (Shape::Rename, Tail::Open),
            List | Rlist => (Shape::List, Tail::Closed),
            Lsub | Rlsub => (Shape::Lsub, Tail::Closed),
            Copy | Move => (Shape::Copy, Tail::Closed),
            SetAcl => (Shape::SetAcl, Tail::Closed),
            DeleteAcl | ListRights => (Shape::AclIdentifier, Tail::Closed),
            GetMetadata => (Shape::GetMetadata, Tail::Required),
            Id | Enable | Compress | Expunge | Search | Sort | Thread | Fetch | Store
            | GetQuota | SetQuota | Unknown => (Shape::None, Tail::Open),
        }
    }
}

/// Parses the head of one command message; see the module doc for the three outcomes.
pub fn parse_head(input: &[u8]) -> Result<CommandHead<'_>, HeadError<'_>> {
    let (after_tag, tag) = match lex::tag_token(input) {
        Ok(ok) => ok,
        Err(nom::Err::Incomplete(_)) => return Err(HeadError::Incomplete),
        Err(_) => return Err(invalid(None, Reason::Tag)),
    };
    let body = match after_tag {
        [] => return Err(HeadError::Incomplete),
        [b' ', body @ ..] => body,
        [b'\r' | b'\n', ..] => return Err(invalid(Some(tag), Reason::MissingCommand)),
        _ => return Err(invalid(None, Reason::Tag)),
    };
    let mut result = command(input, tag, body);
    if let Err(HeadError::Invalid { tag: unset, .. }) = &mut result {
        *unset = Some(tag);
    }
    result
}

/// The command after its tag: `[UID SP] name`, the routed arguments, and what follows them.
fn command<'a>(
    input: &'a [u8],
    tag: &'a [u8],
    body: &'a [u8],
) -> Result<CommandHead<'a>, HeadError<'a>> {
    let (i, (first, first_kind)) = command_name(body)?;
    let (i, uid, name, kind) = if first.eq_ignore_ascii_case(b"UID") {
        let (i, (name, kind)) = command_name(space(i)?)?;
        (i, true, name, kind)
    } else {
        (i, false, first, first_kind)
    };
    if uid && !kind.takes_uid() {
        return refuse(Reason::Uid);
    }
    let (shape, tail) = kind.grammar();
    let head = CommandHead {
        tag,
        uid,
        name,
        kind,
        args: Args::None,
        consumed: 0,
        complete: false,
    };
    // The two common shapes (no routed argument, one mailbox) each finish their own head, so
    // that their values do not pass through the general path's merge of every `Args` variant.
    match shape {
        Shape::None => head.finish(input, Ok((i, Args::None)), tail),
        Shape::Mailbox => head.finish(input, one_mailbox(i), tail),
        _ => head.finish(input, shape.read(i), tail),
    }
}

impl<'a> CommandHead<'a> {
    /// Completes a head with the arguments read (ending where `read` stopped in `input`) and
    /// what follows them.
    #[inline(always)]
    fn finish(
        mut self,
        input: &'a [u8],
        read: Step<'a, Args<'a>>,
        tail: Tail,
    ) -> Result<Self, HeadError<'a>> {
        let (i, args) = read?;
        let (i, complete) = finish(i, tail)?;
        self.args = args;
        self.consumed = input.len() - i.len();
        self.complete = complete;
        Ok(self)
    }
}

/// Recognises the line that ends IDLE: `DONE` in any case, then CRLF (or a bare LF). Returns
/// its length.
pub fn parse_idle_done(input: &[u8]) -> Result<usize, HeadError<'static>> {
    let word = input.get(..4).unwrap_or(input);
    if !word.eq_ignore_ascii_case(&b"DONE"[..word.len()]) {
        return Err(invalid(None, Reason::Done));
    }
    let Some(after) = input.get(4..) else {
        return Err(HeadError::Incomplete);
    };
    match lex::crlf(after) {
        Ok((rest, ())) => Ok(input.len() - rest.len()),
        Err(nom::Err::Incomplete(_)) => Err(HeadError::Incomplete),
        Err(_) => Err(invalid(None, Reason::Done)),
    }
}

fn invalid(tag: Option<&[u8]>, reason: Reason) -> HeadError<'_> {
    HeadError::Invalid { tag, reason }
}

// ---------------------------------------------------------------------------------------------
// Steps.

/// Lifts a lexer result into a step, naming what was wrong if it is invalid.
fn token<T>(result: LexResult<'_, T>, reason: Reason) -> Step<'_, T> {
    result.map_err(|e| match e {
        nom::Err::Incomplete(_) => HeadError::Incomplete,
        nom::Err::Error(_) | nom::Err::Failure(_) => HeadError::Invalid { tag: None, reason },
    })
}

/// The bytes of `from` that a step consumed, leaving `rest`.
fn span<'a>(from: &'a [u8], rest: &[u8]) -> &'a [u8] {
    &from[..from.len().saturating_sub(rest.len())]
}

/// One space between arguments.
fn space(i: &[u8]) -> Result<&[u8], HeadError<'_>> {
    match i {
        [] => Err(HeadError::Incomplete),
        [b' ', rest @ ..] => Ok(rest),
        [b'\r' | b'\n', ..] => refuse(Reason::MissingArgument),
        _ => refuse(Reason::Separator),
    }
}

/// A command name as sent, with the command it names.
type Name<'a> = (&'a [u8], CommandKind);

/// The command name (an atom) that opens `i`.
fn command_name(i: &[u8]) -> Step<'_, Name<'_>> {
    match short_name(i) {
        Some(short) => Ok(short),
        None => any_name(i),
    }
}

/// The common command name, 1 to 8 letters and then a byte that ends the atom, read and keyed
/// from one 8-byte word (no loop over its bytes); `None` for any other input, which
/// [`any_name`] reads.
fn short_name(i: &[u8]) -> Option<(&[u8], Name<'_>)> {
    const FOLD: u64 = !0x2020_2020_2020_2020;
    let word = u64::from_le_bytes(*i.first_chunk::<8>()?);
    let len = lex::leading_letters(word);
    if len == 0 || lex::is_atom_char(*i.get(len)?) {
        return None;
    }
    let (name, rest) = i.split_at_checked(len)?;
    let key = word & FOLD & (u64::MAX >> (64 - 8 * len));
    Some((rest, (name, TABLE.get(u128::from(key)))))
}

/// A command name of any form: an atom, or the reason there is none.
#[inline(never)]
fn any_name(i: &[u8]) -> Step<'_, Name<'_>> {
    match i.first() {
        Some(b'\r' | b'\n') => refuse(Reason::MissingCommand),
        _ => token(lex::atom(i), Reason::CommandName)
            .map(|(rest, name)| (rest, (name, CommandKind::from_name(name)))),
    }
}

/// What follows the routed arguments; `true` when the command ended (its line end consumed).
fn finish(i: &[u8], tail: Tail) -> Step<'_, bool> {
    match (tail, i) {
        (Tail::Open | Tail::Required, [b' ', ..]) => Ok((i, false)),
        (Tail::Required, _) => space(i).map(|_| (i, false)),
        (Tail::Closed | Tail::Open, _) => {
            token(lex::crlf(i), Reason::LineEnd).map(|(i, ())| (i, true))
        }
    }
}

/// An astring whose atom form is read by `atom`, with literals bounded by
/// [`MAX_ROUTED_LITERAL`].
fn routed<'a>(
    i: &'a [u8],
    atom: impl Fn(&'a [u8]) -> LexResult<'a, &'a [u8]>,
    reason: Reason,
) -> Step<'a, AString<'a>> {
    match i {
        [b'"', ..] => token(lex::quoted(i), reason).map(|(r, q)| (r, AString::Quoted(q))),
        [b'{', ..] | [b'~', b'{', ..] => bounded_literal(i, reason),
        _ => token(atom(i), reason).map(|(r, a)| (r, AString::Atom(a))),
    }
}

/// A literal (`{n}`, `{n+}`, `~{n}`) of at most [`MAX_ROUTED_LITERAL`] octets, refused as soon
/// as its header shows it is longer.
fn bounded_literal(i: &[u8], reason: Reason) -> Step<'_, AString<'_>> {
    let (_, header) = token(lex::literal_header(i), reason)?;
    if header.len > MAX_ROUTED_LITERAL {
        return refuse(Reason::LiteralTooLong);
    }
    token(lex::literal(i), reason).map(|(r, (h, p))| (r, AString::Literal(h.form(), p)))
}

fn mailbox(i: &[u8]) -> Step<'_, AString<'_>> {
    routed(i, lex::astring_atom, Reason::Mailbox)
}

fn argument(i: &[u8]) -> Step<'_, AString<'_>> {
    routed(i, lex::astring_atom, Reason::Argument)
}

fn pattern(i: &[u8]) -> Step<'_, AString<'_>> {
    routed(i, lex::list_atom, Reason::Pattern)
}

/// A sequence set (`1:3,7,9:*`) or the saved search result `$` (RFC 5182).
fn sequence_set(i: &[u8]) -> Step<'_, &[u8]> {
    if let [b'$', rest @ ..] = i {
        return Ok((rest, span(i, rest)));
    }
    let mut rest = i;
    loop {
        rest = sequence_number(rest)?;
        if let [b':', after @ ..] = rest {
            rest = sequence_number(after)?;
        }
        match rest {
            [] => return Err(HeadError::Incomplete),
            [b',', after @ ..] => rest = after,
            _ => return Ok((rest, span(i, rest))),
        }
    }
}

/// `*` or a non-zero number.
fn sequence_number(i: &[u8]) -> Result<&[u8], HeadError<'_>> {
    match i {
        [] => Err(HeadError::Incomplete),
        [b'*', rest @ ..] => Ok(rest),
        _ => match token(lex::number(i), Reason::SequenceSet)? {
            (_, 0) => refuse(Reason::SequenceSet),
            (rest, _) => Ok(rest),
        },
    }
}

/// A parenthesised list, nested lists, quoted strings and literals inside included, returned
/// whole with its parentheses. Its items are not checked beyond that: they are forwarded.
pub(crate) fn parenthesised(i: &[u8]) -> Step<'_, &[u8]> {
    let reason = Reason::Argument;
    let mut depth = 0usize;
    let mut rest = i;
    loop {
        rest = match rest {
            [] => return Err(HeadError::Incomplete),
            [b'(', after @ ..] => {
                depth += 1;
                after
            }
            _ if depth == 0 => return refuse(reason),
            [b')', after @ ..] => {
                depth -= 1;
                if depth == 0 {
                    return Ok((after, span(i, after)));
                }
                after
            }
            [b'"', ..] => token(lex::quoted(rest), reason)?.0,
            [b'{', ..] | [b'~', b'{', ..] => bounded_literal(rest, reason)?.0,
            [0 | b'\r' | b'\n', ..] => return refuse(reason),
            [_, after @ ..] => after,
        };
    }
}

// ---------------------------------------------------------------------------------------------
// Argument parsers, one per command shape.

fn one_mailbox(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, m) = mailbox(space(i)?)?;
    Ok((i, Args::Mailbox(m)))
}

fn rename(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, from) = mailbox(space(i)?)?;
    let (i, to) = mailbox(space(i)?)?;
    // After a space: RFC 4466 rename parameters, read whole and left to the backend, or a
    // third argument naming the server (Cyrus's form). Either is read through, so what the
    // head decides never hangs on a byte it did not take.
    let (i, location) = match i {
        [] => return Err(HeadError::Incomplete),
        [b' ', b'(', ..] => (parenthesised(space(i)?)?.0, None),
        [b' ', rest @ ..] => argument(rest).map(|(rest, location)| (rest, Some(location)))?,
        _ => (i, None),
    };
    Ok((i, Args::Rename { from, to, location }))
}

fn copy(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, sequence_set) = sequence_set(space(i)?)?;
    let (i, mailbox) = mailbox(space(i)?)?;
    Ok((
        i,
        Args::Copy {
            sequence_set,
            mailbox,
        },
    ))
}

/// `LIST [SP selection] SP reference SP (pattern / "(" pattern *(SP pattern) ")")
/// [SP "RETURN" SP return-options]`.
fn list(i: &[u8]) -> Step<'_, Args<'_>> {
    let i = space(i)?;
    let (i, selection) = leading_options(i)?;
    let (i, reference) = mailbox(i)?;
    let (i, patterns) = patterns(space(i)?)?;
    let (i, return_options) = match i {
        [b' ', after @ ..] => {
            let (after, keyword) = token(lex::atom(after), Reason::Argument)?;
            if !keyword.eq_ignore_ascii_case(b"RETURN") {
                return refuse(Reason::Argument);
            }
            let (after, options) = parenthesised(space(after)?)?;
            (after, Some(options))
        }
        _ => (i, None),
    };
    Ok((
        i,
        Args::List(ListArgs {
            selection,
            reference,
            patterns,
            return_options,
        }),
    ))
}

/// One pattern, or a parenthesised list of at least one.
fn patterns(i: &[u8]) -> Step<'_, Patterns<'_>> {
    let found = Patterns { from: i };
    let [b'(', list @ ..] = i else {
        let (i, _) = pattern(i)?;
        return Ok((i, found));
    };
    let mut rest = pattern(list)?.0;
    loop {
        rest = match rest {
            [] => return Err(HeadError::Incomplete),
            [b')', after @ ..] => return Ok((after, found)),
            [b' ', after @ ..] => pattern(after)?.0,
            _ => return refuse(Reason::Pattern),
        };
    }
}

/// Exactly one pattern (LSUB has no list form).
fn pattern_single(i: &[u8]) -> Step<'_, Patterns<'_>> {
    let (rest, _) = pattern(i)?;
    Ok((rest, Patterns { from: i }))
}

fn lsub(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, reference) = mailbox(space(i)?)?;
    let (i, patterns) = pattern_single(space(i)?)?;
    Ok((
        i,
        Args::List(ListArgs {
            selection: None,
            reference,
            patterns,
            return_options: None,
        }),
    ))
}

/// The mailbox and identifier that open every ACL command but GETACL and MYRIGHTS.
fn acl_target(i: &[u8]) -> Step<'_, (AString<'_>, AString<'_>)> {
    let (i, mailbox) = mailbox(space(i)?)?;
    let (i, identifier) = argument(space(i)?)?;
    Ok((i, (mailbox, identifier)))
}

fn acl_identifier(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, (mailbox, identifier)) = acl_target(i)?;
    let rights = None;
    Ok((
        i,
        Args::Acl {
            mailbox,
            identifier,
            rights,
        },
    ))
}

fn set_acl(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, (mailbox, identifier)) = acl_target(i)?;
    let (i, rights) = argument(space(i)?)?;
    Ok((
        i,
        Args::Acl {
            mailbox,
            identifier,
            rights: Some(rights),
        },
    ))
}

/// An optional parenthesised option list and the space after it (LIST's selection options,
/// GETMETADATA's options), as sent.
fn leading_options(i: &[u8]) -> Step<'_, Option<&[u8]>> {
    match i {
        [b'(', ..] => {
            let (i, options) = parenthesised(i)?;
            Ok((space(i)?, Some(options)))
        }
        _ => Ok((i, None)),
    }
}

/// `GETMETADATA [SP options] SP mailbox` (the entries follow).
fn get_metadata(i: &[u8]) -> Step<'_, Args<'_>> {
    let i = space(i)?;
    let (i, options) = leading_options(i)?;
    let (i, mailbox) = mailbox(i)?;
    Ok((i, Args::GetMetadata { options, mailbox }))
}

fn login(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, user) = argument(space(i)?)?;
    let (i, password) = argument(space(i)?)?;
    Ok((i, Args::Login { user, password }))
}

/// `AUTHENTICATE SP mechanism [SP (base64 / "=")]`.
fn authenticate(i: &[u8]) -> Step<'_, Args<'_>> {
    let (i, mechanism) = token(lex::atom(space(i)?), Reason::Argument)?;
    let (i, initial_response) = match i {
        [b' ', after @ ..] => {
            let is_base64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=');
            let (after, response) = token(
                nom::bytes::streaming::take_while1(is_base64).parse(after),
                Reason::Argument,
            )?;
            (after, Some(response))
        }
        _ => (i, None),
    };
    Ok((
        i,
        Args::Authenticate {
            mechanism,
            initial_response,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::LiteralForm;

    fn head(input: &[u8]) -> CommandHead<'_> {
        parse_head(input).unwrap_or_else(|e| panic!("{input:?}: {e:?}"))
    }

    fn bad(input: &[u8]) -> (Option<&[u8]>, Reason) {
        match parse_head(input) {
            Err(HeadError::Invalid { tag, reason }) => (tag, reason),
            other => panic!("{input:?}: expected Invalid, got {other:?}"),
        }
    }

    /// Every strict prefix is Incomplete or the same result; the whole gives `expected`.
    fn check_prefixes(input: &[u8]) {
        let whole = parse_head(input);
        assert_ne!(whole, Err(HeadError::Incomplete), "{input:?}");
        for cut in 0..input.len() {
            let part = parse_head(&input[..cut]);
            assert!(
                part == Err(HeadError::Incomplete) || part == whole,
                "{input:?} cut at {cut}: {part:?} vs {whole:?}"
            );
        }
    }

    fn literal(len: u64, non_sync: bool, binary: bool, payload: &[u8]) -> AString<'_> {
        assert_eq!(len, payload.len() as u64);
        AString::Literal(LiteralForm { non_sync, binary }, payload)
    }

    #[test]
    fn select_in_every_astring_form() {
        let cases: [(&[u8], AString<'_>); 6] = [
            (b"a1 SELECT INBOX\r\n", AString::Atom(b"INBOX")),
            (
                b"a1 select \"a \\\"b\\\\\"\r\n",
                AString::Quoted(b"a \\\"b\\\\"),
            ),
            (
                b"a1 Select {5}\r\nINBOX\r\n",
                literal(5, false, false, b"INBOX"),
            ),
            (
                b"a1 SELECT {5+}\r\nIN\r\nX\r\n",
                literal(5, true, false, b"IN\r\nX"),
            ),
            (
                b"a1 SELECT ~{3}\r\na\0b\r\n",
                literal(3, false, true, b"a\0b"),
            ),
            (b"a1 SELECT ~user\r\n", AString::Atom(b"~user")),
        ];
        for (input, mailbox) in cases {
            let h = head(input);
            assert_eq!(h.tag, b"a1");
            assert_eq!(h.kind, CommandKind::Select);
            assert_eq!(h.args, Args::Mailbox(mailbox), "{input:?}");
            assert!(h.complete);
            assert_eq!(h.consumed, input.len());
            check_prefixes(input);
        }
    }

    #[test]
    fn incomplete_versus_invalid() {
        for input in [
            &b""[..],
            b"a1",
            b"a1 ",
            b"a1 SELECT",
            b"a1 SELECT ",
            b"a1 SELECT INBOX",
            b"a1 SELECT INBOX\r",
            b"a1 SELECT \"IN",
            b"a1 SELECT {5}\r\nINB",
            b"a1 SELECT ~",
            b"a1 NOOP",
            b"a1 UID",
            b"a1 COPY 1:",
            b"a1 COPY 1:*",
            b"a1 LIST \"\" (a b",
            b"a1 LIST (SUBSCRIBED \"x",
        ] {
            assert_eq!(parse_head(input), Err(HeadError::Incomplete), "{input:?}");
        }
        let a1 = Some(&b"a1"[..]);
        assert_eq!(bad(b"\r\n"), (None, Reason::Tag));
        assert_eq!(bad(b"+ x\r\n"), (None, Reason::Tag));
        assert_eq!(bad(b"a(1 NOOP\r\n"), (None, Reason::Tag));
        assert_eq!(bad(b"a1\r\n"), (a1, Reason::MissingCommand));
        assert_eq!(bad(b"a1 \r\n"), (a1, Reason::MissingCommand));
        assert_eq!(bad(b"a1 (x\r\n"), (a1, Reason::CommandName));
        assert_eq!(bad(b"a1 SELECT\r\n"), (a1, Reason::MissingArgument));
        assert_eq!(bad(b"a1 SELECT  INBOX\r\n"), (a1, Reason::Mailbox));
        assert_eq!(bad(b"a1 SELECT IN(BOX\r\n"), (a1, Reason::LineEnd));
        assert_eq!(bad(b"a1 SELECT \"a\rb\"\r\n"), (a1, Reason::Mailbox));
        assert_eq!(bad(b"a1 SELECT {5}x"), (a1, Reason::Mailbox));
        assert_eq!(bad(b"a1 SELECT {65537}\r\n"), (a1, Reason::LiteralTooLong));
        assert_eq!(bad(b"a1 SELECT {3}\r\na\0b\r\n"), (a1, Reason::Mailbox));
        assert_eq!(bad(b"a1 NOOP now\r\n"), (a1, Reason::LineEnd));
        assert_eq!(bad(b"a1 NOOP\rx"), (a1, Reason::LineEnd));
        assert_eq!(bad(b"a1 UID SELECT x\r\n"), (a1, Reason::Uid));
        assert_eq!(bad(b"a1 UID\r\n"), (a1, Reason::MissingArgument));
        assert_eq!(bad(b"a1 APPEND INBOX\r\n"), (a1, Reason::MissingArgument));
        assert_eq!(bad(b"a1 STATUS INBOX(x"), (a1, Reason::Separator));
        assert_eq!(bad(b"a1 COPY 0 x\r\n"), (a1, Reason::SequenceSet));
        assert_eq!(bad(b"a1 COPY 1::2 x\r\n"), (a1, Reason::SequenceSet));
        assert_eq!(bad(b"a1 COPY 1 x y\r\n"), (a1, Reason::LineEnd));
        assert_eq!(bad(b"a1 LIST \"\" ()\r\n"), (a1, Reason::Pattern));
        assert_eq!(
            bad(b"a1 LIST \"\" * RETURNS ()\r\n"),
            (a1, Reason::Argument)
        );
        assert_eq!(bad(b"a1 LIST x \"\" *\r\n"), (a1, Reason::Argument));
        assert_eq!(bad(b"a1 LIST x(\r\n"), (a1, Reason::Separator));
        assert_eq!(bad(b"a1 LSUB \"\" (a b)\r\n"), (a1, Reason::Pattern));
        assert_eq!(bad(b"a1 AUTHENTICATE PLAIN !!\r\n"), (a1, Reason::Argument));
    }

    #[test]
    fn unread_arguments_stop_at_their_space() {
        for (input, kind, consumed) in [
            (
                &b"a1 SELECT INBOX (CONDSTORE)\r\n"[..],
                CommandKind::Select,
                15,
            ),
            (
                b"a1 EXAMINE x (QRESYNC (1 2))\r\n",
                CommandKind::Examine,
                12,
            ),
            (
                b"a1 APPEND Sent (\\Seen) {310}\r\n",
                CommandKind::Append,
                14,
            ),
            (b"a1 STATUS x (MESSAGES)\r\n", CommandKind::Status, 11),
            (b"a1 FETCH 1:* (FLAGS)\r\n", CommandKind::Fetch, 8),
            (b"a1 XFOO bar\r\n", CommandKind::Unknown, 7),
            (
                b"a1 SETMETADATA x (/private/comment NIL)\r\n",
                CommandKind::SetMetadata,
                16,
            ),
        ] {
            let h = head(input);
            assert_eq!(
                (h.kind, h.consumed, h.complete),
                (kind, consumed, false),
                "{input:?}"
            );
            assert_eq!(input.get(consumed), Some(&b' '));
            check_prefixes(input);
        }
    }

    #[test]
    fn uid_prefix_and_unknown_names() {
        let h = head(b"A7 uid Copy 1:3,7,9:* \"Other box\"\r\n");
        assert!(h.uid);
        assert_eq!((h.name, h.kind), (&b"Copy"[..], CommandKind::Copy));
        assert_eq!(
            h.args,
            Args::Copy {
                sequence_set: b"1:3,7,9:*",
                mailbox: AString::Quoted(b"Other box"),
            }
        );
        let h = head(b"t UID XSOMETHING 1\r\n");
        assert_eq!(
            (h.uid, h.kind, h.name),
            (true, CommandKind::Unknown, &b"XSOMETHING"[..])
        );
        let h = head(b"t MOVE $ Trash\r\n");
        assert!(matches!(
            h.args,
            Args::Copy {
                sequence_set: b"$",
                ..
            }
        ));
        assert_eq!(
            CommandKind::from_name(b"getQuotaRoot"),
            CommandKind::GetQuotaRoot
        );
        assert_eq!(
            CommandKind::from_name(b"SELECTSELECTSELECTX"),
            CommandKind::Unknown
        );
        let h = head(b"t X-VERY-LONG-COMMAND-NAME\r\n");
        assert!(h.complete && h.kind == CommandKind::Unknown);
    }

    #[test]
    fn short_names_read_as_any_name() {
        for name in [
            &b"SELECT"[..],
            b"uId",
            b"UNSELECT",
            b"NAMESPACE",
            b"x",
            b"Fetch1",
            b"X-FOO",
            b"\xc3\xa9t",
            b"",
        ] {
            for next in 0..=u8::MAX {
                for tail in [&b""[..], b"INBOX\r\n"] {
                    let input = [name, &[next], tail].concat();
                    assert_eq!(command_name(&input), any_name(&input), "{input:?}");
                }
            }
        }
        let (_, (name, kind)) = command_name(b"UNSELECT\r\n").unwrap();
        assert_eq!((name, kind), (&b"UNSELECT"[..], CommandKind::Unselect));
    }

    #[test]
    fn kinds_enumerate_with_their_names() {
        assert_eq!(CommandKind::COUNT, KNOWN.len() + 1);
        for (at, &kind) in CommandKind::ALL.iter().enumerate() {
            assert_eq!(kind.index(), at);
            if kind != CommandKind::Unknown {
                assert_eq!(CommandKind::from_name(kind.as_str().as_bytes()), kind);
            }
        }
        assert_eq!(CommandKind::GetQuotaRoot.as_str(), "GETQUOTAROOT");
        assert_eq!(CommandKind::ALL.last(), Some(&CommandKind::Unknown));
        assert_eq!(CommandKind::Unknown.as_str(), "UNKNOWN");
    }

    #[test]
    fn mailbox_commands() {
        use CommandKind::*;
        for (name, kind, tail) in [
            ("CREATE", Create, " (USE (\\Sent))"),
            ("DELETE", Delete, ""),
            ("SUBSCRIBE", Subscribe, ""),
            ("UNSUBSCRIBE", Unsubscribe, ""),
            ("GETACL", GetAcl, ""),
            ("MYRIGHTS", MyRights, ""),
            ("GETQUOTAROOT", GetQuotaRoot, ""),
        ] {
            let input = format!("t {name} \"a b\"{tail}\r\n");
            let h = head(input.as_bytes());
            assert_eq!(h.kind, kind);
            assert_eq!(h.args, Args::Mailbox(AString::Quoted(b"a b")));
            assert_eq!(h.complete, tail.is_empty());
            check_prefixes(input.as_bytes());
        }
        let h = head(b"t RENAME {3+}\r\nold new (X)\r\n");
        assert_eq!(
            h.args,
            Args::Rename {
                from: literal(3, true, false, b"old"),
                to: AString::Atom(b"new"),
                location: None,
            }
        );
        assert!(
            h.complete,
            "RFC 4466 parameters are read whole (and relayed as sent)"
        );
        check_prefixes(b"t RENAME old new (X)\r\n");
        check_prefixes(b"t RENAME old new be2!p\r\n");
        assert_eq!(bad(b"t RENAME old new \"\r\n").1, Reason::Argument);
        let h = head(b"t RENAME old new be2!p\r\n");
        assert_eq!(
            h.args,
            Args::Rename {
                from: AString::Atom(b"old"),
                to: AString::Atom(b"new"),
                location: Some(AString::Atom(b"be2!p")),
            }
        );
        assert!(h.complete);
    }

    #[test]
    fn acl_and_metadata() {
        let h = head(b"t SETACL INBOX/x \"fred smith\" +lr\r\n");
        assert_eq!(
            h.args,
            Args::Acl {
                mailbox: AString::Atom(b"INBOX/x"),
                identifier: AString::Quoted(b"fred smith"),
                rights: Some(AString::Atom(b"+lr")),
            }
        );
        for input in [&b"t DELETEACL x fred\r\n"[..], b"t LISTRIGHTS x fred\r\n"] {
            assert!(matches!(head(input).args, Args::Acl { rights: None, .. }));
        }
        assert_eq!(bad(b"t SETACL x fred\r\n").1, Reason::MissingArgument);
        let input = b"t GETMETADATA (MAXSIZE 1024 DEPTH 1) INBOX (/shared/comment)\r\n";
        let h = head(input);
        assert_eq!(
            h.args,
            Args::GetMetadata {
                options: Some(b"(MAXSIZE 1024 DEPTH 1)"),
                mailbox: AString::Atom(b"INBOX"),
            }
        );
        assert!(!h.complete);
        check_prefixes(input);
        let h = head(b"t GETMETADATA \"\" /shared/comment\r\n");
        assert_eq!(
            h.args,
            Args::GetMetadata {
                options: None,
                mailbox: AString::Quoted(b""),
            }
        );
    }

    #[test]
    fn list_forms() {
        let h = head(b"t LIST \"\" %\r\n");
        let Args::List(list) = h.args else {
            panic!("{h:?}")
        };
        assert_eq!(list.reference, AString::Quoted(b""));
        assert_eq!(
            list.patterns.iter().collect::<Vec<_>>(),
            [AString::Atom(b"%")]
        );
        assert_eq!((list.selection, list.return_options), (None, None));

        let input =
            b"t LIST (SUBSCRIBED \"x)\" {1}\r\n)) \"\" (INBOX% \"a b\" {3}\r\nc*d) RETURN (CHILDREN)\r\n";
        let h = head(input);
        let Args::List(list) = h.args else {
            panic!("{h:?}")
        };
        assert_eq!(list.selection, Some(&b"(SUBSCRIBED \"x)\" {1}\r\n))"[..]));
        assert_eq!(list.return_options, Some(&b"(CHILDREN)"[..]));
        assert_eq!(
            list.patterns.into_iter().collect::<Vec<_>>(),
            [
                AString::Atom(b"INBOX%"),
                AString::Quoted(b"a b"),
                literal(3, false, false, b"c*d")
            ]
        );
        assert!(h.complete);
        check_prefixes(input);

        let h = head(b"t lsub \"#news.\" comp.mail.*\r\n");
        assert_eq!(h.kind, CommandKind::Lsub);
        let Args::List(list) = h.args else {
            panic!("{h:?}")
        };
        assert_eq!(list.patterns.first(), AString::Atom(b"comp.mail.*"));

        let h = head(b"t RLIST \"\" \"*\"\r\n");
        assert_eq!(h.kind, CommandKind::Rlist);
        assert!(matches!(h.args, Args::List(_)), "{h:?}");
        let h = head(b"t rlsub \"\" %\r\n");
        assert_eq!(h.kind, CommandKind::Rlsub);
        assert!(matches!(h.args, Args::List(_)), "{h:?}");
    }

    #[test]
    fn login_and_authenticate() {
        let h = head(b"a LOGIN {4+}\r\njohn \"se\\\"cret\"\r\n");
        assert_eq!(
            h.args,
            Args::Login {
                user: literal(4, true, false, b"john"),
                password: AString::Quoted(b"se\\\"cret"),
            }
        );
        let h = head(b"a AUTHENTICATE PLAIN AGpvaG4Ac2VjcmV0\r\n");
        assert_eq!(
            h.args,
            Args::Authenticate {
                mechanism: b"PLAIN",
                initial_response: Some(b"AGpvaG4Ac2VjcmV0"),
            }
        );
        let h = head(b"a AUTHENTICATE EXTERNAL =\r\n");
        assert!(matches!(
            h.args,
            Args::Authenticate {
                initial_response: Some(b"="),
                ..
            }
        ));
        let h = head(b"a authenticate GSSAPI\n");
        assert!(
            h.complete
                && matches!(
                    h.args,
                    Args::Authenticate {
                        initial_response: None,
                        ..
                    }
                )
        );
    }

    #[test]
    fn idle_and_done() {
        let h = head(b"a IDLE\r\n");
        assert!(h.complete && h.kind == CommandKind::Idle && h.args == Args::None);
        assert_eq!(parse_idle_done(b"DONE\r\n"), Ok(6));
        assert_eq!(parse_idle_done(b"done\nnext"), Ok(5));
        for partial in [&b""[..], b"D", b"dOn", b"DONE", b"DONE\r"] {
            assert_eq!(parse_idle_done(partial), Err(HeadError::Incomplete));
        }
        for wrong in [&b"X"[..], b"DOX", b"DONE \r\n", b"DONEX\r\n", b"DONE\rx"] {
            assert_eq!(
                parse_idle_done(wrong),
                Err(HeadError::Invalid {
                    tag: None,
                    reason: Reason::Done
                })
            );
        }
    }

    #[test]
    fn errors_read_as_bad_text() {
        let e = parse_head(b"a1 SELECT\r\n").unwrap_err();
        assert_eq!(e.to_string(), "missing argument");
        assert_eq!(HeadError::Incomplete.to_string(), "incomplete command");
    }
}
