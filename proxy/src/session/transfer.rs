//! COPY and MOVE into a mailbox on another backend than the selected one's, done by the
//! proxy: the messages are fetched from the source and appended to the destination as they
//! arrive, and for MOVE removed from the source once the destination confirmed them.
//!
//! The source gets `[UID] FETCH set (UID FLAGS INTERNALDATE BODY.PEEK[])` in the client's own
//! set form, so the source maps a sequence set to UIDs itself. Each message's FETCH response is
//! turned into an APPEND on the destination as it streams: its flags (but `\Recent`) and
//! internal date go in the APPEND's head, the body's literal is announced with the length the
//! FETCH literal gave and its chunks go to the destination as the framer cuts them, so memory
//! stays bounded whatever the message size (the driver writes a link's output before it reads
//! more, which is the flow control). A destination with MULTIAPPEND gets one APPEND for all
//! the messages, else one APPEND per message, pipelined (every backend has LITERAL+).
//!
//! Each APPEND's answer says whether its messages were copied, and its `APPENDUID` where they
//! went; the client gets `COPYUID` when every message has one. MOVE then marks exactly the
//! confirmed messages `\Deleted` (`UID STORE ... +FLAGS.SILENT`) and removes them with
//! `UID EXPUNGE` (UIDPLUS), never a plain EXPUNGE; the source's EXPUNGE responses reach the
//! client. A destination that refuses or is lost half-way stops the transfer: the client gets
//! `NO` saying which messages were copied and which were not, and a MOVE removes only the
//! copied ones. A source lost half-way ends the session, as it does for any command.

use corvid_proto::acl::Rights;
use corvid_proto::imap::response::Status;
use corvid_proto::lex;

use super::relocate::Relocation;
use super::*;

/// A cross-backend COPY or MOVE under way: the client's state while it lasts.
#[derive(Debug)]
pub(super) struct Transfer {
    /// The client's command.
    command: InFlight,
    /// MOVE (else COPY).
    moving: bool,
    /// The selected mailbox's link.
    source: LinkId,
    /// The destination's link.
    target: LinkId,
    /// The FETCH for the source, sent once the destination's link is ready.
    fetch: Vec<u8>,
    /// `APPEND mailbox` as the destination gets it.
    append: Vec<u8>,
    /// The destination takes one APPEND for every message (MULTIAPPEND).
    multiappend: bool,
    stage: Stage,
    /// The messages the source sent, in its order.
    messages: Vec<Message>,
    /// Where the source's current FETCH response is.
    current: Current,
    /// A MULTIAPPEND is open on the destination (its final CRLF not sent yet).
    open_append: bool,
    /// The destination's UIDVALIDITY, from its APPENDUID answers.
    uid_validity: Option<u32>,
    /// Why the destination takes no more messages (it refused one, or was lost).
    target_failure: Option<String>,
    /// The source's answer to the FETCH, when it was not OK.
    source_failure: Option<String>,
    /// The source's answer to the removal of moved messages, when it was not OK.
    removal_failure: Option<String>,
    /// The RENAME across backends this copy is part of (`session/relocate.rs`): it gets the
    /// outcome instead of the client.
    relocation: Option<Box<Relocation>>,
}

/// Where a transfer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The destination's link is connecting and logging in.
    Connecting,
    /// The source sends the messages; they are appended to the destination.
    Copying,
    /// MOVE: the copied messages are marked `\Deleted` at the source.
    Marking,
    /// MOVE: the copied messages are expunged at the source.
    Expunging,
}

/// One message of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    /// Its UID at the source, once the source said it.
    uid: Option<u32>,
    /// Whether it was copied.
    outcome: Outcome,
}

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Appended; the destination has not answered yet.
    Appending,
    /// Confirmed by the destination, with its UID there when it said (APPENDUID).
    Copied(Option<u32>),
    /// Not copied.
    NotCopied,
}

/// Where the source's current FETCH response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Current {
    /// Between responses.
    Between,
    /// In message `index`'s body: `left` bytes to come, passed to the destination when
    /// `forward`.
    Body {
        index: usize,
        left: u64,
        forward: bool,
    },
    /// After message `index`'s body, in the rest of its response.
    Tail { index: usize },
}

