//! The gateway half: protections asked for on frontends, backends and entrypoints.
//!
//! Rule zero first: a protection portier does not enforce never leaves a route open. Its
//! frontend stays in the table and answers 503 (a catch-all below it gets nothing), and the
//! error shows in the API, in `portier_config_errors` and in `portier check` (exit 2).

mod support;

use std::process::Command;

use serde_json::Value;
use support::toml::Toml;
use support::{Backend, Portier, binary, check, get};

/// A catch-all frontend (lowest priority) and one frontend per protection, all on `open`.
fn protected_rules(open: &Backend) -> String {
    format!(
        r#"[backends.open.servers.s]
url = "{url}"
[backends.capped.servers.s]
url = "{url}"
[backends.capped.maxConn]
amount = 10
extractorfunc = "client.ip"
[frontends.catchall]
backend = "open"
priority = 1
[frontends.catchall.routes.r]
rule = "PathPrefix:/"
[frontends.basic]
backend = "open"
[frontends.basic.routes.r]
rule = "Host:basic.local"
[frontends.basic.auth.basic]
users = ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
[frontends.allow]
backend = "open"
whitelistSourceRange = ["10.99.0.0/16"]
[frontends.allow.routes.r]
rule = "Host:allow.local"
[frontends.limited]
backend = "open"
[frontends.limited.routes.r]
rule = "Host:limited.local"
[frontends.limited.ratelimit]
extractorfunc = "client.ip"
[frontends.limited.ratelimit.rateset.a]
period = "10s"
average = 1
burst = 1
[frontends.secure]
backend = "open"
[frontends.secure.routes.r]
rule = "Host:secure.local"
[frontends.secure.headers]
STSSeconds = 315360000
frameDeny = true
[frontends.custom]
backend = "open"
passTLSCert = true
[frontends.custom.routes.r]
rule = "Host:custom.local"
[frontends.custom.headers.customRequestHeaders]
X-Custom = "1"
[frontends.capped]
backend = "capped"
[frontends.capped.routes.r]
rule = "Host:capped.local"
"#,
        url = open.url()
    )
}

async fn json(p: &Portier, path: &str) -> Value {
    let r = get(p.web.expect("web"), "localhost", path).await;
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn rule_zero_file_frontends_asking_for_protections_answer_503() {
    let open = Backend::spawn("open").await;
    let head = Toml::http()
        .web()
        .raw("checkNewVersionn = false")
        .raw("[file]\nfilename = \"rules.toml\"")
        .build();
    let p = Portier::start_with(&head, &[("rules.toml", &protected_rules(&open))], &[]);

    // The catch-all serves what is not claimed; a frontend that only sets custom headers is
    // not a protection and is served.
    assert_eq!(get(p.http(), "other.local", "/").await.status, 200);
    assert_eq!(get(p.http(), "custom.local", "/").await.status, 200);
    for host in [
        "basic.local",
        "allow.local",
        "limited.local",
        "secure.local",
        "capped.local",
    ] {
        let r = get(p.http(), host, "/").await;
        assert_eq!(r.status, 503, "{host} must not be served open");
        assert_eq!(r.text(), "Service Unavailable", "{host}");
    }

    let file = json(&p, "/api/providers/file").await;
    assert_eq!(
        file["frontends"]["basic"]["unenforced"][0]
            .as_str()
            .map(|s| s.starts_with("key auth (file ")),
        Some(true),
        "{file}"
    );
    assert_eq!(
        file["backends"]["capped"]["unenforced"][0]
            .as_str()
            .map(|s| s.starts_with("key maxConn (file ")),
        Some(true),
        "{file}"
    );
    assert!(file["frontends"]["catchall"].get("unenforced").is_none());
    let errors: Vec<String> = file["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["source"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(errors.len(), 5, "{errors:#?}");
    let rules = p.dir.path().join("rules.toml");
    let want = [
        format!(
            "file {}:17:18 frontend basic key auth: asks for authentication",
            rules.display()
        ),
        format!(
            "file {}:21:24 frontend allow key whitelistSourceRange: asks for an IP allowlist",
            rules.display()
        ),
        format!(
            "file {}:28:1 frontend limited key ratelimit: asks for a rate limit",
            rules.display()
        ),
        format!(
            "file {}:38:1 frontend secure key headers: asks for security headers",
            rules.display()
        ),
        format!(
            "file {}:5:1 backend capped key maxConn: asks for a connection limit",
            rules.display()
        ),
    ];
    for w in &want {
        assert!(
            errors.iter().any(|e| e.starts_with(w.as_str())),
            "missing {w:?} in {errors:#?}"
        );
    }
    assert!(
        errors
            .iter()
            .all(|e| e.ends_with("answers 503 to every request rather than serve without it"))
    );

    // Keys portier does not act on yet are shown, not dropped silently; the route is served.
    // traefik.toml's own unknown keys too.
    let config_warnings = json(&p, "/api/config/warnings").await.to_string();
    assert!(
        config_warnings.contains("unknown key web.checkNewVersionn is ignored"),
        "{config_warnings}"
    );
    let warnings = file["warnings"].to_string();
    assert!(
        warnings.contains("frontends.custom.passTLSCert")
            && warnings.contains("unknown key; ignored"),
        "{file}"
    );
    let metrics = get(p.web.expect("web"), "localhost", "/metrics")
        .await
        .text();
    assert!(
        metrics.lines().any(|l| l == "portier_config_errors 5")
            && metrics.lines().any(|l| l == "portier_config_warnings 2"),
        "{metrics}"
    );

    let (code, _, err) = check(&p.config);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("warning: file ")
            && err.contains("key frontends.custom.passTLSCert: unknown key; ignored"),
        "{err}"
    );
    for w in &want {
        assert!(err.contains(w.as_str()), "missing {w:?} in:\n{err}");
    }
}

#[test]
fn rule_zero_entrypoint_protections_refuse_the_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "[entryPoints.http.auth.basic]\nusers = [\"test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"]\n",
            "entryPoints.http.auth",
            "authentication",
        ),
        (
            "[entryPoints.http.whiteList]\nsourceRange = [\"10.0.0.0/8\"]\n",
            "entryPoints.http.whiteList",
            "an IP allowlist",
        ),
        (
            "[entryPoints.http.tls.clientCA]\nfiles = [\"ca.pem\"]\n",
            "entryPoints.http.tls.clientCA",
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
}

