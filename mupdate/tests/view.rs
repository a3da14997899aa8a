//! The mailbox table as one user sees it: LIST/LSUB golden answers, the ACL answers, name
//! resolution, a brute-force reference for LIST, and proof that LIST does not scan the murder.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::collections::BTreeSet;
use std::sync::Arc;

use corvid_mupdate::table::{Base, Change, EntryRef, MailboxTable, State};
use corvid_mupdate::view::{
    ListError, Listed, LookupError, Subscriptions, View, Viewer, needs_subscriptions,
};
use corvid_proto::acl::{Acl, ImplicitRights, Principal, Rights};
use corvid_proto::imap::command::{Args, parse_head};
use corvid_proto::mailbox::dbname::dbname_cmp;
use corvid_proto::mailbox::name::{NameError, Namespace, NamespaceConfig, owner_of};
use proptest::prelude::*;

const ALL: &str = "lrswipkxtecdan";

/// ~30 entries: several users, a domain, shared folders, ACLs with anyone, negative rights and
/// groups, reserved entries and a tombstone; part of it in the base, part in the overlay.
fn table() -> MailboxTable {
    let own = |u: &str| format!("{u}\t{ALL}\t");
    let base: Vec<(String, String)> = vec![
        ("user.john".into(), own("john")),
        ("user.john.Sent".into(), own("john")),
        ("user.john.Trash".into(), own("john")),
        ("user.john.Archive".into(), own("john")),
        ("user.john.Archive.2024".into(), own("john")),
        ("user.john.Archive.2024.Q1".into(), own("john")),
        ("user.john.Other Users".into(), own("john")),
        ("user.john.a^b".into(), own("john") + "anyone\tl\t"),
        ("user.jane".into(), own("jane")),
        ("user.jane.Private".into(), own("jane")),
        ("user.jane.Public".into(), own("jane") + "anyone\tlr\t"),
        ("user.jane.Team".into(), own("jane") + "group:staff\tlrs\t"),
        ("user.bob".into(), own("bob") + "john\tlr\t"),
        (
            "user.bob.Secret".into(),
            own("bob") + "john\tlr\t-john\tl\t",
        ),
        ("user.bob.Shared".into(), own("bob") + "john\tlrs\t"),
        ("user.carol".into(), own("carol")),
        ("user.carol.x".into(), own("carol") + "anyone\tl\t"),
        ("user.dave.Inbox-ish".into(), own("dave")),
        ("lists".into(), "anyone\tlrs\t".into()),
        ("lists.rust".into(), "anyone\tlr\t".into()),
        ("hidden".into(), "admin\tlrswipkxtecdan\t".into()),
        ("team".into(), "group:staff\tlrs\t".into()),
        ("broken".into(), "anyone\tlr".into()),
        ("Zeta".into(), "john\tlr\t".into()),
        ("Zeta.private".into(), String::new()),
        ("DELETED.user.john.Trash.65E33B49".into(), own("john")),
        ("DELETED.lists.old.65E33B50".into(), "anyone\tlr\t".into()),
        ("example.com!user.john".into(), own("john@example.com")),
        ("example.com!user.ann.Pub".into(), "anyone\tlr\t".into()),
        ("example.com!lists".into(), "anyone\tlr\t".into()),
        ("example.com!zed".into(), "anyone\tlr\t".into()),
        ("other.org!lists".into(), "anyone\tlr\t".into()),
    ];
    let mut entries: Vec<EntryRef<'_>> = base
        .iter()
        .map(|(name, acl)| EntryRef {
            name: name.as_bytes(),
            location: b"be1!default",
            acl: acl.as_bytes(),
            state: State::Active,
        })
        .collect();
    entries.sort_by(|a, b| dbname_cmp(a.name, b.name));
    let mut table = MailboxTable::new(Arc::new(Base::build(entries.into_iter(), 1).unwrap()));
    let upsert = |name: &str, location: &str, acl: String, state| Change::Upsert {
        name: name.as_bytes().into(),
        location: location.as_bytes().into(),
        acl: acl.into_bytes().into(),
        state,
    };
    let changes = [
        upsert("user.john.Drafts", "be2!p", own("john"), State::Active),
        upsert(
            "user.jane.Public2",
            "be1!default",
            own("jane") + "anyone\tlr\t",
            State::Active,
        ),
        upsert("user.john.New", "be2!p", String::new(), State::Reserved),
        upsert("reserved", "be2!p", String::new(), State::Reserved),
        upsert("news", "be2!p", "anyone\tlr\t".into(), State::Active),
        Change::Delete {
            name: b"user.john.Trash".as_slice().into(),
        },
    ];
    for (seq, change) in changes.into_iter().enumerate() {
        table.apply(seq as u64 + 2, change);
    }
    table
}

