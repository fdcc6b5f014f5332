//! Traefik 1.7's command line → a [`FileConfig`] laid over traefik.toml's (flags win, as in
//! Traefik).
//!
//! Every traefik.toml key is a flag, as Traefik's flaeg makes them: `--docker.exposedByDefault=
//! false`, names compared case-insensitively, booleans and sections switched on without a
//! value (`--api`, `--docker.watch`), lists comma-separated (`--defaultEntryPoints=http,https`),
//! and `--entryPoints` in Traefik's `Name:https Address::443 TLS:cert,key Redirect.EntryPoint:…`
//! form (or portier's `NAME=ADDRESS`). Each flag is checked on its own against the schema, so a
//! flag no key takes, or a value that key cannot hold, is an error naming the flag.

use std::path::Path;

use toml::{Table, Value};

use crate::error::ConfigError;
use crate::schema::FileConfig;

/// One `--name[=value]` as written (without the dashes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
}

impl Flag {
    fn shown(&self) -> String {
        match &self.value {
            Some(v) => format!("--{}={v}", self.name),
            None => format!("--{}", self.name),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Default)]
pub struct FlagConfig {
    /// The keys the flags set, as a traefik.toml would set them.
    pub file: FileConfig,
    /// Sections switched off (`--docker=false`).
    pub disabled: Vec<String>,
    /// Entrypoints a `--entryPoints='Name:…'` defines whole: they replace the file's.
    pub replaced_entry_points: Vec<String>,
    /// Each key the flags set, as a flag names it, for `portier check --show-origin`; a
    /// whole entrypoint (`--entryPoints='Name:…'`) or section switched off covers every key
    /// under it.
    pub origins: Vec<crate::origin::FlagOrigin>,
}

/// Sections a `--SECTION=false` may switch off.
const SECTIONS: [&str; 9] = [
    "docker",
    "file",
    "api",
    "ping",
    "web",
    "accesslog",
    "traefiklog",
    "retry",
    "acme",
];

/// Reads every flag into one configuration; relative paths in flags are taken from `cwd` (in
/// traefik.toml they are relative to the file).
pub fn parse(flags: &[Flag], cwd: &Path) -> Result<FlagConfig, ConfigError> {
    let mut root = Table::new();
    let mut out = FlagConfig::default();
    for flag in flags {
        let path: Vec<String> = flag.name.split('.').map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return Err(flag_error(flag, "is not a flag name"));
        }
        if path == ["entrypoints"] {
            let (name, table) = entry_point(flag)?;
            check_alone(
                flag,
                &root_with(&["entrypoints", &name], Some(Value::Table(table.clone()))),
            )?;
            let eps = root
                .entry("entrypoints")
                .or_insert_with(|| Value::Table(Table::new()));
            if let Value::Table(eps) = eps {
                // A later definition of the same entrypoint replaces the earlier one.
                eps.insert(name.clone(), Value::Table(table));
            }
            out.origins.push(crate::origin::FlagOrigin {
                key: format!("entryPoints.{name}"),
                flag: flag.shown(),
                whole: true,
            });
            out.replaced_entry_points.push(name);
            continue;
        }
        let off = path.len() == 1
            && SECTIONS.contains(&path[0].as_str())
            && flag.value.as_deref().is_some_and(|v| !truthy(v));
        if off {
            out.disabled.push(path[0].clone());
            out.origins.push(crate::origin::FlagOrigin {
                key: flag.name.clone(),
                flag: flag.shown(),
                whole: true,
            });
            continue;
        }
        let value = typed_value(flag, &path)?;
        merge(&mut root, &path, value);
        out.origins.push(crate::origin::FlagOrigin {
            key: flag.name.clone(),
            flag: flag.shown(),
            whole: false,
        });
    }
    let text = toml::to_string(&root).map_err(|e| ConfigError::Flag {
        flag: "(command line)".into(),
        message: e.to_string(),
    })?;
    let (file, unknown) = crate::load::parse_toml::<FileConfig>(Path::new("<flags>"), &text)
        .map_err(|e| ConfigError::Flag {
            flag: "(command line)".into(),
            message: e.to_string(),
        })?;
    if let Some(key) = unknown.first() {
        return Err(ConfigError::Flag {
            flag: format!("--{key}"),
            message: "no traefik.toml key of that name".into(),
        });
    }
    out.file = file;
    anchor_paths(&mut out.file, cwd);
    Ok(out)
}

