//! IMAP: the proxy's framing, command heads, response classification and writing, and a server's
//! full command parser.
//!
//! Two stages, as DESIGN.md lays out: the [`framer`] finds message boundaries (lines and
//! literals) in a byte stream and streams literal payloads through; the [`command`] head parser
//! then reads only what routing needs. Everything else passes to the backend byte for byte.
//! A server needs more: [`request`] parses a whole command, every argument, for corvid's
//! reference backend. [`metadata`] is the one METADATA entry a murder reads: a backend's free
//! space.

pub mod command;
pub mod framer;
pub mod metadata;
pub mod request;
pub mod response;
pub mod writer;
