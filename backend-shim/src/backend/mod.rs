//! `corvid backend`: corvid's reference IMAP backend, murder-aware like a Cyrus backend.
//!
//! * [`store`]: mailboxes and messages on disk, served from memory.
//! * [`session`]: one client connection, sans-IO.
//! * [`server`]: the glommio driver (one executor owning the store, a task per connection).
//! * [`registrar`]: the thread that keeps the MUPDATE master in step with the store.
//! * [`config`]: the TOML configuration file.
pub mod config;
pub mod registrar;
pub mod server;
pub mod session;
pub mod store;
