//! `corvid mboxlist` against running masters: a dump loads into another master unchanged,
//! find and list answer, bad input is refused with a clear error.

#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Output};

use support::MupdateMaster;
use support::corvid::{ADMIN, CorvidMaster};

fn mboxlist(master: &CorvidMaster, args: &[&str], stdin: &[u8]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_corvid"));
    command
        .arg("mboxlist")
        .args(["--master", &master.endpoint().addr(), "--user", ADMIN.0])
        .env("CORVID_MUPDATE_PASSWORD", ADMIN.1)
        .args(args);
    support::run_bounded(&mut command, stdin, std::time::Duration::from_secs(30)).unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn dump_load_find_list() {
    let source = CorvidMaster::start();
    let mut admin = source.endpoint().connect().unwrap();
    for (name, location, acl) in [
        ("user.alice", "be1!default", "alice\tlrswipkxtecdan\t"),
        ("user.alice.Sent-Items", "be1!default", "alice\tlrs\t"),
        ("user.alice.Sent", "be1!default", "alice\tlrs\tbob\tlr\t"),
        ("example.com!user.bob", "be2!", "bob@example.com\tlr\t"),
    ] {
        admin.activate(name, location, acl).unwrap();
    }
    admin.reserve("user.carol", "be2!default").unwrap();
    admin.logout();

    let dump = stdout(&mboxlist(&source, &["dump"], b""));
    let names: Vec<&str> = dump.lines().map(|l| l.split('"').nth(3).unwrap()).collect();
    assert_eq!(
        names,
        [
            "example.com!user.bob",
            "user.alice",
            "user.alice.Sent",
            "user.alice.Sent-Items",
            "user.carol"
        ],
        "dbname order"
    );
    assert!(
        dump.contains(
            r#"{"name":"user.carol","location":"be2!default","acl":"","state":"reserved"}"#
        ),
        "{dump}"
    );

    // Loaded into an empty master, it dumps the same, byte for byte.
    let target = CorvidMaster::start();
    let loaded = stdout(&mboxlist(&target, &["load", "-"], dump.as_bytes()));
    assert_eq!(loaded.trim(), "loaded 5 entries, 0 refused");
    assert_eq!(stdout(&mboxlist(&target, &["dump"], b"")), dump);

    let found = stdout(&mboxlist(&target, &["find", "user.alice.Sent"], b""));
    assert_eq!(
        found,
        "{\"name\":\"user.alice.Sent\",\"location\":\"be1!default\",\"acl\":\"alice\\tlrs\\tbob\\tlr\\t\",\"state\":\"active\"}\n"
    );
    assert_eq!(
        stdout(&mboxlist(&target, &["find", "user.nobody"], b"")),
        ""
    );
    let listed = stdout(&mboxlist(&target, &["list", "be2!"], b""));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let cyrus = stdout(&mboxlist(&target, &["dump", "--format", "cyrus"], b""));
    assert!(cyrus.contains("\"server\": \"be1\""), "{cyrus}");

    // Bad input: a clear error and a failing exit status.
    let bad = mboxlist(&target, &["load", "-"], b"{\"name\": 1}\n");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("-:1: not a dump line"));
    let mut wrong = Command::new(env!("CARGO_BIN_EXE_corvid"));
    wrong
        .args([
            "mboxlist",
            "--master",
            &target.endpoint().addr(),
            "--user",
            ADMIN.0,
        ])
        .env("CORVID_MUPDATE_PASSWORD", "wrong")
        .arg("dump");
    let refused =
        support::run_bounded(&mut wrong, b"", std::time::Duration::from_secs(30)).unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("authentication failure"));
}
