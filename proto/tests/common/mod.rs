//! Shared helpers for corvid-proto's integration tests: transcript loading and split feeding.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// Who sent a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `C: ` lines.
    Client,
    /// `S: ` lines.
    Server,
}

/// Loads `proto/tests/data/<name>` as a list of (side, wire bytes).
///
/// Format: a line starting `C: ` or `S: ` is one wire line, sent with CRLF. Any other line,
/// except blank lines and `#` comments *before the first C:/S: line*, continues the previous wire
/// line's literal payload: it is appended, after a CRLF, to that entry. So a message literal is
/// written as its lines under the line that announces it, and its `{n}` counts those lines with
/// CRLF after each. A line `.` alone ends a payload block without adding anything.
pub fn transcript(name: &str) -> Vec<(Side, Vec<u8>)> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: Vec<(Side, Vec<u8>)> = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let side = match line.get(..3) {
            Some(b"C: ") => Some(Side::Client),
            Some(b"S: ") => Some(Side::Server),
            _ => None,
        };
        match (side, out.last_mut()) {
            (Some(side), _) => {
                let mut bytes = line[3..].to_vec();
                bytes.extend_from_slice(b"\r\n");
                out.push((side, bytes));
            }
            (None, None) => {} // header comments
            (None, Some(_)) if line == b"." => {}
            (None, Some((_, bytes))) => {
                bytes.extend_from_slice(line);
                bytes.extend_from_slice(b"\r\n");
            }
        }
    }
    out
}

/// The bytes one side sent, concatenated in order.
pub fn stream(t: &[(Side, Vec<u8>)], side: Side) -> Vec<u8> {
    t.iter()
        .filter(|(s, _)| *s == side)
        .flat_map(|(_, b)| b.iter().copied())
        .collect()
}

/// Splits `input` into chunks at the given cut points (sorted, deduplicated, clamped).
pub fn split_at_points<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|&p| p.min(input.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for cut in cuts {
        out.push(&input[at..cut]);
        at = cut;
    }
    out.push(&input[at..]);
    out
}
