//! corvid-shim: the backend side of the murder.
//!
//! [`shim`] is the agent that keeps the MUPDATE master in step with a backend that does not
//! speak MUPDATE (Dovecot first): `corvid shim`. corvid's reference IMAP backend is still to
//! come (issue 5); the MIME view of a message it will serve FETCH from is
//! `corvid_proto::message`.

pub mod shim;
