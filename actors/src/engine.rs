//! Spawns one strategy's actors and hands back the [`EngineHandle`] hosts talk to.
//! [`spawn_engine`] must run inside an actix runtime; the root crate's builder hides that.

use crate::actors::alert_dispatcher::{ReadDeliveries, SendNow, WaitIdle};
use crate::actors::daily_loss_breaker::ReadDailyPnl;
use crate::actors::drawdown_breaker::ReadHighWaterMark;
use crate::actors::error_rate_breaker::{LoggedError, ReadErrors, ReportError};
use crate::actors::ledger_feed::{PushSnapshots, ReadPortfolio, ReadStaleFeed, SubmitSnapshot};
use crate::actors::manual_breaker::{ConfirmReset, Halt, RequestReset};
use crate::actors::messages::{CancelSink, ReadBreaker, Tick};
use crate::actors::order_gate::{
    CheckOrder, GateActivity, GateSignal, OrderRecord, ReadActivity, ReportFill,
};
use crate::actors::supervisor::{Crew, ReadState, ResetTicket};
use crate::actors::{
    AlertDispatcher, DailyLossBreaker, DrawdownBreaker, ErrorRateBreaker, HealthBoard, LedgerFeed,
    ManualBreaker, OrderGate, OrderRateBreaker, Supervisor,
};
use crate::alerts::{Alert, AlertChannel, DeliveryRecord};
use crate::breaker::{BreakerKind, BreakerReading};
use crate::checkpoint::{AuditEntry, StrategyCheckpoint};
use crate::clock::SharedClock;
use crate::domain::{ErrorReport, Fill, OrderRequest, PortfolioSnapshot};
use crate::error::EngineError;
use crate::events::EngineEvent;
use crate::rules::{DailyLossState, DrawdownState, StaleFeedRule};
use crate::settings::StrategySettings;
use crate::state_machine::{EngineState, StateMachine, Trigger};
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::broadcast;

