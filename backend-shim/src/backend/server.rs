//! The reference backend's I/O driver: one glommio executor that owns the [`Store`], accepts
//! IMAP connections (over TCP, a Unix socket, or both) and moves bytes between each client and
//! its [`Session`].
//!
//! The backend is single-core by design: the store is one `Rc<RefCell<Store>>` that every
//! session uses in turn, with no lock and no copy, and a change one session makes is seen by
//! the others at once. It is still fast, since everything a command touches is in memory (the
//! disk is only written, and read at start): a command costs a parse, a lookup and a write,
//! well under what a proxy spends relaying it.
//!
//! A connection task reads into the executor's scratch buffer, feeds the session, writes what
//! it answered, and carries out its [`Action`]s: a password is checked on glommio's blocking
//! pool (argon2 is slow on purpose), a change of the MUPDATE master is handed to the
//! [`Registrar`] thread and awaited without blocking the executor. After any step that changed
//! the store, every other connection is woken to tell a client in IDLE what changed. Input is
//! bounded (a session consumes what it gathers; a client whose unconsumed input reaches
//! [`READ_LIMIT`] is cut off), output is written before more input is read, and a client that
//! does not take its output within [`WRITE_TIMEOUT`] is cut off. A client silent for the idle
//! timeout is logged out (one coarse [`Deadlines`] expiry per connection, no executor timer:
//! a pending timer would cost every park of the executor a kernel timeout). SIGTERM or
//! SIGINT stops the backend: no new connection is accepted, and each open one gets its
//! pending output and a `BYE`.
//!
//! The Unix socket serves a proxy on the same host (the unified topology): the same IMAP
//! without a TCP/IP stack in between. Its file is made at start (a stale one from a crash is
//! removed first) and removed at a clean stop.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use corvid_mupdate::passwords::PasswordFile;
use corvid_mupdate::runtime;
use corvid_mupdate::runtime::deadlines::{Deadlines, Expiry};
use corvid_mupdate::runtime::{Listener, Stream, with_timeout};
use event_listener::{Event, EventListener};
use futures_lite::{AsyncRead, AsyncWriteExt, future};
use glommio::{LocalExecutorBuilder, Placement};

use super::registrar::{self, Registrar};
use super::session::{Action, Session, SessionConfig};
use super::store::{Store, StoreError};
use crate::shim::AgentConfig;

/// How the backend runs.
#[derive(Debug)]
pub struct BackendConfig {
    /// Where clients connect over TCP, if they do.
    pub listen: Option<SocketAddr>,
    /// The Unix socket a proxy on the same host connects to, if any (mode 0660).
    pub listen_unix: Option<PathBuf>,
    /// The store's directory.
    pub data_dir: PathBuf,
    /// What every session shares.
    pub session: Arc<SessionConfig>,
    /// The users who may log in, and their password hashes; without it every login fails.
    pub passwords: Option<Arc<PasswordFile>>,
    /// The MUPDATE master, this backend's login and placement on it; without it the backend
    /// runs standalone and every change is accepted locally.
    pub mupdate: Option<AgentConfig>,
    /// A client silent this long is logged out (RFC 3501: at least 30 minutes).
    pub idle_timeout: Duration,
}

