//! The master's I/O driver: one glommio executor that moves bytes between sockets, sessions and
//! the disk, and nothing else.
//!
//! A connection task reads into its buffer, hands the bytes to its [`Session`], and writes what
//! the session releases. The committer task takes each batch of accepted changes, appends it to
//! the store on glommio's blocking pool (write and `fdatasync`), marks it durable and wakes the
//! connections: group commit, since every change accepted while one sync runs goes into the
//! next. Password checks run on the blocking pool too. Every socket has `TCP_NODELAY` set.
//!
//! Stopping: the master keeps nothing in memory that is not on disk or about to be, and never
//! answers before the disk, so SIGTERM and SIGKILL are equally safe ways to stop it.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use corvid_proto::mupdate::{Reason, Response, Status};
use event_listener::Event;
use futures_lite::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, future};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutorBuilder, Placement};

use super::auth::{Login, Users};
use super::session::{Action, Session, SessionConfig};
use super::state::Master;
use crate::runtime;
use crate::store::{Recovery, Store, StoreError, write_snapshot};
use crate::table::Base;

/// How the master runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The data directory (snapshots and log).
    pub data_dir: PathBuf,
    /// Who may log in.
    pub users: Users,
    /// What sessions share (banner, limits, output budget).
    pub session: SessionConfig,
    /// Connections beyond this are answered `* BYE "Server Unable"` and closed.
    pub max_connections: usize,
    /// Changes kept for streaming sessions that lag (and, later, for resuming followers).
    pub changes_kept: usize,
    /// A connection silent this long is closed (RFC 3656 asks at least 15 minutes).
    pub idle_timeout: Duration,
    /// Delay before answering a failed login.
    pub failed_login_delay: Duration,
    /// A log segment this large triggers a snapshot (and a new segment), as does an overlay
    /// grown past a fraction of the base.
    pub snapshot_after_bytes: u64,
    /// STARTTLS's configuration (none: STARTTLS is not offered).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Why the master stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store could not be opened.
    #[error("opening the store: {0}")]
    Store(#[from] StoreError),
    /// The listening socket could not be set up.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// The disk refused a commit: the master stops rather than answer without durability.
    #[error("writing the log: {0}")]
    Commit(io::Error),
    /// The executor could not start (io_uring or locked memory).
    #[error("starting the executor: {0}")]
    Executor(String),
}

/// What the tasks of the executor share.
struct Shared {
    config: ServerConfig,
    users: Arc<Users>,
    master: RefCell<Master>,
    /// Notified when changes are accepted: wakes the committer.
    accepted: Event,
    /// Notified when changes become durable: wakes connections with gated output.
    durable: Event,
    connections: Cell<usize>,
    /// Set when a commit failed: every task stops.
    failed: RefCell<Option<io::Error>>,
    /// A snapshot is being built and written.
    snapshotting: Cell<bool>,
    /// A snapshot is on disk: the next commit starts a new log segment.
    rotate: Cell<bool>,
}

/// Runs the master until a commit fails (it never returns otherwise). `ready` is called once
/// the store is recovered and the socket listens, with what recovery found.
pub fn run(
    config: ServerConfig,
    ready: impl FnOnce(&Recovery) + Send + 'static,
) -> Result<(), ServerError> {
    let listener = runtime::bind(config.listen).map_err(|source| ServerError::Listen {
        addr: config.listen,
        source,
    })?;
    let executor = LocalExecutorBuilder::new(Placement::Unbound)
        .name("mupdate")
        .io_memory(runtime::io_memory(1))
        .ring_depth(256)
        .spawn(move || serve(config, listener, ready))
        .map_err(|error| ServerError::Executor(error.to_string()))?;
    executor
        .join()
        .map_err(|error| ServerError::Executor(error.to_string()))?
}

async fn serve(
    config: ServerConfig,
    listener: std::net::TcpListener,
    ready: impl FnOnce(&Recovery),
) -> Result<(), ServerError> {
    let (store, table, recovery) = Store::open(&config.data_dir)?;
    let listener = runtime::into_glommio(listener);
    let shared = Rc::new(Shared {
        users: Arc::new(config.users.clone()),
        master: RefCell::new(Master::new(table, config.changes_kept).with_epoch(recovery.epoch)),
        config,
        accepted: Event::new(),
        durable: Event::new(),
        connections: Cell::new(0),
        failed: RefCell::new(None),
        snapshotting: Cell::new(false),
        rotate: Cell::new(false),
    });
    tracing::info!(
        listen = %shared.config.listen,
        entries = shared.master.borrow().table().len(),
        snapshot_seq = recovery.snapshot_seq,
        replayed = recovery.replayed,
        torn_bytes = recovery.torn_bytes,
        "mupdate master ready"
    );
    ready(&recovery);
    let committer = glommio::spawn_local(commit_loop(shared.clone(), store));
    let acceptor = accept_loop(shared.clone(), listener);
    future::or(committer, acceptor).await
}

