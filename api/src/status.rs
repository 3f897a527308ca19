//! A strategy's status (`GET /api/v1/strategies/{name}`) and its parts.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustybt_actors::alerts::DeliveryRecord;
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::decision::OrderRecord;
use rustybt_actors::domain::{ErrorKind, Fill};
use rustybt_actors::engine::{
    BreakerCondition, BreakerStatus, EngineStatus, LoggedError, PendingResetStatus,
    PortfolioStatus, PositionStatus, PreTradeStatus,
};
use rustybt_actors::pretrade::OpenOrder;
use rustybt_actors::state_machine::EngineState;
use rustybt_actors::supervision::ActorHealth;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One line of `GET /api/v1/strategies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategySummary {
    /// The strategy's name, as in the configuration.
    pub name: String,
    /// Its state.
    pub state: EngineState,
    /// Since when it is in that state.
    pub since: DateTime<Utc>,
    /// Why it is not NORMAL; `null` when it is.
    pub reason: Option<String>,
}

impl From<&EngineStatus> for StrategySummary {
    fn from(s: &EngineStatus) -> Self {
        Self {
            name: s.name.clone(),
            state: s.state,
            since: s.since,
            reason: s.reason.clone(),
        }
    }
}

/// `GET /api/v1/strategies/{name}`, and the answer of a reset's confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StrategyStatus {
    /// The strategy's name.
    pub name: String,
    /// Its state, as the Supervisor recorded it.
    pub state: EngineState,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why it is not NORMAL; absent when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the checkpoint is unusable; absent while it is usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_error: Option<String>,
    /// A reset awaiting its confirmation (never its token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_reset: Option<PendingResetView>,
    /// Every breaker kind, in reporting order, switched on or not.
    pub breakers: Vec<BreakerView>,
    /// Every actor's health: the gate refuses orders while one is not ready.
    pub actors: Vec<ActorHealth>,
    /// The last snapshot and the figures the breakers derive from it.
    pub portfolio: PortfolioView,
    /// Orders as the gate decided them, newest last.
    pub recent_orders: Vec<OrderRecord>,
    /// Fills, newest last.
    pub recent_fills: Vec<Fill>,
    /// Errors the host reported, newest last.
    pub recent_errors: Vec<LoggedErrorView>,
    /// Errors since start, by kind.
    pub error_totals: BTreeMap<String, u64>,
    /// Orders accepted since start.
    pub orders_accepted: u64,
    /// Orders rejected since start, by the check, breaker or state that refused them.
    pub orders_rejected: HashMap<String, u64>,
    /// Orders accepted and neither fully filled nor done, oldest first.
    #[serde(default)]
    pub open_orders: Vec<OpenOrder>,
    /// Pre-trade denials per check, the last one, reference prices.
    #[serde(default)]
    pub pre_trade: Option<PreTradeStatus>,
    /// Alert deliveries.
    pub alerts: AlertsView,
}

/// A pending reset in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingResetView {
    /// Who requested it.
    pub operator: String,
    /// When it lapses, returning the strategy to the state it came from.
    pub expires_at: DateTime<Utc>,
}

/// One breaker in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerView {
    /// `drawdown`, `daily_loss`, `order_rate`, `error_rate`, `stale_feed`, `pre_trade`,
    /// `host_silent`, `manual`.
    #[serde(rename = "type")]
    pub kind: BreakerKind,
    /// `ok` or `tripped`.
    pub status: BreakerState,
    /// Switched on in the configuration.
    pub enabled: bool,
    /// Up and has seen its first input.
    pub ready: bool,
    /// Its measured value, in the unit of its limit (ratio, amount, count or seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// Its limit; absent for the manual breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Decimal>,
    /// Present while it is tripped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tripped_at: Option<DateTime<Utc>>,
    /// Extra figures (per error kind, the session date...), decimals as strings.
    pub details: BTreeMap<String, String>,
}

/// Whether a breaker is tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Not tripped.
    Ok,
    /// Tripped and not yet reset or cleared.
    Tripped,
}

impl BreakerState {
    /// Every value, for the Python `Literal` ([`crate::python`]).
    pub const ALL: [BreakerState; 2] = [BreakerState::Ok, BreakerState::Tripped];
}

/// The portfolio in the status. Figures are `null` until the first snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioView {
    /// Value of the last snapshot.
    pub value: Option<Decimal>,
    /// Cash of the last snapshot, if the host reported it.
    pub cash: Option<Decimal>,
    /// The drawdown breaker's high-water mark.
    pub high_water_mark: Option<Decimal>,
    /// (value − high-water mark) / high-water mark, ≤ 0.
    pub drawdown: Option<Decimal>,
    /// Profit or loss since the session's open.
    pub daily_pnl: Option<Decimal>,
    /// Holdings of the last snapshot.
    pub positions: Vec<PositionView>,
    /// The last snapshot's own time.
    pub as_of: Option<DateTime<Utc>>,
    /// Σ |position + open remaining| × reference price over assets; `null` while an asset
    /// held or worked has no reference price.
    #[serde(default)]
    pub gross_exposure: Option<Decimal>,
    /// Recent (time, value) points, oldest first.
    pub history: Vec<(DateTime<Utc>, Decimal)>,
    /// Snapshots accepted since start.
    pub snapshots_accepted: u64,
    /// Snapshots refused since start.
    pub snapshots_refused: u64,
    /// Why the last refused snapshot was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<String>,
}

/// A holding in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    /// Instrument identifier.
    pub asset: String,
    /// Signed: negative is short.
    pub quantity: Decimal,
    /// The price the host valued it at.
    pub market_price: Decimal,
    /// Quantity × price; `null` if it does not fit a decimal.
    pub market_value: Option<Decimal>,
}

/// An error the host reported, with the engine's time of receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedErrorView {
    /// When the engine heard of it.
    pub received_at: DateTime<Utc>,
    /// `order_rejected`, `broker_error` or `data_error`.
    pub kind: ErrorKind,
    /// The broker's or host's words.
    pub message: String,
    /// The order concerned, when the host named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// When it happened, when the host said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
}

/// What the alert dispatcher has done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertsView {
    /// Recent outcomes, newest last.
    pub recent: Vec<DeliveryRecord>,
    /// Outcomes since start, by channel, then by status.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Alerts dropped because the queue was full.
    pub dropped: u64,
    /// Deliveries in flight now.
    pub in_flight: usize,
    /// The channels configured.
    pub channels: Vec<String>,
}

impl From<EngineStatus> for StrategyStatus {
    fn from(s: EngineStatus) -> Self {
        Self {
            name: s.name,
            state: s.state,
            since: s.since,
            reason: s.reason,
            checkpoint_error: s.checkpoint_error,
            pending_reset: s.pending_reset.map(PendingResetView::from),
            breakers: s.breakers.into_iter().map(BreakerView::from).collect(),
            actors: s.actors,
            portfolio: s.portfolio.into(),
            recent_orders: s.recent_orders,
            recent_fills: s.recent_fills,
            recent_errors: s
                .recent_errors
                .into_iter()
                .map(LoggedErrorView::from)
                .collect(),
            error_totals: s.error_totals,
            orders_accepted: s.orders_accepted,
            orders_rejected: s.orders_rejected,
            open_orders: s.open_orders,
            pre_trade: Some(s.pre_trade),
            alerts: AlertsView {
                recent: s.alerts.recent,
                counts: s.alerts.counts,
                dropped: s.alerts.dropped,
                in_flight: s.alerts.in_flight,
                channels: s.alerts.channels,
            },
        }
    }
}

impl From<PendingResetStatus> for PendingResetView {
    fn from(p: PendingResetStatus) -> Self {
        Self {
            operator: p.operator,
            expires_at: p.expires_at,
        }
    }
}

impl From<BreakerStatus> for BreakerView {
    fn from(b: BreakerStatus) -> Self {
        Self {
            kind: b.kind,
            status: match b.status {
                BreakerCondition::Ok => BreakerState::Ok,
                BreakerCondition::Tripped => BreakerState::Tripped,
            },
            enabled: b.enabled,
            ready: b.ready,
            value: b.value,
            limit: b.limit,
            tripped_at: b.tripped_at,
            details: b.details,
        }
    }
}

impl From<PortfolioStatus> for PortfolioView {
    fn from(p: PortfolioStatus) -> Self {
        Self {
            value: p.value,
            cash: p.cash,
            high_water_mark: p.high_water_mark,
            drawdown: p.drawdown,
            daily_pnl: p.daily_pnl,
            positions: p.positions.into_iter().map(PositionView::from).collect(),
            as_of: p.as_of,
            gross_exposure: p.gross_exposure,
            history: p.history,
            snapshots_accepted: p.snapshots_accepted,
            snapshots_refused: p.snapshots_refused,
            last_refusal: p.last_refusal,
        }
    }
}

impl From<PositionStatus> for PositionView {
    fn from(p: PositionStatus) -> Self {
        Self {
            asset: p.asset,
            quantity: p.quantity,
            market_price: p.market_price,
            market_value: p.market_value,
        }
    }
}

impl From<LoggedError> for LoggedErrorView {
    fn from(e: LoggedError) -> Self {
        Self {
            received_at: e.received_at,
            kind: e.report.kind,
            message: e.report.message,
            order_id: e.report.order_id,
            timestamp: e.report.timestamp,
        }
    }
}
