//! TLS entrypoints: SNI certificate choice, default certificate, TLS 1.2 minimum, ALPN h2 with an
//! HTTP/1.1 backend, and the http → https entrypoint redirect.

mod support;

use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{Backend, Portier, TestBody, get};
use tokio::net::TcpStream;

use support::docker::eventually;

/// How long a dynamic change may take to apply.
const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn pem(names: &[&str]) -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("cert");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

/// A portier with one TLS entrypoint (`c.crt`/`c.key`, plus `extra_tls` in its tls table) in
/// front of `backend`: it plays an https server (`https://127.0.0.1:<port>`).
fn tls_front(backend: &Backend, extra_tls: &str) -> String {
    format!(
        "defaultEntryPoints = [\"https\"]\n[entryPoints.https]\naddress = \"127.0.0.1:0\"\n[entryPoints.https.tls]\n\
         [[entryPoints.https.tls.certificates]]\ncertFile = \"c.crt\"\nkeyFile = \"c.key\"\n{extra_tls}\
         [file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"PathPrefix:/\"\n",
        backend.url()
    )
}

/// An http entrypoint and one frontend per `(name, extra)` guarded by forward auth at
/// `address` (copying `X-Auth-User`), with `extra` (such as its `tls` table) added to each.
fn forward_auth_front(backend: &Backend, address: &str, frontends: &[(&str, &str)]) -> String {
    let mut cfg = format!(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\n[backends.b.servers.s]\nurl = \"{}\"\n",
        backend.url()
    );
    for (name, extra) in frontends {
        cfg.push_str(&format!(
            "[frontends.{name}]\nbackend = \"b\"\n[frontends.{name}.routes.r]\nrule = \"Host:{name}.local\"\n\
             [frontends.{name}.auth.forward]\naddress = \"{address}\"\nauthResponseHeaders = [\"X-Auth-User\"]\n{extra}"
        ));
    }
    cfg
}

async fn start() -> (Backend, Portier) {
    let backend = Backend::spawn("tls-backend").await;
    let (a_cert, a_key) = pem(&["a.test"]);
    let (w_cert, w_key) = pem(&["*.wild.test"]);
    let (d_cert, d_key) = pem(&["default.test"]);
    let cfg = format!(
        "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[entryPoints.http.redirect]\nentryPoint = \"https\"\n\
         [entryPoints.https]\naddress = \"127.0.0.1:0\"\n[entryPoints.https.tls]\n\
         [[entryPoints.https.tls.certificates]]\ncertFile = \"a.crt\"\nkeyFile = \"a.key\"\n\
         [[entryPoints.https.tls.certificates]]\ncertFile = \"\"\"{w_cert}\"\"\"\nkeyFile = \"\"\"{w_key}\"\"\"\n\
         [entryPoints.https.tls.defaultCertificate]\ncertFile = \"d.crt\"\nkeyFile = \"d.key\"\n\
         [file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\nentryPoints = [\"https\"]\n[frontends.f.routes.r]\nrule = \"Host:a.test,x.wild.test\"\n",
        backend.url()
    );
    let p = Portier::start_with(
        &cfg,
        &[
            ("a.crt", &a_cert),
            ("a.key", &a_key),
            ("d.crt", &d_cert),
            ("d.key", &d_key),
        ],
        &[],
    );
    (backend, p)
}

async fn handshake(
    p: &Portier,
    sni: &str,
    alpn: &[&[u8]],
) -> (tokio_rustls::client::TlsStream<TcpStream>, Vec<String>) {
    let (stream, names) = support::tls::connect(p.entry_points["https"], sni, alpn).await;
    (stream.expect("handshake"), names)
}

#[tokio::test]
async fn sni_picks_the_certificate_and_unknown_names_get_the_default() {
    let (_b, p) = start().await;
    assert_eq!(handshake(&p, "a.test", &[]).await.1, ["a.test"]);
    assert_eq!(handshake(&p, "x.wild.test", &[]).await.1, ["*.wild.test"]);
    assert_eq!(handshake(&p, "unknown.test", &[]).await.1, ["default.test"]);
}

