//! `corvid shim`'s library: keeps the MUPDATE master in step with a backend that does not
//! speak MUPDATE (Dovecot, or any IMAP server with an admin login).
//!
//! * [`reconcile`]: the sans-IO core, from the backend's mailboxes and the master's entries to
//!   a [`Plan`] (Cyrus's three `ctl_mboxlist -m` rules, the local delete made opt-in).
//! * [`dovecot`]: discovery through `doveadm` (users, mailboxes, ACLs) and local deletes.
//! * [`imap`]: discovery over IMAP through an admin login (NAMESPACE, LIST, GETACL).
//! * [`agent`]: one reconcile against the master through the blocking MUPDATE client.

pub mod agent;
pub mod dovecot;
pub mod imap;
pub mod reconcile;

pub use agent::{Agent, AgentConfig, AgentError, Credentials, Outcome};
pub use dovecot::Doveadm;
pub use imap::ImapAdmin;
pub use reconcile::{BackendView, MasterView, Placement, Plan};
