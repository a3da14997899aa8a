//! The request parser against tables of valid and invalid commands.

use super::search::DateCmp;
use super::*;
use crate::fuzzing::request::fuzz_request;
use crate::lex::LiteralForm;
use crate::message::{FetchBody, Partial, Section, SectionText};

use SeqNumber::{Largest, Value};

fn set(ranges: &[(SeqNumber, SeqNumber)]) -> SequenceSet {
    SequenceSet(
        ranges
            .iter()
            .map(|&(start, end)| SeqRange { start, end })
            .collect(),
    )
}

fn one(n: u32) -> SequenceSet {
    set(&[(Value(n), Value(n))])
}

fn atom(a: &[u8]) -> AString<'_> {
    AString::Atom(a)
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn not(key: SearchKey<'_>) -> SearchKey<'_> {
    SearchKey::Not(Box::new(key))
}

fn search(key: SearchKey<'_>) -> Command<'_> {
    Command::Search {
        uid: false,
        charset: None,
        key,
    }
}

fn fetch(attrs: Vec<FetchAttr<'_>>) -> Command<'_> {
    Command::Fetch {
        uid: false,
        set: one(1),
        attrs,
    }
}

fn section(peek: bool, part: Vec<u32>, text: Option<SectionText<'_>>) -> FetchAttr<'_> {
    FetchAttr::Section(FetchBody {
        peek,
        section: Section { part, text },
        partial: None,
    })
}

fn store(mode: StoreMode, silent: bool, flags: Vec<Flag<'_>>) -> Command<'_> {
    Command::Store {
        uid: false,
        set: one(1),
        mode,
        silent,
        flags,
    }
}

fn list<'a>(subscribed: bool, reference: &'a [u8], patterns: &[&'a [u8]]) -> Command<'a> {
    Command::List {
        lsub: false,
        subscribed,
        reference: AString::Quoted(reference),
        patterns: patterns.iter().map(|p| atom(p)).collect(),
    }
}

/// Valid commands (the tag is always `a1`) and what they parse to.
fn valid() -> Vec<(&'static [u8], Command<'static>)> {
    use FetchAttr as F;
    use SearchKey as K;
    let sync = LiteralForm::default();
    let plus = LiteralForm {
        non_sync: true,
        binary: false,
    };
    vec![
        (b"a1 CAPABILITY\r\n", Command::Capability),
        (b"a1 noop\n", Command::Noop),
        (b"a1 LogOut\r\n", Command::Logout),
        (b"a1 STARTTLS\r\n", Command::StartTls),
        (b"a1 NAMESPACE\r\n", Command::Namespace),
        (b"a1 IDLE\r\n", Command::Idle),
        (b"a1 CHECK\r\n", Command::Check),
        (b"a1 CLOSE\r\n", Command::Close),
        (b"a1 UNSELECT\r\n", Command::Unselect),
        (b"a1 EXPUNGE\r\n", Command::Expunge { uids: None }),
        (
            b"a1 UID EXPUNGE 3:5,7\r\n",
            Command::Expunge {
                uids: Some(set(&[(Value(3), Value(5)), (Value(7), Value(7))])),
            },
        ),
        (
            b"a1 LOGIN john \"de\\\"mo\"\r\n",
            Command::Login {
                user: atom(b"john"),
                password: AString::Quoted(b"de\\\"mo"),
            },
        ),
        (
            b"a1 LOGIN {4+}\r\njohn {4}\r\ndemo\r\n",
            Command::Login {
                user: AString::Literal(plus, b"john"),
                password: AString::Literal(sync, b"demo"),
            },
        ),
        (
            b"a1 AUTHENTICATE PLAIN\r\n",
            Command::Authenticate {
                mechanism: b"PLAIN",
                initial_response: None,
            },
        ),
        (
            b"a1 AUTHENTICATE PLAIN AGpvaG4AZGVtbw==\r\n",
            Command::Authenticate {
                mechanism: b"PLAIN",
                initial_response: Some(b"AGpvaG4AZGVtbw=="),
            },
        ),
        (
            b"a1 AUTHENTICATE PLAIN =\r\n",
            Command::Authenticate {
                mechanism: b"PLAIN",
                initial_response: Some(b"="),
            },
        ),
        (
            b"a1 ENABLE CONDSTORE UTF8=ACCEPT\r\n",
            Command::Enable(vec![b"CONDSTORE", b"UTF8=ACCEPT"]),
        ),
        (b"a1 ID NIL\r\n", Command::Id(vec![])),
        (b"a1 ID ()\r\n", Command::Id(vec![])),
        (
            b"a1 ID (\"name\" \"x\" \"os\" nil)\r\n",
            Command::Id(vec![
                (AString::Quoted(b"name"), Some(AString::Quoted(b"x"))),
                (AString::Quoted(b"os"), None),
            ]),
        ),
        (
            b"a1 SELECT INBOX\r\n",
            Command::Select {
                mailbox: atom(b"INBOX"),
                read_only: false,
            },
        ),
        (
            b"a1 examine \"Other Users/jane\" (CONDSTORE)\r\n",
            Command::Select {
                mailbox: AString::Quoted(b"Other Users/jane"),
                read_only: true,
            },
        ),
        (
            b"a1 SELECT x (QRESYNC (1 2 1:3))\r\n",
            Command::Select {
                mailbox: atom(b"x"),
                read_only: false,
            },
        ),
        (b"a1 CREATE a/b\r\n", Command::Create(atom(b"a/b"))),
        (b"a1 LocalCreate a/b\r\n", Command::LocalCreate(atom(b"a/b"))),
        (
            b"a1 LOCALDELETE \"a b\"\r\n",
            Command::LocalDelete(AString::Quoted(b"a b")),
        ),
        (
            b"a1 DELETE {1}\r\nx\r\n",
            Command::Delete(AString::Literal(sync, b"x")),
        ),
        (
            b"a1 RENAME a b\r\n",
            Command::Rename {
                from: atom(b"a"),
                to: atom(b"b"),
            },
        ),
        (b"a1 SUBSCRIBE a\r\n", Command::Subscribe(atom(b"a"))),
        (b"a1 UNSUBSCRIBE a\r\n", Command::Unsubscribe(atom(b"a"))),
        (b"a1 LIST \"\" *\r\n", list(false, b"", &[b"*"])),
        (b"a1 LIST \"\" %/a]b\r\n", list(false, b"", &[b"%/a]b"])),
        (
            b"a1 LIST (SUBSCRIBED REMOTE) \"\" (INBOX %)\r\n",
            list(true, b"", &[b"INBOX", b"%"]),
        ),
        (
            b"a1 LIST () \"\" * RETURN (CHILDREN STATUS (MESSAGES))\r\n",
            list(false, b"", &[b"*"]),
        ),
        (
            b"a1 LSUB \"\" \"*\"\r\n",
            Command::List {
                lsub: true,
                subscribed: false,
                reference: AString::Quoted(b""),
                patterns: vec![AString::Quoted(b"*")],
            },
        ),
        (
            b"a1 STATUS INBOX (MESSAGES unseen UIDNEXT UIDVALIDITY RECENT SIZE)\r\n",
            Command::Status {
                mailbox: atom(b"INBOX"),
                items: vec![
                    StatusItem::Messages,
                    StatusItem::Unseen,
                    StatusItem::UidNext,
                    StatusItem::UidValidity,
                    StatusItem::Recent,
                    StatusItem::Size,
                ],
            },
        ),
        (
            b"a1 APPEND INBOX {5}\r\nhello\r\n",
            Command::Append {
                mailbox: atom(b"INBOX"),
                flags: vec![],
                date: None,
                message: b"hello",
            },
        ),
        (
            b"a1 APPEND INBOX (\\seen $Junk \\Junk) \" 7-Jul-1996 02:44:25 -0700\" ~{3+}\r\na\0b\r\n",
            Command::Append {
                mailbox: atom(b"INBOX"),
                flags: vec![Flag::Seen, Flag::Keyword(b"$Junk"), Flag::Extension(b"\\Junk")],
                date: Some(DateTime {
                    date: date(1996, 7, 7),
                    hour: 2,
                    minute: 44,
                    second: 25,
                    zone_minutes: -420,
                }),
                message: b"a\0b",
            },
        ),
        (
            b"a1 APPEND x () {0}\r\n\r\n",
            Command::Append {
                mailbox: atom(b"x"),
                flags: vec![],
                date: None,
                message: b"",
            },
        ),
        // SEARCH: every key.
        (b"a1 SEARCH ALL\r\n", search(K::All)),
        (
            b"a1 UID SEARCH CHARSET UTF-8 ALL\r\n",
            Command::Search {
                uid: true,
                charset: Some(atom(b"UTF-8")),
                key: K::All,
            },
        ),
        (b"a1 SEARCH answered\r\n", search(K::Flag(Flag::Answered))),
        (b"a1 SEARCH DELETED\r\n", search(K::Flag(Flag::Deleted))),
        (b"a1 SEARCH DRAFT\r\n", search(K::Flag(Flag::Draft))),
        (b"a1 SEARCH FLAGGED\r\n", search(K::Flag(Flag::Flagged))),
        (b"a1 SEARCH SEEN\r\n", search(K::Flag(Flag::Seen))),
        (b"a1 SEARCH RECENT\r\n", search(K::Flag(Flag::Recent))),
        (b"a1 SEARCH UNANSWERED\r\n", search(not(K::Flag(Flag::Answered)))),
        (b"a1 SEARCH UNDELETED\r\n", search(not(K::Flag(Flag::Deleted)))),
        (b"a1 SEARCH UNDRAFT\r\n", search(not(K::Flag(Flag::Draft)))),
        (b"a1 SEARCH UNFLAGGED\r\n", search(not(K::Flag(Flag::Flagged)))),
        (b"a1 SEARCH unseen\r\n", search(not(K::Flag(Flag::Seen)))),
        (b"a1 SEARCH NEW\r\n", search(K::New)),
        (b"a1 SEARCH OLD\r\n", search(K::Old)),
        (
            b"a1 SEARCH KEYWORD $Forwarded\r\n",
            search(K::Flag(Flag::Keyword(b"$Forwarded"))),
        ),
        (
            b"a1 SEARCH UNKEYWORD x\r\n",
            search(not(K::Flag(Flag::Keyword(b"x")))),
        ),
        (
            b"a1 SEARCH BEFORE 1-Feb-1994\r\n",
            search(K::InternalDate(DateCmp::Before, date(1994, 2, 1))),
        ),
        (
            b"a1 SEARCH ON \"29-feb-2000\"\r\n",
            search(K::InternalDate(DateCmp::On, date(2000, 2, 29))),
        ),
        (
            b"a1 SEARCH SINCE 01-Jan-2024\r\n",
            search(K::InternalDate(DateCmp::Since, date(2024, 1, 1))),
        ),
        (
            b"a1 SEARCH SENTBEFORE 1-Feb-1994\r\n",
            search(K::SentDate(DateCmp::Before, date(1994, 2, 1))),
        ),
        (
            b"a1 SEARCH SENTON 1-Feb-1994\r\n",
            search(K::SentDate(DateCmp::On, date(1994, 2, 1))),
        ),
        (
            b"a1 SEARCH SENTSINCE 1-Feb-1994\r\n",
            search(K::SentDate(DateCmp::Since, date(1994, 2, 1))),
        ),
        (b"a1 SEARCH LARGER 100\r\n", search(K::Larger(100))),
        (b"a1 SEARCH SMALLER 4294967295\r\n", search(K::Smaller(u32::MAX))),
        (
            b"a1 SEARCH FROM jane\r\n",
            search(K::Header(atom(b"FROM"), atom(b"jane"))),
        ),
        (
            b"a1 SEARCH to \"a b\"\r\n",
            search(K::Header(atom(b"TO"), AString::Quoted(b"a b"))),
        ),
        (b"a1 SEARCH CC x\r\n", search(K::Header(atom(b"CC"), atom(b"x")))),
        (b"a1 SEARCH BCC x\r\n", search(K::Header(atom(b"BCC"), atom(b"x")))),
        (
            b"a1 SEARCH SUBJECT {2}\r\nhi\r\n",
            search(K::Header(atom(b"SUBJECT"), AString::Literal(sync, b"hi"))),
        ),
        (
            b"a1 SEARCH HEADER X-Spam \"\"\r\n",
            search(K::Header(atom(b"X-Spam"), AString::Quoted(b""))),
        ),
        (b"a1 SEARCH BODY x\r\n", search(K::Body(atom(b"x")))),
        (b"a1 SEARCH TEXT x\r\n", search(K::Text(atom(b"x")))),
        (
            b"a1 SEARCH 1:3,*\r\n",
            search(K::SequenceSet(set(&[
                (Value(1), Value(3)),
                (Largest, Largest),
            ]))),
        ),
        (
            b"a1 SEARCH UID 5:*\r\n",
            search(K::Uid(set(&[(Value(5), Largest)]))),
        ),
        (
            b"a1 SEARCH NOT SEEN\r\n",
            search(not(K::Flag(Flag::Seen))),
        ),
        (
            b"a1 SEARCH OR SEEN (FLAGGED DELETED)\r\n",
            search(K::Or(
                Box::new(K::Flag(Flag::Seen)),
                Box::new(K::And(vec![
                    K::Flag(Flag::Flagged),
                    K::Flag(Flag::Deleted),
                ])),
            )),
        ),
        (
            b"a1 SEARCH (SEEN) 2 NOT (NOT DRAFT)\r\n",
            search(K::And(vec![
                K::Flag(Flag::Seen),
                K::SequenceSet(one(2)),
                not(not(K::Flag(Flag::Draft))),
            ])),
        ),
        // FETCH: every attribute and macro.
        (
            b"a1 FETCH 1 ALL\r\n",
            fetch(vec![F::Flags, F::InternalDate, F::Rfc822Size, F::Envelope]),
        ),
        (
            b"a1 FETCH 1 fast\r\n",
            fetch(vec![F::Flags, F::InternalDate, F::Rfc822Size]),
        ),
        (
            b"a1 FETCH 1 FULL\r\n",
            fetch(vec![
                F::Flags,
                F::InternalDate,
                F::Rfc822Size,
                F::Envelope,
                F::Body,
            ]),
        ),
        (b"a1 FETCH 1 FLAGS\r\n", fetch(vec![F::Flags])),
        (b"a1 FETCH 1 body\r\n", fetch(vec![F::Body])),
        (
            b"a1 FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE)\r\n",
            fetch(vec![
                F::Uid,
                F::Flags,
                F::InternalDate,
                F::Rfc822Size,
                F::Envelope,
                F::Body,
                F::BodyStructure,
            ]),
        ),
        (
            b"a1 FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT)\r\n",
            fetch(vec![F::Rfc822, F::Rfc822Header, F::Rfc822Text]),
        ),
        (b"a1 FETCH 1 BODY[]\r\n", fetch(vec![section(false, vec![], None)])),
        (
            b"a1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")] BODY[1.2.MIME])\r\n",
            fetch(vec![
                section(
                    true,
                    vec![],
                    Some(SectionText::HeaderFields {
                        not: false,
                        names: vec![atom(b"From"), AString::Quoted(b"To")],
                    }),
                ),
                section(false, vec![1, 2], Some(SectionText::Mime)),
            ]),
        ),
        (
            b"a1 UID FETCH 1:* (FLAGS BODY.PEEK[TEXT]<0.2048>)\r\n",
            Command::Fetch {
                uid: true,
                set: set(&[(Value(1), Largest)]),
                attrs: vec![
                    F::Flags,
                    F::Section(FetchBody {
                        peek: true,
                        section: Section {
                            part: vec![],
                            text: Some(SectionText::Text),
                        },
                        partial: Some(Partial {
                            origin: 0,
                            count: 2048,
                        }),
                    }),
                ],
            },
        ),
        // STORE: every mode, both flag forms.
        (
            b"a1 STORE 1 FLAGS (\\Seen \\DELETED)\r\n",
            store(StoreMode::Replace, false, vec![Flag::Seen, Flag::Deleted]),
        ),
        (
            b"a1 STORE 1 +flags.silent \\Flagged $x\r\n",
            store(StoreMode::Add, true, vec![Flag::Flagged, Flag::Keyword(b"$x")]),
        ),
        (
            b"a1 STORE 1 -FLAGS ()\r\n",
            store(StoreMode::Remove, false, vec![]),
        ),
        (
            b"a1 UID STORE 1 FLAGS.SILENT \\Answered\r\n",
            Command::Store {
                uid: true,
                set: one(1),
                mode: StoreMode::Replace,
                silent: true,
                flags: vec![Flag::Answered],
            },
        ),
        (
            b"a1 COPY 1:2 Trash\r\n",
            Command::Copy {
                uid: false,
                set: set(&[(Value(1), Value(2))]),
                mailbox: atom(b"Trash"),
            },
        ),
        (
            b"a1 uid move 4,1 \"a b\"\r\n",
            Command::Move {
                uid: true,
                set: set(&[(Value(4), Value(4)), (Value(1), Value(1))]),
                mailbox: AString::Quoted(b"a b"),
            },
        ),
        (b"a1 GETACL INBOX\r\n", Command::GetAcl(atom(b"INBOX"))),
        (b"a1 MYRIGHTS INBOX\r\n", Command::MyRights(atom(b"INBOX"))),
        (
            b"a1 SETACL INBOX john +lrs\r\n",
            Command::SetAcl {
                mailbox: atom(b"INBOX"),
                identifier: atom(b"john"),
                rights: atom(b"+lrs"),
            },
        ),
        (
            b"a1 DELETEACL INBOX \"-john\"\r\n",
            Command::DeleteAcl {
                mailbox: atom(b"INBOX"),
                identifier: AString::Quoted(b"-john"),
            },
        ),
        (
            b"a1 LISTRIGHTS INBOX john\r\n",
            Command::ListRights {
                mailbox: atom(b"INBOX"),
                identifier: atom(b"john"),
            },
        ),
        (
            b"a1 GETMETADATA \"\" /shared/comment\r\n",
            Command::GetMetadata {
                mailbox: AString::Quoted(b""),
                entries: vec![atom(b"/shared/comment")],
            },
        ),
        (
            b"a1 GETMETADATA (MAXSIZE 1024 DEPTH 1) INBOX (/private/comment \"/shared/x\")\r\n",
            Command::GetMetadata {
                mailbox: atom(b"INBOX"),
                entries: vec![atom(b"/private/comment"), AString::Quoted(b"/shared/x")],
            },
        ),
    ]
}

#[test]
fn valid_commands_parse_and_their_prefixes_are_incomplete() {
    for (input, expected) in valid() {
        let parsed = parse_request(input);
        assert_eq!(
            parsed,
            Ok(Request {
                tag: b"a1",
                command: expected
            }),
            "{}",
            input.escape_ascii()
        );
        for cut in 0..input.len() {
            assert_eq!(
                parse_request(&input[..cut]),
                Err(RequestError::Incomplete),
                "{} cut at {cut}",
                input.escape_ascii()
            );
        }
        fuzz_request(input);
    }
}

/// An invalid command, the tag it reports and the reason.
type Refusal = (&'static [u8], Option<&'static [u8]>, &'static str);

/// Invalid commands.
const INVALID: &[Refusal] = &[
    (b"+ NOOP\r\n", None, "invalid tag"),
    (b"a(b NOOP\r\n", None, "invalid tag"),
    (b"a1\r\n", Some(b"a1"), "missing command name"),
    (b"a1 \r\n", Some(b"a1"), "missing command name"),
    (b"a1 FROB x\r\n", Some(b"a1"), "unknown command"),
    (
        b"a1 SORT (DATE) UTF-8 ALL\r\n",
        Some(b"a1"),
        "unknown command",
    ),
    (
        b"a1 UID SELECT x\r\n",
        Some(b"a1"),
        "UID applies to FETCH, STORE, SEARCH, COPY, MOVE and EXPUNGE only",
    ),
    (b"a1 UID\r\n", Some(b"a1"), "missing argument"),
    (b"a1 NOOP x\r\n", Some(b"a1"), "expected end of line"),
    (
        b"a1 NOOP\r\na2 NOOP\r\n",
        Some(b"a1"),
        "expected end of line",
    ),
    (b"a1 NOOP\r\r\n", Some(b"a1"), "expected end of line"),
    (b"a1 SELECT\r\n", Some(b"a1"), "missing argument"),
    (b"a1 SELECT  x\r\n", Some(b"a1"), "invalid mailbox name"),
    (
        b"a1 SELECT x (\r\n",
        Some(b"a1"),
        "invalid SELECT parameters",
    ),
    (
        b"a1 CREATE x (USE (\\Junk))\r\n",
        Some(b"a1"),
        "expected end of line",
    ),
    (b"a1 LOGIN john\r\n", Some(b"a1"), "missing argument"),
    (b"a1 LOGIN \"a\\x\" b\r\n", Some(b"a1"), "invalid user name"),
    (
        b"a1 AUTHENTICATE PLAIN a!b\r\n",
        Some(b"a1"),
        "expected end of line",
    ),
    (b"a1 ENABLE\r\n", Some(b"a1"), "missing argument"),
    (b"a1 ID (name x)\r\n", Some(b"a1"), "invalid ID parameters"),
    (
        b"a1 GETMETADATA \"\" ()\r\n",
        Some(b"a1"),
        "invalid GETMETADATA entries",
    ),
    (
        b"a1 ID (\"a\")\r\n",
        Some(b"a1"),
        "expected a space between arguments",
    ),
    (b"a1 ID NILS\r\n", Some(b"a1"), "invalid ID parameters"),
    (
        b"a1 LIST \"\" (x\r\n",
        Some(b"a1"),
        "invalid mailbox pattern",
    ),
    (
        b"a1 LIST \"\" ()\r\n",
        Some(b"a1"),
        "invalid mailbox pattern",
    ),
    (
        b"a1 LIST \"\" * CHILDREN\r\n",
        Some(b"a1"),
        "invalid LIST option",
    ),
    (
        b"a1 LIST (\"x\") \"\" *\r\n",
        Some(b"a1"),
        "invalid LIST option",
    ),
    (
        b"a1 LSUB \"\" (x)\r\n",
        Some(b"a1"),
        "invalid mailbox pattern",
    ),
    (b"a1 STATUS x ()\r\n", Some(b"a1"), "invalid status item"),
    (
        b"a1 STATUS x (MESSAGES FOO)\r\n",
        Some(b"a1"),
        "invalid status item",
    ),
    (
        b"a1 STATUS x MESSAGES\r\n",
        Some(b"a1"),
        "invalid status item",
    ),
    (
        b"a1 APPEND x hello\r\n",
        Some(b"a1"),
        "expected the message as a literal",
    ),
    (
        b"a1 APPEND x (\\*) {1}\r\na\r\n",
        Some(b"a1"),
        "invalid flag",
    ),
    (
        b"a1 APPEND x \"31-Apr-2000 00:00:00 +0000\" {1}\r\na\r\n",
        Some(b"a1"),
        "invalid date-time",
    ),
    (
        b"a1 APPEND x \"1-Apr-2000 00:00:00 +0000\" (\\Seen) {1}\r\na\r\n",
        Some(b"a1"),
        "expected the message as a literal",
    ),
    (
        b"a1 APPEND x {2}\r\na\0\r\n",
        Some(b"a1"),
        "expected the message as a literal",
    ),
    (b"a1 EXPUNGE 1\r\n", Some(b"a1"), "expected end of line"),
    (b"a1 UID EXPUNGE 0\r\n", Some(b"a1"), "invalid sequence set"),
    (b"a1 FETCH 0 FLAGS\r\n", Some(b"a1"), "invalid sequence set"),
    (
        b"a1 FETCH 1:x FLAGS\r\n",
        Some(b"a1"),
        "invalid sequence set",
    ),
    (
        b"a1 FETCH 1 (ALL)\r\n",
        Some(b"a1"),
        "invalid fetch attribute",
    ),
    (
        b"a1 FETCH 1 FOO\r\n",
        Some(b"a1"),
        "invalid fetch attribute",
    ),
    (b"a1 FETCH 1 ()\r\n", Some(b"a1"), "invalid fetch attribute"),
    (
        b"a1 FETCH 1 BODY[FOO]\r\n",
        Some(b"a1"),
        "unknown section text",
    ),
    (
        b"a1 FETCH 1 BODY[]<0.0>\r\n",
        Some(b"a1"),
        "a partial count must not be zero",
    ),
    (
        b"a1 STORE 1 FLAG (\\Seen)\r\n",
        Some(b"a1"),
        "invalid STORE item",
    ),
    (
        b"a1 STORE 1 +FLAGS.LOUD (\\Seen)\r\n",
        Some(b"a1"),
        "invalid STORE item",
    ),
    (b"a1 STORE 1 FLAGS (\\*)\r\n", Some(b"a1"), "invalid flag"),
    (b"a1 STORE 1 FLAGS \\*\r\n", Some(b"a1"), "invalid flag"),
    (b"a1 STORE 1 FLAGS\r\n", Some(b"a1"), "missing argument"),
    (b"a1 COPY 1\r\n", Some(b"a1"), "missing argument"),
    (b"a1 SEARCH\r\n", Some(b"a1"), "missing argument"),
    (b"a1 SEARCH FOO\r\n", Some(b"a1"), "invalid search key"),
    (b"a1 SEARCH UNRECENT\r\n", Some(b"a1"), "invalid search key"),
    (b"a1 SEARCH ()\r\n", Some(b"a1"), "invalid search key"),
    (b"a1 SEARCH (ALL\r\n", Some(b"a1"), "invalid search key"),
    (b"a1 SEARCH ALL)\r\n", Some(b"a1"), "expected end of line"),
    (b"a1 SEARCH OR ALL\r\n", Some(b"a1"), "missing argument"),
    (
        b"a1 SEARCH SINCE 30-Feb-2000\r\n",
        Some(b"a1"),
        "invalid date",
    ),
    (b"a1 SEARCH LARGER -1\r\n", Some(b"a1"), "invalid size"),
    (
        b"a1 SEARCH KEYWORD \\Seen\r\n",
        Some(b"a1"),
        "invalid keyword",
    ),
    (b"a1 SEARCH CHARSET\r\n", Some(b"a1"), "missing argument"),
    (
        b"a1 SEARCH CHARSET UTF-8\r\n",
        Some(b"a1"),
        "missing argument",
    ),
    (b"a1 SETACL INBOX john\r\n", Some(b"a1"), "missing argument"),
    (b"a1 DELETEACL INBOX\r\n", Some(b"a1"), "missing argument"),
];

#[test]
fn invalid_commands_say_why() {
    for &(input, tag, reason) in INVALID {
        assert_eq!(
            parse_request(input),
            Err(RequestError::Invalid { tag, reason }),
            "{}",
            input.escape_ascii()
        );
        // Its prefixes are incomplete, or refused alike.
        fuzz_request(input);
    }
}

#[test]
fn search_depth_is_bounded() {
    let nested = |depth: usize, open: &[u8], close: &[u8]| {
        let mut input = b"a1 SEARCH ".to_vec();
        for _ in 0..depth {
            input.extend_from_slice(open);
        }
        input.extend_from_slice(b"ALL");
        for _ in 0..depth {
            input.extend_from_slice(close);
        }
        input.extend_from_slice(b"\r\n");
        input
    };
    let too_deep = Err(RequestError::Invalid {
        tag: Some(&b"a1"[..]),
        reason: "search keys nested too deeply",
    });
    for (open, close) in [(&b"NOT "[..], &b""[..]), (b"(", b")"), (b"OR ALL ", b"")] {
        assert!(parse_request(&nested(MAX_DEPTH, open, close)).is_ok());
        assert_eq!(parse_request(&nested(MAX_DEPTH + 1, open, close)), too_deep);
        // Far deeper than any stack allows, refused as soon as the limit is passed.
        assert_eq!(parse_request(&nested(1_000_000, open, close)), too_deep);
    }
}

#[test]
fn flags_write_back() {
    for (written, flag) in [
        (&b"\\Seen"[..], Flag::Seen),
        (b"\\Answered", Flag::Answered),
        (b"\\Flagged", Flag::Flagged),
        (b"\\Deleted", Flag::Deleted),
        (b"\\Draft", Flag::Draft),
        (b"\\Recent", Flag::Recent),
        (b"$Junk", Flag::Keyword(b"$Junk")),
        (b"\\Junk", Flag::Extension(b"\\Junk")),
    ] {
        assert_eq!(flag.as_bytes(), written);
        let lower = written.to_ascii_lowercase();
        let mut input = b"a1 STORE 1 FLAGS ".to_vec();
        input.extend_from_slice(&lower);
        input.extend_from_slice(b"\r\n");
        let Ok(Request {
            command: Command::Store { flags, .. },
            ..
        }) = parse_request(&input)
        else {
            panic!("{}", input.escape_ascii());
        };
        assert_eq!(flags.len(), 1);
        assert!(flags[0].as_bytes().eq_ignore_ascii_case(written));
    }
}

mod generated {
    //! Random SEARCH key trees, written out and parsed back.

    use super::*;
    use proptest::prelude::*;

    fn write_set(set: &SequenceSet, out: &mut Vec<u8>) {
        for (at, range) in set.0.iter().enumerate() {
            if at > 0 {
                out.push(b',');
            }
            for (end, number) in [(false, range.start), (true, range.end)] {
                if end && range.start == range.end {
                    break;
                }
                if end {
                    out.push(b':');
                }
                match number {
                    Value(n) => out.extend_from_slice(n.to_string().as_bytes()),
                    Largest => out.push(b'*'),
                }
            }
        }
    }

    fn write_date(date: Date, out: &mut Vec<u8>) {
        let mut quoted = Vec::new();
        DateTime {
            date,
            hour: 0,
            minute: 0,
            second: 0,
            zone_minutes: 0,
        }
        .write_imap(&mut quoted);
        // `"dd-Mon-yyyy ...`: the date is the first 11 bytes after the quote.
        out.extend(quoted[1..12].iter().filter(|&&b| b != b' '));
    }

    fn write_string(s: &AString<'_>, out: &mut Vec<u8>) {
        out.push(b' ');
        out.extend_from_slice(s.as_slice().unwrap_or_default());
    }

    /// Writes a key as a client would.
    fn write_key(key: &SearchKey<'_>, out: &mut Vec<u8>) {
        use SearchKey as K;
        let word = |out: &mut Vec<u8>, w: &[u8]| out.extend_from_slice(w);
        match key {
            K::And(keys) => {
                out.push(b'(');
                for (at, key) in keys.iter().enumerate() {
                    if at > 0 {
                        out.push(b' ');
                    }
                    write_key(key, out);
                }
                out.push(b')');
            }
            K::Or(a, b) => {
                word(out, b"OR ");
                write_key(a, out);
                out.push(b' ');
                write_key(b, out);
            }
            K::Not(key) => {
                word(out, b"NOT ");
                write_key(key, out);
            }
            K::All => word(out, b"ALL"),
            K::New => word(out, b"NEW"),
            K::Old => word(out, b"OLD"),
            K::SequenceSet(set) => write_set(set, out),
            K::Uid(set) => {
                word(out, b"UID ");
                write_set(set, out);
            }
            K::Flag(Flag::Keyword(k)) => {
                word(out, b"KEYWORD ");
                word(out, k);
            }
            K::Flag(flag) => word(out, &flag.as_bytes()[1..]),
            K::InternalDate(cmp, date) | K::SentDate(cmp, date) => {
                if matches!(key, K::SentDate(..)) {
                    word(out, b"SENT");
                }
                word(
                    out,
                    match cmp {
                        DateCmp::Before => b"BEFORE ",
                        DateCmp::On => b"ON ",
                        DateCmp::Since => b"SINCE ",
                    },
                );
                write_date(*date, out);
            }
            K::Larger(n) => word(out, format!("LARGER {n}").as_bytes()),
            K::Smaller(n) => word(out, format!("SMALLER {n}").as_bytes()),
            K::Header(field, value) => {
                word(out, b"HEADER");
                write_string(field, out);
                write_string(value, out);
            }
            K::Body(s) => {
                word(out, b"BODY");
                write_string(s, out);
            }
            K::Text(s) => {
                word(out, b"TEXT");
                write_string(s, out);
            }
        }
    }

    fn set() -> impl Strategy<Value = SequenceSet> {
        let number = prop_oneof![(1u32..).prop_map(Value), Just(Largest)];
        prop::collection::vec((number.clone(), number), 1..4).prop_map(|ranges| {
            SequenceSet(
                ranges
                    .into_iter()
                    .map(|(start, end)| SeqRange { start, end })
                    .collect(),
            )
        })
    }

    fn leaf() -> impl Strategy<Value = SearchKey<'static>> {
        use SearchKey as K;
        let text = || prop::sample::select(vec![&b"x"[..], b"From", b"a.b@c", b"nil", b"ALL"]);
        let flag = prop::sample::select(vec![
            Flag::Seen,
            Flag::Answered,
            Flag::Flagged,
            Flag::Deleted,
            Flag::Draft,
            Flag::Recent,
            Flag::Keyword(b"$Junk"),
        ]);
        let date = (0u16..=9999, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| super::date(y, m, d));
        let cmp = prop::sample::select(vec![DateCmp::Before, DateCmp::On, DateCmp::Since]);
        prop_oneof![
            Just(K::All),
            Just(K::New),
            Just(K::Old),
            set().prop_map(K::SequenceSet),
            set().prop_map(K::Uid),
            flag.prop_map(K::Flag),
            (cmp.clone(), date.clone()).prop_map(|(c, d)| K::InternalDate(c, d)),
            (cmp, date).prop_map(|(c, d)| K::SentDate(c, d)),
            any::<u32>().prop_map(K::Larger),
            any::<u32>().prop_map(K::Smaller),
            (text(), text()).prop_map(|(f, v)| K::Header(AString::Atom(f), AString::Atom(v))),
            text().prop_map(|s| K::Body(AString::Atom(s))),
            text().prop_map(|s| K::Text(AString::Atom(s))),
        ]
    }

    fn key() -> impl Strategy<Value = SearchKey<'static>> {
        leaf().prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(SearchKey::And),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
                inner.prop_map(|k| SearchKey::Not(Box::new(k))),
            ]
        })
    }

    proptest! {
        #[test]
        fn written_keys_parse_back(key in key()) {
            let mut input = b"a1 SEARCH ".to_vec();
            write_key(&key, &mut input);
            input.extend_from_slice(b"\r\n");
            prop_assert_eq!(
                parse_request(&input),
                Ok(Request { tag: b"a1", command: search(key) }),
                "{}", input.escape_ascii()
            );
            fuzz_request(&input);
        }
    }
}
