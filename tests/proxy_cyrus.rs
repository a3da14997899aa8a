//! `corvid proxy` end to end in front of two real Cyrus 3.6 backends (`proxyservers`), which
//! register their mailboxes with a `corvid mupdate` master themselves: logins verified by the
//! user's INBOX backend, SELECT and FETCH across backends byte for byte as direct, LIST from the
//! master's table, CREATE, APPEND and DELETE whose effects reach the proxy through the
//! master's update stream, two sessions racing to CREATE one name (one OK, one
//! `NO [ALREADYEXISTS]`), and the perimeter: what the table's ACL denies is refused with
//! Cyrus's own words and no connection to a backend. An administrator moves a user to the
//! other backend under its own name (`LOCALCREATE`, copy, switch, `LOCALDELETE`).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use support::corvid::{CorvidMaster, CorvidProxy};
use support::cyrus::{CyrusBackend, password, proxy_user, two_registered};
use support::{Entry, ImapClient, MupdateMaster, exists, one_winner, race, table, wait_until};

/// How long a change made on a backend may take to reach the proxy through the master.
const PROPAGATION: Duration = Duration::from_secs(10);

/// Two Cyrus backends registering with one corvid master, and a proxy following it: alice's
/// INBOX on be1; bob's INBOX (which alice may read) and his Projects (which she may write) on
/// be2.
struct CyrusMurder {
    be1: CyrusBackend,
    be2: CyrusBackend,
    master: CorvidMaster,
    proxy: CorvidProxy,
}

/// A message with CRLF line ends.
fn message(subject: &str, body: &str) -> String {
    format!(
        "From: carol@example.com\r\nTo: alice@example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    )
}

impl CyrusMurder {
    fn start() -> CyrusMurder {
        let master = CorvidMaster::start();
        let [be1, be2] = two_registered(&master.endpoint());
        // An admin names users' mailboxes `user/NAME/...`; each CREATE and SETACL is
        // registered with the master by the backend before it answers. (Cyrus refuses a
        // user's folder on a backend that lacks the user's INBOX, so alice's mailboxes on be2
        // are bob's, shared with her.)
        let mut admin = be1.imap("admin");
        admin.create("user/alice").unwrap();
        admin.logout();
        let mut admin = be2.imap("admin");
        admin.create("user/bob").unwrap();
        admin.logout();
        let mut bob = be2.imap("bob");
        bob.create("Projects").unwrap();
        bob.setacl("INBOX", "alice", "lr").unwrap();
        bob.setacl("Projects", "alice", "lrswipkxtecda").unwrap();
        bob.logout();
        be1.append("alice", "INBOX", &message("one", "first on be1"));
        be1.append("alice", "INBOX", &message("two", "second on be1"));
        be2.append("bob", "INBOX", &message("hi bob", "bob's on be2"));
        be2.append("bob", "Projects", &message("plan", "the project's on be2"));

        let proxy = CorvidProxy::start(
            &master.addr(),
            &[
                (be1.servername(), be1.addr()),
                (be2.servername(), be2.addr()),
            ],
            &proxy_user(),
            &["--placement", "most-free"],
        );
        let murder = CyrusMurder {
            be1,
            be2,
            master,
            proxy,
        };
        // The proxy's follower has the table once a login succeeds.
        let ready = wait_until(PROPAGATION, || murder.login("bob").ok());
        assert!(
            ready.is_some(),
            "no login through the proxy:\n{}",
            murder.logs()
        );
        murder
    }

    fn login(&self, user: &str) -> std::io::Result<ImapClient> {
        ImapClient::login(&self.proxy.addr(), user, &password(user))
    }

    /// The master's table: internal name → location and ACL.
    fn table(&self) -> BTreeMap<String, Entry> {
        table(&self.master.endpoint().list(None))
    }

    fn logs(&self) -> String {
        format!(
            "--- proxy ---\n{}\n--- master ---\n{}\n{}\n{}",
            self.proxy.logs(),
            self.master.logs(),
            self.be1.instance.logs(),
            self.be2.instance.logs()
        )
    }
}

/// The mailboxes of LIST responses (`* LIST (flags) "/" name`), unquoted; not the `\Noselect`
/// ones (namespace roots such as `Other Users`).
fn listed(untagged: &[String]) -> BTreeSet<String> {
    untagged
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("* LIST (")?;
            let (flags, name) = rest.split_once(") \"/\" ")?;
            (!flags.contains("\\Noselect")).then(|| name.trim_matches('"').to_owned())
        })
        .collect()
}

