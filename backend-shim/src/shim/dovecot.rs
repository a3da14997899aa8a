//! Dovecot discovery: a backend's mailboxes and ACLs through `doveadm`, as a [`BackendView`].
//!
//! Three commands, each run with the tab formatter (`doveadm -f tab`) and parsed strictly:
//! `user '*'` lists the users (the userdb must be iterable: `passwd-file` or SQL, not
//! `static`), `mailbox list -u USER` their mailboxes, and `acl get -u USER MAILBOX` each
//! mailbox's ACL. Output that does not have the expected shape is an error, never skipped.
//!
//! # Names
//!
//! Dovecot's names (UTF-8, as `doveadm` prints them) are encoded to modified UTF-7 and mapped
//! with corvid's [`Namespace`], so the Dovecot namespaces must be set up the way that
//! namespace shows them: personal folders at top level with separator `/`, the public
//! namespace under its shared prefix (`Shared Folders/`), other users' mailboxes under the
//! other-users prefix (`Other Users/`). A listed name is then one of:
//!
//! * the user's own mailbox (`INBOX`, `Sent`): kept, with the owner's rights;
//! * a shared folder (`Shared Folders/lists`): kept once, whichever users list it;
//! * another user's mailbox (`Other Users/bob/Work`): skipped, it is that owner's;
//! * a namespace root (`Shared Folders`): skipped, not a mailbox;
//! * a name the namespace cannot represent (`a^b`): [`Unmapped`], reported.
//!
//! # ACLs
//!
//! Dovecot's right names become RFC 4314 letters (`lookup` `l`, `read` `r`, `write-seen` `s`,
//! `write` `w`, `insert` `i`, `post` `p`, `create` `k`, `delete` `x`, `write-deleted` `t`,
//! `expunge` `e`, `admin` `a`), written in Cyrus's form (`lrswipkxtecda`). Identifiers:
//! `user=alice` is `alice`, `group=staff` is `group:staff`, `anyone` stays, and `owner` is the
//! mailbox's owner by name, as Cyrus shows owners. Dovecot gives the owner of a personal
//! mailbox every right unless an `owner` entry says otherwise; that implicit entry comes first,
//! with the rights Cyrus gives an owner (`lrswipkxtecdan`). Negative rights (`-write`) become
//! a negative entry (`-alice TAB w TAB`). In the public namespace `owner` names nobody and is
//! dropped. `authenticated` and `group-override=` have no Cyrus form: such a mailbox is
//! [`Unmapped`] (its master entry is left alone) rather than given rights that are not its own.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use corvid_proto::mailbox::{NameError, Namespace, User, owner_of};
use wait_timeout::ChildExt;

use super::reconcile::{BackendMailbox, BackendView, Origin, Unmapped};

/// The most output one `doveadm` run may give (a user with very many mailboxes fits).
const OUTPUT_LIMIT: u64 = 64 << 20;
/// The most of a failed run's stderr kept for its error.
const STDERR_LIMIT: u64 = 64 << 10;

/// The rights Cyrus gives a mailbox's owner, in its written form.
const OWNER_RIGHTS: &[u8] = b"lrswipkxtecdan";

/// Dovecot's right names and the RFC 4314 letters they stand for.
const RIGHT_LETTERS: [(&str, u8); 11] = [
    ("lookup", b'l'),
    ("read", b'r'),
    ("write-seen", b's'),
    ("write", b'w'),
    ("insert", b'i'),
    ("post", b'p'),
    ("create", b'k'),
    ("delete", b'x'),
    ("write-deleted", b't'),
    ("expunge", b'e'),
    ("admin", b'a'),
];

/// Why `doveadm` gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum DoveadmError {
    /// It could not be run.
    #[error("running {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        source: std::io::Error,
    },
    /// It ran longer than its timeout and was killed.
    #[error("doveadm {command} killed after {after:?}")]
    Timeout {
        /// The arguments, for the message.
        command: String,
        /// The timeout.
        after: Duration,
    },
    /// It failed.
    #[error("doveadm {command} exited with {status}: {stderr}")]
    Failed {
        /// The arguments, for the message.
        command: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// What it said on stderr (trimmed).
        stderr: String,
    },
    /// Its output does not have the expected shape.
    #[error("doveadm {command}: unexpected output: {error}")]
    Output {
        /// The arguments, for the message.
        command: String,
        /// What is wrong.
        error: OutputError,
    },
}

