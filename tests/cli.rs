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
    assert!(out.contains("log: level Debug"), "{out}");
}

#[test]
fn check_reports_swarm_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = "[docker]\nswarmMode = true\nswarmModeRefreshSeconds = 5\nnetwork = \"web\"\n";
    let (code, out, err) = check(&write(dir.path(), "traefik.toml", text));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("network=\"web\" swarmMode=true swarmModeRefreshSeconds=5"),
        "{out}"
    );
}

#[test]
fn check_reports_udp_entrypoints_and_tcp_router_errors_at_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "d.yml",
        "tcp:\n  routers:\n    r:\n      rule: HostSNI(`a.test`)\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - address: 127.0.0.1:1\n",
    );
    let text = "entryPoints:\n  tcp:\n    address: :9999\n  dns:\n    address: :5353/udp\n    udp:\n      timeout: 10s\nproviders:\n  file:\n    filename: d.yml\n";
    let (code, out, err) = check(&write(dir.path(), "traefik.yml", text));
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains("dns :5353/udp -> 0.0.0.0:5353 udp (sessions end after 10s idle)"),
        "{out}"
    );
    assert!(
        err.contains(
            "d.yml:3:5 TCP router r: rule \"HostSNI(`a.test`)\" reads the TLS server name"
        ),
        "{err}"
    );
    let bad = "entryPoints:\n  dns:\n    address: :53/sctp\n";
    let (code, _, err) = check(&write(dir.path(), "bad.yml", bad));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown protocol \"sctp\""), "{err}");
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

/// Point 7 of issue 11: a typo gets "did you mean", every warning and error of the file
/// names file:line:column, and `check` lists nothing it also calls left out.
#[test]
fn typos_and_errors_name_their_place_and_left_out_items_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = concat!(
        "[entryPoints.http]\naddress = \":8000\"\n[file]\n",
        "[docker]\nexposedbydefualt = false\n",
        "[backends.b1.servers.s1]\nurl = \"http://127.0.0.1:9\"\nweight = -3\n",
        "[backends.b2.servers.s1]\nurl = \"http://127.0.0.1:9\"\nwieght = 2\n",
        "[frontends.f1]\nbackend = \"nope\"\n[frontends.f1.routes.r]\nrule = \"Host:a\"\n",
        "[frontends.f3]\nbackend = \"b2\"\nentryPoints = [\"https\"]\n[frontends.f3.routes.r]\nrule = \"Host:c\"\n",
        "[frontends.f4]\nbackend = \"b2\"\n[frontends.f4.routes.r]\nrule = \"Host:d\"\n",
        "[frontends.f5]\nbackend = \"b2\"\n[frontends.f5.redirect]\nregex = \"^(x\"\nreplacement = \"y\"\n",
    );
    let (code, out, err) = check(&write(dir.path(), "traefik.toml", cfg));
    assert_eq!(code, 2, "{err}");
    for want in [
        "traefik.toml:5:1: unknown key docker.exposedbydefualt is ignored (did you mean docker.exposedByDefault?)",
        "traefik.toml:11:1: unknown key backends.b2.servers.s1.wieght is ignored (did you mean backends.b2.servers.s1.weight?)",
        "traefik.toml:6:11 backend b1 server s1: weight -3 must be 0 or more; server left out",
        "traefik.toml:12:12 frontend f1: undefined backend \"nope\"",
        "traefik.toml:16:12 frontend f3: entrypoints [\"https\"] are not defined",
        "traefik.toml:28:1 frontend f5 redirect.regex: regex \"^(x\" does not compile: unclosed group; frontend left out",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
    for want in [
        "  f1: left out (see the errors below)",
        "  f3: left out (see the errors below)",
        "  f4: rule \"Host:d\" -> backend b2",
        "    s1: left out (see the errors below)",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("weight -3"), "{out}");
    assert!(
        !out.contains("  f5:"),
        "left out by the file provider: {out}"
    );
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

#[test]
fn check_without_a_configuration_file_shows_the_assumed_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(binary())
        .current_dir(dir.path())
        .arg("check")
        .arg("--docker.exposedByDefault=false")
        .env("PORTIER_HTTP_PORT", "8123")
        .output()
        .expect("run check");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("http :8123 -> 0.0.0.0:8123 (default)"),
        "{stdout}"
    );
    assert!(stdout.contains("web: :8080 -> 0.0.0.0:8080"), "{stdout}");
    assert!(stderr.contains("note: no configuration file"), "{stderr}");
    assert!(
        stderr.contains("note: entrypoint http on :8123 (from PORTIER_HTTP_PORT)"),
        "{stderr}"
    );
    if Path::new("/var/run/docker.sock").exists() {
        assert!(
            stdout.contains(
                "docker endpoint=unix:///var/run/docker.sock domain=\"docker.localhost\""
            ),
            "{stdout}"
        );
    }
}

