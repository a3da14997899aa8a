//! The master's shared state: the table, the writes it accepts, and what is durable.
//!
//! [`Master`] is sans-IO: sessions hand it writes ([`Master::write`]), it checks them against
//! the table and the session's role with Cyrus's rules, applies them, numbers them, and adds
//! them to the batch waiting for the disk. The server takes that batch ([`Master::take_batch`]),
//! syncs it, and reports back ([`Master::committed`]); only then may the answers to those
//! writes, and anything that read their effects, go out. Every change is also kept for a while
//! in a change log, from which streaming sessions send updates.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

use corvid_proto::mupdate::{CommandKind, Reason};

use super::auth::{Identity, Role};
use crate::store::wal;
use crate::table::{Base, Change, EntryRef, MailboxTable, State, server_of};

/// A write a session asks for: an ACTIVATE, RESERVE, DEACTIVATE or DELETE command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Write(CommandKind);

impl Write {
    /// The command as a write; the command back if it is not one.
    pub fn new(kind: CommandKind) -> Result<Write, CommandKind> {
        match kind {
            CommandKind::Activate { .. }
            | CommandKind::Reserve { .. }
            | CommandKind::Deactivate { .. }
            | CommandKind::Delete { .. } => Ok(Write(kind)),
            other => Err(other),
        }
    }

    fn name(&self) -> &[u8] {
        match &self.0 {
            CommandKind::Activate { name, .. }
            | CommandKind::Reserve { name, .. }
            | CommandKind::Deactivate { name, .. }
            | CommandKind::Delete { name } => name,
            _ => b"",
        }
    }

    fn location(&self) -> Option<&[u8]> {
        match &self.0 {
            CommandKind::Activate { location, .. }
            | CommandKind::Reserve { location, .. }
            | CommandKind::Deactivate { location, .. } => Some(location),
            _ => None,
        }
    }
}

/// Why a write was refused: the status and the text to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `NO` with this text.
    No(Reason),
    /// `BAD` with this text.
    Bad(Reason),
}

/// One change kept for streaming: its number, the mailbox, and the servers it was on before
/// and after (for UPDATE's host filter).
#[derive(Debug, Clone)]
pub struct LoggedChange {
    /// The change's sequence number.
    pub seq: u64,
    /// The mailbox.
    pub name: Box<[u8]>,
    /// The server before the change (empty if the entry did not exist).
    pub old_server: Arc<[u8]>,
    /// The server after it (empty if the entry was deleted).
    pub new_server: Arc<[u8]>,
}

impl LoggedChange {
    /// Whether an UPDATE restricted to `hosts` (none: every host) must see the change.
    pub fn concerns(&self, hosts: &[Vec<u8>]) -> bool {
        hosts.is_empty()
            || hosts
                .iter()
                .any(|host| **host == *self.old_server || **host == *self.new_server)
    }
}

/// A batch of changes for the disk: encoded log records, up to change `through`.
#[derive(Debug, Default)]
pub struct Batch {
    /// The records (see [`wal::encode`]).
    pub bytes: Vec<u8>,
    /// The number of the last change in it.
    pub through: u64,
}

/// The master's shared state.
#[derive(Debug)]
pub struct Master {
    table: MailboxTable,
    last_seq: u64,
    durable_seq: u64,
    batch: Batch,
    changes: VecDeque<LoggedChange>,
    changes_kept: usize,
    /// Server names, shared by the logged changes (a murder has few servers).
    servers: BTreeSet<Arc<[u8]>>,
    epoch: u64,
}

impl Master {
    /// A master serving this table (recovered from the store), keeping at most `changes_kept`
    /// changes for streaming sessions that lag.
    pub fn new(table: MailboxTable, changes_kept: usize) -> Master {
        let seq = table.seq();
        Master {
            table,
            last_seq: seq,
            durable_seq: seq,
            batch: Batch::default(),
            changes: VecDeque::new(),
            changes_kept: changes_kept.max(1),
            servers: BTreeSet::new(),
            epoch: 0,
        }
    }

