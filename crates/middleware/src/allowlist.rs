//! `whiteList`: only clients whose address is in one of the ranges pass; others get 403.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;
use model::middleware::{IpStrategy, WhiteList};

use crate::error::MiddlewareError;

/// Reads IPs and CIDR ranges (`10.0.0.0/8`, `192.168.1.7`, `2001:db8::/32`).
pub fn parse_ranges(ranges: &[String]) -> Result<Vec<IpNet>, MiddlewareError> {
    ranges
        .iter()
        .map(|r| {
            let t = r.trim();
            t.parse::<IpNet>()
                .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| MiddlewareError::IpRange(r.clone()))
        })
        .collect()
}

#[derive(Debug)]
pub struct AllowList {
    nets: Vec<IpNet>,
    use_x_forwarded_for: bool,
    strategy: Option<Strategy>,
    /// The status of a refusal (403 unless `rejectStatusCode` says).
    pub reject: http::StatusCode,
}

/// `ipStrategy` compiled: the client's address out of `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub(crate) struct Strategy {
    depth: usize,
    excluded: Vec<IpNet>,
    ipv6_subnet: Option<u8>,
}

impl Strategy {
    pub(crate) fn compile(s: &IpStrategy) -> Result<Strategy, MiddlewareError> {
        Ok(Strategy {
            depth: s.depth as usize,
            excluded: parse_ranges(&s.excluded_ips)?,
            ipv6_subnet: s.ipv6_subnet,
        })
    }

    /// The client's address as Traefik's strategies pick it (`None`: there is none); an
    /// IPv6 one as its network's address under `ipv6Subnet`.
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        let ip = self.pick(peer, headers)?;
        match (ip, self.ipv6_subnet) {
            (IpAddr::V6(v6), Some(bits)) => ipnet::Ipv6Net::new(v6, bits)
                .ok()
                .map(|n| IpAddr::V6(n.network())),
            _ => Some(ip),
        }
    }

    fn pick(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        if self.depth == 0 && self.excluded.is_empty() {
            return Some(peer);
        }
        let xff: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        if self.depth > 0 {
            let i = xff.len().checked_sub(self.depth)?;
            return xff[i].parse().ok();
        }
        xff.iter()
            .rev()
            .filter_map(|ip| ip.parse::<IpAddr>().ok())
            .find(|ip| {
                let ip = ip.to_canonical();
                !self.excluded.iter().any(|n| n.contains(&ip))
            })
    }
}

impl AllowList {
    pub fn compile(spec: &WhiteList) -> Result<AllowList, MiddlewareError> {
        Ok(AllowList {
            nets: parse_ranges(&spec.source_range)?,
            use_x_forwarded_for: spec.use_x_forwarded_for,
            strategy: spec
                .ip_strategy
                .as_ref()
                .map(Strategy::compile)
                .transpose()?,
            reject: spec
                .reject_status_code
                .and_then(|c| http::StatusCode::from_u16(c).ok())
                .unwrap_or(http::StatusCode::FORBIDDEN),
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Whether the client may pass: its address is in a range, or, with
    /// `useXForwardedFor`, any address of `X-Forwarded-For` is (as Traefik 1.7 checks).
    pub fn allows(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
        if let Some(s) = &self.strategy {
            return s.client(peer, headers).is_some_and(|ip| self.contains(ip));
        }
        if self.contains(peer) {
            return true;
        }
        self.use_x_forwarded_for
            && headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
                .any(|ip| self.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(ranges: &[&str], xff: bool) -> AllowList {
        AllowList::compile(&WhiteList {
            source_range: ranges.iter().map(|s| s.to_string()).collect(),
            use_x_forwarded_for: xff,
            ip_strategy: None,
            reject_status_code: None,
        })
        .expect("valid ranges")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ipv4_ipv6_single_addresses_and_mapped_peers() {
        let l = list(&["10.99.0.0/16", "192.168.1.7", "2001:db8::/32"], false);
        let h = HeaderMap::new();
        assert!(l.allows(ip("10.99.3.4"), &h));
        assert!(!l.allows(ip("10.98.3.4"), &h));
        assert!(l.allows(ip("192.168.1.7"), &h));
        assert!(!l.allows(ip("192.168.1.8"), &h));
        assert!(l.allows(ip("2001:db8::1"), &h));
        assert!(!l.allows(ip("2001:db9::1"), &h));
        assert!(l.allows(ip("::ffff:10.99.0.1"), &h), "v4-mapped peer");
    }

    #[test]
    fn x_forwarded_for_only_when_asked() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "1.2.3.4, 10.99.0.5".parse().expect("v"));
        assert!(!list(&["10.99.0.0/16"], false).allows(ip("127.0.0.1"), &h));
        assert!(list(&["10.99.0.0/16"], true).allows(ip("127.0.0.1"), &h));
    }

    #[test]
    fn ip_strategies_pick_the_client_from_x_forwarded_for() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "10.0.0.1, 1.2.3.4, 172.16.0.9".parse().expect("v"),
        );
        let s = |depth, excluded: &[&str]| {
            Strategy::compile(&IpStrategy {
                depth,
                excluded_ips: excluded.iter().map(|s| s.to_string()).collect(),
                ipv6_subnet: None,
            })
            .expect("compiles")
        };
        let peer = ip("127.0.0.1");
        assert_eq!(s(1, &[]).client(peer, &h), Some(ip("172.16.0.9")));
        assert_eq!(s(2, &[]).client(peer, &h), Some(ip("1.2.3.4")));
        assert_eq!(s(4, &[]).client(peer, &h), None, "deeper than the header");
        assert_eq!(
            s(0, &["172.16.0.0/12"]).client(peer, &h),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(s(0, &[]).client(peer, &h), Some(peer));
        let v6 = Strategy::compile(&IpStrategy {
            depth: 0,
            excluded_ips: vec![],
            ipv6_subnet: Some(64),
        })
        .expect("compiles");
        assert_eq!(
            v6.client(ip("2001:db8:1:2:3:4:5:6"), &h),
            Some(ip("2001:db8:1:2::")),
            "ipv6Subnet: the /64"
        );
        assert_eq!(v6.client(peer, &h), Some(peer), "IPv4 as it is");
        let l = AllowList::compile(&WhiteList {
            source_range: vec!["1.2.3.0/24".into()],
            use_x_forwarded_for: false,
            ip_strategy: Some(IpStrategy {
                depth: 2,
                excluded_ips: vec![],
                ipv6_subnet: None,
            }),
            reject_status_code: None,
        })
        .expect("valid");
        assert!(l.allows(peer, &h));
        assert!(
            !l.allows(peer, &HeaderMap::new()),
            "no header: no client address"
        );
    }

    #[test]
    fn bad_ranges_are_named() {
        let e = parse_ranges(&["10.0.0.0/33".into()]).expect_err("bad");
        assert_eq!(
            e.to_string(),
            "\"10.0.0.0/33\" is not an IP address or CIDR range (10.0.0.0/8, 2001:db8::/32)"
        );
        assert!(parse_ranges(&["example.com".into()]).is_err());
    }
}
