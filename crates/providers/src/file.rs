//! The `[file]` provider: frontends and backends written in TOML, inline in traefik.toml or in
//! a separate file or directory that is watched; files written for Traefik 2.x/3.x (YAML, or
//! TOML with `[http]`) are read by `crate::http::file` into routers, services and middlewares. A file that fails to parse keeps the last good
//! configuration and logs file:line:column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use config::schema::{BackendToml, DynamicToml, FrontendToml, HealthCheckToml, LoadBalancerToml};
use config::{ConfigError, FileProviderConfig};
use model::dynamic::{
    Backend, CircuitBreaker, DEFAULT_HEALTHCHECK_INTERVAL, ErrorPage, Frontend, FrontendRedirect,
    HealthCheck, LoadBalancer, ProviderConfig, ProviderError, Route, Server, Stickiness,
};
use model::rules;
use model::update::{ProviderUpdate, parse_server_url};

/// The provider name shown in the API.
pub const NAME: &str = "file";
/// Editors write a file in several steps; wait this long after the last event.
const WATCH_DEBOUNCE: Duration = Duration::from_millis(50);
/// A file that never stops changing is still read at least this often after a change.
const WATCH_MAX_DELAY: Duration = Duration::from_millis(250);

/// Where a dynamic TOML text came from, to turn byte spans into file:line:column.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// `PATH:LINE:COL` of each item of a section (`frontends`), counted in one pass.
    fn positions(&self, section: &str) -> BTreeMap<String, String> {
        let mut offsets: Vec<(String, usize)> = config::table_offsets(self.text, section)
            .into_iter()
            .collect();
        offsets.sort_by_key(|(_, o)| *o);
        let (mut line, mut line_start, mut scanned) = (1, 0, 0);
        let mut out = BTreeMap::new();
        for (name, offset) in offsets {
            let offset = offset.min(self.text.len());
            for (i, b) in self.text.as_bytes()[scanned..offset].iter().enumerate() {
                if *b == b'\n' {
                    line += 1;
                    line_start = scanned + i + 1;
                }
            }
            scanned = offset;
            let column = self.text[line_start..offset].chars().count() + 1;
            out.insert(name, format!("{}:{line}:{column}", self.path.display()));
        }
        out
    }

    /// `file PATH:LINE:COL` of a byte offset.
    fn at(&self, offset: usize) -> String {
        let (line, col) = config::line_col_of(self.text, offset);
        format!("file {}:{line}:{col}", self.path.display())
    }

    /// An error about `item` at a byte offset.
    fn error(&self, offset: usize, item: String, message: String) -> ProviderError {
        let (line, column) = config::line_col_of(self.text, offset);
        ProviderError::FileAt {
            path: self.path.to_path_buf(),
            line,
            column,
            item,
            message,
        }
    }
}

/// Translates parsed `[frontends]`/`[backends]` into a snapshot. Pure.
pub fn translate(d: &DynamicToml, src: Source) -> ProviderConfig {
    let mut out = ProviderConfig::default();
    let backend_at = src.positions("backends");
    for (bname, b) in d.backends.iter().flatten() {
        let mut backend = translate_backend(bname, b, &src, &mut out.errors);
        backend.source = backend_at.get(bname).cloned();
        out.backends.insert(bname.clone(), Arc::new(backend));
    }
    let frontend_at = src.positions("frontends");
    for (fname, f) in d.frontends.iter().flatten() {
        if let Some(mut frontend) =
            translate_frontend(fname, f, &src, &mut out.errors, &mut out.warnings)
        {
            frontend.source = frontend_at.get(fname).cloned();
            out.frontends.insert(fname.clone(), Arc::new(frontend));
        }
    }
    out
}

