//! SELECT/EXAMINE, the commands on the selected mailbox, and the untagged updates a session
//! reports when its mailbox changes.
//!
//! A session keeps its own view of the selected mailbox: the UIDs its client knows, in
//! sequence order, and the highest modification sequence it has reported. [`Session::report`]
//! compares that view with the store and writes what changed: `EXPUNGE` for messages gone
//! (only where RFC 3501 §7.4.1 allows it: not during FETCH, STORE or SEARCH by sequence
//! number), `FETCH (FLAGS ...)` for messages whose flags changed, `EXISTS`/`RECENT` for new
//! ones. When nothing changed (the store's highest modseq is the one reported) it costs one
//! comparison, which keeps NOOP cheap.

use std::ops::Range;

use corvid_proto::acl::Rights;
use corvid_proto::imap::request::{
    Command, FetchAttr, Flag, SearchKey, SequenceSet, StoreMode, parse_request,
};
use corvid_proto::imap::response::{Code, StatusKind};
use corvid_proto::lex::AString;

use super::mailboxes::{lookup_failed, split_flags};
use super::{Action, OUTPUT_BATCH, Session, Waiting, line, no, ok, tagged, untagged};
use crate::backend::fetch::{sets_seen, write_fetch, write_flags};
use crate::backend::search::{Bounds, Candidate, matches};
use crate::backend::store::{FlagChange, Mailbox, Store, StoreError, SystemFlags};
use corvid_mupdate::view::LookupError;

/// The selected mailbox, as this session's client knows it.
#[derive(Debug)]
pub(super) struct Selected {
    /// Its internal name.
    pub(super) name: String,
    /// EXAMINE, or no right to change anything.
    read_only: bool,
    /// The user's rights on it, at SELECT.
    rights: Rights,
    /// The UIDs the client knows, by sequence number (index + 1).
    uids: Vec<u32>,
    /// The UIDs `\Recent` for this session, as ranges: those it claimed (at SELECT, and as
    /// new messages were reported to it first), or for a read-only session every message no
    /// session has claimed.
    recent: Vec<Range<u32>>,
    /// The highest modification sequence reported.
    modseq: u64,
    /// How many keywords the FLAGS response listed.
    keywords: usize,
}

/// A FETCH under way: what it answers and how far it got.
#[derive(Debug)]
pub(super) struct Fetching {
    tag: Vec<u8>,
    /// The whole command, to read its items again.
    command: Vec<u8>,
    by_uid: bool,
    /// `FLAGS` was added to the items asked for (the FETCH set `\Seen`).
    with_flags: bool,
    /// The indexes (sequence number - 1) to answer, and the next one.
    positions: Vec<usize>,
    next: usize,
    /// The store's highest modseq before the FETCH (see [`Session::caught_up`]).
    before: u64,
}

impl Selected {
    fn recent(&self, uid: u32) -> bool {
        self.recent.iter().any(|range| range.contains(&uid))
    }

    /// Claims the messages no session has been told of yet as `\Recent` for this one (RFC 3501
    /// §2.3.2: recent for the first session told of them, and no other).
    fn claim_recent(&mut self, store: &mut Store) -> Result<(), StoreError> {
        let first = store.claim_recent(&self.name)?;
        let end = store.mailbox(&self.name).map_or(first, |m| m.uid_next);
        if first < end {
            self.recent.push(first..end);
        }
        Ok(())
    }

    /// The indexes (sequence number - 1) that `set` names, by UID or by sequence number.
    fn positions(&self, set: &SequenceSet, by_uid: bool) -> Result<Vec<usize>, &'static [u8]> {
        if by_uid {
            let largest = self.uids.last().copied().unwrap_or(0);
            return Ok(self
                .uids
                .iter()
                .enumerate()
                .filter(|&(_, &uid)| set.contains(uid, largest))
                .map(|(at, _)| at)
                .collect());
        }
        let count = u32::try_from(self.uids.len()).unwrap_or(u32::MAX);
        if set.largest_value().is_some_and(|largest| largest > count) {
            return Err(b"Invalid message sequence number");
        }
        Ok(set
            .resolve(count)
            .into_iter()
            .map(|seq| seq as usize - 1)
            .collect())
    }
}

