//! Where a relayed command goes: the backend server that holds the mailbox it names.
//!
//! SELECT, EXAMINE, STATUS, APPEND, DELETE, RENAME, SETACL, DELETEACL, the quota and metadata
//! commands go to the server of the mailbox they name ([`View::resolve`]); CREATE to the server
//! of the nearest existing parent (where RENAME's new name belongs too: a RENAME whose new
//! name's parent lives on another backend than the mailbox is refused `NO [CANNOT]`, as
//! moving a mailbox between backends is not done), else, for an administrator's new user INBOX, the server
//! the placement policy picks ([`crate::placement`]), else the user's INBOX server; SUBSCRIBE, UNSUBSCRIBE and
//! server-wide metadata to the INBOX server; COPY and MOVE stay on the selected server when
//! the destination lives there, and are done by the proxy itself when it lives on another
//! ([`Destination::Transfer`], after the table's ACL granted `i` on it); everything else goes to the selected server, or the INBOX server when nothing is selected
//! (so a FETCH with no mailbox gets the backend's own answer). LIST, LSUB and the ACL reads
//! are answered from the table and never come here.
//!
//! The perimeter checks the table's ACL before a backend is touched, and answers as a backend
//! would: SELECT, EXAMINE and STATUS need `r`, APPEND `i` (as the COPY and MOVE destinations
//! of a transfer), DELETE `x`, RENAME `x` on the mailbox and `k` on the new name's parent
//! (RFC 4314), and a new name the table has already is `[ALREADYEXISTS]`; a mailbox the user may not see (`l`) does not exist for them
//! (`[NONEXISTENT]`, `[TRYCREATE]` for APPEND), one they see without the right is `[NOPERM]`.

use corvid_mupdate::table::{EntryRef, State};
use corvid_proto::acl::Rights;
use corvid_proto::imap::command::{Args, CommandHead, CommandKind};
use corvid_proto::imap::response::Code;
use corvid_proto::lex::AString;
use corvid_proto::mailbox::name::is_inbox;

use corvid_mupdate::view::{LookupError, View};

use super::SessionConfig;

/// Why a command is not relayed: each is answered `tag NO [code] text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The table says no (invalid name, no such mailbox, reserved).
    #[error(transparent)]
    Lookup(#[from] LookupError),
    /// The destination of an APPEND, COPY or MOVE does not exist (RFC 3501 asks TRYCREATE).
    #[error("mailbox does not exist")]
    TryCreate,
    /// The new name of a RENAME exists already.
    #[error("mailbox already exists")]
    AlreadyExists,
    /// The new name of a RENAME belongs on another backend than the mailbox.
    #[error("the new name belongs on backend {0}: mailboxes are not moved between backends")]
    AcrossBackends(Box<str>),
}

/// Where a command the proxy does not answer itself goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Destination {
    /// Relayed to this server.
    Relay(Box<str>),
    /// A COPY or MOVE into a mailbox on this server, not the selected mailbox's: the proxy
    /// carries the messages over itself (`session/transfer.rs`).
    Transfer(Box<str>),
}

impl Refusal {
    /// The response code and text of the tagged NO.
    pub fn answer(&self) -> (Option<Code<'static>>, String) {
        let code = match self {
            Refusal::Lookup(error) => error.code(),
            Refusal::TryCreate => Some(Code::TryCreate),
            Refusal::AlreadyExists => Some(Code::AlreadyExists),
            Refusal::AcrossBackends(_) => Some(Code::Other {
                atom: b"CANNOT",
                argument: None,
            }),
        };
        (code, self.to_string())
    }
}

/// The server a command goes to (see the module doc).
pub(super) fn destination(
    head: &CommandHead<'_>,
    view: &View<'_>,
    selected: Option<&str>,
    config: &SessionConfig,
) -> Result<Destination, Refusal> {
    if let (_, Args::Copy { mailbox, .. }) = (head.kind, head.args) {
        return copy_destination(view, &mailbox, selected);
    }
    relay_destination(head, view, selected, config).map(Destination::Relay)
}

/// Where a COPY or MOVE into `mailbox` goes: to the selected server when the mailbox lives
/// there (the backend checks the rights), else to the proxy, which needs `i` on the mailbox.
fn copy_destination(
    view: &View<'_>,
    mailbox: &AString<'_>,
    selected: Option<&str>,
) -> Result<Destination, Refusal> {
    let target = view
        .resolve(&mailbox.to_vec())
        .map_err(|error| missing_is_trycreate(error.into()))?;
    let server = server_name(target.server());
    match selected {
        Some(current) if current != &*server => {
            if !target.rights.intersects(Rights::REVEAL_EXISTENCE) {
                Err(Refusal::TryCreate)
            } else if !target.rights.contains(Rights::INSERT) {
                Err(LookupError::PermissionDenied.into())
            } else {
                Ok(Destination::Transfer(server))
            }
        }
        _ => Ok(Destination::Relay(server)),
    }
}

