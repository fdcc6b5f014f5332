//! What a frontend, backend or entrypoint asks its middlewares to do, as plain data: the
//! providers fill these in from labels or TOML, `portier-middleware` compiles them once per
//! routing table, and the API shows them (users by name only, never their hashes).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// A frontend's middlewares, in the order Traefik runs them: allowlist, headers, auth, rate
/// limit. Flattened into the frontend's JSON as Traefik's API shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FrontendMiddlewares {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub white_list: Option<WhiteList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Headers>,
    /// `passTLSClientCert` (and the deprecated `passTLSCert`): the client's certificate for
    /// the backend.
    #[serde(rename = "passTLSClientCert", skip_serializing_if = "Option::is_none")]
    pub pass_tls_client_cert: Option<PassTlsClientCert>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
}

impl FrontendMiddlewares {
    pub fn is_empty(&self) -> bool {
        self.white_list.is_none()
            && self.headers.is_none()
            && self.pass_tls_client_cert.is_none()
            && self.auth.is_none()
            && self.rate_limit.is_none()
    }

    /// The names of the middlewares present, in the order they run (for the dashboard).
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.white_list.is_some() {
            out.push("whiteList");
        }
        if let Some(h) = &self.headers {
            if h.has_custom() {
                out.push("customHeaders");
            }
            if h.has_secure() {
                out.push("secureHeaders");
            }
        }
        if self.pass_tls_client_cert.is_some() {
            out.push("passTLSClientCert");
        }
        if let Some(a) = &self.auth {
            out.push(match a.kind {
                AuthKind::Basic(_) => "basicAuth",
                AuthKind::Digest(_) => "digestAuth",
                AuthKind::Forward(_) => "forwardAuth",
                AuthKind::Jwt(_) => "jwtAuth",
            });
        }
        if self.rate_limit.is_some() {
            out.push("rateLimit");
        }
        out
    }
}

/// `whiteList.sourceRange` (IPs or CIDRs) and `useXForwardedFor`. An empty range allows all
/// (Traefik), so providers only build this with at least one range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WhiteList {
    pub source_range: Vec<String>,
    pub use_x_forwarded_for: bool,
    /// 2.x/3.x `ipStrategy`: which `X-Forwarded-For` address is the client's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_strategy: Option<IpStrategy>,
    /// 3.x `rejectStatusCode`: the status of a refusal (`None`: 403).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_status_code: Option<u16>,
}

/// `ipStrategy`: the client is the `depth`-th address of `X-Forwarded-For` from the right
/// (`depth` > 0), else the first from the right not in `excludedIPs` (when set), else the
/// connection's peer. No such address: no client address (an allowlist refuses it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IpStrategy {
    pub depth: u32,
    #[serde(rename = "excludedIPs", skip_serializing_if = "Vec::is_empty")]
    pub excluded_ips: Vec<String>,
    /// `ipv6Subnet`: an IPv6 client stands for its whole /N (its network address).
    #[serde(rename = "ipv6Subnet", skip_serializing_if = "Option::is_none")]
    pub ipv6_subnet: Option<u8>,
}

/// One authentication kind (Traefik builds only one: basic, else digest, else forward) and
/// the header that receives the authenticated user's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Auth {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_field: Option<String>,
    #[serde(flatten)]
    pub kind: AuthKind,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthKind {
    Basic(UsersAuth),
    Digest(UsersAuth),
    Forward(ForwardAuth),
    Jwt(JwtSpec),
}

/// `auth.jwt`: bearer tokens verified with one key source (`secret`, `publicKey` or
/// `jwksUrl`), for `issuer` and `audience` when set, with `claimsHeaders` (claim → header)
/// copied into the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JwtSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub algorithms: Vec<String>,
    /// Never shown.
    #[serde(skip)]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// How often the JWKS is fetched again (default 5 minutes).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "opt_duration"
    )]
    pub jwks_refresh_interval: Option<Duration>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub claims_headers: BTreeMap<String, String>,
}

fn opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&crate::duration::format_duration(*d)),
        None => s.serialize_none(),
    }
}

/// Basic or digest users: `user:hash` (basic) or `user:realm:hash` (digest) lines from the
/// labels or keys and the users file, already merged. Serialised as user names only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsersAuth {
    #[serde(serialize_with = "user_names")]
    pub users: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users_file: Option<String>,
    pub remove_header: bool,
    /// The realm of the challenge (`None`: `traefik`, Traefik's default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
}

