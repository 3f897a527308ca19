//! The pre-trade checks' cost for one order, with every check configured, 50 assets (a
//! quarter with their own limits) and 50 open orders, beside one `Decimal` comparison
//! measured in the same run. Target: at most 100 ns per order.
//!
//! Run: `cargo bench --bench pre_trade`

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use rustybt_actors::domain::{OrderRequest, Position, Side};
use rustybt_actors::pretrade::{checks, AssetLimits, OrderBook, PreTradeLimits};
use std::hint::black_box;

fn t0() -> DateTime<Utc> {
    "2026-03-09T14:00:00Z".parse().unwrap()
}

fn d(units: i64, scale: u32) -> Decimal {
    Decimal::new(units, scale)
}

fn asset(i: usize) -> String {
    format!("ASSET{i:02}")
}

/// Every check on, limits loose enough that the measured orders pass them all: the order
/// that pays for every check is the one that is accepted.
fn limits() -> PreTradeLimits {
    let mut l = PreTradeLimits {
        per_order: AssetLimits {
            max_order_quantity: Some(d(1000, 0)),
            max_order_notional: Some(d(1_000_000, 0)),
            max_position: Some(d(100_000, 0)),
            price_collar: Some(d(5, 2)),
        },
        max_gross_exposure: Some(d(1_000_000_000, 0)),
        max_reference_age: Some(Duration::seconds(60)),
        max_open_orders: Some(1000),
        duplicate_order_id: true,
        duplicate_window: None,
        assets: Default::default(),
    };
    for i in (0..50).step_by(4) {
        l = l.with_asset(
            asset(i),
            AssetLimits {
                max_order_quantity: Some(d(500, 0)),
                price_collar: Some(d(2, 2)),
                ..AssetLimits::default()
            },
        );
    }
    l
}

fn book() -> OrderBook {
    let mut b = OrderBook::new();
    let positions: Vec<Position> = (0..50)
        .map(|i| Position {
            asset: asset(i),
            quantity: d(100 * (i as i64 + 1), 0),
            market_price: d(10_000 + 137 * i as i64, 2),
        })
        .collect();
    b.on_snapshot(t0(), &positions);
    for i in 0..50 {
        let mut o = OrderRequest::market(format!("open-{i}"), asset(i), Side::Buy, d(10, 0));
        o.limit_price = Some(d(10_000 + 137 * i as i64, 2));
        b.accept(&o, t0());
    }
    b
}

fn pre_trade(c: &mut Criterion) {
    let l = limits();
    let b = book();
    // Orders across the assets, limit and market, buys and sells, made beforehand.
    let orders: Vec<OrderRequest> = (0..1024)
        .map(|i| {
            let side = if i % 3 == 0 { Side::Sell } else { Side::Buy };
            let mut o = OrderRequest::market(format!("new-{i}"), asset(i % 50), side, d(7, 0));
            if i % 2 == 0 {
                o.limit_price = Some(d(10_000 + 137 * (i % 50) as i64 + 10, 2));
            }
            o
        })
        .collect();
    let now = t0() + Duration::seconds(1);
    for o in &orders {
        assert!(checks::judge(&l, &b, o, now).is_ok(), "{o:?} passes");
    }
    let mut g = c.benchmark_group("pre_trade");
    g.throughput(Throughput::Elements(1));
    let mut k = 0usize;
    g.bench_function("all_checks_50_assets_50_open_orders", |bch| {
        bch.iter(|| {
            k = (k + 1) & 1023;
            black_box(checks::judge(&l, &b, black_box(&orders[k]), now).is_ok())
        })
    });
    let limit = d(1_000_000, 0);
    let values: Vec<Decimal> = (0..1024).map(|i| d(999_000 + i, 0)).collect();
    g.bench_function("baseline_one_decimal_compare", |bch| {
        bch.iter(|| {
            k = (k + 1) & 1023;
            black_box(black_box(values[k]) > limit)
        })
    });
    g.finish();
}

criterion_group!(benches, pre_trade);
criterion_main!(benches);
