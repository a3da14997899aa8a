//! A mailbox's log records, and how each changes a [`Mailbox`] in memory.
//!
//! Every change is made twice the same way: live, by encoding a record, writing it, then
//! [`Mailbox::apply`]ing it; at open, by decoding the records and applying them in order. One
//! `apply` serves both, so what a restart rebuilds is what the sessions saw.
//!
//! Keywords compare without regard to ASCII case (as Cyrus and Dovecot treat them); a mailbox
//! keeps each in the case it was first set with, and its messages use that spelling.

use std::cmp::Ordering;
use std::sync::Arc;

use corvid_proto::imap::request::StoreMode;

use super::codec::{self, Reader};
use super::{FlagChange, Mailbox, Message, SystemFlags};

const STATE: u8 = 0;
const APPEND: u8 = 1;
const FLAGS: u8 = 2;
const EXPUNGE: u8 = 3;
const RECENT: u8 = 4;

/// One change to a mailbox, as its log holds it.
#[derive(Debug)]
pub(super) enum Record {
    /// The counters and keywords of a compacted log (after its messages).
    State {
        /// [`Mailbox::uid_next`].
        uid_next: u32,
        /// [`Mailbox::highest_modseq`].
        highest_modseq: u64,
        /// [`Mailbox::recent_from`].
        recent_from: u32,
        /// [`Mailbox::keywords`].
        keywords: Vec<Box<[u8]>>,
    },
    /// A message arrived (APPEND or COPY), or survived a compaction.
    Append(Message),
    /// A flag change, applied to these UIDs (those it changed when it was made).
    Flags {
        /// The modification sequence of the change.
        modseq: u64,
        /// Replace, add or remove.
        mode: StoreMode,
        /// The system flags.
        flags: SystemFlags,
        /// The keywords.
        keywords: Vec<Box<[u8]>>,
        /// The messages, ascending.
        uids: Vec<u32>,
    },
    /// Messages removed.
    Expunge {
        /// The modification sequence of the change.
        modseq: u64,
        /// The messages, ascending.
        uids: Vec<u32>,
    },
    /// The `\Recent` messages were claimed up to here.
    Recent {
        /// The new [`Mailbox::recent_from`].
        from: u32,
    },
}

impl Record {
    /// Appends the record, framed, to a batch.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        corvid_mupdate::store::wal::push_record(out, |out| match self {
            Record::State {
                uid_next,
                highest_modseq,
                recent_from,
                keywords,
            } => {
                out.push(STATE);
                out.extend_from_slice(&uid_next.to_le_bytes());
                out.extend_from_slice(&highest_modseq.to_le_bytes());
                out.extend_from_slice(&recent_from.to_le_bytes());
                codec::put_list(out, keywords);
            }
            Record::Append(message) => {
                out.push(APPEND);
                out.extend_from_slice(&message.uid.to_le_bytes());
                out.extend_from_slice(&message.modseq.to_le_bytes());
                out.push(message.flags.0);
                codec::put_date_time(out, &message.internal_date);
                codec::put_list(out, &message.keywords);
                codec::put_bytes(out, &message.bytes);
            }
            Record::Flags {
                modseq,
                mode,
                flags,
                keywords,
                uids,
            } => {
                out.push(FLAGS);
                out.extend_from_slice(&modseq.to_le_bytes());
                out.push(match mode {
                    StoreMode::Replace => 0,
                    StoreMode::Add => 1,
                    StoreMode::Remove => 2,
                });
                out.push(flags.0);
                codec::put_list(out, keywords);
                codec::put_uids(out, uids);
            }
            Record::Expunge { modseq, uids } => {
                out.push(EXPUNGE);
                out.extend_from_slice(&modseq.to_le_bytes());
                codec::put_uids(out, uids);
            }
            Record::Recent { from } => {
                out.push(RECENT);
                out.extend_from_slice(&from.to_le_bytes());
            }
        });
    }

    /// Decodes a record's payload; `None` if it is not one.
    pub(super) fn decode(payload: &[u8]) -> Option<Record> {
        let mut r = Reader::new(payload);
        let record = match r.u8()? {
            STATE => Record::State {
                uid_next: r.u32()?,
                highest_modseq: r.u64()?,
                recent_from: r.u32()?,
                keywords: r.list()?,
            },
            APPEND => {
                let uid = r.u32()?;
                let modseq = r.u64()?;
                let flags = system_flags(r.u8()?)?;
                let internal_date = r.date_time()?;
                let keywords = r.list()?;
                let bytes = Arc::from(r.bytes()?);
                Record::Append(Message {
                    uid,
                    flags,
                    keywords,
                    internal_date,
                    modseq,
                    bytes,
                })
            }
            FLAGS => Record::Flags {
                modseq: r.u64()?,
                mode: match r.u8()? {
                    0 => StoreMode::Replace,
                    1 => StoreMode::Add,
                    2 => StoreMode::Remove,
                    _ => return None,
                },
                flags: system_flags(r.u8()?)?,
                keywords: r.list()?,
                uids: r.uids()?,
            },
            EXPUNGE => Record::Expunge {
                modseq: r.u64()?,
                uids: r.uids()?,
            },
            RECENT => Record::Recent { from: r.u32()? },
            _ => return None,
        };
        r.end()?;
        Some(record)
    }
}

