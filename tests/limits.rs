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

    // Idle keep-alive connections (parked after a request) make room for a new client: one of
    // them is closed, and the new client is served at once.
    drop(idle);
    let mut kept = Vec::new();
    for _ in 0..5 {
        let mut s = TcpStream::connect(p.http()).await.expect("connect");
        s.write_all(b"GET / HTTP/1.1\r\nHost: limits.local\r\n\r\n")
            .await
            .expect("write");
        let (status, _) = read_response(&mut s).await;
        assert_eq!(status, "HTTP/1.1 200 OK");
        kept.push(s);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let r = tokio::time::timeout(Duration::from_secs(1), get(p.http(), "limits.local", "/"))
        .await
        .expect("served at once: an idle connection made room");
    assert_eq!(r.status, 200);
    let mut closed = 0;
    for s in &mut kept {
        let mut byte = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut byte)).await
        {
            closed += 1;
        }
    }
    assert!(closed >= 1, "no idle connection was closed to make room");
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

/// One response from `s`: its status line and body (the answer must carry Content-Length).
async fn read_response(s: &mut TcpStream) -> (String, String) {
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    while !got.ends_with(b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut byte))
            .await
            .expect("a response head within 5 s")
            .expect("read");
        assert_eq!(n, 1, "closed mid-head: {}", String::from_utf8_lossy(&got));
        got.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&got).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no Content-Length in {head:?}"));
    let mut body = vec![0u8; length];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut body))
        .await
        .expect("a body within 5 s")
        .expect("read body");
    let status = head.lines().next().unwrap_or_default().to_string();
    (status, String::from_utf8_lossy(&body).to_string())
}

/// Waits until `/metrics` shows `value` for the `http` entrypoint's `gauge`.
async fn wait_gauge(web: std::net::SocketAddr, gauge: &str, value: i64) {
    let line = format!("{gauge}{{entrypoint=\"http\"}} {value}");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = get(web, "localhost", "/metrics").await.text();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no {line:?} within 5 s:\n{}",
            text.lines()
                .filter(|l| l.starts_with(gauge))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn idle_keep_alive_connections_park_and_resume() {
    // A keep-alive connection idle for 500 ms gives up its buffers (it is parked, and counted
    // in portier_entrypoint_parked_connections); whatever comes next on it is served as before:
    // a head in pieces, a body, two pipelined requests.
    let b = Backend::spawn("b").await;
    let p = Portier::start(
        &Toml::http()
            .web()
            .raw("[file]")
            .backend("b", &[(&b, 1)])
            .frontend("f", "b", "Host:limits.local")
            .build(),
    );
    let web = p.web.expect("web");
    let mut s = TcpStream::connect(p.http()).await.expect("connect");
    s.write_all(b"GET /one HTTP/1.1\r\nHost: limits.local\r\n\r\n")
        .await
        .expect("write");
    let (status, body) = read_response(&mut s).await;
    assert_eq!(status, "HTTP/1.1 200 OK", "{body}");
    wait_gauge(web, "portier_entrypoint_parked_connections", 1).await;

    s.write_all(b"GE").await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.write_all(b"T /two HTTP/1.1\r\nHost: limits.local\r\n\r\n")
        .await
        .expect("write");
    let (status, body) = read_response(&mut s).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("\"/two\""), "{body}");
    wait_gauge(web, "portier_entrypoint_parked_connections", 1).await;

    s.write_all(
        b"POST /upload HTTP/1.1\r\nHost: limits.local\r\nContent-Length: 5\r\n\r\nhello\
          GET /four HTTP/1.1\r\nHost: limits.local\r\n\r\n",
    )
    .await
    .expect("write");
    let (status, body) = read_response(&mut s).await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", "5"));
    let (status, body) = read_response(&mut s).await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.contains("\"/four\""), "{body}");
    wait_gauge(web, "portier_entrypoint_parked_connections", 1).await;
    assert_eq!(
        b.seen(),
        [
            "GET /one",
            "GET /two",
            "POST /upload",
            "upload 5",
            "GET /four"
        ]
    );

    drop(s);
    wait_gauge(web, "portier_entrypoint_parked_connections", 0).await;
    wait_gauge(web, "portier_entrypoint_open_connections", 0).await;
}
