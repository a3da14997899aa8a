//! CREATE through `corvid proxy`, and the perimeter's ACL checks, end to end: with two corvid
//! reference backends (each registers its mailboxes with the `corvid mupdate` master itself)
//! and with two real Dovecot backends the proxy registers for (`--unregistered`).
//!
//! Each CREATE is checked where it matters: the master's entry (server, active, ACL), the
//! backend's own mailbox list, and a SELECT through the proxy right after the OK. Two sessions
//! racing to create one name get exactly one OK and one `NO [ALREADYEXISTS]`, and the master
//! and the backends agree afterwards; a CREATE the backend refuses leaves no reservation; an
//! administrator's new user goes to the backend with the fewest mailboxes; and a mailbox the
//! table's ACL keeps from a user is refused by the proxy without any backend connection.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use corvid_proto::mupdate::Record;
use support::backend::{CorvidBackend, two_registered};
use support::corvid::{CorvidMaster, CorvidProxy};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{ImapClient, MupdateMaster, imap_quote, one_winner, race, wait_until};

const JOHN: (&str, &str) = ("john", "john-pw");
const JANE: (&str, &str) = ("jane", "jane-pw");
const BOSS: (&str, &str) = ("boss", "boss-pw");
const CHIEF: (&str, &str) = ("chief", "chief-pw");
const PROXY: (&str, &str) = ("proxy", "proxy-pw");

/// What the master says of a name: its location, and whether it is active.
fn master_entry(master: &CorvidMaster, name: &str) -> Option<(String, bool)> {
    let mut client = master.endpoint().connect().unwrap();
    let record = client.find(name).unwrap();
    client.logout();
    match record? {
        Record::Mailbox { location, .. } => Some((String::from_utf8(location).unwrap(), true)),
        Record::Reserve { location, .. } => Some((String::from_utf8(location).unwrap(), false)),
        Record::Delete { .. } => None,
    }
}

/// The ACL the master has for an active name.
fn master_acl(master: &CorvidMaster, name: &str) -> Option<String> {
    let mut client = master.endpoint().connect().unwrap();
    let record = client.find(name).unwrap();
    client.logout();
    match record? {
        Record::Mailbox { acl, .. } => Some(String::from_utf8(acl).unwrap()),
        _ => None,
    }
}

/// How many mailboxes the master places on each of be1 and be2.
fn counts(master: &CorvidMaster) -> [usize; 2] {
    let records = master.endpoint().list(None);
    let on = |server: &str| {
        records
            .iter()
            .filter(|record| match record {
                Record::Mailbox { location, .. } | Record::Reserve { location, .. } => {
                    location.starts_with(format!("{server}!").as_bytes())
                }
                Record::Delete { .. } => false,
            })
            .count()
    };
    [on("be1"), on("be2")]
}

// ---------------------------------------------------------------------------------------------
// Two corvid reference backends.

/// The corvid murder: john and boss (an admin) have their INBOX on be1, jane and chief (an
/// admin) on be2.
struct CorvidMurder {
    be1: CorvidBackend,
    be2: CorvidBackend,
    master: CorvidMaster,
    proxy: CorvidProxy,
}

impl CorvidMurder {
    fn start() -> CorvidMurder {
        let (master, be1, be2) = two_registered(
            &[JOHN, JANE, BOSS, CHIEF, PROXY],
            &[
                "--proxy-user",
                PROXY.0,
                "--admin",
                BOSS.0,
                "--admin",
                CHIEF.0,
            ],
        );
        for (backend, user) in [(&be1, JOHN), (&be1, BOSS), (&be2, JANE), (&be2, CHIEF)] {
            ImapClient::login(&backend.addr(), user.0, user.1)
                .unwrap()
                .logout();
        }
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &format!("{}:{}", PROXY.0, PROXY.1),
            &["--admin", BOSS.0, "--admin", CHIEF.0],
        );
        let murder = CorvidMurder {
            be1,
            be2,
            master,
            proxy,
        };
        murder
            .proxy
            .wait_for_logins(&[JOHN, JANE, BOSS, CHIEF])
            .logout();
        murder
    }

    fn login(&self, (user, password): (&str, &str)) -> std::io::Result<ImapClient> {
        ImapClient::login(&self.proxy.addr(), user, password)
    }

    /// Whether `user` can SELECT `mailbox` at the backend itself.
    fn on_backend(backend: &CorvidBackend, (user, password): (&str, &str), mailbox: &str) -> bool {
        let mut client = ImapClient::login(&backend.addr(), user, password).unwrap();
        let (_, tagged) = client
            .command(&format!("EXAMINE {}", imap_quote(mailbox)))
            .unwrap();
        client.logout();
        tagged.split_whitespace().nth(1) == Some("OK")
    }
}

