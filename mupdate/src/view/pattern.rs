//! LIST and LSUB patterns (RFC 3501 §6.3.8): `*` matches any run of characters, `%` any run
//! that holds no hierarchy separator; every other byte matches itself.
//!
//! A [`Pattern`] is matched by walking the name once while keeping the set of pattern positions
//! reached so far (an NFA simulation), so a hostile pattern (`*a*a*a*a*b`) costs at most
//! name length × pattern length steps, never exponential backtracking. Runs of wildcards are
//! collapsed first, and a pattern with more literal bytes than the name is refused at once.

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A byte that must appear as is.
    Byte(u8),
    /// `*`: any run of bytes.
    Star,
    /// `%`: any run of bytes other than the separator.
    Percent,
}

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    /// The pattern as given (reference and pattern joined).
    text: Vec<u8>,
    tokens: Vec<Token>,
    /// How many [`Token::Byte`]s there are: the shortest name that can match.
    literals: usize,
    separator: u8,
}

impl Pattern {
    /// Compiles `text` for names whose hierarchy separator is `separator`.
    pub(super) fn new(text: Vec<u8>, separator: u8) -> Pattern {
        let mut tokens: Vec<Token> = Vec::with_capacity(text.len());
        for &byte in &text {
            let token = match byte {
                b'*' => Token::Star,
                b'%' => Token::Percent,
                _ => Token::Byte(byte),
            };
            match (tokens.last_mut(), token) {
                // `*%`, `%*` and `**` are `*`; `%%` is `%`.
                (Some(last @ (Token::Star | Token::Percent)), Token::Star) => *last = Token::Star,
                (Some(Token::Star | Token::Percent), Token::Percent) => {}
                _ => tokens.push(token),
            }
        }
        let literals = tokens
            .iter()
            .filter(|t| matches!(t, Token::Byte(_)))
            .count();
        Pattern {
            text,
            tokens,
            literals,
            separator,
        }
    }

    /// The pattern as given.
    pub(super) fn text(&self) -> &[u8] {
        &self.text
    }

    /// The bytes before the first wildcard (all of them when there is none).
    pub(super) fn literal_prefix(&self) -> &[u8] {
        let end = self
            .text
            .iter()
            .position(|&b| b == b'*' || b == b'%')
            .unwrap_or(self.text.len());
        self.text.get(..end).unwrap_or_default()
    }

    /// Whether the last byte is `%` (LSUB then also returns unsubscribed parent levels).
    pub(super) fn ends_with_percent(&self) -> bool {
        self.text.last() == Some(&b'%')
    }

    /// Whether `name` matches.
    pub(super) fn matches(&self, name: &[u8]) -> bool {
        if self.literals > name.len() {
            return false;
        }
        let mut current = vec![false; self.tokens.len() + 1];
        let mut next = current.clone();
        if let Some(start) = current.first_mut() {
            *start = true;
        }
        self.close(&mut current);
        for &byte in name {
            next.fill(false);
            for (at, (&token, _)) in self
                .tokens
                .iter()
                .zip(&current)
                .enumerate()
                .filter(|(_, (_, on))| **on)
            {
                let to = match token {
                    Token::Byte(b) if b == byte => at + 1,
                    Token::Star => at,
                    Token::Percent if byte != self.separator => at,
                    _ => continue,
                };
                if let Some(state) = next.get_mut(to) {
                    *state = true;
                }
            }
            self.close(&mut next);
            if !next.contains(&true) {
                return false;
            }
            std::mem::swap(&mut current, &mut next);
        }
        current.last() == Some(&true)
    }

    /// Adds the positions reachable without reading a byte: past a wildcard that matches
    /// nothing. One forward pass suffices, since such a step only moves forward.
    fn close(&self, states: &mut [bool]) {
        for (at, token) in self.tokens.iter().enumerate() {
            let on = states.get(at) == Some(&true);
            if on
                && matches!(token, Token::Star | Token::Percent)
                && let Some(state) = states.get_mut(at + 1)
            {
                *state = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::new(pattern.into(), b'/').matches(name.as_bytes())
    }

    #[test]
    fn wildcards() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "abc"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a/*", "a/b/c"));
        assert!(!matches("a/*", "a"));
        assert!(matches("a*", "a"));
        assert!(matches("%/%/c", "a/b/c"));
        assert!(matches("*b*", "abc"));
        assert!(!matches("*b*", "ac"));
        assert!(matches("a%*", "a/b"));
        assert!(matches("a", "a"));
        assert!(!matches("a", "A"));
        assert!(!matches("", "a"));
        assert!(matches("%", ""));
    }

    #[test]
    fn hostile_patterns_are_linear() {
        let name = "a".repeat(2000);
        let pattern = format!("{}b", "*a".repeat(500));
        assert!(!matches(&pattern, &name));
        assert!(matches(&"%a".repeat(500), &name));
    }

    #[test]
    fn prefix_and_quirk() {
        let p = Pattern::new(b"Archive/20*/x%".to_vec(), b'/');
        assert_eq!(p.literal_prefix(), b"Archive/20");
        assert!(p.ends_with_percent());
        assert_eq!(
            Pattern::new(b"Sent".to_vec(), b'/').literal_prefix(),
            b"Sent"
        );
    }
}
