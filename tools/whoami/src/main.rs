//! A tiny HTTP/1.1 test backend with no dependencies, built statically into a `FROM scratch`
//! image by portier's Docker tests.
//!
//! `whoami [serve]` listens on $PORT (default 80) and answers every request with
//! `Hostname`, `IP`, the request line and headers (like traefik/whoami). `GET /health` answers
//! 200 or 503; `/health/up` and `/health/down` switch it. `whoami check` exits 0 when the local
//! `/health` answers 200 (for a Docker HEALTHCHECK). `/slow/<ms>` waits before answering.
//! SIGTERM or SIGINT stops it at once (as PID 1 in a container, an unhandled SIGTERM would
//! make `docker stop` wait its whole timeout); `IGNORE_SIGTERM=1` keeps it running until
//! SIGKILL, like an application that drains slowly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn main() {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(80);
    match std::env::args().nth(1).as_deref() {
        Some("check") => std::process::exit(check(port)),
        Some("up") | Some("down") => {
            let what = std::env::args().nth(1).unwrap_or_default();
            std::process::exit(if request(port, &format!("/health/{what}")).is_some() {
                0
            } else {
                1
            })
        }
        _ => serve(port),
    }
}

fn serve(port: u16) {
    exit_on_term();
    let healthy = Arc::new(AtomicBool::new(
        std::env::var("HEALTHY").map_or(true, |v| v != "0"),
    ));
    let listener = match TcpListener::bind(("0.0.0.0", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("whoami: cannot listen on port {port}: {e}");
            std::process::exit(1);
        }
    };
    let extra: Vec<u16> = std::env::var("EXTRA_PORTS")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    for p in extra {
        if let Ok(l) = TcpListener::bind(("0.0.0.0", p)) {
            let h = Arc::clone(&healthy);
            std::thread::spawn(move || accept(l, h));
        }
    }
    echo_servers();
    eprintln!("whoami: listening on port {port}");
    accept(listener, healthy);
}

/// `TCP_ECHO_PORT`: a TCP server that greets each connection with the hostname, then echoes
/// what it reads. `UDP_ECHO_PORT`: a UDP server answering each datagram `hostname:payload`.
fn echo_servers() {
    let port = |name: &str| std::env::var(name).ok().and_then(|p| p.parse::<u16>().ok());
    let name = host_name();
    if let Some(p) = port("TCP_ECHO_PORT") {
        if let Ok(l) = TcpListener::bind(("0.0.0.0", p)) {
            let name = name.clone();
            std::thread::spawn(move || {
                for mut s in l.incoming().flatten() {
                    let name = name.clone();
                    std::thread::spawn(move || {
                        if s.write_all(format!("{name}\n").as_bytes()).is_err() {
                            return;
                        }
                        let Ok(mut r) = s.try_clone() else { return };
                        let _ = std::io::copy(&mut r, &mut s);
                        let _ = s.shutdown(std::net::Shutdown::Write);
                    });
                }
            });
        }
    }
    if let Some(p) = port("UDP_ECHO_PORT") {
        if let Ok(u) = std::net::UdpSocket::bind(("0.0.0.0", p)) {
            std::thread::spawn(move || {
                let mut buf = [0u8; 2048];
                while let Ok((n, from)) = u.recv_from(&mut buf) {
                    let mut answer = format!("{name}:").into_bytes();
                    answer.extend_from_slice(&buf[..n]);
                    let _ = u.send_to(&answer, from);
                }
            });
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Exits 0 on SIGTERM or SIGINT: a test backend has nothing to drain.
fn exit_on_term() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    if std::env::var("IGNORE_SIGTERM").is_ok_and(|v| v == "1") {
        return;
    }
    match signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    std::process::exit(0);
                }
            });
        }
        Err(e) => eprintln!("whoami: cannot handle SIGTERM ({e}); docker stop will wait"),
    }
}

fn accept(listener: TcpListener, healthy: Arc<AtomicBool>) {
    for stream in listener.incoming().flatten() {
        let h = Arc::clone(&healthy);
        std::thread::spawn(move || {
            let _ = handle(stream, &h);
        });
    }
}

fn handle(stream: TcpStream, healthy: &AtomicBool) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let request_line = line.trim_end().to_string();
        let mut headers = Vec::new();
        let mut content_length = 0usize;
        let mut close = false;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    content_length = v.parse().unwrap_or(0);
                }
                if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
                headers.push(format!("{k}: {v}"));
            }
        }
        let mut body = vec![0; content_length];
        reader.read_exact(&mut body)?;
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_string();
        let (status, text) = respond(&path, &request_line, &headers, healthy);
        write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{}\r\n{text}",
            text.len(),
            if close { "Connection: close\r\n" } else { "" }
        )?;
        out.flush()?;
        if close {
            return Ok(());
        }
    }
}

fn respond(
    path: &str,
    request_line: &str,
    headers: &[String],
    healthy: &AtomicBool,
) -> (&'static str, String) {
    match path {
        "/health" => {
            if healthy.load(Ordering::Relaxed) {
                ("200 OK", "healthy\n".into())
            } else {
                ("503 Service Unavailable", "unhealthy\n".into())
            }
        }
        "/health/up" => {
            healthy.store(true, Ordering::Relaxed);
            ("200 OK", "up\n".into())
        }
        "/health/down" => {
            healthy.store(false, Ordering::Relaxed);
            ("200 OK", "down\n".into())
        }
        p => {
            if let Some(ms) = p.strip_prefix("/slow/").and_then(|m| m.parse().ok()) {
                std::thread::sleep(Duration::from_millis(ms));
            }
            let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            let mut text = format!("Hostname: {}\n", hostname.trim());
            for ip in local_ips() {
                text.push_str(&format!("IP: {ip}\n"));
            }
            text.push_str(request_line);
            text.push('\n');
            for h in headers {
                text.push_str(h);
                text.push('\n');
            }
            ("200 OK", text)
        }
    }
}

/// IPv4 addresses from /proc/net/fib_trie (scratch images have no `ip` command).
fn local_ips() -> Vec<String> {
    let trie = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let mut ips = Vec::new();
    let lines: Vec<&str> = trie.lines().collect();
    for w in lines.windows(2) {
        if w[1].contains("32 host LOCAL") {
            let ip = w[0].trim().trim_start_matches("|-- ").to_string();
            if ip != "127.0.0.1" && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    ips
}

fn request(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn check(port: u16) -> i32 {
    match request(port, "/health") {
        Some(r) if r.starts_with("HTTP/1.1 200") => 0,
        _ => 1,
    }
}
