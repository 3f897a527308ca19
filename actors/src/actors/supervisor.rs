//! Supervisor: owns the global state machine. Every trip, clear, halt and reset passes through
//! it: it closes the gate in memory first, tells the host to cancel open orders, checkpoints
//! the transition (flushed) and only then answers, publishes events and raises alerts.

use super::alert_dispatcher::{AlertDispatcher, Dispatch};
use super::daily_loss_breaker::DailyLossBreaker;
use super::drawdown_breaker::DrawdownBreaker;
use super::error_rate_breaker::ErrorRateBreaker;
use super::ledger_feed::LedgerFeed;
use super::messages::{
    CancelAllOrders, CancelSink, ClearReport, GateUpdate, Rearm, Tick, TripReport,
};
use super::order_gate::OrderGate;
use super::order_rate_breaker::OrderRateBreaker;
use crate::alerts::{Alert, AlertEventType};
use crate::breaker::{BreakerKind, Trip};
use crate::checkpoint::{CheckpointError, StrategyCheckpoint};
use crate::clock::SharedClock;
use crate::error::EngineError;
use crate::events::*;
use crate::state_machine::{EngineState, StateMachine, StateRecord, Transition, Trigger};
use actix::prelude::*;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tokio::sync::broadcast;

/// The token and deadline of a requested reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetTicket {
    /// Always RESETTING.
    pub state: EngineState,
    /// Hand it back to confirm.
    pub confirmation_token: String,
    /// After this the request lapses.
    pub expires_at: DateTime<Utc>,
}

/// Halt (from the ManualBreaker).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct ApplyHalt {
    /// Who.
    pub operator: String,
    /// Why.
    pub reason: String,
}

/// Reset request (from the ManualBreaker).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<ResetTicket, EngineError>")]
pub struct ApplyResetRequest {
    /// Who.
    pub operator: String,
    /// Why.
    pub reason: Option<String>,
}

/// Reset confirmation (from the ManualBreaker).
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<StateRecord, EngineError>")]
pub struct ApplyResetConfirm {
    /// Who.
    pub operator: String,
    /// The token.
    pub token: String,
    /// Rebase the drawdown high-water mark.
    pub rebase_high_water_mark: bool,
}

/// Asks for the state record and whether the checkpoint is degraded.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "(StateRecord, Option<String>)")]
pub struct ReadState;

/// The actors the Supervisor drives.
#[derive(Clone, Default)]
pub struct Crew {
    /// Ledger feed (owns the stale-feed rule).
    pub feed: Option<Addr<LedgerFeed>>,
    /// Order gate.
    pub gate: Option<Addr<OrderGate>>,
    /// Drawdown breaker, if enabled.
    pub drawdown: Option<Addr<DrawdownBreaker>>,
    /// Daily loss breaker, if enabled.
    pub daily_loss: Option<Addr<DailyLossBreaker>>,
    /// Order rate breaker, if enabled.
    pub order_rate: Option<Addr<OrderRateBreaker>>,
    /// Error rate breaker (always present for the error log).
    pub error_rate: Option<Addr<ErrorRateBreaker>>,
    /// Alert dispatcher.
    pub dispatcher: Option<Addr<AlertDispatcher>>,
}

/// The supervisor actor.
pub struct Supervisor {
    strategy: String,
    machine: StateMachine,
    checkpoint: StrategyCheckpoint,
    clock: SharedClock,
    reset_ttl: Duration,
    tick_interval: Option<std::time::Duration>,
    crew: Crew,
    events: broadcast::Sender<EngineEvent>,
    cancel: CancelSink,
    /// A transition to write at start (resuming from an unreadable checkpoint).
    startup: Vec<Transition>,
}

