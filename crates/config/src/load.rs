//! Reading traefik.toml and layering command-line flags over it.

use std::path::{Path, PathBuf};

use super::address::ListenAddress;
use super::error::{ConfigError, from_toml};
use super::resolved::*;
use super::schema::{
    self, AccessLogFieldsToml, AccessLogFiltersToml, DynamicToml, FileConfig, LogLevelToml,
};
use model::duration::GoDuration;
use model::redirect::{Redirect, RedirectTo};

/// A parsed file, its text (for positions) and the unknown keys it held.
#[derive(Debug, Default)]
pub struct Loaded {
    pub path: Option<PathBuf>,
    pub text: String,
    pub file: FileConfig,
    pub warnings: Vec<String>,
}

/// Reads and parses one traefik.toml. Unknown keys are collected as warnings.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_text(path, text)
}

/// Parses config text that came from `path` (used for messages only).
pub(crate) fn parse_text(path: &Path, text: String) -> Result<Loaded, ConfigError> {
    let (file, unknown) = parse_toml(path, &text)?;
    refuse_traefik_only(path, &text, &unknown)?;
    let warnings = unknown
        .iter()
        .map(|key| {
            let u = unknown_key::<FileConfig>(&text, key);
            let at = u
                .line_col
                .map(|(l, c)| format!(":{l}:{c}"))
                .unwrap_or_default();
            format!(
                "{}{at}: unknown key {key} is ignored{}",
                path.display(),
                u.hint()
            )
        })
        .collect();
    Ok(Loaded {
        path: Some(path.to_path_buf()),
        text,
        file,
        warnings,
    })
}

/// A Traefik 1.7 key portier does not implement is an error at its position, not an unknown
/// key: Traefik acts on it.
fn refuse_traefik_only(path: &Path, text: &str, unknown: &[String]) -> Result<(), ConfigError> {
    let mut refused = unknown
        .iter()
        .filter_map(|k| crate::traefik_only::not_implemented(k).map(|w| (k, w)));
    let Some((key, what)) = refused.next() else {
        return Ok(());
    };
    let others: Vec<&str> = refused.map(|(k, _)| k.as_str()).collect();
    let also = if others.is_empty() {
        String::new()
    } else {
        format!(" (also refused: {})", others.join(", "))
    };
    let at = crate::origin::key_offset(text, key)
        .map(|o| crate::error::line_col(text, o))
        .map(|(l, c)| format!(":{l}:{c}"))
        .unwrap_or_default();
    Err(ConfigError::Invalid {
        path: PathBuf::from(format!("{}{at}", path.display())),
        key: key.clone(),
        message: format!(
            "Traefik 1.7 acts on it ({what}); portier does not implement that and will not start without it; remove it{also}"
        ),
    })
}

/// Deserializes TOML text from `path`. Unknown keys come back by name (`docker.endpont`), except
/// a key that asks for a protection portier does not enforce (in any spelling): that is an
/// error, so the protection is never dropped silently.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<(T, Vec<String>), ConfigError> {
    let mut unknown = Vec::new();
    let mut refused = None;
    let de = toml::Deserializer::parse(text).map_err(|e| from_toml(path, text, &e))?;
    let value = serde_ignored::deserialize(de, |key| {
        let name = key_name(&key);
        match super::protection::protective_key(&name) {
            Some(what) => {
                refused.get_or_insert((name, what));
            }
            None => unknown.push(name),
        }
    })
    .map_err(|e| from_toml(path, text, &e))?;
    if let Some((key, what)) = refused {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            message: format!(
                "asks for {what}, which portier does not enforce here yet; the configuration is refused rather than served without it"
            ),
        });
    }
    Ok((value, unknown))
}

/// A key no field of the schema takes: where it is written and the key it most likely meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub line_col: Option<(usize, usize)>,
    /// The full dotted key suggested instead.
    pub suggestion: Option<String>,
}

impl UnknownKey {
    /// `" (did you mean docker.exposedByDefault?)"`, or nothing.
    pub fn hint(&self) -> String {
        self.suggestion
            .as_ref()
            .map(|s| format!(" (did you mean {s}?)"))
            .unwrap_or_default()
    }
}

/// Where `key` (as `parse_toml` names it) is in `text`, and the closest key `T` takes at its
/// level.
pub fn unknown_key<T: serde::de::DeserializeOwned>(text: &str, key: &str) -> UnknownKey {
    let line_col = crate::origin::key_offset(text, key).map(|o| crate::error::line_col(text, o));
    let steps: Vec<&str> = key.split('.').collect();
    let suggestion = steps.split_last().and_then(|(leaf, parent)| {
        let known = crate::keys::known_keys::<T>(parent);
        crate::suggest::did_you_mean(leaf, known).map(|s| {
            let mut full: Vec<&str> = parent.to_vec();
            full.push(s);
            full.join(".")
        })
    });
    UnknownKey {
        line_col,
        suggestion,
    }
}

/// serde_ignored writes `docker.?.endpont` for keys under an `Option`; show `docker.endpont`.
pub fn key_name(path: &serde_ignored::Path) -> String {
    path.to_string()
        .replace(".?", "")
        .trim_start_matches("?.")
        .to_string()
}

fn invalid(path: &Option<PathBuf>, key: &str, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        path: path
            .clone()
            .unwrap_or_else(|| PathBuf::from("<command line>")),
        key: key.to_string(),
        message: message.to_string(),
    }
}

/// Checks the parsed file (with the command line's flags laid over it, see
/// [`crate::apply_flags`]) and fills defaults. Returns the config, the dynamic part written
/// inline (for `[file]` without `filename`) and warnings to log.
pub fn resolve(loaded: &Loaded) -> Result<(Config, DynamicToml, Vec<String>), ConfigError> {
    let f = &loaded.file;
    let path = &loaded.path;
    let mut warnings = loaded.warnings.clone();
    let base_dir = path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();

    audit_unapplied(f, path, &mut warnings)?;
    let entry_points = resolve_entry_points(f, path, &base_dir, &mut warnings)?;
    let default_entry_points = resolve_default_entry_points(f, path, &entry_points)?;
    let log_level = resolve_log_level(f);
    let mut web = resolve_web(f, path, &entry_points)?;
    let ping_entry_point = resolve_ping(f, path, &entry_points)?;
    let docker = resolve_docker(f, path)?;
    if let (Some(w), Some(toml)) = (web.as_mut(), f.web.as_ref()) {
        w.users = web_users(toml, path, &base_dir)?;
    }
    let file = resolve_file(f, &base_dir, &mut warnings);
    if file.is_none() && (f.frontends.is_some() || f.backends.is_some()) {
        warnings
            .push("[frontends]/[backends] are ignored: add a [file] section to serve them".into());
    }
    let (responding_timeouts, forwarding_timeouts) = resolve_timeouts(f);
    let access_log = resolve_access_log(f, path, &base_dir)?;
    let acme = resolve_acme(f, path, &base_dir, &entry_points)?;
    let acme_more = resolve_more_acme(f, path, &base_dir, &entry_points)?;
    let inline = DynamicToml {
        frontends: f.frontends.clone(),
        backends: f.backends.clone(),
    };
    let config = Config {
        config_file: path.clone(),
        entry_points,
        default_entry_points,
        log_level,
        traefik_log_file: f
            .traefik_log
            .as_ref()
            .and_then(|t| t.file_path.as_ref())
            .or(f.traefik_logs_file.as_ref())
            .map(|p| relative_to(&base_dir, p)),
        traefik_log_format: resolve_log_format(f, path)?,
        web,
        ping_entry_point,
        docker,
        file,
        responding_timeouts,
        forwarding_timeouts,
        access_log,
        max_idle_conns_per_host: f
            .max_idle_conns_per_host
            .unwrap_or(DEFAULT_MAX_IDLE_CONNS_PER_HOST),
        max_conns_per_host: f.max_conns_per_host.unwrap_or(DEFAULT_MAX_CONNS_PER_HOST),
        insecure_skip_verify: f.insecure_skip_verify.unwrap_or(false),
        keep_trailing_slash: f.keep_trailing_slash.unwrap_or(false),
        root_cas: resolve_root_cas(f, &base_dir),
        grace_timeout: f
            .life_cycle
            .as_ref()
            .and_then(|l| l.grace_time_out)
            .or(f.grace_time_out)
            .unwrap_or(GoDuration(DEFAULT_GRACE_TIMEOUT)),
        providers_throttle: f.providers_throttle_duration.unwrap_or_default(),
        request_accept_grace_timeout: f
            .life_cycle
            .as_ref()
            .and_then(|l| l.request_accept_grace_timeout)
            .unwrap_or_default(),
        retry_attempts: f
            .retry
            .as_ref()
            .and_then(|r| r.attempts)
            .unwrap_or(DEFAULT_RETRY_ATTEMPTS)
            .max(1),
        acme,
        acme_more,
        generation: f.generation.clone(),
    };
    Ok((config, inline, warnings))
}