/// Makes the file paths flags name absolute from `cwd` (PEM written inline is left alone).
fn anchor_paths(f: &mut FileConfig, cwd: &Path) {
    let anchor = |p: &mut String| {
        if !p.contains("-----BEGIN") && Path::new(p.as_str()).is_relative() {
            *p = cwd.join(p.as_str()).display().to_string();
        }
    };
    let anchor_opt = |p: &mut Option<String>| {
        if let Some(p) = p.as_mut() {
            anchor(p);
        }
    };
    if let Some(file) = f.file.as_mut() {
        anchor_opt(&mut file.filename);
        anchor_opt(&mut file.directory);
    }
    if let Some(a) = f.access_log.as_mut() {
        anchor_opt(&mut a.file_path);
    }
    anchor_opt(&mut f.access_logs_file);
    if let Some(t) = f.traefik_log.as_mut() {
        anchor_opt(&mut t.file_path);
    }
    if let Some(w) = f.web.as_mut() {
        anchor_opt(&mut w.users_file);
        if let Some(b) = w.auth.as_mut().and_then(|a| a.basic.as_mut()) {
            anchor_opt(&mut b.users_file);
        }
    }
    if let Some(a) = f.acme.as_mut() {
        anchor_opt(&mut a.storage);
    }
    f.root_cas.iter_mut().flatten().for_each(anchor);
    for ep in f.entry_points.iter_mut().flat_map(|e| e.values_mut()) {
        let Some(tls) = ep.tls.as_mut() else {
            continue;
        };
        for c in tls
            .certificates
            .iter_mut()
            .flatten()
            .chain(tls.default_certificate.as_mut())
        {
            anchor(&mut c.cert_file);
            anchor(&mut c.key_file);
        }
        if let Some(ca) = tls.client_ca.as_mut() {
            ca.files.iter_mut().flatten().for_each(anchor);
        }
    }
}

/// The value a flag's key takes: the first reading of its text the schema accepts, tried on
/// the flag alone (a boolean or a number as written, else a comma-separated list, else a
/// string; without a value, `true` or an empty section).
fn typed_value(flag: &Flag, path: &[String]) -> Result<Value, ConfigError> {
    let candidates: Vec<Value> = match &flag.value {
        None => vec![Value::Boolean(true), Value::Table(Table::new())],
        Some(v) if SECTIONS.contains(&path[0].as_str()) && path.len() == 1 && truthy(v) => {
            vec![Value::Table(Table::new())]
        }
        Some(v) => {
            let mut c = Vec::new();
            if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
                c.push(Value::Boolean(v.eq_ignore_ascii_case("true")));
            }
            if let Ok(n) = v.parse::<i64>() {
                c.push(Value::Integer(n));
            }
            c.push(Value::String(v.clone()));
            c.push(Value::Array(
                v.split(',')
                    .map(|s| Value::String(s.trim().to_string()))
                    .collect(),
            ));
            // Maps as flaeg writes them: `--accessLog.fields.names='ClientUsername=drop A=keep'`.
            let pairs: Option<Table> = v
                .trim_matches('"')
                .split_whitespace()
                .map(|p| {
                    p.split_once('=')
                        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                })
                .collect();
            if let Some(t) = pairs.filter(|t| !t.is_empty()) {
                c.push(Value::Table(t));
            }
            c
        }
    };
    // The refusal worth showing is the one of the value as written (a string).
    let (mut as_text, mut last) = (None, None);
    for value in candidates {
        let doc = root_with(
            &path.iter().map(String::as_str).collect::<Vec<_>>(),
            Some(value.clone()),
        );
        match check_alone(flag, &doc) {
            Ok(()) => return Ok(value),
            Err(e) if value.is_str() => as_text = Some(e),
            Err(e) => last = Some(e),
        }
    }
    Err(as_text
        .or(last)
        .unwrap_or_else(|| flag_error(flag, "has no value the key takes")))
}

