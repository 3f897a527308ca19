//! What the firm shows: the firm view (`GET /api/v1/firm`), its hosts and strategies, and the
//! answers to firm operations.

use crate::engine::BreakerStatus;
use crate::firm::FirmControl;
use crate::state_machine::EngineState;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

/// One strategy of another host, as that host reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStrategy {
    /// The host that runs it.
    pub host_id: String,
    /// Its name.
    pub name: String,
    /// Its desk label.
    pub desk: Option<String>,
    /// Its state.
    pub state: EngineState,
    /// Its last portfolio value.
    pub portfolio_value: Option<Decimal>,
    /// Its profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
    /// Orders submitted since its host started.
    pub orders_submitted: u64,
}

/// A host of the firm, as the firm view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostView {
    /// Its id.
    pub host_id: String,
    /// Whether it is reachable: for this host, whether it holds the bus (always, without one);
    /// for another, whether it reported within the lease.
    pub connected: bool,
    /// When it last reported.
    pub last_seen: DateTime<Utc>,
}

/// This host's link to the firm's bus, as the firm view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BusView {
    /// Whether the client holds a connection to a NATS server now.
    pub connected: bool,
    /// Since when the bus is out of reach, while it is.
    pub lost_since: Option<DateTime<Utc>>,
    /// Whether `on_bus_loss` is in force on this host's strategies.
    pub on_bus_loss_applied: bool,
}

/// The answer to a firm or desk halt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HaltOutcome {
    /// The strategies confirmed halted, each with its host.
    pub halted: Vec<StrategyRef>,
    /// Hosts that have not confirmed yet.
    pub pending_hosts: Vec<String>,
    /// The firm's state after the halt.
    pub state: EngineState,
    /// The control generation the halt was written under.
    pub generation: u64,
}

/// The answer to removing a decommissioned host from the firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedHost {
    /// The host removed.
    pub host_id: String,
    /// Its strategies that left the firm's figures.
    pub strategies: Vec<String>,
    /// The sum of their last known values, taken off the value and the baselines.
    pub value: Decimal,
}

/// A strategy on a host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StrategyRef {
    /// The host.
    pub host_id: String,
    /// The strategy.
    pub name: String,
}

/// The token and deadline of a firm reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmResetTicket {
    /// Hand it back to confirm.
    pub confirmation_token: String,
    /// After this the request lapses.
    pub expires_at: DateTime<Utc>,
}

/// One strategy in the firm view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmStrategyView {
    /// Its host.
    pub host_id: String,
    /// Its name.
    pub name: String,
    /// Its desk label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desk: Option<String>,
    /// Its state.
    pub state: EngineState,
    /// Its last portfolio value.
    pub portfolio_value: Option<Decimal>,
    /// Its profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
}

/// The firm's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FirmPortfolioView {
    /// The sum of the strategies' portfolio values.
    pub value: Option<Decimal>,
    /// The firm drawdown breaker's high-water mark.
    pub high_water_mark: Option<Decimal>,
    /// The firm's drawdown, as a ratio (≤ 0).
    pub drawdown: Option<Decimal>,
    /// The firm's profit or loss since the open.
    pub daily_pnl: Option<Decimal>,
}

/// Everything the firm view shows (`GET /api/v1/firm`).
#[derive(Debug, Clone, Serialize)]
pub struct FirmView {
    /// The firm's name.
    pub firm: String,
    /// The firm-level state.
    pub state: EngineState,
    /// Every host.
    pub hosts: Vec<HostView>,
    /// Every strategy of every host.
    pub strategies: Vec<FirmStrategyView>,
    /// The firm breakers, in the shape of a strategy's.
    pub breakers: Vec<BreakerStatus>,
    /// The firm's figures.
    pub portfolio: FirmPortfolioView,
    /// The control record (firm halt, desk halts, trips, pending reset).
    pub control: FirmControl,
    /// This host's link to the firm's bus; `None` without `[cluster]`.
    pub bus: Option<BusView>,
}
