//! The proxy's I/O driver: one pinned glommio executor per core, each with its own listeners
//! (SO_REUSEPORT), connections, sessions, backend links and view of the mailbox table; and
//! one more thread for the MUPDATE follower, which fans the table's changes out to the cores.
//!
//! A connection task moves bytes between its client, its [`Session`] and the session's links,
//! and nothing else: it feeds what the sockets delivered, writes what the session produced,
//! and carries out its [`Action`]s. Reads go through a per-core scratch buffer, so an idle
//! connection pins no read buffer; only bytes the session has not consumed yet stay with it.
//! Every TCP socket has `TCP_NODELAY` set. A backend on the same host may be reached over a
//! Unix socket instead of TCP ([`BackendAddress::Unix`]); the bytes and the code that moves
//! them are the same.
//!
//! The cores share nothing on the request path. Each keeps its own [`MailboxTable`] (the
//! archived base is shared read-only through an `Arc`; the overlay is the core's own) and
//! applies the follower's changes from a channel between requests.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use corvid_mupdate::follower::{self, FollowerConfig, Update};
use corvid_mupdate::table::{Base, Change, MailboxTable};
use futures_lite::{AsyncRead, AsyncWrite, AsyncWriteExt, future};
use futures_rustls::TlsAcceptor;
use futures_rustls::server::TlsStream;
use glommio::channels::shared_channel::{
    self, ConnectedReceiver, ConnectedSender, SharedReceiver, SharedSender,
};
use glommio::net::{TcpListener, TcpStream, UnixStream};
use glommio::timer::Timer;
use glommio::{LocalExecutorBuilder, Placement};

use crate::config::BackendAddress;
use crate::failures::FailedLogins;
use crate::master::MasterWriter;
use crate::reload::{Reload, Reloadable, on_sighup};
use crate::session::{Action, LinkId, Session, SessionConfig, TableWait};
use crate::stats::{CoreRecorder, Counter, Gauge, Latency, Stats};
use corvid_mupdate::passwords::PasswordFile;
use corvid_mupdate::runtime::deadlines::{Deadlines, Expiry};
use corvid_mupdate::runtime::{Stream, with_timeout};

/// How the proxy runs.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Plaintext listeners (STARTTLS offered when TLS is configured).
    pub listen: Vec<SocketAddr>,
    /// Implicit-TLS listeners.
    pub listen_tls: Vec<SocketAddr>,
    /// The TLS configuration (certificate and key, re-read on SIGHUP), if any.
    pub tls: Option<Arc<Reloadable<rustls::ServerConfig>>>,
    /// The password file, with [`crate::session::Verify::PasswordFile`] (re-read on SIGHUP).
    pub passwords: Option<Arc<Reloadable<PasswordFile>>>,
    /// Executors (one per core, pinned); 0 means one per CPU.
    pub cores: usize,
    /// Where each backend server is.
    pub backends: HashMap<String, BackendAddress>,
    /// The follower of the MUPDATE master.
    pub follower: FollowerConfig,
    /// What sessions share.
    pub session: SessionConfig,
    /// A client silent this long is logged out (RFC 3501: at least 30 minutes once logged in).
    pub idle_timeout: Duration,
    /// A client silent this long before logging in is dropped.
    pub login_timeout: Duration,
    /// How long a backend connect may take.
    pub connect_timeout: Duration,
    /// A backend that failed is not tried again for this long; the pause doubles with each
    /// failure in a row, up to 30 s.
    pub backend_retry: Duration,
    /// The admin endpoint (`/metrics`, `/stats`), if any.
    pub admin_listen: Option<SocketAddr>,
    /// The free-space survey of the `most-free` placement, when it is the policy.
    pub survey: Option<crate::survey::SurveyConfig>,
}

/// Why the proxy stopped.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The follower's snapshot could not be read.
    #[error("master (follower snapshot): {0}")]
    Snapshot(#[from] corvid_mupdate::store::StoreError),
    /// An executor could not start (io_uring or locked memory).
    #[error("starting executor {core}: {message}")]
    Executor {
        /// Which.
        core: usize,
        /// Why.
        message: String,
    },
    /// A listener could not be bound.
    #[error("client side: listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: io::Error,
    },
}

