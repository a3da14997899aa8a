//! A small blocking IMAP client for corvid's background jobs: one connection (std, blocking), one
//! command at a time (or a window of them, driven by the caller), responses cut by
//! corvid-proto's framer and read by its classifier.
//!
//! Used where a thread, not an executor, talks to an IMAP server now and then: the shim's
//! discovery of a backend through an admin login, the proxy's survey of its backends' free
//! space, the demo's seed. Over TCP or a Unix socket (`unix:PATH`); plain text only: these jobs run beside the server, on loopback or a trusted network.
//! Each read waits at most the connection's timeout, and a response message (a line with its
//! literals) may not exceed the connection's limit, so a hostile or stuck server costs a bounded
//! wait and bounded memory.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use corvid_proto::imap::framer::{Frame, Framer, FramerLimits, LineEnd};
use corvid_proto::imap::response::{Response, Status, StatusKind, Untagged, classify};
use corvid_proto::lex::write_quoted;

/// How many bytes of a response an error message quotes.
const QUOTED: usize = 120;

/// Why a command (or the connection) failed.
#[derive(Debug, thiserror::Error)]
pub enum ImapClientError {
    /// The server could not be reached.
    #[error("connecting to {addr}: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The connection failed while waiting for a command's answer.
    #[error("{command}: {source}")]
    Io {
        /// The command (or `greeting`).
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// A read waited longer than the timeout.
    #[error("{command}: no answer within {after:?}")]
    Timeout {
        /// The command (or `greeting`).
        command: String,
        /// The timeout.
        after: Duration,
    },
    /// The server closed the connection.
    #[error("{command}: the server closed the connection")]
    Closed {
        /// The command (or `greeting`).
        command: String,
    },
    /// The server said BYE.
    #[error("{command}: the server said BYE: {text}")]
    Bye {
        /// The command (or `greeting`).
        command: String,
        /// Its text.
        text: String,
    },
    /// The server's bytes do not frame or parse as IMAP responses.
    #[error("{command}: unreadable response {response:?}: {reason}")]
    Malformed {
        /// The command (or `greeting`).
        command: String,
        /// The start of the response.
        response: String,
        /// What is wrong.
        reason: String,
    },
    /// The server refused a command.
    #[error("the server answered {status} to {command}: {text}")]
    Refused {
        /// The command (`LOGIN`, `NAMESPACE`, `LIST`).
        command: String,
        /// NO or BAD.
        status: String,
        /// The status text.
        text: String,
    },
}

impl ImapClientError {
    /// The error for a response `message` to `command` that is not what it should be.
    pub fn malformed(command: &str, message: &[u8], reason: &str) -> ImapClientError {
        let end = message.len().min(QUOTED);
        ImapClientError::Malformed {
            command: command.to_owned(),
            response: String::from_utf8_lossy(message.get(..end).unwrap_or_default()).into_owned(),
            reason: reason.to_owned(),
        }
    }
}

/// The address form of a server on a Unix socket: `unix:/path/to/socket` (as the proxy's
/// `[[backend]] address` takes it).
pub const UNIX_PREFIX: &str = "unix:";

/// A connection over TCP or a Unix socket.
#[derive(Debug)]
enum Connection {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Connection {
    /// Connects to `host:port`, or to the socket of `unix:PATH`.
    fn open(addr: &str, timeout: Duration) -> std::io::Result<Connection> {
        if let Some(path) = addr.strip_prefix(UNIX_PREFIX) {
            let stream = UnixStream::connect(path)?;
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            return Ok(Connection::Unix(stream));
        }
        let mut last = std::io::Error::new(ErrorKind::NotFound, "no address");
        for candidate in addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&candidate, timeout) {
                Ok(stream) => {
                    stream.set_read_timeout(Some(timeout))?;
                    stream.set_write_timeout(Some(timeout))?;
                    stream.set_nodelay(true)?;
                    return Ok(Connection::Tcp(stream));
                }
                Err(error) => last = error,
            }
        }
        Err(last)
    }
}

impl Read for Connection {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Connection::Tcp(stream) => stream.read(buf),
            Connection::Unix(stream) => stream.read(buf),
        }
    }
}

impl Write for Connection {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Connection::Tcp(stream) => stream.write(buf),
            Connection::Unix(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Connection::Tcp(stream) => stream.flush(),
            Connection::Unix(stream) => stream.flush(),
        }
    }
}