/// What is wrong with `doveadm`'s output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The table's header is not the expected one.
    #[error("header {got:?}, expected {expected:?}")]
    Header {
        /// The first line.
        got: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A line that does not have the expected shape.
    #[error("malformed line {0:?}")]
    Line(String),
    /// More than the limit.
    #[error("more than {OUTPUT_LIMIT} bytes")]
    TooLong,
    /// Not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
}

/// Why a Dovecot ACL has no Cyrus form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclMapError {
    /// An identifier Cyrus has no equivalent of (`authenticated`, `group-override=…`).
    #[error("identifier {0:?} has no Cyrus form")]
    Identifier(String),
    /// A right name that is not one of Dovecot's standard rights.
    #[error("right {0:?} has no RFC 4314 letter")]
    Right(String),
}

/// One row of `doveadm acl get`: an identifier and its rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclRow {
    /// Dovecot's identifier (`user=alice`, `owner`, `anyone`, `group=staff`).
    pub identifier: String,
    /// The right names granted (`lookup`, `read`).
    pub rights: Vec<String>,
    /// The right names denied (given as `-write`).
    pub denied: Vec<String>,
}

/// The lines of a `doveadm -f tab` table after its header line, which must be `header`.
fn table_rows<'a>(output: &'a str, header: &'static str) -> Result<Vec<&'a str>, OutputError> {
    let mut lines = output.split('\n');
    let first = lines.next().unwrap_or_default();
    if first != header {
        return Err(OutputError::Header {
            got: first.to_owned(),
            expected: header,
        });
    }
    let mut rows: Vec<&str> = lines.collect();
    if rows.last() == Some(&"") {
        rows.pop();
    }
    match rows.iter().find(|row| row.is_empty() || row.contains('\r')) {
        Some(bad) => Err(OutputError::Line((*bad).to_owned())),
        None => Ok(rows),
    }
}

/// Parses `doveadm -f tab user '*'`: one user per line.
pub fn parse_users(output: &str) -> Result<Vec<String>, OutputError> {
    let rows = table_rows(output, "")?;
    match rows.iter().find(|user| user.contains(char::is_control)) {
        Some(bad) => Err(OutputError::Line((*bad).to_owned())),
        None => Ok(rows.into_iter().map(str::to_owned).collect()),
    }
}

/// Parses `doveadm -f tab mailbox list`: one mailbox name per line.
pub fn parse_mailboxes(output: &str) -> Result<Vec<String>, OutputError> {
    let rows = table_rows(output, "mailbox")?;
    Ok(rows.into_iter().map(str::to_owned).collect())
}

/// Parses `doveadm -f tab acl get`: `identifier TAB [global] TAB rights`, the rights separated
/// by spaces, denied ones prefixed by `-`.
pub fn parse_acl(output: &str) -> Result<Vec<AclRow>, OutputError> {
    table_rows(output, "ID\tGlobal\tRights")?
        .into_iter()
        .map(|row| {
            let fields: Vec<&str> = row.split('\t').collect();
            let malformed = || OutputError::Line(row.to_owned());
            let [identifier, global, rights] = fields[..] else {
                return Err(malformed());
            };
            if identifier.is_empty() || !matches!(global, "" | "global") {
                return Err(malformed());
            }
            let (mut granted, mut denied) = (Vec::new(), Vec::new());
            for right in rights.split(' ').filter(|r| !r.is_empty()) {
                match right.strip_prefix('-') {
                    Some(name) => denied.push(name.to_owned()),
                    None => granted.push(right.to_owned()),
                }
            }
            Ok(AclRow {
                identifier: identifier.to_owned(),
                rights: granted,
                denied,
            })
        })
        .collect()
}

/// The Cyrus letters of Dovecot right names, in Cyrus's written form.
fn letters(names: &[String]) -> Result<Vec<u8>, AclMapError> {
    let mut rights = corvid_proto::acl::Rights::NONE;
    for name in names {
        let letter = RIGHT_LETTERS
            .iter()
            .find(|(known, _)| known == name)
            .map(|&(_, letter)| letter)
            .ok_or_else(|| AclMapError::Right(name.clone()))?;
        rights |= corvid_proto::acl::Rights::from_letter(letter)
            .ok_or_else(|| AclMapError::Right(name.clone()))?;
    }
    let mut out = Vec::new();
    rights.write(&mut out);
    Ok(out)
}

