//! The mailbox table: where each mailbox of the murder lives, and its ACL.
//!
//! The master, the proxy and the shim all hold one. A [`MailboxTable`] is an immutable archived
//! [`Base`] (shared, zero-copy, what a snapshot file holds) under a small ordered overlay of the
//! changes applied since the base was built. Reads look in the overlay first; scans merge the
//! two in Cyrus dbname order, so a user's whole tree is one range and LIST never walks the murder.
//! When the overlay grows past a fraction of the base, [`MailboxTable::rebuild`] folds it into a
//! new base.

mod base;

use std::collections::{BTreeSet, HashMap, btree_set};
use std::ops::{Bound, Range, RangeBounds};
use std::sync::Arc;

use corvid_proto::acl::Acl;
use corvid_proto::mailbox::dbname::{DbName, dbname_cmp, in_subtree, subtree_range};
use corvid_proto::mailbox::name::owner_of;
use corvid_proto::mupdate::RecordRef;

pub use base::{Base, BaseError};

/// Whether a mailbox is in use or only reserved (RFC 3656 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// `MAILBOX`: the mailbox exists at its location.
    Active,
    /// `RESERVE`: the name is taken (a CREATE or a move is under way); it has no ACL.
    Reserved,
}

/// One entry of the table, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryRef<'a> {
    /// The mailbox's Cyrus internal name (`user.alice.Sent`, `example.com!user.bob`).
    pub name: &'a [u8],
    /// Where it lives: `server!partition` (the partition may be empty, as Cyrus sends it).
    pub location: &'a [u8],
    /// Its ACL string, byte for byte as the backend sent it (empty when reserved).
    pub acl: &'a [u8],
    /// Active or reserved.
    pub state: State,
}

impl<'a> EntryRef<'a> {
    /// The server part of the location (before the first `!`; all of it when there is none).
    pub fn server(&self) -> &'a [u8] {
        server_of(self.location)
    }

    /// The MUPDATE record that describes the entry, borrowing its fields.
    pub fn record(&self) -> RecordRef<'a> {
        match self.state {
            State::Active => RecordRef::Mailbox {
                name: self.name,
                location: self.location,
                acl: self.acl,
            },
            State::Reserved => RecordRef::Reserve {
                name: self.name,
                location: self.location,
            },
        }
    }
}

/// The server part of a location: what precedes the first `!`.
pub fn server_of(location: &[u8]) -> &[u8] {
    match location.iter().position(|&b| b == b'!') {
        Some(end) => &location[..end],
        None => location,
    }
}

/// One change to the table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// The entry is set to this (created or replaced).
    Upsert {
        /// The mailbox name.
        name: Box<[u8]>,
        /// `server!partition`.
        location: Box<[u8]>,
        /// The ACL string (empty when reserved).
        acl: Box<[u8]>,
        /// Active or reserved.
        state: State,
    },
    /// The entry is removed.
    Delete {
        /// The mailbox name.
        name: Box<[u8]>,
    },
}

impl Change {
    /// The mailbox the change is about.
    pub fn name(&self) -> &[u8] {
        match self {
            Change::Upsert { name, .. } | Change::Delete { name } => name,
        }
    }

    /// The change that sets the entry to what `entry` says.
    pub fn upsert(entry: EntryRef<'_>) -> Change {
        Change::Upsert {
            name: entry.name.into(),
            location: entry.location.into(),
            acl: entry.acl.into(),
            state: entry.state,
        }
    }
}

/// An entry's content in the overlay (its name is the key).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Value {
    location: Box<[u8]>,
    acl: Box<[u8]>,
    state: State,
}

/// The mailbox table: an archived base and an overlay of later changes.
#[derive(Debug, Clone)]
pub struct MailboxTable {
    base: Arc<Base>,
    /// Changes since the base, by name (a lookup is one hash probe): `None` marks a name
    /// deleted since the base.
    overlay: HashMap<Box<[u8]>, Option<Value>>,
    /// The same names in dbname order, for range scans.
    overlay_order: BTreeSet<DbName>,
    len: usize,
    seq: u64,
}

