//! What the bench reads about a target's process from /proc: its CPU time (all threads) and
//! its resident memory.

use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat`'s times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time (user + system) in the `stat` text of a process or thread.
fn stat_cpu_time(stat: &str) -> Option<Duration> {
    // pid (comm) state ppid ...: utime and stime are fields 14 and 15, the 12th and 13th after
    // "(comm) " (comm may hold spaces and parentheses, so split at the last ") ").
    let (_, rest) = stat.rsplit_once(") ")?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(Duration::from_millis(
        ticks.saturating_mul(1000 / TICKS_PER_SECOND),
    ))
}

/// CPU time the process `pid` has used so far, all its threads; `None` if it cannot be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time the thread `tid` of this process has used so far.
pub fn thread_cpu_time(tid: u32) -> Option<Duration> {
    stat_cpu_time(&std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?)
}

/// The resident memory (`VmRSS`) of the process `pid`, KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_awkward_name() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 4 0 10 0 0";
        assert_eq!(stat_cpu_time(stat), Some(Duration::from_millis(2810)));
        assert_eq!(stat_cpu_time("42 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_readable() {
        let me = std::process::id();
        assert!(cpu_time(me).is_some());
        assert!(rss_kib(me).is_some_and(|kib| kib > 0));
        assert_eq!(rss_kib(u32::MAX), None);
    }
}