/// `[entryPoints]` (or the legacy `port`), then `--entryPoints` flags over them, then their
/// redirects.
fn resolve_entry_points(
    f: &FileConfig,
    path: &Option<PathBuf>,
    base_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<EntryPoint>, ConfigError> {
    let plain = |name: String, address: ListenAddress| EntryPoint {
        name,
        address,
        max_connections: DEFAULT_MAX_CONNECTIONS,
        tls: None,
        redirect: None,
        forwarded_headers: ForwardedHeaders::Trusted(Vec::new()),
        compress: false,
        proxy_protocol: None,
        middlewares: Default::default(),
    };
    let mut entry_points = Vec::new();
    match (&f.entry_points, &f.port) {
        (Some(eps), port) if !eps.is_empty() => {
            if port.is_some() {
                warnings.push("legacy `port` is ignored because [entryPoints] is set".into());
            }
            for (name, ep) in eps {
                let address = ep.address.clone().ok_or_else(|| {
                    invalid(path, &format!("entryPoints.{name}.address"), "is required")
                })?;
                entry_points.push(EntryPoint {
                    max_connections: ep.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS),
                    tls: tls_config(path, name, ep, base_dir)?,
                    forwarded_headers: forwarded_headers(path, name, ep)?,
                    compress: ep.compress.unwrap_or(false),
                    proxy_protocol: proxy_protocol(path, name, ep)?,
                    middlewares: entry_point_middlewares(path, name, ep, base_dir)?,
                    ..plain(name.clone(), address)
                });
            }
        }
        (_, port) => {
            let address = match port {
                Some(a) => a.clone(),
                None => ListenAddress::parse(DEFAULT_ENTRYPOINT_ADDRESS)
                    .map_err(|e| invalid(path, "port", e))?,
            };
            entry_points.push(plain(DEFAULT_ENTRYPOINT_NAME.to_string(), address));
        }
    }
    resolve_redirects(f, path, &mut entry_points)?;
    Ok(entry_points)
}

/// `--defaultEntryPoints`, else `defaultEntryPoints`, else `http`; each must be defined.
fn resolve_default_entry_points(
    f: &FileConfig,
    path: &Option<PathBuf>,
    entry_points: &[EntryPoint],
) -> Result<Vec<String>, ConfigError> {
    let names = f
        .default_entry_points
        .clone()
        .unwrap_or_else(|| vec![DEFAULT_ENTRYPOINT_NAME.to_string()]);
    if let Some(name) = names
        .iter()
        .find(|n| !entry_points.iter().any(|ep| &ep.name == *n))
    {
        let known: Vec<_> = entry_points.iter().map(|e| e.name.as_str()).collect();
        return Err(invalid(
            path,
            "defaultEntryPoints",
            format!(
                "entrypoint {name:?} is not defined (defined: {})",
                known.join(", ")
            ),
        ));
    }
    Ok(names)
}

/// `--logLevel`, else `logLevel`, else DEBUG with `debug = true`, else INFO.
fn resolve_log_level(f: &FileConfig) -> LogLevel {
    match f.log_level {
        Some(l) => from_toml_level(l),
        None if f.debug == Some(true) => LogLevel::Debug,
        None => LogLevel::Info,
    }
}

/// `[respondingTimeouts]` and `[forwardingTimeouts]` with Traefik's defaults.
fn resolve_timeouts(f: &FileConfig) -> (RespondingTimeouts, ForwardingTimeouts) {
    let rt = f.responding_timeouts.as_ref();
    let ft = f.forwarding_timeouts.as_ref();
    (
        RespondingTimeouts {
            read_header_timeout: rt
                .and_then(|t| t.read_header_timeout)
                .unwrap_or(GoDuration(DEFAULT_READ_HEADER_TIMEOUT)),
            read_timeout: rt.and_then(|t| t.read_timeout).unwrap_or_default(),
            write_timeout: rt.and_then(|t| t.write_timeout).unwrap_or_default(),
            idle_timeout: rt
                .and_then(|t| t.idle_timeout)
                .or(f.idle_timeout)
                .unwrap_or(GoDuration(DEFAULT_IDLE_TIMEOUT)),
        },
        ForwardingTimeouts {
            dial_timeout: ft
                .and_then(|t| t.dial_timeout)
                .unwrap_or(GoDuration(DEFAULT_DIAL_TIMEOUT)),
            response_header_timeout: ft
                .and_then(|t| t.response_header_timeout)
                .unwrap_or(GoDuration(DEFAULT_RESPONSE_HEADER_TIMEOUT)),
        },
    )
}

/// `rootCAs`: inline PEM as written, paths relative to the configuration file.
fn resolve_root_cas(f: &FileConfig, base_dir: &Path) -> Vec<String> {
    f.root_cas
        .iter()
        .flatten()
        .map(|c| {
            if c.contains("-----BEGIN") {
                c.clone()
            } else {
                relative_to(base_dir, c).display().to_string()
            }
        })
        .collect()
}

fn tls_config(
    path: &Option<PathBuf>,
    name: &str,
    ep: &schema::EntryPointToml,
    base_dir: &Path,
) -> Result<Option<TlsConfig>, ConfigError> {
    let Some(t) = &ep.tls else { return Ok(None) };
    let min_version = match t.min_version.as_deref() {
        None | Some("VersionTLS12") => TlsVersion::Tls12,
        Some("VersionTLS13") => TlsVersion::Tls13,
        Some(v @ ("VersionTLS10" | "VersionTLS11")) => {
            return Err(invalid(
                path,
                &format!("entryPoints.{name}.tls.minVersion"),
                format!(
                    "{v} is not offered (TLS 1.0 and 1.1 are insecure); use VersionTLS12 or VersionTLS13"
                ),
            ));
        }
        Some(v) => {
            return Err(invalid(
                path,
                &format!("entryPoints.{name}.tls.minVersion"),
                format!("{v:?} is not a TLS version (VersionTLS12 or VersionTLS13)"),
            ));
        }
    };
    let source = |c: &schema::CertificateToml| {
        let resolve = |v: &str| {
            if v.contains("-----BEGIN") {
                v.to_string()
            } else {
                relative_to(base_dir, v).display().to_string()
            }
        };
        CertSource {
            cert_file: resolve(&c.cert_file),
            key_file: resolve(&c.key_file),
        }
    };
    let client_ca = match &t.client_ca {
        None => None,
        Some(ca) => {
            let files: Vec<String> = ca
                .files
                .iter()
                .flatten()
                .map(|v| {
                    if v.contains("-----BEGIN") {
                        v.to_string()
                    } else {
                        relative_to(base_dir, v).display().to_string()
                    }
                })
                .collect();
            if files.is_empty() {
                return Err(invalid(
                    path,
                    &format!("entryPoints.{name}.tls.clientCA.files"),
                    "is empty: client certificates need at least one CA to be checked against",
                ));
            }
            Some(ClientCa {
                files,
                optional: ca.optional.unwrap_or(false),
            })
        }
    };
    let cipher_suites = match t.cipher_suites.as_deref() {
        None | Some([]) => None,
        Some(names) => Some(
            crate::cipher_suites::resolve(names)
                .map_err(|e| invalid(path, &format!("entryPoints.{name}.tls.cipherSuites"), e))?
                .offered,
        ),
    };
    Ok(Some(TlsConfig {
        client_ca,
        cipher_suites,
        min_version,
        certificates: t.certificates.iter().flatten().map(source).collect(),
        default_certificate: t.default_certificate.as_ref().map(source),
        sni_strict: t.sni_strict.unwrap_or(false),
    }))
}

