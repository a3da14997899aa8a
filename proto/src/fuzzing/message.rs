//! The fuzz body for the message view: any bytes are parsed, every view is produced, and the
//! invariants that must hold for any input are checked.
//!
//! Checked: no panic; every part's header and body are in bounds, in order, and inside its
//! parent; every section but `HEADER.FIELDS` is a sub-slice of the message; a part's header
//! and body are adjacent; the message's header and text add up to its size; BODY and
//! BODYSTRUCTURE are balanced in parentheses outside strings.

use crate::message::{FetchBody, Kind, Message, Part, Section, SectionText};

/// Parses `data` as a message and checks every view of it (panics when an invariant fails).
pub fn fuzz_message(data: &[u8]) {
    let message = Message::parse(data);
    assert_eq!(message.size(), data.len());
    assert_eq!(message.header().len() + message.text().len(), data.len());
    check_part(message.root(), &(0..data.len()), 0);

    let mut out = Vec::new();
    message.write_envelope(&mut out);
    assert!(out.starts_with(b"(") && out.ends_with(b")"));
    for extensions in [false, true] {
        out.clear();
        message.write_body_structure(&mut out, extensions);
        assert_eq!(
            depth_after(&out),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }

    let mut paths: Vec<Vec<u32>> = vec![Vec::new()];
    collect_paths(&message, message.root(), &mut Vec::new(), &mut paths, 0);
    for part in paths {
        let texts = [
            None,
            Some(SectionText::Header),
            Some(SectionText::Text),
            Some(SectionText::Mime),
        ];
        for text in texts {
            let section = Section {
                part: part.clone(),
                text,
            };
            let bytes = message.section(&section);
            if !bytes.is_empty() {
                let start = bytes.as_ptr() as usize;
                let base = data.as_ptr() as usize;
                assert!(start >= base && start + bytes.len() <= base + data.len());
            }
        }
        let mut spec = b"BODY.PEEK[".to_vec();
        for n in &part {
            spec.extend_from_slice(format!("{n}.").as_bytes());
        }
        spec.extend_from_slice(b"HEADER.FIELDS.NOT (Subject)]<1.7>)");
        if let Ok((item, consumed)) = FetchBody::parse(&spec) {
            assert_eq!(consumed, spec.len() - 1);
            assert!(item.bytes(&message).len() <= 7);
        }
    }
    // The section parser itself, on the input.
    if let Ok((_, consumed)) = FetchBody::parse(data) {
        assert!(consumed <= data.len());
    }
}

/// Checks that `part`'s ranges lie in `within`, header before body, adjacent.
fn check_part(part: &Part, within: &std::ops::Range<usize>, depth: usize) {
    assert!(depth <= crate::message::MAX_DEPTH + 1);
    assert!(within.start <= part.header.start);
    assert_eq!(part.header.end, part.body.start);
    assert!(part.header.start <= part.header.end && part.body.start <= part.body.end);
    assert!(part.body.end <= within.end);
    match &part.kind {
        Kind::Single => {}
        Kind::Multipart(children) => {
            assert!(!children.is_empty());
            let mut previous = part.body.start;
            for child in children {
                assert!(child.header.start >= previous);
                check_part(child, &part.body, depth + 1);
                previous = child.body.end;
            }
        }
        Kind::Message(inner) => {
            assert_eq!(inner.header.start, part.body.start);
            check_part(inner, &part.body, depth + 1);
        }
    }
}

/// The part paths of `part` at `path`, up to a bounded number.
fn collect_paths(
    message: &Message<'_>,
    part: &Part,
    path: &mut Vec<u32>,
    paths: &mut Vec<Vec<u32>>,
    depth: usize,
) {
    if paths.len() > 200 {
        return;
    }
    // The parts numbered under `part`, and whether their own numbers go on (a part reached
    // as a non-multipart's one part has no numbers under it).
    let (children, go_on): (Vec<&Part>, bool) = match &part.kind {
        Kind::Multipart(children) => (children.iter().collect(), true),
        Kind::Message(inner) if depth > 0 => match &inner.kind {
            Kind::Multipart(children) => (children.iter().collect(), true),
            _ => (vec![inner.as_ref()], false),
        },
        _ => (vec![part], false),
    };
    for (i, child) in children.into_iter().enumerate() {
        path.push(i as u32 + 1);
        assert_eq!(message.part(path), Some(child));
        paths.push(path.clone());
        if go_on {
            collect_paths(message, child, path, paths, depth + 1);
        }
        path.pop();
    }
}

/// The parenthesis depth at the end of `out`, literals and quoted strings skipped; `None` when
/// it goes negative.
fn depth_after(out: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = out.get(at) {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1)?,
            b'"' => {
                at += 1;
                while let Some(&c) = out.get(at) {
                    match c {
                        b'\\' => at += 1,
                        b'"' => break,
                        _ => {}
                    }
                    at += 1;
                }
            }
            b'{' => {
                let close = at + memchr::memchr(b'}', out.get(at..)?)?;
                let len: usize = std::str::from_utf8(out.get(at + 1..close)?)
                    .ok()?
                    .parse()
                    .ok()?;
                at = close + 3 + len;
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    Some(depth)
}
