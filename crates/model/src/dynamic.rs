//! The provider output model: frontends, backends and servers as a provider sees them.
//!
//! Every provider (file, docker) produces one whole [`ProviderConfig`] per change and sends it to
//! the aggregator. The shapes and field names follow Traefik 1.x's JSON API, so the dashboard
//! can serialise them as they are.

use std::collections::BTreeMap;

use serde::Serialize;

/// Everything one provider currently declares, plus the errors it found while translating.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProviderConfig {
    pub frontends: BTreeMap<String, Frontend>,
    pub backends: BTreeMap<String, Backend>,
    /// Problems found in the provider's input (a bad label, an unknown key, a bad URL).
    /// The affected frontend or server is left out; everything else is kept.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProviderError>,
}

/// A routing entry: rules that select requests and the backend that serves them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Frontend {
    /// Entrypoints this frontend is attached to; empty means `defaultEntryPoints`.
    pub entry_points: Vec<String>,
    pub backend: String,
    /// Routes are AND-ed: a request must match every one of them.
    pub routes: BTreeMap<String, Route>,
    pub pass_host_header: bool,
    /// Explicit priority; 0 means "the length of the rules".
    pub priority: i64,
    /// Send this frontend's requests to another entrypoint (e.g. http → https).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<FrontendRedirect>,
    /// Protections asked for that portier does not enforce yet, each naming where it was asked
    /// (`label traefik.frontend.auth.basic.users`). Non-empty: the frontend answers 503 to
    /// every request, so it is never served without them (and no lower route takes its traffic).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unenforced: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendRedirect {
    pub entry_point: String,
    pub permanent: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub rule: String,
}

/// A set of servers balanced by one load-balancing method.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backend {
    pub servers: BTreeMap<String, Server>,
    pub load_balancer: LoadBalancer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Protections asked for at backend level (connection limit, body limits) that portier does
    /// not enforce yet: every frontend of this backend answers 503.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unenforced: Vec<String>,
}

/// An active health check: `GET path` on every server each `interval`; a status in
/// [200, 400) keeps the server in rotation, anything else takes it out until a check passes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub path: String,
    #[serde(serialize_with = "serialize_duration")]
    pub interval: std::time::Duration,
    /// Port to probe instead of the server's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Host header of the probe, instead of the server's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

/// `[healthcheck] interval`: how often servers are probed when a backend sets none.
pub const DEFAULT_HEALTHCHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

fn serialize_duration<S: serde::Serializer>(
    d: &std::time::Duration,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::duration::format_duration(*d))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Server {
    /// `scheme://host:port`, e.g. `http://172.17.0.3:80`.
    pub url: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancer {
    /// `wrr` (the only method so far; `drr` is accepted and balanced as `wrr`).
    pub method: String,
}

impl Default for LoadBalancer {
    fn default() -> Self {
        LoadBalancer {
            method: "wrr".to_string(),
        }
    }
}

/// A problem in a provider's input, named precisely enough to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderError {
    /// Where: `file rules.toml:12:9`, `container web-1 label traefik.port`, `frontend f1`.
    pub source: String,
    pub message: String,
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}