/// A change to the table, sent from the follower to each core.
enum TableUpdate {
    /// Start again from this base.
    Replace(Arc<Base>),
    /// Apply these changes, numbered up to `seq`.
    Changes(u64, Vec<Change>),
}

/// The cores' overlays are folded into a new base after at least this many changes.
const MIN_FOLD: usize = 4096;

/// How many table updates may wait for a core before it is sent a whole new base instead.
const UPDATE_QUEUE: usize = 1024;

/// A source address with this many failed logins within [`FAILURE_WINDOW`] is refused new
/// connections (counted per core) until the window has passed.
const FAILURES_PER_SOURCE: u32 = 20;

/// See [`FAILURES_PER_SOURCE`].
const FAILURE_WINDOW: Duration = Duration::from_secs(300);

/// How long a CREATE's answer waits for the routing table to show the new mailbox.
const TABLE_WAIT: Duration = Duration::from_secs(5);

/// How long the proxy's own writes to the master wait for an answer.
const MASTER_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads go through a per-core scratch buffer of this size.
const SCRATCH: usize = 16 << 10;

/// Empties `buffer` and frees its memory: an idle session holds no buffer at all. (A busy one
/// allocates a small buffer again for its next bytes, which costs tens of nanoseconds against
/// the tens of microseconds a relayed command costs.)
fn empty(buffer: &mut Vec<u8>) {
    *buffer = Vec::new();
}

/// Frees the memory of an emptied buffer.
fn shrink_if_empty(buffer: &mut Vec<u8>) {
    if buffer.is_empty() && buffer.capacity() > 0 {
        empty(buffer);
    }
}

/// A client's unconsumed input is not allowed to grow past the framer's limit plus this.
const READ_HEADROOM: usize = 16 << 10;

/// Runs the proxy until an executor fails (it never returns otherwise). `ready` is called
/// once every core listens.
pub fn run(config: ProxyConfig, ready: impl FnOnce() + Send + 'static) -> Result<(), ProxyError> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let cores = match config.cores {
        0 => cpus,
        n => n,
    };
    let follower = follower::open(&config.follower)?;
    let initial = Arc::new(
        follower
            .table()
            .rebuild()
            .map_err(corvid_mupdate::store::StoreError::from)?,
    );
    let master = Arc::new(MasterWriter::new(
        config.follower.master.clone(),
        config.follower.credentials.clone(),
        MASTER_TIMEOUT,
    ));
    let config = Arc::new(config);
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..cores)
        .map(|_| shared_channel::new_bounded(UPDATE_QUEUE))
        .unzip();
    let (listening_tx, listening_rx) = std::sync::mpsc::channel::<Result<(), ProxyError>>();
    let stats = Stats::new(cores);
    let io_memory = corvid_mupdate::runtime::io_memory(cores + 1);
    let mut executors = Vec::new();
    for (core, receiver) in receivers.into_iter().enumerate() {
        let recorder = stats.recorder(core).map_err(|error| ProxyError::Executor {
            core,
            message: error.to_string(),
        })?;
        let config = config.clone();
        let initial = initial.clone();
        let listening = listening_tx.clone();
        let master = master.clone();
        let executor = LocalExecutorBuilder::new(Placement::Fixed(core % cpus))
            .name(&format!("corvid-core{core}"))
            .io_memory(io_memory)
            .ring_depth(256)
            .spawn(move || {
                let shared = Shared {
                    config,
                    master,
                    stats: recorder,
                };
                serve_core(core, shared, initial, receiver, listening)
            })
            .map_err(|error| ProxyError::Executor {
                core,
                message: error.to_string(),
            })?;
        executors.push(executor);
    }
    drop(listening_tx);
    for _ in 0..cores {
        match listening_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error),
            Err(_) => break,
        }
    }
    let mut reloadable: Vec<Arc<dyn Reload>> = Vec::new();
    if let Some(tls) = &config.tls {
        reloadable.push(tls.clone());
    }
    if let Some(passwords) = &config.passwords {
        reloadable.push(passwords.clone());
    }
    // The admin endpoint serves until the proxy stops (its handle lives as long as `run`).
    let _admin = match config.admin_listen {
        Some(addr) => {
            let listen = |source| ProxyError::Listen { addr, source };
            let listener = std::net::TcpListener::bind(addr).map_err(listen)?;
            let admin = crate::admin::spawn(listener, stats.clone()).map_err(listen)?;
            tracing::info!(admin = %admin.local_addr(), "admin endpoint (/metrics, /stats)");
            Some(admin)
        }
        None => None,
    };
    // The survey asks until the proxy stops (its handle lives as long as `run`).
    let _survey = match (&config.survey, config.session.placement.free_space()) {
        (Some(survey), Some(free)) => {
            stats.watch_free_space(free.clone());
            let spawned = crate::survey::spawn(survey.clone(), free.clone());
            Some(spawned.map_err(|error| ProxyError::Executor {
                core: cores,
                message: format!("free-space survey: {error}"),
            })?)
        }
        _ => None,
    };
    tracing::debug!(io_memory, "io_uring memory per executor");
    on_sighup(reloadable).map_err(|error| ProxyError::Executor {
        core: cores,
        message: format!("SIGHUP handler: {error}"),
    })?;
    let follower_config = config.follower.clone();
    let follower_thread = LocalExecutorBuilder::new(Placement::Unbound)
        .name("corvid-follower")
        .io_memory(io_memory)
        .ring_depth(64)
        .spawn(move || follow(follower, follower_config, senders))
        .map_err(|error| ProxyError::Executor {
            core: cores,
            message: error.to_string(),
        })?;
    tracing::info!(cores, listen = ?config.listen, listen_tls = ?config.listen_tls, "proxy ready");
    ready();
    for executor in executors {
        executor.join().map_err(|error| ProxyError::Executor {
            core: 0,
            message: error.to_string(),
        })?;
    }
    let _ = follower_thread.join();
    Ok(())
}

