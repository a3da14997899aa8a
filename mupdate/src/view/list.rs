//! LIST and LSUB answered from the table, and the user's subscriptions they merge in.
//!
//! A LIST builds the part of the user's hierarchy its patterns can reach (see the parent
//! module for which ranges it reads) as an ordered tree of external names: every mailbox the
//! user may see, every level above one (shown `\Noselect` when it is no mailbox the user sees)
//! and, when the command asks, every subscription. Then it writes, in tree order, the names that
//! match a pattern. The order is `INBOX` (and its children) first, then the personal folders,
//! then `Other Users`, then `Shared Folders`, each by hierarchy level in byte order, so a
//! parent always comes before its children.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::table::{EntryRef, State};
use corvid_proto::acl::Rights;
use corvid_proto::imap::command::ListArgs;
use corvid_proto::imap::response::{
    Atoms, Response, ResponseError, StatusKind, Untagged, classify,
};
use corvid_proto::imap::writer::{ListKind, ResponseWriter, WriteError};
use corvid_proto::mailbox::dbname::{DbName, in_subtree, subtree_range};
use corvid_proto::mailbox::mutf7;
use corvid_proto::mailbox::name::{NameError, is_shared_folder};
use thiserror::Error;

use super::pattern::Pattern;
use super::{View, Viewer};

/// The most subscriptions kept for one user (memory stays bounded whatever a backend sends).
pub const MAX_SUBSCRIPTIONS: usize = 65_536;

/// Why a LIST cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ListError {
    /// A selection option this server does not support.
    #[error("unsupported LIST selection option {0}")]
    UnknownSelection(String),
    /// A return option this server does not support.
    #[error("unsupported LIST return option {0}")]
    UnknownReturn(String),
    /// RECURSIVEMATCH without another selection option (RFC 5258 §3).
    #[error("RECURSIVEMATCH needs another selection option")]
    RecursiveMatchAlone,
    /// The command needs the user's subscriptions and none were given (the INBOX backend
    /// could not be asked).
    #[error("subscriptions are unavailable, try again later")]
    NoSubscriptions,
    /// A line could not be written.
    #[error("cannot write the answer: {0}")]
    Unwritable(#[from] WriteError),
}

impl ListError {
    /// Writes the tagged answer: `BAD` for options the command may not carry, `NO` otherwise.
    pub fn write_answer(&self, tag: &[u8], out: &mut Vec<u8>) -> Result<(), WriteError> {
        let kind = match self {
            ListError::UnknownSelection(_)
            | ListError::UnknownReturn(_)
            | ListError::RecursiveMatchAlone => StatusKind::Bad,
            ListError::NoSubscriptions | ListError::Unwritable(_) => StatusKind::No,
        };
        let text = self.to_string();
        ResponseWriter::new(out, false).status(Some(tag), kind, None, text.as_bytes())
    }
}

/// What a LIST or LSUB did, for the session's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listed {
    /// How many table entries were read.
    pub entries_read: usize,
    /// How many names were written.
    pub names: usize,
}

/// The options of a LIST (RFC 5258): what it selects and what it returns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Options {
    /// `SUBSCRIBED`: list subscriptions rather than mailboxes.
    subscribed: bool,
    /// `RECURSIVEMATCH`: also list the names with subscribed children (CHILDINFO).
    recursive: bool,
    /// `RETURN (SUBSCRIBED)`: mark subscribed names.
    return_subscribed: bool,
}

impl Options {
    /// Reads the selection and return options. `REMOTE` is accepted and changes nothing
    /// (every mailbox of the murder is listed); `CHILDREN` is accepted and changes nothing
    /// (children are always reported).
    fn parse(args: &ListArgs<'_>) -> Result<Options, ListError> {
        let mut options = Options::default();
        for option in words(args.selection) {
            match option.to_ascii_uppercase().as_slice() {
                b"SUBSCRIBED" => options.subscribed = true,
                b"RECURSIVEMATCH" => options.recursive = true,
                b"REMOTE" => {}
                _ => return Err(ListError::UnknownSelection(lossy(option))),
            }
        }
        for option in words(args.return_options) {
            match option.to_ascii_uppercase().as_slice() {
                b"SUBSCRIBED" => options.return_subscribed = true,
                b"CHILDREN" => {}
                _ => return Err(ListError::UnknownReturn(lossy(option))),
            }
        }
        if options.recursive && !options.subscribed {
            return Err(ListError::RecursiveMatchAlone);
        }
        Ok(options)
    }

