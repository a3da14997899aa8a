//! The response classifier: says what a backend's response line is, cheaply and without copying.
//!
//! The proxy hands [`classify`] the first line of each response message the framer found,
//! through its line end (a line may end in a literal header, as `* 12 FETCH (BODY[] {342}`
//! does). The result borrows from the input: the kind of response, its tag, status, response
//! code and the fields routing needs (numbers, mailbox names); everything else stays a span of
//! the input (`rest`) for the proxy to pass through byte for byte.
//!
//! A mailbox name sent as a literal (`* LIST () "/" {5}`) is read whole, payload and the rest of
//! its line included, so hand such messages over complete; without the payload the result is
//! [`ResponseError::Incomplete`]. FETCH data is never parsed past its sequence number.
//!
//! # Leniencies
//!
//! Backends misbehave; these are accepted on purpose (and nothing else):
//!
//! * a status without text (`a1 OK`, `* OK [READ-WRITE]`), and a bare `+` continuation;
//! * a space before the line end of CAPABILITY and ENABLED (`* CAPABILITY IMAP4rev1 `);
//! * status names, untagged names and code names in any case;
//! * a text that starts with `[` but holds no well-formed response code is taken as plain text
//!   (`code: None`), so a malformed code never fails the whole line;
//! * NUL and 8-bit bytes in text (the proxy only passes text through);
//! * the bare-LF line end of [`lex::crlf`].
//!
//! A code argument ends at the first `]` followed by a space or the line end, so a REFERRAL to
//! `imap://[::1]/` stays whole.

use memchr::{memchr2, memchr3};
use nom::Parser;
use nom::bytes::streaming::{tag, tag_no_case, take_while, take_while1};
use nom::error::ErrorKind;

use crate::lex::{
    self, AString, LexResult, atom, crlf, invalid, is_atom_char, number, number64, sp, tag_token,
};

/// Why a line could not be classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    /// The input stops before the response line does: more bytes may complete it.
    #[error("incomplete response line")]
    Incomplete,
    /// No continuation can make this a response line.
    #[error("invalid response line at byte {offset}")]
    Invalid {
        /// Offset in the input where parsing failed.
        offset: usize,
    },
}

/// A classified response line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response<'a> {
    /// A continuation request: `+ text`, `+ base64` or a bare `+` (empty text).
    Continuation {
        /// A response code, when the text starts with one.
        code: Option<Code<'a>>,
        /// The text or base64 data, without the line end.
        text: &'a [u8],
    },
    /// A tagged status: the completion of a command.
    Tagged {
        /// The command's tag.
        tag: &'a [u8],
        /// OK, NO or BAD with code and text.
        status: Status<'a>,
    },
    /// Untagged data or status (`* ...`).
    Untagged(Untagged<'a>),
}

/// The name of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusKind {
    /// `OK`.
    Ok,
    /// `NO`.
    No,
    /// `BAD`.
    Bad,
    /// `PREAUTH` (untagged greeting only).
    Preauth,
    /// `BYE` (untagged only).
    Bye,
}

impl StatusKind {
    /// The name as it goes on the wire.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            StatusKind::Ok => b"OK",
            StatusKind::No => b"NO",
            StatusKind::Bad => b"BAD",
            StatusKind::Preauth => b"PREAUTH",
            StatusKind::Bye => b"BYE",
        }
    }

    /// May this status be tagged (OK, NO and BAD may; PREAUTH and BYE are untagged only)?
    pub fn may_be_tagged(self) -> bool {
        matches!(self, StatusKind::Ok | StatusKind::No | StatusKind::Bad)
    }
}

/// A status response: its name, optional response code and human-readable text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status<'a> {
    /// OK, NO, BAD, PREAUTH or BYE.
    pub kind: StatusKind,
    /// The bracketed response code, if any.
    pub code: Option<Code<'a>>,
    /// The text after the code, without the line end (possibly empty: see the leniencies).
    pub text: &'a [u8],
}

