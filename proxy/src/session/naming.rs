//! Mailbox names as each backend spells them, where its namespace differs from the proxy's.
//!
//! The proxy shows every client Cyrus's altnamespace (another user's INBOX is
//! `Other Users/jane`, her folders `Other Users/jane/Sent`). Cyrus and corvid's backends spell
//! names the same way, so commands pass byte for byte. Dovecot's shared namespace
//! (`prefix = Other Users/%u/`) names jane's INBOX `Other Users/jane/INBOX` instead: for a
//! backend configured so ([`BackendProfile::other_users_inbox_folder`]), the mailbox argument
//! of a relayed command that names another user's INBOX is rewritten to that form, and the
//! names that backend sends back (its `* STATUS` replies, the subscriptions it lists) are read
//! back into the proxy's. Every other name is the same on both sides and passes untouched.

use std::borrow::Cow;

use corvid_mupdate::table::MailboxTable;
use corvid_mupdate::view::{Subscriptions, View};
use corvid_proto::imap::command::{Args, CommandHead};
use corvid_proto::imap::framer::{Frame, LineEnd};
use corvid_proto::imap::response::{Response, Untagged, classify};
use corvid_proto::imap::writer::ResponseWriter;
use corvid_proto::mailbox::name::owner_of;

use super::{LinkId, Session};

/// What the proxy knows of one backend beyond its address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackendProfile {
    /// The backend names another user's INBOX `Other Users/jane/INBOX` (Dovecot's shared
    /// namespace), where the proxy says `Other Users/jane`.
    pub other_users_inbox_folder: bool,
    /// Where clients reach this backend directly (`host` or `host:port`), for RFC 2193
    /// referrals; without it the backend is never referred to.
    pub referral_host: Option<String>,
}

/// The name of a user's INBOX as a folder of their tree, in Dovecot's shared namespace.
const INBOX_FOLDER: &[u8] = b"INBOX";

impl Session {
    /// A one-line `* STATUS` reply of link `id` with the mailbox named as the client knows it,
    /// when the link's backend names it otherwise (`session/naming.rs`).
    pub(super) fn status_for_client(
        &self,
        id: LinkId,
        frame: Frame<'_>,
        table: &MailboxTable,
    ) -> Option<Vec<u8>> {
        let Frame::Line {
            bytes,
            first: true,
            then: LineEnd::EndOfMessage,
        } = frame
        else {
            return None;
        };
        let login = self.login.as_ref()?;
        let view = View {
            table,
            ns: &self.config.namespace,
            viewer: &login.viewer,
            utf8: false,
        };
        let profile = self.profile(&self.links.get(id)?.server);
        status_for_client(&view, profile, bytes)
    }

    /// What the proxy knows of backend `server` (the default for one it was not told about).
    pub(super) fn profile(&self, server: &str) -> &BackendProfile {
        static UNKNOWN: BackendProfile = BackendProfile {
            other_users_inbox_folder: false,
            referral_host: None,
        };
        self.config.backends.get(server).unwrap_or(&UNKNOWN)
    }
}

/// `name` (as the client sent it) as a backend of `profile` spells it, when it differs: another
/// user's INBOX gets its `/INBOX` folder level on a backend with
/// [`BackendProfile::other_users_inbox_folder`].
pub(super) fn to_backend(
    view: &View<'_>,
    profile: &BackendProfile,
    name: &[u8],
) -> Option<Vec<u8>> {
    if !profile.other_users_inbox_folder {
        return None;
    }
    let internal = view.internal_name(name).ok()?;
    if !is_other_users_inbox(view, &internal) {
        return None;
    }
    let external = view
        .ns
        .to_external(view.viewer.user(), internal.as_bytes())
        .ok()?;
    let separator = view.ns.config().separator.byte();
    Some([external.as_bytes(), &[separator], INBOX_FOLDER].concat())
}

/// `name`, as a backend of `profile` spelt it, as the proxy spells it when that differs (see
/// [`to_backend`]).
pub(super) fn from_backend<'n>(
    view: &View<'_>,
    profile: &BackendProfile,
    name: &'n [u8],
) -> Option<&'n [u8]> {
    if !profile.other_users_inbox_folder {
        return None;
    }
    let separator = view.ns.config().separator.byte();
    let inbox = name
        .strip_suffix(INBOX_FOLDER)
        .and_then(|rest| rest.strip_suffix(&[separator]))?;
    view.internal_name(inbox)
        .is_ok_and(|internal| is_other_users_inbox(view, &internal))
        .then_some(inbox)
}

