//! The report's chart, as one self-contained SVG: latency over time (p99 solid, p50 dashed,
//! one colour per target) above the latency distribution (latency by percentile, on the usual
//! "nines" scale: 90, 99, 99.9... equally spaced).

use std::fmt::Write as _;

use crate::report::Report;

const WIDTH: f64 = 900.0;
const PANEL: f64 = 300.0;
const MARGIN: f64 = 60.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
];

/// The rightmost point of the distribution's x axis: 99.999th percentile (five nines).
const MAX_NINES: f64 = 5.0;

/// A panel: its top edge, and the data ranges its axes span.
struct Panel {
    top: f64,
    x_max: f64,
    y_max: f64,
}

impl Panel {
    fn x(&self, value: f64) -> f64 {
        MARGIN + (WIDTH - 2.0 * MARGIN) * (value / self.x_max).clamp(0.0, 1.0)
    }

    fn y(&self, value: f64) -> f64 {
        self.top + PANEL - PANEL * (value / self.y_max).clamp(0.0, 1.0)
    }

    /// The frame, the title and the labels of the axes' ends.
    fn frame(&self, out: &mut String, title: &str, x_label: &str, x_end: &str) {
        let (left, right) = (MARGIN, WIDTH - MARGIN);
        let (top, bottom) = (self.top, self.top + PANEL);
        let _ = write!(
            out,
            r##"<rect x="{left}" y="{top}" width="{}" height="{PANEL}" fill="none" stroke="#999"/>
<text x="{left}" y="{}" font-weight="bold">{title}</text>
<text x="{}" y="{}" text-anchor="end">{} ms</text>
<text x="{}" y="{}" text-anchor="end">0</text>
<text x="{left}" y="{}">{x_label}</text>
<text x="{right}" y="{}" text-anchor="end">{x_end}</text>
"##,
            right - left,
            top - 8.0,
            left - 4.0,
            top + 12.0,
            fmt_ms(self.y_max),
            left - 4.0,
            bottom,
            bottom + 16.0,
            bottom + 16.0,
        );
    }
}

fn fmt_ms(us: f64) -> String {
    format!("{:.3}", us / 1000.0)
}

fn polyline(out: &mut String, points: &[(f64, f64)], colour: &str, dashed: bool) {
    if points.is_empty() {
        return;
    }
    let dash = if dashed {
        r#" stroke-dasharray="5,4""#
    } else {
        ""
    };
    let _ = write!(
        out,
        r#"<polyline fill="none" stroke="{colour}" stroke-width="1.5"{dash} points=""#
    );
    for (x, y) in points {
        let _ = write!(out, "{x:.1},{y:.1} ");
    }
    out.push_str("\"/>\n");
}

/// The chart of `report`.
pub fn svg(report: &Report) -> String {
    let over_time = Panel {
        top: 40.0,
        x_max: report
            .targets
            .iter()
            .map(|t| t.timeline.len() as f64)
            .fold(1.0, f64::max),
        y_max: report
            .targets
            .iter()
            .flat_map(|t| t.timeline.iter().map(|s| s.p99_us as f64))
            .fold(1.0, f64::max),
    };
    let distribution = Panel {
        top: over_time.top + PANEL + 80.0,
        x_max: MAX_NINES,
        y_max: report
            .targets
            .iter()
            .flat_map(|t| t.distribution.iter().map(|&(_, us)| us as f64))
            .fold(1.0, f64::max),
    };
    let height = distribution.top + PANEL + 40.0 + 18.0 * report.targets.len() as f64;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
"#
    );
    over_time.frame(
        &mut out,
        &format!(
            "{}: latency over time (p99 solid, p50 dashed)",
            escape(&report.scenario)
        ),
        "0 s",
        &format!("{} s", over_time.x_max),
    );
    distribution.frame(
        &mut out,
        "latency by percentile",
        "0",
        "99.999th percentile",
    );
    for nines in 1..MAX_NINES as u32 {
        let x = distribution.x(f64::from(nines));
        let label = 100.0 - 100.0 / 10f64.powi(nines as i32);
        let _ = writeln!(
            out,
            r##"<line x1="{x}" y1="{}" x2="{x}" y2="{}" stroke="#ddd"/><text x="{x}" y="{}" text-anchor="middle">{label}</text>"##,
            distribution.top,
            distribution.top + PANEL,
            distribution.top + PANEL + 16.0
        );
    }
    for (i, target) in report.targets.iter().enumerate() {
        let colour = COLOURS.get(i % COLOURS.len()).copied().unwrap_or("black");
        let at = |s: usize| over_time.x(s as f64 + 0.5);
        let p99: Vec<_> = target
            .timeline
            .iter()
            .map(|s| (at(s.second), over_time.y(s.p99_us as f64)))
            .collect();
        let p50: Vec<_> = target
            .timeline
            .iter()
            .map(|s| (at(s.second), over_time.y(s.p50_us as f64)))
            .collect();
        polyline(&mut out, &p99, colour, false);
        polyline(&mut out, &p50, colour, true);
        let by_percentile: Vec<_> = target
            .distribution
            .iter()
            .map(|&(percentile, us)| {
                let nines = -(1.0 - percentile / 100.0).max(1e-9).log10();
                (distribution.x(nines), distribution.y(us as f64))
            })
            .collect();
        polyline(&mut out, &by_percentile, colour, false);
        let _ = writeln!(
            out,
            r#"<text x="{MARGIN}" y="{}" fill="{colour}">■ {}</text>"#,
            distribution.top + PANEL + 40.0 + 18.0 * i as f64,
            escape(&target.target)
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Text made safe for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Recorder, TargetReport};
    use crate::scenario::Step;
    use std::time::Duration;

    #[test]
    fn one_line_set_per_target() {
        let mut recorder = Recorder::default();
        for i in 0..100u64 {
            recorder.step(
                Step::Noop,
                Duration::from_micros(100 + i),
                Duration::from_millis(i * 30),
            );
        }
        let target = |name: &str| TargetReport::new(name, 1, &recorder, 3.0, None);
        let report = Report {
            scenario: "relay <&>".into(),
            rate: None,
            sessions: 1,
            duration_seconds: 3.0,
            warmup_seconds: 0.0,
            rounds: 1,
            targets: vec![target("a"), target("b")],
            ratios: Vec::new(),
            errors: Vec::new(),
        };
        let svg = svg(&report);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        // Per target: p99 and p50 over time, and the distribution.
        assert_eq!(svg.matches("<polyline").count(), 6);
        assert!(svg.contains("relay &lt;&amp;&gt;"));
        assert!(svg.contains("■ b"));
    }
}
