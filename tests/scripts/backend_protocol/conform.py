"""What every conformance script of corvid's reference backend shares.

Each script is run as `python3 SCRIPT HOST:PORT` against a fresh `corvid backend` whose users
are john, jane, proxy (a proxy user, as Cyrus `proxyservers`) and admin, each with the password
`<user>-secret`. A script prints one line per thing it checked and stops at the first failure
with a clear message and a non-zero exit.
"""

import imaplib
import re
import socket
import sys
import time

HOST, PORT = sys.argv[1].rsplit(":", 1)
PORT = int(PORT)

# The 5 MB APPEND and its FETCH need more than imaplib's default line limit.
imaplib._MAXLINE = 1 << 24


class Failure(Exception):
    """A check that did not hold."""


def check(condition, what, detail=None):
    """Prints `ok what`, or stops the script with what failed and what was seen."""
    if not condition:
        message = f"FAILED: {what}"
        if detail is not None:
            message += f"\n  saw: {detail!r}"
        raise Failure(message)
    print(f"ok  {what}")


def equal(seen, expected, what):
    """Checks that `seen == expected`."""
    check(seen == expected, f"{what} == {expected!r}", seen)


def password(user):
    return f"{user}-secret"


def connect():
    return imaplib.IMAP4(HOST, PORT)


def login(user):
    """A logged-in imaplib session of `user`."""
    client = connect()
    status, _ = client.login(user, password(user))
    check(status == "OK", f"LOGIN {user}")
    return client


def ok(result, what):
    """Checks that an imaplib answer is OK; returns its data."""
    status, data = result
    check(status == "OK", what, data)
    return data


def no(call, what):
    """Checks that an imaplib command is answered NO (imaplib returns it, or raises for it
    where the command expects OK); returns the text."""
    try:
        status, data = call()
    except imaplib.IMAP4.error as error:
        text = str(error)
        check("NO" in text or "BAD" not in text, what, text)
        return text
    check(status == "NO", what, (status, data))
    return data


def command(client, name, *args):
    """Runs a command imaplib has no method for; returns (status, tagged text, untagged
    responses of every kind, as imaplib keeps them). imaplib raises for BAD, which comes back
    as status "BAD" with imaplib's message."""
    client.untagged_responses.clear()
    # Any command in any state: the server, not imaplib, is under test.
    imaplib.Commands[name] = ("NONAUTH", "AUTH", "SELECTED", "LOGOUT")
    tag = client._command(name, *args)
    try:
        status, data = client._command_complete(name, tag)
    except imaplib.IMAP4.error as error:
        return "BAD", str(error).encode(), dict(client.untagged_responses)
    return status, data, dict(client.untagged_responses)


def untagged(client, kind):
    """And removes: imaplib's collected untagged responses of one kind."""
    return client.untagged_responses.pop(kind, [])


def fetch_items(client, set_, items, uid=False):
    """FETCH (or UID FETCH): a dict from sequence number to (dict of attribute -> value).
    Literal values are bytes; other values are left as the raw text after the attribute."""
    call = client.uid if uid else None
    result = call("FETCH", set_, items) if uid else client.fetch(set_, items)
    data = ok(result, f"{'UID ' if uid else ''}FETCH {set_} {items}")
    return parse_fetch(data)


def parse_fetch(data):
    """imaplib's FETCH data (a list of bytes and (bytes, literal) tuples) as
    {seq: {ATTR: value}}."""
    messages = {}
    pending = b""
    literals = []
    for part in data:
        if isinstance(part, tuple):
            pending += re.sub(rb"\{\d+\}$", b"", part[0]) + b"\x00LIT%d\x00" % len(literals)
            literals.append(part[1])
            continue
        pending += part
        if pending.endswith(b")"):
            seq, attrs = split_attrs(pending, literals)
            messages[seq] = attrs
            pending = b""
            literals = []
    return messages