fn resolve_acme(
    f: &FileConfig,
    path: &Option<PathBuf>,
    base_dir: &Path,
    entry_points: &[EntryPoint],
) -> Result<Option<AcmeSettings>, ConfigError> {
    let Some(a) = &f.acme else { return Ok(None) };
    let mut s = resolve_acme_toml(a, path, base_dir, entry_points)?;
    s.name = f.generation.resolvers.first().cloned();
    Ok(Some(s))
}

/// The 2.x/3.x resolvers after the first, each read as an `[acme]` table.
fn resolve_more_acme(
    f: &FileConfig,
    path: &Option<PathBuf>,
    base_dir: &Path,
    entry_points: &[EntryPoint],
) -> Result<Vec<AcmeSettings>, ConfigError> {
    let names = f.generation.resolvers.iter().skip(1);
    (f.generation.more_acme.iter().zip(names))
        .map(|(t, name)| {
            let a: schema::AcmeToml = toml::Value::Table(t.clone()).try_into().map_err(|e| {
                invalid(
                    path,
                    &format!("certificatesResolvers.{name}.acme"),
                    e.to_string(),
                )
            })?;
            let mut s = resolve_acme_toml(&a, path, base_dir, entry_points)?;
            s.name = Some(name.clone());
            // The 1.x frontends' Host rules are the first resolver's.
            s.on_host_rule = false;
            Ok(s)
        })
        .collect()
}

fn resolve_acme_toml(
    a: &schema::AcmeToml,
    path: &Option<PathBuf>,
    base_dir: &Path,
    entry_points: &[EntryPoint],
) -> Result<AcmeSettings, ConfigError> {
    let storage = a.storage.as_deref().ok_or_else(|| {
        invalid(
            path,
            "acme.storage",
            "is required (a directory for the account and certificates)",
        )
    })?;
    let entry_point = a
        .entry_point
        .clone()
        .ok_or_else(|| invalid(path, "acme.entryPoint", "is required (a TLS entrypoint)"))?;
    match entry_points.iter().find(|e| e.name == entry_point) {
        Some(ep) if ep.tls.is_some() => {}
        Some(_) => {
            return Err(invalid(
                path,
                "acme.entryPoint",
                format!("entrypoint {entry_point:?} has no [entryPoints.{entry_point}.tls]"),
            ));
        }
        None => {
            return Err(invalid(
                path,
                "acme.entryPoint",
                format!("entrypoint {entry_point:?} is not defined"),
            ));
        }
    }
    let http_challenge = match &a.http_challenge {
        None => None,
        Some(t) => {
            let name = t
                .get("entryPoint")
                .and_then(|v| v.as_str())
                .ok_or_else(|| {
                    invalid(
                        path,
                        "acme.httpChallenge.entryPoint",
                        "is required (the plain HTTP entrypoint on port 80 the CA connects to)",
                    )
                })?;
            match entry_points.iter().find(|e| e.name == name) {
                Some(ep) if ep.tls.is_none() => Some(name.to_string()),
                Some(_) => {
                    return Err(invalid(
                        path,
                        "acme.httpChallenge.entryPoint",
                        format!(
                            "entrypoint {name:?} serves TLS; HTTP-01 is answered over plain HTTP"
                        ),
                    ));
                }
                None => {
                    return Err(invalid(
                        path,
                        "acme.httpChallenge.entryPoint",
                        format!("entrypoint {name:?} is not defined"),
                    ));
                }
            }
        }
    };
    Ok(AcmeSettings {
        name: None,
        http_challenge,
        email: a.email.clone(),
        storage: relative_to(base_dir, storage),
        entry_point,
        on_host_rule: a.on_host_rule.unwrap_or(false),
        ca_server: a
            .ca_server
            .clone()
            .unwrap_or_else(|| DEFAULT_ACME_CA.to_string()),
        domains: a
            .domains
            .iter()
            .flatten()
            .map(|d| {
                std::iter::once(d.main.clone())
                    .chain(d.sans.clone().unwrap_or_default())
                    .collect()
            })
            .collect(),
    })
}

fn resolve_redirects(
    f: &FileConfig,
    path: &Option<PathBuf>,
    entry_points: &mut [EntryPoint],
) -> Result<(), ConfigError> {
    let Some(eps) = &f.entry_points else {
        return Ok(());
    };
    let mut redirects = Vec::new();
    for (name, ep) in eps {
        let Some(r) = &ep.redirect else {
            continue;
        };
        let key = |k: &str| format!("entryPoints.{name}.redirect{k}");
        let permanent = r.permanent.unwrap_or(false);
        let redirect = match (&r.entry_point, &r.regex, &r.replacement) {
            (Some(target), _, _) => {
                let Some(to) = entry_points.iter().find(|e| &e.name == target) else {
                    return Err(invalid(
                        path,
                        &key(".entryPoint"),
                        format!("entrypoint {target:?} is not defined"),
                    ));
                };
                Redirect {
                    to: RedirectTo::EntryPoint {
                        name: target.clone(),
                        https: to.tls.is_some(),
                        port: to.address.socket.port(),
                    },
                    permanent,
                }
            }
            (None, Some(regex), Some(replacement)) => {
                Redirect::regex(regex, replacement, permanent).map_err(|e| {
                    let k = if e.in_replacement() {
                        ".replacement"
                    } else {
                        ".regex"
                    };
                    invalid(path, &key(k), e)
                })?
            }
            (None, Some(_), None) => {
                return Err(invalid(path, &key(".regex"), "set without replacement"));
            }
            (None, None, Some(_)) => {
                return Err(invalid(path, &key(".replacement"), "set without regex"));
            }
            (None, None, None) => {
                return Err(invalid(
                    path,
                    &key(""),
                    "needs entryPoint, or regex and replacement",
                ));
            }
        };
        redirects.push((name.clone(), redirect));
    }
    for (name, r) in redirects {
        if let Some(ep) = entry_points.iter_mut().find(|e| e.name == name) {
            ep.redirect = Some(r);
        }
    }
    Ok(())
}

