//! The session against a real store in a temporary directory, with a driver stand-in that
//! answers passwords (`pw` is right) and the master (as scripted) and records what it was asked.

use std::collections::VecDeque;
use std::sync::Arc;

use corvid_proto::mailbox::{Namespace, NamespaceConfig};

use super::{Action, MasterChange, Session, SessionConfig};
use crate::backend::store::Store;

fn config() -> Arc<SessionConfig> {
    Arc::new(SessionConfig {
        server: "be1".into(),
        namespace: Namespace::new(NamespaceConfig::default()).unwrap(),
        proxy_users: vec!["proxy".into()],
        admins: vec!["admin".into()],
        max_message: 1 << 20,
        autocreate_inbox: true,
        clock: || 1_700_000_000,
    })
}

/// One store and the sessions on it.
struct Backend {
    _dir: tempfile::TempDir,
    store: Store,
    /// Every master change asked for, in order.
    master: Vec<MasterChange>,
    /// Answers to give the master changes (default: accepted).
    refusals: VecDeque<Option<String>>,
}

impl Backend {
    fn new() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        Backend {
            _dir: dir,
            store,
            master: Vec::new(),
            refusals: VecDeque::new(),
        }
    }

    fn session(&mut self) -> Session {
        let session = Session::new(config());
        let mut out = Vec::new();
        session.greeting(&mut out);
        assert!(out.starts_with(b"* OK [CAPABILITY IMAP4rev1 "), "{out:?}");
        session
    }

    /// Feeds `input` whole, answering every action; returns the output.
    fn send(&mut self, session: &mut Session, input: &str) -> String {
        let mut out = Vec::new();
        let mut input = input.as_bytes();
        loop {
            let feed = session.feed(&mut self.store, input, &mut out);
            input = &input[feed.consumed..];
            let mut action = feed.action;
            while let Some(next) = action.take() {
                action = match next {
                    Action::Verify { password, .. } => {
                        session.verified(&mut self.store, password == "pw", &mut out)
                    }
                    Action::Master(change) => {
                        self.master.push(change);
                        let result = match self.refusals.pop_front().flatten() {
                            Some(refusal) => Err(refusal),
                            None => Ok(()),
                        };
                        session.master_done(&mut self.store, result, &mut out)
                    }
                    Action::Resume => session.resume(&mut self.store, &mut out),
                    Action::Close => return String::from_utf8(out).unwrap(),
                };
            }
            if input.is_empty() || feed.consumed == 0 {
                return String::from_utf8(out).unwrap();
            }
        }
    }

    fn login(&mut self, user: &str) -> Session {
        let mut session = self.session();
        let answer = self.send(&mut session, &format!("l LOGIN {user} pw\r\n"));
        assert!(answer.starts_with("l OK [CAPABILITY "), "{answer}");
        session
    }
}

const MESSAGE: &str = "From: Jane <jane@example.com>\r\nTo: john@example.com\r\nSubject: hello\r\n\
Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nHi John,\r\nlunch?\r\n";

fn append(backend: &mut Backend, session: &mut Session, mailbox: &str, flags: &str) -> String {
    let command = format!(
        "ap APPEND {mailbox} ({flags}) {{{}+}}\r\n{MESSAGE}\r\n",
        MESSAGE.len()
    );
    backend.send(session, &command)
}

#[test]
fn login_makes_the_inbox_reserving_it_in_the_master_first() {
    let mut backend = Backend::new();
    backend.login("john");
    assert_eq!(
        backend.master,
        [
            MasterChange::Reserve {
                name: "user.john".into()
            },
            MasterChange::Activate {
                name: "user.john".into(),
                acl: b"john\tlrswipkxtecdan\t".to_vec()
            },
        ]
    );
    assert!(backend.store.mailbox("user.john").is_some());
    // The second login finds it.
    backend.login("john");
    assert_eq!(backend.master.len(), 2);
}

#[test]
fn an_inbox_the_master_places_elsewhere_is_not_made_here() {
    let mut backend = Backend::new();
    backend
        .refusals
        .push_back(Some("mailbox already exists".into()));
    backend.login("john");
    assert!(backend.store.mailbox("user.john").is_none());
}

