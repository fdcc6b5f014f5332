//! Rule zero: TOML keys that ask for a protection portier does not enforce (body limits, client
//! certificates, and any spelling of a protective key that the schema does not read). Pure classification; the
//! callers refuse what these name (a frontend answers 503, a static file does not load), so a
//! protection is never silently dropped.

use super::schema::BackendToml;

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

/// A protection asked for in a `[frontends.X]` or `[backends.X]` table: the key, what it asks
/// for, and the byte offset of its value (for file:line:column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub key: &'static str,
    pub what: &'static str,
    pub offset: usize,
}

/// The protections a backend table asks for.
pub fn backend_asks(b: &BackendToml) -> Vec<Asked> {
    asked([(
        "buffering",
        "request/response body limits",
        b.buffering.as_ref(),
    )])
}

/// The `(key, what, value)` entries whose value asks for something.
fn asked<const N: usize>(
    entries: [(
        &'static str,
        &'static str,
        Option<&toml::Spanned<toml::Value>>,
    ); N],
) -> Vec<Asked> {
    entries
        .into_iter()
        .filter_map(|(key, what, v)| {
            let v = v.filter(|v| asks(v.get_ref()))?;
            Some(Asked {
                key,
                what,
                offset: v.span().start,
            })
        })
        .collect()
}

/// Whether a value sets anything: a non-empty string or array, `true`, a non-zero number, or
/// a table holding any of those.
fn asks(v: &toml::Value) -> bool {
    match v {
        toml::Value::String(s) => !s.trim().is_empty(),
        toml::Value::Array(a) => !a.is_empty(),
        toml::Value::Boolean(b) => *b,
        toml::Value::Integer(i) => *i != 0,
        toml::Value::Float(f) => *f != 0.0,
        toml::Value::Datetime(_) => true,
        toml::Value::Table(t) => t.values().any(asks),
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
