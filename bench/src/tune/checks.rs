//! The checks of `corvid tune check`, each a pure function of the [`HostFacts`] and the
//! [`Intent`]; their figures and reasons are argued in `tuning/README.md`.

use corvid_mupdate::runtime::{IO_MEMORY, MIN_IO_MEMORY, io_memory_within};

use super::host::{HostFacts, Limit};
use super::{Check, Intent, Profile, Status};

/// Descriptors a process needs beside its sessions: listeners, the master link, files.
const DESCRIPTOR_HEADROOM: u64 = 1024;

/// The backlog the proxy's (glommio's) listeners ask for; the kernel caps it at
/// `net.core.somaxconn`.
const PROXY_BACKLOG: u64 = 1024;

/// The backlog std's listeners ask for, as `corvid backend` and `corvid mupdate` use.
const STD_BACKLOG: u64 = 128;

/// `net.core.somaxconn` and `tcp_max_syn_backlog` recommended (the kernel's default
/// somaxconn since 5.4).
const BACKLOG: u64 = 4096;

/// Locked memory recommended per executor: twice what corvid's io memory needs, since
/// io_uring charges every process of a user to one account (tuning/README.md).
const MEMLOCK_PER_EXECUTOR: u64 = 1 << 20;

/// `tcp_fin_timeout` above this keeps orphaned connections too long.
const MAX_FIN_TIMEOUT: u32 = 30;

/// The kernel's default per-socket buffer sizes (`tcp_rmem`, `tcp_wmem` middle values).
const DEFAULT_RMEM: u64 = 131_072;
const DEFAULT_WMEM: u64 = 16_384;

/// Every check, in the order of the table.
pub(super) fn all(facts: &HostFacts, intent: Intent) -> Vec<Check> {
    vec![
        io_uring(facts),
        memlock(facts),
        nofile(facts, intent),
        somaxconn(facts, intent),
        syn_backlog(facts, intent),
        ports(facts, intent),
        tw_reuse(facts, intent),
        fin_timeout(facts, intent),
        socket_buffers(facts),
        cpus(facts, intent),
        isolation(facts),
        governor(facts),
        irq_affinity(facts),
        hugepages(facts),
        swap(facts),
    ]
}

fn check(
    name: &'static str,
    status: Status,
    found: impl Into<String>,
    recommended: impl Into<String>,
    why: impl Into<String>,
) -> Check {
    Check {
        name,
        status,
        found: found.into(),
        recommended: recommended.into(),
        why: why.into(),
    }
}

fn unreadable(name: &'static str, recommended: &str) -> Check {
    check(
        name,
        Status::Info,
        "not readable",
        recommended,
        "this kernel or container does not show it",
    )
}

/// Bytes as KiB, MiB or GiB, whichever is whole.
fn bytes(value: u64) -> String {
    match value {
        v if v >= 1 << 30 && v % (1 << 30) == 0 => format!("{} GiB", v >> 30),
        v if v >= 1 << 20 && v % (1 << 20) == 0 => format!("{} MiB", v >> 20),
        v if v >= 1 << 10 && v % (1 << 10) == 0 => format!("{} KiB", v >> 10),
        v => format!("{v} B"),
    }
}

/// A CPU list in the kernel's form (`0-3,8`).
fn cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for cpu in sorted {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == cpu => *last = cpu,
            _ => ranges.push((cpu, cpu)),
        }
    }
    let parts: Vec<String> = ranges
        .into_iter()
        .map(|(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}-{last}")
            }
        })
        .collect();
    parts.join(",")
}

/// The executors a corvid server starts here: one per CPU, and one more (the proxy's
/// follower, the backend's registrar).
fn executors(facts: &HostFacts) -> u64 {
    facts.cpus as u64 + 1
}

