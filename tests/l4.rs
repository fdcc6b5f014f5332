//! Layer 4 on real sockets: TCP routers (plain `HostSNI(*)`, TLS passthrough and termination
//! by SNI, beside HTTPS routers on one TLS entrypoint), the PROXY protocol towards servers,
//! TCP middlewares, UDP sessions, and table changes that never cut an established connection.

mod support;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::docker::eventually;
use support::{Portier, get};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

const WAIT: Duration = Duration::from_secs(10);

/// A TCP server that greets each connection with its name, then echoes what it reads.
async fn echo_server(name: &'static str) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                if s.write_all(format!("{name}\n").as_bytes()).await.is_err() {
                    return;
                }
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });
    addr
}

fn pem(names: &[&str]) -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("cert");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

/// A TLS server with its own certificate for `host`: greets with its name, then echoes.
async fn tls_server(name: &'static str, host: &str) -> SocketAddr {
    let c = rcgen::generate_simple_self_signed(vec![host.to_string()]).expect("cert");
    let key =
        rustls::pki_types::PrivateKeyDer::try_from(c.signing_key.serialize_der()).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![c.cert.der().clone()], key)
    .expect("config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(s).await else {
                    return;
                };
                if tls.write_all(format!("{name}\n").as_bytes()).await.is_err() {
                    return;
                }
                let mut buf = [0u8; 1024];
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

/// A UDP server answering each datagram with `name:payload`.
async fn udp_echo(name: &'static str) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = s.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = s.recv_from(&mut buf).await {
            let mut answer = format!("{name}:").into_bytes();
            answer.extend_from_slice(&buf[..n]);
            let _ = s.send_to(&answer, from).await;
        }
    });
    addr
}

/// Connects, reads the greeting line, sends `line`, reads until the echo of `line` came back;
/// returns the greeting and everything read after it.
async fn talk<S>(s: S, line: &str) -> Option<(String, String)>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut r = BufReader::new(s);
    let mut greeting = String::new();
    tokio::time::timeout(Duration::from_secs(3), r.read_line(&mut greeting))
        .await
        .ok()?
        .ok()?;
    r.get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .await
        .ok()?;
    let mut rest = String::new();
    while !rest.contains(line) {
        let mut more = String::new();
        let n = tokio::time::timeout(Duration::from_secs(3), r.read_line(&mut more))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        rest.push_str(&more);
    }
    Some((greeting.trim().to_string(), rest))
}

async fn tcp_talk(addr: SocketAddr, line: &str) -> Option<(String, String)> {
    talk(TcpStream::connect(addr).await.ok()?, line).await
}

struct Setup {
    p: Portier,
    web: support::Backend,
}

const STATIC: &str = "\
entryPoints:
  tcp:
    address: 127.0.0.1:0
  tcptls:
    address: 127.0.0.1:0
  websecure:
    address: 127.0.0.1:0
    http:
      tls: {}
  dns:
    address: 127.0.0.1:0/udp
    udp:
      timeout: 2s
  traefik:
    address: 127.0.0.1:0
api:
  insecure: true
providers:
  file:
    filename: dynamic.yml
    watch: true
";

async fn dynamic(extra_echo: &str, web: &support::Backend) -> String {
    let e1 = echo_server("e1").await;
    let e2 = echo_server("e2").await;
    let a = tls_server("tls-a", "a.test").await;
    let b = tls_server("tls-b", "b.test").await;
    let u1 = udp_echo("u1").await;
    let u2 = udp_echo("u2").await;
    format!(
        "\
tcp:
  routers:
    echo:
      entryPoints: [tcp]
      rule: HostSNI(`*`)
      service: echo
    a:
      entryPoints: [websecure]
      rule: HostSNI(`a.test`)
      service: tls-a
      tls:
        passthrough: true
    b:
      entryPoints: [websecure]
      rule: HostSNI(`b.test`)
      service: tls-b
      tls:
        passthrough: true
    term:
      entryPoints: [websecure]
      rule: HostSNI(`term.test`)
      service: echo
      tls:
        options: modern
    plain-term:
      entryPoints: [tcptls]
      rule: HostSNI(`term.test`)
      service: echo
      tls: {{}}
  services:
    echo:
      loadBalancer:
        proxyProtocol:
          version: 1
        servers:
          - address: {e1}
          - address: {e2}{extra_echo}
    tls-a:
      loadBalancer:
        servers:
          - address: {a}
    tls-b:
      loadBalancer:
        servers:
          - address: {b}
udp:
  routers:
    dns:
      entryPoints: [dns]
      service: dns
  services:
    dns:
      loadBalancer:
        servers:
          - address: {u1}
          - address: {u2}
http:
  routers:
    web:
      entryPoints: [websecure]
      rule: Host(`web.test`)
      service: web
      tls: {{}}
  services:
    web:
      loadBalancer:
        servers:
          - url: {}
tls:
  certificates:
    - certFile: portier.crt
      keyFile: portier.key
  options:
    modern:
      minVersion: VersionTLS13
",
        web.url()
    )
}