/// The largest number of messages one COPY or MOVE carries across backends (the per-message
/// state is a few bytes, so this bounds a session's memory).
pub(super) const MAX_MESSAGES: usize = 1_000_000;

impl Session {
    /// Starts a COPY or MOVE of the selected mailbox's messages into a mailbox on `target`
    /// (see the module doc); the route checked `i` on the destination, `may_remove` says
    /// whether the table grants `t` and `e` on the source.
    pub(super) fn start_transfer(
        &mut self,
        head: &CommandHead<'_>,
        command: InFlight,
        target: Box<str>,
        may_remove: bool,
    ) {
        let (
            Some(source),
            Args::Copy {
                sequence_set,
                mailbox,
            },
        ) = (self.selected, head.args)
        else {
            return;
        };
        let moving = head.kind == CommandKind::Move;
        if moving {
            if !may_remove {
                let code = Code::NoPerm;
                return self.status(head.tag, StatusKind::No, Some(&code), "permission denied");
            }
            if !self.links[source].has(b"UIDPLUS") {
                let code = Code::Other {
                    atom: b"CANNOT",
                    argument: None,
                };
                let text = "MOVE between backends needs UIDPLUS at the source";
                return self.status(head.tag, StatusKind::No, Some(&code), text);
            }
        }
        let mut append = b"APPEND ".to_vec();
        let written = ResponseWriter::new(&mut append, true).mailbox(&mailbox.to_vec());
        if written.is_err() || append.contains(&b'\n') {
            let text = "the destination's name cannot be sent to its backend";
            return self.status(head.tag, StatusKind::No, None, text);
        }
        let mut fetch = if head.uid {
            b"UID FETCH ".to_vec()
        } else {
            b"FETCH ".to_vec()
        };
        fetch.extend_from_slice(sequence_set);
        let target = match self.link_to(&target) {
            Some(link) => link,
            None => {
                let login = self.backend_login();
                self.open_link(target, login)
            }
        };
        let mut transfer = Transfer::new(command, (source, target), fetch, append);
        transfer.moving = moving;
        self.begin_transfer(Box::new(transfer));
    }

    /// Starts `transfer`: the FETCH goes to the source once the destination's link is ready.
    pub(super) fn begin_transfer(&mut self, transfer: Box<Transfer>) {
        let target = transfer.target;
        self.client = Client::Transferring(transfer);
        self.transfer_link_ready(target);
    }

    /// Does the table's ACL let the user remove messages from the selected mailbox (`t`
    /// and `e`)?
    pub(super) fn may_remove_from_selected(&self, view: &View<'_>) -> bool {
        let needed = Rights::DELETE_MESSAGES | Rights::EXPUNGE;
        self.selected_mailbox
            .as_deref()
            .and_then(|name| view.table.get(name.as_bytes()))
            .is_some_and(|entry| view.viewer.rights(&entry).contains(needed))
    }

    /// Link `id` is ready: when it is the destination a transfer waits for, the FETCH goes
    /// to the source.
    pub(super) fn transfer_link_ready(&mut self, id: LinkId) {
        let Client::Transferring(transfer) = &mut self.client else {
            return;
        };
        if transfer.target != id
            || transfer.stage != Stage::Connecting
            || self.links[id].state != LinkState::Ready
        {
            return;
        }
        transfer.stage = Stage::Copying;
        transfer.multiappend = self.links[id].has(b"MULTIAPPEND");
        self.links[transfer.source].send_own(Purpose::TransferFetch, &transfer.fetch);
    }