    /// Sets the store's epoch, which positions in the resumable stream carry.
    pub fn with_epoch(mut self, epoch: u64) -> Master {
        self.epoch = epoch;
        self
    }

    /// The store's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The table, with every accepted change applied (durable or not yet).
    pub fn table(&self) -> &MailboxTable {
        &self.table
    }

    /// The table, for the server to install a rebuilt base.
    pub fn table_mut(&mut self) -> &mut MailboxTable {
        &mut self.table
    }

    /// The number of the last change accepted.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The number of the last change on disk.
    pub fn durable_seq(&self) -> u64 {
        self.durable_seq
    }

    /// Checks and applies a write for a session acting as `who`. `Ok(Some(seq))` is a change
    /// numbered `seq`; `Ok(None)` an accepted write that changed nothing (a DELETE of an absent
    /// name, or an ACTIVATE that sets what is already there).
    pub fn write(&mut self, who: &Identity, write: Write) -> Result<Option<u64>, Refusal> {
        if !well_formed(write.name(), write.location()) {
            return Err(Refusal::Bad(Reason::BadlyFormedArguments));
        }
        let current = self.table.get(write.name());
        // A RESERVE of a name held elsewhere is refused as taken, for every role that may
        // write (a backend racing another for a name then tells its client `[ALREADYEXISTS]`).
        if let (CommandKind::Reserve { location, .. }, Some(entry)) = (&write.0, &current)
            && entry.location != location.as_slice()
            && who.role != Role::Frontend
        {
            return Err(Refusal::No(Reason::MailboxAlreadyExists));
        }
        check_role(&who.role, current.as_ref(), write.location())?;
        let change = decide(current, write)?;
        let Some(change) = change else {
            return Ok(None);
        };
        let seq = self.last_seq + 1;
        let old_server = self
            .table
            .get(change.name())
            .map_or(&b""[..], |e| e.server());
        let old_server = intern(&mut self.servers, old_server);
        let new_server = match &change {
            Change::Upsert { location, .. } => intern(&mut self.servers, server_of(location)),
            Change::Delete { .. } => intern(&mut self.servers, b""),
        };
        wal::encode(seq, &change, &mut self.batch.bytes);
        self.batch.through = seq;
        self.changes.push_back(LoggedChange {
            seq,
            name: change.name().into(),
            old_server,
            new_server,
        });
        if self.changes.len() > self.changes_kept {
            self.changes.pop_front();
        }
        self.table.apply(seq, change);
        self.last_seq = seq;
        Ok(Some(seq))
    }

    /// Takes the changes waiting for the disk, if any.
    pub fn take_batch(&mut self) -> Option<Batch> {
        if self.batch.bytes.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.batch))
    }

    /// Whether changes wait for the disk.
    pub fn has_batch(&self) -> bool {
        !self.batch.bytes.is_empty()
    }

    /// Records that every change up to `through` is on disk.
    pub fn committed(&mut self, through: u64) {
        self.durable_seq = self.durable_seq.max(through);
    }

    /// Replaces the table's base with `base` (built from this table, on another thread, when
    /// it was at `base.seq()`), carrying over every change made since as its current state.
    /// Returns `false`, changing nothing, if those changes are no longer all kept.
    pub fn install_base(&mut self, base: Arc<Base>) -> bool {
        let Some(since) = self.changes_after(base.seq()) else {
            return false;
        };
        let since: Vec<(u64, Change)> = since
            .map(|change| {
                let now = match self.table.get(&change.name) {
                    Some(entry) => Change::upsert(entry),
                    None => Change::Delete {
                        name: change.name.clone(),
                    },
                };
                (change.seq, now)
            })
            .collect();
        let seq = self.table.seq();
        self.table.install(base, since);
        debug_assert_eq!(self.table.seq(), seq);
        true
    }

    /// The changes after `seq`, in order; `None` if some of them are no longer kept.
    pub fn changes_after(&self, seq: u64) -> Option<impl Iterator<Item = &LoggedChange>> {
        let oldest = self.changes.front().map_or(self.last_seq + 1, |c| c.seq);
        if seq + 1 < oldest {
            return None;
        }
        let start = self.changes.partition_point(|c| c.seq <= seq);
        Some(self.changes.range(start..))
    }
}

