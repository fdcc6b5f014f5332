//! Option trees → 2.x/3.x middlewares, routers and load-balancer settings (pure). The same
//! builders serve labels and files; every error names the option where it is written.

use std::collections::BTreeMap;

use model::dynamic::{HealthCheck, Stickiness};
use model::http::{AuthMiddleware, Middleware, Router, RouterTls, TlsDomain};
use model::middleware::{
    Auth, AuthKind, ClientTls, Extractor, ForwardAuth, Headers, Rate, RateLimit, UsersAuth,
    WhiteList,
};
use model::rules::Syntax;

use config::tree::{Entry, Node, OptionError, Tree};

/// Middleware types of Traefik 3 that portier does not run yet: refused by name, so a router
/// that names one answers 503 rather than run without it.
const NOT_YET: &[&str] = &["plugin"];

/// The options of `headers` portier runs (Traefik's names).
const HEADERS: &[&str] = &[
    "customRequestHeaders",
    "customResponseHeaders",
    "allowedHosts",
    "hostsProxyHeaders",
    "sslRedirect",
    "sslTemporaryRedirect",
    "sslHost",
    "sslForceHost",
    "sslProxyHeaders",
    "stsSeconds",
    "stsIncludeSubdomains",
    "stsPreload",
    "forceSTSHeader",
    "frameDeny",
    "customFrameOptionsValue",
    "contentTypeNosniff",
    "browserXssFilter",
    "customBrowserXSSValue",
    "contentSecurityPolicy",
    "publicKey",
    "referrerPolicy",
    "isDevelopment",
];

/// `headers`' CORS options.
const HEADERS_CORS: &[&str] = &[
    "accessControlAllowCredentials",
    "accessControlAllowHeaders",
    "accessControlAllowMethods",
    "accessControlAllowOriginList",
    "accessControlAllowOriginListRegex",
    "accessControlExposeHeaders",
    "accessControlMaxAge",
    "addVaryHeader",
];

/// `headers`' newer policy options.
const HEADERS_POLICIES: &[&str] = &[
    "contentSecurityPolicyReportOnly",
    "featurePolicy",
    "permissionsPolicy",
];

