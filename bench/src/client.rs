//! One simulated IMAP client on a glommio executor: its connection (plain or TLS) and the
//! steps it runs over it. The bytes it sends and the answers it waits for come from
//! [`crate::imap`]; this module only moves them and keeps time.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::TlsConnector;
use futures_rustls::client::TlsStream;
use glommio::net::TcpStream;
use rustls::pki_types::ServerName;

use crate::imap::{self, Credentials, Event, Replies};
use crate::scenario::Step;

/// How long a connect or a read may take before the step fails.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 4096;

/// What every session against one target shares.
#[derive(Debug)]
pub struct Endpoint {
    /// Where to connect.
    pub addr: SocketAddr,
    /// TLS, with the name to send in SNI; none for plain IMAP.
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    /// The LOGIN arguments.
    pub credentials: Credentials,
}

/// A connection, plain or TLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(stream) => stream.write_all(bytes).await,
            Stream::Tls(stream) => {
                stream.write_all(bytes).await?;
                stream.flush().await
            }
        }
    }

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(stream) => stream.read(buf).await,
            Stream::Tls(stream) => stream.read(buf).await,
        }
    }
}

/// A client: its connection (if open), what it has read and not consumed, and its next tag.
pub struct Client {
    endpoint: Arc<Endpoint>,
    stream: Option<Stream>,
    replies: Replies,
    out: Vec<u8>,
    read_buf: Vec<u8>,
    next_tag: u64,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("addr", &self.endpoint.addr)
            .field("connected", &self.stream.is_some())
            .field("next_tag", &self.next_tag)
            .finish()
    }
}

/// What a step needs beyond the connection.
#[derive(Debug, Clone, Copy)]
pub struct StepArgs<'a> {
    /// The message an `append` sends (its CRLF included).
    pub message: &'a [u8],
    /// When an `idle` ends.
    pub idle_until: Instant,
}

impl Client {
    /// A client of `endpoint`, not connected yet.
    pub fn new(endpoint: Arc<Endpoint>) -> Client {
        Client {
            endpoint,
            stream: None,
            replies: Replies::default(),
            out: Vec::new(),
            read_buf: vec![0; READ_CHUNK],
            next_tag: 1,
        }
    }

    /// Runs `step`; returns when its measured part ended (for `idle`, the server's `+`; for
    /// every other step, the step's end). The error says what went wrong, for the report.
    pub async fn step(&mut self, step: Step, args: StepArgs<'_>) -> Result<Instant, String> {
        match step {
            Step::Connect => self.connect().await.map_err(|e| e.to_string()),
            Step::Close => {
                self.stream = None;
                Ok(Instant::now())
            }
            Step::Append => {
                let tag = self
                    .send(step, args.message.len().saturating_sub(2))
                    .await?;
                self.expect_continuation(&tag).await?;
                self.write(args.message).await?;
                self.completion(&tag).await
            }
            Step::Idle => {
                let tag = self.send(step, 0).await?;
                self.expect_continuation(&tag).await?;
                let idling = Instant::now();
                glommio::timer::sleep(args.idle_until.saturating_duration_since(idling)).await;
                self.write(b"DONE\r\n").await?;
                self.completion(&tag).await?;
                Ok(idling)
            }
            Step::Logout => {
                let tag = self.send(step, 0).await?;
                let done = self.completion(&tag).await;
                self.stream = None;
                done
            }
            _ => {
                let tag = self.send(step, 0).await?;
                self.completion(&tag).await
            }
        }
    }

    async fn connect(&mut self) -> io::Result<Instant> {
        self.stream = None;
        self.replies.reset();
        let tcp = TcpStream::connect_timeout(self.endpoint.addr, IO_TIMEOUT).await?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(IO_TIMEOUT))?;
        let stream = match &self.endpoint.tls {
            None => Stream::Plain(tcp),
            Some((config, name)) => {
                let connector = TlsConnector::from(Arc::clone(config));
                Stream::Tls(Box::new(connector.connect(name.clone(), tcp).await?))
            }
        };
        self.stream = Some(stream);
        match self.wait(None).await.map_err(io::Error::other)? {
            Event::Greeting => Ok(Instant::now()),
            other => Err(io::Error::other(format!("{other:?} for a greeting"))),
        }
    }

    /// Sends the command of `step` under a new tag; returns the tag.
    async fn send(&mut self, step: Step, append_size: usize) -> Result<Vec<u8>, String> {
        let tag = format!("b{}", self.next_tag).into_bytes();
        self.next_tag += 1;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        imap::command(
            &mut out,
            step,
            &tag,
            &self.endpoint.credentials,
            append_size,
        )
        .ok_or_else(|| format!("{step} sends no command"))?;
        let written = self.write(&out).await;
        self.out = out;
        written.map(|()| tag)
    }

    async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let stream = self.stream.as_mut().ok_or("not connected")?;
        stream.write_all(bytes).await.map_err(|e| e.to_string())
    }

    async fn expect_continuation(&mut self, tag: &[u8]) -> Result<(), String> {
        match self.wait(Some(tag)).await? {
            Event::Continuation => Ok(()),
            Event::Completed(Err(text)) => Err(text),
            other => Err(format!("{other:?} instead of a continuation")),
        }
    }

    async fn completion(&mut self, tag: &[u8]) -> Result<Instant, String> {
        match self.wait(Some(tag)).await? {
            Event::Completed(Ok(())) => Ok(Instant::now()),
            Event::Completed(Err(text)) => Err(text),
            other => Err(format!("unexpected {other:?}")),
        }
    }

    /// Reads until the event waited for (see [`Replies::next`]).
    async fn wait(&mut self, tag: Option<&[u8]>) -> Result<Event, String> {
        loop {
            if let Some(event) = self.replies.next(tag).map_err(|e| e.to_string())? {
                return Ok(event);
            }
            let stream = self.stream.as_mut().ok_or("not connected")?;
            let n = stream
                .read(&mut self.read_buf)
                .await
                .map_err(|e| e.to_string())?;
            let Some(read) = self.read_buf.get(..n).filter(|read| !read.is_empty()) else {
                return Err("the target closed the connection".into());
            };
            self.replies.push(read);
        }
    }
}
