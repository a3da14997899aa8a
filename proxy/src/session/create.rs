//! CREATE through the proxy: the MUPDATE round trips for a backend that does not register its
//! own mailboxes, and the wait for the routing table after every CREATE.
//!
//! A backend that registers itself (Cyrus, corvid's reference backend) RESERVEs the name in
//! the master before it creates the mailbox, so the master arbitrates between two sessions
//! creating one name on two backends; its CREATE is relayed as it is. For a backend that does
//! not (`registers = false`: Dovecot behind the shim), the proxy does the same on its behalf:
//!
//! 1. the table already knows the name: `NO [ALREADYEXISTS]` at once;
//! 2. [`Action::Master`] RESERVE `name server!default` (made only when the master has no such
//!    name: [`crate::master`]); refused: `NO [ALREADYEXISTS]` (the name is taken, or being
//!    created by another session) or `NO [UNAVAILABLE]`;
//! 3. the client's CREATE goes to the backend, its answer kept ([`Purpose::Create`]);
//! 4. the backend said OK: ACTIVATE with the owner's default ACL (`owner lrswipkxtecda`; the
//!    creator for a name outside the personal trees). It said NO (or was lost): the
//!    reservation, this session's own, is DELETEd (rolled back), then the answer relayed;
//! 5. every successful CREATE ends with [`Action::AwaitMailbox`]: the client's input waits
//!    until the routing table shows the new mailbox, so a SELECT right after it is routed.
//!
//! A registering backend's `NO` without a response code to a CREATE of a name that is taken
//! gets `[ALREADYEXISTS]`, as the proxy's own refusals in steps 1 and 2 have it (Cyrus leaves it
//! out).

use corvid_proto::imap::response::Status;
use corvid_proto::mailbox::name::owner_of;
use corvid_proto::mupdate::CommandKind as MasterCommand;

use super::*;
use crate::master::MasterError;

/// A CREATE the proxy registers in the master itself.
#[derive(Debug)]
pub(super) struct Create {
    tag: Vec<u8>,
    started: Instant,
    /// The internal name.
    name: Box<str>,
    server: Box<str>,
    /// The client's command, sent once the name is reserved.
    command: Vec<u8>,
    /// The creator, whose tree a name outside the personal trees is credited to.
    creator: String,
    step: Step,
}

/// Where a [`Create`] is.
#[derive(Debug)]
enum Step {
    /// The master is asked to RESERVE the name.
    Reserving,
    /// The backend creates the mailbox.
    Creating,
    /// The master is asked to ACTIVATE it; `answer` (the backend's OK) then goes to the client.
    Activating { answer: Vec<u8> },
    /// The reservation is DELETEd; `answer` then goes to the client.
    RollingBack { answer: Vec<u8> },
}

/// Cyrus's texts, with no code, for a CREATE of a name that is taken: it exists on this
/// backend (`IMAP_MAILBOX_EXISTS`), or the master refused its RESERVE (`MUPDATE_FAIL_RESERVE`:
/// another backend holds or is creating it, which the proxy's own step 2 answers
/// `[ALREADYEXISTS]` too).
const CYRUS_TAKEN: [&[u8]; 2] = [
    b"Mailbox already exists",
    b"unable to reserve mailbox on mupdate server",
];

/// All rights, the owner's on a new mailbox of their own.
const OWNER_RIGHTS: &str = "lrswipkxtecda";

impl Session {
    /// Starts the CREATE of `name` (as the client sent it) on `server`, a backend that does not
    /// register its own mailboxes (see the module doc).
    pub(super) fn start_create(
        &mut self,
        command: &InFlight,
        name: &[u8],
        server: Box<str>,
        bytes: &[u8],
        continues: bool,
        view: &View<'_>,
    ) {
        let tag = &command.tag;
        let internal = match view.internal_name(name) {
            Ok(internal) => internal,
            Err(error) => {
                let refusal = Refusal::Lookup(error.into());
                let (code, text) = refusal.answer();
                return self.status(tag, StatusKind::No, code.as_ref(), &text);
            }
        };
        if continues {
            // The proxy sends the CREATE later, whole: a literal after the name is not kept.
            let text = "CREATE arguments after the name cannot be sent in a literal here";
            return self.status(tag, StatusKind::No, None, text);
        }
        if view.table.get(internal.as_bytes()).is_some() {
            let code = Code::AlreadyExists;
            return self.status(tag, StatusKind::No, Some(&code), "Mailbox already exists");
        }
        self.actions.push(Action::Master(MasterCommand::Reserve {
            name: internal.clone().into_bytes(),
            location: location(&server),
        }));
        self.client = Client::Creating(Box::new(Create {
            tag: tag.clone(),
            started: command.started,
            name: internal.into(),
            server,
            command: bytes.to_vec(),
            creator: view.viewer.userid().to_string(),
            step: Step::Reserving,
        }));
    }

