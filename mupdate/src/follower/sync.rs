//! The follower's protocol state machine, sans-IO: one MUPDATE connection's worth of keeping a
//! table in step with a master.
//!
//! A [`Follower`] holds the table it serves and the position it has reached. For each
//! connection, [`Follower::connect`] starts over: the master's banner, AUTHENTICATE PLAIN, then
//! `XRESUME` with the last position when the master offers the resumable stream and the follower
//! has a copy, else `UPDATE`. A whole dump is gathered aside and replaces the table only once its
//! tagged `OK` has come, so the old table serves until then (a Cyrus slave drops its clients
//! during a resync). Streamed records are applied at once. Every change to the served table is
//! also reported as an [`Update`], for whoever mirrors the table elsewhere (the proxy's cores).
//!
//! Records are state, not operations (a master sends a name's current state, perhaps twice), so
//! applying them is idempotent. The driver calls [`Follower::keepalive`] on a timer: a NOOP that
//! is still unanswered at the next tick means the connection is dead.

use corvid_proto::mupdate::{
    AuthReply, Banner, Command, CommandKind, DecodeError, Decoded, Limits, Record, Response, Status,
};

use crate::resume::{self, Position};
use crate::table::{Base, BaseError, Change, EntryRef, MailboxTable, State};

/// How the follower logs in.
#[derive(Clone)]
pub struct Credentials {
    /// The authentication id.
    pub user: String,
    /// Its password.
    pub password: String,
    /// The authorization id (empty: act as `user`).
    pub authzid: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("authzid", &self.authzid)
            .finish_non_exhaustive()
    }
}

/// A change to the served table, for mirrors of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The whole table was replaced (after a dump): copy it again.
    Replaced,
    /// One entry changed.
    Changed(Change),
}

/// Why a connection must be dropped (the driver reconnects after a pause).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The master's bytes do not parse.
    #[error("master sent malformed MUPDATE: {0}")]
    Protocol(#[from] DecodeError),
    /// The master refused the login.
    #[error("master refused the login: {0}")]
    LoginRefused(String),
    /// The master answered something a follower never expects.
    #[error("unexpected from the master: {0}")]
    Unexpected(String),
    /// The master said BYE.
    #[error("master closed the session: {0}")]
    Bye(String),
    /// A NOOP went unanswered for a whole keepalive interval, or a sync stalled.
    #[error("master did not answer in time")]
    Timeout,
    /// The dump could not be made into a table.
    #[error("building the table from the dump: {0}")]
    Build(#[from] BaseError),
}

/// How the last synchronisation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncStats {
    /// Whether it was a whole dump (else a delta after XRESUME).
    pub dump: bool,
    /// Records received before streaming started.
    pub records: usize,
}

#[derive(Debug)]
enum Phase {
    Banner,
    Authenticating,
    /// Waiting for the dump or delta to end; a dump's entries are gathered in `dump`.
    Syncing,
    Streaming,
}

/// One entry of a dump being received.
type Gathered = (Box<[u8]>, Box<[u8]>, Box<[u8]>, State);

const AUTH_TAG: &[u8] = b"A01";
const UPDATE_TAG: &[u8] = b"U01";

/// A copy of a master's table and the state of the connection that keeps it.
#[derive(Debug)]
pub struct Follower {
    table: MailboxTable,
    position: Option<Position>,
    credentials: Credentials,
    hosts: Vec<Vec<u8>>,
    limits: Limits,
    phase: Phase,
    /// Entries of a dump under way (`None`: a delta, or not syncing).
    dump: Option<Vec<Gathered>>,
    stats: SyncStats,
    out: Vec<u8>,
    noops_sent: u64,
    noop_outstanding: bool,
    /// Keepalive ticks since bytes last came, while not yet streaming.
    quiet_ticks: u32,
    ready: bool,
}

impl Follower {
    /// A follower serving `table` (from its snapshot on disk, or empty), which stands at
    /// `position` in its master's history when known. `hosts` restricts it to those servers'
    /// entries (PARTIAL-UPDATE); empty means all.
    pub fn new(
        table: MailboxTable,
        position: Option<Position>,
        credentials: Credentials,
        hosts: Vec<Vec<u8>>,
    ) -> Follower {
        Follower {
            table,
            position,
            credentials,
            hosts,
            limits: Limits {
                max_line: 64 << 10,
                max_literal: 1 << 20,
            },
            phase: Phase::Banner,
            dump: None,
            stats: SyncStats::default(),
            out: Vec::new(),
            noops_sent: 0,
            noop_outstanding: false,
            quiet_ticks: 0,
            ready: false,
        }
    }

