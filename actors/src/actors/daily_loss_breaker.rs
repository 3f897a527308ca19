//! DailyLossBreaker: owns the session's open value; judges each snapshot and forgets the old
//! session at each open.

use super::health::HealthBoard;
use super::messages::{BreakerFailed, EvaluateSnapshots, ReadBreaker, Rearm, Tick, TripReport};
use super::{guard, Supervisor};
use crate::breaker::{BreakerKind, Trip};
use crate::checkpoint::StrategyCheckpoint;
use crate::rules::{DailyLossLimit, DailyLossRule, DailyLossState, MarketSession};
use actix::prelude::*;
use rust_decimal::Decimal;
use std::sync::Arc;

const KIND: BreakerKind = BreakerKind::DailyLoss;

/// The daily loss breaker actor.
pub struct DailyLossBreaker {
    limit: DailyLossLimit,
    market: MarketSession,
    rule: DailyLossRule,
    saved: Option<DailyLossState>,
    checkpoint: StrategyCheckpoint,
    supervisor: Addr<Supervisor>,
    health: Arc<HealthBoard>,
}

impl DailyLossBreaker {
    /// A breaker with `limit` on `market`, resuming the checkpointed session.
    pub fn new(
        limit: DailyLossLimit,
        market: MarketSession,
        checkpoint: StrategyCheckpoint,
        supervisor: Addr<Supervisor>,
        health: Arc<HealthBoard>,
    ) -> Self {
        let mut me = Self {
            limit,
            rule: DailyLossRule::new(limit, market.clone()),
            market,
            saved: None,
            checkpoint,
            supervisor,
            health,
        };
        me.reload();
        me
    }

    fn reload(&mut self) {
        self.rule = DailyLossRule::new(self.limit, self.market.clone());
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

    /// Profit or loss since the open, for the portfolio view.
    pub fn daily_pnl(&self) -> Option<Decimal> {
        self.rule.daily_pnl()
    }
}

impl Actor for DailyLossBreaker {
    type Context = Context<Self>;
}

impl Supervised for DailyLossBreaker {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.reload();
    }
}

impl Handler<EvaluateSnapshots> for DailyLossBreaker {
    type Result = ResponseFuture<Result<(), BreakerFailed>>;

    fn handle(&mut self, msg: EvaluateSnapshots, ctx: &mut Context<Self>) -> Self::Result {
        let health = self.health.clone();
        let verdict = guard(
            self,
            ctx,
            "daily_loss_breaker",
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

impl Handler<Tick> for DailyLossBreaker {
    type Result = ();

    fn handle(&mut self, msg: Tick, _: &mut Context<Self>) {
        if self.rule.on_session_open(msg.now) {
            tracing::info!(at = %msg.now, "daily loss: new session, waiting for the first snapshot");
        }
    }
}

impl Handler<Rearm> for DailyLossBreaker {
    type Result = Option<Trip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        self.rule.rearm();
        self.rule.evaluate(msg.now)
    }
}

impl Handler<ReadBreaker> for DailyLossBreaker {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.rule.reading(true))
    }
}

/// Asks for the profit or loss since the session's open.
#[derive(Message)]
#[rtype(result = "Option<Decimal>")]
pub struct ReadDailyPnl;

impl Handler<ReadDailyPnl> for DailyLossBreaker {
    type Result = Option<Decimal>;

    fn handle(&mut self, _: ReadDailyPnl, _: &mut Context<Self>) -> Self::Result {
        self.daily_pnl()
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for DailyLossBreaker {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        let health = self.health.clone();
        guard(
            self,
            ctx,
            "daily_loss_breaker",
            |_| health.set_ready(KIND, false),
            |_| panic!("injected fault"),
        );
    }
}
