//! Sessions driven byte for byte, with the disk simulated: the conformance of every command and
//! error, pipelining, literals, streaming with its barrier, durability gates and budgets.

use super::*;
use crate::master::auth::{QuickRole, Users};
use crate::table::MailboxTable;

fn config() -> SessionConfig {
    SessionConfig {
        banner: Banner {
            version: "0".into(),
            ..crate::master::banner("master.test")
        },
        starttls: false,
        limits: Limits::default(),
        output_budget: 64 << 10,
    }
}

/// A master with its users, and the disk simulated: `drain` makes everything durable.
struct World {
    master: Master,
    users: Users,
    config: SessionConfig,
}

/// A connection: its session and the bytes it has not taken yet (as the server keeps them).
struct Client {
    session: Session,
    unread: Vec<u8>,
    /// Output released while the test was still feeding.
    held: Vec<u8>,
}

impl World {
    fn new() -> World {
        let mut users = Users::new();
        users.add_spec("admin:secret", QuickRole::Admin).unwrap();
        users.add_spec("be1:pw1:be1", QuickRole::Backend).unwrap();
        users.add_spec("fe:pwf", QuickRole::Frontend).unwrap();
        World {
            master: Master::new(MailboxTable::default(), 1000),
            users,
            config: config(),
        }
    }

    /// A new connection and its banner (sent without waiting for the disk).
    fn connect(&mut self) -> (Client, String) {
        let mut client = Client {
            session: Session::new(&self.config, false),
            unread: Vec::new(),
            held: Vec::new(),
        };
        client
            .session
            .release(self.master.durable_seq(), &mut client.held);
        let banner = String::from_utf8(std::mem::take(&mut client.held)).unwrap();
        (client, banner)
    }

    /// Adds `input` to what the client sent and lets the session take all it can, resolving
    /// logins at once; a session held back by its output or by a command being answered is
    /// drained (with the disk caught up) until it reads again.
    fn feed(&mut self, client: &mut Client, input: &[u8]) {
        client.unread.extend_from_slice(input);
        loop {
            let (used, action) =
                client
                    .session
                    .receive(&client.unread, &mut self.master, &self.config);
            client.unread.drain(..used);
            match action {
                Some(Action::Verify(login)) => {
                    client
                        .session
                        .verified(self.users.check(&login), &self.master);
                }
                Some(Action::StartTls) => panic!("STARTTLS is not offered"),
                None if client.unread.is_empty()
                    || client.session.is_closing()
                    || client.session.wants_input(&self.config) && used == 0 =>
                {
                    return;
                }
                None if used == 0 => assert!(self.drain(client), "session stuck"),
                None => {}
            }
        }
    }

    /// Commits, then lets the session produce and release all it can; whether it sent anything.
    fn drain(&mut self, client: &mut Client) -> bool {
        if let Some(batch) = self.master.take_batch() {
            self.master.committed(batch.through);
        }
        let start = client.held.len();
        loop {
            client.session.produce(&self.master, &self.config);
            let before = client.held.len();
            client
                .session
                .release(self.master.durable_seq(), &mut client.held);
            if client.held.len() == before {
                return client.held.len() > start;
            }
        }
    }

    /// What the session sends once everything accepted is durable.
    fn flush(&mut self, client: &mut Client) -> String {
        self.drain(client);
        String::from_utf8(std::mem::take(&mut client.held)).unwrap()
    }

    fn exchange(&mut self, client: &mut Client, input: &str) -> String {
        self.feed(client, input.as_bytes());
        self.flush(client)
    }

    fn login(&mut self, client: &mut Client, user: &str, password: &str) {
        let plain = base64_plain(user, password);
        let answer = self.exchange(
            client,
            &format!("A01 AUTHENTICATE \"PLAIN\" \"{plain}\"\r\n"),
        );
        assert_eq!(answer, "A01 OK \"Authenticated\"\r\n");
    }
}

