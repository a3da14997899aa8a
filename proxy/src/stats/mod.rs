//! Per-core statistics for the NOC: counters, gauges and latency histograms that each core
//! writes without sharing, merged only when the admin endpoint reads them.
//!
//! [`Stats`] is the registry, made once with the number of cores and cloned to whoever reads
//! (the admin endpoint). Each core claims its [`CoreRecorder`] with [`Stats::recorder`] and
//! counts through it: connections, commands by [`CommandKind`], bytes each way, logins,
//! backend connections ([`Counter`], [`Gauge`]), and command relay and login times
//! ([`Latency`]). Beside the cores' values, a snapshot carries what the free-space survey last
//! heard from each backend ([`Stats::watch_free_space`]).
//!
//! # The single-writer contract
//!
//! A core's values are written by that core alone, so an increment is a relaxed load and a
//! relaxed store: no locked read-modify-write, no cache line shared with another core (each
//! core's block is [`CachePadded`]). Readers on any thread load the same atomics, relaxed, at
//! any time. Two writers would lose counts, so the API makes one writer the only way: a core's
//! recorder is handed out once (until dropped), cannot be cloned, and is `Send` but not `Sync`
//! (move it to its core; share it there with an `Rc`).
//!
//! [`Snapshot`] holds the values read at one moment; it renders the Prometheus text
//! ([`Snapshot::prometheus`]) and the JSON report ([`Snapshot::report`]), both sans-IO.

mod histogram;
mod prometheus;
mod report;

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, Ordering::Relaxed};
use std::time::{Duration, Instant};

use corvid_proto::imap::command::CommandKind;
use crossbeam_utils::CachePadded;

pub use histogram::Histogram;
pub use prometheus::{PROMETHEUS_CONTENT_TYPE, Prometheus};
pub use report::{CoreReport, LatencyReport, Report};

/// Adds `by` to a cell that only the calling thread writes: a relaxed load and store, which
/// is exact under the single-writer contract and costs no locked instruction.
fn bump(cell: &AtomicU64, by: u64) {
    cell.store(cell.load(Relaxed).wrapping_add(by), Relaxed);
}

/// What a Prometheus family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// A Prometheus metric family: its name (after `corvid_proxy_`), type and help text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Family {
    name: &'static str,
    kind: Kind,
    help: &'static str,
}

/// How one counter or gauge is shown: its JSON key, and its Prometheus family with the label
/// that tells it from the family's other series, if any.
#[derive(Debug, Clone, Copy)]
struct Series {
    key: &'static str,
    family: Family,
    label: Option<(&'static str, &'static str)>,
}

impl Series {
    const fn plain(key: &'static str, family: Family) -> Series {
        Series {
            key,
            family,
            label: None,
        }
    }

    const fn labelled(
        key: &'static str,
        family: Family,
        label: (&'static str, &'static str),
    ) -> Series {
        Series {
            key,
            family,
            label: Some(label),
        }
    }
}

const fn family(name: &'static str, kind: Kind, help: &'static str) -> Family {
    Family { name, kind, help }
}

const LOGINS: Family = family(
    "logins_total",
    Kind::Counter,
    "Client logins (LOGIN or AUTHENTICATE), by result.",
);
const BACKEND_CONNECTS: Family = family(
    "backend_connects_total",
    Kind::Counter,
    "Connections to backends (connected and logged in), by result.",
);
const COMMANDS: Family = family(
    "commands_total",
    Kind::Counter,
    "Client commands received, by command (UNKNOWN: any name the proxy does not know).",
);

/// An event a core counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A client connection accepted.
    ConnectionsAccepted,
    /// A TLS handshake with a client that failed (implicit TLS or STARTTLS).
    TlsHandshakeFailures,
    /// A client login that succeeded.
    LoginsOk,
    /// A client login that failed.
    LoginsFailed,
    /// A command the proxy itself answered with BAD.
    BadCommands,
    /// A client connection closed for hostile input (oversized lines or literals, floods).
    HostileCloses,
    /// Bytes read from clients.
    ClientReadBytes,
    /// Bytes written to clients.
    ClientWrittenBytes,
    /// Bytes written to backends.
    BackendWrittenBytes,
    /// Bytes read from backends.
    BackendReadBytes,
    /// A backend connection opened and logged in.
    BackendConnectsOk,
    /// A backend connection that could not be opened or logged in to.
    BackendConnectsFailed,
    /// A backend connection lost while a session used it.
    BackendSessionsLost,
}

