//! The runner: sessions on pinned glommio executors, rounds against each target, and the
//! process figures read around each measured window.
//!
//! A round against one target goes: read the target's memory (`--pid`, with its descendants); start the executors and
//! their sessions, which run their setup steps; once every session is set up (or failed), open
//! the gate: the warm-up starts, then the measured window, then the sessions stop after their
//! current operation. The target's CPU time is read at the window's edges and its memory at the
//! end, the sessions still open. In compare mode each target gets `rounds` rounds of
//! `duration / rounds`, the targets taking turns (A B A B ...), so that noise on the machine
//! falls on all of them alike.

use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use glommio::sync::Semaphore;
use glommio::{LocalExecutorBuilder, Placement};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rustls::pki_types::ServerName;

use crate::client::{Client, Endpoint, StepArgs};
use crate::imap::Credentials;
use crate::procfs;
use crate::report::{ProcessUse, Recorder, Report, RoundFigures, TargetReport};
use crate::scenario::{IdleHold, Operation, Scenario, Step};
use crate::schedule::OpenLoop;

/// How often the runner looks at the sessions while they set up.
const POLL: Duration = Duration::from_millis(20);

/// How often progress is reported.
const PROGRESS: Duration = Duration::from_secs(1);

/// A target: an IMAP server's address, over TLS or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `HOST:PORT`.
    pub addr: String,
    /// Implicit TLS.
    pub tls: bool,
}

impl Target {
    /// `HOST:PORT`, or `tls://HOST:PORT` for implicit TLS; `tls` makes every target TLS.
    pub fn parse(text: &str, tls: bool) -> Target {
        match text.strip_prefix("tls://") {
            Some(addr) => Target {
                addr: addr.into(),
                tls: true,
            },
            None => Target {
                addr: text.into(),
                tls,
            },
        }
    }

    /// The host part, for TLS's server name (brackets of an IPv6 address removed).
    fn host(&self) -> &str {
        let host = self
            .addr
            .rsplit_once(':')
            .map_or(self.addr.as_str(), |(host, _)| host);
        host.trim_start_matches('[').trim_end_matches(']')
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.tls {
            write!(f, "tls://{}", self.addr)
        } else {
            f.write_str(&self.addr)
        }
    }
}

/// How a bench runs.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// What the sessions do.
    pub scenario: Scenario,
    /// The targets: the first, then the ones compared with it.
    pub targets: Vec<Target>,
    /// The target processes, in the targets' order (fewer than the targets: the rest are
    /// not read).
    pub pids: Vec<u32>,
    /// The LOGIN of every session.
    pub credentials: Credentials,
    /// Sessions per target.
    pub sessions: usize,
    /// Open loop at this many operations per second (all sessions together); closed loop if
    /// none.
    pub rate: Option<f64>,
    /// Measured time per target.
    pub duration: Duration,
    /// Time before each round's window, not measured.
    pub warmup: Duration,
    /// Rounds per target.
    pub rounds: usize,
    /// The CPUs the executors are pinned to, one executor each.
    pub cores: Vec<usize>,
}

/// Why a bench could not run (a session's failure is not one: it is in [`Report::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The configuration cannot run.
    #[error("{0}")]
    Config(String),
    /// A target's address does not resolve.
    #[error("target {target}: {message}")]
    Resolve {
        /// The target.
        target: String,
        /// Why.
        message: String,
    },
    /// A target's process cannot be read.
    #[error("--pid {0}: no such process (or /proc/{0} unreadable)")]
    Pid(u32),
    /// The TLS client could not be configured.
    #[error("TLS client: {0}")]
    Tls(#[from] rustls::Error),
    /// An executor could not start or stopped abnormally.
    #[error("executor on CPU {core}: {message}")]
    Executor {
        /// Its CPU.
        core: usize,
        /// Why.
        message: String,
    },
}

/// Where a round is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Sessions are running their setup steps.
    Setup,
    /// The warm-up before the window.
    Warmup,
    /// The measured window.
    Measure,
}

