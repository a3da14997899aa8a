//! The ACL string itself: a validated borrowed view, its entries, and SETACL/DELETEACL edits.
//!
//! [`Acl::parse`] checks the whole string once (see the parent module for what it refuses);
//! after that [`Acl::entries`] walks it again without allocating and cannot fail. Edits
//! ([`Acl::modify`], [`Acl::delete`]) build a new string in which every entry of another
//! identifier is copied byte for byte and in order, so a Cyrus backend comparing with `strcmp`
//! sees only the change it asked for.

use memchr::memchr;

use super::{AclError, Rights, RightsChange};

/// A valid ACL string, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acl<'a> {
    bytes: &'a [u8],
}

/// One `identifier TAB rights TAB` entry of an [`Acl`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    raw: &'a [u8],
    identifier_len: usize,
    rights: Rights,
}

/// Whom an entry's identifier names (the `-` of a negative entry removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identifier<'a> {
    /// `anyone`: every user, the anonymous one included.
    Anyone,
    /// `anonymous`: the anonymous user only.
    Anonymous,
    /// `group:name`: the members of group `name` (the name as given, without `group:`).
    Group(&'a [u8]),
    /// Any other identifier: one user id, such as `john` or `john@example.com`.
    User(&'a [u8]),
}

impl<'a> Identifier<'a> {
    /// Classifies an identifier given without its `-`.
    pub fn classify(name: &'a [u8]) -> Identifier<'a> {
        match name {
            b"anyone" => Identifier::Anyone,
            b"anonymous" => Identifier::Anonymous,
            _ => match name.strip_prefix(b"group:") {
                Some(group) => Identifier::Group(group),
                None => Identifier::User(name),
            },
        }
    }
}

/// Checks an identifier as written in an ACL (with its `-` if negative): not empty once the
/// `-` is removed, and free of control bytes (a tab would split it).
fn check_identifier(raw: &[u8]) -> Result<(), AclError> {
    if raw.strip_prefix(b"-").unwrap_or(raw).is_empty() {
        return Err(AclError::EmptyIdentifier { at: 0 });
    }
    match raw.iter().position(u8::is_ascii_control) {
        Some(at) => Err(AclError::ControlByte { at, byte: raw[at] }),
        None => Ok(()),
    }
}

/// Reads the entry that starts at `start` (before the end of `acl`); returns it and where the
/// next one starts.
fn parse_entry(acl: &[u8], start: usize) -> Result<(Entry<'_>, usize), AclError> {
    let entry = &acl[start..];
    let identifier_len = memchr(b'\t', entry).ok_or(AclError::MissingRights { at: start })?;
    let rights_field = &entry[identifier_len + 1..];
    if rights_field.is_empty() {
        return Err(AclError::MissingRights { at: start });
    }
    let rights_len =
        memchr(b'\t', rights_field).ok_or(AclError::MissingTrailingTab { at: acl.len() })?;
    check_identifier(&entry[..identifier_len]).map_err(|e| e.shifted(start))?;
    let rights = Rights::parse(&rights_field[..rights_len])
        .map_err(|e| e.shifted(start + identifier_len + 1))?;
    let len = identifier_len + 1 + rights_len + 1;
    let entry = Entry {
        raw: &entry[..len],
        identifier_len,
        rights,
    };
    Ok((entry, start + len))
}

/// Walks the entries of an ACL string from the start, stopping after the first error.
#[derive(Debug, Clone)]
struct Parser<'a> {
    acl: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, AclError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.acl.len() {
            return None;
        }
        Some(match parse_entry(self.acl, self.at) {
            Ok((entry, next)) => {
                self.at = next;
                Ok(entry)
            }
            Err(e) => {
                self.at = self.acl.len();
                Err(e)
            }
        })
    }
}

/// The entries of an [`Acl`], in order.
#[derive(Debug, Clone)]
pub struct Entries<'a>(Parser<'a>);

impl<'a> Iterator for Entries<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        // The string was validated by `Acl::parse`, so no entry is an error.
        self.0.next()?.ok()
    }
}

impl Acl<'static> {
    /// The ACL with no entry (grants nothing).
    pub const EMPTY: Acl<'static> = Acl { bytes: b"" };
}

impl<'a> Acl<'a> {
    /// Validates an ACL string (see the parent module for what is refused). The empty string,
    /// an ACL with no entry, is valid.
    pub fn parse(bytes: &'a [u8]) -> Result<Acl<'a>, AclError> {
        Parser { acl: bytes, at: 0 }.try_for_each(|entry| entry.map(drop))?;
        Ok(Acl { bytes })
    }

    /// The string exactly as given.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Has the ACL no entry?
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The entries in order, borrowed from the string.
    pub fn entries(&self) -> Entries<'a> {
        Entries(Parser {
            acl: self.bytes,
            at: 0,
        })
    }