impl Counter {
    /// Every counter, in exposition order (a family's series together).
    pub const ALL: [Counter; 13] = [
        Counter::ConnectionsAccepted,
        Counter::TlsHandshakeFailures,
        Counter::LoginsOk,
        Counter::LoginsFailed,
        Counter::BadCommands,
        Counter::HostileCloses,
        Counter::ClientReadBytes,
        Counter::ClientWrittenBytes,
        Counter::BackendWrittenBytes,
        Counter::BackendReadBytes,
        Counter::BackendConnectsOk,
        Counter::BackendConnectsFailed,
        Counter::BackendSessionsLost,
    ];

    /// The counter's key in the JSON report (`logins_ok`).
    pub fn key(self) -> &'static str {
        self.series().key
    }

    fn series(self) -> Series {
        use Counter::*;
        let counter = |name, help| family(name, Kind::Counter, help);
        match self {
            ConnectionsAccepted => Series::plain(
                "connections_accepted",
                counter("connections_accepted_total", "Client connections accepted."),
            ),
            TlsHandshakeFailures => Series::plain(
                "tls_handshake_failures",
                counter(
                    "tls_handshake_failures_total",
                    "TLS handshakes with clients that failed (implicit TLS or STARTTLS).",
                ),
            ),
            LoginsOk => Series::labelled("logins_ok", LOGINS, ("result", "ok")),
            LoginsFailed => Series::labelled("logins_failed", LOGINS, ("result", "failed")),
            BadCommands => Series::plain(
                "bad_commands",
                counter(
                    "bad_commands_total",
                    "Client commands the proxy itself answered with BAD.",
                ),
            ),
            HostileCloses => Series::plain(
                "hostile_closes",
                counter(
                    "hostile_closes_total",
                    "Client connections closed for hostile input (oversized input, floods).",
                ),
            ),
            ClientReadBytes => Series::plain(
                "client_read_bytes",
                counter("client_read_bytes_total", "Bytes read from clients."),
            ),
            ClientWrittenBytes => Series::plain(
                "client_written_bytes",
                counter("client_written_bytes_total", "Bytes written to clients."),
            ),
            BackendWrittenBytes => Series::plain(
                "backend_written_bytes",
                counter("backend_written_bytes_total", "Bytes written to backends."),
            ),
            BackendReadBytes => Series::plain(
                "backend_read_bytes",
                counter("backend_read_bytes_total", "Bytes read from backends."),
            ),
            BackendConnectsOk => {
                Series::labelled("backend_connects_ok", BACKEND_CONNECTS, ("result", "ok"))
            }
            BackendConnectsFailed => Series::labelled(
                "backend_connects_failed",
                BACKEND_CONNECTS,
                ("result", "failed"),
            ),
            BackendSessionsLost => Series::plain(
                "backend_sessions_lost",
                counter(
                    "backend_sessions_lost_total",
                    "Backend connections lost while a client session used them.",
                ),
            ),
        }
    }
}

/// A level a core raises and lowers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gauge {
    /// Client connections open.
    ConnectionsOpen,
    /// Client connections open over TLS (after the handshake).
    ConnectionsTls,
    /// Client sessions in IDLE.
    SessionsIdle,
}

impl Gauge {
    /// Every gauge, in exposition order.
    pub const ALL: [Gauge; 3] = [
        Gauge::ConnectionsOpen,
        Gauge::ConnectionsTls,
        Gauge::SessionsIdle,
    ];

    /// The gauge's key in the JSON report (`connections_open`).
    pub fn key(self) -> &'static str {
        self.series().key
    }

    fn series(self) -> Series {
        let gauge = |key, name, help| Series::plain(key, family(name, Kind::Gauge, help));
        match self {
            Gauge::ConnectionsOpen => gauge(
                "connections_open",
                "connections_open",
                "Client connections open.",
            ),
            Gauge::ConnectionsTls => gauge(
                "connections_tls",
                "connections_tls",
                "Client connections open over TLS.",
            ),
            Gauge::SessionsIdle => {
                gauge("sessions_idle", "sessions_idle", "Client sessions in IDLE.")
            }
        }
    }
}

/// A time a core measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    /// From a client command received to its tagged reply forwarded.
    CommandRelay,
    /// From a client's LOGIN or AUTHENTICATE received to its answer sent.
    Login,
}

