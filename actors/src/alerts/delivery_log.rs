//! What happened to each alert on each channel.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The outcome of one alert on one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Delivered.
    Sent,
    /// Every attempt failed, or a permanent error.
    Failed,
    /// Held back by the per-breaker rate limit; counted into the next alert sent.
    Suppressed,
    /// Dropped because the queue was full; counted, never silent.
    Dropped,
}

impl DeliveryStatus {
    /// The name used in status and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Suppressed => "suppressed",
            DeliveryStatus::Dropped => "dropped",
        }
    }
}

/// One line of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The alert's id.
    pub alert_id: String,
    /// What the alert was about.
    pub event_type: String,
    /// The breaker.
    pub breaker: String,
    /// The channel (`*` for suppressed or dropped alerts, which reach none).
    pub channel: String,
    /// The outcome.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// From the first attempt to the outcome, in milliseconds.
    pub latency_ms: u64,
    /// The last error, if any (never a secret).
    pub error: Option<String>,
    /// When the outcome was known.
    pub at: DateTime<Utc>,
}
