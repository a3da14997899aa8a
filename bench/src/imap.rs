//! The bench client's IMAP, sans I/O: the commands each step sends, and a reader that finds
//! the greeting, continuations and tagged completions in what a server sends back.
//!
//! Responses are cut by corvid-proto's [`Framer`] (literals of any size pass through in
//! chunks, never gathered) and classified by its [`classify`]; untagged data is skipped. The
//! reader holds only the bytes not yet consumed, which the framer bounds.

use corvid_proto::imap::framer::{Frame, FrameError, Framer};
use corvid_proto::imap::response::{Response, ResponseError, StatusKind, Untagged, classify};
use corvid_proto::lex::{is_astring_char, is_quotable};

use crate::scenario::Step;

/// What the server said that the client waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The greeting: `* OK` or `* PREAUTH`.
    Greeting,
    /// A continuation request (`+ ...`).
    Continuation,
    /// The tagged completion of the command waited for: OK, or NO/BAD with its text.
    Completed(Result<(), String>),
}

/// A server's bytes the client cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The framer refused a line or literal.
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    /// A line is not an IMAP response.
    #[error("unreadable response {line:?}: {error}")]
    Unreadable {
        /// The line (lossy, cut to 80 bytes).
        line: String,
        /// Why.
        error: ResponseError,
    },
    /// The greeting was `* BYE` (or something other than OK/PREAUTH).
    #[error("refused at greeting: {0}")]
    Refused(String),
    /// A tagged completion carried another tag than the command's.
    #[error("completion for tag {got:?} while waiting for {expected:?}")]
    WrongTag {
        /// The tag received.
        got: String,
        /// The tag waited for.
        expected: String,
    },
}

/// Reads what the client waits for out of the server's bytes (see the module doc).
#[derive(Debug, Default)]
pub struct Replies {
    framer: Framer,
    buf: Vec<u8>,
}

impl Replies {
    /// Appends bytes read from the server.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Forgets everything (a new connection).
    pub fn reset(&mut self) {
        *self = Replies::default();
    }

    /// The next event: the greeting when `tag` is `None`, else a continuation or the
    /// completion tagged `tag`. `Ok(None)`: read more.
    pub fn next(&mut self, tag: Option<&[u8]>) -> Result<Option<Event>, ReplyError> {
        loop {
            let Some(frame) = self.framer.next(&self.buf)? else {
                return Ok(None);
            };
            let consumed = frame.bytes().len();
            let event = match frame {
                Frame::Line {
                    bytes, first: true, ..
                } => Self::event(bytes, tag)?,
                _ => None,
            };
            self.buf.drain(..consumed);
            if event.is_some() {
                return Ok(event);
            }
        }
    }

    /// The event a message's first line makes, if any.
    fn event(line: &[u8], tag: Option<&[u8]>) -> Result<Option<Event>, ReplyError> {
        let (response, _) = classify(line).map_err(|error| ReplyError::Unreadable {
            line: lossy(line),
            error,
        })?;
        Ok(match (response, tag) {
            (Response::Untagged(Untagged::Status(status)), None) => match status.kind {
                StatusKind::Ok | StatusKind::Preauth => Some(Event::Greeting),
                _ => return Err(ReplyError::Refused(lossy(line))),
            },
            (Response::Continuation { .. }, Some(_)) => Some(Event::Continuation),
            (Response::Tagged { tag: got, status }, Some(expected)) => {
                if got != expected {
                    return Err(ReplyError::WrongTag {
                        got: lossy(got),
                        expected: lossy(expected),
                    });
                }
                Some(Event::Completed(match status.kind {
                    StatusKind::Ok => Ok(()),
                    _ => Err(lossy(line)),
                }))
            }
            _ => None,
        })
    }
}

/// `bytes` as text for a message: lossy UTF-8, cut to 80 bytes, without the line end.
fn lossy(bytes: &[u8]) -> String {
    let cut = bytes.get(..80).unwrap_or(bytes);
    String::from_utf8_lossy(cut).trim_end().to_owned()
}

/// Credentials that can go on a LOGIN line: each as an atom or a quoted string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} must be ASCII without CR, LF or NUL (the bench sends it quoted, not as a literal)")]
pub struct CredentialsError(&'static str);

/// The arguments of the bench's LOGIN, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    login_args: Vec<u8>,
}

impl Credentials {
    /// The user name and password, written as IMAP astrings.
    pub fn new(user: &str, password: &str) -> Result<Credentials, CredentialsError> {
        let mut login_args = Vec::new();
        push_astring(&mut login_args, user.as_bytes()).ok_or(CredentialsError("the user"))?;
        login_args.push(b' ');
        push_astring(&mut login_args, password.as_bytes())
            .ok_or(CredentialsError("the password"))?;
        Ok(Credentials { login_args })
    }
}

/// Appends `value` as an atom or a quoted string; `None` if it can be neither.
fn push_astring(out: &mut Vec<u8>, value: &[u8]) -> Option<()> {
    if !value.is_empty() && value.iter().all(|&b| is_astring_char(b)) {
        out.extend_from_slice(value);
        return Some(());
    }
    if !value.iter().all(|&b| is_quotable(b) && b.is_ascii()) {
        return None;
    }
    corvid_proto::lex::write_quoted(out, value);
    Some(())
}

