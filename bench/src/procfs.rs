//! What the bench reads about a target's processes from /proc: their CPU time and their
//! resident memory, of one process or of a process together with all its descendants.
//!
//! The runner reads trees (`--pid`), since a target may be several processes: corvid is one
//! process, but nginx serves from a worker under its master, Dovecot's proxying happens in
//! `imap-login` children of its master, and Cyrus forks one `imapd` per connection.

use std::collections::HashMap;
use std::time::Duration;

/// Clock ticks per second of `/proc/PID/stat`'s times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// The fields of a `stat` text after "(comm) ": state is the 0th, ppid the 1st, utime the
/// 11th, stime the 12th, cutime the 13th and cstime the 14th.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    // comm may hold spaces and parentheses, so split at the last ") ".
    let (_, rest) = stat.rsplit_once(") ")?;
    Some(rest.split_whitespace().take(15).collect())
}

/// Ticks to time.
fn ticks(ticks: u64) -> Duration {
    Duration::from_millis(ticks.saturating_mul(1000 / TICKS_PER_SECOND))
}

/// The sum of the `stat` fields at `indexes` (after "(comm) "), as a time.
fn stat_time(stat: &str, indexes: &[usize]) -> Option<Duration> {
    let fields = stat_fields(stat)?;
    let mut sum: u64 = 0;
    for &index in indexes {
        let value: u64 = fields.get(index)?.parse().ok()?;
        sum = sum.checked_add(value)?;
    }
    Some(ticks(sum))
}

/// CPU time (user + system) in the `stat` text of a process or thread.
fn stat_cpu_time(stat: &str) -> Option<Duration> {
    stat_time(stat, &[11, 12])
}

/// CPU time (user + system) of a process and of its children that it has waited for.
fn stat_cpu_time_with_reaped(stat: &str) -> Option<Duration> {
    stat_time(stat, &[11, 12, 13, 14])
}

/// The parent pid in a `stat` text.
fn stat_parent(stat: &str) -> Option<u32> {
    stat_fields(stat)?.get(1)?.parse().ok()
}

/// `root` and every process below it, from (pid, parent) pairs of the live processes.
fn tree_of(root: u32, parents: &[(u32, u32)]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(pid, parent) in parents {
        children.entry(parent).or_default().push(pid);
    }
    let mut tree = vec![root];
    let mut next = 0;
    while let Some(&pid) = tree.get(next) {
        tree.extend(children.get(&pid).into_iter().flatten().copied());
        next += 1;
    }
    tree
}

/// The process `pid` and its live descendants; `None` if `pid` does not exist.
fn process_tree(pid: u32) -> Option<Vec<u32>> {
    std::fs::metadata(format!("/proc/{pid}")).ok()?;
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).ok()?;
            Some((child, stat_parent(&stat)?))
        })
        .collect();
    Some(tree_of(pid, &parents))
}

/// CPU time the process `pid` has used so far, all its threads; `None` if it cannot be read.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    stat_cpu_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time the process `pid` and its descendants have used so far (all threads, and the
/// children they have already reaped); `None` if `pid` cannot be read.
pub fn tree_cpu_time(pid: u32) -> Option<Duration> {
    let mut total =
        stat_cpu_time_with_reaped(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?;
    for child in process_tree(pid)?.into_iter().skip(1) {
        // A child that exits between the listing and the read is counted by its parent's
        // reaped time once waited for: skipping it here loses at most its last moments.
        if let Some(time) = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|stat| stat_cpu_time_with_reaped(&stat))
        {
            total = total.saturating_add(time);
        }
    }
    Some(total)
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

/// The proportional set size (`Pss` of `smaps_rollup`) in a `smaps_rollup` text, KiB.
fn rollup_pss_kib(rollup: &str) -> Option<u64> {
    rollup
        .lines()
        .find_map(|line| line.strip_prefix("Pss:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The resident memory of the process `pid` and its descendants, KiB: each one's
/// proportional set size (`Pss`), so that pages shared between them (a forking server's code
/// and libraries) count once in all, not once per process. `None` if `pid` cannot be read.
pub fn tree_memory_kib(pid: u32) -> Option<u64> {
    let read = |pid: u32| {
        rollup_pss_kib(&std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?)
    };
    let mut total = read(pid)?;
    for child in process_tree(pid)?.into_iter().skip(1) {
        total = total.saturating_add(read(child).unwrap_or(0));
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_awkward_name() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 250 31 7 3 20 0 4 0 10 0 0";
        assert_eq!(stat_cpu_time(stat), Some(Duration::from_millis(2810)));
        assert_eq!(
            stat_cpu_time_with_reaped(stat),
            Some(Duration::from_millis(2910))
        );
        assert_eq!(stat_parent(stat), Some(1));
        assert_eq!(stat_cpu_time("42 (x) S 1"), None);
    }

    #[test]
    fn a_tree_is_the_root_and_everything_below_it() {
        let parents = [(2, 1), (3, 2), (4, 2), (5, 3), (6, 9), (1, 0)];
        let mut tree = tree_of(2, &parents);
        tree.sort_unstable();
        assert_eq!(tree, [2, 3, 4, 5]);
        assert_eq!(tree_of(7, &parents), [7]);
    }

    #[test]
    fn pss_of_a_rollup() {
        let rollup = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:  4000 kB\nPss:  1234 kB\n";
        assert_eq!(rollup_pss_kib(rollup), Some(1234));
        assert_eq!(rollup_pss_kib("Rss: 1 kB\n"), None);
    }

    #[test]
    fn a_parent_counts_its_child() {
        let me = std::process::id();
        assert!(rss_kib(me).is_some_and(|kib| kib > 0));
        assert!(tree_memory_kib(me).is_some_and(|kib| kib > 0));
        assert_eq!(rss_kib(u32::MAX), None);
        assert_eq!(tree_memory_kib(u32::MAX), None);
        assert_eq!(tree_cpu_time(u32::MAX), None);
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 5",
            ])
            .spawn()
            .expect("spawn sh");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let child_cpu = || tree_cpu_time(child.id()).unwrap_or_default();
        while child_cpu() < Duration::from_millis(50) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mine = stat_cpu_time_with_reaped(
            &std::fs::read_to_string(format!("/proc/{me}/stat")).expect("my stat"),
        )
        .expect("my CPU time");
        let tree = tree_cpu_time(me).expect("the tree's CPU time");
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            tree >= mine + Duration::from_millis(50),
            "the tree ({tree:?}) counts the busy child beside this process ({mine:?})"
        );
    }
}
