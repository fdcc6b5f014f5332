//! What portier assumes when it finds no configuration file: Traefik-like defaults for its main
//! job (routing labelled containers) and the lines that tell the operator so. Pure: the caller
//! says whether a Docker socket exists and what `PORTIER_HTTP_PORT` holds.

use crate::load::Overrides;
use crate::resolved::{DEFAULT_DOCKER_ENDPOINT, DEFAULT_ENTRYPOINT_NAME, DEFAULT_WEB_ADDRESS};

/// The environment variable that moves the default HTTP entrypoint off `:80`.
pub const HTTP_PORT_ENV: &str = "PORTIER_HTTP_PORT";
/// `[docker] domain` when running on defaults, as Traefik's documentation uses.
pub const ASSUMED_DOCKER_DOMAIN: &str = "docker.localhost";

/// The flags with defaults filled in for a run without a configuration file: an HTTP entrypoint
/// on `:80` (or `:PORTIER_HTTP_PORT`), the dashboard on `:8080`, and the Docker provider on the
/// local socket when `docker_socket` (exposed by default, domain `docker.localhost`). A value
/// given as a flag wins. Returns the flags and what was assumed, one line each.
pub fn assumed_defaults(
    over: &Overrides,
    docker_socket: bool,
    http_port: Option<&str>,
) -> (Overrides, Vec<String>) {
    let mut out = over.clone();
    let mut said = vec!["no configuration file (-c FILE, /etc/traefik/traefik.toml or ./traefik.toml): running on defaults".to_string()];
    if out.entry_points.is_empty() {
        match http_port.map(str::trim).filter(|p| !p.is_empty()) {
            Some(port) => {
                out.entry_points = vec![format!("{DEFAULT_ENTRYPOINT_NAME}=:{port}")];
                said.push(format!(
                    "entrypoint {DEFAULT_ENTRYPOINT_NAME} on :{port} (from {HTTP_PORT_ENV})"
                ));
            }
            None => said.push(format!(
                "entrypoint {DEFAULT_ENTRYPOINT_NAME} on :80 (set {HTTP_PORT_ENV}=8000 or pass --entryPoints {DEFAULT_ENTRYPOINT_NAME}=:8000 to move it)"
            )),
        }
    }
    if out.web_address.is_none() {
        out.web_address = Some(DEFAULT_WEB_ADDRESS.to_string());
        said.push(format!(
            "dashboard and API on {DEFAULT_WEB_ADDRESS} (--web.address to move it)"
        ));
    }
    let docker_asked = out.docker.is_some() || out.docker_endpoint.is_some();
    if !docker_asked && docker_socket {
        out.docker = Some(true);
        said.push(format!(
            "docker provider on {DEFAULT_DOCKER_ENDPOINT}, every container exposed (traefik.enable=false to leave one out; --docker.exposedByDefault=false to invert)"
        ));
    } else if !docker_asked {
        said.push(format!(
            "no Docker socket at {DEFAULT_DOCKER_ENDPOINT}: docker provider off (--docker.endpoint to name one)"
        ));
    }
    let docker_on = out.docker == Some(true) || out.docker_endpoint.is_some();
    if docker_on && out.docker_domain.is_none() {
        out.docker_domain = Some(ASSUMED_DOCKER_DOMAIN.to_string());
        said.push(format!(
            "default rule Host:<container>.{ASSUMED_DOCKER_DOMAIN} (--docker.domain to change it)"
        ));
    }
    (out, said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_for_the_main_job() {
        let (o, said) = assumed_defaults(&Overrides::default(), true, None);
        assert!(
            o.entry_points.is_empty(),
            "the built-in http entrypoint on :80"
        );
        assert_eq!(o.web_address.as_deref(), Some(":8080"));
        assert_eq!(o.docker, Some(true));
        assert_eq!(o.docker_domain.as_deref(), Some("docker.localhost"));
        assert!(
            said.iter().any(|l| l.contains("PORTIER_HTTP_PORT=8000")),
            "{said:?}"
        );

        let (o, said) = assumed_defaults(&Overrides::default(), false, Some("8000"));
        assert_eq!(o.entry_points, ["http=:8000"]);
        assert_eq!(o.docker, None);
        assert!(
            said.iter().any(|l| l.contains("no Docker socket")),
            "{said:?}"
        );
    }

    #[test]
    fn flags_win_over_assumptions() {
        let given = Overrides {
            entry_points: vec!["http=:9000".into()],
            web_address: Some(":9090".into()),
            docker: Some(false),
            ..Overrides::default()
        };
        let (o, _) = assumed_defaults(&given, true, Some("8000"));
        assert_eq!(o.entry_points, ["http=:9000"]);
        assert_eq!(o.web_address.as_deref(), Some(":9090"));
        assert_eq!(o.docker, Some(false));
        assert_eq!(o.docker_domain, None);
    }
}
