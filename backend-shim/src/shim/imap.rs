//! IMAP discovery: a backend's mailboxes and ACLs read over IMAP by an administrator who sees
//! every mailbox, as a [`BackendView`].
//!
//! For an IMAP server with such a login: Cyrus (a user in its `admins`), corvid's reference
//! backend (`corvid backend --admin NAME`). Dovecot has no such user; its shim reads `doveadm`
//! ([`super::dovecot`]). One session, blocking std TCP, plain text: the shim runs beside the
//! backend, on loopback or a trusted network, so neither STARTTLS nor implicit TLS is offered.
//!
//! 1. `LOGIN` as the admin (name and password as quoted strings: printable ASCII).
//! 2. `NAMESPACE`, whose three answers say how the names the admin sees map to Cyrus internal
//!    names ([`AdminNamespace`]).
//! 3. `LIST "" "*"`; a `\Noselect` or `\NonExistent` name is no mailbox and is skipped.
//! 4. `GETACL` for every mailbox, pipelined ([`WINDOW`] commands in flight), so that a backend
//!    of 10,000 mailboxes is read in seconds.
//!
//! A name the namespace cannot map, and a mailbox whose `GETACL` is refused or unreadable, is
//! [`Unmapped`]: reported, never pushed, its master entry left alone. Anything else that goes
//! wrong (the connection, a refused login, NAMESPACE or LIST, a response that does not parse)
//! fails the whole discovery, naming the command: a partial view would remove mailboxes from
//! the master. Each read waits at most the configured timeout; a response message may not
//! exceed [`MAX_MESSAGE`] bytes, nor the LIST [`MAX_MAILBOXES`] names.
//!
//! # Names
//!
//! The names are mapped with corvid's [`Namespace`], configured from what NAMESPACE says:
//!
//! * the alternate namespace (corvid's reference backend; Cyrus's `altnamespace` for a user):
//!   `(("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))`: `Other Users/john/Sent`
//!   is `user.john.Sent`, `Shared Folders/lists` is `lists`, and the admin's own `Sent` is
//!   `user.admin.Sent`;
//! * the standard namespace, shared folders at the top (a Cyrus admin, who never gets the
//!   alternate one): `NIL (("user/" "/")) (("" "/"))`: `user/john/Sent` is `user.john.Sent`,
//!   `lists` is `lists`, and `INBOX` (an admin's own, if any) is `user.admin`.
//!
//! The separator must be `/` (a `.` in a name is then stored as `^`) or `.`. Virtual domains
//! are not supported: an admin sees one domain's names the same way, without it.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use corvid_mupdate::imap_client::{ImapClient, ImapClientError, refusal, refuse_bye};
use corvid_proto::acl::{Acl, AclError, Rights};
use corvid_proto::imap::response::{Response, StatusKind, Untagged, classify};
use corvid_proto::lex::{self, AString};
use corvid_proto::mailbox::mutf7;
use corvid_proto::mailbox::{
    NameError, Namespace, NamespaceConfig, NamespaceError, Separator, User,
};

use super::agent::Credentials;
use super::reconcile::{BackendMailbox, BackendView, Origin, Unmapped};

/// How many `GETACL` commands are in flight at once.
pub const WINDOW: usize = 64;
/// The largest response message read (a line and its literals): names and ACLs are short.
pub const MAX_MESSAGE: usize = 256 << 10;
/// The most names a LIST may return.
pub const MAX_MAILBOXES: usize = 1_000_000;
/// How many bytes of a response an error message quotes.
const QUOTED: usize = 120;

