//! The load generator and servers of `bench/tcp.sh` (TCP and UDP through a proxy).
//!
//! ```text
//! tcp_load serve SINK_PORT PONG_PORT UDP_PORT   # a discarding server, a 1-byte ping server, a UDP echo
//! tcp_load bulk ADDR MIB                        # sends MIB MiB, half-closes, waits for the close
//! tcp_load conns ADDR SECONDS CONCURRENCY       # connect, 1 byte there and back, close; per second
//! tcp_load udp ADDR SECONDS CONCURRENCY         # a datagram there and back, per second
//! ```
//! Each client mode prints one number: MB/s, connections/s or datagrams/s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

fn arg<T: std::str::FromStr>(i: usize, what: &str) -> T {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("argument {i}: {what}"))
}

#[tokio::main]
async fn main() {
    let mode: String = arg(1, "mode");
    match mode.as_str() {
        "serve" => serve(arg(2, "sink port"), arg(3, "pong port"), arg(4, "udp port")).await,
        "bulk" => bulk(arg(2, "address"), arg(3, "MiB")).await,
        "conns" => conns(arg(2, "address"), arg(3, "seconds"), arg(4, "concurrency")).await,
        "udp" => udp(arg(2, "address"), arg(3, "seconds"), arg(4, "concurrency")).await,
        other => panic!("unknown mode {other}"),
    }
}

async fn serve(sink: u16, pong: u16, udp_port: u16) {
    let s = TcpListener::bind(("127.0.0.1", sink)).await.expect("sink");
    tokio::spawn(async move {
        while let Ok((mut c, _)) = s.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 256 * 1024];
                while let Ok(n) = c.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    let p = TcpListener::bind(("127.0.0.1", pong)).await.expect("pong");
    tokio::spawn(async move {
        while let Ok((mut c, _)) = p.accept().await {
            let _ = c.set_nodelay(true);
            tokio::spawn(async move {
                let mut b = [0u8; 1];
                if c.read_exact(&mut b).await.is_ok() {
                    let _ = c.write_all(&b).await;
                }
            });
        }
    });
    let u = UdpSocket::bind(("127.0.0.1", udp_port)).await.expect("udp");
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = u.recv_from(&mut buf).await {
        let _ = u.send_to(&buf[..n], from).await;
    }
}

async fn bulk(addr: SocketAddr, mib: u64) {
    let mut c = TcpStream::connect(addr).await.expect("connect");
    let chunk = vec![7u8; 256 * 1024];
    let started = Instant::now();
    for _ in 0..mib * 4 {
        c.write_all(&chunk).await.expect("write");
    }
    c.shutdown().await.expect("half-close");
    let mut rest = Vec::new();
    let _ = c.read_to_end(&mut rest).await;
    let secs = started.elapsed().as_secs_f64();
    println!("{:.0}", (mib as f64 * 1.048_576) / secs);
}

async fn conns(addr: SocketAddr, seconds: u64, concurrency: usize) {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let Ok(mut c) = TcpStream::connect(addr).await else {
                    continue;
                };
                let _ = c.set_nodelay(true);
                let mut b = [1u8; 1];
                if c.write_all(&b).await.is_ok() && c.read_exact(&mut b).await.is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "{:.0}",
        done.load(Ordering::Relaxed) as f64 / seconds as f64
    );
}

async fn udp(addr: SocketAddr, seconds: u64, concurrency: usize) {
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            let s = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
            s.connect(addr).await.expect("connect");
            let mut buf = [0u8; 64];
            while Instant::now() < until {
                if s.send(b"ping-pong-datagram").await.is_err() {
                    continue;
                }
                if let Ok(Ok(_)) =
                    tokio::time::timeout(Duration::from_millis(200), s.recv(&mut buf)).await
                {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    println!(
        "{:.0}",
        done.load(Ordering::Relaxed) as f64 / seconds as f64
    );
}
