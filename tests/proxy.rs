//! End-to-end tests of the core proxy: a real portier process, real backends, real sockets.

mod support;

use std::time::Duration;

use support::toml::Toml;
use support::{Backend, Portier, TestBody, get, send, wait_file_lines};

#[tokio::test]
async fn routes_by_host_and_by_path() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let cfg = Toml::file()
        .backend("ba", &[(&a, 1)])
        .backend("bb", &[(&b, 1)])
        .frontends(&[("fa", "ba", "Host:a.local"), ("fb", "bb", "PathPrefix:/b")])
        .build();
    let p = Portier::start(&cfg);
    assert_eq!(get(p.http(), "a.local", "/x").await.echo().name, "a");
    assert_eq!(
        get(p.http(), "A.LOCAL:8080", "/x").await.echo().name,
        "a",
        "host is case-insensitive, port ignored"
    );
    assert_eq!(get(p.http(), "other", "/b/1").await.echo().name, "b");
    let miss = get(p.http(), "other", "/x").await;
    assert_eq!(miss.status, 404);
    assert_eq!(miss.text(), "404 page not found\n");
    assert_eq!(miss.headers["content-type"], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn path_prefix_strip_as_in_the_seed() {
    let music = Backend::spawn("musicapp").await;
    let photo = Backend::spawn("photoapp").await;
    let cfg = Toml::file()
        .backend("musicapp", &[(&music, 1)])
        .backend("photoapp", &[(&photo, 1)])
        .frontends(&[
            ("music", "musicapp", "PathPrefixStrip:/music"),
            ("photo", "photoapp", "PathPrefixStrip:/photo"),
        ])
        .build();
    let p = Portier::start(&cfg);
    let e = get(p.http(), "localhost", "/music").await.echo();
    assert_eq!((e.name.as_str(), e.path.as_str()), ("musicapp", "/"));
    assert_eq!(e.header("x-forwarded-prefix"), Some("/music"));
    let e = get(p.http(), "localhost", "/music/1?x=2").await.echo();
    assert_eq!(e.path, "/1?x=2");
    let e = get(p.http(), "localhost", "/photo/a/b").await.echo();
    assert_eq!((e.name.as_str(), e.path.as_str()), ("photoapp", "/a/b"));
}

#[tokio::test]
async fn priority_explicit_then_rule_length() {
    let a = Backend::spawn("long").await;
    let b = Backend::spawn("short").await;
    let c = Backend::spawn("pinned").await;
    let cfg = Toml::file()
            .backend("ba", &[(&a, 1)])
            .backend("bb", &[(&b, 1)])
            .backend("bc", &[(&c, 1)])
            .frontends(&[
            ("long", "ba", "PathPrefix:/api/v1"),
            ("short", "bb", "PathPrefix:/api")
        ])
            .raw("[frontends.pinned]\nbackend = \"bc\"\npriority = 100\n[frontends.pinned.routes.r]\nrule = \"PathPrefix:/\"\n")
            .build();
    let p = Portier::start(&cfg);
    // The explicit priority 100 beats both length-based priorities (18 and 14).
    assert_eq!(get(p.http(), "h", "/api/v1/x").await.echo().name, "pinned");
    let cfg2 = cfg.replace("priority = 100", "priority = 1");
    std::fs::write(&p.config, &cfg2).expect("write");
    drop(p);
    let p = Portier::start(&cfg2);
    assert_eq!(get(p.http(), "h", "/api/v1/x").await.echo().name, "long");
    assert_eq!(get(p.http(), "h", "/api/x").await.echo().name, "short");
    assert_eq!(get(p.http(), "h", "/other").await.echo().name, "pinned");
}

#[tokio::test]
async fn weighted_round_robin_across_servers() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let c = Backend::spawn("c").await;
    let d = Backend::spawn("d").await;
    let cfg = Toml::file()
        .backend("weighted", &[(&a, 3), (&b, 1)])
        .backend("equal", &[(&c, 1), (&d, 1)])
        .frontends(&[
            ("w", "weighted", "Host:w.local"),
            ("e", "equal", "Host:e.local"),
        ])
        .build();
    let p = Portier::start(&cfg);
    let mut counts = std::collections::BTreeMap::new();
    for _ in 0..400 {
        *counts
            .entry(get(p.http(), "w.local", "/").await.echo().name)
            .or_insert(0) += 1;
    }
    assert_eq!(counts.get("a"), Some(&300), "{counts:?}");
    assert_eq!(counts.get("b"), Some(&100), "{counts:?}");
    let mut last = String::new();
    for _ in 0..50 {
        let name = get(p.http(), "e.local", "/").await.echo().name;
        assert_ne!(name, last, "equal weights alternate");
        last = name;
    }
}

#[tokio::test]
async fn status_codes_for_missing_unreachable_and_slow_servers() {
    let slow = Backend::spawn("slow").await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let cfg = Toml::http()
        .raw("[forwardingTimeouts]\nresponseHeaderTimeout = \"500ms\"\n[file]")
        .raw("[backends.empty.loadBalancer]\nmethod = \"wrr\"")
        .raw(&format!(
            "[backends.down.servers.s]\nurl = \"http://{closed}\""
        ))
        .backend("slow", &[(&slow, 1)])
        .frontends(&[
            ("e", "empty", "Host:empty.local"),
            ("d", "down", "Host:down.local"),
            ("s", "slow", "Host:slow.local"),
        ])
        .build();
    let p = Portier::start(&cfg);
    let r = get(p.http(), "empty.local", "/").await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (503, "Service Unavailable")
    );
    let r = get(p.http(), "down.local", "/").await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (502, "Bad Gateway"));
    let started = std::time::Instant::now();
    let r = get(p.http(), "slow.local", "/slow/3000").await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (504, "Gateway Timeout")
    );
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "504 after the 500 ms timeout, not the 3 s answer"
    );
    assert_eq!(
        get(p.http(), "slow.local", "/slow/10").await.text(),
        "slow slow"
    );
}

