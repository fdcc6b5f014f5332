//! Layer 4: TCP routing and proxying on the entrypoints (beside HTTP, on the same listener),
//! and UDP entrypoints with their sessions.

mod rewind;
#[cfg(target_os = "linux")]
mod splice;
pub mod tcp;
pub mod udp;

pub use rewind::Rewind;
pub use tcp::TcpForwarding;
