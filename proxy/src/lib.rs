//! corvid-proxy: the frontend that clients connect to.
//!
//! One glommio executor per core terminates TLS, parses each command's head with
//! `corvid-proto` and routes it to the backend that holds the mailbox it names, using the
//! mailbox table that the embedded MUPDATE follower keeps current.
//!
//! * [`session`]: one client's session as a sans-IO state machine (client side, backend links,
//!   routing); the heart of the proxy.
//! * what the table says to one user (name resolution, LIST/LSUB, GETACL, MYRIGHTS,
//!   LISTRIGHTS) is `corvid_mupdate::view`, shared with the reference backend.
//! * [`fuzzing`]: the session's fuzz body, replayed by `cargo test`.
//! * [`failures`]: failed logins counted per source address; [`journal`]: the files that make
//!   a RENAME across backends resumable.
//! * [`placement`]: which backend an administrator's new user goes to, with [`survey`]: the
//!   backends' free space, asked in the background; [`master`]: the
//!   proxy's own MUPDATE writes, for CREATEs on backends that do not register themselves.
//! * [`config`]: the TOML configuration file; [`reload`]: what SIGHUP re-reads (TLS files,
//!   the password file of `corvid_mupdate::passwords`).
//! * [`stats`]: per-core counters and latency histograms (one writer per core, no locks);
//!   [`admin`]: the admin HTTP endpoint (`/metrics`, `/stats`).
//! * [`server`]: the glommio driver: executors per core, listeners, TLS, backend connections,
//!   and the follower that keeps every core's table current.

pub mod admin;
pub mod config;
pub mod failures;
pub mod fuzzing;
pub mod journal;
pub mod master;
pub mod placement;
pub mod reload;
pub mod server;
pub mod session;
pub mod stats;
pub mod survey;