/// One middleware: `entry` is its type (`stripPrefix`) holding its options.
pub(crate) fn middleware(entry: &Entry) -> Result<Middleware, OptionError> {
    let kind = entry.name.as_str();
    let empty = Tree::default();
    let t = match &entry.node {
        Node::Tree(t) => t,
        Node::Text(v) if v.eq_ignore_ascii_case("true") => &empty,
        _ => {
            return Err(OptionError::new(
                &entry.at,
                format!("{kind} takes options ({kind}.OPTION=…)"),
            ));
        }
    };
    let at = entry.at.as_str();
    let lower = kind.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "addprefix" => {
            t.only(&["prefix"], kind)?;
            Middleware::AddPrefix {
                prefix: t.required("prefix", at)?.to_string(),
            }
        }
        "stripprefix" => {
            t.only(&["prefixes", "forceSlash"], kind)?;
            t.bool("forceSlash")?;
            Middleware::StripPrefix {
                prefixes: non_empty(t.list("prefixes")?, "prefixes", at)?,
            }
        }
        "stripprefixregex" => {
            t.only(&["regex"], kind)?;
            Middleware::StripPrefixRegex {
                regex: non_empty(t.list("regex")?, "regex", at)?,
            }
        }
        "replacepath" => {
            t.only(&["path"], kind)?;
            Middleware::ReplacePath {
                path: t.required("path", at)?.to_string(),
            }
        }
        "replacepathregex" => {
            t.only(&["regex", "replacement"], kind)?;
            Middleware::ReplacePathRegex {
                regex: t.required("regex", at)?.to_string(),
                replacement: t.text("replacement")?.unwrap_or_default().to_string(),
            }
        }
        "basicauth" | "digestauth" => users_auth(t, kind, at, lower == "basicauth")?,
        "forwardauth" => forward_auth(t, kind, at)?,
        "ipallowlist" | "ipwhitelist" => {
            t.only(&["sourceRange", "ipStrategy", "rejectStatusCode"], kind)?;
            let reject_status_code = match t.u64("rejectStatusCode")? {
                None => None,
                Some(c) if (100..=599).contains(&c) => Some(c as u16),
                Some(c) => {
                    return Err(at_error(
                        t,
                        "rejectStatusCode",
                        format!("{c} is not an HTTP status"),
                    ));
                }
            };
            Middleware::IpAllowList(WhiteList {
                source_range: non_empty(t.list("sourceRange")?, "sourceRange", at)?,
                use_x_forwarded_for: false,
                ip_strategy: t.tree("ipStrategy")?.map(ip_strategy).transpose()?,
                reject_status_code,
            })
        }
        "headers" => Middleware::Headers(Box::new(headers(t, kind)?)),
        "ratelimit" => rate_limit(t, kind)?,
        "redirectscheme" => {
            t.only(&["scheme", "port", "permanent"], kind)?;
            Middleware::RedirectScheme {
                scheme: t.required("scheme", at)?.to_ascii_lowercase(),
                port: t.text("port")?.unwrap_or_default().to_string(),
                permanent: t.bool("permanent")?.unwrap_or(false),
            }
        }
        "redirectregex" => {
            t.only(&["regex", "replacement", "permanent"], kind)?;
            Middleware::RedirectRegex {
                regex: t.required("regex", at)?.to_string(),
                replacement: t.required("replacement", at)?.to_string(),
                permanent: t.bool("permanent")?.unwrap_or(false),
            }
        }
        "chain" => {
            t.only(&["middlewares"], kind)?;
            Middleware::Chain {
                middlewares: non_empty(t.list("middlewares")?, "middlewares", at)?,
            }
        }
        "buffering" => {
            t.only(&model::middleware::BUFFERING_OPTIONS, kind)?;
            let n = |k: &str| t.u64(k).map(|v| v.unwrap_or(0));
            let retry_expression = t.text("retryExpression")?.unwrap_or_default().to_string();
            if !retry_expression.trim().is_empty() {
                if let Err(e) = middleware::RetryCondition::compile(&retry_expression) {
                    return Err(at_error(t, "retryExpression", e.to_string()));
                }
            }
            Middleware::Buffering(model::middleware::Buffering {
                max_request_body_bytes: n("maxRequestBodyBytes")?,
                mem_request_body_bytes: n("memRequestBodyBytes")?,
                max_response_body_bytes: n("maxResponseBodyBytes")?,
                mem_response_body_bytes: n("memResponseBodyBytes")?,
                retry_expression,
            })
        }
        "circuitbreaker" => {
            t.only(
                &[
                    "expression",
                    "checkPeriod",
                    "fallbackDuration",
                    "recoveryDuration",
                    "responseCode",
                ],
                kind,
            )?;
            let response_code = match t.u64("responseCode")? {
                None => None,
                Some(c) if (200..=599).contains(&c) => Some(c as u16),
                Some(c) => {
                    return Err(at_error(
                        t,
                        "responseCode",
                        format!("{c} is not an HTTP status"),
                    ));
                }
            };
            let nonzero = |k: &str| -> Result<Option<std::time::Duration>, OptionError> {
                Ok(t.duration(k)?.filter(|d| !d.is_zero()))
            };
            let options = model::dynamic::BreakerOptions {
                check_period: nonzero("checkPeriod")?,
                fallback_duration: nonzero("fallbackDuration")?,
                recovery_duration: nonzero("recoveryDuration")?,
                response_code,
            };
            let expression = t.required("expression", at)?;
            if let Err(e) = middleware::Breaker::compile(expression, std::time::Instant::now()) {
                return Err(at_error(t, "expression", e.to_string()));
            }
            Middleware::CircuitBreaker(model::dynamic::CircuitBreaker {
                expression: expression.to_string(),
                options,
            })
        }
        "inflightreq" => {
            t.only(&["amount", "sourceCriterion"], kind)?;
            let amount = t.u64("amount")?.unwrap_or(0);
            if amount == 0 {
                return Err(OptionError::new(at, "amount is required (more than 0)"));
            }
            Middleware::InFlightReq(model::middleware::MaxConn {
                amount,
                extractor_func: source_criterion(t)?,
            })
        }
        "passtlsclientcert" => Middleware::PassTlsClientCert(pass_tls_client_cert(t, kind)?),
        "compress" => Middleware::Compress(compress(t, kind)?),
        "grpcweb" => {
            t.only(&["allowOrigins"], kind)?;
            Middleware::GrpcWeb {
                allow_origins: t.list("allowOrigins")?,
            }
        }
        "contenttype" => {
            // `autoDetect` is deprecated in Traefik 3: `false` turns the middleware off.
            t.only(&["autoDetect"], kind)?;
            Middleware::ContentType {
                auto_detect: t.bool("autoDetect")?.unwrap_or(true),
            }
        }
        "retry" => {
            t.only(&["attempts", "initialInterval"], kind)?;
            let attempts = t.u64("attempts")?.unwrap_or(0);
            if attempts == 0 {
                return Err(OptionError::new(at, "attempts is required (more than 0)"));
            }
            Middleware::Retry {
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                initial_interval: t.duration("initialInterval")?.filter(|d| !d.is_zero()),
            }
        }
        "errors" => {
            t.only(&["status", "service", "query", "statusRewrites"], kind)?;
            not_yet(t, &["statusRewrites"], kind)?;
            Middleware::Errors {
                status: non_empty(t.list("status")?, "status", at)?,
                service: t.required("service", at)?.to_string(),
                query: t.text("query")?.unwrap_or("/").to_string(),
            }
        }
        _ => {
            if let Some(name) = NOT_YET.iter().find(|n| n.eq_ignore_ascii_case(kind)) {
                return Err(OptionError::new(
                    at,
                    format!("middleware type {name} is not supported by portier yet"),
                ));
            }
            return Err(OptionError::new(
                at,
                format!(
                    "unknown middleware type {kind:?}{}",
                    config::did_you_mean(kind, KNOWN.iter().copied())
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default()
                ),
            ));
        }
    })
}

