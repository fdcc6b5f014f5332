//! Request counters, latency histograms and gauges, updated with atomics only (no lock on the
//! request path), and their Prometheus text exposition.
//!
//! Per-route and per-entrypoint counters are keyed by (status code, method) in a small fixed
//! table of slots claimed with a compare-and-swap; when it is full, further combinations are
//! counted under `code="other"`.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use http::Method;

/// Distinct (code, method) pairs tracked per route before `code="other"`.
const SLOTS: usize = 24;
/// Histogram bucket bounds in seconds exposed to Prometheus (Traefik's defaults plus finer low
/// buckets). Each is one of [`FINE_US`], so the fine counts add up to them exactly.
pub const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 1.2, 5.0, 30.0];
/// Upper bounds in microseconds of the buckets requests are counted in: fine enough for the
/// dashboard's p50 and p99 (about 1.5× apart), one more bucket for anything slower.
pub const FINE_US: [u64; 28] = [
    100, 200, 300, 500, 700, 1_000, 1_500, 2_000, 3_000, 5_000, 7_000, 10_000, 15_000, 25_000,
    35_000, 50_000, 70_000, 100_000, 150_000, 200_000, 300_000, 500_000, 700_000, 1_200_000,
    2_000_000, 5_000_000, 10_000_000, 30_000_000,
];
/// Fine buckets plus the one for anything above the last bound.
pub const FINE_LEN: usize = FINE_US.len() + 1;
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "OTHER",
];

pub fn method_index(m: &Method) -> u8 {
    match *m {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::PATCH => 5,
        Method::OPTIONS => 6,
        Method::CONNECT => 7,
        _ => 8,
    }
}

/// Requests counted by (status code, method).
#[derive(Debug)]
pub struct RequestCounters {
    keys: [AtomicU32; SLOTS],
    counts: [AtomicU64; SLOTS],
    other: AtomicU64,
}

impl Default for RequestCounters {
    fn default() -> Self {
        RequestCounters {
            keys: std::array::from_fn(|_| AtomicU32::new(0)),
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            other: AtomicU64::new(0),
        }
    }
}

impl RequestCounters {
    pub fn add(&self, code: u16, method: u8) {
        let key = (u32::from(code) << 8) | u32::from(method) | 0x8000_0000;
        for i in 0..SLOTS {
            let k = self.keys[i].load(Ordering::Acquire);
            if k == key {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
                return;
            }
            if k == 0 {
                match self.keys[i].compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => {
                        self.counts[i].fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(existing) if existing == key => {
                        self.counts[i].fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Err(_) => continue,
                }
            }
        }
        self.other.fetch_add(1, Ordering::Relaxed);
    }

    /// (code, method, count) for every pair seen; code 0 means "other".
    pub fn snapshot(&self) -> Vec<(u16, &'static str, u64)> {
        let mut out = Vec::new();
        for i in 0..SLOTS {
            let k = self.keys[i].load(Ordering::Acquire);
            if k != 0 {
                let code = ((k & 0x7fff_ffff) >> 8) as u16;
                let method = METHODS.get((k & 0xff) as usize).copied().unwrap_or("OTHER");
                out.push((code, method, self.counts[i].load(Ordering::Relaxed)));
            }
        }
        let other = self.other.load(Ordering::Relaxed);
        if other > 0 {
            out.push((0, "OTHER", other));
        }
        out
    }

    pub fn total(&self) -> u64 {
        self.snapshot().iter().map(|s| s.2).sum()
    }
}

/// A latency histogram with fixed buckets.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; FINE_LEN],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        let i = FINE_US.partition_point(|b| *b < us);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The count in each fine bucket (see [`FINE_US`]).
    pub fn counts(&self) -> [u64; FINE_LEN] {
        std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed))
    }

    fn encode(&self, out: &mut String, name: &str, labels: &str) {
        let fine = self.counts();
        let mut cumulative = 0;
        let mut next = 0;
        for b in BUCKETS {
            let bound_us = (b * 1e6).round() as u64;
            while next < FINE_US.len() && FINE_US[next] <= bound_us {
                cumulative += fine[next];
                next += 1;
            }
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum{{{}}} {}",
            labels.trim_end_matches(','),
            self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "{name}_count{{{}}} {count}",
            labels.trim_end_matches(',')
        );
    }
}

/// What one entrypoint or one frontend counts.
#[derive(Debug, Default)]
pub struct TrafficMetrics {
    pub requests: RequestCounters,
    pub duration: Histogram,
    /// Connections (entrypoints) or requests in flight (frontends).
    pub open: AtomicI64,
    /// Entrypoints: of the open connections, those idle between requests with their buffers
    /// released (parked).
    pub parked: AtomicI64,
    /// Requests sent again to another server after a failed connect or reset.
    pub retries: AtomicU64,
}

