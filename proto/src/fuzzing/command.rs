//! Fuzz body for the command head parser ([`crate::imap::command`]).
//!
//! `fuzz_command_head` feeds arbitrary bytes to [`parse_head`] and [`parse_idle_done`] and
//! checks what the proxy relies on: no panic; every reported span lies within the input; a
//! head's own bytes reparse to the same head; and prefixes are consistent (a prefix that parses,
//! or is refused, gives the same result as the whole input, since more bytes cannot change a
//! decision already made).

use crate::imap::command::{Args, CommandHead, HeadError, parse_head, parse_idle_done};
use crate::lex::AString;

/// Prefixes checked per input: enough for any head, without quadratic time on long inputs.
const PREFIXES_CHECKED: usize = 512;

/// Is `part` a sub-slice of `whole` (by address)?
pub(super) fn within(whole: &[u8], part: &[u8]) -> bool {
    let start = whole.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    at >= start && at + part.len() <= start + whole.len()
}

/// The raw bytes an astring borrows.
fn raw(a: AString<'_>) -> &[u8] {
    match a {
        AString::Atom(raw) | AString::Quoted(raw) | AString::Literal(_, raw) => raw,
    }
}

/// Every slice a head borrows from its input.
fn spans<'a>(head: &CommandHead<'a>) -> Vec<&'a [u8]> {
    let mut out = vec![head.tag, head.name];
    match head.args {
        Args::None => {}
        Args::Mailbox(m) => out.push(raw(m)),
        Args::Rename { from, to, location } => {
            out.extend([raw(from), raw(to)].into_iter().chain(location.map(raw)));
        }
        Args::Copy {
            sequence_set,
            mailbox,
        } => out.extend([sequence_set, raw(mailbox)]),
        Args::List(list) => {
            out.extend(list.selection);
            out.push(raw(list.reference));
            out.extend(list.patterns.iter().map(raw));
            out.extend(list.return_options);
        }
        Args::Acl {
            mailbox,
            identifier,
            rights,
        } => {
            out.extend([raw(mailbox), raw(identifier)]);
            out.extend(rights.map(raw));
        }
        Args::GetMetadata { options, mailbox } => {
            out.extend(options);
            out.push(raw(mailbox));
        }
        Args::Login { user, password } => out.extend([raw(user), raw(password)]),
        Args::Authenticate {
            mechanism,
            initial_response,
        } => {
            out.push(mechanism);
            out.extend(initial_response);
        }
    }
    out
}

/// Drives the command head parser and the IDLE `DONE` recogniser on arbitrary bytes.
pub fn fuzz_command_head(data: &[u8]) {
    let whole = parse_head(data);
    match whole {
        Ok(head) => {
            assert!(head.consumed <= data.len());
            for span in spans(&head) {
                assert!(within(data, span), "span outside the input");
            }
            // The bytes the parser needed to decide: its own, plus the space before unread
            // arguments.
            let needed = if head.complete {
                head.consumed
            } else {
                assert_eq!(data.get(head.consumed), Some(&b' '));
                head.consumed + 1
            };
            assert_eq!(parse_head(&data[..needed]), whole);
            if let Some(shorter) = needed.checked_sub(1) {
                assert_eq!(parse_head(&data[..shorter]), Err(HeadError::Incomplete));
            }
        }
        Err(HeadError::Invalid { tag: Some(tag), .. }) => assert!(within(data, tag)),
        Err(_) => {}
    }
    for cut in 0..data.len().min(PREFIXES_CHECKED) {
        let part = parse_head(&data[..cut]);
        if part != Err(HeadError::Incomplete) {
            assert_eq!(part, whole, "a prefix decided differently");
        }
    }

    match parse_idle_done(data) {
        Ok(len) => {
            assert!((5..=6).contains(&len) && len <= data.len());
            assert_eq!(parse_idle_done(&data[..len]), Ok(len));
        }
        Err(HeadError::Incomplete) => assert!(data.len() < 6),
        Err(HeadError::Invalid { tag, .. }) => assert_eq!(tag, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that matter to the grammar, so random inputs reach deep into it.
    const ALPHABET: &[u8] = b"a1 UIDSELCTOPYMVNRKGAHWXF{}~()\"\\\r\n0129*:,$+%=/]";

    proptest! {
        #[test]
        fn grammar_bytes_keep_the_invariants(
            picks in prop::collection::vec(0..ALPHABET.len(), 0..64),
            prefix in prop::sample::select(vec![
                &b""[..], b"a ", b"a SELECT ", b"a UID COPY ", b"a LIST ", b"a LIST (X) \"\" ",
                b"a GETMETADATA ", b"a SETACL x y ", b"a LOGIN ", b"a AUTHENTICATE ",
            ]),
        ) {
            let mut data = prefix.to_vec();
            data.extend(picks.iter().map(|&i| ALPHABET[i]));
            fuzz_command_head(&data);
        }
    }

    #[test]
    fn hostile_inputs() {
        for data in [
            &b""[..],
            b"a SELECT {18446744073709551615}\r\n",
            b"a LIST ((((((((((((((((((((((((((((((",
            b"a LIST (\"\\",
            b"a COPY 4294967296 x\r\n",
            b"a UID UID UID\r\n",
            b"\xff\xfe SELECT x\r\n",
            b"DONE\r\n",
            b"a GETMETADATA (~{1}\r\n\0) x y\r\n",
        ] {
            fuzz_command_head(data);
        }
    }
}
