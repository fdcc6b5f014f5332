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
    load_middlewares(config, &read);
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
            Ok(text) => merge(&mut u.users, &text),
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

/// The users of a file (blank lines and `#` comments left out) added to `users`, replacing
/// the entries of the same users (the file wins, as in Traefik).
fn merge(users: &mut Vec<String>, text: &str) {
    let from_file: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    let user = |l: &str| l.split(':').next().unwrap_or_default().to_string();
    let in_file: Vec<String> = from_file.iter().map(|l| user(l)).collect();
    users.retain(|l| !in_file.contains(&user(l)));
    users.extend(from_file);
}

/// The same for 2.x/3.x `basicAuth`/`digestAuth` middlewares; one whose file cannot be read
/// is taken out with the error, so the routers that name it answer 503.
fn load_middlewares(config: &mut ProviderConfig, read: &impl Fn(&str) -> std::io::Result<String>) {
    use model::http::Middleware;
    let named: Vec<(String, String)> = (config.http.middlewares.iter())
        .filter_map(|(name, m)| match &**m {
            Middleware::Auth(a) => match &a.0.kind {
                AuthKind::Basic(u) | AuthKind::Digest(u) => {
                    u.users_file.clone().map(|f| (name.clone(), f))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    for (name, path) in named {
        let Some(m) = config.http.middlewares.get(&name) else {
            continue;
        };
        let mut m = (**m).clone();
        match (read(&path), &mut m) {
            (Ok(text), Middleware::Auth(a)) => {
                if let AuthKind::Basic(u) | AuthKind::Digest(u) = &mut a.0.kind {
                    merge(&mut u.users, &text);
                }
                config.http.middlewares.insert(name, std::sync::Arc::new(m));
            }
            (Err(e), _) => {
                config.errors.push(ProviderError::File {
                    path: path.clone().into(),
                    item: format!("(usersFile of middleware {name})"),
                    message: format!(
                        "cannot read: {e}; the routers that use it answer 503 to every request rather than serve without it"
                    ),
                });
                config.http.middlewares.remove(&name);
            }
            _ => {}
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
                            realm: None,
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
    fn middlewares_read_their_files_and_an_unreadable_one_is_taken_out() {
        use model::http::{AuthMiddleware, Middleware};
        let auth = |file: &str| {
            std::sync::Arc::new(Middleware::Auth(Box::new(AuthMiddleware(Auth {
                header_field: None,
                kind: AuthKind::Basic(UsersAuth {
                    users: vec!["a:{SHA}x".into()],
                    users_file: Some(file.into()),
                    remove_header: false,
                    realm: None,
                }),
            }))))
        };
        let mut c = ProviderConfig::default();
        c.http.middlewares.insert("ok".into(), auth("/users"));
        c.http.middlewares.insert("gone".into(), auth("/missing"));
        load_with(&mut c, |p| match p {
            "/users" => Ok("a:{SHA}y\nb:{SHA}z\n".into()),
            _ => Err(std::io::Error::other("no such file")),
        });
        let Middleware::Auth(a) = &*c.http.middlewares["ok"] else {
            panic!("auth");
        };
        let AuthKind::Basic(u) = &a.0.kind else {
            panic!("basic");
        };
        assert_eq!(u.users, ["a:{SHA}y", "b:{SHA}z"]);
        assert!(!c.http.middlewares.contains_key("gone"));
        assert!(
            c.errors[0]
                .to_string()
                .contains("(usersFile of middleware gone): cannot read"),
            "{:?}",
            c.errors
        );
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
