//! Address lists (RFC 5322 §3.4) as ENVELOPE needs them: mailboxes, groups and routes.
//!
//! Parsing is lenient and never fails: a display name is the phrase before `<` (or, without one,
//! the last comment of the address, as Dovecot does); a route (`<@a,@b:x@y>`) is kept as its
//! `@a,@b` text; an address without `@` has only a mailbox; a group is its name, its members and
//! its end; encoded words stay as they are.

use super::content::{skip_comment, unquote};

/// One entry of an address list, in the ENVELOPE's terms (RFC 3501 §7.4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// An address.
    Address {
        /// The display name.
        name: Option<Vec<u8>>,
        /// The source route (`@a,@b`).
        route: Option<Vec<u8>>,
        /// The local part.
        mailbox: Option<Vec<u8>>,
        /// The domain.
        host: Option<Vec<u8>>,
    },
    /// The start of a group, with its name.
    GroupStart(Vec<u8>),
    /// The end of a group.
    GroupEnd,
}

/// A lexical token of a header value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A run of atom text (dots included), its bytes as sent.
    Word(Vec<u8>),
    /// A quoted string, unquoted.
    Quoted(Vec<u8>),
    /// A comment's text, without its outer parentheses.
    Comment(Vec<u8>),
    /// One of `<>@,;:`.
    Special(u8),
}

/// A token and whether white space (or a comment) came before it.
type Spaced = (Token, bool);

fn tokens(mut rest: &[u8]) -> Vec<Spaced> {
    let mut out = Vec::new();
    let mut space = false;
    while let Some((&b, tail)) = rest.split_first() {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                space = true;
                rest = tail;
                continue;
            }
            b'(' => {
                let after = skip_comment(rest).unwrap_or_default();
                let inner = rest.get(1..rest.len() - after.len()).unwrap_or_default();
                let inner = inner.strip_suffix(b")").unwrap_or(inner);
                out.push((Token::Comment(inner.to_vec()), space));
                rest = after;
                space = true;
                continue;
            }
            b'"' => {
                let (value, after) = unquote(tail);
                out.push((Token::Quoted(value), space));
                rest = after;
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' => {
                out.push((Token::Special(b), space));
                rest = tail;
            }
            _ => {
                let n = rest
                    .iter()
                    .position(|&c| b" \t\r\n(\"<>@,;:".contains(&c))
                    .unwrap_or(rest.len());
                let (word, after) = rest.split_at(n);
                out.push((Token::Word(word.to_vec()), space));
                rest = after;
            }
        }
        space = false;
    }
    out
}

/// Reads the address list in the (unfolded) field value `value`.
pub(crate) fn parse(value: &[u8]) -> Vec<Entry> {
    let tokens = tokens(value);
    let mut reader = Reader {
        tokens: &tokens,
        at: 0,
    };
    let mut entries = Vec::new();
    while reader.at < tokens.len() {
        reader.item(&mut entries, false);
    }
    entries
}

struct Reader<'t> {
    tokens: &'t [Spaced],
    at: usize,
}

/// The words of a phrase, and the last comment among them.
#[derive(Default)]
struct Phrase {
    text: Vec<u8>,
    words: usize,
    quoted: bool,
    comment: Option<Vec<u8>>,
}

