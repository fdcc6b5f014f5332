//! Docker test helpers: the whoami image built from this workspace (static binary, `FROM
//! scratch`), and a guard that owns a network and containers and removes them on drop, even
//! when the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The image every Docker test runs; built once per test run.
pub const IMAGE: &str = "portier-test-whoami:latest";
/// The same with a Docker HEALTHCHECK (`/whoami check` every 300 ms; scratch has no shell, so
/// the check must be in exec form, which `docker run --health-cmd` cannot write).
pub const HEALTH_IMAGE: &str = "portier-test-whoami:health";

/// Runs `docker ARGS` and returns stdout; panics with stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run docker {args:?}: {e}"));
    if !out.status.success() {
        panic!(
            "docker {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Fails the test with a clear message when no engine answers (never a silent skip).
pub fn require_engine() {
    let out = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "the Docker engine is not reachable (is dockerd running and /var/run/docker.sock readable?): {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("the docker CLI is not installed: {e}"),
    }
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds `tools/whoami` statically and the `FROM scratch` image around it, once.
pub fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        require_engine();
        let target_dir = workspace().join("target").join("test-images");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = Command::new(cargo)
            .current_dir(workspace())
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .args(["build", "--quiet", "--release", "-p", "whoami", "--target", "x86_64-unknown-linux-gnu", "--target-dir"])
            .arg(&target_dir)
            .status()
            .expect("run cargo to build whoami");
        assert!(status.success(), "building the static whoami binary failed");
        let context = target_dir.join("context");
        std::fs::create_dir_all(&context).expect("context dir");
        std::fs::copy(target_dir.join("x86_64-unknown-linux-gnu/release/whoami"), context.join("whoami")).expect("copy whoami");
        build_image(&context, "FROM scratch\nCOPY whoami /whoami\nEXPOSE 80\nSTOPSIGNAL SIGTERM\nENTRYPOINT [\"/whoami\"]\n", IMAGE);
        build_image(
            &target_dir.join("health"),
            &format!("FROM {IMAGE}\nHEALTHCHECK --interval=300ms --timeout=2s --retries=1 CMD [\"/whoami\", \"check\"]\n"),
            HEALTH_IMAGE,
        );
    });
    IMAGE
}

