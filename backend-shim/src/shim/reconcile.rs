//! The reconcile core: from the backend's mailboxes and the master's entries to a plan of
//! changes, without I/O.
//!
//! The three rules of Cyrus's `ctl_mboxlist -m`, with its one dangerous step made opt-in:
//!
//! 1. A mailbox the backend has and the master lacks is **pushed**: `RESERVE` then `ACTIVATE`
//!    with its ACL. One the master has on this server but with another ACL or location, or only
//!    reserved, is re-pushed with `ACTIVATE`. ACL strings are compared byte for byte, as Cyrus
//!    does with `strcmp`: the shim writes them in one stable form, so an entry it pushed
//!    compares equal the next time.
//! 2. An entry the master places on this server that the backend lacks (active or reserved) is
//!    **removed** from the master with `DELETE`.
//! 3. A mailbox the backend has but the master places on another server is a **conflict**: it
//!    is reported, and the backend's copy is deleted only when the caller asked for that
//!    (Cyrus always deletes it, and has wiped whole backends so).
//!
//! Mailboxes the backend holds but whose name or ACL cannot be represented are
//! [`Unmapped`]: reported, never pushed, and never taken for absent (a master entry of that
//! name stays as it is).
//!
//! The master's side comes in two steps, so that a steady-state reconcile costs one `LIST`:
//! the entries `LIST "server!"` returns, then, for [`names_to_find`], what `FIND` says.

use std::collections::BTreeMap;
use std::fmt;

use corvid_mupdate::table::server_of;
use corvid_proto::mupdate::{CommandKind, Record};

/// Where the backend keeps a mailbox: the user `doveadm` reaches it as, and its name there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The backend user that lists the mailbox.
    pub user: String,
    /// The mailbox's name as that user sees it (UTF-8, the backend's separator).
    pub mailbox: String,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.user, self.mailbox)
    }
}

/// A mailbox the backend holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendMailbox {
    /// Its Cyrus ACL string (`identifier TAB rights TAB`, repeated).
    pub acl: Vec<u8>,
    /// Where the backend keeps it.
    pub origin: Origin,
}

/// A mailbox the backend holds that cannot be represented on the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped {
    /// Where the backend keeps it.
    pub origin: Origin,
    /// Its internal name, when only its ACL failed to map.
    pub name: Option<Vec<u8>>,
    /// Why it cannot be represented.
    pub reason: String,
}

/// What the backend holds, by internal name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendView {
    /// The mailboxes that map, by internal name (`user.alice.Sent`).
    pub mailboxes: BTreeMap<Vec<u8>, BackendMailbox>,
    /// The mailboxes that do not.
    pub unmapped: Vec<Unmapped>,
}

impl BackendView {
    /// Whether the backend holds `name`, mapped or not.
    pub fn holds(&self, name: &[u8]) -> bool {
        self.mailboxes.contains_key(name)
            || self
                .unmapped
                .iter()
                .any(|u| u.name.as_deref() == Some(name))
    }
}

/// The master's entries that matter to one reconcile, by name: those it places on this server,
/// and those [`names_to_find`] asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MasterView {
    entries: BTreeMap<Vec<u8>, MasterEntry>,
}

/// One master entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterEntry {
    /// `server!partition`.
    pub location: Vec<u8>,
    /// The ACL string of an active entry; `None` for a reserved one.
    pub acl: Option<Vec<u8>>,
}

impl MasterView {
    /// Adds the entries of `records` (`LIST` or `FIND` answers; `DELETE` records remove).
    pub fn extend(&mut self, records: impl IntoIterator<Item = Record>) {
        for record in records {
            match record {
                Record::Mailbox {
                    name,
                    location,
                    acl,
                } => {
                    let acl = Some(acl);
                    self.entries.insert(name, MasterEntry { location, acl });
                }
                Record::Reserve { name, location } => {
                    let acl = None;
                    self.entries.insert(name, MasterEntry { location, acl });
                }
                Record::Delete { name } => {
                    self.entries.remove(&name);
                }
            }
        }
    }