    /// The rights the entries written with exactly `identifier` (`-` included for the
    /// negative entry) hold together; `None` when there is no such entry.
    pub fn rights_of_identifier(&self, identifier: &[u8]) -> Option<Rights> {
        self.entries()
            .filter(|entry| entry.raw_identifier() == identifier)
            .map(|entry| entry.rights())
            .reduce(|a, b| a | b)
    }

    /// SETACL (RFC 4314 §3.1): the ACL string after `change` to the entry of `identifier`
    /// (written as in the ACL: `-john` edits the negative entry of `john`).
    ///
    /// The identifier's entry is rewritten in place, in Cyrus's form; an identifier without an
    /// entry gets one at the end; an identifier whose rights become empty loses its entry
    /// (Cyrus removes it, and RFC 4314 leaves an empty entry meaningless). If the string held
    /// several entries for the identifier, they are merged into the first. Every other entry
    /// is copied byte for byte, in order. Fails only for an invalid identifier.
    pub fn modify(&self, identifier: &[u8], change: RightsChange) -> Result<Vec<u8>, AclError> {
        check_identifier(identifier)?;
        let current = self.rights_of_identifier(identifier).unwrap_or_default();
        let rights = change.apply(current);
        let mut out = Vec::with_capacity(self.bytes.len() + identifier.len() + 32);
        let mut pending = !rights.is_empty();
        for entry in self.entries() {
            if entry.raw_identifier() != identifier {
                out.extend_from_slice(entry.as_bytes());
            } else if pending {
                write_entry(&mut out, identifier, rights);
                pending = false;
            }
        }
        if pending {
            write_entry(&mut out, identifier, rights);
        }
        Ok(out)
    }

    /// DELETEACL (RFC 4314 §3.2): the ACL string without the entry of `identifier`; the same
    /// string when it has none.
    pub fn delete(&self, identifier: &[u8]) -> Result<Vec<u8>, AclError> {
        self.modify(identifier, RightsChange::Replace(Rights::NONE))
    }
}

/// Appends `identifier TAB rights TAB`.
fn write_entry(out: &mut Vec<u8>, identifier: &[u8], rights: Rights) {
    out.extend_from_slice(identifier);
    out.push(b'\t');
    rights.write(out);
    out.push(b'\t');
}