/// The Cyrus identifier of a Dovecot one, `None` for an `owner` that names nobody.
fn cyrus_identifier(identifier: &str, owner: Option<&str>) -> Result<Option<String>, AclMapError> {
    let unmappable = || AclMapError::Identifier(identifier.to_owned());
    let mapped = match identifier {
        "anyone" => "anyone".to_owned(),
        "owner" => return Ok(owner.map(str::to_owned)),
        _ => match (
            identifier.strip_prefix("user="),
            identifier.strip_prefix("group="),
        ) {
            (Some(user), _) => user.to_owned(),
            (_, Some(group)) => format!("group:{group}"),
            _ => return Err(unmappable()),
        },
    };
    // A leading `-` would read as a negative entry, a control byte would split the string.
    let bare = mapped.strip_prefix("group:").unwrap_or(&mapped);
    if bare.is_empty() || mapped.starts_with('-') || mapped.contains(char::is_control) {
        return Err(unmappable());
    }
    Ok(Some(mapped))
}

/// The Cyrus ACL string of Dovecot ACL `rows` for a mailbox owned by `owner` (its Cyrus
/// identifier; `None` for a shared folder). See the module doc for the mapping.
pub fn cyrus_acl(rows: &[AclRow], owner: Option<&str>) -> Result<Vec<u8>, AclMapError> {
    let mut acl = Vec::new();
    let mut push = |identifier: &str, negative: bool, rights: &[u8]| {
        if !rights.is_empty() {
            if negative {
                acl.push(b'-');
            }
            acl.extend_from_slice(identifier.as_bytes());
            acl.push(b'\t');
            acl.extend_from_slice(rights);
            acl.push(b'\t');
        }
    };
    if let Some(owner) = owner
        && !rows.iter().any(|row| row.identifier == "owner")
    {
        push(owner, false, OWNER_RIGHTS);
    }
    for row in rows {
        if let Some(identifier) = cyrus_identifier(&row.identifier, owner)? {
            push(&identifier, false, &letters(&row.rights)?);
            push(&identifier, true, &letters(&row.denied)?);
        }
    }
    Ok(acl)
}

/// What a name a user lists is, for the shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// The user's own mailbox.
    Own(String),
    /// A shared folder.
    Shared(String),
    /// Another user's mailbox, or a namespace root: not this user's to push.
    Skipped,
    /// A name the namespace cannot represent.
    Unmapped(NameError),
}

/// Classifies `mailbox` (UTF-8, as `doveadm` lists it) as `user` lists it.
pub fn classify(namespace: &Namespace, user: &User, mailbox: &str) -> Listed {
    match namespace.to_internal_utf8(user, mailbox) {
        Err(NameError::NamespaceRoot) => Listed::Skipped,
        Err(error) => Listed::Unmapped(error),
        Ok(internal) => match owner_of(internal.as_bytes()) {
            Some(owner) if &owner == user => Listed::Own(internal),
            Some(_) => Listed::Skipped,
            None => Listed::Shared(internal),
        },
    }
}

/// How to run `doveadm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doveadm {
    /// The program (`/usr/bin/doveadm`).
    pub program: PathBuf,
    /// Its `-c` configuration file, if not Dovecot's default.
    pub config: Option<PathBuf>,
    /// How long one run may take before it is killed.
    pub timeout: Duration,
}

/// What a pipe gave, up to a limit.
#[derive(Debug, Default)]
struct Limited {
    /// The bytes up to the limit.
    bytes: Vec<u8>,
    /// Whether more came (read and thrown away, so that the writer never blocks).
    cut: bool,
}

/// A thread reading a pipe.
type Reader = std::thread::JoinHandle<std::io::Result<Limited>>;

/// Reads `pipe` to its end on a thread of its own, keeping at most `limit` bytes.
fn read_limited(pipe: impl Read + Send + 'static, limit: u64) -> Reader {
    std::thread::spawn(move || {
        let mut pipe = pipe;
        let mut bytes = Vec::new();
        (&mut pipe).take(limit).read_to_end(&mut bytes)?;
        let cut = std::io::copy(&mut pipe, &mut std::io::sink())? > 0;
        Ok(Limited { bytes, cut })
    })
}

