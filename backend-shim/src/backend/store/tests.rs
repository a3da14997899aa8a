//! The store against a real directory: every method, restarts, torn tails and damage.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use corvid_proto::imap::request::{Date, DateTime, StoreMode};

use super::*;

fn date(day: u8) -> DateTime {
    DateTime {
        date: Date {
            year: 2026,
            month: 7,
            day,
        },
        hour: 2,
        minute: 44,
        second: 25,
        zone_minutes: -420,
    }
}

fn names<'s>(mailboxes: impl Iterator<Item = &'s Mailbox>) -> Vec<String> {
    mailboxes.map(|m| m.name.clone()).collect()
}

fn uids(mailbox: &Mailbox) -> Vec<u32> {
    mailbox.messages.iter().map(|m| m.uid).collect()
}

fn add(flags: SystemFlags, keywords: &'static [&'static [u8]]) -> FlagChange<'static> {
    FlagChange {
        mode: StoreMode::Add,
        flags,
        keywords,
    }
}

/// The one mailbox log in `dir` (the store must hold exactly one mailbox).
fn only_log(dir: &Path) -> std::path::PathBuf {
    let mut logs: Vec<_> = fs::read_dir(dir.join("mailboxes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs.pop().unwrap()
}

fn log_count(dir: &Path) -> usize {
    fs::read_dir(dir.join("mailboxes")).unwrap().count()
}

#[test]
fn mailboxes_iterate_in_dbname_order_and_subtrees_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    for name in [
        "user.johnny",
        "user.john-x",
        "user.john.Sent",
        "user.john",
        "user.john.Sent.2026",
        "lists",
        "lists!user.bob",
        "example.com!user.john",
    ] {
        store.create(name, b"anyone\tlrs\t").unwrap();
    }
    let all = names(store.mailboxes());
    let mut sorted = all.clone();
    sorted.sort_by(|a, b| corvid_proto::mailbox::dbname_cmp(a.as_bytes(), b.as_bytes()));
    assert_eq!(all, sorted);
    assert_eq!(
        names(store.subtree("user.john")),
        ["user.john", "user.john.Sent", "user.john.Sent.2026"]
    );
    assert_eq!(names(store.subtree("lists")), ["lists"]);
    assert_eq!(
        names(store.subtree("example.com!user.john")),
        ["example.com!user.john"]
    );
    assert_eq!(names(store.subtree("user.nobody")), Vec::<String>::new());
    let mailbox = store.mailbox("user.john").unwrap();
    assert_eq!(mailbox.acl, b"anyone\tlrs\t");
    assert_eq!((mailbox.uid_next, mailbox.recent_from), (1, 1));
    assert!(mailbox.uid_validity > 0);
    assert!(store.mailbox("user.jane").is_none());
}

#[test]
fn create_and_delete_refuse_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    assert!(matches!(
        store.create("user.john", b""),
        Err(StoreError::Exists(name)) if name == "user.john"
    ));
    assert!(matches!(
        store.delete("user.jane"),
        Err(StoreError::NoMailbox(_))
    ));
    assert!(matches!(
        store.append("user.jane", SystemFlags::NONE, &[], date(1), b"x"),
        Err(StoreError::NoMailbox(_))
    ));
    assert!(matches!(
        store.set_acl("user.jane", b""),
        Err(StoreError::NoMailbox(_))
    ));
    assert!(matches!(
        store.append(
            "user.john",
            SystemFlags::NONE,
            &[],
            date(1),
            &vec![b'x'; MAX_MESSAGE + 1]
        ),
        Err(StoreError::Refused(_))
    ));
    assert_eq!(log_count(dir.path()), 1);
}

