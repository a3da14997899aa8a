//! The session against scripted backends: login, routing, literals, IDLE, failures, and the
//! same conversation fed at every split of its input.

use std::rc::Rc;
use std::time::{Duration, Instant};

use corvid_mupdate::table::{Change, MailboxTable, State};
use corvid_proto::imap::framer::FramerLimits;
use corvid_proto::mailbox::name::Namespace;

use super::*;

fn config(plaintext_auth: bool, verify: Verify) -> Rc<SessionConfig> {
    Rc::new(SessionConfig {
        namespace: Namespace::default(),
        starttls_offered: true,
        plaintext_auth,
        verify,
        backend_login: BackendLogin::Proxy {
            user: "proxy".into(),
            password: "secret".into(),
        },
        limits: FramerLimits::default(),
        failed_login_delay: Duration::from_secs(1),
        product: "corvid".into(),
        servers: vec!["be1".into(), "be2".into()],
        proxy_registers: Vec::new(),
        placement: Placement::default(),
        admins: Vec::new(),
        backends: Default::default(),
        referrals: false,
    })
}

const GREETING: &[u8] = b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN] ready\r\n";

/// A session and the transcript of what it sent, driven like the real driver does.
struct Harness {
    session: Session,
    table: MailboxTable,
    now: Instant,
    client_seen: Vec<u8>,
    link_seen: Vec<Vec<u8>>,
    connects: Vec<String>,
    actions: Vec<Action>,
}

impl Harness {
    fn new(plaintext_auth: bool) -> Harness {
        Harness::with(config(plaintext_auth, Verify::InboxBackend))
    }

    fn with(config: Rc<SessionConfig>) -> Harness {
        let mut harness = Harness {
            session: Session::new(config, false),
            table: crate::fuzzing::table(),
            now: Instant::now(),
            client_seen: Vec::new(),
            link_seen: Vec::new(),
            connects: Vec::new(),
            actions: Vec::new(),
        };
        harness.collect();
        harness
    }

    /// Takes outputs and actions (connecting links at once).
    fn collect(&mut self) {
        while let Some(action) = self.session.next_action() {
            if let Action::Connect { link, server } = action {
                self.connects.push(server.to_string());
                self.session.link_connected(link);
            } else {
                self.actions.push(action);
            }
        }
        self.client_seen.append(self.session.client_output());
        for id in 0..self.session.links().len() {
            if self.link_seen.len() <= id {
                self.link_seen.push(Vec::new());
            }
            if let Some(output) = self.session.link_output(id) {
                self.link_seen[id].append(output);
            }
        }
    }

    /// Feeds client bytes in pieces of `step`, as a driver would (keeping what is unconsumed).
    fn client(&mut self, bytes: &[u8], step: usize) {
        let mut pending = Vec::new();
        for piece in bytes.chunks(step.max(1)) {
            pending.extend_from_slice(piece);
            let used = self.session.client_input(&pending, &self.table, self.now);
            pending.drain(..used);
            self.collect();
        }
        assert!(
            pending.is_empty() || !self.session.wants_client_input(),
            "left: {pending:?}"
        );
    }

    fn backend(&mut self, link: LinkId, bytes: &[u8], step: usize) {
        let mut pending = Vec::new();
        for piece in bytes.chunks(step.max(1)) {
            pending.extend_from_slice(piece);
            let used = self
                .session
                .link_input(link, &pending, &self.table, self.now);
            pending.drain(..used);
            self.collect();
        }
        assert!(pending.is_empty(), "link {link} left: {pending:?}");
    }

    fn client_text(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.client_seen)).into_owned()
    }

    fn link_text(&mut self, link: LinkId) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.link_seen[link])).into_owned()
    }

    /// Logs alice in through be1 (link 0).
    fn login(&mut self, step: usize) {
        self.client(b"a1 LOGIN alice pw\r\n", step);
        self.backend(0, GREETING, step);
        let plain = BASE64.encode(b"\0alice\0pw");
        assert_eq!(
            self.link_text(0),
            format!("Cv1 AUTHENTICATE PLAIN {plain}\r\n")
        );
        self.backend(
            0,
            b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE UIDPLUS UNSELECT] in\r\n",
            step,
        );
    }
}

#[test]
fn greeting_and_login_before_tls() {
    let mut h = Harness::new(false);
    let greeting = h.client_text();
    assert!(
        greeting.starts_with("* OK [CAPABILITY IMAP4rev1 "),
        "{greeting}"
    );
    assert!(
        greeting.contains(" STARTTLS") && greeting.contains(" LOGINDISABLED"),
        "{greeting}"
    );
    h.client(b"a1 LOGIN alice pw\r\na2 AUTHENTICATE PLAIN\r\n", 64);
    let refused = h.client_text();
    assert!(refused.contains("a1 NO [PRIVACYREQUIRED]"), "{refused}");
    assert!(refused.contains("a2 NO [PRIVACYREQUIRED]"), "{refused}");
    h.client(b"a3 STARTTLS\r\n", 64);
    assert_eq!(h.client_text(), "a3 OK Begin TLS negotiation now\r\n");
    assert!(h.connects.is_empty());
}

#[test]
fn a_conversation_is_the_same_however_its_bytes_are_split() {
    let mut transcripts = Vec::new();
    for step in [1, 2, 3, 7, 64, 4096] {
        let mut h = Harness::new(true);
        h.client_text();
        h.login(step);
        let mut transcript = h.client_text();
        // SELECT with the name as a synchronizing literal: answered `+` by the proxy and
        // forwarded non-synchronizing to the mailbox's backend (be2, link 1).
        h.client(b"a2 SELECT {7}\r\nArchive\r\n", step);
        transcript += &h.client_text();
        assert_eq!(h.connects, ["be1", "be2"]);
        h.backend(1, GREETING, step);
        let plain = BASE64.encode(b"alice\0proxy\0secret");
        let link1 = h.link_text(1);
        assert_eq!(link1, format!("Cv1 AUTHENTICATE PLAIN {plain}\r\n"));
        h.backend(
            1,
            b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] in\r\n",
            step,
        );
        assert_eq!(h.link_text(1), "a2 SELECT {7+}\r\nArchive\r\n");
        h.backend(
            1,
            b"* 1 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\na2 OK [READ-WRITE] done\r\n",
            step,
        );
        transcript += &h.client_text();
        // FETCH with a literal in the response goes to the selected backend and back whole.
        h.client(b"a3 FETCH 1 BODY[]\r\n", step);
        assert_eq!(h.link_text(1), "a3 FETCH 1 BODY[]\r\n");
        h.backend(
            1,
            b"* 1 FETCH (BODY[] {5}\r\nhello)\r\na3 OK done\r\n",
            step,
        );
        transcript += &h.client_text();
        // Back to be1: the proxy UNSELECTs nothing there (nothing selected), SELECTs INBOX.
        h.client(b"a4 SELECT INBOX\r\n", step);
        assert_eq!(h.link_text(0), "a4 SELECT INBOX\r\n");
        h.backend(0, b"* 2 EXISTS\r\na4 OK [READ-WRITE] done\r\n", step);
        transcript += &h.client_text();
        // be2 is no longer selected: its untagged data is dropped.
        h.backend(1, b"* 2 EXISTS\r\n", step);
        transcript += &h.client_text();
        transcripts.push(transcript);
    }
    let first = &transcripts[0];
    assert!(first.contains("a1 OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR ID ENABLE NAMESPACE CHILDREN IDLE UIDPLUS UNSELECT] Logged in\r\n"), "{first}");
    assert!(
        first.contains(
            "+ go ahead\r\n* 1 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\na2 OK [READ-WRITE] done\r\n"
        ),
        "{first}"
    );
    assert!(
        first.contains("* 1 FETCH (BODY[] {5}\r\nhello)\r\na3 OK done\r\n"),
        "{first}"
    );
    assert!(
        first.ends_with("* 2 EXISTS\r\na4 OK [READ-WRITE] done\r\n"),
        "{first}"
    );
    for transcript in &transcripts {
        assert_eq!(transcript, first);
    }
}

#[test]
fn idle_is_relayed_and_done_ends_it() {
    let mut h = Harness::new(true);
    h.login(4096);
    h.client(b"a2 SELECT INBOX\r\n", 4096);
    h.backend(0, b"a2 OK done\r\n", 4096);
    h.client_text();
    h.link_text(0);
    h.client(b"a3 IDLE\r\n", 4096);
    assert!(h.session.wants_client_input() && h.session.is_idling());
    h.backend(0, b"+ idling\r\n* 3 EXISTS\r\n", 4096);
    assert_eq!(h.client_text(), "+ idling\r\n* 3 EXISTS\r\n");
    // DONE and a pipelined command: DONE goes on, the command waits for IDLE's end.
    h.client(b"done\r\na4 NOOP\r\n", 4096);
    assert_eq!(h.link_text(0), "a3 IDLE\r\nDONE\r\n");
    h.backend(0, b"a3 OK idle done\r\n", 4096);
    h.client(b"a4 NOOP\r\n", 4096);
    assert_eq!(h.link_text(0), "a4 NOOP\r\n");
}

