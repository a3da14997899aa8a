//! One client's IMAP session, as a sans-IO state machine: bytes from the client and from its
//! backend links in, bytes and [`Action`]s out.
//!
//! The driver feeds [`Session::client_input`] and [`Session::link_input`] with what the
//! sockets delivered (the session says how much it consumed; the rest stays with the driver),
//! writes [`Session::client_output`] and each link's output, and carries out the actions
//! (connect a link, start TLS, close). Time comes in as a value. Nothing here blocks or
//! allocates per byte: a command's head is parsed once (in place when it is one line), and
//! the rest of every message is passed through as the framer cuts it.
//!
//! # How commands flow
//!
//! Commands are taken one at a time: while one is in flight the client's further input waits
//! in the driver's buffer (which bounds it). Each command is answered by the proxy itself
//! (CAPABILITY, ID, NAMESPACE, ENABLE, LOGIN, ...) or relayed with the client's own tag to the
//! backend that holds the mailbox it names (`session/route.rs`); the backend's answer is relayed back
//! until its tagged line. A synchronizing literal is answered `+` by the proxy and forwarded
//! as non-synchronizing (every backend must have LITERAL+), so a literal costs no backend round
//! trip and an APPEND streams through without being gathered.
//!
//! While a mailbox is selected, the untagged data its backend sends (EXISTS, EXPUNGE, FETCH)
//! reaches the client between commands too. A message being relayed owns the client's output
//! until it ends, so data from two backends is never interleaved.
//!
//! # Layout
//!
//! This file holds the state and the client's input; [`link`] is one backend connection,
//! `backend.rs` the backends' input, `login.rs` logging in, `local.rs` the commands answered
//! here, `route.rs` where relayed commands go, `transfer.rs` COPY and MOVE between backends,
//! `register.rs` the master round trips of CREATE, RENAME and DELETE, `relocate.rs` RENAME
//! across backends, [`capability`] what CAPABILITY says.

mod backend;
pub mod capability;
pub mod link;
mod local;
mod login;
pub mod naming;
mod referral;
mod register;
mod relocate;
mod route;
#[cfg(test)]
mod tests;
mod transfer;
mod xfer;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use corvid_mupdate::table::MailboxTable;
use corvid_proto::imap::command::{
    Args, CommandHead, CommandKind, HeadError, ListArgs, parse_head, parse_idle_done,
};
use corvid_proto::imap::framer::{Frame, FrameError, Framer, FramerLimits, LineEnd};
use corvid_proto::imap::response::{Atoms, Code, Response, StatusKind, Untagged, classify};
use corvid_proto::imap::writer::{Namespace as NamespaceEntry, ResponseWriter};
use corvid_proto::mailbox::name::Namespace;

use corvid_mupdate::view::{Subscriptions, View, Viewer, needs_subscriptions};
use corvid_proto::mupdate::CommandKind as MasterCommand;

use crate::placement::Placement;

pub use link::{Link, LinkError, LinkId, LinkLogin, LinkState, Purpose};
pub use naming::BackendProfile;
pub use register::TableWait;
pub use relocate::JournalOp;
use route::Destination;
pub use route::Refusal;

/// How the proxy logs in to backends other than the one that verified the client.
#[derive(Clone, PartialEq, Eq)]
pub enum BackendLogin {
    /// As this identity, with the user as authorization id (Cyrus `proxyservers`, Dovecot
    /// master users).
    Proxy {
        /// The proxy's login name on the backends.
        user: String,
        /// Its password.
        password: String,
    },
    /// With the client's own credentials.
    ClientCredentials,
}

impl std::fmt::Debug for BackendLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackendLogin::Proxy { user, .. } => write!(f, "Proxy {{ user: {user:?} }}"),
            BackendLogin::ClientCredentials => f.write_str("ClientCredentials"),
        }
    }
}

/// How a client's login is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// By logging in to the user's INBOX backend with the client's credentials.
    InboxBackend,
    /// By the driver, against the local password file ([`Action::CheckPassword`]).
    PasswordFile,
}

