//! RENAME across backends: the proxy moves a mailbox to another backend by copying its
//! messages there, then deleting it at its old place, safe if interrupted and resumable.
//!
//! A RENAME whose new name's parent lives on another backend than the mailbox, or whose third
//! argument (an administrator's only, as in Cyrus: `RENAME old new be2` or `be2!partition`)
//! names another server, comes here ([`super::route::Destination::Relocate`]). A mailbox with
//! children, an INBOX and the selected mailbox are refused `NO [CANNOT]`: under a new name
//! only a leaf mailbox moves (an administrator's move under the mailbox's own name moves its
//! whole tree by these steps, with the differences `session/xfer.rs` describes). The steps,
//! on two links of the session's own (the client's selected mailbox is not disturbed):
//!
//! 1. the source link EXAMINEs the mailbox (its UIDVALIDITY) and lists its UIDs
//!    (`UID FETCH 1:* (UID)`, one short line per message);
//! 2. the journal keyed by the source's name and UIDVALIDITY is read
//!    ([`Action::Journal`]: the driver keeps it in `<data_dir>/renames/`). The new name
//!    existing without a journal for it is `NO [ALREADYEXISTS]`; with one, the move resumes:
//!    the destination's `STATUS (MESSAGES)` says how many of the journal's UIDs it has (the
//!    destination was created empty by the move, and messages are appended in the journal's
//!    order, so its count is the number committed);
//! 3. the journal is written (and fsynced by the driver) before anything changes: the ordered
//!    source UIDs to copy, the committed ones first, then every other UID the source has now;
//! 4. a new destination is created through the target's link: a backend that registers its
//!    own mailboxes registers it; for one that does not, the proxy RESERVEs the name in the
//!    master first and ACTIVATEs it with the source's ACL after;
//! 5. the messages not committed yet are copied by the cross-backend COPY machinery
//!    (`session/transfer.rs`: `UID FETCH` streamed into APPEND or MULTIAPPEND, flags and
//!    internal dates kept);
//! 6. only when the destination confirmed every message, and the source shows no message that
//!    arrived meanwhile (`UID FETCH n:* (UID)` past the last one copied; if one did, the move
//!    stops and the next RENAME copies it too): the source is closed and DELETEd on
//!    its backend (which unregisters it, or the proxy DELETEs the name in the master), the
//!    journal is removed, and the OK waits for the table to show the new name and not the old.
//!
//! Interrupted anywhere (a backend lost or refusing, the proxy killed), nothing is lost: the
//! source is deleted last. The client gets `NO` saying how many messages are at the
//! destination and that the source is intact; the same RENAME again finishes the job from the
//! journal without duplicating a message. A proxy without a data directory keeps no journal:
//! it refuses RENAME across backends (`NO [CANNOT]`) rather than move without one. While a
//! move runs, other sessions are not locked out of the source: one that expunges a message
//! of the journal from it, or appends to the new mailbox, makes the destination's count no
//! longer name the committed messages (a resumed move may then copy one twice).

use corvid_proto::imap::response::Status;
use corvid_proto::lex::AString;
use corvid_proto::mailbox::name::is_inbox;

use std::collections::VecDeque;

use super::transfer::{FetchItems, MAX_MESSAGES, Transfer, parse_uid_set, plural, uid_set};
use super::xfer::{Tree, TreeJournal, grants, refusal_is_harmless};
use super::*;
use crate::master::MasterError;

/// What the driver does with a move's journal, reporting with [`Session::journal_done`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalOp {
    /// Read the journal `key` (its bytes, or none when there is no such journal).
    Read(String),
    /// Write `contents` as journal `key`, durably (written, fsynced, then in place).
    Write {
        /// The journal's key: a file name of hex digits and dots.
        key: String,
        /// Its contents.
        contents: Vec<u8>,
    },
    /// Remove the journal `key`.
    Remove(String),
}

/// A RENAME across backends under way: the client's state while it lasts.
#[derive(Debug)]
pub(super) struct Relocation {
    command: InFlight,
    names: Names,
    source_server: Box<str>,
    target_server: Box<str>,
    /// The session's own links to the source and the target.
    source: LinkId,
    target: LinkId,
    uid_validity: Option<u32>,
    /// The source's messages (`EXISTS` of the EXAMINE).
    exists: u32,
    /// The source's UIDs now.
    uids: Vec<u32>,
    /// The journal's order: the source UIDs the destination gets.
    plan: Vec<u32>,
    /// How many of `plan` the destination has.
    committed: usize,
    step: Step,
    /// An administrator's same-name move of a whole tree (`session/xfer.rs`), `names` its
    /// current mailbox's; `None` for a RENAME of one mailbox to a new name.
    tree: Option<Box<Tree>>,
    /// Commands still to send in this step (a tree's SETACLs, or its removals).
    queued: VecDeque<Vec<u8>>,
    /// The removal of a source copy in flight.
    removal: Vec<u8>,
}

impl Relocation {
    /// The master's ACTIVATE of `name` at the target, with the mailbox's ACL.
    fn activation(&self, name: &str) -> MasterCommand {
        MasterCommand::Activate {
            name: name.as_bytes().to_vec(),
            location: format!("{}!default", self.target_server).into_bytes(),
            acl: self.names.acl.clone(),
        }
    }
}

