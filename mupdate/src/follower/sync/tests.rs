//! The follower against scripted masters: a Cyrus master (UPDATE, dump, stream) and a corvid
//! master (XRESUME with deltas and positions), fed at every split point.

use super::*;

fn credentials() -> Credentials {
    Credentials {
        user: "fe".into(),
        password: "pwf".into(),
        authzid: String::new(),
    }
}

const CYRUS_BANNER: &str = "* AUTH \"PLAIN\"\r\n* PARTIAL-UPDATE\r\n\
                            * OK MUPDATE \"m\" \"Cyrus IMAP\" \"3.6.1\" \"(master)\"\r\n";
const CORVID_BANNER: &str = "* AUTH \"PLAIN\"\r\n* PARTIAL-UPDATE\r\n* X-CORVID-RESUME\r\n\
                             * OK MUPDATE \"m\" \"corvid\" \"0.1.0\" \"(master)\"\r\n";

fn mailbox(tag: &str, name: &str, location: &str, acl: &str) -> String {
    format!(
        "{tag} MAILBOX {{{}+}}\r\n{name} {{{}+}}\r\n{location} {{{}+}}\r\n{acl}\r\n",
        name.len(),
        location.len(),
        acl.len()
    )
}

/// Feeds `script` in two pieces split at `split`, as the driver does (keeping unused bytes).
fn feed(follower: &mut Follower, script: &str, split: usize) -> Vec<Update> {
    let mut updates = Vec::new();
    let mut buffer = Vec::new();
    for piece in [&script.as_bytes()[..split], &script.as_bytes()[split..]] {
        buffer.extend_from_slice(piece);
        let used = follower.receive(&buffer, &mut updates).unwrap();
        buffer.drain(..used);
    }
    assert!(
        buffer.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(&buffer)
    );
    updates
}

fn names(table: &MailboxTable) -> Vec<String> {
    table
        .iter()
        .map(|e| String::from_utf8(e.name.to_vec()).unwrap())
        .collect()
}

#[test]
fn follows_a_cyrus_master_at_every_split() {
    let script = [
        CYRUS_BANNER.to_string(),
        "A01 OK \"Authenticated\"\r\n".into(),
        mailbox("U01", "user.b", "be1!p", "b\tlrs\t"),
        mailbox("U01", "user.a", "be1!p", ""),
        "U01 RESERVE {6+}\r\nuser.c {5+}\r\nbe2!p\r\n".into(),
        "U01 OK \"streaming starts\"\r\n".into(),
        "U01 DELETE {6+}\r\nuser.a\r\n".into(),
        mailbox("U01", "user.d", "be2!p", ""),
    ]
    .concat();
    for split in 0..=script.len() {
        let mut follower = Follower::new(MailboxTable::default(), None, credentials(), Vec::new());
        follower.connect();
        let updates = feed(&mut follower, &script, split);
        let sent = String::from_utf8(follower.take_output()).unwrap();
        assert_eq!(
            sent, "A01 AUTHENTICATE \"PLAIN\" {12+}\r\nAGZlAHB3Zg==\r\nU01 UPDATE\r\n",
            "split at {split}"
        );
        assert!(follower.is_ready());
        assert_eq!(names(follower.table()), ["user.b", "user.c", "user.d"]);
        assert_eq!(follower.table().get(b"user.b").unwrap().acl, b"b\tlrs\t");
        assert_eq!(
            follower.table().get(b"user.c").unwrap().state,
            State::Reserved
        );
        assert_eq!(updates.first(), Some(&Update::Replaced));
        assert_eq!(updates.len(), 3);
        assert_eq!(
            follower.stats(),
            SyncStats {
                dump: true,
                records: 3
            }
        );
        assert_eq!(follower.position(), None);
    }
}

/// Cyrus 3.6's master drops a command pipelined behind AUTHENTICATE (it answers the login and
/// never the UPDATE), so a follower of Cyrus asks for UPDATE only after the login's OK.
#[test]
fn asks_a_cyrus_master_for_update_only_after_the_login() {
    let mut follower = Follower::new(MailboxTable::default(), None, credentials(), Vec::new());
    follower.connect();
    let mut updates = Vec::new();
    let used = follower
        .receive(CYRUS_BANNER.as_bytes(), &mut updates)
        .unwrap();
    assert_eq!(used, CYRUS_BANNER.len());
    assert_eq!(
        String::from_utf8(follower.take_output()).unwrap(),
        "A01 AUTHENTICATE \"PLAIN\" {12+}\r\nAGZlAHB3Zg==\r\n"
    );
    let ok = "A01 OK \"Authenticated\"\r\n";
    assert_eq!(
        follower.receive(ok.as_bytes(), &mut updates).unwrap(),
        ok.len()
    );
    assert_eq!(
        String::from_utf8(follower.take_output()).unwrap(),
        "U01 UPDATE\r\n"
    );

    // A corvid master gets XRESUME pipelined behind the login.
    let mut follower = Follower::new(MailboxTable::default(), None, credentials(), Vec::new());
    follower.connect();
    follower
        .receive(CORVID_BANNER.as_bytes(), &mut updates)
        .unwrap();
    let sent = String::from_utf8(follower.take_output()).unwrap();
    assert!(sent.ends_with("U01 XRESUME \"none\"\r\n"), "{sent:?}");
}