async fn start() -> Setup {
    let web = support::Backend::spawn("web").await;
    let (cert, key) = pem(&["web.test", "term.test"]);
    let text = dynamic("", &web).await;
    let p = Portier::start_named(
        "traefik.yml",
        STATIC,
        &[
            ("dynamic.yml", &text),
            ("portier.crt", &cert),
            ("portier.key", &key),
        ],
        &[],
    );
    Setup { p, web }
}

#[tokio::test]
async fn plain_tcp_is_balanced_and_servers_see_the_proxy_header() {
    let s = start().await;
    let addr = s.p.entry_point("tcp");
    let mut greeted = BTreeSet::new();
    for i in 0..4 {
        let (greeting, rest) = eventually(WAIT, "an echo through HostSNI(*)", async || {
            tcp_talk(addr, &format!("ping-{i}")).await
        })
        .await;
        greeted.insert(greeting);
        // The PROXY v1 header portier sent first comes back in the echo.
        assert!(
            rest.starts_with("PROXY TCP4 127.0.0.1 127.0.0.1 "),
            "the server saw the client in a PROXY header: {rest:?}"
        );
    }
    assert_eq!(greeted, BTreeSet::from(["e1".into(), "e2".into()]));

    // Half-close both ways: the client ends its writing half, and still reads the echo
    // and the server's own close.
    let mut c = TcpStream::connect(addr).await.expect("connect");
    c.write_all(b"last words\n").await.expect("write");
    c.shutdown().await.expect("half-close");
    let mut all = String::new();
    tokio::time::timeout(Duration::from_secs(3), c.read_to_string(&mut all))
        .await
        .expect("closed in time")
        .expect("read");
    assert!(all.ends_with("last words\n"), "{all:?}");
}