/// The follower's thread: keeps the table in step and sends each batch of changes to every
/// core. A core whose queue is full is sent a whole new base once it has room again.
async fn follow(
    follower: follower::Follower,
    config: FollowerConfig,
    senders: Vec<SharedSender<TableUpdate>>,
) {
    let mut connected: Vec<ConnectedSender<TableUpdate>> = Vec::new();
    for sender in senders {
        connected.push(sender.connect().await);
    }
    let mut behind = vec![false; connected.len()];
    // Changes sent since the cores last got a whole base: their overlays hold them all.
    let mut in_overlays = 0usize;
    let follower = Rc::new(RefCell::new(follower));
    follower::run(follower, config, move |follower, updates| {
        let table = follower.table();
        in_overlays += updates.len();
        // Overlays grown past an eighth of the base are folded into a new base for every core
        // (built once, here, off the cores).
        let fold = in_overlays > (table.len() / 8).max(MIN_FOLD);
        let replaced = updates.contains(&Update::Replaced) || fold;
        if replaced {
            in_overlays = 0;
        }
        let changes: Vec<Change> = updates
            .iter()
            .filter_map(|update| match update {
                Update::Changed(change) => Some(change.clone()),
                Update::Replaced => None,
            })
            .collect();
        let mut fresh: Option<Arc<Base>> = None;
        let mut base = || -> Option<Arc<Base>> {
            if fresh.is_none() {
                fresh = table.rebuild().ok().map(Arc::new);
            }
            fresh.clone()
        };
        for (core, sender) in connected.iter().enumerate() {
            let update = if replaced || behind[core] {
                match base() {
                    Some(base) => TableUpdate::Replace(base),
                    None => continue,
                }
            } else {
                TableUpdate::Changes(table.seq(), changes.clone())
            };
            behind[core] = sender.try_send(update).is_err();
        }
    })
    .await;
}

/// A backend marked down: not tried before `until`; the next failure doubles `pause`.
struct Down {
    until: Instant,
    pause: Duration,
}

/// The longest a failed backend is left alone before it is tried again.
const MAX_BACKEND_RETRY: Duration = Duration::from_secs(30);

