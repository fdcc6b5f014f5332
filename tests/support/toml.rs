//! traefik.toml for tests, in Traefik's words: entrypoints on 127.0.0.1:0, the dashboard, the
//! file provider, and frontends and backends built from test backends.
//!
//! `Toml::file().backend("web", &[(&a, 1)]).frontend("f", "web", "Host:a.local").build()`

use std::fmt::Write;

use super::Backend;

/// The `http` entrypoint on a free loopback port.
pub const HTTP: &str = "[entryPoints.http]\naddress = \"127.0.0.1:0\"\n";

/// A traefik.toml under construction.
#[derive(Debug, Clone, Default)]
pub struct Toml(String);

impl Toml {
    /// The `http` entrypoint and nothing else.
    pub fn http() -> Toml {
        Toml(HTTP.to_string())
    }

    /// The `http` entrypoint and the file provider reading this same file.
    pub fn file() -> Toml {
        Toml::http().raw("[file]\n")
    }

    /// The `http` entrypoint keeps X-Forwarded-* from loopback peers (the tests' clients), as
    /// behind a trusted proxy; without this, portier replaces them.
    pub fn trust_loopback(self) -> Toml {
        self.raw("[entryPoints.http.forwardedHeaders]\ntrustedIPs = [\"127.0.0.1\"]\n")
    }

    /// The dashboard and API on a free loopback port.
    pub fn web(self) -> Toml {
        self.raw("[web]\naddress = \"127.0.0.1:0\"\n")
    }

    /// Any TOML, as written.
    pub fn raw(mut self, text: &str) -> Toml {
        self.0.push_str(text);
        if !text.is_empty() && !text.ends_with('\n') {
            self.0.push('\n');
        }
        self
    }

    /// A backend whose servers are test backends with these weights.
    pub fn backend(mut self, name: &str, servers: &[(&Backend, u32)]) -> Toml {
        for (i, (b, w)) in servers.iter().enumerate() {
            let _ = write!(
                self.0,
                "[backends.{name}.servers.s{i}]\nurl = \"{}\"\nweight = {w}\n",
                b.url()
            );
        }
        self
    }

    /// A backend with one server at `url` (a raw origin, say).
    pub fn backend_url(mut self, name: &str, url: &str) -> Toml {
        let _ = write!(self.0, "[backends.{name}.servers.s0]\nurl = \"{url}\"\n");
        self
    }

    /// One named server of a backend.
    pub fn server(mut self, backend: &str, name: &str, b: &Backend) -> Toml {
        let _ = write!(
            self.0,
            "[backends.{backend}.servers.{name}]\nurl = \"{}\"\n",
            b.url()
        );
        self
    }

    /// A frontend with one route.
    pub fn frontend(mut self, name: &str, backend: &str, rule: &str) -> Toml {
        let _ = write!(
            self.0,
            "[frontends.{name}]\nbackend = \"{backend}\"\n[frontends.{name}.routes.r]\nrule = \"{rule}\"\n"
        );
        self
    }

    /// Several `(name, backend, rule)` frontends.
    pub fn frontends(self, entries: &[(&str, &str, &str)]) -> Toml {
        entries.iter().fold(self, |t, (name, backend, rule)| {
            t.frontend(name, backend, rule)
        })
    }

    pub fn build(self) -> String {
        self.0
    }
}
