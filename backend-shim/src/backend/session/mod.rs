//! One client connection of the reference backend, sans-IO: bytes in, bytes and actions out.
//!
//! A driver feeds what the client sent ([`Session::feed`]); the session gathers whole commands
//! (sending `+` for synchronizing literals), runs them against the [`Store`] and writes the
//! responses. What it cannot do itself comes back as an [`Action`] and stops the session
//! reading further commands until the driver answers: checking a password
//! ([`Session::verified`]), a change in the MUPDATE master ([`Session::master_done`]), and
//! writing a FETCH's output so far before it goes on ([`Session::resume`]), which keeps a
//! large FETCH's answer out of memory.
//! When any session changes the store, the driver calls [`Session::refresh`] on the others,
//! which tells a session in IDLE what changed.
//!
//! Like a Cyrus backend in a murder, the session keeps the master in step itself: CREATE (and
//! the INBOX made at a user's first login) RESERVEs the name in the master before the mailbox
//! is made here and ACTIVATEs it after, so two backends never both create one name; RENAME,
//! DELETE and SETACL/DELETEACL tell the master what changed. Names, LIST/LSUB and the ACL
//! answers use the proxy's own view of a mailbox table ([`corvid_mupdate::view`]) over the
//! store's table, so a client sees the same namespace through the proxy and here.
//!
//! * [`auth`](self): LOGIN, AUTHENTICATE PLAIN (with an authorization id for proxy users), the
//!   INBOX made at first login.
//! * `mailboxes`: commands on mailboxes by name (CREATE ... APPEND, the ACL commands) and what
//!   follows the master's answers.
//! * `selected`: SELECT/EXAMINE and the commands on the selected mailbox, and the untagged
//!   updates (EXISTS, EXPUNGE, FETCH FLAGS) a session reports when the mailbox changes.

mod auth;
mod mailboxes;
mod selected;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::io::Write as _;
use std::sync::Arc;

use corvid_mupdate::view::{View, Viewer};
use corvid_proto::imap::command::parse_idle_done;
use corvid_proto::imap::framer::{Frame, FrameError, Framer, FramerLimits, LineEnd};
use corvid_proto::imap::request::{Command, RequestError, parse_request};
use corvid_proto::imap::response::{Atoms, Code, StatusKind};
use corvid_proto::imap::writer::ResponseWriter;
use corvid_proto::mailbox::Namespace;

use super::store::Store;
use selected::Selected;

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
    /// Whether a user's INBOX is made at their first login (as Cyrus `autocreate`).
    pub autocreate_inbox: bool,
    /// The time now, in seconds since the Unix epoch (APPEND's default internal date); the
    /// driver passes the system clock, tests a fixed one.
    pub clock: fn() -> i64,
}

/// What a session needs done before it can go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Check `password` for `authcid` and answer with [`Session::verified`]. The session has
    /// already checked that `authcid` may act as the user it logs in as.
    Verify {
        /// Who authenticates.
        authcid: String,
        /// Their password.
        password: String,
    },
    /// Make this change in the MUPDATE master and answer with [`Session::master_done`].
    Master(MasterChange),
    /// Write the output, then call [`Session::resume`]: a FETCH goes on where its output
    /// reached [`OUTPUT_BATCH`] octets, so its answer is never held in memory whole.
    Resume,
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

/// The capabilities, before and after login.
const CAPABILITIES: &[u8] = b"IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE UIDPLUS MOVE \
UNSELECT CHILDREN LIST-EXTENDED ACL RIGHTS=kxten AUTH=PLAIN";

/// How long a command's lines may be.
const MAX_LINE: usize = 64 * 1024;

/// How much FETCH output a session gathers before the driver writes it ([`Action::Resume`]).
pub const OUTPUT_BATCH: usize = 1 << 20;

/// Failed logins after which the session is ended.
const MAX_FAILED_LOGINS: u32 = 3;