/// The shared copy of a server name.
fn intern(servers: &mut BTreeSet<Arc<[u8]>>, server: &[u8]) -> Arc<[u8]> {
    if let Some(known) = servers.get(server) {
        return known.clone();
    }
    let new: Arc<[u8]> = server.into();
    servers.insert(new.clone());
    new
}

/// Names and locations go to backends' and frontends' databases and into `{n+}` literals:
/// no empty name, no control characters, at most one `!` in a location.
fn well_formed(name: &[u8], location: Option<&[u8]>) -> bool {
    let clean = |bytes: &[u8]| !bytes.iter().any(|&b| b < 0x20 || b == 0x7f);
    !name.is_empty()
        && clean(name)
        && location.is_none_or(|location| {
            !location.is_empty()
                && clean(location)
                && location.iter().filter(|&&b| b == b'!').count() <= 1
        })
}

/// The role rules: frontends may not write; a backend may change or delete only entries on
/// its own server (moving one away included), and create entries only on its own server.
fn check_role(
    role: &Role,
    current: Option<&EntryRef<'_>>,
    location: Option<&[u8]>,
) -> Result<(), Refusal> {
    match role {
        Role::Admin => Ok(()),
        Role::Frontend => Err(Refusal::Bad(Reason::ReadOnlySession)),
        Role::Backend { server } => {
            let ours = |location: &[u8]| server_of(location) == &**server;
            let allowed = match current {
                Some(entry) => ours(entry.location),
                None => location.is_none_or(ours),
            };
            if allowed {
                Ok(())
            } else {
                Err(Refusal::No(Reason::PermissionDenied))
            }
        }
    }
}

