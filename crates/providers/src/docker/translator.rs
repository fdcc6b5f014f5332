//! Containers → the provider's snapshot, kept up to date change by change. Pure: no I/O.
//!
//! Each container's labels are read once ([`super::translate::contribution`]) and kept by
//! (name, id). A change re-reads only the containers it names, regroups only their backends
//! (containers with the same backend become its servers; those of one backend with the same
//! rule share one frontend) and patches the snapshot's persistent maps, so a change to one
//! container among thousands costs microseconds and the snapshot shares everything else with
//! the previous one (which is what lets the compiler skip it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use model::dynamic::{Backend, Frontend, Items, ProviderConfig, ProviderError};

use super::container::ContainerInfo;
use super::translate::{
    Contribution, DockerDefaults, Parsed, contribution, merge_unique, normalize,
};

/// A container in translation order: by name, then id.
type Key = (String, String);
/// One (backend, rule) declaration of a container: its key and the index of the declaration.
type Member = (Key, usize);

/// The snapshot plus remarks worth logging once (network choices, containers not routed).
#[derive(Debug, Default)]
pub struct Translation {
    pub config: ProviderConfig,
    pub notes: Vec<String>,
}

/// Translates every container at once (`portier check`, tests, the benchmark).
pub fn translate(containers: &[ContainerInfo], defaults: &DockerDefaults) -> Translation {
    let mut t = Translator::new(defaults.clone());
    let notes = t.update(containers.iter().map(|c| (c.id.clone(), Some(c))));
    Translation {
        config: t.config().clone(),
        notes,
    }
}

/// The translation of the containers seen so far, updated change by change.
#[derive(Debug, Default)]
pub struct Translator {
    defaults: DockerDefaults,
    /// Container id → the key it is kept under (a rename changes its place in the order).
    keys: HashMap<String, Key>,
    containers: BTreeMap<Key, Contribution>,
    /// Backend name → its declarations, in order.
    members: BTreeMap<String, BTreeSet<Member>>,
    groups: HashMap<String, Group>,
    /// Frontend base name (`frontend-` + the normalised rule, or a segment's frontend name)
    /// → its claimants, in the order of their first container: (first member, backend) → the
    /// frontend's key in its group. The first claimant gets the base name, the others the base
    /// name and their backend.
    claims: BTreeMap<String, BTreeMap<(Member, String), String>>,
    /// Base name → the frontend names its claimants have now.
    named: HashMap<String, Vec<String>>,
    /// Containers that may have errors or warnings (their own or their backend's).
    noisy: BTreeSet<Key>,
    /// Containers with 2.x/3.x labels and what they declare; merged again on each change
    /// that touches one of them.
    v2: BTreeMap<Key, super::v2::Declared>,
    /// Conflicts found merging them.
    v2_errors: Vec<ProviderError>,
    config: ProviderConfig,
}

/// What one backend's containers declare together.
#[derive(Debug)]
struct Group {
    backend: Arc<Backend>,
    /// Its frontends by key (the rule, or a segment's frontend name), each with the
    /// declaration that came first and its base name.
    frontends: BTreeMap<String, GroupFrontend>,
    /// Containers that disagree with the first one of the backend or frontend.
    errors: BTreeMap<Member, Vec<ProviderError>>,
    /// Containers whose backend-wide labels lost to the first container's.
    warnings: BTreeMap<Member, Vec<ProviderError>>,
}

#[derive(Debug)]
struct GroupFrontend {
    first: Member,
    frontend: Arc<Frontend>,
    /// `frontend-` + the normalised rule, or a segment's frontend name.
    base: String,
}

impl Translator {
    pub fn new(defaults: DockerDefaults) -> Translator {
        Translator {
            defaults,
            ..Translator::default()
        }
    }

    /// The snapshot as of the last update.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Applies changes, each a container id with the container as it is now (`None`: gone).
    /// Returns the notes of the containers read again.
    pub fn update<'a>(
        &mut self,
        changes: impl IntoIterator<Item = (String, Option<&'a ContainerInfo>)>,
    ) -> Vec<String> {
        let mut notes = Vec::new();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut v2_touched = false;
        for (id, info) in changes {
            v2_touched |= self.forget(&id, &mut touched);
            let Some(c) = info else {
                continue;
            };
            if super::v2::is_v2(c, &self.defaults) {
                let Some(declared) = super::v2::declared(c, &self.defaults) else {
                    continue;
                };
                let key = (c.name.clone(), c.id.clone());
                notes.extend(declared.notes.iter().cloned());
                self.keys.insert(id, key.clone());
                self.v2.insert(key, declared);
                v2_touched = true;
                continue;
            }
            let Some(contribution) = contribution(c, &self.defaults) else {
                continue;
            };
            let key = (c.name.clone(), c.id.clone());
            for (i, p) in contribution.parsed.iter().enumerate() {
                self.members
                    .entry(p.backend.clone())
                    .or_default()
                    .insert((key.clone(), i));
                touched.insert(p.backend.clone());
            }
            notes.extend(contribution.notes.iter().cloned());
            if !contribution.errors.is_empty() || !contribution.warnings.is_empty() {
                self.noisy.insert(key.clone());
            }
            self.keys.insert(id, key.clone());
            self.containers.insert(key, contribution);
        }
        let mut bases = BTreeSet::new();
        for backend in &touched {
            self.regroup(backend, &mut bases);
        }
        for base in &bases {
            self.rename(base);
        }
        if v2_touched {
            let (http, errors) =
                super::v2::merge(self.v2.iter().map(|((name, _), d)| (name.as_str(), d)));
            self.config.http = http;
            let (tcp, udp, l4_errors) =
                super::l4::merge(self.v2.iter().map(|((name, _), d)| (name.as_str(), &d.l4)));
            self.config.tcp = tcp;
            self.config.udp = udp;
            self.v2_errors = errors;
            self.v2_errors.extend(l4_errors);
        }
        self.collect_errors();
        notes
    }

