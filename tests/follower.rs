//! The follower (corvid-mupdate's `follower`) against a running `corvid mupdate`: the first
//! sync is a dump; after the master is killed and restarted, the follower resumes and receives
//! only what changed; a new follower process serves its snapshot from disk before it connects.
//! And against Cyrus 3.6's own master (plain UPDATE, a dump on every connection).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use corvid_mupdate::follower::{Credentials, Follower, FollowerConfig, SyncStats};
use corvid_mupdate::resume::Position;
use support::MupdateMaster;
use support::corvid::{ADMIN, CorvidMaster};
use support::cyrus::CyrusMaster;
use support::follower::FollowerThread;

/// What the follower reports after each batch of changes.
#[derive(Debug, Clone)]
struct Seen {
    entries: usize,
    position: Option<Position>,
    stats: SyncStats,
    ready: bool,
}

/// A follower running in the background, and its reports.
struct Running {
    seen: mpsc::Receiver<Seen>,
    _thread: FollowerThread,
}

fn config(master: &str, state_dir: PathBuf) -> FollowerConfig {
    config_as(master, state_dir, ADMIN)
}

fn config_as(master: &str, state_dir: PathBuf, (user, password): (&str, &str)) -> FollowerConfig {
    FollowerConfig {
        master: master.to_string(),
        credentials: Credentials {
            user: user.into(),
            password: password.into(),
            authzid: String::new(),
        },
        hosts: Vec::new(),
        state_dir: Some(state_dir),
        keepalive: Duration::from_secs(5),
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        snapshot_every: Duration::from_millis(0),
    }
}

/// Starts a follower; the first report is what it serves from disk, before connecting.
fn start(config: FollowerConfig) -> Running {
    let (tx, seen) = mpsc::channel();
    let thread = FollowerThread::start(config, move |opened| {
        let report = |f: &Follower| Seen {
            entries: f.table().len(),
            position: f.position(),
            stats: f.stats(),
            ready: f.is_ready(),
        };
        tx.send(report(opened)).unwrap();
        let on_update = move |f: &Follower, _: &[_]| {
            let _ = tx.send(report(f));
        };
        (on_update, |_: &Follower| Duration::from_millis(20))
    });
    Running {
        seen,
        _thread: thread,
    }
}

impl Running {
    /// Waits (at most 20 s) for a report that satisfies `check`.
    fn wait(&self, what: &str, check: impl Fn(&Seen) -> bool) -> Seen {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.seen.recv_timeout(left) {
                Ok(seen) if check(&seen) => return seen,
                Ok(_) => {}
                Err(_) => panic!("follower never reached: {what}"),
            }
        }
    }
}

fn activate(master: &CorvidMaster, names: impl Iterator<Item = String>) {
    let mut admin = master.endpoint().connect().unwrap();
    for name in names {
        admin.activate(&name, "be1!default", "u\tlrs\t").unwrap();
    }
    admin.logout();
}

#[test]
fn resumes_after_a_master_restart_and_starts_from_its_snapshot() {
    let mut master = CorvidMaster::start();
    activate(&master, (0..100).map(|i| format!("user.u{i:03}")));
    let state = master.dir().join("follower");
    let addr = master.endpoint().addr();

    let running = start(config(&addr, state.clone()));
    let first = running.wait("the first sync", |s| s.ready && s.entries == 100);
    assert!(first.stats.dump, "{first:?}");
    assert_eq!(first.stats.records, 100);
    let position = first.position.expect("a corvid master reports positions");

    // Changes stream in; then the master dies and comes back with more changes.
    activate(&master, (0..3).map(|i| format!("user.new{i}")));
    running.wait("three streamed changes", |s| s.entries == 103);
    master.kill();
    master.restart();
    activate(&master, (3..8).map(|i| format!("user.new{i}")));
    let resumed = running.wait("the resumed sync", |s| {
        s.ready && s.entries == 108 && !s.stats.dump
    });
    assert!(
        resumed.stats.records <= 5,
        "only the changes since: {resumed:?}"
    );
    let after = resumed.position.unwrap();
    assert_eq!(after.epoch, position.epoch, "same master, same epoch");
    assert_eq!(after.seq, 108);
    // The snapshot is written after the change is applied, on the blocking pool: wait until it
    // is on disk (its position file is written last) before stopping the follower.
    let on_disk = support::wait_until(Duration::from_secs(10), || {
        let text = std::fs::read(state.join("follower.position")).ok()?;
        let position = Position::parse(text.trim_ascii())?;
        (position.seq == 108).then_some(())
    });
    assert!(
        on_disk.is_some(),
        "the snapshot at 108 never reached the disk"
    );
    drop(running);

    // A new follower serves its snapshot at once, even with the master gone.
    master.kill();
    let again = start(config(&addr, state));
    let from_disk = again.wait("the snapshot", |_| true);
    assert_eq!(from_disk.entries, 108);
    assert!(!from_disk.ready);
    assert_eq!(from_disk.position.map(|p| p.epoch), Some(position.epoch));
}

#[test]
fn follows_cyrus_master() {
    let master = CyrusMaster::start();
    let endpoint = master.endpoint();
    let mut admin = endpoint.connect().unwrap();
    for i in 0..20 {
        admin
            .activate(&format!("user.c{i:02}"), "127.0.0.1:1!default", "c\tlrs\t")
            .unwrap();
    }
    admin.reserve("user.r", "127.0.0.1:1!default").unwrap();
    let state = tempfile::tempdir().unwrap();
    let credentials = (endpoint.user.as_str(), endpoint.password.as_str());
    let running = start(config_as(
        &endpoint.addr(),
        state.path().to_path_buf(),
        credentials,
    ));
    let first = running.wait("the dump from Cyrus", |s| s.ready && s.entries == 21);
    assert!(first.stats.dump);
    assert_eq!(first.position, None, "Cyrus reports no positions");
    // Cyrus streams on its own tick (up to 5 s): two new entries and a delete arrive.
    admin
        .activate("user.late1", "127.0.0.1:1!default", "")
        .unwrap();
    admin
        .activate("user.late2", "127.0.0.1:1!default", "")
        .unwrap();
    admin.delete("user.c00").unwrap();
    admin.logout();
    let streamed = running.wait("Cyrus's stream", |s| s.entries == 22);
    assert!(streamed.ready && streamed.stats.dump);
}