fn ns() -> Namespace {
    Namespace::default()
}

fn viewer(ns: &Namespace, userid: &str) -> Viewer {
    Viewer::new(ns, userid, Vec::new(), false).unwrap()
}

/// Runs one LIST or LSUB command line through the real head parser.
fn run(view: &View<'_>, command: &str, subscriptions: Option<&Subscriptions>) -> String {
    try_run(view, command, subscriptions).unwrap().0
}

fn try_run(
    view: &View<'_>,
    command: &str,
    subscriptions: Option<&Subscriptions>,
) -> Result<(String, Listed), ListError> {
    let line = format!("{command}\r\n");
    let head = parse_head(line.as_bytes()).unwrap();
    let Args::List(args) = head.args else {
        panic!("not a LIST: {command}")
    };
    let mut out = Vec::new();
    let listed = if head.name.eq_ignore_ascii_case(b"LSUB") {
        view.lsub(&args, subscriptions.unwrap(), &mut out)?
    } else {
        view.list(&args, subscriptions, &mut out)?
    };
    Ok((String::from_utf8(out).unwrap(), listed))
}

fn subscriptions(lines: &[&str]) -> Subscriptions {
    let mut subs = Subscriptions::default();
    for line in lines {
        subs.add_reply_line(format!("{line}\r\n").as_bytes())
            .unwrap();
    }
    subs
}

fn lines(text: &str) -> String {
    text.lines().map(|l| format!("{l}\r\n")).collect()
}

#[test]
fn list_everything_john_sees() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    assert_eq!(
        run(&view, "a LIST \"\" \"*\"", None),
        lines(
            r#"* LIST (\HasChildren) "/" INBOX
* LIST (\HasNoChildren) "/" "INBOX/Other Users"
* LIST (\HasChildren) "/" Archive
* LIST (\HasChildren) "/" Archive/2024
* LIST (\HasNoChildren) "/" Archive/2024/Q1
* LIST (\HasNoChildren) "/" Drafts
* LIST (\HasNoChildren) "/" Sent
* LIST (\HasNoChildren) "/" a.b
* LIST (\Noselect \HasChildren) "/" "Other Users"
* LIST (\HasChildren) "/" "Other Users/bob"
* LIST (\HasNoChildren) "/" "Other Users/bob/Shared"
* LIST (\Noselect \HasChildren) "/" "Other Users/carol"
* LIST (\HasNoChildren) "/" "Other Users/carol/x"
* LIST (\Noselect \HasChildren) "/" "Other Users/jane"
* LIST (\HasNoChildren) "/" "Other Users/jane/Public"
* LIST (\HasNoChildren) "/" "Other Users/jane/Public2"
* LIST (\Noselect \HasChildren) "/" "Shared Folders"
* LIST (\HasNoChildren) "/" "Shared Folders/Zeta"
* LIST (\HasChildren) "/" "Shared Folders/lists"
* LIST (\HasNoChildren) "/" "Shared Folders/lists/rust"
* LIST (\HasNoChildren) "/" "Shared Folders/news"
"#
        )
    );
}

