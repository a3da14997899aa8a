//! The reference backend's protocol conformance suite: `corvid backend` driven by a client we
//! did not write, Python's `imaplib` (and raw sockets where imaplib cannot go: IDLE,
//! pipelining, malformed input). The scripts live in `tests/scripts/backend_protocol/`; each
//! prints what it checks and exits non-zero at the first failure, and a failing test shows
//! that output with the backend's log.
//!
//! Each script gets a fresh backend (standalone, or once with a `corvid mupdate` master) whose
//! users are john, jane, proxy (a proxy user) and admin, each with the password
//! `<user>-secret`. python3 comes with `ci/install-peers`.

// Tests: a step that fails should fail the test, and the helpers are not `#[test]` functions.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::backend::{BackendOptions, CorvidBackend};
use support::corvid::CorvidMaster;
use support::{Entry, MupdateMaster, run_bounded, table, wait_until};

/// The backend's login on the master: a backend role that may write only `be1`'s entries.
const BE1_LOGIN: &str = "be1:be1-secret";

fn options(master: Option<&CorvidMaster>) -> BackendOptions {
    let users = ["john", "jane", "proxy", "admin"]
        .iter()
        .map(|user| ((*user).to_owned(), format!("{user}-secret")))
        .collect();
    BackendOptions {
        server: "be1".into(),
        users,
        master: master.map(|m| (m.addr(), BE1_LOGIN.into())),
        extra: ["--proxy-user", "proxy", "--admin", "admin"]
            .map(String::from)
            .to_vec(),
        ..BackendOptions::default()
    }
}

/// Runs `script` against `backend`; panics with its output and the backend's log unless it
/// exits with success.
fn run_script(backend: &CorvidBackend, script: &str) {
    run_script_with(backend, script, &[]);
}

/// [`run_script`] with more arguments after the backend's address.
fn run_script_with(backend: &CorvidBackend, script: &str, args: &[&Path]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/backend_protocol");
    let output = run_bounded(
        Command::new("python3")
            .arg(dir.join(script))
            .arg(backend.addr())
            .args(args)
            .current_dir(&dir)
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        b"",
        Duration::from_secs(300),
    )
    .expect("run python3 (installed by ci/install-peers)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}{}\nbackend log (tail):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        tail(&backend.logs())
    );
}

/// The last lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// A fresh standalone backend, then `script` against it.
fn standalone(script: &str) {
    let backend = CorvidBackend::start(options(None));
    run_script(&backend, script);
}

#[test]
fn session_capability_login_authenticate_namespace_id_enable() {
    standalone("session.py");
}

#[test]
fn mailboxes_create_delete_rename_subscribe_list_status() {
    standalone("mailboxes.py");
}

#[test]
fn append_flags_dates_literals_large_and_8bit() {
    standalone("append.py");
}

#[test]
fn pipelining_literals_and_malformed_input() {
    standalone("wire.py");
}

/// Stopped cleanly (SIGTERM) or killed (SIGKILL), the backend keeps everything it answered OK.
#[test]
fn a_restart_keeps_messages_flags_uids_acls_and_subscriptions() {
    for kill in [false, true] {
        let state = tempfile::NamedTempFile::new().unwrap();
        let mut backend = CorvidBackend::start(options(None));
        run_script_with(&backend, "restart.py", &[Path::new("before"), state.path()]);
        if kill {
            backend.kill();
        } else {
            assert!(backend.stop(), "clean stop on SIGTERM:\n{}", backend.logs());
        }
        backend.start_again();
        run_script_with(&backend, "restart.py", &[Path::new("after"), state.path()]);
    }
}

/// The mailbox commands and the wire once more with a master (pipelined commands wait on it):
/// each change reaches it at `be1!default`.
#[test]
fn mailboxes_with_a_master() {
    let master = CorvidMaster::start_with(&["--backend", &format!("{BE1_LOGIN}:be1")]);
    let backend = CorvidBackend::start(options(Some(&master)));
    run_script(&backend, "mailboxes.py");
    run_script(&backend, "wire.py");
    let expected = [
        "user.john",
        "user.john.Deep.Down.Here",
        "user.john.Job",
        "user.john.Job.Projects",
        "user.john.Old.Archive",
        "user.john.Saved",
        "user.john.Trash",
    ];
    let settled = wait_until(Duration::from_secs(10), || {
        let entries = johns(&master);
        let names: Vec<&str> = entries.keys().map(String::as_str).collect();
        (names == expected).then_some(entries)
    });
    let entries = settled.unwrap_or_else(|| {
        panic!(
            "the master's table is not john's mailboxes: {:?}\n{}",
            johns(&master),
            tail(&backend.logs())
        )
    });
    for (name, entry) in entries {
        assert_eq!(entry.location, "be1!default", "{name}: {entry:?}");
        assert!(entry.acl.is_some(), "{name} is active: {entry:?}");
    }
}

/// The master's entries of john's mailboxes.
fn johns(master: &CorvidMaster) -> BTreeMap<String, Entry> {
    let mut entries = table(&master.endpoint().list(None));
    entries.retain(|name, _| name == "user.john" || name.starts_with("user.john."));
    entries
}

#[test]
fn select_examine_fetch_and_store() {
    standalone("fetch.py");
}

#[test]
fn search_every_key() {
    standalone("search.py");
}

#[test]
fn copy_move_expunge_close_unselect() {
    standalone("copy.py");
}

#[test]
fn acl_commands_and_a_shared_mailbox() {
    standalone("acl.py");
}

#[test]
fn idle_sees_other_sessions_changes() {
    standalone("idle.py");
}