#[test]
fn unknown_mailboxes_and_invalid_commands_are_answered_by_the_proxy() {
    let mut h = Harness::new(true);
    h.login(4096);
    h.client_text();
    h.client(
        b"a2 SELECT Nowhere\r\na3 STATUS \"Other Users\" (MESSAGES)\r\n",
        4096,
    );
    let answers = h.client_text();
    assert!(
        answers.starts_with("a2 NO [NONEXISTENT] mailbox does not exist\r\n"),
        "{answers}"
    );
    assert!(answers.contains("a3 NO invalid mailbox name"), "{answers}");
    // An APPEND to a missing mailbox: TRYCREATE, and its literal is refused, not read.
    h.client(b"a4 APPEND Nowhere {5}\r\na5 NOOP\r\n", 4096);
    let answers = h.client_text();
    assert!(answers.starts_with("a4 NO [TRYCREATE]"), "{answers}");
    assert!(!answers.contains("+ go ahead"), "{answers}");
    // Garbage and an unreadable tag.
    h.client(b"\x01\r\nLOGIN\r\n", 4096);
    let answers = h.client_text();
    assert!(answers.starts_with("* BAD"), "{answers}");
    assert!(h.link_text(0).is_empty(), "nothing reached the backend");
}

#[test]
fn a_backend_refusing_the_login_fails_it_after_the_delay() {
    let mut h = Harness::new(true);
    h.client_text();
    h.client(b"a1 LOGIN alice wrong\r\n", 4096);
    h.backend(0, GREETING, 4096);
    h.backend(0, b"Cv1 NO [AUTHENTICATIONFAILED] bad\r\n", 4096);
    assert_eq!(h.client_text(), "", "held back until the delay");
    let deadline = h.session.deadline().unwrap();
    h.session.on_timer(deadline);
    h.collect();
    assert_eq!(
        h.client_text(),
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert!(!h.session.is_authenticated());
    // A user with no INBOX in the table fails the same way, with no backend involved.
    h.client(b"a2 LOGIN mallory x\r\n", 4096);
    h.session.on_timer(h.session.deadline().unwrap());
    h.collect();
    assert_eq!(
        h.client_text(),
        "a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert_eq!(h.connects, ["be1"]);
}

#[test]
fn a_selected_backend_lost_ends_the_session_and_an_unreachable_one_gives_no() {
    let mut h = Harness::new(true);
    h.login(4096);
    h.client_text();
    // be2 cannot be reached: the SELECT gets a tagged NO and the session goes on.
    h.client(b"a2 SELECT Archive\r\n", 4096);
    h.session.link_failed(1, "connection refused", h.now);
    h.collect();
    let answer = h.client_text();
    assert_eq!(
        answer,
        "a2 NO [UNAVAILABLE] Backend be2 unavailable: connection refused\r\n"
    );
    h.client(b"a3 SELECT INBOX\r\n", 4096);
    h.backend(0, b"a3 OK done\r\n", 4096);
    h.client_text();
    h.session
        .link_failed(0, "backend closed the connection", h.now);
    h.collect();
    assert_eq!(
        h.client_text(),
        "* BYE [UNAVAILABLE] Backend be1 lost: backend closed the connection\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn a_password_file_login_checks_off_the_session_then_logs_in_as_the_proxy() {
    let mut h = Harness::with(config(true, Verify::PasswordFile));
    h.client_text();
    h.client(b"a1 LOGIN alice right\r\n", 4096);
    assert_eq!(
        h.actions,
        [
            Action::Command(CommandKind::Login),
            Action::CheckPassword {
                user: "alice".into(),
                password: Password(b"right".to_vec())
            }
        ]
    );
    assert!(
        h.connects.is_empty(),
        "no backend before the password is checked"
    );
    h.session.password_checked(true, h.now);
    h.collect();
    assert_eq!(h.connects, ["be1"]);
    h.backend(0, GREETING, 4096);
    let plain = BASE64.encode(b"alice\0proxy\0secret");
    assert_eq!(
        h.link_text(0),
        format!("Cv1 AUTHENTICATE PLAIN {plain}\r\n")
    );
    h.backend(0, b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n", 4096);
    assert!(h.client_text().starts_with("a1 OK [CAPABILITY IMAP4rev1"));
    assert!(h.session.is_authenticated());

    let mut h = Harness::with(config(true, Verify::PasswordFile));
    h.client_text();
    h.client(b"a1 LOGIN alice wrong\r\n", 4096);
    h.collect();
    h.session.password_checked(false, h.now);
    h.session.on_timer(h.session.deadline().unwrap());
    h.collect();
    assert_eq!(
        h.client_text(),
        "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
    );
    assert!(h.connects.is_empty());
}

#[test]
fn three_failed_logins_end_the_session() {
    let mut h = Harness::new(true);
    h.client_text();
    for n in 1..=3 {
        h.client(format!("a{n} LOGIN mallory x\r\n").as_bytes(), 4096);
        h.session.on_timer(h.session.deadline().unwrap());
        h.collect();
    }
    let answers = h.client_text();
    assert_eq!(
        answers.matches("NO [AUTHENTICATIONFAILED]").count(),
        3,
        "{answers}"
    );
    assert!(
        answers.ends_with("* BYE Too many failed logins\r\n"),
        "{answers}"
    );
    assert!(h.session.is_closed());
    assert_eq!(
        h.actions
            .iter()
            .filter(|a| **a == Action::LoginFailed)
            .count(),
        3
    );
}

#[test]
fn enable_is_answered_here_and_carried_to_every_backend() {
    let mut h = Harness::new(true);
    h.client(b"a1 LOGIN alice pw\r\n", 4096);
    h.backend(0, GREETING, 4096);
    h.link_text(0);
    h.backend(
        0,
        b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+ CONDSTORE QRESYNC] in\r\n",
        4096,
    );
    h.client_text();
    h.client(b"a2 ENABLE QRESYNC X-UNKNOWN\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "* ENABLED QRESYNC\r\na2 OK ENABLE completed\r\n"
    );
    assert_eq!(h.link_text(0), "Cv2 ENABLE QRESYNC\r\n");
    h.backend(0, b"* ENABLED QRESYNC\r\nCv2 OK done\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "",
        "the backend's own ENABLED is not relayed"
    );
    // A backend reached later gets the ENABLE before the command that needed it.
    h.client(b"a3 SELECT Archive (QRESYNC (1 2))\r\n", 4096);
    h.backend(1, GREETING, 4096);
    h.link_text(1);
    h.backend(
        1,
        b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+ QRESYNC] in\r\n",
        4096,
    );
    assert_eq!(
        h.link_text(1),
        "Cv2 ENABLE QRESYNC\r\na3 SELECT Archive (QRESYNC (1 2))\r\n"
    );
    h.backend(
        1,
        b"* ENABLED QRESYNC\r\nCv2 OK done\r\na3 OK [READ-WRITE] selected\r\n",
        4096,
    );
    assert_eq!(h.client_text(), "a3 OK [READ-WRITE] selected\r\n");
}

#[test]
fn the_fuzz_body_survives_generated_conversations() {
    // IMAP-ish pieces from both sides, shuffled and cut by a deterministic generator.
    let pieces: &[&[u8]] = &[
        b"a1 LOGIN alice pw\r\n",
        b"a2 SELECT Archive\r\n",
        b"a3 SELECT {7}\r\nArchive\r\n",
        b"a4 APPEND INBOX {5}\r\nhello\r\n",
        b"a5 IDLE\r\n",
        b"DONE\r\n",
        b"a6 LIST \"\" \"*\"\r\n",
        b"a7 LSUB \"\" \"*\"\r\n",
        b"a8 FETCH 1 BODY[]\r\n",
        b"a9 AUTHENTICATE PLAIN\r\n",
        b"AGFsaWNlAHB3\r\n",
        b"a10 ENABLE QRESYNC\r\n",
        b"a11 STARTTLS\r\n",
        b"a12 RLIST \"\" \"*\"\r\n",
        b"a13 RLSUB \"\" \"*\"\r\n",
        b"a14 STATUS \"Other Users/bob\" (MESSAGES)\r\n",
        b"* STATUS \"Other Users/bob/INBOX\" (MESSAGES 1)\r\n",
        b"\x00\xff garbage {99999999}\r\n",
        b"* OK [CAPABILITY IMAP4rev1 LITERAL+ SASL-IR AUTH=PLAIN IDLE QRESYNC] hi\r\n",
        b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE] in\r\n",
        b"Cv2 OK done\r\n",
        b"* 3 EXISTS\r\n",
        b"* 1 FETCH (BODY[] {5}\r\nhello)\r\n",
        b"+ idling\r\n",
        b"a2 OK [READ-WRITE] done\r\n",
        b"* LSUB () \"/\" INBOX\r\n",
        b"Cv9 NO what\r\n",
        b"* BYE bye\r\n",
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let mut data = vec![(next() & 3) as u8];
        for _ in 0..(next() % 24) {
            let piece = pieces[(next() % pieces.len() as u64) as usize];
            let mut at = 0;
            while at < piece.len() {
                let len = ((next() % 31) as usize + 1).min(piece.len() - at);
                let who = match next() % 10 {
                    0..=4 => 0,
                    5..=6 => 3,
                    7 => 4,
                    8 => 6,
                    _ => 7,
                };
                data.push(((len as u8) << 3) | who);
                data.extend_from_slice(&piece[at..at + len]);
                at += len;
            }
        }
        crate::fuzzing::fuzz_session(&data);
    }
}

// ---------------------------------------------------------------------------------------------
// COPY and MOVE between backends: alice's INBOX on be1 (link 0, the source) and her Archive on
// be2 (link 1, the destination).

/// A FETCH response of the transfer's: message `seq` with UID `uid` and `body`.
fn fetched(seq: u32, uid: u32, flags: &str, body: &str) -> String {
    format!(
        "* {seq} FETCH (UID {uid} FLAGS ({flags}) INTERNALDATE \"01-Feb-2024 10:00:00 +0000\" BODY[] {{{}}}\r\n{body})\r\n",
        body.len()
    )
}

/// The APPEND the destination gets for one message (after its tag).
fn appended(flags: &str, body: &str) -> String {
    format!(
        " ({flags}) \"01-Feb-2024 10:00:00 +0000\" {{{}+}}\r\n{body}",
        body.len()
    )
}

impl Harness {
    /// Logs alice in, SELECTs her INBOX on be1 and sends `command` (a COPY or MOVE into the
    /// Archive on be2), logging be2 in with `capabilities`; returns what be1 then got.
    fn transfer(&mut self, command: &str, capabilities: &str, step: usize) -> String {
        self.login(step);
        self.client(b"a2 SELECT INBOX\r\n", step);
        self.backend(0, b"* 3 EXISTS\r\na2 OK [READ-WRITE] done\r\n", step);
        self.link_text(0);
        self.client_text();
        self.client(command.as_bytes(), step);
        assert_eq!(self.connects, ["be1", "be2"]);
        assert_eq!(self.link_text(0), "", "nothing fetched before be2 is ready");
        self.backend(1, GREETING, step);
        self.link_text(1);
        let ready = format!("Cv1 OK [CAPABILITY {capabilities}] in\r\n");
        self.backend(1, ready.as_bytes(), step);
        assert!(
            !self.session.wants_client_input(),
            "the client waits its turn"
        );
        self.link_text(0)
    }
}

const DESTINATION: &str = "IMAP4rev1 LITERAL+ UIDPLUS";

#[test]
fn a_copy_to_another_backend_streams_each_message_into_an_append_and_answers_copyuid() {
    for step in [1, 5, 4096] {
        let mut h = Harness::new(true);
        let fetch = h.transfer("a3 COPY 1:2 Archive\r\n", DESTINATION, step);
        assert_eq!(
            fetch,
            "Cv2 FETCH 1:2 (UID FLAGS INTERNALDATE BODY.PEEK[])\r\n"
        );
        let source = fetched(1, 7, "\\Seen \\Recent", "first") + &fetched(2, 9, "", "second");
        h.backend(0, source.as_bytes(), step);
        // Each message became an APPEND as it arrived, pipelined.
        assert_eq!(
            h.link_text(1),
            format!(
                "Cv2 APPEND Archive{}\r\nCv3 APPEND Archive{}\r\n",
                appended("\\Seen", "first"),
                appended("", "second")
            )
        );
        h.backend(0, b"Cv2 OK done\r\n", step);
        h.backend(1, b"Cv2 OK [APPENDUID 5 40] x\r\n", step);
        assert_eq!(h.client_text(), "", "one APPEND still unconfirmed");
        h.backend(1, b"Cv3 OK [APPENDUID 5 41] x\r\n", step);
        assert_eq!(
            h.client_text(),
            "a3 OK [COPYUID 5 7,9 40:41] 2 messages copied\r\n"
        );
        assert!(h.session.wants_client_input());
        assert!(
            h.actions
                .iter()
                .any(|action| matches!(action, Action::Relayed { .. }))
        );
    }
}

#[test]
fn multiappend_carries_every_message_in_one_append() {
    let mut h = Harness::new(true);
    let fetch = h.transfer(
        "a3 UID COPY 7:* Archive\r\n",
        "IMAP4rev1 LITERAL+ UIDPLUS MULTIAPPEND",
        4096,
    );
    assert_eq!(
        fetch,
        "Cv2 UID FETCH 7:* (UID FLAGS INTERNALDATE BODY.PEEK[])\r\n"
    );
    let source = fetched(1, 7, "", "a") + &fetched(2, 8, "$X", "") + "Cv2 OK done\r\n";
    h.backend(0, source.as_bytes(), 4096);
    assert_eq!(
        h.link_text(1),
        format!(
            "Cv2 APPEND Archive{}{}\r\n",
            appended("", "a"),
            appended("$X", "")
        )
    );
    h.backend(1, b"Cv2 OK [APPENDUID 5 3:4] x\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a3 OK [COPYUID 5 7:8 3:4] 2 messages copied\r\n"
    );
}

#[test]
fn a_destination_refusing_midway_is_reported_and_takes_nothing_more() {
    let mut h = Harness::new(true);
    h.transfer("a3 COPY 1:3 Archive\r\n", DESTINATION, 4096);
    h.backend(0, fetched(1, 1, "", "one").as_bytes(), 4096);
    h.backend(1, b"Cv2 OK [APPENDUID 5 10] x\r\n", 4096);
    h.backend(0, fetched(2, 2, "", "two").as_bytes(), 4096);
    h.backend(1, b"Cv3 NO [OVERQUOTA] Quota exceeded\r\n", 4096);
    h.link_text(1);
    h.backend(0, fetched(3, 3, "", "three").as_bytes(), 4096);
    assert_eq!(h.link_text(1), "", "no APPEND after a refusal");
    h.backend(0, b"Cv2 OK done\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a3 NO [COPYUID 5 1 10] copied 1 of 3 messages (uids 1); 2:3 not copied: \
         backend be2 refused: Quota exceeded\r\n"
    );
}

#[test]
fn a_move_removes_the_messages_only_after_every_append_was_confirmed() {
    let mut h = Harness::new(true);
    h.transfer("a3 MOVE 1:2 Archive\r\n", DESTINATION, 4096);
    let source = fetched(1, 4, "", "x") + &fetched(2, 5, "", "y") + "Cv2 OK done\r\n";
    h.backend(0, source.as_bytes(), 4096);
    h.backend(1, b"Cv2 OK [APPENDUID 5 1] x\r\n", 4096);
    assert_eq!(h.link_text(0), "", "one APPEND still unconfirmed");
    h.backend(1, b"Cv3 OK [APPENDUID 5 2] x\r\n", 4096);
    assert_eq!(
        h.link_text(0),
        "Cv3 UID STORE 4:5 +FLAGS.SILENT (\\Deleted)\r\n"
    );
    assert_eq!(h.client_text(), "* OK [COPYUID 5 4:5 1:2] moved\r\n");
    h.backend(0, b"Cv3 OK stored\r\n", 4096);
    assert_eq!(h.link_text(0), "Cv4 UID EXPUNGE 4:5\r\n");
    h.backend(
        0,
        b"* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nCv4 OK expunged\r\n",
        4096,
    );
    assert_eq!(
        h.client_text(),
        "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\na3 OK 2 messages moved\r\n"
    );
}

#[test]
fn a_destination_lost_midway_leaves_the_unconfirmed_messages_at_the_source() {
    let mut h = Harness::new(true);
    h.transfer("a3 MOVE 1:3 Archive\r\n", DESTINATION, 4096);
    h.backend(0, fetched(1, 1, "", "one").as_bytes(), 4096);
    h.backend(1, b"Cv2 OK [APPENDUID 5 10] x\r\n", 4096);
    // be2 dies in the middle of the second message's body.
    h.backend(
        0,
        b"* 2 FETCH (UID 2 FLAGS () INTERNALDATE \"d\" BODY[] {9}\r\nhalf",
        4096,
    );
    h.session.link_failed(1, "connection reset", h.now);
    h.collect();
    h.backend(0, b" done)\r\n", 4096);
    h.backend(0, fetched(3, 3, "", "three").as_bytes(), 4096);
    h.backend(0, b"Cv2 OK done\r\n", 4096);
    // Only the confirmed message leaves the source.
    assert_eq!(
        h.link_text(0),
        "Cv3 UID STORE 1 +FLAGS.SILENT (\\Deleted)\r\n"
    );
    h.backend(0, b"Cv3 OK stored\r\n", 4096);
    assert_eq!(h.link_text(0), "Cv4 UID EXPUNGE 1\r\n");
    h.backend(0, b"* 1 EXPUNGE\r\nCv4 OK expunged\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "* OK [COPYUID 5 1 10] moved\r\n* 1 EXPUNGE\r\na3 NO moved 1 of 3 messages (uids 1); \
         2:3 not moved: backend be2 lost: connection reset\r\n"
    );
    assert!(!h.session.is_closed());
}

#[test]
fn a_source_lost_midway_ends_the_session() {
    let mut h = Harness::new(true);
    h.transfer("a3 COPY 1:2 Archive\r\n", DESTINATION, 4096);
    h.backend(
        0,
        b"* 1 FETCH (UID 1 FLAGS () INTERNALDATE \"d\" BODY[] {10}\r\nhalf",
        4096,
    );
    h.session.link_failed(0, "connection reset", h.now);
    h.collect();
    assert_eq!(
        h.client_text(),
        "* BYE [UNAVAILABLE] Backend be1 lost: connection reset\r\n"
    );
    assert!(h.session.is_closed());
}

#[test]
fn an_unreachable_destination_gets_no_and_fetches_nothing() {
    let mut h = Harness::new(true);
    h.login(4096);
    h.client(b"a2 SELECT INBOX\r\n", 4096);
    h.backend(0, b"a2 OK [READ-WRITE] done\r\n", 4096);
    h.client_text();
    h.link_text(0);
    h.client(b"a3 UID MOVE 1 Archive\r\n", 4096);
    h.session.link_failed(1, "connection refused", h.now);
    h.collect();
    assert_eq!(
        h.client_text(),
        "a3 NO [UNAVAILABLE] Backend be2 unavailable: connection refused\r\n"
    );
    assert_eq!(h.link_text(0), "");
    assert!(h.session.wants_client_input());
}

#[test]
fn the_table_acl_is_checked_before_any_backend_is_touched() {
    let mut h = Harness::new(true);
    for (seq, (name, location, acl)) in [
        // bob's INBOX on be2: alice may read it but not insert.
        ("user.bob", "be2!p", "bob\tlrswipkxtecda\talice\tlr\t"),
        // bob's Shared on be1: alice may read and insert, not delete.
        (
            "user.bob.Shared",
            "be1!p",
            "bob\tlrswipkxtecda\talice\tlrsi\t",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        h.table.apply(
            100 + seq as u64,
            corvid_mupdate::table::Change::Upsert {
                name: name.as_bytes().into(),
                location: location.as_bytes().into(),
                acl: acl.as_bytes().into(),
                state: corvid_mupdate::table::State::Active,
            },
        );
    }
    h.login(4096);
    h.client(b"a2 SELECT INBOX\r\n", 4096);
    h.backend(0, b"a2 OK [READ-WRITE] done\r\n", 4096);
    h.client_text();
    h.client(b"a3 COPY 1 \"Other Users/bob\"\r\n", 4096);
    assert_eq!(h.client_text(), "a3 NO [NOPERM] permission denied\r\n");
    h.client(b"a4 SELECT \"Other Users/bob/Shared\"\r\n", 4096);
    h.backend(0, b"a4 OK [READ-WRITE] done\r\n", 4096);
    h.client_text();
    h.client(b"a5 MOVE 1 Archive\r\n", 4096);
    assert_eq!(h.client_text(), "a5 NO [NOPERM] permission denied\r\n");
    assert_eq!(h.connects, ["be1"], "be2 never reached");
    assert_eq!(
        h.link_text(0),
        "a2 SELECT INBOX\r\na4 SELECT \"Other Users/bob/Shared\"\r\n"
    );
}

#[test]
fn a_uid_copy_of_no_message_appends_nothing() {
    let mut h = Harness::new(true);
    h.transfer("a3 UID COPY 99 Archive\r\n", DESTINATION, 4096);
    h.backend(0, b"Cv2 OK no such messages\r\n", 4096);
    assert_eq!(h.link_text(1), "");
    assert_eq!(h.client_text(), "a3 OK no messages to copy\r\n");
    h.client(b"a4 NOOP\r\n", 4096);
    assert_eq!(h.link_text(0), "a4 NOOP\r\n", "the session goes on");
}

/// A config whose CREATEs on `unregistered` are registered by the proxy, with `admins`.
fn create_config(unregistered: &[&str], admins: &[&str]) -> Rc<SessionConfig> {
    let mut config = (*config(true, Verify::InboxBackend)).clone();
    config.proxy_registers = unregistered.iter().map(|&s| s.into()).collect();
    config.admins = admins.iter().map(|&s| s.to_string()).collect();
    Rc::new(config)
}

/// A logged-in harness, its greeting and login answer taken.
fn logged_in(config: Rc<SessionConfig>) -> Harness {
    let mut h = Harness::with(config);
    h.login(4096);
    h.client_text();
    h.actions.clear();
    h
}

fn master_actions(h: &mut Harness) -> Vec<MasterCommand> {
    std::mem::take(&mut h.actions)
        .into_iter()
        .filter_map(|action| match action {
            Action::Master(command) => Some(command),
            _ => None,
        })
        .collect()
}

/// The master accepts the change the session asked for; the session's output is collected.
fn master_ok(h: &mut Harness) {
    h.session.master_answered(Ok(()), h.now);
    h.collect();
}

fn awaited(h: &Harness) -> Vec<&str> {
    h.actions
        .iter()
        .filter_map(|action| match action {
            Action::AwaitTable(wait) => wait.active.first().map(|name| &**name),
            _ => None,
        })
        .collect()
}

#[test]
fn create_on_a_registering_backend_is_relayed_then_waits_for_the_table() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    // A top-level name goes to the INBOX's backend, a child to its parent's.
    h.client(b"a2 CREATE Projects\r\na3 SELECT Projects\r\n", 4096);
    assert_eq!(h.link_text(0), "a2 CREATE Projects\r\n");
    h.backend(0, b"a2 OK Completed\r\n", 4096);
    assert_eq!(h.client_text(), "a2 OK Completed\r\n");
    assert_eq!(awaited(&h), ["user.alice.Projects"]);
    // The pipelined SELECT waits until the table has caught up.
    assert!(!h.session.wants_client_input());
    h.session.table_caught_up();
    assert!(h.session.wants_client_input());
    h.actions.clear();
    h.client(b"a4 CREATE Archive/2026\r\n", 4096);
    assert_eq!(h.connects, ["be1", "be2"]);
    h.backend(1, GREETING, 4096);
    h.backend(1, b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n", 4096);
    assert!(h.link_text(1).ends_with("a4 CREATE Archive/2026\r\n"));
    h.backend(1, b"a4 NO [ALREADYEXISTS] Mailbox exists\r\n", 4096);
    assert_eq!(h.client_text(), "a4 NO [ALREADYEXISTS] Mailbox exists\r\n");
    assert!(awaited(&h).is_empty(), "a refused CREATE waits for nothing");
    assert!(h.session.wants_client_input());
}

#[test]
fn a_registering_backends_codeless_refusal_of_an_existing_name_gets_alreadyexists() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    // Cyrus, having lost a race for a name the table does not have yet.
    h.client(b"a2 CREATE Projects\r\n", 4096);
    h.backend(0, b"a2 NO Mailbox already exists\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a2 NO [ALREADYEXISTS] Mailbox already exists\r\n"
    );
    // Cyrus, whose RESERVE the master refused (another backend won).
    h.client(b"a6 CREATE Plans\r\n", 4096);
    h.backend(
        0,
        b"a6 NO unable to reserve mailbox on mupdate server\r\n",
        4096,
    );
    assert_eq!(
        h.client_text(),
        "a6 NO [ALREADYEXISTS] unable to reserve mailbox on mupdate server\r\n"
    );
    // Any backend's codeless NO for a name the table has.
    h.client(b"a3 CREATE Drafts\r\n", 4096);
    h.backend(0, b"a3 NO Cannot do that\r\n", 4096);
    assert_eq!(h.client_text(), "a3 NO [ALREADYEXISTS] Cannot do that\r\n");
    // Other refusals stay as the backend gave them.
    h.client(b"a4 CREATE Notes\r\n", 4096);
    h.backend(0, b"a4 NO Permission denied\r\n", 4096);
    assert_eq!(h.client_text(), "a4 NO Permission denied\r\n");
    h.client(b"a5 CREATE Drafts\r\n", 4096);
    h.backend(0, b"a5 NO [NOPERM] Permission denied\r\n", 4096);
    assert_eq!(h.client_text(), "a5 NO [NOPERM] Permission denied\r\n");
    assert!(awaited(&h).is_empty(), "a refused CREATE waits for nothing");
}

#[test]
fn create_on_an_unregistered_backend_reserves_creates_then_activates() {
    let mut h = logged_in(create_config(&["be1"], &[]));
    h.client(b"a2 CREATE Projects (USE (\\Archive))\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Reserve {
            name: b"user.alice.Projects".to_vec(),
            location: b"be1!default".to_vec(),
        }]
    );
    assert_eq!(
        h.link_text(0),
        "",
        "nothing reaches the backend before the master agreed"
    );
    assert!(!h.session.wants_client_input());
    master_ok(&mut h);
    assert_eq!(h.link_text(0), "a2 CREATE Projects (USE (\\Archive))\r\n");
    h.backend(0, b"a2 OK Created\r\n", 4096);
    assert_eq!(h.client_text(), "", "the OK waits for the master");
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Activate {
            name: b"user.alice.Projects".to_vec(),
            location: b"be1!default".to_vec(),
            acl: b"alice\tlrswipkxtecda\t".to_vec(),
        }]
    );
    master_ok(&mut h);
    assert_eq!(h.client_text(), "a2 OK Created\r\n");
    assert_eq!(awaited(&h), ["user.alice.Projects"]);
    h.session.table_caught_up();
    assert!(h.session.wants_client_input());
}

