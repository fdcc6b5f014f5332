//! Test DSL over real sockets: echo backends, a portier process started from its binary, and a
//! small HTTP client. Everything binds 127.0.0.1 on port 0.

// Each test binary uses part of the shared harness; what is pub here is its DSL.
#![allow(dead_code, unreachable_pub)]

pub mod docker;
pub mod load;
pub mod raw;
pub mod swarm;
pub mod tls;
pub mod toml;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

// === Bodies ===

/// A body that is either small and whole, or `remaining` bytes produced chunk by chunk.
#[derive(Debug)]
pub enum TestBody {
    Full(Option<Bytes>),
    Repeat {
        remaining: u64,
        chunk: Bytes,
    },
    /// Chunks as they arrive (a slow stream).
    Channel(tokio::sync::mpsc::Receiver<Bytes>),
}

impl TestBody {
    pub fn empty() -> TestBody {
        TestBody::Full(None)
    }
    pub fn text(s: impl Into<Bytes>) -> TestBody {
        TestBody::Full(Some(s.into()))
    }
    /// `len` bytes of `x`, streamed in 64 KiB chunks.
    pub fn streamed(len: u64) -> TestBody {
        TestBody::Repeat {
            remaining: len,
            chunk: Bytes::from(vec![b'x'; 64 * 1024]),
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(match &mut *self {
            TestBody::Channel(rx) => {
                return rx.poll_recv(cx).map(|c| c.map(|d| Ok(Frame::data(d))));
            }
            TestBody::Full(d) => d.take().map(|d| Ok(Frame::data(d))),
            TestBody::Repeat { remaining, chunk } => {
                if *remaining == 0 {
                    None
                } else {
                    let n = (*remaining).min(chunk.len() as u64) as usize;
                    *remaining -= n as u64;
                    Some(Ok(Frame::data(chunk.slice(..n))))
                }
            }
        })
    }
    fn size_hint(&self) -> SizeHint {
        match self {
            TestBody::Full(Some(d)) => SizeHint::with_exact(d.len() as u64),
            TestBody::Full(None) => SizeHint::with_exact(0),
            // Unknown length: forces chunked encoding, like a real streaming upload.
            TestBody::Repeat { .. } | TestBody::Channel(_) => SizeHint::default(),
        }
    }
}

// === Backends ===

/// What an echo backend saw, as it reports it in JSON.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Echo {
    pub name: String,
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, Vec<String>>,
}

impl Echo {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }
}

