//! External (client) and internal (Cyrus) mailbox names, and the conversion between them.
//!
//! The proxy shows clients the *external* view; MUPDATE and Cyrus backends use *internal*
//! names. A [`Namespace`] holds the settings of the mapping and converts names for one
//! [`User`]. Both views are kept in modified UTF-7 ([`super::mutf7`]) and validated as such;
//! [`Namespace::to_internal_utf8`] serves clients that sent UTF-8 (UTF8=ACCEPT).
//!
//! # The mapping (defaults, for user `john`)
//!
//! | external | internal |
//! |---|---|
//! | `INBOX` (any case) | `user.john` |
//! | `Sent`, also accepted as `INBOX/Sent` | `user.john.Sent` |
//! | `INBOX/my.folder` | `user.john.my^folder` |
//! | `Other Users/jane` | `user.jane` (jane's INBOX) |
//! | `Other Users/jane/Trash` | `user.jane.Trash` |
//! | `Shared Folders/lists` | `lists` |
//! | `Shared Folders/lists/rust` | `lists.rust` |
//!
//! * Personal folders appear at top level (the NAMESPACE personal prefix is `""`, Cyrus's
//!   *altnamespace*). Internal -> external gives the top-level form (`Sent`), except for a folder
//!   whose first component would read as something else at top level: `INBOX` in any case, the
//!   other-users prefix or the shared prefix. Such a folder is shown under `INBOX/`
//!   (`user.john.Other Users` <-> `INBOX/Other Users`), so every name maps one way only and a
//!   client can still create, see and delete it.
//! * `INBOX/Sent` and `Sent`, `inbox` and `INBOX`, `Other Users/john` (oneself) and `INBOX` name
//!   the same mailbox; the *canonical* external name is the one [`Namespace::to_external`]
//!   produces, and external -> internal -> external is the identity on canonical names.
//! * `Other Users` and `Shared Folders` alone are namespace roots, not mailboxes:
//!   [`NameError::NamespaceRoot`] (a LIST shows them `\Noselect`).
//! * Shared folders are the top-level internal names outside the personal trees, as in Cyrus:
//!   an admin's `CREATE Team` makes `Team`, which users with rights on it see as
//!   `Shared Folders/Team`. Their first component cannot be `user` or `DELETED` (exactly so: Cyrus
//!   reads those two case-sensitively, and `User` is an ordinary shared folder), which would
//!   name a personal tree or a tombstone: `Shared Folders/user/x` is [`NameError::Reserved`].
//! * Internally `.` separates components, so a `.` inside an external component is stored as
//!   `^`. A component may not be empty (`a//b`, a leading or trailing separator); a `^` or `!`
//!   in an external component, and a separator or `!` in an internal one, cannot be represented
//!   on the other side and are errors, never silently changed. (`!` is reserved internally for
//!   the domain.)
//! * Virtual domains: user `john@example.com` has internal names prefixed `example.com!`
//!   (`example.com!user.john.Sent`); other users of the same domain are `Other Users/jane/...`,
//!   the domain's shared folders `Shared Folders/...` (`example.com!lists`). Mailboxes of other
//!   domains are not visible ([`NameError::ForeignDomain`]): there is no cross-domain view
//!   (Cyrus offers one to admins only).
//! * Tombstones (`DELETED.…`) and `user` alone have no external name
//!   ([`NameError::NotVisible`]).

use std::fmt;

use thiserror::Error;

use super::mutf7::{self, Mutf7Error};

/// The internal hierarchy separator.
const INTERNAL_SEP: u8 = b'.';
/// How a `.` inside a component is stored internally.
const ESCAPED_DOT: u8 = b'^';
/// Ends the domain in an internal name.
const DOMAIN_END: u8 = b'!';
/// The first component of every personal tree.
const USER_PREFIX: &[u8] = b"user";
/// The first component of Cyrus delayed-delete tombstones.
const DELETED_PREFIX: &[u8] = b"DELETED";