/// One `[backends.NAME]`: its servers (a bad URL leaves only that server out), load balancer,
/// health check and the protections it asks for.
fn translate_backend(
    bname: &str,
    b: &BackendToml,
    src: &Source,
    errors: &mut Vec<ProviderError>,
) -> Backend {
    let (max_conn, mut issues) = config::backend_max_conn(b);
    let (buffering, more) = config::backend_buffering(b);
    issues.extend(more);
    let unenforced = refuse_issues(
        src,
        &format!("backend {bname}"),
        &issues,
        "every frontend of this backend",
        errors,
    );
    let mut backend = Backend {
        buffering,
        load_balancer: load_balancer(b.load_balancer.as_ref()),
        health_check: b.health_check.as_ref().and_then(health_check),
        circuit_breaker: circuit_breaker(bname, b, src, errors),
        flush_interval: b
            .response_forwarding
            .as_ref()
            .and_then(|r| r.flush_interval)
            .map(|d| d.0),
        max_conn,
        unenforced,
        ..Backend::default()
    };
    for (sname, s) in b.servers.iter().flatten() {
        if let Err(message) = parse_server_url(s.url.get_ref()) {
            errors.push(src.error(
                s.url.span().start,
                format!("backend {bname} server {sname}"),
                format!("{message}; server left out"),
            ));
            continue;
        }
        backend.servers.insert(
            sname.clone(),
            Server {
                url: s.url.get_ref().clone(),
                weight: s.weight.unwrap_or(1),
                origin: None,
            },
        );
    }
    backend
}

/// `[backends.NAME.healthCheck]`: none without a path.
fn health_check(h: &HealthCheckToml) -> Option<HealthCheck> {
    let path = h.path.clone().filter(|p| !p.is_empty())?;
    Some(HealthCheck {
        path: if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        },
        interval: h.interval.map_or(DEFAULT_HEALTHCHECK_INTERVAL, |d| d.0),
        port: h.port,
        hostname: h.hostname.clone(),
        headers: h.headers.clone().unwrap_or_default(),
        options: Default::default(),
    })
}

/// One `[frontends.NAME]`, or `None` (with the reason in `errors`) when it has no backend or a
/// rule does not parse.
fn translate_frontend(
    fname: &str,
    f: &FrontendToml,
    src: &Source,
    errors: &mut Vec<ProviderError>,
    warnings: &mut Vec<ProviderError>,
) -> Option<Frontend> {
    let read = config::frontend_middlewares(f);
    warnings.extend(read.warnings.iter().map(|w| {
        src.error(
            w.offset,
            format!("frontend {fname} key {}", w.key),
            w.message.clone(),
        )
    }));
    let unenforced = refuse_issues(
        src,
        &format!("frontend {fname}"),
        &read.issues,
        "the frontend",
        errors,
    );
    let Some(backend) = f.backend.clone() else {
        errors.push(ProviderError::File {
            path: src.path.to_path_buf(),
            item: format!("frontend {fname}"),
            message: "backend is required; frontend left out".to_string(),
        });
        return None;
    };
    let mut routes = std::collections::BTreeMap::new();
    for (rname, r) in f.routes.iter().flatten() {
        if let Err(e) = rules::parse(r.rule.get_ref()) {
            // +1: the span starts at the opening quote.
            let offset = r.rule.span().start + 1 + column_offset(r.rule.get_ref(), e.column);
            errors.push(src.error(
                offset,
                format!("frontend {fname} route {rname}"),
                format!(
                    "rule {:?}: {}; frontend left out",
                    r.rule.get_ref(),
                    e.message
                ),
            ));
            return None;
        }
        routes.insert(
            rname.clone(),
            Route {
                rule: r.rule.get_ref().clone(),
            },
        );
    }
    let redirect = match f.redirect.as_ref().map(|r| redirect(fname, r, src)) {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            errors.push(e);
            return None;
        }
    };
    Some(Frontend {
        source: None,
        entry_points: f.entry_points.clone().unwrap_or_default(),
        backend,
        routes,
        // Traefik 1.x defaults this to false for the file provider only; portier keeps the
        // client's Host everywhere unless told otherwise (see README).
        pass_host_header: f.pass_host_header.unwrap_or(true),
        priority: f.priority.unwrap_or(0),
        redirect,
        middlewares: read.middlewares,
        errors: error_pages(fname, f, src, errors),
        unenforced,
        // The 2.x/3.x-only settings (lowered routers set them).
        ..Frontend::default()
    })
}