#[test]
fn bad_passwords_are_refused_and_the_third_ends_the_session() {
    let mut backend = Backend::new();
    let mut session = backend.session();
    for _ in 0..2 {
        let answer = backend.send(&mut session, "a LOGIN john wrong\r\n");
        assert_eq!(
            answer,
            "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
        );
    }
    let answer = backend.send(&mut session, "a LOGIN john wrong\r\n");
    assert!(
        answer.ends_with("* BYE too many failed logins\r\n"),
        "{answer}"
    );
    assert!(!session.is_authenticated());
}

#[test]
fn a_proxy_user_logs_in_for_another_and_nobody_else_may() {
    use base64::Engine as _;
    let encode = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let mut backend = Backend::new();
    let mut session = backend.session();
    let plain = encode(b"jane\0proxy\0pw");
    let answer = backend.send(&mut session, &format!("a AUTHENTICATE PLAIN {plain}\r\n"));
    assert!(answer.starts_with("a OK [CAPABILITY"), "{answer}");
    assert!(backend.store.mailbox("user.jane").is_some());

    let mut session = backend.session();
    let plain = encode(b"jane\0john\0pw");
    let answer = backend.send(&mut session, &format!("a AUTHENTICATE PLAIN {plain}\r\n"));
    assert!(
        answer.starts_with("a NO [AUTHENTICATIONFAILED]"),
        "{answer}"
    );

    // Without an initial response, after a continuation.
    let mut session = backend.session();
    let answer = backend.send(&mut session, "b AUTHENTICATE PLAIN\r\n");
    assert_eq!(answer, "+ \r\n");
    let answer = backend.send(&mut session, &format!("{}\r\n", encode(b"\0john\0pw")));
    assert!(answer.starts_with("b OK [CAPABILITY"), "{answer}");
}

#[test]
fn commands_before_login_are_refused() {
    let mut backend = Backend::new();
    let mut session = backend.session();
    let answer = backend.send(
        &mut session,
        "a SELECT INBOX\r\nb NOOP\r\nc FOO\r\nd CHECK\r\n",
    );
    assert_eq!(
        answer,
        "a BAD Please login first\r\nb OK Completed\r\nc BAD unknown command\r\n\
d BAD Please login first\r\n"
    );
}

#[test]
fn check_is_a_command_of_the_selected_state() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    assert_eq!(
        backend.send(&mut session, "a CHECK\r\n"),
        "a BAD No mailbox selected\r\n"
    );
    backend.send(&mut session, "s SELECT INBOX\r\n");
    assert_eq!(
        backend.send(&mut session, "b CHECK\r\n"),
        "b OK Completed\r\n"
    );
}

#[test]
fn create_rename_delete_keep_the_master_in_step() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    backend.master.clear();
    assert_eq!(
        backend.send(&mut session, "c CREATE Sent\r\n"),
        "c OK Completed\r\n"
    );
    assert_eq!(
        backend.master,
        [
            MasterChange::Reserve {
                name: "user.john.Sent".into()
            },
            MasterChange::Activate {
                name: "user.john.Sent".into(),
                acl: b"john\tlrswipkxtecdan\t".to_vec()
            },
        ]
    );
    let answer = backend.send(&mut session, "c CREATE Sent\r\n");
    assert_eq!(answer, "c NO [ALREADYEXISTS] Mailbox already exists\r\n");
    backend.master.clear();
    assert_eq!(
        backend.send(&mut session, "r RENAME Sent Outbox\r\n"),
        "r OK Completed\r\n"
    );
    assert_eq!(
        backend.master[0],
        MasterChange::Reserve {
            name: "user.john.Outbox".into()
        }
    );
    assert!(
        matches!(&backend.master[1], MasterChange::Activate { name, .. } if name == "user.john.Outbox")
    );
    assert_eq!(
        backend.master[2],
        MasterChange::Delete {
            name: "user.john.Sent".into()
        }
    );
    backend.master.clear();
    assert_eq!(
        backend.send(&mut session, "d DELETE Outbox\r\n"),
        "d OK Completed\r\n"
    );
    assert_eq!(
        backend.master,
        [MasterChange::Delete {
            name: "user.john.Outbox".into()
        }]
    );
    let answer = backend.send(&mut session, "d DELETE INBOX\r\n");
    assert_eq!(answer, "d NO Cannot delete INBOX\r\n");
}

