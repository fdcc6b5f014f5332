//! Durations as Traefik 1.x writes them: Go syntax (`"10s"`, `"1m30s"`, `"250ms"`) or a bare
//! integer meaning seconds (`10` or `"10"`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A duration read from the config; keeps Go's spelling rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GoDuration(pub Duration);

/// Why a duration did not parse; each message quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("missing unit in duration {0:?} (use ns, us, ms, s, m, h)")]
    MissingUnit(String),
    #[error("expected a number in duration {0:?}")]
    ExpectedNumber(String),
    #[error("bad number in duration {0:?}")]
    BadNumber(String),
    #[error("unknown unit {unit:?} in duration {text:?} (use ns, us, ms, s, m, h)")]
    UnknownUnit { unit: String, text: String },
    #[error("duration {text:?} out of range: {reason}")]
    OutOfRange { text: String, reason: String },
}

/// Parses `"1h2m3.5s"`, `"250ms"`, `"0"`, `"42"` (seconds).
pub fn parse_go_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| DurationError::MissingUnit(text.to_string()))?;
        if num_len == 0 {
            return Err(DurationError::ExpectedNumber(text.to_string()));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| DurationError::BadNumber(text.to_string()))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.to_string(),
                    text: text.to_string(),
                });
            }
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|e| DurationError::OutOfRange {
        text: text.to_string(),
        reason: e.to_string(),
    })
}

impl<'de> Deserialize<'de> for GoDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = GoDuration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a duration such as \"10s\", \"1m30s\", \"250ms\" or a number of seconds",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<GoDuration, E> {
                u64::try_from(v)
                    .map(|s| GoDuration(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<GoDuration, E> {
                Ok(GoDuration(Duration::from_secs(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<GoDuration, E> {
                parse_go_duration(v).map(GoDuration).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Serialize for GoDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

/// Formats like Go's `Duration.String` for the common cases: `10s`, `1m30s`, `250ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        let us = d.as_micros();
        return if us == 0 {
            "0s".to_string()
        } else {
            format!("{us}µs")
        };
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let frac = d.subsec_millis();
    let sec = if frac == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{frac:03}s")
    };
    match (h, m) {
        (0, 0) => sec,
        (0, m) => format!("{m}m{sec}"),
        (h, m) => format!("{h}h{m}m{sec}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations_and_bare_seconds() {
        let cases = [
            ("10s", Duration::from_secs(10)),
            ("1m30s", Duration::from_secs(90)),
            ("250ms", Duration::from_millis(250)),
            ("1.5s", Duration::from_millis(1500)),
            ("2h", Duration::from_secs(7200)),
            ("42", Duration::from_secs(42)),
            ("0", Duration::ZERO),
        ];
        for (text, want) in cases {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_bad_durations_with_a_reason() {
        for text in ["", "10x", "s", "1.2.3s", "5 parsecs"] {
            assert!(parse_go_duration(text).is_err(), "{text} should fail");
        }
        let err = parse_go_duration("10x").unwrap_err().to_string();
        assert!(err.contains("unknown unit \"x\""), "{err}");
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
    }
}
