//! Sequence sets: which messages a command names, by sequence number or UID.
//!
//! [`SequenceSet::parse`] reads RFC 3501's `sequence-set` (`1:3,7,9:*`) as a streaming lexer
//! in the style of [`crate::lex`]; the set keeps its ranges as sent, and [`SequenceSet::resolve`]
//! turns them into numbers at a cost that depends on the ranges, never on their width.

use nom::error::ErrorKind;

use crate::lex::{self, LexResult};

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

impl SeqNumber {
    /// The number this end stands for when the largest in use is `largest`.
    fn value(self, largest: u32) -> u32 {
        match self {
            SeqNumber::Value(n) => n,
            SeqNumber::Largest => largest,
        }
    }

    /// `*` or a non-zero number.
    fn parse(i: &[u8]) -> LexResult<'_, SeqNumber> {
        match i {
            [] => Err(nom::Err::Incomplete(nom::Needed::new(1))),
            [b'*', rest @ ..] => Ok((rest, SeqNumber::Largest)),
            _ => match lex::number(i)? {
                (_, 0) => lex::invalid(i, ErrorKind::Verify),
                (rest, n) => Ok((rest, SeqNumber::Value(n))),
            },
        }
    }
}

impl SeqRange {
    /// The range's bounds, low then high, with `*` standing for `largest`.
    fn bounds(&self, largest: u32) -> (u32, u32) {
        let (a, b) = (self.start.value(largest), self.end.value(largest));
        (a.min(b), a.max(b))
    }
}

impl SequenceSet {
    /// Reads a sequence set (`1`, `1:3`, `3:1`, `*`, `5:*`, comma-separated lists) as a
    /// streaming lexer: incomplete when the input stops inside it, an error when it is not one
    /// (`0` is not a sequence number).
    pub fn parse(i: &[u8]) -> LexResult<'_, SequenceSet> {
        let mut ranges = Vec::new();
        let mut rest = i;
        loop {
            let (after, start) = SeqNumber::parse(rest)?;
            let (after, end) = match after {
                [b':', after @ ..] => SeqNumber::parse(after)?,
                _ => (after, start),
            };
            ranges.push(SeqRange { start, end });
            match after {
                [] => return Err(nom::Err::Incomplete(nom::Needed::new(1))),
                [b',', after @ ..] => rest = after,
                _ => return Ok((after, SequenceSet(ranges))),
            }
        }
    }

    /// Does the set name `n`, `*` standing for `largest`?
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        self.0.iter().any(|range| {
            let (low, high) = range.bounds(largest);
            (low..=high).contains(&n)
        })
    }

    /// The numbers the set names within `1..=largest`, ascending, each once; costs time in
    /// the number of ranges and of numbers returned, never in the ranges' width.
    pub fn resolve(&self, largest: u32) -> Vec<u32> {
        let mut bounds: Vec<(u32, u32)> = self
            .0
            .iter()
            .map(|range| {
                let (low, high) = range.bounds(largest);
                (low.max(1), high.min(largest))
            })
            .filter(|(low, high)| low <= high)
            .collect();
        bounds.sort_unstable();
        let mut numbers = Vec::new();
        let mut next = 1u32;
        for (low, high) in bounds {
            let from = low.max(next);
            if from > high {
                continue;
            }
            numbers.extend(from..=high);
            // `high` is at most `largest`, so past it there is nothing more to name.
            match high.checked_add(1) {
                Some(after) => next = after,
                None => break,
            }
        }
        numbers
    }

    /// The largest number written in the set (`*` aside), so a server can refuse sequence
    /// numbers beyond its mailbox.
    pub fn largest_value(&self) -> Option<u32> {
        self.0
            .iter()
            .flat_map(|range| [range.start, range.end])
            .filter_map(|end| match end {
                SeqNumber::Value(n) => Some(n),
                SeqNumber::Largest => None,
            })
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &[u8]) -> SequenceSet {
        let mut line = text.to_vec();
        line.push(b' ');
        match SequenceSet::parse(&line) {
            Ok((b" ", set)) => set,
            other => panic!("{text:?}: {other:?}"),
        }
    }

    fn range(start: SeqNumber, end: SeqNumber) -> SeqRange {
        SeqRange { start, end }
    }

    use SeqNumber::{Largest, Value};

    #[test]
    fn parses_every_form() {
        assert_eq!(set(b"1").0, [range(Value(1), Value(1))]);
        assert_eq!(set(b"1:3").0, [range(Value(1), Value(3))]);
        assert_eq!(set(b"3:1").0, [range(Value(3), Value(1))]);
        assert_eq!(set(b"*").0, [range(Largest, Largest)]);
        assert_eq!(
            set(b"5:*,2,4294967295").0,
            [
                range(Value(5), Largest),
                range(Value(2), Value(2)),
                range(Value(u32::MAX), Value(u32::MAX))
            ]
        );
    }

    #[test]
    fn refuses_and_waits() {
        for bad in [
            &b"0 "[..],
            b"1:0 ",
            b"1,,2 ",
            b"4294967296 ",
            b"a ",
            b":1 ",
            b"1:x ",
        ] {
            assert!(
                matches!(SequenceSet::parse(bad), Err(nom::Err::Error(_))),
                "{bad:?}"
            );
        }
        for prefix in [&b""[..], b"1", b"1:", b"1:3", b"1,", b"*", b"5:*"] {
            assert!(
                matches!(SequenceSet::parse(prefix), Err(nom::Err::Incomplete(_))),
                "{prefix:?}"
            );
        }
    }

    #[test]
    fn contains_and_resolve() {
        let s = set(b"5:*,2,9:7");
        // With 3 the largest, `5:*` is `3:5`: it names 4 too.
        assert!(s.contains(2, 3) && s.contains(3, 3) && s.contains(4, 3) && !s.contains(1, 3));
        assert!(s.contains(8, 20) && s.contains(20, 20) && !s.contains(21, 20));
        assert_eq!(s.resolve(3), [2, 3]);
        assert_eq!(s.resolve(10), [2, 5, 6, 7, 8, 9, 10]);
        assert_eq!(s.resolve(0), Vec::<u32>::new());
        assert_eq!(set(b"3,1:2,2:3,3").resolve(5), [1, 2, 3]);
        assert_eq!(set(b"*").resolve(0), Vec::<u32>::new());
        assert_eq!(set(b"*:4294967295").resolve(u32::MAX).len(), 1);
    }

    #[test]
    fn resolve_costs_nothing_in_range_width() {
        // Were the width walked, this would take seconds; it takes microseconds.
        let s = set(b"1:4294967295,4294967295:1,2:4294967294");
        assert_eq!(s.resolve(3), [1, 2, 3]);
        assert!(s.contains(4_000_000_000, 3));
    }

    #[test]
    fn largest_value_ignores_star() {
        assert_eq!(set(b"5:*,2,9:7").largest_value(), Some(9));
        assert_eq!(set(b"*").largest_value(), None);
    }
}