/// The mailboxes of the master's table that `user` may see (`l` in the ACL for `user` or
/// `anyone`; not Cyrus's delayed-delete tombstones `DELETED.…`), named as Cyrus's alternate namespace names them for `user`: `user.alice` is
/// INBOX, `user.alice.Sent` is `Sent`, `user.bob.X` is `Other Users/bob/X`, `Team.X` is
/// `Shared Folders/Team/X`.
fn visible(table: &BTreeMap<String, Entry>, user: &str) -> BTreeSet<String> {
    let may_list = |acl: &str| {
        let fields: Vec<&str> = acl.split('\t').collect();
        fields
            .chunks(2)
            .any(|pair| matches!(pair, [id, rights] if (*id == user || *id == "anyone") && rights.contains('l')))
    };
    let inbox = format!("user.{user}");
    table
        .iter()
        .filter(|(name, entry)| {
            !name.starts_with("DELETED.") && entry.acl.as_deref().is_some_and(may_list)
        })
        .map(|(name, _)| {
            if *name == inbox {
                return "INBOX".to_owned();
            }
            let external = name.replace('.', "/");
            match name.strip_prefix(&format!("{inbox}.")) {
                Some(folder) => folder.replace('.', "/"),
                None => match external.strip_prefix("user/") {
                    Some(other) => format!("Other Users/{other}"),
                    None => format!("Shared Folders/{external}"),
                },
            }
        })
        .collect()
}