pub use crate::actors::alert_dispatcher::DeliveryView;
pub use crate::actors::order_gate::OrderDecision;

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

    // Resume the checkpoint; anything unreadable starts the engine halted, never NORMAL.
    let mut startup = Vec::new();
    let unreadable = match checkpoint.load_state() {
        Ok(Some(record)) => Err(StateMachine::resume(record)),
        Ok(None) => Ok(None),
        Err(e) => Ok(Some(e.to_string())),
    };
    let mut machine = match unreadable {
        Err(resumed) => resumed,
        Ok(why) => {
            let mut m = StateMachine::new(now);
            if let Some(why) = why {
                startup.extend(halt_at_start(&mut m, now, &why));
            }
            m
        }
    };
    let breaker_problem = checkpoint
        .load_breaker::<DrawdownState>(BreakerKind::Drawdown)
        .err()
        .or_else(|| {
            checkpoint
                .load_breaker::<DailyLossState>(BreakerKind::DailyLoss)
                .err()
        });
    if let Some(e) = breaker_problem {
        startup.extend(halt_at_start(&mut machine, now, &e.to_string()));
    }

    let (events, _) = broadcast::channel(4096);
    let enabled: Vec<BreakerKind> = [
        settings.drawdown.as_ref().map(|_| BreakerKind::Drawdown),
        settings.daily_loss.as_ref().map(|_| BreakerKind::DailyLoss),
        settings.order_rate.as_ref().map(|_| BreakerKind::OrderRate),
        settings.error_rate.as_ref().map(|_| BreakerKind::ErrorRate),
    ]
    .into_iter()
    .flatten()
    .collect();
    let health = Arc::new(HealthBoard::new(&enabled));
    let signal = Arc::new(GateSignal::default());

    let mut crew_out = Crew::default();
    let mut manual_out = None;
    let supervisor = Supervisor::create(|ctx| {
        let sup_addr = ctx.address();
        let mut sup = Supervisor::new(
            name.clone(),
            machine,
            startup,
            checkpoint.clone(),
            clock.clone(),
            settings.reset_confirmation_ttl,
            settings.tick_interval,
            events.clone(),
            cancel,
        );
        let drawdown = settings.drawdown.clone().map(|s| {
            let (cp, sa, h) = (checkpoint.clone(), sup_addr.clone(), health.clone());
            actix::Supervisor::start(move |_| DrawdownBreaker::new(s.threshold, cp, sa, h))
        });
        let daily_loss = settings.daily_loss.clone().map(|s| {
            let (cp, sa, h, m) = (
                checkpoint.clone(),
                sup_addr.clone(),
                health.clone(),
                settings.market.clone(),
            );
            actix::Supervisor::start(move |_| DailyLossBreaker::new(s.limit, m, cp, sa, h))
        });
        let order_rate = settings.order_rate.clone().map(|s| {
            let (sa, h) = (sup_addr.clone(), health.clone());
            actix::Supervisor::start(move |_| OrderRateBreaker::new(s, sa, h))
        });
        let error_rate = {
            let (s, c, sa, h) = (
                settings.error_rate.clone(),
                clock.clone(),
                sup_addr.clone(),
                health.clone(),
            );
            actix::Supervisor::start(move |_| ErrorRateBreaker::new(s, c, sa, h))
        };
        let gate = {
            let (first, reduce, or, h, sig, c) = (
                sup.gate_update(),
                settings.reduce_only_when_tripped,
                order_rate.clone(),
                health.clone(),
                signal.clone(),
                clock.clone(),
            );
            actix::Supervisor::start(move |_| OrderGate::new(first, reduce, or, h, sig, c))
        };
        let feed = {
            let stale = settings.stale_feed.clone().map(|s| {
                (
                    StaleFeedRule::new(s.max_snapshot_age, settings.market.clone(), now),
                    s.reset,
                )
            });
            let (n, dd, dl, g, sa, ev, c) = (
                name.clone(),
                drawdown.clone(),
                daily_loss.clone(),
                gate.clone(),
                sup_addr.clone(),
                events.clone(),
                clock.clone(),
            );
            let reduce = settings.reduce_only_when_tripped;
            actix::Supervisor::start(move |_| {
                LedgerFeed::new(n, dd, dl, stale, g, reduce, sa, ev, c)
            })
        };
        let dispatcher = {
            let (ch, al, c, cp) = (
                channels,
                settings.alerts.clone(),
                clock.clone(),
                checkpoint.clone(),
            );
            let make = move |_: &mut Context<AlertDispatcher>| AlertDispatcher::new(ch, al, c, cp);
            match &alert_arbiter {
                Some(arb) => actix::Supervisor::start_in_arbiter(arb, make),
                None => actix::Supervisor::start(make),
            }
        };
        let manual = {
            let (sa, c) = (sup_addr.clone(), clock.clone());
            actix::Supervisor::start(move |_| ManualBreaker::new(sa, c))
        };
        let crew = Crew {
            feed: Some(feed),
            gate: Some(gate),
            drawdown,
            daily_loss,
            order_rate,
            error_rate: Some(error_rate),
            dispatcher: Some(dispatcher),
        };
        crew_out = crew.clone();
        manual_out = Some(manual);
        sup.set_crew(crew);
        sup
    });

    EngineHandle {
        name,
        supervisor,
        manual: manual_out.expect("manual breaker started"),
        crew: crew_out,
        events,
        signal,
        health,
        clock,
        checkpoint,
    }
}

fn halt_at_start(
    m: &mut StateMachine,
    now: DateTime<Utc>,
    why: &str,
) -> Option<crate::state_machine::Transition> {
    tracing::error!(reason = %why, "checkpoint unreadable: starting MANUALLY_HALTED");
    m.apply(
        Trigger::Halt {
            operator: ENGINE_OPERATOR.into(),
            reason: format!(
                "checkpoint unreadable at start, trading halted until an operator resets: {why}"
            ),
        },
        now,
    )
    .expect("a halt is never refused")
}

/// A breaker as the status API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerStatus {
    /// `drawdown`, `daily_loss`, ...
    #[serde(rename = "type")]
    pub kind: BreakerKind,
    /// `ok` or `tripped`.
    pub status: &'static str,
    /// Switched on.
    pub enabled: bool,
    /// Up and has seen its first input.
    pub ready: bool,
    /// Its measured value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// Its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Decimal>,
    /// When it tripped, if it is tripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tripped_at: Option<DateTime<Utc>>,
    /// Extra figures.
    pub details: BTreeMap<String, String>,
}

/// A position with its market value.
#[derive(Debug, Clone, Serialize)]
pub struct PositionStatus {
    /// Instrument.
    pub asset: String,
    /// Signed quantity.
    pub quantity: Decimal,
    /// Price.
    pub market_price: Decimal,
    /// Quantity × price.
    pub market_value: Decimal,
}

