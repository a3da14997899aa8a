"""SELECT/EXAMINE and their untagged data; FETCH of every attribute and body section (HEADER,
HEADER.FIELDS[.NOT], TEXT, MIME, parts of a multipart, partials, RFC822*), BODY.PEEK leaving
\\Seen alone and BODY[] setting it; STORE (+, -, replace, .SILENT, keywords); UID variants."""

import re

from conform import Raw, check, command, equal, fetch_items, login, no, ok, raw_login, run, untagged

SIMPLE = (b"From: Carol <carol@example.org>\r\nTo: alice@example.org\r\nSubject: Hello\r\n"
          b"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\nMessage-ID: <1@example.org>\r\n\r\n"
          b"Hello, world.\r\nSecond line.\r\n")
HEADER_1 = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
HEADER_2 = b"Content-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
MULTIPART = (b"From: Dan <dan@example.org>\r\nTo: Eve <eve@example.org>, bob@example.org\r\n"
             b"Subject: parts\r\nMIME-Version: 1.0\r\n"
             b'Content-Type: multipart/alternative; boundary="XX"\r\n\r\n'
             b"preamble\r\n--XX\r\n" + HEADER_1 + b"plain part\r\n--XX\r\n" + HEADER_2 +
             b"<p>html part</p>\r\n--XX--\r\nepilogue\r\n")


