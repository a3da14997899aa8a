//! The streaming framer: stage one of the proxy's IMAP handling, which cuts a byte stream into
//! lines and literals without ever gathering a literal's payload.
//!
//! The same framing serves both directions (client commands and backend responses): a message is
//! a line, and when that line ends in a literal header (`{n}`, `{n+}`, `~{n}`, `~{n+}`) the
//! literal's payload and then another line follow, and so on until a line that announces no
//! literal. The framer knows nothing of commands; `DONE` after IDLE or an AUTHENTICATE response
//! line is simply a one-line message.
//!
//! # Driving it
//!
//! The caller keeps the unconsumed bytes of its socket in a buffer and asks [`Framer::next`] for
//! the event at the front of that buffer. An event ([`Frame`]) borrows from the buffer and
//! consumes exactly [`Frame::bytes`]; the caller drops those bytes before the next call and
//! appends what it reads. `Ok(None)` means "read more": nothing was consumed. Between calls the
//! buffer must keep the bytes the framer left (more may be appended): the framer remembers how far
//! it has searched a partial line and never searches those bytes again, so the work is linear in
//! the input however it is split into reads.
//!
//! A client sends a synchronizing literal's payload only after a `+`; when the proxy (or the
//! backend) answers a tagged NO or BAD instead, [`Framer::refuse_literal`] ends the message.
//!
//! ```
//! use corvid_proto::imap::framer::{Frame, Framer, LineEnd};
//!
//! let mut framer = Framer::default();
//! let mut buf = b"a1 APPEND INBOX {5+}\r\nHel".to_vec();
//! let Ok(Some(Frame::Line { first: true, then: LineEnd::Literal(header), .. })) = framer.next(&buf)
//! else { panic!() };
//! assert_eq!(header.len, 5);
//! buf.drain(..22);
//! assert_eq!(framer.next(&buf), Ok(Some(Frame::LiteralChunk(b"Hel"))));
//! buf.clear();
//! assert_eq!(framer.next(&buf), Ok(None)); // the rest has not arrived
//! buf.extend_from_slice(b"lo\r\n");
//! assert_eq!(framer.next(&buf), Ok(Some(Frame::LiteralChunk(b"lo"))));
//! ```
//!
//! # Limits and errors
//!
//! Memory is bounded by [`FramerLimits`]: the framer never leaves more than
//! [`Framer::max_pending`] bytes unconsumed while it asks for more. A literal's payload passes
//! through in chunks of whatever the buffer holds.
//!
//! Every byte comes back in exactly one event, in order, so the events' bytes put together are
//! the input, however it was split into reads (until a fatal error, below). After an error the
//! framer goes on as follows; the error carries the message's tag when it is known, so the proxy
//! can answer `tag BAD`:
//!
//! * [`FrameError::LineTooLong`]: the rest of the message is *discarded*: the rest of the line,
//!   and, if it ends in a non-synchronizing literal, that payload and the lines after it, come
//!   as [`Frame::Discarded`] until the message ends. A synchronizing literal in a discarded
//!   message ends it, since the peer waits for a `+` that will not come.
//! * [`FrameError::LiteralTooLarge`] or [`FrameError::LiteralLengthOverflow`] for a
//!   synchronizing literal (`{n}`): the literal is refused; the announcing line comes next as
//!   [`Frame::Discarded`], then the message has ended and framing resumes at the next line.
//! * the same for a non-synchronizing literal (`{n+}`): it cannot be refused, the peer sends it
//!   anyway, and skipping a payload over the limit would let a hostile peer hold the connection
//!   as long as it likes. [`FrameError::must_close`] is true, and the framer returns the same
//!   error from then on: close the connection. (In a message already being discarded, the
//!   announcing line comes as [`Frame::Discarded`] before the error.)
//!
//! A peer that sends responses (a backend) never waits for `+`, so on a backend stream every
//! error should be treated as fatal.
//!
//! A line end is CRLF or, as a quirk (see [`crate::lex::crlf`]), a bare LF. A CR alone ends
//! nothing. A line that is discarded for its length is checked for a literal header in its last
//! [`LONG_LINE_TAIL`] bytes only.

