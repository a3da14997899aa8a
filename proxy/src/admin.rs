//! The admin endpoint: a tiny read-only HTTP/1.1 server that shows the proxy's [`Stats`] to the
//! NOC, on a thread of its own, off the cores.
//!
//! `GET /metrics` is the Prometheus text ([`Snapshot::prometheus`](crate::stats::Snapshot::prometheus)),
//! `GET /stats` the JSON report ([`Report`](crate::stats::Report)), `GET /` a short index; any
//! other path is 404 and any other method 405. Each connection gets a short-lived thread (at
//! most [`MAX_CONNECTIONS`] at once) and one request (`Connection: close`); a request head is at
//! most [`MAX_HEAD`] bytes and a connection that stalls for [`TIMEOUT`] is dropped. It listens on [`DEFAULT_ADDR`]
//! (127.0.0.1:9143) unless told otherwise: keep it on loopback or a management network.
//!
//! The request reading ([`parse_request`]) and the answer ([`respond`]) are sans-IO; [`spawn`]
//! only moves bytes between them and blocking std sockets.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::stats::{PROMETHEUS_CONTENT_TYPE, Stats};

/// Where the admin endpoint listens unless configured otherwise, and where `corvid stats`
/// looks: 127.0.0.1:9143.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9143));

/// The largest request head (request line and header fields) read: 8 KiB.
pub const MAX_HEAD: usize = 8 * 1024;

/// Connections served at once; more are closed unanswered.
pub const MAX_CONNECTIONS: usize = 16;

/// How long a connection may stall reading its request or taking its answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// The request line of a complete request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The method (`GET`), as sent.
    pub method: &'a [u8],
    /// The path of the request target, without its query (`/metrics`).
    pub path: &'a [u8],
}

/// Why [`parse_request`] returned no request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The head has not ended yet, and what came so far may begin a valid request.
    #[error("incomplete request head")]
    Incomplete,
    /// No continuation can make it a valid HTTP/1.x request.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
}

/// Is `b` a token character (RFC 9110 §5.6.2), as in a method?
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A part of the request line: is it `whole`, or, when it may still grow, a `prefix` of a
/// valid one?
fn part_fits(part: &[u8], open: bool, whole: fn(&[u8]) -> bool, prefix: fn(&[u8]) -> bool) -> bool {
    whole(part) || (open && prefix(part))
}

fn method_whole(m: &[u8]) -> bool {
    !m.is_empty() && m.iter().all(|&b| is_tchar(b))
}

fn method_prefix(m: &[u8]) -> bool {
    m.iter().all(|&b| is_tchar(b))
}

/// An origin-form target (`/path?query`) of visible ASCII.
fn target_whole(t: &[u8]) -> bool {
    t.starts_with(b"/") && t.iter().all(u8::is_ascii_graphic)
}

fn target_prefix(t: &[u8]) -> bool {
    t.is_empty() || target_whole(t)
}

fn version_whole(v: &[u8]) -> bool {
    matches!(v, b"HTTP/1.0" | b"HTTP/1.1")
}

/// A version still growing; its line's CR may have come before the LF.
fn version_prefix(v: &[u8]) -> bool {
    b"HTTP/1.0\r".starts_with(v) || b"HTTP/1.1\r".starts_with(v)
}

/// Reads a request head: `Ok` once it is complete (its empty line came) with a valid request
/// line, [`RequestError::Incomplete`] while every byte so far fits a valid request, and
/// [`RequestError::Malformed`] as soon as one does not. Header fields are not read.
pub fn parse_request(input: &[u8]) -> Result<Request<'_>, RequestError> {
    let line_end = input.iter().position(|&b| b == b'\n');
    let line = match line_end {
        Some(end) => input[..end].strip_suffix(b"\r").unwrap_or(&input[..end]),
        None => input,
    };
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or_default();
    let (target, version) = (parts.next(), parts.next());
    // Only the last part of a line that has not ended may still grow.
    let open = |is_last: bool| line_end.is_none() && is_last;
    if !part_fits(method, open(target.is_none()), method_whole, method_prefix) {
        return Err(RequestError::Malformed("invalid method"));
    }
    if let Some(target) = target
        && !part_fits(target, open(version.is_none()), target_whole, target_prefix)
    {
        return Err(RequestError::Malformed("invalid request target"));
    }
    if let Some(version) = version
        && !part_fits(version, open(true), version_whole, version_prefix)
    {
        return Err(RequestError::Malformed("not HTTP/1.0 or HTTP/1.1"));
    }
    let Some(line_end) = line_end else {
        return Err(RequestError::Incomplete);
    };
    let (Some(target), Some(_)) = (target, version) else {
        return Err(RequestError::Malformed("incomplete request line"));
    };
    // The head ends with an empty line, right after the request line's or a field's end.
    let rest = &input[line_end..];
    let ended = rest.windows(2).any(|w| w == b"\n\n") || rest.windows(3).any(|w| w == b"\n\r\n");
    if !ended {
        return Err(RequestError::Incomplete);
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    Ok(Request { method, path })
}

