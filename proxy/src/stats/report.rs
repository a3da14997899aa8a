//! The JSON report of a [`Snapshot`] (the admin endpoint's `/stats`, read by `corvid stats`):
//! per core every counter, gauge and command count and the latency quantiles, plus the totals.
//!
//! Shape: `{"uptime_seconds": 12.5, "cores": [CORE, ...], "total": CORE}`, where a CORE is
//! `{"core": 0, "counters": {KEY: n}, "gauges": {KEY: n}, "commands": {"SELECT": n, ...},
//! "latencies": {"command_relay": {"count", "sum_seconds", "p50_seconds", "p99_seconds",
//! "p999_seconds"}, "login": {...}}}` (`total` has no `core`; a quantile with no data is null).
//! Keys are [`Counter::key`], [`Gauge::key`], [`Latency::key`] and [`CommandKind::as_str`].

use std::collections::BTreeMap;

use corvid_proto::imap::command::CommandKind;
use serde::{Deserialize, Serialize};

use super::{CoreSnapshot, Counter, Gauge, Histogram, Latency, Snapshot};

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Seconds since the statistics began (the proxy started).
    pub uptime_seconds: f64,
    /// Each core's values.
    pub cores: Vec<CoreReport>,
    /// The sum over every core.
    pub total: CoreReport,
}

/// One core's values, or the totals.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CoreReport {
    /// The core number; absent in the totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<usize>,
    /// Every counter, by [`Counter::key`].
    pub counters: BTreeMap<String, u64>,
    /// Every gauge, by [`Gauge::key`].
    pub gauges: BTreeMap<String, u64>,
    /// Commands received, by [`CommandKind::as_str`].
    pub commands: BTreeMap<String, u64>,
    /// Latency summaries, by [`Latency::key`].
    pub latencies: BTreeMap<String, LatencyReport>,
}

/// A latency histogram summed up.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LatencyReport {
    /// Times recorded.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
    /// The median estimate, in seconds.
    pub p50_seconds: Option<f64>,
    /// The 99th percentile estimate, in seconds.
    pub p99_seconds: Option<f64>,
    /// The 99.9th percentile estimate, in seconds.
    pub p999_seconds: Option<f64>,
}

impl LatencyReport {
    fn of(histogram: &Histogram) -> LatencyReport {
        let seconds = |q| histogram.quantile(q).map(|d| d.as_secs_f64());
        LatencyReport {
            count: histogram.count(),
            sum_seconds: histogram.sum().as_secs_f64(),
            p50_seconds: seconds(0.5),
            p99_seconds: seconds(0.99),
            p999_seconds: seconds(0.999),
        }
    }
}

impl CoreReport {
    fn of(core: Option<usize>, values: &CoreSnapshot) -> CoreReport {
        CoreReport {
            core,
            counters: Counter::ALL
                .iter()
                .map(|&c| (c.key().to_owned(), values.counter(c)))
                .collect(),
            gauges: Gauge::ALL
                .iter()
                .map(|&g| (g.key().to_owned(), values.gauge(g)))
                .collect(),
            commands: CommandKind::ALL
                .iter()
                .map(|&k| (k.as_str().to_owned(), values.commands(k)))
                .collect(),
            latencies: Latency::ALL
                .iter()
                .map(|&l| (l.key().to_owned(), LatencyReport::of(values.latency(l))))
                .collect(),
        }
    }

    /// A counter's value (0 when the report lacks it).
    pub fn counter(&self, counter: Counter) -> u64 {
        self.counters.get(counter.key()).copied().unwrap_or(0)
    }

    /// A gauge's value (0 when the report lacks it).
    pub fn gauge(&self, gauge: Gauge) -> u64 {
        self.gauges.get(gauge.key()).copied().unwrap_or(0)
    }

    /// Commands received, of every kind.
    pub fn commands_total(&self) -> u64 {
        self.commands
            .values()
            .fold(0, |sum, &n| sum.wrapping_add(n))
    }

    /// A latency summary (empty when the report lacks it).
    pub fn latency(&self, latency: Latency) -> LatencyReport {
        self.latencies
            .get(latency.key())
            .copied()
            .unwrap_or_default()
    }
}

impl Snapshot {
    /// The JSON report of these values (serialize it with `serde_json`).
    pub fn report(&self) -> Report {
        Report {
            uptime_seconds: self.uptime.as_secs_f64(),
            cores: self
                .cores
                .iter()
                .enumerate()
                .map(|(core, values)| CoreReport::of(Some(core), values))
                .collect(),
            total: CoreReport::of(None, &self.total()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::stats::Stats;

    #[test]
    fn json_shape() {
        let stats = Stats::new(2);
        let (zero, one) = (stats.recorder(0).unwrap(), stats.recorder(1).unwrap());
        zero.add(Counter::ClientReadBytes, 100);
        one.add(Counter::ClientReadBytes, 20);
        one.raise(Gauge::SessionsIdle);
        one.command(CommandKind::Idle);
        zero.record(Latency::CommandRelay, Duration::from_micros(4));
        let report = stats.snapshot().report();
        let json = serde_json::to_value(&report).unwrap();

        assert!(json["uptime_seconds"].as_f64().is_some());
        assert_eq!(json["cores"].as_array().map(Vec::len), Some(2));
        assert_eq!(json["cores"][1]["core"], 1);
        assert!(json["total"].get("core").is_none());
        assert_eq!(json["cores"][0]["counters"]["client_read_bytes"], 100);
        assert_eq!(json["total"]["counters"]["client_read_bytes"], 120);
        assert_eq!(json["total"]["gauges"]["sessions_idle"], 1);
        assert_eq!(json["cores"][1]["commands"]["IDLE"], 1);
        assert_eq!(json["total"]["commands"]["UNKNOWN"], 0);
        for core in json["cores"].as_array().unwrap() {
            let keys = |field: &str| core[field].as_object().map(|o| o.len());
            assert_eq!(keys("counters"), Some(Counter::ALL.len()));
            assert_eq!(keys("gauges"), Some(Gauge::ALL.len()));
            assert_eq!(keys("commands"), Some(CommandKind::COUNT));
        }
        let relay = &json["cores"][0]["latencies"]["command_relay"];
        assert_eq!(relay["count"], 1);
        assert_eq!(relay["sum_seconds"], 4e-6);
        let p50 = relay["p50_seconds"].as_f64().unwrap();
        assert!((4e-6..=5e-6).contains(&p50));
        assert_eq!(
            json["cores"][1]["latencies"]["login"],
            json!({"count": 0, "sum_seconds": 0.0, "p50_seconds": null,
                   "p99_seconds": null, "p999_seconds": null})
        );

        // What `corvid stats` reads back.
        let back: Report = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
        assert_eq!(back.total.counter(Counter::ClientReadBytes), 120);
        assert_eq!(back.total.commands_total(), 1);
        assert_eq!(back.cores[0].latency(Latency::CommandRelay).count, 1);
    }
}
