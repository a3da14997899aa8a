//! STUB (being written on branch h-render).
#![allow(missing_docs, unused_variables, clippy::todo)]
use super::store::{Message, SystemFlags};
use corvid_proto::imap::request::FetchAttr;
pub fn write_fetch(
    out: &mut Vec<u8>,
    seq: u32,
    message: &Message,
    recent: bool,
    attrs: &[FetchAttr<'_>],
    with_uid: bool,
) {
    todo!()
}
pub fn sets_seen(attrs: &[FetchAttr<'_>]) -> bool {
    todo!()
}
pub fn write_flags(out: &mut Vec<u8>, flags: SystemFlags, keywords: &[Box<[u8]>], recent: bool) {
    todo!()
}
