//! Rule zero: TOML keys that ask for a protection in a spelling the schema does not read
//! (`[frontends.X.WhiteList]`, `[entryPoints.X.tls.ClientCA]`). Pure classification; the
//! callers refuse what these name (a frontend answers 503, a static file does not load), so a
//! protection is never silently dropped.

/// What an ignored key under `[entryPoints.X]`, `[frontends.X]` or `[backends.X]` asks for,
/// whatever its spelling (Traefik reads TOML keys without regard to case). `path` is the
/// dotted key as `key_name` writes it.
pub(crate) fn protective_key(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let parts: Vec<&str> = lower.split('.').collect();
    match parts.as_slice() {
        ["entrypoints" | "frontends", _, "auth" | "basicauth", ..] => Some("authentication"),
        [
            "entrypoints" | "frontends",
            _,
            "whitelist" | "whitelistsourcerange",
            ..,
        ] => Some("an IP allowlist"),
        ["entrypoints", _, "tls", "clientca", ..] => Some("client certificates (mTLS)"),
        ["frontends", _, "ratelimit", ..] => Some("a rate limit"),
        ["frontends", _, "headers", ..] => Some("security headers"),
        ["backends", _, "maxconn", ..] => Some("a connection limit"),
        ["backends", _, "buffering", ..] => Some("request/response body limits"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protective_keys_in_any_spelling() {
        assert_eq!(
            protective_key("entryPoints.http.auth.basic"),
            Some("authentication")
        );
        assert_eq!(
            protective_key("entryPoints.http.WhiteList"),
            Some("an IP allowlist")
        );
        assert_eq!(
            protective_key("entryPoints.https.tls.clientCA"),
            Some("client certificates (mTLS)")
        );
        assert_eq!(
            protective_key("frontends.f1.RateLimit.rateset"),
            Some("a rate limit")
        );
        assert_eq!(
            protective_key("backends.b1.MaxConn"),
            Some("a connection limit")
        );
        assert_eq!(protective_key("entryPoints.http.compress"), None);
        assert_eq!(protective_key("frontends.f1.passTLSCert"), None);
        assert_eq!(protective_key("web.auth"), None);
    }
}