#[tokio::test]
async fn twenty_mib_bodies_stream_without_growing_memory() {
    let big = Backend::spawn("big").await;
    let cfg = Toml::file()
        .backend("big", &[(&big, 1)])
        .frontends(&[("f", "big", "Host:big.local")])
        .build();
    let p = Portier::start(&cfg);
    const SIZE: u64 = 20 * 1024 * 1024;
    // Warm up the pools and allocator so the baseline is fair.
    get(p.http(), "big.local", "/download/65536").await;
    let (_, peak_before) = p.memory_kib();
    let r = get(p.http(), "big.local", &format!("/download/{SIZE}")).await;
    assert_eq!(r.body.len() as u64, SIZE);
    let r = send(
        p.http(),
        "POST",
        "big.local",
        "/upload",
        &[],
        TestBody::streamed(SIZE),
    )
    .await;
    assert_eq!(r.text(), SIZE.to_string());
    let (_, peak_after) = p.memory_kib();
    let grown_kib = peak_after.saturating_sub(peak_before);
    eprintln!("portier peak RSS before {peak_before} KiB, after 2 x 20 MiB {peak_after} KiB");
    assert!(
        grown_kib < 4 * 1024,
        "peak RSS grew by {grown_kib} KiB for 20 MiB bodies: something buffers"
    );
}

#[tokio::test]
async fn forwarded_headers_and_host() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::file()
            .trust_loopback()
            .backend("ba", &[(&a, 1)])
            .frontends(&[("f", "ba", "Host:web.local")])
            .raw("[frontends.nohost]\nbackend = \"ba\"\npassHostHeader = false\n[frontends.nohost.routes.r]\nrule = \"Host:nohost.local\"\n")
            .build();
    let p = Portier::start(&cfg);
    let e = send(
        p.http(),
        "GET",
        "web.local:8080",
        "/",
        &[("x-forwarded-for", "10.0.0.1")],
        TestBody::empty(),
    )
    .await
    .echo();
    assert_eq!(
        e.header("host"),
        Some("web.local:8080"),
        "Host passes through"
    );
    assert_eq!(e.header("x-forwarded-for"), Some("10.0.0.1, 127.0.0.1"));
    assert_eq!(e.header("x-real-ip"), Some("127.0.0.1"));
    assert_eq!(e.header("x-forwarded-proto"), Some("http"));
    assert_eq!(e.header("x-forwarded-host"), Some("web.local:8080"));
    assert_eq!(e.header("x-forwarded-port"), Some("8080"));
    assert!(e.header("x-forwarded-server").is_some());
    let e = get(p.http(), "nohost.local", "/").await.echo();
    assert_eq!(
        e.header("host"),
        Some(a.addr.to_string().as_str()),
        "passHostHeader = false sends the server's address"
    );
    assert_eq!(e.header("x-forwarded-host"), Some("nohost.local"));
}

#[tokio::test]
async fn forwarded_headers_from_untrusted_peers_are_replaced() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::http()
        .raw("[entryPoints.http.forwardedHeaders]\ntrustedIPs = [\"10.0.0.0/8\"]\n[file]")
        .backend("ba", &[(&a, 1)])
        .frontend("f", "ba", "Host:web.local")
        .build();
    let p = Portier::start(&cfg);
    let e = send(
        p.http(),
        "GET",
        "web.local",
        "/",
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
        ],
        TestBody::empty(),
    )
    .await
    .echo();
    assert_eq!(e.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(e.header("x-real-ip"), Some("127.0.0.1"));
    assert_eq!(e.header("x-forwarded-proto"), Some("http"));

    // Without a forwardedHeaders table no peer is trusted (Traefik 2+; 1.x trusted all).
    let cfg = Toml::file()
        .backend("ba", &[(&a, 1)])
        .frontend("f", "ba", "Host:web.local")
        .build();
    let p = Portier::start(&cfg);
    let e = send(
        p.http(),
        "GET",
        "web.local",
        "/",
        &[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-host", "evil.test"),
            ("forwarded", "for=6.6.6.6"),
        ],
        TestBody::empty(),
    )
    .await
    .echo();
    assert_eq!(e.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(e.header("x-forwarded-host"), Some("web.local"));
    assert_eq!(e.header("forwarded"), None);
}

#[tokio::test]
async fn hop_by_hop_headers_are_removed_both_ways() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::file()
        .backend("ba", &[(&a, 1)])
        .frontends(&[("f", "ba", "Host:web.local")])
        .build();
    let p = Portier::start(&cfg);
    let headers = [
        ("connection", "keep-alive, x-custom"),
        ("x-custom", "secret"),
        ("keep-alive", "timeout=5"),
        ("proxy-authorization", "Basic eA=="),
        ("upgrade", "foo"),
        ("x-normal", "kept"),
    ];
    let e = send(
        p.http(),
        "GET",
        "web.local",
        "/",
        &headers,
        TestBody::empty(),
    )
    .await
    .echo();
    for gone in ["x-custom", "keep-alive", "proxy-authorization", "upgrade"] {
        assert_eq!(e.header(gone), None, "{gone} must not reach the backend");
    }
    assert_eq!(e.header("x-normal"), Some("kept"));
    let r = get(p.http(), "web.local", "/hop").await;
    assert_eq!(r.headers.get("x-hop"), None);
    assert_eq!(r.headers.get("proxy-authenticate"), None);
    assert_eq!(r.headers["x-kept"], "yes");
}

