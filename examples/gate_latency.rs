//! Order-gate latency percentiles, each beside a baseline measured in the same run:
//! the gate through the actor with the engine on its own thread (as `EngineBuilder::start`
//! gives) against a bare cross-thread request/reply, and with the engine on the caller's own
//! actix System against a same-thread oneshot round trip.
//!
//! Run: `cargo run --release --example gate_latency -- 200000`

use chrono::Duration;
use rust_decimal::Decimal;
use rustybt::engine::EngineBuilder;
use rustybt::{Clock, OrderRequest, PortfolioSnapshot, Side, StrategySettings, TestClock};
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

fn settings() -> StrategySettings {
    let mut s = StrategySettings::moderate("latency");
    s.daily_loss = None; // the trip-latency rounds fall 20% again and again
    s.tick_interval = None;
    s.stale_feed = None;
    s.order_rate.as_mut().expect("on").max_orders = 1_000_000;
    s
}

fn report(name: &str, mut ns: Vec<u64>) -> (u64, u64) {
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    println!(
        "{name:<48} p50 {:>7.2} µs  p99 {:>7.2} µs  p99.9 {:>7.2} µs  max {:>8.2} µs",
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

    // 1. Engine on its own thread; the host on a current-thread tokio runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse()?);
    let engine = EngineBuilder::new(settings())
        .clock(clock.clone())
        .temporary_checkpoint()
        .start()?;
    let (own_thread, baseline_cross) = rt.block_on(async {
        engine
            .submit_snapshot(PortfolioSnapshot::valued(
                clock.now(),
                Decimal::from(100_000),
            ))
            .await?;
        let mut gate = Vec::with_capacity(n);
        for _ in 0..n {
            clock.advance(Duration::microseconds(10));
            let t = Instant::now();
            let d = engine.check_order(order.clone())?;
            gate.push(t.elapsed().as_nanos() as u64);
            assert!(d.is_accepted());
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<bool>>();
        let server = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async move {
                    while let Some(reply) = rx.recv().await {
                        let _ = reply.send(true);
                    }
                })
        });
        let mut base = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let (rtx, rrx) = oneshot::channel();
            tx.send(rtx).unwrap();
            rrx.await.unwrap();
            base.push(t.elapsed().as_nanos() as u64);
        }
        drop(tx);
        server.join().unwrap();
        anyhow::Ok((gate, base))
    })?;
    rt.block_on(engine.shutdown())?;

    // 2. Engine on the caller's own actix System.
    let sys = actix_rt::System::new();
    let (same_thread, baseline_same) = sys.block_on(async {
        let clock = TestClock::new("2026-03-09T14:00:00Z".parse()?);
        let engines = EngineBuilder::new(settings())
            .clock(clock.clone())
            .temporary_checkpoint()
            .start_all_in_current_system()?;
        let engine = engines.get("latency").expect("started").clone();
        engine
            .submit_snapshot(PortfolioSnapshot::valued(
                clock.now(),
                Decimal::from(100_000),
            ))
            .await?;
        let mut gate = Vec::with_capacity(n);
        for _ in 0..n {
            clock.advance(Duration::microseconds(10));
            let t = Instant::now();
            let d = engine.check_order(order.clone())?;
            gate.push(t.elapsed().as_nanos() as u64);
            assert!(d.is_accepted());
        }
        // Trip latency: from the breaching snapshot to the gate refusing the next order. The
        // checkpoint flush happens after the gate is closed and is not in the figure; the reset
        // between rounds (which waits for its flush) is outside the timing.
        let mut trips = Vec::with_capacity(2000);
        let mut snapshot_part = Vec::with_capacity(2000);
        let mut value = Decimal::from(100_000);
        for _ in 0..2000 {
            value += Decimal::from(1000);
            clock.advance(Duration::milliseconds(1));
            engine
                .submit_snapshot(PortfolioSnapshot::valued(clock.now(), value))
                .await?;
            clock.advance(Duration::milliseconds(1));
            let breach = PortfolioSnapshot::valued(clock.now(), value * Decimal::new(8, 1));
            let t = Instant::now();
            engine.submit_snapshot(breach).await?;
            snapshot_part.push(t.elapsed().as_nanos() as u64);
            let d = engine.check_order(order.clone())?;
            trips.push(t.elapsed().as_nanos() as u64);
            assert!(!d.is_accepted());
            let ticket = engine.operator().request_reset("bench", None).await?;
            engine
                .operator()
                .confirm_reset("bench", &ticket.confirmation_token, true)
                .await?;
        }
        report("trip latency, engine on the caller's actix System", trips);
        report(
            "  of which the breaching snapshot's round trip",
            snapshot_part,
        );
        let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<bool>>();
        let server = actix_rt::spawn(async move {
            while let Some(reply) = rx.recv().await {
                let _ = reply.send(true);
            }
        });
        let mut base = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let (rtx, rrx) = oneshot::channel();
            tx.send(rtx).unwrap();
            rrx.await.unwrap();
            base.push(t.elapsed().as_nanos() as u64);
        }
        drop(tx);
        let _ = server.await;
        engines.shutdown().await?;
        anyhow::Ok((gate, base))
    })?;

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

    println!("{n} orders per line");
    let (_, a99) = report("gate, engine on its own thread", own_thread);
    let (_, b99) = report(
        "baseline: cross-thread mpsc+oneshot round trip",
        baseline_cross,
    );
    let (_, c99) = report("gate, engine on the caller's actix System", same_thread);
    let (_, d99) = report(
        "baseline: same-thread mpsc+oneshot round trip",
        baseline_same,
    );
    println!(
        "p99 ratio gate/baseline: own thread {:.2}, same thread {:.2}",
        a99 as f64 / b99 as f64,
        c99 as f64 / d99 as f64
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
