//! TOML middleware tables → `model::middleware`: `[frontends.X.auth]` (basic, digest,
//! forward), `whiteList`, `whitelistSourceRange`, `basicAuth`, `ratelimit`, `headers`,
//! `[backends.X.maxConn]` and the entrypoint `auth` / `whiteList` tables. Keys are matched without regard to case, as
//! Traefik's TOML reader does. A key that is unknown or a value that cannot be honoured is an
//! issue at the table's position; callers refuse the frontend (503) or the file. Pure.

use std::collections::BTreeMap;

use model::middleware::{
    Auth, AuthKind, Buffering, CertInfos, ClientTls, Extractor, ForwardAuth, FrontendMiddlewares,
    Headers, JwtSpec, MaxConn, NameInfos, PassTlsClientCert, Rate, RateLimit, UsersAuth, WhiteList,
};
use toml::{Spanned, Value};

use super::schema::{BackendToml, FrontendToml};

/// Something wrong in a middleware table: the dotted key under the frontend, backend or
/// entrypoint, the byte offset of the table's value, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub key: String,
    pub offset: usize,
    pub message: String,
}

/// A frontend table's middlewares and its issues (any issue refuses the frontend).
#[derive(Debug, Default)]
pub struct FrontendRead {
    pub middlewares: FrontendMiddlewares,
    pub issues: Vec<Issue>,
    /// Keys Traefik would ignore (an auth kind beside the one that is built): shown, not
    /// refused.
    pub warnings: Vec<Issue>,
}

/// Reads the middleware keys of `[frontends.X]`.
pub fn frontend_middlewares(f: &FrontendToml) -> FrontendRead {
    let mut r = Reader::default();
    let mut m = FrontendMiddlewares::default();
    let ranges = f.whitelist_source_range.as_ref().and_then(|v| {
        let ranges = r.at(v, "whitelistSourceRange").strings(v.get_ref())?;
        if let Err(e) = middleware::parse_ranges(&ranges) {
            r.issue("", e);
        }
        Some(ranges)
    });
    m.white_list = match f.white_list.as_ref() {
        Some(v) => r.at(v, "whiteList").white_list(v.get_ref(), ranges),
        None => ranges
            .filter(|r| !r.is_empty())
            .map(|source_range| WhiteList {
                source_range,
                use_x_forwarded_for: false,
                ip_strategy: None,
                reject_status_code: None,
            }),
    };
    m.headers = f
        .headers
        .as_ref()
        .and_then(|v| r.at(v, "headers").headers(v.get_ref()));
    let old_basic = f
        .basic_auth
        .as_ref()
        .and_then(|v| r.at(v, "basicAuth").strings(v.get_ref()))
        .filter(|u| !u.is_empty());
    m.auth = match (f.auth.as_ref(), old_basic) {
        (Some(v), _) => r.at(v, "auth").auth(v.get_ref()),
        (None, Some(users)) => Some(Auth {
            header_field: None,
            kind: AuthKind::Basic(UsersAuth {
                users,
                users_file: None,
                remove_header: false,
                realm: None,
            }),
        }),
        (None, None) => None,
    };
    m.rate_limit = f
        .rate_limit
        .as_ref()
        .and_then(|v| r.at(v, "ratelimit").rate_limit(v.get_ref()));
    m.pass_tls_client_cert = match (&f.pass_tls_client_cert, f.pass_tls_cert) {
        (Some(v), old) => r
            .at(v, "passTLSClientCert")
            .pass_tls_client_cert(v.get_ref(), old == Some(true)),
        (None, Some(true)) => Some(PassTlsClientCert {
            pem: true,
            infos: None,
        }),
        (None, _) => None,
    };
    r.check(&m);
    FrontendRead {
        middlewares: m,
        issues: r.issues,
        warnings: r.warnings,
    }
}

/// Reads `[backends.X.maxConn]`.
pub fn backend_max_conn(b: &BackendToml) -> (Option<MaxConn>, Vec<Issue>) {
    let mut r = Reader::default();
    let m = b
        .max_conn
        .as_ref()
        .and_then(|v| r.at(v, "maxConn").max_conn(v.get_ref()));
    (m, r.issues)
}

