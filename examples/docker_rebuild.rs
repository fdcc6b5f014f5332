//! Measures how long portier takes to turn N labelled containers into a routing table: label
//! translation (`providers::docker::Translator`) and compilation (`control::compile::compile`),
//! first from scratch (every container read, every rule and balancer compiled), then for a
//! change to one container as the Docker provider makes it (the translator reads that one
//! container again and patches its snapshot; the compiler diffs the snapshot against the last
//! one and rebuilds only that container's backend and routes).
//!
//! `cargo run --release --example docker_rebuild [containers] [rounds]`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use control::compile::{CompileSettings, Registry, compile};
use providers::docker::{ContainerInfo, DockerDefaults, RunState, Translator, translate};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let rounds: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(50);
    // Four containers per backend (a scaled service), a Host rule each, some with paths.
    let containers: Vec<ContainerInfo> = (0..n)
        .map(|i| {
            let app = i / 4;
            let rule = if app % 3 == 0 {
                format!("Host:app{app}.example.com;PathPrefixStrip:/v{app}")
            } else {
                format!("Host:app{app}.example.com")
            };
            ContainerInfo {
                id: format!("{i:064x}"),
                name: format!("app{app}_web_{}", i % 4),
                service: None,
                node: None,
                labels: BTreeMap::from([
                    ("traefik.backend".to_string(), format!("app{app}")),
                    ("traefik.port".to_string(), "80".to_string()),
                    ("traefik.frontend.rule".to_string(), rule),
                ]),
                state: RunState::Running,
                health: None,
                ports: vec![80],
                networks: BTreeMap::from([(
                    "web".to_string(),
                    format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256),
                )]),
                network_mode: "web".to_string(),
                bindings: BTreeMap::new(),
            }
        })
        .collect();
    let defaults = DockerDefaults {
        domain: "docker.localhost".into(),
        exposed_by_default: true,
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
    let t = translate(&containers, &defaults);
    let frontends = t.config.frontends.len();

    // From scratch: every generation compiles everything.
    let (mut translate_us, mut compile_us) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let started = Instant::now();
        let t = translate(&containers, &defaults);
        translate_us.push(started.elapsed().as_micros());
        let providers = BTreeMap::from([("docker".to_string(), Arc::new(t.config))]);
        let started = Instant::now();
        let table = compile(&providers, &settings, &mut Registry::new(), round as u64);
        compile_us.push(started.elapsed().as_micros());
        assert!(table.errors.is_empty());
    }
    println!(
        "{n} containers -> {frontends} frontends, full rebuild: translate median {} us, compile median {} us ({rounds} rounds)",
        med(&mut translate_us),
        med(&mut compile_us),
    );

    // One container changes per generation (it moves to another IP), as the provider sends
    // it: the translator keeps every other container's translation.
    let mut registry = Registry::new();
    let mut translator = Translator::new(defaults.clone());
    translator.update(containers.iter().map(|c| (c.id.clone(), Some(c))));
    let providers = BTreeMap::from([("docker".to_string(), Arc::new(translator.config().clone()))]);
    compile(&providers, &settings, &mut registry, 0);
    let (mut translate_us, mut compile_us) = (Vec::new(), Vec::new());
    let mut changed = containers.clone();
    for round in 1..=rounds {
        let i = (round * 37) % n;
        changed[i].networks.insert(
            "web".to_string(),
            format!("10.200.{}.{}", round / 256, round % 256),
        );
        let started = Instant::now();
        translator.update([(changed[i].id.clone(), Some(&changed[i]))]);
        let config = Arc::new(translator.config().clone());
        translate_us.push(started.elapsed().as_nanos());
        let providers = BTreeMap::from([("docker".to_string(), config)]);
        let started = Instant::now();
        let table = compile(&providers, &settings, &mut registry, round as u64);
        compile_us.push(started.elapsed().as_nanos());
        assert!(table.errors.is_empty());
        let server = format!("http://10.200.{}.{}:80", round / 256, round % 256);
        assert!(
            table.servers.iter().any(|(k, _)| k.2 == server),
            "the change reached the table"
        );
    }
    println!(
        "{n} containers, one container changed: translate median {:.1} us, compile median {:.1} us ({rounds} rounds)",
        med(&mut translate_us) as f64 / 1000.0,
        med(&mut compile_us) as f64 / 1000.0,
    );
}