/// `docker build -t tag` of `dockerfile` in `context` (the legacy builder: no buildx needed).
fn build_image(context: &Path, dockerfile: &str, tag: &str) {
    std::fs::create_dir_all(context).expect("context dir");
    std::fs::write(context.join("Dockerfile"), dockerfile).expect("Dockerfile");
    let out = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args(["build", "-q", "-t", tag])
        .arg(context)
        .output()
        .expect("docker build");
    assert!(
        out.status.success(),
        "docker build {tag} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A unique tag and network for one test; removes everything labelled with it on drop.
pub struct Scope {
    pub tag: String,
    pub network: String,
}

impl Scope {
    pub fn new(test: &str) -> Scope {
        static N: AtomicUsize = AtomicUsize::new(0);
        image();
        let tag = format!(
            "pt-{}-{}-{}",
            test.replace('_', "-"),
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        docker(&[
            "network",
            "create",
            "--label",
            &format!("portier-test={tag}"),
            &tag,
        ]);
        Scope {
            network: tag.clone(),
            tag,
        }
    }

    /// `docker run -d` on the scope's network with `traefik.tags=<tag>`; returns the container id.
    pub fn run(&self, name: &str, args: &[&str]) -> String {
        self.run_image(name, IMAGE, args)
    }

    /// Like `run`, with another image.
    pub fn run_image(&self, name: &str, image: &str, args: &[&str]) -> String {
        let name = format!("{}-{name}", self.tag);
        let tag_label = format!("traefik.tags={}", self.tag);
        let owner = format!("portier-test={}", self.tag);
        let mut full = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &self.network,
            "-l",
            &tag_label,
            "-l",
            &owner,
        ];
        full.extend_from_slice(args);
        full.push(image);
        docker(&full)
    }

    /// Portier's `[docker]` section restricted to this scope's containers.
    pub fn docker_toml(&self, extra: &str) -> String {
        format!(
            "[docker]\nendpoint = \"unix:///var/run/docker.sock\"\ndomain = \"docker.localhost\"\nwatch = true\nconstraints = [\"tag=={}\"]\n{extra}\n",
            self.tag
        )
    }

    /// The compose command (`docker compose` or `docker-compose`) for a project in this scope.
    pub fn compose(&self, file: &Path, args: &[&str]) -> String {
        let project = self.tag.clone();
        let (program, mut full): (&str, Vec<String>) = if Command::new("docker")
            .args(["compose", "version"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            ("docker", vec!["compose".into()])
        } else {
            ("docker-compose", vec![])
        };
        full.extend([
            "-p".to_string(),
            project,
            "-f".to_string(),
            file.display().to_string(),
        ]);
        full.extend(args.iter().map(|s| s.to_string()));
        let out = Command::new(program)
            .args(&full)
            .env("PORTIER_TEST_TAG", &self.tag)
            .env("PORTIER_TEST_IMAGE", IMAGE)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program} (install docker-compose): {e}"));
        assert!(
            out.status.success(),
            "{program} {full:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let filter = format!("label=portier-test={}", self.tag);
        let compose = format!("label=com.docker.compose.project={}", self.tag);
        for f in [filter.as_str(), compose.as_str()] {
            if let Ok(out) = Command::new("docker")
                .args(["ps", "-aq", "--filter", f])
                .output()
            {
                let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                if !ids.is_empty() {
                    let _ = Command::new("docker")
                        .args(["rm", "-f", "-v"])
                        .args(&ids)
                        .output();
                }
            }
        }
        let _ = Command::new("docker")
            .args([
                "network",
                "rm",
                &self.network,
                &format!("{}_default", self.tag),
            ])
            .output();
    }
}

/// Polls `f` until it returns `Some`, or panics after `within` with `what`.
pub async fn eventually<T>(
    within: Duration,
    what: &str,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until container `id` accepts TCP connections on `port` at its address on its first
/// network (containers are reachable from the host on Linux bridge networks). For tests where a
/// refused first request would change what they measure (a circuit breaker counts it).
pub async fn listening(id: &str, port: u16) {
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        id,
    ]);
    let ip = ip.split_whitespace().next().unwrap_or_default().to_string();
    assert!(!ip.is_empty(), "container {id} has no address");
    let addr = format!("{ip}:{port}");
    eventually(
        Duration::from_secs(10),
        &format!("{addr} accepts connections"),
        async || tokio::net::TcpStream::connect(&addr).await.ok().map(|_| ()),
    )
    .await;
}

/// The `Hostname:` line of a whoami answer.
pub fn hostname(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("Hostname: "))
        .map(str::to_string)
}

/// A TCP front for the real engine's unix socket that a test can cut and restore, to make the
/// engine "go away" and come back (the one fault the real engine cannot produce on demand).
pub struct EngineLink {
    pub addr: std::net::SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl EngineLink {
    pub async fn start() -> EngineLink {
        EngineLink::start_on("127.0.0.1").await
    }

    /// Listens on `ip` (a Docker bridge's gateway, for portier running in a container).
    pub async fn start_on(ip: &str) -> EngineLink {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .expect("bind link");
        let addr = listener.local_addr().expect("addr");
        EngineLink {
            addr,
            task: Some(tokio::spawn(forward(listener))),
        }
    }

    /// Closes the listener and every forwarded connection.
    pub fn cut(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }

    /// Listens again on the same address.
    pub async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .expect("rebind link");
        self.task = Some(tokio::spawn(forward(listener)));
    }
}

impl Drop for EngineLink {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn forward(listener: tokio::net::TcpListener) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            continue;
        };
        conns.spawn(async move {
            if let Ok(mut unix) = tokio::net::UnixStream::connect("/var/run/docker.sock").await {
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut unix).await;
            }
        });
    }
}
