//! Framer throughput on a mixed IMAP capture fed in 16 KiB reads, against imap-codec's
//! `Fragmentizer` splitting the same capture into messages.
//!
//! The capture is generated deterministically: mostly server FETCH responses whose `BODY[]`
//! literals run from 2 KiB to 48 KiB, with the client's small commands between them. Our caller
//! does what the proxy does: it appends each read to a buffer, takes events from the front, and
//! compacts the unconsumed tail once per read.
//!
//! A second capture, `small-lines`, holds only short commands and responses (no literal over a
//! few bytes), the worst case for a line framer: it measures the cost per line.

use std::hint::black_box;

use corvid_proto::imap::framer::{Frame, Framer, LineEnd};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imap_codec::fragmentizer::Fragmentizer;

const READ: usize = 16 * 1024;
const MESSAGES: u32 = 400;

/// The capture: `MESSAGES` fetched messages, each with the commands around it.
fn capture() -> Vec<u8> {
    let mut seed = 0x2545_f491_u32;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        seed
    };
    let line =
        b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n";
    let mut out = Vec::new();
    for uid in 1..=MESSAGES {
        let size = 2048 + (next() % (46 * 1024)) as usize;
        let body: Vec<u8> = line.iter().copied().cycle().take(size).collect();
        out.extend_from_slice(
            format!("C{uid} NOOP\r\nA{uid} UID FETCH {uid} (FLAGS BODY.PEEK[])\r\n").as_bytes(),
        );
        out.extend_from_slice(
            format!("* {uid} FETCH (UID {uid} FLAGS (\\Seen) BODY[] {{{size}}}\r\n").as_bytes(),
        );
        out.extend_from_slice(&body);
        out.extend_from_slice(
            format!(")\r\nA{uid} OK Fetch completed (0.001 + 0.000 secs).\r\n").as_bytes(),
        );
        if uid % 10 == 0 {
            out.extend_from_slice(format!("S{uid} APPEND Sent {{310+}}\r\n").as_bytes());
            out.extend(line.iter().copied().cycle().take(310));
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The small-lines capture: a relay of NOOP, flag FETCH and STORE round trips, about 40 bytes a
/// line.
fn small_lines() -> Vec<u8> {
    let mut out = Vec::new();
    for n in 1..=20_000u32 {
        out.extend_from_slice(
            format!(
                "a{n} NOOP\r\na{n} OK NOOP completed\r\nb{n} UID FETCH {n} (FLAGS)\r\n\
                 * {n} FETCH (UID {n} FLAGS (\\Seen))\r\nb{n} OK Fetch completed\r\n"
            )
            .as_bytes(),
        );
    }
    out
}

/// Frames `capture` as the proxy would; returns the number of messages.
fn corvid(capture: &[u8]) -> usize {
    let mut framer = Framer::default();
    let mut buf = Vec::with_capacity(2 * READ);
    let mut messages = 0;
    for read in capture.chunks(READ) {
        buf.extend_from_slice(read);
        let mut start = 0;
        while let Some(frame) = framer.next(&buf[start..]).expect("valid capture") {
            if let Frame::Line {
                then: LineEnd::EndOfMessage,
                ..
            } = frame
            {
                messages += 1;
            }
            start += black_box(frame).bytes().len();
        }
        buf.drain(..start);
    }
    messages
}

/// Splits `capture` into messages with imap-codec's `Fragmentizer`; returns their number.
fn imap_codec(capture: &[u8]) -> usize {
    let mut fragmentizer = Fragmentizer::new(64 * 1024 * 1024);
    let mut messages = 0;
    for read in capture.chunks(READ) {
        fragmentizer.enqueue_bytes(read);
        while let Some(fragment) = fragmentizer.progress() {
            black_box(fragmentizer.fragment_bytes(fragment));
            if fragmentizer.is_message_complete() {
                messages += 1;
            }
        }
    }
    messages
}

fn framer(c: &mut Criterion) {
    let mut group = c.benchmark_group("framer");
    for (name, capture) in [("mixed", capture()), ("small-lines", small_lines())] {
        let expected = corvid(&capture);
        assert_eq!(
            imap_codec(&capture),
            expected,
            "both frame the same messages"
        );
        group.throughput(Throughput::Bytes(capture.len() as u64));
        group.bench_function(format!("{name}/corvid"), |b| {
            b.iter(|| corvid(black_box(&capture)))
        });
        group.bench_function(format!("{name}/imap-codec Fragmentizer"), |b| {
            b.iter(|| imap_codec(black_box(&capture)))
        });
    }
    group.finish();
}

criterion_group!(benches, framer);
criterion_main!(benches);
