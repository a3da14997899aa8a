//! Murder semantics through `corvid proxy`: COPY and MOVE between backends, with two corvid
//! reference backends and two real Cyrus 3.6 backends (each registering its mailboxes with a
//! `corvid mupdate` master), and with two real Dovecot backends (the master told by hand).
//!
//! john's INBOX is on be1; jane's mailbox on be2 is shared with him (`lrsi`): her INBOX on the
//! corvid and Cyrus backends, her `Drop` on Dovecot (whose shared namespace names another user's
//! INBOX `Other Users/jane/INBOX`, which the proxy's namespace does not). Each murder runs the
//! seed's story (john MOVEs a message to jane, who sees it with its flags and date), a COPY of
//! several messages, one of 10 MB, checked against the destination's UIDs, and a 20-message
//! MOVE whose destination is killed half-way: no message lost, and john told what happened.
//! The ignored `measure_copy_throughput` measures cross-backend COPY against same-backend COPY
//! with each, and against a real Cyrus murder frontend (docs/benchmarking.md).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::backend::{CorvidBackend, two_registered};
use support::corvid::{CorvidMaster, CorvidProxy};
use support::cyrus::{self, CyrusBackend, proxy_user};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{ImapClient, MupdateMaster, imap_quote, wait_until};

// The users of the corvid and Dovecot backends, with the passwords [`test_password`] gives.
const JOHN: (&str, &str) = ("john", "john-pw");
const JANE: (&str, &str) = ("jane", "jane-pw");
const PROXY: (&str, &str) = ("proxy", "proxy-pw");

/// The password of a user of the corvid and Dovecot backends.
fn test_password(user: &str) -> String {
    format!("{user}-pw")
}

/// The backends of a murder.
#[allow(clippy::large_enum_variant)] // one per test, never moved about
enum Backends {
    Corvid([CorvidBackend; 2]),
    Dovecot([Dovecot; 2]),
    Cyrus([CyrusBackend; 2]),
}

/// A murder: the master, two backends and the proxy in front.
struct Murder {
    backends: Backends,
    master: CorvidMaster,
    proxy: CorvidProxy,
    /// jane's shared mailbox on be2, as john names it.
    shared: &'static str,
    /// The same mailbox, as jane names it.
    jane_name: &'static str,
    /// A user's password.
    password: fn(&str) -> String,
    /// `\Seen` in jane's mailbox is kept per user (Cyrus), not shared by all its readers.
    seen_per_user: bool,
}

impl Murder {
    /// Two corvid backends registering with the master; john and jane log in to theirs once
    /// (each INBOX is created then), and jane shares her INBOX with john.
    fn corvid() -> Murder {
        let (master, be1, be2) = two_registered(&[JOHN, JANE, PROXY], &["--proxy-user", PROXY.0]);
        ImapClient::login(&be1.addr(), JOHN.0, JOHN.1)
            .unwrap()
            .logout();
        let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
        jane.setacl("INBOX", JOHN.0, "lrsi").unwrap();
        jane.logout();
        let backends = [("be1", be1.addr()), ("be2", be2.addr())];
        let proxy = CorvidProxy::start(
            &master.addr(),
            &backends,
            &format!("{}:{}", PROXY.0, PROXY.1),
            &[],
        );
        Murder {
            backends: Backends::Corvid([be1, be2]),
            master,
            proxy,
            shared: "Other Users/jane",
            jane_name: "INBOX",
            password: test_password,
            seen_per_user: false,
        }
        .ready()
    }

