//! The access log: one line per request in Traefik's Common Log Format (or JSON), written by a
//! dedicated task so the request path never touches a file. When the queue is full, lines are
//! dropped and counted rather than slowing requests down.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use tokio::sync::mpsc;

use config::{AccessLogConfig, AccessLogFormat};

/// Lines waiting for the writer before new ones are dropped.
const QUEUE: usize = 8192;

/// One finished request.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    pub client_host: String,
    /// The authenticated user, when basic or digest auth let the request through.
    pub client_username: String,
    #[serde(skip)]
    pub time: SystemTime,
    pub request_method: String,
    pub request_path: String,
    pub request_protocol: String,
    pub downstream_status: u16,
    pub downstream_content_size: u64,
    pub request_referer: String,
    pub request_user_agent: String,
    pub request_count: u64,
    pub frontend_name: String,
    pub backend_url: String,
    #[serde(rename = "Duration")]
    pub duration_ms: u64,
}

/// A handle the proxy clones into every request.
#[derive(Debug, Clone)]
pub struct AccessLog {
    tx: mpsc::Sender<Entry>,
    count: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
}

/// A line waiting for its response body to end.
#[derive(Debug)]
pub struct Pending {
    log: AccessLog,
    entry: Entry,
    started: Instant,
}

impl Pending {
    /// Records the authenticated user (the CLF's third field).
    pub fn with_user(mut self, user: Option<String>) -> Pending {
        self.entry.client_username = user.unwrap_or_default();
        self
    }

    pub fn finish(mut self, bytes: u64) {
        self.entry.downstream_content_size = bytes;
        self.entry.duration_ms = self.started.elapsed().as_millis() as u64;
        if self.log.tx.try_send(self.entry).is_err() {
            self.log.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl AccessLog {
    /// Opens the destination and starts the writer task.
    pub fn start(cfg: &AccessLogConfig) -> std::io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = match &cfg.file_path {
            Some(path) => Box::new(open(path)?),
            None => Box::new(std::io::stdout()),
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let format = cfg.format;
        let dropped = Arc::new(AtomicU64::new(0));
        let d = Arc::clone(&dropped);
        tokio::task::spawn_blocking(move || write_loop(rx, out, format, d));
        Ok(AccessLog {
            tx,
            count: Arc::new(AtomicU64::new(0)),
            dropped,
        })
    }

    /// Begins a line for a request that started at `started`.
    #[allow(clippy::too_many_arguments)]
    pub fn begin(
        &self,
        client: IpAddr,
        method: &str,
        path: &str,
        protocol: &str,
        status: u16,
        referer: &str,
        user_agent: &str,
        frontend: &str,
        backend_url: &str,
        started: Instant,
    ) -> Pending {
        Pending {
            log: self.clone(),
            started,
            entry: Entry {
                client_host: client.to_canonical().to_string(),
                client_username: String::new(),
                time: SystemTime::now(),
                request_method: method.to_string(),
                request_path: path.to_string(),
                request_protocol: protocol.to_string(),
                downstream_status: status,
                downstream_content_size: 0,
                request_referer: referer.to_string(),
                request_user_agent: user_agent.to_string(),
                request_count: self.count.fetch_add(1, Ordering::Relaxed) + 1,
                frontend_name: frontend.to_string(),
                backend_url: backend_url.to_string(),
                duration_ms: 0,
            },
        }
    }
}

fn open(path: &PathBuf) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
}

fn write_loop(
    mut rx: mpsc::Receiver<Entry>,
    out: Box<dyn Write + Send>,
    format: AccessLogFormat,
    dropped: Arc<AtomicU64>,
) {
    let mut out = std::io::BufWriter::new(out);
    let mut reported = 0;
    while let Some(e) = rx.blocking_recv() {
        let mut batch = vec![e];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        for e in &batch {
            let line = match format {
                AccessLogFormat::Common => common_line(e),
                AccessLogFormat::Json => serde_json::to_string(e).unwrap_or_default(),
            };
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
        let d = dropped.load(Ordering::Relaxed);
        if d != reported {
            tracing::warn!(
                "access log: {} lines dropped because the writer fell behind",
                d - reported
            );
            reported = d;
        }
    }
}

/// Traefik's CLF: `ip - user [time] "GET /p HTTP/1.1" 200 12 "ref" "ua" 1 "frontend" "backend" 3ms`.
pub fn common_line(e: &Entry) -> String {
    format!(
        "{} - {} [{}] \"{} {} {}\" {} {} \"{}\" \"{}\" {} \"{}\" \"{}\" {}ms",
        e.client_host,
        dash(&e.client_username),
        model::clock::clf_time(e.time),
        e.request_method,
        e.request_path,
        e.request_protocol,
        e.downstream_status,
        e.downstream_content_size,
        dash(&e.request_referer),
        dash(&e.request_user_agent),
        e.request_count,
        dash(&e.frontend_name),
        dash(&e.backend_url),
        e.duration_ms
    )
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_a_common_line() {
        let e = Entry {
            client_host: "127.0.0.1".into(),
            client_username: String::new(),
            time: UNIX_EPOCH + Duration::from_secs(971_186_136),
            request_method: "GET".into(),
            request_path: "/music/1".into(),
            request_protocol: "HTTP/1.1".into(),
            downstream_status: 200,
            downstream_content_size: 12,
            request_referer: String::new(),
            request_user_agent: "curl/8".into(),
            request_count: 7,
            frontend_name: "music".into(),
            backend_url: "http://10.0.0.2:80".into(),
            duration_ms: 3,
        };
        assert_eq!(
            common_line(&e),
            "127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] \"GET /music/1 HTTP/1.1\" 200 12 \"-\" \"curl/8\" 7 \"music\" \"http://10.0.0.2:80\" 3ms"
        );
    }
}