fn base64_plain(user: &str, password: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

const BANNER: &str = "* AUTH \"PLAIN\"\r\n* PARTIAL-UPDATE\r\n* X-CORVID-RESUME\r\n\
                      * OK MUPDATE \"master.test\" \"corvid\" \"0\" \"(master)\"\r\n";

fn mailbox(tag: &str, name: &str, location: &str, acl: &str) -> String {
    format!(
        "{tag} MAILBOX {{{}+}}\r\n{name} {{{}+}}\r\n{location} {{{}+}}\r\n{acl}\r\n",
        name.len(),
        location.len(),
        acl.len()
    )
}

#[test]
fn banner_and_commands_before_login() {
    let mut world = World::new();
    let (mut session, banner) = world.connect();
    assert_eq!(banner, BANNER);
    for command in [
        "X1 FIND \"user.a\"",
        "X1 LIST",
        "X1 UPDATE",
        "X1 NOOP",
        "X1 DELETE \"a\"",
    ] {
        assert_eq!(
            world.exchange(&mut session, &format!("{command}\r\n")),
            "X1 BAD \"Please login first\"\r\n"
        );
    }
    assert_eq!(
        world.exchange(&mut session, "S1 STARTTLS\r\n"),
        "S1 BAD \"Unrecognized command\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "X2 FROB\r\n"),
        "X2 BAD \"Unrecognized command\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "Q01 LOGOUT\r\n"),
        "Q01 OK \"bye-bye\"\r\n"
    );
    assert!(session.session.is_closing());
}

#[test]
fn authenticate_plain_every_way() {
    let mut world = World::new();
    let (mut session, _) = world.connect();
    // Wrong password, unknown mechanism, then a challenge-response login.
    let wrong = base64_plain("admin", "nope");
    assert_eq!(
        world.exchange(
            &mut session,
            &format!("A01 AUTHENTICATE \"PLAIN\" \"{wrong}\"\r\n")
        ),
        "A01 NO \"authentication failure\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "A02 AUTHENTICATE \"DIGEST-MD5\"\r\n"),
        "A02 NO \"no mechanism available\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "A03 AUTHENTICATE \"PLAIN\"\r\n"),
        "\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "*\r\n"),
        "A03 NO \"authentication failure\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "A04 AUTHENTICATE PLAIN\r\n"),
        "\r\n"
    );
    let good = base64_plain("admin", "secret");
    assert_eq!(
        world.exchange(&mut session, &format!("{good}\r\n")),
        "A04 OK \"Authenticated\"\r\n"
    );
    assert_eq!(
        world.exchange(
            &mut session,
            &format!("A05 AUTHENTICATE \"PLAIN\" \"{good}\"\r\n")
        ),
        "A05 BAD \"already authenticated\"\r\n"
    );
    // As a literal, the way Cyrus sends it; and an admin acting as a frontend.
    let (mut other, _) = world.connect();
    use base64::Engine;
    let as_fe = base64::engine::general_purpose::STANDARD.encode("fe\0admin\0secret");
    let answer = world.exchange(
        &mut other,
        &format!(
            "A01 AUTHENTICATE \"PLAIN\" {{{}+}}\r\n{as_fe}\r\n",
            as_fe.len()
        ),
    );
    assert_eq!(answer, "A01 OK \"Authenticated\"\r\n");
    assert_eq!(
        world.exchange(&mut other, "X1 DELETE \"user.a\"\r\n"),
        "X1 BAD \"read-only session\"\r\n"
    );
}

