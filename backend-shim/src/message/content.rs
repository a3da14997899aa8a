//! Structured MIME field values (RFC 2045 §5.1, RFC 2183, RFC 2231): a leading token or
//! `type/subtype` and its `; attribute=value` parameters.
//!
//! Parsing is lenient, as mail readers and Dovecot are: comments and white space are skipped
//! anywhere, a value may be a token or a quoted string, and a malformed parameter is dropped
//! without losing the ones after it. RFC 2231 continuations (`name*0`, `name*1*`, ...) are joined
//! into one parameter in section order; an encoded one (`name*=`, `name*0*=`) keeps its `*` and
//! its `charset'language'%XX` value undecoded, as Dovecot returns it.

use std::collections::HashMap;

/// A parameter: attribute and value, quoting and escapes removed.
pub type Param = (Vec<u8>, Vec<u8>);

/// A parsed structured field: its leading value (`text/plain`, `attachment`) and parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Structured {
    /// The leading value, or empty when it is missing.
    pub value: Vec<u8>,
    /// The parameters, RFC 2231 continuations joined.
    pub params: Vec<Param>,
}

/// RFC 2045 tspecials, plus the white space and controls that end a token.
fn ends_token(b: u8) -> bool {
    b <= b' '
        || b == 0x7f
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
        )
}

/// A cursor over a field value.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// Skips white space, line ends and (nested) comments.
    fn skip_cfws(&mut self) {
        loop {
            match self.rest {
                [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] => self.rest = rest,
                [b'(', ..] => self.rest = skip_comment(self.rest),
                _ => return,
            }
        }
    }

    /// Takes `b` if it comes next (after CFWS).
    fn eat(&mut self, b: u8) -> bool {
        self.skip_cfws();
        match self.rest.split_first() {
            Some((&first, rest)) if first == b => {
                self.rest = rest;
                true
            }
            _ => false,
        }
    }

    /// A token, possibly empty.
    fn token(&mut self) -> &'a [u8] {
        self.skip_cfws();
        let n = self
            .rest
            .iter()
            .position(|&b| ends_token(b))
            .unwrap_or(self.rest.len());
        let (token, rest) = self.rest.split_at(n);
        self.rest = rest;
        token
    }

    /// A parameter value: a quoted string (unescaped) or a token.
    fn value(&mut self) -> Vec<u8> {
        self.skip_cfws();
        match self.rest {
            [b'"', body @ ..] => {
                let (value, rest) = unquote(body);
                self.rest = rest;
                value
            }
            _ => {
                // Lenient: an unquoted value runs to the next `;` or white space.
                let n = self
                    .rest
                    .iter()
                    .position(|&b| b == b';' || b <= b' ')
                    .unwrap_or(self.rest.len());
                let (value, rest) = self.rest.split_at(n);
                self.rest = rest;
                value.to_vec()
            }
        }
    }

    /// Skips to just past the next `;` (or to the end).
    fn skip_past_semicolon(&mut self) {
        let n = memchr::memchr(b';', self.rest).map_or(self.rest.len(), |n| n + 1);
        self.rest = self.rest.get(n..).unwrap_or_default();
    }
}

/// The rest of `bytes` after the comment that opens it (nested comments and quoted pairs
/// included); the end of `bytes` when it is not closed.
pub(crate) fn skip_comment(bytes: &[u8]) -> &[u8] {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'\\' => at += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return bytes.get(at + 1..).unwrap_or_default();
                }
            }
            _ => {}
        }
        at += 1;
    }
    &[]
}

/// The content of the quoted string whose body (after the opening quote) starts `bytes`,
/// unescaped and with line ends removed, and the rest after its closing quote (the end, when it
/// is not closed).
pub(crate) fn unquote(bytes: &[u8]) -> (Vec<u8>, &[u8]) {
    let mut value = Vec::new();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' => return (value, bytes.get(at + 1..).unwrap_or_default()),
            b'\\' => {
                if let Some(&escaped) = bytes.get(at + 1) {
                    value.push(escaped);
                }
                at += 1;
            }
            b'\r' | b'\n' => {}
            _ => value.push(b),
        }
        at += 1;
    }
    (value, &[])
}