/// `[entryPoints.NAME.auth]` and `whiteList`, checked now: a protection that cannot be
/// honoured refuses the configuration (portier does not start, `portier check` exits 2).
fn entry_point_middlewares(
    path: &Option<PathBuf>,
    name: &str,
    ep: &schema::EntryPointToml,
    base_dir: &Path,
) -> Result<model::middleware::FrontendMiddlewares, ConfigError> {
    let first = |issues: Vec<crate::middlewares::Issue>| match issues.into_iter().next() {
        Some(i) => Err(invalid(
            path,
            &format!("entryPoints.{name}.{}", i.key),
            i.message,
        )),
        None => Ok(()),
    };
    let mut m = model::middleware::FrontendMiddlewares::default();
    if let Some(a) = &ep.auth {
        let (auth, issues) = crate::middlewares::entry_point_auth(a);
        first(issues)?;
        m.auth = auth;
    }
    let (white_list, issues) = crate::middlewares::entry_point_white_list(
        ep.white_list.as_ref(),
        ep.whitelist_source_range.as_ref(),
    );
    first(issues)?;
    m.white_list = white_list;
    if let Some(a) = m.auth.as_mut() {
        if let model::middleware::AuthKind::Basic(u) | model::middleware::AuthKind::Digest(u) =
            &mut a.kind
        {
            if let Some(file) = &u.users_file {
                let p = relative_to(base_dir, file);
                let text = std::fs::read_to_string(&p).map_err(|e| {
                    invalid(
                        path,
                        &format!("entryPoints.{name}.auth usersFile"),
                        format!("cannot read {}: {e}", p.display()),
                    )
                })?;
                u.users.extend(text.lines().map(String::from));
            }
        }
    }
    middleware::Guards::compile(&m)
        .map_err(|e| invalid(path, &format!("entryPoints.{name}"), e))?;
    Ok(m)
}

/// `[entryPoints.X.proxyProtocol]`: `trustedIPs`, or every peer with `insecure = true`; a
/// table with neither trusts no one, which is refused as a mistake (as Traefik does).
fn proxy_protocol(
    path: &Option<PathBuf>,
    name: &str,
    ep: &schema::EntryPointToml,
) -> Result<Option<ForwardedHeaders>, ConfigError> {
    let Some(pp) = &ep.proxy_protocol else {
        return Ok(None);
    };
    let key = format!("entryPoints.{name}.proxyProtocol");
    match (&pp.trusted_ips, pp.insecure) {
        (_, Some(true)) => Ok(Some(ForwardedHeaders::Insecure)),
        (Some(ips), _) if !ips.is_empty() => {
            let nets = ips
                .iter()
                .map(|ip| IpNet::parse(ip))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(path, &format!("{key}.trustedIPs"), e))?;
            Ok(Some(ForwardedHeaders::Trusted(nets)))
        }
        _ => Err(invalid(
            path,
            &key,
            "needs trustedIPs (the load balancers that send the header) or insecure = true",
        )),
    }
}

/// `[entryPoints.X.forwardedHeaders]`: which peers' X-Forwarded-* are kept. Without the table,
/// none (Traefik 2+'s default; Traefik 1.x trusted every peer). `insecure = true` trusts all,
/// whatever `trustedIPs` says, as in Traefik.
fn forwarded_headers(
    path: &Option<PathBuf>,
    name: &str,
    ep: &schema::EntryPointToml,
) -> Result<ForwardedHeaders, ConfigError> {
    let Some(fh) = &ep.forwarded_headers else {
        return Ok(ForwardedHeaders::Trusted(Vec::new()));
    };
    match (&fh.trusted_ips, fh.insecure) {
        (_, Some(true)) => Ok(ForwardedHeaders::Insecure),
        (Some(ips), _) => {
            let nets = ips
                .iter()
                .map(|ip| IpNet::parse(ip))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    invalid(
                        path,
                        &format!("entryPoints.{name}.forwardedHeaders.trustedIPs"),
                        e,
                    )
                })?;
            Ok(ForwardedHeaders::Trusted(nets))
        }
        (None, _) => Ok(ForwardedHeaders::Trusted(Vec::new())),
    }
}

fn resolve_web(
    f: &FileConfig,
    path: &Option<PathBuf>,
    entry_points: &[EntryPoint],
) -> Result<Option<WebConfig>, ConfigError> {
    let dashboard = f.api.as_ref().and_then(|a| a.dashboard).unwrap_or(true);
    refuse_unsupported_web_keys(f, path)?;
    let web = |address: ListenAddress, entry_point: Option<String>, prefix: String| {
        Some(WebConfig {
            address,
            entry_point,
            path: prefix,
            dashboard,
            users: Default::default(),
        })
    };
    let default_address =
        || ListenAddress::parse(DEFAULT_WEB_ADDRESS).map_err(|e| invalid(path, "web", e));
    if let Some(w) = &f.web {
        let address = match &w.address {
            Some(a) => a.clone(),
            None => default_address()?,
        };
        let prefix = web_path(w.path.as_deref(), path)?;
        return Ok(web(address, None, prefix));
    }
    let Some(api) = &f.api else {
        return Ok(None);
    };
    let name = api.entry_point.as_deref().unwrap_or(DEFAULT_API_ENTRYPOINT);
    if let Some(ep) = entry_points.iter().find(|ep| ep.name == name) {
        // Served on that entrypoint, beside its routes.
        return Ok(web(
            ep.address.clone(),
            Some(name.to_string()),
            String::new(),
        ));
    }
    if name != DEFAULT_API_ENTRYPOINT {
        let known: Vec<&str> = entry_points.iter().map(|e| e.name.as_str()).collect();
        return Err(invalid(
            path,
            "api.entryPoint",
            format!(
                "entrypoint {name:?} is not defined (defined: {}); define it, or leave entryPoint out for {DEFAULT_WEB_ADDRESS}",
                known.join(", ")
            ),
        ));
    }
    // Traefik creates the `traefik` entrypoint on :8080 when it is not defined.
    Ok(web(default_address()?, None, String::new()))
}

/// `[web] path`: `/test` (a trailing `/` dropped); `""` or `/` for none.
fn web_path(p: Option<&str>, path: &Option<PathBuf>) -> Result<String, ConfigError> {
    let p = p.unwrap_or("").trim_end_matches('/');
    if p.is_empty() {
        return Ok(String::new());
    }
    if !p.starts_with('/') || p.contains(['?', '#', ' ']) || p.contains("//") {
        return Err(invalid(
            path,
            "web.path",
            format!("{p:?}: write a path such as \"/traefik\""),
        ));
    }
    Ok(p.to_string())
}

/// `[ping] entryPoint` (default `traefik`): an entrypoint that answers `/ping` too; `None`
/// when it is the web listener's (or `[ping]` is absent).
fn resolve_ping(
    f: &FileConfig,
    path: &Option<PathBuf>,
    entry_points: &[EntryPoint],
) -> Result<Option<String>, ConfigError> {
    let Some(ping) = &f.ping else {
        return Ok(None);
    };
    let name = ping
        .entry_point
        .as_deref()
        .unwrap_or(DEFAULT_API_ENTRYPOINT);
    if entry_points.iter().any(|ep| ep.name == name) {
        return Ok(Some(name.to_string()));
    }
    if name == DEFAULT_API_ENTRYPOINT {
        // The web listener (the `traefik` entrypoint Traefik would create) answers /ping.
        return Ok(None);
    }
    Err(invalid(
        path,
        "ping.entryPoint",
        format!("entrypoint {name:?} is not defined"),
    ))
}

/// `[web]`/`[api]` keys portier reads and cannot honour yet: an error, never ignored.
fn refuse_unsupported_web_keys(f: &FileConfig, path: &Option<PathBuf>) -> Result<(), ConfigError> {
    if f.api.as_ref().and_then(|a| a.debug) == Some(true) {
        return Err(invalid(
            path,
            "api.debug",
            "/debug/vars and /debug/pprof are Go runtime endpoints portier does not have; remove it",
        ));
    }
    let web = (f.web.as_ref())
        .and_then(|w| w.metrics.as_ref())
        .and_then(|m| m.prometheus.as_ref())
        .map(|p| ("web.metrics.prometheus", p));
    let top = (f.metrics.as_ref())
        .and_then(|m| m.prometheus.as_ref())
        .map(|p| ("metrics.prometheus", p));
    for (table, p) in web.into_iter().chain(top) {
        if let Some(key) = p.keys().next() {
            return Err(invalid(
                path,
                &format!("{table}.{key}"),
                "not supported: /metrics beside the API has fixed buckets and no options; remove it",
            ));
        }
    }
    Ok(())
}

