//! htpasswd users for basic authentication (frontends, entrypoints, the dashboard): bcrypt
//! (`$2y$`, `$2a$`, `$2b$`), Apache MD5 (`$apr1$`) or SHA-1 (`{SHA}`) hashes, compared in
//! constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};

use subtle::ConstantTimeEq;

use crate::error::MiddlewareError;

/// The realm Traefik announces.
pub const REALM: &str = "traefik";

#[derive(Debug, Clone, Default)]
pub struct Users {
    entries: Vec<(String, String)>,
}

impl Users {
    /// Parses `user:hash` entries; returns the bad ones' reasons.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Users, MiddlewareError> {
        let mut entries = Vec::new();
        for line in lines {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| MiddlewareError::UserEntry(line.to_string()))?;
            if !(hash.starts_with("$2") || hash.starts_with("$apr1$") || hash.starts_with("{SHA}"))
            {
                return Err(MiddlewareError::UserHash(user.to_string()));
            }
            entries.push((user.to_string(), hash.to_string()));
        }
        Ok(Users { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks an `Authorization: Basic …` header value.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        authorization
            .and_then(credentials)
            .is_some_and(|(user, password)| self.verify(&user, &password))
    }

    /// Whether `password` is `user`'s.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        self.entries
            .iter()
            .filter(|(u, _)| u == user)
            .any(|(_, hash)| verify(password, hash))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(u, _)| u.as_str())
    }
}

/// The user and password of an `Authorization: Basic …` value (scheme in any case).
pub fn credentials(authorization: &str) -> Option<(String, String)> {
    let (scheme, encoded) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Whether `password` matches an htpasswd hash.
pub fn verify(password: &str, hash: &str) -> bool {
    if let Some(rest) = hash.strip_prefix("$apr1$") {
        let salt = rest.split('$').next().unwrap_or("");
        return bool::from(apr1(password, salt).as_bytes().ct_eq(hash.as_bytes()));
    }
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        use sha1::Sha1;
        let digest = Sha1::digest(password.as_bytes());
        return bool::from(STANDARD.encode(digest).as_bytes().ct_eq(b64.as_bytes()));
    }
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// Apache's MD5-crypt (`$apr1$salt$hash`).
pub fn apr1(password: &str, salt: &str) -> String {
    const MAGIC: &[u8] = b"$apr1$";
    let pw = password.as_bytes();
    let salt = &salt.as_bytes()[..salt.len().min(8)];
    let alt = Md5::new()
        .chain_update(pw)
        .chain_update(salt)
        .chain_update(pw)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(pw)
        .chain_update(MAGIC)
        .chain_update(salt);
    let mut left = pw.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = pw.len();
    while i > 0 {
        if i & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&pw[..1]);
        }
        i >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut c = Md5::new();
        if round & 1 == 1 {
            c.update(pw)
        } else {
            c.update(fin)
        }
        if round % 3 != 0 {
            c.update(salt);
        }
        if round % 7 != 0 {
            c.update(pw);
        }
        if round & 1 == 1 {
            c.update(fin)
        } else {
            c.update(pw)
        }
        fin = c.finalize();
    }
    const ITOA: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::from("$apr1$");
    out.push_str(std::str::from_utf8(salt).unwrap_or(""));
    out.push('$');
    let mut to64 = |mut v: u32, n: usize| {
        for _ in 0..n {
            out.push(ITOA[(v & 0x3f) as usize] as char);
            v >>= 6;
        }
    };
    let f = |i: usize| u32::from(fin[i]);
    for (a, b, c) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] {
        to64((f(a) << 16) | (f(b) << 8) | f(c), 4);
    }
    to64(f(11), 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_md5_matches_traefiks_documented_hash() {
        // From Traefik's docs: user "test", password "test".
        assert!(verify("test", "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"));
        assert!(!verify("wrong", "$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"));
    }

    #[test]
    fn bcrypt_and_sha1() {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        assert!(verify("s3cret", &hash));
        assert!(!verify("nope", &hash));
        // htpasswd -nbs u password
        assert!(verify("password", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="));
    }

    #[test]
    fn checks_basic_headers() {
        let users = Users::parse(["test:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]).expect("valid");
        let good = format!("Basic {}", STANDARD.encode("test:test"));
        let bad = format!("Basic {}", STANDARD.encode("test:nope"));
        assert!(users.check(Some(&good)));
        assert!(!users.check(Some(&bad)));
        assert!(!users.check(None));
        assert!(Users::parse(["admin:plaintext"]).is_err());
    }
}
