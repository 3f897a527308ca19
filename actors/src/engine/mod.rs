//! Spawns one strategy's actors and hands back the handles hosts and operators use.
//! [`spawn_engine`] must run inside an actix runtime; [`crate::builder`] hides that.
//!
//! - [`EngineHandle`]: what a trading host calls: judge orders (in the caller's thread), push
//!   snapshots, fills and errors, read the state without a message, watch it, subscribe.
//! - [`OperatorHandle`]: what an operator calls: halt, request and confirm a reset.

use crate::actors::alert_dispatcher::{ReadDeliveries, SendNow, WaitIdle};
use crate::actors::ledger_feed::{FeedParts, PushSnapshots, ReadPortfolio, SubmitSnapshot};
use crate::actors::messages::{CancelSink, ReadBreaker, TripReport};
use crate::actors::supervisor::{
    read_breakers, resume_machine, ApplyFirm, ApplyHalt, ApplyResetConfirm, ApplyResetRequest,
    BreakerLink, ReadState, RecordExpired, StrategyActors, SupervisorParts, TickAll,
};
use crate::actors::wiring::{DurableCheck, Wiring};
use crate::actors::{AlertDispatcher, LedgerFeed, Links, ManualBreaker, OrderGate, Supervisor};
use crate::alerts::{Alert, AlertChannel, DeliveryRecord};
use crate::breaker::{BreakerKind, BreakerReading, Trip};
use crate::breakers::{ErrorArrival, OrderRateRule, PreTradeDenialRule};
use crate::breakers::{RuleContext, WindowBreaker};
use crate::checkpoint::{AuditEntry, StrategyCheckpoint};
use crate::clock::SharedClock;
use crate::decision::{DecisionCore, GateActivity, OrderDecision};
use crate::domain::{ErrorReport, Fill, InputError, OrderRequest, PortfolioSnapshot};
use crate::error::EngineError;
use crate::events::{ControlEvents, EngineEvent, TelemetryEvent};
use crate::pretrade::{DoneStatus, OpenOrder, PreTradeCheck};
use crate::rules::HostBeacon;
use crate::settings::StrategySettings;
use crate::state_machine::{EngineState, StateRecord};
use crate::supervision::{ActorHealth, ActorName, HealthBoard};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, watch};

pub use crate::actors::alert_dispatcher::DeliveryView;
pub use crate::actors::supervisor::ResetTicket;

/// What [`spawn_engine`] needs.
pub struct EngineParts {
    /// The strategy's settings.
    pub settings: StrategySettings,
    /// The clock every actor reads.
    pub clock: SharedClock,
    /// The strategy's checkpoint.
    pub checkpoint: StrategyCheckpoint,
    /// Alert channels (may be empty).
    pub channels: Vec<Arc<dyn AlertChannel>>,
    /// Where cancel-all orders go.
    pub cancel: CancelSink,
    /// The arbiter the alert dispatcher runs on (its own thread); `None`: the current one.
    pub alert_arbiter: Option<ArbiterHandle>,
}

pub use crate::state_machine::ENGINE_OPERATOR;
pub use spawn::spawn_engine;
pub use status::*;

mod operator;
mod spawn;
mod status;

const RECENT_ERRORS: usize = 200;

/// An error as logged, with the engine's time of receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedError {
    /// When the engine heard of it.
    pub received_at: DateTime<Utc>,
    /// The report.
    #[serde(flatten)]
    pub report: ErrorReport,
}

#[derive(Debug, Default)]
struct ErrorLog {
    recent: VecDeque<LoggedError>,
    totals: BTreeMap<String, u64>,
}

struct Inner {
    name: String,
    desk: Option<String>,
    core: Arc<DecisionCore>,
    supervisor: Addr<Supervisor>,
    feed: Addr<LedgerFeed>,
    /// Held for the test hook that makes it panic; the Supervisor holds it in service.
    #[cfg_attr(not(feature = "test-util"), allow(dead_code))]
    gate: Addr<OrderGate>,
    error_rate: Option<Recipient<crate::actors::messages::Evaluate<ErrorArrival>>>,
    manual: Addr<ManualBreaker>,
    dispatcher: Addr<AlertDispatcher>,
    breakers: Vec<BreakerLink>,
    health: Arc<HealthBoard>,
    control: Arc<ControlEvents>,
    telemetry: broadcast::Sender<TelemetryEvent>,
    clock: SharedClock,
    max_clock_skew: chrono::Duration,
    checkpoint: StrategyCheckpoint,
    errors: Mutex<ErrorLog>,
    beacon: Arc<HostBeacon>,
}

