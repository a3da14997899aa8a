//! The backends' side of a session: links connecting, failing and sending; each backend
//! message is relayed to the client, gathered for the session's own use, or dropped.

use std::collections::VecDeque;

use super::*;

impl Session {
    /// The driver connected link `id`.
    pub fn link_connected(&mut self, id: LinkId) {
        if let Some(link) = self.links.get_mut(id) {
            link.connected();
        }
    }

    /// Link `id` could not connect, or its connection was lost or broke the protocol.
    pub fn link_failed(&mut self, id: LinkId, reason: &str, now: Instant) {
        let Some(link) = self.links.get_mut(id) else {
            return;
        };
        if link.state == LinkState::Closed {
            return;
        }
        let was_ready = link.state == LinkState::Ready;
        let verifies_client = link.verifies_client();
        link.state = LinkState::Closed;
        let server = link.server.clone();
        let had_client_command = link.in_flight.iter().any(|f| f.purpose == Purpose::Client);
        self.actions.push(Action::CloseLink(id));
        if self.relaying == Some(id) {
            self.relaying = None;
            // A message was cut short: the client's stream cannot be repaired.
            return self.bye(&format!(
                "Backend {server} lost in the middle of a response: {reason}"
            ));
        }
        match std::mem::replace(&mut self.client, Client::Ready) {
            Client::LoggingIn { tag, link, .. } if link == id => {
                let refused = verifies_client && reason.starts_with("backend refused the login");
                if refused {
                    self.login_failed(&tag, now, reason);
                } else {
                    let code = Code::Unavailable;
                    let text = format!("Backend {server} unavailable: {reason}");
                    self.status(&tag, StatusKind::No, Some(&code), &text);
                }
            }
            Client::Subscriptions { link, command, .. } if link == id => {
                let tag = parse_head(&command)
                    .map(|head| head.tag.to_vec())
                    .unwrap_or_default();
                let text = format!("Subscriptions unavailable: backend {server}: {reason}");
                self.status(&tag, StatusKind::No, Some(&Code::Unavailable), &text);
            }
            // The command never reached the backend: a tagged NO, and the session goes on.
            Client::Forwarding { link, command } if link == id && !was_ready => {
                let text = format!("Backend {server} unavailable: {reason}");
                self.status(
                    &command.tag,
                    StatusKind::No,
                    Some(&Code::Unavailable),
                    &text,
                );
                self.client = Client::Discarding;
            }
            Client::Waiting { link, command } | Client::Idling { link, command }
                if link == id && !was_ready =>
            {
                let text = format!("Backend {server} unavailable: {reason}");
                self.status(
                    &command.tag,
                    StatusKind::No,
                    Some(&Code::Unavailable),
                    &text,
                );
            }
            other => {
                self.client = other;
                if self.selected == Some(id) || (had_client_command && was_ready) {
                    self.bye(&format!("Backend {server} lost: {reason}"));
                }
            }
        }
        if self.selected == Some(id) {
            self.selected = None;
        }
        if let Some(login) = &mut self.login
            && login.inbox == Some(id)
        {
            login.inbox = None;
        }
        self.transfer_link_lost(id, reason, now);
        self.registration_link_lost(id, reason, now);
        self.relocation_link_lost(id, reason, now);
    }

