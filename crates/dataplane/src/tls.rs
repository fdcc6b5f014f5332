//! TLS entrypoints: certificates from files or inline PEM, chosen by SNI (exact name, then
//! wildcard, then the default), TLS 1.2 or newer only, ALPN `h2` and `http/1.1`; client
//! certificates checked against `clientCA` when asked for (mTLS).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use config::{CertSource, ClientCa, TlsConfig, TlsVersion};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("entrypoint {entry_point}: certificate {what}: {message}")]
    Certificate {
        entry_point: String,
        what: String,
        message: String,
    },
    #[error("entrypoint {entry_point}: {message}")]
    Config {
        entry_point: String,
        message: String,
    },
}

/// Picks a certificate by SNI: exact name, then `*.parent`, then the default (none when
/// `sniStrict`, which makes rustls refuse the handshake).
#[derive(Debug)]
pub struct SniResolver {
    /// ACME certificates (and TLS-ALPN-01 challenges) come first when `[acme]` is on.
    acme: Option<Arc<crate::acme::AcmeCerts>>,
    /// Certificates from dynamic configuration (2.x/3.x `tls.certificates`), by name before
    /// the static ones; their default before the static default.
    dynamic: Option<DynamicCerts>,
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

/// A TLS entrypoint's configurations of the moment: the one for most connections, and those
/// for the SNI hosts whose routers name a TLS options set. `None`: options that could not be
/// built; such handshakes are refused rather than made without them.
#[derive(Debug, Default)]
pub struct TlsChoice {
    pub default: Option<Arc<ServerConfig>>,
    pub by_host: HashMap<String, Option<Arc<ServerConfig>>>,
}

impl TlsChoice {
    /// One configuration for every connection.
    pub fn single(config: Arc<ServerConfig>) -> TlsChoice {
        TlsChoice {
            default: Some(config),
            by_host: HashMap::new(),
        }
    }