/// Why a mailbox name (or a userid) cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name is not canonical modified UTF-7.
    #[error(transparent)]
    Mutf7(#[from] Mutf7Error),
    /// An empty component at byte `pos`: an empty name, a doubled separator, or a separator at
    /// the start or end.
    #[error("empty name component at byte {pos}")]
    EmptyComponent {
        /// Offset of the empty component.
        pos: usize,
    },
    /// A byte that the other view cannot represent.
    #[error("byte {byte:?} at {pos} cannot be represented in the other view", byte = char::from(*byte))]
    Unrepresentable {
        /// The byte.
        byte: u8,
        /// Its offset in the name.
        pos: usize,
    },
    /// The name is a namespace root (`Other Users`, `Shared Folders`), not a mailbox.
    #[error("a namespace root is not a mailbox")]
    NamespaceRoot,
    /// The name belongs to another domain than the user's.
    #[error("mailbox of another domain")]
    ForeignDomain,
    /// The internal name has no external form (a tombstone `DELETED.…`, or `user` alone).
    #[error("mailbox not visible in the external namespace")]
    NotVisible,
    /// A shared folder whose first component is `user` or `DELETED`: internally that would be a
    /// personal tree or a tombstone.
    #[error("\"user\" and \"DELETED\" are reserved names, not shared folders")]
    Reserved,
    /// The userid is empty or holds characters a mailbox name cannot carry.
    #[error("invalid userid")]
    InvalidUserid,
}

/// A [`NamespaceConfig`] setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NamespaceError {
    /// A prefix is not a valid name component.
    #[error("{setting} {value:?} is not a valid name component: {source}")]
    InvalidPrefix {
        /// The setting's name.
        setting: &'static str,
        /// Its value.
        value: String,
        /// Why it is invalid.
        source: NameError,
    },
    /// A prefix collides with `INBOX` or with the other prefix.
    #[error("{setting} {value:?} collides with a reserved name")]
    ReservedPrefix {
        /// The setting's name.
        setting: &'static str,
        /// Its value.
        value: String,
    },
}

/// The external hierarchy separator: Cyrus offers these two (`unixhierarchysep` on or off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Separator {
    /// `/` (Cyrus `unixhierarchysep: yes`); a `.` in a component is stored as `^`.
    #[default]
    Slash,
    /// `.`, the internal separator itself; components then cannot hold a `.`.
    Dot,
}

impl Separator {
    /// The separator byte.
    pub fn byte(self) -> u8 {
        match self {
            Separator::Slash => b'/',
            Separator::Dot => b'.',
        }
    }
}

/// The settings of a [`Namespace`]; [`Default`] gives Cyrus's altnamespace defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceConfig {
    /// The external hierarchy separator (default `/`).
    pub separator: Separator,
    /// The external prefix of other users' mailboxes (default `Other Users`).
    pub other_users_prefix: String,
    /// The external prefix of shared mailboxes (default `Shared Folders`); they are top-level
    /// internal names.
    pub shared_prefix: String,
    /// Whether userids `local@domain` have per-domain trees (`domain!user.local`).
    pub virtual_domains: bool,
}

impl Default for NamespaceConfig {
    fn default() -> Self {
        NamespaceConfig {
            separator: Separator::Slash,
            other_users_prefix: "Other Users".into(),
            shared_prefix: "Shared Folders".into(),
            virtual_domains: false,
        }
    }
}

/// A user whose view names are converted for: a local part and, with virtual domains, a domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct User {
    local: String,
    domain: Option<String>,
}

impl User {
    /// The local part, as in the userid (`john.doe`, stored internally as `john^doe`).
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain, with virtual domains.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.domain {
            Some(domain) => write!(f, "{}@{domain}", self.local),
            None => f.write_str(&self.local),
        }
    }
}

/// The mapping between external and internal names, validated; [`Default`] uses
/// [`NamespaceConfig::default`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    config: NamespaceConfig,
}

