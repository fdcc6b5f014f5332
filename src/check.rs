//! `portier check`: the resolved configuration in words, and every error portier would find
//! at start (TLS material, file-provider frontends, running containers' labels) without
//! starting anything.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use config::schema::DynamicToml;
use config::{Config, DockerConfig, FileProviderConfig};
use control::compile::{CompileSettings, Registry, compile};
use model::duration::format_duration;
use model::dynamic::ProviderConfig;

/// How long `check` waits for the Docker engine's list of containers.
const DOCKER_TIMEOUT: Duration = Duration::from_secs(10);

/// What `portier check` prints (`text` to stdout) and reports (to stderr); any error: exit 2.
#[derive(Debug, Default)]
pub struct Report {
    pub text: String,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// Checks a resolved configuration. `text` is the configuration file's text and `source` its
/// path, for the frontends written inline.
pub fn run(config: &Config, inline: &DynamicToml, text: &str, source: &Path) -> Report {
    let mut r = Report {
        text: describe(config),
        ..Report::default()
    };
    // Certificates of TLS entrypoints are loaded too, so a bad one fails the check.
    if let Err(e) = crate::tls_configs(config, None, None) {
        r.errors.push(e.to_string());
    }
    // Every provider's snapshot, compiled together: a router may name another provider's
    // middleware or service (`auth@file`).
    let mut snapshots: BTreeMap<String, Arc<ProviderConfig>> = BTreeMap::new();
    if let Some(d) = &config.docker {
        match docker_snapshot(d) {
            Ok(pc) => {
                snapshots.insert("docker".into(), Arc::new(pc));
            }
            Err(e) => r.warnings.push(format!("docker labels not checked: {e}")),
        }
    }
    let file = match &config.file {
        None => None,
        Some(FileProviderConfig::Inline) => {
            let mut pc =
                providers::file::translate(inline, providers::file::Source { path: source, text });
            providers::users_files::load(&mut pc);
            Some(Ok(pc))
        }
        Some(FileProviderConfig::File { path, .. }) => Some(providers::file::load_file(path)),
        Some(FileProviderConfig::Directory { path, .. }) => {
            Some(providers::file::load_directory(path))
        }
    };
    match file {
        Some(Ok(pc)) => {
            snapshots.insert("file".into(), Arc::new(pc));
        }
        Some(Err(e)) => r.errors.push(e.to_string()),
        None => {}
    }
    for name in snapshots.keys() {
        r.add(describe_dynamic(name, &snapshots, config));
    }
    r
}

impl Report {
    fn add(&mut self, d: DynamicReport) {
        self.text += &d.text;
        self.errors.extend(d.errors);
        self.warnings.extend(d.warnings);
    }
}

/// The running containers, read once (read-only calls) and translated.
fn docker_snapshot(d: &DockerConfig) -> Result<ProviderConfig, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        tokio::time::timeout(DOCKER_TIMEOUT, providers::docker::snapshot(d))
            .await
            .map_err(|_| format!("{}: no answer within {DOCKER_TIMEOUT:?}", d.endpoint))?
            .map_err(|e| e.to_string())
    })
    .map(|t| t.config)
}

