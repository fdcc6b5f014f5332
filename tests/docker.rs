//! The Docker provider against the real engine: containers started by the tests (from an image
//! the harness builds, no registry), routed by portier within moments.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use support::docker::{Scope, docker, eventually, hostname};
use support::{Portier, get, get_within};

use support::toml::HTTP;
const WAIT: Duration = Duration::from_secs(10);

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Sends `n` requests for `host` + `path` and returns the hostnames that answered.
async fn answers(p: &Portier, host: &str, path: &str, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = get(p.http(), host, path).await;
        out.push(if r.status == 200 {
            hostname(&r.text()).unwrap_or_default()
        } else {
            format!("status {}", r.status)
        });
    }
    out
}

#[tokio::test]
async fn the_seed_scenario_step_by_step() {
    let s = Scope::new("seed");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let web = [
        "-l",
        "traefik.backend=webapp",
        "-l",
        "traefik.port=80",
        "-l",
        "traefik.frontend.rule=Host:web.joinc.priv",
    ];
    let a = short(&s.run("web1", &web));
    let b = short(&s.run("web2", &web));

    // Both containers answer, in turn.
    eventually(WAIT, "both web containers in rotation", async || {
        let seen: BTreeSet<String> = answers(&p, "web.joinc.priv", "/", 4)
            .await
            .into_iter()
            .collect();
        (seen == BTreeSet::from([a.clone(), b.clone()])).then_some(())
    })
    .await;
    let turns = answers(&p, "web.joinc.priv", "/", 10).await;
    for pair in turns.windows(2) {
        assert_ne!(
            pair[0], pair[1],
            "weighted round robin alternates: {turns:?}"
        );
    }

    // Two more apps by path, stripped.
    let music = short(&s.run(
        "music",
        &[
            "-l",
            "traefik.backend=musicapp",
            "-l",
            "traefik.port=80",
            "-l",
            "traefik.frontend.rule=PathPrefixStrip:/music",
        ],
    ));
    s.run(
        "photo",
        &[
            "-l",
            "traefik.backend=photoapp",
            "-l",
            "traefik.port=80",
            "-l",
            "traefik.frontend.rule=PathPrefixStrip:/photo",
        ],
    );
    let r = eventually(WAIT, "musicapp routed", async || {
        let r = get(p.http(), "localhost", "/music").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(hostname(&r.text()), Some(music.clone()));
    assert!(r.text().contains("\nGET / HTTP/1.1\n"), "{}", r.text());
    assert!(
        r.text()
            .to_lowercase()
            .contains("x-forwarded-prefix: /music"),
        "{}",
        r.text()
    );
    let r = get(p.http(), "localhost", "/music/1").await;
    assert!(r.text().contains("\nGET /1 HTTP/1.1\n"), "{}", r.text());
    let r = eventually(WAIT, "photoapp routed", async || {
        let r = get(p.http(), "localhost", "/photo/x").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert!(r.text().contains("\nGET /x HTTP/1.1\n"), "{}", r.text());
}

#[tokio::test]
async fn compose_scale_three_then_one() {
    let s = Scope::new("compose");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose/docker-compose.yml");
    s.compose(&file, &["up", "-d", "--scale", "web=3"]);
    let three = eventually(WAIT, "three compose servers", async || {
        let seen: BTreeSet<String> = answers(&p, "compose.local", "/", 6)
            .await
            .into_iter()
            .collect();
        (seen.len() == 3 && seen.iter().all(|h| !h.starts_with("status"))).then_some(seen)
    })
    .await;
    assert_eq!(three.len(), 3);
    // One backend with three servers, one frontend; redis got a default rule but no traefik.port
    // is needed since it exposes one port.
    s.compose(&file, &["up", "-d", "--scale", "web=1"]);
    eventually(WAIT, "back to one server", async || {
        let seen: BTreeSet<String> = answers(&p, "compose.local", "/", 6)
            .await
            .into_iter()
            .collect();
        (seen.len() == 1 && seen.iter().all(|h| !h.starts_with("status"))).then_some(())
    })
    .await;
    s.compose(&file, &["down"]);
}

#[tokio::test]
async fn stop_and_kill_take_a_server_out_before_it_exits() {
    let s = Scope::new("stop");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let labels = [
        "-l",
        "traefik.port=80",
        "-l",
        "traefik.backend=stopper",
        "-l",
        "traefik.frontend.rule=Host:stop.local",
    ];
    // s1 ignores SIGTERM (whoami's IGNORE_SIGTERM), so `docker stop -t 8` keeps it running
    // for 8 s: the server must leave at the stop/kill event, not at `die`.
    let slow = [&labels[..], &["-e", "IGNORE_SIGTERM=1"]].concat();
    let ids: Vec<String> = vec![
        s.run("s1", &slow),
        s.run("s2", &labels),
        s.run("s3", &labels),
    ];
    let names: Vec<String> = ids.iter().map(|i| short(i)).collect();
    eventually(WAIT, "three servers", async || {
        let seen: BTreeSet<String> = answers(&p, "stop.local", "/", 6)
            .await
            .into_iter()
            .collect();
        (seen.len() == 3).then_some(())
    })
    .await;

    let stopping = ids[0].clone();
    let stopper = std::thread::spawn(move || docker(&["stop", "-t", "8", &stopping]));
    eventually(Duration::from_secs(3), "s1 out of rotation", async || {
        let seen = answers(&p, "stop.local", "/", 6).await;
        (!seen.contains(&names[0])).then_some(())
    })
    .await;
    let running = docker(&["inspect", "-f", "{{.State.Running}}", &ids[0]]);
    assert_eq!(
        running, "true",
        "the server left while its container was still running"
    );
    for h in answers(&p, "stop.local", "/", 20).await {
        assert!(
            h == names[1] || h == names[2],
            "only s2 and s3 answer, got {h}"
        );
    }

    docker(&["kill", &ids[1]]);
    eventually(Duration::from_secs(3), "s2 out of rotation", async || {
        let seen = answers(&p, "stop.local", "/", 6).await;
        seen.iter().all(|h| *h == names[2]).then_some(())
    })
    .await;
    let _ = stopper.join();
}

#[tokio::test]
async fn several_exposed_ports_without_traefik_port_is_a_clear_error() {
    let s = Scope::new("ports");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let multi = s.run(
        "multi",
        &[
            "--expose",
            "8080",
            "-l",
            "traefik.frontend.rule=Host:multi.local",
        ],
    );
    let good = short(&s.run("good", &["-l", "traefik.frontend.rule=Host:good.local"]));
    let name = docker(&["inspect", "-f", "{{.Name}}", &multi])
        .trim_start_matches('/')
        .to_string();
    let line = p
        .wait_log(&format!("container {name} label traefik.port: missing, and the container exposes several ports (80, 8080)"), WAIT)
        .await;
    assert!(line.contains("set traefik.port"), "{line}");
    let r = eventually(WAIT, "the good container routed", async || {
        let r = get(p.http(), "good.local", "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(hostname(&r.text()), Some(good));
    assert_eq!(get(p.http(), "multi.local", "/").await.status, 404);
}

#[tokio::test]
async fn enable_labels_and_exposed_by_default() {
    let s = Scope::new("enable");
    let open = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let closed = Portier::start(&format!(
        "{HTTP}{}",
        s.docker_toml("exposedByDefault = false")
    ));
    s.run(
        "off",
        &[
            "-l",
            "traefik.enable=false",
            "-l",
            "traefik.frontend.rule=Host:off.local",
        ],
    );
    s.run("plain", &["-l", "traefik.frontend.rule=Host:plain.local"]);
    s.run(
        "on",
        &[
            "-l",
            "traefik.enable=true",
            "-l",
            "traefik.frontend.rule=Host:on.local",
        ],
    );
    for (p, host) in [
        (&open, "plain.local"),
        (&open, "on.local"),
        (&closed, "on.local"),
    ] {
        eventually(WAIT, &format!("{host} routed"), async || {
            (get(p.http(), host, "/").await.status == 200).then_some(())
        })
        .await;
    }
    assert_eq!(
        get(open.http(), "off.local", "/").await.status,
        404,
        "traefik.enable=false"
    );
    assert_eq!(
        get(closed.http(), "plain.local", "/").await.status,
        404,
        "exposedByDefault=false"
    );
    assert_eq!(get(closed.http(), "off.local", "/").await.status, 404);
}

#[tokio::test]
async fn a_healthcheck_container_joins_only_when_healthy() {
    let s = Scope::new("health");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let id = s.run_image(
        "hc",
        support::docker::HEALTH_IMAGE,
        &[
            "-e",
            "HEALTHY=0",
            "-l",
            "traefik.frontend.rule=Host:hc.local",
        ],
    );
    // Known to portier but not healthy: 503, not a confusing 404.
    let r = eventually(WAIT, "503 while not healthy", async || {
        let r = get(p.http(), "hc.local", "/").await;
        (r.status == 503).then_some(r)
    })
    .await;
    assert_eq!(r.text(), "Service Unavailable");
    docker(&["exec", &id, "/whoami", "up"]);
    let r = eventually(WAIT, "200 once healthy", async || {
        let r = get(p.http(), "hc.local", "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(hostname(&r.text()), Some(short(&id)));
    docker(&["exec", &id, "/whoami", "down"]);
    eventually(WAIT, "503 again once unhealthy", async || {
        (get(p.http(), "hc.local", "/").await.status == 503).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_paused_container_is_not_routed() {
    let s = Scope::new("pause");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let id = s.run("p", &["-l", "traefik.frontend.rule=Host:pause.local"]);
    eventually(WAIT, "routed", async || {
        (get(p.http(), "pause.local", "/").await.status == 200).then_some(())
    })
    .await;
    docker(&["pause", &id]);
    // A request racing the pause event may reach the frozen container and wait: bound each try.
    eventually(WAIT, "503 while paused", async || {
        get_within(p.http(), "pause.local", "/", Duration::from_secs(1))
            .await
            .filter(|r| r.status == 503)
            .map(|_| ())
    })
    .await;
    docker(&["unpause", &id]);
    eventually(WAIT, "routed again", async || {
        (get(p.http(), "pause.local", "/").await.status == 200).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_missing_engine_does_not_stop_portier() {
    let backend = support::Backend::spawn("file").await;
    let cfg = format!(
        "{HTTP}[docker]\nendpoint = \"unix:///nonexistent/docker.sock\"\n[file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:file.local\"\n",
        backend.url()
    );
    let p = Portier::start(&cfg);
    assert_eq!(get(p.http(), "file.local", "/").await.echo().name, "file");
    let line = p
        .wait_log(
            "cannot connect to the Docker engine at unix:///nonexistent/docker.sock",
            WAIT,
        )
        .await;
    assert!(line.contains("retrying"), "{line}");
    assert_eq!(
        p.count_log("cannot connect to the Docker engine"),
        1,
        "logged once per state change"
    );
}

// Multi-threaded: the engine link runs on this runtime while `Portier::start` blocks a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_lost_and_back_keeps_routes_then_resyncs() {
    let s = Scope::new("reconnect");
    let mut link = support::docker::EngineLink::start().await;
    let cfg = format!(
        "{HTTP}[docker]\nendpoint = \"tcp://{}\"\nconstraints = [\"tag=={}\"]\n",
        link.addr, s.tag
    );
    let p = Portier::start(&cfg);
    s.run("a", &["-l", "traefik.frontend.rule=Host:a.local"]);
    eventually(WAIT, "a routed", async || {
        (get(p.http(), "a.local", "/").await.status == 200).then_some(())
    })
    .await;

    link.cut();
    p.wait_log("keeping the last routes and retrying", WAIT)
        .await;
    s.run("b", &["-l", "traefik.frontend.rule=Host:b.local"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        get(p.http(), "a.local", "/").await.status,
        200,
        "the last routes stay while the engine is away"
    );
    assert_eq!(
        get(p.http(), "b.local", "/").await.status,
        404,
        "no events while away"
    );

    link.restore().await;
    eventually(
        Duration::from_secs(15),
        "b routed after the resync",
        async || (get(p.http(), "b.local", "/").await.status == 200).then_some(()),
    )
    .await;
    assert_eq!(
        p.count_log("keeping the last routes and retrying"),
        1,
        "the loss is logged once"
    );
    assert_eq!(
        p.count_log("docker provider: connected"),
        2,
        "connected, then connected again"
    );
}

#[tokio::test]
async fn a_container_that_never_answers_gets_504_and_others_keep_flowing() {
    let s = Scope::new("hang");
    let p = Portier::start(&format!(
        "{HTTP}[forwardingTimeouts]\nresponseHeaderTimeout = \"1s\"\n{}",
        s.docker_toml("")
    ));
    s.run("h", &["-l", "traefik.frontend.rule=Host:hang.local"]);
    eventually(WAIT, "routed", async || {
        (get(p.http(), "hang.local", "/").await.status == 200).then_some(())
    })
    .await;
    let addr = p.http();
    let started = std::time::Instant::now();
    let stuck = tokio::spawn(async move { get(addr, "hang.local", "/slow/60000").await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..10 {
        assert_eq!(
            get(p.http(), "hang.local", "/").await.status,
            200,
            "other requests keep flowing"
        );
    }
    let r = stuck.await.expect("task");
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (504, "Gateway Timeout")
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "504 after {took:?}"
    );
}

#[tokio::test]
async fn with_no_configuration_file_labelled_containers_are_routed() {
    let s = Scope::new("defaults");
    // Only the port moves (as a user without root would); everything else is assumed.
    let p = Portier::start_without_config(
        &["--web.address", "127.0.0.1:0"],
        &[("PORTIER_HTTP_PORT", "0")],
    );
    assert!(p.web.is_some(), "the dashboard is on");
    let log = p.log_lines().join("\n");
    for said in [
        "running on defaults",
        "entrypoint http on :0 (from PORTIER_HTTP_PORT)",
        "docker provider on unix:///var/run/docker.sock",
        "default rule Host:<container>.docker.localhost",
    ] {
        assert!(log.contains(said), "start-up log lacks {said:?}:\n{log}");
    }
    let id = s.run("app", &[]);
    // The default rule: Host:<container name>.docker.localhost.
    let host = format!("{}-app.docker.localhost", s.tag);
    let r = eventually(
        WAIT,
        "the container routed by its default rule",
        async || {
            let r = get(p.http(), &host, "/").await;
            (r.status == 200).then_some(r)
        },
    )
    .await;
    assert_eq!(hostname(&r.text()), Some(short(&id)));
}

#[tokio::test]
async fn stickiness_labels_keep_a_client_on_its_container() {
    use sha1::{Digest, Sha1};
    let s = Scope::new("sticky");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let backend = format!("{}-web", s.tag);
    let labels = [
        "-l",
        "traefik.frontend.rule=Host:sticky.local",
        "-l",
        &format!("traefik.backend={backend}"),
        "-l",
        "traefik.backend.loadbalancer.stickiness=true",
        "-l",
        "traefik.backend.loadbalancer.stickiness.secure=true",
    ];
    s.run("one", &labels);
    s.run("two", &labels);
    let two = eventually(WAIT, "both containers", async || {
        let seen: BTreeSet<String> = answers(&p, "sticky.local", "/", 4)
            .await
            .into_iter()
            .collect();
        (seen.len() == 2 && seen.iter().all(|h| !h.starts_with("status"))).then_some(seen)
    })
    .await;
    assert_eq!(two.len(), 2);
    // Traefik's cookie name: `_` and 5 hex digits of SHA-1("_TRAEFIK_BACKEND_" + backend).
    let digest = Sha1::digest(format!("_TRAEFIK_BACKEND_backend-{backend}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let name = format!("_{}", &hex[..5]);
    let first = get(p.http(), "sticky.local", "/").await;
    let set = first.headers["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(set.starts_with(&format!("{name}=http://")), "{set}");
    assert!(set.ends_with("; Path=/; Secure"), "{set}");
    let host = hostname(&first.text()).expect("hostname");
    let cookie = set.split(';').next().unwrap_or_default().to_string();
    for _ in 0..6 {
        let r = support::send(
            p.http(),
            "GET",
            "sticky.local",
            "/",
            &[("cookie", &cookie)],
            support::TestBody::empty(),
        )
        .await;
        assert_eq!(hostname(&r.text()).as_deref(), Some(host.as_str()));
        assert!(r.headers.get("set-cookie").is_none());
    }
}

#[tokio::test]
async fn error_page_labels_serve_pages_from_another_container() {
    let s = Scope::new("errpages");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let pages = format!("{}-pages", s.tag);
    let pages_id = short(&s.run(
        "pages",
        &[
            "-l",
            "traefik.frontend.rule=Host:pages.local",
            "-l",
            &format!("traefik.backend={pages}"),
        ],
    ));
    s.run(
        "app",
        &[
            "-l",
            "traefik.frontend.rule=Host:app.local",
            "-l",
            "traefik.frontend.errors.down.status=500-599",
            "-l",
            &format!("traefik.frontend.errors.down.backend={pages}"),
            "-l",
            "traefik.frontend.errors.down.query=/{status}.html",
        ],
    );
    for host in ["app.local", "pages.local"] {
        eventually(WAIT, &format!("{host} routed"), async || {
            (get(p.http(), host, "/").await.status == 200).then_some(())
        })
        .await;
    }
    assert_eq!(get(p.http(), "app.local", "/health/down").await.status, 200);
    let r = get(p.http(), "app.local", "/health").await;
    assert_eq!(r.status, 503, "the app's status is kept");
    let text = r.text();
    assert_eq!(hostname(&text), Some(pages_id), "{text}");
    assert!(text.contains("GET /503.html"), "{text}");
}

#[tokio::test]
async fn a_circuit_breaker_label_trips_on_server_errors() {
    let s = Scope::new("breaker");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let id = s.run(
        "app",
        &[
            "-l",
            "traefik.frontend.rule=Host:cb.local",
            "-l",
            "traefik.backend.circuitbreaker.expression=ResponseCodeRatio(500, 600, 0, 600) > 0.25",
        ],
    );
    // A request that reaches the container before it listens is a 502, which the breaker counts
    // (as Traefik's does): it would trip before the test starts. Under load (CI) that happened.
    support::docker::listening(id.trim(), 80).await;
    eventually(WAIT, "cb.local routed", async || {
        (get(p.http(), "cb.local", "/").await.status == 200).then_some(())
    })
    .await;
    // The container starts answering 503 to /health: the breaker trips, and then even / gets
    // portier's 503 without reaching the container.
    assert_eq!(get(p.http(), "cb.local", "/health/down").await.status, 200);
    eventually(WAIT, "the breaker tripped", async || {
        let _ = get(p.http(), "cb.local", "/health").await;
        let r = get(p.http(), "cb.local", "/").await;
        (r.status == 503 && r.text() == "Service Unavailable").then_some(())
    })
    .await;
}

#[tokio::test]
async fn buffering_labels_limit_request_bodies() {
    let s = Scope::new("buffering");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    s.run(
        "app",
        &[
            "-l",
            "traefik.frontend.rule=Host:buf.local",
            "-l",
            "traefik.backend.buffering.maxRequestBodyBytes=100",
        ],
    );
    eventually(WAIT, "buf.local routed", async || {
        (get(p.http(), "buf.local", "/").await.status == 200).then_some(())
    })
    .await;
    let small = support::send(
        p.http(),
        "POST",
        "buf.local",
        "/",
        &[],
        support::TestBody::text("x".repeat(50)),
    )
    .await;
    assert_eq!(small.status, 200);
    assert!(
        small
            .text()
            .to_ascii_lowercase()
            .contains("content-length: 50"),
        "{}",
        small.text()
    );
    let big = support::send(
        p.http(),
        "POST",
        "buf.local",
        "/",
        &[],
        support::TestBody::text("x".repeat(101)),
    )
    .await;
    assert_eq!(big.status, 413);
}

#[test]
fn the_test_backend_stops_at_once_on_sigterm() {
    // whoami is PID 1 in its container: without a handler SIGTERM would do nothing and
    // `docker stop` would wait its 10 s before SIGKILL, on every scale-down.
    let s = Scope::new("sigterm");
    let id = s.run("term", &[]);
    let started = std::time::Instant::now();
    docker(&["stop", "-t", "10", &id]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "docker stop took {took:?}");
    let code = docker(&["inspect", "-f", "{{.State.ExitCode}}", &id]);
    assert_eq!(code.trim(), "0", "whoami exits 0 on SIGTERM");
}

#[tokio::test]
async fn a_traefik_1_7_compose_setup_with_segments_routes_unchanged() {
    // Traefik 1.7's command line as its docs write it (plus loopback addresses and this
    // test's constraint), and a compose file of labelled services, one with two segments.
    let s = Scope::new("compose17");
    let constraint = format!("--docker.constraints=tag=={}", s.tag);
    let p = Portier::start_without_config(
        &[
            "--api",
            "--docker",
            "--docker.domain=docker.localhost",
            "--logLevel=DEBUG",
            "--entryPoints=Name:http Address:127.0.0.1:0",
            "--web.address=127.0.0.1:0",
            &constraint,
        ],
        &[],
    );
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose/traefik-1.7.yml");
    s.compose(&file, &["up", "-d"]);
    eventually(WAIT, "three routes", async || {
        let a = get(p.http(), "whoami.docker.localhost", "/").await.status;
        let b = get(p.http(), "multi.docker.localhost", "/").await.status;
        let c = get(p.http(), "admin.docker.localhost", "/").await.status;
        (a == 200 && b == 200 && c == 401).then_some(())
    })
    .await;
    // The admin segment is its own backend, on the container's second port.
    let auth = "Basic dGVzdDp0ZXN0"; // test:test
    let r = support::send(
        p.http(),
        "GET",
        "admin.docker.localhost",
        "/where",
        &[("authorization", auth)],
        support::TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let web = get(p.http(), "multi.docker.localhost", "/").await;
    assert_eq!(
        hostname(&r.text()),
        hostname(&web.text()),
        "one container, two segments"
    );
    let api: serde_json::Value = serde_json::from_slice(
        &get(p.web.expect("web"), "localhost", "/api/providers/docker")
            .await
            .body,
    )
    .expect("json");
    let names: Vec<&String> = api["frontends"]
        .as_object()
        .expect("frontends")
        .keys()
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        names.iter().any(|n| n.starts_with("frontend-admin-multi-")),
        "{names:?}"
    );
    let admin_urls: Vec<&str> = api["backends"]
        .as_object()
        .expect("backends")
        .iter()
        .filter(|(name, _)| name.starts_with("backend-multi-") && name.ends_with("-admin"))
        .flat_map(|(_, b)| b["servers"].as_object().into_iter().flatten())
        .filter_map(|(_, s)| s["url"].as_str())
        .collect();
    assert!(
        admin_urls.len() == 1 && admin_urls[0].ends_with(":8080"),
        "{admin_urls:?}"
    );
    s.compose(&file, &["down", "-t", "1"]);
}

#[tokio::test]
async fn use_bind_port_ip_routes_to_the_published_address() {
    let s = Scope::new("bindport");
    let web = "[web]\naddress = \"127.0.0.1:0\"\n";
    let p = Portier::start(&format!(
        "{HTTP}{web}{}",
        s.docker_toml("useBindPortIP = true")
    ));
    let id = s.run(
        "b",
        &[
            "-p",
            "127.0.0.1::80",
            "-l",
            "traefik.frontend.rule=Host:bind.local",
        ],
    );
    let published = docker(&["port", &id, "80/tcp"]);
    let published = published
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(published.starts_with("127.0.0.1:"), "{published}");
    eventually(WAIT, "routed", async || {
        (get(p.http(), "bind.local", "/").await.status == 200).then_some(())
    })
    .await;
    let api = get(p.web.expect("web"), "x", "/api/providers/docker/backends").await;
    assert!(
        api.text().contains(&format!("\"http://{published}\"")),
        "the server is the published address {published}: {}",
        api.text()
    );
}
