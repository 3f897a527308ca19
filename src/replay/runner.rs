//! Runs a history through the same engine as live trading, on a simulated clock set to each
//! event's time: snapshots are fed in batches, and before anything that depends on their
//! verdicts (an order, an error, the passage of time) the engine is settled, so every trip
//! and refusal is exactly what the live engine would have produced.

use super::events::{EventKind, ReplayEvent};
use crate::engine::EngineBuilder;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use rustybt_actors::breaker::{BreakerKind, Trip};
use rustybt_actors::clock::{Clock, TestClock};
use rustybt_actors::decision::OrderDecision;
use rustybt_actors::domain::{InputError, PortfolioSnapshot};
use rustybt_actors::events::EngineEvent;
use rustybt_actors::pretrade::PreTradeCheck;
use rustybt_actors::settings::StrategySettings;
use rustybt_actors::state_machine::EngineState;
use std::collections::BTreeMap;

/// How the replay behaves where live trading would wait for a person.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Confirm a reset (rebasing the high-water mark) this long after each trip, so later
    /// trips show too. `None`: a tripped breaker stays tripped, as live.
    pub auto_reset_after: Option<Duration>,
}

/// An order the engine would have refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOrder {
    /// Its line in the history.
    pub line: usize,
    /// Its id.
    pub order_id: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
    /// The breaker that enforced it.
    pub breaker: Option<BreakerKind>,
    /// The pre-trade check that denied it (then no breaker).
    pub check: Option<PreTradeCheck>,
}

/// One breaker's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BreakerSummary {
    /// Trips.
    pub trips: usize,
    /// The first trip's time.
    pub first_trip: Option<DateTime<Utc>>,
    /// Orders it refused.
    pub refused_orders: usize,
}

/// What a replay found.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    /// Every trip, in order.
    pub trips: Vec<Trip>,
    /// Every refused order, in order.
    pub refused: Vec<RefusedOrder>,
    /// Per breaker.
    pub summary: BTreeMap<BreakerKind, BreakerSummary>,
    /// Events replayed.
    pub events: usize,
    /// Orders seen.
    pub orders: usize,
    /// The state at the end.
    pub final_state: Option<EngineState>,
    /// (time, value) of every snapshot, for charts.
    pub values: Vec<(DateTime<Utc>, Decimal)>,
    /// Resets the replay confirmed by itself (`auto_reset_after`).
    pub auto_resets: usize,
    /// Orders denied per pre-trade check.
    pub denials: BTreeMap<PreTradeCheck, usize>,
    /// `/done` events naming an order the gate never accepted (denied or unknown): the
    /// history's host thought it was working.
    pub done_unknown: usize,
}

const BATCH: usize = 4096;