/// A real HTTP/1.1 server answering on 127.0.0.1 with its name and what it received.
///
/// Paths: `/slow/<ms>` waits before answering; `/download/<bytes>` streams that many bytes;
/// `/upload` answers the number of body bytes it read; `/hop` answers with hop-by-hop headers;
/// `/auth` is a forward-auth server (see `forward_auth`); `/jwks` answers what `set_jwks` set; `/status/<code>` answers that status
/// with the body `status <code>` and `X-From: backend`; `/encoded` and `/partial` answer 2000
/// bytes already `Content-Encoding: gzip`, or as a 206 with `Content-Range`; `/typed` answers
/// `<html>typed` as `application/x-test`; anything else echoes method, path and
/// headers as JSON.
pub struct Backend {
    pub name: String,
    pub addr: SocketAddr,
    healthy: Arc<std::sync::atomic::AtomicBool>,
    /// What `GET /jwks` answers.
    jwks: Arc<Mutex<String>>,
    /// `METHOD PATH` of each request but health probes, and `upload N` for each upload.
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    pub async fn spawn(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let addr = listener.local_addr().expect("addr");
        let n = name.to_string();
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let h = Arc::clone(&healthy);
        let jwks = Arc::new(Mutex::new(String::from("{\"keys\":[]}")));
        let j = Arc::clone(&jwks);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (n, h, j, s) = (n.clone(), Arc::clone(&h), Arc::clone(&j), Arc::clone(&s));
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        answer(
                            n.clone(),
                            Arc::clone(&h),
                            Arc::clone(&j),
                            Arc::clone(&s),
                            req,
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Backend {
            name: name.to_string(),
            addr,
            healthy,
            jwks,
            seen,
            task,
        }
    }

    /// What the backend was asked so far: `METHOD PATH` per request (health probes left
    /// out), and `upload N` once an upload's N body bytes are read.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// What `GET /jwks` answers from now on.
    pub fn set_jwks(&self, json: &str) {
        if let Ok(mut j) = self.jwks.lock() {
            *j = json.to_string();
        }
    }

    /// What `GET /health` answers: 200 when healthy, 503 when not.
    pub fn set_healthy(&self, healthy: bool) {
        self.healthy
            .store(healthy, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    name: String,
    healthy: Arc<std::sync::atomic::AtomicBool>,
    jwks: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<String>>>,
    req: Request<Incoming>,
) -> Result<Response<TestBody>, Infallible> {
    let path = req.uri().path().to_string();
    if path != "/health" {
        if let Ok(mut s) = seen.lock() {
            s.push(format!("{} {path}", req.method()));
        }
    }
    if path == "/jwks" {
        let body = jwks.lock().map(|j| j.clone()).unwrap_or_default();
        return Ok(Response::new(TestBody::text(body)));
    }
    if path == "/health" {
        let ok = healthy.load(std::sync::atomic::Ordering::Relaxed);
        let mut r = Response::new(TestBody::text(if ok { "ok" } else { "sick" }));
        if !ok {
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        }
        return Ok(r);
    }
    if let Some(secs) = path
        .strip_prefix("/stream/")
        .and_then(|s| s.parse::<u64>().ok())
    {
        // One chunk every 100 ms for `secs` seconds.
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        tokio::spawn(async move {
            for _ in 0..secs * 10 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if tx.send(Bytes::from_static(b"tick\n")).await.is_err() {
                    return;
                }
            }
        });
        return Ok(Response::new(TestBody::Channel(rx)));
    }
    if let Some(ms) = path.strip_prefix("/slow/").and_then(|s| s.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        return Ok(Response::new(TestBody::text(format!("slow {name}"))));
    }
    if let Some(len) = path.strip_prefix("/download/").and_then(|s| s.parse().ok()) {
        return Ok(Response::new(TestBody::streamed(len)));
    }
    if path == "/upload" {
        let mut body = req.into_body();
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(f) => total += f.data_ref().map_or(0, |d| d.len() as u64),
                Err(_) => break,
            }
        }
        if let Ok(mut s) = seen.lock() {
            s.push(format!("upload {total}"));
        }
        return Ok(Response::new(TestBody::text(total.to_string())));
    }
    if let Some(code) = path
        .strip_prefix("/status/")
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
    {
        let mut r = Response::new(TestBody::text(format!("status {}", code.as_u16())));
        *r.status_mut() = code;
        r.headers_mut()
            .insert("x-from", "backend".parse().expect("v"));
        return Ok(r);
    }
    if path == "/typed" {
        let mut r = Response::new(TestBody::text("<html>typed"));
        r.headers_mut()
            .insert("content-type", "application/x-test".parse().expect("v"));
        return Ok(r);
    }
    if path == "/encoded" || path == "/partial" {
        let mut r = Response::new(TestBody::text(vec![b'y'; 2000]));
        if path == "/encoded" {
            r.headers_mut()
                .insert("content-encoding", "gzip".parse().expect("v"));
        } else {
            *r.status_mut() = StatusCode::PARTIAL_CONTENT;
            r.headers_mut()
                .insert("content-range", "bytes 0-1999/9000".parse().expect("v"));
        }
        return Ok(r);
    }
    if path == "/auth" {
        return Ok(forward_auth(&req));
    }
    if path == "/hop" {
        let mut r = Response::new(TestBody::text("hop"));
        let h = r.headers_mut();
        h.insert("x-hop", "1".parse().expect("v"));
        h.insert("connection", "x-hop".parse().expect("v"));
        h.insert("proxy-authenticate", "Basic".parse().expect("v"));
        h.insert("x-kept", "yes".parse().expect("v"));
        return Ok(r);
    }
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in req.headers() {
        headers
            .entry(k.as_str().to_string())
            .or_default()
            .push(v.to_str().unwrap_or("?").to_string());
    }
    let echo = serde_json::json!({
        "name": name,
        "method": req.method().as_str(),
        "path": req.uri().path_and_query().map_or("/", |p| p.as_str()),
        "headers": headers,
    });
    Ok(Response::new(TestBody::text(echo.to_string())))
}