    /// The entry for `name`, if the view has one.
    pub fn get(&self, name: &[u8]) -> Option<&MasterEntry> {
        self.entries.get(name)
    }
}

/// The names the backend holds that `master` (this server's entries) does not place here:
/// the caller `FIND`s them and adds the answers before calling [`plan`].
pub fn names_to_find(backend: &BackendView, master: &MasterView) -> Vec<Vec<u8>> {
    backend
        .mailboxes
        .keys()
        .filter(|name| master.get(name).is_none())
        .cloned()
        .collect()
}

/// This backend, as the master names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The server name (`be1`).
    pub server: String,
    /// The partition (`default`).
    pub partition: String,
}

impl Placement {
    /// `server!partition`, the location pushed entries carry.
    pub fn location(&self) -> Vec<u8> {
        format!("{}!{}", self.server, self.partition).into_bytes()
    }

    /// The `LIST` prefix of this server's entries, `server!`.
    pub fn list_prefix(&self) -> Vec<u8> {
        format!("{}!", self.server).into_bytes()
    }

    /// Whether `location` is on this server.
    fn is_here(&self, location: &[u8]) -> bool {
        server_of(location) == self.server.as_bytes()
    }
}

/// How a mailbox is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    /// The master lacks it: `RESERVE`, then `ACTIVATE`.
    Create,
    /// The master has it here with another ACL or location, or reserved: `ACTIVATE`.
    Update,
}

/// A mailbox to push to the master.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// Its internal name.
    pub name: Vec<u8>,
    /// Its ACL string.
    pub acl: Vec<u8>,
    /// Create or update.
    pub kind: PushKind,
}

/// A mailbox both the backend and another server hold (rule 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Its internal name.
    pub name: Vec<u8>,
    /// Where the master places it.
    pub location: Vec<u8>,
    /// Where the backend keeps its copy.
    pub origin: Origin,
}

/// What one reconcile does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Entries the master places here that the backend lacks: `DELETE`d (rule 2).
    pub removes: Vec<Vec<u8>>,
    /// Mailboxes pushed (rule 1).
    pub pushes: Vec<Push>,
    /// Mailboxes the master places elsewhere (rule 3), reported.
    pub conflicts: Vec<Conflict>,
    /// Whether the conflicts' local copies are deleted (the caller's explicit choice).
    pub delete_local: bool,
    /// Mailboxes that cannot be represented, reported.
    pub unmapped: Vec<Unmapped>,
}

impl Plan {
    /// The master writes, in order (removes, then pushes), each with the name it is about.
    pub fn commands(&self, placement: &Placement) -> Vec<(Vec<u8>, CommandKind)> {
        let location = placement.location();
        let mut commands = Vec::with_capacity(self.removes.len() + 2 * self.pushes.len());
        for name in &self.removes {
            let delete = CommandKind::Delete { name: name.clone() };
            commands.push((name.clone(), delete));
        }
        for push in &self.pushes {
            if push.kind == PushKind::Create {
                let reserve = CommandKind::Reserve {
                    name: push.name.clone(),
                    location: location.clone(),
                };
                commands.push((push.name.clone(), reserve));
            }
            let activate = CommandKind::Activate {
                name: push.name.clone(),
                location: location.clone(),
                acl: push.acl.clone(),
            };
            commands.push((push.name.clone(), activate));
        }
        commands
    }
}

/// One line per step, for a dry run and the logs: `push`, `update`, `remove`, `conflict`,
/// `delete-local` and `unmapped`.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        for name in &self.removes {
            writeln!(f, "remove {}", text(name))?;
        }
        for push in &self.pushes {
            let verb = match push.kind {
                PushKind::Create => "push",
                PushKind::Update => "update",
            };
            let acl = text(&push.acl);
            writeln!(f, "{verb} {} acl {:?}", text(&push.name), acl)?;
        }
        for conflict in &self.conflicts {
            let (name, location) = (text(&conflict.name), text(&conflict.location));
            writeln!(f, "conflict {name}: the master places it on {location}")?;
            if self.delete_local {
                writeln!(f, "delete-local {name} ({})", conflict.origin)?;
            }
        }
        for unmapped in &self.unmapped {
            writeln!(f, "unmapped {}: {}", unmapped.origin, unmapped.reason)?;
        }
        Ok(())
    }
}

