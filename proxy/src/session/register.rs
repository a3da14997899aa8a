//! CREATE, RENAME and DELETE through the proxy: the MUPDATE round trips for a backend that
//! does not register its own mailboxes, and the wait for the routing table after every one.
//!
//! A backend that registers itself (Cyrus, corvid's reference backend) tells the master of
//! its own changes (RESERVE before a CREATE or RENAME, so the master arbitrates between two
//! sessions taking one name on two backends; DELETE after a DELETE); its command is relayed
//! as it is. For a backend that does not (`registers = false`: Dovecot behind the shim), the
//! proxy does the same on its behalf, by a [`Plan`] made from the table:
//!
//! 1. CREATE and RENAME RESERVE the new name at the backend ([`Action::Master`], made only
//!    when the master has no such name: [`crate::master`]); refused: `NO [ALREADYEXISTS]`
//!    (the name is taken, or being created by another session) or `NO [UNAVAILABLE]`;
//! 2. the client's command goes to the backend, its answer kept ([`Purpose::Register`]);
//! 3. the backend said OK: the changes are published one by one. CREATE ACTIVATEs the name
//!    with the owner's default ACL (`owner lrswipkxtecda`; the creator for a name outside the
//!    personal trees). RENAME ACTIVATEs the new name of the mailbox and of every mailbox below
//!    it (each with its location and ACL), then DELETEs the old names, the renamed mailbox's
//!    last; a RENAME of INBOX (RFC 3501: its messages move to a new mailbox, INBOX and its
//!    children stay) only ACTIVATEs the new name. DELETE DELETEs the name (a backend deletes
//!    a mailbox with children or refuses, as RFC 3501 lets it; the children keep their own
//!    entries).
//! 4. the backend said NO (or was lost): the reservation, this session's own, is DELETEd
//!    (rolled back), then the answer relayed. The master refused the first change after the
//!    backend's OK: the reservation is rolled back too, and the client told `NO
//!    [UNAVAILABLE]` (the shim's next reconcile pushes what the backend has); a later change
//!    refused: `NO [UNAVAILABLE]` saying the backend made the change and the master was not
//!    fully updated.
//! 5. every successful change ends with [`Action::AwaitTable`]: the client's input waits
//!    until the routing table shows it ([`TableWait`]: every new name active, every old one
//!    gone, a renamed mailbox's children included, whoever published them), so a SELECT or
//!    LIST right after it sees it.
//!
//! A registering backend's `NO` without a response code to a CREATE of a name that is taken
//! gets `[ALREADYEXISTS]`, as the proxy's own refusals in steps 1 and 2 have it (Cyrus leaves it
//! out).

use std::collections::VecDeque;

use corvid_mupdate::table::State;
use corvid_proto::imap::response::Status;
use corvid_proto::mailbox::name::{is_inbox, owner_of};
use corvid_proto::mupdate::CommandKind as MasterCommand;

use super::*;
use crate::master::MasterError;

/// What the routing table must show before the client's next command is read: the change a
/// CREATE, RENAME or DELETE made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableWait {
    /// Internal names that must be active.
    pub active: Vec<Box<str>>,
    /// Internal names that must be gone.
    pub gone: Vec<Box<str>>,
}

impl TableWait {
    /// Does `table` show the change?
    pub fn shown_by(&self, table: &MailboxTable) -> bool {
        let active = |name: &str| {
            table
                .get(name.as_bytes())
                .is_some_and(|entry| entry.state == State::Active)
        };
        let gone = |name: &str| table.get(name.as_bytes()).is_none();
        self.active.iter().all(|name| active(name)) && self.gone.iter().all(|name| gone(name))
    }
}

/// How the master is kept in step with one CREATE, RENAME or DELETE (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// The RESERVE made before the backend is asked (CREATE and RENAME).
    reserve: Option<MasterCommand>,
    /// The changes published once the backend said OK, in order.
    publish: VecDeque<MasterCommand>,
    /// What the table shows once they are.
    pub(super) wait: TableWait,
}

