//! RENAME and DELETE through `corvid proxy`, end to end: with two corvid reference backends
//! (each registers its changes with the `corvid mupdate` master itself) and with two real
//! Dovecot backends the proxy registers for (`--unregistered`).
//!
//! john renames a mailbox with a child and messages on his backend: the LIST sent right
//! behind the OK shows the new names, the master has them (and not the old ones), and the
//! messages are there with their flags. The perimeter answers what a backend would: the new
//! name taken (`ALREADYEXISTS`), the old one missing (`NONEXISTENT`), `x` or `k` missing
//! (`NOPERM`), and a new name whose parent lives on the other backend (`CANNOT`: mailboxes are
//! not moved between backends). A DELETE is gone from the master and from LIST at once.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::backend::{CorvidBackend, two_registered};
use support::corvid::{CorvidMaster, CorvidProxy};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{Entry, ImapClient, MupdateMaster, imap_quote, wait_until};

const JOHN: (&str, &str) = ("john", "john-pw");
const JANE: (&str, &str) = ("jane", "jane-pw");
const PROXY: (&str, &str) = ("proxy", "proxy-pw");

/// The rights john has on jane's INBOX: he sees it and may create below it.
const JOHN_ON_JANE: &str = "lrk";

/// A murder: the master, the proxy, and the backends (kept alive behind them).
struct Murder {
    master: CorvidMaster,
    proxy: CorvidProxy,
    _backends: Backends,
}

/// The backends of a murder, held until it ends.
#[allow(dead_code)]
enum Backends {
    Corvid(Box<[CorvidBackend; 2]>),
    Dovecot(Box<[Dovecot; 2]>),
}

impl Murder {
    /// Two corvid backends: john's INBOX on be1, jane's on be2, shared with john.
    fn corvid() -> Murder {
        let (master, be1, be2) = two_registered(&[JOHN, JANE, PROXY], &["--proxy-user", PROXY.0]);
        ImapClient::login(&be1.addr(), JOHN.0, JOHN.1)
            .unwrap()
            .logout();
        let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
        jane.setacl("INBOX", JOHN.0, JOHN_ON_JANE).unwrap();
        jane.logout();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &format!("{}:{}", PROXY.0, PROXY.1),
            &[],
        );
        Murder {
            master,
            proxy,
            _backends: Backends::Corvid(Box::new([be1, be2])),
        }
        .ready()
    }

    /// Two Dovecot backends the proxy registers for; the master told of the INBOXes by hand.
    fn dovecot() -> Murder {
        let users = [JOHN, JANE];
        let be1 = Dovecot::start("be1", &users);
        let be2 = Dovecot::start("be2", &users);
        let master = CorvidMaster::start();
        let mut admin = master.endpoint().connect().unwrap();
        let all = "lrswipkxtecda";
        admin
            .activate("user.john", "be1!default", &format!("john\t{all}\t"))
            .unwrap();
        let jane_acl = format!("jane\t{all}\tjohn\t{JOHN_ON_JANE}\t");
        admin
            .activate("user.jane", "be2!default", &jane_acl)
            .unwrap();
        admin.logout();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &format!("{MASTER_USER}:{MASTER_PASSWORD}"),
            &["--unregistered", "be1", "--unregistered", "be2"],
        );
        Murder {
            master,
            proxy,
            _backends: Backends::Dovecot(Box::new([be1, be2])),
        }
        .ready()
    }

    /// Waits until john logs in and sees jane's INBOX through the proxy.
    fn ready(self) -> Murder {
        let ready = wait_until(Duration::from_secs(20), || {
            let mut john = self.login(JOHN).ok()?;
            let seen = john.ok("MYRIGHTS \"Other Users/jane\"").ok();
            john.logout();
            seen
        });
        assert!(
            ready.is_some(),
            "john never saw jane:\n{}",
            self.proxy.logs()
        );
        self
    }

    fn login(&self, (user, password): (&str, &str)) -> std::io::Result<ImapClient> {
        ImapClient::login(&self.proxy.addr(), user, password)
    }

    /// The master's entries under `prefix`.
    fn entries(&self, prefix: &str) -> BTreeMap<String, Entry> {
        support::table(&self.master.endpoint().list(None))
            .into_iter()
            .filter(|(name, _)| name.starts_with(prefix))
            .collect()
    }
}

