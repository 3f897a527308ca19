//! OrderRateBreaker: owns the sliding window of submissions; the gate asks it about each one.

use super::health::HealthBoard;
use super::messages::{BreakerFailed, ClearReport, ReadBreaker, Rearm, Tick, TripReport};
use super::{guard, Supervisor};
use crate::breaker::{BreakerKind, ResetPolicy, Trip};
use crate::rules::{OrderRateRule, OrderVerdict};
use crate::settings::OrderRateSettings;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::sync::Arc;

const KIND: BreakerKind = BreakerKind::OrderRate;

/// Counts one submission. Resolves with the verdict once any trip it caused is in force.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<bool, BreakerFailed>")]
pub struct RecordSubmission {
    /// The engine clock's time.
    pub at: DateTime<Utc>,
}

/// The order rate breaker actor.
pub struct OrderRateBreaker {
    settings: OrderRateSettings,
    rule: OrderRateRule,
    supervisor: Addr<Supervisor>,
    health: Arc<HealthBoard>,
}

impl OrderRateBreaker {
    /// A breaker with these settings. Its window is not checkpointed: it is at most a few
    /// minutes long, and a restart that forgets it errs on the side of the gate being closed
    /// only by the other breakers.
    pub fn new(
        settings: OrderRateSettings,
        supervisor: Addr<Supervisor>,
        health: Arc<HealthBoard>,
    ) -> Self {
        Self {
            rule: OrderRateRule::new(settings.max_orders, settings.window),
            settings,
            supervisor,
            health,
        }
    }
}

impl Actor for OrderRateBreaker {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.health.set_ready(KIND, true);
    }
}

impl Supervised for OrderRateBreaker {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.rule = OrderRateRule::new(self.settings.max_orders, self.settings.window);
    }
}

impl Handler<RecordSubmission> for OrderRateBreaker {
    /// `Ok(true)`: within the limit.
    type Result = ResponseFuture<Result<bool, BreakerFailed>>;

    fn handle(&mut self, msg: RecordSubmission, ctx: &mut Context<Self>) -> Self::Result {
        let health = self.health.clone();
        let verdict = guard(
            self,
            ctx,
            "order_rate_breaker",
            |_| health.set_ready(KIND, false),
            |act| act.rule.on_submission(msg.at),
        );
        let (answer, reported) = match verdict {
            None => (Err(BreakerFailed { breaker: KIND }), None),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "order rate breaker refused a submission time");
                (Ok(false), None)
            }
            Some(Ok(OrderVerdict::WithinLimit)) => (Ok(true), None),
            // Sent now so the trip is queued at the Supervisor before anything else happens.
            Some(Ok(OrderVerdict::OverLimit(trip))) => {
                (Ok(false), trip.map(|t| self.supervisor.send(TripReport(t))))
            }
        };
        Box::pin(async move {
            if let Some(r) = reported {
                let _ = r.await;
            }
            answer
        })
    }
}

impl Handler<Tick> for OrderRateBreaker {
    type Result = ();

    fn handle(&mut self, msg: Tick, _: &mut Context<Self>) {
        if self.settings.reset == ResetPolicy::Auto && self.rule.cleared(msg.now) {
            self.supervisor.do_send(ClearReport {
                breaker: KIND,
                at: msg.now,
            });
        }
    }
}

impl Handler<Rearm> for OrderRateBreaker {
    type Result = Option<Trip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        self.rule.rearm(msg.now)
    }
}

impl Handler<ReadBreaker> for OrderRateBreaker {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.rule.reading(true))
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for OrderRateBreaker {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        let health = self.health.clone();
        guard(
            self,
            ctx,
            "order_rate_breaker",
            |_| health.set_ready(KIND, false),
            |_| panic!("injected fault"),
        );
    }
}
