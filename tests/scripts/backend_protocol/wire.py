"""The wire, by hand: pipelining several commands in one write, synchronizing literals and
LITERAL+, and malformed input (garbage, a huge literal announcement, an over-long line, an
unknown command, a bad sequence set, SEARCH nested deeper than the limit) answered with a
tagged BAD/NO or a clean close, while other connections are served."""

from conform import Raw, check, equal, login, ok, raw_login, run

MESSAGE = b"Subject: wire\r\n\r\nwire body\r\n"


def main():
    john = login("john")
    ok(john.append("INBOX", None, None, MESSAGE), "APPEND one message")

    # Pipelining: five commands in one write, answered in order.
    raw = raw_login("john")
    raw.send(b"p1 SELECT INBOX\r\np2 FETCH 1 (UID FLAGS)\r\np3 STORE 1 +FLAGS (\\Flagged)\r\n"
             b"p4 SEARCH FLAGGED\r\np5 NOOP\r\n")
    lines = raw.until("p5")
    tagged = [line.split(b" ")[0] for line in lines if not line.startswith(b"*")]
    equal(tagged, [b"p1", b"p2", b"p3", b"p4", b"p5"], "pipelined commands are answered in order")
    check(all(line.split(b" ")[1] == b"OK" for line in lines if not line.startswith(b"*")), "all OK", lines)
    check(b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n" in lines, "the STORE's FETCH", lines)
    check(b"* SEARCH 1\r\n" in lines, "the SEARCH saw the STORE before it", lines)

    # Pipelined commands that wait on the master (when there is one) keep their order too.
    raw.send(b"r1 CREATE Piped\r\nr2 RENAME Piped Moved\r\nr3 LIST \"\" M*\r\nr4 SETACL Moved jane lr\r\n"
             b"r5 DELETE Moved\r\nr6 LIST \"\" M*\r\nr7 CHECK\r\n")
    lines = raw.until("r7")
    equal([line for line in lines if line.startswith(b"r")],
          [b"r%d OK Completed\r\n" % n for n in range(1, 8)], "pipelined CREATE, RENAME, SETACL, DELETE")
    equal([line for line in lines if line.startswith(b"* LIST")], [b'* LIST (\\HasNoChildren) "/" Moved\r\n'],
          "the LIST between them saw the RENAME, the one after saw the DELETE")

    # A command split across writes, a byte at a time.
    for byte in b"q1 NOOP\r\n":
        raw.send(bytes([byte]))
    check(raw.until("q1")[-1].startswith(b"q1 OK"), "a command sent a byte at a time")

    # Synchronizing literals: `+` before each, then the rest of the line.
    raw.send(b"l1 LIST {0}\r\n")
    check(raw.line().startswith(b"+ "), "a synchronizing literal gets `+`")
    raw.send(b" {5}\r\n")
    check(raw.line().startswith(b"+ "), "a second literal in the same command gets `+` too")
    raw.send(b"INBOX\r\n")
    lines = raw.until("l1")
    equal(lines, [b'* LIST (\\HasNoChildren) "/" INBOX\r\n', b"l1 OK Completed\r\n"], "LIST with two literals")
    line, lines = raw.tagged("l2", b"LIST {0+}\r\n {5+}\r\nINBOX")
    equal(lines, [b'* LIST (\\HasNoChildren) "/" INBOX\r\n'], "LIST with two LITERAL+ literals, no `+` waited for")
    line, lines = raw.tagged("l3", b"FETCH 1 (BODY.PEEK[HEADER.FIELDS ({7+}\r\nSUBJECT)])")
    check(line.startswith(b"l3 OK") and lines[0].startswith(b"* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {17}"),
          "a literal inside a FETCH section", (line, lines))

    # Malformed commands: a tagged BAD, and the session goes on.
    for tag, command, what in [
        (b"m1", b"FROB", "an unknown command"),
        (b"m2", b"FETCH 1:x FLAGS", "a bad sequence set"),
        (b"m3", b"FETCH 0 FLAGS", "sequence number 0"),
        (b"m4", b"FETCH 1 (FLAGS", "an unclosed list"),
        (b"m5", b"SELECT", "a missing argument"),
        (b"m6", b"NOOP extra", "an argument too many"),
        (b"m7", b"SEARCH " + b"(" * 40 + b"ALL" + b")" * 40, "SEARCH parentheses nested 40 deep"),
        (b"m8", b"SEARCH " + b"NOT " * 40 + b"ALL", "SEARCH NOT nested 40 deep"),
        (b"m9", b"UID FROB 1", "an unknown UID command"),
        (b"m10", b"FETCH 4294967296 FLAGS", "a number past 2^32"),
        (b"m11", b'LIST "" "unterminated', "an unterminated quoted string"),
        (b"m12", b"STORE 1 +FLAGS (\\Seen", "an unclosed flag list"),
        (b"m13", b"FETCH 1 (" + b" ".join([b"BODY.PEEK[]"] * 17) + b")", "a FETCH of 17 body items"),
    ]:
        line, _ = raw.tagged(tag.decode(), command)
        check(line.startswith(tag + b" BAD"), f"{what} is BAD", line)
    raw.send(b"\x00\x01\x02\xff garbage\r\n")
    line = raw.line()
    check(line.startswith(b"* BAD") or line.split(b" ")[1:2] == [b"BAD"], "garbage is BAD", line)
    raw.send(b"\r\n")
    check(raw.line().startswith(b"* BAD"), "an empty line is BAD")
    line, _ = raw.tagged("ok1", b"NOOP")
    check(line.startswith(b"ok1 OK"), "the session goes on after bad input", line)

    # A huge synchronizing literal is refused before it is sent; the session goes on.
    raw.send(b"h1 APPEND INBOX {999999999999}\r\n")
    line = raw.line()
    check(line.startswith(b"h1 BAD") or line.startswith(b"h1 NO"), "a huge synchronizing literal is refused, no `+`", line)
    line, _ = raw.tagged("ok2", b"NOOP")
    check(line.startswith(b"ok2 OK"), "the session goes on after the refused literal", line)

    # An over-long line (past 64 KiB) is BAD; the session goes on.
    raw.send(b"long1 NOOP " + b"x" * (100 * 1024) + b"\r\n")
    line = raw.line()
    check(b"BAD" in line.split(b" ")[:2], "an over-long line is BAD", line[:80])
    line, _ = raw.tagged("ok3", b"NOOP")
    check(line.startswith(b"ok3 OK"), "the session goes on after the over-long line", line)
    raw.close()

    # A huge LITERAL+ cannot be refused before it comes: the connection is closed.
    raw = raw_login("john")
    raw.send(b"h2 APPEND INBOX {999999999999+}\r\nabc")
    lines = []
    while True:
        line = raw.line()
        if not line:
            break
        lines.append(line)
    check(any(b"BAD" in line or b"BYE" in line for line in lines), "a huge LITERAL+ is refused and the connection closed", lines)
    check(raw.closed(), "closed")
    raw = Raw()
    raw.send(b"{18446744073709551616+}\r\n")
    check(raw.closed(), "a literal length past 2^64 closes the connection")

    # Other connections were served all along, and still are.
    other = Raw()
    line, _ = other.tagged("a", b"LOGIN jane jane-secret")
    check(line.startswith(b"a OK"), "another connection logs in after all that", line)
    line, lines = other.tagged("b", b"STATUS INBOX (MESSAGES)")
    check(line.startswith(b"b OK"), "and is served", (line, lines))
    other.close()
    data = ok(john.status("INBOX", "(MESSAGES)"), "the first imaplib session is still served")
    equal(data[0], b"INBOX (MESSAGES 1)", "no refused APPEND stored anything")
    john.logout()


run(main)