/// A CREATE, RENAME or DELETE the proxy registers in the master itself.
#[derive(Debug)]
pub(super) struct Registration {
    tag: Vec<u8>,
    started: Instant,
    server: Box<str>,
    /// The client's command, sent once the name is reserved.
    command: Vec<u8>,
    plan: Plan,
    /// A change was published: the reservation is no longer this session's to roll back.
    published: bool,
    step: Step,
}

/// Where a [`Registration`] is.
#[derive(Debug)]
enum Step {
    /// The master is asked to RESERVE the new name.
    Reserving,
    /// The backend makes the change.
    Changing,
    /// The master is asked for the next change; `answer` (the backend's OK) then goes to the
    /// client.
    Publishing { answer: Vec<u8> },
    /// The reservation is DELETEd; `answer` then goes to the client.
    RollingBack { answer: Vec<u8> },
}

/// All rights, the owner's on a new mailbox of their own.
const OWNER_RIGHTS: &str = "lrswipkxtecda";

/// Cyrus's texts, with no code, for a CREATE of a name that is taken: it exists on this
/// backend (`IMAP_MAILBOX_EXISTS`), or the master refused its RESERVE (`MUPDATE_FAIL_RESERVE`:
/// another backend holds or is creating it, which the proxy's own step 1 answers
/// `[ALREADYEXISTS]` too).
const CYRUS_TAKEN: [&[u8]; 2] = [
    b"Mailbox already exists",
    b"unable to reserve mailbox on mupdate server",
];

/// The plan for a CREATE, RENAME or DELETE on `server` (`None` for any other command, or
/// names the table cannot take: the backend then answers).
pub(super) fn plan(head: &CommandHead<'_>, view: &View<'_>, server: &str) -> Option<Plan> {
    let internal = |name: &corvid_proto::lex::AString<'_>| view.internal_name(&name.to_vec()).ok();
    match (head.kind, head.args) {
        (CommandKind::Create, Args::Mailbox(name)) => {
            let name = internal(&name)?;
            let location = format!("{server}!default").into_bytes();
            let owner = owner_of(name.as_bytes())
                .map_or_else(|| view.viewer.userid().to_string(), |o| o.to_string());
            Some(Plan {
                reserve: Some(MasterCommand::Reserve {
                    name: name.clone().into_bytes(),
                    location: location.clone(),
                }),
                publish: VecDeque::from([MasterCommand::Activate {
                    name: name.clone().into_bytes(),
                    location,
                    acl: format!("{owner}\t{OWNER_RIGHTS}\t").into_bytes(),
                }]),
                wait: TableWait {
                    active: vec![name.into()],
                    gone: Vec::new(),
                },
            })
        }
        (CommandKind::Rename, Args::Rename { from, to, .. }) => {
            let (old, new) = (internal(&from)?, internal(&to)?);
            let top = view.table.get(old.as_bytes())?;
            let moved: Vec<_> = if is_inbox(old.as_bytes()) {
                vec![top]
            } else {
                view.table.subtree(old.as_bytes()).collect()
            };
            let renamed = |name: &[u8]| {
                let mut renamed = new.clone().into_bytes();
                renamed.extend_from_slice(name.get(old.len()..).unwrap_or_default());
                renamed
            };
            let mut publish: VecDeque<_> = moved
                .iter()
                .map(|entry| MasterCommand::Activate {
                    name: renamed(entry.name),
                    location: entry.location.to_vec(),
                    acl: entry.acl.to_vec(),
                })
                .collect();
            let name = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into();
            let active = moved
                .iter()
                .map(|entry| name(renamed(entry.name)))
                .collect();
            let mut gone = Vec::new();
            if !is_inbox(old.as_bytes()) {
                // The children first, the renamed mailbox last.
                publish.extend(moved.iter().rev().map(|entry| MasterCommand::Delete {
                    name: entry.name.to_vec(),
                }));
                gone = moved
                    .iter()
                    .map(|entry| name(entry.name.to_vec()))
                    .collect();
            }
            Some(Plan {
                reserve: Some(MasterCommand::Reserve {
                    name: new.clone().into_bytes(),
                    location: top.location.to_vec(),
                }),
                publish,
                wait: TableWait { active, gone },
            })
        }
        (CommandKind::Delete, Args::Mailbox(name)) => {
            let name = internal(&name)?;
            Some(Plan {
                reserve: None,
                publish: VecDeque::from([MasterCommand::Delete {
                    name: name.clone().into_bytes(),
                }]),
                wait: TableWait {
                    active: Vec::new(),
                    gone: vec![name.into()],
                },
            })
        }
        _ => None,
    }
}

