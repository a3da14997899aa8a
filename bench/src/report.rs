//! What a run measured and how it is told: latency histograms per step and per second
//! ([`Recorder`], one per executor, merged at the end), and the report built from them
//! ([`Report`]): a text table, JSON, and the figures the chart draws.
//!
//! Latencies are kept in HDR histograms (microseconds, three significant digits per step, two
//! per second of the timeline), so p99.9 and max are exact to the histogram's precision
//! without keeping samples.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::scenario::Step;

/// The longest latency a histogram holds (longer ones are recorded as this): one hour.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// The timeline keeps at most this many seconds (a day); later seconds are not charted.
const MAX_TIMELINE_SECS: usize = 86_400;

/// The percentiles of the latency distribution the report lists and the chart draws.
pub const DISTRIBUTION: [f64; 14] = [
    0.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100.0,
];

fn histogram(significant_digits: u8) -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts (1 ≤ low, 2·low ≤ high, digits ≤ 5).
    Histogram::new_with_bounds(1, MAX_LATENCY_US, significant_digits)
        .unwrap_or_else(|_| unreachable!("constant histogram bounds"))
}

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros())
        .unwrap_or(u64::MAX)
        .clamp(1, MAX_LATENCY_US)
}

/// What one executor measured for one target: latencies per step, latencies per second of
/// the measured window, operations and bytes sent.
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    steps: Vec<Option<Histogram<u64>>>,
    timeline: Vec<Histogram<u64>>,
    operations: u64,
    bytes: u64,
}

impl Recorder {
    /// Records a step that took `latency` and completed `at` into the measured window.
    pub fn step(&mut self, step: Step, latency: Duration, at: Duration) {
        let value = micros(latency);
        if self.steps.len() <= step.index() {
            self.steps.resize(step.index() + 1, None);
        }
        if let Some(slot) = self.steps.get_mut(step.index()) {
            slot.get_or_insert_with(|| histogram(3))
                .saturating_record(value);
        }
        let second = usize::try_from(at.as_secs()).unwrap_or(usize::MAX);
        if second < MAX_TIMELINE_SECS {
            if self.timeline.len() <= second {
                self.timeline.resize_with(second + 1, || histogram(2));
            }
            if let Some(histogram) = self.timeline.get_mut(second) {
                histogram.saturating_record(value);
            }
        }
    }

    /// Counts a completed operation that sent `bytes` of message data.
    pub fn operation(&mut self, bytes: u64) {
        self.operations += 1;
        self.bytes += bytes;
    }

    /// Operations counted so far.
    pub fn operations(&self) -> u64 {
        self.operations
    }

    /// Adds `other` in, its timeline shifted `offset` seconds later (a later round).
    pub fn merge(&mut self, other: &Recorder, offset: usize) {
        for (index, theirs) in other.steps.iter().enumerate() {
            let Some(theirs) = theirs else { continue };
            if self.steps.len() <= index {
                self.steps.resize(index + 1, None);
            }
            if let Some(ours) = self.steps.get_mut(index) {
                // Same bounds on both sides: `add` cannot fail.
                let _ = ours.get_or_insert_with(|| histogram(3)).add(theirs);
            }
        }
        for (second, theirs) in other.timeline.iter().enumerate() {
            let second = second + offset;
            if second >= MAX_TIMELINE_SECS {
                break;
            }
            if self.timeline.len() <= second {
                self.timeline.resize_with(second + 1, || histogram(2));
            }
            if let Some(ours) = self.timeline.get_mut(second) {
                let _ = ours.add(theirs);
            }
        }
        self.operations += other.operations;
        self.bytes += other.bytes;
    }

    fn all_steps(&self) -> Histogram<u64> {
        let mut all = histogram(3);
        for step in self.steps.iter().flatten() {
            let _ = all.add(step);
        }
        all
    }
}

/// One step's latencies, in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepSummary {
    /// The step (`noop`, `login`...), or `all`.
    pub step: String,
    /// How many completed in the measured window.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
}

