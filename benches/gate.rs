//! The order gate and the snapshot path through the actors, against baselines in the same run:
//! a bare cross-thread request/reply (tokio mpsc + oneshot to a thread running a current-thread
//! runtime, the same shape as a host calling the engine's thread) and a plain atomic load.

use chrono::Duration;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock};
use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

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
    s.stale_feed = None;
    // The window never fills at one order per simulated 10 ms... the clock does not move in
    // the loop, so give the window room for every iteration criterion makes.
    s.order_rate.as_mut().unwrap().max_orders = 1_000_000;
    s.order_rate.as_mut().unwrap().window = Duration::seconds(1);
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

    // Baseline: a request/reply to another thread with the same primitives actix uses.
    let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<bool>>();
    std::thread::spawn(move || {
        runtime().block_on(async move {
            while let Some(reply) = rx.recv().await {
                let _ = reply.send(true);
            }
        })
    });

    let mut g = c.benchmark_group("order_gate");
    g.throughput(Throughput::Elements(1));
    let mut n = 0u64;
    g.bench_function("check_order_through_actor", |b| {
        b.to_async(&rt).iter(|| {
            n += 1;
            // Move the clock so the order-rate window slides (and stays bounded).
            clock.advance(Duration::microseconds(10));
            let o = order.clone();
            let e = &eng;
            async move { black_box(e.check_order(o).unwrap()) }
        })
    });
    g.bench_function("baseline_cross_thread_round_trip", |b| {
        b.to_async(&rt).iter(|| {
            let tx = tx.clone();
            async move {
                let (rtx, rrx) = oneshot::channel();
                tx.send(rtx).unwrap();
                black_box(rrx.await.unwrap())
            }
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

/// The same gate with the engine on the caller's own actix System: no thread hop.
fn gate_same_thread(c: &mut Criterion) {
    let sys = actix_rt::System::new();
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let engines = sys.block_on(async {
        let engines = EngineBuilder::new(bench_settings())
            .clock(clock.clone())
            .temporary_checkpoint()
            .start_all_in_current_system()
            .unwrap();
        let e = engines.get("bench").unwrap().clone();
        e.submit_snapshot(PortfolioSnapshot::valued(
            clock.now(),
            Decimal::from(100_000),
        ))
        .await
        .unwrap();
        engines
    });
    let eng = engines.get("bench").unwrap().clone();
    let order = OrderRequest::market("o", "SPY", Side::Buy, Decimal::ONE);
    let mut g = c.benchmark_group("order_gate_same_thread");
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_order_through_actor", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    clock.advance(Duration::microseconds(10));
                    black_box(eng.check_order(order.clone()).unwrap());
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("baseline_oneshot_round_trip_same_thread", |b| {
        b.iter_custom(|iters| {
            sys.block_on(async {
                let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<bool>>();
                let server = actix_rt::spawn(async move {
                    while let Some(reply) = rx.recv().await {
                        let _ = reply.send(true);
                    }
                });
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    let (rtx, rrx) = oneshot::channel();
                    tx.send(rtx).unwrap();
                    black_box(rrx.await.unwrap());
                }
                let elapsed = start.elapsed();
                drop(tx);
                let _ = server.await;
                elapsed
            })
        })
    });
    g.finish();
    drop(engines);
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
                    s.daily_loss = None;
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

criterion_group! { name = benches; config = config(); targets = gate, gate_same_thread, snapshots }
criterion_main!(benches);
