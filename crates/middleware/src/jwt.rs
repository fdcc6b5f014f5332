//! JWT validation (`auth.jwt`), as API gateways offer it: a `Bearer` token in `Authorization`,
//! verified with an HMAC secret, a public key (PEM) or the keys of a JWKS URL (fetched and
//! refreshed by the control plane, handed in with [`JwtAuth::load_jwks`]), checked for
//! expiry, issuer and audience, with chosen claims copied into request headers (client-sent
//! copies removed). 401 with `WWW-Authenticate: Bearer …` (RFC 6750) otherwise. The `jsonwebtoken`
//! crate does the cryptography.

use std::str::FromStr;
use std::sync::{Arc, RwLock};

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use model::middleware::JwtSpec;

use crate::{MiddlewareError, Refusal};

/// One verification key, and the `kid` it answers to (JWKS keys).
#[derive(Clone)]
struct Key {
    kid: Option<String>,
    key: DecodingKey,
}

/// A compiled `auth.jwt`.
pub struct JwtAuth {
    validation: Validation,
    /// Fixed keys (secret or PEM), or the JWKS's latest (empty until first loaded).
    keys: RwLock<Arc<Vec<Key>>>,
    jwks_url: Option<String>,
    claims_headers: Vec<(String, HeaderName)>,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuth")
            .field("algorithms", &self.validation.algorithms)
            .field("jwks_url", &self.jwks_url)
            .finish_non_exhaustive()
    }
}

fn bad(message: impl std::fmt::Display) -> MiddlewareError {
    MiddlewareError::Jwt(message.to_string())
}

