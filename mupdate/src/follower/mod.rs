//! The follower: a copy of the master's table, kept in step over one MUPDATE connection, for
//! the proxy and the shim to embed.
//!
//! [`sync`] is the protocol state machine (sans-IO). This module is its glommio driver:
//! [`open`] loads the follower's last snapshot from its state directory, so a restarted process
//! serves at once; [`run`] connects, authenticates, takes the full dump or resumes from the last
//! position (with a corvid master), applies the stream, answers nothing, sends a NOOP every
//! keepalive interval, reconnects with exponential backoff and jitter, and writes a snapshot of
//! the table from time to time. The embedder sees every change through a callback.

pub mod sync;

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use glommio::net::TcpStream;

use crate::resume::Position;
use crate::store::{StoreError, read_base, write_atomically, write_base};
use crate::table::{Base, MailboxTable};
pub use sync::{Credentials, Follower, SyncError, SyncStats, Update};

/// How a follower runs.
#[derive(Debug, Clone)]
pub struct FollowerConfig {
    /// The master, `host:port`.
    pub master: String,
    /// How to log in.
    pub credentials: Credentials,
    /// Only these servers' entries (PARTIAL-UPDATE); empty for all.
    pub hosts: Vec<Vec<u8>>,
    /// Where the snapshot is kept (none: nothing is written).
    pub state_dir: Option<PathBuf>,
    /// A NOOP this often; a connection that leaves one unanswered this long is dropped.
    pub keepalive: Duration,
    /// The first pause before reconnecting; it doubles up to `max_backoff`, with jitter.
    pub min_backoff: Duration,
    /// The longest pause before reconnecting.
    pub max_backoff: Duration,
    /// A snapshot is written at most this often (and after each full dump).
    pub snapshot_every: Duration,
}

const SNAPSHOT_FILE: &str = "follower.rkyv";
const POSITION_FILE: &str = "follower.position";

/// A follower for `config`, serving its last snapshot (if there is one) until it syncs.
pub fn open(config: &FollowerConfig) -> Result<Follower, StoreError> {
    let (table, position) = match &config.state_dir {
        Some(dir) => load(dir)?,
        None => (MailboxTable::default(), None),
    };
    Ok(Follower::new(
        table,
        position,
        config.credentials.clone(),
        config.hosts.clone(),
    ))
}

/// The snapshot in `dir`, if any, and the position it stands at. The position file is written
/// after the snapshot, so it is never ahead of it (being behind only repeats changes).
fn load(dir: &Path) -> Result<(MailboxTable, Option<Position>), StoreError> {
    let snapshot = dir.join(SNAPSHOT_FILE);
    if !snapshot.exists() {
        return Ok((MailboxTable::default(), None));
    }
    let base = read_base(&snapshot)?;
    let position = std::fs::read(dir.join(POSITION_FILE))
        .ok()
        .and_then(|text| Position::parse(text.trim_ascii()));
    Ok((MailboxTable::new(Arc::new(base)), position))
}

/// Writes the table and its position to `dir` (on the blocking pool).
async fn persist(
    dir: PathBuf,
    table: MailboxTable,
    position: Option<Position>,
) -> Result<(), StoreError> {
    glommio::executor()
        .spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
                what: "creating",
                path: dir.clone(),
                source,
            })?;
            let base: Base = table.rebuild()?;
            write_base(&dir.join(SNAPSHOT_FILE), &base)?;
            let text = position.map(|p| p.to_string()).unwrap_or_default();
            write_atomically(&dir.join(POSITION_FILE), text.as_bytes())
        })
        .await
}

/// Keeps `follower` in step with the master for ever, calling `on_update` after each batch of
/// changes is applied to its table.
pub async fn run(
    follower: Rc<RefCell<Follower>>,
    config: FollowerConfig,
    mut on_update: impl FnMut(&Follower, &[Update]),
) {
    let mut backoff = config.min_backoff;
    let mut last_snapshot: Option<Instant> = None;
    loop {
        let started = Instant::now();
        let result = session(&follower, &config, &mut on_update, &mut last_snapshot).await;
        let error = match result {
            Ok(()) => "master closed the connection".to_string(),
            Err(error) => error.to_string(),
        };
        if started.elapsed() > config.max_backoff {
            backoff = config.min_backoff;
        }
        // Jitter: a random pause between half and all of the backoff, so that many followers
        // do not reconnect in step after the master restarts.
        let pause = backoff.mul_f64(0.5 + rand::random::<f64>() / 2.0);
        tracing::warn!(master = %config.master, %error, ?pause, "follower disconnected");
        glommio::timer::sleep(pause).await;
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

/// What woke a follower's connection.
enum Wake {
    Read(io::Result<usize>),
    Tick,
}

/// One connection, until it fails.
async fn session(
    follower: &Rc<RefCell<Follower>>,
    config: &FollowerConfig,
    on_update: &mut impl FnMut(&Follower, &[Update]),
    last_snapshot: &mut Option<Instant>,
) -> Result<(), Box<dyn std::error::Error>> {
    let connect = async {
        TcpStream::connect(config.master.as_str())
            .await
            .map_err(io::Error::from)
    };
    let timeout = async {
        glommio::timer::sleep(config.keepalive).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))
    };
    let mut stream = future::or(connect, timeout).await?;
    stream.set_nodelay(true)?;
    follower.borrow_mut().connect();
    let mut input = Vec::new();
    let mut updates = Vec::new();
    let mut next_tick = Instant::now() + config.keepalive;
    loop {
        let output = follower.borrow_mut().take_output();
        if !output.is_empty() {
            stream.write_all(&output).await?;
        }
        let start = input.len();
        input.resize(start + (64 << 10), 0);
        let wake = {
            let read = async { Wake::Read(stream.read(&mut input[start..]).await) };
            let tick = async {
                glommio::timer::sleep(next_tick.saturating_duration_since(Instant::now())).await;
                Wake::Tick
            };
            future::or(read, tick).await
        };
        match wake {
            Wake::Read(Ok(0)) => return Ok(()),
            Wake::Read(Ok(n)) => input.truncate(start + n),
            Wake::Read(Err(error)) => return Err(error.into()),
            Wake::Tick => {
                input.truncate(start);
                next_tick = Instant::now() + config.keepalive;
                follower.borrow_mut().keepalive()?;
            }
        }
        let was_ready = follower.borrow().is_ready();
        let used = follower.borrow_mut().receive(&input, &mut updates)?;
        input.drain(..used);
        if !updates.is_empty() {
            on_update(&follower.borrow(), &updates);
        }
        let replaced = updates.contains(&Update::Replaced);
        updates.clear();
        let ready = follower.borrow().is_ready();
        if ready && !was_ready {
            let stats = follower.borrow().stats();
            tracing::info!(master = %config.master, dump = stats.dump, records = stats.records,
                entries = follower.borrow().table().len(), "follower in step");
        }
        let due = last_snapshot.is_none_or(|at| at.elapsed() >= config.snapshot_every);
        if let Some(dir) = &config.state_dir
            && ready
            && (replaced || due)
        {
            *last_snapshot = Some(Instant::now());
            let (table, position) = {
                let follower = follower.borrow();
                (follower.table().clone(), follower.position())
            };
            if let Err(error) = persist(dir.clone(), table, position).await {
                tracing::warn!(%error, "follower snapshot failed");
            }
        }
    }
}
