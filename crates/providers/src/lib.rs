//! Providers: tasks that watch a source (the Docker engine, files) and send whole snapshots of
//! the model to the aggregator. Translation from labels and TOML is pure and tested on plain
//! data; only fetching and watching do I/O.

pub mod docker;
pub mod file;
mod http;
mod l4;
pub mod users_files;
