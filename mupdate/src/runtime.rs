//! What corvid's glommio servers share: how much io_uring memory each executor may lock, how a
//! single-listener server binds its port, how every server accepts a connection, and how a
//! write to a peer that stopped reading is bounded in time; and the coarse deadlines (idle
//! limits) that cost an executor no timer ([`deadlines`]).
//!
//! glommio locks each executor's io_uring buffers in memory, and a process may lock only up to
//! RLIMIT_MEMLOCK (8 MiB on many hosts): an executor asking for more fails to start.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use glommio::net::{TcpListener, TcpStream};

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
    loop {
        match listener.accept().await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return stream;
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
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
}
