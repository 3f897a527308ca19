//! The firm view (`GET /api/v1/firm`) and the answers of the firm-wide halt and reset.

use crate::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use rustybt_actors::state_machine::EngineState;
use serde::{Deserialize, Serialize};

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

impl From<rustybt_actors::firm::FirmView> for FirmStatus {
    fn from(v: rustybt_actors::firm::FirmView) -> Self {
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