/// A watched file nobody writes is read once: reading it (an access event) is not a change.
/// (It used to be read again every 50 ms, forever.)
#[tokio::test]
async fn a_watched_file_that_does_not_change_is_read_once() {
    let a = Backend::spawn("a").await;
    let rules = Toml::default()
        .backend("ba", &[(&a, 1)])
        .frontend("f", "ba", "Host:web.local")
        .build();
    let cfg = "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\nfilename = \"rules.toml\"\nwatch = true\n";
    let p = Portier::start_with(cfg, &[("rules.toml", &rules)], &[]);
    assert_eq!(get(p.http(), "web.local", "/").await.echo().name, "a");
    // Ten debounce periods with nothing written.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        p.count_log("frontends, 1 backends from"),
        1,
        "{}",
        p.log_lines().join("\n")
    );
}

#[tokio::test]
async fn file_provider_watches_and_keeps_the_last_good_config() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let rules = Toml::default()
        .backend("ba", &[(&a, 1)])
        .frontend("f", "ba", "Host:web.local")
        .build();
    let cfg = "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\nfilename = \"rules.toml\"\nwatch = true\n";
    let p = Portier::start_with(cfg, &[("rules.toml", &rules)], &[]);
    assert_eq!(get(p.http(), "web.local", "/").await.echo().name, "a");

    let rules2 = Toml::default()
        .backend("bb", &[(&b, 1)])
        .frontend("f", "bb", "Host:web.local")
        .build();
    p.write("rules.toml", &rules2);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while get(p.http(), "web.local", "/")
        .await
        .text()
        .contains("\"a\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the file change was not applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(p.http(), "web.local", "/").await.echo().name, "b");

    p.write("rules.toml", "[frontends.f]\nbackend = \n");
    let line = p
        .wait_log(
            "keeping the last good configuration",
            Duration::from_secs(5),
        )
        .await;
    assert!(line.contains("rules.toml:2:11"), "{line}");
    assert_eq!(
        get(p.http(), "web.local", "/").await.echo().name,
        "b",
        "the last good config stays"
    );
}

#[tokio::test]
async fn bad_rules_disable_only_their_frontend() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::file()
        .backend("ba", &[(&a, 1)])
        .frontends(&[
            ("good", "ba", "Host:good.local"),
            ("bad", "ba", "Hots:bad.local"),
        ])
        .build();
    let p = Portier::start(&cfg);
    assert_eq!(get(p.http(), "good.local", "/").await.echo().name, "a");
    let line = p.wait_log("unknown matcher", Duration::from_secs(2)).await;
    assert!(
        line.contains("traefik.toml:") && line.contains("frontend bad"),
        "{line}"
    );
}

#[tokio::test]
async fn access_log_in_common_log_format() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::http()
        .raw("[accessLog]\nfilePath = \"access.log\"\n[file]")
        .backend("ba", &[(&a, 1)])
        .frontend("f", "ba", "Host:web.local")
        .build();
    let p = Portier::start_with(&cfg, &[], &[]);
    get(p.http(), "web.local", "/hello?x=1").await;
    get(p.http(), "nowhere", "/missing").await;
    let path = p.dir.path().join("access.log");
    let lines = wait_file_lines(&path, 2, Duration::from_secs(5)).await;
    let first = lines
        .iter()
        .find(|l| l.contains("/hello"))
        .expect("a line for /hello");
    assert!(first.starts_with("127.0.0.1 - - ["), "{first}");
    assert!(
        first.contains("] \"GET /hello?x=1 HTTP/1.1\" 200 "),
        "{first}"
    );
    // Traefik 1.7's BackendURL: the server with the path it was sent.
    assert!(
        first.contains(&format!("\"f\" \"{}/hello?x=1\"", a.url())),
        "{first}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"GET /missing HTTP/1.1\" 404 19 ")),
        "{lines:?}"
    );
}

