//! HTTP/1 framing and headers over raw sockets (no client library can send these messages):
//! each malformed request gets its status, the origin sees only what it should, and portier
//! keeps serving.

mod support;

use support::raw::{RawOrigin, raw, status};
use support::toml::Toml;
use support::{Backend, Portier, get};

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

/// Portier in front of a recording origin: `Host:t.local` and `PathPrefixStrip:/music` on
/// `music.local`.
fn in_front_of(origin: &RawOrigin) -> Portier {
    let cfg = Toml::file()
        .backend_url("o", &origin.url())
        .frontend("ft", "o", "Host:t.local")
        .frontend("fm", "o", "Host:music.local;PathPrefixStrip:/music")
        .build();
    Portier::start(&cfg)
}

/// Sends each `(request, status, what the origin parses from it)` on a fresh connection and
/// checks the answer, that the origin saw exactly that (nothing smuggled), and that portier
/// still serves the next request.
async fn expect(p: &Portier, origin: &RawOrigin, cases: &[(&str, &str, Option<&str>)]) {
    let addr = p.http();
    let mut wrong = Vec::new();
    for (request, want, reaches) in cases {
        let before = origin.requests().len();
        let answer = raw(addr, request.as_bytes()).await;
        let seen = origin.requests()[before..].to_vec();
        let expected: Vec<String> = reaches.iter().map(|r| r.to_string()).collect();
        if status(&answer) != *want || seen != expected {
            wrong.push(format!(
                "{request:?}: want {want} and {expected:?} at the origin, got {answer:?} and {seen:?}"
            ));
        }
        let next = raw(
            addr,
            b"GET /next HTTP/1.1\r\nHost: t.local\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert_eq!(status(&next), "200", "after {request:?}: {next}");
        assert_eq!(
            origin.requests().last().map(String::as_str),
            Some("GET /next 0"),
            "after {request:?}"
        );
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn request_framing_other_than_one_exact_length_or_chunked_is_refused() {
    let origin = RawOrigin::recording().await;
    let p = in_front_of(&origin);
    let h = "Host: t.local\r\nConnection: close\r\n";
    let post = |headers: &str, body: &str| format!("POST /x HTTP/1.1\r\n{h}{headers}\r\n{body}");
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        (
            post("Content-Length: 5\r\n", "hello"),
            "200",
            Some("POST /x 5"),
        ),
        (
            post("Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            "200",
            Some("POST /x 5"),
        ),
        (
            post("Transfer-Encoding: Chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            "200",
            Some("POST /x 5"),
        ),
        (
            post(
                "Transfer-Encoding: chunked\r\n",
                "5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
            ),
            "200",
            Some("POST /x 5"),
        ),
        // Transfer codings other than exactly `chunked`.
        (
            post(
                "Transfer-Encoding: chunked, chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "400",
            None,
        ),
        (
            post(
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "400",
            None,
        ),
        (
            post(
                "Transfer-Encoding: gzip, chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "501",
            None,
        ),
        (
            post(
                "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "501",
            None,
        ),
        // hyper refuses a list that does not end in `chunked` before portier sees it.
        (
            post("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n"),
            "400",
            None,
        ),
        (
            post("Transfer-Encoding: chunked \r\n", "5\r\nhello\r\n0\r\n\r\n"),
            "200",
            Some("POST /x 5"),
        ),
        (
            post(
                "Transfer-Encoding: \"chunked\"\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "400",
            None,
        ),
        // Content-Length with Transfer-Encoding: read by the coding alone, the length dropped
        // (RFC 9112 §6.1; the connection closes after, see below).
        (
            post(
                "Transfer-Encoding: chunked\r\nContent-Length: 50\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "200",
            Some("POST /x 5"),
        ),
        (
            post(
                "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",
                "5\r\nhello\r\n0\r\n\r\n",
            ),
            "200",
            Some("POST /x 5"),
        ),
        // Content-Length not one decimal number.
        (
            post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
            "400",
            None,
        ),
        (post("Content-Length: 5, 6\r\n", "hello!"), "400", None),
        (post("Content-Length: +5\r\n", "hello"), "400", None),
        (post("Content-Length: -5\r\n", "hello"), "400", None),
        (post("Content-Length: 0x5\r\n", "hello"), "400", None),
        (
            post("Content-Length: 99999999999999999999999\r\n", "hello"),
            "400",
            None,
        ),
        // HTTP/1.0 has no chunked coding.
        (
            format!(
                "POST /x HTTP/1.0\r\n{h}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
            ),
            "400",
            None,
        ),
    ];
    let cases: Vec<(&str, &str, Option<&str>)> =
        cases.iter().map(|(r, s, o)| (r.as_str(), *s, *o)).collect();
    expect(&p, &origin, &cases).await;

    // Both lengths: the connection closes after the answer, so a request pipelined behind it
    // (where a length-reading hop would see a body) is never read.
    let before = origin.requests().len();
    let answer = raw(
        p.http(),
        b"POST /x HTTP/1.1\r\nHost: t.local\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t.local\r\n\r\n",
    )
    .await;
    assert_eq!(answer.matches("HTTP/1.1 ").count(), 1, "{answer}");
    assert_eq!(origin.requests()[before..], ["POST /x 0"]);
}

#[tokio::test]
async fn a_malformed_chunk_is_the_clients_fault_and_its_upstream_connection_is_dropped() {
    let origin = RawOrigin::recording().await;
    let p = in_front_of(&origin);
    let post = |body: &str| {
        format!("POST /bad HTTP/1.1\r\nHost: t.local\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
    };
    let bodies = [
        "zz\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "-5\r\nhello\r\n0\r\n\r\n",
        "ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
        "5\r\nhello\r\n0\r\nBad Trailer\r\n\r\n",
        "5\r\nhello\r\n\x00\r\n\r\n",
    ];
    let cases: Vec<String> = bodies.iter().map(|b| post(b)).collect();
    let cases: Vec<(&str, &str, Option<&str>)> =
        cases.iter().map(|r| (r.as_str(), "400", None)).collect();
    expect(&p, &origin, &cases).await;
    // Each connection that carried a broken body carried nothing after it.
    for conn in origin.per_connection() {
        if let Some(at) = conn.find("POST /bad") {
            assert!(
                !conn[at..].contains("GET /next"),
                "an upstream connection was reused after a broken body: {conn:?}"
            );
        }
    }
}

#[tokio::test]
async fn header_syntax_targets_and_paths() {
    let origin = RawOrigin::recording().await;
    let p = in_front_of(&origin);
    let get = |headers: &str| {
        format!("GET /h HTTP/1.1\r\nHost: t.local\r\n{headers}Connection: close\r\n\r\n")
    };
    let line =
        |line: &str, host: &str| format!("{line}\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let cases: Vec<(String, &str, Option<&str>)> = vec![
        (get("X-A: a\r\n"), "200", Some("GET /h 0")),
        // Header syntax.
        (get("X-A: a\r\n b\r\n"), "400", None),
        (get("X-A: a\rb\r\n"), "400", None),
        (get("X-A: a\x00b\r\n"), "400", None),
        (get("X-A : a\r\n"), "400", None),
        (get("X-A\t: a\r\n"), "400", None),
        (get("X A: a\r\n"), "400", None),
        (get(": a\r\n"), "400", None),
        (get("X-A\r\n"), "400", None),
        (line("GET  /h HTTP/1.1", "t.local"), "400", None),
        (line("GET /h HTTP/1.2", "t.local"), "400", None),
        (line("GET /h HTTP/2.0", "t.local"), "400", None),
        // A bare LF ends lines as RFC 9112 §2.2 lets a recipient accept (nginx does too).
        (
            "GET /h HTTP/1.1\nHost: t.local\nConnection: close\n\n".to_string(),
            "200",
            Some("GET /h 0"),
        ),
        // Request targets.
        (line("GET * HTTP/1.1", "t.local"), "400", None),
        (
            line("OPTIONS * HTTP/1.1", "t.local"),
            "200",
            Some("OPTIONS * 0"),
        ),
        (line("GET h HTTP/1.1", "t.local"), "400", None),
        (line("GET /a b HTTP/1.1", "t.local"), "400", None),
        (
            line("CONNECT t.local:443 HTTP/1.1", "t.local:443"),
            "405",
            None,
        ),
        // Paths, normalised before routing and again after every strip or rewrite.
        (
            line("GET /music/x HTTP/1.1", "music.local"),
            "200",
            Some("GET /x 0"),
        ),
        (
            line("GET /music//x/./y HTTP/1.1", "music.local"),
            "200",
            Some("GET /x/y 0"),
        ),
        (
            line("GET /music../admin HTTP/1.1", "music.local"),
            "400",
            None,
        ),
        (line("GET /music.. HTTP/1.1", "music.local"), "400", None),
        (
            line("GET /music%2e%2e/admin HTTP/1.1", "music.local"),
            "400",
            None,
        ),
        (
            line("GET /music/../admin HTTP/1.1", "music.local"),
            "404",
            None,
        ),
        (
            line("GET /music/%2e%2e/%2e%2e/x HTTP/1.1", "music.local"),
            "400",
            None,
        ),
        (
            line("GET /a/../../etc/passwd HTTP/1.1", "t.local"),
            "400",
            None,
        ),
    ];
    let cases: Vec<(&str, &str, Option<&str>)> =
        cases.iter().map(|(r, s, o)| (r.as_str(), *s, *o)).collect();
    expect(&p, &origin, &cases).await;
}

/// Each raw response from an origin, and what the client gets for `GET /r`: the status and
/// a check on the rest; portier answers within 3 s (it does not wait for the origin to close).
#[tokio::test]
async fn responses_are_relayed_with_one_framing_or_answered_502() {
    type Check = fn(&str) -> bool;
    let big_header: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 2\r\n\r\nok",
            "b".repeat(64 * 1024)
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let cases: Vec<(&'static [u8], &str, Check)> = vec![
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "200", |a| a.ends_with("\r\n\r\nhello")),
        // Both: the coding wins, the stale length is dropped, the body is whole.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "200",
            |a| !a.to_ascii_lowercase().contains("content-length: 2") && a.contains("hello"),
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 50\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            "200",
            |a| !a.to_ascii_lowercase().contains("content-length: 50") && a.contains("hello"),
        ),
        // Codings other than `chunked` alone.
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\nhello", "502", |_| true),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "502", |_| true),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", "502", |_| true),
        // Heads portier cannot parse, or will not hold.
        (big_header, "502", |_| true),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "502", |_| true),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello", "502", |_| true),
        (b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello", "502", |_| true),
        (b"HTTP/1.1 2000 OK\r\nContent-Length: 5\r\n\r\nhello", "502", |_| true),
        (b"HTTP/1.1 200 OK\r\nX-A : a\r\nContent-Length: 5\r\n\r\nhello", "502", |_| true),
        (b"SMTP ready\r\n\r\n", "502", |_| true),
        // A broken chunk after the head went out: the client's connection is cut, never
        // ended as if the body were whole.
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
            "200",
            |a| !a.ends_with("0\r\n\r\n"),
        ),
    ];
    let mut wrong = Vec::new();
    for (response, want, check) in cases {
        let origin = RawOrigin::answering(response).await;
        let cfg = Toml::file()
            .backend_url("o", &origin.url())
            .frontend("ft", "o", "Host:t.local")
            .build();
        let p = Portier::start(&cfg);
        let started = std::time::Instant::now();
        let answer = raw(
            p.http(),
            b"GET /r HTTP/1.1\r\nHost: t.local\r\nConnection: close\r\n\r\n",
        )
        .await;
        let took = started.elapsed();
        let shown = String::from_utf8_lossy(&response[..response.len().min(80)]).into_owned();
        if status(&answer) != want || !check(&answer) || took > std::time::Duration::from_secs(3) {
            wrong.push(format!(
                "{shown:?}: want {want}, got {answer:?} after {took:?}"
            ));
        }
        assert_eq!(
            origin.connections(),
            1,
            "{shown:?}: no retry of a GET that reached the origin"
        );
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
