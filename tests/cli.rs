//! The command line: `portier check`, start-up errors and signals.

mod support;

use std::path::Path;
use std::process::Command;

use support::{binary, check};

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn check_accepts_the_example_and_prints_the_resolved_config() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("traefik.toml.example");
    let (code, out, err) = check(&example);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    for want in [
        "http :8000 -> 0.0.0.0:8000 (default)",
        "web: :8080",
        "file (inline",
        "demo: rule \"Host:demo.localhost\" -> backend demo",
        "local: http://127.0.0.1:9000 weight 1",
        "configuration OK",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn check_accepts_the_seed_config_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = "port = \":80\"          # legacy global listen address (entrypoint \"http\")\ndebug = true\n\n[web]\naddress = \":8080\"     # dashboard and API\n\n[docker]\nendpoint = \"unix:///var/run/docker.sock\"\ndomain = \"docker.localhost\"\nwatch = true\nswarmmode = false\n";
    let (code, out, err) = check(&write(dir.path(), "traefik.toml", seed));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.is_empty(),
        "no warnings expected for the seed config: {err}"
    );
    assert!(out.contains("http :80 -> 0.0.0.0:80"), "{out}");
    assert!(
        out.contains(
            "docker endpoint=unix:///var/run/docker.sock domain=\"docker.localhost\" watch=true"
        ),
        "{out}"
    );
    assert!(out.contains("log level: Debug"), "{out}");
}

#[test]
fn a_typo_fails_with_line_and_column_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = write(
        dir.path(),
        "bad.toml",
        "logLevel = \"INFO\"\n[entryPoints.http]\naddress = 80\n",
    );
    let (code, _, err) = check(&bad);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml:3:11:"), "{err}");

    // Running with it starts nothing and exits 2 with the same position.
    let out = Command::new(binary())
        .arg("-c")
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:3:11:"));
}

#[test]
fn unknown_keys_warn_by_name_and_bad_rules_fail_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = "logLevl = \"INFO\"\n[file]\n[backends.b.servers.s]\nurl = \"http://127.0.0.1:1\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:a;PathPrefx:/x\"\n";
    let (code, _, err) = check(&write(dir.path(), "traefik.toml", cfg));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown key logLevl"), "{err}");
    assert!(
        err.contains("traefik.toml:8:16 frontend f route r"),
        "{err}"
    );
    assert!(err.contains("unknown matcher \"PathPrefx\""), "{err}");
}

#[test]
fn a_busy_port_is_a_clear_start_up_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "t.toml",
        &format!("[entryPoints.http]\naddress = \"{addr}\"\n"),
    );
    let out = Command::new(binary())
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("entrypoint http: cannot listen on {addr}")),
        "{err}"
    );
}

#[test]
fn healthcheck_asks_ping() {
    let p = support::Portier::start(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[web]\naddress = \"127.0.0.1:0\"\n[file]\n",
    );
    let web = p.web.expect("web address logged");
    let out = Command::new(binary())
        .args(["healthcheck", "--web.address", &web.to_string()])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(p);
    let out = Command::new(binary())
        .args(["healthcheck", "--web.address", &web.to_string()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
}

#[tokio::test]
async fn sigterm_stops_cleanly_with_exit_0() {
    let p = support::Portier::start("[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\n");
    let status = p.terminate();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_missing_certificate_fails_check_and_start_naming_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write(
        dir.path(),
        "t.toml",
        "defaultEntryPoints = [\"https\"]\n[entryPoints.https]\naddress = \"127.0.0.1:0\"\n[entryPoints.https.tls]\n[[entryPoints.https.tls.certificates]]\ncertFile = \"missing.crt\"\nkeyFile = \"missing.key\"\n",
    );
    let (code, _, err) = check(&cfg);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("entrypoint https: certificate") && err.contains("missing.crt: cannot read"),
        "{err}"
    );
    let out = Command::new(binary())
        .arg("-c")
        .arg(&cfg)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.crt: cannot read"));
}

#[test]
fn ready_file_names_the_bound_addresses_once_the_first_configuration_is_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        // No provider: ready as soon as it listens.
        ("", 0),
        // A provider: ready with its first table.
        (
            "[file]\n[backends.b.servers.s]\nurl = \"http://127.0.0.1:9\"\n",
            1,
        ),
    ];
    for (i, (extra, generation)) in cases.into_iter().enumerate() {
        let config = write(
            dir.path(),
            &format!("t{i}.toml"),
            &format!(
                "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[web]\naddress = \"127.0.0.1:0\"\n{extra}"
            ),
        );
        let ready = dir.path().join(format!("ready{i}.json"));
        let mut child = Command::new(binary())
            .arg("-c")
            .arg(&config)
            .arg("--ready-file")
            .arg(&ready)
            .spawn()
            .expect("start portier");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let text = loop {
            if let Ok(t) = std::fs::read_to_string(&ready) {
                break t;
            }
            assert!(std::time::Instant::now() < deadline, "no ready file");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let _ = child.kill();
        let _ = child.wait();
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["generation"], generation, "{text}");
        for addr in [&v["entryPoints"]["http"], &v["web"]] {
            let a: std::net::SocketAddr = addr.as_str().and_then(|a| a.parse().ok()).expect("addr");
            assert!(a.ip().is_loopback() && a.port() != 0, "{text}");
        }
    }
}
