//! portier: a Traefik-style reverse proxy driven by configuration files and Docker labels.
//!
//! This is the top of the workspace, where the crates meet (see DESIGN.md):
//! `model` → `config` → `providers`, and `model`/`config` → `control` → `dataplane` → here.
//! - [`start`]: the running proxy as a [`Portier`] value, started and shut down in steps.
//! - `dashboard`: the dashboard, JSON API, `/health`, `/metrics` and SSE on `[web] address`.
//! - [`check`]: what `portier check` prints and the errors it finds.
//! - [`migrate`]: what `portier migrate` prints: the Traefik 3 form of a 1.x configuration.

pub mod check;
mod dashboard;
pub mod migrate;
mod start;

pub use start::{Inline, Listeners, Portier, Reopen, RunError, RunOptions, bind, run, tls_configs};
