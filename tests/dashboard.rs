//! The dashboard and API on `[web] address`: JSON shapes, /health, /metrics (parsed by the
//! Prometheus Python parser), SSE, basic auth, and the page in a real headless Chromium driven
//! through chromedriver.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use support::{Backend, Portier, get, send};

/// traefik.toml: an entrypoint, the dashboard (with `extra` in `[web]`) and a watched rules file.
fn config(extra: &str) -> String {
    format!(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[web]\naddress = \"127.0.0.1:0\"\n{extra}\n[file]\nfilename = \"rules.toml\"\n"
    )
}

fn rules(a: &Backend, b: &Backend, extra_frontend: Option<&str>) -> String {
    let mut r = format!(
        "[backends.web.servers.one]\nurl = \"{}\"\nweight = 2\n[backends.web.servers.two]\nurl = \"{}\"\n\
         [frontends.site]\nbackend = \"web\"\n[frontends.site.routes.main]\nrule = \"Host:site.local\"\n",
        a.url(),
        b.url()
    );
    if let Some(name) = extra_frontend {
        r += &format!(
            "[frontends.{name}]\nbackend = \"web\"\n[frontends.{name}.routes.main]\nrule = \"PathPrefix:/{name}\"\n"
        );
    }
    r
}

async fn json(p: &Portier, path: &str) -> (u16, Value) {
    let r = get(p.web.expect("web"), "localhost", path).await;
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status.as_u16(), v)
}

async fn start() -> (Backend, Backend, Portier) {
    let a = Backend::spawn("one").await;
    let b = Backend::spawn("two").await;
    let p = Portier::start_with(&config(""), &[("rules.toml", &rules(&a, &b, None))], &[]);
    (a, b, p)
}

#[tokio::test]
async fn api_has_traefik_shapes_and_values() {
    let (a, b, p) = start().await;
    let (code, api) = json(&p, "/api").await;
    assert_eq!(code, 200);
    let file = &api["file"];
    let servers = &file["backends"]["web"]["servers"];
    assert_eq!(servers["one"]["url"], a.url());
    assert_eq!(servers["one"]["weight"], 2);
    assert_eq!(servers["two"]["url"], b.url());
    assert_eq!(servers["two"]["weight"], 1);
    assert_eq!(servers["one"]["status"], "up");
    assert_eq!(servers["one"]["openConnections"], 0);
    assert_eq!(file["backends"]["web"]["loadBalancer"]["method"], "wrr");
    let f = &file["frontends"]["site"];
    assert_eq!(f["backend"], "web");
    assert_eq!(f["entryPoints"], json!(["http"]));
    assert_eq!(f["routes"]["main"]["rule"], "Host:site.local");
    assert_eq!(f["passHostHeader"], true);
    assert_eq!(f["priority"], 0);
    assert_eq!(file["errors"], json!([]));

    assert_eq!(json(&p, "/api/providers").await.1, api);
    assert_eq!(json(&p, "/api/providers/file").await.1, api["file"]);
    assert_eq!(
        json(&p, "/api/providers/file/backends").await.1,
        file["backends"]
    );
    assert_eq!(
        json(&p, "/api/providers/file/backends/web/servers").await.1,
        *servers
    );
    assert_eq!(
        json(&p, "/api/providers/file/backends/web/servers/two")
            .await
            .1,
        servers["two"]
    );
    assert_eq!(json(&p, "/api/providers/file/frontends/site").await.1, *f);
    assert_eq!(
        json(&p, "/api/providers/file/frontends/site/routes/main")
            .await
            .1,
        json!({"rule": "Host:site.local"})
    );
    assert_eq!(json(&p, "/api/providers/docker").await.0, 404);
    assert_eq!(json(&p, "/api/providers/file/backends/nope").await.0, 404);
    let ping = get(p.web.expect("web"), "localhost", "/ping").await;
    assert_eq!((ping.status.as_u16(), ping.text().as_str()), (200, "OK"));
    let root = get(p.web.expect("web"), "localhost", "/").await;
    assert_eq!(
        (root.status.as_u16(), root.headers["location"].to_str().ok()),
        (302, Some("/dashboard/"))
    );
    let r = send(
        p.web.expect("web"),
        "POST",
        "localhost",
        "/api",
        &[],
        support::TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 405, "read-only");

    // Bad rules show up as the provider's errors, with file:line:column.
    p.write(
        "rules.toml",
        &(rules(&a, &b, None)
            + "[frontends.bad]\nbackend = \"web\"\n[frontends.bad.routes.r]\nrule = \"Hots:x\"\n"),
    );
    let errors = eventually_json(&p, "/api/providers/file", |v| {
        v["errors"].as_array().is_some_and(|e| !e.is_empty())
    })
    .await["errors"]
        .clone();
    let text = errors.to_string();
    assert!(
        text.contains("rules.toml:13:9 frontend bad route r") && text.contains("unknown matcher"),
        "{text}"
    );
}

async fn eventually_json(p: &Portier, path: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, v) = json(p, path).await;
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never satisfied the check: {v}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn health_counts_move_after_requests() {
    let (_a, _b, p) = start().await;
    let (_, before) = json(&p, "/health").await;
    assert_eq!(before["total_count"], 0);
    assert!(
        before["pid"]
            .as_u64()
            .is_some_and(|pid| pid == u64::from(p.pid()))
    );
    for _ in 0..3 {
        assert_eq!(get(p.http(), "site.local", "/").await.status, 200);
    }
    assert_eq!(get(p.http(), "nowhere", "/").await.status, 404);
    let after = eventually_json(&p, "/health", |v| v["total_count"] == 4).await;
    assert_eq!(
        after["total_status_code_count"],
        json!({"200": 3, "404": 1})
    );
    assert!(after["total_response_size"].as_u64().is_some_and(|n| n > 0));
    assert!(
        after["average_response_time_sec"]
            .as_f64()
            .is_some_and(|t| t > 0.0)
    );
    // The per-second window catches up within a sample.
    let v = eventually_json(&p, "/health", |v| {
        v["count"].as_u64().is_some_and(|c| c > 0)
            || v["uptime_sec"].as_f64().is_some_and(|u| u > 3.0)
    })
    .await;
    assert!(v["status_code_count"].is_object());
}