/// `[accessLog] format = "json"` with Traefik 1.7's fields, filters and field modes; SIGUSR1
/// reopens the file after logrotate moved it.
#[tokio::test]
async fn json_access_log_with_filters_fields_and_reopen() {
    let a = Backend::spawn("a").await;
    let cfg = Toml::http()
        .raw(concat!(
            "[accessLog]\nfilePath = \"logs/access.json\"\nformat = \"json\"\n",
            "[accessLog.filters]\nstatusCodes = [\"200-299\", \"404\"]\n",
            "[accessLog.fields.names]\nStartLocal = \"drop\"\n",
            "[accessLog.fields.headers]\ndefaultMode = \"drop\"\n",
            "[accessLog.fields.headers.names]\n\"User-Agent\" = \"keep\"\nAuthorization = \"redact\"\n",
            "[file]"
        ))
        .backend("ba", &[(&a, 1)])
        .frontend("f", "ba", "Host:web.local")
        .frontend("g", "ba", "Host:teapot.local")
        .build();
    let p = Portier::start_with(&cfg, &[], &[]);
    let headers = [("user-agent", "probe/1"), ("authorization", "Basic eDp5")];
    send(
        p.http(),
        "POST",
        "web.local:8000",
        "/hello?x=1",
        &headers,
        TestBody::text("hello"),
    )
    .await;
    // Filtered out: a 418 is neither 2xx nor 404.
    get(p.http(), "teapot.local", "/status/418").await;
    get(p.http(), "nowhere", "/missing").await;
    let path = p.dir.path().join("logs/access.json");
    let lines = wait_file_lines(&path, 2, Duration::from_secs(5)).await;
    let lines: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert!(
        lines.iter().all(|l| l["DownstreamStatus"] != 418),
        "the filter drops the 418: {lines:?}"
    );
    let ok = lines
        .iter()
        .find(|l| l["RequestPath"] == "/hello?x=1")
        .expect("the /hello line");
    assert_eq!(ok["RequestHost"], "web.local");
    assert_eq!(ok["RequestMethod"], "POST");
    assert_eq!(ok["RequestContentSize"], 5, "{ok}");
    assert_eq!(ok["RequestPort"], "8000");
    assert_eq!(ok["FrontendName"], "f");
    assert_eq!(ok["BackendName"], "ba");
    assert_eq!(ok["OriginStatus"], 200);
    assert_eq!(ok["DownstreamStatus"], 200);
    assert_eq!(ok["RetryAttempts"], 0);
    assert_eq!(ok["level"], "info");
    assert!(
        ok["StartUTC"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{ok}"
    );
    assert!(ok.get("StartLocal").is_none(), "dropped: {ok}");
    let d = ok["Duration"].as_u64().expect("Duration is a number");
    let od = ok["OriginDuration"].as_u64().expect("OriginDuration");
    assert!(d >= od && od > 1000, "nanoseconds: {d} {od}");
    assert_eq!(ok["request_User-Agent"], "probe/1");
    assert_eq!(ok["request_Authorization"], "REDACTED");
    assert!(ok.get("origin_Content-Type").is_none(), "dropped: {ok}");
    let missing = lines
        .iter()
        .find(|l| l["DownstreamStatus"] == 404)
        .expect("the 404 line");
    assert!(
        missing.get("OriginStatus").is_none(),
        "no backend: {missing}"
    );
    assert!(missing.get("BackendName").is_none(), "{missing}");

    // logrotate: move the file away, SIGUSR1, and the next lines go to a new file.
    let rotated = p.dir.path().join("logs/access.json.1");
    std::fs::rename(&path, &rotated).expect("rotate");
    p.signal("USR1");
    p.wait_log("access log: reopened", Duration::from_secs(5))
        .await;
    get(p.http(), "web.local", "/after").await;
    let lines = wait_file_lines(&path, 1, Duration::from_secs(5)).await;
    assert!(lines[0].contains("/after"), "{lines:?}");
    let old = std::fs::read_to_string(&rotated).expect("rotated file");
    assert!(!old.contains("/after"), "{old}");
}

#[tokio::test]
async fn failed_connects_are_retried_on_another_server_with_the_body_intact() {
    let live = Backend::spawn("live").await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let cfg = Toml::file()
        .raw(&format!("[backends.b.servers.a]\nurl = \"http://{dead}\""))
        .raw(&format!("[backends.b.servers.b]\nurl = \"{}\"", live.url()))
        .frontend("f", "b", "Host:retry.local")
        .build();
    let p = Portier::start(&cfg);
    for _ in 0..20 {
        let r = get(p.http(), "retry.local", "/").await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.echo().name, "live");
    }
    // A body that was never sent to the dead server reaches the live one whole.
    for _ in 0..10 {
        let r = send(
            p.http(),
            "POST",
            "retry.local",
            "/upload",
            &[],
            TestBody::streamed(100 * 1024),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.text()), (200, "102400".to_string()));
    }
    let line = p
        .wait_log(
            "retrying GET / on another server (attempt 2/2)",
            Duration::from_secs(2),
        )
        .await;
    assert!(
        line.contains(&format!("http://{dead} sits out 1s")),
        "{line}"
    );
    // Ejected: the dead server is skipped for its cool-down, so retries are rare.
    assert!(p.count_log("retrying") <= 4, "{:#?}", p.log_lines());
}

#[tokio::test]
async fn retry_attempts_one_disables_retries() {
    let live = Backend::spawn("live").await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    let cfg = Toml::http()
        .raw("[retry]\nattempts = 1\n[file]")
        .raw(&format!("[backends.b.servers.a]\nurl = \"http://{dead}\""))
        .raw(&format!("[backends.b.servers.b]\nurl = \"{}\"", live.url()))
        .frontend("f", "b", "Host:retry.local")
        .build();
    let p = Portier::start(&cfg);
    let mut codes = std::collections::BTreeMap::new();
    for _ in 0..6 {
        *codes
            .entry(get(p.http(), "retry.local", "/").await.status.as_u16())
            .or_insert(0) += 1;
    }
    assert!(codes.get(&502).is_some_and(|n| *n >= 1), "{codes:?}");
    assert_eq!(p.count_log("retrying"), 0);
}

#[tokio::test]
async fn paths_are_normalised_before_routing() {
    let music = Backend::spawn("music").await;
    let admin = Backend::spawn("admin").await;
    let cfg = Toml::file()
        .backend("m", &[(&music, 1)])
        .backend("a", &[(&admin, 1)])
        .frontends(&[
            ("music", "m", "PathPrefixStrip:/music"),
            ("admin", "a", "PathPrefix:/admin"),
        ])
        .build();
    let p = Portier::start(&cfg);
    for path in [
        "/music/../admin/x",
        "/music/%2e%2e/admin/x",
        "/music/%2E%2e/admin/x",
        "//admin/x",
    ] {
        let e = get(p.http(), "h", path).await.echo();
        assert_eq!(
            (e.name.as_str(), e.path.as_str()),
            ("admin", "/admin/x"),
            "{path}"
        );
    }
    let e = get(p.http(), "h", "/music/./a//b?q=1").await.echo();
    assert_eq!((e.name.as_str(), e.path.as_str()), ("music", "/a/b?q=1"));
    let r = get(p.http(), "h", "/../../etc/passwd").await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (400, "Bad Request"));
}

