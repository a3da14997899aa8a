//! corvid-mupdate: the murder's control plane.
//!
//! The mailbox table (an rkyv base plus a delta overlay, [`table`]), the MUPDATE master server
//! with its durable store, and the follower client used by the proxy and the shim. The wire
//! format lives in `corvid-proto::mupdate`; this crate adds state, storage and I/O. [`view`] is
//! what the table says to one user (name resolution, LIST/LSUB, the ACL answers), shared by the
//! proxy and the reference backend; and what corvid's servers share beyond MUPDATE: the TOML
//! file loader ([`config_file`]), the password file ([`passwords`]), the executors' io_uring
//! memory ([`runtime`]) and a small blocking IMAP client for background jobs ([`imap_client`]).

pub mod client;
pub mod config_file;
pub mod follower;
pub mod imap_client;
pub mod master;
pub mod passwords;
pub mod resume;
pub mod runtime;
pub mod store;
pub mod table;
pub mod view;
