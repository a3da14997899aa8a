"""A restart keeps everything: run as `restart.py ADDR before STATE` (makes mailboxes,
messages, flags, keywords, ACLs and subscriptions, and records what it saw in the STATE file),
then, after the backend restarted, `restart.py ADDR after STATE` (checks all of it is there
as it was, UIDs and UIDVALIDITY included, and that UIDs go on from where they were)."""

import json
import sys

from conform import check, command, equal, fetch_items, login, ok, run

PHASE, STATE = sys.argv[2], sys.argv[3]


def snapshot(john):
    """What must survive: per mailbox, UIDVALIDITY, UIDNEXT and each message's UID, flags,
    internal date and body; the ACL of Shared; john's subscriptions."""
    seen = {}
    for name in ["INBOX", "Work", "Shared"]:
        status = ok(john.status(name, "(UIDVALIDITY UIDNEXT MESSAGES)"), f"STATUS {name}")[0].decode()
        ok(john.select(name, readonly=True), f"EXAMINE {name}")
        items = fetch_items(john, "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])") if "MESSAGES 0" not in status else {}
        seen[name] = {
            "status": status,
            "messages": [[v["UID"].decode(), v["FLAGS"].decode().replace(" \\Recent", "").replace("\\Recent", ""),
                          v["INTERNALDATE"].decode(), v["BODY[]"].decode("latin-1")]
                         for _, v in sorted(items.items())],
        }
        john.close()
    status, data, responses = command(john, "GETACL", "Shared")
    seen["acl"] = responses["ACL"][0].decode()
    seen["lsub"] = sorted(line.decode() for line in ok(john.lsub(), "LSUB"))
    return seen


def before():
    john = login("john")
    for name in ["Work", "Shared"]:
        ok(john.create(name), f"CREATE {name}")
    for n in range(1, 6):
        ok(john.append("INBOX", r"(\Seen $Keep)" if n % 2 else None, '"0%d-Jun-2024 12:00:00 +0200"' % n,
                       b"Subject: kept %d\r\n\r\nbody %d \xe9\r\n" % (n, n)), f"APPEND INBOX #{n}")
    ok(john.append("Work", r"(\Flagged)", None, b"Subject: work\r\n\r\nwork\r\n"), "APPEND Work")
    ok(john.select("INBOX"), "SELECT INBOX")
    ok(john.store("2", "+FLAGS", r"(\Deleted)"), "STORE \\Deleted 2")
    ok(john.expunge(), "EXPUNGE: UID 2 is gone")
    ok(john.store("3", "+FLAGS", r"(\Answered $Later)"), "STORE on 3")
    ok(john.copy("1:2", "Shared"), "COPY 1:2 Shared")
    john.close()
    status, data, _ = command(john, "SETACL", "Shared", "jane", "lrs")
    check(status == "OK", "SETACL Shared jane lrs", data)
    ok(john.subscribe("Work"), "SUBSCRIBE Work")
    ok(john.subscribe("Nowhere"), "SUBSCRIBE Nowhere")
    seen = snapshot(john)
    john.logout()
    with open(STATE, "w") as state:
        json.dump(seen, state)


def after():
    with open(STATE) as state:
        was = json.load(state)
    john = login("john")
    now = snapshot(john)
    for name in ["INBOX", "Work", "Shared"]:
        equal(now[name]["status"], was[name]["status"], f"{name}: UIDVALIDITY, UIDNEXT and MESSAGES kept")
        equal(now[name]["messages"], was[name]["messages"], f"{name}: UIDs, flags, dates and bodies kept")
    equal(now["acl"], was["acl"], "Shared's ACL kept")
    equal(now["lsub"], was["lsub"], "subscriptions kept")
    data = ok(john.append("INBOX", None, None, b"Subject: after\r\n\r\nafter\r\n"), "APPEND after the restart")
    check(b"[APPENDUID" in data[0] and data[0].split()[2] == b"6]", "UIDs go on from 6", data)
    john.logout()
    jane = login("jane")
    ok(jane.select('"Other Users/john/Shared"', readonly=True), "jane still reads john's Shared")
    jane.logout()


run(before if PHASE == "before" else after)
