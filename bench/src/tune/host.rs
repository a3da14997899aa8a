//! What `corvid tune check` reads about the host: [`HostFacts`], filled by [`read`] (the one
//! function here that does I/O) from `/proc`, `/sys`, `getrlimit` and a real io_uring probe,
//! with the parsers of those files kept pure and tested on their own.
//!
//! A value that cannot be read (a file a container hides, a kernel without the knob) is
//! `None`, and the check over it says so rather than guessing.

use serde::Serialize;

/// A resource limit of this process, bytes or descriptors; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// The soft limit, the one in force.
    pub soft: Option<u64>,
    /// The hard limit, as far as an unprivileged process may raise the soft one.
    pub hard: Option<u64>,
}

/// One interrupt line of a network interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Irq {
    /// Its number (`/proc/irq/N`).
    pub number: u32,
    /// Its name in `/proc/interrupts` (for example `eth0-TxRx-3`, `virtio2-input.0`).
    pub name: String,
    /// The CPUs it may be delivered to (`smp_affinity_list`).
    pub cpus: Vec<usize>,
}

/// A network interface that is up and has a device behind it (loopback and virtual
/// interfaces have none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nic {
    /// The interface name.
    pub name: String,
    /// The interrupt lines of its device.
    pub irqs: Vec<Irq>,
}

/// Everything the checks look at, read once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// Why the io_uring probe (a glommio executor: its rings and locked io memory) failed to
    /// start, or `None` if it started.
    pub io_uring_error: Option<String>,
    /// `kernel.io_uring_disabled` (0 allowed, 1 only for `kernel.io_uring_group`, 2 never).
    pub io_uring_disabled: Option<u32>,
    /// RLIMIT_MEMLOCK, bytes.
    pub memlock: Limit,
    /// Whether this process may lock memory past RLIMIT_MEMLOCK (CAP_IPC_LOCK, root has it).
    pub ipc_lock: bool,
    /// RLIMIT_NOFILE, descriptors.
    pub nofile: Limit,
    /// `fs.nr_open`: the highest RLIMIT_NOFILE can be set to.
    pub nr_open: Option<u64>,
    /// `net.core.somaxconn`.
    pub somaxconn: Option<u64>,
    /// `net.ipv4.tcp_max_syn_backlog`.
    pub tcp_max_syn_backlog: Option<u64>,
    /// `net.ipv4.ip_local_port_range`: the first and last ephemeral port.
    pub ip_local_port_range: Option<(u32, u32)>,
    /// `net.ipv4.tcp_tw_reuse` (0 off, 1 on, 2 loopback only).
    pub tcp_tw_reuse: Option<u32>,
    /// `net.ipv4.tcp_fin_timeout`, seconds.
    pub tcp_fin_timeout: Option<u32>,
    /// `net.ipv4.tcp_rmem`: min, default, max bytes.
    pub tcp_rmem: Option<[u64; 3]>,
    /// `net.ipv4.tcp_wmem`: min, default, max bytes.
    pub tcp_wmem: Option<[u64; 3]>,
    /// CPUs this process may run on.
    pub cpus: usize,
    /// CPUs isolated from the scheduler (`isolcpus=`).
    pub isolated: Option<Vec<usize>>,
    /// CPUs without the scheduler tick (`nohz_full=`).
    pub nohz_full: Option<Vec<usize>>,
    /// The frequency governor of each CPU that has cpufreq (empty: none has, as in most VMs).
    pub governors: Vec<String>,
    /// Interfaces that carry traffic (up, with a device), and their interrupt lines.
    pub nics: Vec<Nic>,
    /// Transparent huge pages: the selected mode (`always`, `madvise`, `never`).
    pub transparent_hugepages: Option<String>,
    /// Total swap, KiB.
    pub swap_kib: Option<u64>,
    /// `vm.swappiness`.
    pub swappiness: Option<u32>,
}

