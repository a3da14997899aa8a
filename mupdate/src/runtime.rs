//! What corvid's glommio executors share: how much io_uring memory each may lock.
//!
//! glommio locks each executor's io_uring buffers in memory, and a process may lock only up to
//! RLIMIT_MEMLOCK (8 MiB on many hosts): an executor asking for more fails to start.

/// io_uring memory per executor, at most: small, since every executor's is locked memory.
const IO_MEMORY: usize = 256 << 10;

/// The least io_uring memory an executor gets.
const MIN_IO_MEMORY: usize = 64 << 10;

/// io_uring memory for each of `executors`, so that together they stay within half of the
/// process's locked-memory limit (the rest is left for the rings themselves): 256 KiB each
/// when that fits, less on a many-core host, never below 64 KiB.
pub fn io_memory(executors: usize) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            let line = limits
                .lines()
                .find(|line| line.starts_with("Max locked memory"))?;
            line.split_whitespace().nth(3)?.parse::<usize>().ok()
        })
        .unwrap_or(8 << 20);
    (limit / 2 / executors.max(1)).clamp(MIN_IO_MEMORY, IO_MEMORY)
}