def main():
    john = login("john")
    ok(john.create("Box"), "CREATE Box")
    ok(john.append("Box", r"(\Seen)", None, SIMPLE), "APPEND a simple message, \\Seen")
    ok(john.append("Box", None, None, MULTIPART), "APPEND a multipart message")
    ok(john.append("Box", r"(\Answered)", None, SIMPLE), "APPEND a third")

    # SELECT: every untagged datum of RFC 3501 6.3.1.
    raw = raw_login("john")
    line, lines = raw.tagged("s", b"SELECT Box")
    text = b"".join(lines).decode()
    check(line.startswith(b"s OK [READ-WRITE]"), "SELECT is OK [READ-WRITE]", line)
    check("* FLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft)\r\n" in text, "SELECT: FLAGS", text)
    check("* OK [PERMANENTFLAGS (\\Seen \\Answered \\Flagged \\Deleted \\Draft \\*)]" in text, "SELECT: PERMANENTFLAGS with \\*", text)
    check("* 3 EXISTS\r\n" in text, "SELECT: 3 EXISTS", text)
    check("* 3 RECENT\r\n" in text, "SELECT: 3 RECENT", text)
    check("* OK [UNSEEN 2]" in text, "SELECT: UNSEEN 2 (the first unseen)", text)
    check(re.search(r"\* OK \[UIDVALIDITY \d+\]", text) is not None, "SELECT: UIDVALIDITY", text)
    check("* OK [UIDNEXT 4]" in text, "SELECT: UIDNEXT 4", text)
    line, lines = raw.tagged("e", b"EXAMINE Box")
    text = b"".join(lines).decode()
    check(line.startswith(b"e OK [READ-ONLY]"), "EXAMINE is OK [READ-ONLY]", line)
    check("* OK [CLOSED]" in text, "a second SELECT first closes the first ([CLOSED])", text)
    check("* OK [PERMANENTFLAGS ()]" in text, "EXAMINE: no permanent flags", text)
    check("* 0 RECENT\r\n" in text, "EXAMINE after SELECT: \\Recent was claimed by the SELECT", text)
    line, _ = raw.tagged("x", b"STORE 1 +FLAGS (\\Flagged)")
    check(line.startswith(b"x NO"), "STORE in an EXAMINEd mailbox is NO", line)
    line, _ = raw.tagged("n", b"SELECT NoSuch")
    check(line.startswith(b"n NO"), "SELECT of a missing mailbox is NO", line)
    line, _ = raw.tagged("f", b"FETCH 1 FLAGS")
    check(line.startswith(b"f BAD"), "a failed SELECT leaves no mailbox selected", line)
    raw.close()

    ok(john.select("Box"), "SELECT Box")
    items = fetch_items(john, "1:3", "(FLAGS UID INTERNALDATE RFC822.SIZE)")
    equal(items[1]["FLAGS"], b"(\\Seen)", "FLAGS of 1 (\\Recent was claimed by the earlier SELECT)")
    equal(items[3]["FLAGS"], b"(\\Answered)", "FLAGS of 3")
    equal([items[n]["UID"] for n in (1, 2, 3)], [b"1", b"2", b"3"], "UIDs")
    equal(int(items[2]["RFC822.SIZE"]), len(MULTIPART), "RFC822.SIZE")
    check(re.match(rb"[ \d]\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d [+-]\d{4}$", items[1]["INTERNALDATE"]) is not None,
          "INTERNALDATE reads as an IMAP date-time", items[1]["INTERNALDATE"])

    envelope = fetch_items(john, "1:2", "ENVELOPE")
    equal(envelope[1]["ENVELOPE"],
          b'("Mon, 7 Feb 1994 21:52:25 -0800" "Hello" (("Carol" NIL "carol" "example.org")) '
          b'(("Carol" NIL "carol" "example.org")) (("Carol" NIL "carol" "example.org")) '
          b'((NIL NIL "alice" "example.org")) NIL NIL NIL "<1@example.org>")', "ENVELOPE of 1")
    equal(envelope[2]["ENVELOPE"],
          b'(NIL "parts" (("Dan" NIL "dan" "example.org")) (("Dan" NIL "dan" "example.org")) '
          b'(("Dan" NIL "dan" "example.org")) (("Eve" NIL "eve" "example.org")(NIL NIL "bob" "example.org")) '
          b'NIL NIL NIL NIL)', "ENVELOPE of 2 (two To addresses, no Date)")
    structure = fetch_items(john, "2", "(BODY BODYSTRUCTURE)")[2]
    equal(structure["BODY"],
          b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0)'
          b'("text" "html" ("charset" "us-ascii") NIL NIL "quoted-printable" 16 0) "alternative")',
          "BODY of the multipart (the CRLF before a boundary is the boundary's)")
    check(structure["BODYSTRUCTURE"].startswith(b'(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 10 0 NIL NIL NIL NIL)'),
          "BODYSTRUCTURE of the multipart: its first part", structure["BODYSTRUCTURE"])
    check(b'"alternative" ("boundary" "XX") NIL NIL NIL)' in structure["BODYSTRUCTURE"],
          "BODYSTRUCTURE of the multipart: subtype and boundary", structure["BODYSTRUCTURE"])

    # Sections, all with PEEK: 2 stays unseen.
    header_end = MULTIPART.index(b"\r\n\r\n") + 4
    sections = fetch_items(john, "2", "(BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (Subject FROM x-none)] "
                           "BODY.PEEK[HEADER.FIELDS.NOT (From To Subject MIME-Version)] BODY.PEEK[TEXT] "
                           "BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[]<0.4> "
                           "BODY.PEEK[TEXT]<10.8> BODY.PEEK[1]<100.5> BODY.PEEK[3] BODY.PEEK[1.TEXT])")[2]
    equal(sections["BODY[HEADER]"], MULTIPART[:header_end], "BODY[HEADER]")
    equal(sections["BODY[HEADER.FIELDS (Subject FROM x-none)]"],
          b"From: Dan <dan@example.org>\r\nSubject: parts\r\n\r\n", "BODY[HEADER.FIELDS (...)] in the message's order")
    equal(sections["BODY[HEADER.FIELDS.NOT (From To Subject MIME-Version)]"],
          b'Content-Type: multipart/alternative; boundary="XX"\r\n\r\n', "BODY[HEADER.FIELDS.NOT (...)]")
    equal(sections["BODY[TEXT]"], MULTIPART[header_end:], "BODY[TEXT]")
    equal(sections["BODY[1]"], b"plain part", "BODY[1]")
    equal(sections["BODY[1.MIME]"], HEADER_1, "BODY[1.MIME]")
    equal(sections["BODY[2]"], b"<p>html part</p>", "BODY[2]")
    equal(sections["BODY[2.MIME]"], HEADER_2, "BODY[2.MIME]")
    equal(sections["BODY[]<0>"], b"From", "BODY[]<0.4>")
    equal(sections["BODY[TEXT]<10>"], MULTIPART[header_end + 10:header_end + 18], "BODY[TEXT]<10.8>")
    equal(sections["BODY[1]<100>"], b"", "a partial past the end is empty")
    equal(sections["BODY[3]"], b"", "a part that does not exist is empty")
    equal(fetch_items(john, "2", "FLAGS")[2]["FLAGS"], b"()", "BODY.PEEK did not set \\Seen")
    rfc822 = fetch_items(john, "3", "(RFC822.HEADER RFC822.SIZE)")[3]
    equal(rfc822["RFC822.HEADER"], SIMPLE[:SIMPLE.index(b"\r\n\r\n") + 4], "RFC822.HEADER")
    equal(fetch_items(john, "3", "FLAGS")[3]["FLAGS"], b"(\\Answered)", "RFC822.HEADER does not set \\Seen")

    # Without PEEK: \Seen is set, and the FETCH says so.
    fetched = fetch_items(john, "2", "BODY[1]")[2]
    equal(fetched["BODY[1]"], b"plain part", "BODY[1] without PEEK")
    equal(fetched.get("FLAGS"), b"(\\Seen)", "... sets \\Seen and reports it in the same FETCH")
    fetched = fetch_items(john, "3", "RFC822.TEXT")[3]
    equal(fetched["RFC822.TEXT"], SIMPLE[SIMPLE.index(b"\r\n\r\n") + 4:], "RFC822.TEXT")
    equal(fetched.get("FLAGS"), b"(\\Seen \\Answered)", "... sets \\Seen")
    equal(fetch_items(john, "1", "RFC822")[1]["RFC822"], SIMPLE, "RFC822")
    macros = fetch_items(john, "1", "FAST")[1]
    equal(sorted(macros), ["FLAGS", "INTERNALDATE", "RFC822.SIZE"], "FAST")
    equal(sorted(fetch_items(john, "1", "ALL")[1]), ["ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822.SIZE"], "ALL")
    equal(sorted(fetch_items(john, "1", "FULL")[1]), ["BODY", "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822.SIZE"], "FULL")

    # STORE.
    stored = ok(john.store("1:2", "+FLAGS", r"(\Flagged $Label1)"), "STORE +FLAGS")
    stored = {seq: attrs["FLAGS"] for seq, attrs in fetch_items_from(stored).items()}
    equal(stored, {1: b"(\\Seen \\Flagged $Label1)", 2: b"(\\Seen \\Flagged $Label1)"}, "STORE +FLAGS answers the new flags")
    check(b"$Label1" in untagged(john, "FLAGS")[-1], "a new keyword is announced in * FLAGS", john.untagged_responses)
    stored = fetch_items_from(ok(john.store("1", "-FLAGS", r"(\Seen)"), "STORE -FLAGS"))
    equal(stored[1]["FLAGS"], b"(\\Flagged $Label1)", "STORE -FLAGS")
    stored = fetch_items_from(ok(john.store("2", "FLAGS", r"(\Draft)"), "STORE FLAGS (replace)"))
    equal(stored[2]["FLAGS"], b"(\\Draft)", "STORE FLAGS replaces")
    data = ok(john.store("3", "+FLAGS.SILENT", r"(\Deleted)"), "STORE +FLAGS.SILENT")
    equal(data, [None], "STORE .SILENT answers no FETCH")
    equal(fetch_items(john, "3", "FLAGS")[3]["FLAGS"], b"(\\Seen \\Answered \\Deleted)", "... but stored the flag")
    ok(john.store("3", "-FLAGS.SILENT", r"(\Deleted \Answered)"), "STORE -FLAGS.SILENT")
    ok(john.store("3", "FLAGS.SILENT", r"(\Seen $A $B)"), "STORE FLAGS.SILENT")
    equal(fetch_items(john, "3", "FLAGS")[3]["FLAGS"], b"(\\Seen $A $B)", "keywords stored")
    stored = fetch_items_from(ok(john.uid("STORE", "3", "-FLAGS", "($a)"), "UID STORE -FLAGS"))
    equal(stored[3]["FLAGS"], b"(\\Seen $B)", "keywords compare ignoring case")
    equal(stored[3]["UID"], b"3", "UID STORE answers the UID")
    status, data, _ = command(john, "STORE", "9", "+FLAGS", r"(\Seen)")
    check(status == "BAD", "STORE to a sequence number past the end is BAD", data)
    status, data, _ = command(john, "STORE", "1", "+FLAGS", r"(\Recent)")
    check(status in ("OK", "BAD"), "STORE \\Recent is refused or ignored", data)
    equal(fetch_items(john, "1", "FLAGS")[1]["FLAGS"], b"(\\Flagged $Label1)", "... never stored")

    # UID FETCH.
    by_uid = fetch_items(john, "2:*", "(FLAGS)", uid=True)
    equal(sorted(by_uid), [2, 3], "UID FETCH 2:*")
    equal(by_uid[2]["UID"], b"2", "UID FETCH answers UID first")
    equal(fetch_items(john, "9:*", "FLAGS", uid=True), {3: {"UID": b"3", "FLAGS": b"(\\Seen $B)"}},
          "UID FETCH 9:* names the last message (RFC 3501 6.4.8)")
    equal(ok(john.uid("FETCH", "7:8", "FLAGS"), "UID FETCH of UIDs that do not exist"), [None],
          "... answers no FETCH")
    status, data, _ = command(john, "FETCH", "4", "FLAGS")
    check(status == "BAD", "FETCH past the end is BAD", data)
    status, data, _ = command(john, "FETCH", "1", "(FLAGS BOGUS)")
    check(status == "BAD", "FETCH of an unknown attribute is BAD", data)
    ok(john.close(), "CLOSE")
    john.logout()


def fetch_items_from(data):
    from conform import parse_fetch

    return parse_fetch([part for part in data if part is not None])


run(main)
