//! AlertDispatcher: sends each alert through every channel at once, each attempt with a
//! timeout and bounded retries; holds back alerts over the per-breaker rate limit and counts
//! them; logs every outcome. It runs on its own arbiter thread so no channel, however slow,
//! shares a thread with the order gate.

use crate::alerts::rate_limit::RateDecision;
use crate::alerts::{
    Alert, AlertChannel, AlertRateLimiter, DeliveryError, DeliveryRecord, DeliveryStatus,
};
use crate::checkpoint::StrategyCheckpoint;
use crate::clock::SharedClock;
use crate::settings::AlertSettings;
use actix::prelude::*;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

const RECENT: usize = 200;

/// Sends an alert (subject to the rate limit).
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct Dispatch(pub Alert);

/// Sends an alert now through every channel, bypassing the rate limit, and answers with each
/// channel's outcome: `rustybt alerts test`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Vec<DeliveryRecord>")]
pub struct SendNow(pub Alert);

/// Resolves once no delivery is in flight.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct WaitIdle;

/// What the dispatcher has done.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DeliveryView {
    /// Recent outcomes, newest last.
    pub recent: Vec<DeliveryRecord>,
    /// Outcomes since start by `channel` then `status`.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Alerts dropped because the queue was full.
    pub dropped: u64,
    /// Deliveries in flight now.
    pub in_flight: usize,
    /// The channels configured.
    pub channels: Vec<String>,
}

/// Asks for the delivery view.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "DeliveryView")]
pub struct ReadDeliveries;

/// The alert dispatcher actor.
pub struct AlertDispatcher {
    channels: Vec<Arc<dyn AlertChannel>>,
    settings: AlertSettings,
    limiter: AlertRateLimiter,
    clock: SharedClock,
    checkpoint: StrategyCheckpoint,
    in_flight: usize,
    view: DeliveryView,
    recent: VecDeque<DeliveryRecord>,
    idle_waiters: Vec<tokio::sync::oneshot::Sender<()>>,
    links: super::Links,
}

impl AlertDispatcher {
    /// A dispatcher over `channels`.
    pub fn new(
        channels: Vec<Arc<dyn AlertChannel>>,
        settings: AlertSettings,
        clock: SharedClock,
        checkpoint: StrategyCheckpoint,
        links: super::Links,
    ) -> Self {
        let view = DeliveryView {
            channels: channels.iter().map(|c| c.name()).collect(),
            ..Default::default()
        };
        Self {
            channels,
            limiter: AlertRateLimiter::new(settings.max_per_breaker_per_hour),
            settings,
            clock,
            checkpoint,
            in_flight: 0,
            view,
            recent: VecDeque::with_capacity(RECENT),
            idle_waiters: Vec::new(),
            links,
        }
    }

    fn log(&mut self, record: DeliveryRecord) {
        match record.status {
            DeliveryStatus::Sent => {
                tracing::info!(alert = %record.alert_id, channel = %record.channel, attempts = record.attempts, latency_ms = record.latency_ms, "alert sent")
            }
            DeliveryStatus::Failed => {
                tracing::error!(alert = %record.alert_id, channel = %record.channel, attempts = record.attempts, error = ?record.error, "alert delivery failed")
            }
            _ => {
                tracing::warn!(alert = %record.alert_id, status = record.status.as_str(), breaker = %record.breaker, "alert not sent")
            }
        }
        *self
            .view
            .counts
            .entry(record.channel.clone())
            .or_default()
            .entry(record.status.as_str().to_string())
            .or_default() += 1;
        if let Err(e) = self.checkpoint.append_delivery(&record) {
            tracing::error!(error = %e, "delivery log write failed");
        }
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
    }

    fn skipped(&self, alert: &Alert, status: DeliveryStatus, why: &str) -> DeliveryRecord {
        DeliveryRecord {
            alert_id: alert.id.clone(),
            event_type: alert.event_type.as_str().into(),
            breaker: alert.circuit_breaker_type.to_string(),
            channel: "*".into(),
            status,
            attempts: 0,
            latency_ms: 0,
            error: Some(why.into()),
            at: self.clock.now(),
        }
    }

    fn launch(
        &mut self,
        alert: Alert,
        ctx: &mut Context<Self>,
    ) -> Vec<ResponseFuture<DeliveryRecord>> {
        self.channels
            .iter()
            .map(|ch| {
                let fut = deliver_with_retries(
                    ch.clone(),
                    alert.clone(),
                    self.settings.clone(),
                    self.clock.clone(),
                );
                let _ = ctx;
                Box::pin(fut) as ResponseFuture<DeliveryRecord>
            })
            .collect()
    }