#[test]
fn a_name_the_master_refuses_is_not_created() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    backend
        .refusals
        .push_back(Some("mailbox already exists".into()));
    let answer = backend.send(&mut session, "c CREATE Drafts\r\n");
    assert!(answer.starts_with("c NO [ALREADYEXISTS]"), "{answer}");
    assert!(backend.store.mailbox("user.john.Drafts").is_none());
    // A master that fails the ACTIVATE: the mailbox is undone here.
    backend
        .refusals
        .extend([None, Some("connection lost".into())]);
    let answer = backend.send(&mut session, "c CREATE Drafts\r\n");
    assert!(answer.starts_with("c NO [UNAVAILABLE]"), "{answer}");
    assert!(backend.store.mailbox("user.john.Drafts").is_none());
}

#[test]
fn append_select_fetch_store_search_expunge() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    let answer = append(&mut backend, &mut session, "INBOX", "\\Flagged");
    assert!(answer.starts_with("ap OK [APPENDUID "), "{answer}");
    append(&mut backend, &mut session, "INBOX", "");
    let answer = backend.send(&mut session, "s SELECT INBOX\r\n");
    assert!(answer.contains("* 2 EXISTS\r\n* 2 RECENT\r\n"), "{answer}");
    assert!(answer.contains("* OK [UNSEEN 1]"), "{answer}");
    assert!(
        answer.ends_with("s OK [READ-WRITE] Completed\r\n"),
        "{answer}"
    );

    let answer = backend.send(&mut session, "f FETCH 1:* (UID FLAGS)\r\n");
    assert_eq!(
        answer,
        "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))\r\n* 2 FETCH (UID 2 FLAGS (\\Recent))\r\n\
         f OK Completed\r\n"
    );
    // A body fetch without PEEK sets \Seen and reports it.
    let answer = backend.send(&mut session, "f FETCH 2 BODY[HEADER.FIELDS (SUBJECT)]\r\n");
    assert!(answer.contains("Subject: hello\r\n\r\n"), "{answer}");
    assert!(answer.contains("\\Seen"), "{answer}");
    let answer = backend.send(&mut session, "n NOOP\r\n");
    assert_eq!(
        answer, "n OK Completed\r\n",
        "no echo of the session's own change"
    );

    let answer = backend.send(
        &mut session,
        "s SEARCH UNSEEN\r\ns2 UID SEARCH FLAGGED SUBJECT hello\r\n",
    );
    assert_eq!(
        answer,
        "* SEARCH 1\r\ns OK Completed\r\n* SEARCH 1\r\ns2 OK Completed\r\n"
    );

    let answer = backend.send(&mut session, "st STORE 1 +FLAGS (\\Deleted)\r\n");
    assert_eq!(
        answer,
        "* 1 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))\r\nst OK Completed\r\n"
    );
    let answer = backend.send(&mut session, "e EXPUNGE\r\n");
    assert_eq!(answer, "* 1 EXPUNGE\r\ne OK Completed\r\n");
    let answer = backend.send(&mut session, "f FETCH 1 UID\r\n");
    assert_eq!(answer, "* 1 FETCH (UID 2)\r\nf OK Completed\r\n");
    let answer = backend.send(&mut session, "f FETCH 2 UID\r\n");
    assert_eq!(answer, "f BAD Invalid message sequence number\r\n");
}

#[test]
fn copy_and_move_answer_copyuid_and_move_expunges_the_source() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    backend.send(&mut session, "c CREATE Archive\r\n");
    for _ in 0..3 {
        append(&mut backend, &mut session, "INBOX", "\\Seen");
    }
    backend.send(&mut session, "s SELECT INBOX\r\n");
    let validity = backend
        .store
        .mailbox("user.john.Archive")
        .unwrap()
        .uid_validity;
    let answer = backend.send(&mut session, "c COPY 1:2 Archive\r\n");
    assert_eq!(
        answer,
        format!("c OK [COPYUID {validity} 1:2 1:2] Completed\r\n")
    );
    let answer = backend.send(&mut session, "m UID MOVE 2:3 Archive\r\n");
    assert_eq!(
        answer,
        format!(
            "* OK [COPYUID {validity} 2:3 3:4] Moved\r\n* 3 EXPUNGE\r\n* 2 EXPUNGE\r\nm OK Completed\r\n"
        )
    );
    let archive = backend.store.mailbox("user.john.Archive").unwrap();
    assert_eq!(archive.messages.len(), 4);
    assert!(
        archive
            .messages
            .iter()
            .all(|m| m.flags.contains(crate::backend::store::SystemFlags::SEEN))
    );
    let answer = backend.send(&mut session, "c COPY 1 Nowhere\r\n");
    assert_eq!(answer, "c NO [TRYCREATE] Mailbox does not exist\r\n");
}