/// A forward-auth server's answers by the client's `X-Token` (which the proxy passes on):
/// `good` → 200 with `X-Auth-User: alice` and `X-Auth-Seen` (the method it was called with and
/// the `X-Forwarded-*` it received); `login` → 302 to a login page with two cookies; anything
/// else → 401 with a Bearer challenge and the body `no token`.
fn forward_auth(req: &Request<Incoming>) -> Response<TestBody> {
    let h = req.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("-");
    let mut r = match get("x-token") {
        "good" => {
            let seen = format!(
                "{} method={} uri={} host={} proto={} for={}",
                req.method(),
                get("x-forwarded-method"),
                get("x-forwarded-uri"),
                get("x-forwarded-host"),
                get("x-forwarded-proto"),
                get("x-forwarded-for"),
            );
            let mut r = Response::new(TestBody::text("ok"));
            r.headers_mut()
                .insert("x-auth-user", "alice".parse().expect("v"));
            if let Ok(v) = seen.parse() {
                r.headers_mut().insert("x-auth-seen", v);
            }
            r
        }
        "login" => {
            let mut r = Response::new(TestBody::text("go login"));
            *r.status_mut() = StatusCode::FOUND;
            let hm = r.headers_mut();
            hm.insert("location", "https://login.test/".parse().expect("v"));
            hm.append("set-cookie", "a=1".parse().expect("v"));
            hm.append("set-cookie", "b=2".parse().expect("v"));
            r
        }
        _ => {
            let mut r = Response::new(TestBody::text("no token"));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r.headers_mut().insert(
                "www-authenticate",
                "Bearer realm=\"test\"".parse().expect("v"),
            );
            r
        }
    };
    r.headers_mut()
        .insert("x-auth-server", "yes".parse().expect("v"));
    r
}

// === portier ===

/// A portier process started from the built binary with a TOML written to a temp dir.
pub struct Portier {
    child: Child,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub entry_points: BTreeMap<String, SocketAddr>,
    pub web: Option<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_portier")
}

impl Portier {
    /// Starts portier with `toml` (entrypoint addresses should be `127.0.0.1:0`) and waits
    /// until every entrypoint listens and the first configuration is applied.
    pub fn start(toml: &str) -> Portier {
        Portier::start_with(toml, &[], &[])
    }

    /// Like `start`, with extra files written beside the config and extra flags.
    pub fn start_with(toml: &str, files: &[(&str, &str)], args: &[&str]) -> Portier {
        Portier::start_env(toml, files, args, &[])
    }

    /// Like `start_with`, with extra environment variables.
    pub fn start_env(
        toml: &str,
        files: &[(&str, &str)],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Portier {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("traefik.toml");
        std::fs::write(&config, toml).expect("write config");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write file");
        }
        let mut all_args = vec!["-c".to_string(), config.display().to_string()];
        all_args.extend(args.iter().map(|a| a.to_string()));
        Portier::spawn(dir, config, &all_args, env)
    }

    /// Starts portier with the configuration file `name` (`traefik.yml`), extra files beside it
    /// and extra flags.
    pub fn start_named(name: &str, text: &str, files: &[(&str, &str)], args: &[&str]) -> Portier {
        Portier::start_named_env(name, text, files, args, &[])
    }

