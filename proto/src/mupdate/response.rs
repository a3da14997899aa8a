//! Server-to-client responses: mailbox records and status lines, and the SASL challenges.
//!
//! A master encodes these ([`Response::encode`]) and a follower or backend agent decodes them
//! ([`Response::decode`], and [`AuthReply::decode`] while an AUTHENTICATE is under way). Every
//! response carries the tag of the command it answers; only status lines may be untagged (`*`).
//! Output is in Cyrus's form: record fields as `{n+}` literals, status text quoted (or a literal
//! when it cannot be quoted). Input may use any string form, bare atoms and unquoted text
//! included.

use super::reason::Reason;
use super::sasl::decode_base64;
use super::wire::{Limits, Reader, Stop, write_literal, write_string};
use super::{DecodeError, Decoded, decoded};

/// One mailbox record, as LIST, FIND and UPDATE report it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Record {
    /// `MAILBOX name location acl`: an active mailbox.
    Mailbox {
        /// The mailbox name (Cyrus internal form).
        name: Vec<u8>,
        /// Where it lives, `server!partition`.
        location: Vec<u8>,
        /// Its ACL string, kept byte for byte.
        acl: Vec<u8>,
    },
    /// `RESERVE name location`: a name taken but not (or no longer) active.
    Reserve {
        /// The mailbox name.
        name: Vec<u8>,
        /// Where it is reserved, `server!partition`.
        location: Vec<u8>,
    },
    /// `DELETE name`: the name is gone (only streamed after UPDATE's OK).
    Delete {
        /// The mailbox name.
        name: Vec<u8>,
    },
}

impl Record {
    /// The mailbox name the record is about.
    pub fn name(&self) -> &[u8] {
        match self {
            Record::Mailbox { name, .. }
            | Record::Reserve { name, .. }
            | Record::Delete { name } => name,
        }
    }

    /// The record with its fields borrowed.
    pub fn as_ref(&self) -> RecordRef<'_> {
        match self {
            Record::Mailbox {
                name,
                location,
                acl,
            } => RecordRef::Mailbox {
                name,
                location,
                acl,
            },
            Record::Reserve { name, location } => RecordRef::Reserve { name, location },
            Record::Delete { name } => RecordRef::Delete { name },
        }
    }
}

/// A record whose fields are borrowed from wherever they live, so that a master can send its
/// table without copying it ([`RecordRef::encode`] writes what [`Response::encode`] writes for
/// the owned [`Record`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordRef<'a> {
    /// `MAILBOX name location acl`.
    Mailbox {
        /// The mailbox name.
        name: &'a [u8],
        /// `server!partition`.
        location: &'a [u8],
        /// The ACL string.
        acl: &'a [u8],
    },
    /// `RESERVE name location`.
    Reserve {
        /// The mailbox name.
        name: &'a [u8],
        /// `server!partition`.
        location: &'a [u8],
    },
    /// `DELETE name`.
    Delete {
        /// The mailbox name.
        name: &'a [u8],
    },
}

impl RecordRef<'_> {
    /// Writes the record as a response to the command tagged `tag`, in Cyrus's form (fields as
    /// `{n+}` literals), CRLF included.
    pub fn encode(&self, tag: &[u8], out: &mut Vec<u8>) {
        let (keyword, fields, count): (&[u8], [&[u8]; 3], usize) = match *self {
            RecordRef::Mailbox {
                name,
                location,
                acl,
            } => (b"MAILBOX", [name, location, acl], 3),
            RecordRef::Reserve { name, location } => (b"RESERVE", [name, location, b""], 2),
            RecordRef::Delete { name } => (b"DELETE", [name, b"", b""], 1),
        };
        out.extend_from_slice(tag);
        out.push(b' ');
        out.extend_from_slice(keyword);
        for field in &fields[..count] {
            out.push(b' ');
            write_literal(out, field);
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// The condition a status line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK`: the command succeeded (after UPDATE: streaming starts).
    Ok,
    /// `NO`: the command was refused.
    No,
    /// `BAD`: the command could not be parsed or is not allowed now.
    Bad,
    /// `BYE`: the server closes the connection.
    Bye,
}

impl Status {
    fn keyword(self) -> &'static [u8] {
        match self {
            Status::Ok => b"OK",
            Status::No => b"NO",
            Status::Bad => b"BAD",
            Status::Bye => b"BYE",
        }
    }
}

/// A response from the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Response {
    /// A mailbox record, tagged with the FIND, LIST or UPDATE it answers.
    Record {
        /// The command's tag.
        tag: Vec<u8>,
        /// The record.
        record: Record,
    },
    /// A status line: tagged, or untagged (`*`) when no tag is known.
    Status {
        /// The command's tag, `None` for `*`.
        tag: Option<Vec<u8>>,
        /// OK, NO, BAD or BYE.
        status: Status,
        /// The human-readable text (Cyrus's words: see [`Reason`]).
        text: Vec<u8>,
    },
}

