//! What the benchmarks read about processes from /proc: CPU time (corvid-bench's readers),
//! children, threads, and pinning to a CPU (through `taskset`, so that no unsafe code is needed).

use std::process::{Command, Stdio};
use std::time::Duration;

/// CPU time a process has used so far, all its threads (zero if it cannot be read).
pub fn cpu_time(pid: u32) -> Duration {
    corvid_bench::procfs::cpu_time(pid).unwrap_or_default()
}

/// CPU time one thread (`tid`) of this process has used so far (zero if it cannot be read).
pub fn thread_cpu_time(tid: u32) -> Duration {
    corvid_bench::procfs::thread_cpu_time(tid).unwrap_or_default()
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
