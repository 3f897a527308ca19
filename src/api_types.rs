//! The bodies of the HTTP API (`../shared/API.md`), as types both sides share: the server
//! builds its answers from them and [`crate::client`] reads them back, so a field cannot be
//! renamed on one side only. Serde derives are the one JSON encoding; the engine's own types
//! are used where they already carry `Serialize` and `Deserialize` (orders, fills, the audit
//! trail, the reset ticket).
//!
//! The status mirrors the engine's `EngineStatus` field for field: that type is only
//! `Serialize`, and a client needs to read it back. A test checks that both encode to the same
//! JSON.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustybt_actors::alerts::DeliveryRecord;
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::decision::{OrderDecision, OrderRecord};
use rustybt_actors::domain::{ErrorKind, Fill};
use rustybt_actors::engine::{
    BreakerCondition, BreakerStatus, EngineStatus, LoggedError, PendingResetStatus,
    PortfolioStatus, PositionStatus, PreTradeStatus,
};
use rustybt_actors::pretrade::{DoneStatus, OpenOrder, PreTradeCheck};
use rustybt_actors::state_machine::{EngineState, StateRecord};
use rustybt_actors::supervision::{ActorHealth, ActorName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

pub use rustybt_actors::actors::supervisor::ResetTicket;
pub use rustybt_actors::checkpoint::AuditEntry;

/// A value's name on the wire (`"tripped"` for [`BreakerState::Tripped`]), from its serde
/// encoding so that no second table of names can drift from it; empty for a value that does
/// not encode as a string.
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The body of every 4xx and 5xx answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A machine code: `unknown_strategy`, `reset_already_pending`, `invalid_decimal`...
    pub error: String,
    /// What was wrong, naming the field and the value where there is one.
    pub message: String,
}

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

/// A strategy on a host, in a firm halt's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStrategyRef {
    /// The host.
    pub host_id: String,
    /// The strategy.
    pub name: String,
}

/// The answer `200` of `POST /api/v1/halt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmHaltAnswer {
    /// The strategies confirmed halted.
    pub halted: Vec<HostStrategyRef>,
    /// Hosts that had not confirmed within 2 s.
    pub pending_hosts: Vec<String>,
    /// The firm's state.
    pub state: EngineState,
}

/// The answer `202` of `POST /api/v1/reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmResetTicketView {
    /// Hand it back to confirm.
    pub confirmation_token: String,
    /// After this the request lapses.
    pub expires_at: DateTime<Utc>,
}

/// A host in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmHostView {
    /// Its id.
    pub host_id: String,
    /// Whether it is reachable.
    pub connected: bool,
    /// When it last reported.
    pub last_seen: DateTime<Utc>,
}

/// A strategy in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmStrategyEntry {
    /// Its host.
    pub host_id: String,
    /// Its name.
    pub name: String,
    /// Its desk label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    /// Its state.
    pub state: EngineState,
    /// Its last portfolio value.
    pub portfolio_value: Option<Decimal>,
    /// Its profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
}

/// The firm's figures in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmPortfolio {
    /// The sum of the strategies' portfolio values.
    pub value: Option<Decimal>,
    /// The firm drawdown breaker's high-water mark.
    pub high_water_mark: Option<Decimal>,
    /// The firm's drawdown ratio.
    pub drawdown: Option<Decimal>,
    /// The firm's profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
}

/// A desk halt in force, in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskHaltView {
    /// The desk.
    pub desk: String,
    /// Who halted it.
    pub operator: String,
    /// Why.
    pub reason: String,
    /// The host that took the request.
    pub host_id: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// `GET /api/v1/firm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmStatus {
    /// The firm's name.
    pub firm: String,
    /// The firm-level state.
    pub state: EngineState,
    /// Every host.
    pub hosts: Vec<FirmHostView>,
    /// Every strategy of every host.
    pub strategies: Vec<FirmStrategyEntry>,
    /// The firm breakers, in the shape of a strategy's.
    pub breakers: Vec<BreakerView>,
    /// The firm's figures.
    pub portfolio: FirmPortfolio,
    /// Desk halts in force.
    pub desk_halts: Vec<DeskHaltView>,
    /// When a firm reset awaits its confirmation, until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset_expires_at: Option<DateTime<Utc>>,
    /// The control record's generation.
    pub generation: u64,
    /// This host's link to the firm's bus; absent without `[cluster]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bus: Option<FirmBusView>,
}

