//! `[entryPoints.X.tls] cipherSuites`: Traefik 1.7's names (Go's `crypto/tls` constants) read
//! into the suites portier's TLS (rustls) offers. A name Traefik does not know is an error, as
//! in Traefik; a suite Go has and rustls does not implement (CBC, RSA key exchange, 3DES, RC4)
//! is not offered, with a warning. Pure.

/// Every name Traefik 1.7 accepts, with the suite rustls offers for it (its `as_str` name), if
/// it implements it.
const TRAEFIK_SUITES: [(&str, Option<&str>); 28] = [
    ("TLS_RSA_WITH_RC4_128_SHA", None),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_CBC_SHA256", None),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", None),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", None),
    ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", None),
    ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        Some("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Some("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    ("TLS_AES_128_GCM_SHA256", Some("TLS13_AES_128_GCM_SHA256")),
    ("TLS_AES_256_GCM_SHA384", Some("TLS13_AES_256_GCM_SHA384")),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        Some("TLS13_CHACHA20_POLY1305_SHA256"),
    ),
    // A signalling value, not a suite: it changes nothing here.
    ("TLS_FALLBACK_SCSV", None),
];

/// rustls' TLS 1.3 suites, in its order.
const TLS13: [&str; 3] = [
    "TLS13_AES_256_GCM_SHA384",
    "TLS13_AES_128_GCM_SHA256",
    "TLS13_CHACHA20_POLY1305_SHA256",
];

/// The suites to offer for a `cipherSuites` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suites {
    /// rustls names, in the list's order, without repeats. TLS 1.3 suites are all offered
    /// unless the list names some (Go ignores the list for TLS 1.3).
    pub(crate) offered: Vec<String>,
    /// Names listed that rustls does not implement.
    pub(crate) not_offered: Vec<String>,
}

/// Reads a `cipherSuites` list; `Err` names the first name Traefik would refuse too, or says
/// that no listed TLS 1.2 suite can be offered.
pub(crate) fn resolve(names: &[String]) -> Result<Suites, String> {
    let mut offered: Vec<String> = Vec::new();
    let mut not_offered = Vec::new();
    let mut names_tls12 = false;
    for name in names {
        let Some((_, rustls)) = TRAEFIK_SUITES.iter().find(|(n, _)| n == name) else {
            let hint = crate::did_you_mean(name, TRAEFIK_SUITES.iter().map(|(n, _)| *n))
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            return Err(format!(
                "{name:?} is not a cipher suite Traefik knows{hint}"
            ));
        };
        names_tls12 |= !name.starts_with("TLS_AES_")
            && !name.starts_with("TLS_CHACHA20")
            && *name != "TLS_FALLBACK_SCSV";
        match rustls {
            Some(r) if !offered.iter().any(|o| o == r) => offered.push((*r).to_string()),
            Some(_) => {}
            None if *name == "TLS_FALLBACK_SCSV" => {}
            None => not_offered.push(name.clone()),
        }
    }
    if names_tls12 && !offered.iter().any(|o| !o.starts_with("TLS13_")) {
        return Err(format!(
            "none of the TLS 1.2 suites listed is implemented by portier's TLS (rustls offers ECDHE with AES-GCM or ChaCha20-Poly1305 only): {}",
            not_offered.join(", ")
        ));
    }
    if !offered.iter().any(|o| o.starts_with("TLS13_")) {
        offered.extend(TLS13.iter().map(|s| s.to_string()));
    }
    Ok(Suites {
        offered,
        not_offered,
    })
}

/// Traefik's (Go's) `cipherSuites` names → the rustls suites to offer, for dynamic
/// `tls.options` (the static configuration reads them through `load`).
pub fn rustls_suites(names: &[String]) -> Result<Vec<String>, String> {
    resolve(names).map(|s| s.offered)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_names_become_rustls_suites_and_tls13_stays_on() {
        let s = resolve(&names(&[
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        ]))
        .expect("resolves");
        assert_eq!(
            s.offered,
            [
                "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS13_AES_256_GCM_SHA384",
                "TLS13_AES_128_GCM_SHA256",
                "TLS13_CHACHA20_POLY1305_SHA256",
            ]
        );
        assert_eq!(s.not_offered, ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]);
        let s = resolve(&names(&[
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        ]))
        .expect("resolves");
        assert_eq!(
            s.offered,
            [
                "TLS13_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
            ],
            "TLS 1.3 suites named: only those"
        );
    }

    #[test]
    fn unknown_names_and_nothing_to_offer_are_errors() {
        let e = resolve(&names(&["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"])).expect_err("typo");
        assert!(
            e.contains("did you mean TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256?"),
            "{e}"
        );
        let e = resolve(&names(&["TLS_RSA_WITH_AES_128_CBC_SHA"])).expect_err("only CBC");
        assert!(e.contains("none of the TLS 1.2 suites listed"), "{e}");
    }
}