#[test]
fn everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (validity, version) = {
        let mut store = Store::open(dir.path()).unwrap();
        store.create("user.john", b"john\tlrswipkxtecda\t").unwrap();
        store.create("user.john.Sent", b"").unwrap();
        let v0 = store.version();
        let first = store
            .append(
                "user.john",
                SystemFlags::SEEN,
                &[b"$Label1"],
                date(1),
                b"Subject: one\r\n\r\nbody\r\n",
            )
            .unwrap();
        let second = store
            .append("user.john", SystemFlags::NONE, &[], date(2), b"two\r\n")
            .unwrap();
        assert_eq!((first, second), (1, 2));
        assert!(store.version() > v0);
        store
            .update_flags("user.john", &[2], add(SystemFlags::FLAGGED, &[b"Work"]))
            .unwrap();
        store.set_acl("user.john.Sent", b"jane\tlr\t").unwrap();
        store.subscribe("john", "user.john.Sent").unwrap();
        store.subscribe("john", "user.john").unwrap();
        assert_eq!(store.claim_recent("user.john").unwrap(), 1);
        let mailbox = store.mailbox("user.john").unwrap();
        (mailbox.uid_validity, store.version())
    };
    assert!(version > 0);
    let store = Store::open(dir.path()).unwrap();
    let mailbox = store.mailbox("user.john").unwrap();
    assert_eq!(mailbox.uid_validity, validity);
    assert_eq!(mailbox.acl, b"john\tlrswipkxtecda\t");
    assert_eq!((mailbox.uid_next, mailbox.recent_from), (3, 3));
    assert_eq!(mailbox.highest_modseq, 3);
    assert_eq!(uids(mailbox), [1, 2]);
    let [one, two] = &mailbox.messages[..] else {
        panic!("two messages")
    };
    assert_eq!(&*one.bytes, b"Subject: one\r\n\r\nbody\r\n");
    assert_eq!(one.flags, SystemFlags::SEEN);
    assert_eq!(one.keywords, [Box::from(&b"$Label1"[..])]);
    assert_eq!(one.internal_date, date(1));
    assert_eq!(one.modseq, 1);
    assert_eq!(&*two.bytes, b"two\r\n");
    assert_eq!(two.flags, SystemFlags::FLAGGED);
    assert_eq!(two.keywords, [Box::from(&b"Work"[..])]);
    assert_eq!(two.modseq, 3);
    assert_eq!(mailbox.keywords.len(), 2);
    assert_eq!(store.mailbox("user.john.Sent").unwrap().acl, b"jane\tlr\t");
    assert_eq!(
        store.subscriptions("john"),
        ["user.john".to_owned(), "user.john.Sent".to_owned()]
    );
    assert!(store.subscriptions("jane").is_empty());
}

#[test]
fn flag_changes_replace_add_and_remove_keywords_ignoring_case() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("shared", b"").unwrap();
    for day in 1..=3 {
        store
            .append("shared", SystemFlags::NONE, &[], date(day), b"m\r\n")
            .unwrap();
    }
    let changed = store
        .update_flags(
            "shared",
            &[3, 1, 99, 1],
            add(SystemFlags::SEEN | SystemFlags::DELETED, &[b"Urgent"]),
        )
        .unwrap();
    assert_eq!(changed, [1, 3]);
    let version = store.version();
    // The same change again changes nothing, and is not a change of the store.
    let again = store
        .update_flags("shared", &[1, 3], add(SystemFlags::SEEN, &[b"URGENT"]))
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(store.version(), version);
    // A keyword keeps the case it was first set with.
    store
        .update_flags(
            "shared",
            &[2],
            add(SystemFlags::NONE, &[b"urgent", b"b", b"A"]),
        )
        .unwrap();
    let mailbox = store.mailbox("shared").unwrap();
    let spelled: Vec<&[u8]> = mailbox.messages[1].keywords.iter().map(|k| &**k).collect();
    assert_eq!(spelled, [&b"A"[..], b"b", b"Urgent"]);
    let removed = store
        .update_flags(
            "shared",
            &[1, 2, 3],
            FlagChange {
                mode: StoreMode::Remove,
                flags: SystemFlags::DELETED,
                keywords: &[b"uRGENT"],
            },
        )
        .unwrap();
    assert_eq!(removed, [1, 2, 3]);
    let replaced = store
        .update_flags(
            "shared",
            &[1, 2],
            FlagChange {
                mode: StoreMode::Replace,
                flags: SystemFlags::ANSWERED,
                keywords: &[],
            },
        )
        .unwrap();
    assert_eq!(replaced, [1, 2]);
    let check = |store: &Store| {
        let mailbox = store.mailbox("shared").unwrap();
        let state: Vec<(SystemFlags, usize)> = mailbox
            .messages
            .iter()
            .map(|m| (m.flags, m.keywords.len()))
            .collect();
        assert_eq!(
            state,
            [
                (SystemFlags::ANSWERED, 0),
                (SystemFlags::ANSWERED, 0),
                (SystemFlags::SEEN, 0)
            ]
        );
        let modseqs: Vec<u64> = mailbox.messages.iter().map(|m| m.modseq).collect();
        assert_eq!(modseqs, [7, 7, 6]);
        assert_eq!(mailbox.highest_modseq, 7);
        assert_eq!(mailbox.keywords.len(), 3);
    };
    check(&store);
    drop(store);
    check(&Store::open(dir.path()).unwrap());
}

