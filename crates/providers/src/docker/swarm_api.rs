//! Reads the Swarm API as raw JSON: services, tasks (bollard's `Task` model has no
//! `NetworksAttachments`, which hold each task's addresses), the swarm-scoped networks and the
//! nodes (their hostnames, shown with each task).
//! Read-only GETs over the engine's endpoint (`unix://` socket or `tcp://`), one connection per
//! look, so a socket proxy that allows `GET /services`, `/tasks` and `/networks` is enough.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;

use super::swarm::SwarmLook;

/// Why the Swarm API could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SwarmApiError {
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: std::io::Error,
    },
    #[error("{endpoint}: the endpoint is neither unix:// nor tcp://")]
    Scheme { endpoint: String },
    #[error("GET {path}: {source}")]
    Http { path: String, source: hyper::Error },
    #[error("GET {path}: {status}: {body}")]
    Status {
        path: String,
        status: http::StatusCode,
        body: String,
    },
    #[error("GET {path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("GET {path}: cannot build the request: {source}")]
    Request { path: String, source: http::Error },
}

#[derive(Deserialize)]
struct Network {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "Name")]
    name: String,
    /// The routing mesh's network: task addresses on it are reachable only through the mesh.
    #[serde(rename = "Ingress", default)]
    ingress: bool,
}

#[derive(Deserialize)]
struct Node {
    #[serde(rename = "ID")]
    id: String,
    #[serde(rename = "Description", default)]
    description: NodeDescription,
}

#[derive(Deserialize, Default)]
struct NodeDescription {
    #[serde(rename = "Hostname", default)]
    hostname: String,
}

/// The engine's three answers as sent: when they are the same bytes as last time, nothing
/// changed and nothing needs parsing (the steady state between events).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RawLook {
    services: Bytes,
    tasks: Bytes,
    networks: Bytes,
    nodes: Bytes,
}

impl RawLook {
    pub(crate) fn parse(&self) -> Result<SwarmLook, SwarmApiError> {
        let json = |path: &str, source| SwarmApiError::Json {
            path: path.to_string(),
            source,
        };
        let networks: Vec<Network> =
            serde_json::from_slice(&self.networks).map_err(|e| json(NETWORKS, e))?;
        let nodes: Vec<Node> = serde_json::from_slice(&self.nodes).map_err(|e| json(NODES, e))?;
        Ok(SwarmLook {
            services: serde_json::from_slice(&self.services).map_err(|e| json(SERVICES, e))?,
            tasks: serde_json::from_slice(&self.tasks).map_err(|e| json(TASKS, e))?,
            // Without the ingress network, a task with a published port and one overlay network
            // is routed on the overlay network without naming it.
            networks: networks
                .into_iter()
                .filter(|n| !n.ingress)
                .map(|n| (n.id, n.name))
                .collect(),
            nodes: nodes
                .into_iter()
                .map(|n| (n.id, n.description.hostname))
                .collect(),
        })
    }
}

const SERVICES: &str = "/services";
/// Only tasks meant to run: the others are never routed.
const TASKS: &str = "/tasks?filters=%7B%22desired-state%22%3A%5B%22running%22%5D%7D";
const NETWORKS: &str = "/networks?filters=%7B%22scope%22%3A%5B%22swarm%22%5D%7D";
const NODES: &str = "/nodes";

/// Services, the tasks whose desired state is `running`, the swarm-scoped networks, the nodes.
pub(crate) async fn look(endpoint: &str) -> Result<RawLook, SwarmApiError> {
    Ok(RawLook {
        services: get(endpoint, SERVICES).await?,
        tasks: get(endpoint, TASKS).await?,
        networks: get(endpoint, NETWORKS).await?,
        nodes: get(endpoint, NODES).await?,
    })
}

type Connection = (
    hyper::client::conn::http1::SendRequest<Empty<Bytes>>,
    tokio::task::JoinHandle<Result<(), hyper::Error>>,
);

/// An HTTP/1 connection over `stream`, driven by its own task.
async fn handshake<S>(stream: S) -> Result<Connection, hyper::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    Ok((sender, tokio::spawn(conn)))
}

/// `GET path` on the engine: the body of a 2xx answer.
async fn get(endpoint: &str, path: &str) -> Result<Bytes, SwarmApiError> {
    let http_err = |source| SwarmApiError::Http {
        path: path.to_string(),
        source,
    };
    let connect = |source| SwarmApiError::Connect {
        endpoint: endpoint.to_string(),
        source,
    };
    let (mut sender, conn) = if let Some(socket) = endpoint.strip_prefix("unix://") {
        let stream = tokio::net::UnixStream::connect(socket)
            .await
            .map_err(connect)?;
        handshake(stream).await.map_err(http_err)?
    } else if let Some(addr) = endpoint
        .strip_prefix("tcp://")
        .or_else(|| endpoint.strip_prefix("http://"))
    {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(connect)?;
        handshake(stream).await.map_err(http_err)?
    } else {
        return Err(SwarmApiError::Scheme {
            endpoint: endpoint.to_string(),
        });
    };
    let req = http::Request::get(path)
        .header(http::header::HOST, "docker")
        .body(Empty::<Bytes>::new())
        .map_err(|source| SwarmApiError::Request {
            path: path.to_string(),
            source,
        })?;
    let resp = sender.send_request(req).await.map_err(http_err)?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(http_err)?
        .to_bytes();
    conn.abort();
    if !status.is_success() {
        return Err(SwarmApiError::Status {
            path: path.to_string(),
            status,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        });
    }
    Ok(body)
}

/// `GET /services`, `/tasks` and `/networks?filters={"scope":["swarm"]}` as Docker 20.10
/// answered them on this machine (a single-node swarm, two services on an overlay network),
/// and one node.
#[cfg(test)]
pub(super) fn fixture() -> RawLook {
    RawLook {
        services: Bytes::from_static(include_bytes!("fixtures/swarm-services.json")),
        tasks: Bytes::from_static(include_bytes!("fixtures/swarm-tasks.json")),
        networks: Bytes::from_static(include_bytes!("fixtures/swarm-networks.json")),
        nodes: Bytes::from_static(
            b"[{\"ID\":\"n1\",\"Description\":{\"Hostname\":\"manager-1\"}}]",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_answers_parse_and_the_ingress_network_is_left_out() {
        let raw = fixture();
        let look = raw.parse().expect("parses");
        assert_eq!(look.services.len(), 2);
        assert_eq!(look.tasks.len(), 3);
        let names: Vec<&String> = look.networks.values().collect();
        assert_eq!(names, ["cap-web"]);
        assert_eq!(look.nodes["n1"], "manager-1");
        let broken = RawLook {
            tasks: Bytes::from_static(b"{\"not\": \"a list\"}"),
            ..raw
        };
        let e = broken.parse().expect_err("not a list").to_string();
        assert!(e.starts_with("GET /tasks?filters="), "{e}");
    }
}
