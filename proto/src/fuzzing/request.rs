//! Fuzz body for the request parser ([`crate::imap::request`]).
//!
//! `fuzz_request` feeds arbitrary bytes to [`parse_request`] and checks what a server relies
//! on: no panic; a refusal's tag lies within the input; and prefixes are consistent: a
//! command ends only at its final line end, so when a strict prefix parses the whole is refused
//! (bytes follow the command), and in particular no strict prefix of a command that parses
//! parses; and a prefix that is refused makes the whole refused (more bytes cannot mend
//! invalid ones).

use super::command::within;
use crate::imap::request::{RequestError, parse_request};

/// Prefixes checked per input: enough for any command the fuzzer builds, without quadratic
/// time on long inputs.
const PREFIXES_CHECKED: usize = 512;

/// Drives the request parser on arbitrary bytes.
pub fn fuzz_request(data: &[u8]) {
    let whole = parse_request(data);
    match &whole {
        Ok(request) => assert!(within(data, request.tag)),
        Err(RequestError::Invalid { tag: Some(tag), .. }) => assert!(within(data, tag)),
        Err(_) => {}
    }
    for cut in 0..data.len().min(PREFIXES_CHECKED) {
        let prefix = parse_request(&data[..cut]);
        if prefix != Err(RequestError::Incomplete) {
            assert!(
                matches!(whole, Err(RequestError::Invalid { .. })),
                "cut at {cut}: {prefix:?}, whole: {whole:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bytes that matter to the grammar, so random inputs reach deep into it.
    const ALPHABET: &[u8] = b"a1 UIDSEARCHNOTORFLGSBYPK{}~()[]<>.\"\\\r\n0129*:,+-=$%";

    proptest! {
        #[test]
        fn grammar_bytes_keep_the_invariants(
            picks in prop::collection::vec(0..ALPHABET.len(), 0..48),
            prefix in prop::sample::select(vec![
                &b""[..], b"a ", b"a SEARCH ", b"a UID SEARCH NOT ", b"a FETCH 1 ",
                b"a FETCH 1:* (BODY.PEEK[", b"a STORE 1 +FLAGS ", b"a APPEND x ",
                b"a LIST ", b"a STATUS x (", b"a ID (", b"a SELECT x ", b"a LOGIN ",
                b"a AUTHENTICATE PLAIN ", b"a SEARCH SINCE ", b"a APPEND x \"",
            ]),
        ) {
            let mut data = prefix.to_vec();
            data.extend(picks.iter().map(|&i| ALPHABET[i]));
            fuzz_request(&data);
        }
    }

    #[test]
    fn hostile_inputs() {
        let deep = [b"a SEARCH ".as_slice(), &[b'('; 10_000]].concat();
        for data in [
            &b""[..],
            b"a APPEND x {18446744073709551615}\r\n",
            b"a APPEND x ~{3}\r\n\0\0\0\r\n",
            b"a FETCH 4294967296 FLAGS\r\n",
            b"a SEARCH NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT",
            b"a UID UID UID\r\n",
            b"\xff\xfe SELECT x\r\n",
            b"a STORE 1 FLAGS (\\*)\r\n",
            b"a SEARCH SINCE 29-Feb-1900\r\n",
            &deep,
        ] {
            fuzz_request(data);
        }
    }
}