/// One connection to an IMAP server.
#[derive(Debug)]
pub struct ImapClient {
    stream: Connection,
    /// Bytes read; those before `pos` are framed.
    buf: Vec<u8>,
    pos: usize,
    framer: Framer,
    next_tag: u64,
    timeout: Duration,
    max_message: usize,
}

impl ImapClient {
    /// Connects to `addr` (`host:port`, or `unix:PATH` for a Unix socket) and reads the
    /// greeting, which must be `* OK`.
    /// Connecting and each later read wait at most `timeout`; a response message may be at
    /// most `max_message` bytes.
    pub fn connect(
        addr: &str,
        timeout: Duration,
        max_message: usize,
    ) -> Result<ImapClient, ImapClientError> {
        let stream =
            Connection::open(addr, timeout).map_err(|source| ImapClientError::Connect {
                addr: addr.to_owned(),
                source,
            })?;
        let limits = FramerLimits {
            max_line: max_message,
            max_literal: max_message as u64,
        };
        let mut client = ImapClient {
            stream,
            buf: Vec::new(),
            pos: 0,
            framer: Framer::new(limits),
            next_tag: 1,
            timeout,
            max_message,
        };
        let greeting = client.read_message("greeting")?;
        match classify(&greeting) {
            Ok((Response::Untagged(Untagged::Status(status)), _))
                if status.kind == StatusKind::Ok =>
            {
                Ok(client)
            }
            _ => Err(ImapClientError::malformed(
                "greeting",
                &greeting,
                "expected * OK",
            )),
        }
    }

    /// `LOGIN name password`, both sent as quoted strings (the caller checks that they are
    /// printable ASCII).
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), ImapClientError> {
        let mut command = b"LOGIN ".to_vec();
        write_quoted(&mut command, user.as_bytes());
        command.push(b' ');
        write_quoted(&mut command, password.as_bytes());
        self.run("LOGIN", &command, |_, _| Ok(()))
    }

    /// Sends `command` and reads up to its tagged answer, which must be OK, handing each
    /// untagged response to `untagged` with its whole message (literals inline); an untagged
    /// BYE fails the command. `name` names the command in errors.
    pub fn run<E: From<ImapClientError>>(
        &mut self,
        name: &str,
        command: &[u8],
        mut untagged: impl FnMut(&Untagged<'_>, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut bytes = Vec::new();
        let tag = self.command(command, &mut bytes);
        self.write(name, &bytes)?;
        loop {
            let message = self.read_message(name)?;
            match classify(&message) {
                Ok((Response::Tagged { tag: got, status }, _)) if got == tag => {
                    return match status.kind {
                        StatusKind::Ok => Ok(()),
                        _ => Err(ImapClientError::Refused {
                            command: name.to_owned(),
                            status: kind_name(status.kind),
                            text: String::from_utf8_lossy(status.text).into_owned(),
                        }
                        .into()),
                    };
                }
                Ok((Response::Untagged(response), _)) => {
                    refuse_bye(name, &response)?;
                    untagged(&response, &message)?;
                }
                Ok(_) => {
                    let error = ImapClientError::malformed(name, &message, "unexpected response");
                    return Err(error.into());
                }
                Err(error) => {
                    let error = ImapClientError::malformed(name, &message, &error.to_string());
                    return Err(error.into());
                }
            }
        }
    }

    /// Appends `tag command CRLF` to `out` and returns the tag, for a caller that keeps
    /// several commands in flight (then [`write`](Self::write) and
    /// [`read_message`](Self::read_message)).
    pub fn command(&mut self, command: &[u8], out: &mut Vec<u8>) -> Vec<u8> {
        let tag = format!("c{}", self.next_tag).into_bytes();
        self.next_tag += 1;
        out.extend_from_slice(&tag);
        out.push(b' ');
        out.extend_from_slice(command);
        out.extend_from_slice(b"\r\n");
        tag
    }

    /// Sends `bytes` (commands made by [`command`](Self::command)); `name` names them in
    /// errors.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), ImapClientError> {
        if bytes.is_empty() {
            return Ok(());
        }
        let result = self.stream.write_all(bytes);
        result.map_err(|source| self.io_error(name, source))
    }

    /// The next whole response message (a line, and any literals and lines that follow it).
    pub fn read_message(&mut self, name: &str) -> Result<Vec<u8>, ImapClientError> {
        let mut message = Vec::new();
        loop {
            match self
                .framer
                .next(self.buf.get(self.pos..).unwrap_or_default())
            {
                Ok(Some(frame)) => {
                    let bytes = frame.bytes();
                    if message.len() + bytes.len() > self.max_message {
                        let error = "response too long";
                        return Err(ImapClientError::malformed(name, &message, error));
                    }
                    message.extend_from_slice(bytes);
                    self.pos += bytes.len();
                    match frame {
                        Frame::Line {
                            then: LineEnd::EndOfMessage,
                            ..
                        } => return Ok(message),
                        Frame::Line { .. } | Frame::LiteralChunk(_) => {}
                        Frame::Discarded(_) => {
                            let error = "discarded by the framer";
                            return Err(ImapClientError::malformed(name, &message, error));
                        }
                    }
                }
                Ok(None) => self.fill(name)?,
                Err(error) => {
                    let error = ImapClientError::malformed(name, &message, &error.to_string());
                    return Err(error);
                }
            }
        }
    }

    /// `LOGOUT`, without waiting for its answer.
    pub fn logout(mut self) {
        let mut command = Vec::new();
        self.command(b"LOGOUT", &mut command);
        let _ = self.stream.write_all(&command);
    }

    /// Reads more bytes, after dropping those already framed.
    fn fill(&mut self, name: &str) -> Result<(), ImapClientError> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        let mut chunk = [0; 16 << 10];
        let read = loop {
            match self.stream.read(&mut chunk) {
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                result => break result,
            }
        };
        match read {
            Ok(0) => Err(ImapClientError::Closed {
                command: name.to_owned(),
            }),
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                Ok(())
            }
            Err(source) => Err(self.io_error(name, source)),
        }
    }

    fn io_error(&self, name: &str, source: std::io::Error) -> ImapClientError {
        let command = name.to_owned();
        match source.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => ImapClientError::Timeout {
                command,
                after: self.timeout,
            },
            _ => ImapClientError::Io { command, source },
        }
    }
}

