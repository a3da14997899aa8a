//! Commands on mailboxes by name: CREATE, DELETE, RENAME, SUBSCRIBE, LIST/LSUB, STATUS,
//! APPEND and the ACL commands, and how the ones that change the master end when it answers.

use std::collections::VecDeque;

use corvid_mupdate::view::{Located, LookupError, Subscriptions, View};
use corvid_proto::acl::{Acl, Rights, RightsChange};
use corvid_proto::imap::command::{Args, parse_head};
use corvid_proto::imap::metadata::FREE_SPACE_ENTRY;
use corvid_proto::imap::request::{DateTime, Flag, StatusItem};
use corvid_proto::imap::response::{Code, StatusKind};
use corvid_proto::imap::writer::ResponseWriter;
use corvid_proto::mailbox::{is_inbox, owner_of};
use corvid_proto::message::crlf_normalized;

use super::auth::logged_in;
use super::{Action, Creation, Done, MasterChange, Session, Waiting, no, ok, tagged};
use crate::backend::store::{Mailbox, Store, StoreError, SystemFlags};

/// The rights the owner of a new personal mailbox gets (all of RFC 4314's).
const OWNER_RIGHTS: &str = "lrswipkxtecdan";

impl Session {
    /// Resolves a client's mailbox name to a mailbox the user may see, with their rights.
    fn locate<'s>(&'s self, store: &'s Store, name: &[u8]) -> Result<Located<'s>, LookupError> {
        let view = self.view(store).ok_or(LookupError::NonExistent)?;
        let located = view.resolve(name)?;
        if located.rights.intersects(Rights::REVEAL_EXISTENCE) {
            Ok(located)
        } else {
            Err(LookupError::NonExistent)
        }
    }

    /// Resolves a mailbox and checks that the user holds `needed` on it.
    pub(super) fn locate_with(
        &self,
        store: &Store,
        name: &[u8],
        needed: Rights,
    ) -> Result<String, LookupError> {
        let located = self.locate(store, name)?;
        if located.rights.contains(needed) {
            Ok(located.internal)
        } else {
            Err(LookupError::PermissionDenied)
        }
    }

    /// Where a new mailbox `name` (a client's name) would be made: its internal name, once
    /// the user may create it there and nothing has that name.
    fn new_name(
        &self,
        store: &Store,
        name: &[u8],
        out: &mut Vec<u8>,
        tag: &[u8],
    ) -> Option<String> {
        let view = self.view(store)?;
        let separator = self.config.namespace.config().separator.byte();
        let name = name.strip_suffix(&[separator]).unwrap_or(name);
        let internal = match view.internal_name(name) {
            Ok(internal) => internal,
            Err(error) => {
                no(out, tag, None, error.to_string().as_bytes());
                return None;
            }
        };
        if store.table().get(internal.as_bytes()).is_some() {
            no(
                out,
                tag,
                Some(Code::AlreadyExists),
                b"Mailbox already exists",
            );
            return None;
        }
        let allowed = match nearest_ancestor(store, &internal) {
            Some(parent) => {
                let entry = store.table().get(parent.name.as_bytes());
                entry.is_some_and(|entry| view.viewer.rights(&entry).contains(Rights::CREATE))
            }
            None => {
                view.viewer.is_admin()
                    || corvid_proto::mailbox::in_subtree(
                        internal.as_bytes(),
                        view.viewer.inbox().as_bytes(),
                    )
            }
        };
        if !allowed {
            no(out, tag, Some(Code::NoPerm), b"Permission denied");
            return None;
        }
        Some(internal)
    }

    /// CREATE: RESERVE in the master first.
    pub(super) fn create(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let internal = self.new_name(store, name, out, tag)?;
        self.reserve(tag, internal, Creation::Create)
    }

    fn reserve(&mut self, tag: &[u8], name: String, then: Creation) -> Option<Action> {
        self.waiting = Some(Waiting::Reserved {
            tag: tag.to_vec(),
            name: name.clone(),
            then,
        });
        Some(Action::Master(MasterChange::Reserve { name }))
    }