impl Doveadm {
    /// Runs `doveadm [-c config] -f tab ARGS` and returns its standard output. A run that
    /// outlives [`Doveadm::timeout`] is killed.
    fn run(&self, args: &[&str]) -> Result<String, DoveadmError> {
        let mut command = Command::new(&self.program);
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        command.args(["-f", "tab"]).args(args);
        let described = || args.join(" ");
        let spawn_error = |source| DoveadmError::Spawn {
            program: self.program.display().to_string(),
            source,
        };
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        let stdout = child
            .stdout
            .take()
            .map(|out| read_limited(out, OUTPUT_LIMIT));
        let stderr = child
            .stderr
            .take()
            .map(|err| read_limited(err, STDERR_LIMIT));
        let waited = child.wait_timeout(self.timeout);
        let Ok(Some(status)) = waited else {
            // The readers are left to finish on their own: a process doveadm started may
            // still hold the pipes.
            let _ = child.kill();
            let _ = child.wait();
            return Err(match waited {
                Err(error) => spawn_error(error),
                Ok(_) => DoveadmError::Timeout {
                    command: described(),
                    after: self.timeout,
                },
            });
        };
        let joined = |reader: Option<Reader>| {
            reader
                .and_then(|reader| reader.join().ok())
                .unwrap_or_else(|| Ok(Limited::default()))
        };
        let (stdout, stderr) = (joined(stdout), joined(stderr));
        if !status.success() {
            let stderr = stderr.unwrap_or_default().bytes;
            return Err(DoveadmError::Failed {
                command: described(),
                status,
                stderr: String::from_utf8_lossy(&stderr).trim().to_owned(),
            });
        }
        let stdout = stdout.map_err(spawn_error)?;
        let output_error = |error| DoveadmError::Output {
            command: described(),
            error,
        };
        if stdout.cut {
            return Err(output_error(OutputError::TooLong));
        }
        String::from_utf8(stdout.bytes).map_err(|_| output_error(OutputError::NotUtf8))
    }

    /// Runs `args` and parses the output with `parse`.
    fn query<T>(
        &self,
        args: &[&str],
        parse: impl FnOnce(&str) -> Result<T, OutputError>,
    ) -> Result<T, DoveadmError> {
        let output = self.run(args)?;
        parse(&output).map_err(|error| DoveadmError::Output {
            command: args.join(" "),
            error,
        })
    }

    /// Every user (`doveadm user '*'`).
    pub fn users(&self) -> Result<Vec<String>, DoveadmError> {
        self.query(&["user", "*"], parse_users)
    }

    /// The mailboxes `user` lists, every namespace included.
    pub fn mailboxes(&self, user: &str) -> Result<Vec<String>, DoveadmError> {
        self.query(&["mailbox", "list", "-u", user], parse_mailboxes)
    }

    /// The ACL of `user`'s `mailbox` (after `--`: a name may start with `-`).
    pub fn acl(&self, user: &str, mailbox: &str) -> Result<Vec<AclRow>, DoveadmError> {
        self.query(&["acl", "get", "-u", user, "--", mailbox], parse_acl)
    }

    /// Deletes `user`'s `mailbox`, its mail included (after `--`, as [`Doveadm::acl`]).
    pub fn delete_mailbox(&self, user: &str, mailbox: &str) -> Result<(), DoveadmError> {
        self.run(&["mailbox", "delete", "-u", user, "--", mailbox])
            .map(drop)
    }

