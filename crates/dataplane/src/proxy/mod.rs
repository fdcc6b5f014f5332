//! The data plane: one listener per entrypoint, a per-request pipeline (route, rewrite,
//! balance, forward), a pooled keep-alive upstream client, streamed bodies.

mod attempts;
mod body;
mod buffering;
mod compress;
mod connection;
mod context;
mod drain;
mod error;
mod error_page;
mod framing;
mod grpc_web;
mod guard;
mod head_wait;
mod headers;
mod host;
mod listener;
mod mirror;
mod prepare;
mod proxy_protocol;
mod service;
mod target;
mod upstream_body;

pub use context::{EntryPointContext, Internal, InternalBody, InternalHandler, Proxy, TlsSlot};
pub use drain::Drain;
pub use listener::{Limits, serve};
