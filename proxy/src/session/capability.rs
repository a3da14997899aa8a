//! The capabilities a client sees: the proxy's own, and those it passes through from the
//! user's backends.
//!
//! Before login the list is the proxy's alone (RFC 3501 asks for `LOGINDISABLED` and no
//! `AUTH=` while plaintext login is refused). After login it is honest about the backends: an
//! extension the proxy only relays (UIDPLUS, MOVE, CONDSTORE, ...) is advertised only when
//! the user's INBOX backend has it, as Cyrus's frontend does not (its issue #1262).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What the proxy implements itself, whatever the backends are.
const OWN: &[&str] = &[
    "IMAP4rev1",
    "LITERAL+",
    "SASL-IR",
    "ID",
    "ENABLE",
    "NAMESPACE",
    "CHILDREN",
];

/// Extensions the proxy relays unchanged, advertised when the backend has them. A name that
/// ends in `=` matches every capability with that prefix (`THREAD=REFERENCES`).
const PASS_THROUGH: &[&str] = &[
    "IDLE",
    "UIDPLUS",
    "MOVE",
    "UNSELECT",
    "CONDSTORE",
    "QRESYNC",
    "SORT",
    "SORT=",
    "THREAD=",
    "ESEARCH",
    "ESORT",
    "SEARCHRES",
    "WITHIN",
    "MULTIAPPEND",
    "BINARY",
    "QUOTA",
    "QUOTA=",
    "ACL",
    "RIGHTS=",
    "METADATA",
    "METADATA-SERVER",
    "APPENDLIMIT=",
    "SPECIAL-USE",
    "LIST-EXTENDED",
];

/// Extensions a client may ENABLE (RFC 5161), when advertised.
pub const ENABLEABLE: &[&str] = &["CONDSTORE", "QRESYNC"];

/// The capability atoms before login.
pub fn before_login(starttls_offered: bool, tls_active: bool, plaintext_allowed: bool) -> String {
    let mut caps = OWN.join(" ");
    caps.push_str(" IDLE");
    if starttls_offered && !tls_active {
        caps.push_str(" STARTTLS");
    }
    if tls_active || plaintext_allowed {
        caps.push_str(" AUTH=PLAIN");
    } else {
        caps.push_str(" LOGINDISABLED");
    }
    caps
}

/// The capability atoms after login, given the INBOX backend's (space-separated atoms). The
/// line is shared by every session of the thread whose backends advertise the same (there are
/// as many distinct lines as backend builds), so an idle session does not keep its own copy.
pub fn after_login(backend: &[u8]) -> Rc<str> {
    thread_local! {
        static SEEN: RefCell<HashMap<Vec<u8>, Rc<str>>> = RefCell::new(HashMap::new());
    }
    /// A thread keeps at most this many distinct lines (more means something odd: stop sharing).
    const MAX_SEEN: usize = 64;
    SEEN.with(|seen| {
        let mut seen = seen.borrow_mut();
        if let Some(line) = seen.get(backend) {
            return line.clone();
        }
        let line: Rc<str> = advertised_after_login(backend).into();
        if seen.len() < MAX_SEEN {
            seen.insert(backend.to_vec(), line.clone());
        }
        line
    })
}

/// What [`after_login`] advertises for the INBOX backend's capabilities.
fn advertised_after_login(backend: &[u8]) -> String {
    let mut caps = OWN.join(" ");
    for atom in backend.split(|&b| b == b' ') {
        let Ok(atom) = std::str::from_utf8(atom) else {
            continue;
        };
        let passes = PASS_THROUGH
            .iter()
            .any(|known| match known.strip_suffix('=') {
                Some(prefix) => {
                    atom.len() > known.len()
                        && starts_with_ignore_case(atom, known)
                        && !prefix.is_empty()
                }
                None => atom.eq_ignore_ascii_case(known),
            });
        if passes && !caps.split(' ').any(|c| c.eq_ignore_ascii_case(atom)) {
            caps.push(' ');
            caps.push_str(atom);
        }
    }
    caps
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Is `name` an extension a client may ENABLE given `advertised`?
pub fn enableable(name: &[u8], advertised: &str) -> bool {
    ENABLEABLE
        .iter()
        .any(|e| e.as_bytes().eq_ignore_ascii_case(name))
        && advertised
            .split(' ')
            .any(|c| c.as_bytes().eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_login_hides_auth_until_tls() {
        let plain = before_login(true, false, false);
        assert!(plain.contains("STARTTLS") && plain.contains("LOGINDISABLED"));
        assert!(!plain.contains("AUTH=PLAIN"));
        let tls = before_login(true, true, false);
        assert!(!tls.contains("STARTTLS") && !tls.contains("LOGINDISABLED"));
        assert!(tls.contains("AUTH=PLAIN"));
        assert!(before_login(false, false, true).contains("AUTH=PLAIN"));
    }

    #[test]
    fn after_login_passes_only_known_backend_extensions() {
        let caps = after_login(
            b"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES \
              MULTIAPPEND UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED I18NLEVEL=1 CONDSTORE \
              QRESYNC ESEARCH SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE LITERAL+ \
              NOTIFY XAPPLEPUSHSERVICE",
        );
        for wanted in [
            "IDLE",
            "SORT=DISPLAY",
            "THREAD=REFERENCES",
            "UIDPLUS",
            "MOVE",
            "QRESYNC",
        ] {
            assert!(caps.split(' ').any(|c| c == wanted), "{wanted} in {caps}");
        }
        for unwanted in [
            "LOGIN-REFERRALS",
            "NOTIFY",
            "LIST-STATUS",
            "XAPPLEPUSHSERVICE",
            "CONTEXT=SEARCH",
        ] {
            assert!(
                !caps.split(' ').any(|c| c == unwanted),
                "{unwanted} in {caps}"
            );
        }
        assert_eq!(caps.matches("LITERAL+").count(), 1, "no duplicates: {caps}");
        assert!(enableable(b"qresync", &caps));
        assert!(!enableable(b"UTF8=ACCEPT", &caps));
    }
}
