//! Client-to-server commands: their values, the client's encoder and the server's decoder.
//!
//! A follower or backend agent writes commands with [`Command::encode`] in the form Cyrus's own
//! client uses (names, locations and ACLs as `{n+}` literals). A master reads them with a
//! [`CommandDecoder`], which takes every string form (quoted, `{n}`, `{n+}`, bare atoms), asks
//! its caller to send `+ go ahead` before a synchronizing literal's payload, classifies bad
//! input into Cyrus's `BAD` texts with the tag when it is known, and then skips the rest of the
//! bad command (its non-synchronizing literals included) with bounded memory. During an
//! AUTHENTICATE it reads the client's bare base64 lines instead ([`CommandDecoder::decode_sasl`]).

use lex::literal_at_line_end;

use super::reason::Reason;
use super::response::{Response, Status};
use super::sasl::{SaslResponse, decode_initial_response, encode_initial_response};
use super::wire::{Limit, Limits, Reader, Stop, write_literal, write_string};
use crate::lex;

/// What a server sends to let a client go on with a synchronizing literal.
pub const CONTINUATION: &[u8] = b"+ go ahead\r\n";

/// A command: its tag and what it asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Command {
    /// The tag the server's responses will carry.
    pub tag: Vec<u8>,
    /// The command and its arguments.
    pub kind: CommandKind,
}

/// The commands of RFC 3656, plus Cyrus's COMPRESS.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// `AUTHENTICATE mech [initial-response]`: starts a SASL exchange.
    Authenticate {
        /// The SASL mechanism (1*ATOM-CHAR).
        mechanism: String,
        /// The client's first response (decoded from base64; `=` on the wire when empty).
        initial_response: Option<Vec<u8>>,
    },
    /// `ACTIVATE name location acl`: create or update an active mailbox.
    Activate {
        /// The mailbox name.
        name: Vec<u8>,
        /// `server!partition`.
        location: Vec<u8>,
        /// The ACL string, kept byte for byte.
        acl: Vec<u8>,
    },
    /// `RESERVE name location`: take a name before creating the mailbox.
    Reserve {
        /// The mailbox name.
        name: Vec<u8>,
        /// `server!partition`.
        location: Vec<u8>,
    },
    /// `DEACTIVATE name location`: move an active mailbox back to reserved.
    Deactivate {
        /// The mailbox name.
        name: Vec<u8>,
        /// `server!partition`.
        location: Vec<u8>,
    },
    /// `DELETE name`: remove a name.
    Delete {
        /// The mailbox name.
        name: Vec<u8>,
    },
    /// `FIND name`: look one name up.
    Find {
        /// The mailbox name.
        name: Vec<u8>,
    },
    /// `LIST [prefix]`: every record, or those whose location starts with `prefix`.
    List {
        /// The location prefix (`ctl_mboxlist -m` sends `"server!"`).
        prefix: Option<Vec<u8>>,
    },
    /// `UPDATE [host ...]`: dump, then stream changes (PARTIAL-UPDATE: only for these hosts).
    Update {
        /// Host names to filter on; empty for everything.
        hosts: Vec<Vec<u8>>,
    },
    /// `XRESUME position [host ...]` (corvid's extension, advertised as `* X-CORVID-RESUME`):
    /// like UPDATE, but a follower that has seen the stream up to `position` receives only
    /// what changed since, when the master still knows (corvid-mupdate's `resume` module).
    Resume {
        /// Where the follower's copy stands, as the master last reported it (opaque here).
        position: Vec<u8>,
        /// Host names to filter on; empty for everything.
        hosts: Vec<Vec<u8>>,
    },
    /// `NOOP`: in streaming, a barrier behind every pending update.
    Noop,
    /// `LOGOUT`.
    Logout,
    /// `STARTTLS`.
    StartTls,
    /// `COMPRESS algorithm` (a Cyrus extension; Cyrus offers `DEFLATE`).
    Compress {
        /// The algorithm (1*ATOM-CHAR).
        algorithm: String,
    },
}