/// Why the backend stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The store could not be opened.
    #[error("mail store: {0}")]
    Store(#[from] StoreError),
    /// The listener could not be bound.
    #[error("listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
    /// The Unix socket could not be bound.
    #[error("listening on {}: {source}", path.display())]
    ListenUnix {
        /// The socket file's path.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A thread (the executor, the registrar, the signal watcher) could not start or failed.
    #[error("{what}: {message}")]
    Thread {
        /// Which.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// Reads go through the executor's scratch buffer of this size.
const SCRATCH: usize = 16 << 10;

/// A client's unconsumed input never grows past this; a session that consumes nothing of a
/// full buffer has been sent something it cannot take, and the client is cut off.
pub const READ_LIMIT: usize = 64 << 10;

/// A client that takes none of its pending output for this long is cut off.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// At a stop, open connections get this long to take their last output.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Runs the backend until SIGTERM or SIGINT. Logs `listening on ADDR` (and on the socket's
/// path) once it accepts.
pub fn run(config: BackendConfig) -> Result<(), BackendError> {
    let listener = config
        .listen
        .map(|addr| runtime::bind(addr).map_err(|source| BackendError::Listen { addr, source }))
        .transpose()?;
    let stop = Arc::new(Stop::default());
    watch_signals(stop.clone())?;
    let executor = LocalExecutorBuilder::new(Placement::Unbound)
        .name("corvid-backend")
        .io_memory(runtime::io_memory(1))
        .ring_depth(256)
        .spawn(move || serve(config, listener, stop))
        .map_err(|error| BackendError::Thread {
            what: "starting the executor",
            message: error.to_string(),
        })?;
    let registrar = executor.join().map_err(|error| BackendError::Thread {
        what: "the executor",
        message: error.to_string(),
    })??;
    // The executor has dropped its handle: the registrar logs out of the master and ends.
    if let Some(registrar) = registrar {
        let _ = registrar.join();
    }
    tracing::info!("stopped");
    Ok(())
}

/// SIGTERM or SIGINT, raised by the signal thread and awaited by the executor.
#[derive(Debug, Default)]
struct Stop {
    raised: AtomicBool,
    event: Event,
}

impl Stop {
    async fn wait(&self) {
        loop {
            if self.raised.load(Ordering::Acquire) {
                return;
            }
            let listener = self.event.listen();
            if self.raised.load(Ordering::Acquire) {
                return;
            }
            listener.await;
        }
    }
}

/// Raises `stop` at the first SIGTERM or SIGINT; a second one ends the process at once.
fn watch_signals(stop: Arc<Stop>) -> Result<(), BackendError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let failed = |error: io::Error| BackendError::Thread {
        what: "watching SIGTERM and SIGINT",
        message: error.to_string(),
    };
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]).map_err(failed)?;
    std::thread::Builder::new()
        .name("corvid-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if stop.raised.swap(true, Ordering::AcqRel) {
                    tracing::warn!(signal, "second stop signal: exiting now");
                    std::process::exit(1);
                }
                tracing::info!(signal, "stopping: finishing open connections");
                stop.event.notify(usize::MAX);
            }
        })
        .map_err(failed)?;
    Ok(())
}

/// What the connections share.
struct Shared {
    config: BackendConfig,
    store: RefCell<Store>,
    registrar: Option<Registrar>,
    /// Notified when a session changed the store.
    changed: Event,
    /// Notified when the backend stops.
    stopping: Event,
    stopped: Cell<bool>,
    /// Open connections, and the event their count reaching zero raises.
    open: Cell<usize>,
    all_closed: Event,
    scratch: RefCell<Vec<u8>>,
    /// The connections' idle limits.
    deadlines: Deadlines,
}

/// The executor: opens the store, starts the registrar, accepts until stopped, then waits for
/// the connections to finish and removes the Unix socket's file. Returns the registrar thread
/// for the caller to join.
async fn serve(
    config: BackendConfig,
    tcp: Option<std::net::TcpListener>,
    stop: Arc<Stop>,
) -> Result<Option<std::thread::JoinHandle<()>>, BackendError> {
    let store = Store::open(&config.data_dir)?;
    let mut listeners = Vec::new();
    if let Some(listener) = tcp {
        let listener = runtime::into_glommio(listener);
        if let Ok(addr) = listener.local_addr() {
            tracing::info!("listening on {addr}");
        }
        listeners.push(Listener::Tcp(listener));
    }
    let unix_path = config.listen_unix.clone();
    if let Some(path) = &unix_path {
        let listener = runtime::bind_unix(path).map_err(|source| BackendError::ListenUnix {
            path: path.clone(),
            source,
        })?;
        tracing::info!("listening on {}", path.display());
        listeners.push(Listener::Unix(listener));
    }
    let (registrar, registrar_thread) = match &config.mupdate {
        Some(agent) => {
            let snapshot = registrar::backend_view(&store);
            let (registrar, thread) =
                Registrar::spawn(agent.clone(), snapshot).map_err(|error| {
                    BackendError::Thread {
                        what: "starting the registrar",
                        message: error.to_string(),
                    }
                })?;
            (Some(registrar), Some(thread))
        }
        None => {
            tracing::info!("no MUPDATE master: standalone");
            (None, None)
        }
    };
    let shared = Rc::new(Shared {
        config,
        store: RefCell::new(store),
        registrar,
        changed: Event::new(),
        stopping: Event::new(),
        stopped: Cell::new(false),
        open: Cell::new(0),
        all_closed: Event::new(),
        scratch: RefCell::new(vec![0; SCRATCH]),
        deadlines: Deadlines::start(),
    });
    let accepting: Vec<_> = listeners
        .into_iter()
        .map(|listener| glommio::spawn_local(accept_loop(shared.clone(), listener)))
        .collect();
    stop.wait().await;
    // Dropping the accepting tasks cancels them: no new connection from here on.
    drop(accepting);
    shared.stopped.set(true);
    shared.stopping.notify(usize::MAX);
    let all_closed = async {
        while shared.open.get() > 0 {
            let listener = shared.all_closed.listen();
            if shared.open.get() == 0 {
                break;
            }
            listener.await;
        }
    };
    let grace = async { glommio::timer::sleep(STOP_GRACE).await };
    future::or(all_closed, grace).await;
    drop(shared);
    if let Some(path) = unix_path
        && let Err(error) = std::fs::remove_file(&path)
    {
        tracing::warn!(path = %path.display(), %error, "removing the socket file");
    }
    Ok(registrar_thread)
}