impl Latency {
    /// Every latency, in exposition order.
    pub const ALL: [Latency; 2] = [Latency::CommandRelay, Latency::Login];

    /// The latency's key in the JSON report (`command_relay`).
    pub fn key(self) -> &'static str {
        match self {
            Latency::CommandRelay => "command_relay",
            Latency::Login => "login",
        }
    }

    fn family(self) -> Family {
        match self {
            Latency::CommandRelay => family(
                "command_relay_seconds",
                Kind::Histogram,
                "Time from a client command received to its tagged reply forwarded.",
            ),
            Latency::Login => family(
                "login_seconds",
                Kind::Histogram,
                "Time from a client login received to its answer sent.",
            ),
        }
    }
}

/// One core's values; written by that core only (see the module doc).
#[derive(Debug)]
struct CoreStats {
    /// Is a [`CoreRecorder`] out for this core?
    claimed: AtomicBool,
    counters: [AtomicU64; Counter::ALL.len()],
    gauges: [AtomicU64; Gauge::ALL.len()],
    commands: [AtomicU64; CommandKind::COUNT],
    latencies: [histogram::AtomicHistogram; Latency::ALL.len()],
}

impl Default for CoreStats {
    fn default() -> Self {
        CoreStats {
            claimed: AtomicBool::new(false),
            counters: std::array::from_fn(|_| AtomicU64::new(0)),
            gauges: std::array::from_fn(|_| AtomicU64::new(0)),
            commands: std::array::from_fn(|_| AtomicU64::new(0)),
            latencies: std::array::from_fn(|_| Default::default()),
        }
    }
}

fn load_all<const N: usize>(cells: &[AtomicU64; N]) -> [u64; N] {
    std::array::from_fn(|i| cells[i].load(Relaxed))
}

impl CoreStats {
    fn snapshot(&self) -> CoreSnapshot {
        CoreSnapshot {
            counters: load_all(&self.counters),
            gauges: load_all(&self.gauges),
            commands: load_all(&self.commands),
            latencies: std::array::from_fn(|i| self.latencies[i].snapshot()),
        }
    }
}

/// What the registry and its recorders share.
#[derive(Debug)]
struct Shared {
    cores: Box<[CachePadded<CoreStats>]>,
    started: Instant,
    /// The survey's findings, once one runs.
    free_space: std::sync::OnceLock<Arc<crate::survey::FreeSpace>>,
}

/// The registry of every core's statistics: cheap to clone, read from any thread.
#[derive(Debug, Clone)]
pub struct Stats {
    shared: Arc<Shared>,
}

/// Why [`Stats::recorder`] handed out no recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// The registry has fewer cores.
    #[error("no core {core}: the statistics have {cores} cores")]
    NoSuchCore {
        /// The core asked for.
        core: usize,
        /// How many the registry has.
        cores: usize,
    },
    /// That core's recorder is out already.
    #[error("core {0} already has its statistics recorder")]
    Claimed(usize),
}

impl Stats {
    /// A registry for `cores` cores, every value zero; its uptime starts now.
    pub fn new(cores: usize) -> Stats {
        Stats {
            shared: Arc::new(Shared {
                cores: (0..cores).map(|_| CachePadded::default()).collect(),
                started: Instant::now(),
                free_space: std::sync::OnceLock::new(),
            }),
        }
    }

    /// How many cores the registry has.
    pub fn cores(&self) -> usize {
        self.shared.cores.len()
    }

    /// The recorder of core `core`, for that core alone. It is handed out once: asking again
    /// before it is dropped is [`StatsError::Claimed`].
    pub fn recorder(&self, core: usize) -> Result<CoreRecorder, StatsError> {
        let stats = self.shared.cores.get(core).ok_or(StatsError::NoSuchCore {
            core,
            cores: self.cores(),
        })?;
        // Acquire: the previous recorder's writes (released on its drop) are seen by this one.
        if stats.claimed.swap(true, Ordering::Acquire) {
            return Err(StatsError::Claimed(core));
        }
        Ok(CoreRecorder {
            shared: Arc::clone(&self.shared),
            core,
            not_sync: PhantomData,
        })
    }

    /// Shows `free_space` (what the survey hears) in every later snapshot; a second call is
    /// ignored.
    pub fn watch_free_space(&self, free_space: Arc<crate::survey::FreeSpace>) {
        let _ = self.shared.free_space.set(free_space);
    }

