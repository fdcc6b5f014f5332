//! Swarm test helpers: the local engine as a single-node swarm (left as found), portier's own
//! test binary as an image (the host cannot reach task IPs on an overlay network, so portier
//! runs as a container on it, the way Traefik runs in a swarm), and a guard that owns the
//! services, the overlay network and the portier container and removes them even on failure.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use super::docker::{docker, image, require_engine};

/// portier's test binary with the shared libraries it needs, `FROM scratch`.
pub const SELF_IMAGE: &str = "portier-test-self:latest";

/// Builds [`SELF_IMAGE`] from `binary` once: the binary plus every library `ldd` names, at
/// the same paths.
pub fn self_image(binary: &str) -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let context = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("test-images")
            .join("self");
        let _ = std::fs::remove_dir_all(&context);
        std::fs::create_dir_all(&context).expect("context dir");
        std::fs::copy(binary, context.join("portier")).expect("copy portier");
        let ldd = Command::new("ldd").arg(binary).output().expect("run ldd");
        for line in String::from_utf8_lossy(&ldd.stdout).lines() {
            // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux… (0x…)`.
            let path = line
                .split("=>")
                .last()
                .and_then(|p| p.split_whitespace().next())
                .filter(|p| p.starts_with('/'));
            if let Some(path) = path {
                let to = context.join(path.trim_start_matches('/'));
                std::fs::create_dir_all(to.parent().expect("parent")).expect("lib dir");
                std::fs::copy(path, &to).unwrap_or_else(|e| panic!("copy {path}: {e}"));
            }
        }
        std::fs::write(
            context.join("Dockerfile"),
            "FROM scratch\nCOPY . /\nENTRYPOINT [\"/portier\"]\n",
        )
        .expect("Dockerfile");
        let out = Command::new("docker")
            .env("DOCKER_BUILDKIT", "0")
            .args(["build", "-q", "-t", SELF_IMAGE])
            .arg(&context)
            .output()
            .expect("docker build");
        assert!(
            out.status.success(),
            "docker build {SELF_IMAGE} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    SELF_IMAGE
}

/// A single-node swarm for one test, with an attachable overlay network; on drop removes its
/// services, portier container and network, and leaves the swarm if it was not one before.
pub struct Swarm {
    pub tag: String,
    pub network: String,
    joined: bool,
    services: Vec<String>,
    portier: Option<String>,
    /// One swarm test at a time: they join and leave the same node.
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Swarm {
    pub fn new(test: &str) -> Swarm {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        require_engine();
        image();
        let state = docker(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        let joined = state != "active";
        if joined {
            docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        }
        let tag = format!("ps-{test}-{}", std::process::id()).replace('_', "-");
        let swarm = Swarm {
            network: tag.clone(),
            tag,
            joined,
            services: Vec::new(),
            portier: None,
            _turn: turn,
        };
        docker(&[
            "network",
            "create",
            "-d",
            "overlay",
            "--attachable",
            &swarm.network,
        ]);
        swarm
    }

    /// The host's address on `docker_gwbridge`, which containers on an overlay network reach.
    /// The engine creates that bridge when the first task on an overlay network starts (on a
    /// fresh machine, during the test), so this waits for it.
    pub fn host_gateway(&self) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let found = docker(&["network", "ls", "-q", "--filter", "name=^docker_gwbridge$"]);
            if !found.is_empty() {
                return docker(&[
                    "network",
                    "inspect",
                    "docker_gwbridge",
                    "--format",
                    "{{(index .IPAM.Config 0).Gateway}}",
                ]);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the engine never created docker_gwbridge (no task started on the overlay network?)"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    /// `docker service create` of the whoami image on the network, with these labels and
    /// extra arguments; returns the service's name.
    pub fn service(&mut self, name: &str, labels: &[&str], args: &[&str]) -> String {
        let name = format!("{}-{name}", self.tag);
        let mut full = vec![
            "service",
            "create",
            "-q",
            "-d",
            "--name",
            &name,
            "--network",
            &self.network,
        ];
        for l in labels {
            full.extend(["--label", l]);
        }
        full.extend_from_slice(args);
        full.push(super::docker::IMAGE);
        docker(&full);
        self.services.push(name.clone());
        name
    }

    /// portier (`binary`) as a container on the network with the engine's socket; returns
    /// the host addresses of its HTTP entrypoint and of its API.
    pub fn portier(&mut self, binary: &str, args: &[&str]) -> (SocketAddr, SocketAddr) {
        let image = self_image(binary);
        let name = format!("{}-portier", self.tag);
        let mut full = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &self.network,
            "-p",
            "127.0.0.1::80",
            "-p",
            "127.0.0.1::8080",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            image,
        ];
        full.extend_from_slice(args);
        docker(&full);
        self.portier = Some(name.clone());
        let port = |p: &str| -> SocketAddr {
            let out = docker(&["port", &name, p]);
            out.lines()
                .next()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or_else(|| panic!("docker port {name} {p}: {out:?}"))
        };
        (port("80/tcp"), port("8080/tcp"))
    }

    /// The portier container's log, for failure messages.
    pub fn portier_log(&self) -> String {
        let Some(name) = &self.portier else {
            return String::new();
        };
        Command::new("docker")
            .args(["logs", name])
            .output()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .unwrap_or_default()
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if let Some(p) = &self.portier {
            let _ = Command::new("docker").args(["rm", "-f", p]).output();
        }
        if !self.services.is_empty() {
            let _ = Command::new("docker")
                .args(["service", "rm"])
                .args(&self.services)
                .output();
        }
        // The network goes once the tasks' endpoints have left it.
        for _ in 0..50 {
            let gone = Command::new("docker")
                .args(["network", "rm", &self.network])
                .output()
                .is_ok_and(|o| o.status.success());
            if gone {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        if self.joined {
            let _ = Command::new("docker")
                .args(["swarm", "leave", "--force"])
                .output();
        }
    }
}
