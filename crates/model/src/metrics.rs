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
/// Histogram bucket bounds in seconds (Traefik's defaults plus finer low buckets).
pub const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 1.2, 5.0, 30.0];
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
    buckets: [AtomicU64; BUCKETS.len()],
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
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    fn encode(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
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
    }
}