impl Inner {
    /// The host spoke: the dead-man's switch's timer restarts.
    fn heard(&self) {
        self.beacon.stamp(self.clock.now());
    }

    /// Day orders the order path closed as expired reach the audit trail and the event
    /// stream through the Supervisor: one message a session, never one per order.
    fn report_expired(&self) {
        if self.core.expired_waiting() {
            self.supervisor.do_send(RecordExpired);
        }
    }
}

impl EngineHandle {
    /// Stages the open orders changed since the gate last saved them (a graceful shutdown
    /// flushes them after).
    pub(crate) fn save_open_orders(&self) {
        self.inner.core.save_open_orders(&self.inner.checkpoint);
    }
}

/// The trading host's handle on one strategy's engine. Cheap to clone, usable from any
/// thread; [`EngineHandle::check_order`] decides in the calling thread.
#[derive(Clone)]
pub struct EngineHandle {
    inner: Arc<Inner>,
}

/// The operator's handle: halt and the two-step reset. Every call is durable when it returns.
#[derive(Clone)]
pub struct OperatorHandle {
    inner: Arc<Inner>,
}

fn required(field: &'static str, value: &str) -> Result<(), InputError> {
    if value.trim().is_empty() {
        return Err(InputError::Empty { field });
    }
    Ok(())
}

impl EngineHandle {
    /// The strategy's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Puts the bus-loss rule in force on this strategy's gate (`None` lifts it): set by the
    /// host's link to the firm's bus; orders are judged against it at once, without a message.
    pub fn set_bus_loss(&self, mode: Option<crate::decision::BusLossMode>) {
        self.inner.core.set_bus_loss(mode);
    }

    /// The bus-loss rule in force on this strategy's gate, if any.
    pub fn bus_loss(&self) -> Option<crate::decision::BusLossMode> {
        self.inner.core.bus_loss()
    }

    /// The strategy's desk label, if it has one.
    pub fn desk(&self) -> Option<&str> {
        self.inner.desk.as_deref()
    }

    /// The engine's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    /// The operator's side of this engine.
    pub fn operator(&self) -> OperatorHandle {
        OperatorHandle {
            inner: self.inner.clone(),
        }
    }

    /// Judges an order in the calling thread: no message, no wait on any actor. An engine that
    /// cannot judge (the Supervisor gone, an actor down) refuses with the reason. Bad input is
    /// an error naming the field and changes nothing.
    pub fn check_order(&self, order: OrderRequest) -> Result<OrderDecision, InputError> {
        order.validate()?;
        let i = &self.inner;
        i.heard();
        if let Some(at) = order.timestamp {
            InputError::check_not_ahead("timestamp", at, i.clock.now(), i.max_clock_skew)?;
        }
        if !i.supervisor.connected() {
            i.core.set_supervisor_alive(false);
        }
        let (decision, tripped) = i.core.decide(order, i.clock.as_ref());
        for trip in tripped {
            i.supervisor.do_send(TripReport(trip));
        }
        i.report_expired();
        Ok(decision)
    }

    /// Whether an order could pass now, read without a lock or message. The order rate is
    /// judged only by [`Self::check_order`].
    pub fn trading_allowed(&self) -> bool {
        self.inner.supervisor.connected() && self.inner.core.trading_allowed()
    }

    /// The state orders are judged against now, read without a lock or message.
    pub fn state(&self) -> EngineState {
        self.inner.core.effective_state()
    }

    /// A watch of the state: the newest value always kept, every change woken.
    pub fn watch_state(&self) -> watch::Receiver<EngineState> {
        self.inner.core.watch()
    }

    /// Submits a portfolio snapshot and waits until every portfolio breaker has judged it:
    /// when this returns, any trip it caused is already refusing orders. The trip's durable
    /// record, its events and alerts follow on the Supervisor's turn.
    pub async fn submit_snapshot(&self, snapshot: PortfolioSnapshot) -> Result<(), EngineError> {
        self.inner.heard();
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.inner.feed.do_send(SubmitSnapshot { snapshot, reply });
        // Dropped unanswered only when the feed stopped with it in its mailbox.
        answer
            .await
            .map_err(|_| EngineError::Unavailable("ledger feed stopped".into()))?
    }

    /// Submits snapshots, in order, without waiting; each breaker judges the batch in one
    /// message, exactly as it would one by one. [`Self::settle`] waits for them.
    pub fn push_snapshots(&self, snapshots: Vec<PortfolioSnapshot>) {
        self.inner.heard();
        self.inner.feed.do_send(PushSnapshots(snapshots));
    }