#[tokio::test]
async fn h2_by_alpn_to_an_http1_backend() {
    let (_b, p) = start().await;
    let (tls, _) = handshake(&p, "a.test", &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("https://a.test/over-h2")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), http::Version::HTTP_2);
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&body).expect("echo");
    assert_eq!(echo["path"], "/over-h2");
    assert_eq!(
        echo["headers"]["host"][0], "a.test",
        "Host comes from :authority"
    );
    assert_eq!(echo["headers"]["x-forwarded-proto"][0], "https");
}

#[tokio::test]
async fn http1_over_tls_works_too() {
    let (_b, p) = start().await;
    let (tls, _) = handshake(&p, "x.wild.test", &[b"http/1.1"]).await;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("/hello")
        .header("host", "x.wild.test")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    let resp = send.send_request(req).await.expect("response");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn tls_1_1_is_refused() {
    let (_b, p) = start().await;
    let addr = p.entry_points["https"].to_string();
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-tls1_1",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
            "-servername",
            "a.test",
            "-connect",
            &addr,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // openssl may exit 0 either way: read what it saw.
    assert!(
        text.contains("no peer certificate available"),
        "TLS 1.1 handshake succeeded:\n{text}"
    );
    assert!(
        text.contains("New, (NONE), Cipher is (NONE)"),
        "no TLS 1.1 session: {text}"
    );
    let out = std::process::Command::new("openssl")
        .args([
            "s_client",
            "-tls1_2",
            "-servername",
            "a.test",
            "-connect",
            &addr,
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TLSv1.2"),
        "TLS 1.2 works: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test]
async fn http_redirects_to_https_keeping_host_path_and_query() {
    let (_b, p) = start().await;
    let r = get(p.http(), "a.test", "/some/path?x=1&y=2").await;
    assert_eq!(r.status, 302);
    let port = p.entry_points["https"].port();
    assert_eq!(
        r.headers["location"],
        format!("https://a.test:{port}/some/path?x=1&y=2")
    );
}

#[tokio::test]
async fn a_frontend_redirect_sends_only_its_requests_to_https() {
    let backend = Backend::spawn("b").await;
    let (cert, key) = pem(&["redir.test", "plain.test"]);
    let cfg = format!(
        "defaultEntryPoints = [\"http\", \"https\"]\n[entryPoints.http]\naddress = \"127.0.0.1:0\"\n\
         [entryPoints.https]\naddress = \"127.0.0.1:0\"\n[entryPoints.https.tls]\n[[entryPoints.https.tls.certificates]]\ncertFile = \"c.crt\"\nkeyFile = \"c.key\"\n\
         [file]\n[backends.b.servers.s]\nurl = \"{}\"\n\
         [frontends.secure]\nbackend = \"b\"\n[frontends.secure.redirect]\nentryPoint = \"https\"\npermanent = true\n[frontends.secure.routes.r]\nrule = \"Host:redir.test\"\n\
         [frontends.plain]\nbackend = \"b\"\n[frontends.plain.routes.r]\nrule = \"Host:plain.test\"\n",
        backend.url()
    );
    let p = Portier::start_with(&cfg, &[("c.crt", &cert), ("c.key", &key)], &[]);
    let r = get(p.http(), "redir.test", "/a?b=c").await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.headers["location"],
        format!(
            "https://redir.test:{}/a?b=c",
            p.entry_points["https"].port()
        )
    );
    assert_eq!(
        get(p.http(), "plain.test", "/").await.status,
        200,
        "other frontends are served on http"
    );
    let (tls, _) = handshake(&p, "redir.test", &[b"http/1.1"]).await;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let req = http::Request::get("/a")
        .header("host", "redir.test")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("request");
    assert_eq!(
        send.send_request(req).await.expect("response").status(),
        200,
        "served on the target entrypoint"
    );
}

#[tokio::test]
async fn https_backends_with_root_cas_or_insecure_skip_verify() {
    let backend = Backend::spawn("behind-tls").await;
    let (cert, key) = pem(&["127.0.0.1"]);
    // A portier TLS entrypoint in front of a plain backend plays the https server.
    let inner_cfg = tls_front(&backend, "");
    let inner = Portier::start_with(&inner_cfg, &[("c.crt", &cert), ("c.key", &key)], &[]);
    let upstream = format!("https://127.0.0.1:{}", inner.entry_points["https"].port());
    let outer = |global: &str| {
        format!(
            "{global}\n[entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\n[backends.b.servers.s]\nurl = \"{upstream}\"\n\
             [frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:tls-backend.local\"\n"
        )
    };
    let strict = Portier::start(&outer(""));
    assert_eq!(
        get(strict.http(), "tls-backend.local", "/").await.status,
        502,
        "an unknown CA is refused"
    );
    let insecure = Portier::start(&outer("insecureSkipVerify = true"));
    assert_eq!(
        get(insecure.http(), "tls-backend.local", "/x")
            .await
            .echo()
            .name,
        "behind-tls"
    );
    let trusted = Portier::start_with(&outer("rootCAs = [\"ca.pem\"]"), &[("ca.pem", &cert)], &[]);
    let e = get(trusted.http(), "tls-backend.local", "/y").await.echo();
    assert_eq!((e.name.as_str(), e.path.as_str()), ("behind-tls", "/y"));
}

#[tokio::test]
async fn forward_auth_over_https_trusts_its_ca_or_skips_verification() {
    let auth = Backend::spawn("auth").await;
    let (cert, key) = pem(&["127.0.0.1"]);
    // A portier TLS entrypoint in front of the test backend plays the https auth server.
    let inner_cfg = tls_front(&auth, "");
    let inner = Portier::start_with(&inner_cfg, &[("c.crt", &cert), ("c.key", &key)], &[]);
    let address = format!(
        "https://127.0.0.1:{}/auth",
        inner.entry_points["https"].port()
    );
    let outer = forward_auth_front(
        &auth,
        &address,
        &[
            ("strict", ""),
            (
                "trusted",
                "[frontends.trusted.auth.forward.tls]\nca = \"ca.pem\"\n",
            ),
            (
                "insecure",
                "[frontends.insecure.auth.forward.tls]\ninsecureSkipVerify = true\n",
            ),
        ],
    );
    let p = Portier::start_with(&outer, &[("ca.pem", &cert)], &[]);
    let token = [("x-token", "good")];
    let ask = async |host: &str| {
        support::send(p.http(), "GET", host, "/", &token, TestBody::empty()).await
    };
    assert_eq!(
        ask("strict.local").await.status,
        500,
        "an unknown CA fails closed"
    );
    for host in ["trusted.local", "insecure.local"] {
        let r = ask(host).await;
        assert_eq!(r.status, 200, "{host}");
        assert_eq!(r.echo().header("x-auth-user"), Some("alice"), "{host}");
    }
}

/// A dynamic file's `tls.options.default` replaces the TLS entrypoint's settings while it is
/// defined: TLS 1.3 only and ALPN `http/1.1`, then client certificates checked against its CA,
/// then (gone) the entrypoint's own settings again, each without a restart.
#[tokio::test]
async fn dynamic_tls_options_default_apply_and_change_without_a_restart() {
    let api = support::Backend::spawn("api").await;
    let (ca_pem, cert, key) = client_ca();
    let yml = "\
entryPoints:
  websecure:
    address: 127.0.0.1:0
    http:
      tls: {}
providers:
  file:
    filename: dynamic.yml
    watch: true
";
    let dynamic = |options: &str| {
        let legacy = if options.contains("legacy") {
            "legacy"
        } else {
            "default"
        };
        format!(
            "{options}http:\n  routers:\n    app:\n      rule: Host(`app.test`)\n      service: api\n      tls: {{}}\n    old:\n      rule: Host(`old.test`)\n      service: api\n      tls:\n        options: {legacy}\n  services:\n    api:\n      loadBalancer:\n        servers:\n          - url: {}\n",
            api.url()
        )
    };
    let modern = "tls:\n  options:\n    default:\n      minVersion: VersionTLS13\n      alpnProtocols: [http/1.1]\n    legacy:\n      maxVersion: VersionTLS12\n";
    let p = Portier::start_named(
        "traefik.yml",
        yml,
        &[("dynamic.yml", &dynamic(modern)), ("ca.pem", &ca_pem)],
        &[],
    );
    let addr = p.entry_point("websecure");
    let tls12 = [&rustls::version::TLS12];
    eventually(WAIT, "TLS 1.2 refused by the options", async || {
        let (s, _) = support::tls::connect_with(addr, "app.test", &[], &tls12).await;
        s.is_none().then_some(())
    })
    .await;
    let (s, _) = support::tls::connect(addr, "app.test", &[b"h2", b"http/1.1"]).await;
    let s = s.expect("a TLS 1.3 handshake");
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    // A router naming the `legacy` set: its host's connections get TLS 1.2 only, by SNI.
    let (s, _) = support::tls::connect_with(addr, "old.test", &[], &tls12).await;
    assert!(s.is_some(), "TLS 1.2 for old.test");
    let tls13 = [&rustls::version::TLS13];
    let (s, _) = support::tls::connect_with(addr, "old.test", &[], &tls13).await;
    assert!(s.is_none(), "no TLS 1.3 for old.test");

    let mtls = "tls:\n  options:\n    default:\n      clientAuth:\n        caFiles: [ca.pem]\n        clientAuthType: RequireAndVerifyClientCert\n";
    p.write("dynamic.yml", &dynamic(mtls));
    eventually(WAIT, "a client certificate required", async || {
        mtls_get(addr, "app.test", None)
            .await
            .is_none()
            .then_some(())
    })
    .await;
    let r = mtls_get(addr, "app.test", Some((&cert, &key)))
        .await
        .expect("with the CA's certificate");
    assert_eq!(r.status, 200);

    p.write("dynamic.yml", &dynamic(""));
    eventually(WAIT, "the entrypoint's own settings again", async || {
        let (s, _) = support::tls::connect_with(addr, "app.test", &[], &tls12).await;
        s.is_some().then_some(())
    })
    .await;
    assert!(mtls_get(addr, "app.test", None).await.is_some());
}

/// A CA, and a client certificate for `alice` it signed: (CA PEM, client DER, client key DER).
fn client_ca() -> (String, Vec<u8>, Vec<u8>) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    };
    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "test CA");
    let ca_pem = ca.self_signed(&ca_key).expect("ca").pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut client = CertificateParams::new(vec!["alice.test".to_string()]).expect("params");
    client.distinguished_name.push(DnType::CommonName, "alice");
    client
        .distinguished_name
        .push(DnType::OrganizationName, "Portier");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = client.signed_by(&key, &issuer).expect("client cert");
    (ca_pem, cert.der().to_vec(), key.serialize_der())
}