/// The state of a round, once per second while it runs.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The target.
    pub target: String,
    /// The round (from 1).
    pub round: usize,
    /// Rounds per target.
    pub rounds: usize,
    /// Where the round is.
    pub phase: Phase,
    /// Sessions set up.
    pub ready: usize,
    /// Sessions failed.
    pub failed: usize,
    /// Sessions in the round.
    pub sessions: usize,
    /// Operations completed in the window so far.
    pub operations: u64,
    /// Operations per second over the last report's interval.
    pub rate: f64,
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} round {}/{} {:?}: {}/{} sessions set up, {} failed, {} operations ({:.0}/s)",
            self.target,
            self.round,
            self.rounds,
            self.phase,
            self.ready,
            self.sessions,
            self.failed,
            self.operations,
            self.rate
        )
    }
}

/// What the runner and the executors of a round share.
#[derive(Debug)]
struct Shared {
    epoch: Instant,
    /// Nanoseconds from `epoch` to the gate's opening, plus one; zero while it is shut.
    gate: AtomicU64,
    ready: AtomicUsize,
    failed: AtomicUsize,
    operations: AtomicU64,
}

impl Shared {
    fn gate(&self) -> Option<Instant> {
        match self.gate.load(Ordering::Acquire) {
            0 => None,
            nanos => Some(self.epoch + Duration::from_nanos(nanos - 1)),
        }
    }
}

/// A round's times, from the gate's opening.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    measure_from: Instant,
    stop: Instant,
}

impl Window {
    fn new(start: Instant, warmup: Duration, length: Duration) -> Window {
        let measure_from = start + warmup;
        Window {
            start,
            measure_from,
            stop: measure_from + length,
        }
    }

    /// The time since the window opened, if `at` falls in it.
    fn offset(&self, at: Instant) -> Option<Duration> {
        (at >= self.measure_from && at < self.stop).then(|| at - self.measure_from)
    }
}

/// What one executor runs: its sessions, and what they share.
#[derive(Debug, Clone)]
struct Plan {
    shared: Arc<Shared>,
    endpoint: Arc<Endpoint>,
    scenario: Arc<Scenario>,
    /// Per client kind: the message its `append` sends.
    messages: Arc<Vec<Vec<u8>>>,
    /// (index among all sessions, client kind) of each session of this executor.
    sessions: Vec<(usize, usize)>,
    total_sessions: usize,
    rate: Option<f64>,
    warmup: Duration,
    length: Duration,
    target: String,
}

/// What an executor brings back.
type Outcome = (Recorder, Vec<String>);