    /// One frame of a FETCH response of the source's (a line, or a chunk of its body).
    pub(super) fn transfer_frame(&mut self, frame: Frame<'_>) -> Result<(), LinkError> {
        let Client::Transferring(transfer) = &mut self.client else {
            return Ok(());
        };
        let target = &mut self.links[transfer.target];
        let target_open = target.state != LinkState::Closed;
        match (transfer.current, frame) {
            (Current::Between, Frame::Line { bytes, then, .. }) => {
                let items = FetchItems::of_response(bytes).ok_or(LinkError::Protocol)?;
                let Some(body) = items.body else {
                    // Not one of the transfer's messages (a flag change): the client's, when
                    // it is one line (no literal of an item the proxy cannot relay whole),
                    // and when the source is the client's selected mailbox.
                    if then != LineEnd::EndOfMessage {
                        return Err(LinkError::Protocol);
                    }
                    if transfer.relocation.is_none() {
                        self.output.extend_from_slice(bytes);
                    }
                    return Ok(());
                };
                let (Some(flags), Some(date)) = (items.flags, items.date) else {
                    return Err(LinkError::Protocol);
                };
                if transfer.messages.len() >= MAX_MESSAGES {
                    return Err(LinkError::Protocol);
                }
                let index = transfer.messages.len();
                let forward = target_open && transfer.target_failure.is_none();
                transfer.messages.push(Message {
                    uid: items.uid,
                    outcome: if forward {
                        Outcome::Appending
                    } else {
                        Outcome::NotCopied
                    },
                });
                let len = match &body {
                    Body::Literal(len) => *len,
                    Body::Inline(bytes) => bytes.len() as u64,
                };
                if forward {
                    if !transfer.open_append {
                        target.begin_own(Purpose::TransferAppend);
                        target.output.extend_from_slice(&transfer.append);
                        transfer.open_append = transfer.multiappend;
                    }
                    write_append_message(&mut target.output, flags, date, len);
                }
                transfer.current = Current::Body {
                    index,
                    left: len,
                    forward,
                };
                if let Body::Inline(bytes) = &body {
                    transfer.forward_body(target, bytes);
                }
                if len == 0 || matches!(body, Body::Inline(_)) {
                    transfer.body_done(target);
                }
                transfer.end_of_line(then);
            }
            (Current::Body { left, .. }, Frame::LiteralChunk(chunk)) => {
                transfer.forward_body(target, chunk);
                let left = left.saturating_sub(chunk.len() as u64);
                if let Current::Body { left: current, .. } = &mut transfer.current {
                    *current = left;
                }
                if left == 0 {
                    transfer.body_done(target);
                }
            }
            (Current::Tail { index }, Frame::Line { bytes, then, .. }) => {
                let items = FetchItems::of_tail(bytes).ok_or(LinkError::Protocol)?;
                if let (Some(uid), Some(message)) = (items.uid, transfer.messages.get_mut(index)) {
                    message.uid = Some(uid);
                }
                transfer.end_of_line(then);
            }
            // A literal after the body (an item not asked for) or a body's line: dropped.
            (Current::Tail { .. }, _) | (Current::Body { .. }, _) => {}
            (Current::Between, _) => return Err(LinkError::Protocol),
        }
        if transfer.current == Current::Between
            && transfer
                .messages
                .last()
                .is_some_and(|message| message.uid.is_none())
        {
            // Without the source's UID a message cannot be reported nor removed.
            return Err(LinkError::Protocol);
        }
        Ok(())
    }

    /// One of the transfer's own commands was answered (`status`) on link `id`.
    pub(super) fn transfer_answered(
        &mut self,
        id: LinkId,
        purpose: &Purpose,
        status: &Status<'_>,
        now: Instant,
    ) {
        let Client::Transferring(transfer) = &mut self.client else {
            return;
        };
        let ok = status.kind == StatusKind::Ok;
        let text = || String::from_utf8_lossy(status.text).into_owned();
        match purpose {
            Purpose::TransferFetch if id == transfer.source => {
                if !ok {
                    transfer.source_failure = Some(text());
                }
                transfer.fetch_done(&mut self.links[transfer.target]);
            }
            Purpose::TransferAppend if id == transfer.target => {
                let server = self.links[id].server.clone();
                transfer.append_answered(ok, status.code, || {
                    format!("backend {server} refused: {}", text())
                });
            }
            Purpose::TransferStore | Purpose::TransferExpunge if !ok => {
                transfer.removal_failure = Some(text());
            }
            _ => {}
        }
        self.transfer_step(now);
    }