impl Default for MailboxTable {
    fn default() -> Self {
        MailboxTable::new(Arc::new(Base::empty()))
    }
}

impl MailboxTable {
    /// A table that is this base, with no overlay.
    pub fn new(base: Arc<Base>) -> MailboxTable {
        MailboxTable {
            len: base.len(),
            seq: base.seq(),
            base,
            overlay: HashMap::new(),
            overlay_order: BTreeSet::new(),
        }
    }

    /// The base under the overlay.
    pub fn base(&self) -> &Arc<Base> {
        &self.base
    }

    /// How many entries (active and reserved) the table holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The sequence number of the last change applied.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// How many names the overlay holds.
    pub fn overlay_len(&self) -> usize {
        self.overlay.len()
    }

    /// Whether the overlay has grown enough that folding it into a new base pays: past an
    /// eighth of the base, and at least 4096 names.
    pub fn wants_rebuild(&self) -> bool {
        self.overlay.len() >= 4096.max(self.base.len() / 8)
    }

    /// The entry named `name`.
    pub fn get(&self, name: &[u8]) -> Option<EntryRef<'_>> {
        if let Some((key, value)) = self.overlay_get(name) {
            return value.as_ref().map(|value| overlay_entry(key, value));
        }
        self.base.get(name)
    }

    /// The overlay's entry for `name` (`Some(None)`: deleted since the base), if it has one.
    fn overlay_get(&self, name: &[u8]) -> Option<(&[u8], &Option<Value>)> {
        if self.overlay.is_empty() {
            return None;
        }
        self.overlay
            .get_key_value(name)
            .map(|(key, value)| (&**key, value))
    }

    /// Applies a change numbered `seq` (sequence numbers only grow).
    pub fn apply(&mut self, seq: u64, change: Change) {
        let (name, value) = match change {
            Change::Upsert {
                name,
                location,
                acl,
                state,
            } => (
                name,
                Some(Value {
                    location,
                    acl,
                    state,
                }),
            ),
            Change::Delete { name } => (name, None),
        };
        let in_base = self.base.get(&name).is_some();
        let existed = match self.overlay_get(&name) {
            Some((_, value)) => value.is_some(),
            None => in_base,
        };
        match (existed, value.is_some()) {
            (false, true) => self.len += 1,
            (true, false) => self.len -= 1,
            _ => {}
        }
        if value.is_none() && !in_base {
            if self.overlay.remove(&name).is_some() {
                self.overlay_order.remove(&DbName::new(name));
            }
        } else {
            if !self.overlay.contains_key(&name) {
                self.overlay_order.insert(DbName::new(name.clone()));
            }
            self.overlay.insert(name, value);
        }
        self.seq = self.seq.max(seq);
    }

    /// Every entry, in dbname order.
    pub fn iter(&self) -> Entries<'_> {
        self.range::<std::ops::RangeFull>(..)
    }

    /// The entries whose names fall in `range` (of dbnames), in dbname order.
    pub fn range<R: RangeBounds<DbName>>(&self, range: R) -> Entries<'_> {
        let bounds = (range.start_bound(), range.end_bound());
        let positions = self.base.positions(bounds);
        Entries {
            base: &self.base,
            positions,
            overlay: &self.overlay,
            overlay_names: self.overlay_order.range::<DbName, _>(bounds).peekable(),
        }
    }

    /// The entries after `name` in dbname order (to resume a scan where it stopped).
    pub fn after(&self, name: &[u8]) -> Entries<'_> {
        let key = DbName::new(name);
        self.range((Bound::Excluded(key), Bound::Unbounded))
    }

    /// `root` and all its descendants (a user's whole tree for `user.alice`), in dbname order:
    /// one range of the table, never a scan of the rest.
    pub fn subtree<'a>(&'a self, root: &'a [u8]) -> impl Iterator<Item = EntryRef<'a>> + 'a {
        let Range { start, end } = subtree_range(root);
        self.range(start..end)
            .filter(move |entry| in_subtree(entry.name, root))
    }

    /// The entries whose ACL grants some right to someone other than the mailbox's owner
    /// (every other user's mailboxes a user might see, and all shared folders with an ACL):
    /// from an index, not a scan. The base's come first in dbname order, then the overlay's.
    pub fn shared(&self) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        let from_base = self
            .base
            .shared_positions()
            .filter_map(|position| self.base.at(position))
            .filter(|entry| self.overlay_get(entry.name).is_none());
        let from_overlay = self.overlay.iter().filter_map(|(name, value)| {
            let entry = overlay_entry(name, value.as_ref()?);
            is_shared(entry.name, entry.acl).then_some(entry)
        });
        from_base.chain(from_overlay)
    }

    /// A new base holding the whole table (base and overlay folded together).
    pub fn rebuild(&self) -> Result<Base, BaseError> {
        Base::build(self.iter(), self.seq)
    }

    /// Replaces the base with one built from this table (by [`MailboxTable::rebuild`], perhaps
    /// on another thread), keeping the overlay's changes made since: those after `base.seq()`.
    /// The caller passes the changes applied since the rebuild started, in order.
    pub fn install(&mut self, base: Arc<Base>, since: impl IntoIterator<Item = (u64, Change)>) {
        *self = MailboxTable::new(base);
        for (seq, change) in since {
            self.apply(seq, change);
        }
    }
}