#[test]
fn a_create_the_backend_refuses_rolls_back_its_reservation() {
    let mut h = logged_in(create_config(&["be1"], &[]));
    h.client(b"a2 CREATE Bad\r\n", 4096);
    master_actions(&mut h);
    master_ok(&mut h);
    h.backend(0, b"a2 NO [CANNOT] Invalid name\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Delete {
            name: b"user.alice.Bad".to_vec()
        }]
    );
    assert_eq!(h.client_text(), "");
    master_ok(&mut h);
    assert_eq!(h.client_text(), "a2 NO [CANNOT] Invalid name\r\n");
    assert!(awaited(&h).is_empty());

    // ALREADYEXISTS from the backend (a mailbox the master did not know): the reservation,
    // this session's own, goes too.
    h.client(b"a3 CREATE Orphan\r\n", 4096);
    master_actions(&mut h);
    master_ok(&mut h);
    h.backend(0, b"a3 NO [ALREADYEXISTS] Mailbox already exists\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Delete {
            name: b"user.alice.Orphan".to_vec()
        }]
    );
    master_ok(&mut h);
    assert_eq!(
        h.client_text(),
        "a3 NO [ALREADYEXISTS] Mailbox already exists\r\n"
    );

    // The backend lost under the CREATE: rolled back, and the client told.
    h.client(b"a4 CREATE Lost\r\n", 4096);
    master_actions(&mut h);
    master_ok(&mut h);
    h.session.link_failed(0, "reset", h.now);
    h.collect();
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Delete {
            name: b"user.alice.Lost".to_vec()
        }]
    );
    master_ok(&mut h);
    let answer = h.client_text();
    assert!(answer.contains("a4 NO [UNAVAILABLE]"), "{answer}");
}