/// Which tree an external name's first component selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Inbox,
    OtherUsers,
    Shared,
    Personal,
}

/// A name component and its offset in the name.
type Component<'a> = (usize, &'a [u8]);

/// Splits `name` at `sep`; every component must be non-empty.
fn components(name: &[u8], sep: u8, base: usize) -> Result<Vec<Component<'_>>, NameError> {
    let mut out = Vec::new();
    let mut at = base;
    for part in name.split(|&b| b == sep) {
        if part.is_empty() {
            return Err(NameError::EmptyComponent { pos: at });
        }
        out.push((at, part));
        at += part.len() + 1;
    }
    Ok(out)
}

impl Namespace {
    /// Validates `config`: the prefixes must be valid components, distinct, and not `INBOX`.
    pub fn new(config: NamespaceConfig) -> Result<Self, NamespaceError> {
        let ns = Namespace { config };
        let c = &ns.config;
        let invalid = |setting, value: &str, source| NamespaceError::InvalidPrefix {
            setting,
            value: value.into(),
            source,
        };
        let reserved = |setting, value: &str| NamespaceError::ReservedPrefix {
            setting,
            value: value.into(),
        };
        for (setting, value) in [
            ("other_users_prefix", &c.other_users_prefix),
            ("shared_prefix", &c.shared_prefix),
        ] {
            ns.check_component(value.as_bytes(), Self::internal_byte)
                .map_err(|e| invalid(setting, value, e))?;
            if value.eq_ignore_ascii_case("INBOX") {
                return Err(reserved(setting, value));
            }
        }
        if c.other_users_prefix == c.shared_prefix {
            return Err(reserved("shared_prefix", &c.shared_prefix));
        }
        Ok(ns)
    }

    /// The settings.
    pub fn config(&self) -> &NamespaceConfig {
        &self.config
    }