    /// The master's answer to a RESERVE: make the mailbox here, then ACTIVATE it.
    pub(super) fn reserved(
        &mut self,
        store: &mut Store,
        tag: Vec<u8>,
        name: String,
        then: Creation,
        result: Result<(), String>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        if let Err(refusal) = result {
            match then {
                Creation::Inbox => logged_in(&tag, out),
                Creation::Create | Creation::Rename { .. } => {
                    let code = if refusal.contains("exists") {
                        Code::AlreadyExists
                    } else {
                        Code::Unavailable
                    };
                    let text = format!("the mailbox master refused the name: {refusal}");
                    no(out, &tag, Some(code), text.as_bytes());
                }
            }
            return None;
        }
        let made = match &then {
            Creation::Create | Creation::Inbox => {
                let acl = default_acl(store, &name);
                store
                    .create(&name, &acl)
                    .map(|_| vec![(name.clone(), name.clone())])
            }
            Creation::Rename { from } => store.rename(from, &name),
        };
        let renamed = match made {
            Ok(renamed) => renamed,
            Err(error) => {
                // Drop the reservation, then refuse (or, for the INBOX, log in without one).
                let done = match then {
                    Creation::Inbox => Done::InboxCreated,
                    _ => Done::Refused {
                        exists: matches!(error, StoreError::Exists(_)),
                        text: error.to_string(),
                    },
                };
                return self.publish(tag, VecDeque::from([MasterChange::Delete { name }]), done);
            }
        };
        let mut changes = VecDeque::new();
        for (old, new) in renamed {
            let acl = store
                .mailbox(&new)
                .map(|m| m.acl.clone())
                .unwrap_or_default();
            changes.push_back(MasterChange::Activate { name: new, acl });
            if old != name && store.mailbox(&old).is_none() {
                changes.push_back(MasterChange::Delete { name: old });
            }
        }
        let done = match then {
            Creation::Create => Done::Created { name },
            Creation::Inbox => Done::InboxCreated,
            Creation::Rename { .. } => Done::Changed,
        };
        self.publish(tag, changes, done)
    }

    /// Sends the first of `changes` to the master; the rest follow in [`Self::published`].
    fn publish(
        &mut self,
        tag: Vec<u8>,
        mut changes: VecDeque<MasterChange>,
        done: Done,
    ) -> Option<Action> {
        let first = changes.pop_front()?;
        self.waiting = Some(Waiting::Publishing { tag, changes, done });
        Some(Action::Master(first))
    }

    /// The master's answer to one published change: the next, or the command's end.
    pub(super) fn published(
        &mut self,
        store: &mut Store,
        tag: Vec<u8>,
        changes: VecDeque<MasterChange>,
        done: Done,
        result: Result<(), String>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        match (result, done) {
            (Ok(()), done) if !changes.is_empty() => self.publish(tag, changes, done),
            (Ok(()), Done::Created { .. } | Done::Changed) => {
                ok(out, &tag);
                None
            }
            (_, Done::InboxCreated) => {
                logged_in(&tag, out);
                None
            }
            (Err(failure), Done::Created { name }) => {
                // The master does not know the mailbox: it must not exist here either.
                let _ = store.delete(&name);
                let text = format!("the mailbox master did not take the mailbox: {failure}");
                no(out, &tag, Some(Code::Unavailable), text.as_bytes());
                None
            }
            (Err(failure), Done::Changed) => {
                let text = format!("Completed here; the mailbox master was not updated: {failure}");
                tagged(out, &tag, StatusKind::Ok, None, text.as_bytes());
                None
            }
            (_, Done::Refused { exists, text }) => {
                no(
                    out,
                    &tag,
                    exists.then_some(Code::AlreadyExists),
                    text.as_bytes(),
                );
                None
            }
        }
    }

    /// DELETE: here, then in the master.
    pub(super) fn delete(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let internal = match self.locate_with(store, name, Rights::DELETE_MAILBOX) {
            Ok(internal) => internal,
            Err(error) => return lookup_failed(&error, tag, out),
        };
        if self.login.as_ref().is_some_and(|v| v.inbox() == internal)
            || is_inbox(internal.as_bytes()) && !self.login.as_ref().is_some_and(|v| v.is_admin())
        {
            no(out, tag, None, b"Cannot delete INBOX");
            return None;
        }
        if let Err(error) = store.delete(&internal) {
            no(out, tag, None, error.to_string().as_bytes());
            return None;
        }
        if self.selected.as_ref().is_some_and(|s| s.name == internal) {
            self.selected = None;
        }
        self.publish(
            tag.to_vec(),
            VecDeque::from([MasterChange::Delete { name: internal }]),
            Done::Changed,
        )
    }

