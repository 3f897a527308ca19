//! Crash soak: `rustybt live run` is killed with SIGKILL at random moments while trips, halts
//! and resets go through its API; after each restart, nothing acknowledged is lost and the
//! audit trail is intact and ordered; and open orders come back open after a SIGKILL.
//!
//! 50 cycles by default (CI); `RUSTYBT_SOAK_CYCLES=1000 cargo test --release --test crash_soak
//! -- --nocapture` for the long run.

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::support::service::{free_port, spawn_live_run, wait_healthy};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const TOKEN: &str = "soak-token-not-a-secret";
const STRATEGY: &str = "soak";

struct Service {
    child: Child,
}

impl Drop for Service {
    // A failed assertion must not leave the process running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &std::path::Path, base: &str) -> Service {
    let child = spawn_live_run(
        config,
        &[("RUSTYBT_API_TOKEN", TOKEN), ("RUSTYBT_LOG", "warn")],
        false,
    );
    wait_healthy(base);
    Service { child }
}

fn kill(svc: &mut Service) {
    let _ = svc.child.kill(); // SIGKILL on Unix
    let _ = svc.child.wait();
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn post(base: &str, path: &str, body: Value) -> Option<(u16, Value)> {
    let r = client()
        .post(format!("{base}/api/v1/strategies/{STRATEGY}/{path}"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .ok()?;
    let code = r.status().as_u16();
    let v = r.json().unwrap_or(Value::Null);
    Some((code, v))
}

fn get(base: &str, path: &str) -> Option<Value> {
    client()
        .get(format!("{base}/api/v1/strategies/{STRATEGY}{path}"))
        .send()
        .ok()?
        .json()
        .ok()
}

fn snapshot(base: &str, value: u64) -> bool {
    let body =
        json!({"timestamp": chrono::Utc::now().to_rfc3339(), "portfolio_value": value.to_string()});
    matches!(post(base, "portfolio", body), Some((202, _)))
}

/// Checks the restarted service against what was acknowledged before the kill.
fn check_after_restart(
    base: &str,
    known_audit: &[Value],
    acked_min_len: usize,
    cycle: usize,
) -> Vec<Value> {
    let audit = get(base, "/audit").expect("audit after restart");
    let audit = audit.as_array().expect("audit is an array").clone();
    assert!(
        audit.len() >= acked_min_len,
        "cycle {cycle}: {} audit entries after restart, but {acked_min_len} transitions were acknowledged",
        audit.len()
    );
    assert_eq!(
        &audit[..known_audit.len()],
        known_audit,
        "cycle {cycle}: the audit trail changed"
    );
    for pair in audit.windows(2) {
        assert_eq!(
            pair[0]["to"], pair[1]["from"],
            "cycle {cycle}: the audit trail is not continuous"
        );
        assert!(
            pair[0]["at"].as_str() <= pair[1]["at"].as_str(),
            "cycle {cycle}: the audit trail is out of order"
        );
    }
    let status = get(base, "").expect("status after restart");
    let expected = audit
        .last()
        .map(|e| e["to"].clone())
        .unwrap_or(json!("NORMAL"));
    assert_eq!(
        status["state"], expected,
        "cycle {cycle}: the state is not the last audited one"
    );
    audit
}

#[test]
fn test_crash_soak_when_killed_at_random_moments_then_nothing_acknowledged_is_lost() {
    let cycles: usize = std::env::var("RUSTYBT_SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("soak.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[engine]
data_dir = "data"
[server]
bind = "127.0.0.1:{port}"
[[strategy]]
name = "{STRATEGY}"
[strategy.circuit_breakers]
daily_loss = {{ enabled = false }}
stale_feed = {{ enabled = false }}
"#
        ),
    )
    .unwrap();

    let mut rng = rand::rngs::StdRng::seed_from_u64(0x50AC);
    let mut known_audit: Vec<Value> = Vec::new();
    let mut acked_min_len = 0usize;
    let mut value: u64 = 1_000_000;
    let mut kills_mid_action = 0;
    let mut restart_ms: Vec<u128> = Vec::new();
    for cycle in 0..cycles {
        let began = Instant::now();
        let mut svc = start(&config, &base);
        known_audit = check_after_restart(&base, &known_audit, acked_min_len, cycle);
        // From process start to the checkpointed state served.
        restart_ms.push(began.elapsed().as_millis());
        acked_min_len = known_audit.len();

        // Kill at a random moment while actions are in flight.
        let pid = svc.child.id();
        let delay = Duration::from_millis(rng.gen_range(0..80));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        });
        for _ in 0..rng.gen_range(1..6) {
            let state = get(&base, "").map(|s| s["state"].as_str().unwrap_or("").to_string());
            let Some(state) = state else { break };
            let acted = match (state.as_str(), rng.gen_range(0..3)) {
                ("NORMAL", 0) => post(
                    &base,
                    "halt",
                    json!({"operator": "soak", "reason": format!("cycle {cycle}")}),
                )
                .is_some_and(|(code, _)| code == 200),
                ("NORMAL", _) => {
                    value += 10_000;
                    // A new high, then a 20% fall: the drawdown breaker trips.
                    snapshot(&base, value) && snapshot(&base, value * 8 / 10) && {
                        matches!(get(&base, "").map(|s| s["state"] == "TRIPPED"), Some(true))
                    }
                }
                ("TRIPPED" | "MANUALLY_HALTED", _) => {
                    value += 10_000;
                    // Recover to a new high first so the reset does not trip again at once.
                    snapshot(&base, value)
                        && match post(&base, "reset", json!({"operator": "soak"})) {
                            Some((202, t)) => matches!(
                                post(
                                    &base,
                                    "reset/confirm",
                                    json!({"operator": "soak", "confirmation_token": t["confirmation_token"]})
                                ),
                                Some((200, _))
                            ),
                            _ => false,
                        }
                }
                // A reset requested before a kill is still pending (durable): halting from
                // RESETTING is always allowed and moves on.
                ("RESETTING", _) => post(
                    &base,
                    "halt",
                    json!({"operator": "soak", "reason": "pending reset"}),
                )
                .is_some_and(|(code, _)| code == 200),
                _ => false,
            };
            if !acted {
                break;
            }
            // Acknowledged: the transition is durable from now on.
            acked_min_len += 1;
            if let Some(a) = get(&base, "/audit") {
                let a = a.as_array().cloned().unwrap_or_default();
                if a.len() >= acked_min_len {
                    acked_min_len = a.len();
                    known_audit = a;
                }
            }
        }
        // The killer fired before the actions ran out: it struck mid-action.
        let struck_mid_action = killer.is_finished();
        killer.join().unwrap();
        if struck_mid_action {
            kills_mid_action += 1;
        }
        kill(&mut svc);
    }
    // Final restart: everything still there.
    let mut svc = start(&config, &base);
    let audit = check_after_restart(&base, &known_audit, acked_min_len, cycles);
    kill(&mut svc);
    restart_ms.sort_unstable();
    println!(
        "crash soak: {cycles} cycles, {kills_mid_action} kills during actions, {} audited transitions, none lost; \
         restart to state served: min {} ms, median {} ms, max {} ms",
        audit.len(),
        restart_ms[0],
        restart_ms[restart_ms.len() / 2],
        restart_ms[restart_ms.len() - 1]
    );
    assert!(
        audit.len() >= cycles / 5,
        "the soak exercised too few transitions: {}",
        audit.len()
    );
}

