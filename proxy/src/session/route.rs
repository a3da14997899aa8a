//! Where a command goes: the backend server that holds the mailbox it names, from the table.
//!
//! SELECT, EXAMINE, STATUS, APPEND, DELETE, RENAME, the ACL, quota and metadata commands go to
//! the server of the mailbox they name; CREATE to the server of the nearest existing parent
//! (else the user's INBOX server); SUBSCRIBE, UNSUBSCRIBE, LSUB and LIST to the INBOX server;
//! COPY and MOVE stay on the selected server; everything else goes to the selected server, or
//! the INBOX server when nothing is selected (so a FETCH with no mailbox gets the backend's own
//! answer).

use corvid_mupdate::table::{MailboxTable, State};
use corvid_proto::imap::command::{Args, CommandHead, CommandKind};
use corvid_proto::imap::response::Code;
use corvid_proto::lex::AString;
use corvid_proto::mailbox::name::{NameError, Namespace, User};

/// Why a command is not relayed: each is answered `tag NO [code] text`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No user is logged in.
    #[error("Please log in first")]
    NotLoggedIn,
    /// The name cannot be a mailbox in this namespace.
    #[error("Invalid mailbox name: {0}")]
    InvalidName(#[from] NameError),
    /// The table has no such mailbox.
    #[error("Mailbox does not exist")]
    NonExistent,
    /// The destination of an APPEND, COPY or MOVE does not exist (RFC 3501 asks TRYCREATE).
    #[error("Mailbox does not exist")]
    TryCreate,
    /// The mailbox is reserved: a CREATE or a move is under way.
    #[error("Mailbox is being created or moved; try again")]
    Reserved,
    /// The user has no INBOX in the murder.
    #[error("No INBOX for this user in the murder")]
    NoInbox,
    /// COPY or MOVE between mailboxes on two backends.
    #[error("COPY and MOVE between backends are not supported yet")]
    CrossBackend,
}

impl Refusal {
    /// The response code and text of the tagged NO.
    pub fn answer(&self) -> (Code<'static>, String) {
        let code = match self {
            Refusal::NotLoggedIn | Refusal::InvalidName(_) => Code::Other {
                atom: b"CANNOT",
                argument: None,
            },
            Refusal::NonExistent | Refusal::NoInbox => Code::NonExistent,
            Refusal::TryCreate => Code::TryCreate,
            Refusal::Reserved => Code::Unavailable,
            Refusal::CrossBackend => Code::Other {
                atom: b"CANNOT",
                argument: None,
            },
        };
        (code, self.to_string())
    }
}

/// The server of `user`'s INBOX, if the table has it active.
pub(super) fn inbox_server(
    table: &MailboxTable,
    namespace: &Namespace,
    user: &User,
) -> Option<String> {
    let internal = namespace.to_internal(user, b"INBOX").ok()?;
    let entry = table.get(internal.as_bytes())?;
    (entry.state == State::Active).then(|| String::from_utf8_lossy(entry.server()).into_owned())
}

/// The server a command goes to (see the module doc).
pub(super) fn destination(
    head: &CommandHead<'_>,
    table: &MailboxTable,
    namespace: &Namespace,
    user: &User,
    selected: Option<&str>,
) -> Result<Box<str>, Refusal> {
    let inbox = || {
        inbox_server(table, namespace, user)
            .map(Into::into)
            .ok_or(Refusal::NoInbox)
    };
    let server = |name: &AString<'_>, missing: Refusal| {
        mailbox_server(table, namespace, user, name, missing)
    };
    match (head.kind, head.args) {
        (CommandKind::Create, Args::Mailbox(name)) => {
            parent_server(table, namespace, user, &name).map_or_else(inbox, Ok)
        }
        (CommandKind::Append, Args::Mailbox(name)) => server(&name, Refusal::TryCreate),
        (
            CommandKind::Subscribe
            | CommandKind::Unsubscribe
            | CommandKind::Lsub
            | CommandKind::List,
            _,
        ) => inbox(),
        (_, Args::Mailbox(name)) => server(&name, Refusal::NonExistent),
        (_, Args::Rename { from, .. }) => server(&from, Refusal::NonExistent),
        (_, Args::Acl { mailbox, .. }) => server(&mailbox, Refusal::NonExistent),
        (_, Args::GetMetadata { mailbox, .. }) if mailbox.is_empty() => inbox(),
        (_, Args::GetMetadata { mailbox, .. }) => server(&mailbox, Refusal::NonExistent),
        (_, Args::Copy { mailbox, .. }) => {
            let target = server(&mailbox, Refusal::TryCreate)?;
            match selected {
                Some(current) if current != &*target => Err(Refusal::CrossBackend),
                _ => Ok(target),
            }
        }
        _ => selected.map(Into::into).map_or_else(inbox, Ok),
    }
}

/// The internal name of a mailbox argument.
fn internal(namespace: &Namespace, user: &User, name: &AString<'_>) -> Result<String, Refusal> {
    Ok(namespace.to_internal(user, &name.to_vec())?)
}

/// The server holding the mailbox `name`; `missing` when the table does not have it.
fn mailbox_server(
    table: &MailboxTable,
    namespace: &Namespace,
    user: &User,
    name: &AString<'_>,
    missing: Refusal,
) -> Result<Box<str>, Refusal> {
    let internal = internal(namespace, user, name)?;
    let entry = table.get(internal.as_bytes()).ok_or(missing)?;
    if entry.state == State::Reserved {
        return Err(Refusal::Reserved);
    }
    Ok(String::from_utf8_lossy(entry.server()).into())
}

/// The server of the nearest existing parent of the mailbox `name` would create, if any.
fn parent_server(
    table: &MailboxTable,
    namespace: &Namespace,
    user: &User,
    name: &AString<'_>,
) -> Option<Box<str>> {
    let internal = internal(namespace, user, name).ok()?;
    let mut parent = internal.as_str();
    while let Some(dot) = parent.rfind('.') {
        parent = &parent[..dot];
        if let Some(entry) = table.get(parent.as_bytes())
            && entry.state == State::Active
        {
            return Some(String::from_utf8_lossy(entry.server()).into());
        }
    }
    None
}
