//! The catalogue: which mailboxes exist (name → stable id, UIDVALIDITY, ACL), the users'
//! subscriptions and the counters ids and UIDVALIDITYs come from; its log records, and how each
//! changes it.
//!
//! As for mailboxes ([`super::mailbox`]), one [`Catalogue::apply`] serves the live change and
//! the replay at open.

use std::collections::{BTreeMap, HashMap};

use corvid_proto::mailbox::{DbName, in_subtree, subtree_range};

use super::Mailbox;
use super::codec::{self, Reader};

const COUNTERS: u8 = 0;
const CREATE: u8 = 1;
const DELETE: u8 = 2;
const RENAME: u8 = 3;
const RENAME_INBOX: u8 = 4;
const SET_ACL: u8 = 5;
const SUBSCRIBE: u8 = 6;
const UNSUBSCRIBE: u8 = 7;

/// One change to the catalogue, as its log holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Record {
    /// Where the counters stand (the first record of a new catalogue, the last of a compacted
    /// one).
    Counters {
        /// The next mailbox id.
        next_id: u64,
        /// The next UIDVALIDITY.
        next_uid_validity: u32,
    },
    /// A mailbox was created, empty.
    Create {
        /// Its name.
        name: String,
        /// Its id (its log's file name).
        id: u64,
        /// Its UIDVALIDITY.
        uid_validity: u32,
        /// Its ACL.
        acl: Vec<u8>,
    },
    /// A mailbox was deleted.
    Delete {
        /// Its name.
        name: String,
    },
    /// A mailbox and the ones below it were renamed.
    Rename {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A user's INBOX was renamed: the mailbox (its id, messages and UIDVALIDITY) took the
    /// new name, and a new empty INBOX with the same ACL took its place.
    RenameInbox {
        /// The INBOX.
        from: String,
        /// The new name of its messages.
        to: String,
        /// The new INBOX's id.
        id: u64,
        /// The new INBOX's UIDVALIDITY.
        uid_validity: u32,
    },
    /// A mailbox's ACL was replaced.
    SetAcl {
        /// The mailbox.
        name: String,
        /// Its new ACL.
        acl: Vec<u8>,
    },
    /// A user subscribed to a name.
    Subscribe {
        /// The user.
        user: String,
        /// The name.
        name: String,
    },
    /// A user unsubscribed from a name.
    Unsubscribe {
        /// The user.
        user: String,
        /// The name.
        name: String,
    },
}

impl Record {
    /// Appends the record, framed, to a batch.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        corvid_mupdate::store::wal::push_record(out, |out| match self {
            Record::Counters {
                next_id,
                next_uid_validity,
            } => {
                out.push(COUNTERS);
                out.extend_from_slice(&next_id.to_le_bytes());
                out.extend_from_slice(&next_uid_validity.to_le_bytes());
            }
            Record::Create {
                name,
                id,
                uid_validity,
                acl,
            } => {
                out.push(CREATE);
                codec::put_bytes(out, name.as_bytes());
                out.extend_from_slice(&id.to_le_bytes());
                out.extend_from_slice(&uid_validity.to_le_bytes());
                codec::put_bytes(out, acl);
            }
            Record::Delete { name } => {
                out.push(DELETE);
                codec::put_bytes(out, name.as_bytes());
            }
            Record::Rename { from, to } => {
                out.push(RENAME);
                codec::put_bytes(out, from.as_bytes());
                codec::put_bytes(out, to.as_bytes());
            }
            Record::RenameInbox {
                from,
                to,
                id,
                uid_validity,
            } => {
                out.push(RENAME_INBOX);
                codec::put_bytes(out, from.as_bytes());
                codec::put_bytes(out, to.as_bytes());
                out.extend_from_slice(&id.to_le_bytes());
                out.extend_from_slice(&uid_validity.to_le_bytes());
            }
            Record::SetAcl { name, acl } => {
                out.push(SET_ACL);
                codec::put_bytes(out, name.as_bytes());
                codec::put_bytes(out, acl);
            }
            Record::Subscribe { user, name } | Record::Unsubscribe { user, name } => {
                out.push(if matches!(self, Record::Subscribe { .. }) {
                    SUBSCRIBE
                } else {
                    UNSUBSCRIBE
                });
                codec::put_bytes(out, user.as_bytes());
                codec::put_bytes(out, name.as_bytes());
            }
        });
    }

    /// Decodes a record's payload; `None` if it is not one.
    pub(super) fn decode(payload: &[u8]) -> Option<Record> {
        let mut r = Reader::new(payload);
        let record = match r.u8()? {
            COUNTERS => Record::Counters {
                next_id: r.u64()?,
                next_uid_validity: r.u32()?,
            },
            CREATE => Record::Create {
                name: r.text()?,
                id: r.u64()?,
                uid_validity: r.u32()?,
                acl: r.bytes()?.to_vec(),
            },
            DELETE => Record::Delete { name: r.text()? },
            RENAME => Record::Rename {
                from: r.text()?,
                to: r.text()?,
            },
            RENAME_INBOX => Record::RenameInbox {
                from: r.text()?,
                to: r.text()?,
                id: r.u64()?,
                uid_validity: r.u32()?,
            },
            SET_ACL => Record::SetAcl {
                name: r.text()?,
                acl: r.bytes()?.to_vec(),
            },
            SUBSCRIBE => Record::Subscribe {
                user: r.text()?,
                name: r.text()?,
            },
            UNSUBSCRIBE => Record::Unsubscribe {
                user: r.text()?,
                name: r.text()?,
            },
            _ => return None,
        };
        r.end()?;
        Some(record)
    }
}