#[test]
fn the_master_or_the_table_refusing_a_name_answers_alreadyexists() {
    let mut h = logged_in(create_config(&["be1", "be2"], &[]));
    h.client(b"a2 CREATE Drafts\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a2 NO [ALREADYEXISTS] Mailbox already exists\r\n"
    );
    assert!(master_actions(&mut h).is_empty());
    h.client(b"a3 CREATE Taken\r\n", 4096);
    assert_eq!(master_actions(&mut h).len(), 1);
    let refusal = crate::master::MasterError::Refused("mailbox already exists".into());
    h.session.master_answered(Err(refusal), h.now);
    h.collect();
    let answer = h.client_text();
    assert!(answer.starts_with("a3 NO [ALREADYEXISTS] "), "{answer}");
    h.client(b"a4 CREATE Later\r\n", 4096);
    let down = crate::master::MasterError::Unreachable("refused".into());
    h.session.master_answered(Err(down), h.now);
    h.collect();
    let answer = h.client_text();
    assert!(answer.starts_with("a4 NO [UNAVAILABLE] "), "{answer}");
    assert_eq!(h.link_text(0), "", "no CREATE reached the backend");
}

#[test]
fn an_admins_new_user_goes_where_the_placement_policy_says() {
    let mut h = logged_in(create_config(&[], &["alice"]));
    // be1 holds two mailboxes, be2 one: least-mailboxes picks be2.
    h.client(b"a2 CREATE \"Other Users/newuser\"\r\n", 4096);
    assert_eq!(h.connects, ["be1", "be2"]);
    h.backend(1, GREETING, 4096);
    h.backend(1, b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n", 4096);
    assert!(
        h.link_text(1)
            .ends_with("a2 CREATE \"Other Users/newuser\"\r\n")
    );
    // Not an admin: the user's INBOX backend, which refuses it.
    let mut h = logged_in(create_config(&[], &[]));
    h.client(b"a2 CREATE \"Other Users/newuser\"\r\n", 4096);
    assert_eq!(h.connects, ["be1"]);
    assert_eq!(h.link_text(0), "a2 CREATE \"Other Users/newuser\"\r\n");
}

#[test]
fn the_perimeter_refuses_what_the_tables_acl_denies_without_a_backend() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    let all = "lrswipkxtecda";
    for (seq, (name, acl)) in [
        ("user.bob", format!("bob\t{all}\talice\tl\t")),
        ("user.bob.Secret", format!("bob\t{all}\t")),
    ]
    .into_iter()
    .enumerate()
    {
        let change = Change::Upsert {
            name: name.as_bytes().into(),
            location: b"be2!p".as_slice().into(),
            acl: acl.into_bytes().into(),
            state: State::Active,
        };
        h.table.apply(100 + seq as u64, change);
    }
    let commands = [
        ("SELECT \"Other Users/bob\"", "NO [NOPERM]"),
        ("EXAMINE \"Other Users/bob\"", "NO [NOPERM]"),
        ("STATUS \"Other Users/bob\" (MESSAGES)", "NO [NOPERM]"),
        ("APPEND \"Other Users/bob\" {1+}\r\nx", "NO [NOPERM]"),
        ("SELECT \"Other Users/bob/Secret\"", "NO [NONEXISTENT]"),
        ("EXAMINE \"Other Users/bob/Secret\"", "NO [NONEXISTENT]"),
        (
            "STATUS \"Other Users/bob/Secret\" (UIDNEXT)",
            "NO [NONEXISTENT]",
        ),
        (
            "APPEND \"Other Users/bob/Secret\" {1+}\r\nx",
            "NO [TRYCREATE]",
        ),
    ];
    for (at, (command, answer)) in commands.iter().enumerate() {
        let tag = format!("p{at}");
        h.client(format!("{tag} {command}\r\n").as_bytes(), 4096);
        let got = h.client_text();
        assert!(
            got.starts_with(&format!("{tag} {answer} ")),
            "{command}: {got}"
        );
    }
    assert_eq!(h.connects, ["be1"], "be2 was never contacted");
    assert_eq!(h.link_text(0), "", "nor be1");
}

