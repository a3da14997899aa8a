//! Properties of the ACL module: round trips, verbatim edits, evaluation, every prefix, and the
//! ACTIVATE transcript replay.

use corvid_proto::acl::{Acl, Identifier, ImplicitRights, Principal, Rights, RightsChange};
use corvid_proto::fuzzing::acl::fuzz_acl;
use corvid_proto::lex::literal_at_line_end;
use proptest::collection::vec;
use proptest::prelude::*;

mod common;

/// Every letter that owns a right.
const LETTERS: &[u8] = b"lrswipkxtean0123456789";

fn rights() -> impl Strategy<Value = Rights> {
    vec(any::<bool>(), LETTERS.len()).prop_map(|picked| {
        LETTERS
            .iter()
            .zip(picked)
            .filter(|(_, on)| *on)
            .filter_map(|(&letter, _)| Rights::from_letter(letter))
            .fold(Rights::NONE, |a, b| a | b)
    })
}

/// A rights field as a person or another server might write it: any order, legacy letters.
fn rights_text() -> impl Strategy<Value = Vec<u8>> {
    vec(
        prop::sample::select(b"lrswipkxteancd0123456789".to_vec()),
        0..8,
    )
}

/// An identifier without its `-`: users, domains, groups and the special names.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"anyone".to_vec()),
        Just(b"anonymous".to_vec()),
        "[a-c]{1,2}(@ex\\.com)?".prop_map(String::into_bytes),
        "group:[a-c]{1,2}".prop_map(String::into_bytes),
    ]
}

fn identifier() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), name()).prop_map(|(negative, name)| {
        let mut id = if negative { b"-".to_vec() } else { Vec::new() };
        id.extend(name);
        id
    })
}

/// Entries with canonical rights, as `write_acl` writes them.
fn entries() -> impl Strategy<Value = Vec<(Vec<u8>, Rights)>> {
    vec((identifier(), rights()), 0..8)
}

/// An ACL string whose rights fields are written freely (not in Cyrus's form).
fn loose_acl() -> impl Strategy<Value = Vec<u8>> {
    vec((identifier(), rights_text()), 0..8).prop_map(|entries| {
        let mut acl = Vec::new();
        for (id, text) in entries {
            acl.extend(id);
            acl.push(b'\t');
            acl.extend(text);
            acl.push(b'\t');
        }
        acl
    })
}

fn change() -> impl Strategy<Value = RightsChange> {
    (0..3u8, rights()).prop_map(|(kind, rights)| match kind {
        0 => RightsChange::Replace(rights),
        1 => RightsChange::Add(rights),
        _ => RightsChange::Remove(rights),
    })
}

fn write_acl(entries: &[(Vec<u8>, Rights)]) -> Vec<u8> {
    let mut acl = Vec::new();
    for (id, rights) in entries {
        acl.extend_from_slice(id);
        acl.push(b'\t');
        rights.write(&mut acl);
        acl.push(b'\t');
    }
    acl
}

fn principal_groups() -> impl Strategy<Value = (Option<Vec<u8>>, Vec<Vec<u8>>)> {
    (
        prop::option::of("[a-c]{1,2}(@ex\\.com)?".prop_map(String::into_bytes)),
        vec("[a-c]{1,2}".prop_map(String::into_bytes), 0..3),
    )
}

