//! Request bodies: what a caller sends to the halt, reset, order-done, prices and heartbeat endpoints.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustybt_actors::pretrade::DoneStatus;
use serde::{Deserialize, Serialize};

/// `POST .../halt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaltRequest {
    /// Recorded in the audit trail and sent in the alert.
    pub operator: String,
    /// Recorded in the audit trail, also when the strategy was halted already.
    pub reason: String,
}

/// `POST .../reset`: the first step of a reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Recorded in the audit trail.
    pub operator: String,
    /// Recorded in the audit trail when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST .../reset/confirm`: the second step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmResetRequest {
    /// Recorded in the audit trail; may differ from the one who asked.
    pub operator: String,
    /// The `confirmation_token` of the [`ResetTicket`] the request answered.
    pub confirmation_token: String,
    /// Make the current portfolio value the drawdown breaker's new high-water mark.
    #[serde(default)]
    pub rebase_high_water_mark: bool,
}

/// `POST /api/v1/halt`: a firm-wide halt, or a desk's with `desk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmHaltRequest {
    /// Recorded in every strategy's audit trail.
    pub operator: String,
    /// Recorded in every strategy's audit trail.
    pub reason: String,
    /// Halt this desk's strategies only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
}

/// `DELETE /api/v1/firm/hosts/{host_id}`: removes a decommissioned host from the firm's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmRemoveHostRequest {
    /// Recorded in every strategy's audit trail.
    pub operator: String,
}

/// `POST /api/v1/reset`: the first step of a firm reset (a desk's with `desk`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmResetRequest {
    /// Who asks.
    pub operator: String,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Lift this desk's halt only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
}

/// `POST /api/v1/reset/confirm`: the second step of a firm reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmConfirmRequest {
    /// Who confirms.
    pub operator: String,
    /// The token the request answered.
    pub confirmation_token: String,
}

/// `POST .../orders/{order_id}/done`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderDoneRequest {
    /// `cancelled`, `expired` or `rejected`.
    pub status: DoneStatus,
    /// When it ended, when the host knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// One price in `POST .../prices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetPrice {
    /// Instrument identifier.
    pub asset: String,
    /// The price, positive.
    pub price: Decimal,
}

/// `POST .../prices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricesRequest {
    /// When the prices were observed.
    pub timestamp: DateTime<Utc>,
    /// The prices.
    pub prices: Vec<AssetPrice>,
}

/// `POST .../heartbeat`: `{}` or `{"timestamp"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    /// The host's time, when it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}