/// The names a `LIST "" pattern` answers, in its order.
fn listed(client: &mut ImapClient, pattern: &str) -> Vec<String> {
    let untagged = client
        .ok(&format!("LIST \"\" {}", imap_quote(pattern)))
        .unwrap();
    untagged
        .iter()
        .filter_map(|line| {
            let name = line.strip_prefix("* LIST ")?.rsplit_once(" \"/\" ")?.1;
            Some(name.trim_matches('"').to_string())
        })
        .collect()
}

/// The flags of every message of `mailbox`, in order (EXAMINEd: nothing changes).
fn flags(client: &mut ImapClient, mailbox: &str) -> Vec<String> {
    client
        .ok(&format!("EXAMINE {}", imap_quote(mailbox)))
        .unwrap();
    let fetched = client.ok("FETCH 1:* (FLAGS)").unwrap();
    client.ok("UNSELECT").unwrap();
    fetched
        .iter()
        .filter_map(|line| {
            let flags = line.split_once("FLAGS (")?.1.split_once(')')?.0;
            Some(flags.to_string())
        })
        .collect()
}

/// The story both murders run (see the module doc).
fn rename_and_delete(murder: &Murder, backend_of_john: &str) {
    let mut john = murder.login(JOHN).unwrap();
    john.create("Projects").unwrap();
    john.create("Projects/2026").unwrap();
    john.create("Kept").unwrap();
    for (n, flag) in ["\\Flagged", "\\Seen", ""].iter().enumerate() {
        let message = format!("Subject: {n}\r\n\r\nbody {n}\r\n");
        let command = format!(
            "APPEND Projects ({flag}) {{{}+}}\r\n{message}",
            message.len()
        );
        john.ok(&command).unwrap();
    }
    let before = flags(&mut john, "Projects");
    assert_eq!(before.len(), 3);

    // The LIST goes right behind the RENAME's OK: it sees the change.
    john.rename("Projects", "Work")
        .unwrap_or_else(|error| panic!("{error}\n{}", murder.proxy.logs()));
    assert_eq!(listed(&mut john, "*o*"), ["Work", "Work/2026"]);
    let location = format!("{backend_of_john}!default");
    let entries = murder.entries("user.john.");
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["user.john.Kept", "user.john.Work", "user.john.Work.2026"]
    );
    for (name, entry) in &entries {
        assert!(
            entry.location.starts_with(&format!("{backend_of_john}!")) && entry.acl.is_some(),
            "{name}: {entry:?} (expected active at {location})"
        );
    }
    assert_eq!(flags(&mut john, "Work"), before, "the messages came along");

    // What the perimeter refuses, as a backend would.
    for (command, answer) in [
        ("RENAME Work Kept", "NO [ALREADYEXISTS]"),
        ("RENAME Nowhere Elsewhere", "NO [NONEXISTENT]"),
        ("RENAME \"Other Users/jane\" Mine", "NO [NOPERM]"),
        ("DELETE \"Other Users/jane\"", "NO [NOPERM]"),
        ("RENAME Work \"Other Users/jane/Work\"", "NO [CANNOT]"),
    ] {
        let (_, tagged) = john.command(command).unwrap();
        assert!(tagged.contains(answer), "{command}: {tagged}");
    }
    assert!(
        murder.entries("user.jane.").is_empty(),
        "nothing moved to be2"
    );

    // DELETE: gone from the master and from LIST at once.
    john.delete("Work/2026").unwrap();
    assert_eq!(listed(&mut john, "Work*"), ["Work"]);
    assert!(
        !murder
            .entries("user.john.")
            .contains_key("user.john.Work.2026")
    );
    john.logout();
}

#[test]
fn corvid_rename_and_delete_keep_the_master_and_list_in_step() {
    let murder = Murder::corvid();
    rename_and_delete(&murder, "be1");
}

#[test]
fn dovecot_rename_and_delete_keep_the_master_and_list_in_step() {
    let murder = Murder::dovecot();
    rename_and_delete(&murder, "be1");
}