fn web_users(
    w: &schema::WebToml,
    path: &Option<PathBuf>,
    base_dir: &Path,
) -> Result<middleware::users::Users, ConfigError> {
    let basic = w.auth.as_ref().and_then(|a| a.basic.as_ref());
    let mut lines: Vec<String> = w.users.clone().unwrap_or_default();
    lines.extend(basic.and_then(|b| b.users.clone()).unwrap_or_default());
    for file in [
        w.users_file.as_ref(),
        basic.and_then(|b| b.users_file.as_ref()),
    ]
    .into_iter()
    .flatten()
    {
        let p = relative_to(base_dir, file);
        let text = std::fs::read_to_string(&p).map_err(|e| {
            invalid(
                path,
                "web.usersFile",
                format!("cannot read {}: {e}", p.display()),
            )
        })?;
        lines.extend(text.lines().map(String::from));
    }
    middleware::users::Users::parse(lines.iter().map(String::as_str))
        .map_err(|e| invalid(path, "web.users", e))
}

/// Keys Traefik 1.7 acts on that portier reads but does not apply: refused where applying
/// them differently would route wrongly, else a warning naming the key (shown on the
/// dashboard, in the API and by `portier check`).
fn audit_unapplied(
    f: &FileConfig,
    path: &Option<PathBuf>,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let mut warn = |key: &str, message: &str| {
        let file = path
            .as_ref()
            .map_or("command line".to_string(), |p| p.display().to_string());
        warnings.push(format!("{file}: {key}: {message}"));
    };
    if f.check_new_version == Some(true) {
        warn("checkNewVersion", "ignored: portier never calls home");
    }
    if f.send_anonymous_usage == Some(true) {
        warn("sendAnonymousUsage", "ignored: portier sends no usage data");
    }
    for (name, ep) in f.entry_points.iter().flatten() {
        let listed = ep.tls.as_ref().and_then(|t| t.cipher_suites.as_deref());
        let Some(Ok(suites)) = listed.map(crate::cipher_suites::resolve) else {
            continue;
        };
        if !suites.not_offered.is_empty() {
            warn(
                &format!("entryPoints.{name}.tls.cipherSuites"),
                &format!(
                    "not offered: {} (rustls does not implement CBC, RSA key exchange, 3DES or RC4 suites); the others listed are",
                    suites.not_offered.join(", ")
                ),
            );
        }
    }
    if let Some(a) = &f.acme {
        if a.acme_logging == Some(true) {
            warn(
                "acme.acmeLogging",
                "ignored: ACME progress is always logged at INFO (and errors at WARN)",
            );
        }
        if let Some(k) = a
            .key_type
            .as_deref()
            .filter(|k| !k.eq_ignore_ascii_case("EC256"))
        {
            warn(
                "acme.keyType",
                &format!("{k:?} is not applied: certificates are issued for an EC P-256 key"),
            );
        }

        if a.dns_challenge.is_some() {
            return Err(invalid(
                path,
                "acme.dnsChallenge",
                "the DNS-01 challenge is not implemented (portier answers TLS-ALPN-01 only); wildcard certificates cannot be obtained. Remove it to use TLS-ALPN-01",
            ));
        }
    }
    Ok(())
}

fn resolve_docker(
    f: &FileConfig,
    path: &Option<PathBuf>,
) -> Result<Option<DockerConfig>, ConfigError> {
    let Some(d) = f.docker.as_ref() else {
        return Ok(None);
    };
    let d = Some(d);
    let mut constraints = Vec::new();
    for (key, list) in [
        ("constraints", &f.constraints),
        ("docker.constraints", &d.and_then(|d| d.constraints.clone())),
    ] {
        for text in list.iter().flatten() {
            constraints.push(Constraint::parse(text).map_err(|e| invalid(path, key, e))?);
        }
    }
    Ok(Some(DockerConfig {
        endpoint: d
            .and_then(|d| d.endpoint.clone())
            .unwrap_or_else(|| DEFAULT_DOCKER_ENDPOINT.to_string()),
        domain: d.and_then(|d| d.domain.clone()).unwrap_or_default(),
        watch: d.and_then(|d| d.watch).unwrap_or(true),
        exposed_by_default: d.and_then(|d| d.exposed_by_default).unwrap_or(true),
        network: d.and_then(|d| d.network.clone()).unwrap_or_default(),
        constraints,
        use_bind_port_ip: d.and_then(|d| d.use_bind_port_ip).unwrap_or(false),
        swarm_mode: d.and_then(|d| d.swarm_mode).unwrap_or(false),
        swarm_refresh: std::time::Duration::from_secs(
            d.and_then(|d| d.swarm_mode_refresh_seconds)
                .unwrap_or(DEFAULT_SWARM_REFRESH_SECONDS)
                .max(1),
        ),
        labels_v2: f.generation.labels_v2,
        default_rule: f.generation.default_rule.clone(),
        label_constraint: match &f.generation.docker_constraints {
            None => None,
            Some(text) => Some(
                model::rules::LabelConstraint::parse(text)
                    .map_err(|e| invalid(path, "providers.docker.constraints", e))?,
            ),
        },
    }))
}

fn resolve_file(
    f: &FileConfig,
    base_dir: &Path,
    warnings: &mut Vec<String>,
) -> Option<FileProviderConfig> {
    let fp = f.file.as_ref();
    let watch = fp.and_then(|f| f.watch).unwrap_or(true);
    let relative = |p: &str| relative_to(base_dir, p);
    let fp = fp?;
    // Traefik reads the directory when both are set (its file provider checks it first).
    match (&fp.filename, &fp.directory) {
        (name, Some(dir)) => {
            if let Some(name) = name {
                warnings.push(format!(
                    "[file] has both filename and directory: filename {name:?} is ignored, as in Traefik (the directory is read)"
                ));
            }
            Some(FileProviderConfig::Directory {
                path: relative(dir),
                watch,
            })
        }
        (Some(name), None) => Some(FileProviderConfig::File {
            path: relative(name),
            watch,
        }),
        (None, None) => Some(FileProviderConfig::Inline),
    }
}

/// Paths in traefik.toml are relative to the file's folder, so portier can start from anywhere.
fn relative_to(base_dir: &Path, p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() { p } else { base_dir.join(p) }
}

fn resolve_access_log(
    f: &FileConfig,
    path: &Option<PathBuf>,
    base_dir: &Path,
) -> Result<Option<AccessLogConfig>, ConfigError> {
    let section = f.access_log.as_ref();
    let file_path = section
        .and_then(|a| a.file_path.clone())
        .or_else(|| f.access_logs_file.clone());
    if section.is_none() && file_path.is_none() {
        return Ok(None);
    }
    let format = match section.and_then(|a| a.format.as_deref()) {
        None | Some("common") => AccessLogFormat::Common,
        Some("json") => AccessLogFormat::Json,
        Some(other) => {
            return Err(invalid(
                path,
                "accessLog.format",
                format!("{other:?} is not a format (use \"common\" or \"json\")"),
            ));
        }
    };
    let filters = section
        .and_then(|a| a.filters.as_ref())
        .map(|f| access_log_filters(f, path))
        .transpose()?;
    let fields = match section.and_then(|a| a.fields.as_ref()) {
        Some(f) => access_log_fields(f, path)?,
        None => AccessLogFields::default(),
    };
    Ok(Some(AccessLogConfig {
        file_path: file_path
            .filter(|p| !p.is_empty())
            .map(|p| relative_to(base_dir, &p)),
        format,
        filters,
        fields,
        buffering_size: access_log_buffering(section.and_then(|a| a.buffering_size), path)?,
    }))
}