#[test]
fn port_80_refused_says_how_to_move_it() {
    use std::os::unix::process::CommandExt;
    let unprivileged_from: u32 =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(1024);
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    // nobody must be able to execute the binary wherever the checkout lives: run a copy from a
    // world-readable directory.
    let place = std::env::temp_dir().join(format!("portier-nobody-{}", std::process::id()));
    std::fs::create_dir_all(&place).expect("dir");
    let copy = place.join("portier");
    std::fs::copy(binary(), &copy).expect("copy binary");
    for (p, mode) in [(&place, 0o755), (&copy, 0o755)] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let mut cmd = Command::new(&copy);
    // No configuration file anywhere it looks: the defaults, so the http entrypoint on :80.
    cmd.current_dir("/").arg("--web.address").arg("127.0.0.1:0");
    if root {
        cmd.uid(65534).gid(65534); // nobody: what a user without root gets
    }
    if unprivileged_from <= 80 {
        // This kernel lets anyone bind :80 (net.ipv4.ip_unprivileged_port_start), so there is
        // no refusal to produce; said on stderr rather than passed in silence.
        eprintln!("not run: ip_unprivileged_port_start = {unprivileged_from} allows :80 to anyone");
        return;
    }
    let out = cmd.output();
    let _ = std::fs::remove_dir_all(&place);
    let out = out.expect("run portier");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("entrypoint http: cannot listen on :80")
            && stderr.contains("PORTIER_HTTP_PORT=8000")
            && stderr.contains("--entryPoints NAME=:8000"),
        "{stderr}"
    );
}

#[test]
fn a_traefik_1_7_command_line_is_read_as_written() {
    // What Traefik 1.7 compose files carry: lowercase keys, booleans without a value,
    // entrypoints in Traefik's syntax; check prints what they resolve to.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(dir.path(), "traefik.toml", "logLevel = \"ERROR\"\n");
    let out = Command::new(binary())
        .current_dir(dir.path())
        .args([
            "check",
            &format!("--configfile={}", config.display()),
            "--api",
            "--docker",
            "--docker.domain=docker.localhost",
            "--docker.exposedbydefault=false",
            "--docker.watch",
            "--entryPoints=Name:http Address::8000 Redirect.EntryPoint:https",
            "--entrypoints",
            "Name:https Address::8443 TLS",
            "--defaultentrypoints=http,https",
            "--loglevel=DEBUG",
        ])
        .output()
        .expect("run check");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for want in [
        "http :8000 -> 0.0.0.0:8000 (default) redirect -> https",
        "https :8443 -> 0.0.0.0:8443 (default) tls (0 certificates)",
        "docker endpoint=unix:///var/run/docker.sock domain=\"docker.localhost\" watch=true exposedByDefault=false",
        "log: level Debug",
        "web: :8080",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
}

#[test]
fn a_flag_no_key_takes_is_refused_by_name() {
    for (flag, want) in [
        (
            "--docker.domian=x",
            "command line: --docker.domian=x: no traefik.toml key takes it (docker.domian is unknown) (did you mean docker.domain?)",
        ),
        ("--docker.watch=sometimes", "--docker.watch=sometimes"),
        (
            "--entryPoints=Name:http Adress::80",
            "unknown entrypoint field \"adress\"",
        ),
    ] {
        let out = Command::new(binary())
            .args(["check", flag])
            .output()
            .expect("run check");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(want), "{flag}: {stderr}");
    }
}

#[test]
fn version_help_and_completions() {
    let run = |args: &[&str]| {
        let out = Command::new(binary()).args(args).output().expect("run");
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let version = regex::Regex::new(
        r"^portier \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}|unknown), built \d{4}-\d{2}-\d{2}\)\n$",
    )
    .expect("regex");
    for args in [&["version"][..], &["--version"]] {
        let out = run(args);
        assert!(version.is_match(&out), "{args:?}: {out:?}");
    }
    let help = run(&["--help"]);
    for want in [
        "--configFile",
        "--ready-file",
        "every traefik.toml key is a flag",
        "--entryPoints='Name:",
    ] {
        assert!(help.contains(want), "missing {want:?} in:\n{help}");
    }
    for (shell, want) in [
        ("bash", "_portier()"),
        ("zsh", "#compdef portier"),
        ("fish", "complete -c portier"),
    ] {
        let script = run(&["completion", shell]);
        assert!(
            script.contains(want),
            "{shell}: {}",
            &script[..script.len().min(200)]
        );
    }
}

#[test]
fn check_shows_where_each_value_comes_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write(
        dir.path(),
        "traefik.toml",
        "logLevel = \"INFO\"\n[entryPoints.http]\naddress = \":8000\"\n[docker]\ndomain = \"a.local\"\nwatch = false\n",
    );
    let out = Command::new(binary())
        .args([
            "check",
            "--show-origin",
            "-c",
            &config.display().to_string(),
            "--docker.domain=b.local",
            "--loglevel=DEBUG",
        ])
        .output()
        .expect("run check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let file = config.display().to_string();
    for want in [
        "  docker.domain  <- command line: --docker.domain=b.local".to_string(),
        format!("  docker.watch  <- {file}:6:1"),
        format!("  entryPoints.http.address  <- {file}:3:1"),
        "  loglevel  <- command line: --loglevel=DEBUG".to_string(),
    ] {
        assert!(stdout.contains(&want), "missing {want:?} in:\n{stdout}");
    }
    assert!(
        !stdout.contains("logLevel  <- "),
        "the flag wins:\n{stdout}"
    );
}
