//! DrawdownBreaker: owns the high-water mark; judges each snapshot.

use super::health::HealthBoard;
use super::messages::{BreakerFailed, EvaluateSnapshots, ReadBreaker, Rearm, TripReport};
use super::{guard, Supervisor};
use crate::breaker::BreakerKind;
use crate::checkpoint::StrategyCheckpoint;
use crate::rules::{DrawdownRule, DrawdownState};
use actix::prelude::*;
use rust_decimal::Decimal;
use std::sync::Arc;

const KIND: BreakerKind = BreakerKind::Drawdown;

/// The drawdown breaker actor.
pub struct DrawdownBreaker {
    threshold: Decimal,
    rule: DrawdownRule,
    saved: Option<DrawdownState>,
    checkpoint: StrategyCheckpoint,
    supervisor: Addr<Supervisor>,
    health: Arc<HealthBoard>,
}

impl DrawdownBreaker {
    /// A breaker at `threshold`, resuming the checkpointed high-water mark.
    pub fn new(
        threshold: Decimal,
        checkpoint: StrategyCheckpoint,
        supervisor: Addr<Supervisor>,
        health: Arc<HealthBoard>,
    ) -> Self {
        let mut me = Self {
            threshold,
            rule: DrawdownRule::new(threshold),
            saved: None,
            checkpoint,
            supervisor,
            health,
        };
        me.reload();
        me
    }

    fn reload(&mut self) {
        self.rule = DrawdownRule::new(self.threshold);
        // A corrupt record was caught at engine start (it starts halted); here it reads as none.
        self.saved = self.checkpoint.load_breaker(KIND).ok().flatten();
        if let Some(state) = self.saved {
            self.rule.restore(state);
        }
        self.health.set_ready(KIND, false);
    }

    fn persist(&mut self) {
        let now = self.rule.durable_state();
        if now != self.saved {
            if let Some(state) = &now {
                self.checkpoint.stage_breaker(KIND, state);
            }
            self.saved = now;
        }
    }
}

impl Actor for DrawdownBreaker {
    type Context = Context<Self>;
}

impl Supervised for DrawdownBreaker {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.reload();
    }
}

impl Handler<EvaluateSnapshots> for DrawdownBreaker {
    type Result = ResponseFuture<Result<(), BreakerFailed>>;

    fn handle(&mut self, msg: EvaluateSnapshots, ctx: &mut Context<Self>) -> Self::Result {
        let health = self.health.clone();
        let verdict = guard(
            self,
            ctx,
            "drawdown_breaker",
            |_| health.set_ready(KIND, false),
            |act| {
                let mut first_trip = None;
                for v in msg.0.iter() {
                    match act.rule.on_snapshot(v.value, v.at) {
                        Ok(Some(trip)) if first_trip.is_none() => first_trip = Some(trip),
                        Ok(_) => {}
                        // The feed validated it; a rule that disagrees keeps its state and says so.
                        Err(e) => tracing::warn!(error = %e, "breaker refused a snapshot"),
                    }
                }
                act.persist();
                first_trip
            },
        );
        let Some(verdict) = verdict else {
            return Box::pin(async { Err(BreakerFailed { breaker: KIND }) });
        };
        let trip = verdict;
        if self.rule.has_input() {
            self.health.set_ready(KIND, true);
        }
        // Sent now, not when the future is first polled: the trip is queued at the Supervisor
        // before this breaker handles anything else.
        let reported = trip.map(|trip| self.supervisor.send(TripReport(trip)));
        Box::pin(async move {
            if let Some(r) = reported {
                let _ = r.await;
            }
            Ok(())
        })
    }
}

impl Handler<Rearm> for DrawdownBreaker {
    type Result = Option<crate::breaker::Trip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        self.rule.rearm(msg.rebase_high_water_mark);
        self.persist();
        self.rule.evaluate(msg.now)
    }
}

impl Handler<ReadBreaker> for DrawdownBreaker {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.rule.reading(true))
    }
}

/// Drawdown figures the ledger feed reports in the portfolio view.
#[derive(Message)]
#[rtype(result = "(Option<Decimal>, Option<Decimal>)")]
pub struct ReadHighWaterMark;

impl Handler<ReadHighWaterMark> for DrawdownBreaker {
    type Result = MessageResult<ReadHighWaterMark>;

    fn handle(&mut self, _: ReadHighWaterMark, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.rule.high_water_mark(), self.rule.drawdown()))
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for DrawdownBreaker {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        let health = self.health.clone();
        guard(
            self,
            ctx,
            "drawdown_breaker",
            |_| health.set_ready(KIND, false),
            |_| panic!("injected fault"),
        );
    }
}