/// The command names, each with the fewest and most arguments it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Authenticate,
    Activate,
    Reserve,
    Deactivate,
    Delete,
    Find,
    List,
    Update,
    Resume,
    Noop,
    Logout,
    StartTls,
    Compress,
}

impl Verb {
    fn from_name(name: &[u8]) -> Option<Verb> {
        Some(match name.to_ascii_uppercase().as_slice() {
            b"AUTHENTICATE" => Verb::Authenticate,
            b"ACTIVATE" => Verb::Activate,
            b"RESERVE" => Verb::Reserve,
            b"DEACTIVATE" => Verb::Deactivate,
            b"DELETE" => Verb::Delete,
            b"FIND" => Verb::Find,
            b"LIST" => Verb::List,
            b"UPDATE" => Verb::Update,
            b"XRESUME" => Verb::Resume,
            b"NOOP" => Verb::Noop,
            b"LOGOUT" => Verb::Logout,
            b"STARTTLS" => Verb::StartTls,
            b"COMPRESS" => Verb::Compress,
            _ => return None,
        })
    }

    fn arity(self) -> (usize, usize) {
        match self {
            Verb::Activate => (3, 3),
            Verb::Reserve | Verb::Deactivate => (2, 2),
            Verb::Delete | Verb::Find | Verb::Compress => (1, 1),
            Verb::Authenticate => (1, 2),
            Verb::List => (0, 1),
            Verb::Update => (0, usize::MAX),
            Verb::Resume => (1, usize::MAX),
            Verb::Noop | Verb::Logout | Verb::StartTls => (0, 0),
        }
    }

    /// Builds the command from arguments whose count fits [`Verb::arity`].
    fn build(self, args: Vec<Vec<u8>>) -> Result<CommandKind, Reason> {
        let mut args = args.into_iter();
        let mut next = || args.next().unwrap_or_default();
        Ok(match self {
            Verb::Authenticate => {
                let mechanism = atom_text(next())?;
                let initial_response = match args.next() {
                    Some(text) => {
                        Some(decode_initial_response(&text).ok_or(Reason::BadlyFormedArguments)?)
                    }
                    None => None,
                };
                CommandKind::Authenticate {
                    mechanism,
                    initial_response,
                }
            }
            Verb::Activate => CommandKind::Activate {
                name: next(),
                location: next(),
                acl: next(),
            },
            Verb::Reserve => CommandKind::Reserve {
                name: next(),
                location: next(),
            },
            Verb::Deactivate => CommandKind::Deactivate {
                name: next(),
                location: next(),
            },
            Verb::Delete => CommandKind::Delete { name: next() },
            Verb::Find => CommandKind::Find { name: next() },
            Verb::List => CommandKind::List {
                prefix: args.next(),
            },
            Verb::Update => CommandKind::Update {
                hosts: args.collect(),
            },
            Verb::Resume => CommandKind::Resume {
                position: next(),
                hosts: args.collect(),
            },
            Verb::Noop => CommandKind::Noop,
            Verb::Logout => CommandKind::Logout,
            Verb::StartTls => CommandKind::StartTls,
            Verb::Compress => CommandKind::Compress {
                algorithm: atom_text(next())?,
            },
        })
    }
}

/// A mechanism or algorithm name: 1*ATOM-CHAR, so plain ASCII.
fn atom_text(bytes: Vec<u8>) -> Result<String, Reason> {
    if bytes.is_empty() || !bytes.iter().all(|&b| lex::is_atom_char(b)) {
        return Err(Reason::BadlyFormedArguments);
    }
    String::from_utf8(bytes).map_err(|_| Reason::BadlyFormedArguments)
}