#[test]
fn corvid_creates_land_on_the_right_backend_and_select_works_at_once() {
    let murder = CorvidMurder::start();
    let mut jane = murder.login(JANE).unwrap();
    jane.setacl("INBOX", JOHN.0, "lrsk").unwrap();
    jane.logout();
    let mut john = murder.login(JOHN).unwrap();
    // Each SELECT is sent right behind its CREATE's OK.
    for (name, internal, server) in [
        ("Projects", "user.john.Projects", "be1"),
        ("Projects/2026", "user.john.Projects.2026", "be1"),
        ("Other Users/jane/From John", "user.jane.From John", "be2"),
    ] {
        john.create(name).unwrap();
        john.ok(&format!("SELECT {}", imap_quote(name)))
            .unwrap_or_else(|error| panic!("{name}: {error}\n{}", murder.proxy.logs()));
        let (location, active) = master_entry(&murder.master, internal).unwrap();
        assert!(
            location.starts_with(&format!("{server}!")) && active,
            "{name}: {location}"
        );
    }
    assert!(CorvidMurder::on_backend(&murder.be1, JOHN, "Projects/2026"));
    assert!(CorvidMurder::on_backend(&murder.be2, JANE, "From John"));
    john.logout();
}

#[test]
fn corvid_concurrent_creates_of_one_name_have_one_winner() {
    let murder = CorvidMurder::start();
    // Two administrators, one on each backend, race for the same shared folders.
    for round in 0..4 {
        let name = format!("shared{round}");
        let external = format!("\"Shared Folders/{name}\"");
        let clients = [murder.login(BOSS).unwrap(), murder.login(CHIEF).unwrap()];
        let answers = race(clients, &format!("CREATE {external}"));
        let winner = one_winner(&answers);
        let (server, admin) = [("be1", BOSS), ("be2", CHIEF)][winner];
        let (location, active) = master_entry(&murder.master, &name).unwrap();
        assert!(
            location.starts_with(&format!("{server}!")) && active,
            "{location}"
        );
        let [be1_has, be2_has] =
            [(&murder.be1, BOSS), (&murder.be2, CHIEF)].map(|(backend, user)| {
                CorvidMurder::on_backend(backend, user, &format!("Shared Folders/{name}"))
            });
        assert_eq!(
            (be1_has, be2_has),
            (server == "be1", server == "be2"),
            "only the winner's backend has {name}"
        );
        let mut client = murder.login(admin).unwrap();
        client.ok(&format!("SELECT {external}")).unwrap();
        client.logout();
    }
}

#[test]
fn corvid_an_admins_new_user_goes_to_the_backend_with_fewest_mailboxes() {
    let murder = CorvidMurder::start();
    let mut boss = murder.login(BOSS).unwrap();
    for name in ["A", "B", "C"] {
        boss.create(name).unwrap();
    }
    for user in ["newuser1", "newuser2", "newuser3"] {
        let [be1, be2] = counts(&murder.master);
        let expected = if be2 < be1 { "be2" } else { "be1" };
        boss.create(&format!("Other Users/{user}")).unwrap();
        let (location, active) = master_entry(&murder.master, &format!("user.{user}")).unwrap();
        assert!(
            location.starts_with(&format!("{expected}!")) && active,
            "{user} with {be1} on be1 and {be2} on be2: {location}"
        );
    }
    boss.logout();
}

