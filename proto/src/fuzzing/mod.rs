//! Fuzz target bodies, shared by `proto/fuzz` (cargo-fuzz) and `cargo test` (corpus replay).
//!
//! Each body takes arbitrary bytes and asserts the invariants of one parser: no panic, bounded
//! output, and the round trips that must hold. The fuzz crate calls them from its targets; the
//! test `tests/fuzz_corpus.rs` replays every file of the committed corpus through them on stable.

pub mod acl;
pub mod command;
pub mod framer;
pub mod mailbox;
pub mod message;
pub mod mupdate;
pub mod request;
pub mod response;
