//! The capability banner a MUPDATE server sends on connect and again after STARTTLS.
//!
//! The banner is a run of untagged capability lines ended by `* OK MUPDATE` and four strings
//! (RFC 3656 §3.8). [`Banner::encode`] writes it byte for byte as Cyrus's master does: mechanism
//! names quoted, lines in Cyrus's order. [`Banner::decode`] accepts the RFC's atoms too, keeps
//! capability lines it does not know (a later extension can add one that Cyrus clients skip),
//! and reports the banner complete only once its `* OK MUPDATE` line is in.

use super::response::{fields, status_text};
use super::wire::{Limits, Reader, Stop, write_string};
use super::{DecodeError, Decoded, decoded};

/// What a server says it is in the last banner string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Role {
    /// `"(master)"`: the server holds the authoritative table.
    Master,
    /// A slave; the string is the `mupdate://` URL of its master.
    Slave(String),
}

const MASTER: &str = "(master)";

/// The whole capability banner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Banner {
    /// `* AUTH ...`: the SASL mechanisms on offer (a bare `* AUTH` when empty).
    pub mechanisms: Vec<String>,
    /// `* STARTTLS`: TLS is on offer and not yet active.
    pub starttls: bool,
    /// `* COMPRESS ...`: the compression algorithms on offer (Cyrus: `"DEFLATE"`); no line
    /// when empty.
    pub compress: Vec<String>,
    /// `* PARTIAL-UPDATE`: UPDATE takes host names to filter on (a Cyrus extension).
    pub partial_update: bool,
    /// Other capability lines, as the text after `* ` (no CR or LF; their first word is none of
    /// `AUTH`, `STARTTLS`, `COMPRESS`, `PARTIAL-UPDATE`, `OK` or `BYE`).
    pub extensions: Vec<Vec<u8>>,
    /// The server's host name (first string of `* OK MUPDATE`).
    pub host: String,
    /// The implementation's name, such as `"Cyrus IMAP"` or `"corvid"`.
    pub implementation: String,
    /// The implementation's version.
    pub version: String,
    /// Master, or slave of the master at a URL.
    pub role: Role,
}

impl Banner {
    /// Writes the banner in Cyrus's form and order, CRLF after every line.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"* AUTH");
        write_words(out, &self.mechanisms);
        if self.starttls {
            out.extend_from_slice(b"\r\n* STARTTLS");
        }
        if !self.compress.is_empty() {
            out.extend_from_slice(b"\r\n* COMPRESS");
            write_words(out, &self.compress);
        }
        if self.partial_update {
            out.extend_from_slice(b"\r\n* PARTIAL-UPDATE");
        }
        for line in &self.extensions {
            out.extend_from_slice(b"\r\n* ");
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n* OK MUPDATE");
        let role = match &self.role {
            Role::Master => MASTER,
            Role::Slave(url) => url,
        };
        write_words(
            out,
            &[&self.host, &self.implementation, &self.version, role],
        );
        out.extend_from_slice(b"\r\n");
    }

    /// Decodes a whole banner at the front of `input`; [`Decoded::Incomplete`] until its
    /// `* OK MUPDATE` line has come. The limits apply to the banner as one message. A
    /// `* BYE` before it (a server over its connection limit) is [`DecodeError::Refused`].
    pub fn decode(input: &[u8], limits: Limits) -> Result<Decoded<Banner>, DecodeError> {
        let mut reader = Reader::new(input, limits);
        match read_banner(&mut reader) {
            Ok(Greeting::Banner(banner)) => Ok(Decoded::Done {
                value: banner,
                consumed: reader.pos(),
            }),
            Ok(Greeting::Bye(text)) => Err(DecodeError::Refused(text)),
            Err(stop) => decoded(Err(stop)),
        }
    }
}

/// Writes ` "word"` for each word (a literal where a word cannot be quoted).
fn write_words<S: AsRef<str>>(out: &mut Vec<u8>, words: &[S]) {
    for word in words {
        out.push(b' ');
        write_string(out, word.as_ref().as_bytes());
    }
}

/// Reads the arguments up to the line end as text.
fn words(reader: &mut Reader<'_>) -> Result<Vec<String>, Stop> {
    let mut out = Vec::new();
    while let Some(word) = reader.next_argument()? {
        out.push(utf8(word)?);
    }
    reader.line_end()?;
    Ok(out)
}

fn utf8(bytes: Vec<u8>) -> Result<String, Stop> {
    String::from_utf8(bytes).map_err(|_| Stop::Syntax)
}

/// What a server greets with.
enum Greeting {
    Banner(Banner),
    /// `* BYE` and its text.
    Bye(Vec<u8>),
}

