//! An administrator's same-name move of a mailbox tree to another backend (`RENAME
//! "Other Users/john" "Other Users/john" be2`, Cyrus's form of XFER): what the move knows of
//! the tree, its journal, and the commands it sends; `session/relocate.rs` runs the steps.
//!
//! The mailbox and every mailbox below it move, one at a time, parents first, each by the
//! steps of a RENAME across backends (`session/relocate.rs`) with these differences, since the
//! name stays and the master holds it at the source all along:
//!
//! 1. the links log in as the tree's owner (the proxy's identity with the owner as
//!    authorization id) and name the mailboxes as the owner does (`INBOX`, `Sent`); a tree of
//!    no user (`Shared Folders/…`) is moved under the administrator's own login;
//! 2. the destination is made with `LOCALCREATE` on a backend that registers its own
//!    mailboxes (which must take it from a frontend: corvid's backend and Cyrus 3.6 do for a
//!    proxy identity acting for the user) and with `CREATE` on one the proxy registers for
//!    (Dovecot);
//!    one that exists already (a resumed move, Dovecot's INBOX) is used if it holds no message
//!    the journal does not account for;
//! 3. the source stays active in the master while its messages are copied; once the
//!    destination has them all and the source shows no message that arrived meanwhile, the
//!    source is closed and the master's entry ACTIVATEd at the destination with the ACL the
//!    table had (the proxy's MUPDATE identity needs the master's admin role for that), and a
//!    registering destination gets that ACL too (`SETACL` per identifier, which it pushes to
//!    the master at its own location); the journal then marks the mailbox switched;
//! 4. when every mailbox is switched, the sources are removed, children first, without
//!    touching the master: `LOCALDELETE` on a registering backend, `DELETE` on one the proxy
//!    registers for; an INBOX is emptied first (`UID STORE 1:* +FLAGS.SILENT (\Deleted)`,
//!    `CLOSE`), since Dovecot never deletes one and Cyrus deletes one only for its own
//!    administrator (who would delete the whole user), and its `LOCALDELETE` may be refused
//!    (Cyrus's next `ctl_mboxlist -m` removes the empty INBOX the master places elsewhere);
//!    one already gone (a resumed move) is fine; then the journal goes.
//!
//! One journal keeps the whole move (`<data_dir>/renames/<root in hex>`): the source, the
//! target, and per mailbox its UIDVALIDITY, the source UIDs it copies, and whether it is
//! switched. Interrupted anywhere, nothing is lost and the master points at the source for
//! every mailbox not switched; the same RENAME again reads the journal and finishes. Between
//! the last check of the source and the switch (one master round trip) a message delivered
//! to the source is not seen by the move; `corvid backend` delivers only through APPEND, which
//! clients send through the proxies.
//!
//! Subscriptions are not copied: they live with the user's INBOX backend, so a user whose
//! INBOX moves has to subscribe again at the new one (the proxy answers LSUB there).

use corvid_mupdate::view::View;
use corvid_proto::imap::response::{Code, Status};
use corvid_proto::imap::writer::ResponseWriter;
use corvid_proto::lex::write_quoted;
use corvid_proto::mailbox::Namespace;
use corvid_proto::mailbox::name::{is_inbox, owner_of};

use super::route::Refusal;
use super::transfer::{MAX_MESSAGES, parse_uid_set, uid_set};

/// A same-name move of a tree under way.
#[derive(Debug)]
pub(super) struct Tree {
    /// The tree's root, as the table names it.
    pub(super) root: Box<str>,
    /// The user the links log in as (the owner, or the administrator).
    pub(super) login: Box<str>,
    /// Every mailbox of the tree, parents first.
    pub(super) members: Vec<Member>,
    /// The member being moved.
    pub(super) current: usize,
}

/// One mailbox of a tree move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Member {
    /// Its internal name.
    pub(super) name: Box<str>,
    /// The source's UIDVALIDITY when the move began with it (0: not begun).
    pub(super) uid_validity: u32,
    /// The source UIDs the destination gets, in order.
    pub(super) uids: Vec<u32>,
    /// The master points at the destination.
    pub(super) switched: bool,
    /// Its ACL in the table when the move (or this attempt) began; not journaled.
    pub(super) acl: Vec<u8>,
}

/// A tree move's journal: where the tree goes from and to, and each member's progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TreeJournal {
    pub(super) source: Box<str>,
    pub(super) target: Box<str>,
    pub(super) members: Vec<Member>,
}