/// `[frontends.X.redirect]`: `entryPoint` (it wins, as in Traefik), else `regex` with
/// `replacement`, checked now; an error is at its key and leaves the frontend out (Traefik
/// would redirect everything to an empty URL, or fail the whole configuration).
fn redirect(
    fname: &str,
    r: &config::schema::RedirectToml,
    src: &Source,
) -> Result<FrontendRedirect, ProviderError> {
    let permanent = r.permanent.unwrap_or(false);
    let fail = |key: &str, message: String| {
        let offset = config::key_offset(src.text, &format!("frontends.{fname}.redirect{key}"))
            .unwrap_or_default();
        src.error(
            offset,
            format!("frontend {fname} redirect{key}"),
            format!("{message}; frontend left out"),
        )
    };
    if let Some(ep) = &r.entry_point {
        return Ok(FrontendRedirect {
            entry_point: ep.clone(),
            regex: String::new(),
            replacement: String::new(),
            permanent,
        });
    }
    let (regex, replacement) = match (&r.regex, &r.replacement) {
        (Some(re), Some(rep)) => (re, rep),
        (Some(_), None) => return Err(fail(".regex", "set without replacement".into())),
        (None, Some(_)) => return Err(fail(".replacement", "set without regex".into())),
        (None, None) => {
            return Err(fail(
                "",
                "needs entryPoint, or regex and replacement".into(),
            ));
        }
    };
    if let Err(e) = model::redirect::Redirect::regex(regex, replacement, permanent) {
        let key = if e.in_replacement() {
            ".replacement"
        } else {
            ".regex"
        };
        return Err(fail(key, e.to_string()));
    }
    Ok(FrontendRedirect {
        entry_point: String::new(),
        regex: regex.clone(),
        replacement: replacement.clone(),
        permanent,
    })
}

/// `[frontends.X.errors.NAME]`: each page with a backend and readable statuses; the others are
/// errors at their position and left out (the frontend is served without them).
fn error_pages(
    fname: &str,
    f: &FrontendToml,
    src: &Source,
    errors: &mut Vec<ProviderError>,
) -> BTreeMap<String, ErrorPage> {
    let mut pages = BTreeMap::new();
    for (name, p) in f.errors.iter().flatten() {
        let item = format!("frontend {fname} errors.{name}");
        let left_out = "; error page left out, the frontend is served without it";
        let Some(backend) = &p.backend else {
            errors.push(ProviderError::File {
                path: src.path.to_path_buf(),
                item,
                message: format!("backend is required{left_out}"),
            });
            continue;
        };
        let page = ErrorPage {
            status: p
                .status
                .as_ref()
                .map(|s| s.get_ref().clone())
                .unwrap_or_default(),
            backend: backend.get_ref().clone(),
            query: p.query.clone().unwrap_or_default(),
        };
        let at = p
            .status
            .as_ref()
            .map_or(backend.span().start, |s| s.span().start);
        match page.ranges() {
            Ok(r) if !r.is_empty() => {
                pages.insert(name.clone(), page);
            }
            Ok(_) => errors.push(src.error(at, item, format!("status is required{left_out}"))),
            Err(e) => errors.push(src.error(at, item, format!("status: {e}{left_out}"))),
        }
    }
    pages
}

/// A middleware key that cannot be honoured (a bad value, an unknown key in a protection's
/// table): an error at its table, and the `unenforced` entry that makes `whom` answer 503.
fn refuse_issues(
    src: &Source,
    what: &str,
    issues: &[config::Issue],
    whom: &str,
    errors: &mut Vec<ProviderError>,
) -> Vec<String> {
    issues
        .iter()
        .map(|i| {
            errors.push(src.error(
                i.offset,
                format!("{what} key {}", i.key),
                format!(
                    "{}; {whom} answers 503 to every request rather than serve without it",
                    i.message
                ),
            ));
            format!("key {} ({})", i.key, src.at(i.offset))
        })
        .collect()
}

/// Byte offset of a 1-based character column.
fn column_offset(text: &str, column: usize) -> usize {
    text.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i)
}

/// `[backends.X.circuitBreaker] expression`; one that cannot be read is an error at its
/// position, and the backend is served without a breaker.
fn circuit_breaker(
    bname: &str,
    b: &BackendToml,
    src: &Source,
    errors: &mut Vec<ProviderError>,
) -> Option<CircuitBreaker> {
    let e = b.circuit_breaker.as_ref()?.expression.as_ref()?;
    if let Err(err) = middleware::Breaker::compile(e.get_ref(), std::time::Instant::now()) {
        errors.push(src.error(
            e.span().start,
            format!("backend {bname} circuitBreaker"),
            format!("{err}; the backend is served without a circuit breaker"),
        ));
        return None;
    }
    Some(CircuitBreaker {
        expression: e.get_ref().clone(),
        options: Default::default(),
    })
}

