//! What portier keeps of a container: plain data read from `docker inspect`, so translation
//! can be tested without an engine.

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, HealthStatusEnum};

/// Whether a container may receive traffic right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Paused,
    /// A `kill` (TERM/KILL/INT/QUIT) or `stop` was seen: it is on its way out.
    Stopping,
    /// A swarm task the orchestrator is bringing up (new, pending, assigned, accepted,
    /// preparing, ready, starting): shown as starting, not routed.
    Pending,
    /// Created, exited, restarting, dead: not routable.
    NotRunning,
}

/// Docker HEALTHCHECK status; `None` when the container has no health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub id: String,
    /// Without the leading `/`; a swarm task's is `<service>.<slot>`.
    pub name: String,
    /// The swarm service a task belongs to: its backend and default rule are the service's,
    /// as Traefik's `ServiceName`. `None` for a container.
    pub service: Option<String>,
    /// The swarm node a task runs on (its hostname); `None` for a container.
    pub node: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub state: RunState,
    pub health: Option<Health>,
    /// Exposed TCP ports (EXPOSE and published), sorted, without duplicates.
    pub ports: Vec<u16>,
    /// Network name → IP address, for networks where the container has an IP.
    pub networks: BTreeMap<String, String>,
    /// `HostConfig.NetworkMode`: `bridge`, `host`, `container:<id>`, a network name, …
    pub network_mode: String,
    /// Container TCP port → its first host binding (host IP as Docker reports it, host port),
    /// for `useBindPortIP`.
    pub bindings: BTreeMap<u16, (String, u16)>,
}

#[cfg(test)]
impl ContainerInfo {
    /// A running container `name` on no network, exposing port 80, with `labels` (tests).
    pub(super) fn labelled(name: &str, labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo {
            id: "id".into(),
            name: name.into(),
            service: None,
            node: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            state: RunState::Running,
            health: None,
            ports: vec![80],
            networks: BTreeMap::new(),
            network_mode: "bridge".into(),
            bindings: BTreeMap::new(),
        }
    }
}

impl ContainerInfo {
    /// Reads the fields portier needs from an inspect response; `None` without an id.
    pub fn from_inspect(c: &ContainerInspectResponse) -> Option<ContainerInfo> {
        let id = c.id.clone()?;
        let name = c
            .name
            .as_deref()
            .unwrap_or(&id)
            .trim_start_matches('/')
            .to_string();
        let config = c.config.as_ref();
        let labels = config
            .and_then(|c| c.labels.as_ref())
            .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let st = c.state.as_ref();
        let state = match st {
            Some(s) if s.paused == Some(true) => RunState::Paused,
            Some(s) if s.running == Some(true) && s.restarting != Some(true) => RunState::Running,
            _ => RunState::NotRunning,
        };
        let health = st
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .and_then(|s| match s {
                HealthStatusEnum::STARTING => Some(Health::Starting),
                HealthStatusEnum::HEALTHY => Some(Health::Healthy),
                HealthStatusEnum::UNHEALTHY => Some(Health::Unhealthy),
                _ => None,
            });
        let mut ports: Vec<u16> = Vec::new();
        let exposed = config
            .and_then(|c| c.exposed_ports.as_ref())
            .into_iter()
            .flatten();
        let published = c
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.as_ref())
            .into_iter()
            .flat_map(|m| m.keys());
        for spec in exposed.chain(published) {
            if let Some(p) = tcp_port(spec) {
                ports.push(p);
            }
        }
        ports.sort_unstable();
        ports.dedup();
        let bindings = c
            .network_settings
            .as_ref()
            .and_then(|n| n.ports.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|(spec, binds)| {
                let first = binds.as_ref()?.first()?;
                let host_port = first.host_port.as_deref()?.parse().ok()?;
                let host_ip = first.host_ip.clone().unwrap_or_default();
                Some((tcp_port(spec)?, (host_ip, host_port)))
            })
            .collect();
        let networks = c
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .map(|nets| {
                nets.iter()
                    .filter_map(|(name, ep)| {
                        let ip = ep.ip_address.as_deref().filter(|ip| !ip.is_empty())?;
                        Some((name.clone(), ip.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let network_mode = c
            .host_config
            .as_ref()
            .and_then(|h| h.network_mode.clone())
            .unwrap_or_default();
        Some(ContainerInfo {
            id,
            name,
            service: None,
            node: None,
            labels,
            state,
            health,
            ports,
            networks,
            network_mode,
            bindings,
        })
    }
}

/// `80/tcp` → 80; `53/udp` → None.
fn tcp_port(spec: &str) -> Option<u16> {
    let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    (proto == "tcp").then(|| port.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_inspect_response() {
        let json = serde_json::json!({
            "Id": "abc123",
            "Name": "/web-1",
            "State": {"Running": true, "Paused": false, "Restarting": false, "Health": {"Status": "healthy"}},
            "Config": {"Labels": {"traefik.port": "80"}, "ExposedPorts": {"80/tcp": {}, "53/udp": {}}},
            "HostConfig": {"NetworkMode": "bridge"},
            "NetworkSettings": {
                "Ports": {"443/tcp": null},
                "Networks": {"bridge": {"IPAddress": "172.17.0.2"}, "empty": {"IPAddress": ""}}
            }
        });
        let c: ContainerInspectResponse = serde_json::from_value(json).expect("parses");
        let info = ContainerInfo::from_inspect(&c).expect("has an id");
        assert_eq!(info.name, "web-1");
        assert_eq!(info.state, RunState::Running);
        assert_eq!(info.health, Some(Health::Healthy));
        assert_eq!(info.ports, vec![80, 443]);
        assert_eq!(info.networks.len(), 1);
        assert_eq!(info.networks["bridge"], "172.17.0.2");
        assert_eq!(info.labels["traefik.port"], "80");
    }
}
