//! Command-line flags laid over traefik.toml: key by key, sections merged, the flag winning
//! (Traefik's precedence). Each impl destructures the struct it merges without `..`, so a key
//! added to the schema and not merged here does not compile.

use crate::flags::FlagConfig;
use crate::schema::*;

/// Merging a value read from flags into one read from the file.
pub(crate) trait Overlay {
    fn overlay(&mut self, from: Self);
}

/// Leaf keys: the flag's value replaces the file's.
macro_rules! take {
    ($self:ident; $($field:ident),* $(,)?) => {
        $( if $field.is_some() { $self.$field = $field; } )*
    };
}

/// Sections: merged key by key when both have them.
fn section<T: Overlay>(into: &mut Option<T>, from: Option<T>) {
    match (into.as_mut(), from) {
        (Some(i), Some(f)) => i.overlay(f),
        (None, f @ Some(_)) => *into = f,
        (_, None) => {}
    }
}

impl Overlay for FileConfig {
    fn overlay(&mut self, from: FileConfig) {
        let FileConfig {
            default_entry_points,
            entry_points,
            port,
            log_level,
            debug,
            web,
            api,
            ping,
            docker,
            file,
            responding_timeouts,
            forwarding_timeouts,
            access_log,
            access_logs_file,
            traefik_log,
            max_idle_conns_per_host,
            max_conns_per_host,
            insecure_skip_verify,
            root_cas,
            constraints,
            life_cycle,
            retry,
            acme,
            frontends,
            backends,
            keep_trailing_slash,
            check_new_version,
            send_anonymous_usage,
            grace_time_out,
            idle_timeout,
            traefik_logs_file,
            metrics,
            providers_throttle_duration,
            generation: _,
        } = from;
        take!(self; default_entry_points, port, log_level, debug, access_logs_file,
            max_idle_conns_per_host, max_conns_per_host, insecure_skip_verify, root_cas,
            constraints, frontends, backends, keep_trailing_slash, check_new_version,
            send_anonymous_usage, grace_time_out, idle_timeout, traefik_logs_file, metrics,
            providers_throttle_duration);
        if let Some(eps) = entry_points {
            let mine = self.entry_points.get_or_insert_with(Default::default);
            for (name, ep) in eps {
                match mine.get_mut(&name) {
                    Some(m) => m.overlay(ep),
                    None => {
                        mine.insert(name, ep);
                    }
                }
            }
        }
        section(&mut self.web, web);
        section(&mut self.api, api);
        section(&mut self.ping, ping);
        section(&mut self.docker, docker);
        section(&mut self.file, file);
        section(&mut self.responding_timeouts, responding_timeouts);
        section(&mut self.forwarding_timeouts, forwarding_timeouts);
        section(&mut self.access_log, access_log);
        section(&mut self.traefik_log, traefik_log);
        section(&mut self.life_cycle, life_cycle);
        section(&mut self.retry, retry);
        section(&mut self.acme, acme);
    }
}

impl Overlay for AccessLogToml {
    fn overlay(&mut self, from: AccessLogToml) {
        let AccessLogToml {
            file_path,
            format,
            filters,
            fields,
            buffering_size,
        } = from;
        take!(self; file_path, format, buffering_size);
        section(&mut self.filters, filters);
        section(&mut self.fields, fields);
    }
}

impl Overlay for AccessLogFieldsToml {
    fn overlay(&mut self, from: AccessLogFieldsToml) {
        let AccessLogFieldsToml {
            default_mode,
            names,
            headers,
        } = from;
        take!(self; default_mode, names);
        section(&mut self.headers, headers);
    }
}

/// Structs whose keys are all leaves.
macro_rules! overlay_leaves {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl Overlay for $ty {
            fn overlay(&mut self, from: $ty) {
                let $ty { $($field),* } = from;
                take!(self; $($field),*);
            }
        }
    )*};
}

overlay_leaves! {
    EntryPointToml { address, max_connections, tls, redirect, forwarded_headers, compress,
        proxy_protocol, auth, white_list, whitelist_source_range }
    WebToml { address, read_only, path, users, users_file, auth, metrics }
    ApiToml { entry_point, dashboard, debug }
    PingToml { entry_point }
    DockerToml { endpoint, domain, watch, exposed_by_default, network, swarm_mode,
        swarm_mode_refresh_seconds, use_bind_port_ip, constraints }
    FileProviderToml { filename, directory, watch }
    RespondingTimeoutsToml { read_header_timeout, read_timeout, write_timeout, idle_timeout }
    ForwardingTimeoutsToml { dial_timeout, response_header_timeout }
    AccessLogFiltersToml { status_codes, retry_attempts, min_duration }
    AccessLogHeadersToml { default_mode, names }
    TraefikLogToml { file_path, format }
    AcmeToml { email, storage, entry_point, on_host_rule, ca_server, domains, tls_challenge,
        http_challenge, dns_challenge, acme_logging, key_type }
    RetryToml { attempts }
    LifeCycleToml { grace_time_out, request_accept_grace_timeout }
}

/// Lays `flags` over `file`: their keys, then the sections they switch off.
pub fn apply_flags(file: &mut FileConfig, flags: FlagConfig) {
    if let Some(eps) = file.entry_points.as_mut() {
        for name in &flags.replaced_entry_points {
            eps.remove(name);
        }
    }
    file.overlay(flags.file);
    for name in &flags.disabled {
        match name.as_str() {
            "docker" => file.docker = None,
            "file" => file.file = None,
            "api" => file.api = None,
            "ping" => file.ping = None,
            "web" => file.web = None,
            "accesslog" => file.access_log = None,
            "traefiklog" => file.traefik_log = None,
            "retry" => file.retry = None,
            "acme" => file.acme = None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Flag;

    fn parse(flags: &[Flag]) -> Result<crate::flags::FlagConfig, crate::ConfigError> {
        crate::flags::parse(flags, std::path::Path::new("/"))
    }

    #[test]
    fn flags_win_key_by_key_and_sections_merge() {
        let (mut file, _) = crate::load::parse_toml::<FileConfig>(
            std::path::Path::new("traefik.toml"),
            "logLevel = \"INFO\"\n[docker]\nendpoint = \"tcp://h:2375\"\ndomain = \"a.local\"\n[entryPoints.http]\naddress = \":80\"\ncompress = true\n",
        )
        .expect("parses");
        let flag = |n: &str, v: Option<&str>| Flag {
            name: n.into(),
            value: v.map(String::from),
        };
        let flags = parse(&[
            flag("docker.domain", Some("b.local")),
            flag("loglevel", Some("debug")),
            flag("entryPoints", Some("Name:http Address::8080")),
            flag("entryPoints.https.address", Some(":8443")),
            flag("file", Some("false")),
        ])
        .expect("flags");
        apply_flags(&mut file, flags);
        let d = file.docker.as_ref().expect("docker");
        assert_eq!(
            d.endpoint.as_deref(),
            Some("tcp://h:2375"),
            "kept from the file"
        );
        assert_eq!(d.domain.as_deref(), Some("b.local"), "the flag wins");
        assert_eq!(file.log_level, Some(LogLevelToml::Debug));
        let http = &file.entry_points.as_ref().expect("eps")["http"];
        assert_eq!(
            http.compress, None,
            "a Name: flag defines the entrypoint whole"
        );
        assert_eq!(
            http.address.as_ref().map(|a| a.socket.port()),
            Some(8080),
            "the flag wins"
        );
    }
}