/// What the connections of one core share.
struct Core {
    index: usize,
    config: Arc<ProxyConfig>,
    session: Rc<SessionConfig>,
    table: RefCell<MailboxTable>,
    scratch: RefCell<Vec<u8>>,
    stats: CoreRecorder,
    /// Backends that failed, and when they may be tried again.
    down: RefCell<HashMap<Box<str>, Down>>,
    /// Failed logins by source address.
    failures: RefCell<FailedLogins>,
    /// The proxy's writes to the master (shared by the cores).
    master: Arc<MasterWriter>,
    /// Notified whenever the table changed.
    table_changed: event_listener::Event,
    /// The connections' idle limits (no executor timer: see [`Connection::wait`]).
    deadlines: Deadlines,
}

/// What a core is given by the process.
struct Shared {
    config: Arc<ProxyConfig>,
    master: Arc<MasterWriter>,
    stats: CoreRecorder,
}

async fn serve_core(
    index: usize,
    shared: Shared,
    initial: Arc<Base>,
    updates: SharedReceiver<TableUpdate>,
    listening: std::sync::mpsc::Sender<Result<(), ProxyError>>,
) {
    let Shared {
        config,
        master,
        stats,
    } = shared;
    let core = Rc::new(Core {
        index,
        session: Rc::new(config.session.clone()),
        table: RefCell::new(MailboxTable::new(initial)),
        scratch: RefCell::new(vec![0; SCRATCH]),
        stats,
        down: RefCell::new(HashMap::new()),
        failures: RefCell::new(FailedLogins::new(FAILURES_PER_SOURCE, FAILURE_WINDOW)),
        master,
        table_changed: event_listener::Event::new(),
        deadlines: Deadlines::start(),
        config,
    });
    let mut listeners = Vec::new();
    let plain = core.config.listen.iter().map(|addr| (*addr, false));
    let tls = core.config.listen_tls.iter().map(|addr| (*addr, true));
    for (addr, implicit_tls) in plain.chain(tls) {
        match TcpListener::bind(addr) {
            Ok(listener) => listeners.push((listener, implicit_tls)),
            Err(error) => {
                let source = io::Error::other(error.to_string());
                let _ = listening.send(Err(ProxyError::Listen { addr, source }));
                return;
            }
        }
    }
    let _ = listening.send(Ok(()));
    let updater = glommio::spawn_local(apply_updates(core.clone(), updates));
    let mut tasks = vec![updater];
    for (listener, implicit_tls) in listeners {
        tasks.push(glommio::spawn_local(accept_loop(
            core.clone(),
            listener,
            implicit_tls,
        )));
    }
    for task in tasks {
        task.await;
    }
}

/// Applies the follower's updates to this core's table.
async fn apply_updates(core: Rc<Core>, updates: SharedReceiver<TableUpdate>) {
    let updates: ConnectedReceiver<TableUpdate> = updates.connect().await;
    while let Some(update) = updates.recv().await {
        let mut table = core.table.borrow_mut();
        match update {
            TableUpdate::Replace(base) => *table = MailboxTable::new(base),
            TableUpdate::Changes(seq, changes) => {
                for change in changes {
                    table.apply(seq, change);
                }
            }
        }
        core.table_changed.notify(usize::MAX);
    }
}

/// Waits until this core's table shows `wait`, or [`TABLE_WAIT`] has passed.
async fn await_table(core: &Core, wait: &TableWait) {
    let shown = || wait.shown_by(&core.table.borrow());
    let appeared = async {
        while !shown() {
            let listener = core.table_changed.listen();
            if shown() {
                break;
            }
            listener.await;
        }
    };
    let timeout = async {
        glommio::timer::sleep(TABLE_WAIT).await;
        tracing::warn!(?wait, after = ?TABLE_WAIT, "the table does not show a mailbox change yet; answering anyway");
    };
    future::or(appeared, timeout).await;
}

async fn accept_loop(core: Rc<Core>, listener: TcpListener, implicit_tls: bool) {
    loop {
        let stream = corvid_mupdate::runtime::accept(&listener).await;
        let core = core.clone();
        core.stats.count(Counter::ConnectionsAccepted);
        core.stats.raise(Gauge::ConnectionsOpen);
        glommio::spawn_local(async move {
            let peer = stream.peer_addr().ok();
            let source = peer.map(|peer| peer.ip());
            if source.is_some_and(|ip| core.failures.borrow().is_blocked(ip, Instant::now())) {
                core.stats.count(Counter::HostileCloses);
                let mut stream = stream;
                let _ = stream
                    .write_all(b"* BYE Too many failed logins from your address; try later\r\n")
                    .await;
                core.stats.lower(Gauge::ConnectionsOpen);
                return;
            }
            if let Err(error) = connection(&core, stream, implicit_tls, source).await {
                tracing::debug!(?peer, core = core.index, %error, "client connection ended");
            }
            core.stats.lower(Gauge::ConnectionsOpen);
        })
        .detach();
    }
}

