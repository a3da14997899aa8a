//! The reference backend's mail store: mailboxes, messages, flags, ACLs and subscriptions in a
//! directory on disk, served from memory.
//!
//! [`Store::open`] loads everything into memory; every change is written to disk before the
//! method returns, and APPEND and COPY are synced (a crash loses no message whose APPEND was
//! answered OK). Names are Cyrus internal names (`user.john`, `user.john.Sent`, `lists`), the
//! names the MUPDATE master carries; sessions map their clients' names to them.
//!
//! The store is owned by one executor and used by all its sessions through `&mut`; every change
//! raises [`Store::version`], which is how a session in IDLE learns that it has news.
//!
//! # On disk
//!
//! ```text
//! DIR/catalogue.log            names -> (id, UIDVALIDITY, ACL), subscriptions, counters
//! DIR/mailboxes/<id>.log       one mailbox: its messages (bytes included), flags, expunges
//! ```
//!
//! Both are record logs (module `log`): framed records (`length | crc32 | payload`, the MUPDATE
//! master's framing) appended by every change and replayed at open, where a torn tail left by
//! a crash is cut off and damage elsewhere refused ([`StoreError::Damaged`]). A mailbox's
//! records (module `mailbox`) are its messages (`Append`: UID, modseq, flags, internal date,
//! keywords, bytes), flag changes, expunges and `\Recent` claims; the catalogue's
//! (module `catalogue`) are creates, deletes, renames, ACLs, subscriptions and the counters. Field
//! encoding: module `codec`.
//!
//! A mailbox's log is named by a stable id, never by its name: a rename is one catalogue
//! record, whatever the subtree, and names need no escaping. Ids and UIDVALIDITYs come from
//! counters the catalogue keeps (UIDVALIDITY seeded from the clock when the store is made), so
//! neither is ever reused: a mailbox deleted and created again has a new UIDVALIDITY.
//!
//! Durability: APPEND, COPY, CREATE, DELETE, RENAME, SETACL and EXPUNGE are synced before they
//! return; flag changes, `\Recent` claims and subscriptions are written (in order) but not
//! synced, so a crash may lose the last of them, never misorder them. A new mailbox's log is
//! created and synced (with its directory) before the catalogue names it; a deleted one's is
//! removed after; files the catalogue does not name are removed at open. A copy larger than
//! one batch (64 MiB) is synced batch by batch: a crash in the middle may leave the
//! first batches copied. A log is compacted (rewritten from its live state) when it grows past
//! twice that state.

mod catalogue;
mod codec;
mod log;
mod mailbox;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use corvid_mupdate::table::{Base, EntryRef, MailboxTable, State};
use corvid_proto::imap::request::{DateTime, StoreMode};
use corvid_proto::mailbox::{DbName, is_inbox};

use catalogue::{Applied, Catalogue};
use log::{Durability, Log, MAX_BATCH, io_error, sync_dir};

/// The longest message the store keeps, in octets.
pub const MAX_MESSAGE: usize = 64 << 20;

/// The system flags a message may carry, as bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SystemFlags(pub u8);

impl SystemFlags {
    /// No flag.
    pub const NONE: SystemFlags = SystemFlags(0);
    /// `\Seen`.
    pub const SEEN: SystemFlags = SystemFlags(1);
    /// `\Answered`.
    pub const ANSWERED: SystemFlags = SystemFlags(2);
    /// `\Flagged`.
    pub const FLAGGED: SystemFlags = SystemFlags(4);
    /// `\Deleted`.
    pub const DELETED: SystemFlags = SystemFlags(8);
    /// `\Draft`.
    pub const DRAFT: SystemFlags = SystemFlags(16);