/// Untagged responses, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untagged<'a> {
    /// `* OK|NO|BAD|PREAUTH|BYE [code] text`.
    Status(Status<'a>),
    /// `* n EXISTS`.
    Exists(u32),
    /// `* n RECENT`.
    Recent(u32),
    /// `* n EXPUNGE`.
    Expunge(u32),
    /// `* n FETCH ...`: only the sequence number is read.
    Fetch {
        /// The message sequence number.
        number: u32,
        /// The rest of the line, after the space (it may end in a literal header).
        rest: &'a [u8],
    },
    /// `* CAPABILITY atoms`.
    Capability(Atoms<'a>),
    /// `* ENABLED atoms` (RFC 5161).
    Enabled(Atoms<'a>),
    /// `* LIST (attributes) delimiter mailbox [extended data]`.
    List(ListData<'a>),
    /// `* LSUB (attributes) delimiter mailbox`.
    Lsub(ListData<'a>),
    /// `* STATUS mailbox (items)`.
    MailboxStatus(MailboxData<'a>),
    /// `* ACL mailbox identifier rights ...` (RFC 4314).
    Acl(MailboxData<'a>),
    /// `* MYRIGHTS mailbox rights` (RFC 4314).
    MyRights(MailboxData<'a>),
    /// `* LISTRIGHTS mailbox identifier rights ...` (RFC 4314).
    ListRights(MailboxData<'a>),
    /// `* SEARCH n n ...`: the numbers as a span (possibly empty).
    Search(&'a [u8]),
    /// `* ESEARCH ...` (RFC 4731): the data as a span.
    Esearch(&'a [u8]),
    /// `* FLAGS (flags)`.
    Flags(Atoms<'a>),
    /// `* VANISHED [(EARLIER)] uid-set` (RFC 7162).
    Vanished {
        /// `(EARLIER)` was given: the UIDs were expunged before this session saw them.
        earlier: bool,
        /// The UID set, as sent.
        uids: &'a [u8],
    },
    /// `* NAMESPACE ...` (RFC 2342): the three namespace lists as a span.
    Namespace(&'a [u8]),
    /// `* ID ...` (RFC 2971): the parameter list (or NIL) as a span.
    Id(&'a [u8]),
    /// Any other untagged response.
    Other {
        /// The number before the name (`* 3 XFOO`), if there was one.
        number: Option<u32>,
        /// The response name.
        name: &'a [u8],
        /// The rest of the line after the name and its space (possibly empty).
        rest: &'a [u8],
    },
}

/// The fields of a LIST or LSUB response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListData<'a> {
    /// The name attributes (`\HasNoChildren`, ...), without the parentheses.
    pub attributes: Atoms<'a>,
    /// The hierarchy delimiter, or `None` for NIL (a flat namespace).
    pub delimiter: Option<u8>,
    /// The mailbox name, in the form it was sent.
    pub mailbox: AString<'a>,
    /// RFC 5258 extended data after the name (empty when absent).
    pub extended: &'a [u8],
}

/// A response about one mailbox: STATUS, ACL, MYRIGHTS or LISTRIGHTS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxData<'a> {
    /// The mailbox name, in the form it was sent.
    pub mailbox: AString<'a>,
    /// The rest of the line after the name and its space (possibly empty).
    pub rest: &'a [u8],
}

/// A response code (RFC 3501 §7.1 and the extensions that add codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code<'a> {
    /// `ALERT`.
    Alert,
    /// `BADCHARSET [(charsets)]`: the argument as a span, if given.
    BadCharset(Option<&'a [u8]>),
    /// `CAPABILITY atoms`.
    Capability(Atoms<'a>),
    /// `PARSE`.
    Parse,
    /// `PERMANENTFLAGS (flags)`.
    PermanentFlags(Atoms<'a>),
    /// `READ-ONLY`.
    ReadOnly,
    /// `READ-WRITE`.
    ReadWrite,
    /// `TRYCREATE`.
    TryCreate,
    /// `UIDNEXT n`.
    UidNext(u32),
    /// `UIDVALIDITY n`.
    UidValidity(u32),
    /// `UNSEEN n`.
    Unseen(u32),
    /// `APPENDUID uidvalidity uid-set` (RFC 4315).
    AppendUid {
        /// The destination mailbox's UIDVALIDITY.
        uid_validity: u32,
        /// The UIDs assigned, as sent.
        uids: &'a [u8],
    },
    /// `COPYUID uidvalidity source-set destination-set` (RFC 4315).
    CopyUid {
        /// The destination mailbox's UIDVALIDITY.
        uid_validity: u32,
        /// The source UIDs, as sent.
        source: &'a [u8],
        /// The destination UIDs, as sent.
        destination: &'a [u8],
    },
    /// `REFERRAL url...` (RFC 2193): the URLs as a span.
    Referral(&'a [u8]),
    /// `NONEXISTENT` (RFC 5530).
    NonExistent,
    /// `UNAVAILABLE` (RFC 5530).
    Unavailable,
    /// `ALREADYEXISTS` (RFC 5530).
    AlreadyExists,
    /// `NOPERM` (RFC 5530).
    NoPerm,
    /// `INUSE` (RFC 5530).
    InUse,
    /// `OVERQUOTA` (RFC 5530).
    OverQuota,
    /// `CLOSED` (RFC 7162).
    Closed,
    /// `HIGHESTMODSEQ n` (RFC 7162).
    HighestModSeq(u64),
    /// Any other code.
    Other {
        /// The code name.
        atom: &'a [u8],
        /// Its argument as a span, if given.
        argument: Option<&'a [u8]>,
    },
}

/// A space-separated run of atoms, each optionally led by `\` (capabilities, flags, name
/// attributes; `\*` included), borrowed as one span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Atoms<'a>(&'a [u8]);

impl<'a> Atoms<'a> {
    /// Checks a span: tokens separated by single spaces (or nothing at all).
    pub fn new(span: &'a [u8]) -> Option<Self> {
        (span.is_empty() || span.split(|&b| b == b' ').all(is_token)).then_some(Atoms(span))
    }

    /// The span as sent.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The atoms in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.0.split(|&b| b == b' ').filter(|t| !t.is_empty())
    }

    /// Is `atom` among them (ignoring ASCII case, as IMAP names are)?
    pub fn contains(&self, atom: &[u8]) -> bool {
        self.iter().any(|a| a.eq_ignore_ascii_case(atom))
    }
}

/// One token of an [`Atoms`] span: `\*`, or an atom with an optional leading `\`.
fn is_token(t: &[u8]) -> bool {
    let bare = t.strip_prefix(b"\\").unwrap_or(t);
    t == b"\\*" || (!bare.is_empty() && bare.iter().all(|&b| is_atom_char(b)))
}

/// Classifies the response line at the start of `input`.
///
/// Returns the response and the number of bytes it took: the line through its line end (and
/// any mailbox literal inside it).
///
/// ```
/// use corvid_proto::imap::response::{Code, Response, StatusKind, classify};
///
/// let line = b"a1 NO [TRYCREATE] Mailbox does not exist\r\n";
/// let (Response::Tagged { tag, status }, used) = classify(line)? else { unreachable!() };
/// assert_eq!((tag, status.kind, status.code), (&b"a1"[..], StatusKind::No, Some(Code::TryCreate)));
/// assert_eq!(used, line.len());
/// # Ok::<(), corvid_proto::imap::response::ResponseError>(())
/// ```
pub fn classify(input: &[u8]) -> Result<(Response<'_>, usize), ResponseError> {
    match response(input) {
        Ok((rest, r)) => Ok((r, input.len() - rest.len())),
        Err(nom::Err::Incomplete(_)) => Err(ResponseError::Incomplete),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(ResponseError::Invalid {
            offset: input.len().saturating_sub(e.input.len()),
        }),
    }
}

fn response(i: &[u8]) -> LexResult<'_, Response<'_>> {
    match i.first() {
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
        Some(b'+') => {
            let (i, (code, text)) = optional_resp_text(&i[1..])?;
            Ok((i, Response::Continuation { code, text }))
        }
        Some(b'*') => {
            let (i, ()) = sp(&i[1..])?;
            untagged(i).map(|(i, u)| (i, Response::Untagged(u)))
        }
        Some(_) => {
            let (i, tag) = tag_token(i)?;
            let (i, ()) = sp(i)?;
            let (after, name) = atom(i)?;
            match status_kind(name) {
                Some(kind) if kind.may_be_tagged() => {
                    let (i, status) = status(kind, after)?;
                    Ok((i, Response::Tagged { tag, status }))
                }
                _ => invalid(i, ErrorKind::Tag),
            }
        }
    }
}

/// Upper-cases a short name into `buf` for matching; a name too long to be known is empty.
fn upper<'b>(name: &[u8], buf: &'b mut [u8; 16]) -> &'b [u8] {
    match buf.get_mut(..name.len()) {
        Some(dst) => {
            dst.copy_from_slice(name);
            dst.make_ascii_uppercase();
            dst
        }
        None => &[],
    }
}

fn status_kind(name: &[u8]) -> Option<StatusKind> {
    Some(match upper(name, &mut [0; 16]) {
        b"OK" => StatusKind::Ok,
        b"NO" => StatusKind::No,
        b"BAD" => StatusKind::Bad,
        b"PREAUTH" => StatusKind::Preauth,
        b"BYE" => StatusKind::Bye,
        _ => return None,
    })
}

/// The status after its name: `[SP resp-text]`.
fn status(kind: StatusKind, i: &[u8]) -> LexResult<'_, Status<'_>> {
    let (i, (code, text)) = optional_resp_text(i)?;
    Ok((i, Status { kind, code, text }))
}

/// `[SP ["[" code "]"] [SP text]] CRLF`: everything optional, as lenient servers need.
fn optional_resp_text(i: &[u8]) -> LexResult<'_, (Option<Code<'_>>, &[u8])> {
    if let Some(bracket) = i.strip_prefix(b" ").filter(|r| r.first() == Some(&b'[')) {
        let after_code = code(bracket)
            .and_then(|(after, code)| tail(after).map(|(rest, text)| (rest, (Some(code), text))));
        match after_code {
            Err(nom::Err::Error(_)) => {} // not a code after all: plain text (a leniency)
            done => return done,
        }
    }
    tail(i).map(|(rest, text)| (rest, (None, text)))
}

/// The rest of the line without its line end; any byte but CR and LF may stand in it.
fn line_rest(i: &[u8]) -> LexResult<'_, &[u8]> {
    let Some(at) = memchr2(b'\r', b'\n', i) else {
        return Err(nom::Err::Incomplete(nom::Needed::Unknown));
    };
    let (rest, ()) = crlf(&i[at..])?;
    Ok((rest, &i[..at]))
}

/// What follows a name: the line end (an empty tail) or a space and the rest of the line.
fn tail(i: &[u8]) -> LexResult<'_, &[u8]> {
    match i.first() {
        Some(b' ') => line_rest(&i[1..]),
        _ => crlf(i).map(|(rest, ())| (rest, &i[..0])),
    }
}

/// A run of atoms up to the first byte that cannot be in one, checked with [`Atoms::new`]; a
/// space after the last atom is left to the caller.
fn atoms(i: &[u8]) -> LexResult<'_, Atoms<'_>> {
    let (_, run) = take_while(|b| is_atom_char(b) || matches!(b, b'\\' | b'*' | b' ')).parse(i)?;
    let span = run.strip_suffix(b" ").unwrap_or(run);
    match Atoms::new(span) {
        Some(atoms) => Ok((&i[span.len()..], atoms)),
        None => invalid(i, ErrorKind::Verify),
    }
}

/// `(atoms)`.
fn parenthesized_atoms(i: &[u8]) -> LexResult<'_, Atoms<'_>> {
    let (i, _) = tag(&b"("[..]).parse(i)?;
    let (i, atoms) = atoms(i)?;
    let (i, _) = tag(&b")"[..]).parse(i)?;
    Ok((i, atoms))
}

/// A UID set as RFC 4315 sends it: digits, `:` and `,`.
fn uid_set(i: &[u8]) -> LexResult<'_, &[u8]> {
    take_while1(|b: u8| b.is_ascii_digit() || b == b':' || b == b',').parse(i)
}

fn untagged(i: &[u8]) -> LexResult<'_, Untagged<'_>> {
    if i.first().is_some_and(u8::is_ascii_digit) {
        let (i, n) = number(i)?;
        let (i, ()) = sp(i)?;
        let (i, name) = atom(i)?;
        return match upper(name, &mut [0; 16]) {
            b"EXISTS" => crlf(i).map(|(i, ())| (i, Untagged::Exists(n))),
            b"RECENT" => crlf(i).map(|(i, ())| (i, Untagged::Recent(n))),
            b"EXPUNGE" => crlf(i).map(|(i, ())| (i, Untagged::Expunge(n))),
            b"FETCH" => {
                let (i, ()) = sp(i)?;
                let (i, rest) = line_rest(i)?;
                Ok((i, Untagged::Fetch { number: n, rest }))
            }
            _ => {
                let (i, rest) = tail(i)?;
                Ok((
                    i,
                    Untagged::Other {
                        number: Some(n),
                        name,
                        rest,
                    },
                ))
            }
        };
    }
    let (i, name) = atom(i)?;
    if let Some(kind) = status_kind(name) {
        return status(kind, i).map(|(i, s)| (i, Untagged::Status(s)));
    }
    let after_sp = |i| sp(i).map(|(i, ())| i);
    match upper(name, &mut [0; 16]) {
        b"CAPABILITY" => atoms_to_line_end(i).map(|(i, a)| (i, Untagged::Capability(a))),
        b"ENABLED" => atoms_to_line_end(i).map(|(i, a)| (i, Untagged::Enabled(a))),
        b"FLAGS" => {
            let (i, flags) = parenthesized_atoms(after_sp(i)?)?;
            crlf(i).map(|(i, ())| (i, Untagged::Flags(flags)))
        }
        b"LIST" => list_data(after_sp(i)?).map(|(i, l)| (i, Untagged::List(l))),
        b"LSUB" => list_data(after_sp(i)?).map(|(i, l)| (i, Untagged::Lsub(l))),
        b"STATUS" => mailbox_data(after_sp(i)?).map(|(i, m)| (i, Untagged::MailboxStatus(m))),
        b"ACL" => mailbox_data(after_sp(i)?).map(|(i, m)| (i, Untagged::Acl(m))),
        b"MYRIGHTS" => mailbox_data(after_sp(i)?).map(|(i, m)| (i, Untagged::MyRights(m))),
        b"LISTRIGHTS" => mailbox_data(after_sp(i)?).map(|(i, m)| (i, Untagged::ListRights(m))),
        b"SEARCH" => tail(i).map(|(i, s)| (i, Untagged::Search(s))),
        b"ESEARCH" => tail(i).map(|(i, s)| (i, Untagged::Esearch(s))),
        b"NAMESPACE" => tail(i).map(|(i, s)| (i, Untagged::Namespace(s))),
        b"ID" => tail(i).map(|(i, s)| (i, Untagged::Id(s))),
        b"VANISHED" => {
            let i = after_sp(i)?;
            let (i, earlier) = match tag_no_case(&b"(EARLIER) "[..]).parse(i) {
                Ok((i, _)) => (i, true),
                Err(nom::Err::Error(_)) => (i, false),
                Err(e) => return Err(e),
            };
            let (i, uids) = uid_set(i)?;
            let (i, ()) = crlf(i)?;
            Ok((i, Untagged::Vanished { earlier, uids }))
        }
        _ => {
            let (i, rest) = tail(i)?;
            Ok((
                i,
                Untagged::Other {
                    number: None,
                    name,
                    rest,
                },
            ))
        }
    }
}

/// `*(SP atom) [SP] CRLF`, as CAPABILITY and ENABLED send them (a trailing space tolerated).
fn atoms_to_line_end(i: &[u8]) -> LexResult<'_, Atoms<'_>> {
    let (i, atoms) = match i.first() {
        Some(b' ') => atoms(&i[1..])?,
        _ => (i, Atoms(&i[..0])),
    };
    let (i, ()) = crlf(i.strip_prefix(b" ").unwrap_or(i))?;
    Ok((i, atoms))
}

/// `(attributes) SP delimiter SP mailbox [SP extended] CRLF`.
fn list_data(i: &[u8]) -> LexResult<'_, ListData<'_>> {
    let (i, attributes) = parenthesized_atoms(i)?;
    let (i, ()) = sp(i)?;
    let (i, delimiter) = delimiter(i)?;
    let (i, ()) = sp(i)?;
    let (i, mailbox) = lex::astring(i)?;
    let (i, extended) = tail(i)?;
    Ok((
        i,
        ListData {
            attributes,
            delimiter,
            mailbox,
            extended,
        },
    ))
}

/// `NIL` or a quoted single character (`"/"`, `"\\"`).
fn delimiter(i: &[u8]) -> LexResult<'_, Option<u8>> {
    if i.first() != Some(&b'"') {
        return tag_no_case(&b"NIL"[..]).parse(i).map(|(i, _)| (i, None));
    }
    let (rest, raw) = lex::quoted(i)?;
    match *raw {
        [b'\\', c] | [c] if c.is_ascii() => Ok((rest, Some(c))),
        _ => invalid(i, ErrorKind::Char),
    }
}

/// `mailbox [SP rest] CRLF`.
fn mailbox_data(i: &[u8]) -> LexResult<'_, MailboxData<'_>> {
    let (i, mailbox) = lex::astring(i)?;
    let (i, rest) = tail(i)?;
    Ok((i, MailboxData { mailbox, rest }))
}

/// `"[" name [SP argument] "]"`.
fn code(i: &[u8]) -> LexResult<'_, Code<'_>> {
    let (i, _) = tag(&b"["[..]).parse(i)?;
    let (i, name) = atom(i)?;
    let (i, code) = code_body(name, i)?;
    let (i, _) = tag(&b"]"[..]).parse(i)?;
    Ok((i, code))
}

/// A code's argument, given its name; stops before the closing `]`.
fn code_body<'a>(name: &'a [u8], i: &'a [u8]) -> LexResult<'a, Code<'a>> {
    let after_sp = |i| sp(i).map(|(i, ())| i);
    let simple = |code| Ok((i, code));
    match upper(name, &mut [0; 16]) {
        b"ALERT" => simple(Code::Alert),
        b"PARSE" => simple(Code::Parse),
        b"READ-ONLY" => simple(Code::ReadOnly),
        b"READ-WRITE" => simple(Code::ReadWrite),
        b"TRYCREATE" => simple(Code::TryCreate),
        b"NONEXISTENT" => simple(Code::NonExistent),
        b"UNAVAILABLE" => simple(Code::Unavailable),
        b"ALREADYEXISTS" => simple(Code::AlreadyExists),
        b"NOPERM" => simple(Code::NoPerm),
        b"INUSE" => simple(Code::InUse),
        b"OVERQUOTA" => simple(Code::OverQuota),
        b"CLOSED" => simple(Code::Closed),
        b"BADCHARSET" => optional_argument(i).map(|(i, a)| (i, Code::BadCharset(a))),
        b"CAPABILITY" => atoms(after_sp(i)?).map(|(i, a)| (i, Code::Capability(a))),
        b"PERMANENTFLAGS" => {
            parenthesized_atoms(after_sp(i)?).map(|(i, a)| (i, Code::PermanentFlags(a)))
        }
        b"UIDNEXT" => number(after_sp(i)?).map(|(i, n)| (i, Code::UidNext(n))),
        b"UIDVALIDITY" => number(after_sp(i)?).map(|(i, n)| (i, Code::UidValidity(n))),
        b"UNSEEN" => number(after_sp(i)?).map(|(i, n)| (i, Code::Unseen(n))),
        b"HIGHESTMODSEQ" => number64(after_sp(i)?).map(|(i, n)| (i, Code::HighestModSeq(n))),
        b"APPENDUID" => {
            let (i, uid_validity) = number(after_sp(i)?)?;
            let (i, uids) = uid_set(after_sp(i)?)?;
            Ok((i, Code::AppendUid { uid_validity, uids }))
        }
        b"COPYUID" => {
            let (i, uid_validity) = number(after_sp(i)?)?;
            let (i, source) = uid_set(after_sp(i)?)?;
            let (i, destination) = uid_set(after_sp(i)?)?;
            let code = Code::CopyUid {
                uid_validity,
                source,
                destination,
            };
            Ok((i, code))
        }
        b"REFERRAL" => argument(after_sp(i)?).map(|(i, a)| (i, Code::Referral(a))),
        _ => optional_argument(i).map(|(i, argument)| {
            (
                i,
                Code::Other {
                    atom: name,
                    argument,
                },
            )
        }),
    }
}

/// `[SP argument]` before a code's closing `]`.
fn optional_argument(i: &[u8]) -> LexResult<'_, Option<&[u8]>> {
    match i.first() {
        Some(b' ') => argument(&i[1..]).map(|(i, a)| (i, Some(a))),
        _ => Ok((i, None)),
    }
}

/// A free-form code argument: up to the first `]` that a space or the line end follows.
fn argument(i: &[u8]) -> LexResult<'_, &[u8]> {
    let mut at = 0;
    loop {
        let Some(found) = i.get(at..).and_then(|s| memchr3(b']', b'\r', b'\n', s)) else {
            return Err(nom::Err::Incomplete(nom::Needed::Unknown));
        };
        let end = at + found;
        match (i.get(end), i.get(end + 1)) {
            _ if end == 0 => return invalid(i, ErrorKind::Verify),
            (Some(b']'), None) => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
            (Some(b']'), Some(b' ' | b'\r' | b'\n')) => return Ok((&i[end..], &i[..end])),
            (Some(b']'), Some(_)) => at = end + 1,
            _ => return invalid(&i[end..], ErrorKind::Char),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Classifies a whole line, checking that it is all consumed and that every prefix is
    /// incomplete.
    fn whole(line: &[u8]) -> Response<'_> {
        for cut in 0..line.len() {
            assert_eq!(
                classify(&line[..cut]),
                Err(ResponseError::Incomplete),
                "{:?} cut at {cut}",
                String::from_utf8_lossy(line)
            );
        }
        let (r, used) = classify(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert_eq!(used, line.len());
        r
    }

    fn untagged(line: &[u8]) -> Untagged<'_> {
        match whole(line) {
            Response::Untagged(u) => u,
            other => panic!("{other:?}"),
        }
    }

    fn code_of(line: &[u8]) -> Code<'_> {
        match untagged(line) {
            Untagged::Status(Status { code: Some(c), .. }) => c,
            other => panic!("{other:?}"),
        }
    }

    fn is_invalid(line: &[u8]) -> bool {
        matches!(classify(line), Err(ResponseError::Invalid { .. }))
    }

    fn atoms(span: &[u8]) -> Atoms<'_> {
        Atoms::new(span).unwrap()
    }

    #[test]
    fn continuations() {
        let c = |text, code| Response::Continuation { code, text };
        assert_eq!(
            whole(b"+ Ready for literal\r\n"),
            c(&b"Ready for literal"[..], None)
        );
        assert_eq!(whole(b"+ dGVzdA==\r\n"), c(&b"dGVzdA=="[..], None));
        assert_eq!(whole(b"+\r\n"), c(&b""[..], None));
        assert_eq!(whole(b"+ \r\n"), c(&b""[..], None));
        assert_eq!(whole(b"+ [ALERT] go\r\n"), c(&b"go"[..], Some(Code::Alert)));
        assert!(is_invalid(b"+x\r\n"));
    }

    #[test]
    fn tagged_status() {
        let r = whole(b"a002 OK [READ-WRITE] SELECT completed\r\n");
        let status = Status {
            kind: StatusKind::Ok,
            code: Some(Code::ReadWrite),
            text: b"SELECT completed",
        };
        assert_eq!(
            r,
            Response::Tagged {
                tag: b"a002",
                status
            }
        );
        let r = whole(b"x1 no Mailbox does not exist\n");
        let Response::Tagged { tag, status } = r else {
            panic!("{r:?}")
        };
        assert_eq!(
            (tag, status.kind, status.text),
            (&b"x1"[..], StatusKind::No, &b"Mailbox does not exist"[..])
        );
        assert!(is_invalid(b"a1 BYE now\r\n"));
        assert!(is_invalid(b"a1 FOO bar\r\n"));
        assert!(is_invalid(b"a+1 OK\r\n"));
        assert!(is_invalid(b"a1 OK x\ry\r\n"));
    }

    #[test]
    fn lenient_status_without_text() {
        let r = whole(b"a1 OK\r\n");
        let status = Status {
            kind: StatusKind::Ok,
            code: None,
            text: b"",
        };
        assert_eq!(r, Response::Tagged { tag: b"a1", status });
        assert_eq!(code_of(b"* OK [READ-ONLY]\r\n"), Code::ReadOnly);
        assert_eq!(code_of(b"* OK [READ-ONLY] \r\n"), Code::ReadOnly);
    }

    #[test]
    fn malformed_code_is_text() {
        for line in [
            &b"* OK [UIDNEXT x] hm\r\n"[..],
            b"* OK [ALERT]x\r\n",
            b"* NO [no end\r\n",
            b"* OK [] x\r\n",
        ] {
            let Untagged::Status(s) = untagged(line) else {
                panic!("{line:?}")
            };
            assert_eq!(s.code, None);
            assert_eq!(s.text, &line[5..line.len() - 2]);
        }
    }

    #[test]
    fn untagged_status() {
        for (line, kind) in [
            (&b"* OK IMAP4rev1 Service Ready\r\n"[..], StatusKind::Ok),
            (b"* PREAUTH welcome\r\n", StatusKind::Preauth),
            (b"* BYE Autologout; idle for too long\r\n", StatusKind::Bye),
            (b"* BAD junk\r\n", StatusKind::Bad),
            (b"* NO disk full\r\n", StatusKind::No),
        ] {
            let Untagged::Status(s) = untagged(line) else {
                panic!("{line:?}")
            };
            assert_eq!(s.kind, kind);
            assert_eq!(s.text, &line[3 + kind.as_bytes().len()..line.len() - 2]);
        }
    }

    #[test]
    fn message_data() {
        assert_eq!(untagged(b"* 18 EXISTS\r\n"), Untagged::Exists(18));
        assert_eq!(untagged(b"* 0 exists\r\n"), Untagged::Exists(0));
        assert_eq!(untagged(b"* 2 RECENT\r\n"), Untagged::Recent(2));
        assert_eq!(untagged(b"* 44 EXPUNGE\r\n"), Untagged::Expunge(44));
        assert_eq!(
            untagged(b"* 12 FETCH (BODY[] {342}\r\n"),
            Untagged::Fetch {
                number: 12,
                rest: b"(BODY[] {342}"
            }
        );
        assert_eq!(
            untagged(b"* 3 XFOO bar\r\n"),
            Untagged::Other {
                number: Some(3),
                name: b"XFOO",
                rest: b"bar"
            }
        );
        assert!(is_invalid(b"* 4294967296 EXISTS\r\n"));
        assert!(is_invalid(b"* 1 EXISTS x\r\n"));
        assert!(is_invalid(b"* 1 FETCH\r\n"));
    }

    #[test]
    fn capability_and_enabled() {
        let u = untagged(b"* CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN\r\n");
        let Untagged::Capability(caps) = u else {
            panic!("{u:?}")
        };
        assert_eq!(
            caps.iter().collect::<Vec<_>>(),
            [&b"IMAP4rev1"[..], b"LITERAL+", b"AUTH=PLAIN"]
        );
        assert!(caps.contains(b"literal+") && !caps.contains(b"IDLE"));
        assert_eq!(
            untagged(b"* ENABLED\r\n"),
            Untagged::Enabled(Atoms::default())
        );
        assert_eq!(
            untagged(b"* ENABLED UTF8=ACCEPT\r\n"),
            Untagged::Enabled(atoms(b"UTF8=ACCEPT"))
        );
        let u = untagged(b"* CAPABILITY IMAP4rev1 IDLE \r\n");
        assert_eq!(u, Untagged::Capability(atoms(b"IMAP4rev1 IDLE")));
        assert!(is_invalid(b"* CAPABILITY A  B\r\n"));
        assert!(is_invalid(b"* CAPABILITY A  \r\n"));
        assert!(is_invalid(b"* CAPABILITY A (B\r\n"));
    }

    #[test]
    fn flags_and_permanent_flags() {
        let u = untagged(b"* FLAGS (\\Answered \\Flagged $Forwarded)\r\n");
        assert_eq!(
            u,
            Untagged::Flags(atoms(b"\\Answered \\Flagged $Forwarded"))
        );
        assert_eq!(
            untagged(b"* FLAGS ()\r\n"),
            Untagged::Flags(Atoms::default())
        );
        let c = code_of(b"* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");
        assert_eq!(c, Code::PermanentFlags(atoms(b"\\Deleted \\Seen \\*")));
        assert!(is_invalid(b"* FLAGS (\\)\r\n"));
    }

    #[test]
    fn list_and_lsub() {
        let u = untagged(b"* LIST (\\HasNoChildren) \"/\" INBOX\r\n");
        let Untagged::List(l) = u else {
            panic!("{u:?}")
        };
        assert_eq!(l.attributes, atoms(b"\\HasNoChildren"));
        assert_eq!(
            (l.delimiter, l.mailbox, l.extended),
            (Some(b'/'), AString::Atom(b"INBOX"), &b""[..])
        );

        let u = untagged(b"* LSUB () \"\\\\\" \"a \\\"b\\\"\"\r\n");
        let Untagged::Lsub(l) = u else {
            panic!("{u:?}")
        };
        assert_eq!(
            (l.delimiter, l.mailbox.to_vec()),
            (Some(b'\\'), b"a \"b\"".to_vec())
        );

        let u = untagged(
            b"* LIST (\\Noselect) NIL {5}\r\nfoo\r\n (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n",
        );
        let Untagged::List(l) = u else {
            panic!("{u:?}")
        };
        assert_eq!(
            (l.delimiter, l.mailbox.to_vec()),
            (None, b"foo\r\n".to_vec())
        );
        assert_eq!(l.extended, b"(\"CHILDINFO\" (\"SUBSCRIBED\"))");

        assert!(is_invalid(b"* LIST () \"ab\" x\r\n"));
        assert!(is_invalid(b"* LIST () / x\r\n"));
    }

    #[test]
    fn mailbox_responses() {
        let m = |name: &'static [u8], rest: &'static [u8]| MailboxData {
            mailbox: AString::Atom(name),
            rest,
        };
        assert_eq!(
            untagged(b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"),
            Untagged::MailboxStatus(m(b"blurdybloop", b"(MESSAGES 231 UIDNEXT 44292)"))
        );
        assert_eq!(
            untagged(b"* ACL INBOX Fred rwipslxetad\r\n"),
            Untagged::Acl(m(b"INBOX", b"Fred rwipslxetad"))
        );
        assert_eq!(
            untagged(b"* MYRIGHTS INBOX rwiptsldaex\r\n"),
            Untagged::MyRights(m(b"INBOX", b"rwiptsldaex"))
        );
        assert_eq!(
            untagged(b"* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n"),
            Untagged::ListRights(m(b"~/Mail/saved", b"smith la r swicdkxte"))
        );
        let u = untagged(b"* STATUS \"Sent Items\" (MESSAGES 1)\r\n");
        let Untagged::MailboxStatus(s) = u else {
            panic!("{u:?}")
        };
        assert_eq!(s.mailbox, AString::Quoted(b"Sent Items"));
    }

    #[test]
    fn spans() {
        assert_eq!(
            untagged(b"* SEARCH 2 84 882\r\n"),
            Untagged::Search(b"2 84 882")
        );
        assert_eq!(untagged(b"* SEARCH\r\n"), Untagged::Search(b""));
        assert_eq!(
            untagged(b"* ESEARCH (TAG \"a\") UID MIN 1 MAX 9\r\n"),
            Untagged::Esearch(b"(TAG \"a\") UID MIN 1 MAX 9")
        );
        assert_eq!(
            untagged(b"* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"),
            Untagged::Namespace(b"((\"\" \"/\")) NIL NIL")
        );
        assert_eq!(untagged(b"* ID NIL\r\n"), Untagged::Id(b"NIL"));
        assert_eq!(
            untagged(b"* XAPPLEPUSHSERVICE\r\n"),
            Untagged::Other {
                number: None,
                name: b"XAPPLEPUSHSERVICE",
                rest: b""
            }
        );
    }

    #[test]
    fn vanished() {
        assert_eq!(
            untagged(b"* VANISHED (EARLIER) 41,43:116,118\r\n"),
            Untagged::Vanished {
                earlier: true,
                uids: b"41,43:116,118"
            }
        );
        assert_eq!(
            untagged(b"* VANISHED 405\r\n"),
            Untagged::Vanished {
                earlier: false,
                uids: b"405"
            }
        );
        assert!(is_invalid(b"* VANISHED (LATER) 1\r\n"));
        assert!(is_invalid(b"* VANISHED\r\n"));
    }

    #[test]
    fn codes() {
        let cases: [(&[u8], Code<'_>); 20] = [
            (b"ALERT", Code::Alert),
            (b"BADCHARSET", Code::BadCharset(None)),
            (
                b"BADCHARSET (UTF-8 US-ASCII)",
                Code::BadCharset(Some(b"(UTF-8 US-ASCII)")),
            ),
            (
                b"CAPABILITY IMAP4rev1 IDLE",
                Code::Capability(atoms(b"IMAP4rev1 IDLE")),
            ),
            (b"PARSE", Code::Parse),
            (b"TRYCREATE", Code::TryCreate),
            (b"UIDNEXT 4392", Code::UidNext(4392)),
            (b"UIDVALIDITY 3857529045", Code::UidValidity(3_857_529_045)),
            (b"UNSEEN 17", Code::Unseen(17)),
            (
                b"APPENDUID 38505 3955",
                Code::AppendUid {
                    uid_validity: 38505,
                    uids: b"3955",
                },
            ),
            (
                b"COPYUID 38505 304,319:320 3956:3958",
                Code::CopyUid {
                    uid_validity: 38505,
                    source: b"304,319:320",
                    destination: b"3956:3958",
                },
            ),
            (
                b"REFERRAL imap://[::1]/user/x",
                Code::Referral(b"imap://[::1]/user/x"),
            ),
            (b"NONEXISTENT", Code::NonExistent),
            (b"unavailable", Code::Unavailable),
            (b"ALREADYEXISTS", Code::AlreadyExists),
            (b"NOPERM", Code::NoPerm),
            (b"INUSE", Code::InUse),
            (b"OVERQUOTA", Code::OverQuota),
            (b"CLOSED", Code::Closed),
            (
                b"HIGHESTMODSEQ 715194045007",
                Code::HighestModSeq(715_194_045_007),
            ),
        ];
        for (inner, expected) in cases {
            let line = [&b"* OK ["[..], inner, b"] text\r\n"].concat();
            assert_eq!(
                code_of(&line),
                expected,
                "{:?}",
                String::from_utf8_lossy(inner)
            );
        }
        assert_eq!(
            code_of(b"* NO [X-CYRUS-SPECIAL a]b c] hm\r\n"),
            Code::Other {
                atom: b"X-CYRUS-SPECIAL",
                argument: Some(b"a]b c")
            }
        );
        assert_eq!(
            code_of(b"* OK [XYZZY]\r\n"),
            Code::Other {
                atom: b"XYZZY",
                argument: None
            }
        );
    }

    #[test]
    fn invalid_offsets() {
        assert_eq!(
            classify(b"(foo)\r\n"),
            Err(ResponseError::Invalid { offset: 0 })
        );
        assert_eq!(
            classify(b"* 1 EXISTS x\r\n"),
            Err(ResponseError::Invalid { offset: 10 })
        );
        assert_eq!(
            classify(b"a1  OK\r\n"),
            Err(ResponseError::Invalid { offset: 3 })
        );
    }

    #[test]
    fn consumes_one_line_only() {
        let input = b"* 1 EXISTS\r\n* 2 EXISTS\r\n";
        assert_eq!(
            classify(input),
            Ok((Response::Untagged(Untagged::Exists(1)), 12))
        );
    }
}