#[test]
fn idle_reports_what_other_sessions_change() {
    let mut backend = Backend::new();
    let mut watcher = backend.login("john");
    let mut writer = backend.login("john");
    append(&mut backend, &mut writer, "INBOX", "");
    backend.send(&mut watcher, "s SELECT INBOX\r\n");
    assert_eq!(backend.send(&mut watcher, "i IDLE\r\n"), "+ idling\r\n");
    append(&mut backend, &mut writer, "INBOX", "");
    let mut out = Vec::new();
    watcher.refresh(&mut backend.store, &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "* 2 EXISTS\r\n* 2 RECENT\r\n"
    );
    backend.send(
        &mut writer,
        "s SELECT INBOX\r\nst STORE 1 +FLAGS.SILENT (\\Deleted)\r\ne EXPUNGE\r\n",
    );
    let mut out = Vec::new();
    watcher.refresh(&mut backend.store, &mut out);
    assert_eq!(String::from_utf8(out).unwrap(), "* 1 EXPUNGE\r\n");
    assert_eq!(
        backend.send(&mut watcher, "DONE\r\n"),
        "i OK IDLE terminated\r\n"
    );
}

#[test]
fn a_new_message_is_recent_only_for_the_first_session_told_of_it() {
    let mut backend = Backend::new();
    let mut watcher = backend.login("john");
    let mut writer = backend.login("john");
    append(&mut backend, &mut writer, "INBOX", "");
    backend.send(&mut watcher, "s SELECT INBOX\r\n");
    append(&mut backend, &mut writer, "INBOX", "");
    // The watcher is told of the new message first: it is recent for the watcher...
    assert_eq!(
        backend.send(&mut watcher, "n NOOP\r\n"),
        "* 2 EXISTS\r\n* 2 RECENT\r\nn OK Completed\r\n"
    );
    // ... and for no session that selects the mailbox after.
    let selected = backend.send(&mut writer, "s SELECT INBOX\r\n");
    assert!(selected.contains("* 0 RECENT\r\n"), "{selected}");
    // A message the writer is told of first (its own APPEND) is not recent for the watcher.
    let appended = append(&mut backend, &mut writer, "INBOX", "");
    assert!(
        appended.starts_with("* 3 EXISTS\r\n* 1 RECENT\r\n"),
        "{appended}"
    );
    assert_eq!(
        backend.send(&mut watcher, "f FETCH 1:3 FLAGS\r\n"),
        "* 3 EXISTS\r\n* 2 RECENT\r\n* 1 FETCH (FLAGS (\\Recent))\r\n\
* 2 FETCH (FLAGS (\\Recent))\r\n* 3 FETCH (FLAGS ())\r\nf OK Completed\r\n"
    );
}

#[test]
fn jane_shares_her_inbox_and_john_lists_and_reads_it() {
    let mut backend = Backend::new();
    let mut jane = backend.login("jane");
    append(&mut backend, &mut jane, "INBOX", "");
    backend.master.clear();
    assert_eq!(
        backend.send(&mut jane, "a SETACL INBOX john lrs\r\n"),
        "a OK Completed\r\n"
    );
    assert_eq!(
        backend.master,
        [MasterChange::Activate {
            name: "user.jane".into(),
            acl: b"jane\tlrswipkxtecdan\tjohn\tlrs\t".to_vec()
        }]
    );
    let mut john = backend.login("john");
    let answer = backend.send(&mut john, "l LIST \"\" *\r\n");
    assert!(answer.contains("\"Other Users/jane\"\r\n"), "{answer}");
    let answer = backend.send(&mut john, "s EXAMINE \"Other Users/jane\"\r\n");
    assert!(answer.contains("* 1 EXISTS"), "{answer}");
    let answer = backend.send(&mut john, "f FETCH 1 BODY.PEEK[TEXT]\r\n");
    assert!(answer.contains("Hi John,\r\nlunch?\r\n"), "{answer}");
    let answer = backend.send(&mut john, "a SETACL \"Other Users/jane\" john lrswi\r\n");
    assert!(answer.starts_with("a NO [NOPERM]"), "{answer}");
    let answer = backend.send(&mut john, "a MYRIGHTS \"Other Users/jane\"\r\n");
    assert_eq!(
        answer,
        "* MYRIGHTS \"Other Users/jane\" lrs\r\na OK Completed\r\n"
    );
}