impl Session {
    /// Starts a CREATE, RENAME or DELETE (`bytes`, as the backend gets it) on `server`, a
    /// backend that does not register its own mailboxes (see the module doc); a new name
    /// `table` has already is `NO [ALREADYEXISTS]` at once.
    pub(super) fn start_registration(
        &mut self,
        command: &InFlight,
        server: Box<str>,
        bytes: &[u8],
        continues: bool,
        plan: Plan,
        table: &MailboxTable,
    ) {
        if continues {
            // The proxy sends the command later, whole: a literal after the names is not kept.
            let text = "arguments after the mailbox names cannot be sent in a literal here";
            return self.status(&command.tag, StatusKind::No, None, text);
        }
        if let Some(MasterCommand::Reserve { name, .. }) = &plan.reserve
            && table.get(name).is_some()
        {
            let code = Code::AlreadyExists;
            return self.status(
                &command.tag,
                StatusKind::No,
                Some(&code),
                "Mailbox already exists",
            );
        }
        let registration = Box::new(Registration {
            tag: command.tag.clone(),
            started: command.started,
            server,
            command: bytes.to_vec(),
            plan,
            published: false,
            step: Step::Reserving,
        });
        match registration.plan.reserve.clone() {
            Some(reserve) => {
                self.actions.push(Action::Master(reserve));
                self.client = Client::Registering(registration);
            }
            None => self.send_registered(registration),
        }
    }

    /// Sends the client's command to the backend.
    fn send_registered(&mut self, mut registration: Box<Registration>) {
        let link = match self.link_to(&registration.server) {
            Some(link) => link,
            None => {
                let login = self.backend_login();
                self.open_link(registration.server.clone(), login)
            }
        };
        let target = &mut self.links[link];
        target.expect_reply(&registration.tag, Purpose::Register);
        target.send_client(&registration.command);
        registration.step = Step::Changing;
        self.client = Client::Registering(registration);
    }

    /// The master's answer to the change asked for with [`Action::Master`].
    pub fn master_answered(&mut self, result: Result<(), MasterError>, now: Instant) {
        if matches!(self.client, Client::Relocating(_)) {
            return self.relocation_master_answered(result, now);
        }
        let Client::Registering(mut registration) =
            std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        match (
            std::mem::replace(&mut registration.step, Step::Changing),
            result,
        ) {
            (Step::Reserving, Ok(())) => self.send_registered(registration),
            (Step::Reserving, Err(error)) => {
                let code = match &error {
                    MasterError::Refused(text) if text.contains("exists") => Code::AlreadyExists,
                    _ => Code::Unavailable,
                };
                self.status(
                    &registration.tag,
                    StatusKind::No,
                    Some(&code),
                    &error.to_string(),
                );
                self.registration_done(&registration, now);
            }
            (Step::Publishing { answer }, Ok(())) => {
                registration.published = true;
                self.publish(registration, answer, now);
            }
            (Step::Publishing { .. }, Err(error)) if !registration.published => {
                // Made on the backend but not in the master: the next reconcile of the
                // backend's shim pushes it; the reservation goes now.
                let text = format!(
                    "Done on backend {} but not registered: {error}",
                    registration.server
                );
                let answer = tagged_answer(&registration.tag, Code::Unavailable, &text);
                self.roll_back(registration, answer, now);
            }
            (Step::Publishing { .. }, Err(error)) => {
                let text = format!(
                    "Done on backend {}, but the mailbox master was not fully updated: {error}",
                    registration.server
                );
                self.status(
                    &registration.tag,
                    StatusKind::No,
                    Some(&Code::Unavailable),
                    &text,
                );
                self.registration_done(&registration, now);
            }
            (Step::RollingBack { answer }, _) => {
                self.output.extend_from_slice(&answer);
                self.registration_done(&registration, now);
            }
            (Step::Changing, _) => self.client = Client::Registering(registration),
        }
    }