/// What a move needs of the table and the client's command, taken when it starts.
#[derive(Debug)]
pub(super) struct Names {
    /// The internal names.
    old: Box<str>,
    new: Box<str>,
    /// `EXAMINE old`, `STATUS new (MESSAGES)`, `CREATE new`, `DELETE old`, `APPEND new` as
    /// the backends get them.
    examine: Vec<u8>,
    status: Vec<u8>,
    create: Vec<u8>,
    delete: Vec<u8>,
    append: Vec<u8>,
    /// The source's ACL, which a destination the proxy registers gets.
    acl: Vec<u8>,
    /// The new name is in the table (at the target) already.
    destination_exists: bool,
}

/// The names of a RENAME of `from` to `to` across backends, or why that move is not done (the
/// session's `selected` mailbox is not moved away under it).
pub(super) fn prepare(
    view: &View<'_>,
    (from, to): (AString<'_>, AString<'_>),
    selected: Option<&str>,
) -> Result<Names, Refusal> {
    let (Ok(old), Ok(new)) = (
        view.internal_name(&from.to_vec()),
        view.internal_name(&to.to_vec()),
    ) else {
        return Err(Refusal::CannotMove("invalid mailbox name"));
    };
    let entry = view.table.get(old.as_bytes()).ok_or(Refusal::Lookup(
        corvid_mupdate::view::LookupError::NonExistent,
    ))?;
    if old == new {
        return Err(Refusal::CannotMove(
            "a mailbox is not moved under its own name: rename it",
        ));
    }
    if is_inbox(old.as_bytes()) || is_inbox(new.as_bytes()) {
        return Err(Refusal::CannotMove(
            "an INBOX is not moved between backends",
        ));
    }
    if view.table.subtree(old.as_bytes()).nth(1).is_some() {
        return Err(Refusal::CannotMove(
            "a mailbox with children is not moved between backends: move them first",
        ));
    }
    if selected == Some(&*old) {
        return Err(Refusal::CannotMove(
            "the mailbox is selected: close it first",
        ));
    }
    let (Some(from), Some(to)) = (
        mailbox_argument(&from.to_vec()),
        mailbox_argument(&to.to_vec()),
    ) else {
        return Err(Refusal::CannotMove(
            "the mailbox names cannot be sent to the backends",
        ));
    };
    let destination_exists = view.table.get(new.as_bytes()).is_some();
    Ok(Names::new(
        (old.into(), new.into()),
        (&from, &to),
        ("CREATE ", "DELETE "),
        entry.acl.to_vec(),
        destination_exists,
    ))
}

/// `name` (as a client sends it) written as an IMAP mailbox argument; `None` when it cannot
/// be sent on one line.
pub(super) fn mailbox_argument(name: &[u8]) -> Option<Vec<u8>> {
    let mut argument = Vec::new();
    ResponseWriter::new(&mut argument, true)
        .mailbox(name)
        .ok()?;
    (!argument.contains(&b'\n')).then_some(argument)
}

impl Names {
    /// The names of a move of internal `old` to `new`, written `from` and `to` (mailbox
    /// arguments), made and removed with the `create` and `delete` verbs.
    fn new(
        (old, new): (Box<str>, Box<str>),
        (from, to): (&[u8], &[u8]),
        (create, delete): (&str, &str),
        acl: Vec<u8>,
        destination_exists: bool,
    ) -> Names {
        let command =
            |verb: &str, name: &[u8], tail: &str| [verb.as_bytes(), name, tail.as_bytes()].concat();
        Names {
            old,
            new,
            examine: command("EXAMINE ", from, ""),
            status: command("STATUS ", to, " (MESSAGES)"),
            create: command(create, to, ""),
            delete: command(delete, from, ""),
            append: command("APPEND ", to, ""),
            acl,
            destination_exists,
        }
    }
}

/// Where a [`Relocation`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// The links connect and log in.
    Connecting,
    /// The source is EXAMINEd.
    Examining,
    /// The source's UIDs are listed.
    Listing,
    /// The driver reads the journal.
    ReadingJournal,
    /// The destination's messages are counted (a resumed move).
    Counting,
    /// The driver writes the journal.
    WritingJournal,
    /// The master RESERVEs the new name (a target the proxy registers for).
    Reserving,
    /// The target creates the destination.
    Creating,
    /// The master ACTIVATEs the new name.
    Activating,
    /// The target gets the mailbox's ACL (a tree member, on a registering backend).
    Granting,
    /// The messages are copied (the client is [`Client::Transferring`] meanwhile).
    Copying,
    /// The source is asked for messages that arrived during the copy.
    Verifying,
    /// The source's link leaves the mailbox.
    Closing,
    /// The source DELETEs the mailbox.
    Deleting,
    /// The master DELETEs the old name (a source the proxy registers for).
    Unregistering,
    /// A moved tree's source copies are removed, children first.
    Removing,
    /// The driver removes the journal.
    Forgetting,
}