    /// Takes what it can of link `id`'s `input`; returns how many bytes it consumed.
    pub fn link_input(
        &mut self,
        id: LinkId,
        input: &[u8],
        table: &MailboxTable,
        now: Instant,
    ) -> usize {
        let mut used = 0;
        loop {
            if self.is_closed() || self.relaying.is_some_and(|owner| owner != id) {
                break;
            }
            let Some(link) = self.links.get_mut(id) else {
                break;
            };
            if link.state == LinkState::Closed {
                break;
            }
            match link.framer.next(&input[used..]) {
                Ok(Some(frame)) => {
                    used += frame.bytes().len();
                    if let Err(error) = self.link_frame(id, frame, table, now) {
                        let reason = error.to_string();
                        self.link_failed(id, &reason, now);
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    let reason = format!("invalid response: {error}");
                    self.link_failed(id, &reason, now);
                }
            }
        }
        used
    }

    pub(super) fn link_frame(
        &mut self,
        id: LinkId,
        frame: Frame<'_>,
        table: &MailboxTable,
        now: Instant,
    ) -> Result<(), LinkError> {
        let relay = match (self.relays[id].0, frame) {
            (Some(relay), _) => relay,
            (None, Frame::Line { bytes, .. }) => self.relay_of(id, bytes)?,
            (None, _) => return Err(LinkError::Protocol),
        };
        let ends = matches!(
            frame,
            Frame::Line {
                then: LineEnd::EndOfMessage,
                ..
            }
        );
        match relay {
            Relay::ToClient => {
                let rewritten = self
                    .status_for_client(id, frame, table)
                    .or_else(|| self.create_refusal_for_client(id, frame, table));
                match rewritten {
                    Some(line) => self.output.extend_from_slice(&line),
                    None => self.output.extend_from_slice(frame.bytes()),
                }
                self.relaying = (!ends).then_some(id);
            }
            Relay::Collect => {
                let collected = &mut self.relays[id].1;
                if collected.len() + frame.bytes().len() > MAX_COLLECTED {
                    return Err(LinkError::Protocol);
                }
                collected.extend_from_slice(frame.bytes());
            }
            Relay::Drop => {}
            Relay::Transfer => self.transfer_frame(frame)?,
        }
        self.relays[id].0 = (!ends).then_some(relay);
        if ends {
            let message = std::mem::take(&mut self.relays[id].1);
            self.message_done(id, relay, &message, frame.bytes(), table, now)?;
        }
        Ok(())
    }

    /// How a backend message that starts with `line` is handled.
    pub(super) fn relay_of(&mut self, id: LinkId, line: &[u8]) -> Result<Relay, LinkError> {
        let link = &mut self.links[id];
        if link.state != LinkState::Ready && link.state != LinkState::LoggingIn {
            return Ok(Relay::Collect); // the greeting
        }
        let front = link.in_flight.front().map(|f| f.purpose.clone());
        Ok(match line.first() {
            Some(b'+') => {
                if front == Some(Purpose::Login) {
                    link.login_continuation();
                    Relay::Drop
                } else if front == Some(Purpose::Client) {
                    Relay::ToClient
                } else {
                    Relay::Drop
                }
            }
            Some(b'*') => match front {
                Some(
                    Purpose::Capability
                    | Purpose::Login
                    | Purpose::Subscriptions
                    | Purpose::Relocate,
                ) => Relay::Collect,
                Some(Purpose::Client) => Relay::ToClient,
                Some(Purpose::TransferFetch)
                    if matches!(
                        classify(line),
                        Ok((Response::Untagged(Untagged::Fetch { .. }), _))
                    ) =>
                {
                    Relay::Transfer
                }
                _ if link.selected => Relay::ToClient,
                _ => Relay::Drop,
            },
            _ => {
                let tag_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
                match link.in_flight.front() {
                    Some(f) if f.tag == line[..tag_end] => match f.purpose {
                        Purpose::Client => Relay::ToClient,
                        _ => Relay::Collect,
                    },
                    _ => return Err(LinkError::Protocol),
                }
            }
        })
    }

    /// A backend message ended; `last` is its last line.
    pub(super) fn message_done(
        &mut self,
        id: LinkId,
        relay: Relay,
        collected: &[u8],
        last: &[u8],
        table: &MailboxTable,
        now: Instant,
    ) -> Result<(), LinkError> {
        let link = &mut self.links[id];
        if link.state == LinkState::Greeting {
            return match classify(collected) {
                Ok((Response::Untagged(Untagged::Status(status)), _)) => {
                    let caps = match status.code {
                        Some(Code::Capability(atoms)) => Some(atoms.as_bytes()),
                        _ => None,
                    };
                    let ok = status.kind == StatusKind::Ok;
                    link.greeted(ok, status.text, caps)
                }
                _ => Err(LinkError::Protocol),
            };
        }
        let tagged = match classify(if relay == Relay::Collect {
            collected
        } else {
            last
        }) {
            Ok((Response::Tagged { status, .. }, _)) => Some(status),
            Ok((Response::Untagged(Untagged::Capability(atoms)), _)) if relay == Relay::Collect => {
                link.capabilities = atoms.as_bytes().to_vec();
                None
            }
            Ok((Response::Untagged(_), _))
                if relay == Relay::Collect
                    && link.in_flight.front().map(|f| &f.purpose) == Some(&Purpose::Relocate) =>
            {
                if let Client::Relocating(relocation) = &mut self.client {
                    relocation.untagged(collected)?;
                }
                None
            }
            Ok((Response::Untagged(_), _)) if relay == Relay::Collect => {
                let wanted =
                    link.in_flight.front().map(|f| &f.purpose) == Some(&Purpose::Subscriptions);
                if let (true, Client::Subscriptions { subscriptions, .. }) =
                    (wanted, &mut self.client)
                    && let Err(error) = subscriptions.add_reply_line(collected)
                {
                    tracing::debug!(%error, "LSUB line not taken as a subscription");
                }
                None
            }
            _ => None,
        };
        let Some(status) = tagged else { return Ok(()) };
        let Some(done) = link.in_flight.pop_front() else {
            return Err(LinkError::Protocol);
        };
        if link.in_flight.is_empty() {
            // An idle link keeps no queue.
            link.in_flight = VecDeque::new();
        }
        let ok = status.kind == StatusKind::Ok;
        let code_caps = match status.code {
            Some(Code::Capability(atoms)) => Some(atoms.as_bytes().to_vec()),
            _ => None,
        };
        match done.purpose {
            Purpose::Capability => {
                let caps = link.capabilities.clone();
                let after_login = link.is_logged_in();
                link.capabilities_known(&caps, after_login)?;
            }
            Purpose::Login => {
                let text = String::from_utf8_lossy(status.text).into_owned();
                link.logged_in(ok, text.as_bytes(), code_caps.as_deref())?;
            }
            Purpose::Enable | Purpose::Unselect => {}
            Purpose::Subscriptions => self.subscriptions_arrived(ok, table),
            Purpose::Client => self.client_command_done(id, ok, now),
            Purpose::Register => self.registration_answered(&status, collected, now),
            Purpose::Relocate => self.relocation_answered(id, &status, now),
            Purpose::TransferFetch
            | Purpose::TransferAppend
            | Purpose::TransferStore
            | Purpose::TransferExpunge => self.transfer_answered(id, &done.purpose, &status, now),
        }
        if self.links[id].state == LinkState::Ready {
            self.link_ready(id, now);
            self.transfer_link_ready(id);
            self.relocation_link_ready(id);
            self.links[id].keep_relevant_capabilities();
        }
        Ok(())
    }

    /// A relayed command was answered (`ok`: with OK).
    pub(super) fn client_command_done(&mut self, id: LinkId, ok: bool, now: Instant) {
        let (command, forwarding) = match &mut self.client {
            Client::Forwarding { link, command } if *link == id => {
                // Answered early: the rest of the command still goes to the backend.
                command.answered = true;
                (command.clone(), true)
            }
            Client::Waiting { link, command } | Client::Idling { link, command } if *link == id => {
                (command.clone(), false)
            }
            _ => return,
        };
        if !forwarding {
            self.client = Client::Ready;
        }
        match command.kind {
            CommandKind::Select | CommandKind::Examine => {
                self.links[id].selected = ok;
                self.selected = ok.then_some(id);
                self.selected_mailbox = if ok { command.mailbox } else { None };
            }
            CommandKind::Close | CommandKind::Unselect if ok => {
                self.links[id].selected = false;
                self.selected = None;
            }
            _ => {}
        }
        self.actions.push(Action::Relayed {
            took: now.saturating_duration_since(command.started),
        });
        // The backend registered its change in the master: the next command may name the
        // mailbox once the table shows it.
        if let (true, false, Some(wait)) = (ok, forwarding, command.wait) {
            self.await_table(wait);
        }
    }
}
