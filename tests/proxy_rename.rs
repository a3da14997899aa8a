//! RENAME and DELETE through `corvid proxy`, end to end: with two corvid reference backends
//! (each registers its changes with the `corvid mupdate` master itself) and with two real
//! Dovecot backends the proxy registers for (`--unregistered`).
//!
//! john renames a mailbox with a child and messages on his backend: the LIST sent right
//! behind the OK shows the new names, the master has them (and not the old ones), and the
//! messages are there with their flags. The perimeter answers what a backend would: the new
//! name taken (`ALREADYEXISTS`), the old one missing (`NONEXISTENT`), `x` or `k` missing
//! (`NOPERM`), a third argument from a user who is not an administrator (`NO Permission
//! denied`, as Cyrus says). A DELETE is gone from the master and from LIST at once.
//!
//! RENAME across backends: john's `Remote` lives on be2; renaming a mailbox of his be1 below
//! it moves the messages there with their flags, internal dates and sizes, the master shows
//! the new place and not the old, and a LIST right after shows it. A move of 20 messages of
//! 1 MB whose destination is killed half-way answers `NO` with the source intact; with the
//! destination back, the same RENAME finishes with exactly the 20 messages.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use support::backend::{CorvidBackend, two_registered};
use support::corvid::{CorvidMaster, CorvidProxy};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{Entry, ImapClient, MupdateMaster, imap_quote, wait_until};

const JOHN: (&str, &str) = ("john", "john-pw");
const JANE: (&str, &str) = ("jane", "jane-pw");
const PROXY: (&str, &str) = ("proxy", "proxy-pw");
/// An administrator (of the proxy and of the corvid backends), his INBOX on be1.
const BOSS: (&str, &str) = ("boss", "boss-pw");

/// The rights john has on jane's INBOX: he sees it and may create below it.
const JOHN_ON_JANE: &str = "lrk";

/// A murder: the master, the proxy, and the backends (kept alive behind them).
struct Murder {
    master: CorvidMaster,
    proxy: CorvidProxy,
    backends: Backends,
}

/// The backends of a murder, held until it ends.
enum Backends {
    Corvid(Box<[CorvidBackend; 2]>),
    Dovecot(Box<[Dovecot; 2]>),
}