/// Why an IMAP discovery failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The connection, or a command of the discovery, failed.
    #[error(transparent)]
    Client(#[from] ImapClientError),
    /// The admin's name or password cannot be sent with LOGIN.
    #[error("the admin's name and password must be printable ASCII")]
    Credentials,
    /// The admin's name cannot name a mailbox tree, so its own mailboxes cannot be mapped.
    #[error("the admin's name: {0}")]
    AdminName(NameError),
    /// The namespace the server shows cannot be mapped.
    #[error("NAMESPACE: {0}")]
    Namespace(#[from] NamespaceShapeError),
    /// The LIST returned more names than [`MAX_MAILBOXES`].
    #[error("LIST: more than {MAX_MAILBOXES} mailboxes")]
    TooManyMailboxes,
}

/// Why a NAMESPACE answer gives no mapping to internal names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespaceShapeError {
    /// It does not parse.
    #[error("malformed response {0:?}")]
    Malformed(String),
    /// No other users' namespace: the login is no admin, or the server has no such view.
    #[error("no other users' namespace: is the login an admin?")]
    NoOtherUsers,
    /// No shared namespace.
    #[error("no shared namespace")]
    NoShared,
    /// A separator other than `/` and `.`, or none.
    #[error("hierarchy separator {0:?}: only \"/\" and \".\" are supported")]
    Separator(Option<char>),
    /// A prefix that does not end in the separator, or another personal prefix than `""` or
    /// `INBOX` and the separator.
    #[error("unsupported {which} prefix {prefix:?}")]
    Prefix {
        /// Which namespace.
        which: &'static str,
        /// Its prefix.
        prefix: String,
    },
    /// Personal and shared folders both at the top level: a name could be either.
    #[error("personal and shared folders are both at the top level")]
    Ambiguous,
    /// The prefixes make no valid corvid namespace.
    #[error(transparent)]
    Config(#[from] NamespaceError),
}

/// Why a `* ACL` answer has no Cyrus form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclResponseError {
    /// The identifier and rights pairs do not parse.
    #[error("malformed ACL response")]
    Malformed,
    /// An identifier a Cyrus ACL string cannot hold (empty, or with a control byte).
    #[error("identifier {0:?} has no Cyrus form")]
    Identifier(String),
    /// A right Cyrus does not know.
    #[error(transparent)]
    Acl(#[from] AclError),
}

/// How the names an admin sees map to internal names, from the server's NAMESPACE answer
/// (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminNamespace {
    namespace: Namespace,
    /// Shared folders are at the top level (prefix `""`): their names are mapped under the
    /// namespace's shared prefix, which then only stands for that.
    shared_at_top: bool,
}

/// One namespace of a NAMESPACE answer: its prefix and delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Described {
    prefix: Vec<u8>,
    delimiter: Option<u8>,
}

impl AdminNamespace {
    /// The mapping for a NAMESPACE answer: the three lists, as the response classifier gives
    /// them (`(("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))`). Only the first
    /// namespace of each list counts.
    pub fn from_response(lists: &[u8]) -> Result<AdminNamespace, NamespaceShapeError> {
        let malformed = || NamespaceShapeError::Malformed(quote(lists));
        let [personal, other, shared] = parse_namespace(lists).ok_or_else(malformed)?;
        let other = other.ok_or(NamespaceShapeError::NoOtherUsers)?;
        let shared = shared.ok_or(NamespaceShapeError::NoShared)?;
        let separator = match other.delimiter {
            Some(b'/') => Separator::Slash,
            Some(b'.') => Separator::Dot,
            delimiter => return Err(NamespaceShapeError::Separator(delimiter.map(char::from))),
        };
        let sep = separator.byte();
        let prefix_error = |which, prefix: &[u8]| NamespaceShapeError::Prefix {
            which,
            prefix: String::from_utf8_lossy(prefix).into_owned(),
        };
        // A prefix is a component and the separator (the shared one may be empty).
        let component = |which, described: &Described| match described.prefix.split_last() {
            None => Ok(None),
            Some((&last, component))
                if last == sep && described.delimiter == Some(sep) && !component.is_empty() =>
            {
                String::from_utf8(component.to_vec())
                    .map(Some)
                    .map_err(|_| prefix_error(which, &described.prefix))
            }
            Some(_) => Err(prefix_error(which, &described.prefix)),
        };
        let other_users_prefix = component("other users'", &other)?
            .ok_or_else(|| prefix_error("other users'", &other.prefix))?;
        let personal_at_top = match &personal {
            None => false,
            Some(personal) => match component("personal", personal)? {
                None => true,
                Some(inbox) if inbox.eq_ignore_ascii_case("INBOX") => false,
                Some(_) => return Err(prefix_error("personal", &personal.prefix)),
            },
        };
        let (shared_prefix, shared_at_top) = match component("shared", &shared)? {
            Some(prefix) => (prefix, false),
            None if personal_at_top => return Err(NamespaceShapeError::Ambiguous),
            // Stands for the top level only: every top-level name is mapped under it.
            None if other_users_prefix == "#shared" => ("#public".to_owned(), true),
            None => ("#shared".to_owned(), true),
        };
        let namespace = Namespace::new(NamespaceConfig {
            separator,
            other_users_prefix,
            shared_prefix,
            virtual_domains: false,
        })?;
        Ok(AdminNamespace {
            namespace,
            shared_at_top,
        })
    }

