"""Mailboxes by name: CREATE, DELETE, RENAME (a subtree, INBOX), SUBSCRIBE/UNSUBSCRIBE/LSUB,
LIST (`*`, `%`, a reference, LIST-EXTENDED selection and return options), STATUS."""

import re

from conform import check, command, equal, login, no, ok, run

MESSAGE = b"From: a@example.org\r\nSubject: m\r\n\r\nbody\r\n"


def names(listing):
    """The names of a LIST/LSUB answer, with their attributes."""
    out = {}
    for line in listing:
        if line is None:
            continue
        match = re.match(rb'\(([^)]*)\) (?:"/"|NIL) (.*)$', line)
        check(match is not None, "a LIST line reads as (attributes) delimiter name", line)
        name = match.group(2).decode()
        if name.startswith('"'):
            name = name[1:-1]
        out[name] = set(match.group(1).decode().split())
    return out


def main():
    john = login("john")
    for name in ["Work", "Work/Projects", "Work/Projects/2024", "Archive", "Trash/"]:
        ok(john.create(name), f"CREATE {name}")
    no(lambda: john.create("Work"), "CREATE of an existing name is NO")
    status, data, _ = command(john, "CREATE", "Work")
    check(b"[ALREADYEXISTS]" in data[0], "... with [ALREADYEXISTS]", data)
    no(lambda: john.create("INBOX"), "CREATE INBOX is NO (it exists)")
    no(lambda: john.create('"Other Users/jane/Mine"'), "CREATE under another user is NO")
    ok(john.create("Deep/Down/Here"), "CREATE makes missing parents' children")

    listed = names(ok(john.list(), "LIST"))
    for name in ["INBOX", "Work", "Work/Projects", "Work/Projects/2024", "Archive", "Trash", "Deep/Down/Here"]:
        check(name in listed, f"LIST \"\" * shows {name}", listed)
    check("\\HasChildren" in listed["Work"], "Work \\HasChildren", listed["Work"])
    check("\\HasNoChildren" in listed["Archive"], "Archive \\HasNoChildren", listed["Archive"])
    top = names(ok(john.list('""', "%"), "LIST \"\" %"))
    check("Work" in top and "Work/Projects" not in top, "% stops at the hierarchy delimiter", top)
    under = names(ok(john.list("Work/", "%"), "LIST Work/ %"))
    equal(sorted(under), ["Work/Projects"], "LIST with a reference names what is under it")
    deep = names(ok(john.list("Work/", "*"), "LIST Work/ *"))
    equal(sorted(deep), ["Work/Projects", "Work/Projects/2024"], "LIST Work/ * names the subtree")
    delimiter = ok(john.list('""', '""'), 'LIST "" ""')
    check(delimiter[0].startswith(b'(\\Noselect) "/"'), 'LIST "" "" answers the delimiter', delimiter)
    check(ok(john.list('""', "NoSuch*"), "LIST of no match") == [None], "nothing matches NoSuch*")
    inbox = names(ok(john.list('""', "inbox"), "LIST inbox"))
    equal(sorted(inbox), ["INBOX"], "INBOX matches case-insensitively")

    # SUBSCRIBE, UNSUBSCRIBE, LSUB, LIST (SUBSCRIBED).
    for name in ["Work", "Archive", "Gone"]:
        ok(john.subscribe(name), f"SUBSCRIBE {name}")
    ok(john.unsubscribe("Archive"), "UNSUBSCRIBE Archive")
    subscribed = names(ok(john.lsub(), "LSUB"))
    equal(sorted(subscribed), ["Gone", "Work"], "LSUB names the subscriptions, existing or not")
    lsub_top = names(ok(john.lsub('""', "W%"), "LSUB W%"))
    equal(sorted(lsub_top), ["Work"], "LSUB with a pattern")
    status, data, responses = command(john, "LIST", "(SUBSCRIBED)", '""', '"*"')
    check(status == "OK", "LIST (SUBSCRIBED)", data)
    extended = names(responses.get("LIST", []))
    equal(sorted(extended), ["Gone", "Work"], "LIST (SUBSCRIBED) names the subscriptions")
    check("\\Subscribed" in extended["Work"], "... each \\Subscribed", extended)
    check("\\NonExistent" in extended["Gone"], "... a missing one \\NonExistent", extended)
    status, data, responses = command(john, "LIST", '""', '"W*"', "RETURN", "(SUBSCRIBED CHILDREN)")
    check(status == "OK", "LIST ... RETURN (SUBSCRIBED CHILDREN)", data)
    returned = names(responses.get("LIST", []))
    check("\\Subscribed" in returned.get("Work", set()) and "\\HasChildren" in returned["Work"],
          "RETURN (SUBSCRIBED CHILDREN) marks Work", returned)
    check("\\Subscribed" not in returned.get("Work/Projects", {"\\Subscribed"}),
          "... and not its unsubscribed child", returned)

    # STATUS, every item.
    for n in range(3):
        flags = "(\\Seen)" if n == 0 else None
        ok(john.append("Archive", flags, None, MESSAGE), f"APPEND to Archive #{n + 1}")
    data = ok(john.status("Archive", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN SIZE)"), "STATUS every item")
    match = re.match(rb"Archive \(MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY (\d+) UNSEEN 2 SIZE (\d+)\)", data[0])
    check(match is not None, "STATUS Archive: 3 messages, 3 recent, UIDNEXT 4, 2 unseen", data)
    equal(int(match.group(2)), 3 * len(MESSAGE), "STATUS SIZE is the octets of the messages")
    no(lambda: john.status("NoSuch", "(MESSAGES)"), "STATUS of a missing mailbox is NO")
    status, data, _ = command(john, "STATUS", "Archive", "(BOGUS)")
    check(status == "BAD", "STATUS with an unknown item is BAD", data)

    # RENAME: a subtree moves whole; its messages and UIDVALIDITY stay.
    validity_before = int(match.group(1))
    ok(john.rename("Work", "Job"), "RENAME Work Job")
    moved = names(ok(john.list(), "LIST after RENAME"))
    check("Job/Projects/2024" in moved and "Work" not in moved and "Work/Projects" not in moved,
          "the subtree moved with it", moved)
    no(lambda: john.rename("Job", "Archive"), "RENAME onto an existing name is NO")
    no(lambda: john.rename("NoSuch", "Other"), "RENAME of a missing mailbox is NO")
    ok(john.rename("Archive", "Old/Archive"), "RENAME into a new parent")
    data = ok(john.status("Old/Archive", "(MESSAGES UIDVALIDITY)"), "STATUS after RENAME")
    check(data[0].startswith(b"Old/Archive (MESSAGES 3 UIDVALIDITY"), "the messages moved along", data)

    # RENAME INBOX: its messages move to the new mailbox, INBOX stays, empty (RFC 3501 6.3.5).
    ok(john.append("INBOX", None, None, MESSAGE), "APPEND to INBOX")
    ok(john.rename("INBOX", "Saved"), "RENAME INBOX Saved")
    data = ok(john.status("Saved", "(MESSAGES)"), "STATUS Saved")
    equal(data[0], b"Saved (MESSAGES 1)", "INBOX's message went to Saved")
    data = ok(john.status("INBOX", "(MESSAGES)"), "STATUS INBOX")
    equal(data[0], b"INBOX (MESSAGES 0)", "INBOX is there, empty")

    # DELETE.
    no(lambda: john.delete("INBOX"), "DELETE INBOX is NO")
    no(lambda: john.delete("NoSuch"), "DELETE of a missing mailbox is NO")
    ok(john.delete("Job/Projects/2024"), "DELETE a leaf")
    ok(john.delete("Saved"), "DELETE Saved")
    gone = names(ok(john.list(), "LIST after DELETE"))
    check("Saved" not in gone and "Job/Projects/2024" not in gone, "deleted mailboxes are gone", gone)
    ok(john.create("Saved"), "a deleted name can be created again")
    data = ok(john.status("Saved", "(MESSAGES)"), "STATUS of the new Saved")
    equal(data[0], b"Saved (MESSAGES 0)", "the new mailbox is empty")
    john.logout()


run(main)