    /// Everything the backend holds, as the master should see it. A user or a mailbox list that
    /// cannot be read fails the whole discovery (a partial view would remove that user's
    /// entries from the master); a mailbox whose ACL cannot be read or mapped is [`Unmapped`].
    pub fn discover(&self, namespace: &Namespace) -> Result<BackendView, DoveadmError> {
        let mut view = BackendView::default();
        for userid in self.users()? {
            let user = match namespace.user(&userid) {
                Ok(user) => user,
                Err(error) => {
                    view.unmapped.push(Unmapped {
                        origin: Origin {
                            user: userid.clone(),
                            mailbox: String::new(),
                        },
                        name: None,
                        reason: format!("user name: {error}"),
                    });
                    continue;
                }
            };
            for mailbox in self.mailboxes(&userid)? {
                let origin = Origin {
                    user: userid.clone(),
                    mailbox,
                };
                let (name, owner) = match classify(namespace, &user, &origin.mailbox) {
                    Listed::Skipped => continue,
                    Listed::Unmapped(error) => {
                        let reason = format!("name: {error}");
                        view.unmapped.push(Unmapped {
                            origin,
                            name: None,
                            reason,
                        });
                        continue;
                    }
                    Listed::Own(name) => (name, Some(userid.as_str())),
                    Listed::Shared(name) => (name, None),
                };
                let name = name.into_bytes();
                if view.holds(&name) {
                    continue;
                }
                let acl = self
                    .acl(&userid, &origin.mailbox)
                    .map_err(|error| error.to_string())
                    .and_then(|rows| cyrus_acl(&rows, owner).map_err(|e| format!("ACL: {e}")));
                match acl {
                    Ok(acl) => {
                        view.mailboxes.insert(name, BackendMailbox { acl, origin });
                    }
                    Err(reason) => view.unmapped.push(Unmapped {
                        origin,
                        name: Some(name),
                        reason,
                    }),
                }
            }
        }
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(identifier: &str, rights: &[&str], denied: &[&str]) -> AclRow {
        let owned = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        AclRow {
            identifier: identifier.into(),
            rights: owned(rights),
            denied: owned(denied),
        }
    }

    // Recorded from Dovecot 2.3.19.1 (`doveadm -f tab ...`).
    const USERS: &str = "\nalice\nbob\n";
    const MAILBOXES: &str = "mailbox\nWork\nOther Users\nShared Folders\nShared Folders/lists\n\
        Other Users/alice\nOther Users/alice/Sent\nINBOX\n";
    const ACL: &str = "ID\tGlobal\tRights\nanyone\t\tpost\nowner\t\tadmin lookup read\n\
        user=bob\t\tlookup read write-seen\nuser=carol\t\t-write\ngroup=staff\t\tlookup\n";
    const EMPTY_ACL: &str = "ID\tGlobal\tRights\n";
    const PUBLIC_ACL: &str = "ID\tGlobal\tRights\nanyone\t\tcreate delete expunge insert \
        lookup post read write write-deleted write-seen";

    #[test]
    fn users_and_mailboxes_parse() {
        assert_eq!(parse_users(USERS).unwrap(), ["alice", "bob"]);
        assert_eq!(parse_users("\n").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_mailboxes(MAILBOXES).unwrap(),
            [
                "Work",
                "Other Users",
                "Shared Folders",
                "Shared Folders/lists",
                "Other Users/alice",
                "Other Users/alice/Sent",
                "INBOX"
            ]
        );
    }

    #[test]
    fn unexpected_output_is_refused() {
        assert!(parse_users("alice\nbob\n").is_err(), "no header");
        assert!(parse_users("\nalice\n\nbob\n").is_err(), "an empty line");
        assert!(parse_users("\nal\x01ice\n").is_err());
        assert!(parse_mailboxes("").is_err());
        assert!(parse_mailboxes("name\nINBOX\n").is_err());
        assert!(parse_mailboxes("mailbox\nINBOX\r\n").is_err());
        assert!(parse_acl("ID Global Rights\n").is_err());
        assert!(parse_acl("ID\tGlobal\tRights\nanyone\tpost\n").is_err());
        assert!(parse_acl("ID\tGlobal\tRights\nanyone\t\tpost\textra\n").is_err());
        assert!(parse_acl("ID\tGlobal\tRights\n\t\tpost\n").is_err());
        assert!(parse_acl("ID\tGlobal\tRights\nanyone\tlocal\tpost\n").is_err());
    }

    #[test]
    fn acl_rows_parse() {
        assert_eq!(
            parse_acl(ACL).unwrap(),
            [
                row("anyone", &["post"], &[]),
                row("owner", &["admin", "lookup", "read"], &[]),
                row("user=bob", &["lookup", "read", "write-seen"], &[]),
                row("user=carol", &[], &["write"]),
                row("group=staff", &["lookup"], &[]),
            ]
        );
        assert_eq!(parse_acl(EMPTY_ACL).unwrap(), []);
        assert_eq!(
            parse_acl("ID\tGlobal\tRights\nanyone\tglobal\tlookup -read\n").unwrap(),
            [row("anyone", &["lookup"], &["read"])]
        );
    }

    #[test]
    fn acls_map_to_cyrus_strings() {
        let rows = parse_acl(ACL).unwrap();
        assert_eq!(
            cyrus_acl(&rows, Some("alice")).unwrap(),
            b"anyone\tp\talice\tlra\tbob\tlrs\t-carol\tw\tgroup:staff\tl\t"
        );
        // No ACL: the owner has every right, as Cyrus shows an owner.
        assert_eq!(
            cyrus_acl(&[], Some("alice")).unwrap(),
            b"alice\tlrswipkxtecdan\t"
        );
        // Entries but no `owner` one: the owner still has every right, listed first.
        assert_eq!(
            cyrus_acl(&[row("user=bob", &["lookup"], &[])], Some("alice")).unwrap(),
            b"alice\tlrswipkxtecdan\tbob\tl\t"
        );
        // Every Dovecot right: Cyrus's written form with its legacy c and d.
        assert_eq!(
            cyrus_acl(&parse_acl(PUBLIC_ACL).unwrap(), None).unwrap(),
            b"anyone\tlrswipkxtecd\t"
        );
        // In the public namespace `owner` names nobody.
        assert_eq!(
            cyrus_acl(&[row("owner", &["admin"], &[])], None).unwrap(),
            b""
        );
        // An entry granting nothing is left out; one both granting and denying gives two.
        assert_eq!(
            cyrus_acl(
                &[
                    row("user=bob", &[], &[]),
                    row("anyone", &["lookup"], &["read"])
                ],
                None
            )
            .unwrap(),
            b"anyone\tl\t-anyone\tr\t"
        );
    }

    #[test]
    fn acls_without_a_cyrus_form_are_refused() {
        for identifier in [
            "authenticated",
            "group-override=staff",
            "user=",
            "user=-bob",
            "group=",
        ] {
            assert_eq!(
                cyrus_acl(&[row(identifier, &["lookup"], &[])], None),
                Err(AclMapError::Identifier(identifier.into())),
            );
        }
        assert_eq!(
            cyrus_acl(&[row("anyone", &["lookup", "annotate"], &[])], None),
            Err(AclMapError::Right("annotate".into())),
        );
        assert_eq!(
            cyrus_acl(&[row("anyone", &[], &["bogus"])], None),
            Err(AclMapError::Right("bogus".into())),
        );
    }

    /// A "doveadm" that is `sh -c SCRIPT` (run's `-c` carries the script; the rest of the
    /// arguments become the script's `$0`, `$1`, ...).
    fn shell(script: &str, timeout: Duration) -> Doveadm {
        Doveadm {
            program: "/bin/sh".into(),
            config: Some(script.into()),
            timeout,
        }
    }

    #[test]
    fn runs_are_bounded_and_their_failures_explained() {
        let second = Duration::from_secs(10);
        assert_eq!(
            shell(r"printf '\nalice\n'", second).users().unwrap(),
            ["alice"]
        );
        match shell("echo broken >&2; exit 3", second).users() {
            Err(DoveadmError::Failed { stderr, status, .. }) => {
                assert_eq!(stderr, "broken");
                assert_eq!(status.code(), Some(3));
            }
            other => panic!("{other:?}"),
        }
        let started = std::time::Instant::now();
        let hung = shell("exec sleep 30", Duration::from_millis(200)).users();
        assert!(
            matches!(hung, Err(DoveadmError::Timeout { .. })),
            "{hung:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            shell(r"printf 'mailbox\n\377\n'", second).mailboxes("alice"),
            Err(DoveadmError::Output {
                error: OutputError::NotUtf8,
                ..
            })
        ));
        assert!(matches!(
            shell("echo users", second).users(),
            Err(DoveadmError::Output {
                error: OutputError::Header { .. },
                ..
            })
        ));
        let missing = Doveadm {
            program: "/nonexistent/doveadm".into(),
            config: None,
            timeout: second,
        };
        assert!(matches!(missing.users(), Err(DoveadmError::Spawn { .. })));
    }

    #[test]
    fn listed_names_are_classified() {
        let namespace = Namespace::default();
        let alice = namespace.user("alice").unwrap();
        let classify = |name| classify(&namespace, &alice, name);
        assert_eq!(classify("INBOX"), Listed::Own("user.alice".into()));
        assert_eq!(
            classify("Sent/2024"),
            Listed::Own("user.alice.Sent.2024".into())
        );
        assert_eq!(
            classify("my.folder"),
            Listed::Own("user.alice.my^folder".into())
        );
        assert_eq!(
            classify("Ünï"),
            Listed::Own("user.alice.&ANw-n&AO8-".into())
        );
        assert_eq!(
            classify("Shared Folders/lists"),
            Listed::Shared(
                namespace
                    .to_internal(&alice, b"Shared Folders/lists")
                    .unwrap()
            )
        );
        for skipped in [
            "Shared Folders",
            "Other Users",
            "Other Users/bob",
            "Other Users/bob/Work",
        ] {
            assert_eq!(classify(skipped), Listed::Skipped, "{skipped}");
        }
        assert!(matches!(classify("a^b"), Listed::Unmapped(_)));
        assert!(matches!(classify("a//b"), Listed::Unmapped(_)));
    }
}
