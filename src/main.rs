//! The portier command: parses flags, loads traefik.toml, binds, installs signal handlers and
//! runs; `portier check` validates a configuration and prints what it resolves to.

mod logging;

/// jemalloc, with background purging (`.cargo/config.toml`): after a peak of connections or
/// large transfers the freed memory returns to the system within seconds, where glibc's malloc
/// kept it (bench/memory.sh and bench/RESULTS.md have the figures that chose it).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use config::Loaded;

/// Where Traefik 1.x looks for its file when `-c` is not given.
const CONFIG_SEARCH: [&str; 6] = [
    "/etc/traefik/traefik.toml",
    "/etc/traefik/traefik.yml",
    "/etc/traefik/traefik.yaml",
    "traefik.toml",
    "traefik.yml",
    "traefik.yaml",
];
/// Without a configuration file, the Docker provider is on when this socket exists.
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// `portier version` and `--version`: the version, the commit and the build date.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PORTIER_COMMIT"),
    ", built ",
    env!("PORTIER_BUILD_DATE"),
    ")"
);

/// What `--help` says of the flags clap does not list one by one.
const TRAEFIK_FLAGS: &str = "\
Traefik 1.7 flags: every traefik.toml key is a flag, and flags win over the file.
  Names are case-insensitive; booleans and sections need no value; lists are comma-separated:
    --api  --web.address=:8080  --docker  --docker.domain=docker.localhost
    --docker.exposedByDefault=false  --docker.watch  --defaultEntryPoints=http,https
    --logLevel=DEBUG  --file.filename=rules.toml  --accessLog.filePath=access.log
    --respondingTimeouts.readTimeout=30s  --forwardingTimeouts.dialTimeout=5s  --retry.attempts=2
  Entrypoints in Traefik's syntax (repeatable):
    --entryPoints='Name:http Address::80 Redirect.EntryPoint:https'
    --entryPoints='Name:https Address::443 TLS:/certs/a.crt,/certs/a.key CA:/certs/ca.pem'
  --SECTION=false switches a section off (--docker=false). A flag no key takes is an error.
  The README lists every key with its status.";

#[derive(Parser, Debug)]
#[command(
    name = "portier",
    version = VERSION,
    about = "A Traefik-style, Docker-label-driven reverse proxy",
    after_help = TRAEFIK_FLAGS
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
        /// Also print every key set in the file or by a flag, with where its value comes from
        /// (file:line:column, or the flag).
        #[arg(long = "show-origin")]
        show_origin: bool,
    },
    /// Ask a running portier's /ping (on the [web] address); exit 0 when it answers OK.
    /// For Docker HEALTHCHECK in images that have no curl.
    Healthcheck {
        #[command(flatten)]
        flags: Flags,
    },
    /// Print the Traefik 3 equivalent of a Traefik 1.x configuration: the static file as a
    /// traefik.yml, or (with --labels) a container's 1.x labels, read as KEY=VALUE lines on
    /// standard input: docker inspect -f '{{range $k,$v := .Config.Labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' web | portier migrate --labels --name web
    Migrate {
        #[command(flatten)]
        flags: Flags,
        /// Migrate labels read from standard input instead of the static configuration.
        #[arg(long)]
        labels: bool,
        /// The router's and service's name when `traefik.backend` does not give one.
        #[arg(long, default_value = "app")]
        name: String,
    },
    /// Print the version, the commit and the build date.
    Version,
    /// Print a shell completion script: `source <(portier completion bash)`.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The flags clap reads; every other `--flag` is Traefik's (see [`split_args`]).
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
    /// Once every listener is bound and the first configuration is applied, write the bound
    /// addresses to this file as JSON (for supervisors and tests; portier-only).
    #[arg(long = "ready-file", global = true)]
    ready_file: Option<PathBuf>,
}

/// Words that name a subcommand (never a flag's value).
const SUBCOMMANDS: [&str; 5] = ["check", "healthcheck", "migrate", "version", "completion"];
/// clap's long flags, by their lowercase spelling (Traefik's parser ignores case).
const CLAP_LONG: [(&str, &str, bool); 7] = [
    ("configfile", "configFile", true),
    ("ready-file", "ready-file", true),
    ("show-origin", "show-origin", false),
    // `portier migrate --labels --name web`.
    ("labels", "labels", false),
    ("name", "name", true),
    ("help", "help", false),
    ("version", "version", false),
];

/// Splits the command line into what clap reads (subcommands, `-c`/`--configFile`,
/// `--ready-file`, `--help`, `--version`) and Traefik's flags: every traefik.toml key as
/// `--key=value` or `--key value` (a value never starts with `-` nor names a subcommand),
/// read by [`config::flags`].
fn split_args(args: Vec<String>) -> (Vec<String>, Vec<config::flags::Flag>) {
    let mut clap = Vec::new();
    let mut traefik = Vec::new();
    let mut it = args.into_iter().peekable();
    if let Some(program) = it.next() {
        clap.push(program);
    }
    let takes_next = |next: Option<&String>| {
        next.is_some_and(|n| !n.starts_with('-') && !SUBCOMMANDS.contains(&n.as_str()))
    };
    while let Some(arg) = it.next() {
        let Some(body) = arg.strip_prefix("--").filter(|b| !b.is_empty()) else {
            clap.push(arg);
            continue;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (body.to_string(), None),
        };
        if let Some(&(_, canonical, has_value)) = CLAP_LONG
            .iter()
            .find(|(lower, _, _)| name.eq_ignore_ascii_case(lower))
        {
            match value {
                Some(v) => clap.push(format!("--{canonical}={v}")),
                None => {
                    clap.push(format!("--{canonical}"));
                    if has_value && let Some(v) = it.next() {
                        clap.push(v);
                    }
                }
            }
            continue;
        }
        let value = match value {
            Some(v) => Some(v),
            None if takes_next(it.peek()) => it.next(),
            None => None,
        };
        traefik.push(config::flags::Flag { name, value });
    }
    (clap, traefik)
}