    /// Every core's values now, with the time since the registry was made.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            uptime: self.shared.started.elapsed(),
            backends_free: self
                .shared
                .free_space
                .get()
                .map(|free| free.known())
                .unwrap_or_default(),
            cores: self
                .shared
                .cores
                .iter()
                .map(|core| core.snapshot())
                .collect(),
        }
    }
}

/// The writing side of one core's statistics: the only writer (see the module doc).
///
/// `Send` (move it to its core) but not `Sync` and not `Clone`; share it between the core's
/// tasks with an `Rc`.
#[derive(Debug)]
pub struct CoreRecorder {
    shared: Arc<Shared>,
    core: usize,
    /// Makes the recorder `!Sync`: two threads never write through one recorder.
    not_sync: PhantomData<Cell<()>>,
}

impl CoreRecorder {
    /// The core this recorder writes for.
    pub fn core(&self) -> usize {
        self.core
    }

    fn stats(&self) -> &CoreStats {
        &self.shared.cores[self.core]
    }

    /// Counts one event.
    pub fn count(&self, counter: Counter) {
        self.add(counter, 1);
    }

    /// Counts `n` events (bytes, usually).
    pub fn add(&self, counter: Counter, n: u64) {
        bump(&self.stats().counters[counter as usize], n);
    }

    /// Counts one client command of kind `kind`.
    pub fn command(&self, kind: CommandKind) {
        if let Some(cell) = self.stats().commands.get(kind.index()) {
            bump(cell, 1);
        }
    }

    /// Raises a gauge by one (a connection opened, a session entered IDLE).
    pub fn raise(&self, gauge: Gauge) {
        bump(&self.stats().gauges[gauge as usize], 1);
    }

    /// Lowers a gauge by one; it stays at zero rather than wrap if lowered more than raised.
    pub fn lower(&self, gauge: Gauge) {
        let cell = &self.stats().gauges[gauge as usize];
        cell.store(cell.load(Relaxed).saturating_sub(1), Relaxed);
    }

    /// Records one measured time.
    pub fn record(&self, latency: Latency, elapsed: Duration) {
        self.stats().latencies[latency as usize].record(elapsed);
    }
}

impl Drop for CoreRecorder {
    /// Hands the core back: a new recorder may be claimed for it (its values stay).
    fn drop(&mut self) {
        self.stats().claimed.store(false, Ordering::Release);
    }
}

/// One core's values at one moment (or their sum over cores: [`Snapshot::total`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreSnapshot {
    counters: [u64; Counter::ALL.len()],
    gauges: [u64; Gauge::ALL.len()],
    commands: [u64; CommandKind::COUNT],
    latencies: [Histogram; Latency::ALL.len()],
}

impl Default for CoreSnapshot {
    fn default() -> Self {
        CoreSnapshot {
            counters: [0; Counter::ALL.len()],
            gauges: [0; Gauge::ALL.len()],
            commands: [0; CommandKind::COUNT],
            latencies: Default::default(),
        }
    }
}

impl CoreSnapshot {
    /// A counter's value.
    pub fn counter(&self, counter: Counter) -> u64 {
        self.counters[counter as usize]
    }

    /// A gauge's value.
    pub fn gauge(&self, gauge: Gauge) -> u64 {
        self.gauges[gauge as usize]
    }

    /// How many commands of kind `kind` were received.
    pub fn commands(&self, kind: CommandKind) -> u64 {
        self.commands.get(kind.index()).copied().unwrap_or(0)
    }

    /// A latency histogram.
    pub fn latency(&self, latency: Latency) -> &Histogram {
        &self.latencies[latency as usize]
    }

    /// Adds another core's values to these.
    fn merge(&mut self, other: &CoreSnapshot) {
        let add = |mine: &mut [u64], theirs: &[u64]| {
            for (mine, theirs) in mine.iter_mut().zip(theirs) {
                *mine = mine.wrapping_add(*theirs);
            }
        };
        add(&mut self.counters, &other.counters);
        add(&mut self.gauges, &other.gauges);
        add(&mut self.commands, &other.commands);
        for (mine, theirs) in self.latencies.iter_mut().zip(&other.latencies) {
            mine.merge(theirs);
        }
    }
}

/// Every core's values at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The time since the registry was made.
    pub uptime: Duration,
    /// Each core's values, by core number.
    pub cores: Vec<CoreSnapshot>,
    /// The bytes each backend last reported free to the survey (those that did).
    pub backends_free: Vec<(Box<str>, u64)>,
}