async fn accept_loop(shared: Rc<Shared>, listener: TcpListener) -> Result<(), ServerError> {
    loop {
        let stream = runtime::accept(&listener).await;
        let shared = shared.clone();
        glommio::spawn_local(async move {
            if shared.connections.get() >= shared.config.max_connections {
                let mut bye = Vec::new();
                Response::untagged(Status::Bye, Reason::ServerUnable).encode(&mut bye);
                let mut stream = stream;
                let _ = stream.write_all(&bye).await;
                return;
            }
            shared.connections.set(shared.connections.get() + 1);
            let peer = stream.peer_addr().ok();
            if let Err(error) = connection(&shared, stream).await {
                tracing::debug!(?peer, %error, "client connection ended");
            }
            shared.connections.set(shared.connections.get() - 1);
        })
        .detach();
    }
}

/// Appends each batch of accepted changes to the log and makes it durable, one sync at a
/// time; changes accepted meanwhile wait for the next. Starts a snapshot when the log segment
/// or the table's overlay has grown enough.
async fn commit_loop(shared: Rc<Shared>, store: Store) -> Result<(), ServerError> {
    let mut store = Some(store);
    loop {
        let segment_len = store.as_ref().map_or(0, Store::segment_len);
        if !shared.snapshotting.get()
            && !shared.rotate.get()
            && (segment_len > shared.config.snapshot_after_bytes
                || shared.master.borrow().table().wants_rebuild())
        {
            shared.snapshotting.set(true);
            glommio::spawn_local(snapshot(shared.clone())).detach();
        }
        let listener = shared.accepted.listen();
        let batch = shared.master.borrow_mut().take_batch();
        let Some(batch) = batch else {
            listener.await;
            continue;
        };
        let Some(mut owned) = store.take() else {
            return Err(ServerError::Commit(io::Error::other("store lost")));
        };
        // After a snapshot, the batch opens a new segment named by its first change.
        let rotate_at = shared
            .rotate
            .replace(false)
            .then(|| shared.master.borrow().durable_seq() + 1);
        let (owned, result) = glommio::executor()
            .spawn_blocking(move || {
                let rotated = match rotate_at {
                    Some(first) => owned.rotate(first).map_err(io::Error::other),
                    None => Ok(()),
                };
                let result = rotated.and_then(|()| owned.append(&batch.bytes));
                (owned, result.map(|()| batch.through))
            })
            .await;
        store = Some(owned);
        match result {
            Ok(through) => {
                shared.master.borrow_mut().committed(through);
                shared.durable.notify(usize::MAX);
            }
            Err(error) => {
                tracing::error!(%error, "commit failed: stopping the master");
                *shared.failed.borrow_mut() = Some(io::Error::new(error.kind(), error.to_string()));
                shared.durable.notify(usize::MAX);
                return Err(ServerError::Commit(error));
            }
        }
    }
}

/// Folds the table's overlay into a new base on the blocking pool, writes it as a snapshot,
/// installs it, and asks the committer for a new log segment. A failure is logged and
/// retried at a later trigger: the log alone keeps everything durable.
async fn snapshot(shared: Rc<Shared>) {
    let table = shared.master.borrow().table().clone();
    let dir = shared.config.data_dir.clone();
    let started = std::time::Instant::now();
    let built = glommio::executor()
        .spawn_blocking(move || -> Result<Base, StoreError> {
            let base = table.rebuild()?;
            write_snapshot(&dir, &base)?;
            Ok(base)
        })
        .await;
    match built {
        Ok(base) => {
            let (seq, entries) = (base.seq(), base.len());
            let installed = shared.master.borrow_mut().install_base(Arc::new(base));
            shared.rotate.set(true);
            tracing::info!(seq, entries, installed, elapsed = ?started.elapsed(), "snapshot written");
        }
        Err(error) => tracing::error!(%error, "snapshot failed; the log keeps every change"),
    }
    shared.snapshotting.set(false);
}

/// The smallest and largest read from a client.
const MIN_READ: usize = 2 << 10;
const MAX_READ: usize = 64 << 10;

/// What woke a connection.
enum Wake {
    Read(io::Result<usize>),
    Durable,
    Idle,
}

async fn connection(shared: &Shared, mut stream: TcpStream) -> io::Result<()> {
    let config = &shared.config.session;
    let mut session = Session::new(config, false);
    let mut input = Vec::new();
    if converse(shared, &mut session, &mut stream, &mut input).await? == Ended::Closed {
        return Ok(());
    }
    // STARTTLS: anything the client sent after it, before the handshake, could be an
    // injection by someone in the middle: refuse it.
    if !input.is_empty() {
        return Err(io::Error::other("data pipelined after STARTTLS"));
    }
    let Some(tls) = shared.config.tls.clone() else {
        return Err(io::Error::other("STARTTLS without a TLS configuration"));
    };
    let handshake = async { futures_rustls::TlsAcceptor::from(tls).accept(stream).await };
    let mut stream = runtime::with_timeout(
        shared.config.idle_timeout,
        "client stopped reading",
        handshake,
    )
    .await?;
    session.tls_started(config);
    converse(shared, &mut session, &mut stream, &mut input).await?;
    Ok(())
}

