//! IMAP strings in ENVELOPE and BODYSTRUCTURE, in the forms Dovecot chooses (clients are tuned
//! to real servers).
//!
//! * [`string`]: quoted (`"` and `\` escaped) unless the value holds CR, LF, NUL or an 8-bit
//!   byte, or more than four bytes to escape: then a literal.
//! * [`human`]: text for people (Subject, display names): runs of white space and line ends
//!   become one space and the ends are trimmed; if nothing changed and nothing needs escaping
//!   or is 8-bit, it is quoted as is, otherwise it is sent as a literal.
//!
//! A NUL, which no IMAP string may hold outside literal8, is sent as the byte 0x80.

/// How many escapes a quoted string may need before a literal is sent instead.
const MAX_ESCAPES: usize = 4;

/// Appends `value` as a literal, NULs sent as 0x80.
fn literal(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'{');
    out.extend_from_slice(value.len().to_string().as_bytes());
    out.extend_from_slice(b"}\r\n");
    out.extend(value.iter().map(|&b| if b == 0 { 0x80 } else { b }));
}

/// Appends `value` as an IMAP string: quoted when it can be, else a literal.
pub(crate) fn string(out: &mut Vec<u8>, value: &[u8]) {
    let escapes = value.iter().filter(|&&b| b == b'"' || b == b'\\').count();
    let quotable = escapes <= MAX_ESCAPES
        && value
            .iter()
            .all(|&b| b.is_ascii() && !matches!(b, 0 | b'\r' | b'\n'));
    if !quotable {
        literal(out, value);
        return;
    }
    crate::lex::write_quoted(out, value);
}

/// Appends NIL for `None`, else [`string`].
pub(crate) fn nstring(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(value) => string(out, value),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// Appends `value` as text for people: white space collapsed and trimmed, quoted when that
/// changed nothing and nothing needs escaping, else a literal.
pub(crate) fn human(out: &mut Vec<u8>, value: &[u8]) {
    let mut collapsed = Vec::with_capacity(value.len());
    let mut space = false;
    for &b in value.trim_ascii() {
        if matches!(b, b' ' | b'\t' | b'\r' | b'\n') {
            space = true;
            continue;
        }
        if std::mem::take(&mut space) {
            collapsed.push(b' ');
        }
        collapsed.push(b);
    }
    let plain = collapsed.len() == value.len()
        && value
            .iter()
            .all(|&b| b.is_ascii() && !matches!(b, 0 | b'\t' | b'\r' | b'\n' | b'"' | b'\\'));
    if plain || collapsed.is_empty() {
        out.push(b'"');
        out.extend_from_slice(&collapsed);
        out.push(b'"');
    } else {
        literal(out, &collapsed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    #[test]
    fn strings_are_quoted_until_a_literal_is_needed() {
        assert_eq!(written(|o| string(o, b"a \"b\"")), b"\"a \\\"b\\\"\"");
        assert_eq!(written(|o| string(o, b"\"\"\\\\\"")), b"{5}\r\n\"\"\\\\\"");
        assert_eq!(written(|o| string(o, b"caf\xe9")), b"{4}\r\ncaf\xe9");
        assert_eq!(written(|o| string(o, b"a\0")), b"{2}\r\na\x80");
        assert_eq!(written(|o| nstring(o, None)), b"NIL");
    }

    #[test]
    fn human_text_is_collapsed_and_trimmed() {
        assert_eq!(written(|o| human(o, b"plain text")), b"\"plain text\"");
        assert_eq!(written(|o| human(o, b"")), b"\"\"");
        assert_eq!(written(|o| human(o, b"  ")), b"\"\"");
        assert_eq!(written(|o| human(o, b"a\r\n  b\tc ")), b"{5}\r\na b c");
        assert_eq!(written(|o| human(o, b"say \"hi\"")), b"{8}\r\nsay \"hi\"");
    }
}
