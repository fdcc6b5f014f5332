//! portier's own log (`[traefikLog]`): text lines, or one JSON object per line with logrus'
//! keys as Traefik writes them (`level`, `msg`, `time`, then the event's fields), to standard
//! error or to a file that `reopen` (SIGUSR1) closes and opens again for logrotate.

use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use config::{Config, LogFormat};

/// The log file, reopened in place on SIGUSR1.
#[derive(Debug)]
pub(crate) struct LogFile {
    path: PathBuf,
    file: RwLock<Arc<File>>,
}

impl LogFile {
    fn open(path: &Path) -> std::io::Result<LogFile> {
        Ok(LogFile {
            path: path.to_path_buf(),
            file: RwLock::new(Arc::new(dataplane::accesslog::open_append(path)?)),
        })
    }
}

impl portier::Reopen for LogFile {
    /// Closes the file and opens its path again (after logrotate renamed it).
    fn reopen(&self) {
        match dataplane::accesslog::open_append(&self.path) {
            Ok(f) => {
                if let Ok(mut slot) = self.file.write() {
                    *slot = Arc::new(f);
                }
                tracing::info!("traefikLog: reopened {}", self.path.display());
            }
            Err(e) => tracing::error!(
                "traefikLog: cannot reopen {}: {e}; still writing to the file it had open",
                self.path.display()
            ),
        }
    }
}

/// One event's writer: the file open when the event started.
pub(crate) struct FileWriter(Arc<File>);

impl std::io::Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

/// The shared handle the subscriber writes through.
#[derive(Clone)]
struct Shared(Arc<LogFile>);

impl<'a> MakeWriter<'a> for Shared {
    type Writer = FileWriter;

    fn make_writer(&'a self) -> FileWriter {
        let file = match self.0.file.read() {
            Ok(f) => Arc::clone(&f),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        FileWriter(file)
    }
}

/// Installs the subscriber; returns the file when the log goes to one (for SIGUSR1).
pub(crate) fn init(config: &Config) -> anyhow::Result<Option<Arc<LogFile>>> {
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
    let file = match &config.traefik_log_file {
        Some(path) => Some(Arc::new(LogFile::open(path).with_context(|| {
            format!("traefikLog.filePath: cannot open {}", path.display())
        })?)),
        None => None,
    };
    let json = config.traefik_log_format == LogFormat::Json;
    match (&file, json) {
        (Some(f), true) => builder
            .event_format(TraefikJson)
            .with_writer(Shared(Arc::clone(f)))
            .init(),
        (Some(f), false) => builder
            .with_ansi(false)
            .with_writer(Shared(Arc::clone(f)))
            .init(),
        (None, true) => builder
            .event_format(TraefikJson)
            .with_writer(std::io::stderr)
            .init(),
        (None, false) => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .init(),
    }
    Ok(file)
}

/// logrus' JSON formatter as Traefik uses it.
struct TraefikJson;

impl<S, N> FormatEvent<S, N> for TraefikJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let line = json_line(*event.metadata().level(), fields.0, chrono::Local::now());
        writeln!(writer, "{line}")
    }
}

fn json_line(
    level: tracing::Level,
    mut fields: Map<String, Value>,
    now: chrono::DateTime<chrono::Local>,
) -> String {
    let msg = fields.remove("message").unwrap_or_else(|| "".into());
    let level = match level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warning",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG | tracing::Level::TRACE => "debug",
    };
    fields.insert("level".into(), level.into());
    fields.insert("msg".into(), msg);
    fields.insert(
        "time".into(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
    );
    Value::Object(fields).to_string()
}

/// An event's fields as JSON values.
struct Fields(Map<String, Value>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.0.insert(field.name().to_string(), value.into());
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.insert(field.name().to_string(), value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_logrus_keys() {
        let mut fields = Map::new();
        fields.insert("message".into(), "health check: a is down".into());
        fields.insert("backend".into(), "web".into());
        let now = chrono::DateTime::<chrono::Utc>::from(std::time::UNIX_EPOCH)
            .with_timezone(&chrono::Local);
        let v: Value =
            serde_json::from_str(&json_line(tracing::Level::WARN, fields, now)).expect("json");
        assert_eq!(v["level"], "warning");
        assert_eq!(v["msg"], "health check: a is down");
        assert_eq!(v["backend"], "web");
        assert!(
            v["time"].as_str().is_some_and(|t| t.starts_with("19")),
            "{v}"
        );
    }
}