/// The subscriptions a backend of `profile` listed, in the proxy's spelling.
pub(super) fn subscriptions_from_backend(
    view: &View<'_>,
    profile: &BackendProfile,
    listed: Subscriptions,
) -> Subscriptions {
    if !profile.other_users_inbox_folder {
        return listed;
    }
    Subscriptions::from_names(
        listed
            .names()
            .map(|name| from_backend(view, profile, name).unwrap_or(name).to_vec()),
    )
}

/// A backend's one-line `* STATUS name (items)` reply with the name as the proxy spells it,
/// when it differs (see [`from_backend`]).
pub(super) fn status_for_client(
    view: &View<'_>,
    profile: &BackendProfile,
    line: &[u8],
) -> Option<Vec<u8>> {
    if !profile.other_users_inbox_folder {
        return None;
    }
    let Ok((Response::Untagged(Untagged::MailboxStatus(data)), _)) = classify(line) else {
        return None;
    };
    let name = data.mailbox.to_vec();
    let shown = from_backend(view, profile, &name)?;
    let mut out = b"* STATUS ".to_vec();
    ResponseWriter::new(&mut out, true).mailbox(shown).ok()?;
    out.push(b' ');
    out.extend_from_slice(data.rest);
    out.extend_from_slice(b"\r\n");
    Some(out)
}

/// Whether internal name `internal` is the INBOX of a user other than the viewer.
fn is_other_users_inbox(view: &View<'_>, internal: &str) -> bool {
    internal != view.viewer.inbox()
        && owner_of(internal.as_bytes())
            .and_then(|owner| view.ns.to_internal(&owner, b"INBOX").ok())
            .is_some_and(|inbox| inbox == internal)
}

