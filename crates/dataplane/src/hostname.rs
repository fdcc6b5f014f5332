//! This machine's host name, as the `Server`-side name in forwarded headers and `/health`.

/// The kernel's host name, or `portier` when it cannot be read.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "portier".to_string())
}
