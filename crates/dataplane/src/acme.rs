//! ACME (Let's Encrypt) certificates with rustls-acme: one order state per domain set (one per
//! host for `onHostRule`), each its own task, so a failing order never blocks other hosts or
//! plain HTTP. TLS-ALPN-01 challenges are answered on the ACME entrypoint, HTTP-01 ones (with
//! `httpChallenge`) on its entrypoint by the data plane. Certificates and the account are kept
//! in `storage` (a directory) and reused after a restart.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_acme::caches::DirCache;
use rustls_acme::{AcmeConfig, ResolvesServerCertAcme};
use tokio::sync::watch;

use config::AcmeSettings;
use control::table::RoutingTable;

/// Host → the ACME resolver that holds (or is ordering) its certificate. Read on every TLS
/// handshake of the ACME entrypoint; written when a new host appears.
#[derive(Debug, Default)]
pub struct AcmeCerts {
    by_host: ArcSwap<HashMap<String, Arc<ResolvesServerCertAcme>>>,
}

impl AcmeCerts {
    pub fn get(&self, host: &str) -> Option<Arc<ResolvesServerCertAcme>> {
        self.by_host.load().get(host).cloned()
    }

    /// The HTTP-01 answer for `token` of a challenge running for `host`.
    pub fn http_01(&self, host: &str, token: &str) -> Option<String> {
        self.get(host)?.get_http_01_key_auth(token)
    }

    fn insert(&self, hosts: &[String], resolver: Arc<ResolvesServerCertAcme>) {
        let mut map = (**self.by_host.load()).clone();
        for h in hosts {
            map.insert(h.clone(), Arc::clone(&resolver));
        }
        self.by_host.store(Arc::new(map));
    }
}

/// Starts the fixed `[[acme.domains]]` orders and, as tables arrive, one order per host: with
/// `onHostRule`, of the ACME entrypoint's frontends; for a named (2.x/3.x) resolver, of the
/// routers that name it.
pub fn spawn(
    settings: AcmeSettings,
    certs: Arc<AcmeCerts>,
    mut tables: watch::Receiver<Arc<RoutingTable>>,
) {
    let client_tls = client_config();
    let mut ordered: BTreeSet<String> = BTreeSet::new();
    for domains in &settings.domains {
        ordered.extend(domains.iter().cloned());
        start_order(&settings, &certs, domains.clone(), client_tls.clone());
    }
    if !settings.on_host_rule && settings.name.is_none() {
        return;
    }
    tokio::spawn(async move {
        loop {
            let table = tables.borrow_and_update().clone();
            for host in hosts_to_order(&settings, &table) {
                if ordered.insert(host.clone()) {
                    start_order(&settings, &certs, vec![host], client_tls.clone());
                }
            }
            if tables.changed().await.is_err() {
                return;
            }
        }
    });
}

/// The hosts `settings` orders certificates for: a 2.x/3.x resolver, those of the routers
/// that name it, on any entrypoint (and the first resolver, the Host rules of 1.x frontends on
/// its entrypoint, as `onHostRule`); 1.x's `[acme]`, every Host rule on its entrypoint. A
/// router's `tls.domains` come with its hosts.
fn hosts_to_order(settings: &AcmeSettings, table: &RoutingTable) -> BTreeSet<String> {
    let on_entry_point = (table.entry_points.get(&settings.entry_point))
        .into_iter()
        .flat_map(|ep| ep.routes());
    let routes: Vec<&Arc<control::table::CompiledRoute>> = match &settings.name {
        Some(name) => (table.entry_points.values())
            .flat_map(|ep| ep.routes())
            .filter(|r| r.cert_resolver.as_deref() == Some(name.as_str()))
            .chain(
                on_entry_point
                    .filter(|r| settings.on_host_rule && r.rule.syntax == model::rules::Syntax::V1),
            )
            .collect(),
        None => on_entry_point.collect(),
    };
    let mut hosts: BTreeSet<String> = routes
        .iter()
        .flat_map(|r| {
            r.rule
                .hosts()
                .unwrap_or_default()
                .iter()
                .chain(&r.tls_domains)
        })
        .cloned()
        .collect();
    // TCP routers that end TLS and name this resolver: their HostSNI names and domains.
    if let Some(name) = &settings.name {
        let tcp = (table.l4.tcp.values())
            .flat_map(|r| r.routes.iter())
            .filter(|r| r.cert_resolver.as_deref() == Some(name.as_str()));
        for r in tcp {
            hosts.extend(r.rule.sni_names());
            hosts.extend(r.tls_domains.iter().cloned());
        }
    }
    hosts
}

fn start_order(
    settings: &AcmeSettings,
    certs: &Arc<AcmeCerts>,
    domains: Vec<String>,
    client_tls: Option<Arc<rustls::ClientConfig>>,
) {
    // One cache directory per domain set, so states never overwrite each other.
    let dir: PathBuf = settings.storage.join(domains.join("+"));
    let mut config = AcmeConfig::new(domains.clone())
        .directory(&settings.ca_server)
        .cache(DirCache::new(dir));
    if let Some(email) = &settings.email {
        config = config.contact_push(format!("mailto:{email}"));
    }
    if let Some(tls) = client_tls {
        config = config.client_tls_config(tls);
    }
    if settings.http_challenge.is_some() {
        config = config.challenge_type(rustls_acme::UseChallenge::Http01);
    }
    let mut state = config.state();
    certs.insert(&domains, state.resolver());
    tracing::info!(
        "acme: ordering a certificate for {} from {}",
        domains.join(", "),
        settings.ca_server
    );
    tokio::spawn(async move {
        while let Some(event) = state.next().await {
            match event {
                Ok(ok) => tracing::info!("acme {}: {ok:?}", domains.join(", ")),
                // rustls-acme retries with its own backoff; other hosts are not affected.
                Err(err) => tracing::warn!("acme {}: {err}; retrying", domains.join(", ")),
            }
        }
    });
}

/// The TLS client used to talk to the CA: webpki roots, plus the PEM file named by
/// `LEGO_CA_CERTIFICATES` (Traefik's variable for a private CA such as pebble).
fn client_config() -> Option<Arc<rustls::ClientConfig>> {
    let path = std::env::var("LEGO_CA_CERTIFICATES").ok()?;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    match std::fs::read(&path) {
        Ok(pem) => {
            for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
                if let Err(e) = roots.add(cert) {
                    tracing::error!("LEGO_CA_CERTIFICATES {path}: {e}");
                }
            }
        }
        Err(e) => tracing::error!("LEGO_CA_CERTIFICATES {path}: {e}"),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Some(Arc::new(cfg))
}