/// How a conversation on one stream ended.
#[derive(Debug, PartialEq, Eq)]
enum Ended {
    /// The session is over (LOGOUT, BYE, or the client went away).
    Closed,
    /// The session asked for TLS, and its answer has been sent.
    StartTls,
}

/// Moves bytes between the client and its session until the session ends or asks for TLS.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    shared: &Shared,
    session: &mut Session,
    stream: &mut S,
    input: &mut Vec<u8>,
) -> io::Result<Ended> {
    let config = &shared.config.session;
    let mut output: Vec<u8> = Vec::new();
    // Reads start small, so that an idle connection pins little memory, and grow while the
    // client keeps filling them (a writer pipelining many commands).
    let mut read_size = MIN_READ;
    loop {
        if shared.failed.borrow().is_some() {
            return Ok(Ended::Closed);
        }
        // Take input already buffered, as far as the session can now.
        if session.wants_input(config) && !input.is_empty() {
            let (used, action) = {
                let mut master = shared.master.borrow_mut();
                session.receive(input, &mut master, config)
            };
            input.drain(..used);
            if shared.master.borrow().has_batch() {
                shared.accepted.notify(1);
            }
            match action {
                Some(Action::Verify(login)) => {
                    verify(shared, session, login).await;
                    continue;
                }
                Some(Action::StartTls) => {
                    flush(shared, session, stream).await?;
                    return Ok(Ended::StartTls);
                }
                None if used > 0 => continue,
                None => {}
            }
        }
        // Send what is released.
        {
            let master = shared.master.borrow();
            session.produce(&master, config);
            session.release(master.durable_seq(), &mut output);
        }
        if !output.is_empty() {
            runtime::with_timeout(
                shared.config.idle_timeout,
                "client stopped reading",
                stream.write_all(&output),
            )
            .await?;
            output.clear();
            continue;
        }
        if session.is_closing() && !session.has_output() {
            stream.close().await?;
            return Ok(Ended::Closed);
        }
        // Wait for input, for durability (when output waits on it), or for the idle timeout.
        let waits_on_disk = session.has_output() || session.is_streaming();
        let durable = waits_on_disk.then(|| shared.durable.listen());
        let reading = session.wants_input(config);
        let start = input.len();
        if reading {
            input.resize(start + read_size, 0);
        }
        let wake = {
            let read = async {
                if reading {
                    Wake::Read(stream.read(&mut input[start..]).await)
                } else {
                    future::pending().await
                }
            };
            let durable = async {
                match durable {
                    Some(listener) => {
                        listener.await;
                        Wake::Durable
                    }
                    None => future::pending().await,
                }
            };
            let idle = async {
                glommio::timer::sleep(shared.config.idle_timeout).await;
                Wake::Idle
            };
            future::or(read, future::or(durable, idle)).await
        };
        match wake {
            Wake::Read(Ok(0)) => return Ok(Ended::Closed),
            Wake::Read(Ok(n)) => {
                input.truncate(start + n);
                read_size = match n {
                    n if n == read_size => (read_size * 2).min(MAX_READ),
                    n if n < read_size / 4 => (read_size / 2).max(MIN_READ),
                    _ => read_size,
                };
            }
            Wake::Read(Err(error)) => return Err(error),
            Wake::Durable => input.truncate(start),
            Wake::Idle => {
                input.truncate(start);
                let mut bye = Vec::new();
                Response::untagged(Status::Bye, Reason::IdleTimeout).encode(&mut bye);
                let _ = runtime::with_timeout(
                    shared.config.idle_timeout,
                    "client stopped reading",
                    stream.write_all(&bye),
                )
                .await;
                return Ok(Ended::Closed);
            }
        }
        if input.is_empty() && input.capacity() > 2 * read_size {
            *input = Vec::new();
        }
    }
}

/// Writes everything the session has queued, waiting for the disk where answers need it.
async fn flush<S: AsyncWrite + Unpin>(
    shared: &Shared,
    session: &mut Session,
    stream: &mut S,
) -> io::Result<()> {
    let mut output = Vec::new();
    while session.has_output() {
        let listener = shared.durable.listen();
        session.release(shared.master.borrow().durable_seq(), &mut output);
        if output.is_empty() {
            listener.await;
            continue;
        }
        runtime::with_timeout(
            shared.config.idle_timeout,
            "client stopped reading",
            stream.write_all(&output),
        )
        .await?;
        output.clear();
    }
    Ok(())
}

/// Checks a login on the blocking pool (argon2 is slow), delaying a failure.
async fn verify(shared: &Shared, session: &mut Session, login: Login) {
    let users = shared.users.clone();
    let who = login.authcid().to_string();
    let result = glommio::executor()
        .spawn_blocking(move || users.check(&login))
        .await;
    match &result {
        Ok(identity) => {
            tracing::info!(user = %identity.user, authcid = %who, role = ?identity.role, "login");
        }
        Err(error) => {
            tracing::warn!(authcid = %who, %error, "login failed");
            glommio::timer::sleep(shared.config.failed_login_delay).await;
        }
    }
    session.verified(result, &shared.master.borrow());
}