/// The plan that brings `master` in step with `backend` (see the module doc for the rules).
/// `master` holds this server's entries and the answers to [`names_to_find`].
pub fn plan(
    backend: &BackendView,
    master: &MasterView,
    placement: &Placement,
    delete_local: bool,
) -> Plan {
    let location = placement.location();
    let removes = master
        .entries
        .iter()
        .filter(|(name, entry)| placement.is_here(&entry.location) && !backend.holds(name))
        .map(|(name, _)| name.clone())
        .collect();
    let mut pushes = Vec::new();
    let mut conflicts = Vec::new();
    for (name, mailbox) in &backend.mailboxes {
        let kind = match master.get(name) {
            None => PushKind::Create,
            Some(entry) if !placement.is_here(&entry.location) => {
                conflicts.push(Conflict {
                    name: name.clone(),
                    location: entry.location.clone(),
                    origin: mailbox.origin.clone(),
                });
                continue;
            }
            Some(entry)
                if entry.location == location && entry.acl.as_ref() == Some(&mailbox.acl) =>
            {
                continue;
            }
            Some(_) => PushKind::Update,
        };
        pushes.push(Push {
            name: name.clone(),
            acl: mailbox.acl.clone(),
            kind,
        });
    }
    Plan {
        removes,
        pushes,
        conflicts,
        delete_local,
        unmapped: backend.unmapped.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement() -> Placement {
        Placement {
            server: "be1".into(),
            partition: "default".into(),
        }
    }

    fn origin(mailbox: &str) -> Origin {
        Origin {
            user: "alice".into(),
            mailbox: mailbox.into(),
        }
    }

    fn backend(mailboxes: &[(&str, &str)]) -> BackendView {
        BackendView {
            mailboxes: mailboxes
                .iter()
                .map(|(name, acl)| {
                    let mailbox = BackendMailbox {
                        acl: acl.as_bytes().to_vec(),
                        origin: origin(name),
                    };
                    (name.as_bytes().to_vec(), mailbox)
                })
                .collect(),
            unmapped: Vec::new(),
        }
    }

    fn active(name: &str, location: &str, acl: &str) -> Record {
        Record::Mailbox {
            name: name.into(),
            location: location.into(),
            acl: acl.into(),
        }
    }

    fn reserved(name: &str, location: &str) -> Record {
        Record::Reserve {
            name: name.into(),
            location: location.into(),
        }
    }

    fn master(records: Vec<Record>) -> MasterView {
        let mut view = MasterView::default();
        view.extend(records);
        view
    }

    fn push(name: &str, acl: &str, kind: PushKind) -> Push {
        Push {
            name: name.into(),
            acl: acl.into(),
            kind,
        }
    }

    const ACL: &str = "alice\tlrswipkxtecdan\t";

    #[test]
    fn in_step_plans_nothing() {
        let backend = backend(&[("user.alice", ACL), ("user.alice.Sent", ACL)]);
        let master = master(vec![
            active("user.alice", "be1!default", ACL),
            active("user.alice.Sent", "be1!default", ACL),
        ]);
        assert!(names_to_find(&backend, &master).is_empty());
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(plan, Plan::default());
        assert_eq!(plan.to_string(), "");
    }

    #[test]
    fn what_the_master_lacks_is_reserved_then_activated() {
        let backend = backend(&[("user.alice", ACL), ("shared.lists", "anyone\tlrs\t")]);
        let master = MasterView::default();
        assert_eq!(
            names_to_find(&backend, &master),
            [b"shared.lists".to_vec(), b"user.alice".to_vec()]
        );
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(
            plan.pushes,
            [
                push("shared.lists", "anyone\tlrs\t", PushKind::Create),
                push("user.alice", ACL, PushKind::Create),
            ]
        );
        let commands: Vec<CommandKind> = plan
            .commands(&placement())
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        assert_eq!(
            commands[..2],
            [
                CommandKind::Reserve {
                    name: b"shared.lists".to_vec(),
                    location: b"be1!default".to_vec(),
                },
                CommandKind::Activate {
                    name: b"shared.lists".to_vec(),
                    location: b"be1!default".to_vec(),
                    acl: b"anyone\tlrs\t".to_vec(),
                },
            ]
        );
        assert_eq!(commands.len(), 4);
        assert_eq!(
            plan.to_string(),
            "push shared.lists acl \"anyone\\tlrs\\t\"\n\
             push user.alice acl \"alice\\tlrswipkxtecdan\\t\"\n"
        );
    }

    #[test]
    fn a_changed_acl_is_pushed_again() {
        let backend = backend(&[("user.alice", "alice\tlrswipkxtecdan\tbob\tlr\t")]);
        let master = master(vec![active("user.alice", "be1!default", ACL)]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(
            plan.pushes,
            [push(
                "user.alice",
                "alice\tlrswipkxtecdan\tbob\tlr\t",
                PushKind::Update
            )]
        );
        assert_eq!(
            plan.commands(&placement()),
            [(
                b"user.alice".to_vec(),
                CommandKind::Activate {
                    name: b"user.alice".to_vec(),
                    location: b"be1!default".to_vec(),
                    acl: b"alice\tlrswipkxtecdan\tbob\tlr\t".to_vec(),
                }
            )]
        );
    }

    #[test]
    fn acls_compare_byte_for_byte() {
        // The same rights in another order: the master's string is replaced by the shim's.
        let backend = backend(&[("user.alice", "alice\tlrswipkxtecdan\tbob\tlr\t")]);
        let master = master(vec![active(
            "user.alice",
            "be1!default",
            "bob\tlr\talice\tlrswipkxtecdan\t",
        )]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(plan.pushes.len(), 1);
        assert_eq!(plan.pushes[0].kind, PushKind::Update);
    }

    #[test]
    fn another_partition_of_this_server_is_moved_to_ours() {
        let backend = backend(&[("user.alice", ACL)]);
        let master = master(vec![active("user.alice", "be1!other", ACL)]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(plan.pushes, [push("user.alice", ACL, PushKind::Update)]);
        assert!(plan.removes.is_empty() && plan.conflicts.is_empty());
    }

    #[test]
    fn a_reserved_entry_the_backend_has_is_activated() {
        let backend = backend(&[("user.alice", ACL)]);
        let master = master(vec![reserved("user.alice", "be1!default")]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(plan.pushes, [push("user.alice", ACL, PushKind::Update)]);
    }

    #[test]
    fn what_the_backend_lacks_is_removed_reserved_or_not() {
        let backend = backend(&[("user.alice", ACL)]);
        let master = master(vec![
            active("user.alice", "be1!default", ACL),
            active("user.alice.Gone", "be1!default", ACL),
            reserved("user.alice.Half", "be1!default"),
            // Not this server's: `be10` only shares a prefix with `be1`.
            active("user.carol", "be10!default", "carol\tlrs\t"),
        ]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(
            plan.removes,
            [b"user.alice.Gone".to_vec(), b"user.alice.Half".to_vec()]
        );
        assert!(plan.pushes.is_empty());
        assert_eq!(
            plan.to_string(),
            "remove user.alice.Gone\nremove user.alice.Half\n"
        );
        let commands = plan.commands(&placement());
        assert_eq!(
            commands[0].1,
            CommandKind::Delete {
                name: b"user.alice.Gone".to_vec()
            }
        );
    }

    #[test]
    fn a_mailbox_placed_elsewhere_is_a_conflict_kept_by_default() {
        let backend = backend(&[("user.alice", ACL), ("user.alice.Both", ACL)]);
        let mut master = master(vec![active("user.alice", "be1!default", ACL)]);
        assert_eq!(
            names_to_find(&backend, &master),
            [b"user.alice.Both".to_vec()]
        );
        // What FIND says.
        master.extend([active("user.alice.Both", "be2!default", ACL)]);
        let kept = plan(&backend, &master, &placement(), false);
        assert_eq!(
            kept.conflicts,
            [Conflict {
                name: b"user.alice.Both".to_vec(),
                location: b"be2!default".to_vec(),
                origin: origin("user.alice.Both"),
            }]
        );
        assert!(kept.pushes.is_empty() && kept.removes.is_empty());
        assert_eq!(
            kept.to_string(),
            "conflict user.alice.Both: the master places it on be2!default\n"
        );
        let deleted = plan(&backend, &master, &placement(), true);
        assert_eq!(
            deleted.to_string(),
            "conflict user.alice.Both: the master places it on be2!default\n\
             delete-local user.alice.Both (alice \"user.alice.Both\")\n"
        );
        // The other server's entry is never written.
        assert!(deleted.commands(&placement()).is_empty());
    }

    #[test]
    fn a_reservation_elsewhere_is_a_conflict_too() {
        let backend = backend(&[("user.alice.New", ACL)]);
        let master = master(vec![reserved("user.alice.New", "be2!default")]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(plan.conflicts.len(), 1);
        assert!(plan.pushes.is_empty());
    }

    #[test]
    fn unmapped_mailboxes_are_reported_and_never_removed() {
        let mut backend = backend(&[("user.alice", ACL)]);
        backend.unmapped = vec![
            Unmapped {
                origin: origin("a^b"),
                name: None,
                reason: "byte '^' cannot be represented".into(),
            },
            Unmapped {
                origin: origin("Odd"),
                name: Some(b"user.alice.Odd".to_vec()),
                reason: "identifier \"authenticated\" has no Cyrus form".into(),
            },
        ];
        let master = master(vec![
            active("user.alice", "be1!default", ACL),
            active("user.alice.Odd", "be1!default", ACL),
        ]);
        let plan = plan(&backend, &master, &placement(), false);
        assert!(plan.removes.is_empty());
        assert!(plan.pushes.is_empty());
        assert_eq!(plan.unmapped, backend.unmapped);
        assert_eq!(
            plan.to_string(),
            "unmapped alice \"a^b\": byte '^' cannot be represented\n\
             unmapped alice \"Odd\": identifier \"authenticated\" has no Cyrus form\n"
        );
    }

    #[test]
    fn delete_records_remove_entries_from_the_view() {
        let mut view = master(vec![active("user.alice", "be1!default", ACL)]);
        view.extend([Record::Delete {
            name: b"user.alice".to_vec(),
        }]);
        assert_eq!(view, MasterView::default());
    }

    #[test]
    fn placement_names_the_location_and_the_list_prefix() {
        assert_eq!(placement().location(), b"be1!default");
        assert_eq!(placement().list_prefix(), b"be1!");
    }

    #[test]
    fn all_three_rules_at_once() {
        let backend = backend(&[
            ("user.alice", ACL),
            ("user.alice.New", ACL),
            ("user.alice.Both", ACL),
        ]);
        let mut master = master(vec![
            active("user.alice", "be1!default", "alice\tlr\t"),
            active("user.alice.Gone", "be1!default", ACL),
        ]);
        master.extend([active("user.alice.Both", "be2!default", ACL)]);
        let plan = plan(&backend, &master, &placement(), false);
        assert_eq!(plan.removes, [b"user.alice.Gone".to_vec()]);
        assert_eq!(
            plan.pushes,
            [
                push("user.alice", ACL, PushKind::Update),
                push("user.alice.New", ACL, PushKind::Create),
            ]
        );
        assert_eq!(plan.conflicts.len(), 1);
        let kinds: Vec<&str> = plan
            .commands(&placement())
            .iter()
            .map(|(_, c)| match c {
                CommandKind::Delete { .. } => "DELETE",
                CommandKind::Reserve { .. } => "RESERVE",
                CommandKind::Activate { .. } => "ACTIVATE",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["DELETE", "ACTIVATE", "RESERVE", "ACTIVATE"]);
    }
}
