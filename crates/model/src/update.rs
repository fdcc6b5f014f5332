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

/// Why a server URL is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServerUrlError {
    #[error("url {url:?} is not a valid URL: {reason}")]
    Invalid { url: String, reason: String },
    #[error("url {0:?} needs a scheme, e.g. http://{0}")]
    NoScheme(String),
    #[error("url {url:?}: scheme {scheme:?} is not supported (use http, https or h2c)")]
    Scheme { url: String, scheme: String },
    #[error("url {0:?} has no host")]
    NoHost(String),
}

/// `http://10.0.0.2:8080` or `h2c://10.0.0.2:50051` → protocol and authority.
pub fn parse_server_url(url: &str) -> Result<(Protocol, http::uri::Authority), ServerUrlError> {
    let uri: Uri = url
        .parse()
        .map_err(|e: http::uri::InvalidUri| ServerUrlError::Invalid {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let scheme = uri
        .scheme()
        .cloned()
        .ok_or_else(|| ServerUrlError::NoScheme(url.to_string()))?;
    let protocol = match scheme.as_str() {
        "http" => Protocol::Http1,
        "h2c" => Protocol::H2c,
        "https" => Protocol::Https,
        other => {
            return Err(ServerUrlError::Scheme {
                url: url.to_string(),
                scheme: other.to_string(),
            });
        }
    };
    let authority = uri
        .authority()
        .cloned()
        .ok_or_else(|| ServerUrlError::NoHost(url.to_string()))?;
    if authority.host().is_empty() {
        return Err(ServerUrlError::NoHost(url.to_string()));
    }
    Ok((protocol, authority))
}