/// The bytes a proxy's `/metrics` says `server` has free, once the survey heard it.
fn free_bytes(proxy: &CorvidProxy, server: &str) -> Option<u64> {
    let prefix = format!("corvid_proxy_backend_free_bytes{{server=\"{server}\"}} ");
    let metrics = proxy.metrics();
    let line = metrics.lines().find(|line| line.starts_with(&prefix))?;
    line.strip_prefix(&prefix)?.parse().ok()
}

#[test]
fn corvid_most_free_places_a_new_user_on_the_backend_with_the_most_space() {
    // be1 on a 96 MiB file system, be2 on a 32 MiB one; both register with the master. be1
    // holds boss's INBOX, so least-mailboxes would pick be2.
    let master = support::backend::master_for_two();
    let backend = |server: &str, mib: u64| {
        let extra = ["--proxy-user", PROXY.0, "--admin", BOSS.0];
        CorvidBackend::start(support::backend::BackendOptions {
            tmpfs_mib: Some(mib),
            ..support::backend::registered(&master, server, &[BOSS, PROXY], &extra)
        })
    };
    let (be1, be2) = (backend("be1", 96), backend("be2", 32));
    ImapClient::login(&be1.addr(), BOSS.0, BOSS.1)
        .unwrap()
        .logout();
    let proxy = CorvidProxy::start(
        &master.addr(),
        &[("be1", be1.addr()), ("be2", be2.addr())],
        &format!("{}:{}", PROXY.0, PROXY.1),
        &["--admin", BOSS.0, "--placement", "most-free"],
    );
    // The survey asks both at start, logged in as the proxy (which gets no INBOX for it).
    let heard = wait_until(Duration::from_secs(20), || {
        Some((free_bytes(&proxy, "be1")?, free_bytes(&proxy, "be2")?))
    });
    let (free1, free2) = heard.unwrap_or_else(|| panic!("no free space heard:\n{}", proxy.logs()));
    const MIB: u64 = 1 << 20;
    assert!((90 * MIB..=96 * MIB).contains(&free1), "be1 free {free1}");
    assert!((28 * MIB..=32 * MIB).contains(&free2), "be2 free {free2}");
    assert_eq!(master_entry(&master, "user.proxy"), None);

    let mut boss = proxy.wait_for_logins(&[BOSS]);
    for user in ["newuser1", "newuser2"] {
        boss.create(&format!("Other Users/{user}")).unwrap();
        let (location, active) = master_entry(&master, &format!("user.{user}")).unwrap();
        assert!(location.starts_with("be1!") && active, "{user}: {location}");
    }
    boss.logout();
}

#[test]
fn corvid_the_perimeter_refuses_without_touching_a_backend() {
    let murder = CorvidMurder::start();
    let mut jane = murder.login(JANE).unwrap();
    jane.create("Peek").unwrap();
    jane.create("Private").unwrap();
    jane.setacl("Peek", JOHN.0, "l").unwrap();
    jane.logout();
    let mut john = murder.login(JOHN).unwrap();
    // MYRIGHTS is answered from the proxy's table: it shows john's `l` once the table has it.
    let visible = wait_until(Duration::from_secs(10), || {
        john.ok("MYRIGHTS \"Other Users/jane/Peek\"").ok()
    });
    assert!(visible.is_some(), "the proxy never saw john's l on Peek");
    let before = murder.proxy.metric_total("backend_connects");
    for (command, answer) in [
        ("SELECT \"Other Users/jane/Peek\"", "NO [NOPERM]"),
        ("EXAMINE \"Other Users/jane/Peek\"", "NO [NOPERM]"),
        ("STATUS \"Other Users/jane/Peek\" (MESSAGES)", "NO [NOPERM]"),
        ("SELECT \"Other Users/jane/Private\"", "NO [NONEXISTENT]"),
        (
            "STATUS \"Other Users/jane/Private\" (MESSAGES)",
            "NO [NONEXISTENT]",
        ),
        (
            "APPEND \"Other Users/jane/Private\" {1+}\r\nx",
            "NO [TRYCREATE]",
        ),
    ] {
        let (_, tagged) = john.command(command).unwrap();
        assert!(tagged.contains(answer), "{command}: {tagged}");
    }
    john.logout();
    assert_eq!(
        murder.proxy.metric_total("backend_connects"),
        before,
        "no connection to be2 was opened for the refused commands"
    );
}

