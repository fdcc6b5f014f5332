//! A configuration document in YAML or TOML → an option [`Tree`] in which every key knows its
//! line and column: what Traefik 2.x/3.x static files (`traefik.yml`) and dynamic files are
//! read into before they are typed. Lists of tables (`servers`, `domains`) become `name[N]`
//! entries, as labels write them.

use std::collections::HashMap;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::ConfigError;
use crate::tree::{Node, OptionError, Tree};

/// The document as a tree, and the position of every key path in it.
pub struct Document {
    pub root: Tree,
    /// Key path (`http.routers.r.rule`, `servers[0]`) → (line, column).
    pub positions: HashMap<String, (usize, usize)>,
}

impl Document {
    /// `(line, column)` of a key path (1:1 when unknown).
    pub fn at(&self, path: &str) -> (usize, usize) {
        self.positions.get(path).copied().unwrap_or((1, 1))
    }
}

/// Reads YAML; a syntax error is the document's error, with its position.
pub fn read_yaml(path: &Path, text: &str) -> Result<Document, ConfigError> {
    use marked_yaml::{LoaderOptions, Node as Y};
    let options = LoaderOptions::default()
        .error_on_duplicate_keys(true)
        .prevent_coercion(false);
    let parsed = match marked_yaml::parse_yaml_with_options(0, text, options) {
        Ok(n) => n,
        // An empty file is an empty configuration.
        Err(marked_yaml::LoadError::TopLevelMustBeMapping(_)) if text.trim().is_empty() => {
            Y::Mapping(marked_yaml::types::MarkedMappingNode::new_empty(
                marked_yaml::Span::new_blank(),
            ))
        }
        Err(e) => {
            let (line, column) = yaml_error_at(&e);
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: yaml_error_message(&e),
            });
        }
    };
    let mut doc = Document {
        root: Tree::default(),
        positions: HashMap::new(),
    };
    let Y::Mapping(top) = &parsed else {
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message: "expected a mapping (http:, tls:) at the top".into(),
        });
    };
    let mut root = Tree::default();
    yaml_mapping(top, "", &mut root, &mut doc.positions).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        line: doc.positions.get(&e.at).map_or(1, |p| p.0),
        column: doc.positions.get(&e.at).map_or(1, |p| p.1),
        message: e.message,
    })?;
    doc.root = root;
    Ok(doc)
}

fn yaml_error_at(e: &marked_yaml::LoadError) -> (usize, usize) {
    use marked_yaml::LoadError as L;
    let m = match e {
        L::TopLevelMustBeMapping(m)
        | L::TopLevelMustBeSequence(m)
        | L::UnexpectedAnchor(m)
        | L::MappingKeyMustBeScalar(m)
        | L::UnexpectedTag(m)
        | L::ScanError(m, _) => Some(*m),
        L::DuplicateKey(d) => d.key.span().start().copied(),
    };
    m.map_or((1, 1), |m| (m.line(), m.column()))
}

