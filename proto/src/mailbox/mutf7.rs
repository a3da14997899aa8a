//! Modified UTF-7 (RFC 3501 §5.1.3): the 7-bit form IMAP4rev1 and MUPDATE carry mailbox names in.
//!
//! Printable US-ASCII (0x20-0x7E) stands for itself, except `&`, which is written `&-`. Any
//! other character is written in a *shifted run*: `&`, the UTF-16BE code units in modified
//! base64 (`,` instead of `/`, no `=` padding), then `-`.
//!
//! Validation is strict: a name is accepted only in its one canonical form, so
//! `encode(decode(x)) == x` for every accepted `x`. Rejected are bytes outside 0x20-0x7E, bad
//! base64 characters, a run left open, leftover bits that make an incomplete code unit or are
//! not zero, unpaired or misordered surrogates, a run that encodes printable US-ASCII (which must
//! be written directly), and two runs directly adjacent (`&AOE-&AOk-` must be `&AOEA6Q-`).
//! [`validate`] and [`decode`] share one decoder, so they accept exactly the same names.

use thiserror::Error;

/// Why a name is not canonical modified UTF-7, and at which byte of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("invalid modified UTF-7 at byte {pos}: {kind}")]
pub struct Mutf7Error {
    /// Offset in the name of the byte where the problem was found.
    pub pos: usize,
    /// What is wrong.
    pub kind: Mutf7ErrorKind,
}

/// The ways a name can fail to be canonical modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Mutf7ErrorKind {
    /// A raw byte outside printable US-ASCII (0x20-0x7E).
    #[error("byte {0:#04x} is not printable US-ASCII")]
    NotPrintable(u8),
    /// A byte inside a shifted run that is not modified base64 (`A-Z a-z 0-9 + ,`).
    #[error("byte {0:#04x} is not modified base64")]
    BadBase64(u8),
    /// The name ends inside a shifted run (no closing `-`).
    #[error("shifted run is not closed by '-'")]
    Unterminated,
    /// A shifted run ends with six or more bits left over: part of a UTF-16 code unit.
    #[error("shifted run ends inside a UTF-16 code unit")]
    IncompleteCodeUnit,
    /// A shifted run ends with padding bits that are not zero.
    #[error("shifted run ends with non-zero padding bits")]
    NonZeroPadding,
    /// A low surrogate without a high one before it, or a high one not followed by a low one.
    #[error("unpaired UTF-16 surrogate")]
    UnpairedSurrogate,
    /// A shifted run encodes a printable US-ASCII character, which must be written directly.
    #[error("shifted run encodes printable US-ASCII")]
    DirectlyEncodable,
    /// A shifted run starts right where another ended; the two must be one run.
    #[error("shifted run directly follows another")]
    AdjacentRuns,
}

/// Checks that `name` is canonical modified UTF-7, without allocating.
pub fn validate(name: &[u8]) -> Result<(), Mutf7Error> {
    decode_with(name, |_| {})
}

/// Decodes a canonical modified UTF-7 name to UTF-8.
pub fn decode(name: &[u8]) -> Result<String, Mutf7Error> {
    let mut out = String::with_capacity(name.len());
    decode_with(name, |c| out.push(c))?;
    Ok(out)
}

/// Encodes `text` in canonical modified UTF-7.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run: Option<Bits> = None;
    for c in text.chars() {
        if is_direct(c) {
            if let Some(bits) = run.take() {
                bits.close(&mut out);
            }
            out.push(c);
            if c == '&' {
                out.push('-');
            }
        } else {
            let bits = run.get_or_insert_with(|| {
                out.push('&');
                Bits::default()
            });
            for &unit in c.encode_utf16(&mut [0; 2]).iter() {
                bits.push_unit(unit, &mut out);
            }
        }
    }
    if let Some(bits) = run {
        bits.close(&mut out);
    }
    out
}