/// An answer, ready to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (200, 400, 404, 405, 431, 500).
    pub status: u16,
    /// The body's media type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

const TEXT: &str = "text/plain; charset=utf-8";

const INDEX: &str = "corvid proxy admin endpoint\n\
    /metrics  per-core counters and latency histograms, Prometheus text format 0.0.4\n\
    /stats    the same as JSON, per core and in total (read by `corvid stats`)\n";

impl Response {
    fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: TEXT,
            body: body.as_bytes().to_vec(),
        }
    }

    /// The answer to a request head that cannot be read.
    pub fn refusal(error: RequestError) -> Response {
        Response::text(400, &format!("{error}\n"))
    }

    /// The answer to a request head longer than [`MAX_HEAD`].
    pub fn too_large() -> Response {
        Response::text(431, "request head too large\n")
    }

    fn reason(&self) -> &'static str {
        match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            431 => "Request Header Fields Too Large",
            _ => "Internal Server Error",
        }
    }

    /// The answer as written on the wire: status line, header fields, body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let allow = if self.status == 405 {
            "Allow: GET\r\n"
        } else {
            ""
        };
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{allow}\
             Cache-Control: no-store\r\nConnection: close\r\n\r\n",
            self.status,
            self.reason(),
            self.content_type,
            self.body.len(),
        );
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&self.body);
        bytes
    }
}

/// The answer to a request, from the statistics as they are now.
pub fn respond(request: &Request<'_>, stats: &Stats) -> Response {
    if request.method != b"GET" {
        return Response::text(405, "only GET\n");
    }
    match request.path {
        b"/" => Response::text(200, INDEX),
        b"/metrics" => Response {
            status: 200,
            content_type: PROMETHEUS_CONTENT_TYPE,
            body: stats.snapshot().prometheus().to_string().into_bytes(),
        },
        b"/stats" => match serde_json::to_vec(&stats.snapshot().report()) {
            Ok(mut body) => {
                body.push(b'\n');
                Response {
                    status: 200,
                    content_type: "application/json",
                    body,
                }
            }
            Err(error) => Response::text(500, &format!("{error}\n")),
        },
        _ => Response::text(404, "not found: try / for the index\n"),
    }
}

/// The running endpoint: its address, and the way to stop it.
#[derive(Debug)]
pub struct AdminHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

impl AdminHandle {
    /// The address the endpoint listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the endpoint after the connection it is serving, and waits for its thread.
    pub fn shutdown(self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the blocking accept with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        if TcpStream::connect_timeout(&wake, TIMEOUT).is_ok() && self.thread.join().is_err() {
            tracing::error!("the admin endpoint's thread panicked");
        }
    }
}

