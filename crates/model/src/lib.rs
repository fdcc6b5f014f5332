//! The model every stage shares, upstream of all of them: what providers declare (frontends,
//! backends, servers; 2.x/3.x routers, services, middlewares), the rule grammars and matching, the message a provider sends, durations,
//! clock formatting and the lock-free counters. Pure: no I/O, no tokio.

pub mod clock;
pub mod duration;
pub mod dynamic;
pub mod http;
pub mod metrics;
pub mod middleware;
pub mod path;
pub mod redirect;
pub mod rules;
pub mod tcp;
pub mod update;
