//! The middleware labels of a container (`traefik.frontend.auth.*` basic, digest and forward, `.whiteList.*`,
//! `.rateLimit.*`, `.headers.*`, `traefik.backend.maxconn.*`) → `model::middleware`. A value
//! that cannot be read or compiled is an error on its label and leaves the frontend (or the
//! backend) refusing every request with 503, never open. Pure.

use std::collections::BTreeMap;

use model::dynamic::ProviderError;
use model::middleware::{
    Auth, AuthKind, BUFFERING_OPTIONS, Buffering, CERT_NAME_OPTIONS, CertInfos, ClientTls,
    Extractor, ForwardAuth, FrontendMiddlewares, Headers, JWT_OPTIONS, JwtSpec, MaxConn, NameInfos,
    PassTlsClientCert, Rate, RateLimit, UsersAuth, WhiteList,
};

use super::container::ContainerInfo;
use super::labels::parse_bool;

const AUTH_BASIC: &str = "traefik.frontend.auth.basic";
const AUTH_BASIC_USERS: &str = "traefik.frontend.auth.basic.users";
const AUTH_BASIC_FILE: &str = "traefik.frontend.auth.basic.usersFile";
const AUTH_BASIC_REMOVE: &str = "traefik.frontend.auth.basic.removeHeader";
const AUTH_DIGEST_USERS: &str = "traefik.frontend.auth.digest.users";
const AUTH_DIGEST_FILE: &str = "traefik.frontend.auth.digest.usersFile";
const AUTH_DIGEST_REMOVE: &str = "traefik.frontend.auth.digest.removeHeader";
const AUTH_FORWARD_ADDRESS: &str = "traefik.frontend.auth.forward.address";
const AUTH_FORWARD_TRUST: &str = "traefik.frontend.auth.forward.trustForwardHeader";
const AUTH_FORWARD_HEADERS: &str = "traefik.frontend.auth.forward.authResponseHeaders";
const AUTH_FORWARD_CA: &str = "traefik.frontend.auth.forward.tls.ca";
const AUTH_FORWARD_CA_OPTIONAL: &str = "traefik.frontend.auth.forward.tls.caOptional";
const AUTH_FORWARD_CERT: &str = "traefik.frontend.auth.forward.tls.cert";
const AUTH_FORWARD_KEY: &str = "traefik.frontend.auth.forward.tls.key";
const AUTH_FORWARD_INSECURE: &str = "traefik.frontend.auth.forward.tls.insecureSkipVerify";
const AUTH_JWT: &str = "traefik.frontend.auth.jwt.";
const AUTH_HEADER_FIELD: &str = "traefik.frontend.auth.headerField";
const WHITELIST_RANGE: &str = "traefik.frontend.whiteList.sourceRange";
const WHITELIST_XFF: &str = "traefik.frontend.whiteList.useXForwardedFor";
const WHITELIST_OLD: &str = "traefik.frontend.whitelistSourceRange";
const RATE_EXTRACTOR: &str = "traefik.frontend.rateLimit.extractorFunc";
const RATE_SET: &str = "traefik.frontend.rateLimit.rateSet.";
const HEADERS: &str = "traefik.frontend.headers.";
const PASS_TLS_CERT: &str = "traefik.frontend.passTLSCert";
const PASS_CLIENT_CERT: &str = "traefik.frontend.passTLSClientCert.";
const MAXCONN_AMOUNT: &str = "traefik.backend.maxconn.amount";
const MAXCONN_EXTRACTOR: &str = "traefik.backend.maxconn.extractorfunc";
const BUFFERING: &str = "traefik.backend.buffering.";

/// Forward auth's labels.
const FORWARD_LABELS: [&str; 8] = [
    AUTH_FORWARD_ADDRESS,
    AUTH_FORWARD_TRUST,
    AUTH_FORWARD_HEADERS,
    AUTH_FORWARD_CA,
    AUTH_FORWARD_CA_OPTIONAL,
    AUTH_FORWARD_CERT,
    AUTH_FORWARD_KEY,
    AUTH_FORWARD_INSECURE,
];

