//! Mailbox names through the public API: the namespace examples, round-trip properties, the
//! dbname order, and a replay of the `fuzz_mailbox_names` seed corpus.

use corvid_proto::fuzzing::mailbox::fuzz_mailbox_names;
use corvid_proto::mailbox::{
    DbName, NameError, Namespace, NamespaceConfig, User, dbname_cmp, is_inbox, is_shared_folder,
    mutf7, owner_of, subtree_range,
};
use proptest::prelude::*;

fn default_ns() -> Namespace {
    Namespace::default()
}

fn vd_ns() -> Namespace {
    Namespace::new(NamespaceConfig {
        virtual_domains: true,
        ..NamespaceConfig::default()
    })
    .expect("valid config")
}

#[test]
fn examples_of_the_task() {
    let ns = default_ns();
    let john = ns.user("john").unwrap();
    let to_int = |e: &str| ns.to_internal(&john, e.as_bytes());
    let to_ext = |i: &str| ns.to_external(&john, i.as_bytes());
    for (external, internal) in [
        ("INBOX", "user.john"),
        ("Sent", "user.john.Sent"),
        ("INBOX/my.folder", "user.john.my^folder"),
        ("Other Users/jane/Trash", "user.jane.Trash"),
        ("Other Users/jane", "user.jane"),
        ("Shared Folders/lists", "lists"),
        ("Shared Folders/lists/rust", "lists.rust"),
    ] {
        assert_eq!(to_int(external).unwrap(), internal);
    }
    assert_eq!(to_int("inbox").unwrap(), "user.john");
    assert_eq!(to_int("INBOX/Sent").unwrap(), "user.john.Sent");
    assert_eq!(to_ext("user.john.Sent").unwrap(), "Sent");
    assert_eq!(to_ext("user.john.my^folder").unwrap(), "my.folder");
    assert_eq!(
        to_ext("user.john.Other Users").unwrap(),
        "INBOX/Other Users"
    );
    assert_eq!(
        to_int("INBOX/Other Users").unwrap(),
        "user.john.Other Users"
    );
    assert_eq!(to_int("Shared Folders"), Err(NameError::NamespaceRoot));
    assert_eq!(to_int("Shared Folders/user/jane"), Err(NameError::Reserved));
    assert_eq!(to_ext("lists").unwrap(), "Shared Folders/lists");
    assert_eq!(to_ext("DELETED.lists.65E33B49"), Err(NameError::NotVisible));
    assert_eq!(to_int("a//b"), Err(NameError::EmptyComponent { pos: 2 }));
    assert_eq!(to_int("/a"), Err(NameError::EmptyComponent { pos: 0 }));

    let vd = vd_ns();
    let john = vd.user("john@example.com").unwrap();
    assert_eq!(
        vd.to_internal(&john, b"Sent").unwrap(),
        "example.com!user.john.Sent"
    );
    assert_eq!(
        vd.to_internal(&john, b"Other Users/jane/x").unwrap(),
        "example.com!user.jane.x"
    );
    assert_eq!(
        vd.to_external(&john, b"example.com!user.jane").unwrap(),
        "Other Users/jane"
    );
    assert_eq!(
        vd.to_external(&john, b"other.com!user.jane"),
        Err(NameError::ForeignDomain)
    );
    assert_eq!(
        vd.to_internal(&john, b"Shared Folders/lists").unwrap(),
        "example.com!lists"
    );
    assert_eq!(owner_of(b"example.com!user.john.Sent"), Some(john));
    assert!(is_inbox(b"example.com!user.john"));
    assert!(is_shared_folder(b"example.com!lists"));
}

#[test]
fn dbname_order_and_user_ranges() {
    let names = [
        "user.john",
        "user.john.Sent",
        "user.john.Sent.x",
        "user.john.Sent-Items",
        "user.john-x",
        "user.johnny",
        "example.com!user.john",
        "example.com!user.john.Sent",
    ];
    let map: std::collections::BTreeMap<DbName, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (DbName::from(*n), i))
        .collect();
    let tree: Vec<usize> = map
        .range(subtree_range(b"user.john"))
        .map(|(_, &i)| i)
        .collect();
    assert_eq!(tree, [0, 1, 2, 3]);
    let tree: Vec<usize> = map
        .range(subtree_range(b"example.com!user.john"))
        .map(|(_, &i)| i)
        .collect();
    assert_eq!(tree, [6, 7]);
    assert!(dbname_cmp(b"user.john.Sent.x", b"user.john.Sent-Items").is_lt());
}

/// One name component in UTF-8 from characters that stress the mapping, excluding `excluded`.
fn component(excluded: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => prop::char::range('a', 'c'),
            1 => Just('.'),
            1 => Just('&'),
            1 => Just('^'),
            1 => Just('/'),
            1 => Just('-'),
            1 => Just(' '),
            1 => Just('é'),
            1 => Just('日'),
            1 => Just('😀'),
        ],
        1..6,
    )
    .prop_map(String::from_iter)
    .prop_filter("excluded character", move |s| {
        !s.chars().any(|c| excluded.contains(c))
    })
}