    /// Reports a fill: it moves the position, fills its open order (closed once fills reach
    /// its quantity) and sets the asset's reference price.
    pub fn report_fill(&self, fill: Fill) -> Result<(), InputError> {
        fill.validate()?;
        let i = &self.inner;
        i.heard();
        InputError::check_not_ahead("timestamp", fill.timestamp, i.clock.now(), i.max_clock_skew)?;
        self.inner.core.on_fill(fill)
    }

    /// An open order ended without filling completely (cancelled, expired, rejected by the
    /// broker): it no longer counts as open or toward positions after. An id the gate never
    /// accepted is refused ([`InputError::UnknownOrder`]); one already closed is a no-op.
    pub fn order_done(
        &self,
        order_id: &str,
        status: DoneStatus,
        timestamp: Option<DateTime<Utc>>,
    ) -> Result<(), InputError> {
        required("order_id", order_id)?;
        let i = &self.inner;
        i.heard();
        if let Some(at) = timestamp {
            InputError::check_not_ahead("timestamp", at, i.clock.now(), i.max_clock_skew)?;
        }
        let done = i.core.on_done(order_id, i.clock.now());
        i.report_expired();
        if let Some(order) = done? {
            tracing::debug!(strategy = %i.name, order_id, status = status.as_str(), remaining = %order.signed_remaining(), "order done");
        }
        Ok(())
    }

    /// Reference prices observed at `timestamp`; each replaces its asset's reference when it
    /// is the newest. Refused whole (nothing changed) when any price is not positive.
    pub fn post_prices(
        &self,
        timestamp: DateTime<Utc>,
        prices: Vec<(String, Decimal)>,
    ) -> Result<(), InputError> {
        let i = &self.inner;
        i.heard();
        InputError::check_not_ahead("timestamp", timestamp, i.clock.now(), i.max_clock_skew)?;
        for (asset, price) in &prices {
            required("prices.asset", asset)?;
            if *price <= Decimal::ZERO {
                return Err(InputError::NotPositive {
                    field: "prices.price",
                    value: *price,
                });
            }
        }
        i.core.on_prices(timestamp, &prices);
        Ok(())
    }

    /// The venue's own view of positions and open orders (`POST .../venue`). After an unclean
    /// stop with `after_crash = "reconcile"`, the first one re-bases the book and lifts the
    /// `unreconciled` denial (audited `reconciled`); answers whether it did.
    pub async fn venue_report(
        &self,
        report: crate::domain::VenueReport,
    ) -> Result<bool, EngineError> {
        let i = &self.inner;
        i.heard();
        report.validate()?;
        InputError::check_not_ahead(
            "timestamp",
            report.timestamp,
            i.clock.now(),
            i.max_clock_skew,
        )?;
        let Some(details) = i.core.rebase(&report) else {
            return Ok(false);
        };
        self.operator()
            .apply_firm(crate::state_machine::Trigger::Reconciled { details })
            .await?;
        Ok(true)
    }

    /// Whether the book waits for its first venue report after an unclean stop.
    pub fn is_unreconciled(&self) -> bool {
        self.inner.core.is_unreconciled()
    }

    /// The host is alive: restarts the dead-man's switch's timer (so does every other call).
    pub fn heartbeat(&self, timestamp: Option<DateTime<Utc>>) -> Result<(), InputError> {
        let i = &self.inner;
        i.heard();
        if let Some(at) = timestamp {
            InputError::check_not_ahead("timestamp", at, i.clock.now(), i.max_clock_skew)?;
        }
        Ok(())
    }

    /// Open orders (oldest first), gross exposure and reference prices, read under the
    /// gate's lock without a message.
    pub fn book(&self) -> crate::decision::BookView {
        self.inner.core.book()
    }

    /// Reports an error; waits until the error-rate breaker has judged it, so any trip it
    /// caused is refusing orders when this returns.
    pub async fn report_error(&self, error: ErrorReport) -> Result<(), EngineError> {
        let i = &self.inner;
        i.heard();
        let at = i.clock.now();
        if let Some(ts) = error.timestamp {
            InputError::check_not_ahead("timestamp", ts, at, i.max_clock_skew)?;
        }
        {
            let mut log = i.errors.lock().unwrap_or_else(|p| p.into_inner());
            *log.totals.entry(error.kind.to_string()).or_default() += 1;
            if log.recent.len() == RECENT_ERRORS {
                log.recent.pop_front();
            }
            log.recent.push_back(LoggedError {
                received_at: at,
                report: error.clone(),
            });
        }
        if let Some(b) = &i.error_rate {
            let arrival = ErrorArrival {
                kind: error.kind,
                at,
            };
            b.send(crate::actors::messages::Evaluate(Arc::new([arrival]), None))
                .await?;
        }
        Ok(())
    }

