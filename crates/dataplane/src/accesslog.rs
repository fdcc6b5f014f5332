//! The access log: one line per request in Traefik's Common Log Format or as Traefik 1.7's JSON
//! object (its field names, durations in nanoseconds, headers as `request_*`, `origin_*` and
//! `downstream_*`), filtered and trimmed as `[accessLog.filters]` and `[accessLog.fields]` ask.
//! Lines are formatted and written by a dedicated thread so the request path never touches a
//! file; when its queue is full, lines are dropped and counted rather than slowing requests.
//! `reopen` (SIGUSR1) closes and reopens the file for logrotate.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, Method, Request, header};
use serde_json::{Map, Value};
use tokio::sync::mpsc;

use config::{AccessLogConfig, AccessLogFields, AccessLogFilters, AccessLogFormat, HeaderMode};

/// Lines waiting for the writer before new ones are dropped, unless `bufferingSize` says more.
const QUEUE: usize = 8192;

/// What the request said, taken when it arrived.
#[derive(Debug)]
pub struct Arrival {
    start: SystemTime,
    started: Instant,
    client: SocketAddr,
    /// `X-Forwarded-For` as received, when the entrypoint trusts the peer's forwarded headers
    /// (Traefik then logs it as `ClientHost`).
    forwarded_for: Option<String>,
    method: Method,
    path: String,
    protocol: &'static str,
    host: String,
    referer: String,
    user_agent: String,
    /// Every request header, only when a JSON line can show one.
    headers: Option<HeaderMap>,
}

/// How portier answered: routing, the backend's answer, and the status sent.
#[derive(Debug, Default)]
pub struct Outcome {
    pub frontend: String,
    pub backend: String,
    /// The server's URL with the path it was sent (Traefik 1.7's `BackendURL`).
    pub backend_url: String,
    pub backend_addr: String,
    pub username: Option<String>,
    /// Tries beyond the first.
    pub retries: u32,
    pub origin: Option<Origin>,
    /// Request body bytes read from the client.
    pub request_bytes: Option<Arc<AtomicU64>>,
    pub status: u16,
    /// The response headers sent, when a JSON line can show one.
    pub headers: Option<HeaderMap>,
}

/// The backend's answer.
#[derive(Debug)]
pub struct Origin {
    pub status: u16,
    /// When the (last) attempt was sent.
    pub sent: Instant,
    pub headers: Option<HeaderMap>,
}

/// One finished request.
#[derive(Debug)]
struct Entry {
    arrival: Arrival,
    outcome: Outcome,
    request_bytes: u64,
    duration: Duration,
    origin_duration: Option<Duration>,
    /// Body bytes as the backend sent them (before compression).
    origin_bytes: u64,
    /// Body bytes sent to the client.
    bytes: u64,
    count: u64,
}

enum Msg {
    Line(Box<Entry>),
    Reopen,
}

/// A handle the proxy clones into every request.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: mpsc::Sender<Msg>,
    count: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    /// Whether lines can carry headers (JSON, and a header mode other than drop).
    headers: bool,
}

/// A line waiting for its response body to end.
#[derive(Debug)]
pub struct Pending {
    log: AccessLog,
    arrival: Arrival,
    outcome: Outcome,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Msg::Line(_) => f.write_str("Line"),
            Msg::Reopen => f.write_str("Reopen"),
        }
    }
}