    /// The master's answer to the change asked for with [`Action::Master`].
    pub fn master_answered(&mut self, result: Result<(), MasterError>, now: Instant) {
        let Client::Creating(mut create) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        match (std::mem::replace(&mut create.step, Step::Creating), result) {
            (Step::Reserving, Ok(())) => {
                let link = match self.link_to(&create.server) {
                    Some(link) => link,
                    None => {
                        let login = self.backend_login();
                        self.open_link(create.server.clone(), login)
                    }
                };
                let target = &mut self.links[link];
                target.expect_reply(&create.tag, Purpose::Create);
                target.send_client(&create.command);
                self.client = Client::Creating(create);
            }
            (Step::Reserving, Err(error)) => {
                let code = match &error {
                    MasterError::Refused(text) if text.contains("exists") => Code::AlreadyExists,
                    _ => Code::Unavailable,
                };
                self.status(&create.tag, StatusKind::No, Some(&code), &error.to_string());
                self.create_done(&create, now);
            }
            (Step::Activating { answer }, Ok(())) => {
                self.output.extend_from_slice(&answer);
                self.create_done(&create, now);
                self.await_mailbox(create.name);
            }
            (Step::Activating { .. }, Err(error)) => {
                // Created on the backend but not in the master: the next reconcile of the
                // backend's shim pushes it; the reservation goes now.
                let text = format!("Mailbox created but not registered: {error}");
                let answer = tagged_answer(&create.tag, Code::Unavailable, &text);
                self.roll_back(create, answer);
            }
            (Step::RollingBack { answer }, _) => {
                self.output.extend_from_slice(&answer);
                self.create_done(&create, now);
            }
            (Step::Creating, _) => self.client = Client::Creating(create),
        }
    }

    /// The backend answered the CREATE (`answer`: its tagged line, with the client's tag).
    pub(super) fn create_answered(&mut self, status: &Status<'_>, answer: &[u8]) {
        let Client::Creating(mut create) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        if status.kind == StatusKind::Ok {
            let owner = owner_of(create.name.as_bytes())
                .map_or_else(|| create.creator.clone(), |owner| owner.to_string());
            self.actions.push(Action::Master(MasterCommand::Activate {
                name: create.name.as_bytes().to_vec(),
                location: location(&create.server),
                acl: format!("{owner}\t{OWNER_RIGHTS}\t").into_bytes(),
            }));
            create.step = Step::Activating {
                answer: answer.to_vec(),
            };
            self.client = Client::Creating(create);
        } else {
            self.roll_back(create, answer.to_vec());
        }
    }

    /// Link `id` was lost: a CREATE waiting for it is rolled back.
    pub(super) fn create_link_lost(&mut self, id: LinkId, reason: &str) {
        let server = match self.links.get(id) {
            Some(link) => link.server.clone(),
            None => return,
        };
        let waits = matches!(&self.client, Client::Creating(create)
            if matches!(create.step, Step::Creating) && create.server == server);
        if !waits {
            return;
        }
        let Client::Creating(create) = std::mem::replace(&mut self.client, Client::Ready) else {
            return;
        };
        let text = format!("Backend {server} unavailable: {reason}");
        let answer = tagged_answer(&create.tag, Code::Unavailable, &text);
        self.roll_back(create, answer);
    }

    /// A backend's tagged `NO` without a response code to a CREATE relayed to it (a backend
    /// that registers its own mailboxes), rewritten with `[ALREADYEXISTS]` (RFC 5530), the
    /// answer the proxy gives itself (steps 1 and 2 above), when the name is taken: the
    /// routing table has it, or the backend says so in Cyrus's words ([`CYRUS_TAKEN`]; the
    /// NO of a Cyrus backend that lost a race can come before the table has the winner's
    /// name).
    pub(super) fn create_refusal_for_client(
        &self,
        id: LinkId,
        frame: Frame<'_>,
        table: &MailboxTable,
    ) -> Option<Vec<u8>> {
        let Client::Waiting { link, command } = &self.client else {
            return None;
        };
        let Frame::Line {
            bytes,
            first: true,
            then: LineEnd::EndOfMessage,
        } = frame
        else {
            return None;
        };
        let Ok((Response::Tagged { tag, status }, _)) = classify(bytes) else {
            return None;
        };
        let refused = *link == id
            && command.kind == CommandKind::Create
            && tag == command.tag
            && status.kind == StatusKind::No
            && status.code.is_none();
        let name = command.mailbox.as_deref().filter(|_| refused)?;
        let exists = CYRUS_TAKEN
            .iter()
            .any(|taken| status.text.eq_ignore_ascii_case(taken))
            || table.get(name.as_bytes()).is_some();
        if !exists {
            return None;
        }
        let text = String::from_utf8_lossy(status.text);
        Some(tagged_answer(tag, Code::AlreadyExists, &text))
    }

    /// The routing table shows the mailbox [`Action::AwaitMailbox`] waited for (or the wait
    /// is over): client input flows again.
    pub fn table_caught_up(&mut self) {
        if matches!(self.client, Client::AwaitingTable) {
            self.client = Client::Ready;
        }
    }

    /// Holds client input until the table shows `name`.
    pub(super) fn await_mailbox(&mut self, name: Box<str>) {
        self.actions.push(Action::AwaitMailbox(name));
        self.client = Client::AwaitingTable;
    }

    /// DELETEs the reservation; `answer` goes to the client then.
    fn roll_back(&mut self, mut create: Box<Create>, answer: Vec<u8>) {
        self.actions.push(Action::Master(MasterCommand::Delete {
            name: create.name.as_bytes().to_vec(),
        }));
        create.step = Step::RollingBack { answer };
        self.client = Client::Creating(create);
    }

    fn create_done(&mut self, create: &Create, now: Instant) {
        self.client = Client::Ready;
        self.actions.push(Action::Relayed {
            took: now.saturating_duration_since(create.started),
        });
    }
}

/// Where the proxy registers a mailbox of `server`: its default partition.
fn location(server: &str) -> Vec<u8> {
    format!("{server}!default").into_bytes()
}

/// `tag NO [code] text\r\n`.
fn tagged_answer(tag: &[u8], code: Code<'_>, text: &str) -> Vec<u8> {
    let mut answer = Vec::new();
    let _ = ResponseWriter::new(&mut answer, false).status(
        Some(tag),
        StatusKind::No,
        Some(&code),
        text.as_bytes(),
    );
    answer
}
