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