#[test]
fn resumes_from_a_corvid_master() {
    // First connection: no position yet, so a dump, which reports a position.
    let mut follower = Follower::new(MailboxTable::default(), None, credentials(), Vec::new());
    follower.connect();
    let first = [
        CORVID_BANNER.to_string(),
        "A01 OK \"Authenticated\"\r\n* OK \"dump\"\r\n".into(),
        mailbox("U01", "user.a", "be1!p", ""),
        mailbox("U01", "user.b", "be1!p", ""),
        "* OK \"position 00000000000000aa-6\"\r\nU01 OK \"streaming starts\"\r\n".into(),
        "U01 DELETE {6+}\r\nuser.a\r\n* OK \"position 00000000000000aa-7\"\r\n".into(),
    ]
    .concat();
    feed(&mut follower, &first, first.len());
    assert!(
        String::from_utf8(follower.take_output())
            .unwrap()
            .ends_with("U01 XRESUME \"none\"\r\n")
    );
    let position = Position {
        epoch: 0xaa,
        seq: 7,
    };
    assert_eq!(follower.position(), Some(position));
    assert_eq!(names(follower.table()), ["user.b"]);

    // Reconnecting: XRESUME at the position, and a delta applied in place.
    follower.connect();
    let second = [
        CORVID_BANNER.to_string(),
        "A01 OK \"Authenticated\"\r\n* OK \"delta\"\r\n".into(),
        mailbox("U01", "user.c", "be2!p", ""),
        "* OK \"position 00000000000000aa-9\"\r\nU01 OK \"streaming starts\"\r\n".into(),
    ]
    .concat();
    for split in 0..=second.len() {
        let mut copy = Follower::new(
            follower.table().clone(),
            follower.position(),
            credentials(),
            Vec::new(),
        );
        copy.connect();
        let updates = feed(&mut copy, &second, split);
        let sent = String::from_utf8(copy.take_output()).unwrap();
        assert!(
            sent.ends_with("U01 XRESUME \"00000000000000aa-7\"\r\n"),
            "{sent}"
        );
        assert_eq!(names(copy.table()), ["user.b", "user.c"]);
        assert_eq!(updates.len(), 1);
        assert_eq!(
            copy.stats(),
            SyncStats {
                dump: false,
                records: 1
            }
        );
        assert_eq!(
            copy.position(),
            Some(Position {
                epoch: 0xaa,
                seq: 9
            })
        );
    }

    // A master that cannot give a delta sends a dump: the copy is replaced.
    follower.connect();
    let third = [
        CORVID_BANNER.to_string(),
        "A01 OK \"Authenticated\"\r\n* OK \"dump\"\r\n".into(),
        mailbox("U01", "user.z", "be3!p", ""),
        "* OK \"position 00000000000000bb-1\"\r\nU01 OK \"streaming starts\"\r\n".into(),
    ]
    .concat();
    let updates = feed(&mut follower, &third, 0);
    assert_eq!(updates, [Update::Replaced]);
    assert_eq!(names(follower.table()), ["user.z"]);
    assert_eq!(follower.table().seq(), 1);
}

#[test]
fn failures_end_the_connection() {
    let refused = [CYRUS_BANNER, "A01 NO \"authentication failure\"\r\n"].concat();
    let mut follower = Follower::new(MailboxTable::default(), None, credentials(), Vec::new());
    follower.connect();
    let mut updates = Vec::new();
    assert!(matches!(
        follower.receive(refused.as_bytes(), &mut updates),
        Err(SyncError::LoginRefused(text)) if text == "authentication failure"
    ));
    follower.connect();
    assert!(matches!(
        follower.receive(b"* BYE \"Server Unable\"\r\n", &mut updates),
        Err(SyncError::Protocol(DecodeError::Refused(_)))
    ));
    follower.connect();
    let streaming = [
        CYRUS_BANNER,
        "A01 OK \"x\"\r\nU01 OK \"streaming starts\"\r\n",
    ]
    .concat();
    follower
        .receive(streaming.as_bytes(), &mut updates)
        .unwrap();
    // Keepalive: a NOOP, answered; then one left unanswered is a timeout.
    follower.take_output();
    follower.keepalive().unwrap();
    assert_eq!(follower.take_output(), b"N1 NOOP\r\n");
    follower
        .receive(b"N1 OK \"Noop done\"\r\n", &mut updates)
        .unwrap();
    follower.keepalive().unwrap();
    assert!(matches!(follower.keepalive(), Err(SyncError::Timeout)));
    assert!(matches!(
        follower.receive(b"X9 NO \"what\"\r\n", &mut updates),
        Err(SyncError::Unexpected(_))
    ));
    assert!(matches!(
        follower.receive(
            b"* BYE \"too far behind the update stream\"\r\n",
            &mut updates
        ),
        Err(SyncError::Bye(_))
    ));
    assert!(matches!(
        follower.receive(b"\x00\x01garbage\r\n", &mut updates),
        Err(SyncError::Protocol(_))
    ));
}

#[test]
fn a_stalled_sync_times_out() {
    let mut follower = Follower::new(MailboxTable::default(), None, credentials(), Vec::new());
    follower.connect();
    let mut updates = Vec::new();
    // A banner, then nothing: two quiet intervals are allowed, the third fails.
    follower
        .receive(CYRUS_BANNER.as_bytes(), &mut updates)
        .unwrap();
    follower.keepalive().unwrap();
    follower.keepalive().unwrap();
    // Bytes reset the count.
    follower.receive(b"A01 OK \"x\"\r\n", &mut updates).unwrap();
    follower.keepalive().unwrap();
    follower.keepalive().unwrap();
    assert!(matches!(follower.keepalive(), Err(SyncError::Timeout)));
}
