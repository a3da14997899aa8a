//! ENVELOPE (RFC 3501 §7.4.2): the ten fields from a message header, in IMAP syntax.
//!
//! As Dovecot reads them: Date, Subject, In-Reply-To and Message-ID come from the last field
//! of their name, the address lists from every field of their name, in order. Subject and
//! display names are text for people ([`strings::human`]); the other strings are unfolded and
//! passed through unchanged (encoded words included). An address list is a list of
//! `(name adl mailbox host)`, a group being `(NIL NIL "name" NIL)` ... `(NIL NIL NIL NIL)`;
//! a missing local part or domain is `MISSING_MAILBOX` or `MISSING_DOMAIN`, as Dovecot writes
//! them. Sender and Reply-To default to From.

use super::address::{self, Entry};
use super::header::{Field, Fields};
use super::strings;

/// The header fields ENVELOPE reads, in its order.
const NAMES: [&[u8]; 10] = [
    b"Date",
    b"Subject",
    b"From",
    b"Sender",
    b"Reply-To",
    b"To",
    b"Cc",
    b"Bcc",
    b"In-Reply-To",
    b"Message-ID",
];

/// The local part written for an address that has none.
const MISSING_MAILBOX: &[u8] = b"MISSING_MAILBOX";
/// The domain written for an address that has none.
const MISSING_DOMAIN: &[u8] = b"MISSING_DOMAIN";

/// Appends the ENVELOPE of the message whose header block is `header`.
pub(crate) fn write(header: &[u8], out: &mut Vec<u8>) {
    let mut values: [Vec<Field<'_>>; 10] = Default::default();
    for field in Fields::new(header) {
        if let Some(at) = NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(field.name))
            && let Some(slot) = values.get_mut(at)
        {
            slot.push(field);
        }
    }
    let [
        date,
        subject,
        from,
        sender,
        reply_to,
        to,
        cc,
        bcc,
        in_reply_to,
        message_id,
    ] = values;
    out.push(b'(');
    text(out, date.last());
    out.push(b' ');
    match subject.last() {
        Some(subject) => strings::human(out, subject.trimmed()),
        None => out.extend_from_slice(b"NIL"),
    }
    let sender = if sender.is_empty() { &from } else { &sender };
    let reply_to = if reply_to.is_empty() {
        &from
    } else {
        &reply_to
    };
    for list in [&from, sender, reply_to, &to, &cc, &bcc] {
        out.push(b' ');
        addresses(out, list);
    }
    out.push(b' ');
    text(out, in_reply_to.last());
    out.push(b' ');
    text(out, message_id.last());
    out.push(b')');
}

/// Appends an unstructured field's value, unfolded, as an nstring.
fn text(out: &mut Vec<u8>, field: Option<&Field<'_>>) {
    strings::nstring(out, field.map(Field::unfolded).as_deref());
}

/// `value`, or `missing` when it is absent or empty.
fn or_missing<'v>(value: &'v Option<Vec<u8>>, missing: &'v [u8]) -> &'v [u8] {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .unwrap_or(missing)
}

/// Appends the addresses of every field in `fields`, or NIL when there is none. A field
/// with text but no address in it counts as one address with neither mailbox nor domain, as
/// Dovecot counts it.
fn addresses(out: &mut Vec<u8>, fields: &[Field<'_>]) {
    let mut entries = Vec::new();
    for field in fields {
        let value = field.unfolded();
        let before = entries.len();
        entries.extend(address::parse(&value));
        if entries.len() == before && !value.trim_ascii().is_empty() {
            entries.push(Entry::Address {
                name: None,
                route: None,
                mailbox: None,
                host: None,
            });
        }
    }
    if entries.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for entry in &entries {
        match entry {
            Entry::Address {
                name,
                route,
                mailbox,
                host,
            } => {
                out.push(b'(');
                match name.as_deref().filter(|n| !n.is_empty()) {
                    Some(name) => strings::human(out, name),
                    None => out.extend_from_slice(b"NIL"),
                }
                out.push(b' ');
                strings::nstring(out, route.as_deref());
                out.push(b' ');
                strings::string(out, or_missing(mailbox, MISSING_MAILBOX));
                out.push(b' ');
                strings::string(out, or_missing(host, MISSING_DOMAIN));
                out.push(b')');
            }
            Entry::GroupStart(group) => {
                out.extend_from_slice(b"(NIL NIL ");
                strings::string(out, group);
                out.extend_from_slice(b" NIL)");
            }
            Entry::GroupEnd => out.extend_from_slice(b"(NIL NIL NIL NIL)"),
        }
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(header: &[u8]) -> String {
        let mut out = Vec::new();
        write(header, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn fields_default_and_groups() {
        assert_eq!(
            envelope(
                b"Subject: no\r\nFrom: A <a@b>\r\nTo: g: c@d;\r\nSubject: hi\r\n there\r\n\r\n"
            ),
            "(NIL {8}\r\nhi there ((\"A\" NIL \"a\" \"b\")) ((\"A\" NIL \"a\" \"b\")) \
             ((\"A\" NIL \"a\" \"b\")) ((NIL NIL \"g\" NIL)(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)) \
             NIL NIL NIL NIL)"
        );
        assert_eq!(envelope(b""), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    }
}