/// The sticky cookie of `r` (its `name=value` part), if it sets one.
fn set_cookie(r: &support::Reply) -> Option<String> {
    r.headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

#[tokio::test]
async fn sticky_sessions_keep_a_client_on_its_server_until_it_leaves() {
    let a = Backend::spawn("a").await;
    let b = Backend::spawn("b").await;
    let cfg = Toml::file()
        .backend("sticky", &[(&a, 1), (&b, 1)])
        .backend("old", &[(&a, 1), (&b, 1)])
        .frontends(&[
            ("s", "sticky", "Host:s.local"),
            ("o", "old", "Host:o.local"),
        ])
        .raw(
            "[backends.sticky.loadBalancer.stickiness]\ncookieName = \"stick\"\nhttpOnly = true\nsameSite = \"lax\"\n\
             [backends.sticky.healthCheck]\npath = \"/health\"\ninterval = \"100ms\"\n\
             [backends.old.loadBalancer]\nsticky = true\n",
        )
        .build();
    let p = Portier::start(&cfg);
    // Under an active health check, servers take traffic after their first passing probe.
    let first = support::docker::eventually(Duration::from_secs(5), "a first probe", async || {
        let r = get(p.http(), "s.local", "/").await;
        (r.status == 200).then_some(r)
    })
    .await;
    let name = first.echo().name;
    let url = if name == "a" { a.url() } else { b.url() };
    assert_eq!(
        set_cookie(&first).as_deref(),
        Some(format!("stick={url}; Path=/; HttpOnly; SameSite=Lax").as_str())
    );
    let cookie = format!("other=1; stick={url}");
    let with_cookie = async || {
        send(
            p.http(),
            "GET",
            "s.local",
            "/",
            &[("cookie", &cookie)],
            TestBody::empty(),
        )
        .await
    };
    for _ in 0..6 {
        let r = with_cookie().await;
        assert_eq!(r.echo().name, name, "the cookie's server answers");
        assert_eq!(set_cookie(&r), None, "a valid cookie is not set again");
    }
    // A cookie naming a server the backend does not have: round robin, and a new cookie.
    let stale = [("cookie", "stick=http://127.0.0.1:9")];
    let r = send(p.http(), "GET", "s.local", "/", &stale, TestBody::empty()).await;
    assert!(set_cookie(&r).is_some_and(|c| c.starts_with("stick=http://127.0.0.1:")));
    // The cookie's server fails its health check: the other one answers and takes the cookie.
    let (gone, other) = if name == "a" { (&a, "b") } else { (&b, "a") };
    gone.set_healthy(false);
    let moved =
        support::docker::eventually(Duration::from_secs(5), "the other server", async || {
            let r = with_cookie().await;
            (r.status == 200 && r.echo().name == other).then_some(r)
        })
        .await;
    let other_url = if other == "a" { a.url() } else { b.url() };
    assert!(set_cookie(&moved).is_some_and(|c| c.starts_with(&format!("stick={other_url};"))));
    // The deprecated `sticky = true`: Traefik's `_TRAEFIK_BACKEND` cookie.
    let r = get(p.http(), "o.local", "/").await;
    assert!(
        set_cookie(&r).is_some_and(|c| c.starts_with("_TRAEFIK_BACKEND=http://127.0.0.1:")),
        "{:?}",
        r.headers
    );
}

#[tokio::test]
async fn error_pages_replace_matching_answers_from_another_backend() {
    let app = Backend::spawn("app").await;
    let pages = Backend::spawn("pages").await;
    let cfg = Toml::file()
        .backend("app", &[(&app, 1)])
        .backend("pages", &[(&pages, 1)])
        .web()
        .frontends(&[("f", "app", "Host:f.local"), ("dead", "down", "Host:dead.local")])
        .raw(
            "[backends.down.servers.s]\nurl = \"http://127.0.0.1:9\"\n\
             [frontends.f.errors.e5]\nstatus = [\"500-599\"]\nbackend = \"pages\"\nquery = \"/{status}.html\"\n\
             [frontends.f.errors.nf]\nstatus = [\"404\"]\nbackend = \"pages\"\nquery = \"notfound?from={status}\"\n\
             [frontends.f.errors.lost]\nstatus = [\"401\"]\nbackend = \"nowhere\"\n\
             [frontends.f.errors.bad]\nstatus = [\"5xx\"]\nbackend = \"pages\"\n\
             [frontends.dead.errors.e5]\nstatus = [\"502\"]\nbackend = \"pages\"\nquery = \"/{status}.html\"\n"
        )
        .build();
    let p = Portier::start(&cfg);
    let ask = async |host: &str, path: &str| {
        send(
            p.http(),
            "GET",
            host,
            path,
            &[("x-orig", "1")],
            TestBody::empty(),
        )
        .await
    };
    let r = ask("f.local", "/status/503").await;
    assert_eq!(r.status, 503, "the original status is kept");
    assert!(
        r.headers.get("x-from").is_none(),
        "the page's headers, not the answer's"
    );
    let page = r.echo();
    assert_eq!(
        (page.name.as_str(), page.path.as_str()),
        ("pages", "/503.html")
    );
    assert_eq!(
        page.header("x-orig"),
        Some("1"),
        "the client's headers go along"
    );
    let r = ask("f.local", "/status/404").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.echo().path, "/notfound?from=404");
    for (path, status) in [("/status/200", 200), ("/status/418", 418)] {
        let r = ask("f.local", path).await;
        assert_eq!(
            (r.status.as_u16(), r.text()),
            (status, format!("status {status}"))
        );
    }
    // portier's own 502 for a server that cannot be reached gets the page too.
    let r = ask("dead.local", "/").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.echo().path, "/502.html");
    // A page with an undefined backend or unreadable statuses is reported; the route is served.
    let api = get(p.web.expect("web"), "localhost", "/api/providers")
        .await
        .text();
    for want in [
        "errors.lost: undefined backend \\\"nowhere\\\"",
        "\\\"5xx\\\" is not a status code or range",
    ] {
        assert!(api.contains(want), "missing {want:?} in {api}");
    }
}

