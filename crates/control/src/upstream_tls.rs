//! TLS to `https://` servers and forward-auth servers: webpki roots plus extra CAs (`rootCAs`,
//! `auth.forward.tls.ca`), or no verification at all with `insecureSkipVerify`, and a client
//! certificate where one is asked for. HTTP/1.1 is negotiated by ALPN.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use hyper_util::client::legacy::connect::HttpConnector;

use config::Config;

/// A connector that speaks TLS to `https://` URLs and plain TCP to `http://` ones.
pub type HttpsConnector = hyper_rustls::HttpsConnector<HttpConnector>;

/// Wraps `http` with `tls` (HTTP/1.1 by ALPN); used by the proxy and the health checker.
pub fn https_connector(mut http: HttpConnector, tls: &ClientConfig) -> HttpsConnector {
    http.enforce_http(false);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

#[derive(Debug, thiserror::Error)]
#[error("{what}: {message}")]
pub struct UpstreamTlsError {
    pub what: String,
    pub message: String,
}

/// What a TLS client trusts and shows: extra CAs (file paths or inline PEM) beside the webpki
/// roots, no verification at all, and a client certificate and key (file paths or PEM).
#[derive(Debug, Default, Clone, Copy)]
pub struct ClientTlsSpec<'a> {
    pub cas: &'a [String],
    pub insecure_skip_verify: bool,
    pub identity: Option<(&'a str, &'a str)>,
    /// Names the setting in errors (`rootCAs`, `frontend f auth.forward.tls`).
    pub setting: &'a str,
}

/// The client TLS configuration for `https://` servers and their health checks.
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>, UpstreamTlsError> {
    client_config_for(&ClientTlsSpec {
        cas: &config.root_cas,
        insecure_skip_verify: config.insecure_skip_verify,
        identity: None,
        setting: "rootCAs",
    })
}

/// The client TLS configuration `spec` describes.
pub fn client_config_for(spec: &ClientTlsSpec<'_>) -> Result<Arc<ClientConfig>, UpstreamTlsError> {
    let fail = |what: &str, message: String| UpstreamTlsError {
        what: format!("{}: {what}", spec.setting),
        message,
    };
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("TLS versions", e.to_string()))?;
    // ALPN (http/1.1) is set by the hyper-rustls connector.
    let builder = if spec.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for ca in spec.cas {
            let (what, pem) = pem_or_file(ca).map_err(|(w, m)| fail(&w, m))?;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| fail(&what, format!("not a PEM certificate: {e}")))?;
                roots.add(cert).map_err(|e| fail(&what, e.to_string()))?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let cfg = match spec.identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let (what, pem) = pem_or_file(cert).map_err(|(w, m)| fail(&w, m))?;
            let chain = CertificateDer::pem_slice_iter(pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail(&what, format!("not a PEM certificate: {e}")))?;
            let (kwhat, kpem) = pem_or_file(key).map_err(|(w, m)| fail(&w, m))?;
            let key = PrivateKeyDer::from_pem_slice(kpem.as_bytes())
                .map_err(|e| fail(&kwhat, format!("not a PEM private key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| fail(&what, e.to_string()))?
        }
    };
    Ok(Arc::new(cfg))
}

/// `value` itself when it is PEM, else the file it names; with how to name it in errors.
fn pem_or_file(value: &str) -> Result<(String, String), (String, String)> {
    if value.contains("-----BEGIN") {
        return Ok(("(inline PEM)".to_string(), value.to_string()));
    }
    std::fs::read_to_string(value)
        .map(|pem| (value.to_string(), pem))
        .map_err(|e| (value.to_string(), e.to_string()))
}

/// `insecureSkipVerify = true`: any certificate is accepted (signatures are still checked).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
