//! corvid-proxy: the frontend that clients connect to.
//!
//! It will run one glommio executor per core, terminate TLS with rustls, parse each command's
//! head with `corvid-proto` and route it to the backend that holds the mailbox it names, using
//! the mailbox table from `corvid-mupdate`. Nothing is implemented yet: see issue 4 ("The
//! frontend proxy: thread-per-core, TLS, and per-mailbox routing").

pub mod admin;
pub mod stats;
