//! corvid-bench: the system benchmark harness.
//!
//! It will hold the load generator behind `corvid bench` (scenarios, open- and closed-loop rate
//! control, HDR histograms, compare mode) and the scripts that run peer proxies side by side.
//! Nothing is implemented yet: see issue 7 ("The bench harness, peers side by side, and the
//! tuning kit"). Micro-benchmarks live in each crate's `benches/` folder.
