//! Zero failed requests while containers scale, restart and die, under a steady load through
//! portier (real Docker engine, real compose).

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use support::docker::{Scope, docker, eventually, hostname};
use support::load::Load;
use support::{Portier, get};

use support::toml::HTTP;
const RPS: u32 = 300;

async fn servers_answering(p: &Portier, host: &str, n: usize) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for _ in 0..n {
        let r = get(p.http(), host, "/").await;
        if r.status == 200 {
            seen.extend(hostname(&r.text()));
        }
    }
    seen
}

/// Prints the run and fails on any failed request.
fn assert_no_failures(what: &str, report: &support::load::Report, at_least: u64) {
    eprintln!(
        "{what}: {} requests, {} failed, p99 {:?}",
        report.total,
        report.failures.len(),
        report.p99()
    );
    assert!(
        report.total >= at_least,
        "the load ran ({} requests)",
        report.total
    );
    assert!(
        report.failures.is_empty(),
        "failed requests:\n{}",
        report.failures.join("\n")
    );
}

async fn wait_for_servers(p: &Portier, host: &str, count: usize) {
    eventually(
        Duration::from_secs(20),
        &format!("{count} servers answering"),
        async || (servers_answering(p, host, count * 4).await.len() == count).then_some(()),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_and_restart_under_load_without_a_failed_request() {
    let s = Scope::new("zero");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose/slow-drain.yml");
    s.compose(&file, &["up", "-d", "--scale", "web=5", "web"]);
    wait_for_servers(&p, "compose.local", 5).await;

    let load = Load::start(p.http(), "compose.local", RPS, 8, Duration::from_secs(90));
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.compose(&file, &["up", "-d", "-t", "1", "--scale", "web=1", "web"]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.compose(&file, &["up", "-d", "-t", "1", "--scale", "web=3", "web"]);
    wait_for_servers(&p, "compose.local", 3).await;
    let ids = s.compose(&file, &["ps", "-q", "web"]);
    for id in ids.split_whitespace() {
        docker(&["restart", "-t", "1", id]);
        wait_for_servers(&p, "compose.local", 3).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = load.finish().await;
    assert_no_failures("scale 5 -> 1 -> 3 and restart each", &report, 1000);
    s.compose(&file, &["down", "-t", "1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_kill_of_one_of_three_under_load_without_a_failed_request() {
    let s = Scope::new("kill");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let labels = [
        "-l",
        "traefik.port=80",
        "-l",
        "traefik.backend=killme",
        "-l",
        "traefik.frontend.rule=Host:kill.local",
    ];
    let ids: Vec<String> = ["k1", "k2", "k3"]
        .iter()
        .map(|n| s.run(n, &labels))
        .collect();
    wait_for_servers(&p, "kill.local", 3).await;
    let load = Load::start(p.http(), "kill.local", RPS, 8, Duration::from_secs(30));
    tokio::time::sleep(Duration::from_secs(1)).await;
    docker(&["kill", &ids[0]]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let report = load.finish().await;
    assert_no_failures("docker kill under load", &report, 500);
}