/// `compress`'s options; `zstd` (which portier does not encode) may be listed beside the
/// others, never alone, and is never chosen.
fn compress(t: &Tree, kind: &str) -> Result<model::middleware::Compress, OptionError> {
    t.only(
        &[
            "excludedContentTypes",
            "includedContentTypes",
            "minResponseBodyBytes",
            "defaultEncoding",
            "encodings",
        ],
        kind,
    )?;
    let excluded = t.list("excludedContentTypes")?;
    let included = t.list("includedContentTypes")?;
    if !excluded.is_empty() && !included.is_empty() {
        return Err(at_error(
            t,
            "includedContentTypes",
            "excludedContentTypes and includedContentTypes cannot both be set (as in Traefik)"
                .into(),
        ));
    }
    let known = |e: &str| matches!(e, "gzip" | "br" | "zstd");
    let encodings: Vec<String> = (t.list("encodings")?.iter())
        .map(|e| e.trim().to_ascii_lowercase())
        .collect();
    if let Some(bad) = encodings.iter().find(|e| !known(e)) {
        return Err(at_error(
            t,
            "encodings",
            format!("encoding {bad:?}: expected gzip, br or zstd"),
        ));
    }
    let served: Vec<String> = encodings.into_iter().filter(|e| e != "zstd").collect();
    if t.get("encodings").is_some() && served.is_empty() {
        return Err(at_error(
            t,
            "encodings",
            "zstd alone: portier encodes gzip and br only (not zstd yet)".into(),
        ));
    }
    let default_encoding = match t.text("defaultEncoding")? {
        None => None,
        Some(e) if matches!(e.to_ascii_lowercase().as_str(), "gzip" | "br") => {
            Some(e.to_ascii_lowercase())
        }
        Some(e) => {
            return Err(at_error(
                t,
                "defaultEncoding",
                format!("defaultEncoding {e:?}: portier encodes gzip or br"),
            ));
        }
    };
    Ok(model::middleware::Compress {
        excluded_content_types: excluded,
        included_content_types: included,
        min_response_body_bytes: t.u64("minResponseBodyBytes")?,
        default_encoding,
        encodings: served,
    })
}

/// Every middleware type name portier knows (run or refused), for "did you mean".
const KNOWN: &[&str] = &[
    "addPrefix",
    "stripPrefix",
    "stripPrefixRegex",
    "replacePath",
    "replacePathRegex",
    "basicAuth",
    "digestAuth",
    "forwardAuth",
    "ipAllowList",
    "ipWhiteList",
    "headers",
    "rateLimit",
    "redirectScheme",
    "redirectRegex",
    "chain",
    "errors",
    "buffering",
    "circuitBreaker",
    "compress",
    "contentType",
    "grpcWeb",
    "inFlightReq",
    "passTLSClientCert",
    "retry",
];

fn non_empty(list: Vec<String>, key: &str, at: &str) -> Result<Vec<String>, OptionError> {
    if list.is_empty() {
        return Err(OptionError::new(at, format!("{key} is required")));
    }
    Ok(list)
}

/// Options Traefik has that portier refuses while it does not run them.
fn not_yet(t: &Tree, keys: &[&str], kind: &str) -> Result<(), OptionError> {
    match keys.iter().find(|k| t.get(k).is_some()) {
        Some(k) => Err(not_yet_at(t, k, kind)),
        None => Ok(()),
    }
}

fn not_yet_at(t: &Tree, key: &str, kind: &str) -> OptionError {
    let at = t.get(key).map_or(key, |e| e.at.as_str());
    OptionError::new(at, format!("{kind}.{key} is not supported by portier yet"))
}

fn users_auth(t: &Tree, kind: &str, at: &str, basic: bool) -> Result<Middleware, OptionError> {
    t.only(
        &["users", "usersFile", "realm", "removeHeader", "headerField"],
        kind,
    )?;
    let users_file = t.text("usersFile")?.map(str::to_string);
    let listed = t.list("users")?;
    let users = UsersAuth {
        users: if users_file.is_some() {
            listed
        } else {
            non_empty(listed, "users", at)?
        },
        users_file,
        remove_header: t.bool("removeHeader")?.unwrap_or(false),
        realm: t.text("realm")?.map(str::to_string),
    };
    Ok(Middleware::Auth(Box::new(AuthMiddleware(Auth {
        header_field: t.text("headerField")?.map(str::to_string),
        kind: if basic {
            AuthKind::Basic(users)
        } else {
            AuthKind::Digest(users)
        },
    }))))
}

