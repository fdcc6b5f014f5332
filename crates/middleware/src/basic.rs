//! Basic authentication: `Authorization: Basic` checked against htpasswd users; 401 with
//! `WWW-Authenticate: Basic realm="traefik"` otherwise. Verified credentials are remembered
//! (by SHA-256 of the header, never the password) so bcrypt runs once per credential, not per
//! request.

use std::collections::HashSet;
use std::sync::RwLock;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use model::middleware::UsersAuth;

use crate::error::MiddlewareError;
use crate::refusal::Refusal;
use crate::users::{Users, credentials};

/// At most this many verified credentials are remembered; the set starts over when full.
const CACHE_LIMIT: usize = 4096;

#[derive(Debug)]
pub struct BasicAuth {
    users: Users,
    remove_header: bool,
    /// `WWW-Authenticate` of the 401: `Basic realm="…"`.
    challenge: HeaderValue,
    verified: RwLock<HashSet<[u8; 32]>>,
}

impl BasicAuth {
    pub fn compile(spec: &UsersAuth) -> Result<BasicAuth, MiddlewareError> {
        let users = Users::parse(spec.users.iter().map(String::as_str))?;
        if users.is_empty() {
            return Err(MiddlewareError::NoUsers);
        }
        let realm = spec.realm.as_deref().unwrap_or("traefik");
        let challenge = realm_value("Basic", realm)?;
        Ok(BasicAuth {
            users,
            challenge,
            remove_header: spec.remove_header,
            verified: RwLock::default(),
        })
    }

    /// The user name when the request carries valid credentials (the header is removed when
    /// asked), else the 401 to answer.
    pub fn check(&self, headers: &mut HeaderMap) -> Result<String, Refusal> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.challenge())?;
        let (user, password) = credentials(value).ok_or_else(|| self.challenge())?;
        let key = fingerprint(value);
        let known = self.verified.read().is_ok_and(|set| set.contains(&key));
        if !known {
            if !self.users.verify(&user, &password) {
                return Err(self.challenge());
            }
            if let Ok(mut set) = self.verified.write() {
                if set.len() >= CACHE_LIMIT {
                    set.clear();
                }
                set.insert(key);
            }
        }
        if self.remove_header {
            headers.remove(header::AUTHORIZATION);
        }
        Ok(user)
    }
}

fn fingerprint(value: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl BasicAuth {
    fn challenge(&self) -> Refusal {
        Refusal::status(StatusCode::UNAUTHORIZED)
            .with_header(header::WWW_AUTHENTICATE, self.challenge.clone())
    }
}

/// `SCHEME realm="REALM"`; a realm that cannot be quoted is an error.
pub(crate) fn realm_value(scheme: &str, realm: &str) -> Result<HeaderValue, MiddlewareError> {
    if realm.contains('"') || realm.contains('\\') || realm.chars().any(char::is_control) {
        return Err(MiddlewareError::Realm(realm.to_string()));
    }
    HeaderValue::from_str(&format!("{scheme} realm=\"{realm}\""))
        .map_err(|_| MiddlewareError::Realm(realm.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    fn auth(users: &[&str], remove: bool) -> BasicAuth {
        BasicAuth::compile(&UsersAuth {
            users: users.iter().map(|s| s.to_string()).collect(),
            users_file: None,
            remove_header: remove,
            realm: None,
        })
        .expect("valid")
    }

    fn with(user_pass: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode(user_pass));
        h.insert(header::AUTHORIZATION, v.parse().expect("v"));
        h
    }

    #[test]
    fn valid_credentials_pass_once_verified_and_stay_cached() {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        let a = auth(&[&format!("admin:{hash}")], false);
        assert_eq!(a.check(&mut with("admin:s3cret")), Ok("admin".into()));
        assert_eq!(a.verified.read().map(|s| s.len()).unwrap_or(0), 1);
        assert_eq!(a.check(&mut with("admin:s3cret")), Ok("admin".into()));
        let refused = a.check(&mut with("admin:wrong")).expect_err("401");
        assert_eq!(refused.status, 401);
        assert_eq!(
            refused.headers,
            [(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"traefik\"")
            )]
        );
        assert!(a.check(&mut HeaderMap::new()).is_err());
        assert!(a.check(&mut with("ghost:s3cret")).is_err());
    }

    #[test]
    fn remove_header_strips_authorization() {
        let a = auth(&["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"], true);
        let mut h = with("test:test");
        assert!(a.check(&mut h).is_ok());
        assert!(h.get(header::AUTHORIZATION).is_none());
    }

    #[test]
    fn bad_users_are_refused() {
        let bad = BasicAuth::compile(&UsersAuth {
            users: vec!["admin:plaintext".into()],
            users_file: None,
            remove_header: false,
            realm: None,
        });
        assert!(bad.is_err());
    }
}