/// `NO` or `BAD`, as text.
pub fn kind_name(kind: StatusKind) -> String {
    String::from_utf8_lossy(kind.as_bytes()).into_owned()
}

/// Why a command was refused: `GETACL "x": NO text`.
pub fn refusal(command: &str, status: &Status<'_>) -> String {
    let text = String::from_utf8_lossy(status.text);
    format!("{command}: {} {text}", kind_name(status.kind))
}

/// Fails on an untagged BYE; other untagged responses are the caller's.
pub fn refuse_bye(command: &str, response: &Untagged<'_>) -> Result<(), ImapClientError> {
    match response {
        Untagged::Status(status) if status.kind == StatusKind::Bye => Err(ImapClientError::Bye {
            command: command.to_owned(),
            text: String::from_utf8_lossy(status.text).into_owned(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    /// A one-connection server on a Unix socket in `dir` that greets, then answers each
    /// command line `TAG OK done`, or a METADATA line first for GETMETADATA.
    fn unix_server(dir: &std::path::Path) -> String {
        let path = dir.join("imap.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut writer = stream.try_clone().unwrap();
            writer.write_all(b"* OK ready\r\n").unwrap();
            for line in std::io::BufReader::new(stream).lines() {
                let line = line.unwrap();
                let (tag, command) = line.split_once(' ').unwrap();
                if command.starts_with("GETMETADATA") {
                    writer
                        .write_all(b"* METADATA \"\" (/x {3}\r\nabc)\r\n")
                        .unwrap();
                }
                writer
                    .write_all(format!("{tag} OK done\r\n").as_bytes())
                    .unwrap();
            }
        });
        format!("{UNIX_PREFIX}{}", path.display())
    }

    #[test]
    fn a_unix_socket_server_is_reached_and_messages_come_whole() {
        let dir = tempfile::tempdir().unwrap();
        let addr = unix_server(dir.path());
        let mut client = ImapClient::connect(&addr, Duration::from_secs(5), 1024).unwrap();
        client.login("john", "secret").unwrap();
        let mut messages = Vec::new();
        client
            .run("GETMETADATA", b"GETMETADATA \"\" /x", |_, message| {
                messages.push(message.to_vec());
                Ok::<(), ImapClientError>(())
            })
            .unwrap();
        assert_eq!(messages, [b"* METADATA \"\" (/x {3}\r\nabc)\r\n".to_vec()]);
        client.logout();
    }

    #[test]
    fn an_absent_socket_is_a_connect_error_naming_it() {
        let error =
            ImapClient::connect("unix:/nonexistent/imap.sock", Duration::from_secs(1), 1024)
                .unwrap_err();
        assert!(
            matches!(&error, ImapClientError::Connect { addr, .. } if addr == "unix:/nonexistent/imap.sock"),
            "{error}"
        );
    }
}