impl Murder {
    /// Two corvid backends: john's INBOX on be1, jane's on be2, shared with john.
    fn corvid() -> Murder {
        let (master, be1, be2) = two_registered(
            &[JOHN, JANE, BOSS, PROXY],
            &["--proxy-user", PROXY.0, "--admin", BOSS.0],
        );
        for user in [JOHN, BOSS] {
            ImapClient::login(&be1.addr(), user.0, user.1)
                .unwrap()
                .logout();
        }
        let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
        jane.setacl("INBOX", JOHN.0, JOHN_ON_JANE).unwrap();
        jane.logout();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &format!("{}:{}", PROXY.0, PROXY.1),
            &["--admin", BOSS.0],
        );
        Murder {
            master,
            proxy,
            backends: Backends::Corvid(Box::new([be1, be2])),
        }
        .ready()
    }

    /// Two Dovecot backends the proxy registers for; the master told of the INBOXes by hand.
    fn dovecot() -> Murder {
        let users = [JOHN, JANE, BOSS];
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
        admin
            .activate("user.boss", "be1!default", &format!("boss\t{all}\t"))
            .unwrap();
        admin.logout();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &format!("{MASTER_USER}:{MASTER_PASSWORD}"),
            &[
                "--unregistered",
                "be1",
                "--unregistered",
                "be2",
                "--admin",
                BOSS.0,
            ],
        );
        Murder {
            master,
            proxy,
            backends: Backends::Dovecot(Box::new([be1, be2])),
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

    /// Creates john's `Remote` on be2, as its backend would have it, and waits until the
    /// proxy shows it.
    fn remote_folder_on_be2(&self) {
        match &self.backends {
            Backends::Corvid(backends) => {
                let mut john = ImapClient::login(&backends[1].addr(), JOHN.0, JOHN.1).unwrap();
                john.create("Remote").unwrap();
                john.logout();
            }
            Backends::Dovecot(backends) => {
                backends[1].create_mailbox(JOHN.0, "Remote");
                let mut admin = self.master.endpoint().connect().unwrap();
                let acl = "john\tlrswipkxtecda\t";
                admin
                    .activate("user.john.Remote", "be2!default", acl)
                    .unwrap();
                admin.logout();
            }
        }
        let shown = wait_until(Duration::from_secs(20), || {
            let mut john = self.login(JOHN).ok()?;
            let seen = listed(&mut john, "Remote") == ["Remote"];
            john.logout();
            seen.then_some(())
        });
        assert!(
            shown.is_some(),
            "Remote never shown:\n{}",
            self.proxy.logs()
        );
    }

    /// Kills be2 (SIGKILL), as a crash would.
    fn kill_be2(&mut self) {
        match &mut self.backends {
            Backends::Corvid(backends) => backends[1].kill(),
            Backends::Dovecot(backends) => backends[1].kill(),
        }
    }

    /// Starts the killed be2 again, its mail kept.
    fn restart_be2(&mut self) {
        match &mut self.backends {
            Backends::Corvid(backends) => backends[1].start_again(),
            Backends::Dovecot(backends) => backends[1].restart(),
        }
    }

    /// be1's address.
    fn be1_addr(&self) -> String {
        match &self.backends {
            Backends::Corvid(backends) => backends[0].addr(),
            Backends::Dovecot(backends) => backends[0].addr(),
        }
    }

    /// Lets jane read john's `Sent`: as john says so through the proxy (corvid), or in the
    /// master (Dovecot, whose backends keep no ACL here: the proxy's perimeter decides).
    fn share_sent_with_jane(&self, john: &mut ImapClient) {
        match &self.backends {
            Backends::Corvid(_) => {
                john.ok("SETACL Sent jane lr").unwrap();
            }
            Backends::Dovecot(_) => {
                let mut admin = self.master.endpoint().connect().unwrap();
                let acl = "john\tlrswipkxtecda\tjane\tlr\t";
                admin
                    .activate("user.john.Sent", "be1!default", acl)
                    .unwrap();
                admin.logout();
            }
        }
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
        ("RENAME Work Elsewhere be2", "NO Permission denied"),
    ] {
        let (_, tagged) = john.command(command).unwrap();
        assert!(tagged.contains(answer), "{command}: {tagged}");
    }

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

/// Every message of `mailbox` as `FLAGS (..) INTERNALDATE ".." RFC822.SIZE n`, in order,
/// without `\Recent` (which only says which session saw it first).
fn messages(client: &mut ImapClient, mailbox: &str) -> Vec<String> {
    let examined = client
        .ok(&format!("EXAMINE {}", imap_quote(mailbox)))
        .unwrap();
    let empty = examined.iter().any(|line| line == "* 0 EXISTS");
    let fetched = if empty {
        Vec::new()
    } else {
        client
            .ok("FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)")
            .unwrap()
    };
    client.ok("UNSELECT").unwrap();
    fetched
        .iter()
        .filter_map(|line| {
            let flags = line.split_once("FLAGS (")?.1.split_once(')')?.0;
            let mut flags: Vec<&str> = flags
                .split(' ')
                .filter(|flag| !flag.is_empty() && *flag != "\\Recent")
                .collect();
            flags.sort_unstable();
            let date = line.split_once("INTERNALDATE \"")?.1.split_once('"')?.0;
            let size = line.split_once("RFC822.SIZE ")?.1;
            let size: String = size.chars().take_while(char::is_ascii_digit).collect();
            Some(format!(
                "FLAGS ({}) INTERNALDATE \"{date}\" RFC822.SIZE {size}",
                flags.join(" ")
            ))
        })
        .collect()
}

/// A message of at least `size` bytes with `subject`, CRLF line ends.
fn message(subject: &str, size: usize) -> String {
    let mut text = format!("From: john@example.com\r\nSubject: {subject}\r\n\r\n");
    while text.len() < size {
        text.push_str("the quick brown fox jumps over the lazy dog, again and again\r\n");
    }
    text
}

/// APPENDs `text` to `mailbox` with `flags` and `date`.
fn append(client: &mut ImapClient, mailbox: &str, flags: &str, date: &str, text: &str) {
    let command = format!(
        "APPEND {} ({flags}) \"{date}\" {{{}+}}\r\n{text}",
        imap_quote(mailbox),
        text.len()
    );
    client.ok(&command).unwrap();
}

/// The subjects of the messages of `mailbox`.
fn subjects(client: &mut ImapClient, mailbox: &str) -> Vec<String> {
    let examined = client
        .ok(&format!("EXAMINE {}", imap_quote(mailbox)))
        .unwrap();
    if examined.iter().any(|line| line == "* 0 EXISTS") {
        return Vec::new();
    }
    let fetched = client
        .ok("FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .unwrap();
    client.ok("UNSELECT").unwrap();
    fetched
        .iter()
        .flat_map(|line| line.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|line| Some(line.strip_prefix("Subject: ")?.trim().to_string()))
        .collect()
}

/// The story of a RENAME across backends both murders run (see the module doc).
fn rename_across_backends(murder: &mut Murder) {
    murder.remote_folder_on_be2();
    let mut john = murder.login(JOHN).unwrap();
    john.create("Travel").unwrap();
    for (n, (flags, date)) in [
        ("\\Seen", "01-Mar-2024 09:15:00 +0100"),
        ("\\Flagged $Booked", "12-Jun-2025 18:00:00 +0000"),
        ("", "31-Dec-2025 23:59:59 -0500"),
    ]
    .into_iter()
    .enumerate()
    {
        append(
            &mut john,
            "Travel",
            flags,
            date,
            &message(&format!("trip {n}"), 2000 + n),
        );
    }
    let before = messages(&mut john, "Travel");
    assert_eq!(before.len(), 3);

    let (_, tagged) = john.command("RENAME Travel Remote/Travel").unwrap();
    assert!(tagged.contains("OK"), "{tagged}\n{}", murder.proxy.logs());
    assert_eq!(listed(&mut john, "*Travel*"), ["Remote/Travel"]);
    let entries = murder.entries("user.john.");
    assert!(!entries.contains_key("user.john.Travel"), "{entries:?}");
    let moved = &entries["user.john.Remote.Travel"];
    assert!(moved.location.starts_with("be2!"), "{moved:?}");
    assert_eq!(messages(&mut john, "Remote/Travel"), before);
    let (_, tagged) = john.command("EXAMINE Travel").unwrap();
    assert!(tagged.contains("NO"), "the source is gone: {tagged}");

    // An interrupted move: be2 killed once a few of 20 messages of 1 MB went.
    john.create("Big").unwrap();
    let all: BTreeSet<String> = (1..=20).map(|n| format!("big {n}")).collect();
    for subject in &all {
        append(
            &mut john,
            "Big",
            "\\Seen",
            "02-Feb-2025 08:00:00 +0000",
            &message(subject, 1 << 20),
        );
    }
    john.logout();
    let mut john = murder.login(JOHN).unwrap();
    let written = murder.proxy.metric_total("backend_written_bytes");
    let moving = std::thread::spawn(move || {
        let answer = john.command("RENAME Big Remote/Big").unwrap().1;
        (john, answer)
    });
    let started = Instant::now();
    while murder.proxy.metric_total("backend_written_bytes") < written + (5 << 20) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the move never got going"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    murder.kill_be2();
    let (mut john, answer) = moving.join().unwrap();
    assert!(
        answer.contains("NO") && answer.contains("the source mailbox is intact"),
        "{answer}"
    );
    let subjects_left: BTreeSet<String> = subjects(&mut john, "Big").into_iter().collect();
    assert_eq!(subjects_left, all, "the source is intact");

    murder.restart_be2();
    let mut answers = Vec::new();
    let finished = wait_until(Duration::from_secs(30), || {
        let (_, tagged) = john.command("RENAME Big Remote/Big").unwrap();
        answers.push(tagged.clone());
        tagged.contains("OK").then_some(tagged)
    });
    assert!(finished.is_some(), "the move never finished: {answers:#?}");
    let at_destination = subjects(&mut john, "Remote/Big");
    assert_eq!(
        at_destination.len(),
        20,
        "no duplicates: {at_destination:?}"
    );
    assert_eq!(at_destination.into_iter().collect::<BTreeSet<_>>(), all);
    assert_eq!(listed(&mut john, "*Big*"), ["Remote/Big"]);
    john.logout();
}

#[test]
fn corvid_rename_across_backends_moves_the_messages_and_resumes_when_interrupted() {
    let mut murder = Murder::corvid();
    rename_across_backends(&mut murder);
}

#[test]
fn dovecot_rename_across_backends_moves_the_messages_and_resumes_when_interrupted() {
    let mut murder = Murder::dovecot();
    rename_across_backends(&mut murder);
}

/// john's mailboxes and what a move must carry of each.
const JOHNS: [&str; 3] = ["INBOX", "Sent", "Sent/2026"];

/// The story of an administrator moving john to be2 both murders run: a non-admin is
/// refused, a move whose destination is killed half-way leaves what it did not switch at be1
/// and loses nothing, the same RENAME finishes it, and john and jane see everything after.
fn move_a_user(murder: &mut Murder) {
    let mut john = murder.login(JOHN).unwrap();
    john.create("Sent").unwrap();
    john.create("Sent/2026").unwrap();
    for (n, (flags, date)) in [
        ("\\Seen", "01-Mar-2024 09:15:00 +0100"),
        ("\\Flagged $Work", "12-Jun-2025 18:00:00 +0000"),
    ]
    .into_iter()
    .enumerate()
    {
        append(
            &mut john,
            "INBOX",
            flags,
            date,
            &message(&format!("in {n}"), 500),
        );
    }
    append(
        &mut john,
        "Sent",
        "\\Seen \\Answered",
        "31-Dec-2025 23:59:59 -0500",
        &message("sent", 700),
    );
    for n in 1..=12 {
        append(
            &mut john,
            "Sent/2026",
            if n % 2 == 0 { "\\Seen" } else { "" },
            "02-Feb-2026 08:00:00 +0000",
            &message(&format!("big {n}"), 1 << 20),
        );
    }
    murder.share_sent_with_jane(&mut john);
    let before: Vec<Vec<String>> = JOHNS.iter().map(|m| messages(&mut john, m)).collect();
    assert_eq!(before.iter().map(Vec::len).collect::<Vec<_>>(), [2, 1, 12]);
    let (_, tagged) = john
        .command("RENAME \"Other Users/john\" \"Other Users/john\" be2")
        .unwrap();
    assert!(tagged.contains("NO Permission denied"), "{tagged}");
    let (_, tagged) = john.command("RENAME INBOX INBOX be2").unwrap();
    assert!(tagged.contains("NO Permission denied"), "{tagged}");
    john.logout();

    // Interrupted: be2 killed while the 12 MB of Sent/2026 go.
    let mut boss = murder.login(BOSS).unwrap();
    let written = murder.proxy.metric_total("backend_written_bytes");
    let rename = "RENAME \"Other Users/john\" \"Other Users/john\" be2";
    let moving = std::thread::spawn(move || {
        let answer = boss.command(rename).unwrap().1;
        (boss, answer)
    });
    let started = Instant::now();
    while murder.proxy.metric_total("backend_written_bytes") < written + (5 << 20) {
        if moving.is_finished() {
            let (_, answer) = moving.join().unwrap();
            panic!("the move ended early: {answer}\n{}", murder.proxy.logs());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the move never got going:\n{}",
            murder.proxy.logs()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    murder.kill_be2();
    let (mut boss, answer) = moving.join().unwrap();
    assert!(
        answer.contains("NO") && answer.contains("intact at be1"),
        "{answer}"
    );
    let entries = murder.entries("user.john");
    let at = |name: &str| {
        entries[name]
            .location
            .split('!')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(at("user.john.Sent.2026"), "be1", "{entries:?}");
    assert!(entries["user.john.Sent.2026"].acl.is_some(), "still active");

    murder.restart_be2();
    let mut answers = Vec::new();
    let finished = wait_until(Duration::from_secs(30), || {
        let (_, tagged) = boss.command(rename).unwrap();
        answers.push(tagged.clone());
        tagged.contains("OK").then_some(tagged)
    });
    assert!(
        finished.is_some(),
        "the move never finished: {answers:#?}\n{}",
        murder.proxy.logs()
    );
    // Again: nothing left to move.
    let (_, tagged) = boss.command(rename).unwrap();
    assert!(tagged.contains("NO [CANNOT]"), "{tagged}");
    boss.logout();

    let entries = murder.entries("user.john");
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["user.john", "user.john.Sent", "user.john.Sent.2026"]
    );
    for (name, entry) in &entries {
        assert!(
            entry.location.starts_with("be2!") && entry.acl.is_some(),
            "{name}: {entry:?}"
        );
    }
    assert!(
        entries["user.john.Sent"]
            .acl
            .as_deref()
            .unwrap()
            .contains("jane\tlr\t")
    );

    // be1 has none of it any more (Dovecot keeps john's INBOX, emptied).
    let mut direct = ImapClient::login(&murder.be1_addr(), JOHN.0, JOHN.1).unwrap();
    let left: Vec<String> = listed(&mut direct, "*")
        .into_iter()
        .filter(|name| name != "INBOX")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let (_, tagged) = direct.command("EXAMINE INBOX").unwrap();
    if tagged.contains("OK") {
        assert_eq!(messages(&mut direct, "INBOX"), Vec::<String>::new());
    }
    direct.logout();

    // john logs in (checked by his INBOX's new backend) and finds everything, once.
    let mut john = murder.login(JOHN).unwrap();
    let after: Vec<Vec<String>> = JOHNS.iter().map(|m| messages(&mut john, m)).collect();
    assert_eq!(after, before);
    let mut subjects_2026 = subjects(&mut john, "Sent/2026");
    subjects_2026.sort();
    subjects_2026.dedup();
    assert_eq!(subjects_2026.len(), 12);
    john.logout();
    let mut jane = murder.login(JANE).unwrap();
    let rights = jane.ok("MYRIGHTS \"Other Users/john/Sent\"").unwrap();
    assert!(rights.iter().any(|line| line.contains("lr")), "{rights:?}");
    if let Backends::Corvid(_) = murder.backends {
        assert_eq!(messages(&mut jane, "Other Users/john/Sent"), before[1]);
    }
    jane.logout();
}

#[test]
fn corvid_an_admin_moves_a_user_to_another_backend_resuming_when_interrupted() {
    let mut murder = Murder::corvid();
    move_a_user(&mut murder);
}

#[test]
fn dovecot_an_admin_moves_a_user_to_another_backend_resuming_when_interrupted() {
    let mut murder = Murder::dovecot();
    move_a_user(&mut murder);
}