/// One client's session.
#[derive(Debug)]
pub struct Session {
    config: Arc<SessionConfig>,
    framer: Framer,
    /// The command being gathered: its lines and literal payloads as they came.
    command: Vec<u8>,
    /// The logged-in user.
    login: Option<Viewer>,
    /// The selected mailbox.
    selected: Option<Selected>,
    /// A command waiting on an [`Action`].
    waiting: Option<Waiting>,
    /// The tag of the IDLE in progress.
    idle: Option<Vec<u8>>,
    /// The tag of an AUTHENTICATE waiting for the client's response line.
    sasl: Option<Vec<u8>>,
    failed_logins: u32,
    /// The login may use LOCALCREATE and LOCALDELETE: an administrator's, or one a proxy
    /// identity authenticated (a frontend moving mailboxes between backends).
    local_commands: bool,
    /// LOGOUT (or a fatal error) was answered: nothing more is read.
    closing: bool,
}

/// A command waiting for the driver.
#[derive(Debug)]
enum Waiting {
    /// A password check; then the session is logged in as `identity` (`by_proxy`: a proxy
    /// identity authenticated).
    Password {
        tag: Vec<u8>,
        identity: String,
        by_proxy: bool,
    },
    /// A RESERVE of `name` in the master; then the mailbox is made here.
    Reserved {
        tag: Vec<u8>,
        name: String,
        then: Creation,
    },
    /// Changes the master must take, in order; then `done` says how the command ends.
    Publishing {
        tag: Vec<u8>,
        changes: VecDeque<MasterChange>,
        done: Done,
    },
    /// A FETCH whose output so far waits to be written.
    Fetching(selected::Fetching),
}

/// What a reserved name becomes.
#[derive(Debug)]
enum Creation {
    /// CREATE.
    Create,
    /// The user's INBOX, at login.
    Inbox,
    /// The new name of RENAME `from`.
    Rename { from: String },
}

/// How a command that published changes ends.
#[derive(Debug)]
enum Done {
    /// CREATE of `name`: undone here if the master does not take it.
    Created { name: String },
    /// The INBOX made at login: the login stands whatever the master says (a mailbox the
    /// master missed is pushed by the registrar's reconcile at the next start).
    InboxCreated,
    /// RENAME, DELETE, SETACL: made here; a master failure is reported in the OK's text.
    Changed,
    /// The command failed here after a RESERVE, which was dropped: `NO` with this text.
    /// `exists`: the name was taken here (`[ALREADYEXISTS]`).
    Refused { exists: bool, text: String },
}

impl Session {
    /// A session that has not yet greeted its client.
    pub fn new(config: Arc<SessionConfig>) -> Session {
        let limits = FramerLimits {
            max_line: MAX_LINE,
            max_literal: config.max_message,
        };
        Session {
            config,
            framer: Framer::new(limits),
            command: Vec::new(),
            login: None,
            selected: None,
            waiting: None,
            idle: None,
            sasl: None,
            failed_logins: 0,
            local_commands: false,
            closing: false,
        }
    }

    /// Writes the greeting (`* OK [CAPABILITY ...] ...`).
    pub fn greeting(&self, out: &mut Vec<u8>) {
        line(
            out,
            format_args!(
                "* OK [CAPABILITY {}] corvid backend {} ready",
                String::from_utf8_lossy(CAPABILITIES),
                self.config.server
            ),
        );
    }

    /// Is the session logged in?
    pub fn is_authenticated(&self) -> bool {
        self.login.is_some()
    }