#[tokio::test]
async fn tls_passthrough_termination_and_https_share_one_entrypoint() {
    let s = start().await;
    let addr = s.p.entry_point("websecure");
    // Passthrough: each backend's own certificate reaches the client.
    for (host, name) in [("a.test", "tls-a"), ("b.test", "tls-b")] {
        let (names, greeting) = eventually(WAIT, "a passed-through TLS server", async || {
            let (tls, names) = support::tls::connect(addr, host, &[]).await;
            let (greeting, _) = talk(tls?, "hello").await?;
            Some((names, greeting))
        })
        .await;
        assert_eq!(names, [host], "{host}: the backend's certificate");
        assert_eq!(greeting, name);
    }
    // Termination: portier's certificate, then plain bytes to the echo servers.
    let (tls, names) = support::tls::connect(addr, "term.test", &[]).await;
    assert_eq!(names, ["web.test", "term.test"], "portier's certificate");
    let (greeting, _) = talk(tls.expect("handshake"), "clear").await.expect("echo");
    assert!(greeting == "e1" || greeting == "e2", "{greeting}");
    // The router's options set applies to its server name only: TLS 1.2 is refused for
    // term.test, and still served for web.test.
    let tls12 = [&rustls::version::TLS12];
    let (refused, _) = support::tls::connect_with(addr, "term.test", &[], &tls12).await;
    assert!(refused.is_none(), "term.test asks for TLS 1.3");
    let (web12, _) = support::tls::connect_with(addr, "web.test", &[], &tls12).await;
    assert!(web12.is_some(), "web.test takes TLS 1.2");
    // Termination on a plain entrypoint: the dynamic certificates are served there too.
    let (tls, names) = support::tls::connect(s.p.entry_point("tcptls"), "term.test", &[]).await;
    assert_eq!(names, ["web.test", "term.test"]);
    let (greeting, _) = talk(tls.expect("handshake"), "plain").await.expect("echo");
    assert!(greeting == "e1" || greeting == "e2", "{greeting}");
    // HTTPS routers on the same entrypoint, HTTP/2 by ALPN.
    let (tls, names) = support::tls::connect(addr, "web.test", &[b"h2", b"http/1.1"]).await;
    assert_eq!(names, ["web.test", "term.test"]);
    let tls = tls.expect("handshake");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("https://web.test/over-h2")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("/over-h2"));
    let _ = &s.web;
    // An SNI no router names: HTTPS answers it (404), as before.
    let (tls, _) = support::tls::connect(addr, "other.test", &[b"http/1.1"]).await;
    assert!(tls.is_some(), "the HTTPS side still takes other names");

    // The API lists the TCP and UDP routers with their counters.
    let web = s.p.entry_point("traefik");
    let routers = get(web, "localhost", "/api/tcp/routers").await.text();
    assert!(routers.contains("\"name\":\"a@file\""), "{routers}");
    assert!(routers.contains("\"total\":"), "{routers}");
    let metrics = get(web, "localhost", "/metrics").await.text();
    assert!(
        metrics.contains("portier_l4_router_connections_total{protocol=\"tcp\",router=\"a@file\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn udp_sessions_stick_to_one_server_and_clients_spread() {
    let s = start().await;
    let addr = s.p.entry_point("dns");
    let mut servers = BTreeSet::new();
    for client in 0..2 {
        let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        sock.connect(addr).await.expect("connect");
        let mut seen = BTreeSet::new();
        for i in 0..3 {
            let payload = format!("q{client}-{i}");
            let answer = eventually(WAIT, "a UDP answer", async || {
                sock.send(payload.as_bytes()).await.ok()?;
                let mut buf = [0u8; 256];
                let n = tokio::time::timeout(Duration::from_millis(500), sock.recv(&mut buf))
                    .await
                    .ok()?
                    .ok()?;
                Some(String::from_utf8_lossy(&buf[..n]).into_owned())
            })
            .await;
            let (server, echoed) = answer.split_once(':').expect("name:payload");
            assert_eq!(echoed, payload);
            seen.insert(server.to_string());
        }
        assert_eq!(seen.len(), 1, "one session, one server: {seen:?}");
        servers.extend(seen);
    }
    assert_eq!(servers.len(), 2, "two clients, two servers: {servers:?}");
}

#[tokio::test]
async fn a_table_change_keeps_established_connections_and_a_server_leaving_drains() {
    let web = support::Backend::spawn("web").await;
    let (cert, key) = pem(&["web.test"]);
    let before = dynamic("", &web).await;
    let static_text = format!("{STATIC}\n");
    let p = Portier::start_named(
        "traefik.yml",
        &static_text,
        &[
            ("dynamic.yml", &before),
            ("portier.crt", &cert),
            ("portier.key", &key),
        ],
        &["--entrypoints.tcp.transport.lifecycle.gracetimeout=1s"],
    );
    let addr = p.entry_point("tcp");
    let conn = eventually(WAIT, "a long-lived connection", async || {
        let s = TcpStream::connect(addr).await.ok()?;
        let mut r = BufReader::new(s);
        let mut greeting = String::new();
        tokio::time::timeout(Duration::from_secs(3), r.read_line(&mut greeting))
            .await
            .ok()?
            .ok()?;
        Some(r)
    })
    .await;
    let mut conn = conn;
    // A change of the table (a third server joins): the open connection keeps working.
    let e3 = echo_server("e3").await;
    let after = dynamic(&format!("\n          - address: {e3}"), &web).await;
    p.write("dynamic.yml", &after);
    eventually(WAIT, "the new server in rotation", async || {
        let mut seen = BTreeSet::new();
        for _ in 0..3 {
            seen.insert(tcp_talk(addr, "x").await?.0);
        }
        seen.contains("e3").then_some(())
    })
    .await;
    conn.get_mut()
        .write_all(b"still here\n")
        .await
        .expect("write");
    let mut line = String::new();
    while !line.contains("still here") {
        line.clear();
        tokio::time::timeout(Duration::from_secs(3), conn.read_line(&mut line))
            .await
            .expect("echo in time")
            .expect("read");
    }
    // Every server of this connection leaves (new ones replace them): it drains for the
    // grace period (1 s), then is cut.
    let replaced = dynamic("", &web).await;
    p.write("dynamic.yml", &replaced);
    let mut rest = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut rest)).await;
    assert!(ended.is_ok(), "cut after the grace period");
}