    /// Two Dovecot backends; the master is given john's INBOX on be1 and jane's INBOX and
    /// Drop on be2, Drop shared with john as Dovecot has it.
    fn dovecot() -> Murder {
        let users = [JOHN, JANE];
        let be1 = Dovecot::start("be1", &users);
        let be2 = Dovecot::start("be2", &users);
        be2.create_mailbox("jane", "Drop");
        let rights = ["lookup", "read", "write-seen", "insert"];
        be2.set_acl("jane", "Drop", "user=john", &rights);
        let master = CorvidMaster::start();
        let mut admin = master.endpoint().connect().unwrap();
        let all = "lrswipkxtecda";
        admin
            .activate("user.john", "be1!default", &format!("john\t{all}\t"))
            .unwrap();
        admin
            .activate("user.jane", "be2!default", &format!("jane\t{all}\t"))
            .unwrap();
        admin
            .activate(
                "user.jane.Drop",
                "be2!default",
                &format!("jane\t{all}\tjohn\tlrsi\t"),
            )
            .unwrap();
        admin.logout();
        let backends = [("be1", be1.addr()), ("be2", be2.addr())];
        // The proxy registers what is created through it (the measurement's mailboxes).
        let proxy = CorvidProxy::start(
            &master.addr(),
            &backends,
            &format!("{MASTER_USER}:{MASTER_PASSWORD}"),
            &["--unregistered", "be1", "--unregistered", "be2"],
        );
        Murder {
            backends: Backends::Dovecot([be1, be2]),
            master,
            proxy,
            shared: "Other Users/jane/Drop",
            jane_name: "Drop",
            password: test_password,
            seen_per_user: false,
        }
        .ready()
    }

    /// Two Cyrus backends registering with the master; an admin creates john's INBOX on be1
    /// and jane's on be2 (`user/NAME` in the alternate namespace), and jane shares hers.
    fn cyrus() -> Murder {
        let master = CorvidMaster::start();
        let [be1, be2] = cyrus::two_registered(&master.endpoint());
        for (backend, user) in [(&be1, JOHN.0), (&be2, JANE.0)] {
            let mut admin = backend.imap("admin");
            admin.create(&format!("user/{user}")).unwrap();
            admin.logout();
        }
        let mut jane = be2.imap(JANE.0);
        jane.setacl("INBOX", JOHN.0, "lrsi").unwrap();
        jane.logout();
        let backends = [
            (be1.servername(), be1.addr()),
            (be2.servername(), be2.addr()),
        ];
        let proxy = CorvidProxy::start(&master.addr(), &backends, &proxy_user(), &[]);
        Murder {
            backends: Backends::Cyrus([be1, be2]),
            master,
            proxy,
            shared: "Other Users/jane",
            jane_name: "INBOX",
            password: cyrus::password,
            seen_per_user: true,
        }
        .ready()
    }

    /// Waits until the proxy's table lets john see jane's shared mailbox.
    fn ready(self) -> Murder {
        let examine = format!("EXAMINE {}", imap_quote(self.shared));
        let ready = wait_until(Duration::from_secs(20), || {
            let mut john = self.login(JOHN.0).ok()?;
            john.ok(&examine).ok().map(|_| john.logout())
        });
        assert!(
            ready.is_some(),
            "john never saw {}:\n{}",
            self.shared,
            self.proxy.logs()
        );
        self
    }

    fn login(&self, user: &str) -> std::io::Result<ImapClient> {
        ImapClient::login(&self.proxy.addr(), user, &(self.password)(user))
    }

    /// Kills be2 (SIGKILL).
    fn kill_destination(&mut self) {
        match &mut self.backends {
            Backends::Corvid([_, be2]) => be2.kill(),
            Backends::Dovecot([_, be2]) => be2.kill(),
            Backends::Cyrus([_, be2]) => be2.instance.kill(),
        }
    }