    /// The corvid namespace the names are mapped with.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// The internal name of `listed`, a name `admin` sees (modified UTF-7, as LIST sends it).
    /// A namespace root (`Other Users`) is [`NameError::NamespaceRoot`].
    pub fn internal(&self, admin: &User, listed: &[u8]) -> Result<String, NameError> {
        let config = self.namespace.config();
        let sep = config.separator.byte();
        let first = listed.split(|&b| b == sep).next().unwrap_or_default();
        let elsewhere =
            first.eq_ignore_ascii_case(b"INBOX") || first == config.other_users_prefix.as_bytes();
        if self.shared_at_top && !elsewhere {
            let mut under_shared = config.shared_prefix.as_bytes().to_vec();
            under_shared.push(sep);
            under_shared.extend_from_slice(listed);
            return self.namespace.to_internal(admin, &under_shared);
        }
        self.namespace.to_internal(admin, listed)
    }
}

/// The first namespace of each of NAMESPACE's three lists (`None` for `NIL`).
fn parse_namespace(lists: &[u8]) -> Option<[Option<Described>; 3]> {
    // The lexer's parsers are streaming: a line end tells them where the input stops.
    let input = [lists, b"\r\n"].concat();
    let mut i = input.as_slice();
    let mut next = || -> Option<Option<Described>> {
        let (rest, list) = namespace_list(i)?;
        i = rest.strip_prefix(b" ").unwrap_or(rest);
        Some(list)
    };
    let lists = [next()?, next()?, next()?];
    (i == b"\r\n").then_some(lists)
}

/// `NIL`, or `(` one or more `("prefix" "delimiter" extensions…)` `)`: the first namespace.
fn namespace_list(i: &[u8]) -> Option<(&[u8], Option<Described>)> {
    if let Some(rest) = strip_nil(i) {
        return Some((rest, None));
    }
    let mut i = i.strip_prefix(b"(")?;
    let mut first = None;
    while let Some(rest) = i.strip_prefix(b"(") {
        let (rest, prefix) = lex::string(rest).ok()?;
        let rest = rest.strip_prefix(b" ")?;
        let (mut rest, delimiter) = match strip_nil(rest) {
            Some(rest) => (rest, None),
            None => {
                let (rest, quoted) = lex::quoted(rest).ok()?;
                let delimiter = match quoted {
                    [b'\\', escaped] | [escaped] => *escaped,
                    _ => return None,
                };
                (rest, Some(delimiter))
            }
        };
        // Extensions: ` "NAME" ("value" ...)`.
        while let Some(after) = rest.strip_prefix(b" ") {
            let (after, _) = lex::string(after).ok()?;
            let mut after = after.strip_prefix(b" (")?;
            loop {
                let (value_end, _) = lex::string(after).ok()?;
                match value_end.strip_prefix(b" ") {
                    Some(more) => after = more,
                    None => {
                        after = value_end.strip_prefix(b")")?;
                        break;
                    }
                }
            }
            rest = after;
        }
        i = rest.strip_prefix(b")")?;
        first.get_or_insert(Described {
            prefix: prefix.to_vec(),
            delimiter,
        });
    }
    let i = i.strip_prefix(b")")?;
    first.map(|first| (i, Some(first)))
}

/// The input after a leading `NIL` (any case), if it starts with one.
fn strip_nil(i: &[u8]) -> Option<&[u8]> {
    let (nil, rest) = i.split_at_checked(3)?;
    nil.eq_ignore_ascii_case(b"NIL").then_some(rest)
}

/// The Cyrus ACL string of a `* ACL` answer's pairs (`alice lrswipkxtecdan bob lr`), the
/// rights in Cyrus's written form, so that the same ACL always gives the same string.
pub fn cyrus_acl(pairs: &[u8]) -> Result<Vec<u8>, AclResponseError> {
    // The lexer's parsers are streaming: a line end tells them where the input stops.
    let input = [pairs, b"\r\n"].concat();
    let pair = |i| -> Option<(&[u8], (AString<'_>, AString<'_>))> {
        let (i, identifier) = lex::astring(i).ok()?;
        let (i, rights) = lex::astring(i.strip_prefix(b" ")?).ok()?;
        Some((i, (identifier, rights)))
    };
    let mut acl = Vec::new();
    let mut i = input.as_slice();
    while !pairs.is_empty() {
        let (rest, (identifier, rights)) = pair(i).ok_or(AclResponseError::Malformed)?;
        let identifier = identifier.to_vec();
        let bare = identifier.strip_prefix(b"-").unwrap_or(&identifier);
        if bare.is_empty() || identifier.iter().any(u8::is_ascii_control) {
            let shown = String::from_utf8_lossy(&identifier).into_owned();
            return Err(AclResponseError::Identifier(shown));
        }
        let rights = Rights::parse(&rights.to_vec())?;
        if !rights.is_empty() {
            acl.extend_from_slice(&identifier);
            acl.push(b'\t');
            rights.write(&mut acl);
            acl.push(b'\t');
        }
        if rest == b"\r\n" {
            break;
        }
        i = rest.strip_prefix(b" ").ok_or(AclResponseError::Malformed)?;
    }
    Acl::parse(&acl)?;
    Ok(acl)
}