    fn finished(&mut self, record: DeliveryRecord) {
        self.in_flight -= 1;
        self.log(record);
        if self.in_flight == 0 {
            for w in self.idle_waiters.drain(..) {
                let _ = w.send(());
            }
        }
    }
}

async fn deliver_with_retries(
    channel: Arc<dyn AlertChannel>,
    alert: Alert,
    settings: AlertSettings,
    clock: SharedClock,
) -> DeliveryRecord {
    let started = Instant::now();
    let mut attempts = 0;
    let mut last_error = None;
    let mut status = DeliveryStatus::Failed;
    while attempts < settings.max_attempts.max(1) {
        attempts += 1;
        let outcome =
            match tokio::time::timeout(settings.attempt_timeout, channel.deliver(&alert)).await {
                Ok(r) => r,
                Err(_) => Err(DeliveryError::TimedOut(settings.attempt_timeout)),
            };
        match outcome {
            Ok(()) => {
                status = DeliveryStatus::Sent;
                last_error = None;
                break;
            }
            Err(DeliveryError::Permanent(e)) => {
                last_error = Some(e);
                break;
            }
            Err(e) => {
                last_error = Some(e.to_string());
                if attempts < settings.max_attempts {
                    tokio::time::sleep(settings.retry_backoff * 2u32.saturating_pow(attempts - 1))
                        .await;
                }
            }
        }
    }
    DeliveryRecord {
        alert_id: alert.id.clone(),
        event_type: alert.event_type.as_str().into(),
        breaker: alert.circuit_breaker_type.to_string(),
        channel: channel.name(),
        status,
        attempts,
        latency_ms: started.elapsed().as_millis() as u64,
        error: last_error,
        at: clock.now(),
    }
}

super::plain_supervisee!(
    AlertDispatcher,
    crate::supervision::ActorName::AlertDispatcher
);

impl Handler<Dispatch> for AlertDispatcher {
    type Result = ();

    fn handle(&mut self, msg: Dispatch, ctx: &mut Context<Self>) {
        let mut alert = msg.0;
        match self
            .limiter
            .decide(alert.circuit_breaker_type, self.clock.now())
        {
            RateDecision::Suppress => {
                let record = self.skipped(
                    &alert,
                    DeliveryStatus::Suppressed,
                    "over the per-breaker hourly alert limit",
                );
                self.log(record);
                return;
            }
            RateDecision::Send {
                suppressed_since_last,
            } => alert.suppressed_since_last = suppressed_since_last,
        }
        if self.channels.is_empty() {
            return;
        }
        if self.in_flight + self.channels.len() > self.settings.queue_capacity {
            self.view.dropped += 1;
            let record = self.skipped(&alert, DeliveryStatus::Dropped, "alert queue full");
            self.log(record);
            return;
        }
        for fut in self.launch(alert, ctx) {
            self.in_flight += 1;
            ctx.spawn(
                fut.into_actor(self)
                    .map(|record, act, _| act.finished(record)),
            );
        }
    }
}

impl Handler<SendNow> for AlertDispatcher {
    type Result = ResponseActFuture<Self, Vec<DeliveryRecord>>;

    fn handle(&mut self, msg: SendNow, ctx: &mut Context<Self>) -> Self::Result {
        let futs = self.launch(msg.0, ctx);
        self.in_flight += futs.len();
        Box::pin(
            futures::future::join_all(futs)
                .into_actor(self)
                .map(|records, act, _| {
                    for r in &records {
                        act.finished(r.clone());
                    }
                    records
                }),
        )
    }
}

impl Handler<WaitIdle> for AlertDispatcher {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, _: WaitIdle, _: &mut Context<Self>) -> Self::Result {
        if self.in_flight == 0 {
            return Box::pin(async {});
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.idle_waiters.push(tx);
        Box::pin(async move {
            let _ = rx.await;
        })
    }
}

impl Handler<ReadDeliveries> for AlertDispatcher {
    type Result = MessageResult<ReadDeliveries>;

    fn handle(&mut self, _: ReadDeliveries, _: &mut Context<Self>) -> Self::Result {
        let mut v = self.view.clone();
        v.recent = self.recent.iter().cloned().collect();
        v.in_flight = self.in_flight;
        MessageResult(v)
    }
}