    /// Runs the commands in `input` until it runs out, a command needs more bytes, or one
    /// waits on an [`Action`].
    pub fn feed(&mut self, store: &mut Store, input: &[u8], out: &mut Vec<u8>) -> Feed {
        let mut used = 0;
        while self.waiting.is_none() && !self.closing {
            let frame = match self.framer.next(&input[used..]) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(error) => {
                    self.frame_error(&error, out);
                    if error.must_close() {
                        self.closing = true;
                        return Feed {
                            consumed: input.len(),
                            action: Some(Action::Close),
                        };
                    }
                    continue;
                }
            };
            used += frame.bytes().len();
            match frame {
                Frame::Line { bytes, then, .. } => {
                    self.command.extend_from_slice(bytes);
                    match then {
                        LineEnd::Literal(header) => {
                            let total = (self.command.len() as u64).saturating_add(header.len);
                            if total > self.config.max_message.saturating_add(MAX_LINE as u64) {
                                self.refuse_command(out, b"command too large");
                                if !header.needs_continuation() || !self.framer.refuse_literal() {
                                    self.closing = true;
                                    return Feed {
                                        consumed: input.len(),
                                        action: Some(Action::Close),
                                    };
                                }
                            } else if header.needs_continuation() {
                                out.extend_from_slice(b"+ go ahead\r\n");
                            }
                        }
                        LineEnd::EndOfMessage => {
                            let command = std::mem::take(&mut self.command);
                            if let Some(action) = self.execute(store, &command, out) {
                                return Feed {
                                    consumed: used,
                                    action: Some(action),
                                };
                            }
                        }
                    }
                }
                Frame::LiteralChunk(chunk) => self.command.extend_from_slice(chunk),
                Frame::Discarded(_) => self.command.clear(),
            }
        }
        Feed {
            consumed: used,
            action: self.closing.then_some(Action::Close),
        }
    }

    /// The answer to [`Action::Verify`].
    pub fn verified(&mut self, store: &mut Store, ok: bool, out: &mut Vec<u8>) -> Option<Action> {
        match self.waiting.take() {
            Some(Waiting::Password {
                tag,
                identity,
                by_proxy,
            }) => self.password_checked(store, tag, (identity, by_proxy), ok, out),
            other => {
                self.waiting = other;
                None
            }
        }
    }

    /// The answer to [`Action::Master`]: `Err` carries the master's refusal or the failure.
    pub fn master_done(
        &mut self,
        store: &mut Store,
        result: Result<(), String>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        match self.waiting.take() {
            Some(Waiting::Reserved { tag, name, then }) => {
                self.reserved(store, tag, name, then, result, out)
            }
            Some(Waiting::Publishing { tag, changes, done }) => {
                self.published(store, tag, changes, done, result, out)
            }
            other => {
                self.waiting = other;
                None
            }
        }
    }

    /// The answer to [`Action::Resume`]: the FETCH goes on with its next messages.
    pub fn resume(&mut self, store: &mut Store, out: &mut Vec<u8>) -> Option<Action> {
        match self.waiting.take() {
            Some(Waiting::Fetching(fetching)) => self.fetch_batch(store, fetching, out),
            other => {
                self.waiting = other;
                None
            }
        }
    }

    /// The store changed (another session, or this one): a session in IDLE writes what its
    /// client has not yet been told (EXISTS, EXPUNGE, FETCH FLAGS), and claims the new
    /// messages as `\Recent` for itself. Others do nothing now and report at their next
    /// command.
    pub fn refresh(&mut self, store: &mut Store, out: &mut Vec<u8>) {
        if self.idle.is_some() {
            self.report(store, out, true, false);
        }
    }

    /// Answers a framing error: `BAD` (tagged when the tag is known).
    fn frame_error(&mut self, error: &FrameError, out: &mut Vec<u8>) {
        self.command.clear();
        let text = error.to_string();
        match error.tag() {
            Some(tag) => tagged(out, tag.as_bytes(), StatusKind::Bad, None, text.as_bytes()),
            None => untagged(out, StatusKind::Bad, None, text.as_bytes()),
        }
        if error.must_close() {
            untagged(out, StatusKind::Bye, None, b"stream lost");
        }
    }

    /// Refuses the command being gathered (its tag read from its first line).
    fn refuse_command(&mut self, out: &mut Vec<u8>, text: &[u8]) {
        let tag = corvid_proto::lex::tag_token(&self.command)
            .ok()
            .map(|(_, tag)| tag.to_vec());
        match tag {
            Some(tag) => tagged(out, &tag, StatusKind::Bad, None, text),
            None => untagged(out, StatusKind::Bad, None, text),
        }
        self.command.clear();
    }

    /// Runs one whole command message.
    fn execute(&mut self, store: &mut Store, message: &[u8], out: &mut Vec<u8>) -> Option<Action> {
        if let Some(tag) = self.idle.take() {
            match parse_idle_done(message) {
                Ok(_) => tagged(out, &tag, StatusKind::Ok, None, b"IDLE terminated"),
                Err(_) => tagged(out, &tag, StatusKind::Bad, None, b"expected DONE"),
            }
            return None;
        }
        if let Some(tag) = self.sasl.take() {
            return self.sasl_response(tag, message, out);
        }
        let request = match parse_request(message) {
            Ok(request) => request,
            Err(RequestError::Invalid { tag, reason }) => {
                match tag {
                    Some(tag) => tagged(out, tag, StatusKind::Bad, None, reason.as_bytes()),
                    None => untagged(out, StatusKind::Bad, None, reason.as_bytes()),
                }
                return None;
            }
            Err(RequestError::Incomplete) => {
                self.command = message.to_vec();
                self.refuse_command(out, b"missing argument");
                return None;
            }
        };
        let tag = request.tag;
        match request.command {
            Command::Capability => {
                line(
                    out,
                    format_args!("* CAPABILITY {}", String::from_utf8_lossy(CAPABILITIES)),
                );
                ok(out, tag)
            }
            Command::Noop => {
                self.report(store, out, true, false);
                ok(out, tag)
            }
            Command::Logout => {
                untagged(out, StatusKind::Bye, None, b"logging out");
                ok(out, tag);
                self.closing = true;
                return Some(Action::Close);
            }
            Command::Id(_) => {
                let version = env!("CARGO_PKG_VERSION").as_bytes();
                let _ = ResponseWriter::new(out, false)
                    .id(&[(b"name", Some(b"corvid")), (b"version", Some(version))]);
                ok(out, tag)
            }
            Command::StartTls => tagged(
                out,
                tag,
                StatusKind::Bad,
                None,
                b"STARTTLS is not offered here",
            ),
            Command::Login { user, password } => {
                return self.login(tag, &user.to_vec(), &password.to_vec(), out);
            }
            Command::Authenticate {
                mechanism,
                initial_response,
            } => {
                return self.authenticate(tag, mechanism, initial_response, out);
            }
            command => match self.login.is_some() {
                true => return self.authenticated(store, tag, command, message, out),
                false => tagged(out, tag, StatusKind::Bad, None, b"Please login first"),
            },
        }
        None
    }

    /// The commands of the authenticated and selected states.
    fn authenticated(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        command: Command<'_>,
        message: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        match command {
            Command::Enable(_) => {
                out.extend_from_slice(b"* ENABLED\r\n");
                ok(out, tag);
            }
            Command::Namespace => {
                self.namespace(out);
                ok(out, tag);
            }
            Command::Idle => {
                out.extend_from_slice(b"+ idling\r\n");
                self.report(store, out, true, false);
                self.idle = Some(tag.to_vec());
            }
            Command::Select { mailbox, read_only } => {
                self.select(store, tag, &mailbox.to_vec(), read_only, out)
            }
            Command::Create(name) => return self.create(store, tag, &name.to_vec(), out),
            Command::Delete(name) => return self.delete(store, tag, &name.to_vec(), out),
            Command::LocalCreate(name) => self.local_create(store, tag, &name.to_vec(), out),
            Command::LocalDelete(name) => self.local_delete(store, tag, &name.to_vec(), out),
            Command::Rename { from, to } => {
                return self.rename(store, tag, &from.to_vec(), &to.to_vec(), out);
            }
            Command::Subscribe(name) => self.subscribe(store, tag, &name.to_vec(), true, out),
            Command::Unsubscribe(name) => self.subscribe(store, tag, &name.to_vec(), false, out),
            Command::List { .. } => self.list(store, tag, message, out),
            Command::Status { mailbox, items } => {
                self.status(store, tag, &mailbox.to_vec(), &items, out)
            }
            Command::Append {
                mailbox,
                flags,
                date,
                message,
            } => {
                self.append(store, tag, &mailbox.to_vec(), &flags, date, message, out);
            }
            Command::GetAcl(name) => self.acl_read(store, tag, out, |view, out| {
                view.getacl(&name.to_vec(), out)
            }),
            Command::MyRights(name) => self.acl_read(store, tag, out, |view, out| {
                view.myrights(&name.to_vec(), out)
            }),
            Command::ListRights {
                mailbox,
                identifier,
            } => self.acl_read(store, tag, out, |view, out| {
                view.listrights(&mailbox.to_vec(), &identifier.to_vec(), out)
            }),
            Command::SetAcl {
                mailbox,
                identifier,
                rights,
            } => {
                return self.set_acl(
                    store,
                    tag,
                    &mailbox.to_vec(),
                    &identifier.to_vec(),
                    Some(&rights.to_vec()),
                    out,
                );
            }
            Command::DeleteAcl {
                mailbox,
                identifier,
            } => {
                return self.set_acl(
                    store,
                    tag,
                    &mailbox.to_vec(),
                    &identifier.to_vec(),
                    None,
                    out,
                );
            }
            Command::GetMetadata { mailbox, entries } => {
                let entries: Vec<Vec<u8>> = entries.iter().map(|entry| entry.to_vec()).collect();
                self.get_metadata(store, tag, &mailbox.to_vec(), &entries, out);
            }
            command => match self.selected.is_some() {
                true => return self.on_selected(store, tag, command, message, out),
                false => tagged(out, tag, StatusKind::Bad, None, b"No mailbox selected"),
            },
        }
        None
    }

    /// NAMESPACE: the personal, other users' and shared namespaces, as the proxy shows them.
    fn namespace(&self, out: &mut Vec<u8>) {
        use corvid_proto::imap::writer::Namespace as Entry;
        let config = self.config.namespace.config();
        let separator = config.separator.byte();
        let other = format!("{}{}", config.other_users_prefix, separator as char);
        let shared = format!("{}{}", config.shared_prefix, separator as char);
        let entry = |prefix: &'static [u8]| Entry {
            prefix,
            delimiter: Some(separator),
        };
        let _ = ResponseWriter::new(out, false).namespace(
            &[entry(b"")],
            &[Entry {
                prefix: other.as_bytes(),
                delimiter: Some(separator),
            }],
            &[Entry {
                prefix: shared.as_bytes(),
                delimiter: Some(separator),
            }],
        );
    }

    /// The logged-in user's view of the store's table.
    fn view<'s>(&'s self, store: &'s Store) -> Option<View<'s>> {
        Some(View {
            table: store.table(),
            ns: &self.config.namespace,
            viewer: self.login.as_ref()?,
            utf8: false,
        })
    }
}