    /// The table served.
    pub fn table(&self) -> &MailboxTable {
        &self.table
    }

    /// Where the table stands in the master's history, when the master reports it.
    pub fn position(&self) -> Option<Position> {
        self.position
    }

    /// Whether the current connection has caught up with the master (streaming).
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// How the last synchronisation went.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Starts a new connection: forget the old one's state (the table stays).
    pub fn connect(&mut self) {
        self.phase = Phase::Banner;
        self.dump = None;
        self.out.clear();
        self.noop_outstanding = false;
        self.quiet_ticks = 0;
        self.ready = false;
    }

    /// Bytes to send to the master (taken).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// Called every keepalive interval: sends a NOOP, or fails if the last one is unanswered.
    /// Before streaming (banner, login, dump), it fails when two whole intervals passed without
    /// a byte from the master: a master that stalls a sync does not stall the follower.
    pub fn keepalive(&mut self) -> Result<(), SyncError> {
        if !matches!(self.phase, Phase::Streaming) {
            self.quiet_ticks += 1;
            return if self.quiet_ticks > 2 {
                Err(SyncError::Timeout)
            } else {
                Ok(())
            };
        }
        if self.noop_outstanding {
            return Err(SyncError::Timeout);
        }
        self.noops_sent += 1;
        self.noop_outstanding = true;
        Command {
            tag: format!("N{}", self.noops_sent).into_bytes(),
            kind: CommandKind::Noop,
        }
        .encode(&mut self.out);
        Ok(())
    }

    /// Takes the master's bytes at the front of `input`; returns how many it used and adds the
    /// changes made to the served table to `updates`.
    pub fn receive(&mut self, input: &[u8], updates: &mut Vec<Update>) -> Result<usize, SyncError> {
        if !input.is_empty() {
            self.quiet_ticks = 0;
        }
        let mut used = 0;
        loop {
            let rest = &input[used..];
            if rest.is_empty() {
                return Ok(used);
            }
            let consumed = match self.phase {
                Phase::Banner => match Banner::decode(rest, self.limits)? {
                    Decoded::Done { value, consumed } => {
                        self.authenticate(&value);
                        consumed
                    }
                    Decoded::Incomplete => return Ok(used),
                },
                Phase::Authenticating => match AuthReply::decode(rest, self.limits)? {
                    Decoded::Done { value, consumed } => {
                        self.authenticated(value)?;
                        consumed
                    }
                    Decoded::Incomplete => return Ok(used),
                },
                Phase::Syncing | Phase::Streaming => match Response::decode(rest, self.limits)? {
                    Decoded::Done { value, consumed } => {
                        self.response(value, updates)?;
                        consumed
                    }
                    Decoded::Incomplete => return Ok(used),
                },
            };
            used += consumed;
        }
    }

