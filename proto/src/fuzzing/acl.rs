//! The `fuzz_acl` body: ACL strings, SETACL arguments, evaluation and edits on arbitrary bytes.
//!
//! The input is cut at its first two LFs into an ACL string, an identifier and a SETACL rights
//! argument (missing parts are empty). Invariants: nothing panics; a refusal points inside
//! its input; rights round-trip through their written form; the entries of a valid ACL tile
//! it exactly; a negative entry never grants; an edit re-parses, gives the identifier exactly
//! the changed rights, keeps every other entry byte for byte, and grows the string by at most
//! one entry.

use crate::acl::{Acl, Identifier, ImplicitRights, Principal, Rights, RightsChange};

/// Evaluation is tried for at most this many principals, to keep each run linear.
const MAX_PRINCIPALS: usize = 16;

/// The longest rights field [`Rights::write`] produces: 22 letters plus `c` and `d`.
const MAX_RIGHTS_LEN: usize = 24;

/// Drives the ACL parsers, evaluation and edits on `data`.
pub fn fuzz_acl(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == b'\n');
    let acl_bytes = parts.next().unwrap_or_default();
    let identifier = parts.next().unwrap_or_default();
    let arg = parts.next().unwrap_or_default();

    for text in [acl_bytes, identifier, arg] {
        check_rights(text);
    }
    let change = RightsChange::parse(arg);
    if let Err(e) = change {
        assert!(e.at() < arg.len(), "{e} outside {arg:?}");
    }
    let acl = match Acl::parse(acl_bytes) {
        Ok(acl) => acl,
        Err(e) => {
            assert!(e.at() <= acl_bytes.len(), "{e} outside {acl_bytes:?}");
            return;
        }
    };
    let tiled: Vec<u8> = acl.entries().flat_map(|e| e.as_bytes().to_vec()).collect();
    assert_eq!(tiled, acl_bytes, "entries do not tile the ACL");
    check_evaluation(&acl, identifier, change.ok());
    if let Ok(change) = change {
        check_edit(&acl, identifier, change);
    }
}

/// A rights string that parses writes back to one that parses to the same set.
fn check_rights(text: &[u8]) {
    let Ok(rights) = Rights::parse(text) else {
        return;
    };
    let mut written = Vec::new();
    rights.write(&mut written);
    assert!(written.len() <= MAX_RIGHTS_LEN);
    assert_eq!(Rights::parse(&written), Ok(rights), "{written:?}");
}

/// Evaluates for the anonymous user and for every user and group the ACL names.
fn check_evaluation(acl: &Acl<'_>, identifier: &[u8], change: Option<RightsChange>) {
    let groups: Vec<&[u8]> = acl
        .entries()
        .filter_map(|e| match e.identifier() {
            Identifier::Group(group) => Some(group),
            _ => None,
        })
        .collect();
    let users = acl.entries().map(|e| Some(e.name()));
    let implicit = ImplicitRights::CYRUS;
    let deny = match change {
        Some(RightsChange::Replace(rights) | RightsChange::Add(rights)) => rights,
        _ => Rights::ALL,
    };
    let mut denying = acl.as_bytes().to_vec();
    denying.extend_from_slice(b"-anyone\t");
    deny.write(&mut denying);
    denying.push(b'\t');
    let Ok(denying) = Acl::parse(&denying) else {
        panic!("appending a valid entry broke the ACL");
    };
    for user in [None, Some(identifier)]
        .into_iter()
        .chain(users)
        .take(MAX_PRINCIPALS)
    {
        let who = Principal {
            user,
            groups: &groups,
            is_admin: false,
        };
        let granted = acl.granted(&who);
        assert!((denying.granted(&who) - granted).is_empty());
        assert!(!denying.granted(&who).intersects(deny));
        let owned = acl.effective_rights(&who, user, &implicit);
        assert!(owned.contains(granted));
        if user.is_some() {
            assert!(owned.contains(implicit.owner));
        }
        assert!(
            acl.effective_rights(&who.admin(), None, &implicit)
                .contains(implicit.admin)
        );
    }
}

/// SETACL on a valid ACL: the result parses, holds the new rights, keeps the rest verbatim.
fn check_edit(acl: &Acl<'_>, identifier: &[u8], change: RightsChange) {
    let edited = match acl.modify(identifier, change) {
        Ok(edited) => edited,
        Err(e) => {
            assert!(
                e.at() < identifier.len().max(1),
                "{e} outside {identifier:?}"
            );
            return;
        }
    };
    assert!(edited.len() <= acl.as_bytes().len() + identifier.len() + 2 + MAX_RIGHTS_LEN);
    let Ok(new) = Acl::parse(&edited) else {
        panic!("edited ACL does not parse: {edited:?}");
    };
    let before = acl.rights_of_identifier(identifier).unwrap_or_default();
    assert_eq!(
        new.rights_of_identifier(identifier).unwrap_or_default(),
        change.apply(before)
    );
    let others = |acl: Acl<'_>| {
        acl.entries()
            .filter(|e| e.raw_identifier() != identifier)
            .map(|e| e.as_bytes().to_vec())
            .collect::<Vec<_>>()
    };
    assert_eq!(others(*acl), others(new));
}