use memchr::memchr;

use crate::lex::{self, LiteralHeader};

/// How much a [`Framer`] may hold back: the longest line and the largest literal it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramerLimits {
    /// The longest line accepted, line end included. The default is 64 KiB: real commands are
    /// far shorter, but a UID set or a SEARCH can run to kilobytes, and an untagged response
    /// (FETCH ENVELOPE, a big LIST) to tens of kilobytes.
    pub max_line: usize,
    /// The largest literal payload accepted. The default is 64 MiB, above the message size
    /// limits mail systems usually set (tens of MiB).
    pub max_literal: u64,
}

impl Default for FramerLimits {
    fn default() -> Self {
        Self {
            max_line: 64 * 1024,
            max_literal: 64 * 1024 * 1024,
        }
    }
}

/// How many bytes at the end of an over-long line (line end excluded) are checked for a literal
/// header; the framer holds back these and a CR while it discards such a line. The longest
/// header without leading zeros, `~{9223372036854775807+}`, fits.
pub const LONG_LINE_TAIL: usize = 32;

/// A message's tag (the first token of its first line), kept inline for error replies.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    len: u8,
    bytes: [u8; Tag::CAPACITY],
}

impl Tag {
    /// The longest tag kept; a longer one is reported as unknown.
    pub const CAPACITY: usize = 32;

    /// The tag's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The tag that starts `line`: tag characters followed by a space.
    fn at_line_start(line: &[u8]) -> Option<Tag> {
        let window = &line[..line.len().min(Self::CAPACITY + 1)];
        let Ok(([b' ', ..], tag)) = lex::tag_token(window) else {
            return None;
        };
        let mut bytes = [0; Self::CAPACITY];
        bytes[..tag.len()].copy_from_slice(tag);
        Some(Tag {
            len: u8::try_from(tag.len()).ok()?,
            bytes,
        })
    }
}

impl std::fmt::Debug for Tag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tag({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// One event at the front of the caller's buffer; it consumes exactly [`Frame::bytes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<'a> {
    /// One line through its line end (a literal header that ends it included).
    Line {
        /// The line's bytes, line end included.
        bytes: &'a [u8],
        /// Is this the first line of a message (the one that holds the tag)?
        first: bool,
        /// What follows the line.
        then: LineEnd,
    },
    /// The next piece of the current literal's payload: never empty, as much as the buffer
    /// holds up to what remains of the payload.
    LiteralChunk(&'a [u8]),
    /// Bytes of a message that failed (see the module doc), to be dropped: never empty.
    Discarded(&'a [u8]),
}

impl<'a> Frame<'a> {
    /// The bytes this event covers, which it consumes from the front of the buffer.
    pub fn bytes(&self) -> &'a [u8] {
        match *self {
            Frame::Line { bytes, .. } | Frame::LiteralChunk(bytes) | Frame::Discarded(bytes) => {
                bytes
            }
        }
    }
}

/// What follows a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnd {
    /// Nothing: the line ends its message.
    EndOfMessage,
    /// A literal's payload, then another line of the same message. For a synchronizing literal
    /// from a client the payload comes only after a `+` continuation.
    Literal(LiteralHeader),
}

/// A message the framer cannot pass on; see the module doc for what the framer does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A line ran past [`FramerLimits::max_line`] without a line end.
    #[error("line longer than {max} bytes")]
    LineTooLong {
        /// The message's tag, if known.
        tag: Option<Tag>,
        /// The limit.
        max: usize,
    },
    /// A literal was announced larger than [`FramerLimits::max_literal`].
    #[error("literal of {} bytes announced, over the limit of {max}", .header.len)]
    LiteralTooLarge {
        /// The message's tag, if known.
        tag: Option<Tag>,
        /// The literal's header.
        header: LiteralHeader,
        /// The limit.
        max: u64,
    },
    /// A line ends in a literal header whose length does not fit 63 bits.
    #[error("literal length out of range")]
    LiteralLengthOverflow {
        /// The message's tag, if known.
        tag: Option<Tag>,
        /// Was the literal non-synchronizing (`{n+}`)?
        non_sync: bool,
    },
}

