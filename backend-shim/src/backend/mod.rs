//! `corvid backend`: corvid's reference IMAP backend, murder-aware like a Cyrus backend.
//!
//! * [`store`]: mailboxes and messages on disk, served from memory.
//! * [`session`]: one client connection, sans-IO.
//! * [`fetch`]: the FETCH response of one message, and flag lists.
//! * [`search`]: whether a message matches a SEARCH key.
//! * [`server`]: the glommio driver (one executor owning the store, a task per connection).
//! * [`registrar`]: the thread that keeps the MUPDATE master in step with the store.
//! * [`config`]: the TOML configuration file.

pub mod config;
pub mod fetch;
pub mod registrar;
pub mod search;
pub mod server;
pub mod session;
pub mod store;
#[cfg(test)]
mod testing;
