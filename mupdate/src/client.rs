//! A blocking MUPDATE client for tools: `corvid mboxlist`, scripts and tests.
//!
//! One connection, std sockets, a read timeout. Commands are sent with [`Client::command`] (one
//! at a time), [`Client::pipeline`] (many in flight, for loading a table quickly), or
//! [`Client::send`] and [`Client::finish`] for a caller that pipelines its own way (commands are
//! queued and written together when an answer is awaited). Servers (the master, the follower)
//! do not use it: they run on glommio.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use corvid_proto::mupdate::{
    AuthReply, Banner, Command, CommandKind, DecodeError, Decoded, Limits, Record, Response, Status,
};

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed or timed out.
    #[error("master connection: {0}")]
    Io(#[from] io::Error),
    /// The master's bytes do not parse.
    #[error("master sent malformed MUPDATE: {0}")]
    Protocol(#[from] DecodeError),
    /// The master closed the connection.
    #[error("master closed the connection")]
    Closed,
    /// The master refused the login.
    #[error("login refused: {0}")]
    Login(String),
    /// The master said BYE.
    #[error("master said BYE: {0}")]
    Bye(String),
}

/// The answer to one command: its records and its tagged status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Records the command returned (FIND, LIST).
    pub records: Vec<Record>,
    /// OK, NO or BAD.
    pub status: Status,
    /// The status text.
    pub text: String,
}

/// A blocking connection to a MUPDATE server.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Commands sent but not yet written.
    queued: Vec<u8>,
    banner: Banner,
    next_tag: u64,
}

impl Client {
    /// Connects to `addr` (`host:port`) and reads the banner; every read waits at most
    /// `timeout`.
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client, ClientError> {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_nodelay(true)?;
        let mut buffer = Vec::new();
        let banner = read_from(&mut stream, &mut buffer, |input| {
            Banner::decode(input, Limits::default())
        })?;
        Ok(Client {
            stream,
            buffer,
            queued: Vec::new(),
            banner,
            next_tag: 1,
        })
    }

    /// The server's banner.
    pub fn banner(&self) -> &Banner {
        &self.banner
    }

    fn read<T>(
        &mut self,
        decode: impl Fn(&[u8]) -> Result<Decoded<T>, DecodeError>,
    ) -> Result<T, ClientError> {
        read_from(&mut self.stream, &mut self.buffer, decode)
    }

    /// Queues a command; returns its tag. It is written when an answer is next awaited.
    pub fn send(&mut self, kind: CommandKind) -> Vec<u8> {
        let tag = format!("C{}", self.next_tag).into_bytes();
        self.next_tag += 1;
        Command {
            tag: tag.clone(),
            kind,
        }
        .encode(&mut self.queued);
        tag
    }

    /// Writes the commands queued by [`Client::send`] now.
    pub fn flush(&mut self) -> Result<(), ClientError> {
        if !self.queued.is_empty() {
            self.stream.write_all(&self.queued)?;
            self.queued.clear();
        }
        Ok(())
    }

    /// Reads one response (after writing what is queued).
    pub fn read_response(&mut self) -> Result<Response, ClientError> {
        self.flush()?;
        self.read(|input| Response::decode(input, Limits::default()))
    }

    /// Reads the answers up to the tagged status of the command sent as `tag` (records of
    /// earlier commands still unanswered are taken as its own: finish in order).
    pub fn finish(&mut self, tag: &[u8]) -> Result<Reply, ClientError> {
        let mut records = Vec::new();
        loop {
            match self.read_response()? {
                Response::Record { record, .. } => records.push(record),
                Response::Status {
                    tag: Some(got),
                    status,
                    text,
                } if got == tag => {
                    return Ok(Reply {
                        records,
                        status,
                        text: String::from_utf8_lossy(&text).into(),
                    });
                }
                Response::Status {
                    status: Status::Bye,
                    text,
                    ..
                } => return Err(ClientError::Bye(String::from_utf8_lossy(&text).into())),
                // Untagged lines (a corvid master's position reports) and earlier commands'
                // statuses carry nothing here.
                Response::Status { .. } => {}
            }
        }
    }

    /// Logs in with SASL PLAIN, as `user`, acting as `authzid` (empty: as `user`).
    pub fn authenticate(
        &mut self,
        user: &str,
        password: &str,
        authzid: &str,
    ) -> Result<(), ClientError> {
        let message = [authzid.as_bytes(), user.as_bytes(), password.as_bytes()].join(&0u8);
        self.send(CommandKind::Authenticate {
            mechanism: "PLAIN".into(),
            initial_response: Some(message),
        });
        self.flush()?;
        match self.read(|input| AuthReply::decode(input, Limits::default()))? {
            AuthReply::Done(Response::Status {
                status: Status::Ok, ..
            }) => Ok(()),
            AuthReply::Done(Response::Status { text, .. }) => {
                Err(ClientError::Login(String::from_utf8_lossy(&text).into()))
            }
            AuthReply::Done(other) => Err(ClientError::Login(format!("{other:?}"))),
            AuthReply::Challenge(_) => Err(ClientError::Login("unexpected challenge".into())),
        }
    }

    /// Sends one command and reads its answer.
    pub fn command(&mut self, kind: CommandKind) -> Result<Reply, ClientError> {
        let tag = self.send(kind);
        self.finish(&tag)
    }

    /// Sends the commands with up to `window` of them in flight, and returns their answers in
    /// order.
    pub fn pipeline(
        &mut self,
        commands: impl IntoIterator<Item = CommandKind>,
        window: usize,
    ) -> Result<Vec<Reply>, ClientError> {
        let mut in_flight: std::collections::VecDeque<Vec<u8>> = std::collections::VecDeque::new();
        let mut replies = Vec::new();
        for kind in commands {
            if in_flight.len() >= window.max(1)
                && let Some(tag) = in_flight.pop_front()
            {
                replies.push(self.finish(&tag)?);
            }
            in_flight.push_back(self.send(kind));
        }
        for tag in in_flight {
            replies.push(self.finish(&tag)?);
        }
        Ok(replies)
    }

    /// `LOGOUT`, ignoring errors: the connection is done either way.
    pub fn logout(mut self) {
        let _ = self.command(CommandKind::Logout);
    }
}

/// Reads from `stream` into `buffer` until `decode` makes a whole value of its front.
fn read_from<T>(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    decode: impl Fn(&[u8]) -> Result<Decoded<T>, DecodeError>,
) -> Result<T, ClientError> {
    loop {
        if let Decoded::Done { value, consumed } = decode(buffer)? {
            buffer.drain(..consumed);
            return Ok(value);
        }
        let mut chunk = [0u8; 16 << 10];
        match stream.read(&mut chunk)? {
            0 => return Err(ClientError::Closed),
            n => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}
