//! Fuzz target: Docker labels to the model. The input is `key=value` lines, the labels of
//! one or two containers (a line `--` starts the second). Translation never panics, and
//! every error it reports names a container.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use portier_providers::docker::{ContainerInfo, DockerDefaults, RunState, translate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let containers: Vec<ContainerInfo> = text
        .split("\n--\n")
        .take(2)
        .enumerate()
        .map(|(i, labels)| container(i, labels))
        .collect();
    let defaults = DockerDefaults {
        domain: "docker.local".into(),
        exposed_by_default: true,
        ..DockerDefaults::default()
    };
    let t = translate(&containers, &defaults);
    for e in t.config.errors.iter() {
        let text = e.to_string();
        assert!(
            containers.iter().any(|c| text.contains(&c.name)),
            "an error that names no container: {text}"
        );
    }
});

fn container(i: usize, labels: &str) -> ContainerInfo {
    ContainerInfo {
        id: format!("id{i}"),
        name: format!("fuzz{i}"),
        service: None,
        node: None,
        labels: labels
            .lines()
            .filter_map(|l| l.split_once('='))
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
