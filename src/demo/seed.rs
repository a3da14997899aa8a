//! The demo's first-run seed: john's and jane's INBOXes with a few messages, jane's shared with
//! john, made by logging in to each user's backend directly.
//!
//! The client is the smallest blocking IMAP client that does this: one command at a time,
//! synchronizing literals for APPEND, responses cut by corvid-proto's framer (literals in them
//! skipped, memory bounded) and read by its response classifier.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};
use corvid_proto::imap::framer::{Frame, Framer, LineEnd};
use corvid_proto::imap::response::{Response, StatusKind, Untagged, classify};

/// How long connecting, and then each read, may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A message to append: its flags and its text (LF line ends, sent as CRLF).
struct Message {
    flags: &'static str,
    text: &'static str,
}

/// john's INBOX, on be1.
const JOHN: &[Message] = &[
    Message {
        flags: "(\\Seen)",
        text: "\
From: Corvid Postmaster <postmaster@example.org>
To: John Smith <john@example.org>
Subject: Welcome to the murder
Date: Mon, 02 Nov 2026 09:00:00 +0000
Message-ID: <welcome.john@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello John,

your mailbox lives on be1. Jane's lives on be2, and the proxy makes them
look like one server: try SELECT \"Other Users/jane\".

-- 
The postmaster
",
    },
    Message {
        flags: "()",
        text: "\
From: Jane Doe <jane@example.org>
To: John Smith <john@example.org>
Subject: Lunch on Thursday?
Date: Tue, 03 Nov 2026 11:42:17 +0100
Message-ID: <lunch.3f9a@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

John, are you free for lunch on Thursday? The usual place at 12:30.

Jane
",
    },
];

/// jane's INBOX, on be2.
const JANE: &[Message] = &[
    Message {
        flags: "(\\Seen)",
        text: "\
From: John Smith <john@example.org>
To: Jane Doe <jane@example.org>
Subject: Quarterly report draft
Date: Wed, 04 Nov 2026 16:05:44 +0000
Message-ID: <q3-report.77c1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"=-q3-report-boundary\"

This is a multi-part message in MIME format.

--=-q3-report-boundary
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

Jane,

the draft of the quarterly report is attached: revenue by region.
Could you check the numbers for the north before Friday?

John

--=-q3-report-boundary
Content-Type: text/csv; charset=utf-8; name=\"q3-revenue.csv\"
Content-Disposition: attachment; filename=\"q3-revenue.csv\"
Content-Transfer-Encoding: 7bit

region,revenue
north,412000
south,388500
west,295250

--=-q3-report-boundary--
",
    },
    Message {
        flags: "()",
        text: "\
From: Mail Operations <ops@example.org>
To: Jane Doe <jane@example.org>
Subject: Maintenance window on Saturday
Date: Thu, 05 Nov 2026 08:15:00 +0000
Message-ID: <maintenance.2026-11-07@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The mail servers will be updated on Saturday between 02:00 and 03:00 UTC.
Clients may reconnect once; no mail is lost.
",
    },
    Message {
        flags: "()",
        text: "\
From: Alice Martin <alice@example.net>
To: Jane Doe <jane@example.org>
Subject: Re: Conference talk
Date: Fri, 06 Nov 2026 14:21:09 +0100
Message-ID: <talk.c0ffee@example.net>
In-Reply-To: <talk.1@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Jane, your talk is accepted: Tuesday, 10:30, room B. Slides by Monday please.

Alice
",
    },
];

/// Seeds john's INBOX on the backend at `john_backend` and jane's at `jane_backend`; both log
/// in with `password`.
pub(super) fn seed(john_backend: &str, jane_backend: &str, password: &str) -> anyhow::Result<()> {
    for (user, backend, messages) in [("john", john_backend, JOHN), ("jane", jane_backend, JANE)] {
        let mut client =
            Client::connect(backend).with_context(|| format!("connecting to {backend}"))?;
        client.run(&format!("LOGIN {user} {password}"), None)?;
        for message in messages {
            let text = message.text.replace('\n', "\r\n");
            client.run(
                &format!("APPEND INBOX {}", message.flags),
                Some(text.as_bytes()),
            )?;
        }
        if user == "jane" {
            client.run("SETACL INBOX john lrs", None)?;
        }
        client.run("LOGOUT", None)?;
    }
    Ok(())
}