impl Supervisor {
    /// A supervisor resuming `machine`; `startup` transitions are checkpointed first thing.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        strategy: String,
        machine: StateMachine,
        startup: Vec<Transition>,
        checkpoint: StrategyCheckpoint,
        clock: SharedClock,
        reset_ttl: Duration,
        tick_interval: Option<std::time::Duration>,
        events: broadcast::Sender<EngineEvent>,
        cancel: CancelSink,
    ) -> Self {
        Self {
            strategy,
            machine,
            checkpoint,
            clock,
            reset_ttl,
            tick_interval,
            crew: Crew::default(),
            events,
            cancel,
            startup,
        }
    }

    /// Hands over the actors, once they exist.
    pub fn set_crew(&mut self, crew: Crew) {
        self.crew = crew;
    }

    /// What the gate must be told now.
    pub fn gate_update(&self) -> GateUpdate {
        let record = self.machine.record();
        GateUpdate {
            state: record.state,
            breaker: record.tripped.first().map(|(k, _)| *k),
            reason: record.reason.clone(),
        }
    }

    fn tell_gate(&self) {
        if let Some(gate) = &self.crew.gate {
            gate.do_send(self.gate_update());
        }
    }

    fn cancel_open_orders(&self, transitions: &[Transition]) {
        if let Some(t) = transitions.iter().rev().find(|t| {
            matches!(t.to, EngineState::Tripped | EngineState::ManuallyHalted) && t.from != t.to
        }) {
            self.cancel.send(CancelAllOrders {
                strategy: self.strategy.clone(),
                state: t.to,
                reason: self.machine.record().reason.clone().unwrap_or_default(),
                at: t.at,
            });
        }
    }

    fn publish(&self, events: Vec<EngineEvent>) {
        for e in events {
            let _ = self.events.send(e);
        }
    }

    fn state_events(&self, transitions: &[Transition]) -> Vec<EngineEvent> {
        transitions
            .iter()
            .map(|t| {
                EngineEvent::StateChanged(StateChangedEvent {
                    strategy: self.strategy.clone(),
                    transition: t.clone(),
                })
            })
            .collect()
    }

    fn alert(
        &self,
        event_type: AlertEventType,
        breaker: BreakerKind,
        summary: String,
        details: BTreeMap<String, String>,
        at: DateTime<Utc>,
    ) -> Alert {
        Alert {
            id: format!("msg_{}", random_token(24)),
            event_type,
            strategy_name: self.strategy.clone(),
            circuit_breaker_type: breaker,
            details,
            timestamp: at,
            summary,
            state: self.machine.state(),
            suppressed_since_last: 0,
        }
    }

    fn dispatch(&self, alerts: Vec<Alert>) {
        if let Some(d) = &self.crew.dispatcher {
            for a in alerts {
                d.do_send(Dispatch(a));
            }
        }
    }

    fn trip_outputs(&self, trip: &Trip) -> (EngineEvent, Alert) {
        (
            EngineEvent::CircuitBreakerTripped(CircuitBreakerTrippedEvent {
                strategy: self.strategy.clone(),
                trip: trip.clone(),
            }),
            self.alert(
                AlertEventType::CircuitBreakerTripped,
                trip.breaker,
                format!(
                    "{} {}",
                    trip.breaker,
                    trip.summary
                        .trim_start_matches(trip.breaker.as_str())
                        .trim()
                ),
                trip.details.clone(),
                trip.at,
            ),
        )
    }

    /// Checkpoints, then publishes and alerts; the mailbox waits meanwhile, so nobody reads a
    /// state that is not yet durable.
    fn persist_then(
        &mut self,
        ctx: &mut Context<Self>,
        transitions: Vec<Transition>,
        events: Vec<EngineEvent>,
        alerts: Vec<Alert>,
    ) {
        if transitions.is_empty() {
            self.publish(events);
            self.dispatch(alerts);
            return;
        }
        let record = self.machine.record().clone();
        let cp = self.checkpoint.clone();
        ctx.wait(
            async move {
                // Let the breaker, the feed and the host run first: the gate is already closed,
                // and the trip's latency should not carry the checkpoint's work.
                tokio::task::yield_now().await;
                cp.commit(&record, &transitions).await.map(|_| transitions)
            }
            .into_actor(self)
            .map(move |res, act, _| match res {
                    Ok(transitions) => {
                        for t in &transitions {
                            tracing::warn!(from = %t.from, to = %t.to, cause = %t.cause, "state transition");
                        }
                        for e in &events {
                            if let EngineEvent::CircuitBreakerTripped(t) = e {
                                tracing::error!(breaker = %t.trip.breaker, summary = %t.trip.summary, "circuit breaker tripped");
                            }
                        }
                        let mut all = act.state_events(&transitions);
                        all.extend(events);
                        act.publish(all);
                        act.dispatch(alerts);
                    }
                    Err(e) => tracing::error!(error = %e, "checkpoint of a transition failed"),
                }),
        );
    }

    fn tick_all(&self, now: DateTime<Utc>) {
        let tick = Tick { now };
        if let Some(a) = &self.crew.feed {
            a.do_send(tick);
        }
        if let Some(a) = &self.crew.daily_loss {
            a.do_send(tick);
        }
        if let Some(a) = &self.crew.order_rate {
            a.do_send(tick);
        }
        if let Some(a) = &self.crew.error_rate {
            a.do_send(tick);
        }
    }
}