    /// Takes a container out (before it is read again, or for good); `true` when it had
    /// 2.x/3.x labels.
    fn forget(&mut self, id: &str, touched: &mut BTreeSet<String>) -> bool {
        let Some(key) = self.keys.remove(id) else {
            return false;
        };
        if self.v2.remove(&key).is_some() {
            return true;
        }
        if let Some(old) = self.containers.remove(&key) {
            for (i, p) in old.parsed.iter().enumerate() {
                if let Some(m) = self.members.get_mut(&p.backend) {
                    m.remove(&(key.clone(), i));
                    if m.is_empty() {
                        self.members.remove(&p.backend);
                    }
                }
                touched.insert(p.backend.clone());
            }
        }
        false
    }

    /// Builds backend `name` again from its declarations; the base names of the frontends
    /// it had or has go to `bases`.
    fn regroup(&mut self, name: &str, bases: &mut BTreeSet<String>) {
        if let Some(old) = self.groups.remove(name) {
            for f in old.frontends.values() {
                if let Some(c) = self.claims.get_mut(&f.base) {
                    c.remove(&(f.first.clone(), name.to_string()));
                }
                bases.insert(f.base.clone());
            }
        }
        let declarations: Vec<(&Member, &Parsed)> = (self.members.get(name).into_iter())
            .flatten()
            .filter_map(|m| {
                let p = self.containers.get(&m.0)?.parsed.get(m.1)?;
                Some((m, p))
            })
            .collect();
        let Some(group) = build_group(&declarations) else {
            self.config.backends.remove(name);
            return;
        };
        for (key, f) in &group.frontends {
            self.claims
                .entry(f.base.clone())
                .or_default()
                .insert((f.first.clone(), name.to_string()), key.clone());
            bases.insert(f.base.clone());
        }
        for (key, _) in group.errors.keys().chain(group.warnings.keys()) {
            self.noisy.insert(key.clone());
        }
        put(&mut self.config.backends, name, &group.backend);
        self.groups.insert(name.to_string(), group);
    }

    /// Names the claimants of `base` again and puts their frontends in the snapshot.
    fn rename(&mut self, base: &str) {
        let old = self.named.remove(base).unwrap_or_default();
        let mut names = Vec::new();
        for (i, ((_, backend), key)) in self.claims.get(base).into_iter().flatten().enumerate() {
            let Some(f) = self.groups.get(backend).and_then(|g| g.frontends.get(key)) else {
                continue;
            };
            let f = &f.frontend;
            let name = if i == 0 {
                base.to_string()
            } else {
                format!("{base}-{}", backend.trim_start_matches("backend-"))
            };
            put(&mut self.config.frontends, &name, f);
            names.push(name);
        }
        for gone in old.iter().filter(|n| !names.contains(n)) {
            self.config.frontends.remove(gone);
        }
        if names.is_empty() {
            self.claims.remove(base);
        } else {
            self.named.insert(base.to_string(), names);
        }
    }

    /// The snapshot's errors and warnings, in container order: each container's own, then
    /// its disagreements with the rest of its backend.
    fn collect_errors(&mut self) {
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        let (containers, groups) = (&self.containers, &self.groups);
        self.noisy.retain(|key| {
            let Some(c) = containers.get(key) else {
                return false;
            };
            let before = errors.len() + warnings.len();
            errors.extend(c.errors.iter().cloned());
            warnings.extend(c.warnings.iter().cloned());
            for (i, p) in c.parsed.iter().enumerate() {
                let group = groups.get(&p.backend);
                let member = (key.clone(), i);
                let of_group = group.and_then(|g| g.errors.get(&member));
                errors.extend(of_group.into_iter().flatten().cloned());
                let lost = group.and_then(|g| g.warnings.get(&member));
                warnings.extend(lost.into_iter().flatten().cloned());
            }
            errors.len() + warnings.len() > before
        });
        for d in self.v2.values() {
            errors.extend(d.errors.iter().cloned());
            warnings.extend(d.warnings.iter().cloned());
        }
        errors.extend(self.v2_errors.iter().cloned());
        self.config.errors = errors;
        self.config.warnings = warnings;
    }
}

/// One backend from its declarations (in order); backend-wide settings come from the first.
fn build_group(declarations: &[(&Member, &Parsed)]) -> Option<Group> {
    let (_, first) = declarations.first()?;
    let mut backend = Backend {
        health_check: first.health_check.clone(),
        flush_interval: first.flush_interval,
        load_balancer: first.load_balancer.clone(),
        circuit_breaker: first.circuit_breaker.clone(),
        max_conn: first.max_conn.clone(),
        buffering: first.buffering.clone(),
        ..Backend::default()
    };
    let mut frontends: BTreeMap<String, (Member, Frontend, String)> = BTreeMap::new();
    let mut errors: BTreeMap<Member, Vec<ProviderError>> = BTreeMap::new();
    let mut warnings: BTreeMap<Member, Vec<ProviderError>> = BTreeMap::new();
    let (first_member, _) = declarations[0];
    for &(member, p) in declarations {
        let container = &member.0.0;
        let lost = backend_wide_differences(first, p);
        if !lost.is_empty() {
            warnings.entry(member.clone()).or_default().extend(lost.into_iter().map(
                |labels| ProviderError::Label {
                    container: container.clone(),
                    label: labels.to_string(),
                    message: format!(
                        "differs from container {}'s; a backend has one value, taken from its first container by name, so {}'s is used",
                        first_member.0.0, first_member.0.0
                    ),
                },
            ));
        }
        let mut disagree = |labels: &str, what: &str, into: &mut Vec<String>, reason: &str| {
            errors
                .entry(member.clone())
                .or_default()
                .push(disagreement(container, labels, what));
            merge_unique(
                into,
                vec![format!("container {container} disagrees on {reason}")],
            );
        };
        if let Some((name, server)) = &p.server {
            backend.servers.insert(name.clone(), server.clone());
        }
        if let Some((name, held)) = &p.held {
            backend.held.insert(name.clone(), held.clone());
        }
        merge_unique(&mut backend.unenforced, p.backend_unenforced.clone());
        if backend.buffering != p.buffering {
            disagree(
                "traefik.backend.buffering.*",
                "backend",
                &mut backend.unenforced,
                "buffering",
            );
        }
        if backend.max_conn != p.max_conn {
            // Containers of one backend disagree on its connection limit: refuse, never guess.
            disagree(
                "traefik.backend.maxconn.*",
                "backend",
                &mut backend.unenforced,
                "maxconn",
            );
        }
        let (key, base) = match &p.frontend_name {
            Some(name) => (format!("segment {name}"), name.clone()),
            None => (format!("rule {}", p.rule), base_name(&p.rule)),
        };
        match frontends.get_mut(&key) {
            Some((_, f, _)) => {
                // One container of a shared frontend asking for a protection is enough.
                merge_unique(&mut f.unenforced, p.frontend.unenforced.clone());
                if f.middlewares != p.frontend.middlewares {
                    disagree(
                        "traefik.frontend.*",
                        "frontend",
                        &mut f.unenforced,
                        "middlewares",
                    );
                }
            }
            None => {
                frontends.insert(key, (member.clone(), p.frontend.clone(), base));
            }
        }
    }
    Some(Group {
        backend: Arc::new(backend),
        frontends: (frontends.into_iter())
            .map(|(key, (first, f, base))| {
                let frontend = Arc::new(f);
                (
                    key,
                    GroupFrontend {
                        first,
                        frontend,
                        base,
                    },
                )
            })
            .collect(),
        errors,
        warnings,
    })
}

