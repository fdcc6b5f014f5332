//! A frontend's or an entrypoint's protections, compiled once per routing table: the
//! middlewares, and for forward auth the HTTP client that calls the auth server (with the TLS
//! its `tls.*` settings ask for).

use std::ops::Deref;
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

/// Compiles `spec`; a forward auth gets its client here, once.
pub fn compile(spec: &FrontendMiddlewares) -> Result<RouteGuards, GuardsError> {
    let guards = Guards::compile(spec)?;
    let auth_client = match spec.auth.as_ref().map(|a| &a.kind) {
        Some(AuthKind::Forward(f)) => Some(auth_client(f)?),
        _ => None,
    };
    Ok(RouteGuards {
        guards,
        auth_client,
    })
}

fn auth_client(f: &ForwardAuth) -> Result<AuthClient, UpstreamTlsError> {
    let cas: Vec<String> = f
        .tls
        .as_ref()
        .and_then(|t| t.ca.clone())
        .into_iter()
        .collect();
    let tls = f.tls.as_ref();
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