/// A document holding `value` (or an empty table) at `path`.
fn root_with(path: &[&str], value: Option<Value>) -> Table {
    let mut v = value.unwrap_or_else(|| Value::Table(Table::new()));
    for key in path.iter().rev() {
        let mut t = Table::new();
        t.insert((*key).to_string(), v);
        v = Value::Table(t);
    }
    match v {
        Value::Table(t) => t,
        _ => Table::new(),
    }
}

/// Whether `doc`, holding one flag, reads as traefik.toml with no unknown key.
fn check_alone(flag: &Flag, doc: &Table) -> Result<(), ConfigError> {
    let text = toml::to_string(doc).map_err(|e| flag_error(flag, e))?;
    match crate::load::parse_toml::<FileConfig>(Path::new("<flags>"), &text) {
        Ok((_, unknown)) if unknown.is_empty() => Ok(()),
        Ok((_, unknown)) => {
            let hint = unknown
                .first()
                .map(|k| crate::load::unknown_key::<FileConfig>("", k).hint())
                .unwrap_or_default();
            Err(flag_error(
                flag,
                format!(
                    "no traefik.toml key takes it ({} is unknown){hint}",
                    unknown.join(", ")
                ),
            ))
        }
        Err(ConfigError::Parse { message, .. }) => Err(flag_error(flag, message)),
        Err(e) => Err(flag_error(flag, e)),
    }
}

/// Puts `value` at `path` in `root`, merging tables (a later flag wins for the same key).
fn merge(root: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = root;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(t) = entry else {
            return;
        };
        table = t;
    }
    match (table.get_mut(last), value) {
        (Some(Value::Table(old)), Value::Table(new)) => old.extend(new),
        (Some(Value::Table(_)), Value::Boolean(true)) => {}
        (_, value) => {
            table.insert(last.clone(), value);
        }
    }
}

/// Go's flag booleans as Traefik reads them in entrypoint flags: true, enable, on.
fn truthy(v: &str) -> bool {
    ["true", "enable", "on"]
        .iter()
        .any(|t| v.eq_ignore_ascii_case(t))
}

fn flag_error(flag: &Flag, message: impl std::fmt::Display) -> ConfigError {
    ConfigError::Flag {
        flag: flag.shown(),
        message: message.to_string(),
    }
}

