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
    let timeout = match check.options.timeout {
        Some(t) => t.max(Duration::from_millis(10)),
        None => PROBE_TIMEOUT
            .min(check.interval)
            .max(Duration::from_millis(100)),
    };
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
        let wait = match check.options.unhealthy_interval {
            Some(i) if !state.is_healthy() => i,
            _ => check.interval,
        };
        tokio::time::sleep(wait).await;
    }
}

/// Most redirects a probe follows (Go's client: 10).
const MAX_REDIRECTS: usize = 10;

/// One probe: healthy when the answer's status is in [200, 400), or is `status` when the check
/// names one; redirects are followed unless `followRedirects` is off (Traefik's defaults).
async fn probe(
    client: &ProbeClient,
    check: &HealthCheck,
    server_url: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut target = probe_uri(server_url, check).map_err(|e| e.to_string())?;
    let deadline = tokio::time::Instant::now() + timeout;
    for _ in 0..=MAX_REDIRECTS {
        let resp =
            tokio::time::timeout_at(deadline, client.request(probe_request(check, &target)?))
                .await
                .map_err(|_| format!("no answer within {timeout:?}"))?
                .map_err(|e| format!("request failed: {e}"))?;
        let status = resp.status();
        let next = (status.is_redirection() && !check.options.no_follow_redirects)
            .then(|| resp.headers().get(http::header::LOCATION))
            .flatten()
            .and_then(|l| l.to_str().ok())
            .and_then(|l| redirect_target(&target, l));
        match next {
            Some(uri) => target = uri,
            None => {
                let ok = match check.options.status {
                    Some(want) => status.as_u16() == want,
                    None => (200..400).contains(&status.as_u16()),
                };
                return if ok {
                    Ok(())
                } else {
                    Err(format!("status {status}"))
                };
            }
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// Where a redirect from `from` to `location` leads (absolute, or a path on the same server).
fn redirect_target(from: &Uri, location: &str) -> Option<Uri> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.parse().ok();
    }
    let mut parts = from.clone().into_parts();
    parts.path_and_query = Some(if location.starts_with('/') {
        location.parse().ok()?
    } else {
        let path = from.path();
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        format!("{dir}{location}").parse().ok()?
    });
    Uri::from_parts(parts).ok()
}

/// The probe's request to `target`: the check's method, Host and headers.
fn probe_request(check: &HealthCheck, target: &Uri) -> Result<Request<Empty<Bytes>>, String> {
    let method = check.options.method.as_deref().unwrap_or("GET");
    let mut req = Request::builder()
        .method(method)
        .uri(target.clone())
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
    Ok(req)
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
    let scheme = match check.options.scheme.as_deref() {
        Some(s) => s,
        None if base.scheme_str() == Some("https") => "https",
        None => "http",
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    let port = check.port.or(base.port_u16()).unwrap_or(default_port);
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("{scheme}://{host}:{port}{}", check.path)
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
            options: Default::default(),
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

    #[test]
    fn https_servers_are_probed_over_https_and_redirects_resolve() {
        let mut c = HealthCheck {
            path: "/health".into(),
            interval: Duration::from_secs(1),
            port: None,
            hostname: None,
            headers: Default::default(),
            options: Default::default(),
        };
        assert_eq!(
            probe_uri("https://10.0.0.2", &c).map(|u| u.to_string()),
            Ok("https://10.0.0.2:443/health".into())
        );
        c.options.scheme = Some("http".into());
        assert_eq!(
            probe_uri("https://10.0.0.2:8443", &c).map(|u| u.to_string()),
            Ok("http://10.0.0.2:8443/health".into())
        );
        let from: Uri = "http://10.0.0.2:80/a/health".parse().expect("uri");
        let to = |l: &str| redirect_target(&from, l).map(|u| u.to_string());
        assert_eq!(to("/ok"), Some("http://10.0.0.2:80/ok".into()));
        assert_eq!(to("ok?x=1"), Some("http://10.0.0.2:80/a/ok?x=1".into()));
        assert_eq!(to("https://b.test/x"), Some("https://b.test/x".into()));
    }
}
