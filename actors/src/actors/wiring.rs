//! Wiring: starts each breaker of the registry ([`crate::breakers`]) in its shell and routes
//! its input: valuations from the ledger feed, error reports from the host, nothing but time
//! for the silence timers. The one place that turns the registry into actors.

use super::breaker::{Breaker, RuleFactory};
use super::ledger_feed::PortfolioBreakers;
use super::messages::Evaluate;
use super::supervisor::BreakerLink;
use super::{Links, OrderGate};
use crate::breaker::Rule;
use crate::breakers::ErrorArrival;
use crate::breakers::{ActorBreaker, RuleContext, Shells, WindowBreaker};
use crate::checkpoint::{CheckpointError, StrategyCheckpoint};
use crate::clock::SharedClock;
use crate::decision::DecisionCore;
use crate::domain::Valuation;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use std::any::Any;
use std::sync::Arc;

/// Hands a breaker's address to whatever delivers its input: valuations from the ledger feed,
/// error reports from the host; a silence timer (`DateTime<Utc>`) needs only ticks.
fn route<I: Send + Sync + 'static>(to: Recipient<Evaluate<I>>, wiring: &mut Wiring) {
    let any: Box<dyn Any> = Box::new(to);
    let any = match any.downcast::<Recipient<Evaluate<Valuation>>>() {
        Ok(to) => return wiring.portfolio.push(*to),
        Err(other) => other,
    };
    let any = match any.downcast::<Recipient<Evaluate<ErrorArrival>>>() {
        Ok(to) => {
            wiring.errors = Some(*to);
            return;
        }
        Err(other) => other,
    };
    if !any.is::<Recipient<Evaluate<DateTime<Utc>>>>() {
        // A new input type needs its source here; the registry test starts every breaker.
        wiring.unrouted.push(std::any::type_name::<I>());
    }
}

/// Starts breakers for one strategy, collecting the links the Supervisor and the host use.
pub struct Wiring {
    context: RuleContext,
    checkpoint: StrategyCheckpoint,
    core: Arc<DecisionCore>,
    clock: SharedClock,
    links: Links,
    /// Each started breaker, for the Supervisor (ticks, re-arm, readings).
    pub started: Vec<BreakerLink>,
    /// The breakers the ledger feed hands valuations to.
    pub portfolio: PortfolioBreakers,
    /// The breaker the host's error reports go to.
    pub errors: Option<Recipient<Evaluate<ErrorArrival>>>,
    /// Input types no source delivers (none, or a breaker would never be fed).
    pub unrouted: Vec<&'static str>,
}

impl Wiring {
    /// Wiring for one strategy's breakers.
    pub fn new(
        context: RuleContext,
        checkpoint: StrategyCheckpoint,
        core: Arc<DecisionCore>,
        clock: SharedClock,
        links: Links,
    ) -> Self {
        Self {
            context,
            checkpoint,
            core,
            clock,
            links,
            started: Vec::new(),
            portfolio: Vec::new(),
            errors: None,
            unrouted: Vec::new(),
        }
    }
}

impl Shells for Wiring {
    fn actor<B: ActorBreaker>(&mut self, settings: &B::Settings) {
        let (s, context) = (settings.clone(), self.context.clone());
        let make: RuleFactory<B> = Arc::new(move || B::build(&s, &context));
        let reset = B::reset(settings);
        let (cp, core, clock, links) = (
            self.checkpoint.clone(),
            self.core.clone(),
            self.clock.clone(),
            self.links.clone(),
        );
        let addr =
            actix::Supervisor::start(move |_| Breaker::new(make, reset, cp, core, clock, links));
        self.started.push(BreakerLink::of(B::KIND, &addr));
        route(addr.recipient::<Evaluate<B::Input>>(), self);
    }

    fn window<B: WindowBreaker>(&mut self, settings: &B::Settings) {
        let (core, links, reset) = (self.core.clone(), self.links.clone(), B::reset(settings));
        let addr =
            actix::Supervisor::start(move |_| OrderGate::window(core, B::KIND, reset, links));
        self.started.push(BreakerLink::of(B::KIND, &addr));
    }
}

/// Reads every enabled breaker's durable record once, before anything starts: the first that
/// cannot be read (the engine then starts halted).
pub struct DurableCheck<'a> {
    checkpoint: &'a StrategyCheckpoint,
    /// The first unreadable record.
    pub problem: Option<CheckpointError>,
}

impl<'a> DurableCheck<'a> {
    /// A check against `checkpoint`.
    pub fn new(checkpoint: &'a StrategyCheckpoint) -> Self {
        Self {
            checkpoint,
            problem: None,
        }
    }
}

impl Shells for DurableCheck<'_> {
    fn actor<B: ActorBreaker>(&mut self, _: &B::Settings) {
        if self.problem.is_none() {
            self.problem = self
                .checkpoint
                .load_breaker::<<B as Rule>::Durable>(B::KIND)
                .err();
        }
    }

    fn window<B: WindowBreaker>(&mut self, _: &B::Settings) {}
}
