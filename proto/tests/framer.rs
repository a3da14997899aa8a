//! The IMAP framer on real sessions (RFC 3501 §8 and a mixed capture), at every split point,
//! at random split points, at every prefix, and on hostile input.

mod common;

use common::{Side, split_at_points, stream, transcript};
use corvid_proto::fuzzing::framer::{Event, Framed, drive, fuzz_framer};
use corvid_proto::imap::framer::{FrameError, Framer, FramerLimits, LineEnd};
use corvid_proto::lex;
use proptest::prelude::*;

const TRANSCRIPTS: [&str; 2] = ["rfc3501-example.txt", "framer-capture.txt"];

/// Each side of each transcript: its name, its byte stream and the events it must frame to.
fn sessions() -> Vec<(String, Vec<u8>, Vec<Event>)> {
    let mut out = Vec::new();
    for name in TRANSCRIPTS {
        let t = transcript(name);
        for side in [Side::Client, Side::Server] {
            let entries: Vec<&[u8]> = t
                .iter()
                .filter(|(s, _)| *s == side)
                .map(|(_, b)| &b[..])
                .collect();
            out.push((
                format!("{name} {side:?}"),
                stream(&t, side),
                expected(&entries),
            ));
        }
    }
    out
}

/// The events a transcript side frames to, read from its entries independently of the framer:
/// an entry is a wire line and the payload of the literal it announces, if any. (The loader
/// appends the file's final newline to the last entry as an empty line, framed as a message.)
fn expected(entries: &[&[u8]]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut first = true;
    for entry in entries {
        let mut rest = *entry;
        while !rest.is_empty() {
            let end = rest.windows(2).position(|w| w == b"\r\n").expect("a CRLF") + 2;
            let (line, after) = rest.split_at(end);
            rest = after;
            let then = match lex::literal_at_line_end(&line[..end - 2]) {
                None => LineEnd::EndOfMessage,
                Some(header) => LineEnd::Literal(header.expect("a valid header")),
            };
            events.push(Event::Line {
                bytes: line.to_vec(),
                first,
                then,
            });
            if let LineEnd::Literal(header) = then {
                let entry = entry.escape_ascii();
                assert_eq!(header.len, rest.len() as u64, "wrong {{n}} in {entry}");
                if !rest.is_empty() {
                    events.push(Event::Literal(rest.to_vec()));
                }
                rest = &[];
            }
            first = then == LineEnd::EndOfMessage;
        }
    }
    events
}

fn run(reads: Vec<&[u8]>, input: &[u8]) -> Framed {
    let limits = FramerLimits::default();
    let framed = drive(reads, limits);
    framed.check(input, limits);
    assert!(
        framed.passed == input,
        "the events' bytes are not the input"
    );
    framed
}

#[test]
fn sessions_frame_whole() {
    for (name, input, events) in sessions() {
        assert_eq!(run(vec![&input], &input).events, events, "{name}");
    }
    let capture = sessions().remove(3).2;
    let literals = capture.iter().filter(|e| matches!(e, Event::Literal(_)));
    assert_eq!(literals.count(), 3, "the capture's FETCH literals");
}

#[test]
fn sessions_frame_alike_at_every_split_point() {
    for (name, input, events) in sessions() {
        for at in 0..=input.len() {
            let framed = run(split_at_points(&input, &[at]), &input);
            assert_eq!(framed.events, events, "{name} split at {at}");
        }
    }
}

#[test]
fn every_prefix_frames_a_prefix_of_the_whole() {
    let limits = FramerLimits::default();
    let max_pending = Framer::new(limits).max_pending();
    for (name, input, events) in sessions() {
        for len in 0..=input.len() {
            let prefix = &input[..len];
            let framed = drive([prefix], limits);
            assert!(prefix.starts_with(&framed.passed), "{name} at {len}");
            assert!(len - framed.passed.len() <= max_pending);
            let Some((last, before)) = framed.events.split_last() else {
                continue;
            };
            assert_eq!(before, &events[..before.len()], "{name} at {len}");
            match (last, &events[before.len()]) {
                (Event::Literal(got), Event::Literal(full)) => assert!(full.starts_with(got)),
                (got, full) => assert_eq!(got, full, "{name} at {len}"),
            }
        }
    }
}

/// One part of a generated message: line text, its line end, and the literal it announces.
type Part = (String, bool, Option<(Vec<u8>, bool, bool)>);