/// Most access-log lines `bufferingSize` may queue (a bounded queue of that many slots).
const MAX_ACCESS_LOG_BUFFERING: u64 = 1 << 20;

/// `[accessLog] bufferingSize`: 0 (or absent) takes the default queue.
fn access_log_buffering(n: Option<u64>, path: &Option<PathBuf>) -> Result<usize, ConfigError> {
    match n {
        None => Ok(0),
        Some(n) if n <= MAX_ACCESS_LOG_BUFFERING => Ok(n as usize),
        Some(n) => Err(invalid(
            path,
            "accessLog.bufferingSize",
            format!("{n} lines is more than the {MAX_ACCESS_LOG_BUFFERING} the queue may hold"),
        )),
    }
}

/// `[accessLog.filters]`: status codes as `"200"` or `"400-499"`.
fn access_log_filters(
    f: &AccessLogFiltersToml,
    path: &Option<PathBuf>,
) -> Result<AccessLogFilters, ConfigError> {
    let mut status_codes = Vec::new();
    for text in f.status_codes.iter().flatten() {
        // Traefik's flag form splits on `,` and `;` too.
        for part in text
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let range = status_range(part).ok_or_else(|| {
                invalid(
                    path,
                    "accessLog.filters.statusCodes",
                    format!(
                        "{part:?} is not a status code or range (write \"200\" or \"400-499\")"
                    ),
                )
            })?;
            status_codes.push(range);
        }
    }
    Ok(AccessLogFilters {
        status_codes,
        retry_attempts: f.retry_attempts.unwrap_or(false),
        min_duration: f.min_duration.filter(|d| !d.0.is_zero()),
    })
}

fn status_range(text: &str) -> Option<(u16, u16)> {
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=999).contains(c))
    };
    match text.split_once('-') {
        None => code(text).map(|c| (c, c)),
        Some((lo, hi)) => {
            let (lo, hi) = (code(lo)?, code(hi)?);
            (lo <= hi).then_some((lo, hi))
        }
    }
}

/// `[accessLog.fields]`: modes are checked (Traefik falls back to the default on a typo;
/// portier refuses it), field names must be Traefik's.
fn access_log_fields(
    f: &AccessLogFieldsToml,
    path: &Option<PathBuf>,
) -> Result<AccessLogFields, ConfigError> {
    let keep = |key: &str, mode: &str| match mode {
        "keep" => Ok(true),
        "drop" => Ok(false),
        other => Err(invalid(
            path,
            key,
            format!("{other:?} is not a mode (use \"keep\" or \"drop\")"),
        )),
    };
    let header = |key: &str, mode: &str| match mode {
        "keep" => Ok(HeaderMode::Keep),
        "drop" => Ok(HeaderMode::Drop),
        "redact" => Ok(HeaderMode::Redact),
        other => Err(invalid(
            path,
            key,
            format!("{other:?} is not a mode (use \"keep\", \"drop\" or \"redact\")"),
        )),
    };
    let mut out = AccessLogFields::default();
    if let Some(m) = &f.default_mode {
        out.default_keep = keep("accessLog.fields.defaultMode", m)?;
    }
    for (name, mode) in f.names.iter().flatten() {
        let key = format!("accessLog.fields.names.{name}");
        if !ACCESS_LOG_FIELDS.contains(&name.as_str()) {
            let hint = crate::suggest::did_you_mean(name, ACCESS_LOG_FIELDS.iter().copied())
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_default();
            return Err(invalid(
                path,
                &key,
                format!("{name:?} is not a field of the access log{hint}"),
            ));
        }
        out.names.insert(name.clone(), keep(&key, mode)?);
    }
    if let Some(h) = &f.headers {
        if let Some(m) = &h.default_mode {
            out.headers_default = header("accessLog.fields.headers.defaultMode", m)?;
        }
        for (name, mode) in h.names.iter().flatten() {
            let key = format!("accessLog.fields.headers.names.{name}");
            out.headers
                .insert(name.to_ascii_lowercase(), header(&key, mode)?);
        }
    }
    Ok(out)
}

/// `[traefikLog] format`: `common` (text, the default) or `json`.
fn resolve_log_format(f: &FileConfig, path: &Option<PathBuf>) -> Result<LogFormat, ConfigError> {
    match f.traefik_log.as_ref().and_then(|t| t.format.as_deref()) {
        None | Some("common") | Some("") => Ok(LogFormat::Common),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(invalid(
            path,
            "traefikLog.format",
            format!("{other:?} is not a format (use \"common\" or \"json\")"),
        )),
    }
}

