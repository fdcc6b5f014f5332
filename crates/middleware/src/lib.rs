//! The middlewares between routing and forwarding: allowlists, header rules, basic, digest and
//! forward authentication, rate limits, connection limits, circuit breakers and content-type
//! sniffing. `model::middleware` says what was
//! asked; this crate compiles it once per routing table ([`Guards::compile`]) and decides per
//! request. No I/O: forward authentication's HTTP call is made by the data plane.

mod allowlist;
mod basic;
mod breaker;
mod digest;
mod error;
mod forward;
mod headers;
mod jwt;
mod limits;
mod refusal;
mod sniff;
mod tls_headers;
pub mod users;

use std::net::IpAddr;
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use model::middleware::{AuthKind, FrontendMiddlewares};

pub use allowlist::{AllowList, parse_ranges};
pub use basic::BasicAuth;
pub use breaker::{Breaker, BreakerState, MAX_RETRY_ATTEMPTS, RetryCondition};
pub use digest::DigestAuth;
pub use error::MiddlewareError;
pub use forward::{Admitted, ForwardAuthCheck};
pub use headers::{HeaderRules, RequestFacts};
pub use jwt::JwtAuth;
pub use limits::{ConnLimiter, ConnSlot, RateLimiter, key, quota};
pub use refusal::Refusal;
pub use sniff::{SNIFF_LEN, detect_content_type};
pub use tls_headers::TlsClientHeaders;

/// Basic or digest authentication, and where to put the user's name.
#[derive(Debug)]
pub enum LocalAuth {
    Basic(BasicAuth),
    Digest(DigestAuth),
    Jwt(JwtAuth),
}

/// A frontend's compiled middlewares. Forward auth's call is made by the data plane after
/// [`Guards::authenticate`] and before [`Guards::limit`].
#[derive(Debug, Default)]
pub struct Guards {
    pub white_list: Option<AllowList>,
    pub headers: Option<HeaderRules>,
    /// `passTLSClientCert`: set on the request from the connection's client certificate.
    pub tls_client_headers: Option<TlsClientHeaders>,
    pub auth: Option<LocalAuth>,
    pub forward: Option<ForwardAuthCheck>,
    /// `auth.headerField`: receives the authenticated user's name.
    pub header_field: Option<HeaderName>,
    pub rate_limit: Option<RateLimiter>,
}

/// What a request looks like to the guards.
#[derive(Debug)]
pub struct RequestHead<'a> {
    pub peer: IpAddr,
    pub method: &'a Method,
    /// Path and query as the client sent them.
    pub uri: &'a str,
    pub tls: bool,
    pub headers: &'a mut HeaderMap,
}

impl Guards {
    /// Compiles every middleware `spec` asks for; the first that cannot be honoured is the
    /// error (the caller keeps the route answering 503).
    pub fn compile(spec: &FrontendMiddlewares) -> Result<Guards, MiddlewareError> {
        let (auth, forward) = match spec.auth.as_ref().map(|a| &a.kind) {
            Some(AuthKind::Basic(u)) => (Some(LocalAuth::Basic(BasicAuth::compile(u)?)), None),
            Some(AuthKind::Digest(u)) => (Some(LocalAuth::Digest(DigestAuth::compile(u)?)), None),
            Some(AuthKind::Forward(f)) => (None, Some(ForwardAuthCheck::compile(f)?)),
            Some(AuthKind::Jwt(j)) => (Some(LocalAuth::Jwt(JwtAuth::compile(j)?)), None),
            None => (None, None),
        };
        let header_field = spec
            .auth
            .as_ref()
            .and_then(|a| a.header_field.as_deref())
            .filter(|f| !f.is_empty())
            .map(|f| {
                HeaderName::from_bytes(f.as_bytes())
                    .map_err(|_| MiddlewareError::HeaderName(f.to_string()))
            })
            .transpose()?;
        Ok(Guards {
            white_list: spec
                .white_list
                .as_ref()
                .map(AllowList::compile)
                .transpose()?,
            headers: spec
                .headers
                .as_ref()
                .map(HeaderRules::compile)
                .transpose()?,
            tls_client_headers: spec
                .pass_tls_client_cert
                .as_ref()
                .map(TlsClientHeaders::compile),
            auth,
            forward,
            header_field,
            rate_limit: spec
                .rate_limit
                .as_ref()
                .map(RateLimiter::compile)
                .transpose()?,
        })
    }

    /// Allowlist (403), then the header rules (custom request headers, allowed hosts, SSL
    /// redirect). Returns what the response rules need.
    pub fn admit(&self, req: &mut RequestHead<'_>) -> Result<RequestFacts, Refusal> {
        if let Some(w) = &self.white_list {
            if !w.allows(req.peer, req.headers) {
                return Err(Refusal::status(w.reject));
            }
        }
        match &self.headers {
            Some(h) => {
                if let Some(answer) = h.preflight(req.method, req.headers) {
                    return Err(answer);
                }
                h.on_request(req.headers, req.tls, req.uri)
            }
            None => Ok(RequestFacts {
                secure: req.tls,
                cors_origin: None,
            }),
        }
    }

    /// Basic or digest authentication (401); the user's name, when there is one, goes into
    /// `headerField` and is returned for the access log.
    pub fn authenticate(&self, req: &mut RequestHead<'_>) -> Result<Option<String>, Refusal> {
        let user = match &self.auth {
            None => return Ok(None),
            Some(LocalAuth::Basic(b)) => b.check(req.headers)?,
            Some(LocalAuth::Digest(d)) => {
                d.check(req.method, req.uri, req.headers, SystemTime::now())?
            }
            Some(LocalAuth::Jwt(j)) => match j.check(req.headers)? {
                Some(sub) => sub,
                None => return Ok(None),
            },
        };
        self.set_user(req.headers, &user);
        Ok(Some(user))
    }

    /// Puts `user` into `headerField`, when one is set.
    pub fn set_user(&self, headers: &mut HeaderMap, user: &str) {
        if let (Some(field), Ok(v)) = (&self.header_field, HeaderValue::from_str(user)) {
            headers.insert(field.clone(), v);
        }
    }

    /// The rate limit (429).
    pub fn limit(&self, req: &RequestHead<'_>) -> Result<(), Refusal> {
        match &self.rate_limit {
            Some(r) => r.check(req.peer, req.headers),
            None => Ok(()),
        }
    }

    /// Custom and secure response headers.
    pub fn on_response(&self, headers: &mut HeaderMap, facts: &RequestFacts) {
        if let Some(h) = &self.headers {
            h.on_response(headers, facts);
        }
    }
}