/// A harness whose backends are described by `backends`, with referrals on or off, and bob's
/// INBOX on be2 shared with alice (`lr`).
fn harness_with_backends(backends: &[(&str, BackendProfile)], referrals: bool) -> Harness {
    let mut config = (*config(true, Verify::InboxBackend)).clone();
    config.backends = backends
        .iter()
        .map(|(server, profile)| ((*server).into(), profile.clone()))
        .collect();
    config.referrals = referrals;
    let mut h = Harness::with(Rc::new(config));
    h.table.apply(
        100,
        corvid_mupdate::table::Change::Upsert {
            name: b"user.bob".as_slice().into(),
            location: b"be2!p".as_slice().into(),
            acl: b"bob\tlrswipkxtecda\talice\tlr\t".as_slice().into(),
            state: corvid_mupdate::table::State::Active,
        },
    );
    h
}

#[test]
fn another_users_inbox_is_named_as_each_dovecot_backend_names_it() {
    let dovecot = BackendProfile {
        other_users_inbox_folder: true,
        referral_host: None,
    };
    let mut h = harness_with_backends(&[("be1", dovecot.clone()), ("be2", dovecot)], false);
    h.login(4096);
    h.client_text();
    // The subscription is kept by alice's INBOX backend (be1), in its own spelling.
    h.client(b"a2 SUBSCRIBE \"Other Users/bob\"\r\n", 4096);
    assert_eq!(h.link_text(0), "a2 SUBSCRIBE \"Other Users/bob/INBOX\"\r\n");
    h.backend(0, b"a2 OK done\r\n", 4096);
    assert_eq!(h.client_text(), "a2 OK done\r\n");
    // LSUB reads be1's list back into the proxy's names; a subscription to a mailbox the
    // table does not know is \Noselect, and \NonExistent in LIST (SUBSCRIBED).
    let subscriptions = b"* LSUB () \"/\" \"Other Users/bob/INBOX\"\r\n* LSUB () \"/\" Gone\r\n";
    h.client(b"a3 LSUB \"\" \"*\"\r\n", 4096);
    let asked = h.link_text(0);
    let tag = asked
        .strip_suffix(" LSUB \"\" \"*\"\r\n")
        .unwrap()
        .to_string();
    h.backend(
        0,
        &[&subscriptions[..], format!("{tag} OK done\r\n").as_bytes()].concat(),
        4096,
    );
    assert_eq!(
        h.client_text(),
        "* LSUB (\\Noselect) \"/\" Gone\r\n* LSUB () \"/\" \"Other Users/bob\"\r\na3 OK LSUB completed\r\n"
    );
    h.client(b"a4 LIST (SUBSCRIBED) \"\" \"*\"\r\n", 4096);
    let asked = h.link_text(0);
    let tag = asked
        .strip_suffix(" LSUB \"\" \"*\"\r\n")
        .unwrap()
        .to_string();
    h.backend(
        0,
        &[&subscriptions[..], format!("{tag} OK done\r\n").as_bytes()].concat(),
        4096,
    );
    let listed = h.client_text();
    assert!(
        listed.contains("* LIST (\\NonExistent \\Subscribed) \"/\" Gone\r\n"),
        "{listed}"
    );
    assert!(
        listed.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Other Users/bob\"\r\n"),
        "{listed}"
    );
    // SELECT and STATUS reach bob's INBOX on be2 by its Dovecot name.
    h.client(b"a5 SELECT \"Other Users/bob\"\r\n", 4096);
    h.backend(1, GREETING, 4096);
    h.link_text(1);
    h.backend(1, b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+] in\r\n", 4096);
    assert_eq!(h.link_text(1), "a5 SELECT \"Other Users/bob/INBOX\"\r\n");
    h.backend(1, b"a5 OK [READ-ONLY] done\r\n", 4096);
    assert_eq!(h.client_text(), "a5 OK [READ-ONLY] done\r\n");
}

#[test]
fn referrals_are_given_only_to_a_client_that_asked_for_them() {
    let be2 = BackendProfile {
        other_users_inbox_folder: false,
        referral_host: Some("be2.example.net:993".into()),
    };
    let mut h = harness_with_backends(&[("be2", be2.clone())], true);
    assert!(h.client_text().contains(" MAILBOX-REFERRALS"));
    h.login(4096);
    h.client_text();
    h.client(b"a2 CAPABILITY\r\n", 4096);
    assert!(h.client_text().contains(" MAILBOX-REFERRALS"));
    // RLIST is answered from the table, as LIST; from now on the session refers.
    h.client(b"a3 RLIST \"\" \"Archive\"\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "* LIST (\\HasNoChildren) \"/\" Archive\r\na3 OK RLIST completed\r\n"
    );
    h.client(b"a4 SELECT Archive\r\n", 4096);
    h.client(b"a5 EXAMINE \"Other Users/bob\"\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a4 NO [REFERRAL imap://alice;AUTH=*@be2.example.net:993/Archive] Remote mailbox\r\n\
         a5 NO [REFERRAL imap://alice;AUTH=*@be2.example.net:993/Other%20Users/bob] Remote mailbox\r\n"
    );
    assert_eq!(h.connects, ["be1"], "be2 never reached");
    // The INBOX backend's mailboxes are served through the proxy.
    h.client(b"a6 SELECT Drafts\r\n", 4096);
    assert_eq!(h.link_text(0), "a6 SELECT Drafts\r\n");

    // Without RLIST or RLSUB first, and with referrals off, SELECT is relayed.
    for (referrals, first) in [(true, &b""[..]), (false, b"a3 RLIST \"\" \"*\"\r\n")] {
        let mut h = harness_with_backends(&[("be2", be2.clone())], referrals);
        assert_eq!(h.client_text().contains("MAILBOX-REFERRALS"), referrals);
        h.login(4096);
        h.client(first, 4096);
        if !first.is_empty() {
            // Referrals off: RLIST is an unknown command, relayed to the INBOX backend.
            assert_eq!(h.link_text(0), "a3 RLIST \"\" \"*\"\r\n");
            h.backend(0, b"a3 BAD unknown command\r\n", 4096);
        }
        h.client_text();
        h.client(b"a4 SELECT Archive\r\n", 4096);
        assert_eq!(h.connects, ["be1", "be2"]);
        assert_eq!(h.client_text(), "");
    }
}