/// This host's link to the firm's bus, in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmBusView {
    /// Whether the host holds a connection to a NATS server now.
    pub connected: bool,
    /// Since when the bus is out of reach, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_since: Option<DateTime<Utc>>,
    /// Whether `on_bus_loss` is in force on this host's strategies.
    pub on_bus_loss_applied: bool,
}

impl From<rustybt_actors::firm_handle::FirmView> for FirmStatus {
    fn from(v: rustybt_actors::firm_handle::FirmView) -> Self {
        Self {
            firm: v.firm,
            state: v.state,
            hosts: v
                .hosts
                .into_iter()
                .map(|h| FirmHostView {
                    host_id: h.host_id,
                    connected: h.connected,
                    last_seen: h.last_seen,
                })
                .collect(),
            strategies: v
                .strategies
                .into_iter()
                .map(|s| FirmStrategyEntry {
                    host_id: s.host_id,
                    name: s.name,
                    desk: s.desk,
                    state: s.state,
                    portfolio_value: s.portfolio_value,
                    daily_pnl: s.daily_pnl,
                })
                .collect(),
            breakers: v.breakers.into_iter().map(BreakerView::from).collect(),
            portfolio: FirmPortfolio {
                value: v.portfolio.value,
                high_water_mark: v.portfolio.high_water_mark,
                drawdown: v.portfolio.drawdown,
                daily_pnl: v.portfolio.daily_pnl,
            },
            desk_halts: v
                .control
                .desk_halts
                .iter()
                .map(|(desk, h)| DeskHaltView {
                    desk: desk.clone(),
                    operator: h.operator.clone(),
                    reason: h.reason.clone(),
                    host_id: h.host_id.clone(),
                    at: h.at,
                })
                .collect(),
            reset_expires_at: v.control.pending_reset.as_ref().map(|p| p.expires_at),
            generation: v.control.generation,
            bus: v.bus.map(|b| FirmBusView {
                connected: b.connected,
                lost_since: b.lost_since,
                on_bus_loss_applied: b.on_bus_loss_applied,
            }),
        }
    }
}

/// The answer `202` of the host events that only need to arrive (`/portfolio`, `/fills`,
/// `/errors`): `{"status": "accepted"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Always [`AcceptedStatus::Accepted`].
    pub status: AcceptedStatus,
}

/// The one value of [`Accepted::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptedStatus {
    /// The engine took the event.
    Accepted,
}

impl Accepted {
    /// `{"status": "accepted"}`.
    pub const ANSWER: Accepted = Accepted {
        status: AcceptedStatus::Accepted,
    };
}

/// The order gate's answer to `POST .../orders`. Unlike the engine's [`OrderDecision`], a
/// rejection always carries `breaker` (`null` when a state, not a breaker, refused it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum OrderAnswer {
    /// Send it.
    Accepted,
    /// Do not send it. Not an HTTP error: the call succeeded, the order did not.
    Rejected {
        /// Why, naming the state and the breaker.
        reason: String,
        /// The state the gate judged against.
        state: EngineState,
        /// The breaker that enforced it, if one did.
        breaker: Option<BreakerKind>,
        /// The pre-trade check that denied it (then `breaker` is null).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<PreTradeCheck>,
        /// The check's limit (absent for `duplicate_order_id` and a missing reference price).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<Decimal>,
        /// The figure compared with the limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Decimal>,
    },
}

impl From<OrderDecision> for OrderAnswer {
    fn from(d: OrderDecision) -> Self {
        match d {
            OrderDecision::Accepted => OrderAnswer::Accepted,
            OrderDecision::Rejected {
                reason,
                state,
                breaker,
                check,
                limit,
                value,
            } => OrderAnswer::Rejected {
                reason,
                state,
                breaker,
                check,
                limit,
                value,
            },
        }
    }
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

/// The answer of `POST .../halt`: the status after the halt, and whether the strategy was
/// halted already (then the state and its first reason stay, and this halt is recorded in the
/// audit trail with its own operator and reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HaltAnswer {
    /// The state after the halt.
    #[serde(flatten)]
    pub after: HaltedState,
    /// The strategy was MANUALLY_HALTED when this halt arrived.
    #[serde(default)]
    pub already_halted: bool,
}