/// The user flow on the real engine: TCP and UDP labels on containers.
#[tokio::test]
async fn tcp_and_udp_labels_on_containers() {
    use support::docker::Scope;
    let s = Scope::new("l4-labels");
    let yml = format!(
        "\
entryPoints:
  postgres:
    address: 127.0.0.1:0
  dns:
    address: 127.0.0.1:0/udp
providers:
  docker:
    exposedByDefault: true
    constraints: Label(`portier-test`, `{tag}`)
",
        tag = s.tag
    );
    let p = Portier::start_named("traefik.yml", &yml, &[], &[]);
    let labels = [
        "-e",
        "TCP_ECHO_PORT=5432",
        "-e",
        "UDP_ECHO_PORT=53",
        "-l",
        "traefik.tcp.routers.pg.rule=HostSNI(`*`)",
        "-l",
        "traefik.tcp.routers.pg.entrypoints=postgres",
        "-l",
        "traefik.tcp.services.pg.loadbalancer.server.port=5432",
        "-l",
        "traefik.udp.routers.dns.entrypoints=dns",
        "-l",
        "traefik.udp.services.dns.loadbalancer.server.port=53",
    ];
    s.run("db-1", &labels);
    s.run("db-2", &labels);
    let tcp = p.entry_point("postgres");
    let greeted = eventually(WAIT, "both containers through HostSNI(*)", async || {
        let mut seen = BTreeSet::new();
        for i in 0..4 {
            seen.insert(tcp_talk(tcp, &format!("q{i}")).await?.0);
        }
        (seen.len() == 2).then_some(seen)
    })
    .await;
    assert!(greeted.iter().all(|h| !h.is_empty()), "{greeted:?}");
    let udp = p.entry_point("dns");
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    sock.connect(udp).await.expect("connect");
    let answer = eventually(WAIT, "a UDP answer from a container", async || {
        sock.send(b"who").await.ok()?;
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_millis(500), sock.recv(&mut buf))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    })
    .await;
    let (host, payload) = answer.split_once(':').expect("host:payload");
    assert_eq!(payload, "who");
    assert!(greeted.contains(host), "{host} is one of {greeted:?}");
}

/// `ipAllowList` and `inFlightConn` on TCP routers, and a TCP health check taking a dead
/// server out of rotation.
#[tokio::test]
async fn tcp_middlewares_and_health_checks() {
    let e1 = echo_server("e1").await;
    // A port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let yml = "\
entryPoints:
  denied:
    address: 127.0.0.1:0
  limited:
    address: 127.0.0.1:0
  checked:
    address: 127.0.0.1:0
providers:
  file:
    filename: dynamic.yml
";
    let dynamic = format!(
        "\
tcp:
  routers:
    denied:
      entryPoints: [denied]
      rule: HostSNI(`*`)
      service: one
      middlewares: [lan]
    limited:
      entryPoints: [limited]
      rule: HostSNI(`*`)
      service: one
      middlewares: [one-each]
    checked:
      entryPoints: [checked]
      rule: HostSNI(`*`)
      service: checked
  middlewares:
    lan:
      ipAllowList:
        sourceRange: [10.0.0.0/8]
    one-each:
      inFlightConn:
        amount: 1
  services:
    one:
      loadBalancer:
        servers:
          - address: {e1}
    checked:
      loadBalancer:
        healthCheck:
          interval: 200ms
          timeout: 500ms
        servers:
          - address: {dead}
          - address: {e1}
"
    );
    let p = Portier::start_named("traefik.yml", yml, &[("dynamic.yml", &dynamic)], &[]);
    // Allowed clients only: 127.0.0.1 is not in 10.0.0.0/8, so the connection is closed
    // before any server is reached.
    let limited = p.entry_point("limited");
    let first = eventually(WAIT, "the limited router", async || {
        let s = TcpStream::connect(limited).await.ok()?;
        let mut r = BufReader::new(s);
        let mut g = String::new();
        tokio::time::timeout(Duration::from_secs(2), r.read_line(&mut g))
            .await
            .ok()?
            .ok()?;
        (g.trim() == "e1").then_some(r)
    })
    .await;
    let mut denied = TcpStream::connect(p.entry_point("denied"))
        .await
        .expect("connect");
    let mut got = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(3), denied.read_to_end(&mut got))
        .await
        .expect("closed in time");
    assert!(n.is_err() || got.is_empty(), "denied: {got:?}");
    // One connection per client IP: a second one while the first is open is closed.
    let mut second = TcpStream::connect(limited).await.expect("connect");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(3), second.read_to_end(&mut got))
        .await
        .expect("closed in time");
    assert!(got.is_empty(), "a second connection: {got:?}");
    drop(first);
    eventually(WAIT, "a connection once the first closed", async || {
        tcp_talk(limited, "again").await
    })
    .await;
    // The dead server fails its check: every connection meets the live one.
    let checked = p.entry_point("checked");
    eventually(WAIT, "the dead server out of rotation", async || {
        for _ in 0..6 {
            tcp_talk(checked, "hc").await?;
        }
        Some(())
    })
    .await;
}