fn with_principal<T>(
    user: &Option<Vec<u8>>,
    groups: &[Vec<u8>],
    f: impl FnOnce(&Principal<'_>) -> T,
) -> T {
    let groups: Vec<&[u8]> = groups.iter().map(Vec::as_slice).collect();
    let who = Principal {
        user: user.as_deref(),
        groups: &groups,
        is_admin: false,
    };
    f(&who)
}

proptest! {
    #[test]
    fn rights_round_trip(rights in rights()) {
        let mut written = Vec::new();
        rights.write(&mut written);
        prop_assert_eq!(Rights::parse(&written), Ok(rights));
        prop_assert_eq!(rights.to_string().into_bytes(), written);
    }

    #[test]
    fn reading_any_rights_text_then_writing_is_canonical(text in rights_text()) {
        let rights = Rights::parse(&text).unwrap();
        let mut written = Vec::new();
        rights.write(&mut written);
        prop_assert_eq!(Rights::parse(&written), Ok(rights));
    }

    #[test]
    fn acl_round_trip(entries in entries()) {
        let written = write_acl(&entries);
        let acl = Acl::parse(&written).unwrap();
        let parsed: Vec<(Vec<u8>, Rights)> = acl
            .entries()
            .map(|e| (e.raw_identifier().to_vec(), e.rights()))
            .collect();
        prop_assert_eq!(parsed, entries);
    }

    #[test]
    fn every_prefix_is_valid_only_at_entry_ends(acl in loose_acl()) {
        let ends: Vec<usize> = Acl::parse(&acl)
            .unwrap()
            .entries()
            .scan(0, |end, e| { *end += e.as_bytes().len(); Some(*end) })
            .collect();
        for cut in 0..acl.len() {
            let valid = cut == 0 || ends.contains(&cut);
            match Acl::parse(&acl[..cut]) {
                Ok(_) => prop_assert!(valid, "cut at {}", cut),
                Err(e) => {
                    prop_assert!(!valid, "cut at {}: {}", cut, e);
                    prop_assert!(e.at() <= cut);
                }
            }
        }
    }

    #[test]
    fn edits_keep_other_entries_verbatim(
        acl in loose_acl(),
        id in identifier(),
        change in change(),
    ) {
        let acl = Acl::parse(&acl).unwrap();
        let edited = acl.modify(&id, change).unwrap();
        let new = Acl::parse(&edited).unwrap();
        let others = |acl: &Acl<'_>| -> Vec<Vec<u8>> {
            acl.entries()
                .filter(|e| e.raw_identifier() != id.as_slice())
                .map(|e| e.as_bytes().to_vec())
                .collect()
        };
        prop_assert_eq!(others(&acl), others(&new));
        let before = acl.rights_of_identifier(&id).unwrap_or_default();
        let after = change.apply(before);
        prop_assert_eq!(new.rights_of_identifier(&id), (!after.is_empty()).then_some(after));
        prop_assert!(new.entries().filter(|e| e.raw_identifier() == id.as_slice()).count() <= 1);
    }

    #[test]
    fn deleting_twice_is_deleting_once(acl in loose_acl(), id in identifier()) {
        let acl = Acl::parse(&acl).unwrap();
        let once = acl.delete(&id).unwrap();
        let twice = Acl::parse(&once).unwrap().delete(&id).unwrap();
        prop_assert_eq!(&once, &twice);
        prop_assert_eq!(Acl::parse(&once).unwrap().rights_of_identifier(&id), None);
    }

    #[test]
    fn a_negative_entry_never_grants(
        entries in entries(),
        (user, groups) in principal_groups(),
        name in name(),
        denied in rights(),
    ) {
        let acl = write_acl(&entries);
        let mut negative = b"-".to_vec();
        negative.extend(name);
        let mut denying = write_acl(&entries);
        denying.extend(write_acl(&[(negative, denied)]));
        let (before, after) = with_principal(&user, &groups, |who| {
            (Acl::parse(&acl).unwrap().granted(who), Acl::parse(&denying).unwrap().granted(who))
        });
        prop_assert!(before.contains(after));
    }

    #[test]
    fn a_positive_entry_never_takes_away(
        entries in entries(),
        (user, groups) in principal_groups(),
        name in name(),
        added in rights(),
    ) {
        let acl = write_acl(&entries);
        let mut granting = acl.clone();
        granting.extend(write_acl(&[(name.clone(), added)]));
        let (before, after, applies) = with_principal(&user, &groups, |who| {
            (
                Acl::parse(&acl).unwrap().granted(who),
                Acl::parse(&granting).unwrap().granted(who),
                who.is_named_by(Identifier::classify(&name)),
            )
        });
        prop_assert!(after.contains(before));
        if !applies {
            prop_assert_eq!(after, before);
        }
    }

    #[test]
    fn implicit_rights_always_hold(entries in entries(), (user, groups) in principal_groups()) {
        let acl = write_acl(&entries);
        let acl = Acl::parse(&acl).unwrap();
        let implicit = ImplicitRights::CYRUS;
        with_principal(&user, &groups, |who| {
            let as_owner = acl.effective_rights(who, who.user.or(Some(b"x")), &implicit);
            if who.user.is_some() {
                assert!(as_owner.contains(implicit.owner | acl.granted(who)));
            }
            let as_admin = acl.effective_rights(&who.admin(), None, &implicit);
            assert!(as_admin.contains(implicit.admin | acl.granted(who)));
            assert_eq!(acl.effective_rights(who, None, &implicit), acl.granted(who));
        });
    }

    #[test]
    fn fuzz_body_survives_anything(data in vec(any::<u8>(), 0..64)) {
        fuzz_acl(&data);
    }

    #[test]
    fn fuzz_body_holds_on_valid_input(
        acl in loose_acl(),
        id in identifier(),
        sign in prop::sample::select(vec!["", "+", "-"]),
        text in rights_text(),
    ) {
        let mut data = acl;
        data.push(b'\n');
        data.extend(id);
        data.push(b'\n');
        data.extend(sign.as_bytes());
        data.extend(text);
        fuzz_acl(&data);
    }
}

/// The ACL literals of the ACTIVATE commands in a transcript: each line that follows the
/// location line (`server!partition {n+}`), checked against its announced length.
fn activated_acls(name: &str) -> Vec<Vec<u8>> {
    let client: Vec<Vec<u8>> = common::transcript(name)
        .into_iter()
        .filter(|(side, _)| *side == common::Side::Client)
        .map(|(_, line)| line.strip_suffix(b"\r\n").expect("CRLF").to_vec())
        .collect();
    client
        .windows(2)
        .filter(|pair| pair[0].contains(&b'!'))
        .map(|pair| {
            let header = literal_at_line_end(&pair[0])
                .and_then(Result::ok)
                .expect("a literal announces the ACL");
            assert_eq!(header.len, pair[1].len() as u64);
            pair[1].clone()
        })
        .collect()
}

#[test]
fn cyrus_activate_acls() {
    let acls = activated_acls("acl-activate.txt");
    assert_eq!(acls.len(), 2);
    let implicit = ImplicitRights::CYRUS;
    let bob = Acl::parse(&acls[0]).unwrap();
    let full = Rights::parse(b"lrswipkxtecdan").unwrap();
    assert_eq!(bob.granted(&Principal::user(b"bob")), full);
    assert_eq!(bob.granted(&Principal::user(b"alice")), Rights::NONE);
    let alice = Acl::parse(&acls[1]).unwrap();
    assert_eq!(alice.granted(&Principal::user(b"bob")), Rights::POST);
    assert_eq!(
        alice.effective_rights(&Principal::user(b"alice"), Some(b"alice"), &implicit),
        full
    );
    // Setting what is already there writes the same bytes, since Cyrus wrote them canonically.
    assert_eq!(
        alice
            .modify(b"alice", RightsChange::Add(Rights::LOOKUP))
            .unwrap(),
        acls[1]
    );
    assert_eq!(
        alice
            .modify(b"bob", RightsChange::Replace(Rights::READ))
            .unwrap(),
        b"alice\tlrswipkxtecdan\tanyone\tp\tbob\tr\t"
    );
}
