//! What corvid's glommio servers share: how much io_uring memory each executor may lock, how a
//! single-listener server binds its port (TCP) or its socket file (Unix), how every server
//! accepts a connection, and how a write to a peer that stopped reading is bounded in time;
//! and the coarse deadlines (idle limits) that cost an executor no timer ([`deadlines`]).
//!
//! glommio locks each executor's io_uring buffers in memory, and a process may lock only up to
//! RLIMIT_MEMLOCK (8 MiB on many hosts): an executor asking for more fails to start.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncWrite};
use glommio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

pub mod deadlines;

/// io_uring memory per executor, at most: small, since every executor's is locked memory.
pub const IO_MEMORY: usize = 256 << 10;

/// The least io_uring memory an executor gets.
pub const MIN_IO_MEMORY: usize = 64 << 10;

/// io_uring memory for each of `executors`, so that together they stay within half of the
/// process's locked-memory limit (the rest is left for the rings themselves): 256 KiB each
/// when that fits, less on a many-core host, never below 64 KiB.
pub fn io_memory(executors: usize) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|line| line.starts_with("Max locked memory"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(8 << 20);
    io_memory_within(limit, executors)
}

/// What [`io_memory`] gives each of `executors` under a locked-memory limit of `limit` bytes
/// ("unlimited" reads as `usize::MAX`).
pub fn io_memory_within(limit: usize, executors: usize) -> usize {
    (limit / 2 / executors.max(1)).clamp(MIN_IO_MEMORY, IO_MEMORY)
}

/// How long a port in use is retried at start-up.
const BIND_RETRY: Duration = Duration::from_secs(3);

/// Binds a listening socket as std does: with SO_REUSEADDR and without SO_REUSEPORT.
/// glommio's own bind is the other way round, which would let a second server share the port
/// silently, and would keep a restarted server off the port for a minute after a stop with
/// clients connected (the stopped server's connections linger in TIME_WAIT).
///
/// A port in use is retried for a few seconds: the listening socket of a server that was just
/// killed outlives its process for a moment, until the kernel has torn down its io_uring.
///
/// The accept queue is [`BACKLOG`] long (std asks for 128, which a burst of reconnecting clients
/// overflows; the kernel caps it at `net.core.somaxconn`).
pub fn bind(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let deadline = Instant::now() + BIND_RETRY;
    loop {
        match std::net::TcpListener::bind(addr) {
            Err(error) if error.kind() == io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(listener) => {
                rustix::net::listen(&listener, BACKLOG)?;
                return Ok(listener);
            }
            error => return error,
        }
    }
}

/// The accept queue every corvid listener asks for, as the proxy's own listeners do.
pub const BACKLOG: i32 = 1024;

/// A listening socket from [`bind`], handed to glommio (on the executor that will accept).
#[allow(unsafe_code)]
pub fn into_glommio(listener: std::net::TcpListener) -> TcpListener {
    use std::os::fd::{FromRawFd, IntoRawFd};
    // SAFETY: the descriptor comes from `into_raw_fd`, so it is open, it is a bound and
    // listening TCP socket, and nothing else owns it: glommio's listener takes it over.
    unsafe { TcpListener::from_raw_fd(listener.into_raw_fd()) }
}

/// The next connection on `listener`, with TCP_NODELAY set (replies are small and must not wait
/// for a delayed ACK). A failed accept (out of descriptors, a peer that reset before it was
/// accepted) is logged and retried after a short pause rather than ending the server.
pub async fn accept(listener: &TcpListener) -> TcpStream {
    let stream = retrying(|| listener.accept()).await;
    let _ = stream.set_nodelay(true);
    stream
}

/// Runs `accept` until it succeeds, logging each failure and pausing briefly after it.
async fn retrying<S, F, E>(accept: impl Fn() -> F) -> S
where
    F: Future<Output = Result<S, E>>,
    E: std::fmt::Display,
{
    loop {
        match accept().await {
            Ok(stream) => return stream,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// The mode of a Unix socket file a corvid server creates: its owner and group may connect
/// (connecting takes write permission), nobody else.
pub const UNIX_SOCKET_MODE: u32 = 0o660;

/// Binds a Unix stream socket at `path` (on the executor that will accept) with mode
/// [`UNIX_SOCKET_MODE`]. A socket file left behind by a server that crashed is removed first;
/// one a running server still accepts on is not (`AddrInUse`), and neither is anything that is
/// not a socket (`AlreadyExists`). The caller removes the file at a clean stop.
///
/// (glommio's Unix listener asks for an accept queue of 128, not [`BACKLOG`].)
pub fn bind_unix(path: &Path) -> io::Result<UnixListener> {
    remove_stale_socket(path)?;
    let listener = UnixListener::bind(path).map_err(io::Error::from)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(UNIX_SOCKET_MODE))?;
    Ok(listener)
}

/// Removes the socket file at `path` if no server accepts on it any longer.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket",
        ));
    }
    // A server killed a moment ago may still take connections while the kernel releases its
    // socket (an io_uring's files are dropped after the process is reaped): a socket that
    // accepts is asked again for a while before it counts as live.
    for probe in 0..=STALE_PROBES {
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) if probe < STALE_PROBES => std::thread::sleep(STALE_PROBE_PAUSE),
            Ok(_) => break,
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(path = %path.display(), "removing a stale socket file");
                return std::fs::remove_file(path);
            }
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "a running server accepts on this socket",
    ))
}