fn overlay_entry<'a>(name: &'a [u8], value: &'a Value) -> EntryRef<'a> {
    EntryRef {
        name,
        location: &value.location,
        acl: &value.acl,
        state: value.state,
    }
}

/// Whether an ACL grants some right to an identifier other than the mailbox's owner. An ACL
/// that does not parse counts as shared, so that nothing is hidden from the rights check that
/// follows.
pub(crate) fn is_shared(name: &[u8], acl: &[u8]) -> bool {
    let Ok(acl) = Acl::parse(acl) else {
        return true;
    };
    let owner = owner_of(name).map(|user| user.to_string());
    let owner = owner.as_deref().map(str::as_bytes);
    acl.entries().any(|entry| {
        !entry.is_negative() && !entry.rights().is_empty() && Some(entry.name()) != owner
    })
}

/// A scan of the table in dbname order: the base's entries merged with the overlay's.
#[derive(Debug)]
pub struct Entries<'a> {
    base: &'a Base,
    positions: Range<usize>,
    overlay: &'a HashMap<Box<[u8]>, Option<Value>>,
    overlay_names: std::iter::Peekable<btree_set::Range<'a, DbName>>,
}

impl<'a> Iterator for Entries<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        loop {
            let from_base = self.base_peek();
            let order = match (from_base, self.overlay_names.peek()) {
                (None, None) => return None,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(entry), Some(name)) => dbname_cmp(entry.name, name.as_bytes()),
            };
            if order.is_le() {
                self.positions.start += 1;
            }
            if order.is_lt() {
                if let Some(entry) = from_base {
                    return Some(entry);
                }
                continue;
            }
            let name = self.overlay_names.next()?;
            if let Some((name, Some(value))) = self.overlay.get_key_value(name.as_bytes()) {
                return Some(overlay_entry(name, value));
            }
        }
    }
}

impl<'a> Entries<'a> {
    fn base_peek(&mut self) -> Option<EntryRef<'a>> {
        while !self.positions.is_empty() {
            match self.base.at(self.positions.start) {
                Some(entry) => return Some(entry),
                // A damaged record (only possible in an unverified archive) is skipped.
                None => self.positions.start += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests;
