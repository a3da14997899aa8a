#!/usr/bin/env python3
"""bench/peers/tables.py: the side-by-side tables of issue 7, from run-tables.sh's reports.

    tables.py --half-rate RELAY.json       half of the first target's median op/s (a --rate)
    tables.py --results DIR --out FILE --seconds S --idle-sessions N

The second form reads the `corvid bench --json` reports run-tables.sh left in DIR (idle-plain,
idle-tls, relay-1, relay-32, login-plain, login-tls, latency, scaling; each with its .cmd) and
writes the Markdown page. Every figure is the median over a run's rounds (`rounds` in the
report), except memory (one round: the sessions held at its end).
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess

# Target addresses (run-tables.sh) to the names in the tables.
PORTS = {
    "17143": "Dovecot backend, direct",
    "17148": "corvid",
    "17998": "corvid",
    "17158": "corvid, 2 cores",
    "17144": "nginx",
    "17994": "nginx",
    "17145": "Dovecot proxy",
    "17995": "Dovecot proxy",
    "17146": "Cyrus frontend",
    "17996": "Cyrus frontend",
}


def name(target):
    return PORTS.get(target["target"].rsplit(":", 1)[-1], target["target"])


def load(results, run):
    with open(os.path.join(results, run + ".json")) as f:
        return json.load(f)


def median(target, field):
    values = [r[field] for r in target.get("rounds", []) if r.get(field) is not None]
    return statistics.median(values) if values else None


def num(value, digits=0):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def ratio(value, base):
    if value is None or not base:
        return "–"
    return f"{value / base:.2f}x"


def half_rate(path):
    with open(path) as f:
        report = json.load(f)
    print(f"{median(report['targets'][0], 'operations_per_second') / 2:.0f}")


def memory_table(results):
    plain, tls = (load(results, run)["targets"] + load(results, run + "-cyrus")["targets"]
                  for run in ("idle-plain", "idle-tls"))
    rows = ["| proxy | sessions | plain: bytes per session | TLS: bytes per session | plain ÷ corvid | TLS ÷ corvid |",
            "|---|---:|---:|---:|---:|---:|"]
    base_plain = plain[0]["rss_bytes_per_session"]
    base_tls = tls[0]["rss_bytes_per_session"]
    for p, t in zip(plain, tls):
        rows.append(f"| {name(p)} | {p['sessions']:,} | {num(p['rss_bytes_per_session'])} | {num(t['rss_bytes_per_session'])} "
                    f"| {ratio(p['rss_bytes_per_session'], base_plain)} | {ratio(t['rss_bytes_per_session'], base_tls)} |")
    return rows


def relay_table(results):
    one, many = load(results, "relay-1"), load(results, "relay-32")
    rows = ["| target | 1 session: CPU µs per command | 1 session: commands per CPU-s | 32 sessions: CPU µs per command "
            "| 32 sessions: commands per CPU-s | 32 sessions: commands/s | per CPU-s ÷ corvid (32) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    base = median(many["targets"][0], "operations_per_cpu_second")
    for a, b in zip(one["targets"], many["targets"]):
        rows.append(f"| {name(a)} | {num(median(a, 'cpu_us_per_operation'), 1)} "
                    f"| {num(median(a, 'operations_per_cpu_second'))} | {num(median(b, 'cpu_us_per_operation'), 1)} "
                    f"| {num(median(b, 'operations_per_cpu_second'))} | {num(median(b, 'operations_per_second'))} "
                    f"| {ratio(median(b, 'operations_per_cpu_second'), base)} |")
    return rows


def login_table(results):
    plain, tls = load(results, "login-plain"), load(results, "login-tls")
    rows = ["| proxy | plain: logins/s | plain: logins per CPU-s | TLS: logins/s | TLS: logins per CPU-s "
            "| plain per CPU-s ÷ corvid | TLS per CPU-s ÷ corvid |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    base_plain = median(plain["targets"][0], "operations_per_cpu_second")
    base_tls = median(tls["targets"][0], "operations_per_cpu_second")
    for p, t in zip(plain["targets"], tls["targets"]):
        rows.append(f"| {name(p)} | {num(median(p, 'operations_per_second'))} | {num(median(p, 'operations_per_cpu_second'))} "
                    f"| {num(median(t, 'operations_per_second'))} | {num(median(t, 'operations_per_cpu_second'))} "
                    f"| {ratio(median(p, 'operations_per_cpu_second'), base_plain)} "
                    f"| {ratio(median(t, 'operations_per_cpu_second'), base_tls)} |")
    return rows


def latency_table(results):
    report = load(results, "latency")
    direct = report["targets"][0]
    d50, d99 = median(direct, "p50_us"), median(direct, "p99_us")
    rows = [f"Open loop at {num(report['rate'])} commands/s (32 sessions).", "",
            "| target | commands/s reached | p50 µs | p99 µs | added p50 µs | added p99 µs |",
            "|---|---:|---:|---:|---:|---:|"]
    for t in report["targets"]:
        p50, p99 = median(t, "p50_us"), median(t, "p99_us")
        added = t is not direct
        rows.append(f"| {name(t)} | {num(median(t, 'operations_per_second'))} | {num(p50)} | {num(p99)} "
                    f"| {num(p50 - d50) if added else '–'} | {num(p99 - d99) if added else '–'} |")
    return rows


def scaling_table(results):
    report = load(results, "scaling")
    one = report["targets"][0]
    rows = ["| corvid proxy | commands/s | commands per CPU-s | p50 µs | p99 µs | commands/s ÷ 1 core |",
            "|---|---:|---:|---:|---:|---:|"]
    for t, label in zip(report["targets"], ["1 core (CPU 0)", "2 cores (CPUs 0 and 1)"]):
        rows.append(f"| {label} | {num(median(t, 'operations_per_second'))} | {num(median(t, 'operations_per_cpu_second'))} "
                    f"| {num(median(t, 'p50_us'))} | {num(median(t, 'p99_us'))} "
                    f"| {ratio(median(t, 'operations_per_second'), median(one, 'operations_per_second'))} |")
    return rows


def command(results, run):
    with open(os.path.join(results, run + ".cmd")) as f:
        return f.read().strip()


def version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return f"{os.cpu_count()} vCPUs ({model}), {mem_kib / 2**20:.0f} GiB, Linux {platform.release()}"


def load_averages(results):
    """The machine's load averages (1, 5, 15 min) at the start and the end of the run."""
    found = []
    for when in ("start", "end"):
        try:
            with open(os.path.join(results, f"loadavg-{when}")) as f:
                found.append(f"{f.read().strip()} at the {when}")
        except OSError:
            pass
    return "; load averages " + ", ".join(found) if found else ""