impl Session {
    /// SELECT and EXAMINE.
    pub(super) fn select(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        name: &[u8],
        examine: bool,
        out: &mut Vec<u8>,
    ) {
        if self.selected.take().is_some() {
            untagged(
                out,
                StatusKind::Ok,
                Some(&Code::Closed),
                b"Previous mailbox closed",
            );
        }
        let (internal, rights) = match self.locate_with(store, name, Rights::READ) {
            Ok(internal) => {
                let rights = self
                    .view(store)
                    .and_then(|view| view.resolve(name).ok())
                    .map_or(Rights::NONE, |located| located.rights);
                (internal, rights)
            }
            Err(error) => {
                lookup_failed(&error, tag, out);
                return;
            }
        };
        let writable = Rights::SEEN | Rights::WRITE | Rights::DELETE_MESSAGES | Rights::EXPUNGE;
        let read_only = examine || !rights.intersects(writable);
        let Some(mailbox) = store.mailbox(&internal) else {
            return no(out, tag, Some(Code::NonExistent), b"Mailbox does not exist");
        };
        let mut selected = Selected {
            name: internal,
            read_only,
            rights,
            uids: Vec::new(),
            recent: Vec::new(),
            modseq: mailbox.highest_modseq,
            keywords: mailbox.keywords.len(),
        };
        if read_only {
            selected.recent.push(mailbox.recent_from..u32::MAX);
        } else if let Err(error) = selected.claim_recent(store) {
            return no(out, tag, None, error.to_string().as_bytes());
        }
        let Some(mailbox) = store.mailbox(&selected.name) else {
            return no(out, tag, Some(Code::NonExistent), b"Mailbox does not exist");
        };
        selected.uids = mailbox.messages.iter().map(|m| m.uid).collect();
        write_flags_lines(out, mailbox, read_only);
        line(out, format_args!("* {} EXISTS", selected.uids.len()));
        let recent = selected
            .uids
            .iter()
            .filter(|&&uid| selected.recent(uid))
            .count();
        line(out, format_args!("* {recent} RECENT"));
        let first_unseen = mailbox
            .messages
            .iter()
            .position(|m| !m.flags.contains(SystemFlags::SEEN));
        if let Some(at) = first_unseen {
            let code = Code::Unseen(at as u32 + 1);
            untagged(out, StatusKind::Ok, Some(&code), b"First unseen");
        }
        let validity = Code::UidValidity(mailbox.uid_validity);
        untagged(out, StatusKind::Ok, Some(&validity), b"UIDs valid");
        let next = Code::UidNext(mailbox.uid_next);
        untagged(out, StatusKind::Ok, Some(&next), b"Predicted next UID");
        let code = if read_only {
            Code::ReadOnly
        } else {
            Code::ReadWrite
        };
        tagged(out, tag, StatusKind::Ok, Some(&code), b"Completed");
        self.selected = Some(selected);
    }

    /// The commands of the selected state (`message`: the whole command, which a FETCH keeps
    /// to go on after a batch).
    pub(super) fn on_selected(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        command: Command<'_>,
        message: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        match command {
            Command::Fetch { uid, set, attrs } => {
                return self.fetch(store, tag, uid, &set, attrs, message, out);
            }
            Command::Store {
                uid,
                set,
                mode,
                silent,
                flags,
            } => self.store_flags(store, tag, uid, &set, mode, silent, &flags, out),
            Command::Search { uid, charset, key } => {
                self.search(store, tag, uid, charset, &key, out);
            }
            Command::Copy { uid, set, mailbox } => {
                self.copy(store, tag, uid, &set, mailbox, false, out);
            }
            Command::Move { uid, set, mailbox } => {
                self.copy(store, tag, uid, &set, mailbox, true, out);
            }
            Command::Expunge { uids } => self.expunge(store, tag, uids.as_ref(), out),
            Command::Close => {
                if let Some(selected) = self.selected.take()
                    && !selected.read_only
                    && selected.rights.contains(Rights::EXPUNGE)
                {
                    let doomed = deleted(store, &selected, None);
                    let _ = store.expunge(&selected.name, &doomed);
                }
                ok(out, tag);
            }
            Command::Check => {
                self.report(store, out, true, false);
                ok(out, tag);
            }
            Command::Unselect => {
                self.selected = None;
                ok(out, tag);
            }
            _ => tagged(out, tag, StatusKind::Bad, None, b"Unexpected command"),
        }
        None
    }

