//! Sequence sets: which messages a command names, by sequence number or UID.

/// One end of a range: a number, or `*` (the largest in use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqNumber {
    /// A number (never 0).
    Value(u32),
    /// `*`.
    Largest,
}

/// `a:b` (either order) or a single number (`start == end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRange {
    /// One end.
    pub start: SeqNumber,
    /// The other end.
    pub end: SeqNumber,
}

/// A sequence set: ranges as sent (not sorted, not merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SequenceSet(pub Vec<SeqRange>);

#[allow(unused_variables, clippy::todo)]
impl SequenceSet {
    /// Does the set name `n`, `*` standing for `largest`?
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        todo!()
    }

    /// The numbers the set names within `1..=largest`, ascending, each once; costs time in
    /// the number of ranges and of numbers returned, never in the ranges' width.
    pub fn resolve(&self, largest: u32) -> Vec<u32> {
        todo!()
    }

    /// The largest number written in the set (`*` aside), so a server can refuse sequence
    /// numbers beyond its mailbox.
    pub fn largest_value(&self) -> Option<u32> {
        todo!()
    }
}