#[test]
fn writes_and_reads_byte_for_byte() {
    let mut world = World::new();
    let (mut session, _) = world.connect();
    world.login(&mut session, "admin", "secret");
    // Pipelined, with both literal kinds and a synchronizing literal that needs `+ go ahead`.
    let answer = world.exchange(
        &mut session,
        "X1 RESERVE {15+}\r\nuser.bob.Drafts {11+}\r\nbe2!default\r\n\
         X2 ACTIVATE {15+}\r\nuser.bob.Drafts {11+}\r\nbe2!default {19+}\r\nbob\tlrswipkxtecdan\t\r\n\
         X3 RESERVE \"user.bob.Drafts\" \"be1!default\"\r\n\
         X4 FIND \"user.bob.Drafts\"\r\nX5 FIND \"user.none\"\r\nX6 ACTIVATE {8}\r\n",
    );
    let expected = [
        "X1 OK \"done\"\r\n".to_string(),
        "X2 OK \"done\"\r\n".into(),
        "X3 NO \"mailbox already exists\"\r\n".into(),
        mailbox(
            "X4",
            "user.bob.Drafts",
            "be2!default",
            "bob\tlrswipkxtecdan\t",
        ),
        "X4 OK \"Search completed\"\r\n".into(),
        "X5 OK \"Search completed\"\r\n".into(),
        "+ go ahead\r\n".into(),
    ]
    .concat();
    assert_eq!(answer, expected);
    assert_eq!(
        world.exchange(&mut session, "user.bob \"be2!\" \"\"\r\n"),
        "X6 OK \"done\"\r\n"
    );
    assert_eq!(
        world.exchange(
            &mut session,
            "X7 DEACTIVATE \"user.bob.Drafts\" \"be3!p\"\r\nX8 FIND \"user.bob.Drafts\"\r\n"
        ),
        "X7 OK \"done\"\r\nX8 RESERVE {15+}\r\nuser.bob.Drafts {5+}\r\nbe3!p\r\nX8 OK \"Search completed\"\r\n"
    );
    assert_eq!(
        world.exchange(
            &mut session,
            "X9 DEACTIVATE \"user.bob.Drafts\" \"be3!p\"\r\n"
        ),
        "X9 NO \"mailbox not currently active\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "X10 DEACTIVATE \"user.zed\" \"be3!p\"\r\n"),
        "X10 NO \"mailbox doesn't exist\"\r\n"
    );
    // LIST in dbname order, and with a location prefix.
    world.exchange(&mut session, "X11 ACTIVATE \"user.bob.Sent-Items\" \"be2!default\" \"\"\r\nX12 ACTIVATE \"user.bob.Sent.x\" \"be2!default\" \"\"\r\nX13 ACTIVATE \"user.bob.Sent\" \"be2!default\" \"\"\r\n");
    let listed = world.exchange(&mut session, "L1 LIST \"be2!\"\r\n");
    let names: Vec<&str> = listed
        .lines()
        .filter(|l| l.starts_with("user."))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "user.bob",
            "user.bob.Sent",
            "user.bob.Sent.x",
            "user.bob.Sent-Items"
        ]
    );
    assert!(listed.ends_with("L1 OK \"list complete\"\r\n"));
    let everything = world.exchange(&mut session, "L2 LIST\r\n");
    assert_eq!(
        everything.matches(" MAILBOX ").count() + everything.matches(" RESERVE ").count(),
        5
    );
    // DELETE: no location check, absent names are fine.
    assert_eq!(
        world.exchange(
            &mut session,
            "D1 DELETE \"user.bob\"\r\nD2 DELETE \"user.bob\"\r\nD3 FIND \"user.bob\"\r\n"
        ),
        "D1 OK \"done\"\r\nD2 OK \"done\"\r\nD3 OK \"Search completed\"\r\n"
    );
    // Argument errors in Cyrus's words.
    assert_eq!(
        world.exchange(&mut session, "E1 FIND\r\n"),
        "E1 BAD \"Missing arguments\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "E2 FIND \"a\" \"b\"\r\n"),
        "E2 BAD \"Extra arguments\"\r\n"
    );
    assert_eq!(
        world.exchange(&mut session, "E3 ACTIVATE \"\" \"be1!p\" \"\"\r\n"),
        "E3 BAD \"Badly formed arguments\"\r\n"
    );
}

