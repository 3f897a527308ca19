//! The firm in one process, through HTTP on loopback: firm and desk halts, the firm reset and
//! its confirmation, the firm view, and a firm breaker over the sum of every strategy.

use chrono::Duration;
use reqwest::StatusCode;
use rust_decimal_macros::dec;
use rustybt::engine::{EngineBuilder, Engines};
use rustybt::server::RunningServer;
use rustybt::{Clock, StrategySettings, TestClock};
use rustybt_actors::firm::FirmBreakerSettings;
use rustybt_actors::firm::{FirmParts, SledControlStore};
use serde_json::{json, Value};
use std::sync::Arc;

const TOKEN: &str = "test-token";

struct Firm {
    base: String,
    http: reqwest::Client,
    clock: Arc<TestClock>,
    _engines: Engines,
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

fn strategy(name: &str, desk: &str) -> StrategySettings {
    let mut s = StrategySettings::moderate(name);
    s.tick_interval = None;
    s.breakers.drawdown = None;
    s.breakers.daily_loss = None;
    s.breakers.stale_feed = None;
    s.desk = Some(desk.into());
    s
}

/// alpha and beta on desk `equities`, gamma on desk `rates`.
async fn firm(breakers: FirmBreakerSettings) -> Firm {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let engines = EngineBuilder::strategies(vec![
        strategy("alpha", "equities"),
        strategy("beta", "equities"),
        strategy("gamma", "rates"),
    ])
    .clock(clock.clone())
    .data_dir(dir.path())
    .start_all()
    .unwrap();
    let store = SledControlStore::open(engines.store().clone()).unwrap();
    let mut parts = FirmParts::local(
        "acme",
        engines.all().values(),
        Arc::new(store),
        clock.clone(),
    );
    let evaluate =
        (breakers != FirmBreakerSettings::default()).then(|| std::time::Duration::from_millis(20));
    parts.breakers = breakers;
    let server = rustybt::server::start_with_firm(
        engines.all().clone(),
        parts.into(),
        evaluate,
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        false,
    )
    .unwrap();
    Firm {
        base: format!("http://{}", server.addr),
        http: reqwest::Client::new(),
        clock,
        _engines: engines,
        _server: server,
        _dir: dir,
    }
}

impl Firm {
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let code = r.status();
        (code, r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/api/v1{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn order(&self, strategy: &str, id: &str) -> Value {
        let (code, v) = self
            .post(
                &format!("/strategies/{strategy}/orders"),
                json!({"order_id": id, "asset": "SPY", "side": "buy", "quantity": "1"}),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{v}");
        v
    }

    async fn snapshot(&self, strategy: &str, value: &str) {
        let at = self.clock.now().to_rfc3339();
        let (code, v) = self
            .post(
                &format!("/strategies/{strategy}/portfolio"),
                json!({"timestamp": at, "portfolio_value": value}),
            )
            .await;
        assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    }

    async fn state(&self, strategy: &str) -> String {
        self.get(&format!("/strategies/{strategy}")).await["state"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn last_audit(&self, strategy: &str) -> Value {
        let audit = self.get(&format!("/strategies/{strategy}/audit")).await;
        audit.as_array().unwrap().last().cloned().unwrap()
    }
}

#[tokio::test]
async fn test_firm_halt_when_posted_then_every_strategy_refuses_and_audits_firm_halt() {
    let f = firm(FirmBreakerSettings::default()).await;
    assert_eq!(f.order("alpha", "o1").await["decision"], "accepted");
    let (code, v) = f
        .post(
            "/halt",
            json!({"operator": "alice", "reason": "market chaos"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "MANUALLY_HALTED");
    assert_eq!(v["pending_hosts"], json!([]));
    let mut halted: Vec<&str> = v["halted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    halted.sort();
    assert_eq!(halted, ["alpha", "beta", "gamma"]);
    for name in ["alpha", "beta", "gamma"] {
        let d = f.order(name, &format!("{name}-2")).await;
        assert_eq!(d["decision"], "rejected", "{name}: {d}");
        assert_eq!(d["state"], "MANUALLY_HALTED");
        let a = f.last_audit(name).await;
        assert_eq!(a["cause"], "firm_halt");
        assert_eq!(a["operator"], "alice");
        assert_eq!(a["to"], "MANUALLY_HALTED");
        assert_eq!(a["details"]["host_id"], "local");
    }
    let view = f.get("/firm").await;
    assert_eq!(view["firm"], "acme");
    assert_eq!(view["state"], "MANUALLY_HALTED");
    assert_eq!(view["strategies"].as_array().unwrap().len(), 3);
    assert_eq!(view["hosts"][0]["host_id"], "local");
}

#[tokio::test]
async fn test_desk_halt_when_posted_then_only_that_desk_halted_with_desk_in_details() {
    let f = firm(FirmBreakerSettings::default()).await;
    let (code, v) = f
        .post(
            "/halt",
            json!({"operator": "bob", "reason": "desk drill", "desk": "equities"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["halted"].as_array().unwrap().len(), 2);
    assert_eq!(v["state"], "NORMAL", "a desk halt leaves the firm NORMAL");
    assert_eq!(f.state("alpha").await, "MANUALLY_HALTED");
    assert_eq!(f.state("beta").await, "MANUALLY_HALTED");
    assert_eq!(f.state("gamma").await, "NORMAL");
    assert_eq!(f.order("gamma", "g1").await["decision"], "accepted");
    let a = f.last_audit("beta").await;
    assert_eq!(a["cause"], "firm_halt");
    assert_eq!(a["details"]["desk"], "equities");
    let view = f.get("/firm").await;
    assert_eq!(view["desk_halts"][0]["desk"], "equities");
}

#[tokio::test]
async fn test_halt_when_desk_unknown_or_body_bad_then_refused_and_nothing_changes() {
    let f = firm(FirmBreakerSettings::default()).await;
    let (code, v) = f
        .post(
            "/halt",
            json!({"operator": "bob", "reason": "x", "desk": "fx"}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["error"], "unknown_desk");
    assert!(v["message"].as_str().unwrap().contains("\"fx\""), "{v}");
    let (code, v) = f.post("/halt", json!({"operator": "bob"})).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (code, v) = f
        .post("/halt", json!({"operator": " ", "reason": "x"}))
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains("operator"), "{v}");
    let r = f
        .http
        .post(format!("{}/api/v1/halt", f.base))
        .json(&json!({"operator": "bob", "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for name in ["alpha", "beta", "gamma"] {
        assert_eq!(f.state(name).await, "NORMAL");
    }
    assert_eq!(f.get("/firm").await["generation"], 0);
}

#[tokio::test]
async fn test_firm_reset_when_confirmed_then_each_strategy_returns_to_its_own_state() {
    let f = firm(FirmBreakerSettings::default()).await;
    let (code, _) = f
        .post(
            "/strategies/gamma/halt",
            json!({"operator": "carol", "reason": "own halt"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    f.post("/halt", json!({"operator": "alice", "reason": "drill"}))
        .await;
    // A strategy's own reset cannot lift the firm's hold.
    let (code, v) = f
        .post("/strategies/alpha/reset", json!({"operator": "dave"}))
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "held_by_firm");
    let (code, ticket) = f.post("/reset", json!({"operator": "erin"})).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{ticket}");
    assert_eq!(f.get("/firm").await["state"], "RESETTING");
    let (code, v) = f
        .post(
            "/reset/confirm",
            json!({"operator": "frank", "confirmation_token": "wrong"}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "wrong_confirmation_token");
    assert_eq!(f.state("alpha").await, "MANUALLY_HALTED");
    let (code, v) = f
        .post(
            "/reset/confirm",
            json!({"operator": "frank", "confirmation_token": ticket["confirmation_token"]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "NORMAL");
    assert_eq!(f.state("alpha").await, "NORMAL");
    assert_eq!(f.state("beta").await, "NORMAL");
    assert_eq!(
        f.state("gamma").await,
        "MANUALLY_HALTED",
        "halted on its own"
    );
    let a = f.last_audit("alpha").await;
    assert_eq!(a["cause"], "firm_reset");
    assert_eq!(a["operator"], "frank");
    assert_eq!(f.order("alpha", "a9").await["decision"], "accepted");
    let (code, v) = f.post("/reset", json!({"operator": "erin"})).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "nothing_to_reset");
}

#[tokio::test]
async fn test_firm_drawdown_when_sum_of_strategies_falls_then_every_strategy_trips_once() {
    let f = firm(FirmBreakerSettings {
        drawdown: Some(dec!(-0.08)),
        ..Default::default()
    })
    .await;
    for name in ["alpha", "beta", "gamma"] {
        f.snapshot(name, "100000").await;
    }
    // The firm's high-water mark is the sum it has seen.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.get("/firm").await["portfolio"]["high_water_mark"] != "300000" {
        assert!(
            std::time::Instant::now() < deadline,
            "{}",
            f.get("/firm").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Alone, alpha's fall is 24%; the firm's is 8%: exactly the threshold.
    f.clock.advance(Duration::seconds(1));
    f.snapshot("alpha", "76000").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut states = Vec::new();
        for name in ["alpha", "beta", "gamma"] {
            states.push(f.state(name).await);
        }
        if states.iter().all(|s| s == "TRIPPED") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not tripped: {states:?} {}",
            f.get("/firm").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for name in ["alpha", "beta", "gamma"] {
        let audit = f.get(&format!("/strategies/{name}/audit")).await;
        let trips: Vec<&Value> = audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["cause"] == "firm:drawdown")
            .collect();
        assert_eq!(trips.len(), 1, "{name}: {audit}");
        let d = f.order(name, &format!("{name}-x")).await;
        assert_eq!(d["decision"], "rejected");
    }
    let view = f.get("/firm").await;
    assert_eq!(view["state"], "TRIPPED");
    assert_eq!(view["portfolio"]["value"], "276000");
    assert_eq!(view["portfolio"]["high_water_mark"], "300000");
    let dd = view["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "drawdown")
        .unwrap();
    assert_eq!(dd["status"], "tripped");
    let metrics = f
        .http
        .get(format!("{}/metrics", f.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("rustybt_firm_breaker_tripped{firm=\"acme\",breaker=\"drawdown\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("rustybt_firm_state{firm=\"acme\"} 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("rustybt_bus_connected"),
        "no bus without [cluster]"
    );
}

/// `rustybt ARGS --url URL` with the token, nothing else inherited.
fn cli_at(args: &[&str], url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rustybt"));
    cmd.args(args)
        .args(["--url", url, "--token-file", "/nonexistent/api-token"])
        .env_remove("RUSTYBT_URL")
        .env_remove("RUSTYBT_CONFIG")
        .env("RUSTYBT_API_TOKEN", TOKEN)
        .env("RUSTYBT_LOG", "error")
        .stdin(std::process::Stdio::null());
    cmd
}

fn output_of(mut cmd: std::process::Command) -> (Option<i32>, String) {
    let o = cmd.output().expect("run rustybt");
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn test_stop_all_and_desk_when_process_killed_and_restarted_then_firm_halt_still_in_force() {
    use crate::support::service::{free_port, live_run_command, LiveRun};
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("firm.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\ndata_dir = \"data\"\n[server]\nbind = \"127.0.0.1:{port}\"\n\
             [firm]\nname = \"acme\"\n\
             [[strategy]]\nname = \"alpha\"\ndesk = \"equities\"\n\
             [[strategy]]\nname = \"gamma\"\ndesk = \"rates\"\n"
        ),
    )
    .unwrap();
    let start = || {
        let mut cmd = live_run_command(&config);
        cmd.env("RUSTYBT_API_TOKEN", TOKEN);
        LiveRun::start(cmd, port)
    };
    let run = start();
    let url = run.base.clone();
    let (code, out) = output_of(cli_at(
        &["live", "stop", "--desk", "rates", "--reason", "rates drill"],
        &url,
    ));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("halted desk rates: 1 strategy confirmed"),
        "{out}"
    );
    let (code, out) = output_of(cli_at(
        &["live", "stop", "--all", "--reason", "firm drill"],
        &url,
    ));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("firm state MANUALLY_HALTED"), "{out}");
    // SIGKILL: the halt was durable when answered.
    run.stop();
    let run = start();
    let (code, out) = output_of(cli_at(&["live", "status", "--firm"], &run.base));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("firm      acme"), "{out}");
    assert!(out.contains("state     MANUALLY_HALTED"), "{out}");
    assert!(out.contains("desk rates HALTED"), "{out}");
    let http = reqwest::blocking::Client::new();
    for name in ["alpha", "gamma"] {
        let s: Value = http
            .get(format!("{}/api/v1/strategies/{name}", run.base))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(s["state"], "MANUALLY_HALTED", "{name}: {s}");
    }
    let (code, out) = output_of(cli_at(&["live", "stop", "--reason", "x"], &run.base));
    assert_eq!(
        code,
        Some(2),
        "one of --strategy, --all, --desk is required: {out}"
    );
}

#[tokio::test]
async fn test_firm_handle_when_embedded_then_halt_refuses_orders_and_reset_restores_them() {
    use rustybt::{FirmHandle, FirmParts, OrderRequest, Side, SledControlStore};
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let engines = EngineBuilder::strategies(vec![strategy("alpha", "equities")])
        .clock(clock.clone())
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    let store = SledControlStore::open(engines.store().clone()).unwrap();
    let firm = FirmHandle::start(FirmParts::local(
        "acme",
        engines.all().values(),
        Arc::new(store),
        clock.clone(),
    ))
    .await
    .unwrap();
    let alpha = engines.get("alpha").unwrap();
    let order = || OrderRequest::market("o", "SPY", Side::Buy, rust_decimal::Decimal::ONE);
    assert!(alpha.check_order(order()).unwrap().is_accepted());
    let outcome = firm.halt("alice", "drill", None).await.unwrap();
    assert_eq!(outcome.halted.len(), 1);
    assert!(!alpha.check_order(order()).unwrap().is_accepted());
    let err = firm.halt("", "drill", None).await.unwrap_err();
    assert_eq!(err.to_string(), "operator: \"\" must not be empty");
    let ticket = firm.request_reset("bob", None).await.unwrap();
    firm.confirm_reset("carol", &ticket.confirmation_token)
        .await
        .unwrap();
    assert!(alpha.check_order(order()).unwrap().is_accepted());
    assert_eq!(
        firm.view().await.unwrap().state,
        rustybt::EngineState::Normal
    );
}