fn io_uring(facts: &HostFacts) -> Check {
    const NAME: &str = "io_uring";
    let disabled = facts
        .io_uring_disabled
        .map_or("io_uring_disabled unknown".to_owned(), |value| {
            format!("io_uring_disabled = {value}")
        });
    match (&facts.io_uring_error, facts.io_uring_disabled) {
        // glommio refuses to start under too small a locked-memory limit before any ring.
        (Some(error), _) if error.contains("MemLock") => check(
            NAME,
            Status::Fatal,
            format!("probe failed: {error}"),
            "see RLIMIT_MEMLOCK",
            "glommio will not start an executor under this locked-memory limit",
        ),
        (Some(error), _) => check(
            NAME,
            Status::Fatal,
            format!("probe failed: {error} ({disabled})"),
            "kernel.io_uring_disabled = 0, kernel ≥ 5.8",
            "every corvid server runs on glommio, which needs io_uring",
        ),
        (None, Some(1)) => check(
            NAME,
            Status::Warn,
            format!("works for this user; {disabled}"),
            "kernel.io_uring_disabled = 0, or the service user in kernel.io_uring_group",
            "1 allows io_uring only to root and io_uring_group: the service user may be refused",
        ),
        (None, _) => check(
            NAME,
            Status::Ok,
            format!("probe started an executor; {disabled}"),
            "kernel.io_uring_disabled = 0",
            "every corvid server runs on glommio, which needs io_uring",
        ),
    }
}

fn memlock(facts: &HostFacts) -> Check {
    const NAME: &str = "RLIMIT_MEMLOCK";
    let executors = executors(facts);
    let recommended_bytes = (executors * MEMLOCK_PER_EXECUTOR).max(8 << 20);
    let recommended = format!("LimitMEMLOCK={}", bytes(recommended_bytes));
    let Some(limit) = facts.memlock.soft else {
        return check(
            NAME,
            Status::Ok,
            "unlimited",
            recommended,
            format!(
                "{executors} executors at {} io memory each",
                bytes(IO_MEMORY as u64)
            ),
        );
    };
    let usable = usize::try_from(limit).unwrap_or(usize::MAX);
    let executors_usize = usize::try_from(executors).unwrap_or(usize::MAX);
    let io = io_memory_within(usable, executors_usize) as u64;
    let full = limit / (2 * IO_MEMORY as u64);
    let found = format!("{} ({executors} executors × {})", bytes(limit), bytes(io));
    if facts.ipc_lock {
        return check(
            NAME,
            Status::Ok,
            found + ", CAP_IPC_LOCK",
            recommended + " for a service user",
            "this user may lock past the limit; a service user without CAP_IPC_LOCK may not",
        );
    }
    if limit < executors * 2 * MIN_IO_MEMORY as u64 {
        check(
            NAME,
            Status::Fatal,
            found,
            recommended,
            "too little locked memory for one executor per CPU: executors fail to start (ENOMEM)",
        )
    } else if io < IO_MEMORY as u64 {
        check(
            NAME,
            Status::Warn,
            found,
            recommended,
            format!(
                "executors get less io memory, and past {full} at full io memory some fail to start (measured)"
            ),
        )
    } else {
        check(
            NAME,
            Status::Ok,
            found,
            recommended,
            format!(
                "io_uring buffers are locked memory, charged per user: {full} executors at {} fit",
                bytes(IO_MEMORY as u64)
            ),
        )
    }
}

fn nofile(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "RLIMIT_NOFILE";
    let per_session: u64 = if intent.profile == Profile::Proxy {
        2
    } else {
        1
    };
    let need = intent
        .sessions
        .saturating_mul(per_session)
        .saturating_add(DESCRIPTOR_HEADROOM);
    let target = need.checked_next_power_of_two().unwrap_or(need);
    let mut recommended = format!("LimitNOFILE={target}");
    if facts.nr_open.is_some_and(|nr_open| nr_open < target) {
        recommended += &format!(", fs.nr_open = {target}");
    }
    let why = format!(
        "{} sessions × {per_session} descriptor(s) + {DESCRIPTOR_HEADROOM} = {need}",
        intent.sessions
    );
    let show = |value: Option<u64>| value.map_or("unlimited".to_owned(), |v| v.to_string());
    let Limit { soft, hard } = facts.nofile;
    let found = format!("soft {}, hard {}", show(soft), show(hard));
    if soft.is_none_or(|soft| soft >= need) {
        check(NAME, Status::Ok, found, recommended, why)
    } else {
        check(
            NAME,
            Status::Warn,
            found,
            recommended,
            why + ": past the limit, accept fails (EMFILE)",
        )
    }
}

