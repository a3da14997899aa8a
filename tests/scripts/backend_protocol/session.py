"""Not-authenticated and authenticated state: CAPABILITY, LOGIN, AUTHENTICATE PLAIN (with and
without an authorization id), NAMESPACE, ID, ENABLE, LOGOUT."""

import base64

from conform import Raw, check, command, connect, equal, login, no, ok, password, run, untagged


def plain(authzid, user, secret):
    return f"{authzid}\0{user}\0{secret}".encode()


def main():
    client = connect()
    greeting = client.welcome.decode()
    check(greeting.startswith("* OK [CAPABILITY IMAP4rev1"), "greeting carries CAPABILITY", greeting)
    caps = ok(client.capability(), "CAPABILITY")[0].decode().split()
    for wanted in ["IMAP4rev1", "LITERAL+", "IDLE", "NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT",
                   "ENABLE", "ID", "ACL", "AUTH=PLAIN", "LIST-EXTENDED"]:
        check(wanted in caps, f"CAPABILITY lists {wanted}", caps)
    status, data, _ = command(client, "NAMESPACE")
    check(status == "BAD", "NAMESPACE before login is BAD", data)
    status, data, _ = command(client, "CHECK")
    check(status == "BAD", "CHECK before login is BAD", data)
    no(lambda: client.login("john", "wrong"), "LOGIN with a wrong password is NO")
    no(lambda: client.login("nobody", "nobody-secret"), "LOGIN of an unknown user is NO")
    ok(client.login("john", password("john")), "LOGIN john")
    status, data, _ = command(client, "LOGIN", "john", password("john"))
    check(status == "BAD", "a second LOGIN is BAD", data)

    data = ok(client.namespace(), "NAMESPACE")
    equal(data[0], b'(("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))', "NAMESPACE answer")
    status, data, responses = command(client, "ID", '("name" "conform" "os" "linux")')
    check(status == "OK", "ID", data)
    server_id = responses.get("ID", [b""])[0]
    check(b'"name" "corvid"' in server_id, "ID answers the server's name", server_id)
    status, data, _ = command(client, "CHECK")
    check(status == "BAD", "CHECK with no mailbox selected is BAD", data)
    status, data, _ = command(client, "ID", "NIL")
    check(status == "OK", "ID NIL", data)
    status, data, responses = command(client, "ENABLE", "CONDSTORE")
    check(status == "OK", "ENABLE", data)
    check("ENABLED" in responses, "ENABLE answers * ENABLED", responses)
    typ, data = client.logout()
    equal(typ, "BYE", "LOGOUT answers BYE")

    # AUTHENTICATE PLAIN: a continuation, then the response (imaplib's way).
    client = connect()
    ok(client.authenticate("PLAIN", lambda _: plain("", "jane", password("jane"))),
       "AUTHENTICATE PLAIN jane after a continuation")
    ok(client.select("INBOX"), "jane's INBOX made at first login and selectable")
    client.logout()

    # SASL-IR, an authorization id for the proxy user, refused for anyone else.
    raw = Raw()
    ir = base64.b64encode(plain("john", "proxy", password("proxy")))
    line, _ = raw.tagged("a1", b"AUTHENTICATE PLAIN " + ir)
    check(line.startswith(b"a1 OK"), "the proxy user authenticates as john (authzid)", line)
    line, lines = raw.tagged("a2", b"MYRIGHTS INBOX")
    check(lines and lines[0].startswith(b"* MYRIGHTS INBOX lrswipkxtecda"), "acting as john: john's INBOX is his", lines)
    raw.close()
    raw = Raw()
    ir = base64.b64encode(plain("john", "jane", password("jane")))
    line, _ = raw.tagged("b1", b"AUTHENTICATE PLAIN " + ir)
    check(line.startswith(b"b1 NO"), "jane may not authenticate as john", line)
    line, _ = raw.tagged("b2", b"AUTHENTICATE PLAIN " + base64.b64encode(plain("", "jane", "wrong")))
    check(line.startswith(b"b2 NO [AUTHENTICATIONFAILED]"), "a wrong password is NO [AUTHENTICATIONFAILED]", line)
    line, _ = raw.tagged("b3", b"AUTHENTICATE PLAIN !!!notbase64")
    check(line.startswith(b"b3 BAD"), "a response that is not base64 is BAD", line)
    raw.send(b"b4 AUTHENTICATE PLAIN\r\n")
    check(raw.line().startswith(b"+"), "AUTHENTICATE without an initial response asks for it")
    raw.send(b"*\r\n")
    line = raw.line()
    check(line.startswith(b"b4 BAD"), "`*` cancels the exchange", line)
    line, _ = raw.tagged("b5", b"AUTHENTICATE CRAM-MD5")
    check(line.startswith(b"b5 NO"), "an unknown mechanism is NO", line)
    raw.close()

    # Three failed logins end the connection.
    raw = Raw()
    for n in range(3):
        raw.send(b"f%d LOGIN john wrong\r\n" % n)
    check(raw.closed(), "three failed logins close the connection")

    client = login("admin")
    status, data, _ = command(client, "STARTTLS")
    check(status == "BAD", "STARTTLS is refused (not offered)", data)
    client.logout()


run(main)
