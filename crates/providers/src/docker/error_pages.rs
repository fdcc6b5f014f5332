//! `traefik.frontend.errors.NAME.{status,backend,query}` → the frontend's custom error pages.
//! The backend is named as the label names it with Traefik's `backend-` prefix (so
//! `…backend=error` is the backend of containers labelled `traefik.backend=error`). A page
//! that cannot be read is an error on its label and is left out; the route is served. Pure.

use std::collections::BTreeMap;

use model::dynamic::{ErrorPage, ProviderError};

use super::container::ContainerInfo;
use super::translate::normalize;

const PREFIX: &str = "traefik.frontend.errors.";
const FIELDS: [&str; 3] = ["status", "backend", "query"];

/// Whether `key` is an error-page label.
pub(super) fn is_error_page_label(key: &str) -> bool {
    key.strip_prefix(PREFIX)
        .and_then(|rest| rest.rsplit_once('.'))
        .is_some_and(|(name, field)| !name.is_empty() && FIELDS.contains(&field))
}

/// The container's error pages, and an error for each one left out.
pub(super) fn read(c: &ContainerInfo) -> (BTreeMap<String, ErrorPage>, Vec<ProviderError>) {
    let mut fields: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for (key, value) in &c.labels {
        if !is_error_page_label(key) || value.trim().is_empty() {
            continue;
        }
        if let Some((name, field)) = key[PREFIX.len()..].rsplit_once('.') {
            fields.entry(name).or_default().insert(field, value.trim());
        }
    }
    let mut pages = BTreeMap::new();
    let mut errors = Vec::new();
    for (name, f) in fields {
        let bad = |field: &str, why: String| ProviderError::Label {
            container: c.name.clone(),
            label: format!("{PREFIX}{name}.{field}"),
            message: format!("{why}; error page {name} left out, the route is served without it"),
        };
        let Some(backend) = f.get("backend") else {
            errors.push(bad(
                "backend",
                "missing: the backend that serves the page".into(),
            ));
            continue;
        };
        let page = ErrorPage {
            status: f
                .get("status")
                .map(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default(),
            backend: format!("backend-{}", normalize(backend)),
            query: f.get("query").map(|q| q.to_string()).unwrap_or_default(),
        };
        match page.ranges() {
            Ok(r) if !r.is_empty() => {
                pages.insert(name.to_string(), page);
            }
            Ok(_) => errors.push(bad("status", "missing: the statuses (500-599,404)".into())),
            Err(e) => errors.push(bad("status", format!("value {:?}: {e}", f["status"]))),
        }
    }
    (pages, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(labels: &[(&str, &str)]) -> ContainerInfo {
        ContainerInfo::labelled("web", labels)
    }

    #[test]
    fn pages_read_with_the_backend_prefix_and_bad_ones_are_errors() {
        let (pages, errors) = read(&container(&[
            ("traefik.frontend.errors.e5.status", "500-599, 404"),
            ("traefik.frontend.errors.e5.backend", "error"),
            ("traefik.frontend.errors.e5.query", "/{status}.html"),
            ("traefik.frontend.errors.bad.status", "5xx"),
            ("traefik.frontend.errors.bad.backend", "error"),
            ("traefik.frontend.errors.lost.status", "404"),
        ]));
        assert_eq!(
            pages["e5"],
            ErrorPage {
                status: vec!["500-599".into(), "404".into()],
                backend: "backend-error".into(),
                query: "/{status}.html".into(),
            }
        );
        assert_eq!(pages.len(), 1);
        let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            text[0].contains("traefik.frontend.errors.bad.status: value \"5xx\""),
            "{text:?}"
        );
        assert!(
            text[1].contains("traefik.frontend.errors.lost.backend: missing"),
            "{text:?}"
        );
        assert!(is_error_page_label("traefik.frontend.errors.x.query"));
        assert!(!is_error_page_label("traefik.frontend.errors.x.other"));
    }
}