impl Session {
    /// Starts moving a mailbox from `source` to `target` (see the module doc).
    pub(super) fn start_relocation(
        &mut self,
        command: InFlight,
        names: Names,
        (source_server, target_server): (Box<str>, Box<str>),
    ) {
        let login = self.backend_login();
        let source = self.open_link(source_server.clone(), login.clone());
        let target = self.open_link(target_server.clone(), login);
        self.client = Client::Relocating(Box::new(Relocation {
            command,
            names,
            source_server,
            target_server,
            source,
            target,
            uid_validity: None,
            exists: 0,
            uids: Vec::new(),
            plan: Vec::new(),
            committed: 0,
            step: Step::Connecting,
            tree: None,
            queued: VecDeque::new(),
            removal: Vec::new(),
        }));
    }

    /// Starts an administrator's same-name move of `tree` from `source` to `target` (see
    /// `session/xfer.rs`): its journal is read first, then the mailboxes move one by one.
    pub(super) fn start_tree_move(
        &mut self,
        command: InFlight,
        tree: Tree,
        (source_server, target_server): (Box<str>, Box<str>),
    ) {
        let login = self.login_for(&tree.login);
        let source = self.open_link(source_server.clone(), login.clone());
        let target = self.open_link(target_server.clone(), login);
        let relocation = Box::new(Relocation {
            command,
            // Each member's names replace these when its turn comes.
            names: Names::new(
                (tree.root.clone(), tree.root.clone()),
                (b"", b""),
                ("", ""),
                Vec::new(),
                true,
            ),
            source_server,
            target_server,
            source,
            target,
            uid_validity: None,
            exists: 0,
            uids: Vec::new(),
            plan: Vec::new(),
            committed: 0,
            step: Step::ReadingJournal,
            tree: Some(Box::new(tree)),
            queued: VecDeque::new(),
            removal: Vec::new(),
        });
        self.actions
            .push(Action::Journal(JournalOp::Read(relocation.key())));
        self.client = Client::Relocating(relocation);
    }

    /// Link `id` is ready: once both of a move's links are, the source is EXAMINEd.
    pub(super) fn relocation_link_ready(&mut self, id: LinkId) {
        let Client::Relocating(relocation) = &mut self.client else {
            return;
        };
        let ready = |link: LinkId| self.links[link].state == LinkState::Ready;
        if relocation.step != Step::Connecting
            || (id != relocation.source && id != relocation.target)
            || !ready(relocation.source)
            || !ready(relocation.target)
        {
            return;
        }
        if relocation.tree.is_some() {
            let Client::Relocating(relocation) = std::mem::replace(&mut self.client, Client::Ready)
            else {
                return;
            };
            return self.next_member(relocation);
        }
        relocation.step = Step::Examining;
        self.links[relocation.source].send_own(Purpose::Relocate, &relocation.names.examine);
    }

