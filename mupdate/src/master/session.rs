//! One client connection to the master: RFC 3656's states and commands, sans-IO.
//!
//! A [`Session`] takes the bytes a client sent ([`Session::receive`]) and queues its answers;
//! the server moves bytes and nothing else. Every answer is queued with a *gate*, the number of
//! the last change the master had accepted when the answer was made: it may reach the client
//! only once that change is on disk ([`Session::release`]). So no client ever sees a state that
//! a crash could take back, and a write's `OK` means durable.
//!
//! Long answers (LIST, the dump that opens UPDATE) and the update stream are produced a piece
//! at a time by [`Session::produce`], while the client reads, so a session holds at most about
//! its output budget, whatever the table's size. A command that is still being answered holds
//! back the commands pipelined after it, which keeps the answers in order. In streaming, every
//! change is sent as soon as it is accepted (and released once durable); NOOP is answered only
//! after every change accepted before it: the barrier.
//!
//! The states are Cyrus's: before login only AUTHENTICATE, STARTTLS and LOGOUT (anything else
//! is `BAD "Please login first"`); after UPDATE only NOOP and LOGOUT (`BAD "not legal when
//! streaming"`). Checking a password and starting TLS are left to the server through
//! [`Action`]s.

use std::collections::VecDeque;

use corvid_proto::mupdate::{
    Banner, Command, CommandDecoder, CommandKind, Limits, Outcome, Reason, RecordRef, Response,
    SaslResponse, Status, encode_sasl_line,
};

use super::auth::{Identity, Login, LoginError};
use super::state::{Master, Refusal, Write};
use crate::resume::{self, Position};
use crate::table::EntryRef;

/// Entries a scan looks at per call of [`Session::produce`], matching or not, so that a LIST
/// with a rare prefix does not hold the event loop.
const SCAN_STEP: usize = 4096;

/// What every session of a master shares.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The banner, sent on connect.
    pub banner: Banner,
    /// Whether STARTTLS is on offer (a TLS configuration exists).
    pub starttls: bool,
    /// Bounds on one command.
    pub limits: Limits,
    /// Output bytes a session may hold unsent before it stops producing and reading.
    pub output_budget: usize,
}

/// Something the server must do for the session.
#[derive(Debug)]
pub enum Action {
    /// Check this login off the event loop, then call [`Session::verified`].
    Verify(Login),
    /// Once the output queued so far has been sent, start TLS on the connection, then call
    /// [`Session::tls_started`]. Bytes the client sent after STARTTLS belong to TLS.
    StartTls,
}

#[derive(Debug)]
enum Phase {
    /// Before login.
    Anonymous,
    /// AUTHENTICATE PLAIN without an initial response: waiting for the client's SASL line.
    Challenged { tag: Vec<u8> },
    /// Waiting for the server to check a login.
    Verifying { tag: Vec<u8> },
    /// Logged in.
    Ready(Identity),
    /// After UPDATE's dump: sending changes after `cursor` that concern `hosts` (and, after
    /// XRESUME, reporting the position after each piece).
    Streaming {
        tag: Vec<u8>,
        hosts: Vec<Vec<u8>>,
        cursor: u64,
        positions: bool,
    },
    /// After LOGOUT or BYE: nothing more is read.
    Closing,
}

/// A command still being answered.
#[derive(Debug)]
enum Work {
    /// LIST or UPDATE's dump: the entries after `after` in dbname order that pass `filter`.
    Scan {
        tag: Vec<u8>,
        after: Option<Box<[u8]>>,
        filter: Filter,
        /// UPDATE or XRESUME: stream after the dump, from the change the dump started at.
        then_stream: Option<Stream>,
    },
    /// Answered with `reason` once every change up to `seq` has been queued: NOOP in
    /// streaming, and the end of an XRESUME's delta.
    Barrier {
        tag: Vec<u8>,
        seq: u64,
        reason: Reason,
    },
}

/// The stream that follows a dump.
#[derive(Debug)]
struct Stream {
    /// The change the dump started at.
    from: u64,
    /// XRESUME: report positions.
    positions: bool,
}