impl JwtAuth {
    /// Exactly one key source: `secret`, `publicKey` (PEM, or a file holding it) or `jwksUrl`.
    pub fn compile(spec: &JwtSpec) -> Result<JwtAuth, MiddlewareError> {
        let sources = [
            spec.secret.is_some(),
            spec.public_key.is_some(),
            spec.jwks_url.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(bad("set exactly one of secret, publicKey and jwksUrl"));
        }
        let algorithms: Vec<Algorithm> = if spec.algorithms.is_empty() {
            if spec.secret.is_some() {
                vec![Algorithm::HS256]
            } else {
                vec![Algorithm::RS256, Algorithm::ES256]
            }
        } else {
            spec.algorithms
                .iter()
                .map(|a| {
                    Algorithm::from_str(a.trim()).map_err(|_| {
                        bad(format!(
                            "{a:?} is not a JWS algorithm (RS256, ES256, HS256, …)"
                        ))
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let mut validation = Validation::new(algorithms[0]);
        validation.algorithms = algorithms;
        if let Some(iss) = spec.issuer.as_deref().filter(|s| !s.is_empty()) {
            validation.set_issuer(&[iss]);
        }
        match spec.audience.as_deref().filter(|s| !s.is_empty()) {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        let keys = match (&spec.secret, &spec.public_key) {
            (Some(secret), _) => vec![Key {
                kid: None,
                key: DecodingKey::from_secret(secret.as_bytes()),
            }],
            (None, Some(pem)) => vec![Key {
                kid: None,
                key: public_key(pem)?,
            }],
            (None, None) => Vec::new(),
        };
        let claims_headers = spec
            .claims_headers
            .iter()
            .map(|(claim, h)| {
                HeaderName::from_bytes(h.trim().as_bytes())
                    .map(|n| (claim.clone(), n))
                    .map_err(|_| MiddlewareError::HeaderName(h.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(JwtAuth {
            validation,
            keys: RwLock::new(Arc::new(keys)),
            jwks_url: spec.jwks_url.clone(),
            claims_headers,
        })
    }

    /// The JWKS URL whose keys this check waits for, if any.
    pub fn jwks_url(&self) -> Option<&str> {
        self.jwks_url.as_deref()
    }

    /// Replaces the keys with those of a JWKS document; returns how many were usable.
    pub fn load_jwks(&self, json: &[u8]) -> Result<usize, MiddlewareError> {
        let set: JwkSet = serde_json::from_slice(json).map_err(|e| bad(format!("JWKS: {e}")))?;
        let keys: Vec<Key> = set
            .keys
            .iter()
            .filter_map(|jwk| {
                Some(Key {
                    kid: jwk.common.key_id.clone(),
                    key: DecodingKey::from_jwk(jwk).ok()?,
                })
            })
            .collect();
        let n = keys.len();
        if let Ok(mut k) = self.keys.write() {
            *k = Arc::new(keys);
        }
        Ok(n)
    }

    /// Verifies the bearer token and copies the chosen claims into `headers`; the token's
    /// subject (`sub`), when it has one, is the user's name.
    pub fn check(&self, headers: &mut HeaderMap) -> Result<Option<String>, Refusal> {
        for (_, h) in &self.claims_headers {
            headers.remove(h);
        }
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| challenge(None))?
            .to_string();
        let head = jsonwebtoken::decode_header(&token)
            .map_err(|e| challenge(Some(&format!("malformed token: {e}"))))?;
        let keys = self.keys.read().map(|k| Arc::clone(&k)).unwrap_or_default();
        let candidates: Vec<&Key> = keys
            .iter()
            .filter(|k| match (&head.kid, &k.kid) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            let why = match &self.jwks_url {
                Some(url) if keys.is_empty() => format!("no keys loaded from {url} yet"),
                _ => "no key for this token".to_string(),
            };
            return Err(challenge(Some(&why)));
        }
        let mut last = String::new();
        for k in candidates {
            match jsonwebtoken::decode::<serde_json::Value>(&token, &k.key, &self.validation) {
                Ok(data) => {
                    self.copy_claims(&data.claims, headers);
                    let sub = data.claims.get("sub").and_then(|v| v.as_str());
                    return Ok(sub.map(String::from));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(challenge(Some(&last)))
    }

    fn copy_claims(&self, claims: &serde_json::Value, headers: &mut HeaderMap) {
        for (claim, h) in &self.claims_headers {
            let text = match claims.get(claim) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), String::from))
                    .collect::<Vec<_>>()
                    .join(","),
                Some(serde_json::Value::Null) | None => continue,
                Some(v) => v.to_string(),
            };
            if let Ok(v) = HeaderValue::from_str(&text) {
                headers.insert(h.clone(), v);
            }
        }
    }
}

/// A PEM public key (RSA or EC), or the file that holds one.
fn public_key(value: &str) -> Result<DecodingKey, MiddlewareError> {
    let pem = if value.contains("-----BEGIN") {
        value.to_string()
    } else {
        std::fs::read_to_string(value).map_err(|e| bad(format!("publicKey {value}: {e}")))?
    };
    DecodingKey::from_rsa_pem(pem.as_bytes())
        .or_else(|_| DecodingKey::from_ec_pem(pem.as_bytes()))
        .or_else(|_| DecodingKey::from_ed_pem(pem.as_bytes()))
        .map_err(|e| {
            bad(format!(
                "publicKey: not an RSA, EC or Ed25519 public key in PEM: {e}"
            ))
        })
}

/// 401 with RFC 6750's challenge: none without a token, `invalid_token` with a reason.
fn challenge(error: Option<&str>) -> Refusal {
    let value = match error {
        None => "Bearer realm=\"traefik\"".to_string(),
        Some(why) => format!(
            "Bearer realm=\"traefik\", error=\"invalid_token\", error_description=\"{}\"",
            why.replace(['"', '\\'], "'")
        ),
    };
    let r = Refusal::status(StatusCode::UNAUTHORIZED);
    match HeaderValue::from_str(&value) {
        Ok(v) => r.with_header(header::WWW_AUTHENTICATE, v),
        Err(_) => r.with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"traefik\", error=\"invalid_token\""),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use std::collections::BTreeMap;

    fn spec() -> JwtSpec {
        JwtSpec {
            secret: Some("s3cret".into()),
            issuer: Some("https://issuer.test".into()),
            audience: Some("api".into()),
            claims_headers: BTreeMap::from([("sub".to_string(), "X-User".to_string())]),
            ..JwtSpec::default()
        }
    }

    fn token(claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("token")
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer {t}").parse().expect("v"),
        );
        h.insert("x-user", "mallory".parse().expect("v"));
        h
    }

    #[test]
    fn a_valid_token_passes_with_its_claims_and_others_get_bearer_challenges() {
        let jwt = JwtAuth::compile(&spec()).expect("compiles");
        let good = serde_json::json!({"sub": "alice", "iss": "https://issuer.test", "aud": "api", "exp": now() + 60});
        let mut h = bearer(&token(good.clone(), "s3cret"));
        jwt.check(&mut h).expect("valid");
        assert_eq!(h["x-user"], "alice");

        let mut none = HeaderMap::new();
        none.insert("x-user", "mallory".parse().expect("v"));
        let e = jwt.check(&mut none).expect_err("no token");
        assert_eq!(e.status, 401);
        assert_eq!(e.headers[0].1, "Bearer realm=\"traefik\"");
        assert!(
            none.get("x-user").is_none(),
            "a spoofed claim header is removed"
        );

        let cases = [
            (token(good.clone(), "wrong"), "InvalidSignature"),
            (
                token(
                    serde_json::json!({"sub": "a", "iss": "https://issuer.test", "aud": "api", "exp": now() - 3600}),
                    "s3cret",
                ),
                "ExpiredSignature",
            ),
            (
                token(
                    serde_json::json!({"sub": "a", "iss": "https://other.test", "aud": "api", "exp": now() + 60}),
                    "s3cret",
                ),
                "InvalidIssuer",
            ),
            (
                token(
                    serde_json::json!({"sub": "a", "iss": "https://issuer.test", "aud": "web", "exp": now() + 60}),
                    "s3cret",
                ),
                "InvalidAudience",
            ),
            ("not.a.token".to_string(), "malformed token"),
        ];
        for (t, why) in cases {
            let e = jwt.check(&mut bearer(&t)).expect_err(why);
            let challenge = e.headers[0].1.to_str().expect("ascii").to_string();
            assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
            assert!(challenge.contains(why), "{why}: {challenge}");
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let both = JwtSpec {
            public_key: Some("k.pem".into()),
            ..spec()
        };
        assert!(
            JwtAuth::compile(&both)
                .expect_err("two sources")
                .to_string()
                .contains("exactly one")
        );
        let alg = JwtSpec {
            algorithms: vec!["RS999".into()],
            ..spec()
        };
        assert!(
            JwtAuth::compile(&alg)
                .expect_err("alg")
                .to_string()
                .contains("\"RS999\"")
        );
    }

    #[test]
    fn jwks_keys_arrive_later_and_are_chosen_by_kid() {
        let jwt = JwtAuth::compile(&JwtSpec {
            jwks_url: Some("http://keys.test/jwks".into()),
            algorithms: vec!["HS256".into()],
            ..JwtSpec::default()
        })
        .expect("compiles");
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let t = encode(
            &header,
            &serde_json::json!({"sub": "a", "exp": now() + 60}),
            &EncodingKey::from_secret(b"key-one"),
        )
        .expect("token");
        let e = jwt.check(&mut bearer(&t)).expect_err("no keys yet");
        assert!(
            e.headers[0]
                .1
                .to_str()
                .expect("a")
                .contains("no keys loaded from http://keys.test/jwks yet")
        );
        // "key-one" base64url: a2V5LW9uZQ.
        let jwks = br#"{"keys":[{"kty":"oct","kid":"k0","k":"b3RoZXI"},{"kty":"oct","kid":"k1","k":"a2V5LW9uZQ"}]}"#;
        assert_eq!(jwt.load_jwks(jwks).expect("loads"), 2);
        jwt.check(&mut bearer(&t)).expect("valid with k1");
    }
}