/// The server a relayed command other than COPY and MOVE goes to.
fn relay_destination(
    head: &CommandHead<'_>,
    view: &View<'_>,
    selected: Option<&str>,
    config: &SessionConfig,
) -> Result<Box<str>, Refusal> {
    let inbox = || Ok(server_name(view.inbox_server()?));
    let server =
        |name: &AString<'_>| Ok::<_, Refusal>(server_name(view.resolve(&name.to_vec())?.server()));
    let needing = |name: &AString<'_>, rights: Rights| {
        Ok::<_, Refusal>(server_name(
            view.resolve_with(&name.to_vec(), rights)?.server(),
        ))
    };
    match (head.kind, head.args) {
        (CommandKind::Create, Args::Mailbox(name)) => parent_server(view, &name)
            .or_else(|| new_user_server(view, &name, config))
            .map_or_else(inbox, Ok),
        (CommandKind::Select | CommandKind::Examine | CommandKind::Status, Args::Mailbox(name)) => {
            needing(&name, Rights::READ)
        }
        (CommandKind::Append, Args::Mailbox(name)) => {
            needing(&name, Rights::INSERT).map_err(missing_is_trycreate)
        }
        (CommandKind::Delete, Args::Mailbox(name)) => needing(&name, Rights::DELETE_MAILBOX),
        (CommandKind::Subscribe | CommandKind::Unsubscribe, _) => inbox(),
        (_, Args::Mailbox(name)) => server(&name),
        (_, Args::Rename { from, to }) => rename_server(view, &from, &to),
        (_, Args::Acl { mailbox, .. }) => server(&mailbox),
        (_, Args::GetMetadata { mailbox, .. }) if mailbox.is_empty() => inbox(),
        (_, Args::GetMetadata { mailbox, .. }) => server(&mailbox),
        _ => selected.map(Into::into).map_or_else(inbox, Ok),
    }
}

fn server_name(server: &[u8]) -> Box<str> {
    String::from_utf8_lossy(server).into()
}

/// A missing destination of APPEND, COPY or MOVE is answered `[TRYCREATE]`.
fn missing_is_trycreate(refusal: Refusal) -> Refusal {
    match refusal {
        Refusal::Lookup(LookupError::NonExistent) => Refusal::TryCreate,
        other => other,
    }
}

/// The server an administrator's CREATE of a new user's INBOX goes to, by the placement policy.
fn new_user_server(
    view: &View<'_>,
    name: &AString<'_>,
    config: &SessionConfig,
) -> Option<Box<str>> {
    let internal = view.internal_name(&name.to_vec()).ok()?;
    if !view.viewer.is_admin() || !is_inbox(internal.as_bytes()) {
        return None;
    }
    config.placement.choose(view.table, &config.servers)
}

/// The server of the nearest existing parent of the mailbox `name` would create, if any.
fn parent_server(view: &View<'_>, name: &AString<'_>) -> Option<Box<str>> {
    let internal = view.internal_name(&name.to_vec()).ok()?;
    nearest_parent(view, &internal).map(|parent| server_name(parent.server()))
}

/// The nearest active parent of internal name `internal` in the table, if any.
fn nearest_parent<'t>(view: &View<'t>, internal: &str) -> Option<EntryRef<'t>> {
    let mut parent = internal;
    while let Some(dot) = parent.rfind('.') {
        parent = &parent[..dot];
        if let Some(entry) = view.table.get(parent.as_bytes())
            && entry.state == State::Active
        {
            return Some(entry);
        }
    }
    None
}

/// The server a RENAME of `from` to `to` goes to: the mailbox's, which needs `x` on it, `k`
/// on the new name's parent, a new name nobody has, and a parent (if any) on the same server.
fn rename_server(
    view: &View<'_>,
    from: &AString<'_>,
    to: &AString<'_>,
) -> Result<Box<str>, Refusal> {
    let source = view.resolve_with(&from.to_vec(), Rights::DELETE_MAILBOX)?;
    let new = view
        .internal_name(&to.to_vec())
        .map_err(LookupError::from)?;
    if view.table.get(new.as_bytes()).is_some() {
        return Err(Refusal::AlreadyExists);
    }
    let server = server_name(source.server());
    match nearest_parent(view, &new) {
        Some(parent) if !view.viewer.rights(&parent).contains(Rights::CREATE) => {
            Err(LookupError::PermissionDenied.into())
        }
        Some(parent) if parent.server() != server.as_bytes() => {
            Err(Refusal::AcrossBackends(server_name(parent.server())))
        }
        _ => Ok(server),
    }
}
