//! The simulated market behind `rustybt live run` with no configuration: a random-walk
//! portfolio and a strategy that misbehaves now and then, so a newcomer watches the breakers
//! work. Every five minutes: a runaway burst of orders (order rate, clears by itself), a broker
//! outage (error rate, needs an operator's reset), and a slide of 12% (drawdown and daily loss;
//! the market recovers afterwards, so a reset then holds). The simulated broker fills every
//! accepted order at once at its limit price, so the position and cash move with the orders.

use chrono::Utc;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use rustybt_actors::domain::{
    ErrorKind, ErrorReport, Fill, OrderRequest, PortfolioSnapshot, Position, Side,
};
use rustybt_actors::engine::EngineHandle;
use std::time::Duration;

const TICK: Duration = Duration::from_millis(250);
/// Ticks in one five-minute cycle.
const CYCLE: u64 = 1200;
/// The instrument the demo trades.
const ASSET: &str = "DEMO";
/// The position the strategy leans back towards, and how far it lets it wander first: the
/// position moves, but the portfolio stays the size the breakers' demo moves are tuned for.
const TARGET_SHARES: i64 = 200;
const WANDER: i64 = 10;

/// The simulated market, strategy and broker, one tick at a time.
pub struct Demo {
    rng: rand::rngs::StdRng,
    price: Decimal,
    shares: Decimal,
    cash: Decimal,
    peak_price: Decimal,
    slide_left: u32,
    recover: bool,
    order_seq: u64,
    tick: u64,
}

impl Demo {
    /// A demo whose market and order sides are drawn from `rng`.
    pub fn new(rng: rand::rngs::StdRng) -> Self {
        let price = Decimal::new(50_000, 2);
        Self {
            rng,
            price,
            shares: Decimal::from(TARGET_SHARES),
            cash: Decimal::ZERO,
            peak_price: price,
            slide_left: 0,
            recover: false,
            order_seq: 0,
            tick: 0,
        }
    }

    /// The shares held now (after the fills of every tick so far).
    pub fn shares(&self) -> Decimal {
        self.shares
    }

    /// The cash held now: negative while the demo has bought on margin.
    pub fn cash(&self) -> Decimal {
        self.cash
    }

    /// One tick: the market moves, a snapshot of the holdings goes out, the strategy sends its
    /// orders and the accepted ones are filled, and the broker misbehaves when it is time.
    pub async fn tick(&mut self, engine: &EngineHandle) {
        self.tick += 1;
        let phase = self.tick % CYCLE;
        self.move_market(phase);

        let snapshot = PortfolioSnapshot {
            timestamp: Utc::now(),
            portfolio_value: self.shares * self.price + self.cash,
            cash: Some(self.cash),
            positions: Some(vec![Position {
                asset: ASSET.into(),
                quantity: self.shares,
                market_price: self.price,
            }]),
        };
        if let Err(e) = engine.submit_snapshot(snapshot).await {
            tracing::warn!(error = %e, "demo snapshot refused");
        }

        // The strategy: an order a second, a runaway burst at 60 s into the cycle.
        let orders = if (240..280).contains(&phase) {
            4
        } else {
            u64::from(self.tick.is_multiple_of(4))
        };
        for _ in 0..orders {
            self.trade(engine);
        }
        // A fat finger at 30 s into the cycle: ten times the size, which the pre-trade check
        // of the demo's configuration denies before it could leave.
        if phase == 120 {
            self.order_seq += 1;
            let mut fat = OrderRequest::market(
                format!("demo-{}-extra-zero", self.order_seq),
                ASSET,
                Side::Buy,
                Decimal::from(10),
            );
            fat.limit_price = Some(self.price);
            let _ = engine.check_order(fat);
        }

        // The broker: an outage of twelve errors at 150 s into the cycle.
        if (600..612).contains(&phase) {
            let kind = if phase.is_multiple_of(2) {
                ErrorKind::BrokerError
            } else {
                ErrorKind::OrderRejected
            };
            let _ = engine
                .report_error(ErrorReport {
                    kind,
                    message: format!("simulated broker outage ({kind})"),
                    order_id: None,
                    timestamp: Some(Utc::now()),
                })
                .await;
        }
    }

