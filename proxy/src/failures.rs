//! Failed logins counted per source address, so that one address guessing passwords is shut
//! out for a while (each core keeps its own count: no state is shared between cores).
//!
//! An address with `limit` failures within `window` is refused new connections until the
//! window of its first failure has passed; every failed login is delayed as well (the
//! session's own delay). The map is bounded: when it is full, expired entries are dropped,
//! and if none has expired it is cleared, so a flood of addresses costs bounded memory (and
//! at worst forgets, never blocks the innocent).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The most addresses one core remembers.
const MAX_SOURCES: usize = 16 * 1024;

/// Failed logins per source address on one core.
#[derive(Debug)]
pub struct FailedLogins {
    limit: u32,
    window: Duration,
    /// Per address: failures since `since`.
    by_source: HashMap<IpAddr, (u32, Instant)>,
}

impl FailedLogins {
    /// Blocks an address after `limit` failures within `window`.
    pub fn new(limit: u32, window: Duration) -> FailedLogins {
        FailedLogins {
            limit,
            window,
            by_source: HashMap::new(),
        }
    }

    /// A login from `source` failed at `now`.
    pub fn failed(&mut self, source: IpAddr, now: Instant) {
        if self.by_source.len() >= MAX_SOURCES && !self.by_source.contains_key(&source) {
            let window = self.window;
            self.by_source
                .retain(|_, (_, since)| now.saturating_duration_since(*since) < window);
            if self.by_source.len() >= MAX_SOURCES {
                self.by_source.clear();
            }
        }
        let entry = self.by_source.entry(source).or_insert((0, now));
        if now.saturating_duration_since(entry.1) >= self.window {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }

    /// Is `source` shut out at `now`?
    pub fn is_blocked(&self, source: IpAddr, now: Instant) -> bool {
        self.by_source.get(&source).is_some_and(|(count, since)| {
            *count >= self.limit && now.saturating_duration_since(*since) < self.window
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_passes() {
        let mut failures = FailedLogins::new(3, Duration::from_secs(60));
        let (bad, good) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let start = Instant::now();
        for n in 0..3 {
            assert!(!failures.is_blocked(bad, start), "after {n}");
            failures.failed(bad, start + Duration::from_secs(n));
        }
        assert!(failures.is_blocked(bad, start + Duration::from_secs(10)));
        assert!(!failures.is_blocked(good, start + Duration::from_secs(10)));
        assert!(!failures.is_blocked(bad, start + Duration::from_secs(61)));
        failures.failed(bad, start + Duration::from_secs(61));
        assert!(
            !failures.is_blocked(bad, start + Duration::from_secs(62)),
            "a new window"
        );
    }

    #[test]
    fn memory_is_bounded_by_a_flood_of_addresses() {
        let mut failures = FailedLogins::new(3, Duration::from_secs(60));
        let now = Instant::now();
        for n in 0..(MAX_SOURCES as u32 * 3) {
            failures.failed(IpAddr::from(n.to_be_bytes()), now);
            assert!(failures.by_source.len() <= MAX_SOURCES);
        }
    }
}