    /// Does `self` hold every flag of `other`?
    pub fn contains(self, other: SystemFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for SystemFlags {
    type Output = SystemFlags;
    fn bitor(self, rhs: SystemFlags) -> SystemFlags {
        SystemFlags(self.0 | rhs.0)
    }
}

/// One message: its metadata, and its bytes in memory.
#[derive(Debug, Clone)]
pub struct Message {
    /// Its UID.
    pub uid: u32,
    /// Its system flags.
    pub flags: SystemFlags,
    /// Its keywords, sorted, no duplicates, as first set (case kept).
    pub keywords: Vec<Box<[u8]>>,
    /// Its internal date (APPEND's date-time, or when it arrived).
    pub internal_date: DateTime,
    /// The mailbox modification sequence at its last change (append or flags).
    pub modseq: u64,
    /// The message, as stored (CRLF line ends).
    pub bytes: Arc<[u8]>,
}

/// One mailbox.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// Its internal name.
    pub name: String,
    /// Its UIDVALIDITY (never reused for a name within one store).
    pub uid_validity: u32,
    /// The next UID it will assign.
    pub uid_next: u32,
    /// The highest modification sequence of any change to it (appends, flags, expunges).
    pub highest_modseq: u64,
    /// The first UID still `\Recent` for the next session that claims it ([`Store::claim_recent`]).
    pub recent_from: u32,
    /// Its messages, by ascending UID.
    pub messages: Vec<Message>,
    /// The keywords ever set in it, for FLAGS and PERMANENTFLAGS.
    pub keywords: Vec<Box<[u8]>>,
    /// Its ACL in the MUPDATE form (`id\trights\t` repeated; see `corvid_proto::acl::Acl`).
    pub acl: Vec<u8>,
}

impl Mailbox {
    /// The position of the message with this UID (or where it would be).
    pub fn position(&self, uid: u32) -> Result<usize, usize> {
        self.messages.binary_search_by_key(&uid, |m| m.uid)
    }
}

/// A flag change of STORE.
#[derive(Debug, Clone, Copy)]
pub struct FlagChange<'a> {
    /// Replace, add or remove.
    pub mode: StoreMode,
    /// The system flags.
    pub flags: SystemFlags,
    /// The keywords.
    pub keywords: &'a [&'a [u8]],
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No mailbox has this name.
    #[error("no mailbox {0}")]
    NoMailbox(String),
    /// A mailbox already has this name.
    #[error("mailbox {0} already exists")]
    Exists(String),
    /// The operation is not allowed on this mailbox (`DELETE` of a user's INBOX that has
    /// children is allowed; renaming onto a child of itself is not).
    #[error("{0}")]
    Refused(&'static str),
    /// The disk failed; the change was not made.
    #[error("mail store I/O at {path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A file of the store could not be read back (at open).
    #[error("mail store file {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The space of the store's file system, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Free for new messages (what an unprivileged writer may use).
    pub free: u64,
    /// The file system's size.
    pub total: u64,
}

/// The mail store of one backend.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    catalogue: Catalogue,
    catalogue_log: Log,
    /// Each mailbox's log, by id.
    logs: HashMap<u64, Log>,
    version: u64,
    /// The mailboxes as a table (see [`Store::table`]), rebuilt when one is created, deleted,
    /// renamed or given a new ACL.
    table: MailboxTable,
}

