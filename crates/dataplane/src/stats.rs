//! Traefik's `/health` statistics: totals since start and counts over the last second, kept
//! with atomics (the request path never locks); a sampler turns totals into per-second counts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

const CODES: usize = 600;

#[derive(Debug)]
pub struct Stats {
    started: Instant,
    started_at: SystemTime,
    total_count: AtomicU64,
    total_time_ns: AtomicU64,
    total_size: AtomicU64,
    codes: Box<[AtomicU64]>,
    /// Totals at the last sampler tick and the per-second deltas computed then.
    window: Mutex<Window>,
}

#[derive(Debug, Default, Clone)]
struct Window {
    prev_count: u64,
    prev_codes: Vec<u64>,
    count: u64,
    codes: Vec<(u16, u64)>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            started: Instant::now(),
            started_at: SystemTime::now(),
            total_count: AtomicU64::new(0),
            total_time_ns: AtomicU64::new(0),
            total_size: AtomicU64::new(0),
            codes: (0..CODES).map(|_| AtomicU64::new(0)).collect(),
            window: Mutex::new(Window::default()),
        }
    }
}

impl Stats {
    pub fn record(&self, code: u16, took: Duration, size: u64) {
        self.total_count.fetch_add(1, Ordering::Relaxed);
        self.total_time_ns
            .fetch_add(took.as_nanos() as u64, Ordering::Relaxed);
        self.total_size.fetch_add(size, Ordering::Relaxed);
        if let Some(c) = self.codes.get(usize::from(code)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Called once a second by the dashboard's sampler.
    pub fn tick(&self) {
        let count = self.total_count.load(Ordering::Relaxed);
        let codes: Vec<u64> = self
            .codes
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        let Ok(mut w) = self.window.lock() else {
            return;
        };
        let prev = if w.prev_codes.is_empty() {
            vec![0; CODES]
        } else {
            std::mem::take(&mut w.prev_codes)
        };
        w.count = count - w.prev_count;
        w.codes = codes
            .iter()
            .zip(&prev)
            .enumerate()
            .filter(|(_, (n, p))| n > p)
            .map(|(i, (n, p))| (i as u16, n - p))
            .collect();
        w.prev_count = count;
        w.prev_codes = codes;
    }

    /// The `/health` document, with Traefik 1.x field names.
    pub fn to_json(&self) -> Value {
        let w = self.window.lock().map(|w| w.clone()).unwrap_or_default();
        let total = self.total_count.load(Ordering::Relaxed);
        let time_ns = self.total_time_ns.load(Ordering::Relaxed);
        let size = self.total_size.load(Ordering::Relaxed);
        let uptime = self.started.elapsed();
        let mut total_codes = Map::new();
        for (i, c) in self.codes.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                total_codes.insert(i.to_string(), json!(n));
            }
        }
        let codes: Map<String, Value> = w
            .codes
            .iter()
            .map(|(c, n)| (c.to_string(), json!(n)))
            .collect();
        let avg_ns = time_ns.checked_div(total).unwrap_or(0);
        let now = SystemTime::now();
        json!({
            "pid": std::process::id(),
            "hostname": crate::hostname::hostname(),
            "uptime": model::duration::format_duration(uptime),
            "uptime_sec": uptime.as_secs_f64(),
            "time": model::clock::clf_time(now),
            "unixtime": now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            "started_unixtime": self.started_at.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            "status_code_count": codes,
            "total_status_code_count": total_codes,
            "count": w.count,
            "total_count": total,
            "total_response_time": model::duration::format_duration(Duration::from_nanos(time_ns)),
            "total_response_time_sec": time_ns as f64 / 1e9,
            "total_response_size": size,
            "average_response_size": size.checked_div(total).unwrap_or(0),
            "average_response_time": model::duration::format_duration(Duration::from_nanos(avg_ns)),
            "average_response_time_sec": avg_ns as f64 / 1e9,
            "total_metrics_counts": {},
            "average_metrics_timers": {},
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_last_second() {
        let s = Stats::default();
        s.record(200, Duration::from_millis(10), 100);
        s.record(200, Duration::from_millis(30), 300);
        s.tick();
        s.record(404, Duration::from_millis(2), 19);
        let j = s.to_json();
        assert_eq!(j["total_count"], 3);
        assert_eq!(j["total_status_code_count"]["200"], 2);
        assert_eq!(j["total_status_code_count"]["404"], 1);
        assert_eq!(j["count"], 2, "the last completed second");
        assert_eq!(j["status_code_count"]["200"], 2);
        assert_eq!(j["total_response_size"], 419);
        s.tick();
        let j = s.to_json();
        assert_eq!(j["count"], 1);
        assert_eq!(j["status_code_count"]["404"], 1);
        assert!(j["status_code_count"].get("200").is_none());
    }
}