fn somaxconn(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "net.core.somaxconn";
    if intent.profile == Profile::Bench {
        return check(
            NAME,
            Status::Info,
            facts.somaxconn.map_or("-".to_owned(), |v| v.to_string()),
            "-",
            "the bench only connects; its target's host needs it",
        );
    }
    let Some(value) = facts.somaxconn else {
        return unreadable(NAME, &BACKLOG.to_string());
    };
    let backlog = if intent.profile == Profile::Proxy {
        PROXY_BACKLOG
    } else {
        STD_BACKLOG
    };
    let why = format!(
        "the accept queue is min(somaxconn, {backlog} asked); past it a connect is dropped and retried after 1 s (measured)"
    );
    let status = if value < backlog {
        Status::Warn
    } else {
        Status::Ok
    };
    check(NAME, status, value.to_string(), BACKLOG.to_string(), why)
}

fn syn_backlog(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "net.ipv4.tcp_max_syn_backlog";
    if intent.profile == Profile::Bench {
        return check(
            NAME,
            Status::Info,
            facts
                .tcp_max_syn_backlog
                .map_or("-".to_owned(), |v| v.to_string()),
            "-",
            "the bench only connects",
        );
    }
    let Some(value) = facts.tcp_max_syn_backlog else {
        return unreadable(NAME, &BACKLOG.to_string());
    };
    let status = if value < PROXY_BACKLOG {
        Status::Warn
    } else {
        Status::Ok
    };
    check(
        NAME,
        status,
        value.to_string(),
        BACKLOG.to_string(),
        "half-open connections held during a reconnect storm (kernel docs; syncookies past it)",
    )
}

fn ports(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "net.ipv4.ip_local_port_range";
    const WIDE: (u32, u32) = (1024, 65535);
    let recommended = format!("{} {}", WIDE.0, WIDE.1);
    let peer = match intent.profile {
        Profile::Backend => {
            return check(
                NAME,
                Status::Info,
                facts
                    .ip_local_port_range
                    .map_or("-".to_owned(), |(a, b)| format!("{a} {b}")),
                "-",
                "a backend makes no outgoing connections per session",
            );
        }
        Profile::Proxy => "backend address",
        Profile::Bench => "target address",
    };
    let Some((first, last)) = facts.ip_local_port_range else {
        return unreadable(NAME, &recommended);
    };
    let count = u64::from(last.saturating_sub(first)) + 1;
    let found = format!("{first} {last} ({count} ports)");
    if intent.sessions <= count {
        return check(
            NAME,
            Status::Ok,
            found,
            recommended,
            format!("one outgoing connection a session: up to {count} per {peer}"),
        );
    }
    let wide = u64::from(WIDE.1 - WIDE.0) + 1;
    let addresses = intent.sessions.div_ceil(wide);
    let why = if addresses > 1 {
        format!(
            "{} sessions need {addresses} {peer}es even with the widest range ({wide} ports each)",
            intent.sessions
        )
    } else {
        format!(
            "{} sessions to one {peer} need as many ports; connect fails (EADDRNOTAVAIL) past {count}",
            intent.sessions
        )
    };
    check(NAME, Status::Warn, found, recommended, why)
}

