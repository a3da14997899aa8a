//! The response writer: the bytes of the IMAP responses the proxy produces itself.
//!
//! A [`ResponseWriter`] appends whole response lines (CRLF included) to a caller's `Vec<u8>`:
//! status lines (tagged, untagged, BYE), continuations, CAPABILITY, ENABLED, LIST/LSUB,
//! NAMESPACE, STATUS, ACL/MYRIGHTS/LISTRIGHTS and ID. A line is written whole or not at all:
//! on error the buffer is left as it was.
//!
//! # Strings
//!
//! Every string argument takes the first of these forms that carries it exactly (mailbox names
//! too, except that INBOX, being case-insensitive, is always written `INBOX`):
//!
//! * an **atom** when the value is non-empty, every byte is an ASTRING-CHAR, it is not `NIL`
//!   (in any case) and it does not start with `~` (which a reader could take for the start of a
//!   literal8, `~{n}`);
//! * else a **quoted** string (`"` and `\` escaped) when no byte is CR, LF or NUL, and 8-bit
//!   bytes only when the session has enabled UTF8=ACCEPT (RFC 6855);
//! * else a synchronizing-form **literal** (`{n}` CRLF payload; a server's literals need no
//!   continuation).
//!
//! NUL cannot be sent in any of these: the literal8 form `~{n}` is reserved for BINARY message
//! data, never names or text, so a NUL is refused with [`WriteError::Nul`].
//!
//! # Text
//!
//! Human-readable text is sanitised, never refused: CR, LF and NUL become spaces, 8-bit bytes
//! become `?` unless UTF8=ACCEPT is on, an empty text becomes `.` (IMAP text is never empty),
//! and a text that starts with `[` without a response code before it gets a leading space so
//! that no reader takes it for one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::imap::response::{Atoms, Code, Response, StatusKind, Untagged, classify};
use crate::lex::{
    LiteralHeader, is_astring_char, is_atom_char, is_quotable, is_tag_char, write_decimal,
};

/// Why a response could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// A string holds a NUL byte, which no IMAP string form outside literal8 may carry.
    #[error("a NUL byte cannot be sent in an IMAP string")]
    Nul,
    /// The tag is empty or holds a byte a tag may not.
    #[error("not a valid tag")]
    Tag,
    /// PREAUTH and BYE are untagged only.
    #[error("{0:?} cannot be tagged")]
    TaggedStatus(StatusKind),
    /// A value that must be an atom (a STATUS item name) is not one.
    #[error("not an atom")]
    Atom,
    /// A hierarchy delimiter must be one ASCII character other than CR, LF and NUL.
    #[error("not a valid hierarchy delimiter")]
    Delimiter,
    /// The response code would not read back as given (a malformed argument, or `Other` with
    /// the name of a known code).
    #[error("the response code does not read back as given")]
    Code,
}

/// LIST or LSUB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `* LIST`.
    List,
    /// `* LSUB`.
    Lsub,
}

/// One namespace of a NAMESPACE response (RFC 2342): its prefix and hierarchy delimiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Namespace<'a> {
    /// The prefix (`""`, `"Other Users/"`, `"#shared."`...).
    pub prefix: &'a [u8],
    /// The hierarchy delimiter, or `None` for NIL.
    pub delimiter: Option<u8>,
}

/// Writes responses into a buffer, with the session's string options.
///
/// ```
/// use corvid_proto::imap::response::{Atoms, StatusKind};
/// use corvid_proto::imap::writer::{ListKind, ResponseWriter};
///
/// let mut out = Vec::new();
/// let mut w = ResponseWriter::new(&mut out, false);
/// let attributes = Atoms::new(b"\\HasNoChildren").unwrap_or_default();
/// w.list(ListKind::List, &attributes, Some(b'/'), b"Sent Items")?;
/// w.status(Some(b"a1"), StatusKind::Ok, None, b"LIST completed")?;
/// assert_eq!(out, b"* LIST (\\HasNoChildren) \"/\" \"Sent Items\"\r\na1 OK LIST completed\r\n");
/// # Ok::<(), corvid_proto::imap::writer::WriteError>(())
/// ```
#[derive(Debug)]
pub struct ResponseWriter<'o> {
    out: &'o mut Vec<u8>,
    utf8: bool,
}