impl FrameError {
    /// The tag of the message in error, if it is known (and no longer than [`Tag::CAPACITY`]).
    pub fn tag(&self) -> Option<&Tag> {
        match self {
            FrameError::LineTooLong { tag, .. }
            | FrameError::LiteralTooLarge { tag, .. }
            | FrameError::LiteralLengthOverflow { tag, .. } => tag.as_ref(),
        }
    }

    /// Is the stream lost? True for a literal that is too large but non-synchronizing: it
    /// cannot be refused. The framer then returns this error for good.
    pub fn must_close(&self) -> bool {
        match *self {
            FrameError::LineTooLong { .. } => false,
            FrameError::LiteralTooLarge { header, .. } => header.non_sync,
            FrameError::LiteralLengthOverflow { non_sync, .. } => non_sync,
        }
    }
}

/// The streaming framer: a state machine over the caller's buffer (see the module doc).
#[derive(Debug, Clone)]
pub struct Framer {
    limits: FramerLimits,
    state: State,
    /// The next line is the first of a message.
    message_start: bool,
    /// The current message failed: its remaining bytes come as [`Frame::Discarded`].
    discarding: bool,
    /// The tag of the current message, kept once it runs past its first line.
    tag: Option<Tag>,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// Reading a line whose first `scanned` bytes hold no LF.
    Line { scanned: usize },
    /// Discarding an over-long line up to its line end.
    LongLine,
    /// Passing `remaining` bytes of the payload of the literal `header` announced.
    Payload {
        remaining: u64,
        header: LiteralHeader,
    },
    /// Failed for good: returns this error.
    Closed(FrameError),
}

impl Default for Framer {
    fn default() -> Self {
        Self::new(FramerLimits::default())
    }
}

impl Framer {
    /// A framer at the start of a stream.
    pub fn new(limits: FramerLimits) -> Self {
        Framer {
            limits,
            state: State::Line { scanned: 0 },
            message_start: true,
            discarding: false,
            tag: None,
        }
    }

    /// The most bytes the framer leaves in the buffer while it asks for more: a caller never
    /// needs to hold more than this plus one read.
    pub fn max_pending(&self) -> usize {
        self.limits.max_line.max(LONG_LINE_TAIL + 1)
    }

