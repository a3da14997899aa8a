//! corvid-mupdate: the murder's control plane.
//!
//! It will hold the mailbox table (an rkyv snapshot plus a delta overlay), the MUPDATE master
//! server with its durable store, and the follower client used by the proxy and the shim.
//! The wire format lives in `corvid-proto::mupdate`; this crate adds state, storage and I/O.
//! Nothing is implemented yet: see issue 3 ("The MUPDATE master, the mailbox table, and the
//! follower").
