//! Fuzz bodies for the response classifier (`fuzz_response`) and the response writer
//! (`fuzz_writer`).
//!
//! `fuzz_response` checks that classification never panics, that every span it returns lies in
//! the classified line, that the verdict is monotonic (a classified line's strict prefixes are
//! incomplete, and an invalid input stays invalid however it goes on), and that the writer can
//! write back what was classified. `fuzz_writer` writes arbitrary bytes as an astring, as status
//! and continuation text and as a LIST mailbox, and checks each reads back (or stays one line).

use std::ops::Range;

use crate::imap::response::{Code, Response, ResponseError, Status, Untagged, classify};
use crate::imap::writer::{ListKind, ResponseWriter, WriteError};
use crate::lex::{self, AString};

/// Strict prefixes checked one by one up to this length; beyond it, a sample.
const ALL_PREFIXES_UP_TO: usize = 256;

/// Classifies arbitrary bytes and checks the classifier's invariants.
pub fn fuzz_response(data: &[u8]) {
    match classify(data) {
        Ok((response, used)) => {
            assert!(0 < used && used <= data.len());
            let line = &data[..used];
            for span in spans(&response) {
                assert!(within(line.as_ptr_range(), span.as_ptr_range()), "{span:?}");
            }
            assert_eq!(classify(line), Ok((response, used)));
            for cut in cuts(used) {
                assert_eq!(classify(&data[..cut]), Err(ResponseError::Incomplete));
            }
            write_back(&response);
        }
        Err(ResponseError::Incomplete) => {
            for cut in cuts(data.len()) {
                assert_eq!(classify(&data[..cut]), Err(ResponseError::Incomplete));
            }
        }
        Err(ResponseError::Invalid { offset }) => {
            assert!(offset <= data.len());
            let extended = [data, b"\r\n"].concat();
            assert!(matches!(
                classify(&extended),
                Err(ResponseError::Invalid { .. })
            ));
        }
    }
}

/// Writes arbitrary bytes (after a first byte of options) through the writer and checks that
/// they read back.
pub fn fuzz_writer(data: &[u8]) {
    let Some((&options, value)) = data.split_first() else {
        return;
    };
    let utf8 = options & 1 == 1;
    let has_nul = value.contains(&0);

    let (result, mut wire) = written(utf8, |w| w.astring(value));
    if has_nul {
        assert_eq!((result, wire.as_slice()), (Err(WriteError::Nul), &b""[..]));
    } else {
        assert_eq!(result, Ok(()));
        assert!(wire.len() <= 2 * value.len() + 24, "unbounded: {wire:?}");
        wire.push(b' ');
        let (rest, parsed) =
            lex::astring(&wire).unwrap_or_else(|e| panic!("{wire:?} does not read back: {e:?}"));
        assert_eq!((rest, parsed.to_vec()), (&b" "[..], value.to_vec()));
    }

    for (_, wire) in [
        written(utf8, |w| {
            w.status(None, crate::imap::response::StatusKind::Ok, None, value)
        }),
        written(utf8, |w| {
            w.continuation(value);
            Ok(())
        }),
    ] {
        assert_eq!(memchr::memchr_iter(b'\n', &wire).count(), 1, "{wire:?}");
        assert!(wire.ends_with(b"\r\n"));
        let (_, used) = classify(&wire).unwrap_or_else(|e| panic!("{wire:?}: {e}"));
        assert_eq!(used, wire.len());
    }

    let (result, wire) = written(utf8, |w| {
        w.list(ListKind::List, &Default::default(), Some(b'/'), value)
    });
    if !has_nul {
        assert_eq!(result, Ok(()));
        match classify(&wire) {
            Ok((Response::Untagged(Untagged::List(l)), _)) => {
                assert_eq!(l.mailbox.to_vec(), canonical_mailbox(value));
            }
            other => panic!("{wire:?}: {other:?}"),
        }
    }
}

/// A mailbox name as the writer spells it: INBOX in upper case, any other name as it is.
fn canonical_mailbox(name: &[u8]) -> Vec<u8> {
    if name.eq_ignore_ascii_case(b"INBOX") {
        b"INBOX".to_vec()
    } else {
        name.to_vec()
    }
}