#[tokio::test]
async fn compress_encodes_what_the_client_accepts_without_breaking_streams() {
    use http_body_util::BodyExt;
    use std::io::Read;
    let app = Backend::spawn("app").await;
    let cfg = Toml::file()
        .backend("app", &[(&app, 1)])
        .frontends(&[("f", "app", "Host:z.local")])
        .build()
        .replacen(
            "[entryPoints.http]\n",
            "[entryPoints.http]\ncompress = true\n",
            1,
        );
    assert!(cfg.contains("compress = true"), "{cfg}");
    let p = Portier::start(&cfg);
    let fetch = async |path: &str, accept: &str| {
        send(
            p.http(),
            "GET",
            "z.local",
            path,
            &[("accept-encoding", accept)],
            TestBody::empty(),
        )
        .await
    };
    // gzip, and brotli where the client ranks it at least as high.
    for (accept, coding) in [
        ("gzip", "gzip"),
        ("gzip, br", "br"),
        ("br;q=0.1, gzip", "gzip"),
    ] {
        let r = fetch("/download/200000", accept).await;
        assert_eq!(r.headers["content-encoding"], coding, "{accept}");
        assert!(r.headers.get("content-length").is_none());
        assert_eq!(r.headers["vary"], "Accept-Encoding");
        let mut plain = Vec::new();
        let read = match coding {
            "gzip" => flate2::read::GzDecoder::new(&r.body[..]).read_to_end(&mut plain),
            _ => brotli::Decompressor::new(&r.body[..], 4096).read_to_end(&mut plain),
        };
        read.expect("decodes");
        assert_eq!(plain.len(), 200_000);
        assert!(plain.iter().all(|&b| b == b'x'));
        assert!(r.body.len() < 10_000, "compressed: {}", r.body.len());
    }
    // Left alone: no Accept-Encoding, a short body, an encoded body, partial content.
    let r = fetch("/download/200000", "identity").await;
    assert!(r.headers.get("content-encoding").is_none());
    assert_eq!(r.body.len(), 200_000);
    let r = fetch("/status/200", "gzip").await;
    assert!(r.headers.get("content-encoding").is_none());
    assert_eq!(r.headers["content-length"], "10");
    let r = fetch("/encoded", "gzip, br").await;
    assert_eq!(r.headers["content-encoding"], "gzip");
    assert_eq!(r.body.len(), 2000, "not encoded twice");
    let r = fetch("/partial", "gzip").await;
    assert_eq!(r.status, 206);
    assert!(r.headers.get("content-encoding").is_none());
    assert_eq!(r.headers["content-length"], "2000");
    // A stream keeps flowing: the first tick decodes long before the stream ends.
    let req = http::Request::get(format!("http://{}/stream/3", p.http()))
        .header("host", "z.local")
        .header("accept-encoding", "gzip")
        .body(TestBody::empty())
        .expect("request");
    let resp = support::client().request(req).await.expect("response");
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let mut body = resp.into_body();
    let first = body
        .frame()
        .await
        .expect("a frame")
        .expect("ok")
        .into_data()
        .expect("data");
    let mut decoded = Vec::new();
    let mut d = flate2::write::GzDecoder::new(&mut decoded);
    std::io::Write::write_all(&mut d, &first).expect("decode");
    std::io::Write::flush(&mut d).expect("flush");
    drop(d);
    assert!(decoded.starts_with(b"tick\n"), "{decoded:?}");
    // A buffered body would arrive whole: 30 ticks in one piece.
    assert!(
        decoded.len() < 30 * 5,
        "not streamed: {} bytes at once",
        decoded.len()
    );
}

#[tokio::test]
async fn a_circuit_breaker_trips_on_its_expression_and_shows_its_state() {
    let app = Backend::spawn("app").await;
    let cfg = Toml::file()
        .backend("app", &[(&app, 1)])
        .web()
        .frontends(&[("f", "app", "Host:cb.local"), ("d", "down", "Host:down.local")])
        .raw(
            "[backends.down.servers.s]\nurl = \"http://127.0.0.1:9\"\n\
             [backends.down.circuitBreaker]\nexpression = \"NetworkErrorRatio() > 0.5\"\n\
             [backends.app.circuitBreaker]\nexpression = \"ResponseCodeRatio(500, 600, 0, 600) > 0.5 && 1 ==\"\n",
        )
        .build();
    let p = Portier::start(&cfg);
    // A server that cannot be reached: 502s until the breaker trips, then 503 without trying.
    let r = get(p.http(), "down.local", "/").await;
    assert_eq!(r.status, 502);
    support::docker::eventually(Duration::from_secs(5), "the breaker tripped", async || {
        let r = get(p.http(), "down.local", "/").await;
        (r.status == 503).then_some(())
    })
    .await;
    let r = get(p.http(), "down.local", "/").await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (503, "Service Unavailable")
    );
    let api = get(p.web.expect("web"), "localhost", "/api/providers/file").await;
    let api: serde_json::Value = serde_json::from_slice(&api.body).expect("json");
    let cb = &api["backends"]["down"]["circuitBreaker"];
    assert_eq!(cb["expression"], "NetworkErrorRatio() > 0.5");
    assert_eq!(cb["state"], "tripped");
    // An expression that cannot be read: an error where it is written; served without.
    let errors = api["errors"].to_string();
    assert!(
        errors.contains("backend app circuitBreaker")
            && errors.contains("expected a number or a function"),
        "{errors}"
    );
    assert_eq!(get(p.http(), "cb.local", "/status/500").await.status, 500);
    assert!(api["backends"]["app"].get("circuitBreaker").is_none());
}