/// `--entryPoints='Name:https Address::443 TLS:cert,key …'` (Traefik's fields, names
/// case-insensitive) or `--entryPoints=NAME=ADDRESS` → the entrypoint's name and table.
fn entry_point(flag: &Flag) -> Result<(String, Table), ConfigError> {
    let raw = flag
        .value
        .as_deref()
        .ok_or_else(|| flag_error(flag, "needs a value: 'Name:http Address::80'"))?;
    let traefik_form =
        raw.contains(char::is_whitespace) || raw.to_ascii_lowercase().starts_with("name:");
    if !traefik_form {
        if let Some((name, address)) = raw.split_once('=') {
            let mut t = Table::new();
            t.insert("address".into(), Value::String(address.trim().into()));
            return Ok((name.trim().to_string(), t));
        }
    }
    let mut fields: Vec<(String, Option<String>)> = Vec::new();
    for part in raw.split_whitespace() {
        let (name, value) = match part.split_once(':') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (part, None),
        };
        fields.push((name.to_ascii_lowercase().replace('.', "_"), value));
    }
    let get = |key: &str| {
        fields
            .iter()
            .rev()
            .find(|(n, _)| n == key)
            .and_then(|(_, v)| v.clone())
    };
    let name = get("name").ok_or_else(|| flag_error(flag, "has no Name:"))?;
    let mut t = Table::new();
    let mut put = |path: &[&str], v: Value| {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        merge(&mut t, &path, v);
    };
    let list = |v: &str| Value::Array(v.split(',').map(|s| Value::String(s.into())).collect());
    let flag_bool = |v: &Option<String>| Value::Boolean(v.as_deref().is_some_and(truthy));
    let has_tls = fields.iter().any(|(n, _)| n == "tls");
    for (field, value) in &fields {
        let text = value.clone().unwrap_or_default();
        match field.as_str() {
            "name" => {}
            "address" => put(&["address"], Value::String(text)),
            "tls" => match value {
                // Bare `TLS`: the default (or ACME) certificate.
                None => put(&["tls"], Value::Table(Table::new())),
                Some(v) => {
                    let mut certs = Vec::new();
                    for pair in v.split(';').filter(|p| !p.is_empty()) {
                        let (cert, key) = pair.split_once(',').ok_or_else(|| {
                            flag_error(flag, format!("TLS:{pair}: expected TLS:CERT,KEY"))
                        })?;
                        let mut c = Table::new();
                        c.insert("certFile".into(), Value::String(cert.into()));
                        c.insert("keyFile".into(), Value::String(key.into()));
                        certs.push(Value::Table(c));
                    }
                    put(&["tls", "certificates"], Value::Array(certs));
                }
            },
            "tls_minversion" => put(&["tls", "minVersion"], Value::String(text)),
            "tls_ciphersuites" => put(&["tls", "cipherSuites"], list(&text)),
            "tls_snistrict" => put(&["tls", "sniStrict"], flag_bool(value)),
            "tls_defaultcertificate_cert" => put(
                &["tls", "defaultCertificate", "certFile"],
                Value::String(text),
            ),
            "tls_defaultcertificate_key" => put(
                &["tls", "defaultCertificate", "keyFile"],
                Value::String(text),
            ),
            "ca" => put(&["tls", "clientCA", "files"], list(&text)),
            "ca_optional" => put(&["tls", "clientCA", "optional"], flag_bool(value)),
            "redirect_entrypoint" => put(&["redirect", "entryPoint"], Value::String(text)),
            "redirect_regex" => put(&["redirect", "regex"], Value::String(text)),
            "redirect_replacement" => put(&["redirect", "replacement"], Value::String(text)),
            "redirect_permanent" => put(&["redirect", "permanent"], flag_bool(value)),
            "compress" => put(&["compress"], flag_bool(value)),
            "whitelistsourcerange" => put(&["whitelistSourceRange"], list(&text)),
            "whitelist_sourcerange" => put(&["whiteList", "sourceRange"], list(&text)),
            "whitelist_usexforwardedfor" => {
                put(&["whiteList", "useXForwardedFor"], flag_bool(value))
            }
            "proxyprotocol_trustedips" => put(&["proxyProtocol", "trustedIPs"], list(&text)),
            "proxyprotocol_insecure" => put(&["proxyProtocol", "insecure"], flag_bool(value)),
            "forwardedheaders_trustedips" => put(&["forwardedHeaders", "trustedIPs"], list(&text)),
            "forwardedheaders_insecure" => put(&["forwardedHeaders", "insecure"], flag_bool(value)),
            "auth_headerfield" => put(&["auth", "headerField"], Value::String(text)),
            "auth_basic_users" | "auth_digest_users" => {
                put(&["auth", kind(field), "users"], list(&text))
            }
            "auth_basic_usersfile" | "auth_digest_usersfile" => {
                put(&["auth", kind(field), "usersFile"], Value::String(text))
            }
            "auth_basic_removeheader" | "auth_digest_removeheader" => {
                put(&["auth", kind(field), "removeHeader"], flag_bool(value))
            }
            "auth_forward_address" => put(&["auth", "forward", "address"], Value::String(text)),
            "auth_forward_trustforwardheader" => {
                put(&["auth", "forward", "trustForwardHeader"], flag_bool(value))
            }
            "auth_forward_authresponseheaders" => {
                put(&["auth", "forward", "authResponseHeaders"], list(&text))
            }
            "auth_forward_tls_ca" => put(&["auth", "forward", "tls", "ca"], Value::String(text)),
            "auth_forward_tls_caoptional" => {
                put(&["auth", "forward", "tls", "caOptional"], flag_bool(value))
            }
            "auth_forward_tls_cert" => {
                put(&["auth", "forward", "tls", "cert"], Value::String(text))
            }
            "auth_forward_tls_key" => put(&["auth", "forward", "tls", "key"], Value::String(text)),
            "auth_forward_tls_insecureskipverify" => put(
                &["auth", "forward", "tls", "insecureSkipVerify"],
                flag_bool(value),
            ),
            other => {
                return Err(flag_error(
                    flag,
                    format!(
                        "unknown entrypoint field {other:?} (Traefik's are Name, Address, TLS, TLS.MinVersion, CA, Redirect.EntryPoint, Compress, WhiteList.SourceRange, ProxyProtocol.TrustedIPs, ForwardedHeaders.TrustedIPs, Auth.Basic.Users, …)"
                    ),
                ));
            }
        }
    }
    if !has_tls
        && fields
            .iter()
            .any(|(n, _)| n.starts_with("tls_") || n.starts_with("ca"))
    {
        return Err(flag_error(
            flag,
            "TLS options without TLS: add TLS (or TLS:CERT,KEY)",
        ));
    }
    Ok((name, t))
}