/// A random token of `len` alphanumeric characters.
pub fn random_token(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&rand::distributions::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let startup = std::mem::take(&mut self.startup);
        if !startup.is_empty() {
            let events = self.state_events(&startup);
            self.persist_then(ctx, startup, events, Vec::new());
        }
        if let Some(every) = self.tick_interval {
            ctx.run_interval(every, |act, ctx| {
                let now = act.clock.now();
                act.tick_all(now);
                ctx.notify(Tick { now });
            });
        }
    }
}

impl Handler<TripReport> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: TripReport, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let trip = msg.0;
        let mut transitions: Vec<Transition> = self.machine.expire(now).into_iter().collect();
        let applied = self.machine.apply(Trigger::Trip(trip.clone()), now);
        transitions.extend(applied.ok().flatten());
        // Fail closed in memory first: the gate hears before the caller is answered.
        self.tell_gate();
        self.cancel_open_orders(&transitions);
        let (event, alert) = self.trip_outputs(&trip);
        self.persist_then(ctx, transitions, vec![event], vec![alert]);
    }
}

impl Handler<ClearReport> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: ClearReport, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        let mut transitions: Vec<Transition> = self.machine.expire(now).into_iter().collect();
        let was_tripped = self.machine.tripped_breakers().contains(&msg.breaker);
        transitions.extend(
            self.machine
                .apply(Trigger::Clear(msg.breaker), now)
                .ok()
                .flatten(),
        );
        let mut events = Vec::new();
        if was_tripped {
            events.push(EngineEvent::BreakerCleared(BreakerClearedEvent {
                strategy: self.strategy.clone(),
                breaker: msg.breaker,
                at: msg.at,
            }));
        }
        if transitions.is_empty() {
            self.publish(events);
            return;
        }
        // Opening the gate waits for the checkpoint; closing never does.
        let record = self.machine.record().clone();
        let cp = self.checkpoint.clone();
        ctx.wait(
            async move { cp.commit(&record, &transitions).await.map(|_| transitions) }
                .into_actor(self)
                .map(move |res, act, _| match res {
                    Ok(transitions) => {
                        act.tell_gate();
                        let mut all = act.state_events(&transitions);
                        all.extend(events);
                        act.publish(all);
                    }
                    Err(e) => tracing::error!(error = %e, "checkpoint of a clear failed: the gate stays closed"),
                }),
        );
    }
}

impl Handler<Tick> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: Tick, ctx: &mut Context<Self>) {
        if let Some(t) = self.machine.expire(msg.now) {
            self.tell_gate();
            let events = Vec::new();
            self.persist_then(ctx, vec![t], events, Vec::new());
        }
    }
}

/// Runs every engine actor's time-driven checks once, as of the clock's now.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct TickAll;

impl Handler<TickAll> for Supervisor {
    type Result = ();

    fn handle(&mut self, _: TickAll, ctx: &mut Context<Self>) {
        let now = self.clock.now();
        self.tick_all(now);
        <Self as Handler<Tick>>::handle(self, Tick { now }, ctx);
    }
}

