//! Certificates declared in dynamic configuration (`tls.certificates` of 2.x/3.x files),
//! parsed once per change into a store that every TLS entrypoint consults by SNI before its
//! static certificates (after ACME's).

use std::collections::HashMap;
use std::sync::Arc;

use model::dynamic::{ProviderConfig, ProviderError, TlsCertificate};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Certificates by name: exact, then `*.parent`, then the default.
#[derive(Debug, Default)]
pub struct CertStore {
    exact: HashMap<String, Arc<CertifiedKey>>,
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl CertStore {
    /// The certificate for `name` (lower case, no trailing dot), exact or wildcard.
    pub fn pick(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        if let Some(k) = self.exact.get(name) {
            return Some(Arc::clone(k));
        }
        let (_, parent) = name.split_once('.')?;
        self.wildcard.get(parent).cloned()
    }

    /// The default store's `defaultCertificate`.
    pub fn default_certificate(&self) -> Option<Arc<CertifiedKey>> {
        self.default.clone()
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.wildcard.len() + usize::from(self.default.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What the store is built from: each provider's certificates, in provider order.
pub(crate) type CertInputs = Vec<(String, model::dynamic::TlsSection)>;

pub(crate) fn inputs(
    providers: &std::collections::BTreeMap<String, Arc<ProviderConfig>>,
) -> CertInputs {
    providers
        .iter()
        .filter(|(_, c)| !c.tls.is_empty())
        .map(|(p, c)| (p.clone(), c.tls.clone()))
        .collect()
}

/// Parses every certificate; one that does not parse is an error naming where it is declared
/// and is left out.
pub(crate) fn build(inputs: &CertInputs) -> (CertStore, Vec<ProviderError>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut store = CertStore::default();
    let mut errors = Vec::new();
    for (pname, tls) in inputs {
        let fail = |c: &TlsCertificate, message: String| ProviderError::Compile {
            provider: pname.clone(),
            at: Some(c.source.clone()),
            item: "tls certificate".into(),
            message,
        };
        for c in &tls.certificates {
            match certified(c, &provider) {
                Ok((key, names)) => {
                    for name in names {
                        match name.strip_prefix("*.") {
                            Some(parent) => {
                                store.wildcard.insert(parent.to_string(), Arc::clone(&key))
                            }
                            None => store.exact.insert(name, Arc::clone(&key)),
                        };
                    }
                }
                Err(m) => errors.push(fail(c, m)),
            }
        }
        if let Some(c) = &tls.default_certificate {
            match certified(c, &provider) {
                Ok((key, _)) => store.default = Some(key),
                Err(m) => errors.push(fail(c, m)),
            }
        }
    }
    (store, errors)
}

fn certified(
    c: &TlsCertificate,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<(Arc<CertifiedKey>, Vec<String>), String> {
    certified_key(&c.cert_pem, &c.key_pem, provider).map_err(|e| {
        let file = if e.in_key() { "keyFile" } else { "certFile" };
        format!("{file} {e}")
    })
}

/// Why a certificate and key cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("not a PEM certificate: {0}")]
    NotPem(String),
    #[error("holds no certificate")]
    Empty,
    #[error("not a PEM private key: {0}")]
    Key(String),
    #[error("does not match its key: {0}")]
    Mismatch(String),
}

impl CertError {
    /// Whether the key is at fault (else the certificate), to name the right file.
    pub fn in_key(&self) -> bool {
        matches!(self, CertError::Key(_))
    }
}

/// A certificate chain and its key (PEM) as rustls serves them, with the DNS names of the
/// leaf: the one parser of static (entrypoint) and dynamic certificates.
pub fn certified_key(
    cert_pem: &str,
    key_pem: &str,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<(Arc<CertifiedKey>, Vec<String>), CertError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| CertError::NotPem(e.to_string()))?;
    if certs.is_empty() {
        return Err(CertError::Empty);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| CertError::Key(e.to_string()))?;
    let names: Vec<String> = webpki::EndEntityCert::try_from(&certs[0])
        .map(|c| {
            c.valid_dns_names()
                .map(|n| n.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    let key = CertifiedKey::from_der(certs, key, provider)
        .map_err(|e| CertError::Mismatch(e.to_string()))?;
    Ok((Arc::new(key), names))
}