#[test]
fn list_percent_levels_and_rfc3501_examples() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    // RFC 3501 §6.3.8: `LIST "" ""` gives the delimiter; a reference's root with it.
    assert_eq!(
        run(&view, "a LIST \"\" \"\"", None),
        lines(r#"* LIST (\Noselect) "/" """#)
    );
    assert_eq!(
        run(&view, "a LIST \"Archive/2024\" \"\"", None),
        lines(r#"* LIST (\Noselect) "/" Archive/"#)
    );
    // `%` returns the levels, the namespace roots `\Noselect`.
    assert_eq!(
        run(&view, "a LIST \"\" \"%\"", None),
        lines(
            r#"* LIST (\HasChildren) "/" INBOX
* LIST (\HasChildren) "/" Archive
* LIST (\HasNoChildren) "/" Drafts
* LIST (\HasNoChildren) "/" Sent
* LIST (\HasNoChildren) "/" a.b
* LIST (\Noselect \HasChildren) "/" "Other Users"
* LIST (\Noselect \HasChildren) "/" "Shared Folders"
"#
        )
    );
    assert_eq!(
        run(&view, "a LIST \"Other Users/\" \"%\"", None),
        lines(
            r#"* LIST (\HasChildren) "/" "Other Users/bob"
* LIST (\Noselect \HasChildren) "/" "Other Users/carol"
* LIST (\Noselect \HasChildren) "/" "Other Users/jane"
"#
        )
    );
    // INBOX in any case; a name without wildcards; several patterns (RFC 5258).
    assert_eq!(
        run(&view, "a LIST \"\" inbox", None),
        lines(r#"* LIST (\HasChildren) "/" INBOX"#)
    );
    assert_eq!(
        run(&view, "a LIST \"\" (Sent \"Shared Folders/%\")", None),
        lines(
            r#"* LIST (\HasNoChildren) "/" Sent
* LIST (\HasNoChildren) "/" "Shared Folders/Zeta"
* LIST (\HasChildren) "/" "Shared Folders/lists"
* LIST (\HasNoChildren) "/" "Shared Folders/news"
"#
        )
    );
    // Hidden: jane's private folders, bob's Secret (a negative `l`), other domains, the
    // tombstones, reserved entries, a shared folder without an ACL, and an ACL that does not
    // parse.
    let all = run(&view, "a LIST \"\" \"*\"", None);
    for hidden in [
        "Private",
        "Secret",
        "hidden",
        "broken",
        "New",
        "reserved",
        "ann",
        "Trash",
        "lists/old",
        "private",
        "zed",
    ] {
        assert!(!all.contains(hidden), "{hidden} listed");
    }
}

#[test]
fn groups_admins_and_domains() {
    let (table, ns) = (table(), ns());
    let staff = Viewer::new(&ns, "zed", vec![b"staff".to_vec()], false).unwrap();
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &staff,
        utf8: false,
    };
    let out = run(&view, "a LIST \"\" \"*\"", None);
    assert!(out.contains("\"Other Users/jane/Team\""), "{out}");
    assert!(out.contains("\"Shared Folders/team\""), "{out}");
    let admin = Viewer::new(&ns, "admin", Vec::new(), true).unwrap();
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &admin,
        utf8: false,
    };
    let out = run(&view, "a LIST \"Other Users/\" \"%\"", None);
    assert_eq!(out.matches("* LIST").count(), 5, "{out}");
    assert!(
        out.contains("(\\HasChildren) \"/\" \"Other Users/jane\""),
        "{out}"
    );
    let vd = Namespace::new(NamespaceConfig {
        virtual_domains: true,
        ..NamespaceConfig::default()
    })
    .unwrap();
    let jd = Viewer::new(&vd, "john@example.com", Vec::new(), false).unwrap();
    let view = View {
        table: &table,
        ns: &vd,
        viewer: &jd,
        utf8: false,
    };
    assert_eq!(
        run(&view, "a LIST \"\" \"*\"", None),
        lines(
            r#"* LIST (\HasNoChildren) "/" INBOX
* LIST (\Noselect \HasChildren) "/" "Other Users"
* LIST (\Noselect \HasChildren) "/" "Other Users/ann"
* LIST (\HasNoChildren) "/" "Other Users/ann/Pub"
* LIST (\Noselect \HasChildren) "/" "Shared Folders"
* LIST (\HasNoChildren) "/" "Shared Folders/lists"
* LIST (\HasNoChildren) "/" "Shared Folders/zed"
"#
        )
    );
}