/// A client connection, plain or TLS.
enum ClientStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Between the plain stream and its TLS successor.
    Closed,
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Tls(s) => Pin::new(s).poll_read(cx, buf),
            ClientStream::Closed => Poll::Ready(Ok(0)),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Tls(s) => Pin::new(s).poll_write(cx, buf),
            ClientStream::Closed => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Tls(s) => Pin::new(s).poll_flush(cx),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(s) => Pin::new(s).poll_close(cx),
            ClientStream::Tls(s) => Pin::new(s).poll_close(cx),
            ClientStream::Closed => Poll::Ready(Ok(())),
        }
    }
}

/// A link's connection (TCP, or Unix to a backend on this host) and its unconsumed input.
struct LinkStream {
    stream: Stream,
    input: Vec<u8>,
}

/// What woke a connection task.
enum Wake {
    Client(io::Result<usize>),
    Link(LinkId, io::Result<usize>),
    /// The session's own deadline passed.
    Deadline,
    /// The idle limit passed (the client may have been active since it was armed).
    Idle,
}

/// Raises a per-core gauge for as long as it lives.
struct Raised<'a> {
    stats: &'a CoreRecorder,
    gauge: Gauge,
}

impl<'a> Raised<'a> {
    fn new(stats: &'a CoreRecorder, gauge: Gauge) -> Raised<'a> {
        stats.raise(gauge);
        Raised { stats, gauge }
    }
}

impl Drop for Raised<'_> {
    fn drop(&mut self) {
        self.stats.lower(self.gauge);
    }
}

/// One client connection: its stream, its session, its links, and the bytes in between.
struct Connection<'c> {
    core: &'c Core,
    client: ClientStream,
    /// Counts the connection among the TLS ones once TLS is up.
    tls: Option<Raised<'c>>,
    /// Counts the session among those in IDLE while it is.
    idling: Option<Raised<'c>>,
    session: Session,
    /// The client's bytes the session has not consumed yet.
    input: Vec<u8>,
    links: Vec<Option<LinkStream>>,
    /// The client's address, for failed-login accounting.
    source: Option<IpAddr>,
    /// Passes at the idle limit after it was armed (see [`Connection::wait`]).
    idle: Option<Expiry>,
    /// When the client last sent something.
    active: Instant,
}

/// What a step of the connection decided.
enum Next {
    Continue,
    Done,
}

async fn connection(
    core: &Core,
    stream: TcpStream,
    implicit_tls: bool,
    source: Option<IpAddr>,
) -> io::Result<()> {
    let (client, tls) = if implicit_tls {
        let stream = Box::pin(tls_accept(core, stream)).await?;
        (
            ClientStream::Tls(Box::new(stream)),
            Some(Raised::new(&core.stats, Gauge::ConnectionsTls)),
        )
    } else {
        (ClientStream::Plain(stream), None)
    };
    let mut connection = Connection {
        core,
        client,
        tls,
        idling: None,
        session: Session::new(core.session.clone(), implicit_tls),
        input: Vec::new(),
        links: Vec::new(),
        source,
        idle: None,
        active: Instant::now(),
    };
    loop {
        connection.feed();
        if let Next::Done = connection.act().await? {
            return Ok(());
        }
        if let Next::Done = connection.flush().await? {
            return Ok(());
        }
        if connection.session.has_actions() || !connection.session.client_output().is_empty() {
            continue;
        }
        if let Next::Done = connection.wait().await? {
            return Ok(());
        }
    }
}