fn yaml_error_message(e: &marked_yaml::LoadError) -> String {
    use marked_yaml::LoadError as L;
    match e {
        L::DuplicateKey(d) => format!("key {:?} is written twice", d.key.as_str()),
        L::ScanError(_, s) => format!("YAML syntax: {}", s.info()),
        other => format!("YAML: {other:?}"),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn yaml_mapping(
    m: &marked_yaml::types::MarkedMappingNode,
    prefix: &str,
    into: &mut Tree,
    positions: &mut HashMap<String, (usize, usize)>,
) -> Result<(), OptionError> {
    use marked_yaml::Node as Y;
    for (k, v) in m.iter() {
        let at = join(prefix, k.as_str());
        if let Some(s) = k.span().start() {
            positions.insert(at.clone(), (s.line(), s.column()));
        }
        match v {
            Y::Scalar(s) => into.insert(&[k.as_str()], &at, Node::Text(s.as_str().to_string()))?,
            Y::Mapping(inner) => {
                let mut t = Tree::default();
                yaml_mapping(inner, &at, &mut t, positions)?;
                into.insert(&[k.as_str()], &at, Node::Tree(t))?;
            }
            Y::Sequence(items) => {
                if items.iter().all(|i| matches!(i, Y::Scalar(_))) {
                    let list = items
                        .iter()
                        .filter_map(|i| i.as_scalar().map(|s| s.as_str().to_string()))
                        .collect();
                    into.insert(&[k.as_str()], &at, Node::List(list))?;
                    continue;
                }
                for (i, item) in items.iter().enumerate() {
                    let name = format!("{}[{i}]", k.as_str());
                    let item_at = join(prefix, &name);
                    if let Some(s) = item.span().start() {
                        positions.insert(item_at.clone(), (s.line(), s.column()));
                    }
                    let Y::Mapping(inner) = item else {
                        return Err(OptionError::new(
                            &item_at,
                            "a list holds values or tables, not both",
                        ));
                    };
                    let mut t = Tree::default();
                    yaml_mapping(inner, &item_at, &mut t, positions)?;
                    into.insert(&[&name], &item_at, Node::Tree(t))?;
                }
            }
        }
    }
    Ok(())
}

/// Reads TOML; a syntax error is the document's error, with its position.
pub fn read_toml(path: &Path, text: &str) -> Result<Document, ConfigError> {
    let parsed = DeTable::parse(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map_or((1, 1), |s| crate::error::line_col(text, s.start));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_string(),
        }
    })?;
    let mut doc = Document {
        root: Tree::default(),
        positions: HashMap::new(),
    };
    let mut root = Tree::default();
    toml_table(parsed.get_ref(), "", text, &mut root, &mut doc.positions).map_err(|e| {
        let (line, column) = doc.positions.get(&e.at).copied().unwrap_or((1, 1));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message,
        }
    })?;
    doc.root = root;
    Ok(doc)
}

fn toml_table(
    t: &DeTable<'_>,
    prefix: &str,
    text: &str,
    into: &mut Tree,
    positions: &mut HashMap<String, (usize, usize)>,
) -> Result<(), OptionError> {
    for (k, v) in t.iter() {
        let key: &str = k.get_ref();
        let at = join(prefix, key);
        positions.insert(at.clone(), crate::error::line_col(text, k.span().start));
        match v.get_ref() {
            DeValue::Table(inner) => {
                let mut sub = Tree::default();
                toml_table(inner, &at, text, &mut sub, positions)?;
                into.insert(&[key], &at, Node::Tree(sub))?;
            }
            DeValue::Array(items) => {
                let tables = items
                    .iter()
                    .any(|i| matches!(i.get_ref(), DeValue::Table(_)));
                if !tables {
                    let list = items.iter().filter_map(|i| scalar(i.get_ref())).collect();
                    into.insert(&[key], &at, Node::List(list))?;
                    continue;
                }
                for (i, item) in items.iter().enumerate() {
                    let name = format!("{key}[{i}]");
                    let item_at = join(prefix, &name);
                    positions.insert(
                        item_at.clone(),
                        crate::error::line_col(text, item.span().start),
                    );
                    let DeValue::Table(inner) = item.get_ref() else {
                        return Err(OptionError::new(
                            &item_at,
                            "a list holds values or tables, not both",
                        ));
                    };
                    let mut sub = Tree::default();
                    toml_table(inner, &item_at, text, &mut sub, positions)?;
                    into.insert(&[&name], &item_at, Node::Tree(sub))?;
                }
            }
            other => {
                let value = scalar(other).unwrap_or_default();
                into.insert(&[key], &at, Node::Text(value))?;
            }
        }
    }
    Ok(())
}

fn scalar(v: &DeValue<'_>) -> Option<String> {
    Some(match v {
        DeValue::String(s) => s.to_string(),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        DeValue::Array(_) | DeValue::Table(_) => return None,
    })
}

/// Whether a TOML dynamic file is written for Traefik 2.x/3.x: it has `[http]` (or `[tcp]`,
/// `[udp]`), or a `[tls]` table where 1.x has `[[tls]]`.
pub fn is_v2_dynamic_toml(text: &str) -> bool {
    let Ok(doc) = DeTable::parse(text) else {
        return false;
    };
    let t = doc.get_ref();
    ["http", "tcp", "udp"].iter().any(|k| t.get(*k).is_some())
        || t.get("tls")
            .is_some_and(|v| matches!(v.get_ref(), DeValue::Table(_)))
}
