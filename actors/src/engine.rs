//! Spawns one strategy's actors and hands back the handles hosts and operators use.
//! [`spawn_engine`] must run inside an actix runtime; [`crate::builder`] hides that.
//!
//! - [`EngineHandle`]: what a trading host calls: judge orders (in the caller's thread), push
//!   snapshots, fills and errors, read the state without a message, watch it, subscribe.
//! - [`OperatorHandle`]: what an operator calls: halt, request and confirm a reset.

use crate::actors::alert_dispatcher::{ReadDeliveries, SendNow, WaitIdle};
use crate::actors::breaker::{Breaker, RuleFactory};
use crate::actors::ledger_feed::{
    FeedParts, PortfolioBreakers, PushSnapshots, ReadPortfolio, SubmitSnapshot,
};
use crate::actors::messages::{CancelSink, ReadBreaker, TripReport};
use crate::actors::supervisor::{
    read_breakers, resume_machine, ApplyFirm, ApplyHalt, ApplyResetConfirm, ApplyResetRequest,
    BreakerLink, ReadState, RecordExpired, StrategyActors, SupervisorParts, TickAll,
};
use crate::actors::{AlertDispatcher, LedgerFeed, Links, ManualBreaker, OrderGate, Supervisor};
use crate::alerts::{Alert, AlertChannel, DeliveryRecord};
use crate::breaker::{BreakerKind, BreakerReading, ResetPolicy, Rule, Trip};
use crate::checkpoint::{AuditEntry, StrategyCheckpoint};
use crate::clock::SharedClock;
use crate::decision::{DecisionCore, GateActivity, OrderDecision};
use crate::domain::{ErrorReport, Fill, InputError, OrderRequest, PortfolioSnapshot};
use crate::error::EngineError;
use crate::events::{ControlEvents, EngineEvent, TelemetryEvent};
use crate::pretrade::{DoneStatus, OpenOrder, PreTradeCheck};
use crate::rules::{
    DailyLossRule, DailyLossState, DrawdownRule, DrawdownState, ErrorArrival, ErrorRateRule,
    HostBeacon, HostSilentRule, OrderRateRule, PreTradeDenialRule, StaleFeedRule,
};
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

/// The operator that the engine names when it halts itself.
pub const ENGINE_OPERATOR: &str = "rustybt";

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

/// Starts a breaker shell around `make`'s rule, refusing to start on an unreadable durable
/// state (the engine then starts halted; the shell reads it as none).
fn start_breaker<R: Rule>(
    make: impl Fn() -> R + Send + Sync + 'static,
    reset: ResetPolicy,
    checkpoint: &StrategyCheckpoint,
    core: &Arc<DecisionCore>,
    clock: &SharedClock,
    links: &Links,
) -> Addr<Breaker<R>> {
    let make: RuleFactory<R> = Arc::new(make);
    let (cp, core, clock, links) = (
        checkpoint.clone(),
        core.clone(),
        clock.clone(),
        links.clone(),
    );
    actix::Supervisor::start(move |_| Breaker::new(make, reset, cp, core, clock, links))
}

