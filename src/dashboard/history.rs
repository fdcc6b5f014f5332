//! Traffic over time, for the dashboard: per series (the whole proxy, each frontend, each
//! backend) fixed-size rings of one-second points (last 5 minutes) and one-minute points (last
//! hour), fed once a second with the cumulative counters the data plane keeps. Pure: the
//! sampler hands it counters and the time.

use std::collections::VecDeque;

use model::metrics::{ClassCounts, FINE_LEN, TrafficMetrics, quantile_us};
use serde_json::{Value, json};

/// One-second points kept: the last 5 minutes.
pub(crate) const SECONDS: usize = 300;
/// One-minute points kept: the last hour.
pub(crate) const MINUTES: usize = 60;
/// Cumulative snapshots kept for the last minute's percentiles: one per 10 seconds.
const WINDOW_STEP: u64 = 10;
const WINDOW_LEN: usize = 7;

/// Counters as the data plane has counted them since start: answers by status class and
/// the latency histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cumulative {
    classes: ClassCounts,
    hist: [u64; FINE_LEN],
}

impl Default for Cumulative {
    fn default() -> Self {
        Cumulative {
            classes: [0; 6],
            hist: [0; FINE_LEN],
        }
    }
}

impl Cumulative {
    pub(crate) fn of(m: &TrafficMetrics) -> Cumulative {
        Cumulative {
            classes: m.requests.by_class(),
            hist: m.duration.counts(),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_parts(classes: ClassCounts, hist: [u64; FINE_LEN]) -> Cumulative {
        Cumulative { classes, hist }
    }

    pub(crate) fn add(&mut self, other: &Cumulative) {
        for (a, b) in self.classes.iter_mut().zip(other.classes) {
            *a += b;
        }
        for (a, b) in self.hist.iter_mut().zip(other.hist) {
            *a += b;
        }
    }

    /// What was counted after `earlier`; a counter that went down (a frontend removed from a
    /// backend's sum) counts nothing.
    fn since(&self, earlier: &Cumulative) -> Cumulative {
        let mut out = *self;
        for (a, b) in out.classes.iter_mut().zip(earlier.classes) {
            *a = a.saturating_sub(b);
        }
        for (a, b) in out.hist.iter_mut().zip(earlier.hist) {
            *a = a.saturating_sub(b);
        }
        out
    }

    pub(crate) fn total(&self) -> u64 {
        self.classes.iter().sum()
    }

    fn point(&self) -> Point {
        let narrow = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        Point {
            classes: self.classes.map(narrow),
            p50_us: quantile_us(&self.hist, 0.5).map_or(0, narrow),
            p99_us: quantile_us(&self.hist, 0.99).map_or(0, narrow),
        }
    }
}

/// One second or one minute of answers: counts by status class and latency percentiles
/// (0 when nothing was answered). 32 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Point {
    classes: [u32; 6],
    p50_us: u32,
    p99_us: u32,
}

impl Point {
    fn total(&self) -> u64 {
        self.classes.iter().map(|c| u64::from(*c)).sum()
    }
}

/// A ring of points one `step` apart, the last ending at `end` (Unix seconds).
#[derive(Debug, Default)]
struct Ring {
    points: VecDeque<Point>,
    end: u64,
}

impl Ring {
    /// Appends `p` for the step ending at `at`, with empty points for any steps skipped, and
    /// keeps the last `cap`. Nothing is kept (or allocated) before the first non-empty point.
    fn push(&mut self, at: u64, step: u64, p: Point, cap: usize) {
        if self.points.is_empty() && p.total() == 0 {
            self.end = at;
            return;
        }
        if !self.points.is_empty() {
            let skipped = (at.saturating_sub(self.end) / step).saturating_sub(1);
            for _ in 0..skipped.min(cap as u64) {
                self.push_one(Point::default(), cap);
            }
        }
        self.push_one(p, cap);
        self.end = at;
    }

    fn push_one(&mut self, p: Point, cap: usize) {
        if self.points.capacity() == 0 {
            self.points.reserve_exact(cap);
        }
        if self.points.len() == cap {
            self.points.pop_front();
        }
        self.points.push_back(p);
    }

