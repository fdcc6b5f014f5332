//! Static-configuration errors; each names the file and, where the TOML parser knows it,
//! the line and column.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the configuration: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A command-line flag no key takes, or whose value its key cannot hold.
    #[error("command line: {flag}: {message}")]
    Flag { flag: String, message: String },
    #[error("{}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// Why a single value (an address, a network, a constraint, …) did not parse; each message
/// quotes the text it is about. Wrapped in [`ConfigError::Invalid`] with the key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("address {0:?} has no port; write it as \":80\" or \"127.0.0.1:80\"")]
    AddressWithoutPort(String),
    #[error("address {text:?}: port {port:?} is not a number from 0 to 65535")]
    AddressPort { text: String, port: String },
    #[error("address {text:?}: host {host:?} is not an IP address")]
    AddressHost { text: String, host: String },
    #[error("{0:?} is not an IP address or CIDR range")]
    IpNet(String),
    #[error("{text:?}: prefix length must be 0 to {max}")]
    IpNetPrefix { text: String, max: u8 },
    #[error("{0:?}: write tag==PATTERN or tag!=PATTERN")]
    ConstraintForm(String),
    #[error("{0:?}: the pattern is empty")]
    ConstraintEmpty(String),
}

/// 1-based line and column of a byte offset in `text` (columns count characters).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Turns a toml error into a `Parse` error with a position when the parser gave one.
pub(crate) fn from_toml(path: &std::path::Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let (line, column) = err
        .span()
        .map(|span| line_col(text, span.start))
        .unwrap_or((1, 1));
    ConfigError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: err.message().trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::line_col;

    #[test]
    fn counts_lines_and_columns_from_one() {
        let text = "a = 1\nbb = 2\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, 11), (2, 6));
    }
}
