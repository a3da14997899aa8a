//! Shared folders, subscriptions across backends and mailbox referrals through `corvid proxy`,
//! with two corvid reference backends and with two real Dovecot backends.
//!
//! john's INBOX is on be1, jane's on be2, and jane shares her INBOX and her `Drop` with john.
//! Through the proxy, john reaches `Other Users/jane` (SELECT, STATUS, APPEND, FETCH) although
//! his session's INBOX backend is be1; on Dovecot, whose shared namespace names jane's INBOX
//! `Other Users/jane/INBOX`, the proxy translates (`other_users_inbox_folder`). john's
//! subscriptions live on be1, his INBOX backend, jane's mailboxes included (on corvid backends;
//! Dovecot refuses to subscribe to a mailbox it does not hold); once a subscribed mailbox is
//! deleted the subscription is `\NonExistent` in LIST (SUBSCRIBED), `\Noselect` in LSUB, and
//! can be removed. With `referrals = true`, a client that used RLIST is referred to be2 for jane's
//! INBOX, and the referral's URL works there.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::backend::{CorvidBackend, two_registered};
use support::corvid::{CorvidMaster, CorvidProxy};
use support::dovecot::{Dovecot, MASTER_PASSWORD, MASTER_USER};
use support::{ImapClient, MupdateMaster, imap_quote, wait_until};

const JOHN: (&str, &str) = ("john", "john-pw");
const JANE: (&str, &str) = ("jane", "jane-pw");
const PROXY: (&str, &str) = ("proxy", "proxy-pw");

/// Where jane's `Drop` lives, so that the test can delete it behind the proxy's back.
enum Backends {
    Corvid([CorvidBackend; 2]),
    Dovecot([Dovecot; 2], CorvidMaster),
}

/// A murder: master, two backends, the proxy.
struct Murder {
    backends: Backends,
    _master: Option<CorvidMaster>,
    proxy: CorvidProxy,
    /// Two mailboxes john subscribes to; the second is then deleted behind his back.
    subscribed: [&'static str; 2],
}

/// A proxy configuration file in `dir` with `text`, as `--config` flags.
fn config_file(dir: &std::path::Path, text: &str) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("proxy.toml");
    std::fs::write(&path, text).unwrap();
    vec!["--config".into(), path.display().to_string()]
}

impl Murder {
    /// Two corvid backends registering with the master; jane shares INBOX and Drop (on be2)
    /// with john. `proxy_config` is the proxy's configuration file.
    fn corvid(proxy_config: impl FnOnce(&str) -> String) -> Murder {
        let (master, be1, be2) = two_registered(&[JOHN, JANE, PROXY], &["--proxy-user", PROXY.0]);
        ImapClient::login(&be1.addr(), JOHN.0, JOHN.1)
            .unwrap()
            .logout();
        let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
        jane.create("Drop").unwrap();
        for mailbox in ["INBOX", "Drop"] {
            jane.setacl(mailbox, JOHN.0, "lrsi").unwrap();
        }
        jane.logout();
        let backends = [("be1", be1.addr()), ("be2", be2.addr())];
        let dir = master.dir().join("proxy-config");
        let flags = config_file(&dir, &proxy_config(&be2.addr()));
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &backends,
            &format!("{}:{}", PROXY.0, PROXY.1),
            &flags,
        );
        Murder {
            backends: Backends::Corvid([be1, be2]),
            _master: Some(master),
            proxy,
            subscribed: ["Other Users/jane", "Other Users/jane/Drop"],
        }
        .ready()
    }

    /// Two Dovecot backends, each named in the proxy's configuration as naming another
    /// user's INBOX `Other Users/<user>/INBOX`; the master is told by hand.
    fn dovecot() -> Murder {
        let users = [JOHN, JANE];
        let be1 = Dovecot::start("be1", &users);
        let be2 = Dovecot::start("be2", &users);
        be2.create_mailbox("jane", "Drop");
        for mailbox in ["Archive", "Later"] {
            be1.create_mailbox("john", mailbox);
        }
        be2.create_mailbox("jane", "Shared Folders/Team");
        let rights = ["lookup", "read", "write-seen", "insert"];
        for mailbox in ["INBOX", "Drop"] {
            be2.set_acl("jane", mailbox, "user=john", &rights);
        }
        let master = CorvidMaster::start();
        let mut admin = master.endpoint().connect().unwrap();
        let all = "lrswipkxtecda";
        for name in ["user.john", "user.john.Archive", "user.john.Later"] {
            admin
                .activate(name, "be1!default", &format!("john\t{all}\t"))
                .unwrap();
        }
        for name in ["user.jane", "user.jane.Drop"] {
            admin
                .activate(name, "be2!default", &format!("jane\t{all}\tjohn\tlrsi\t"))
                .unwrap();
        }
        admin
            .activate("Team", "be2!default", "anyone\tlrswipkxte\t")
            .unwrap();
        admin.logout();
        let backends = [("be1", be1.addr()), ("be2", be2.addr())];
        let text: String = backends
            .iter()
            .map(|(server, address)| {
                format!(
                    "[[backend]]\nserver = \"{server}\"\naddress = \"{address}\"\n\
                     other_users_inbox_folder = true\n"
                )
            })
            .collect();
        let flags = config_file(&master.dir().join("proxy-config"), &text);
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let proxy = CorvidProxy::start(
            &master.addr(),
            &backends,
            &format!("{MASTER_USER}:{MASTER_PASSWORD}"),
            &flags,
        );
        Murder {
            backends: Backends::Dovecot([be1, be2], master),
            _master: None,
            proxy,
            subscribed: ["Archive", "Later"],
        }
        .ready()
    }

    /// Waits until the proxy's table lets john see jane's INBOX.
    fn ready(self) -> Murder {
        let ready = wait_until(Duration::from_secs(20), || {
            let mut john = self.login(JOHN).ok()?;
            john.ok("EXAMINE \"Other Users/jane/Drop\"")
                .ok()
                .map(|_| john.logout())
        });
        assert!(
            ready.is_some(),
            "john never saw jane's Drop:\n{}",
            self.proxy.logs()
        );
        self
    }

    fn login(&self, (user, password): (&str, &str)) -> std::io::Result<ImapClient> {
        ImapClient::login(&self.proxy.addr(), user, password)
    }

    /// Deletes the second of [`Murder::subscribed`] on its backend and from the master, as
    /// its owner or an administrator would: jane's Drop on be2, john's Later on be1.
    fn delete_subscribed(&mut self) {
        match &mut self.backends {
            Backends::Corvid([_, be2]) => {
                let mut jane = ImapClient::login(&be2.addr(), JANE.0, JANE.1).unwrap();
                jane.delete("Drop").unwrap();
                jane.logout();
            }
            Backends::Dovecot([be1, _], master) => {
                be1.delete_mailbox("john", "Later");
                let mut admin = master.endpoint().connect().unwrap();
                admin.delete("user.john.Later").unwrap();
                admin.logout();
            }
        }
    }
}