impl CommandKind {
    /// The command name as it goes on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            CommandKind::Authenticate { .. } => "AUTHENTICATE",
            CommandKind::Activate { .. } => "ACTIVATE",
            CommandKind::Reserve { .. } => "RESERVE",
            CommandKind::Deactivate { .. } => "DEACTIVATE",
            CommandKind::Delete { .. } => "DELETE",
            CommandKind::Find { .. } => "FIND",
            CommandKind::List { .. } => "LIST",
            CommandKind::Update { .. } => "UPDATE",
            CommandKind::Resume { .. } => "XRESUME",
            CommandKind::Noop => "NOOP",
            CommandKind::Logout => "LOGOUT",
            CommandKind::StartTls => "STARTTLS",
            CommandKind::Compress { .. } => "COMPRESS",
        }
    }

    /// Writes ` arg` for each argument, in the form Cyrus's client uses for it: literals for
    /// names, locations and ACLs, quoted strings (where they can be) for the rest.
    fn encode_arguments(&self, out: &mut Vec<u8>) {
        let literals: &[&Vec<u8>] = match self {
            CommandKind::Activate {
                name,
                location,
                acl,
            } => &[name, location, acl],
            CommandKind::Reserve { name, location }
            | CommandKind::Deactivate { name, location } => &[name, location],
            CommandKind::Delete { name } | CommandKind::Find { name } => &[name],
            _ => &[],
        };
        for literal in literals {
            out.push(b' ');
            write_literal(out, literal);
        }
        let mut word = |bytes: &[u8]| {
            out.push(b' ');
            write_string(out, bytes);
        };
        match self {
            CommandKind::Authenticate {
                mechanism,
                initial_response,
            } => {
                word(mechanism.as_bytes());
                if let Some(data) = initial_response {
                    out.push(b' ');
                    write_literal(out, &encode_initial_response(data));
                }
            }
            CommandKind::Compress { algorithm } => word(algorithm.as_bytes()),
            CommandKind::List {
                prefix: Some(prefix),
            } => word(prefix),
            CommandKind::Update { hosts } => hosts.iter().for_each(|host| word(host)),
            CommandKind::Resume { position, hosts } => {
                word(position);
                hosts.iter().for_each(|host| word(host));
            }
            _ => {}
        }
    }
}

impl Command {
    /// Writes the command as Cyrus's client does, CRLF included. Its literals are all `{n+}`,
    /// so the whole command can be sent at once.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tag);
        out.push(b' ');
        out.extend_from_slice(self.kind.name().as_bytes());
        self.kind.encode_arguments(out);
        out.extend_from_slice(b"\r\n");
    }
}

/// A command the server refuses to run because it cannot parse it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .reason)]
pub struct CommandError {
    /// The command's tag, when the line had a usable one.
    pub tag: Option<Vec<u8>>,
    /// Why, in Cyrus's words.
    pub reason: Reason,
}

impl CommandError {
    /// The answer Cyrus gives: `tag BAD "reason"`, or `* BAD "Need command"` without a tag.
    pub fn response(&self) -> Response {
        Response::Status {
            tag: self.tag.clone(),
            status: Status::Bad,
            text: self.reason.as_str().as_bytes().to_vec(),
        }
    }
}

/// What one call of a [`CommandDecoder`] made of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<T> {
    /// How many bytes at the front of the input were used (or skipped): the caller drops them
    /// before the next call, and otherwise only appends to its buffer.
    pub consumed: usize,
    /// What came of them.
    pub outcome: Outcome<T>,
}

/// The outcome of a [`Step`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// A whole value.
    Done(T),
    /// The input ends inside a value: call again when more bytes have come.
    Incomplete,
    /// A synchronizing literal waits: send these bytes ([`CONTINUATION`]), then call again when
    /// more bytes have come. Each literal is announced once.
    Continue(&'static [u8]),
    /// The input is bad: answer with [`CommandError::response`]. The decoder skips the rest of
    /// the bad command on the next calls.
    Rejected(CommandError),
}

/// What is left of a rejected command to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Skip {
    /// Nothing: decode.
    #[default]
    Nothing,
    /// The rest of the line, and the payload of a `{n+}` literal that ends it.
    Line,
    /// The rest of a line longer than the limit (a literal at its end is not seen).
    Overlong,
    /// So many payload octets, then the rest of that line.
    Payload(u64),
}

