//! Hostile and heavy clients: oversized heads, slowloris, connection caps.

mod support;

use std::time::{Duration, Instant};

use support::toml::Toml;
use support::{Backend, Portier, TestBody, get, send};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn config(b: &Backend, extra_entrypoint: &str, extra: &str) -> String {
    Toml::http()
        .raw(extra_entrypoint)
        .raw(extra)
        .raw("[file]")
        .backend("b", &[(b, 1)])
        .frontend("f", "b", "Host:limits.local")
        .build()
}

#[tokio::test]
async fn oversized_request_heads_get_431() {
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(&b, "", ""));
    let nine_kib = "x".repeat(9 * 1024);
    let r = send(
        p.http(),
        "GET",
        "limits.local",
        "/",
        &[("cookie", &nine_kib)],
        TestBody::empty(),
    )
    .await;
    assert_eq!(r.status, 200, "a 9 KiB header is fine");
    let forty_kib = "x".repeat(40 * 1024);
    // Raw socket: the answer may come before the client finished writing.
    let mut s = TcpStream::connect(p.http()).await.expect("connect");
    let head = format!("GET / HTTP/1.1\r\nHost: limits.local\r\nCookie: {forty_kib}\r\n\r\n");
    let _ = s.write_all(head.as_bytes()).await;
    let mut answer = vec![0u8; 64];
    let n = s.read(&mut answer).await.expect("read");
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 431"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let mut s = TcpStream::connect(p.http()).await.expect("connect");
    let _ = s
        .write_all(format!("GET / HTTP/1.1\r\nHost: limits.local\r\n{many}\r\n").as_bytes())
        .await;
    let n = s.read(&mut answer).await.expect("read");
    assert!(
        String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 431"),
        "150 headers: {}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert_eq!(
        get(p.http(), "limits.local", "/").await.status,
        200,
        "portier still serves"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_and_normal_traffic_flows() {
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(
        &b,
        "",
        "[respondingTimeouts]\nreadHeaderTimeout = \"2s\"",
    ));
    let addr = p.http();
    // 500 clients that send one header byte per second and never finish.
    let mut slow = Vec::new();
    for _ in 0..500 {
        slow.push(tokio::spawn(async move {
            let Ok(mut s) = TcpStream::connect(addr).await else {
                return None;
            };
            let started = Instant::now();
            let _ = s
                .write_all(b"GET / HTTP/1.1\r\nHost: limits.local\r\nX-Slow: ")
                .await;
            let mut buf = [0u8; 256];
            for _ in 0..10 {
                // Closed by portier → a read returns 0 or an error.
                match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
                    Ok(Ok(_)) => return Some(started.elapsed()),
                    Err(_) => {}
                }
                if s.write_all(b"a").await.is_err() {
                    return Some(started.elapsed());
                }
            }
            None
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        let t = Instant::now();
        assert_eq!(get(addr, "limits.local", "/").await.status, 200);
        latencies.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    eprintln!(
        "{} normal requests beside 500 slowloris clients: p99 {p99:?}",
        latencies.len()
    );
    assert!(p99 < Duration::from_millis(50), "p99 {p99:?}");
    let mut closed = Vec::new();
    for t in slow {
        closed.push(t.await.expect("task").expect("closed by portier"));
    }
    let latest = closed.iter().max().copied().unwrap_or_default();
    eprintln!("all 500 slow clients closed, the last after {latest:?}");
    assert!(
        latest < Duration::from_secs(4),
        "closed by the 2 s header timeout, last after {latest:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_makes_extra_clients_wait() {
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(&b, "maxConnections = 5", ""));
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(TcpStream::connect(p.http()).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let waiting = tokio::time::timeout(
        Duration::from_millis(500),
        get(p.http(), "limits.local", "/"),
    )
    .await;
    assert!(waiting.is_err(), "a sixth client waits in the backlog");
    idle.pop();
    let r = tokio::time::timeout(Duration::from_secs(2), get(p.http(), "limits.local", "/"))
        .await
        .expect("served once a slot frees");
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_and_write_timeouts_close_stalled_clients() {
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(
        &b,
        "",
        "[respondingTimeouts]\nreadTimeout = \"1s\"\nwriteTimeout = \"1s\"",
    ));
    // A body that stops halfway: closed after about readTimeout.
    let mut s = TcpStream::connect(p.http()).await.expect("connect");
    s.write_all(
        b"POST /upload HTTP/1.1\r\nHost: limits.local\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .await
    .expect("write");
    let started = Instant::now();
    let mut buf = vec![0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => continue,
            Err(_) => panic!("the stalled upload was not closed within 5 s"),
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "closed after {took:?}"
    );

    // A client that stops reading a large download: closed after about writeTimeout.
    let mut s = TcpStream::connect(p.http()).await.expect("connect");
    s.write_all(b"GET /download/1073741824 HTTP/1.1\r\nHost: limits.local\r\n\r\n")
        .await
        .expect("write");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut total = 0usize;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => total += n,
            Err(_) => panic!("the stalled download was not closed"),
        }
    }
    assert!(
        total < 1 << 30,
        "the download was cut, {total} bytes arrived"
    );
    // Normal clients are not affected.
    assert_eq!(get(p.http(), "limits.local", "/").await.status, 200);
}

/// Reads until the peer closes; returns what it sent and when it closed.
async fn until_closed(mut s: TcpStream, started: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("not closed within 10 s"),
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_and_idle_timeouts_as_go_bounds_them() {
    // readHeaderTimeout for the first head (from the connection's start) and for later heads
    // from their first byte; idleTimeout between keep-alive requests. A partial head gets 408.
    let b = Backend::spawn("b").await;
    let p = Portier::start(&config(
        &b,
        "",
        "[respondingTimeouts]\nreadHeaderTimeout = \"1s\"\nidleTimeout = \"2500ms\"",
    ));
    let addr = p.http();
    let silent = async {
        let t = Instant::now();
        let s = TcpStream::connect(addr).await.expect("connect");
        until_closed(s, t).await
    };
    let partial = async {
        let t = Instant::now();
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: limits.local\r\nX-Half")
            .await
            .expect("write");
        until_closed(s, t).await
    };
    let keep_alive = async {
        let t = Instant::now();
        let s = TcpStream::connect(addr).await.expect("connect");
        let (mut send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(s))
                .await
                .expect("handshake");
        let conn = tokio::spawn(async move {
            let _ = conn.await;
            Instant::now()
        });
        let req = || {
            http::Request::get("/")
                .header("host", "limits.local")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .expect("request")
        };
        assert_eq!(send.send_request(req()).await.expect("first").status(), 200);
        // Longer than readHeaderTimeout, shorter than idleTimeout: still open.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let second = send
            .send_request(req())
            .await
            .expect("second after 1.5 s idle");
        assert_eq!(second.status(), 200);
        let answered = Instant::now();
        let closed = conn.await.expect("conn task");
        (closed - answered, t.elapsed())
    };
    let h2c = async {
        let s = TcpStream::connect(addr).await.expect("connect");
        let (mut send, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(s),
        )
        .await
        .expect("h2c handshake");
        tokio::spawn(conn);
        let req = || {
            http::Request::get("http://limits.local/")
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .expect("request")
        };
        assert_eq!(send.send_request(req()).await.expect("h2c").status(), 200);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        // Head bounds are HTTP/1's: an HTTP/2 connection is not closed by them.
        send.send_request(req())
            .await
            .expect("h2c after 1.5 s")
            .status()
    };
    let ((silence, silent_at), (half, half_at), (idle, _), h2_status) =
        tokio::join!(silent, partial, keep_alive, h2c);
    assert_eq!(h2_status, 200);
    assert_eq!(
        silence, "",
        "an idle connection is closed without an answer"
    );
    assert!(
        silent_at >= Duration::from_millis(900) && silent_at < Duration::from_millis(2000),
        "{silent_at:?}"
    );
    assert!(
        half.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{half:?}"
    );
    assert!(half.contains("connection: close"), "{half:?}");
    assert!(
        half_at >= Duration::from_millis(900) && half_at < Duration::from_millis(2000),
        "{half_at:?}"
    );
    assert!(
        idle >= Duration::from_millis(2300) && idle < Duration::from_millis(3500),
        "closed {idle:?} after the last answer (idleTimeout 2.5 s)"
    );
}