impl Snapshot {
    /// The sum over every core (gauges too: connections open on the whole proxy).
    pub fn total(&self) -> CoreSnapshot {
        self.cores
            .iter()
            .fold(CoreSnapshot::default(), |mut total, core| {
                total.merge(core);
                total
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_of_a_family_are_together_and_keys_unique() {
        let series: Vec<Series> = Counter::ALL
            .iter()
            .map(|c| c.series())
            .chain(Gauge::ALL.iter().map(|g| g.series()))
            .collect();
        for (at, one) in series.iter().enumerate() {
            let later = series.iter().skip(at + 1);
            let gap = later
                .skip_while(|other| other.family == one.family)
                .any(|other| other.family == one.family);
            assert!(!gap, "{} is apart from its family", one.key);
            assert!(series.iter().filter(|s| s.key == one.key).count() == 1);
        }
        for (at, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(*counter as usize, at);
        }
        for (at, gauge) in Gauge::ALL.iter().enumerate() {
            assert_eq!(*gauge as usize, at);
        }
        for (at, latency) in Latency::ALL.iter().enumerate() {
            assert_eq!(*latency as usize, at);
        }
    }

    #[test]
    fn a_recorder_is_handed_out_once_per_core() {
        let stats = Stats::new(2);
        let first = stats.recorder(0).unwrap();
        assert_eq!(stats.recorder(0).unwrap_err(), StatsError::Claimed(0));
        assert_eq!(
            stats.recorder(2).unwrap_err(),
            StatsError::NoSuchCore { core: 2, cores: 2 }
        );
        first.count(Counter::LoginsOk);
        drop(first);
        let again = stats.recorder(0).unwrap();
        assert_eq!(again.core(), 0);
        assert_eq!(stats.snapshot().cores[0].counter(Counter::LoginsOk), 1);
    }

    #[test]
    fn counts_from_writer_threads_reach_a_reader_exactly() {
        const EVENTS: u64 = 200_000;
        let stats = Stats::new(2);
        let writers: Vec<_> = (0..2)
            .map(|core| {
                let recorder = stats.recorder(core).unwrap();
                std::thread::spawn(move || {
                    for n in 0..EVENTS {
                        recorder.count(Counter::ConnectionsAccepted);
                        recorder.add(Counter::ClientReadBytes, 3);
                        recorder.command(CommandKind::ALL[n as usize % CommandKind::COUNT]);
                        recorder.raise(Gauge::ConnectionsOpen);
                        if n % 2 == 0 {
                            recorder.lower(Gauge::ConnectionsOpen);
                        }
                        recorder.record(Latency::CommandRelay, Duration::from_micros(n % 1000));
                    }
                })
            })
            .collect();
        // A reader meanwhile sees counts that only grow.
        let mut last = 0;
        while !writers.iter().all(|w| w.is_finished()) {
            let now = stats
                .snapshot()
                .total()
                .counter(Counter::ConnectionsAccepted);
            assert!(now >= last);
            last = now;
        }
        for writer in writers {
            writer.join().unwrap();
        }
        let snapshot = stats.snapshot();
        for core in &snapshot.cores {
            assert_eq!(core.counter(Counter::ConnectionsAccepted), EVENTS);
            assert_eq!(core.counter(Counter::ClientReadBytes), 3 * EVENTS);
            assert_eq!(core.gauge(Gauge::ConnectionsOpen), EVENTS / 2);
            assert_eq!(core.latency(Latency::CommandRelay).count(), EVENTS);
            let commands: u64 = CommandKind::ALL.iter().map(|&k| core.commands(k)).sum();
            assert_eq!(commands, EVENTS);
        }
        let total = snapshot.total();
        assert_eq!(total.counter(Counter::ConnectionsAccepted), 2 * EVENTS);
        assert_eq!(total.gauge(Gauge::ConnectionsOpen), EVENTS);
        assert_eq!(total.latency(Latency::CommandRelay).count(), 2 * EVENTS);
    }

    #[test]
    fn a_gauge_lowered_too_often_stays_at_zero() {
        let stats = Stats::new(1);
        let recorder = stats.recorder(0).unwrap();
        recorder.lower(Gauge::SessionsIdle);
        recorder.raise(Gauge::SessionsIdle);
        assert_eq!(stats.snapshot().cores[0].gauge(Gauge::SessionsIdle), 1);
    }
}