    /// Parses a userid: `john`, or with virtual domains `john@example.com` (split at the last
    /// `@`). The local part must be usable as an external name component.
    pub fn user(&self, userid: &str) -> Result<User, NameError> {
        let vd = self.config.virtual_domains;
        let (local, domain) = match userid.rsplit_once('@') {
            Some((local, domain)) if vd => (local, Some(domain)),
            _ => (userid, None),
        };
        // A domain is a host name: letters, digits, `-`, `_` and `.` (anything else, `&` say,
        // would make the internal name invalid modified UTF-7).
        let valid_domain = domain.is_none_or(|d| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
        let valid_local = !(vd && local.contains('@'))
            && self
                .check_component(local.as_bytes(), Self::internal_byte)
                .is_ok();
        if !(valid_domain && valid_local) {
            return Err(NameError::InvalidUserid);
        }
        Ok(User {
            local: local.into(),
            domain: domain.map(Into::into),
        })
    }

    /// Converts an external name, as `user` sees it, to the internal name.
    pub fn to_internal(&self, user: &User, external: &[u8]) -> Result<String, NameError> {
        mutf7::validate(external)?;
        let comps = components(external, self.config.separator.byte(), 0)?;
        let Some((&(_, first), rest)) = comps.split_first() else {
            return Err(NameError::EmptyComponent { pos: 0 });
        };
        let mut out = String::with_capacity(external.len() + 16);
        if let Some(domain) = &user.domain {
            out.push_str(domain);
            out.push(char::from(DOMAIN_END));
        }
        let path = match self.root_of(first) {
            Root::Inbox => {
                self.push_owner(&mut out, (0, user.local.as_bytes()))?;
                rest
            }
            Root::Personal => {
                self.push_owner(&mut out, (0, user.local.as_bytes()))?;
                &comps[..]
            }
            Root::OtherUsers => {
                let Some((&owner, path)) = rest.split_first() else {
                    return Err(NameError::NamespaceRoot);
                };
                if self.config.virtual_domains && owner.1.contains(&b'@') {
                    return Err(NameError::ForeignDomain);
                }
                self.push_owner(&mut out, owner)?;
                path
            }
            Root::Shared => {
                let Some((&folder, path)) = rest.split_first() else {
                    return Err(NameError::NamespaceRoot);
                };
                if is_reserved(folder.1) {
                    return Err(NameError::Reserved);
                }
                self.push_mapped(&mut out, folder, Self::internal_byte)?;
                path
            }
        };
        for &comp in path {
            out.push(char::from(INTERNAL_SEP));
            self.push_mapped(&mut out, comp, Self::internal_byte)?;
        }
        Ok(out)
    }

    /// Converts an external name in UTF-8 (from a UTF8=ACCEPT client) to the internal name.
    pub fn to_internal_utf8(&self, user: &User, external: &str) -> Result<String, NameError> {
        self.to_internal(user, mutf7::encode(external).as_bytes())
    }

    /// Converts an internal name to the canonical external name `user` sees it by.
    pub fn to_external(&self, user: &User, internal: &[u8]) -> Result<String, NameError> {
        mutf7::validate(internal)?;
        let (domain, local) = split_domain(internal);
        if domain != user.domain.as_deref().map(str::as_bytes) {
            return Err(NameError::ForeignDomain);
        }
        let comps = components(local, INTERNAL_SEP, internal.len() - local.len())?;
        let Some((&(_, first), rest)) = comps.split_first() else {
            return Err(NameError::EmptyComponent { pos: 0 });
        };
        let sep = char::from(self.config.separator.byte());
        let mut out = String::with_capacity(internal.len() + 16);
        let path = if first == USER_PREFIX {
            let Some((&owner, path)) = rest.split_first() else {
                return Err(NameError::NotVisible);
            };
            if self.is_same_user(owner.1, &user.local) {
                if path.is_empty() {
                    return Ok("INBOX".into());
                }
                self.push_external_path(&mut out, path)?;
                let first_folder = out.split(sep).next().unwrap_or_default();
                if self.root_of(first_folder.as_bytes()) != Root::Personal {
                    out.insert(0, sep);
                    out.insert_str(0, "INBOX");
                }
                return Ok(out);
            }
            if self.config.virtual_domains && owner.1.contains(&b'@') {
                return Err(NameError::ForeignDomain);
            }
            out.push_str(&self.config.other_users_prefix);
            out.push(sep);
            self.push_mapped(&mut out, owner, Self::external_byte)?;
            path
        } else if is_reserved(first) {
            return Err(NameError::NotVisible);
        } else {
            out.push_str(&self.config.shared_prefix);
            &comps[..]
        };
        if !path.is_empty() {
            out.push(sep);
            self.push_external_path(&mut out, path)?;
        }
        Ok(out)
    }

    /// Which tree an external first component selects.
    fn root_of(&self, first: &[u8]) -> Root {
        if first.eq_ignore_ascii_case(b"INBOX") {
            Root::Inbox
        } else if first == self.config.other_users_prefix.as_bytes() {
            Root::OtherUsers
        } else if first == self.config.shared_prefix.as_bytes() {
            Root::Shared
        } else {
            Root::Personal
        }
    }

    /// Whether internal owner component `owner` (`john^doe`) is the local part `local` (`john.doe`).
    fn is_same_user(&self, owner: &[u8], local: &str) -> bool {
        owner.len() == local.len()
            && owner
                .iter()
                .zip(local.bytes())
                .all(|(&o, l)| self.internal_byte(l) == Some(o))
    }

    /// Writes `user.` and the owner's internal component.
    fn push_owner(&self, out: &mut String, owner: Component<'_>) -> Result<(), NameError> {
        out.push_str("user.");
        self.push_mapped(out, owner, Self::internal_byte)
    }

    /// Writes internal components as an external path.
    fn push_external_path(
        &self,
        out: &mut String,
        path: &[Component<'_>],
    ) -> Result<(), NameError> {
        let sep = char::from(self.config.separator.byte());
        for (i, &comp) in path.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            self.push_mapped(out, comp, Self::external_byte)?;
        }
        Ok(())
    }

    /// Writes one component byte by byte through `map`; a byte `map` refuses is an error.
    fn push_mapped(
        &self,
        out: &mut String,
        (at, comp): Component<'_>,
        map: impl Fn(&Self, u8) -> Option<u8>,
    ) -> Result<(), NameError> {
        for (i, &byte) in comp.iter().enumerate() {
            let mapped = map(self, byte).ok_or(NameError::Unrepresentable { byte, pos: at + i })?;
            out.push(char::from(mapped));
        }
        Ok(())
    }

    /// Checks that `comp` is one valid component whose every byte `map` accepts.
    fn check_component(
        &self,
        comp: &[u8],
        map: impl Fn(&Self, u8) -> Option<u8>,
    ) -> Result<(), NameError> {
        mutf7::validate(comp)?;
        if comp.is_empty() {
            return Err(NameError::EmptyComponent { pos: 0 });
        }
        let sep = self.config.separator.byte();
        match comp
            .iter()
            .position(|&b| b == sep || map(self, b).is_none())
        {
            Some(pos) => Err(NameError::Unrepresentable {
                byte: comp[pos],
                pos,
            }),
            None => Ok(()),
        }
    }

    /// The internal form of a byte of an external component.
    fn internal_byte(&self, b: u8) -> Option<u8> {
        match b {
            INTERNAL_SEP => Some(ESCAPED_DOT),
            ESCAPED_DOT | DOMAIN_END => None,
            _ => Some(b),
        }
    }

    /// The external form of a byte of an internal component.
    fn external_byte(&self, b: u8) -> Option<u8> {
        let mapped = if b == ESCAPED_DOT { INTERNAL_SEP } else { b };
        (mapped != self.config.separator.byte() && b != DOMAIN_END).then_some(mapped)
    }
}

/// The user whose personal tree holds internal name `internal` (`example.com!user.john^doe.Sent`
/// -> `john.doe@example.com`), if any. Tombstones (`DELETED.user.…`) belong to no tree.
pub fn owner_of(internal: &[u8]) -> Option<User> {
    let (domain, local) = split_domain(internal);
    let mut comps = local.split(|&b| b == INTERNAL_SEP);
    if comps.next() != Some(USER_PREFIX) {
        return None;
    }
    let owner = comps.next().filter(|o| !o.is_empty())?;
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).ok();
    let local = owner
        .iter()
        .map(|&b| if b == ESCAPED_DOT { INTERNAL_SEP } else { b })
        .collect::<Vec<u8>>();
    if local.contains(&DOMAIN_END) || domain.is_some_and(<[u8]>::is_empty) {
        return None;
    }
    Some(User {
        local: text(&local)?,
        domain: match domain {
            Some(d) => Some(text(d)?),
            None => None,
        },
    })
}

