//! The `[docker]` provider: containers and their `traefik.*` labels, followed live through the
//! engine's event stream.
//!
//! Only read-only API calls are made (version, list, inspect, events), so portier works behind a
//! read-only socket proxy. The task subscribes to events from a moment before it lists, keeps a
//! cache of inspected containers, re-inspects only the container an event names, and sends a
//! snapshot at most [`DEBOUNCE`] after the first event of a burst: the [`Translator`] reads
//! again only the containers the burst changed, and the snapshot shares the rest with the
//! previous one. When the engine goes away the last routes stay; it reconnects with capped
//! backoff and re-lists (and reads again) everything.

mod container;
mod error_pages;
mod events;
mod l4;
mod labels;
mod middlewares;
mod protection;
mod segments;
mod swarm;
mod swarm_api;
mod translate;
mod translator;
mod v2;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::EventMessage;
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use container::{ContainerInfo, Health, RunState};
pub use events::{Change, classify};
pub use swarm::{
    SwarmContainers, SwarmLook, SwarmService, SwarmTask, containers as swarm_containers,
};
pub use translate::{DockerDefaults, normalize};
pub use translator::{Translation, Translator, translate};

use config::DockerConfig;
use model::metrics::ControlMetrics;
use model::update::ProviderUpdate;

/// The provider name shown in the API.
pub const NAME: &str = "docker";
/// A burst of events is sent as one snapshot this long after its first event.
pub const DEBOUNCE: Duration = Duration::from_millis(10);
/// First and largest wait between reconnection attempts.
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Swarm mode: how often the swarm is re-read while it converges after an event, and for how
/// long after the last event.
const SWARM_POLL: Duration = Duration::from_millis(250);
const SWARM_CONVERGE: Duration = Duration::from_secs(20);
/// Events are asked for from this long before the list, so none falls between the two.
const EVENTS_OVERLAP: Duration = Duration::from_secs(1);

/// Why the engine could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot connect to the Docker engine at {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: bollard::errors::Error,
    },
    #[error("Docker engine at {endpoint}: {source}")]
    Api {
        endpoint: String,
        source: bollard::errors::Error,
    },
    #[error("Docker engine at {endpoint}: the event stream ended")]
    StreamEnded { endpoint: String },
    #[error("Docker engine at {endpoint}: Swarm API: {source}")]
    Swarm {
        endpoint: String,
        source: swarm_api::SwarmApiError,
    },
}

/// Starts the provider task.
pub fn spawn(cfg: DockerConfig, tx: mpsc::Sender<ProviderUpdate>, control: Arc<ControlMetrics>) {
    tokio::spawn(run(cfg, tx, control));
}