/// Sends `bytes` on a fresh connection to `addr` and returns everything the server answers.
async fn raw_exchange(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn proxy_protocol_headers_from_trusted_peers_name_the_client() {
    let app = Backend::spawn("app").await;
    let cfg = format!(
        "defaultEntryPoints = [\"trusting\", \"wary\"]\n\
         [entryPoints.trusting]\naddress = \"127.0.0.1:0\"\n[entryPoints.trusting.proxyProtocol]\ntrustedIPs = [\"127.0.0.1/32\"]\n\
         [entryPoints.wary]\naddress = \"127.0.0.1:0\"\n[entryPoints.wary.proxyProtocol]\ntrustedIPs = [\"10.99.0.0/16\"]\n\
         [file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:pp.local\"\n",
        app.url()
    );
    let p = Portier::start(&cfg);
    let request = b"GET / HTTP/1.1\r\nHost: pp.local\r\nConnection: close\r\n\r\n";
    let client_of = |answer: &str| {
        let body = answer
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let echo: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        echo["headers"]["x-real-ip"][0]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    // v1
    let mut v1 = b"PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\n".to_vec();
    v1.extend_from_slice(request);
    let answer = raw_exchange(p.entry_points["trusting"], &v1).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(client_of(&answer), "203.0.113.7");
    // v2: signature, PROXY command, TCP over IPv4, 12 bytes of addresses and ports.
    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    v2.extend_from_slice(&[198, 51, 100, 9, 10, 0, 0, 1]);
    v2.extend_from_slice(&4000u16.to_be_bytes());
    v2.extend_from_slice(&80u16.to_be_bytes());
    v2.extend_from_slice(request);
    let answer = raw_exchange(p.entry_points["trusting"], &v2).await;
    assert_eq!(client_of(&answer), "198.51.100.9", "{answer}");
    // Without a header the peer is the client; from an untrusted peer the header is not read.
    let answer = raw_exchange(p.entry_points["trusting"], request).await;
    assert_eq!(client_of(&answer), "127.0.0.1");
    let answer = raw_exchange(p.entry_points["wary"], &v1).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // A trusted peer's broken header closes the connection.
    let answer = raw_exchange(
        p.entry_points["trusting"],
        b"PROXY TCP4 nonsense\r\nGET / HTTP/1.1\r\n\r\n",
    )
    .await;
    assert_eq!(answer, "");

    // proxyProtocol that trusts no one is refused.
    let bad = p.write(
        "bad.toml",
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[entryPoints.http.proxyProtocol]\n",
    );
    let (code, _, err) = support::check(&bad);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("entryPoints.http.proxyProtocol: needs trustedIPs"),
        "{err}"
    );
}

#[tokio::test]
async fn buffering_reads_bodies_whole_and_refuses_oversized_ones() {
    let app = Backend::spawn("app").await;
    let sick = Backend::spawn("sick").await;
    sick.set_healthy(false);
    let cfg = Toml::file()
        .backend("app", &[(&app, 1)])
        .backend("retry", &[(&app, 1), (&sick, 1)])
        .web()
        .frontends(&[("f", "app", "Host:buf.local"), ("r", "retry", "Host:retry.local")])
        .raw(
            "[backends.app.buffering]\nmaxRequestBodyBytes = 300000\nmemRequestBodyBytes = 1000\n\
             maxResponseBodyBytes = 200000\nmemResponseBodyBytes = 1000\n\
             [backends.retry.buffering]\nretryExpression = \"ResponseCode() == 503 && Attempts() <= 2\"\n",
        )
        .build();
    let p = Portier::start(&cfg);
    // A streamed (chunked) upload is read whole, spilling to disk, then sent with its length.
    let r = send(
        p.http(),
        "POST",
        "buf.local",
        "/upload",
        &[],
        TestBody::streamed(250_000),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "250000"));
    let r = send(
        p.http(),
        "POST",
        "buf.local",
        "/upload",
        &[],
        TestBody::streamed(300_001),
    )
    .await;
    assert_eq!(r.status, 413);
    // Responses: within the limit they arrive whole with a length; above it, 502.
    let r = get(p.http(), "buf.local", "/download/150000").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-length"], "150000");
    assert_eq!(r.body.len(), 150_000);
    assert_eq!(
        get(p.http(), "buf.local", "/download/200001").await.status,
        502
    );
    // retryExpression: a 503 from the sick server is sent again (to the other one) while the
    // expression asks for it; without it, every second request would be the sick one's 503.
    for _ in 0..6 {
        let r = send(
            p.http(),
            "POST",
            "retry.local",
            "/health",
            &[],
            TestBody::text("body"),
        )
        .await;
        assert_eq!((r.status.as_u16(), r.text().as_str()), (200, "ok"));
    }
    let api = get(p.web.expect("web"), "localhost", "/api/providers/file")
        .await
        .text();
    assert!(!api.contains("retryExpression"), "no error: {api}");
}

#[tokio::test]
async fn entrypoints_and_defaults_from_traefik_flags_route() {
    // The file has no entrypoint `alt` and lists none as default: the command line adds one in
    // Traefik's syntax, redefines `http` whole, and makes both the defaults.
    let a = Backend::spawn("a").await;
    let cfg = Toml::default()
        .raw("[file]\n")
        .backend("ba", &[(&a, 1)])
        .frontends(&[("fa", "ba", "Host:a.local")])
        .build();
    let p = Portier::start_with(
        &cfg,
        &[],
        &[
            "--entrypoints=Name:http Address:127.0.0.1:0",
            "--entryPoints",
            "Name:alt Address:127.0.0.1:0 Compress:true",
            "--defaultentrypoints=http,alt",
        ],
    );
    assert_eq!(get(p.http(), "a.local", "/").await.echo().name, "a");
    assert_eq!(
        get(p.entry_points["alt"], "a.local", "/").await.echo().name,
        "a"
    );
}

