//! The MUPDATE master: the murder's authoritative mailbox table, served over RFC 3656.
//!
//! [`auth`] says who may log in and what each role may do; [`state`] is the shared state
//! (table, writes, durability, change log); [`session`] is one connection's protocol state
//! machine. All three are sans-IO. [`server`] is the glommio driver that moves bytes between
//! sockets, sessions and the disk; [`tls`] makes its STARTTLS configuration and [`config`]
//! reads the configuration file.

pub mod auth;
pub mod config;
pub mod server;
pub mod session;
pub mod state;
pub mod tls;

pub use auth::{Identity, Role, Users};
pub use session::{Action, Session, SessionConfig};
pub use state::{Master, Write};

use corvid_proto::mupdate::{Banner, Role as BannerRole};

/// The banner of a corvid master calling itself `host`: SASL PLAIN, Cyrus's PARTIAL-UPDATE,
/// and the resumable stream ([`crate::resume`]).
pub fn banner(host: &str) -> Banner {
    Banner {
        mechanisms: vec!["PLAIN".into()],
        starttls: false,
        compress: Vec::new(),
        partial_update: true,
        extensions: vec![crate::resume::CAPABILITY.to_vec()],
        host: host.to_string(),
        implementation: "corvid".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        role: BannerRole::Master,
    }
}
