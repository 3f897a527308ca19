//! ManualBreaker: the operators' emergency stop and the two-step reset. It remembers who
//! halted and why, and hands each request to the Supervisor, which owns the state machine.

use super::supervisor::{ApplyHalt, ApplyResetConfirm, ApplyResetRequest, ResetTicket};
use super::Supervisor;
use crate::breaker::{BreakerKind, BreakerReading};
use crate::clock::SharedClock;
use crate::domain::InputError;
use crate::error::EngineError;
use crate::state_machine::StateRecord;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Emergency stop: every order refused, open orders cancelled. Durable when answered.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct Halt {
    /// Who.
    pub operator: String,
    /// Why.
    pub reason: String,
}

/// First step of a reset: answers with the confirmation token.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ResetTicket, EngineError>")]
pub struct RequestReset {
    /// Who.
    pub operator: String,
    /// Why, if given.
    pub reason: Option<String>,
}

/// Second step of a reset.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct ConfirmReset {
    /// Who.
    pub operator: String,
    /// The token from the request.
    pub confirmation_token: String,
    /// Make the current value the drawdown breaker's new high-water mark.
    pub rebase_high_water_mark: bool,
}

fn required(field: &'static str, value: &str) -> Result<(), InputError> {
    if value.trim().is_empty() {
        return Err(InputError::Empty { field });
    }
    Ok(())
}

/// The manual breaker actor.
pub struct ManualBreaker {
    supervisor: Addr<Supervisor>,
    clock: SharedClock,
    last_halt: Option<(String, String, DateTime<Utc>)>,
}

impl ManualBreaker {
    /// A manual breaker reporting to `supervisor`.
    pub fn new(supervisor: Addr<Supervisor>, clock: SharedClock) -> Self {
        Self {
            supervisor,
            clock,
            last_halt: None,
        }
    }
}

impl Actor for ManualBreaker {
    type Context = Context<Self>;
}

impl Supervised for ManualBreaker {}

impl Handler<Halt> for ManualBreaker {
    type Result = ResponseFuture<Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: Halt, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = required("operator", &msg.operator).and(required("reason", &msg.reason)) {
            return Box::pin(async move { Err(e.into()) });
        }
        tracing::warn!(operator = %msg.operator, reason = %msg.reason, "manual halt");
        self.last_halt = Some((msg.operator.clone(), msg.reason.clone(), self.clock.now()));
        let sup = self.supervisor.clone();
        Box::pin(async move {
            sup.send(ApplyHalt {
                operator: msg.operator,
                reason: msg.reason,
            })
            .await?
        })
    }
}

impl Handler<RequestReset> for ManualBreaker {
    type Result = ResponseFuture<Result<ResetTicket, EngineError>>;

    fn handle(&mut self, msg: RequestReset, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = required("operator", &msg.operator) {
            return Box::pin(async move { Err(e.into()) });
        }
        let sup = self.supervisor.clone();
        Box::pin(async move {
            sup.send(ApplyResetRequest {
                operator: msg.operator,
                reason: msg.reason,
            })
            .await?
        })
    }
}

impl Handler<ConfirmReset> for ManualBreaker {
    type Result = ResponseFuture<Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ConfirmReset, _: &mut Context<Self>) -> Self::Result {
        if let Err(e) = required("operator", &msg.operator)
            .and(required("confirmation_token", &msg.confirmation_token))
        {
            return Box::pin(async move { Err(e.into()) });
        }
        let sup = self.supervisor.clone();
        Box::pin(async move {
            sup.send(ApplyResetConfirm {
                operator: msg.operator,
                token: msg.confirmation_token,
                rebase_high_water_mark: msg.rebase_high_water_mark,
            })
            .await?
        })
    }
}

impl Handler<super::messages::ReadBreaker> for ManualBreaker {
    type Result = MessageResult<super::messages::ReadBreaker>;

    fn handle(&mut self, _: super::messages::ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        let mut details = BTreeMap::new();
        if let Some((op, reason, at)) = &self.last_halt {
            details.insert("last_halt_operator".into(), op.clone());
            details.insert("last_halt_reason".into(), reason.clone());
            details.insert("last_halt_at".into(), at.to_rfc3339());
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

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for ManualBreaker {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        super::guard(
            self,
            ctx,
            "manual_breaker",
            |_| {},
            |_| panic!("injected fault"),
        );
    }
}
