//! The Prometheus text exposition (format 0.0.4) of a [`Snapshot`]: every per-core series with
//! a `core` label, names prefixed `corvid_proxy_`, times in seconds; and the backends' free
//! space with a `server` label.
//!
//! Written by hand: the format is a few line shapes (`# HELP`, `# TYPE`, samples), and the
//! families are fixed tables in the parent module. Histograms show the octave bounds from
//! 16 µs to 2^27 µs (about 134 s) as `le`, cumulative, then `+Inf`, `_sum` and `_count`.

use std::fmt::{self, Display, Formatter};

use corvid_proto::imap::command::CommandKind;

use super::histogram::{Histogram, exposed_bounds};
use super::{COMMANDS, CoreSnapshot, Counter, Family, Gauge, Kind, Latency, Snapshot};

/// The prefix of every metric name.
const PREFIX: &str = "corvid_proxy_";

/// The backends' free space, as the survey last heard it.
const BACKEND_FREE: Family = Family {
    name: "backend_free_bytes",
    help: "Bytes free on the backend, as it last reported to the free-space survey.",
    kind: Kind::Gauge,
};

/// The media type of the exposition, for `Content-Type`.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A [`Snapshot`] shown as Prometheus text: see [`Snapshot::prometheus`].
#[derive(Debug, Clone, Copy)]
pub struct Prometheus<'a>(&'a Snapshot);

impl Snapshot {
    /// The Prometheus text of these values (`to_string()` it, or write it).
    pub fn prometheus(&self) -> Prometheus<'_> {
        Prometheus(self)
    }
}

/// A counter or gauge, read from a core's snapshot.
#[derive(Debug, Clone, Copy)]
enum Scalar {
    Counter(Counter),
    Gauge(Gauge),
}

impl Scalar {
    fn value(self, core: &CoreSnapshot) -> u64 {
        match self {
            Scalar::Counter(counter) => core.counter(counter),
            Scalar::Gauge(gauge) => core.gauge(gauge),
        }
    }
}

fn header(f: &mut Formatter<'_>, family: Family) -> fmt::Result {
    let kind = match family.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    writeln!(f, "# HELP {PREFIX}{} {}", family.name, family.help)?;
    writeln!(f, "# TYPE {PREFIX}{} {kind}", family.name)
}

/// One sample line: `corvid_proxy_NAME{core="N",LABEL="VALUE"} VALUE`. Label values here are
/// fixed names and numbers, which need no escaping.
fn sample(
    f: &mut Formatter<'_>,
    name: &str,
    core: usize,
    label: Option<(&str, &dyn Display)>,
    value: impl Display,
) -> fmt::Result {
    write!(f, "{PREFIX}{name}{{core=\"{core}\"")?;
    if let Some((key, label)) = label {
        write!(f, ",{key}=\"{label}\"")?;
    }
    writeln!(f, "}} {value}")
}

fn histogram(f: &mut Formatter<'_>, name: &str, core: usize, values: &Histogram) -> fmt::Result {
    let bucket = format!("{name}_bucket");
    for bound in exposed_bounds() {
        let le = Histogram::bound(bound).as_secs_f64();
        sample(
            f,
            &bucket,
            core,
            Some(("le", &le)),
            values.count_below(bound),
        )?;
    }
    sample(f, &bucket, core, Some(("le", &"+Inf")), values.count())?;
    sample(
        f,
        &format!("{name}_sum"),
        core,
        None,
        values.sum().as_secs_f64(),
    )?;
    sample(f, &format!("{name}_count"), core, None, values.count())
}