impl Handler<ApplyHalt> for Supervisor {
    type Result = AtomicResponse<Self, Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyHalt, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let mut transitions: Vec<Transition> = self.machine.expire(now).into_iter().collect();
        let halted = self
            .machine
            .apply(
                Trigger::Halt {
                    operator: msg.operator.clone(),
                    reason: msg.reason.clone(),
                },
                now,
            )
            .expect("a halt is never refused");
        let is_new = halted.is_some();
        transitions.extend(halted);
        self.tell_gate();
        self.cancel_open_orders(&transitions);
        let mut events = Vec::new();
        let mut alerts = Vec::new();
        if is_new {
            events.push(EngineEvent::ManualHalt(ManualHaltEvent {
                strategy: self.strategy.clone(),
                reason: msg.reason.clone(),
                operator: msg.operator.clone(),
                at: now,
            }));
            let mut details = BTreeMap::new();
            details.insert("operator".into(), msg.operator.clone());
            details.insert("reason".into(), msg.reason.clone());
            alerts.push(self.alert(
                AlertEventType::ManualHalt,
                BreakerKind::Manual,
                format!("manual halt by {}: {}", msg.operator, msg.reason),
                details,
                now,
            ));
        }
        commit_and_answer(self, transitions, events, alerts, |act| {
            Ok(act.machine.record().clone())
        })
    }
}

impl Handler<ApplyResetRequest> for Supervisor {
    type Result = AtomicResponse<Self, Result<ResetTicket, EngineError>>;

    fn handle(&mut self, msg: ApplyResetRequest, _: &mut Context<Self>) -> Self::Result {
        if let Some(why) = self.checkpoint.degraded() {
            let err = EngineError::Checkpoint(CheckpointError::Unavailable(format!(
                "{why}: resets are refused until the checkpoint is repaired"
            )));
            return AtomicResponse::new(Box::pin(fut::ready(Err(err))));
        }
        let now = self.clock.now();
        let mut transitions: Vec<Transition> = self.machine.expire(now).into_iter().collect();
        let token = random_token(32);
        let expires_at = now + self.reset_ttl;
        match self.machine.apply(
            Trigger::RequestReset {
                operator: msg.operator.clone(),
                token: token.clone(),
                expires_at,
            },
            now,
        ) {
            Ok(t) => transitions.extend(t),
            Err(e) => {
                // A lapse found on the way is still a transition to keep.
                let lapse = transitions;
                return commit_and_answer(self, lapse, Vec::new(), Vec::new(), move |_| {
                    Err(e.into())
                });
            }
        }
        self.tell_gate();
        let events = vec![EngineEvent::ResetRequested(ResetRequestedEvent {
            strategy: self.strategy.clone(),
            operator: msg.operator.clone(),
            expires_at,
            at: now,
        })];
        let mut details = BTreeMap::new();
        details.insert("operator".into(), msg.operator.clone());
        details.insert("expires_at".into(), expires_at.to_rfc3339());
        if let Some(r) = &msg.reason {
            details.insert("reason".into(), r.clone());
        }
        let alerts = vec![self.alert(
            AlertEventType::ResetRequested,
            BreakerKind::Manual,
            format!(
                "reset requested by {}; it needs a confirmation before {expires_at}",
                msg.operator
            ),
            details,
            now,
        )];
        commit_and_answer(self, transitions, events, alerts, move |_| {
            Ok(ResetTicket {
                state: EngineState::Resetting,
                confirmation_token: token,
                expires_at,
            })
        })
    }
}

impl Handler<ApplyResetConfirm> for Supervisor {
    type Result = AtomicResponse<Self, Result<StateRecord, EngineError>>;