async fn run(cfg: DockerConfig, tx: mpsc::Sender<ProviderUpdate>, control: Arc<ControlMetrics>) {
    let mut provider = Provider {
        control,
        translator: Translator::new(defaults(&cfg)),
        cache: HashMap::new(),
        dirty: HashSet::new(),
        notes: HashSet::new(),
        swarm_errors: Vec::new(),
        swarm_warnings: Vec::new(),
        swarm_raw: Default::default(),
        tx,
    };
    let mut backoff = BACKOFF_START;
    let mut connected: Option<bool> = None;
    loop {
        let mut reached = false;
        let result = provider.session(&cfg, &mut connected, &mut reached).await;
        if provider.tx.is_closed() {
            return;
        }
        if reached {
            backoff = BACKOFF_START;
        }
        match result {
            Ok(()) => return, // watch = false: one snapshot is all.
            Err(e) if connected != Some(false) => {
                provider
                    .control
                    .docker_connected
                    .store(0, Ordering::Relaxed);
                tracing::error!(provider = NAME, "{e}; keeping the last routes and retrying");
                connected = Some(false);
            }
            Err(e) => tracing::debug!(provider = NAME, "{e}; retrying in {backoff:?}"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 3 / 2).min(BACKOFF_MAX);
    }
}

struct Provider {
    control: Arc<ControlMetrics>,
    /// Keeps each container's translation; re-reads only the dirty ones.
    translator: Translator,
    cache: HashMap<String, ContainerInfo>,
    /// Ids of the containers changed (or gone) since the last snapshot.
    dirty: HashSet<String>,
    notes: HashSet<String>,
    /// Swarm mode: what the services themselves got wrong (a missing `traefik.port`), and
    /// what they asked for that is done otherwise.
    swarm_errors: Vec<model::dynamic::ProviderError>,
    swarm_warnings: Vec<model::dynamic::ProviderError>,
    /// The swarm's last answers, to skip parsing them again when they have not changed.
    swarm_raw: swarm_api::RawLook,
    tx: mpsc::Sender<ProviderUpdate>,
}

impl Provider {
    /// One connection: connect, subscribe, list, then follow events until the stream ends.
    /// `connected` is the state last logged (so each change is logged once); `reached` is set
    /// once this session got a full list, which resets the backoff.
    async fn session(
        &mut self,
        cfg: &DockerConfig,
        connected: &mut Option<bool>,
        reached: &mut bool,
    ) -> Result<(), DockerError> {
        let docker = connect(cfg).await?;
        let version = docker.version().await.map_err(|source| DockerError::Api {
            endpoint: cfg.endpoint.clone(),
            source,
        })?;
        // Subscribed before the list, from a moment before it, so no change falls between.
        let mut events = match cfg.swarm_mode {
            true => subscribe(&docker, &SWARM_EVENT_TYPES, &SWARM_EVENTS),
            false => subscribe(&docker, &CONTAINER_EVENT_TYPES, &CONTAINER_EVENTS),
        };
        // Everything may have changed while away: every container old and new is read again.
        self.dirty.extend(self.cache.keys().cloned());
        let listed = if cfg.swarm_mode {
            self.swarm_look(cfg).await?;
            "running tasks and VIP services routed (swarm mode)"
        } else {
            self.cache = list(&docker, cfg).await?;
            self.dirty.extend(self.cache.keys().cloned());
            "running containers"
        };
        *reached = true;
        self.control.docker_connected.store(1, Ordering::Relaxed);
        if *connected != Some(true) {
            tracing::info!(
                provider = NAME,
                "docker provider: connected to Docker {} (API {}) at {}; {} {listed}",
                version.version.as_deref().unwrap_or("?"),
                version.api_version.as_deref().unwrap_or("?"),
                cfg.endpoint,
                self.cache.len()
            );
            *connected = Some(true);
        }
        self.send().await;
        if !cfg.watch {
            return Ok(());
        }
        match cfg.swarm_mode {
            true => self.follow_swarm(&mut events, cfg).await,
            false => self.follow(&docker, &mut events, cfg).await,
        }
    }

    /// Applies events to the cache until the stream ends; sends one snapshot per burst, at
    /// most [`DEBOUNCE`] after its first change.
    async fn follow(
        &mut self,
        docker: &Docker,
        events: &mut (
                 impl futures_util::Stream<Item = Result<EventMessage, bollard::errors::Error>> + Unpin
             ),
        cfg: &DockerConfig,
    ) -> Result<(), DockerError> {
        let mut deadline: Option<Instant> = None;
        loop {
            let next = tokio::select! {
                ev = events.next() => ev,
                _ = sleep_until(deadline) => {
                    deadline = None;
                    self.send().await;
                    continue;
                }
            };
            let ev = self.event(next, cfg)?;
            if self.apply(docker, &ev).await && deadline.is_none() {
                deadline = Some(Instant::now() + DEBOUNCE);
            }
        }
    }

    /// One event into the cache; whether the cache changed.
    async fn apply(&mut self, docker: &Docker, ev: &EventMessage) -> bool {
        let change = classify(ev);
        tracing::debug!(
            provider = NAME,
            action = ev.action.as_deref().unwrap_or(""),
            "docker event: {change:?}"
        );
        match change {
            Change::Ignore => false,
            Change::Refresh(id) => self.refresh(docker, &id).await,
            Change::Stopping(id) => self.mark(&id, RunState::Stopping),
            Change::Paused(id) => self.mark(&id, RunState::Paused),
            Change::Remove(id) => {
                let changed = self.cache.remove(&id).is_some();
                self.touched(&id, changed)
            }
        }
    }

    async fn refresh(&mut self, docker: &Docker, id: &str) -> bool {
        match docker.inspect_container(id, None).await {
            Ok(c) => match ContainerInfo::from_inspect(&c) {
                Some(info) => {
                    let changed = self.cache.insert(id.to_string(), info.clone()) != Some(info);
                    self.touched(id, changed)
                }
                None => false,
            },
            Err(e) => {
                tracing::debug!(provider = NAME, "inspect {id} failed: {e}");
                let changed = self.cache.remove(id).is_some();
                self.touched(id, changed)
            }
        }
    }

    /// Remembers container `id` for the next snapshot when it `changed`; returns `changed`.
    fn touched(&mut self, id: &str, changed: bool) -> bool {
        if changed {
            self.dirty.insert(id.to_string());
        }
        changed
    }

    fn mark(&mut self, id: &str, state: RunState) -> bool {
        match self.cache.get_mut(id) {
            Some(c) if c.state != state => {
                c.state = state;
                self.touched(id, true)
            }
            _ => false,
        }
    }

    /// The next event counted, or why the stream ended.
    fn event(
        &self,
        next: Option<Result<EventMessage, bollard::errors::Error>>,
        cfg: &DockerConfig,
    ) -> Result<EventMessage, DockerError> {
        match next {
            Some(Ok(ev)) => {
                self.control.docker_events.fetch_add(1, Ordering::Relaxed);
                Ok(ev)
            }
            Some(Err(source)) => Err(DockerError::Api {
                endpoint: cfg.endpoint.clone(),
                source,
            }),
            None => Err(DockerError::StreamEnded {
                endpoint: cfg.endpoint.clone(),
            }),
        }
    }

    /// Swarm mode: re-reads the swarm on every service, node, network or container event
    /// (every [`SWARM_POLL`] for [`SWARM_CONVERGE`] after it, as tasks reach `running` without
    /// events of their own on other nodes) and every `swarmModeRefreshSeconds`.
    async fn follow_swarm(
        &mut self,
        events: &mut (
                 impl futures_util::Stream<Item = Result<EventMessage, bollard::errors::Error>> + Unpin
             ),
        cfg: &DockerConfig,
    ) -> Result<(), DockerError> {
        let mut converge_until = Instant::now();
        // The next look while converging: set by the first event after a look, so a steady
        // stream of events cannot keep pushing it back.
        let mut next_look: Option<Instant> = None;
        let mut resync = Instant::now() + cfg.swarm_refresh;
        loop {
            tokio::select! {
                ev = events.next() => {
                    self.event(ev, cfg)?;
                    converge_until = Instant::now() + SWARM_CONVERGE;
                    next_look.get_or_insert_with(|| Instant::now() + SWARM_POLL);
                    continue;
                }
                _ = sleep_until(next_look) => {}
                _ = tokio::time::sleep_until(resync) => resync = Instant::now() + cfg.swarm_refresh,
            }
            let now = Instant::now();
            next_look = (now < converge_until).then_some(now + SWARM_POLL);
            if self.swarm_look(cfg).await? {
                self.send().await;
            }
        }
    }

    /// Reads the swarm into the cache; whether anything changed.
    async fn swarm_look(&mut self, cfg: &DockerConfig) -> Result<bool, DockerError> {
        let swarm_err = |source| DockerError::Swarm {
            endpoint: cfg.endpoint.clone(),
            source,
        };
        let raw = swarm_api::look(&cfg.endpoint).await.map_err(swarm_err)?;
        if raw == self.swarm_raw {
            return Ok(false);
        }
        let look = raw.parse().map_err(swarm_err)?;
        self.swarm_raw = raw;
        let s = swarm::containers(&look);
        for note in &s.notes {
            if self.notes.insert(note.clone()) {
                tracing::info!(provider = NAME, "{note}");
            }
        }
        let now: HashMap<String, ContainerInfo> = s
            .containers
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let mut changed = false;
        for (id, c) in &now {
            if self.cache.get(id) != Some(c) {
                self.dirty.insert(id.clone());
                changed = true;
            }
        }
        for id in self.cache.keys() {
            if !now.contains_key(id) {
                self.dirty.insert(id.clone());
                changed = true;
            }
        }
        self.cache = now;
        if s.errors != self.swarm_errors || s.warnings != self.swarm_warnings {
            self.swarm_errors = s.errors;
            self.swarm_warnings = s.warnings;
            changed = true;
        }
        Ok(changed)
    }

    async fn send(&mut self) {
        let changes: Vec<(String, Option<&ContainerInfo>)> = (self.dirty.drain())
            .map(|id| {
                let now = self.cache.get(&id);
                (id, now)
            })
            .collect();
        let notes = self.translator.update(changes);
        // Clones share everything with the translator's snapshot (persistent maps).
        let mut config = self.translator.config().clone();
        config.errors.extend(self.swarm_errors.iter().cloned());
        config.warnings.extend(self.swarm_warnings.iter().cloned());
        crate::users_files::load(&mut config);
        for note in notes {
            if self.notes.insert(note.clone()) {
                tracing::info!(provider = NAME, "{note}");
            }
        }
        let _ = self
            .tx
            .send(ProviderUpdate {
                provider: NAME.into(),
                config,
            })
            .await;
    }
}

/// The container and network events that can change routes.
const CONTAINER_EVENT_TYPES: [&str; 2] = ["container", "network"];
const CONTAINER_EVENTS: [&str; 14] = [
    "start",
    "die",
    "stop",
    "kill",
    "pause",
    "unpause",
    "health_status",
    "destroy",
    "rename",
    "restart",
    "update",
    "oom",
    "connect",
    "disconnect",
];
/// Swarm mode: the events after which tasks may have changed.
const SWARM_EVENT_TYPES: [&str; 4] = ["service", "node", "network", "container"];
const SWARM_EVENTS: [&str; 11] = [
    "create",
    "update",
    "remove",
    "start",
    "die",
    "kill",
    "stop",
    "destroy",
    "health_status",
    "connect",
    "disconnect",
];

/// The engine's events of these `types` and `events`, from [`EVENTS_OVERLAP`] ago.
fn subscribe(
    docker: &Docker,
    types: &[&str],
    events: &[&str],
) -> impl futures_util::Stream<Item = Result<EventMessage, bollard::errors::Error>> + use<> {
    let since = SystemTime::now()
        .checked_sub(EVENTS_OVERLAP)
        .unwrap_or(UNIX_EPOCH)
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string();
    let filters = HashMap::from([("type", types.to_vec()), ("event", events.to_vec())]);
    docker.events(Some(
        EventsOptionsBuilder::default()
            .since(&since)
            .filters(&filters)
            .build(),
    ))
}

/// Connects to the engine at `cfg.endpoint` and agrees on an API version.
async fn connect(cfg: &DockerConfig) -> Result<Docker, DockerError> {
    let connect = |source| DockerError::Connect {
        endpoint: cfg.endpoint.clone(),
        source,
    };
    Docker::connect_with_host(&cfg.endpoint)
        .map_err(connect)?
        .negotiate_version()
        .await
        .map_err(connect)
}

/// Every running container, inspected, by id.
async fn list(
    docker: &Docker,
    cfg: &DockerConfig,
) -> Result<HashMap<String, ContainerInfo>, DockerError> {
    let listed = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default().all(false).build(),
        ))
        .await
        .map_err(|source| DockerError::Api {
            endpoint: cfg.endpoint.clone(),
            source,
        })?;
    let ids: Vec<String> = listed.into_iter().filter_map(|c| c.id).collect();
    let inspected =
        futures_util::future::join_all(ids.iter().map(|id| docker.inspect_container(id, None)))
            .await;
    let mut out = HashMap::new();
    for r in inspected {
        match r {
            Ok(c) => {
                if let Some(info) = ContainerInfo::from_inspect(&c) {
                    out.insert(info.id.clone(), info);
                }
            }
            // A container that vanished between list and inspect is simply gone.
            Err(e) => tracing::debug!(provider = NAME, "inspect failed: {e}"),
        }
    }
    Ok(out)
}