impl Connection<'_> {
    /// Feeds what is buffered to the session, as far as it takes it.
    fn feed(&mut self) {
        let now = Instant::now();
        let table = self.core.table.borrow();
        loop {
            let mut progress = false;
            if !self.input.is_empty() && self.session.wants_client_input() {
                let used = self.session.client_input(&self.input, &table, now);
                self.input.drain(..used);
                progress |= used > 0;
            }
            for (id, link) in self.links.iter_mut().enumerate() {
                if let Some(link) = link
                    && !link.input.is_empty()
                {
                    let used = self.session.link_input(id, &link.input, &table, now);
                    link.input.drain(..used);
                    progress |= used > 0;
                }
            }
            if !progress {
                break;
            }
        }
        let idling = self.session.is_idling();
        if idling != self.idling.is_some() {
            self.idling = idling.then(|| Raised::new(&self.core.stats, Gauge::SessionsIdle));
        }
    }

    /// Carries out the session's actions.
    async fn act(&mut self) -> io::Result<Next> {
        let stats = &self.core.stats;
        while let Some(action) = self.session.next_action() {
            match action {
                Action::Connect { link, server } => {
                    while self.links.len() <= link {
                        self.links.push(None);
                    }
                    // Rare and large futures are boxed, so that the connection's own future
                    // (which every idle session keeps) stays small.
                    match Box::pin(connect(self.core, &server)).await {
                        Ok(stream) => {
                            stats.count(Counter::BackendConnectsOk);
                            self.links[link] = Some(LinkStream {
                                stream,
                                input: Vec::new(),
                            });
                            self.session.link_connected(link);
                        }
                        Err(error) => {
                            stats.count(Counter::BackendConnectsFailed);
                            self.session
                                .link_failed(link, &error.to_string(), Instant::now());
                        }
                    }
                }
                Action::CloseLink(link) => {
                    if let Some(slot) = self.links.get_mut(link) {
                        *slot = None;
                    }
                }
                Action::StartTls => {
                    self.write_client().await?;
                    if !self.input.is_empty() {
                        stats.count(Counter::HostileCloses);
                        return Err(io::Error::other(
                            "client side: data pipelined after STARTTLS",
                        ));
                    }
                    let ClientStream::Plain(stream) =
                        std::mem::replace(&mut self.client, ClientStream::Closed)
                    else {
                        return Err(io::Error::other("client side: STARTTLS under TLS"));
                    };
                    self.client =
                        ClientStream::Tls(Box::new(Box::pin(tls_accept(self.core, stream)).await?));
                    self.tls = Some(Raised::new(stats, Gauge::ConnectionsTls));
                    self.session.tls_started();
                }
                Action::Close => {
                    self.write_client().await?;
                    let _ = self.client.close().await;
                    return Ok(Next::Done);
                }
                Action::CheckPassword { user, password } => {
                    let ok = match &self.core.config.passwords {
                        Some(file) => {
                            let file = file.get();
                            let check = glommio::executor()
                                .spawn_blocking(move || file.verify(&user, &password.0));
                            Box::pin(check).await
                        }
                        None => false,
                    };
                    self.session.password_checked(ok, Instant::now());
                }
                Action::Command(kind) => stats.command(kind),
                Action::Refused { hostile } => {
                    stats.count(Counter::BadCommands);
                    if hostile {
                        stats.count(Counter::HostileCloses);
                    }
                }
                Action::LoginFailed => {
                    stats.count(Counter::LoginsFailed);
                    if let Some(source) = self.source {
                        self.core
                            .failures
                            .borrow_mut()
                            .failed(source, Instant::now());
                    }
                }
                Action::LoggedIn { took } => {
                    stats.count(Counter::LoginsOk);
                    stats.record(Latency::Login, took);
                }
                Action::Relayed { took } => stats.record(Latency::CommandRelay, took),
                Action::Master(command) => {
                    let master = self.core.master.clone();
                    let write = glommio::executor().spawn_blocking(move || master.write(command));
                    let result = Box::pin(write).await;
                    self.session.master_answered(result, Instant::now());
                }
                Action::AwaitTable(wait) => {
                    Box::pin(await_table(self.core, &wait)).await;
                    self.session.table_caught_up();
                }
                Action::Journal(op) => {
                    let data_dir = self.core.config.follower.state_dir.clone();
                    let carry_out = glommio::executor().spawn_blocking(move || {
                        crate::journal::carry_out(data_dir.as_deref(), &op)
                    });
                    let result = Box::pin(carry_out).await.map_err(|error| error.to_string());
                    self.session.journal_done(result, Instant::now());
                }
            }
        }
        Ok(Next::Continue)
    }

    /// Writes what the session produced: to the links first (commands), then the client.
    async fn flush(&mut self) -> io::Result<Next> {
        let config = &self.core.config;
        for (id, link) in self.links.iter_mut().enumerate() {
            let Some(link) = link else { continue };
            let Some(output) = self.session.link_output(id) else {
                continue;
            };
            if output.is_empty() {
                continue;
            }
            let written = with_timeout(
                config.idle_timeout,
                "backend side: write",
                link.stream.write_all(output),
            )
            .await;
            self.core
                .stats
                .add(Counter::BackendWrittenBytes, output.len() as u64);
            empty(output);
            if let Err(error) = written {
                self.session
                    .link_failed(id, &error.to_string(), Instant::now());
            }
        }
        self.write_client().await?;
        Ok(if self.session.is_closed() {
            Next::Done
        } else {
            Next::Continue
        })
    }

    /// Writes the client's output and empties it (freeing a large buffer).
    async fn write_client(&mut self) -> io::Result<()> {
        let output = self.session.client_output();
        if output.is_empty() {
            return Ok(());
        }
        let limit = self.core.config.idle_timeout;
        with_timeout(limit, "client side: write", self.client.write_all(output)).await?;
        with_timeout(limit, "client side: flush", self.client.flush()).await?;
        self.core
            .stats
            .add(Counter::ClientWrittenBytes, output.len() as u64);
        empty(output);
        Ok(())
    }

    /// Waits for a socket, the session's own deadline, or the idle limit, and hands over what
    /// happened.
    ///
    /// The idle limit is one coarse expiry per connection ([`Deadlines`]), armed once per idle
    /// period rather than on every wait: when it passes after activity, it is armed again for
    /// what remains. It is no executor timer: while any timer is pending, glommio arms and
    /// cancels an io_uring timeout on every park, which a relayed command pays twice.
    async fn wait(&mut self) -> io::Result<Next> {
        let config = &self.core.config;
        let limit = config.session.limits.max_line + READ_HEADROOM;
        let reading_client = self.session.wants_client_input() && self.input.len() < limit;
        let idle_limit = if self.session.is_authenticated() {
            config.idle_timeout
        } else {
            config.login_timeout
        };
        let wake = {
            let (core, client, input, links) = (
                self.core,
                &mut self.client,
                &mut self.input,
                &mut self.links,
            );
            let idle = self
                .idle
                .get_or_insert_with(|| core.deadlines.after(idle_limit));
            // A session deadline (a failed login's delay) is rare: its timer is made only then.
            let mut deadline = self
                .session
                .deadline()
                .map(|at| Timer::new(at.saturating_duration_since(Instant::now())));
            poll_fn(|cx| {
                if let Poll::Ready(wake) =
                    poll_sockets(cx, core, client, reading_client, input, links, limit)
                {
                    return Poll::Ready(wake);
                }
                if let Some(timer) = &mut deadline
                    && Pin::new(timer).poll(cx).is_ready()
                {
                    return Poll::Ready(Wake::Deadline);
                }
                Pin::new(&mut *idle).poll(cx).map(|_| Wake::Idle)
            })
            .await
        };
        let now = Instant::now();
        match wake {
            Wake::Client(Ok(0)) | Wake::Client(Err(_)) => {
                self.session.client_closed();
                return Ok(Next::Done);
            }
            Wake::Client(Ok(_)) => self.active = now,
            Wake::Link(_, Ok(1..)) => {}
            Wake::Link(id, Ok(0)) => self.link_lost(id, "backend closed the connection", now),
            Wake::Link(id, Err(error)) => self.link_lost(id, &error.to_string(), now),
            Wake::Deadline => self.session.on_timer(now),
            Wake::Idle => {
                let idle_for = now.saturating_duration_since(self.active);
                if idle_for < idle_limit {
                    self.idle = Some(self.core.deadlines.at(self.active + idle_limit));
                } else {
                    self.session
                        .client_output()
                        .extend_from_slice(b"* BYE Autologout; idle for too long\r\n");
                    self.write_client().await?;
                    return Ok(Next::Done);
                }
            }
        }
        shrink_if_empty(&mut self.input);
        for link in self.links.iter_mut().flatten() {
            shrink_if_empty(&mut link.input);
        }
        Ok(Next::Continue)
    }

    /// A link's connection ended or failed under it.
    fn link_lost(&mut self, id: LinkId, reason: &str, now: Instant) {
        self.core.stats.count(Counter::BackendSessionsLost);
        self.session.link_failed(id, reason, now);
    }
}