    /// Link `id` was lost: if it is the destination of the transfer, what was not confirmed
    /// was not copied. A lost source ends the session, but for a RENAME across backends
    /// (whose source link is its own): its destination's link is closed with it, as an
    /// APPEND cut in the middle of a message can never be completed.
    pub(super) fn transfer_link_lost(&mut self, id: LinkId, reason: &str, now: Instant) {
        let Client::Transferring(transfer) = &mut self.client else {
            return;
        };
        let server = self.links[id].server.clone();
        if id == transfer.source && transfer.relocation.is_some() {
            transfer.source_failure = Some(format!("backend {server} lost: {reason}"));
            transfer.current = Current::Between;
            transfer.open_append = false;
            let target = &mut self.links[transfer.target];
            if target.state != LinkState::Closed {
                target.state = LinkState::Closed;
                self.actions.push(Action::CloseLink(transfer.target));
            }
            return self.finish_transfer(now);
        }
        if id != transfer.target {
            return;
        }
        if transfer.stage == Stage::Connecting {
            let Client::Transferring(transfer) = std::mem::replace(&mut self.client, Client::Ready)
            else {
                return;
            };
            let text = format!("Backend {server} unavailable: {reason}");
            let code = Code::Unavailable;
            self.status(&transfer.command.tag, StatusKind::No, Some(&code), &text);
            return;
        }
        transfer.target_failure = Some(format!("backend {server} lost: {reason}"));
        transfer.open_append = false;
        for message in &mut transfer.messages {
            if message.outcome == Outcome::Appending {
                message.outcome = Outcome::NotCopied;
            }
        }
        self.transfer_step(now);
    }

    /// Moves the transfer on once what it waited for came: from copying to removing (MOVE)
    /// or to the client's answer.
    fn transfer_step(&mut self, now: Instant) {
        let Client::Transferring(transfer) = &mut self.client else {
            return;
        };
        let source = &mut self.links[transfer.source];
        match transfer.stage {
            Stage::Connecting => {}
            Stage::Copying => {
                let copying = transfer.current != Current::Between
                    || transfer.open_append
                    || source
                        .in_flight
                        .iter()
                        .any(|f| f.purpose == Purpose::TransferFetch)
                    || transfer
                        .messages
                        .iter()
                        .any(|message| message.outcome == Outcome::Appending);
                if copying {
                    return;
                }
                let copied = transfer.copied_uids();
                if !transfer.moving || copied.is_empty() {
                    return self.finish_transfer(now);
                }
                // RFC 6851: the COPYUID comes before the expunges.
                if let Some(code) = transfer.copy_uid() {
                    let _ = ResponseWriter::new(&mut self.output, false).status(
                        None,
                        StatusKind::Ok,
                        Some(&Code::CopyUid {
                            uid_validity: code.0,
                            source: code.1.as_bytes(),
                            destination: code.2.as_bytes(),
                        }),
                        b"moved",
                    );
                }
                let command = format!("UID STORE {} +FLAGS.SILENT (\\Deleted)", uid_set(&copied));
                source.send_own(Purpose::TransferStore, command.as_bytes());
                transfer.stage = Stage::Marking;
            }
            Stage::Marking => {
                if source
                    .in_flight
                    .iter()
                    .any(|f| f.purpose == Purpose::TransferStore)
                {
                    return;
                }
                if transfer.removal_failure.is_some() {
                    return self.finish_transfer(now);
                }
                let command = format!("UID EXPUNGE {}", uid_set(&transfer.copied_uids()));
                source.send_own(Purpose::TransferExpunge, command.as_bytes());
                transfer.stage = Stage::Expunging;
            }
            Stage::Expunging => {
                if !source
                    .in_flight
                    .iter()
                    .any(|f| f.purpose == Purpose::TransferExpunge)
                {
                    self.finish_transfer(now);
                }
            }
        }
    }