fn forward_auth(t: &Tree, kind: &str, at: &str) -> Result<Middleware, OptionError> {
    let later = ["forwardBody", "maxBodySize"];
    let mut known = vec![
        "address",
        "trustForwardHeader",
        "authResponseHeaders",
        "tls",
        "headerField",
        "authResponseHeadersRegex",
        "authRequestHeaders",
        "addAuthCookiesToResponse",
        "maxResponseBodySize",
        "preserveLocationHeader",
        "preserveRequestMethod",
        "authSigninURL",
    ];
    known.extend(later);
    t.only(&known, kind)?;
    not_yet(t, &later, kind)?;
    let tls = match t.tree("tls")? {
        None => None,
        Some(tls) => {
            tls.only(
                &["ca", "caOptional", "cert", "key", "insecureSkipVerify"],
                "forwardAuth.tls",
            )?;
            Some(ClientTls {
                ca: tls.text("ca")?.map(str::to_string),
                ca_optional: tls.bool("caOptional")?.unwrap_or(false),
                cert: tls.text("cert")?.map(str::to_string),
                key: tls.text("key")?.map(str::to_string),
                insecure_skip_verify: tls.bool("insecureSkipVerify")?.unwrap_or(false),
            })
        }
    };
    Ok(Middleware::Auth(Box::new(AuthMiddleware(Auth {
        header_field: t.text("headerField")?.map(str::to_string),
        kind: AuthKind::Forward(ForwardAuth {
            address: t.required("address", at)?.to_string(),
            trust_forward_header: t.bool("trustForwardHeader")?.unwrap_or(false),
            auth_response_headers: t.list("authResponseHeaders")?,
            tls,
            options: model::middleware::ForwardAuthOptions {
                auth_request_headers: t.list("authRequestHeaders")?,
                auth_response_headers_regex: t
                    .text("authResponseHeadersRegex")?
                    .unwrap_or_default()
                    .to_string(),
                add_auth_cookies_to_response: t.list("addAuthCookiesToResponse")?,
                // Traefik's -1 (and any negative) is no limit: portier keeps its 1 MiB then.
                max_response_body_size: t
                    .i64("maxResponseBodySize")?
                    .and_then(|n| u64::try_from(n).ok()),
                preserve_location_header: t.bool("preserveLocationHeader")?.unwrap_or(false),
                preserve_request_method: t.bool("preserveRequestMethod")?.unwrap_or(false),
                auth_signin_url: t.text("authSigninURL")?.unwrap_or_default().to_string(),
            },
        }),
    }))))
}

fn headers(t: &Tree, kind: &str) -> Result<Headers, OptionError> {
    let mut known = HEADERS.to_vec();
    known.extend(HEADERS_CORS);
    known.extend(HEADERS_POLICIES);
    t.only(&known, kind)?;
    let flag = |k: &str| t.bool(k).map(|b| b.unwrap_or(false));
    let text = |k: &str| t.text(k).map(|s| s.unwrap_or_default().to_string());
    Ok(Headers {
        custom_request_headers: t.map("customRequestHeaders")?,
        custom_response_headers: t.map("customResponseHeaders")?,
        allowed_hosts: t.list("allowedHosts")?,
        hosts_proxy_headers: t.list("hostsProxyHeaders")?,
        ssl_redirect: flag("sslRedirect")?,
        ssl_temporary_redirect: flag("sslTemporaryRedirect")?,
        ssl_host: text("sslHost")?,
        ssl_force_host: flag("sslForceHost")?,
        ssl_proxy_headers: t.map("sslProxyHeaders")?,
        sts_seconds: t.u64("stsSeconds")?.unwrap_or(0),
        sts_include_subdomains: flag("stsIncludeSubdomains")?,
        sts_preload: flag("stsPreload")?,
        force_sts_header: flag("forceSTSHeader")?,
        frame_deny: flag("frameDeny")?,
        custom_frame_options_value: text("customFrameOptionsValue")?,
        content_type_nosniff: flag("contentTypeNosniff")?,
        browser_xss_filter: flag("browserXssFilter")?,
        custom_browser_xss_value: text("customBrowserXSSValue")?,
        content_security_policy: text("contentSecurityPolicy")?,
        public_key: text("publicKey")?,
        referrer_policy: text("referrerPolicy")?,
        is_development: flag("isDevelopment")?,
        policies: model::middleware::HeaderPolicies {
            permissions_policy: text("permissionsPolicy")?,
            feature_policy: text("featurePolicy")?,
            content_security_policy_report_only: text("contentSecurityPolicyReportOnly")?,
        },
        cors: cors(t)?,
    })
}

fn cors(t: &Tree) -> Result<Option<model::middleware::Cors>, OptionError> {
    if !HEADERS_CORS.iter().any(|k| t.get(k).is_some()) {
        return Ok(None);
    }
    Ok(Some(model::middleware::Cors {
        access_control_allow_credentials: t.bool("accessControlAllowCredentials")?.unwrap_or(false),
        access_control_allow_headers: t.list("accessControlAllowHeaders")?,
        access_control_allow_methods: t.list("accessControlAllowMethods")?,
        access_control_allow_origin_list: t.list("accessControlAllowOriginList")?,
        access_control_allow_origin_list_regex: t.list("accessControlAllowOriginListRegex")?,
        access_control_expose_headers: t.list("accessControlExposeHeaders")?,
        access_control_max_age: t.u64("accessControlMaxAge")?,
        add_vary_header: t.bool("addVaryHeader")?.unwrap_or(false),
    }))
}

fn at_error(t: &Tree, key: &str, message: String) -> OptionError {
    let at = t.get(key).map_or(key, |e| e.at.as_str());
    OptionError::new(at, message)
}