/// The command `bytes` (whose head is `head`) with its mailbox argument spelt for a backend of
/// `profile`; the bytes as they are when the name is the same there (or is not one of a
/// command that names a single mailbox, or cannot be written in a quoted string).
pub(super) fn command_for_backend<'b>(
    view: &View<'_>,
    profile: &BackendProfile,
    head: &CommandHead<'_>,
    bytes: &'b [u8],
) -> Cow<'b, [u8]> {
    let (sequence_set, mailbox) = match head.args {
        Args::Mailbox(mailbox) => (None, mailbox),
        Args::Copy {
            sequence_set,
            mailbox,
        } => (Some(sequence_set), mailbox),
        _ => return Cow::Borrowed(bytes),
    };
    let Some(name) = to_backend(view, profile, &mailbox.to_vec()) else {
        return Cow::Borrowed(bytes);
    };
    let mut out = Vec::with_capacity(bytes.len() + INBOX_FOLDER.len() + 1);
    out.extend_from_slice(head.tag);
    out.push(b' ');
    if head.uid {
        out.extend_from_slice(b"UID ");
    }
    out.extend_from_slice(head.name);
    out.push(b' ');
    if let Some(set) = sequence_set {
        out.extend_from_slice(set);
        out.push(b' ');
    }
    let written = ResponseWriter::new(&mut out, true).mailbox(&name);
    if written.is_err() || out.contains(&b'\n') {
        return Cow::Borrowed(bytes);
    }
    match bytes.get(head.consumed..) {
        Some(rest) if !head.complete => out.extend_from_slice(rest),
        _ => out.extend_from_slice(b"\r\n"),
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use corvid_mupdate::table::MailboxTable;
    use corvid_mupdate::view::Viewer;
    use corvid_proto::imap::command::parse_head;
    use corvid_proto::mailbox::name::Namespace;

    use super::*;

    const DOVECOT: BackendProfile = BackendProfile {
        other_users_inbox_folder: true,
        referral_host: None,
    };

    fn with_view(check: impl FnOnce(&View<'_>)) {
        let ns = Namespace::default();
        let viewer = Viewer::new(&ns, "john", Vec::new(), false).unwrap();
        let table = MailboxTable::default();
        check(&View {
            table: &table,
            ns: &ns,
            viewer: &viewer,
            utf8: false,
        });
    }

    fn rewritten(view: &View<'_>, profile: &BackendProfile, command: &[u8]) -> Vec<u8> {
        let head = parse_head(command).unwrap();
        command_for_backend(view, profile, &head, command).into_owned()
    }

    #[test]
    fn another_users_inbox_gets_its_inbox_level_on_a_dovecot_backend() {
        with_view(|view| {
            let cases: [(&[u8], &[u8]); 7] = [
                (
                    b"a SELECT \"Other Users/jane\"\r\n",
                    b"a SELECT \"Other Users/jane/INBOX\"\r\n",
                ),
                (
                    b"a EXAMINE \"Other Users/jane\" (CONDSTORE)\r\n",
                    b"a EXAMINE \"Other Users/jane/INBOX\" (CONDSTORE)\r\n",
                ),
                (
                    b"s status \"Other Users/jane\" (MESSAGES)\r\n",
                    b"s status \"Other Users/jane/INBOX\" (MESSAGES)\r\n",
                ),
                (
                    b"p APPEND {16+}\r\nOther Users/jane (\\Seen) {3+}\r\n",
                    b"p APPEND \"Other Users/jane/INBOX\" (\\Seen) {3+}\r\n",
                ),
                (
                    b"c UID COPY 1:3 \"Other Users/jane\"\r\n",
                    b"c UID COPY 1:3 \"Other Users/jane/INBOX\"\r\n",
                ),
                (
                    b"u SUBSCRIBE \"Other Users/jane\"\r\n",
                    b"u SUBSCRIBE \"Other Users/jane/INBOX\"\r\n",
                ),
                // jane's folders, john's own INBOX and shared folders are spelt alike.
                (
                    b"a SELECT \"Other Users/jane/Sent\"\r\n",
                    b"a SELECT \"Other Users/jane/Sent\"\r\n",
                ),
            ];
            for (command, expected) in cases {
                let got = rewritten(view, &DOVECOT, command);
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(expected)
                );
            }
            for same in [
                &b"a SELECT INBOX\r\n"[..],
                b"a SELECT \"Shared Folders/Team\"\r\n",
                b"a LIST \"\" \"Other Users/jane\"\r\n",
            ] {
                assert_eq!(rewritten(view, &DOVECOT, same), same);
            }
            let plain = BackendProfile::default();
            let select = b"a SELECT \"Other Users/jane\"\r\n";
            assert_eq!(rewritten(view, &plain, select), select);
        });
    }

    #[test]
    fn a_dovecot_backends_names_are_read_back() {
        with_view(|view| {
            let status = b"* STATUS \"Other Users/jane/INBOX\" (MESSAGES 2)\r\n";
            assert_eq!(
                status_for_client(view, &DOVECOT, status).as_deref(),
                Some(&b"* STATUS \"Other Users/jane\" (MESSAGES 2)\r\n"[..])
            );
            let sent = b"* STATUS \"Other Users/jane/Sent\" (MESSAGES 2)\r\n";
            assert_eq!(status_for_client(view, &DOVECOT, sent), None);
            assert_eq!(
                status_for_client(view, &BackendProfile::default(), status),
                None
            );
            assert_eq!(status_for_client(view, &DOVECOT, b"* 3 EXISTS\r\n"), None);
            let read = |name: &[u8]| from_backend(view, &DOVECOT, name).unwrap_or(name).to_vec();
            assert_eq!(read(b"Other Users/jane/INBOX"), b"Other Users/jane");
            for same in [
                &b"Other Users/jane/Sent"[..],
                b"INBOX",
                b"Archive/INBOX",
                b"Other Users/jane/Sent/INBOX",
                b"/INBOX",
                b"Shared Folders/INBOX",
            ] {
                assert_eq!(read(same), same);
            }
            let listed = Subscriptions::from_names([
                b"Other Users/jane/INBOX".to_vec(),
                b"Other Users/jane/Sent".to_vec(),
            ]);
            let read = subscriptions_from_backend(view, &DOVECOT, listed.clone());
            let names: Vec<&[u8]> = read.names().collect();
            assert_eq!(names, [&b"Other Users/jane"[..], b"Other Users/jane/Sent"]);
            let plain = BackendProfile::default();
            assert_eq!(
                subscriptions_from_backend(view, &plain, listed.clone()),
                listed
            );
        });
    }
}