/// A shared folder's first component: ordinary, or a word that means something elsewhere
/// (`user` and `DELETED` are reserved; the others are ordinary here).
fn shared_first() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => component("/^!"),
        1 => prop::sample::select(vec![
            "user", "DELETED", "User", "deleted", "INBOX", "inbox", "Other Users",
            "Shared Folders", "shared",
        ])
        .prop_map(String::from),
    ]
}

/// Whether a shared folder's first component is reserved.
fn reserved(first: &str) -> bool {
    first == "user" || first == "DELETED"
}

fn user(ns: &Namespace, vd: bool) -> User {
    ns.user(if vd {
        "john.doe@example.com"
    } else {
        "john.doe"
    })
    .expect("valid userid")
}

proptest! {
    #[test]
    fn external_round_trips(
        root in 0..4usize,
        owner in "[a-c]{1,3}",
        first in shared_first(),
        comps in proptest::collection::vec(component("/^!"), 0..4),
        vd in any::<bool>(),
    ) {
        let ns = if vd { vd_ns() } else { default_ns() };
        let me = user(&ns, vd);
        let path = comps.iter().map(|c| mutf7::encode(c)).collect::<Vec<_>>().join("/");
        let external = match root {
            0 => format!("INBOX/{path}"),
            1 => format!("Other Users/{owner}/{path}"),
            2 => format!("Shared Folders/{}/{path}", mutf7::encode(&first)),
            _ => path.clone(),
        };
        let external = external.trim_end_matches('/');
        match ns.to_internal(&me, external.as_bytes()) {
            Ok(internal) => {
                let canonical = ns.to_external(&me, internal.as_bytes()).unwrap();
                prop_assert_eq!(&ns.to_internal(&me, canonical.as_bytes()).unwrap(), &internal);
                // Only the `INBOX/` alias of a personal folder is not canonical.
                let expected = match root {
                    0 if path.is_empty() => "INBOX",
                    0 => path.as_str(),
                    _ => external,
                };
                prop_assert_eq!(canonical.as_str(), expected);
            }
            Err(e) => prop_assert!(
                external.is_empty() && e == NameError::EmptyComponent { pos: 0 }
                    || e == NameError::NamespaceRoot
                    || root == 2 && reserved(&first) && e == NameError::Reserved,
                "{external:?}: {e}"
            ),
        }
    }

    #[test]
    fn internal_round_trips(
        shared in any::<bool>(),
        owner in "[a-c]{1,2}(\\^[a-c])?",
        first in shared_first().prop_filter("no internal separator", |f| !f.contains('.')),
        comps in proptest::collection::vec(component("/!."), 0..4),
        vd in any::<bool>(),
    ) {
        let ns = if vd { vd_ns() } else { default_ns() };
        let me = user(&ns, vd);
        let mut internal = String::new();
        if vd {
            internal.push_str("example.com!");
        }
        if shared {
            internal.push_str(&mutf7::encode(&first));
        } else {
            internal.push_str("user.");
            internal.push_str(&owner);
        }
        for c in &comps {
            internal.push('.');
            internal.push_str(&mutf7::encode(c));
        }
        prop_assert_eq!(is_shared_folder(internal.as_bytes()), shared && !reserved(&first));
        match ns.to_external(&me, internal.as_bytes()) {
            Ok(external) => prop_assert_eq!(ns.to_internal(&me, external.as_bytes()).unwrap(), internal),
            Err(e) => prop_assert!(
                shared && reserved(&first) && e == NameError::NotVisible,
                "{internal}: {e}"
            ),
        }
    }

    #[test]
    fn mutated_mutf7_is_judged_consistently(s in any::<String>(), at in any::<usize>(), byte in any::<u8>(), insert in any::<bool>()) {
        let mut wire = mutf7::encode(&s).into_bytes();
        if wire.is_empty() {
            wire.push(byte);
        } else if insert {
            wire.insert(at % (wire.len() + 1), byte);
        } else {
            let i = at % wire.len();
            wire[i] = byte;
        }
        let decoded = mutf7::decode(&wire);
        prop_assert_eq!(mutf7::validate(&wire).is_ok(), decoded.is_ok());
        if let Ok(text) = decoded {
            prop_assert_eq!(mutf7::encode(&text).into_bytes(), wire);
        }
    }

    #[test]
    fn fuzz_body_holds_on_random_input(data in proptest::collection::vec(any::<u8>(), 0..64)) {
        fuzz_mailbox_names(&data);
    }

    #[test]
    fn fuzz_body_holds_on_name_like_input(
        selector in 0..4u8,
        userid in "(john|jane|a\\.b)(@example\\.com)?",
        name in "(INBOX|inbox|Other Users|Shared Folders|user|shared|DELETED|User|example\\.com!|[a.^!&/ -]|&AOE-){0,6}",
    ) {
        let mut data = vec![selector];
        data.extend_from_slice(userid.as_bytes());
        data.push(b'\n');
        data.extend_from_slice(name.as_bytes());
        fuzz_mailbox_names(&data);
    }
}