    /// The configuration for a client asking for `server_name`.
    pub fn pick(&self, server_name: Option<&str>) -> Option<Arc<ServerConfig>> {
        let host = server_name.map(|n| n.trim_end_matches('.').to_ascii_lowercase());
        match host.and_then(|h| self.by_host.get(&h)) {
            Some(c) => c.clone(),
            None => self.default.clone(),
        }
    }
}

/// The current dynamic certificates, swapped in as tables change.
pub type DynamicCerts = Arc<arc_swap::ArcSwap<control::certs::CertStore>>;

impl SniResolver {
    pub fn pick(&self, server_name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let dynamic = self.dynamic.as_ref().map(|d| d.load());
        let Some(name) = server_name.map(|n| n.trim_end_matches('.').to_ascii_lowercase()) else {
            return (dynamic.as_ref().and_then(|d| d.default_certificate()))
                .or_else(|| self.default.clone());
        };
        if let Some(k) = dynamic.as_ref().and_then(|d| d.pick(&name)) {
            return Some(k);
        }
        if let Some(k) = self.exact.get(&name) {
            return Some(Arc::clone(k));
        }
        if let Some((_, parent)) = name.split_once('.') {
            if let Some(k) = self.wildcard.get(parent) {
                return Some(Arc::clone(k));
            }
        }
        (dynamic.as_ref().and_then(|d| d.default_certificate())).or_else(|| self.default.clone())
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello
            .server_name()
            .map(|n| n.trim_end_matches('.').to_ascii_lowercase());
        if let (Some(acme), Some(n)) = (&self.acme, &name) {
            if let Some(resolver) = acme.get(n) {
                let challenge = rustls_acme::is_tls_alpn_challenge(&hello);
                let found = resolver.resolve(hello);
                // A challenge is answered by ACME only; a host whose certificate is still being
                // ordered falls back to the configured ones meanwhile.
                if found.is_some() || challenge {
                    return found;
                }
            }
        }
        self.pick(name.as_deref())
    }
}

/// ring's suites, or those `cipherSuites` lists in its order (checked by `config`), with the
/// key-exchange groups `curves` names (all of ring's when empty).
fn provider(suites: Option<&[String]>, curves: &[String]) -> rustls::crypto::CryptoProvider {
    let mut provider = ring::default_provider();
    if let Some(names) = suites {
        let all = std::mem::take(&mut provider.cipher_suites);
        provider.cipher_suites = names
            .iter()
            .filter_map(|n| all.iter().find(|s| s.suite().as_str() == Some(n.as_str())))
            .copied()
            .collect();
    }
    if !curves.is_empty() {
        let all = std::mem::take(&mut provider.kx_groups);
        provider.kx_groups = curves
            .iter()
            .filter_map(|c| {
                all.iter()
                    .find(|g| format!("{:?}", g.name()).eq_ignore_ascii_case(c))
            })
            .copied()
            .collect();
    }
    provider
}

/// Builds the rustls configuration of one TLS entrypoint.
pub fn server_config(
    entry_point: &str,
    tls: &TlsConfig,
    acme: Option<Arc<crate::acme::AcmeCerts>>,
    dynamic: Option<DynamicCerts>,
) -> Result<Arc<ServerConfig>, TlsError> {
    server_config_with(entry_point, tls, acme, dynamic, None)
}

/// The same, with a dynamic file's `tls.options.default` in place of the entrypoint's own
/// versions, suites, client authentication, SNI strictness and ALPN (its certificates stay).
pub fn server_config_with(
    entry_point: &str,
    tls: &TlsConfig,
    acme: Option<Arc<crate::acme::AcmeCerts>>,
    dynamic: Option<DynamicCerts>,
    options: Option<&model::dynamic::TlsOptions>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let suites = match options {
        Some(o) if !o.cipher_suites.is_empty() => Some(o.cipher_suites.as_slice()),
        Some(_) => None,
        None => tls.cipher_suites.as_deref(),
    };
    let curves = options.map(|o| o.curves.as_slice()).unwrap_or_default();
    let provider = Arc::new(provider(suites, curves));
    let sni_strict = options.map_or(tls.sni_strict, |o| o.sni_strict);
    let client_ca = match options {
        None => tls.client_ca.clone(),
        Some(o) => o.client_auth.as_ref().map(|c| ClientCa {
            files: c.ca_pem.clone(),
            optional: c.optional,
        }),
    };
    let mut exact = HashMap::new();
    let mut wildcard = HashMap::new();
    let mut first = None;
    for source in &tls.certificates {
        let (key, names) = load(entry_point, source, &provider)?;
        for name in names {
            match name.strip_prefix("*.") {
                Some(parent) => wildcard.insert(parent.to_string(), Arc::clone(&key)),
                None => exact.insert(name, Arc::clone(&key)),
            };
        }
        first.get_or_insert(key);
    }
    let default = match &tls.default_certificate {
        Some(source) => Some(load(entry_point, source, &provider)?.0),
        None => first,
    };
    let default = match (default, sni_strict) {
        (_, true) => None,
        (Some(d), false) => Some(d),
        (None, false) => Some(self_signed(entry_point, &provider)?),
    };
    let versions: &[&rustls::SupportedProtocolVersion] = match (tls.min_version, options) {
        (_, Some(o)) if o.tls13_only => &[&rustls::version::TLS13],
        (_, Some(o)) if o.tls12_only => &[&rustls::version::TLS12],
        (_, Some(_)) | (TlsVersion::Tls12, None) => {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        }
        (TlsVersion::Tls13, None) => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|e| TlsError::Config {
            entry_point: entry_point.to_string(),
            message: e.to_string(),
        })?;
    let builder = match &client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => builder.with_client_cert_verifier(client_verifier(entry_point, ca, provider)?),
    };
    let mut config = builder.with_cert_resolver(Arc::new(SniResolver {
        acme: acme.clone(),
        dynamic,
        exact,
        wildcard,
        default,
    }));
    config.alpn_protocols = match options {
        Some(o) if !o.alpn_protocols.is_empty() => o
            .alpn_protocols
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect(),
        _ => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    if acme.is_some() {
        config
            .alpn_protocols
            .push(rustls_acme::acme::ACME_TLS_ALPN_NAME.to_vec());
    }
    Ok(Arc::new(config))
}

/// Checks client certificates against `clientCA`'s files; without `optional`, a client must
/// show one.
fn client_verifier(
    entry_point: &str,
    ca: &ClientCa,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for file in &ca.files {
        let fail = |message: String| TlsError::Certificate {
            entry_point: entry_point.to_string(),
            what: format!("clientCA {}", describe(file)),
            message,
        };
        let pem = read_pem(file).map_err(|e| fail(format!("cannot read: {e}")))?;
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|e| fail(format!("not a PEM certificate: {e}")))?;
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
            found += 1;
        }
        if found == 0 {
            return Err(fail("holds no certificate".into()));
        }
    }
    let builder =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    let builder = if ca.optional {
        builder.allow_unauthenticated()
    } else {
        builder
    };
    builder.build().map_err(|e| TlsError::Config {
        entry_point: entry_point.to_string(),
        message: format!("clientCA: {e}"),
    })
}