/// Counters of the configuration pipeline and the providers.
#[derive(Debug, Default)]
pub struct ControlMetrics {
    pub config_reloads: AtomicU64,
    pub last_reload_ns: AtomicU64,
    pub last_reload_unix: AtomicU64,
    pub docker_events: AtomicU64,
    /// 1 when the Docker provider is connected, 0 when not, -1 when it is not configured.
    pub docker_connected: AtomicI64,
}

/// Escapes a label value for the text format.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Appends one family's `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Appends the samples of a requests counter and a duration histogram for one label set.
pub fn encode_traffic(out: &mut String, requests_name: &str, t: &TrafficMetrics, labels: &str) {
    for (code, method, n) in t.requests.snapshot() {
        let code = if code == 0 {
            "other".to_string()
        } else {
            code.to_string()
        };
        let _ = writeln!(
            out,
            "{requests_name}{{{labels}code=\"{code}\",method=\"{method}\"}} {n}"
        );
    }
}

pub fn encode_duration(out: &mut String, name: &str, t: &TrafficMetrics, labels: &str) {
    t.duration.encode(out, name, labels);
}

/// Answers counted by status class: 1xx, 2xx, 3xx, 4xx, 5xx, and anything else.
pub type ClassCounts = [u64; 6];

impl RequestCounters {
    /// Totals by status class (index `code / 100 - 1`; the last for codes out of range and
    /// for the `other` overflow, which [`snapshot`](Self::snapshot) reports as code 0).
    pub fn by_class(&self) -> ClassCounts {
        let mut out = [0; 6];
        for (code, _, n) in self.snapshot() {
            out[class_index(code)] += n;
        }
        out
    }
}

fn class_index(code: u16) -> usize {
    match code {
        100..=599 => usize::from(code / 100 - 1),
        _ => 5,
    }
}

/// The quantile `q` (0..1) of a fine histogram's counts in microseconds, interpolated within
/// its bucket; `None` without a sample.
pub fn quantile_us(counts: &[u64; FINE_LEN], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in counts.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        if seen + n >= rank {
            let lower = if i == 0 { 0 } else { FINE_US[i - 1] };
            let Some(upper) = FINE_US.get(i) else {
                return Some(lower);
            };
            let within = (rank - seen) as f64 / *n as f64;
            return Some(lower + ((upper - lower) as f64 * within).round() as u64);
        }
        seen += n;
    }
    FINE_US.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_code_and_method_and_overflows_to_other() {
        let c = RequestCounters::default();
        c.add(200, 0);
        c.add(200, 0);
        c.add(404, 2);
        let snap = c.snapshot();
        assert!(snap.contains(&(200, "GET", 2)));
        assert!(snap.contains(&(404, "POST", 1)));
        for code in 100..200 {
            c.add(code, 0);
        }
        assert_eq!(c.total(), 103);
        assert!(c.snapshot().iter().any(|s| s.0 == 0 && s.2 > 0));
    }

    #[test]
    fn histogram_is_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(500));
        h.observe(Duration::from_millis(20));
        h.observe(Duration::from_secs(60));
        let mut out = String::new();
        h.encode(&mut out, "d", "a=\"b\",");
        assert!(out.contains("d_bucket{a=\"b\",le=\"0.001\"} 1"), "{out}");
        assert!(out.contains("d_bucket{a=\"b\",le=\"0.025\"} 2"), "{out}");
        assert!(out.contains("d_bucket{a=\"b\",le=\"+Inf\"} 3"), "{out}");
        assert!(out.contains("d_count{a=\"b\"} 3"), "{out}");
        assert!(out.contains("d_bucket{a=\"b\",le=\"30\"} 2"), "{out}");
    }

    #[test]
    fn classes_and_quantiles() {
        let c = RequestCounters::default();
        c.add(200, 0);
        c.add(204, 1);
        c.add(503, 0);
        c.add(101, 0);
        assert_eq!(c.by_class(), [1, 2, 0, 0, 1, 0]);
        let h = Histogram::default();
        for _ in 0..98 {
            h.observe(Duration::from_micros(800));
        }
        h.observe(Duration::from_millis(40));
        h.observe(Duration::from_millis(45));
        let counts = h.counts();
        let p50 = quantile_us(&counts, 0.5).unwrap_or(0);
        assert!((700..=1_000).contains(&p50), "{p50}");
        let p99 = quantile_us(&counts, 0.99).unwrap_or(0);
        assert!((35_000..=50_000).contains(&p99), "{p99}");
        assert_eq!(quantile_us(&[0; FINE_LEN], 0.5), None);
        let mut slow = [0; FINE_LEN];
        slow[FINE_LEN - 1] = 1;
        assert_eq!(quantile_us(&slow, 0.99), Some(30_000_000));
    }
}