/// A mailbox in the catalogue: its id, and its state in memory.
#[derive(Debug)]
pub(super) struct Entry {
    /// Its stable id: its log is `mailboxes/<id>.log` whatever its name.
    pub(super) id: u64,
    /// The mailbox.
    pub(super) mailbox: Mailbox,
}

/// The catalogue in memory.
#[derive(Debug, Default)]
pub(super) struct Catalogue {
    /// The mailboxes, in dbname order.
    pub(super) entries: BTreeMap<DbName, Entry>,
    /// Each user's subscriptions, sorted.
    pub(super) subscriptions: HashMap<String, Vec<String>>,
    /// The next mailbox id.
    pub(super) next_id: u64,
    /// The next UIDVALIDITY.
    pub(super) next_uid_validity: u32,
}

/// What a [`Catalogue::apply`] did that the store follows on disk and reports.
#[derive(Debug, Default)]
pub(super) struct Applied {
    /// The mailboxes renamed, `(old, new)`, the first the one named.
    pub(super) renamed: Vec<(String, String)>,
    /// The id of a mailbox that was removed.
    pub(super) removed: Option<u64>,
}

impl Catalogue {
    /// The entry of a mailbox.
    pub(super) fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(&DbName::from(name))
    }

    /// The entry of a mailbox, to change.
    pub(super) fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.entries.get_mut(&DbName::from(name))
    }

    /// The entries of `root` and the mailboxes below it, in dbname order.
    pub(super) fn subtree(&self, root: &str) -> impl Iterator<Item = &Entry> + use<'_> {
        let range = subtree_range(root.as_bytes());
        let root = range.start.clone();
        self.entries
            .range(range)
            .filter(move |(name, _)| in_subtree(name.as_bytes(), root.as_bytes()))
            .map(|(_, entry)| entry)
    }

    /// Why `record` cannot be applied now, if it cannot: the store checks every live change
    /// with this before writing it, and replay refuses a log whose records do not follow.
    pub(super) fn check(&self, record: &Record) -> Result<(), super::StoreError> {
        use super::StoreError::{Exists, NoMailbox, Refused};
        let exists = |name: &str| self.get(name).is_some();
        let need = |name: &str| {
            if exists(name) {
                Ok(())
            } else {
                Err(NoMailbox(name.to_owned()))
            }
        };
        let free = |name: &str| {
            if exists(name) {
                Err(Exists(name.to_owned()))
            } else {
                Ok(())
            }
        };
        match record {
            Record::Counters { .. } | Record::Subscribe { .. } | Record::Unsubscribe { .. } => {
                Ok(())
            }
            Record::Create {
                name,
                id,
                uid_validity,
                ..
            } => {
                self.fresh(*id, *uid_validity)?;
                free(name)
            }
            Record::Delete { name } | Record::SetAcl { name, .. } => need(name),
            Record::RenameInbox {
                from,
                to,
                id,
                uid_validity,
            } => {
                self.fresh(*id, *uid_validity)?;
                need(from)?;
                free(to)
            }
            Record::Rename { from, to } => {
                need(from)?;
                free(to)?;
                if in_subtree(to.as_bytes(), from.as_bytes()) {
                    return Err(Refused("cannot rename a mailbox into its own subtree"));
                }
                for entry in self.subtree(from) {
                    let new = renamed(&entry.mailbox.name, from, to);
                    if exists(&new) && !in_subtree(new.as_bytes(), from.as_bytes()) {
                        return Err(Exists(new));
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether a new mailbox may take this id and UIDVALIDITY: both come from the counters,
    /// so neither was ever used before.
    fn fresh(&self, id: u64, uid_validity: u32) -> Result<(), super::StoreError> {
        if id < self.next_id || uid_validity < self.next_uid_validity {
            return Err(super::StoreError::Refused(
                "a mailbox id or UIDVALIDITY used before",
            ));
        }
        Ok(())
    }

    /// Makes the change a record holds; it must pass [`Catalogue::check`].
    pub(super) fn apply(&mut self, record: Record) -> Applied {
        let mut applied = Applied::default();
        match record {
            Record::Counters {
                next_id,
                next_uid_validity,
            } => {
                self.next_id = self.next_id.max(next_id);
                self.next_uid_validity = self.next_uid_validity.max(next_uid_validity);
            }
            Record::Create {
                name,
                id,
                uid_validity,
                acl,
            } => self.insert(id, Mailbox::empty(name, uid_validity, acl)),
            Record::Delete { name } => {
                applied.removed = self.entries.remove(&DbName::from(&*name)).map(|e| e.id);
            }
            Record::Rename { from, to } => {
                let moved: Vec<DbName> = self
                    .subtree(&from)
                    .map(|e| DbName::from(&*e.mailbox.name))
                    .collect();
                let entries: Vec<Entry> = moved
                    .iter()
                    .filter_map(|name| self.entries.remove(name))
                    .collect();
                for mut entry in entries {
                    let new = renamed(&entry.mailbox.name, &from, &to);
                    let old = std::mem::replace(&mut entry.mailbox.name, new.clone());
                    applied.renamed.push((old, new));
                    self.insert_entry(entry);
                }
            }
            Record::RenameInbox {
                from,
                to,
                id,
                uid_validity,
            } => {
                if let Some(mut entry) = self.entries.remove(&DbName::from(&*from)) {
                    let acl = entry.mailbox.acl.clone();
                    entry.mailbox.name.clone_from(&to);
                    self.insert_entry(entry);
                    self.insert(id, Mailbox::empty(from.clone(), uid_validity, acl));
                    applied.renamed.push((from, to));
                }
            }
            Record::SetAcl { name, acl } => {
                if let Some(entry) = self.get_mut(&name) {
                    entry.mailbox.acl = acl;
                }
            }
            Record::Subscribe { user, name } => {
                let names = self.subscriptions.entry(user).or_default();
                if let Err(at) = names.binary_search(&name) {
                    names.insert(at, name);
                }
            }
            Record::Unsubscribe { user, name } => {
                if let Some(names) = self.subscriptions.get_mut(&user)
                    && let Ok(at) = names.binary_search(&name)
                {
                    names.remove(at);
                    if names.is_empty() {
                        self.subscriptions.remove(&user);
                    }
                }
            }
        }
        applied
    }

    fn insert(&mut self, id: u64, mailbox: Mailbox) {
        self.next_id = self.next_id.max(id + 1);
        self.next_uid_validity = self
            .next_uid_validity
            .max(mailbox.uid_validity.saturating_add(1));
        self.insert_entry(Entry { id, mailbox });
    }

    fn insert_entry(&mut self, entry: Entry) {
        self.entries
            .insert(DbName::from(&*entry.mailbox.name), entry);
    }

    /// The records of the catalogue's live state: what a compacted catalogue holds. The
    /// mailboxes come in the order they were made (by id), as [`Catalogue::check`] wants them,
    /// and the counters last.
    pub(super) fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut entries: Vec<&Entry> = self.entries.values().collect();
        entries.sort_unstable_by_key(|entry| entry.id);
        for entry in entries {
            Record::Create {
                name: entry.mailbox.name.clone(),
                id: entry.id,
                uid_validity: entry.mailbox.uid_validity,
                acl: entry.mailbox.acl.clone(),
            }
            .encode(&mut out);
        }
        for (user, names) in &self.subscriptions {
            for name in names {
                Record::Subscribe {
                    user: user.clone(),
                    name: name.clone(),
                }
                .encode(&mut out);
            }
        }
        Record::Counters {
            next_id: self.next_id,
            next_uid_validity: self.next_uid_validity,
        }
        .encode(&mut out);
        out
    }

    /// About how many bytes [`Catalogue::snapshot`] would take, without building it.
    pub(super) fn live_size(&self) -> u64 {
        let mailboxes: usize = self
            .entries
            .values()
            .map(|e| e.mailbox.name.len() + e.mailbox.acl.len() + 32)
            .sum();
        let subscriptions: usize = self
            .subscriptions
            .iter()
            .map(|(user, names)| {
                names
                    .iter()
                    .map(|n| user.len() + n.len() + 16)
                    .sum::<usize>()
            })
            .sum();
        (mailboxes + subscriptions + 32) as u64
    }
}

/// The new name of `name` (`from` or below it) when `from` becomes `to`.
fn renamed(name: &str, from: &str, to: &str) -> String {
    let rest = name.get(from.len()..).unwrap_or_default();
    format!("{to}{rest}")
}
