//! The free-space survey: a thread that asks every backend, at start and then at each
//! interval, how much space it has free, for the `most-free` placement policy and the NOC.
//!
//! It logs in as the proxy's backend identity (Cyrus `proxyservers`, corvid's `--proxy-user`)
//! and asks `GETMETADATA "" (/shared/vendor/cmu/cyrus-imapd/freespace/total)`, whose value
//! Cyrus 3.6 gives as `FREE;TOTAL` in KiB (`"40733020;264212084"`), as corvid's reference
//! backend does too. A backend that cannot answer (down, no such entry, Dovecot) is *unknown* until it
//! answers again; placement then passes it over. The survey runs off the cores, on one thread
//! with blocking I/O bounded by a timeout, so a slow backend never delays a client.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use corvid_mupdate::imap_client::{ImapClient, ImapClientError};
use corvid_proto::imap::metadata::{FREE_SPACE_ENTRY, parse_metadata};
use corvid_proto::imap::response::Untagged;

/// The most bytes a survey answer may have: one line with a number.
const MAX_ANSWER: usize = 16 << 10;

/// Stands for "unknown" in a server's slot.
const UNKNOWN: u64 = u64::MAX;

/// The free space each backend last reported, shared by the survey (the writer) and the cores
/// and the admin endpoint (readers).
#[derive(Debug)]
pub struct FreeSpace {
    servers: Vec<Box<str>>,
    /// Bytes free, by the index of the server in `servers`; [`UNKNOWN`] when unknown.
    bytes: Vec<AtomicU64>,
}

impl FreeSpace {
    /// Every server unknown.
    pub fn new(servers: Vec<Box<str>>) -> FreeSpace {
        let bytes = servers.iter().map(|_| AtomicU64::new(UNKNOWN)).collect();
        FreeSpace { servers, bytes }
    }

    /// Records what `server` reported (`None`: it could not say).
    pub fn set(&self, server: &str, bytes: Option<u64>) {
        if let Some(at) = self.servers.iter().position(|s| &**s == server)
            && let Some(slot) = self.bytes.get(at)
        {
            let value = bytes.map_or(UNKNOWN, |b| b.min(UNKNOWN - 1));
            slot.store(value, Ordering::Relaxed);
        }
    }

    /// The bytes `server` last reported free, if it did.
    pub fn get(&self, server: &str) -> Option<u64> {
        let at = self.servers.iter().position(|s| &**s == server)?;
        let value = self.bytes.get(at)?.load(Ordering::Relaxed);
        (value != UNKNOWN).then_some(value)
    }

    /// Each server with what it last reported.
    pub fn known(&self) -> Vec<(Box<str>, u64)> {
        self.servers
            .iter()
            .filter_map(|server| Some((server.clone(), self.get(server)?)))
            .collect()
    }

    /// Of `among`, the server with the most space free (the first listed on a tie); `None`
    /// when none of them reported.
    pub fn most_free(&self, among: &[Box<str>]) -> Option<Box<str>> {
        let mut best: Option<(&Box<str>, u64)> = None;
        for server in among {
            if let Some(bytes) = self.get(server)
                && best.is_none_or(|(_, most)| bytes > most)
            {
                best = Some((server, bytes));
            }
        }
        best.map(|(server, _)| server.clone())
    }
}

/// A backend the survey asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyTarget {
    /// Its server name (`be1`).
    pub server: Box<str>,
    /// Its IMAP address, `host:port`.
    pub addr: String,
}

/// How the survey runs.
#[derive(Clone)]
pub struct SurveyConfig {
    /// The backends.
    pub targets: Vec<SurveyTarget>,
    /// The proxy's login name on the backends.
    pub user: String,
    /// Its password.
    pub password: String,
    /// How long between two rounds.
    pub interval: Duration,
    /// How long connecting and each read may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for SurveyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SurveyConfig")
            .field("targets", &self.targets)
            .field("user", &self.user)
            .field("interval", &self.interval)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Why one backend's free space is unknown.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    /// The connection, the login or the GETMETADATA failed.
    #[error(transparent)]
    Imap(#[from] ImapClientError),
    /// The backend answered without the entry, or with a value that is no number.
    #[error("no free space in the answer")]
    NoValue,
}

/// The running survey; dropping it stops the thread (after the round under way, if any).
#[derive(Debug)]
pub struct Survey {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Survey {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the survey: a round now, then one every interval, each recorded in `free`.
pub fn spawn(config: SurveyConfig, free: Arc<FreeSpace>) -> std::io::Result<Survey> {
    let (stop, stopped) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("corvid-survey".into())
        .spawn(move || run(&config, &free, &stopped))?;
    Ok(Survey {
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn run(config: &SurveyConfig, free: &FreeSpace, stopped: &Receiver<()>) {
    loop {
        for target in &config.targets {
            let answer = ask(config, &target.addr);
            match &answer {
                Ok(bytes) => tracing::debug!(server = %target.server, bytes, "backend free space"),
                Err(error) => {
                    tracing::warn!(server = %target.server, %error, "backend free space unknown");
                }
            }
            free.set(&target.server, answer.ok());
        }
        match stopped.recv_timeout(config.interval) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The KiB free in a free-space value: `FREE;TOTAL` (Cyrus 3), or `FREE` alone (older).
fn free_kib(value: &[u8]) -> Option<u64> {
    let free = value.split(|&b| b == b';').next()?;
    std::str::from_utf8(free).ok()?.parse().ok()
}

/// One backend's free space, in bytes.
fn ask(config: &SurveyConfig, addr: &str) -> Result<u64, SurveyError> {
    let mut client = ImapClient::connect(addr, config.timeout, MAX_ANSWER)?;
    client.login(&config.user, &config.password)?;
    let mut kib = None;
    let command = format!("GETMETADATA \"\" ({FREE_SPACE_ENTRY})");
    client.run("GETMETADATA", command.as_bytes(), |untagged, message| {
        if let Untagged::Other { name, .. } = untagged
            && name.eq_ignore_ascii_case(b"METADATA")
            && let Ok(values) = parse_metadata(message)
            && values.mailbox.to_vec().is_empty()
            && let Some(value) = values.value(FREE_SPACE_ENTRY)
        {
            kib = free_kib(&value);
        }
        Ok::<(), ImapClientError>(())
    })?;
    client.logout();
    let kib = kib.ok_or(SurveyError::NoValue)?;
    Ok(kib.saturating_mul(1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_values_read_as_cyrus_writes_them() {
        assert_eq!(free_kib(b"40733020;264212084"), Some(40_733_020));
        assert_eq!(free_kib(b"3122744"), Some(3_122_744));
        for bad in [&b""[..], b";5", b"x;1", b"-1", b"99999999999999999999999"] {
            assert_eq!(free_kib(bad), None, "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn free_space_keeps_what_each_server_said_last() {
        let servers: Vec<Box<str>> = vec!["be1".into(), "be2".into()];
        let free = FreeSpace::new(servers.clone());
        assert_eq!(free.most_free(&servers), None);
        free.set("be1", Some(10));
        free.set("be2", Some(10));
        free.set("nowhere", Some(99));
        // A tie goes to the first listed.
        assert_eq!(free.most_free(&servers).as_deref(), Some("be1"));
        free.set("be1", None);
        assert_eq!(free.known(), vec![("be2".into(), 10)]);
        assert_eq!(free.get("be1"), None);
    }
}