/// Replays `events` with `settings`. Must run inside an actix System (the engine lives on
/// the calling thread: the replay is as fast as the actors allow).
pub async fn replay(
    mut settings: StrategySettings,
    events: &[ReplayEvent],
    options: &ReplayOptions,
) -> anyhow::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let Some(first) = events.first() else {
        return Ok(report);
    };
    settings.tick_interval = None;
    let name = settings.name.clone();
    let clock = TestClock::new(first.at);
    let engines = EngineBuilder::new(settings)
        .clock(clock.clone())
        .temporary_checkpoint()
        .start_all_in_current_system()?;
    let engine = engines.get(&name).expect("started").clone();
    let mut subscription = engine.subscribe();

    let mut batch: Vec<PortfolioSnapshot> = Vec::with_capacity(BATCH);
    let mut last_tick = first.at;
    let mut tripped_since: Option<DateTime<Utc>> = None;
    let mut previous = first.at;
    for event in events {
        // Time passed: the engine's time-driven checks (stale feed, session open, auto clear,
        // reset expiry) run before this event. While NORMAL with events under a second apart
        // none of them can change anything (a new session is also seen by the next snapshot),
        // so dense histories skip them; after a silence of a second or more, or while not
        // NORMAL, they run once per second crossed, as live.
        let silent = event.at - previous >= Duration::seconds(1);
        let not_normal = engine.state() != EngineState::Normal;
        previous = event.at;
        if (silent || not_normal) && event.at - last_tick >= Duration::seconds(1) {
            flush(&engine, &mut batch);
            engine.settle().await?;
            clock.set(event.at - Duration::nanoseconds(1));
            engine.tick().await;
            last_tick = event.at;
            if let Some(after) = options.auto_reset_after {
                let state = engine.state();
                match (state, tripped_since) {
                    (EngineState::Normal, _) => tripped_since = None,
                    (_, None) => tripped_since = Some(clock.now()),
                    (_, Some(since)) if clock.now() - since >= after => {
                        let operator = engine.operator();
                        let ticket = operator.request_reset("replay", Some("auto reset")).await?;
                        operator
                            .confirm_reset("replay", &ticket.confirmation_token, true)
                            .await?;
                        report.auto_resets += 1;
                        tripped_since = None;
                    }
                    _ => {}
                }
            }
        }
        clock.set(event.at);
        match &event.kind {
            EventKind::Portfolio(s) => {
                report.values.push((s.timestamp, s.portfolio_value));
                batch.push(s.clone());
                if batch.len() == BATCH {
                    flush(&engine, &mut batch);
                }
            }
            EventKind::Order(o) => {
                flush(&engine, &mut batch);
                engine.settle().await?;
                report.orders += 1;
                if let OrderDecision::Rejected {
                    reason,
                    breaker,
                    check,
                    ..
                } = engine.check_order(o.clone())?
                {
                    if let Some(c) = check {
                        *report.denials.entry(c).or_default() += 1;
                    }
                    report.refused.push(RefusedOrder {
                        line: event.line,
                        order_id: o.order_id.clone(),
                        at: event.at,
                        reason,
                        breaker,
                        check,
                    });
                }
            }
            EventKind::Prices(prices) => {
                engine.post_prices(event.at, prices.clone())?;
            }
            EventKind::Done { order_id, status } => {
                // An order the engine denied was never working: in the recorded history the
                // broker saw it, here it never left.
                match engine.order_done(order_id, *status, Some(event.at)) {
                    Err(InputError::UnknownOrder { .. }) => report.done_unknown += 1,
                    // The engine closed it at its session's close already.
                    Err(InputError::ExpiredOrder { .. }) => {}
                    other => other?,
                }
            }
            EventKind::Heartbeat => engine.heartbeat(Some(event.at))?,
            EventKind::Fill(f) => {
                flush(&engine, &mut batch);
                engine.report_fill(f.clone())?;
            }
            EventKind::Error(e) => {
                flush(&engine, &mut batch);
                engine.settle().await?;
                engine.report_error(e.clone()).await?;
            }
        }
        report.events += 1;
    }
    flush(&engine, &mut batch);
    engine.settle().await?;
    engine.alerts_idle().await; // every transition checkpointed and published
    report.final_state = Some(engine.status().await?.state);
    // The control stream never drops an event: every trip the engine made is here.
    while let Ok(e) = subscription.try_recv() {
        if let EngineEvent::CircuitBreakerTripped(t) = e {
            let s = report.summary.entry(t.trip.breaker).or_default();
            s.trips += 1;
            s.first_trip.get_or_insert(t.trip.at);
            report.trips.push(t.trip);
        }
    }
    for r in &report.refused {
        if let Some(b) = r.breaker {
            report.summary.entry(b).or_default().refused_orders += 1;
        }
    }
    engines.shutdown().await?;
    Ok(report)
}

fn flush(engine: &rustybt_actors::engine::EngineHandle, batch: &mut Vec<PortfolioSnapshot>) {
    if !batch.is_empty() {
        engine.push_snapshots(std::mem::replace(batch, Vec::with_capacity(BATCH)));
    }
}