    fn authenticate(&mut self, banner: &Banner) {
        let resumable = banner
            .extensions
            .iter()
            .any(|line| line.as_slice() == resume::CAPABILITY);
        let credentials = &self.credentials;
        let message = [
            credentials.authzid.as_bytes(),
            credentials.user.as_bytes(),
            credentials.password.as_bytes(),
        ]
        .join(&0u8);
        Command {
            tag: AUTH_TAG.to_vec(),
            kind: CommandKind::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some(message),
            },
        }
        .encode(&mut self.out);
        // A corvid master is always asked with XRESUME, so that it reports positions, pipelined
        // behind the login (a refused login makes the master refuse it too). Cyrus 3.6's
        // master drops a command that arrives in the same read as AUTHENTICATE, so it is sent
        // UPDATE once the login is answered.
        if resumable {
            Command {
                tag: UPDATE_TAG.to_vec(),
                kind: CommandKind::Resume {
                    position: self
                        .position
                        .map_or(b"none".to_vec(), |p| p.to_string().into_bytes()),
                    hosts: self.hosts.clone(),
                },
            }
            .encode(&mut self.out);
        } else {
            // Cyrus: every record before the tagged OK is a dump.
            self.dump = Some(Vec::new());
        }
        self.stats = SyncStats {
            dump: self.dump.is_some(),
            records: 0,
        };
        self.phase = Phase::Authenticating;
    }

    fn authenticated(&mut self, reply: AuthReply) -> Result<(), SyncError> {
        match reply {
            AuthReply::Done(Response::Status {
                status: Status::Ok, ..
            }) => {
                if self.dump.is_some() {
                    Command {
                        tag: UPDATE_TAG.to_vec(),
                        kind: CommandKind::Update {
                            hosts: self.hosts.clone(),
                        },
                    }
                    .encode(&mut self.out);
                }
                self.phase = Phase::Syncing;
                Ok(())
            }
            AuthReply::Done(Response::Status { text, .. }) => Err(SyncError::LoginRefused(
                String::from_utf8_lossy(&text).into(),
            )),
            other => Err(SyncError::Unexpected(format!("{other:?}"))),
        }
    }

    fn response(&mut self, response: Response, updates: &mut Vec<Update>) -> Result<(), SyncError> {
        match response {
            Response::Record { record, .. } => {
                if matches!(self.phase, Phase::Syncing) {
                    self.stats.records += 1;
                }
                match &mut self.dump {
                    Some(gathered) => gather(gathered, record),
                    None => {
                        let change = change_of(record);
                        let seq = self.table.seq() + 1;
                        self.table.apply(seq, change.clone());
                        updates.push(Update::Changed(change));
                    }
                }
                Ok(())
            }
            Response::Status {
                tag: None,
                status: Status::Ok,
                text,
            } => {
                if text == resume::DUMP {
                    self.dump = Some(Vec::new());
                    self.stats.dump = true;
                } else if let Some(position) = resume::Position::from_line(&text) {
                    self.position = Some(position);
                }
                Ok(())
            }
            Response::Status {
                tag: None,
                status: Status::Bye,
                text,
            } => Err(SyncError::Bye(String::from_utf8_lossy(&text).into())),
            Response::Status {
                tag: Some(tag),
                status: Status::Ok,
                ..
            } if tag == UPDATE_TAG && matches!(self.phase, Phase::Syncing) => {
                if let Some(gathered) = self.dump.take() {
                    self.table = table_of(gathered, self.position)?;
                    updates.push(Update::Replaced);
                }
                self.phase = Phase::Streaming;
                self.ready = true;
                Ok(())
            }
            Response::Status {
                tag: Some(tag),
                status: Status::Ok,
                ..
            } if tag.first() == Some(&b'N') && matches!(self.phase, Phase::Streaming) => {
                self.noop_outstanding = false;
                Ok(())
            }
            other => Err(SyncError::Unexpected(format!("{other:?}"))),
        }
    }
}

fn change_of(record: Record) -> Change {
    match record {
        Record::Mailbox {
            name,
            location,
            acl,
        } => Change::Upsert {
            name: name.into(),
            location: location.into(),
            acl: acl.into(),
            state: State::Active,
        },
        Record::Reserve { name, location } => Change::Upsert {
            name: name.into(),
            location: location.into(),
            acl: Box::default(),
            state: State::Reserved,
        },
        Record::Delete { name } => Change::Delete { name: name.into() },
    }
}

fn gather(gathered: &mut Vec<Gathered>, record: Record) {
    if let Change::Upsert {
        name,
        location,
        acl,
        state,
    } = change_of(record)
    {
        gathered.push((name, location, acl, state));
    }
}

/// The table a dump describes (sorted, the last record of a name winning), at the position
/// reported with it.
fn table_of(
    mut gathered: Vec<Gathered>,
    position: Option<Position>,
) -> Result<MailboxTable, BaseError> {
    gathered.sort_by(|a, b| corvid_proto::mailbox::dbname_cmp(&a.0, &b.0));
    gathered.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
    let entries = gathered
        .iter()
        .map(|(name, location, acl, state)| EntryRef {
            name,
            location,
            acl,
            state: *state,
        });
    let seq = position.map_or(0, |p| p.seq);
    Ok(MailboxTable::new(std::sync::Arc::new(Base::build(
        entries, seq,
    )?)))
}

#[cfg(test)]
mod tests;
