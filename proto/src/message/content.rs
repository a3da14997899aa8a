//! Structured MIME field values (RFC 2045 §5.1, RFC 2183, RFC 2231): a leading token or
//! `type/subtype` and its `; attribute=value` parameters.
//!
//! Parsing follows Dovecot: comments and white space are skipped anywhere, a value is a token
//! or a quoted string, a malformed parameter is dropped without losing the ones after it, and
//! an unclosed quoted string ends the parameters, and a malformed Content-Type loses its
//! parameters (see [`parse_media_type`]). RFC 2231 continuations (`name*0`, `name*1*`, ...) are joined
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

/// RFC 2045 tspecials, plus the white space and controls that end a token (8-bit bytes do
/// not, as in Dovecot).
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
    /// Skips white space, line ends and (nested) comments; false when a comment is not
    /// closed (the cursor is then at the end).
    fn skip_cfws(&mut self) -> bool {
        loop {
            match self.rest {
                [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] => self.rest = rest,
                [b'(', ..] => match skip_comment(self.rest) {
                    Some(rest) => self.rest = rest,
                    None => {
                        self.rest = &[];
                        return false;
                    }
                },
                _ => return true,
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

    /// A parameter value: a quoted string (unescaped) or a token; `None` for a quoted string
    /// that is not closed.
    fn value(&mut self) -> Option<Vec<u8>> {
        self.skip_cfws();
        match self.rest {
            [b'"', body @ ..] => {
                let (value, rest) = unquote(body);
                let closed =
                    rest.len() < body.len() && body.get(body.len() - rest.len() - 1) == Some(&b'"');
                self.rest = rest;
                closed.then_some(value)
            }
            _ => Some(self.token().to_vec()),
        }
    }

    /// Skips to just past the next `;` (or to the end).
    fn skip_past_semicolon(&mut self) {
        let n = memchr::memchr(b';', self.rest).map_or(self.rest.len(), |n| n + 1);
        self.rest = self.rest.get(n..).unwrap_or_default();
    }
}

/// The rest of `bytes` after the comment that opens it (nested comments and quoted pairs
/// included); `None` when it is not closed.
pub(crate) fn skip_comment(bytes: &[u8]) -> Option<&[u8]> {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        match b {
            b'\\' => at += 1,
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return bytes.get(at + 1..);
                }
            }
            _ => {}
        }
        at += 1;
    }
    None
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

/// Parses a structured field value whose leading value is one token (perhaps empty).
pub(crate) fn parse(field: &[u8]) -> Structured {
    let mut cursor = Cursor { rest: field };
    let value = cursor.token().to_vec();
    Structured {
        value,
        params: params(cursor),
    }
}

/// Parses a Content-Type value: `type/subtype` then parameters. As Dovecot reads a
/// malformed one: a lone token is that type with an empty subtype; anything else (no `/`
/// after the type, or more than `;` after the subtype) is an empty type and subtype; neither
/// has parameters.
pub(crate) fn parse_media_type(field: &[u8]) -> Structured {
    let mut cursor = Cursor { rest: field };
    let mut value = cursor.token().to_vec();
    if !cursor.eat(b'/') {
        cursor.skip_cfws();
        if !cursor.rest.is_empty() {
            value.clear();
        }
        value.push(b'/');
        return Structured {
            value,
            params: Vec::new(),
        };
    }
    let subtype = cursor.token();
    let closed = cursor.skip_cfws();
    if !closed
        || value.is_empty()
        || subtype.is_empty()
        || !matches!(cursor.rest.first(), None | Some(b';'))
    {
        return Structured {
            value: b"/".to_vec(),
            params: Vec::new(),
        };
    }
    value.push(b'/');
    value.extend_from_slice(subtype);
    Structured {
        value,
        params: params(cursor),
    }
}

/// The parameters from `cursor` on.
fn params(mut cursor: Cursor<'_>) -> Vec<Param> {
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
        // As in Dovecot, an unclosed quoted string ends the parameters.
        let Some(value) = cursor.value() else {
            break;
        };
        raw_params.push((attribute.to_vec(), value));
    }
    join_continuations(raw_params)
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

    fn pairs(s: &Structured) -> Vec<(String, String)> {
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
        let s = parse_media_type(
            b"text/plain (a comment); charset=\"us\\\"ascii\";\r\n format=flowed;;junk; x=",
        );
        assert_eq!(s.value, b"text/plain");
        assert_eq!(
            pairs(&s),
            [
                ("charset".into(), "us\"ascii".into()),
                ("format".into(), "flowed".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(parse_media_type(b" text/plain (c) ").value, b"text/plain");
        assert_eq!(parse_media_type(b"text (c)").value, b"text/");
        assert_eq!(parse_media_type(b"text; a=b").value, b"/");
        assert_eq!(parse_media_type(b"").value, b"/");
        for malformed in [&b"text/"[..], b"/plain", b"text/plain junk", b"text/pl(ain"] {
            let parsed = parse_media_type(malformed);
            assert_eq!(
                (parsed.value, parsed.params),
                (b"/".to_vec(), vec![]),
                "{malformed:?}"
            );
        }
        assert_eq!(parse_media_type(b"text/pl\xe9in").value, b"text/pl\xe9in");
        assert_eq!(parse(b""), Structured::default());
        let disposition = parse(b"attachment; filename=a.txt; size=a\"b");
        assert_eq!(disposition.value, b"attachment");
        assert_eq!(
            pairs(&disposition),
            [
                ("filename".into(), "a.txt".into()),
                ("size".into(), "a".into())
            ]
        );
    }

    #[test]
    fn rfc2231_continuations_are_joined() {
        let s = parse_media_type(
            b"application/x; name*1=\"b\"; a=1; Name*0=\"a \"; f*=utf-8''%41; g*0*=us''x; g*1=y",
        );
        assert_eq!(
            pairs(&s),
            [
                ("name".into(), "a b".into()),
                ("a".into(), "1".into()),
                ("f*".into(), "utf-8''%41".into()),
                ("g*".into(), "us''xy".into()),
            ]
        );
    }

    #[test]
    fn unclosed_quotes_and_comments() {
        assert_eq!(unquote(b"abc"), (b"abc".to_vec(), &b""[..]));
        assert_eq!(skip_comment(b"(a (b) c"), None);
        assert_eq!(skip_comment(b"(a \\) b) x"), Some(&b" x"[..]));
        let s = parse_media_type(b"text/plain; a=1; name=\"open; b=2");
        assert_eq!(pairs(&s), [("a".into(), "1".into())]);
    }
}
