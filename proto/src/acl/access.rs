//! Who gets which rights: evaluating an ACL for a principal, and the LISTRIGHTS answer.
//!
//! Evaluation follows Cyrus so that a frontend answers as its backends would: the union of
//! the rights of every positive entry that applies to the principal, minus the union of the
//! rights of every negative entry that applies, plus rights no ACL can take away: an admin's
//! (`l` and `a` on every mailbox) or else, on their own mailbox, the owner's (Cyrus
//! `implicit_owner_rights`, `lkxan` by default). An entry applies when its identifier is the
//! principal's user id, `anyone` (everybody, the anonymous user too), `anonymous` (the
//! anonymous user only), or `group:x` for a group `x` the principal is in.

use super::{Acl, Identifier, Rights};

/// The user a question is asked for: who they are, their groups, whether they are an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal<'a> {
    /// The canonical user id; `None` for the anonymous user.
    pub user: Option<&'a [u8]>,
    /// The groups the user is in, by name without `group:` (as the authentication layer
    /// resolved them at login).
    pub groups: &'a [&'a [u8]],
    /// Is the user an admin (Cyrus `admins`)?
    pub is_admin: bool,
}

impl<'a> Principal<'a> {
    /// The anonymous user: no id, no group, no admin.
    pub const ANONYMOUS: Principal<'static> = Principal {
        user: None,
        groups: &[],
        is_admin: false,
    };

    /// An authenticated user in no group, not an admin.
    pub fn user(id: &'a [u8]) -> Principal<'a> {
        Principal {
            user: Some(id),
            groups: &[],
            is_admin: false,
        }
    }

    /// The same principal, in `groups`.
    pub fn in_groups(self, groups: &'a [&'a [u8]]) -> Principal<'a> {
        Principal { groups, ..self }
    }

    /// The same principal, as an admin.
    pub fn admin(self) -> Principal<'a> {
        Principal {
            is_admin: true,
            ..self
        }
    }

    /// Does an entry for `identifier` apply to this principal?
    pub fn is_named_by(&self, identifier: Identifier<'_>) -> bool {
        match identifier {
            Identifier::Anyone => true,
            Identifier::Anonymous => self.user.is_none(),
            Identifier::Group(group) => self.groups.contains(&group),
            Identifier::User(id) => self.user == Some(id),
        }
    }
}

/// The rights some principals hold whatever the ACL says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImplicitRights {
    /// The owner's, on a mailbox of their own (Cyrus `implicit_owner_rights`).
    pub owner: Rights,
    /// An admin's, on every mailbox.
    pub admin: Rights,
}

impl ImplicitRights {
    /// Cyrus's defaults: `lkxan` for the owner, `la` for an admin.
    pub const CYRUS: ImplicitRights = ImplicitRights {
        owner: Rights::LOOKUP
            .union(Rights::CREATE)
            .union(Rights::DELETE_MAILBOX)
            .union(Rights::ADMIN)
            .union(Rights::ANNOTATE),
        admin: Rights::LOOKUP.union(Rights::ADMIN),
    };
}

impl Default for ImplicitRights {
    fn default() -> Self {
        ImplicitRights::CYRUS
    }
}

impl Acl<'_> {
    /// The rights the entries alone give `who`: positive entries that apply, minus negative
    /// entries that apply.
    pub fn granted(&self, who: &Principal<'_>) -> Rights {
        let (granted, denied) = self
            .entries()
            .filter(|entry| who.is_named_by(entry.identifier()))
            .fold((Rights::NONE, Rights::NONE), |(granted, denied), entry| {
                if entry.is_negative() {
                    (granted, denied | entry.rights())
                } else {
                    (granted | entry.rights(), denied)
                }
            });
        granted - denied
    }

    /// MYRIGHTS: everything `who` may do on a mailbox with this ACL, whose owner is `owner`
    /// (`None` for a shared mailbox): [`Acl::granted`] plus the implicit rights, which no
    /// negative entry removes. As in Cyrus's `printmyrights`, an admin gets the admin's
    /// implicit rights *instead of* the owner's, even on a mailbox of their own.
    pub fn effective_rights(
        &self,
        who: &Principal<'_>,
        owner: Option<&[u8]>,
        implicit: &ImplicitRights,
    ) -> Rights {
        let implicit = if who.is_admin {
            implicit.admin
        } else if owner.is_some() && owner == who.user {
            implicit.owner
        } else {
            Rights::NONE
        };
        self.granted(who) | implicit
    }
}