/// Serves `stats` on `listener` from a new thread named `corvid-admin`.
pub fn spawn(listener: TcpListener, stats: Stats) -> io::Result<AdminHandle> {
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let active = Arc::new(AtomicUsize::new(0));
    let thread = std::thread::Builder::new()
        .name("corvid-admin".to_owned())
        .spawn(move || {
            for connection in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                match connection {
                    Ok(stream) => serve_apart(stream, &stats, &active),
                    Err(error) => {
                        tracing::warn!(%error, "admin endpoint: accept");
                        // Out of descriptors, say: let it pass rather than spin.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })?;
    tracing::info!(%addr, "admin endpoint listening");
    Ok(AdminHandle { addr, stop, thread })
}

/// Serves a connection on a thread of its own, so that a slow one delays no other; beyond
/// [`MAX_CONNECTIONS`] at once, a connection is closed unanswered.
fn serve_apart(stream: TcpStream, stats: &Stats, active: &Arc<AtomicUsize>) {
    if active.fetch_add(1, Ordering::Relaxed) >= MAX_CONNECTIONS {
        active.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!("admin endpoint: too many connections, one closed");
        return;
    }
    let (stats, active) = (stats.clone(), Arc::clone(active));
    let spawned = std::thread::Builder::new()
        .name("corvid-admin-conn".to_owned())
        .spawn(move || {
            if let Err(error) = serve(stream, &stats) {
                tracing::debug!(%error, "admin connection");
            }
            active.fetch_sub(1, Ordering::Relaxed);
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "admin endpoint: no thread for a connection");
    }
}

/// Reads one request from `stream`, answers it and closes.
fn serve(mut stream: TcpStream, stats: &Stats) -> io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let response = loop {
        match parse_request(&head) {
            Ok(request) => break respond(&request, stats),
            Err(RequestError::Incomplete) if head.len() >= MAX_HEAD => break Response::too_large(),
            Err(RequestError::Incomplete) => {}
            Err(error) => break Response::refusal(error),
        }
        let room = (MAX_HEAD - head.len()).min(chunk.len());
        let read = stream.read(&mut chunk[..room])?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&chunk[..read]);
    };
    stream.write_all(&response.to_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Counter;

    const VALID: &[&[u8]] = &[
        b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n",
        b"GET /stats?pretty=1 HTTP/1.0\r\n\r\n",
        b"POST / HTTP/1.1\nContent-Length: 0\n\n",
    ];

    #[test]
    fn every_prefix_of_a_valid_head_is_incomplete() {
        for head in VALID {
            for end in 0..head.len() {
                assert_eq!(
                    parse_request(&head[..end]),
                    Err(RequestError::Incomplete),
                    "{:?}",
                    String::from_utf8_lossy(&head[..end])
                );
            }
        }
    }

    #[test]
    fn valid_heads_parse() {
        let parsed: Vec<_> = VALID.iter().map(|head| parse_request(head)).collect();
        assert_eq!(
            parsed,
            [
                Ok(Request {
                    method: b"GET",
                    path: b"/metrics"
                }),
                Ok(Request {
                    method: b"GET",
                    path: b"/stats"
                }),
                Ok(Request {
                    method: b"POST",
                    path: b"/"
                }),
            ]
        );
    }

    #[test]
    fn garbage_is_malformed_at_once() {
        for garbage in [
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..], // a TLS ClientHello
            b"\0",
            b" GET / HTTP/1.1",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET metrics HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/1.1x",
            b"GET / FTP",
            b"GET /\r\n\r\n",
            b"GET\r\n\r\n",
            b"\r\n\r\n",
            b"GET /\x7f HTTP/1.1",
            b"a1 LOGIN alice secret\r\n",
        ] {
            assert!(
                matches!(parse_request(garbage), Err(RequestError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(garbage)
            );
        }
    }

    #[test]
    fn routes() {
        let stats = Stats::new(1);
        stats.recorder(0).unwrap().count(Counter::LoginsOk);
        let get = |path: &'static [u8]| {
            respond(
                &Request {
                    method: b"GET",
                    path,
                },
                &stats,
            )
        };
        assert_eq!(get(b"/").status, 200);
        let metrics = get(b"/metrics");
        assert_eq!(metrics.content_type, PROMETHEUS_CONTENT_TYPE);
        let text = String::from_utf8(metrics.body).unwrap();
        assert!(text.contains("corvid_proxy_logins_total{core=\"0\",result=\"ok\"} 1\n"));
        let json: serde_json::Value = serde_json::from_slice(&get(b"/stats").body).unwrap();
        assert_eq!(json["total"]["counters"]["logins_ok"], 1);
        assert_eq!(get(b"/nope").status, 404);
        let post = respond(
            &Request {
                method: b"POST",
                path: b"/stats",
            },
            &stats,
        );
        assert_eq!(post.status, 405);
        let wire = String::from_utf8(post.to_bytes()).unwrap();
        assert_eq!(
            wire,
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 9\r\nAllow: GET\r\nCache-Control: no-store\r\nConnection: close\r\n\
             \r\nonly GET\n"
        );
    }
}