/// System flags from their byte, if no unknown bit is set.
fn system_flags(bits: u8) -> Option<SystemFlags> {
    (bits & !0x1f == 0).then_some(SystemFlags(bits))
}

impl Mailbox {
    /// An empty mailbox.
    pub(super) fn empty(name: String, uid_validity: u32, acl: Vec<u8>) -> Mailbox {
        Mailbox {
            name,
            uid_validity,
            uid_next: 1,
            highest_modseq: 0,
            recent_from: 1,
            messages: Vec::new(),
            keywords: Vec::new(),
            acl,
        }
    }

    /// The modification sequence of the next change.
    pub(super) fn next_modseq(&self) -> u64 {
        self.highest_modseq + 1
    }

    /// Makes the change a record holds. `Err` says why a record cannot follow the ones before
    /// it (at open: the log is damaged; live: never, the store builds only records that fit).
    pub(super) fn apply(&mut self, record: Record) -> Result<(), &'static str> {
        match record {
            Record::State {
                uid_next,
                highest_modseq,
                recent_from,
                keywords,
            } => {
                if uid_next < self.uid_next || highest_modseq < self.highest_modseq {
                    return Err("a state record behind the messages before it");
                }
                self.uid_next = uid_next;
                self.highest_modseq = highest_modseq;
                self.recent_from = recent_from;
                for keyword in &keywords {
                    self.spell(keyword);
                }
            }
            Record::Append(mut message) => {
                if message.uid < self.uid_next || message.uid == u32::MAX {
                    return Err("a message UID not above the ones before it");
                }
                message.keywords = self.spell_all(&message.keywords);
                self.uid_next = message.uid + 1;
                self.highest_modseq = self.highest_modseq.max(message.modseq);
                self.messages.push(message);
            }
            Record::Flags {
                modseq,
                mode,
                flags,
                keywords,
                uids,
            } => {
                let keywords: Vec<&[u8]> = keywords.iter().map(|k| &**k).collect();
                let change = FlagChange {
                    mode,
                    flags,
                    keywords: &keywords,
                };
                if mode != StoreMode::Remove {
                    for keyword in &keywords {
                        self.spell(keyword);
                    }
                }
                for uid in uids {
                    let Ok(at) = self.position(uid) else {
                        continue;
                    };
                    if let Some((flags, keywords)) = self.messages[at].changed_by(&change) {
                        let keywords = self.spell_all(&keywords);
                        let message = &mut self.messages[at];
                        message.flags = flags;
                        message.keywords = keywords;
                        message.modseq = modseq;
                    }
                }
                self.highest_modseq = self.highest_modseq.max(modseq);
            }
            Record::Expunge { modseq, uids } => {
                self.messages
                    .retain(|m| uids.binary_search(&m.uid).is_err());
                self.highest_modseq = self.highest_modseq.max(modseq);
            }
            Record::Recent { from } => self.recent_from = from,
        }
        Ok(())
    }

    /// The records of the mailbox's live state: what a compacted log holds (its messages,
    /// then its counters and keywords).
    pub(super) fn snapshot(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for message in &self.messages {
            Record::Append(message.clone()).encode(&mut out);
        }
        Record::State {
            uid_next: self.uid_next,
            highest_modseq: self.highest_modseq,
            recent_from: self.recent_from,
            keywords: self.keywords.clone(),
        }
        .encode(&mut out);
        out
    }

    /// About how many bytes [`Mailbox::snapshot`] would take, without building it.
    pub(super) fn live_size(&self) -> u64 {
        self.messages
            .iter()
            .map(|m| m.bytes.len() as u64 + 64)
            .sum::<u64>()
            + 64
    }

    /// The mailbox's spelling of `keyword`, which it learns if it is new.
    fn spell(&mut self, keyword: &[u8]) -> Box<[u8]> {
        match self
            .keywords
            .binary_search_by(|known| keyword_cmp(known, keyword))
        {
            Ok(at) => self.keywords[at].clone(),
            Err(at) => {
                self.keywords.insert(at, keyword.into());
                keyword.into()
            }
        }
    }

    /// The mailbox's spellings of some keywords, sorted, without duplicates.
    fn spell_all<K: AsRef<[u8]>>(&mut self, keywords: &[K]) -> Vec<Box<[u8]>> {
        let mut spelled = keywords.iter().map(|k| self.spell(k.as_ref())).collect();
        sort_keywords(&mut spelled);
        spelled
    }
}

