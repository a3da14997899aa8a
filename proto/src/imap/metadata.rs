//! METADATA (RFC 5464) as far as a murder uses it: the server entry in which a backend reports
//! the space it has free, and the reader of a `* METADATA` response's entries and values.
//!
//! A Cyrus murder frontend that places new users "by free space" asks each backend for
//! [`FREE_SPACE_ENTRY`] on the server (mailbox `""`); Cyrus answers the KiB free on its
//! partitions, and so does corvid's reference backend.

use crate::lex::{self, AString};

/// The server entry whose value is the KiB a backend has free for messages, as Cyrus names it.
pub const FREE_SPACE_ENTRY: &str = "/shared/vendor/cmu/cyrus-imapd/freespace/total";

/// Why a `* METADATA` response could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The response is not `* METADATA mailbox (entry value ...)`.
    #[error("malformed METADATA response")]
    Malformed,
}

/// A `* METADATA` response with values: the mailbox and each entry's value (`None` for NIL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataValues<'a> {
    /// The mailbox, `""` for the server.
    pub mailbox: AString<'a>,
    /// The entries and their values, in the order sent.
    pub values: Vec<(AString<'a>, Option<AString<'a>>)>,
}

impl MetadataValues<'_> {
    /// The value of `entry` (entry names compare without regard to case), as bytes.
    pub fn value(&self, entry: &str) -> Option<Vec<u8>> {
        self.values.iter().find_map(|(name, value)| {
            let matches = name.to_vec().eq_ignore_ascii_case(entry.as_bytes());
            matches
                .then(|| value.as_ref().map(AString::to_vec))
                .flatten()
        })
    }
}

/// Reads one whole response message (its literals inline, as a framer gathers them) that
/// should be `* METADATA mailbox (entry value ...)` with values, not the entry-list form.
pub fn parse_metadata(message: &[u8]) -> Result<MetadataValues<'_>, MetadataError> {
    const NAME: &[u8] = b"* METADATA ";
    let head = message.get(..NAME.len()).ok_or(MetadataError::Malformed)?;
    if !head.eq_ignore_ascii_case(NAME) {
        return Err(MetadataError::Malformed);
    }
    let i = message.get(NAME.len()..).unwrap_or_default();
    let (i, mailbox) = lex::astring(i).map_err(|_| MetadataError::Malformed)?;
    let mut i = i.strip_prefix(b" (").ok_or(MetadataError::Malformed)?;
    let mut values = Vec::new();
    loop {
        let (rest, entry) = lex::astring(i).map_err(|_| MetadataError::Malformed)?;
        let rest = rest.strip_prefix(b" ").ok_or(MetadataError::Malformed)?;
        let (rest, value) = match rest.get(..3) {
            Some(nil) if nil.eq_ignore_ascii_case(b"NIL") => {
                (rest.get(3..).unwrap_or_default(), None)
            }
            _ => {
                let (rest, value) = lex::string(rest).map_err(|_| MetadataError::Malformed)?;
                (rest, Some(value))
            }
        };
        values.push((entry, value));
        match rest {
            [b' ', more @ ..] => i = more,
            [b')', b'\r', b'\n'] | [b')', b'\n'] => return Ok(MetadataValues { mailbox, values }),
            _ => return Err(MetadataError::Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrus_free_space_answer_is_read() {
        let answer =
            b"* METADATA \"\" (/shared/vendor/cmu/cyrus-imapd/freespace/total \"3122744\")\r\n";
        let read = parse_metadata(answer).unwrap();
        assert_eq!(read.mailbox, AString::Quoted(b""));
        assert_eq!(read.value(FREE_SPACE_ENTRY), Some(b"3122744".to_vec()));
        assert_eq!(read.value("/shared/comment"), None);
    }

    #[test]
    fn literals_nil_and_several_entries_are_read() {
        let answer = b"* metadata INBOX (/private/comment {5}\r\nhello /shared/comment NIL)\r\n";
        let read = parse_metadata(answer).unwrap();
        assert_eq!(read.value("/PRIVATE/comment"), Some(b"hello".to_vec()));
        assert_eq!(read.values.len(), 2);
        assert_eq!(read.value("/shared/comment"), None);
    }

    #[test]
    fn malformed_answers_and_every_prefix_are_refused_without_panic() {
        let answer = b"* METADATA \"\" (/shared/x \"1\" /shared/y {2}\r\nab)\r\n";
        for cut in 0..answer.len() {
            assert!(parse_metadata(&answer[..cut]).is_err(), "cut at {cut}");
        }
        for bad in [
            &b"* METADATA \"\" /shared/x\r\n"[..],
            b"* METADATA \"\" ()\r\n",
            b"* METADATA \"\" (/shared/x)\r\n",
            b"* LIST () \"/\" x\r\n",
            b"* METADATA \"\" (/shared/x \"1\")junk\r\n",
        ] {
            assert_eq!(parse_metadata(bad), Err(MetadataError::Malformed));
        }
    }
}