impl StepSummary {
    fn of(step: &str, histogram: &Histogram<u64>) -> StepSummary {
        StepSummary {
            step: step.into(),
            count: histogram.len(),
            mean_us: histogram.mean(),
            p50_us: histogram.value_at_quantile(0.5),
            p99_us: histogram.value_at_quantile(0.99),
            p999_us: histogram.value_at_quantile(0.999),
            max_us: histogram.max(),
        }
    }
}

/// One second of the measured window (all steps together).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Second {
    /// Seconds from the window's start (rounds laid end to end).
    pub second: usize,
    /// Steps completed in that second.
    pub steps: u64,
    /// Their median latency, µs.
    pub p50_us: u64,
    /// Their 99th percentile, µs.
    pub p99_us: u64,
}

/// What the bench read about a target's process (`--pid`) over the measured window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessUse {
    /// CPU time (user + system, all threads) used in the window.
    pub cpu: Duration,
    /// Resident memory before the sessions opened, KiB.
    pub rss_before_kib: u64,
    /// Resident memory at the end of the window, the sessions still open, KiB.
    pub rss_after_kib: u64,
}

/// Everything measured against one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetReport {
    /// The target as given (`tls://` marks TLS).
    pub target: String,
    /// Sessions run against it.
    pub sessions: usize,
    /// Operations completed in the measured window (commands, logins, messages...).
    pub operations: u64,
    /// The measured window, seconds (all rounds).
    pub seconds: f64,
    /// Operations per second.
    pub operations_per_second: f64,
    /// Message data sent per second, MB (10^6 bytes): APPEND only.
    pub megabytes_per_second: Option<f64>,
    /// The target process's CPU seconds in the window (`--pid`).
    pub cpu_seconds: Option<f64>,
    /// CPU time of the target per operation, µs.
    pub cpu_us_per_operation: Option<f64>,
    /// Operations per second of the target's CPU: the per-core rate.
    pub operations_per_cpu_second: Option<f64>,
    /// The target's resident memory before the sessions opened, KiB.
    pub rss_before_kib: Option<u64>,
    /// And at the end of the window, KiB.
    pub rss_after_kib: Option<u64>,
    /// (after − before) / sessions, bytes.
    pub rss_bytes_per_session: Option<f64>,
    /// Latency per step, then `all`.
    pub steps: Vec<StepSummary>,
    /// Latency per second of the window.
    pub timeline: Vec<Second>,
    /// `[percentile, µs]` pairs over all steps, at [`DISTRIBUTION`].
    pub distribution: Vec<(f64, u64)>,
    /// Each round's figures, in order (their medians move least with noise on the machine).
    pub rounds: Vec<RoundFigures>,
}

/// The figures of one round against one target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoundFigures {
    /// Operations per second.
    pub operations_per_second: f64,
    /// CPU time of the target per operation, µs (`--pid`).
    pub cpu_us_per_operation: Option<f64>,
    /// Operations per second of the target's CPU (`--pid`).
    pub operations_per_cpu_second: Option<f64>,
    /// Median latency over all steps, µs.
    pub p50_us: u64,
    /// 99th percentile over all steps, µs.
    pub p99_us: u64,
}

impl RoundFigures {
    /// The headline figures of a report of one round.
    pub fn of(round: &TargetReport) -> RoundFigures {
        let all = round.steps.iter().find(|s| s.step == "all");
        RoundFigures {
            operations_per_second: round.operations_per_second,
            cpu_us_per_operation: round.cpu_us_per_operation,
            operations_per_cpu_second: round.operations_per_cpu_second,
            p50_us: all.map_or(0, |s| s.p50_us),
            p99_us: all.map_or(0, |s| s.p99_us),
        }
    }
}

