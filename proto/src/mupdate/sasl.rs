//! The SASL exchange that follows `AUTHENTICATE`: bare base64 lines in both directions.
//!
//! RFC 3656 §4.2 sends SASL challenges and responses as base64 text on a line of their own, not
//! as strings and, unlike IMAP, without a `+ ` prefix. An empty challenge or response is an empty
//! line, and a client cancels with a line holding `*`. The initial response inside `AUTHENTICATE`
//! is a string holding base64, where `=` stands for an empty response.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One line a client sends during the SASL exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslResponse {
    /// A response to the last challenge (decoded bytes).
    Data(Vec<u8>),
    /// `*`: the client gives up; the server answers the AUTHENTICATE with `NO` (or `BAD`).
    Cancel,
}

impl SaslResponse {
    /// Writes the line, CRLF included.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            SaslResponse::Data(data) => encode_sasl_line(data, out),
            SaslResponse::Cancel => out.extend_from_slice(b"*\r\n"),
        }
    }

    /// Reads the text of a line (without its line end); `None` if it is not valid base64.
    pub(crate) fn from_line(text: &[u8]) -> Option<Self> {
        if text == b"*" {
            return Some(SaslResponse::Cancel);
        }
        decode_base64(text).map(SaslResponse::Data)
    }
}

/// Writes one SASL line, in either direction: `data` in base64, then CRLF.
pub fn encode_sasl_line(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(STANDARD.encode(data).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Decodes the base64 text of a SASL line; the empty line is empty data.
pub(crate) fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// The wire text of an `AUTHENTICATE` initial response: base64, or `=` when it is empty.
pub(crate) fn encode_initial_response(data: &[u8]) -> Vec<u8> {
    if data.is_empty() {
        b"=".to_vec()
    } else {
        STANDARD.encode(data).into_bytes()
    }
}

/// Decodes an `AUTHENTICATE` initial response; `None` if it is not base64 (nor `=`).
pub(crate) fn decode_initial_response(text: &[u8]) -> Option<Vec<u8>> {
    match text {
        b"=" => Some(Vec::new()),
        b"" => None,
        _ => decode_base64(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let mut out = Vec::new();
        SaslResponse::Data(b"\0mupduser\0mupdpass".to_vec()).encode(&mut out);
        SaslResponse::Data(Vec::new()).encode(&mut out);
        SaslResponse::Cancel.encode(&mut out);
        assert_eq!(out, b"AG11cGR1c2VyAG11cGRwYXNz\r\n\r\n*\r\n");
        assert_eq!(
            SaslResponse::from_line(b"AG11cGR1c2VyAG11cGRwYXNz"),
            Some(SaslResponse::Data(b"\0mupduser\0mupdpass".to_vec()))
        );
        assert_eq!(
            SaslResponse::from_line(b""),
            Some(SaslResponse::Data(Vec::new()))
        );
        assert_eq!(SaslResponse::from_line(b"*"), Some(SaslResponse::Cancel));
        assert_eq!(SaslResponse::from_line(b"not base64!"), None);
    }

    #[test]
    fn initial_response() {
        assert_eq!(encode_initial_response(b""), b"=");
        assert_eq!(decode_initial_response(b"="), Some(Vec::new()));
        assert_eq!(decode_initial_response(b""), None);
        assert_eq!(decode_initial_response(b"YQ=="), Some(b"a".to_vec()));
        assert_eq!(decode_initial_response(b"Y"), None);
    }
}
