//! ACME end to end against Debian's `pebble` test CA on loopback: a certificate for a Host rule
//! is ordered, served by SNI, stored, and reused after a restart.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{Backend, Portier};

/// The DNS names of the certificate portier shows for `sni`.
async fn served_names(addr: std::net::SocketAddr, sni: &str) -> Vec<String> {
    support::tls::connect(addr, sni, &[]).await.1
}

struct Pebble(Vec<Child>);

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

/// Starts pebble with an HTTPS certificate made here (the package ships none). Its DNS is
/// pebble-challtestsrv answering 127.0.0.1 for every name, and it validates TLS-ALPN-01 by
/// connecting to `tls_port`, where portier's ACME entrypoint listens: the real challenge path.
fn pebble(dir: &std::path::Path, tls_port: u16) -> (Pebble, String, std::path::PathBuf) {
    pebble_with(dir, tls_port, free_port())
}

/// The same, validating HTTP-01 by connecting to `http_port`.
fn pebble_with(
    dir: &std::path::Path,
    tls_port: u16,
    http_port: u16,
) -> (Pebble, String, std::path::PathBuf) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .expect("cert");
    let (cert_path, key_path) = (dir.join("pebble.pem"), dir.join("pebble.key"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write");
    let port = free_port();
    let config = serde_json::json!({"pebble": {
        "listenAddress": format!("127.0.0.1:{port}"),
        "managementListenAddress": format!("127.0.0.1:{}", free_port()),
        "certificate": cert_path, "privateKey": key_path,
        "httpPort": http_port, "tlsPort": tls_port, "ocspResponderURL": "", "externalAccountBindingRequired": false
    }});
    let config_path = dir.join("pebble.json");
    std::fs::write(&config_path, config.to_string()).expect("write");
    let dns = format!("127.0.0.1:{}", free_port());
    let challtestsrv = Command::new("pebble-challtestsrv")
        .args([
            "-dns01",
            &dns,
            "-http01",
            "",
            "-https01",
            "",
            "-tlsalpn01",
            "",
            "-management",
            &format!("127.0.0.1:{}", free_port()),
            "-defaultIPv4",
            "127.0.0.1",
            "-defaultIPv6",
            "",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble-challtestsrv (apt-get install pebble)");
    let child = Command::new("pebble")
        .arg("-config")
        .arg(&config_path)
        .args(["-dnsserver", &dns])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pebble (apt-get install pebble)");
    let guard = Pebble(vec![child, challtestsrv]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "pebble did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, format!("https://127.0.0.1:{port}/dir"), cert_path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_rule_gets_a_certificate_that_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let https_port = free_port();
    let (_pebble, directory, ca) = pebble(dir.path(), https_port);
    let backend = Backend::spawn("acme-backend").await;
    let storage = dir.path().join("acme");
    let cfg = format!(
        "defaultEntryPoints = [\"https\"]\n[entryPoints.https]\naddress = \"127.0.0.1:{https_port}\"\n[entryPoints.https.tls]\n\
         [acme]\nemail = \"ops@example.com\"\nstorage = \"{}\"\nentryPoint = \"https\"\nonHostRule = true\ncaServer = \"{directory}\"\n[acme.tlsChallenge]\n\
         [file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:acme.test\"\n",
        storage.display(),
        backend.url()
    );
    let env = [("LEGO_CA_CERTIFICATES", ca.to_str().expect("path"))];
    let p = Portier::start_env(&cfg, &[], &[], &env);
    let addr = p.entry_points["https"];
    let started = Instant::now();
    loop {
        if served_names(addr, "acme.test").await == ["acme.test"] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no ACME certificate for acme.test:\n{}",
            p.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "certificate issued and served {:?} after start",
        started.elapsed()
    );
    assert_eq!(
        served_names(addr, "other.test").await,
        ["portier.default.invalid"],
        "other names get the default"
    );
    p.wait_log("DeployedNewCert", Duration::from_secs(2)).await;
    drop(p);

    // A restart serves the stored certificate without a new order.
    let p = Portier::start_env(&cfg, &[], &[], &env);
    let addr = p.entry_points["https"];
    let started = Instant::now();
    while served_names(addr, "acme.test").await != ["acme.test"] {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the stored certificate was not reused"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    p.wait_log("DeployedCachedCert", Duration::from_secs(2))
        .await;
    assert_eq!(
        p.count_log("DeployedNewCert"),
        0,
        "no new certificate after a restart"
    );
}

/// A Traefik 3 `traefik.yml` with two resolvers: `le` answers HTTP-01 (pebble fetches
/// `/.well-known/acme-challenge/TOKEN` from the `web` entrypoint, which redirects everything
/// else to HTTPS: the challenge outranks the redirect, as in Traefik), `alpn` TLS-ALPN-01;
/// each router's hosts are ordered by the resolver it names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resolvers_of_a_traefik_yml_http_01_and_tls_alpn_01() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (http_port, https_port) = (free_port(), free_port());
    let (_pebble, directory, ca) = pebble_with(dir.path(), https_port, http_port);
    let backend = Backend::spawn("acme-backend").await;
    // A TCP server behind a TCP router that ends TLS with the `alpn` resolver's certificate.
    let db_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let db = db_listener.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut s, _)) = db_listener.accept().await {
            let _ = s.write_all(b"db\n").await;
        }
    });
    let storage = dir.path().join("acme");
    let yml = format!(
        "\
entryPoints:
  web:
    address: 127.0.0.1:{http_port}
    http:
      redirections:
        entryPoint:
          to: websecure
  websecure:
    address: 127.0.0.1:{https_port}
    http:
      tls:
        certResolver: le
certificatesResolvers:
  le:
    acme:
      email: ops@example.com
      storage: {}
      caServer: {directory}
      httpChallenge:
        entryPoint: web
  alpn:
    acme:
      email: ops@example.com
      storage: {}
      caServer: {directory}
      tlsChallenge: {{}}
providers:
  file:
    filename: dynamic.yml
",
        storage.display(),
        dir.path().join("acme-alpn").display()
    );
    let dynamic = format!(
        "http:\n  routers:\n    app:\n      rule: Host(`http01.test`)\n      entryPoints: [websecure]\n      service: app\n    other:\n      rule: Host(`alpn01.test`)\n      service: app\n      tls:\n        certResolver: alpn\n    plain:\n      rule: Host(`none.test`)\n      entryPoints: [websecure]\n      service: app\n      tls: {{}}\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: {}\ntcp:\n  routers:\n    db:\n      rule: HostSNI(`tcp01.test`)\n      entryPoints: [websecure]\n      service: db\n      tls:\n        certResolver: alpn\n  services:\n    db:\n      loadBalancer:\n        servers:\n          - address: {db}\n",
        backend.url()
    );
    let env = [("LEGO_CA_CERTIFICATES", ca.to_str().expect("path"))];
    let p = Portier::start_named_env("traefik.yml", &yml, &[("dynamic.yml", &dynamic)], &[], &env);
    let addr = p.entry_points["websecure"];
    let started = Instant::now();
    while served_names(addr, "http01.test").await != ["http01.test"] {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no HTTP-01 certificate for http01.test:\n{}",
            p.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while served_names(addr, "alpn01.test").await != ["alpn01.test"] {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no TLS-ALPN-01 certificate for alpn01.test:\n{}",
            p.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The TCP router's HostSNI name, through the same resolver, then its server in clear.
    while served_names(addr, "tcp01.test").await != ["tcp01.test"] {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no certificate for the TCP router's tcp01.test:\n{}",
            p.log_lines().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (tls, _) = support::tls::connect(addr, "tcp01.test", &[]).await;
    let mut greeting = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut tls.expect("handshake"), &mut greeting)
        .await
        .ok();
    assert_eq!(greeting, "db\n", "the TCP server, behind portier's TLS");
    // A router with its own tls and no resolver gets no order (as in Traefik).
    assert_eq!(
        p.count_log("ordering a certificate for none.test"),
        0,
        "{}",
        p.log_lines().join("\n")
    );
    // Anything else on `web` is still redirected.
    let r = support::get(
        p.entry_points["web"],
        "http01.test",
        "/.well-known/acme-challenge/unknown",
    )
    .await;
    assert!(
        matches!(r.status.as_u16(), 301 | 308),
        "an unknown token is routed as usual (here: redirected): {}",
        r.status
    );
}