/// `[backends.X.loadBalancer]`: the method and sticky sessions (the deprecated `sticky = true`
/// means Traefik's `_TRAEFIK_BACKEND` cookie when there is no `stickiness` table).
fn load_balancer(lb: Option<&LoadBalancerToml>) -> LoadBalancer {
    let Some(lb) = lb else {
        return LoadBalancer::default();
    };
    let stickiness = match (&lb.stickiness, lb.sticky) {
        (Some(s), _) => Some(Stickiness {
            cookie_name: s.cookie_name.clone().unwrap_or_default(),
            secure: s.secure.unwrap_or(false),
            http_only: s.http_only.unwrap_or(false),
            same_site: s.same_site.clone().unwrap_or_default(),
            ..Stickiness::default()
        }),
        (None, Some(true)) => Some(Stickiness {
            cookie_name: model::dynamic::DEPRECATED_STICKY_COOKIE.to_string(),
            ..Stickiness::default()
        }),
        (None, _) => None,
    };
    LoadBalancer {
        method: lb.method.clone().unwrap_or_else(|| "wrr".to_string()),
        stickiness,
    }
}

/// Reads and parses a dynamic file: Traefik 1.x TOML (unknown keys are warnings by name), or
/// a 2.x/3.x file in YAML (`.yml`, `.yaml`) or TOML (one with `[http]`).
pub fn load_file(path: &Path) -> Result<ProviderConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if is_yaml(path) || crate::http::file::is_v2_toml(&text) {
        let mut config = crate::http::file::read(path, &text, is_yaml(path))?;
        crate::users_files::load(&mut config);
        return Ok(config);
    }
    let (d, unknown) = parse_dynamic(path, &text)?;
    let mut config = translate(&d, Source { path, text: &text });
    crate::users_files::load(&mut config);
    config.warnings.extend(unknown.into_iter().map(|key| {
        let u = config::unknown_key::<DynamicToml>(&text, &key);
        let message = format!("unknown key; ignored{}", u.hint());
        match u.line_col {
            Some((line, column)) => ProviderError::FileAt {
                path: path.to_path_buf(),
                line,
                column,
                item: format!("key {key}"),
                message,
            },
            None => ProviderError::File {
                path: path.to_path_buf(),
                item: format!("key {key}"),
                message,
            },
        }
    }));
    Ok(config)
}

/// Parses a dynamic file; its unknown keys come back as warnings.
fn parse_dynamic(path: &Path, text: &str) -> Result<(DynamicToml, Vec<String>), ConfigError> {
    config::parse_toml(path, text)
}

/// Every `*.toml`, `*.yml` and `*.yaml` of a directory, in name order, merged into one
/// snapshot.
pub fn load_directory(dir: &Path) -> Result<ProviderConfig, ConfigError> {
    let read = |source| ConfigError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") || is_yaml(p))
        .collect();
    files.sort();
    let mut out = ProviderConfig::default();
    for f in files {
        let one = load_file(&f)?;
        for (name, fe) in one.frontends {
            if out.frontends.insert(name.clone(), fe).is_some() {
                out.errors.push(ProviderError::File {
                    path: f.clone(),
                    item: String::new(),
                    message: format!(
                        "frontend {name} is defined in several files; the last one wins"
                    ),
                });
            }
        }
        for (name, be) in one.backends {
            if out.backends.insert(name.clone(), be).is_some() {
                out.errors.push(ProviderError::File {
                    path: f.clone(),
                    item: String::new(),
                    message: format!(
                        "backend {name} is defined in several files; the last one wins"
                    ),
                });
            }
        }
        let twice = |kind: &str, name: &str| ProviderError::File {
            path: f.clone(),
            item: String::new(),
            message: format!("{kind} {name} is defined in several files; the last one wins"),
        };
        for (name, r) in one.http.routers {
            if out.http.routers.insert(name.clone(), r).is_some() {
                out.errors.push(twice("router", &name));
            }
        }
        for (name, sv) in one.http.services {
            if out.http.services.insert(name.clone(), sv).is_some() {
                out.errors.push(twice("service", &name));
            }
        }
        for (name, m) in one.http.middlewares {
            if out.http.middlewares.insert(name.clone(), m).is_some() {
                out.errors.push(twice("middleware", &name));
            }
        }
        out.tls.certificates.extend(one.tls.certificates);
        if let Some(d) = one.tls.default_certificate {
            if out.tls.default_certificate.replace(d).is_some() {
                out.errors
                    .push(twice("the default certificate", "(tls.stores.default)"));
            }
        }
        out.errors.extend(one.errors);
        out.warnings.extend(one.warnings);
    }
    Ok(out)
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "yml" || x == "yaml")
}

