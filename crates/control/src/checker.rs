//! Active health checks: one probe task per server of every backend that has a `healthCheck`,
//! started, changed and stopped as routing tables arrive. A probe's result flips the server's
//! shared state (the data plane sees it at once) and is logged once per change.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::server::ServerState;
use crate::table::RoutingTable;
use crate::upstream_tls::{HttpsConnector, https_connector};
use model::dynamic::HealthCheck;

/// Longest wait for a probe's answer (Traefik 1.x: 5 s); shorter intervals shorten it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

type Key = (String, String, String);
type ProbeClient = Client<HttpsConnector, Empty<Bytes>>;

/// Starts the checker; `changed` is bumped on every health change (for the dashboard's SSE).
/// `tls` is the client configuration for `https://` servers.
pub fn spawn(
    mut tables: watch::Receiver<Arc<RoutingTable>>,
    changed: watch::Sender<u64>,
    tls: Arc<rustls::ClientConfig>,
) {
    let changed = Arc::new(changed);
    tokio::spawn(async move {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(PROBE_TIMEOUT));
        let client: ProbeClient = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build(https_connector(http, &tls));
        let mut running: HashMap<Key, (HealthCheck, JoinHandle<()>)> = HashMap::new();
        loop {
            let table = tables.borrow_and_update().clone();
            let wanted = desired(&table);
            running.retain(|key, (check, task)| {
                let keep = wanted.get(key).is_some_and(|(c, _, _)| c == check);
                if !keep {
                    task.abort();
                    // No check any more: the server is routed again.
                    if let (None, Some(state)) = (wanted.get(key), table.servers.get(key)) {
                        state.set_healthy(true);
                    }
                }
                keep
            });
            for (key, (check, url, state)) in wanted {
                if running.contains_key(&key) {
                    continue;
                }
                let task = tokio::spawn(probe_loop(
                    client.clone(),
                    key.clone(),
                    check.clone(),
                    url,
                    state,
                    Arc::clone(&changed),
                ));
                running.insert(key, (check, task));
            }
            if tables.changed().await.is_err() {
                return;
            }
        }
    });
}

/// Every server that should be probed now, with its check and the server URL.
fn desired(table: &RoutingTable) -> HashMap<Key, (HealthCheck, String, Arc<ServerState>)> {
    let mut out = HashMap::new();
    for (provider, config) in &table.providers {
        for (bname, backend) in &config.backends {
            if backend.health_check.is_none() && backend.roles.is_none() {
                continue;
            }
            for (sname, server) in &backend.servers {
                // A failover's fallback and a mirror have their own service's check.
                let Some(check) = backend.health_check_of(sname) else {
                    continue;
                };
                let key = (provider.clone(), bname.clone(), server.url.clone());
                if let Some(state) = table.servers.get(&key) {
                    out.insert(key, (check.clone(), server.url.clone(), Arc::clone(state)));
                }
            }
        }
    }
    out
}

async fn probe_loop(
    client: ProbeClient,
    key: Key,
    check: HealthCheck,
    url: String,
    state: Arc<ServerState>,
    changed: Arc<watch::Sender<u64>>,
) {
    let timeout = PROBE_TIMEOUT
        .min(check.interval)
        .max(Duration::from_millis(100));
    // A new server starts out of rotation until its first check passes; a first check that
    // fails is still a change worth one WARN.
    let mut first = true;
    let mut ever_up = false;
    loop {
        match probe(&client, &check, &url, timeout).await {
            Ok(()) => {
                if !state.is_healthy() {
                    state.set_healthy(true);
                    if !ever_up {
                        tracing::info!(backend = %key.1, "health check: {url} is up ({})", check.path);
                    } else {
                        tracing::info!(backend = %key.1, "health check: {url} is up again ({})", check.path);
                    }
                    changed.send_modify(|g| *g += 1);
                }
                ever_up = true;
            }
            Err(reason) => {
                state.set_last_error(format!("health check {}: {reason}", check.path));
                if state.is_healthy() {
                    state.set_healthy(false);
                    tracing::warn!(backend = %key.1, "health check: {url} is down: {reason}; out of rotation until a check passes");
                    changed.send_modify(|g| *g += 1);
                } else if first {
                    tracing::warn!(backend = %key.1, "health check: {url} is down from the start: {reason}; it takes no traffic until a check passes");
                }
            }
        }
        first = false;
        tokio::time::sleep(check.interval).await;
    }
}

/// One probe: healthy when the answer's status is in [200, 400).
async fn probe(
    client: &ProbeClient,
    check: &HealthCheck,
    server_url: &str,
    timeout: Duration,
) -> Result<(), String> {
    let target = probe_uri(server_url, check).map_err(|e| e.to_string())?;
    let mut req = Request::get(target)
        .body(Empty::new())
        .map_err(|e| e.to_string())?;
    if let Some(host) = check
        .hostname
        .as_deref()
        .and_then(|h| HeaderValue::from_str(h).ok())
    {
        req.headers_mut().insert(http::header::HOST, host);
    }
    for (k, v) in &check.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            req.headers_mut().insert(k, v);
        }
    }
    match tokio::time::timeout(timeout, client.request(req)).await {
        Err(_) => Err(format!("no answer within {timeout:?}")),
        Ok(Err(e)) => Err(format!("request failed: {e}")),
        Ok(Ok(resp)) if (200..400).contains(&resp.status().as_u16()) => Ok(()),
        Ok(Ok(resp)) => Err(format!("status {}", resp.status())),
    }
}

/// The server URL with the check's path and, if set, its port.
/// Why no probe URL could be made for a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeUriError {
    #[error("bad server url: {0}")]
    ServerUrl(String),
    #[error("server url has no host")]
    NoHost,
    #[error("bad health check path {path:?}: {reason}")]
    Path { path: String, reason: String },
}

pub fn probe_uri(server_url: &str, check: &HealthCheck) -> Result<Uri, ProbeUriError> {
    let base: Uri = server_url
        .parse()
        .map_err(|e: http::uri::InvalidUri| ProbeUriError::ServerUrl(e.to_string()))?;
    let host = base.host().ok_or(ProbeUriError::NoHost)?;
    let port = check.port.or(base.port_u16()).unwrap_or(80);
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("http://{host}:{port}{}", check.path)
        .parse()
        .map_err(|e: http::uri::InvalidUri| ProbeUriError::Path {
            path: check.path.clone(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_urls_use_the_checks_path_and_port() {
        let mut c = HealthCheck {
            path: "/health".into(),
            interval: Duration::from_secs(1),
            port: None,
            hostname: None,
            headers: Default::default(),
        };
        assert_eq!(
            probe_uri("http://10.0.0.2:80", &c).map(|u| u.to_string()),
            Ok("http://10.0.0.2:80/health".into())
        );
        c.port = Some(8081);
        assert_eq!(
            probe_uri("http://10.0.0.2:80", &c).map(|u| u.to_string()),
            Ok("http://10.0.0.2:8081/health".into())
        );
    }
}
