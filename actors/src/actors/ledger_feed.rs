//! LedgerFeed: takes the host's portfolio snapshots, refuses bad ones, fans good ones out to
//! the portfolio breakers, and watches for a feed gone silent (the stale_feed breaker).

use super::daily_loss_breaker::DailyLossBreaker;
use super::drawdown_breaker::DrawdownBreaker;
use super::messages::{ClearReport, EvaluateSnapshots, Rearm, Tick, TripReport, Valuation};
use super::order_gate::{OrderGate, PositionsUpdate};
use super::{guard, Supervisor};
use crate::breaker::{BreakerKind, BreakerReading, ResetPolicy, Trip};
use crate::clock::SharedClock;
use crate::domain::{InputError, PortfolioSnapshot};
use crate::error::EngineError;
use crate::events::EngineEvent;
use crate::rules::StaleFeedRule;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;

const HISTORY: usize = 2000;

/// Submits a snapshot. Resolves once every breaker has judged it and any trip it caused is in
/// force at the order gate.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), EngineError>")]
pub struct SubmitSnapshot(pub PortfolioSnapshot);

/// Submits snapshots, in order, without waiting for the breakers (bulk feeds, replays): the
/// breakers judge the whole batch in one message each. A refused snapshot is logged and
/// counted; the others go on.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct PushSnapshots(pub Vec<PortfolioSnapshot>);

/// What the feed knows of the portfolio.
#[derive(Debug, Clone, Default)]
pub struct PortfolioView {
    /// The last snapshot accepted.
    pub last: Option<Arc<PortfolioSnapshot>>,
    /// Recent (time, value) points, oldest first, for charts.
    pub history: Vec<(DateTime<Utc>, Decimal)>,
    /// Snapshots accepted since start.
    pub accepted: u64,
    /// Snapshots refused since start.
    pub refused: u64,
}

/// Asks for the portfolio view.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "PortfolioView")]
pub struct ReadPortfolio;

/// Asks for the stale-feed breaker's reading.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "BreakerReading")]
pub struct ReadStaleFeed;

/// The ledger feed actor.
pub struct LedgerFeed {
    strategy: String,
    last: Option<Arc<PortfolioSnapshot>>,
    history: VecDeque<(DateTime<Utc>, Decimal)>,
    accepted: u64,
    refused: u64,
    drawdown: Option<Addr<DrawdownBreaker>>,
    daily_loss: Option<Addr<DailyLossBreaker>>,
    stale: Option<(StaleFeedRule, ResetPolicy)>,
    gate: Addr<OrderGate>,
    forward_positions: bool,
    supervisor: Addr<Supervisor>,
    events: broadcast::Sender<EngineEvent>,
    clock: SharedClock,
}

impl LedgerFeed {
    /// A feed for `strategy` fanning out to the given breakers.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        strategy: String,
        drawdown: Option<Addr<DrawdownBreaker>>,
        daily_loss: Option<Addr<DailyLossBreaker>>,
        stale: Option<(StaleFeedRule, ResetPolicy)>,
        gate: Addr<OrderGate>,
        forward_positions: bool,
        supervisor: Addr<Supervisor>,
        events: broadcast::Sender<EngineEvent>,
        clock: SharedClock,
    ) -> Self {
        Self {
            strategy,
            last: None,
            history: VecDeque::with_capacity(HISTORY),
            accepted: 0,
            refused: 0,
            drawdown,
            daily_loss,
            stale,
            gate,
            forward_positions,
            supervisor,
            events,
            clock,
        }
    }

    /// Validates and records a snapshot; on success returns it shared, ready to fan out.
    fn accept(
        &mut self,
        snapshot: PortfolioSnapshot,
    ) -> Result<Arc<PortfolioSnapshot>, InputError> {
        let checked = snapshot.validate().and_then(|_| match &self.last {
            Some(prev) if snapshot.timestamp < prev.timestamp => Err(InputError::OutOfOrder {
                field: "timestamp",
                value: snapshot.timestamp,
                previous: prev.timestamp,
            }),
            _ => Ok(()),
        });
        if let Err(e) = checked {
            self.refused += 1;
            return Err(e);
        }
        let snapshot = Arc::new(snapshot);
        self.accepted += 1;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history
            .push_back((snapshot.timestamp, snapshot.portfolio_value));
        self.last = Some(snapshot.clone());
        if let Some((rule, policy)) = self.stale.as_mut() {
            if rule.on_snapshot(self.clock.now()) && *policy == ResetPolicy::Auto {
                self.supervisor.do_send(ClearReport {
                    breaker: BreakerKind::StaleFeed,
                    at: self.clock.now(),
                });
            }
        }
        if self.forward_positions && !snapshot.positions.is_empty() {
            self.gate
                .do_send(PositionsUpdate(snapshot.positions.clone()));
        }
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(EngineEvent::Snapshot {
                strategy: self.strategy.clone(),
                snapshot: (*snapshot).clone(),
            });
        }
        Ok(snapshot)
    }
}