    /// LOCALCREATE: CREATE here alone, for a mailbox the master holds already (a frontend
    /// moving it here from another backend registers it itself).
    pub(super) fn local_create(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        out: &mut Vec<u8>,
    ) {
        if !self.local_commands {
            no(out, tag, Some(Code::NoPerm), b"Permission denied");
            return;
        }
        let Some(internal) = self.new_name(store, name, out, tag) else {
            return;
        };
        let acl = default_acl(store, &internal);
        match store.create(&internal, &acl) {
            Ok(_) => ok(out, tag),
            Err(error) => no(out, tag, None, error.to_string().as_bytes()),
        }
    }

    /// LOCALDELETE: DELETE here alone (an INBOX too), the master untouched (a frontend that
    /// moved the mailbox away has pointed the master at its new place).
    pub(super) fn local_delete(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        out: &mut Vec<u8>,
    ) {
        if !self.local_commands {
            no(out, tag, Some(Code::NoPerm), b"Permission denied");
            return;
        }
        let internal = match self.locate_with(store, name, Rights::DELETE_MAILBOX) {
            Ok(internal) => internal,
            Err(error) => {
                lookup_failed(&error, tag, out);
                return;
            }
        };
        if self.selected.as_ref().is_some_and(|s| s.name == internal) {
            self.selected = None;
        }
        match store.delete(&internal) {
            Ok(()) => ok(out, tag),
            Err(error) => no(out, tag, None, error.to_string().as_bytes()),
        }
    }

    /// RENAME: the new name is RESERVEd first, then the mailbox (and its subtree) renamed here.
    pub(super) fn rename(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        from: &[u8],
        to: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let source = match self.locate_with(store, from, Rights::DELETE_MAILBOX) {
            Ok(source) => source,
            Err(error) => return lookup_failed(&error, tag, out),
        };
        let target = self.new_name(store, to, out, tag)?;
        if self.selected.as_ref().is_some_and(|s| s.name == source) {
            self.selected = None;
        }
        self.reserve(tag, target, Creation::Rename { from: source })
    }

    /// SUBSCRIBE / UNSUBSCRIBE: the name need not exist.
    pub(super) fn subscribe(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        subscribe: bool,
        out: &mut Vec<u8>,
    ) {
        let Some(view) = self.view(store) else { return };
        let internal = match view.internal_name(name) {
            Ok(internal) => internal,
            Err(error) => return no(out, tag, None, error.to_string().as_bytes()),
        };
        let userid = view.viewer.userid().to_owned();
        let done = if subscribe {
            store.subscribe(&userid, &internal)
        } else {
            store.unsubscribe(&userid, &internal)
        };
        match done {
            Ok(()) => ok(out, tag),
            Err(error) => no(out, tag, None, error.to_string().as_bytes()),
        }
    }

    /// LIST and LSUB, answered by the table view the proxy uses.
    pub(super) fn list(&mut self, store: &Store, tag: &[u8], message: &[u8], out: &mut Vec<u8>) {
        let Some(view) = self.view(store) else { return };
        let Ok(head) = parse_head(message) else {
            return tagged(out, tag, StatusKind::Bad, None, b"invalid arguments");
        };
        let Args::List(args) = head.args else {
            return tagged(out, tag, StatusKind::Bad, None, b"invalid arguments");
        };
        let user = view.viewer.user();
        let names = store
            .subscriptions(view.viewer.userid())
            .iter()
            .filter_map(|internal| {
                view.ns
                    .to_external(user, internal.as_bytes())
                    .ok()
                    .map(String::into_bytes)
            });
        let subscriptions = Subscriptions::from_names(names);
        let lsub = head.name.eq_ignore_ascii_case(b"LSUB");
        let answer = if lsub {
            view.lsub(&args, &subscriptions, out)
        } else {
            view.list(&args, Some(&subscriptions), out)
        };
        match answer {
            Ok(_) => ok(out, tag),
            Err(error) => {
                let _ = error.write_answer(tag, out);
            }
        }
    }

