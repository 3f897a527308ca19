//! The order gate and the snapshot path, against baselines in the same run: `check_order`
//! decides in the caller's thread, so its floor is an uncontended mutex lock plus an atomic
//! increment; `trading_allowed` reads atomics, so its floor is one atomic load.

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock};
use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn engine(settings: StrategySettings, clock: Arc<TestClock>) -> rustybt::engine::Engine {
    EngineBuilder::new(settings)
        .clock(clock)
        .temporary_checkpoint()
        .start()
        .unwrap()
}

fn bench_settings() -> StrategySettings {
    let mut s = StrategySettings::moderate("bench");
    s.tick_interval = None;
    s.breakers.stale_feed = None;
    // The window never fills at one order per simulated 10 ms... the clock does not move in
    // the loop, so give the window room for every iteration criterion makes.
    s.breakers.order_rate.as_mut().unwrap().max = 1_000_000;
    s.breakers.order_rate.as_mut().unwrap().window = Duration::seconds(1);
    s
}

fn gate(c: &mut Criterion) {
    let rt = runtime();
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let eng = engine(bench_settings(), clock.clone());
    rt.block_on(eng.submit_snapshot(PortfolioSnapshot::valued(
        clock.now(),
        Decimal::from(100_000),
    )))
    .unwrap();
    let order = OrderRequest::market("o", "SPY", Side::Buy, Decimal::ONE);

    let mut g = c.benchmark_group("order_gate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_order_in_caller_thread", |b| {
        b.iter(|| {
            // Move the clock so the order-rate window slides (and stays bounded).
            clock.advance(Duration::microseconds(10));
            black_box(eng.check_order(order.clone()).unwrap())
        })
    });
    let lock = std::sync::Mutex::new(0u64);
    let counter = std::sync::atomic::AtomicU64::new(0);
    g.bench_function("baseline_uncontended_mutex_plus_atomic", |b| {
        b.iter(|| {
            let mut g = lock.lock().unwrap();
            *g = black_box(*g + 1);
            counter.fetch_add(1, Ordering::AcqRel)
        })
    });
    g.bench_function("trading_allowed_fast_path", |b| {
        b.iter(|| black_box(eng.trading_allowed()))
    });
    let atomic = AtomicU8::new(0);
    g.bench_function("baseline_atomic_load", |b| {
        b.iter(|| black_box(atomic.load(Ordering::Acquire)))
    });
    g.finish();
}

fn snapshots(c: &mut Criterion) {
    let rt = runtime();
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let eng = engine(bench_settings(), clock.clone());
    let mut g = c.benchmark_group("ledger_feed");
    const BATCH: u64 = 10_000;
    g.throughput(Throughput::Elements(BATCH));
    let mut i = 0i64;
    let mut next = |clock: &TestClock| {
        i += 1;
        clock.advance(Duration::milliseconds(1));
        PortfolioSnapshot::valued(clock.now(), Decimal::new(10_000_000 + (i % 1000), 2))
    };
    g.bench_function("push_snapshot_one_by_one_then_settle", |b| {
        b.to_async(&rt).iter(|| {
            for _ in 0..BATCH {
                eng.push_snapshots(vec![next(&clock)]);
            }
            let e = &eng;
            async move { e.settle().await.unwrap() }
        })
    });
    g.bench_function("push_snapshots_batches_of_1000_then_settle", |b| {
        b.to_async(&rt).iter(|| {
            for _ in 0..BATCH / 1000 {
                eng.push_snapshots((0..1000).map(|_| next(&clock)).collect());
            }
            let e = &eng;
            async move { e.settle().await.unwrap() }
        })
    });
    g.bench_function("submit_snapshot_awaited_each", |b| {
        b.to_async(&rt).iter(|| {
            let batch: Vec<_> = (0..BATCH).map(|_| next(&clock)).collect();
            let e = &eng;
            async move {
                for s in batch {
                    e.submit_snapshot(s).await.unwrap();
                }
            }
        })
    });
    g.finish();

    // Trip latency: from the breaching snapshot to the gate refusing, excluding the flush
    // (the gate is told before the checkpoint is written).
    let mut g = c.benchmark_group("trip_latency");
    g.bench_function("breach_then_refused_order", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let clock = clock.clone();
            async move {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    let mut s = bench_settings();
                    s.breakers.daily_loss = None;
                    let eng = engine(s, clock.clone());
                    clock.advance(Duration::milliseconds(1));
                    eng.submit_snapshot(PortfolioSnapshot::valued(
                        clock.now(),
                        Decimal::from(100_000),
                    ))
                    .await
                    .unwrap();
                    clock.advance(Duration::milliseconds(1));
                    let breach = PortfolioSnapshot::valued(clock.now(), Decimal::from(80_000));
                    let start = std::time::Instant::now();
                    eng.submit_snapshot(breach).await.unwrap();
                    let d = eng
                        .check_order(OrderRequest::market("x", "SPY", Side::Buy, Decimal::ONE))
                        .unwrap();
                    total += start.elapsed();
                    assert!(!d.is_accepted());
                    eng.shutdown().await.unwrap();
                }
                total
            }
        })
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = gate, snapshots }
criterion_main!(benches);