    /// The backend answered the command (`answer`: its tagged line, with the client's tag).
    pub(super) fn registration_answered(
        &mut self,
        status: &Status<'_>,
        answer: &[u8],
        now: Instant,
    ) {
        let Client::Registering(registration) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        if status.kind == StatusKind::Ok {
            self.publish(registration, answer.to_vec(), now);
        } else {
            self.roll_back(registration, answer.to_vec(), now);
        }
    }

    /// Link `id` was lost: a registration waiting for it is rolled back.
    pub(super) fn registration_link_lost(&mut self, id: LinkId, reason: &str, now: Instant) {
        let server = match self.links.get(id) {
            Some(link) => link.server.clone(),
            None => return,
        };
        let waits = matches!(&self.client, Client::Registering(registration)
            if matches!(registration.step, Step::Changing) && registration.server == server);
        if !waits {
            return;
        }
        let Client::Registering(registration) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        let text = format!("Backend {server} unavailable: {reason}");
        let answer = tagged_answer(&registration.tag, Code::Unavailable, &text);
        self.roll_back(registration, answer, now);
    }

    /// A backend's tagged `NO` without a response code to a CREATE relayed to it (a backend
    /// that registers its own mailboxes), rewritten with `[ALREADYEXISTS]` (RFC 5530), the
    /// answer the proxy gives itself (step 1 above), when the name is taken: the routing table
    /// has it, or the backend says so in Cyrus's words ([`CYRUS_TAKEN`]; the NO of a Cyrus
    /// backend that lost a race can come before the table has the winner's name).
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
        // The name a CREATE makes is the one its table wait expects.
        let wait = command.wait.as_ref().filter(|_| refused)?;
        let name = wait.active.first()?;
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

    /// The routing table shows what [`Action::AwaitTable`] waited for (or the wait is over):
    /// client input flows again.
    pub fn table_caught_up(&mut self) {
        if matches!(self.client, Client::AwaitingTable) {
            self.client = Client::Ready;
        }
    }

    /// Holds client input until the table shows `wait`.
    pub(super) fn await_table(&mut self, wait: TableWait) {
        self.actions.push(Action::AwaitTable(wait));
        self.client = Client::AwaitingTable;
    }

    /// Asks the master for the next change, or, when all are made, answers `answer` and waits
    /// for the table.
    fn publish(&mut self, mut registration: Box<Registration>, answer: Vec<u8>, now: Instant) {
        match registration.plan.publish.pop_front() {
            Some(change) => {
                self.actions.push(Action::Master(change));
                registration.step = Step::Publishing { answer };
                self.client = Client::Registering(registration);
            }
            None => {
                self.output.extend_from_slice(&answer);
                self.registration_done(&registration, now);
                self.await_table(registration.plan.wait);
            }
        }
    }

    /// DELETEs the reservation, if there is one; `answer` goes to the client then.
    fn roll_back(&mut self, mut registration: Box<Registration>, answer: Vec<u8>, now: Instant) {
        let reserved = match &registration.plan.reserve {
            Some(MasterCommand::Reserve { name, .. }) if !registration.published => name.clone(),
            _ => {
                self.output.extend_from_slice(&answer);
                return self.registration_done(&registration, now);
            }
        };
        self.actions
            .push(Action::Master(MasterCommand::Delete { name: reserved }));
        registration.step = Step::RollingBack { answer };
        self.client = Client::Registering(registration);
    }

    fn registration_done(&mut self, registration: &Registration, now: Instant) {
        self.client = Client::Ready;
        self.actions.push(Action::Relayed {
            took: now.saturating_duration_since(registration.started),
        });
    }
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
