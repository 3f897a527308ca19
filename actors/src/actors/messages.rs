//! Messages several actors share. A message handled by one actor only lives in its file.

use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::domain::{InputError, PortfolioSnapshot};
use crate::state_machine::EngineState;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;

/// A breaker failed while handling a message (it panicked and is being restarted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{breaker} breaker failed and is restarting")]
pub struct BreakerFailed {
    /// Which breaker.
    pub breaker: BreakerKind,
}

/// A portfolio value at an instant: what the portfolio breakers judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valuation {
    /// Portfolio value.
    pub value: Decimal,
    /// The snapshot's time.
    pub at: DateTime<Utc>,
}

impl From<&PortfolioSnapshot> for Valuation {
    fn from(s: &PortfolioSnapshot) -> Self {
        Self {
            value: s.portfolio_value,
            at: s.timestamp,
        }
    }
}

/// Snapshots for a portfolio breaker to judge, in order (one, or a batch from a bulk feed).
/// Resolves once any trip they caused is in force at the order gate.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), BreakerFailed>")]
pub struct EvaluateSnapshots(pub Arc<[Valuation]>);

/// Time passed: run time-driven checks as of `now`.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Tick {
    /// The engine clock's time.
    pub now: DateTime<Utc>,
}

/// A breaker reached its limit (to the Supervisor). Resolves once the gate has been closed.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct TripReport(pub Trip);

/// An auto-reset breaker's condition passed (to the Supervisor).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ClearReport {
    /// Which breaker.
    pub breaker: BreakerKind,
    /// When.
    pub at: DateTime<Utc>,
}

/// After a confirmed reset: let the rule trip again, judging its current input at once.
/// Answers with the trip when its condition still holds.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Option<Trip>")]
pub struct Rearm {
    /// Drawdown only: make the current value the new high-water mark.
    pub rebase_high_water_mark: bool,
    /// The engine clock's time.
    pub now: DateTime<Utc>,
}

/// Asks a breaker for its reading.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "BreakerReading")]
pub struct ReadBreaker;

/// The Supervisor's word to the gate: the state orders are judged against.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct GateUpdate {
    /// The global state.
    pub state: EngineState,
    /// The first tripped breaker, named in rejections.
    pub breaker: Option<BreakerKind>,
    /// Why, named in rejections.
    pub reason: Option<String>,
}

/// Test-only fault hook: the receiving actor panics inside its handler.
#[cfg(feature = "fault-injection")]
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// An input the engine refused.
pub type InputResult = Result<(), InputError>;

/// The engine's word to the host: cancel every open order now (a trip or a halt).
#[derive(Message, Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[rtype(result = "()")]
pub struct CancelAllOrders {
    /// The strategy.
    pub strategy: String,
    /// The state that demands it.
    pub state: EngineState,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Where [`CancelAllOrders`] goes: an actix recipient, a channel, or nowhere.
#[derive(Clone, Default)]
pub enum CancelSink {
    /// Nobody listens (the sidecar reports it through events instead).
    #[default]
    Nobody,
    /// An actix actor of the host's.
    Recipient(Recipient<CancelAllOrders>),
    /// A channel the host reads.
    Channel(tokio::sync::mpsc::UnboundedSender<CancelAllOrders>),
}

impl CancelSink {
    /// Delivers without waiting.
    pub fn send(&self, msg: CancelAllOrders) {
        match self {
            CancelSink::Nobody => {}
            CancelSink::Recipient(r) => r.do_send(msg),
            CancelSink::Channel(tx) => {
                let _ = tx.send(msg);
            }
        }
    }
}