/// What a halt answers with: the full status, or, when the status cannot be read (the
/// Supervisor is down and the halt went to the checkpoint directly), the record just written.
/// Either way the halt is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum HaltedState {
    /// The status after the halt.
    Status(Box<StrategyStatus>),
    /// The checkpointed record.
    Record(Box<StateRecord>),
}

impl HaltedState {
    /// The state after the halt.
    pub fn state(&self) -> EngineState {
        match self {
            HaltedState::Status(s) => s.state,
            HaltedState::Record(r) => r.state,
        }
    }

    /// Since when the strategy is in that state.
    pub fn since(&self) -> DateTime<Utc> {
        match self {
            HaltedState::Status(s) => s.since,
            HaltedState::Record(r) => r.since,
        }
    }

    /// Why it is halted: the first halt's reason when it was halted already.
    pub fn reason(&self) -> Option<&str> {
        match self {
            HaltedState::Status(s) => s.reason.as_deref(),
            HaltedState::Record(r) => r.reason.as_deref(),
        }
    }
}

/// The first frame of `GET .../events` (`event: hello`): the state before any change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventsHello {
    /// The strategy's name.
    pub strategy: String,
    /// Its state now.
    pub state: EngineState,
    /// Since when.
    pub since: DateTime<Utc>,
}

/// `GET /healthz` while every strategy's Supervisor answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, or `degraded` while an actor is not ready (the gate refuses orders meanwhile).
    pub status: HealthStatus,
    /// How many strategies the service runs.
    pub strategies: usize,
    /// The actors not ready, over every strategy.
    pub not_ready: Vec<ActorNotReady>,
}

/// [`Health::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Every actor is up and judging.
    Ok,
    /// Some actor is restarting or waiting for its first input.
    Degraded,
}

/// An actor that is not ready, in [`Health`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorNotReady {
    /// The strategy it belongs to.
    pub strategy: String,
    /// The actor.
    pub actor: ActorName,
    /// Its restarts since start.
    pub restarts: u64,
}

/// `GET /healthz` answering `503`: a Supervisor is gone. The error body with every actor's
/// health of the strategy concerned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineUnavailable {
    /// `engine_unavailable` and what is down.
    #[serde(flatten)]
    pub error: ErrorBody,
    /// Every actor's health.
    pub actors: Vec<ActorHealth>,
}