    /// Answers the client: OK with COPYUID when everything was copied (and, for MOVE,
    /// removed), else NO saying what was and was not.
    fn finish_transfer(&mut self, now: Instant) {
        let Client::Transferring(mut transfer) = std::mem::replace(&mut self.client, Client::Ready)
        else {
            return;
        };
        if let Some(relocation) = transfer.relocation.take() {
            let copied = transfer.copied_uids().len();
            let failure = transfer
                .target_failure
                .take()
                .or(transfer.source_failure.take());
            return self.relocation_copied(relocation, copied, failure, now);
        }
        let answer = transfer.answer();
        let code = match (&answer.copy_uid, transfer.moving) {
            (Some((uid_validity, source, destination)), false) => Some(Code::CopyUid {
                uid_validity: *uid_validity,
                source: source.as_bytes(),
                destination: destination.as_bytes(),
            }),
            _ => None,
        };
        let kind = if answer.complete {
            StatusKind::Ok
        } else {
            StatusKind::No
        };
        self.status(&transfer.command.tag, kind, code.as_ref(), &answer.text);
        self.actions.push(Action::Relayed {
            took: now.saturating_duration_since(transfer.command.started),
        });
    }
}

/// The client's answer to a transfer.
struct Answer {
    /// Everything was copied (and removed, for MOVE).
    complete: bool,
    /// `COPYUID`'s UIDVALIDITY, source and destination UID sets, when every copied message
    /// has its destination UID.
    copy_uid: Option<(u32, String, String)>,
    text: String,
}

impl Transfer {
    /// A COPY (not yet started) of the messages `fetch` (`[UID] FETCH set`) names from link
    /// `source` into the mailbox `append` (`APPEND mailbox`) names on link `target`.
    pub(super) fn new(
        command: InFlight,
        (source, target): (LinkId, LinkId),
        mut fetch: Vec<u8>,
        append: Vec<u8>,
    ) -> Transfer {
        fetch.extend_from_slice(b" (UID FLAGS INTERNALDATE BODY.PEEK[])");
        Transfer {
            command,
            moving: false,
            source,
            target,
            fetch,
            append,
            multiappend: false,
            stage: Stage::Connecting,
            messages: Vec::new(),
            current: Current::Between,
            open_append: false,
            uid_validity: None,
            target_failure: None,
            source_failure: None,
            removal_failure: None,
            relocation: None,
        }
    }

    /// This transfer as the copy of a RENAME across backends, which gets its outcome.
    pub(super) fn for_relocation(mut self, relocation: Box<Relocation>) -> Box<Transfer> {
        self.relocation = Some(relocation);
        Box::new(self)
    }

    /// Ends a line of a FETCH response: the response ends, or a literal follows (the body's,
    /// or one of an item not asked for, whose chunks are dropped).
    fn end_of_line(&mut self, then: LineEnd) {
        if then == LineEnd::EndOfMessage {
            self.current = Current::Between;
        }
    }

    /// Passes bytes of the current message's body to the destination (unless it is not
    /// forwarded, or the destination was lost).
    fn forward_body(&self, target: &mut Link, bytes: &[u8]) {
        if let Current::Body { forward: true, .. } = self.current
            && target.state != LinkState::Closed
        {
            target.output.extend_from_slice(bytes);
        }
    }

    /// The current message's body is all there: a single APPEND ends.
    fn body_done(&mut self, target: &mut Link) {
        let Current::Body { index, forward, .. } = self.current else {
            return;
        };
        if forward && !self.multiappend && target.state != LinkState::Closed {
            target.output.extend_from_slice(b"\r\n");
        }
        self.current = Current::Tail { index };
    }

    /// The source answered the FETCH: an open MULTIAPPEND ends.
    fn fetch_done(&mut self, target: &mut Link) {
        if self.open_append {
            self.open_append = false;
            if target.state != LinkState::Closed {
                target.output.extend_from_slice(b"\r\n");
            }
        }
    }

