//! Time from `docker run -d` returning to the first 200 through portier, over N containers.
//!
//! Expects portier listening on 127.0.0.1:PORT with the Docker provider, and the whoami image
//! built (bench/docker-latency.sh does both).
//! `cargo run --release --example docker_latency -- PORT IMAGE TAG [count]`

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One GET with a fresh connection; the status code, or 0 on a connection error.
fn status(port: u16, host: &str) -> u16 {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(
        s,
        "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .is_err()
    {
        return 0;
    }
    let mut buf = [0u8; 12];
    if s.read_exact(&mut buf).is_err() {
        return 0;
    }
    std::str::from_utf8(&buf[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).expect("PORT");
    let image = args.get(2).expect("IMAGE").clone();
    let tag = args.get(3).expect("TAG").clone();
    let count: usize = args.get(4).and_then(|c| c.parse().ok()).unwrap_or(20);
    let mut ms = Vec::new();
    let mut ids = Vec::new();
    for i in 0..count {
        let host = format!("lat{i}.{tag}.local");
        let rule = format!("traefik.frontend.rule=Host:{host}");
        let tags = format!("traefik.tags={tag}");
        let name = format!("{tag}-{i}");
        let id = docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &tag,
            "-l",
            &rule,
            "-l",
            &tags,
            &image,
        ]);
        let returned = Instant::now();
        ids.push(id);
        loop {
            if status(port, &host) == 200 {
                break;
            }
            assert!(
                returned.elapsed() < Duration::from_secs(10),
                "{host} not routed within 10 s"
            );
            std::thread::sleep(Duration::from_micros(500));
        }
        ms.push(returned.elapsed().as_secs_f64() * 1000.0);
    }
    for id in &ids {
        let _ = Command::new("docker").args(["rm", "-f", id]).output();
    }
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "docker run returned -> first 200 through portier, {count} containers: median {:.1} ms, max {:.1} ms, min {:.1} ms",
        sorted[count / 2],
        sorted[count - 1],
        sorted[0]
    );
}
