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
}

impl Default for ServerState {
    fn default() -> Self {
        ServerState {
            healthy: AtomicBool::new(true),
            open: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
        }
    }
}

impl ServerState {
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
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