#[test]
fn answers_wait_for_the_disk() {
    let mut world = World::new();
    let (mut session, _) = world.connect();
    world.login(&mut session, "admin", "secret");
    let (mut reader, _) = world.connect();
    world.login(&mut reader, "fe", "pwf");
    world.feed(
        &mut session,
        b"X1 ACTIVATE \"user.a\" \"be1!p\" \"\"\r\nX2 NOOP\r\n",
    );
    let mut out = Vec::new();
    session.session.produce(&world.master, &world.config);
    session
        .session
        .release(world.master.durable_seq(), &mut out);
    assert!(
        out.is_empty(),
        "nothing before the commit: {:?}",
        String::from_utf8_lossy(&out)
    );
    // A reader on another session sees the change only once it is durable, too.
    world.feed(&mut reader, b"F1 FIND \"user.a\"\r\n");
    reader.session.release(world.master.durable_seq(), &mut out);
    assert!(out.is_empty());
    assert_eq!(
        world.flush(&mut session),
        "X1 OK \"done\"\r\nX2 OK \"Noop done\"\r\n"
    );
    assert!(world.flush(&mut reader).starts_with("F1 MAILBOX"));
}

#[test]
fn update_dumps_then_streams_with_a_barrier() {
    let mut world = World::new();
    let (mut writer, _) = world.connect();
    world.login(&mut writer, "be1", "pw1");
    world.exchange(
        &mut writer,
        "X1 ACTIVATE \"user.a\" \"be1!p\" \"a\tlrs\t\"\r\n",
    );
    world.exchange(&mut writer, "X2 ACTIVATE \"user.b\" \"be1!p\" \"\"\r\n");
    let (mut follower, _) = world.connect();
    world.login(&mut follower, "fe", "pwf");
    let dump = world.exchange(&mut follower, "U01 UPDATE\r\n");
    assert_eq!(
        dump,
        [
            mailbox("U01", "user.a", "be1!p", "a\tlrs\t"),
            mailbox("U01", "user.b", "be1!p", ""),
            "U01 OK \"streaming starts\"\r\n".into()
        ]
        .concat()
    );
    // A change streams at once (once durable), without a NOOP.
    world.exchange(
        &mut writer,
        "X3 DELETE \"user.a\"\r\nX4 RESERVE \"user.c\" \"be1!q\"\r\n",
    );
    assert_eq!(
        world.flush(&mut follower),
        "U01 DELETE {6+}\r\nuser.a\r\nU01 RESERVE {6+}\r\nuser.c {5+}\r\nbe1!q\r\n"
    );
    // The barrier: a change accepted before the NOOP is sent before its OK.
    world.feed(&mut writer, b"X5 ACTIVATE \"user.c\" \"be1!q\" \"\"\r\n");
    assert_eq!(
        world.exchange(&mut follower, "N1 NOOP\r\n"),
        [
            mailbox("U01", "user.c", "be1!q", ""),
            "N1 OK \"Noop done\"\r\n".into()
        ]
        .concat()
    );
    assert_eq!(
        world.exchange(
            &mut follower,
            "F1 FIND \"user.c\"\r\nL1 LIST\r\nU2 UPDATE\r\n"
        ),
        "F1 BAD \"not legal when streaming\"\r\nL1 BAD \"not legal when streaming\"\r\nU2 BAD \"not legal when streaming\"\r\n"
    );
    // PARTIAL-UPDATE: only changes touching the listed hosts.
    let (mut partial, _) = world.connect();
    world.login(&mut partial, "admin", "secret");
    world.exchange(&mut partial, "X1 ACTIVATE \"user.z\" \"be9!p\" \"\"\r\n");
    let dump = world.exchange(&mut partial, "U9 UPDATE \"be9\"\r\n");
    assert_eq!(
        dump,
        [
            mailbox("U9", "user.z", "be9!p", ""),
            "U9 OK \"streaming starts\"\r\n".into()
        ]
        .concat()
    );
    world.exchange(&mut writer, "X6 DELETE \"user.b\"\r\n");
    assert_eq!(world.flush(&mut partial), "");
    // A backend may not take another server's mailbox; an admin may move it.
    assert_eq!(
        world.exchange(&mut writer, "X7 ACTIVATE \"user.z\" \"be1!p\" \"\"\r\n"),
        "X7 NO \"permission denied\"\r\n"
    );
    let (mut admin, _) = world.connect();
    world.login(&mut admin, "admin", "secret");
    assert_eq!(
        world.exchange(&mut admin, "X8 ACTIVATE \"user.z\" \"be1!p\" \"\"\r\n"),
        "X8 OK \"done\"\r\n"
    );
    assert_eq!(
        world.flush(&mut partial),
        mailbox("U9", "user.z", "be1!p", "")
    );
    assert_eq!(
        world
            .exchange(&mut follower, "Q01 LOGOUT\r\n")
            .lines()
            .last(),
        Some("Q01 OK \"bye-bye\"")
    );
}

