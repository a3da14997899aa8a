//! corvid-shim: the backend side of the murder.
//!
//! [`shim`] is the agent that keeps the MUPDATE master in step with a backend that does not
//! speak MUPDATE (Dovecot first): `corvid shim`. corvid's reference IMAP backend, used by the
//! demo, the tests and the benchmarks, is still to come (issue 5, "The backend side and the
//! demo").

pub mod shim;
