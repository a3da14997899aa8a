//! A session's connection to one backend, as a state machine: greet, log in, learn the
//! capabilities, then carry commands one at a time.
//!
//! A link starts [`LinkState::Connecting`]; the driver opens the socket and reports it. The
//! link then reads the greeting, asks for CAPABILITY when the greeting did not carry it, logs
//! in (SASL PLAIN, with SASL-IR when the backend has it, else after the `+`), and reads the
//! capabilities again after login (they change). Commands queued meanwhile are held back
//! until the link is [`LinkState::Ready`]. A backend without LITERAL+ is refused: the proxy
//! turns every synchronizing literal it forwards into a non-synchronizing one, so that a
//! client's `+` never waits on a backend round trip.
//!
//! Each command sent on a link is remembered in order with its tag ([`InFlight`]); the backend
//! answers them in order, so the tagged line that ends each one is recognised by its tag.

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corvid_proto::imap::framer::{Framer, FramerLimits};
use corvid_proto::imap::response::Atoms;

/// A link's index in its session.
pub type LinkId = usize;

/// How a link logs in to its backend.
#[derive(Clone, PartialEq, Eq)]
pub enum LinkLogin {
    /// As the proxy's identity, acting for the user (SASL PLAIN authzid = the user).
    Proxy {
        /// The proxy's login name on the backend.
        authcid: String,
        /// Its password.
        password: String,
        /// The user the session acts for.
        user: String,
    },
    /// With the client's own credentials (this also verifies them).
    Client {
        /// The user's login name.
        user: String,
        /// The user's password.
        password: Vec<u8>,
    },
}

impl std::fmt::Debug for LinkLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never a password in a log line.
        match self {
            LinkLogin::Proxy { authcid, user, .. } => {
                write!(f, "Proxy {{ authcid: {authcid:?}, user: {user:?} }}")
            }
            LinkLogin::Client { user, .. } => write!(f, "Client {{ user: {user:?} }}"),
        }
    }
}

impl LinkLogin {
    /// The SASL PLAIN message: `authzid NUL authcid NUL password`.
    fn plain_message(&self) -> Vec<u8> {
        let (authzid, authcid, password): (&[u8], &[u8], &[u8]) = match self {
            LinkLogin::Proxy {
                authcid,
                password,
                user,
            } => (user.as_bytes(), authcid.as_bytes(), password.as_bytes()),
            LinkLogin::Client { user, password } => (b"", user.as_bytes(), password),
        };
        [authzid, b"\0", authcid, b"\0", password].concat()
    }
}

/// Where a link is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// The driver is opening the socket.
    Connecting,
    /// Waiting for the backend's greeting.
    Greeting,
    /// Logging in (CAPABILITY, AUTHENTICATE, CAPABILITY again).
    LoggingIn,
    /// Logged in: commands flow.
    Ready,
    /// Gone: failed, closed, or lost.
    Closed,
}

/// What a command sent on a link is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// A client's command, relayed with the client's tag.
    Client,
    /// The link's own CAPABILITY (before or after login).
    Capability,
    /// The link's own AUTHENTICATE.
    Login,
    /// The proxy's ENABLE, carrying what the client enabled to this backend.
    Enable,
    /// The proxy's UNSELECT of a mailbox the session moved away from.
    Unselect,
    /// The proxy's `LSUB "" "*"`, for a LIST or LSUB that needs the subscriptions.
    Subscriptions,
    /// A cross-backend COPY or MOVE: the FETCH of the messages from the source.
    TransferFetch,
    /// A cross-backend COPY or MOVE: an APPEND (or MULTIAPPEND) to the destination.
    TransferAppend,
    /// A cross-backend MOVE: the source's `UID STORE +FLAGS.SILENT (\Deleted)`.
    TransferStore,
    /// A cross-backend MOVE: the source's `UID EXPUNGE`.
    TransferExpunge,
    /// The client's CREATE, RENAME or DELETE, on a backend the proxy registers it for: its
    /// answer waits for the master (`session/register.rs`).
    Register,
    /// One of the commands of a RENAME across backends, on its own links
    /// (`session/relocate.rs`).
    Relocate,
}

/// A command sent on a link and not yet answered.
#[derive(Debug, Clone)]
pub struct InFlight {
    /// Its tag.
    pub tag: Vec<u8>,
    /// What it is for.
    pub purpose: Purpose,
}