    fn wants_subscriptions(&self) -> bool {
        self.subscribed || self.return_subscribed
    }
}

/// The words of a parenthesised option list (`(SUBSCRIBED REMOTE)`).
fn words(list: Option<&[u8]>) -> impl Iterator<Item = &[u8]> {
    let inner = list.map(|l| l.strip_prefix(b"(").unwrap_or(l));
    let inner = inner.map(|l| l.strip_suffix(b")").unwrap_or(l));
    inner
        .unwrap_or_default()
        .split(|&b| b == b' ')
        .filter(|w| !w.is_empty())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether the LIST with these arguments needs the user's subscriptions (LIST (SUBSCRIBED),
/// RETURN (SUBSCRIBED)): the session then fetches them from the INBOX backend first. (LSUB
/// always needs them.)
pub fn needs_subscriptions(args: &ListArgs<'_>) -> bool {
    Options::parse(args).is_ok_and(|options| options.wants_subscriptions())
}

/// The user's subscriptions, as their INBOX backend lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscriptions {
    names: BTreeSet<Vec<u8>>,
}

/// Why a backend's reply line was not taken as a subscription.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubscriptionError {
    /// The line is not a response.
    #[error("invalid response line: {0}")]
    Invalid(#[from] ResponseError),
    /// The line is another response than LSUB or LIST (SUBSCRIBED).
    #[error("not an LSUB or subscribed LIST response")]
    NotASubscription,
    /// The name is not modified UTF-7.
    #[error("subscribed name is not modified UTF-7")]
    InvalidName,
    /// There are more than [`MAX_SUBSCRIPTIONS`].
    #[error("more than {MAX_SUBSCRIPTIONS} subscriptions")]
    TooMany,
}

impl Subscriptions {
    /// The subscriptions of a server that keeps them itself: external names (modified UTF-7),
    /// at most [`MAX_SUBSCRIPTIONS`] of them (the rest are dropped).
    pub fn from_names(names: impl IntoIterator<Item = Vec<u8>>) -> Subscriptions {
        Subscriptions {
            names: names.into_iter().take(MAX_SUBSCRIPTIONS).collect(),
        }
    }

    /// Takes one untagged reply line of the INBOX backend to `LSUB "" "*"` or
    /// `LIST (SUBSCRIBED) "" "*"` (through its line end, with any literal name).
    pub fn add_reply_line(&mut self, line: &[u8]) -> Result<(), SubscriptionError> {
        let (response, _) = classify(line)?;
        let data = match response {
            Response::Untagged(Untagged::Lsub(data)) => data,
            Response::Untagged(Untagged::List(data))
                if data.attributes.contains(b"\\Subscribed") =>
            {
                data
            }
            _ => return Err(SubscriptionError::NotASubscription),
        };
        let name = data.mailbox.to_vec();
        if mutf7::validate(&name).is_err() {
            return Err(SubscriptionError::InvalidName);
        }
        if self.names.len() >= MAX_SUBSCRIPTIONS && !self.names.contains(&name) {
            return Err(SubscriptionError::TooMany);
        }
        self.names.insert(name);
        Ok(())
    }

    /// The subscribed names (external, modified UTF-7), in byte order.
    pub fn names(&self) -> impl Iterator<Item = &[u8]> {
        self.names.iter().map(Vec::as_slice)
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// What the tree knows of one external name.
#[derive(Debug, Clone, Default)]
struct Node {
    /// The canonical external name (modified UTF-7).
    name: String,
    /// A mailbox the user may see.
    mailbox: bool,
    /// In the hierarchy: a mailbox the user may see, or a level above one.
    in_hierarchy: bool,
    /// Has a child in the hierarchy.
    has_children: bool,
    /// Subscribed.
    subscribed: bool,
    /// Has a subscribed descendant.
    subscribed_below: bool,
}

/// External names in listing order (see the module doc).
struct Tree<'v> {
    view: &'v View<'v>,
    separator: u8,
    nodes: BTreeMap<Vec<u8>, Node>,
}

impl<'v> Tree<'v> {
    fn new(view: &'v View<'v>) -> Self {
        Tree {
            view,
            separator: view.ns.config().separator.byte(),
            nodes: BTreeMap::new(),
        }
    }

