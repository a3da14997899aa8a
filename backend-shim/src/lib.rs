//! corvid-shim: the backend side of the murder.
//!
//! * [`shim`] is the agent that keeps the MUPDATE master in step with a backend that does not
//!   speak MUPDATE (Dovecot first): `corvid shim`.
//! * [`message`] is the first part of corvid's reference IMAP backend (the rest is still to
//!   come, issue 5): it parses a stored message into its MIME tree and answers ENVELOPE,
//!   BODYSTRUCTURE, BODY and `BODY[section]<partial>`, without I/O.

pub mod message;
pub mod shim;