/// The server side's decoder: commands, and the SASL lines of an AUTHENTICATE.
///
/// It is driven over a buffer the caller owns: each call decodes at the front of the buffer
/// and reports how many bytes it used in [`Step::consumed`]. It keeps only two small facts
/// between calls: which synchronizing literal it has already asked a continuation for, and
/// what is left to skip of a rejected command.
#[derive(Debug, Clone, Default)]
pub struct CommandDecoder {
    limits: Limits,
    /// Offset (in the caller's buffer) up to which continuations have been asked for.
    granted: usize,
    skip: Skip,
}

impl CommandDecoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        CommandDecoder {
            limits,
            ..CommandDecoder::default()
        }
    }

    /// Decodes the command at the front of `input`.
    pub fn decode(&mut self, input: &[u8]) -> Step<Command> {
        self.step(input, read_command)
    }

    /// Decodes one SASL line of the client's at the front of `input`, during AUTHENTICATE.
    /// A bad line is rejected without a tag (the caller knows the AUTHENTICATE's).
    pub fn decode_sasl(&mut self, input: &[u8]) -> Step<SaslResponse> {
        self.step(input, |reader| {
            let text = reader
                .text_to_line_end()
                .map_err(|stop| fail(stop, None, Reason::BadlyFormedArguments))?;
            SaslResponse::from_line(text).ok_or(Failure::Reject(CommandError {
                tag: None,
                reason: Reason::BadlyFormedArguments,
            }))
        })
    }

    fn step<T>(
        &mut self,
        input: &[u8],
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, Failure>,
    ) -> Step<T> {
        let skipped = self.discard(input);
        let input = input.get(skipped..).unwrap_or_default();
        let step = |consumed, outcome| Step {
            consumed: skipped + consumed,
            outcome,
        };
        if self.skip != Skip::Nothing {
            return step(0, Outcome::Incomplete);
        }
        let mut reader = Reader::granting(input, self.limits, self.granted);
        match read(&mut reader) {
            Ok(value) => {
                self.granted = 0;
                step(reader.pos(), Outcome::Done(value))
            }
            Err(Failure::Wait(Stop::Continue(header_end))) => {
                self.granted = header_end;
                step(0, Outcome::Continue(CONTINUATION))
            }
            Err(Failure::Wait(_)) => step(0, Outcome::Incomplete),
            Err(Failure::Reject(error)) => {
                self.granted = 0;
                let line_ended = input
                    .get(..reader.pos())
                    .is_some_and(|read| read.ends_with(b"\n"));
                self.skip = match error.reason {
                    _ if line_ended => Skip::Nothing,
                    Reason::LineTooLong => Skip::Overlong,
                    _ => Skip::Line,
                };
                step(reader.pos(), Outcome::Rejected(error))
            }
        }
    }

    /// Skips what is left of a rejected command at the front of `input`; returns how much.
    fn discard(&mut self, input: &[u8]) -> usize {
        let mut at = 0;
        loop {
            let rest = input.get(at..).unwrap_or_default();
            match self.skip {
                Skip::Nothing => return at,
                Skip::Payload(left) => {
                    let here = left.min(rest.len() as u64);
                    at += here as usize;
                    if here < left {
                        self.skip = Skip::Payload(left - here);
                        return at;
                    }
                    self.skip = Skip::Line;
                }
                Skip::Overlong => {
                    let Some(lf) = memchr::memchr(b'\n', rest) else {
                        return at + rest.len();
                    };
                    at += lf + 1;
                    self.skip = Skip::Nothing;
                }
                Skip::Line => {
                    let Some(lf) = memchr::memchr(b'\n', rest) else {
                        if rest.len() <= self.limits.max_line {
                            return at;
                        }
                        self.skip = Skip::Overlong;
                        continue;
                    };
                    let line = &rest[..lf];
                    at += lf + 1;
                    self.skip = match literal_at_line_end(line.strip_suffix(b"\r").unwrap_or(line))
                    {
                        Some(Ok(header)) if header.non_sync => Skip::Payload(header.len),
                        _ => Skip::Nothing,
                    };
                }
            }
        }
    }
}

/// Why reading stopped: wait for more bytes (or send a continuation), or reject.
#[derive(Debug)]
enum Failure {
    Wait(Stop),
    Reject(CommandError),
}

