//! The immutable base of the mailbox table: every entry in one rkyv archive, read in place.
//!
//! A [`Base`] is built once from entries in dbname order and then only read. Its bytes are the
//! archive itself (what a snapshot file holds), so loading a snapshot is one read and one
//! validation; lookups, range scans and the shared-entry index all work on those bytes without
//! decoding them into objects.
//!
//! The archive holds four arrays: `records` (every entry encoded back to back), `order` (record
//! offsets in dbname order, for binary search and range scans), `slots` (an open-addressing hash
//! index from name to record, keyed by a seed drawn at build time so that names cannot be chosen
//! to collide), and `shared` (positions in `order` of the entries whose ACL grants a right to
//! someone other than the mailbox's owner). After rkyv has validated the archive, the base keeps
//! the byte range of each array and decodes little-endian integers from them with bounds checks:
//! no `unsafe`, and a damaged archive gives wrong answers or none, never undefined behaviour.

use std::cmp::Ordering;
use std::ops::{Bound, Range};

use corvid_proto::mailbox::dbname::{DbName, dbname_cmp};
use rkyv::rancor;
use rkyv::util::AlignedVec;

use super::{EntryRef, State};

/// The layout version written into every archive; a base refuses archives of another version.
const LAYOUT_VERSION: u32 = 1;

/// Bytes before a record's name: state (1), name, location and ACL lengths (4 each).
const RECORD_HEADER: usize = 13;

/// The archived form: what a snapshot file holds.
#[derive(rkyv::Archive, rkyv::Serialize)]
struct Layout {
    version: u32,
    /// The sequence number of the last change the base includes.
    seq: u64,
    /// The seed of the hash index.
    seed: u64,
    records: Vec<u8>,
    order: Vec<u32>,
    slots: Vec<u64>,
    shared: Vec<u32>,
}

/// Why an archive could not be used as a base.
#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    /// rkyv's validation failed: the bytes are not an archive of this layout.
    #[error("not a valid mailbox table archive: {0}")]
    Invalid(String),
    /// The archive is of another layout version.
    #[error("mailbox table archive has layout version {found}, this build reads {LAYOUT_VERSION}")]
    Version {
        /// The version found.
        found: u32,
    },
    /// The table does not fit the archive's 32-bit offsets.
    #[error("mailbox table too large for one archive ({0} bytes of records)")]
    TooLarge(usize),
}

/// The immutable, archived part of a mailbox table.
pub struct Base {
    bytes: AlignedVec,
    seq: u64,
    seed: u64,
    records: Range<usize>,
    order: Range<usize>,
    slots: Range<usize>,
    shared: Range<usize>,
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Base")
            .field("entries", &self.len())
            .field("seq", &self.seq)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Base {
    /// An empty base at sequence number 0.
    pub fn empty() -> Base {
        Base::build(std::iter::empty(), 0).unwrap_or_else(|_| unreachable!("empty base fits"))
    }

    /// Builds a base from entries in dbname order (as a table's iterator yields them), including
    /// changes up to `seq`.
    pub fn build<'a>(
        entries: impl Iterator<Item = EntryRef<'a>>,
        seq: u64,
    ) -> Result<Base, BaseError> {
        let seed = rand::random::<u64>() | 1;
        let mut records = Vec::new();
        let mut order = Vec::new();
        let mut shared = Vec::new();
        let mut hashes = Vec::new();
        for entry in entries {
            let offset =
                u32::try_from(records.len()).map_err(|_| BaseError::TooLarge(records.len()))?;
            if super::is_shared(entry.name, entry.acl) {
                shared.push(order.len() as u32);
            }
            order.push(offset);
            hashes.push((name_hash(seed, entry.name), offset));
            encode_record(&mut records, &entry)?;
        }
        if u32::try_from(records.len()).is_err() {
            return Err(BaseError::TooLarge(records.len()));
        }
        let slots = build_slots(&hashes);
        let layout = Layout {
            version: LAYOUT_VERSION,
            seq,
            seed,
            records,
            order,
            slots,
            shared,
        };
        let bytes = rkyv::to_bytes::<rancor::Error>(&layout)
            .map_err(|error| BaseError::Invalid(error.to_string()))?;
        Base::from_archive(bytes)
    }

