//! ManualBreaker: the operators' emergency stop and the two-step reset. It checks the
//! request, remembers who halted and why, and hands each request to the Supervisor, which
//! owns the state machine.

use super::supervisor::{ApplyHalt, ApplyResetConfirm, ApplyResetRequest, ResetTicket};
use super::Links;
use crate::breaker::{BreakerKind, BreakerReading};
use crate::error::EngineError;
use crate::state_machine::StateRecord;
use crate::supervision::ActorName;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The operator's last halt, for the breaker's reading.
#[derive(Debug, Clone)]
struct LastHalt {
    operator: String,
    reason: String,
    at: DateTime<Utc>,
}

/// The manual breaker actor.
pub struct ManualBreaker {
    links: Links,
    last_halt: Option<LastHalt>,
}

impl ManualBreaker {
    /// A manual breaker reporting to the Supervisor of `links`.
    pub fn new(links: Links) -> Self {
        Self {
            links,
            last_halt: None,
        }
    }
}

super::plain_supervisee!(ManualBreaker, ActorName::Breaker(BreakerKind::Manual));

impl Handler<ApplyHalt> for ManualBreaker {
    type Result = ResponseFuture<Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyHalt, _: &mut Context<Self>) -> Self::Result {
        tracing::warn!(operator = %msg.operator, reason = %msg.reason, "manual halt");
        self.last_halt = Some(LastHalt {
            operator: msg.operator.clone(),
            reason: msg.reason.clone(),
            at: msg.at,
        });
        let sup = self.links.supervisor.clone();
        Box::pin(async move { sup.send(msg).await? })
    }
}

impl Handler<ApplyResetRequest> for ManualBreaker {
    type Result = ResponseFuture<Result<ResetTicket, EngineError>>;

    fn handle(&mut self, msg: ApplyResetRequest, _: &mut Context<Self>) -> Self::Result {
        let sup = self.links.supervisor.clone();
        Box::pin(async move { sup.send(msg).await? })
    }
}

impl Handler<ApplyResetConfirm> for ManualBreaker {
    type Result = ResponseFuture<Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyResetConfirm, _: &mut Context<Self>) -> Self::Result {
        let sup = self.links.supervisor.clone();
        Box::pin(async move { sup.send(msg).await? })
    }
}

impl Handler<super::messages::ReadBreaker> for ManualBreaker {
    type Result = MessageResult<super::messages::ReadBreaker>;

    fn handle(&mut self, _: super::messages::ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        let mut details = BTreeMap::new();
        if let Some(h) = &self.last_halt {
            details.insert("last_halt_operator".into(), h.operator.clone());
            details.insert("last_halt_reason".into(), h.reason.clone());
            details.insert("last_halt_at".into(), h.at.to_rfc3339());
        }
        MessageResult(BreakerReading {
            breaker: BreakerKind::Manual,
            enabled: true,
            ready: true,
            value: None,
            limit: None,
            details,
        })
    }
}