/// GET `/` for `host` over TLS, showing `identity` (a client certificate and key) if given;
/// `None` when the handshake or the request fails.
async fn mtls_get(
    addr: std::net::SocketAddr,
    host: &str,
    identity: Option<(&[u8], &[u8])>,
) -> Option<support::Reply> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    #[derive(Debug)]
    struct AnyServer;
    impl rustls::client::danger::ServerCertVerifier for AnyServer {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::ring::default_provider()
                .signature_verification_algorithms
                .supported_schemes()
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .ok()?
    .dangerous()
    .with_custom_certificate_verifier(std::sync::Arc::new(AnyServer));
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from(cert.to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.to_vec())),
            )
            .ok()?,
    };
    let tcp = TcpStream::connect(addr).await.ok()?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).ok()?;
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .ok()?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .ok()?;
    tokio::spawn(conn);
    let req = http::Request::get("/")
        .header("host", host)
        .header("x-forwarded-tls-client-cert", "spoofed")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .ok()?;
    // With TLS 1.3 a refused certificate shows only when the server first answers.
    let resp = send.send_request(req).await.ok()?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.ok()?.to_bytes();
    Some(support::Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

#[tokio::test]
async fn client_certificates_are_required_checked_and_passed_on() {
    let backend = Backend::spawn("mtls").await;
    let (ca_pem, client_der, client_key) = client_ca();
    let (other_ca, other_der, other_key) = client_ca();
    drop(other_ca);
    let (cert, key) = pem(&["mtls.test"]);
    let entry = |name: &str, optional: bool| {
        format!(
            "[entryPoints.{name}]\naddress = \"127.0.0.1:0\"\n[entryPoints.{name}.tls]\n\
             [[entryPoints.{name}.tls.certificates]]\ncertFile = \"c.crt\"\nkeyFile = \"c.key\"\n\
             [entryPoints.{name}.tls.clientCA]\nfiles = [\"ca.pem\"]\noptional = {optional}\n"
        )
    };
    let cfg = format!(
        "defaultEntryPoints = [\"required\", \"optional\"]\n{}{}\
         [file]\n[backends.b.servers.s]\nurl = \"{}\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:mtls.test\"\n\
         [frontends.f.passTLSClientCert]\npem = true\n[frontends.f.passTLSClientCert.infos.subject]\ncommonName = true\norganization = true\n",
        entry("required", false),
        entry("optional", true),
        backend.url()
    );
    let p = Portier::start_with(
        &cfg,
        &[("c.crt", &cert), ("c.key", &key), ("ca.pem", &ca_pem)],
        &[],
    );
    let required = p.entry_points["required"];
    assert!(
        mtls_get(required, "mtls.test", None).await.is_none(),
        "no certificate: refused"
    );
    assert!(
        mtls_get(required, "mtls.test", Some((&other_der, &other_key)))
            .await
            .is_none(),
        "a certificate from another CA: refused"
    );
    let r = mtls_get(required, "mtls.test", Some((&client_der, &client_key)))
        .await
        .expect("served");
    assert_eq!(r.status, 200);
    let echo = r.echo();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&client_der);
    let escaped = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    assert_eq!(
        echo.header("x-forwarded-tls-client-cert"),
        Some(escaped.as_str())
    );
    assert_eq!(
        echo.header("x-forwarded-tls-client-cert-infos"),
        Some("Subject%3D%22O%3DPortier%2CCN%3Dalice%22")
    );
    // optional: a client without a certificate is served, and a spoofed header is dropped.
    let r = mtls_get(p.entry_points["optional"], "mtls.test", None)
        .await
        .expect("served");
    assert_eq!(r.status, 200);
    assert_eq!(r.echo().header("x-forwarded-tls-client-cert"), None);
}

