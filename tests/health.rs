//! Active health checks and graceful shutdown.

mod support;

use std::time::{Duration, Instant};

use support::toml::Toml;
use support::{Backend, Portier, get};

fn config(a: &Backend, b: &Backend) -> String {
    Toml::http()
        .web()
        .raw("[file]\n[backends.web.healthCheck]\npath = \"/health\"\ninterval = \"200ms\"")
        .server("web", "a", a)
        .server("web", "b", b)
        .frontend("f", "web", "Host:hc.local")
        .build()
}

async fn names(p: &Portier, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = get(p.http(), "hc.local", "/").await;
        out.push(if r.status == 200 {
            r.echo().name
        } else {
            format!("status {}", r.status)
        });
    }
    out
}

async fn until(what: &str, limit: Duration, mut ok: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ok().await {
        assert!(
            started.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

#[tokio::test]
async fn a_failing_health_check_takes_a_server_out_and_a_passing_one_brings_it_back() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(&a, &b));
    until(
        "both servers in rotation",
        Duration::from_secs(3),
        async || {
            let n = names(&p, 4).await;
            n.contains(&"a".to_string()) && n.contains(&"b".to_string())
        },
    )
    .await;

    a.set_healthy(false);
    // Out within one interval (200 ms) plus the probe timeout (200 ms here), with some slack.
    let took = until(
        "a out of rotation",
        Duration::from_millis(1000),
        async || !names(&p, 4).await.contains(&"a".to_string()),
    )
    .await;
    eprintln!("server left {took:?} after its health check started failing");
    assert!(names(&p, 20).await.iter().all(|n| n == "b"));
    let line = p
        .wait_log("is down: status 503", Duration::from_secs(1))
        .await;
    assert!(line.contains(&a.url()), "{line}");
    let api: serde_json::Value = serde_json::from_slice(
        &get(
            p.web.expect("web"),
            "localhost",
            "/api/providers/file/backends/web/servers/a",
        )
        .await
        .body,
    )
    .expect("json");
    assert_eq!(api["status"], "down");
    assert!(
        api["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("status 503")),
        "{api}"
    );
    let metrics = get(p.web.expect("web"), "localhost", "/metrics")
        .await
        .text();
    assert!(
        metrics.contains(&format!(
            "portier_backend_server_up{{provider=\"file\",backend=\"web\",url=\"{}\"}} 0",
            a.url()
        )),
        "{metrics}"
    );

    b.set_healthy(false);
    until(
        "503 with every server down",
        Duration::from_secs(1),
        async || get(p.http(), "hc.local", "/").await.status == 503,
    )
    .await;

    a.set_healthy(true);
    b.set_healthy(true);
    until("a back in rotation", Duration::from_secs(1), async || {
        names(&p, 4).await.contains(&"a".to_string())
    })
    .await;
    p.wait_log("is up again", Duration::from_secs(1)).await;
    assert_eq!(p.count_log("is down"), 2, "logged once per change");
}

#[tokio::test]
async fn a_new_server_under_a_health_check_waits_for_its_first_probe() {
    let a = Backend::spawn("a").await;
    a.set_healthy(false);
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(&a, &b));
    // a never passed a check, so it never takes traffic.
    until("b answering", Duration::from_secs(2), async || {
        get(p.http(), "hc.local", "/").await.status == 200
    })
    .await;
    assert!(names(&p, 20).await.iter().all(|n| n == "b"));
    // Down from the start: one WARN that names it, not one per probe (200 ms apart).
    let line = p
        .wait_log("is down from the start", Duration::from_secs(2))
        .await;
    assert!(line.contains("WARN") && line.contains(&a.url()), "{line}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(p.count_log("is down"), 1, "logged once");
    a.set_healthy(true);
    p.wait_log(&format!("{} is up (", a.url()), Duration::from_secs(2))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_streamed_response_finish_then_exits_0() {
    let a = Backend::spawn("stream").await;
    let cfg = format!(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[web]\naddress = \"127.0.0.1:0\"\n[file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:stream.local\"\n",
        a.url()
    );
    let p = Portier::start(&cfg);
    let addr = p.http();
    let started = Instant::now();
    let download = tokio::spawn(async move { get(addr, "stream.local", "/stream/5").await });
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let pid = p.pid();
    let web = p.web.expect("web");
    let waiter = std::thread::spawn(move || p.terminate());
    until(
        "/ping says 503 while draining",
        Duration::from_secs(2),
        async || get(web, "localhost", "/ping").await.status == 503,
    )
    .await;
    let reply = download.await.expect("download task");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.text().lines().count(),
        50,
        "the whole 5 s stream arrived"
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    let status = waiter.join().expect("terminate");
    assert_eq!(
        status.code(),
        Some(0),
        "portier {pid} exits 0 after draining"
    );
}

/// `[lifeCycle] requestAcceptGraceTimeout`: after SIGTERM, requests are still served for that
/// long while `/ping` says 503 (so a load balancer stops sending first), then portier drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_accept_grace_timeout_keeps_serving_after_sigterm() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::http()
        .web()
        .raw("[lifeCycle]\nrequestAcceptGraceTimeout = \"2s\"\n[file]")
        .server("web", "a", &a)
        .frontend("f", "web", "Host:grace.local")
        .build();
    let p = Portier::start(&cfg);
    let (addr, web) = (p.http(), p.web.expect("web"));
    let waiter = std::thread::spawn(move || p.terminate());
    until("/ping says 503", Duration::from_secs(2), async || {
        get(web, "localhost", "/ping").await.status == 503
    })
    .await;
    let reply = get(addr, "grace.local", "/").await;
    assert_eq!(reply.status, 200, "still accepting during the grace period");
    let status = waiter.join().expect("terminate");
    assert!(status.success(), "{status:?}");
}