// ---------------------------------------------------------------------------------------------
// Two Dovecot backends the proxy registers for.

/// The Dovecot murder: john's INBOX on be1, jane's on be2, told to the master by hand.
struct DovecotMurder {
    be1: Dovecot,
    be2: Dovecot,
    master: CorvidMaster,
    proxy: CorvidProxy,
}

impl DovecotMurder {
    fn start() -> DovecotMurder {
        let users = [JOHN, JANE];
        let be1 = Dovecot::start("be1", &users);
        let be2 = Dovecot::start("be2", &users);
        let master = CorvidMaster::start();
        let mut admin = master.endpoint().connect().unwrap();
        let all = "lrswipkxtecda";
        admin
            .activate("user.john", "be1!default", &format!("john\t{all}\t"))
            .unwrap();
        admin
            .activate("user.jane", "be2!default", &format!("jane\t{all}\t"))
            .unwrap();
        admin.logout();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &[("be1", be1.addr()), ("be2", be2.addr())],
            &format!("{MASTER_USER}:{MASTER_PASSWORD}"),
            &["--unregistered", "be1", "--unregistered", "be2"],
        );
        let murder = DovecotMurder {
            be1,
            be2,
            master,
            proxy,
        };
        murder.proxy.wait_for_logins(&users).logout();
        murder
    }

    fn login(&self, (user, password): (&str, &str)) -> std::io::Result<ImapClient> {
        ImapClient::login(&self.proxy.addr(), user, password)
    }
}

#[test]
fn dovecot_creates_are_registered_by_the_proxy_and_select_works_at_once() {
    let murder = DovecotMurder::start();
    let mut john = murder.login(JOHN).unwrap();
    for (name, internal) in [
        ("Projects", "user.john.Projects"),
        ("Projects/2026", "user.john.Projects.2026"),
    ] {
        john.create(name)
            .unwrap_or_else(|error| panic!("{name}: {error}\n{}", murder.proxy.logs()));
        john.ok(&format!("SELECT {}", imap_quote(name))).unwrap();
        let entry = master_entry(&murder.master, internal);
        assert_eq!(entry, Some(("be1!default".to_string(), true)), "{name}");
        let acl = master_acl(&murder.master, internal).unwrap();
        assert_eq!(acl, "john\tlrswipkxtecda\t");
    }
    let names = murder.be1.mailboxes("john");
    assert!(names.contains(&"Projects/2026".to_string()), "{names:?}");
    assert!(
        !murder
            .be2
            .mailboxes("john")
            .contains(&"Projects".to_string())
    );
    let mut jane = murder.login(JANE).unwrap();
    jane.create("Notes").unwrap();
    jane.ok("SELECT Notes").unwrap();
    assert_eq!(
        master_entry(&murder.master, "user.jane.Notes"),
        Some(("be2!default".to_string(), true))
    );
    assert!(murder.be2.mailboxes("jane").contains(&"Notes".to_string()));
    jane.logout();

    // A name the backend refuses: the proxy's reservation is rolled back.
    let long = "x".repeat(300);
    let (_, tagged) = john.command(&format!("CREATE {long}")).unwrap();
    assert!(
        tagged.contains(" NO [CANNOT] "),
        "Dovecot's refusal: {tagged}"
    );
    assert_eq!(
        master_entry(&murder.master, &format!("user.john.{long}")),
        None,
        "no reservation left behind"
    );
    john.logout();
}

#[test]
fn dovecot_concurrent_creates_of_one_name_have_one_winner() {
    let murder = DovecotMurder::start();
    for round in 0..4 {
        let name = format!("Race{round}");
        let clients = [murder.login(JOHN).unwrap(), murder.login(JOHN).unwrap()];
        let answers = race(clients, &format!("CREATE {name}"));
        one_winner(&answers);
        let internal = format!("user.john.{name}");
        assert_eq!(
            master_entry(&murder.master, &internal),
            Some(("be1!default".to_string(), true)),
            "{answers:?}\n{}",
            murder.proxy.logs()
        );
        assert!(murder.be1.mailboxes("john").contains(&name));
    }
}
