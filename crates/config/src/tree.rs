//! Options as written, before they are typed: a tree of keys compared without regard to case
//! (as Traefik's label and file decoders do), each keeping its spelling and where it was
//! written, so every error can name the label or key. Labels and files both read into it.

use std::collections::BTreeMap;
use std::time::Duration;

/// A problem with one option: where it is written (a label, a key path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub at: String,
    pub message: String,
}

impl OptionError {
    pub fn new(at: &str, message: impl Into<String>) -> OptionError {
        OptionError {
            at: at.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    /// Lower-cased key → the entry.
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Where it is written: the whole label, or the key path in a file.
    pub at: String,
    /// The key as written.
    pub name: String,
    pub node: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    /// A list as a file writes it (labels write lists as comma-separated text).
    List(Vec<String>),
    Tree(Tree),
}

/// `true` set on a key that also has options (`tls=true`, `tls.passthrough=true`).
fn is_true(node: &Node) -> bool {
    matches!(node, Node::Text(t) if t.trim().eq_ignore_ascii_case("true"))
}

impl Tree {
    /// Puts `value` at `path` (the keys below this tree); `at` names it in errors. A key that
    /// is both a value and a table is an error.
    pub fn insert(&mut self, path: &[&str], at: &str, value: Node) -> Result<(), OptionError> {
        let Some((first, rest)) = path.split_first() else {
            return Err(OptionError::new(at, "expected a key"));
        };
        if first.is_empty() {
            return Err(OptionError::new(at, "empty key (two dots in a row?)"));
        }
        let lower = first.to_ascii_lowercase();
        if rest.is_empty() {
            if let Some(e) = self.entries.get(&lower) {
                // `tls=true` beside `tls.certResolver=…` (Traefik's "allowEmpty" options):
                // the options say it already.
                if matches!(e.node, Node::Tree(_)) && is_true(&value) {
                    return Ok(());
                }
                return Err(OptionError::new(at, format!("{first} is set twice")));
            }
            self.entries.insert(
                lower,
                Entry {
                    at: at.to_string(),
                    name: first.to_string(),
                    node: value,
                },
            );
            return Ok(());
        }
        let entry = self.entries.entry(lower).or_insert_with(|| Entry {
            at: at.to_string(),
            name: first.to_string(),
            node: Node::Tree(Tree::default()),
        });
        if is_true(&entry.node) {
            entry.node = Node::Tree(Tree::default());
        }
        match &mut entry.node {
            Node::Tree(t) => t.insert(rest, at, value),
            _ => Err(OptionError::new(
                at,
                format!(
                    "{first} is a value ({}) and cannot also have options",
                    entry.at
                ),
            )),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.get(&key.to_ascii_lowercase())
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Lays `other` over this tree: its values replace these, its tables merge into these.
    pub fn overlay(&mut self, other: Tree) {
        for (k, e) in other.entries {
            match (self.entries.get_mut(&k), e.node) {
                (Some(mine), Node::Tree(theirs)) => match &mut mine.node {
                    Node::Tree(t) => t.overlay(theirs),
                    _ => {
                        mine.node = Node::Tree(theirs);
                        mine.at = e.at;
                    }
                },
                (_, node) => {
                    self.entries.insert(
                        k,
                        Entry {
                            at: e.at,
                            name: e.name,
                            node,
                        },
                    );
                }
            }
        }
    }

    /// The `KEY[N]` tables (lists of tables, as labels and files write them) by N, and a
    /// copy of this tree without them.
    pub fn split_indexed(&self, key: &str) -> (Vec<(usize, &Tree)>, Tree) {
        let prefix = format!("{}[", key.to_ascii_lowercase());
        let mut items = Vec::new();
        let mut rest = Tree::default();
        for (k, e) in &self.entries {
            let index = k
                .strip_prefix(&prefix)
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|n| n.parse::<usize>().ok());
            match (index, &e.node) {
                (Some(n), Node::Tree(t)) => items.push((n, t)),
                _ => {
                    rest.entries.insert(k.clone(), e.clone());
                }
            }
        }
        items.sort_by_key(|(n, _)| *n);
        (items, rest)
    }

    /// Every key must be one of `known` (any case); the first other one is the error, with
    /// the closest known name.
    pub fn only(&self, known: &[&str], what: &str) -> Result<(), OptionError> {
        for e in self.entries.values() {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(&e.name)) {
                let hint = crate::did_you_mean(&e.name, known.iter().copied())
                    .map(|s| format!(" (did you mean {s}?)"))
                    .unwrap_or_default();
                return Err(OptionError::new(
                    &e.at,
                    format!(
                        "unknown option {:?} of {what}{hint}; known: {}",
                        e.name,
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The text at `key`.
    pub fn text(&self, key: &str) -> Result<Option<&str>, OptionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Entry {
                node: Node::Text(t),
                ..
            }) => Ok(Some(t.as_str())),
            Some(e) => Err(OptionError::new(
                &e.at,
                format!("{} takes one value", e.name),
            )),
        }
    }

    /// The text at `key`, which must be there.
    pub fn required(&self, key: &str, at: &str) -> Result<&str, OptionError> {
        self.text(key)?
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| OptionError::new(at, format!("{key} is required")))
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, OptionError> {
        self.parsed(key, "a boolean (true or false)", |t| {
            match t.to_ascii_lowercase().as_str() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            }
        })
    }

    pub fn u64(&self, key: &str) -> Result<Option<u64>, OptionError> {
        self.parsed(key, "a whole number ≥ 0", |t| t.parse().ok())
    }

    pub fn i64(&self, key: &str) -> Result<Option<i64>, OptionError> {
        self.parsed(key, "a whole number", |t| t.parse().ok())
    }

    /// A Go duration (`10s`, `1m30s`) or a number of seconds.
    pub fn duration(&self, key: &str) -> Result<Option<Duration>, OptionError> {
        self.parsed(key, "a duration (10s, 1m30s) or seconds", |t| {
            model::duration::parse_go_duration(t)
                .ok()
                .or_else(|| t.parse::<u64>().ok().map(Duration::from_secs))
        })
    }

    fn parsed<T>(
        &self,
        key: &str,
        what: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, OptionError> {
        let Some(t) = self.text(key)? else {
            return Ok(None);
        };
        let at = self.get(key).map_or("", |e| e.at.as_str());
        parse(t.trim())
            .map(Some)
            .ok_or_else(|| OptionError::new(at, format!("value {t:?}: not {what}")))
    }

    /// A list: a file's list, or comma-separated text; blanks dropped.
    pub fn list(&self, key: &str) -> Result<Vec<String>, OptionError> {
        Ok(match self.get(key).map(|e| &e.node) {
            None => Vec::new(),
            Some(Node::Text(t)) => t
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            Some(Node::List(l)) => l.clone(),
            Some(Node::Tree(_)) => {
                let e = self.get(key).map_or("", |e| e.at.as_str());
                return Err(OptionError::new(e, format!("{key} takes a list of values")));
            }
        })
    }

    /// The table at `key` (empty when absent).
    pub fn tree(&self, key: &str) -> Result<Option<&Tree>, OptionError> {
        match self.get(key) {
            None => Ok(None),
            Some(Entry {
                node: Node::Tree(t),
                ..
            }) => Ok(Some(t)),
            Some(e) => Err(OptionError::new(
                &e.at,
                format!("{} takes options ({}.NAME=…)", e.name, e.name),
            )),
        }
    }

    /// A table of text values, keys as written (`customRequestHeaders.X-Env=prod`).
    pub fn map(&self, key: &str) -> Result<BTreeMap<String, String>, OptionError> {
        let Some(t) = self.tree(key)? else {
            return Ok(BTreeMap::new());
        };
        t.entries()
            .map(|e| match &e.node {
                Node::Text(v) => Ok((e.name.clone(), v.clone())),
                _ => Err(OptionError::new(
                    &e.at,
                    format!("{} takes one value", e.name),
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(pairs: &[(&str, &str)]) -> Tree {
        let mut t = Tree::default();
        for (k, v) in pairs {
            let path: Vec<&str> = k.split('.').collect();
            t.insert(&path, k, Node::Text(v.to_string()))
                .expect("inserts");
        }
        t
    }

    #[test]
    fn keys_compare_without_case_and_keep_their_spelling() {
        let t = tree(&[
            ("Prefixes", "/a, /b,,"),
            ("customRequestHeaders.X-Env", "prod"),
            ("forceSlash", "TRUE"),
        ]);
        assert_eq!(t.list("prefixes").expect("list"), ["/a", "/b"]);
        assert_eq!(
            t.map("customrequestheaders").expect("map"),
            BTreeMap::from([("X-Env".to_string(), "prod".to_string())])
        );
        assert_eq!(t.bool("forceslash").expect("bool"), Some(true));
        assert!(
            t.only(&["prefixes", "forceSlash", "customRequestHeaders"], "x")
                .is_ok()
        );
    }

    #[test]
    fn a_true_switch_beside_its_options_is_the_options() {
        for pairs in [
            [("tls", "true"), ("tls.certResolver", "le")],
            [("tls.certResolver", "le"), ("tls", "true")],
        ] {
            let t = tree(&pairs);
            let tls = t.tree("tls").expect("a table").expect("present");
            assert_eq!(tls.text("certresolver").expect("text"), Some("le"));
        }
        let mut t = tree(&[("tls", "false")]);
        let e = t
            .insert(
                &["tls", "certResolver"],
                "tls.certResolver",
                Node::Text("le".into()),
            )
            .expect_err("false with options");
        assert!(e.message.contains("cannot also have options"), "{e:?}");
    }

    #[test]
    fn errors_name_the_option() {
        let t = tree(&[("prefixs", "/a")]);
        let e = t
            .only(&["prefixes", "forceSlash"], "stripPrefix")
            .expect_err("unknown");
        assert_eq!(e.at, "prefixs");
        assert!(
            e.message.contains("did you mean prefixes?"),
            "{}",
            e.message
        );

        let t = tree(&[("average", "ten")]);
        let e = t.u64("average").expect_err("not a number");
        assert!(e.message.contains("\"ten\""), "{}", e.message);

        let mut t = tree(&[("a", "1")]);
        let e = t
            .insert(&["A", "b"], "a.b", Node::Text("2".into()))
            .expect_err("value and table");
        assert!(
            e.message.contains("cannot also have options"),
            "{}",
            e.message
        );
    }
}