/// The start of `bytes`, for an error message.
fn quote(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.get(..QUOTED).unwrap_or(bytes)).into_owned()
}

/// A mailbox the admin listed, mapped, whose ACL is still to be read.
#[derive(Debug)]
struct Found {
    /// The name as listed (what GETACL is sent).
    listed: Vec<u8>,
    /// Its internal name.
    name: Vec<u8>,
    /// Where the backend keeps it.
    origin: Origin,
}

/// Maps the `listed` names: the mapped ones to read the ACLs of, in order and each internal
/// name once, and the unmapped ones into `view`.
fn map_names(
    namespace: &AdminNamespace,
    admin: &User,
    listed: Vec<Vec<u8>>,
    view: &mut BackendView,
) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::with_capacity(listed.len());
    let mut seen = std::collections::HashSet::new();
    for name in listed {
        let origin = Origin {
            user: admin.to_string(),
            mailbox: mutf7::decode(&name)
                .unwrap_or_else(|_| String::from_utf8_lossy(&name).into_owned()),
        };
        match namespace.internal(admin, &name) {
            Ok(internal) if seen.insert(internal.clone()) => found.push(Found {
                listed: name,
                name: internal.into_bytes(),
                origin,
            }),
            Ok(_) | Err(NameError::NamespaceRoot) => {}
            Err(error) => view.unmapped.push(Unmapped {
                origin,
                name: None,
                reason: format!("name: {error}"),
            }),
        }
    }
    found
}

/// Discovery of an IMAP backend through an admin login (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapAdmin {
    /// The backend, `host:port`.
    pub addr: String,
    /// The admin's login.
    pub credentials: Credentials,
    /// How long connecting, and each read, may wait.
    pub timeout: Duration,
}

impl ImapAdmin {
    /// Everything the backend holds, as the master should see it.
    pub fn discover(&self) -> Result<BackendView, ImapError> {
        let Credentials { user, password } = &self.credentials;
        let printable = |s: &str| !s.is_empty() && s.bytes().all(|b| (b' '..=b'~').contains(&b));
        if !printable(user) || !printable(password) {
            return Err(ImapError::Credentials);
        }
        let mut client = ImapClient::connect(&self.addr, self.timeout, MAX_MESSAGE)?;
        client.login(user, password)?;
        let namespace = namespace(&mut client)?;
        let admin = namespace
            .namespace()
            .user(user)
            .map_err(ImapError::AdminName)?;
        let listed = list(&mut client)?;
        let mut view = BackendView::default();
        let found = map_names(&namespace, &admin, listed, &mut view);
        let acls = getacls(&mut client, found.iter().map(|f| f.listed.as_slice()))?;
        client.logout();
        for (found, acl) in found.into_iter().zip(acls) {
            match acl {
                Ok(acl) => {
                    let origin = found.origin;
                    view.mailboxes
                        .insert(found.name, BackendMailbox { acl, origin });
                }
                Err(reason) => view.unmapped.push(Unmapped {
                    origin: found.origin,
                    name: Some(found.name),
                    reason,
                }),
            }
        }
        Ok(view)
    }
}

/// `NAMESPACE`, mapped.
fn namespace(client: &mut ImapClient) -> Result<AdminNamespace, ImapError> {
    let mut answer = None;
    client.run("NAMESPACE", b"NAMESPACE", |untagged, _| {
        if let Untagged::Namespace(lists) = untagged {
            answer = Some(AdminNamespace::from_response(lists));
        }
        Ok::<(), ImapError>(())
    })?;
    let missing = || NamespaceShapeError::Malformed("no NAMESPACE answer".into());
    Ok(answer.ok_or_else(missing)??)
}

/// `LIST "" "*"`: the names of the selectable mailboxes.
fn list(client: &mut ImapClient) -> Result<Vec<Vec<u8>>, ImapError> {
    let mut names = Vec::new();
    client.run("LIST", b"LIST \"\" \"*\"", |untagged, _| {
        if let Untagged::List(list) = untagged {
            let attributes = list.attributes;
            if attributes.contains(b"\\Noselect") || attributes.contains(b"\\NonExistent") {
                return Ok(());
            }
            if names.len() == MAX_MAILBOXES {
                return Err(ImapError::TooManyMailboxes);
            }
            names.push(list.mailbox.to_vec());
        }
        Ok(())
    })?;
    Ok(names)
}