    /// Takes archive bytes (a snapshot file's content), validating them.
    pub fn from_archive(bytes: AlignedVec) -> Result<Base, BaseError> {
        let layout = rkyv::access::<ArchivedLayout, rancor::Error>(&bytes)
            .map_err(|error| BaseError::Invalid(error.to_string()))?;
        let found = layout.version.to_native();
        if found != LAYOUT_VERSION {
            return Err(BaseError::Version { found });
        }
        let start = bytes.as_ptr() as usize;
        let span = |ptr: *const u8, len: usize| {
            let from = ptr as usize - start;
            from..from + len
        };
        let records = span(layout.records.as_ptr(), layout.records.len());
        let order = span(layout.order.as_ptr().cast(), layout.order.len() * 4);
        let slots = span(layout.slots.as_ptr().cast(), layout.slots.len() * 8);
        let shared = span(layout.shared.as_ptr().cast(), layout.shared.len() * 4);
        let (seq, seed) = (layout.seq.to_native(), layout.seed.to_native());
        if !(layout.slots.len().is_power_of_two() || layout.slots.is_empty()) {
            return Err(BaseError::Invalid(
                "hash index size is not a power of two".into(),
            ));
        }
        Ok(Base {
            bytes,
            seq,
            seed,
            records,
            order,
            slots,
            shared,
        })
    }

