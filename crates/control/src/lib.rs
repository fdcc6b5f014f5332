//! The control plane: the aggregator task merges provider snapshots, 2.x/3.x routers are
//! lowered into frontends and backends, the compiler turns them
//! into an immutable routing table (rules, balancers, per-server state kept in a registry
//! across generations), and the health checker probes servers. The data plane reads the table.

pub mod aggregator;
pub mod certs;
pub mod checker;
pub mod compile;
pub mod guards;
pub mod l4;
pub mod l4_check;
mod lower;
pub mod server;
pub mod sticky;
pub mod table;
pub mod tls_policy;
pub mod upstream_tls;
mod wrr;
