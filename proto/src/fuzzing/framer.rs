//! Fuzz body for the IMAP framer ([`crate::imap::framer`]), with the driver its tests share.
//!
//! [`drive`] feeds reads to a [`Framer`] the way a proxy does (a buffer of unconsumed bytes,
//! appended to by each read) and records the events; [`Framed::check`] asserts what must hold
//! of them for any input: byte-exact reassembly, bounded pending bytes and consistent events.
//! [`fuzz_framer`] runs that on arbitrary bytes, whole and split into reads, with default and
//! tiny limits, and asserts that the split changes nothing.

use crate::imap::framer::{Frame, FrameError, Framer, FramerLimits, LineEnd};
use crate::lex;

/// One framer event, owned, with the adjacent pieces of one payload (or of one discarded run)
/// merged, so that runs over different splits of an input compare equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// [`Frame::Line`].
    Line {
        /// The line, line end included.
        bytes: Vec<u8>,
        /// Was it the first line of its message?
        first: bool,
        /// What follows it.
        then: LineEnd,
    },
    /// One literal's payload, from its [`Frame::LiteralChunk`]s.
    Literal(Vec<u8>),
    /// Adjacent [`Frame::Discarded`] bytes.
    Discarded(Vec<u8>),
    /// An error returned by [`Framer::next`].
    Error(FrameError),
}

/// What [`drive`] saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Framed {
    /// The events, in order.
    pub events: Vec<Event>,
    /// The bytes of every event put together.
    pub passed: Vec<u8>,
    /// The most bytes left in the buffer when the framer asked for more.
    pub max_pending: usize,
    /// Did a fatal error ([`FrameError::must_close`]) stop the run?
    pub closed: bool,
}

/// Feeds `reads` to a new framer with `limits`, as a proxy would, and records what comes out.
pub fn drive<'a>(reads: impl IntoIterator<Item = &'a [u8]>, limits: FramerLimits) -> Framed {
    let mut framer = Framer::new(limits);
    let mut buf = Vec::new();
    let mut out = Framed::default();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match framer.next(&buf) {
                Ok(Some(frame)) => {
                    let n = frame.bytes().len();
                    out.record(frame);
                    buf.drain(..n);
                }
                Ok(None) => {
                    out.max_pending = out.max_pending.max(buf.len());
                    break;
                }
                Err(error) => {
                    out.events.push(Event::Error(error));
                    if error.must_close() {
                        out.closed = true;
                        return out;
                    }
                }
            }
        }
    }
    out
}

impl Framed {
    fn record(&mut self, frame: Frame<'_>) {
        let bytes = frame.bytes();
        self.passed.extend_from_slice(bytes);
        match (frame, self.events.last_mut()) {
            (Frame::LiteralChunk(_), Some(Event::Literal(payload)))
            | (Frame::Discarded(_), Some(Event::Discarded(payload))) => {
                payload.extend_from_slice(bytes);
            }
            (Frame::Line { first, then, .. }, _) => self.events.push(Event::Line {
                bytes: bytes.to_vec(),
                first,
                then,
            }),
            (Frame::LiteralChunk(_), _) => self.events.push(Event::Literal(bytes.to_vec())),
            (Frame::Discarded(_), _) => self.events.push(Event::Discarded(bytes.to_vec())),
        }
    }

    /// Asserts what must hold of a run over `input` with `limits`: the events' bytes are the
    /// input, but for at most [`Framer::max_pending`] bytes left pending at its end (or for
    /// anything after a fatal error), the framer never left more than that pending, every line ends in its only LF, is no longer than
    /// the limit and announces what its end says, `first` marks exactly the lines that start a
    /// message, a payload is as long as its header says (shorter only at the end of input), and
    /// discarded bytes come only after an error.
    pub fn check(&self, input: &[u8], limits: FramerLimits) {
        let max_pending = Framer::new(limits).max_pending();
        assert!(
            input.starts_with(&self.passed),
            "the events' bytes are not the input"
        );
        assert!(self.closed || input.len() - self.passed.len() <= max_pending);
        assert!(self.max_pending <= max_pending);
        let mut message_start = true;
        let mut payload_due = None;
        let mut failed = false;
        for (at, event) in self.events.iter().enumerate() {
            let last = at + 1 == self.events.len();
            if let Some(len) = payload_due.take()
                && len > 0
            {
                let Event::Literal(payload) = event else {
                    panic!("event {at}: {event:?} where a payload of {len} was due")
                };
                let payload_len = payload.len() as u64;
                assert!(payload_len == len || (last && payload_len < len));
                continue;
            }
            match event {
                Event::Line { bytes, first, then } => {
                    assert!(!failed, "event {at}: a line of a failed message");
                    assert!(bytes.len() <= limits.max_line);
                    assert_eq!(memchr::memchr(b'\n', bytes), Some(bytes.len() - 1));
                    assert_eq!(*first, message_start, "event {at}: first");
                    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                    let body = body.strip_suffix(b"\r").unwrap_or(body);
                    match (then, lex::literal_at_line_end(body)) {
                        (LineEnd::EndOfMessage, None) => message_start = true,
                        (LineEnd::Literal(header), Some(Ok(announced))) => {
                            assert_eq!(*header, announced);
                            assert!(header.len <= limits.max_literal);
                            message_start = false;
                            payload_due = Some(header.len);
                        }
                        (then, announced) => panic!("event {at}: {then:?} for {announced:?}"),
                    }
                }
                Event::Literal(_) => panic!("event {at}: a payload nobody announced"),
                Event::Error(_) => failed = true,
                Event::Discarded(_) => {
                    assert!(failed, "event {at}: discarded bytes with no error");
                    failed = false;
                    message_start = true;
                }
            }
        }
    }
}

/// Fuzz target: frames `data[1..]` whole, byte by byte and in reads of a size `data[0]` picks,
/// with the default limits or (by `data[0]`) tiny ones, checks every run and that all agree.
pub fn fuzz_framer(data: &[u8]) {
    let [control, input @ ..] = data else {
        return;
    };
    let limits = if control & 1 == 0 {
        FramerLimits::default()
    } else {
        FramerLimits {
            max_line: usize::from((control >> 1) & 0x1f),
            max_literal: u64::from(control >> 6) * 8,
        }
    };
    let read_size = 1 + usize::from(control >> 3);
    let whole = drive([input], limits);
    whole.check(input, limits);
    assert!(
        whole.events.len() <= 2 * input.len() + 1,
        "unbounded events"
    );
    for reads in [input.chunks(1), input.chunks(read_size)] {
        let split = drive(reads, limits);
        split.check(input, limits);
        assert_eq!(split.events, whole.events, "the split changed the events");
    }
}