impl Store {
    /// Opens the store in `dir` (created if missing), loading it into memory. A torn tail left
    /// by a crash is dropped, never misread.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let mailboxes = dir.join("mailboxes");
        let new = !dir.exists();
        fs::create_dir_all(&mailboxes).map_err(io_error(&mailboxes))?;
        if new && let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        sync_dir(dir)?;
        let path = catalogue_path(dir);
        if !path.exists() {
            Log::create(&path)?;
        }
        let (catalogue_log, records) = Log::open(&path, catalogue::Record::decode)?;
        let mut catalogue = Catalogue::default();
        for record in records {
            catalogue
                .check(&record)
                .map_err(|error| damaged(&path, error))?;
            catalogue.apply(record);
        }
        let mut store = Store {
            dir: dir.to_path_buf(),
            catalogue,
            catalogue_log,
            logs: HashMap::new(),
            version: 0,
            table: MailboxTable::new(Arc::new(Base::empty())),
        };
        if store.catalogue.next_uid_validity == 0 {
            store.change_catalogue(
                catalogue::Record::Counters {
                    next_id: 1,
                    next_uid_validity: uid_validity_seed(),
                },
                Durability::Synced,
            )?;
        }
        for entry in store.catalogue.entries.values_mut() {
            let path = mailbox_path(dir, entry.id);
            if !path.exists() {
                return Err(damaged(&catalogue_path(dir), "a mailbox's log is missing"));
            }
            let (mut log, records) = Log::open(&path, mailbox::Record::decode)?;
            for record in records {
                entry
                    .mailbox
                    .apply(record)
                    .map_err(|reason| damaged(&path, reason))?;
            }
            log.compact_if_larger(entry.mailbox.live_size(), || entry.mailbox.snapshot())?;
            store.logs.insert(entry.id, log);
        }
        store
            .catalogue_log
            .compact_if_larger(store.catalogue.live_size(), || store.catalogue.snapshot())?;
        store.remove_strays()?;
        store.rebuild_table();
        Ok(store)
    }

    /// Removes the files of `mailboxes/` that are no mailbox's log: logs of creates the
    /// catalogue never recorded, or of deletes a crash interrupted, and compactions' leftovers.
    fn remove_strays(&self) -> Result<(), StoreError> {
        let mailboxes = self.dir.join("mailboxes");
        for file in fs::read_dir(&mailboxes).map_err(io_error(&mailboxes))? {
            let path = file.map_err(io_error(&mailboxes))?.path();
            let id = path
                .file_name()
                .and_then(|name| name.to_str()?.strip_suffix(".log"))
                .and_then(|id| u64::from_str_radix(id, 16).ok());
            if id.is_none_or(|id| !self.logs.contains_key(&id)) && path.is_file() {
                fs::remove_file(&path).map_err(io_error(&path))?;
            }
        }
        Ok(())
    }

    /// A number raised by every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The store's mailboxes as a MUPDATE-style table (name, ACL), which sessions answer LIST,
    /// LSUB and the ACL commands from, with the proxy's code (`corvid_mupdate::view`).
    pub fn table(&self) -> &MailboxTable {
        &self.table
    }

    /// Rebuilds [`Store::table`] from the catalogue: mailbox creation, deletion, renames and
    /// ACL changes are rare next to message traffic, so a whole rebuild (linear in the
    /// mailboxes) keeps it simple. Entries carry the location `local`: a backend's sessions
    /// use the table for names and rights, never for routing.
    fn rebuild_table(&mut self) {
        let entries = self.catalogue.entries.values().map(|entry| EntryRef {
            name: entry.mailbox.name.as_bytes(),
            location: b"local",
            acl: &entry.mailbox.acl,
            state: State::Active,
        });
        match Base::build(entries, self.version) {
            Ok(base) => self.table = MailboxTable::new(Arc::new(base)),
            // Only a table past 4 GiB fails to build; the previous one stays.
            Err(error) => tracing::error!(%error, "could not rebuild the mailbox table"),
        }
    }

    /// The mailbox with this internal name.
    pub fn mailbox(&self, name: &str) -> Option<&Mailbox> {
        self.catalogue.get(name).map(|entry| &entry.mailbox)
    }

    /// Every mailbox, in Cyrus dbname order (`corvid_proto::mailbox::dbname_cmp`).
    pub fn mailboxes(&self) -> impl Iterator<Item = &Mailbox> {
        self.catalogue.entries.values().map(|entry| &entry.mailbox)
    }

    /// The space of the file system that holds the store.
    pub fn space(&self) -> std::io::Result<Space> {
        let stats = rustix::fs::statvfs(&self.dir)?;
        Ok(Space {
            free: stats.f_bavail.saturating_mul(stats.f_frsize),
            total: stats.f_blocks.saturating_mul(stats.f_frsize),
        })
    }

    /// The mailbox `root` and every mailbox below it (`root.*`), in dbname order, without
    /// scanning the others.
    pub fn subtree<'s>(&'s self, root: &str) -> impl Iterator<Item = &'s Mailbox> + 's {
        self.catalogue.subtree(root).map(|entry| &entry.mailbox)
    }

    /// Creates an empty mailbox with this ACL.
    pub fn create(&mut self, name: &str, acl: &[u8]) -> Result<&Mailbox, StoreError> {
        let id = self.catalogue.next_id;
        let record = catalogue::Record::Create {
            name: name.to_owned(),
            id,
            uid_validity: self.catalogue.next_uid_validity,
            acl: acl.to_vec(),
        };
        self.create_log_for(id, &record)?;
        self.change_catalogue(record, Durability::Synced)?;
        self.mailbox(name)
            .ok_or_else(|| StoreError::NoMailbox(name.to_owned()))
    }

    /// Deletes one mailbox (its children, if any, stay).
    pub fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        let record = catalogue::Record::Delete {
            name: name.to_owned(),
        };
        if let Some(id) = self.change_catalogue(record, Durability::Synced)?.removed {
            self.logs.remove(&id);
            let path = mailbox_path(&self.dir, id);
            // The catalogue no longer names it: should this fail, the next open removes it.
            if let Err(error) = fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), %error, "could not remove a deleted mailbox's log");
            }
        }
        Ok(())
    }

    /// Renames a mailbox and every mailbox below it; returns each `(old, new)` name, the
    /// mailbox's own first. Renaming a user's INBOX (`user.john`) moves its messages to the new
    /// mailbox and leaves the INBOX empty, its children where they are (RFC 3501 §6.3.5).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<Vec<(String, String)>, StoreError> {
        let (from, to) = (from.to_owned(), to.to_owned());
        let record = if is_inbox(from.as_bytes()) {
            let id = self.catalogue.next_id;
            let record = catalogue::Record::RenameInbox {
                from,
                to,
                id,
                uid_validity: self.catalogue.next_uid_validity,
            };
            self.create_log_for(id, &record)?;
            record
        } else {
            catalogue::Record::Rename { from, to }
        };
        Ok(self.change_catalogue(record, Durability::Synced)?.renamed)
    }

    /// Replaces a mailbox's ACL.
    pub fn set_acl(&mut self, name: &str, acl: &[u8]) -> Result<(), StoreError> {
        let record = catalogue::Record::SetAcl {
            name: name.to_owned(),
            acl: acl.to_vec(),
        };
        self.change_catalogue(record, Durability::Synced).map(drop)
    }

    /// Appends a message; it is on disk (synced) when this returns. Returns its UID.
    pub fn append(
        &mut self,
        name: &str,
        flags: SystemFlags,
        keywords: &[&[u8]],
        internal_date: DateTime,
        message: &[u8],
    ) -> Result<u32, StoreError> {
        if message.len() > MAX_MESSAGE {
            return Err(StoreError::Refused(
                "the message is too large for the store",
            ));
        }
        let mailbox = self.existing(name)?;
        let uid = mailbox.uid_next;
        let record = mailbox::Record::Append(Message {
            uid: checked_uid(uid)?,
            flags,
            keywords: keywords.iter().map(|&k| Box::from(k)).collect(),
            internal_date,
            modseq: mailbox.next_modseq(),
            bytes: Arc::from(message),
        });
        self.change_mailbox(name, vec![record], Durability::Synced)?;
        Ok(uid)
    }

    /// Changes the flags of the messages with these UIDs (UIDs not in the mailbox are
    /// skipped); returns the UIDs whose flags changed.
    pub fn update_flags(
        &mut self,
        name: &str,
        uids: &[u32],
        change: FlagChange<'_>,
    ) -> Result<Vec<u32>, StoreError> {
        let mailbox = self.existing(name)?;
        let changed = mailbox.present(uids, |message| message.changed_by(&change).is_some());
        if changed.is_empty() {
            return Ok(changed);
        }
        let record = mailbox::Record::Flags {
            modseq: mailbox.next_modseq(),
            mode: change.mode,
            flags: change.flags,
            keywords: change.keywords.iter().map(|&k| Box::from(k)).collect(),
            uids: changed.clone(),
        };
        self.change_mailbox(name, vec![record], Durability::Written)?;
        Ok(changed)
    }

    /// Removes the messages with these UIDs (others skipped).
    pub fn expunge(&mut self, name: &str, uids: &[u32]) -> Result<(), StoreError> {
        let mailbox = self.existing(name)?;
        let present = mailbox.present(uids, |_| true);
        if present.is_empty() {
            return Ok(());
        }
        let record = mailbox::Record::Expunge {
            modseq: mailbox.next_modseq(),
            uids: present,
        };
        self.change_mailbox(name, vec![record], Durability::Synced)
    }

    /// Copies the messages with these UIDs (ascending) to `to`, keeping flags and internal
    /// dates; synced when this returns. Returns the new UIDs, in the same order.
    pub fn copy(&mut self, from: &str, uids: &[u32], to: &str) -> Result<Vec<u32>, StoreError> {
        let source = self.existing(from)?;
        let target = self.existing(to)?;
        let (first, modseq) = (target.uid_next, target.next_modseq());
        let mut records = Vec::new();
        let mut new_uids = Vec::new();
        for &uid in uids {
            let Ok(at) = source.position(uid) else {
                continue;
            };
            let new_uid = checked_uid(first.saturating_add(new_uids.len() as u32))?;
            records.push(mailbox::Record::Append(Message {
                uid: new_uid,
                modseq,
                ..source.messages[at].clone()
            }));
            new_uids.push(new_uid);
        }
        if !records.is_empty() {
            self.change_mailbox(to, records, Durability::Synced)?;
        }
        Ok(new_uids)
    }

    /// Claims the mailbox's `\Recent` messages for one session: returns the first UID recent
    /// for it, and makes them not recent for any later session.
    pub fn claim_recent(&mut self, name: &str) -> Result<u32, StoreError> {
        let mailbox = self.existing(name)?;
        let (first, uid_next) = (mailbox.recent_from, mailbox.uid_next);
        if first < uid_next {
            let record = mailbox::Record::Recent { from: uid_next };
            self.change_mailbox(name, vec![record], Durability::Written)?;
        }
        Ok(first)
    }

    /// The internal names `user` is subscribed to, sorted.
    pub fn subscriptions(&self, user: &str) -> &[String] {
        self.catalogue
            .subscriptions
            .get(user)
            .map_or(&[], Vec::as_slice)
    }

    /// Subscribes `user` to a name (which need not exist).
    pub fn subscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        if self
            .subscriptions(user)
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
        {
            return Ok(());
        }
        let record = catalogue::Record::Subscribe {
            user: user.to_owned(),
            name: name.to_owned(),
        };
        self.change_catalogue(record, Durability::Written).map(drop)
    }

    /// Removes a subscription; unknown ones are not an error.
    pub fn unsubscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        if self
            .subscriptions(user)
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_err()
        {
            return Ok(());
        }
        let record = catalogue::Record::Unsubscribe {
            user: user.to_owned(),
            name: name.to_owned(),
        };
        self.change_catalogue(record, Durability::Written).map(drop)
    }

    /// The mailbox with this name, or [`StoreError::NoMailbox`].
    fn existing(&self, name: &str) -> Result<&Mailbox, StoreError> {
        self.mailbox(name)
            .ok_or_else(|| StoreError::NoMailbox(name.to_owned()))
    }

    /// Creates the empty log of the mailbox `record` will create with this id, once the record
    /// is known to apply.
    fn create_log_for(&mut self, id: u64, record: &catalogue::Record) -> Result<(), StoreError> {
        self.catalogue.check(record)?;
        let log = Log::create(&mailbox_path(&self.dir, id))?;
        self.logs.insert(id, log);
        Ok(())
    }

    /// Checks, writes and applies one catalogue change, then compacts the catalogue if due.
    fn change_catalogue(
        &mut self,
        record: catalogue::Record,
        durability: Durability,
    ) -> Result<Applied, StoreError> {
        self.catalogue.check(&record)?;
        let mut batch = Vec::new();
        record.encode(&mut batch);
        self.catalogue_log.write(&batch, durability)?;
        let names_changed = !matches!(
            record,
            catalogue::Record::Counters { .. }
                | catalogue::Record::Subscribe { .. }
                | catalogue::Record::Unsubscribe { .. }
        );
        let applied = self.catalogue.apply(record);
        self.version += 1;
        if names_changed {
            self.rebuild_table();
        }
        if self.catalogue_log.due_for_weighing() {
            let catalogue = &self.catalogue;
            if let Err(error) = self
                .catalogue_log
                .compact_if_larger(catalogue.live_size(), || catalogue.snapshot())
            {
                tracing::warn!(%error, "could not compact the catalogue");
            }
        }
        Ok(applied)
    }

    /// Writes and applies changes to one mailbox, in batches of at most about
    /// [`MAX_BATCH`] bytes (each synced but the last, which is written as `durability` asks),
    /// then compacts its log if due (after an expunge, always weighed).
    fn change_mailbox(
        &mut self,
        name: &str,
        records: Vec<mailbox::Record>,
        durability: Durability,
    ) -> Result<(), StoreError> {
        let entry = self
            .catalogue
            .entries
            .get_mut(&DbName::from(name))
            .ok_or_else(|| StoreError::NoMailbox(name.to_owned()))?;
        let log = self
            .logs
            .get_mut(&entry.id)
            .ok_or(StoreError::Refused("the mailbox's log is not open"))?;
        let expunged = records
            .iter()
            .any(|r| matches!(r, mailbox::Record::Expunge { .. }));
        let mut batch = Vec::new();
        let mut pending = Vec::new();
        let mut records = records.into_iter().peekable();
        while let Some(record) = records.next() {
            record.encode(&mut batch);
            pending.push(record);
            let last = records.peek().is_none();
            if last || batch.len() >= MAX_BATCH {
                log.write(&batch, if last { durability } else { Durability::Synced })?;
                for record in pending.drain(..) {
                    entry.mailbox.apply(record).map_err(StoreError::Refused)?;
                }
                batch.clear();
                self.version += 1;
            }
        }
        if expunged || log.due_for_weighing() {
            let mailbox = &entry.mailbox;
            if let Err(error) = log.compact_if_larger(mailbox.live_size(), || mailbox.snapshot()) {
                tracing::warn!(mailbox = name, %error, "could not compact a mailbox's log");
            }
        }
        Ok(())
    }
}