/// A blocking IMAP client, one command at a time.
struct Client {
    stream: TcpStream,
    /// Bytes read and not yet framed.
    buf: Vec<u8>,
    framer: Framer,
    /// The number in the last tag sent.
    tags: u32,
}

/// What a response message is, as far as the client cares.
enum Reply {
    /// `+`: send the literal.
    Continuation,
    /// The completion of the command tagged `tag`.
    Tagged {
        tag: Vec<u8>,
        kind: StatusKind,
        text: String,
    },
    /// Untagged; its status when it is one (the greeting).
    Untagged(Option<StatusKind>),
}

impl Reply {
    /// Reads the first line of a response message.
    fn of(line: &[u8]) -> anyhow::Result<Reply> {
        Ok(match classify(line) {
            Ok((Response::Continuation { .. }, _)) => Reply::Continuation,
            Ok((Response::Tagged { tag, status }, _)) => Reply::Tagged {
                tag: tag.to_vec(),
                kind: status.kind,
                text: String::from_utf8_lossy(status.text).into_owned(),
            },
            Ok((Response::Untagged(Untagged::Status(status)), _)) => {
                Reply::Untagged(Some(status.kind))
            }
            Ok((Response::Untagged(_), _)) => Reply::Untagged(None),
            // Untagged data the classifier cannot read whole from its first line alone.
            Err(_) if line.starts_with(b"* ") => Reply::Untagged(None),
            Err(error) => bail!(
                "unreadable response {:?}: {error}",
                String::from_utf8_lossy(line.get(..80).unwrap_or(line))
            ),
        })
    }
}

impl Client {
    /// Connects and reads the greeting, which must be OK.
    fn connect(addr: &str) -> anyhow::Result<Client> {
        let addr: SocketAddr = addr.parse()?;
        let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_nodelay(true)?;
        let mut client = Client {
            stream,
            buf: Vec::new(),
            framer: Framer::default(),
            tags: 0,
        };
        match client.next_reply()? {
            Reply::Untagged(Some(StatusKind::Ok)) => Ok(client),
            _ => bail!("{addr} did not greet with OK"),
        }
    }

    /// Sends `command` (with `literal` appended as a synchronizing literal) and waits for its
    /// completion, which must be OK.
    fn run(&mut self, command: &str, literal: Option<&[u8]>) -> anyhow::Result<()> {
        self.tags += 1;
        let tag = format!("s{}", self.tags);
        let verb = command.split(' ').next().unwrap_or(command);
        match literal {
            None => write!(self.stream, "{tag} {command}\r\n")?,
            Some(payload) => {
                write!(self.stream, "{tag} {command} {{{}}}\r\n", payload.len())?;
                loop {
                    match self.next_reply()? {
                        Reply::Continuation => break,
                        Reply::Tagged { kind, text, .. } => bail!("{verb}: {kind:?} {text}"),
                        Reply::Untagged(_) => {}
                    }
                }
                self.stream.write_all(payload)?;
                self.stream.write_all(b"\r\n")?;
            }
        }
        loop {
            if let Reply::Tagged {
                tag: done,
                kind,
                text,
            } = self.next_reply()?
                && done == tag.as_bytes()
            {
                return match kind {
                    StatusKind::Ok => Ok(()),
                    _ => bail!("{verb}: {kind:?} {text}"),
                };
            }
        }
    }

    /// Reads one whole response message and says what it was.
    fn next_reply(&mut self) -> anyhow::Result<Reply> {
        let mut reply = None;
        loop {
            let Some(frame) = self.framer.next(&self.buf)? else {
                self.fill()?;
                continue;
            };
            let used = frame.bytes().len();
            let ended = match frame {
                Frame::Line { bytes, first, then } => {
                    if first {
                        reply = Some(Reply::of(bytes)?);
                    }
                    then == LineEnd::EndOfMessage
                }
                Frame::LiteralChunk(_) | Frame::Discarded(_) => false,
            };
            self.buf.drain(..used);
            if ended {
                return reply.context("a response without its first line");
            }
        }
    }

    /// Reads what the server sent next.
    fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0u8; 16 << 10];
        let read = self.stream.read(&mut chunk)?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        self.buf
            .extend_from_slice(chunk.get(..read).unwrap_or_default());
        Ok(())
    }
}
