//! corvid-shim: the backend side of the murder.
//!
//! It will hold the agent that keeps the MUPDATE master in step with a backend that does not
//! speak MUPDATE (Dovecot first), and corvid's reference IMAP backend used by the demo, the
//! tests and the benchmarks (issue 5, "The backend side and the demo"). So far it holds the
//! reference backend's message view: [`message`] parses a stored message into its MIME tree and
//! answers ENVELOPE, BODYSTRUCTURE, BODY and `BODY[section]<partial>`, without I/O.

pub mod message;