/// The other fixed-name middleware labels portier reads (rate sets and headers are matched
/// by form).
const FIXED: [&str; 15] = [
    AUTH_BASIC,
    AUTH_BASIC_USERS,
    AUTH_BASIC_FILE,
    AUTH_BASIC_REMOVE,
    AUTH_DIGEST_USERS,
    AUTH_DIGEST_FILE,
    AUTH_DIGEST_REMOVE,
    AUTH_HEADER_FIELD,
    WHITELIST_RANGE,
    WHITELIST_XFF,
    WHITELIST_OLD,
    RATE_EXTRACTOR,
    MAXCONN_AMOUNT,
    MAXCONN_EXTRACTOR,
    "traefik.frontend.headers.isDevelopment",
];

/// Every middleware label's spelling (rate sets and client-cert fields by their shape), for
/// "did you mean …?".
pub(super) fn middleware_labels() -> Vec<String> {
    let mut out: Vec<String> = FIXED
        .iter()
        .chain(FORWARD_LABELS.iter())
        .map(|s| s.to_string())
        .collect();
    out.extend(
        model::middleware::HEADER_OPTIONS
            .iter()
            .map(|o| format!("{HEADERS}{o}")),
    );
    out.extend(JWT_OPTIONS.iter().map(|o| format!("{AUTH_JWT}{o}")));
    out.extend(BUFFERING_OPTIONS.iter().map(|o| format!("{BUFFERING}{o}")));
    out.push(PASS_TLS_CERT.to_string());
    out
}

/// Whether portier reads `key` as a middleware label (exact Traefik spelling).
pub(super) fn is_middleware_label(key: &str) -> bool {
    if FIXED.contains(&key) || FORWARD_LABELS.contains(&key) {
        return true;
    }
    if let Some(name) = key.strip_prefix(HEADERS) {
        return model::middleware::HEADER_OPTIONS.contains(&name);
    }
    if key == PASS_TLS_CERT {
        return true;
    }
    if let Some(field) = key.strip_prefix(AUTH_JWT) {
        return JWT_OPTIONS.contains(&field);
    }
    if let Some(field) = key.strip_prefix(BUFFERING) {
        return BUFFERING_OPTIONS.contains(&field);
    }
    if let Some(rest) = key.strip_prefix(PASS_CLIENT_CERT) {
        return match rest.split('.').collect::<Vec<_>>().as_slice() {
            ["pem"] | ["infos", "notAfter" | "notBefore" | "sans"] => true,
            ["infos", "subject" | "issuer", field] => CERT_NAME_OPTIONS.contains(field),
            _ => false,
        };
    }
    if let Some(rest) = key.strip_prefix(RATE_SET) {
        return matches!(
            rest.rsplit_once('.'),
            Some((name, "period" | "average" | "burst")) if !name.is_empty()
        );
    }
    false
}