/// Reads the host: the sysctls of this network namespace, this process's limits, the CPUs,
/// the NICs' interrupts, and an io_uring probe (one glommio executor started and stopped).
pub fn read() -> HostFacts {
    let triple = |name: &str| sysctl(name).and_then(|text| parse_triple(&text));
    let cpu_list = |path: &str| read_text(path).and_then(|text| parse_cpu_list(&text));
    let nics = read_nics();
    HostFacts {
        io_uring_error: probe_io_uring().err(),
        io_uring_disabled: number("kernel.io_uring_disabled"),
        memlock: limit(rustix::process::Resource::Memlock),
        ipc_lock: read_text("/proc/self/status").is_some_and(|status| has_ipc_lock(&status)),
        nofile: limit(rustix::process::Resource::Nofile),
        nr_open: number("fs.nr_open"),
        somaxconn: number("net.core.somaxconn"),
        tcp_max_syn_backlog: number("net.ipv4.tcp_max_syn_backlog"),
        ip_local_port_range: sysctl("net.ipv4.ip_local_port_range").and_then(|text| {
            let mut ports = text.split_whitespace().map(str::parse);
            match (ports.next(), ports.next()) {
                (Some(Ok(first)), Some(Ok(last))) => Some((first, last)),
                _ => None,
            }
        }),
        tcp_tw_reuse: number("net.ipv4.tcp_tw_reuse"),
        tcp_fin_timeout: number("net.ipv4.tcp_fin_timeout"),
        tcp_rmem: triple("net.ipv4.tcp_rmem"),
        tcp_wmem: triple("net.ipv4.tcp_wmem"),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        isolated: cpu_list("/sys/devices/system/cpu/isolated"),
        nohz_full: cpu_list("/sys/devices/system/cpu/nohz_full"),
        governors: read_governors(),
        nics,
        transparent_hugepages: read_text("/sys/kernel/mm/transparent_hugepage/enabled")
            .and_then(|text| selected_mode(&text)),
        swap_kib: read_text("/proc/meminfo").and_then(|text| meminfo_kib(&text, "SwapTotal")),
        swappiness: number("vm.swappiness"),
    }
}

fn read_text(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// A sysctl of this network namespace, by its dotted name.
fn sysctl(name: &str) -> Option<String> {
    read_text(&format!("/proc/sys/{}", name.replace('.', "/")))
}

/// A sysctl that holds one number.
fn number<T: std::str::FromStr>(name: &str) -> Option<T> {
    sysctl(name).and_then(|text| text.trim().parse().ok())
}

fn limit(resource: rustix::process::Resource) -> Limit {
    let rlimit = rustix::process::getrlimit(resource);
    Limit {
        soft: rlimit.current,
        hard: rlimit.maximum,
    }
}

/// Starts one glommio executor, as every corvid server does, with the io memory one of the
/// host's executors would get: a real `io_uring_setup` and buffer registration.
fn probe_io_uring() -> Result<(), String> {
    let executors = std::thread::available_parallelism().map_or(1, usize::from) + 1;
    glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
        .name("tune-probe")
        .io_memory(corvid_mupdate::runtime::io_memory(executors))
        .spawn(|| async {})
        .map_err(|error| error.to_string())?
        .join()
        .map_err(|error| error.to_string())
}

fn read_governors() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/devices/system/cpu/cpufreq") else {
        return Vec::new();
    };
    let mut governors: Vec<(String, String)> = entries
        .flatten()
        .filter_map(|entry| {
            let governor = std::fs::read_to_string(entry.path().join("scaling_governor")).ok()?;
            Some((
                entry.file_name().to_string_lossy().into_owned(),
                governor.trim().to_owned(),
            ))
        })
        .collect();
    governors.sort();
    governors
        .into_iter()
        .map(|(_, governor)| governor)
        .collect()
}

/// Interfaces that are up and have a device, with the interrupt lines of that device: its
/// MSI vectors (`device/msi_irqs`, or its parent's for a virtio NIC), else its legacy `irq`.
fn read_nics() -> Vec<Nic> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let interrupts = read_text("/proc/interrupts").unwrap_or_default();
    let names = parse_interrupt_names(&interrupts);
    let mut nics: Vec<Nic> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let device = path.join("device");
            let state = std::fs::read_to_string(path.join("operstate")).ok()?;
            if !device.exists() || state.trim() != "up" {
                return None;
            }
            let mut numbers: Vec<u32> = [device.join("msi_irqs"), device.join("../msi_irqs")]
                .iter()
                .find_map(|dir| std::fs::read_dir(dir).ok())
                .map(|irqs| {
                    irqs.flatten()
                        .filter_map(|irq| irq.file_name().to_str()?.parse().ok())
                        .collect()
                })
                .or_else(|| {
                    let irq = std::fs::read_to_string(device.join("irq")).ok()?;
                    Some(vec![irq.trim().parse().ok()?])
                })
                .unwrap_or_default();
            numbers.sort_unstable();
            let irqs = numbers
                .into_iter()
                .map(|number| Irq {
                    number,
                    name: names
                        .iter()
                        .find(|(n, _)| *n == number)
                        .map_or_else(String::new, |(_, name)| name.clone()),
                    cpus: read_text(&format!("/proc/irq/{number}/smp_affinity_list"))
                        .and_then(|text| parse_cpu_list(&text))
                        .unwrap_or_default(),
                })
                .collect();
            Some(Nic {
                name: entry.file_name().to_string_lossy().into_owned(),
                irqs,
            })
        })
        .collect();
    nics.sort_by(|a, b| a.name.cmp(&b.name));
    nics
}

