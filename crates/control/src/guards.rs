//! A frontend's or an entrypoint's protections, compiled once per routing table: the
//! middlewares, for forward auth the HTTP client that calls the auth server (with the TLS its
//! `tls.*` settings ask for), and for JWT the task that keeps a JWKS's keys fresh.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use middleware::{Guards, MiddlewareError};
use model::middleware::{AuthKind, ForwardAuth, FrontendMiddlewares};

use crate::upstream_tls::{
    ClientTlsSpec, HttpsConnector, UpstreamTlsError, client_config_for, https_connector,
};

/// Calls forward-auth servers (`http://` and `https://`).
pub type AuthClient = Client<HttpsConnector, Empty<Bytes>>;

/// Connecting to an auth server gives up after this long (Go's default dialer, as Traefik).
const AUTH_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Idle keep-alive connections to an auth server are closed after this long.
const AUTH_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Compiled middlewares and what their calls need.
#[derive(Debug)]
pub struct RouteGuards {
    pub guards: Guards,
    /// Present exactly when `guards.forward` is.
    pub auth_client: Option<AuthClient>,
    /// `auth.jwt.jwksRefreshInterval`, for [`start_jwks`].
    pub jwks_refresh: Option<Duration>,
}

impl Deref for RouteGuards {
    type Target = Guards;
    fn deref(&self) -> &Guards {
        &self.guards
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GuardsError {
    #[error(transparent)]
    Middleware(#[from] MiddlewareError),
    #[error(transparent)]
    Tls(#[from] UpstreamTlsError),
}

/// How often a JWKS is fetched again by default, and after a failed fetch.
const JWKS_REFRESH: Duration = Duration::from_secs(300);
const JWKS_RETRY: Duration = Duration::from_secs(5);

/// Starts fetching the JWKS of a JWT check in the background (when there is a runtime, so not
/// in `portier check`): at once, then every `jwksRefreshInterval` (5 s after a failure), for
/// as long as `guards` is in use.
pub fn start_jwks(guards: &Arc<RouteGuards>) {
    let Some(middleware::LocalAuth::Jwt(jwt)) = &guards.guards.auth else {
        return;
    };
    let Some(url) = jwt.jwks_url().map(String::from) else {
        return;
    };
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let every = match guards.jwks_refresh {
        Some(d) if !d.is_zero() => d,
        _ => JWKS_REFRESH,
    };
    let client = match https_client(None) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(jwks = %url, "JWKS client: {e}");
            return;
        }
    };
    let weak = Arc::downgrade(guards);
    rt.spawn(async move {
        loop {
            let Some(g) = weak.upgrade() else { return };
            let wait = match fetch(&client, &url).await {
                Ok(body) => match &g.guards.auth {
                    Some(middleware::LocalAuth::Jwt(j)) => match j.load_jwks(&body) {
                        Ok(n) => {
                            tracing::debug!(jwks = %url, "{n} keys loaded");
                            every
                        }
                        Err(e) => {
                            tracing::warn!(jwks = %url, "{e}");
                            JWKS_RETRY
                        }
                    },
                    _ => return,
                },
                Err(e) => {
                    tracing::warn!(jwks = %url, "fetching the JWKS: {e}");
                    JWKS_RETRY
                }
            };
            drop(g);
            tokio::time::sleep(wait).await;
        }
    });
}

/// GET `url` (1 MiB at most, 10 s at most).
async fn fetch(client: &AuthClient, url: &str) -> Result<Bytes, String> {
    use http_body_util::{BodyExt, Limited};
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let call = client.get(uri);
    let resp = tokio::time::timeout(Duration::from_secs(10), call)
        .await
        .map_err(|_| "no answer in 10 s".to_string())?
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("answered {}", resp.status()));
    }
    Limited::new(resp.into_body(), 1 << 20)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .map_err(|e| e.to_string())
}

/// Compiles `spec`; a forward auth gets its client here, once.
pub fn compile(spec: &FrontendMiddlewares) -> Result<RouteGuards, GuardsError> {
    let guards = Guards::compile(spec)?;
    let auth_client = match spec.auth.as_ref().map(|a| &a.kind) {
        Some(AuthKind::Forward(f)) => Some(auth_client(f)?),
        _ => None,
    };
    let jwks_refresh = match spec.auth.as_ref().map(|a| &a.kind) {
        Some(AuthKind::Jwt(j)) => j.jwks_refresh_interval,
        _ => None,
    };
    Ok(RouteGuards {
        guards,
        auth_client,
        jwks_refresh,
    })
}

fn auth_client(f: &ForwardAuth) -> Result<AuthClient, UpstreamTlsError> {
    https_client(f.tls.as_ref())
}

/// An HTTP(S) client trusting the webpki roots plus `tls`'s CA, built once.
fn https_client(
    tls: Option<&model::middleware::ClientTls>,
) -> Result<AuthClient, UpstreamTlsError> {
    let cas: Vec<String> = tls.and_then(|t| t.ca.clone()).into_iter().collect();
    let identity = tls.and_then(|t| t.cert.as_deref().zip(t.key.as_deref()));
    if let Some(t) = tls {
        if t.cert.is_some() != t.key.is_some() {
            return Err(UpstreamTlsError {
                what: "auth.forward.tls".into(),
                message: "cert and key go together: set both or neither".into(),
            });
        }
    }
    let config = client_config_for(&ClientTlsSpec {
        cas: &cas,
        insecure_skip_verify: tls.is_some_and(|t| t.insecure_skip_verify),
        identity,
        setting: "auth.forward.tls",
    })?;
    let mut http = HttpConnector::new();
    http.set_connect_timeout(Some(AUTH_CONNECT_TIMEOUT));
    http.set_nodelay(true);
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(AUTH_IDLE_TIMEOUT)
        .build(https_connector(http, &config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::middleware::{Auth, ClientTls};

    fn forward(tls: Option<ClientTls>) -> FrontendMiddlewares {
        FrontendMiddlewares {
            auth: Some(Auth {
                header_field: None,
                kind: AuthKind::Forward(ForwardAuth {
                    address: "https://auth.test/verify".into(),
                    trust_forward_header: false,
                    auth_response_headers: vec![],
                    tls,
                    options: Default::default(),
                }),
            }),
            ..FrontendMiddlewares::default()
        }
    }

    #[test]
    fn forward_auth_gets_its_client() {
        let g = compile(&forward(None)).expect("compiles");
        assert!(g.forward.is_some() && g.auth_client.is_some());
        let g = compile(&FrontendMiddlewares::default()).expect("compiles");
        assert!(g.auth_client.is_none());
    }

    #[test]
    fn unreadable_tls_files_are_errors_naming_them() {
        let tls = ClientTls {
            ca: Some("/nonexistent/ca.pem".into()),
            ..ClientTls::default()
        };
        let e = compile(&forward(Some(tls))).expect_err("fails").to_string();
        assert!(
            e.starts_with("auth.forward.tls: /nonexistent/ca.pem: "),
            "{e}"
        );
        let half = ClientTls {
            cert: Some("c.pem".into()),
            ..ClientTls::default()
        };
        let e = compile(&forward(Some(half)))
            .expect_err("fails")
            .to_string();
        assert!(e.contains("cert and key go together"), "{e}");
    }
}