#[tokio::test]
async fn trailing_slash_is_redirected_unless_kept() {
    // Traefik 1.7's default (keepTrailingSlash = false, gorilla/mux's strict slash): a Path
    // rule answers the other spelling of its path with a 301 to its own.
    let a = Backend::spawn("a").await;
    let frontends = [
        ("foo", "ba", "Path:/test/foo"),
        ("dir", "ba", "Path:/dir/"),
        ("pre", "ba", "PathPrefix:/prefix"),
    ];
    let cfg = Toml::file()
        .backend("ba", &[(&a, 1)])
        .frontends(&frontends)
        .build();
    let p = Portier::start(&cfg);
    let r = get(p.http(), "t.local", "/test/foo/?x=1").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.headers["location"], "/test/foo?x=1");
    assert_eq!(
        r.text(),
        "<a href=\"/test/foo?x=1\">Moved Permanently</a>.\n\n"
    );
    let r = get(p.http(), "t.local", "/dir").await;
    assert_eq!(
        (r.status.as_u16(), &r.headers["location"]),
        (301, &"/dir/".parse().expect("value"))
    );
    assert_eq!(
        get(p.http(), "t.local", "/test/foo").await.echo().path,
        "/test/foo"
    );
    assert_eq!(
        get(p.http(), "t.local", "/prefix/").await.echo().path,
        "/prefix/"
    );

    let kept = Toml::default()
        .raw("keepTrailingSlash = true\n")
        .raw(support::toml::HTTP)
        .raw("[file]\n")
        .backend("ba", &[(&a, 1)])
        .frontends(&frontends)
        .build();
    let p = Portier::start(&kept);
    assert_eq!(get(p.http(), "t.local", "/test/foo/").await.status, 404);
    assert_eq!(get(p.http(), "t.local", "/dir").await.status, 404);
}

/// A 502 names its cause at WARN, once per server in a while however many requests fail.
#[tokio::test]
async fn a_502_names_its_cause_at_warn_rate_limited() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let cfg = Toml::http()
        .raw("[file]")
        .raw(&format!(
            "[backends.gone.servers.s]\nurl = \"{url}\"\n[frontends.f]\nbackend = \"gone\"\n[frontends.f.routes.r]\nrule = \"Host:gone.local\""
        ))
        .build();
    let p = Portier::start(&cfg);
    for _ in 0..3 {
        assert_eq!(get(p.http(), "gone.local", "/").await.status, 502);
    }
    let line = p.wait_log("502 Bad Gateway", Duration::from_secs(2)).await;
    assert!(
        line.contains("WARN") && line.contains("connection refused") && line.contains(&url),
        "{line}"
    );
    assert_eq!(p.count_log("502 Bad Gateway"), 1, "rate-limited");
}

/// `[traefikLog] filePath` and `format = "json"`: portier's own log as logrus' JSON lines, in
/// a file SIGUSR1 reopens.
#[tokio::test]
async fn traefik_log_as_json_in_a_reopenable_file() {
    let cfg = Toml::http()
        .raw("[traefikLog]\nfilePath = \"portier.log\"\nformat = \"json\"\n[file]")
        .build();
    let p = Portier::start(&cfg);
    let path = p.dir.path().join("portier.log");
    let lines = wait_file_lines(&path, 1, Duration::from_secs(5)).await;
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
        assert!(
            v["level"].is_string() && v["msg"].is_string() && v["time"].is_string(),
            "{v}"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("configuration loaded from")),
        "{lines:?}"
    );
    let rotated = p.dir.path().join("portier.log.1");
    std::fs::rename(&path, &rotated).expect("rotate");
    p.signal("USR1");
    let lines = wait_file_lines(&path, 1, Duration::from_secs(5)).await;
    assert!(lines[0].contains("reopened"), "{lines:?}");
}

#[tokio::test]
async fn regex_redirects_on_the_entrypoint_and_on_a_frontend() {
    // Traefik 1.7's regex redirect: over `scheme://host/path?query`, `$1` groups, 302/307 or
    // 301/308 when permanent; a URL the regex does not rewrite goes on to the routes.
    let a = Backend::spawn("a").await;
    let cfg = Toml::default()
        .raw(support::toml::HTTP)
        .trust_loopback() // for X-Forwarded-Proto below
        .raw(concat!(
            "[entryPoints.http.redirect]\n",
            "regex = '^http://old\\.local(:\\d+)?/(.*)'\n",
            "replacement = 'http://new.local/$2'\npermanent = true\n",
            "[file]\n",
        ))
        .backend("ba", &[(&a, 1)])
        .frontend("fa", "ba", "Host:a.local")
        .raw(concat!(
            "[frontends.fa.redirect]\n",
            "regex = '^http://a\\.local(:\\d+)?/api/(.*)$'\n",
            "replacement = 'http://a.local/v2/$2'\n",
        ))
        .build();
    let p = Portier::start(&cfg);
    let r = get(p.http(), "old.local", "/x?y=1").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.headers["location"], "http://new.local/x?y=1");
    let r = send(p.http(), "POST", "old.local", "/x", &[], TestBody::empty()).await;
    assert_eq!(
        r.status, 308,
        "a permanent redirect of a POST keeps its method"
    );

    let r = get(p.http(), "a.local", "/api/users?id=3").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.headers["location"], "http://a.local/v2/users?id=3");
    let r = send(
        p.http(),
        "DELETE",
        "a.local",
        "/api/u",
        &[],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 307);
    // X-Forwarded-Proto: https (from a trusted peer) makes the URL https://…, which this
    // regex does not match.
    let r = send(
        p.http(),
        "GET",
        "a.local",
        "/api/u",
        &[("x-forwarded-proto", "https")],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.echo().path, "/api/u");
    assert_eq!(
        get(p.http(), "a.local", "/v2/users").await.echo().path,
        "/v2/users"
    );
}
