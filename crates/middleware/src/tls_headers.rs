//! `passTLSClientCert` as Traefik 1.7 sends it: the client's certificates as PEM bodies
//! without their markers and line breaks (`X-Forwarded-Tls-Client-Cert`, comma-separated) and
//! chosen fields of each (`X-Forwarded-Tls-Client-Cert-Infos`: `Subject="C=…,CN=…",NB=…,NA=…,
//! SAN=…`, certificates separated by `;`), both escaped as Go's `url.QueryEscape` does. What a
//! client sent in these headers itself is always removed first.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use model::middleware::{CertInfos, NameInfos, PassTlsClientCert};
use x509_parser::oid_registry::{OID_DOMAIN_COMPONENT, OID_X509_SERIALNUMBER};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate, X509Name};

pub(crate) const CLIENT_CERT: HeaderName = HeaderName::from_static("x-forwarded-tls-client-cert");
pub(crate) const CLIENT_CERT_INFOS: HeaderName =
    HeaderName::from_static("x-forwarded-tls-client-cert-infos");

/// A compiled `passTLSClientCert`.
#[derive(Debug)]
pub struct TlsClientHeaders {
    spec: PassTlsClientCert,
}

impl TlsClientHeaders {
    pub fn compile(spec: &PassTlsClientCert) -> TlsClientHeaders {
        TlsClientHeaders { spec: spec.clone() }
    }

    /// Sets the headers from `chain` (DER, leaf first; empty without a client certificate).
    pub fn apply<C: AsRef<[u8]>>(&self, chain: &[C], headers: &mut HeaderMap) {
        headers.remove(CLIENT_CERT);
        headers.remove(CLIENT_CERT_INFOS);
        if chain.is_empty() {
            return;
        }
        if self.spec.pem {
            let pems: Vec<String> = chain
                .iter()
                .map(|c| query_escape(&STANDARD.encode(c.as_ref())))
                .collect();
            if let Ok(v) = HeaderValue::from_str(&pems.join(",")) {
                headers.insert(CLIENT_CERT, v);
            }
        }
        if let Some(infos) = &self.spec.infos {
            let each: Vec<String> = chain
                .iter()
                .map(|c| match X509Certificate::from_der(c.as_ref()) {
                    Ok((_, cert)) => cert_infos(infos, &cert),
                    Err(_) => String::new(),
                })
                .collect();
            if let Ok(v) = HeaderValue::from_str(&query_escape(&each.join(";"))) {
                headers.insert(CLIENT_CERT_INFOS, v);
            }
        }
    }
}

fn cert_infos(infos: &CertInfos, cert: &X509Certificate<'_>) -> String {
    let mut values = Vec::new();
    if let Some(dn) = name_infos("Subject", infos.subject.as_ref(), cert.subject()) {
        values.push(dn);
    }
    if let Some(dn) = name_infos("Issuer", infos.issuer.as_ref(), cert.issuer()) {
        values.push(dn);
    }
    // 2.x/3.x quote every value; 1.7 quoted only the names.
    let q = |v: String| if infos.quoted { format!("\"{v}\"") } else { v };
    if infos.serial_number {
        values.push(format!("SerialNumber={}", q(cert.serial.to_str_radix(10))));
    }
    if infos.not_before {
        values.push(format!(
            "NB={}",
            q(cert.validity().not_before.timestamp().max(0).to_string())
        ));
    }
    if infos.not_after {
        values.push(format!(
            "NA={}",
            q(cert.validity().not_after.timestamp().max(0).to_string())
        ));
    }
    if infos.sans {
        let sans = sans(cert);
        if !(infos.quoted && sans.is_empty()) {
            values.push(format!("SAN={}", q(sans.join(","))));
        }
    }
    values.join(",")
}

/// `Subject="DC=…,C=…,ST=…,L=…,O=…,SN=…,CN=…"` with the chosen parts, in Go's order.
fn name_infos(prefix: &str, options: Option<&NameInfos>, name: &X509Name<'_>) -> Option<String> {
    let o = options?;
    let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| a.as_str().ok().map(String::from);
    let mut parts = Vec::new();
    let mut add = |on: bool, tag: &str, values: Vec<String>| {
        if on {
            parts.extend(values.into_iter().map(|v| format!("{tag}={v}")));
        }
    };
    add(
        o.domain_component,
        "DC",
        name.iter_by_oid(&OID_DOMAIN_COMPONENT)
            .filter_map(text)
            .collect(),
    );
    add(
        o.country,
        "C",
        name.iter_country().filter_map(text).collect(),
    );
    add(
        o.province,
        "ST",
        name.iter_state_or_province().filter_map(text).collect(),
    );
    add(
        o.locality,
        "L",
        name.iter_locality().filter_map(text).collect(),
    );
    add(
        o.organization,
        "O",
        name.iter_organization().filter_map(text).collect(),
    );
    add(
        o.organizational_unit,
        "OU",
        name.iter_organizational_unit().filter_map(text).collect(),
    );
    // Go keeps one subject serial number and one common name.
    add(
        o.serial_number,
        "SN",
        name.iter_by_oid(&OID_X509_SERIALNUMBER)
            .filter_map(text)
            .take(1)
            .collect(),
    );
    add(
        o.common_name,
        "CN",
        name.iter_common_name().filter_map(text).take(1).collect(),
    );
    (!parts.is_empty()).then(|| format!("{prefix}=\"{}\"", parts.join(",")))
}