fn names(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn the_backends_register_internal_names_with_the_master() {
    let murder = CyrusMurder::start();
    let table = murder.table();
    let locations: Vec<(&str, &str)> = table
        .iter()
        .map(|(name, entry)| (name.as_str(), entry.location.as_str()))
        .collect();
    let (be1, be2) = (murder.be1.location(), murder.be2.location());
    assert_eq!(
        locations,
        [
            ("user.alice", &*be1),
            ("user.bob", &*be2),
            ("user.bob.Projects", &*be2)
        ],
        "{}",
        murder.master.logs()
    );
    // What each backend's mailboxes.db says agrees, ACLs included.
    let mut backends = murder.be1.table();
    backends.extend(murder.be2.table());
    assert_eq!(table, backends);
    assert_eq!(
        visible(&table, "alice"),
        names(&["INBOX", "Other Users/bob", "Other Users/bob/Projects"])
    );
}

#[test]
fn logins_select_fetch_and_list_through_the_proxy() {
    let murder = CyrusMurder::start();

    // The proxy's free-space survey (`most-free` placement) reads what each Cyrus backend
    // reports (GETMETADATA of its freespace entry, as its proxy identity) into /metrics.
    for server in [murder.be1.servername(), murder.be2.servername()] {
        let prefix = format!("corvid_proxy_backend_free_bytes{{server=\"{server}\"}} ");
        let heard = wait_until(PROPAGATION, || {
            let metrics = murder.proxy.metrics();
            let line = metrics.lines().find(|line| line.starts_with(&prefix))?;
            line.strip_prefix(&prefix)?.parse::<u64>().ok()
        });
        let bytes =
            heard.unwrap_or_else(|| panic!("no free space for {server}:\n{}", murder.logs()));
        assert!(bytes > 1 << 20, "{server}: {bytes}");
    }

    // Logins are verified by the INBOX backend: alice's by be1, bob's by be2.
    let mut bob = murder.login("bob").unwrap();
    assert_eq!(exists(&bob.ok("SELECT INBOX").unwrap()), Some(1));
    bob.logout();
    let refused = ImapClient::login(&murder.proxy.addr(), "alice", "wrong").unwrap_err();
    assert!(
        refused.to_string().contains("AUTHENTICATIONFAILED"),
        "{refused}"
    );
    let unknown = ImapClient::login(&murder.proxy.addr(), "mallory", "x").unwrap_err();
    assert!(
        unknown.to_string().contains("AUTHENTICATIONFAILED"),
        "{unknown}"
    );

    let mut alice = murder.login("alice").unwrap();
    let inbox = alice.ok("SELECT INBOX").unwrap();
    assert_eq!(exists(&inbox), Some(2), "alice's INBOX on be1: {inbox:?}");
    // bob's mailboxes are on be2, reached as the proxy user acting for alice.
    let projects = alice.ok("SELECT \"Other Users/bob/Projects\"").unwrap();
    assert_eq!(
        exists(&projects),
        Some(1),
        "Projects on be2: {projects:?}\n{}",
        murder.logs()
    );

    // The same FETCH, direct to be2 and through the proxy, byte for byte.
    // (Not FLAGS: the proxy's SELECT took \Recent.)
    let fetch = "FETCH 1 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[])";
    let through = alice.ok(fetch).unwrap();
    let mut direct = murder.be2.imap("alice");
    direct.ok("EXAMINE \"Other Users/bob/Projects\"").unwrap();
    let expected = direct.ok(fetch).unwrap();
    assert_eq!(through, expected);
    assert!(
        through.concat().contains("the project's on be2"),
        "{through:?}"
    );

    let bobs = alice.ok("EXAMINE \"Other Users/bob\"").unwrap();
    assert_eq!(exists(&bobs), Some(1), "bob's INBOX on be2: {bobs:?}");

    // Back on be1.
    let inbox = alice.ok("EXAMINE INBOX").unwrap();
    assert_eq!(exists(&inbox), Some(2), "{inbox:?}");
    let fetched = alice
        .ok("FETCH 2 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .unwrap();
    assert!(fetched.concat().contains("Subject: two"), "{fetched:?}");

    // LIST shows what the master's table says alice may see.
    let list = alice.ok("LIST \"\" \"*\"").unwrap();
    assert_eq!(listed(&list), visible(&murder.table(), "alice"), "{list:?}");
    // The mailboxes on be2 are listed as be2 lists them itself (which leaves out the
    // `\Noselect` namespace root the proxy adds).
    let others = "LIST \"\" \"Other Users*\"";
    let selectable = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|line| !line.contains("\\Noselect"))
            .collect()
    };
    assert_eq!(
        selectable(alice.ok(others).unwrap()),
        selectable(direct.ok(others).unwrap())
    );
    let (_, tagged) = alice.command("SELECT Nowhere").unwrap();
    assert!(tagged.contains("NO [NONEXISTENT]"), "{tagged}");
    alice.logout();
}