    /// The next event at the front of `buf`, or `Ok(None)` when more bytes are needed (nothing
    /// is consumed then). `buf` must start with the bytes the previous call left unconsumed.
    pub fn next<'a>(&mut self, buf: &'a [u8]) -> Result<Option<Frame<'a>>, FrameError> {
        match self.state {
            State::Closed(error) => Err(error),
            _ if buf.is_empty() => Ok(None),
            State::Line { scanned } => self.line(buf, scanned),
            State::LongLine => self.long_line(buf),
            State::Payload { remaining: 0, .. } => self.line(buf, 0),
            State::Payload { remaining, header } => Ok(Some(self.payload(buf, remaining, header))),
        }
    }

    /// Ends the current message instead of waiting for the payload of a synchronizing literal,
    /// for when the proxy (or the backend it asked) answered the `{n}` with a tagged NO or BAD
    /// rather than `+`: the peer will not send the payload. Returns whether it did so; it does
    /// nothing unless the last event was a line that announced a synchronizing literal.
    pub fn refuse_literal(&mut self) -> bool {
        match self.state {
            State::Payload { remaining, header } if !header.non_sync && remaining == header.len => {
                self.end_message();
                true
            }
            _ => false,
        }
    }

    fn line<'a>(&mut self, buf: &'a [u8], scanned: usize) -> Result<Option<Frame<'a>>, FrameError> {
        let limit = buf.len().min(self.limits.max_line);
        let from = scanned.min(limit);
        if let Some(at) = memchr(b'\n', &buf[from..limit]) {
            let line = &buf[..from + at + 1];
            return self.end_line(line, without_line_end(line));
        }
        if buf.len() < self.limits.max_line {
            self.state = State::Line { scanned: buf.len() };
            return Ok(None);
        }
        self.state = State::LongLine;
        if self.discarding {
            return self.long_line(buf);
        }
        let error = FrameError::LineTooLong {
            tag: self.message_tag(&buf[..limit]),
            max: self.limits.max_line,
        };
        Err(self.fail(error))
    }

    fn long_line<'a>(&mut self, buf: &'a [u8]) -> Result<Option<Frame<'a>>, FrameError> {
        match memchr(b'\n', buf) {
            Some(at) => {
                let line = &buf[..=at];
                let body = without_line_end(line);
                self.end_line(line, &body[body.len().saturating_sub(LONG_LINE_TAIL)..])
            }
            // Hold back the tail and a CR, so the tail is whole when the LF comes.
            None => Ok(buf
                .len()
                .checked_sub(LONG_LINE_TAIL + 1)
                .filter(|&n| n > 0)
                .map(|n| Frame::Discarded(&buf[..n]))),
        }
    }

    /// Frames a complete line; `body` is the line, or its last bytes, without the line end.
    fn end_line<'a>(
        &mut self,
        line: &'a [u8],
        body: &[u8],
    ) -> Result<Option<Frame<'a>>, FrameError> {
        let announced = self.announced(body, line);
        if self.discarding {
            return Ok(Some(self.end_discarded_line(line, announced)));
        }
        let first = self.message_start;
        let then = match announced {
            Ok(None) => {
                self.end_message();
                LineEnd::EndOfMessage
            }
            Ok(Some(header)) => {
                if first {
                    self.tag = Tag::at_line_start(line);
                }
                self.expect_payload(header);
                LineEnd::Literal(header)
            }
            Err(error) => return Err(self.fail(error)),
        };
        Ok(Some(Frame::Line {
            bytes: line,
            first,
            then,
        }))
    }

    /// Frames a complete line of a failed message: only a non-synchronizing literal (which the
    /// peer sends unasked) keeps the message going, and one that is too large ends the stream
    /// after this line.
    fn end_discarded_line<'a>(
        &mut self,
        line: &'a [u8],
        announced: Result<Option<LiteralHeader>, FrameError>,
    ) -> Frame<'a> {
        match announced {
            Ok(Some(header)) if header.non_sync => self.expect_payload(header),
            Err(error) if error.must_close() => self.state = State::Closed(error),
            _ => self.end_message(),
        }
        Frame::Discarded(line)
    }

    fn payload<'a>(&mut self, buf: &'a [u8], remaining: u64, header: LiteralHeader) -> Frame<'a> {
        let n = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let chunk = &buf[..n];
        // n <= remaining, so the subtraction cannot wrap (usize fits in u64 on every target).
        self.state = State::Payload {
            remaining: remaining - n as u64,
            header,
        };
        if self.discarding {
            Frame::Discarded(chunk)
        } else {
            Frame::LiteralChunk(chunk)
        }
    }

    /// The literal header that ends `body`, if any, checked against the limits; `line` (from
    /// its start) gives the tag for an error.
    fn announced(&self, body: &[u8], line: &[u8]) -> Result<Option<LiteralHeader>, FrameError> {
        match lex::literal_at_line_end(body) {
            None => Ok(None),
            Some(Ok(header)) if header.len <= self.limits.max_literal => Ok(Some(header)),
            Some(Ok(header)) => Err(FrameError::LiteralTooLarge {
                tag: self.message_tag(line),
                header,
                max: self.limits.max_literal,
            }),
            Some(Err(())) => Err(FrameError::LiteralLengthOverflow {
                tag: self.message_tag(line),
                non_sync: body.ends_with(b"+}"),
            }),
        }
    }

    /// The current message's tag, `line` being its current line from its start.
    fn message_tag(&self, line: &[u8]) -> Option<Tag> {
        if self.message_start {
            Tag::at_line_start(line)
        } else {
            self.tag
        }
    }

    /// Moves to what follows `error`: closed for good, or discarding the rest of the message
    /// from the line at the front of the buffer on.
    fn fail(&mut self, error: FrameError) -> FrameError {
        if error.must_close() {
            self.state = State::Closed(error);
        } else {
            self.state = State::LongLine;
            self.discarding = true;
            self.message_start = false;
            self.tag = error.tag().copied();
        }
        error
    }

    fn expect_payload(&mut self, header: LiteralHeader) {
        self.message_start = false;
        self.state = State::Payload {
            remaining: header.len,
            header,
        };
    }

    fn end_message(&mut self) {
        self.state = State::Line { scanned: 0 };
        self.message_start = true;
        self.discarding = false;
        self.tag = None;
    }
}

