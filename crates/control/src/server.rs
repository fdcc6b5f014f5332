//! Per-server runtime state that outlives routing tables: health, requests in flight, passive
//! ejection. Kept in the compiler's registry; the data plane and the health checker update it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// First cool-down after a failed connect or reset; it doubles per consecutive failure.
pub const EJECTION_BASE: Duration = Duration::from_secs(1);
/// Longest cool-down.
pub const EJECTION_MAX: Duration = Duration::from_secs(30);
/// A server's forwarding failures are logged at WARN at most once in this long.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Runtime state of one server, keyed by (backend, URL) in the aggregator's registry, so a
/// table rebuild keeps it. Only atomics: the request path reads and bumps them without locks.
#[derive(Debug)]
pub struct ServerState {
    healthy: AtomicBool,
    open: AtomicUsize,
    requests: AtomicU64,
    /// Unix milliseconds of the last health change (or of creation).
    since_ms: AtomicU64,
    /// The last forwarding error, for the dashboard (written on the error path only).
    last_error: arc_swap::ArcSwapOption<String>,
    /// When (Unix ms) the last forwarding error happened; 0 before any.
    last_error_ms: AtomicU64,
    /// Consecutive forwarding failures, and until when (Unix ms) the server sits out.
    failures: AtomicU32,
    ejected_until_ms: AtomicU64,
    /// Requests in flight at most (`maxConnsPerHost`); `None` means no limit.
    slots: Option<Arc<tokio::sync::Semaphore>>,
    /// When (Unix ms) a failure was last logged at WARN, and failures not logged since.
    warned_ms: AtomicU64,
    unwarned: AtomicU64,
}

impl Default for ServerState {
    fn default() -> Self {
        ServerState {
            healthy: AtomicBool::new(true),
            open: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            since_ms: AtomicU64::new(now_ms()),
            last_error: arc_swap::ArcSwapOption::empty(),
            last_error_ms: AtomicU64::new(0),
            failures: AtomicU32::new(0),
            ejected_until_ms: AtomicU64::new(0),
            slots: None,
            warned_ms: AtomicU64::new(0),
            unwarned: AtomicU64::new(0),
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl ServerState {
    /// Whether a failure may be logged at WARN now (once per [`WARN_EVERY`]); if so, how many
    /// were left unlogged since the last one.
    pub fn warn_allowed(&self) -> Option<u64> {
        let now = now_ms();
        let last = self.warned_ms.load(Ordering::Relaxed);
        let due = last == 0 || now >= last + WARN_EVERY.as_millis() as u64;
        if due
            && self
                .warned_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.unwarned.swap(0, Ordering::Relaxed));
        }
        self.unwarned.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// A server that takes at most `max_in_flight` requests at once (0: no limit).
    pub fn with_limit(max_in_flight: usize) -> ServerState {
        ServerState {
            slots: (max_in_flight > 0)
                .then(|| Arc::new(tokio::sync::Semaphore::new(max_in_flight))),
            ..ServerState::default()
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn set_healthy(&self, healthy: bool) {
        if self.healthy.swap(healthy, Ordering::Relaxed) != healthy {
            self.since_ms.store(now_ms(), Ordering::Relaxed);
        }
    }

    /// Unix milliseconds since which the server has been in its current health state.
    pub fn since_ms(&self) -> u64 {
        self.since_ms.load(Ordering::Relaxed)
    }

    /// Takes the server out for a cool-down that grows with consecutive failures.
    pub fn eject(&self) -> Duration {
        let n = self.failures.fetch_add(1, Ordering::Relaxed).min(16);
        let cool = EJECTION_BASE.saturating_mul(1 << n).min(EJECTION_MAX);
        self.ejected_until_ms
            .store(now_ms() + cool.as_millis() as u64, Ordering::Relaxed);
        cool
    }

    /// A request got a response: forget past failures.
    pub fn record_success(&self) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
            self.ejected_until_ms.store(0, Ordering::Relaxed);
        }
    }

    /// Whether the server is sitting out a cool-down (reads the clock only when it might be).
    pub fn is_ejected(&self) -> bool {
        let until = self.ejected_until_ms.load(Ordering::Relaxed);
        until != 0 && now_ms() < until
    }

    pub fn set_last_error(&self, error: String) {
        self.last_error.store(Some(Arc::new(error)));
        self.last_error_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// When (Unix ms) the last forwarding error happened, if one did.
    pub fn last_error_ms(&self) -> Option<u64> {
        Some(self.last_error_ms.load(Ordering::Relaxed)).filter(|ms| *ms != 0)
    }

    /// Where the server stands for the load balancer: failing its health check comes first,
    /// then a passive ejection (with when it ends, Unix ms).
    pub fn condition(&self) -> Condition {
        if !self.is_healthy() {
            return Condition::Down;
        }
        let until = self.ejected_until_ms.load(Ordering::Relaxed);
        if until != 0 && now_ms() < until {
            return Condition::Ejected { until_ms: until };
        }
        Condition::Up
    }

    pub fn last_error(&self) -> Option<Arc<String>> {
        self.last_error.load_full()
    }

    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    pub fn total_requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Counts a request as in flight until the guard drops (after the response body ends);
    /// waits for a free slot when the server is at its limit.
    pub async fn start_request(self: &Arc<Self>) -> InFlight {
        let permit = match &self.slots {
            Some(slots) => Arc::clone(slots).acquire_owned().await.ok(),
            None => None,
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self), permit)
    }
}

/// A server's standing in rotation, as [`ServerState::condition`] reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Up,
    /// Failing its health check.
    Down,
    /// Sitting out a cool-down after failed connects or resets, until `until_ms`.
    Ejected {
        until_ms: u64,
    },
}

/// A request in flight to a server; the permit (if the server is limited) frees on drop.
#[derive(Debug)]
pub struct InFlight(
    Arc<ServerState>,
    #[allow(dead_code)] Option<tokio::sync::OwnedSemaphorePermit>,
);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_flight_requests_are_bounded() {
        let s = Arc::new(ServerState::with_limit(2));
        let a = s.start_request().await;
        let _b = s.start_request().await;
        assert_eq!(s.open_connections(), 2);
        let waiting = tokio::time::timeout(Duration::from_millis(50), s.start_request()).await;
        assert!(waiting.is_err(), "a third request waits");
        drop(a);
        let c = tokio::time::timeout(Duration::from_millis(50), s.start_request()).await;
        assert!(c.is_ok(), "a slot freed up");
    }

    #[test]
    fn ejection_grows_and_success_clears_it() {
        let s = ServerState::default();
        assert!(!s.is_ejected());
        assert_eq!(s.condition(), Condition::Up);
        assert_eq!(s.eject(), Duration::from_secs(1));
        assert!(s.is_ejected());
        assert!(matches!(s.condition(), Condition::Ejected { .. }));
        s.set_healthy(false);
        assert_eq!(s.condition(), Condition::Down);
        s.set_healthy(true);
        assert_eq!(s.eject(), Duration::from_secs(2));
        assert_eq!(s.eject(), Duration::from_secs(4));
        for _ in 0..10 {
            s.eject();
        }
        assert_eq!(s.eject(), EJECTION_MAX);
        s.record_success();
        assert!(!s.is_ejected());
        assert_eq!(s.eject(), Duration::from_secs(1));
    }
}