#[derive(Debug)]
enum Filter {
    /// LIST with a prefix of the location string.
    LocationPrefix(Vec<u8>),
    /// UPDATE with host names (none: all).
    Hosts(Vec<Vec<u8>>),
}

impl Filter {
    fn keeps(&self, entry: &EntryRef<'_>) -> bool {
        match self {
            Filter::LocationPrefix(prefix) => entry.location.starts_with(prefix),
            Filter::Hosts(hosts) => {
                hosts.is_empty() || hosts.iter().any(|host| host.as_slice() == entry.server())
            }
        }
    }
}

/// One client connection's protocol state.
#[derive(Debug)]
pub struct Session {
    phase: Phase,
    decoder: CommandDecoder,
    work: Option<Work>,
    /// Answers not yet sent, each with its gate.
    out: VecDeque<(u64, Vec<u8>)>,
    out_bytes: usize,
    tls: bool,
    tls_pending: bool,
}

impl Session {
    /// A new connection (already under TLS if `tls`): the banner is queued.
    pub fn new(config: &SessionConfig, tls: bool) -> Session {
        let mut session = Session {
            phase: Phase::Anonymous,
            decoder: CommandDecoder::new(config.limits),
            work: None,
            out: VecDeque::new(),
            out_bytes: 0,
            tls,
            tls_pending: false,
        };
        session.queue_banner(config);
        session
    }

    fn queue_banner(&mut self, config: &SessionConfig) {
        let mut banner = config.banner.clone();
        banner.starttls = config.starttls && !self.tls;
        let mut bytes = Vec::new();
        banner.encode(&mut bytes);
        self.push(0, bytes);
    }

    /// Whether the server should read more from the client now: not while a command is being
    /// answered, a login checked or TLS started, nor while too much output waits.
    pub fn wants_input(&self, config: &SessionConfig) -> bool {
        self.work.is_none()
            && !self.tls_pending
            && !matches!(self.phase, Phase::Verifying { .. } | Phase::Closing)
            && self.out_bytes < config.output_budget
    }