/// Runs one write on a fresh buffer.
fn written(
    utf8: bool,
    write: impl FnOnce(&mut ResponseWriter<'_>) -> Result<(), WriteError>,
) -> (Result<(), WriteError>, Vec<u8>) {
    let mut out = Vec::new();
    let result = write(&mut ResponseWriter::new(&mut out, utf8));
    (result, out)
}

/// The strict prefix lengths to check: all of them for short inputs, a sample for long ones.
fn cuts(len: usize) -> impl Iterator<Item = usize> {
    let step = if len <= ALL_PREFIXES_UP_TO {
        1
    } else {
        len / 64
    };
    (0..len).step_by(step)
}

fn within(outer: Range<*const u8>, inner: Range<*const u8>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Every span a response borrows from its input.
fn spans<'a>(response: &Response<'a>) -> Vec<&'a [u8]> {
    let astring = |a: &AString<'a>| match *a {
        AString::Atom(s) | AString::Quoted(s) | AString::Literal(_, s) => s,
    };
    let code = |c: &Option<Code<'a>>| -> Vec<&'a [u8]> {
        match *c {
            Some(Code::BadCharset(Some(s)) | Code::Referral(s)) => vec![s],
            Some(Code::Capability(a) | Code::PermanentFlags(a)) => vec![a.as_bytes()],
            Some(Code::AppendUid { uids, .. }) => vec![uids],
            Some(Code::CopyUid {
                source,
                destination,
                ..
            }) => vec![source, destination],
            Some(Code::Other { atom, argument }) => {
                [Some(atom), argument].into_iter().flatten().collect()
            }
            _ => vec![],
        }
    };
    let status = |s: &Status<'a>| [code(&s.code), vec![s.text]].concat();
    match response {
        Response::Continuation { code: c, text } => [code(c), vec![*text]].concat(),
        Response::Tagged { tag, status: s } => [vec![*tag], status(s)].concat(),
        Response::Untagged(u) => match u {
            Untagged::Status(s) => status(s),
            Untagged::Exists(_) | Untagged::Recent(_) | Untagged::Expunge(_) => vec![],
            Untagged::Fetch { rest, .. } => vec![*rest],
            Untagged::Capability(a) | Untagged::Enabled(a) | Untagged::Flags(a) => {
                vec![a.as_bytes()]
            }
            Untagged::List(l) | Untagged::Lsub(l) => {
                vec![l.attributes.as_bytes(), astring(&l.mailbox), l.extended]
            }
            Untagged::MailboxStatus(m)
            | Untagged::Acl(m)
            | Untagged::MyRights(m)
            | Untagged::ListRights(m) => vec![astring(&m.mailbox), m.rest],
            Untagged::Search(s)
            | Untagged::Esearch(s)
            | Untagged::Namespace(s)
            | Untagged::Id(s) => {
                vec![*s]
            }
            Untagged::Vanished { uids, .. } => vec![*uids],
            Untagged::Other { name, rest, .. } => vec![*name, *rest],
        },
    }
}

/// Writes a classified status or LIST line back and checks that it classifies the same.
fn write_back(response: &Response<'_>) {
    match *response {
        Response::Tagged { tag, status } => rewrite_status(Some(tag), &status),
        Response::Untagged(Untagged::Status(status)) => rewrite_status(None, &status),
        Response::Untagged(Untagged::List(l)) => {
            let mailbox = l.mailbox.to_vec();
            let (result, wire) = written(true, |w| {
                w.list(ListKind::List, &l.attributes, l.delimiter, &mailbox)
            });
            if mailbox.contains(&0) {
                // a literal8 name: no IMAP string form may carry it back
                return assert_eq!(result, Err(WriteError::Nul));
            }
            assert_eq!(result, Ok(()));
            match classify(&wire) {
                Ok((Response::Untagged(Untagged::List(back)), _)) => {
                    assert_eq!(back.attributes, l.attributes);
                    assert_eq!(back.delimiter, l.delimiter);
                    assert_eq!(back.mailbox.to_vec(), canonical_mailbox(&mailbox));
                }
                other => panic!("{wire:?}: {other:?}"),
            }
        }
        _ => {}
    }
}

fn rewrite_status(tag: Option<&[u8]>, status: &Status<'_>) {
    let (result, wire) = written(true, |w| {
        w.status(tag, status.kind, status.code.as_ref(), status.text)
    });
    assert_eq!(result, Ok(()), "{status:?}");
    let back = match classify(&wire) {
        Ok((Response::Tagged { status, .. }, _)) => status,
        Ok((Response::Untagged(Untagged::Status(status)), _)) => status,
        other => panic!("{wire:?}: {other:?}"),
    };
    assert_eq!((back.kind, back.code), (status.kind, status.code));
}