#[test]
fn create_append_and_delete_through_the_proxy() {
    let murder = CyrusMurder::start();
    let mut alice = murder.login("alice").unwrap();

    // CREATE goes to the INBOX backend, which registers the mailbox with the master.
    alice.create("Drafts").unwrap();
    let location = |name: &str| murder.table().get(name).map(|entry| entry.location.clone());
    assert_eq!(
        location("user.alice.Drafts"),
        Some(murder.be1.location()),
        "{}",
        murder.logs()
    );
    // Once the proxy's follower has the update, the new mailbox is there.
    let selected = wait_until(PROPAGATION, || alice.ok("SELECT Drafts").ok());
    assert_eq!(
        selected.as_deref().and_then(exists),
        Some(0),
        "{}",
        murder.logs()
    );
    // A child of a mailbox on be2 is created on be2.
    alice.create("Other Users/bob/Projects/Q3").unwrap();
    assert_eq!(
        location("user.bob.Projects.Q3"),
        Some(murder.be2.location())
    );

    // APPEND to the new mailbox, and to one on the other backend.
    let body = message("draft", "appended through the proxy");
    let append = |client: &mut ImapClient, mailbox: &str| {
        let (_, tagged) = client
            .command(&format!("APPEND {mailbox} {{{}+}}\r\n{body}", body.len()))
            .unwrap();
        assert!(tagged.contains("OK [APPENDUID"), "{tagged}");
    };
    append(&mut alice, "Drafts");
    append(&mut alice, "\"Other Users/bob/Projects\"");
    assert_eq!(exists(&alice.ok("SELECT Drafts").unwrap()), Some(1));
    let mut direct = murder.be2.imap("alice");
    assert_eq!(
        exists(&direct.ok("EXAMINE \"Other Users/bob/Projects\"").unwrap()),
        Some(2)
    );
    let fetched = direct.ok("FETCH 2 BODY.PEEK[]").unwrap();
    assert!(fetched.concat().contains("appended through the proxy"));
    let list = alice.ok("LIST \"\" \"*\"").unwrap();
    assert_eq!(
        listed(&list),
        names(&[
            "INBOX",
            "Drafts",
            "Other Users/bob",
            "Other Users/bob/Projects",
            "Other Users/bob/Projects/Q3"
        ]),
        "{list:?}"
    );

    // DELETE goes to the mailbox's backend, which removes it from the master.
    alice.ok("UNSELECT").unwrap();
    alice.delete("Drafts").unwrap();
    let gone = wait_until(PROPAGATION, || {
        let (_, tagged) = alice.command("SELECT Drafts").unwrap();
        tagged.contains("NO [NONEXISTENT]").then_some(())
    });
    assert!(gone.is_some(), "{}", murder.logs());
    // Cyrus deletes later: the master holds a tombstone the proxy does not show.
    let table = murder.table();
    assert!(
        table
            .keys()
            .any(|name| name.starts_with("DELETED.user.alice.Drafts.")),
        "{table:?}"
    );
    let list = alice.ok("LIST \"\" \"*\"").unwrap();
    assert_eq!(listed(&list), visible(&table, "alice"), "{list:?}");
    assert_eq!(
        listed(&list),
        names(&[
            "INBOX",
            "Other Users/bob",
            "Other Users/bob/Projects",
            "Other Users/bob/Projects/Q3"
        ]),
        "{list:?}"
    );
}

#[test]
fn shared_folders_are_cyrus_top_level_mailboxes() {
    let murder = CyrusMurder::start();
    let mut admin = murder.be2.imap("admin");
    admin.create("Team").unwrap();
    admin.setacl("Team", "alice", "lrswipkxtecda").unwrap();
    admin.logout();
    murder.be2.append(
        "alice",
        "Shared Folders/Team",
        &message("plan", "the team's on be2"),
    );
    // Cyrus's own view: alice sees Team as `Shared Folders/Team`.
    let mut direct = murder.be2.imap("alice");
    let cyrus = direct.ok("LIST \"\" \"Shared Folders/*\"").unwrap();
    assert_eq!(listed(&cyrus), names(&["Shared Folders/Team"]), "{cyrus:?}");
    assert!(murder.table().contains_key("Team"));

    // Through the proxy, once its follower has Team (the master had it before the APPEND).
    let mut alice = murder.login("alice").unwrap();
    let list = wait_until(PROPAGATION, || {
        let list = alice.ok("LIST \"\" \"*\"").unwrap();
        (listed(&list) == visible(&murder.table(), "alice")).then_some(list)
    });
    assert!(list.is_some(), "{:?}", alice.ok("LIST \"\" \"*\"").unwrap());
    let (selected, tagged) = alice.command("SELECT \"Shared Folders/Team\"").unwrap();
    assert_eq!(exists(&selected), Some(1), "{tagged}");
    alice.ok("UNSELECT").unwrap();

    // alice's subscriptions live on be1, her INBOX backend, mailboxes on be2 included.
    let subscribed = ["Other Users/bob/Projects", "Shared Folders/Team"];
    for mailbox in subscribed {
        alice
            .ok(&format!("SUBSCRIBE \"{mailbox}\""))
            .unwrap_or_else(|error| panic!("{mailbox}: {error}\n{}", murder.logs()));
    }
    let lsub = alice.ok("LSUB \"\" \"*\"").unwrap();
    let expected: Vec<String> = subscribed
        .iter()
        .map(|mailbox| format!("* LSUB () \"/\" \"{mailbox}\""))
        .collect();
    assert_eq!(lsub, expected);
    // Once Team is deleted (by alice, who may), its subscription is `\NonExistent`, and can
    // be removed.
    alice.delete("Shared Folders/Team").unwrap();
    let marked = wait_until(PROPAGATION, || {
        let list = alice.ok("LIST (SUBSCRIBED) \"\" \"*\"").unwrap();
        list.contains(
            &"* LIST (\\NonExistent \\Subscribed) \"/\" \"Shared Folders/Team\"".to_owned(),
        )
        .then_some(list)
    });
    assert!(marked.is_some(), "{}", murder.logs());
    alice.ok("UNSUBSCRIBE \"Shared Folders/Team\"").unwrap();
    assert_eq!(alice.ok("LSUB \"\" \"*\"").unwrap(), expected[..1]);
    alice.logout();
}