    /// One of a move's own commands was answered (`status`) on link `id`.
    pub(super) fn relocation_answered(&mut self, id: LinkId, status: &Status<'_>, now: Instant) {
        let Client::Relocating(mut relocation) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        let sent = match relocation.step {
            Step::Creating => &relocation.names.create,
            _ => &relocation.removal,
        };
        let tolerated = relocation.tree.is_some()
            && matches!(relocation.step, Step::Creating | Step::Removing)
            && refusal_is_harmless(sent, status);
        if status.kind != StatusKind::Ok && !tolerated {
            let server = self.links[id].server.clone();
            let text = String::from_utf8_lossy(status.text);
            let reason = format!("backend {server} answered: {text}");
            return self.relocation_failed(relocation, &reason, now);
        }
        match relocation.step {
            Step::Examining => match relocation.uid_validity {
                None => {
                    let reason =
                        format!("backend {} gave no UIDVALIDITY", relocation.source_server);
                    return self.relocation_failed(relocation, &reason, now);
                }
                Some(_) if relocation.exists == 0 && relocation.tree.is_some() => {
                    return self.create_member(relocation, now);
                }
                Some(_) if relocation.exists == 0 => {
                    relocation.step = Step::ReadingJournal;
                    self.actions
                        .push(Action::Journal(JournalOp::Read(relocation.key())));
                }
                Some(_) => {
                    relocation.step = Step::Listing;
                    self.links[relocation.source]
                        .send_own(Purpose::Relocate, b"UID FETCH 1:* (UID)");
                }
            },
            Step::Listing if relocation.tree.is_some() => {
                return self.create_member(relocation, now);
            }
            Step::Listing => {
                relocation.step = Step::ReadingJournal;
                self.actions
                    .push(Action::Journal(JournalOp::Read(relocation.key())));
            }
            Step::Counting => {
                if relocation.tree.is_some()
                    && relocation.plan.is_empty()
                    && relocation.committed > 0
                {
                    let reason = format!(
                        "{} holds {} messages in it already, which this move did not copy",
                        relocation.target_server, relocation.committed
                    );
                    return self.relocation_failed(relocation, &reason, now);
                }
                if relocation.committed > relocation.plan.len() {
                    let reason = format!(
                        "{} has {} messages, more than the {} this move copies: not resumed",
                        relocation.target_server,
                        relocation.committed,
                        relocation.plan.len()
                    );
                    return self.relocation_failed(relocation, &reason, now);
                }
                self.write_journal(&mut relocation);
            }
            Step::Creating if relocation.tree.is_some() => {
                relocation.step = Step::Counting;
                self.links[relocation.target].send_own(Purpose::Relocate, &relocation.names.status);
            }
            Step::Creating => {
                if self
                    .config
                    .proxy_registers
                    .contains(&relocation.target_server)
                {
                    relocation.step = Step::Activating;
                    let activate = relocation.activation(&relocation.names.new);
                    self.actions.push(Action::Master(activate));
                } else {
                    return self.copy_relocated(relocation, now);
                }
            }
            Step::Verifying => {
                // `n:*` names the last message even when its UID is below n.
                let copied = relocation.plan.iter().max().copied().unwrap_or(0);
                if relocation.uids.iter().any(|&uid| uid > copied) {
                    let reason = "messages arrived at the source during the move";
                    return self.relocation_failed(relocation, reason, now);
                }
                relocation.step = Step::Closing;
                self.links[relocation.source].send_own(Purpose::Relocate, b"CLOSE");
            }
            Step::Closing if relocation.tree.is_some() => {
                relocation.step = Step::Activating;
                let activate = relocation.activation(&relocation.names.old);
                self.actions.push(Action::Master(activate));
            }
            Step::Granting => match relocation.queued.pop_front() {
                Some(grant) => self.links[relocation.target].send_own(Purpose::Relocate, &grant),
                None => return self.switch_member(relocation),
            },
            Step::Removing => return self.next_removal(relocation),
            Step::Closing => {
                relocation.step = Step::Deleting;
                self.links[relocation.source].send_own(Purpose::Relocate, &relocation.names.delete);
            }
            Step::Deleting => {
                if self
                    .config
                    .proxy_registers
                    .contains(&relocation.source_server)
                {
                    relocation.step = Step::Unregistering;
                    self.actions.push(Action::Master(MasterCommand::Delete {
                        name: relocation.names.old.as_bytes().to_vec(),
                    }));
                } else {
                    relocation.step = Step::Forgetting;
                    self.actions
                        .push(Action::Journal(JournalOp::Remove(relocation.key())));
                }
            }
            _ => {}
        }
        self.client = Client::Relocating(relocation);
    }

    /// The driver carried out the journal operation asked for with [`Action::Journal`]: a
    /// read's contents (`None`: no journal), or why it could not.
    pub fn journal_done(&mut self, result: Result<Option<Vec<u8>>, String>, now: Instant) {
        let Client::Relocating(mut relocation) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        let contents = match result {
            Ok(contents) => contents,
            Err(reason) if relocation.step == Step::ReadingJournal => {
                let code = Code::Other {
                    atom: b"CANNOT",
                    argument: None,
                };
                let text = format!(
                    "RENAME across backends needs the proxy's journal, which it cannot keep: {reason}"
                );
                self.status(&relocation.command.tag, StatusKind::No, Some(&code), &text);
                return self.relocation_over(&relocation, now);
            }
            Err(reason) if relocation.step == Step::Forgetting => {
                // The move is done; a journal left behind names a source that is gone.
                tracing::warn!(%reason, "journal of a finished move not removed");
                None
            }
            Err(reason) => {
                let reason = format!("the proxy's journal: {reason}");
                return self.relocation_failed(relocation, &reason, now);
            }
        };
        match relocation.step {
            Step::ReadingJournal if relocation.tree.is_some() => {
                return self.tree_journal_read(relocation, contents.as_deref(), now);
            }
            Step::WritingJournal
                if relocation
                    .tree
                    .as_ref()
                    .and_then(|tree| tree.member())
                    .is_some_and(|member| member.switched) =>
            {
                return self.next_member(relocation);
            }
            Step::Forgetting if relocation.tree.is_some() => {
                let members: Vec<Box<str>> = relocation
                    .tree
                    .as_ref()
                    .map(|tree| tree.members.iter().map(|m| m.name.clone()).collect())
                    .unwrap_or_default();
                let text = format!(
                    "RENAME completed: {} moved to {}",
                    mailboxes(&members),
                    relocation.target_server
                );
                self.ok(&relocation.command.tag, &text);
                self.relocation_over(&relocation, now);
                return self.await_table(TableWait {
                    active: members,
                    gone: Vec::new(),
                });
            }
            Step::ReadingJournal => {
                let journal = contents
                    .as_deref()
                    .and_then(Journal::parse)
                    .filter(|journal| *journal.destination == *relocation.names.new);
                match (relocation.names.destination_exists, journal) {
                    (true, None) => {
                        let code = Code::AlreadyExists;
                        self.status(
                            &relocation.command.tag,
                            StatusKind::No,
                            Some(&code),
                            "Mailbox already exists",
                        );
                        return self.relocation_over(&relocation, now);
                    }
                    (true, Some(journal)) => {
                        relocation.plan = journal.uids;
                        relocation.step = Step::Counting;
                        self.links[relocation.target]
                            .send_own(Purpose::Relocate, &relocation.names.status);
                    }
                    (false, _) => {
                        relocation.committed = 0;
                        self.write_journal(&mut relocation);
                    }
                }
            }
            Step::WritingJournal if relocation.names.destination_exists => {
                return self.copy_relocated(relocation, now);
            }
            Step::WritingJournal => {
                if self
                    .config
                    .proxy_registers
                    .contains(&relocation.target_server)
                {
                    relocation.step = Step::Reserving;
                    self.actions.push(Action::Master(MasterCommand::Reserve {
                        name: relocation.names.new.as_bytes().to_vec(),
                        location: format!("{}!default", relocation.target_server).into_bytes(),
                    }));
                } else {
                    relocation.step = Step::Creating;
                    self.links[relocation.target]
                        .send_own(Purpose::Relocate, &relocation.names.create);
                }
            }
            Step::Forgetting => {
                let text = format!(
                    "RENAME completed: {} moved to {}",
                    plural(relocation.plan.len()),
                    relocation.target_server
                );
                self.ok(&relocation.command.tag, &text);
                self.relocation_over(&relocation, now);
                return self.await_table(TableWait {
                    active: vec![relocation.names.new.clone()],
                    gone: vec![relocation.names.old.clone()],
                });
            }
            _ => {}
        }
        self.client = Client::Relocating(relocation);
    }