/// Runs the bench; `progress` is called about once per second.
pub fn run(
    config: &BenchConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Report, BenchError> {
    if config.targets.is_empty() {
        return Err(BenchError::Config("no target".into()));
    }
    if config.sessions == 0 || config.rounds == 0 || config.cores.is_empty() {
        return Err(BenchError::Config(
            "sessions, rounds and cores must be at least 1".into(),
        ));
    }
    if config
        .rate
        .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
    {
        return Err(BenchError::Config("--rate must be positive".into()));
    }
    for &pid in &config.pids {
        procfs::tree_cpu_time(pid).ok_or(BenchError::Pid(pid))?;
    }
    let tls = match config.targets.iter().any(|t| t.tls) {
        true => Some(crate::tls::client_config()?),
        false => None,
    };
    let endpoints = config
        .targets
        .iter()
        .map(|target| endpoint(target, tls.as_ref(), &config.credentials))
        .collect::<Result<Vec<_>, _>>()?;
    let scenario = Arc::new(config.scenario.clone());
    let messages = Arc::new(
        scenario
            .clients
            .iter()
            .map(|client| crate::imap::message(client.append_size))
            .collect(),
    );
    let length = config.duration / u32::try_from(config.rounds).unwrap_or(u32::MAX);
    let mut recorders = vec![Recorder::default(); config.targets.len()];
    let mut processes: Vec<Option<ProcessUse>> = vec![None; config.targets.len()];
    let mut round_figures: Vec<Vec<RoundFigures>> = vec![Vec::new(); config.targets.len()];
    let mut errors = Vec::new();
    'rounds: for round in 0..config.rounds {
        for (index, target) in config.targets.iter().enumerate() {
            let plan = Plan {
                shared: Arc::new(Shared {
                    epoch: Instant::now(),
                    gate: AtomicU64::new(0),
                    ready: AtomicUsize::new(0),
                    failed: AtomicUsize::new(0),
                    operations: AtomicU64::new(0),
                }),
                endpoint: Arc::clone(&endpoints[index]),
                scenario: Arc::clone(&scenario),
                messages: Arc::clone(&messages),
                sessions: Vec::new(),
                total_sessions: config.sessions,
                rate: config.rate,
                warmup: config.warmup,
                length,
                target: target.to_string(),
            };
            let pid = config.pids.get(index).copied();
            let mut report = |phase, rate| {
                progress(&Progress {
                    target: plan.target.clone(),
                    round: round + 1,
                    rounds: config.rounds,
                    phase,
                    ready: plan.shared.ready.load(Ordering::Relaxed),
                    failed: plan.shared.failed.load(Ordering::Relaxed),
                    sessions: config.sessions,
                    operations: plan.shared.operations.load(Ordering::Relaxed),
                    rate,
                })
            };
            let outcome = run_round(config, &plan, pid, &mut report)?;
            let (recorder_round, round_errors, process) = outcome;
            let this_round = TargetReport::new(
                &plan.target,
                config.sessions,
                &recorder_round,
                length.as_secs_f64(),
                process,
            );
            round_figures[index].push(RoundFigures::of(&this_round));
            let seconds_before = usize::try_from(length.as_secs() + 1).unwrap_or(0) * round;
            recorders[index].merge(&recorder_round, seconds_before);
            if let Some(process) = process {
                let total = processes[index].get_or_insert(ProcessUse::default());
                total.cpu += process.cpu;
                total.rss_before_kib = process.rss_before_kib;
                total.rss_after_kib = process.rss_after_kib;
            }
            let all_failed = round_errors.len() >= config.sessions;
            errors.extend(round_errors);
            if all_failed {
                break 'rounds;
            }
        }
    }
    let seconds = length.as_secs_f64() * config.rounds as f64;
    let targets = config
        .targets
        .iter()
        .enumerate()
        .map(|(index, target)| TargetReport {
            rounds: std::mem::take(&mut round_figures[index]),
            ..TargetReport::new(
                &target.to_string(),
                config.sessions,
                &recorders[index],
                seconds,
                processes[index],
            )
        })
        .collect();
    Ok(Report {
        scenario: config.scenario.name.clone(),
        rate: config.rate,
        sessions: config.sessions,
        duration_seconds: seconds,
        warmup_seconds: config.warmup.as_secs_f64(),
        rounds: config.rounds,
        targets,
        ratios: Vec::new(),
        errors,
    }
    .with_ratios())
}

/// The endpoint of `target`: its resolved address, TLS and credentials.
fn endpoint(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    credentials: &Credentials,
) -> Result<Arc<Endpoint>, BenchError> {
    let resolve = |message: String| BenchError::Resolve {
        target: target.to_string(),
        message,
    };
    let addr: SocketAddr = target
        .addr
        .to_socket_addrs()
        .map_err(|e| resolve(e.to_string()))?
        .next()
        .ok_or_else(|| resolve("resolves to no address".into()))?;
    let tls = match (target.tls, tls) {
        (true, Some(config)) => {
            let name = ServerName::try_from(target.host().to_owned())
                .map_err(|e| resolve(format!("TLS server name: {e}")))?;
            Some((Arc::clone(config), name))
        }
        _ => None,
    };
    Ok(Arc::new(Endpoint {
        addr,
        tls,
        credentials: credentials.clone(),
    }))
}