/// Reads `[backends.X.buffering]`; a value that cannot be read (a `retryExpression` too) is an
/// issue, and the backend's frontends answer 503 rather than serve without it.
pub fn backend_buffering(b: &BackendToml) -> (Option<Buffering>, Vec<Issue>) {
    let mut r = Reader::default();
    let Some(v) = b.buffering.as_ref() else {
        return (None, Vec::new());
    };
    let r = r.at(v, "buffering");
    let Some(t) = r.table(v.get_ref(), "", &model::middleware::BUFFERING_OPTIONS) else {
        return (None, std::mem::take(&mut r.issues));
    };
    let buffering = Buffering {
        max_request_body_bytes: r.uint(t, "maxRequestBodyBytes").unwrap_or(0),
        mem_request_body_bytes: r.uint(t, "memRequestBodyBytes").unwrap_or(0),
        max_response_body_bytes: r.uint(t, "maxResponseBodyBytes").unwrap_or(0),
        mem_response_body_bytes: r.uint(t, "memResponseBodyBytes").unwrap_or(0),
        retry_expression: r.string(t, "retryExpression").unwrap_or_default(),
    };
    if !buffering.retry_expression.trim().is_empty() {
        if let Err(e) = middleware::RetryCondition::compile(&buffering.retry_expression) {
            r.issue("retryExpression", e);
        }
    }
    (Some(buffering), std::mem::take(&mut r.issues))
}

/// Reads an entrypoint's `auth` table.
pub fn entry_point_auth(v: &Spanned<Value>) -> (Option<Auth>, Vec<Issue>) {
    let mut r = Reader::default();
    let a = r.at(v, "auth").auth(v.get_ref());
    // An entrypoint has no place to show warnings: a second auth kind refuses it.
    let ignored = std::mem::take(&mut r.warnings);
    r.issues.extend(ignored);
    if let Some(a) = &a {
        r.check(&FrontendMiddlewares {
            auth: Some(a.clone()),
            ..FrontendMiddlewares::default()
        });
    }
    (a, r.issues)
}

/// Reads an entrypoint's `whiteList` table (or the old `whitelistSourceRange` list).
pub fn entry_point_white_list(
    table: Option<&Spanned<Value>>,
    old: Option<&Spanned<Value>>,
) -> (Option<WhiteList>, Vec<Issue>) {
    let mut r = Reader::default();
    let ranges = old.and_then(|v| r.at(v, "whitelistSourceRange").strings(v.get_ref()));
    let w = match table {
        Some(v) => r.at(v, "whiteList").white_list(v.get_ref(), ranges),
        None => ranges
            .filter(|r| !r.is_empty())
            .map(|source_range| WhiteList {
                source_range,
                use_x_forwarded_for: false,
                ip_strategy: None,
                reject_status_code: None,
            }),
    };
    if let Some(w) = &w {
        r.check(&FrontendMiddlewares {
            white_list: Some(w.clone()),
            ..FrontendMiddlewares::default()
        });
    }
    (w, r.issues)
}

/// Collects issues; `at` sets the table (key and position) being read.
#[derive(Default)]
struct Reader {
    issues: Vec<Issue>,
    warnings: Vec<Issue>,
    key: String,
    offset: usize,
}

fn get<'a>(t: &'a toml::Table, key: &str) -> Option<&'a Value> {
    t.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

impl Reader {
    fn at(&mut self, v: &Spanned<Value>, key: &str) -> &mut Reader {
        self.key = key.to_string();
        self.offset = v.span().start;
        self
    }

    fn issue(&mut self, sub: &str, message: impl std::fmt::Display) {
        let key = if sub.is_empty() {
            self.key.clone()
        } else {
            format!("{}.{sub}", self.key)
        };
        self.issues.push(Issue {
            key,
            offset: self.offset,
            message: message.to_string(),
        });
    }

