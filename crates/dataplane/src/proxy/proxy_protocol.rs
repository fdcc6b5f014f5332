//! The PROXY protocol (v1 text, v2 binary; `[entryPoints.X.proxyProtocol]`): a load balancer in
//! front says who the client is before the first byte of TLS or HTTP. Read only from trusted
//! peers (`trustedIPs`, or all with `insecure`), where it is optional as in Traefik: a
//! connection that does not start with a header is served as it is. The header is parsed by
//! the `ppp` crate.

use std::net::{IpAddr, SocketAddr};

use ppp::v1;
use ppp::v2;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// v2's 12-byte signature.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// A v1 line is at most 107 bytes, CRLF included.
const V1_MAX: usize = 107;
/// The v2 addresses and TLVs portier reads at most.
const V2_MAX: usize = 16 + 2048;

#[derive(Debug, thiserror::Error)]
pub(super) enum ProxyProtocolError {
    #[error("reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
    #[error("bad PROXY header: {0}")]
    Bad(String),
}

/// Reads the PROXY header at the start of `stream`, if there is one; returns the client it
/// names (`None`: no header, or a LOCAL/UNKNOWN one, so the peer is the client).
pub(super) async fn read_header(
    stream: &mut TcpStream,
) -> Result<Option<SocketAddr>, ProxyProtocolError> {
    let mut first = [0u8; 12];
    let seen = stream.peek(&mut first).await?;
    if seen == 0 {
        return Ok(None);
    }
    if first[0] == b'P' && starts_like(&first[..seen], b"PROXY ") {
        let mut line = Vec::with_capacity(V1_MAX);
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() >= V1_MAX {
                return Err(ProxyProtocolError::Bad(
                    "v1 line longer than 107 bytes".into(),
                ));
            }
            stream.read_exact(&mut byte).await?;
            line.push(byte[0]);
        }
        return v1_client(&line);
    }
    if first[0] == b'\r' && starts_like(&first[..seen], V2_SIGNATURE) {
        let mut head = vec![0u8; 16];
        stream.read_exact(&mut head).await?;
        let len = usize::from(u16::from_be_bytes([head[14], head[15]]));
        if 16 + len > V2_MAX {
            return Err(ProxyProtocolError::Bad(format!("v2 header of {len} bytes")));
        }
        head.resize(16 + len, 0);
        stream.read_exact(&mut head[16..]).await?;
        return v2_client(&head);
    }
    Ok(None)
}

/// Whether `seen` (what has arrived so far) agrees with `prefix` as far as it goes.
fn starts_like(seen: &[u8], prefix: &[u8]) -> bool {
    let n = seen.len().min(prefix.len());
    seen[..n] == prefix[..n]
}

fn v1_client(line: &[u8]) -> Result<Option<SocketAddr>, ProxyProtocolError> {
    let header =
        v1::Header::try_from(line).map_err(|e| ProxyProtocolError::Bad(format!("v1: {e:?}")))?;
    Ok(match header.addresses {
        v1::Addresses::Tcp4(a) => {
            Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
        }
        v1::Addresses::Tcp6(a) => {
            Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
        }
        v1::Addresses::Unknown => None,
    })
}

fn v2_client(bytes: &[u8]) -> Result<Option<SocketAddr>, ProxyProtocolError> {
    let header =
        v2::Header::try_from(bytes).map_err(|e| ProxyProtocolError::Bad(format!("v2: {e:?}")))?;
    if header.command == v2::Command::Local {
        return Ok(None);
    }
    Ok(match header.addresses {
        v2::Addresses::IPv4(a) => {
            Some(SocketAddr::new(IpAddr::V4(a.source_address), a.source_port))
        }
        v2::Addresses::IPv6(a) => {
            Some(SocketAddr::new(IpAddr::V6(a.source_address), a.source_port))
        }
        v2::Addresses::Unspecified | v2::Addresses::Unix(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_name_the_client() {
        let v1 = b"PROXY TCP4 203.0.113.7 10.0.0.1 51234 80\r\n";
        assert_eq!(
            v1_client(v1).expect("v1"),
            Some("203.0.113.7:51234".parse().expect("addr"))
        );
        assert_eq!(v1_client(b"PROXY UNKNOWN\r\n").expect("v1"), None);
        assert!(v1_client(b"PROXY TCP4 nonsense\r\n").is_err());
        let v2 = v2::Builder::with_addresses(
            v2::Version::Two | v2::Command::Proxy,
            v2::Protocol::Stream,
            (
                "[2001:db8::7]:4000".parse::<SocketAddr>().expect("src"),
                "[2001:db8::1]:443".parse::<SocketAddr>().expect("dst"),
            ),
        )
        .build()
        .expect("v2 header");
        assert_eq!(
            v2_client(&v2).expect("v2"),
            Some("[2001:db8::7]:4000".parse().expect("addr"))
        );
        assert!(starts_like(b"PRO", b"PROXY "));
        assert!(!starts_like(b"GET /", b"PROXY "));
    }
}