/// How many more times a socket that accepted is asked before it counts as live, and the
/// pause between two probes (about 2 s in all).
const STALE_PROBES: u32 = 20;
const STALE_PROBE_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// A listening socket of either kind a corvid server accepts on.
pub enum Listener {
    /// A TCP listener (from [`into_glommio`]).
    Tcp(TcpListener),
    /// A Unix stream listener (from [`bind_unix`]).
    Unix(UnixListener),
}

impl Listener {
    /// The next connection, as [`accept`] takes it (TCP_NODELAY on TCP, failures retried).
    pub async fn accept(&self) -> Stream {
        match self {
            Listener::Tcp(listener) => Stream::Tcp(accept(listener).await),
            Listener::Unix(listener) => Stream::Unix(retrying(|| listener.accept()).await),
        }
    }
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Listener::Tcp(_) => "Listener::Tcp",
            Listener::Unix(_) => "Listener::Unix",
        })
    }
}

/// A connection over TCP or a Unix stream socket: the same bytes either way, so the code that
/// moves them is written once.
pub enum Stream {
    /// Over TCP.
    Tcp(TcpStream),
    /// Over a Unix stream socket (a proxy and a backend on one host).
    Unix(UnixStream),
}

impl Stream {
    /// The peer's address over TCP (a Unix peer has none worth logging).
    pub fn tcp_peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Stream::Tcp(stream) => stream.peer_addr().ok(),
            Stream::Unix(_) => None,
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(stream) => Pin::new(stream).poll_read(cx, buf),
            Stream::Unix(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(stream) => Pin::new(stream).poll_write(cx, buf),
            Stream::Unix(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(stream) => Pin::new(stream).poll_flush(cx),
            Stream::Unix(stream) => Pin::new(stream).poll_flush(cx),
        }
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(stream) => Pin::new(stream).poll_close(cx),
            Stream::Unix(stream) => Pin::new(stream).poll_close(cx),
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Tcp(_) => "Stream::Tcp",
            Stream::Unix(_) => "Stream::Unix",
        })
    }
}

/// Bounds an operation in time (a write to a peer that stopped reading, a handshake): past
/// `limit` it fails with `TimedOut` and the text `what`. An operation that is done at once (a
/// write with room in the socket buffer, the common case) costs no timer: a timer made and
/// dropped per command would cost io_uring timeout and cancel operations on every command.
pub async fn with_timeout<T>(
    limit: Duration,
    what: &'static str,
    operation: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut operation = std::pin::pin!(operation);
    if let Some(done) = futures_lite::future::poll_once(operation.as_mut()).await {
        return done;
    }
    let timeout = async {
        glommio::timer::sleep(limit).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, what))
    };
    futures_lite::future::or(operation, timeout).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_memory_fits_half_the_limit() {
        let limit = 8 << 20;
        assert_eq!(io_memory_within(limit, 3), IO_MEMORY);
        assert_eq!(io_memory_within(limit, 16), IO_MEMORY);
        assert_eq!(io_memory_within(limit, 32), 128 << 10);
        assert_eq!(io_memory_within(limit, 1000), MIN_IO_MEMORY);
        assert_eq!(io_memory_within(usize::MAX, 0), IO_MEMORY);
    }

    #[test]
    fn a_stale_socket_file_is_removed_and_a_live_one_or_a_plain_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imap.sock");
        remove_stale_socket(&path).unwrap();

        // A server that crashed leaves its socket file behind (std does not remove it).
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        remove_stale_socket(&path).unwrap();
        assert!(!path.exists());

        let live = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let error = remove_stale_socket(&path).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse);
        assert!(path.exists());
        drop(live);
        std::fs::remove_file(&path).unwrap();

        std::fs::write(&path, "mail").unwrap();
        let error = remove_stale_socket(&path).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mail");
    }
}