/// The first line of every tree journal.
const TREE_JOURNAL_HEADER: &str = "corvid move journal 1";

impl TreeJournal {
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut text = format!(
            "{TREE_JOURNAL_HEADER}\nsource {}\ntarget {}\n",
            self.source, self.target
        );
        for member in &self.members {
            let uids = if member.uids.is_empty() {
                "-".to_string()
            } else {
                uid_set(&member.uids)
            };
            let state = if member.switched {
                "switched"
            } else {
                "copying"
            };
            text += &format!(
                "mailbox {} {state} {uids} {}\n",
                member.uid_validity, member.name
            );
        }
        text.into_bytes()
    }

    /// A journal's contents; `None` when they are not one.
    pub(super) fn parse(bytes: &[u8]) -> Option<TreeJournal> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut lines = text.lines();
        if lines.next()? != TREE_JOURNAL_HEADER {
            return None;
        }
        let source = lines.next()?.strip_prefix("source ")?.into();
        let target = lines.next()?.strip_prefix("target ")?.into();
        let mut members = Vec::new();
        for line in lines {
            let mut fields = line.strip_prefix("mailbox ")?.splitn(4, ' ');
            let uid_validity = fields.next()?.parse().ok()?;
            let switched = match fields.next()? {
                "switched" => true,
                "copying" => false,
                _ => return None,
            };
            let uids = match fields.next()? {
                "-" => Vec::new(),
                set => match parse_uid_set(set.as_bytes(), MAX_MESSAGES) {
                    uids if uids.is_empty() => return None,
                    uids => uids,
                },
            };
            let name = fields.next().filter(|name| !name.is_empty())?.into();
            members.push(Member {
                name,
                uid_validity,
                uids,
                switched,
                acl: Vec::new(),
            });
        }
        (!members.is_empty()).then_some(TreeJournal {
            source,
            target,
            members,
        })
    }
}

/// The tree a same-name RENAME of `root` (internal) to `target` moves, or why it is not
/// moved: every mailbox of the tree must be on `source` or `target`, and none selected.
pub(super) fn prepare_tree(
    view: &View<'_>,
    root: &str,
    (source, target): (&str, &str),
    selected: Option<&str>,
) -> Result<Tree, Refusal> {
    let mut members = Vec::new();
    for entry in view.table.subtree(root.as_bytes()) {
        let server = entry.server();
        if server != source.as_bytes() && server != target.as_bytes() {
            return Err(Refusal::CannotMove(
                "the mailboxes below it live on more than two servers",
            ));
        }
        let name = String::from_utf8_lossy(entry.name);
        if selected == Some(&*name) {
            return Err(Refusal::CannotMove(
                "a mailbox of the tree is selected: close it first",
            ));
        }
        members.push(Member {
            name: name.into(),
            uid_validity: 0,
            uids: Vec::new(),
            switched: server == target.as_bytes(),
            acl: entry.acl.to_vec(),
        });
    }
    let login = match owner_of(root.as_bytes()) {
        Some(owner) => owner.to_string(),
        None => view.viewer.userid().to_string(),
    };
    Ok(Tree {
        root: root.into(),
        login: login.into(),
        members,
        current: 0,
    })
}

impl Tree {
    /// The name of internal `name` as the links' user knows it in `ns`, written as an IMAP mailbox
    /// argument; `None` when it cannot be sent.
    pub(super) fn mailbox_argument(&self, ns: &Namespace, name: &str) -> Option<Vec<u8>> {
        let user = ns.user(&self.login).ok()?;
        let external = ns.to_external(&user, name.as_bytes()).ok()?;
        let mut argument = Vec::new();
        ResponseWriter::new(&mut argument, true)
            .mailbox(external.as_bytes())
            .ok()?;
        (!argument.contains(&b'\n')).then_some(argument)
    }

    /// The member being moved.
    pub(super) fn member(&self) -> Option<&Member> {
        self.members.get(self.current)
    }

    /// The commands that remove the source copies, children first: `LOCALDELETE` at a
    /// backend that registers its own mailboxes, `DELETE` at one the proxy registers for,
    /// whose INBOX is emptied instead (Dovecot keeps every user's INBOX).
    pub(super) fn removals(&self, ns: &Namespace, source_registers: bool) -> Option<Vec<Vec<u8>>> {
        let mut commands = Vec::new();
        for member in self.members.iter().rev() {
            let mailbox = self.mailbox_argument(ns, &member.name)?;
            let command = |verb: &[u8]| [verb, &mailbox].concat();
            let inbox = is_inbox(member.name.as_bytes());
            if inbox {
                commands.push(command(b"SELECT "));
                commands.push(b"UID STORE 1:* +FLAGS.SILENT (\\Deleted)".to_vec());
                commands.push(b"CLOSE".to_vec());
            }
            if source_registers {
                commands.push(command(b"LOCALDELETE "));
            } else if !inbox {
                commands.push(command(b"DELETE "));
            }
        }
        Some(commands)
    }
}

