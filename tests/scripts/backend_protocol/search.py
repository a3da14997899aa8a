"""SEARCH and UID SEARCH: every search key of RFC 3501 6.4.4 at least once, OR/NOT and
parentheses, dates, HEADER, BODY/TEXT, sequence and UID sets with `*`, CHARSET, errors."""

from conform import check, command, equal, login, ok, raw_login, run


def message(sender, to, subject, date, body, cc=None, bcc=None, extra=""):
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if cc:
        lines.append(f"Cc: {cc}")
    if bcc:
        lines.append(f"Bcc: {bcc}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()


MESSAGES = [
    # (flags, internal date, message)
    (r"(\Seen \Answered)", '"01-Jan-2024 10:00:00 +0000"',
     message("Alice <alice@example.org>", "bob@example.org", "Quarterly report", "Mon, 1 Jan 2024 09:00:00 +0000",
             "The numbers are in.", cc="carol@example.org", extra="X-Priority: 1")),
    (r"(\Flagged $Work)", '"15-Feb-2024 10:00:00 +0000"',
     message("Bob <bob@example.org>", "alice@example.org", "Lunch?", "Thu, 15 Feb 2024 08:00:00 +0000",
             "Pizza at noon. " + "x" * 2000, bcc="dave@example.org")),
    (r"(\Deleted)", '"01-Mar-2024 10:00:00 +0000"',
     message("Carol <carol@example.org>", "alice@example.org", "=?utf-8?q?caf=C3=A9?= plans", "Fri, 1 Mar 2024 08:00:00 +0000",
             "See you at the caf\u00e9.")),
    (r"(\Draft $Work $Later)", '"10-Mar-2024 10:00:00 +0000"',
     message("Alice <alice@example.org>", "team@example.org", "Draft: roadmap", "Sun, 10 Mar 2024 08:00:00 +0000",
             "Roadmap items.", cc="bob@example.org")),
    (None, '"20-Mar-2024 10:00:00 +0000"',
     message("Dave <dave@example.org>", "alice@example.org", "Quarterly follow-up", "Wed, 20 Mar 2024 23:30:00 -0500",
             "Following up on the report.")),
]


def main():
    john = login("john")
    ok(john.create("Box"), "CREATE Box")
    for flags, date, body in MESSAGES:
        ok(john.append("Box", flags, date, body), f"APPEND {body.splitlines()[2].decode()}")
    ok(john.select("Box"), "SELECT Box")

    def search(criteria, expected, uid=False):
        call = (lambda: john.uid("SEARCH", *criteria)) if uid else (lambda: john.search(None, *criteria))
        name = " ".join(criteria)
        data = ok(call(), f"{'UID ' if uid else ''}SEARCH {name}")
        found = [int(n) for n in data[0].split()]
        equal(found, expected, f"{'UID ' if uid else ''}SEARCH {name}")

    search(["ALL"], [1, 2, 3, 4, 5])
    search(["ANSWERED"], [1])
    search(["UNANSWERED"], [2, 3, 4, 5])
    search(["DELETED"], [3])
    search(["UNDELETED"], [1, 2, 4, 5])
    search(["DRAFT"], [4])
    search(["UNDRAFT"], [1, 2, 3, 5])
    search(["FLAGGED"], [2])
    search(["UNFLAGGED"], [1, 3, 4, 5])
    search(["SEEN"], [1])
    search(["UNSEEN"], [2, 3, 4, 5])
    search(["KEYWORD", "$Work"], [2, 4])
    search(["KEYWORD", "$work"], [2, 4])
    search(["UNKEYWORD", "$Work"], [1, 3, 5])
    search(["RECENT"], [1, 2, 3, 4, 5])
    search(["NEW"], [2, 3, 4, 5])
    search(["OLD"], [])
    search(["BCC", "dave"], [2])
    search(["CC", "CAROL@"], [1])
    search(["FROM", "alice"], [1, 4])
    search(["TO", "alice@example.org"], [2, 3, 5])
    search(["SUBJECT", "quarterly"], [1, 5])
    search(["HEADER", "X-Priority", "1"], [1])
    search(["HEADER", "X-Priority", '""'], [1])
    search(["HEADER", "Subject", '"follow-up"'], [5])
    search(["BODY", "pizza"], [2])
    search(["BODY", "Quarterly"], [])
    search(["TEXT", "quarterly"], [1, 5])
    search(["TEXT", "roadmap"], [4])
    search(["LARGER", "1000"], [2])
    search(["SMALLER", "1000"], [1, 3, 4, 5])
    search(["BEFORE", "15-Feb-2024"], [1])
    search(["ON", "15-Feb-2024"], [2])
    search(["SINCE", "1-Mar-2024"], [3, 4, 5])
    search(["SENTBEFORE", "15-Feb-2024"], [1])
    search(["SENTON", "20-Mar-2024"], [5])
    search(["SENTSINCE", "10-Mar-2024"], [4, 5])
    search(["NOT", "SEEN"], [2, 3, 4, 5])
    search(["OR", "ANSWERED", "FLAGGED"], [1, 2])
    search(["OR", "(FROM", "alice", "DRAFT)", "DELETED"], [3, 4])
    search(["(OR", "DELETED", "DRAFT)", "NOT", "(KEYWORD", "$Later)"], [3])
    search(["NOT", "(OR", "SEEN", "(OR", "FLAGGED", "(DELETED)))"], [4, 5])
    search(["FROM", "alice", "SINCE", "1-Feb-2024"], [4])
    search(["2:4"], [2, 3, 4])
    search(["*"], [5])
    search(["4:*", "UNDRAFT"], [5])
    search(["1,3,5:*"], [1, 3, 5])
    search(["UID", "2,4:*"], [2, 4, 5])
    search(["UID", "*"], [5])
    search(["UNSEEN"], [2, 3, 4, 5], uid=True)
    search(["UID", "3:*", "NOT", "DELETED"], [4, 5], uid=True)
    search(["UID", "10:*"], [5], uid=True)

    data = ok(john.search("UTF-8", "SUBJECT", "quarterly"), "SEARCH CHARSET UTF-8")
    equal(data[0], b"1 5", "SEARCH CHARSET UTF-8 SUBJECT quarterly")
    raw = raw_login("john")
    raw.tagged("s", b"SELECT Box")
    cafe = "caf\u00e9 PLANS".encode()
    line, lines = raw.tagged("u", b"SEARCH CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len(cafe), cafe))
    equal((line[:4], lines), (b"u OK", [b"* SEARCH 3\r\n"]), "SEARCH a UTF-8 literal in a decoded encoded word")
    raw.close()
    status, data, responses = command(john, "SEARCH", "CHARSET", "KOI8-R", "ALL")
    check(status == "NO" and b"[BADCHARSET" in data[0], "an unknown charset is NO [BADCHARSET]", (status, data))
    for bad in [["BOGUS"], ["FROM"], ["OR", "SEEN"], ["BEFORE", "32-Jan-2024"], ["LARGER", "x"], ["(SEEN"], ["0:2"]]:
        status, data, _ = command(john, "SEARCH", *bad)
        check(status == "BAD", f"SEARCH {' '.join(bad)} is BAD", (status, data))
    # BODY reads text parts decoded from their transfer encoding, not the MIME framing.
    ok(john.create("Encoded"), "CREATE Encoded")
    encoded = (b"Subject: encoded\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
               b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
               b"aGlkZGVuIHRyZWFzdXJl\r\n--zz\r\nContent-Type: text/plain\r\n"
               b"Content-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\nbreak =3D equal\r\n--zz--\r\n")
    ok(john.append("Encoded", None, '"01-Apr-2024 10:00:00 +0000"', encoded), "APPEND a base64 and QP message")
    ok(john.select("Encoded"), "SELECT Encoded")
    search(["BODY", '"hidden treasure"'], [1])
    search(["BODY", '"softbreak = equal"'], [1])
    search(["BODY", "aGlkZGVu"], [])
    search(["BODY", "--zz"], [])
    search(["TEXT", "encoded"], [1])
    search(["SENTON", "1-Apr-2024"], [1])

    status, data, _ = command(john, "SEARCH", "9")
    check(status in ("OK", "BAD"), "SEARCH of a number past the end", (status, data))
    john.logout()


run(main)