/// `sourceCriterion` of rateLimit and inFlightReq: the client's address (default), a request
/// header, or the request's host.
fn source_criterion(t: &Tree) -> Result<Extractor, OptionError> {
    Ok(match t.tree("sourceCriterion")? {
        None => Extractor::ClientIp,
        Some(sc) => {
            sc.only(
                &["ipStrategy", "requestHeaderName", "requestHost"],
                "sourceCriterion",
            )?;
            match (
                sc.text("requestHeaderName")?,
                sc.bool("requestHost")?,
                sc.tree("ipStrategy")?,
            ) {
                (Some(h), _, _) if !h.is_empty() => Extractor::RequestHeader(h.to_string()),
                (_, Some(true), _) => Extractor::RequestHost,
                (_, _, Some(s)) => Extractor::ClientIpBy(ip_strategy(s)?),
                _ => Extractor::ClientIp,
            }
        }
    })
}

/// `ipStrategy`: `depth`, or `excludedIPs` (checked now), and `ipv6Subnet` (0–128).
fn ip_strategy(t: &Tree) -> Result<model::middleware::IpStrategy, OptionError> {
    t.only(&["depth", "excludedIPs", "ipv6Subnet"], "ipStrategy")?;
    let ipv6_subnet = match t.u64("ipv6Subnet")? {
        None => None,
        Some(n) if n <= 128 => Some(n as u8),
        Some(n) => {
            return Err(at_error(
                t,
                "ipv6Subnet",
                format!("{n}: a prefix length is 0 to 128"),
            ));
        }
    };
    let excluded = t.list("excludedIPs")?;
    if let Err(e) = middleware::parse_ranges(&excluded) {
        return Err(at_error(t, "excludedIPs", e.to_string()));
    }
    Ok(model::middleware::IpStrategy {
        depth: u32::try_from(t.u64("depth")?.unwrap_or(0))
            .map_err(|_| at_error(t, "depth", "too large".into()))?,
        excluded_ips: excluded,
        ipv6_subnet,
    })
}

/// `passTLSClientCert`: `pem`, and `info` with the fields Traefik 1.7 already passed.
fn pass_tls_client_cert(
    t: &Tree,
    kind: &str,
) -> Result<model::middleware::PassTlsClientCert, OptionError> {
    use model::middleware::{CertInfos, NameInfos};
    t.only(&["pem", "info"], kind)?;
    let infos = match t.tree("info")? {
        None => None,
        Some(i) => {
            i.only(
                &[
                    "notAfter",
                    "notBefore",
                    "sans",
                    "subject",
                    "issuer",
                    "serialNumber",
                ],
                "passTLSClientCert.info",
            )?;
            let name = |key: &str| -> Result<Option<NameInfos>, OptionError> {
                let Some(n) = i.tree(key)? else {
                    return Ok(None);
                };
                let mut known = model::middleware::CERT_NAME_OPTIONS.to_vec();
                known.push("organizationalUnit");
                n.only(&known, key)?;
                let f = |k: &str| n.bool(k).map(|b| b.unwrap_or(false));
                Ok(Some(NameInfos {
                    common_name: f("commonName")?,
                    country: f("country")?,
                    domain_component: f("domainComponent")?,
                    locality: f("locality")?,
                    organization: f("organization")?,
                    province: f("province")?,
                    serial_number: f("serialNumber")?,
                    organizational_unit: f("organizationalUnit")?,
                }))
            };
            Some(CertInfos {
                not_after: i.bool("notAfter")?.unwrap_or(false),
                not_before: i.bool("notBefore")?.unwrap_or(false),
                sans: i.bool("sans")?.unwrap_or(false),
                subject: name("subject")?,
                issuer: name("issuer")?,
                serial_number: i.bool("serialNumber")?.unwrap_or(false),
                quoted: true,
            })
        }
    };
    Ok(model::middleware::PassTlsClientCert {
        pem: t.bool("pem")?.unwrap_or(false),
        infos,
    })
}

fn rate_limit(t: &Tree, kind: &str) -> Result<Middleware, OptionError> {
    t.only(&["average", "period", "burst", "sourceCriterion"], kind)?;
    let extractor = source_criterion(t)?;
    let average = t.u64("average")?.unwrap_or(0);
    let mut rate_set = BTreeMap::new();
    // Traefik: an average of 0 limits nothing.
    if average > 0 {
        rate_set.insert(
            "default".to_string(),
            Rate {
                period: t
                    .duration("period")?
                    .unwrap_or(std::time::Duration::from_secs(1)),
                average,
                burst: t.u64("burst")?.unwrap_or(1).max(1),
            },
        );
    }
    Ok(Middleware::RateLimit(RateLimit {
        extractor_func: extractor,
        rate_set,
    }))
}

