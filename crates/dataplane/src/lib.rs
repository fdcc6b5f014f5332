//! The data plane: one listener per entrypoint (TLS and ACME included), the per-request
//! pipeline (route, rewrite, balance, forward, stream back), the access log and the `/health`
//! statistics. Reads the routing table the control plane publishes; never writes it.

pub mod accesslog;
pub mod acme;
mod hostname;
pub mod l4;
pub mod proxy;
pub mod stats;
pub mod tls;