/// Printable US-ASCII: the characters that are written as themselves (`&` as `&-`).
fn is_direct(c: char) -> bool {
    (' '..='~').contains(&c)
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

fn base64_value(b: u8) -> Option<u32> {
    let v = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b',' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

/// The encoder's bit buffer inside a shifted run: fewer than 6 bits not yet written.
#[derive(Default)]
struct Bits {
    value: u32,
    count: u32,
}

impl Bits {
    fn push_unit(&mut self, unit: u16, out: &mut String) {
        self.value = (self.value << 16) | u32::from(unit);
        self.count += 16;
        while self.count >= 6 {
            self.count -= 6;
            out.push(sextet((self.value >> self.count) & 63));
        }
        self.value &= (1 << self.count) - 1;
    }

    fn close(self, out: &mut String) {
        if self.count > 0 {
            out.push(sextet((self.value << (6 - self.count)) & 63));
        }
        out.push('-');
    }
}

fn sextet(v: u32) -> char {
    char::from(BASE64[(v & 63) as usize])
}

fn error(pos: usize, kind: Mutf7ErrorKind) -> Mutf7Error {
    Mutf7Error { pos, kind }
}

/// The one decoder behind [`validate`] and [`decode`]: hands each character to `emit`.
fn decode_with(name: &[u8], mut emit: impl FnMut(char)) -> Result<(), Mutf7Error> {
    let mut i = 0;
    let mut after_run = false;
    while let Some(&b) = name.get(i) {
        match b {
            b'&' if name.get(i + 1) == Some(&b'-') => {
                emit('&');
                i += 2;
                after_run = false;
            }
            b'&' if after_run => return Err(error(i, Mutf7ErrorKind::AdjacentRuns)),
            b'&' => {
                i = decode_run(name, i + 1, &mut emit)?;
                after_run = true;
            }
            0x20..=0x7e => {
                emit(char::from(b));
                i += 1;
                after_run = false;
            }
            _ => return Err(error(i, Mutf7ErrorKind::NotPrintable(b))),
        }
    }
    Ok(())
}

/// Decodes the shifted run starting at `start` (just after its `&`); returns the offset after
/// its closing `-`.
fn decode_run(name: &[u8], start: usize, emit: &mut impl FnMut(char)) -> Result<usize, Mutf7Error> {
    let mut bits = 0u32;
    let mut count = 0u32;
    // A high surrogate waiting for its low half, with the offset where it was completed.
    let mut high: Option<(u16, usize)> = None;
    let mut i = start;
    loop {
        let Some(&b) = name.get(i) else {
            return Err(error(i, Mutf7ErrorKind::Unterminated));
        };
        if b == b'-' {
            break;
        }
        let v = base64_value(b).ok_or(error(i, Mutf7ErrorKind::BadBase64(b)))?;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 16 {
            count -= 16;
            let unit = (bits >> count) as u16;
            bits &= (1 << count) - 1;
            high = take_unit(unit, high, i, emit)?;
        }
        i += 1;
    }
    if let Some((_, at)) = high {
        return Err(error(at, Mutf7ErrorKind::UnpairedSurrogate));
    }
    if count >= 6 {
        return Err(error(i, Mutf7ErrorKind::IncompleteCodeUnit));
    }
    if bits != 0 {
        return Err(error(i, Mutf7ErrorKind::NonZeroPadding));
    }
    Ok(i + 1)
}

/// Takes one UTF-16 code unit completed at offset `at`; returns the high surrogate still waiting.
fn take_unit(
    unit: u16,
    high: Option<(u16, usize)>,
    at: usize,
    emit: &mut impl FnMut(char),
) -> Result<Option<(u16, usize)>, Mutf7Error> {
    let unpaired = |pos| error(pos, Mutf7ErrorKind::UnpairedSurrogate);
    let is_low = (0xDC00..=0xDFFF).contains(&unit);
    let c = match high {
        Some((hi, _)) if is_low => {
            let code = 0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(unit) - 0xDC00);
            char::from_u32(code).ok_or(unpaired(at))?
        }
        Some((_, hi_at)) => return Err(unpaired(hi_at)),
        None if (0xD800..=0xDBFF).contains(&unit) => return Ok(Some((unit, at))),
        None => char::from_u32(u32::from(unit)).ok_or(unpaired(at))?,
    };
    if is_direct(c) {
        return Err(error(at, Mutf7ErrorKind::DirectlyEncodable));
    }
    emit(c);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kind(name: &str) -> Mutf7ErrorKind {
        validate(name.as_bytes()).unwrap_err().kind
    }

    #[test]
    fn rfc_example() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語".
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(decode(wire.as_bytes()).unwrap(), "~peter/mail/台北/日本語");
        assert_eq!(encode("~peter/mail/台北/日本語"), wire);
    }

    #[test]
    fn ampersand_and_plain_ascii() {
        assert_eq!(decode(b"Tom &- Jerry").unwrap(), "Tom & Jerry");
        assert_eq!(encode("Tom & Jerry"), "Tom &- Jerry");
        assert_eq!(encode("&&"), "&-&-");
        assert_eq!(encode(""), "");
        assert_eq!(decode(b"").unwrap(), "");
    }

    #[test]
    fn latin_and_astral() {
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(decode(b"Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(encode("á&é"), "&AOE-&-&AOk-");
        assert_eq!(encode("áé"), "&AOEA6Q-");
        // U+1F600 is the surrogate pair D83D DE00.
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(decode(b"&2D3eAA-").unwrap(), "😀");
        // Controls cannot stand for themselves either.
        assert_eq!(encode("\t"), "&AAk-");
        assert_eq!(decode(b"&AAk-").unwrap(), "\t");
    }

    #[test]
    fn rejects_each_kind_with_its_position() {
        use Mutf7ErrorKind::*;
        assert_eq!(validate(b"ab\x7f"), Err(error(2, NotPrintable(0x7f))));
        assert_eq!(
            validate("é".as_bytes()).unwrap_err().kind,
            NotPrintable(0xc3)
        );
        assert_eq!(validate(b"&AO/-"), Err(error(3, BadBase64(b'/'))));
        assert_eq!(validate(b"&AOE="), Err(error(4, BadBase64(b'='))));
        assert_eq!(validate(b"x&AOE"), Err(error(5, Unterminated)));
        assert_eq!(validate(b"&"), Err(error(1, Unterminated)));
        assert_eq!(kind("&A-"), IncompleteCodeUnit);
        assert_eq!(kind("&AOEA-"), IncompleteCodeUnit);
        assert_eq!(kind("&AOF-"), NonZeroPadding);
        assert_eq!(validate(b"&3gA-"), Err(error(3, UnpairedSurrogate)));
        assert_eq!(validate(b"&2D0-"), Err(error(3, UnpairedSurrogate)));
        assert_eq!(kind("&2D0AYQ-"), UnpairedSurrogate);
        assert_eq!(kind("&3gDYPQ-"), UnpairedSurrogate);
        assert_eq!(validate(b"&AGE-"), Err(error(3, DirectlyEncodable)));
        assert_eq!(kind("&ACY-"), DirectlyEncodable);
        assert_eq!(validate(b"&AOE-&AOk-"), Err(error(5, AdjacentRuns)));
        assert_eq!(kind("&AGE-&AGE-"), DirectlyEncodable);
    }

    #[test]
    fn error_message_names_the_position() {
        let e = validate(b"&AO/-").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid modified UTF-7 at byte 3: byte 0x2f is not modified base64"
        );
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(s in any::<String>()) {
            let wire = encode(&s);
            prop_assert!(validate(wire.as_bytes()).is_ok());
            prop_assert_eq!(decode(wire.as_bytes()).unwrap(), s);
        }

        #[test]
        fn encode_inverts_decode(bytes in proptest::collection::vec(
            prop_oneof![Just(b'&'), Just(b'-'), Just(b'A'), Just(b'O'), Just(b'2'), Just(b'D'),
                        Just(b'3'), Just(b'g'), Just(b','), Just(b'+'), Just(b'a'), any::<u8>()],
            0..24,
        )) {
            let decoded = decode(&bytes);
            prop_assert_eq!(validate(&bytes).is_ok(), decoded.is_ok());
            if let Ok(text) = decoded {
                prop_assert_eq!(encode(&text).into_bytes(), bytes);
            }
        }
    }
}
