//! The portier command: parses flags, loads traefik.toml, binds, installs signal handlers and
//! runs; `portier check` validates a configuration and prints what it resolves to.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use config::{Config, Loaded, Overrides};

/// Where Traefik 1.x looks for its file when `-c` is not given.
const CONFIG_SEARCH: [&str; 2] = ["/etc/traefik/traefik.toml", "traefik.toml"];
/// Without a configuration file, the Docker provider is on when this socket exists.
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

#[derive(Parser, Debug)]
#[command(
    name = "portier",
    version,
    about = "A Traefik-style, Docker-label-driven reverse proxy"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    flags: Flags,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a configuration and print what it resolves to; exit 0 when valid, 2 when not.
    Check {
        #[command(flatten)]
        flags: Flags,
    },
    /// Ask a running portier's /ping (on the [web] address); exit 0 when it answers OK.
    /// For Docker HEALTHCHECK in images that have no curl.
    Healthcheck {
        #[command(flatten)]
        flags: Flags,
    },
}

#[derive(Args, Debug, Clone, Default)]
struct Flags {
    /// traefik.toml to read (default: /etc/traefik/traefik.toml, then ./traefik.toml).
    #[arg(
        short = 'c',
        long = "configFile",
        env = "PORTIER_CONFIG",
        global = true
    )]
    config_file: Option<PathBuf>,
    /// DEBUG, INFO, WARN or ERROR.
    #[arg(long = "logLevel", global = true)]
    log_level: Option<String>,
    /// Same as logLevel=DEBUG.
    #[arg(long, global = true)]
    debug: bool,
    /// Comma-separated entrypoint names for frontends that name none.
    #[arg(long = "defaultEntryPoints", value_delimiter = ',', global = true)]
    default_entry_points: Option<Vec<String>>,
    /// An entrypoint, `NAME=ADDRESS` or Traefik's `Name:http Address::80`; repeatable.
    #[arg(long = "entryPoints", global = true)]
    entry_points: Vec<String>,
    /// Address of the dashboard and API.
    #[arg(long = "web.address", global = true)]
    web_address: Option<String>,
    /// Enable the Docker provider with its defaults.
    #[arg(long = "docker", global = true)]
    docker: bool,
    #[arg(long = "docker.endpoint", global = true)]
    docker_endpoint: Option<String>,
    #[arg(long = "docker.domain", global = true)]
    docker_domain: Option<String>,
    #[arg(long = "docker.watch", global = true)]
    docker_watch: Option<bool>,
    #[arg(long = "docker.exposedByDefault", global = true)]
    docker_exposed_by_default: Option<bool>,
    /// Serve frontends and backends from this TOML file (the `[file]` provider).
    #[arg(long = "file.filename", global = true)]
    file_filename: Option<String>,
    /// Write the access log to this file ("" for standard output).
    #[arg(long = "accessLog.filePath", global = true)]
    access_log_file: Option<String>,
    /// Once every listener is bound and the first configuration is applied, write the bound
    /// addresses to this file as JSON (for supervisors and tests; portier-only).
    #[arg(long = "ready-file", global = true)]
    ready_file: Option<PathBuf>,
}

