//! HTTP/1 framing and headers over raw sockets (no client library can send these messages):
//! each malformed request gets its status, the origin sees only what it should, and portier
//! keeps serving.

mod support;

use std::time::Duration;

use support::toml::Toml;
use support::{Backend, Portier, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `bytes` on a fresh connection and returns everything portier answers until it closes
/// (or 5 s pass).
async fn raw(addr: std::net::SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

fn status(answer: &str) -> &str {
    answer.get(9..12).unwrap_or("")
}

#[tokio::test]
async fn hosts_are_one_and_well_formed_and_absolute_form_wins() {
    let t = Backend::spawn("t").await;
    let admin = Backend::spawn("admin").await;
    let cfg = Toml::file()
        .backend("bt", &[(&t, 1)])
        .backend("ba", &[(&admin, 1)])
        .frontend("ft", "bt", "Host:t.local")
        .frontend("fa", "ba", "Host:admin.local")
        .build();
    let p = Portier::start(&cfg);
    let addr = p.http();
    for (request, want) in [
        (
            "GET / HTTP/1.1\r\nHost: t.local\r\nHost: admin.local\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET / HTTP/1.1\r\nHost: t.local/evil\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET / HTTP/1.1\r\nHost: t.local evil\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "GET / HTTP/1.1\r\nHost: user@t.local\r\nConnection: close\r\n\r\n",
            "400",
        ),
        ("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", "400"),
        (
            "GET / HTTP/1.1\r\nHost: t.local\r\nConnection: close\r\n\r\n",
            "200",
        ),
    ] {
        let answer = raw(addr, request.as_bytes()).await;
        assert_eq!(status(&answer), want, "{request:?} → {answer}");
    }
    // Absolute form: the target's authority routes, and is the Host the backend receives.
    let answer = raw(
        addr,
        b"GET http://admin.local/x HTTP/1.1\r\nHost: t.local\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status(&answer), "200", "{answer}");
    assert!(answer.contains("\"name\":\"admin\""), "{answer}");
    assert!(answer.contains("admin.local"), "{answer}");
    assert!(
        !answer.contains("t.local"),
        "the Host header is replaced: {answer}"
    );
    assert_eq!(get(addr, "t.local", "/").await.status, 200, "still serving");
}
