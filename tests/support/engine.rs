//! Shared by the engine integration tests: an engine on a hand-moved clock and a real sled
//! folder, with time-driven checks run only when a test asks.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use rustybt::engine::{Engine, EngineBuilder};
use rustybt::{
    CancelAllOrders, Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock,
};
use std::path::Path;
use std::sync::Arc;

/// Monday 2026-03-09 10:00 New York (after the DST change): inside a session.
pub fn monday_morning() -> DateTime<Utc> {
    "2026-03-09T14:00:00Z".parse().unwrap()
}

pub struct Harness {
    pub engine: Engine,
    pub clock: Arc<TestClock>,
    pub cancels: tokio::sync::mpsc::UnboundedReceiver<CancelAllOrders>,
}

pub fn settings() -> StrategySettings {
    let mut s = StrategySettings::moderate("momentum");
    s.tick_interval = None;
    s
}

pub fn start(dir: &Path, settings: StrategySettings, at: DateTime<Utc>) -> Harness {
    let clock = TestClock::new(at);
    let mut builder = EngineBuilder::new(settings)
        .clock(clock.clone())
        .data_dir(dir);
    let cancels = builder.cancel_orders_channel();
    let engine = builder.start().expect("engine starts");
    Harness {
        engine,
        clock,
        cancels,
    }
}

impl Harness {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Moves the clock and submits a snapshot stamped with the new time.
    pub async fn value(&self, after: Duration, value: Decimal) {
        self.clock.advance(after);
        self.engine
            .submit_snapshot(PortfolioSnapshot::valued(self.now(), value))
            .await
            .expect("snapshot accepted");
    }

    /// The audit trail's causes, oldest first.
    pub async fn causes(&self) -> Vec<String> {
        let audit = self.engine.audit().await.expect("audit readable");
        audit.iter().map(|a| a.cause.to_string()).collect()
    }

    pub async fn order(&self, id: &str) -> rustybt::OrderDecision {
        self.engine
            .check_order(OrderRequest::market(id, "SPY", Side::Buy, Decimal::ONE))
            .expect("valid order")
    }
}
