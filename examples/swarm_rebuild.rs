//! Measures how long one look at a swarm of S services with T tasks each takes to become a
//! routing table, as the swarm-mode provider does it on every re-read: parse the `/tasks`
//! answer (the largest), translate services and tasks to containers (`swarm_containers`),
//! then the label translation and compile, from scratch and for one replaced task.
//!
//! `cargo run --release --example swarm_rebuild [services] [tasks per service] [rounds]`

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use control::compile::{CompileSettings, Registry, compile};
use providers::docker::{
    DockerDefaults, SwarmLook, SwarmService, SwarmTask, Translator, swarm_containers, translate,
};

fn arg(i: usize, default: usize) -> usize {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// The engine's JSON for every task, as `GET /tasks` writes it (trimmed to what portier reads
/// plus a spec of the usual size, so parsing costs what it costs).
fn tasks_json(services: usize, per: usize, replaced: Option<usize>) -> String {
    let mut tasks = Vec::new();
    for s in 0..services {
        for t in 0..per {
            let i = s * per + t;
            let id = match replaced {
                Some(r) if r == i => format!("new{i:021}"),
                _ => format!("task{i:021}"),
            };
            tasks.push(serde_json::json!({
                "ID": id,
                "Version": {"Index": 1000 + i},
                "CreatedAt": "2026-11-24T12:00:00.000000000Z",
                "UpdatedAt": "2026-11-24T12:00:01.000000000Z",
                "Labels": {},
                "Spec": {"ContainerSpec": {"Image": "whoami:local", "Init": false, "DNSConfig": {},
                  "Isolation": "default"}, "Resources": {"Limits": {}, "Reservations": {}},
                  "Placement": {}, "Networks": [{"Target": "web1"}], "ForceUpdate": 0},
                "ServiceID": format!("svc{s}"),
                "Slot": t + 1,
                "NodeID": "node0000000000000000000001",
                "Status": {"Timestamp": "2026-11-24T12:00:01.000000000Z", "State": "running",
                  "Message": "started", "ContainerStatus": {"ContainerID": format!("{i:064x}"), "PID": 1000 + i, "ExitCode": 0},
                  "PortStatus": {}},
                "DesiredState": "running",
                "NetworksAttachments": [{"Network": {"ID": "web1", "Spec": {"Name": "web", "Driver": "overlay"}},
                  "Addresses": [format!("10.{}.{}.{}/8", i / 65536, (i / 256) % 256, i % 256)]}]
            }));
        }
    }
    serde_json::Value::Array(tasks).to_string()
}

fn main() {
    let (n, per, rounds) = (arg(1, 1000), arg(2, 5), arg(3, 20));
    let services: Vec<SwarmService> = serde_json::from_value(serde_json::Value::Array(
        (0..n)
            .map(|s| {
                serde_json::json!({
                    "ID": format!("svc{s}"),
                    "Spec": {"Name": format!("app{s}"), "Labels": {
                        "traefik.port": "80",
                        "traefik.frontend.rule": format!("Host:app{s}.example.com"),
                    }, "Mode": {"Replicated": {"Replicas": per}}, "EndpointSpec": {"Mode": "vip"}},
                })
            })
            .collect(),
    ))
    .expect("services");
    let networks = HashMap::from([("web1".to_string(), "web".to_string())]);
    let json = tasks_json(n, per, None);
    let defaults = DockerDefaults {
        domain: "docker.localhost".into(),
        exposed_by_default: true,
        network: "web".into(),
        ..DockerDefaults::default()
    };
    let settings = CompileSettings {
        entry_points: vec!["http".into()],
        default_entry_points: vec!["http".into()],
        max_conns_per_server: 1024,
        redirect_targets: Default::default(),
        keep_trailing_slash: false,
        default_rule_syntax: model::rules::Syntax::V3,
        router_entry_points: Vec::new(),
        acme: false,
        resolvers: Vec::new(),
        api: false,
        entry_point_http: Default::default(),
        l4: Default::default(),
    };
    let med = |v: &mut Vec<u128>| {
        v.sort_unstable();
        v[v.len() / 2]
    };

    let (mut parse_us, mut swarm_us, mut translate_us, mut compile_us) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let started = Instant::now();
        let tasks: Vec<SwarmTask> = serde_json::from_str(&json).expect("tasks");
        parse_us.push(started.elapsed().as_micros());
        let look = SwarmLook {
            services: services.clone(),
            tasks,
            networks: networks.clone(),
            nodes: HashMap::new(),
        };
        let started = Instant::now();
        let s = swarm_containers(&look);
        swarm_us.push(started.elapsed().as_micros());
        assert_eq!(s.containers.len(), n * per);
        let started = Instant::now();
        let t = translate(&s.containers, &defaults);
        translate_us.push(started.elapsed().as_micros());
        let providers = BTreeMap::from([("docker".to_string(), Arc::new(t.config))]);
        let started = Instant::now();
        let table = compile(&providers, &settings, &mut Registry::new(), round as u64);
        compile_us.push(started.elapsed().as_micros());
        assert!(table.errors.is_empty());
    }
    println!(
        "{n} services x {per} tasks ({} KiB of /tasks JSON), from scratch: parse {} us, swarm {} us, translate {} us, compile {} us (medians of {rounds})",
        json.len() / 1024,
        med(&mut parse_us),
        med(&mut swarm_us),
        med(&mut translate_us),
        med(&mut compile_us),
    );

    // One task replaced per look, as the provider handles it: the whole look is parsed and
    // translated to containers again, the diff goes to the translator, the compiler diffs.
    let mut registry = Registry::new();
    let mut translator = Translator::new(defaults.clone());
    let tasks: Vec<SwarmTask> = serde_json::from_str(&json).expect("tasks");
    let first = swarm_containers(&SwarmLook {
        services: services.clone(),
        tasks,
        networks: networks.clone(),
        nodes: HashMap::new(),
    });
    translator.update(first.containers.iter().map(|c| (c.id.clone(), Some(c))));
    let mut cache: HashMap<String, providers::docker::ContainerInfo> = first
        .containers
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    let providers = BTreeMap::from([("docker".to_string(), Arc::new(translator.config().clone()))]);
    compile(&providers, &settings, &mut registry, 0);
    let mut look_us = Vec::new();
    for round in 1..=rounds {
        let json = tasks_json(n, per, Some((round * 37) % (n * per)));
        let started = Instant::now();
        let tasks: Vec<SwarmTask> = serde_json::from_str(&json).expect("tasks");
        let s = swarm_containers(&SwarmLook {
            services: services.clone(),
            tasks,
            networks: networks.clone(),
            nodes: HashMap::new(),
        });
        let now: HashMap<String, providers::docker::ContainerInfo> = s
            .containers
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        let mut dirty: Vec<String> = now
            .iter()
            .filter(|(id, c)| cache.get(*id) != Some(*c))
            .map(|(id, _)| id.clone())
            .collect();
        dirty.extend(cache.keys().filter(|id| !now.contains_key(*id)).cloned());
        cache = now;
        translator.update(dirty.iter().map(|id| (id.clone(), cache.get(id))));
        let providers =
            BTreeMap::from([("docker".to_string(), Arc::new(translator.config().clone()))]);
        let table = compile(&providers, &settings, &mut registry, round as u64);
        look_us.push(started.elapsed().as_micros());
        assert!(table.errors.is_empty());
        // This round's task was replaced; last round's replacement is back to its first id.
        let want = if round == 1 { 2 } else { 4 };
        assert_eq!(dirty.len(), want, "tasks that left and came");
    }
    println!(
        "one task replaced: the whole look (parse, swarm, diff, translate the changed tasks, compile) median {} us ({rounds} rounds)",
        med(&mut look_us)
    );
}
