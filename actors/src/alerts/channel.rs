//! The alert and the interface every delivery channel (email, SMS, webhook) implements.

use crate::breaker::BreakerKind;
use crate::state_machine::EngineState;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// What happened, in the webhook payload's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertEventType {
    /// A breaker tripped.
    CircuitBreakerTripped,
    /// An operator halted trading.
    ManualHalt,
    /// A reset was requested.
    ResetRequested,
    /// A reset was confirmed.
    ResetConfirmed,
    /// `rustybt alerts test`.
    Test,
}

impl AlertEventType {
    /// The payload's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertEventType::CircuitBreakerTripped => "circuit_breaker_tripped",
            AlertEventType::ManualHalt => "manual_halt",
            AlertEventType::ResetRequested => "reset_requested",
            AlertEventType::ResetConfirmed => "reset_confirmed",
            AlertEventType::Test => "test",
        }
    }
}

/// One alert, ready for every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// Unique id: the webhook-id, and the key that ties delivery records together.
    pub id: String,
    /// What happened.
    pub event_type: AlertEventType,
    /// The strategy.
    pub strategy_name: String,
    /// The breaker concerned (`manual` for operator actions).
    pub circuit_breaker_type: BreakerKind,
    /// Figures, decimals as strings.
    pub details: BTreeMap<String, String>,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// One line a person can read.
    pub summary: String,
    /// The engine state after the event.
    pub state: EngineState,
    /// Alerts for this breaker held back by the rate limit since the last one sent.
    pub suppressed_since_last: u64,
}

impl Alert {
    /// The webhook body of API.md (extra fields are allowed by the contract).
    pub fn payload(&self) -> serde_json::Value {
        serde_json::json!({
            "event_type": self.event_type.as_str(),
            "strategy_name": self.strategy_name,
            "circuit_breaker_type": self.circuit_breaker_type.as_str(),
            "details": self.details,
            "timestamp": self.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "state": self.state.as_str(),
            "summary": self.summary,
            "suppressed_alerts": self.suppressed_since_last,
        })
    }

    /// A subject line: `[TRIPPED] momentum: drawdown -10.42% <= -10%`.
    pub fn subject(&self) -> String {
        format!(
            "[{}] {}: {}",
            self.state.as_str(),
            self.strategy_name,
            self.summary
        )
    }
}

/// Why a delivery attempt failed. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeliveryError {
    /// The destination answered with an error or could not be reached; worth retrying.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help (refused by policy, bad configuration, 4xx).
    #[error("{0}")]
    Permanent(String),
    /// No answer in time.
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
}

/// A way to reach people: email, SMS, webhook.
pub trait AlertChannel: Send + Sync + 'static {
    /// A short name for logs and metrics: `email`, `sms`, `webhook:hooks.slack.com`.
    fn name(&self) -> String;
    /// Delivers one alert once (the dispatcher handles timeouts and retries).
    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), DeliveryError>>;
}