/// A tagged `NO`'s response code (`NOPERM`), if any, and its text in lower case.
fn refusal(tagged: &str) -> (Option<&str>, String) {
    let rest = tagged
        .split_once(" NO ")
        .map_or("", |(_, rest)| rest)
        .trim_end();
    match rest
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    {
        Some((code, text)) => (Some(code), text.to_lowercase()),
        None => (None, rest.to_lowercase()),
    }
}

#[test]
fn concurrent_creates_and_the_perimeter() {
    let murder = CyrusMurder::start();

    // Two of alice's sessions race to create one name: be1 has it once, and the master too.
    for round in 0..4 {
        let name = format!("Race{round}");
        let clients = [
            murder.login("alice").unwrap(),
            murder.login("alice").unwrap(),
        ];
        one_winner(&race(clients, &format!("CREATE {name}")));
        assert_eq!(
            murder
                .table()
                .get(&format!("user.alice.{name}"))
                .map(|entry| entry.location.clone()),
            Some(murder.be1.location())
        );
    }
    let mut direct = murder.be1.imap("alice");
    let list = direct.ok("LIST \"\" \"Race*\"").unwrap();
    assert_eq!(listed(&list), names(&["Race0", "Race1", "Race2", "Race3"]));
    direct.logout();

    // bob's Peek, which alice may only see listed, and his Private, which she may not see
    // (each starts with the ACL of bob's INBOX, where alice has `lr`).
    let mut bob = murder.be2.imap("bob");
    bob.create("Peek").unwrap();
    bob.create("Private").unwrap();
    bob.setacl("Peek", "alice", "l").unwrap();
    bob.ok("DELETEACL Private alice").unwrap();
    bob.logout();
    let mut alice = murder.login("alice").unwrap();
    let visible = wait_until(PROPAGATION, || {
        alice.ok("MYRIGHTS \"Other Users/bob/Peek\"").ok()
    });
    assert!(visible.is_some(), "the proxy never saw alice's l on Peek");
    // The proxy refuses with be2's words (which carry no response code; the proxy adds the
    // RFC 5530 one), but without a connection to be2.
    let mut direct = murder.be2.imap("alice");
    let before = murder.proxy.metric_total("backend_connects");
    for (command, code) in [
        ("SELECT \"Other Users/bob/Peek\"", "NOPERM"),
        ("EXAMINE \"Other Users/bob/Peek\"", "NOPERM"),
        ("STATUS \"Other Users/bob/Peek\" (MESSAGES)", "NOPERM"),
        ("SELECT \"Other Users/bob/Private\"", "NONEXISTENT"),
        (
            "STATUS \"Other Users/bob/Private\" (MESSAGES)",
            "NONEXISTENT",
        ),
        ("APPEND \"Other Users/bob/Private\" {1+}\r\nx", "TRYCREATE"),
    ] {
        let (_, proxied) = alice.command(command).unwrap();
        let (_, at_be2) = direct.command(command).unwrap();
        let (proxied_code, proxied_text) = refusal(&proxied);
        assert_eq!(proxied_code, Some(code), "{command}: {proxied}");
        assert_eq!(
            (None, proxied_text),
            refusal(&at_be2),
            "{command}: {proxied} / {at_be2}"
        );
    }
    assert_eq!(
        murder.proxy.metric_total("backend_connects"),
        before,
        "no connection to be2 was opened for the refused commands"
    );
    alice.logout();
    direct.logout();
}

