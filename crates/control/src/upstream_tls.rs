//! TLS to `https://` servers: webpki roots plus `rootCAs`, or no verification at all with
//! `insecureSkipVerify` (Traefik 1.x keys). HTTP/1.1 is negotiated by ALPN.

use std::sync::Arc;

use rustls::ClientConfig;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
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
#[error("rootCAs: {what}: {message}")]
pub struct UpstreamTlsError {
    pub what: String,
    pub message: String,
}

/// The client TLS configuration for `https://` servers and their health checks.
pub fn client_config(config: &Config) -> Result<Arc<ClientConfig>, UpstreamTlsError> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamTlsError {
            what: "TLS versions".into(),
            message: e.to_string(),
        })?;
    // ALPN (http/1.1) is set by the hyper-rustls connector.
    let cfg = if config.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for ca in &config.root_cas {
            let what = if ca.contains("-----BEGIN") {
                "(inline PEM)".to_string()
            } else {
                ca.clone()
            };
            let pem = if ca.contains("-----BEGIN") {
                ca.clone()
            } else {
                std::fs::read_to_string(ca).map_err(|e| UpstreamTlsError {
                    what: what.clone(),
                    message: e.to_string(),
                })?
            };
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| UpstreamTlsError {
                    what: what.clone(),
                    message: format!("not a PEM certificate: {e}"),
                })?;
                roots.add(cert).map_err(|e| UpstreamTlsError {
                    what: what.clone(),
                    message: e.to_string(),
                })?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(cfg))
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