impl<'o> ResponseWriter<'o> {
    /// A writer appending to `out`; `utf8_accept` says whether the client enabled UTF8=ACCEPT
    /// (8-bit bytes may then stand in quoted strings and text).
    pub fn new(out: &'o mut Vec<u8>, utf8_accept: bool) -> Self {
        ResponseWriter {
            out,
            utf8: utf8_accept,
        }
    }

    // -----------------------------------------------------------------------------------------
    // Strings.

    /// Writes a mailbox name (`mailbox = "INBOX" / astring`): INBOX, which is case-insensitive
    /// (RFC 3501 §5.1), in its canonical spelling `INBOX`; any other name as an astring.
    pub fn mailbox(&mut self, name: &[u8]) -> Result<(), WriteError> {
        if name.eq_ignore_ascii_case(b"INBOX") {
            self.raw(b"INBOX");
            Ok(())
        } else {
            self.astring(name)
        }
    }

    /// Writes an astring in the first form that carries it: atom, else quoted, else literal.
    pub fn astring(&mut self, value: &[u8]) -> Result<(), WriteError> {
        let atom = !value.is_empty()
            && value.iter().all(|&b| is_astring_char(b))
            && !value.eq_ignore_ascii_case(b"NIL")
            && value.first() != Some(&b'~');
        if atom {
            self.out.extend_from_slice(value);
            Ok(())
        } else {
            self.string(value)
        }
    }

    /// Writes a string (never an atom): quoted when it can be, else a literal.
    pub fn string(&mut self, value: &[u8]) -> Result<(), WriteError> {
        if memchr::memchr(0, value).is_some() {
            return Err(WriteError::Nul);
        }
        if value
            .iter()
            .all(|&b| is_quotable(b) && (self.utf8 || b.is_ascii()))
        {
            crate::lex::write_quoted(self.out, value);
        } else {
            let header = LiteralHeader {
                len: value.len() as u64,
                non_sync: false,
                binary: false,
            };
            header.write(self.out);
            self.out.extend_from_slice(b"\r\n");
            self.out.extend_from_slice(value);
        }
        Ok(())
    }