#[test]
fn test_kill_when_orders_open_then_restart_has_them_open() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("orders.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"data\"\n[server]\nbind = \"127.0.0.1:{port}\"\n\
             [[strategy]]\nname = \"{STRATEGY}\"\n[strategy.circuit_breakers]\n\
             daily_loss = {{ enabled = false }}\nstale_feed = {{ enabled = false }}\n"
        ),
    )
    .unwrap();
    let mut svc = start(&config, &base);
    assert!(snapshot(&base, 100_000));
    for id in ["k1", "k2"] {
        let order = json!({"order_id": id, "asset": "AAPL", "side": "buy", "quantity": "10", "limit_price": "170"});
        let (code, v) = post(&base, "orders", order).expect("order answered");
        assert_eq!((code, &v["decision"]), (200, &json!("accepted")), "{v}");
    }
    let (code, _) = post(&base, "orders/k2/done", json!({"status": "cancelled"})).unwrap();
    assert_eq!(code, 202);
    // The gate saves changed open orders every 50 ms; give it forty times that, then SIGKILL.
    std::thread::sleep(Duration::from_secs(2));
    kill(&mut svc);
    let mut svc = start(&config, &base);
    let status = get(&base, "").expect("status after restart");
    let open: Vec<&str> = status["open_orders"]
        .as_array()
        .expect("open orders listed")
        .iter()
        .filter_map(|o| o["order_id"].as_str())
        .collect();
    assert_eq!(open, ["k1"], "{status}");
    let (code, v) = post(&base, "orders/k1/done", json!({"status": "cancelled"})).unwrap();
    assert_eq!(code, 202, "{v}");
    kill(&mut svc);
}