/// Whether internal name `internal` is a shared folder (`lists`, `example.com!lists.rust`): a
/// top-level name outside the personal trees (`user.…`) and the tombstones (`DELETED.…`).
pub fn is_shared_folder(internal: &[u8]) -> bool {
    let (_, local) = split_domain(internal);
    let first = local
        .split(|&b| b == INTERNAL_SEP)
        .next()
        .unwrap_or_default();
    !first.is_empty() && !is_reserved(first)
}

/// Whether an internal first component starts a personal tree or a tombstone, never a shared
/// folder (compared exactly, as Cyrus does).
fn is_reserved(first: &[u8]) -> bool {
    first == USER_PREFIX || first == DELETED_PREFIX
}

/// Whether internal name `internal` is a user's INBOX (`user.john`, `example.com!user.john`).
pub fn is_inbox(internal: &[u8]) -> bool {
    let (_, local) = split_domain(internal);
    local
        .strip_prefix(b"user.")
        .is_some_and(|owner| !owner.is_empty() && !owner.contains(&INTERNAL_SEP))
}

/// Splits an internal name at its first `!` into the domain and the rest
/// (`example.com!user.john` -> `example.com`, `user.john`; `user.john` -> no domain).
pub fn split_domain(name: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match memchr::memchr(DOMAIN_END, name) {
        Some(end) => (name.get(..end), name.get(end + 1..).unwrap_or_default()),
        None => (None, name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Namespace {
        Namespace::default()
    }

    fn vd() -> Namespace {
        Namespace::new(NamespaceConfig {
            virtual_domains: true,
            ..NamespaceConfig::default()
        })
        .unwrap()
    }

    fn int(ns: &Namespace, user: &str, external: &str) -> Result<String, NameError> {
        ns.to_internal(&ns.user(user).unwrap(), external.as_bytes())
    }

    fn ext(ns: &Namespace, user: &str, internal: &str) -> Result<String, NameError> {
        ns.to_external(&ns.user(user).unwrap(), internal.as_bytes())
    }

    /// Checks both directions of a canonical pair.
    fn both(ns: &Namespace, user: &str, external: &str, internal: &str) {
        assert_eq!(
            int(ns, user, external).as_deref(),
            Ok(internal),
            "{external} ->"
        );
        assert_eq!(
            ext(ns, user, internal).as_deref(),
            Ok(external),
            "<- {internal}"
        );
    }

    #[test]
    fn personal_names() {
        let ns = ns();
        both(&ns, "john", "INBOX", "user.john");
        both(&ns, "john", "Sent", "user.john.Sent");
        both(&ns, "john", "Sent/2024", "user.john.Sent.2024");
        both(&ns, "john", "my.folder", "user.john.my^folder");
        both(&ns, "john.doe", "INBOX", "user.john^doe");
        for alias in ["inbox", "Inbox", "Other Users/john"] {
            assert_eq!(int(&ns, "john", alias).unwrap(), "user.john");
        }
        assert_eq!(int(&ns, "john", "INBOX/Sent").unwrap(), "user.john.Sent");
        assert_eq!(
            int(&ns, "john", "INBOX/my.folder").unwrap(),
            "user.john.my^folder"
        );
    }

    #[test]
    fn reserved_first_components_live_under_inbox() {
        let ns = ns();
        both(&ns, "john", "INBOX/Other Users", "user.john.Other Users");
        both(
            &ns,
            "john",
            "INBOX/Shared Folders/x",
            "user.john.Shared Folders.x",
        );
        both(&ns, "john", "INBOX/inbox", "user.john.inbox");
        both(&ns, "john", "INBOX/INBOX", "user.john.INBOX");
        // Prefixes match exactly: a differently cased folder stays at top level.
        both(&ns, "john", "other users", "user.john.other users");
    }

    #[test]
    fn other_users_and_shared() {
        let ns = ns();
        both(&ns, "john", "Other Users/jane", "user.jane");
        both(&ns, "john", "Other Users/jane/Trash", "user.jane.Trash");
        both(&ns, "john", "Other Users/jane.doe/a.b", "user.jane^doe.a^b");
        assert_eq!(
            int(&ns, "john", "Other Users"),
            Err(NameError::NamespaceRoot)
        );
        for hidden in ["DELETED.user.john.Trash.65E33B49", "DELETED", "user"] {
            assert_eq!(
                ext(&ns, "john", hidden),
                Err(NameError::NotVisible),
                "{hidden}"
            );
        }
    }

    #[test]
    fn shared_folders_are_top_level_names() {
        let ns = ns();
        both(&ns, "john", "Shared Folders/lists", "lists");
        both(&ns, "john", "Shared Folders/lists/rust", "lists.rust");
        both(&ns, "john", "Shared Folders/a.b/c", "a^b.c");
        // Names that mean something else at the top of the personal view are plain here.
        for folder in [
            "INBOX",
            "Other Users",
            "Shared Folders",
            "shared",
            "User",
            "deleted",
        ] {
            both(&ns, "john", &format!("Shared Folders/{folder}"), folder);
        }
        assert_eq!(
            int(&ns, "john", "Shared Folders"),
            Err(NameError::NamespaceRoot)
        );
        for reserved in [
            "Shared Folders/user",
            "Shared Folders/user/john",
            "Shared Folders/DELETED",
            "Shared Folders/DELETED/user/john/Trash/65E33B49",
        ] {
            assert_eq!(
                int(&ns, "john", reserved),
                Err(NameError::Reserved),
                "{reserved}"
            );
        }
        assert_eq!(
            int(&ns, "john", "Shared Folders/a^b"),
            Err(NameError::Unrepresentable {
                byte: b'^',
                pos: 16
            })
        );
    }

    #[test]
    fn virtual_domains() {
        let ns = vd();
        both(&ns, "john@example.com", "INBOX", "example.com!user.john");
        both(
            &ns,
            "john@example.com",
            "Sent",
            "example.com!user.john.Sent",
        );
        both(
            &ns,
            "john@example.com",
            "Other Users/jane",
            "example.com!user.jane",
        );
        both(
            &ns,
            "john@example.com",
            "Shared Folders/lists",
            "example.com!lists",
        );
        both(&ns, "admin", "Sent", "user.admin.Sent");
        both(&ns, "admin", "Shared Folders/lists", "lists");
        let foreign = Err(NameError::ForeignDomain);
        assert_eq!(ext(&ns, "john@example.com", "other.com!user.jane"), foreign);
        assert_eq!(ext(&ns, "john@example.com", "user.jane"), foreign);
        assert_eq!(ext(&ns, "admin", "example.com!user.jane"), foreign);
        assert_eq!(ext(&ns, "admin", "example.com!lists"), foreign);
        assert_eq!(ext(&ns, "john@example.com", "lists"), foreign);
        assert_eq!(ext(&ns, "john@example.com", "other.com!lists"), foreign);
        assert_eq!(
            int(&ns, "john@example.com", "Other Users/jane@other.com"),
            foreign
        );
        // Without virtual domains `@` is an ordinary character of a userid.
        both(
            &self::ns(),
            "john@example.com",
            "Sent",
            "user.john@example^com.Sent",
        );
    }

    #[test]
    fn invalid_names() {
        let ns = ns();
        let empty = |pos| Err(NameError::EmptyComponent { pos });
        assert_eq!(int(&ns, "john", ""), empty(0));
        assert_eq!(int(&ns, "john", "a//b"), empty(2));
        assert_eq!(int(&ns, "john", "/a"), empty(0));
        assert_eq!(int(&ns, "john", "a/"), empty(2));
        assert_eq!(ext(&ns, "john", "user.john..x"), empty(10));
        assert_eq!(ext(&ns, "john", "user.john."), empty(10));
        let bad = |byte, pos| Err(NameError::Unrepresentable { byte, pos });
        assert_eq!(int(&ns, "john", "a^b"), bad(b'^', 1));
        assert_eq!(int(&ns, "john", "Other Users/x!y"), bad(b'!', 13));
        assert_eq!(ext(&ns, "john", "user.john.a/b"), bad(b'/', 11));
        assert_eq!(
            ext(&ns, "john", "user.jane!x"),
            Err(NameError::ForeignDomain)
        );
        assert!(matches!(int(&ns, "john", "a&b"), Err(NameError::Mutf7(_))));
        assert!(matches!(
            ext(&ns, "john", "user.john.\u{e9}"),
            Err(NameError::Mutf7(_))
        ));
    }

    #[test]
    fn dot_separator() {
        let ns = Namespace::new(NamespaceConfig {
            separator: Separator::Dot,
            ..NamespaceConfig::default()
        })
        .unwrap();
        both(&ns, "john", "Sent.2024", "user.john.Sent.2024");
        both(&ns, "john", "a/b", "user.john.a/b");
        both(&ns, "john", "Other Users.jane", "user.jane");
        assert_eq!(
            ext(&ns, "john", "user.john.a^b"),
            Err(NameError::Unrepresentable {
                byte: b'^',
                pos: 11
            })
        );
        assert_eq!(ns.user("john.doe"), Err(NameError::InvalidUserid));
    }

    #[test]
    fn mutf7_names_and_utf8_input() {
        let ns = ns();
        let john = ns.user("john").unwrap();
        both(&ns, "john", "Entw&APw-rfe", "user.john.Entw&APw-rfe");
        assert_eq!(
            ns.to_internal_utf8(&john, "Entwürfe/R&D").unwrap(),
            "user.john.Entw&APw-rfe.R&-D"
        );
    }

    #[test]
    fn userids() {
        let ns = vd();
        let u = ns.user("john.doe@example.com").unwrap();
        assert_eq!((u.local(), u.domain()), ("john.doe", Some("example.com")));
        assert_eq!(u.to_string(), "john.doe@example.com");
        for bad in [
            "",
            "@example.com",
            "john@",
            "a/b",
            "a^b",
            "a@b@c",
            "a!b",
            "jo hn@ex ample",
            "john@pl&om",
            "john@ex!ample.com",
        ] {
            assert_eq!(ns.user(bad), Err(NameError::InvalidUserid), "{bad:?}");
        }
    }

    #[test]
    fn config_validation() {
        let with = |f: fn(&mut NamespaceConfig)| {
            let mut c = NamespaceConfig::default();
            f(&mut c);
            Namespace::new(c)
        };
        assert!(with(|_| {}).is_ok());
        assert!(matches!(
            with(|c| c.shared_prefix = "inbox".into()),
            Err(NamespaceError::ReservedPrefix { .. })
        ));
        assert!(matches!(
            with(|c| c.shared_prefix = "Other Users".into()),
            Err(NamespaceError::ReservedPrefix { .. })
        ));
        assert!(matches!(
            with(|c| c.other_users_prefix = "a/b".into()),
            Err(NamespaceError::InvalidPrefix { .. })
        ));
        assert!(matches!(
            with(|c| c.other_users_prefix = String::new()),
            Err(NamespaceError::InvalidPrefix { .. })
        ));
    }

    #[test]
    fn owners_and_inboxes() {
        let owner = |name: &str| owner_of(name.as_bytes()).map(|u| u.to_string());
        assert_eq!(owner("user.john").as_deref(), Some("john"));
        assert_eq!(owner("user.john^doe.Sent").as_deref(), Some("john.doe"));
        assert_eq!(
            owner("example.com!user.john.Sent").as_deref(),
            Some("john@example.com")
        );
        for none in [
            "lists",
            "user",
            "user..x",
            "DELETED.user.john.Trash.1",
            "!user.x",
            "user.a!b",
        ] {
            assert_eq!(owner(none), None, "{none}");
        }
        assert!(is_inbox(b"user.john"));
        assert!(is_inbox(b"example.com!user.john"));
        for not in [
            "user.john.Sent",
            "user.",
            "user",
            "shared.john",
            "xuser.john",
        ] {
            assert!(!is_inbox(not.as_bytes()), "{not}");
        }
    }

    #[test]
    fn shared_folder_names() {
        for shared in [
            "lists",
            "lists.rust",
            "example.com!lists",
            "User.x",
            "users",
        ] {
            assert!(is_shared_folder(shared.as_bytes()), "{shared}");
        }
        for not in [
            "user",
            "user.john",
            "example.com!user.john.Sent",
            "DELETED.lists.65E33B49",
            "",
            ".x",
            "example.com!",
        ] {
            assert!(!is_shared_folder(not.as_bytes()), "{not}");
        }
    }
}
