//! Latency histograms: fixed log-linear buckets of atomics, written by one core, read by anyone.
//!
//! A duration is counted in whole microseconds. Below [`SUB`] µs each microsecond has a bucket
//! of its own; above, every power of two (an *octave*) is split into [`SUB`] equal buckets, so a
//! bucket is at most 1/8 of its lower bound wide (12.5 %). The last finite bucket ends at
//! 2^27 µs (about 134 s); longer durations share one overflow bucket. Recording is a leading-zero
//! count, a shift and two single-writer increments: O(1), no allocation, no locked instruction.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::bump;

/// Sub-buckets per octave, as a power of two.
const SUB_BITS: u32 = 3;
/// Sub-buckets per octave: 8.
const SUB: usize = 1 << SUB_BITS;
/// Octaves end at 2^MAX_EXP µs: the finite buckets cover [0, 2^27 µs), about 134 s.
const MAX_EXP: u32 = 27;
/// The finite buckets; the one at this index counts every longer duration.
const FINITE: usize = (MAX_EXP - SUB_BITS + 1) as usize * SUB;
/// Every bucket, the overflow one included.
pub(crate) const BUCKETS: usize = FINITE + 1;

/// The bucket of a duration of `micros` microseconds.
fn bucket(micros: u64) -> usize {
    if micros < SUB as u64 {
        return micros as usize;
    }
    let exp = micros.ilog2();
    let shift = exp - SUB_BITS;
    let sub = (micros >> shift) as usize & (SUB - 1);
    ((shift as usize + 1) * SUB + sub).min(FINITE)
}

/// The smallest duration, in microseconds, that falls in bucket `index` (`index <= FINITE`).
fn lower_bound(index: usize) -> u64 {
    if index < SUB {
        return index as u64;
    }
    let (octave, sub) = (index / SUB, index % SUB);
    ((SUB + sub) as u64) << (octave - 1)
}

/// The `le` bounds of the Prometheus exposition: every octave from 16 µs to 2^27 µs, as bucket
/// indexes (each bound is the lower bound of that bucket, so counts below it are exact).
pub(crate) fn exposed_bounds() -> impl Iterator<Item = usize> {
    // The octave that starts at 2^4 µs starts at bucket (4 - SUB_BITS + 1) * SUB.
    ((4 - SUB_BITS as usize + 1)..=(FINITE / SUB)).map(|octave| octave * SUB)
}

/// One latency histogram of a core; only that core records into it.
#[derive(Debug)]
pub(crate) struct AtomicHistogram {
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl Default for AtomicHistogram {
    fn default() -> Self {
        AtomicHistogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }
}

impl AtomicHistogram {
    /// Counts one duration (single writer: see [`bump`]).
    pub(crate) fn record(&self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        if let Some(cell) = self.buckets.get(bucket(micros)) {
            bump(cell, 1);
        }
        bump(&self.sum_nanos, nanos);
    }

    /// The values now (each read on its own: a record racing the read may show in the buckets
    /// and not yet in the sum).
    pub(crate) fn snapshot(&self) -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Relaxed)),
            sum_nanos: self.sum_nanos.load(Relaxed),
        }
    }
}

/// A histogram's values at one moment, for exposition and quantiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Histogram {
    buckets: [u64; BUCKETS],
    sum_nanos: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: [0; BUCKETS],
            sum_nanos: 0,
        }
    }
}

