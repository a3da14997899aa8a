//! What the mailbox table says to one user: name resolution, LIST/LSUB, and the ACL answers.
//!
//! Everything here is a pure function of the table, the namespace, the user and the command's
//! arguments (sans-IO): the session calls it and sends the bytes it writes. A [`View`] is one
//! user's look at the table; [`View::resolve`] maps a name the client sent to the entry that
//! routes it, [`View::list`] and [`View::lsub`] answer LIST and LSUB, and [`View::getacl`],
//! [`View::myrights`] and [`View::listrights`] answer RFC 4314's read commands, all without
//! asking a backend (except for the subscriptions, which the session fetches from the user's
//! INBOX backend and hands over as [`Subscriptions`]).
//!
//! # The namespace view
//!
//! Clients see Cyrus's *altnamespace* with `/` as separator (see
//! [`corvid_proto::mailbox::name`]): `INBOX` and the personal folders at top level (`Sent`,
//! `Archive/2024`), other users' mailboxes under `Other Users/jane/...`, shared folders (Cyrus's
//! top-level internal names: `Team` is `Shared Folders/Team`) under `Shared Folders/...`. The
//! two prefixes are namespace roots, not mailboxes: LIST shows them
//! `\Noselect`, as it shows any level that exists only as the parent of something visible
//! (`Other Users/jane` when jane's INBOX is hidden from the user but one of her folders is
//! shared with them). A user sees a mailbox when their effective rights on it hold `l`: the
//! ACL's entries for them, `anyone` and their groups, minus the negative entries, plus the
//! owner's implicit rights on their own tree and an admin's on everything.
//!
//! # Cost
//!
//! Cyrus answers LIST by walking every mailbox of the murder and parsing each ACL (O(murder),
//! reference/murder.md §4.2 item 12). Here a user's LIST reads only:
//!
//! * their own tree, which the table holds as one range ([`MailboxTable::subtree`]);
//! * the table's index of entries shared with someone other than their owner
//!   ([`MailboxTable::shared`]), for other users' folders and the shared folders;
//! * and less when the pattern's literal prefix names whole levels: `LIST "" "Archive/2024/*"`
//!   reads the subtree of `user.john.Archive.2024` only, `Other Users/jane/*` jane's tree only.
//!
//! Other users' private mailboxes are never read. (An admin sees every mailbox of their domain,
//! so an admin's LIST of `Other Users/*` reads the users' range whole, and of
//! `Shared Folders/*` the ranges before and after it: that is what it asks for. An admin
//! without a domain in a murder with virtual domains reads the other domains' entries there
//! too, as they interleave with the top-level names in dbname order.)
//! LSUB reads one table entry per subscription.

mod list;
mod pattern;

use crate::table::{EntryRef, MailboxTable, State};
use corvid_proto::acl::{Acl, ImplicitRights, ListRights, Principal, Rights};
use corvid_proto::imap::response::{Code, StatusKind};
use corvid_proto::imap::writer::{ResponseWriter, WriteError};
use corvid_proto::mailbox::dbname::in_subtree;
use corvid_proto::mailbox::name::{NameError, Namespace, User, owner_of, split_domain};
use thiserror::Error;

pub use list::{
    ListError, Listed, MAX_SUBSCRIPTIONS, SubscriptionError, Subscriptions, needs_subscriptions,
};

/// The user a question is answered for, as the session knows them after login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// The canonical userid, as ACL identifiers and [`owner_of`] name users (`john`,
    /// `john@example.com` with virtual domains).
    userid: String,
    user: User,
    /// The internal name of the user's INBOX, the root of their tree (`user.john`).
    inbox: String,
    /// The root of every user's tree in the user's domain (`user`, `example.com!user`).
    users_root: String,
    groups: Vec<Vec<u8>>,
    admin: bool,
}

impl Viewer {
    /// The viewer logged in as `userid`, a member of `groups` (names without `group:`), an
    /// admin or not. Fails for a userid that cannot name a mailbox tree.
    pub fn new(
        ns: &Namespace,
        userid: &str,
        groups: Vec<Vec<u8>>,
        admin: bool,
    ) -> Result<Viewer, NameError> {
        let user = ns.user(userid)?;
        let inbox = ns.to_internal(&user, b"INBOX")?;
        let domain = user
            .domain()
            .map(|domain| format!("{domain}!"))
            .unwrap_or_default();
        Ok(Viewer {
            userid: user.to_string(),
            users_root: format!("{domain}user"),
            user,
            inbox,
            groups,
            admin,
        })
    }

