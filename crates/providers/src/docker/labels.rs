//! The `traefik.*` labels portier reads: one table names every label with the kind of value
//! it takes, and drives both validation (a bad value is an error naming container, label and
//! value) and the list of labels portier knows. Pure.

use std::collections::BTreeMap;
use std::time::Duration;

use model::dynamic::ProviderError;
use model::rules;

use super::container::ContainerInfo;

pub(super) const LABEL_ENABLE: &str = "traefik.enable";
pub(super) const LABEL_BACKEND: &str = "traefik.backend";
pub(super) const LABEL_PORT: &str = "traefik.port";
pub(super) const LABEL_PROTOCOL: &str = "traefik.protocol";
pub(super) const LABEL_WEIGHT: &str = "traefik.weight";
pub(super) const LABEL_DOMAIN: &str = "traefik.domain";
pub(super) const LABEL_NETWORK: &str = "traefik.docker.network";
/// Traefik 3's swarm provider spells `traefik.docker.network` so.
pub(super) const LABEL_SWARM_NETWORK: &str = "traefik.swarm.network";
pub(super) const LABEL_TAGS: &str = "traefik.tags";
pub(super) const LABEL_RULE: &str = "traefik.frontend.rule";
pub(super) const LABEL_PRIORITY: &str = "traefik.frontend.priority";
pub(super) const LABEL_ENTRYPOINTS: &str = "traefik.frontend.entryPoints";
pub(super) const LABEL_PASS_HOST: &str = "traefik.frontend.passHostHeader";
pub(super) const LABEL_REDIRECT_EP: &str = "traefik.frontend.redirect.entryPoint";
pub(super) const LABEL_REDIRECT_PERMANENT: &str = "traefik.frontend.redirect.permanent";
pub(super) const LABEL_REDIRECT_REGEX: &str = "traefik.frontend.redirect.regex";
pub(super) const LABEL_REDIRECT_REPLACEMENT: &str = "traefik.frontend.redirect.replacement";
pub(super) const LABEL_HC_PATH: &str = "traefik.backend.healthcheck.path";
pub(super) const LABEL_HC_INTERVAL: &str = "traefik.backend.healthcheck.interval";
pub(super) const LABEL_HC_PORT: &str = "traefik.backend.healthcheck.port";
pub(super) const LABEL_HC_HOSTNAME: &str = "traefik.backend.healthcheck.hostname";
pub(super) const LABEL_HC_HEADERS: &str = "traefik.backend.healthcheck.headers";
pub(super) const LABEL_CIRCUIT_BREAKER: &str = "traefik.backend.circuitbreaker.expression";
pub(super) const LABEL_FLUSH_INTERVAL: &str = "traefik.backend.responseForwarding.flushInterval";
pub(super) const LABEL_LB_METHOD: &str = "traefik.backend.loadbalancer.method";
pub(super) const LABEL_STICKY: &str = "traefik.backend.loadbalancer.sticky";
pub(super) const LABEL_STICKINESS: &str = "traefik.backend.loadbalancer.stickiness";
pub(super) const LABEL_STICKINESS_COOKIE: &str =
    "traefik.backend.loadbalancer.stickiness.cookieName";
pub(super) const LABEL_STICKINESS_SECURE: &str = "traefik.backend.loadbalancer.stickiness.secure";
pub(super) const LABEL_STICKINESS_HTTP_ONLY: &str =
    "traefik.backend.loadbalancer.stickiness.httpOnly";
pub(super) const LABEL_STICKINESS_SAME_SITE: &str =
    "traefik.backend.loadbalancer.stickiness.sameSite";

/// The kind of value a label takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Go's `strconv.ParseBool`.
    Bool,
    /// 1 to 65535.
    Port,
    /// A whole number, possibly negative.
    Int,
    /// A whole number of 0 or more.
    Weight,
    /// Go duration (`10s`, `1m30s`) or a bare number of seconds.
    Duration,
    /// `http`, `https` or `h2c`.
    Protocol,
    /// `wrr` or `drr` (any case).
    Method,
    /// A Traefik 1.x frontend rule.
    Rule,
    /// Comma-separated names.
    List,
    /// Traefik's map syntax `K:v||K2:v2`.
    Map,
    /// Any text.
    Text,
}