/// One round against one target: what its sessions recorded, their failures, and what the
/// target's process used.
fn run_round(
    config: &BenchConfig,
    plan: &Plan,
    pid: Option<u32>,
    progress: &mut dyn FnMut(Phase, f64),
) -> Result<(Recorder, Vec<String>, Option<ProcessUse>), BenchError> {
    let read_memory = |pid| procfs::tree_memory_kib(pid).ok_or(BenchError::Pid(pid));
    let read_cpu = |pid| procfs::tree_cpu_time(pid).ok_or(BenchError::Pid(pid));
    let rss_before = pid.map(read_memory).transpose()?;
    let kinds: Vec<usize> = plan
        .scenario
        .deal(config.sessions)
        .into_iter()
        .enumerate()
        .flat_map(|(kind, n)| std::iter::repeat_n(kind, n))
        .collect();
    let io_memory = corvid_mupdate::runtime::io_memory(config.cores.len());
    let mut executors = Vec::new();
    for (slot, &core) in config.cores.iter().enumerate() {
        let mut plan = plan.clone();
        plan.sessions = kinds
            .iter()
            .enumerate()
            .filter(|(i, _)| i % config.cores.len() == slot)
            .map(|(i, &kind)| (i, kind))
            .collect();
        let executor = LocalExecutorBuilder::new(Placement::Fixed(core))
            .name(&format!("bench-core{core}"))
            .io_memory(io_memory)
            .ring_depth(512)
            .spawn(move || drive(plan))
            .map_err(|e| BenchError::Executor {
                core,
                message: e.to_string(),
            })?;
        executors.push((core, executor));
    }
    let shared = &plan.shared;
    let mut last_report = Instant::now();
    while shared.ready.load(Ordering::Relaxed) < config.sessions {
        std::thread::sleep(POLL);
        if last_report.elapsed() >= PROGRESS {
            progress(Phase::Setup, 0.0);
            last_report = Instant::now();
        }
    }
    let window = Window::new(Instant::now(), plan.warmup, plan.length);
    let nanos = u64::try_from((window.start - shared.epoch).as_nanos()).unwrap_or(u64::MAX - 1);
    shared.gate.store(nanos + 1, Ordering::Release);
    let everyone_failed = shared.failed.load(Ordering::Relaxed) >= config.sessions;
    let mut process = None;
    if !everyone_failed {
        sleep_until(
            window.measure_from,
            &mut |at| (at, Phase::Warmup, shared.operations.load(Ordering::Relaxed)),
            progress,
        );
        let cpu_before = pid.map(read_cpu).transpose()?;
        sleep_until(
            window.stop,
            &mut |at| {
                (
                    at,
                    Phase::Measure,
                    shared.operations.load(Ordering::Relaxed),
                )
            },
            progress,
        );
        if let (Some(pid), Some(cpu_before), Some(rss_before)) = (pid, cpu_before, rss_before) {
            process = Some(ProcessUse {
                cpu: read_cpu(pid)?.saturating_sub(cpu_before),
                rss_before_kib: rss_before,
                rss_after_kib: read_memory(pid)?,
            });
        }
    }
    let mut recorder = Recorder::default();
    let mut errors = Vec::new();
    for (core, executor) in executors {
        let (theirs, their_errors) = executor.join().map_err(|e| BenchError::Executor {
            core,
            message: e.to_string(),
        })?;
        recorder.merge(&theirs, 0);
        errors.extend(their_errors);
    }
    Ok((recorder, errors, process))
}

/// Sleeps until `deadline`, reporting progress every second with the operations per second
/// since the last report.
fn sleep_until(
    deadline: Instant,
    read: &mut dyn FnMut(Instant) -> (Instant, Phase, u64),
    progress: &mut dyn FnMut(Phase, f64),
) {
    let (mut last_at, _, mut last_operations) = read(Instant::now());
    loop {
        let now = Instant::now();
        if now >= deadline {
            return;
        }
        std::thread::sleep(deadline.saturating_duration_since(now).min(PROGRESS));
        let (at, phase, operations) = read(Instant::now());
        let seconds = (at - last_at).as_secs_f64().max(1e-3);
        progress(
            phase,
            operations.saturating_sub(last_operations) as f64 / seconds,
        );
        (last_at, last_operations) = (at, operations);
    }
}