/// Auth labels Traefik would ignore: the kinds after the first present (basic, digest,
/// forward, JWT: one kind per frontend), and `headerField` without any kind. Warnings: the
/// route is guarded by the kind that wins.
pub(super) fn ignored_auth_labels(c: &ContainerInfo) -> Vec<ProviderError> {
    let present = |k: &&str| c.labels.get(*k).is_some_and(|v| !v.trim().is_empty());
    let jwt: Vec<String> = JWT_OPTIONS
        .iter()
        .map(|f| format!("{AUTH_JWT}{f}"))
        .collect();
    let kinds: [(&str, Vec<&str>); 4] = [
        (
            "basic",
            vec![
                AUTH_BASIC,
                AUTH_BASIC_USERS,
                AUTH_BASIC_FILE,
                AUTH_BASIC_REMOVE,
            ],
        ),
        (
            "digest",
            vec![AUTH_DIGEST_USERS, AUTH_DIGEST_FILE, AUTH_DIGEST_REMOVE],
        ),
        ("forward", FORWARD_LABELS.to_vec()),
        ("JWT", jwt.iter().map(String::as_str).collect()),
    ];
    // The kind that is built: the first whose defining label is set.
    let defining = [
        [AUTH_BASIC, AUTH_BASIC_USERS, AUTH_BASIC_FILE].as_slice(),
        [AUTH_DIGEST_USERS, AUTH_DIGEST_FILE].as_slice(),
        [AUTH_FORWARD_ADDRESS].as_slice(),
    ];
    let winner = defining
        .iter()
        .position(|keys| keys.iter().any(present))
        .or_else(|| kinds[3].1.iter().any(present).then_some(3));
    let warn = |label: &str, message: String| ProviderError::Label {
        container: c.name.clone(),
        label: label.to_string(),
        message,
    };
    let mut out = Vec::new();
    match winner {
        None => {
            if present(&AUTH_HEADER_FIELD) {
                out.push(warn(
                    AUTH_HEADER_FIELD,
                    "ignored: the frontend has no authentication to name a user".into(),
                ));
            }
        }
        Some(w) => {
            for (kind, labels) in kinds.iter().skip(w + 1) {
                for label in labels.iter().filter(|l| present(l)) {
                    out.push(warn(
                        label,
                        format!(
                            "ignored: {} authentication takes precedence ({kind} is not built beside it; one kind per frontend, as in Traefik)",
                            kinds[w].0
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// What a container's middleware labels ask for, and what was wrong with them.
#[derive(Debug, Default)]
pub(super) struct Read {
    pub frontend: FrontendMiddlewares,
    pub max_conn: Option<MaxConn>,
    pub buffering: Option<Buffering>,
    pub errors: Vec<ProviderError>,
    /// `label KEY` of each bad frontend label: the frontend answers 503.
    pub frontend_refused: Vec<String>,
    /// `label KEY` of each bad backend label: the backend's frontends answer 503.
    pub backend_refused: Vec<String>,
}

/// Reads a container's middleware labels.
pub(super) fn read(c: &ContainerInfo) -> Read {
    let mut r = Reader {
        c,
        out: Read::default(),
    };
    r.out.frontend.white_list = r.white_list();
    r.out.frontend.headers = r.headers();
    r.out.frontend.pass_tls_client_cert = r.pass_tls_client_cert();
    r.out.frontend.auth = r.auth();
    r.out.frontend.rate_limit = r.rate_limit();
    r.out.max_conn = r.max_conn();
    r.out.buffering = r.buffering();
    r.check_compiles();
    r.out
}

struct Reader<'a> {
    c: &'a ContainerInfo,
    out: Read,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.c
            .labels
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Records a bad value; frontend labels refuse the frontend, backend ones the backend.
    fn bad(&mut self, key: &str, reason: impl std::fmt::Display) {
        let backend = key.starts_with("traefik.backend.");
        let whom = if backend {
            "every frontend of its backend"
        } else {
            "its frontend"
        };
        self.out.errors.push(ProviderError::Label {
            container: self.c.name.clone(),
            label: key.to_string(),
            message: format!(
                "value {:?}: {reason}; {whom} answers 503 to every request rather than serve without it",
                self.c.labels.get(key).map(String::as_str).unwrap_or("")
            ),
        });
        let refused = format!("label {key}");
        if backend {
            self.out.backend_refused.push(refused);
        } else {
            self.out.frontend_refused.push(refused);
        }
    }

    fn bool(&mut self, key: &str) -> bool {
        match self.get(key).map(parse_bool) {
            None => false,
            Some(Some(b)) => b,
            Some(None) => {
                self.bad(key, "not a boolean (true or false)");
                // A protection flag that cannot be read counts as asked for.
                true
            }
        }
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn uint(&mut self, key: &str) -> Option<u64> {
        let v = self.get(key)?;
        match v.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.bad(key, "not a whole number of 0 or more");
                None
            }
        }
    }

    fn extractor(&mut self, key: &str) -> Option<Extractor> {
        let v = self.get(key)?;
        match Extractor::parse(v) {
            Some(e) => Some(e),
            None => {
                self.bad(key, "not client.ip, request.host or request.header.NAME");
                None
            }
        }
    }

    fn white_list(&mut self) -> Option<WhiteList> {
        let mut ranges = self.list(WHITELIST_RANGE);
        let key = if ranges.is_empty() {
            ranges = self.list(WHITELIST_OLD);
            WHITELIST_OLD
        } else {
            WHITELIST_RANGE
        };
        let xff = self.bool(WHITELIST_XFF);
        if ranges.is_empty() {
            return None;
        }
        if let Err(e) = middleware::parse_ranges(&ranges) {
            self.bad(key, e);
        }
        Some(WhiteList {
            source_range: ranges,
            use_x_forwarded_for: xff,
            ip_strategy: None,
            reject_status_code: None,
        })
    }

    fn users(&mut self, users_key: &str, file_key: &str, remove_key: &str) -> Option<UsersAuth> {
        let users = self.list(users_key);
        let file = self.get(file_key).map(String::from);
        let remove = self.bool(remove_key);
        (!users.is_empty() || file.is_some()).then_some(UsersAuth {
            users,
            users_file: file,
            remove_header: remove,
            realm: None,
        })
    }

    /// `auth.jwt.*`; checked here (the key source, algorithms, claim headers).
    fn jwt(&mut self) -> Option<JwtSpec> {
        let field = |r: &Self, f: &str| r.get(&format!("{AUTH_JWT}{f}")).map(String::from);
        if !JWT_OPTIONS.iter().any(|f| field(self, f).is_some()) {
            return None;
        }
        let interval_key = format!("{AUTH_JWT}jwksRefreshInterval");
        let jwks_refresh_interval = match self
            .get(&interval_key)
            .map(model::duration::parse_go_duration)
        {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                self.bad(&interval_key, e);
                None
            }
        };
        let spec = JwtSpec {
            issuer: field(self, "issuer"),
            audience: field(self, "audience"),
            algorithms: self.list(&format!("{AUTH_JWT}algorithms")),
            secret: field(self, "secret"),
            public_key: field(self, "publicKey"),
            jwks_url: field(self, "jwksUrl"),
            jwks_refresh_interval,
            claims_headers: self
                .get(&format!("{AUTH_JWT}claimsHeaders"))
                .map(super::labels::parse_map)
                .unwrap_or_default(),
        };
        if let Err(e) = middleware::JwtAuth::compile(&spec) {
            self.bad(&format!("{AUTH_JWT}*"), e);
        }
        Some(spec)
    }

    /// `passTLSClientCert.*`, or the deprecated `passTLSCert` (the PEM).
    fn pass_tls_client_cert(&mut self) -> Option<PassTlsClientCert> {
        let asked = |r: &Self, k: &str| r.get(&format!("{PASS_CLIENT_CERT}{k}")).is_some();
        let flag = |r: &mut Self, k: &str| r.bool(&format!("{PASS_CLIENT_CERT}{k}"));
        let name = |r: &mut Self, which: &str| {
            let any = CERT_NAME_OPTIONS
                .iter()
                .any(|f| asked(r, &format!("infos.{which}.{f}")));
            any.then(|| {
                let mut f = |field: &str| flag(r, &format!("infos.{which}.{field}"));
                NameInfos {
                    common_name: f("commonName"),
                    country: f("country"),
                    domain_component: f("domainComponent"),
                    locality: f("locality"),
                    organization: f("organization"),
                    province: f("province"),
                    serial_number: f("serialNumber"),
                    organizational_unit: false,
                }
            })
        };
        let any_infos =
            self.c.labels.keys().any(|k| {
                k.starts_with(&format!("{PASS_CLIENT_CERT}infos.")) && is_middleware_label(k)
            });
        let infos = any_infos.then(|| CertInfos {
            not_after: flag(self, "infos.notAfter"),
            not_before: flag(self, "infos.notBefore"),
            sans: flag(self, "infos.sans"),
            subject: name(self, "subject"),
            issuer: name(self, "issuer"),
            serial_number: false,
            quoted: false,
        });
        let pem = flag(self, "pem") || self.bool(PASS_TLS_CERT);
        (pem || infos.is_some()).then_some(PassTlsClientCert { pem, infos })
    }

    /// `auth.forward.*`; the address is checked here, the TLS files when the route compiles.
    fn forward(&mut self) -> Option<ForwardAuth> {
        let address = self.get(AUTH_FORWARD_ADDRESS)?.to_string();
        let tls_keys = [
            AUTH_FORWARD_CA,
            AUTH_FORWARD_CA_OPTIONAL,
            AUTH_FORWARD_CERT,
            AUTH_FORWARD_KEY,
            AUTH_FORWARD_INSECURE,
        ];
        let tls = tls_keys
            .iter()
            .any(|k| self.get(k).is_some())
            .then(|| ClientTls {
                ca: self.get(AUTH_FORWARD_CA).map(String::from),
                ca_optional: self.bool(AUTH_FORWARD_CA_OPTIONAL),
                cert: self.get(AUTH_FORWARD_CERT).map(String::from),
                key: self.get(AUTH_FORWARD_KEY).map(String::from),
                insecure_skip_verify: self.bool(AUTH_FORWARD_INSECURE),
            });
        let f = ForwardAuth {
            address,
            trust_forward_header: self.bool(AUTH_FORWARD_TRUST),
            auth_response_headers: self.list(AUTH_FORWARD_HEADERS),
            tls,
            options: Default::default(),
        };
        if let Err(e) = middleware::ForwardAuthCheck::compile(&f) {
            let key = match e {
                middleware::MiddlewareError::HeaderName(_) => AUTH_FORWARD_HEADERS,
                _ => AUTH_FORWARD_ADDRESS,
            };
            self.bad(key, e);
        }
        Some(f)
    }

    /// Basic if any basic label, else digest, else forward (Traefik builds one kind).
    fn auth(&mut self) -> Option<Auth> {
        let basic = match self.list(AUTH_BASIC) {
            // The deprecated form takes precedence when present.
            old if !old.is_empty() => Some(UsersAuth {
                users: old,
                users_file: self.get(AUTH_BASIC_FILE).map(String::from),
                remove_header: self.bool(AUTH_BASIC_REMOVE),
                realm: None,
            }),
            _ => self.users(AUTH_BASIC_USERS, AUTH_BASIC_FILE, AUTH_BASIC_REMOVE),
        };
        let kind = match basic {
            Some(b) => {
                // Users from a file are checked once the file is read.
                let checked = b
                    .users_file
                    .is_none()
                    .then(|| middleware::BasicAuth::compile(&b));
                if let Some(Err(e)) = checked {
                    let key = if self.get(AUTH_BASIC).is_some() {
                        AUTH_BASIC
                    } else {
                        AUTH_BASIC_USERS
                    };
                    self.bad(key, e);
                }
                AuthKind::Basic(b)
            }
            None => match self.users(AUTH_DIGEST_USERS, AUTH_DIGEST_FILE, AUTH_DIGEST_REMOVE) {
                None => match self.forward() {
                    Some(f) => AuthKind::Forward(f),
                    None => AuthKind::Jwt(self.jwt()?),
                },
                Some(d) => {
                    let checked = d
                        .users_file
                        .is_none()
                        .then(|| middleware::DigestAuth::compile(&d));
                    if let Some(Err(e)) = checked {
                        self.bad(AUTH_DIGEST_USERS, e);
                    }
                    AuthKind::Digest(d)
                }
            },
        };
        Some(Auth {
            header_field: self.get(AUTH_HEADER_FIELD).map(String::from),
            kind,
        })
    }

    fn rate_limit(&mut self) -> Option<RateLimit> {
        let mut sets: BTreeMap<String, Rate> = BTreeMap::new();
        let keys: Vec<String> = self
            .c
            .labels
            .keys()
            .filter(|k| k.starts_with(RATE_SET) && is_middleware_label(k))
            .cloned()
            .collect();
        for key in keys {
            let Some((name, field)) = key[RATE_SET.len()..].rsplit_once('.') else {
                continue;
            };
            let entry = sets.entry(name.to_string()).or_insert(Rate {
                period: std::time::Duration::ZERO,
                average: 0,
                burst: 0,
            });
            match field {
                "period" => match self.get(&key).map(model::duration::parse_go_duration) {
                    Some(Ok(d)) => entry.period = d,
                    Some(Err(e)) => self.bad(&key, e),
                    None => {}
                },
                "average" => entry.average = self.uint(&key).unwrap_or(0),
                _ => entry.burst = self.uint(&key).unwrap_or(0),
            }
        }
        let extractor = self.get(RATE_EXTRACTOR).is_some();
        if sets.is_empty() && !extractor {
            return None;
        }
        let Some(extractor) = self.extractor(RATE_EXTRACTOR) else {
            if !extractor {
                self.bad(
                    RATE_EXTRACTOR,
                    "missing: rate sets need an extractor (client.ip, request.host or request.header.NAME)",
                );
            }
            return Some(RateLimit {
                extractor_func: Extractor::ClientIp,
                rate_set: sets,
            });
        };
        for (name, rate) in &sets {
            if let Err(e) = middleware::quota(name, rate) {
                self.bad(&format!("{RATE_SET}{name}"), e);
            }
        }
        if sets.is_empty() {
            self.bad(RATE_EXTRACTOR, middleware::MiddlewareError::NoRate);
        }
        Some(RateLimit {
            extractor_func: extractor,
            rate_set: sets,
        })
    }

    fn headers(&mut self) -> Option<Headers> {
        let map = |r: &Self, n: &str| {
            r.get(&format!("{HEADERS}{n}"))
                .map(super::labels::parse_map)
                .unwrap_or_default()
        };
        let text = |r: &Self, n: &str| {
            r.get(&format!("{HEADERS}{n}"))
                .map(String::from)
                .unwrap_or_default()
        };
        let h = Headers {
            custom_request_headers: map(self, "customRequestHeaders"),
            custom_response_headers: map(self, "customResponseHeaders"),
            allowed_hosts: self.list(&format!("{HEADERS}allowedHosts")),
            hosts_proxy_headers: self.list(&format!("{HEADERS}hostsProxyHeaders")),
            ssl_redirect: self.bool(&format!("{HEADERS}SSLRedirect")),
            ssl_temporary_redirect: self.bool(&format!("{HEADERS}SSLTemporaryRedirect")),
            ssl_host: text(self, "SSLHost"),
            ssl_force_host: self.bool(&format!("{HEADERS}SSLForceHost")),
            ssl_proxy_headers: map(self, "SSLProxyHeaders"),
            sts_seconds: self.uint(&format!("{HEADERS}STSSeconds")).unwrap_or(0),
            sts_include_subdomains: self.bool(&format!("{HEADERS}STSIncludeSubdomains")),
            sts_preload: self.bool(&format!("{HEADERS}STSPreload")),
            force_sts_header: self.bool(&format!("{HEADERS}forceSTSHeader")),
            frame_deny: self.bool(&format!("{HEADERS}frameDeny")),
            custom_frame_options_value: text(self, "customFrameOptionsValue"),
            content_type_nosniff: self.bool(&format!("{HEADERS}contentTypeNosniff")),
            browser_xss_filter: self.bool(&format!("{HEADERS}browserXSSFilter")),
            custom_browser_xss_value: text(self, "customBrowserXSSValue"),
            content_security_policy: text(self, "contentSecurityPolicy"),
            public_key: text(self, "publicKey"),
            referrer_policy: text(self, "referrerPolicy"),
            is_development: self.bool(&format!("{HEADERS}isDevelopment")),
            policies: Default::default(),
            cors: None,
        };
        if h.is_empty() {
            return None;
        }
        if let Err(e) = middleware::HeaderRules::compile(&h) {
            self.bad(&format!("{HEADERS}*"), e);
        }
        Some(h)
    }

    fn max_conn(&mut self) -> Option<MaxConn> {
        let amount = self.uint(MAXCONN_AMOUNT);
        let extractor = self.extractor(MAXCONN_EXTRACTOR);
        let amount = match amount {
            None if self.get(MAXCONN_AMOUNT).is_none() => {
                if self.get(MAXCONN_EXTRACTOR).is_some() {
                    self.bad(MAXCONN_EXTRACTOR, "set traefik.backend.maxconn.amount too");
                }
                return None;
            }
            None => 0,
            Some(0) => {
                self.bad(MAXCONN_AMOUNT, middleware::MiddlewareError::MaxConnAmount);
                0
            }
            Some(n) => n,
        };
        Some(MaxConn {
            amount,
            extractor_func: extractor.unwrap_or(Extractor::RequestHost),
        })
    }

    /// `traefik.backend.buffering.*`; a `retryExpression` that cannot be read refuses the
    /// backend.
    fn buffering(&mut self) -> Option<Buffering> {
        if !BUFFERING_OPTIONS
            .iter()
            .any(|f| self.get(&format!("{BUFFERING}{f}")).is_some())
        {
            return None;
        }
        let n = |r: &mut Self, f: &str| r.uint(&format!("{BUFFERING}{f}")).unwrap_or(0);
        let b = Buffering {
            max_request_body_bytes: n(self, "maxRequestBodyBytes"),
            mem_request_body_bytes: n(self, "memRequestBodyBytes"),
            max_response_body_bytes: n(self, "maxResponseBodyBytes"),
            mem_response_body_bytes: n(self, "memResponseBodyBytes"),
            retry_expression: self
                .get(&format!("{BUFFERING}retryExpression"))
                .unwrap_or_default()
                .to_string(),
        };
        if !b.retry_expression.is_empty() {
            if let Err(e) = middleware::RetryCondition::compile(&b.retry_expression) {
                self.bad(&format!("{BUFFERING}retryExpression"), e);
            }
        }
        Some(b)
    }

    /// Anything the per-label checks let through but the compiler refuses (belt and braces).
    fn check_compiles(&mut self) {
        if !self.out.frontend_refused.is_empty() {
            return;
        }
        let mut spec = self.out.frontend.clone();
        // Users from a file are read (and checked) when the snapshot is complete.
        if let Some(a) = &spec.auth {
            if let AuthKind::Basic(u) | AuthKind::Digest(u) = &a.kind {
                if u.users_file.is_some() {
                    spec.auth = None;
                }
            }
        }
        if let Err(e) = middleware::Guards::compile(&spec) {
            self.bad("traefik.frontend.*", e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::container::ContainerInfo;

    fn container(labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo::labelled("web", labels)
    }

    #[test]
    fn every_middleware_from_labels() {
        let r = read(&container(&[
            (
                AUTH_BASIC_USERS,
                "test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/",
            ),
            (AUTH_HEADER_FIELD, "X-WebAuth-User"),
            (WHITELIST_RANGE, "10.0.0.0/8, 192.168.0.1"),
            (RATE_EXTRACTOR, "client.ip"),
            ("traefik.frontend.rateLimit.rateSet.a.period", "10s"),
            ("traefik.frontend.rateLimit.rateSet.a.average", "100"),
            ("traefik.frontend.rateLimit.rateSet.a.burst", "200"),
            ("traefik.frontend.headers.frameDeny", "true"),
            (
                "traefik.frontend.headers.customResponseHeaders",
                "X-A:1||X-B:",
            ),
            (MAXCONN_AMOUNT, "10"),
        ]));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(
            r.frontend.names(),
            [
                "whiteList",
                "customHeaders",
                "secureHeaders",
                "basicAuth",
                "rateLimit"
            ]
        );
        assert_eq!(
            r.frontend.auth.and_then(|a| a.header_field).as_deref(),
            Some("X-WebAuth-User")
        );
        let rate = &r.frontend.rate_limit.expect("rate limit").rate_set["a"];
        assert_eq!((rate.average, rate.burst), (100, 200));
        assert_eq!(
            r.max_conn,
            Some(MaxConn {
                amount: 10,
                extractor_func: Extractor::RequestHost
            })
        );
    }

    #[test]
    fn bad_values_refuse_with_the_label_named() {
        let r = read(&container(&[
            (WHITELIST_RANGE, "10.0.0.0/33"),
            (AUTH_BASIC_USERS, "admin:plaintext"),
            ("traefik.frontend.rateLimit.rateSet.a.average", "5"),
            (MAXCONN_AMOUNT, "lots"),
        ]));
        let labels: Vec<&str> = r
            .errors
            .iter()
            .map(|e| match e {
                ProviderError::Label { label, .. } => label.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(
            labels,
            [
                WHITELIST_RANGE,
                AUTH_BASIC_USERS,
                RATE_EXTRACTOR,
                MAXCONN_AMOUNT
            ]
        );
        assert_eq!(r.frontend_refused.len(), 3);
        assert_eq!(r.backend_refused, [format!("label {MAXCONN_AMOUNT}")]);
        assert!(r.errors[0].message().contains("answers 503"));
    }

    #[test]
    fn the_deprecated_basic_label_wins_and_digest_is_read_otherwise() {
        let r = read(&container(&[
            (AUTH_BASIC, "old:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="),
            (AUTH_BASIC_USERS, "new:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="),
        ]));
        match r.frontend.auth.map(|a| a.kind) {
            Some(AuthKind::Basic(u)) => assert_eq!(u.users[0].split(':').next(), Some("old")),
            other => panic!("{other:?}"),
        }
        let r = read(&container(&[(
            AUTH_DIGEST_USERS,
            "test:traefik:a2688e031edb4be6a3797f3882655c05",
        )]));
        assert!(matches!(
            r.frontend.auth.map(|a| a.kind),
            Some(AuthKind::Digest(_))
        ));
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }

    #[test]
    fn known_label_forms() {
        assert!(is_middleware_label(
            "traefik.frontend.rateLimit.rateSet.api.burst"
        ));
        assert!(!is_middleware_label(
            "traefik.frontend.rateLimit.rateSet.api.bursty"
        ));
        assert!(is_middleware_label("traefik.frontend.headers.STSSeconds"));
        assert!(!is_middleware_label("traefik.frontend.headers.stsseconds"));
    }
}