    /// The canonical userid.
    pub fn userid(&self) -> &str {
        &self.userid
    }

    /// The user, as the namespace converts names for them.
    pub fn user(&self) -> &User {
        &self.user
    }

    /// The internal name of the user's INBOX.
    pub fn inbox(&self) -> &str {
        &self.inbox
    }

    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.admin
    }

    /// Whether internal name `name` is in the user's domain.
    fn in_domain(&self, name: &[u8]) -> bool {
        split_domain(name).0 == self.user.domain().map(str::as_bytes)
    }

    /// The user's effective rights on `entry` (an unparsable ACL grants only implicit rights).
    pub fn rights(&self, entry: &EntryRef<'_>) -> Rights {
        let groups: Vec<&[u8]> = self.groups.iter().map(Vec::as_slice).collect();
        let principal = Principal {
            user: Some(self.userid.as_bytes()),
            groups: &groups,
            is_admin: self.admin,
        };
        let other_owner;
        let owner = if in_subtree(entry.name, self.inbox.as_bytes()) {
            Some(self.userid.as_bytes())
        } else {
            other_owner = owner_of(entry.name).map(|user| user.to_string());
            other_owner.as_deref().map(str::as_bytes)
        };
        let acl = Acl::parse(entry.acl).unwrap_or(Acl::EMPTY);
        acl.effective_rights(&principal, owner, &ImplicitRights::default())
    }
}

/// One user's view of the mailbox table: what the session holds while it answers a command.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The table.
    pub table: &'a MailboxTable,
    /// The namespace the user sees.
    pub ns: &'a Namespace,
    /// The user.
    pub viewer: &'a Viewer,
    /// Whether the client enabled UTF8=ACCEPT (RFC 6855): it then sends and receives names in
    /// UTF-8 rather than modified UTF-7.
    pub utf8: bool,
}

/// A mailbox a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<'t> {
    /// Its internal name.
    pub internal: String,
    /// Its table entry: location and ACL.
    pub entry: EntryRef<'t>,
    /// The user's effective rights on it.
    pub rights: Rights,
}

impl<'t> Located<'t> {
    /// The server that holds it.
    pub fn server(&self) -> &'t [u8] {
        self.entry.server()
    }
}

/// Why a mailbox command is answered `NO` without a backend.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LookupError {
    /// The name is not a valid mailbox name in the user's namespace.
    #[error("invalid mailbox name: {0}")]
    InvalidName(#[from] NameError),
    /// The table does not know the mailbox (or the user may not learn that it exists).
    #[error("mailbox does not exist")]
    NonExistent,
    /// The name is reserved: a CREATE or a move is under way.
    #[error("mailbox is reserved (being created or moved); try again")]
    Reserved,
    /// The user sees the mailbox but lacks the right the command needs.
    #[error("permission denied")]
    PermissionDenied,
    /// The answer could not be written (a name or identifier no IMAP string can carry).
    #[error("cannot write the answer: {0}")]
    Unwritable(#[from] WriteError),
}

impl LookupError {
    /// The response code of the `NO` answer, if any.
    pub fn code(&self) -> Option<Code<'static>> {
        match self {
            LookupError::NonExistent => Some(Code::NonExistent),
            LookupError::Reserved => Some(Code::Unavailable),
            LookupError::PermissionDenied => Some(Code::NoPerm),
            LookupError::InvalidName(_) | LookupError::Unwritable(_) => None,
        }
    }

    /// Writes the tagged answer: `tag NO [code] text` (always `NO`: the command was well
    /// formed, RFC 3501 §7.1.2, as Cyrus answers an invalid mailbox name).
    pub fn write_answer(&self, tag: &[u8], out: &mut Vec<u8>) -> Result<(), WriteError> {
        let text = self.to_string();
        ResponseWriter::new(out, false).status(
            Some(tag),
            StatusKind::No,
            self.code().as_ref(),
            text.as_bytes(),
        )
    }
}

impl<'a> View<'a> {
    /// The internal name of `name`, a mailbox name as the client sent it (quoting removed; in
    /// UTF-8 when [`View::utf8`]).
    pub fn internal_name(&self, name: &[u8]) -> Result<String, NameError> {
        let user = self.viewer.user();
        if self.utf8 {
            let text = std::str::from_utf8(name).map_err(|error| NameError::Unrepresentable {
                byte: name.get(error.valid_up_to()).copied().unwrap_or_default(),
                pos: error.valid_up_to(),
            })?;
            self.ns.to_internal_utf8(user, text)
        } else {
            self.ns.to_internal(user, name)
        }
    }

