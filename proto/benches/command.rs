//! Command head parse time, beside imap-codec's full `CommandCodec` decode of the same input.
//!
//! Run briefly on the shared machine:
//! `cargo bench -p corvid-proto --bench command -- --warm-up-time 1 --measurement-time 3`.
//! imap-codec (default features) knows neither LIST-EXTENDED (it refuses that input) nor a head
//! without its message (it stops at APPEND's literal, asking for the payload); both still do
//! the parsing work up to that point, which is what is measured.

use std::hint::black_box;

use corvid_proto::imap::command::parse_head;
use criterion::{Criterion, criterion_group, criterion_main};
use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;

const COMMANDS: &[(&str, &[u8])] = &[
    ("select", b"a1 SELECT INBOX\r\n"),
    ("uid_fetch", b"a2 UID FETCH 1:* (FLAGS)\r\n"),
    ("login", b"a3 LOGIN john secret\r\n"),
    (
        "list_extended",
        b"a4 LIST (SUBSCRIBED) \"\" (\"INBOX\" \"Sent/%\") RETURN (CHILDREN)\r\n",
    ),
    ("copy_quoted", b"a5 UID COPY 1:3,7,9:* \"Saved Mail\"\r\n"),
    ("append_head", b"a6 APPEND {5}\r\nDraft (\\Seen) {310}\r\n"),
];

fn command_heads(c: &mut Criterion) {
    let codec = CommandCodec::default();
    for (name, input) in COMMANDS {
        assert!(parse_head(input).is_ok(), "{name}");
        let mut group = c.benchmark_group(format!("command/{name}"));
        group.bench_function("corvid", |b| {
            b.iter(|| parse_head(black_box(input)).is_ok())
        });
        group.bench_function("imap-codec", |b| {
            b.iter(|| codec.decode(black_box(input)).is_ok())
        });
        group.finish();
    }
}

criterion_group!(benches, command_heads);
criterion_main!(benches);
