//! Listen addresses as Traefik writes them: `":80"`, `"127.0.0.1:8080"`, `"[::1]:443"`,
//! `"localhost:80"`. An empty host means every IPv4 interface.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::ValueError;

/// A parsed listen address; `text` keeps what the user wrote for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddress {
    pub socket: SocketAddr,
    pub text: String,
}

impl ListenAddress {
    pub fn parse(text: &str) -> Result<Self, ValueError> {
        let t = text.trim();
        let (host, port) = t
            .rsplit_once(':')
            .ok_or_else(|| ValueError::AddressWithoutPort(text.to_string()))?;
        let port: u16 = port.parse().map_err(|_| ValueError::AddressPort {
            text: text.to_string(),
            port: port.to_string(),
        })?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host {
            "" | "*" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
            h => h.parse().map_err(|_| ValueError::AddressHost {
                text: text.to_string(),
                host: h.to_string(),
            })?,
        };
        Ok(ListenAddress {
            socket: SocketAddr::new(ip, port),
            text: t.to_string(),
        })
    }
}

impl fmt::Display for ListenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for ListenAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ListenAddress::parse(&s).map_err(de::Error::custom)
    }
}

impl Serialize for ListenAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_traefik_addresses() {
        let cases = [
            (":80", "0.0.0.0:80"),
            ("127.0.0.1:8080", "127.0.0.1:8080"),
            ("[::1]:443", "[::1]:443"),
            ("localhost:81", "127.0.0.1:81"),
            (":0", "0.0.0.0:0"),
        ];
        for (text, want) in cases {
            let got = ListenAddress::parse(text).map(|a| a.socket.to_string());
            assert_eq!(got.as_deref(), Ok(want), "{text}");
        }
    }

    #[test]
    fn rejects_bad_addresses() {
        for text in ["80", ":http", "example.com:80", ":70000"] {
            assert!(ListenAddress::parse(text).is_err(), "{text}");
        }
    }
}