    /// Writes what changed in the selected mailbox since it was last reported.
    pub(super) fn report(
        &mut self,
        store: &mut Store,
        out: &mut Vec<u8>,
        allow_expunge: bool,
        with_uid: bool,
    ) {
        let Some(selected) = self.selected.as_mut() else {
            return;
        };
        let changed = store
            .mailbox(&selected.name)
            .map(|mailbox| mailbox.highest_modseq != selected.modseq);
        match changed {
            Some(false) => return,
            // New messages are recent for the first session told of them. A failure to
            // claim them (the disk) leaves them recent for the next one instead.
            Some(true) if !selected.read_only => {
                let _ = selected.claim_recent(store);
            }
            _ => {}
        }
        let Some(mailbox) = store.mailbox(&selected.name) else {
            // Deleted under the session: every message is gone.
            if allow_expunge {
                for seq in (1..=selected.uids.len()).rev() {
                    line(out, format_args!("* {seq} EXPUNGE"));
                }
                selected.uids.clear();
            }
            return;
        };
        if mailbox.keywords.len() != selected.keywords {
            write_flags_lines(out, mailbox, selected.read_only);
            selected.keywords = mailbox.keywords.len();
        }
        let gone: Vec<usize> = (0..selected.uids.len())
            .filter(|&at| mailbox.position(selected.uids[at]).is_err())
            .collect();
        let expunges_pending = !gone.is_empty() && !allow_expunge;
        if allow_expunge && !gone.is_empty() {
            expunge_positions(out, &mut selected.uids, &gone);
        }
        for (at, &uid) in selected.uids.iter().enumerate() {
            if let Ok(found) = mailbox.position(uid) {
                let message = &mailbox.messages[found];
                if message.modseq > selected.modseq {
                    let recent = selected.recent(uid);
                    write_fetch(
                        out,
                        at as u32 + 1,
                        message,
                        recent,
                        &[FetchAttr::Flags],
                        with_uid,
                    );
                }
            }
        }
        let last = selected.uids.last().copied().unwrap_or(0);
        let start = match mailbox.position(last) {
            Ok(found) => found + 1,
            Err(insert) => insert,
        };
        let new = mailbox.messages.get(start..).unwrap_or_default();
        if !new.is_empty() {
            selected.uids.extend(new.iter().map(|m| m.uid));
            line(out, format_args!("* {} EXISTS", selected.uids.len()));
            let recent = selected
                .uids
                .iter()
                .filter(|&&uid| selected.recent(uid))
                .count();
            line(out, format_args!("* {recent} RECENT"));
        }
        if !expunges_pending {
            selected.modseq = mailbox.highest_modseq;
        }
    }

    /// After this session changed its own mailbox: what it changed needs no report (the
    /// command answered it), provided the session had reported everything before (`before`
    /// is the store's highest modseq then).
    fn caught_up(&mut self, store: &Store, before: u64) {
        let Some(selected) = self.selected.as_mut() else {
            return;
        };
        if selected.modseq == before
            && let Some(mailbox) = store.mailbox(&selected.name)
        {
            selected.modseq = mailbox.highest_modseq;
        }
    }