impl Pending {
    /// `bytes` sent to the client; `origin_bytes` as the backend sent them.
    pub fn finish(self, bytes: u64, origin_bytes: u64) {
        let now = Instant::now();
        let entry = Entry {
            duration: now.duration_since(self.arrival.started),
            origin_duration: self
                .outcome
                .origin
                .as_ref()
                .map(|o| now.duration_since(o.sent)),
            request_bytes: self
                .outcome
                .request_bytes
                .as_ref()
                .map_or(0, |b| b.load(Ordering::Relaxed)),
            arrival: self.arrival,
            outcome: self.outcome,
            origin_bytes,
            bytes,
            count: self.log.count.fetch_add(1, Ordering::Relaxed) + 1,
        };
        if self.log.tx.try_send(Msg::Line(Box::new(entry))).is_err() {
            self.log.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl AccessLog {
    /// Opens the destination and starts the writer thread.
    pub fn start(cfg: &AccessLogConfig) -> std::io::Result<AccessLog> {
        let out = Output::open(cfg.file_path.clone())?;
        let queue = if cfg.buffering_size > 0 {
            cfg.buffering_size
        } else {
            QUEUE
        };
        let (tx, rx) = mpsc::channel(queue);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer {
            format: cfg.format,
            filters: cfg.filters.clone(),
            fields: cfg.fields.clone(),
            dropped: Arc::clone(&dropped),
        };
        tokio::task::spawn_blocking(move || writer.run(rx, out));
        Ok(AccessLog {
            tx,
            count: Arc::new(AtomicU64::new(0)),
            dropped,
            headers: cfg.format == AccessLogFormat::Json && cfg.fields.any_header(),
        })
    }

    /// Whether the proxy should keep header maps for the line.
    pub fn wants_headers(&self) -> bool {
        self.headers
    }

    /// Closes and reopens the file (after logrotate moved it); lines queued before are
    /// written to the old file.
    pub async fn reopen(&self) {
        let _ = self.tx.send(Msg::Reopen).await;
    }

    /// Takes what the line needs from the request as it arrives.
    pub fn arrive<B>(
        &self,
        req: &Request<B>,
        client: SocketAddr,
        trust_forwarded: bool,
        started: Instant,
    ) -> Arrival {
        let h = |name| header_text(req.headers(), name);
        Arrival {
            start: SystemTime::now(),
            started,
            client,
            forwarded_for: trust_forwarded
                .then(|| h(header::HeaderName::from_static("x-forwarded-for")))
                .filter(|v| !v.is_empty()),
            method: req.method().clone(),
            path: req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_string(),
            protocol: version_str(req.version()),
            host: req
                .headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .or_else(|| req.uri().authority().map(|a| a.as_str()))
                .unwrap_or("")
                .to_string(),
            referer: h(header::REFERER),
            user_agent: h(header::USER_AGENT),
            headers: self.headers.then(|| req.headers().clone()),
        }
    }

    /// The line for a request answered with `outcome`, written when its body ends.
    pub fn begin(&self, arrival: Arrival, outcome: Outcome) -> Pending {
        Pending {
            log: self.clone(),
            arrival,
            outcome,
        }
    }
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn version_str(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_09 => "HTTP/0.9",
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        http::Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// Standard output, or a file that can be reopened.
enum Output {
    Stdout(std::io::BufWriter<std::io::Stdout>),
    File {
        path: PathBuf,
        out: std::io::BufWriter<std::fs::File>,
    },
}

impl Output {
    fn open(path: Option<PathBuf>) -> std::io::Result<Output> {
        Ok(match path {
            None => Output::Stdout(std::io::BufWriter::new(std::io::stdout())),
            Some(path) => Output::File {
                out: std::io::BufWriter::new(open_append(&path)?),
                path,
            },
        })
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File { out, .. } => out,
        }
    }

    fn reopen(&mut self) {
        let Output::File { path, out } = self else {
            return;
        };
        let _ = out.flush();
        match open_append(path) {
            Ok(f) => {
                *out = std::io::BufWriter::new(f);
                tracing::info!("access log: reopened {}", path.display());
            }
            Err(e) => tracing::error!(
                "access log: cannot reopen {}: {e}; still writing to the file it had open",
                path.display()
            ),
        }
    }
}

/// Opens `path` for appending, creating it and its folder (shared with portier's own log).
pub fn open_append(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

/// The writer thread's settings.
struct Writer {
    format: AccessLogFormat,
    filters: Option<AccessLogFilters>,
    fields: AccessLogFields,
    dropped: Arc<AtomicU64>,
}

impl Writer {
    fn run(self, mut rx: mpsc::Receiver<Msg>, mut out: Output) {
        let mut reported = 0;
        let mut batch = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            for msg in batch.drain(..) {
                match msg {
                    Msg::Reopen => out.reopen(),
                    Msg::Line(e) => {
                        if let Some(line) = self.line(&e) {
                            let _ = writeln!(out.writer(), "{line}");
                        }
                    }
                }
            }
            let _ = out.writer().flush();
            let d = self.dropped.load(Ordering::Relaxed);
            if d != reported {
                tracing::warn!(
                    "access log: {} lines dropped because the writer fell behind",
                    d - reported
                );
                reported = d;
            }
        }
    }

    fn line(&self, e: &Entry) -> Option<String> {
        let keep = self
            .filters
            .as_ref()
            .is_none_or(|f| f.keep(e.outcome.status, e.outcome.retries, e.duration));
        if !keep {
            return None;
        }
        Some(match self.format {
            AccessLogFormat::Common => common_line(e, &self.fields),
            AccessLogFormat::Json => json_line(e, &self.fields, chrono::Local::now()),
        })
    }
}

/// Traefik's CLF: `ip - user [time] "GET /p HTTP/1.1" 200 12 "ref" "ua" 1 "frontend"
/// "backend" 3ms`; a dropped field shows as `-`.
fn common_line(e: &Entry, fields: &AccessLogFields) -> String {
    let kept = |name: &str, value: String| -> String {
        if fields.keep(name) && !value.is_empty() {
            value
        } else {
            "-".to_string()
        }
    };
    let header = |name: &str, value: &str| -> String {
        match fields.header(name) {
            HeaderMode::Keep if !value.is_empty() => value.to_string(),
            HeaderMode::Redact => "REDACTED".to_string(),
            _ => "-".to_string(),
        }
    };
    let time = if fields.keep("StartUTC") || fields.keep("StartLocal") {
        model::clock::clf_time(e.arrival.start)
    } else {
        "-".to_string()
    };
    let millis = if fields.keep("Duration") {
        e.duration.as_millis()
    } else {
        0
    };
    let a = &e.arrival;
    let o = &e.outcome;
    format!(
        "{} - {} [{time}] \"{} {} {}\" {} {} \"{}\" \"{}\" {} \"{}\" \"{}\" {millis}ms",
        kept("ClientHost", client_host(e)),
        kept("ClientUsername", o.username.clone().unwrap_or_default()),
        kept("RequestMethod", a.method.to_string()),
        kept("RequestPath", a.path.clone()),
        kept("RequestProtocol", a.protocol.to_string()),
        kept("DownstreamStatus", o.status.to_string()),
        kept("DownstreamContentSize", e.bytes.to_string()),
        header("referer", &a.referer),
        header("user-agent", &a.user_agent),
        kept("RequestCount", e.count.to_string()),
        kept("FrontendName", o.frontend.clone()),
        kept("BackendURL", o.backend_url.clone()),
    )
}

fn client_host(e: &Entry) -> String {
    e.arrival
        .forwarded_for
        .clone()
        .unwrap_or_else(|| e.arrival.client.ip().to_canonical().to_string())
}

/// Traefik 1.7's JSON line: logrus' `level`, `msg` and `time`, every kept field, and the kept
/// headers; keys sorted as Go's encoder writes a map.
fn json_line(e: &Entry, fields: &AccessLogFields, now: chrono::DateTime<chrono::Local>) -> String {
    let mut m = Map::new();
    let mut put = |name: &'static str, v: Value| {
        if fields.keep(name) {
            m.insert(name.to_string(), v);
        }
    };
    let a = &e.arrival;
    let o = &e.outcome;
    let start = chrono::DateTime::<chrono::Utc>::from(a.start);
    put("StartUTC", rfc3339_nano(&start));
    put(
        "StartLocal",
        rfc3339_nano(&start.with_timezone(&chrono::Local)),
    );
    put("Duration", nanos(e.duration));
    put("RequestCount", e.count.into());
    if !a.host.is_empty() {
        let (host, port) = split_host_port(&a.host);
        put("RequestAddr", a.host.clone().into());
        put("RequestHost", host.into());
        put("RequestPort", port.into());
    }
    put("RequestMethod", a.method.as_str().into());
    put("RequestPath", a.path.clone().into());
    put("RequestProtocol", a.protocol.into());
    put(
        "RequestLine",
        format!("{} {} {}", a.method, a.path, a.protocol).into(),
    );
    put("RequestContentSize", e.request_bytes.into());
    put("ClientAddr", a.client.to_string().into());
    put("ClientHost", client_host(e).into());
    put("ClientPort", a.client.port().to_string().into());
    put(
        "ClientUsername",
        o.username.clone().unwrap_or_else(|| "-".into()).into(),
    );
    if !o.frontend.is_empty() {
        put("FrontendName", o.frontend.clone().into());
    }
    if !o.backend.is_empty() {
        put("BackendName", o.backend.clone().into());
        put("BackendURL", o.backend_url.clone().into());
        put("BackendAddr", o.backend_addr.clone().into());
    }
    put("RetryAttempts", o.retries.into());
    let mut overhead = e.duration;
    if let (Some(origin), Some(took)) = (&o.origin, e.origin_duration) {
        put("OriginDuration", nanos(took));
        put("OriginStatus", origin.status.into());
        put("OriginStatusLine", status_line(origin.status).into());
        put("OriginContentSize", e.origin_bytes.into());
        overhead = e.duration.saturating_sub(took);
        if e.origin_bytes != e.bytes && e.bytes != 0 {
            put(
                "GzipRatio",
                Value::from(e.origin_bytes as f64 / e.bytes as f64),
            );
        }
    }
    put("Overhead", nanos(overhead));
    put("DownstreamStatus", o.status.into());
    put("DownstreamStatusLine", status_line(o.status).into());
    put("DownstreamContentSize", e.bytes.into());
    let headers = [
        ("request_", a.headers.as_ref()),
        (
            "origin_",
            o.origin.as_ref().and_then(|o| o.headers.as_ref()),
        ),
        ("downstream_", o.headers.as_ref()),
    ];
    for (prefix, map) in headers {
        for name in map.into_iter().flat_map(HeaderMap::keys) {
            let value = match fields.header(name.as_str()) {
                HeaderMode::Drop => continue,
                HeaderMode::Redact => "REDACTED".to_string(),
                HeaderMode::Keep => map
                    .and_then(|h| h.get(name))
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default(),
            };
            m.insert(
                format!("{prefix}{}", canonical_header(name.as_str())),
                value.into(),
            );
        }
    }
    m.insert("level".into(), "info".into());
    m.insert("msg".into(), "".into());
    m.insert(
        "time".into(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
    );
    Value::Object(m).to_string()
}

/// Go's `time.Time` in JSON: RFC 3339 with as many fraction digits as needed.
fn rfc3339_nano<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>) -> Value
where
    Tz::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        .into()
}

/// Go's `time.Duration` in JSON: nanoseconds.
fn nanos(d: Duration) -> Value {
    Value::from(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn status_line(status: u16) -> String {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("{status:03} {reason}")
}

/// `host:port` → (`host`, `port`); without a port, (`host`, `-`) as Traefik logs it.
fn split_host_port(addr: &str) -> (String, String) {
    let (host, port) = match addr.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (h, p.to_string())
        }
        _ => (addr, "-".to_string()),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (host.to_string(), port)
}

/// Go's canonical header form: `user-agent` → `User-Agent`.
fn canonical_header(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    let mut upper = true;
    for c in lower.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn entry() -> Entry {
        let started = Instant::now();
        let mut req_headers = HeaderMap::new();
        req_headers.insert(header::USER_AGENT, "curl/8".parse().expect("value"));
        req_headers.insert(header::AUTHORIZATION, "Basic eDp5".parse().expect("value"));
        let mut origin_headers = HeaderMap::new();
        origin_headers.insert(header::CONTENT_TYPE, "text/plain".parse().expect("value"));
        Entry {
            arrival: Arrival {
                start: UNIX_EPOCH + Duration::from_secs(971_186_136),
                started,
                client: "127.0.0.1:50000".parse().expect("addr"),
                forwarded_for: None,
                method: Method::GET,
                path: "/music/1?x=1".into(),
                protocol: "HTTP/1.1",
                host: "web.local:8000".into(),
                referer: String::new(),
                user_agent: "curl/8".into(),
                headers: Some(req_headers),
            },
            outcome: Outcome {
                frontend: "music".into(),
                backend: "b".into(),
                backend_url: "http://10.0.0.2:80/music/1?x=1".into(),
                backend_addr: "10.0.0.2:80".into(),
                username: None,
                retries: 1,
                origin: Some(Origin {
                    status: 200,
                    sent: started,
                    headers: Some(origin_headers),
                }),
                request_bytes: None,
                status: 200,
                headers: None,
            },
            request_bytes: 5,
            duration: Duration::from_millis(3),
            origin_duration: Some(Duration::from_micros(2500)),
            origin_bytes: 24,
            bytes: 12,
            count: 7,
        }
    }

    #[test]
    fn formats_a_common_line() {
        let e = entry();
        assert_eq!(
            common_line(&e, &AccessLogFields::default()),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /music/1?x=1 HTTP/1.1\" 200 12 \"-\" \"curl/8\" 7 \"music\" \"http://10.0.0.2:80/music/1?x=1\" 3ms"
        );
        let mut fields = AccessLogFields::default();
        fields.names.insert("FrontendName".into(), false);
        fields
            .headers
            .insert("user-agent".into(), HeaderMode::Redact);
        let line = common_line(&e, &fields);
        assert!(line.contains("\"REDACTED\" 7 \"-\""), "{line}");
    }

    #[test]
    fn formats_traefiks_json_fields() {
        let e = entry();
        let now = chrono::DateTime::<chrono::Utc>::from(UNIX_EPOCH).with_timezone(&chrono::Local);
        let v: Value =
            serde_json::from_str(&json_line(&e, &AccessLogFields::default(), now)).expect("json");
        assert_eq!(v["StartUTC"], "2000-10-10T13:55:36Z");
        assert_eq!(v["Duration"], 3_000_000, "nanoseconds");
        assert_eq!(v["OriginDuration"], 2_500_000);
        assert_eq!(v["Overhead"], 500_000);
        assert_eq!(v["RequestHost"], "web.local");
        assert_eq!(v["RequestPort"], "8000");
        assert_eq!(v["RequestAddr"], "web.local:8000");
        assert_eq!(v["RequestLine"], "GET /music/1?x=1 HTTP/1.1");
        assert_eq!(v["RequestContentSize"], 5);
        assert_eq!(v["ClientHost"], "127.0.0.1");
        assert_eq!(v["ClientPort"], "50000");
        assert_eq!(v["ClientUsername"], "-");
        assert_eq!(v["FrontendName"], "music");
        assert_eq!(v["BackendName"], "b");
        assert_eq!(v["BackendAddr"], "10.0.0.2:80");
        assert_eq!(v["OriginStatusLine"], "200 OK");
        assert_eq!(v["DownstreamContentSize"], 12);
        assert_eq!(v["GzipRatio"], 2.0);
        assert_eq!(v["RetryAttempts"], 1);
        assert_eq!(v["request_User-Agent"], "curl/8");
        assert_eq!(v["origin_Content-Type"], "text/plain");
        assert_eq!(v["level"], "info");
        assert!(v["time"].is_string());

        let mut fields = AccessLogFields {
            default_keep: false,
            ..AccessLogFields::default()
        };
        fields.names.insert("RequestHost".into(), true);
        fields.headers_default = HeaderMode::Drop;
        fields
            .headers
            .insert("authorization".into(), HeaderMode::Redact);
        let v: Value = serde_json::from_str(&json_line(&e, &fields, now)).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "RequestHost",
                "level",
                "msg",
                "request_Authorization",
                "time"
            ]
        );
        assert_eq!(v["request_Authorization"], "REDACTED");
    }

    #[test]
    fn splits_hosts_and_names_headers_as_go() {
        assert_eq!(split_host_port("a.local"), ("a.local".into(), "-".into()));
        assert_eq!(split_host_port("[::1]:80"), ("::1".into(), "80".into()));
        assert_eq!(canonical_header("x-forwarded-for"), "X-Forwarded-For");
    }
}
