//! A criterion-free loop for counting instructions per command head with callgrind (the wall
//! clock on the shared machine moves by up to 2x; instruction counts do not).
//!
//! Build, then run under callgrind twice and take the difference (see docs/benchmarking.md):
//!
//! ```text
//! cargo bench -p corvid-proto --bench command_count --no-run   # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/x.out BINARY corvid select 1000
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/y.out BINARY corvid select 101000
//! ```
//!
//! instructions per parse = (Ir(101000) - Ir(1000)) / 100000. Arguments: `corvid` or
//! `imap-codec`, one of the command names below, and the number of parses. Without arguments
//! (as `cargo bench` runs it) it parses each command once and checks both parsers accept it.

use std::hint::black_box;

use corvid_proto::imap::command::parse_head;
use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;

const COMMANDS: &[(&str, &[u8])] = &[
    ("select", b"a1 SELECT INBOX\r\n"),
    ("noop", b"a1 NOOP\r\n"),
    ("login", b"a3 LOGIN john secret\r\n"),
    ("uid_fetch", b"a2 UID FETCH 1:* (FLAGS)\r\n"),
];

/// `n` parses, each result kept whole (black_box), so the head is built as a caller needs it.
#[inline(never)]
fn corvid(input: &[u8], n: usize) -> usize {
    (0..n)
        .filter(|_| black_box(parse_head(black_box(input))).is_ok())
        .count()
}

#[inline(never)]
fn imap_codec(codec: &CommandCodec, input: &[u8], n: usize) -> usize {
    (0..n)
        .filter(|_| black_box(codec.decode(black_box(input))).is_ok())
        .count()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let codec = CommandCodec::default();
    let [parser, command, n] = args.as_slice() else {
        for (name, input) in COMMANDS {
            assert_eq!(corvid(input, 1), 1, "{name}");
            assert_eq!(imap_codec(&codec, input, 1), 1, "{name}");
        }
        return;
    };
    let Some((_, input)) = COMMANDS.iter().find(|(name, _)| name == command) else {
        panic!("unknown command {command}");
    };
    let n: usize = n.parse().expect("a number of parses");
    let ok = match parser.as_str() {
        "corvid" => corvid(input, n),
        "imap-codec" => imap_codec(&codec, input, n),
        other => panic!("unknown parser {other}"),
    };
    assert_eq!(ok, n);
}
