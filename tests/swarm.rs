//! Swarm mode on the real engine (a single-node swarm, left as found): services' labels to
//! routes, a service without `traefik.port` shown as an error, VIP mode, scaling up and down
//! and `docker service update --force` under load with zero failed requests. portier runs as
//! a container on the overlay network (the host cannot reach task IPs there).

mod support;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::binary;
use support::docker::{EngineLink, docker, eventually, hostname};
use support::load::Load;
use support::swarm::Swarm;

/// A GET's status and body, or `None` on any failure (the published port accepts, and
/// resets, before portier listens inside its container).
async fn try_get(addr: SocketAddr, host: &str, path: &str) -> Option<(u16, bytes::Bytes)> {
    use http_body_util::BodyExt;
    let req = http::Request::get(format!("http://{addr}{path}"))
        .header("host", host)
        .body(support::TestBody::empty())
        .ok()?;
    let exchange = async {
        let resp = support::client().request(req).await.ok()?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        Some((status, body))
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .ok()
        .flatten()
}

/// The distinct whoami hostnames seen in `n` requests for `host`.
async fn hostnames(addr: SocketAddr, host: &str, n: usize) -> HashSet<String> {
    let mut seen = HashSet::new();
    for _ in 0..n {
        if let Some((200, body)) = try_get(addr, host, "/").await {
            seen.extend(hostname(&String::from_utf8_lossy(&body)));
        }
    }
    seen
}

/// Waits (at most 30 s) until `n` distinct tasks answer for `host` in `3 n` requests.
async fn until_served_by(addr: SocketAddr, host: &str, n: usize) -> HashSet<String> {
    eventually(
        Duration::from_secs(30),
        &format!("{n} tasks answering for {host}"),
        async || {
            let seen = hostnames(addr, host, 3 * n).await;
            (seen.len() == n).then_some(seen)
        },
    )
    .await
}

async fn api(addr: SocketAddr) -> Value {
    match try_get(addr, "localhost", "/api/providers/docker").await {
        Some((_, body)) => serde_json::from_slice(&body).unwrap_or(Value::Null),
        None => Value::Null,
    }
}

#[tokio::test]
async fn swarm_services_route_scale_and_update_without_failed_requests() {
    let mut s = Swarm::new("swarm");
    let web = s.service(
        "web",
        &["traefik.port=80", "traefik.frontend.rule=Host:web.swarm"],
        &["--replicas", "3"],
    );
    let noport = s.service("noport", &["traefik.frontend.rule=Host:noport.swarm"], &[]);
    // A task no node can take stays pending: shown as starting, out of rotation, never routed.
    let waiting = s.service(
        "waiting",
        &[
            "traefik.port=80",
            "traefik.frontend.rule=Host:waiting.swarm",
        ],
        &["--constraint", "node.labels.portier-never==true"],
    );
    let vip = s.service(
        "vip",
        &[
            "traefik.port=80",
            "traefik.frontend.rule=Host:vip.swarm",
            "traefik.backend.loadbalancer.swarm=true",
        ],
        &[],
    );
    // Traefik 3 labels on a service, beside the 1.x ones, in the same portier.
    s.service(
        "web3",
        &[
            "traefik.http.routers.web3.rule=Host(`web3.swarm`)",
            "traefik.http.services.web3.loadbalancer.server.port=80",
        ],
        &["--replicas", "2"],
    );
    let network = s.network.clone();
    let (http, web_api) = s.portier(
        binary(),
        &[
            "--docker",
            "--docker.swarmMode=true",
            &format!("--docker.network={network}"),
            "--docker.exposedByDefault=true",
            "--api",
        ],
    );

    // The three tasks, in turn.
    let log = s.portier_log();
    let three = until_served_by(http, "web.swarm", 3).await;
    assert_eq!(three.len(), 3, "{log}");
    let two = until_served_by(http, "web3.swarm", 2).await;
    assert_eq!(two.len(), 2, "the 3.x-labelled service's two tasks: {log}");

    // A service without traefik.port: an error naming it, on the API; the others are served.
    let docker_api = eventually(
        Duration::from_secs(10),
        "the swarm errors in the API",
        async || {
            let v = api(web_api).await;
            v["errors"]
                .as_array()
                .filter(|e| !e.is_empty())
                .map(|_| v.clone())
        },
    )
    .await;
    let errors = docker_api["errors"].to_string();
    assert!(
        errors.contains(&format!("service {noport} label traefik.port")),
        "{errors}"
    );
    let held = eventually(
        Duration::from_secs(10),
        "the pending task in the API",
        async || {
            let v = api(web_api).await;
            let h = v["backends"][format!("backend-{waiting}")]["held"].clone();
            h.as_object().filter(|m| !m.is_empty()).map(|_| h.clone())
        },
    )
    .await;
    let task = held
        .as_object()
        .and_then(|m| m.values().next().cloned())
        .unwrap_or_default();
    assert_eq!(task["state"], "starting", "{held}");
    assert!(
        task["reason"]
            .as_str()
            .is_some_and(|r| r.contains("swarm task")),
        "{held}"
    );
    assert_eq!(
        try_get(http, "waiting.swarm", "/").await.map(|r| r.0),
        Some(503),
        "its route answers 503, not 404"
    );
    // VIP mode: the service's virtual IP is its one server (the kernel here has no IPVS, so
    // it is checked through the API, not with requests).
    let vip_addr = docker(&[
        "service",
        "inspect",
        &vip,
        "--format",
        "{{range .Endpoint.VirtualIPs}}{{.Addr}} {{end}}",
    ]);
    let vip_ip = vip_addr
        .split_whitespace()
        .next()
        .and_then(|a| a.split('/').next())
        .unwrap_or_default()
        .to_string();
    let backends = docker_api["backends"].to_string();
    assert!(
        backends.contains(&format!("http://{vip_ip}:80")),
        "VIP {vip_ip} of {vip}: {backends}"
    );
    // Each server says what it is: a task on its node, or the service's VIP.
    let node = docker(&["info", "--format", "{{.Name}}"]);
    assert!(
        backends.contains(&format!(
            "\"origin\":{{\"kind\":\"task\",\"name\":\"{web}.1\",\"node\":\"{node}\"}}"
        )),
        "{backends}"
    );
    assert!(
        backends.contains(&format!(
            "\"origin\":{{\"kind\":\"service\",\"name\":\"{vip}\"}}"
        )),
        "{backends}"
    );

    // Scale up: the new tasks answer within a second or so of running.
    docker(&["service", "scale", "-d", &format!("{web}=5")]);
    let started = Instant::now();
    until_served_by(http, "web.swarm", 5).await;
    eprintln!(
        "scaled 3 → 5: all five answered after {:?}",
        started.elapsed()
    );

    // Rolling updates (stop-first, the default, then start-first) and a scale-down, under
    // load: nothing fails.
    let load = Load::start(http, "web.swarm", 100, 4, Duration::from_secs(90));
    // Off the runtime's thread, so the load keeps running while the CLI waits.
    let w = web.clone();
    tokio::task::spawn_blocking(move || {
        docker(&["service", "update", "--detach=false", "-q", "--force", &w]);
        docker(&[
            "service",
            "update",
            "--detach=false",
            "-q",
            "--force",
            "--update-order",
            "start-first",
            &w,
        ]);
        docker(&["service", "scale", "--detach=false", &format!("{w}=2")]);
    })
    .await
    .expect("update and scale");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = load.finish().await;
    assert!(report.total > 200, "load ran: {}", report.total);
    assert!(
        report.failures.is_empty(),
        "{} of {} failed: {:?}\n{}",
        report.failures.len(),
        report.total,
        &report.failures[..report.failures.len().min(10)],
        s.portier_log()
    );
    eprintln!(
        "update --force (stop-first, start-first) and scale 5 → 2 under 100 requests/s: {} requests, 0 failed, p99 {:?}",
        report.total,
        report.p99()
    );
    assert_eq!(hostnames(http, "web.swarm", 8).await.len(), 2);
}

#[tokio::test]
async fn swarm_routes_outlive_a_lost_engine_and_catch_up_after() {
    let mut s = Swarm::new("swarm_link");
    // Traefik 3's spelling throughout: `--providers.swarm.*` flags and 3.x service labels.
    let web = s.service(
        "web",
        &[
            "traefik.http.routers.link.rule=Host(`link.swarm`)",
            "traefik.http.services.link.loadbalancer.server.port=80",
        ],
        &["--replicas", "2"],
    );
    // The engine behind a link the test can cut (the one fault it cannot cause otherwise).
    let mut link = EngineLink::start_on(&s.host_gateway()).await;
    let network = s.network.clone();
    let (http, _) = s.portier(
        binary(),
        &[
            "--entrypoints.web.address=:80",
            &format!("--providers.swarm.endpoint=tcp://{}", link.addr),
            &format!("--providers.swarm.network={network}"),
            "--providers.swarm.refreshSeconds=30",
        ],
    );
    until_served_by(http, "link.swarm", 2).await;

    link.cut();
    let w = web.clone();
    tokio::task::spawn_blocking(move || {
        docker(&["service", "scale", "--detach=false", &format!("{w}=3")]);
    })
    .await
    .expect("scale");
    assert_eq!(
        hostnames(http, "link.swarm", 8).await.len(),
        2,
        "the last routes are kept while the engine is away\n{}",
        s.portier_log()
    );

    link.restore().await;
    let started = Instant::now();
    until_served_by(http, "link.swarm", 3).await;
    eprintln!(
        "engine back: the new task answered after {:?}",
        started.elapsed()
    );
    let log = s.portier_log();
    assert!(log.contains("keeping the last routes"), "{log}");
}
