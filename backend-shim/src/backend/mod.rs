//! `corvid backend`: corvid's reference IMAP backend, murder-aware like a Cyrus backend.
//!
//! * [`store`]: mailboxes and messages on disk, served from memory.
//! * [`session`]: one client connection, sans-IO.
//! * [`fetch`]: the FETCH response of one message, and flag lists.
//! * [`search`]: whether a message matches a SEARCH key.
pub mod fetch;
pub mod search;
pub mod session;
pub mod store;
#[cfg(test)]
mod testing;
