//! Load balancing: the weighted round robin and the per-server runtime state that outlives
//! routing tables.

pub mod wrr;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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
}

impl Default for ServerState {
    fn default() -> Self {
        ServerState {
            healthy: AtomicBool::new(true),
            open: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            since_ms: AtomicU64::new(now_ms()),
            last_error: arc_swap::ArcSwapOption::empty(),
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

    pub fn set_last_error(&self, error: String) {
        self.last_error.store(Some(Arc::new(error)));
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

    /// Counts a request as in flight until the guard drops (after the response body ends).
    pub fn start_request(self: &Arc<Self>) -> InFlight {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }
}

#[derive(Debug)]
pub struct InFlight(Arc<ServerState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