/// A router's options (below `routers.NAME`).
pub(crate) fn router(t: &Tree, at: &str) -> Result<Router, OptionError> {
    t.only(
        &[
            "rule",
            "ruleSyntax",
            "entryPoints",
            "middlewares",
            "service",
            "priority",
            "tls",
            "observability",
        ],
        "a router",
    )?;
    not_yet(t, &["observability"], "router")?;
    let rule_syntax = rule_syntax(t, at)?;
    let tls = match t.get("tls").map(|e| &e.node) {
        None => None,
        Some(Node::Text(_)) => t
            .bool("tls")?
            .filter(|on| *on)
            .map(|_| RouterTls::default()),
        Some(_) => Some(router_tls(t.tree("tls")?.unwrap_or(&Tree::default()))?),
    };
    Ok(Router {
        source: None,
        entry_points: t.list("entryPoints")?,
        middlewares: t.list("middlewares")?,
        service: t.text("service")?.unwrap_or_default().to_string(),
        rule: t.text("rule")?.unwrap_or_default().to_string(),
        rule_syntax,
        priority: t.i64("priority")?.unwrap_or(0),
        tls,
    })
}

/// A router's `ruleSyntax` (`v2`, `v3`); `None`: the default.
pub(crate) fn rule_syntax(t: &Tree, at: &str) -> Result<Option<Syntax>, OptionError> {
    match t.text("ruleSyntax")? {
        None => Ok(None),
        Some(s) => Syntax::parse(s).map(Some).ok_or_else(|| {
            let at = t.get("ruleSyntax").map_or(at, |e| e.at.as_str());
            OptionError::new(at, format!("value {s:?}: expected v2 or v3"))
        }),
    }
}

fn router_tls(t: &Tree) -> Result<RouterTls, OptionError> {
    let mut domains = BTreeMap::new();
    for e in t.entries() {
        let lower = e.name.to_ascii_lowercase();
        if let Some(index) = lower
            .strip_prefix("domains[")
            .and_then(|r| r.strip_suffix(']'))
        {
            let n: usize = index
                .parse()
                .map_err(|_| OptionError::new(&e.at, "expected domains[N] with a number N"))?;
            let Node::Tree(d) = &e.node else {
                return Err(OptionError::new(
                    &e.at,
                    "expected domains[N].main and .sans",
                ));
            };
            d.only(&["main", "sans"], "tls.domains[N]")?;
            domains.insert(
                n,
                TlsDomain {
                    main: d.text("main")?.unwrap_or_default().to_string(),
                    sans: d.list("sans")?,
                },
            );
        } else if !["certresolver", "options"].contains(&lower.as_str()) {
            return Err(OptionError::new(
                &e.at,
                format!(
                    "unknown option {:?} of tls; known: certResolver, options, domains[N].main, domains[N].sans",
                    e.name
                ),
            ));
        }
    }
    Ok(RouterTls {
        cert_resolver: t.text("certResolver")?.unwrap_or_default().to_string(),
        options: t.text("options")?.unwrap_or_default().to_string(),
        domains: domains.into_values().collect(),
    })
}

/// A load balancer's options as labels give them (below `services.NAME.loadBalancer`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LoadBalancerOptions {
    pub(crate) port: Option<u16>,
    pub(crate) scheme: String,
    pub(crate) weight: Option<i64>,
    pub(crate) pass_host_header: bool,
    pub(crate) health_check: Option<HealthCheck>,
    pub(crate) stickiness: Option<Stickiness>,
    pub(crate) flush_interval: Option<std::time::Duration>,
}

pub(crate) fn load_balancer(t: &Tree, at: &str) -> Result<LoadBalancerOptions, OptionError> {
    let later = ["serversTransport", "strategy"];
    let mut known = vec![
        "server",
        "passHostHeader",
        "healthCheck",
        "sticky",
        "responseForwarding",
    ];
    known.extend(later);
    t.only(&known, "loadBalancer")?;
    if let Some(s) = t.text("strategy")? {
        if !s.eq_ignore_ascii_case("wrr") {
            return Err(not_yet_at(t, "strategy", "loadBalancer"));
        }
    }
    not_yet(t, &["serversTransport"], "loadBalancer")?;
    let empty = Tree::default();
    let server = t.tree("server")?.unwrap_or(&empty);
    server.only(&["port", "scheme", "weight", "url"], "loadBalancer.server")?;
    not_yet(server, &["url"], "loadBalancer.server")?;
    let port = match server.u64("port")? {
        None => None,
        Some(p) => Some(u16::try_from(p).ok().filter(|p| *p > 0).ok_or_else(|| {
            let at = server.get("port").map_or(at, |e| e.at.as_str());
            OptionError::new(at, format!("value {p}: not a port number (1-65535)"))
        })?),
    };
    let scheme = server
        .text("scheme")?
        .unwrap_or("http")
        .to_ascii_lowercase();
    if !["http", "https", "h2c"].contains(&scheme.as_str()) {
        let at = server.get("scheme").map_or(at, |e| e.at.as_str());
        return Err(OptionError::new(
            at,
            format!("value {scheme:?}: expected http, https or h2c"),
        ));
    }
    let flush_interval = match t.tree("responseForwarding")? {
        None => None,
        Some(rf) => {
            rf.only(&["flushInterval"], "loadBalancer.responseForwarding")?;
            rf.duration("flushInterval")?
        }
    };
    Ok(LoadBalancerOptions {
        port,
        scheme,
        weight: server.i64("weight")?,
        pass_host_header: t.bool("passHostHeader")?.unwrap_or(true),
        health_check: t.tree("healthCheck")?.map(health_check).transpose()?,
        stickiness: sticky(t)?,
        flush_interval,
    })
}

