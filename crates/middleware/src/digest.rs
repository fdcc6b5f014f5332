//! Digest authentication (RFC 2617, MD5, `qop=auth`) against htdigest users
//! (`user:realm:md5(user:realm:password)`), realm `traefik`. Nonces carry their issue time and
//! an HMAC under a key made at compile time, so they need no table; one older than
//! `NONCE_LIFETIME` gets a fresh challenge with `stale=true`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use md5::{Digest, Md5};
use model::middleware::UsersAuth;
use ring::hmac;
use subtle::ConstantTimeEq;

use crate::error::MiddlewareError;
use crate::refusal::Refusal;

pub(crate) const REALM: &str = "traefik";
/// How long a nonce is accepted after it was issued.
pub(crate) const NONCE_LIFETIME: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct DigestAuth {
    /// (user, realm) → HA1 in lowercase hex.
    users: HashMap<(String, String), String>,
    remove_header: bool,
    key: hmac::Key,
    /// The challenge's realm (`traefik` unless `realm` says).
    realm: String,
}

impl DigestAuth {
    pub fn compile(spec: &UsersAuth) -> Result<DigestAuth, MiddlewareError> {
        let mut users = HashMap::new();
        for line in spec.users.iter().map(|l| l.trim()) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.splitn(3, ':');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(u), Some(r), Some(h))
                    if !u.is_empty()
                        && h.len() == 32
                        && h.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    users.insert((u.to_string(), r.to_string()), h.to_ascii_lowercase());
                }
                _ => return Err(MiddlewareError::DigestEntry(line.to_string())),
            }
        }
        if users.is_empty() {
            return Err(MiddlewareError::NoUsers);
        }
        let rng = ring::rand::SystemRandom::new();
        let key =
            hmac::Key::generate(hmac::HMAC_SHA256, &rng).map_err(|_| MiddlewareError::NoUsers)?;
        let realm = spec.realm.clone().unwrap_or_else(|| REALM.to_string());
        crate::basic::realm_value("Digest", &realm)?;
        Ok(DigestAuth {
            users,
            remove_header: spec.remove_header,
            key,
            realm,
        })
    }

    /// The user name when the request's `Authorization: Digest` answers a fresh nonce of ours
    /// correctly for this method and URI, else the 401 challenge.
    pub fn check(
        &self,
        method: &Method,
        uri: &str,
        headers: &mut HeaderMap,
        now: SystemTime,
    ) -> Result<String, Refusal> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("digest").then_some(rest)
            })
            .ok_or_else(|| self.challenge(now, false))?;
        let p = parse_params(value);
        let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
        let (user, realm, nonce) = (get("username"), get("realm"), get("nonce"));
        let Some(ha1) = self.users.get(&(user.to_string(), realm.to_string())) else {
            return Err(self.challenge(now, false));
        };
        if get("uri") != uri {
            return Err(self.challenge(now, false));
        }
        match self.nonce_age(nonce, now) {
            None => return Err(self.challenge(now, false)),
            Some(age) if age > NONCE_LIFETIME => return Err(self.challenge(now, true)),
            Some(_) => {}
        }
        let ha2 = md5_hex(&format!("{method}:{}", get("uri")));
        let expected = match get("qop") {
            "" => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
            "auth" => md5_hex(&format!(
                "{ha1}:{nonce}:{}:{}:auth:{ha2}",
                get("nc"),
                get("cnonce")
            )),
            _ => return Err(self.challenge(now, false)),
        };
        let response = get("response").to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(response.as_bytes())) {
            return Err(self.challenge(now, false));
        }
        let user = user.to_string();
        if self.remove_header {
            headers.remove(header::AUTHORIZATION);
        }
        Ok(user)
    }

    fn nonce(&self, now: SystemTime) -> String {
        let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let stamp = secs.to_be_bytes();
        let tag = hmac::sign(&self.key, &stamp);
        let mut raw = stamp.to_vec();
        raw.extend_from_slice(&tag.as_ref()[..16]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// How old a nonce of ours is; `None` when it is not ours.
    fn nonce_age(&self, nonce: &str, now: SystemTime) -> Option<Duration> {
        let raw = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        if raw.len() != 24 {
            return None;
        }
        let (stamp, tag) = raw.split_at(8);
        let expected = hmac::sign(&self.key, stamp);
        if !bool::from(expected.as_ref()[..16].ct_eq(tag)) {
            return None;
        }
        let secs = u64::from_be_bytes(stamp.try_into().ok()?);
        let issued = UNIX_EPOCH + Duration::from_secs(secs);
        Some(now.duration_since(issued).unwrap_or_default())
    }

    fn challenge(&self, now: SystemTime, stale: bool) -> Refusal {
        let stale = if stale { ", stale=true" } else { "" };
        let value = format!(
            "Digest realm=\"{}\", nonce=\"{}\", opaque=\"{}\", algorithm=MD5, qop=\"auth\"{stale}",
            self.realm,
            self.nonce(now),
            md5_hex(&self.realm)
        );
        let refusal = Refusal::status(StatusCode::UNAUTHORIZED);
        match HeaderValue::from_str(&value) {
            Ok(v) => refusal.with_header(header::WWW_AUTHENTICATE, v),
            Err(_) => refusal,
        }
    }
}

fn md5_hex(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `k=v, k2="quoted, value"` → map (keys lowercased; `\"` unescaped in quoted values).
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied().filter(|c| *c != ',') {
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> DigestAuth {
        // htdigest for user "test", realm "traefik", password "test".
        let ha1 = md5_hex("test:traefik:test");
        DigestAuth::compile(&UsersAuth {
            users: vec![format!("test:traefik:{ha1}")],
            users_file: None,
            remove_header: false,
            realm: None,
        })
        .expect("valid")
    }

    fn answer(a: &DigestAuth, nonce: &str, password: &str, uri: &str) -> HeaderMap {
        let ha1 = md5_hex(&format!("test:traefik:{password}"));
        let ha2 = md5_hex(&format!("GET:{uri}"));
        let response = md5_hex(&format!("{ha1}:{nonce}:00000001:abc:auth:{ha2}"));
        let _ = a;
        let v = format!(
            "Digest username=\"test\", realm=\"traefik\", nonce=\"{nonce}\", uri=\"{uri}\", qop=auth, nc=00000001, cnonce=\"abc\", response=\"{response}\", opaque=\"x\""
        );
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, v.parse().expect("v"));
        h
    }

    fn nonce_of(r: &Refusal) -> String {
        let v = r.headers[0].1.to_str().expect("ascii");
        parse_params(v.trim_start_matches("Digest "))["nonce"].clone()
    }

    #[test]
    fn challenge_then_answer() {
        let a = auth();
        let now = SystemTime::now();
        let first = a
            .check(&Method::GET, "/x", &mut HeaderMap::new(), now)
            .expect_err("401");
        assert_eq!(first.status, 401);
        let text = first.headers[0].1.to_str().expect("ascii");
        assert!(
            text.starts_with("Digest realm=\"traefik\", nonce=\""),
            "{text}"
        );
        let nonce = nonce_of(&first);
        let ok = a.check(
            &Method::GET,
            "/x",
            &mut answer(&a, &nonce, "test", "/x"),
            now,
        );
        assert_eq!(ok, Ok("test".to_string()));
        let wrong = a.check(
            &Method::GET,
            "/x",
            &mut answer(&a, &nonce, "nope", "/x"),
            now,
        );
        assert!(wrong.is_err());
        let other_uri = a.check(
            &Method::GET,
            "/y",
            &mut answer(&a, &nonce, "test", "/x"),
            now,
        );
        assert!(other_uri.is_err());
        let forged = a.check(
            &Method::GET,
            "/x",
            &mut answer(&a, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "test", "/x"),
            now,
        );
        assert!(forged.is_err());
    }

    #[test]
    fn expired_nonces_are_stale() {
        let a = auth();
        let then = SystemTime::now() - NONCE_LIFETIME - Duration::from_secs(1);
        let old = nonce_of(
            &a.check(&Method::GET, "/", &mut HeaderMap::new(), then)
                .expect_err("401"),
        );
        let r = a
            .check(
                &Method::GET,
                "/",
                &mut answer(&a, &old, "test", "/"),
                SystemTime::now(),
            )
            .expect_err("stale");
        assert!(
            r.headers[0]
                .1
                .to_str()
                .expect("ascii")
                .ends_with("stale=true")
        );
    }

    #[test]
    fn bad_lines_are_refused() {
        let bad = DigestAuth::compile(&UsersAuth {
            users: vec!["test:$apr1$x".into()],
            users_file: None,
            remove_header: false,
            realm: None,
        });
        assert!(bad.is_err());
    }
}
