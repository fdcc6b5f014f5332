//! `whiteList`: only clients whose address is in one of the ranges pass; others get 403.

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;
use model::middleware::WhiteList;

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
}

impl AllowList {
    pub fn compile(spec: &WhiteList) -> Result<AllowList, MiddlewareError> {
        Ok(AllowList {
            nets: parse_ranges(&spec.source_range)?,
            use_x_forwarded_for: spec.use_x_forwarded_for,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Whether the client may pass: its address is in a range, or, with
    /// `useXForwardedFor`, any address of `X-Forwarded-For` is (as Traefik 1.7 checks).
    pub fn allows(&self, peer: IpAddr, headers: &HeaderMap) -> bool {
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
    fn bad_ranges_are_named() {
        let e = parse_ranges(&["10.0.0.0/33".into()]).expect_err("bad");
        assert_eq!(
            e.to_string(),
            "\"10.0.0.0/33\" is not an IP address or CIDR range (10.0.0.0/8, 2001:db8::/32)"
        );
        assert!(parse_ranges(&["example.com".into()]).is_err());
    }
}