/// Every label portier reads, with its kind, in the order values are checked.
pub(super) const LABELS: [(&str, Kind); 30] = [
    (LABEL_ENABLE, Kind::Bool),
    (LABEL_TAGS, Kind::List),
    (LABEL_BACKEND, Kind::Text),
    (LABEL_DOMAIN, Kind::Text),
    (LABEL_RULE, Kind::Rule),
    (LABEL_PRIORITY, Kind::Int),
    (LABEL_PASS_HOST, Kind::Bool),
    (LABEL_ENTRYPOINTS, Kind::List),
    (LABEL_PORT, Kind::Port),
    (LABEL_PROTOCOL, Kind::Protocol),
    (LABEL_WEIGHT, Kind::Weight),
    (LABEL_REDIRECT_EP, Kind::Text),
    (LABEL_REDIRECT_PERMANENT, Kind::Bool),
    (LABEL_REDIRECT_REGEX, Kind::Text),
    (LABEL_REDIRECT_REPLACEMENT, Kind::Text),
    (LABEL_HC_PATH, Kind::Text),
    (LABEL_HC_INTERVAL, Kind::Duration),
    (LABEL_HC_PORT, Kind::Port),
    (LABEL_HC_HOSTNAME, Kind::Text),
    (LABEL_HC_HEADERS, Kind::Map),
    (LABEL_NETWORK, Kind::Text),
    (LABEL_LB_METHOD, Kind::Method),
    (LABEL_CIRCUIT_BREAKER, Kind::Text),
    (LABEL_FLUSH_INTERVAL, Kind::Duration),
    (LABEL_STICKY, Kind::Bool),
    (LABEL_STICKINESS, Kind::Bool),
    (LABEL_STICKINESS_COOKIE, Kind::Text),
    (LABEL_STICKINESS_SECURE, Kind::Bool),
    (LABEL_STICKINESS_HTTP_ONLY, Kind::Bool),
    (LABEL_STICKINESS_SAME_SITE, Kind::Text),
];

/// Whether portier reads `key`.
pub(super) fn is_known(key: &str) -> bool {
    LABELS.iter().any(|(k, _)| *k == key)
}

/// Why a label's value is not of its kind.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(super) enum BadValue {
    #[error("not a boolean (true or false)")]
    Bool,
    #[error("not a port number (1-65535)")]
    Port,
    #[error("not a whole number")]
    Int,
    #[error("not a whole number of 0 or more")]
    Weight,
    #[error(transparent)]
    Duration(#[from] model::duration::DurationError),
    #[error("use http, https or h2c")]
    Protocol,
    #[error("use wrr or drr")]
    Method,
    #[error(transparent)]
    Rule(#[from] rules::RuleError),
}

/// A label's value, read as its kind.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Bool(bool),
    Port(u16),
    Int(i64),
    Weight(u32),
    Duration(Duration),
    Text(String),
    List(Vec<String>),
    Map(BTreeMap<String, String>),
}

impl Kind {
    /// Reads `text` as this kind, or says why it is not one.
    pub(super) fn read(self, text: &str) -> Result<Value, BadValue> {
        let t = text.trim();
        match self {
            Kind::Bool => parse_bool(t).map(Value::Bool).ok_or(BadValue::Bool),
            Kind::Port => t
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .map(Value::Port)
                .ok_or(BadValue::Port),
            Kind::Int => t.parse::<i64>().map(Value::Int).map_err(|_| BadValue::Int),
            Kind::Weight => t
                .parse::<u32>()
                .map(Value::Weight)
                .map_err(|_| BadValue::Weight),
            Kind::Duration => Ok(Value::Duration(model::duration::parse_go_duration(t)?)),
            Kind::Protocol => match t {
                "http" | "https" | "h2c" => Ok(Value::Text(t.to_string())),
                _ => Err(BadValue::Protocol),
            },
            Kind::Method => match t.to_ascii_lowercase().as_str() {
                m @ ("wrr" | "drr") => Ok(Value::Text(m.to_string())),
                _ => Err(BadValue::Method),
            },
            Kind::Rule => {
                rules::parse(text)?;
                Ok(Value::Text(text.to_string()))
            }
            Kind::List => Ok(Value::List(
                t.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            )),
            Kind::Map => Ok(Value::Map(parse_map(t))),
            Kind::Text => Ok(Value::Text(text.to_string())),
        }
    }
}

