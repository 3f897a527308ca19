//! LedgerFeed: takes the host's portfolio snapshots, refuses bad ones (naming the field),
//! hands positions to the gate's decision core, and fans valuations out to the portfolio
//! breakers (drawdown, daily loss, stale feed).

use super::messages::{Evaluate, Judging};
use super::{guard, Links};
use crate::clock::SharedClock;
use crate::decision::DecisionCore;
use crate::domain::{InputError, PortfolioSnapshot, Valuation};
use crate::error::EngineError;
use crate::events::TelemetryEvent;
use crate::supervision::ActorName;
use actix::prelude::*;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast;

const HISTORY: usize = 2000;

/// Submits a snapshot. Answered through `reply` once every portfolio breaker has judged it:
/// any trip it caused is refusing orders by then; the Supervisor's durable commit, the flush
/// and the alerts follow the answer.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct SubmitSnapshot {
    /// The snapshot.
    pub snapshot: PortfolioSnapshot,
    /// Where the answer goes.
    pub reply: tokio::sync::oneshot::Sender<Result<(), EngineError>>,
}

/// Submits snapshots, in order, without waiting for the breakers (bulk feeds, replays): each
/// breaker judges the whole batch in one message. A refused snapshot is logged and counted;
/// the others go on.
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
    /// The last refusal, for the operator.
    pub last_refusal: Option<String>,
}

/// Asks for the portfolio view.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "PortfolioView")]
pub struct ReadPortfolio;

/// The portfolio breakers a feed fans out to.
pub type PortfolioBreakers = Vec<Recipient<Evaluate<Valuation>>>;

/// What a ledger feed is wired to.
pub struct FeedParts {
    /// The strategy's name, for telemetry.
    pub strategy: String,
    /// The portfolio breakers to fan out to.
    pub breakers: PortfolioBreakers,
    /// The gate's decision core (positions for reduce-only).
    pub core: Arc<DecisionCore>,
    /// How far ahead of the clock a snapshot may be dated.
    pub max_clock_skew: Duration,
    /// Snapshot telemetry.
    pub telemetry: broadcast::Sender<TelemetryEvent>,
    /// The engine's clock.
    pub clock: SharedClock,
}

/// The ledger feed actor.
pub struct LedgerFeed {
    parts: FeedParts,
    view: PortfolioView,
    history: VecDeque<(DateTime<Utc>, Decimal)>,
    links: Links,
}

impl LedgerFeed {
    /// A feed wired to `parts`.
    pub fn new(parts: FeedParts, links: Links) -> Self {
        Self {
            parts,
            view: PortfolioView::default(),
            history: VecDeque::with_capacity(HISTORY),
            links,
        }
    }

    fn check(&self, snapshot: &PortfolioSnapshot, now: DateTime<Utc>) -> Result<(), InputError> {
        snapshot.validate()?;
        InputError::check_not_ahead(
            "timestamp",
            snapshot.timestamp,
            now,
            self.parts.max_clock_skew,
        )?;
        match &self.view.last {
            Some(prev) if snapshot.timestamp < prev.timestamp => Err(InputError::OutOfOrder {
                field: "timestamp",
                value: snapshot.timestamp,
                previous: prev.timestamp,
            }),
            _ => Ok(()),
        }
    }

    /// Validates and records a snapshot; on success, its valuation, ready to fan out.
    fn accept(&mut self, snapshot: PortfolioSnapshot) -> Result<Valuation, InputError> {
        let now = self.parts.clock.now();
        if let Err(e) = self.check(&snapshot, now) {
            self.view.refused += 1;
            self.view.last_refusal = Some(e.to_string());
            return Err(e);
        }
        let valuation = Valuation {
            value: snapshot.portfolio_value,
            at: snapshot.timestamp,
            received_at: now,
        };
        self.view.accepted += 1;
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history
            .push_back((snapshot.timestamp, snapshot.portfolio_value));
        if let Some(positions) = &snapshot.positions {
            self.parts.core.on_snapshot(snapshot.timestamp, positions);
        }
        let snapshot = Arc::new(snapshot);
        if self.parts.telemetry.receiver_count() > 0 {
            let _ = self.parts.telemetry.send(TelemetryEvent::Snapshot {
                strategy: self.parts.strategy.clone(),
                snapshot: (*snapshot).clone(),
            });
        }
        self.view.last = Some(snapshot);
        Ok(valuation)
    }
}

super::plain_supervisee!(LedgerFeed, ActorName::LedgerFeed);

impl Handler<SubmitSnapshot> for LedgerFeed {
    type Result = ();

    fn handle(&mut self, msg: SubmitSnapshot, ctx: &mut Context<Self>) {
        let SubmitSnapshot { snapshot, reply } = msg;
        let valuation = match guard(self, ctx, |act| act.accept(snapshot)) {
            None => {
                let _ = reply.send(Err(EngineError::Unavailable(
                    "ledger feed restarting".into(),
                )));
                return;
            }
            Some(Err(e)) => {
                let _ = reply.send(Err(e.into()));
                return;
            }
            Some(Ok(v)) => v,
        };
        let batch: Arc<[Valuation]> = Arc::new([valuation]);
        // The last breaker to let go of it answers the host, straight from its handler; with
        // no portfolio breaker, this drop does.
        let judging = Judging::new(reply);
        for b in &self.parts.breakers {
            b.do_send(Evaluate(batch.clone(), Some(judging.clone())));
        }
    }
}

impl Handler<PushSnapshots> for LedgerFeed {
    type Result = ();

    fn handle(&mut self, msg: PushSnapshots, ctx: &mut Context<Self>) {
        let accepted = guard(self, ctx, |act| {
            let mut batch = Vec::with_capacity(msg.0.len());
            for s in msg.0 {
                match act.accept(s) {
                    Ok(v) => batch.push(v),
                    Err(e) => tracing::warn!(error = %e, "snapshot refused"),
                }
            }
            batch
        });
        let Some(batch) = accepted.filter(|b| !b.is_empty()) else {
            return;
        };
        let batch: Arc<[Valuation]> = batch.into();
        for b in &self.parts.breakers {
            b.do_send(Evaluate(batch.clone(), None));
        }
    }
}

impl Handler<ReadPortfolio> for LedgerFeed {
    type Result = MessageResult<ReadPortfolio>;

    fn handle(&mut self, _: ReadPortfolio, _: &mut Context<Self>) -> Self::Result {
        let mut view = self.view.clone();
        view.history = self.history.iter().copied().collect();
        MessageResult(view)
    }
}