    /// Whether the session is over: close the connection once [`Session::release`] has
    /// nothing left.
    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing)
    }

    /// Whether the session is streaming updates (it wants to hear of every change).
    pub fn is_streaming(&self) -> bool {
        matches!(self.phase, Phase::Streaming { .. })
    }

    /// Whether answers wait in the queue (released or not).
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Takes the commands at the front of `input`; returns how many bytes it used, and an
    /// action for the server if one is needed before going on. Stops early when it cannot take
    /// more now (see [`Session::wants_input`]); call again with the rest later.
    pub fn receive(
        &mut self,
        input: &[u8],
        master: &mut Master,
        config: &SessionConfig,
    ) -> (usize, Option<Action>) {
        let mut used = 0;
        while used < input.len() && self.wants_input(config) {
            let rest = &input[used..];
            let (consumed, action) = match &self.phase {
                Phase::Challenged { tag } => {
                    let tag = tag.clone();
                    let step = self.decoder.decode_sasl(rest);
                    let action = match step.outcome {
                        Outcome::Done(response) => self.sasl_response(tag, response, master),
                        Outcome::Rejected(_) => {
                            self.answer(master, &tag, Status::Bad, Reason::BadlyFormedArguments);
                            self.phase = Phase::Anonymous;
                            None
                        }
                        Outcome::Incomplete | Outcome::Continue(_) => {
                            return (used + step.consumed, None);
                        }
                    };
                    (step.consumed, action)
                }
                _ => {
                    let step = self.decoder.decode(rest);
                    let action = match step.outcome {
                        Outcome::Done(command) => self.command(command, master, config),
                        Outcome::Incomplete => return (used + step.consumed, None),
                        Outcome::Continue(continuation) => {
                            self.push(master.last_seq(), continuation.to_vec());
                            return (used + step.consumed, None);
                        }
                        Outcome::Rejected(error) => {
                            self.respond(master, error.response());
                            None
                        }
                    };
                    (step.consumed, action)
                }
            };
            used += consumed;
            if action.is_some() {
                return (used, action);
            }
        }
        (used, None)
    }

    fn command(
        &mut self,
        command: Command,
        master: &mut Master,
        config: &SessionConfig,
    ) -> Option<Action> {
        let Command { tag, kind } = command;
        let identity = match &self.phase {
            Phase::Ready(identity) => Some(identity.clone()),
            _ => None,
        };
        match kind {
            CommandKind::Logout => {
                self.answer(master, &tag, Status::Ok, Reason::ByeBye);
                self.phase = Phase::Closing;
            }
            CommandKind::Noop if self.is_streaming() => {
                self.work = Some(Work::Barrier {
                    tag,
                    seq: master.last_seq(),
                    reason: Reason::NoopDone,
                });
            }
            _ if self.is_streaming() => {
                self.answer(master, &tag, Status::Bad, Reason::NotLegalWhenStreaming);
            }
            CommandKind::Authenticate {
                mechanism,
                initial_response,
            } => return self.authenticate(tag, &mechanism, initial_response, master),
            CommandKind::StartTls if identity.is_none() => {
                if !config.starttls || self.tls {
                    self.answer(master, &tag, Status::Bad, Reason::UnrecognizedCommand);
                } else {
                    self.answer(master, &tag, Status::Ok, Reason::BeginTls);
                    self.tls_pending = true;
                    return Some(Action::StartTls);
                }
            }
            CommandKind::Compress { .. } => {
                self.answer(master, &tag, Status::Bad, Reason::UnrecognizedCommand);
            }
            _ if identity.is_none() => {
                self.answer(master, &tag, Status::Bad, Reason::PleaseLoginFirst);
            }
            CommandKind::StartTls => {
                self.answer(master, &tag, Status::Bad, Reason::AlreadyAuthenticated);
            }
            CommandKind::Noop => self.answer(master, &tag, Status::Ok, Reason::NoopDone),
            CommandKind::Find { name } => {
                if let Some(entry) = master.table().get(&name) {
                    let mut bytes = Vec::new();
                    entry.record().encode(&tag, &mut bytes);
                    self.push(master.last_seq(), bytes);
                }
                self.answer(master, &tag, Status::Ok, Reason::SearchCompleted);
            }
            CommandKind::List { prefix } => {
                self.work = Some(Work::Scan {
                    tag,
                    after: None,
                    filter: Filter::LocationPrefix(prefix.unwrap_or_default()),
                    then_stream: None,
                });
            }
            CommandKind::Update { hosts } => self.dump(master, tag, hosts, false),
            CommandKind::Resume { position, hosts } => self.resume(master, tag, &position, hosts),
            // What is left are the writes (the other commands are matched above).
            kind => match Write::new(kind) {
                Ok(write) => self.write(master, identity, &tag, write),
                Err(_) => self.answer(master, &tag, Status::Bad, Reason::UnrecognizedCommand),
            },
        }
        None
    }

    /// UPDATE (and XRESUME when a delta cannot be had): every entry, then the stream.
    fn dump(&mut self, master: &Master, tag: Vec<u8>, hosts: Vec<Vec<u8>>, positions: bool) {
        self.work = Some(Work::Scan {
            tag,
            after: None,
            filter: Filter::Hosts(hosts),
            then_stream: Some(Stream {
                from: master.last_seq(),
                positions,
            }),
        });
    }

    /// XRESUME: the changes since the follower's position if this master still has them (same
    /// epoch, not ahead of us, still in the change log), else a dump.
    fn resume(&mut self, master: &Master, tag: Vec<u8>, position: &[u8], hosts: Vec<Vec<u8>>) {
        let since = Position::parse(position)
            .filter(|p| p.epoch == master.epoch() && p.seq <= master.last_seq())
            .filter(|p| master.changes_after(p.seq).is_some());
        self.respond(master, resume::opening_line(since.is_some()));
        let Some(since) = since else {
            return self.dump(master, tag, hosts, true);
        };
        self.work = Some(Work::Barrier {
            tag: tag.clone(),
            seq: master.last_seq(),
            reason: Reason::StreamingStarts,
        });
        self.phase = Phase::Streaming {
            tag,
            hosts,
            cursor: since.seq,
            positions: true,
        };
    }

    fn write(&mut self, master: &mut Master, who: Option<Identity>, tag: &[u8], write: Write) {
        let Some(who) = who else { return };
        let (status, reason) = match master.write(&who, write) {
            Ok(_) => (Status::Ok, Reason::Done),
            Err(Refusal::No(reason)) => (Status::No, reason),
            Err(Refusal::Bad(reason)) => (Status::Bad, reason),
        };
        self.answer(master, tag, status, reason);
    }

    fn authenticate(
        &mut self,
        tag: Vec<u8>,
        mechanism: &str,
        initial_response: Option<Vec<u8>>,
        master: &Master,
    ) -> Option<Action> {
        if !matches!(self.phase, Phase::Anonymous) {
            self.answer(master, &tag, Status::Bad, Reason::AlreadyAuthenticated);
            return None;
        }
        if !mechanism.eq_ignore_ascii_case("PLAIN") {
            self.answer(master, &tag, Status::No, Reason::NoMechanism);
            return None;
        }
        match initial_response {
            Some(message) => self.plain(tag, &message, master),
            None => {
                // An empty challenge: an empty line.
                let mut line = Vec::new();
                encode_sasl_line(b"", &mut line);
                self.push(master.last_seq(), line);
                self.phase = Phase::Challenged { tag };
                None
            }
        }
    }

    fn sasl_response(
        &mut self,
        tag: Vec<u8>,
        response: SaslResponse,
        master: &Master,
    ) -> Option<Action> {
        self.phase = Phase::Anonymous;
        match response {
            SaslResponse::Data(message) => self.plain(tag, &message, master),
            SaslResponse::Cancel => {
                self.answer(master, &tag, Status::No, Reason::AuthenticationFailure);
                None
            }
        }
    }

    fn plain(&mut self, tag: Vec<u8>, message: &[u8], master: &Master) -> Option<Action> {
        match Login::from_plain(message) {
            Some(login) => {
                self.phase = Phase::Verifying { tag };
                Some(Action::Verify(login))
            }
            None => {
                self.answer(master, &tag, Status::No, Reason::AuthenticationFailure);
                None
            }
        }
    }

    /// The result of an [`Action::Verify`].
    pub fn verified(&mut self, result: Result<Identity, LoginError>, master: &Master) {
        let Phase::Verifying { tag } = std::mem::replace(&mut self.phase, Phase::Anonymous) else {
            return;
        };
        match result {
            Ok(identity) => {
                self.phase = Phase::Ready(identity);
                self.answer(master, &tag, Status::Ok, Reason::Authenticated);
            }
            Err(LoginError::Authentication) => {
                self.answer(master, &tag, Status::No, Reason::AuthenticationFailure);
            }
            Err(LoginError::Authorization) => {
                self.answer(master, &tag, Status::No, Reason::AuthorizationFailure);
            }
        }
    }

    /// TLS is up after an [`Action::StartTls`]: the banner is sent again (without STARTTLS).
    pub fn tls_started(&mut self, config: &SessionConfig) {
        self.tls = true;
        self.tls_pending = false;
        self.decoder = CommandDecoder::new(config.limits);
        self.queue_banner(config);
    }

    /// Advances what is being answered (a scan, a NOOP barrier) and the update stream, within
    /// the output budget.
    pub fn produce(&mut self, master: &Master, config: &SessionConfig) {
        while self.out_bytes < config.output_budget {
            match self.work.take() {
                Some(Work::Scan {
                    tag,
                    after,
                    filter,
                    then_stream,
                }) => {
                    if let Some(after) = self.scan(master, config, &tag, after, &filter) {
                        self.work = Some(Work::Scan {
                            tag,
                            after: Some(after),
                            filter,
                            then_stream,
                        });
                        return;
                    }
                    match (then_stream, filter) {
                        (Some(Stream { from, positions }), Filter::Hosts(hosts)) => {
                            if positions {
                                let position = Position {
                                    epoch: master.epoch(),
                                    seq: from,
                                };
                                self.respond(master, position.line());
                            }
                            self.answer(master, &tag, Status::Ok, Reason::StreamingStarts);
                            self.phase = Phase::Streaming {
                                tag,
                                hosts,
                                cursor: from,
                                positions,
                            };
                        }
                        _ => self.answer(master, &tag, Status::Ok, Reason::ListComplete),
                    }
                }
                Some(Work::Barrier { tag, seq, reason }) => {
                    if self.stream(master, config, seq) {
                        self.answer(master, &tag, Status::Ok, reason);
                    } else {
                        self.work = Some(Work::Barrier { tag, seq, reason });
                        return;
                    }
                }
                None => {
                    self.stream(master, config, master.last_seq());
                    return;
                }
            }
        }
    }

    /// Queues the next entries of a scan; `Some(last name)` if it must go on later.
    fn scan(
        &mut self,
        master: &Master,
        config: &SessionConfig,
        tag: &[u8],
        after: Option<Box<[u8]>>,
        filter: &Filter,
    ) -> Option<Box<[u8]>> {
        let table = master.table();
        let entries = match &after {
            Some(name) => table.after(name),
            None => table.iter(),
        };
        let mut piece = Vec::new();
        let mut last = None;
        for (looked, entry) in entries.enumerate() {
            if looked == SCAN_STEP || self.out_bytes + piece.len() >= config.output_budget {
                break;
            }
            if filter.keeps(&entry) {
                entry.record().encode(tag, &mut piece);
            }
            last = Some(entry.name);
        }
        let more = last.is_some_and(|name| table.after(name).next().is_some());
        let last = last.map(Box::from);
        self.push(master.last_seq(), piece);
        if more { last } else { None }
    }

    /// Queues the changes up to `through` that the stream has not sent; whether it got there.
    /// A session so far behind that the changes are no longer kept is told so and closed.
    fn stream(&mut self, master: &Master, config: &SessionConfig, through: u64) -> bool {
        let Phase::Streaming {
            tag,
            hosts,
            cursor,
            positions,
        } = &mut self.phase
        else {
            return true;
        };
        let Some(changes) = master.changes_after(*cursor) else {
            let mut bye = Vec::new();
            Response::untagged(Status::Bye, Reason::TooFarBehind).encode(&mut bye);
            self.phase = Phase::Closing;
            self.push(master.last_seq(), bye);
            return true;
        };
        let start = *cursor;
        let mut piece = Vec::new();
        for change in changes.take_while(|c| c.seq <= through) {
            if self.out_bytes + piece.len() >= config.output_budget {
                break;
            }
            if change.concerns(hosts) {
                let record = match master.table().get(&change.name) {
                    Some(entry) => entry.record(),
                    None => RecordRef::Delete { name: &change.name },
                };
                record.encode(tag, &mut piece);
            }
            *cursor = change.seq;
        }
        let done = *cursor >= through;
        if *positions && *cursor > start {
            let position = Position {
                epoch: master.epoch(),
                seq: *cursor,
            };
            position.line().encode(&mut piece);
        }
        self.push(master.last_seq(), piece);
        done
    }

    /// Moves every answer whose gate is at or below `durable` into `out`, in order.
    pub fn release(&mut self, durable: u64, out: &mut Vec<u8>) {
        while let Some((gate, _)) = self.out.front() {
            if *gate > durable {
                break;
            }
            if let Some((_, bytes)) = self.out.pop_front() {
                self.out_bytes -= bytes.len();
                out.extend_from_slice(&bytes);
            }
        }
    }

    fn answer(&mut self, master: &Master, tag: &[u8], status: Status, reason: Reason) {
        self.respond(master, Response::tagged(tag, status, reason));
    }

    fn respond(&mut self, master: &Master, response: Response) {
        let mut bytes = Vec::new();
        response.encode(&mut bytes);
        self.push(master.last_seq(), bytes);
    }

    fn push(&mut self, gate: u64, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.out_bytes += bytes.len();
        match self.out.back_mut() {
            // Join small pieces with the same gate, so the server writes fewer, larger buffers.
            Some((last_gate, last)) if *last_gate == gate && last.len() < 16 * 1024 => {
                last.extend_from_slice(&bytes);
            }
            _ => self.out.push_back((gate, bytes)),
        }
    }
}

#[cfg(test)]
mod tests;