    /// Writes an nstring: `NIL` for `None`, else a string.
    pub fn nstring(&mut self, value: Option<&[u8]>) -> Result<(), WriteError> {
        match value {
            None => {
                self.out.extend_from_slice(b"NIL");
                Ok(())
            }
            Some(v) => self.string(v),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Status and continuation.

    /// Writes a status line: `tag` (or `*` for `None`), the status name, the code in brackets
    /// and the sanitised text. A code is checked by reading the line back.
    pub fn status(
        &mut self,
        tag: Option<&[u8]>,
        kind: StatusKind,
        code: Option<&Code<'_>>,
        text: &[u8],
    ) -> Result<(), WriteError> {
        if let Some(tag) = tag {
            if !kind.may_be_tagged() {
                return Err(WriteError::TaggedStatus(kind));
            }
            if tag.is_empty() || !tag.iter().all(|&b| is_tag_char(b)) {
                return Err(WriteError::Tag);
            }
        }
        let start = self.out.len();
        self.line(|w| {
            w.raw(tag.unwrap_or(b"*"));
            w.raw(b" ");
            w.raw(kind.as_bytes());
            w.raw(b" ");
            if let Some(code) = code {
                w.code(code);
                w.raw(b" ");
            }
            w.text(text, code.is_none());
            Ok(())
        })?;
        let Some(code) = code else { return Ok(()) };
        let read_back = match classify(&self.out[start..]) {
            Ok((Response::Tagged { status, .. }, _)) => status.code,
            Ok((Response::Untagged(Untagged::Status(status)), _)) => status.code,
            _ => None,
        };
        if read_back == Some(*code) {
            Ok(())
        } else {
            self.out.truncate(start);
            Err(WriteError::Code)
        }
    }

    /// Writes a continuation request with sanitised text: `+ text`.
    pub fn continuation(&mut self, text: &[u8]) {
        self.raw(b"+ ");
        self.text(text, true);
        self.raw(b"\r\n");
    }

    /// Writes a continuation request carrying base64 data (a SASL challenge): `+ data`.
    pub fn continuation_base64(&mut self, data: &[u8]) {
        self.raw(b"+ ");
        self.raw(BASE64.encode(data).as_bytes());
        self.raw(b"\r\n");
    }

    // -----------------------------------------------------------------------------------------
    // Untagged data.

    /// `* CAPABILITY atoms`.
    pub fn capability(&mut self, capabilities: &Atoms<'_>) {
        self.atoms_line(b"* CAPABILITY", capabilities);
    }

    /// `* ENABLED atoms` (RFC 5161).
    pub fn enabled(&mut self, capabilities: &Atoms<'_>) {
        self.atoms_line(b"* ENABLED", capabilities);
    }

    /// `* LIST (attributes) "d" mailbox` (or LSUB).
    pub fn list(
        &mut self,
        kind: ListKind,
        attributes: &Atoms<'_>,
        delimiter: Option<u8>,
        mailbox: &[u8],
    ) -> Result<(), WriteError> {
        self.list_with(kind, attributes, delimiter, mailbox, |_| Ok(()))
    }

    /// `* LIST (attributes) "d" mailbox ("CHILDINFO" ("criterion" ...))`: the RFC 5258 §3.5
    /// answer for a name whose children match the selection criteria (`SUBSCRIBED`) it does
    /// not match itself.
    pub fn list_childinfo(
        &mut self,
        attributes: &Atoms<'_>,
        delimiter: Option<u8>,
        mailbox: &[u8],
        criteria: &[&[u8]],
    ) -> Result<(), WriteError> {
        self.list_with(ListKind::List, attributes, delimiter, mailbox, |w| {
            w.raw(b" (\"CHILDINFO\" (");
            for (at, criterion) in criteria.iter().enumerate() {
                if at > 0 {
                    w.raw(b" ");
                }
                w.string(criterion)?;
            }
            w.raw(b"))");
            Ok(())
        })
    }

    /// A LIST or LSUB line, with whatever `extended` writes after the name.
    fn list_with(
        &mut self,
        kind: ListKind,
        attributes: &Atoms<'_>,
        delimiter: Option<u8>,
        mailbox: &[u8],
        extended: impl FnOnce(&mut Self) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        self.line(|w| {
            w.raw(match kind {
                ListKind::List => b"* LIST (",
                ListKind::Lsub => b"* LSUB (",
            });
            w.raw(attributes.as_bytes());
            w.raw(b") ");
            w.delimiter(delimiter)?;
            w.raw(b" ");
            w.mailbox(mailbox)?;
            extended(w)
        })
    }

    /// `* NAMESPACE personal other shared` (RFC 2342); an empty list is written as NIL.
    pub fn namespace(
        &mut self,
        personal: &[Namespace<'_>],
        other: &[Namespace<'_>],
        shared: &[Namespace<'_>],
    ) -> Result<(), WriteError> {
        self.line(|w| {
            w.raw(b"* NAMESPACE");
            for list in [personal, other, shared] {
                w.raw(b" ");
                if list.is_empty() {
                    w.raw(b"NIL");
                    continue;
                }
                w.raw(b"(");
                for ns in list {
                    w.raw(b"(");
                    w.string(ns.prefix)?;
                    w.raw(b" ");
                    w.delimiter(ns.delimiter)?;
                    w.raw(b")");
                }
                w.raw(b")");
            }
            Ok(())
        })
    }

    /// `* STATUS mailbox (name value ...)`; each item name must be an atom.
    pub fn mailbox_status(
        &mut self,
        mailbox: &[u8],
        items: &[(&[u8], u64)],
    ) -> Result<(), WriteError> {
        self.line(|w| {
            w.raw(b"* STATUS ");
            w.mailbox(mailbox)?;
            w.raw(b" (");
            for (at, &(name, value)) in items.iter().enumerate() {
                if name.is_empty() || !name.iter().all(|&b| is_atom_char(b)) {
                    return Err(WriteError::Atom);
                }
                if at > 0 {
                    w.raw(b" ");
                }
                w.raw(name);
                w.raw(b" ");
                write_decimal(w.out, value);
            }
            w.raw(b")");
            Ok(())
        })
    }

    /// `* ACL mailbox identifier rights ...` (RFC 4314).
    pub fn acl(&mut self, mailbox: &[u8], entries: &[(&[u8], &[u8])]) -> Result<(), WriteError> {
        self.mailbox_line(b"* ACL ", mailbox, |w| {
            entries
                .iter()
                .try_for_each(|&(identifier, rights)| w.astrings(&[identifier, rights]))
        })
    }

    /// `* MYRIGHTS mailbox rights` (RFC 4314).
    pub fn myrights(&mut self, mailbox: &[u8], rights: &[u8]) -> Result<(), WriteError> {
        self.mailbox_line(b"* MYRIGHTS ", mailbox, |w| w.astrings(&[rights]))
    }

    /// `* LISTRIGHTS mailbox identifier required optional...` (RFC 4314).
    pub fn listrights(
        &mut self,
        mailbox: &[u8],
        identifier: &[u8],
        required: &[u8],
        optional: &[&[u8]],
    ) -> Result<(), WriteError> {
        self.mailbox_line(b"* LISTRIGHTS ", mailbox, |w| {
            w.astrings(&[identifier, required])?;
            w.astrings(optional)
        })
    }

    /// `* ID (field value ...)` (RFC 2971), or `* ID NIL` when there are no fields.
    pub fn id(&mut self, fields: &[(&[u8], Option<&[u8]>)]) -> Result<(), WriteError> {
        self.line(|w| {
            if fields.is_empty() {
                w.raw(b"* ID NIL");
                return Ok(());
            }
            w.raw(b"* ID (");
            for (at, &(name, value)) in fields.iter().enumerate() {
                if at > 0 {
                    w.raw(b" ");
                }
                w.string(name)?;
                w.raw(b" ");
                w.nstring(value)?;
            }
            w.raw(b")");
            Ok(())
        })
    }

    // -----------------------------------------------------------------------------------------
    // Pieces.

    /// Runs `body`, then ends the line; on error, removes what `body` wrote.
    fn line(
        &mut self,
        body: impl FnOnce(&mut Self) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        let start = self.out.len();
        let result = body(self);
        match result {
            Ok(()) => self.raw(b"\r\n"),
            Err(_) => self.out.truncate(start),
        }
        result
    }

    /// `prefix mailbox` then whatever `rest` writes, as one line.
    fn mailbox_line(
        &mut self,
        prefix: &[u8],
        mailbox: &[u8],
        rest: impl FnOnce(&mut Self) -> Result<(), WriteError>,
    ) -> Result<(), WriteError> {
        self.line(|w| {
            w.raw(prefix);
            w.mailbox(mailbox)?;
            rest(w)
        })
    }

    /// ` astring` for each value.
    fn astrings(&mut self, values: &[&[u8]]) -> Result<(), WriteError> {
        values.iter().try_for_each(|v| {
            self.raw(b" ");
            self.astring(v)
        })
    }

    fn atoms_line(&mut self, name: &[u8], atoms: &Atoms<'_>) {
        self.raw(name);
        if !atoms.as_bytes().is_empty() {
            self.spaced(atoms.as_bytes());
        }
        self.raw(b"\r\n");
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// `"d"` (escaped as needed) or `NIL`.
    fn delimiter(&mut self, delimiter: Option<u8>) -> Result<(), WriteError> {
        match delimiter {
            None => self.raw(b"NIL"),
            Some(d) if d.is_ascii() && is_quotable(d) => {
                let escape: &[u8] = if d == b'"' || d == b'\\' { b"\\" } else { b"" };
                self.raw(b"\"");
                self.raw(escape);
                self.raw(&[d, b'"']);
            }
            Some(_) => return Err(WriteError::Delimiter),
        }
        Ok(())
    }

    /// Sanitised text (see the module doc); `may_look_like_code` when no code precedes it.
    fn text(&mut self, text: &[u8], may_look_like_code: bool) {
        if text.is_empty() {
            return self.raw(b".");
        }
        if may_look_like_code && text.first() == Some(&b'[') {
            self.raw(b" ");
        }
        let utf8 = self.utf8;
        self.out.extend(text.iter().map(|&b| match b {
            0 | b'\r' | b'\n' => b' ',
            0x80.. if !utf8 => b'?',
            _ => b,
        }));
    }

    /// `[NAME argument]`, unchecked: [`Self::status`] reads it back.
    fn code(&mut self, code: &Code<'_>) {
        self.raw(b"[");
        match *code {
            Code::Alert => self.raw(b"ALERT"),
            Code::BadCharset(argument) => self.named(b"BADCHARSET", argument),
            Code::Capability(ref atoms) => self.named(b"CAPABILITY", Some(atoms.as_bytes())),
            Code::Parse => self.raw(b"PARSE"),
            Code::PermanentFlags(ref atoms) => {
                self.raw(b"PERMANENTFLAGS (");
                self.raw(atoms.as_bytes());
                self.raw(b")");
            }
            Code::ReadOnly => self.raw(b"READ-ONLY"),
            Code::ReadWrite => self.raw(b"READ-WRITE"),
            Code::TryCreate => self.raw(b"TRYCREATE"),
            Code::UidNext(n) => self.numbered(b"UIDNEXT", n.into()),
            Code::UidValidity(n) => self.numbered(b"UIDVALIDITY", n.into()),
            Code::Unseen(n) => self.numbered(b"UNSEEN", n.into()),
            Code::AppendUid { uid_validity, uids } => {
                self.numbered(b"APPENDUID", uid_validity.into());
                self.spaced(uids);
            }
            Code::CopyUid {
                uid_validity,
                source,
                destination,
            } => {
                self.numbered(b"COPYUID", uid_validity.into());
                self.spaced(source);
                self.spaced(destination);
            }
            Code::Referral(urls) => self.named(b"REFERRAL", Some(urls)),
            Code::NonExistent => self.raw(b"NONEXISTENT"),
            Code::Unavailable => self.raw(b"UNAVAILABLE"),
            Code::AlreadyExists => self.raw(b"ALREADYEXISTS"),
            Code::NoPerm => self.raw(b"NOPERM"),
            Code::InUse => self.raw(b"INUSE"),
            Code::OverQuota => self.raw(b"OVERQUOTA"),
            Code::Closed => self.raw(b"CLOSED"),
            Code::HighestModSeq(n) => self.numbered(b"HIGHESTMODSEQ", n),
            Code::Other { atom, argument } => self.named(atom, argument),
        }
        self.raw(b"]");
    }

    /// `name [SP argument]`.
    fn named(&mut self, name: &[u8], argument: Option<&[u8]>) {
        self.raw(name);
        if let Some(argument) = argument {
            self.spaced(argument);
        }
    }

    /// `SP bytes`.
    fn spaced(&mut self, bytes: &[u8]) {
        self.raw(b" ");
        self.raw(bytes);
    }

    /// `name SP n`.
    fn numbered(&mut self, name: &[u8], n: u64) {
        self.raw(name);
        self.raw(b" ");
        write_decimal(self.out, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imap::response::{ListData, Status};
    use crate::lex::AString;

    /// Runs `write` on a fresh buffer and returns what it wrote.
    fn written(utf8: bool, write: impl FnOnce(&mut ResponseWriter<'_>)) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut ResponseWriter::new(&mut out, utf8));
        out
    }

    fn astring(value: &[u8], utf8: bool) -> Result<Vec<u8>, WriteError> {
        let mut out = Vec::new();
        ResponseWriter::new(&mut out, utf8).astring(value)?;
        Ok(out)
    }

    fn atoms(span: &[u8]) -> Atoms<'_> {
        Atoms::new(span).unwrap()
    }

    #[test]
    fn astring_forms() {
        let cases: [(&[u8], &[u8]); 10] = [
            (b"INBOX", b"INBOX"),
            (b"a]b", b"a]b"),
            (b"", b"\"\""),
            (b"nil", b"\"nil\""),
            (b"NILS", b"NILS"),
            (b"~/Mail", b"\"~/Mail\""),
            (b"a b", b"\"a b\""),
            (b"a\"b\\c", b"\"a\\\"b\\\\c\""),
            (b"a\r\nb", b"{4}\r\na\r\nb"),
            ("Entwürfe".as_bytes(), b"{9}\r\nEntw\xc3\xbcrfe"),
        ];
        for (value, wire) in cases {
            assert_eq!(astring(value, false).unwrap(), wire, "{value:?}");
        }
        assert_eq!(
            astring("Entwürfe".as_bytes(), true).unwrap(),
            "\"Entwürfe\"".as_bytes()
        );
        assert_eq!(astring(b"a\0b", false), Err(WriteError::Nul));
    }

    #[test]
    fn mailbox_names() {
        let out = written(false, |w| {
            for name in [
                &b"inbox"[..],
                b"INBOX",
                b"Inbox/Sent",
                b"NIL",
                b"Sent Items",
            ] {
                w.mailbox(name).unwrap();
                w.raw(b",");
            }
        });
        assert_eq!(out, b"INBOX,INBOX,Inbox/Sent,\"NIL\",\"Sent Items\",");
    }

    #[test]
    fn nstring() {
        let out = written(false, |w| {
            w.nstring(None).unwrap();
            w.nstring(Some(b"NIL")).unwrap();
            w.nstring(Some(b"x")).unwrap();
        });
        assert_eq!(out, b"NIL\"NIL\"\"x\"");
    }

    #[test]
    fn status_lines() {
        let out = written(false, |w| {
            let code = Code::ReadWrite;
            w.status(
                Some(b"a2"),
                StatusKind::Ok,
                Some(&code),
                b"SELECT completed",
            )
            .unwrap();
            w.status(None, StatusKind::Bye, None, b"going\r\n* OK injected")
                .unwrap();
            w.status(Some(b"a3"), StatusKind::No, None, b"").unwrap();
            w.status(None, StatusKind::Ok, None, b"[ALERT] not a code")
                .unwrap();
            w.status(None, StatusKind::Ok, None, "ü\0".as_bytes())
                .unwrap();
        });
        assert_eq!(
            out,
            &b"a2 OK [READ-WRITE] SELECT completed\r\n* BYE going  * OK injected\r\n\
               a3 NO .\r\n* OK  [ALERT] not a code\r\n* OK ?? \r\n"[..]
        );
    }

    #[test]
    fn status_errors_leave_the_buffer_alone() {
        let mut out = b"kept".to_vec();
        let mut w = ResponseWriter::new(&mut out, false);
        assert_eq!(
            w.status(Some(b"a1"), StatusKind::Bye, None, b"x"),
            Err(WriteError::TaggedStatus(StatusKind::Bye))
        );
        assert_eq!(
            w.status(Some(b"a+1"), StatusKind::Ok, None, b"x"),
            Err(WriteError::Tag)
        );
        assert_eq!(
            w.status(Some(b""), StatusKind::Ok, None, b"x"),
            Err(WriteError::Tag)
        );
        for bad in [
            Code::Other {
                atom: b"ALERT",
                argument: None,
            },
            Code::Referral(b"a] b"),
            Code::AppendUid {
                uid_validity: 1,
                uids: b"x",
            },
            Code::Other {
                atom: b"X Y",
                argument: None,
            },
        ] {
            assert_eq!(
                w.status(None, StatusKind::No, Some(&bad), b"x"),
                Err(WriteError::Code),
                "{bad:?}"
            );
        }
        assert_eq!(out, b"kept");
    }

    #[test]
    fn codes_read_back() {
        let codes = [
            Code::Alert,
            Code::BadCharset(Some(b"(UTF-8)")),
            Code::Capability(atoms(b"IMAP4rev1 LITERAL+")),
            Code::PermanentFlags(atoms(b"\\Seen \\*")),
            Code::UidNext(7),
            Code::UidValidity(u32::MAX),
            Code::Unseen(3),
            Code::AppendUid {
                uid_validity: 38505,
                uids: b"3955",
            },
            Code::CopyUid {
                uid_validity: 38505,
                source: b"304,319:320",
                destination: b"3956:3958",
            },
            Code::Referral(b"imap://;AUTH=*@b1/user.x"),
            Code::HighestModSeq(u64::MAX >> 1),
            Code::NoPerm,
            Code::Other {
                atom: b"X-OK",
                argument: Some(b"(a b)"),
            },
        ];
        for code in codes {
            let out = written(false, |w| {
                w.status(Some(b"t"), StatusKind::Ok, Some(&code), b"done")
                    .unwrap()
            });
            let status = Status {
                kind: StatusKind::Ok,
                code: Some(code),
                text: b"done",
            };
            assert_eq!(
                classify(&out),
                Ok((Response::Tagged { tag: b"t", status }, out.len()))
            );
        }
    }

    #[test]
    fn continuations() {
        let out = written(false, |w| {
            w.continuation(b"idling");
            w.continuation_base64(b"");
            w.continuation_base64(b"<1896.697170952@postoffice.example.net>");
        });
        assert_eq!(
            out,
            &b"+ idling\r\n+ \r\n+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n"[..]
        );
    }

    #[test]
    fn capability_enabled_id() {
        let out = written(false, |w| {
            w.capability(&atoms(b"IMAP4rev1 IDLE"));
            w.enabled(&Atoms::default());
            w.id(&[]).unwrap();
            w.id(&[(b"name", Some(b"corvid")), (b"os", None)]).unwrap();
        });
        assert_eq!(
            out,
            &b"* CAPABILITY IMAP4rev1 IDLE\r\n* ENABLED\r\n* ID NIL\r\n* ID (\"name\" \"corvid\" \"os\" NIL)\r\n"[..]
        );
    }

    #[test]
    fn list_childinfo_line() {
        let out = written(false, |w| {
            w.list_childinfo(&Atoms::default(), Some(b'/'), b"Foo", &[b"SUBSCRIBED"])
                .unwrap();
        });
        assert_eq!(
            out,
            &b"* LIST () \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"[..]
        );
        let (r, used) = classify(&out).unwrap();
        assert_eq!(used, out.len());
        let Response::Untagged(Untagged::List(list)) = r else {
            panic!("not a LIST: {r:?}");
        };
        assert_eq!(list.extended, b"(\"CHILDINFO\" (\"SUBSCRIBED\"))");
    }

    #[test]
    fn list_lines() {
        let out = written(false, |w| {
            w.list(
                ListKind::List,
                &atoms(b"\\HasNoChildren"),
                Some(b'/'),
                b"INBOX",
            )
            .unwrap();
            w.list(ListKind::Lsub, &Atoms::default(), Some(b'\\'), b"a b")
                .unwrap();
            w.list(ListKind::List, &atoms(b"\\Noselect"), None, b"")
                .unwrap();
        });
        assert_eq!(
            out,
            &b"* LIST (\\HasNoChildren) \"/\" INBOX\r\n* LSUB () \"\\\\\" \"a b\"\r\n* LIST (\\Noselect) NIL \"\"\r\n"[..]
        );
        let (r, _) = classify(&out).unwrap();
        let list = ListData {
            attributes: atoms(b"\\HasNoChildren"),
            delimiter: Some(b'/'),
            mailbox: AString::Atom(b"INBOX"),
            extended: b"",
        };
        assert_eq!(r, Response::Untagged(Untagged::List(list)));
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, false);
        assert_eq!(
            w.list(ListKind::List, &Atoms::default(), Some(b'\n'), b"x"),
            Err(WriteError::Delimiter)
        );
        assert_eq!(
            w.list(ListKind::List, &Atoms::default(), Some(0xc3), b"x"),
            Err(WriteError::Delimiter)
        );
        assert_eq!(
            w.list(ListKind::List, &Atoms::default(), Some(b'/'), b"a\0"),
            Err(WriteError::Nul)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn namespace() {
        let personal = [Namespace {
            prefix: b"",
            delimiter: Some(b'/'),
        }];
        let shared = [
            Namespace {
                prefix: b"#shared/",
                delimiter: Some(b'/'),
            },
            Namespace {
                prefix: b"#news.",
                delimiter: Some(b'.'),
            },
        ];
        let out = written(false, |w| {
            w.namespace(&personal, &[], &shared).unwrap();
            w.namespace(&[], &[], &[]).unwrap();
        });
        assert_eq!(
            out,
            &b"* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\")(\"#news.\" \".\"))\r\n* NAMESPACE NIL NIL NIL\r\n"[..]
        );
    }

    #[test]
    fn mailbox_lines() {
        let out = written(false, |w| {
            w.mailbox_status(b"blurdybloop", &[(b"MESSAGES", 231), (b"UIDNEXT", 44292)])
                .unwrap();
            w.acl(b"INBOX", &[(b"Fred", b"rwipslxetad"), (b"-group:x y", b"")])
                .unwrap();
            w.myrights(b"Sent Items", b"lrs").unwrap();
            w.listrights(b"~/Mail/saved", b"smith", b"la", &[b"r", b"swicdkxte"])
                .unwrap();
        });
        assert_eq!(
            out,
            &b"* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n\
               * ACL INBOX Fred rwipslxetad \"-group:x y\" \"\"\r\n\
               * MYRIGHTS \"Sent Items\" lrs\r\n\
               * LISTRIGHTS \"~/Mail/saved\" smith la r swicdkxte\r\n"[..]
        );
        let mut out = Vec::new();
        let mut w = ResponseWriter::new(&mut out, false);
        assert_eq!(
            w.mailbox_status(b"x", &[(b"A B", 1)]),
            Err(WriteError::Atom)
        );
        assert!(out.is_empty());
    }
}