    /// The subjects in jane's shared mailbox, read at be2 itself (started again if need be).
    fn subjects_at_destination(&mut self) -> Vec<String> {
        match &mut self.backends {
            Backends::Corvid([_, be2]) => {
                be2.start_again();
                let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
                let subjects = subjects(&mut jane, self.jane_name);
                jane.logout();
                subjects
            }
            Backends::Cyrus([_, be2]) => {
                be2.start_again();
                let mut jane = be2.imap(JANE.0);
                let subjects = subjects(&mut jane, self.jane_name);
                jane.logout();
                subjects
            }
            // Dovecot's maildir, read directly (doveadm needs the killed server's auth).
            Backends::Dovecot([_, be2]) => ["cur", "new"]
                .iter()
                .flat_map(|dir| {
                    std::fs::read_dir(be2.dir().join("mail/users/jane/Drop").join(dir)).unwrap()
                })
                .filter_map(|file| std::fs::read_to_string(file.unwrap().path()).ok())
                .filter_map(|text| {
                    let line = text.lines().find(|line| line.starts_with("Subject: "))?;
                    Some(line["Subject: ".len()..].trim().to_string())
                })
                .collect(),
        }
    }
}

/// A message of at least `size` bytes (a line more at most), CRLF line ends.
fn message(subject: &str, size: usize) -> String {
    let mut text =
        format!("From: john@example.com\r\nTo: jane@example.com\r\nSubject: {subject}\r\n\r\n");
    let line = "the quick brown fox jumps over the lazy dog, again and again and again\r\n";
    while text.len() < size {
        text.push_str(line);
    }
    text
}

/// APPENDs `message` to `mailbox` with `flags` and `date` (a non-synchronizing literal).
fn append(client: &mut ImapClient, mailbox: &str, flags: &str, date: &str, message: &str) {
    let command = format!(
        "APPEND {} ({flags}) \"{date}\" {{{}+}}\r\n{message}",
        imap_quote(mailbox),
        message.len()
    );
    client.ok(&command).unwrap();
}

/// The number in `* n EXISTS` (there must be one).
fn exists(untagged: &[String]) -> u32 {
    support::exists(untagged).unwrap()
}