/// Reads banner lines up to `* OK MUPDATE`, or a `* BYE`.
fn read_banner(reader: &mut Reader<'_>) -> Result<Greeting, Stop> {
    let mut mechanisms = Vec::new();
    let mut starttls = false;
    let mut compress = Vec::new();
    let mut partial_update = false;
    let mut extensions = Vec::new();
    loop {
        if reader.tag_or_star()? != b"*" {
            return Err(Stop::Syntax);
        }
        reader.sp()?;
        let line_start = reader.pos();
        match reader.atom()?.to_ascii_uppercase().as_slice() {
            b"AUTH" => mechanisms.extend(words(reader)?),
            b"COMPRESS" => compress.extend(words(reader)?),
            b"STARTTLS" => {
                reader.line_end()?;
                starttls = true;
            }
            b"PARTIAL-UPDATE" => {
                reader.line_end()?;
                partial_update = true;
            }
            b"BYE" => return Ok(Greeting::Bye(status_text(reader)?)),
            b"OK" => break,
            _ => extensions.push(reader.line_since(line_start)?.to_vec()),
        }
    }
    reader.sp()?;
    if !reader.atom()?.eq_ignore_ascii_case(b"MUPDATE") {
        return Err(Stop::Syntax);
    }
    let [host, implementation, version, role] = fields(reader)?;
    let role = utf8(role)?;
    Ok(Greeting::Banner(Banner {
        mechanisms,
        starttls,
        compress,
        partial_update,
        extensions,
        host: utf8(host)?,
        implementation: utf8(implementation)?,
        version: utf8(version)?,
        role: if role == MASTER {
            Role::Master
        } else {
            Role::Slave(role)
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CYRUS: &[u8] = b"* AUTH \"PLAIN\" \"DIGEST-MD5\"\r\n\
        * STARTTLS\r\n\
        * COMPRESS \"DEFLATE\"\r\n\
        * PARTIAL-UPDATE\r\n\
        * OK MUPDATE \"fe1.example\" \"Cyrus IMAP\" \"3.6.1-Debian-3.6.1-4+deb12u5\" \"mupdate://master.example\"\r\n";

    fn cyrus() -> Banner {
        Banner {
            mechanisms: vec!["PLAIN".into(), "DIGEST-MD5".into()],
            starttls: true,
            compress: vec!["DEFLATE".into()],
            partial_update: true,
            extensions: Vec::new(),
            host: "fe1.example".into(),
            implementation: "Cyrus IMAP".into(),
            version: "3.6.1-Debian-3.6.1-4+deb12u5".into(),
            role: Role::Slave("mupdate://master.example".into()),
        }
    }

    fn decode(input: &[u8]) -> Result<Decoded<Banner>, DecodeError> {
        Banner::decode(input, Limits::default())
    }

    #[test]
    fn cyrus_banner_byte_for_byte() {
        let mut out = Vec::new();
        cyrus().encode(&mut out);
        assert_eq!(out, CYRUS);
        assert_eq!(
            decode(CYRUS),
            Ok(Decoded::Done {
                value: cyrus(),
                consumed: CYRUS.len()
            })
        );
        for cut in 0..CYRUS.len() {
            assert_eq!(decode(&CYRUS[..cut]), Ok(Decoded::Incomplete), "cut {cut}");
        }
    }

    #[test]
    fn rfc_banner_and_unknown_lines() {
        let input = b"* AUTH KERBEROS_V4 GSSAPI\r\n* X-RESUME \"v1\"\r\n* STARTTLS\r\n\
            * OK MUPDATE \"mupdate.example.org\" \"Cyrus\" \"v2.1.2\" \"(master)\"\r\nU01";
        let Ok(Decoded::Done { value, consumed }) = decode(input) else {
            panic!("{:?}", decode(input));
        };
        assert_eq!(consumed, input.len() - 3);
        assert_eq!(value.mechanisms, ["KERBEROS_V4", "GSSAPI"]);
        assert_eq!(value.extensions, [b"X-RESUME \"v1\"".to_vec()]);
        assert!(value.starttls && !value.partial_update && value.compress.is_empty());
        assert_eq!(value.role, Role::Master);
        let mut out = Vec::new();
        value.encode(&mut out);
        assert!(out.starts_with(b"* AUTH \"KERBEROS_V4\" \"GSSAPI\"\r\n* STARTTLS\r\n* X-RESUME"));
        assert_eq!(
            decode(&out),
            Ok(Decoded::Done {
                value,
                consumed: out.len()
            })
        );
    }

    #[test]
    fn bare_auth_and_refusal() {
        let banner = Banner {
            mechanisms: Vec::new(),
            starttls: false,
            compress: Vec::new(),
            partial_update: false,
            ..cyrus()
        };
        let mut out = Vec::new();
        banner.encode(&mut out);
        assert!(out.starts_with(b"* AUTH\r\n* OK MUPDATE \"fe1.example\""));
        assert_eq!(
            decode(b"* BYE \"Server Unable\"\r\n"),
            Err(DecodeError::Refused(b"Server Unable".to_vec()))
        );
        assert_eq!(decode(b"A01 OK \"x\"\r\n"), Err(DecodeError::Malformed));
        assert_eq!(decode(b"* OK IMAP4 ready\r\n"), Err(DecodeError::Malformed));
    }
}
