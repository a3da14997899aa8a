//! What the benchmarks read about processes from /proc: CPU time, children, threads, and
//! pinning to a CPU (through `taskset`, so that no unsafe code is needed).

use std::process::{Command, Stdio};
use std::time::Duration;

/// CPU time (user + system) that the `/proc/.../stat` file at `path` reports, in 10 ms ticks
/// (`USER_HZ` is 100 on Linux); zero if it cannot be read.
fn stat_cpu_time(path: &str) -> Duration {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // pid (comm) state ppid ...: utime and stime are fields 14 and 15, 12 and 13 after "(comm) ".
    let ticks: u64 = stat
        .rsplit_once(") ")
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// CPU time a process has used so far, all its threads.
pub fn cpu_time(pid: u32) -> Duration {
    stat_cpu_time(&format!("/proc/{pid}/stat"))
}

/// CPU time one thread (`tid`) of this process has used so far.
pub fn thread_cpu_time(tid: u32) -> Duration {
    stat_cpu_time(&format!("/proc/self/task/{tid}/stat"))
}

/// The calling thread's id (from `/proc/thread-self`, a link to `PID/task/TID`).
pub fn current_tid() -> Option<u32> {
    std::fs::read_link("/proc/thread-self")
        .ok()?
        .file_name()?
        .to_str()?
        .parse()
        .ok()
}

/// The processes whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            std::fs::read_to_string(format!("/proc/{child}/stat"))
                .ok()
                .and_then(|stat| {
                    let (_, rest) = stat.rsplit_once(") ")?;
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// Pins the task `id` (one thread: a process id names its main thread) to `cpu`; the threads
/// and processes it starts afterwards inherit the pinning. Panics if `taskset` fails.
pub fn pin(id: u32, cpu: usize) {
    let status = Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), &id.to_string()])
        .stdout(Stdio::null())
        .status()
        .expect("run taskset");
    assert!(status.success(), "taskset -p -c {cpu} {id}");
}

/// The command prefix that runs a program pinned to `cpu`.
pub fn pinned_to(cpu: usize) -> Vec<String> {
    vec!["taskset".into(), "-c".into(), cpu.to_string()]
}