impl Mailbox {
    /// The UIDs of `uids` that are in the mailbox and pass `keep`, ascending, once each.
    fn present(&self, uids: &[u32], keep: impl Fn(&Message) -> bool) -> Vec<u32> {
        let mut present: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|&uid| self.position(uid).is_ok_and(|at| keep(&self.messages[at])))
            .collect();
        present.sort_unstable();
        present.dedup();
        present
    }
}

/// `uid` if a message may take it (UIDs end at `u32::MAX - 1`, so `uid_next` stays a `u32`).
fn checked_uid(uid: u32) -> Result<u32, StoreError> {
    if uid < u32::MAX {
        Ok(uid)
    } else {
        Err(StoreError::Refused("the mailbox has run out of UIDs"))
    }
}

/// The first UIDVALIDITY of a new store: the time, in seconds since 1970 (as Cyrus does).
fn uid_validity_seed() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    u32::try_from(now).unwrap_or(u32::MAX / 2).max(1)
}

fn catalogue_path(dir: &Path) -> PathBuf {
    dir.join("catalogue.log")
}

fn mailbox_path(dir: &Path, id: u64) -> PathBuf {
    dir.join("mailboxes").join(format!("{id:016x}.log"))
}

/// A record that does not follow the ones before it, found at open.
fn damaged(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Damaged {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}