const PARSE_METRICS: &str = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        out.setdefault(s.name, []).append({"labels": s.labels, "value": s.value})
print(json.dumps(out))
"#;

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    let (a, _b, p) = start().await;
    for _ in 0..3 {
        get(p.http(), "site.local", "/").await;
    }
    get(p.http(), "nowhere", "/").await;
    let text = eventually_text(&p, "/metrics", "portier_backend_requests_total").await;
    let mut child = Command::new("python3")
        .args(["-c", PARSE_METRICS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (with prometheus-client: pip install prometheus-client)");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "the Prometheus parser rejected /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).expect("json");
    let find = |name: &str, labels: Value| -> Option<f64> {
        m[name]
            .as_array()?
            .iter()
            .find(|s| {
                labels
                    .as_object()
                    .is_some_and(|l| l.iter().all(|(k, v)| s["labels"][k] == *v))
            })
            .and_then(|s| s["value"].as_f64())
    };
    assert_eq!(
        find(
            "portier_entrypoint_requests_total",
            json!({"entrypoint": "http", "code": "200", "method": "GET"})
        ),
        Some(3.0)
    );
    assert_eq!(
        find(
            "portier_entrypoint_requests_total",
            json!({"entrypoint": "http", "code": "404"})
        ),
        Some(1.0)
    );
    assert_eq!(
        find(
            "portier_backend_requests_total",
            json!({"frontend": "site", "backend": "web", "code": "200"})
        ),
        Some(3.0)
    );
    assert_eq!(
        find(
            "portier_backend_request_duration_seconds_count",
            json!({"frontend": "site"})
        ),
        Some(3.0)
    );
    assert_eq!(
        find(
            "portier_backend_server_up",
            json!({"backend": "web", "url": a.url()})
        ),
        Some(1.0)
    );
    assert!(
        find(
            "portier_entrypoint_open_connections",
            json!({"entrypoint": "http"})
        )
        .is_some()
    );
    assert!(find("portier_config_reloads_total", json!({})).is_some_and(|n| n >= 1.0));
    assert_eq!(find("portier_docker_connected", json!({})), Some(-1.0));
    assert!(m["portier_docker_events_total"].is_array());
}

