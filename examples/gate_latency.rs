//! Order-gate latency percentiles, each beside a baseline measured in the same run:
//!
//! 1. `check_order` called from the host's own thread (the engine's actors on theirs), against
//!    an uncontended mutex lock plus an atomic increment: the decision is made in the caller's
//!    thread, so the mutex is the floor.
//! 2. Trip latency: a breaching snapshot pushed without waiting, then orders until one is
//!    refused, against a bare cross-thread request/reply (the wake-up the trip must cross); and
//!    the same with the snapshot awaited.
//! 3. The gate while alert channels hang, against no alert channel.
//!
//! Run: `cargo run --release --example gate_latency -- 200000`

use chrono::Duration;
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

fn settings() -> StrategySettings {
    let mut s = StrategySettings::moderate("latency");
    s.breakers.daily_loss = None; // the trip-latency rounds fall 20% again and again
    s.tick_interval = None;
    s.breakers.stale_feed = None;
    // Every check counts toward the order rate; the trip rounds spin on orders, a second of
    // simulated time apart.
    let rate = s.breakers.order_rate.as_mut().expect("on");
    rate.max = 1_000_000;
    rate.window = Duration::seconds(1);
    s
}

fn report(name: &str, mut ns: Vec<u64>) -> (u64, u64) {
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    println!(
        "{name:<56} p50 {:>7.3} µs  p99 {:>7.3} µs  p99.9 {:>7.3} µs  max {:>8.2} µs",
        p(0.5) as f64 / 1e3,
        p(0.99) as f64 / 1e3,
        p(0.999) as f64 / 1e3,
        ns[ns.len() - 1] as f64 / 1e3
    );
    (p(0.5), p(0.99))
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let order = OrderRequest::market("o", "SPY", Side::Buy, Decimal::ONE);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    // 1. The decision in the caller's thread, and its floor.
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse()?);
    let engine = EngineBuilder::new(settings())
        .clock(clock.clone())
        .temporary_checkpoint()
        .start()?;
    rt.block_on(engine.submit_snapshot(PortfolioSnapshot::valued(
        clock.now(),
        Decimal::from(100_000),
    )))?;
    let mut gate = Vec::with_capacity(n);
    for _ in 0..n {
        clock.advance(Duration::microseconds(10));
        let o = order.clone();
        let t = Instant::now();
        let d = engine.check_order(o)?;
        gate.push(t.elapsed().as_nanos() as u64);
        assert!(d.is_accepted());
    }
    let lock = Mutex::new(0u64);
    let counter = AtomicU64::new(0);
    let mut floor = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        {
            let mut g = lock.lock().expect("uncontended");
            *g = std::hint::black_box(*g + 1);
            counter.fetch_add(1, Ordering::AcqRel);
        }
        floor.push(t.elapsed().as_nanos() as u64);
    }

    // 2. Trip latency, pushed (the host does not wait) and awaited.
    let rounds = (n / 100).clamp(200, 5_000);
    let (pushed, awaited, normal) = rt.block_on(async {
        let mut pushed = Vec::with_capacity(rounds);
        let mut awaited = Vec::with_capacity(rounds);
        let mut normal = Vec::with_capacity(rounds * 2);
        for round in 0..rounds * 2 {
            clock.advance(Duration::seconds(1));
            let t = Instant::now();
            engine
                .submit_snapshot(PortfolioSnapshot::valued(
                    clock.now(),
                    Decimal::from(100_000),
                ))
                .await?;
            normal.push(t.elapsed().as_nanos() as u64);
            let open = engine.check_order(order.clone())?;
            assert!(open.is_accepted(), "round {round} starts open: {open:?}");
            clock.advance(Duration::milliseconds(1));
            let breach = PortfolioSnapshot::valued(clock.now(), Decimal::from(80_000));
            let t = Instant::now();
            if round % 2 == 0 {
                engine.push_snapshots(vec![breach]);
                while engine.check_order(order.clone())?.is_accepted() {}
                pushed.push(t.elapsed().as_nanos() as u64);
            } else {
                engine.submit_snapshot(breach).await?;
                assert!(!engine.check_order(order.clone())?.is_accepted());
                awaited.push(t.elapsed().as_nanos() as u64);
            }
            let op = engine.operator();
            let ticket = op.request_reset("bench", None).await?;
            op.confirm_reset("bench", &ticket.confirmation_token, true)
                .await?;
        }
        anyhow::Ok((pushed, awaited, normal))
    })?;
    let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<bool>>();
    let server = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async move {
                while let Some(reply) = rx.recv().await {
                    let _ = reply.send(true);
                }
            })
    });
    let cross = rt.block_on(async {
        let mut base = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let t = Instant::now();
            let (rtx, rrx) = oneshot::channel();
            tx.send(rtx).expect("server up");
            rrx.await.expect("reply");
            base.push(t.elapsed().as_nanos() as u64);
        }
        base
    });
    drop(tx);
    let _ = server.join();
    rt.block_on(engine.shutdown())?;

    // 3. The gate while alerts go to an SMTP server and a webhook that never answer, against
    // the same run with no alert channel. Every 500 orders a halt and a reset raise three
    // alerts (outside the timing); deliveries pile up on the dispatcher's own thread.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = hanging.local_addr()?.port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in hanging.incoming().flatten() {
            held.push(conn); // accept, never answer
        }
    });
    let channels = || -> Vec<std::sync::Arc<dyn rustybt_actors::alerts::AlertChannel>> {
        use rustybt_actors::alerts::{allowlist::Allowlist, email::*, webhook::*};
        vec![
            std::sync::Arc::new(
                EmailChannel::new(SmtpSettings {
                    host: "127.0.0.1".into(),
                    port,
                    security: SmtpSecurity::None,
                    credentials: None,
                    from: "rustybt@example.test".into(),
                    to: vec!["oncall@example.test".into()],
                    timeout: std::time::Duration::from_secs(30),
                    extra_root_pem: None,
                })
                .expect("email channel"),
            ),
            std::sync::Arc::new(
                WebhookChannel::new(
                    &format!("http://127.0.0.1:{port}/hook"),
                    WebhookBody::Json,
                    None,
                    None,
                    Allowlist {
                        hosts: vec![],
                        allow_loopback_http: true,
                    },
                )
                .expect("webhook channel"),
            ),
        ]
    };
    let with_alerts = |with: bool| -> anyhow::Result<Vec<u64>> {
        let order = order.clone();
        let channels = &channels;
        actix_rt::System::new().block_on(async move {
            let clock = TestClock::new("2026-03-09T14:00:00Z".parse()?);
            let mut b = EngineBuilder::new(settings())
                .clock(clock.clone())
                .temporary_checkpoint();
            if with {
                b = b.alert_channels(channels());
            }
            let engines = b.start_all_in_current_system()?;
            let engine = engines.get("latency").expect("started").clone();
            engine
                .submit_snapshot(PortfolioSnapshot::valued(
                    clock.now(),
                    Decimal::from(100_000),
                ))
                .await?;
            let mut lat = Vec::with_capacity(n);
            for i in 0..n {
                if i % 500 == 0 {
                    engine.operator().halt("bench", "alert load").await?;
                    let t = engine.operator().request_reset("bench", None).await?;
                    engine
                        .operator()
                        .confirm_reset("bench", &t.confirmation_token, false)
                        .await?;
                }
                clock.advance(Duration::microseconds(10));
                let t = Instant::now();
                let d = engine.check_order(order.clone())?;
                lat.push(t.elapsed().as_nanos() as u64);
                assert!(d.is_accepted());
            }
            if with {
                let s = engine.status().await?;
                println!(
                    "(alerts in flight at the end: {}, outcomes so far: {:?})",
                    s.alerts.in_flight, s.alerts.counts
                );
            }
            drop(engines);
            anyhow::Ok(lat)
        })
    };
    let quiet = with_alerts(false)?;
    let loaded = with_alerts(true)?;

    println!("{n} orders per line; {rounds} trip rounds each");
    let (a50, a99) = report("check_order in the host's thread", gate);
    let (b50, b99) = report("baseline: uncontended mutex + atomic increment", floor);
    println!(
        "check_order / baseline: p50 {:.2}, p99 {:.2}",
        a50 as f64 / b50 as f64,
        a99 as f64 / b99 as f64
    );
    let (_, p99) = report("trip: snapshot pushed → first refused order", pushed);
    let (_, w99) = report("trip: snapshot awaited → refused order", awaited);
    report("snapshot awaited, no breach (round start)", normal);
    let (_, x99) = report("baseline: cross-thread mpsc+oneshot round trip", cross);
    println!(
        "trip p99 / cross-thread round trip p99: pushed {:.2}, awaited {:.2}",
        p99 as f64 / x99 as f64,
        w99 as f64 / x99 as f64
    );
    let (q50, q99) = report("gate, same thread, no alert channel", quiet);
    let (l50, l99) = report("gate, same thread, SMTP + webhook never answering", loaded);
    println!(
        "hanging alert channels vs none: p50 ratio {:.2}, p99 ratio {:.2}",
        l50 as f64 / q50 as f64,
        l99 as f64 / q99 as f64
    );
    Ok(())
}
