//! The configuration contract of `../shared/CONFIG.md`: TOML with environment overrides, one
//! engine per `[[strategy]]`, profiles carrying the story's numbers. Validation collects every
//! problem at once and names each field and its value; nothing starts on a bad file.

pub mod alerts;
#[cfg(feature = "channels")]
pub mod channels;
mod firm;
mod market;
pub mod pre_trade;
pub mod reconciliation;
#[cfg(feature = "channels")]
pub mod start;
pub mod values;

pub use crate::breakers::daily_loss::DailyLossSection;
pub use crate::breakers::drawdown::DrawdownSection;
pub use crate::breakers::error_rate::ErrorRateSection;
pub use crate::breakers::host_silent::HostSilentSection;
pub use crate::breakers::order_rate::OrderRateSection;
pub use crate::breakers::pre_trade_denials::PreTradeBreakerSection;
pub use crate::breakers::stale_feed::StaleFeedSection;
pub use crate::breakers::BreakersSection;
pub use alerts::AlertsSection;
pub use firm::{
    BusLossPolicy, ClusterConfig, ClusterSection, FirmBreakersSection, FirmConfig, FirmSection,
};
pub use pre_trade::PreTradeSection;
pub use values::{DecimalValue, DurationValue};

use crate::rules::MarketSession;
use crate::settings::StrategySettings;
use chrono::NaiveTime;
use rust_decimal::Decimal;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A configuration that cannot be used: every problem found, one per line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid configuration{}:\n  {}", .source_name.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(), .problems.join("\n  "))]
pub struct ConfigError {
    /// The file, if one was read.
    pub source_name: Option<String>,
    /// Each problem, naming the field and the value.
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(problem: impl Into<String>) -> Self {
        Self {
            source_name: None,
            problems: vec![problem.into()],
        }
    }
}

/// Risk profiles from the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// −5% drawdown, −2% daily loss, 50 orders / 5 errors per minute.
    Conservative,
    /// −10% drawdown, −5% daily loss, 100 orders / 10 errors per minute.
    #[default]
    Moderate,
    /// −20% drawdown, −10% daily loss, 200 orders / 20 errors per minute.
    Aggressive,
}

impl Profile {
    /// (drawdown, daily loss fraction, max orders, max errors) per 60 s.
    pub fn numbers(self) -> (Decimal, Decimal, usize, usize) {
        match self {
            Profile::Conservative => (Decimal::new(-5, 2), Decimal::new(-2, 2), 50, 5),
            Profile::Moderate => (Decimal::new(-10, 2), Decimal::new(-5, 2), 100, 10),
            Profile::Aggressive => (Decimal::new(-20, 2), Decimal::new(-10, 2), 200, 20),
        }
    }

    /// The profile's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Conservative => "conservative",
            Profile::Moderate => "moderate",
            Profile::Aggressive => "aggressive",
        }
    }
}

/// `[engine]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// Where sled keeps the checkpoint.
    pub data_dir: Option<PathBuf>,
}

/// `[server]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address of the API, dashboard and metrics.
    pub bind: Option<String>,
}

/// `[strategy.market]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketSection {
    /// IANA time zone.
    pub timezone: Option<String>,
    /// Local open time, `HH:MM`.
    pub open: Option<String>,
    /// Local close time, `HH:MM` (default 16:00 with the default market; otherwise the
    /// session runs to local midnight). After it, no session: the stale-feed breaker rests.
    pub close: Option<String>,
    /// Dates with no session.
    pub holidays: Option<Vec<String>>,
    /// 24/7 markets: every day is one session from `open` to the next day's `open`;
    /// holidays still apply, `close` must not be given.
    pub always_open: Option<bool>,
}

/// `[[strategy]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategySection {
    /// The name.
    pub name: Option<String>,
    /// Preset.
    pub profile: Option<Profile>,
    /// Reduce-only orders pass while TRIPPED.
    pub reduce_only_when_tripped: Option<bool>,
    /// How long a reset request waits for its confirmation (default 300 s).
    pub reset_confirmation_ttl: Option<DurationValue>,
    /// How far ahead of the engine's clock a host timestamp may be (default 10 s).
    pub max_clock_skew: Option<DurationValue>,
    /// Market calendar.
    pub market: Option<MarketSection>,
    /// Breakers.
    pub circuit_breakers: Option<BreakersSection>,
    /// Pre-trade checks (absent: none).
    pub pre_trade: Option<PreTradeSection>,
    /// The desk label: the scope of desk-wide halts (`POST /api/v1/halt {"desk"}`).
    pub desk: Option<String>,
    /// `[strategy.reconciliation]`.
    pub reconciliation: Option<reconciliation::ReconciliationSection>,
}

