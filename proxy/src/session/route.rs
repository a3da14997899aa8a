//! Where a relayed command goes: the backend server that holds the mailbox it names.
//!
//! SELECT, EXAMINE, STATUS, APPEND, DELETE, RENAME, SETACL, DELETEACL, the quota and metadata
//! commands go to the server of the mailbox they name ([`View::resolve`]); CREATE to the server
//! of the nearest existing parent (where RENAME's new name belongs too: a RENAME whose new
//! name's parent lives on another backend than the mailbox, or whose third argument, an
//! administrator's only, names another server, moves the mailbox there,
//! [`Destination::Relocate`]), else, for an administrator's new user INBOX, the server
//! the placement policy picks ([`crate::placement`]), else the user's INBOX server; SUBSCRIBE, UNSUBSCRIBE and
//! server-wide metadata to the INBOX server; COPY and MOVE stay on the selected server when
//! the destination lives there, and are done by the proxy itself when it lives on another
//! ([`Destination::Transfer`], after the table's ACL granted `i` on it); LOCALCREATE and
//! LOCALDELETE, a frontend's own commands to a backend, are refused; everything else goes to the selected server, or the INBOX server when nothing is selected
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
    /// A RENAME's third argument (the server to move the mailbox to) from a user who is not an
    /// administrator: Cyrus's frontend answers so.
    #[error("Permission denied")]
    NotAdmin,
    /// A RENAME's third argument names no backend server the proxy knows.
    #[error("no backend server is named {0}")]
    UnknownServer(Box<str>),
    /// A RENAME to another backend that the proxy does not do (see `session/relocate.rs`).
    #[error("{0}")]
    CannotMove(&'static str),
    /// A command only a frontend sends a backend (LOCALCREATE, LOCALDELETE).
    #[error("{0} is the frontend's own command")]
    FrontendOnly(&'static str),
}

/// Where a command the proxy does not answer itself goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Destination {
    /// Relayed to this server.
    Relay(Box<str>),
    /// A COPY or MOVE into a mailbox on this server, not the selected mailbox's: the proxy
    /// carries the messages over itself (`session/transfer.rs`).
    Transfer(Box<str>),
    /// A RENAME that moves the mailbox from the first server to the second: the proxy does it
    /// (`session/relocate.rs`).
    Relocate {
        /// The mailbox's server.
        source: Box<str>,
        /// The server its new name goes to.
        target: Box<str>,
    },
}

impl Refusal {
    /// The response code and text of the tagged NO.
    pub fn answer(&self) -> (Option<Code<'static>>, String) {
        let code = match self {
            Refusal::Lookup(error) => error.code(),
            Refusal::TryCreate => Some(Code::TryCreate),
            Refusal::AlreadyExists => Some(Code::AlreadyExists),
            Refusal::NotAdmin => None,
            Refusal::UnknownServer(_) | Refusal::CannotMove(_) | Refusal::FrontendOnly(_) => {
                Some(Code::Other {
                    atom: b"CANNOT",
                    argument: None,
                })
            }
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
    match (head.kind, head.args) {
        (_, Args::Copy { mailbox, .. }) => return copy_destination(view, &mailbox, selected),
        (CommandKind::Rename, Args::Rename { from, to, location }) => {
            return rename_destination(view, &from, &to, location, config);
        }
        (CommandKind::LocalCreate | CommandKind::LocalDelete, _) => {
            return Err(Refusal::FrontendOnly(head.kind.as_str()));
        }
        _ => {}
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

/// Where a RENAME of `from` to `to` goes: the mailbox's server, which needs `x` on it, `k` on
/// the new name's parent, and a new name nobody has; or, when the new name's parent lives on
/// another server, or an administrator's `location` names one, a move there (where the new
/// name may exist already: an interrupted move is resumed, `session/relocate.rs`).
fn rename_destination(
    view: &View<'_>,
    from: &AString<'_>,
    to: &AString<'_>,
    location: Option<AString<'_>>,
    config: &SessionConfig,
) -> Result<Destination, Refusal> {
    if location.is_some() && !view.viewer.is_admin() {
        return Err(Refusal::NotAdmin);
    }
    // An administrator moving a mailbox to a server needs no right on it (Cyrus's XFER).
    let source_entry = match location {
        Some(_) => view.resolve(&from.to_vec())?,
        None => view.resolve_with(&from.to_vec(), Rights::DELETE_MAILBOX)?,
    };
    let source = server_name(source_entry.server());
    let new = view
        .internal_name(&to.to_vec())
        .map_err(LookupError::from)?;
    let same_name = view
        .internal_name(&from.to_vec())
        .is_ok_and(|old| old == new);
    let parent = nearest_parent(view, &new);
    if let Some(parent) = &parent
        && !(same_name && location.is_some())
        && !view.viewer.rights(parent).contains(Rights::CREATE)
    {
        return Err(LookupError::PermissionDenied.into());
    }
    let location_given = location.is_some();
    let target = match location {
        Some(location) => {
            let location = location.to_vec();
            let server = location.split(|&b| b == b'!').next().unwrap_or_default();
            let server = server_name(server);
            if !config.servers.contains(&server) {
                return Err(Refusal::UnknownServer(server));
            }
            server
        }
        None => parent.map_or_else(|| source.clone(), |parent| server_name(parent.server())),
    };
    // An administrator's `RENAME old old server`: the tree moves under its own name (and
    // may be at the target in part or whole already: an interrupted move is resumed).
    if same_name && location_given {
        // The root may have been moved already, the rest of the tree not.
        let source = view
            .table
            .subtree(new.as_bytes())
            .map(|entry| server_name(entry.server()))
            .find(|server| *server != target)
            .unwrap_or(source);
        return Ok(Destination::Relocate { source, target });
    }
    let existing = view.table.get(new.as_bytes());
    if target == source {
        return match existing {
            Some(_) => Err(Refusal::AlreadyExists),
            None => Ok(Destination::Relay(source)),
        };
    }
    if existing.is_some_and(|entry| entry.server() != target.as_bytes()) {
        return Err(Refusal::AlreadyExists);
    }
    Ok(Destination::Relocate { source, target })
}