/// Adds `(name, location, acl)` entries to the harness's table.
fn add_mailboxes(h: &mut Harness, entries: &[(&str, &str, &str)]) {
    for (seq, &(name, location, acl)) in entries.iter().enumerate() {
        let change = Change::Upsert {
            name: name.as_bytes().into(),
            location: location.as_bytes().into(),
            acl: acl.as_bytes().into(),
            state: State::Active,
        };
        h.table.apply(200 + seq as u64, change);
    }
}

fn table_waits(h: &Harness) -> Vec<TableWait> {
    h.actions
        .iter()
        .filter_map(|action| match action {
            Action::AwaitTable(wait) => Some(wait.clone()),
            _ => None,
        })
        .collect()
}

fn wait(active: &[&str], gone: &[&str]) -> TableWait {
    TableWait {
        active: active.iter().map(|&name| name.into()).collect(),
        gone: gone.iter().map(|&name| name.into()).collect(),
    }
}

#[test]
fn rename_and_delete_on_a_registering_backend_are_relayed_then_wait_for_the_table() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    h.client(b"a2 RENAME Drafts Old\r\na3 LIST \"\" *\r\n", 4096);
    assert_eq!(h.link_text(0), "a2 RENAME Drafts Old\r\n");
    h.backend(0, b"a2 OK Completed\r\n", 4096);
    assert_eq!(h.client_text(), "a2 OK Completed\r\n");
    let expected = wait(&["user.alice.Old"], &["user.alice.Drafts"]);
    assert_eq!(table_waits(&h), std::slice::from_ref(&expected));
    assert!(!expected.shown_by(&h.table), "the table still has Drafts");
    // The pipelined LIST waits until the table has caught up.
    assert!(!h.session.wants_client_input());
    h.session.table_caught_up();
    h.actions.clear();
    h.client(b"a4 DELETE Drafts\r\n", 4096);
    assert_eq!(h.link_text(0), "a4 DELETE Drafts\r\n");
    h.backend(0, b"a4 NO Mailbox has children\r\n", 4096);
    assert_eq!(h.client_text(), "a4 NO Mailbox has children\r\n");
    assert!(
        table_waits(&h).is_empty(),
        "a refused DELETE waits for nothing"
    );
    h.client(b"a5 DELETE Drafts\r\n", 4096);
    h.backend(0, b"a5 OK Completed\r\n", 4096);
    assert_eq!(table_waits(&h), [wait(&[], &["user.alice.Drafts"])]);
}

#[test]
fn rename_and_delete_are_refused_at_the_perimeter_as_a_backend_would() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    let all = "lrswipkxtecda";
    add_mailboxes(
        &mut h,
        &[
            ("user.bob", "be1!p", &format!("bob\t{all}\talice\tl\t")),
            (
                "user.bob.Shared",
                "be1!p",
                &format!("bob\t{all}\talice\tlr\t"),
            ),
            ("user.bob.Secret", "be1!p", &format!("bob\t{all}\t")),
        ],
    );
    for (command, answer) in [
        ("RENAME Drafts Archive", "NO [ALREADYEXISTS]"),
        ("RENAME Nowhere Elsewhere", "NO [NONEXISTENT]"),
        ("RENAME \"Other Users/bob/Secret\" Mine", "NO [NONEXISTENT]"),
        ("RENAME \"Other Users/bob/Shared\" Mine", "NO [NOPERM]"),
        (
            "RENAME Drafts \"Other Users/bob/Shared/Mine\"",
            "NO [NOPERM]",
        ),
        ("RENAME Drafts Drafts/Inner be2", "NO Permission"),
        ("DELETE \"Other Users/bob/Shared\"", "NO [NOPERM]"),
        ("DELETE \"Other Users/bob/Secret\"", "NO [NONEXISTENT]"),
    ] {
        h.client(format!("t {command}\r\n").as_bytes(), 4096);
        let text = h.client_text();
        assert!(
            text.starts_with(&format!("t {answer} ")),
            "{command}: {text}"
        );
    }
    assert_eq!(h.link_text(0), "", "no backend was asked");
    assert_eq!(h.connects, ["be1"]);
}

#[test]
fn rename_on_an_unregistered_backend_moves_the_subtree_in_the_master() {
    let mut h = logged_in(create_config(&["be1"], &[]));
    add_mailboxes(
        &mut h,
        &[("user.alice.Drafts.2026", "be1!q", "alice\tlr\t")],
    );
    h.client(b"a2 RENAME Drafts Sent\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Reserve {
            name: b"user.alice.Sent".to_vec(),
            location: b"be1!p".to_vec(),
        }]
    );
    assert_eq!(h.link_text(0), "", "the backend waits for the master");
    master_ok(&mut h);
    assert_eq!(h.link_text(0), "a2 RENAME Drafts Sent\r\n");
    h.backend(0, b"a2 OK Renamed\r\n", 4096);
    let mut published = Vec::new();
    while let Some(at) = h
        .actions
        .iter()
        .position(|a| matches!(a, Action::Master(_)))
    {
        let Action::Master(command) = h.actions.remove(at) else {
            unreachable!()
        };
        assert_eq!(h.client_text(), "", "the OK waits for the master");
        published.push(command);
        master_ok(&mut h);
    }
    let activate = |name: &str, location: &str, acl: &str| MasterCommand::Activate {
        name: name.as_bytes().to_vec(),
        location: location.as_bytes().to_vec(),
        acl: acl.as_bytes().to_vec(),
    };
    let delete = |name: &str| MasterCommand::Delete {
        name: name.as_bytes().to_vec(),
    };
    assert_eq!(
        published,
        [
            activate("user.alice.Sent", "be1!p", "alice\tlrswipkxtecda\t"),
            activate("user.alice.Sent.2026", "be1!q", "alice\tlr\t"),
            delete("user.alice.Drafts.2026"),
            delete("user.alice.Drafts"),
        ]
    );
    assert_eq!(h.client_text(), "a2 OK Renamed\r\n");
    assert_eq!(
        table_waits(&h),
        [wait(
            &["user.alice.Sent", "user.alice.Sent.2026"],
            &["user.alice.Drafts", "user.alice.Drafts.2026"]
        )]
    );
}

#[test]
fn delete_on_an_unregistered_backend_is_published_and_a_refused_rename_rolled_back() {
    let mut h = logged_in(create_config(&["be1"], &[]));
    h.client(b"a2 DELETE Drafts\r\n", 4096);
    assert!(
        master_actions(&mut h).is_empty(),
        "no reservation for DELETE"
    );
    assert_eq!(h.link_text(0), "a2 DELETE Drafts\r\n");
    h.backend(0, b"a2 OK Deleted\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Delete {
            name: b"user.alice.Drafts".to_vec()
        }]
    );
    master_ok(&mut h);
    assert_eq!(h.client_text(), "a2 OK Deleted\r\n");
    assert_eq!(table_waits(&h), [wait(&[], &["user.alice.Drafts"])]);
    h.session.table_caught_up();

    // The backend refuses a RENAME: the new name's reservation goes.
    h.client(b"a3 RENAME Drafts Junk\r\n", 4096);
    master_actions(&mut h);
    master_ok(&mut h);
    h.backend(0, b"a3 NO [CANNOT] No\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Delete {
            name: b"user.alice.Junk".to_vec()
        }]
    );
    master_ok(&mut h);
    assert_eq!(h.client_text(), "a3 NO [CANNOT] No\r\n");
    assert!(table_waits(&h).is_empty());

    // The master refuses a later change: the client is told the master lags.
    h.client(b"a4 RENAME Drafts Junk\r\n", 4096);
    master_actions(&mut h);
    master_ok(&mut h);
    h.backend(0, b"a4 OK Renamed\r\n", 4096);
    master_ok(&mut h);
    let down = crate::master::MasterError::Unreachable("reset".into());
    h.session.master_answered(Err(down), h.now);
    h.collect();
    let answer = h.client_text();
    assert!(
        answer.starts_with(
            "a4 NO [UNAVAILABLE] Done on backend be1, but the mailbox master was not fully updated"
        ),
        "{answer}"
    );
}

/// Takes the journal operations asked for so far.
fn journal_ops(h: &mut Harness) -> Vec<JournalOp> {
    let (ops, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut h.actions)
        .into_iter()
        .partition(|action| matches!(action, Action::Journal(_)));
    h.actions = rest;
    ops.into_iter()
        .filter_map(|action| match action {
            Action::Journal(op) => Some(op),
            _ => None,
        })
        .collect()
}