impl Response {
    /// A tagged status line with one of Cyrus's texts.
    pub fn tagged(tag: &[u8], status: Status, reason: Reason) -> Self {
        Response::Status {
            tag: Some(tag.to_vec()),
            status,
            text: reason.as_str().as_bytes().to_vec(),
        }
    }

    /// An untagged status line with one of Cyrus's texts, such as `* BYE "Server Unable"`.
    pub fn untagged(status: Status, reason: Reason) -> Self {
        Response::Status {
            tag: None,
            status,
            text: reason.as_str().as_bytes().to_vec(),
        }
    }

    /// Writes the response as a Cyrus master does, CRLF included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Response::Record { tag, record } => record.as_ref().encode(tag, out),
            Response::Status { tag, status, text } => {
                out.extend_from_slice(tag.as_deref().unwrap_or(b"*"));
                out.push(b' ');
                out.extend_from_slice(status.keyword());
                out.push(b' ');
                write_string(out, text);
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// Decodes one response at the front of `input`.
    pub fn decode(input: &[u8], limits: Limits) -> Result<Decoded<Response>, DecodeError> {
        let mut reader = Reader::new(input, limits);
        decoded(read_response(&mut reader).map(|r| (r, reader.pos())))
    }
}

/// Reads `SP string` `N` times, then the line end.
pub(crate) fn fields<const N: usize>(reader: &mut Reader<'_>) -> Result<[Vec<u8>; N], Stop> {
    let mut out: [Vec<u8>; N] = std::array::from_fn(|_| Vec::new());
    for field in &mut out {
        reader.sp()?;
        *field = reader.string()?;
    }
    reader.line_end()?;
    Ok(out)
}

/// Reads a status line's text: a string, or (leniently) the raw rest of the line, which may not
/// hold NUL (no string can); none at all is the empty text.
pub(crate) fn status_text(reader: &mut Reader<'_>) -> Result<Vec<u8>, Stop> {
    if reader.at_line_end()? {
        reader.line_end()?;
        return Ok(Vec::new());
    }
    reader.sp()?;
    if matches!(reader.peek()?, b'"' | b'{') {
        let text = reader.string()?;
        reader.line_end()?;
        Ok(text)
    } else {
        match reader.text_to_line_end()? {
            text if text.contains(&0) => Err(Stop::Syntax),
            text => Ok(text.to_vec()),
        }
    }
}

fn read_response(reader: &mut Reader<'_>) -> Result<Response, Stop> {
    let tag = reader.tag_or_star()?;
    reader.sp()?;
    let keyword = reader.atom()?.to_ascii_uppercase();
    let status = match keyword.as_slice() {
        b"OK" => Status::Ok,
        b"NO" => Status::No,
        b"BAD" => Status::Bad,
        b"BYE" => Status::Bye,
        _ => return read_record(reader, tag, &keyword),
    };
    Ok(Response::Status {
        tag: (tag != b"*").then(|| tag.to_vec()),
        status,
        text: status_text(reader)?,
    })
}

fn read_record(reader: &mut Reader<'_>, tag: &[u8], keyword: &[u8]) -> Result<Response, Stop> {
    if tag == b"*" {
        return Err(Stop::Syntax);
    }
    let record = match keyword {
        b"MAILBOX" => {
            let [name, location, acl] = fields(reader)?;
            Record::Mailbox {
                name,
                location,
                acl,
            }
        }
        b"RESERVE" => {
            let [name, location] = fields(reader)?;
            Record::Reserve { name, location }
        }
        b"DELETE" => {
            let [name] = fields(reader)?;
            Record::Delete { name }
        }
        _ => return Err(Stop::Syntax),
    };
    Ok(Response::Record {
        tag: tag.to_vec(),
        record,
    })
}

/// What a client reads while its AUTHENTICATE is under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthReply {
    /// A SASL challenge (decoded from its bare base64 line; an empty line is an empty one).
    Challenge(Vec<u8>),
    /// The response that ends the exchange: the AUTHENTICATE's `OK`, `NO` or `BAD`.
    Done(Response),
}