#[test]
fn literals_get_a_continuation_and_oversized_ones_are_refused() {
    let mut backend = Backend::new();
    let mut session = backend.session();
    let answer = backend.send(&mut session, "a LOGIN {4}\r\n");
    assert_eq!(answer, "+ go ahead\r\n");
    let answer = backend.send(&mut session, "john pw\r\n");
    assert!(answer.starts_with("a OK"), "{answer}");
    let answer = backend.send(&mut session, "b APPEND INBOX {999999999}\r\n");
    assert!(answer.starts_with("b BAD"), "{answer}");
    let answer = backend.send(&mut session, "c NOOP\r\n");
    assert_eq!(answer, "c OK Completed\r\n");
}

#[test]
fn status_and_subscriptions() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    append(&mut backend, &mut session, "INBOX", "");
    let answer = backend.send(&mut session, "s STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n");
    assert_eq!(
        answer,
        "* STATUS INBOX (MESSAGES 1 UNSEEN 1 UIDNEXT 2)\r\ns OK Completed\r\n"
    );
    backend.send(&mut session, "c CREATE Lists\r\n");
    assert_eq!(
        backend.send(&mut session, "u SUBSCRIBE Lists\r\n"),
        "u OK Completed\r\n"
    );
    let answer = backend.send(&mut session, "l LSUB \"\" *\r\n");
    assert_eq!(answer, "* LSUB () \"/\" Lists\r\nl OK Completed\r\n");
}

#[test]
fn a_large_fetch_is_answered_in_batches_the_driver_writes_in_between() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    let body = "x".repeat(600 * 1024);
    let message = format!("Subject: big\r\n\r\n{body}\r\n");
    for _ in 0..3 {
        let answer = backend.send(
            &mut session,
            &format!("a APPEND INBOX {{{}+}}\r\n{message}\r\n", message.len()),
        );
        assert!(answer.starts_with("a OK [APPENDUID"), "{answer}");
    }
    backend.send(&mut session, "s SELECT INBOX\r\n");
    let mut out = Vec::new();
    let feed = session.feed(
        &mut backend.store,
        b"f FETCH 1:3 BODY.PEEK[]\r\nn NOOP\r\n",
        &mut out,
    );
    // Two messages pass the batch size: the driver writes them before the third.
    assert_eq!(feed.action, Some(Action::Resume));
    assert_eq!(feed.consumed, "f FETCH 1:3 BODY.PEEK[]\r\n".len());
    let first = String::from_utf8(out).unwrap();
    assert!(first.starts_with("* 1 FETCH (BODY[] {"), "{}", &first[..40]);
    assert!(first.contains("* 2 FETCH (BODY[] {") && !first.contains("* 3 FETCH"));
    let mut out = Vec::new();
    assert_eq!(session.resume(&mut backend.store, &mut out), None);
    let rest = String::from_utf8(out).unwrap();
    assert!(rest.starts_with("* 3 FETCH (BODY[] {"), "{}", &rest[..40]);
    assert!(rest.ends_with(&format!("{message})\r\nf OK Completed\r\n")));
    // Then the next command.
    assert_eq!(
        backend.send(&mut session, "n NOOP\r\n"),
        "n OK Completed\r\n"
    );
}

#[test]
fn a_fetch_may_ask_for_sixteen_content_items_at_most() {
    let mut backend = Backend::new();
    let mut session = backend.login("john");
    append(&mut backend, &mut session, "INBOX", "");
    backend.send(&mut session, "s SELECT INBOX\r\n");
    let items = |n: usize| vec!["BODY.PEEK[TEXT]"; n].join(" ");
    let answer = backend.send(&mut session, &format!("f FETCH 1 ({})\r\n", items(16)));
    assert!(answer.ends_with("f OK Completed\r\n"), "{answer}");
    let answer = backend.send(
        &mut session,
        &format!("g FETCH 1 ({} RFC822)\r\n", items(16)),
    );
    assert_eq!(answer, "g BAD Too many body items\r\n");
}