/// The backend-wide label families on which `p` differs from the backend's first declaration.
fn backend_wide_differences(first: &Parsed, p: &Parsed) -> Vec<&'static str> {
    let mut out = Vec::new();
    if first.health_check != p.health_check {
        out.push("traefik.backend.healthcheck.*");
    }
    if first.load_balancer != p.load_balancer {
        out.push("traefik.backend.loadbalancer.*");
    }
    if first.circuit_breaker != p.circuit_breaker {
        out.push("traefik.backend.circuitbreaker.expression");
    }
    if first.flush_interval != p.flush_interval {
        out.push("traefik.backend.responseForwarding.flushInterval");
    }
    out
}

/// Containers that share a frontend (or backend) ask for different middlewares: which one is
/// meant cannot be known, so the shared route refuses every request until they agree.
fn disagreement(container: &str, labels: &str, what: &str) -> ProviderError {
    ProviderError::Label {
        container: container.to_string(),
        label: labels.to_string(),
        message: format!(
            "middleware labels differ from those of the other containers of its {what}; the {what} answers 503 to every request until they agree"
        ),
    }
}

fn base_name(rule: &str) -> String {
    format!("frontend-{}", normalize(rule))
}

/// Puts `value` under `name` unless an equal value is there (which keeps the map's sharing).
fn put<T: PartialEq>(map: &mut Items<T>, name: &str, value: &Arc<T>) {
    if map
        .get(name)
        .is_some_and(|v| Arc::ptr_eq(v, value) || **v == **value)
    {
        return;
    }
    map.insert(name.to_string(), Arc::clone(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::container::{Health, RunState};
    use crate::docker::labels::*;
    use crate::docker::translate::{COMPOSE_PROJECT, COMPOSE_SERVICE};
    use config::Constraint;
    use model::dynamic::{FrontendRedirect, Stickiness};

    /// `ContainerInfo::labelled` with its own id and an IP on the bridge network.
    fn container(name: &str, ip: &str, labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo {
            id: format!("id-{name}"),
            networks: [("bridge".to_string(), ip.to_string())].into(),
            ..ContainerInfo::labelled(name, labels)
        }
    }

    fn defaults() -> DockerDefaults {
        DockerDefaults {
            domain: "docker.localhost".into(),
            exposed_by_default: true,
            network: String::new(),
            constraints: vec![],
            use_bind_port_ip: false,
            labels_v2: false,
            default_rule: None,
            label_constraint: None,
        }
    }

    fn web(name: &str, ip: &str) -> ContainerInfo {
        container(
            name,
            ip,
            &[
                ("traefik.backend", "webapp"),
                ("traefik.port", "80"),
                ("traefik.frontend.rule", "Host:web.local"),
            ],
        )
    }

    #[test]
    fn the_seed_scenario_two_containers_one_backend() {
        let t = translate(
            &[web("a", "172.17.0.2"), web("b", "172.17.0.3")],
            &defaults(),
        );
        assert!(t.config.errors.is_empty(), "{:?}", t.config.errors);
        assert_eq!(t.config.backends.len(), 1);
        let b = &t.config.backends["backend-webapp"];
        let urls: Vec<&str> = b.servers.values().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["http://172.17.0.2:80", "http://172.17.0.3:80"]);
        assert_eq!(t.config.frontends.len(), 1);
        let f = &t.config.frontends["frontend-Host-web-local"];
        assert_eq!(f.backend, "backend-webapp");
        assert!(f.pass_host_header);
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:web.local")
        );
    }

    #[test]
    fn defaults_for_name_rule_and_port() {
        let c = container("/my_app", "10.0.0.2", &[]);
        let t = translate(&[c], &defaults());
        assert!(t.config.backends.contains_key("backend-my-app"));
        let f = &t.config.frontends["frontend-Host-my-app-docker-localhost"];
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:my-app.docker.localhost")
        );
        assert_eq!(
            t.config.backends["backend-my-app"].servers["server-my-app"].url,
            "http://10.0.0.2:80"
        );
    }

    #[test]
    fn compose_services_group_into_one_backend_and_frontend() {
        let compose = |n: &str, ip: &str| {
            container(
                n,
                ip,
                &[
                    (COMPOSE_PROJECT, "shop"),
                    (COMPOSE_SERVICE, "web"),
                    ("traefik.port", "5000"),
                ],
            )
        };
        let t = translate(
            &[
                compose("shop_web_1", "10.0.0.2"),
                compose("shop_web_2", "10.0.0.3"),
                compose("shop_web_3", "10.0.0.4"),
            ],
            &defaults(),
        );
        assert_eq!(t.config.backends["backend-web-shop"].servers.len(), 3);
        assert_eq!(t.config.frontends.len(), 1);
        let f = t.config.frontends.values().next().expect("one");
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:web.shop.docker.localhost")
        );
    }

    #[test]
    fn enable_and_exposed_by_default() {
        let off = container("off", "10.0.0.2", &[("traefik.enable", "false")]);
        let plain = container("plain", "10.0.0.3", &[]);
        let on = container("on", "10.0.0.4", &[("traefik.enable", "true")]);
        let t = translate(&[off.clone(), plain.clone(), on.clone()], &defaults());
        let names: Vec<&str> = t.config.backends.keys().map(String::as_str).collect();
        assert_eq!(names, ["backend-on", "backend-plain"]);
        let d = DockerDefaults {
            exposed_by_default: false,
            ..defaults()
        };
        let t = translate(&[off, plain, on], &d);
        let names: Vec<&str> = t.config.backends.keys().map(String::as_str).collect();
        assert_eq!(names, ["backend-on"]);
    }

    #[test]
    fn bad_labels_leave_only_that_container_out() {
        let mut multi = container(
            "multi",
            "10.0.0.5",
            &[("traefik.frontend.rule", "Host:m.local")],
        );
        multi.ports = vec![80, 443];
        let cases = vec![
            container("badport", "10.0.0.2", &[("traefik.port", "eighty")]),
            container(
                "badrule",
                "10.0.0.3",
                &[("traefik.frontend.rule", "Hots:x")],
            ),
            container("badweight", "10.0.0.4", &[("traefik.weight", "-1")]),
            multi,
            container("badnet", "10.0.0.6", &[("traefik.docker.network", "nope")]),
            container(
                "good",
                "10.0.0.9",
                &[("traefik.frontend.rule", "Host:good.local")],
            ),
        ];
        let t = translate(&cases, &defaults());
        assert_eq!(
            t.config.backends.keys().collect::<Vec<_>>(),
            ["backend-good"]
        );
        let errors: Vec<String> = t.config.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(errors.contains(&"container badport label traefik.port: value \"eighty\": not a port number (1-65535); container left out".to_string()), "{errors:#?}");
        assert!(errors.iter().any(|e| e.starts_with("container badrule label traefik.frontend.rule: value \"Hots:x\": column 1: unknown matcher")));
        assert!(errors.iter().any(|e| e.starts_with("container multi label traefik.port: missing, and the container exposes several ports (80, 443)")));
        assert!(errors.iter().any(|e| e.contains("container badnet label traefik.docker.network: value \"nope\": the container is not on that network (it is on: bridge)")));
    }

    #[test]
    fn unusable_containers_keep_their_frontend_without_a_server() {
        let mut starting = web("a", "10.0.0.2");
        starting.health = Some(Health::Starting);
        let mut paused = web("b", "10.0.0.3");
        paused.state = RunState::Paused;
        let mut stopping = web("c", "10.0.0.4");
        stopping.state = RunState::Stopping;
        let mut exited = web("d", "10.0.0.5");
        exited.state = RunState::NotRunning;
        let t = translate(&[starting.clone(), paused, stopping, exited], &defaults());
        assert_eq!(
            t.config.frontends.len(),
            1,
            "the frontend stays, so clients get 503"
        );
        assert!(t.config.backends["backend-webapp"].servers.is_empty());
        let held: Vec<(&str, &str, Option<&str>)> = t.config.backends["backend-webapp"]
            .held
            .values()
            .map(|h| (h.state.as_str(), h.reason.as_str(), h.url.as_deref()))
            .collect();
        assert_eq!(held.len(), 3, "the exited container is not shown: {held:?}");
        assert_eq!(held[0].0, "starting");
        assert_eq!(held[0].2, Some("http://10.0.0.2:80"));
        assert_eq!(held[1].0, "paused");
        assert!(held[1].1.contains("paused"), "{held:?}");
        assert_eq!(held[2].0, "stopping");
        let mut task = web("e", "10.0.0.6");
        task.state = RunState::Pending;
        let t = translate(&[task], &defaults());
        let h = &t.config.backends["backend-webapp"].held["server-e"];
        assert_eq!(h.state.as_str(), "starting");
        assert!(h.reason.contains("swarm task"), "{h:?}");
        starting.health = Some(Health::Healthy);
        let t = translate(&[starting], &defaults());
        assert_eq!(t.config.backends["backend-webapp"].servers.len(), 1);
    }

    #[test]
    fn network_choice_is_deterministic_and_noted() {
        let mut c = container("multi", "10.0.0.2", &[]);
        c.networks = [
            ("zeta".to_string(), "10.9.0.2".to_string()),
            ("alpha".to_string(), "10.1.0.2".to_string()),
        ]
        .into();
        for _ in 0..3 {
            let t = translate(std::slice::from_ref(&c), &defaults());
            assert_eq!(
                t.config.backends["backend-multi"].servers["server-multi"].url,
                "http://10.1.0.2:80"
            );
            assert!(
                t.notes.iter().any(|n| n.contains("using alpha")),
                "{:?}",
                t.notes
            );
        }
        c.labels.insert(LABEL_NETWORK.into(), "zeta".into());
        let t = translate(std::slice::from_ref(&c), &defaults());
        assert_eq!(
            t.config.backends["backend-multi"].servers["server-multi"].url,
            "http://10.9.0.2:80"
        );
        let mut host = container("h", "", &[("traefik.port", "8080")]);
        host.networks.clear();
        host.network_mode = "host".into();
        let t = translate(&[host], &defaults());
        assert_eq!(
            t.config.backends["backend-h"].servers["server-h"].url,
            "http://127.0.0.1:8080"
        );
    }

    #[test]
    fn frontend_labels() {
        let c = container(
            "f",
            "10.0.0.2",
            &[
                ("traefik.frontend.rule", "PathPrefixStrip:/music"),
                ("traefik.frontend.priority", "50"),
                ("traefik.frontend.entryPoints", "http, admin"),
                ("traefik.frontend.passHostHeader", "false"),
                ("traefik.weight", "5"),
                ("traefik.frontend.auth.basic.users", "x"),
            ],
        );
        let t = translate(&[c], &defaults());
        let f = &t.config.frontends["frontend-PathPrefixStrip-music"];
        assert_eq!((f.priority, f.pass_host_header), (50, false));
        assert_eq!(f.entry_points, ["http", "admin"]);
        assert_eq!(t.config.backends["backend-f"].servers["server-f"].weight, 5);
        // A protection that cannot be honoured refuses the frontend (503), with the reason.
        assert_eq!(f.unenforced, ["label traefik.frontend.auth.basic.users"]);
        assert!(t.config.errors.iter().any(|e| e.to_string()
            == "container f label traefik.frontend.auth.basic.users: value \"x\": \"x\" is not user:hash; its frontend answers 503 to every request rather than serve without it"), "{:?}", t.config.errors);
    }

    #[test]
    fn every_protective_label_refuses_its_frontend_or_backend() {
        let frontend_labels = [
            "traefik.frontend.auth.basic",
            "traefik.frontend.auth.basic.users",
            "traefik.frontend.auth.basic.usersFile",
            "traefik.frontend.auth.basic.removeHeader",
            "traefik.frontend.auth.digest.users",
            "traefik.frontend.auth.forward.address",
            "traefik.frontend.auth.headerField",
            "traefik.frontend.whiteList.sourceRange",
            "traefik.frontend.whiteList.useXForwardedFor",
            "traefik.frontend.whitelistSourceRange",
            "traefik.frontend.rateLimit.extractorFunc",
            "traefik.frontend.rateLimit.rateSet.a.average",
            "traefik.frontend.headers.SSLRedirect",
            "traefik.frontend.headers.STSSeconds",
            "traefik.frontend.headers.frameDeny",
            "traefik.frontend.headers.allowedHosts",
            "traefik.frontend.headers.contentSecurityPolicy",
            // Segment form, and spellings Traefik would not read: refused all the same.
            "traefik.admin.frontend.auth.basic.users",
            "traefik.frontend.WhiteList.SourceRange",
        ];
        for key in frontend_labels {
            let t = translate(&[container("p", "10.0.0.2", &[(key, "x")])], &defaults());
            let f = t.config.frontends.values().next().expect("frontend stays");
            // Never open: refused (503), or enforced, or (a users file) read and checked later.
            let users_file = matches!(
                f.middlewares.auth.as_ref().map(|a| &a.kind),
                Some(model::middleware::AuthKind::Basic(u)) if u.users_file.is_some()
            );
            let enforced = !f.middlewares.is_empty() && t.config.errors.is_empty();
            let refused = f.unenforced.contains(&format!("label {key}"))
                && t.config.errors.len() == f.unenforced.len();
            let nothing_asked = key == "traefik.frontend.auth.headerField";
            assert!(
                refused || enforced || users_file || nothing_asked,
                "{key}: {f:?} {:?}",
                t.config.errors
            );
        }
        for key in [
            "traefik.backend.maxconn.amount",
            "traefik.backend.buffering.maxRequestBodyBytes",
        ] {
            let t = translate(&[container("p", "10.0.0.2", &[(key, "x")])], &defaults());
            assert_eq!(
                t.config.backends["backend-p"].unenforced,
                [format!("label {key}")]
            );
            assert!(t.config.frontends.values().all(|f| f.unenforced.is_empty()));
        }
        for (key, value) in [
            ("traefik.backend.responseForwarding.flushInterval", "10ms"),
            ("traefik.frontend.passTLSCert", "true"),
            (
                "traefik.backend.circuitbreaker.expression",
                "NetworkErrorRatio() > 0.5",
            ),
        ] {
            let t = translate(&[container("p", "10.0.0.2", &[(key, value)])], &defaults());
            assert!(t.config.errors.is_empty(), "{key}: not a protection");
        }
        // A circuit breaker expression that cannot be read: an error, served without.
        let t = translate(
            &[container(
                "p",
                "10.0.0.2",
                &[("traefik.backend.circuitbreaker.expression", "Nope() > 1")],
            )],
            &defaults(),
        );
        assert!(t.config.backends["backend-p"].circuit_breaker.is_none());
        assert!(
            t.config.errors[0]
                .to_string()
                .contains("label traefik.backend.circuitbreaker.expression: circuit breaker expression \"Nope() > 1\": unknown function Nope"),
            "{:?}",
            t.config.errors
        );
        // An empty value asks for nothing (Traefik: empty sourceRange allows all).
        let t = translate(
            &[container(
                "p",
                "10.0.0.2",
                &[("traefik.frontend.whiteList.sourceRange", "")],
            )],
            &defaults(),
        );
        assert!(t.config.errors.is_empty());
    }

    #[test]
    fn labels_portier_does_not_read_are_warnings_and_the_route_is_served() {
        let c = container(
            "w",
            "10.0.0.2",
            &[
                (
                    "traefik.backend.circuitbreaker.expression",
                    "NetworkErrorRatio() > 0.5",
                ),
                ("traefik.frontend.headers.customRequestHeaders", "X-A:1"),
                ("traefik.frontend.passTLSCert", "true"),
                ("traefik.backend.responseForwarding.flushInterval", "10ms"),
                ("traefik.backend.loadbalancer.swarm", "true"),
                ("other.label", "x"),
            ],
        );
        let typo = container(
            "t",
            "10.0.0.3",
            &[("traefik.port", "80"), ("traefik.frontend.rul", "Host:t")],
        );
        let segment = container(
            "t",
            "10.0.0.3",
            &[
                ("traefik.web.port", "80"),
                ("traefik.web.frontend.rule", "Host:t"),
                ("traefik.web.frontend.entrypoints", "http"),
            ],
        );
        let mut t = translate(&[typo], &defaults());
        t.config
            .warnings
            .extend(translate(&[segment], &defaults()).config.warnings);
        let warnings: Vec<String> = t.config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "container t label traefik.frontend.rul: not a label portier or Traefik 1.7 reads; ignored (did you mean traefik.frontend.rule?)",
                "container t label traefik.web.frontend.entrypoints: not a label portier or Traefik 1.7 reads; ignored (did you mean traefik.web.frontend.entryPoints?)",
            ]
        );
        let t = translate(&[c], &defaults());
        assert!(t.config.errors.is_empty());
        assert_eq!(t.config.backends["backend-w"].servers.len(), 1);
        let warnings: Vec<String> = t.config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "container w label traefik.backend.loadbalancer.swarm: read only in swarm mode ([docker] swarmMode = true); ignored for a container, as in Traefik",
            ]
        );
    }

    #[test]
    fn one_container_asking_refuses_the_frontend_it_shares() {
        // "a" sorts first and builds the frontend; "b" asks for auth on the same frontend.
        let mut b = web("b", "10.0.0.3");
        b.labels.insert(
            "traefik.frontend.auth.basic.users".into(),
            "u:$apr1$x".into(),
        );
        let t = translate(&[web("a", "10.0.0.2"), b.clone()], &defaults());
        assert_eq!(t.config.frontends.len(), 1);
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(f.unenforced, ["container b disagrees on middlewares"]);
        // Valid but different middlewares on a shared frontend: refused until they agree.
        b.labels.insert(
            "traefik.frontend.auth.basic.users".into(),
            "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/".into(),
        );
        let t = translate(&[web("a", "10.0.0.2"), b.clone()], &defaults());
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(f.unenforced, ["container b disagrees on middlewares"]);
        // The same middlewares on every replica: served, enforced.
        let mut a = web("a", "10.0.0.2");
        a.labels = b.labels.clone();
        let t = translate(&[a, b], &defaults());
        let f = t.config.frontends.values().next().expect("frontend");
        assert!(f.unenforced.is_empty() && f.middlewares.auth.is_some());
    }

    #[test]
    fn constraints_filter_by_tags() {
        let d = DockerDefaults {
            constraints: vec![Constraint::parse("tag==team-a").expect("valid")],
            ..defaults()
        };
        let a = container("a", "10.0.0.2", &[("traefik.tags", "x, team-a")]);
        let b = container("b", "10.0.0.3", &[("traefik.tags", "team-b")]);
        let none = container("n", "10.0.0.4", &[]);
        let t = translate(&[a, b, none], &d);
        assert_eq!(t.config.backends.keys().collect::<Vec<_>>(), ["backend-a"]);
    }

    #[test]
    fn healthcheck_labels_configure_the_backend() {
        let c = container(
            "hc",
            "10.0.0.2",
            &[
                (LABEL_HC_PATH, "health"),
                (LABEL_HC_INTERVAL, "500ms"),
                (LABEL_HC_PORT, "8080"),
                (LABEL_HC_HOSTNAME, "probe.local"),
                (LABEL_HC_HEADERS, "X-Probe:1||x-other: two||junk"),
            ],
        );
        let t = translate(&[c], &defaults());
        let hc = t.config.backends["backend-hc"]
            .health_check
            .clone()
            .expect("health check");
        assert_eq!(hc.path, "/health");
        assert_eq!(hc.interval, std::time::Duration::from_millis(500));
        assert_eq!(hc.port, Some(8080));
        assert_eq!(hc.hostname.as_deref(), Some("probe.local"));
        assert_eq!(hc.headers.len(), 2);
        let bad = container(
            "bad",
            "10.0.0.3",
            &[(LABEL_HC_PATH, "/h"), (LABEL_HC_INTERVAL, "6")],
        );
        let bad2 = container(
            "bad2",
            "10.0.0.4",
            &[(LABEL_HC_PATH, "/h"), (LABEL_HC_INTERVAL, "soon")],
        );
        let t = translate(&[bad, bad2], &defaults());
        assert_eq!(
            t.config.backends.len(),
            1,
            "a bare number is seconds; \"soon\" is an error"
        );
        assert!(
            t.config.errors[0]
                .to_string()
                .contains("traefik.backend.healthcheck.interval: value \"soon\"")
        );
    }

    #[test]
    fn load_balancer_labels_configure_stickiness() {
        let sticky = container(
            "s",
            "10.0.0.2",
            &[
                (LABEL_LB_METHOD, "DRR"),
                (LABEL_STICKINESS, "true"),
                (LABEL_STICKINESS_COOKIE, "route"),
                (LABEL_STICKINESS_HTTP_ONLY, "true"),
                (LABEL_STICKINESS_SAME_SITE, "strict"),
                (LABEL_FLUSH_INTERVAL, "10ms"),
            ],
        );
        let old = container("o", "10.0.0.3", &[(LABEL_STICKY, "true")]);
        let bad = container("b", "10.0.0.4", &[(LABEL_LB_METHOD, "random")]);
        let t = translate(&[sticky, old, bad], &defaults());
        assert_eq!(
            t.config.backends["backend-s"].flush_interval,
            Some(std::time::Duration::from_millis(10))
        );
        let lb = &t.config.backends["backend-s"].load_balancer;
        assert_eq!(lb.method, "drr");
        assert_eq!(
            lb.stickiness,
            Some(Stickiness {
                cookie_name: "route".into(),
                secure: false,
                http_only: true,
                same_site: "strict".into(),
                ..Stickiness::default()
            })
        );
        let old = &t.config.backends["backend-o"].load_balancer;
        assert_eq!(
            old.stickiness.as_ref().map(|s| s.cookie_name.as_str()),
            Some("_TRAEFIK_BACKEND")
        );
        assert!(!t.config.backends.contains_key("backend-b"));
        assert!(
            t.config.errors[0]
                .to_string()
                .contains("traefik.backend.loadbalancer.method: value \"random\": use wrr or drr"),
            "{:?}",
            t.config.errors
        );
        assert!(t.config.warnings.is_empty(), "{:?}", t.config.warnings);
    }

    #[test]
    fn auth_labels_traefik_would_ignore_are_warnings() {
        let c = container(
            "a",
            "10.0.0.2",
            &[
                (
                    "traefik.frontend.auth.basic.users",
                    "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
                ),
                (
                    "traefik.frontend.auth.digest.users",
                    "test:traefik:a2688e031edb4be6a3797f3882655c05",
                ),
            ],
        );
        let lone = container(
            "b",
            "10.0.0.3",
            &[("traefik.frontend.auth.headerField", "X-U")],
        );
        let t = translate(&[c, lone], &defaults());
        let w: Vec<String> = t.config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            w,
            [
                "container a label traefik.frontend.auth.digest.users: ignored: basic authentication takes precedence (digest is not built beside it; one kind per frontend, as in Traefik)",
                "container b label traefik.frontend.auth.headerField: ignored: the frontend has no authentication to name a user",
            ]
        );
        assert!(t.config.errors.is_empty(), "{:?}", t.config.errors);
    }

    #[test]
    fn redirect_labels() {
        let c = container(
            "r",
            "10.0.0.2",
            &[
                (LABEL_REDIRECT_EP, "https"),
                (LABEL_REDIRECT_PERMANENT, "true"),
            ],
        );
        let t = translate(&[c], &defaults());
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(
            f.redirect,
            Some(FrontendRedirect {
                entry_point: "https".into(),
                regex: String::new(),
                replacement: String::new(),
                permanent: true
            })
        );
    }

    #[test]
    fn regex_redirect_labels_and_their_errors() {
        let regex = (LABEL_REDIRECT_REGEX, "^http://(.*)");
        let t = translate(
            &[container(
                "r",
                "10.0.0.2",
                &[regex, (LABEL_REDIRECT_REPLACEMENT, "https://$1")],
            )],
            &defaults(),
        );
        let f = t.config.frontends.values().next().expect("frontend");
        assert_eq!(
            f.redirect,
            Some(FrontendRedirect {
                entry_point: String::new(),
                regex: "^http://(.*)".into(),
                replacement: "https://$1".into(),
                permanent: false
            })
        );
        // Half set, a bad regex, a Go template: the container is left out, the label named.
        for (labels, label, says) in [
            (
                vec![regex],
                LABEL_REDIRECT_REGEX,
                "set without traefik.frontend.redirect.replacement",
            ),
            (
                vec![
                    (LABEL_REDIRECT_REGEX, "^(x"),
                    (LABEL_REDIRECT_REPLACEMENT, "y"),
                ],
                LABEL_REDIRECT_REGEX,
                "does not compile",
            ),
            (
                vec![regex, (LABEL_REDIRECT_REPLACEMENT, "{{.Request.Host}}")],
                LABEL_REDIRECT_REPLACEMENT,
                "Go template",
            ),
        ] {
            let t = translate(&[container("r", "10.0.0.2", &labels)], &defaults());
            assert!(t.config.frontends.is_empty(), "{labels:?}");
            let e = t.config.errors.first().expect("an error").to_string();
            assert!(e.contains(label) && e.contains(says), "{e}");
        }
    }

    #[test]
    fn use_bind_port_ip_takes_the_published_address_as_traefik() {
        let mut on_ip = container("a", "10.0.0.2", &[]);
        on_ip.bindings.insert(80, ("127.0.0.1".into(), 32768));
        let mut any_ip = container("b", "10.0.0.3", &[]);
        any_ip.bindings.insert(80, ("0.0.0.0".into(), 32769));
        let unpublished = container("c", "10.0.0.4", &[]);
        let d = DockerDefaults {
            use_bind_port_ip: true,
            ..defaults()
        };
        let t = translate(&[on_ip.clone(), any_ip, unpublished], &d);
        let url = |b: &str| {
            t.config.backends[b]
                .servers
                .values()
                .next()
                .expect("server")
                .url
                .clone()
        };
        assert_eq!(url("backend-a"), "http://127.0.0.1:32768");
        assert_eq!(
            url("backend-b"),
            "http://10.0.0.3:80",
            "0.0.0.0: its own address"
        );
        assert_eq!(url("backend-c"), "http://10.0.0.4:80");
        assert!(
            t.notes
                .iter()
                .any(|n| n.contains("container c: port 80 is not published")),
            "{:?}",
            t.notes
        );
        let off = translate(&[on_ip], &defaults());
        assert_eq!(
            off.config.backends["backend-a"]
                .servers
                .values()
                .next()
                .expect("server")
                .url,
            "http://10.0.0.2:80"
        );
    }

    #[test]
    fn normalizes_like_traefik() {
        assert_eq!(normalize("/my_app.v2"), "my-app-v2");
        assert_eq!(normalize("Host:web.local"), "Host-web-local");
        assert_eq!(normalize("\"test\""), "test");
    }

    #[test]
    fn updating_change_by_change_equals_translating_everything() {
        // A deterministic sequence of changes: containers come, go, are renamed, move between
        // backends, change rule, state and middlewares; some rules normalise to the same base
        // name (`Host:a.com` and `Host:a-com`), so frontend names are shared and suffixed.
        let mut seed = 11u64;
        let mut below = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let rules = ["Host:a.com", "Host:a-com", "Host:b.com", "PathPrefix:/x"];
        let mut live: BTreeMap<String, ContainerInfo> = BTreeMap::new();
        let mut t = Translator::new(defaults());
        for step in 0..400 {
            let id = format!("id{}", below(10));
            let change = if below(5) == 0 {
                live.remove(&id);
                None
            } else {
                let name = format!("c{}", below(12));
                let backend = format!("app{}", below(3));
                let rule = rules[below(4) as usize];
                let mut labels = vec![
                    ("traefik.backend", backend.as_str()),
                    ("traefik.frontend.rule", rule),
                ];
                if below(4) == 0 {
                    labels.push(("traefik.frontend.whiteList.sourceRange", "10.0.0.0/8"));
                }
                if below(6) == 0 {
                    labels.push(("traefik.backend.maxconn.amount", "5"));
                }
                if below(8) == 0 {
                    labels.push(("traefik.port", "not-a-port"));
                }
                if below(5) == 0 {
                    labels.push(("traefik.adm.port", "8080"));
                    labels.push(("traefik.adm.frontend.rule", "Host:adm.local"));
                    if below(2) == 0 {
                        labels.push(("traefik.adm.backend", "shared"));
                    }
                }
                let mut c = container(&name, &format!("10.0.0.{}", below(200)), &labels);
                c.id = id.clone();
                c.state = match below(6) {
                    0 => RunState::Paused,
                    1 => RunState::NotRunning,
                    _ => RunState::Running,
                };
                live.insert(id.clone(), c);
                live.get(&id)
            };
            t.update([(id.clone(), change)]);
            let all: Vec<ContainerInfo> = live.values().cloned().collect();
            let fresh = translate(&all, &defaults());
            assert_eq!(t.config(), &fresh.config, "step {step}");
        }
    }

    #[test]
    fn segments_are_named_as_traefik_names_them() {
        let t = translate(
            &[container(
                "foo",
                "10.0.0.2",
                &[("traefik.sauternes.port", "2503")],
            )],
            &defaults(),
        );
        let f = &t.config.frontends["frontend-sauternes-foo-sauternes"];
        assert_eq!(f.backend, "backend-foo-sauternes");
        assert_eq!(
            f.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:foo.docker.localhost")
        );
        let b = &t.config.backends["backend-foo-sauternes"];
        assert_eq!(
            b.servers["server-foo-sauternes"].url,
            "http://10.0.0.2:2503"
        );

        let t = translate(
            &[container(
                "test1",
                "10.0.0.3",
                &[
                    ("traefik.sauternes.port", "80"),
                    ("traefik.sauternes.backend", "foobar"),
                ],
            )],
            &defaults(),
        );
        assert!(
            t.config
                .frontends
                .contains_key("frontend-sauternes-test1-foobar")
        );
        assert!(t.config.backends.contains_key("backend-test1-foobar"));
    }

    #[test]
    fn one_container_two_segments_two_routes() {
        let mut c = container(
            "app",
            "10.0.0.2",
            &[
                ("traefik.frontend.priority", "7"),
                ("traefik.web.port", "80"),
                ("traefik.web.frontend.rule", "Host:web.local"),
                ("traefik.admin.port", "8080"),
                ("traefik.admin.weight", "3"),
                ("traefik.admin.protocol", "https"),
                ("traefik.admin.frontend.rule", "Host:admin.local"),
                ("traefik.admin.frontend.entryPoints", "https"),
                ("traefik.admin.frontend.whiteList.sourceRange", "10.0.0.0/8"),
            ],
        );
        c.ports = vec![80, 8080];
        let t = translate(&[c], &defaults());
        assert!(t.config.errors.is_empty(), "{:?}", t.config.errors);
        assert!(t.config.warnings.is_empty(), "{:?}", t.config.warnings);
        let web = &t.config.frontends["frontend-web-app-web"];
        let admin = &t.config.frontends["frontend-admin-app-admin"];
        assert_eq!(
            (web.priority, admin.priority),
            (7, 7),
            "shared labels apply to each segment"
        );
        assert_eq!(
            web.routes.values().next().map(|r| r.rule.as_str()),
            Some("Host:web.local")
        );
        assert!(web.middlewares.white_list.is_none());
        assert!(admin.middlewares.white_list.is_some());
        assert_eq!(admin.entry_points, ["https"]);
        let s = &t.config.backends["backend-app-admin"].servers["server-app-admin"];
        assert_eq!((s.url.as_str(), s.weight), ("https://10.0.0.2:8080", 3));
        let s = &t.config.backends["backend-app-web"].servers["server-app-web"];
        assert_eq!(s.url, "http://10.0.0.2:80");
    }

    #[test]
    fn two_segments_with_one_backend_share_it_and_errors_name_the_segment_label() {
        let c = container(
            "two",
            "10.0.0.2",
            &[
                ("traefik.a.port", "80"),
                ("traefik.a.backend", "both"),
                ("traefik.b.port", "81"),
                ("traefik.b.backend", "both"),
            ],
        );
        let t = translate(&[c], &defaults());
        let b = &t.config.backends["backend-two-both"];
        let urls: Vec<&str> = b.servers.values().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["http://10.0.0.2:80", "http://10.0.0.2:81"]);
        assert_eq!(t.config.frontends.len(), 2);

        let bad = container("bad", "10.0.0.3", &[("traefik.web.port", "eighty")]);
        let t = translate(&[bad], &defaults());
        let errors: Vec<String> = t.config.errors.iter().map(ToString::to_string).collect();
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("container bad label traefik.web.port:")),
            "{errors:?}"
        );
    }

    #[test]
    fn a_backend_wide_label_that_differs_says_which_container_won() {
        let with = |name: &str, ip: &str, path: &str| {
            container(
                name,
                ip,
                &[
                    ("traefik.backend", "shop"),
                    ("traefik.frontend.rule", "Host:shop.local"),
                    ("traefik.backend.healthcheck.path", path),
                ],
            )
        };
        let t = translate(
            &[
                with("b", "10.0.0.3", "/other"),
                with("a", "10.0.0.2", "/health"),
            ],
            &defaults(),
        );
        assert!(t.config.errors.is_empty(), "{:?}", t.config.errors);
        let hc = t.config.backends["backend-shop"].health_check.as_ref();
        assert_eq!(
            hc.map(|h| h.path.as_str()),
            Some("/health"),
            "the first by name"
        );
        let warnings: Vec<String> = t.config.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "container b label traefik.backend.healthcheck.*: differs from container a's; a backend has one value, taken from its first container by name, so a's is used"
            ]
        );
    }
}