    /// The archive's bytes, as a snapshot file holds them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The sequence number of the last change included.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.order.len() / 4
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The entry named `name`.
    pub fn get(&self, name: &[u8]) -> Option<EntryRef<'_>> {
        let count = self.slots.len() / 8;
        if count == 0 {
            return None;
        }
        let hash = name_hash(self.seed, name);
        let fingerprint = hash >> 32;
        let mask = count - 1;
        let mut at = hash as usize & mask;
        for _ in 0..count {
            let slot = self.u64_at(self.slots.start + at * 8)?;
            if slot == 0 {
                return None;
            }
            if slot >> 32 == fingerprint {
                let entry = self.record((slot as u32).checked_sub(1)? as usize)?;
                if entry.name == name {
                    return Some(entry);
                }
            }
            at = (at + 1) & mask;
        }
        None
    }

    /// The entry at `position` in dbname order.
    pub(crate) fn at(&self, position: usize) -> Option<EntryRef<'_>> {
        let offset = self.u32_at(self.order.start + position * 4)?;
        self.record(offset as usize)
    }

    /// The positions (in dbname order) of the entries within `bounds`.
    pub(crate) fn positions(&self, bounds: (Bound<&DbName>, Bound<&DbName>)) -> Range<usize> {
        let first = match bounds.0 {
            Bound::Included(key) => self.count_before(key, false),
            Bound::Excluded(key) => self.count_before(key, true),
            Bound::Unbounded => 0,
        };
        let end = match bounds.1 {
            Bound::Included(key) => self.count_before(key, true),
            Bound::Excluded(key) => self.count_before(key, false),
            Bound::Unbounded => self.len(),
        };
        first..end.max(first)
    }

    /// How many entries sort before `key` (and, if `and_equal`, at it): a binary search.
    fn count_before(&self, key: &DbName, and_equal: bool) -> usize {
        let before = |name: &[u8]| {
            let order = dbname_cmp(name, key.as_bytes());
            order.is_lt() || (and_equal && order.is_eq())
        };
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = low + (high - low) / 2;
            match self.at(mid) {
                Some(entry) if before(entry.name) => low = mid + 1,
                _ => high = mid,
            }
        }
        low
    }

    /// The positions of the entries shared with someone other than their owner.
    pub(crate) fn shared_positions(&self) -> impl Iterator<Item = usize> + '_ {
        (self.shared.start..self.shared.end)
            .step_by(4)
            .filter_map(|at| self.u32_at(at).map(|p| p as usize))
    }

    fn record(&self, offset: usize) -> Option<EntryRef<'_>> {
        let at = self.records.start.checked_add(offset)?;
        let header = self.bytes.get(at..at + RECORD_HEADER)?;
        let state = match header[0] {
            0 => State::Active,
            1 => State::Reserved,
            _ => return None,
        };
        let len = |i: usize| {
            u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]) as usize
        };
        let (name_len, location_len, acl_len) = (len(1), len(5), len(9));
        let body = at + RECORD_HEADER;
        let end = body
            .checked_add(name_len)?
            .checked_add(location_len)?
            .checked_add(acl_len)?;
        if end > self.records.end {
            return None;
        }
        let body = self.bytes.get(body..end)?;
        let (name, rest) = body.split_at(name_len);
        let (location, acl) = rest.split_at(location_len);
        Some(EntryRef {
            name,
            location,
            acl,
            state,
        })
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let bytes = self.bytes.get(at..at + 4)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    fn u64_at(&self, at: usize) -> Option<u64> {
        let bytes = self.bytes.get(at..at + 8)?;
        Some(u64::from_le_bytes(bytes.try_into().ok()?))
    }

    /// Checks every record and the hash index: used when a snapshot comes from disk, so that a
    /// damaged file is refused at start rather than giving wrong answers later.
    ///
    /// Every record must decode, the records must be in strict dbname order, and [`Base::get`]
    /// must find each by its name; the verdict (and which error, the first in dbname order) is
    /// that of checking one record at a time. But looking each record up in turn reads the
    /// hash index at random, a cache and TLB miss per record; so the records are walked in
    /// order first, and then the index is probed for all of them in the order of their home
    /// slots (a counting sort), reading it from start to end.
    pub fn verify(&self) -> Result<(), BaseError> {
        let bad = |what: &str| Err(BaseError::Invalid(what.to_string()));
        let len = self.len();
        let slot_count = self.slots.len() / 8;
        let mut probes = Vec::with_capacity(len);
        let mut first_bad = None;
        let mut previous: Option<&[u8]> = None;
        for position in 0..len {
            let offset = self.u32_at(self.order.start + position * 4);
            let Some((offset, entry)) = offset.and_then(|o| Some((o, self.record(o as usize)?)))
            else {
                first_bad = Some((position, "a record is damaged"));
                break;
            };
            if previous.is_some_and(|p| dbname_cmp(p, entry.name) != Ordering::Less) {
                first_bad = Some((position, "records are not in dbname order"));
                break;
            }
            let hash = name_hash(self.seed, entry.name);
            probes.push(Probe {
                home: hash as usize & slot_count.wrapping_sub(1),
                fingerprint: hash >> 32,
                offset,
                position,
            });
            previous = Some(entry.name);
        }
        let first_miss = if slot_count == 0 {
            probes.first().map(|p| p.position)
        } else {
            by_home(&probes, slot_count)
                .filter(|probe| !self.indexed(probe, slot_count))
                .map(|probe| probe.position)
                .min()
        };
        match (first_miss, first_bad) {
            (Some(miss), bad_at) if bad_at.is_none_or(|(at, _)| miss < at) => {
                return bad("the hash index misses a record");
            }
            (_, Some((_, what))) => return bad(what),
            _ => {}
        }
        if self.shared_positions().any(|p| p >= self.len()) {
            return bad("the shared index points past the records");
        }
        Ok(())
    }

    /// Whether [`Base::get`] finds the record of `probe` by its name: the same walk from the
    /// home slot, comparing offsets first (a slot holding the record's own offset is a match
    /// without reading it) and names only for another record with the same fingerprint.
    fn indexed(&self, probe: &Probe, slot_count: usize) -> bool {
        let mask = slot_count - 1;
        let mut at = probe.home;
        for _ in 0..slot_count {
            let Some(slot) = self.u64_at(self.slots.start + at * 8) else {
                return false;
            };
            if slot == 0 {
                return false;
            }
            if slot >> 32 == probe.fingerprint {
                let Some(offset) = (slot as u32).checked_sub(1) else {
                    return false;
                };
                if offset == probe.offset {
                    return true;
                }
                let Some(found) = self.record(offset as usize) else {
                    return false;
                };
                if self.record(probe.offset as usize).map(|e| e.name) == Some(found.name) {
                    return true;
                }
            }
            at = (at + 1) & mask;
        }
        false
    }

    /// The checks of [`Base::verify`] one record at a time (the reference it must agree with).
    #[cfg(test)]
    fn verify_simply(&self) -> Result<(), BaseError> {
        let bad = |what: &str| Err(BaseError::Invalid(what.to_string()));
        let mut previous: Option<&[u8]> = None;
        for position in 0..self.len() {
            let Some(entry) = self.at(position) else {
                return bad("a record is damaged");
            };
            if previous.is_some_and(|p| dbname_cmp(p, entry.name) != Ordering::Less) {
                return bad("records are not in dbname order");
            }
            if self.get(entry.name).map(|e| e.name) != Some(entry.name) {
                return bad("the hash index misses a record");
            }
            previous = Some(entry.name);
        }
        if self.shared_positions().any(|p| p >= self.len()) {
            return bad("the shared index points past the records");
        }
        Ok(())
    }
}