#[test]
fn big_answers_come_in_pieces_within_the_budget() {
    let mut world = World::new();
    world.config.output_budget = 4096;
    let (mut session, _) = world.connect();
    world.login(&mut session, "admin", "secret");
    let mut commands = String::new();
    for i in 0..2000 {
        commands.push_str(&format!(
            "X{i} ACTIVATE \"user.u{i:05}\" \"be1!p\" \"u{i:05}\tlrs\t\"\r\n"
        ));
    }
    world.exchange(&mut session, &commands);
    let (used, _) =
        session
            .session
            .receive(b"L1 LIST\r\nN1 NOOP\r\n", &mut world.master, &world.config);
    assert_eq!(used, 9, "the NOOP waits behind the LIST");
    let mut most = 0;
    let mut listed = String::new();
    loop {
        session.session.produce(&world.master, &world.config);
        most = most.max(session.session.out_bytes);
        let mut piece = Vec::new();
        session
            .session
            .release(world.master.durable_seq(), &mut piece);
        if piece.is_empty() {
            break;
        }
        listed.push_str(&String::from_utf8(piece).unwrap());
    }
    listed.push_str(&world.exchange(&mut session, "N1 NOOP\r\n"));
    assert!(
        most <= world.config.output_budget + (16 << 10),
        "held {most} bytes"
    );
    assert_eq!(listed.matches("L1 MAILBOX").count(), 2000);
    assert!(listed.ends_with("L1 OK \"list complete\"\r\nN1 OK \"Noop done\"\r\n"));
}

#[test]
fn a_follower_too_far_behind_is_closed() {
    let mut world = World::new();
    world.master = Master::new(MailboxTable::default(), 4);
    let (mut follower, _) = world.connect();
    world.login(&mut follower, "fe", "pwf");
    world.exchange(&mut follower, "U01 UPDATE\r\n");
    let (mut writer, _) = world.connect();
    world.login(&mut writer, "admin", "secret");
    for i in 0..10 {
        world.exchange(
            &mut writer,
            &format!("X{i} ACTIVATE \"user.u{i}\" \"be1!p\" \"\"\r\n"),
        );
    }
    assert_eq!(
        world.flush(&mut follower),
        "* BYE \"too far behind the update stream\"\r\n"
    );
    assert!(follower.session.is_closing());
}