    /// STATUS.
    pub(super) fn status(
        &mut self,
        store: &Store,
        tag: &[u8],
        name: &[u8],
        items: &[StatusItem],
        out: &mut Vec<u8>,
    ) {
        let internal = match self.locate_with(store, name, Rights::READ) {
            Ok(internal) => internal,
            Err(error) => {
                lookup_failed(&error, tag, out);
                return;
            }
        };
        let Some(mailbox) = store.mailbox(&internal) else {
            return no(out, tag, Some(Code::NonExistent), b"Mailbox does not exist");
        };
        let values: Vec<(&[u8], u64)> = items
            .iter()
            .map(|item| status_value(mailbox, *item))
            .collect();
        if ResponseWriter::new(out, false)
            .mailbox_status(name, &values)
            .is_err()
        {
            return tagged(out, tag, StatusKind::Bad, None, b"invalid mailbox name");
        }
        ok(out, tag);
    }

    /// APPEND: normalized to CRLF line ends, on disk before the OK.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn append(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        flags: &[Flag<'_>],
        date: Option<DateTime>,
        message: &[u8],
        out: &mut Vec<u8>,
    ) {
        let internal = match self.locate_with(store, name, Rights::INSERT) {
            Ok(internal) => internal,
            Err(LookupError::NonExistent) => {
                return no(out, tag, Some(Code::TryCreate), b"Mailbox does not exist");
            }
            Err(error) => {
                lookup_failed(&error, tag, out);
                return;
            }
        };
        if message.is_empty() {
            return no(out, tag, None, b"Cannot append an empty message");
        }
        let message = crlf_normalized(message);
        if message.len() as u64 > self.config.max_message {
            return no(out, tag, None, b"Message too large");
        }
        let (system, keywords) = split_flags(flags);
        let date = date.unwrap_or_else(|| DateTime::from_unix((self.config.clock)(), 0));
        match store.append(&internal, system, &keywords, date, &message) {
            Ok(uid) => {
                let validity = store.mailbox(&internal).map_or(0, |m| m.uid_validity);
                let uids = uid.to_string();
                let code = Code::AppendUid {
                    uid_validity: validity,
                    uids: uids.as_bytes(),
                };
                if self.selected.as_ref().is_some_and(|s| s.name == internal) {
                    self.report(store, out, true, false);
                }
                tagged(out, tag, StatusKind::Ok, Some(&code), b"Completed");
            }
            Err(error) => no(out, tag, None, error.to_string().as_bytes()),
        }
    }

    /// GETMETADATA (RFC 5464). The server (mailbox `""`) has one entry,
    /// [`FREE_SPACE_ENTRY`]: `FREE;TOTAL` in KiB, as a Cyrus backend gives it to a murder
    /// frontend that places new users by free space. Mailboxes have no entries: a
    /// mailbox the user may see gets an empty answer, as RFC 5464 answers entries without a
    /// value.
    pub(super) fn get_metadata(
        &self,
        store: &Store,
        tag: &[u8],
        mailbox: &[u8],
        entries: &[Vec<u8>],
        out: &mut Vec<u8>,
    ) {
        if !mailbox.is_empty() {
            match self.locate(store, mailbox) {
                Ok(_) => ok(out, tag),
                Err(error) => {
                    lookup_failed(&error, tag, out);
                }
            }
            return;
        }
        let asked = entries
            .iter()
            .any(|entry| entry.eq_ignore_ascii_case(FREE_SPACE_ENTRY.as_bytes()));
        if asked {
            match store.space() {
                Ok(space) => {
                    let (free, total) = (space.free / 1024, space.total / 1024);
                    out.extend_from_slice(
                        format!("* METADATA \"\" ({FREE_SPACE_ENTRY} \"{free};{total}\")\r\n")
                            .as_bytes(),
                    );
                }
                Err(error) => {
                    let text = format!("free space unknown: {error}");
                    no(out, tag, None, text.as_bytes());
                    return;
                }
            }
        }
        ok(out, tag);
    }

    /// GETACL, MYRIGHTS, LISTRIGHTS: answered by the table view.
    pub(super) fn acl_read(
        &self,
        store: &Store,
        tag: &[u8],
        out: &mut Vec<u8>,
        answer: impl FnOnce(&View<'_>, &mut Vec<u8>) -> Result<(), LookupError>,
    ) {
        let Some(view) = self.view(store) else { return };
        match answer(&view, out) {
            Ok(()) => ok(out, tag),
            Err(error) => {
                lookup_failed(&error, tag, out);
            }
        }
    }

    /// SETACL (`rights` given) and DELETEACL: here, then ACTIVATE with the new ACL.
    pub(super) fn set_acl(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        identifier: &[u8],
        rights: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let internal = match self.locate_with(store, name, Rights::ADMIN) {
            Ok(internal) => internal,
            Err(error) => return lookup_failed(&error, tag, out),
        };
        let current = store
            .mailbox(&internal)
            .map(|m| m.acl.clone())
            .unwrap_or_default();
        // DELETEACL is a SETACL to no rights.
        let acl = rights
            .map(RightsChange::parse)
            .transpose()
            .and_then(|change| {
                let change = change.unwrap_or(RightsChange::Replace(Rights::NONE));
                Acl::parse(&current)
                    .unwrap_or(Acl::EMPTY)
                    .modify(identifier, change)
            });
        let acl = match acl {
            Ok(acl) => acl,
            Err(error) => {
                let text = error.to_string();
                tagged(out, tag, StatusKind::Bad, None, text.as_bytes());
                return None;
            }
        };
        if let Err(error) = store.set_acl(&internal, &acl) {
            no(out, tag, None, error.to_string().as_bytes());
            return None;
        }
        let change = MasterChange::Activate {
            name: internal,
            acl,
        };
        self.publish(tag.to_vec(), VecDeque::from([change]), Done::Changed)
    }
}