/// The static part: entrypoints, web, providers, timeouts.
fn describe(c: &Config) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "entrypoints:");
    for ep in &c.entry_points {
        let default = if c.default_entry_points.contains(&ep.name) {
            " (default)"
        } else {
            ""
        };
        let mut extra = String::new();
        if let Some(t) = &ep.tls {
            let _ = write!(extra, " tls ({} certificates", t.certificates.len());
            if t.client_ca.is_some() {
                extra.push_str(", client CA");
            }
            extra.push(')');
        }
        if let Some(r) = &ep.redirect {
            let _ = write!(extra, " redirect {r}");
        }
        if ep.compress {
            extra.push_str(" compress");
        }
        let _ = writeln!(
            s,
            "  {} {} -> {}{default}{extra}",
            ep.name, ep.address.text, ep.address.socket
        );
    }
    for (name, u) in &c.generation.udp_entry_points {
        let _ = writeln!(
            s,
            "  {name} {}/udp -> {} udp (sessions end after {:?} idle)",
            u.address.text, u.address.socket, u.timeout
        );
    }
    if let Some(w) = &c.web {
        let _ = writeln!(s, "web: {} -> {}", w.address.text, w.address.socket);
    }
    let _ = writeln!(
        s,
        "log: level {:?}, {:?} to {}",
        c.log_level,
        c.traefik_log_format,
        c.traefik_log_file
            .as_ref()
            .map_or("stderr".to_string(), |p| p.display().to_string())
    );
    let _ = writeln!(s, "providers:");
    if let Some(d) = &c.docker {
        let _ = writeln!(
            s,
            "  docker endpoint={} domain={:?} watch={} exposedByDefault={} network={:?}{}",
            d.endpoint,
            d.domain,
            d.watch,
            d.exposed_by_default,
            d.network,
            if d.swarm_mode {
                format!(
                    " swarmMode=true swarmModeRefreshSeconds={}",
                    d.swarm_refresh.as_secs()
                )
            } else {
                String::new()
            }
        );
    }
    match &c.file {
        Some(FileProviderConfig::Inline) => {
            let _ = writeln!(s, "  file (inline in the configuration file)");
        }
        Some(FileProviderConfig::File { path, watch }) => {
            let _ = writeln!(s, "  file {} watch={watch}", path.display());
        }
        Some(FileProviderConfig::Directory { path, watch }) => {
            let _ = writeln!(s, "  file directory {} watch={watch}", path.display());
        }
        None => {}
    }
    if c.docker.is_none() && c.file.is_none() {
        let _ = writeln!(s, "  (none)");
    }
    let _ = writeln!(
        s,
        "timeouts: dial={} responseHeader={} idle={}",
        format_duration(c.forwarding_timeouts.dial_timeout.0),
        format_duration(c.forwarding_timeouts.response_header_timeout.0),
        format_duration(c.responding_timeouts.idle_timeout.0),
    );
    if let Some(a) = &c.access_log {
        let to = a
            .file_path
            .as_ref()
            .map_or("stdout".to_string(), |p| p.display().to_string());
        let _ = writeln!(s, "access log: {:?} to {to}", a.format);
        if let Some(f) = &a.filters {
            let codes: Vec<String> = f
                .status_codes
                .iter()
                .map(|(lo, hi)| {
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("{lo}-{hi}")
                    }
                })
                .collect();
            let _ = writeln!(
                s,
                "  kept when: status in [{}]{}{}",
                codes.join(", "),
                if f.retry_attempts { ", or retried" } else { "" },
                f.min_duration
                    .map(|d| format!(", or slower than {}", format_duration(d.0)))
                    .unwrap_or_default()
            );
        }
        let dropped: Vec<&str> = config::ACCESS_LOG_FIELDS
            .iter()
            .copied()
            .filter(|f| !a.fields.keep(f))
            .collect();
        if !dropped.is_empty() {
            let _ = writeln!(s, "  fields dropped: {}", dropped.join(", "));
        }
        if a.format == config::AccessLogFormat::Json {
            let _ = writeln!(
                s,
                "  headers: {:?} by default{}",
                a.fields.headers_default,
                a.fields
                    .headers
                    .iter()
                    .map(|(h, m)| format!(", {h}: {m:?}"))
                    .collect::<String>()
            );
        }
    }
    s
}

/// A rendering of one provider's frontends and backends, and every error compiling finds.
struct DynamicReport {
    text: String,
    errors: Vec<String>,
    warnings: Vec<String>,
}

fn describe_dynamic(
    provider: &str,
    providers: &BTreeMap<String, Arc<ProviderConfig>>,
    c: &Config,
) -> DynamicReport {
    // Nothing is bound by check: redirects name the configured ports.
    let settings = CompileSettings::new(c, &Default::default());
    let table = compile(providers, &settings, &mut Registry::new(), 0);
    // The snapshot as compiled: 2.x/3.x routers and services lowered into frontends and
    // backends.
    let Some(pc) = table.providers.get(provider).cloned() else {
        return DynamicReport {
            text: String::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        };
    };
    let pc = &*pc;
    // What the table holds: a frontend or server an error left out is shown as such.
    let routed: std::collections::HashSet<&str> = table
        .entry_points
        .values()
        .flat_map(|ep| ep.routes())
        .map(|r| r.frontend.as_str())
        .collect();
    let served: std::collections::HashSet<(&str, &str)> = table
        .servers
        .iter()
        .map(|((_, backend, url), _)| (backend, url))
        .collect();
    let mut s = String::new();
    let _ = writeln!(s, "{provider} frontends:");
    for (name, f) in &pc.frontends {
        if !routed.contains(name.as_str()) {
            let _ = writeln!(s, "  {name}: left out (see the errors below)");
            continue;
        }
        let rules: Vec<&str> = f.routes.values().map(|r| r.rule.as_str()).collect();
        let eps = if f.entry_points.is_empty() {
            &c.default_entry_points
        } else {
            &f.entry_points
        };
        let _ = writeln!(
            s,
            "  {name}: rule {:?} -> backend {} entrypoints [{}] priority {} passHostHeader {}",
            rules.join(" && "),
            f.backend,
            eps.join(","),
            model::rules::priority(f.priority, &rules),
            f.pass_host_header
        );
    }
    let _ = writeln!(s, "{provider} backends:");
    for (name, b) in &pc.backends {
        let _ = writeln!(
            s,
            "  {name}: {} with {} servers",
            b.load_balancer.method,
            b.servers.len()
        );
        for (sname, srv) in &b.servers {
            if served.contains(&(name.as_str(), srv.url.as_str())) {
                let _ = writeln!(s, "    {sname}: {} weight {}", srv.url, srv.weight);
            } else {
                let _ = writeln!(s, "    {sname}: left out (see the errors below)");
            }
        }
    }
    DynamicReport {
        text: s,
        // This provider's: its own and those found lowering or compiling it.
        errors: table
            .errors
            .iter()
            .filter(|e| pc.errors.contains(e) || e.is_compile_error_of(provider))
            .map(ToString::to_string)
            .fold(Vec::new(), |mut v, e| {
                if !v.contains(&e) {
                    v.push(e);
                }
                v
            }),
        warnings: pc.warnings.iter().map(ToString::to_string).collect(),
    }
}
