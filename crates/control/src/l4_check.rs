//! Health of TCP servers whose service has a `healthCheck`: a connection opened within the
//! timeout (to `port` when set), and with `send`, an answer containing `expect`. One probe
//! loop per server, started and stopped as tables come and go.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use model::tcp::TcpHealthCheck;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::l4::{L4Registry, L4Server};
use crate::table::RoutingTable;

/// Follows the tables; probes every checked TCP server until it leaves.
pub fn spawn(mut tables: watch::Receiver<Arc<RoutingTable>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: HashMap<usize, (Arc<L4Server>, TcpHealthCheck, JoinHandle<()>)> =
            HashMap::new();
        let mut last: Option<Arc<crate::l4::L4Table>> = None;
        loop {
            let l4 = Arc::clone(&tables.borrow_and_update().l4);
            if last.as_ref().is_none_or(|l| !Arc::ptr_eq(l, &l4)) {
                let wanted = L4Registry::checked(&l4);
                let keys: Vec<usize> = wanted
                    .iter()
                    .map(|(s, _)| Arc::as_ptr(s) as usize)
                    .collect();
                running.retain(|k, (_, hc, task)| {
                    let keep = wanted
                        .iter()
                        .any(|(s, h)| Arc::as_ptr(s) as usize == *k && h == hc);
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for ((server, hc), key) in wanted.into_iter().zip(keys) {
                    running.entry(key).or_insert_with(|| {
                        let task = tokio::spawn(probe_loop(Arc::clone(&server), hc.clone()));
                        (server, hc, task)
                    });
                }
                last = Some(l4);
            }
            if tables.changed().await.is_err() {
                for (_, (_, _, t)) in running {
                    t.abort();
                }
                return;
            }
        }
    })
}

async fn probe_loop(server: Arc<L4Server>, hc: TcpHealthCheck) {
    loop {
        let ok = probe(&server.address, &hc).await;
        let was = server.up.swap(ok, Ordering::Relaxed);
        if was != ok {
            if ok {
                tracing::info!("TCP server {} is up again", server.address);
            } else {
                tracing::warn!(
                    "TCP server {} failed its health check; out of rotation",
                    server.address
                );
            }
        }
        let wait = if ok {
            hc.interval
        } else {
            hc.unhealthy_interval.unwrap_or(hc.interval)
        };
        tokio::time::sleep(wait.max(Duration::from_millis(100))).await;
    }
}

/// One probe: connect (to the check's port when set), then send and expect.
async fn probe(address: &str, hc: &TcpHealthCheck) -> bool {
    let target = match hc.port {
        Some(p) => match address.rsplit_once(':') {
            Some((host, _)) => format!("{host}:{p}"),
            None => return false,
        },
        None => address.to_string(),
    };
    let attempt = async {
        let mut conn = tokio::net::TcpStream::connect(&target).await.ok()?;
        if !hc.send.is_empty() {
            conn.write_all(hc.send.as_bytes()).await.ok()?;
        }
        if !hc.expect.is_empty() {
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !String::from_utf8_lossy(&got).contains(hc.expect.as_str()) {
                let n = conn.read(&mut buf).await.ok()?;
                if n == 0 || got.len() > 64 * 1024 {
                    return None;
                }
                got.extend_from_slice(&buf[..n]);
            }
        }
        Some(())
    };
    matches!(
        tokio::time::timeout(hc.timeout, attempt).await,
        Ok(Some(()))
    )
}