    /// The table, with an issue for each key outside `known`.
    fn table<'a>(&mut self, v: &'a Value, sub: &str, known: &[&str]) -> Option<&'a toml::Table> {
        let Value::Table(t) = v else {
            self.issue(sub, "must be a table");
            return None;
        };
        for k in t.keys() {
            if !known.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                let at = if sub.is_empty() {
                    k.clone()
                } else {
                    format!("{sub}.{k}")
                };
                self.issue(&at, "unknown key in a protection's table");
            }
        }
        Some(t)
    }

    fn strings(&mut self, v: &Value) -> Option<Vec<String>> {
        self.strings_at(v, "")
    }

    fn strings_at(&mut self, v: &Value, sub: &str) -> Option<Vec<String>> {
        match v {
            Value::Array(a) => {
                let mut out = Vec::new();
                for item in a {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        _ => self.issue(sub, "must be a list of strings"),
                    }
                }
                Some(out)
            }
            Value::String(s) => Some(
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            ),
            _ => {
                self.issue(sub, "must be a list of strings");
                None
            }
        }
    }

    fn string(&mut self, t: &toml::Table, key: &str) -> Option<String> {
        match get(t, key)? {
            Value::String(s) => Some(s.clone()),
            _ => {
                self.issue(key, "must be a string");
                None
            }
        }
    }

    /// A flag; one that is not a boolean counts as set (it asks for something).
    fn flag(&mut self, t: &toml::Table, key: &str) -> bool {
        match get(t, key) {
            None => false,
            Some(Value::Boolean(b)) => *b,
            Some(_) => {
                self.issue(key, "must be true or false");
                true
            }
        }
    }

    fn uint(&mut self, t: &toml::Table, key: &str) -> Option<u64> {
        match get(t, key)? {
            Value::Integer(i) if *i >= 0 => Some(*i as u64),
            Value::String(s) if s.trim().parse::<u64>().is_ok() => s.trim().parse().ok(),
            _ => {
                self.issue(key, "must be a whole number of 0 or more");
                None
            }
        }
    }

    fn map(&mut self, t: &toml::Table, key: &str) -> BTreeMap<String, String> {
        match get(t, key) {
            None => BTreeMap::new(),
            Some(Value::Table(m)) => m
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((k.clone(), s.clone())),
                    _ => {
                        self.issue(&format!("{key}.{k}"), "must be a string");
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.issue(key, "must be a table of header = \"value\"");
                BTreeMap::new()
            }
        }
    }

    fn extractor(&mut self, t: &toml::Table, key: &str) -> Option<Extractor> {
        let text = self.string(t, key)?;
        let e = Extractor::parse(&text);
        if e.is_none() {
            self.issue(key, middleware::MiddlewareError::Extractor(text));
        }
        e
    }

    fn white_list(&mut self, v: &Value, old: Option<Vec<String>>) -> Option<WhiteList> {
        let t = self.table(v, "", &["sourceRange", "useXForwardedFor"])?;
        let ranges = match get(t, "sourceRange") {
            Some(r) => self.strings_at(r, "sourceRange").unwrap_or_default(),
            None => old.unwrap_or_default(),
        };
        let xff = self.flag(t, "useXForwardedFor");
        if let Err(e) = middleware::parse_ranges(&ranges) {
            self.issue("sourceRange", e);
        }
        (!ranges.is_empty()).then_some(WhiteList {
            source_range: ranges,
            use_x_forwarded_for: xff,
            ip_strategy: None,
            reject_status_code: None,
        })
    }

    fn users(&mut self, t: &toml::Table, sub: &str) -> Option<UsersAuth> {
        let v = get(t, sub)?;
        let u = self.table(v, sub, &["users", "usersFile", "removeHeader"])?;
        let users = match get(u, "users") {
            Some(list) => self
                .strings_at(list, &format!("{sub}.users"))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let users_file = self.string(u, "usersFile").filter(|f| !f.is_empty());
        let remove_header = self.flag(u, "removeHeader");
        if users.is_empty() && users_file.is_none() {
            self.issue(sub, "no users (users or usersFile)");
        }
        Some(UsersAuth {
            users,
            users_file,
            remove_header,
            realm: None,
        })
    }

    /// Basic, else digest, else forward (Traefik builds one kind).
    fn auth(&mut self, v: &Value) -> Option<Auth> {
        let t = self.table(v, "", &["basic", "digest", "forward", "jwt", "headerField"])?;
        let header_field = self.string(t, "headerField").filter(|h| !h.is_empty());
        let kind = match self.users(t, "basic") {
            Some(b) => AuthKind::Basic(b),
            None => match self.users(t, "digest") {
                Some(d) => AuthKind::Digest(d),
                None => match self.forward(t) {
                    Some(f) => AuthKind::Forward(f),
                    None => match self.jwt(t) {
                        Some(j) => AuthKind::Jwt(j),
                        None => {
                            if header_field.is_some() {
                                self.warnings.push(Issue {
                                    key: format!("{}.headerField", self.key),
                                    offset: self.offset,
                                    message: "ignored: no authentication to name a user".into(),
                                });
                            }
                            return None;
                        }
                    },
                },
            },
        };
        // One kind per frontend, as in Traefik: the others are shown as ignored.
        let order = ["basic", "digest", "forward", "jwt"];
        let built = match kind {
            AuthKind::Basic(_) => 0,
            AuthKind::Digest(_) => 1,
            AuthKind::Forward(_) => 2,
            AuthKind::Jwt(_) => 3,
        };
        for other in order.iter().skip(built + 1).filter(|k| get(t, k).is_some()) {
            self.warnings.push(Issue {
                key: format!("{}.{other}", self.key),
                offset: self.offset,
                message: format!(
                    "ignored: {} authentication takes precedence (one kind per frontend, as in Traefik)",
                    order[built]
                ),
            });
        }
        Some(Auth { header_field, kind })
    }

    /// `auth.jwt`: the key source, issuer, audience, algorithms and claim headers.
    fn jwt(&mut self, t: &toml::Table) -> Option<JwtSpec> {
        let v = get(t, "jwt")?;
        let j = self.table(v, "jwt", &model::middleware::JWT_OPTIONS)?;
        let jwks_refresh_interval = match get(j, "jwksRefreshInterval") {
            Some(Value::String(d)) => model::duration::parse_go_duration(d)
                .map_err(|e| self.issue("jwt.jwksRefreshInterval", e))
                .ok(),
            Some(_) => {
                self.issue(
                    "jwt.jwksRefreshInterval",
                    "must be a duration such as \"5m\"",
                );
                None
            }
            None => None,
        };
        let spec = JwtSpec {
            issuer: self.string(j, "issuer"),
            audience: self.string(j, "audience"),
            algorithms: get(j, "algorithms")
                .and_then(|a| self.strings_at(a, "jwt.algorithms"))
                .unwrap_or_default(),
            secret: self.string(j, "secret"),
            public_key: self.string(j, "publicKey"),
            jwks_url: self.string(j, "jwksUrl"),
            jwks_refresh_interval,
            claims_headers: self.map(j, "claimsHeaders"),
        };
        if let Err(e) = middleware::JwtAuth::compile(&spec) {
            self.issue("jwt", e);
        }
        Some(spec)
    }

    /// `auth.forward` and its `tls` table; the TLS files are read when the route compiles.
    fn forward(&mut self, t: &toml::Table) -> Option<ForwardAuth> {
        let v = get(t, "forward")?;
        let known = [
            "address",
            "trustForwardHeader",
            "authResponseHeaders",
            "tls",
        ];
        let f = self.table(v, "forward", &known)?;
        let address = self.string(f, "address").unwrap_or_default();
        let auth_response_headers = get(f, "authResponseHeaders")
            .and_then(|h| self.strings_at(h, "forward.authResponseHeaders"))
            .unwrap_or_default();
        let tls = match get(f, "tls") {
            None => None,
            Some(tv) => {
                let known = ["ca", "caOptional", "cert", "key", "insecureSkipVerify"];
                let tt = self.table(tv, "forward.tls", &known)?;
                Some(ClientTls {
                    ca: self.string(tt, "ca"),
                    ca_optional: self.flag(tt, "caOptional"),
                    cert: self.string(tt, "cert"),
                    key: self.string(tt, "key"),
                    insecure_skip_verify: self.flag(tt, "insecureSkipVerify"),
                })
            }
        };
        let forward = ForwardAuth {
            address,
            trust_forward_header: self.flag(f, "trustForwardHeader"),
            auth_response_headers,
            tls,
            options: Default::default(),
        };
        if let Err(e) = middleware::ForwardAuthCheck::compile(&forward) {
            self.issue("forward", e);
        }
        Some(forward)
    }

    /// `[frontends.X.passTLSClientCert]`: `pem` and the `infos` table.
    fn pass_tls_client_cert(&mut self, v: &Value, old_pem: bool) -> Option<PassTlsClientCert> {
        let t = self.table(v, "", &["pem", "infos"])?;
        let pem = self.flag(t, "pem") || old_pem;
        let infos = match get(t, "infos") {
            None => None,
            Some(iv) => {
                let known = ["notAfter", "notBefore", "sans", "subject", "issuer"];
                let it = self.table(iv, "infos", &known)?;
                let name = |r: &mut Reader, which: &str| {
                    let nv = get(it, which)?;
                    let nt = r.table(
                        nv,
                        &format!("infos.{which}"),
                        &model::middleware::CERT_NAME_OPTIONS,
                    )?;
                    Some(NameInfos {
                        common_name: r.flag(nt, "commonName"),
                        country: r.flag(nt, "country"),
                        domain_component: r.flag(nt, "domainComponent"),
                        locality: r.flag(nt, "locality"),
                        organization: r.flag(nt, "organization"),
                        province: r.flag(nt, "province"),
                        serial_number: r.flag(nt, "serialNumber"),
                        organizational_unit: false,
                    })
                };
                let subject = name(self, "subject");
                let issuer = name(self, "issuer");
                Some(CertInfos {
                    not_after: self.flag(it, "notAfter"),
                    not_before: self.flag(it, "notBefore"),
                    sans: self.flag(it, "sans"),
                    subject,
                    issuer,
                    serial_number: false,
                    quoted: false,
                })
            }
        };
        Some(PassTlsClientCert { pem, infos })
    }

    fn rate_limit(&mut self, v: &Value) -> Option<RateLimit> {
        let t = self.table(v, "", &["extractorFunc", "rateSet"])?;
        let extractor = self.extractor(t, "extractorFunc");
        let mut rate_set = BTreeMap::new();
        if let Some(sets) = get(t, "rateSet") {
            let Value::Table(sets) = sets else {
                self.issue("rateSet", "must be a table of named rates");
                return None;
            };
            for (name, set) in sets {
                let sub = format!("rateSet.{name}");
                let Some(s) = self.table(set, &sub, &["period", "average", "burst"]) else {
                    continue;
                };
                let period = match get(s, "period") {
                    Some(Value::String(p)) => model::duration::parse_go_duration(p)
                        .map_err(|e| self.issue(&format!("{sub}.period"), e))
                        .unwrap_or_default(),
                    Some(Value::Integer(secs)) if *secs > 0 => {
                        std::time::Duration::from_secs(*secs as u64)
                    }
                    _ => std::time::Duration::ZERO,
                };
                let rate = Rate {
                    period,
                    average: self.uint(s, "average").unwrap_or(0),
                    burst: self.uint(s, "burst").unwrap_or(0),
                };
                if let Err(e) = middleware::quota(name, &rate) {
                    self.issue(&sub, e);
                }
                rate_set.insert(name.clone(), rate);
            }
        }
        if extractor.is_none() && !self.issues.iter().any(|i| i.key.ends_with("extractorFunc")) {
            self.issue(
                "extractorFunc",
                "missing: client.ip, request.host or request.header.NAME",
            );
        }
        if rate_set.is_empty() {
            self.issue("rateSet", middleware::MiddlewareError::NoRate);
        }
        Some(RateLimit {
            extractor_func: extractor.unwrap_or(Extractor::ClientIp),
            rate_set,
        })
    }

    fn headers(&mut self, v: &Value) -> Option<Headers> {
        let t = self.table(v, "", &model::middleware::HEADER_OPTIONS)?;
        let list = |r: &mut Reader, k: &str| {
            get(t, k)
                .and_then(|v| r.strings_at(v, k))
                .unwrap_or_default()
        };
        let text = |r: &mut Reader, k: &str| r.string(t, k).unwrap_or_default();
        let h = Headers {
            custom_request_headers: self.map(t, "customRequestHeaders"),
            custom_response_headers: self.map(t, "customResponseHeaders"),
            allowed_hosts: list(self, "allowedHosts"),
            hosts_proxy_headers: list(self, "hostsProxyHeaders"),
            ssl_redirect: self.flag(t, "SSLRedirect"),
            ssl_temporary_redirect: self.flag(t, "SSLTemporaryRedirect"),
            ssl_host: text(self, "SSLHost"),
            ssl_force_host: self.flag(t, "SSLForceHost"),
            ssl_proxy_headers: self.map(t, "SSLProxyHeaders"),
            sts_seconds: self.uint(t, "STSSeconds").unwrap_or(0),
            sts_include_subdomains: self.flag(t, "STSIncludeSubdomains"),
            sts_preload: self.flag(t, "STSPreload"),
            force_sts_header: self.flag(t, "forceSTSHeader"),
            frame_deny: self.flag(t, "frameDeny"),
            custom_frame_options_value: text(self, "customFrameOptionsValue"),
            content_type_nosniff: self.flag(t, "contentTypeNosniff"),
            browser_xss_filter: self.flag(t, "browserXssFilter"),
            custom_browser_xss_value: text(self, "customBrowserXSSValue"),
            content_security_policy: text(self, "contentSecurityPolicy"),
            public_key: text(self, "publicKey"),
            referrer_policy: text(self, "referrerPolicy"),
            is_development: self.flag(t, "isDevelopment"),
            policies: Default::default(),
            cors: None,
        };
        (!h.is_empty()).then_some(h)
    }

    fn max_conn(&mut self, v: &Value) -> Option<MaxConn> {
        let t = self.table(v, "", &["amount", "extractorFunc"])?;
        let amount = self.uint(t, "amount");
        let extractor = match get(t, "extractorFunc") {
            Some(_) => self.extractor(t, "extractorFunc"),
            None => Some(Extractor::RequestHost),
        };
        match amount {
            None if get(t, "amount").is_none() => {
                self.issue("amount", "missing");
                None
            }
            Some(0) => {
                self.issue("amount", middleware::MiddlewareError::MaxConnAmount);
                None
            }
            a => Some(MaxConn {
                amount: a.unwrap_or(0),
                extractor_func: extractor.unwrap_or(Extractor::RequestHost),
            }),
        }
    }

    /// Whatever the compiler would refuse in what was read (users, ranges, header values).
    fn check(&mut self, m: &FrontendMiddlewares) {
        if !self.issues.is_empty() {
            return;
        }
        let mut m = m.clone();
        if let Some(a) = &m.auth {
            if let AuthKind::Basic(u) | AuthKind::Digest(u) = &a.kind {
                if u.users_file.is_some() {
                    // Checked once the file is read.
                    m.auth = None;
                }
            }
        }
        if let Err(e) = middleware::Guards::compile(&m) {
            self.key = "middlewares".into();
            self.issue("", e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frontend(text: &str) -> FrontendRead {
        let f: FrontendToml = toml::from_str(text).expect("valid frontend");
        frontend_middlewares(&f)
    }

    #[test]
    fn every_frontend_middleware_from_toml() {
        let r = frontend(
            r#"
backend = "b"
[auth]
headerField = "X-WebAuth-User"
[auth.basic]
removeHeader = true
users = ["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
[whiteList]
sourceRange = ["10.0.0.0/8"]
useXForwardedFor = true
[ratelimit]
extractorfunc = "client.ip"
[ratelimit.rateset.r1]
period = "10s"
average = 100
burst = 200
[headers]
frameDeny = true
STSSeconds = 100
[headers.customResponseHeaders]
X-A = "1"
"#,
        );
        assert!(r.issues.is_empty(), "{:?}", r.issues);
        assert_eq!(
            r.middlewares.names(),
            [
                "whiteList",
                "customHeaders",
                "secureHeaders",
                "basicAuth",
                "rateLimit"
            ]
        );
        assert!(r.middlewares.white_list.expect("wl").use_x_forwarded_for);
    }

    #[test]
    fn deprecated_forms_and_issues() {
        let r = frontend(
            "backend = \"b\"\nbasicAuth = [\"test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"]\nwhitelistSourceRange = [\"10.0.0.0/8\"]\n",
        );
        assert!(r.issues.is_empty(), "{:?}", r.issues);
        assert_eq!(r.middlewares.names(), ["whiteList", "basicAuth"]);
        let r = frontend(
            "backend = \"b\"\n[whiteList]\nsourceRange = [\"10.0.0.0/33\"]\n[auth.basic]\nuserz = [\"x\"]\n",
        );
        let keys: Vec<&str> = r.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            ["whiteList.sourceRange", "auth.basic.userz", "auth.basic"]
        );
        let r = frontend("backend = \"b\"\n[whiteList]\nsourceRange = [\"10.0.0.0/33\"]\n");
        assert_eq!(r.issues.len(), 1);
        assert!(
            r.issues[0].message.contains("10.0.0.0/33"),
            "{:?}",
            r.issues
        );
    }

    #[test]
    fn forward_auth_from_toml() {
        let r = frontend(
            r#"
backend = "b"
[auth.forward]
address = "https://auth.test/verify"
trustForwardHeader = true
authResponseHeaders = ["X-Auth-User", "X-Secret"]
[auth.forward.tls]
ca = "ca.pem"
insecureSkipVerify = true
"#,
        );
        assert!(r.issues.is_empty(), "{:?}", r.issues);
        let Some(AuthKind::Forward(f)) = r.middlewares.auth.map(|a| a.kind) else {
            panic!("forward auth expected");
        };
        assert_eq!(f.address, "https://auth.test/verify");
        assert!(f.trust_forward_header);
        assert_eq!(f.auth_response_headers, ["X-Auth-User", "X-Secret"]);
        let tls = f.tls.expect("tls");
        assert_eq!(tls.ca.as_deref(), Some("ca.pem"));
        assert!(tls.insecure_skip_verify);

        let r = frontend(
            "backend = \"b\"\n[auth.forward]\naddress = \"auth:9000\"\n[auth.forward.tls]\nkeyz = \"k\"\n",
        );
        let keys: Vec<&str> = r.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["auth.forward.tls.keyz", "auth.forward"]);
        assert!(
            r.issues[1]
                .message
                .contains("\"auth:9000\" is not an http:// or https:// URL")
        );
    }

    #[test]
    fn buffering_from_toml() {
        let b: BackendToml = toml::from_str(
            "[buffering]\nmaxRequestBodyBytes = 10485760\nmemRequestBodyBytes = 2097152\nretryExpression = \"IsNetworkError() && Attempts() <= 2\"\n",
        )
        .expect("valid");
        let (buffering, issues) = backend_buffering(&b);
        assert!(issues.is_empty(), "{issues:?}");
        let buffering = buffering.expect("buffering");
        assert_eq!(buffering.max_request_body_bytes, 10_485_760);
        assert_eq!(buffering.mem_request_body_bytes, 2_097_152);
        let b: BackendToml = toml::from_str(
            "[buffering]\nretryExpression = \"Attempts() <\"\nmaxRequestBodyBytez = 1\n",
        )
        .expect("valid");
        let keys: Vec<String> = backend_buffering(&b).1.into_iter().map(|i| i.key).collect();
        assert_eq!(
            keys,
            ["buffering.maxRequestBodyBytez", "buffering.retryExpression"]
        );
    }

    #[test]
    fn a_second_auth_kind_is_a_warning() {
        let r = frontend(
            "backend = \"b\"\n[auth.basic]\nusers = [\"test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/\"]\n[auth.jwt]\nsecret = \"x\"\n",
        );
        assert!(r.issues.is_empty(), "{:?}", r.issues);
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].key, "auth.jwt");
        assert!(
            r.warnings[0]
                .message
                .contains("basic authentication takes precedence")
        );
    }
}