    /// Control events (state changes, trips, halts, resets, clears) from now on, every one of
    /// them: snapshot telemetry travels apart and can never push one out.
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<EngineEvent> {
        self.inner.control.subscribe()
    }

    /// Snapshot telemetry from now on; a reader that lags loses the oldest.
    pub fn subscribe_telemetry(&self) -> broadcast::Receiver<TelemetryEvent> {
        self.inner.telemetry.subscribe()
    }

    /// Waits until everything sent before has been judged and any trip it caused is recorded:
    /// a round trip through the feed, each breaker, then the Supervisor (each mailbox is first
    /// in, first out). Replays and bulk feeds use it.
    pub async fn settle(&self) -> Result<(), EngineError> {
        let i = &self.inner;
        i.feed.send(ReadPortfolio).await?;
        for b in &i.breakers {
            b.read.send(ReadBreaker).await?;
        }
        i.supervisor.send(ReadState).await?;
        Ok(())
    }

    /// Runs every time-driven check now, as of the clock's time, and waits for what they
    /// caused to be recorded: replays and tests on a simulated clock drive time this way.
    pub async fn tick(&self) {
        let i = &self.inner;
        let _ = i.supervisor.send(TickAll).await;
        for b in &i.breakers {
            let _ = b.read.send(ReadBreaker).await;
        }
        // Trips the ticks caused are queued at the Supervisor by now: wait for them.
        let _ = i.supervisor.send(ReadState).await;
    }

    /// Every actor's health, read without a message: `/healthz`.
    pub fn actor_health(&self) -> Vec<ActorHealth> {
        let mut report = self.inner.health.report();
        if !self.inner.supervisor.connected() {
            for h in report
                .iter_mut()
                .filter(|h| h.actor == ActorName::Supervisor)
            {
                h.ready = false;
            }
        }
        report
    }

    /// The audit trail, oldest first, including every control event the Supervisor had
    /// heard of when this was called.
    pub async fn audit(&self) -> Result<Vec<AuditEntry>, EngineError> {
        // The Supervisor answers only after what it is committing is on disk. If it is gone,
        // the trail on disk is still the truth.
        let _ = self.inner.supervisor.send(ReadState).await;
        Ok(self.inner.checkpoint.audit()?)
    }

    /// The persisted alert delivery log, newest `limit`, oldest first (after writing out what
    /// is still queued for the disk).
    pub async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryRecord>, EngineError> {
        self.inner.checkpoint.flush().await?;
        Ok(self.inner.checkpoint.deliveries(limit)?)
    }

    /// Waits until every alert raised so far has its outcome: the Supervisor raises alerts once
    /// a control event is checkpointed, so it is asked first, then the dispatcher.
    pub async fn alerts_idle(&self) {
        let _ = self.inner.supervisor.send(ReadState).await;
        let _ = self.inner.dispatcher.send(WaitIdle).await;
    }

    /// Sends `alert` through every channel now, bypassing the rate limit; answers per channel.
    pub async fn send_alert_now(&self, alert: Alert) -> Result<Vec<DeliveryRecord>, EngineError> {
        Ok(self.inner.dispatcher.send(SendNow(alert)).await?)
    }

    /// Test hook: makes the named actor panic inside a handler (`supervisor`, `ledger_feed`,
    /// `order_gate`, `alert_dispatcher`, `<kind>_breaker`). Answers whether it was found.
    #[cfg(feature = "test-util")]
    pub async fn inject_panic(&self, actor: &str) -> bool {
        use crate::actors::messages::InjectPanic;
        let i = &self.inner;
        let sent = match ActorName::parse(actor) {
            Some(ActorName::Supervisor) => i.supervisor.send(InjectPanic).await,
            Some(ActorName::LedgerFeed) => i.feed.send(InjectPanic).await,
            Some(ActorName::OrderGate) => i.gate.send(InjectPanic).await,
            Some(ActorName::AlertDispatcher) => i.dispatcher.send(InjectPanic).await,
            Some(ActorName::Breaker(BreakerKind::Manual)) => i.manual.send(InjectPanic).await,
            Some(ActorName::Breaker(kind)) => match i.breakers.iter().find(|b| b.kind == kind) {
                Some(b) => b.panic.send(InjectPanic).await,
                None => return false,
            },
            None => return false,
        };
        sent.is_ok()
    }
}
