//! The log on stderr: text for people, coloured only when stderr is a terminal (and `NO_COLOR`
//! is unset), or one JSON object a line for log shippers. `live replay` is quiet by default:
//! the engine logs trips at error level with the wall clock's time, which has nothing to do
//! with the simulated history, so its Supervisor is silenced there unless `-v` is given.

use serde::Serialize;
use std::io::IsTerminal;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The target of the engine's trip and control-event lines.
pub const SUPERVISOR_TARGET: &str = "rustybt_actors::actors::supervisor";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line: `timestamp`, `level`, `target`, `fields` (with `message`),
    /// and `spans` when inside any.
    Json,
}

/// Who is logging, which decides the default filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogProfile {
    /// A service or an operator command: info and up.
    Service,
    /// A replay: warnings and up, and no Supervisor lines (their times are wall-clock).
    Replay,
}

/// The filter when `RUSTYBT_LOG` is unset: each `-v` one level more than the profile's default.
pub fn default_filter(profile: LogProfile, verbose: u8) -> String {
    const LEVELS: [&str; 4] = ["warn", "info", "debug", "trace"];
    let base = match profile {
        LogProfile::Replay => 0,
        LogProfile::Service => 1,
    };
    let level = LEVELS[(base + usize::from(verbose)).min(LEVELS.len() - 1)];
    if profile == LogProfile::Replay && verbose == 0 {
        format!("{level},{SUPERVISOR_TARGET}=off")
    } else {
        level.to_string()
    }
}

/// Installs the global subscriber. `RUSTYBT_LOG` (an `EnvFilter` directive) wins over the
/// default; an invalid one is reported and the default used.
pub fn init(format: LogFormat, profile: LogProfile, verbose: u8) {
    let default = default_filter(profile, verbose);
    let filter = match std::env::var("RUSTYBT_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("RUSTYBT_LOG: {spec:?} is not a log filter ({e}); using {default:?}");
            EnvFilter::new(&default)
        }),
        _ => EnvFilter::new(&default),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: a second call (tests in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour_on_stderr()).try_init(),
        LogFormat::Json => builder.with_ansi(false).event_format(JsonLines).try_init(),
    };
}

/// Escape codes only for a person at a terminal who has not asked for none.
fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal()
        && !matches!(std::env::var_os("NO_COLOR"), Some(v) if !v.is_empty())
}

/// One log line in JSON, field for field like tracing-subscriber's own JSON format.
#[derive(Serialize)]
struct LogLine<'a> {
    timestamp: String,
    level: &'a str,
    target: &'a str,
    fields: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    spans: Vec<&'static str>,
}

/// The event formatter of `--log-format json`.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        // Lines bridged from the `log` crate (sled) carry their real target as a field.
        let bridged = fields.0.remove("log.target");
        for bridge in ["log.module_path", "log.file", "log.line"] {
            fields.0.remove(bridge);
        }
        let spans = ctx
            .event_scope()
            .map(|scope| scope.from_root().map(|span| span.name()).collect())
            .unwrap_or_default();
        let line = LogLine {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            level: meta.level().as_str(),
            target: bridged
                .as_ref()
                .and_then(|t| t.as_str())
                .unwrap_or(meta.target()),
            fields: fields.0,
            spans,
        };
        let text = serde_json::to_string(&line).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// An event's fields as JSON values: numbers and booleans as such, the rest as text.
#[derive(Default)]
struct JsonFields(serde_json::Map<String, serde_json::Value>);

impl Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_default_filter_when_replay_then_quiet_unless_verbose() {
        assert_eq!(
            default_filter(LogProfile::Replay, 0),
            "warn,rustybt_actors::actors::supervisor=off"
        );
        assert_eq!(default_filter(LogProfile::Replay, 1), "info");
        assert_eq!(default_filter(LogProfile::Service, 0), "info");
        assert_eq!(default_filter(LogProfile::Service, 1), "debug");
        assert_eq!(default_filter(LogProfile::Service, 9), "trace");
    }
}
