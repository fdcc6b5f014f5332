//! Heap allocations on the request path of a keep-alive request (issue 16): portier runs in
//! this process under a counting allocator, with one worker thread as in the benchmarks; the
//! client and the origin are plain threads with fixed buffers, so that every allocation counted
//! while the requests run is portier's. The test fails when the count per request grows past
//! `MAX_PER_REQUEST`, the figure reached (lower it when it drops).

use std::alloc::System;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations per proxied keep-alive GET (a 13-byte answer, no middleware, no access log),
/// as reached (14.0 when written; 18.0 before the forwarded headers shared their buffers).
const MAX_PER_REQUEST: f64 = 14.5;
const WARM_UP: usize = 300;
const COUNTED: usize = 3000;

const ANSWER: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello world!\n";

/// An origin answering every request head with `ANSWER`, keep-alive, on its own thread.
fn origin() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the origin");
    let addr = listener.local_addr().expect("origin address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut have = 0;
                loop {
                    let Ok(n) = s.read(&mut buf[have..]) else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    have += n;
                    while let Some(end) = find(&buf[..have], b"\r\n\r\n") {
                        if s.write_all(ANSWER).is_err() {
                            return;
                        }
                        buf.copy_within(end + 4..have, 0);
                        have -= end + 4;
                    }
                    if have == buf.len() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One GET on `s` and its whole answer (Content-Length framing); the status code.
fn exchange(s: &mut TcpStream, buf: &mut [u8; 4096]) -> u16 {
    s.write_all(b"GET / HTTP/1.1\r\nHost: alloc.local\r\n\r\n")
        .expect("send the request");
    let mut have = 0;
    loop {
        let n = s.read(&mut buf[have..]).expect("read the answer");
        assert!(n > 0, "portier closed the connection");
        have += n;
        let Some(end) = find(&buf[..have], b"\r\n\r\n") else {
            continue;
        };
        let head = std::str::from_utf8(&buf[..end]).expect("an ASCII head");
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if have >= end + 4 + length {
            return head
                .get(9..12)
                .and_then(|c| c.parse().ok())
                .unwrap_or_default();
        }
    }
}

#[test]
fn a_keep_alive_request_allocates_at_most_the_figure_reached() {
    let origin = origin();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("traefik.toml");
    std::fs::write(
        &path,
        format!(
            "logLevel = \"ERROR\"\ndefaultEntryPoints = [\"http\"]\n\
             [entryPoints.http]\naddress = \"127.0.0.1:0\"\n[file]\n\
             [backends.b.servers.s]\nurl = \"http://{origin}\"\n\
             [frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:alloc.local\"\n"
        ),
    )
    .expect("write the configuration");
    let loaded = config::load(&path).expect("load");
    let (config, inline, _) = config::resolve(&loaded).expect("resolve");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let portier = runtime.block_on(async {
        let listeners = portier::bind(&config).await.expect("bind");
        let addr = listeners.entry_points[0]
            .1
            .local_addr()
            .expect("entrypoint address");
        let inline = portier::Inline {
            dynamic: inline,
            text: loaded.text.clone(),
        };
        let options = portier::RunOptions {
            ready_file: None,
            config_warnings: Vec::new(),
            reopen_log: None,
        };
        let p = portier::Portier::start(config, inline, listeners, options).expect("start");
        (p, addr)
    });
    let (portier, addr) = portier;

    let client = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut s = loop {
            let mut s = TcpStream::connect(addr).expect("connect");
            if exchange(&mut s, &mut buf) == 200 {
                break s;
            }
            assert!(Instant::now() < deadline, "the route never came up");
            std::thread::sleep(Duration::from_millis(20));
        };
        for _ in 0..WARM_UP {
            assert_eq!(exchange(&mut s, &mut buf), 200);
        }
        let region = Region::new(GLOBAL);
        for _ in 0..COUNTED {
            assert_eq!(exchange(&mut s, &mut buf), 200);
        }
        region.change()
    });
    let change = client.join().expect("the client thread");
    runtime.block_on(portier.shutdown());

    let per_request = change.allocations as f64 / COUNTED as f64;
    let bytes = change.bytes_allocated as f64 / COUNTED as f64;
    println!("{per_request:.2} allocations ({bytes:.0} bytes) per keep-alive request");
    assert!(
        per_request <= MAX_PER_REQUEST,
        "{per_request:.2} allocations per keep-alive request, more than the {MAX_PER_REQUEST} reached"
    );
}
