"""IDLE (raw socket: imaplib has none): a session in IDLE is told at once of another
session's APPEND (EXISTS, RECENT), STORE (FETCH FLAGS) and EXPUNGE; DONE ends it."""

from conform import check, equal, login, ok, raw_login, run


def main():
    john = login("john")
    ok(john.create("Box"), "CREATE Box")
    ok(john.append("Box", None, None, b"Subject: one\r\n\r\n1\r\n"), "APPEND one message")

    idler = raw_login("john")
    line, lines = idler.tagged("s", b"SELECT Box")
    check(b"* 1 EXISTS\r\n" in lines, "the idler selects Box: 1 EXISTS", lines)
    idler.send(b"i IDLE\r\n")
    check(idler.line().startswith(b"+ "), "IDLE answers a continuation")

    ok(john.append("Box", None, None, b"Subject: two\r\n\r\n2\r\n"), "another session APPENDs")
    equal(idler.line(), b"* 2 EXISTS\r\n", "the idler is told EXISTS")
    equal(idler.line(), b"* 2 RECENT\r\n", "and RECENT (both are new to the idler, the first to select Box)")

    ok(john.select("Box"), "the other session selects Box")
    equal(john.untagged_responses.get("RECENT"), [b"0"],
          "no message is \\Recent for it: the idler was told of both first (RFC 3501 2.3.2)")
    ok(john.store("1", "+FLAGS", r"(\Flagged)"), "and STOREs \\Flagged on 1")
    equal(idler.line(), b"* 1 FETCH (FLAGS (\\Flagged \\Recent))\r\n", "the idler is told the new flags")

    ok(john.store("1", "+FLAGS.SILENT", r"(\Deleted)"), "the other session marks 1 \\Deleted")
    equal(idler.line(), b"* 1 FETCH (FLAGS (\\Flagged \\Deleted \\Recent))\r\n", "the idler is told")
    ok(john.expunge(), "and EXPUNGEs")
    equal(idler.line(), b"* 1 EXPUNGE\r\n", "the idler is told EXPUNGE")

    idler.send(b"DONE\r\n")
    line = idler.until("i")[-1]
    check(line.startswith(b"i OK"), "DONE ends IDLE with OK", line)
    line, lines = idler.tagged("f", b"FETCH 1 (UID FLAGS)")
    equal(lines, [b"* 1 FETCH (UID 2 FLAGS (\\Recent))\r\n"], "after IDLE the session's view is the store's")

    # Changes made while not idling are told at the next IDLE's start.
    ok(john.append("Box", None, None, b"Subject: three\r\n\r\n3\r\n"), "an APPEND while the idler is not idling")
    idler.send(b"j IDLE\r\n")
    lines = [idler.line(), idler.line(), idler.line()]
    check(lines[0].startswith(b"+ "), "IDLE again", lines)
    equal(lines[1:], [b"* 2 EXISTS\r\n", b"* 1 RECENT\r\n"],
          "what changed before IDLE is told at its start (UID 3 is recent for its appender, which has Box selected)")
    idler.send(b"NOT-DONE\r\n")
    line = idler.until("j")[-1]
    check(line.startswith(b"j BAD"), "anything but DONE ends IDLE with BAD", line)
    line, _ = idler.tagged("n", b"NOOP")
    check(line.startswith(b"n OK"), "and the session goes on", line)
    idler.close()
    john.logout()


run(main)