/// Starts a strategy's actors in the current actix runtime.
pub fn spawn_engine(parts: EngineParts) -> EngineHandle {
    let EngineParts {
        settings,
        clock,
        checkpoint,
        channels,
        cancel,
        alert_arbiter,
    } = parts;
    let now = clock.now();
    let name = settings.name.clone();

    // Resume the checkpoint; anything unreadable or impossible starts the engine halted.
    let (mut machine, mut startup) = resume_machine(&checkpoint, now);
    let (open_orders, book_problem) = match checkpoint.load_open_orders() {
        Ok(orders) => (orders, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let (seen_ids, ids_problem) = match checkpoint.load_seen_ids() {
        Ok(ids) => (ids, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let book_problem = book_problem.or(ids_problem);
    let breaker_problem = checkpoint
        .load_breaker::<DrawdownState>(BreakerKind::Drawdown)
        .err()
        .or_else(|| {
            checkpoint
                .load_breaker::<DailyLossState>(BreakerKind::DailyLoss)
                .err()
        })
        .or(book_problem);
    if let Some(e) = breaker_problem {
        let step = machine.apply(
            crate::state_machine::Trigger::Halt {
                operator: ENGINE_OPERATOR.into(),
                reason: format!(
                    "checkpoint unreadable at start, trading halted until an operator resets: {e}"
                ),
            },
            now,
        );
        startup.extend(step.records);
    }

    let s = &settings;
    let mut actors: Vec<ActorName> = vec![
        ActorName::Supervisor,
        ActorName::LedgerFeed,
        ActorName::OrderGate,
        ActorName::AlertDispatcher,
        ActorName::Breaker(BreakerKind::Manual),
    ];
    actors.extend(
        [
            s.drawdown.as_ref().map(|_| BreakerKind::Drawdown),
            s.daily_loss.as_ref().map(|_| BreakerKind::DailyLoss),
            s.error_rate.as_ref().map(|_| BreakerKind::ErrorRate),
            s.stale_feed.as_ref().map(|_| BreakerKind::StaleFeed),
            s.pre_trade_breaker.as_ref().map(|_| BreakerKind::PreTrade),
            s.host_silent.as_ref().map(|_| BreakerKind::HostSilent),
        ]
        .into_iter()
        .flatten()
        .map(ActorName::Breaker),
    );
    // The portfolio breakers cannot judge before their first snapshot: fail closed until then.
    let need_input = [
        s.drawdown.as_ref().map(|_| BreakerKind::Drawdown),
        s.daily_loss.as_ref().map(|_| BreakerKind::DailyLoss),
    ];
    let health = Arc::new(HealthBoard::new(
        actors,
        need_input.into_iter().flatten().map(ActorName::Breaker),
    ));
    let control = Arc::new(ControlEvents::default());
    // Stamped by every host call without a message; the dead-man's switch reads it on ticks.
    let beacon = Arc::new(HostBeacon::new());
    let (telemetry, _) = broadcast::channel(4096);

    // The factory runs at once, on this thread; it hands the handle's parts out through here.
    let slot: Rc<RefCell<Option<Inner>>> = Rc::default();
    let out = slot.clone();
    let supervisor = actix::Supervisor::start(move |ctx: &mut Context<Supervisor>| {
        let links = Links {
            supervisor: ctx.address(),
            health: health.clone(),
        };
        let first = crate::decision::GateUpdate {
            state: machine.state(),
            tripped: machine.record().tripped.iter().map(|(k, _)| *k).collect(),
            reason: machine.record().reason.clone(),
            applied_trips: 0,
        };
        let core = Arc::new(DecisionCore::new(
            first,
            crate::decision::GateRules {
                reduce_only_when_tripped: settings.reduce_only_when_tripped,
                order_rate: settings
                    .order_rate
                    .as_ref()
                    .map(|o| OrderRateRule::new(o.max_orders, o.window)),
                pre_trade: settings.pre_trade.clone(),
                pre_trade_denials: settings
                    .pre_trade_breaker
                    .as_ref()
                    .map(|p| PreTradeDenialRule::new(p.max_denials, p.window)),
                market: Some(settings.market.clone()),
            },
            health.clone(),
        ));
        // Orders still working when the engine stopped count as open until the host says
        // otherwise.
        core.restore_open_orders(open_orders, seen_ids, now);
        // After a crash the book may miss the last orders accepted: with `after_crash =
        // "reconcile"` only reducing orders pass until a venue report re-bases it.
        let reconcile = settings
            .reconciliation
            .as_ref()
            .is_some_and(|r| r.after_crash == crate::settings::AfterCrash::Reconcile);
        if reconcile && checkpoint.last_stop() == crate::checkpoint::LastStop::Unclean {
            tracing::warn!(strategy = %name, "stopped uncleanly before: unreconciled until the first venue report");
            core.set_unreconciled();
        }
        let mut sup = Supervisor::new(
            SupervisorParts {
                strategy: name.clone(),
                machine,
                startup,
                checkpoint: checkpoint.clone(),
                clock: clock.clone(),
                reset_ttl: settings.reset_confirmation_ttl,
                tick_interval: settings.tick_interval,
                core: core.clone(),
                health: health.clone(),
                control: control.clone(),
                cancel,
            },
            ctx.address(),
        );

        let mut links_out: Vec<BreakerLink> = Vec::new();
        let mut portfolio: PortfolioBreakers = Vec::new();
        if let Some(d) = settings.drawdown.clone() {
            let a = start_breaker(
                move || DrawdownRule::new(d.threshold),
                d.reset,
                &checkpoint,
                &core,
                &clock,
                &links,
            );
            links_out.push(BreakerLink::of(BreakerKind::Drawdown, &a));
            portfolio.push(a.recipient());
        }
        if let Some(d) = settings.daily_loss.clone() {
            let market = settings.market.clone();
            let a = start_breaker(
                move || DailyLossRule::new(d.limit, market.clone()),
                d.reset,
                &checkpoint,
                &core,
                &clock,
                &links,
            );
            links_out.push(BreakerLink::of(BreakerKind::DailyLoss, &a));
            portfolio.push(a.recipient());
        }
        if let Some(st) = settings.stale_feed.clone() {
            let (market, started) = (settings.market.clone(), now);
            let a = start_breaker(
                move || StaleFeedRule::new(st.max_snapshot_age, market.clone(), started),
                st.reset,
                &checkpoint,
                &core,
                &clock,
                &links,
            );
            links_out.push(BreakerLink::of(BreakerKind::StaleFeed, &a));
            portfolio.push(a.recipient());
        }
        if let Some(h) = settings.host_silent.clone() {
            let (market, started, beacon) = (settings.market.clone(), now, beacon.clone());
            let a = start_breaker(
                move || HostSilentRule::new(h.timeout, market.clone(), started, beacon.clone()),
                h.reset,
                &checkpoint,
                &core,
                &clock,
                &links,
            );
            links_out.push(BreakerLink::of(BreakerKind::HostSilent, &a));
        }
        if let Some(p) = settings.pre_trade_breaker.clone() {
            let (core, links) = (core.clone(), links.clone());
            let a = actix::Supervisor::start(move |_| {
                OrderGate::window(core, BreakerKind::PreTrade, p.reset, links)
            });
            links_out.push(BreakerLink::of(BreakerKind::PreTrade, &a));
        }
        let error_rate = settings.error_rate.clone().map(|e| {
            let a = start_breaker(
                move || ErrorRateRule::new(e.max_errors, e.window),
                e.reset,
                &checkpoint,
                &core,
                &clock,
                &links,
            );
            links_out.push(BreakerLink::of(BreakerKind::ErrorRate, &a));
            a.recipient()
        });
        let gate = {
            let (core, links) = (core.clone(), links.clone());
            let reset = settings
                .order_rate
                .as_ref()
                .map_or(ResetPolicy::Auto, |o| o.reset);
            let cp = checkpoint.clone();
            actix::Supervisor::start(move |_| {
                OrderGate::new(core, reset, links).saving_open_orders_to(cp)
            })
        };
        links_out.push(BreakerLink::of(BreakerKind::OrderRate, &gate));
        let feed = {
            let (n, core, skew, tel, c, l) = (
                name.clone(),
                core.clone(),
                settings.max_clock_skew,
                telemetry.clone(),
                clock.clone(),
                links.clone(),
            );
            let parts = FeedParts {
                strategy: n,
                breakers: portfolio,
                core,
                max_clock_skew: skew,
                telemetry: tel,
                clock: c,
            };
            actix::Supervisor::start(move |_| LedgerFeed::new(parts, l))
        };
        let dispatcher = {
            let (ch, al, c, cp, l) = (
                channels,
                settings.alerts.clone(),
                clock.clone(),
                checkpoint.clone(),
                links.clone(),
            );
            let make =
                move |_: &mut Context<AlertDispatcher>| AlertDispatcher::new(ch, al, c, cp, l);
            match &alert_arbiter {
                Some(arb) => actix::Supervisor::start_in_arbiter(arb, make),
                None => actix::Supervisor::start(make),
            }
        };
        let manual = {
            let l = links.clone();
            actix::Supervisor::start(move |_| ManualBreaker::new(l))
        };
        sup.set_actors(StrategyActors {
            gate: Some(gate.clone()),
            breakers: links_out.clone(),
            dispatcher: Some(dispatcher.clone()),
        });
        *out.borrow_mut() = Some(Inner {
            name: name.clone(),
            desk: settings.desk.clone(),
            core,
            feed,
            error_rate,
            manual,
            dispatcher,
            breakers: links_out,
            health: health.clone(),
            control: control.clone(),
            telemetry: telemetry.clone(),
            clock: clock.clone(),
            max_clock_skew: settings.max_clock_skew,
            checkpoint: checkpoint.clone(),
            errors: Mutex::new(ErrorLog::default()),
            beacon: beacon.clone(),
            supervisor: ctx.address(),
        });
        sup
    });
    let _ = supervisor;
    let inner = slot.borrow_mut().take().map(Arc::new);
    EngineHandle {
        // `start` runs its closure before returning.
        inner: inner.unwrap_or_else(|| unreachable!("the Supervisor factory ran")),
    }
}

struct Inner {
    name: String,
    desk: Option<String>,
    core: Arc<DecisionCore>,
    supervisor: Addr<Supervisor>,
    feed: Addr<LedgerFeed>,
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
    /// when this returns, any trip it caused is already refusing orders.
    pub async fn submit_snapshot(&self, snapshot: PortfolioSnapshot) -> Result<(), EngineError> {
        self.inner.heard();
        self.inner.feed.send(SubmitSnapshot(snapshot)).await?
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
            b.send(crate::actors::messages::Evaluate(Arc::new([arrival])))
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

    /// The full status.
    pub async fn status(&self) -> Result<EngineStatus, EngineError> {
        let i = &self.inner;
        let (record, degraded) = i.supervisor.send(ReadState).await?;
        let mut readings = read_breakers(&i.breakers).await;
        readings.push(
            i.manual
                .send(ReadBreaker)
                .await
                .unwrap_or_else(|_| BreakerReading::disabled(BreakerKind::Manual)),
        );
        let tripped: BTreeMap<BreakerKind, DateTime<Utc>> =
            record.tripped.iter().copied().collect();
        // Breakers added in v1.1 are listed only when configured (API.md).
        let optional = [BreakerKind::PreTrade, BreakerKind::HostSilent];
        let breakers: Vec<BreakerStatus> = BreakerKind::ALL
            .iter()
            .filter(|kind| !optional.contains(kind) || readings.iter().any(|r| r.breaker == **kind))
            .map(|&kind| {
                let r = readings
                    .iter()
                    .find(|r| r.breaker == kind)
                    .cloned()
                    .unwrap_or_else(|| BreakerReading::disabled(kind));
                let mut tripped_at = tripped.get(&kind).copied();
                if kind == BreakerKind::Manual && record.state == EngineState::ManuallyHalted {
                    tripped_at = Some(record.since);
                }
                BreakerStatus {
                    kind,
                    status: if tripped_at.is_some() {
                        BreakerCondition::Tripped
                    } else {
                        BreakerCondition::Ok
                    },
                    enabled: r.enabled,
                    ready: r.ready,
                    value: r.value,
                    limit: r.limit,
                    tripped_at,
                    details: r.details,
                }
            })
            .collect();

        let view = i.feed.send(ReadPortfolio).await?;
        let drawdown_reading = readings.iter().find(|r| r.breaker == BreakerKind::Drawdown);
        let hwm = drawdown_reading
            .and_then(|r| r.details.get("high_water_mark"))
            .and_then(|h| h.parse::<Decimal>().ok());
        let daily_pnl = readings
            .iter()
            .find(|r| r.breaker == BreakerKind::DailyLoss)
            .and_then(|r| r.details.get("daily_pnl"))
            .and_then(|h| h.parse::<Decimal>().ok());
        let last = view.last.clone();
        let book = i.core.book();
        let portfolio = PortfolioStatus {
            value: last.as_ref().map(|s| s.portfolio_value),
            cash: last.as_ref().and_then(|s| s.cash),
            high_water_mark: hwm,
            drawdown: drawdown_reading.and_then(|r| r.value),
            daily_pnl,
            positions: last
                .as_ref()
                .map(|s| {
                    s.positions()
                        .iter()
                        .map(|p| PositionStatus {
                            asset: p.asset.clone(),
                            quantity: p.quantity,
                            market_price: p.market_price,
                            market_value: p.market_value(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            as_of: last.as_ref().map(|s| s.timestamp),
            history: view.history,
            gross_exposure: book.gross_exposure,
            snapshots_accepted: view.accepted,
            snapshots_refused: view.refused,
            last_refusal: view.last_refusal,
        };
        let activity: GateActivity = i.core.activity();
        let limits = i.core.pre_trade_limits();
        let pre_trade = PreTradeStatus {
            configured: limits.any(),
            denials: PreTradeCheck::ALL
                .iter()
                .map(|c| (*c, activity.denials[c.slot()]))
                .collect(),
            last_denial: activity
                .orders
                .iter()
                .rev()
                .find_map(|o| match &o.decision {
                    OrderDecision::Rejected {
                        check: Some(check),
                        reason,
                        limit,
                        value,
                        ..
                    } => Some(LastDenial {
                        at: o.at,
                        order_id: o.order.order_id.clone(),
                        check: *check,
                        limit: *limit,
                        value: *value,
                        reason: reason.clone(),
                    }),
                    _ => None,
                }),
            references: book.references,
        };
        let (recent_errors, error_totals) = {
            let log = i.errors.lock().unwrap_or_else(|p| p.into_inner());
            (log.recent.iter().cloned().collect(), log.totals.clone())
        };
        let alerts = i.dispatcher.send(ReadDeliveries).await.unwrap_or_default();
        Ok(EngineStatus {
            name: i.name.clone(),
            state: record.state,
            since: record.since,
            reason: record.reason.clone(),
            checkpoint_error: degraded,
            pending_reset: record.pending_reset.as_ref().map(|p| PendingResetStatus {
                operator: p.operator.clone(),
                expires_at: p.expires_at,
            }),
            breakers,
            actors: i.health.report(),
            portfolio,
            recent_orders: activity.orders,
            recent_fills: activity.fills,
            recent_errors,
            error_totals,
            orders_accepted: activity.accepted,
            orders_rejected: activity.rejected,
            open_orders: book.open_orders,
            pre_trade,
            alerts,
        })
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
            // The gate is the order-rate breaker's shell.
            Some(ActorName::OrderGate) => {
                let gate = i.breakers.iter().find(|b| b.kind == BreakerKind::OrderRate);
                match gate {
                    Some(b) => b.panic.send(InjectPanic).await,
                    None => return false,
                }
            }
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

impl OperatorHandle {
    /// Emergency stop: every order refused from the moment this is called, open orders
    /// cancelled; durable when it returns. Works while actors are down: without the manual
    /// breaker it goes to the Supervisor; without the Supervisor it is written to the
    /// checkpoint directly.
    pub async fn halt(&self, operator: &str, reason: &str) -> Result<StateRecord, EngineError> {
        required("operator", operator)?;
        required("reason", reason)?;
        let i = &self.inner;
        let at = i.clock.now();
        let closed = i.core.close_for(Trip {
            breaker: BreakerKind::Manual,
            at,
            value: Decimal::ZERO,
            limit: Decimal::ZERO,
            details: BTreeMap::new(),
            summary: reason.to_string(),
        });
        let msg = ApplyHalt {
            operator: operator.into(),
            reason: reason.into(),
            at,
            seq: closed.seq,
        };
        if let Ok(answer) = i.manual.send(msg.clone()).await {
            return answer;
        }
        if let Ok(answer) = i.supervisor.send(msg.clone()).await {
            return answer;
        }
        tracing::error!("supervisor unreachable: writing the halt to the checkpoint directly");
        let (mut machine, mut records) = resume_machine(&i.checkpoint, at);
        let step = machine.apply(
            crate::state_machine::Trigger::Halt {
                operator: msg.operator,
                reason: msg.reason,
            },
            at,
        );
        records.extend(step.records);
        i.checkpoint.commit(machine.record(), &records).await?;
        Ok(machine.record().clone())
    }

    /// Applies the firm's word to this strategy: a firm or desk hold
    /// ([`crate::state_machine::Trigger::FirmHold`]), its release, or bus loss and its end.
    /// Durable when it returns; the gate closes for a hold before the disk is written. Any
    /// other trigger is refused as unavailable: operators halt and reset through the calls
    /// above.
    pub async fn apply_firm(
        &self,
        trigger: crate::state_machine::Trigger,
    ) -> Result<StateRecord, EngineError> {
        use crate::state_machine::Trigger;
        if !matches!(
            trigger,
            Trigger::FirmHold(_)
                | Trigger::FirmRelease { .. }
                | Trigger::BusLost { .. }
                | Trigger::BusRestored
                | Trigger::FirmHostRemoved { .. }
                | Trigger::Reconciled { .. }
        ) {
            return Err(EngineError::Unavailable(
                "apply_firm takes firm holds, firm releases and bus events only".into(),
            ));
        }
        // A hold closes the gate now, in memory, as an operator's halt does: the next order is
        // refused before the Supervisor has written anything.
        let seq = match &trigger {
            Trigger::FirmHold(hold) if hold.kind == crate::state_machine::FirmHoldKind::Halt => {
                let closed = self.inner.core.close_for(Trip {
                    breaker: BreakerKind::Manual,
                    at: self.inner.clock.now(),
                    value: Decimal::ZERO,
                    limit: Decimal::ZERO,
                    details: BTreeMap::new(),
                    summary: hold.reason.clone(),
                });
                Some(closed.seq)
            }
            _ => None,
        };
        self.inner
            .supervisor
            .send(ApplyFirm { trigger, seq })
            .await?
    }

    /// The firm's hold on this strategy, while one is in force.
    pub async fn firm_hold(&self) -> Result<Option<crate::state_machine::HeldByFirm>, EngineError> {
        let (record, _) = self.inner.supervisor.send(ReadState).await?;
        Ok(record.firm_hold)
    }

    /// First step of a reset: answers the confirmation token.
    pub async fn request_reset(
        &self,
        operator: &str,
        reason: Option<&str>,
    ) -> Result<ResetTicket, EngineError> {
        required("operator", operator)?;
        self.inner
            .manual
            .send(ApplyResetRequest {
                operator: operator.into(),
                reason: reason.map(String::from),
            })
            .await?
    }

    /// Second step of a reset. Durable when it returns.
    pub async fn confirm_reset(
        &self,
        operator: &str,
        token: &str,
        rebase_high_water_mark: bool,
    ) -> Result<StateRecord, EngineError> {
        required("operator", operator)?;
        required("confirmation_token", token)?;
        self.inner
            .manual
            .send(ApplyResetConfirm {
                operator: operator.into(),
                token: token.into(),
                rebase_high_water_mark,
            })
            .await?
    }
}

/// Whether a breaker is tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerCondition {
    /// Not tripped.
    Ok,
    /// Tripped and not yet reset or cleared.
    Tripped,
}

/// A breaker in the status.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerStatus {
    /// `drawdown`, `daily_loss`, ...
    #[serde(rename = "type")]
    pub kind: BreakerKind,
    /// Tripped or not.
    pub status: BreakerCondition,
    /// Switched on in the configuration.
    pub enabled: bool,
    /// Up and has seen its first input.
    pub ready: bool,
    /// Its measured value (ratio, amount, count or seconds, as its limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// Its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Decimal>,
    /// When it tripped, if it is tripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tripped_at: Option<DateTime<Utc>>,
    /// Extra figures (per error kind, session date...).
    pub details: BTreeMap<String, String>,
}

/// A position with its market value.
#[derive(Debug, Clone, Serialize)]
pub struct PositionStatus {
    /// Instrument identifier.
    pub asset: String,
    /// Signed quantity: negative is short.
    pub quantity: Decimal,
    /// The price the host valued it at.
    pub market_price: Decimal,
    /// Quantity × price (absent if it does not fit a decimal).
    pub market_value: Option<Decimal>,
}

/// The portfolio in the status.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioStatus {
    /// Value of the last snapshot.
    pub value: Option<Decimal>,
    /// Cash of the last snapshot, if reported.
    pub cash: Option<Decimal>,
    /// The drawdown breaker's high-water mark.
    pub high_water_mark: Option<Decimal>,
    /// Drawdown ratio (≤ 0).
    pub drawdown: Option<Decimal>,
    /// Profit or loss since the session's open.
    pub daily_pnl: Option<Decimal>,
    /// Holdings of the last snapshot.
    pub positions: Vec<PositionStatus>,
    /// Time of the last snapshot.
    pub as_of: Option<DateTime<Utc>>,
    /// Σ |position + open remaining| × reference price over assets; absent while an asset
    /// held or worked has no reference price.
    pub gross_exposure: Option<Decimal>,
    /// Recent (time, value) points, oldest first.
    pub history: Vec<(DateTime<Utc>, Decimal)>,
    /// Snapshots accepted since start.
    pub snapshots_accepted: u64,
    /// Snapshots refused since start.
    pub snapshots_refused: u64,
    /// Why the last refused snapshot was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<String>,
}

/// The most recent pre-trade denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LastDenial {
    /// When the gate denied it.
    pub at: DateTime<Utc>,
    /// The order denied.
    pub order_id: String,
    /// The check that denied it.
    pub check: PreTradeCheck,
    /// The check's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Decimal>,
    /// The figure compared with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// The reason given to the host.
    pub reason: String,
}

/// Pre-trade checks in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PreTradeStatus {
    /// Whether any check is configured.
    pub configured: bool,
    /// Denials since start per check, every check listed.
    pub denials: BTreeMap<PreTradeCheck, u64>,
    /// The newest denial among the recent orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_denial: Option<LastDenial>,
    /// Reference prices per asset, with the time of the event that carried them.
    pub references: Vec<(String, crate::pretrade::ReferencePrice)>,
}

/// A pending reset, without its token.
#[derive(Debug, Clone, Serialize)]
pub struct PendingResetStatus {
    /// Who asked.
    pub operator: String,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// One strategy's full status.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    /// Strategy name.
    pub name: String,
    /// Global state, as the Supervisor recorded it.
    pub state: EngineState,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why, when not NORMAL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the checkpoint is unusable, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_error: Option<String>,
    /// A reset awaiting confirmation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_reset: Option<PendingResetStatus>,
    /// Every breaker kind, in reporting order.
    pub breakers: Vec<BreakerStatus>,
    /// Every actor's health: the gate refuses while one is not ready.
    pub actors: Vec<ActorHealth>,
    /// The portfolio.
    pub portfolio: PortfolioStatus,
    /// Recent orders, newest last.
    pub recent_orders: Vec<crate::decision::OrderRecord>,
    /// Recent fills, newest last.
    pub recent_fills: Vec<Fill>,
    /// Recent errors, newest last.
    pub recent_errors: Vec<LoggedError>,
    /// Errors since start per kind.
    pub error_totals: BTreeMap<String, u64>,
    /// Orders accepted since start.
    pub orders_accepted: u64,
    /// Orders rejected since start, by check, breaker or state.
    pub orders_rejected: HashMap<String, u64>,
    /// Orders accepted and neither fully filled nor done, oldest first.
    pub open_orders: Vec<OpenOrder>,
    /// Pre-trade denials.
    pub pre_trade: PreTradeStatus,
    /// Alert deliveries.
    pub alerts: DeliveryView,
}
