//! Traefik 1.7 keys portier does not implement and Traefik acts on: each is refused with what
//! it would have done, never passed over as an unknown key (Traefik would not ignore it, so a
//! configuration that uses it would run differently). Pure.

/// Key (or section) prefixes, as Traefik 1.7 spells them, with what Traefik does with them.
const NOT_IMPLEMENTED: [(&str, &str); 28] = [
    ("marathon", "the Marathon provider"),
    ("consul", "the Consul KV provider"),
    ("consulCatalog", "the Consul Catalog provider"),
    ("etcd", "the etcd provider"),
    ("zookeeper", "the ZooKeeper provider"),
    ("boltdb", "the BoltDB provider"),
    ("kubernetes", "the Kubernetes Ingress provider"),
    ("mesos", "the Mesos provider"),
    ("eureka", "the Eureka provider"),
    ("ecs", "the Amazon ECS provider"),
    ("rancher", "the Rancher provider"),
    ("dynamodb", "the DynamoDB provider"),
    ("servicefabric", "the Service Fabric provider"),
    ("rest", "the REST provider"),
    ("tracing", "OpenTracing (Jaeger, Zipkin, Datadog)"),
    ("cluster", "Traefik's cluster mode"),
    ("hostResolver", "CNAME flattening"),
    (
        "healthcheck",
        "a global health-check interval (set it per backend)",
    ),
    (
        "allowMinWeightZero",
        "weight 0 as a real weight (portier accepts 0 already)",
    ),
    ("metrics.datadog", "the Datadog metrics exporter"),
    ("metrics.statsd", "the StatsD metrics exporter"),
    ("metrics.influxdb", "the InfluxDB metrics exporter"),
    ("api.statistics", "recent-error statistics in the API"),
    ("web.statistics", "recent-error statistics in the API"),
    ("docker.filename", "a custom Docker template"),
    (
        "docker.tls",
        "TLS to the Docker endpoint (mount the unix socket, or use a socket proxy on tcp://)",
    ),
    (
        "docker.debugLogGeneratedTemplate",
        "a custom Docker template",
    ),
    ("docker.templateVersion", "a custom Docker template"),
];

/// What Traefik does with `key` (a dotted key from the file), when portier does not do it.
pub(crate) fn not_implemented(key: &str) -> Option<&'static str> {
    let key = key.to_ascii_lowercase();
    NOT_IMPLEMENTED.iter().find_map(|(prefix, what)| {
        let prefix = prefix.to_ascii_lowercase();
        let under = key
            .strip_prefix(&prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'));
        under.then_some(*what)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_their_keys_in_any_case() {
        assert_eq!(
            not_implemented("kubernetes"),
            Some("the Kubernetes Ingress provider")
        );
        assert_eq!(
            not_implemented("consulcatalog.endpoint"),
            Some("the Consul Catalog provider")
        );
        assert_eq!(
            not_implemented("api.statistics.recentErrors"),
            Some("recent-error statistics in the API")
        );
        assert_eq!(not_implemented("consulx"), None);
        assert_eq!(
            not_implemented("docker.endpont"),
            None,
            "a typo stays a typo"
        );
        assert_eq!(not_implemented("restx.a"), None);
    }
}
