//! Rule zero for labels: the `traefik.*` labels that ask for a protection portier does not
//! enforce (any spelling of a protective label other than Traefik's own, plain or in a
//! segment, which `middlewares` reads). Pure.

use model::dynamic::ProviderError;

use super::container::ContainerInfo;

/// Whether a protection applies to the container's frontend or to its whole backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    Frontend,
    Backend,
}

/// The protection a label asks for when portier cannot enforce it yet, in both the plain
/// (`traefik.frontend.auth.basic.users`) and the segment form (`traefik.<seg>.frontend.…`).
/// Compared without case, so no spelling of a protection slips through as "unknown".
pub(super) fn unenforced_protection(key: &str) -> Option<(Scope, &'static str)> {
    if super::middlewares::is_middleware_label(&super::segments::plain(key)) {
        return None;
    }
    let key = key.to_ascii_lowercase();
    let rest = key.strip_prefix("traefik.")?;
    let parts: Vec<&str> = rest.split('.').collect();
    let parts = match parts.as_slice() {
        [first, tail @ ..] if *first != "frontend" && *first != "backend" => tail,
        all => all,
    };
    match parts {
        ["frontend", "auth", ..] => Some((Scope::Frontend, "authentication")),
        ["frontend", "whitelist" | "whitelistsourcerange", ..] => {
            Some((Scope::Frontend, "an IP allowlist"))
        }
        ["frontend", "ratelimit", ..] => Some((Scope::Frontend, "a rate limit")),
        ["frontend", "headers", name, ..]
            if !matches!(
                *name,
                "customrequestheaders" | "customresponseheaders" | "isdevelopment"
            ) =>
        {
            Some((Scope::Frontend, "security headers"))
        }
        ["backend", "maxconn", ..] => Some((Scope::Backend, "a connection limit")),
        ["backend", "buffering", ..] => Some((Scope::Backend, "request/response body limits")),
        _ => None,
    }
}

/// One error per protective label of `c` that portier cannot enforce yet.
pub(super) fn unenforced_errors(c: &ContainerInfo) -> Vec<ProviderError> {
    c.labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(key, _)| {
            let (scope, what) = unenforced_protection(key)?;
            let whom = match scope {
                Scope::Frontend => "its frontend",
                Scope::Backend => "every frontend of its backend",
            };
            Some(ProviderError::Label {
                container: c.name.clone(),
                label: key.to_string(),
                message: format!(
                    "asks for {what}, which portier does not enforce yet; {whom} answers 503 to every request rather than serve without it"
                ),
            })
        })
        .collect()
}