    /// Like `start_named`, with extra environment variables.
    pub fn start_named_env(
        name: &str,
        text: &str,
        files: &[(&str, &str)],
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Portier {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join(name);
        std::fs::write(&config, text).expect("write config");
        for (file, body) in files {
            std::fs::write(dir.path().join(file), body).expect("write file");
        }
        let mut all_args = vec!["-c".to_string(), config.display().to_string()];
        all_args.extend(args.iter().map(|a| a.to_string()));
        Portier::spawn(dir, config, &all_args, env)
    }

    /// Starts portier with no configuration file (its working directory is an empty temp dir),
    /// so it runs on the defaults it assumes; `args` and `env` as given.
    pub fn start_without_config(args: &[&str], env: &[(&str, &str)]) -> Portier {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("traefik.toml");
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Portier::spawn(dir, config, &args, env)
    }

    fn spawn(
        dir: tempfile::TempDir,
        config: PathBuf,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Portier {
        let mut child = Command::new(binary())
            .current_dir(dir.path())
            .arg("--logLevel=DEBUG")
            .arg("--ready-file")
            .arg(dir.path().join("ready.json"))
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start portier");
        let log = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    log.lock().expect("log").push(line);
                }
            });
        }
        let mut p = Portier {
            child,
            dir,
            config,
            entry_points: BTreeMap::new(),
            web: None,
            log,
        };
        p.wait_started();
        p
    }

    /// Waits for `--ready-file`: every listener bound and the first configuration applied.
    /// The log is only read to explain a failure.
    fn wait_started(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let ready_file = self.dir.path().join("ready.json");
        loop {
            let ready = std::fs::read_to_string(&ready_file)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
            if let Some(ready) = ready {
                let addr = |v: &serde_json::Value| v.as_str().and_then(|a| a.parse().ok());
                for (name, a) in ready["entryPoints"].as_object().into_iter().flatten() {
                    if let Some(a) = addr(a) {
                        self.entry_points.insert(name.clone(), a);
                    }
                }
                self.web = addr(&ready["web"]);
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "portier exited with {status} before starting:\n{}",
                    self.log_lines().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "portier did not start in time:\n{}",
                self.log_lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The address entrypoint `name` was bound to.
    pub fn entry_point(&self, name: &str) -> SocketAddr {
        self.entry_points[name]
    }

    pub fn http(&self) -> SocketAddr {
        self.entry_points["http"]
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal (`USR1`, `HUP`) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{name}");
    }

    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// Waits until a log line contains `needle`.
    pub async fn wait_log(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.log_lines().iter().rfind(|l| l.contains(needle)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}:\n{}",
                self.log_lines().join("\n")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Counts log lines containing `needle`.
    pub fn count_log(&self, needle: &str) -> usize {
        self.log_lines()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    /// `VmRSS` and `VmHWM` (peak) of the process, in KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("status");
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .expect("field")
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "portier did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Portier {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `portier check -c <file>` and returns (exit code, stdout, stderr).
pub fn check(config: &Path) -> (i32, String, String) {
    let out = Command::new(binary())
        .arg("check")
        .arg("-c")
        .arg(config)
        .output()
        .expect("run check");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// === Client ===

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn echo(&self) -> Echo {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not an echo ({e}): {} {}", self.status, self.text()))
    }
}

pub fn client() -> Client<HttpConnector, TestBody> {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// Sends a request with `host` and extra headers through `addr`.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: TestBody,
) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = client()
        .request(req.body(body).expect("request"))
        .await
        .expect("response");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn get(addr: SocketAddr, host: &str, path: &str) -> Reply {
    send(addr, "GET", host, path, &[], TestBody::empty()).await
}

/// `get` that gives up after `limit` (a request may hang on a paused or stuck server).
pub async fn get_within(
    addr: SocketAddr,
    host: &str,
    path: &str,
    limit: Duration,
) -> Option<Reply> {
    tokio::time::timeout(limit, get(addr, host, path))
        .await
        .ok()
}

/// The lines of a file once it has at least `n` (a log written by another process).
pub async fn wait_file_lines(path: &Path, n: usize, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(String::from).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{}: {} lines after {within:?}, wanted {n}: {text}",
            path.display(),
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