/// `line` without its line end (LF, or CRLF).
fn without_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::framer::{Event, drive};

    fn header(len: u64, non_sync: bool, binary: bool) -> LiteralHeader {
        LiteralHeader {
            len,
            non_sync,
            binary,
        }
    }

    fn line(bytes: &[u8], first: bool, then: LineEnd) -> Event {
        Event::Line {
            bytes: bytes.to_vec(),
            first,
            then,
        }
    }

    fn end(bytes: &[u8], first: bool) -> Event {
        line(bytes, first, LineEnd::EndOfMessage)
    }

    fn tag(bytes: &[u8]) -> Option<Tag> {
        Tag::at_line_start(&[bytes, b" "].concat())
    }

    /// The events for `input` fed whole, after checking that byte-by-byte feeding agrees.
    fn events(input: &[u8], limits: FramerLimits) -> Vec<Event> {
        let whole = drive([input], limits);
        whole.check(input, limits);
        let bytewise = drive(input.chunks(1), limits);
        bytewise.check(input, limits);
        assert_eq!(whole.events, bytewise.events);
        whole.events
    }

    fn small(max_line: usize, max_literal: u64) -> FramerLimits {
        FramerLimits {
            max_line,
            max_literal,
        }
    }

    #[test]
    fn lines_and_literals_of_every_form() {
        let input = b"a1 NOOP\r\na2 LOGIN {3}\r\nbob {2+}\r\npw\r\n\
                      a3 APPEND x ~{4}\r\n\0\r\n\0 {0}\r\n\r\nDONE\n";
        assert_eq!(
            events(input, FramerLimits::default()),
            [
                end(b"a1 NOOP\r\n", true),
                line(
                    b"a2 LOGIN {3}\r\n",
                    true,
                    LineEnd::Literal(header(3, false, false))
                ),
                Event::Literal(b"bob".to_vec()),
                line(
                    b" {2+}\r\n",
                    false,
                    LineEnd::Literal(header(2, true, false))
                ),
                Event::Literal(b"pw".to_vec()),
                end(b"\r\n", false),
                line(
                    b"a3 APPEND x ~{4}\r\n",
                    true,
                    LineEnd::Literal(header(4, false, true))
                ),
                Event::Literal(b"\0\r\n\0".to_vec()),
                line(
                    b" {0}\r\n",
                    false,
                    LineEnd::Literal(header(0, false, false))
                ),
                end(b"\r\n", false),
                end(b"DONE\n", true),
            ]
        );
    }

    #[test]
    fn payload_bytes_are_never_framed() {
        let input = b"* 1 FETCH (BODY[] {12}\r\nx {5}\r\n\r\n\n\r\n)\r\n";
        assert_eq!(
            events(input, FramerLimits::default()),
            [
                line(
                    b"* 1 FETCH (BODY[] {12}\r\n",
                    true,
                    LineEnd::Literal(header(12, false, false))
                ),
                Event::Literal(b"x {5}\r\n\r\n\n\r\n".to_vec()),
                end(b")\r\n", false),
            ]
        );
    }

    #[test]
    fn lone_cr_and_nul_do_not_end_lines() {
        let input = b"a NOOP\rx\0y\r\n";
        assert_eq!(events(input, FramerLimits::default()), [end(input, true)]);
        let mut framer = Framer::default();
        assert_eq!(framer.next(b"a NOOP\r"), Ok(None));
    }

    #[test]
    fn a_partial_line_is_searched_once() {
        let mut framer = Framer::default();
        let input = b"a1 SEARCH TEXT hello\r\n";
        for end in 1..input.len() {
            assert_eq!(framer.next(&input[..end]), Ok(None));
            assert!(matches!(framer.state, State::Line { scanned } if scanned == end));
        }
        let frame = framer.next(input).unwrap().unwrap();
        assert_eq!(frame.bytes(), input);
    }

    #[test]
    fn chunks_take_what_the_buffer_holds() {
        let mut framer = Framer::default();
        let Ok(Some(Frame::Line { bytes, .. })) = framer.next(b"* 1 FETCH (BODY[] {10}\r\nabc")
        else {
            panic!("no line")
        };
        assert_eq!(bytes.len(), 24);
        assert_eq!(framer.next(b"abc"), Ok(Some(Frame::LiteralChunk(b"abc"))));
        assert_eq!(framer.next(b""), Ok(None));
        assert_eq!(
            framer.next(b"defghijkl)\r\n"),
            Ok(Some(Frame::LiteralChunk(b"defghij")))
        );
        assert!(matches!(
            framer.next(b"kl)\r\n"),
            Ok(Some(Frame::Line { first: false, .. }))
        ));
    }

    #[test]
    fn an_over_long_line_is_discarded_and_framing_resumes() {
        let limits = small(16, 100);
        let long = b"t1 SEARCH TEXT aaaaaaaaaaaaaaaaaaaaaa\r\n";
        let input = [&long[..], b"t2 NOOP\r\n"].concat();
        assert_eq!(
            events(&input, limits),
            [
                Event::Error(FrameError::LineTooLong {
                    tag: tag(b"t1"),
                    max: 16
                }),
                Event::Discarded(long.to_vec()),
                end(b"t2 NOOP\r\n", true),
            ]
        );
        let mut framer = Framer::new(limits);
        assert_eq!(framer.next(&long[..15]), Ok(None));
        assert!(framer.next(&long[..16]).is_err());
        // The framer holds back only the tail it checks for a literal header.
        assert_eq!(framer.next(&long[..LONG_LINE_TAIL + 1]), Ok(None));
        assert_eq!(framer.max_pending(), LONG_LINE_TAIL + 1);
    }

    #[test]
    fn an_over_long_line_with_a_non_sync_literal_discards_its_whole_message() {
        let input = b"t1 APPEND INBOX (\\Seen) {3+}\r\nabc {2}\r\nt2 NOOP\r\n";
        let (failed, rest) = input.split_at(input.len() - 9);
        assert_eq!(
            events(input, small(20, 100)),
            [
                Event::Error(FrameError::LineTooLong {
                    tag: tag(b"t1"),
                    max: 20
                }),
                // The synchronizing literal on the second line ends the message: the client
                // waits for a `+` that does not come.
                Event::Discarded(failed.to_vec()),
                end(rest, true),
            ]
        );
    }

    #[test]
    fn a_continuation_line_error_carries_the_first_lines_tag() {
        let input = b"abc LOGIN {2}\r\nme {99999}\r\nabc NOOP\r\n";
        assert_eq!(
            events(input, small(100, 1000)),
            [
                line(
                    b"abc LOGIN {2}\r\n",
                    true,
                    LineEnd::Literal(header(2, false, false))
                ),
                Event::Literal(b"me".to_vec()),
                Event::Error(FrameError::LiteralTooLarge {
                    tag: tag(b"abc"),
                    header: header(99999, false, false),
                    max: 1000
                }),
                Event::Discarded(b" {99999}\r\n".to_vec()),
                end(b"abc NOOP\r\n", true),
            ]
        );
    }

    #[test]
    fn hostile_literal_lengths() {
        let limits = FramerLimits::default();
        for (input, len) in [
            (&b"a APPEND x {4294967295}\r\n"[..], 4294967295),
            (b"a APPEND x ~{9223372036854775807}\r\n", i64::MAX as u64),
        ] {
            let error = events(input, limits)[0].clone();
            let Event::Error(FrameError::LiteralTooLarge { header, tag: t, .. }) = error else {
                panic!("{error:?}")
            };
            assert_eq!((header.len, t), (len, tag(b"a")));
        }
        let overflow = b"a APPEND x {99999999999999999999}\r\n";
        assert_eq!(
            events(overflow, limits),
            [
                Event::Error(FrameError::LiteralLengthOverflow {
                    tag: tag(b"a"),
                    non_sync: false
                }),
                Event::Discarded(overflow.to_vec())
            ]
        );
        // A huge literal passes when the limit allows it: nothing is gathered.
        let huge = small(100, u64::MAX);
        let mut framer = Framer::new(huge);
        assert!(framer.next(b"* 1 FETCH (BODY[] {4294967295}\r\n").is_ok());
        assert_eq!(framer.next(b"ab"), Ok(Some(Frame::LiteralChunk(b"ab"))));
    }

    #[test]
    fn a_too_large_non_sync_literal_closes_the_stream() {
        for input in [
            &b"a APPEND x {999+}\r\nxyz"[..],
            b"a APPEND x {99999999999999999999+}\r\n",
        ] {
            let mut framer = Framer::new(small(100, 10));
            let error = framer.next(input).unwrap_err();
            assert!(error.must_close());
            assert_eq!(error.tag(), tag(b"a").as_ref());
            assert_eq!(framer.next(b""), Err(error));
        }
    }

    #[test]
    fn tags_are_kept_inline_up_to_capacity() {
        let exact = [b'x'; Tag::CAPACITY];
        assert_eq!(
            tag(&exact).map(|t| t.as_bytes().to_vec()),
            Some(exact.to_vec())
        );
        assert_eq!(tag(&[b'x'; Tag::CAPACITY + 1]), None);
        assert_eq!(Tag::at_line_start(b"* 1 FETCH"), None);
        assert_eq!(Tag::at_line_start(b"abc"), None);
        assert_eq!(format!("{:?}", tag(b"a1").unwrap()), "Tag(\"a1\")");
    }

    #[test]
    fn a_refused_sync_literal_ends_the_message() {
        let mut framer = Framer::default();
        assert!(!framer.refuse_literal());
        let announce = b"a APPEND INBOX {310}\r\n";
        assert!(framer.next(announce).unwrap().is_some());
        assert!(framer.refuse_literal());
        assert!(matches!(
            framer.next(b"b NOOP\r\n"),
            Ok(Some(Frame::Line { first: true, .. }))
        ));
        // Not once the payload has started, nor for a non-synchronizing literal.
        framer.next(announce).unwrap();
        framer.next(b"x").unwrap();
        assert!(!framer.refuse_literal());
        let mut framer = Framer::default();
        framer.next(b"a APPEND INBOX {3+}\r\n").unwrap();
        assert!(!framer.refuse_literal());
    }

    #[test]
    fn errors_say_what_went_wrong() {
        let error = FrameError::LiteralTooLarge {
            tag: None,
            header: header(5, false, false),
            max: 4,
        };
        assert_eq!(
            error.to_string(),
            "literal of 5 bytes announced, over the limit of 4"
        );
        assert!(!error.must_close());
    }
}
