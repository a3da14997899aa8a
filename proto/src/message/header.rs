//! Header blocks (RFC 5322 §2.2): where a header ends, its fields, and their unfolded values.
//!
//! A header is read line by line with either line end (CRLF, or a bare LF as Dovecot
//! tolerates). It ends at the first empty line, which belongs to it, or at the end of the input
//! when no empty line comes (the body is then empty). A field runs from a line start through
//! every continuation line (one starting with a space or tab). A line without a colon is kept
//! as a field with an empty name and value (no name matches it), so that no byte of the header
//! is lost when it is copied.

use std::borrow::Cow;

/// Where a header block starting at `start` ends in `bytes`: the offset just past its empty
/// line, or `bytes.len()` when it has none.
pub(crate) fn header_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start;
    while at < bytes.len() {
        let rest = bytes.get(at..).unwrap_or_default();
        match rest {
            [b'\n', ..] => return at + 1,
            [b'\r', b'\n', ..] => return at + 2,
            _ => {}
        }
        at = memchr::memchr(b'\n', rest).map_or(bytes.len(), |n| at + n + 1);
    }
    bytes.len()
}

/// One header field, borrowed from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name, as sent (compare it ignoring ASCII case); empty for a line without a
    /// colon.
    pub name: &'a [u8],
    /// The value after the colon, folded as sent, without the final line end.
    pub value: &'a [u8],
    /// The whole field: name, colon, value and its final line end (if the header has one).
    pub raw: &'a [u8],
}

impl<'a> Field<'a> {
    /// The value without the blanks (spaces and tabs) that follow the colon, as Dovecot's
    /// header parser gives it.
    pub fn trimmed(&self) -> &'a [u8] {
        let blanks = self
            .value
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        self.value.get(blanks..).unwrap_or_default()
    }

    /// The [trimmed](Self::trimmed) value unfolded (RFC 5322 §2.2.3): every line end removed,
    /// the white space after it kept, and a space put where a line end is followed by none.
    pub fn unfolded(&self) -> Cow<'a, [u8]> {
        let value = self.trimmed();
        if memchr::memchr2(b'\r', b'\n', value).is_none() {
            return Cow::Borrowed(value);
        }
        let mut out = Vec::with_capacity(value.len());
        for (at, &b) in value.iter().enumerate() {
            if b != b'\r' && b != b'\n' {
                out.push(b);
            } else if !matches!(value.get(at + 1), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                out.push(b' ');
            }
        }
        Cow::Owned(out)
    }
}

/// The fields of a header block, in order (the block's empty line is not a field).
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The fields of `header`: a header block (its fields, then its empty line if any).
    pub fn new(header: &'a [u8]) -> Self {
        Fields { rest: header }
    }
}

/// The length of the line at the start of `bytes`, its line end included.
fn line_len(bytes: &[u8]) -> usize {
    memchr::memchr(b'\n', bytes).map_or(bytes.len(), |n| n + 1)
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let bytes = self.rest;
        if matches!(bytes, [] | [b'\n', ..] | [b'\r', b'\n', ..]) {
            return None;
        }
        let mut end = line_len(bytes);
        while let Some(&(b' ' | b'\t')) = bytes.get(end) {
            end += line_len(bytes.get(end..).unwrap_or_default());
        }
        let (raw, rest) = bytes.split_at(end.min(bytes.len()));
        self.rest = rest;
        let content = raw
            .strip_suffix(b"\n")
            .map_or(raw, |l| l.strip_suffix(b"\r").unwrap_or(l));
        let (name, value) = match memchr::memchr(b':', content) {
            Some(colon) => (
                content.get(..colon).unwrap_or_default().trim_ascii_end(),
                content.get(colon + 1..).unwrap_or_default(),
            ),
            None => (&content[..0], &content[content.len()..]),
        };
        Some(Field { name, value, raw })
    }
}

/// The first field called `name` (ignoring ASCII case) in `header`.
pub fn first_field<'a>(header: &'a [u8], name: &[u8]) -> Option<Field<'a>> {
    Fields::new(header).find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_ends_at_the_first_empty_line_with_either_line_end() {
        assert_eq!(header_end(b"A: 1\r\n\r\nbody", 0), 8);
        assert_eq!(header_end(b"A: 1\n\nbody", 0), 6);
        assert_eq!(header_end(b"A: 1\r\nB: 2", 0), 10);
        assert_eq!(header_end(b"\r\nbody", 0), 2);
        assert_eq!(header_end(b"", 0), 0);
        assert_eq!(header_end(b"x\r\n\r\nA: 1\r\n\r\n", 5), 13);
    }

    #[test]
    fn fields_unfold_and_keep_raw_bytes() {
        let header = b"Subject: a\r\n  b\r\nfrom :x\nnot a field\r\n\r\nbody";
        let fields: Vec<Field<'_>> = Fields::new(header).collect();
        assert_eq!(fields.len(), 3);
        assert_eq!(fields[0].name, b"Subject");
        assert_eq!(fields[0].raw, b"Subject: a\r\n  b\r\n");
        assert_eq!(&*fields[0].unfolded(), b"a  b");
        assert_eq!(fields[0].trimmed(), b"a\r\n  b");
        assert_eq!(fields[1].name, b"from");
        assert_eq!(fields[1].value, b"x");
        assert_eq!(fields[2].name, b"");
        assert_eq!(fields[2].raw, b"not a field\r\n");
        assert_eq!(fields[2].value, b"");
        assert_eq!(
            first_field(header, b"FROM").map(|f| f.value),
            Some(&b"x"[..])
        );
        assert!(first_field(header, b"To").is_none());
        let folded = Fields::new(b"A:\r\n b\r\nB: x\ny\r\n\r\n").next();
        assert_eq!(
            folded.map(|f| f.unfolded().into_owned()),
            Some(b" b".to_vec())
        );
    }
}