/// The file as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[engine]`.
    pub engine: Option<EngineSection>,
    /// `[server]`.
    pub server: Option<ServerSection>,
    /// `[[strategy]]`.
    #[serde(default)]
    pub strategy: Vec<StrategySection>,
    /// `[alerts]`.
    pub alerts: Option<AlertsSection>,
    /// `[firm]`.
    pub firm: Option<FirmSection>,
    /// `[cluster]`.
    pub cluster: Option<ClusterSection>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The sled folder, absolute or relative to the working directory.
    pub data_dir: PathBuf,
    /// `[server] bind`.
    pub bind: String,
    /// One engine per strategy.
    pub strategies: Vec<StrategySettings>,
    /// `[alerts]`, with environment overrides applied.
    pub alerts: AlertsSection,
    /// The folder relative paths were resolved against.
    pub base_dir: PathBuf,
    /// `[firm]`, or the defaults without one.
    pub firm: FirmConfig,
    /// `[cluster]`; `None`: one host, nothing about the bus starts.
    pub cluster: Option<ClusterConfig>,
}

/// Where environment values come from: the process environment in production, a map in tests.
pub trait Env {
    /// The variable's value, if set and not empty.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.is_empty())
    }
}

/// Keys that would hold a secret: refused in the TOML, with a pointer to the environment.
const SECRET_KEYS: &[&str] = &[
    "password",
    "smtp_password",
    "auth_token",
    "twilio_auth_token",
    "secret",
    "bearer_token",
    "token",
    "api_token",
];

fn find_secrets(value: &toml::Value, path: &str, out: &mut Vec<String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if SECRET_KEYS.contains(&k.as_str()) {
                    out.push(format!(
                        "{p}: secrets must not be written in the configuration file; set them in the environment or a .env file beside it"
                    ));
                } else {
                    find_secrets(v, &p, out);
                }
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                find_secrets(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The key on `line` (1-based) with its table, `strategy.pre_trade.max_position`: only the
/// text before the `=`, never the value, which may be a pasted secret.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?;
    let (key, _) = here.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') || key.contains('"') {
        return None;
    }
    let table = lines[..line - 1].iter().rev().find_map(|l| {
        let t = l.trim();
        t.strip_prefix("[[")
            .and_then(|t| t.strip_suffix("]]"))
            .or_else(|| t.strip_prefix('[').and_then(|t| t.strip_suffix(']')))
    });
    Some(match table {
        Some(t) => format!("{}.{key}", t.trim()),
        None => key.to_string(),
    })
}

/// The parser's complaint with its line and column, without quoting the line: a secret pasted
/// into a misnamed field would otherwise be echoed into logs and terminals.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            match key_at(text, line) {
                Some(key) => format!("line {line}, column {column} ({key}): {message}"),
                None => format!("line {line}, column {column}: {message}"),
            }
        }
        None => message.to_string(),
    }
}

impl Config {
    /// The embedded default: one moderate `demo` strategy, sled in `./data`, the API on
    /// 127.0.0.1:8080.
    pub fn embedded_default() -> Self {
        let mut demo = StrategySettings::moderate("demo");
        // The demo market opens every day at 00:00 UTC, weekends too, so a newcomer sees it work.
        demo.market = MarketSession::new(chrono_tz::UTC, NaiveTime::MIN, []).trading_every_day();
        // Pre-trade checks a newcomer sees at work: one share at a time, limits near the market.
        demo.pre_trade = crate::pretrade::PreTradeLimits {
            per_order: crate::pretrade::AssetLimits {
                max_order_quantity: Some(Decimal::from(5)),
                max_order_notional: Some(Decimal::from(5_000)),
                max_position: None,
                price_collar: Some(Decimal::new(5, 2)),
            },
            max_reference_age: Some(chrono::Duration::seconds(60)),
            max_open_orders: Some(50),
            duplicate_order_id: true,
            ..Default::default()
        };
        Self {
            data_dir: PathBuf::from("data"),
            bind: "127.0.0.1:8080".into(),
            strategies: vec![demo],
            alerts: AlertsSection::default(),
            base_dir: PathBuf::from("."),
            firm: FirmConfig {
                name: "default".into(),
                breakers: Default::default(),
            },
            cluster: None,
        }
    }

