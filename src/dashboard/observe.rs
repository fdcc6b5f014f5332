//! What the dashboard remembers between tables, sampled once a second: the traffic history of
//! the proxy, each frontend and each backend; each server's state timeline, including servers
//! a new table dropped while they still had requests in flight (draining); and when each
//! configuration error was first and last seen.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use control::server::{Condition, ServerState};
use control::table::RoutingTable;
use model::dynamic::HoldState;
use model::metrics::TrafficMetrics;
use serde_json::{Value, json};

use super::history::{Cumulative, Series};

/// State changes kept per server.
const TIMELINE: usize = 32;
/// Resolved errors kept, most recent first.
const RESOLVED: usize = 100;
/// A dropped server is shown draining for at most this long.
const DRAIN_SHOWN_MS: u64 = 10 * 60 * 1000;

/// (provider, name) of a frontend or backend.
pub(crate) type Key = (String, String);
/// (provider, backend, server name).
pub(crate) type ServerKey = (String, String, String);

/// Where a server stands, as the dashboard names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    Up,
    /// Failing portier's health check.
    Down,
    /// Sitting out a cool-down after failed connects or resets.
    Ejected,
    /// Stopping, or dropped from the configuration with requests still in flight.
    Draining,
    Paused,
    /// Its Docker health check has not passed yet.
    Starting,
    /// Its Docker health check fails.
    Unhealthy,
}

impl Standing {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Standing::Up => "up",
            Standing::Down => "down",
            Standing::Ejected => "ejected",
            Standing::Draining => "draining",
            Standing::Paused => "paused",
            Standing::Starting => "starting",
            Standing::Unhealthy => "unhealthy",
        }
    }

    pub(crate) fn of_hold(h: HoldState) -> Standing {
        match h {
            HoldState::Paused => Standing::Paused,
            HoldState::Starting => Standing::Starting,
            HoldState::Unhealthy => Standing::Unhealthy,
            HoldState::Stopping => Standing::Draining,
        }
    }
}

/// A routed server's standing now, with the reason when it is out of rotation.
pub(crate) fn live(st: &ServerState) -> (Standing, Option<String>) {
    match st.condition() {
        Condition::Up => (Standing::Up, None),
        Condition::Down => (
            Standing::Down,
            Some(
                st.last_error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "failing its health check".into()),
            ),
        ),
        Condition::Ejected { until_ms } => (
            Standing::Ejected,
            Some(format!(
                "out for a cool-down until {} after: {}",
                model::clock::rfc3339_ms(until_ms),
                st.last_error()
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "failed connects".into())
            )),
        ),
    }
}

/// One server's state changes: (Unix ms, standing), oldest first.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    changes: VecDeque<(u64, Standing)>,
}

impl Timeline {
    fn observe(&mut self, now_ms: u64, first_since_ms: u64, s: Standing) {
        if self.changes.back().is_some_and(|(_, last)| *last == s) {
            return;
        }
        let at = if self.changes.is_empty() {
            first_since_ms.min(now_ms)
        } else {
            now_ms
        };
        if self.changes.len() == TIMELINE {
            self.changes.pop_front();
        }
        self.changes.push_back((at, s));
    }

    /// When the server entered its current standing.
    pub(crate) fn since_ms(&self) -> Option<u64> {
        self.changes.back().map(|c| c.0)
    }

    pub(crate) fn to_json(&self) -> Value {
        json!(
            self.changes
                .iter()
                .map(|(t, s)| json!({"at": model::clock::rfc3339_ms(*t), "ms": t, "state": s.as_str()}))
                .collect::<Vec<_>>()
        )
    }
}

/// A server a new table dropped while requests to it were still in flight.
#[derive(Debug)]
pub(crate) struct Drained {
    pub url: String,
    pub state: Arc<ServerState>,
    pub since_ms: u64,
}

/// An error or warning: when it was first and last reported, and by how many configurations.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub kind: &'static str,
    pub source: String,
    pub message: String,
    pub first_ms: u64,
    pub last_ms: u64,
    pub count: u64,
    pub resolved_ms: Option<u64>,
}

impl Seen {
    pub(crate) fn to_json(&self) -> Value {
        let t = model::clock::rfc3339_ms;
        json!({
            "kind": self.kind,
            "source": self.source,
            "message": self.message,
            "firstSeen": t(self.first_ms),
            "lastSeen": t(self.last_ms),
            "count": self.count,
            "resolved": self.resolved_ms.map(t),
        })
    }
}

