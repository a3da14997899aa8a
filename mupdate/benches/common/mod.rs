//! A synthetic murder shared by the mupdate benches: 100,000 users with 10 mailboxes each
//! (1,000,000 entries) on 8 backends, about 2% of them shared, and a realistic overlay.
//!
//! Everything is deterministic (a fixed-seed xorshift), so every run measures the same table.

#![allow(dead_code)] // each bench uses a part of this module

use std::sync::Arc;

use corvid_mupdate::table::{Base, Change, EntryRef, MailboxTable, State};
use corvid_proto::mailbox::dbname::dbname_cmp;

/// Users in the murder.
pub(crate) const USERS: u32 = 100_000;
/// Changes in the "realistic" overlay.
pub(crate) const OVERLAY: usize = 10_000;

/// Every user has these four, then six of the rest (chosen per user).
const ALWAYS: &[&str] = &["Sent", "Trash", "Drafts"];
const CHOICES: &[&str] = &[
    "Junk",
    "Archive",
    "Archive.2023",
    "Archive.2024",
    "Lists",
    "Lists.corvid-dev",
    "Projects",
    "Projects.q3-review",
    "Receipts",
    "Travel",
    "Notes",
    "Family",
];

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One generated entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: Vec<u8>,
    pub(crate) location: Vec<u8>,
    pub(crate) acl: Vec<u8>,
}

impl Entry {
    pub(crate) fn as_ref(&self) -> EntryRef<'_> {
        EntryRef {
            name: &self.name,
            location: &self.location,
            acl: &self.acl,
            state: State::Active,
        }
    }
}

pub(crate) fn user(u: u32) -> String {
    format!("user.u{u:06}")
}

fn location(u: u32) -> Vec<u8> {
    format!("be{}!default", u % 8).into_bytes()
}

fn acl(rng: &mut Rng, u: u32) -> Vec<u8> {
    let mut acl = format!("u{u:06}\tlrswipkxtecdan\t");
    // About 2% shared: with anyone (read-only) or with another user.
    match rng.below(100) {
        0 => acl.push_str("anyone\tlr\t"),
        1 => acl.push_str(&format!("u{:06}\tlrs\t", rng.below(u64::from(USERS)))),
        _ => {}
    }
    acl.into_bytes()
}

/// The murder's entries in dbname order.
pub(crate) fn murder() -> Vec<Entry> {
    let mut rng = Rng::new(0x00C0_FFEE);
    let mut entries = Vec::with_capacity(USERS as usize * 10);
    for u in 0..USERS {
        let root = user(u);
        let mut folders: Vec<&str> = ALWAYS.to_vec();
        let mut pool: Vec<&str> = CHOICES.to_vec();
        for _ in 0..6 {
            folders.push(pool.swap_remove(rng.below(pool.len() as u64) as usize));
        }
        for folder in std::iter::once("").chain(folders) {
            let name = if folder.is_empty() {
                root.clone()
            } else {
                format!("{root}.{folder}")
            };
            entries.push(Entry {
                name: name.into_bytes(),
                location: location(u),
                acl: acl(&mut rng, u),
            });
        }
    }
    entries.sort_unstable_by(|a, b| dbname_cmp(&a.name, &b.name));
    entries
}

/// The murder as a base.
pub(crate) fn base(entries: &[Entry]) -> Base {
    Base::build(entries.iter().map(Entry::as_ref), entries.len() as u64).expect("base builds")
}

/// `OVERLAY` changes after the base: 60% ACL changes of existing mailboxes, 30% new mailboxes,
/// 10% deletions.
pub(crate) fn changes(entries: &[Entry]) -> Vec<Change> {
    changes_n(entries, OVERLAY)
}

/// `count` changes, drawn as [`changes`] draws them.
pub(crate) fn changes_n(entries: &[Entry], count: usize) -> Vec<Change> {
    let mut rng = Rng::new(0x0BAD_CAFE);
    (0..count)
        .map(|i| {
            let existing = &entries[rng.below(entries.len() as u64) as usize];
            match rng.below(10) {
                0..=5 => Change::Upsert {
                    name: existing.name.as_slice().into(),
                    location: existing.location.as_slice().into(),
                    acl: [existing.acl.as_slice(), b"anyone\tlr\t"].concat().into(),
                    state: State::Active,
                },
                6..=8 => {
                    let u = rng.below(u64::from(USERS)) as u32;
                    Change::Upsert {
                        name: format!("{}.New-{i}", user(u)).into_bytes().into(),
                        location: location(u).into(),
                        acl: format!("u{u:06}\tlrswipkxtecdan\t").into_bytes().into(),
                        state: State::Active,
                    }
                }
                _ => Change::Delete {
                    name: existing.name.as_slice().into(),
                },
            }
        })
        .collect()
}

/// The base with the overlay applied on top.
pub(crate) fn with_overlay(base: Arc<Base>, changes: &[Change]) -> MailboxTable {
    let mut table = MailboxTable::new(base.clone());
    for (i, change) in changes.iter().enumerate() {
        table.apply(base.seq() + 1 + i as u64, change.clone());
    }
    table
}

/// `count` names drawn at random from the table (the order of probes is random too).
pub(crate) fn hits(entries: &[Entry], count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x5EED);
    (0..count)
        .map(|_| {
            entries[rng.below(entries.len() as u64) as usize]
                .name
                .clone()
        })
        .collect()
}

/// `count` names that are not in the table, shaped like the ones that are.
pub(crate) fn misses(count: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(0x0DD);
    (0..count)
        .map(|_| {
            let u = rng.below(u64::from(USERS)) as u32;
            match rng.below(3) {
                0 => format!("user.x{u:06}"),
                1 => format!("{}.Nonexistent", user(u)),
                _ => format!("{}.Archive.2019", user(u)),
            }
            .into_bytes()
        })
        .collect()
}