    /// Columns for a chart: `{"end", "step", "2xx": [...], ..., "p50": [...], "p99": [...]}`
    /// (milliseconds), oldest first.
    fn to_json(&self, step: u64) -> Value {
        let column =
            |f: &dyn Fn(&Point) -> Value| -> Vec<Value> { self.points.iter().map(f).collect() };
        let class = |i: usize| column(&|p: &Point| json!(p.classes[i]));
        json!({
            "end": self.end,
            "step": step,
            "requests": column(&|p: &Point| json!(p.total())),
            "1xx": class(0), "2xx": class(1), "3xx": class(2), "4xx": class(3), "5xx": class(4),
            "other": class(5),
            "p50": column(&|p: &Point| json!(f64::from(p.p50_us) / 1000.0)),
            "p99": column(&|p: &Point| json!(f64::from(p.p99_us) / 1000.0)),
        })
    }
}

/// The history of one series.
#[derive(Debug)]
pub(crate) struct Series {
    last: Cumulative,
    minute_start: Cumulative,
    minute: u64,
    seconds: Ring,
    minutes: Ring,
    /// Cumulative snapshots every [`WINDOW_STEP`] seconds, for the last minute's percentiles.
    window: VecDeque<(u64, Cumulative)>,
}

impl Series {
    /// A series that starts counting from `current` at `now` (Unix seconds).
    pub(crate) fn new(now: u64, current: Cumulative) -> Series {
        Series {
            last: current,
            minute_start: current,
            minute: now / 60,
            seconds: Ring {
                points: VecDeque::new(),
                end: now,
            },
            minutes: Ring {
                points: VecDeque::new(),
                end: now,
            },
            window: VecDeque::from([(now, current)]),
        }
    }

    /// One sample: the counters at `now` (Unix seconds).
    pub(crate) fn record(&mut self, now: u64, current: Cumulative) {
        if now <= self.seconds.end {
            return;
        }
        self.seconds
            .push(now, 1, current.since(&self.last).point(), SECONDS);
        self.last = current;
        let minute = now / 60;
        if minute != self.minute {
            let p = current.since(&self.minute_start).point();
            self.minutes.push(minute * 60, 60, p, MINUTES);
            self.minute_start = current;
            self.minute = minute;
        }
        if self
            .window
            .back()
            .is_none_or(|(t, _)| now >= t + WINDOW_STEP)
        {
            if self.window.len() == WINDOW_LEN {
                self.window.pop_front();
            }
            self.window.push_back((now, current));
        }
    }

    /// Totals since start, the rate over the last 10 seconds, and the last minute's
    /// requests, 5xx answers, p50 and p99 (milliseconds, `null` without requests).
    pub(crate) fn summary(&self) -> Value {
        let recent: u64 = self
            .seconds
            .points
            .iter()
            .rev()
            .take(10)
            .map(Point::total)
            .sum();
        let span = self.seconds.points.len().clamp(1, 10) as f64;
        let (since, oldest) = self.window.front().copied().unwrap_or((0, self.last));
        let minute = self.last.since(&oldest);
        let ms = |q: f64| quantile_us(&minute.hist, q).map(|us| us as f64 / 1000.0);
        let c = &self.last.classes;
        json!({
            "total": self.last.total(),
            "codes": {"1xx": c[0], "2xx": c[1], "3xx": c[2], "4xx": c[3], "5xx": c[4], "other": c[5]},
            "rate": recent as f64 / span,
            "window": {
                "seconds": self.seconds.end.saturating_sub(since),
                "requests": minute.total(),
                "5xx": minute.classes[4],
                "p50": ms(0.5),
                "p99": ms(0.99),
            },
        })
    }

    /// The summary with both rings.
    pub(crate) fn detail(&self) -> Value {
        let mut v = self.summary();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("seconds".into(), self.seconds.to_json(1));
            obj.insert("minutes".into(), self.minutes.to_json(60));
        }
        v
    }