#[tokio::test]
async fn pass_tls_client_cert_labels_on_a_container() {
    use support::docker::Scope;
    let s = Scope::new("mtls");
    let (ca_pem, client_der, client_key) = client_ca();
    let (cert, key) = pem(&["mtls.test"]);
    let cfg = format!(
        "defaultEntryPoints = [\"https\"]\n[entryPoints.https]\naddress = \"127.0.0.1:0\"\n[entryPoints.https.tls]\n\
         [[entryPoints.https.tls.certificates]]\ncertFile = \"c.crt\"\nkeyFile = \"c.key\"\n\
         [entryPoints.https.tls.clientCA]\nfiles = [\"ca.pem\"]\n{}",
        s.docker_toml("")
    );
    let p = Portier::start_with(
        &cfg,
        &[("c.crt", &cert), ("c.key", &key), ("ca.pem", &ca_pem)],
        &[],
    );
    s.run(
        "app",
        &[
            "-l",
            "traefik.frontend.rule=Host:mtls.test",
            "-l",
            "traefik.frontend.passTLSCert=true",
            "-l",
            "traefik.frontend.passTLSClientCert.infos.subject.commonName=true",
        ],
    );
    let https = p.entry_points["https"];
    let identity = Some((client_der.as_slice(), client_key.as_slice()));
    let text = eventually(
        std::time::Duration::from_secs(10),
        "the container routed",
        async || {
            let r = mtls_get(https, "mtls.test", identity).await?;
            (r.status == 200).then(|| r.text().to_ascii_lowercase())
        },
    )
    .await;
    assert!(
        text.contains("x-forwarded-tls-client-cert-infos: subject%3d%22cn%3dalice%22"),
        "{text}"
    );
    assert!(!text.contains("spoofed"), "{text}");
    assert!(text.contains("x-forwarded-tls-client-cert: mii"), "{text}");
}

