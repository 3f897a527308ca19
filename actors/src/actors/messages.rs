//! Messages several actors share. A message handled by one actor only lives in its file.

use crate::breaker::BreakerReading;
use crate::decision::NumberedTrip;
use crate::error::EngineError;
use crate::state_machine::EngineState;
use crate::supervision::{ActorName, Lifecycle};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;

/// Inputs for a breaker to judge, in order (one, or a batch from a bulk feed). Resolves once
/// judged: any trip they caused is refusing orders by then. An awaited snapshot carries its
/// [`Judging`]: the breaker lets go of it once judged and the gate closed for any trip.
#[derive(Debug, Clone)]
pub struct Evaluate<I>(pub Arc<[I]>, pub Option<Arc<Judging>>);

/// The answer to one awaited snapshot, shared by every breaker judging it. It goes to the host
/// when the last breaker lets go: judged, the gate closed for any trip, nothing durable yet
/// (the Supervisor commits after, in its own turn). A breaker that panicked on it lets go too:
/// it marked itself not ready, which closes the gate.
#[derive(Debug)]
pub struct Judging {
    reply: std::sync::Mutex<Option<tokio::sync::oneshot::Sender<Result<(), EngineError>>>>,
}

impl Judging {
    /// A judging that answers through `reply`.
    pub fn new(reply: tokio::sync::oneshot::Sender<Result<(), EngineError>>) -> Arc<Self> {
        Arc::new(Self {
            reply: std::sync::Mutex::new(Some(reply)),
        })
    }
}

impl Drop for Judging {
    fn drop(&mut self) {
        let reply = match self.reply.get_mut() {
            Ok(r) => r.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(reply) = reply {
            // The host may have stopped waiting: nothing to tell then.
            let _ = reply.send(Ok(()));
        }
    }
}

impl<I: 'static> Message for Evaluate<I> {
    type Result = ();
}

/// Time passed: run time-driven checks as of `now`.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct Tick {
    /// The engine clock's time.
    pub now: DateTime<Utc>,
}

/// A breaker reached its limit (to the Supervisor). The gate was closed for it already.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct TripReport(pub NumberedTrip);

/// An auto-reset breaker's condition passed (to the Supervisor).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ClearReport {
    /// Which breaker.
    pub breaker: crate::breaker::BreakerKind,
    /// When, by the engine's clock.
    pub at: DateTime<Utc>,
}

/// An actor's lifecycle event (to the Supervisor, which records it).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct LifecycleReport {
    /// Which actor.
    pub actor: ActorName,
    /// What happened.
    pub event: Lifecycle,
    /// The panic message, when it panicked.
    pub detail: Option<String>,
}

/// After a confirmed reset: let the rule trip again, judging its current input at once.
/// Answers with the trip when its condition still holds (the gate is closed for it already).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Option<NumberedTrip>")]
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

/// Test-only fault hook: the receiving actor panics inside its handler.
#[cfg(feature = "test-util")]
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct InjectPanic;

/// The engine's word to the host: cancel every open order now (a trip or a halt).
#[derive(Message, Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[rtype(result = "()")]
pub struct CancelAllOrders {
    /// The strategy.
    pub strategy: String,
    /// The state that demands it.
    pub state: EngineState,
    /// Why, in words a person can act on.
    pub reason: String,
    /// When, by the engine's clock.
    pub at: DateTime<Utc>,
    /// The open orders to cancel, oldest first (the gate's book: accepted and neither fully
    /// filled nor reported done). Each stays open until the host reports it done or filled.
    pub open_orders: Vec<crate::pretrade::OpenOrder>,
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
