//! Swarm mode, pure (Traefik 1.7's `parseService`/`parseTasks`): the services, their tasks and
//! the swarm-scoped networks, as the engine's API reports them, become one [`ContainerInfo`]
//! per running task (named `<service>.<slot>`, or `<service>.<task id>` for a global service),
//! with the service's labels and the task's addresses on each network, so the container
//! translator routes them unchanged. With `traefik.backend.loadbalancer.swarm=true` the service
//! itself is the one server, at its virtual IP (VIP endpoint mode only). `traefik.port` is
//! required: a task publishes no port portier could read. `swarm_api` reads the engine.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::container::{ContainerInfo, RunState};
use model::dynamic::ProviderError;

/// The label that makes a service's virtual IP its one server.
const LABEL_LB_SWARM: &str = "traefik.backend.loadbalancer.swarm";
const LABEL_PORT: &str = "traefik.port";
/// Traefik 3's spelling of `traefik.backend.loadbalancer.swarm`.
const LABEL_LB_SWARM_V3: &str = "traefik.swarm.lbswarm";

/// The port label a service lacks, if it lacks one: `traefik.port` (1.x labels), or the
/// 2.x/3.x `traefik.http.services.NAME.loadbalancer.server.port` (one per declared service).
fn missing_port(labels: &BTreeMap<String, String>) -> Option<String> {
    let lower: Vec<String> = labels.keys().map(|k| k.to_ascii_lowercase()).collect();
    if !lower.iter().any(|k| k.starts_with("traefik.http.")) {
        return (!labels.contains_key(LABEL_PORT)).then(|| LABEL_PORT.to_string());
    }
    let services: std::collections::BTreeSet<&str> = lower
        .iter()
        .filter_map(|k| k.strip_prefix("traefik.http.services."))
        .filter_map(|r| r.split('.').next())
        .collect();
    let has = |name: &str| {
        lower
            .iter()
            .any(|k| *k == format!("traefik.http.services.{name}.loadbalancer.server.port"))
    };
    match services.iter().find(|s| !has(s)) {
        Some(s) => Some(format!(
            "traefik.http.services.{s}.loadbalancer.server.port"
        )),
        None if services.is_empty() => {
            Some("traefik.http.services.NAME.loadbalancer.server.port".to_string())
        }
        None => None,
    }
}