fn tw_reuse(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "net.ipv4.tcp_tw_reuse";
    let why = "lets a new outgoing connection take a port still in TIME_WAIT (after every logout)";
    let Some(value) = facts.tcp_tw_reuse else {
        return unreadable(NAME, "1");
    };
    let status = match (intent.profile, value) {
        (Profile::Backend, _) => {
            return check(
                NAME,
                Status::Info,
                value.to_string(),
                "-",
                "a backend makes no outgoing connections per session",
            );
        }
        (_, 1) => Status::Ok,
        // 2 is loopback only: enough for a bench against a local target.
        (Profile::Bench, 2) => Status::Info,
        _ => Status::Warn,
    };
    check(NAME, status, value.to_string(), "1", why)
}

fn fin_timeout(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "net.ipv4.tcp_fin_timeout";
    let Some(value) = facts.tcp_fin_timeout else {
        return unreadable(NAME, "15");
    };
    let status = if intent.profile == Profile::Bench || value <= MAX_FIN_TIMEOUT {
        Status::Ok
    } else {
        Status::Warn
    };
    check(
        NAME,
        status,
        format!("{value} s"),
        "15 s",
        "how long a closed connection whose client vanished holds its socket (kernel docs)",
    )
}

fn socket_buffers(facts: &HostFacts) -> Check {
    const NAME: &str = "net.ipv4.tcp_rmem / tcp_wmem";
    let (Some(rmem), Some(wmem)) = (facts.tcp_rmem, facts.tcp_wmem) else {
        return unreadable(NAME, "the kernel's defaults");
    };
    let found = format!("default {} / {}", bytes(rmem[1]), bytes(wmem[1]));
    let recommended = format!(
        "default ≤ {} / {}",
        bytes(DEFAULT_RMEM),
        bytes(DEFAULT_WMEM)
    );
    if rmem[1] <= DEFAULT_RMEM && wmem[1] <= DEFAULT_WMEM {
        check(
            NAME,
            Status::Ok,
            found,
            recommended,
            "an idle session's socket holds no buffer; the defaults cap a busy one (measured)",
        )
    } else {
        check(
            NAME,
            Status::Warn,
            found,
            recommended,
            "raised defaults let every busy session hold more kernel memory; autotuning grows them where needed",
        )
    }
}

fn cpus(facts: &HostFacts, intent: Intent) -> Check {
    const NAME: &str = "CPUs";
    let found = format!("{} usable", facts.cpus);
    match intent.profile {
        Profile::Bench if facts.cpus < 2 => check(
            NAME,
            Status::Warn,
            found,
            "≥ 2: the bench on its own CPU",
            "a bench sharing the target's only CPU measures the two together",
        ),
        Profile::Bench => check(
            NAME,
            Status::Ok,
            found,
            "the bench on the last CPU, the target elsewhere",
            "the bench pins its executors (--cores) apart from the target's",
        ),
        Profile::Proxy | Profile::Backend => check(
            NAME,
            Status::Ok,
            found,
            "one executor per CPU",
            format!(
                "{} executors: one pinned per CPU, one more for the master link",
                executors(facts)
            ),
        ),
    }
}

fn isolation(facts: &HostFacts) -> Check {
    const NAME: &str = "isolated CPUs";
    let isolated = facts.isolated.clone().unwrap_or_default();
    let nohz = facts.nohz_full.clone().unwrap_or_default();
    if isolated.is_empty() && nohz.is_empty() {
        return check(
            NAME,
            Status::Info,
            "none",
            "optional: isolcpus= nohz_full= for the proxy's CPUs",
            "on a dedicated host the proxy's cores then run nothing else and take no tick",
        );
    }
    check(
        NAME,
        Status::Ok,
        format!(
            "isolated {}, nohz_full {}",
            cpu_list(&isolated),
            cpu_list(&nohz)
        ),
        "run corvid there (CPUAffinity=)",
        "the proxy's executors pin themselves to the CPUs it is allowed",
    )
}