async fn accept_loop(shared: Rc<Shared>, listener: Listener) {
    loop {
        let stream = listener.accept().await;
        let shared = shared.clone();
        shared.open.set(shared.open.get() + 1);
        glommio::spawn_local(async move {
            let peer = stream.tcp_peer_addr();
            if let Err(error) = Connection::new(&shared, stream).run().await {
                tracing::debug!(?peer, %error, "connection ended");
            }
            shared.open.set(shared.open.get() - 1);
            if shared.open.get() == 0 {
                shared.all_closed.notify(usize::MAX);
            }
        })
        .detach();
    }
}

/// What woke a waiting connection.
enum Wake {
    /// The client sent bytes (0: it closed).
    Read(io::Result<usize>),
    /// Another session changed the store.
    Changed,
    /// The backend is stopping.
    Stopping,
    /// The idle limit passed (the client may have been active since it was armed).
    Idle,
}

/// One client connection.
struct Connection<'s> {
    shared: &'s Shared,
    stream: Stream,
    session: Session,
    /// The client's bytes the session has not consumed yet.
    input: Vec<u8>,
    /// What the session wrote and the client has not been sent yet.
    output: Vec<u8>,
    /// The store's version this session was last told about.
    seen: u64,
    /// Passes at the idle limit after it was armed.
    idle: Option<Expiry>,
    /// Registered for the next change of the store and for the stop; kept from one wait to the
    /// next until they fire, so that a command costs no listener of its own.
    listeners: Option<(EventListener, EventListener)>,
    /// When the client last sent something.
    active: Instant,
}