/// Every protective label of Traefik 1.7 (reference §1.3–1.5), plain and in segment form.
const PROTECTIVE_LABELS: [&str; 14] = [
    "traefik.frontend.auth.basic.users=test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
    "traefik.frontend.auth.basic=test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
    "traefik.frontend.auth.digest.users=test:traefik:a2688e031edb4be6a3797f3882655c05",
    "traefik.frontend.auth.forward.address=http://127.0.0.1:9/auth",
    "traefik.frontend.whiteList.sourceRange=10.99.0.0/16",
    "traefik.frontend.whitelistSourceRange=10.99.0.0/16",
    "traefik.frontend.rateLimit.extractorFunc=client.ip",
    "traefik.frontend.rateLimit.rateSet.a.average=1",
    "traefik.frontend.headers.SSLRedirect=true",
    "traefik.frontend.headers.STSSeconds=315360000",
    "traefik.frontend.headers.allowedHosts=secret.localhost",
    "traefik.backend.maxconn.amount=1",
    "traefik.backend.buffering.maxRequestBodyBytes=10",
    "traefik.admin.frontend.auth.basic.users=test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
];

#[tokio::test]
async fn rule_zero_a_container_with_every_protective_label_is_never_served_open() {
    use support::docker::{Scope, eventually};
    let s = Scope::new("rule-zero");
    let p = Portier::start(&format!(
        "{}{}",
        Toml::http().web().build(),
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
    for l in PROTECTIVE_LABELS {
        args.extend(["-l", l]);
    }
    s.run("secret", &args);
    // One protective label at a time, too: each alone is enough.
    for (i, l) in PROTECTIVE_LABELS.iter().enumerate() {
        let rule = format!("traefik.frontend.rule=Host:p{i}.localhost");
        s.run(&format!("p{i}"), &["-l", &rule, "-l", l]);
    }
    let wait = std::time::Duration::from_secs(10);
    eventually(wait, "every container seen", async || {
        let r = get(p.http(), "other.localhost", "/").await;
        let api = json(&p, "/api/providers/docker").await;
        let seen = api["frontends"].as_object().map_or(0, |f| f.len());
        (r.status == 200 && seen == PROTECTIVE_LABELS.len() + 2).then_some(())
    })
    .await;
    let r = get(p.http(), "secret.localhost", "/").await;
    assert_eq!(r.status, 503, "served open: {}", r.text());
    for (i, label) in PROTECTIVE_LABELS.iter().enumerate() {
        let host = format!("p{i}.localhost");
        let r = get(p.http(), &host, "/").await;
        assert_eq!(r.status, 503, "{label}: served open");
    }
    let api = json(&p, "/api/providers/docker").await;
    let errors = api["errors"].to_string();
    for l in PROTECTIVE_LABELS {
        let key = l.split('=').next().unwrap_or(l);
        let want = format!("container {}-secret label {key}", s.tag);
        assert!(errors.contains(&want), "missing {want:?} in {errors}");
    }

    // `portier check` reads the same containers and fails, naming them.
    let (code, out, err) = check(&p.config);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains(&format!(
            "container {}-secret label traefik.frontend.auth.basic.users: asks for authentication",
            s.tag
        )),
        "{err}"
    );
}