impl Display for Prometheus<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let cores = &self.0.cores;
        let scalars = Counter::ALL
            .iter()
            .map(|&counter| (counter.series(), Scalar::Counter(counter)))
            .chain(
                Gauge::ALL
                    .iter()
                    .map(|&gauge| (gauge.series(), Scalar::Gauge(gauge))),
            );
        let mut family = None;
        for (series, scalar) in scalars {
            if family != Some(series.family) {
                header(f, series.family)?;
                family = Some(series.family);
            }
            let label = series
                .label
                .as_ref()
                .map(|(key, value)| (*key, value as &dyn Display));
            for (core, values) in cores.iter().enumerate() {
                sample(f, series.family.name, core, label, scalar.value(values))?;
            }
        }
        header(f, COMMANDS)?;
        for kind in CommandKind::ALL {
            for (core, values) in cores.iter().enumerate() {
                let label = ("command", &kind.as_str() as &dyn Display);
                sample(f, COMMANDS.name, core, Some(label), values.commands(*kind))?;
            }
        }
        for latency in Latency::ALL {
            let family = latency.family();
            header(f, family)?;
            for (core, values) in cores.iter().enumerate() {
                histogram(f, family.name, core, values.latency(latency))?;
            }
        }
        if !self.0.backends_free.is_empty() {
            header(f, BACKEND_FREE)?;
            for (server, bytes) in &self.0.backends_free {
                let server = server.escape_default();
                writeln!(
                    f,
                    "{PREFIX}{}{{server=\"{server}\"}} {bytes}",
                    BACKEND_FREE.name
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::*;
    use crate::stats::Stats;

    /// A registry of two cores with a few values recorded.
    fn two_cores() -> Snapshot {
        let stats = Stats::new(2);
        let (zero, one) = (stats.recorder(0).unwrap(), stats.recorder(1).unwrap());
        zero.count(Counter::LoginsOk);
        zero.count(Counter::LoginsOk);
        one.count(Counter::LoginsFailed);
        one.raise(Gauge::ConnectionsOpen);
        zero.command(CommandKind::Select);
        one.command(CommandKind::Unknown);
        one.record(Latency::Login, Duration::from_micros(20));
        one.record(Latency::Login, Duration::from_millis(3));
        one.record(Latency::Login, Duration::from_secs(500));
        stats.snapshot()
    }

    /// The lines of the exposition that belong to metric family `name`.
    fn family_lines(text: &str, name: &str) -> Vec<String> {
        let name = format!("{PREFIX}{name}");
        text.lines()
            .filter(|line| {
                let metric = line
                    .trim_start_matches("# HELP ")
                    .trim_start_matches("# TYPE ");
                metric
                    .strip_prefix(&name)
                    .is_some_and(|rest| rest.starts_with([' ', '{', '_']))
            })
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn counters_and_gauges_exactly() {
        let text = two_cores().prometheus().to_string();
        assert_eq!(
            family_lines(&text, "logins_total"),
            [
                "# HELP corvid_proxy_logins_total Client logins (LOGIN or AUTHENTICATE), by result.",
                "# TYPE corvid_proxy_logins_total counter",
                "corvid_proxy_logins_total{core=\"0\",result=\"ok\"} 2",
                "corvid_proxy_logins_total{core=\"1\",result=\"ok\"} 0",
                "corvid_proxy_logins_total{core=\"0\",result=\"failed\"} 0",
                "corvid_proxy_logins_total{core=\"1\",result=\"failed\"} 1",
            ]
        );
        assert_eq!(
            family_lines(&text, "connections_open"),
            [
                "# HELP corvid_proxy_connections_open Client connections open.",
                "# TYPE corvid_proxy_connections_open gauge",
                "corvid_proxy_connections_open{core=\"0\"} 0",
                "corvid_proxy_connections_open{core=\"1\"} 1",
            ]
        );
        assert!(text.contains("\ncorvid_proxy_commands_total{core=\"0\",command=\"SELECT\"} 1\n"));
        assert!(text.contains("\ncorvid_proxy_commands_total{core=\"1\",command=\"UNKNOWN\"} 1\n"));
        assert!(text.contains("\ncorvid_proxy_client_read_bytes_total{core=\"1\"} 0\n"));
    }

    #[test]
    fn histogram_exactly() {
        let text = two_cores().prometheus().to_string();
        let lines = family_lines(&text, "login_seconds");
        let core_one: Vec<&str> = lines
            .iter()
            .map(String::as_str)
            .filter(|line| line.contains("core=\"1\""))
            .collect();
        let mut expected: Vec<String> = (4..=27)
            .map(|exp| {
                let le = Duration::from_micros(1 << exp).as_secs_f64();
                let below = match exp {
                    4 => 0,      // 20 µs is not below 16 µs
                    5..=11 => 1, // below 32 µs ... 2048 µs
                    _ => 2,      // 3 ms is below 4096 µs; 500 s is above every bound
                };
                format!("corvid_proxy_login_seconds_bucket{{core=\"1\",le=\"{le}\"}} {below}")
            })
            .collect();
        expected.extend([
            "corvid_proxy_login_seconds_bucket{core=\"1\",le=\"+Inf\"} 3".to_owned(),
            "corvid_proxy_login_seconds_sum{core=\"1\"} 500.00302".to_owned(),
            "corvid_proxy_login_seconds_count{core=\"1\"} 3".to_owned(),
        ]);
        assert_eq!(core_one, expected);
        assert_eq!(
            lines[..2],
            [
                "# HELP corvid_proxy_login_seconds Time from a client login received to its answer sent.",
                "# TYPE corvid_proxy_login_seconds histogram",
            ]
        );
        assert!(
            text.contains("\ncorvid_proxy_login_seconds_bucket{core=\"1\",le=\"0.000016\"} 0\n")
        );
        assert!(
            text.contains("\ncorvid_proxy_login_seconds_bucket{core=\"1\",le=\"134.217728\"} 2\n")
        );
        assert!(text.contains("\ncorvid_proxy_login_seconds_count{core=\"0\"} 0\n"));
    }

    /// Checks every line against the 0.0.4 text format: `# HELP`/`# TYPE` first and once per
    /// family, samples `name{label="value",...} number` of a declared family, histograms'
    /// buckets cumulative and ending in `+Inf` equal to `_count`.
    #[test]
    fn every_line_parses_as_the_format_requires() {
        let text = two_cores().prometheus().to_string();
        assert!(text.ends_with('\n'));
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helped = Vec::new();
        let mut last_bucket: HashMap<String, f64> = HashMap::new();
        let is_name = |name: &str| {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap();
                assert!(is_name(name) && !help.is_empty() && !helped.contains(&name));
                assert!(!types.contains_key(name), "HELP after TYPE for {name}");
                helped.push(name);
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(is_name(name) && helped.contains(&name));
                assert!(["counter", "gauge", "histogram"].contains(&kind));
                assert!(types.insert(name.to_owned(), kind.to_owned()).is_none());
                continue;
            }
            assert!(!line.starts_with('#'));
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.parse().unwrap();
            let (name, labels) = series.split_once('{').unwrap();
            assert!(is_name(name), "{line}");
            let labels = labels.strip_suffix('}').unwrap();
            let mut le = None;
            for pair in labels.split(',') {
                let (key, quoted) = pair.split_once('=').unwrap();
                assert!(is_name(key), "{line}");
                let inner = quoted.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
                assert!(!inner.contains(['"', '\\', '\n']));
                if key == "le" {
                    le = Some(inner.to_owned());
                }
            }
            assert!(labels.starts_with("core=\""));
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| types.get(*base).is_some_and(|k| k == "histogram"))
                .unwrap_or(name);
            assert!(types.contains_key(family), "sample before its TYPE: {line}");
            let core = labels.split(',').next().unwrap().to_owned();
            if name.ends_with("_bucket") {
                assert!(le.is_some());
                let previous = last_bucket.insert(format!("{family}{core}"), value);
                assert!(
                    previous.unwrap_or(0.0) <= value,
                    "buckets not cumulative: {line}"
                );
            }
            if name.ends_with("_count") && family != name {
                let inf = last_bucket.get(&format!("{family}{core}")).copied();
                assert_eq!(inf, Some(value), "+Inf is not _count: {line}");
            }
        }
        assert_eq!(types.len(), helped.len());
    }
}
