//! Measures how long portier takes to turn 1,000 labelled containers into a routing table:
//! label translation (`provider::docker::translate`) plus compilation (`aggregator::compile`).
//!
//! `cargo run --release --example docker_rebuild [containers] [rounds]`

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use control::compile::{CompileSettings, Registry, compile};
use providers::docker::{ContainerInfo, DockerDefaults, RunState, translate};

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
    };
    let mut registry = Registry::new();
    let mut translate_us = Vec::new();
    let mut total_us = Vec::new();
    let mut frontends = 0;
    for round in 0..rounds {
        let started = Instant::now();
        let t = translate(&containers, &defaults);
        let translated = started.elapsed();
        frontends = t.config.frontends.len();
        let providers = BTreeMap::from([("docker".to_string(), Arc::new(t.config))]);
        let table = compile(&providers, &settings, &mut registry, round as u64);
        let total = started.elapsed();
        assert!(table.errors.is_empty());
        translate_us.push(translated.as_micros());
        total_us.push(total.as_micros());
    }
    translate_us.sort_unstable();
    total_us.sort_unstable();
    let med = |v: &[u128]| v[v.len() / 2];
    println!(
        "{n} containers -> {frontends} frontends: translate median {} us; translate+compile median {} us, max {} us ({rounds} rounds)",
        med(&translate_us),
        med(&total_us),
        total_us[total_us.len() - 1]
    );
}