async fn eventually_text(p: &Portier, path: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = get(p.web.expect("web"), "localhost", path).await.text();
        if t.contains(needle) {
            return t;
        }
        assert!(Instant::now() < deadline, "{path} never contained {needle}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sse_delivers_an_event_within_200ms_of_a_config_change() {
    let (a, b, p) = start().await;
    let web = p.web.expect("web");
    let mut stream = tokio::net::TcpStream::connect(web).await.expect("connect");
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            b"GET /api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n",
        )
        .await
        .expect("write");
    let mut buf = Vec::new();
    let read_event = async |stream: &mut tokio::net::TcpStream, buf: &mut Vec<u8>| -> String {
        loop {
            let text = String::from_utf8_lossy(buf).to_string();
            if let Some(i) = text.find("event: table") {
                if let Some(end) = text[i..].find("\n\n") {
                    let ev = text[i..i + end].to_string();
                    buf.drain(..(i + end + 2).min(buf.len()));
                    return ev;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "the event stream closed");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let first = read_event(&mut stream, &mut buf).await;
    assert!(first.contains("\"generation\""), "{first}");
    let changed = Instant::now();
    p.write("rules.toml", &rules(&a, &b, Some("added")));
    let second = tokio::time::timeout(Duration::from_secs(2), read_event(&mut stream, &mut buf))
        .await
        .expect("an event after the change");
    let took = changed.elapsed();
    assert_ne!(first, second, "a new generation");
    assert!(took < Duration::from_millis(200), "event after {took:?}");
    eprintln!("SSE event {took:?} after the rules file was written");
}

#[tokio::test]
async fn basic_auth_protects_everything_but_ping() {
    let a = Backend::spawn("one").await;
    let b = Backend::spawn("two").await;
    // test:test (Apache MD5, from Traefik's docs).
    let cfg = config("users = [\"test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"]");
    let p = Portier::start_with(&cfg, &[("rules.toml", &rules(&a, &b, None))], &[]);
    let web = p.web.expect("web");
    let r = get(web, "localhost", "/api").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"traefik\"");
    assert_eq!(status_as(web, "/api", "test:wrong").await, 401);
    assert_eq!(status_as(web, "/api", "test:test").await, 200);
    assert_eq!(status_as(web, "/dashboard/", "test:test").await, 200);
    assert_eq!(get(web, "localhost", "/dashboard/").await.status, 401);
    assert_eq!(
        get(web, "localhost", "/ping").await.status,
        200,
        "/ping is never behind auth"
    );
}

/// The status of `GET path` with basic credentials `user:password`.
async fn status_as(web: std::net::SocketAddr, path: &str, credentials: &str) -> u16 {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    send(
        web,
        "GET",
        "localhost",
        path,
        &[("authorization", &auth)],
        support::TestBody::empty(),
    )
    .await
    .status
    .as_u16()
}

// === The page in a real browser ===

struct Driver {
    child: Child,
    port: u16,
    session: String,
}

impl Driver {
    async fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)");
        let mut d = Driver {
            child,
            port,
            session: String::new(),
        };
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900"]
        }}}});
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(v) = d.call("POST", "/session", Some(caps.clone())).await {
                if let Some(id) = v["value"]["sessionId"].as_str() {
                    d.session = id.to_string();
                    return d;
                }
                panic!("chromedriver refused the session: {v}");
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let addr = format!("127.0.0.1:{}", self.port);
        let body = body
            .map(|b| support::TestBody::text(b.to_string()))
            .unwrap_or(support::TestBody::empty());
        let req = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("content-type", "application/json")
            .body(body)
            .ok()?;
        let resp = tokio::time::timeout(Duration::from_secs(30), support::client().request(req))
            .await
            .ok()?
            .ok()?;
        use http_body_util::BodyExt;
        let bytes = resp.into_body().collect().await.ok()?.to_bytes();
        serde_json::from_slice(&bytes).ok()
    }

    async fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .await
            .unwrap_or_else(|| panic!("webdriver {method} {path} failed"))
    }

    async fn script(&self, js: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await["value"]
            .clone()
    }

    async fn text(&self) -> String {
        self.script("return document.body.innerText")
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    async fn wait_text(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let t = self.text().await;
            if ok(&t) {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}:\n{t}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 20 s) until `js` returns a value `ok` accepts, and returns it.
    async fn wait_script(&self, what: &str, js: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self.script(js).await;
            if ok(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}: last {v}\n{}",
                self.text().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The WebDriver id of the element `css` selects.
    async fn find(&self, css: &str) -> String {
        let v = self
            .session_call(
                "POST",
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        v["value"]["element-6066-11e4-a52e-4f735466cecf"]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    /// Types `text` into the element as a user would (WebDriver key codes for Enter, Escape).
    async fn keys(&self, element: &str, text: &str) {
        self.session_call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// A Chrome DevTools command through chromedriver.
    async fn cdp(&self, cmd: &str, params: Value) {
        self.session_call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await;
    }

    async fn resize(&self, width: u64, height: u64) {
        self.session_call(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
        self.wait_script("the new window size", "return window.innerWidth", |w| {
            w.as_u64().is_some_and(|w| w <= width && w + 40 >= width)
        })
        .await;
    }

    async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        let v = self.session_call("GET", "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["value"].as_str().unwrap_or(""))
            .expect("png");
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-screenshots");
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write png");
        path
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_routes_and_health_and_updates_live() {
    let (a, b, p) = start().await;
    get(p.http(), "site.local", "/").await;
    let driver = Driver::start().await;
    let url = format!("http://{}/dashboard/", p.web.expect("web"));
    driver
        .session_call("POST", "/url", Some(json!({"url": url})))
        .await;
    let text = driver
        .wait_text("the frontend, backend and both servers", |t| {
            t.contains("site")
                && t.contains("Host:site.local")
                && t.contains(&a.url())
                && t.contains(&b.url())
        })
        .await;
    assert!(text.contains("web"), "backend name: {text}");
    let up = driver
        .script(
            "return document.querySelectorAll('[data-backend=\"web\"] [data-state=\"up\"]').length",
        )
        .await;
    assert_eq!(up, json!(2), "both servers shown up");
    driver
        .wait_text("live updates", |t| t.contains("live"))
        .await;
    let shot = driver.screenshot("dashboard-1440.png").await;
    eprintln!("screenshot: {}", shot.display());

    // A marker that a reload would erase.
    driver.script("window.__noReload = 42; return 1").await;
    let generation = driver
        .script("return document.querySelector('#generation').textContent")
        .await;
    p.write("rules.toml", &rules(&a, &b, Some("added")));
    driver
        .wait_text("the new frontend without a reload", |t| {
            t.contains("PathPrefix:/added")
        })
        .await;
    assert_eq!(
        driver.script("return window.__noReload").await,
        json!(42),
        "the page was not reloaded"
    );
    assert_ne!(
        driver
            .script("return document.querySelector('#generation').textContent")
            .await,
        generation
    );

    // Provider errors are shown prominently, live.
    p.write(
        "rules.toml",
        &(rules(&a, &b, Some("added"))
            + "[frontends.bad]\nbackend = \"web\"\n[frontends.bad.routes.r]\nrule = \"Hots:x\"\n"),
    );
    let t = driver
        .wait_text("the configuration error", |t| {
            t.contains("Configuration errors") && t.contains("unknown matcher \"Hots\"")
        })
        .await;
    assert!(t.contains("frontend bad route r"), "{t}");

    // Each frontend's middlewares, in running order; a refused one carries the 503 badge.
    p.write(
        "rules.toml",
        &(rules(&a, &b, Some("added"))
            + "[frontends.guarded]\nbackend = \"web\"\nwhitelistSourceRange = [\"10.0.0.0/8\"]\n[frontends.guarded.routes.r]\nrule = \"Host:guarded.local\"\n[frontends.guarded.headers]\nframeDeny = true\n[frontends.refused]\nbackend = \"web\"\n[frontends.refused.routes.r]\nrule = \"Host:refused.local\"\n[frontends.refused.auth.forward]\naddress = \"http://127.0.0.1:9/\"\n[frontends.refused.auth.forward.tls]\nca = \"missing-ca.pem\"\n"
            + &format!("[backends.cb.servers.s]\nurl = \"{}\"\n[backends.cb.circuitBreaker]\nexpression = \"NetworkErrorRatio() > 0.5\"\n[frontends.cbf]\nbackend = \"cb\"\n[frontends.cbf.routes.r]\nrule = \"Host:cb.local\"\n", a.url())),
    );
    driver
        .wait_text("the guarded frontends", |t| {
            t.contains("Host:guarded.local") && t.contains("Host:refused.local")
        })
        .await;
    let chips = driver
        .script("return document.querySelector('[data-frontend=\"guarded\"] [data-middlewares]').textContent")
        .await;
    assert_eq!(chips, json!("whiteList secureHeaders "));
    let refused = driver
        .script(
            "return document.querySelectorAll('[data-frontend=\"refused\"] [data-refused]').length",
        )
        .await;
    assert_eq!(refused, json!(1));
    // A backend's circuit breaker: its expression and state.
    driver
        .wait_text("the circuit breaker", |t| {
            t.contains("NetworkErrorRatio() > 0.5")
        })
        .await;
    let breaker = driver
        .script("return document.querySelector('[data-breaker]').dataset.breaker")
        .await;
    assert_eq!(breaker, json!("standby"));

    // Usable on a phone: no horizontal scrolling of the page at 375 px.
    driver
        .session_call(
            "POST",
            "/window/rect",
            Some(json!({"width": 375, "height": 812})),
        )
        .await;
    // Wait for the resize to reach the page rather than for a fixed time.
    let deadline = Instant::now() + Duration::from_secs(5);
    let width = loop {
        let w = driver
            .script("return [document.documentElement.scrollWidth, window.innerWidth]")
            .await;
        if w[1].as_u64().is_some_and(|inner| inner <= 375) || Instant::now() > deadline {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (scroll, inner) = (
        width[0].as_u64().unwrap_or(9999),
        width[1].as_u64().unwrap_or(0),
    );
    assert!(
        scroll <= inner,
        "page wider than the 375 px viewport: {scroll} > {inner}"
    );
    driver.screenshot("dashboard-375.png").await;
    let _ = driver.session_call("DELETE", "", None).await;
}

#[tokio::test]
async fn api_dashboard_false_serves_the_api_without_the_page() {
    let a = Backend::spawn("one").await;
    let b = Backend::spawn("two").await;
    // `[api] dashboard = false` as a Traefik flag, beside `[web]` from the file.
    let p = Portier::start_with(
        &config(""),
        &[("rules.toml", &rules(&a, &b, None))],
        &["--api.dashboard=false"],
    );
    let web = p.web.expect("web");
    assert_eq!(get(web, "localhost", "/dashboard/").await.status, 404);
    assert_eq!(get(web, "localhost", "/").await.status, 404);
    let (code, api) = json(&p, "/api").await;
    assert_eq!(code, 200);
    assert!(api["file"]["frontends"]["site"].is_object(), "{api}");
}

#[tokio::test]
async fn the_api_on_an_entrypoint_sits_beside_its_routes() {
    let a = Backend::spawn("one").await;
    let b = Backend::spawn("two").await;
    // `[api] entryPoint = "http"`: the API and the page on http, the routes too; `/ping` on
    // the `admin` entrypoint as well ([ping]); `traefik`, not a default entrypoint, gets `/`.
    let toml = "defaultEntryPoints = [\"http\"]\n\
        [entryPoints.http]\naddress = \"127.0.0.1:0\"\n\
        [entryPoints.admin]\naddress = \"127.0.0.1:0\"\n\
        [api]\nentryPoint = \"http\"\n[ping]\nentryPoint = \"admin\"\n\
        [file]\nfilename = \"rules.toml\"\n";
    let p = Portier::start_with(toml, &[("rules.toml", &rules(&a, &b, Some("root")))], &[]);
    assert!(p.web.is_none(), "no listener of its own");
    let http = p.http();
    assert_eq!(get(http, "site.local", "/").await.status, 200, "the route");
    let r = get(http, "site.local", "/api").await;
    assert_eq!(r.status, 200);
    let api: Value = serde_json::from_slice(&r.body).expect("json");
    assert!(api["file"]["frontends"]["site"].is_object(), "{api}");
    let page = get(http, "site.local", "/dashboard/").await;
    assert!(
        page.text()
            .contains("<script type=\"module\" src=\"app.js\">"),
        "{}",
        page.text()
    );
    assert_eq!(
        get(http, "x.local", "/root").await.echo().path,
        "/root",
        "other paths route"
    );
    assert_eq!(
        get(p.entry_points["admin"], "x", "/ping").await.text(),
        "OK"
    );

    let toml = "defaultEntryPoints = [\"http\"]\n\
        [entryPoints.http]\naddress = \"127.0.0.1:0\"\n\
        [entryPoints.traefik]\naddress = \"127.0.0.1:0\"\n[api]\n";
    let p = Portier::start(toml);
    let r = get(p.entry_points["traefik"], "x", "/").await;
    assert_eq!(
        (r.status.as_u16(), &r.headers["location"]),
        (302, &"/dashboard/".parse().expect("h"))
    );
}

#[tokio::test]
async fn web_path_puts_everything_under_its_prefix() {
    let a = Backend::spawn("one").await;
    let b = Backend::spawn("two").await;
    let p = Portier::start_with(
        &config("path = \"/test\""),
        &[("rules.toml", &rules(&a, &b, None))],
        &[],
    );
    let web = p.web.expect("web");
    let (ok, gone) = (
        get(web, "x", "/test/api").await,
        get(web, "x", "/api").await,
    );
    assert_eq!((ok.status.as_u16(), gone.status.as_u16()), (200, 404));
    assert_eq!(get(web, "x", "/test/ping").await.text(), "OK");
    for root in ["/test", "/test/"] {
        let r = get(web, "x", root).await;
        assert_eq!(r.headers["location"], "/test/dashboard/", "{root}");
    }
    let page = get(web, "x", "/test/dashboard/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("href=\"../api\""),
        "links are relative to the prefix"
    );
    assert_eq!(get(web, "x", "/test/dashboard/app.js").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_names_each_servers_container() {
    use support::docker::Scope;
    use support::toml::Toml;
    let s = Scope::new("dash-origin");
    s.run(
        "web",
        &[
            "-l",
            "traefik.port=80",
            "-l",
            "traefik.frontend.rule=Host:origin.local",
        ],
    );
    let p = Portier::start(&format!(
        "{}{}",
        Toml::http().web().build(),
        s.docker_toml("")
    ));
    let driver = Driver::start().await;
    let url = format!("http://{}/dashboard/", p.web.expect("web"));
    driver
        .session_call("POST", "/url", Some(json!({"url": url})))
        .await;
    let container = format!("{}-web", s.tag);
    let text = driver
        .wait_text("the server's container", |t| {
            t.contains(&format!("container {container}"))
        })
        .await;
    assert!(text.contains("Host:origin.local"), "{text}");
    let kind = driver
        .script("return document.querySelector('[data-origin]').dataset.origin")
        .await;
    assert_eq!(kind, json!("container"));
}

/// The frontend of `backend` in the `docker` provider, by the API.
async fn docker_frontend_of(p: &Portier, backend: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = json(p, "/api/providers/docker/frontends").await;
        if let Some(name) = v.as_object().and_then(|m| {
            m.iter()
                .find(|(_, f)| f["backend"] == backend)
                .map(|(n, _)| n.clone())
        }) {
            return name;
        }
        assert!(Instant::now() < deadline, "no frontend for {backend}: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The diagnosis an operator needs, on the real engine in a real browser: a healthy backend
/// under load, one whose server refuses every connection, a paused container and a bad label,
/// beside 1,000 file routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_diagnoses_failing_routes_paused_servers_and_bad_labels() {
    use support::docker::{Scope, docker};
    use support::load::Load;
    use support::toml::Toml;
    let s = Scope::new("dash-diag");
    let labels = |name: &str, port: &str| -> Vec<String> {
        [
            format!("traefik.backend={name}"),
            format!("traefik.port={port}"),
            format!("traefik.frontend.rule=Host:{name}.local"),
        ]
        .into_iter()
        .flat_map(|l| ["-l".to_string(), l])
        .collect()
    };
    let run = |name: &str, port: &str| {
        let args = labels(name, port);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        s.run(name, &args)
    };
    run("healthy", "80");
    run("failing", "81"); // nothing listens there: every connect is refused
    let paused = run("paused", "80");
    // One with a Docker HEALTHCHECK, made to fail once it is served.
    let sick_args = labels("sick", "80");
    let sick_args: Vec<&str> = sick_args.iter().map(String::as_str).collect();
    s.run_image("sick", support::docker::HEALTH_IMAGE, &sick_args);
    s.run(
        "badlabel",
        &[
            "-l",
            "traefik.port=80",
            "-l",
            "traefik.frontend.rule=Hots:bad.local",
        ],
    );
    let generated = Backend::spawn("gen").await;
    let mut toml = Toml::http()
        .web()
        .raw("[file]\n")
        .backend("gen", &[(&generated, 1)]);
    for i in 1..1000 {
        toml = toml.frontend(
            &format!("gen-{i:04}"),
            "gen",
            &format!("Host:gen-{i:04}.local"),
        );
    }
    // One with middlewares, for the detail view.
    let toml = toml.raw(
        "[frontends.gen-0000]\nbackend = \"gen\"\nwhitelistSourceRange = [\"10.0.0.0/8\", \"127.0.0.1/32\"]\n\
         [frontends.gen-0000.routes.r]\nrule = \"Host:gen-0000.local\"\n[frontends.gen-0000.headers]\nframeDeny = true\n",
    );
    let p = Portier::start(&format!("{}{}", toml.build(), s.docker_toml("")));
    let healthy = docker_frontend_of(&p, "backend-healthy").await;
    let failing = docker_frontend_of(&p, "backend-failing").await;
    docker_frontend_of(&p, "backend-paused").await;
    docker(&["pause", &paused]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(p.http(), "sick.local", "/").await.status != 200 {
        assert!(Instant::now() < deadline, "the sick container never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        get(p.http(), "sick.local", "/health/down").await.status,
        200
    );

    // Traffic: the healthy route under load, the failing one answered 5xx throughout.
    let bad = Load::start(p.http(), "failing.local", 5, 1, Duration::from_secs(60));
    let load = Load::start(p.http(), "healthy.local", 40, 4, Duration::from_secs(3));

    let driver = Driver::start().await;
    let url = format!("http://{}/dashboard/", p.web.expect("web"));
    driver
        .session_call("POST", "/url", Some(json!({"url": url})))
        .await;

    let report = load.finish().await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Counts: the healthy route's total is every request sent, exactly.
    let row = |name: &str, cell: &str| {
        format!(
            "return document.querySelector('tr[data-frontend=\"{name}\"] [{cell}]')?.textContent"
        )
    };
    driver
        .wait_script(
            "the healthy route's total",
            &row(&healthy, "data-total"),
            |v| v == &json!(report.total.to_string()),
        )
        .await;
    assert_eq!(driver.script(&row(&healthy, "data-5xx")).await, json!("0"));
    // The failing route is flagged at the top, with why.
    let flagged = driver
        .wait_script(
            "the failing route flagged",
            &format!("return document.querySelector('#attention [data-failing=\"docker/{failing}\"]')?.textContent"),
            |v| v.as_str().is_some_and(|t| t.contains("5xx")),
        )
        .await;
    assert!(
        flagged
            .as_str()
            .is_some_and(|t| t.contains("backend-failing")),
        "{flagged}"
    );
    // States: up, paused (out of rotation, and why), ejected; k of n up per backend.
    let card =
        |b: &str, q: &str| format!("return document.querySelector('[data-backend=\"{b}\"] {q}')");
    driver
        .wait_script(
            "the paused server",
            &(card("backend-paused", "[data-state=\"paused\"] [data-reason]") + "?.textContent"),
            |v| v.as_str().is_some_and(|t| t.contains("paused")),
        )
        .await;
    assert_eq!(
        driver
            .script(&(card("backend-paused", "[data-up]") + ".dataset.up"))
            .await,
        json!("0/1")
    );
    assert_eq!(
        driver
            .script(&(card("backend-healthy", "[data-up]") + ".dataset.up"))
            .await,
        json!("1/1")
    );
    let sick = driver
        .wait_script(
            "the unhealthy server",
            &(card("backend-sick", "[data-server]") + "?.dataset.state"),
            |v| v == &json!("unhealthy"),
        )
        .await;
    assert_eq!(sick, json!("unhealthy"));
    assert!(
        driver
            .script(&(card("backend-sick", "[data-reason]") + ".textContent"))
            .await
            .as_str()
            .is_some_and(|t| t.contains("health check")),
        "the reason is shown"
    );
    driver
        .wait_script(
            "the failing server ejected",
            &(card("backend-failing", "[data-server]") + "?.dataset.state"),
            |v| v == &json!("ejected"),
        )
        .await;
    let container = format!("{}-healthy", s.tag);
    assert_eq!(
        driver
            .script(&(card("backend-healthy", "[data-origin]") + ".textContent"))
            .await,
        json!(format!("container {container}"))
    );
    // The bad label: shown with when it was seen.
    let error = driver
        .wait_script(
            "the bad label",
            "return [...document.querySelectorAll('#error-list li')].map(l => l.textContent).join('\\n')",
            |v| v.as_str().is_some_and(|t| t.contains("Hots")),
        )
        .await;
    assert!(
        error
            .as_str()
            .is_some_and(|t| (t.contains("(since ") || t.contains("first "))
                && t.contains(&format!("{}-badlabel", s.tag))),
        "{error}"
    );
    // The overview counts what is failing: the failing and the paused routes.
    let tile = driver
        .script("return document.querySelector('[data-tile=\"Routes\"]').textContent")
        .await;
    assert!(
        tile.as_str()
            .is_some_and(|t| t.contains("1004") && t.contains("3 failing")),
        "{tile}"
    );
    // The chart has points after traffic.
    let points = driver
        .wait_script(
            "points on the requests chart",
            "return Number(document.querySelector('#chart-rate').dataset.points)",
            |v| v.as_u64().is_some_and(|n| n > 0),
        )
        .await;
    assert!(points.as_u64().unwrap_or(0) <= 300, "{points}");
    let polyline = driver
        .script("return document.querySelector('#chart-rate polyline').getAttribute('points').split(' ').length")
        .await;
    assert!(polyline.as_u64().unwrap_or(0) > 0, "{polyline}");
    assert_eq!(
        driver
            .script("return document.querySelector('#live').textContent")
            .await,
        json!("live"),
        "live updates with 1,004 routes"
    );
    driver.screenshot("diagnosis-1440.png").await;

    // The filter narrows 1,000 routes, typed as a user types.
    let filter = driver.find("#filter").await;
    driver.keys(&filter, "gen-09").await;
    let visible = "return [...document.querySelectorAll('#frontends tbody tr')].filter(r => !r.hidden).length";
    driver
        .wait_script("100 routes", visible, |v| v == &json!(100))
        .await;
    driver.keys(&filter, "\u{E00C}").await; // Escape clears it
    driver
        .wait_script("every route again", visible, |v| v == &json!(1004))
        .await;
    driver.keys(&filter, "failing").await;
    let shown = driver
        .wait_script(
            "the failing routes",
            "return [...document.querySelectorAll('#frontends tbody tr')].filter(r => !r.hidden).map(r => r.dataset.frontend + ':' + (r.querySelector('[data-health]')?.dataset.health || 'ok')).sort()",
            |v| v.as_array().is_some_and(|a| a.len() == 3),
        )
        .await;
    let mut expected = vec![format!("{failing}:failing")];
    for b in ["backend-paused", "backend-sick"] {
        expected.push(format!("{}:failing", docker_frontend_of(&p, b).await));
    }
    expected.sort();
    assert_eq!(shown, json!(expected));
    driver.keys(&filter, "\u{E00C}").await;

    // Dark theme follows prefers-color-scheme.
    driver
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]}),
        )
        .await;
    driver
        .wait_script(
            "the dark theme",
            "return getComputedStyle(document.body).backgroundColor",
            |v| v == &json!("rgb(17, 21, 28)"),
        )
        .await;
    driver.script("window.scrollTo(0, 0); return 1").await;
    driver.screenshot("diagnosis-1440-dark.png").await;
    driver.resize(375, 812).await;
    let width = driver
        .script("return [document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    assert!(
        width[0].as_u64() <= width[1].as_u64(),
        "page wider than the viewport: {width}"
    );
    driver
        .script("document.activeElement.blur(); window.scrollTo(0, 0); return 1")
        .await;
    driver.screenshot("diagnosis-375-dark.png").await;
    driver
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": "light"}]}),
        )
        .await;
    driver.screenshot("diagnosis-375.png").await;
    driver.resize(1440, 900).await;

    // The detail view, opened from the keyboard: rule, middlewares, servers with their
    // timeline, charts and recent errors.
    let link = driver
        .find(&format!("tr[data-frontend=\"{failing}\"] a"))
        .await;
    driver.keys(&link, "\u{E007}").await; // Enter
    driver
        .wait_script(
            "the detail view",
            "return document.querySelector('#detail-title').textContent",
            |v| v == &json!(failing),
        )
        .await;
    let facts = driver
        .script("return document.querySelector('#detail-facts').textContent")
        .await;
    assert!(
        facts
            .as_str()
            .is_some_and(|t| t.contains("Host:failing.local")
                && (t.contains("0 of 1 up") || t.contains("1 of 1 up"))),
        "{facts}"
    );
    assert_eq!(
        driver.script("return document.activeElement.id").await,
        json!("detail-title"),
        "focus moves to the view"
    );
    driver
        .wait_script(
            "the server's timeline",
            "return document.querySelector('#detail-servers .timeline')?.getAttribute('aria-label')",
            |v| v.as_str().is_some_and(|t| t.contains("ejected")),
        )
        .await;
    driver
        .wait_script(
            "the recent errors",
            "return document.querySelector('#detail-errors').textContent",
            |v| v.as_str().is_some_and(|t| t.contains("cannot reach")),
        )
        .await;
    driver
        .wait_script(
            "the route's chart",
            "return Number(document.querySelector('#detail-rate').dataset.points)",
            |v| v.as_u64().is_some_and(|n| n > 0),
        )
        .await;
    assert_eq!(
        driver
            .script("return document.querySelector('#home').hidden")
            .await,
        json!(true)
    );
    driver.screenshot("diagnosis-route-1440.png").await;
    // A route with middlewares lists them in order, with their settings.
    driver
        .script("location.hash = '#/route/file/gen-0000'; return 1")
        .await;
    let steps = driver
        .wait_script(
            "the route's middlewares",
            "return [...document.querySelectorAll('#detail-middlewares [data-step]')].map(s => s.dataset.step)",
            |v| v.as_array().is_some_and(|a| !a.is_empty()),
        )
        .await;
    assert_eq!(steps, json!(["whiteList", "secureHeaders"]));
    let settings = driver
        .script("return document.querySelector('#detail-middlewares pre').textContent")
        .await;
    assert!(
        settings.as_str().is_some_and(|t| t.contains("10.0.0.0/8")),
        "{settings}"
    );
    let body = driver.find("body").await;
    driver.keys(&body, "\u{E00C}").await; // Escape: back to every route
    driver
        .wait_script(
            "the routes again",
            "return document.querySelector('#home').hidden",
            |v| v == &json!(false),
        )
        .await;
    bad.finish().await;
    let _ = driver.session_call("DELETE", "", None).await;
}

/// With a configuration that never changes (the aggregator is done once it is loaded), the
/// event stream stays open and sends a traffic sample each second: the page stays "live".
#[tokio::test]
async fn the_event_stream_outlives_a_static_configuration() {
    use support::toml::Toml;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let a = Backend::spawn("one").await;
    let p = Portier::start(
        &Toml::file()
            .web()
            .backend("web", &[(&a, 1)])
            .frontend("site", "web", "Host:site.local")
            .build(),
    );
    let mut stream = tokio::net::TcpStream::connect(p.web.expect("web"))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while text.matches("event: traffic").count() < 3 {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout_at(deadline.into(), stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no three traffic samples in 10 s:\n{text}"))
            .expect("read");
        assert!(n > 0, "the event stream closed:\n{text}");
        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    assert!(text.contains("event: table"), "{text}");
    assert!(
        !text.contains("\r\n0\r\n\r\n"),
        "the chunked stream ended:\n{text}"
    );
}

/// A watched file rewritten every 20 ms is applied while the writes go on (at least every
/// 250 ms after a change), not only once they pause.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_never_stops_changing_is_applied_as_it_goes() {
    let (a, b, p) = start().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, path) = (stop.clone(), p.write("rules.toml", &rules(&a, &b, None)));
        let (ua, ub) = (a.url(), b.url());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 500 {
                n += 1;
                let text = format!(
                    "[backends.web.servers.one]\nurl = \"{ua}\"\n[backends.web.servers.two]\nurl = \"{ub}\"\n\
                     [frontends.v{n}]\nbackend = \"web\"\n[frontends.v{n}.routes.r]\nrule = \"PathPrefix:/v{n}\"\n"
                );
                let _ = std::fs::write(&path, text);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // Distinct configurations seen live within 2 s of writes every 20 ms.
    let mut seen = std::collections::BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let (_, v) = json(&p, "/api/providers/file/frontends").await;
        if let Some(name) = v.as_object().and_then(|m| m.keys().next().cloned()) {
            seen.insert(name);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = writer.join();
    assert!(
        seen.len() >= 4,
        "only {seen:?} went live in 2 s of continuous writes"
    );
}

/// Each server's request rate in the API follows the traffic it gets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_request_rates_follow_the_traffic() {
    let (_a, _b, p) = start().await;
    let load = support::load::Load::start(p.http(), "site.local", 40, 2, Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(5);
    let rates = loop {
        let (_, v) = json(&p, "/api/providers/file/backends/web/servers").await;
        let rates: Vec<f64> = v
            .as_object()
            .map(|m| {
                m.values()
                    .filter_map(|s| s["requestRate"].as_f64())
                    .collect()
            })
            .unwrap_or_default();
        if rates.len() == 2 && rates.iter().all(|r| *r > 0.0) {
            break rates;
        }
        assert!(Instant::now() < deadline, "no request rates: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let report = load.finish().await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(
        rates.iter().sum::<f64>() < 200.0,
        "{rates:?} for 40 requests/s"
    );
}

/// A Traefik 3 dynamic file on the page: its routers among the routes (rule, syntax, their
/// middlewares by name with their settings), its middlewares in their own panel with who uses
/// them, and a router refused for a missing middleware flagged failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_traefik_v3_routers_and_middlewares() {
    let a = Backend::spawn("one").await;
    let dynamic = format!(
        "\
http:
  routers:
    shop:
      rule: Host(`shop.local`) && PathPrefix(`/api`)
      service: shop
      middlewares: [strip, secure]
    broken:
      rule: Host(`broken.local`)
      service: shop
      middlewares: [missing]
  middlewares:
    strip:
      stripPrefix:
        prefixes: [/api]
    secure:
      headers:
        frameDeny: true
  services:
    shop:
      loadBalancer:
        servers:
          - url: {}
",
        a.url()
    );
    let p = Portier::start_with(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[web]\naddress = \"127.0.0.1:0\"\n[file]\nfilename = \"dynamic.yml\"\n",
        &[("dynamic.yml", &dynamic)],
        &[],
    );
    let driver = Driver::start().await;
    let url = format!("http://{}/dashboard/", p.web.expect("web"));
    driver
        .session_call("POST", "/url", Some(json!({"url": url})))
        .await;
    let text = driver
        .wait_text("the routers and the middlewares panel", |t| {
            t.contains("Host(`shop.local`) && PathPrefix(`/api`)")
                && t.contains("Middlewares")
                && t.contains("strip@file")
        })
        .await;
    assert!(text.contains("broken"), "{text}");
    let used_by = driver
        .script("return document.querySelector('[data-middleware=\"strip@file\"]').textContent")
        .await;
    let used_by = used_by.as_str().unwrap_or_default();
    assert!(used_by.contains("stripprefix"), "{used_by}");
    assert!(used_by.contains("shop@file"), "{used_by}");
    let chip = driver
        .script(
            "return document.querySelector('[data-frontend=\"shop\"] [data-middlewares] .chip').title",
        )
        .await;
    assert!(
        chip.as_str().unwrap_or_default().contains("/api"),
        "the chip shows the middleware's settings: {chip}"
    );
    let level = driver
        .script("return document.querySelector('[data-frontend=\"broken\"]').textContent")
        .await;
    assert!(
        level.as_str().unwrap_or_default().contains("failing"),
        "the router without its middleware is failing: {level}"
    );
    let tile = driver
        .script("return document.querySelector('[data-tile=\"Middlewares\"] b').textContent")
        .await;
    assert_eq!(
        tile,
        json!("2"),
        "the overview counts the declared middlewares"
    );
    let failing = driver.text().await;
    assert!(
        failing.contains("missing@file"),
        "the failing route says why: {failing}"
    );
    driver.resize(1440, 1500).await;
    let shot = driver.screenshot("dashboard-traefik-v3.png").await;
    eprintln!("screenshot: {}", shot.display());
}

/// TCP and UDP routers on the page: rule, servers with their state, counters moving.
#[tokio::test]
async fn the_page_shows_tcp_and_udp_routers_with_their_counters() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let echo_addr = echo.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 64];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    let yml = "\
entryPoints:
  tcp:
    address: 127.0.0.1:0
  dns:
    address: 127.0.0.1:0/udp
  traefik:
    address: 127.0.0.1:0
api:
  insecure: true
providers:
  file:
    filename: dynamic.yml
";
    let dynamic = format!(
        "\
tcp:
  routers:
    echo:
      entryPoints: [tcp]
      rule: HostSNI(`*`)
      service: echo
  services:
    echo:
      loadBalancer:
        servers:
          - address: {echo_addr}
udp:
  routers:
    dns:
      service: dns
  services:
    dns:
      loadBalancer:
        servers:
          - address: 127.0.0.1:9
"
    );
    let p = Portier::start_named("traefik.yml", yml, &[("dynamic.yml", &dynamic)], &[]);
    let mut c = tokio::net::TcpStream::connect(p.entry_point("tcp"))
        .await
        .expect("connect");
    c.write_all(b"hello").await.expect("write");
    let mut back = [0u8; 5];
    c.read_exact(&mut back).await.expect("echo");
    let driver = Driver::start().await;
    let url = format!("http://{}/dashboard/", p.entry_point("traefik"));
    driver
        .session_call("POST", "/url", Some(json!({"url": url})))
        .await;
    let row = driver
        .wait_script(
            "the TCP router with its open connection",
            "return document.querySelector('[data-l4-router=\"echo@file\"]')?.textContent || ''",
            |v| {
                v.as_str()
                    .is_some_and(|t| t.contains("1 open") && t.contains("HostSNI(`*`)"))
            },
        )
        .await;
    let row = row.as_str().unwrap_or_default();
    assert!(
        row.contains(&echo_addr.to_string()) && row.contains("up"),
        "{row}"
    );
    let udp = driver
        .script("return document.querySelector('[data-l4-router=\"dns@file\"]')?.textContent || ''")
        .await;
    assert!(
        udp.as_str()
            .is_some_and(|t| t.contains("udp") && t.contains("127.0.0.1:9")),
        "{udp}"
    );
    drop(c);
}
