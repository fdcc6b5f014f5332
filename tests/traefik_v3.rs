//! Traefik 2.x/3.x labels on the real engine: routers, services and middlewares as compose
//! files write them, beside 1.x-labelled containers in the same portier.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use support::docker::{Scope, eventually, hostname};
use support::toml::HTTP;
use support::{Portier, TestBody, get, send};

const WAIT: Duration = Duration::from_secs(10);
/// `test:test`, as htpasswd writes it.
const APR1_TEST: &str = "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/";
const BASIC_TEST: &str = "Basic dGVzdDp0ZXN0";

fn lower(text: &str) -> String {
    text.to_lowercase()
}

#[tokio::test]
async fn both_generations_side_by_side_with_v3_middlewares() {
    let s = Scope::new("v3-side");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let users = format!("traefik.http.middlewares.auth.basicauth.users={APR1_TEST}");
    let v3 = [
        "-l",
        "traefik.http.routers.api.rule=Host(`v3.local`) && (PathPrefix(`/api`) || PathPrefix(`/v1`))",
        "-l",
        "traefik.http.routers.api.middlewares=strip,auth",
        "-l",
        "traefik.http.middlewares.strip.stripprefix.prefixes=/api,/v1",
        "-l",
        &users,
        "-l",
        "traefik.http.services.api.loadbalancer.server.port=80",
    ];
    s.run("new", &v3);
    s.run(
        "old",
        &[
            "-l",
            "traefik.frontend.rule=Host:v1.local",
            "-l",
            "traefik.port=80",
        ],
    );
    // A router whose middleware does not exist is never served without it: 503, not 404 or
    // its service.
    s.run(
        "broken",
        &[
            "-l",
            "traefik.http.routers.broken.rule=Host(`broken.local`)",
            "-l",
            "traefik.http.routers.broken.middlewares=missing",
        ],
    );

    let r = eventually(WAIT, "the 1.x container routed", async || {
        let r = get(p.http(), "v1.local", "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert!(hostname(&r.text()).is_some());
    let r = eventually(WAIT, "the 3.x router guarded by basic auth", async || {
        let r = get(p.http(), "v3.local", "/api/x").await;
        (r.status == 401).then_some(r)
    })
    .await;
    assert_eq!(r.status, 401);
    let auth = [("authorization", BASIC_TEST)];
    let r = send(
        p.http(),
        "GET",
        "v3.local",
        "/api/x",
        &auth,
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("\nGET /x HTTP/1.1\n"), "{}", r.text());
    assert!(
        lower(&r.text()).contains("x-forwarded-prefix: /api"),
        "{}",
        r.text()
    );
    let r = send(
        p.http(),
        "GET",
        "v3.local",
        "/v1/y",
        &auth,
        TestBody::empty(),
    )
    .await;
    assert!(r.text().contains("\nGET /y HTTP/1.1\n"), "{}", r.text());
    // Outside the rule: nothing matches.
    let r = get(p.http(), "v3.local", "/other").await;
    assert_eq!(r.status, 404);
    let r = eventually(WAIT, "the broken router answering 503", async || {
        let r = get(p.http(), "broken.local", "/").await;
        (r.status == 503).then_some(r)
    })
    .await;
    assert_eq!(r.status, 503);

    // A second replica joins the same service.
    s.run("new2", &v3);
    eventually(WAIT, "two servers behind the 3.x service", async || {
        let mut seen = BTreeSet::new();
        for _ in 0..6 {
            let r = send(
                p.http(),
                "GET",
                "v3.local",
                "/api/",
                &auth,
                TestBody::empty(),
            )
            .await;
            seen.insert(hostname(&r.text()).unwrap_or_default());
        }
        (seen.len() == 2 && !seen.contains("")).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_traefik_v3_compose_file_runs_unchanged() {
    let s = Scope::new("v3-compose");
    let p = Portier::start(&format!("{HTTP}{}", s.docker_toml("")));
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose/traefik-v3.yml");
    s.compose(&file, &["up", "-d", "--scale", "whoami=2"]);
    let seen = eventually(WAIT, "two whoami replicas behind one router", async || {
        let mut seen = BTreeSet::new();
        for _ in 0..6 {
            let r = get(p.http(), "whoami.localhost", "/api/hello").await;
            if r.status != 200 {
                return None;
            }
            seen.insert(hostname(&r.text())?);
        }
        (seen.len() == 2).then_some(seen)
    })
    .await;
    assert_eq!(seen.len(), 2);
    let r = get(p.http(), "whoami.localhost", "/api/hello").await;
    let text = r.text();
    assert!(text.contains("\nGET /hello HTTP/1.1\n"), "{text}");
    assert!(
        lower(&text).contains("x-generation: v3"),
        "the chain's headers: {text}"
    );
    assert_eq!(
        r.headers.get("x-frame-options").map(|v| v.as_bytes()),
        Some(&b"DENY"[..]),
        "the chain's secure headers"
    );
    // Traefik's default rule for a compose service without router labels.
    let plain = format!("plain-{}", s.tag);
    let r = eventually(WAIT, "the default rule", async || {
        let r = get(p.http(), &plain, "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert!(hostname(&r.text()).is_some());
    s.compose(&file, &["down"]);
}

#[tokio::test]
async fn a_yaml_file_and_labels_share_middlewares() {
    let s = Scope::new("v3-file");
    let api = support::Backend::spawn("api").await;
    let dynamic = format!(
        "\
http:
  routers:
    files:
      rule: Host(`files.local`) || Host(`files.example`)
      service: files-svc
      middlewares: [from-file]
  services:
    files-svc:
      loadBalancer:
        servers:
          - url: {}
  middlewares:
    from-file:
      headers:
        customRequestHeaders:
          X-From: file
    auth:
      basicAuth:
        users:
          - \"{APR1_TEST}\"
",
        api.url()
    );
    let toml = format!(
        "{HTTP}[file]\nfilename = \"dynamic.yml\"\nwatch = true\n{}",
        s.docker_toml("")
    );
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    let r = eventually(WAIT, "the file's router", async || {
        let r = get(p.http(), "files.example", "/x").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(r.echo().header("x-from"), Some("file"));
    s.run(
        "guarded",
        &[
            "-l",
            "traefik.http.routers.guarded.rule=Host(`labels.local`)",
            "-l",
            "traefik.http.routers.guarded.middlewares=auth@file",
        ],
    );
    eventually(
        WAIT,
        "the label router guarded by the file's auth",
        async || {
            let r = get(p.http(), "labels.local", "/").await;
            (r.status == 401).then_some(())
        },
    )
    .await;
    let auth = [("authorization", BASIC_TEST)];
    let r = send(
        p.http(),
        "GET",
        "labels.local",
        "/",
        &auth,
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(hostname(&r.text()).is_some());

    // The file changes: its middleware goes, and the router that names it answers 503.
    p.write("dynamic.yml", &dynamic.replace("    auth:", "    other:"));
    eventually(
        WAIT,
        "a missing middleware keeps the router closed",
        async || {
            let r = send(
                p.http(),
                "GET",
                "labels.local",
                "/",
                &auth,
                TestBody::empty(),
            )
            .await;
            (r.status == 503).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_traefik_yml_with_labels_and_a_dynamic_file() {
    let s = Scope::new("v3-yml");
    let yml = format!(
        "\
entryPoints:
  http:
    address: 127.0.0.1:0
  traefik:
    address: 127.0.0.1:0
providers:
  docker:
    exposedByDefault: false
    constraints: Label(`portier-test`, `{tag}`)
  file:
    filename: dynamic.yml
api:
  insecure: true
log:
  level: INFO
",
        tag = s.tag
    );
    let dynamic = "\
http:
  middlewares:
    via:
      headers:
        customResponseHeaders:
          X-Via: portier
";
    let p = Portier::start_named("traefik.yml", &yml, &[("dynamic.yml", dynamic)], &[]);
    // Only traefik.enable: the default rule, Host(`<container name>`).
    let plain = s.run("plain", &["-l", "traefik.enable=true"]);
    let plain_host = format!("{}-plain", s.tag);
    s.run(
        "routed",
        &[
            "-l",
            "traefik.enable=true",
            "-l",
            "traefik.http.routers.routed.rule=Host(`routed.local`)",
            "-l",
            "traefik.http.routers.routed.entrypoints=http",
            "-l",
            "traefik.http.routers.routed.middlewares=via@file",
        ],
    );
    // Not enabled: exposedByDefault is false.
    s.run(
        "hidden",
        &[
            "-l",
            "traefik.http.routers.hidden.rule=Host(`hidden.local`)",
        ],
    );
    let r = eventually(WAIT, "the default rule", async || {
        let r = get(p.http(), &plain_host, "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(hostname(&r.text()), Some(plain.chars().take(12).collect()));
    let r = eventually(WAIT, "the labelled router", async || {
        let r = get(p.http(), "routed.local", "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    assert_eq!(
        r.headers.get("x-via").map(|v| v.as_bytes()),
        Some(&b"portier"[..])
    );
    let r = get(p.http(), "hidden.local", "/").await;
    assert_eq!(r.status, 404, "not enabled");

    // The API in Traefik 2/3's shapes, on the traefik entrypoint (api.insecure).
    let web = p.entry_point("traefik");
    let json = |r: support::Reply| -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
    };
    let router = json(get(web, "localhost", "/api/http/routers/routed@docker").await);
    assert_eq!(router["rule"], "Host(`routed.local`)");
    assert_eq!(router["middlewares"], serde_json::json!(["via@file"]));
    // No service label: the container's own service, named after it.
    let own = format!("{}-routed@docker", s.tag);
    assert_eq!(router["service"], own.as_str());
    assert_eq!(router["status"], "enabled");
    let routers = json(get(web, "localhost", "/api/http/routers").await);
    let names: Vec<&str> = (routers.as_array().into_iter().flatten())
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&format!("{plain_host}@docker").as_str()),
        "{names:?}"
    );
    let via = json(get(web, "localhost", "/api/http/middlewares/via@file").await);
    assert_eq!(via["type"], "headers");
    assert_eq!(via["usedBy"], serde_json::json!(["routed@docker"]));
    assert_eq!(via["headers"]["customResponseHeaders"]["X-Via"], "portier");
    let service = json(get(web, "localhost", &format!("/api/http/services/{own}")).await);
    assert_eq!(service["usedBy"], serde_json::json!(["routed@docker"]));
    let servers = service["serverStatus"].as_object().expect("server status");
    assert_eq!(
        servers.values().collect::<Vec<_>>(),
        [&serde_json::json!("UP")]
    );
    let eps = json(get(web, "localhost", "/api/entrypoints").await);
    assert_eq!(eps.as_array().map(Vec::len), Some(2));
    let raw = json(get(web, "localhost", "/api/rawdata").await);
    assert!(raw["routers"]["routed@docker"].is_object(), "{raw}");
    assert!(raw["middlewares"]["via@file"].is_object(), "{raw}");
    assert_eq!(
        get(web, "localhost", "/api/http/routers/nope@docker")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn a_weighted_canary_in_a_toml_dynamic_file() {
    let stable = support::Backend::spawn("stable").await;
    let canary = support::Backend::spawn("canary").await;
    let dynamic = format!(
        r#"
[http.routers.shop]
rule = "Host(`shop.local`)"
service = "shop"

[http.services.shop.weighted]
[[http.services.shop.weighted.services]]
name = "shop-stable"
weight = 3
[[http.services.shop.weighted.services]]
name = "shop-canary"
weight = 1

[[http.services.shop-stable.loadBalancer.servers]]
url = "{}"
[[http.services.shop-canary.loadBalancer.servers]]
url = "{}"
"#,
        stable.url(),
        canary.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.toml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.toml", &dynamic)], &[]);
    eventually(WAIT, "the weighted router", async || {
        (get(p.http(), "shop.local", "/").await.status == 200).then_some(())
    })
    .await;
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..40 {
        let r = get(p.http(), "shop.local", "/").await;
        *counts.entry(r.echo().name).or_insert(0) += 1;
    }
    assert_eq!(counts.get("stable"), Some(&30), "{counts:?}");
    assert_eq!(counts.get("canary"), Some(&10), "{counts:?}");
}

#[tokio::test]
async fn failover_and_mirroring_services_in_a_yaml_dynamic_file() {
    let main = support::Backend::spawn("main").await;
    let backup = support::Backend::spawn("backup").await;
    let live = support::Backend::spawn("live").await;
    let copy = support::Backend::spawn("copy").await;
    let dynamic = format!(
        "\
http:
  routers:
    shop:
      rule: Host(`shop.local`)
      service: shop
    mirrored:
      rule: Host(`mirror.local`)
      service: mirrored
  services:
    shop:
      failover:
        service: main
        fallback: backup
    main:
      loadBalancer:
        healthCheck:
          path: /health
          interval: 100ms
        servers:
          - url: {}
    backup:
      loadBalancer:
        servers:
          - url: {}
    mirrored:
      mirroring:
        service: live
        mirrors:
          - name: copy
            percent: 50
    live:
      loadBalancer:
        servers:
          - url: {}
    copy:
      loadBalancer:
        servers:
          - url: {}
",
        main.url(),
        backup.url(),
        live.url(),
        copy.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.yml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    let answered_by = async |host: &str| {
        let r = get(p.http(), host, "/").await;
        (r.status == 200).then(|| r.echo().name)
    };
    eventually(
        WAIT,
        "the failover answers from its main service",
        async || (answered_by("shop.local").await.as_deref() == Some("main")).then_some(()),
    )
    .await;
    // The main service's health check fails: the fallback takes over, and gives back.
    main.set_healthy(false);
    eventually(WAIT, "the fallback answers", async || {
        (answered_by("shop.local").await.as_deref() == Some("backup")).then_some(())
    })
    .await;
    main.set_healthy(true);
    eventually(WAIT, "the main service answers again", async || {
        (answered_by("shop.local").await.as_deref() == Some("main")).then_some(())
    })
    .await;

    // Mirroring: every request is answered by `live`; every second one is copied, with its
    // body, to `copy`, whose answers never reach the client.
    for _ in 0..10 {
        let r = send(
            p.http(),
            "POST",
            "mirror.local",
            "/upload",
            &[],
            TestBody::text("x".repeat(100)),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.text()), (200, "100".to_string()));
    }
    let uploads = |b: &support::Backend| b.seen().iter().filter(|s| *s == "upload 100").count();
    assert_eq!(uploads(&live), 10, "{:?}", live.seen());
    eventually(WAIT, "five copies reach the mirror", async || {
        (uploads(&copy) == 5).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        uploads(&copy),
        5,
        "no more than its share: {:?}",
        copy.seen()
    );
    assert!(
        copy.seen()
            .iter()
            .all(|s| s == "POST /upload" || s == "upload 100"),
        "{:?}",
        copy.seen()
    );
}

#[tokio::test]
async fn backend_middlewares_from_a_file_run_on_the_router() {
    let api = support::Backend::spawn("api").await;
    let dynamic = format!(
        "\
http:
  routers:
    upload:
      rule: Host(`upload.local`)
      service: api
      middlewares: [small]
    open:
      rule: Host(`open.local`)
      service: api
  middlewares:
    small:
      buffering:
        maxRequestBodyBytes: 10
  services:
    api:
      loadBalancer:
        servers:
          - url: {}
",
        api.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.yml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    eventually(WAIT, "both routers", async || {
        let a = get(p.http(), "upload.local", "/").await.status == 200;
        let b = get(p.http(), "open.local", "/").await.status == 200;
        (a && b).then_some(())
    })
    .await;
    let big = "x".repeat(100);
    let r = send(
        p.http(),
        "POST",
        "upload.local",
        "/upload",
        &[],
        TestBody::text(big.clone()),
    )
    .await;
    assert_eq!(
        r.status,
        413,
        "buffering's limit on its router: {}",
        r.text()
    );
    let r = send(
        p.http(),
        "POST",
        "open.local",
        "/upload",
        &[],
        TestBody::text(big),
    )
    .await;
    assert_eq!(r.status, 200, "the same service without it: {}", r.text());
}

/// `portier migrate` writes a traefik.yml that portier (and Traefik 3) reads back as the same
/// configuration, and labels that route the same way.
#[test]
fn migrate_prints_a_traefik_v3_configuration_that_reads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = dir.path().join("traefik.toml");
    std::fs::write(
        &v1,
        "defaultEntryPoints = [\"http\", \"https\"]\n\
         [entryPoints.http]\naddress = \":8000\"\n[entryPoints.http.redirect]\nentryPoint = \"https\"\n\
         [entryPoints.https]\naddress = \":8443\"\n[entryPoints.https.tls]\n\
         [entryPoints.https.forwardedHeaders]\ntrustedIPs = [\"10.0.0.0/8\"]\n\
         [docker]\nendpoint = \"unix:///var/run/docker.sock\"\ndomain = \"example.com\"\nexposedByDefault = false\n\
         constraints = [\"tag==public\"]\n\
         [file]\nfilename = \"rules.toml\"\n\
         [api]\ndashboard = true\n[ping]\n\
         [accessLog]\nfilePath = \"access.log\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("rules.toml"), "").expect("rules");
    let out = std::process::Command::new(support::binary())
        .args(["migrate", "-c"])
        .arg(&v1)
        .output()
        .expect("run migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yml = String::from_utf8_lossy(&out.stdout).to_string();
    for want in [
        "  http:\n    address: \":8000\"",
        "      redirections:\n        entryPoint:\n          to: https",
        "    forwardedHeaders:\n      trustedIPs: [\"10.0.0.0/8\"]",
        "    defaultRule: \"Host(`{{ normalize .Name }}.example.com`)\"",
        "    exposedByDefault: false",
        "LabelRegex(`traefik.tags`",
        "api:\n  insecure: true",
    ] {
        assert!(yml.contains(want), "{want:?} not in\n{yml}");
    }
    let v3 = dir.path().join("traefik.yml");
    std::fs::write(&v3, &yml).expect("write yml");
    let (code, stdout, stderr) = support::check(&v3);
    assert_eq!(code, 0, "{stdout}\n{stderr}\n{yml}");
    assert!(stdout.contains("http :8000"), "{stdout}");
    assert!(stdout.contains("https :8443"), "{stdout}");

    // Labels, from `docker inspect`'s KEY=VALUE lines on standard input.
    let mut child = std::process::Command::new(support::binary())
        .args(["migrate", "--labels", "--name", "shop"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run migrate --labels");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(
            b"traefik.frontend.rule=Host:shop.local;PathPrefixStrip:/api\ntraefik.port=8080\n",
        )
        .expect("write labels");
    let out = child.wait_with_output().expect("migrate output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("traefik.http.routers.shop.rule=Host(`shop.local`) && PathPrefix(`/api`)"),
        "{text}"
    );
    assert!(
        text.contains("traefik.http.middlewares.shop-stripprefix.stripprefix.prefixes=/api"),
        "{text}"
    );
}

#[tokio::test]
async fn compress_and_retry_middlewares_apply_to_their_router_only() {
    let alive = support::Backend::spawn("alive").await;
    // A port nothing listens on: connections are refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let dynamic = format!(
        "\
http:
  routers:
    zipped:
      rule: Host(`zipped.local`)
      service: plain
      middlewares: [zip]
    gzip-only:
      rule: Host(`gzip-only.local`)
      service: plain
      middlewares: [gzip-only]
    plain:
      rule: Host(`plain.local`)
      service: plain
    once:
      rule: Host(`once.local`)
      service: pair-a
      middlewares: [once]
    retried:
      rule: Host(`retried.local`)
      service: pair-b
  middlewares:
    zip:
      compress: {{}}
    gzip-only:
      compress:
        encodings: [gzip]
        defaultEncoding: gzip
        minResponseBodyBytes: 6000
    once:
      retry:
        attempts: 1
        initialInterval: 50ms
  services:
    plain:
      loadBalancer:
        servers: [{{ url: {alive} }}]
    pair-a:
      loadBalancer:
        servers: [{{ url: http://{dead} }}, {{ url: {alive} }}]
    pair-b:
      loadBalancer:
        servers: [{{ url: http://{dead} }}, {{ url: {alive} }}]
",
        alive = alive.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.yml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    eventually(WAIT, "the routers", async || {
        (get(p.http(), "plain.local", "/").await.status == 200).then_some(())
    })
    .await;
    let gzip = [("accept-encoding", "gzip")];
    let r = send(
        p.http(),
        "GET",
        "zipped.local",
        "/download/5000",
        &gzip,
        TestBody::empty(),
    )
    .await;
    assert_eq!(
        r.headers.get("content-encoding").map(|v| v.as_bytes()),
        Some(&b"gzip"[..]),
        "the compress middleware's router"
    );
    let r = send(
        p.http(),
        "GET",
        "plain.local",
        "/download/5000",
        &gzip,
        TestBody::empty(),
    )
    .await;
    assert_eq!(
        r.headers.get("content-encoding"),
        None,
        "the same service without it"
    );
    // Options: gzip only (brotli asked for, gzip given), the default for clients naming none,
    // and a larger threshold.
    let encoding = async |path: &str, headers: &[(&str, &str)]| {
        let r = send(
            p.http(),
            "GET",
            "gzip-only.local",
            path,
            headers,
            TestBody::empty(),
        )
        .await;
        (r.headers.get("content-encoding"))
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let br = [("accept-encoding", "br")];
    let both = [("accept-encoding", "br, gzip;q=0.5")];
    assert_eq!(
        encoding("/download/7000", &both).await.as_deref(),
        Some("gzip")
    );
    assert_eq!(encoding("/download/7000", &br).await, None);
    assert_eq!(
        encoding("/download/7000", &[]).await.as_deref(),
        Some("gzip")
    );
    // A body of known length under the threshold is sent as it is (the echo, ~300 bytes).
    assert_eq!(encoding("/", &both).await, None, "under 6000 bytes");
    // The first server is down: with one attempt the answer is the failure; with portier's
    // default retries, the next server answers.
    let r = get(p.http(), "once.local", "/").await;
    assert_eq!(r.status, 502, "retry.attempts=1: {}", r.text());
    let r = get(p.http(), "retried.local", "/").await;
    assert_eq!(r.status, 200, "default retries: {}", r.text());
}

/// `entryPoints.NAME.http.middlewares` run on every router served there (before its own), and
/// `contentType` types answers that came without a `Content-Type`.
#[tokio::test]
async fn entrypoint_middlewares_and_content_type_sniffing() {
    let api = support::Backend::spawn("api").await;
    let yml = "\
entryPoints:
  web:
    address: 127.0.0.1:0
  guarded:
    address: 127.0.0.1:0
    http:
      middlewares:
        - auth@file
providers:
  file:
    filename: dynamic.yml
";
    let dynamic = format!(
        "\
http:
  routers:
    app:
      rule: Host(`app.local`)
      service: app
    typed:
      rule: Host(`typed.local`)
      service: app
      middlewares: [sniff]
  middlewares:
    auth:
      basicAuth:
        usersFile: users.htpasswd
        realm: portier-test
    sniff:
      contentType: {{}}
  services:
    app:
      loadBalancer:
        servers:
          - url: {}
",
        api.url()
    );
    let users = format!("# htpasswd\n{APR1_TEST}\n");
    let p = Portier::start_named(
        "traefik.yml",
        yml,
        &[("dynamic.yml", &dynamic), ("users.htpasswd", &users)],
        &[],
    );
    let web = p.entry_point("web");
    let guarded = p.entry_point("guarded");
    eventually(WAIT, "the router on web", async || {
        (get(web, "app.local", "/").await.status == 200).then_some(())
    })
    .await;
    // The same router on `guarded` runs the entrypoint's auth first (users from its
    // usersFile, challenged in its realm).
    let r = get(guarded, "app.local", "/").await;
    assert_eq!(r.status, 401, "{}: {:?}", r.text(), p.log_lines());
    assert_eq!(
        r.headers.get("www-authenticate").map(|v| v.as_bytes()),
        Some(&b"Basic realm=\"portier-test\""[..])
    );
    let r = send(
        guarded,
        "GET",
        "app.local",
        "/",
        &[("authorization", BASIC_TEST)],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let content_type = |r: &support::Reply| {
        (r.headers.get("content-type")).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    // `/status/200` answers `status 200` without a Content-Type.
    let r = get(web, "app.local", "/status/200").await;
    assert_eq!((r.status.as_u16(), content_type(&r)), (200, None));
    let r = get(web, "typed.local", "/status/200").await;
    assert_eq!(r.text(), "status 200");
    assert_eq!(
        content_type(&r).as_deref(),
        Some("text/plain; charset=utf-8"),
        "sniffed as Go's DetectContentType does"
    );
    // A type the server sent is left alone.
    let r = get(web, "typed.local", "/typed").await;
    assert_eq!(r.text(), "<html>typed");
    assert_eq!(content_type(&r).as_deref(), Some("application/x-test"));
}

/// Traefik 3's forwardAuth options on a real auth server: the request's headers filtered, the
/// client's method kept, answer headers copied by regex, a 401 sent to the sign-in page.
#[tokio::test]
async fn forward_auth_with_traefik_3_options() {
    let api = support::Backend::spawn("api").await;
    let dynamic = format!(
        "\
http:
  routers:
    app:
      rule: Host(`app.local`)
      service: app
      middlewares: [sso]
  middlewares:
    sso:
      forwardAuth:
        address: {}/auth
        authRequestHeaders: [X-Token]
        authResponseHeadersRegex: ^X-Auth-
        preserveRequestMethod: true
        authSigninURL: https://sso.test/login
  services:
    app:
      loadBalancer:
        servers:
          - url: {}
",
        api.url(),
        api.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.yml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    let r = eventually(WAIT, "the sign-in redirect", async || {
        let r = get(p.http(), "app.local", "/").await;
        (r.status == 302).then_some(r)
    })
    .await;
    assert_eq!(
        r.headers.get("location").map(|v| v.as_bytes()),
        Some(&b"https://sso.test/login"[..])
    );
    let r = send(
        p.http(),
        "POST",
        "app.local",
        "/x",
        &[("x-token", "good"), ("x-auth-user", "mallory")],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let echo = r.echo();
    assert_eq!(echo.header("x-auth-user"), Some("alice"));
    assert_eq!(
        echo.header("x-auth-server"),
        Some("yes"),
        "matched by the regex"
    );
    let seen = echo.header("x-auth-seen").unwrap_or_default();
    assert!(
        seen.starts_with("POST method=POST uri=/x host=app.local"),
        "{seen}"
    );
}

/// Health check options of Traefik 3: the status that means healthy, the method, the timeout.
#[tokio::test]
async fn health_check_status_method_and_timeout() {
    let api = support::Backend::spawn("api").await;
    let dynamic = format!(
        "\
http:
  routers:
    teapot:
      rule: Host(`teapot.local`)
      service: teapot
    plain:
      rule: Host(`plain.local`)
      service: plain
  services:
    teapot:
      loadBalancer:
        healthCheck:
          path: /status/418
          status: 418
          method: HEAD
          timeout: 2s
          interval: 100ms
        servers:
          - url: {url}
    plain:
      loadBalancer:
        healthCheck:
          path: /status/418
          interval: 100ms
        servers:
          - url: {url}
",
        url = api.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.yml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    eventually(WAIT, "418 is healthy where the check says so", async || {
        (get(p.http(), "teapot.local", "/").await.status == 200).then_some(())
    })
    .await;
    // The same answer without `status` is a failing check: no server, 503.
    assert_eq!(get(p.http(), "plain.local", "/").await.status, 503);
    let seen = api.seen();
    assert!(seen.iter().any(|s| s == "HEAD /status/418"), "{seen:?}");
}

fn pem(names: &[&str]) -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("cert");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

/// A traefik.yml TLS entrypoint serving the certificates of a dynamic file (by SNI, and the
/// default store's default), picked up again when the file changes.
#[tokio::test]
async fn dynamic_file_certificates_are_served_by_sni() {
    use hyper_util::rt::TokioIo;
    let api = support::Backend::spawn("api").await;
    let (shop_cert, shop_key) = pem(&["shop.test"]);
    let (d_cert, d_key) = pem(&["default.test"]);
    let (n_cert, n_key) = pem(&["new.test"]);
    let yml = "\
entryPoints:
  websecure:
    address: 127.0.0.1:0
    http:
      tls: {}
providers:
  file:
    filename: dynamic.yml
";
    let dynamic = |extra: &str| {
        format!(
            "\
tls:
  certificates:
    - certFile: shop.crt
      keyFile: shop.key
{extra}  stores:
    default:
      defaultCertificate:
        certFile: d.crt
        keyFile: d.key
http:
  routers:
    shop:
      rule: Host(`shop.test`)
      service: api
      tls: {{}}
    inherited:
      rule: Host(`shop.test`) && Path(`/inherited`)
      service: api
  services:
    api:
      loadBalancer:
        servers:
          - url: {}
",
            api.url()
        )
    };
    let p = Portier::start_named(
        "traefik.yml",
        yml,
        &[
            ("dynamic.yml", &dynamic("")),
            ("shop.crt", &shop_cert),
            ("shop.key", &shop_key),
            ("d.crt", &d_cert),
            ("d.key", &d_key),
            ("n.crt", &n_cert),
            ("n.key", &n_key),
        ],
        &[],
    );
    let addr = p.entry_point("websecure");
    let names = eventually(WAIT, "the file's certificate by SNI", async || {
        let (_, names) = support::tls::connect(addr, "shop.test", &[]).await;
        (names == ["shop.test"]).then_some(names)
    })
    .await;
    assert_eq!(names, ["shop.test"]);
    let (_, names) = support::tls::connect(addr, "other.test", &[]).await;
    assert_eq!(names, ["default.test"], "the default store's certificate");

    // The router has tls: it answers on the TLS entrypoint.
    let (tls, _) = support::tls::connect(addr, "shop.test", &[b"http/1.1"]).await;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls.expect("tls")))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("/x")
        .header("host", "shop.test")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    assert_eq!(
        sender.send_request(req).await.expect("response").status(),
        200
    );
    // A router without tls on an entrypoint with http.tls takes the entrypoint's (Traefik).
    let req = http::Request::get("/inherited")
        .header("host", "shop.test")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let resp = sender.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);

    // A certificate added to the file is served without a restart.
    p.write(
        "dynamic.yml",
        &dynamic("    - certFile: n.crt\n      keyFile: n.key\n"),
    );
    eventually(WAIT, "the new certificate", async || {
        let (_, names) = support::tls::connect(addr, "new.test", &[]).await;
        (names == ["new.test"]).then_some(())
    })
    .await;
}

/// CORS from a headers middleware: preflights answered by portier, the allowed origin echoed.
#[tokio::test]
async fn cors_preflights_are_answered_and_origins_echoed() {
    let api = support::Backend::spawn("api").await;
    let dynamic = format!(
        "\
http:
  routers:
    api:
      rule: Host(`api.local`)
      service: api
      middlewares: [cors]
  middlewares:
    cors:
      headers:
        accessControlAllowMethods: [GET, POST]
        accessControlAllowHeaders: [Content-Type]
        accessControlAllowOriginList: [https://app.example]
        accessControlMaxAge: 100
        addVaryHeader: true
  services:
    api:
      loadBalancer:
        servers: [{{ url: {} }}]
",
        api.url()
    );
    let toml = format!("{HTTP}[file]\nfilename = \"dynamic.yml\"\n");
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    eventually(WAIT, "the router", async || {
        (get(p.http(), "api.local", "/").await.status == 200).then_some(())
    })
    .await;
    let h = |r: &support::Reply, n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let pre = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "POST"),
    ];
    let r = send(
        p.http(),
        "OPTIONS",
        "api.local",
        "/x",
        &pre,
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body.is_empty(),
        "answered by portier, not the backend: {}",
        r.text()
    );
    assert_eq!(
        h(&r, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    assert_eq!(
        h(&r, "access-control-allow-methods").as_deref(),
        Some("GET,POST")
    );
    assert_eq!(
        h(&r, "access-control-allow-headers").as_deref(),
        Some("Content-Type")
    );
    assert_eq!(h(&r, "access-control-max-age").as_deref(), Some("100"));
    let r = send(
        p.http(),
        "GET",
        "api.local",
        "/x",
        &[("origin", "https://app.example")],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.echo().path, "/x");
    assert_eq!(
        h(&r, "access-control-allow-origin").as_deref(),
        Some("https://app.example")
    );
    assert_eq!(h(&r, "vary").as_deref(), Some("Origin"));
    let r = send(
        p.http(),
        "GET",
        "api.local",
        "/x",
        &[("origin", "https://evil.example")],
        TestBody::empty(),
    )
    .await;
    assert_eq!(
        h(&r, "access-control-allow-origin"),
        None,
        "an origin not listed"
    );
}

/// `ipStrategy`: behind a trusted proxy, the allowlist reads the client from X-Forwarded-For.
#[tokio::test]
async fn ip_allow_list_with_an_ip_strategy_reads_x_forwarded_for() {
    let api = support::Backend::spawn("api").await;
    let dynamic = format!(
        "\
http:
  routers:
    api:
      rule: Host(`api.local`)
      service: api
      middlewares: [office]
    hidden:
      rule: Host(`hidden.local`)
      service: api
      middlewares: [hide]
  middlewares:
    office:
      ipAllowList:
        sourceRange: [203.0.113.0/24]
        ipStrategy:
          depth: 1
    hide:
      ipAllowList:
        sourceRange: [192.0.2.0/24]
        rejectStatusCode: 404
  services:
    api:
      loadBalancer:
        servers: [{{ url: {} }}]
",
        api.url()
    );
    let toml = format!(
        "{HTTP}[entryPoints.http.forwardedHeaders]\ntrustedIPs = [\"127.0.0.1\"]\n[file]\nfilename = \"dynamic.yml\"\n"
    );
    let p = Portier::start_with(&toml, &[("dynamic.yml", &dynamic)], &[]);
    let allowed = [("x-forwarded-for", "10.9.9.9, 203.0.113.7")];
    eventually(WAIT, "the router", async || {
        let r = send(
            p.http(),
            "GET",
            "api.local",
            "/",
            &allowed,
            TestBody::empty(),
        )
        .await;
        (r.status == 200).then_some(())
    })
    .await;
    let refused = [("x-forwarded-for", "203.0.113.7, 10.9.9.9")];
    let r = send(
        p.http(),
        "GET",
        "api.local",
        "/",
        &refused,
        TestBody::empty(),
    )
    .await;
    assert_eq!(
        r.status, 403,
        "the nearest address is the client at depth 1"
    );
    let r = get(p.http(), "api.local", "/").await;
    assert_eq!(r.status, 403, "no X-Forwarded-For: no client address");
    let r = get(p.http(), "hidden.local", "/").await;
    assert_eq!(r.status, 404, "rejectStatusCode");
}

/// The secure-dashboard setup of Traefik's docs: the API only through a router to
/// `api@internal`, behind basic auth; no insecure port.
#[tokio::test]
async fn the_api_through_a_router_to_api_internal_behind_auth() {
    let yml = "\
entryPoints:
  web:
    address: 127.0.0.1:0
api:
  dashboard: true
providers:
  file:
    filename: dynamic.yml
";
    let dynamic = format!(
        "\
http:
  routers:
    dashboard:
      rule: Host(`traefik.local`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))
      service: api@internal
      middlewares: [auth]
    to-https:
      rule: Host(`secure.local`)
      service: noop@internal
      middlewares: [https]
    nothing:
      rule: Host(`nothing.local`)
      service: noop@internal
    health:
      rule: Host(`ping.local`)
      service: ping@internal
    metrics:
      rule: Host(`metrics.local`)
      service: prometheus@internal
  middlewares:
    auth:
      basicAuth:
        users: [\"{APR1_TEST}\"]
    https:
      redirectScheme:
        scheme: https
        permanent: true
"
    );
    let p = Portier::start_named("traefik.yml", yml, &[("dynamic.yml", &dynamic)], &[]);
    let web = p.entry_point("web");
    eventually(
        WAIT,
        "the dashboard router asking for credentials",
        async || (get(web, "traefik.local", "/api/overview").await.status == 401).then_some(()),
    )
    .await;
    let auth = [("authorization", BASIC_TEST)];
    let r = send(
        web,
        "GET",
        "traefik.local",
        "/api/http/routers/dashboard@file",
        &auth,
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(v["service"], "api@internal");
    assert_eq!(v["status"], "enabled", "{v}");
    let r = send(
        web,
        "GET",
        "traefik.local",
        "/dashboard/",
        &auth,
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("portier"), "the dashboard page");
    // Outside the router's rule, nothing.
    assert_eq!(get(web, "traefik.local", "/other").await.status, 404);
    assert!(p.web.is_none(), "no insecure API port");
    // noop@internal: the catch-all redirect router of Traefik's docs; alone, 418.
    let r = get(web, "secure.local", "/a?b=1").await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.headers.get("location").map(|v| v.as_bytes()),
        Some(&b"https://secure.local/a?b=1"[..])
    );
    assert_eq!(get(web, "nothing.local", "/").await.status, 418);
    // ping@internal and prometheus@internal, whatever the path.
    let r = get(web, "ping.local", "/anything").await;
    assert_eq!(
        (r.status.as_u16(), r.text().trim().to_string()),
        (200, "OK".to_string())
    );
    let r = get(web, "metrics.local", "/").await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("portier_config_reloads_total"),
        "{}",
        r.text()
    );
}
