//! The MUPDATE codec (RFC 3656), both directions, with the wire habits of Cyrus 3.6.
//!
//! A master uses it to decode commands and encode responses; a follower or backend agent to
//! encode commands and decode responses. Everything is sans-IO: decoders take the bytes received
//! so far and say how many they used, encoders append to a `Vec<u8>`. Output is byte for byte
//! what Cyrus's components send (reference/murder.md §1): quoted mechanism names in the banner,
//! `{n+}` literals for names, locations and ACLs, quoted response text. Input is taken in every
//! form the RFC and Cyrus allow, and bare atoms besides.
//!
//! # Layout
//!
//! * [`Banner`]: the capability banner (`* AUTH ...` to `* OK MUPDATE ...`).
//! * [`Command`] and [`CommandKind`]: client commands; [`CommandDecoder`] is the server's
//!   decoder, which asks for `+ go ahead` ([`Outcome::Continue`]) before a `{n}` payload and
//!   classifies bad input into Cyrus's `BAD` texts ([`CommandError`]).
//! * [`Response`], [`Record`] and [`Status`]: server responses; [`AuthReply`] is what a client
//!   reads during AUTHENTICATE.
//! * [`SaslResponse`] and [`encode_sasl_line`]: the bare base64 lines of the SASL exchange.
//! * [`Reason`]: Cyrus's response texts, word for word.
//! * [`Limits`]: the decoders' bounds on line length and literal size.
//!
//! # Example: a master reading a Cyrus backend's RESERVE
//!
//! ```
//! use corvid_proto::mupdate::{
//!     Command, CommandDecoder, CommandKind, Limits, Outcome, Reason, Response, Status,
//! };
//!
//! let mut decoder = CommandDecoder::new(Limits::default());
//! let step = decoder.decode(b"X1 RESERVE {15+}\r\nuser.bob.Drafts {11+}\r\nbe2!default\r\n");
//! let Outcome::Done(command) = step.outcome else { panic!("{step:?}") };
//! assert_eq!(
//!     command.kind,
//!     CommandKind::Reserve { name: b"user.bob.Drafts".to_vec(), location: b"be2!default".to_vec() }
//! );
//! let mut out = Vec::new();
//! Response::tagged(&command.tag, Status::Ok, Reason::Done).encode(&mut out);
//! assert_eq!(out, b"X1 OK \"done\"\r\n");
//! ```

mod banner;
mod command;
mod reason;
mod response;
mod sasl;
mod wire;

pub use banner::{Banner, Role};
pub use command::{
    CONTINUATION, Command, CommandDecoder, CommandError, CommandKind, Outcome, Step,
};
pub use reason::Reason;
pub use response::{AuthReply, Record, RecordRef, Response, Status};
pub use sasl::{SaslResponse, encode_sasl_line};
pub use wire::Limits;

use wire::{Limit, Stop};

/// What a client-side decoder made of the bytes at the front of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T> {
    /// A whole value, which took the first `consumed` bytes.
    Done {
        /// The value.
        value: T,
        /// How many bytes it took.
        consumed: usize,
    },
    /// The input ends inside a value: call again with more bytes.
    Incomplete,
}

impl<T> Decoded<T> {
    /// Maps the value, keeping the byte count.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Decoded<U> {
        match self {
            Decoded::Done { value, consumed } => Decoded::Done {
                value: f(value),
                consumed,
            },
            Decoded::Incomplete => Decoded::Incomplete,
        }
    }
}

/// Why a client-side decoder gave up. None of these can be fixed by more bytes: the client
/// should close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a valid MUPDATE message.
    #[error("malformed MUPDATE message")]
    Malformed,
    /// A message goes past [`Limits::max_line`].
    #[error("MUPDATE line too long")]
    LineTooLong,
    /// A message's literals go past [`Limits::max_literal`].
    #[error("MUPDATE literal too large")]
    LiteralTooLarge,
    /// The server sent `* BYE` instead of a banner (Cyrus: `"Server Unable"` when full).
    #[error("MUPDATE server refused the connection: {}", String::from_utf8_lossy(.0))]
    Refused(Vec<u8>),
}

/// Turns a reader's result (value and bytes used) into a client-side decoder's result.
fn decoded<T>(read: Result<(T, usize), Stop>) -> Result<Decoded<T>, DecodeError> {
    match read {
        Ok((value, consumed)) => Ok(Decoded::Done { value, consumed }),
        Err(Stop::Incomplete | Stop::Continue(_)) => Ok(Decoded::Incomplete),
        Err(Stop::Syntax) => Err(DecodeError::Malformed),
        Err(Stop::TooLarge(Limit::Line)) => Err(DecodeError::LineTooLong),
        Err(Stop::TooLarge(Limit::Literal)) => Err(DecodeError::LiteralTooLarge),
    }
}