/// Appends the command line of `step` tagged `tag` (CRLF included); `None` for the steps that
/// send no command (`connect`, `close`). An APPEND line announces a synchronizing literal of
/// `append_size` bytes: the message ([`message`]) follows the server's `+`.
pub fn command(
    out: &mut Vec<u8>,
    step: Step,
    tag: &[u8],
    credentials: &Credentials,
    append_size: usize,
) -> Option<()> {
    let rest: &[u8] = match step {
        Step::Connect | Step::Close => return None,
        Step::Login => {
            out.extend_from_slice(tag);
            out.extend_from_slice(b" LOGIN ");
            out.extend_from_slice(&credentials.login_args);
            out.extend_from_slice(b"\r\n");
            return Some(());
        }
        Step::Append => {
            out.extend_from_slice(tag);
            out.extend_from_slice(format!(" APPEND INBOX {{{append_size}}}\r\n").as_bytes());
            return Some(());
        }
        Step::Select => b"SELECT INBOX",
        Step::Noop => b"NOOP",
        Step::Fetch => b"FETCH 1 (UID FLAGS)",
        Step::FetchHeaders => b"FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])",
        Step::Status => b"STATUS INBOX (MESSAGES)",
        Step::Idle => b"IDLE",
        Step::Logout => b"LOGOUT",
    };
    out.extend_from_slice(tag);
    out.push(b' ');
    out.extend_from_slice(rest);
    out.extend_from_slice(b"\r\n");
    Some(())
}

/// A message of exactly `size` bytes for APPEND (then the CRLF that ends the command line):
/// a few headers, then lines of text, cut to size.
pub fn message(size: usize) -> Vec<u8> {
    let mut message = b"From: bench@example.org\r\nTo: user@example.org\r\n\
        Subject: corvid bench\r\nMessage-ID: <bench@example.org>\r\n\r\n"
        .to_vec();
    let line = b"The quick brown fox jumps over the lazy dog, again and again.\r\n";
    while message.len() < size {
        message.extend_from_slice(line);
    }
    message.truncate(size);
    // A cut that leaves a lone CR at the end would join the command's CRLF oddly.
    if let Some(last) = message.last_mut()
        && *last == b'\r'
    {
        *last = b'.';
    }
    message.extend_from_slice(b"\r\n");
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(replies: &mut Replies, tag: Option<&[u8]>) -> Vec<Event> {
        std::iter::from_fn(|| replies.next(tag).unwrap()).collect()
    }

    #[test]
    fn greeting_then_completions_skipping_untagged_data_and_literals() {
        let mut replies = Replies::default();
        replies.push(b"* OK [CAPABILITY IMAP4rev1] ready\r\n* 1 FETCH (BODY[HEADER] {5}\r\nab");
        assert_eq!(events(&mut replies, None), vec![Event::Greeting]);
        assert_eq!(events(&mut replies, Some(b"a1")), vec![]);
        replies.push(b"c\r\n)\r\n+ go\r\na1 OK done\r\na2 NO [ALERT] over quota\r\n");
        for expected in [Event::Continuation, Event::Completed(Ok(()))] {
            assert_eq!(replies.next(Some(b"a1")).unwrap(), Some(expected));
        }
        assert_eq!(
            replies.next(Some(b"a2")).unwrap(),
            Some(Event::Completed(Err("a2 NO [ALERT] over quota".into())))
        );
        assert_eq!(replies.next(Some(b"a3")).unwrap(), None);
    }

    #[test]
    fn what_the_client_cannot_follow() {
        let mut replies = Replies::default();
        replies.push(b"* BYE too busy\r\n");
        assert!(matches!(replies.next(None), Err(ReplyError::Refused(_))));
        replies.reset();
        replies.push(b"a9 OK stray\r\n");
        assert!(matches!(
            replies.next(Some(b"a1")),
            Err(ReplyError::WrongTag { .. })
        ));
        replies.reset();
        replies.push(b"\x01\x02 nonsense\r\n");
        assert!(matches!(
            replies.next(None),
            Err(ReplyError::Unreadable { .. })
        ));
    }

    #[test]
    fn commands_and_credentials() {
        let credentials = Credentials::new("john", "a \"b\"\\").unwrap();
        let mut out = Vec::new();
        command(&mut out, Step::Login, b"a1", &credentials, 0).unwrap();
        command(&mut out, Step::Append, b"a2", &credentials, 4096).unwrap();
        command(&mut out, Step::Noop, b"a3", &credentials, 0).unwrap();
        assert_eq!(
            command(&mut out, Step::Connect, b"a4", &credentials, 0),
            None
        );
        assert_eq!(
            out,
            b"a1 LOGIN john \"a \\\"b\\\"\\\\\"\r\na2 APPEND INBOX {4096}\r\na3 NOOP\r\n"
        );
        assert!(Credentials::new("", "x").is_ok());
        assert!(Credentials::new("john", "bad\r\n").is_err());
        assert!(Credentials::new("jöhn", "x").is_err());
    }

    #[test]
    fn messages_have_the_size_asked_for() {
        for size in [1, 10, 200, 4096, 10_000] {
            let message = message(size);
            assert_eq!(message.len(), size + 2);
            assert!(message.ends_with(b"\r\n"));
            assert_ne!(message.get(size - 1), Some(&b'\r'));
        }
    }
}