impl Reader<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    /// Reads words and comments up to the next special.
    fn phrase(&mut self, spaced: bool) -> Phrase {
        let mut phrase = Phrase::default();
        while let Some((token, space)) = self.tokens.get(self.at) {
            match token {
                Token::Word(w) | Token::Quoted(w) => {
                    phrase.quoted |= matches!(token, Token::Quoted(_));
                    if spaced && *space && !phrase.text.is_empty() {
                        phrase.text.push(b' ');
                    }
                    phrase.text.extend_from_slice(w);
                    phrase.words += 1;
                }
                Token::Comment(c) => phrase.comment = Some(c.clone()),
                Token::Special(_) => break,
            }
            self.at += 1;
        }
        phrase
    }

    /// Reads one address or group (a group only at the top level) and what ends it.
    fn item(&mut self, entries: &mut Vec<Entry>, in_group: bool) {
        let start = self.at;
        let phrase = self.phrase(true);
        match self.peek() {
            Some(Token::Special(b'<')) => {
                self.at += 1;
                entries.push(self.angle_addr(phrase));
            }
            Some(Token::Special(b':')) if !in_group => {
                self.at += 1;
                entries.push(Entry::GroupStart(phrase.text));
                while let Some(token) = self.peek() {
                    if *token == Token::Special(b';') {
                        self.at += 1;
                        break;
                    }
                    self.item(entries, true);
                }
                entries.push(Entry::GroupEnd);
            }
            _ => {
                // An addr-spec: the local part again, without spaces, then the domain.
                self.at = start;
                let local = self.phrase(false);
                let mut host = None;
                let mut comment = local.comment;
                if self.peek() == Some(&Token::Special(b'@')) {
                    self.at += 1;
                    let domain = self.phrase(false);
                    host = Some(domain.text);
                    comment = domain.comment.or(comment);
                }
                if host.is_none() && (local.quoted || local.words > 1) {
                    // Only a display name (`"Name only"`), as Dovecot reads it.
                    entries.push(address(Some(phrase.text), None, None, None));
                } else if local.words > 0 || host.is_some() {
                    entries.push(address(comment, None, Some(local.text), host));
                }
            }
        }
        // Skip to the end of this item: a comma, or a `;` that ends the group.
        while let Some(token) = self.peek() {
            match token {
                Token::Special(b',') => {
                    self.at += 1;
                    return;
                }
                Token::Special(b';') if in_group => return,
                _ => self.at += 1,
            }
        }
    }

    /// Reads after `<` through `>` (route, local part, domain) the address whose display
    /// name is `phrase`, or a comment when the phrase has no word.
    fn angle_addr(&mut self, phrase: Phrase) -> Entry {
        let mut route: Option<Vec<u8>> = None;
        if self.peek() == Some(&Token::Special(b'@')) {
            let mut text = Vec::new();
            while let Some(token) = self.peek() {
                match token {
                    Token::Special(b':') => {
                        self.at += 1;
                        break;
                    }
                    Token::Special(b'>') => break,
                    Token::Special(b) => text.push(*b),
                    Token::Word(w) | Token::Quoted(w) => text.extend_from_slice(w),
                    Token::Comment(_) => {}
                }
                self.at += 1;
            }
            route = Some(text);
        }
        let local = self.phrase(false);
        let mut comment = local.comment;
        let mut host = None;
        if self.peek() == Some(&Token::Special(b'@')) {
            self.at += 1;
            let domain = self.phrase(false);
            comment = domain.comment.or(comment);
            host = Some(domain.text);
        }
        if self.peek() == Some(&Token::Special(b'>')) {
            self.at += 1;
        }
        let name = (phrase.words > 0)
            .then_some(phrase.text)
            .or(comment)
            .or(phrase.comment);
        address(name, route, Some(local.text), host)
    }
}

fn address(
    name: Option<Vec<u8>>,
    route: Option<Vec<u8>>,
    mailbox: Option<Vec<u8>>,
    host: Option<Vec<u8>>,
) -> Entry {
    Entry::Address {
        name,
        route,
        mailbox,
        host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, route: Option<&str>, mailbox: &str, host: Option<&str>) -> Entry {
        let v = |s: &str| s.as_bytes().to_vec();
        Entry::Address {
            name: name.map(v),
            route: route.map(v),
            mailbox: Some(v(mailbox)),
            host: host.map(v),
        }
    }

    #[test]
    fn mailboxes_names_and_routes() {
        assert_eq!(
            parse(b"\"Doe, J.\" <j@x.org>, Carol Q. Public <c@y>, a@b (Al), <@r1,@r2:d@e>"),
            [
                addr(Some("Doe, J."), None, "j", Some("x.org")),
                addr(Some("Carol Q. Public"), None, "c", Some("y")),
                addr(Some("Al"), None, "a", Some("b")),
                addr(None, Some("@r1,@r2"), "d", Some("e")),
            ]
        );
    }

    #[test]
    fn groups_and_fragments() {
        assert_eq!(
            parse(b"Friends: a@b, C <c@d>;, e@f, undisclosed:;"),
            [
                Entry::GroupStart(b"Friends".to_vec()),
                addr(None, None, "a", Some("b")),
                addr(Some("C"), None, "c", Some("d")),
                Entry::GroupEnd,
                addr(None, None, "e", Some("f")),
                Entry::GroupStart(b"undisclosed".to_vec()),
                Entry::GroupEnd,
            ]
        );
        assert_eq!(parse(b"alice"), [addr(None, None, "alice", None)]);
        assert_eq!(
            parse(b"\"Name only\""),
            [Entry::Address {
                name: Some(b"Name only".to_vec()),
                route: None,
                mailbox: None,
                host: None
            }]
        );
        assert_eq!(parse(b""), []);
        assert_eq!(parse(b",,, ;"), []);
        assert_eq!(parse(b"<a@b"), [addr(None, None, "a", Some("b"))]);
    }
}