#[test]
fn getmetadata_gives_the_servers_free_space_and_nothing_for_mailboxes() {
    let mut backend = Backend::new();
    let mut john = backend.login("john");
    let answer = backend.send(
        &mut john,
        "m GETMETADATA \"\" (/shared/comment /shared/vendor/cmu/cyrus-imapd/freespace/total)\r\n",
    );
    let (line, tagged) = answer.split_once("\r\n").unwrap();
    assert_eq!(tagged, "m OK Completed\r\n", "{answer}");
    // `FREE;TOTAL` in KiB, as Cyrus writes it.
    let (kib, total): (u64, u64) = line
        .strip_prefix("* METADATA \"\" (/shared/vendor/cmu/cyrus-imapd/freespace/total \"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .and_then(|value| value.split_once(';'))
        .and_then(|(free, total)| Some((free.parse().ok()?, total.parse().ok()?)))
        .unwrap_or_else(|| panic!("{answer}"));
    let space = backend.store.space().unwrap();
    // The file system may change a little between the two readings.
    assert!(
        kib.abs_diff(space.free / 1024) < 64 * 1024,
        "{kib} vs {space:?}"
    );
    assert_eq!(total, space.total / 1024);
    assert!(0 < kib && kib <= total);

    let answer = backend.send(&mut john, "m GETMETADATA INBOX /shared/comment\r\n");
    assert_eq!(answer, "m OK Completed\r\n");
    let answer = backend.send(&mut john, "m GETMETADATA Nowhere /shared/comment\r\n");
    assert!(answer.starts_with("m NO [NONEXISTENT] "), "{answer}");
}

#[test]
fn a_proxy_identity_logged_in_as_itself_gets_no_inbox() {
    let mut backend = Backend::new();
    backend.login("proxy");
    assert!(backend.master.is_empty(), "{:?}", backend.master);
    assert!(backend.store.mailbox("user.proxy").is_none());
}

#[test]
fn localcreate_and_localdelete_change_only_this_server_and_only_for_a_proxy_or_an_admin() {
    use base64::Engine as _;
    let mut backend = Backend::new();
    // john himself may not: the master would not know of his mailbox.
    let mut john = backend.login("john");
    let answer = backend.send(&mut john, "a LOCALCREATE Moved\r\nb LOCALDELETE INBOX\r\n");
    assert_eq!(
        answer,
        "a NO [NOPERM] Permission denied\r\nb NO [NOPERM] Permission denied\r\n"
    );
    assert!(backend.store.mailbox("user.john").is_some());
    let told = backend.master.len();

    // The proxy, acting for jane (whose INBOX the master holds elsewhere: the RESERVE of
    // her login is refused), makes and removes her mailboxes here alone.
    backend
        .refusals
        .push_back(Some("mailbox already exists".into()));
    let mut session = backend.session();
    let plain = base64::engine::general_purpose::STANDARD.encode(b"jane\0proxy\0pw");
    let answer = backend.send(&mut session, &format!("l AUTHENTICATE PLAIN {plain}\r\n"));
    assert!(answer.starts_with("l OK [CAPABILITY"), "{answer}");
    assert!(backend.store.mailbox("user.jane").is_none());
    let answer = backend.send(
        &mut session,
        "a LOCALCREATE INBOX\r\nb LOCALCREATE Sent\r\nc LOCALCREATE Sent\r\n",
    );
    assert_eq!(
        answer,
        "a OK Completed\r\nb OK Completed\r\nc NO [ALREADYEXISTS] Mailbox already exists\r\n"
    );
    assert!(backend.store.mailbox("user.jane.Sent").is_some());
    let answer = backend.send(
        &mut session,
        "d LOCALDELETE Sent\r\ne LOCALDELETE INBOX\r\nf LOCALDELETE INBOX\r\n",
    );
    assert!(
        answer.starts_with("d OK Completed\r\ne OK Completed\r\nf NO [NONEXISTENT]"),
        "{answer}"
    );
    assert!(backend.store.mailbox("user.jane").is_none());
    assert!(backend.store.mailbox("user.jane.Sent").is_none());
    // Only the login's RESERVE reached the master.
    assert_eq!(backend.master.len(), told + 1, "{:?}", backend.master);

    // An administrator may too.
    let mut admin = backend.login("admin");
    let answer = backend.send(&mut admin, "a LOCALCREATE \"Other Users/jane\"\r\n");
    assert_eq!(answer, "a OK Completed\r\n");
    assert!(backend.store.mailbox("user.jane").is_some());
}