/// Parses a structured field value. With `media_type`, the leading value is `type/subtype`
/// (kept as `type/subtype`; a missing subtype leaves no `/`), else one token.
pub(crate) fn parse(field: &[u8], media_type: bool) -> Structured {
    let mut cursor = Cursor { rest: field };
    let mut value = cursor.token().to_vec();
    if media_type && cursor.eat(b'/') {
        value.push(b'/');
        value.extend_from_slice(cursor.token());
    }
    let mut raw_params: Vec<Param> = Vec::new();
    loop {
        cursor.skip_past_semicolon();
        cursor.skip_cfws();
        if cursor.rest.is_empty() {
            break;
        }
        let attribute = cursor.token();
        if attribute.is_empty() || !cursor.eat(b'=') {
            continue;
        }
        let value = cursor.value();
        raw_params.push((attribute.to_vec(), value));
    }
    Structured {
        value,
        params: join_continuations(raw_params),
    }
}

/// An RFC 2231 attribute split: base name, section number (if any), and whether it is encoded.
fn split_2231(attribute: &[u8]) -> (&[u8], Option<u32>, bool) {
    let (rest, encoded) = match attribute.strip_suffix(b"*") {
        Some(rest) => (rest, true),
        None => (attribute, false),
    };
    if let Some(star) = memchr::memrchr(b'*', rest) {
        let digits = rest.get(star + 1..).unwrap_or_default();
        if !digits.is_empty() && digits.len() <= 4 && digits.iter().all(u8::is_ascii_digit) {
            let section = digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
            return (rest.get(..star).unwrap_or_default(), Some(section), encoded);
        }
    }
    (rest, None, encoded)
}

/// One section of a continued parameter: its number, whether it is encoded, its value.
type ContinuationSection = (u32, bool, Vec<u8>);

/// Joins RFC 2231 continuations: every `name*N[*]` becomes one `name` (or `name*` when its
/// first section is encoded) placed where its first section was. Linear in the parameters
/// (a hash map finds each name's sections).
fn join_continuations(params: Vec<Param>) -> Vec<Param> {
    if !params.iter().any(|(a, _)| split_2231(a).1.is_some()) {
        return params;
    }
    let mut joined: Vec<Param> = Vec::new();
    // Each continued parameter's sections, by base name, and its place in `joined`.
    let mut continued: HashMap<Vec<u8>, (usize, Vec<ContinuationSection>)> = HashMap::new();
    for (attribute, value) in params {
        match split_2231(&attribute) {
            (base, Some(section), encoded) => {
                let slot = continued
                    .entry(base.to_ascii_lowercase())
                    .or_insert_with(|| {
                        joined.push((Vec::new(), Vec::new()));
                        (joined.len() - 1, Vec::new())
                    });
                slot.1.push((section, encoded, value));
            }
            _ => joined.push((attribute, value)),
        }
    }
    for (mut attribute, (index, mut sections)) in continued {
        sections.sort_by_key(|&(section, _, _)| section);
        if sections.first().is_some_and(|&(_, encoded, _)| encoded) {
            attribute.push(b'*');
        }
        let value = sections.into_iter().flat_map(|(_, _, v)| v).collect();
        if let Some(slot) = joined.get_mut(index) {
            *slot = (attribute, value);
        }
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &Structured) -> Vec<(String, String)> {
        s.params
            .iter()
            .map(|(a, v)| {
                (
                    String::from_utf8_lossy(a).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn media_types_with_parameters_and_comments() {
        let s = parse(
            b"text/plain (a comment); charset=\"us\\\"ascii\";\r\n format=flowed;;junk; x=",
            true,
        );
        assert_eq!(s.value, b"text/plain");
        assert_eq!(
            params(&s),
            [
                ("charset".into(), "us\"ascii".into()),
                ("format".into(), "flowed".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(parse(b" TEXT ", true).value, b"TEXT");
        assert_eq!(parse(b"", true), Structured::default());
        assert_eq!(
            parse(b"attachment; filename=a.txt", false).value,
            b"attachment"
        );
    }

    #[test]
    fn rfc2231_continuations_are_joined() {
        let s = parse(
            b"application/x; name*1=\"b\"; a=1; Name*0=\"a \"; f*=utf-8''%41; g*0*=us''x; g*1=y",
            true,
        );
        assert_eq!(
            params(&s),
            [
                ("name".into(), "a b".into()),
                ("a".into(), "1".into()),
                ("f*".into(), "utf-8''%41".into()),
                ("g*".into(), "us''xy".into()),
            ]
        );
    }

    #[test]
    fn unclosed_quotes_and_comments_end_at_the_end() {
        assert_eq!(unquote(b"abc"), (b"abc".to_vec(), &b""[..]));
        assert_eq!(skip_comment(b"(a (b) c"), b"");
        assert_eq!(skip_comment(b"(a \\) b) x"), b" x");
        let s = parse(b"text/plain; name=\"open", true);
        assert_eq!(params(&s), [("name".into(), "open".into())]);
    }
}
