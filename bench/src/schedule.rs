//! Open-loop pacing: when each session's next operation is due, so that the sessions together
//! start operations at a fixed aggregate rate whatever the target's answers take.
//!
//! With `rate` R and `sessions` N, session `i`'s `k`-th operation is due `(k·N + i) / R`
//! seconds after the schedule's start: the sessions take turns, one operation every 1/R
//! seconds overall. A session that falls behind sends at once, and its latency is measured
//! from the time the operation was *due*, not from when it went out: a slow answer then
//! shows in every operation it delayed (no coordinated omission).

use std::time::Duration;

/// One session's open-loop schedule.
#[derive(Debug, Clone)]
pub struct OpenLoop {
    /// Seconds between two operations of this session: N / R.
    interval: f64,
    /// Seconds from the schedule's start to this session's first operation: i / R.
    offset: f64,
    /// The next operation's number.
    next: u64,
}

impl OpenLoop {
    /// Session `index` of `sessions` sharing an aggregate `rate` (operations per second);
    /// `None` unless the rate is positive and finite and there is a session.
    pub fn new(rate: f64, sessions: usize, index: usize) -> Option<OpenLoop> {
        if !(rate.is_finite() && rate > 0.0) || sessions == 0 {
            return None;
        }
        Some(OpenLoop {
            interval: sessions as f64 / rate,
            offset: index as f64 / rate,
            next: 0,
        })
    }

    /// When the next operation is due, from the schedule's start; moves on to the one after.
    pub fn next_due(&mut self) -> Duration {
        let due = self.offset + self.next as f64 * self.interval;
        self.next += 1;
        Duration::try_from_secs_f64(due).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dues(mut schedule: OpenLoop, n: usize) -> Vec<Duration> {
        (0..n).map(|_| schedule.next_due()).collect()
    }

    #[test]
    fn one_session_is_paced_at_the_rate() {
        let schedule = OpenLoop::new(4.0, 1, 0).unwrap();
        assert_eq!(
            dues(schedule, 4),
            [0, 250, 500, 750].map(Duration::from_millis)
        );
    }

    #[test]
    fn sessions_take_turns_at_the_aggregate_rate() {
        // 1,000 per second over 4 sessions: one every millisecond overall.
        let mut all: Vec<Duration> = (0..4)
            .flat_map(|i| dues(OpenLoop::new(1000.0, 4, i).unwrap(), 5))
            .collect();
        all.sort();
        let expected: Vec<Duration> = (0..20).map(Duration::from_millis).collect();
        for (due, expected) in all.iter().zip(&expected) {
            let error = due.abs_diff(*expected);
            assert!(error < Duration::from_nanos(10), "{due:?} vs {expected:?}");
        }
        assert_eq!(all.len(), expected.len());
    }

    #[test]
    fn rates_that_cannot_pace() {
        assert!(OpenLoop::new(0.0, 1, 0).is_none());
        assert!(OpenLoop::new(-1.0, 1, 0).is_none());
        assert!(OpenLoop::new(f64::NAN, 1, 0).is_none());
        assert!(OpenLoop::new(f64::INFINITY, 1, 0).is_none());
        assert!(OpenLoop::new(10.0, 0, 0).is_none());
    }
}
