//! The proxy's view of IMAP: framing, command heads, response classification and writing.
//!
//! Two stages, as DESIGN.md lays out: the [`framer`] finds message boundaries (lines and
//! literals) in a byte stream and streams literal payloads through; the [`command`] head parser
//! then reads only what routing needs. Everything else passes to the backend byte for byte.

pub mod command;
pub mod framer;
pub mod request;
pub mod response;
pub mod writer;
