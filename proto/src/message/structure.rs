//! BODYSTRUCTURE and BODY (RFC 3501 §7.4.2): a part tree in IMAP syntax.
//!
//! A leaf is `(type subtype params id description encoding size ...)`, followed for text by its
//! line count and for message/rfc822 by the embedded message's envelope, body structure and
//! line count; a multipart is its parts then its subtype. BODYSTRUCTURE adds the extension
//! data: for a leaf `md5 disposition language location` (MD5 is always NIL: nothing here
//! computes it), for a multipart `params disposition language location`.

use super::content::{self, Param};
use super::header::{Fields, first_field};
use super::strings::{nstring, string};
use super::{Kind, Message, Part, envelope};

/// Appends the structure of `part` of `message`.
pub(crate) fn write(message: &Message<'_>, part: &Part, extensions: bool, out: &mut Vec<u8>) {
    let header = message.slice(part.header.clone());
    let (media, subtype) = part.media_type();
    out.push(b'(');
    match &part.kind {
        Kind::Multipart(children) => {
            for child in children {
                write(message, child, extensions, out);
            }
            out.push(b' ');
            string(out, subtype);
            if extensions {
                out.push(b' ');
                params(out, &part.content_type.params, false);
                trailer(out, header);
            }
        }
        Kind::Single | Kind::Message(_) => {
            if let Kind::Message(_) = part.kind {
                // Whatever its case in the message, as Dovecot writes it.
                out.extend_from_slice(b"\"message\" \"rfc822\"");
            } else {
                string(out, media);
                out.push(b' ');
                string(out, subtype);
            }
            out.push(b' ');
            let text = media.eq_ignore_ascii_case(b"text");
            params(out, &part.content_type.params, text);
            let mut id = None;
            let mut description = None;
            let mut encoding = None;
            for field in Fields::new(header) {
                let slot = if field.name.eq_ignore_ascii_case(b"Content-ID") {
                    &mut id
                } else if field.name.eq_ignore_ascii_case(b"Content-Description") {
                    &mut description
                } else if field
                    .name
                    .eq_ignore_ascii_case(b"Content-Transfer-Encoding")
                {
                    &mut encoding
                } else {
                    continue;
                };
                if slot.is_none() {
                    *slot = Some(field.unfolded());
                }
            }
            for value in [id, description] {
                out.push(b' ');
                nstring(out, value.as_deref());
            }
            out.push(b' ');
            let encoding = encoding.map(|e| content::parse(&e).value);
            let encoding = encoding.filter(|e| !e.is_empty());
            string(out, encoding.as_deref().unwrap_or(b"7bit"));
            let body = message.slice(part.body.clone());
            out.push(b' ');
            decimal(out, body.len());
            if let Kind::Message(inner) = &part.kind {
                out.push(b' ');
                envelope::write(message.slice(inner.header.clone()), out);
                out.push(b' ');
                write(message, inner, extensions, out);
            }
            if matches!(part.kind, Kind::Message(_)) || text {
                out.push(b' ');
                decimal(out, line_count(body));
            }
            if extensions {
                out.extend_from_slice(b" NIL");
                trailer(out, header);
            }
        }
    }
    out.push(b')');
}

/// Appends ` disposition language location` from a part's header.
fn trailer(out: &mut Vec<u8>, header: &[u8]) {
    out.push(b' ');
    match first_field(header, b"Content-Disposition") {
        Some(field) => {
            let disposition = content::parse(field.value);
            out.push(b'(');
            string(out, &disposition.value);
            out.push(b' ');
            params(out, &disposition.params, false);
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    let languages: Vec<Vec<u8>> = first_field(header, b"Content-Language")
        .map(|field| {
            field
                .unfolded()
                .split(|&b| b == b',')
                .map(|l| l.trim_ascii().to_vec())
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default();
    list(out, languages.iter().map(Vec::as_slice));
    out.push(b' ');
    let location = first_field(header, b"Content-Location").map(|f| f.unfolded());
    nstring(out, location.as_deref().filter(|l| !l.is_empty()));
}

/// Appends a parameter list, or NIL when there is none. A text part's list ends with
/// `"charset" "us-ascii"` when it names no charset (RFC 2045 §5.2), as Dovecot writes it.
fn params(out: &mut Vec<u8>, params: &[Param], text: bool) {
    let default_charset = (text
        && !params
            .iter()
            .any(|(attribute, _)| attribute.eq_ignore_ascii_case(b"charset")))
    .then_some([&b"charset"[..], b"us-ascii"]);
    list(
        out,
        params
            .iter()
            .flat_map(|(attribute, value)| [attribute.as_slice(), value.as_slice()])
            .chain(default_charset.into_iter().flatten()),
    );
}

/// Appends `(s1 s2 ...)`, or NIL for no string.
fn list<'v>(out: &mut Vec<u8>, values: impl Iterator<Item = &'v [u8]>) {
    let mut any = false;
    for value in values {
        out.push(if any { b' ' } else { b'(' });
        string(out, value);
        any = true;
    }
    out.extend_from_slice(if any { b")" } else { b"NIL" });
}

/// How many lines `body` has, as Dovecot counts them: its line ends (a last line without
/// one is not counted).
fn line_count(body: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', body).count()
}

/// Appends `n` in decimal.
fn decimal(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(n.to_string().as_bytes());
}
