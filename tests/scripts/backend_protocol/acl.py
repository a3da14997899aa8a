"""The ACL commands (RFC 4314): GETACL, SETACL (replace, +, -), DELETEACL, MYRIGHTS,
LISTRIGHTS, and another user reading a shared mailbox within the rights given."""

from conform import check, command, equal, fetch_items, login, no, ok, run

SHARED = '"Other Users/john/Shared"'


def acl_of(client, mailbox):
    status, data, responses = command(client, "GETACL", mailbox)
    check(status == "OK", f"GETACL {mailbox}", data)
    line = responses["ACL"][0]
    words = (line.split(b'" ', 1)[1] if line.startswith(b'"') else line.split(b" ", 1)[1]).split()
    return {words[i].decode(): words[i + 1].decode() for i in range(0, len(words), 2)}


def main():
    john = login("john")
    ok(john.create("Shared"), "CREATE Shared")
    ok(john.append("Shared", None, None, b"Subject: for jane\r\n\r\nhello jane\r\n"), "APPEND to Shared")
    equal(acl_of(john, "Shared"), {"john": "lrswipkxtecdan"}, "a new mailbox: all rights for its owner")
    status, data, responses = command(john, "MYRIGHTS", "Shared")
    equal(responses.get("MYRIGHTS"), [b"Shared lrswipkxtecdan"], "MYRIGHTS of the owner")
    status, data, responses = command(john, "LISTRIGHTS", "Shared", "jane")
    check(status == "OK" and responses.get("LISTRIGHTS", [b""])[0].startswith(b"Shared jane "),
          "LISTRIGHTS Shared jane", (status, data, responses))
    listed = responses["LISTRIGHTS"][0].split()[2:]
    check(all(r in b"".join(listed) for r in [b"l", b"r", b"s", b"w", b"i", b"a"]), "LISTRIGHTS names the rights", listed)

    jane = login("jane")
    equal(ok(jane.list('""', '"Other Users/*"'), "LIST Other Users/* as jane"), [None], "jane sees nothing of john's yet")
    no(lambda: jane.select(SHARED), "jane may not SELECT it yet")

    status, data, _ = command(john, "SETACL", "Shared", "jane", "lr")
    check(status == "OK", "SETACL Shared jane lr", data)
    equal(acl_of(john, "Shared"), {"john": "lrswipkxtecdan", "jane": "lr"}, "GETACL shows jane's rights")
    status, data, _ = command(john, "SETACL", "Shared", "jane", "+s")
    check(status == "OK", "SETACL Shared jane +s", data)
    status, data, _ = command(john, "SETACL", "Shared", "anyone", "+l")
    check(status == "OK", "SETACL Shared anyone +l", data)
    equal(acl_of(john, "Shared"), {"john": "lrswipkxtecdan", "jane": "lrs", "anyone": "l"}, "+ adds rights")
    status, data, _ = command(john, "SETACL", "Shared", "anyone", "-l")
    check(status == "OK", "SETACL Shared anyone -l", data)
    equal(acl_of(john, "Shared").get("anyone", ""), "", "- removes rights")
    status, data, _ = command(john, "SETACL", "Shared", "jane", "lrsQ")
    check(status == "BAD", "SETACL with an unknown right is BAD", data)
    status, data, _ = command(john, "SETACL", "NoSuch", "jane", "lr")
    check(status == "NO", "SETACL on a missing mailbox is NO", data)

    listed = ok(jane.list('""', '"Other Users/*"'), "LIST Other Users/* as jane")
    check(any(line.endswith(b'"Other Users/john/Shared"') for line in listed), "jane sees john's Shared", listed)
    status, data, responses = command(jane, "MYRIGHTS", SHARED)
    equal(responses.get("MYRIGHTS"), [b'"Other Users/john/Shared" lrs'], "MYRIGHTS as jane")
    status, data, _ = command(jane, "GETACL", SHARED)
    check(status == "NO", "GETACL without the a right is NO", data)
    status, data, _ = command(jane, "SETACL", SHARED, "jane", "lrswipkxtecda")
    check(status == "NO", "SETACL without the a right is NO", data)
    data = ok(jane.select(SHARED), "jane SELECTs john's Shared")
    equal(data, [b"1"], "one message")
    items = fetch_items(jane, "1", "(FLAGS BODY[TEXT])")
    equal(items[1]["BODY[TEXT]"], b"hello jane\r\n", "jane reads it")
    check(b"\\Seen" in items[1]["FLAGS"], "her reading set \\Seen (she has s)", items[1])
    status, data, _ = command(jane, "STORE", "1", "+FLAGS", r"(\Flagged)")
    check(status == "NO", "STORE \\Flagged without w is NO", data)
    status, data, _ = command(jane, "STORE", "1", "+FLAGS", r"(\Deleted)")
    check(status == "NO", "STORE \\Deleted without t is NO", data)
    status, data, _ = command(jane, "EXPUNGE")
    check(status == "NO", "EXPUNGE without e is NO", data)
    status, data, _ = command(jane, "APPEND", SHARED, "{5+}\r\nhello")
    check(status in ("NO", "BAD"), "APPEND without i is refused", data)
    status, data, _ = command(jane, "DELETE", SHARED)
    check(status == "NO", "DELETE without x is NO", data)
    status, data, _ = command(jane, "MOVE", "1", "INBOX")
    check(status == "NO", "MOVE out without t and e is NO", data)
    data = ok(jane.copy("1", "INBOX"), "jane COPYs the message to her INBOX")
    jane.close()

    status, data, _ = command(john, "DELETEACL", "Shared", "jane")
    check(status == "OK", "DELETEACL Shared jane", data)
    equal(acl_of(john, "Shared"), {"john": "lrswipkxtecdan"}, "jane's entry is gone")
    equal(ok(jane.list('""', '"Other Users/*"'), "LIST as jane after DELETEACL"), [None], "jane sees nothing again")
    no(lambda: jane.select(SHARED), "jane may not SELECT it any more")
    status, data, _ = command(jane, "STATUS", SHARED, "(MESSAGES)")
    check(status == "NO", "nor STATUS it", data)
    jane.logout()

    admin = login("admin")
    equal(acl_of(admin, '"Other Users/john/Shared"'), {"john": "lrswipkxtecdan"}, "an admin reads any ACL")
    john.logout()
    admin.logout()


run(main)