impl Message {
    /// The flags and keywords (sorted, without duplicates, not yet in the mailbox's spelling)
    /// `change` would give the message, if they differ from its own.
    pub(super) fn changed_by(
        &self,
        change: &FlagChange<'_>,
    ) -> Option<(SystemFlags, Vec<Box<[u8]>>)> {
        let given = change.keywords.iter().map(|&k| Box::<[u8]>::from(k));
        let (flags, mut keywords): (_, Vec<Box<[u8]>>) = match change.mode {
            StoreMode::Replace => (change.flags, given.clone().collect()),
            StoreMode::Add => (
                self.flags | change.flags,
                self.keywords.iter().cloned().chain(given.clone()).collect(),
            ),
            StoreMode::Remove => (
                SystemFlags(self.flags.0 & !change.flags.0),
                self.keywords.clone(),
            ),
        };
        sort_keywords(&mut keywords);
        if change.mode == StoreMode::Remove {
            let mut removed: Vec<Box<[u8]>> = given.collect();
            sort_keywords(&mut removed);
            keywords.retain(|k| removed.binary_search_by(|r| keyword_cmp(r, k)).is_err());
        }
        let same_keywords = keywords.len() == self.keywords.len()
            && keywords
                .iter()
                .zip(&self.keywords)
                .all(|(a, b)| keyword_cmp(a, b).is_eq());
        (flags != self.flags || !same_keywords).then_some((flags, keywords))
    }
}

/// Sorts keywords and drops duplicates, ASCII case ignored.
fn sort_keywords(keywords: &mut Vec<Box<[u8]>>) {
    keywords.sort_by(|a, b| keyword_cmp(a, b));
    keywords.dedup_by(|a, b| keyword_cmp(a, b).is_eq());
}

/// Keywords in order, ASCII case ignored.
fn keyword_cmp(a: &[u8], b: &[u8]) -> Ordering {
    a.iter()
        .map(u8::to_ascii_lowercase)
        .cmp(b.iter().map(u8::to_ascii_lowercase))
}
