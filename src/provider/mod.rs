//! Providers: tasks that watch a source of routes and send whole snapshots to the aggregator.

pub mod docker;
pub mod file;