/// A password on its way to be checked: never shown in a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub Vec<u8>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// What every session of a proxy shares.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The namespace view clients get (personal `""`, `Other Users/`, `Shared Folders/`).
    pub namespace: Namespace,
    /// STARTTLS is offered on plaintext connections.
    pub starttls_offered: bool,
    /// LOGIN and AUTHENTICATE are allowed without TLS.
    pub plaintext_auth: bool,
    /// How logins are verified.
    pub verify: Verify,
    /// How backends are logged in to (all of them, but the INBOX backend that verifies a
    /// login with [`Verify::InboxBackend`]).
    pub backend_login: BackendLogin,
    /// Framing limits for the client's input and the backends' responses.
    pub limits: FramerLimits,
    /// How long a failed login waits before its answer.
    pub failed_login_delay: Duration,
    /// The name in the greeting and in ID.
    pub product: String,
    /// The backend servers (the candidates for a new user's mailboxes).
    pub servers: Vec<Box<str>>,
    /// The servers that do not register their own mailboxes with the master: the proxy
    /// keeps the master in step with a CREATE, RENAME or DELETE there itself
    /// (`session/register.rs`).
    pub proxy_registers: Vec<Box<str>>,
    /// Where an administrator's CREATE of a new user's INBOX goes.
    pub placement: Placement,
    /// Users with the administrator's rights on every mailbox (as the backends have them).
    pub admins: Vec<String>,
    /// What is known of each backend server beyond its address (naming, referrals).
    pub backends: std::collections::HashMap<Box<str>, BackendProfile>,
    /// RFC 2193 mailbox referrals are offered (`MAILBOX-REFERRALS`, RLIST, RLSUB).
    pub referrals: bool,
}

/// What the driver must do for the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a connection to `server` for link `link`; report with [`Session::link_connected`]
    /// or [`Session::link_failed`].
    Connect {
        /// The link.
        link: LinkId,
        /// The backend's server name.
        server: Box<str>,
    },
    /// Close link `link`'s connection (the session no longer uses it).
    CloseLink(LinkId),
    /// Write the client output, then start TLS on the client connection and report with
    /// [`Session::tls_started`].
    StartTls,
    /// Check `password` against the password file, off the executor, and report with
    /// [`Session::password_checked`].
    CheckPassword {
        /// The user.
        user: String,
        /// The password given.
        password: Password,
    },
    /// A login failed (for per-source accounting).
    LoginFailed,
    /// A login succeeded, after `took`.
    LoggedIn {
        /// From the command to the answer.
        took: Duration,
    },
    /// A command was received (answered here or relayed), for the per-kind counts.
    Command(CommandKind),
    /// A command or line was refused with BAD (`hostile`: and the connection closed).
    Refused {
        /// The client's stream could not be repaired: the session closes.
        hostile: bool,
    },
    /// A relayed command was answered, after `took`.
    Relayed {
        /// From the command to the tagged answer.
        took: Duration,
    },
    /// Make this change in the MUPDATE master (a RESERVE, ACTIVATE or DELETE for a CREATE,
    /// RENAME or DELETE the proxy registers itself), off the executor, and report with
    /// [`Session::master_answered`].
    Master(MasterCommand),
    /// Wait until the routing table shows this change ([`TableWait::shown_by`]), or a
    /// bounded time has passed, then report with [`Session::table_caught_up`]; the client
    /// output (the command's OK) is written after.
    AwaitTable(TableWait),
    /// Carry out this operation on the journal of a RENAME across backends (kept in the
    /// proxy's data directory), off the executor, and report with [`Session::journal_done`].
    Journal(JournalOp),
    /// Write the client output, then close everything.
    Close,
}

