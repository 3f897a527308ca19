//! What every breaker shares: its kind, its reset policy and the [`Trip`] it reports.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The breakers an engine runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerKind {
    /// Fall from the high-water mark.
    Drawdown,
    /// Loss since the session's open.
    DailyLoss,
    /// Orders inside a sliding window.
    OrderRate,
    /// Errors inside a sliding window.
    ErrorRate,
    /// No portfolio snapshot for too long during a session.
    StaleFeed,
    /// An operator's emergency stop.
    Manual,
}

impl BreakerKind {
    /// Every kind, in reporting order.
    pub const ALL: [BreakerKind; 6] = [
        BreakerKind::Drawdown,
        BreakerKind::DailyLoss,
        BreakerKind::OrderRate,
        BreakerKind::ErrorRate,
        BreakerKind::StaleFeed,
        BreakerKind::Manual,
    ];

    /// The name used by the API, metrics and alerts.
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerKind::Drawdown => "drawdown",
            BreakerKind::DailyLoss => "daily_loss",
            BreakerKind::OrderRate => "order_rate",
            BreakerKind::ErrorRate => "error_rate",
            BreakerKind::StaleFeed => "stale_feed",
            BreakerKind::Manual => "manual",
        }
    }
}

impl std::fmt::Display for BreakerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a tripped breaker returns to service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetPolicy {
    /// Only an operator's confirmed reset clears it.
    Manual,
    /// It clears by itself once its condition no longer holds.
    Auto,
}

/// A breaker's report that its limit was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    /// Which breaker.
    pub breaker: BreakerKind,
    /// When, by the engine's clock.
    pub at: DateTime<Utc>,
    /// The measured value (drawdown ratio, loss, count).
    pub value: Decimal,
    /// The limit it reached.
    pub limit: Decimal,
    /// Named figures for alerts and the audit trail, decimals as strings.
    pub details: BTreeMap<String, String>,
    /// One line a person can read.
    pub summary: String,
}

/// A breaker's current reading, for status pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerReading {
    /// Which breaker.
    pub breaker: BreakerKind,
    /// Whether it is switched on.
    pub enabled: bool,
    /// Whether it has the input it needs to judge (fail closed until it has).
    pub ready: bool,
    /// Its measured value, when it has one.
    pub value: Option<Decimal>,
    /// Its limit, when it has one.
    pub limit: Option<Decimal>,
    /// Extra figures (per error kind, session date...).
    pub details: BTreeMap<String, String>,
}