fn health_check(t: &Tree) -> Result<HealthCheck, OptionError> {
    let known = [
        "path",
        "interval",
        "port",
        "hostname",
        "headers",
        "timeout",
        "scheme",
        "followRedirects",
        "method",
        "status",
        "mode",
        "unhealthyInterval",
    ];
    t.only(&known, "healthCheck")?;
    if let Some(mode) = t.text("mode")? {
        if !mode.eq_ignore_ascii_case("http") {
            return Err(at_error(
                t,
                "mode",
                format!(
                    "mode {mode:?}: portier runs HTTP health checks only (gRPC checks not yet)"
                ),
            ));
        }
    }
    let scheme = match t.text("scheme")? {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {
            Some(s.to_ascii_lowercase())
        }
        Some(s) => {
            return Err(at_error(
                t,
                "scheme",
                format!("scheme {s:?}: expected http or https"),
            ));
        }
    };
    let method = match t.text("method")? {
        None => None,
        Some(m) => {
            let m = m.to_ascii_uppercase();
            if http::Method::from_bytes(m.as_bytes()).is_err() {
                return Err(at_error(
                    t,
                    "method",
                    format!("method {m:?} is not an HTTP method"),
                ));
            }
            Some(m)
        }
    };
    let status = match t.u64("status")? {
        None | Some(0) => None,
        Some(s) if (100..=599).contains(&s) => Some(s as u16),
        Some(s) => {
            return Err(at_error(
                t,
                "status",
                format!("status {s}: not an HTTP status"),
            ));
        }
    };
    let options = model::dynamic::HealthCheckOptions {
        timeout: t.duration("timeout")?,
        scheme,
        method,
        status,
        no_follow_redirects: t.bool("followRedirects")? == Some(false),
        unhealthy_interval: t.duration("unhealthyInterval")?,
    };
    Ok(HealthCheck {
        options,
        path: t.text("path")?.unwrap_or("/").to_string(),
        interval: t
            .duration("interval")?
            .unwrap_or(model::dynamic::DEFAULT_HEALTHCHECK_INTERVAL),
        port: t
            .u64("port")?
            .map(|p| u16::try_from(p).unwrap_or(0))
            .filter(|p| *p > 0),
        hostname: t.text("hostname")?.map(str::to_string),
        headers: t.map("headers")?,
    })
}