#[test]
fn shared_folders_are_top_level_names() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    // The pattern's literal levels narrow the scan to one shared folder's subtree.
    assert_eq!(
        run(&view, "a LIST \"Shared Folders/\" \"lists/*\"", None),
        lines(r#"* LIST (\HasNoChildren) "/" "Shared Folders/lists/rust""#)
    );
    assert_eq!(
        run(&view, "a LIST \"\" \"Shared Folders/Z%\"", None),
        lines(r#"* LIST (\HasNoChildren) "/" "Shared Folders/Zeta""#)
    );
    assert_eq!(
        run(&view, "a LIST \"\" \"Shared Folders/user/*\"", None),
        ""
    );
    let zeta = view.resolve(b"Shared Folders/Zeta").unwrap();
    assert_eq!(
        (zeta.internal.as_str(), zeta.rights),
        ("Zeta", Rights::parse(b"lr").unwrap())
    );
    assert_eq!(
        view.resolve(b"Shared Folders/news").unwrap().server(),
        b"be2"
    );
    assert_eq!(
        view.resolve(b"Shared Folders/user/jane"),
        Err(LookupError::InvalidName(NameError::Reserved))
    );
    assert_eq!(
        view.resolve(b"Shared Folders/shared/lists").unwrap_err(),
        LookupError::NonExistent
    );
    let answer = |f: &dyn Fn(&mut Vec<u8>) -> Result<(), LookupError>| {
        let mut out = Vec::new();
        f(&mut out).map(|()| String::from_utf8(out).unwrap())
    };
    assert_eq!(
        answer(&|out| view.myrights(b"Shared Folders/Zeta", out)).unwrap(),
        "* MYRIGHTS \"Shared Folders/Zeta\" lr\r\n"
    );
    assert_eq!(
        answer(&|out| view.getacl(b"Shared Folders/Zeta", out)),
        Err(LookupError::PermissionDenied)
    );
    assert_eq!(
        answer(&|out| view.myrights(b"Shared Folders/hidden", out)),
        Err(LookupError::NonExistent)
    );
    // LSUB: a subscribed shared folder, and one the user may no longer see.
    let subs = subscriptions(&[
        "* LSUB () \"/\" \"Shared Folders/lists/rust\"",
        "* LSUB () \"/\" \"Shared Folders/hidden\"",
    ]);
    assert_eq!(
        run(&view, "a LSUB \"\" \"Shared Folders/*\"", Some(&subs)),
        lines(
            r#"* LSUB (\Noselect) "/" "Shared Folders/hidden"
* LSUB () "/" "Shared Folders/lists/rust"
"#
        )
    );

    // An admin sees every shared folder of the domain (not the tombstones, not other
    // domains'), reading only the table outside the users' range, and may read their ACLs.
    let admin = Viewer::new(&ns, "admin", Vec::new(), true).unwrap();
    let view = View {
        viewer: &admin,
        ..view
    };
    let (out, listed) = try_run(&view, "a LIST \"\" \"Shared Folders/*\"", None).unwrap();
    assert_eq!(
        out,
        lines(
            r#"* LIST (\HasChildren) "/" "Shared Folders/Zeta"
* LIST (\HasNoChildren) "/" "Shared Folders/Zeta/private"
* LIST (\HasNoChildren) "/" "Shared Folders/broken"
* LIST (\HasNoChildren) "/" "Shared Folders/hidden"
* LIST (\HasChildren) "/" "Shared Folders/lists"
* LIST (\HasNoChildren) "/" "Shared Folders/lists/rust"
* LIST (\HasNoChildren) "/" "Shared Folders/news"
* LIST (\HasNoChildren) "/" "Shared Folders/team"
"#
        )
    );
    // The nine top-level names of the default domain, reserved and hidden ones included.
    assert_eq!(listed.entries_read, 9);
    assert_eq!(
        answer(&|out| view.getacl(b"Shared Folders/Zeta", out)).unwrap(),
        "* ACL \"Shared Folders/Zeta\" john lr\r\n"
    );
    assert_eq!(
        answer(&|out| view.listrights(b"Shared Folders/Zeta", b"john", out)).unwrap(),
        "* LISTRIGHTS \"Shared Folders/Zeta\" john \"\" l r s w i p k x t e c d a n 0 1 2 3 4 5 6 7 8 9\r\n"
    );
    // A domain's admin reads the domain's range only.
    let vd = Namespace::new(NamespaceConfig {
        virtual_domains: true,
        ..NamespaceConfig::default()
    })
    .unwrap();
    let domain_admin = Viewer::new(&vd, "admin@example.com", Vec::new(), true).unwrap();
    let view = View {
        ns: &vd,
        viewer: &domain_admin,
        ..view
    };
    let (out, listed) = try_run(&view, "a LIST \"\" \"Shared Folders/*\"", None).unwrap();
    assert_eq!(
        out,
        lines(
            r#"* LIST (\HasNoChildren) "/" "Shared Folders/lists"
* LIST (\HasNoChildren) "/" "Shared Folders/zed"
"#
        )
    );
    assert_eq!(listed.entries_read, 2);
}

#[test]
fn list_extended_subscriptions() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    let subs = subscriptions(&[
        "* LSUB () \"/\" INBOX",
        "* LSUB () \"/\" Sent",
        "* LSUB () \"/\" Archive/2024/Q1",
        "* LSUB (\\Noselect) \"/\" Gone",
        "* LIST (\\Subscribed) \"/\" \"Other Users/jane/Public\"",
    ]);
    let command = "a LIST (SUBSCRIBED) \"\" \"*\"";
    let args_line = format!("{command}\r\n");
    let Args::List(args) = parse_head(args_line.as_bytes()).unwrap().args else {
        unreachable!()
    };
    assert!(needs_subscriptions(&args));
    assert_eq!(
        try_run(&view, command, None).unwrap_err(),
        ListError::NoSubscriptions
    );
    // RFC 5258 §5 example 3, in our namespace: `\NonExistent` for a gone subscription.
    assert_eq!(
        run(&view, command, Some(&subs)),
        lines(
            r#"* LIST (\HasChildren \Subscribed) "/" INBOX
* LIST (\HasNoChildren \Subscribed) "/" Archive/2024/Q1
* LIST (\NonExistent \Subscribed) "/" Gone
* LIST (\HasNoChildren \Subscribed) "/" Sent
* LIST (\HasNoChildren \Subscribed) "/" "Other Users/jane/Public"
"#
        )
    );
    // RECURSIVEMATCH: the levels above subscriptions, with CHILDINFO.
    assert_eq!(
        run(
            &view,
            "a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
            Some(&subs)
        ),
        lines(
            r#"* LIST (\HasChildren \Subscribed) "/" INBOX
* LIST (\HasChildren) "/" Archive ("CHILDINFO" ("SUBSCRIBED"))
* LIST (\NonExistent \Subscribed) "/" Gone
* LIST (\HasNoChildren \Subscribed) "/" Sent
* LIST (\NonExistent \HasChildren) "/" "Other Users" ("CHILDINFO" ("SUBSCRIBED"))
"#
        )
    );
    // RETURN (SUBSCRIBED) marks the subscribed names of a plain listing.
    let out = run(&view, "a LIST \"\" \"%\" RETURN (SUBSCRIBED)", Some(&subs));
    assert!(out.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" Sent\r\n"));
    assert!(out.contains("* LIST (\\HasNoChildren) \"/\" Drafts\r\n"));
    // Option errors are BAD.
    for (command, error) in [
        (
            "a LIST (RECURSIVEMATCH) \"\" \"*\"",
            ListError::RecursiveMatchAlone,
        ),
        (
            "a LIST (SPECIAL-USE) \"\" \"*\"",
            ListError::UnknownSelection("SPECIAL-USE".into()),
        ),
        (
            "a LIST \"\" \"*\" RETURN (STATUS (MESSAGES))",
            ListError::UnknownReturn("STATUS".into()),
        ),
    ] {
        let error_found = try_run(&view, command, Some(&subs)).unwrap_err();
        assert_eq!(error_found, error);
        let mut out = Vec::new();
        error_found.write_answer(b"a", &mut out).unwrap();
        assert!(
            out.starts_with(b"a BAD "),
            "{}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn lsub_marks_gone_mailboxes_and_parents() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    let subs = subscriptions(&[
        "* LSUB () \"/\" inbox",
        "* LSUB () \"/\" Archive/2024/Q1",
        "* LSUB () \"/\" Gone/x",
        "* LSUB () \"/\" \"Other Users/bob/Secret\"",
    ]);
    assert_eq!(
        run(&view, "a LSUB \"\" \"*\"", Some(&subs)),
        lines(
            r#"* LSUB () "/" INBOX
* LSUB () "/" Archive/2024/Q1
* LSUB (\Noselect) "/" Gone/x
* LSUB (\Noselect) "/" "Other Users/bob/Secret"
"#
        )
    );
    // RFC 3501 §6.3.9: `%` also returns the unsubscribed level above, `\Noselect`.
    assert_eq!(
        run(&view, "a LSUB \"Archive/\" \"%\"", Some(&subs)),
        lines(r#"* LSUB (\Noselect) "/" Archive/2024"#)
    );
    assert_eq!(
        run(&view, "a LSUB \"Archive/\" \"*\"", Some(&subs)),
        lines(r#"* LSUB () "/" Archive/2024/Q1"#)
    );
}

#[test]
fn subscriptions_refuse_other_lines() {
    let mut subs = Subscriptions::default();
    assert!(subs.add_reply_line(b"* LIST () \"/\" Sent\r\n").is_err());
    assert!(subs.add_reply_line(b"* 3 EXISTS\r\n").is_err());
    assert!(subs.add_reply_line(b"* LSUB () \"/\" \"a&b\"\r\n").is_err());
    assert!(subs.add_reply_line(b"garbage").is_err());
    subs.add_reply_line(b"* LSUB () \"/\" {4}\r\nSent\r\n")
        .unwrap();
    assert_eq!(subs.len(), 1);
}

#[test]
fn resolve_and_inbox_server() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    let drafts = view.resolve(b"Drafts").unwrap();
    assert_eq!(drafts.internal, "user.john.Drafts");
    assert_eq!(
        (drafts.server(), drafts.entry.location),
        (&b"be2"[..], &b"be2!p"[..])
    );
    assert_eq!(
        view.resolve(b"INBOX/Drafts").unwrap().internal,
        "user.john.Drafts"
    );
    let public = view.resolve(b"Other Users/jane/Public").unwrap();
    assert_eq!(public.rights, Rights::parse(b"lr").unwrap());
    assert_eq!(view.inbox_server().unwrap(), b"be1");
    let answer = |error: LookupError| {
        let mut out = Vec::new();
        error.write_answer(b"t1", &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let gone = view.resolve(b"Trash").unwrap_err();
    assert_eq!(
        answer(gone),
        "t1 NO [NONEXISTENT] mailbox does not exist\r\n"
    );
    let reserved = view.resolve(b"New").unwrap_err();
    assert_eq!(
        answer(reserved),
        "t1 NO [UNAVAILABLE] mailbox is reserved (being created or moved); try again\r\n"
    );
    let invalid = view.resolve(b"a//b").unwrap_err();
    assert!(matches!(invalid, LookupError::InvalidName(_)));
    assert!(answer(invalid).starts_with("t1 NO invalid mailbox name: "));
    assert!(matches!(
        view.resolve(b"Other Users").unwrap_err(),
        LookupError::InvalidName(_)
    ));
    // UTF8=ACCEPT clients send UTF-8 names.
    let utf8 = View { utf8: true, ..view };
    assert_eq!(
        utf8.internal_name("Entwürfe".as_bytes()).unwrap(),
        "user.john.Entw&APw-rfe"
    );
    let nobody = viewer(&ns, "nobody");
    let view = View {
        viewer: &nobody,
        ..view
    };
    assert_eq!(view.inbox_server().unwrap_err(), LookupError::NonExistent);
}

#[test]
fn acl_answers() {
    let (table, ns) = (table(), ns());
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    let answer = |f: &dyn Fn(&mut Vec<u8>) -> Result<(), LookupError>| {
        let mut out = Vec::new();
        f(&mut out).map(|()| String::from_utf8(out).unwrap())
    };
    assert_eq!(
        answer(&|out| view.getacl(b"INBOX", out)).unwrap(),
        "* ACL INBOX john lrswipkxtecdan\r\n"
    );
    assert_eq!(
        answer(&|out| view.getacl(b"a.b", out)).unwrap(),
        "* ACL a.b john lrswipkxtecdan anyone l\r\n"
    );
    // bob's ACL gives john `r` but takes `l` away: he may not learn the ACL.
    assert_eq!(
        answer(&|out| view.getacl(b"Other Users/bob/Secret", out)),
        Err(LookupError::NonExistent)
    );
    assert_eq!(
        answer(&|out| view.myrights(b"Other Users/bob/Secret", out)).unwrap(),
        "* MYRIGHTS \"Other Users/bob/Secret\" r\r\n"
    );
    // GETACL needs `a`: NOPERM when the user sees the mailbox, else NONEXISTENT.
    assert_eq!(
        answer(&|out| view.getacl(b"Other Users/jane/Public", out)),
        Err(LookupError::PermissionDenied)
    );
    assert_eq!(
        answer(&|out| view.getacl(b"Other Users/jane/Private", out)),
        Err(LookupError::NonExistent)
    );
    assert_eq!(
        answer(&|out| view.myrights(b"Other Users/jane/Private", out)),
        Err(LookupError::NonExistent)
    );
    assert_eq!(
        answer(&|out| view.myrights(b"Sent", out)).unwrap(),
        "* MYRIGHTS Sent lrswipkxtecdan\r\n"
    );
    assert_eq!(
        answer(&|out| view.listrights(b"Sent", b"john", out)).unwrap(),
        "* LISTRIGHTS Sent john lkxcan r s w i p t e d 0 1 2 3 4 5 6 7 8 9\r\n"
    );
    assert_eq!(
        answer(&|out| view.listrights(b"Sent", b"anyone", out)).unwrap(),
        "* LISTRIGHTS Sent anyone p l r s w i k x t e c d a n 0 1 2 3 4 5 6 7 8 9\r\n"
    );
}

/// The reference LIST: every visible mailbox of the whole table, the levels above them, then
/// the pattern; the same attributes rules.
fn reference_list(
    table: &MailboxTable,
    ns: &Namespace,
    userid: &str,
    admin: bool,
    pattern: &str,
) -> BTreeSet<String> {
    let user = ns.user(userid).unwrap();
    let who = Principal {
        is_admin: admin,
        ..Principal::user(userid.as_bytes())
    };
    let mut mailboxes = BTreeSet::new();
    for entry in table.iter() {
        let owner = owner_of(entry.name).map(|u| u.to_string());
        let rights = Acl::parse(entry.acl)
            .unwrap_or(Acl::EMPTY)
            .effective_rights(
                &who,
                owner.as_deref().map(str::as_bytes),
                &ImplicitRights::default(),
            );
        if entry.state == State::Active
            && rights.contains(Rights::LOOKUP)
            && let Ok(name) = ns.to_external(&user, entry.name)
        {
            mailboxes.insert(name);
        }
    }
    let mut hierarchy = mailboxes.clone();
    for name in &mailboxes {
        for (at, _) in name.match_indices('/') {
            hierarchy.insert(name[..at].to_string());
        }
    }
    let pattern = if pattern.len() >= 5
        && pattern[..5].eq_ignore_ascii_case("INBOX")
        && (pattern.len() == 5 || pattern.as_bytes()[5] == b'/')
    {
        format!("INBOX{}", &pattern[5..])
    } else {
        pattern.to_string()
    };
    hierarchy
        .iter()
        .filter(|name| glob(pattern.as_bytes(), name.as_bytes()))
        .map(|name| {
            let children = hierarchy
                .iter()
                .any(|other| other.starts_with(&format!("{name}/")));
            let mut attributes = Vec::new();
            if !mailboxes.contains(name) {
                attributes.push("\\Noselect");
            }
            attributes.push(if children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            });
            format!("({}) {name}", attributes.join(" "))
        })
        .collect()
}

/// Plain recursive glob, the textbook definition.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|at| glob(rest, &name[at..])),
        Some((b'%', rest)) => (0..=name.len())
            .take_while(|&at| at == 0 || name[at - 1] != b'/')
            .any(|at| glob(rest, &name[at..])),
        Some((&b, rest)) => name.first() == Some(&b) && glob(rest, &name[1..]),
    }
}