    /// The master's answer to a move's RESERVE, ACTIVATE or DELETE.
    pub(super) fn relocation_master_answered(
        &mut self,
        result: Result<(), MasterError>,
        now: Instant,
    ) {
        let Client::Relocating(mut relocation) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        match (relocation.step, result) {
            (Step::Reserving, Err(error)) => {
                let reason = format!("the mailbox master refused the new name: {error}");
                return self.relocation_failed(relocation, &reason, now);
            }
            (Step::Reserving, Ok(())) => {
                relocation.step = Step::Creating;
                self.links[relocation.target].send_own(Purpose::Relocate, &relocation.names.create);
            }
            (Step::Activating, Err(error)) => {
                let reason = format!("the mailbox master did not activate the new name: {error}");
                return self.relocation_failed(relocation, &reason, now);
            }
            (Step::Activating, Ok(())) if relocation.tree.is_some() => {
                if self
                    .config
                    .proxy_registers
                    .contains(&relocation.target_server)
                {
                    return self.switch_member(relocation);
                }
                let mailbox = relocation.tree.as_ref().and_then(|tree| {
                    tree.mailbox_argument(&self.config.namespace, &relocation.names.old)
                });
                let grants = grants(&mailbox.unwrap_or_default(), &relocation.names.acl);
                relocation.queued = grants.into();
                relocation.step = Step::Granting;
                match relocation.queued.pop_front() {
                    Some(grant) => {
                        self.links[relocation.target].send_own(Purpose::Relocate, &grant);
                    }
                    None => return self.switch_member(relocation),
                }
            }
            (Step::Activating, Ok(())) => return self.copy_relocated(relocation, now),
            (Step::Unregistering, result) => {
                if let Err(error) = result {
                    // The backend deleted it: the shim's next reconcile removes the name.
                    tracing::warn!(mailbox = %relocation.names.old, %error, "moved mailbox not deleted in the master");
                }
                relocation.step = Step::Forgetting;
                self.actions
                    .push(Action::Journal(JournalOp::Remove(relocation.key())));
            }
            _ => {}
        }
        self.client = Client::Relocating(relocation);
    }

    /// Link `id` was lost: a move that uses it stops, the source intact.
    pub(super) fn relocation_link_lost(&mut self, id: LinkId, reason: &str, now: Instant) {
        let uses = matches!(&self.client, Client::Relocating(relocation)
            if id == relocation.source || id == relocation.target);
        if !uses {
            return;
        }
        let Client::Relocating(relocation) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        let server = self.links[id].server.clone();
        let reason = format!("backend {server} lost: {reason}");
        self.relocation_failed(relocation, &reason, now);
    }

    /// The copy of a move's messages ended: `copied` of those sent were confirmed, and
    /// `failure` says why not all were.
    pub(super) fn relocation_copied(
        &mut self,
        mut relocation: Box<Relocation>,
        copied: usize,
        failure: Option<String>,
        now: Instant,
    ) {
        relocation.committed += copied;
        match failure {
            Some(reason) => self.relocation_failed(relocation, &reason, now),
            None => {
                // Messages that arrived at the source meanwhile would be deleted with it.
                let next = relocation
                    .plan
                    .iter()
                    .max()
                    .map_or(1, |uid| uid.saturating_add(1));
                relocation.uids.clear();
                relocation.step = Step::Verifying;
                let command = format!("UID FETCH {next}:* (UID)");
                self.links[relocation.source].send_own(Purpose::Relocate, command.as_bytes());
                self.client = Client::Relocating(relocation);
            }
        }
    }

