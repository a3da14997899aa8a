//! Host inspection for `corvid tune check`: what the host gives corvid (io_uring, locked
//! memory, descriptors, socket sysctls, CPUs, NIC interrupts, memory) against what the
//! intended load needs, with what to change and why.
//!
//! Sans I/O at the core: [`host::read`] reads the [`HostFacts`] once, and [`check`] is a pure
//! function of them and the [`Intent`], returning a [`Report`] of [`Check`]s (its table, JSON
//! and exit code). `tuning/README.md` has the measurement behind each recommendation.

mod checks;
pub mod host;

use std::fmt::Write as _;

use serde::Serialize;

pub use host::HostFacts;

/// The role the host is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// `corvid proxy`: two descriptors a session, outgoing connections to backends.
    Proxy,
    /// `corvid backend` (or any backend behind the proxy): one descriptor a session.
    Backend,
    /// `corvid bench`: outgoing connections to the target, one descriptor a session.
    Bench,
}

impl Profile {
    /// The profile named `name` (`proxy`, `backend`, `bench`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "proxy" => Some(Self::Proxy),
            "backend" => Some(Self::Backend),
            "bench" => Some(Self::Bench),
            _ => None,
        }
    }
}

/// What the host is meant to carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Intent {
    /// The role.
    pub profile: Profile,
    /// Concurrent sessions (client connections of the proxy or backend, simulated clients of
    /// the bench).
    pub sessions: u64,
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to change.
    Ok,
    /// Worth knowing, nothing to change (not applicable, not readable, optional).
    Info,
    /// Should change for the intended load.
    Warn,
    /// corvid cannot run until it changes.
    Fatal,
}

/// One check: what was found, what is recommended, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked (a sysctl's name, a limit, a host property).
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What the host has.
    pub found: String,
    /// What corvid wants.
    pub recommended: String,
    /// Why, in one line.
    pub why: String,
}

/// All checks of one host, and the facts they were made from.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What the host was checked for.
    pub intent: Intent,
    /// The checks, in a fixed order.
    pub checks: Vec<Check>,
    /// What was read.
    pub facts: HostFacts,
}

/// Checks `facts` against `intent`.
pub fn check(facts: HostFacts, intent: Intent) -> Report {
    Report {
        intent,
        checks: checks::all(&facts, intent),
        facts,
    }
}

impl Report {
    /// The worst status of any check.
    pub fn worst(&self) -> Status {
        self.checks
            .iter()
            .map(|check| check.status)
            .max()
            .unwrap_or(Status::Ok)
    }

    /// The exit code of `corvid tune check`: 0 nothing to change, 1 something should change,
    /// 2 corvid cannot run.
    pub fn exit_code(&self) -> i32 {
        match self.worst() {
            Status::Ok | Status::Info => 0,
            Status::Warn => 1,
            Status::Fatal => 2,
        }
    }

    /// The report as a text table (one check a line, its reason on the next) and a summary.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let profile = match self.intent.profile {
            Profile::Proxy => "proxy",
            Profile::Backend => "backend",
            Profile::Bench => "bench",
        };
        let _ = writeln!(
            out,
            "corvid tune check: profile {profile}, {} sessions\n",
            self.intent.sessions
        );
        let width = |column: fn(&Check) -> usize| self.checks.iter().map(column).max().unwrap_or(0);
        let name_width = width(|check| check.name.chars().count());
        let found_width = width(|check| check.found.chars().count()).min(48);
        let _ = writeln!(
            out,
            "{:<6} {:<name_width$}  {:<found_width$}  recommended",
            "", "check", "found"
        );
        for check in &self.checks {
            let mark = match check.status {
                Status::Ok => "ok",
                Status::Info => "info",
                Status::Warn => "WARN",
                Status::Fatal => "FATAL",
            };
            let _ = writeln!(
                out,
                "{mark:<6} {:<name_width$}  {:<found_width$}  {}",
                check.name, check.found, check.recommended
            );
            let _ = writeln!(out, "{:<6} {:<name_width$}  └ {}", "", "", check.why);
        }
        let count = |status| self.checks.iter().filter(|c| c.status == status).count();
        let _ = writeln!(
            out,
            "\n{} ok, {} info, {} to change, {} blocking (profiles in tuning/, reasons in tuning/README.md)",
            count(Status::Ok),
            count(Status::Info),
            count(Status::Warn),
            count(Status::Fatal)
        );
        out
    }
}
