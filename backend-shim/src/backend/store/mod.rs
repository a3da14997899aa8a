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

use std::path::Path;
use std::sync::Arc;

use corvid_proto::imap::request::{DateTime, StoreMode};

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

/// The mail store of one backend.
#[derive(Debug)]
pub struct Store {}

#[allow(unused_variables, clippy::todo)]
impl Store {
    /// Opens the store in `dir` (created if missing), loading it into memory. A torn tail left
    /// by a crash is dropped, never misread.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        todo!()
    }

    /// A number raised by every change.
    pub fn version(&self) -> u64 {
        todo!()
    }

    /// The store's mailboxes as a MUPDATE-style table (name, ACL), which sessions answer LIST,
    /// LSUB and the ACL commands from, with the proxy's code (`corvid_mupdate::view`).
    pub fn table(&self) -> &corvid_mupdate::table::MailboxTable {
        todo!()
    }

    /// The mailbox with this internal name.
    pub fn mailbox(&self, name: &str) -> Option<&Mailbox> {
        todo!()
    }

    /// Every mailbox, in Cyrus dbname order (`corvid_proto::mailbox::dbname_cmp`).
    pub fn mailboxes(&self) -> impl Iterator<Item = &Mailbox> {
        std::iter::empty()
    }

    /// The mailbox `root` and every mailbox below it (`root.*`), in dbname order, without
    /// scanning the others.
    pub fn subtree<'s>(&'s self, root: &str) -> impl Iterator<Item = &'s Mailbox> + 's {
        std::iter::empty()
    }

    /// Creates an empty mailbox with this ACL.
    pub fn create(&mut self, name: &str, acl: &[u8]) -> Result<&Mailbox, StoreError> {
        todo!()
    }

    /// Deletes one mailbox (its children, if any, stay).
    pub fn delete(&mut self, name: &str) -> Result<(), StoreError> {
        todo!()
    }

    /// Renames a mailbox and every mailbox below it; returns each `(old, new)` name, the
    /// mailbox's own first. Renaming a user's INBOX (`user.john`) moves its messages to the new
    /// mailbox and leaves the INBOX empty, its children where they are (RFC 3501 §6.3.5).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<Vec<(String, String)>, StoreError> {
        todo!()
    }

    /// Replaces a mailbox's ACL.
    pub fn set_acl(&mut self, name: &str, acl: &[u8]) -> Result<(), StoreError> {
        todo!()
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
        todo!()
    }

    /// Changes the flags of the messages with these UIDs (UIDs not in the mailbox are
    /// skipped); returns the UIDs whose flags changed.
    pub fn update_flags(
        &mut self,
        name: &str,
        uids: &[u32],
        change: FlagChange<'_>,
    ) -> Result<Vec<u32>, StoreError> {
        todo!()
    }

    /// Removes the messages with these UIDs (others skipped).
    pub fn expunge(&mut self, name: &str, uids: &[u32]) -> Result<(), StoreError> {
        todo!()
    }

    /// Copies the messages with these UIDs (ascending) to `to`, keeping flags and internal
    /// dates; synced when this returns. Returns the new UIDs, in the same order.
    pub fn copy(&mut self, from: &str, uids: &[u32], to: &str) -> Result<Vec<u32>, StoreError> {
        todo!()
    }

    /// Claims the mailbox's `\Recent` messages for one session: returns the first UID recent
    /// for it, and makes them not recent for any later session.
    pub fn claim_recent(&mut self, name: &str) -> Result<u32, StoreError> {
        todo!()
    }

    /// The internal names `user` is subscribed to, sorted.
    pub fn subscriptions(&self, user: &str) -> &[String] {
        todo!()
    }

    /// Subscribes `user` to a name (which need not exist).
    pub fn subscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        todo!()
    }

    /// Removes a subscription; unknown ones are not an error.
    pub fn unsubscribe(&mut self, user: &str, name: &str) -> Result<(), StoreError> {
        todo!()
    }
}