fn user_names<S: Serializer>(users: &[String], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        users
            .iter()
            .map(|u| u.split(':').next().unwrap_or_default()),
    )
}

/// `auth.forward`: ask `address` whether the request may pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardAuth {
    pub address: String,
    pub trust_forward_header: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_response_headers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ClientTls>,
    /// Traefik 2.x/3.x's further options.
    #[serde(flatten)]
    pub options: ForwardAuthOptions,
}

/// `forwardAuth`'s options beyond Traefik 1.7's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardAuthOptions {
    /// Only these of the client's headers go to the auth server (all when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth_request_headers: Vec<String>,
    /// The auth server's headers whose (canonical) names match are copied into the request.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_response_headers_regex: String,
    /// Cookies the auth server sets that are set on the client's answer too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub add_auth_cookies_to_response: Vec<String>,
    /// The longest auth answer read (a longer one: 401); `None`: portier's 1 MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "maxResponseBodySize")]
    pub max_response_body_size: Option<u64>,
    /// Keep the auth server's `Location` as sent (else a relative one is made absolute
    /// against the auth address, as Go's `Response.Location`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preserve_location_header: bool,
    /// Ask the auth server with the client's method instead of GET.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub preserve_request_method: bool,
    /// A 401 from the auth server becomes a 302 to this URL.
    #[serde(skip_serializing_if = "String::is_empty")]
    #[serde(rename = "authSigninURL")]
    pub auth_signin_url: String,
}

/// TLS towards the forward-auth server: a CA (file path or PEM), a client certificate and
/// key, or no verification at all.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTls {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    pub ca_optional: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    #[serde(skip_serializing)]
    pub key: Option<String>,
    pub insecure_skip_verify: bool,
}

/// `passTLSClientCert`: the client certificate as PEM (`X-Forwarded-Tls-Client-Cert`) and
/// chosen fields of it (`X-Forwarded-Tls-Client-Cert-Infos`), as Traefik 1.7 sends them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassTlsClientCert {
    pub pem: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub infos: Option<CertInfos>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertInfos {
    pub not_after: bool,
    pub not_before: bool,
    pub sans: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<NameInfos>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<NameInfos>,
    /// 2.x/3.x `info.serialNumber`: the certificate's serial, in decimal.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub serial_number: bool,
    /// 2.x/3.x's format: `NB`, `NA`, `SAN` and `SerialNumber` values in quotes (1.7 wrote
    /// them bare).
    #[serde(skip)]
    pub quoted: bool,
}

/// Which parts of a distinguished name to pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameInfos {
    pub common_name: bool,
    pub country: bool,
    pub domain_component: bool,
    pub locality: bool,
    pub organization: bool,
    pub province: bool,
    pub serial_number: bool,
    /// 2.x/3.x `organizationalUnit` (`OU`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub organizational_unit: bool,
}

/// `buffering`: bodies read whole before they move on, in memory up to `mem*` bytes and on
/// disk beyond, refused above `max*` bytes (0: no limit; `mem*` 0: 1 MiB).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Buffering {
    pub max_request_body_bytes: u64,
    pub mem_request_body_bytes: u64,
    pub max_response_body_bytes: u64,
    pub mem_response_body_bytes: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub retry_expression: String,
}

/// Where the key of a rate limit or connection limit comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Extractor {
    ClientIp,
    /// The client's address by an `ipStrategy` (2.x/3.x `sourceCriterion.ipStrategy`).
    ClientIpBy(IpStrategy),
    RequestHost,
    RequestHeader(String),
}

impl Extractor {
    /// `client.ip`, `request.host` or `request.header.NAME` (Traefik's names, any case).
    pub fn parse(text: &str) -> Option<Extractor> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        match lower.as_str() {
            "client.ip" => Some(Extractor::ClientIp),
            "request.host" => Some(Extractor::RequestHost),
            _ => {
                let name = lower
                    .strip_prefix("request.header.")
                    .map(|_| &t["request.header.".len()..])?;
                (!name.is_empty()).then(|| Extractor::RequestHeader(name.to_string()))
            }
        }
    }
}

