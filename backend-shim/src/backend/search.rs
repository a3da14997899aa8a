//! STUB (being written on branch h-render).
#![allow(missing_docs, unused_variables, clippy::todo)]
use super::store::Message;
use corvid_proto::imap::request::SearchKey;
pub struct Candidate<'m> {
    pub seq: u32,
    pub message: &'m Message,
    pub recent: bool,
}
#[derive(Clone, Copy)]
pub struct Bounds {
    pub largest_seq: u32,
    pub largest_uid: u32,
}
pub fn matches(key: &SearchKey<'_>, candidate: &Candidate<'_>, bounds: Bounds) -> bool {
    todo!()
}
