//! Where each configured value comes from, for `portier check --show-origin`: the file's keys
//! with their line and column, the command line's flags over them.

use std::path::Path;

use toml::de::{DeTable, DeValue};

/// A key a flag set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagOrigin {
    /// As the flag names it (`docker.exposedbydefault`, `entryPoints.http`).
    pub key: String,
    /// The flag as written (`--docker.exposedbydefault=false`).
    pub flag: String,
    /// The flag defines the key whole: the file's keys under it are not used.
    pub whole: bool,
}

/// Every key set in the file (`text` read from `path`) or by a flag, with where its value
/// comes from, in key order: `file:line:column`, or `command line: --flag`. A key a flag also
/// sets (compared without case, as flags are) shows the flag.
pub fn origins(file: Option<(&Path, &str)>, flags: &[FlagOrigin]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    if let Some((path, text)) = file
        && let Ok(doc) = DeTable::parse(text)
    {
        let mut leaves = Vec::new();
        walk(doc.get_ref(), "", &mut leaves);
        for (key, offset) in leaves {
            let covered = flags.iter().any(|f| {
                let (k, fk) = (key.to_ascii_lowercase(), f.key.to_ascii_lowercase());
                k == fk || (f.whole && k.starts_with(&format!("{fk}.")))
            });
            if !covered {
                let (line, column) = crate::error::line_col(text, offset);
                out.push((key, format!("{}:{line}:{column}", path.display())));
            }
        }
    }
    for f in flags {
        out.push((f.key.clone(), format!("command line: {}", f.flag)));
    }
    out.sort_by_key(|(k, _)| k.to_ascii_lowercase());
    out
}

/// The byte offset of a dotted key (`docker.endpont`, `entryPoints.https.tls.certificates.0.
/// certFile`) in `text`: of the key itself, or of the deepest table or array element on its way.
pub fn key_offset(text: &str, dotted: &str) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut at = None;
    let mut steps = dotted.split('.').peekable();
    while let Some(step) = steps.next() {
        let (key, value) = table.get_key_value(step)?;
        at = Some(key.span().start);
        let mut value = value.get_ref();
        // Arrays of tables: the next step is the element's index.
        while let DeValue::Array(items) = value {
            let index = steps.peek().and_then(|s| s.parse::<usize>().ok())?;
            steps.next();
            let item = items.get(index)?;
            at = Some(item.span().start);
            value = item.get_ref();
        }
        match value {
            DeValue::Table(t) => table = t,
            _ => return if steps.peek().is_none() { at } else { None },
        }
    }
    at
}

/// The byte offset of each key of the table `section` (`frontends` → `f1`, `f2`, …), from one
/// parse of `text`.
pub fn table_offsets(text: &str, section: &str) -> std::collections::BTreeMap<String, usize> {
    let Ok(doc) = DeTable::parse(text) else {
        return Default::default();
    };
    match doc.get_ref().get(section).map(|v| v.get_ref()) {
        Some(DeValue::Table(t)) => t
            .iter()
            .map(|(k, _)| (k.get_ref().to_string(), k.span().start))
            .collect(),
        _ => Default::default(),
    }
}

/// The leaf keys of `table` under `prefix`, with the offset of each key in the text.
fn walk(table: &DeTable<'_>, prefix: &str, out: &mut Vec<(String, usize)>) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.get_ref().to_string()
        } else {
            format!("{prefix}.{}", key.get_ref())
        };
        match value.get_ref() {
            DeValue::Table(t) if !t.is_empty() => walk(t, &name, out),
            _ => out.push((name, key.span().start)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_in_tables_and_arrays() {
        let text = "[docker]\nendpont = \"x\"\n[[acme.domains]]\nmain = \"a\"\n[[acme.domains]]\nmian = \"b\"\n";
        let at = |k| key_offset(text, k).map(|o| crate::error::line_col(text, o));
        assert_eq!(at("docker.endpont"), Some((2, 1)));
        assert_eq!(at("acme.domains.1.mian"), Some((6, 1)));
        assert_eq!(at("docker.nothere"), None);
    }

    #[test]
    fn file_keys_with_positions_and_flags_over_them() {
        let text = "logLevel = \"INFO\"\n[docker]\nendpoint = \"tcp://h:2375\"\ndomain = \"a\"\n[entryPoints.http]\naddress = \":80\"\n";
        let flags = [
            FlagOrigin {
                key: "docker.Domain".into(),
                flag: "--docker.Domain=b".into(),
                whole: false,
            },
            FlagOrigin {
                key: "entryPoints.http".into(),
                flag: "--entryPoints=Name:http Address::8080".into(),
                whole: true,
            },
        ];
        let got = origins(Some((Path::new("traefik.toml"), text)), &flags);
        let want = [
            ("docker.Domain", "command line: --docker.Domain=b"),
            ("docker.endpoint", "traefik.toml:3:1"),
            (
                "entryPoints.http",
                "command line: --entryPoints=Name:http Address::8080",
            ),
            ("logLevel", "traefik.toml:1:1"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, o)| (k.as_str(), o.as_str())).collect();
        assert_eq!(got, want);
    }
}