/// `basic` or `digest` from an `auth_basic_*` / `auth_digest_*` field.
fn kind(field: &str) -> &'static str {
    if field.starts_with("auth_basic") {
        "basic"
    } else {
        "digest"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Vec<Flag> {
        args.iter()
            .map(|a| {
                let a = a.trim_start_matches('-');
                match a.split_once('=') {
                    Some((n, v)) => Flag {
                        name: n.into(),
                        value: Some(v.into()),
                    },
                    None => Flag {
                        name: a.into(),
                        value: None,
                    },
                }
            })
            .collect()
    }

    fn parse(flags: &[Flag]) -> Result<FlagConfig, ConfigError> {
        super::parse(flags, Path::new("/work"))
    }

    #[test]
    fn relative_paths_in_flags_start_from_the_working_directory() {
        let c = parse(&flags(&[
            "--file.filename=rules.toml",
            "--entryPoints=Name:https Address::443 TLS:certs/a.crt,/abs/a.key",
        ]))
        .expect("parses");
        let file = c.file.file.as_ref().and_then(|f| f.filename.as_deref());
        assert_eq!(file, Some("/work/rules.toml"));
        let eps = c.file.entry_points.as_ref().expect("entrypoints");
        let certs = eps["https"]
            .tls
            .as_ref()
            .and_then(|t| t.certificates.as_ref());
        let c0 = &certs.expect("certificates")[0];
        assert_eq!(
            (c0.cert_file.as_str(), c0.key_file.as_str()),
            ("/work/certs/a.crt", "/abs/a.key")
        );
    }

    #[test]
    fn traefik_compose_flags_read_case_insensitively() {
        let c = parse(&flags(&[
            "--api",
            "--docker",
            "--docker.domain=docker.localhost",
            "--docker.exposedbydefault=false",
            "--docker.watch",
            "--defaultentrypoints=http,https",
            "--loglevel=DEBUG",
            "--Web.Address=:9090",
            "--maxIdleConnsPerHost=50",
        ]))
        .expect("parses");
        let f = &c.file;
        assert!(f.api.is_some());
        let d = f.docker.as_ref().expect("docker");
        assert_eq!(d.domain.as_deref(), Some("docker.localhost"));
        assert_eq!(d.exposed_by_default, Some(false));
        assert_eq!(d.watch, Some(true));
        assert_eq!(
            f.default_entry_points.as_deref(),
            Some(&["http".to_string(), "https".to_string()][..])
        );
        assert_eq!(f.log_level, Some(crate::schema::LogLevelToml::Debug));
        assert!(f.web.as_ref().and_then(|w| w.address.as_ref()).is_some());
        assert_eq!(f.max_idle_conns_per_host, Some(50));
    }

    #[test]
    fn access_log_flags_with_lists_and_maps() {
        let c = parse(&flags(&[
            "--accesslog.format=json",
            "--accessLog.filters.statusCodes=200,300-302",
            "--accesslog.filters.retryattempts",
            "--accesslog.filters.minduration=10ms",
            "--accesslog.fields.names=ClientUsername=drop StartLocal=keep",
            "--accesslog.fields.headers.defaultmode=redact",
            "--accesslog.fields.headers.names=User-Agent=keep",
            "--traefiklog.format=json",
        ]))
        .expect("parses");
        let a = c.file.access_log.as_ref().expect("accessLog");
        let filters = a.filters.as_ref().expect("filters");
        assert_eq!(
            filters.status_codes.as_deref(),
            Some(&["200".to_string(), "300-302".to_string()][..])
        );
        assert_eq!(filters.retry_attempts, Some(true));
        let fields = a.fields.as_ref().expect("fields");
        let names = fields.names.as_ref().expect("names");
        assert_eq!(
            names.get("ClientUsername").map(String::as_str),
            Some("drop")
        );
        assert_eq!(names.get("StartLocal").map(String::as_str), Some("keep"));
        let headers = fields.headers.as_ref().expect("headers");
        assert_eq!(headers.default_mode.as_deref(), Some("redact"));
        assert_eq!(
            c.file
                .traefik_log
                .as_ref()
                .and_then(|t| t.format.as_deref()),
            Some("json")
        );
    }

    #[test]
    fn entry_point_flags_in_traefiks_syntax() {
        let c = parse(&flags(&[
            "--entryPoints=Name:http Address::80 Redirect.EntryPoint:https",
            "--entrypoints=Name:https Address::443 TLS:/c.crt,/c.key TLS.MinVersion:VersionTLS12 CA:/ca.pem CA.Optional:true",
            "--entryPoints=Name:bare Address::8443 TLS Compress:true WhiteList.SourceRange:10.0.0.0/8,192.168.0.0/16",
            "--entryPoints=alt=:9001",
            "--entryPoints=Name:re Address::9002 Redirect.Regex:^http://(.*) Redirect.Replacement:https://$1 Redirect.Permanent:true",
        ]))
        .expect("parses");
        let eps = c.file.entry_points.as_ref().expect("entrypoints");
        let http = &eps["http"];
        assert_eq!(
            http.redirect
                .as_ref()
                .and_then(|r| r.entry_point.as_deref()),
            Some("https")
        );
        let tls = eps["https"].tls.as_ref().expect("tls");
        let certs = tls.certificates.as_ref().expect("certificates");
        assert_eq!(certs[0].cert_file, "/c.crt");
        assert_eq!(certs[0].key_file, "/c.key");
        assert_eq!(tls.min_version.as_deref(), Some("VersionTLS12"));
        let ca = tls.client_ca.as_ref().expect("client CA");
        assert_eq!(ca.optional, Some(true));
        let bare = &eps["bare"];
        assert!(bare.tls.as_ref().is_some_and(|t| t.certificates.is_none()));
        assert_eq!(bare.compress, Some(true));
        assert!(bare.white_list.is_some());
        assert!(eps["alt"].address.is_some());
        let re = eps["re"].redirect.as_ref().expect("regex redirect");
        assert_eq!(re.regex.as_deref(), Some("^http://(.*)"));
        assert_eq!(re.replacement.as_deref(), Some("https://$1"));
        assert_eq!(re.permanent, Some(true));
    }

    #[test]
    fn bad_flags_are_errors_naming_the_flag() {
        for (args, want) in [
            (&["--dockr.domain=x"][..], "--dockr.domain=x"),
            (
                &["--docker.exposedByDefault=maybe"],
                "exposedByDefault=maybe",
            ),
            (
                &["--entryPoints=Name:x Adress::80"],
                "unknown entrypoint field \"adress\"",
            ),
            (
                &["--entryPoints=Name:x Address::80 TLS.MinVersion:VersionTLS12"],
                "without TLS",
            ),
            (&["--entryPoints=Address::80"], "has no Name:"),
        ] {
            let e = parse(&flags(args)).expect_err("refused").to_string();
            assert!(e.contains(want), "{args:?}: {e}");
        }
    }

    #[test]
    fn a_section_can_be_switched_off() {
        let c = parse(&flags(&["--docker=false", "--api=true"])).expect("parses");
        assert_eq!(c.disabled, ["docker"]);
        assert!(c.file.docker.is_none() && c.file.api.is_some());
    }
}