/// `tag NO [code] text` for a lookup that failed.
pub(super) fn lookup_failed(error: &LookupError, tag: &[u8], out: &mut Vec<u8>) -> Option<Action> {
    if error.write_answer(tag, out).is_err() {
        no(out, tag, None, b"invalid mailbox name");
    }
    None
}

/// The nearest existing mailbox above internal name `name`.
fn nearest_ancestor<'s>(store: &'s Store, name: &str) -> Option<&'s Mailbox> {
    let mut end = name.len();
    while let Some(dot) = name[..end].rfind('.') {
        end = dot;
        if let Some(mailbox) = store.mailbox(&name[..end]) {
            return Some(mailbox);
        }
    }
    None
}

/// A new mailbox's ACL: its parent's, else all rights for its owner, else (a shared folder
/// made by an admin) `anyone lrs`, as Cyrus's defaults.
fn default_acl(store: &Store, name: &str) -> Vec<u8> {
    if let Some(parent) = nearest_ancestor(store, name) {
        return parent.acl.clone();
    }
    match owner_of(name.as_bytes()) {
        Some(owner) => format!("{owner}\t{OWNER_RIGHTS}\t").into_bytes(),
        None => b"anyone\tlrs\t".to_vec(),
    }
}

/// One STATUS item's name and value.
fn status_value(mailbox: &Mailbox, item: StatusItem) -> (&'static [u8], u64) {
    let messages = &mailbox.messages;
    match item {
        StatusItem::Messages => (b"MESSAGES", messages.len() as u64),
        StatusItem::Recent => (
            b"RECENT",
            messages
                .iter()
                .filter(|m| m.uid >= mailbox.recent_from)
                .count() as u64,
        ),
        StatusItem::UidNext => (b"UIDNEXT", u64::from(mailbox.uid_next)),
        StatusItem::UidValidity => (b"UIDVALIDITY", u64::from(mailbox.uid_validity)),
        StatusItem::Unseen => (
            b"UNSEEN",
            messages
                .iter()
                .filter(|m| !m.flags.contains(SystemFlags::SEEN))
                .count() as u64,
        ),
        StatusItem::Size => (b"SIZE", messages.iter().map(|m| m.bytes.len() as u64).sum()),
    }
}

/// A flag list as the store takes it: system flags, and keywords (other `\` flags kept as
/// keywords; `\Recent` dropped, as no client may set it).
pub(super) fn split_flags<'a>(flags: &[Flag<'a>]) -> (SystemFlags, Vec<&'a [u8]>) {
    let mut system = SystemFlags::NONE;
    let mut keywords = Vec::new();
    for flag in flags {
        match *flag {
            Flag::Seen => system = system | SystemFlags::SEEN,
            Flag::Answered => system = system | SystemFlags::ANSWERED,
            Flag::Flagged => system = system | SystemFlags::FLAGGED,
            Flag::Deleted => system = system | SystemFlags::DELETED,
            Flag::Draft => system = system | SystemFlags::DRAFT,
            Flag::Recent => {}
            Flag::Keyword(word) | Flag::Extension(word) => keywords.push(word),
        }
    }
    (system, keywords)
}