/// One read-only look at the engine, translated: what `portier check` reports for labels.
pub async fn snapshot(cfg: &DockerConfig) -> Result<Translation, DockerError> {
    if cfg.swarm_mode {
        let swarm_err = |source| DockerError::Swarm {
            endpoint: cfg.endpoint.clone(),
            source,
        };
        let look = swarm_api::look(&cfg.endpoint)
            .await
            .and_then(|raw| raw.parse())
            .map_err(swarm_err)?;
        let s = swarm::containers(&look);
        let mut t = translate(&s.containers, &defaults(cfg));
        t.config.errors.extend(s.errors);
        t.config.warnings.extend(s.warnings);
        t.notes.extend(s.notes);
        crate::users_files::load(&mut t.config);
        return Ok(t);
    }
    let docker = connect(cfg).await?;
    let containers: Vec<ContainerInfo> = list(&docker, cfg).await?.into_values().collect();
    let mut t = translate(&containers, &defaults(cfg));
    crate::users_files::load(&mut t.config);
    Ok(t)
}

fn defaults(cfg: &DockerConfig) -> DockerDefaults {
    DockerDefaults {
        domain: cfg.domain.clone(),
        exposed_by_default: cfg.exposed_by_default,
        network: cfg.network.clone(),
        constraints: cfg.constraints.clone(),
        use_bind_port_ip: cfg.use_bind_port_ip,
        labels_v2: cfg.labels_v2,
        default_rule: cfg.default_rule.clone(),
        label_constraint: cfg.label_constraint.clone(),
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