    fn handle(&mut self, msg: ApplyResetConfirm, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        let before = self.machine.clone();
        let confirmed = match self.machine.apply(
            Trigger::ConfirmReset {
                operator: msg.operator.clone(),
                token: msg.token.clone(),
            },
            now,
        ) {
            Ok(t) => t,
            Err(e) => {
                let lapse: Vec<Transition> = self.machine.expire(now).into_iter().collect();
                if !lapse.is_empty() {
                    self.tell_gate();
                }
                return commit_and_answer(self, lapse, Vec::new(), Vec::new(), move |_| {
                    Err(e.into())
                });
            }
        };
        let mut transitions: Vec<Transition> = confirmed.into_iter().collect();
        // Before the gate opens, every breaker judges its current input again; one whose
        // condition still holds trips at once and the gate never opens.
        let rearm = Rearm {
            rebase_high_water_mark: msg.rebase_high_water_mark,
            now,
        };
        let crew = self.crew.clone();
        let rearmed = async move {
            let mut trips = Vec::new();
            macro_rules! ask {
                ($a:expr) => {
                    if let Some(a) = &$a {
                        if let Ok(Some(t)) = a.send(rearm).await {
                            trips.push(t);
                        }
                    }
                };
            }
            ask!(crew.drawdown);
            ask!(crew.daily_loss);
            ask!(crew.order_rate);
            ask!(crew.error_rate);
            ask!(crew.feed);
            trips
        };
        let operator = msg.operator.clone();
        AtomicResponse::new(Box::pin(rearmed.into_actor(self).then(
            move |trips, act, _| {
                let mut events = vec![EngineEvent::ResetConfirmed(ResetConfirmedEvent {
                    strategy: act.strategy.clone(),
                    operator: operator.clone(),
                    at: now,
                })];
                let mut details = BTreeMap::new();
                details.insert("operator".into(), operator.clone());
                let mut alerts = vec![act.alert(
                    AlertEventType::ResetConfirmed,
                    BreakerKind::Manual,
                    format!("reset confirmed by {operator}: trading resumes"),
                    details,
                    now,
                )];
                for trip in trips {
                    transitions.extend(
                        act.machine
                            .apply(Trigger::Trip(trip.clone()), now)
                            .ok()
                            .flatten(),
                    );
                    let (e, a) = act.trip_outputs(&trip);
                    events.push(e);
                    alerts.push(a);
                }
                let record = act.machine.record().clone();
                let cp = act.checkpoint.clone();
                async move { cp.commit(&record, &transitions).await.map(|_| transitions) }
                    .into_actor(act)
                    .map(move |res, act, _| match res {
                        Ok(transitions) => {
                            act.tell_gate();
                            act.cancel_open_orders(&transitions);
                            let mut all = act.state_events(&transitions);
                            all.extend(events);
                            act.publish(all);
                            act.dispatch(alerts);
                            Ok(act.machine.record().clone())
                        }
                        Err(e) => {
                            // Not durable: take it back; the gate never opened.
                            act.machine = before;
                            Err(e.into())
                        }
                    })
            },
        )))
    }
}

/// Checkpoints `transitions`, then publishes, alerts and answers with `answer`. The gate was
/// already told of any closing; a failed checkpoint is reported to the caller.
fn commit_and_answer<T: 'static>(
    act: &mut Supervisor,
    transitions: Vec<Transition>,
    events: Vec<EngineEvent>,
    alerts: Vec<Alert>,
    answer: impl FnOnce(&mut Supervisor) -> Result<T, EngineError> + 'static,
) -> AtomicResponse<Supervisor, Result<T, EngineError>> {
    let record = act.machine.record().clone();
    let cp = act.checkpoint.clone();
    let nothing = transitions.is_empty();
    AtomicResponse::new(Box::pin(
        async move {
            if nothing {
                return Ok(transitions);
            }
            cp.commit(&record, &transitions).await.map(|_| transitions)
        }
        .into_actor(act)
        .map(move |res, act, _| match res {
            Ok(transitions) => {
                for t in &transitions {
                    tracing::warn!(from = %t.from, to = %t.to, cause = %t.cause, operator = ?t.operator, "state transition");
                }
                let mut all = act.state_events(&transitions);
                all.extend(events);
                act.publish(all);
                act.dispatch(alerts);
                answer(act)
            }
            Err(e) => Err(e.into()),
        }),
    ))
}

impl Handler<ReadState> for Supervisor {
    type Result = MessageResult<ReadState>;

    fn handle(&mut self, _: ReadState, _: &mut Context<Self>) -> Self::Result {
        MessageResult((
            self.machine.record().clone(),
            self.checkpoint.degraded().map(String::from),
        ))
    }
}