/// Polls the client (if `reading_client`) and every link for input, through the core's
/// scratch buffer; what arrived is appended to the source's own buffer.
fn poll_sockets(
    cx: &mut Context<'_>,
    core: &Core,
    client: &mut ClientStream,
    reading_client: bool,
    input: &mut Vec<u8>,
    links: &mut [Option<LinkStream>],
    limit: usize,
) -> Poll<Wake> {
    let mut scratch = core.scratch.borrow_mut();
    for (id, link) in links.iter_mut().enumerate() {
        let Some(link) = link else { continue };
        if link.input.len() >= limit {
            continue;
        }
        if let Poll::Ready(result) = Pin::new(&mut link.stream).poll_read(cx, &mut scratch[..]) {
            if let Ok(n) = result {
                link.input.extend_from_slice(&scratch[..n]);
                core.stats.add(Counter::BackendReadBytes, n as u64);
            }
            return Poll::Ready(Wake::Link(id, result));
        }
    }
    if reading_client && let Poll::Ready(result) = Pin::new(client).poll_read(cx, &mut scratch[..])
    {
        if let Ok(n) = result {
            input.extend_from_slice(&scratch[..n]);
            core.stats.add(Counter::ClientReadBytes, n as u64);
        }
        return Poll::Ready(Wake::Client(result));
    }
    Poll::Pending
}