/// The portfolio as the status API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioStatus {
    /// Last value.
    pub value: Option<Decimal>,
    /// Last cash.
    pub cash: Option<Decimal>,
    /// High-water mark.
    pub high_water_mark: Option<Decimal>,
    /// Drawdown ratio.
    pub drawdown: Option<Decimal>,
    /// Profit or loss since the session's open.
    pub daily_pnl: Option<Decimal>,
    /// Holdings.
    pub positions: Vec<PositionStatus>,
    /// Time of the last snapshot.
    pub as_of: Option<DateTime<Utc>>,
    /// Recent (time, value) points.
    pub history: Vec<(DateTime<Utc>, Decimal)>,
    /// Snapshots accepted since start.
    pub snapshots_accepted: u64,
    /// Snapshots refused since start.
    pub snapshots_refused: u64,
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
    /// Global state.
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
    /// Every breaker.
    pub breakers: Vec<BreakerStatus>,
    /// The portfolio.
    pub portfolio: PortfolioStatus,
    /// Recent orders, newest last.
    pub recent_orders: Vec<OrderRecord>,
    /// Recent fills, newest last.
    pub recent_fills: Vec<Fill>,
    /// Recent errors, newest last.
    pub recent_errors: Vec<LoggedError>,
    /// Errors since start per kind.
    pub error_totals: BTreeMap<String, u64>,
    /// Orders accepted since start.
    pub orders_accepted: u64,
    /// Orders rejected since start, by breaker or state.
    pub orders_rejected: std::collections::HashMap<String, u64>,
    /// Alert deliveries.
    pub alerts: DeliveryView,
}

/// The host's handle on one strategy's engine. Cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct EngineHandle {
    name: String,
    supervisor: Addr<Supervisor>,
    manual: Addr<ManualBreaker>,
    crew: Crew,
    events: broadcast::Sender<EngineEvent>,
    signal: Arc<GateSignal>,
    health: Arc<HealthBoard>,
    clock: SharedClock,
    checkpoint: StrategyCheckpoint,
}

fn unavailable(what: &str) -> EngineError {
    EngineError::Unavailable(format!("{what} is not running"))
}

impl EngineHandle {
    /// The strategy's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Submits a portfolio snapshot and waits until every breaker has judged it: when this
    /// returns, any trip it caused is already refusing orders.
    pub async fn submit_snapshot(&self, snapshot: PortfolioSnapshot) -> Result<(), EngineError> {
        let feed = self
            .crew
            .feed
            .as_ref()
            .ok_or_else(|| unavailable("ledger feed"))?;
        feed.send(SubmitSnapshot(snapshot)).await?
    }

    /// Submits a snapshot without waiting (bulk feeds). Refusals are logged and counted.
    pub fn push_snapshot(&self, snapshot: PortfolioSnapshot) {
        self.push_snapshots(vec![snapshot]);
    }

    /// Submits snapshots, in order, without waiting; the breakers judge the batch in one
    /// message each, exactly as they would one by one. [`Self::settle`] waits until they are all
    /// judged and any trip they caused is in force at the gate.
    pub fn push_snapshots(&self, snapshots: Vec<PortfolioSnapshot>) {
        if let Some(feed) = &self.crew.feed {
            feed.do_send(PushSnapshots(snapshots));
        }
    }

    /// Waits until everything sent before has been judged and any trip it caused is in force at
    /// the gate: a round trip through the feed, then each portfolio breaker, then the
    /// Supervisor, each mailbox being first in, first out.
    pub async fn settle(&self) -> Result<(), EngineError> {
        let feed = self
            .crew
            .feed
            .as_ref()
            .ok_or_else(|| unavailable("ledger feed"))?;
        feed.send(ReadStaleFeed).await?;
        if let Some(a) = &self.crew.drawdown {
            a.send(ReadBreaker).await?;
        }
        if let Some(a) = &self.crew.daily_loss {
            a.send(ReadBreaker).await?;
        }
        self.supervisor.send(ReadState).await?;
        Ok(())
    }

    /// Asks the gate whether an order may be sent. An engine that cannot answer refuses.
    pub async fn check_order(&self, order: OrderRequest) -> Result<OrderDecision, EngineError> {
        let gate = self
            .crew
            .gate
            .as_ref()
            .ok_or_else(|| unavailable("order gate"))?;
        match gate.send(CheckOrder(order)).await {
            Ok(r) => r.map_err(Into::into),
            Err(e) => Ok(OrderDecision::Rejected {
                reason: format!("order gate unavailable ({e}): failing closed"),
                state: self.signal.state(),
                breaker: None,
            }),
        }
    }

