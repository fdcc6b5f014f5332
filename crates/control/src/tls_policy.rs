//! Which TLS options set a TLS entrypoint applies to a connection, by the SNI host the client
//! asks for (pure, built once per routing table): the hosts of the `Host` rules of routers
//! that name a set (`tls.options`), else the `default` set when a provider defines one, else
//! the entrypoint's own settings. Two routers of one host naming different sets get the
//! default, with an error on each (as Traefik).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use model::dynamic::{ProviderConfig, ProviderError, TlsOptions};

use crate::table::EntryPointRoutes;

/// The options sets in use.
#[derive(Debug, Default, PartialEq)]
pub struct TlsPolicy {
    /// `tls.options.default`, when a provider defines it.
    pub default: Option<Arc<TlsOptions>>,
    /// Entrypoint → host (lower case) → the set (`name@provider`) and its options.
    pub hosts: BTreeMap<String, BTreeMap<String, (String, Arc<TlsOptions>)>>,
}

/// The options set `qualified` (`name@provider`) names, if defined.
pub(crate) fn find<'a>(
    providers: &'a BTreeMap<String, Arc<ProviderConfig>>,
    qualified: &str,
) -> Option<&'a TlsOptions> {
    let (name, provider) = qualified.rsplit_once('@')?;
    providers.get(provider)?.tls.options.get(name)
}

/// The policy of the compiled `entry_points` (name → routes) over `providers`; conflicts go to
/// `errors`.
pub(crate) fn build<'a>(
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    entry_points: impl Iterator<Item = (&'a String, &'a EntryPointRoutes)>,
    l4: &crate::l4::L4Table,
    errors: &mut Vec<ProviderError>,
) -> TlsPolicy {
    let defined: Vec<(&String, &TlsOptions)> = (providers.iter())
        .filter_map(|(p, c)| c.tls.options.get("default").map(|o| (p, o)))
        .collect();
    if let [(first, _), (second, _), ..] = defined.as_slice() {
        errors.push(ProviderError::Compile {
            provider: (*second).clone(),
            at: None,
            item: "tls.options.default".into(),
            message: format!("also defined by provider {first}, whose options apply"),
        });
    }
    let mut policy = TlsPolicy {
        default: defined.first().map(|(_, o)| Arc::new((*o).clone())),
        hosts: BTreeMap::new(),
    };
    let http: BTreeMap<&String, &EntryPointRoutes> = entry_points.collect();
    let mut names: BTreeSet<&String> = http.keys().copied().collect();
    names.extend(l4.tcp.keys());
    for ep in names {
        let mut hosts: BTreeMap<String, (String, Arc<TlsOptions>)> = BTreeMap::new();
        let mut conflicts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Each route's set and the host names it is chosen for: HTTPS routers' Host rules,
        // and terminating TCP routers' HostSNI names.
        let http_sets = (http.get(ep).into_iter())
            .flat_map(|r| r.routes())
            .filter_map(|r| {
                Some((
                    r.tls_options.as_ref()?,
                    r.rule.hosts().unwrap_or_default().to_vec(),
                ))
            });
        let tcp_sets = (l4.tcp.get(ep).into_iter())
            .flat_map(|r| r.routes.iter())
            .filter_map(|r| Some((r.tls_options.as_ref()?, r.rule.sni_names())));
        for (set, route_hosts) in http_sets.chain(tcp_sets) {
            let Some(options) = find(providers, set) else {
                continue;
            };
            for host in route_hosts {
                let host = host.to_ascii_lowercase();
                match hosts.get(&host) {
                    Some((other, _)) if other != set => {
                        let c = conflicts.entry(host).or_default();
                        c.push(other.clone());
                        c.push(set.clone());
                    }
                    Some(_) => {}
                    None => {
                        hosts.insert(host, (set.clone(), Arc::new(options.clone())));
                    }
                }
            }
        }
        for (host, mut sets) in conflicts {
            hosts.remove(&host);
            sets.sort();
            sets.dedup();
            errors.push(ProviderError::Compile {
                provider: "tls".into(),
                at: None,
                item: format!("entrypoint {ep} host {host}"),
                message: format!(
                    "routers name different TLS options ({}); the default options apply, as Traefik does",
                    sets.join(", ")
                ),
            });
        }
        if !hosts.is_empty() {
            policy.hosts.insert(ep.clone(), hosts);
        }
    }
    policy
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::CompiledRoute;
    use model::dynamic::TlsSection;

    fn route(name: &str, rule: &str, set: Option<&str>) -> Arc<CompiledRoute> {
        let rule = model::rules::parse_rule(rule, model::rules::Syntax::V3).expect("parses");
        Arc::new(CompiledRoute {
            tls_options: set.map(String::from),
            ..CompiledRoute::for_test(name, rule)
        })
    }

    #[test]
    fn hosts_take_their_routers_set_and_conflicts_fall_back_to_the_default() {
        let set = |strict: bool| TlsOptions {
            sni_strict: strict,
            ..TlsOptions::default()
        };
        let file = ProviderConfig {
            tls: TlsSection {
                options: [
                    ("default".to_string(), set(false)),
                    ("a".to_string(), set(true)),
                    ("b".to_string(), TlsOptions::default()),
                ]
                .into(),
                ..TlsSection::default()
            },
            ..ProviderConfig::default()
        };
        let providers: BTreeMap<String, Arc<ProviderConfig>> =
            [("file".to_string(), Arc::new(file))].into();
        let routes = EntryPointRoutes::new(vec![
            route("one", "Host(`one.test`)", Some("a@file")),
            route("x1", "Host(`x.test`)", Some("a@file")),
            route("x2", "Host(`x.test`) && Path(`/b`)", Some("b@file")),
            route("plain", "Host(`plain.test`)", None),
            route("gone", "Host(`gone.test`)", Some("nope@file")),
        ]);
        let mut errors = Vec::new();
        let ep = "websecure".to_string();
        let p = build(
            &providers,
            std::iter::once((&ep, &routes)),
            &Default::default(),
            &mut errors,
        );
        assert_eq!(p.default.as_deref(), Some(&set(false)));
        let hosts = &p.hosts["websecure"];
        assert_eq!(hosts.keys().collect::<Vec<_>>(), ["one.test"]);
        assert_eq!(hosts["one.test"].0, "a@file");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].to_string().contains("host x.test")
                && errors[0].to_string().contains("(a@file, b@file)"),
            "{}",
            errors[0]
        );
    }
}