impl From<Extractor> for String {
    fn from(e: Extractor) -> String {
        match e {
            Extractor::ClientIp => "client.ip".into(),
            Extractor::ClientIpBy(s) => format!(
                "client.ip (ipStrategy depth {}{})",
                s.depth,
                if s.excluded_ips.is_empty() {
                    String::new()
                } else {
                    format!(", excluding {}", s.excluded_ips.join(" "))
                }
            ),
            Extractor::RequestHost => "request.host".into(),
            Extractor::RequestHeader(h) => format!("request.header.{h}"),
        }
    }
}

/// `rateLimit`: every named rate must allow the request (token buckets per extracted key).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub extractor_func: Extractor,
    pub rate_set: BTreeMap<String, Rate>,
}

/// `average` requests per `period` on average, bursts of up to `burst`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    #[serde(serialize_with = "crate::dynamic::serialize_duration")]
    pub period: Duration,
    pub average: u64,
    pub burst: u64,
}

/// `maxconn`: at most `amount` requests in flight per extracted key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MaxConn {
    pub amount: u64,
    pub extractor_func: Extractor,
}

/// The keys of `auth.jwt`, as labels (`traefik.frontend.auth.jwt.KEY`) and TOML write them.
pub const JWT_OPTIONS: [&str; 8] = [
    "issuer",
    "audience",
    "algorithms",
    "secret",
    "publicKey",
    "jwksUrl",
    "jwksRefreshInterval",
    "claimsHeaders",
];

/// The keys of a backend's `buffering`.
pub const BUFFERING_OPTIONS: [&str; 5] = [
    "maxRequestBodyBytes",
    "memRequestBodyBytes",
    "maxResponseBodyBytes",
    "memResponseBodyBytes",
    "retryExpression",
];

/// The parts of a distinguished name `passTLSClientCert.infos.{subject,issuer}` can pass.
pub const CERT_NAME_OPTIONS: [&str; 7] = [
    "commonName",
    "country",
    "domainComponent",
    "locality",
    "organization",
    "province",
    "serialNumber",
];

/// The `headers.*` options as Traefik spells them in labels (TOML reads them without regard to
/// case): the one list both providers check keys against.
pub const HEADER_OPTIONS: [&str; 22] = [
    "customRequestHeaders",
    "customResponseHeaders",
    "allowedHosts",
    "hostsProxyHeaders",
    "SSLRedirect",
    "SSLTemporaryRedirect",
    "SSLHost",
    "SSLForceHost",
    "SSLProxyHeaders",
    "STSSeconds",
    "STSIncludeSubdomains",
    "STSPreload",
    "forceSTSHeader",
    "frameDeny",
    "customFrameOptionsValue",
    "contentTypeNosniff",
    "browserXSSFilter",
    "customBrowserXSSValue",
    "contentSecurityPolicy",
    "publicKey",
    "referrerPolicy",
    "isDevelopment",
];

/// `headers.*`: custom request/response headers and the secure-headers set (unrolled/secure).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Headers {
    #[serde(
        rename = "customRequestHeaders",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub custom_request_headers: BTreeMap<String, String>,
    #[serde(
        rename = "customResponseHeaders",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub custom_response_headers: BTreeMap<String, String>,
    #[serde(rename = "allowedHosts", skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    #[serde(rename = "hostsProxyHeaders", skip_serializing_if = "Vec::is_empty")]
    pub hosts_proxy_headers: Vec<String>,
    #[serde(rename = "SSLRedirect")]
    pub ssl_redirect: bool,
    #[serde(rename = "SSLTemporaryRedirect")]
    pub ssl_temporary_redirect: bool,
    #[serde(rename = "SSLHost", skip_serializing_if = "String::is_empty")]
    pub ssl_host: String,
    #[serde(rename = "SSLForceHost")]
    pub ssl_force_host: bool,
    #[serde(rename = "SSLProxyHeaders", skip_serializing_if = "BTreeMap::is_empty")]
    pub ssl_proxy_headers: BTreeMap<String, String>,
    #[serde(rename = "STSSeconds")]
    pub sts_seconds: u64,
    #[serde(rename = "STSIncludeSubdomains")]
    pub sts_include_subdomains: bool,
    #[serde(rename = "STSPreload")]
    pub sts_preload: bool,
    #[serde(rename = "forceSTSHeader")]
    pub force_sts_header: bool,
    #[serde(rename = "frameDeny")]
    pub frame_deny: bool,
    #[serde(
        rename = "customFrameOptionsValue",
        skip_serializing_if = "String::is_empty"
    )]
    pub custom_frame_options_value: String,
    #[serde(rename = "contentTypeNosniff")]
    pub content_type_nosniff: bool,
    #[serde(rename = "browserXssFilter")]
    pub browser_xss_filter: bool,
    #[serde(
        rename = "customBrowserXSSValue",
        skip_serializing_if = "String::is_empty"
    )]
    pub custom_browser_xss_value: String,
    #[serde(
        rename = "contentSecurityPolicy",
        skip_serializing_if = "String::is_empty"
    )]
    pub content_security_policy: String,
    #[serde(rename = "publicKey", skip_serializing_if = "String::is_empty")]
    pub public_key: String,
    #[serde(rename = "referrerPolicy", skip_serializing_if = "String::is_empty")]
    pub referrer_policy: String,
    #[serde(rename = "isDevelopment")]
    pub is_development: bool,
    /// Traefik 2.x/3.x's newer policy headers.
    #[serde(flatten)]
    pub policies: HeaderPolicies,
    /// Traefik 2.x/3.x's CORS options (`accessControl*`, `addVaryHeader`).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub cors: Option<Cors>,
}

