//! One client connection of the reference backend, sans-IO: bytes in, bytes and actions out.
//!
//! A driver feeds what the client sent ([`Session::feed`]); the session gathers whole commands
//! (sending `+` for synchronizing literals), runs them against the [`Store`] and writes the
//! responses. Two things it cannot do itself come back as an [`Action`] and stop the session
//! reading further commands until the driver answers: checking a password
//! ([`Session::verified`]) and a change in the MUPDATE master ([`Session::master_done`]).
//! When any session changes the store, the driver calls [`Session::refresh`] on the others,
//! which tells a session in IDLE what changed.

use std::sync::Arc;

use corvid_proto::mailbox::Namespace;

use super::store::Store;

/// What every session of one backend shares.
#[derive(Debug)]
pub struct SessionConfig {
    /// This backend's server name, as MUPDATE locations carry it (`be1`).
    pub server: String,
    /// The names clients see (the proxy's namespace).
    pub namespace: Namespace,
    /// Users who may log in on behalf of another (SASL PLAIN authorization id), as Cyrus
    /// `proxyservers`: the proxy's identity.
    pub proxy_users: Vec<String>,
    /// Users with the administrator's implicit rights on every mailbox.
    pub admins: Vec<String>,
    /// The largest message APPEND accepts, in octets.
    pub max_message: u64,
}

/// What a session needs done before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check `password` for `authcid` and answer with [`Session::verified`]. The session has
    /// already checked that `authcid` may act as `authzid`.
    Verify {
        /// Who authenticates.
        authcid: String,
        /// Their password.
        password: String,
    },
    /// Make this change in the MUPDATE master and answer with [`Session::master_done`].
    Master(MasterChange),
    /// Write the output, then close the connection.
    Close,
}

/// A change in the MUPDATE master, for this backend's server (and its partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterChange {
    /// `RESERVE`: claims a name before it is created here.
    Reserve {
        /// The internal name.
        name: String,
    },
    /// `ACTIVATE`: the mailbox exists here with this ACL.
    Activate {
        /// The internal name.
        name: String,
        /// Its ACL, MUPDATE form.
        acl: Vec<u8>,
    },
    /// `DELETE`: the name is gone from here (or a reservation is dropped).
    Delete {
        /// The internal name.
        name: String,
    },
}

/// What one [`Session::feed`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// How many input bytes it consumed; the driver keeps the rest for the next call.
    pub consumed: usize,
    /// What the driver must do before feeding more (after writing the output).
    pub action: Option<Action>,
}

/// One client's session.
#[derive(Debug)]
pub struct Session {
    config: Arc<SessionConfig>,
}

#[allow(unused_variables, clippy::todo)]
impl Session {
    /// A session that has not yet greeted its client.
    pub fn new(config: Arc<SessionConfig>) -> Session {
        Session { config }
    }

    /// Writes the greeting (`* OK [CAPABILITY ...] ...`).
    pub fn greeting(&self, out: &mut Vec<u8>) {
        todo!()
    }

    /// Runs the commands in `input` until it runs out, a command needs more bytes, or one
    /// waits on an [`Action`].
    pub fn feed(&mut self, store: &mut Store, input: &[u8], out: &mut Vec<u8>) -> Feed {
        todo!()
    }

    /// The answer to [`Action::Verify`].
    pub fn verified(&mut self, store: &mut Store, ok: bool, out: &mut Vec<u8>) -> Option<Action> {
        todo!()
    }

    /// The answer to [`Action::Master`]: `Err` carries the master's refusal or the failure.
    pub fn master_done(
        &mut self,
        store: &mut Store,
        result: Result<(), String>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        todo!()
    }

    /// The store changed (another session, or this one): a session in IDLE writes what its
    /// client has not yet been told (EXISTS, EXPUNGE, FETCH FLAGS). Others do nothing now and
    /// report at their next command.
    pub fn refresh(&mut self, store: &Store, out: &mut Vec<u8>) {
        todo!()
    }
}