    /// The mailbox `name` (as the client sent it) names, where it lives and the user's rights
    /// on it. Rights are not checked here: the command's own check (or the backend's) decides.
    pub fn resolve(&self, name: &[u8]) -> Result<Located<'a>, LookupError> {
        let internal = self.internal_name(name)?;
        let entry = self.active(&internal)?;
        Ok(Located {
            rights: self.viewer.rights(&entry),
            entry,
            internal,
        })
    }

    /// The server that holds the user's INBOX (where logins and LSUB go); an error when the
    /// user has no INBOX in the murder or it is being moved.
    pub fn inbox_server(&self) -> Result<&'a [u8], LookupError> {
        Ok(self.active(self.viewer.inbox())?.server())
    }

    /// The active entry named `internal`.
    fn active(&self, internal: &str) -> Result<EntryRef<'a>, LookupError> {
        let entry = self
            .table
            .get(internal.as_bytes())
            .ok_or(LookupError::NonExistent)?;
        match entry.state {
            State::Active => Ok(entry),
            State::Reserved => Err(LookupError::Reserved),
        }
    }

    /// Resolves `name` for a command that needs `needed`: a user without it gets
    /// `PermissionDenied` when they may see the mailbox (`l`), else `NonExistent` (so that the
    /// answer does not reveal that it exists).
    pub fn resolve_with(&self, name: &[u8], needed: Rights) -> Result<Located<'a>, LookupError> {
        let located = self.resolve(name)?;
        if located.rights.contains(needed) {
            Ok(located)
        } else if located.rights.contains(Rights::LOOKUP) {
            Err(LookupError::PermissionDenied)
        } else {
            Err(LookupError::NonExistent)
        }
    }

    /// GETACL (RFC 4314 §3.3): `* ACL name identifier rights ...` from the entry's ACL, every
    /// entry as stored (negative ones with their `-`). Needs right `a`.
    pub fn getacl(&self, name: &[u8], out: &mut Vec<u8>) -> Result<(), LookupError> {
        let located = self.resolve_with(name, Rights::ADMIN)?;
        // An ACL that does not parse is shown as having no entry, never guessed at.
        let acl = Acl::parse(located.entry.acl).unwrap_or(Acl::EMPTY);
        let entries: Vec<(&[u8], &[u8])> = acl
            .entries()
            .map(|entry| (entry.raw_identifier(), entry.rights_text()))
            .collect();
        ResponseWriter::new(out, self.utf8).acl(name, &entries)?;
        Ok(())
    }

    /// MYRIGHTS (RFC 4314 §3.5): `* MYRIGHTS name rights`. A user with none of the rights that
    /// reveal a mailbox's existence gets `NonExistent`, as from Cyrus.
    pub fn myrights(&self, name: &[u8], out: &mut Vec<u8>) -> Result<(), LookupError> {
        let located = self.resolve(name)?;
        if !located.rights.intersects(Rights::REVEAL_EXISTENCE) {
            return Err(LookupError::NonExistent);
        }
        let mut rights = Vec::new();
        located.rights.write(&mut rights);
        ResponseWriter::new(out, self.utf8).myrights(name, &rights)?;
        Ok(())
    }

    /// LISTRIGHTS (RFC 4314 §3.4): `* LISTRIGHTS name identifier required optional...` for
    /// `identifier` (shown as given). Needs right `a`.
    pub fn listrights(
        &self,
        name: &[u8],
        identifier: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), LookupError> {
        let located = self.resolve_with(name, Rights::ADMIN)?;
        let owner = owner_of(located.entry.name).map(|user| user.to_string());
        let answer = ListRights::for_identifier(
            identifier,
            owner.as_deref().map(str::as_bytes),
            &ImplicitRights::default(),
        );
        let mut required = Vec::new();
        answer.required.write(&mut required);
        let optional: Vec<[u8; 1]> = answer.optional().letters().map(|l| [l]).collect();
        let optional: Vec<&[u8]> = optional.iter().map(|l| &l[..]).collect();
        ResponseWriter::new(out, self.utf8).listrights(name, identifier, &required, &optional)?;
        Ok(())
    }
}