/// Everything sampled; lives behind one lock, taken once a second by the sampler and briefly
/// by the API.
#[derive(Debug)]
pub(crate) struct Observer {
    pub proxy: Series,
    pub frontends: HashMap<Key, Series>,
    pub backends: HashMap<Key, Series>,
    pub timelines: HashMap<ServerKey, Timeline>,
    pub draining: HashMap<ServerKey, Drained>,
    /// The routed servers of the last sample, to tell which a new table dropped.
    routed: HashMap<ServerKey, (String, Arc<ServerState>)>,
    /// Each routed server's requests at the last sample and its requests per second since
    /// the one before.
    pub rates: HashMap<ServerKey, (u64, f64)>,
    /// Unix ms of the last sample.
    last_ms: u64,
    /// Current errors and warnings by (kind, text).
    pub errors: BTreeMap<(&'static str, String), Seen>,
    pub resolved: VecDeque<Seen>,
    generation: Option<u64>,
    /// Unix seconds of the last sample.
    pub now: u64,
}

impl Observer {
    pub(crate) fn new(now: u64) -> Observer {
        Observer {
            proxy: Series::new(now, Cumulative::default()),
            frontends: HashMap::new(),
            backends: HashMap::new(),
            timelines: HashMap::new(),
            draining: HashMap::new(),
            routed: HashMap::new(),
            rates: HashMap::new(),
            last_ms: now * 1000,
            errors: BTreeMap::new(),
            resolved: VecDeque::new(),
            generation: None,
            now,
        }
    }

    /// One sample of `table` and the entrypoints' counters at `now_ms` (Unix ms).
    pub(crate) fn sample(
        &mut self,
        now_ms: u64,
        table: &RoutingTable,
        entry_points: &[(String, Arc<TrafficMetrics>)],
    ) {
        let now = now_ms / 1000;
        self.now = now;
        let elapsed_s = (now_ms.saturating_sub(self.last_ms) as f64 / 1000.0).max(0.001);
        self.last_ms = now_ms;
        self.traffic(now, table, entry_points);
        self.servers(now_ms, elapsed_s, table);
        self.catch_up(now_ms, table);
    }

    /// Takes in the errors of `table` if it is newer than the last one seen, so an answer
    /// right after a new table never lags the sampler.
    pub(crate) fn catch_up(&mut self, now_ms: u64, table: &RoutingTable) {
        if self.generation != Some(table.generation) {
            self.generation = Some(table.generation);
            self.errors_of(now_ms, table);
        }
    }

    fn traffic(
        &mut self,
        now: u64,
        table: &RoutingTable,
        entry_points: &[(String, Arc<TrafficMetrics>)],
    ) {
        let mut proxy = Cumulative::default();
        for (_, m) in entry_points {
            proxy.add(&Cumulative::of(m));
        }
        self.proxy.record(now, proxy);
        // A frontend on several entrypoints shares one set of counters: count it once.
        let mut frontends: HashMap<Key, Cumulative> = HashMap::new();
        let mut backends: HashMap<Key, Cumulative> = HashMap::new();
        for r in table.entry_points.values().flat_map(|ep| ep.routes()) {
            let key = (r.provider.clone(), r.frontend.clone());
            if frontends.contains_key(&key) {
                continue;
            }
            let c = Cumulative::of(&r.metrics);
            backends
                .entry((r.provider.clone(), r.backend.name.clone()))
                .or_default()
                .add(&c);
            frontends.insert(key, c);
        }
        record_all(&mut self.frontends, frontends, now);
        record_all(&mut self.backends, backends, now);
    }

    fn servers(&mut self, now_ms: u64, elapsed_s: f64, table: &RoutingTable) {
        let mut routed: HashMap<ServerKey, (String, Arc<ServerState>)> = HashMap::new();
        let mut rates: HashMap<ServerKey, (u64, f64)> = HashMap::new();
        let mut seen: HashSet<ServerKey> = HashSet::new();
        for (p, cfg) in &table.providers {
            for (b, backend) in cfg.backends.iter() {
                for (s, server) in &backend.servers {
                    let key = (p.clone(), b.clone(), s.clone());
                    let url_key = (p.clone(), b.clone(), server.url.clone());
                    let Some(state) = table.servers.get(&url_key) else {
                        continue;
                    };
                    let (standing, _) = live(state);
                    self.timelines.entry(key.clone()).or_default().observe(
                        now_ms,
                        state.since_ms(),
                        standing,
                    );
                    self.draining.remove(&key);
                    seen.insert(key.clone());
                    let total = state.total_requests();
                    let before = self.rates.get(&key).map_or(total, |r| r.0);
                    let rate = total.saturating_sub(before) as f64 / elapsed_s;
                    rates.insert(key.clone(), (total, rate));
                    routed.insert(key, (server.url.clone(), Arc::clone(state)));
                }
                for (s, held) in &backend.held {
                    let key = (p.clone(), b.clone(), s.clone());
                    self.timelines.entry(key.clone()).or_default().observe(
                        now_ms,
                        now_ms,
                        Standing::of_hold(held.state),
                    );
                    self.draining.remove(&key);
                    seen.insert(key);
                }
            }
        }
        // Dropped with requests in flight: draining until they end.
        for (key, (url, state)) in std::mem::take(&mut self.routed) {
            if !seen.contains(&key) && state.open_connections() > 0 {
                self.draining.insert(
                    key,
                    Drained {
                        url,
                        state,
                        since_ms: now_ms,
                    },
                );
            }
        }
        self.draining
            .retain(|_, d| d.state.open_connections() > 0 && now_ms < d.since_ms + DRAIN_SHOWN_MS);
        for key in self.draining.keys() {
            seen.insert(key.clone());
            self.timelines.entry(key.clone()).or_default().observe(
                now_ms,
                now_ms,
                Standing::Draining,
            );
        }
        self.timelines.retain(|k, _| seen.contains(k));
        self.routed = routed;
        self.rates = rates;
    }