/// `terminationDelay`: once the server has ended its side, a client that keeps its own open
/// holds the connection only that long (a negative delay: until it closes). And a UDP session
/// ends after the entrypoint's `udp.timeout` of silence. Both read from the API's counters.
#[tokio::test]
async fn termination_delay_and_udp_idle_timeout() {
    // A server that greets and ends its writing half at once, reading on.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let quick = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let _ = s.write_all(b"bye\n").await;
                let _ = s.shutdown().await;
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink).await;
            });
        }
    });
    let u = udp_echo("u").await;
    let yml = "\
entryPoints:
  short:
    address: 127.0.0.1:0
  forever:
    address: 127.0.0.1:0
  dns:
    address: 127.0.0.1:0/udp
    udp:
      timeout: 1s
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
    short:
      entryPoints: [short]
      rule: HostSNI(`*`)
      service: short
    forever:
      entryPoints: [forever]
      rule: HostSNI(`*`)
      service: forever
  services:
    short:
      loadBalancer:
        terminationDelay: 300
        servers:
          - address: {quick}
    forever:
      loadBalancer:
        terminationDelay: -1
        servers:
          - address: {quick}
udp:
  routers:
    dns:
      service: dns
  services:
    dns:
      loadBalancer:
        servers:
          - address: {u}
"
    );
    let p = Portier::start_named("traefik.yml", yml, &[("dynamic.yml", &dynamic)], &[]);
    let api = p.entry_point("traefik");
    let open = |kind: &'static str, router: &'static str| async move {
        let text = get(api, "localhost", &format!("/api/{kind}/routers"))
            .await
            .text();
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v.as_array()?
            .iter()
            .find(|r| r["name"] == router)
            .and_then(|r| r["stats"]["open"].as_u64())
    };
    let mut held = Vec::new();
    for ep in ["short", "forever"] {
        let mut c = eventually(WAIT, "the server's greeting", async || {
            let mut c = TcpStream::connect(p.entry_point(ep)).await.ok()?;
            let mut line = [0u8; 4];
            tokio::time::timeout(Duration::from_secs(2), c.read_exact(&mut line))
                .await
                .ok()?
                .ok()?;
            Some(c)
        })
        .await;
        // The server's end reaches the client; the client keeps its own side open.
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).await.expect("the server's end");
        held.push(c);
    }
    eventually(
        WAIT,
        "the short delay over: the connection closed",
        async || (open("tcp", "short@file").await? == 0).then_some(()),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        open("tcp", "forever@file").await,
        Some(1),
        "a negative delay keeps it while the client's side is open"
    );
    drop(held);
    eventually(WAIT, "closed once the client closed", async || {
        (open("tcp", "forever@file").await? == 0).then_some(())
    })
    .await;

    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    sock.connect(p.entry_point("dns")).await.expect("connect");
    eventually(WAIT, "a UDP answer", async || {
        sock.send(b"x").await.ok()?;
        let mut buf = [0u8; 64];
        tokio::time::timeout(Duration::from_millis(500), sock.recv(&mut buf))
            .await
            .ok()?
            .ok()
    })
    .await;
    assert_eq!(open("udp", "dns@file").await, Some(1), "one session");
    eventually(WAIT, "the session over after 1 s of silence", async || {
        (open("udp", "dns@file").await? == 0).then_some(())
    })
    .await;
}