#[test]
fn every_split_of_a_session_gives_the_same_answers() {
    let input = format!(
        "A01 AUTHENTICATE \"PLAIN\" {{20+}}\r\n{}\r\nX1 ACTIVATE {{6}}\r\nuser.a \"be1!p\" {{4+}}\r\na\tl\t\r\nX2 FIND user.a\r\nX3 NOPE\r\nQ LOGOUT\r\n",
        base64_plain("admin", "secret")
    );
    let whole = {
        let mut world = World::new();
        let (mut session, _) = world.connect();
        world.exchange(&mut session, &input)
    };
    assert!(whole.contains("X2 OK \"Search completed\""), "{whole}");
    for split in 1..input.len() {
        let mut world = World::new();
        let (mut client, _) = world.connect();
        let (a, b) = input.as_bytes().split_at(split);
        world.feed(&mut client, a);
        let mut out = world.flush(&mut client);
        world.feed(&mut client, b);
        out.push_str(&world.flush(&mut client));
        // A `+ go ahead` comes only when the split leaves a synchronizing literal unsent.
        let asked = out.matches("+ go ahead\r\n").count();
        assert!(asked <= 1, "split at {split}: {out}");
        assert_eq!(out.replace("+ go ahead\r\n", ""), whole, "split at {split}");
    }
}

#[test]
fn xresume_sends_only_what_changed_or_a_dump() {
    let mut world = World::new();
    world.master = Master::new(MailboxTable::default(), 5).with_epoch(0xabc);
    let (mut writer, _) = world.connect();
    world.login(&mut writer, "admin", "secret");
    for name in ["user.a", "user.b", "user.c"] {
        world.exchange(
            &mut writer,
            &format!("W ACTIVATE \"{name}\" \"be1!p\" \"\"\r\n"),
        );
    }
    // A first follower takes a dump with positions.
    let (mut follower, _) = world.connect();
    world.login(&mut follower, "fe", "pwf");
    let dump = world.exchange(&mut follower, "U1 XRESUME \"0000000000000000-0\"\r\n");
    assert!(dump.starts_with("* OK \"dump\"\r\nU1 MAILBOX"), "{dump}");
    assert!(
        dump.ends_with("* OK \"position 0000000000000abc-3\"\r\nU1 OK \"streaming starts\"\r\n"),
        "{dump}"
    );
    world.exchange(&mut writer, "W DELETE \"user.a\"\r\n");
    assert_eq!(
        world.flush(&mut follower),
        "U1 DELETE {6+}\r\nuser.a\r\n* OK \"position 0000000000000abc-4\"\r\n"
    );
    // Reconnecting at position 4 after two more changes: only those two.
    world.exchange(
        &mut writer,
        "W ACTIVATE \"user.b\" \"be2!p\" \"\"\r\nW DELETE \"user.c\"\r\n",
    );
    let (mut again, _) = world.connect();
    world.login(&mut again, "fe", "pwf");
    let delta = world.exchange(&mut again, "U2 XRESUME \"0000000000000abc-4\"\r\n");
    assert_eq!(
        delta,
        [
            "* OK \"delta\"\r\n".to_string(),
            mailbox("U2", "user.b", "be2!p", ""),
            "U2 DELETE {6+}\r\nuser.c\r\n".into(),
            "* OK \"position 0000000000000abc-6\"\r\nU2 OK \"streaming starts\"\r\n".into(),
        ]
        .concat()
    );
    // Caught up already: an empty delta.
    let (mut current, _) = world.connect();
    world.login(&mut current, "fe", "pwf");
    assert_eq!(
        world.exchange(&mut current, "U3 XRESUME \"0000000000000abc-6\"\r\n"),
        "* OK \"delta\"\r\nU3 OK \"streaming starts\"\r\n"
    );
    // Another epoch, a position ahead of the master, or one older than the kept changes: a dump.
    for position in [
        "0000000000000abd-4",
        "0000000000000abc-99",
        "0000000000000abc-0",
        "garbage",
    ] {
        let (mut other, _) = world.connect();
        world.login(&mut other, "fe", "pwf");
        let answer = world.exchange(&mut other, &format!("U4 XRESUME \"{position}\"\r\n"));
        assert!(
            answer.starts_with("* OK \"dump\"\r\n"),
            "{position}: {answer}"
        );
    }
}