def page(args):
    r = args.results
    failures = [(run, len(load(r, run)["errors"])) for run in RUNS if load(r, run)["errors"]]
    out = [
        "# Benchmark tables: corvid beside its peers",
        "",
        "Generated by `bench/peers/run-tables.sh` (issue 7); do not edit by hand. The method and",
        "the caveats are in [benchmarking.md](benchmarking.md#the-peers-side-by-side).",
        "",
        f"* Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; the run took {args.seconds} s.",
        f"* Machine: {machine()}; shared with other work{load_averages(r)}.",
        f"* corvid {version(['git', '-C', os.path.dirname(os.path.abspath(__file__)), 'rev-parse', '--short', 'HEAD'])} (release build),"
        f" {version(['/usr/sbin/nginx', '-v'])}, Dovecot {version(['/usr/sbin/dovecot', '--version'])},"
        f" Cyrus IMAP {version(['dpkg-query', '-W', '-f=${Version}', 'cyrus-imapd'])}.",
        "* Every proxy on CPU 0, in front of the same Dovecot backend; the load generator, the backend",
        "  and the MUPDATE masters on CPU 1. Figures are medians of 5 interleaved rounds (memory:",
        "  one round). CPU is the proxy's whole process tree (`--pid`), memory its proportional set size.",
        "",
        f"## Memory per idle session ({args.idle_sessions:,} sessions per proxy in IDLE, INBOX selected)",
        "",
        f"Cyrus in a run of its own with {args.cyrus_idle_sessions} sessions: it forks an `imapd` per connection, and",
        "of 100 sessions opened at once it did not accept all within the bench's 30 s connect bound.",
        "",
        *memory_table(r),
        "",
        "## CPU per relayed command (NOOP, `FETCH 1 (UID FLAGS)`, `STATUS INBOX (MESSAGES)`, 1:1:1; plain)",
        "",
        "Commands per CPU-second is the rate one core of the proxy would carry.",
        "The direct row is the backend's own CPU (its tree of processes) for the same commands.",
        "",
        *relay_table(r),
        "",
        "## Logins per core (connect, LOGIN, SELECT INBOX, LOGOUT; 8 sessions; TLS: a full handshake each)",
        "",
        *login_table(r),
        "",
        "## Added latency at half of corvid's maximum rate",
        "",
        *latency_table(r),
        "",
        "## Scaling from 1 to 2 proxy cores (64 sessions, closed loop)",
        "",
        "On this 2-vCPU machine the second core is CPU 1, which the load generator and the backend",
        "also use: this shows that a second executor works and what it costs, not how far corvid",
        "scales (that needs cores to spare for the clients and the backend).",
        "",
        *scaling_table(r),
        "",
        "## Commands",
        "",
        "```text",
        *[command(r, run) for run in RUNS],
        "```",
        "",
    ]
    if failures:
        out += ["Failed sessions: " + ", ".join(f"{run}: {n}" for run, n in failures)
                + " (the reports in the results directory say which target and step).", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(out))


RUNS = ["idle-plain", "idle-tls", "idle-plain-cyrus", "idle-tls-cyrus", "relay-1", "relay-32", "login-plain", "login-tls", "latency", "scaling"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--half-rate")
    parser.add_argument("--results")
    parser.add_argument("--out")
    parser.add_argument("--seconds", type=int, default=0)
    parser.add_argument("--idle-sessions", type=int, default=0)
    parser.add_argument("--cyrus-idle-sessions", type=int, default=0)
    args = parser.parse_args()
    if args.half_rate:
        half_rate(args.half_rate)
    else:
        page(args)


if __name__ == "__main__":
    main()