/// `* LIST (attrs) "/" name` lines as `(attrs) name`, names unquoted.
fn parse_lines(out: &str) -> BTreeSet<String> {
    out.lines()
        .map(|line| {
            let line = line.strip_prefix("* LIST ").unwrap();
            let (attributes, name) = line.split_once(" \"/\" ").unwrap();
            format!("{attributes} {}", name.trim_matches('"'))
        })
        .collect()
}

proptest! {
    #[test]
    fn list_equals_brute_force(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "INBOX", "inbox", "Archive", "2024", "Other Users", "jane", "Public", "bob",
                "Shared Folders", "lists", "*", "%", "/", "b", "a", "s", "x", "Q1", "carol",
                "Zeta", "news", "user", "DELETED", "team",
            ]),
            1..6,
        ),
        userid in prop::sample::select(vec!["john", "jane", "bob", "zed", "admin"]),
    ) {
        let (table, ns) = (table(), ns());
        let pattern: String = pieces.concat();
        let admin = userid == "admin";
        let v = Viewer::new(&ns, userid, Vec::new(), admin).unwrap();
        let view = View { table: &table, ns: &ns, viewer: &v, utf8: false };
        let out = run(&view, &format!("a LIST \"\" \"{pattern}\""), None);
        prop_assert_eq!(parse_lines(&out), reference_list(&table, &ns, userid, admin, &pattern));
    }
}