/// A container's known labels, read and checked against the table. Empty values count as
/// absent, as in Traefik.
#[derive(Debug, Default)]
pub(super) struct Labels {
    values: BTreeMap<&'static str, Value>,
}

impl Labels {
    /// Reads every known label of `c`; the first bad value (in table order) is the error.
    pub(super) fn read(c: &ContainerInfo) -> Result<Labels, ProviderError> {
        let mut values = BTreeMap::new();
        for (key, kind) in LABELS {
            if let Some(v) = c.labels.get(key).filter(|v| !v.is_empty()) {
                let value = kind
                    .read(v)
                    .map_err(|reason| bad_value(c, key, &reason.to_string()))?;
                values.insert(key, value);
            }
        }
        Ok(Labels { values })
    }

    pub(super) fn bool(&self, key: &str) -> Option<bool> {
        match self.values.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub(super) fn port(&self, key: &str) -> Option<u16> {
        match self.values.get(key) {
            Some(Value::Port(p)) => Some(*p),
            _ => None,
        }
    }

    pub(super) fn int(&self, key: &str) -> Option<i64> {
        match self.values.get(key) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    pub(super) fn weight(&self, key: &str) -> Option<u32> {
        match self.values.get(key) {
            Some(Value::Weight(w)) => Some(*w),
            _ => None,
        }
    }

    pub(super) fn duration(&self, key: &str) -> Option<Duration> {
        match self.values.get(key) {
            Some(Value::Duration(d)) => Some(*d),
            _ => None,
        }
    }

    pub(super) fn text(&self, key: &str) -> Option<&str> {
        match self.values.get(key) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    pub(super) fn list(&self, key: &str) -> &[String] {
        match self.values.get(key) {
            Some(Value::List(l)) => l,
            _ => &[],
        }
    }

    pub(super) fn map(&self, key: &str) -> BTreeMap<String, String> {
        match self.values.get(key) {
            Some(Value::Map(m)) => m.clone(),
            _ => BTreeMap::new(),
        }
    }
}

/// `container C label K: value "V": REASON; container left out`.
pub(super) fn bad_value(c: &ContainerInfo, key: &str, reason: &str) -> ProviderError {
    ProviderError::Label {
        container: c.name.clone(),
        label: key.to_string(),
        message: format!(
            "value {:?}: {reason}; container left out",
            c.labels.get(key).map(String::as_str).unwrap_or("")
        ),
    }
}

/// Go's `strconv.ParseBool`.
pub(super) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Traefik's map syntax: `K:v||K2:v2` (split on the first `:`, entries without one skipped).
pub(super) fn parse_map(v: &str) -> BTreeMap<String, String> {
    v.split("||")
        .filter_map(|e| e.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_reads_or_says_why_not() {
        assert_eq!(Kind::Bool.read("True"), Ok(Value::Bool(true)));
        assert!(Kind::Bool.read("yes").is_err());
        assert_eq!(Kind::Port.read(" 80 "), Ok(Value::Port(80)));
        assert_eq!(Kind::Port.read("0"), Err(BadValue::Port));
        assert_eq!(BadValue::Port.to_string(), "not a port number (1-65535)");
        assert_eq!(Kind::Int.read("-5"), Ok(Value::Int(-5)));
        assert!(Kind::Weight.read("-1").is_err());
        assert_eq!(
            Kind::Duration.read("500ms"),
            Ok(Value::Duration(Duration::from_millis(500)))
        );
        assert!(Kind::Protocol.read("ftp").is_err());
        assert!(Kind::Rule.read("Hots:x").is_err());
        assert_eq!(
            Kind::List.read("http, admin,"),
            Ok(Value::List(vec!["http".into(), "admin".into()]))
        );
        assert_eq!(
            Kind::Map.read("X-Probe:1||x-other: two||junk"),
            Ok(Value::Map(
                [
                    ("X-Probe".to_string(), "1".to_string()),
                    ("x-other".to_string(), "two".to_string())
                ]
                .into()
            ))
        );
    }

    #[test]
    fn the_table_has_each_label_once() {
        let mut keys: Vec<&str> = LABELS.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), LABELS.len());
        assert!(is_known("traefik.port") && !is_known("traefik.frontend.auth.basic"));
    }
}