    /// Writes the journal: the committed UIDs first, then every other UID the source has.
    fn write_journal(&mut self, relocation: &mut Relocation) {
        let committed = relocation
            .plan
            .get(..relocation.committed)
            .unwrap_or_default();
        let mut plan = committed.to_vec();
        plan.extend(
            relocation
                .uids
                .iter()
                .filter(|uid| !committed.contains(uid)),
        );
        relocation.plan = plan;
        let uid_validity = relocation.uid_validity.unwrap_or_default();
        let contents = match &mut relocation.tree {
            Some(tree) => {
                if let Some(member) = tree.members.get_mut(tree.current) {
                    member.uids = relocation.plan.clone();
                    member.uid_validity = uid_validity;
                }
                tree_journal(relocation)
            }
            None => Journal {
                destination: relocation.names.new.clone(),
                uids: relocation.plan.clone(),
            }
            .to_bytes(),
        };
        relocation.step = Step::WritingJournal;
        self.actions.push(Action::Journal(JournalOp::Write {
            key: relocation.key(),
            contents,
        }));
    }

    /// A tree move's journal was read (`contents`, `None`: there is none): the move resumes
    /// from it or starts afresh, once both links are ready.
    fn tree_journal_read(
        &mut self,
        mut relocation: Box<Relocation>,
        contents: Option<&[u8]>,
        now: Instant,
    ) {
        let Some(tree) = relocation.tree.as_mut() else {
            return;
        };
        match contents.map(TreeJournal::parse) {
            Some(None) => {
                let reason = "the journal of this move cannot be read";
                return self.relocation_failed(relocation, reason, now);
            }
            Some(Some(journal)) => {
                if journal.target != relocation.target_server {
                    let reason = format!(
                        "a move of this tree to {} is under way: finish it first",
                        journal.target
                    );
                    return self.relocation_failed(relocation, &reason, now);
                }
                for member in &mut tree.members {
                    if let Some(journaled) = journal.members.iter().find(|j| j.name == member.name)
                    {
                        member.uid_validity = journaled.uid_validity;
                        member.uids.clone_from(&journaled.uids);
                        member.switched |= journaled.switched;
                    }
                }
                if let Some(gone) = journal
                    .members
                    .iter()
                    .find(|j| !tree.members.iter().any(|member| member.name == j.name))
                {
                    let reason =
                        format!("{} of this move is gone from the mailbox table", gone.name);
                    return self.relocation_failed(relocation, &reason, now);
                }
                if journal.source != relocation.source_server {
                    // The tree's root is at the target already: the source is the journal's.
                    self.links[relocation.source].state = LinkState::Closed;
                    self.actions.push(Action::CloseLink(relocation.source));
                    let login = self.login_for(&tree.login);
                    relocation.source = self.open_link(journal.source.clone(), login);
                    relocation.source_server = journal.source;
                }
            }
            None if relocation.source_server == relocation.target_server => {
                let code = Code::Other {
                    atom: b"CANNOT",
                    argument: None,
                };
                let text = format!("the mailboxes are on {} already", relocation.target_server);
                self.status(&relocation.command.tag, StatusKind::No, Some(&code), &text);
                return self.relocation_over(&relocation, now);
            }
            None => {}
        }
        relocation.step = Step::Connecting;
        let source = relocation.source;
        self.client = Client::Relocating(relocation);
        self.relocation_link_ready(source);
    }

    /// Moves the tree's first mailbox not switched yet; when every one is, removes the
    /// source copies.
    fn next_member(&mut self, mut relocation: Box<Relocation>) {
        let Some(tree) = relocation.tree.as_mut() else {
            return;
        };
        let ns = &self.config.namespace;
        let Some(current) = tree.members.iter().position(|member| !member.switched) else {
            let source_registers = !self
                .config
                .proxy_registers
                .contains(&relocation.source_server);
            let Some(removals) = tree.removals(ns, source_registers) else {
                let reason = "the mailbox names cannot be sent to the backends";
                return self.relocation_failed(relocation, reason, Instant::now());
            };
            relocation.queued = removals.into();
            relocation.step = Step::Removing;
            return self.next_removal(relocation);
        };
        tree.current = current;
        let member = &tree.members[current];
        let Some(mailbox) = tree.mailbox_argument(ns, &member.name) else {
            let reason = "the mailbox names cannot be sent to the backends";
            return self.relocation_failed(relocation, reason, Instant::now());
        };
        let create = if self
            .config
            .proxy_registers
            .contains(&relocation.target_server)
        {
            "CREATE "
        } else {
            "LOCALCREATE "
        };
        let acl = member.acl.clone();
        relocation.names = Names::new(
            (member.name.clone(), member.name.clone()),
            (&mailbox, &mailbox),
            (create, "LOCALDELETE "),
            acl,
            true,
        );
        relocation.plan.clone_from(&member.uids);
        relocation.uid_validity = None;
        relocation.exists = 0;
        relocation.uids.clear();
        relocation.committed = 0;
        relocation.step = Step::Examining;
        self.links[relocation.source].send_own(Purpose::Relocate, &relocation.names.examine);
        self.client = Client::Relocating(relocation);
    }