/// `permissionsPolicy`, `featurePolicy` (deprecated in Traefik, still sent) and
/// `contentSecurityPolicyReportOnly`: response headers of the same names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderPolicies {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub permissions_policy: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub feature_policy: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub content_security_policy_report_only: String,
}

/// A 2.x/3.x `compress` middleware's options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Compress {
    /// Media types (`text/event-stream`) never compressed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_content_types: Vec<String>,
    /// When set, only these media types are compressed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub included_content_types: Vec<String>,
    /// Bodies known to be shorter are sent as they are (`None`: Traefik's 1024).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_response_body_bytes: Option<u64>,
    /// The encoding for requests without `Accept-Encoding` (or with `*` alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_encoding: Option<String>,
    /// The encodings offered, `gzip` and `br` (empty: both).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub encodings: Vec<String>,
}

/// CORS: preflight requests answered, and the allowed origin echoed on responses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    pub access_control_allow_credentials: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_headers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_methods: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_allow_origin_list_regex: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub access_control_expose_headers: Vec<String>,
    /// Seconds; `None`: no `Access-Control-Max-Age`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_control_max_age: Option<u64>,
    pub add_vary_header: bool,
}

impl Headers {
    pub fn has_custom(&self) -> bool {
        !self.custom_request_headers.is_empty() || !self.custom_response_headers.is_empty()
    }

    /// Whether any secure-header option is set.
    pub fn has_secure(&self) -> bool {
        let plain = Headers {
            custom_request_headers: self.custom_request_headers.clone(),
            custom_response_headers: self.custom_response_headers.clone(),
            is_development: self.is_development,
            ..Headers::default()
        };
        *self != plain
    }

    pub fn is_empty(&self) -> bool {
        *self == Headers::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extractors_parse_traefik_names() {
        assert_eq!(Extractor::parse("client.ip"), Some(Extractor::ClientIp));
        assert_eq!(
            Extractor::parse("Request.Host"),
            Some(Extractor::RequestHost)
        );
        assert_eq!(
            Extractor::parse("request.header.X-Api-Key"),
            Some(Extractor::RequestHeader("X-Api-Key".into()))
        );
        assert_eq!(Extractor::parse("request.header."), None);
        assert_eq!(Extractor::parse("client.port"), None);
    }

    #[test]
    fn users_serialise_by_name_only() {
        let a = Auth {
            header_field: None,
            kind: AuthKind::Basic(UsersAuth {
                users: vec!["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/".into()],
                users_file: None,
                remove_header: false,
                realm: None,
            }),
        };
        let json = serde_json::to_string(&a).expect("serialises");
        assert_eq!(json, r#"{"basic":{"users":["test"],"removeHeader":false}}"#);
    }

    #[test]
    fn names_follow_the_running_order() {
        let m = FrontendMiddlewares {
            white_list: Some(WhiteList {
                source_range: vec!["10.0.0.0/8".into()],
                use_x_forwarded_for: false,
                ip_strategy: None,
                reject_status_code: None,
            }),
            headers: Some(Headers {
                frame_deny: true,
                ..Headers::default()
            }),
            pass_tls_client_cert: Some(PassTlsClientCert::default()),
            auth: None,
            rate_limit: None,
        };
        assert_eq!(
            m.names(),
            ["whiteList", "secureHeaders", "passTLSClientCert"]
        );
    }
}