/// The part of a server-sent event's data that names it: every event the engine publishes
/// carries its kind in the field `event` (its serde tag), which is also the frame's name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventTag {
    /// `circuit_breaker_tripped`, `manual_halt`, `snapshot`...
    pub event: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use rustybt_actors::actors::alert_dispatcher::DeliveryView;
    use rustybt_actors::alerts::delivery_log::DeliveryStatus;
    use rustybt_actors::domain::{ErrorReport, OrderRequest, Side};
    use serde_json::{json, Value};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Every optional field set, so that nothing is skipped and every field is compared.
    fn full_status() -> EngineStatus {
        EngineStatus {
            name: "momentum".into(),
            state: EngineState::Resetting,
            since: at("2026-03-02T15:04:05Z"),
            reason: Some("drill".into()),
            checkpoint_error: Some("disk full".into()),
            pending_reset: Some(PendingResetStatus {
                operator: "alice".into(),
                expires_at: at("2026-03-02T15:09:05Z"),
            }),
            breakers: vec![BreakerStatus {
                kind: BreakerKind::Drawdown,
                status: BreakerCondition::Tripped,
                enabled: true,
                ready: true,
                value: Some(dec!(-0.1042)),
                limit: Some(dec!(-0.10)),
                tripped_at: Some(at("2026-03-02T15:00:00Z")),
                details: [("high_water_mark".to_string(), "100000.00".to_string())].into(),
            }],
            actors: vec![ActorHealth {
                actor: ActorName::OrderGate,
                ready: true,
                restarts: 2,
            }],
            portfolio: PortfolioStatus {
                value: Some(dec!(89580.00)),
                cash: Some(dec!(1000.5)),
                high_water_mark: Some(dec!(100000.00)),
                drawdown: Some(dec!(-0.1042)),
                daily_pnl: Some(dec!(-10420.00)),
                positions: vec![PositionStatus {
                    asset: "AAPL".into(),
                    quantity: dec!(-10),
                    market_price: dec!(170.25),
                    market_value: Some(dec!(-1702.50)),
                }],
                as_of: Some(at("2026-03-02T15:04:00Z")),
                gross_exposure: Some(dec!(1702.50)),
                history: vec![(at("2026-03-02T15:04:00Z"), dec!(89580.00))],
                snapshots_accepted: 7,
                snapshots_refused: 1,
                last_refusal: Some("positions.market_price: -1 must not be negative".into()),
            },
            recent_orders: vec![OrderRecord {
                at: at("2026-03-02T15:01:00Z"),
                order: OrderRequest {
                    order_id: "o-1".into(),
                    asset: "AAPL".into(),
                    side: Side::Sell,
                    quantity: dec!(10),
                    limit_price: Some(dec!(170)),
                    timestamp: Some(at("2026-03-02T15:00:59Z")),
                    time_in_force: Default::default(),
                },
                decision: OrderDecision::Rejected {
                    reason: "tripped".into(),
                    state: EngineState::Tripped,
                    breaker: Some(BreakerKind::Drawdown),
                    check: None,
                    limit: None,
                    value: None,
                },
            }],
            recent_fills: vec![Fill {
                order_id: "o-0".into(),
                asset: "AAPL".into(),
                side: Side::Buy,
                quantity: dec!(1),
                price: dec!(170.1),
                timestamp: at("2026-03-02T14:59:00Z"),
            }],
            recent_errors: vec![LoggedError {
                received_at: at("2026-03-02T15:02:00Z"),
                report: ErrorReport {
                    kind: ErrorKind::BrokerError,
                    message: "timeout".into(),
                    order_id: Some("o-1".into()),
                    timestamp: Some(at("2026-03-02T15:01:59Z")),
                },
            }],
            error_totals: [("broker_error".to_string(), 1)].into(),
            orders_accepted: 3,
            orders_rejected: [("drawdown".to_string(), 1)].into(),
            open_orders: vec![OpenOrder {
                order_id: "o-2".into(),
                asset: "AAPL".into(),
                side: Side::Buy,
                quantity: dec!(5),
                filled: dec!(2),
                limit_price: Some(dec!(170)),
                since: at("2026-03-02T15:01:30Z"),
                expires_at: Some(at("2026-03-02T21:00:00Z")),
            }],
            pre_trade: PreTradeStatus {
                configured: true,
                denials: PreTradeCheck::ALL.iter().map(|c| (*c, 1)).collect(),
                last_denial: Some(rustybt_actors::engine::LastDenial {
                    at: at("2026-03-02T15:01:40Z"),
                    order_id: "o-3".into(),
                    check: PreTradeCheck::MaxOrderNotional,
                    limit: Some(dec!(50000)),
                    value: Some(dec!(62000.00)),
                    reason: "order notional 62000.00 > max 50000 (AAPL)".into(),
                }),
                references: vec![(
                    "AAPL".into(),
                    rustybt_actors::pretrade::ReferencePrice {
                        price: dec!(170.25),
                        at: at("2026-03-02T15:04:00Z"),
                    },
                )],
            },
            alerts: DeliveryView {
                recent: vec![DeliveryRecord {
                    alert_id: "msg_1".into(),
                    event_type: "circuit_breaker_tripped".into(),
                    breaker: "drawdown".into(),
                    channel: "webhook".into(),
                    status: DeliveryStatus::Sent,
                    attempts: 1,
                    latency_ms: 12,
                    error: None,
                    at: at("2026-03-02T15:00:01Z"),
                }],
                counts: [("webhook".to_string(), [("sent".to_string(), 1)].into())].into(),
                dropped: 0,
                in_flight: 1,
                channels: vec!["webhook".into()],
            },
        }
    }

    #[test]
    fn test_encode_when_status_mirrored_then_same_json_as_the_engine() {
        let engine = full_status();
        let expected = serde_json::to_value(&engine).unwrap();
        let mirrored = StrategyStatus::from(engine);
        assert_eq!(serde_json::to_value(&mirrored).unwrap(), expected);
        let back: StrategyStatus = serde_json::from_value(expected).unwrap();
        assert_eq!(back, mirrored);
    }

    #[test]
    fn test_encode_when_optional_figures_absent_then_same_json_as_the_engine() {
        let mut engine = full_status();
        engine.reason = None;
        engine.checkpoint_error = None;
        engine.pending_reset = None;
        engine.breakers[0].value = None;
        engine.breakers[0].limit = None;
        engine.breakers[0].tripped_at = None;
        engine.portfolio.value = None;
        engine.portfolio.last_refusal = None;
        engine.recent_errors[0].report.order_id = None;
        let expected = serde_json::to_value(&engine).unwrap();
        let mirrored = StrategyStatus::from(engine);
        assert_eq!(serde_json::to_value(&mirrored).unwrap(), expected);
        let back: StrategyStatus = serde_json::from_value(expected).unwrap();
        assert_eq!(back, mirrored);
    }

    #[test]
    fn test_encode_when_order_answered_then_api_shapes() {
        assert_eq!(
            serde_json::to_value(OrderAnswer::from(OrderDecision::Accepted)).unwrap(),
            json!({"decision": "accepted"})
        );
        let rejected = OrderAnswer::from(OrderDecision::Rejected {
            reason: "halted".into(),
            state: EngineState::ManuallyHalted,
            breaker: None,
            check: None,
            limit: None,
            value: None,
        });
        assert_eq!(
            serde_json::to_value(&rejected).unwrap(),
            json!({"decision": "rejected", "reason": "halted", "state": "MANUALLY_HALTED", "breaker": null})
        );
        let denied = OrderAnswer::from(OrderDecision::Rejected {
            reason: "order notional 62000.00 > max 50000 (AAPL)".into(),
            state: EngineState::Normal,
            breaker: None,
            check: Some(PreTradeCheck::MaxOrderNotional),
            limit: Some(dec!(50000)),
            value: Some(dec!(62000.00)),
        });
        assert_eq!(
            serde_json::to_value(&denied).unwrap(),
            json!({"decision": "rejected", "state": "NORMAL", "check": "max_order_notional",
                   "limit": "50000", "value": "62000.00", "breaker": null,
                   "reason": "order notional 62000.00 > max 50000 (AAPL)"})
        );
        assert_eq!(
            serde_json::to_value(Accepted::ANSWER).unwrap(),
            json!({"status": "accepted"})
        );
    }

    #[test]
    fn test_encode_when_halted_twice_then_status_with_flag() {
        let answer = HaltAnswer {
            after: HaltedState::Status(Box::new(full_status().into())),
            already_halted: true,
        };
        let mut expected = serde_json::to_value(full_status()).unwrap();
        expected["already_halted"] = Value::Bool(true);
        assert_eq!(serde_json::to_value(&answer).unwrap(), expected);
        let back: HaltAnswer = serde_json::from_value(expected).unwrap();
        assert_eq!(back, answer);
    }

    #[test]
    fn test_decode_when_halt_answered_with_the_record_then_record() {
        let record = StateRecord {
            state: EngineState::ManuallyHalted,
            since: at("2026-03-02T15:04:05Z"),
            reason: Some("drill".into()),
            tripped: vec![],
            pending_reset: None,
            firm_hold: None,
        };
        let answer = HaltAnswer {
            after: HaltedState::Record(Box::new(record.clone())),
            already_halted: false,
        };
        let mut expected = serde_json::to_value(&record).unwrap();
        expected["already_halted"] = Value::Bool(false);
        assert_eq!(serde_json::to_value(&answer).unwrap(), expected);
        let back: HaltAnswer = serde_json::from_value(expected).unwrap();
        assert_eq!(back, answer);
        assert_eq!(back.after.reason(), Some("drill"));
    }

    #[test]
    fn test_decode_when_event_data_then_tag_names_it() {
        let tag: EventTag =
            serde_json::from_str(r#"{"event":"manual_halt","strategy":"s"}"#).unwrap();
        assert_eq!(tag.event, "manual_halt");
    }
}