fn governor(facts: &HostFacts) -> Check {
    const NAME: &str = "CPU frequency governor";
    if facts.governors.is_empty() {
        return check(
            NAME,
            Status::Info,
            "no cpufreq",
            "performance",
            "the clock is not governed here (a VM, or a fixed clock)",
        );
    }
    let mut kinds = facts.governors.clone();
    kinds.sort();
    kinds.dedup();
    let status = if kinds.iter().all(|kind| kind == "performance") {
        Status::Ok
    } else {
        Status::Warn
    };
    check(
        NAME,
        status,
        kinds.join(", "),
        "performance",
        "a clock that slows when idle adds wake-up latency to every relayed command",
    )
}

fn irq_affinity(facts: &HostFacts) -> Check {
    const NAME: &str = "NIC IRQ affinity";
    if facts.nics.is_empty() {
        return check(
            NAME,
            Status::Info,
            "loopback only",
            "-",
            "no NIC carries traffic here, so no interrupts to place",
        );
    }
    let found = facts
        .nics
        .iter()
        .map(|nic| {
            let cpus: Vec<usize> = nic.irqs.iter().flat_map(|irq| irq.cpus.clone()).collect();
            format!(
                "{}: {} IRQs on {}",
                nic.name,
                nic.irqs.len(),
                cpu_list(&cpus)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let isolated = facts.isolated.clone().unwrap_or_default();
    let on_isolated = facts
        .nics
        .iter()
        .flat_map(|nic| &nic.irqs)
        .any(|irq| irq.cpus.iter().any(|cpu| isolated.contains(cpu)));
    let one_cpu = facts.cpus > 1
        && facts.nics.iter().any(|nic| {
            let mut cpus: Vec<usize> = nic.irqs.iter().flat_map(|irq| irq.cpus.clone()).collect();
            cpus.sort_unstable();
            cpus.dedup();
            cpus.len() == 1
        });
    let recommended = "queues spread over the CPUs the proxy does not use (irq-affinity.sh)";
    if on_isolated {
        check(
            NAME,
            Status::Warn,
            found,
            recommended,
            "NIC interrupts land on isolated CPUs, interrupting the proxy's executors",
        )
    } else if one_cpu {
        check(
            NAME,
            Status::Warn,
            found,
            recommended,
            "every queue of a NIC interrupts one CPU: it becomes the bottleneck",
        )
    } else {
        check(
            NAME,
            Status::Ok,
            found,
            recommended,
            "interrupts are spread and keep off isolated CPUs",
        )
    }
}

fn hugepages(facts: &HostFacts) -> Check {
    const NAME: &str = "transparent huge pages";
    let Some(mode) = &facts.transparent_hugepages else {
        return unreadable(NAME, "madvise");
    };
    let status = if mode == "always" {
        Status::Warn
    } else {
        Status::Ok
    };
    check(
        NAME,
        status,
        mode.clone(),
        "madvise",
        "'always' can back sparse per-session heaps with 2 MiB pages and stall on compaction (kernel docs)",
    )
}

fn swap(facts: &HostFacts) -> Check {
    const NAME: &str = "swap";
    let Some(swap_kib) = facts.swap_kib else {
        return unreadable(NAME, "none, or vm.swappiness = 1");
    };
    let swappiness = facts
        .swappiness
        .map_or("?".to_owned(), |value| value.to_string());
    let found = if swap_kib == 0 {
        "none".to_owned()
    } else {
        format!("{}, swappiness {swappiness}", bytes(swap_kib << 10))
    };
    let swaps_eagerly = swap_kib > 0 && facts.swappiness.is_some_and(|value| value > 10);
    check(
        NAME,
        if swaps_eagerly {
            Status::Warn
        } else {
            Status::Ok
        },
        found,
        "none, or vm.swappiness = 1",
        "an idle session's memory swapped out stalls its core when the client wakes up",
    )
}

#[cfg(test)]
mod tests {
    use super::super::host::{Irq, Nic};
    use super::*;

    /// This machine, as read on 2026-11-28 (a 2-vCPU VM, run as root).
    fn fixture() -> HostFacts {
        HostFacts {
            io_uring_error: None,
            io_uring_disabled: Some(0),
            memlock: Limit {
                soft: Some(8 << 20),
                hard: Some(8 << 20),
            },
            ipc_lock: false,
            nofile: Limit {
                soft: Some(20_000),
                hard: Some(20_000),
            },
            nr_open: Some(1_048_576),
            somaxconn: Some(4096),
            tcp_max_syn_backlog: Some(2048),
            ip_local_port_range: Some((32768, 60999)),
            tcp_tw_reuse: Some(2),
            tcp_fin_timeout: Some(60),
            tcp_rmem: Some([4096, 131_072, 33_554_432]),
            tcp_wmem: Some([4096, 16_384, 4_194_304]),
            cpus: 2,
            isolated: Some(vec![]),
            nohz_full: None,
            governors: vec![],
            nics: vec![],
            transparent_hugepages: Some("madvise".into()),
            swap_kib: Some(0),
            swappiness: Some(60),
        }
    }

    const PROXY: Intent = Intent {
        profile: Profile::Proxy,
        sessions: 100_000,
    };
    const BACKEND: Intent = Intent {
        profile: Profile::Backend,
        sessions: 100_000,
    };
    const BENCH: Intent = Intent {
        profile: Profile::Bench,
        sessions: 1000,
    };

    fn status(check: Check) -> Status {
        check.status
    }

    #[test]
    fn io_uring_probe_and_sysctl() {
        let mut facts = fixture();
        assert_eq!(status(io_uring(&facts)), Status::Ok);
        facts.io_uring_disabled = Some(1);
        assert_eq!(status(io_uring(&facts)), Status::Warn);
        facts.io_uring_error = Some("Operation not permitted (os error 1)".into());
        facts.io_uring_disabled = Some(2);
        let failed = io_uring(&facts);
        assert_eq!(failed.status, Status::Fatal);
        assert!(failed.found.contains("not permitted") && failed.found.contains("= 2"));
        facts.io_uring_error = Some("IO error occurred: MemLockLimit(262144/524288)".into());
        assert_eq!(io_uring(&facts).recommended, "see RLIMIT_MEMLOCK");
    }

    #[test]
    fn memlock_executors_and_io_memory() {
        let mut facts = fixture();
        let ok = memlock(&facts);
        assert_eq!(ok.status, Status::Ok);
        assert_eq!(ok.found, "8 MiB (3 executors × 256 KiB)");
        assert!(ok.why.ends_with("16 executors at 256 KiB fit"));
        assert_eq!(ok.recommended, "LimitMEMLOCK=8 MiB");
        facts.cpus = 63;
        let squeezed = memlock(&facts);
        assert_eq!(squeezed.status, Status::Warn);
        assert_eq!(squeezed.found, "8 MiB (64 executors × 64 KiB)");
        assert_eq!(squeezed.recommended, "LimitMEMLOCK=64 MiB");
        facts.cpus = 127;
        assert_eq!(status(memlock(&facts)), Status::Fatal);
        facts.ipc_lock = true;
        assert_eq!(status(memlock(&facts)), Status::Ok);
        facts.memlock.soft = None;
        assert_eq!(memlock(&facts).found, "unlimited");
    }

    #[test]
    fn descriptors_per_profile() {
        let mut facts = fixture();
        let proxy = nofile(&facts, PROXY);
        assert_eq!(proxy.status, Status::Warn);
        assert_eq!(proxy.found, "soft 20000, hard 20000");
        assert_eq!(proxy.recommended, "LimitNOFILE=262144");
        assert!(
            proxy
                .why
                .starts_with("100000 sessions × 2 descriptor(s) + 1024 = 201024")
        );
        assert_eq!(nofile(&facts, BACKEND).recommended, "LimitNOFILE=131072");
        assert_eq!(status(nofile(&facts, BENCH)), Status::Ok);
        facts.nofile.soft = Some(300_000);
        assert_eq!(status(nofile(&facts, PROXY)), Status::Ok);
        facts.nr_open = Some(65536);
        assert_eq!(
            nofile(&facts, PROXY).recommended,
            "LimitNOFILE=262144, fs.nr_open = 262144"
        );
        facts.nofile.soft = None;
        assert_eq!(status(nofile(&facts, PROXY)), Status::Ok);
    }

    #[test]
    fn listen_backlogs() {
        let mut facts = fixture();
        assert_eq!(status(somaxconn(&facts, PROXY)), Status::Ok);
        assert_eq!(status(syn_backlog(&facts, PROXY)), Status::Ok);
        facts.somaxconn = Some(128);
        facts.tcp_max_syn_backlog = Some(128);
        assert_eq!(status(somaxconn(&facts, PROXY)), Status::Warn);
        assert_eq!(status(somaxconn(&facts, BACKEND)), Status::Ok);
        assert!(somaxconn(&facts, BACKEND).why.contains("128 asked"));
        facts.somaxconn = Some(64);
        assert_eq!(status(somaxconn(&facts, BACKEND)), Status::Warn);
        assert_eq!(status(syn_backlog(&facts, BACKEND)), Status::Warn);
        assert_eq!(status(somaxconn(&facts, BENCH)), Status::Info);
        facts.somaxconn = None;
        assert_eq!(status(somaxconn(&facts, PROXY)), Status::Info);
    }

    #[test]
    fn ephemeral_ports() {
        let mut facts = fixture();
        let narrow = ports(&facts, PROXY);
        assert_eq!(narrow.status, Status::Warn);
        assert_eq!(narrow.found, "32768 60999 (28232 ports)");
        assert_eq!(narrow.recommended, "1024 65535");
        assert!(narrow.why.contains("need 2 backend addresses"));
        assert_eq!(status(ports(&facts, BENCH)), Status::Ok);
        assert_eq!(status(ports(&facts, BACKEND)), Status::Info);
        facts.ip_local_port_range = Some((1024, 65535));
        let one_more = Intent {
            sessions: 64_513,
            ..PROXY
        };
        assert!(ports(&facts, one_more).why.contains("need 2"));
        let fits = Intent {
            sessions: 64_512,
            ..PROXY
        };
        assert_eq!(status(ports(&facts, fits)), Status::Ok);
    }

    #[test]
    fn time_wait_and_fin_timeout() {
        let mut facts = fixture();
        assert_eq!(status(tw_reuse(&facts, PROXY)), Status::Warn);
        assert_eq!(status(tw_reuse(&facts, BENCH)), Status::Info);
        assert_eq!(status(tw_reuse(&facts, BACKEND)), Status::Info);
        facts.tcp_tw_reuse = Some(1);
        assert_eq!(status(tw_reuse(&facts, PROXY)), Status::Ok);
        assert_eq!(status(fin_timeout(&facts, PROXY)), Status::Warn);
        assert_eq!(status(fin_timeout(&facts, BENCH)), Status::Ok);
        facts.tcp_fin_timeout = Some(15);
        assert_eq!(status(fin_timeout(&facts, PROXY)), Status::Ok);
    }

    #[test]
    fn socket_buffer_defaults() {
        let mut facts = fixture();
        let defaults = socket_buffers(&facts);
        assert_eq!(defaults.status, Status::Ok);
        assert_eq!(defaults.found, "default 128 KiB / 16 KiB");
        facts.tcp_wmem = Some([4096, 1 << 20, 16 << 20]);
        assert_eq!(status(socket_buffers(&facts)), Status::Warn);
        facts.tcp_rmem = None;
        assert_eq!(status(socket_buffers(&facts)), Status::Info);
    }

    #[test]
    fn cpu_count_and_isolation() {
        let mut facts = fixture();
        assert_eq!(cpus(&facts, PROXY).found, "2 usable");
        assert!(cpus(&facts, PROXY).why.starts_with("3 executors"));
        assert_eq!(status(cpus(&facts, BENCH)), Status::Ok);
        facts.cpus = 1;
        assert_eq!(status(cpus(&facts, BENCH)), Status::Warn);
        assert_eq!(status(isolation(&facts)), Status::Info);
        facts.isolated = Some(vec![2, 3, 4, 7]);
        facts.nohz_full = Some(vec![2, 3, 4]);
        let isolated = isolation(&facts);
        assert_eq!(isolated.status, Status::Ok);
        assert_eq!(isolated.found, "isolated 2-4,7, nohz_full 2-4");
    }

    #[test]
    fn governors() {
        let mut facts = fixture();
        assert_eq!(status(governor(&facts)), Status::Info);
        facts.governors = vec!["performance".into(), "performance".into()];
        assert_eq!(status(governor(&facts)), Status::Ok);
        facts.governors = vec!["powersave".into(), "performance".into()];
        let mixed = governor(&facts);
        assert_eq!(mixed.status, Status::Warn);
        assert_eq!(mixed.found, "performance, powersave");
    }

    #[test]
    fn nic_interrupts() {
        let mut facts = fixture();
        let loopback = irq_affinity(&facts);
        assert_eq!(loopback.status, Status::Info);
        assert_eq!(loopback.found, "loopback only");
        let irq = |number, cpus: Vec<usize>| Irq {
            number,
            name: format!("eth0-TxRx-{number}"),
            cpus,
        };
        facts.nics = vec![Nic {
            name: "eth0".into(),
            irqs: vec![irq(40, vec![0, 1]), irq(41, vec![0, 1])],
        }];
        let spread = irq_affinity(&facts);
        assert_eq!(spread.status, Status::Ok);
        assert_eq!(spread.found, "eth0: 2 IRQs on 0-1");
        facts.isolated = Some(vec![1]);
        assert_eq!(status(irq_affinity(&facts)), Status::Warn);
        facts.isolated = Some(vec![]);
        facts.nics[0].irqs = vec![irq(40, vec![0]), irq(41, vec![0])];
        assert_eq!(status(irq_affinity(&facts)), Status::Warn);
    }

    #[test]
    fn memory_knobs() {
        let mut facts = fixture();
        assert_eq!(status(hugepages(&facts)), Status::Ok);
        facts.transparent_hugepages = Some("always".into());
        assert_eq!(status(hugepages(&facts)), Status::Warn);
        assert_eq!(swap(&facts).found, "none");
        assert_eq!(status(swap(&facts)), Status::Ok);
        facts.swap_kib = Some(2 << 20);
        let swapping = swap(&facts);
        assert_eq!(swapping.status, Status::Warn);
        assert_eq!(swapping.found, "2 GiB, swappiness 60");
        facts.swappiness = Some(1);
        assert_eq!(status(swap(&facts)), Status::Ok);
    }

    #[test]
    fn report_exit_codes() {
        let tuned = HostFacts {
            nofile: Limit {
                soft: Some(1 << 18),
                hard: Some(1 << 18),
            },
            ip_local_port_range: Some((1024, 65535)),
            tcp_tw_reuse: Some(1),
            tcp_fin_timeout: Some(15),
            ..fixture()
        };
        let intent = Intent {
            sessions: 60_000,
            ..PROXY
        };
        let report = super::super::check(tuned.clone(), intent);
        assert_eq!(report.checks.len(), 15);
        assert_eq!(report.exit_code(), 0, "{}", report.table());
        assert_eq!(super::super::check(fixture(), PROXY).exit_code(), 1);
        let broken = HostFacts {
            io_uring_error: Some("Function not implemented (os error 38)".into()),
            ..tuned
        };
        let report = super::super::check(broken, intent);
        assert_eq!(report.exit_code(), 2);
        assert!(report.table().contains("FATAL  io_uring"));
    }
}
