//! `usersFile` for basic and digest auth: read after translation (the translators stay pure)
//! and merged into the users, file entries last so they win for a user named in both, as in
//! Traefik. A file that cannot be read refuses its frontend (503) with the error.

use model::dynamic::{ProviderConfig, ProviderError};
use model::middleware::AuthKind;

/// Reads every users file `config` names.
pub fn load(config: &mut ProviderConfig) {
    load_with(config, |path| std::fs::read_to_string(path))
}

fn load_with(config: &mut ProviderConfig, read: impl Fn(&str) -> std::io::Result<String>) {
    let named: Vec<String> = (config.frontends.iter())
        .filter(|(_, f)| {
            f.middlewares.auth.as_ref().is_some_and(|a| {
                matches!(&a.kind, AuthKind::Basic(u) | AuthKind::Digest(u) if u.users_file.is_some())
            })
        })
        .map(|(name, _)| name.clone())
        .collect();
    for name in named {
        let Some(f) = config.frontends.get_mut(&name) else {
            continue;
        };
        let f = std::sync::Arc::make_mut(f);
        let Some(auth) = f.middlewares.auth.as_mut() else {
            continue;
        };
        let (AuthKind::Basic(u) | AuthKind::Digest(u)) = &mut auth.kind else {
            continue;
        };
        let Some(path) = u.users_file.clone() else {
            continue;
        };
        match read(&path) {
            Ok(text) => {
                let from_file: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect();
                let user = |l: &str| l.split(':').next().unwrap_or_default().to_string();
                let in_file: Vec<String> = from_file.iter().map(|l| user(l)).collect();
                u.users.retain(|l| !in_file.contains(&user(l)));
                u.users.extend(from_file);
            }
            Err(e) => {
                config.errors.push(ProviderError::File {
                    path: path.clone().into(),
                    item: format!("(usersFile of frontend {name})"),
                    message: format!(
                        "cannot read: {e}; the frontend answers 503 to every request rather than serve without it"
                    ),
                });
                f.unenforced.push(format!("usersFile {path}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::dynamic::Frontend;
    use model::middleware::{Auth, UsersAuth};

    fn with_file(users: &[&str], file: &str) -> ProviderConfig {
        let mut c = ProviderConfig::default();
        c.frontends.insert(
            "f".into(),
            std::sync::Arc::new(Frontend {
                source: None,
                entry_points: vec![],
                backend: "b".into(),
                routes: Default::default(),
                pass_host_header: true,
                priority: 0,
                redirect: None,
                errors: Default::default(),
                middlewares: model::middleware::FrontendMiddlewares {
                    auth: Some(Auth {
                        header_field: None,
                        kind: AuthKind::Basic(UsersAuth {
                            users: users.iter().map(|s| s.to_string()).collect(),
                            users_file: Some(file.into()),
                            remove_header: false,
                        }),
                    }),
                    ..Default::default()
                },
                unenforced: vec![],
                // The 2.x/3.x-only settings (lowered routers set them).
                ..Frontend::default()
            }),
        );
        c
    }

    #[test]
    fn file_entries_are_merged_and_win() {
        let mut c = with_file(&["a:{SHA}x", "b:{SHA}y"], "/users");
        load_with(&mut c, |_| Ok("# comment\nb:{SHA}z\nc:{SHA}w\n".into()));
        let Some(AuthKind::Basic(u)) = c.frontends["f"].middlewares.auth.as_ref().map(|a| &a.kind)
        else {
            panic!("basic auth");
        };
        assert_eq!(u.users, ["a:{SHA}x", "b:{SHA}z", "c:{SHA}w"]);
    }

    #[test]
    fn an_unreadable_file_refuses_the_frontend() {
        let mut c = with_file(&[], "/missing");
        load_with(&mut c, |_| Err(std::io::Error::other("no such file")));
        assert_eq!(c.frontends["f"].unenforced, ["usersFile /missing"]);
        assert!(
            c.errors[0]
                .to_string()
                .starts_with("file /missing (usersFile of frontend f): cannot read")
        );
    }
}