/// The LISTRIGHTS answer for one identifier (RFC 4314 §3.7), as the writer prints it.
///
/// As Cyrus answers it: the required rights are the implicit owner rights when the identifier
/// owns the mailbox, `p` on anybody else's personal mailbox ("anyone can post to an INBOX"),
/// and none on a shared mailbox; every other right follows as its own optional group, in
/// Cyrus's written order (legacy `c`/`d` included when any of their members is optional):
/// `"" l r s w i p k x t e c d a n 0 1 2 3 4 5 6 7 8 9` on a shared mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRights {
    /// The rights the identifier always has.
    pub required: Rights,
}

impl ListRights {
    /// The answer for `identifier` on a mailbox owned by `owner` (`None`: shared).
    pub fn for_identifier(
        identifier: &[u8],
        owner: Option<&[u8]>,
        implicit: &ImplicitRights,
    ) -> ListRights {
        let required = match owner {
            Some(owner) if owner == identifier => implicit.owner,
            Some(_) => Rights::POST,
            None => Rights::NONE,
        };
        ListRights { required }
    }

    /// The rights that may be granted or not, each its own group.
    pub fn optional(&self) -> Rights {
        Rights::ALL - self.required
    }

    /// Appends `required SP optional...` as it follows the identifier in the response:
    /// `"" l r s ...` when nothing is required.
    pub fn write(&self, out: &mut Vec<u8>) {
        if self.required.is_empty() {
            out.extend_from_slice(b"\"\"");
        } else {
            self.required.write(out);
        }
        for letter in self.optional().letters() {
            out.extend_from_slice(&[b' ', letter]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(text: &str) -> Rights {
        Rights::parse(text.as_bytes()).unwrap()
    }

    fn granted(acl: &str, who: &Principal<'_>) -> Rights {
        Acl::parse(acl.as_bytes()).unwrap().granted(who)
    }

    const CYRUS: &str = "alice\tlrswipkxtecdan\tanyone\tp\t";

    #[test]
    fn cyrus_example() {
        assert_eq!(
            granted(CYRUS, &Principal::user(b"alice")),
            rights("lrswipkxtean")
        );
        assert_eq!(granted(CYRUS, &Principal::user(b"bob")), Rights::POST);
        assert_eq!(granted(CYRUS, &Principal::ANONYMOUS), Rights::POST);
        assert_eq!(granted(CYRUS, &Principal::user(b"Alice")), Rights::POST);
    }

    #[test]
    fn anyone_includes_anonymous_but_not_the_reverse() {
        let acl = "anonymous\tlr\tanyone\tp\t";
        assert_eq!(granted(acl, &Principal::ANONYMOUS), rights("lrp"));
        assert_eq!(granted(acl, &Principal::user(b"bob")), Rights::POST);
    }

    #[test]
    fn negative_rights_subtract_after_the_union() {
        let acl = "anyone\tlrs\tbob\tlrsw\t-bob\tsw\t-group:interns\tr\t";
        assert_eq!(granted(acl, &Principal::user(b"bob")), rights("lr"));
        assert_eq!(granted(acl, &Principal::user(b"carol")), rights("lrs"));
        let interns: &[&[u8]] = &[b"interns"];
        assert_eq!(
            granted(acl, &Principal::user(b"carol").in_groups(interns)),
            rights("ls")
        );
        // A negative `anyone` entry takes from everybody, the anonymous user too.
        assert_eq!(
            granted("anyone\tlr\t-anyone\tr\t", &Principal::ANONYMOUS),
            rights("l")
        );
    }

    #[test]
    fn groups_grant_to_members_only() {
        let acl = "group:staff\tlrsw\tgroup:admins\tx\t";
        let staff: &[&[u8]] = &[b"staff", b"dev"];
        assert_eq!(
            granted(acl, &Principal::user(b"bob").in_groups(staff)),
            rights("lrsw")
        );
        assert_eq!(granted(acl, &Principal::user(b"bob")), Rights::NONE);
        // A user called `staff` is not the group.
        assert_eq!(granted(acl, &Principal::user(b"staff")), Rights::NONE);
        assert_eq!(granted(acl, &Principal::user(b"group:staff")), Rights::NONE);
    }

    #[test]
    fn owner_and_admin_implicit_rights_survive_negative_entries() {
        let acl = Acl::parse(b"alice\tlrs\t-alice\tlrsa\t").unwrap();
        let alice = Principal::user(b"alice");
        let implicit = ImplicitRights::default();
        assert_eq!(acl.granted(&alice), Rights::NONE);
        assert_eq!(
            acl.effective_rights(&alice, Some(b"alice"), &implicit),
            rights("lkxan")
        );
        assert_eq!(
            acl.effective_rights(&alice, Some(b"bob"), &implicit),
            Rights::NONE
        );
        assert_eq!(acl.effective_rights(&alice, None, &implicit), Rights::NONE);
        assert_eq!(
            acl.effective_rights(&Principal::user(b"root").admin(), None, &implicit),
            rights("la")
        );
        let bob = Acl::parse(b"anyone\tr\t").unwrap();
        assert_eq!(
            bob.effective_rights(&Principal::ANONYMOUS, None, &implicit),
            Rights::READ
        );
        let custom = ImplicitRights {
            owner: rights("lrswipkxtean"),
            admin: Rights::ALL,
        };
        assert_eq!(
            acl.effective_rights(&alice, Some(b"alice"), &custom),
            custom.owner
        );
        // Cyrus: an admin gets the admin's implicit rights, not the owner's as well.
        assert_eq!(
            acl.effective_rights(&alice.admin(), Some(b"alice"), &custom),
            Rights::ALL
        );
        assert_eq!(
            acl.effective_rights(&alice.admin(), Some(b"alice"), &implicit),
            rights("la")
        );
    }

    #[test]
    fn legacy_letters_evaluate_like_cyrus() {
        // `kc` is what Cyrus writes for `k` alone: it must not grant `x`.
        assert_eq!(
            granted("bob\tlkc\t", &Principal::user(b"bob")),
            rights("lk")
        );
        // A bare `c` (RFC 2086 era) grants both members; `d` likewise.
        assert_eq!(
            granted("bob\tlcd\t", &Principal::user(b"bob")),
            rights("lkxte")
        );
    }

    #[test]
    fn listrights() {
        let implicit = ImplicitRights::CYRUS;
        let written = |identifier: &[u8], owner: Option<&[u8]>| {
            let mut out = Vec::new();
            ListRights::for_identifier(identifier, owner, &implicit).write(&mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            written(b"bob", None),
            "\"\" l r s w i p k x t e c d a n 0 1 2 3 4 5 6 7 8 9"
        );
        assert_eq!(
            written(b"bob", Some(b"alice")),
            "p l r s w i k x t e c d a n 0 1 2 3 4 5 6 7 8 9"
        );
        assert_eq!(
            written(b"alice", Some(b"alice")),
            "lkxcan r s w i p t e d 0 1 2 3 4 5 6 7 8 9"
        );
        let owner = ListRights::for_identifier(b"alice", Some(b"alice"), &implicit);
        assert_eq!(owner.required | owner.optional(), Rights::ALL);
        assert!(!owner.required.intersects(owner.optional()));
    }
}