/// Where the client side of the session is.
#[derive(Debug)]
enum Client {
    /// Between commands.
    Ready,
    /// The start of a command is being gathered (its head needs a literal's payload); the
    /// bytes are kept in backend form (literals non-synchronizing).
    Gathering(Vec<u8>),
    /// The rest of the current command goes to a link.
    Forwarding { link: LinkId, command: InFlight },
    /// The rest of an invalid or refused command is dropped.
    Discarding,
    /// A command is in flight on a link; input waits.
    Waiting { link: LinkId, command: InFlight },
    /// IDLE is relayed on a link: the client's DONE goes there.
    Idling { link: LinkId, command: InFlight },
    /// AUTHENTICATE PLAIN waits for the client's response line.
    SaslResponse { tag: Vec<u8> },
    /// The driver checks a password; the user's INBOX is on `server`.
    Verifying {
        tag: Vec<u8>,
        viewer: Viewer,
        server: String,
        started: Instant,
    },
    /// A login is being completed on `link` (the INBOX backend's; it verifies the client's
    /// credentials with [`Verify::InboxBackend`]).
    LoggingIn {
        tag: Vec<u8>,
        link: LinkId,
        viewer: Viewer,
        started: Instant,
    },
    /// A LIST or LSUB (its bytes) waits for the user's subscriptions from `link`.
    Subscriptions {
        link: LinkId,
        command: Vec<u8>,
        subscriptions: Subscriptions,
    },
    /// A failed login's answer waits until `until`.
    Delayed { until: Instant, answer: Vec<u8> },
    /// A COPY or MOVE into another backend's mailbox is carried out by the proxy.
    Transferring(Box<transfer::Transfer>),
    /// A CREATE, RENAME or DELETE the proxy registers in the master itself.
    Registering(Box<register::Registration>),
    /// A RENAME across backends is carried out by the proxy (while its messages are copied,
    /// the client is [`Client::Transferring`]).
    Relocating(Box<relocate::Relocation>),
    /// A CREATE, RENAME or DELETE was answered OK: client input waits until the table shows
    /// the change.
    AwaitingTable,
    /// Over: output is flushed, then everything closes.
    Closed,
}

/// A relayed command: its tag, kind and start.
#[derive(Debug, Clone)]
struct InFlight {
    tag: Vec<u8>,
    kind: CommandKind,
    started: Instant,
    /// The backend answered before the client finished sending the command (an APPEND
    /// refused early): the rest is still forwarded, as the backend reads it anyway.
    answered: bool,
    /// SELECT and EXAMINE: the internal name of the mailbox.
    mailbox: Option<Box<str>>,
    /// CREATE, RENAME and DELETE: what the table shows once the backend made the change.
    wait: Option<TableWait>,
}

/// The user a logged-in session acts for.
#[derive(Debug)]
struct Login {
    viewer: Viewer,
    /// The link to the INBOX backend (logins verified there keep it).
    inbox: Option<LinkId>,
    /// The capabilities advertised after login (shared by every session of the thread that
    /// advertises the same: see [`capability::after_login`]).
    capabilities: std::rc::Rc<str>,
}

/// How a backend message is being handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relay {
    /// To the client, as it comes.
    ToClient,
    /// Gathered for the session itself (greeting, capabilities, own commands).
    Collect,
    /// Dropped (untagged data of a link nobody is looking at).
    Drop,
    /// A FETCH response carrying a message of a cross-backend COPY or MOVE.
    Transfer,
}

/// A session is closed after this many failed logins.
const MAX_FAILED_LOGINS: u32 = 3;

/// The most bytes of one backend message the session gathers for itself.
const MAX_COLLECTED: usize = 64 * 1024;

/// One client's session.
#[derive(Debug)]
pub struct Session {
    config: std::rc::Rc<SessionConfig>,
    framer: Framer,
    client: Client,
    tls_active: bool,
    login: Option<Login>,
    links: Vec<Link>,
    /// Per link: how its current message is handled, and the bytes gathered for `Collect`.
    relays: Vec<(Option<Relay>, Vec<u8>)>,
    /// The link whose mailbox is selected.
    selected: Option<LinkId>,
    /// The internal name of the selected mailbox.
    selected_mailbox: Option<Box<str>>,
    /// The link relaying a message to the client right now (it owns the client output).
    relaying: Option<LinkId>,
    /// Extensions the client ENABLEd.
    enabled: Vec<Vec<u8>>,
    /// The client's credentials, kept only when backends are logged in to with them.
    client_credentials: Option<LinkLogin>,
    /// Failed logins so far.
    failed_logins: u32,
    /// The client used RLIST or RLSUB: it understands referrals (`session/referral.rs`).
    referrals_asked: bool,
    output: Vec<u8>,
    actions: Vec<Action>,
}