    fn errors_of(&mut self, now_ms: u64, table: &RoutingTable) {
        let mut current: BTreeMap<(&'static str, String), (String, String)> = BTreeMap::new();
        for cfg in table.providers.values() {
            for e in cfg.errors.iter() {
                current.insert(
                    ("error", e.to_string()),
                    (e.place(), e.message().to_string()),
                );
            }
            for w in cfg.warnings.iter() {
                current.insert(
                    ("warning", w.to_string()),
                    (w.place(), w.message().to_string()),
                );
            }
        }
        for e in table
            .errors
            .iter()
            .filter(|e| matches!(e, model::dynamic::ProviderError::Compile { .. }))
        {
            current.insert(
                ("error", e.to_string()),
                (e.place(), e.message().to_string()),
            );
        }
        let mut gone: Vec<(&'static str, String)> = Vec::new();
        for key in self.errors.keys() {
            if !current.contains_key(key) {
                gone.push(key.clone());
            }
        }
        for key in gone {
            if let Some(mut seen) = self.errors.remove(&key) {
                seen.resolved_ms = Some(now_ms);
                if self.resolved.len() == RESOLVED {
                    self.resolved.pop_back();
                }
                self.resolved.push_front(seen);
            }
        }
        for (key, (source, message)) in current {
            let kind = key.0;
            let seen = self.errors.entry(key).or_insert(Seen {
                kind,
                source,
                message,
                first_ms: now_ms,
                last_ms: now_ms,
                count: 0,
                resolved_ms: None,
            });
            seen.last_ms = now_ms;
            seen.count += 1;
        }
    }

    /// The state changes of server `key`, once the sampler has seen it.
    pub(crate) fn timeline(&self, key: &ServerKey) -> Option<&Timeline> {
        self.timelines.get(key)
    }

    /// Bytes held by the traffic history (rings and snapshots).
    pub(crate) fn history_bytes(&self) -> usize {
        self.proxy.heap_bytes()
            + self
                .frontends
                .values()
                .chain(self.backends.values())
                .map(Series::heap_bytes)
                .sum::<usize>()
    }
}

/// Records each sum in its series (creating new ones) and drops series no longer present.
fn record_all(series: &mut HashMap<Key, Series>, sums: HashMap<Key, Cumulative>, now: u64) {
    series.retain(|k, _| sums.contains_key(k));
    for (key, c) in sums {
        match series.get_mut(&key) {
            Some(s) => s.record(now, c),
            None => {
                // A new route counts from what it holds now; counters that outlived a
                // rebuild carry totals, and its first point is the next second's.
                series.insert(key, Series::new(now, c));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timeline_records_changes_only() {
        let mut t = Timeline::default();
        t.observe(5_000, 1_000, Standing::Up);
        t.observe(6_000, 1_000, Standing::Up);
        t.observe(7_000, 1_000, Standing::Down);
        t.observe(8_000, 1_000, Standing::Up);
        assert_eq!(t.since_ms(), Some(8_000));
        let v = t.to_json();
        let states: Vec<&str> = v
            .as_array()
            .map(|a| a.iter().filter_map(|c| c["state"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(states, ["up", "down", "up"]);
        assert_eq!(
            v[0]["ms"], 1_000,
            "the first change dates from the server's own since"
        );
        for i in 0..100 {
            t.observe(
                10_000 + i,
                0,
                if i % 2 == 0 {
                    Standing::Ejected
                } else {
                    Standing::Up
                },
            );
        }
        assert_eq!(t.changes.len(), TIMELINE);
    }
}
