//! Traefik 1.7's segment labels: `traefik.<segment>.port`, `.protocol`, `.weight`, `.backend`
//! and `traefik.<segment>.frontend.*` give one container several frontends and backends, each
//! read with the container's own labels under the segment's. Pure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::container::ContainerInfo;

/// What a segment label may set, after `traefik.<segment>.` (Traefik's
/// `SegmentPropertiesRegexp`; `portIndex` and `portName` are other providers').
const PROPERTIES: [&str; 7] = [
    "port",
    "portIndex",
    "portName",
    "weight",
    "protocol",
    "backend",
    "frontend.",
];

/// One segment: its name, the labels it is read with, and for each label taken from the
/// segment its spelling on the container (so errors name the label the user wrote).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Segment {
    pub(super) name: String,
    pub(super) container: ContainerInfo,
    pub(super) spelled: BTreeMap<String, String>,
}

/// `(segment, plain label)` when `key` is a segment label: `traefik.web.frontend.rule` →
/// `("web", "traefik.frontend.rule")`. The segment is the shortest name that leaves a
/// property, as Traefik's non-greedy expression reads it; `traefik.frontend.*` and
/// `traefik.backend.*` are never segments.
pub(super) fn split(key: &str) -> Option<(&str, String)> {
    let rest = key.strip_prefix("traefik.")?;
    if rest.starts_with("frontend.") || rest.starts_with("backend.") {
        return None;
    }
    for (i, _) in rest.match_indices('.').filter(|(i, _)| *i > 0) {
        let property = &rest[i + 1..];
        let known = PROPERTIES.iter().any(|p| match p.strip_suffix('.') {
            Some(prefix) => property
                .strip_prefix(prefix)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|r| !r.is_empty()),
            None => property == *p,
        });
        if known {
            return Some((&rest[..i], format!("traefik.{property}")));
        }
    }
    None
}

/// The label as portier reads it: a segment label in its plain spelling, others as written.
pub(super) fn plain(key: &str) -> Cow<'_, str> {
    match split(key) {
        Some((_, plain)) => Cow::Owned(plain),
        None => Cow::Borrowed(key),
    }
}

/// The container's segments in name order; empty when it has no segment label (it is then
/// read as it is).
pub(super) fn segments(c: &ContainerInfo) -> Vec<Segment> {
    let mut by_name: BTreeMap<&str, BTreeMap<String, (&str, &str)>> = BTreeMap::new();
    let mut shared: BTreeMap<String, String> = BTreeMap::new();
    for (key, value) in &c.labels {
        match split(key) {
            Some((segment, plain)) => {
                by_name
                    .entry(segment)
                    .or_default()
                    .insert(plain, (key.as_str(), value.as_str()));
            }
            None => {
                shared.insert(key.clone(), value.clone());
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, own)| {
            let mut labels = shared.clone();
            let mut spelled = BTreeMap::new();
            for (plain, (written, value)) in own {
                labels.insert(plain.clone(), value.to_string());
                spelled.insert(plain, written.to_string());
            }
            Segment {
                name: name.to_string(),
                container: ContainerInfo {
                    labels,
                    ..c.clone()
                },
                spelled,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_labels_split_as_traefik_reads_them() {
        assert_eq!(
            split("traefik.web.frontend.rule"),
            Some(("web", "traefik.frontend.rule".to_string()))
        );
        assert_eq!(
            split("traefik.admin.port"),
            Some(("admin", "traefik.port".to_string()))
        );
        assert_eq!(
            split("traefik.a.b.port"),
            Some(("a.b", "traefik.port".to_string())),
            "the shortest name that leaves a property"
        );
        assert_eq!(
            split("traefik.web.frontend.auth.basic.users"),
            Some(("web", "traefik.frontend.auth.basic.users".to_string()))
        );
        for plain in [
            "traefik.port",
            "traefik.frontend.rule",
            "traefik.backend.healthcheck.path",
            "traefik.docker.network",
            "traefik.enable",
            "traefik.web.frontend",
            "traefik.web.domain",
            "com.docker.compose.service",
        ] {
            assert_eq!(split(plain), None, "{plain}");
        }
    }

    #[test]
    fn each_segment_reads_the_shared_labels_under_its_own() {
        let mut c = ContainerInfo::labelled(
            "foo",
            &[
                ("traefik.frontend.rule", "Host:shared.local"),
                ("traefik.frontend.priority", "5"),
                ("traefik.web.port", "80"),
                ("traefik.admin.port", "8080"),
                ("traefik.admin.frontend.rule", "Host:admin.local"),
            ],
        );
        c.ports = vec![80, 8080];
        let segs = segments(&c);
        let names: Vec<&str> = segs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["admin", "web"]);
        let admin = &segs[0].container.labels;
        assert_eq!(admin["traefik.frontend.rule"], "Host:admin.local");
        assert_eq!(admin["traefik.port"], "8080");
        assert_eq!(admin["traefik.frontend.priority"], "5");
        assert!(!admin.contains_key("traefik.web.port"));
        assert_eq!(segs[0].spelled["traefik.port"], "traefik.admin.port");
        let web = &segs[1].container.labels;
        assert_eq!(web["traefik.frontend.rule"], "Host:shared.local");
        assert_eq!(web["traefik.port"], "80");
    }
}