    /// The destination answered the oldest unanswered APPEND.
    fn append_answered(
        &mut self,
        ok: bool,
        code: Option<Code<'_>>,
        refusal: impl FnOnce() -> String,
    ) {
        let waiting: Vec<usize> = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, message)| message.outcome == Outcome::Appending)
            .map(|(index, _)| index)
            .take(if self.multiappend { usize::MAX } else { 1 })
            .collect();
        let mut uids = match (ok, code) {
            (true, Some(Code::AppendUid { uid_validity, uids })) => {
                self.uid_validity = Some(uid_validity);
                parse_uid_set(uids, waiting.len())
            }
            _ => Vec::new(),
        }
        .into_iter();
        if !ok && self.target_failure.is_none() {
            self.target_failure = Some(refusal());
        }
        for index in waiting {
            if let Some(message) = self.messages.get_mut(index) {
                message.outcome = if ok {
                    Outcome::Copied(uids.next())
                } else {
                    Outcome::NotCopied
                };
            }
        }
    }

    /// The source UIDs of the copied messages.
    fn copied_uids(&self) -> Vec<u32> {
        self.messages
            .iter()
            .filter(|message| matches!(message.outcome, Outcome::Copied(_)))
            .filter_map(|message| message.uid)
            .collect()
    }

    /// `COPYUID`'s data, when every copied message has its destination UID.
    fn copy_uid(&self) -> Option<(u32, String, String)> {
        let mut source = Vec::new();
        let mut destination = Vec::new();
        for message in &self.messages {
            if let Outcome::Copied(copied) = message.outcome {
                source.push(message.uid?);
                destination.push(copied?);
            }
        }
        if source.is_empty() {
            return None;
        }
        Some((self.uid_validity?, uid_set(&source), uid_set(&destination)))
    }

    /// What the client is told.
    fn answer(&self) -> Answer {
        let verb = if self.moving { "moved" } else { "copied" };
        let copied = self.copied_uids();
        let not_copied: Vec<u32> = self
            .messages
            .iter()
            .filter(|message| !matches!(message.outcome, Outcome::Copied(_)))
            .filter_map(|message| message.uid)
            .collect();
        let total = self.messages.len();
        let reason = self
            .target_failure
            .as_ref()
            .or(self.source_failure.as_ref());
        let mut text = match reason {
            None if total == 0 => "no messages to copy".to_string(),
            None => format!("{} {verb}", plural(total)),
            Some(reason) if total == 0 => format!("nothing {verb}: {reason}"),
            Some(reason) => {
                let mut text = format!("{verb} {} of {}", copied.len(), plural(total));
                if !copied.is_empty() {
                    text += &format!(" (uids {})", uid_set(&copied));
                }
                if !not_copied.is_empty() {
                    text += &format!("; {} not {verb}", uid_set(&not_copied));
                }
                format!("{text}: {reason}")
            }
        };
        if let Some(failure) = &self.removal_failure {
            text = format!(
                "{} copied but not removed from the source ({failure})",
                uid_set(&copied)
            );
        }
        Answer {
            complete: reason.is_none() && self.removal_failure.is_none(),
            copy_uid: self.copy_uid(),
            text,
        }
    }
}

/// `1 message`, `n messages`.
pub(super) fn plural(n: usize) -> String {
    if n == 1 {
        "1 message".into()
    } else {
        format!("{n} messages")
    }
}

/// Writes the part of an APPEND for one message: ` (flags) date {len+}\r\n`, the flags
/// without `\Recent` (which only the server sets).
fn write_append_message(out: &mut Vec<u8>, flags: &[u8], date: &[u8], len: u64) {
    out.extend_from_slice(b" (");
    let kept = flags
        .split(|&b| b == b' ')
        .filter(|flag| !flag.is_empty() && !flag.eq_ignore_ascii_case(b"\\Recent"));
    for (n, flag) in kept.enumerate() {
        if n > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(flag);
    }
    out.extend_from_slice(b") ");
    out.extend_from_slice(date);
    out.push(b' ');
    lex::LiteralHeader {
        len,
        non_sync: true,
        binary: false,
    }
    .write(out);
    out.extend_from_slice(b"\r\n");
}