    /// The sort key of a name: its section, then its bytes with the separator as 0x01, so
    /// that a name's descendants follow it directly.
    fn key(&self, name: &str) -> Vec<u8> {
        let config = self.view.ns.config();
        let first = name
            .split(char::from(self.separator))
            .next()
            .unwrap_or(name);
        let section = if first.eq_ignore_ascii_case("INBOX") {
            0
        } else if first == config.other_users_prefix {
            2
        } else if first == config.shared_prefix {
            3
        } else {
            1
        };
        let mut key = Vec::with_capacity(name.len() + 1);
        key.push(section);
        key.extend(
            name.bytes()
                .map(|b| if b == self.separator { 1 } else { b }),
        );
        key
    }

    fn node(&mut self, name: &str) -> &mut Node {
        let key = self.key(name);
        self.nodes.entry(key).or_insert_with(|| Node {
            name: name.to_owned(),
            ..Node::default()
        })
    }

    /// The levels above `name`, nearest last (`a`, `a/b` for `a/b/c`).
    fn ancestors(name: &str, separator: u8) -> impl Iterator<Item = &str> {
        name.bytes()
            .enumerate()
            .filter(move |&(_, b)| b == separator)
            .filter_map(move |(at, _)| name.get(..at))
    }

    fn add_mailbox(&mut self, name: &str) {
        let node = self.node(name);
        node.mailbox = true;
        node.in_hierarchy = true;
        for parent in Self::ancestors(name, self.separator) {
            let node = self.node(parent);
            node.in_hierarchy = true;
            node.has_children = true;
        }
    }

    fn add_subscription(&mut self, name: &str) {
        self.node(name).subscribed = true;
        for parent in Self::ancestors(name, self.separator) {
            self.node(parent).subscribed_below = true;
        }
    }
}

/// Which part of the table a pattern can match names in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// The user's tree, other users' mailboxes and the shared folders.
    Everything,
    /// One mailbox and its descendants (internal name).
    Subtree(String),
    /// Other users' mailboxes.
    OtherUsers,
    /// The shared folders.
    SharedFolders,
}

impl Scope {
    /// Whether internal name `name` is in this scope for `viewer`.
    fn holds(&self, viewer: &Viewer, name: &[u8]) -> bool {
        let personal = || in_subtree(name, viewer.users_root.as_bytes());
        let shared_folder = || viewer.in_domain(name) && is_shared_folder(name);
        match self {
            Scope::Everything => personal() || shared_folder(),
            Scope::Subtree(root) => in_subtree(name, root.as_bytes()),
            Scope::OtherUsers => personal(),
            Scope::SharedFolders => shared_folder(),
        }
    }
}

/// The attributes of one LIST or LSUB line, in the order written.
#[derive(Debug, Default)]
struct Attributes(Vec<u8>);

impl Attributes {
    fn add(&mut self, attribute: &[u8]) {
        if !self.0.is_empty() {
            self.0.push(b' ');
        }
        self.0.extend_from_slice(attribute);
    }

    fn atoms(&self) -> Atoms<'_> {
        Atoms::new(&self.0).unwrap_or_default()
    }
}