impl<'a> Entry<'a> {
    /// The identifier as written, with the `-` of a negative entry (what GETACL prints).
    pub fn raw_identifier(&self) -> &'a [u8] {
        &self.raw[..self.identifier_len]
    }

    /// Is this a negative entry (`-john`), whose rights are taken away?
    pub fn is_negative(&self) -> bool {
        self.raw.first() == Some(&b'-')
    }

    /// The identifier without its `-`.
    pub fn name(&self) -> &'a [u8] {
        let raw = self.raw_identifier();
        raw.strip_prefix(b"-").unwrap_or(raw)
    }

    /// Whom the identifier names.
    pub fn identifier(&self) -> Identifier<'a> {
        Identifier::classify(self.name())
    }

    /// The rights the entry grants (or, if negative, takes away).
    pub fn rights(&self) -> Rights {
        self.rights
    }

    /// The rights field as written (what Cyrus prints in a GETACL response).
    pub fn rights_text(&self) -> &'a [u8] {
        &self.raw[self.identifier_len + 1..self.raw.len() - 1]
    }

    /// The whole entry as written: `identifier TAB rights TAB`.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rights(text: &str) -> Rights {
        Rights::parse(text.as_bytes()).unwrap()
    }

    fn refusal(input: &[u8]) -> Option<AclError> {
        Acl::parse(input).err()
    }

    #[test]
    fn cyrus_example_parses() {
        let acl = Acl::parse(b"alice\tlrswipkxtecdan\tanyone\tp\t").unwrap();
        let entries: Vec<_> = acl.entries().collect();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].raw_identifier(), b"alice");
        assert_eq!(entries[0].identifier(), Identifier::User(b"alice"));
        assert_eq!(entries[0].rights(), rights("lrswipkxtean"));
        assert_eq!(entries[0].rights_text(), b"lrswipkxtecdan");
        assert_eq!(entries[0].as_bytes(), b"alice\tlrswipkxtecdan\t");
        assert_eq!(entries[1].identifier(), Identifier::Anyone);
        assert_eq!(entries[1].rights(), Rights::POST);
        assert!(!entries[1].is_negative());
    }

    #[test]
    fn identifiers_are_classified() {
        let acl = Acl::parse(
            b"john@example.com\tlr\t-john\tw\tanonymous\tl\tgroup:staff\tlrs\tanyonex\tl\t",
        )
        .unwrap();
        let ids: Vec<_> = acl
            .entries()
            .map(|e| (e.identifier(), e.is_negative()))
            .collect();
        assert_eq!(
            ids,
            [
                (Identifier::User(b"john@example.com"), false),
                (Identifier::User(b"john"), true),
                (Identifier::Anonymous, false),
                (Identifier::Group(b"staff"), false),
                (Identifier::User(b"anyonex"), false),
            ]
        );
        let negative = acl.entries().nth(1).unwrap();
        assert_eq!(negative.raw_identifier(), b"-john");
        assert_eq!(negative.name(), b"john");
    }

    #[test]
    fn empty_acl_and_empty_rights() {
        assert!(Acl::parse(b"").unwrap().is_empty());
        let acl = Acl::parse(b"bob\t\t").unwrap();
        assert_eq!(acl.entries().next().unwrap().rights(), Rights::NONE);
    }

    #[test]
    fn malformed_strings_report_where() {
        let cases: [(&[u8], AclError); 9] = [
            (b"alice", AclError::MissingRights { at: 0 }),
            (b"alice\t", AclError::MissingRights { at: 0 }),
            (b"alice\tlr\tbob\t", AclError::MissingRights { at: 9 }),
            (b"alice\tlr", AclError::MissingTrailingTab { at: 8 }),
            (
                b"alice\tlr\tanyone\tp",
                AclError::MissingTrailingTab { at: 17 },
            ),
            (b"\tlr\t", AclError::EmptyIdentifier { at: 0 }),
            (b"a\tl\t-\tl\t", AclError::EmptyIdentifier { at: 4 }),
            (
                b"a\tl\tb\rc\tl\t",
                AclError::ControlByte { at: 5, byte: b'\r' },
            ),
            (
                b"a\tl\tb\tlrq\t",
                AclError::UnknownRight { at: 8, right: b'q' },
            ),
        ];
        for (input, error) in cases {
            assert_eq!(refusal(input), Some(error), "{input:?}");
            assert_eq!(error.at(), error.at().min(input.len()));
        }
    }

    #[test]
    fn every_prefix_is_refused_or_a_whole_entry_list() {
        let acl: &[u8] = b"alice\tlrswipkxtecdan\t-bob\tw\tgroup:x\tl\t";
        let boundaries = [0, 21, 28, acl.len()];
        for cut in 0..=acl.len() {
            let parsed = Acl::parse(&acl[..cut]);
            assert_eq!(parsed.is_ok(), boundaries.contains(&cut), "cut at {cut}");
        }
    }

    #[test]
    fn modify_replaces_in_place_and_keeps_the_rest() {
        let acl = Acl::parse(b"alice\tlrswipkxtecdan\tbob\tlrs\tanyone\tp\t").unwrap();
        let set = |id: &str, arg: &str| {
            acl.modify(id.as_bytes(), RightsChange::parse(arg.as_bytes()).unwrap())
                .unwrap()
        };
        assert_eq!(
            set("bob", "lr"),
            b"alice\tlrswipkxtecdan\tbob\tlr\tanyone\tp\t"
        );
        assert_eq!(
            set("bob", "+wc"),
            b"alice\tlrswipkxtecdan\tbob\tlrswkxc\tanyone\tp\t"
        );
        assert_eq!(
            set("bob", "-s"),
            b"alice\tlrswipkxtecdan\tbob\tlr\tanyone\tp\t"
        );
        assert_eq!(set("bob", "-lrs"), b"alice\tlrswipkxtecdan\tanyone\tp\t");
        assert_eq!(set("bob", ""), b"alice\tlrswipkxtecdan\tanyone\tp\t");
        assert_eq!(
            set("-bob", "w"),
            b"alice\tlrswipkxtecdan\tbob\tlrs\tanyone\tp\t-bob\tw\t"
        );
        assert_eq!(
            set("group:staff", "+lr"),
            b"alice\tlrswipkxtecdan\tbob\tlrs\tanyone\tp\tgroup:staff\tlr\t"
        );
        assert_eq!(set("carol", "-lr"), acl.as_bytes());
        assert_eq!(
            acl.delete(b"anyone").unwrap(),
            b"alice\tlrswipkxtecdan\tbob\tlrs\t"
        );
        assert_eq!(acl.delete(b"nobody").unwrap(), acl.as_bytes());
    }

    #[test]
    fn modify_merges_duplicates_and_refuses_bad_identifiers() {
        let acl = Acl::parse(b"bob\tl\tanyone\tp\tbob\tr\t").unwrap();
        assert_eq!(acl.rights_of_identifier(b"bob"), Some(rights("lr")));
        assert_eq!(acl.rights_of_identifier(b"-bob"), None);
        assert_eq!(
            acl.modify(b"bob", RightsChange::Add(Rights::SEEN)).unwrap(),
            b"bob\tlrs\tanyone\tp\t"
        );
        assert_eq!(
            acl.modify(b"-", RightsChange::Add(Rights::SEEN)),
            Err(AclError::EmptyIdentifier { at: 0 })
        );
        assert_eq!(
            acl.modify(b"b\tx", RightsChange::Add(Rights::SEEN)),
            Err(AclError::ControlByte { at: 1, byte: b'\t' })
        );
    }
}
