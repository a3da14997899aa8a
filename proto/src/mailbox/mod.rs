//! Mailbox names: modified UTF-7, the client's view and Cyrus internal names, and dbname order.
//!
//! * [`mutf7`]: strict validation, decoding and encoding of modified UTF-7 (RFC 3501 §5.1.3).
//! * [`name`]: the [`Namespace`] that maps a user's external names (`INBOX/Sent`,
//!   `Other Users/jane`, `Shared Folders/lists`) to Cyrus internal names (`user.john.Sent`,
//!   `user.jane`, `lists`) and back, with virtual domains; [`owner_of`], [`is_inbox`] and
//!   [`is_shared_folder`].
//! * [`dbname`]: Cyrus's mailboxes.db order, which MUPDATE LIST and UPDATE are sent in:
//!   [`dbname_cmp`], the [`DbName`] map key and [`subtree_range`].

pub mod dbname;
pub mod mutf7;
pub mod name;

pub use dbname::{DbName, dbname_cmp, in_subtree, subtree_range, to_dbname_key};
pub use mutf7::{Mutf7Error, Mutf7ErrorKind};
pub use name::{
    NameError, Namespace, NamespaceConfig, NamespaceError, Separator, User, is_inbox,
    is_shared_folder, owner_of, split_domain,
};