/// A record to look up in the hash index, for [`Base::verify`].
#[derive(Debug, Clone, Copy, Default)]
struct Probe {
    /// Its name's home slot.
    home: usize,
    /// Its name's hash's high half, as the slots hold it.
    fingerprint: u64,
    offset: u32,
    /// Its position in dbname order.
    position: usize,
}

/// The probes in ascending order of home slot (nearly: by groups of slots), by a counting sort.
fn by_home(probes: &[Probe], slot_count: usize) -> impl Iterator<Item = Probe> {
    // About a thousand groups of slots: each small enough to stay cached while its probes run.
    let shift = slot_count.trailing_zeros().saturating_sub(10);
    let mut starts = vec![0usize; (slot_count >> shift) + 1];
    for probe in probes {
        starts[(probe.home >> shift) + 1] += 1;
    }
    for group in 1..starts.len() {
        starts[group] += starts[group - 1];
    }
    let mut sorted = vec![Probe::default(); probes.len()];
    for probe in probes {
        let next = &mut starts[probe.home >> shift];
        sorted[*next] = *probe;
        *next += 1;
    }
    sorted.into_iter()
}

fn encode_record(out: &mut Vec<u8>, entry: &EntryRef<'_>) -> Result<(), BaseError> {
    out.push(match entry.state {
        State::Active => 0,
        State::Reserved => 1,
    });
    for field in [entry.name, entry.location, entry.acl] {
        let len = u32::try_from(field.len()).map_err(|_| BaseError::TooLarge(field.len()))?;
        out.extend_from_slice(&len.to_le_bytes());
    }
    for field in [entry.name, entry.location, entry.acl] {
        out.extend_from_slice(field);
    }
    Ok(())
}

/// The hash index: a power of two at least twice the entry count, linear probing; a slot holds
/// the hash's high half (to skip most wrong records unread) and the record offset plus one.
fn build_slots(hashes: &[(u64, u32)]) -> Vec<u64> {
    if hashes.is_empty() {
        return Vec::new();
    }
    let count = (hashes.len() * 2).next_power_of_two();
    let mask = count - 1;
    let mut slots = vec![0u64; count];
    for &(hash, offset) in hashes {
        let mut at = hash as usize & mask;
        while slots[at] != 0 {
            at = (at + 1) & mask;
        }
        slots[at] = (hash >> 32) << 32 | (u64::from(offset) + 1);
    }
    slots
}