/// The subjects of the messages in `mailbox`.
fn subjects(client: &mut ImapClient, mailbox: &str) -> Vec<String> {
    let examined = client
        .ok(&format!("EXAMINE {}", imap_quote(mailbox)))
        .unwrap();
    if exists(&examined) == 0 {
        return Vec::new();
    }
    client
        .ok("FETCH 1:* BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .unwrap()
        .iter()
        .flat_map(|line| line.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|line| Some(line.strip_prefix("Subject: ")?.trim().to_string()))
        .collect()
}

/// A UID set (`4:6,9`) expanded.
fn uids(set: &str) -> Vec<u32> {
    set.split(',')
        .flat_map(|part| match part.split_once(':') {
            Some((low, high)) => (low.parse().unwrap()..=high.parse().unwrap()).collect(),
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

/// The source and destination UIDs of the COPYUID code in `line`.
fn copyuid(line: &str) -> (Vec<u32>, Vec<u32>) {
    let code = line.split_once("[COPYUID ").unwrap().1;
    let code = code.split_once(']').unwrap().0;
    let mut fields = code.split(' ').skip(1);
    (uids(fields.next().unwrap()), uids(fields.next().unwrap()))
}

/// `UID n` and `RFC822.SIZE n` of each message a FETCH answered, by UID.
fn sizes(untagged: &[String]) -> std::collections::BTreeMap<u32, u64> {
    untagged
        .iter()
        .filter_map(|line| {
            let field = |name: &str| line.split_once(name)?.1.split([' ', ')']).next();
            Some((
                field("UID ")?.parse().ok()?,
                field("RFC822.SIZE ")?.parse().ok()?,
            ))
        })
        .collect()
}

/// The seed's story: john MOVEs a message from his INBOX (be1) to jane (be2); jane sees it
/// with its flags and internal date, and john's INBOX no longer has it. (The flag is `\Seen`:
/// with `lrsi` john may set no other, RFC 4314, and Dovecot drops the rest. Cyrus keeps
/// `\Seen` per user in a mailbox shared with him: the message is seen for john, who set it,
/// and not for jane.)
fn the_seeds_story(murder: &Murder) {
    let mut john = murder.login(JOHN.0).unwrap();
    let date = "15-Mar-2024 09:30:00 +0000";
    append(
        &mut john,
        "INBOX",
        "\\Seen",
        date,
        &message("for jane", 2000),
    );
    let selected = john.ok("SELECT INBOX").unwrap();
    let last = exists(&selected);
    let fetched = john.ok(&format!("FETCH {last} (UID)")).unwrap();
    let uid: u32 = fetched[0]
        .split_once("UID ")
        .unwrap()
        .1
        .trim_end_matches(')')
        .parse()
        .unwrap();
    let (untagged, tagged) = john
        .command(&format!("UID MOVE {uid} {}", imap_quote(murder.shared)))
        .unwrap();
    assert!(tagged.contains(" OK "), "{tagged}\n{untagged:?}");
    let copied = untagged
        .iter()
        .find(|line| line.starts_with("* OK [COPYUID "))
        .unwrap_or_else(|| panic!("no COPYUID: {untagged:?}"));
    let (source, destination) = copyuid(copied);
    assert_eq!(source, [uid]);
    assert!(
        untagged.contains(&format!("* {last} EXPUNGE")),
        "the source's EXPUNGE reaches john: {untagged:?}"
    );
    let searched = john.ok("UID SEARCH ALL").unwrap();
    assert!(
        !searched[0].split(' ').any(|found| found == uid.to_string()),
        "{searched:?}"
    );
    john.logout();

    let mut jane = murder.login(JANE.0).unwrap();
    jane.ok(&format!("SELECT {}", imap_quote(murder.jane_name)))
        .unwrap();
    let fetched = jane
        .ok(&format!(
            "UID FETCH {} (FLAGS INTERNALDATE BODY.PEEK[])",
            destination[0]
        ))
        .unwrap()
        .concat();
    assert_eq!(
        fetched.contains("\\Seen"),
        !murder.seen_per_user,
        "{fetched}"
    );
    assert!(
        fetched.contains(&format!("INTERNALDATE \"{date}\"")),
        "{fetched}"
    );
    assert!(fetched.contains("Subject: for jane"), "{fetched}");
    jane.logout();
    if murder.seen_per_user {
        let mut john = murder.login(JOHN.0).unwrap();
        john.ok(&format!("EXAMINE {}", imap_quote(murder.shared)))
            .unwrap();
        let flags = john
            .ok(&format!("UID FETCH {} (FLAGS)", destination[0]))
            .unwrap()
            .concat();
        assert!(flags.contains("\\Seen"), "john's own \\Seen: {flags}");
        john.logout();
    }
}

/// A COPY of three messages, one of 10 MB, by sequence numbers: COPYUID names the
/// destination's UIDs, each with the size of its source message; the source keeps them.
fn copy_with_a_large_message(murder: &Murder) {
    let mut john = murder.login(JOHN.0).unwrap();
    let date = "01-Jan-2025 12:00:00 +0000";
    for (subject, size) in [
        ("copy small", 1024),
        ("copy large", 10 << 20),
        ("copy last", 3000),
    ] {
        append(&mut john, "INBOX", "\\Seen", date, &message(subject, size));
    }
    let count = exists(&john.ok("SELECT INBOX").unwrap());
    let set = format!("{}:{count}", count - 2);
    let (untagged, tagged) = john
        .command(&format!("COPY {set} {}", imap_quote(murder.shared)))
        .unwrap();
    assert!(tagged.contains(" OK [COPYUID "), "{tagged}\n{untagged:?}");
    let (source, destination) = copyuid(&tagged);
    assert_eq!((source.len(), destination.len()), (3, 3), "{tagged}");
    let at_source = sizes(&john.ok(&format!("FETCH {set} (UID RFC822.SIZE)")).unwrap());
    assert_eq!(exists(&john.ok("SELECT INBOX").unwrap()), count);
    john.ok(&format!("EXAMINE {}", imap_quote(murder.shared)))
        .unwrap();
    let set: Vec<String> = destination.iter().map(u32::to_string).collect();
    let at_destination = sizes(
        &john
            .ok(&format!("UID FETCH {} (UID RFC822.SIZE)", set.join(",")))
            .unwrap(),
    );
    for (from, to) in source.iter().zip(&destination) {
        assert_eq!(at_source.get(from), at_destination.get(to), "{from} → {to}");
    }
    assert!(at_destination.values().any(|&size| size >= 10 << 20));
    john.logout();
}

/// A MOVE of 20 messages of 1 MB whose destination is killed once a quarter of them went:
/// john gets NO saying what was and was not moved, and every message is at the source or the
/// destination.
fn an_interrupted_move_loses_nothing(murder: &mut Murder) {
    let mut john = murder.login(JOHN.0).unwrap();
    let date = "02-Feb-2025 08:00:00 +0000";
    let all: BTreeSet<String> = (1..=20).map(|n| format!("move {n}")).collect();
    for subject in &all {
        append(&mut john, "INBOX", "", date, &message(subject, 1 << 20));
    }
    john.logout();
    let before = murder.subjects_at_destination_live();

    let mut john = murder.login(JOHN.0).unwrap();
    let count = exists(&john.ok("SELECT INBOX").unwrap());
    let written = murder.proxy.metric_total("backend_written_bytes");
    let command = format!("MOVE {}:{count} {}", count - 19, imap_quote(murder.shared));
    let moving = std::thread::spawn(move || john.command(&command).unwrap());
    let started = Instant::now();
    while murder.proxy.metric_total("backend_written_bytes") < written + (5 << 20) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the MOVE never got going"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    murder.kill_destination();
    let (untagged, tagged) = moving.join().unwrap();
    assert!(tagged.contains(" NO "), "{tagged}\n{untagged:?}");
    assert!(tagged.contains("not moved"), "{tagged}");
    assert!(tagged.contains("lost"), "{tagged}");

    let mut john = murder.login(JOHN.0).unwrap();
    let at_source: BTreeSet<String> = subjects(&mut john, "INBOX")
        .into_iter()
        .filter(|subject| all.contains(subject))
        .collect();
    john.logout();
    let at_destination: BTreeSet<String> = murder
        .subjects_at_destination()
        .into_iter()
        .filter(|subject| all.contains(subject) && !before.contains(subject))
        .collect();
    let kept: BTreeSet<String> = at_source.union(&at_destination).cloned().collect();
    assert_eq!(
        kept, all,
        "lost: {tagged}\nsource {at_source:?}\ndestination {at_destination:?}"
    );
}

impl Murder {
    /// The subjects in jane's shared mailbox, through the proxy as jane.
    fn subjects_at_destination_live(&self) -> Vec<String> {
        let mut jane = self.login(JANE.0).unwrap();
        let subjects = subjects(&mut jane, self.jane_name);
        jane.logout();
        subjects
    }
}

#[test]
fn copy_and_move_between_two_corvid_backends() {
    let mut murder = Murder::corvid();
    the_seeds_story(&murder);
    copy_with_a_large_message(&murder);
    an_interrupted_move_loses_nothing(&mut murder);
}

#[test]
fn copy_and_move_between_two_dovecot_backends() {
    let mut murder = Murder::dovecot();
    the_seeds_story(&murder);
    copy_with_a_large_message(&murder);
    an_interrupted_move_loses_nothing(&mut murder);
}

#[test]
fn copy_and_move_between_two_cyrus_backends() {
    let mut murder = Murder::cyrus();
    the_seeds_story(&murder);
    copy_with_a_large_message(&murder);
    an_interrupted_move_loses_nothing(&mut murder);
}

/// The messages each measured COPY carries: 1,000 of 1 KiB, then 100 of 1 MiB, from john's
/// mailbox on be1 of that name.
const MEASURED: [(&str, usize, u32); 2] = [("Small", 1024, 1000), ("Large", 1 << 20, 100)];

/// Creates john's measured mailboxes and `Same` on be1 through the proxy and fills them
/// (APPENDs one at a time; printed as the reference for what one APPEND costs at a backend,
/// each synced there).
#[allow(clippy::print_stdout)]
fn fill_measured(murder: &Murder) {
    let mut john = murder.login(JOHN.0).unwrap();
    john.create("Same").unwrap();
    for (source, size, count) in MEASURED {
        john.create(source).unwrap();
        let selected = wait_until(Duration::from_secs(20), || {
            john.ok(&format!("SELECT {source}")).ok()
        });
        assert!(selected.is_some(), "{source} never reached the proxy");
        let body = message("measured", size);
        let started = Instant::now();
        for _ in 0..count {
            append(&mut john, source, "", "01-Jan-2025 12:00:00 +0000", &body);
        }
        let took = started.elapsed().as_secs_f64();
        println!(
            "{size:>8} B x {count}: APPEND one at a time {took:>7.3} s, {:>8.0} msg/s",
            f64::from(count) / took
        );
    }
    john.logout();
}

/// COPYs each measured mailbox whole through the frontend at `front` (as john) to `Same`
/// (on be1: the backend copies) and to jane's shared mailbox (on be2: the frontend copies);
/// prints a table row for each, `label` naming the frontend and the backends.
#[allow(clippy::print_stdout)]
fn measure_copies(murder: &Murder, label: &str, front: &str) {
    let mut john = ImapClient::login(front, JOHN.0, &(murder.password)(JOHN.0)).unwrap();
    for (source, size, count) in MEASURED {
        let selected = wait_until(Duration::from_secs(20), || {
            john.ok(&format!("SELECT {source}")).ok()
        });
        assert_eq!(selected.as_deref().map(exists), Some(count), "{label}");
        let bytes = (message("measured", size).len() as f64) * f64::from(count);
        let mut rates = Vec::new();
        for destination in ["Same", murder.shared] {
            let started = Instant::now();
            john.ok(&format!("COPY 1:* {}", imap_quote(destination)))
                .unwrap_or_else(|error| panic!("{label}: {error}"));
            let took = started.elapsed().as_secs_f64();
            rates.push((f64::from(count) / took, bytes / took / 1e6));
        }
        let [(same, same_mb), (cross, cross_mb)] = [rates[0], rates[1]];
        println!(
            "| {label} | {count} × {} | {same:.0} msg/s ({same_mb:.1} MB/s) | \
             {cross:.0} msg/s ({cross_mb:.1} MB/s) | {:.3} |",
            if size < 1 << 20 { "1 KiB" } else { "1 MiB" },
            cross / same
        );
    }
    john.logout();
}

/// Cross-backend COPY against same-backend COPY, messages of 1 KiB and 1 MiB, through `corvid
/// proxy` in front of two corvid, two Dovecot and two Cyrus backends, and through a Cyrus
/// murder frontend (Cyrus's own proxy, following the same master) in front of the same two
/// Cyrus backends; prints messages/s and MB/s of each and their ratio as table rows. A
/// measurement, not a check: `cargo test --release --test proxy_murder measure -- --ignored
/// --nocapture` (docs/benchmarking.md).
#[test]
#[ignore = "a measurement, run by hand (docs/benchmarking.md)"]
fn measure_copy_throughput() {
    for (backends, start) in [
        ("corvid", Murder::corvid as fn() -> Murder),
        ("Dovecot", Murder::dovecot),
    ] {
        let murder = start();
        fill_measured(&murder);
        measure_copies(
            &murder,
            &format!("corvid proxy | {backends}"),
            &murder.proxy.addr(),
        );
    }
    let murder = Murder::cyrus();
    let frontend = cyrus::CyrusFrontend::start(&murder.master.endpoint());
    fill_measured(&murder);
    measure_copies(&murder, "corvid proxy | Cyrus", &murder.proxy.addr());
    measure_copies(&murder, "Cyrus frontend | Cyrus", &frontend.addr());
}