/// A murder of 200,000 private mailboxes of other users: john's LIST reads his own tree and
/// the shared index, nothing else.
#[test]
fn list_does_not_scan_the_murder() {
    let mut names: Vec<(String, String)> = (0..20_000)
        .flat_map(|user| {
            (0..10).map(move |folder| {
                let name = match folder {
                    0 => format!("user.u{user:05}"),
                    _ => format!("user.u{user:05}.f{folder}"),
                };
                (name, format!("u{user:05}\t{ALL}\t"))
            })
        })
        .collect();
    for folder in ["", ".Sent", ".Drafts", ".Archive", ".Archive.2024"] {
        names.push((format!("user.john{folder}"), format!("john\t{ALL}\t")));
    }
    names.push(("news".into(), "anyone\tlr\t".into()));
    names.sort_by(|a, b| dbname_cmp(a.0.as_bytes(), b.0.as_bytes()));
    let entries = names.iter().map(|(name, acl)| EntryRef {
        name: name.as_bytes(),
        location: b"be1!default",
        acl: acl.as_bytes(),
        state: State::Active,
    });
    let table = MailboxTable::new(Arc::new(Base::build(entries, 1).unwrap()));
    let ns = ns();
    let john = viewer(&ns, "john");
    let view = View {
        table: &table,
        ns: &ns,
        viewer: &john,
        utf8: false,
    };
    let (out, listed) = try_run(&view, "a LIST \"\" \"*\"", None).unwrap();
    assert_eq!(listed.names, 7, "{out}");
    assert_eq!(listed.entries_read, 6);
    let (_, listed) = try_run(&view, "a LIST \"\" \"Archive/*\"", None).unwrap();
    assert_eq!((listed.names, listed.entries_read), (1, 2));
    let (_, listed) = try_run(&view, "a LIST \"\" \"Shared Folders/*\"", None).unwrap();
    assert_eq!((listed.names, listed.entries_read), (1, 1));
    // An admin's LIST of the shared folders skips the users' range.
    let admin = Viewer::new(&ns, "admin", Vec::new(), true).unwrap();
    let view = View {
        viewer: &admin,
        ..view
    };
    let (_, listed) = try_run(&view, "a LIST \"\" \"Shared Folders/*\"", None).unwrap();
    assert_eq!((listed.names, listed.entries_read), (1, 1));
}
