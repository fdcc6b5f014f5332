//! What providers send the aggregator, and the server URL form both sides agree on.

use http::Uri;

use crate::dynamic::ProviderConfig;

/// A whole new snapshot from one provider.
#[derive(Debug)]
pub struct ProviderUpdate {
    pub provider: String,
    pub config: ProviderConfig,
}

/// How portier talks to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 with pooled keep-alive connections (`http://`).
    Http1,
    /// HTTP/2 with prior knowledge over plain TCP (`h2c://`, `traefik.protocol=h2c`): gRPC.
    H2c,
    /// HTTP/1.1 over TLS (`https://`, `traefik.protocol=https`).
    Https,
}

/// `http://10.0.0.2:8080` or `h2c://10.0.0.2:50051` → protocol and authority.
pub fn parse_server_url(url: &str) -> Result<(Protocol, http::uri::Authority), String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("url {url:?} is not a valid URL: {e}"))?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| format!("url {url:?} needs a scheme, e.g. http://{url}"))?;
    let protocol = match scheme.as_str() {
        "http" => Protocol::Http1,
        "h2c" => Protocol::H2c,
        "https" => Protocol::Https,
        other => {
            return Err(format!(
                "url {url:?}: scheme {other:?} is not supported (use http, https or h2c)"
            ));
        }
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| format!("url {url:?} has no host"))?;
    if authority.host().is_empty() {
        return Err(format!("url {url:?} has no host"));
    }
    Ok((protocol, authority))
}