    /// FETCH: `\Seen` set first where a body is fetched without PEEK, then the messages in
    /// batches of about [`OUTPUT_BATCH`] octets ([`Self::fetch_batch`]).
    #[allow(clippy::too_many_arguments)]
    fn fetch(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        by_uid: bool,
        set: &SequenceSet,
        mut attrs: Vec<FetchAttr<'_>>,
        command: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        if attrs.iter().filter(|attr| carries_content(attr)).count() > MAX_CONTENT_ITEMS {
            tagged(out, tag, StatusKind::Bad, None, b"Too many body items");
            return None;
        }
        self.report(store, out, by_uid, by_uid);
        let selected = self.selected.as_ref()?;
        let positions = match selected.positions(set, by_uid) {
            Ok(positions) => positions,
            Err(text) => {
                tagged(out, tag, StatusKind::Bad, None, text);
                return None;
            }
        };
        let before = highest_modseq(store, &selected.name);
        let mut with_flags = false;
        if sets_seen(&attrs) && !selected.read_only && selected.rights.contains(Rights::SEEN) {
            let unseen: Vec<u32> = store.mailbox(&selected.name).map_or(Vec::new(), |mailbox| {
                positions
                    .iter()
                    .map(|&at| selected.uids[at])
                    .filter(|&uid| {
                        mailbox.position(uid).is_ok_and(|found| {
                            !mailbox.messages[found].flags.contains(SystemFlags::SEEN)
                        })
                    })
                    .collect()
            });
            if !unseen.is_empty() {
                let change = FlagChange {
                    mode: StoreMode::Add,
                    flags: SystemFlags::SEEN,
                    keywords: &[],
                };
                if let Err(error) = store.update_flags(&selected.name, &unseen, change) {
                    no(out, tag, None, error.to_string().as_bytes());
                    return None;
                }
                with_flags = !attrs.contains(&FetchAttr::Flags);
            }
        }
        if with_flags {
            attrs.push(FetchAttr::Flags);
        }
        let fetching = Fetching {
            tag: tag.to_vec(),
            command: command.to_vec(),
            by_uid,
            with_flags,
            positions,
            next: 0,
            before,
        };
        self.fetch_some(store, fetching, &attrs, out)
    }

    /// Goes on with a FETCH after its output so far was written: its items are read again
    /// from the command it keeps.
    pub(super) fn fetch_batch(
        &mut self,
        store: &mut Store,
        fetching: Fetching,
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let command = fetching.command.clone();
        match parse_request(&command).map(|request| request.command) {
            Ok(Command::Fetch { mut attrs, .. }) => {
                if fetching.with_flags {
                    attrs.push(FetchAttr::Flags);
                }
                self.fetch_some(store, fetching, &attrs, out)
            }
            // It was read once already: this does not happen.
            _ => {
                tagged(out, &fetching.tag, StatusKind::Bad, None, b"invalid FETCH");
                None
            }
        }
    }

