//! The table against a model (an ordered map) under random changes and rebuilds.

use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const NAMES: &[&str] = &[
    "user.alice",
    "user.alice.Sent",
    "user.alice.Sent.x",
    "user.alice.Sent-Items",
    "user.alice-x",
    "user.alicex",
    "user.bob",
    "user.bob.Trash",
    "shared.lists",
    "shared",
    "example.com!user.alice",
    "DELETED.user.alice.Trash.65E33B49",
];
const ACLS: &[&str] = &[
    "",
    "alice\tlrswipkxtecdan\t",
    "alice\tlrs\tbob\tlr\t",
    "anyone\tp\t",
    "-bob\tl\t",
];

type Model = BTreeMap<DbName, (Vec<u8>, Vec<u8>, State)>;

#[derive(Debug, Clone)]
enum Op {
    Upsert(usize, u8, usize, bool),
    Delete(usize),
    Rebuild,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..NAMES.len(), 0u8..3, 0..ACLS.len(), any::<bool>())
            .prop_map(|(n, l, a, active)| Op::Upsert(n, l, a, active)),
        3 => (0..NAMES.len()).prop_map(Op::Delete),
        1 => Just(Op::Rebuild),
    ]
}

fn change(op: &Op) -> Option<Change> {
    match *op {
        Op::Upsert(n, l, a, active) => Some(Change::Upsert {
            name: NAMES[n].as_bytes().into(),
            location: format!("be{l}!default").into_bytes().into(),
            acl: ACLS[a].as_bytes().into(),
            state: if active {
                State::Active
            } else {
                State::Reserved
            },
        }),
        Op::Delete(n) => Some(Change::Delete {
            name: NAMES[n].as_bytes().into(),
        }),
        Op::Rebuild => None,
    }
}

fn apply_model(model: &mut Model, change: &Change) {
    match change {
        Change::Upsert {
            name,
            location,
            acl,
            state,
        } => {
            model.insert(
                DbName::new(name.clone()),
                (location.to_vec(), acl.to_vec(), *state),
            );
        }
        Change::Delete { name } => {
            model.remove(&DbName::new(name.clone()));
        }
    }
}

fn check(table: &MailboxTable, model: &Model) {
    assert_eq!(table.len(), model.len());
    let listed: Vec<_> = table
        .iter()
        .map(|e| {
            (
                e.name.to_vec(),
                e.location.to_vec(),
                e.acl.to_vec(),
                e.state,
            )
        })
        .collect();
    let expected: Vec<_> = model
        .iter()
        .map(|(k, (l, a, s))| (k.as_bytes().to_vec(), l.clone(), a.clone(), *s))
        .collect();
    assert_eq!(listed, expected);
    for name in NAMES {
        let got = table
            .get(name.as_bytes())
            .map(|e| (e.location.to_vec(), e.acl.to_vec(), e.state));
        assert_eq!(got.as_ref(), model.get(&DbName::from(*name)), "{name}");
    }
    let tree: Vec<_> = table
        .subtree(b"user.alice")
        .map(|e| e.name.to_vec())
        .collect();
    let expected_tree: Vec<_> = model
        .keys()
        .filter(|k| in_subtree(k.as_bytes(), b"user.alice"))
        .map(|k| k.as_bytes().to_vec())
        .collect();
    assert_eq!(tree, expected_tree);
    let mut shared: Vec<_> = table.shared().map(|e| e.name.to_vec()).collect();
    shared.sort();
    let mut expected_shared: Vec<_> = model
        .iter()
        .filter(|(k, (_, a, _))| is_shared(k.as_bytes(), a))
        .map(|(k, _)| k.as_bytes().to_vec())
        .collect();
    expected_shared.sort();
    assert_eq!(shared, expected_shared);
}

proptest! {
    #[test]
    fn table_matches_its_model(ops in proptest::collection::vec(op(), 0..60)) {
        let mut table = MailboxTable::default();
        let mut model = Model::new();
        for (seq, op) in ops.iter().enumerate() {
            match change(op) {
                Some(change) => {
                    apply_model(&mut model, &change);
                    table.apply(seq as u64 + 1, change);
                }
                None => {
                    let base = table.rebuild().unwrap();
                    base.verify().unwrap();
                    table = MailboxTable::new(Arc::new(base));
                }
            }
            check(&table, &model);
        }
    }
}

#[test]
fn shared_means_granted_to_someone_else() {
    assert!(!is_shared(b"user.alice", b"alice\tlrswipkxtecdan\t"));
    assert!(is_shared(b"user.alice", b"alice\tlrs\tbob\tlr\t"));
    assert!(is_shared(b"user.alice", b"anyone\tp\t"));
    assert!(!is_shared(b"user.alice", b"-bob\tl\t"));
    assert!(is_shared(b"shared.lists", b"alice\tlrs\t"));
    assert!(!is_shared(
        b"example.com!user.alice",
        b"alice@example.com\tlrs\t"
    ));
    assert!(is_shared(b"user.alice", b"not an acl"));
}

#[test]
fn after_resumes_a_scan() {
    let mut table = MailboxTable::default();
    for (seq, name) in NAMES.iter().enumerate() {
        table.apply(
            seq as u64,
            Change::Upsert {
                name: name.as_bytes().into(),
                location: b"be1!default".as_slice().into(),
                acl: Box::default(),
                state: State::Active,
            },
        );
    }
    let all: Vec<_> = table.iter().map(|e| e.name).collect();
    for (i, name) in all.iter().enumerate() {
        let rest: Vec<_> = table.after(name).map(|e| e.name).collect();
        assert_eq!(rest, all[i + 1..]);
    }
}

#[test]
fn server_is_the_part_before_the_bang() {
    assert_eq!(server_of(b"be1!default"), b"be1");
    assert_eq!(server_of(b"127.0.0.1:2143!"), b"127.0.0.1:2143");
    assert_eq!(server_of(b"default"), b"default");
}

#[test]
fn lookups_and_counts_through_the_overlay() {
    let base = Base::build(
        [EntryRef {
            name: b"user.alice",
            location: b"be1!",
            acl: b"alice\tlrs\t",
            state: State::Active,
        }]
        .into_iter(),
        1,
    )
    .unwrap();
    let mut table = MailboxTable::new(Arc::new(base));
    let upsert = |name: &str| Change::Upsert {
        name: name.as_bytes().into(),
        location: b"be2!".as_slice().into(),
        acl: Box::default(),
        state: State::Reserved,
    };
    let delete = |name: &str| Change::Delete {
        name: name.as_bytes().into(),
    };
    table.apply(2, upsert("user.alice"));
    table.apply(3, upsert("user.bob"));
    assert_eq!((table.len(), table.overlay_len()), (2, 2));
    assert_eq!(table.get(b"user.alice").unwrap().location, b"be2!");
    table.apply(4, delete("user.alice"));
    table.apply(5, delete("user.alice"));
    assert_eq!((table.len(), table.overlay_len()), (1, 2));
    assert_eq!(table.get(b"user.alice"), None);
    table.apply(6, delete("user.bob"));
    assert_eq!((table.len(), table.overlay_len()), (0, 1));
    table.apply(7, upsert("user.alice"));
    assert_eq!(table.len(), 1);
    assert!(table.get(b"user.alice").is_some());
    assert_eq!(table.get(b"user.carol"), None);
}