impl Actor for LedgerFeed {
    type Context = Context<Self>;
}

impl Supervised for LedgerFeed {}

impl Handler<SubmitSnapshot> for LedgerFeed {
    type Result = ResponseFuture<Result<(), EngineError>>;

    fn handle(&mut self, msg: SubmitSnapshot, ctx: &mut Context<Self>) -> Self::Result {
        let accepted = match guard(self, ctx, "ledger_feed", |_| {}, |act| act.accept(msg.0)) {
            None => {
                return Box::pin(async {
                    Err(EngineError::Unavailable("ledger feed restarting".into()))
                })
            }
            Some(Err(e)) => return Box::pin(async move { Err(e.into()) }),
            Some(Ok(s)) => s,
        };
        let batch: Arc<[Valuation]> = Arc::new([Valuation::from(&*accepted)]);
        let drawdown = self
            .drawdown
            .as_ref()
            .map(|a| a.send(EvaluateSnapshots(batch.clone())));
        let daily = self
            .daily_loss
            .as_ref()
            .map(|a| a.send(EvaluateSnapshots(batch)));
        Box::pin(async move {
            // Both breakers judge the snapshot at once; a failed one has already marked itself
            // not ready, so the gate is closed: the snapshot itself was accepted.
            let (a, b) = futures::join!(
                async {
                    match drawdown {
                        Some(f) => f.await.ok().and_then(|r| r.err()),
                        None => None,
                    }
                },
                async {
                    match daily {
                        Some(f) => f.await.ok().and_then(|r| r.err()),
                        None => None,
                    }
                }
            );
            if let Some(failed) = a.or(b) {
                tracing::error!(%failed, "a breaker failed on a snapshot");
            }
            Ok(())
        })
    }
}

impl Handler<PushSnapshots> for LedgerFeed {
    type Result = ();

    fn handle(&mut self, msg: PushSnapshots, ctx: &mut Context<Self>) {
        let accepted = guard(
            self,
            ctx,
            "ledger_feed",
            |_| {},
            |act| {
                let mut batch = Vec::with_capacity(msg.0.len());
                for s in msg.0 {
                    match act.accept(s) {
                        Ok(s) => batch.push(Valuation::from(&*s)),
                        Err(e) => tracing::warn!(error = %e, "snapshot refused"),
                    }
                }
                batch
            },
        );
        let Some(batch) = accepted.filter(|b| !b.is_empty()) else {
            return;
        };
        let batch: Arc<[Valuation]> = batch.into();
        if let Some(a) = &self.drawdown {
            a.do_send(EvaluateSnapshots(batch.clone()));
        }
        if let Some(a) = &self.daily_loss {
            a.do_send(EvaluateSnapshots(batch));
        }
    }
}

impl Handler<Tick> for LedgerFeed {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, msg: Tick, _: &mut Context<Self>) -> Self::Result {
        let trip = self
            .stale
            .as_mut()
            .and_then(|(rule, _)| rule.on_tick(msg.now));
        let reported = trip.map(|trip| self.supervisor.send(TripReport(trip)));
        Box::pin(async move {
            if let Some(r) = reported {
                let _ = r.await;
            }
        })
    }
}

impl Handler<Rearm> for LedgerFeed {
    type Result = Option<Trip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        let (rule, _) = self.stale.as_mut()?;
        rule.rearm();
        rule.on_tick(msg.now)
    }
}

impl Handler<ReadPortfolio> for LedgerFeed {
    type Result = MessageResult<ReadPortfolio>;

    fn handle(&mut self, _: ReadPortfolio, _: &mut Context<Self>) -> Self::Result {
        MessageResult(PortfolioView {
            last: self.last.clone(),
            history: self.history.iter().copied().collect(),
            accepted: self.accepted,
            refused: self.refused,
        })
    }
}

impl Handler<ReadStaleFeed> for LedgerFeed {
    type Result = MessageResult<ReadStaleFeed>;

    fn handle(&mut self, _: ReadStaleFeed, _: &mut Context<Self>) -> Self::Result {
        let now = self.clock.now();
        MessageResult(match &self.stale {
            Some((rule, _)) => rule.reading(true, now),
            None => BreakerReading {
                breaker: BreakerKind::StaleFeed,
                enabled: false,
                ready: true,
                value: None,
                limit: None,
                details: Default::default(),
            },
        })
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for LedgerFeed {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        guard(
            self,
            ctx,
            "ledger_feed",
            |_| {},
            |_| panic!("injected fault"),
        );
    }
}