impl Session {
    /// A new session on a connection (`tls_active` for implicit TLS); the greeting is queued.
    pub fn new(config: std::rc::Rc<SessionConfig>, tls_active: bool) -> Session {
        let mut session = Session {
            framer: Framer::new(config.limits),
            config,
            client: Client::Ready,
            tls_active,
            login: None,
            links: Vec::new(),
            relays: Vec::new(),
            selected: None,
            selected_mailbox: None,
            relaying: None,
            enabled: Vec::new(),
            client_credentials: None,
            failed_logins: 0,
            referrals_asked: false,
            output: Vec::new(),
            actions: Vec::new(),
        };
        let greeting = format!("{} ready", session.config.product);
        session.status_with_capabilities(None, &greeting);
        session
    }

    /// Bytes to write to the client (take them, or drain what was written).
    pub fn client_output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// The session's links (by id; closed ones included).
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Bytes to write to link `id`.
    pub fn link_output(&mut self, id: LinkId) -> Option<&mut Vec<u8>> {
        self.links.get_mut(id).map(|link| &mut link.output)
    }

    /// The next thing the driver must do.
    pub fn next_action(&mut self) -> Option<Action> {
        if self.actions.is_empty() {
            // Nothing kept between commands: an idle session holds no action queue.
            self.actions = Vec::new();
            return None;
        }
        Some(self.actions.remove(0))
    }

    /// Are actions waiting for the driver?
    pub fn has_actions(&self) -> bool {
        !self.actions.is_empty()
    }

    /// Is the session over (output flushed, the driver should close)?
    pub fn is_closed(&self) -> bool {
        matches!(self.client, Client::Closed)
    }

    /// Is a user logged in?
    pub fn is_authenticated(&self) -> bool {
        self.login.is_some()
    }

    /// Is the client in IDLE?
    pub fn is_idling(&self) -> bool {
        matches!(self.client, Client::Idling { .. })
    }

    /// Does the session take client input now? (Otherwise the driver keeps it buffered.)
    pub fn wants_client_input(&self) -> bool {
        self.relaying.is_none()
            && match &self.client {
                Client::Ready
                | Client::Gathering(_)
                | Client::Discarding
                | Client::SaslResponse { .. }
                | Client::Idling { .. } => true,
                Client::Forwarding { link, .. } => {
                    self.links[*link].state == LinkState::Ready
                        || self.links[*link].state == LinkState::Closed
                }
                Client::Waiting { .. }
                | Client::Transferring(_)
                | Client::Registering(_)
                | Client::Relocating(_)
                | Client::AwaitingTable => false,
                Client::Verifying { .. }
                | Client::Subscriptions { .. }
                | Client::LoggingIn { .. }
                | Client::Delayed { .. }
                | Client::Closed => false,
            }
    }

    /// When [`Session::on_timer`] must next be called.
    pub fn deadline(&self) -> Option<Instant> {
        match self.client {
            Client::Delayed { until, .. } => Some(until),
            _ => None,
        }
    }

    /// The time has come (see [`Session::deadline`]).
    pub fn on_timer(&mut self, now: Instant) {
        if let Client::Delayed { until, .. } = self.client
            && now >= until
            && let Client::Delayed { answer, .. } =
                std::mem::replace(&mut self.client, Client::Ready)
        {
            self.output.extend_from_slice(&answer);
            if self.failed_logins >= MAX_FAILED_LOGINS {
                self.close();
            }
        }
    }

    /// TLS is up on the client connection (after [`Action::StartTls`]).
    pub fn tls_started(&mut self) {
        self.tls_active = true;
    }

    /// The client went away.
    pub fn client_closed(&mut self) {
        self.close();
    }

    // -----------------------------------------------------------------------------------------
    // Client input.