/// `der` as PEM under `label` (CERTIFICATE, PRIVATE KEY).
fn pem_of(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

#[tokio::test]
async fn forward_auth_shows_a_client_certificate_to_an_mtls_auth_server() {
    let auth = Backend::spawn("auth").await;
    let (ca_pem, client_der, client_key) = client_ca();
    let (cert, key) = pem(&["127.0.0.1"]);
    // The auth server behind a portier TLS entrypoint that requires client certificates.
    let inner_cfg = tls_front(
        &auth,
        "[entryPoints.https.tls.clientCA]\nfiles = [\"ca.pem\"]\n",
    );
    let inner = Portier::start_with(
        &inner_cfg,
        &[("c.crt", &cert), ("c.key", &key), ("ca.pem", &ca_pem)],
        &[],
    );
    let address = format!(
        "https://127.0.0.1:{}/auth",
        inner.entry_points["https"].port()
    );
    let outer = forward_auth_front(
        &auth,
        &address,
        &[
            (
                "shown",
                "[frontends.shown.auth.forward.tls]\nca = \"server.pem\"\ncert = \"client.pem\"\nkey = \"client.key\"\n",
            ),
            (
                "hidden",
                "[frontends.hidden.auth.forward.tls]\nca = \"server.pem\"\n",
            ),
        ],
    );
    let p = Portier::start_with(
        &outer,
        &[
            ("server.pem", &cert),
            ("client.pem", &pem_of("CERTIFICATE", &client_der)),
            ("client.key", &pem_of("PRIVATE KEY", &client_key)),
        ],
        &[],
    );
    let token = [("x-token", "good")];
    let r = support::send(
        p.http(),
        "GET",
        "shown.local",
        "/",
        &token,
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.echo().header("x-auth-server"), None);
    let r = support::send(
        p.http(),
        "GET",
        "hidden.local",
        "/",
        &token,
        TestBody::empty(),
    )
    .await;
    assert_eq!(
        r.status, 500,
        "no client certificate: the auth server refuses the handshake"
    );
}

/// The TLS 1.2 cipher openssl agreed on with `cipher` offered alone, or `None`.
fn tls12_with(addr: &str, cipher: &str) -> Option<String> {
    let out = std::process::Command::new("openssl")
        .args(["s_client", "-tls1_2", "-cipher", cipher, "-connect", addr])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Cipher    : "))
        .or_else(|| text.lines().find_map(|l| l.split("Cipher is ").nth(1)))
        .map(str::to_string)
        .filter(|c| c != "(NONE)" && c != "0000")
}

#[tokio::test]
async fn cipher_suites_limit_what_tls_1_2_offers() {
    let backend = Backend::spawn("b").await;
    let (cert, key) = pem(&["localhost"]);
    // The CBC suite is warned and not offered; AES-128-GCM is the only TLS 1.2 suite left.
    let cfg = tls_front(&backend, "").replace(
        "[entryPoints.https.tls]\n",
        "[entryPoints.https.tls]\ncipherSuites = [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\", \"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA\"]\n",
    );
    let p = Portier::start_with(&cfg, &[("c.crt", &cert), ("c.key", &key)], &[]);
    let addr = p.entry_points["https"].to_string();
    assert_eq!(
        tls12_with(&addr, "ECDHE-ECDSA-AES128-GCM-SHA256").as_deref(),
        Some("ECDHE-ECDSA-AES128-GCM-SHA256")
    );
    assert_eq!(tls12_with(&addr, "ECDHE-ECDSA-CHACHA20-POLY1305"), None);
    assert_eq!(tls12_with(&addr, "ECDHE-ECDSA-AES256-GCM-SHA384"), None);
    // Without the key, rustls offers its defaults.
    let p = Portier::start_with(
        &tls_front(&backend, ""),
        &[("c.crt", &cert), ("c.key", &key)],
        &[],
    );
    let addr = p.entry_points["https"].to_string();
    assert_eq!(
        tls12_with(&addr, "ECDHE-ECDSA-CHACHA20-POLY1305").as_deref(),
        Some("ECDHE-ECDSA-CHACHA20-POLY1305")
    );
}