/// A small message with `subject`.
fn message(subject: &str) -> String {
    format!("From: john@example.com\r\nSubject: {subject}\r\n\r\nhello\r\n")
}

/// john reaches `mailbox`, a mailbox of jane's on be2, from his session on be1: APPEND,
/// STATUS, SELECT, FETCH.
fn reach(john: &mut ImapClient, mailbox: &str) {
    let quoted = imap_quote(mailbox);
    let subject = format!("to {mailbox}");
    let body = message(&subject);
    john.ok(&format!("APPEND {quoted} {{{}+}}\r\n{body}", body.len()))
        .unwrap();
    let status = john.ok(&format!("STATUS {quoted} (MESSAGES)")).unwrap();
    // Named as john named it, whatever the backend calls it.
    let expected = format!("* STATUS {} (MESSAGES 1)", wire(mailbox));
    assert!(status.contains(&expected), "{status:?}");
    let selected = john.ok(&format!("SELECT {quoted}")).unwrap();
    assert!(selected.contains(&"* 1 EXISTS".to_string()), "{selected:?}");
    let fetched = john
        .ok("FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
        .unwrap()
        .concat();
    assert!(
        fetched.contains(&format!("Subject: {subject}")),
        "{fetched}"
    );
    john.ok("UNSELECT").unwrap();
}

/// `name` as the proxy writes it: an atom when it can be, else quoted.
fn wire(name: &str) -> String {
    if name.contains(' ') {
        imap_quote(name)
    } else {
        name.to_string()
    }
}

/// The lines of `command` (LSUB or LIST) that name `mailbox`.
fn lines_naming(john: &mut ImapClient, command: &str, mailbox: &str) -> Vec<String> {
    let end = format!(" {}", wire(mailbox));
    john.ok(command)
        .unwrap()
        .into_iter()
        .filter(|line| line.ends_with(&end))
        .collect()
}

/// Items 1 and 2: jane's mailboxes reached from john's session, his subscriptions kept on be1
/// (his INBOX backend), and a subscription to a deleted mailbox marked and removed.
fn shared_folders_and_subscriptions(murder: &mut Murder) {
    let mut john = murder.login(JOHN).unwrap();
    reach(&mut john, "Other Users/jane");
    reach(&mut john, "Other Users/jane/Drop");
    for mailbox in murder.subscribed {
        john.ok(&format!("SUBSCRIBE {}", imap_quote(mailbox)))
            .unwrap();
        let lsub = lines_naming(&mut john, "LSUB \"\" \"*\"", mailbox);
        assert_eq!(lsub, [format!("* LSUB () \"/\" {}", wire(mailbox))]);
        let list = lines_naming(&mut john, "LIST (SUBSCRIBED) \"\" \"*\"", mailbox);
        assert_eq!(list.len(), 1, "{list:?}");
        assert!(
            list[0].contains("\\Subscribed") && !list[0].contains("\\NonExistent"),
            "{list:?}"
        );
    }
    john.logout();

    murder.delete_subscribed();
    let [kept, deleted] = murder.subscribed;
    let mut john = murder.login(JOHN).unwrap();
    let marked = wait_until(Duration::from_secs(20), || {
        let list = lines_naming(&mut john, "LIST (SUBSCRIBED) \"\" \"*\"", deleted);
        list.first()
            .filter(|line| line.contains("\\NonExistent"))
            .cloned()
    });
    assert_eq!(
        marked,
        Some(format!(
            "* LIST (\\NonExistent \\Subscribed) \"/\" {}",
            wire(deleted)
        )),
        "{}",
        murder.proxy.logs()
    );
    let lsub = lines_naming(&mut john, "LSUB \"\" \"*\"", deleted);
    assert_eq!(
        lsub,
        [format!("* LSUB (\\Noselect) \"/\" {}", wire(deleted))]
    );
    john.ok(&format!("UNSUBSCRIBE {}", imap_quote(deleted)))
        .unwrap();
    assert!(lines_naming(&mut john, "LSUB \"\" \"*\"", deleted).is_empty());
    let still = lines_naming(&mut john, "LSUB \"\" \"*\"", kept);
    assert_eq!(
        still,
        [format!("* LSUB () \"/\" {}", wire(kept))],
        "the other stays"
    );
    john.logout();
}

#[test]
fn shared_folders_and_subscriptions_across_two_corvid_backends() {
    let mut murder = Murder::corvid(|_| String::new());
    shared_folders_and_subscriptions(&mut murder);
}

#[test]
fn shared_folders_and_subscriptions_across_two_dovecot_backends() {
    let mut murder = Murder::dovecot();
    let mut john = murder.login(JOHN).unwrap();
    reach(&mut john, "Shared Folders/Team");
    // Dovecot subscribes only to mailboxes it holds (it checks that they exist), so john's
    // INBOX backend refuses a subscription to jane's INBOX on be2, and its NO reaches john
    // (docs/configuration.md, "Subscriptions").
    let (_, refused) = john.command("SUBSCRIBE \"Other Users/jane\"").unwrap();
    assert!(refused.contains(" NO "), "{refused}");
    john.logout();
    shared_folders_and_subscriptions(&mut murder);
}

#[test]
fn a_client_that_asks_for_referrals_is_sent_to_the_backend() {
    let murder = Murder::corvid(|be2| {
        format!(
            "referrals = true\n[[backend]]\nserver = \"be2\"\naddress = \"{be2}\"\nreferral_host = \"{be2}\"\n"
        )
    });
    let mut john = murder.login(JOHN).unwrap();
    let capabilities = john.ok("CAPABILITY").unwrap().concat();
    assert!(
        capabilities.contains(" MAILBOX-REFERRALS"),
        "{capabilities}"
    );
    let listed = john.ok("RLIST \"\" \"Other Users/jane\"").unwrap();
    assert_eq!(
        listed,
        ["* LIST (\\HasChildren) \"/\" \"Other Users/jane\""]
    );
    let (_, referred) = john.command("SELECT \"Other Users/jane\"").unwrap();
    // (The proxy never logged john in to be2, which would create his INBOX there.)
    let url = referred
        .split_once("[REFERRAL ")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(url, _)| url.to_string())
        .unwrap_or_else(|| panic!("no referral: {referred}\n{}", murder.proxy.logs()));
    let Backends::Corvid([_, be2]) = &murder.backends else {
        unreachable!()
    };
    assert_eq!(
        url,
        format!("imap://john;AUTH=*@{}/Other%20Users/jane", be2.addr())
    );
    // john's own mailboxes stay with the proxy.
    john.ok("SELECT INBOX").unwrap();
    john.logout();

    // The referral, followed: be2 serves jane's INBOX to john itself.
    let (host, mailbox) = url["imap://john;AUTH=*@".len()..].split_once('/').unwrap();
    let mut direct = ImapClient::login(host, JOHN.0, JOHN.1).unwrap();
    direct
        .ok(&format!(
            "EXAMINE {}",
            imap_quote(&mailbox.replace("%20", " "))
        ))
        .unwrap();
    direct.logout();
}