fn main() -> ExitCode {
    let (args, traefik) = split_args(std::env::args().collect());
    let cli = Cli::parse_from(args);
    match cli.command {
        Some(Command::Check { flags, show_origin }) => {
            check(&merge(&cli.flags, &flags), &traefik, show_origin)
        }
        Some(Command::Healthcheck { flags }) => healthcheck(&merge(&cli.flags, &flags), &traefik),
        Some(Command::Migrate {
            flags,
            labels,
            name,
        }) => migrate(&merge(&cli.flags, &flags), &traefik, labels, &name),
        Some(Command::Version) => {
            println!("portier {VERSION}");
            ExitCode::SUCCESS
        }
        Some(Command::Completion { shell }) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "portier", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
        None => match serve(&cli.flags, &traefik) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("portier: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

fn migrate(flags: &Flags, traefik: &[config::flags::Flag], labels: bool, name: &str) -> ExitCode {
    if labels {
        let mut map = std::collections::BTreeMap::new();
        for line in std::io::stdin().lines().map_while(Result::ok) {
            if let Some((k, v)) = line.split_once('=') {
                map.insert(k.trim().to_string(), v.to_string());
            }
        }
        print!("{}", portier::migrate::labels(name, &map));
        return ExitCode::SUCCESS;
    }
    let resolved = load(flags, traefik).and_then(|(loaded, _, _)| config::resolve(&loaded));
    match resolved {
        Ok((config, _, _)) if config.generation.labels_v2 => {
            eprintln!("error: this configuration is already written for Traefik 2.x/3.x");
            ExitCode::from(2)
        }
        Ok((config, _, _)) => {
            print!("{}", portier::migrate::static_yaml(&config));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn merge(outer: &Flags, inner: &Flags) -> Flags {
    let mut f = inner.clone();
    if f.config_file.is_none() {
        f.config_file = outer.config_file.clone();
    }
    f
}

/// The configuration file with the command line's flags laid over it; without a file, the
/// defaults portier assumes are filled in too (and returned, to log).
fn load(
    flags: &Flags,
    traefik: &[config::flags::Flag],
) -> Result<(Loaded, Vec<String>, Vec<config::FlagOrigin>), config::ConfigError> {
    let path = flags
        .config_file
        .clone()
        .or_else(|| CONFIG_SEARCH.iter().map(PathBuf::from).find(|p| p.exists()));
    // A file or flags written for Traefik 2.x/3.x: no 1.x flags or assumed defaults apply.
    if let Some(loaded) = config::traefik_v2::try_load(path.as_deref(), traefik)? {
        return Ok((loaded, Vec::new(), Vec::new()));
    }
    let mut loaded = match path {
        Some(p) => config::load(&p)?,
        None => Loaded::default(),
    };
    let cwd = std::env::current_dir().unwrap_or_default();
    let from_flags = config::flags::parse(traefik, &cwd)?;
    let off = from_flags.disabled.clone();
    let origins = from_flags.origins.clone();
    config::apply_flags(&mut loaded.file, from_flags);
    if loaded.path.is_some() {
        return Ok((loaded, Vec::new(), origins));
    }
    let port = std::env::var(config::HTTP_PORT_ENV).ok();
    let assumed = config::assumed_defaults(
        &mut loaded.file,
        &off,
        Path::new(DOCKER_SOCKET).exists(),
        port.as_deref(),
    )?;
    Ok((loaded, assumed, origins))
}

fn serve(flags: &Flags, traefik: &[config::flags::Flag]) -> anyhow::Result<()> {
    let (loaded, assumed, _) = load(flags, traefik)?;
    let (config, inline, warnings) = config::resolve(&loaded)?;
    let log_file = logging::init(&config)?;
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
            reopen_log: log_file.map(|f| -> std::sync::Arc<dyn portier::Reopen> { f }),
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

fn check(flags: &Flags, traefik: &[config::flags::Flag], show_origin: bool) -> ExitCode {
    let (loaded, assumed, origins) = match load(flags, traefik) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    for line in &assumed {
        eprintln!("note: {line}");
    }
    let (config, inline, warnings) = match config::resolve(&loaded) {
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
    if show_origin {
        let file = loaded.path.as_deref().map(|p| (p, loaded.text.as_str()));
        println!("origins (everything else is a default):");
        for (key, origin) in config::origins(file, &origins) {
            println!("  {key}  <- {origin}");
        }
    }
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

fn healthcheck(flags: &Flags, traefik: &[config::flags::Flag]) -> ExitCode {
    use std::io::{Read, Write};
    let resolved = load(flags, traefik).and_then(|(l, _, _)| config::resolve(&l));
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
            "GET {}/ping HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
            web.path
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