impl TargetReport {
    /// The report of `target`, from what its sessions recorded over `seconds` of measured
    /// window and, with `--pid`, what its process used.
    pub fn new(
        target: &str,
        sessions: usize,
        recorder: &Recorder,
        seconds: f64,
        process: Option<ProcessUse>,
    ) -> TargetReport {
        let per_second = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
        let operations = recorder.operations;
        let cpu = process.map(|p| p.cpu.as_secs_f64());
        let all = recorder.all_steps();
        let mut steps: Vec<StepSummary> = Step::ALL
            .iter()
            .filter_map(|&step| {
                let histogram = recorder.steps.get(step.index())?.as_ref()?;
                Some(StepSummary::of(step.name(), histogram))
            })
            .collect();
        steps.push(StepSummary::of("all", &all));
        TargetReport {
            target: target.into(),
            sessions,
            operations,
            seconds,
            operations_per_second: per_second(operations as f64),
            megabytes_per_second: (recorder.bytes > 0)
                .then(|| per_second(recorder.bytes as f64) / 1e6),
            cpu_seconds: cpu,
            cpu_us_per_operation: cpu
                .filter(|_| operations > 0)
                .map(|cpu| cpu * 1e6 / operations as f64),
            operations_per_cpu_second: cpu
                .filter(|&cpu| cpu > 0.0)
                .map(|cpu| operations as f64 / cpu),
            rss_before_kib: process.map(|p| p.rss_before_kib),
            rss_after_kib: process.map(|p| p.rss_after_kib),
            rss_bytes_per_session: process.filter(|_| sessions > 0).map(|p| {
                (p.rss_after_kib as f64 - p.rss_before_kib as f64) * 1024.0 / sessions as f64
            }),
            steps,
            timeline: recorder
                .timeline
                .iter()
                .enumerate()
                .map(|(second, histogram)| Second {
                    second,
                    steps: histogram.len(),
                    p50_us: histogram.value_at_quantile(0.5),
                    p99_us: histogram.value_at_quantile(0.99),
                })
                .collect(),
            distribution: DISTRIBUTION
                .iter()
                .map(|&percentile| (percentile, all.value_at_quantile(percentile / 100.0)))
                .collect(),
            rounds: Vec::new(),
        }
    }

    fn all(&self) -> Option<&StepSummary> {
        self.steps.iter().find(|s| s.step == "all")
    }
}

/// A target's figures over the first target's (compare mode).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratios {
    /// The target.
    pub target: String,
    /// Operations per second, this target / the first.
    pub operations_per_second: Option<f64>,
    /// Operations per target CPU second, this / the first.
    pub operations_per_cpu_second: Option<f64>,
    /// Median latency (all steps), this / the first.
    pub p50: Option<f64>,
    /// 99th percentile latency (all steps), this / the first.
    pub p99: Option<f64>,
}

/// The whole run: how it ran, each target's figures, ratios and errors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Target operations per second (open loop), or none (closed loop).
    pub rate: Option<f64>,
    /// Sessions per target.
    pub sessions: usize,
    /// Measured seconds per target.
    pub duration_seconds: f64,
    /// Warm-up seconds before each round's window.
    pub warmup_seconds: f64,
    /// Rounds per target (compare mode interleaves them).
    pub rounds: usize,
    /// Each target, in the order given.
    pub targets: Vec<TargetReport>,
    /// Each target after the first, over the first.
    pub ratios: Vec<Ratios>,
    /// Every session failure: target, step and why.
    pub errors: Vec<String>,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

impl Report {
    /// Fills [`Report::ratios`] from the targets.
    pub fn with_ratios(mut self) -> Report {
        let Some((first, rest)) = self.targets.split_first() else {
            return self;
        };
        let latency =
            |t: &TargetReport, pick: fn(&StepSummary) -> u64| t.all().map(|all| pick(all) as f64);
        self.ratios = rest
            .iter()
            .map(|t| Ratios {
                target: t.target.clone(),
                operations_per_second: ratio(
                    Some(t.operations_per_second),
                    Some(first.operations_per_second),
                ),
                operations_per_cpu_second: ratio(
                    t.operations_per_cpu_second,
                    first.operations_per_cpu_second,
                ),
                p50: ratio(latency(t, |s| s.p50_us), latency(first, |s| s.p50_us)),
                p99: ratio(latency(t, |s| s.p99_us), latency(first, |s| s.p99_us)),
            })
            .collect();
        self
    }