impl Flags {
    fn overrides(&self) -> Overrides {
        Overrides {
            log_level: self.log_level.clone(),
            debug: self.debug.then_some(true),
            default_entry_points: self.default_entry_points.clone(),
            entry_points: self.entry_points.clone(),
            web_address: self.web_address.clone(),
            docker: self.docker.then_some(true),
            docker_endpoint: self.docker_endpoint.clone(),
            docker_domain: self.docker_domain.clone(),
            docker_watch: self.docker_watch,
            docker_exposed_by_default: self.docker_exposed_by_default,
            file_filename: self.file_filename.clone(),
            access_log_file: self.access_log_file.clone(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Check { flags }) => check(&merge(&cli.flags, &flags)),
        Some(Command::Healthcheck { flags }) => healthcheck(&merge(&cli.flags, &flags)),
        None => match serve(&cli.flags) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("portier: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn merge(outer: &Flags, inner: &Flags) -> Flags {
    let mut f = inner.clone();
    if f.config_file.is_none() {
        f.config_file = outer.config_file.clone();
    }
    f
}

fn load(flags: &Flags) -> Result<Loaded, config::ConfigError> {
    let path = flags
        .config_file
        .clone()
        .or_else(|| CONFIG_SEARCH.iter().map(PathBuf::from).find(|p| p.exists()));
    match path {
        Some(p) => config::load(&p),
        None => Ok(Loaded::default()),
    }
}

/// The flags, with the defaults of a run without a configuration file filled in (and what was
/// assumed, to log).
fn overrides(flags: &Flags, loaded: &Loaded) -> (Overrides, Vec<String>) {
    if loaded.path.is_some() {
        return (flags.overrides(), Vec::new());
    }
    let port = std::env::var(config::HTTP_PORT_ENV).ok();
    config::assumed_defaults(
        &flags.overrides(),
        Path::new(DOCKER_SOCKET).exists(),
        port.as_deref(),
    )
}

fn serve(flags: &Flags) -> anyhow::Result<()> {
    let loaded = load(flags)?;
    let (over, assumed) = overrides(flags, &loaded);
    let (config, inline, warnings) = config::resolve(&loaded, &over)?;
    let _guard = init_logging(&config)?;
    if let Some(p) = &loaded.path {
        tracing::info!("configuration loaded from {}", p.display());
    }
    for line in &assumed {
        tracing::info!("{line}");
    }
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async move {
        let listeners = portier::bind(&config).await?;
        let inline = portier::Inline {
            dynamic: inline,
            text: loaded.text,
        };
        let options = portier::RunOptions {
            ready_file: flags.ready_file.clone(),
            config_warnings: warnings,
        };
        portier::run(config, inline, listeners, options, shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop portier with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
}

fn init_logging(config: &Config) -> anyhow::Result<Option<std::sync::Arc<std::fs::File>>> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!(
                "portier={0},{0}",
                config.log_level.as_filter()
            ))
        })
        .add_directive("hyper=warn".parse().context("log filter")?);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match &config.traefik_log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("traefikLog.filePath: cannot open {}", path.display()))?;
            let file = std::sync::Arc::new(file);
            builder
                .with_ansi(false)
                .with_writer(std::sync::Arc::clone(&file))
                .init();
            Ok(Some(file))
        }
        None => {
            builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_writer(std::io::stderr)
                .init();
            Ok(None)
        }
    }
}

fn check(flags: &Flags) -> ExitCode {
    let loaded = match load(flags) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let (over, assumed) = overrides(flags, &loaded);
    for line in &assumed {
        eprintln!("note: {line}");
    }
    let (config, inline, warnings) = match config::resolve(&loaded, &over) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let source = loaded.path.as_deref().unwrap_or(Path::new("<defaults>"));
    let report = portier::check::run(&config, &inline, &loaded.text, source);
    print!("{}", report.text);
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if report.errors.is_empty() {
        println!("{}: configuration OK", source.display());
        ExitCode::SUCCESS
    } else {
        eprintln!("{}: configuration has errors", source.display());
        ExitCode::from(2)
    }
}

fn healthcheck(flags: &Flags) -> ExitCode {
    use std::io::{Read, Write};
    let resolved = load(flags).and_then(|l| config::resolve(&l, &overrides(flags, &l).0));
    let web = match resolved {
        Ok((c, _, _)) => c.web,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(web) = web else {
        eprintln!("error: no [web] address is configured, so there is no /ping to ask");
        return ExitCode::from(2);
    };
    let mut addr = web.address.socket;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let timeout = std::time::Duration::from_secs(3);
    let answer = (|| -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        write!(
            s,
            "GET /ping HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    })();
    match answer {
        Ok(a) if a.starts_with("HTTP/1.1 200") => {
            println!("OK");
            ExitCode::SUCCESS
        }
        Ok(a) => {
            eprintln!("unhealthy: {}", a.lines().next().unwrap_or(""));
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("unhealthy: cannot reach {addr}: {e}");
            ExitCode::from(1)
        }
    }
}