    /// The fast path: whether an order could pass now, read without a message. The actor's
    /// answer ([`Self::check_order`]) is the one that counts toward the order rate.
    pub fn trading_allowed(&self) -> bool {
        self.signal.state() == EngineState::Normal && self.health.first_not_ready().is_none()
    }

    /// The state the gate last heard, read without a message.
    pub fn gate_state(&self) -> EngineState {
        self.signal.state()
    }

    /// Reports a fill.
    pub async fn report_fill(&self, fill: Fill) -> Result<(), EngineError> {
        let gate = self
            .crew
            .gate
            .as_ref()
            .ok_or_else(|| unavailable("order gate"))?;
        gate.send(ReportFill(fill)).await?.map_err(Into::into)
    }

    /// Reports an error; waits until any trip it caused is in force.
    pub async fn report_error(&self, error: ErrorReport) -> Result<(), EngineError> {
        let breaker = self
            .crew
            .error_rate
            .as_ref()
            .ok_or_else(|| unavailable("error rate breaker"))?;
        breaker
            .send(ReportError(error))
            .await?
            .map_err(|e| EngineError::Unavailable(e.to_string()))
    }

    /// Emergency stop. Durable when it returns.
    pub async fn halt(
        &self,
        operator: &str,
        reason: &str,
    ) -> Result<crate::state_machine::StateRecord, EngineError> {
        self.manual
            .send(Halt {
                operator: operator.into(),
                reason: reason.into(),
            })
            .await?
    }