#[test]
fn expunge_removes_and_uid_next_stays_after_restart_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    let big = vec![b'x'; 300 << 10];
    for day in 1..=10 {
        store
            .append("user.john", SystemFlags::NONE, &[b"k"], date(day), &big)
            .unwrap();
    }
    let log = only_log(dir.path());
    let before = fs::metadata(&log).unwrap().len();
    store
        .expunge("user.john", &[1, 2, 3, 4, 5, 6, 7, 8, 10, 42])
        .unwrap();
    assert_eq!(uids(store.mailbox("user.john").unwrap()), [9]);
    // Nine tenths of the log were dead: it was rewritten from the live state.
    let after = fs::metadata(&log).unwrap().len();
    assert!(after < before / 5, "{before} -> {after}");
    // Expunging what is not there changes nothing.
    let version = store.version();
    store.expunge("user.john", &[1, 2]).unwrap();
    assert_eq!(store.version(), version);
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    let mailbox = store.mailbox("user.john").unwrap();
    assert_eq!(uids(mailbox), [9]);
    assert_eq!(mailbox.uid_next, 11);
    assert_eq!(mailbox.highest_modseq, 11);
    assert_eq!(mailbox.keywords, [Box::from(&b"k"[..])]);
    assert_eq!(mailbox.messages[0].internal_date, date(9));
    let uid = store
        .append("user.john", SystemFlags::NONE, &[], date(1), b"new\r\n")
        .unwrap();
    assert_eq!(uid, 11);
}

#[test]
fn copy_keeps_flags_and_dates_and_takes_fresh_uids() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    store.create("user.john.Archive", b"").unwrap();
    store
        .append(
            "user.john.Archive",
            SystemFlags::NONE,
            &[],
            date(9),
            b"old\r\n",
        )
        .unwrap();
    for day in 1..=3 {
        store
            .append(
                "user.john",
                SystemFlags::SEEN,
                &[b"$Forwarded"],
                date(day),
                format!("m{day}\r\n").as_bytes(),
            )
            .unwrap();
    }
    store.expunge("user.john", &[2]).unwrap();
    let new = store
        .copy("user.john", &[1, 2, 3], "user.john.Archive")
        .unwrap();
    assert_eq!(new, [2, 3]);
    assert!(matches!(
        store.copy("user.john", &[1], "user.nobody"),
        Err(StoreError::NoMailbox(_))
    ));
    let check = |store: &Store| {
        let archive = store.mailbox("user.john.Archive").unwrap();
        assert_eq!(uids(archive), [1, 2, 3]);
        for (copy, day) in archive.messages[1..].iter().zip([1, 3]) {
            assert_eq!(copy.flags, SystemFlags::SEEN);
            assert_eq!(copy.keywords, [Box::from(&b"$Forwarded"[..])]);
            assert_eq!(copy.internal_date, date(day));
            assert_eq!(&*copy.bytes, format!("m{day}\r\n").as_bytes());
        }
        assert_eq!(uids(store.mailbox("user.john").unwrap()), [1, 3]);
    };
    check(&store);
    drop(store);
    check(&Store::open(dir.path()).unwrap());
}

