//! Events the engine publishes to any subscriber (the host, the dashboard's live feed, tests).
//!
//! Two streams, so that telemetry can never push a control event out: control events (state
//! changes, trips, halts, resets, clears) go to each subscriber through its own unbounded
//! channel and are never dropped; snapshot telemetry goes through a bounded broadcast that a
//! slow reader may lag behind.

use crate::breaker::{BreakerKind, Trip};
use crate::domain::PortfolioSnapshot;
use crate::state_machine::{EngineState, Transition};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A breaker tripped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitBreakerTrippedEvent {
    /// The strategy.
    pub strategy: String,
    /// What tripped and by how much.
    pub trip: Trip,
}

/// An operator halted trading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualHaltEvent {
    /// The strategy.
    pub strategy: String,
    /// Why.
    pub reason: String,
    /// Who.
    pub operator: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The global state changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChangedEvent {
    /// The strategy.
    pub strategy: String,
    /// The change.
    pub transition: Transition,
}

/// A reset was requested; it needs its confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetRequestedEvent {
    /// The strategy.
    pub strategy: String,
    /// Who asked.
    pub operator: String,
    /// When the request lapses.
    pub expires_at: DateTime<Utc>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A reset was confirmed and trading resumed (or a breaker whose condition still held tripped
/// again at once, which a following trip event reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetConfirmedEvent {
    /// The strategy.
    pub strategy: String,
    /// Who confirmed.
    pub operator: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// An auto-reset breaker's condition passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerClearedEvent {
    /// The strategy.
    pub strategy: String,
    /// The breaker.
    pub breaker: BreakerKind,
    /// When.
    pub at: DateTime<Utc>,
}

/// A `day` order still open when its session closed was closed as expired: it no longer
/// counts as open or working, exactly as if the host had reported it done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderExpiredEvent {
    /// The strategy.
    pub strategy: String,
    /// The host's id of the order.
    pub order_id: String,
    /// The order as it was when it expired (quantity, filled so far, its session's close in
    /// `expires_at`).
    pub order: crate::pretrade::OpenOrder,
    /// When the gate closed it, by the engine's clock (at or after `order.expires_at`).
    pub at: DateTime<Utc>,
}

/// Everything a subscriber may hear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// A breaker tripped.
    CircuitBreakerTripped(CircuitBreakerTrippedEvent),
    /// An operator halted trading.
    ManualHalt(ManualHaltEvent),
    /// The global state changed.
    StateChanged(StateChangedEvent),
    /// A reset was requested.
    ResetRequested(ResetRequestedEvent),
    /// A reset was confirmed.
    ResetConfirmed(ResetConfirmedEvent),
    /// An auto-reset breaker cleared.
    BreakerCleared(BreakerClearedEvent),
    /// A trip or halt asks the host to cancel its open orders, each named: the sidecar's
    /// host hears it here (an embedding host also through its cancel sink).
    CancelAllOrders(crate::actors::messages::CancelAllOrders),
    /// A `day` order was closed as expired at its session's close.
    OrderExpired(OrderExpiredEvent),
}

/// High-rate telemetry: may be dropped by a subscriber that lags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TelemetryEvent {
    /// A portfolio snapshot was accepted.
    Snapshot {
        /// The strategy.
        strategy: String,
        /// The snapshot.
        snapshot: PortfolioSnapshot,
    },
}

/// The control-event stream: every subscriber gets every event, in order.
#[derive(Debug, Default)]
pub struct ControlEvents {
    subscribers: std::sync::Mutex<Vec<tokio::sync::mpsc::UnboundedSender<EngineEvent>>>,
}

impl ControlEvents {
    /// A new subscriber, hearing every event from now on.
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<EngineEvent> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tx);
        rx
    }

    /// Delivers to every subscriber still listening; forgets those that left.
    pub fn publish(&self, event: &EngineEvent) {
        self.subscribers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|tx| tx.send(event.clone()).is_ok());
    }
}

impl EngineEvent {
    /// The state after this event, when it is a state change.
    pub fn new_state(&self) -> Option<EngineState> {
        match self {
            EngineEvent::StateChanged(e) => Some(e.transition.to),
            _ => None,
        }
    }
}