/// A kernel CPU list (`0-3,8,10-11`; empty text is the empty list).
pub fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',').filter(|part| !part.is_empty()) {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (first, last): (usize, usize) = (first.parse().ok()?, last.parse().ok()?);
        // A list names CPUs, so a range is bounded by the CPUs a machine can have.
        if first > last || last >= 1 << 16 {
            return None;
        }
        cpus.extend(first..=last);
    }
    Some(cpus)
}

/// Three numbers separated by white space (`tcp_rmem`, `tcp_wmem`).
fn parse_triple(text: &str) -> Option<[u64; 3]> {
    let mut numbers = text.split_whitespace().map(|n| n.parse().ok());
    let triple = [numbers.next()??, numbers.next()??, numbers.next()??];
    numbers.next().is_none().then_some(triple)
}

/// The mode in brackets of a sysfs choice (`always [madvise] never`).
fn selected_mode(text: &str) -> Option<String> {
    let (_, rest) = text.split_once('[')?;
    let (mode, _) = rest.split_once(']')?;
    Some(mode.to_owned())
}

/// A `/proc/meminfo` field, KiB.
fn meminfo_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// Whether `/proc/self/status` grants CAP_IPC_LOCK (bit 14 of `CapEff`).
fn has_ipc_lock(status: &str) -> bool {
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|caps| caps & (1 << 14) != 0)
}

/// The numbered lines of `/proc/interrupts` and their names (the last column).
fn parse_interrupt_names(text: &str) -> Vec<(u32, String)> {
    text.lines()
        .filter_map(|line| {
            let (number, rest) = line.trim_start().split_once(':')?;
            let number = number.parse().ok()?;
            let name = rest.split_whitespace().last()?;
            Some((number, name.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(
            parse_cpu_list("0-3,8,10-11\n"),
            Some(vec![0, 1, 2, 3, 8, 10, 11])
        );
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-999999999"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn sysctl_shapes() {
        assert_eq!(
            parse_triple("4096\t131072\t33554432\n"),
            Some([4096, 131_072, 33_554_432])
        );
        assert_eq!(parse_triple("4096 131072"), None);
        assert_eq!(parse_triple("1 2 3 4"), None);
        assert_eq!(
            selected_mode("always [madvise] never\n").as_deref(),
            Some("madvise")
        );
        assert_eq!(selected_mode("always madvise never"), None);
        let meminfo = "MemTotal:       24000000 kB\nSwapTotal:       2097148 kB\n";
        assert_eq!(meminfo_kib(meminfo, "SwapTotal"), Some(2_097_148));
        assert_eq!(meminfo_kib(meminfo, "Swap"), None);
    }

    #[test]
    fn capabilities() {
        assert!(has_ipc_lock("Name:\tx\nCapEff:\t000001ffffffffff\n"));
        assert!(!has_ipc_lock("CapEff:\t0000000000000000\n"));
        assert!(!has_ipc_lock("CapEff:\tzz\n"));
    }

    #[test]
    fn interrupt_names() {
        let text = "           CPU0       CPU1\n 38:          0      17504 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\nNMI:          0          0   Non-maskable interrupts\n";
        assert_eq!(
            parse_interrupt_names(text),
            vec![(38, "virtio2-input.0".to_owned())]
        );
    }

    #[test]
    fn this_host_reads() {
        let facts = read();
        assert!(facts.cpus >= 1);
        assert!(facts.nofile.soft.is_none_or(|soft| soft > 0));
        assert!(facts.somaxconn.is_some());
    }
}