    fn move_market(&mut self, phase: u64) {
        if phase == 960 {
            self.slide_left = 40; // 10 s of falling
        }
        if self.slide_left > 0 {
            self.slide_left -= 1;
            self.price -= self.price * Decimal::new(32, 4); // -0.32% a tick: about -12% in 10 s
            if self.slide_left == 0 {
                self.recover = true;
            }
        } else if self.recover {
            self.price += self.price * Decimal::new(15, 4);
            if self.price >= self.peak_price {
                self.price = self.peak_price;
                self.recover = false;
            }
        } else {
            let bp: i64 = self.rng.gen_range(-8..=9);
            self.price += self.price * Decimal::new(bp, 4);
        }
        self.price = self.price.round_dp(2);
        if self.price > self.peak_price {
            self.peak_price = self.price;
        }
    }

    /// One order of one share; filled at its limit when the gate accepts it.
    fn trade(&mut self, engine: &EngineHandle) {
        self.order_seq += 1;
        let buy = if self.shares > Decimal::from(TARGET_SHARES + WANDER) {
            false
        } else if self.shares < Decimal::from(TARGET_SHARES - WANDER) {
            true
        } else {
            self.rng.gen_bool(0.5)
        };
        let side = if buy { Side::Buy } else { Side::Sell };
        let order_id = format!("demo-{}", self.order_seq);
        let mut order = OrderRequest::market(order_id.clone(), ASSET, side, Decimal::ONE);
        order.limit_price = Some(self.price);
        match engine.check_order(order) {
            Ok(d) if d.is_accepted() => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "demo order refused as input");
                return;
            }
        }
        let fill = Fill {
            order_id,
            asset: ASSET.into(),
            side,
            quantity: Decimal::ONE,
            price: self.price,
            timestamp: Utc::now(),
        };
        if let Err(e) = engine.report_fill(fill) {
            tracing::warn!(error = %e, "demo fill refused");
            return;
        }
        // The next snapshot carries the new holdings.
        match side {
            Side::Buy => {
                self.shares += Decimal::ONE;
                self.cash -= self.price;
            }
            Side::Sell => {
                self.shares -= Decimal::ONE;
                self.cash += self.price;
            }
        }
    }
}

/// Runs until the task is dropped.
pub async fn run(engine: EngineHandle) {
    let mut demo = Demo::new(rand::rngs::StdRng::from_entropy());
    let mut interval = tokio::time::interval(TICK);
    loop {
        interval.tick().await;
        demo.tick(&engine).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use rustybt_actors::builder::EngineBuilder;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn test_demo_when_orders_are_accepted_then_fills_move_the_position_in_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Config::embedded_default().strategies.remove(0);
        let engines = EngineBuilder::new(settings)
            .data_dir(dir.path())
            .start_all()
            .unwrap();
        let engine = engines.get("demo").unwrap().clone();
        let mut demo = Demo::new(rand::rngs::StdRng::seed_from_u64(7));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..80 {
            let held = demo.shares();
            let cash = demo.cash();
            demo.tick(&engine).await;
            let s = engine.status().await.unwrap();
            // The snapshot of this tick carries the fills of every earlier tick.
            assert_eq!(s.portfolio.positions.len(), 1);
            assert_eq!(s.portfolio.positions[0].asset, "DEMO");
            assert_eq!(s.portfolio.positions[0].quantity, held);
            assert_eq!(s.portfolio.cash, Some(cash));
            seen.insert(held);
        }
        let s = engine.status().await.unwrap();
        assert_eq!(s.orders_accepted, 20, "an order a second, all accepted");
        assert_eq!(s.recent_fills.len(), 20, "every accepted order filled");
        assert!(s.recent_fills.iter().all(|f| f.asset == "DEMO"));
        assert!(seen.len() > 1, "the position moved: {seen:?}");
    }
}