/// Writes a message made of `parts` (the last one's literal, if any, is dropped so the message
/// ends) and the events it must frame to.
fn message(tag: u16, parts: &[Part]) -> (Vec<u8>, Vec<Event>) {
    let mut wire = Vec::new();
    let mut events = Vec::new();
    for (at, (text, bare_lf, literal)) in parts.iter().enumerate() {
        let mut line = if at == 0 {
            format!("t{tag} ").into_bytes()
        } else {
            Vec::new()
        };
        line.extend_from_slice(text.as_bytes());
        let literal = literal.as_ref().filter(|_| at + 1 < parts.len());
        let then = match literal {
            Some((payload, non_sync, binary)) => {
                let header = lex::LiteralHeader {
                    len: payload.len() as u64,
                    non_sync: *non_sync,
                    binary: *binary,
                };
                header.write(&mut line);
                LineEnd::Literal(header)
            }
            None => LineEnd::EndOfMessage,
        };
        line.extend_from_slice(if *bare_lf { b"\n" } else { b"\r\n" });
        wire.extend_from_slice(&line);
        events.push(Event::Line {
            bytes: line,
            first: at == 0,
            then,
        });
        if let Some((payload, ..)) = literal.filter(|(payload, ..)| !payload.is_empty()) {
            wire.extend_from_slice(payload);
            events.push(Event::Literal(payload.clone()));
        }
        if then == LineEnd::EndOfMessage {
            break;
        }
    }
    (wire, events)
}

/// A generated part; its text has no `{`, `}` or `~`, so only the header it is given can end it.
fn part() -> impl Strategy<Value = Part> {
    (
        "[a-zA-Z0-9 ()\\[\\]*\"+]{0,24}",
        any::<bool>(),
        prop::option::of((
            prop::collection::vec(any::<u8>(), 0..64),
            any::<bool>(),
            any::<bool>(),
        )),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_messages_frame_back_at_random_split_points(
        messages in prop::collection::vec(prop::collection::vec(part(), 1..5), 1..12),
        points in prop::collection::vec(0usize..2000, 0..30),
    ) {
        let mut wire = Vec::new();
        let mut events = Vec::new();
        for (tag, parts) in (0u16..).zip(&messages) {
            let (w, e) = message(tag, parts);
            wire.extend(w);
            events.extend(e);
        }
        let framed = run(split_at_points(&wire, &points), &wire);
        prop_assert_eq!(framed.events, events);
    }

    #[test]
    fn sessions_frame_alike_at_random_split_points(
        points in prop::collection::vec(0usize..7000, 0..40),
        which in 0usize..4,
    ) {
        let (name, input, events) = sessions().swap_remove(which);
        let framed = run(split_at_points(&input, &points), &input);
        prop_assert_eq!(framed.events, events, "{}", name);
    }

    #[test]
    fn imap_like_noise_never_breaks_the_invariants(
        input in prop::collection::vec(
            prop::sample::select(&b"a1 {}~+0123456789\r\n\0*"[..]), 0..300),
        control in any::<u8>(),
    ) {
        fuzz_framer(&[&[control][..], &input].concat());
    }
}

#[test]
fn hostile_input_keeps_its_bounds() {
    let limits = FramerLimits {
        max_line: 1024,
        max_literal: 1 << 20,
    };
    // A line with no end, a megabyte long, read 4 KiB at a time.
    let endless = [&b"a1 SEARCH TEXT "[..], &[b'x'; 1 << 20]].concat();
    let framed = drive(endless.chunks(4096), limits);
    framed.check(&endless, limits);
    assert!(framed.max_pending <= 1024);
    assert!(matches!(
        &framed.events[..],
        [Event::Error(FrameError::LineTooLong { tag: Some(t), .. }), Event::Discarded(d)]
            if t.as_bytes() == b"a1" && d.len() < endless.len()
    ));

    let hostile: &[&[u8]] = &[
        b"a {4294967295}\r\n",
        b"b {18446744073709551616}\r\n",
        b"c {99999999999999999999}\r\n",
        b"d NOOP\n",
        b"e NOOP\rstill e\r\n",
        b"f X {0}\r\n\r\n",
        b"g X {10}\r\n\r\n{5}\r\n\0\r\n)\r\n",
        b"h \0\0 NOOP\r\n",
    ];
    let input = hostile.concat();
    let framed = run(split_at_points(&input, &[1, 20, 21, 50, 90]), &input);
    let tags: Vec<&[u8]> = framed
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Error(error) => Some(error.tag().unwrap().as_bytes()),
            _ => None,
        })
        .collect();
    assert_eq!(tags, [b"a", b"b", b"c"]);
    let lines: Vec<&[u8]> = framed
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Line { bytes, .. } => Some(&bytes[..]),
            _ => None,
        })
        .collect();
    assert_eq!(
        lines,
        [
            &b"d NOOP\n"[..],
            b"e NOOP\rstill e\r\n",
            b"f X {0}\r\n",
            b"\r\n",
            b"g X {10}\r\n",
            b")\r\n",
            b"h \0\0 NOOP\r\n"
        ]
    );
    assert!(
        framed
            .events
            .contains(&Event::Literal(b"\r\n{5}\r\n\0\r\n".to_vec()))
    );
}