/// A certificate chain and key (paths or inline PEM) and the DNS names it is valid for.
fn load(
    entry_point: &str,
    source: &CertSource,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<(Arc<CertifiedKey>, Vec<String>), TlsError> {
    let fail = |what: &str, message: String| TlsError::Certificate {
        entry_point: entry_point.to_string(),
        what: what.to_string(),
        message,
    };
    let read = |value: &str| {
        read_pem(value).map_err(|e| fail(&describe(value), format!("cannot read {value}: {e}")))
    };
    let cert_pem = read(&source.cert_file)?;
    let key_pem = read(&source.key_file)?;
    control::certs::certified_key(&cert_pem, &key_pem, provider).map_err(|e| {
        let file = if e.in_key() {
            &source.key_file
        } else {
            &source.cert_file
        };
        fail(&describe(file), e.to_string())
    })
}

/// Traefik's rule: a value holding `-----BEGIN` is PEM itself, anything else a file path.
/// The PEM itself, or the file it names.
fn read_pem(value: &str) -> std::io::Result<String> {
    if value.contains("-----BEGIN") {
        return Ok(value.to_string());
    }
    std::fs::read_to_string(Path::new(value))
}

fn describe(value: &str) -> String {
    if value.contains("-----BEGIN") {
        "(inline PEM)".to_string()
    } else {
        value.to_string()
    }
}

/// The certificate served when no configured one fits (Traefik: "TRAEFIK DEFAULT CERT").
fn self_signed(
    entry_point: &str,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let fail = |message: String| TlsError::Config {
        entry_point: entry_point.to_string(),
        message,
    };
    let generated = rcgen::generate_simple_self_signed(vec!["portier.default.invalid".to_string()])
        .map_err(|e| fail(e.to_string()))?;
    let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
        .map_err(|e| fail(e.to_string()))?;
    let ck = CertifiedKey::from_der(vec![generated.cert.der().clone()], key, provider)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Arc::new(ck))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(names: &[&str]) -> CertSource {
        let c = rcgen::generate_simple_self_signed(
            names.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .expect("cert");
        CertSource {
            cert_file: c.cert.pem(),
            key_file: c.signing_key.serialize_pem(),
        }
    }

    fn names(k: &Arc<CertifiedKey>) -> Vec<String> {
        webpki::EndEntityCert::try_from(&k.cert[0])
            .map(|c| c.valid_dns_names().map(String::from).collect())
            .unwrap_or_default()
    }

    #[test]
    fn sni_picks_exact_then_wildcard_then_default() {
        let provider = Arc::new(ring::default_provider());
        let (a, _) = load("https", &cert(&["a.test"]), &provider).expect("a");
        let (w, _) = load("https", &cert(&["*.wild.test"]), &provider).expect("w");
        let r = SniResolver {
            acme: None,
            dynamic: None,
            exact: [("a.test".to_string(), a)].into(),
            wildcard: [("wild.test".to_string(), w)].into(),
            default: None,
        };
        assert_eq!(
            r.pick(Some("a.test")).map(|k| names(&k)),
            Some(vec!["a.test".to_string()])
        );
        assert_eq!(
            r.pick(Some("A.Test.")).map(|k| names(&k)),
            Some(vec!["a.test".to_string()])
        );
        assert_eq!(
            r.pick(Some("x.wild.test")).map(|k| names(&k)),
            Some(vec!["*.wild.test".to_string()])
        );
        assert!(
            r.pick(Some("x.y.wild.test")).is_none(),
            "a wildcard covers one label"
        );
        assert!(r.pick(Some("other")).is_none());
    }

    #[test]
    fn bad_certificates_are_named() {
        let tls = TlsConfig {
            min_version: TlsVersion::Tls12,
            certificates: vec![CertSource {
                cert_file: "/nonexistent/c.pem".into(),
                key_file: "/nonexistent/k.pem".into(),
            }],
            default_certificate: None,
            sni_strict: false,
            cipher_suites: None,
            client_ca: None,
        };
        let err = server_config("https", &tls, None, None).expect_err("fails");
        assert!(
            err.to_string()
                .starts_with("entrypoint https: certificate /nonexistent/c.pem: cannot read"),
            "{err}"
        );
    }
}