/// Starts the provider. `inline` and `config_text` are the traefik.toml's own dynamic part.
pub fn spawn(
    cfg: FileProviderConfig,
    inline: DynamicToml,
    config_path: PathBuf,
    config_text: String,
    tx: mpsc::Sender<ProviderUpdate>,
) {
    tokio::spawn(async move {
        match cfg {
            FileProviderConfig::Inline => {
                let mut config = translate(
                    &inline,
                    Source {
                        path: &config_path,
                        text: &config_text,
                    },
                );
                crate::users_files::load(&mut config);
                tracing::info!(
                    provider = NAME,
                    "file provider: {} frontends from {}",
                    config.frontends.len(),
                    config_path.display()
                );
                let _ = tx
                    .send(ProviderUpdate {
                        provider: NAME.into(),
                        config,
                    })
                    .await;
            }
            FileProviderConfig::File { path, watch } => run_watched(path, watch, false, tx).await,
            FileProviderConfig::Directory { path, watch } => {
                run_watched(path, watch, true, tx).await
            }
        }
    });
}

async fn run_watched(path: PathBuf, watch: bool, is_dir: bool, tx: mpsc::Sender<ProviderUpdate>) {
    let load = |p: &Path| {
        if is_dir {
            load_directory(p)
        } else {
            load_file(p)
        }
    };
    let (ev_tx, mut ev_rx) = mpsc::channel::<()>(1);
    let _watcher = if watch {
        start_watcher(&path, is_dir, ev_tx.clone())
    } else {
        None
    };
    spawn_sighup(ev_tx);
    tracing::info!(
        provider = NAME,
        watch,
        "file provider: reading {}",
        path.display()
    );
    let mut first = true;
    loop {
        match load(&path) {
            Ok(config) => {
                tracing::info!(
                    provider = NAME,
                    "file provider: {} frontends, {} backends from {}",
                    config.frontends.len(),
                    config.backends.len(),
                    path.display()
                );
                if tx
                    .send(ProviderUpdate {
                        provider: NAME.into(),
                        config,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(e) if first => {
                tracing::error!(provider = NAME, "{e}");
                let config = ProviderConfig {
                    errors: vec![ProviderError::File {
                        path: path.clone(),
                        item: String::new(),
                        message: e.to_string(),
                    }],
                    ..ProviderConfig::default()
                };
                let _ = tx
                    .send(ProviderUpdate {
                        provider: NAME.into(),
                        config,
                    })
                    .await;
            }
            Err(e) => tracing::error!(provider = NAME, "{e}; keeping the last good configuration"),
        }
        first = false;
        if ev_rx.recv().await.is_none() {
            return;
        }
        settle(&mut ev_rx, WATCH_DEBOUNCE, WATCH_MAX_DELAY).await;
    }
}

/// After a change: waits until events stop for `quiet`, but no longer than `max` in all, so a
/// file rewritten without pause is still applied every `max`.
async fn settle(events: &mut mpsc::Receiver<()>, quiet: Duration, max: Duration) {
    let deadline = tokio::time::Instant::now() + max;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return;
        }
        match tokio::time::timeout(quiet.min(left), events.recv()).await {
            Ok(Some(())) => {}
            Ok(None) | Err(_) => return,
        }
    }
}

/// Watches the parent directory (editors replace files) and filters by name.
fn start_watcher(
    path: &Path,
    is_dir: bool,
    tx: mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let dir = if is_dir {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let name = path.file_name().map(|n| n.to_os_string());
    let handler = move |res: notify::Result<notify::Event>| {
        let Ok(ev) = res else { return };
        // Reading the file (ours included) is no change: reacting to it would re-read the
        // file forever.
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return;
        }
        let relevant = is_dir
            || ev
                .paths
                .iter()
                .any(|p| p.file_name().map(|n| n.to_os_string()) == name);
        if relevant {
            let _ = tx.try_send(());
        }
    };
    let mut w = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!(provider = NAME, "cannot watch {}: {e}", dir.display());
            return None;
        }
    };
    if let Err(e) = w.watch(&dir, notify::RecursiveMode::NonRecursive) {
        tracing::error!(provider = NAME, "cannot watch {}: {e}", dir.display());
        return None;
    }
    Some(w)
}

