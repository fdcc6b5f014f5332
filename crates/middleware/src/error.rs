//! Why a middleware's settings cannot be compiled; the providers name the label or key.

/// A middleware setting portier cannot honour. The route that asked for it answers 503.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MiddlewareError {
    #[error("{0:?} is not user:hash")]
    UserEntry(String),
    #[error(
        "user {0:?}: hash must be bcrypt ($2y$…), Apache MD5 ($apr1$…) or SHA-1 ({{SHA}}…), e.g. from `htpasswd -nB {0}`"
    )]
    UserHash(String),
    #[error("{0:?} is not user:realm:hash (as htdigest writes it)")]
    DigestEntry(String),
    #[error("no users")]
    NoUsers,
    #[error(
        "realm {0:?} cannot be sent in a challenge (no quotes, backslashes or control characters)"
    )]
    Realm(String),
    #[error("{0:?} is not an IP address or CIDR range (10.0.0.0/8, 2001:db8::/32)")]
    IpRange(String),
    #[error("{0:?} is not client.ip, request.host or request.header.NAME")]
    Extractor(String),
    #[error("rate {name:?}: {message}")]
    Rate { name: String, message: String },
    #[error("no rate set (rateSet.NAME.period, .average, .burst)")]
    NoRate,
    #[error("amount must be 1 or more")]
    MaxConnAmount,
    #[error("circuit breaker expression {expression:?}: {message}")]
    Breaker { expression: String, message: String },
    #[error("jwt: {0}")]
    Jwt(String),
    #[error("forward auth address {0:?} is not an http:// or https:// URL")]
    ForwardAddress(String),
    #[error("forward auth {0}")]
    ForwardOption(String),
    #[error("header name {0:?} is not a valid HTTP header name")]
    HeaderName(String),
    #[error("header {name}: value {value:?} is not a valid HTTP header value")]
    HeaderValue { name: String, value: String },
}