/// Cyrus's texts, with no response code, for a name that exists (`IMAP_MAILBOX_EXISTS`) and
/// one that does not (`IMAP_MAILBOX_NONEXISTENT`).
const CYRUS_EXISTS: &[u8] = b"Mailbox already exists";
const CYRUS_NONEXISTENT: &[u8] = b"Mailbox does not exist";

/// The `LOCALDELETE` of an INBOX, which a backend may refuse (see the module doc).
const INBOX_REMOVAL: &[u8] = b"LOCALDELETE INBOX";

/// Whether a backend's refusal of a tree move's `command` leaves the move on course: a
/// destination made already (`[ALREADYEXISTS]`, Cyrus's bare text), a source copy gone
/// already (`[NONEXISTENT]`, Cyrus's), or an emptied INBOX the backend keeps.
pub(super) fn refusal_is_harmless(command: &[u8], status: &Status<'_>) -> bool {
    let says = |text: &[u8]| status.text.starts_with(text);
    if command.starts_with(b"LOCALCREATE ") || command.starts_with(b"CREATE ") {
        status.code == Some(Code::AlreadyExists) || says(CYRUS_EXISTS)
    } else if command.starts_with(b"LOCALDELETE ") || command.starts_with(b"DELETE ") {
        command == INBOX_REMOVAL
            || status.code == Some(Code::NonExistent)
            || says(CYRUS_NONEXISTENT)
    } else {
        false
    }
}

/// `SETACL mailbox identifier rights` for each entry of `acl` (the table's ACL string).
pub(super) fn grants(mailbox: &[u8], acl: &[u8]) -> Vec<Vec<u8>> {
    let mut fields = acl.split(|&b| b == b'\t');
    let mut commands = Vec::new();
    while let (Some(identifier), Some(rights)) = (fields.next(), fields.next()) {
        if identifier.is_empty() {
            break;
        }
        let mut command = b"SETACL ".to_vec();
        command.extend_from_slice(mailbox);
        command.push(b' ');
        write_quoted(&mut command, identifier);
        command.push(b' ');
        write_quoted(&mut command, rights);
        commands.push(command);
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_journals_read_back_what_was_written_and_refuse_anything_else() {
        let journal = TreeJournal {
            source: "be1".into(),
            target: "be2".into(),
            members: vec![
                Member {
                    name: "user.john".into(),
                    uid_validity: 7,
                    uids: vec![1, 2, 3, 9],
                    switched: true,
                    acl: Vec::new(),
                },
                Member {
                    name: "user.john.My Sent".into(),
                    uid_validity: 0,
                    uids: Vec::new(),
                    switched: false,
                    acl: Vec::new(),
                },
            ],
        };
        let bytes = journal.to_bytes();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "corvid move journal 1\nsource be1\ntarget be2\n\
mailbox 7 switched 1:3,9 user.john\nmailbox 0 copying - user.john.My Sent\n"
        );
        assert_eq!(TreeJournal::parse(&bytes), Some(journal));
        for bad in [
            &b""[..],
            b"corvid move journal 1\nsource be1\ntarget be2\n",
            b"corvid move journal 1\nsource be1\ntarget be2\nmailbox x copying - a\n",
            b"corvid move journal 1\nsource be1\ntarget be2\nmailbox 1 done - a\n",
            b"corvid move journal 1\nsource be1\ntarget be2\nmailbox 1 copying 0:x a\n",
            b"corvid move journal 1\nsource be1\ntarget be2\nmailbox 1 copying -\n",
            b"corvid rename journal 1\ndestination x\nuids 1\n",
        ] {
            assert_eq!(TreeJournal::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn grants_set_every_entry_of_the_acl() {
        assert_eq!(
            grants(b"Sent", b"john\tlrswipkxtecdan\tjane\tlr\t"),
            [
                b"SETACL Sent \"john\" \"lrswipkxtecdan\"".to_vec(),
                b"SETACL Sent \"jane\" \"lr\"".to_vec()
            ]
        );
        assert!(grants(b"Sent", b"").is_empty());
    }
}