impl AuthReply {
    /// Decodes one reply at the front of `input`: a challenge line, or a response. A response
    /// line always holds a space after its tag; base64 never does.
    pub fn decode(input: &[u8], limits: Limits) -> Result<Decoded<AuthReply>, DecodeError> {
        let first_line = memchr::memchr(b'\n', input).map_or(input, |lf| &input[..lf]);
        if first_line.contains(&b' ') {
            return Response::decode(input, limits).map(|d| d.map(AuthReply::Done));
        }
        let mut reader = Reader::new(input, limits);
        let read = reader.text_to_line_end().and_then(|text| {
            decode_base64(text)
                .map(|data| (AuthReply::Challenge(data), reader.pos()))
                .ok_or(Stop::Syntax)
        });
        decoded(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8]) -> Result<Decoded<Response>, DecodeError> {
        Response::decode(input, Limits::default())
    }

    fn done(input: &[u8]) -> Response {
        match decode(input) {
            Ok(Decoded::Done { value, consumed }) => {
                assert_eq!(consumed, input.len(), "{input:?}");
                value
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn cyrus_record_is_literals() {
        let response = Response::Record {
            tag: b"X1".to_vec(),
            record: Record::Mailbox {
                name: b"user.bob".to_vec(),
                location: b"be1!default".to_vec(),
                acl: b"bob\tlrswipkxtecdan\t".to_vec(),
            },
        };
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(
            out,
            b"X1 MAILBOX {8+}\r\nuser.bob {11+}\r\nbe1!default {19+}\r\nbob\tlrswipkxtecdan\t\r\n"
        );
        assert_eq!(done(&out), response);
    }

    #[test]
    fn rfc_forms_decode() {
        assert_eq!(
            done(b"L01 RESERVE \"user.rjs3\" \"mail4.example.org!u2\"\r\n"),
            Response::Record {
                tag: b"L01".to_vec(),
                record: Record::Reserve {
                    name: b"user.rjs3".to_vec(),
                    location: b"mail4.example.org!u2".to_vec()
                }
            }
        );
        assert_eq!(
            done(b"U01 delete user.x\r\n"),
            Response::Record {
                tag: b"U01".to_vec(),
                record: Record::Delete {
                    name: b"user.x".to_vec()
                }
            }
        );
    }

    #[test]
    fn status_text_forms() {
        let ok = |text: &[u8]| Response::Status {
            tag: Some(b"S01".to_vec()),
            status: Status::Ok,
            text: text.to_vec(),
        };
        assert_eq!(done(b"S01 OK \"bye-bye\"\r\n"), ok(b"bye-bye"));
        assert_eq!(done(b"S01 OK Begin TLS now\r\n"), ok(b"Begin TLS now"));
        assert_eq!(done(b"S01 OK {3}\r\na\"b\r\n"), ok(b"a\"b"));
        assert_eq!(done(b"S01 OK\r\n"), ok(b""));
        assert_eq!(
            done(b"* BYE \"Server Unable\"\r\n"),
            Response::untagged(Status::Bye, Reason::ServerUnable)
        );
        let mut out = Vec::new();
        Response::tagged(b"Q01", Status::Ok, Reason::ByeBye).encode(&mut out);
        assert_eq!(out, b"Q01 OK \"bye-bye\"\r\n");
    }

    #[test]
    fn malformed_responses() {
        for input in [
            &b"* MAILBOX \"a\" \"b\" \"c\"\r\n"[..],
            b"X1 FROB \"a\"\r\n",
            b"X1 DELETE \"a\" \"b\"\r\n",
            b"X1 RESERVE \"a\"\r\n",
            b"X1 OK \"a\" b\r\n",
            b"X1 OK a\0b\r\n",
            b"+ go ahead\r\n",
        ] {
            assert_eq!(decode(input), Err(DecodeError::Malformed), "{input:?}");
        }
    }

    #[test]
    fn auth_replies() {
        let limits = Limits::default();
        assert_eq!(
            AuthReply::decode(b"\r\n", limits),
            Ok(Decoded::Done {
                value: AuthReply::Challenge(Vec::new()),
                consumed: 2
            })
        );
        assert_eq!(
            AuthReply::decode(b"YWJj\r\nA01", limits),
            Ok(Decoded::Done {
                value: AuthReply::Challenge(b"abc".to_vec()),
                consumed: 6
            })
        );
        assert_eq!(AuthReply::decode(b"YWJj", limits), Ok(Decoded::Incomplete));
        assert_eq!(
            AuthReply::decode(b"A01 OK", limits),
            Ok(Decoded::Incomplete)
        );
        assert_eq!(
            AuthReply::decode(b"A01 OK \"Authenticated\"\r\n", limits),
            Ok(Decoded::Done {
                value: AuthReply::Done(Response::tagged(b"A01", Status::Ok, Reason::Authenticated)),
                consumed: 24
            })
        );
        assert_eq!(
            AuthReply::decode(b"!!\r\n", limits),
            Err(DecodeError::Malformed)
        );
    }
}