    /// First step of a reset.
    pub async fn request_reset(
        &self,
        operator: &str,
        reason: Option<&str>,
    ) -> Result<ResetTicket, EngineError> {
        self.manual
            .send(RequestReset {
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
    ) -> Result<crate::state_machine::StateRecord, EngineError> {
        self.manual
            .send(ConfirmReset {
                operator: operator.into(),
                confirmation_token: token.into(),
                rebase_high_water_mark,
            })
            .await?
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    /// Runs every time-driven check now, as of the clock's time, and waits for them: tests and
    /// replays drive time this way.
    pub async fn tick(&self) {
        let tick = Tick {
            now: self.clock.now(),
        };
        if let Some(a) = &self.crew.feed {
            let _ = a.send(tick).await;
        }
        if let Some(a) = &self.crew.daily_loss {
            let _ = a.send(tick).await;
        }
        if let Some(a) = &self.crew.order_rate {
            let _ = a.send(tick).await;
        }
        if let Some(a) = &self.crew.error_rate {
            let _ = a.send(tick).await;
        }
        let _ = self.supervisor.send(tick).await;
        // The Supervisor may still be checkpointing what the ticks caused: wait for it.
        let _ = self.supervisor.send(ReadState).await;
    }

    /// The full status.
    pub async fn status(&self) -> Result<EngineStatus, EngineError> {
        let (record, degraded) = self.supervisor.send(ReadState).await?;
        let mut readings: Vec<BreakerReading> = Vec::new();
        macro_rules! read {
            ($a:expr) => {
                if let Some(a) = &$a {
                    if let Ok(r) = a.send(ReadBreaker).await {
                        readings.push(r);
                    }
                }
            };
        }
        read!(self.crew.drawdown);
        read!(self.crew.daily_loss);
        read!(self.crew.order_rate);
        read!(self.crew.error_rate);
        let feed = self
            .crew
            .feed
            .as_ref()
            .ok_or_else(|| unavailable("ledger feed"))?;
        readings.push(feed.send(ReadStaleFeed).await?);
        readings.push(self.manual.send(ReadBreaker).await?);
        let tripped: BTreeMap<BreakerKind, DateTime<Utc>> =
            record.tripped.iter().copied().collect();
        let mut breakers: Vec<BreakerStatus> = readings
            .into_iter()
            .map(|r| {
                let tripped_at = tripped.get(&r.breaker).copied();
                BreakerStatus {
                    kind: r.breaker,
                    status: if tripped_at.is_some() {
                        "tripped"
                    } else {
                        "ok"
                    },
                    enabled: r.enabled,
                    ready: r.ready
                        && (!r.enabled
                            || self.health.is_ready(r.breaker)
                            || !self.health.is_enabled(r.breaker)),
                    value: r.value,
                    limit: r.limit,
                    tripped_at,
                    details: r.details,
                }
            })
            .collect();
        for kind in [
            BreakerKind::Drawdown,
            BreakerKind::DailyLoss,
            BreakerKind::OrderRate,
        ] {
            if !breakers.iter().any(|b| b.kind == kind) {
                breakers.push(BreakerStatus {
                    kind,
                    status: "ok",
                    enabled: false,
                    ready: true,
                    value: None,
                    limit: None,
                    tripped_at: None,
                    details: BTreeMap::new(),
                });
            }
        }
        if record.state == EngineState::ManuallyHalted {
            if let Some(m) = breakers.iter_mut().find(|b| b.kind == BreakerKind::Manual) {
                m.status = "tripped";
                m.tripped_at = Some(record.since);
            }
        }
        breakers.sort_by_key(|b| BreakerKind::ALL.iter().position(|k| *k == b.kind));

        let view = feed.send(ReadPortfolio).await?;
        let (hwm, drawdown) = match &self.crew.drawdown {
            Some(a) => a.send(ReadHighWaterMark).await?,
            None => (None, None),
        };
        let daily_pnl = match &self.crew.daily_loss {
            Some(a) => a.send(ReadDailyPnl).await?,
            None => None,
        };
        let last = view.last.clone();
        let portfolio = PortfolioStatus {
            value: last.as_ref().map(|s| s.portfolio_value),
            cash: last.as_ref().and_then(|s| s.cash),
            high_water_mark: hwm,
            drawdown: drawdown.map(|d| d.round_dp(6).normalize()),
            daily_pnl,
            positions: last
                .as_ref()
                .map(|s| {
                    s.positions
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
            snapshots_accepted: view.accepted,
            snapshots_refused: view.refused,
        };
        let activity: GateActivity = match &self.crew.gate {
            Some(g) => g.send(ReadActivity).await?,
            None => GateActivity::default(),
        };
        let (recent_errors, error_totals) = match &self.crew.error_rate {
            Some(a) => a.send(ReadErrors).await?,
            None => Default::default(),
        };
        let alerts = match &self.crew.dispatcher {
            Some(d) => d.send(ReadDeliveries).await?,
            None => DeliveryView::default(),
        };
        Ok(EngineStatus {
            name: self.name.clone(),
            state: record.state,
            since: record.since,
            reason: record.reason.clone(),
            checkpoint_error: degraded,
            pending_reset: record.pending_reset.as_ref().map(|p| PendingResetStatus {
                operator: p.operator.clone(),
                expires_at: p.expires_at,
            }),
            breakers,
            portfolio,
            recent_orders: activity.orders,
            recent_fills: activity.fills,
            recent_errors,
            error_totals,
            orders_accepted: activity.accepted,
            orders_rejected: activity.rejected,
            alerts,
        })
    }

    /// The audit trail, oldest first.
    pub fn audit(&self) -> Result<Vec<AuditEntry>, EngineError> {
        Ok(self.checkpoint.audit()?)
    }

    /// The persisted alert delivery log, newest `limit`, oldest first (after writing out what
    /// is still queued for the disk).
    pub async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryRecord>, EngineError> {
        self.checkpoint.flush().await?;
        Ok(self.checkpoint.deliveries(limit)?)
    }

    /// Waits until every alert raised so far has its outcome: the Supervisor raises alerts once
    /// a transition is checkpointed, so it is asked first, then the dispatcher.
    pub async fn alerts_idle(&self) {
        let _ = self.supervisor.send(ReadState).await;
        if let Some(d) = &self.crew.dispatcher {
            let _ = d.send(WaitIdle).await;
        }
    }

    /// Sends `alert` through every channel now, bypassing the rate limit; answers per channel.
    pub async fn send_alert_now(&self, alert: Alert) -> Result<Vec<DeliveryRecord>, EngineError> {
        let d = self
            .crew
            .dispatcher
            .as_ref()
            .ok_or_else(|| unavailable("alert dispatcher"))?;
        Ok(d.send(SendNow(alert)).await?)
    }

    /// Test-only fault hook: makes the named actor panic inside a handler.
    #[cfg(feature = "fault-injection")]
    pub async fn inject_panic(&self, actor: &str) {
        use crate::actors::messages::InjectPanic;
        let r = match actor {
            "drawdown" => match &self.crew.drawdown {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "daily_loss" => match &self.crew.daily_loss {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "order_rate" => match &self.crew.order_rate {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "error_rate" => match &self.crew.error_rate {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "order_gate" => match &self.crew.gate {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "ledger_feed" => match &self.crew.feed {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "alert_dispatcher" => match &self.crew.dispatcher {
                Some(a) => a.send(InjectPanic).await.is_ok(),
                None => false,
            },
            "manual_breaker" => self.manual.send(InjectPanic).await.is_ok(),
            other => panic!("no actor named {other}"),
        };
        let _ = r;
    }
}