impl Histogram {
    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.buckets.iter().fold(0, |sum, &n| sum.wrapping_add(n))
    }

    /// The sum of the durations recorded.
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_nanos)
    }

    /// How many durations were shorter than the lower bound of bucket `bound`.
    pub(crate) fn count_below(&self, bound: usize) -> u64 {
        self.buckets
            .iter()
            .take(bound)
            .fold(0, |sum, &n| sum.wrapping_add(n))
    }

    /// The lower bound of bucket `index`, as a duration.
    pub(crate) fn bound(index: usize) -> Duration {
        Duration::from_micros(lower_bound(index))
    }

    /// An estimate of quantile `q` (0.5 for the median, 0.99, ...): linear within the bucket
    /// that holds it, so off by at most the bucket's width (12.5 %). `None` when empty; the
    /// overflow bucket reports its lower bound (2^27 µs).
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        // The rank of the wanted value among the recorded ones, 1-based.
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        let mut below = 0u64;
        for (index, &n) in self.buckets.iter().enumerate() {
            if n > 0 && below + n >= rank {
                let lower = lower_bound(index) as f64;
                if index == FINITE {
                    return Some(Duration::from_micros(lower as u64));
                }
                let width = (lower_bound(index + 1) as f64) - lower;
                let within = (rank - below) as f64 / n as f64;
                return Some(Duration::from_secs_f64((lower + within * width) / 1e6));
            }
            below += n;
        }
        None
    }

    /// Adds another histogram's counts (for totals over cores).
    pub(crate) fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine = mine.wrapping_add(*theirs);
        }
        self.sum_nanos = self.sum_nanos.wrapping_add(other.sum_nanos);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_log_linear() {
        // Every microsecond below 8 has its bucket; then 8 buckets per octave.
        for micros in 0..8 {
            assert_eq!(bucket(micros), micros as usize);
        }
        assert_eq!(bucket(8), 8);
        assert_eq!(bucket(15), 15);
        assert_eq!(bucket(16), 16);
        assert_eq!(bucket(17), 16);
        assert_eq!(bucket(18), 17);
        assert_eq!((lower_bound(16), lower_bound(17)), (16, 18));
        assert_eq!(bucket(1000), bucket(960));
        assert_eq!(lower_bound(bucket(1000)), 960);
        // Each bucket starts where the previous one ends, and the widths are at most 1/8.
        for index in 0..FINITE {
            let (lower, upper) = (lower_bound(index), lower_bound(index + 1));
            assert_eq!(bucket(lower), index);
            assert_eq!(bucket(upper - 1), index);
            assert!(upper > lower && (upper - lower) * 8 <= lower.max(8));
        }
        assert_eq!(lower_bound(FINITE), 1 << 27);
        assert_eq!(bucket((1 << 27) - 1), FINITE - 1);
        assert_eq!(bucket(1 << 27), FINITE);
        assert_eq!(bucket(u64::MAX), FINITE);
    }

    #[test]
    fn exposed_bounds_are_octaves_from_16us_to_2_pow_27us() {
        let micros: Vec<u64> = exposed_bounds().map(lower_bound).collect();
        let octaves: Vec<u64> = (4..=27).map(|exp| 1u64 << exp).collect();
        assert_eq!(micros, octaves);
    }

    #[test]
    fn records_count_sum_and_quantiles_on_known_data() {
        let histogram = AtomicHistogram::default();
        assert_eq!(histogram.snapshot().quantile(0.5), None);
        for micros in 1..=1000 {
            histogram.record(Duration::from_micros(micros));
        }
        let snapshot = histogram.snapshot();
        assert_eq!(snapshot.count(), 1000);
        assert_eq!(snapshot.sum(), Duration::from_micros(500_500));
        for (q, exact) in [(0.5, 500.0), (0.99, 990.0), (0.999, 999.0), (0.01, 10.0)] {
            let estimate = snapshot.quantile(q).map(|d| d.as_secs_f64() * 1e6);
            let estimate = estimate.unwrap_or_default();
            assert!(
                (estimate - exact).abs() <= exact / 8.0,
                "q{q}: {estimate} µs, exactly {exact} µs"
            );
        }
        // Below 8 µs, buckets are one microsecond wide.
        let exact = AtomicHistogram::default();
        for _ in 0..7 {
            exact.record(Duration::from_nanos(7_300));
        }
        let median = exact.snapshot().quantile(0.5).unwrap_or_default();
        assert!(Duration::from_micros(7) <= median && median < Duration::from_micros(8));
        assert_eq!(exact.snapshot().count_below(7), 0);
        assert_eq!(exact.snapshot().count_below(8), 7);
    }

    #[test]
    fn overflow_and_merge() {
        let histogram = AtomicHistogram::default();
        histogram.record(Duration::from_secs(1000));
        histogram.record(Duration::from_millis(1));
        let mut total = histogram.snapshot();
        assert_eq!(total.quantile(1.0), Some(Duration::from_micros(1 << 27)));
        assert_eq!(total.count_below(FINITE), 1);
        total.merge(&histogram.snapshot());
        assert_eq!(total.count(), 4);
        assert_eq!(total.sum(), Duration::from_micros(2_000_002_000));
    }
}