/// Writes one line from format arguments, with its CRLF.
fn line(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    // Writing to a Vec cannot fail.
    let _ = out.write_fmt(args);
    out.extend_from_slice(b"\r\n");
}

/// `tag kind [code] text`.
fn tagged(out: &mut Vec<u8>, tag: &[u8], kind: StatusKind, code: Option<&Code<'_>>, text: &[u8]) {
    let _ = ResponseWriter::new(out, false).status(Some(tag), kind, code, text);
}

/// `* kind [code] text`.
fn untagged(out: &mut Vec<u8>, kind: StatusKind, code: Option<&Code<'_>>, text: &[u8]) {
    let _ = ResponseWriter::new(out, false).status(None, kind, code, text);
}

/// `tag OK Completed`.
fn ok(out: &mut Vec<u8>, tag: &[u8]) {
    tagged(out, tag, StatusKind::Ok, None, b"Completed");
}

/// `tag NO [code] text`.
fn no(out: &mut Vec<u8>, tag: &[u8], code: Option<Code<'_>>, text: &[u8]) {
    tagged(out, tag, StatusKind::No, code.as_ref(), text);
}

/// The capabilities as a response code.
fn capability_code() -> Code<'static> {
    Code::Capability(Atoms::new(CAPABILITIES).unwrap_or_default())
}