impl<'s> Connection<'s> {
    fn new(shared: &'s Shared, stream: Stream) -> Connection<'s> {
        let session = Session::new(shared.config.session.clone());
        let mut output = Vec::new();
        session.greeting(&mut output);
        Connection {
            shared,
            stream,
            session,
            input: Vec::new(),
            output,
            seen: shared.store.borrow().version(),
            idle: None,
            listeners: None,
            active: Instant::now(),
        }
    }

    async fn run(mut self) -> io::Result<()> {
        loop {
            self.write().await?;
            let wake = self.wait().await;
            let version = self.shared.store.borrow().version();
            if version != self.seen {
                self.seen = version;
                self.session
                    .refresh(&mut self.shared.store.borrow_mut(), &mut self.output);
            }
            match wake {
                Wake::Read(Ok(0)) => return Ok(()),
                Wake::Read(Err(error)) => return Err(error),
                Wake::Read(Ok(_)) => {
                    self.active = Instant::now();
                    if !self.feed().await? {
                        return self.close().await;
                    }
                }
                Wake::Changed => {}
                Wake::Stopping => {
                    self.output
                        .extend_from_slice(b"* BYE Server shutting down\r\n");
                    return self.close().await;
                }
                Wake::Idle => {
                    let limit = self.shared.config.idle_timeout;
                    if self.active.elapsed() < limit {
                        self.idle = Some(self.shared.deadlines.at(self.active + limit));
                    } else {
                        self.output
                            .extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                        return self.close().await;
                    }
                }
            }
        }
    }

    /// Feeds the buffered input to the session until it makes no more progress, carrying out
    /// its actions. Returns `false` when the connection is to be closed.
    async fn feed(&mut self) -> io::Result<bool> {
        loop {
            let feed = {
                let mut store = self.shared.store.borrow_mut();
                self.session.feed(&mut store, &self.input, &mut self.output)
            };
            let consumed = feed.consumed.min(self.input.len());
            self.input.drain(..consumed);
            let acted = feed.action.is_some();
            self.announce();
            if !self.act(feed.action).await? {
                return Ok(false);
            }
            if self.input.is_empty() {
                if self.input.capacity() > 0 {
                    self.input = Vec::new();
                }
                return Ok(true);
            }
            if consumed == 0 && !acted {
                if self.input.len() >= READ_LIMIT {
                    self.output.extend_from_slice(b"* BYE Command too long\r\n");
                    return Ok(false);
                }
                return Ok(true);
            }
        }
    }

    /// Carries out `action` and whatever the session asks next. Returns `false` on
    /// [`Action::Close`].
    async fn act(&mut self, mut action: Option<Action>) -> io::Result<bool> {
        while let Some(next) = action.take() {
            self.write().await?;
            action = match next {
                Action::Verify { authcid, password } => {
                    let ok = match &self.shared.config.passwords {
                        Some(file) => {
                            let file = file.clone();
                            let check = glommio::executor()
                                .spawn_blocking(move || file.verify(&authcid, password.as_bytes()));
                            Box::pin(check).await
                        }
                        None => false,
                    };
                    let mut store = self.shared.store.borrow_mut();
                    self.session.verified(&mut store, ok, &mut self.output)
                }
                Action::Master(change) => {
                    let result = match &self.shared.registrar {
                        Some(registrar) => Box::pin(registrar.change(change)).await,
                        None => Ok(()),
                    };
                    let mut store = self.shared.store.borrow_mut();
                    self.session
                        .master_done(&mut store, result, &mut self.output)
                }
                Action::Resume => {
                    let mut store = self.shared.store.borrow_mut();
                    self.session.resume(&mut store, &mut self.output)
                }
                Action::Close => return Ok(false),
            };
            self.announce();
        }
        Ok(true)
    }

    /// If this session changed the store, wakes the others to tell their clients.
    fn announce(&mut self) {
        let version = self.shared.store.borrow().version();
        if version != self.seen {
            self.seen = version;
            self.shared.changed.notify(usize::MAX);
        }
    }

    /// Waits for input, a change of the store, the stop, or the idle limit.
    ///
    /// The idle limit is one expiry per connection, armed once per idle period rather than on
    /// every wait: when it passes after activity, it is armed again for what remains.
    async fn wait(&mut self) -> Wake {
        let shared = self.shared;
        // Listening before the checks below, so that no notification falls between them.
        let (changed, stopping) = self
            .listeners
            .get_or_insert_with(|| (shared.changed.listen(), shared.stopping.listen()));
        if shared.stopped.get() {
            return Wake::Stopping;
        }
        if shared.store.borrow().version() != self.seen {
            return Wake::Changed;
        }
        let limit = shared.config.idle_timeout;
        let idle = self
            .idle
            .get_or_insert_with(|| shared.deadlines.after(limit));
        let (stream, input) = (&mut self.stream, &mut self.input);
        let reading = input.len() < READ_LIMIT;
        let wake = poll_fn(|cx| {
            if reading {
                let mut scratch = shared.scratch.borrow_mut();
                if let Poll::Ready(result) = Pin::new(&mut *stream).poll_read(cx, &mut scratch[..])
                {
                    if let Ok(n) = result {
                        input.extend_from_slice(&scratch[..n]);
                    }
                    return Poll::Ready(Wake::Read(result));
                }
            }
            if Pin::new(&mut *stopping).poll(cx).is_ready() {
                return Poll::Ready(Wake::Stopping);
            }
            if Pin::new(&mut *changed).poll(cx).is_ready() {
                return Poll::Ready(Wake::Changed);
            }
            Pin::new(&mut *idle).poll(cx).map(|_| Wake::Idle)
        })
        .await;
        if matches!(wake, Wake::Changed | Wake::Stopping) {
            // A listener that fired is spent: the next wait registers anew.
            self.listeners = None;
        }
        wake
    }

    /// Writes the pending output, within [`WRITE_TIMEOUT`], and frees its buffer.
    async fn write(&mut self) -> io::Result<()> {
        if self.output.is_empty() {
            return Ok(());
        }
        let write = async {
            self.stream.write_all(&self.output).await?;
            self.stream.flush().await
        };
        with_timeout(WRITE_TIMEOUT, "the client took none of its output", write).await?;
        self.output = Vec::new();
        Ok(())
    }

    /// Writes what is pending and closes the connection.
    async fn close(mut self) -> io::Result<()> {
        self.write().await?;
        self.stream.close().await
    }
}
