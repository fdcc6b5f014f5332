//! A TLS client for tests that accepts any certificate and reports the DNS names of the one
//! the server chose, so tests can check SNI selection and ACME issuance.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;

/// Accepts any certificate and remembers the DNS names of the one it was shown.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        ee: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let names = webpki::EndEntityCert::try_from(ee)
            .map(|c| c.valid_dns_names().map(String::from).collect())
            .unwrap_or_default();
        if let Ok(mut seen) = self.0.lock() {
            *seen = names;
        }
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects with `sni` and `alpn`; returns the stream (if the handshake succeeded) and the DNS
/// names of the certificate the server presented (empty when it presented none).
pub async fn connect(
    addr: SocketAddr,
    sni: &str,
    alpn: &[&[u8]],
) -> (
    Option<tokio_rustls::client::TlsStream<TcpStream>>,
    Vec<String>,
) {
    connect_with(addr, sni, alpn, rustls::DEFAULT_VERSIONS).await
}

/// The same, offering only `versions` of TLS.
pub async fn connect_with(
    addr: SocketAddr,
    sni: &str,
    alpn: &[&[u8]],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> (
    Option<tokio_rustls::client::TlsStream<TcpStream>>,
    Vec<String>,
) {
    let recorder = Arc::new(Recorder::default());
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(versions) else {
        return (None, Vec::new());
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::clone(&recorder) as Arc<dyn ServerCertVerifier>)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|a| a.to_vec()).collect();
    let Ok(tcp) = TcpStream::connect(addr).await else {
        return (None, Vec::new());
    };
    let Ok(name) = ServerName::try_from(sni.to_string()) else {
        return (None, Vec::new());
    };
    let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .ok();
    let names = recorder.0.lock().map(|n| n.clone()).unwrap_or_default();
    (stream, names)
}
