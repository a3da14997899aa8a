//! corvid-proto: every byte corvid puts on or takes off the wire, with no I/O.
//!
//! This crate is sans-IO: functions take bytes (and, where it matters, the time as a value) and
//! return values, events or bytes. It depends on no runtime, socket, TLS library or clock, and
//! it has no `unsafe`. Network input is untrusted: every parser reports *incomplete* (more bytes
//! may help) apart from *invalid* (they cannot), and never panics.
//!
//! # Layout
//!
//! * [`lex`]: the tokens IMAP and MUPDATE share: atoms, tags, numbers, quoted strings, literals
//!   (`{n}`, `{n+}`, `~{n}`), astrings.
//! * [`imap`]: the proxy's view of IMAP. [`imap::framer`] splits a byte stream into lines and
//!   literals without gathering literal payloads; [`imap::command`] reads a command's head (tag,
//!   `UID`, name and the mailbox arguments routing needs); [`imap::response`] classifies backend
//!   output; [`imap::writer`] writes the responses the proxy produces itself. For a server,
//!   [`imap::request`] parses whole commands, every argument included.
//! * [`mailbox`]: mailbox names: modified UTF-7, the external (client) view and Cyrus internal
//!   names, and the Cyrus *dbname* order MUPDATE lists are sorted in.
//! * [`message`]: the MIME view of a stored message for a server's FETCH: ENVELOPE,
//!   BODYSTRUCTURE, `BODY[section]<partial>` (used by corvid's reference backend).
//! * [`acl`]: ACL strings as MUPDATE carries them, RFC 4314 rights and their evaluation.
//! * [`mupdate`]: the full RFC 3656 codec, both directions, with Cyrus's wire habits.
//! * [`fuzzing`]: the bodies of the fuzz targets in `proto/fuzz`, also replayed by `cargo test`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod acl;
pub mod fuzzing;
pub mod imap;
pub mod lex;
pub mod mailbox;
pub mod message;
pub mod mupdate;