/// One backend connection of a session.
#[derive(Debug)]
pub struct Link {
    /// The backend's server name (as the mailbox table names it).
    pub server: Box<str>,
    /// Where the link is in its life.
    pub state: LinkState,
    /// Frames the backend's responses.
    pub framer: Framer,
    /// Bytes to send to the backend.
    pub output: Vec<u8>,
    /// Client bytes held back until the link is ready.
    held: Vec<u8>,
    /// The client commands in `held`, oldest first.
    held_in_flight: Vec<InFlight>,
    /// Commands sent and not yet answered, oldest first.
    pub in_flight: VecDeque<InFlight>,
    /// The backend's capabilities (after login, once known), as one line of atoms.
    pub capabilities: Vec<u8>,
    /// Extensions ENABLEd on this backend.
    pub enabled: Vec<Vec<u8>>,
    /// Extensions to ENABLE once logged in.
    to_enable: Vec<Vec<u8>>,
    /// A mailbox is selected on this backend.
    pub selected: bool,
    /// How to log in.
    pub(super) login: LinkLogin,
    /// The login succeeded.
    logged_in: bool,
    /// The number of the link's next own tag.
    next_tag: u32,
}

/// Why a link failed while logging in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The greeting was not `* OK` (or was `* BYE`).
    #[error("backend refused the connection: {0}")]
    Greeting(String),
    /// The backend refused the login.
    #[error("backend refused the login: {0}")]
    LoginRefused(String),
    /// The backend lacks something the proxy needs.
    #[error("backend lacks {0}")]
    Lacks(&'static str),
    /// The backend sent something that is not IMAP.
    #[error("backend sent an invalid response")]
    Protocol,
}

impl Link {
    /// A link about to connect to `server`.
    pub fn new(server: Box<str>, login: LinkLogin, limits: FramerLimits) -> Link {
        Link {
            server,
            state: LinkState::Connecting,
            framer: Framer::new(limits),
            output: Vec::new(),
            held: Vec::new(),
            held_in_flight: Vec::new(),
            in_flight: VecDeque::new(),
            capabilities: Vec::new(),
            enabled: Vec::new(),
            to_enable: Vec::new(),
            selected: false,
            login,
            logged_in: false,
            next_tag: 1,
        }
    }

    /// Does the backend have `capability` (known once logged in)?
    pub fn has(&self, capability: &[u8]) -> bool {
        Atoms::new(&self.capabilities).is_some_and(|atoms| atoms.contains(capability))
    }

    /// Has the login succeeded?
    pub fn is_logged_in(&self) -> bool {
        self.logged_in
    }

    /// Is this link the one logging in with the client's own credentials?
    pub fn verifies_client(&self) -> bool {
        matches!(self.login, LinkLogin::Client { .. })
    }

    /// Sends (or holds, until ready) a client command's bytes.
    pub fn send_client(&mut self, bytes: &[u8]) {
        if self.state == LinkState::Ready {
            self.output.extend_from_slice(bytes);
        } else {
            self.held.extend_from_slice(bytes);
        }
    }

    /// Notes that a command of the client's with `tag` went (or will go, once ready) on this
    /// link, its answer for `purpose` (relayed for [`Purpose::Client`], else the session's).
    pub fn expect_reply(&mut self, tag: &[u8], purpose: Purpose) {
        let entry = InFlight {
            tag: tag.to_vec(),
            purpose,
        };
        if self.state == LinkState::Ready {
            self.in_flight.push_back(entry);
        } else {
            self.held_in_flight.push(entry);
        }
    }

    /// Sends one of the link's own commands: `tag command\r\n`.
    pub fn send_own(&mut self, purpose: Purpose, command: &[u8]) {
        self.begin_own(purpose);
        self.output.extend_from_slice(command);
        self.output.extend_from_slice(b"\r\n");
    }

    /// Starts one of the link's own commands: writes `tag ` and expects its answer; the
    /// caller writes the rest (an APPEND whose literals stream after it).
    pub fn begin_own(&mut self, purpose: Purpose) {
        let tag = format!("Cv{}", self.next_tag).into_bytes();
        self.next_tag += 1;
        self.output.extend_from_slice(&tag);
        self.output.push(b' ');
        self.in_flight.push_back(InFlight { tag, purpose });
    }

    /// The socket is open: wait for the greeting.
    pub fn connected(&mut self) {
        if self.state == LinkState::Connecting {
            self.state = LinkState::Greeting;
        }
    }

    /// The greeting arrived, with its capabilities when it carried them.
    pub fn greeted(
        &mut self,
        ok: bool,
        text: &[u8],
        capabilities: Option<&[u8]>,
    ) -> Result<(), LinkError> {
        if !ok {
            return Err(LinkError::Greeting(
                String::from_utf8_lossy(text).into_owned(),
            ));
        }
        self.state = LinkState::LoggingIn;
        self.capabilities_or_ask(capabilities, false)
    }