/// A UID list as a compact set, in its order: ascending runs become ranges (`1:3,7,5`).
pub(super) fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut at = 0;
    while let Some(&first) = uids.get(at) {
        let mut last = first;
        at += 1;
        while uids.get(at) == last.checked_add(1).as_ref() {
            last += 1;
            at += 1;
        }
        if !out.is_empty() {
            out.push(',');
        }
        if first == last {
            out += &first.to_string();
        } else {
            out += &format!("{first}:{last}");
        }
    }
    out
}

/// The UIDs of an APPENDUID set (`5`, `5:7`, `5,9:10`), at most `most` of them (a range
/// larger than the messages it answers for is not expanded).
pub(super) fn parse_uid_set(set: &[u8], most: usize) -> Vec<u32> {
    let mut uids = Vec::new();
    for part in set.split(|&b| b == b',') {
        let mut ends = part.splitn(2, |&b| b == b':').map(parse_uid);
        let (Some(Some(first)), last) = (ends.next(), ends.next()) else {
            return Vec::new();
        };
        let last = match last {
            Some(Some(last)) => last,
            Some(None) => return Vec::new(),
            None => first,
        };
        let (low, high) = (first.min(last), first.max(last));
        for uid in low..=high {
            if uids.len() >= most {
                return uids;
            }
            uids.push(uid);
        }
    }
    uids
}

/// A UID: a non-zero number of digits alone.
fn parse_uid(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits)
        .ok()?
        .parse()
        .ok()
        .filter(|&uid| uid > 0)
}

/// A body in a FETCH response.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Body {
    /// A literal of this length follows the line.
    Literal(u64),
    /// In the line: a quoted string (unescaped) or NIL (empty).
    Inline(Vec<u8>),
}

/// What a FETCH response line says about the items a transfer asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct FetchItems<'a> {
    /// `UID`.
    pub(super) uid: Option<u32>,
    /// The flags between the parentheses.
    flags: Option<&'a [u8]>,
    /// The internal date, quoted as sent.
    date: Option<&'a [u8]>,
    /// `BODY[]`, when the line has it.
    body: Option<Body>,
}

