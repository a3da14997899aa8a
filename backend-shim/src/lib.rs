//! corvid-shim: the backend side of the murder.
//!
//! [`shim`] is the agent that keeps the MUPDATE master in step with a backend that does not
//! speak MUPDATE (Dovecot first): `corvid shim`. [`backend`] is corvid's reference IMAP
//! backend: `corvid backend`.

pub mod backend;
pub mod shim;
