"""COPY and MOVE (and their UID forms) with COPYUID, EXPUNGE, UID EXPUNGE, CLOSE (expunges)
and UNSELECT (does not)."""

import re

from conform import check, command, equal, fetch_items, login, no, ok, raw_login, run


def body(n):
    return b"From: a@example.org\r\nSubject: message %d\r\n\r\nbody %d\r\n" % (n, n)


def main():
    john = login("john")
    for name in ["Src", "Dst"]:
        ok(john.create(name), f"CREATE {name}")
    for n in range(1, 7):
        ok(john.append("Src", r"(\Flagged)" if n % 2 else None, None, body(n)), f"APPEND message {n}")
    ok(john.select("Src"), "SELECT Src")
    validity = int(ok(john.status("Dst", "(UIDVALIDITY)"), "STATUS Dst")[0].split()[-1].rstrip(b")"))

    data = ok(john.copy("1:2", "Dst"), "COPY 1:2 Dst")
    equal(data[0], b"[COPYUID %d 1:2 1:2] Completed" % validity, "COPY answers COPYUID")
    status, data, _ = command(john, "UID", "COPY", "5,3", "Dst")
    equal((status, data[0]), ("OK", b"[COPYUID %d 3,5 3:4] Completed" % validity), "UID COPY answers COPYUID in UID order")
    status, data, _ = command(john, "COPY", "1", "NoSuch")
    check(status == "NO" and b"[TRYCREATE]" in data[0], "COPY to a missing mailbox is NO [TRYCREATE]", data)
    status, data, _ = command(john, "COPY", "7", "Dst")
    check(status == "BAD", "COPY of a number past the end is BAD", data)
    copied = fetch_items_in(john, "Dst")
    equal(copied, {1: b"message 1", 2: b"message 2", 3: b"message 3", 4: b"message 5"}, "the copies in Dst")

    # MOVE: COPYUID untagged, then EXPUNGE responses, then OK.
    raw = raw_login("john")
    raw.tagged("s", b"SELECT Src")
    line, lines = raw.tagged("m", b"MOVE 2:3 Dst")
    check(line.startswith(b"m OK"), "MOVE 2:3 Dst", line)
    equal(lines, [b"* OK [COPYUID %d 2:3 5:6] Moved\r\n" % validity, b"* 3 EXPUNGE\r\n", b"* 2 EXPUNGE\r\n"],
          "MOVE answers COPYUID then EXPUNGE from the highest")
    line, lines = raw.tagged("u", b"UID MOVE 6 Dst")
    check(line.startswith(b"u OK"), "UID MOVE 6 Dst", line)
    equal(lines, [b"* OK [COPYUID %d 6 7] Moved\r\n" % validity, b"* 4 EXPUNGE\r\n"], "UID MOVE by UID")
    line, lines = raw.tagged("n", b"UID MOVE 99 Dst")
    equal((line[:4], lines), (b"n OK", []), "UID MOVE of no message moves nothing")

    # The other session learns of the expunges at its next command.
    data = ok(john.noop(), "NOOP in the first session")
    equal([int(n) for n in john.untagged_responses.pop("EXPUNGE", [])], [6, 3, 2],
          "the first session is told 6, 3 and 2 were expunged (UIDs 6, 3, 2), highest first")
    equal(sorted(fetch_items(john, "1:*", "UID")), [1, 2, 3], "it sees three messages left")

    # EXPUNGE and UID EXPUNGE.
    line, lines = raw.tagged("f", b"STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    check(line.startswith(b"f OK") and not lines, "mark all three \\Deleted", (line, lines))
    line, lines = raw.tagged("x", b"UID EXPUNGE 4,6:9")
    equal((line[:4], lines), (b"x OK", [b"* 2 EXPUNGE\r\n"]), "UID EXPUNGE 4,6:9 removes only UID 4 of 1, 4, 5")
    line, lines = raw.tagged("y", b"EXPUNGE")
    equal((line[:4], lines), (b"y OK", [b"* 2 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"]), "EXPUNGE removes the rest")
    line, lines = raw.tagged("z", b"EXPUNGE")
    equal((line[:4], lines), (b"z OK", []), "EXPUNGE with nothing deleted")
    raw.close()
    equal(int(ok(john.status("Src", "(MESSAGES)"), "STATUS Src")[0].split()[-1].rstrip(b")")), 0, "Src is empty")
    john.close()

    # CLOSE expunges, UNSELECT and EXAMINE+CLOSE do not.
    ok(john.select("Dst"), "SELECT Dst")
    ok(john.store("1,2", "+FLAGS", r"(\Deleted)"), "STORE \\Deleted on 1,2")
    status, data, _ = command(john, "UNSELECT")
    check(status == "OK", "UNSELECT", data)
    equal(count(john, "Dst"), 7, "UNSELECT expunged nothing")
    ok(john.select("Dst", readonly=True), "EXAMINE Dst")
    ok(john.close(), "CLOSE after EXAMINE")
    equal(count(john, "Dst"), 7, "CLOSE of an EXAMINEd mailbox expunged nothing")
    ok(john.select("Dst"), "SELECT Dst")
    ok(john.close(), "CLOSE")
    equal(count(john, "Dst"), 5, "CLOSE expunged the two \\Deleted messages")
    status, data, _ = command(john, "EXPUNGE")
    check(status == "BAD", "EXPUNGE after CLOSE is BAD (nothing selected)", data)
    ok(john.select("Dst"), "SELECT Dst again")
    status, data, _ = command(john, "MOVE", "1:*", "Dst")
    check(status == "OK", "MOVE into the same mailbox", data)
    equal(sorted(fetch_items(john, "1:*", "UID")), [1, 2, 3, 4, 5], "still five messages, renumbered")
    equal([int(v["UID"]) for k, v in sorted(fetch_items(john, "1:*", "UID").items())], [8, 9, 10, 11, 12],
          "with new UIDs")
    john.logout()


def fetch_items_in(client, mailbox):
    """Each message's subject number in `mailbox`, by sequence number (selected read-only)."""
    other = login("john")
    ok(other.select(mailbox, readonly=True), f"EXAMINE {mailbox}")
    items = fetch_items(other, "1:*", "BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    other.logout()
    return {seq: re.search(rb"message \d+", attrs["BODY[HEADER.FIELDS (SUBJECT)]"]).group(0)
            for seq, attrs in items.items()}


def count(client, mailbox):
    return int(ok(client.status(mailbox, "(MESSAGES)"), f"STATUS {mailbox}")[0].split()[-1].rstrip(b")"))


run(main)