impl<'a> FetchItems<'a> {
    /// The first line of `* n FETCH (...)`; `None` when it is not one or cannot be read.
    pub(super) fn of_response(line: &'a [u8]) -> Option<FetchItems<'a>> {
        let Ok((Response::Untagged(Untagged::Fetch { rest, .. }), _)) = classify(line) else {
            return None;
        };
        let items = trim_line_end(rest).strip_prefix(b"(")?;
        FetchItems::read(items)
    }

    /// A line after a literal inside a FETCH response: more items, then `)`.
    fn of_tail(line: &'a [u8]) -> Option<FetchItems<'a>> {
        FetchItems::read(trim_line_end(line))
    }

    /// Reads `item value` pairs up to the closing `)` or a literal header that ends the line.
    fn read(mut i: &'a [u8]) -> Option<FetchItems<'a>> {
        let mut items = FetchItems::default();
        loop {
            i = i.strip_prefix(b" ").unwrap_or(i);
            if i == b")" {
                return Some(items);
            }
            let name_end = item_name_end(i)?;
            let (name, rest) = i.split_at(name_end);
            let rest = rest.strip_prefix(b" ")?;
            if let Some(Ok(header)) = lex::literal_at_line_end(rest)
                && rest.first().is_some_and(|&b| b == b'{' || b == b'~')
            {
                if name.eq_ignore_ascii_case(b"BODY[]") {
                    items.body = Some(Body::Literal(header.len));
                }
                return Some(items);
            }
            let value_end = value_end(rest)?;
            let (value, after) = rest.split_at(value_end);
            if name.eq_ignore_ascii_case(b"UID") {
                items.uid = parse_uid(value);
            } else if name.eq_ignore_ascii_case(b"FLAGS") {
                items.flags = value.strip_prefix(b"(")?.strip_suffix(b")");
            } else if name.eq_ignore_ascii_case(b"INTERNALDATE") {
                items.date = Some(value);
            } else if name.eq_ignore_ascii_case(b"BODY[]") {
                items.body = Some(Body::Inline(unquote(value)?));
            }
            i = after;
        }
    }
}

/// Where a FETCH item's name ends (a space outside brackets).
fn item_name_end(i: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    for (at, &b) in i.iter().enumerate() {
        match b {
            b'[' => depth += 1,
            b']' => depth = depth.checked_sub(1)?,
            b' ' if depth == 0 => return (at > 0).then_some(at),
            _ => {}
        }
    }
    None
}

/// Where a FETCH value ends: an atom or number, a quoted string, or a parenthesized list
/// (nested, with quoted strings).
fn value_end(i: &[u8]) -> Option<usize> {
    let mut depth = 0u32;
    let mut at = 0;
    while let Some(&b) = i.get(at) {
        match b {
            b'"' => {
                let (rest, _) = lex::quoted(&i[at..]).ok()?;
                at = i.len() - rest.len();
                if depth == 0 {
                    return Some(at);
                }
                continue;
            }
            b'(' => depth += 1,
            b')' if depth == 0 => return Some(at),
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            b' ' if depth == 0 => return Some(at),
            _ => {}
        }
        at += 1;
    }
    None
}

/// A quoted string's bytes, unescaped; NIL is empty.
fn unquote(value: &[u8]) -> Option<Vec<u8>> {
    if value.eq_ignore_ascii_case(b"NIL") {
        return Some(Vec::new());
    }
    let (rest, quoted) = lex::quoted(value).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(quoted.len());
    let mut escaped = false;
    for &b in quoted {
        if b == b'\\' && !escaped {
            escaped = true;
        } else {
            out.push(b);
            escaped = false;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_items_are_read_whatever_comes_around_them() {
        let line = b"* 3 FETCH (UID 7 MODSEQ (12) FLAGS (\\Seen \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" BODY[] {342}\r\n";
        let items = FetchItems::of_response(line).unwrap();
        assert_eq!(items.uid, Some(7));
        assert_eq!(items.flags, Some(&b"\\Seen \\Recent"[..]));
        assert_eq!(items.date, Some(&b"\"17-Jul-1996 02:44:25 -0700\""[..]));
        assert_eq!(items.body, Some(Body::Literal(342)));
        let inline = b"* 1 FETCH (FLAGS () INTERNALDATE \"x\" BODY[] \"a\\\"b\" UID 2)\r\n";
        let items = FetchItems::of_response(inline).unwrap();
        assert_eq!(items.body, Some(Body::Inline(b"a\"b".to_vec())));
        assert_eq!(items.uid, Some(2));
        let tail = FetchItems::of_tail(b" UID 9)\r\n").unwrap();
        assert_eq!(tail.uid, Some(9));
        let flags_only = FetchItems::of_response(b"* 2 FETCH (FLAGS (\\Deleted))\r\n").unwrap();
        assert_eq!(flags_only.body, None);
        for bad in [
            &b"* 2 FETCH (FLAGS (\\Deleted)\r\n"[..],
            b"* 2 FETCH UID 3)\r\n",
            b"* 2 FETCH (UID)\r\n",
            b"* 2 FETCH (BODY[ 3)\r\n",
            b"* 2 FETCH (X \"unterminated)\r\n",
        ] {
            assert_eq!(FetchItems::of_response(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uid_sets_are_written_compactly_in_order_and_read_back_bounded() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 5, 6]), "1:3,7,5:6");
        assert_eq!(uid_set(&[u32::MAX, 1]), "4294967295,1");
        assert_eq!(uid_set(&[]), "");
        assert_eq!(parse_uid_set(b"5,9:11", 10), [5, 9, 10, 11]);
        assert_eq!(parse_uid_set(b"1:4294967295", 3), [1, 2, 3]);
        assert_eq!(parse_uid_set(b"3:1", 10), [1, 2, 3]);
        assert!(parse_uid_set(b"0,x", 10).is_empty());
    }

    #[test]
    fn appended_flags_lose_recent() {
        let mut out = Vec::new();
        write_append_message(&mut out, b"\\Recent \\Seen $Work", b"\"d\"", 12);
        assert_eq!(out, b" (\\Seen $Work) \"d\" {12+}\r\n");
    }
}
