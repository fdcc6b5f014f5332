//! A small bounded load driver: paced GETs from several keep-alive clients, every answer and
//! transport error counted. Traffic goes only to the address it is given (loopback in tests).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;

/// What a run saw.
#[derive(Debug, Default)]
pub struct Report {
    pub total: u64,
    /// One line per failed request: a non-2xx status or a transport error.
    pub failures: Vec<String>,
    pub latencies: Vec<Duration>,
}

impl Report {
    pub fn p99(&self) -> Duration {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        l.get(l.len().saturating_sub(1) * 99 / 100)
            .copied()
            .unwrap_or_default()
    }
}

pub struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Report>>,
}

impl Load {
    /// Starts `workers` clients sending `rps` requests per second in all, for at most `limit`.
    pub fn start(addr: SocketAddr, host: &str, rps: u32, workers: u32, limit: Duration) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let period = Duration::from_secs_f64(f64::from(workers) / f64::from(rps));
        let workers = (0..workers)
            .map(|_| {
                let (stop, host) = (Arc::clone(&stop), host.to_string());
                tokio::spawn(async move {
                    let client = super::client();
                    let mut report = Report::default();
                    let started = Instant::now();
                    let mut tick = tokio::time::interval(period);
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    while !stop.load(Ordering::Relaxed) && started.elapsed() < limit {
                        tick.tick().await;
                        let req = http::Request::get(format!("http://{addr}/"))
                            .header("host", &host)
                            .body(super::TestBody::empty())
                            .expect("request");
                        let sent = Instant::now();
                        let outcome = tokio::time::timeout(Duration::from_secs(5), async {
                            let resp = client
                                .request(req)
                                .await
                                .map_err(|e| format!("transport error: {e:?}"))?;
                            let status = resp.status();
                            resp.into_body()
                                .collect()
                                .await
                                .map_err(|e| format!("body error: {e}"))?;
                            if status.is_success() {
                                Ok(())
                            } else {
                                Err(format!("status {status}"))
                            }
                        })
                        .await
                        .unwrap_or_else(|_| Err("no answer within 5 s".to_string()));
                        report.total += 1;
                        report.latencies.push(sent.elapsed());
                        if let Err(e) = outcome {
                            report
                                .failures
                                .push(format!("{:?} after start: {e}", started.elapsed()));
                        }
                    }
                    report
                })
            })
            .collect();
        Load { stop, workers }
    }

    pub async fn finish(self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Report::default();
        for w in self.workers {
            if let Ok(r) = w.await {
                all.total += r.total;
                all.failures.extend(r.failures);
                all.latencies.extend(r.latencies);
            }
        }
        all
    }
}
