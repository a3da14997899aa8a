"""APPEND: flags, date-time, synchronizing and non-synchronizing literals, a 5 MB message,
8-bit and binary-ish content, bare LF normalised to CRLF; APPENDUID; refusals."""

import re

from conform import Raw, check, command, equal, fetch_items, login, no, ok, raw_login, run

SIMPLE = b"From: Ann <ann@example.org>\r\nSubject: plain\r\n\r\nhello\r\n"


def main():
    john = login("john")
    ok(john.create("Box"), "CREATE Box")
    data = ok(john.append("Box", r"(\Seen \Flagged $Work)", '"05-Mar-2024 09:10:11 +0100"', SIMPLE),
              "APPEND with flags and a date-time")
    match = re.match(rb"\[APPENDUID (\d+) 1\]", data[0])
    check(match is not None, "APPEND answers [APPENDUID validity 1]", data)
    validity = int(match.group(1))

    bare = b"From: Bob <bob@example.org>\nSubject: bare LF\n\nline one\nline two\n"
    ok(john.append("Box", None, None, bare), "APPEND with bare LF line ends")
    eight = "From: Zoë <zoe@example.org>\r\nSubject: crème brûlée\r\n\r\nnaïve café\r\n".encode()
    ok(john.append("Box", None, None, eight), "APPEND 8-bit content")
    binary = b"From: c@example.org\r\nSubject: binary\r\n\r\n" + bytes(range(1, 256)).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n"
    ok(john.append("Box", None, None, binary), "APPEND binary-ish content (every octet but NUL, CR, LF)")
    line = b"x" * 998 + b"\r\n"
    large = b"From: big@example.org\r\nSubject: large\r\n\r\n" + line * (5 * 1024 * 1024 // len(line) + 1)
    data = ok(john.append("Box", None, None, large), f"APPEND a {len(large)}-octet message")
    check(b"[APPENDUID %d 5]" % validity in data[0], "its APPENDUID is 5", data)

    ok(john.select("Box"), "SELECT Box")
    items = fetch_items(john, "1:5", "(UID FLAGS INTERNALDATE RFC822.SIZE)")
    equal(items[1]["FLAGS"], b"(\\Seen \\Flagged $Work \\Recent)", "the flags given are kept")
    equal(items[1]["INTERNALDATE"], b" 5-Mar-2024 09:10:11 +0100", "the date-time given is the internal date")
    equal([items[n]["UID"] for n in range(1, 6)], [b"1", b"2", b"3", b"4", b"5"], "UIDs ascend from 1")
    equal(int(items[5]["RFC822.SIZE"]), len(large), "the large message's size")
    bodies = fetch_items(john, "2:5", "(BODY.PEEK[])")
    equal(bodies[2]["BODY[]"], bare.replace(b"\n", b"\r\n"), "bare LF is stored as CRLF")
    equal(int(items[2]["RFC822.SIZE"]), len(bare) + bare.count(b"\n"), "RFC822.SIZE counts the CRLFs")
    equal(bodies[3]["BODY[]"], eight, "8-bit octets come back as sent")
    equal(bodies[4]["BODY[]"], binary, "binary-ish octets come back as sent")
    equal(bodies[5]["BODY[]"], large, "the large message comes back whole")
    ok(john.copy("5", "Box"), "COPY the large message")
    ok(john.copy("5", "Box"), "COPY it again")
    larges = fetch_items(john, "5:7", "(UID BODY.PEEK[])")
    equal([(v["UID"], v["BODY[]"] == large) for _, v in sorted(larges.items())],
          [(b"5", True), (b"6", True), (b"7", True)], "a 15 MB FETCH (written in batches) comes back whole")
    ok(john.store("6:7", "+FLAGS.SILENT", r"(\Deleted)"), "mark the copies \\Deleted")
    john.close()

    # By hand: a synchronizing literal waits for `+`, LITERAL+ does not; a date without
    # flags; flags without a date.
    raw = raw_login("john")
    message = b"Subject: sync\r\n\r\nsync body\r\n"
    raw.send(b"s1 APPEND Box {%d}\r\n" % len(message))
    check(raw.line().startswith(b"+"), "a synchronizing literal gets a continuation")
    raw.send(message + b"\r\n")
    line = raw.until("s1")[-1]
    check(line.startswith(b"s1 OK [APPENDUID"), "APPEND with a synchronizing literal", line)
    line, _ = raw.tagged("s2", b'APPEND Box " 7-Jan-2025 23:59:59 -0800" {%d+}\r\n' % len(message) + message)
    check(line.startswith(b"s2 OK [APPENDUID"), "APPEND with LITERAL+ and only a date", line)
    line, _ = raw.tagged("s3", b"APPEND Box (\\Draft) {%d+}\r\n" % len(message) + message)
    check(line.startswith(b"s3 OK"), "APPEND with only flags", line)
    line, _ = raw.tagged("s4", b"APPEND NoSuch {%d+}\r\n" % len(message) + message)
    check(line.startswith(b"s4 NO [TRYCREATE]"), "APPEND to a missing mailbox is NO [TRYCREATE]", line)
    line, _ = raw.tagged("s5", b"APPEND Box {0+}\r\n")
    check(line.startswith(b"s5 NO"), "APPEND of an empty message is NO", line)
    line, _ = raw.tagged("s6", b'APPEND Box "31-Feb-2025 00:00:00 +0000" {%d+}\r\n' % len(message) + message)
    check(line.startswith(b"s6 BAD"), "APPEND with an impossible date is BAD", line)
    line, _ = raw.tagged("s7", b"APPEND Box (\\Bogus \\Seen {%d+}\r\n" % len(message) + message)
    check(line.startswith(b"s7 BAD"), "APPEND with an unclosed flag list is BAD", line)
    line, lines = raw.tagged("s8", b"STATUS Box (MESSAGES)")
    check(lines and lines[0] == b"* STATUS Box (MESSAGES 8)\r\n", "the refused APPENDs stored nothing", lines)
    line, _ = raw.tagged("s9", b'FETCH 1 FLAGS')
    check(line.startswith(b"s9 BAD"), "FETCH without a selected mailbox is BAD", line)
    raw.close()

    john = login("john")
    ok(john.select("Box", readonly=True), "EXAMINE Box")
    items = fetch_items(john, "7:8", "(INTERNALDATE FLAGS)")
    equal(items[7]["INTERNALDATE"], b" 7-Jan-2025 23:59:59 -0800", "the date of s2")
    equal(items[8]["FLAGS"], b"(\\Draft \\Recent)", "the flags of s3 (recent: no SELECT claimed it)")
    john.logout()


run(main)
