//! ErrorRateBreaker: owns the sliding window of typed errors and the recent error log.

use super::health::HealthBoard;
use super::messages::{BreakerFailed, ClearReport, ReadBreaker, Rearm, Tick, TripReport};
use super::{guard, Supervisor};
use crate::breaker::{BreakerKind, ResetPolicy, Trip};
use crate::clock::SharedClock;
use crate::domain::ErrorReport;
use crate::rules::ErrorRateRule;
use crate::settings::ErrorRateSettings;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

const KIND: BreakerKind = BreakerKind::ErrorRate;
const RECENT: usize = 200;

/// An error as logged, with the engine's time of receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedError {
    /// When the engine heard of it.
    pub received_at: DateTime<Utc>,
    /// The report.
    #[serde(flatten)]
    pub report: ErrorReport,
}

/// Reports an error. Resolves once any trip it caused is in force at the gate.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<(), BreakerFailed>")]
pub struct ReportError(pub ErrorReport);

/// Asks for the recent errors (newest last) and the totals per kind since start.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "(Vec<LoggedError>, BTreeMap<String, u64>)")]
pub struct ReadErrors;

/// The error rate breaker actor. A disabled breaker still keeps the error log.
pub struct ErrorRateBreaker {
    settings: Option<ErrorRateSettings>,
    rule: Option<ErrorRateRule>,
    recent: VecDeque<LoggedError>,
    totals: BTreeMap<String, u64>,
    clock: SharedClock,
    supervisor: Addr<Supervisor>,
    health: Arc<HealthBoard>,
}

impl ErrorRateBreaker {
    /// A breaker with these settings (`None`: only the log).
    pub fn new(
        settings: Option<ErrorRateSettings>,
        clock: SharedClock,
        supervisor: Addr<Supervisor>,
        health: Arc<HealthBoard>,
    ) -> Self {
        Self {
            rule: settings
                .as_ref()
                .map(|s| ErrorRateRule::new(s.max_errors, s.window)),
            settings,
            recent: VecDeque::with_capacity(RECENT),
            totals: BTreeMap::new(),
            clock,
            supervisor,
            health,
        }
    }
}

impl Actor for ErrorRateBreaker {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Context<Self>) {
        self.health.set_ready(KIND, true);
    }
}

impl Supervised for ErrorRateBreaker {
    fn restarting(&mut self, _: &mut Context<Self>) {
        self.rule = self
            .settings
            .as_ref()
            .map(|s| ErrorRateRule::new(s.max_errors, s.window));
    }
}

impl Handler<ReportError> for ErrorRateBreaker {
    type Result = ResponseFuture<Result<(), BreakerFailed>>;

    fn handle(&mut self, msg: ReportError, ctx: &mut Context<Self>) -> Self::Result {
        let health = self.health.clone();
        let now = self.clock.now();
        let verdict = guard(
            self,
            ctx,
            "error_rate_breaker",
            |_| health.set_ready(KIND, false),
            |act| {
                let kind = msg.0.kind;
                *act.totals.entry(kind.as_str().to_string()).or_default() += 1;
                if act.recent.len() == RECENT {
                    act.recent.pop_front();
                }
                act.recent.push_back(LoggedError {
                    received_at: now,
                    report: msg.0,
                });
                act.rule.as_mut().map(|r| r.on_error(kind, now))
            },
        );
        let (answer, reported) = match verdict {
            None => (Err(BreakerFailed { breaker: KIND }), None),
            // Sent now so the trip is queued at the Supervisor before anything else happens.
            Some(Some(Ok(Some(trip)))) => (Ok(()), Some(self.supervisor.send(TripReport(trip)))),
            Some(Some(Err(e))) => {
                tracing::warn!(error = %e, "error rate breaker refused an error time");
                (Ok(()), None)
            }
            Some(_) => (Ok(()), None),
        };
        Box::pin(async move {
            if let Some(r) = reported {
                let _ = r.await;
            }
            answer
        })
    }
}

impl Handler<Tick> for ErrorRateBreaker {
    type Result = ();

    fn handle(&mut self, msg: Tick, _: &mut Context<Self>) {
        let auto = self
            .settings
            .as_ref()
            .is_some_and(|s| s.reset == ResetPolicy::Auto);
        if let Some(rule) = self.rule.as_mut() {
            if auto && rule.cleared(msg.now) {
                self.supervisor.do_send(ClearReport {
                    breaker: KIND,
                    at: msg.now,
                });
            }
        }
    }
}

impl Handler<Rearm> for ErrorRateBreaker {
    type Result = Option<Trip>;

    fn handle(&mut self, msg: Rearm, _: &mut Context<Self>) -> Self::Result {
        self.rule.as_mut().and_then(|r| r.rearm(msg.now))
    }
}

impl Handler<ReadBreaker> for ErrorRateBreaker {
    type Result = MessageResult<ReadBreaker>;

    fn handle(&mut self, _: ReadBreaker, _: &mut Context<Self>) -> Self::Result {
        MessageResult(match &self.rule {
            Some(rule) => rule.reading(true),
            None => crate::breaker::BreakerReading {
                breaker: KIND,
                enabled: false,
                ready: true,
                value: None,
                limit: None,
                details: BTreeMap::new(),
            },
        })
    }
}

impl Handler<ReadErrors> for ErrorRateBreaker {
    type Result = MessageResult<ReadErrors>;

    fn handle(&mut self, _: ReadErrors, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.recent.iter().cloned().collect(), self.totals.clone()))
    }
}

#[cfg(feature = "fault-injection")]
impl Handler<super::messages::InjectPanic> for ErrorRateBreaker {
    type Result = ();

    fn handle(&mut self, _: super::messages::InjectPanic, ctx: &mut Context<Self>) {
        let health = self.health.clone();
        guard(
            self,
            ctx,
            "error_rate_breaker",
            |_| health.set_ready(KIND, false),
            |_| panic!("injected fault"),
        );
    }
}