/// Stops `svc` the clean way (SIGTERM: `live run` flushes and records its stop).
fn terminate(svc: &mut Service) {
    let _ = Command::new("kill")
        .args(["-TERM", &svc.child.id().to_string()])
        .status();
    let _ = svc.child.wait();
}

#[test]
fn test_kill_when_after_crash_reconcile_then_unreconciled_until_the_first_venue_report() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("reconcile.toml");
    let write = |after_crash: &str| {
        std::fs::write(
            &config,
            format!(
                "[engine]\ndata_dir = \"data\"\n[server]\nbind = \"127.0.0.1:{port}\"\n\
                 [[strategy]]\nname = \"{STRATEGY}\"\n[strategy.circuit_breakers]\n\
                 daily_loss = {{ enabled = false }}\nstale_feed = {{ enabled = false }}\n\
                 [strategy.reconciliation]\nafter_crash = \"{after_crash}\"\n"
            ),
        )
        .unwrap();
    };
    write("reconcile");
    let order = |id: &str, side: &str| {
        let body = json!({"order_id": id, "asset": "AAPL", "side": side, "quantity": "10"});
        post(&base, "orders", body).expect("order answered").1
    };
    // Every start needs a first snapshot (the portfolio breakers fail closed until then).
    let snapshot = || {
        let positions = json!([{"asset": "AAPL", "quantity": "50", "market_price": "170"}]);
        let body = json!({"timestamp": chrono::Utc::now().to_rfc3339(), "portfolio_value": "100000", "positions": positions});
        assert_eq!(post(&base, "portfolio", body).unwrap().0, 202);
    };
    // A first start on an empty folder is clean: trading at once.
    let mut svc = start(&config, &base);
    snapshot();
    assert_eq!(order("a1", "buy")["decision"], "accepted");
    // A clean stop (SIGTERM) and a start: still trading at once.
    terminate(&mut svc);
    let mut svc = start(&config, &base);
    snapshot();
    let v = order("a2", "buy");
    assert_eq!(v["decision"], "accepted", "{v}");
    // SIGKILL: the book may miss what was accepted last.
    kill(&mut svc);
    let mut svc = start(&config, &base);
    snapshot();
    let v = order("b1", "buy");
    assert_eq!(v["decision"], "rejected", "{v}");
    assert_eq!(v["check"], "unreconciled", "{v}");
    assert_eq!(
        order("b2", "sell")["decision"],
        "accepted",
        "reducing the long passes"
    );
    // The venue's view re-bases the book: 40 held, one order working there.
    let report = json!({
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "positions": [{"asset": "AAPL", "quantity": "40"}],
        "open_orders": [{"order_id": "v1", "asset": "AAPL", "side": "buy", "quantity": "5", "filled": "0"}],
    });
    let (code, v) = post(&base, "venue", report.clone()).unwrap();
    assert_eq!(code, 202, "{v}");
    assert_eq!(order("b3", "buy")["decision"], "accepted");
    let status = get(&base, "").unwrap();
    let open: Vec<&str> = status["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["order_id"].as_str())
        .collect();
    assert_eq!(open, ["v1", "b3"], "{status}");
    let audit = get(&base, "/audit").unwrap();
    let reconciled = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["cause"] == "reconciled")
        .cloned()
        .expect("reconciled in the audit trail");
    assert_eq!(
        reconciled["details"]["open_orders_after"], 1,
        "{reconciled}"
    );
    // A bad report is refused naming the field, and changes nothing.
    let bad = json!({"timestamp": chrono::Utc::now().to_rfc3339(), "open_orders": [{"order_id": "x", "asset": "AAPL", "side": "buy", "quantity": "-5"}]});
    let (code, v) = post(&base, "venue", bad).unwrap();
    assert_eq!(code, 422, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or("")
            .contains("open_orders.quantity"),
        "{v}"
    );
    // trust_checkpoint: a crash is trusted.
    kill(&mut svc);
    write("trust_checkpoint");
    let mut svc = start(&config, &base);
    snapshot();
    assert_eq!(order("c1", "buy")["decision"], "accepted");
    kill(&mut svc);
}