    /// The 5xx share of the last minute's answers (0 without answers).
    pub(crate) fn error_ratio(&self) -> f64 {
        let oldest = self.window.front().map_or(self.last, |w| w.1);
        let minute = self.last.since(&oldest);
        let total = minute.total();
        if total == 0 {
            0.0
        } else {
            minute.classes[4] as f64 / total as f64
        }
    }

    /// The last one-second point: (requests, 5xx, p99 ms).
    pub(crate) fn last_second(&self) -> (u64, u64, f64) {
        self.seconds.points.back().map_or((0, 0, 0.0), |p| {
            (
                p.total(),
                u64::from(p.classes[4]),
                f64::from(p.p99_us) / 1000.0,
            )
        })
    }

    /// Bytes this series holds beyond its own struct (for the memory figure in the API).
    pub(crate) fn heap_bytes(&self) -> usize {
        (self.seconds.points.capacity() + self.minutes.points.capacity())
            * std::mem::size_of::<Point>()
            + self.window.capacity() * std::mem::size_of::<(u64, Cumulative)>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(ok: u64, errors: u64, fast: u64, slow: u64) -> Cumulative {
        let mut hist = [0; FINE_LEN];
        hist[5] = fast; // 700 µs .. 1 ms
        hist[15] = slow; // 35 .. 50 ms
        Cumulative::from_parts([0, ok, 0, 0, errors, 0], hist)
    }

    #[test]
    fn points_are_what_happened_each_second() {
        let mut s = Series::new(1000, counts(5, 0, 5, 0));
        s.record(1001, counts(5, 0, 5, 0));
        assert!(s.seconds.points.is_empty(), "nothing kept before traffic");
        assert_eq!(
            s.heap_bytes(),
            std::mem::size_of::<(u64, Cumulative)>() * s.window.capacity()
        );
        s.record(1002, counts(15, 2, 11, 6));
        s.record(1003, counts(15, 2, 11, 6));
        s.record(1006, counts(16, 2, 12, 6)); // two samples missed
        let p: Vec<u64> = s.seconds.points.iter().map(Point::total).collect();
        assert_eq!(p, [12, 0, 0, 0, 1]);
        assert_eq!(s.seconds.end, 1006);
        let first = s.seconds.points[0];
        assert_eq!(first.classes[4], 2);
        assert!((700..=1_000).contains(&first.p50_us), "{first:?}");
        assert!((35_000..=50_000).contains(&first.p99_us), "{first:?}");
        let v = s.detail();
        assert_eq!(v["total"], 18);
        assert_eq!(v["codes"]["5xx"], 2);
        assert_eq!(v["window"]["requests"], 13);
        assert_eq!(v["seconds"]["requests"], json!([12, 0, 0, 0, 1]));
        assert!((s.error_ratio() - 2.0 / 13.0).abs() < 1e-9);
    }

    #[test]
    fn rings_keep_a_fixed_length() {
        let mut s = Series::new(0, Cumulative::default());
        for t in 1..=(2 * 3600) {
            s.record(t, counts(t, 0, t, 0));
        }
        assert_eq!(s.seconds.points.len(), SECONDS);
        assert_eq!(s.minutes.points.len(), MINUTES);
        assert_eq!(s.seconds.points.capacity(), SECONDS, "allocated once");
        assert!(s.minutes.points.iter().all(|p| p.total() == 60));
        assert_eq!(s.window.len(), WINDOW_LEN);
        assert_eq!(s.summary()["window"]["requests"], 60);
        assert_eq!(s.summary()["rate"], 1.0);
    }

    #[test]
    fn a_sum_that_shrinks_counts_nothing() {
        let mut s = Series::new(0, counts(10, 0, 10, 0));
        s.record(1, counts(12, 0, 12, 0));
        s.record(2, counts(3, 0, 3, 0));
        s.record(3, counts(4, 0, 4, 0));
        let p: Vec<u64> = s.seconds.points.iter().map(Point::total).collect();
        assert_eq!(p, [2, 0, 1]);
    }
}