/// SIGHUP re-reads the file, as in Traefik.
fn spawn_sighup(tx: mpsc::Sender<()>) {
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            tracing::info!(provider = NAME, "SIGHUP: re-reading the file provider");
            if tx.send(()).await.is_err() {
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_file_that_keeps_changing_is_read_every_max_delay() {
        let (tx, mut rx) = mpsc::channel(1);
        // An event every 20 ms, for ever: the quiet time never comes.
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                if tx.send(()).await.is_err() {
                    return;
                }
            }
        });
        let start = tokio::time::Instant::now();
        settle(&mut rx, WATCH_DEBOUNCE, WATCH_MAX_DELAY).await;
        assert_eq!(start.elapsed(), WATCH_MAX_DELAY);
        // Events that stop: settled one quiet time after the last.
        let (tx, mut rx) = mpsc::channel(4);
        tx.send(()).await.expect("send");
        let start = tokio::time::Instant::now();
        settle(&mut rx, WATCH_DEBOUNCE, WATCH_MAX_DELAY).await;
        assert_eq!(start.elapsed(), WATCH_DEBOUNCE);
    }

    fn translated(text: &str) -> ProviderConfig {
        let path = Path::new("rules.toml");
        let (d, _) = parse_dynamic(path, text).expect("parses");
        translate(&d, Source { path, text })
    }

    #[test]
    fn translates_frontends_and_backends() {
        let c = translated(
            r#"
[backends.b1.servers.s1]
url = "http://127.0.0.1:8081"
weight = 3
[backends.b1.servers.s2]
url = "http://127.0.0.1:8082"
[frontends.f1]
backend = "b1"
entryPoints = ["http"]
priority = 10
[frontends.f1.routes.r1]
rule = "Host:test.localhost;PathPrefixStrip:/api"
"#,
        );
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let b = &c.backends["b1"];
        assert_eq!(b.servers["s1"].weight, 3);
        assert_eq!(b.servers["s2"].weight, 1);
        assert_eq!(b.load_balancer.method, "wrr");
        let f = &c.frontends["f1"];
        assert_eq!(
            (f.backend.as_str(), f.priority, f.pass_host_header),
            ("b1", 10, true)
        );
        assert_eq!(
            f.routes["r1"].rule,
            "Host:test.localhost;PathPrefixStrip:/api"
        );
    }

    #[test]
    fn bad_rules_and_urls_are_reported_at_their_position() {
        let c = translated(
            "[backends.b.servers.s]\nurl = \"127.0.0.1:80\"\n[frontends.f]\nbackend = \"b\"\n[frontends.f.routes.r]\nrule = \"Host:a;Pth:/x\"\n",
        );
        assert!(c.frontends.is_empty());
        assert!(c.backends["b"].servers.is_empty());
        let errors: Vec<String> = c.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors[0].starts_with("file rules.toml:2:7 backend b server s:"),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("file rules.toml:6:16 frontend f route r:"),
            "{}",
            errors[1]
        );
        assert!(
            errors[1].contains("unknown matcher \"Pth\""),
            "{}",
            errors[1]
        );
    }

    #[test]
    fn a_syntax_error_names_line_and_column() {
        let err = parse_dynamic(Path::new("rules.toml"), "[frontends.f]\nbackend = b\n")
            .expect_err("fails");
        assert!(err.to_string().starts_with("rules.toml:2:11:"), "{err}");
    }
}
