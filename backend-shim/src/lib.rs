//! corvid-shim: the backend side of the murder.
//!
//! It will hold the agent that keeps the MUPDATE master in step with a backend that does not
//! speak MUPDATE (Dovecot first), and corvid's reference IMAP backend used by the demo, the
//! tests and the benchmarks. Nothing is implemented yet: see issue 5 ("The backend side and the
//! demo").
