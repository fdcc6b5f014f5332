//! Traefik 2.x/3.x dynamic configuration read into `model::http`: the builders of middlewares,
//! routers and load balancers from option trees (`config::tree`, from labels or from YAML and
//! TOML files), and the file format.

mod build;
pub(crate) mod file;

pub(crate) use build::{
    LoadBalancerOptions, load_balancer, middleware, router, rule_syntax, sticky,
};