#[test]
fn recent_is_claimed_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    assert_eq!(store.claim_recent("user.john").unwrap(), 1);
    store
        .append("user.john", SystemFlags::NONE, &[], date(1), b"a\r\n")
        .unwrap();
    store
        .append("user.john", SystemFlags::NONE, &[], date(1), b"b\r\n")
        .unwrap();
    assert_eq!(store.claim_recent("user.john").unwrap(), 1);
    assert_eq!(store.claim_recent("user.john").unwrap(), 3);
    assert!(matches!(
        store.claim_recent("user.nobody"),
        Err(StoreError::NoMailbox(_))
    ));
}

#[test]
fn subscriptions_are_per_user_and_need_no_mailbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.subscribe("john", "user.john.b").unwrap();
    store.subscribe("john", "user.john.a").unwrap();
    store.subscribe("john", "user.john.a").unwrap();
    store.subscribe("jane", "user.jane").unwrap();
    assert_eq!(store.subscriptions("john"), ["user.john.a", "user.john.b"]);
    store.unsubscribe("john", "user.john.b").unwrap();
    store.unsubscribe("john", "never").unwrap();
    store.unsubscribe("nobody", "never").unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.subscriptions("john"), ["user.john.a"]);
    assert_eq!(store.subscriptions("jane"), ["user.jane"]);
}

#[test]
fn rename_moves_a_subtree_and_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    for name in [
        "lists",
        "lists.rust",
        "lists.rust.announce",
        "lists-x",
        "other",
    ] {
        store.create(name, b"anyone\tlr\t").unwrap();
    }
    store
        .append("lists.rust", SystemFlags::SEEN, &[], date(1), b"hi\r\n")
        .unwrap();
    let validity = store.mailbox("lists.rust").unwrap().uid_validity;
    assert!(matches!(
        store.rename("lists", "other"),
        Err(StoreError::Exists(_))
    ));
    assert!(matches!(
        store.rename("nothing", "else"),
        Err(StoreError::NoMailbox(_))
    ));
    assert!(matches!(
        store.rename("lists", "lists.rust.old"),
        Err(StoreError::Refused(_))
    ));
    let renamed = store.rename("lists", "groups").unwrap();
    assert_eq!(
        renamed,
        [
            ("lists".to_owned(), "groups".to_owned()),
            ("lists.rust".to_owned(), "groups.rust".to_owned()),
            (
                "lists.rust.announce".to_owned(),
                "groups.rust.announce".to_owned()
            ),
        ]
    );
    let check = |store: &Store| {
        assert_eq!(
            names(store.mailboxes()),
            [
                "groups",
                "groups.rust",
                "groups.rust.announce",
                "lists-x",
                "other"
            ]
        );
        let rust = store.mailbox("groups.rust").unwrap();
        assert_eq!(rust.uid_validity, validity);
        assert_eq!(rust.messages.len(), 1);
    };
    check(&store);
    drop(store);
    let mut store = Store::open(dir.path()).unwrap();
    check(&store);
    // A child may move up over its parent's name once that is free.
    store.delete("groups").unwrap();
    store.rename("groups.rust", "groups").unwrap();
    assert_eq!(
        names(store.mailboxes()),
        ["groups", "groups.announce", "lists-x", "other"]
    );
}

