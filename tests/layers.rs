//! The layering the compiler enforces, held against DESIGN.md: the crate table there must list
//! exactly the portier crates each crate's Cargo.toml depends on, and every crate must say its
//! role in a `//!` line and deny unreachable `pub` items.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Each workspace crate's name and the portier crates it depends on (normal dependencies).
fn manifests() -> BTreeMap<String, BTreeSet<String>> {
    let mut dirs = vec![root()];
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        dirs.push(entry.expect("entry").path());
    }
    let workspace: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).expect("read"))
            .expect("root Cargo.toml");
    let renamed = &workspace["workspace"]["dependencies"];
    dirs.iter()
        .map(|dir| {
            let m: toml::Table =
                toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml")).expect("read"))
                    .expect("Cargo.toml");
            let name = m["package"]["name"].as_str().expect("name").to_string();
            let deps = m
                .get("dependencies")
                .and_then(|d| d.as_table())
                .into_iter()
                .flat_map(|d| d.keys())
                .filter_map(|k| {
                    let package = renamed.get(k)?.get("package")?.as_str()?;
                    package.starts_with("portier-").then(|| package.to_string())
                })
                .collect();
            (name, deps)
        })
        .collect()
}

/// The table between the `crate-dependencies` markers of DESIGN.md.
fn design_table() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("DESIGN.md")).expect("DESIGN.md");
    let start = text
        .find("<!-- crate-dependencies -->")
        .expect("start marker");
    let end = text
        .find("<!-- /crate-dependencies -->")
        .expect("end marker");
    text[start..end]
        .lines()
        .filter(|l| l.starts_with("| portier"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let deps = cells[2]
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(String::from)
                .collect();
            (cells[1].to_string(), deps)
        })
        .collect()
}

#[test]
fn design_md_lists_the_dependencies_cargo_has() {
    assert_eq!(design_table(), manifests());
}

#[test]
fn dependencies_point_one_way() {
    // The flow, upstream first; a crate may depend only on crates before it.
    let order = [
        "portier-model",
        "portier-middleware",
        "portier-config",
        "portier-providers",
        "portier-control",
        "portier-dataplane",
        "portier",
    ];
    for (name, deps) in manifests() {
        let at = order.iter().position(|o| *o == name).expect("known crate");
        for d in deps {
            let dep_at = order.iter().position(|o| *o == d).expect("known dep");
            assert!(dep_at < at, "{name} depends on {d}, against the flow");
        }
    }
    assert!(
        !manifests()["portier-providers"].contains("portier-control"),
        "providers talk to the aggregator through the model's ProviderUpdate"
    );
    assert_eq!(
        manifests()["portier-middleware"],
        ["portier-model".to_string()].into(),
        "middlewares do no I/O and know nothing of tables or listeners"
    );
}

#[test]
fn every_crate_says_its_role_and_denies_unreachable_pub() {
    let lints = std::fs::read_to_string(root().join("Cargo.toml")).expect("read");
    assert!(lints.contains("unreachable_pub = \"deny\""));
    for dir in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let dir = dir.expect("entry").path();
        let lib = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
        assert!(lib.starts_with("//! "), "{}: no role line", dir.display());
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("read");
        assert!(
            manifest.contains("[lints]\nworkspace = true"),
            "{}: workspace lints",
            dir.display()
        );
    }
    assert!(Path::new(&root().join("src/lib.rs")).exists());
}