/// `GETACL` for each of `names`, [`WINDOW`] in flight: each mailbox's Cyrus ACL string, or
/// why it has none.
fn getacls<'n>(
    client: &mut ImapClient,
    names: impl ExactSizeIterator<Item = &'n [u8]>,
) -> Result<Vec<Result<Vec<u8>, String>>, ImapError> {
    let malformed = ImapClientError::malformed;
    // A slot per name, each filled by its command's answer.
    let mut results = vec![Err(String::new()); names.len()];
    let mut names = names.enumerate().peekable();
    // The commands in flight: tag, index and name.
    let mut in_flight: VecDeque<(Vec<u8>, usize, &[u8])> = VecDeque::new();
    // `* ACL` answers of the names in flight.
    let mut answers: HashMap<Vec<u8>, Result<Vec<u8>, AclResponseError>> = HashMap::new();
    while names.peek().is_some() || !in_flight.is_empty() {
        let mut commands = Vec::new();
        while in_flight.len() < WINDOW
            && let Some((index, name)) = names.next()
        {
            let mut command = b"GETACL ".to_vec();
            lex::write_quoted(&mut command, name);
            in_flight.push_back((client.command(&command, &mut commands), index, name));
        }
        client.write("GETACL", &commands)?;
        let message = client.read_message("GETACL")?;
        match classify(&message) {
            Ok((Response::Untagged(Untagged::Acl(data)), _)) => {
                let mailbox = data.mailbox.to_vec();
                if in_flight
                    .iter()
                    .any(|(_, _, name)| *name == mailbox.as_slice())
                {
                    answers.insert(mailbox, cyrus_acl(data.rest));
                }
            }
            Ok((Response::Tagged { tag, status }, _)) => {
                let Some(at) = in_flight.iter().position(|(sent, ..)| sent == tag) else {
                    return Err(malformed("GETACL", &message, "unknown tag").into());
                };
                let Some((_, index, name)) = in_flight.remove(at) else {
                    continue;
                };
                let answer = answers.remove(name);
                let command = format!("GETACL {:?}", String::from_utf8_lossy(name));
                let result = match (status.kind, answer) {
                    (StatusKind::Ok, Some(Ok(acl))) => Ok(acl),
                    (StatusKind::Ok, Some(Err(error))) => Err(format!("{command}: {error}")),
                    (StatusKind::Ok, None) => Err(format!("{command}: no ACL in the answer")),
                    (_, _) => Err(refusal(&command, &status)),
                };
                if let Some(slot) = results.get_mut(index) {
                    *slot = result;
                }
            }
            Ok((Response::Untagged(untagged), _)) => refuse_bye("GETACL", &untagged)?,
            Ok((Response::Continuation { .. }, _)) => {
                return Err(malformed("GETACL", &message, "unexpected continuation").into());
            }
            Err(error) => return Err(malformed("GETACL", &message, &error.to_string()).into()),
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What corvid's reference backend (and Cyrus's `altnamespace` for a user) shows.
    const ALTERNATE: &[u8] =
        b"((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"Shared Folders/\" \"/\"))";
    /// What a Cyrus 3.6 admin is shown with `altnamespace` and `unixhierarchysep` (recorded).
    const CYRUS_ADMIN: &[u8] = b"NIL ((\"user/\" \"/\")) ((\"\" \"/\"))";

    fn map(lists: &[u8], listed: &str) -> Result<String, NameError> {
        let namespace = AdminNamespace::from_response(lists).unwrap();
        let admin = namespace.namespace().user("admin").unwrap();
        namespace.internal(&admin, listed.as_bytes())
    }

    #[test]
    fn the_alternate_namespace_maps_other_users_shared_and_own_names() {
        for (listed, internal) in [
            ("Other Users/john", "user.john"),
            ("Other Users/john/Sent", "user.john.Sent"),
            ("Other Users/john/my.folder", "user.john.my^folder"),
            ("Other Users/john/&ANw-", "user.john.&ANw-"),
            ("Shared Folders/lists", "lists"),
            ("Shared Folders/lists/rust", "lists.rust"),
            // The admin's own mailboxes.
            ("INBOX", "user.admin"),
            ("Sent", "user.admin.Sent"),
            ("INBOX/Drafts", "user.admin.Drafts"),
        ] {
            assert_eq!(map(ALTERNATE, listed).as_deref(), Ok(internal), "{listed}");
        }
        assert_eq!(map(ALTERNATE, "Other Users"), Err(NameError::NamespaceRoot));
        assert_eq!(
            map(ALTERNATE, "Shared Folders"),
            Err(NameError::NamespaceRoot)
        );
        assert!(matches!(
            map(ALTERNATE, "Other Users/john/a^b"),
            Err(NameError::Unrepresentable { byte: b'^', .. })
        ));
        assert!(map(ALTERNATE, "Other Users//x").is_err());
        // Only printable ASCII maps, so only such a name is ever sent back in a GETACL.
        assert!(map(ALTERNATE, "Other Users/john/a\r\nb").is_err());
        assert!(map(ALTERNATE, "Other Users/john/caf\u{e9}").is_err());
    }

    #[test]
    fn the_standard_namespace_maps_user_trees_and_top_level_shared_folders() {
        for (listed, internal) in [
            ("user/john", "user.john"),
            ("user/john/Sent/2024", "user.john.Sent.2024"),
            ("user/john/my.folder", "user.john.my^folder"),
            ("lists", "lists"),
            ("lists/rust", "lists.rust"),
            // A shared folder whose name is a corvid namespace prefix is still one.
            ("Shared Folders", "Shared Folders"),
            ("Shared Folders/lists", "Shared Folders.lists"),
            ("#shared/x", "#shared.x"),
            ("INBOX", "user.admin"),
            ("INBOX/Sent", "user.admin.Sent"),
        ] {
            assert_eq!(
                map(CYRUS_ADMIN, listed).as_deref(),
                Ok(internal),
                "{listed}"
            );
        }
        assert_eq!(map(CYRUS_ADMIN, "user"), Err(NameError::NamespaceRoot));
        // The shared folder `user` cannot exist: internally it is the users' tree.
        // With `.` as the separator (`unixhierarchysep: no`), names are the internal ones.
        let dotted = b"((\"INBOX.\" \".\")) ((\"user.\" \".\")) ((\"\" \".\"))";
        for (listed, internal) in [
            ("user.john.Sent", "user.john.Sent"),
            ("lists.rust", "lists.rust"),
            ("INBOX.Sent", "user.admin.Sent"),
        ] {
            assert_eq!(map(dotted, listed).as_deref(), Ok(internal), "{listed}");
        }
    }

    #[test]
    fn namespace_answers_that_give_no_mapping_are_refused() {
        let refused = |lists: &[u8]| AdminNamespace::from_response(lists).unwrap_err();
        assert_eq!(
            refused(b"((\"\" \"/\")) NIL ((\"Shared Folders/\" \"/\"))"),
            NamespaceShapeError::NoOtherUsers
        );
        assert_eq!(
            refused(b"((\"\" \"/\")) ((\"Other Users/\" \"/\")) NIL"),
            NamespaceShapeError::NoShared
        );
        assert_eq!(
            refused(b"((\"\" \"/\")) ((\"Other Users/\" \"/\")) ((\"\" \"/\"))"),
            NamespaceShapeError::Ambiguous
        );
        assert_eq!(
            refused(b"NIL ((\"~\" \"/\")) ((\"\" \"/\"))"),
            NamespaceShapeError::Prefix {
                which: "other users'",
                prefix: "~".into()
            }
        );
        assert_eq!(
            refused(b"((\"Mail/\" \"/\")) ((\"user/\" \"/\")) ((\"\" \"/\"))"),
            NamespaceShapeError::Prefix {
                which: "personal",
                prefix: "Mail/".into()
            }
        );
        assert_eq!(
            refused(b"NIL ((\"user:\" \":\")) ((\"\" \":\"))"),
            NamespaceShapeError::Separator(Some(':'))
        );
        assert!(matches!(
            refused(b"NIL ((\"INBOX/\" \"/\")) ((\"\" \"/\"))"),
            NamespaceShapeError::Config(_)
        ));
        for malformed in [
            &b""[..],
            b"NIL NIL",
            b"NIL NIL NIL NIL",
            b"(\"\" \"/\") NIL NIL",
            b"((\"\" \"//\")) NIL NIL",
            b"((\"\")) NIL NIL",
            b"(()) NIL NIL",
            b"((\"\" \"/\") NIL NIL",
            b"((\"\" \"/\" \"X\")) NIL NIL",
        ] {
            assert!(
                matches!(refused(malformed), NamespaceShapeError::Malformed(_)),
                "{:?}",
                String::from_utf8_lossy(malformed)
            );
        }
    }

    #[test]
    fn namespace_answers_parse_in_every_legal_form() {
        // Several namespaces per list (the first counts), extensions, a quoted `\\` delimiter,
        // literals, NIL in any case.
        let lists = b"((\"\" \"/\")(\"#mh/\" \"/\" \"X-PARAM\" (\"a\" \"b\"))) \
            ((\"Other Users/\" \"/\" \"X\" (\"y\"))) ((\"Shared Folders/\" \"/\")) ";
        let parsed = parse_namespace(lists.strip_suffix(b" ").unwrap()).unwrap();
        assert_eq!(
            parsed[0],
            Some(Described {
                prefix: b"".to_vec(),
                delimiter: Some(b'/')
            })
        );
        assert_eq!(parsed[1].as_ref().unwrap().prefix, b"Other Users/");
        let odd = parse_namespace(b"nil ((\"a\\\\\" \"\\\\\")) ((\"\" NIL))").unwrap();
        assert_eq!(odd[0], None);
        assert_eq!(
            odd[1],
            Some(Described {
                prefix: b"a\\".to_vec(),
                delimiter: Some(b'\\')
            })
        );
        assert_eq!(odd[2].as_ref().unwrap().delimiter, None);
        let literal = parse_namespace(b"NIL (({5}\r\nuser/ \"/\")) ((\"\" \"/\"))").unwrap();
        assert_eq!(literal[1].as_ref().unwrap().prefix, b"user/");
    }

    #[test]
    fn acl_answers_become_cyrus_strings() {
        assert_eq!(
            cyrus_acl(b"alice lrswipkxtecdan bob lr").unwrap(),
            b"alice\tlrswipkxtecdan\tbob\tlr\t"
        );
        // Rights in Cyrus's written form; legacy letters; negative and group identifiers.
        assert_eq!(
            cyrus_acl(b"anyone srl -carol w \"group:staff\" kxte").unwrap(),
            b"anyone\tlrs\t-carol\tw\tgroup:staff\tkxtecd\t"
        );
        assert_eq!(
            cyrus_acl(b"\"John \\\"J\\\" Doe\" cd").unwrap(),
            b"John \"J\" Doe\tkxtecd\t"
        );
        // No entries, and an entry granting nothing.
        assert_eq!(cyrus_acl(b"").unwrap(), b"");
        assert_eq!(cyrus_acl(b"bob \"\"").unwrap(), b"");
    }

    #[test]
    fn acl_answers_without_a_cyrus_form_are_refused() {
        assert_eq!(cyrus_acl(b"alice"), Err(AclResponseError::Malformed));
        assert_eq!(cyrus_acl(b"alice lr bob"), Err(AclResponseError::Malformed));
        assert_eq!(cyrus_acl(b"alice  lr"), Err(AclResponseError::Malformed));
        assert_eq!(cyrus_acl(b"alice lr "), Err(AclResponseError::Malformed));
        assert!(matches!(
            cyrus_acl(b"alice lrZ"),
            Err(AclResponseError::Acl(AclError::UnknownRight {
                right: b'Z',
                ..
            }))
        ));
        for identifier in [&b"\"\""[..], b"-", b"{5}\r\nx\tl\ty"] {
            let pairs = [identifier, b" r"].concat();
            assert!(
                matches!(cyrus_acl(&pairs), Err(AclResponseError::Identifier(_))),
                "{identifier:?}"
            );
        }
    }

    /// A scripted server on 127.0.0.1 for what the real ones do not do (refuse a GETACL, send
    /// a name as a literal, send rights Cyrus does not know, go silent): it answers each command
    /// line with `answer(tag, command)`. Returns its address.
    fn scripted(answer: fn(&str, &str) -> Option<String>) -> String {
        use std::io::{BufRead, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut writer = stream.try_clone().unwrap();
            writer.write_all(b"* OK scripted\r\n").unwrap();
            for line in std::io::BufReader::new(stream).lines() {
                let line = line.unwrap();
                let (tag, command) = line.split_once(' ').unwrap();
                match answer(tag, command) {
                    Some(text) => writer.write_all(text.as_bytes()).unwrap(),
                    // Silent, the connection kept open.
                    None => std::thread::sleep(Duration::from_secs(5)),
                }
            }
        });
        addr
    }

    fn admin(addr: String, timeout: Duration) -> ImapAdmin {
        ImapAdmin {
            addr,
            credentials: Credentials {
                user: "admin".into(),
                password: "secret \"quoted\"".into(),
            },
            timeout,
        }
    }

    #[test]
    fn refused_and_unreadable_acls_make_their_mailbox_unmapped() {
        let addr = scripted(|tag, command| {
            let answer = match command {
                "LOGIN \"admin\" \"secret \\\"quoted\\\"\"" => String::new(),
                "NAMESPACE" => format!("* NAMESPACE {}\r\n", String::from_utf8_lossy(ALTERNATE)),
                "LIST \"\" \"*\"" => "* LIST (\\Noselect) \"/\" \"Other Users\"\r\n\
                    * LIST () \"/\" {16}\r\nOther Users/john\r\n\
                    * LIST () \"/\" \"Other Users/john/Locked\"\r\n\
                    * LIST () \"/\" \"Other Users/john/Odd\"\r\n\
                    * LIST () \"/\" \"Other Users/john/Quiet\"\r\n"
                    .into(),
                "GETACL \"Other Users/john\"" => {
                    "* ACL \"Other Users/john\" john lrswipkxtecdan\r\n".into()
                }
                "GETACL \"Other Users/john/Locked\"" => {
                    return Some(format!("{tag} NO [NOPERM] not yours\r\n"));
                }
                "GETACL \"Other Users/john/Odd\"" => {
                    "* ACL \"Other Users/john/Odd\" john lrZ\r\n".into()
                }
                "GETACL \"Other Users/john/Quiet\"" => String::new(),
                _ => return Some(format!("{tag} BAD unexpected {command}\r\n")),
            };
            Some(format!("{answer}{tag} OK done\r\n"))
        });
        let view = admin(addr, Duration::from_secs(10)).discover().unwrap();
        let names: Vec<&[u8]> = view.mailboxes.keys().map(Vec::as_slice).collect();
        assert_eq!(names, [&b"user.john"[..]]);
        assert_eq!(
            view.mailboxes[&b"user.john"[..]].acl,
            b"john\tlrswipkxtecdan\t"
        );
        let unmapped: Vec<(&str, &str)> = view
            .unmapped
            .iter()
            .map(|u| (u.origin.mailbox.as_str(), u.reason.as_str()))
            .collect();
        assert_eq!(
            unmapped,
            [
                (
                    "Other Users/john/Locked",
                    "GETACL \"Other Users/john/Locked\": NO not yours"
                ),
                (
                    "Other Users/john/Odd",
                    "GETACL \"Other Users/john/Odd\": unknown right 'Z' at byte 2"
                ),
                (
                    "Other Users/john/Quiet",
                    "GETACL \"Other Users/john/Quiet\": no ACL in the answer"
                ),
            ]
        );
    }

    #[test]
    fn a_silent_server_times_out_and_a_refusal_names_its_command() {
        let silent = scripted(|_, _| None);
        let started = std::time::Instant::now();
        let error = admin(silent, Duration::from_millis(300))
            .discover()
            .unwrap_err();
        assert!(
            matches!(&error, ImapError::Client(ImapClientError::Timeout { command, .. }) if command == "LOGIN"),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));

        let refusing = scripted(|tag, command| {
            Some(match command {
                "NAMESPACE" => "* BYE going away\r\n".into(),
                _ => format!("{tag} OK\r\n"),
            })
        });
        let error = admin(refusing, Duration::from_secs(10))
            .discover()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "NAMESPACE: the server said BYE: going away"
        );

        let no_list = scripted(|tag, command| {
            Some(match command {
                "NAMESPACE" => format!(
                    "* NAMESPACE {}\r\n{tag} OK\r\n",
                    String::from_utf8_lossy(CYRUS_ADMIN)
                ),
                "LIST \"\" \"*\"" => format!("{tag} NO [UNAVAILABLE] try later\r\n"),
                _ => format!("{tag} OK\r\n"),
            })
        });
        let error = admin(no_list, Duration::from_secs(10))
            .discover()
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the server answered NO to LIST: try later"
        );

        let unprintable = ImapAdmin {
            credentials: Credentials {
                user: "admin".into(),
                password: "caf\u{e9}".into(),
            },
            ..admin("127.0.0.1:1".into(), Duration::from_secs(1))
        };
        assert!(matches!(
            unprintable.discover(),
            Err(ImapError::Credentials)
        ));
    }

    #[test]
    fn listed_names_are_mapped_once_and_the_rest_reported() {
        let namespace = AdminNamespace::from_response(ALTERNATE).unwrap();
        let admin = namespace.namespace().user("admin").unwrap();
        let listed = [
            "Other Users/john",
            "Other Users",
            "INBOX",
            "inbox",
            "Other Users/j/a^b",
        ]
        .map(|name| name.as_bytes().to_vec());
        let mut view = BackendView::default();
        let found = map_names(&namespace, &admin, listed.to_vec(), &mut view);
        let names: Vec<&[u8]> = found.iter().map(|f| f.name.as_slice()).collect();
        assert_eq!(names, [&b"user.john"[..], b"user.admin"]);
        assert_eq!(found[0].listed, b"Other Users/john");
        assert_eq!(
            found[0].origin,
            Origin {
                user: "admin".into(),
                mailbox: "Other Users/john".into()
            }
        );
        assert_eq!(view.unmapped.len(), 1);
        assert_eq!(view.unmapped[0].origin.mailbox, "Other Users/j/a^b");
        assert!(view.unmapped[0].reason.starts_with("name: "));
    }
}