    /// Sends a moved tree's next removal at the source; after the last, removes the journal.
    fn next_removal(&mut self, mut relocation: Box<Relocation>) {
        match relocation.queued.pop_front() {
            Some(removal) => {
                self.links[relocation.source].send_own(Purpose::Relocate, &removal);
                relocation.removal = removal;
            }
            None => {
                relocation.step = Step::Forgetting;
                self.actions
                    .push(Action::Journal(JournalOp::Remove(relocation.key())));
            }
        }
        self.client = Client::Relocating(relocation);
    }

    /// A tree member's source is examined and listed: its destination is made.
    fn create_member(&mut self, mut relocation: Box<Relocation>, now: Instant) {
        let begun = relocation
            .tree
            .as_ref()
            .and_then(|tree| tree.member())
            .map_or(0, |member| member.uid_validity);
        if begun != 0 && relocation.uid_validity != Some(begun) {
            let reason = "the source's UIDVALIDITY changed since the move began";
            return self.relocation_failed(relocation, reason, now);
        }
        relocation.step = Step::Creating;
        self.links[relocation.target].send_own(Purpose::Relocate, &relocation.names.create);
        self.client = Client::Relocating(relocation);
    }

    /// A tree member is switched to the target in the master: the journal says so.
    fn switch_member(&mut self, mut relocation: Box<Relocation>) {
        if let Some(tree) = relocation.tree.as_mut()
            && let Some(member) = tree.members.get_mut(tree.current)
        {
            member.switched = true;
        }
        relocation.step = Step::WritingJournal;
        let contents = tree_journal(&relocation);
        self.actions.push(Action::Journal(JournalOp::Write {
            key: relocation.key(),
            contents,
        }));
        self.client = Client::Relocating(relocation);
    }

    /// Copies the messages of the plan the destination does not have yet.
    fn copy_relocated(&mut self, mut relocation: Box<Relocation>, now: Instant) {
        relocation.step = Step::Copying;
        let rest = relocation
            .plan
            .get(relocation.committed..)
            .unwrap_or_default();
        if rest.is_empty() {
            return self.relocation_copied(relocation, 0, None, now);
        }
        let mut fetch = b"UID FETCH ".to_vec();
        fetch.extend_from_slice(uid_set(rest).as_bytes());
        let transfer = Transfer::new(
            relocation.command.clone(),
            (relocation.source, relocation.target),
            fetch,
            relocation.names.append.clone(),
        );
        self.begin_transfer(transfer.for_relocation(relocation));
    }

    /// Ends a move that stopped: `NO` saying what the destination has and that the source is
    /// intact.
    fn relocation_failed(&mut self, relocation: Box<Relocation>, reason: &str, now: Instant) {
        if let Some(tree) = &relocation.tree {
            let switched = tree.members.iter().filter(|m| m.switched).count();
            let text = if relocation.step == Step::Removing {
                format!(
                    "every mailbox moved to {}, but not every source copy was removed ({reason}): RENAME again to finish",
                    relocation.target_server
                )
            } else {
                format!(
                    "{switched} of {} moved to {}; {}: {} of {} there ({reason}); every mailbox not moved is intact at {}: RENAME again to finish",
                    mailboxes(&tree.members),
                    relocation.target_server,
                    relocation.names.old,
                    relocation.committed,
                    plural(relocation.plan.len().max(relocation.exists as usize)),
                    relocation.source_server,
                )
            };
            self.status(
                &relocation.command.tag,
                StatusKind::No,
                Some(&Code::Unavailable),
                &text,
            );
            return self.relocation_over(&relocation, now);
        }
        let reserved = matches!(relocation.step, Step::Creating | Step::Activating)
            && !relocation.names.destination_exists
            && self
                .config
                .proxy_registers
                .contains(&relocation.target_server);
        if reserved {
            // The proxy's own reservation of the new name goes (a destination the backend
            // created meanwhile is pushed again by its shim's next reconcile).
            self.actions.push(Action::Master(MasterCommand::Delete {
                name: relocation.names.new.as_bytes().to_vec(),
            }));
        }
        let text = if relocation.step >= Step::Closing {
            format!(
                "{} moved to {}, but the source mailbox was not removed ({reason}): RENAME again to finish",
                plural(relocation.plan.len()),
                relocation.target_server
            )
        } else {
            format!(
                "{} of {} at {} ({reason}); the source mailbox is intact: RENAME again to finish",
                relocation.committed,
                plural(relocation.plan.len().max(relocation.exists as usize)),
                relocation.target_server,
            )
        };
        self.status(
            &relocation.command.tag,
            StatusKind::No,
            Some(&Code::Unavailable),
            &text,
        );
        self.relocation_over(&relocation, now);
    }

    /// Closes a move's links; client input flows again.
    fn relocation_over(&mut self, relocation: &Relocation, now: Instant) {
        self.client = Client::Ready;
        for id in [relocation.source, relocation.target] {
            if let Some(link) = self.links.get_mut(id)
                && link.state != LinkState::Closed
            {
                link.state = LinkState::Closed;
                self.actions.push(Action::CloseLink(id));
            }
        }
        self.actions.push(Action::Relayed {
            took: now.saturating_duration_since(relocation.command.started),
        });
    }
}