fn from_toml_level(l: LogLevelToml) -> LogLevel {
    match l {
        LogLevelToml::Debug => LogLevel::Debug,
        LogLevelToml::Info => LogLevel::Info,
        LogLevelToml::Warn => LogLevel::Warn,
        LogLevelToml::Error | LogLevelToml::Fatal | LogLevelToml::Panic => LogLevel::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Loaded, ConfigError> {
        parse_text(Path::new("traefik.toml"), text.to_string())
    }

    fn resolved(text: &str) -> (Config, Vec<String>) {
        let loaded = parse(text).expect("parses");
        let (c, _, w) = resolve(&loaded).expect("resolves");
        (c, w)
    }

    #[test]
    fn the_seed_config_is_accepted_unchanged() {
        let (c, warnings) = resolved(
            r#"
port = ":80"          # legacy global listen address (entrypoint "http")
debug = true

[web]
address = ":8080"     # dashboard and API

[docker]
endpoint = "unix:///var/run/docker.sock"
domain = "docker.localhost"
watch = true
swarmmode = false
"#,
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(c.entry_points.len(), 1);
        assert_eq!(c.entry_points[0].name, "http");
        assert_eq!(c.entry_points[0].address.socket.to_string(), "0.0.0.0:80");
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(
            c.web.map(|w| w.address.socket.to_string()).as_deref(),
            Some("0.0.0.0:8080")
        );
        let d = c.docker.expect("docker");
        assert_eq!(d.domain, "docker.localhost");
        assert!(d.watch && d.exposed_by_default);
    }

    #[test]
    fn unknown_keys_warn_by_name() {
        let (_, warnings) = resolved("logLevel = \"INFO\"\nbogus = 1\n[docker]\nendpont = \"x\"\n");
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("bogus")));
        assert!(warnings.iter().any(|w| w.contains("docker.endpont")));
    }

    #[test]
    fn wrong_types_fail_with_line_and_column() {
        let err = parse("logLevel = \"INFO\"\n[entryPoints.http]\naddress = 80\n")
            .expect_err("must fail");
        let text = err.to_string();
        assert!(text.starts_with("traefik.toml:3:11:"), "{text}");

        let err = parse("[entryPoints.http]\naddress = \":eighty\"\n").expect_err("must fail");
        let text = err.to_string();
        assert!(text.starts_with("traefik.toml:2:11:"), "{text}");
        assert!(text.contains("not a number"), "{text}");

        let err = parse("[forwardingTimeouts]\ndialTimeout = \"3 parsecs\"\n").expect_err("fails");
        assert!(err.to_string().starts_with("traefik.toml:2:15:"), "{err}");
    }

    #[test]
    fn entrypoints_defaults_and_overrides() {
        let (c, _) = resolved("");
        assert_eq!(c.entry_points[0].address.socket.to_string(), "0.0.0.0:80");
        assert_eq!(c.default_entry_points, vec!["http"]);
        assert_eq!(c.log_level, LogLevel::Info);
        assert!(c.web.is_none() && c.docker.is_none() && c.file.is_none());

        let mut loaded = parse("[entryPoints.http]\naddress = \":80\"\n").expect("parses");
        let flag = |v: &str| crate::flags::Flag {
            name: "entryPoints".into(),
            value: Some(v.into()),
        };
        let flags = crate::flags::parse(
            &[
                flag("http=127.0.0.1:9000"),
                flag("Name:alt Address::9001"),
                crate::flags::Flag {
                    name: "logLevel".into(),
                    value: Some("warn".into()),
                },
            ],
            Path::new("/"),
        )
        .expect("flags");
        crate::apply_flags(&mut loaded.file, flags);
        let (c, _, _) = resolve(&loaded).expect("resolves");
        let names: Vec<_> = c.entry_points.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alt", "http"], "in name order, as in a file");
        assert_eq!(
            c.entry_points[1].address.socket.to_string(),
            "127.0.0.1:9000"
        );
        assert_eq!(c.log_level, LogLevel::Warn);
    }

    #[test]
    fn undefined_default_entrypoint_is_an_error() {
        let loaded = parse("defaultEntryPoints = [\"https\"]\n").expect("parses");
        let err = resolve(&loaded).expect_err("fails");
        assert!(
            err.to_string().contains("\"https\" is not defined"),
            "{err}"
        );
    }

    #[test]
    fn deprecated_globals_fill_their_sections() {
        let (c, w) = resolved(concat!(
            "graceTimeOut = \"3s\"\nidleTimeout = \"40s\"\ntraefikLogsFile = \"t.log\"\n",
            "providersThrottleDuration = \"2s\"\n[metrics.prometheus]\n",
        ));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.grace_timeout.0, Duration::from_secs(3));
        assert_eq!(
            c.responding_timeouts.idle_timeout.0,
            Duration::from_secs(40)
        );
        assert!(c.traefik_log_file.is_some_and(|p| p.ends_with("t.log")));
        assert_eq!(c.providers_throttle.0, Duration::from_secs(2));
        // The sections win over the deprecated globals.
        let (c, _) = resolved(
            "graceTimeOut = \"3s\"\n[lifeCycle]\ngraceTimeOut = \"7s\"\n[respondingTimeouts]\nidleTimeout = \"9s\"\n",
        );
        assert_eq!(c.grace_timeout.0, Duration::from_secs(7));
        assert_eq!(c.responding_timeouts.idle_timeout.0, Duration::from_secs(9));
    }

    #[test]
    fn traefik_keys_portier_does_not_implement_are_refused_at_their_place() {
        let err = parse("[entryPoints.http]\naddress = \":80\"\n[kubernetes]\nendpoint = \"x\"\n[docker.tls]\nca = \"ca.pem\"\n")
            .expect_err("refused")
            .to_string();
        assert!(
            err.contains(
                "traefik.toml:5:9: docker.tls: Traefik 1.7 acts on it (TLS to the Docker endpoint"
            ) && err.contains("(also refused: kubernetes)"),
            "{err}"
        );
        let err = parse("[metrics.prometheus]\nbuckets = [0.1]\n").expect("parses");
        let err = resolve(&err).expect_err("refused").to_string();
        assert!(err.contains("metrics.prometheus.buckets"), "{err}");
    }

    #[test]
    fn entry_point_regex_redirects_are_checked() {
        let ep = "[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.redirect]\n";
        let (c, _) = resolved(&format!(
            "{ep}regex = \"^http://(.*)\"\nreplacement = \"https://$1\"\n"
        ));
        let r = c.entry_points[0].redirect.as_ref().expect("redirect");
        assert_eq!(r.location(false, "a", "/b").as_deref(), Some("https://a/b"));
        for (body, key, says) in [
            (
                "regex = \"^(x\"\nreplacement = \"y\"\n",
                "redirect.regex",
                "unclosed group",
            ),
            (
                "regex = \"x\"\n",
                "redirect.regex",
                "set without replacement",
            ),
            (
                "replacement = \"y\"\n",
                "redirect.replacement",
                "set without regex",
            ),
            (
                "permanent = true\n",
                "redirect",
                "needs entryPoint, or regex and replacement",
            ),
            (
                "entryPoint = \"https\"\n",
                "redirect.entryPoint",
                "\"https\" is not defined",
            ),
        ] {
            let loaded = parse(&format!("{ep}{body}")).expect("parses");
            let err = resolve(&loaded).expect_err("refused").to_string();
            assert!(
                err.contains(&format!("entryPoints.http.{key}")) && err.contains(says),
                "{err}"
            );
        }
    }

    #[test]
    fn file_provider_modes() {
        let (c, _) = resolved("[file]\n");
        assert!(matches!(c.file, Some(FileProviderConfig::Inline)));
        let loaded = parse_text(
            Path::new("/etc/portier/traefik.toml"),
            "[file]\nfilename = \"rules.toml\"\nwatch = false\n".into(),
        )
        .expect("parses");
        let (c, _, _) = resolve(&loaded).expect("resolves");
        match c.file {
            Some(FileProviderConfig::File { path, watch }) => {
                assert_eq!(path, PathBuf::from("/etc/portier/rules.toml"));
                assert!(!watch);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn forwarded_headers_trust_no_one_unless_told() {
        let trust = |extra: &str| {
            let (c, _) = resolved(&format!("[entryPoints.http]\naddress = \":80\"\n{extra}"));
            c.entry_points[0].forwarded_headers.clone()
        };
        let local: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
        assert!(!trust("").trusts(local), "Traefik 2+'s default, not 1.x's");
        let fh = "[entryPoints.http.forwardedHeaders]\n";
        assert!(!trust(fh).trusts(local));
        let listed = trust(&format!("{fh}trustedIPs = [\"127.0.0.0/8\"]\n"));
        assert!(listed.trusts(local));
        assert!(!listed.trusts("10.0.0.1".parse().expect("ip")));
        assert_eq!(
            trust(&format!(
                "{fh}insecure = true\ntrustedIPs = [\"10.0.0.0/8\"]\n"
            )),
            ForwardedHeaders::Insecure
        );
        let (c, _) = resolved("");
        assert!(
            c.entry_points
                .iter()
                .all(|e| !e.forwarded_headers.trusts(local))
        );
    }

    #[test]
    fn timeouts_and_access_log() {
        let (c, _) = resolved(
            "[respondingTimeouts]\nidleTimeout = \"60s\"\n[forwardingTimeouts]\nresponseHeaderTimeout = \"2s\"\n[accessLog]\n",
        );
        assert_eq!(c.responding_timeouts.idle_timeout.0.as_secs(), 60);
        assert_eq!(c.forwarding_timeouts.response_header_timeout.0.as_secs(), 2);
        assert_eq!(c.forwarding_timeouts.dial_timeout.0.as_secs(), 30);
        let (default, _) = resolved("[forwardingTimeouts]\ndialTimeout = \"5s\"\n");
        assert_eq!(
            default
                .forwarding_timeouts
                .response_header_timeout
                .0
                .as_secs(),
            60,
            "a safe default, unlike Traefik's none"
        );
        let (none, _) = resolved("[forwardingTimeouts]\nresponseHeaderTimeout = \"0\"\n");
        assert!(none.forwarding_timeouts.response_header_timeout.0.is_zero());
        assert_eq!(
            c.access_log,
            Some(AccessLogConfig {
                file_path: None,
                format: AccessLogFormat::Common,
                filters: None,
                fields: AccessLogFields::default(),
                buffering_size: 0,
            })
        );
        let loaded = parse("[accessLog]\nformat = \"xml\"\n").expect("parses");
        let err = resolve(&loaded).expect_err("fails");
        assert!(err.to_string().contains("accessLog.format"), "{err}");
    }

    #[test]
    fn access_log_filters_and_fields_as_traefik_writes_them() {
        let (c, _) = resolved(concat!(
            "[accessLog]\nformat = \"json\"\nbufferingSize = 100\n",
            "[accessLog.filters]\nstatusCodes = [\"200\", \"400-404\"]\nretryAttempts = true\nminDuration = \"10ms\"\n",
            "[accessLog.fields]\ndefaultMode = \"keep\"\n[accessLog.fields.names]\nClientUsername = \"drop\"\n",
            "[accessLog.fields.headers]\ndefaultMode = \"drop\"\n[accessLog.fields.headers.names]\n\"User-Agent\" = \"redact\"\nAuthorization = \"drop\"\n",
        ));
        let a = c.access_log.expect("access log");
        assert_eq!(a.buffering_size, 100);
        let f = a.filters.expect("filters");
        assert_eq!(f.status_codes, vec![(200, 200), (400, 404)]);
        assert!(f.keep(404, 0, Duration::ZERO));
        assert!(!f.keep(500, 0, Duration::ZERO));
        assert!(f.keep(500, 1, Duration::ZERO), "a retried request");
        assert!(f.keep(500, 0, Duration::from_millis(11)), "a slow request");
        assert!(!a.fields.keep("ClientUsername"));
        assert!(a.fields.keep("StartUTC"));
        assert_eq!(a.fields.header("user-agent"), HeaderMode::Redact);
        assert_eq!(a.fields.header("accept"), HeaderMode::Drop);
        assert!(a.fields.any_header());

        for (text, key, says) in [
            (
                "[accessLog.filters]\nstatusCodes = [\"2xx\"]\n",
                "statusCodes",
                "\"2xx\" is not a status code",
            ),
            (
                "[accessLog.filters]\nstatusCodes = [\"500-400\"]\n",
                "statusCodes",
                "range",
            ),
            (
                "[accessLog.fields]\ndefaultMode = \"redact\"\n",
                "defaultMode",
                "not a mode",
            ),
            (
                "bufferingSize = 4611686018427387904\n",
                "bufferingSize",
                "more than",
            ),
            (
                "[accessLog.fields.names]\nClientUsrname = \"drop\"\n",
                "names.ClientUsrname",
                "did you mean \"ClientUsername\"",
            ),
            (
                "[accessLog.fields.headers.names]\nAccept = \"hide\"\n",
                "headers.names.Accept",
                "\"hide\" is not a mode",
            ),
        ] {
            let loaded = parse(&format!("[accessLog]\n{text}")).expect("parses");
            let err = resolve(&loaded).expect_err(text).to_string();
            assert!(err.contains(key) && err.contains(says), "{text}: {err}");
        }
    }

    #[test]
    fn traefik_keys_portier_does_not_apply_are_warned_or_refused() {
        let loaded = parse(concat!(
            "checkNewVersion = true\ndefaultEntryPoints = [\"https\"]\n[docker]\nuseBindPortIP = true\nswarmMode = false\n",
            "[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls]\ncipherSuites = [\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\", \"TLS_RSA_WITH_AES_128_CBC_SHA\"]\n",
            "[entryPoints.http]\naddress = \":80\"\n",
            "[acme]\nemail = \"a@b.c\"\nstorage = \"acme.json\"\nentryPoint = \"https\"\nkeyType = \"RSA4096\"\n[acme.httpChallenge]\nentryPoint = \"http\"\n",
            "[lifeCycle]\nrequestAcceptGraceTimeout = \"2s\"\n",
        ))
        .expect("parses");
        let (c, _, warnings) = resolve(&loaded).expect("resolves");
        assert_eq!(c.request_accept_grace_timeout.0, Duration::from_secs(2));
        for key in [
            "checkNewVersion",
            "entryPoints.https.tls.cipherSuites",
            "acme.keyType",
        ] {
            assert!(
                warnings.iter().any(|w| w.contains(&format!(": {key}: "))),
                "{key} not warned: {warnings:?}"
            );
        }
        assert_eq!(
            c.acme.as_ref().and_then(|a| a.http_challenge.as_deref()),
            Some("http"),
            "HTTP-01 on the http entrypoint"
        );
        let text = "[acme]\nemail = \"a@b.c\"\n[acme.dnsChallenge]\nprovider = \"x\"\n";
        let err = resolve(&parse(text).expect("parses"))
            .expect_err(text)
            .to_string();
        assert!(err.contains("acme.dnsChallenge"), "{err}");
    }

    #[test]
    fn swarm_mode_and_its_refresh() {
        let (c, _) = resolved("[docker]\nswarmMode = true\nswarmModeRefreshSeconds = 5\n");
        let d = c.docker.expect("docker");
        assert!(d.swarm_mode);
        assert_eq!(d.swarm_refresh.as_secs(), 5);
        let (c, _) = resolved("[docker]\nswarmmode = true\n");
        assert_eq!(c.docker.expect("docker").swarm_refresh.as_secs(), 15);
    }

    #[test]
    fn traefik_log_format() {
        let (c, _) = resolved("[traefikLog]\nformat = \"json\"\n");
        assert_eq!(c.traefik_log_format, LogFormat::Json);
        let (c, _) = resolved("");
        assert_eq!(c.traefik_log_format, LogFormat::Common);
        let loaded = parse("[traefikLog]\nformat = \"logfmt\"\n").expect("parses");
        let err = resolve(&loaded).expect_err("fails").to_string();
        assert!(
            err.contains("traefikLog.format") && err.contains("\"logfmt\""),
            "{err}"
        );
    }

    #[test]
    fn directory_wins_over_filename_as_in_traefik() {
        let loaded =
            parse("[file]\nfilename = \"a.toml\"\ndirectory = \"rules\"\n").expect("parses");
        let (c, _, warnings) = resolve(&loaded).expect("resolves");
        assert!(
            matches!(&c.file, Some(FileProviderConfig::Directory { path, .. }) if path.ends_with("rules")),
            "{:?}",
            c.file
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("filename \"a.toml\" is ignored")),
            "{warnings:?}"
        );
    }

    #[test]
    fn web_and_api_keys_are_honoured_or_refused() {
        let (c, _) = resolved("[web]\n[api]\ndashboard = false\n[web.metrics.prometheus]\n");
        assert!(!c.web.as_ref().expect("web").dashboard);
        for (text, key) in [
            ("[web]\npath = \"test\"\n", "web.path"),
            ("[api]\ndebug = true\n", "api.debug"),
            ("[api]\nentryPoint = \"nowhere\"\n", "api.entryPoint"),
            (
                "[web]\n[web.metrics.prometheus]\nbuckets = [0.1]\n",
                "web.metrics.prometheus.buckets",
            ),
        ] {
            let loaded = parse(text).expect("parses");
            let err = resolve(&loaded).expect_err("refused").to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let (c, _) = resolved("[web]\npath = \"/\"\n");
        assert_eq!(c.web.expect("web").path, "", "the root is no prefix");
        let (c, _) = resolved("[web]\npath = \"/test/\"\n");
        assert_eq!(c.web.expect("web").path, "/test");
        let (c, _) =
            resolved("[entryPoints.http]\naddress = \":80\"\n[api]\nentryPoint = \"http\"\n");
        let web = c.web.expect("web");
        assert_eq!(web.entry_point.as_deref(), Some("http"));
        assert_eq!(c.entry_points.len(), 1, "the entrypoint keeps its routes");
        let (c, _) = resolved("[api]\n");
        assert_eq!(
            c.web.expect("web").address.text,
            ":8080",
            "Traefik's traefik entrypoint"
        );
    }
}
