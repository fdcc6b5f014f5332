//! Benchmark (not a test): memory of one rate limiter fed a million distinct client IPs.
//! Prints the keys it remembers and the process's resident memory as the clients arrive and
//! after they go idle. Run: `cargo run --release -p portier-middleware --example
//! ratelimit_memory` (bench/ratelimit-memory.sh).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use http::HeaderMap;
use model::middleware::{Extractor, Rate, RateLimit};
use portier_middleware::RateLimiter;

/// Resident memory in KiB, from /proc/self/statm (pages × 4 KiB).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4)
}

fn main() {
    let spec = RateLimit {
        extractor_func: Extractor::ClientIp,
        rate_set: BTreeMap::from([(
            "r".to_string(),
            Rate {
                period: Duration::from_secs(1),
                average: 10,
                burst: 20,
            },
        )]),
    };
    let limiter = match RateLimiter::compile(&spec) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rate limit: {e}");
            std::process::exit(1);
        }
    };
    let headers = HeaderMap::new();
    let start_rss = rss_kib();
    println!("clients\tkeys\trss_kib\telapsed_ms");
    let started = Instant::now();
    let mut peak_keys = 0;
    for n in 0u32..1_000_000 {
        let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
        let _ = limiter.check(ip, &headers);
        if (n + 1) % 100_000 == 0 {
            peak_keys = peak_keys.max(limiter.keys());
            println!(
                "{}\t{}\t{}\t{}",
                n + 1,
                limiter.keys(),
                rss_kib(),
                started.elapsed().as_millis()
            );
        }
    }
    // Idle: every bucket is full again after 2 s; a few checks from one client run a sweep.
    std::thread::sleep(Duration::from_secs(2));
    let one = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    for _ in 0..20_000 {
        let _ = limiter.check(one, &headers);
    }
    println!("idle\t{}\t{}\t-", limiter.keys(), rss_kib());
    println!("# start rss {start_rss} KiB; peak keys {peak_keys}");
}