/// `sticky.cookie` (`true`, or its name and attributes).
pub(crate) fn sticky(t: &Tree) -> Result<Option<Stickiness>, OptionError> {
    let Some(s) = t.tree("sticky")? else {
        return Ok(None);
    };
    s.only(&["cookie"], "loadBalancer.sticky")?;
    match s.get("cookie").map(|e| &e.node) {
        None => Ok(None),
        Some(Node::Text(_)) => Ok(s
            .bool("cookie")?
            .filter(|on| *on)
            .map(|_| Stickiness::default())),
        Some(_) => {
            let c = s.tree("cookie")?.unwrap_or(&Tree::default()).clone();
            c.only(
                &[
                    "name", "secure", "httpOnly", "sameSite", "maxAge", "path", "domain",
                ],
                "sticky.cookie",
            )?;
            for key in ["path", "domain"] {
                if let Some(v) = c.text(key)? {
                    if v.contains(';') || v.chars().any(char::is_control) {
                        return Err(at_error(
                            &c,
                            key,
                            format!("{key} {v:?} cannot be a cookie attribute"),
                        ));
                    }
                }
            }
            Ok(Some(Stickiness {
                cookie_name: c.text("name")?.unwrap_or_default().to_string(),
                secure: c.bool("secure")?.unwrap_or(false),
                http_only: c.bool("httpOnly")?.unwrap_or(false),
                same_site: c.text("sameSite")?.unwrap_or_default().to_string(),
                path: c.text("path")?.map(str::to_string),
                domain: c.text("domain")?.map(str::to_string),
                max_age: c.i64("maxAge")?.unwrap_or(0),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, pairs: &[(&str, &str)]) -> Entry {
        let mut t = Tree::default();
        for (k, v) in pairs {
            let path: Vec<&str> = k.split('.').collect();
            t.insert(&path, &format!("m.{kind}.{k}"), Node::Text(v.to_string()))
                .expect("inserts");
        }
        Entry {
            at: format!("m.{kind}"),
            name: kind.to_string(),
            node: Node::Tree(t),
        }
    }

    #[test]
    fn middlewares_read_traefik_options_in_any_case() {
        let m = middleware(&entry("stripprefix", &[("prefixes", "/api,/v1")])).expect("ok");
        assert_eq!(
            m,
            Middleware::StripPrefix {
                prefixes: vec!["/api".into(), "/v1".into()]
            }
        );
        let m = middleware(&entry(
            "redirectScheme",
            &[("scheme", "HTTPS"), ("permanent", "true")],
        ))
        .expect("ok");
        assert_eq!(
            m,
            Middleware::RedirectScheme {
                scheme: "https".into(),
                port: String::new(),
                permanent: true
            }
        );
        let m = middleware(&entry(
            "headers",
            &[
                ("customrequestheaders.X-Env", "prod"),
                ("framedeny", "true"),
                ("stsSeconds", "300"),
            ],
        ))
        .expect("ok");
        let Middleware::Headers(h) = m else {
            panic!("{m:?}")
        };
        assert_eq!(h.custom_request_headers["X-Env"], "prod");
        assert!(h.frame_deny);
        assert_eq!(h.sts_seconds, 300);
        let m = middleware(&entry("ratelimit", &[("average", "5"), ("burst", "10")])).expect("ok");
        let Middleware::RateLimit(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(r.rate_set["default"].average, 5);
        assert_eq!(r.rate_set["default"].burst, 10);
        assert_eq!(
            r.rate_set["default"].period,
            std::time::Duration::from_secs(1)
        );
        let m =
            middleware(&entry("basicauth", &[("users", "u:$apr1$x$y,v:$apr1$z$w")])).expect("ok");
        assert_eq!(m.type_name(), "basicAuth");
    }

    #[test]
    fn bad_and_unsupported_middlewares_are_refused_by_name() {
        /// (type, options, where the error is, what it says)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: &[Case] = &[
            (
                "stripprefix",
                &[("prefixs", "/a")],
                "m.stripprefix.prefixs",
                "did you mean prefixes?",
            ),
            ("stripprefix", &[], "m.stripprefix", "prefixes is required"),
            (
                "compress",
                &[("encodings", "zstd")],
                "m.compress.encodings",
                "zstd alone",
            ),
            (
                "stripprefx",
                &[("prefixes", "/a")],
                "m.stripprefx",
                "did you mean stripPrefix?",
            ),
            (
                "forwardauth",
                &[("address", "http://a"), ("forwardBody", "true")],
                "m.forwardauth.forwardBody",
                "not supported",
            ),
            (
                "ipallowlist",
                &[
                    ("sourcerange", "10.0.0.0/8"),
                    ("ipstrategy.ipv6subnet", "129"),
                ],
                "m.ipallowlist.ipstrategy.ipv6subnet",
                "a prefix length is 0 to 128",
            ),
            (
                "ratelimit",
                &[("average", "x")],
                "m.ratelimit.average",
                "not a whole number",
            ),
            (
                "errors",
                &[
                    ("status", "500"),
                    ("service", "s"),
                    ("statusRewrites.500", "503"),
                ],
                "m.errors.statusRewrites.500",
                "not supported",
            ),
        ];
        for (kind, pairs, at, says) in cases {
            let e = middleware(&entry(kind, pairs)).expect_err(kind);
            assert_eq!(e.at, *at, "{kind}: {}", e.message);
            assert!(e.message.contains(says), "{kind}: {}", e.message);
        }
    }

    #[test]
    fn routers_and_load_balancers_read_their_options() {
        let mut t = Tree::default();
        for (k, v) in [
            ("rule", "Host(`a.com`)"),
            ("entrypoints", "web, websecure"),
            ("middlewares", "strip,auth@file"),
            ("priority", "42"),
            ("tls.certresolver", "le"),
            ("tls.domains[0].main", "a.com"),
            ("tls.domains[0].sans", "b.a.com,c.a.com"),
            ("rulesyntax", "v2"),
        ] {
            let path: Vec<&str> = k.split('.').collect();
            t.insert(&path, k, Node::Text(v.into())).expect("inserts");
        }
        let r = router(&t, "r").expect("router");
        assert_eq!(r.entry_points, ["web", "websecure"]);
        assert_eq!(r.middlewares, ["strip", "auth@file"]);
        assert_eq!(r.priority, 42);
        assert_eq!(r.rule_syntax, Some(Syntax::V2));
        let tls = r.tls.expect("tls");
        assert_eq!(tls.cert_resolver, "le");
        assert_eq!(tls.domains[0].sans, ["b.a.com", "c.a.com"]);

        let mut t = Tree::default();
        for (k, v) in [
            ("server.port", "8080"),
            ("passhostheader", "false"),
            ("healthcheck.path", "/health"),
            ("healthcheck.interval", "5s"),
            ("sticky.cookie.name", "lb"),
        ] {
            let path: Vec<&str> = k.split('.').collect();
            t.insert(&path, k, Node::Text(v.into())).expect("inserts");
        }
        let lb = load_balancer(&t, "s").expect("lb");
        assert_eq!(lb.port, Some(8080));
        assert!(!lb.pass_host_header);
        assert_eq!(
            lb.health_check.expect("hc").interval,
            std::time::Duration::from_secs(5)
        );
        assert_eq!(lb.stickiness.expect("sticky").cookie_name, "lb");

        let mut t = Tree::default();
        t.insert(&["server", "port"], "p", Node::Text("70000".into()))
            .expect("inserts");
        assert!(load_balancer(&t, "s").is_err());
    }
}