/// An executor's work: its sessions, the gate that holds them after their setup, and what
/// they recorded.
async fn drive(plan: Plan) -> Outcome {
    let plan = Rc::new(plan);
    let gate = Rc::new(Semaphore::new(0));
    let recorder = Rc::new(RefCell::new(Recorder::default()));
    let errors = Rc::new(RefCell::new(Vec::new()));
    let opener = glommio::spawn_local({
        let (plan, gate) = (Rc::clone(&plan), Rc::clone(&gate));
        async move {
            while plan.shared.gate().is_none() {
                glommio::timer::sleep(POLL).await;
            }
            gate.signal(plan.sessions.len() as u64);
        }
    });
    let tasks: Vec<_> = plan
        .sessions
        .iter()
        .map(|&(index, kind)| {
            let session = Session {
                plan: Rc::clone(&plan),
                gate: Rc::clone(&gate),
                recorder: Rc::clone(&recorder),
                errors: Rc::clone(&errors),
                index,
                kind,
            };
            glommio::spawn_local(session.run())
        })
        .collect();
    for task in tasks {
        task.await;
    }
    opener.await;
    let recorder = recorder.borrow().clone();
    let errors = errors.borrow().clone();
    (recorder, errors)
}

/// One session's task.
struct Session {
    plan: Rc<Plan>,
    gate: Rc<Semaphore>,
    recorder: Rc<RefCell<Recorder>>,
    errors: Rc<RefCell<Vec<String>>>,
    index: usize,
    kind: usize,
}

impl Session {
    async fn run(self) {
        let plan = &self.plan;
        let shared = &plan.shared;
        let Some(client_kind) = plan.scenario.clients.get(self.kind) else {
            return;
        };
        let message = plan.messages.get(self.kind).map_or(&[][..], Vec::as_slice);
        let mut client = Client::new(Arc::clone(&plan.endpoint));
        for &step in &client_kind.setup {
            let args = StepArgs {
                message,
                idle_until: Instant::now(),
            };
            if let Err(error) = client.step(step, args).await {
                self.fail(step, &error);
                shared.ready.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        shared.ready.fetch_add(1, Ordering::Relaxed);
        let _ = self.gate.acquire(1).await;
        let Some(start) = shared.gate() else { return };
        let window = Window::new(start, plan.warmup, plan.length);
        let mut pacing = plan
            .rate
            .and_then(|rate| OpenLoop::new(rate, plan.total_sessions, self.index));
        let mix = match &client_kind.operation {
            Operation::Mix(mix) => WeightedIndex::new(mix.iter().map(|&(_, w)| w)).ok(),
            Operation::Sequence(_) => None,
        };
        let mut rng = rand::rng();
        let mut drawn = Vec::with_capacity(1);
        loop {
            let now = Instant::now();
            let began = match pacing.as_mut() {
                None => now,
                Some(pacing) => {
                    let due = window.start + pacing.next_due();
                    if due >= window.stop {
                        break;
                    }
                    glommio::timer::sleep(due.saturating_duration_since(now)).await;
                    due
                }
            };
            if now >= window.stop {
                break;
            }
            let steps: &[Step] = match (&client_kind.operation, &mix) {
                (Operation::Sequence(steps), _) => steps,
                (Operation::Mix(choices), Some(mix)) => {
                    drawn.clear();
                    drawn.extend(choices.get(mix.sample(&mut rng)).map(|&(step, _)| step));
                    &drawn
                }
                (Operation::Mix(_), None) => return,
            };
            let mut bytes = 0;
            let mut step_began = began;
            for &step in steps {
                let idle_until = match client_kind.idle_hold {
                    IdleHold::Run => window.stop,
                    IdleHold::For(hold) => (Instant::now() + hold).min(window.stop),
                };
                let args = StepArgs {
                    message,
                    idle_until,
                };
                match client.step(step, args).await {
                    Ok(end) => {
                        if let Some(at) = window.offset(end) {
                            let latency = end.saturating_duration_since(step_began);
                            self.recorder.borrow_mut().step(step, latency, at);
                        }
                    }
                    Err(error) => return self.fail(step, &error),
                }
                if step == Step::Append {
                    bytes += client_kind.append_size as u64;
                }
                step_began = Instant::now();
            }
            if window.offset(Instant::now()).is_some() {
                self.recorder.borrow_mut().operation(bytes);
                shared.operations.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn fail(&self, step: Step, error: &str) {
        self.plan.shared.failed.fetch_add(1, Ordering::Relaxed);
        self.errors
            .borrow_mut()
            .push(format!("target {}, step {step}: {error}", self.plan.target));
    }
}