impl<'a> View<'a> {
    /// LIST (RFC 3501 §6.3.8, RFC 5258): writes the untagged `* LIST` lines (the session adds
    /// the tagged OK). `subscriptions` must be given when [`needs_subscriptions`] says so.
    pub fn list(
        &self,
        args: &ListArgs<'_>,
        subscriptions: Option<&Subscriptions>,
        out: &mut Vec<u8>,
    ) -> Result<Listed, ListError> {
        let options = Options::parse(args)?;
        let subscriptions = match subscriptions {
            None if options.wants_subscriptions() => return Err(ListError::NoSubscriptions),
            given => given,
        };
        let mut listed = Listed::default();
        let mut writer = ResponseWriter::new(out, self.utf8);
        let separator = self.ns.config().separator.byte();
        let reference = args.reference.to_vec();
        let mut patterns = Vec::new();
        for pattern in args.patterns {
            if pattern.is_empty() {
                // `LIST "ref" ""`: the delimiter and the root of the reference.
                let root = match reference.iter().position(|&b| b == separator) {
                    Some(end) => reference.get(..=end).unwrap_or_default(),
                    None => b"",
                };
                writer.list(
                    ListKind::List,
                    &Atoms::new(b"\\Noselect").unwrap_or_default(),
                    Some(separator),
                    root,
                )?;
                listed.names += 1;
            } else {
                patterns.push(self.pattern(&reference, &pattern.to_vec()));
            }
        }
        if patterns.is_empty() {
            return Ok(listed);
        }
        let mut tree = Tree::new(self);
        let scopes = self.scopes(&patterns);
        for scope in &scopes {
            self.scan(scope, |entry| {
                listed.entries_read += 1;
                if let Some(name) = self.listable(&entry) {
                    tree.add_mailbox(&name);
                }
            });
        }
        if options.wants_subscriptions() {
            for name in subscriptions.iter().flat_map(|s| &s.names) {
                if let Some(name) = self.canonical(name) {
                    tree.add_subscription(&name);
                }
            }
        }
        for node in tree.nodes.values() {
            let shown = self.shown(&node.name);
            if !patterns.iter().any(|p| p.matches(shown.as_bytes())) {
                continue;
            }
            let childinfo = options.recursive && !node.subscribed && node.subscribed_below;
            let selected = if options.subscribed {
                node.subscribed || childinfo
            } else {
                node.in_hierarchy
            };
            if !selected {
                continue;
            }
            let mut attributes = Attributes::default();
            if !node.mailbox {
                attributes.add(if options.subscribed {
                    b"\\NonExistent"
                } else {
                    b"\\Noselect"
                });
            }
            if node.in_hierarchy {
                attributes.add(if node.has_children {
                    b"\\HasChildren"
                } else {
                    b"\\HasNoChildren"
                });
            }
            if options.wants_subscriptions() && node.subscribed {
                attributes.add(b"\\Subscribed");
            }
            if childinfo {
                writer.list_childinfo(
                    &attributes.atoms(),
                    Some(separator),
                    shown.as_bytes(),
                    &[b"SUBSCRIBED"],
                )?;
            } else {
                writer.list(
                    ListKind::List,
                    &attributes.atoms(),
                    Some(separator),
                    shown.as_bytes(),
                )?;
            }
            listed.names += 1;
        }
        Ok(listed)
    }

    /// LSUB (RFC 3501 §6.3.9): writes the untagged `* LSUB` lines for the subscriptions that
    /// match. A subscription to a mailbox that does not exist (or that the user may no longer
    /// see) is marked `\Noselect`, as Cyrus's frontend does; with a pattern that ends in `%`, an
    /// unsubscribed level above a subscription that matches is returned `\Noselect` too.
    pub fn lsub(
        &self,
        args: &ListArgs<'_>,
        subscriptions: &Subscriptions,
        out: &mut Vec<u8>,
    ) -> Result<Listed, ListError> {
        let mut listed = Listed::default();
        let reference = args.reference.to_vec();
        let pattern = self.pattern(&reference, &args.patterns.first().to_vec());
        let mut tree = Tree::new(self);
        for name in &subscriptions.names {
            if let Some(name) = self.canonical(name) {
                tree.add_subscription(&name);
            }
        }
        let mut writer = ResponseWriter::new(out, self.utf8);
        let separator = self.ns.config().separator.byte();
        for node in tree.nodes.values() {
            let shown = self.shown(&node.name);
            let wanted = node.subscribed || (pattern.ends_with_percent() && node.subscribed_below);
            if !wanted || !pattern.matches(shown.as_bytes()) {
                continue;
            }
            let selectable = node.subscribed && {
                listed.entries_read += 1;
                self.resolve(node.name.as_bytes())
                    .is_ok_and(|located| located.rights.contains(Rights::LOOKUP))
            };
            let attributes: &[u8] = if selectable { b"" } else { b"\\Noselect" };
            writer.list(
                ListKind::Lsub,
                &Atoms::new(attributes).unwrap_or_default(),
                Some(separator),
                shown.as_bytes(),
            )?;
            listed.names += 1;
        }
        Ok(listed)
    }

    /// The pattern of `reference` and `pattern` joined (RFC 3501 leaves the join to the
    /// server; this one concatenates), with an `INBOX` first level in any case made `INBOX`.
    fn pattern(&self, reference: &[u8], pattern: &[u8]) -> Pattern {
        let separator = self.ns.config().separator.byte();
        let mut text = [reference, pattern].concat();
        let first_end = text
            .iter()
            .position(|&b| b == separator)
            .unwrap_or(text.len());
        if let Some(first) = text.get_mut(..first_end)
            && first.eq_ignore_ascii_case(b"INBOX")
        {
            first.copy_from_slice(b"INBOX");
        }
        Pattern::new(text, separator)
    }