/// A service as `GET /services` reports it (the fields portier reads).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct SwarmService {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default)]
    pub spec: ServiceSpec,
    #[serde(default)]
    pub endpoint: ServiceEndpoint,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub mode: ServiceMode,
    #[serde(default)]
    pub endpoint_spec: EndpointSpec,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceMode {
    /// Present (as `{}`) for a global service.
    #[serde(default)]
    pub global: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct EndpointSpec {
    /// `vip` (the default) or `dnsrr`.
    #[serde(default)]
    pub mode: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceEndpoint {
    #[serde(default, rename = "VirtualIPs")]
    pub virtual_ips: Vec<VirtualIp>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct VirtualIp {
    #[serde(default, rename = "NetworkID")]
    pub network_id: String,
    /// CIDR form, `10.0.1.2/24`.
    #[serde(default, rename = "Addr")]
    pub addr: String,
}

/// A task as `GET /tasks` reports it, with its network attachments (which bollard's model
/// leaves out).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct SwarmTask {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(default, rename = "ServiceID")]
    pub service_id: String,
    #[serde(default)]
    pub slot: Option<i64>,
    #[serde(default, rename = "NodeID")]
    pub node_id: String,
    #[serde(default)]
    pub status: TaskStatus,
    #[serde(default)]
    pub desired_state: String,
    #[serde(default)]
    pub networks_attachments: Vec<NetworkAttachment>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TaskStatus {
    #[serde(default)]
    pub state: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkAttachment {
    #[serde(default)]
    pub network: AttachedNetwork,
    /// CIDR forms, `10.0.1.5/24`.
    #[serde(default)]
    pub addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct AttachedNetwork {
    #[serde(default, rename = "ID")]
    pub id: String,
}

/// What the swarm contributes: one entry per routable task or VIP service, and what was wrong.
#[derive(Debug, Default, PartialEq)]
pub struct SwarmContainers {
    pub containers: Vec<ContainerInfo>,
    pub errors: Vec<ProviderError>,
    /// Asked for and not done, with what is done instead (VIP mode on a `dnsrr` service).
    pub warnings: Vec<ProviderError>,
    /// Worth logging once: services left out that asked nothing of portier.
    pub notes: Vec<String>,
}

/// The swarm as read: services, their tasks, the swarm-scoped networks (id → name; addresses
/// on networks not listed, such as `ingress`, are not routable) and the nodes (id → hostname).
#[derive(Debug, Default)]
pub struct SwarmLook {
    pub services: Vec<SwarmService>,
    pub tasks: Vec<SwarmTask>,
    pub networks: HashMap<String, String>,
    pub nodes: HashMap<String, String>,
}

/// Translates the swarm's state.
pub fn containers(look: &SwarmLook) -> SwarmContainers {
    let SwarmLook {
        services,
        tasks,
        networks,
        nodes,
    } = look;
    let mut out = SwarmContainers::default();
    let mut by_service: HashMap<&str, Vec<&SwarmTask>> = HashMap::new();
    for t in tasks {
        by_service.entry(t.service_id.as_str()).or_default().push(t);
    }
    for service in services {
        let spec = &service.spec;
        if let Some(missing) = missing_port(&spec.labels) {
            // One answer per service, not one per task from the container translator.
            if has_traefik_labels(&spec.labels) {
                out.errors.push(ProviderError::ServiceLabel {
                    service: spec.name.clone(),
                    label: missing,
                    message: "required in swarm mode (a task publishes no port portier can \
                              read); service left out"
                        .into(),
                });
            } else {
                out.notes.push(format!(
                    "service {}: no traefik.* label and no traefik.port; not routed",
                    spec.name
                ));
            }
            continue;
        }
        let lb_swarm = [LABEL_LB_SWARM, LABEL_LB_SWARM_V3]
            .iter()
            .any(|l| spec.labels.get(*l).is_some_and(|v| v == "true"));
        if lb_swarm && spec.endpoint_spec.mode == "dnsrr" {
            out.warnings.push(ProviderError::ServiceLabel {
                service: spec.name.clone(),
                label: LABEL_LB_SWARM.into(),
                message: "the service has no virtual IP (endpoint mode dnsrr); its tasks are \
                          the servers, as in Traefik"
                    .into(),
            });
        }
        if lb_swarm && spec.endpoint_spec.mode != "dnsrr" {
            if let Some(c) = vip_container(service, networks) {
                out.containers.push(c);
            }
            continue;
        }
        let global = spec.mode.global.is_some();
        let own = by_service
            .get(service.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        for task in own {
            // Running tasks are servers; those coming up or leaving are shown out of rotation.
            let state = match (task.desired_state.as_str(), task.status.state.as_str()) {
                ("running", "running") => RunState::Running,
                (
                    "running",
                    "new" | "pending" | "assigned" | "accepted" | "preparing" | "ready"
                    | "starting",
                ) => RunState::Pending,
                ("shutdown" | "remove", "running") => RunState::Stopping,
                _ => continue,
            };
            let name = match (global, task.slot) {
                (false, Some(slot)) => format!("{}.{slot}", spec.name),
                _ => format!("{}.{}", spec.name, task.id),
            };
            let addresses = task.networks_attachments.iter().filter_map(|a| {
                let net = networks.get(&a.network.id)?;
                // One address per network (Traefik keeps the last).
                let ip = a.addresses.last().map(|c| without_prefix(c))?;
                Some((net.clone(), ip.to_string()))
            });
            let mut c = container(&task.id, name, service, addresses.collect());
            c.node = nodes.get(&task.node_id).cloned();
            c.state = state;
            if !c.networks.is_empty() || state == RunState::Pending {
                out.containers.push(c);
            }
        }
    }
    out.containers.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The service as its own server, at its virtual IP on each listed network.
fn vip_container(
    service: &SwarmService,
    networks: &HashMap<String, String>,
) -> Option<ContainerInfo> {
    let addresses: BTreeMap<String, String> = service
        .endpoint
        .virtual_ips
        .iter()
        .filter(|v| !v.addr.is_empty())
        .filter_map(|v| {
            let net = networks.get(&v.network_id)?;
            Some((net.clone(), without_prefix(&v.addr).to_string()))
        })
        .collect();
    let name = service.spec.name.clone();
    (!addresses.is_empty()).then(|| container(&service.id, name, service, addresses))
}

fn container(
    id: &str,
    name: String,
    service: &SwarmService,
    networks: BTreeMap<String, String>,
) -> ContainerInfo {
    ContainerInfo {
        id: id.to_string(),
        name,
        service: Some(service.spec.name.clone()),
        node: None,
        labels: service.spec.labels.clone(),
        state: RunState::Running,
        // A task with a HEALTHCHECK is `starting`, not `running`, until it is healthy.
        health: None,
        ports: Vec::new(),
        networks,
        network_mode: String::new(),
        bindings: BTreeMap::new(),
    }
}

fn has_traefik_labels(labels: &BTreeMap<String, String>) -> bool {
    labels.keys().any(|k| k.starts_with("traefik."))
}

/// `10.0.1.5/24` → `10.0.1.5`.
fn without_prefix(cidr: &str) -> &str {
    cidr.split_once('/').map_or(cidr, |(ip, _)| ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service and two tasks as this machine's engine (Docker 20.10+) writes them, trimmed.
    const SERVICES: &str = r#"[
      {"ID":"svc1","Spec":{"Name":"whoami","Labels":{"traefik.port":"80","traefik.frontend.rule":"Host:whoami.local"},
        "Mode":{"Replicated":{"Replicas":2}},"EndpointSpec":{"Mode":"vip"}},
       "Endpoint":{"VirtualIPs":[{"NetworkID":"ingress1","Addr":"10.0.0.5/24"},{"NetworkID":"web1","Addr":"10.0.1.2/24"}]}},
      {"ID":"svc2","Spec":{"Name":"vip","Labels":{"traefik.port":"80","traefik.backend.loadbalancer.swarm":"true"},
        "Mode":{"Replicated":{"Replicas":1}},"EndpointSpec":{"Mode":"vip"}},
       "Endpoint":{"VirtualIPs":[{"NetworkID":"web1","Addr":"10.0.1.9/24"}]}},
      {"ID":"svc3","Spec":{"Name":"noport","Labels":{"traefik.frontend.rule":"Host:x.local"},"Mode":{"Global":{}}}},
      {"ID":"svc4","Spec":{"Name":"plain","Mode":{"Global":{}}}},
      {"ID":"svc5","Spec":{"Name":"agent","Labels":{"traefik.port":"9000"},"Mode":{"Global":{}}}},
      {"ID":"svc6","Spec":{"Name":"rr","Labels":{"traefik.port":"80","traefik.backend.loadbalancer.swarm":"true"},
        "EndpointSpec":{"Mode":"dnsrr"}}}
    ]"#;
    const TASKS: &str = r#"[
      {"ID":"t1","ServiceID":"svc1","Slot":1,"NodeID":"n1","Status":{"State":"running"},"DesiredState":"running",
       "NetworksAttachments":[{"Network":{"ID":"ingress1"},"Addresses":["10.0.0.7/24"]},{"Network":{"ID":"web1"},"Addresses":["10.0.1.3/24"]}]},
      {"ID":"t2","ServiceID":"svc1","Slot":2,"Status":{"State":"starting"},"DesiredState":"running",
       "NetworksAttachments":[{"Network":{"ID":"web1"},"Addresses":["10.0.1.4/24"]}]},
      {"ID":"t3","ServiceID":"svc1","Slot":3,"Status":{"State":"running"},"DesiredState":"shutdown",
       "NetworksAttachments":[{"Network":{"ID":"web1"},"Addresses":["10.0.1.5/24"]}]},
      {"ID":"t4","ServiceID":"svc5","Status":{"State":"running"},"DesiredState":"running",
       "NetworksAttachments":[{"Network":{"ID":"web1"},"Addresses":["10.0.1.6/24"]}]},
      {"ID":"t5","ServiceID":"svc5","Status":{"State":"running"},"DesiredState":"running",
       "NetworksAttachments":[{"Network":{"ID":"other"},"Addresses":["10.9.0.6/24"]}]}
    ]"#;

    fn swarm() -> SwarmContainers {
        containers(&SwarmLook {
            services: serde_json::from_str(SERVICES).expect("services"),
            tasks: serde_json::from_str(TASKS).expect("tasks"),
            networks: HashMap::from([
                ("web1".to_string(), "web".to_string()),
                ("ingress1".to_string(), "ingress".to_string()),
            ]),
            nodes: HashMap::from([("n1".to_string(), "manager-1".to_string())]),
        })
    }

    #[test]
    fn running_tasks_and_vip_services_become_containers() {
        let s = swarm();
        type Seen<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>);
        let got: Vec<Seen> = s
            .containers
            .iter()
            .map(|c| {
                (
                    c.name.as_str(),
                    c.service.as_deref().unwrap_or(""),
                    c.networks
                        .iter()
                        .map(|(n, ip)| (n.as_str(), ip.as_str()))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("agent.t4", "agent", vec![("web", "10.0.1.6")]),
                ("vip", "vip", vec![("web", "10.0.1.9")]),
                (
                    "whoami.1",
                    "whoami",
                    vec![("ingress", "10.0.0.7"), ("web", "10.0.1.3")]
                ),
                ("whoami.2", "whoami", vec![("web", "10.0.1.4")]),
                ("whoami.3", "whoami", vec![("web", "10.0.1.5")]),
            ],
            "one task on no listed network is out"
        );
        let states: Vec<RunState> = s.containers.iter().map(|c| c.state).collect();
        assert_eq!(
            states[2..],
            [RunState::Running, RunState::Pending, RunState::Stopping],
            "a starting task and one leaving (desired shutdown) are shown, out of rotation"
        );
        let whoami = &s.containers[2];
        assert_eq!(whoami.labels["traefik.frontend.rule"], "Host:whoami.local");
        assert_eq!(whoami.node.as_deref(), Some("manager-1"));
        assert_eq!(whoami.state, RunState::Running);
    }

    #[test]
    fn a_routed_service_without_a_port_is_an_error() {
        let s = swarm();
        assert_eq!(
            s.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
            [
                "service noport label traefik.port: required in swarm mode (a task publishes no port portier can read); service left out"
            ]
        );
    }

    #[test]
    fn the_tasks_of_a_service_are_the_servers_of_one_backend() {
        let services: Vec<SwarmService> = serde_json::from_str(SERVICES).expect("services");
        let tasks: Vec<SwarmTask> = (1..=3)
            .map(|i| SwarmTask {
                id: format!("t{i}"),
                service_id: "svc1".into(),
                slot: Some(i),
                node_id: String::new(),
                status: TaskStatus {
                    state: "running".into(),
                },
                desired_state: "running".into(),
                networks_attachments: vec![NetworkAttachment {
                    network: AttachedNetwork { id: "web1".into() },
                    addresses: vec![format!("10.0.1.{}/24", 10 + i)],
                }],
            })
            .collect();
        let look = |services: &[SwarmService]| SwarmLook {
            services: services.to_vec(),
            tasks: tasks.clone(),
            networks: HashMap::from([("web1".to_string(), "web".to_string())]),
            nodes: HashMap::new(),
        };
        let s = containers(&look(&services[..1]));
        let defaults = super::super::DockerDefaults {
            domain: "docker.localhost".into(),
            exposed_by_default: true,
            ..Default::default()
        };
        let t = super::super::translate(&s.containers, &defaults);
        let backends: Vec<&String> = t.config.backends.keys().collect();
        assert_eq!(backends, ["backend-whoami"]);
        let mut urls: Vec<String> = t.config.backends["backend-whoami"]
            .servers
            .values()
            .map(|s| s.url.clone())
            .collect();
        urls.sort();
        assert_eq!(
            urls,
            [
                "http://10.0.1.11:80",
                "http://10.0.1.12:80",
                "http://10.0.1.13:80"
            ]
        );
        // Without a rule label, the default rule is the service's name, not a task's.
        let services = vec![SwarmService {
            spec: ServiceSpec {
                labels: BTreeMap::from([("traefik.port".to_string(), "80".to_string())]),
                ..services[0].spec.clone()
            },
            ..services[0].clone()
        }];
        let s = containers(&look(&services));
        let t = super::super::translate(&s.containers, &defaults);
        let rules: Vec<String> = t
            .config
            .frontends
            .values()
            .flat_map(|f| f.routes.values().map(|r| r.rule.clone()))
            .collect();
        assert_eq!(rules, ["Host:whoami.docker.localhost"]);
    }

    /// The engine's own answers (see `swarm_api::fixture`).
    #[test]
    fn the_engines_own_answers_read_as_expected() {
        let look = super::super::swarm_api::fixture().parse().expect("parses");
        let tasks = look.tasks.clone();
        let s = containers(&look);
        let got: Vec<(String, Option<String>)> = s
            .containers
            .iter()
            .map(|c| (c.name.clone(), c.networks.get("cap-web").cloned()))
            .collect();
        let global = tasks
            .iter()
            .find(|t| t.slot.is_none())
            .map(|t| t.id.clone())
            .unwrap_or_default();
        assert_eq!(
            got,
            [
                (format!("cap-global.{global}"), Some("10.0.1.7".to_string())),
                ("cap-whoami.1".to_string(), Some("10.0.1.3".to_string())),
                ("cap-whoami.2".to_string(), Some("10.0.1.4".to_string())),
            ]
        );
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }

    #[test]
    fn a_port_label_is_required_in_either_generation() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(missing_port(&labels(&[("traefik.port", "80")])), None);
        assert_eq!(
            missing_port(&labels(&[("traefik.frontend.rule", "Host:a")])).as_deref(),
            Some("traefik.port")
        );
        assert_eq!(
            missing_port(&labels(&[(
                "traefik.http.services.web.loadbalancer.server.port",
                "80"
            )])),
            None
        );
        assert_eq!(
            missing_port(&labels(&[
                ("traefik.http.routers.r.rule", "Host(`a`)"),
                (
                    "traefik.http.services.web.loadbalancer.passhostheader",
                    "true"
                ),
            ]))
            .as_deref(),
            Some("traefik.http.services.web.loadbalancer.server.port")
        );
    }
}
