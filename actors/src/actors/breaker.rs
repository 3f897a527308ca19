//! Breaker: the one shell every breaker rule runs in. It feeds the rule, stages its durable
//! state in the checkpoint, closes the gate the instant the rule trips and then reports the
//! trip to the Supervisor, reports auto-reset clears, and answers readings.

use super::messages::{ClearReport, Evaluate, ReadBreaker, Rearm, Tick, TripReport};
use super::{guard, mark_ready, supervisee, Links, Supervisee};
use crate::breaker::{BreakerReading, ResetPolicy, Rule, Trip, Verdict};
use crate::checkpoint::StrategyCheckpoint;
use crate::clock::SharedClock;
use crate::decision::{DecisionCore, NumberedTrip};
use crate::supervision::ActorName;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Makes a fresh rule: at start, and again on every restart before the durable state is
/// restored.
pub type RuleFactory<R> = Arc<dyn Fn() -> R + Send + Sync>;

/// A breaker actor around rule `R`.
pub struct Breaker<R: Rule> {
    make: RuleFactory<R>,
    rule: R,
    reset: ResetPolicy,
    saved: Option<R::Durable>,
    checkpoint: StrategyCheckpoint,
    core: Arc<DecisionCore>,
    clock: SharedClock,
    links: Links,
}

impl<R: Rule> Breaker<R> {
    /// A breaker resuming its rule's durable state from `checkpoint`.
    pub fn new(
        make: RuleFactory<R>,
        reset: ResetPolicy,
        checkpoint: StrategyCheckpoint,
        core: Arc<DecisionCore>,
        clock: SharedClock,
        links: Links,
    ) -> Self {
        let mut me = Self {
            rule: make(),
            make,
            reset,
            saved: None,
            checkpoint,
            core,
            clock,
            links,
        };
        me.reload();
        me
    }

    fn act_on(&self, verdict: Verdict, at: DateTime<Utc>) {
        match verdict {
            Verdict::Quiet => {}
            Verdict::Trip(trip) => self.trip(trip),
            Verdict::Cleared if self.reset == ResetPolicy::Auto => {
                self.links.supervisor.do_send(ClearReport {
                    breaker: self.rule.kind(),
                    at,
                })
            }
            Verdict::Cleared => {}
        }
    }

    /// Closes the gate first, then tells the Supervisor: the gate never waits on the checkpoint.
    ///
    /// The report is queued before this message is answered, so whatever the host sends the
    /// Supervisor next (a status read, a reset request) finds the trip applied.
    fn trip(&self, trip: Trip) {
        let numbered = self.core.close_for(trip);
        self.links.supervisor.do_send(TripReport(numbered));
    }

    fn persist(&mut self) {
        let now = self.rule.durable_state();
        if now != self.saved {
            if let Some(state) = &now {
                self.checkpoint.stage_breaker(self.rule.kind(), state);
            }
            self.saved = now;
        }
    }
}

impl<R: Rule> Supervisee for Breaker<R> {
    fn name(&self) -> ActorName {
        ActorName::Breaker(self.rule.kind())
    }

    fn links(&self) -> &Links {
        &self.links
    }

    fn reload(&mut self) {
        self.rule = (self.make)();
        // An unreadable record was caught at engine start (the engine starts halted); here it
        // reads as none.
        self.saved = self
            .checkpoint
            .load_breaker::<R::Durable>(self.rule.kind())
            .ok()
            .flatten();
        if let Some(state) = self.saved.clone() {
            self.rule.restore(state);
        }
    }

    fn can_judge(&self) -> bool {
        self.rule.has_input()
    }
}

supervisee!(Breaker<R>, R: Rule);

impl<R: Rule> Actor for Breaker<R> {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        mark_ready(self);
    }
}

impl<R: Rule> Handler<Evaluate<R::Input>> for Breaker<R> {
    type Result = ();

    fn handle(&mut self, msg: Evaluate<R::Input>, ctx: &mut Context<Self>) {
        let verdicts = guard(self, ctx, |act| {
            let mut verdicts = Vec::new();
            for input in msg.0.iter() {
                match act.rule.evaluate(input) {
                    Ok(Verdict::Quiet) => {}
                    Ok(v) => verdicts.push(v),
                    // The edge validated it; a rule that disagrees keeps its state and says so.
                    Err(e) => {
                        tracing::warn!(breaker = %act.rule.kind(), error = %e, "breaker refused an input")
                    }
                }
            }
            act.persist();
            verdicts
        });
        let now = self.clock.now();
        for v in verdicts.into_iter().flatten() {
            self.act_on(v, now);
        }
        mark_ready(self);
        // Judged and the gate closed for any trip: the host may hear now.
        drop(msg.1);
    }
}

impl<R: Rule> Handler<Tick> for Breaker<R> {
    type Result = ();

    fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) {
        if let Some(v) = guard(self, ctx, |act| act.rule.on_tick(msg.now)) {
            self.act_on(v, msg.now);
        }
    }
}

impl<R: Rule> Handler<Rearm> for Breaker<R> {
    type Result = Option<NumberedTrip>;

    fn handle(&mut self, msg: Rearm, ctx: &mut Context<Self>) -> Self::Result {
        let trip = guard(self, ctx, |act| {
            let trip = act.rule.rearm(msg.rebase_high_water_mark, msg.now);
            act.persist();
            trip
        })
        .flatten()?;
        Some(self.core.close_for(trip))
    }
}

impl<R: Rule> Handler<ReadBreaker> for Breaker<R> {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        let mut reading: BreakerReading = self.rule.reading(self.clock.now());
        reading.ready = reading.ready && self.links.health.is_ready(self.name());
        MessageResult(reading)
    }
}