/// Answers a journal operation and collects what follows.
fn journal_answer(h: &mut Harness, result: Result<Option<&[u8]>, &str>) {
    let result = result
        .map(|contents| contents.map(<[u8]>::to_vec))
        .map_err(str::to_string);
    h.session.journal_done(result, h.now);
    h.collect();
}

/// Logs link `id` in (a backend with UIDPLUS and LITERAL+).
fn link_logs_in(h: &mut Harness, id: LinkId) {
    h.backend(id, GREETING, 4096);
    assert!(h.link_text(id).starts_with("Cv1 AUTHENTICATE PLAIN "));
    h.backend(
        id,
        b"Cv1 OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS] in\r\n",
        4096,
    );
}

/// alice's `RENAME Drafts Archive/Drafts` (Drafts on be1, Archive on be2) up to the journal
/// read: the source (link 1) EXAMINEd and listed with `uids`.
fn relocation_started(h: &mut Harness, uids: &[u32]) {
    h.client(b"a2 RENAME Drafts Archive/Drafts\r\n", 4096);
    assert_eq!(h.connects, ["be1", "be1", "be2"], "two links of its own");
    link_logs_in(h, 1);
    assert_eq!(h.link_text(1), "", "the EXAMINE waits for both links");
    link_logs_in(h, 2);
    assert_eq!(h.link_text(1), "Cv2 EXAMINE Drafts\r\n");
    let examined = format!(
        "* {} EXISTS\r\n* OK [UIDVALIDITY 9] x\r\nCv2 OK [READ-ONLY] done\r\n",
        uids.len()
    );
    h.backend(1, examined.as_bytes(), 4096);
    if !uids.is_empty() {
        assert_eq!(h.link_text(1), "Cv3 UID FETCH 1:* (UID)\r\n");
        let mut listed = String::new();
        for (n, uid) in uids.iter().enumerate() {
            listed += &format!("* {} FETCH (UID {uid})\r\n", n + 1);
        }
        listed += "Cv3 OK done\r\n";
        h.backend(1, listed.as_bytes(), 4096);
    }
    let key = "757365722e616c6963652e447261667473.9";
    assert_eq!(journal_ops(h), [JournalOp::Read(key.into())]);
    assert_eq!(h.client_text(), "", "the client waits");
}

fn journal_write(uids: &str) -> JournalOp {
    JournalOp::Write {
        key: "757365722e616c6963652e447261667473.9".into(),
        contents: format!(
            "corvid rename journal 1\ndestination user.alice.Archive.Drafts\nuids {uids}\n"
        )
        .into_bytes(),
    }
}

#[test]
fn rename_across_backends_copies_then_deletes_the_source_last() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    relocation_started(&mut h, &[4, 7]);
    journal_answer(&mut h, Ok(None));
    assert_eq!(journal_ops(&mut h), [journal_write("4,7")]);
    assert_eq!(
        h.link_text(2),
        "",
        "nothing changes before the journal is written"
    );
    journal_answer(&mut h, Ok(None));
    assert_eq!(h.link_text(2), "Cv2 CREATE Archive/Drafts\r\n");
    h.backend(2, b"Cv2 OK created\r\n", 4096);
    assert_eq!(
        h.link_text(1),
        "Cv4 UID FETCH 4,7 (UID FLAGS INTERNALDATE BODY.PEEK[])\r\n"
    );
    let messages =
        fetched(1, 4, "\\Seen", "one") + &fetched(2, 7, "\\Seen", "two") + "Cv4 OK done\r\n";
    h.backend(1, messages.as_bytes(), 4096);
    assert_eq!(
        h.link_text(2),
        format!(
            "Cv3 APPEND Archive/Drafts{}\r\nCv4 APPEND Archive/Drafts{}\r\n",
            appended("\\Seen", "one"),
            appended("\\Seen", "two")
        )
    );
    h.backend(2, b"Cv3 OK [APPENDUID 3 1] ok\r\n", 4096);
    assert_eq!(
        h.link_text(1),
        "",
        "the source stays until every message is confirmed"
    );
    h.backend(2, b"Cv4 OK [APPENDUID 3 2] ok\r\n", 4096);
    // Nothing arrived at the source meanwhile (`8:*` names the last message, UID 7).
    assert_eq!(h.link_text(1), "Cv5 UID FETCH 8:* (UID)\r\n");
    h.backend(1, b"* 2 FETCH (UID 7)\r\nCv5 OK done\r\n", 4096);
    assert_eq!(h.link_text(1), "Cv6 CLOSE\r\n");
    h.backend(1, b"Cv6 OK closed\r\n", 4096);
    assert_eq!(h.link_text(1), "Cv7 DELETE Drafts\r\n");
    h.backend(1, b"Cv7 OK deleted\r\n", 4096);
    let key = "757365722e616c6963652e447261667473.9";
    assert_eq!(journal_ops(&mut h), [JournalOp::Remove(key.into())]);
    assert_eq!(h.client_text(), "");
    journal_answer(&mut h, Ok(None));
    assert_eq!(
        h.client_text(),
        "a2 OK RENAME completed: 2 messages moved to be2\r\n"
    );
    assert_eq!(
        table_waits(&h),
        [wait(&["user.alice.Archive.Drafts"], &["user.alice.Drafts"])]
    );
    assert!(h.actions.contains(&Action::CloseLink(1)) && h.actions.contains(&Action::CloseLink(2)));
    assert_eq!(h.link_text(0), "", "the client's own link saw nothing");
}

#[test]
fn an_interrupted_rename_across_backends_says_so_and_resumes_from_its_journal() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    relocation_started(&mut h, &[4, 7, 8]);
    journal_answer(&mut h, Ok(None));
    journal_ops(&mut h);
    journal_answer(&mut h, Ok(None));
    h.backend(2, b"Cv2 OK created\r\n", 4096);
    h.link_text(1);
    h.backend(1, fetched(1, 4, "\\Seen", "one").as_bytes(), 4096);
    h.backend(2, b"Cv3 OK [APPENDUID 3 1] ok\r\n", 4096);
    h.session.link_failed(2, "connection reset", h.now);
    h.collect();
    assert_eq!(
        h.client_text(),
        "",
        "the source's FETCH is read to its end first"
    );
    let rest = fetched(2, 7, "", "two") + &fetched(3, 8, "", "three") + "Cv4 OK done\r\n";
    h.backend(1, rest.as_bytes(), 4096);
    let answer = h.client_text();
    assert_eq!(
        answer,
        "a2 NO [UNAVAILABLE] 1 of 3 messages at be2 (backend be2 lost: connection reset); \
         the source mailbox is intact: RENAME again to finish\r\n"
    );
    assert!(!h.link_text(1).contains("DELETE"), "the source stays");
    assert!(h.session.wants_client_input(), "the session goes on");

    // Again: the destination exists now, and the journal says it is this move's.
    let mut table = crate::fuzzing::table();
    table.apply(
        100,
        Change::Upsert {
            name: b"user.alice.Archive.Drafts".as_slice().into(),
            location: b"be2!p".as_slice().into(),
            acl: b"alice\tlrswipkxtecda\t".as_slice().into(),
            state: State::Active,
        },
    );
    let mut h = logged_in(config(true, Verify::InboxBackend));
    h.table = table;
    relocation_started(&mut h, &[4, 7, 8]);
    journal_answer(
        &mut h,
        Ok(Some(
            b"corvid rename journal 1\ndestination user.alice.Archive.Drafts\nuids 4,7:8\n",
        )),
    );
    assert_eq!(h.link_text(2), "Cv2 STATUS Archive/Drafts (MESSAGES)\r\n");
    h.backend(
        2,
        b"* STATUS Archive/Drafts (MESSAGES 1)\r\nCv2 OK done\r\n",
        4096,
    );
    assert_eq!(journal_ops(&mut h), [journal_write("4,7:8")]);
    journal_answer(&mut h, Ok(None));
    assert_eq!(
        h.link_text(1),
        "Cv4 UID FETCH 7:8 (UID FLAGS INTERNALDATE BODY.PEEK[])\r\n",
        "only what the destination does not have"
    );
    let messages =
        fetched(2, 7, "\\Seen", "two") + &fetched(3, 8, "\\Seen", "three") + "Cv4 OK done\r\n";
    h.backend(1, messages.as_bytes(), 4096);
    h.backend(2, b"Cv3 OK ok\r\nCv4 OK ok\r\n", 4096);
    assert_eq!(h.link_text(1), "Cv5 UID FETCH 9:* (UID)\r\n");
    // A message arrived at the source during the move: it is not deleted with the source.
    h.backend(1, b"* 4 FETCH (UID 12)\r\nCv5 OK done\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a2 NO [UNAVAILABLE] 3 of 3 messages at be2 (messages arrived at the source during \
         the move); the source mailbox is intact: RENAME again to finish\r\n"
    );
    assert_eq!(h.link_text(1), "");

    // The destination exists without a journal: ALREADYEXISTS, nothing touched.
    let mut h2 = logged_in(config(true, Verify::InboxBackend));
    h2.table = h.table.clone();
    relocation_started(&mut h2, &[4]);
    journal_answer(&mut h2, Ok(None));
    assert!(h2.client_text().starts_with("a2 NO [ALREADYEXISTS]"));
    assert_eq!(h2.link_text(2), "");
}