/// Runs a server-side TLS handshake with the current certificate, bounded in time.
async fn tls_accept(core: &Core, stream: TcpStream) -> io::Result<TlsStream<TcpStream>> {
    let config = &core.config;
    let tls = config
        .tls
        .as_ref()
        .ok_or_else(|| io::Error::other("no TLS configuration"))?;
    let accept = TlsAcceptor::from(tls.get()).accept(stream);
    let result = with_timeout(config.login_timeout, "client side: TLS handshake", accept).await;
    if result.is_err() {
        core.stats.count(Counter::TlsHandshakeFailures);
    }
    result
}

/// Connects to a backend server, unless it failed a moment ago.
async fn connect(core: &Core, server: &str) -> io::Result<Stream> {
    if let Some(down) = core.down.borrow().get(server)
        && Instant::now() < down.until
    {
        return Err(io::Error::other("marked down after a recent failure"));
    }
    let Some(addr) = core.config.backends.get(server) else {
        return Err(io::Error::other(format!(
            "no address configured for server {server}"
        )));
    };
    let limit = core.config.connect_timeout;
    let connected = match addr {
        BackendAddress::Tcp(addr) => TcpStream::connect_timeout(*addr, limit)
            .await
            .map(|stream| {
                let _ = stream.set_nodelay(true);
                Stream::Tcp(stream)
            })
            .map_err(io::Error::from),
        BackendAddress::Unix(path) => {
            let connect = async { UnixStream::connect(path).await.map_err(io::Error::from) };
            with_timeout(limit, "backend side: connect", connect)
                .await
                .map(Stream::Unix)
        }
    };
    match connected {
        Ok(stream) => {
            core.down.borrow_mut().remove(server);
            Ok(stream)
        }
        Err(error) => {
            let mut down = core.down.borrow_mut();
            let pause = match down.get(server) {
                Some(previous) => (previous.pause * 2).min(MAX_BACKEND_RETRY),
                None => core.config.backend_retry,
            };
            tracing::warn!(server, %addr, %error, ?pause, "backend connect failed; marked down");
            down.insert(
                server.into(),
                Down {
                    until: Instant::now() + pause,
                    pause,
                },
            );
            Err(io::Error::other(error.to_string()))
        }
    }
}