    /// Takes what it can of the client's `input`; returns how many bytes it consumed.
    pub fn client_input(&mut self, input: &[u8], table: &MailboxTable, now: Instant) -> usize {
        let mut used = 0;
        while self.wants_client_input() {
            let frame = match self.framer.next(&input[used..]) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    self.frame_error(error);
                    if error.must_close() {
                        break;
                    }
                    continue;
                }
            };
            used += frame.bytes().len();
            self.client_frame(frame, table, now);
        }
        used
    }

    fn client_frame(&mut self, frame: Frame<'_>, table: &MailboxTable, now: Instant) {
        match std::mem::replace(&mut self.client, Client::Ready) {
            Client::Ready => match frame {
                Frame::Line {
                    bytes,
                    first: true,
                    then: LineEnd::EndOfMessage,
                } => {
                    self.command(bytes, false, table, now);
                }
                Frame::Line { bytes, then, .. } => self.gather(Vec::new(), bytes, then, table, now),
                // A chunk or discarded bytes between commands cannot happen: the framer
                // starts every message with a line.
                Frame::LiteralChunk(_) | Frame::Discarded(_) => {}
            },
            Client::Gathering(head) => match frame {
                Frame::Line { bytes, then, .. } => self.gather(head, bytes, then, table, now),
                Frame::LiteralChunk(chunk) => {
                    let mut head = head;
                    head.extend_from_slice(chunk);
                    self.client = Client::Gathering(head);
                }
                Frame::Discarded(_) => {}
            },
            Client::Forwarding { link, command } => {
                if self.links[link].state == LinkState::Closed {
                    // The link failed under the command: its answer was given; drop the rest.
                    self.client = Client::Discarding;
                    return self.client_frame(frame, table, now);
                }
                match frame {
                    Frame::Line { bytes, then, .. } => {
                        self.forward_line(link, bytes, then);
                        self.client = if then != LineEnd::EndOfMessage {
                            Client::Forwarding { link, command }
                        } else if command.answered {
                            Client::Ready
                        } else {
                            Client::Waiting { link, command }
                        };
                    }
                    Frame::LiteralChunk(chunk) => {
                        self.links[link].send_client(chunk);
                        self.client = Client::Forwarding { link, command };
                    }
                    Frame::Discarded(_) => self.client = Client::Forwarding { link, command },
                }
            }
            Client::Discarding => {
                if !matches!(
                    frame,
                    Frame::Line {
                        then: LineEnd::EndOfMessage,
                        ..
                    }
                ) {
                    self.client = Client::Discarding;
                }
            }
            Client::Idling { link, command } => {
                if let Frame::Line { bytes, .. } = frame
                    && parse_idle_done(bytes).is_ok()
                {
                    self.links[link].send_client(b"DONE\r\n");
                    self.client = Client::Waiting { link, command };
                } else {
                    self.untagged(StatusKind::Bad, "Expected DONE");
                    self.client = Client::Idling { link, command };
                }
            }
            Client::SaslResponse { tag } => {
                if let Frame::Line {
                    bytes,
                    then: LineEnd::EndOfMessage,
                    ..
                } = frame
                {
                    self.sasl_response(&tag, bytes, table, now);
                } else {
                    self.status(&tag, StatusKind::Bad, None, "Invalid SASL response");
                    self.client = Client::Discarding;
                }
            }
            other => self.client = other,
        }
    }

    /// Adds a line of a command's start to `head` (literal headers made non-synchronizing)
    /// and parses it; asks for the literal's payload when the head needs it.
    fn gather(
        &mut self,
        mut head: Vec<u8>,
        line: &[u8],
        then: LineEnd,
        table: &MailboxTable,
        now: Instant,
    ) {
        push_line_nonsync(&mut head, line, then);
        match parse_head(&head) {
            Err(HeadError::Incomplete) if matches!(then, LineEnd::Literal(_)) => {
                if let LineEnd::Literal(header) = then
                    && !header.non_sync
                {
                    self.go_ahead();
                }
                self.client = Client::Gathering(head);
            }
            _ if then != LineEnd::EndOfMessage => {
                // The head is known (or invalid) and the message goes on.
                self.command(&head, true, table, now);
                if let (Client::Forwarding { .. }, LineEnd::Literal(header)) = (&self.client, then)
                    && !header.non_sync
                {
                    self.go_ahead();
                } else if matches!(self.client, Client::Ready) {
                    // Answered already (BAD, NO): the rest of the message is not wanted.
                    if !self.framer.refuse_literal() {
                        self.client = Client::Discarding;
                    }
                }
            }
            _ => self.command(&head, false, table, now),
        }
    }

    /// Handles a command whose start is `bytes` (`continues`: more of the message follows).
    fn command(&mut self, bytes: &[u8], continues: bool, table: &MailboxTable, now: Instant) {
        let head = match parse_head(bytes) {
            Ok(head) => head,
            Err(HeadError::Invalid { tag, reason }) => {
                self.actions.push(Action::Refused { hostile: false });
                let text = reason.to_string();
                match tag {
                    Some(tag) => self.status(tag, StatusKind::Bad, None, &text),
                    None => self.untagged(StatusKind::Bad, &text),
                }
                return;
            }
            Err(HeadError::Incomplete) => {
                self.actions.push(Action::Refused { hostile: false });
                self.untagged(StatusKind::Bad, "Incomplete command");
                return;
            }
        };
        self.actions.push(Action::Command(head.kind));
        let command = InFlight {
            tag: head.tag.to_vec(),
            kind: head.kind,
            started: now,
            answered: false,
            mailbox: None,
            wait: None,
        };
        if self.login.is_none() {
            return self.before_login(&head, continues, table, now);
        }
        match head.kind {
            CommandKind::Capability => self.capability(head.tag),
            CommandKind::Logout => self.logout(head.tag),
            CommandKind::Id => self.id(head.tag),
            CommandKind::Namespace => self.namespace(head.tag),
            CommandKind::Enable => self.enable(head.tag, bytes),
            CommandKind::Starttls | CommandKind::Login | CommandKind::Authenticate => {
                self.status(head.tag, StatusKind::Bad, None, "Already logged in");
            }
            CommandKind::Noop if self.selected.is_none() => self.ok(head.tag, "NOOP completed"),
            CommandKind::List | CommandKind::Lsub => self.list(&head, bytes, table),
            CommandKind::Rlist | CommandKind::Rlsub if self.config.referrals => {
                self.referral_list(&head, bytes, table);
            }
            CommandKind::GetAcl | CommandKind::MyRights | CommandKind::ListRights => {
                self.acl_read(&head, table);
            }
            _ => {
                let Some(login) = &self.login else { return };
                let view = View {
                    table,
                    ns: &self.config.namespace,
                    viewer: &login.viewer,
                    utf8: false,
                };
                match self.route(&head, &view) {
                    Ok(Destination::Relay(server)) => {
                        if let Some(mut referral) = self.referral(&head, &view, &server) {
                            return self.output.append(&mut referral);
                        }
                        let bytes =
                            naming::command_for_backend(&view, self.profile(&server), &head, bytes);
                        let mut command = command;
                        if let (CommandKind::Select | CommandKind::Examine, Args::Mailbox(name)) =
                            (head.kind, head.args)
                        {
                            command.mailbox =
                                view.internal_name(&name.to_vec()).ok().map(Into::into);
                        }
                        if let Some(plan) = register::plan(&head, &view, &server) {
                            if self.config.proxy_registers.contains(&server) {
                                return self.start_registration(
                                    &command, server, &bytes, continues, plan, table,
                                );
                            }
                            command.wait = Some(plan.wait);
                        }
                        self.relay(server, command, &bytes, continues);
                    }
                    Ok(Destination::Relocate { source, target }) => {
                        let Args::Rename { from, to, .. } = head.args else {
                            return;
                        };
                        let selected = self.selected.and(self.selected_mailbox.as_deref());
                        let root = view.internal_name(&from.to_vec()).ok();
                        if let Some(root) = root.filter(|old| {
                            view.internal_name(&to.to_vec())
                                .is_ok_and(|new| new == *old)
                        }) {
                            let servers = (&*source, &*target);
                            let tree = match &self.config.backend_login {
                                BackendLogin::Proxy { .. } => {
                                    xfer::prepare_tree(&view, &root, servers, selected)
                                }
                                BackendLogin::ClientCredentials => Err(Refusal::CannotMove(
                                    "a move under its own name needs the proxy's backend login",
                                )),
                            };
                            match tree {
                                Ok(tree) => self.start_tree_move(command, tree, (source, target)),
                                Err(refusal) => {
                                    let (code, text) = refusal.answer();
                                    self.status(head.tag, StatusKind::No, code.as_ref(), &text);
                                }
                            }
                            return;
                        }
                        match relocate::prepare(&view, (from, to), selected) {
                            Ok(names) => {
                                self.start_relocation(command, names, (source, target));
                            }
                            Err(refusal) => {
                                let (code, text) = refusal.answer();
                                self.status(head.tag, StatusKind::No, code.as_ref(), &text);
                            }
                        }
                    }
                    Ok(Destination::Transfer(target)) => {
                        let may_remove = self.may_remove_from_selected(&view);
                        // The destination's name as its backend spells it.
                        let bytes =
                            naming::command_for_backend(&view, self.profile(&target), &head, bytes);
                        let head = parse_head(&bytes).unwrap_or(head);
                        self.start_transfer(&head, command, target, may_remove);
                    }
                    Err(refusal) => {
                        let (code, text) = refusal.answer();
                        self.status(head.tag, StatusKind::No, code.as_ref(), &text);
                    }
                }
            }
        }
    }

    /// Where a command goes (see [`route`]).
    fn route(&self, head: &CommandHead<'_>, view: &View<'_>) -> Result<Destination, Refusal> {
        let selected = self.selected.map(|id| &*self.links[id].server);
        route::destination(head, view, selected, &self.config)
    }

    /// Relays a command to `server`'s link (opened if need be).
    fn relay(&mut self, server: Box<str>, command: InFlight, bytes: &[u8], continues: bool) {
        let link = match self.link_to(&server) {
            Some(link) => link,
            None => {
                let login = self.backend_login();
                self.open_link(server, login)
            }
        };
        if matches!(command.kind, CommandKind::Select | CommandKind::Examine)
            && let Some(previous) = self.selected.take()
        {
            self.links[previous].selected = false;
            if previous != link && self.links[previous].has(b"UNSELECT") {
                self.links[previous].send_own(Purpose::Unselect, b"UNSELECT");
            }
        }
        let target = &mut self.links[link];
        target.expect_reply(&command.tag, Purpose::Client);
        target.send_client(bytes);
        self.client = if continues {
            Client::Forwarding { link, command }
        } else if command.kind == CommandKind::Idle {
            Client::Idling { link, command }
        } else {
            Client::Waiting { link, command }
        };
    }

    /// Forwards one more line of a command, its literal made non-synchronizing, and answers
    /// the client's `+` for it.
    fn forward_line(&mut self, link: LinkId, line: &[u8], then: LineEnd) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        push_line_nonsync(&mut bytes, line, then);
        self.links[link].send_client(&bytes);
        if let LineEnd::Literal(header) = then
            && !header.non_sync
        {
            self.go_ahead();
        }
    }

    /// How to log in to a backend for `user`.
    fn login_for(&self, user: &str) -> LinkLogin {
        match &self.config.backend_login {
            BackendLogin::Proxy {
                user: authcid,
                password,
            } => LinkLogin::Proxy {
                authcid: authcid.clone(),
                password: password.clone(),
                user: user.to_string(),
            },
            BackendLogin::ClientCredentials => {
                self.client_credentials
                    .clone()
                    .unwrap_or(LinkLogin::Client {
                        user: user.to_string(),
                        password: Vec::new(),
                    })
            }
        }
    }

    fn backend_login(&self) -> LinkLogin {
        let user = self
            .login
            .as_ref()
            .map(|l| l.viewer.userid())
            .unwrap_or_default();
        self.login_for(user)
    }

    /// The open link to `server`, if any.
    fn link_to(&self, server: &str) -> Option<LinkId> {
        self.links
            .iter()
            .position(|link| &*link.server == server && link.state != LinkState::Closed)
    }

    fn open_link(&mut self, server: Box<str>, login: LinkLogin) -> LinkId {
        let mut link = Link::new(server.clone(), login, self.config.limits);
        link.enable(&self.enabled);
        self.links.push(link);
        self.relays.push((None, Vec::new()));
        let id = self.links.len() - 1;
        self.actions.push(Action::Connect { link: id, server });
        id
    }

    // -----------------------------------------------------------------------------------------
    // Answers and endings.

    fn status(&mut self, tag: &[u8], kind: StatusKind, code: Option<&Code<'_>>, text: &str) {
        let _ = ResponseWriter::new(&mut self.output, false).status(
            Some(tag),
            kind,
            code,
            text.as_bytes(),
        );
    }

    /// `+ go ahead`: the proxy takes a synchronizing literal itself.
    fn go_ahead(&mut self) {
        ResponseWriter::new(&mut self.output, false).continuation(b"go ahead");
    }

    /// A status line carrying the capabilities as its code: the greeting (no tag) or the OK
    /// of a login.
    fn status_with_capabilities(&mut self, tag: Option<&[u8]>, text: &str) {
        let capabilities = self.capabilities();
        let code = Atoms::new(capabilities.as_bytes()).map(Code::Capability);
        let _ = ResponseWriter::new(&mut self.output, false).status(
            tag,
            StatusKind::Ok,
            code.as_ref(),
            text.as_bytes(),
        );
    }

    fn ok(&mut self, tag: &[u8], text: &str) {
        self.status(tag, StatusKind::Ok, None, text);
    }

    fn untagged(&mut self, kind: StatusKind, text: &str) {
        let _ =
            ResponseWriter::new(&mut self.output, false).status(None, kind, None, text.as_bytes());
    }

    /// Ends the session with `* BYE [UNAVAILABLE] text`.
    fn bye(&mut self, text: &str) {
        let _ = ResponseWriter::new(&mut self.output, false).status(
            None,
            StatusKind::Bye,
            Some(&Code::Unavailable),
            text.as_bytes(),
        );
        self.close();
    }

    /// A framing error on the client's input.
    fn frame_error(&mut self, error: FrameError) {
        let forwarding = matches!(self.client, Client::Forwarding { .. });
        let hostile = error.must_close() || forwarding;
        self.actions.push(Action::Refused { hostile });
        if hostile {
            // Part of the command already went to a backend: the stream cannot be repaired.
            self.untagged(StatusKind::Bye, &error.to_string());
            return self.close();
        }
        self.client = Client::Ready;
        let text = error.to_string();
        match error.tag() {
            Some(tag) => self.status(tag.as_bytes(), StatusKind::Bad, None, &text),
            None => self.untagged(StatusKind::Bad, &text),
        }
    }

    fn close(&mut self) {
        if matches!(self.client, Client::Closed) {
            return;
        }
        self.client = Client::Closed;
        for (id, link) in self.links.iter_mut().enumerate() {
            if link.state != LinkState::Closed {
                link.state = LinkState::Closed;
                self.actions.push(Action::CloseLink(id));
            }
        }
        self.actions.push(Action::Close);
    }
}

/// Appends `line` to `out`, its trailing synchronizing literal header (if any) made
/// non-synchronizing: `{5}` becomes `{5+}`.
fn push_line_nonsync(out: &mut Vec<u8>, line: &[u8], then: LineEnd) {
    match then {
        LineEnd::Literal(header) if !header.non_sync => {
            let brace = line.iter().rposition(|&b| b == b'}').unwrap_or(line.len());
            out.extend_from_slice(&line[..brace]);
            out.push(b'+');
            out.extend_from_slice(&line[brace..]);
        }
        _ => out.extend_from_slice(line),
    }
}

/// `line` without its line end.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