/// DNS names, e-mail addresses, IP addresses, then URIs (Go's order).
fn sans(cert: &X509Certificate<'_>) -> Vec<String> {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    let names = &san.value.general_names;
    let mut out: Vec<String> = Vec::new();
    out.extend(names.iter().filter_map(|n| match n {
        GeneralName::DNSName(d) => Some(d.to_string()),
        _ => None,
    }));
    out.extend(names.iter().filter_map(|n| match n {
        GeneralName::RFC822Name(e) => Some(e.to_string()),
        _ => None,
    }));
    out.extend(names.iter().filter_map(|n| match n {
        GeneralName::IPAddress(b) => ip_text(b),
        _ => None,
    }));
    out.extend(names.iter().filter_map(|n| match n {
        GeneralName::URI(u) => Some(u.to_string()),
        _ => None,
    }));
    out
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, a space becomes `+`, every other
/// byte `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert() -> Vec<u8> {
        let mut params =
            rcgen::CertificateParams::new(vec!["client.test".to_string()]).expect("params");
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::CountryName, "FR");
        dn.push(rcgen::DnType::OrganizationName, "Portier Co");
        dn.push(rcgen::DnType::OrganizationalUnitName, "Ops");
        dn.push(rcgen::DnType::CommonName, "alice");
        params.distinguished_name = dn;
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress("10.0.0.1".parse().expect("ip")));
        let key = rcgen::KeyPair::generate().expect("key");
        params.self_signed(&key).expect("cert").der().to_vec()
    }

    #[test]
    fn pem_and_infos_as_traefik_sends_them() {
        let der = cert();
        let headers_for = |spec: PassTlsClientCert| {
            let mut h = HeaderMap::new();
            h.insert(CLIENT_CERT, "spoofed".parse().expect("v"));
            TlsClientHeaders::compile(&spec).apply(&[&der], &mut h);
            h
        };
        let h = headers_for(PassTlsClientCert {
            pem: true,
            infos: None,
        });
        let pem = h[CLIENT_CERT].to_str().expect("ascii");
        assert_eq!(pem, query_escape(&STANDARD.encode(&der)));
        assert!(!pem.contains('/') && !pem.contains('+'), "escaped: {pem}");
        assert!(h.get(CLIENT_CERT_INFOS).is_none());

        let h = headers_for(PassTlsClientCert {
            pem: false,
            infos: Some(CertInfos {
                sans: true,
                subject: Some(NameInfos {
                    common_name: true,
                    country: true,
                    organization: true,
                    ..NameInfos::default()
                }),
                ..CertInfos::default()
            }),
        });
        assert!(h.get(CLIENT_CERT).is_none(), "a spoofed header is removed");
        assert_eq!(
            h[CLIENT_CERT_INFOS],
            query_escape("Subject=\"C=FR,O=Portier Co,CN=alice\",SAN=client.test,10.0.0.1")
        );
        // 2.x/3.x: every value quoted, the serial number after the names.
        let h = headers_for(PassTlsClientCert {
            pem: false,
            infos: Some(CertInfos {
                sans: true,
                serial_number: true,
                quoted: true,
                subject: Some(NameInfos {
                    common_name: true,
                    organizational_unit: true,
                    ..NameInfos::default()
                }),
                ..CertInfos::default()
            }),
        });
        let text = h[CLIENT_CERT_INFOS].to_str().expect("ascii").to_string();
        let prefix = query_escape("Subject=\"OU=Ops,CN=alice\",SerialNumber=\"");
        let suffix = query_escape("\",SAN=\"client.test,10.0.0.1\"");
        assert!(
            text.starts_with(&prefix) && text.ends_with(&suffix),
            "{text}"
        );
        let serial = &text[prefix.len()..text.len() - suffix.len()];
        assert!(
            !serial.is_empty() && serial.bytes().all(|b| b.is_ascii_digit()),
            "{serial}"
        );
    }

    #[test]
    fn without_a_certificate_only_the_spoofed_headers_go() {
        let mut h = HeaderMap::new();
        h.insert(CLIENT_CERT_INFOS, "spoofed".parse().expect("v"));
        let none: [&[u8]; 0] = [];
        TlsClientHeaders::compile(&PassTlsClientCert {
            pem: true,
            infos: Some(CertInfos::default()),
        })
        .apply(&none, &mut h);
        assert!(h.is_empty());
    }

    #[test]
    fn query_escape_matches_go() {
        assert_eq!(
            query_escape("a b+c/d=e\"f,g~h"),
            "a+b%2Bc%2Fd%3De%22f%2Cg~h"
        );
    }
}