#[test]
fn an_administrator_moves_a_user_to_another_cyrus_backend() {
    // alice (INBOX and Sent, shared with jane) on be1; jane, the proxy's administrator, on be2.
    let master = CorvidMaster::start();
    let [be1, be2] = two_registered(&master.endpoint());
    let mut admin = be1.imap("admin");
    admin.create("user/alice").unwrap();
    admin.logout();
    let mut admin = be2.imap("admin");
    admin.create("user/jane").unwrap();
    admin.logout();
    let mut alice = be1.imap("alice");
    alice.create("Sent").unwrap();
    alice.setacl("Sent", "jane", "lr").unwrap();
    alice.logout();
    be1.append("alice", "INBOX", &message("one", "first on be1"));
    be1.append("alice", "INBOX", &message("two", "second on be1"));
    be1.append("alice", "Sent", &message("sent", "alice's own"));
    let proxy = CorvidProxy::start(
        &master.addr(),
        &[
            (be1.servername(), be1.addr()),
            (be2.servername(), be2.addr()),
        ],
        &proxy_user(),
        &["--admin", "jane"],
    );
    let login = |user: &str| ImapClient::login(&proxy.addr(), user, &password(user));
    let ready = wait_until(PROPAGATION, || login("jane").ok());
    let mut jane = ready.unwrap_or_else(|| panic!("no login:\n{}", proxy.logs()));

    let rename = format!(
        "RENAME \"Other Users/alice\" \"Other Users/alice\" {}",
        be2.servername()
    );
    let (_, tagged) = jane.command(&rename).unwrap();
    assert!(
        tagged.contains("OK RENAME completed: 2 mailboxes"),
        "{tagged}\n{}\n{}",
        proxy.logs(),
        be2.instance.logs()
    );
    let entries = table(&master.endpoint().list(None));
    for name in ["user.alice", "user.alice.Sent"] {
        assert_eq!(
            entries[name].location,
            be2.location(),
            "{name}: {entries:?}"
        );
    }
    let shared = entries["user.alice.Sent"]
        .acl
        .as_deref()
        .unwrap_or_default();
    assert!(shared.contains("jane\tlr\t"), "{shared}");
    // jane reads the shared Sent at be2 (which took its ACL).
    let (untagged, tagged) = jane.command("EXAMINE \"Other Users/alice/Sent\"").unwrap();
    assert!(tagged.contains("OK"), "{tagged}");
    assert_eq!(exists(&untagged), Some(1));
    jane.logout();

    // alice logs in (checked by be2 now) and has her messages there.
    let mut alice = login("alice").unwrap();
    for (mailbox, count) in [("INBOX", 2), ("Sent", 1)] {
        let (untagged, tagged) = alice.command(&format!("EXAMINE {mailbox}")).unwrap();
        assert!(tagged.contains("OK"), "{mailbox}: {tagged}");
        assert_eq!(exists(&untagged), Some(count), "{mailbox}");
    }
    alice.logout();
    let mut direct = be2.imap("alice");
    let (untagged, _) = direct.command("EXAMINE INBOX").unwrap();
    assert_eq!(exists(&untagged), Some(2), "at be2 itself");
    direct.logout();

    // be1 keeps at most alice's INBOX, emptied (Cyrus deletes a user only for its admin).
    let mut admin = be1.imap("admin");
    let (untagged, _) = admin.command("LIST \"\" \"user/alice*\"").unwrap();
    let left = listed(&untagged);
    assert!(left.iter().all(|name| name == "user/alice"), "{left:?}");
    admin.logout();
    if !left.is_empty() {
        let mut direct = be1.imap("alice");
        let (untagged, tagged) = direct.command("EXAMINE INBOX").unwrap();
        assert_eq!(exists(&untagged), Some(0), "{tagged}");
        direct.logout();
    }
}
