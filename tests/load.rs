//! Load: many concurrent API clients send snapshots, orders and errors to `rustybt live run`
//! for a bounded time (loopback only). Every acknowledged event is counted by the engine
//! (nothing acknowledged is lost), resident memory stays bounded, and latency percentiles are
//! reported. 10 s with 16 clients by default; `RUSTYBT_LOAD_SECS=300 RUSTYBT_LOAD_CLIENTS=64`
//! for the long run.

use serde_json::{json, Value};

use crate::support::service::{free_port, spawn_live_run, wait_healthy};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TOKEN: &str = "load-token-not-a-secret";

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_load_when_many_clients_then_nothing_acknowledged_is_lost() {
    let secs: u64 = std::env::var("RUSTYBT_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let clients: usize = std::env::var("RUSTYBT_LOAD_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("load.toml");
    // Limits the load never reaches: every order takes the full path and is accepted.
    std::fs::write(
        &config,
        format!(
            r#"
[engine]
data_dir = "data"
[server]
bind = "127.0.0.1:{port}"
[[strategy]]
name = "load"
[strategy.circuit_breakers]
order_rate = {{ max_orders = 1000000, window = 1 }}
error_rate = {{ max_errors = 1000000, window = 1 }}
daily_loss = {{ enabled = false }}
stale_feed = {{ enabled = false }}
"#
        ),
    )
    .unwrap();
    let mut child = spawn_live_run(
        &config,
        &[("RUSTYBT_API_TOKEN", TOKEN), ("RUSTYBT_LOG", "warn")],
        false,
    );
    let base = format!("http://127.0.0.1:{port}/api/v1/strategies/load");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let root = format!("http://127.0.0.1:{port}");
    tokio::task::spawn_blocking(move || wait_healthy(&root))
        .await
        .unwrap();
    // The first snapshot readies the portfolio breakers.
    let r = http
        .post(format!("{base}/portfolio"))
        .bearer_auth(TOKEN)
        .json(&json!({"timestamp": chrono::Utc::now().to_rfc3339(), "portfolio_value": "1000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);

    let rss_start = rss_kib(child.id());
    let orders_acked = Arc::new(AtomicU64::new(0));
    let errors_acked = Arc::new(AtomicU64::new(0));
    let snapshots_acked = Arc::new(AtomicU64::new(1));
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base) = (http.clone(), base.clone());
        let (o, e, s) = (
            orders_acked.clone(),
            errors_acked.clone(),
            snapshots_acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0u64;
            while Instant::now() < stop_at {
                i += 1;
                let (path, body) = match i % 4 {
                    0 => ("portfolio", json!({"timestamp": chrono::Utc::now().to_rfc3339(), "portfolio_value": "1000000"})),
                    1 => ("errors", json!({"kind": "data_error", "message": "load"})),
                    _ => ("orders", json!({"order_id": format!("c{c}-{i}"), "asset": "SPY", "side": "buy", "quantity": "1"})),
                };
                let t = Instant::now();
                let r = http.post(format!("{base}/{path}")).bearer_auth(TOKEN).json(&body).send().await;
                let Ok(r) = r else { continue };
                let code = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                latencies.push(t.elapsed().as_micros() as u64);
                match (path, code) {
                    ("orders", 200) => {
                        assert_eq!(v["decision"], "accepted", "{v}");
                        o.fetch_add(1, Ordering::Relaxed);
                    }
                    ("errors", 202) => {
                        e.fetch_add(1, Ordering::Relaxed);
                    }
                    ("portfolio", 202) => {
                        s.fetch_add(1, Ordering::Relaxed);
                    }
                    // Snapshots sent by concurrent clients may arrive out of order: refused, not acknowledged.
                    ("portfolio", 400 | 422) => {}
                    other => panic!("unexpected answer {other:?}: {v}"),
                }
            }
            latencies
        }));
    }
    let mut latencies: Vec<u64> = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let rss_end = rss_kib(child.id());
    let status: Value = http.get(&base).send().await.unwrap().json().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();

    latencies.sort_unstable();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let (orders, errors, snapshots) = (
        orders_acked.load(Ordering::Relaxed),
        errors_acked.load(Ordering::Relaxed),
        snapshots_acked.load(Ordering::Relaxed),
    );
    println!(
        "load: {clients} clients for {secs} s: {} requests ({:.0}/s); p50 {} µs, p99 {} µs, p99.9 {} µs; \
         acknowledged {orders} orders, {errors} errors, {snapshots} snapshots; RSS {} → {} MiB",
        latencies.len(),
        latencies.len() as f64 / secs as f64,
        p(0.5),
        p(0.99),
        p(0.999),
        rss_start / 1024,
        rss_end / 1024
    );
    assert_eq!(status["state"], "NORMAL", "{status}");
    let counted_orders: u64 = status["orders_accepted"]
        .as_u64()
        .expect("orders_accepted in status");
    assert_eq!(
        counted_orders, orders,
        "every acknowledged order was counted by the gate"
    );
    let counted_errors: u64 = status["error_totals"]["data_error"].as_u64().unwrap_or(0);
    assert_eq!(
        counted_errors, errors,
        "every acknowledged error was counted"
    );
    let counted_snapshots = status["portfolio"]["snapshots_accepted"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(
        counted_snapshots, snapshots,
        "every acknowledged snapshot was counted"
    );
    assert!(
        rss_end < rss_start + 200 * 1024,
        "resident memory grew from {rss_start} KiB to {rss_end} KiB"
    );
}
