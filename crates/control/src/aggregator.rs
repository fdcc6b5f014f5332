//! The aggregator task: merges the providers' snapshots, has them compiled into a
//! [`RoutingTable`] and publishes it.
//!
//! It is the only writer of the shared `ArcSwap<RoutingTable>`. Providers send whole
//! snapshots; queued snapshots are coalesced (latest wins per provider) and a snapshot equal
//! to the provider's previous one is skipped. State that outlives tables sits in the
//! compiler's [`Registry`], owned by this task.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use model::dynamic::ProviderConfig;
use model::metrics::ControlMetrics;
use model::update::ProviderUpdate;
use tokio::sync::{mpsc, watch};

use crate::compile::{CompileSettings, Registry, compile};
use crate::table::RoutingTable;

/// How many snapshots may wait before a provider's `send` waits.
const UPDATE_QUEUE: usize = 16;

/// The aggregator's inputs and outputs.
#[derive(Debug, Clone)]
pub struct Handle {
    pub updates: mpsc::Sender<ProviderUpdate>,
    pub tables: watch::Receiver<Arc<RoutingTable>>,
}

/// Starts the aggregator; it stops when every `updates` sender is dropped. After a table is
/// published, the next one waits `throttle` (`providersThrottleDuration`; zero: none), the
/// snapshots that came meanwhile coalesced into it.
pub fn spawn(
    settings: CompileSettings,
    table: Arc<ArcSwap<RoutingTable>>,
    control: Arc<ControlMetrics>,
    throttle: std::time::Duration,
) -> Handle {
    let (tx, mut rx) = mpsc::channel::<ProviderUpdate>(UPDATE_QUEUE);
    let (watch_tx, watch_rx) = watch::channel(table.load_full());
    tokio::spawn(async move {
        let mut providers: BTreeMap<String, Arc<ProviderConfig>> = BTreeMap::new();
        let mut registry = Registry::new();
        let mut generation = 0u64;
        let mut logged: HashSet<String> = HashSet::new();
        while let Some(first) = rx.recv().await {
            let mut changed = apply(&mut providers, first);
            while let Ok(more) = rx.try_recv() {
                changed |= apply(&mut providers, more);
            }
            if !changed {
                tracing::debug!("skipping a configuration equal to the current one");
                continue;
            }
            generation += 1;
            let started = Instant::now();
            let new = compile(&providers, &settings, &mut registry, generation);
            let now: HashSet<String> = new.errors.iter().map(ToString::to_string).collect();
            for e in now.difference(&logged) {
                tracing::error!("configuration error: {e}");
            }
            logged = now;
            let frontends: usize = new.providers.values().map(|p| p.frontends.len()).sum();
            tracing::info!(
                generation,
                frontends,
                errors = new.errors.len(),
                "configuration applied in {:?}",
                started.elapsed()
            );
            let took = started.elapsed();
            control
                .config_reloads
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            control
                .last_reload_ns
                .store(took.as_nanos() as u64, std::sync::atomic::Ordering::Relaxed);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            control
                .last_reload_unix
                .store(now, std::sync::atomic::Ordering::Relaxed);
            let new = Arc::new(new);
            table.store(Arc::clone(&new));
            watch_tx.send_replace(new);
            if !throttle.is_zero() {
                tokio::time::sleep(throttle).await;
            }
        }
    });
    Handle {
        updates: tx,
        tables: watch_rx,
    }
}

fn apply(providers: &mut BTreeMap<String, Arc<ProviderConfig>>, u: ProviderUpdate) -> bool {
    if providers
        .get(&u.provider)
        .is_some_and(|old| **old == u.config)
    {
        return false;
    }
    providers.insert(u.provider, Arc::new(u.config));
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn update(backend: &str) -> ProviderUpdate {
        let mut config = ProviderConfig::default();
        config
            .backends
            .insert(backend.to_string(), Default::default());
        ProviderUpdate {
            provider: "file".into(),
            config,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_holds_the_next_table_and_coalesces_what_came_meanwhile() {
        let settings = CompileSettings {
            entry_points: vec!["http".into()],
            default_entry_points: vec!["http".into()],
            max_conns_per_server: 0,
            redirect_targets: Default::default(),
            keep_trailing_slash: false,
            default_rule_syntax: model::rules::Syntax::V3,
            router_entry_points: Vec::new(),
            acme: false,
            resolvers: Vec::new(),
            api: false,
            l4: Default::default(),
            entry_point_http: Default::default(),
        };
        let table = Arc::new(ArcSwap::from_pointee(RoutingTable::default()));
        let h = spawn(
            settings,
            Arc::clone(&table),
            Arc::default(),
            Duration::from_secs(2),
        );
        let mut tables = h.tables.clone();
        let started = tokio::time::Instant::now();
        h.updates.send(update("a")).await.expect("send");
        tables.changed().await.expect("first table");
        assert_eq!(table.load().generation, 1);
        assert!(
            started.elapsed() < Duration::from_millis(10),
            "the first at once"
        );
        h.updates.send(update("b")).await.expect("send");
        h.updates.send(update("c")).await.expect("send");
        tables.changed().await.expect("second table");
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "held by the throttle"
        );
        let t = table.load();
        assert_eq!(t.generation, 2, "b and c coalesced into one table");
        assert!(t.providers["file"].backends.contains_key("c"));
    }
}
