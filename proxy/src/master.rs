//! The proxy's write connection to the MUPDATE master: RESERVE, ACTIVATE and DELETE for the
//! mailboxes the proxy registers itself (CREATE on a backend that does not register its own,
//! `registers = false`, and the switch of a mailbox moved under its own name).
//!
//! A RESERVE is made only for a name the master does not have at all: a FIND first, under the
//! same lock, so that two sessions of this proxy never both hold one name. (The master itself
//! lets a RESERVE through at the location that already holds the name, and such a RESERVE
//! would turn an active mailbox back into a reserved one.)
//!
//! One persistent connection per proxy process, shared by the cores behind a mutex (writes are
//! rare: one CREATE is three of them) and used from a blocking thread
//! (glommio's `spawn_blocking` in the driver). It logs in with the follower's
//! credentials, which then need a role allowed to write those servers' entries (an admin, or
//! the backend role of the one server; an administrator's move of a user to another backend,
//! `session/xfer.rs`, ACTIVATEs entries of any server: the admin role). A connection idle for a while is checked with a `NOOP`
//! before it carries a write; a write whose connection fails is not retried (it may have been
//! applied), and the session answers `NO [UNAVAILABLE]`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use corvid_mupdate::client::{Client, ClientError};
use corvid_mupdate::follower::Credentials;
use corvid_proto::mupdate::{CommandKind, Status};

/// A connection idle this long is checked with a `NOOP` before a write.
const CHECK_AFTER: Duration = Duration::from_secs(30);

/// The refusal of a RESERVE of a name the master has.
const REFUSED_EXISTS: &str = "mailbox already exists";

/// Why the master did not make a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterError {
    /// The master answered NO or BAD (its text).
    #[error("the mailbox master refused: {0}")]
    Refused(String),
    /// The master could not be asked (or its answer was lost).
    #[error("the mailbox master is unreachable: {0}")]
    Unreachable(String),
}

/// The proxy's handle on the master for writes.
#[derive(Debug)]
pub struct MasterWriter {
    master: String,
    credentials: Credentials,
    timeout: Duration,
    /// The connection, and when it last carried a command.
    connection: Mutex<Option<(Client, Instant)>>,
}

impl MasterWriter {
    /// Writes to `master` (`host:port`) as `credentials`; every answer waits at most
    /// `timeout`. Nothing is connected until the first write.
    pub fn new(master: String, credentials: Credentials, timeout: Duration) -> MasterWriter {
        MasterWriter {
            master,
            credentials,
            timeout,
            connection: Mutex::new(None),
        }
    }

    /// Sends one write (RESERVE, ACTIVATE, DELETE) and waits for its answer; a RESERVE of a
    /// name the master has already is refused here (see the module doc). Blocks.
    pub fn write(&self, command: CommandKind) -> Result<(), MasterError> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let reusable = match slot.take() {
            Some((client, used)) if used.elapsed() < CHECK_AFTER => Some(client),
            Some((mut client, _)) => match client.command(CommandKind::Noop) {
                Ok(reply) if reply.status == Status::Ok => Some(client),
                _ => None,
            },
            None => None,
        };
        let mut client = match reusable {
            Some(client) => client,
            None => self.connect().map_err(unreachable)?,
        };
        let result = self.write_on(&mut client, command);
        if !matches!(result, Err(MasterError::Unreachable(_))) {
            *slot = Some((client, Instant::now()));
        }
        result
    }

    fn write_on(&self, client: &mut Client, command: CommandKind) -> Result<(), MasterError> {
        if let CommandKind::Reserve { name, .. } = &command {
            let find = CommandKind::Find { name: name.clone() };
            let found = client.command(find).map_err(unreachable)?;
            if !found.records.is_empty() {
                return Err(MasterError::Refused(REFUSED_EXISTS.into()));
            }
        }
        let reply = client.command(command).map_err(unreachable)?;
        match reply.status {
            Status::Ok => Ok(()),
            _ => Err(MasterError::Refused(reply.text)),
        }
    }

    fn connect(&self) -> Result<Client, ClientError> {
        let mut client = Client::connect(&self.master, self.timeout)?;
        let Credentials {
            user,
            password,
            authzid,
        } = &self.credentials;
        client.authenticate(user, password, authzid)?;
        Ok(client)
    }
}

fn unreachable(error: ClientError) -> MasterError {
    MasterError::Unreachable(error.to_string())
}