#[test]
fn renaming_an_inbox_moves_its_messages_and_leaves_it_empty() {
    for (inbox, child, to) in [
        ("user.john", "user.john.Sent", "user.john.Old"),
        (
            "example.com!user.john",
            "example.com!user.john.Sent",
            "example.com!user.john.Old",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.create(inbox, b"john\tlrswipkxtecda\t").unwrap();
        store.create(child, b"").unwrap();
        store
            .append(inbox, SystemFlags::SEEN, &[], date(1), b"a\r\n")
            .unwrap();
        let validity = store.mailbox(inbox).unwrap().uid_validity;
        let renamed = store.rename(inbox, to).unwrap();
        assert_eq!(renamed, [(inbox.to_owned(), to.to_owned())]);
        let check = |store: &Store| {
            let moved = store.mailbox(to).unwrap();
            assert_eq!(moved.uid_validity, validity);
            assert_eq!(uids(moved), [1]);
            assert_eq!(moved.acl, b"john\tlrswipkxtecda\t");
            let new_inbox = store.mailbox(inbox).unwrap();
            assert!(new_inbox.messages.is_empty());
            assert_ne!(new_inbox.uid_validity, validity);
            assert_eq!(new_inbox.acl, b"john\tlrswipkxtecda\t");
            assert!(store.mailbox(child).is_some());
            assert_eq!(store.subtree(inbox).count(), 3);
        };
        check(&store);
        drop(store);
        let mut store = Store::open(dir.path()).unwrap();
        check(&store);
        assert_eq!(log_count(dir.path()), 3);
        assert!(matches!(
            store.rename(inbox, child),
            Err(StoreError::Exists(_))
        ));
    }
}

#[test]
fn delete_keeps_children_and_a_new_mailbox_of_the_name_gets_a_new_uidvalidity() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    store.create("user.john.Sent", b"").unwrap();
    store
        .append("user.john", SystemFlags::NONE, &[], date(1), b"a\r\n")
        .unwrap();
    let first = store.mailbox("user.john").unwrap().uid_validity;
    store.delete("user.john").unwrap();
    assert!(store.mailbox("user.john").is_none());
    assert!(store.mailbox("user.john.Sent").is_some());
    assert_eq!(log_count(dir.path()), 1);
    let second = store.create("user.john", b"").unwrap().uid_validity;
    assert_ne!(first, second);
    assert!(store.mailbox("user.john").unwrap().messages.is_empty());
    store.delete("user.john").unwrap();
    drop(store);
    // Also across a restart, and after the catalogue was compacted at open.
    let mut store = Store::open(dir.path()).unwrap();
    let third = store.create("user.john", b"").unwrap().uid_validity;
    assert!(third != first && third != second);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.mailbox("user.john").unwrap().uid_validity, third);
}

/// Appends bytes to a file, as a crash in the middle of a write may leave them.
fn append_to(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

#[test]
fn a_torn_tail_is_dropped_and_the_answered_records_stay() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    for day in 1..=3 {
        store
            .append("user.john", SystemFlags::NONE, &[], date(day), b"kept\r\n")
            .unwrap();
    }
    let log = only_log(dir.path());
    let answered = fs::metadata(&log).unwrap().len();
    store
        .append("user.john", SystemFlags::NONE, &[], date(4), &[b'y'; 4000])
        .unwrap();
    drop(store);
    // The last append was cut in the middle, and garbage follows it.
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(answered + 2000)
        .unwrap();
    append_to(&log, b"\xff\x00garbage\x13\x37");
    // The catalogue too: half a record, then zeros.
    let catalogue = dir.path().join("catalogue.log");
    let mut half = Vec::new();
    catalogue::Record::Delete {
        name: "user.john".into(),
    }
    .encode(&mut half);
    half.truncate(half.len() / 2);
    half.extend_from_slice(&[0; 64]);
    append_to(&catalogue, &half);

    let mut store = Store::open(dir.path()).unwrap();
    let mailbox = store.mailbox("user.john").unwrap();
    assert_eq!(uids(mailbox), [1, 2, 3]);
    assert!(mailbox.messages.iter().all(|m| &*m.bytes == b"kept\r\n"));
    assert_eq!(fs::metadata(&log).unwrap().len(), answered);
    // Appending goes on after the cut, and survives the next restart.
    assert_eq!(
        store
            .append("user.john", SystemFlags::NONE, &[], date(5), b"after\r\n")
            .unwrap(),
        4
    );
    store.create("user.jane", b"").unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(uids(store.mailbox("user.john").unwrap()), [1, 2, 3, 4]);
    assert!(store.mailbox("user.jane").is_some());
}