impl Relocation {
    /// An untagged response (`line`) to one of a move's own commands.
    pub(super) fn untagged(&mut self, line: &[u8]) -> Result<(), LinkError> {
        let Ok((Response::Untagged(untagged), _)) = classify(line) else {
            return Ok(());
        };
        match (self.step, untagged) {
            (
                Step::Examining,
                Untagged::Status(Status {
                    code: Some(Code::UidValidity(uid_validity)),
                    ..
                }),
            ) => self.uid_validity = Some(uid_validity),
            (Step::Examining, Untagged::Exists(exists)) => self.exists = exists,
            (Step::Listing | Step::Verifying, Untagged::Fetch { .. }) => {
                let uid = FetchItems::of_response(line)
                    .and_then(|items| items.uid)
                    .ok_or(LinkError::Protocol)?;
                if self.uids.len() >= MAX_MESSAGES {
                    return Err(LinkError::Protocol);
                }
                self.uids.push(uid);
            }
            (Step::Counting, Untagged::MailboxStatus(data)) => {
                let messages = status_messages(data.rest).ok_or(LinkError::Protocol)?;
                self.committed = usize::try_from(messages).map_err(|_| LinkError::Protocol)?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The journal's key: the source's internal name in hex and its UIDVALIDITY; a tree's
    /// root in hex.
    fn key(&self) -> String {
        let hex = |name: &str| name.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        match &self.tree {
            Some(tree) => hex(&tree.root),
            None => format!(
                "{}.{}",
                hex(&self.names.old),
                self.uid_validity.unwrap_or_default()
            ),
        }
    }
}

/// The journal of a tree move as it stands.
fn tree_journal(relocation: &Relocation) -> Vec<u8> {
    TreeJournal {
        source: relocation.source_server.clone(),
        target: relocation.target_server.clone(),
        members: relocation
            .tree
            .as_ref()
            .map(|tree| tree.members.clone())
            .unwrap_or_default(),
    }
    .to_bytes()
}

/// "1 mailbox", "3 mailboxes".
fn mailboxes<T>(members: &[T]) -> String {
    match members.len() {
        1 => "1 mailbox".into(),
        n => format!("{n} mailboxes"),
    }
}

/// What a move's journal keeps: where the mailbox goes, and the source UIDs in the order the
/// destination gets them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Journal {
    destination: Box<str>,
    uids: Vec<u32>,
}

/// The first line of every journal.
const JOURNAL_HEADER: &str = "corvid rename journal 1";

impl Journal {
    fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{JOURNAL_HEADER}\ndestination {}\nuids {}\n",
            self.destination,
            uid_set(&self.uids)
        )
        .into_bytes()
    }

    /// A journal's contents; `None` when they are not one (the journal is then not used).
    fn parse(bytes: &[u8]) -> Option<Journal> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != JOURNAL_HEADER {
            return None;
        }
        let destination = lines.next()?.strip_prefix("destination ")?;
        let uids = lines.next()?.strip_prefix("uids ")?;
        let uids = if uids.is_empty() {
            Vec::new()
        } else {
            let parsed = parse_uid_set(uids.as_bytes(), MAX_MESSAGES);
            if parsed.is_empty() {
                return None;
            }
            parsed
        };
        Some(Journal {
            destination: destination.into(),
            uids,
        })
    }
}

/// The MESSAGES count of a `* STATUS` reply's `(items)`.
fn status_messages(items: &[u8]) -> Option<u32> {
    let items = trim_line_end(items)
        .strip_prefix(b"(")?
        .strip_suffix(b")")?;
    let mut words = items.split(|&b| b == b' ');
    while let Some(name) = words.next() {
        let value = words.next()?;
        if name.eq_ignore_ascii_case(b"MESSAGES") {
            return std::str::from_utf8(value).ok()?.parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journals_read_back_what_was_written_and_refuse_anything_else() {
        let journal = Journal {
            destination: "user.john.Work".into(),
            uids: vec![3, 4, 5, 9, 1],
        };
        let bytes = journal.to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "corvid rename journal 1\ndestination user.john.Work\nuids 3:5,9,1\n"
        );
        assert_eq!(Journal::parse(&bytes), Some(journal));
        let empty = Journal {
            destination: "x".into(),
            uids: Vec::new(),
        };
        assert_eq!(Journal::parse(&empty.to_bytes()), Some(empty));
        for bad in [
            &b""[..],
            b"corvid rename journal 2\ndestination x\nuids 1\n",
            b"corvid rename journal 1\ndestination x\n",
            b"corvid rename journal 1\ndestination x\nuids 0:x\n",
            b"\xff\xfe",
        ] {
            assert_eq!(Journal::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn status_messages_are_read_among_other_items() {
        assert_eq!(status_messages(b"(UIDNEXT 4 MESSAGES 12)\r\n"), Some(12));
        assert_eq!(status_messages(b"(MESSAGES 0)"), Some(0));
        assert_eq!(status_messages(b"(UIDNEXT 4)"), None);
        assert_eq!(status_messages(b"(MESSAGES x)"), None);
        assert_eq!(status_messages(b"MESSAGES 3"), None);
    }
}