/// A keyed 64-bit hash of a name: eight bytes at a time, multiply and fold. Its definition is
/// part of the archive layout (archives store their seed), so it must never change silently.
pub(super) fn name_hash(seed: u64, name: &[u8]) -> u64 {
    const MUL: u64 = 0x9E37_79B9_7F4A_7C15;
    let fold = |h: u64, word: u64| {
        let product = u128::from(h ^ word) * u128::from(MUL);
        (product as u64) ^ ((product >> 64) as u64)
    };
    let mut hash = seed ^ (name.len() as u64).wrapping_mul(MUL);
    let mut chunks = name.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = fold(hash, u64::from_le_bytes(word));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    fold(fold(hash, u64::from_le_bytes(tail)), seed.rotate_left(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(name: &'a str, location: &'a str, acl: &'a str) -> EntryRef<'a> {
        EntryRef {
            name: name.as_bytes(),
            location: location.as_bytes(),
            acl: acl.as_bytes(),
            state: State::Active,
        }
    }

    fn sample() -> Base {
        let mut names = [
            "user.alice",
            "user.alice.Sent",
            "user.alice.Sent.x",
            "user.alice.Sent-Items",
            "user.bob",
            "shared.lists",
            "example.com!user.carol",
        ];
        names.sort_by(|a, b| dbname_cmp(a.as_bytes(), b.as_bytes()));
        let entries: Vec<_> = names
            .iter()
            .map(|n| entry(n, "be1!default", "alice\tlrs\tbob\tlr\t"))
            .collect();
        Base::build(entries.into_iter(), 7).unwrap()
    }

    #[test]
    fn finds_every_entry_and_nothing_else() {
        let base = sample();
        assert_eq!(base.len(), 7);
        assert_eq!(base.seq(), 7);
        for position in 0..base.len() {
            let entry = base.at(position).unwrap();
            assert_eq!(base.get(entry.name), Some(entry));
        }
        assert_eq!(base.get(b"user.carol"), None);
        assert_eq!(base.get(b""), None);
        base.verify().unwrap();
    }

    #[test]
    fn orders_by_dbname_and_scans_ranges() {
        let base = sample();
        let names: Vec<_> = (0..base.len()).map(|p| base.at(p).unwrap().name).collect();
        let alice = names.iter().position(|n| *n == b"user.alice").unwrap();
        assert_eq!(names[alice + 1], b"user.alice.Sent");
        assert_eq!(names[alice + 2], b"user.alice.Sent.x");
        assert_eq!(names[alice + 3], b"user.alice.Sent-Items");
        let range = corvid_proto::mailbox::dbname::subtree_range(b"user.alice");
        let positions =
            base.positions((Bound::Included(&range.start), Bound::Excluded(&range.end)));
        assert_eq!(positions.len(), 4);
        let after = DbName::from("user.alice.Sent.x");
        let rest = base.positions((Bound::Excluded(&after), Bound::Unbounded));
        assert_eq!(rest.start, alice + 3);
    }

    #[test]
    fn survives_a_round_trip_through_bytes() {
        let base = sample();
        let mut bytes = AlignedVec::new();
        bytes.extend_from_slice(base.as_bytes());
        let loaded = Base::from_archive(bytes).unwrap();
        loaded.verify().unwrap();
        assert_eq!(loaded.len(), base.len());
        assert_eq!(loaded.get(b"user.bob").unwrap().location, b"be1!default");
    }

    #[test]
    fn refuses_damaged_archives() {
        let base = sample();
        for cut in [0, 8, base.as_bytes().len() / 2, base.as_bytes().len() - 1] {
            let mut bytes = AlignedVec::new();
            bytes.extend_from_slice(&base.as_bytes()[..cut]);
            assert!(Base::from_archive(bytes).is_err(), "cut at {cut}");
        }
        // Flipping bytes inside the records region may pass rkyv (they are plain bytes), but
        // verify() catches it or lookups stay in bounds.
        for at in 0..base.as_bytes().len() {
            let mut bytes = AlignedVec::new();
            bytes.extend_from_slice(base.as_bytes());
            bytes[at] ^= 0xA5;
            if let Ok(damaged) = Base::from_archive(bytes) {
                assert_eq!(
                    damaged.verify().map_err(|e| e.to_string()),
                    damaged.verify_simply().map_err(|e| e.to_string()),
                    "flipped byte {at}"
                );
                for position in 0..damaged.len() {
                    let _ = damaged.at(position);
                }
                let _ = damaged.get(b"user.alice");
            }
        }
    }

    #[test]
    fn verify_agrees_with_the_simple_one() {
        // More records than a block, and damage anywhere: both checks give the same verdict, and the same error.
        let names: Vec<String> = (0..300).map(|i| format!("user.u{i:04}.Sent")).collect();
        let base = Base::build(
            names
                .iter()
                .map(|n| entry(n, "be1!default", "alice\tlrs\t")),
            1,
        )
        .unwrap();
        base.verify().unwrap();
        let len = base.as_bytes().len();
        let mut refused = 0;
        for at in (0..len).step_by(7) {
            let mut bytes = AlignedVec::new();
            bytes.extend_from_slice(base.as_bytes());
            bytes[at] ^= 0x5A;
            if let Ok(damaged) = Base::from_archive(bytes) {
                let blocked = damaged.verify().map_err(|e| e.to_string());
                refused += usize::from(blocked.is_err());
                assert_eq!(
                    blocked,
                    damaged.verify_simply().map_err(|e| e.to_string()),
                    "flipped byte {at}"
                );
            }
        }
        assert!(refused > 0);
    }

    #[test]
    fn empty_base_answers_nothing() {
        let base = Base::empty();
        assert!(base.is_empty());
        assert_eq!(base.get(b"user.alice"), None);
        assert_eq!(base.positions((Bound::Unbounded, Bound::Unbounded)), 0..0);
    }
}