#[test]
fn rename_across_backends_is_refused_without_a_journal_and_for_a_mailbox_with_children() {
    let mut h = logged_in(config(true, Verify::InboxBackend));
    relocation_started(&mut h, &[]);
    journal_answer(&mut h, Err("the proxy has no data_dir"));
    let answer = h.client_text();
    assert!(
        answer.starts_with("a2 NO [CANNOT] RENAME across backends needs the proxy's journal"),
        "{answer}"
    );
    add_mailboxes(
        &mut h,
        &[("user.alice.Drafts.Old", "be1!p", "alice\tlrswipkxtecda\t")],
    );
    h.client(b"a3 RENAME Drafts Archive/Drafts\r\n", 4096);
    let answer = h.client_text();
    assert!(
        answer.starts_with("a3 NO [CANNOT] a mailbox with children"),
        "{answer}"
    );
}

#[test]
fn an_administrator_names_the_server_a_mailbox_moves_to() {
    let mut h = logged_in(create_config(&["be2"], &["alice"]));
    h.client(b"a2 RENAME Drafts Moved be2\r\n", 4096);
    assert_eq!(h.connects, ["be1", "be1", "be2"]);
    link_logs_in(&mut h, 1);
    link_logs_in(&mut h, 2);
    assert_eq!(h.link_text(1), "Cv2 EXAMINE Drafts\r\n");
    h.backend(
        1,
        b"* 0 EXISTS\r\n* OK [UIDVALIDITY 2] x\r\nCv2 OK done\r\n",
        4096,
    );
    journal_ops(&mut h);
    journal_answer(&mut h, Ok(None));
    journal_ops(&mut h);
    journal_answer(&mut h, Ok(None));
    // be2 does not register its mailboxes: the proxy RESERVEs, then ACTIVATEs with the ACL.
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Reserve {
            name: b"user.alice.Moved".to_vec(),
            location: b"be2!default".to_vec(),
        }]
    );
    master_ok(&mut h);
    assert_eq!(h.link_text(2), "Cv2 CREATE Moved\r\n");
    h.backend(2, b"Cv2 OK\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Activate {
            name: b"user.alice.Moved".to_vec(),
            location: b"be2!default".to_vec(),
            acl: b"alice\tlrswipkxtecda\t".to_vec(),
        }]
    );
    master_ok(&mut h);
    assert_eq!(
        h.link_text(1),
        "Cv3 UID FETCH 1:* (UID)\r\n",
        "nothing to copy"
    );
    h.backend(1, b"Cv3 OK done\r\n", 4096);
    assert_eq!(h.link_text(1), "Cv4 CLOSE\r\n");

    let mut h = logged_in(create_config(&[], &["alice"]));
    h.client(b"a2 RENAME Drafts Moved be9!p\r\n", 4096);
    let answer = h.client_text();
    assert_eq!(answer, "a2 NO [CANNOT] no backend server is named be9\r\n");
}

#[test]
fn a_stopped_move_rolls_back_only_the_proxys_own_reservation() {
    // be2 does not register its mailboxes: the proxy RESERVEs the new name.
    let mut h = logged_in(create_config(&["be2"], &[]));
    relocation_started(&mut h, &[4]);
    journal_answer(&mut h, Ok(None));
    journal_ops(&mut h);
    journal_answer(&mut h, Ok(None));
    master_actions(&mut h);
    master_ok(&mut h);
    assert_eq!(h.link_text(2), "Cv2 CREATE Archive/Drafts\r\n");
    h.backend(2, b"Cv2 NO [SERVERBUG] disk\r\n", 4096);
    assert_eq!(
        master_actions(&mut h),
        [MasterCommand::Delete {
            name: b"user.alice.Archive.Drafts".to_vec()
        }]
    );
    assert!(
        h.client_text()
            .starts_with("a2 NO [UNAVAILABLE] 0 of 1 message at be2")
    );

    // Created and ACTIVATEd, then the copy stops: the new name stays, for the next RENAME.
    let mut h = logged_in(create_config(&["be2"], &[]));
    relocation_started(&mut h, &[4]);
    journal_answer(&mut h, Ok(None));
    journal_ops(&mut h);
    journal_answer(&mut h, Ok(None));
    master_actions(&mut h);
    master_ok(&mut h);
    h.backend(2, b"Cv2 OK created\r\n", 4096);
    assert_eq!(master_actions(&mut h).len(), 1, "the ACTIVATE");
    master_ok(&mut h);
    h.session.link_failed(2, "connection reset", h.now);
    h.collect();
    h.backend(1, b"Cv4 OK done\r\n", 4096);
    assert!(master_actions(&mut h).is_empty(), "nothing rolled back");
    assert!(
        h.client_text()
            .starts_with("a2 NO [UNAVAILABLE] 0 of 1 message at be2")
    );
}

/// Expects `command` (tag `Cv<tag>`) on link `id` and answers it with `untagged` and an OK.
fn own_command(h: &mut Harness, id: LinkId, (tag, command): (u32, &str), untagged: &str) {
    assert_eq!(h.link_text(id), format!("Cv{tag} {command}\r\n"));
    let answer = format!("{untagged}Cv{tag} OK done\r\n");
    h.backend(id, answer.as_bytes(), 4096);
}

#[test]
fn an_administrator_moves_a_users_tree_under_its_own_name() {
    // alice's INBOX and Drafts on be1, her Archive on be2 already; be2 registers its own.
    let mut h = logged_in(create_config(&[], &["alice"]));
    h.client(b"a2 RENAME INBOX INBOX be2\r\n", 4096);
    assert_eq!(h.connects, ["be1", "be1", "be2"]);
    let key = "757365722e616c696365".to_string();
    assert_eq!(journal_ops(&mut h), [JournalOp::Read(key.clone())]);
    journal_answer(&mut h, Ok(None));
    link_logs_in(&mut h, 1);
    link_logs_in(&mut h, 2);
    let empty = "* 0 EXISTS\r\n* OK [UIDVALIDITY 2] x\r\n";
    let mut written = Vec::new();
    for (n, (mailbox, name)) in [("INBOX", "user.alice"), ("Drafts", "user.alice.Drafts")]
        .into_iter()
        .enumerate()
    {
        let tag = 2 + 3 * n as u32;
        own_command(&mut h, 1, (tag, &format!("EXAMINE {mailbox}")), empty);
        // A destination there already (an earlier attempt's) is used when empty.
        assert_eq!(h.link_text(2), format!("Cv{tag} LOCALCREATE {mailbox}\r\n"));
        let exists = format!("Cv{tag} NO [ALREADYEXISTS] exists\r\n");
        h.backend(2, exists.as_bytes(), 4096);
        let status = format!("STATUS {mailbox} (MESSAGES)");
        let counted = format!("* STATUS {mailbox} (MESSAGES 0)\r\n");
        own_command(&mut h, 2, (tag + 1, &status), &counted);
        written.extend(journal_ops(&mut h));
        journal_answer(&mut h, Ok(None));
        own_command(&mut h, 1, (tag + 1, "UID FETCH 1:* (UID)"), "");
        own_command(&mut h, 1, (tag + 2, "CLOSE"), "");
        assert_eq!(
            master_actions(&mut h),
            [MasterCommand::Activate {
                name: name.as_bytes().to_vec(),
                location: b"be2!default".to_vec(),
                acl: b"alice\tlrswipkxtecda\t".to_vec(),
            }]
        );
        master_ok(&mut h);
        let grant = format!("SETACL {mailbox} \"alice\" \"lrswipkxtecda\"");
        own_command(&mut h, 2, (tag + 2, &grant), "");
        written.extend(journal_ops(&mut h));
        journal_answer(&mut h, Ok(None));
    }
    let JournalOp::Write { contents, .. } = &written[3] else {
        panic!("{written:?}");
    };
    assert_eq!(
        String::from_utf8_lossy(contents),
        "corvid move journal 1\nsource be1\ntarget be2\nmailbox 2 switched - user.alice\n\
mailbox 0 switched - user.alice.Archive\nmailbox 2 switched - user.alice.Drafts\n"
    );
    // Every mailbox switched: the source copies go, children first, the master untouched.
    own_command(&mut h, 1, (8, "LOCALDELETE Drafts"), "");
    assert_eq!(h.link_text(1), "Cv9 LOCALDELETE Archive\r\n");
    // Gone already (Cyrus says so without a code); an INBOX is emptied first, and a backend
    // may keep it (Cyrus does, for its own administrator only deletes a user).
    h.backend(1, b"Cv9 NO Mailbox does not exist\r\n", 4096);
    own_command(&mut h, 1, (10, "SELECT INBOX"), "");
    own_command(
        &mut h,
        1,
        (11, "UID STORE 1:* +FLAGS.SILENT (\\Deleted)"),
        "",
    );
    own_command(&mut h, 1, (12, "CLOSE"), "");
    assert_eq!(h.link_text(1), "Cv13 LOCALDELETE INBOX\r\n");
    h.backend(
        1,
        b"Cv13 NO Operation is not supported on mailbox\r\n",
        4096,
    );
    assert_eq!(journal_ops(&mut h), [JournalOp::Remove(key)]);
    assert!(master_actions(&mut h).is_empty());
    journal_answer(&mut h, Ok(None));
    assert_eq!(
        h.client_text(),
        "a2 OK RENAME completed: 3 mailboxes moved to be2\r\n"
    );

    // A client may not send the frontend's own commands.
    let mut h = logged_in(create_config(&[], &["alice"]));
    h.client(b"a3 LOCALDELETE Drafts\r\n", 4096);
    assert_eq!(
        h.client_text(),
        "a3 NO [CANNOT] LOCALDELETE is the frontend's own command\r\n"
    );
}