    /// The report as a text table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let mode = match self.rate {
            Some(rate) => format!("open loop at {rate} op/s"),
            None => "closed loop".into(),
        };
        let _ = writeln!(
            out,
            "scenario {}: {} sessions per target, {mode}, {:.1} s measured per target in {} round(s), {:.1} s warm-up",
            self.scenario, self.sessions, self.duration_seconds, self.rounds, self.warmup_seconds
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>11} {:>8} {:>10} {:>12} {:>12}",
            "target", "operations", "op/s", "MB/s", "CPU µs/op", "op/CPU-s", "RSS B/sess"
        );
        let opt = |v: Option<f64>, precision: usize| {
            v.map_or("-".to_owned(), |v| format!("{v:.precision$}"))
        };
        for t in &self.targets {
            let _ = writeln!(
                out,
                "{:<24} {:>10} {:>11.0} {:>8} {:>10} {:>12} {:>12}",
                t.target,
                t.operations,
                t.operations_per_second,
                opt(t.megabytes_per_second, 2),
                opt(t.cpu_us_per_operation, 2),
                opt(t.operations_per_cpu_second, 0),
                opt(t.rss_bytes_per_session, 0),
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<24} {:<14} {:>10} {:>9} {:>9} {:>9} {:>9}",
            "target", "step", "count", "p50 µs", "p99 µs", "p99.9 µs", "max µs"
        );
        for t in &self.targets {
            for s in &t.steps {
                let _ = writeln!(
                    out,
                    "{:<24} {:<14} {:>10} {:>9} {:>9} {:>9} {:>9}",
                    t.target, s.step, s.count, s.p50_us, s.p99_us, s.p999_us, s.max_us
                );
            }
        }
        if let Some(first) = self.targets.first().filter(|_| !self.ratios.is_empty()) {
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "ratios to {:<14} {:>10} {:>12} {:>8} {:>8}",
                first.target, "op/s", "op/CPU-s", "p50", "p99"
            );
            let x = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2}x"));
            for r in &self.ratios {
                let _ = writeln!(
                    out,
                    "{:<24} {:>10} {:>12} {:>8} {:>8}",
                    r.target,
                    x(r.operations_per_second),
                    x(r.operations_per_cpu_second),
                    x(r.p50),
                    x(r.p99)
                );
            }
        }
        if !self.errors.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "{} session(s) failed:", self.errors.len());
            for error in &self.errors {
                let _ = writeln!(out, "  {error}");
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_round_s_figures_are_its_headline_numbers() {
        let process = ProcessUse {
            cpu: ms(500),
            ..ProcessUse::default()
        };
        let round = TargetReport::new("a:1", 1, &recorded(), 2.0, Some(process));
        let figures = RoundFigures::of(&round);
        assert_eq!(figures.operations_per_second, 500.0);
        assert_eq!(figures.cpu_us_per_operation, Some(500.0));
        assert_eq!(figures.operations_per_cpu_second, Some(2000.0));
        let all = round.steps.last().expect("the all row");
        assert_eq!((figures.p50_us, figures.p99_us), (all.p50_us, all.p99_us));
        assert!(figures.p50_us > 400 && figures.p50_us < 600);
    }

    /// 1,000 NOOPs of 1..=1000 µs over two seconds, and 10 logins of 5 ms.
    fn recorded() -> Recorder {
        let mut recorder = Recorder::default();
        for us in 1..=1000u64 {
            recorder.step(Step::Noop, Duration::from_micros(us), ms(us * 2));
            recorder.operation(0);
        }
        for _ in 0..10 {
            recorder.step(Step::Login, ms(5), ms(1500));
        }
        recorder
    }

    #[test]
    fn percentiles_per_step_and_over_all() {
        let process = ProcessUse {
            cpu: ms(500),
            rss_before_kib: 1000,
            rss_after_kib: 1100,
        };
        let report = TargetReport::new("be1", 10, &recorded(), 2.0, Some(process));
        assert_eq!(report.operations, 1000);
        assert_eq!(report.operations_per_second, 500.0);
        assert_eq!(report.cpu_us_per_operation, Some(500.0));
        assert_eq!(report.operations_per_cpu_second, Some(2000.0));
        assert_eq!(report.rss_bytes_per_session, Some(102.4 * 100.0));
        assert_eq!(report.megabytes_per_second, None);
        let names: Vec<&str> = report.steps.iter().map(|s| s.step.as_str()).collect();
        assert_eq!(names, ["login", "noop", "all"]);
        let noop = &report.steps[1];
        assert_eq!(noop.count, 1000);
        // Three significant digits: each percentile within 0.1% of the exact sample.
        for (got, exact) in [(noop.p50_us, 500), (noop.p99_us, 990), (noop.p999_us, 999)] {
            assert!(got.abs_diff(exact) <= exact / 1000 + 1, "{got} vs {exact}");
        }
        assert_eq!(noop.max_us, 1000);
        assert!((noop.mean_us - 500.5).abs() < 1.0);
        let login = &report.steps[0];
        assert_eq!((login.count, login.max_us / 10), (10, 500));
        assert_eq!(report.steps[2].count, 1010);
        // NOOPs complete until 2 s: seconds 0 and 1 (the logins in 1), one sample at 2.0 s.
        let per_second: Vec<u64> = report.timeline.iter().map(|s| s.steps).collect();
        assert_eq!(per_second, [499, 510, 1]);
        assert_eq!(report.distribution.first().map(|d| d.1), Some(1));
        assert_eq!(report.distribution.last().map(|d| d.1), Some(5003));
    }

    #[test]
    fn rounds_merge_end_to_end() {
        let mut total = Recorder::default();
        total.merge(&recorded(), 0);
        total.merge(&recorded(), 3);
        let report = TargetReport::new("proxy", 1, &total, 4.0, None);
        assert_eq!(report.operations, 2000);
        assert_eq!(report.steps.last().map(|s| s.count), Some(2020));
        let per_second: Vec<u64> = report.timeline.iter().map(|s| s.steps).collect();
        assert_eq!(per_second, [499, 510, 1, 499, 510, 1]);
        assert_eq!(report.cpu_seconds, None);
    }

    #[test]
    fn ratios_and_the_table() {
        let mut fast = Recorder::default();
        for _ in 0..400 {
            fast.step(Step::Noop, ms(1), ms(10));
            fast.operation(0);
        }
        let mut slow = Recorder::default();
        for _ in 0..100 {
            slow.step(Step::Noop, ms(4), ms(10));
            slow.operation(4096);
        }
        let cpu = |ms_: u64| ProcessUse {
            cpu: ms(ms_),
            ..ProcessUse::default()
        };
        let report = Report {
            scenario: "relay".into(),
            rate: None,
            sessions: 1,
            duration_seconds: 1.0,
            warmup_seconds: 0.0,
            rounds: 1,
            targets: vec![
                TargetReport::new("be1", 1, &fast, 1.0, Some(cpu(100))),
                TargetReport::new("tls://proxy", 1, &slow, 1.0, Some(cpu(200))),
            ],
            ratios: Vec::new(),
            errors: vec!["x".into()],
        }
        .with_ratios();
        let [r] = &report.ratios[..] else {
            panic!("{:?}", report.ratios)
        };
        assert_eq!(r.operations_per_second, Some(0.25));
        assert_eq!(r.operations_per_cpu_second, Some(0.125));
        assert!(r.p50.is_some_and(|p| (p - 4.0).abs() < 0.01));
        assert_eq!(report.targets[1].megabytes_per_second, Some(0.4096));
        let table = report.table();
        assert!(table.contains("ratios to be1"), "{table}");
        assert!(table.contains("0.25x"), "{table}");
        assert!(table.contains("1 session(s) failed"), "{table}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["targets"][0]["operations"], 400);
        assert_eq!(json["ratios"][0]["target"], "tls://proxy");
    }
}