    /// Goes on with the capabilities a response carried, or asks for them (CAPABILITY).
    fn capabilities_or_ask(
        &mut self,
        capabilities: Option<&[u8]>,
        after_login: bool,
    ) -> Result<(), LinkError> {
        match capabilities {
            Some(atoms) => self.capabilities_known(atoms, after_login),
            None => {
                self.send_own(Purpose::Capability, b"CAPABILITY");
                Ok(())
            }
        }
    }

    /// The capabilities are known (`after_login`: the ones that count from now on).
    pub fn capabilities_known(&mut self, atoms: &[u8], after_login: bool) -> Result<(), LinkError> {
        self.capabilities = atoms.to_vec();
        if after_login {
            return self.ready();
        }
        if !self.has(b"AUTH=PLAIN") {
            return Err(LinkError::Lacks("AUTH=PLAIN"));
        }
        let message = self.login.plain_message();
        if self.has(b"SASL-IR") {
            let mut command = b"AUTHENTICATE PLAIN ".to_vec();
            command.extend_from_slice(BASE64.encode(&message).as_bytes());
            self.send_own(Purpose::Login, &command);
        } else {
            self.send_own(Purpose::Login, b"AUTHENTICATE PLAIN");
        }
        Ok(())
    }

    /// The backend asked for the SASL response (no SASL-IR).
    pub fn login_continuation(&mut self) {
        let message = self.login.plain_message();
        self.output
            .extend_from_slice(BASE64.encode(&message).as_bytes());
        self.output.extend_from_slice(b"\r\n");
    }

    /// The login was answered: OK (with the new capabilities when the answer carried them)
    /// or not.
    pub fn logged_in(
        &mut self,
        ok: bool,
        text: &[u8],
        capabilities: Option<&[u8]>,
    ) -> Result<(), LinkError> {
        if !ok {
            return Err(LinkError::LoginRefused(
                String::from_utf8_lossy(text).into_owned(),
            ));
        }
        self.logged_in = true;
        self.capabilities_or_ask(capabilities, true)
    }

    /// Forgets the capabilities the proxy no longer asks about once the link is ready (the
    /// full list is long, and every idle session's links would keep it).
    pub fn keep_relevant_capabilities(&mut self) {
        const ASKED_ONCE_READY: &[&[u8]] = &[
            b"UNSELECT",
            b"CONDSTORE",
            b"QRESYNC",
            b"LITERAL+",
            b"UIDPLUS",
            b"MULTIAPPEND",
        ];
        let Some(atoms) = Atoms::new(&self.capabilities) else {
            self.capabilities = Vec::new();
            return;
        };
        let kept: Vec<&[u8]> = atoms
            .iter()
            .filter(|atom| {
                ASKED_ONCE_READY
                    .iter()
                    .any(|asked| atom.eq_ignore_ascii_case(asked))
            })
            .collect();
        self.capabilities = kept.join(&b' ');
    }

    /// Logged in with known capabilities: release what was held.
    fn ready(&mut self) -> Result<(), LinkError> {
        if !self.has(b"LITERAL+") {
            return Err(LinkError::Lacks("LITERAL+"));
        }
        self.state = LinkState::Ready;
        self.send_enable();
        let held = std::mem::take(&mut self.held);
        self.output.extend_from_slice(&held);
        self.in_flight.extend(self.held_in_flight.drain(..));
        Ok(())
    }

    /// ENABLEs on this backend what the session enabled and it has not (at once when ready,
    /// else first thing once logged in, before any held command).
    pub fn enable(&mut self, extensions: &[Vec<u8>]) {
        for ext in extensions {
            if !self.to_enable.contains(ext) {
                self.to_enable.push(ext.clone());
            }
        }
        if self.state == LinkState::Ready {
            self.send_enable();
        }
    }

    /// Sends ENABLE for what is to be enabled and the backend has.
    fn send_enable(&mut self) {
        let wanted = std::mem::take(&mut self.to_enable);
        let mut command = b"ENABLE".to_vec();
        for ext in wanted {
            if !self.enabled.contains(&ext) && self.has(&ext) {
                command.push(b' ');
                command.extend_from_slice(&ext);
                self.enabled.push(ext);
            }
        }
        if command.len() > b"ENABLE".len() {
            self.send_own(Purpose::Enable, &command);
        }
    }
}