/// Turns a reader's stop into a failure: a syntax error is rejected for `syntax`.
fn fail(stop: Stop, tag: Option<&[u8]>, syntax: Reason) -> Failure {
    let reason = match stop {
        Stop::Incomplete | Stop::Continue(_) => return Failure::Wait(stop),
        Stop::Syntax => syntax,
        Stop::TooLarge(Limit::Line) => Reason::LineTooLong,
        Stop::TooLarge(Limit::Literal) => Reason::LiteralTooLarge,
    };
    Failure::Reject(CommandError {
        tag: tag.map(<[u8]>::to_vec),
        reason,
    })
}

fn read_command(reader: &mut Reader<'_>) -> Result<Command, Failure> {
    let tag = reader
        .tag()
        .and_then(|tag| reader.sp().map(|()| tag))
        .map_err(|stop| fail(stop, None, Reason::NeedCommand))?;
    let reject = |reason| {
        Failure::Reject(CommandError {
            tag: Some(tag.to_vec()),
            reason,
        })
    };
    let name = reader
        .atom()
        .map_err(|stop| fail(stop, Some(tag), Reason::NullCommand))?;
    let verb = Verb::from_name(name).ok_or_else(|| reject(Reason::UnrecognizedCommand))?;
    let (min, max) = verb.arity();
    let mut args = Vec::new();
    let arg_failure = |stop| fail(stop, Some(tag), Reason::BadlyFormedArguments);
    while !reader.at_line_end().map_err(arg_failure)? {
        if args.len() == max {
            return Err(reject(Reason::ExtraArguments));
        }
        reader.sp().map_err(arg_failure)?;
        args.push(reader.string().map_err(arg_failure)?);
    }
    if args.len() < min {
        return Err(reject(Reason::MissingArguments));
    }
    let kind = verb.build(args).map_err(reject)?;
    reader.line_end().map_err(arg_failure)?;
    Ok(Command {
        tag: tag.to_vec(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limits = Limits {
        max_line: 40,
        max_literal: 16,
    };

    fn command(tag: &str, kind: CommandKind) -> Command {
        Command {
            tag: tag.as_bytes().to_vec(),
            kind,
        }
    }

    fn done(input: &[u8]) -> Command {
        let step = CommandDecoder::default().decode(input);
        assert_eq!(step.consumed, input.len(), "{input:?}: {step:?}");
        match step.outcome {
            Outcome::Done(command) => command,
            other => panic!("{input:?}: {other:?}"),
        }
    }

    fn rejected(decoder: &mut CommandDecoder, input: &[u8]) -> (Option<&'static str>, Reason) {
        match decoder.decode(input).outcome {
            Outcome::Rejected(CommandError { tag, reason }) => {
                (tag.map(|t| if t == b"A1" { "A1" } else { "other" }), reason)
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }

    #[test]
    fn cyrus_client_form() {
        let activate = command(
            "X2",
            CommandKind::Activate {
                name: b"user.bob.Drafts".to_vec(),
                location: b"be2!default".to_vec(),
                acl: b"bob\tlrswipkxtecdan\t".to_vec(),
            },
        );
        let mut out = Vec::new();
        activate.encode(&mut out);
        assert_eq!(
            out,
            b"X2 ACTIVATE {15+}\r\nuser.bob.Drafts {11+}\r\nbe2!default {19+}\r\nbob\tlrswipkxtecdan\t\r\n"
        );
        assert_eq!(done(&out), activate);

        let auth = command(
            "A01",
            CommandKind::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some(b"\0mupduser\0mupdpass".to_vec()),
            },
        );
        out.clear();
        auth.encode(&mut out);
        assert_eq!(
            out,
            b"A01 AUTHENTICATE \"PLAIN\" {24+}\r\nAG11cGR1c2VyAG11cGRwYXNz\r\n"
        );
        assert_eq!(done(&out), auth);

        out.clear();
        command(
            "X1",
            CommandKind::List {
                prefix: Some(b"be1!".to_vec()),
            },
        )
        .encode(&mut out);
        assert_eq!(out, b"X1 LIST \"be1!\"\r\n");
    }

    #[test]
    fn rfc_forms_and_atoms() {
        assert_eq!(
            done(b"r01 reserve \"user.rjs3.new\" \"mail3.example.org!u4\"\r\n"),
            command(
                "r01",
                CommandKind::Reserve {
                    name: b"user.rjs3.new".to_vec(),
                    location: b"mail3.example.org!u4".to_vec()
                }
            )
        );
        assert_eq!(
            done(b"X1 FIND user.foo\n"),
            command(
                "X1",
                CommandKind::Find {
                    name: b"user.foo".to_vec()
                }
            )
        );
        assert_eq!(
            done(b"U1 UPDATE \"be1\" be2\r\n"),
            command(
                "U1",
                CommandKind::Update {
                    hosts: vec![b"be1".to_vec(), b"be2".to_vec()]
                }
            )
        );
        assert_eq!(
            done(b"A1 AUTHENTICATE PLAIN =\r\n"),
            command(
                "A1",
                CommandKind::Authenticate {
                    mechanism: "PLAIN".into(),
                    initial_response: Some(Vec::new())
                }
            )
        );
        assert_eq!(done(b"N1 noop\r\n"), command("N1", CommandKind::Noop));
    }

    #[test]
    fn synchronizing_literal_asks_for_continuation_once() {
        let mut decoder = CommandDecoder::default();
        let mut buffer = b"F1 FIND {8}\r\n".to_vec();
        assert_eq!(
            decoder.decode(&buffer),
            Step {
                consumed: 0,
                outcome: Outcome::Continue(CONTINUATION)
            }
        );
        assert_eq!(decoder.decode(&buffer).outcome, Outcome::Incomplete);
        buffer.extend_from_slice(b"user.bob");
        assert_eq!(decoder.decode(&buffer).outcome, Outcome::Incomplete);
        buffer.extend_from_slice(b"\r\nF2 FIND {1}\r\n");
        let step = decoder.decode(&buffer);
        assert_eq!(step.consumed, 23);
        buffer.drain(..step.consumed);
        assert_eq!(
            decoder.decode(&buffer).outcome,
            Outcome::Continue(CONTINUATION)
        );
    }

    #[test]
    fn cyrus_errors() {
        let mut decoder = CommandDecoder::default();
        assert_eq!(rejected(&mut decoder, b"\r\n"), (None, Reason::NeedCommand));
        assert_eq!(
            rejected(&mut CommandDecoder::default(), b"* NOOP\r\n"),
            (None, Reason::NeedCommand)
        );
        let cases: [(&[u8], Reason); 8] = [
            (b"A1 \r\n", Reason::NullCommand),
            (b"A1 SELECT \"INBOX\"\r\n", Reason::UnrecognizedCommand),
            (b"A1 FIND\r\n", Reason::MissingArguments),
            (b"A1 ACTIVATE \"a\" \"b\"\r\n", Reason::MissingArguments),
            (b"A1 FIND \"a\" \"b\"\r\n", Reason::ExtraArguments),
            (b"A1 NOOP x\r\n", Reason::ExtraArguments),
            (b"A1 FIND \"a\\x\"\r\n", Reason::BadlyFormedArguments),
            (
                b"A1 AUTHENTICATE \"PLAIN\" \"!!\"\r\n",
                Reason::BadlyFormedArguments,
            ),
        ];
        for (input, reason) in cases {
            assert_eq!(
                rejected(&mut CommandDecoder::default(), input),
                (Some("A1"), reason),
                "{input:?}"
            );
        }
        let error = CommandError {
            tag: None,
            reason: Reason::NeedCommand,
        };
        let mut out = Vec::new();
        error.response().encode(&mut out);
        assert_eq!(out, b"* BAD \"Need command\"\r\n");
    }

    #[test]
    fn a_rejected_command_is_skipped_with_its_literals() {
        let mut decoder = CommandDecoder::default();
        let mut buffer = b"A1 FROB {3+}\r\nabc {2+}\r\nde\r\nA2 FROB {5}\r\nA3 NOOP\r\n".to_vec();
        let step = decoder.decode(&buffer);
        assert_eq!(
            step.outcome,
            Outcome::Rejected(CommandError {
                tag: Some(b"A1".to_vec()),
                reason: Reason::UnrecognizedCommand
            })
        );
        buffer.drain(..step.consumed);
        let step = decoder.decode(&buffer);
        assert!(matches!(step.outcome, Outcome::Rejected(_)), "{step:?}");
        buffer.drain(..step.consumed);
        // A2's `{5}` was never answered, so no payload follows it.
        assert_eq!(
            decoder.decode(&buffer).outcome,
            Outcome::Done(command("A3", CommandKind::Noop))
        );
    }

    #[test]
    fn limits() {
        let mut decoder = CommandDecoder::new(SMALL);
        assert_eq!(
            decoder.decode(b"A1 FIND {17}\r\n").outcome,
            Outcome::Rejected(CommandError {
                tag: Some(b"A1".to_vec()),
                reason: Reason::LiteralTooLarge
            })
        );
        let mut decoder = CommandDecoder::new(SMALL);
        let mut buffer = b"A1 FIND \"".to_vec();
        buffer.extend_from_slice(&[b'x'; 40]);
        let step = decoder.decode(&buffer);
        assert_eq!(
            step.outcome,
            Outcome::Rejected(CommandError {
                tag: Some(b"A1".to_vec()),
                reason: Reason::LineTooLong
            })
        );
        // The rest of the long line is skipped as it comes, without being kept.
        buffer.drain(..step.consumed);
        let step = decoder.decode(&buffer);
        assert_eq!(
            (step.consumed, step.outcome),
            (buffer.len(), Outcome::Incomplete)
        );
        let step = decoder.decode(b"xxxx\"\r\nB1 NOOP\r\n");
        assert_eq!(
            step.outcome,
            Outcome::Done(command("B1", CommandKind::Noop))
        );
        assert_eq!(step.consumed, 16);
    }

    #[test]
    fn a_huge_literal_is_refused_and_skipped_without_being_kept() {
        let mut decoder = CommandDecoder::new(SMALL);
        let step = decoder.decode(b"A1 FIND {100000+}\r\n");
        assert_eq!(
            step.outcome,
            Outcome::Rejected(CommandError {
                tag: Some(b"A1".to_vec()),
                reason: Reason::LiteralTooLarge
            })
        );
        assert_eq!(step.consumed, 8);
        let step = decoder.decode(b"{100000+}\r\n");
        assert_eq!((step.consumed, step.outcome), (11, Outcome::Incomplete));
        let chunk = [b'x'; 1000];
        for _ in 0..100 {
            let step = decoder.decode(&chunk);
            assert_eq!((step.consumed, step.outcome), (1000, Outcome::Incomplete));
        }
        let step = decoder.decode(b"\r\nA2 NOOP\r\n");
        assert_eq!(
            step.outcome,
            Outcome::Done(command("A2", CommandKind::Noop))
        );
        assert_eq!(step.consumed, 11);
    }

    #[test]
    fn sasl_lines() {
        let mut decoder = CommandDecoder::default();
        assert_eq!(
            decoder.decode_sasl(b"YWJj\r\n"),
            Step {
                consumed: 6,
                outcome: Outcome::Done(SaslResponse::Data(b"abc".to_vec()))
            }
        );
        assert_eq!(decoder.decode_sasl(b"*\r").outcome, Outcome::Incomplete);
        assert_eq!(
            decoder.decode_sasl(b"*\r\n").outcome,
            Outcome::Done(SaslResponse::Cancel)
        );
        let step = decoder.decode_sasl(b"a b\r\n=\r\n");
        assert_eq!(
            (step.consumed, step.outcome),
            (
                5,
                Outcome::Rejected(CommandError {
                    tag: None,
                    reason: Reason::BadlyFormedArguments
                })
            )
        );
        // Only the bad line goes: the next one is read as it is.
        assert!(matches!(
            decoder.decode_sasl(b"=\r\n").outcome,
            Outcome::Rejected(_)
        ));
        assert_eq!(
            decoder.decode_sasl(b"\r\n").outcome,
            Outcome::Done(SaslResponse::Data(Vec::new()))
        );
    }
}