    /// Writes the FETCH responses from `fetching.next` on, until the output reaches
    /// [`OUTPUT_BATCH`] octets ([`Action::Resume`]) or the messages end (the tagged OK).
    fn fetch_some(
        &mut self,
        store: &Store,
        mut fetching: Fetching,
        attrs: &[FetchAttr<'_>],
        out: &mut Vec<u8>,
    ) -> Option<Action> {
        let selected = self.selected.as_ref()?;
        if let Some(mailbox) = store.mailbox(&selected.name) {
            while let Some(&at) = fetching.positions.get(fetching.next) {
                if out.len() >= OUTPUT_BATCH {
                    self.waiting = Some(Waiting::Fetching(fetching));
                    return Some(Action::Resume);
                }
                fetching.next += 1;
                let uid = selected.uids[at];
                if let Ok(found) = mailbox.position(uid) {
                    let message = &mailbox.messages[found];
                    let recent = selected.recent(uid);
                    write_fetch(out, at as u32 + 1, message, recent, attrs, fetching.by_uid);
                }
            }
        }
        self.caught_up(store, fetching.before);
        ok(out, &fetching.tag);
        None
    }

    /// STORE.
    #[allow(clippy::too_many_arguments)]
    fn store_flags(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        by_uid: bool,
        set: &SequenceSet,
        mode: StoreMode,
        silent: bool,
        flags: &[Flag<'_>],
        out: &mut Vec<u8>,
    ) {
        self.report(store, out, by_uid, by_uid);
        let Some(selected) = self.selected.as_ref() else {
            return;
        };
        if selected.read_only {
            return no(out, tag, None, b"Mailbox is read-only");
        }
        let (system, keywords) = split_flags(flags);
        if !may_store(selected.rights, system, !keywords.is_empty(), mode) {
            return no(out, tag, Some(Code::NoPerm), b"Permission denied");
        }
        let positions = match selected.positions(set, by_uid) {
            Ok(positions) => positions,
            Err(text) => return tagged(out, tag, StatusKind::Bad, None, text),
        };
        let uids: Vec<u32> = positions.iter().map(|&at| selected.uids[at]).collect();
        let before = highest_modseq(store, &selected.name);
        let change = FlagChange {
            mode,
            flags: system,
            keywords: &keywords,
        };
        if let Err(error) = store.update_flags(&selected.name, &uids, change) {
            return no(out, tag, None, error.to_string().as_bytes());
        }
        if let Some(mailbox) = store.mailbox(&selected.name) {
            if mailbox.keywords.len() != selected.keywords {
                write_flags_lines(out, mailbox, false);
            }
            if !silent {
                for &at in &positions {
                    let uid = selected.uids[at];
                    if let Ok(found) = mailbox.position(uid) {
                        let message = &mailbox.messages[found];
                        let recent = selected.recent(uid);
                        let seq = at as u32 + 1;
                        write_fetch(out, seq, message, recent, &[FetchAttr::Flags], by_uid);
                    }
                }
            }
        }
        let keywords_now = store
            .mailbox(&selected.name)
            .map_or(0, |m| m.keywords.len());
        if let Some(selected) = self.selected.as_mut() {
            selected.keywords = keywords_now;
        }
        self.caught_up(store, before);
        ok(out, tag);
    }

    /// SEARCH.
    fn search(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        by_uid: bool,
        charset: Option<AString<'_>>,
        key: &SearchKey<'_>,
        out: &mut Vec<u8>,
    ) {
        let known = |charset: &AString<'_>| {
            charset.eq_ignore_ascii_case(b"US-ASCII") || charset.eq_ignore_ascii_case(b"UTF-8")
        };
        if charset.as_ref().is_some_and(|c| !known(c)) {
            let code = Code::BadCharset(Some(b"(US-ASCII UTF-8)"));
            return no(out, tag, Some(code), b"Unsupported charset");
        }
        self.report(store, out, by_uid, by_uid);
        let Some(selected) = self.selected.as_ref() else {
            return;
        };
        let Some(mailbox) = store.mailbox(&selected.name) else {
            return no(out, tag, Some(Code::NonExistent), b"Mailbox does not exist");
        };
        let bounds = Bounds {
            largest_seq: u32::try_from(selected.uids.len()).unwrap_or(u32::MAX),
            largest_uid: selected.uids.last().copied().unwrap_or(0),
        };
        out.extend_from_slice(b"* SEARCH");
        for (at, &uid) in selected.uids.iter().enumerate() {
            let Ok(found) = mailbox.position(uid) else {
                continue;
            };
            let candidate = Candidate {
                seq: at as u32 + 1,
                message: &mailbox.messages[found],
                recent: selected.recent(uid),
            };
            if matches(key, &candidate, bounds) {
                let number = if by_uid { uid } else { candidate.seq };
                out.push(b' ');
                corvid_proto::lex::write_decimal(out, u64::from(number));
            }
        }
        out.extend_from_slice(b"\r\n");
        ok(out, tag);
    }

    /// COPY, and MOVE (`moving`): the source's messages are expunged only once the copies are
    /// on disk.
    #[allow(clippy::too_many_arguments)]
    fn copy(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        by_uid: bool,
        set: &SequenceSet,
        mailbox: AString<'_>,
        moving: bool,
        out: &mut Vec<u8>,
    ) {
        self.report(store, out, by_uid, by_uid);
        let target = match self.locate_with(store, &mailbox.to_vec(), Rights::INSERT) {
            Ok(target) => target,
            Err(LookupError::NonExistent) => {
                return no(out, tag, Some(Code::TryCreate), b"Mailbox does not exist");
            }
            Err(error) => {
                lookup_failed(&error, tag, out);
                return;
            }
        };
        let Some(selected) = self.selected.as_ref() else {
            return;
        };
        let may_expunge = Rights::DELETE_MESSAGES | Rights::EXPUNGE;
        if moving && (selected.read_only || !selected.rights.contains(may_expunge)) {
            return no(out, tag, Some(Code::NoPerm), b"Permission denied");
        }
        let positions = match selected.positions(set, by_uid) {
            Ok(positions) => positions,
            Err(text) => return tagged(out, tag, StatusKind::Bad, None, text),
        };
        let source = selected.name.clone();
        let (positions, uids): (Vec<usize>, Vec<u32>) = store
            .mailbox(&source)
            .map(|mailbox| {
                positions
                    .iter()
                    .map(|&at| (at, selected.uids[at]))
                    .filter(|&(_, uid)| mailbox.position(uid).is_ok())
                    .unzip()
            })
            .unwrap_or_default();
        if uids.is_empty() {
            return tagged(out, tag, StatusKind::Ok, None, b"No messages");
        }
        let copied = match store.copy(&source, &uids, &target) {
            Ok(copied) => copied,
            Err(error) => return no(out, tag, None, error.to_string().as_bytes()),
        };
        let validity = store.mailbox(&target).map_or(0, |m| m.uid_validity);
        let (from, to) = (uid_set(&uids), uid_set(&copied));
        let code = Code::CopyUid {
            uid_validity: validity,
            source: &from,
            destination: &to,
        };
        if !moving {
            if target == source {
                self.report(store, out, by_uid, by_uid);
            }
            return tagged(out, tag, StatusKind::Ok, Some(&code), b"Completed");
        }
        untagged(out, StatusKind::Ok, Some(&code), b"Moved");
        let before = highest_modseq(store, &source);
        if let Err(error) = store.expunge(&source, &uids) {
            return no(out, tag, None, error.to_string().as_bytes());
        }
        if let Some(selected) = self.selected.as_mut() {
            expunge_positions(out, &mut selected.uids, &positions);
        }
        self.caught_up(store, before);
        if target == source {
            self.report(store, out, true, by_uid);
        }
        ok(out, tag);
    }

    /// EXPUNGE and UID EXPUNGE.
    fn expunge(
        &mut self,
        store: &mut Store,
        tag: &[u8],
        uids: Option<&SequenceSet>,
        out: &mut Vec<u8>,
    ) {
        self.report(store, out, true, uids.is_some());
        let Some(selected) = self.selected.as_ref() else {
            return;
        };
        if selected.read_only {
            return no(out, tag, None, b"Mailbox is read-only");
        }
        if !selected.rights.contains(Rights::EXPUNGE) {
            return no(out, tag, Some(Code::NoPerm), b"Permission denied");
        }
        let doomed = deleted(store, selected, uids);
        let positions: Vec<usize> = selected
            .uids
            .iter()
            .enumerate()
            .filter(|(_, uid)| doomed.binary_search(uid).is_ok())
            .map(|(at, _)| at)
            .collect();
        let name = selected.name.clone();
        let before = highest_modseq(store, &name);
        if let Err(error) = store.expunge(&name, &doomed) {
            return no(out, tag, None, error.to_string().as_bytes());
        }
        if let Some(selected) = self.selected.as_mut() {
            expunge_positions(out, &mut selected.uids, &positions);
        }
        self.caught_up(store, before);
        ok(out, tag);
    }
}

/// How many FETCH items that carry message content (a section, RFC822, RFC822.HEADER,
/// RFC822.TEXT) one FETCH may ask for: each message's response is built whole, so this bounds
/// it (with the largest message APPEND takes).
const MAX_CONTENT_ITEMS: usize = 16;

/// Does a FETCH item carry message content?
fn carries_content(attr: &FetchAttr<'_>) -> bool {
    matches!(
        attr,
        FetchAttr::Section(_) | FetchAttr::Rfc822 | FetchAttr::Rfc822Header | FetchAttr::Rfc822Text
    )
}

/// The UIDs (ascending) of the session's messages marked `\Deleted`, within `uids` if given.
fn deleted(store: &Store, selected: &Selected, uids: Option<&SequenceSet>) -> Vec<u32> {
    let Some(mailbox) = store.mailbox(&selected.name) else {
        return Vec::new();
    };
    let largest = selected.uids.last().copied().unwrap_or(0);
    selected
        .uids
        .iter()
        .copied()
        .filter(|&uid| uids.is_none_or(|set| set.contains(uid, largest)))
        .filter(|&uid| {
            mailbox
                .position(uid)
                .is_ok_and(|at| mailbox.messages[at].flags.contains(SystemFlags::DELETED))
        })
        .collect()
}

/// Writes `* n EXPUNGE` for each position (ascending indexes), from the last, and removes
/// them from the session's view.
fn expunge_positions(out: &mut Vec<u8>, uids: &mut Vec<u32>, positions: &[usize]) {
    for &at in positions.iter().rev() {
        line(out, format_args!("* {} EXPUNGE", at + 1));
    }
    let mut at = 0;
    let mut next = positions.iter().peekable();
    uids.retain(|_| {
        let gone = next.next_if_eq(&&at).is_some();
        at += 1;
        !gone
    });
}

/// `* FLAGS (...)` and `* OK [PERMANENTFLAGS (...)]`.
fn write_flags_lines(out: &mut Vec<u8>, mailbox: &Mailbox, read_only: bool) {
    let all = SystemFlags::SEEN
        | SystemFlags::ANSWERED
        | SystemFlags::FLAGGED
        | SystemFlags::DELETED
        | SystemFlags::DRAFT;
    out.extend_from_slice(b"* FLAGS ");
    write_flags(out, all, &mailbox.keywords, false);
    out.extend_from_slice(b"\r\n* OK [PERMANENTFLAGS ");
    if read_only {
        out.extend_from_slice(b"()");
    } else {
        let mut flags = Vec::new();
        write_flags(&mut flags, all, &mailbox.keywords, false);
        flags.pop();
        out.extend_from_slice(&flags);
        out.extend_from_slice(b" \\*)");
    }
    out.extend_from_slice(b"] Flags permitted\r\n");
}

/// The store's highest modseq of a mailbox (0 when it is gone).
fn highest_modseq(store: &Store, name: &str) -> u64 {
    store.mailbox(name).map_or(0, |m| m.highest_modseq)
}

/// Whether rights allow a STORE: `s` for `\Seen`, `t` for `\Deleted`, `w` for the rest (a
/// replacing STORE touches every flag).
fn may_store(rights: Rights, flags: SystemFlags, keywords: bool, mode: StoreMode) -> bool {
    if mode == StoreMode::Replace {
        return rights.contains(Rights::SEEN | Rights::DELETE_MESSAGES | Rights::WRITE);
    }
    let others = SystemFlags::ANSWERED | SystemFlags::FLAGGED | SystemFlags::DRAFT;
    (!flags.contains(SystemFlags::SEEN) || rights.contains(Rights::SEEN))
        && (!flags.contains(SystemFlags::DELETED) || rights.contains(Rights::DELETE_MESSAGES))
        && (flags.0 & others.0 == 0 && !keywords || rights.contains(Rights::WRITE))
}

/// A UID set in its compact form (`3:5,9`), from ascending UIDs (or any order: runs are
/// found where consecutive values follow each other).
fn uid_set(uids: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < uids.len() {
        let start = uids[at];
        let mut end = start;
        while at + 1 < uids.len() && uids[at + 1] == end.wrapping_add(1) {
            at += 1;
            end = uids[at];
        }
        if !out.is_empty() {
            out.push(b',');
        }
        corvid_proto::lex::write_decimal(&mut out, u64::from(start));
        if end != start {
            out.push(b':');
            corvid_proto::lex::write_decimal(&mut out, u64::from(end));
        }
        at += 1;
    }
    out
}