    /// The parts of the table the patterns can match in (one `Everything` at most).
    fn scopes(&self, patterns: &[Pattern]) -> Vec<Scope> {
        let mut scopes: Vec<Scope> = Vec::new();
        for pattern in patterns {
            let scope = self.scope(pattern);
            if scope == Scope::Everything {
                return vec![Scope::Everything];
            }
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
        scopes
    }

    /// The narrowest part of the table `pattern` can match in: the subtree its literal
    /// prefix's whole levels name, when they name one.
    fn scope(&self, pattern: &Pattern) -> Scope {
        let separator = self.ns.config().separator.byte();
        let prefix = pattern.literal_prefix();
        let levels = if prefix.len() == pattern.text().len() {
            prefix
        } else {
            match prefix.iter().rposition(|&b| b == separator) {
                Some(end) => prefix.get(..end).unwrap_or_default(),
                None => return Scope::Everything,
            }
        };
        match self.internal_name(levels) {
            Ok(internal) => Scope::Subtree(internal),
            Err(NameError::NamespaceRoot) => {
                let config = self.ns.config();
                if levels == config.other_users_prefix.as_bytes() {
                    Scope::OtherUsers
                } else if levels == config.shared_prefix.as_bytes() {
                    Scope::SharedFolders
                } else {
                    Scope::Everything
                }
            }
            Err(_) => Scope::Everything,
        }
    }

    /// Calls `visit` for every entry in `scope` that the user might see: their own tree and
    /// the shared index for a user, whole ranges for an admin.
    fn scan(&self, scope: &Scope, mut visit: impl FnMut(EntryRef<'_>)) {
        let viewer = self.viewer;
        let own = viewer.inbox.as_bytes();
        if let Scope::Subtree(root) = scope {
            self.table.subtree(root.as_bytes()).for_each(visit);
        } else if viewer.is_admin() {
            if *scope != Scope::SharedFolders {
                let users = viewer.users_root.as_bytes();
                self.table.subtree(users).for_each(&mut visit);
            }
            if *scope != Scope::OtherUsers {
                self.outside_personal_trees()
                    .filter(|entry| scope.holds(viewer, entry.name))
                    .for_each(visit);
            }
        } else {
            if *scope == Scope::Everything {
                self.table.subtree(own).for_each(&mut visit);
            }
            self.table
                .shared()
                .filter(|entry| !in_subtree(entry.name, own) && scope.holds(viewer, entry.name))
                .for_each(visit);
        }
    }

    /// The entries around the users' range (`user.…`) of the viewer's domain, where its shared
    /// folders are: from the domain's start up to the users' range, and from its end to the
    /// domain's end (the table's ends without a domain).
    fn outside_personal_trees(&self) -> impl Iterator<Item = EntryRef<'a>> + '_ {
        let users = subtree_range(self.viewer.users_root.as_bytes());
        let domain = self.viewer.user().domain();
        let start = match domain {
            Some(domain) => Bound::Included(DbName::new(format!("{domain}!").into_bytes())),
            None => Bound::Unbounded,
        };
        let before = self.table.range((start, Bound::Excluded(users.start)));
        let after = self
            .table
            .range(users.end..)
            .take_while(move |entry| domain.is_none() || self.viewer.in_domain(entry.name));
        before.chain(after)
    }

    /// The canonical external name of `entry` when the user may see it in a LIST.
    fn listable(&self, entry: &EntryRef<'_>) -> Option<String> {
        if entry.state != State::Active || !self.viewer.rights(entry).contains(Rights::LOOKUP) {
            return None;
        }
        self.ns.to_external(self.viewer.user(), entry.name).ok()
    }

    /// The canonical form of a subscribed name (`inbox/Sent` is `Sent`); a name that names no
    /// mailbox (a namespace root, say) is kept as it is.
    fn canonical(&self, name: &[u8]) -> Option<String> {
        let user = self.viewer.user();
        match self.ns.to_internal(user, name) {
            Ok(internal) => self.ns.to_external(user, internal.as_bytes()).ok(),
            Err(_) => String::from_utf8(name.to_vec()).ok(),
        }
    }

    /// A canonical name as the client is shown it: modified UTF-7, or UTF-8 after
    /// UTF8=ACCEPT.
    fn shown<'n>(&self, name: &'n str) -> Cow<'n, str> {
        if self.utf8 {
            mutf7::decode(name.as_bytes()).map_or(Cow::Borrowed(name), Cow::Owned)
        } else {
            Cow::Borrowed(name)
        }
    }
}