def split_attrs(text, literals):
    """One FETCH response's text (literals replaced by markers) as (seq, {ATTR: value})."""
    match = re.match(rb"(\d+) \((.*)\)$", text, re.S)
    if not match:
        raise Failure(f"FAILED: unreadable FETCH response {text!r}")
    seq, body = int(match.group(1)), match.group(2)
    attrs = {}
    at = 0
    while at < len(body):
        name = re.match(rb" ?([A-Z0-9.]+(?:\[[^\]]*\])?(?:<\d+>)?) ", body[at:])
        if not name:
            raise Failure(f"FAILED: unreadable FETCH attribute at {body[at:]!r}")
        key = name.group(1).decode()
        at += name.end()
        value, at = read_value(body, at, literals)
        attrs[key] = value
    return seq, attrs


def read_value(body, at, literals):
    """One value at `at`: a literal marker, a parenthesised list, a quoted string or an atom."""
    marker = re.match(rb"\x00LIT(\d+)\x00", body[at:])
    if marker:
        return literals[int(marker.group(1))], at + marker.end()
    if body[at:at + 1] == b"(":
        depth, end, quoted = 0, at, False
        while end < len(body):
            c = body[end:end + 1]
            if quoted:
                if c == b"\\":
                    end += 1
                elif c == b'"':
                    quoted = False
            elif c == b'"':
                quoted = True
            elif c == b"(":
                depth += 1
            elif c == b")":
                depth -= 1
                if depth == 0:
                    return body[at:end + 1], end + 1
            end += 1
        raise Failure(f"FAILED: unbalanced list in {body!r}")
    if body[at:at + 1] == b'"':
        match = re.match(rb'"((?:[^"\\]|\\.)*)"', body[at:])
        return match.group(1), at + match.end()
    match = re.match(rb"[^ )]+", body[at:])
    return match.group(0), at + match.end()


class Raw:
    """A raw IMAP connection, for what imaplib cannot send (IDLE, pipelining, malformed
    input): bytes in, lines out."""

    def __init__(self, timeout=10):
        self.sock = socket.create_connection((HOST, PORT), timeout=timeout)
        self.buffer = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        """The next line (CRLF kept); b"" when the server closed the connection."""
        while b"\r\n" not in self.buffer:
            try:
                more = self.sock.recv(1 << 16)
            except (ConnectionResetError, socket.timeout):
                more = b""
            if not more:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += more
        end = self.buffer.index(b"\r\n") + 2
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def until(self, tag):
        """Every line up to and including the tagged response of `tag`."""
        lines = []
        prefix = tag.encode() + b" "
        while True:
            line = self.line()
            if not line:
                raise Failure(f"FAILED: connection closed before {tag}'s answer: {lines!r}")
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def tagged(self, tag, command):
        """Sends `tag command` and returns (the tagged line, the untagged lines before it)."""
        self.send(tag.encode() + b" " + command + b"\r\n")
        lines = self.until(tag)
        return lines[-1], lines[:-1]

    def closed(self, within=30):
        """Whether the server closes the connection within `within` seconds (reading and
        dropping what it sends)."""
        self.sock.settimeout(within)
        deadline = time.time() + within
        while time.time() < deadline:
            try:
                if not self.sock.recv(1 << 16):
                    return True
            except ConnectionResetError:
                return True
            except socket.timeout:
                return False
        return False

    def close(self):
        self.sock.close()


def raw_login(user):
    raw = Raw()
    line, _ = raw.tagged("L", b"LOGIN %s %s" % (user.encode(), password(user).encode()))
    check(line.startswith(b"L OK"), f"raw LOGIN {user}", line)
    return raw


def run(main):
    """Runs a script's main, turning a failed check into a message and exit status 1."""
    try:
        main()
    except Failure as failure:
        print(failure)
        sys.exit(1)
    except Exception as error:  # an imaplib error or a crash is a failure too
        import traceback

        traceback.print_exc(file=sys.stdout)
        print(f"FAILED: {type(error).__name__}: {error}")
        sys.exit(1)
    print("all checks passed")