#[test]
fn records_that_do_not_follow_are_damage() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    let mut record = Vec::new();
    catalogue::Record::Delete {
        name: "user.nobody".into(),
    }
    .encode(&mut record);
    append_to(&dir.path().join("catalogue.log"), &record);
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Damaged { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    store
        .append("user.john", SystemFlags::NONE, &[], date(1), b"a\r\n")
        .unwrap();
    drop(store);
    let mut record = Vec::new();
    mailbox::Record::Append(Message {
        uid: 1,
        flags: SystemFlags::NONE,
        keywords: Vec::new(),
        internal_date: date(1),
        modseq: 9,
        bytes: Arc::from(&b"again"[..]),
    })
    .encode(&mut record);
    append_to(&only_log(dir.path()), &record);
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Damaged { .. })
    ));
    fs::remove_file(only_log(dir.path())).unwrap();
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Damaged { .. })
    ));
}

#[test]
fn records_round_trip_and_every_cut_is_refused() {
    let records = [
        mailbox::Record::State {
            uid_next: 7,
            highest_modseq: 9,
            recent_from: 5,
            keywords: vec![Box::from(&b"a"[..])],
        },
        mailbox::Record::Append(Message {
            uid: 7,
            flags: SystemFlags::DRAFT,
            keywords: vec![Box::from(&b"k"[..])],
            internal_date: date(3),
            modseq: 10,
            bytes: Arc::from(&b"msg"[..]),
        }),
        mailbox::Record::Flags {
            modseq: 11,
            mode: StoreMode::Remove,
            flags: SystemFlags::SEEN,
            keywords: vec![Box::from(&b"k"[..])],
            uids: vec![7],
        },
        mailbox::Record::Expunge {
            modseq: 12,
            uids: vec![7],
        },
        mailbox::Record::Recent { from: 8 },
    ];
    for record in &records {
        let mut framed = Vec::new();
        record.encode(&mut framed);
        let payload = &framed[8..];
        let decoded = mailbox::Record::decode(payload).unwrap();
        assert_eq!(format!("{decoded:?}"), format!("{record:?}"));
        for cut in 0..payload.len() {
            assert!(mailbox::Record::decode(&payload[..cut]).is_none());
        }
        let mut longer = payload.to_vec();
        longer.push(0);
        assert!(mailbox::Record::decode(&longer).is_none());
    }
    // Counts larger than the record are refused before anything is allocated.
    let mut huge = vec![3u8];
    huge.extend_from_slice(&1u64.to_le_bytes());
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(mailbox::Record::decode(&huge).is_none());
    let catalogue_records = [
        catalogue::Record::Counters {
            next_id: 3,
            next_uid_validity: 1_700_000_000,
        },
        catalogue::Record::Create {
            name: "user.john".into(),
            id: 3,
            uid_validity: 1_700_000_000,
            acl: b"john\tlrs\t".to_vec(),
        },
        catalogue::Record::Delete { name: "a".into() },
        catalogue::Record::Rename {
            from: "a".into(),
            to: "b".into(),
        },
        catalogue::Record::RenameInbox {
            from: "user.a".into(),
            to: "user.a.old".into(),
            id: 4,
            uid_validity: 5,
        },
        catalogue::Record::SetAcl {
            name: "a".into(),
            acl: Vec::new(),
        },
        catalogue::Record::Subscribe {
            user: "john".into(),
            name: "a".into(),
        },
        catalogue::Record::Unsubscribe {
            user: "john".into(),
            name: "a".into(),
        },
    ];
    for record in &catalogue_records {
        let mut framed = Vec::new();
        record.encode(&mut framed);
        assert_eq!(
            catalogue::Record::decode(&framed[8..]).as_ref(),
            Some(record)
        );
    }
}

#[test]
fn stray_files_are_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path()).unwrap();
    store.create("user.john", b"").unwrap();
    drop(store);
    let mailboxes = dir.path().join("mailboxes");
    fs::write(
        mailboxes.join("00000000000000ff.log"),
        b"an interrupted create",
    )
    .unwrap();
    fs::write(
        mailboxes.join("0000000000000001.tmp"),
        b"an interrupted compaction",
    )
    .unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.mailbox("user.john").is_some());
    assert_eq!(log_count(dir.path()), 1);
}
