//! corvid-bench: the load generator behind `corvid bench`, which drives any IMAP server (a
//! backend, corvid's proxy, a peer proxy) with scenarios of simulated clients and reports
//! throughput, latency percentiles and the target's CPU and memory per operation.
//!
//! The parts: [`scenario`] (presets and TOML scenario files), [`schedule`] (open-loop pacing),
//! [`imap`] (the client's commands and response reading, sans I/O, on corvid-proto's framer
//! and classifier), [`client`] (one client's connection and steps on glommio), [`run`](mod@run) (pinned
//! executors, rounds, compare mode, `/proc` readings through [`procfs`]), [`report`] (HDR
//! histograms, the text table and JSON) and [`chart`] (the SVG); beside them, [`tune`], the host
//! inspection behind `corvid tune check`. docs/benchmarking.md says
//! how to use it and what it measured. Micro-benchmarks live in each crate's `benches/`.

pub mod chart;
pub mod client;
pub mod imap;
pub mod procfs;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schedule;
pub mod tls;
pub mod tune;

pub use report::Report;
pub use run::{BenchConfig, BenchError, Phase, Progress, Target, run};
pub use scenario::Scenario;
