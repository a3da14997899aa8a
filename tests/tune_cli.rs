//! `corvid tune check` on this very host: its JSON parses, and reports the real locked-memory
//! limit and CPU count; the table and the exit code agree with it.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn tune_check(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_corvid"))
        .args(["tune", "check"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn json_reports_this_host() {
    let (code, stdout) = tune_check(&["--json", "--sessions", "1000"]);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();

    let memlock = rustix::process::getrlimit(rustix::process::Resource::Memlock);
    let facts = &report["facts"];
    assert_eq!(facts["memlock"]["soft"].as_u64(), memlock.current);
    assert_eq!(facts["memlock"]["hard"].as_u64(), memlock.maximum);
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(facts["cpus"].as_u64(), Some(cpus as u64));
    assert_eq!(facts["io_uring_error"], serde_json::Value::Null);

    let checks = report["checks"].as_array().unwrap();
    let memlock_check = checks
        .iter()
        .find(|check| check["name"] == "RLIMIT_MEMLOCK")
        .unwrap();
    if let Some(limit) = memlock.current {
        let shown = memlock_check["found"].as_str().unwrap();
        let expected = if limit % (1 << 20) == 0 {
            format!("{} MiB (", limit >> 20)
        } else {
            format!("{} KiB (", limit >> 10)
        };
        assert!(shown.starts_with(&expected), "{shown}");
        assert!(
            shown.contains(&format!("{} executors", cpus + 1)),
            "{shown}"
        );
    }
    let cpus_check = checks.iter().find(|check| check["name"] == "CPUs").unwrap();
    assert_eq!(cpus_check["found"], format!("{cpus} usable"));

    let worst = checks
        .iter()
        .map(|check| match check["status"].as_str().unwrap() {
            "ok" | "info" => 0,
            "warn" => 1,
            "fatal" => 2,
            other => panic!("status {other}"),
        })
        .max()
        .unwrap();
    assert_eq!(code, worst);
    assert_eq!(report["intent"]["sessions"], 1000);
}

#[test]
fn table_names_every_check() {
    let (code, stdout) = tune_check(&["--profile", "backend"]);
    assert!(stdout.starts_with("corvid tune check: profile backend, 100000 sessions"));
    for name in [
        "io_uring",
        "RLIMIT_MEMLOCK",
        "RLIMIT_NOFILE",
        "net.core.somaxconn",
        "net.ipv4.ip_local_port_range",
        "transparent huge pages",
        "swap",
    ] {
        assert!(stdout.contains(name), "{name} missing:\n{stdout}");
    }
    assert!((0..=2).contains(&code));
}

#[test]
fn unknown_profile_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_corvid"))
        .args(["tune", "check", "--profile", "mail"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("proxy, backend, bench"));
}
