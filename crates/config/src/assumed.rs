//! What portier assumes when it finds no configuration file: Traefik-like defaults for its main
//! job (routing labelled containers) and the lines that tell the operator so. Pure: the caller
//! says whether a Docker socket exists and what `PORTIER_HTTP_PORT` holds.

use crate::resolved::{DEFAULT_DOCKER_ENDPOINT, DEFAULT_ENTRYPOINT_NAME, DEFAULT_WEB_ADDRESS};
use crate::schema::{DockerToml, EntryPointToml, FileConfig, WebToml};
use crate::{ConfigError, ListenAddress};

/// The environment variable that moves the default HTTP entrypoint off `:80`.
pub const HTTP_PORT_ENV: &str = "PORTIER_HTTP_PORT";
/// `[docker] domain` when running on defaults, as Traefik's documentation uses.
pub const ASSUMED_DOCKER_DOMAIN: &str = "docker.localhost";

/// Fills what the command line (already laid over `file`) left open, for a run without a
/// configuration file; `switched_off` names the sections a flag turned off. Returns the lines
/// that say what was assumed.
pub fn assumed_defaults(
    file: &mut FileConfig,
    switched_off: &[String],
    docker_socket: bool,
    http_port: Option<&str>,
) -> Result<Vec<String>, ConfigError> {
    let mut said = vec!["no configuration file (-c FILE, /etc/traefik/traefik.toml or ./traefik.toml): running on defaults".to_string()];
    if file.entry_points.as_ref().is_none_or(|e| e.is_empty()) && file.port.is_none() {
        match http_port.map(str::trim).filter(|p| !p.is_empty()) {
            Some(port) => {
                let address = ListenAddress::parse(&format!(":{port}")).map_err(|e| {
                    ConfigError::Flag {
                        flag: format!("{HTTP_PORT_ENV}={port}"),
                        message: e.to_string(),
                    }
                })?;
                let ep = EntryPointToml {
                    address: Some(address),
                    ..EntryPointToml::default()
                };
                file.entry_points = Some([(DEFAULT_ENTRYPOINT_NAME.to_string(), ep)].into());
                said.push(format!(
                    "entrypoint {DEFAULT_ENTRYPOINT_NAME} on :{port} (from {HTTP_PORT_ENV})"
                ));
            }
            None => said.push(format!(
                "entrypoint {DEFAULT_ENTRYPOINT_NAME} on :80 (set {HTTP_PORT_ENV}=8000 or pass --entryPoints='Name:{DEFAULT_ENTRYPOINT_NAME} Address::8000' to move it)"
            )),
        }
    }
    if file.web.is_none() && file.api.is_none() && !switched_off.iter().any(|s| s == "web") {
        file.web = Some(WebToml::default());
        said.push(format!(
            "dashboard and API on {DEFAULT_WEB_ADDRESS} (--web.address to move it)"
        ));
    }
    let docker_off = switched_off.iter().any(|s| s == "docker");
    if file.docker.is_none() && !docker_off && docker_socket {
        file.docker = Some(DockerToml::default());
        said.push(format!(
            "docker provider on {DEFAULT_DOCKER_ENDPOINT}, every container exposed (traefik.enable=false to leave one out; --docker.exposedByDefault=false to invert)"
        ));
    } else if file.docker.is_none() {
        said.push(format!(
            "no Docker socket at {DEFAULT_DOCKER_ENDPOINT}: docker provider off (--docker.endpoint to name one)"
        ));
    }
    if let Some(d) = file.docker.as_mut().filter(|d| d.domain.is_none()) {
        d.domain = Some(ASSUMED_DOCKER_DOMAIN.to_string());
        said.push(format!(
            "default rule Host:<container>.{ASSUMED_DOCKER_DOMAIN} (--docker.domain to change it)"
        ));
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flags::Flag;

    fn parse(flags: &[Flag]) -> Result<crate::flags::FlagConfig, ConfigError> {
        crate::flags::parse(flags, std::path::Path::new("/"))
    }

    #[test]
    fn defaults_for_the_main_job() {
        let mut f = FileConfig::default();
        let said = assumed_defaults(&mut f, &[], true, None).expect("assumed");
        assert!(
            f.entry_points.is_none(),
            "the built-in http entrypoint on :80"
        );
        assert!(f.web.is_some(), "the dashboard on its default address");
        assert_eq!(
            f.docker.as_ref().and_then(|d| d.domain.as_deref()),
            Some("docker.localhost")
        );
        assert!(
            said.iter().any(|l| l.contains("PORTIER_HTTP_PORT=8000")),
            "{said:?}"
        );

        let mut f = FileConfig::default();
        let said = assumed_defaults(&mut f, &[], false, Some("8000")).expect("assumed");
        let ep = &f.entry_points.as_ref().expect("entrypoints")["http"];
        assert_eq!(ep.address.as_ref().map(|a| a.socket.port()), Some(8000));
        assert!(f.docker.is_none());
        assert!(
            said.iter().any(|l| l.contains("no Docker socket")),
            "{said:?}"
        );
    }

    #[test]
    fn flags_win_over_assumptions() {
        let flag = |n: &str, v: &str| Flag {
            name: n.into(),
            value: Some(v.into()),
        };
        let flags = parse(&[
            flag("entryPoints", "http=:9000"),
            flag("web.address", ":9090"),
            flag("docker", "false"),
        ])
        .expect("flags");
        let mut f = FileConfig::default();
        let off = flags.disabled.clone();
        crate::apply_flags(&mut f, flags);
        assumed_defaults(&mut f, &off, true, Some("8000")).expect("assumed");
        let ep = &f.entry_points.as_ref().expect("entrypoints")["http"];
        assert_eq!(ep.address.as_ref().map(|a| a.socket.port()), Some(9000));
        let web = f.web.as_ref().and_then(|w| w.address.as_ref());
        assert_eq!(web.map(|a| a.socket.port()), Some(9090));
        assert!(f.docker.is_none());
    }
}