/// Cyrus's semantics of each write (murder.md §1.3): the change to make, if any.
fn decide(current: Option<EntryRef<'_>>, write: Write) -> Result<Option<Change>, Refusal> {
    let same = |entry: &EntryRef<'_>, location: &[u8], acl: &[u8], state: State| {
        entry.location == location && entry.acl == acl && entry.state == state
    };
    let upsert = |name: Vec<u8>, location: Vec<u8>, acl: Vec<u8>, state| Change::Upsert {
        name: name.into(),
        location: location.into(),
        acl: acl.into(),
        state,
    };
    Ok(match write.0 {
        // An unconditional upsert: no RESERVE needed (resynchronisation relies on it).
        CommandKind::Activate {
            name,
            location,
            acl,
        } => match current {
            Some(entry) if same(&entry, &location, &acl, State::Active) => None,
            _ => Some(upsert(name, location, acl, State::Active)),
        },
        // Refused if the name is elsewhere; at the same location it becomes reserved, its ACL
        // dropped, even if it was active (Cyrus tolerates replicated backends this way).
        CommandKind::Reserve { name, location } => match current {
            Some(entry) if entry.location != location.as_slice() => {
                return Err(Refusal::No(Reason::MailboxAlreadyExists));
            }
            Some(entry) if same(&entry, &location, b"", State::Reserved) => None,
            _ => Some(upsert(name, location, Vec::new(), State::Reserved)),
        },
        CommandKind::Deactivate { name, location } => match current {
            None => return Err(Refusal::No(Reason::MailboxDoesNotExist)),
            Some(entry) if entry.state != State::Active => {
                return Err(Refusal::No(Reason::MailboxNotActive));
            }
            Some(_) => Some(upsert(name, location, Vec::new(), State::Reserved)),
        },
        // No location check, as in Cyrus; deleting an absent name is not an error.
        CommandKind::Delete { name } => current.map(|_| Change::Delete { name: name.into() }),
        // Not a write: `Write::new` lets none through.
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(kind: CommandKind) -> Write {
        Write::new(kind).unwrap()
    }

    fn admin() -> Identity {
        Identity {
            user: "admin".into(),
            role: Role::Admin,
        }
    }

    fn backend(server: &str) -> Identity {
        Identity {
            user: server.into(),
            role: Role::Backend {
                server: server.as_bytes().into(),
            },
        }
    }

    fn activate(name: &str, location: &str, acl: &str) -> Write {
        write(CommandKind::Activate {
            name: name.into(),
            location: location.into(),
            acl: acl.into(),
        })
    }

    fn reserve(name: &str, location: &str) -> Write {
        write(CommandKind::Reserve {
            name: name.into(),
            location: location.into(),
        })
    }

    #[test]
    fn cyrus_write_semantics() {
        let mut master = Master::new(MailboxTable::default(), 100);
        let who = admin();
        assert_eq!(master.write(&who, reserve("user.a", "be1!p")), Ok(Some(1)));
        assert_eq!(
            master.write(&who, reserve("user.a", "be2!p")),
            Err(Refusal::No(Reason::MailboxAlreadyExists))
        );
        assert_eq!(master.write(&who, reserve("user.a", "be1!p")), Ok(None));
        assert_eq!(
            master.write(&who, activate("user.a", "be1!p", "a\tlrs\t")),
            Ok(Some(2))
        );
        assert_eq!(
            master.write(&who, activate("user.a", "be1!p", "a\tlrs\t")),
            Ok(None)
        );
        // RESERVE at the same location turns an active entry reserved, ACL dropped.
        assert_eq!(master.write(&who, reserve("user.a", "be1!p")), Ok(Some(3)));
        let entry = master.table().get(b"user.a").unwrap();
        assert_eq!((entry.state, entry.acl), (State::Reserved, b"".as_slice()));
        let deactivate = |name: &str| {
            write(CommandKind::Deactivate {
                name: name.into(),
                location: "be2!q".into(),
            })
        };
        assert_eq!(
            master.write(&who, deactivate("user.a")),
            Err(Refusal::No(Reason::MailboxNotActive))
        );
        assert_eq!(
            master.write(&who, deactivate("user.none")),
            Err(Refusal::No(Reason::MailboxDoesNotExist))
        );
        master
            .write(&who, activate("user.a", "be1!p", "a\tlrs\t"))
            .unwrap();
        assert_eq!(master.write(&who, deactivate("user.a")), Ok(Some(5)));
        assert_eq!(master.table().get(b"user.a").unwrap().location, b"be2!q");
        let delete = |name: &str| write(CommandKind::Delete { name: name.into() });
        assert_eq!(master.write(&who, delete("user.a")), Ok(Some(6)));
        assert_eq!(master.write(&who, delete("user.a")), Ok(None));
        // Cyrus's empty partition is stored as sent.
        assert_eq!(
            master.write(&who, activate("user.b", "be1!", "")),
            Ok(Some(7))
        );
        assert_eq!(
            master.write(&who, activate("", "be1!p", "")),
            Err(Refusal::Bad(Reason::BadlyFormedArguments))
        );
        assert_eq!(
            master.write(&who, activate("user.c", "be1!p!q", "")),
            Err(Refusal::Bad(Reason::BadlyFormedArguments))
        );
        assert_eq!(
            master.write(&who, activate("user.c\r\n", "be1!p", "")),
            Err(Refusal::Bad(Reason::BadlyFormedArguments))
        );
    }

    #[test]
    fn roles_limit_writes() {
        let mut master = Master::new(MailboxTable::default(), 100);
        let be1 = backend("be1");
        let be2 = backend("be2");
        assert_eq!(
            master.write(&be1, activate("user.a", "be1!p", "")),
            Ok(Some(1))
        );
        assert_eq!(
            master.write(&be2, activate("user.b", "be1!p", "")),
            Err(Refusal::No(Reason::PermissionDenied))
        );
        assert_eq!(
            master.write(
                &be2,
                write(CommandKind::Delete {
                    name: "user.a".into()
                })
            ),
            Err(Refusal::No(Reason::PermissionDenied))
        );
        // Another backend's RESERVE of the name: taken, as Cyrus answers.
        assert_eq!(
            master.write(&be2, reserve("user.a", "be2!p")),
            Err(Refusal::No(Reason::MailboxAlreadyExists))
        );
        // The backend holding a mailbox may move it away (a cross-backend move).
        assert_eq!(
            master.write(&be1, activate("user.a", "be2!p", "")),
            Ok(Some(2))
        );
        assert_eq!(
            master.write(
                &be2,
                write(CommandKind::Delete {
                    name: "user.a".into()
                })
            ),
            Ok(Some(3))
        );
        let frontend = Identity {
            user: "fe".into(),
            role: Role::Frontend,
        };
        assert_eq!(
            master.write(&frontend, activate("user.x", "be1!p", "")),
            Err(Refusal::Bad(Reason::ReadOnlySession))
        );
    }

    #[test]
    fn batches_and_the_change_log() {
        let mut master = Master::new(MailboxTable::default(), 3);
        let who = admin();
        assert!(master.take_batch().is_none());
        for i in 0..5 {
            master
                .write(&who, activate(&format!("user.u{i}"), "be1!p", ""))
                .unwrap();
        }
        let batch = master.take_batch().unwrap();
        assert_eq!(batch.through, 5);
        assert!(!master.has_batch());
        assert_eq!(master.durable_seq(), 0);
        master.committed(5);
        assert_eq!(master.durable_seq(), 5);
        assert!(master.changes_after(0).is_none(), "only 3 changes kept");
        let kept: Vec<u64> = master.changes_after(2).unwrap().map(|c| c.seq).collect();
        assert_eq!(kept, [3, 4, 5]);
        assert_eq!(master.changes_after(5).unwrap().count(), 0);
        let change = master.changes_after(4).unwrap().next().unwrap();
        assert!(change.concerns(&[]));
        assert!(change.concerns(&[b"be1".to_vec()]));
        assert!(!change.concerns(&[b"be2".to_vec()]));
    }

    #[test]
    fn a_base_built_meanwhile_is_installed_with_later_changes() {
        let mut master = Master::new(MailboxTable::default(), 100);
        let who = admin();
        for i in 0..5 {
            master
                .write(&who, activate(&format!("user.u{i}"), "be1!p", ""))
                .unwrap();
        }
        let base = Arc::new(master.table().rebuild().unwrap());
        master
            .write(
                &who,
                write(CommandKind::Delete {
                    name: "user.u0".into(),
                }),
            )
            .unwrap();
        master
            .write(&who, activate("user.u9", "be2!p", "x\tl\t"))
            .unwrap();
        master
            .write(&who, activate("user.u1", "be3!p", ""))
            .unwrap();
        let before: Vec<_> = master.table().iter().map(|e| Change::upsert(e)).collect();
        assert!(master.install_base(base));
        assert_eq!(master.table().base().len(), 5);
        assert_eq!(master.table().overlay_len(), 3);
        let after: Vec<_> = master.table().iter().map(|e| Change::upsert(e)).collect();
        assert_eq!(after, before);
        assert_eq!(master.table().seq(), 8);
        // A base older than the change log is refused.
        let mut short = Master::new(MailboxTable::default(), 2);
        let old = Arc::new(short.table().rebuild().unwrap());
        for i in 0..5 {
            short
                .write(&who, activate(&format!("user.u{i}"), "be1!p", ""))
                .unwrap();
        }
        assert!(!short.install_base(old));
        assert_eq!(short.table().len(), 5);
    }
}
