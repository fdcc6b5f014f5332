//! The gateway half: the middlewares of frontends, backends and entrypoints, from the file
//! provider and from labels on real containers, on real sockets.
//!
//! Rule zero throughout: a protection portier cannot honour (not enforced yet, or a value that
//! cannot be read) never leaves a route open. Its frontend stays in the table and answers 503
//! (a catch-all below it gets nothing), and the error shows in the API, in
//! `portier_config_errors` and in `portier check` (exit 2).

mod support;

use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt;
use md5::{Digest, Md5};
use serde_json::Value;
use support::toml::Toml;
use support::{Backend, Portier, TestBody, binary, check, get, send};

/// user `test`, password `test` (Traefik's documented example).
const APR1_TEST: &str = "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/";
/// htdigest line for user `test`, realm `traefik`, password `test`.
const DIGEST_TEST: &str = "test:traefik:a2688e031edb4be6a3797f3882655c05";

fn basic(user_pass: &str) -> String {
    format!("Basic {}", STANDARD.encode(user_pass))
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Authorization: Digest` answer to a challenge, for GET `uri`.
fn digest_answer(challenge: &str, password: &str, uri: &str) -> String {
    let nonce = challenge
        .split("nonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("nonce in challenge");
    let ha1 = md5_hex(&format!("test:traefik:{password}"));
    let ha2 = md5_hex(&format!("GET:{uri}"));
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    format!(
        "Digest username=\"test\", realm=\"traefik\", nonce=\"{nonce}\", uri=\"{uri}\", qop=auth, nc=00000001, cnonce=\"c0ffee\", response=\"{response}\""
    )
}

/// A catch-all (lowest priority) and one frontend per middleware, all on `open` (which is
/// also the forward-auth server).
fn middleware_rules(open: &Backend) -> String {
    format!(
        r#"[backends.open.servers.s]
url = "{url}"
[backends.capped.servers.s]
url = "{url}"
[backends.capped.maxConn]
amount = 1
extractorfunc = "request.host"
[frontends.catchall]
backend = "open"
priority = 1
[frontends.catchall.routes.r]
rule = "PathPrefix:/"
[frontends.basic]
backend = "open"
[frontends.basic.routes.r]
rule = "Host:basic.local"
[frontends.basic.auth]
headerField = "X-WebAuth-User"
[frontends.basic.auth.basic]
removeHeader = true
users = ["{APR1_TEST}"]
[frontends.digest]
backend = "open"
[frontends.digest.routes.r]
rule = "Host:digest.local"
[frontends.digest.auth.digest]
usersFile = "digest.htdigest"
[frontends.deny]
backend = "open"
whitelistSourceRange = ["10.99.0.0/16"]
[frontends.deny.routes.r]
rule = "Host:deny.local"
[frontends.allow]
backend = "open"
[frontends.allow.routes.r]
rule = "Host:allow.local"
[frontends.allow.whiteList]
sourceRange = ["10.99.0.0/16", "::1/128"]
useXForwardedFor = true
[frontends.limited]
backend = "open"
[frontends.limited.routes.r]
rule = "Host:limited.local"
[frontends.limited.ratelimit]
extractorfunc = "client.ip"
[frontends.limited.ratelimit.rateset.a]
period = "10s"
average = 1
burst = 2
[frontends.secure]
backend = "open"
[frontends.secure.routes.r]
rule = "Host:secure.local"
[frontends.secure.headers]
SSLRedirect = true
[frontends.hsts]
backend = "open"
[frontends.hsts.routes.r]
rule = "Host:hsts.local"
[frontends.hsts.headers]
STSSeconds = 315360000
STSIncludeSubdomains = true
forceSTSHeader = true
frameDeny = true
contentTypeNosniff = true
allowedHosts = ["hsts.local"]
[frontends.hsts.headers.customRequestHeaders]
X-Custom = "1"
[frontends.hsts.headers.customResponseHeaders]
X-Served-By = "portier"
[frontends.capped]
backend = "capped"
[frontends.capped.routes.r]
rule = "Host:capped.local"
[frontends.forward]
backend = "open"
[frontends.forward.routes.r]
rule = "Host:forward.local"
[frontends.forward.auth.forward]
address = "{url}/auth"
authResponseHeaders = ["X-Auth-User", "X-Auth-Seen"]
[frontends.forwarddown]
backend = "open"
[frontends.forwarddown.routes.r]
rule = "Host:forwarddown.local"
[frontends.forwarddown.auth.forward]
address = "http://127.0.0.1:9/auth"
[frontends.forwardbad]
backend = "open"
[frontends.forwardbad.routes.r]
rule = "Host:forwardbad.local"
[frontends.forwardbad.auth.forward]
address = "{url}/auth"
[frontends.forwardbad.auth.forward.tls]
ca = "missing-ca.pem"
[frontends.badrange]
backend = "open"
[frontends.badrange.routes.r]
rule = "Host:badrange.local"
[frontends.badrange.whiteList]
sourceRange = ["10.0.0.0/33"]
"#,
        url = open.url()
    )
}

async fn json(p: &Portier, path: &str) -> Value {
    let r = get(p.web.expect("web"), "localhost", path).await;
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

async fn with_headers(p: &Portier, host: &str, path: &str, h: &[(&str, &str)]) -> support::Reply {
    send(p.http(), "GET", host, path, h, TestBody::empty()).await
}

#[tokio::test]
async fn file_form_middlewares_guard_their_routes() {
    let open = Backend::spawn("open").await;
    let head = Toml::http()
        .trust_loopback()
        .web()
        .raw("[file]\nfilename = \"rules.toml\"")
        .build();
    let p = Portier::start_with(
        &head,
        &[
            ("rules.toml", &middleware_rules(&open)),
            ("digest.htdigest", DIGEST_TEST),
        ],
        &[],
    );
    assert_eq!(get(p.http(), "other.local", "/").await.status, 200);

    // Basic auth: 401 with the realm, then the user's name upstream, Authorization removed.
    let r = get(p.http(), "basic.local", "/").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"traefik\"");
    let r = with_headers(
        &p,
        "basic.local",
        "/",
        &[("authorization", &basic("test:nope"))],
    )
    .await;
    assert_eq!(r.status, 401);
    let r = with_headers(
        &p,
        "basic.local",
        "/",
        &[("authorization", &basic("test:test"))],
    )
    .await;
    assert_eq!(r.status, 200);
    let echo = r.echo();
    assert_eq!(echo.header("x-webauth-user"), Some("test"));
    assert_eq!(echo.header("authorization"), None);

    // Digest auth from a users file: challenge, then the answer.
    let r = get(p.http(), "digest.local", "/d").await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        challenge.starts_with("Digest realm=\"traefik\""),
        "{challenge}"
    );
    let good = digest_answer(&challenge, "test", "/d");
    let r = with_headers(&p, "digest.local", "/d", &[("authorization", &good)]).await;
    assert_eq!(r.status, 200);
    let bad = digest_answer(&challenge, "nope", "/d");
    let r = with_headers(&p, "digest.local", "/d", &[("authorization", &bad)]).await;
    assert_eq!(r.status, 401);

    // Allowlists: 403 for a peer outside the ranges; X-Forwarded-For only where asked.
    let r = get(p.http(), "deny.local", "/").await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (403, "Forbidden"));
    let xff = [("x-forwarded-for", "10.99.1.2")];
    assert_eq!(with_headers(&p, "deny.local", "/", &xff).await.status, 403);
    assert_eq!(get(p.http(), "allow.local", "/").await.status, 403);
    assert_eq!(with_headers(&p, "allow.local", "/", &xff).await.status, 200);

    // Rate limit: a burst of 2, then 429 with Retry-After.
    assert_eq!(get(p.http(), "limited.local", "/").await.status, 200);
    assert_eq!(get(p.http(), "limited.local", "/").await.status, 200);
    let r = get(p.http(), "limited.local", "/").await;
    assert_eq!(r.status, 429);
    let retry: u64 = r.headers["retry-after"]
        .to_str()
        .expect("a")
        .parse()
        .expect("secs");
    assert!((1..=10).contains(&retry), "{retry}");

    // Secure headers: the SSL redirect, then STS (forced), frame and sniffing headers, the
    // allowed hosts, and custom headers both ways.
    let r = get(p.http(), "secure.local", "/a?b=1").await;
    assert_eq!(r.status, 301);
    assert_eq!(r.headers["location"], "https://secure.local/a?b=1");
    let r = get(p.http(), "hsts.local", "/").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.headers["strict-transport-security"],
        "max-age=315360000; includeSubdomains"
    );
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert_eq!(r.headers["x-content-type-options"], "nosniff");
    assert_eq!(r.headers["x-served-by"], "portier");
    assert_eq!(r.echo().header("x-custom"), Some("1"));
    let r = with_headers(&p, "hsts.local:8000", "/", &[]).await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (500, "Bad Host"));

    // maxConn 1 per host: while one answer is still streaming (its head is here, its body is
    // not), a second request gets 429; once that body has ended, requests pass again.
    let held = support::client()
        .request(
            http::Request::get(format!("http://{}/stream/1", p.http()))
                .header("host", "capped.local")
                .body(TestBody::empty())
                .expect("request"),
        )
        .await
        .expect("the streaming answer's head");
    assert_eq!(held.status(), 200);
    assert_eq!(get(p.http(), "capped.local", "/").await.status, 429);
    let ticks = held.into_body().collect().await.expect("body").to_bytes();
    assert!(ticks.starts_with(b"tick"), "{ticks:?}");
    support::docker::eventually(Duration::from_secs(5), "the slot freed", async || {
        (get(p.http(), "capped.local", "/").await.status == 200).then_some(())
    })
    .await;

    forward_auth_answers(&p).await;

    // Not readable (a /33) or not loadable (a missing CA file): 503, never open.
    for host in ["forwardbad.local", "badrange.local"] {
        let r = get(p.http(), host, "/").await;
        assert_eq!(r.status, 503, "{host} must not be served open");
    }
    let file = json(&p, "/api/providers/file").await;
    let errors = json(&p, "/api/providers").await.to_string();
    let rules = p.dir.path().join("rules.toml");
    for want in [
        format!("file {}:", rules.display()),
        "frontend forwardbad".to_string(),
        "auth.forward.tls: missing-ca.pem".to_string(),
        "frontend badrange key whiteList.sourceRange".to_string(),
        "\\\"10.0.0.0/33\\\" is not an IP address or CIDR range".to_string(),
    ] {
        assert!(errors.contains(&want), "missing {want:?} in {errors}");
    }

    // The API shows each frontend's middlewares, users by name only.
    assert_eq!(
        file["frontends"]["basic"]["auth"]["basic"]["users"][0],
        "test"
    );
    assert!(
        !file.to_string().contains("$apr1$"),
        "hashes must not be shown"
    );
    assert_eq!(
        file["frontends"]["limited"]["rateLimit"]["rateSet"]["a"]["average"],
        1
    );

    let (code, _, err) = check(&p.config);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing-ca.pem"), "{err}");
}

/// `forward.local` asks the test backend's `/auth`: the allowed request carries the auth
/// server's headers (a spoofed one replaced), the refused ones get the auth server's answer,
/// and an auth server that is down fails the request with 500, never open.
async fn forward_auth_answers(p: &Portier) {
    let r = get(p.http(), "forward.local", "/").await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (401, "no token"));
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"test\"");
    assert_eq!(r.headers["x-auth-server"], "yes");
    let login = [("x-token", "login")];
    let r = with_headers(p, "forward.local", "/", &login).await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (302, "go login"));
    assert_eq!(r.headers["location"], "https://login.test/");
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let good = [("x-token", "good"), ("x-auth-user", "mallory")];
    let r = with_headers(p, "forward.local", "/p?q=1", &good).await;
    assert_eq!(r.status, 200);
    let echo = r.echo();
    assert_eq!(echo.header("x-auth-user"), Some("alice"));
    assert_eq!(
        echo.header("x-auth-seen"),
        Some("GET method=GET uri=/p?q=1 host=forward.local proto=http for=127.0.0.1")
    );
    assert_eq!(echo.header("x-token"), Some("good"));
    let r = get(p.http(), "forwarddown.local", "/").await;
    assert_eq!(r.status, 500, "auth server down: {}", r.text());
}

#[tokio::test]
async fn entrypoint_auth_and_allowlist_guard_every_request() {
    let open = Backend::spawn("open").await;
    let toml = format!(
        r#"defaultEntryPoints = ["http", "walled", "gate"]
[entryPoints.http]
address = "127.0.0.1:0"
[entryPoints.http.auth]
headerField = "X-User"
[entryPoints.http.auth.basic]
users = ["{APR1_TEST}"]
[entryPoints.walled]
address = "127.0.0.1:0"
[entryPoints.walled.whiteList]
sourceRange = ["10.99.0.0/16"]
[entryPoints.gate]
address = "127.0.0.1:0"
[entryPoints.gate.auth.forward]
address = "{url}/auth"
authResponseHeaders = ["X-Auth-User"]
[file]
[backends.b.servers.s]
url = "{url}"
[frontends.f]
backend = "b"
[frontends.f.routes.r]
rule = "Host:a.local"
"#,
        url = open.url()
    );
    let p = Portier::start(&toml);
    let r = get(p.http(), "a.local", "/").await;
    assert_eq!(r.status, 401, "routed or not, the entrypoint asks first");
    assert_eq!(get(p.http(), "nothing.local", "/").await.status, 401);
    let r = with_headers(
        &p,
        "a.local",
        "/",
        &[("authorization", &basic("test:test"))],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.echo().header("x-user"), Some("test"));
    let walled = p.entry_points["walled"];
    assert_eq!(get(walled, "a.local", "/").await.status, 403);
    let gate = p.entry_points["gate"];
    assert_eq!(get(gate, "nothing.local", "/").await.status, 401);
    let r = send(
        gate,
        "GET",
        "a.local",
        "/",
        &[("x-token", "good")],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.echo().header("x-auth-user"), Some("alice"));
}

#[test]
fn rule_zero_entrypoint_protections_refuse_the_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        // clientCA is read; a spelling the schema does not read asks for it all the same.
        (
            "[entryPoints.http.tls.ClientCA]\nfiles = [\"ca.pem\"]\n",
            "entryPoints.http.tls.ClientCA",
            "client certificates (mTLS)",
        ),
        // A frontend key in a spelling portier does not read is refused, not dropped.
        (
            "[file]\n[frontends.f]\nbackend = \"b\"\n[frontends.f.WhiteList]\nsourceRange = [\"10.0.0.0/8\"]\n",
            "frontends.f.WhiteList",
            "an IP allowlist",
        ),
    ];
    for (i, (extra, key, what)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("t{i}.toml"));
        std::fs::write(
            &path,
            format!("[entryPoints.http]\naddress = \"127.0.0.1:0\"\n{extra}"),
        )
        .expect("write");
        let want = format!(
            "{}: {key}: asks for {what}, which portier does not enforce here yet",
            path.display()
        );
        let (code, _, err) = check(&path);
        assert_eq!(code, 2, "{extra}\n{err}");
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
        let out = Command::new(binary())
            .arg("-c")
            .arg(&path)
            .output()
            .expect("run portier");
        assert_eq!(
            out.status.code(),
            Some(2),
            "portier must not start: {extra}"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains(&want));
    }
    // A clientCA file that cannot be read: portier does not start without it.
    let path = dir.path().join("ca.toml");
    std::fs::write(
        &path,
        "defaultEntryPoints = [\"https\"]\n[entryPoints.https]\naddress = \"127.0.0.1:0\"\n[entryPoints.https.tls]\n[entryPoints.https.tls.clientCA]\nfiles = [\"missing.pem\"]\n",
    )
    .expect("write");
    let out = Command::new(binary())
        .arg("-c")
        .arg(&path)
        .output()
        .expect("run portier");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("entrypoint https: certificate clientCA ")
            && err.contains("missing.pem: cannot read"),
        "{err}"
    );
}

/// Every protective label of Traefik 1.7 (reference §1.3–1.5), plain and in segment form, and
/// what a request answers when a container carries it alone: enforced (401, 403, 301, 500, or
/// 200 where the protection lets a first plain request through) or refused (503).
const PROTECTIVE_LABELS: [(&str, u16); 15] = [
    (
        "traefik.frontend.auth.basic.users=test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
        401,
    ),
    (
        "traefik.frontend.auth.basic=test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
        401,
    ),
    (
        "traefik.frontend.auth.digest.users=test:traefik:a2688e031edb4be6a3797f3882655c05",
        401,
    ),
    // An auth server that cannot be reached fails the request (500), never lets it through.
    (
        "traefik.frontend.auth.forward.address=http://127.0.0.1:9/auth",
        500,
    ),
    ("traefik.frontend.auth.jwt.secret=s3cret", 401),
    ("traefik.frontend.whiteList.sourceRange=10.99.0.0/16", 403),
    ("traefik.frontend.whitelistSourceRange=10.99.0.0/16", 403),
    // A rate limit needs both an extractor and a rate: either alone cannot be honoured.
    ("traefik.frontend.rateLimit.extractorFunc=client.ip", 503),
    ("traefik.frontend.rateLimit.rateSet.a.average=1", 503),
    ("traefik.frontend.headers.SSLRedirect=true", 301),
    // STS goes on TLS responses only; plain HTTP is served without it, as in Traefik.
    ("traefik.frontend.headers.STSSeconds=315360000", 200),
    (
        "traefik.frontend.headers.allowedHosts=secret.localhost",
        500,
    ),
    ("traefik.backend.maxconn.amount=1", 200),
    // A body limit lets a request without a body through.
    ("traefik.backend.buffering.maxRequestBodyBytes=10", 200),
    // A segment's auth guards the segment's route (the container's only one here).
    (
        "traefik.admin.frontend.auth.basic.users=test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
        401,
    ),
];

#[tokio::test]
async fn labels_guard_containers_and_what_cannot_be_honoured_answers_503() {
    use support::docker::{Scope, eventually};
    let s = Scope::new("rule-zero");
    let auth_server = Backend::spawn("auth").await;
    let p = Portier::start(&format!(
        "{}{}",
        Toml::http().trust_loopback().web().build(),
        s.docker_toml("")
    ));
    s.run(
        "catchall",
        &[
            "-l",
            "traefik.frontend.rule=PathPrefix:/",
            "-l",
            "traefik.frontend.priority=1",
        ],
    );
    let mut args = vec!["-l", "traefik.frontend.rule=Host:secret.localhost"];
    for (l, _) in PROTECTIVE_LABELS {
        args.extend(["-l", l]);
    }
    s.run("secret", &args);
    // One protective label at a time, too: each alone is enough.
    for (i, (l, _)) in PROTECTIVE_LABELS.iter().enumerate() {
        let rule = format!("traefik.frontend.rule=Host:p{i}.localhost");
        s.run(&format!("p{i}"), &["-l", &rule, "-l", l]);
    }
    // A container guarded the way a user would: auth, allowlist, rate limit, headers, maxconn.
    s.run(
        "guarded",
        &[
            "-l",
            "traefik.frontend.rule=Host:guarded.localhost",
            "-l",
            &format!("traefik.frontend.auth.basic.users={APR1_TEST}"),
            "-l",
            "traefik.frontend.auth.headerField=X-WebAuth-User",
            "-l",
            "traefik.frontend.whiteList.sourceRange=127.0.0.1/32, ::1",
            "-l",
            "traefik.frontend.rateLimit.extractorFunc=client.ip",
            "-l",
            "traefik.frontend.rateLimit.rateSet.burst.period=10s",
            "-l",
            "traefik.frontend.rateLimit.rateSet.burst.average=1",
            "-l",
            "traefik.frontend.rateLimit.rateSet.burst.burst=2",
            "-l",
            "traefik.frontend.headers.customResponseHeaders=X-Guarded:yes",
            "-l",
            "traefik.frontend.headers.frameDeny=true",
            "-l",
            "traefik.backend.maxconn.amount=5",
        ],
    );
    // JWT with a secret, the subject and a claim passed on.
    s.run(
        "jwt",
        &[
            "-l",
            "traefik.frontend.rule=Host:jwt.localhost",
            "-l",
            "traefik.frontend.auth.jwt.secret=s3cret",
            "-l",
            "traefik.frontend.auth.jwt.claimsHeaders=sub:X-Jwt-Sub||role:X-Role",
        ],
    );
    // Forward auth to a real auth server on the host.
    s.run(
        "forwarded",
        &[
            "-l",
            "traefik.frontend.rule=Host:forwarded.localhost",
            "-l",
            &format!(
                "traefik.frontend.auth.forward.address={}/auth",
                auth_server.url()
            ),
            "-l",
            "traefik.frontend.auth.forward.authResponseHeaders=X-Auth-User, X-Auth-Seen",
            "-l",
            "traefik.frontend.auth.forward.trustForwardHeader=true",
        ],
    );
    let wait = std::time::Duration::from_secs(10);
    eventually(wait, "every container seen", async || {
        let r = get(p.http(), "other.localhost", "/").await;
        let api = json(&p, "/api/providers/docker").await;
        let seen = api["frontends"].as_object().map_or(0, |f| f.len());
        (r.status == 200 && seen == PROTECTIVE_LABELS.len() + 5).then_some(())
    })
    .await;
    let r = get(p.http(), "secret.localhost", "/").await;
    assert_eq!(r.status, 503, "served open: {}", r.text());
    for (i, (label, status)) in PROTECTIVE_LABELS.iter().enumerate() {
        let host = format!("p{i}.localhost");
        let r = get(p.http(), &host, "/").await;
        assert_eq!(r.status, *status, "{label}");
    }

    let r = get(p.http(), "guarded.localhost", "/").await;
    assert_eq!(r.status, 401);
    let auth = basic("test:test");
    let r = with_headers(&p, "guarded.localhost", "/", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers["x-guarded"], "yes");
    assert_eq!(r.headers["x-frame-options"], "DENY");
    assert!(
        r.text()
            .to_ascii_lowercase()
            .contains("x-webauth-user: test"),
        "{}",
        r.text()
    );
    let r = with_headers(&p, "guarded.localhost", "/", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 200);
    let r = with_headers(&p, "guarded.localhost", "/", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 429, "burst of 2 spent");

    let token = hs256(
        serde_json::json!({"sub": "carol", "role": "admin", "exp": now() + 60}),
        "s3cret",
    );
    let r = with_headers(
        &p,
        "jwt.localhost",
        "/",
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await;
    assert_eq!(r.status, 200);
    let text = r.text().to_ascii_lowercase();
    assert!(
        text.contains("x-jwt-sub: carol") && text.contains("x-role: admin"),
        "{text}"
    );
    assert_eq!(get(p.http(), "jwt.localhost", "/").await.status, 401);

    let r = get(p.http(), "forwarded.localhost", "/").await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (401, "no token"));
    let token = [("x-token", "good"), ("x-forwarded-for", "198.51.100.4")];
    let r = with_headers(&p, "forwarded.localhost", "/x", &token).await;
    assert_eq!(r.status, 200);
    let text = r.text().to_ascii_lowercase();
    assert!(text.contains("x-auth-user: alice"), "{text}");
    assert!(
        text.contains("x-auth-seen: get method=get uri=/x host=forwarded.localhost proto=http for=198.51.100.4, 127.0.0.1"),
        "trustForwardHeader keeps the client's X-Forwarded-For: {text}"
    );

    let api = json(&p, "/api/providers/docker").await;
    let errors = api["errors"].to_string();
    for (l, status) in PROTECTIVE_LABELS {
        let key = l.split('=').next().unwrap_or(l);
        let want = format!("container {}-secret label {key}", s.tag);
        let refused = status == 503 && !key.contains("rateLimit");
        assert_eq!(errors.contains(&want), refused, "{want:?} in {errors}");
    }
    let guarded = api["frontends"]
        .as_object()
        .and_then(|f| {
            f.values()
                .find(|f| f["routes"].to_string().contains("guarded"))
        })
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(guarded["auth"]["headerField"], "X-WebAuth-User");
    assert_eq!(guarded["whiteList"]["sourceRange"][0], "127.0.0.1/32");

    // `portier check` reads the same containers and fails, naming them.
    let (code, out, err) = check(&p.config);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "container {}-secret label traefik.frontend.rateLimit.rateSet.a: ",
            s.tag
        )),
        "{err}"
    );
}

/// Seconds since the epoch.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn hs256(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token")
}

/// A P-256 key: its JWKS (kid `k1`) and a signer of ES256 tokens with it.
fn es256_key() -> (String, jsonwebtoken::EncodingKey) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let point = key.public_key_raw();
    let (x, y) = (&point[1..33], &point[33..65]);
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "kid": "k1", "use": "sig", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    }]});
    let signer =
        jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).expect("signer");
    (jwks.to_string(), signer)
}

#[tokio::test]
async fn jwt_tokens_are_verified_by_secret_or_jwks_and_their_claims_passed_on() {
    let open = Backend::spawn("open").await;
    let (jwks, signer) = es256_key();
    open.set_jwks(&jwks);
    let toml = format!(
        "{}[file]\n[backends.b.servers.s]\nurl = \"{url}\"\n\
         [frontends.hs]\nbackend = \"b\"\n[frontends.hs.routes.r]\nrule = \"Host:hs.local\"\n\
         [frontends.hs.auth]\nheaderField = \"X-User\"\n[frontends.hs.auth.jwt]\nsecret = \"s3cret\"\nissuer = \"https://issuer.test\"\naudience = \"api\"\n\
         [frontends.hs.auth.jwt.claimsHeaders]\nemail = \"X-Email\"\n\
         [frontends.es]\nbackend = \"b\"\n[frontends.es.routes.r]\nrule = \"Host:es.local\"\n\
         [frontends.es.auth.jwt]\njwksUrl = \"{url}/jwks\"\nalgorithms = [\"ES256\"]\n\
         [frontends.bad]\nbackend = \"b\"\n[frontends.bad.routes.r]\nrule = \"Host:bad.local\"\n\
         [frontends.bad.auth.jwt]\nsecret = \"x\"\njwksUrl = \"{url}/jwks\"\n",
        Toml::http().web().build(),
        url = open.url()
    );
    let p = Portier::start(&toml);
    let bearer = |t: &str| format!("Bearer {t}");
    // HS256 with a secret: the subject becomes the user, a claim a header.
    let good = hs256(
        serde_json::json!({"sub": "alice", "email": "a@x.test", "iss": "https://issuer.test", "aud": "api", "exp": now() + 60}),
        "s3cret",
    );
    let r = with_headers(
        &p,
        "hs.local",
        "/",
        &[("authorization", &bearer(&good)), ("x-email", "spoofed")],
    )
    .await;
    assert_eq!(r.status, 200);
    let echo = r.echo();
    assert_eq!(echo.header("x-user"), Some("alice"));
    assert_eq!(echo.header("x-email"), Some("a@x.test"));
    let r = get(p.http(), "hs.local", "/").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"traefik\"");
    let expired = hs256(
        serde_json::json!({"sub": "alice", "iss": "https://issuer.test", "aud": "api", "exp": now() - 3600}),
        "s3cret",
    );
    let r = with_headers(&p, "hs.local", "/", &[("authorization", &bearer(&expired))]).await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        challenge.contains("error=\"invalid_token\"") && challenge.contains("ExpiredSignature"),
        "{challenge}"
    );
    // ES256 with keys from a JWKS URL, fetched in the background.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("k1".into());
    let es = jsonwebtoken::encode(
        &header,
        &serde_json::json!({"sub": "bob", "exp": now() + 60}),
        &signer,
    )
    .expect("token");
    support::docker::eventually(Duration::from_secs(5), "the JWKS loaded", async || {
        let r = with_headers(&p, "es.local", "/", &[("authorization", &bearer(&es))]).await;
        (r.status == 200).then_some(())
    })
    .await;
    let forged = hs256(
        serde_json::json!({"sub": "bob", "exp": now() + 60}),
        "s3cret",
    );
    let r = with_headers(&p, "es.local", "/", &[("authorization", &bearer(&forged))]).await;
    assert_eq!(r.status, 401, "an HS256 token where ES256 is asked for");
    // Two key sources: refused, with the reason.
    assert_eq!(get(p.http(), "bad.local", "/").await.status, 503);
    let errors = json(&p, "/api/providers/file").await["errors"].to_string();
    assert!(
        errors.contains("set exactly one of secret, publicKey and jwksUrl"),
        "{errors}"
    );
}