    /// Reads `path`, loading a `.env` beside it into the process environment first (values
    /// already set win), then applying the environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dotenv = base.join(".env");
        if dotenv.is_file() {
            dotenvy::from_path(&dotenv)
                .map_err(|e| ConfigError::one(format!("{}: {e}", dotenv.display())))?;
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::one(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(&text, &base, &ProcessEnv).map_err(|mut e| {
            e.source_name = Some(path.display().to_string());
            e
        })
    }

    /// Parses TOML text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path, env: &dyn Env) -> Result<Self, ConfigError> {
        let value: toml::Value =
            toml::from_str(text).map_err(|e| ConfigError::one(toml_problem(text, &e)))?;
        let mut problems = Vec::new();
        find_secrets(&value, "", &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError {
                source_name: None,
                problems,
            });
        }
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::one(toml_problem(text, &e)))?;
        Self::from_file(file, base, env)
    }

    /// Validates a parsed file.
    pub fn from_file(file: ConfigFile, base: &Path, env: &dyn Env) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let data_dir = file
            .engine
            .as_ref()
            .and_then(|e| e.data_dir.clone())
            .unwrap_or_else(|| PathBuf::from("data"));
        let data_dir = if data_dir.is_absolute() {
            data_dir
        } else {
            base.join(data_dir)
        };
        let bind = file
            .server
            .as_ref()
            .and_then(|s| s.bind.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        if bind.parse::<std::net::SocketAddr>().is_err() {
            problems.push(format!(
                "server.bind: {bind:?} is not an address like 127.0.0.1:8080"
            ));
        }
        if file.strategy.is_empty() {
            problems.push("strategy: at least one [[strategy]] is required".into());
        }
        let mut strategies = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, s) in file.strategy.iter().enumerate() {
            if let Some(settings) = strategy_settings(i, s, &mut problems) {
                if !names.insert(settings.name.clone()) {
                    problems.push(format!(
                        "strategy[{i}].name: {:?} is used twice",
                        settings.name
                    ));
                }
                strategies.push(settings);
            }
        }
        let mut alerts = file.alerts.unwrap_or_default();
        if let Some(ca) = alerts.email.as_mut().and_then(|e| e.ca_file.as_mut()) {
            if ca.is_relative() {
                *ca = base.join(&*ca);
            }
        }
        alerts.apply_env(env);
        alerts.validate(&mut problems);
        if let Some(max) = alerts.max_per_breaker_per_hour {
            for s in &mut strategies {
                s.alerts.max_per_breaker_per_hour = max as usize;
            }
        }
        let firm = firm::firm_config(file.firm.as_ref(), &strategies, &mut problems);
        let cluster = file
            .cluster
            .as_ref()
            .map(|c| firm::cluster_config(c, env, &mut problems));
        if !problems.is_empty() {
            return Err(ConfigError {
                source_name: None,
                problems,
            });
        }
        Ok(Self {
            data_dir,
            bind,
            strategies,
            alerts,
            base_dir: base.to_path_buf(),
            firm,
            cluster: cluster.flatten(),
        })
    }

    /// The strategy named `name`.
    pub fn strategy(&self, name: &str) -> Option<&StrategySettings> {
        self.strategies.iter().find(|s| s.name == name)
    }
}

fn strategy_settings(
    i: usize,
    s: &StrategySection,
    problems: &mut Vec<String>,
) -> Option<StrategySettings> {
    let at = |field: &str| format!("strategy[{i}].{field}");
    let before = problems.len();
    let name = match &s.name {
        Some(n) if is_valid_name(n) => n.clone(),
        Some(n) => {
            problems.push(format!(
                "{}: {n:?} must be 1-64 letters, digits, '-' or '_'",
                at("name")
            ));
            String::new()
        }
        None => {
            problems.push(format!("{}: missing", at("name")));
            String::new()
        }
    };
    let mut out = StrategySettings::moderate(name);
    strategy_basics(s, &at, &mut out, problems);
    if let Some(market) = market::market_session(s.market.as_ref(), &at("market"), problems) {
        out.market = market;
    }
    out.breakers = s.circuit_breakers.clone().unwrap_or_default().settle(
        s.profile.unwrap_or_default(),
        &at("circuit_breakers"),
        problems,
    );
    if let Some(p) = &s.pre_trade {
        out.pre_trade = pre_trade::limits(p, &at("pre_trade"), problems);
    }
    out.reconciliation = s
        .reconciliation
        .as_ref()
        .and_then(|r| reconciliation::settings(r, &at("reconciliation"), problems));
    (problems.len() == before).then_some(out)
}

/// The strategy's own keys: desk, reduce-only while tripped, the reset confirmation's life
/// and the clock skew allowed.
fn strategy_basics(
    s: &StrategySection,
    at: &dyn Fn(&str) -> String,
    out: &mut StrategySettings,
    problems: &mut Vec<String>,
) {
    match &s.desk {
        Some(d) if is_valid_name(d) => out.desk = Some(d.clone()),
        Some(d) => problems.push(format!(
            "{}: {d:?} must be 1-64 letters, digits, '-' or '_'",
            at("desk")
        )),
        None => {}
    }
    out.reduce_only_when_tripped = s.reduce_only_when_tripped.unwrap_or(false);
    if let Some(ttl) = &s.reset_confirmation_ttl {
        if let Some(d) = ttl.to_duration(&at("reset_confirmation_ttl"), problems) {
            out.reset_confirmation_ttl = d;
        }
    }
    if let Some(skew) = &s.max_clock_skew {
        if let Some(d) = skew.to_duration(&at("max_clock_skew"), problems) {
            out.max_clock_skew = d;
        }
    }
}

/// 1-64 letters, digits, '-' or '_'.
fn is_valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 64
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests;
