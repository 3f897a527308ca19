//! Pre-trade checks, open orders and reference prices (API.md v1.1) through real HTTP on
//! loopback, with the limits read from a configuration file's `[strategy.pre_trade]`.

use chrono::Duration;
use reqwest::StatusCode;
use rustybt::config::Config;
use rustybt::engine::{EngineBuilder, Engines};
use rustybt::server::RunningServer;
use rustybt::{Clock, TestClock};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const TOKEN: &str = "test-token";

const LIMITS: &str = r#"
[[strategy]]
name = "momentum"

[strategy.pre_trade]
max_order_quantity = "1000"
max_order_notional = "50000"
max_position = "5000"
max_gross_exposure = "250000"
price_collar = "0.05"
max_reference_age = 60
max_open_orders = 3
duplicate_order_id = true

[strategy.pre_trade.assets.AAPL]
max_order_quantity = "500"
max_order_notional = "100000"
max_position = "2000"
price_collar = "0.02"

[strategy.circuit_breakers]
daily_loss = { enabled = false }
stale_feed = { enabled = false }
"#;

struct Api {
    base: String,
    http: reqwest::Client,
    clock: Arc<TestClock>,
    cancels: tokio::sync::mpsc::UnboundedReceiver<rustybt::CancelAllOrders>,
    engines: Engines,
    _server: RunningServer,
    _dir: Option<tempfile::TempDir>,
}

async fn api(toml: &str) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let mut a = api_in(toml, dir.path()).await;
    a._dir = Some(dir);
    a
}

/// The engine on the checkpoint in `dir` (which outlives it, for a restart).
async fn api_in(toml: &str, dir: &std::path::Path) -> Api {
    let config = Config::parse(toml, dir, &HashMap::new()).expect("valid config");
    let mut s = config.strategies[0].clone();
    s.tick_interval = None;
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let mut builder = EngineBuilder::new(s).clock(clock.clone()).data_dir(dir);
    let cancels = builder.cancel_orders_channel();
    let engines = builder.start_all().unwrap();
    let server = crate::support::serve(&engines, TOKEN);
    let a = Api {
        base: format!("http://{}", server.addr),
        http: reqwest::Client::new(),
        clock,
        cancels,
        engines,
        _server: server,
        _dir: None,
    };
    // AAPL at 100, MSFT at 400, both flat; the drawdown breaker has its first snapshot.
    let at = a.clock.now().to_rfc3339();
    let (code, v) = a
        .post(
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": "1000000", "positions": [
                {"asset": "AAPL", "quantity": "0", "market_price": "100"},
                {"asset": "MSFT", "quantity": "0", "market_price": "400"}]}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    a
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/strategies/momentum{path}", self.base)
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let code = r.status();
        (code, r.json().await.unwrap_or(Value::Null))
    }

    async fn status(&self) -> Value {
        let r = self.http.get(self.url("")).send().await.unwrap();
        r.json().await.unwrap()
    }

    async fn order(&self, body: Value) -> Value {
        let (code, v) = self.post("/orders", body).await;
        assert_eq!(code, StatusCode::OK, "{v}");
        v
    }
}

fn order(id: &str, asset: &str, side: &str, qty: &str) -> Value {
    json!({"order_id": id, "asset": asset, "side": side, "quantity": qty})
}

fn limit(id: &str, asset: &str, side: &str, qty: &str, price: &str) -> Value {
    json!({"order_id": id, "asset": asset, "side": side, "quantity": qty, "limit_price": price})
}

#[tokio::test]
async fn test_order_when_notional_over_max_then_denied_with_check_limit_and_value() {
    let a = api(LIMITS).await;
    let v = a.order(limit("f1", "MSFT", "buy", "155", "400.00")).await;
    assert_eq!(
        v,
        json!({"decision": "rejected", "state": "NORMAL", "check": "max_order_notional",
               "limit": "50000", "value": "62000.00", "breaker": null,
               "reason": "order notional 62000.00 > max 50000 (MSFT)"})
    );
    // The per-asset override is the limit for AAPL: 500 × 100 = 50 000 passes, 501 is over
    // AAPL's own quantity limit.
    assert_eq!(
        a.order(limit("a1", "AAPL", "buy", "500", "100")).await,
        json!({"decision": "accepted"})
    );
    let v = a.order(limit("a2", "AAPL", "buy", "501", "100")).await;
    assert_eq!(
        (&v["check"], &v["limit"], &v["value"]),
        (&json!("max_order_quantity"), &json!("500"), &json!("501"))
    );
    // A denied order never becomes an open order.
    let s = a.status().await;
    let open: Vec<&str> = s["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["a1"]);
    assert_eq!(s["pre_trade"]["denials"]["max_order_notional"], 1);
    assert_eq!(s["pre_trade"]["denials"]["max_order_quantity"], 1);
    assert_eq!(s["pre_trade"]["last_denial"]["order_id"], "a2");
    assert_eq!(s["orders_rejected"]["max_order_notional"], 1);
}

#[tokio::test]
async fn test_order_when_limit_far_through_market_then_collar_denies() {
    let a = api(LIMITS).await;
    // AAPL's collar is 2%: 102 passes, 102.01 does not; MSFT keeps the 5% of the strategy.
    assert_eq!(
        a.order(limit("c1", "AAPL", "buy", "1", "102")).await["decision"],
        "accepted"
    );
    let v = a.order(limit("c2", "AAPL", "buy", "1", "130")).await;
    assert_eq!(
        (&v["check"], &v["limit"], &v["value"]),
        (&json!("price_collar"), &json!("0.02"), &json!("0.3"))
    );
    assert_eq!(
        a.order(limit("c3", "MSFT", "sell", "1", "380")).await["decision"],
        "accepted"
    );
}

#[tokio::test]
async fn test_order_when_reference_missing_or_stale_then_denied_until_a_price_is_posted() {
    let a = api(LIMITS).await;
    let v = a.order(order("s1", "TSLA", "buy", "1")).await;
    assert_eq!(v["check"], "stale_reference_price");
    assert!(v.get("limit").is_none() && v.get("value").is_none(), "{v}");
    a.clock.advance(Duration::seconds(61));
    let v = a.order(order("s2", "AAPL", "buy", "1")).await;
    assert_eq!(
        (&v["check"], &v["limit"], &v["value"]),
        (&json!("stale_reference_price"), &json!("60"), &json!("61"))
    );
    let at = a.clock.now().to_rfc3339();
    let (code, _) = a
        .post(
            "/prices",
            json!({"timestamp": at, "prices": [{"asset": "AAPL", "price": "101"}, {"asset": "TSLA", "price": "250"}]}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(
        a.order(order("s3", "AAPL", "buy", "1")).await["decision"],
        "accepted"
    );
    assert_eq!(
        a.order(order("s4", "TSLA", "buy", "1")).await["decision"],
        "accepted"
    );
}

#[tokio::test]
async fn test_fills_when_cumulative_reach_quantity_then_order_closes_and_position_moves() {
    let a = api(LIMITS).await;
    assert_eq!(
        a.order(limit("o1", "AAPL", "buy", "300", "100")).await["decision"],
        "accepted"
    );
    // Fills after the snapshot move the position (one at its instant is already in it).
    a.clock.advance(Duration::seconds(1));
    let at = a.clock.now().to_rfc3339();
    let fill = |qty: &str| json!({"order_id": "o1", "asset": "AAPL", "side": "buy", "quantity": qty, "price": "100", "timestamp": at});
    assert_eq!(a.post("/fills", fill("100")).await.0, StatusCode::ACCEPTED);
    let s = a.status().await;
    assert_eq!(s["open_orders"][0]["filled"], "100");
    assert_eq!(s["open_orders"][0]["quantity"], "300");
    assert_eq!(s["portfolio"]["gross_exposure"], "30000");
    assert_eq!(a.post("/fills", fill("200")).await.0, StatusCode::ACCEPTED);
    let s = a.status().await;
    assert_eq!(s["open_orders"], json!([]));
    assert_eq!(s["portfolio"]["gross_exposure"], "30000");
    // Three open orders is the max: a fourth is denied for that before anything else.
    for id in ["o2", "o3", "o4"] {
        assert_eq!(
            a.order(limit(id, "AAPL", "buy", "500", "100")).await["decision"],
            "accepted"
        );
    }
    let v = a.order(limit("o5", "AAPL", "buy", "200", "100")).await;
    assert_eq!(
        (&v["check"], &v["limit"], &v["value"]),
        (&json!("max_open_orders"), &json!("3"), &json!("4"))
    );
    // One cancelled, one filled: 800 held, o3's 500 working, one slot left.
    let (code, v) = a
        .post("/orders/o4/done", json!({"status": "cancelled"}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    let filled = json!({"order_id": "o2", "asset": "AAPL", "side": "buy", "quantity": "500", "price": "100", "timestamp": at});
    assert_eq!(a.post("/fills", filled).await.0, StatusCode::ACCEPTED);
    assert_eq!(
        a.order(limit("o6", "AAPL", "buy", "500", "100")).await["decision"],
        "accepted"
    );
    // 800 + 500 + 500 working = 1800: 201 more is over AAPL's max position of 2000.
    let v = a.order(limit("o7", "AAPL", "buy", "201", "100")).await;
    assert_eq!(
        (&v["check"], &v["limit"], &v["value"]),
        (&json!("max_position"), &json!("2000"), &json!("2001"))
    );
    assert_eq!(
        a.order(limit("o8", "AAPL", "buy", "200", "100")).await["decision"],
        "accepted"
    );
    let s = a.status().await;
    let open: Vec<&str> = s["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["o3", "o6", "o8"]);
    assert_eq!(s["portfolio"]["gross_exposure"], "200000");
}

#[tokio::test]
async fn test_order_when_id_used_before_then_duplicate_denied() {
    let a = api(LIMITS).await;
    assert_eq!(
        a.order(order("d1", "AAPL", "buy", "1")).await["decision"],
        "accepted"
    );
    let v = a.order(order("d1", "AAPL", "buy", "1")).await;
    assert_eq!(v["check"], "duplicate_order_id");
    assert!(v.get("limit").is_none(), "{v}");
}

#[tokio::test]
async fn test_order_when_gross_exposure_would_exceed_then_denied_but_reducing_passes() {
    let toml = LIMITS.replace("max_open_orders = 3", "max_open_orders = 50");
    let a = api(&toml).await;
    let at = a.clock.now().to_rfc3339();
    // Held: 2000 AAPL × 100 + 100 MSFT × 400 = 240 000.
    let (code, _) = a
        .post(
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": "1000000", "positions": [
                {"asset": "AAPL", "quantity": "2000", "market_price": "100"},
                {"asset": "MSFT", "quantity": "100", "market_price": "400"}]}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(a.status().await["portfolio"]["gross_exposure"], "240000");
    assert_eq!(
        a.order(limit("g1", "MSFT", "buy", "25", "400")).await["decision"],
        "accepted"
    );
    let v = a.order(limit("g2", "MSFT", "buy", "1", "400")).await;
    assert_eq!(
        (&v["check"], &v["limit"], &v["value"]),
        (
            &json!("max_gross_exposure"),
            &json!("250000"),
            &json!("250400")
        )
    );
    // Selling AAPL shrinks exposure and passes though the book is at its limit.
    assert_eq!(
        a.order(limit("g3", "AAPL", "sell", "500", "99")).await["decision"],
        "accepted"
    );
}

#[tokio::test]
async fn test_snapshot_when_positions_left_out_then_kept_and_when_empty_then_flat() {
    let toml = LIMITS.replace("max_open_orders = 3", "max_open_orders = 50");
    let a = api(&toml).await;
    let snapshot = |positions: Option<Value>| {
        let mut body =
            json!({"timestamp": a.clock.now().to_rfc3339(), "portfolio_value": "1000000"});
        if let Some(p) = positions {
            body["positions"] = p;
        }
        body
    };
    a.clock.advance(chrono::Duration::seconds(1));
    let held = json!([{"asset": "AAPL", "quantity": "2000", "market_price": "100"}]);
    let (code, v) = a.post("/portfolio", snapshot(Some(held))).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    assert_eq!(a.status().await["portfolio"]["gross_exposure"], "200000");
    // A snapshot that reports only its value says nothing of the holdings.
    a.clock.advance(chrono::Duration::seconds(1));
    let (code, v) = a.post("/portfolio", snapshot(None)).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    assert_eq!(a.status().await["portfolio"]["gross_exposure"], "200000");
    let v = a.order(limit("b1", "AAPL", "buy", "100", "100")).await;
    assert_eq!(v["check"], "max_position", "2000 held is the limit: {v}");
    // An empty list says flat: closed at the broker, say, with no fill seen here.
    a.clock.advance(chrono::Duration::seconds(1));
    let (code, v) = a.post("/portfolio", snapshot(Some(json!([])))).await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    assert_eq!(a.status().await["portfolio"]["gross_exposure"], "0");
    let v = a.order(limit("b2", "AAPL", "buy", "100", "100")).await;
    assert_eq!(v["decision"], "accepted", "{v}");
}

#[tokio::test]
async fn test_restart_when_orders_open_then_they_are_open_again_and_count() {
    let dir = tempfile::tempdir().unwrap();
    {
        let a = api_in(LIMITS, dir.path()).await;
        for (id, asset, side, qty, price) in [
            ("r1", "AAPL", "buy", "100", "100"),
            ("r2", "MSFT", "sell", "10", "400"),
            ("r3", "AAPL", "buy", "50", "100"),
        ] {
            let v = a.order(limit(id, asset, side, qty, price)).await;
            assert_eq!(v["decision"], "accepted", "{v}");
        }
        a.clock.advance(Duration::seconds(1));
        let at = a.clock.now().to_rfc3339();
        let fill = json!({"order_id": "r1", "asset": "AAPL", "side": "buy", "quantity": "40", "price": "100", "timestamp": at});
        assert_eq!(a.post("/fills", fill).await.0, StatusCode::ACCEPTED);
        let (code, v) = a
            .post("/orders/r3/done", json!({"status": "cancelled"}))
            .await;
        assert_eq!(code, StatusCode::ACCEPTED, "{v}");
        // The gate saves them off the order path, on its own: wait until the checkpoint holds
        // them (what a crash from then on keeps).
        let checkpoint = a.engines.store().strategy("momentum").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            a.engines.store().flush().await.unwrap();
            let mut saved: Vec<(String, String)> = checkpoint
                .load_open_orders()
                .unwrap()
                .into_iter()
                .map(|(_, o)| (o.order_id.to_string(), o.filled.to_string()))
                .collect();
            saved.sort();
            if saved == [("r1".into(), "40".into()), ("r2".into(), "0".into())] {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "saved: {saved:?}");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        drop(checkpoint);
        let Api {
            engines, _server, ..
        } = a;
        _server.stop().await;
        engines.shutdown().await.unwrap();
    }
    let a = api_in(LIMITS, dir.path()).await;
    let s = a.status().await;
    let open: Vec<(&str, &str)> = s["open_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["order_id"].as_str().unwrap(),
                o["filled"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(open, [("r1", "40"), ("r2", "0")], "{s}");
    // Their ids are known: the same order sent again is a duplicate.
    let v = a.order(limit("r2", "MSFT", "sell", "10", "400")).await;
    assert_eq!(v["check"], "duplicate_order_id", "{v}");
    // They count toward max_open_orders (3): one more fits, the next does not.
    assert_eq!(
        a.order(limit("r4", "AAPL", "buy", "10", "100")).await["decision"],
        "accepted"
    );
    let v = a.order(limit("r5", "AAPL", "buy", "10", "100")).await;
    assert_eq!(v["check"], "max_open_orders", "{v}");
    // And the host can close them: not an unknown order.
    let (code, v) = a
        .post("/orders/r1/done", json!({"status": "cancelled"}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
}

#[tokio::test]
async fn test_lifecycle_bad_input_then_named_error_and_nothing_changes() {
    let a = api(LIMITS).await;
    assert_eq!(
        a.order(order("k1", "AAPL", "buy", "1")).await["decision"],
        "accepted"
    );
    let before = a.status().await;
    let at = a.clock.now().to_rfc3339();
    let far = (a.clock.now() + Duration::hours(1)).to_rfc3339();
    for (path, body, code, needle) in [
        (
            "/orders/nope/done",
            json!({"status": "cancelled"}),
            StatusCode::NOT_FOUND,
            "order_id: \"nope\"",
        ),
        (
            "/orders/k1/done",
            json!({"status": "filled"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "status",
        ),
        (
            "/orders/k1/done",
            json!({"status": "cancelled", "timestamp": far}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "timestamp",
        ),
        (
            "/prices",
            json!({"timestamp": at, "prices": [{"asset": "AAPL", "price": "-1"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "prices.price: -1",
        ),
        (
            "/prices",
            json!({"timestamp": at, "prices": [{"asset": "AAPL", "price": "1e999"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "prices[0].price",
        ),
        (
            "/prices",
            json!({"timestamp": at, "prices": [{"asset": "", "price": "1"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "prices.asset",
        ),
        (
            "/prices",
            json!({"prices": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "timestamp",
        ),
        (
            "/prices",
            json!({"timestamp": far, "prices": [{"asset": "AAPL", "price": "1"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "timestamp",
        ),
        (
            "/heartbeat",
            json!({"timestamp": far}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "timestamp",
        ),
        (
            "/heartbeat",
            json!({"bogus": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bogus",
        ),
    ] {
        let (got, v) = a.post(path, body.clone()).await;
        assert_eq!(got, code, "{path} {body}: {v}");
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path} {body}: {message}");
    }
    let after = a.status().await;
    assert_eq!(before["open_orders"], after["open_orders"]);
    assert_eq!(
        before["pre_trade"]["references"],
        after["pre_trade"]["references"]
    );
    let (code, _) = a.post("/heartbeat", json!({})).await;
    assert_eq!(code, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn test_halt_when_orders_open_then_cancel_all_names_them() {
    let mut a = api(LIMITS).await;
    assert_eq!(
        a.order(limit("h1", "AAPL", "buy", "10", "100")).await["decision"],
        "accepted"
    );
    assert_eq!(
        a.order(limit("h2", "MSFT", "sell", "5", "400")).await["decision"],
        "accepted"
    );
    let mut events = a.engines.get("momentum").unwrap().subscribe();
    let (code, _) = a
        .post("/halt", json!({"operator": "alice", "reason": "drill"}))
        .await;
    assert_eq!(code, StatusCode::OK);
    // The sidecar's host hears it on the control stream (and so on /events), orders named.
    let heard = loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), events.recv()).await {
            Ok(Some(rustybt::EngineEvent::CancelAllOrders(c))) => break c,
            Ok(Some(_)) => continue,
            other => panic!("no cancel-all event: {other:?}"),
        }
    };
    assert_eq!(heard.open_orders.len(), 2);
    let cancel = tokio::time::timeout(std::time::Duration::from_secs(10), a.cancels.recv())
        .await
        .expect("a cancel-all within 10 s")
        .expect("the channel is open");
    let ids: Vec<&str> = cancel.open_orders.iter().map(|o| &*o.order_id).collect();
    assert_eq!(ids, ["h1", "h2"]);
    // They stay open until the host reports them done.
    assert_eq!(a.status().await["open_orders"].as_array().unwrap().len(), 2);
    let handle = a.engines.get("momentum").unwrap().clone();
    handle
        .order_done("h1", rustybt_actors::pretrade::DoneStatus::Cancelled, None)
        .unwrap();
    assert_eq!(handle.book().open_orders.len(), 1);
}

#[tokio::test]
async fn test_metrics_when_denials_then_counter_per_check() {
    let a = api(LIMITS).await;
    a.order(limit("m1", "MSFT", "buy", "155", "400")).await;
    a.order(limit("m2", "AAPL", "buy", "1", "150")).await;
    let text = a
        .http
        .get(format!("{}/metrics", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (check, n) in [
        ("max_order_notional", 1),
        ("price_collar", 1),
        ("duplicate_order_id", 0),
    ] {
        let line = format!(
            "rustybt_pretrade_denials_total{{strategy=\"momentum\",check=\"{check}\"}} {n}"
        );
        assert!(text.contains(&line), "missing {line}");
    }
    assert!(text.contains("rustybt_open_orders{strategy=\"momentum\"} 0"));
}

const BREAKERS: &str = r#"
[[strategy]]
name = "momentum"

[strategy.market]
timezone = "UTC"
open = "00:00"
always_open = true

[strategy.pre_trade]
max_order_quantity = "100"

[strategy.circuit_breakers]
daily_loss = { enabled = false }
stale_feed = { enabled = false }
pre_trade = { max_denials = 5, window = 60 }
host_silent = { timeout = 30 }
"#;

fn breaker<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == kind)
}

#[tokio::test]
async fn test_pre_trade_breaker_when_sixth_denial_in_window_then_trips_and_needs_manual_reset() {
    let a = api(BREAKERS).await;
    for i in 0..5 {
        let v = a
            .order(order(&format!("big{i}"), "AAPL", "buy", "101"))
            .await;
        assert_eq!(v["check"], "max_order_quantity", "{v}");
        a.clock.advance(Duration::seconds(1));
    }
    assert_eq!(a.status().await["state"], "NORMAL");
    let v = a.order(order("big5", "AAPL", "buy", "101")).await;
    assert_eq!(v["check"], "max_order_quantity");
    assert_eq!(v["state"], "TRIPPED", "the sixth denial trips at once: {v}");
    // Good orders are now refused by the breaker, naming it.
    let v = a.order(order("good", "AAPL", "buy", "1")).await;
    assert_eq!(
        (&v["state"], &v["breaker"]),
        (&json!("TRIPPED"), &json!("pre_trade"))
    );
    let s = a.status().await;
    let b = breaker(&s, "pre_trade").expect("listed when configured");
    assert_eq!(b["status"], "tripped");
    assert_eq!(b["details"]["last_check"], "max_order_quantity");
    // The window clearing does not lift it: designated staff do.
    for _ in 0..6 {
        a.clock.advance(Duration::seconds(20));
        assert_eq!(
            a.post("/heartbeat", json!({})).await.0,
            StatusCode::ACCEPTED
        );
        a.engines.get("momentum").unwrap().tick().await;
    }
    assert_eq!(a.status().await["state"], "TRIPPED");
    let audit: Value = a
        .http
        .get(a.url("/audit"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trip = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["cause"] == "trip:pre_trade")
        .expect("the trip is audited");
    assert_eq!(
        trip["details"]["figures"]["denials_in_window"], "6",
        "{trip}"
    );
    assert_eq!(
        trip["details"]["figures"]["last_check"],
        "max_order_quantity"
    );
    let (code, ticket) = a
        .post(
            "/reset",
            json!({"operator": "risk-desk", "reason": "limits fixed"}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{ticket}");
    let (code, after) = a
        .post(
            "/reset/confirm",
            json!({"operator": "risk-desk", "confirmation_token": ticket["confirmation_token"]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{after}");
    assert_eq!(after["state"], "NORMAL");
    assert_eq!(
        a.order(order("good2", "AAPL", "buy", "1")).await["decision"],
        "accepted"
    );
}

#[tokio::test]
async fn test_host_silent_when_no_host_event_for_timeout_on_a_sunday_then_cancels_and_trips() {
    let mut a = api(BREAKERS).await;
    let engine = a.engines.get("momentum").unwrap().clone();
    // 2026-03-08 is a Sunday: an always-open market has a session all the same.
    a.clock.set("2026-03-08T03:00:00Z".parse().unwrap());
    a.order(json!({"order_id": "w1", "asset": "AAPL", "side": "buy", "quantity": "1", "limit_price": "100"}))
        .await;
    // A heartbeat keeps it alive past the timeout.
    a.clock.advance(Duration::seconds(20));
    assert_eq!(
        a.post("/heartbeat", json!({})).await.0,
        StatusCode::ACCEPTED
    );
    a.clock.advance(Duration::seconds(20));
    engine.tick().await;
    assert_eq!(a.status().await["state"], "NORMAL");
    // Then silence: 31 s after the heartbeat the switch trips and asks to cancel all.
    a.clock.advance(Duration::seconds(11));
    engine.tick().await;
    let s = a.status().await;
    assert_eq!(s["state"], "TRIPPED", "{}", s["reason"]);
    let b = breaker(&s, "host_silent").expect("listed when configured");
    assert_eq!(b["status"], "tripped");
    let cancel = tokio::time::timeout(std::time::Duration::from_secs(10), a.cancels.recv())
        .await
        .expect("a cancel-all within 10 s")
        .expect("the channel is open");
    assert_eq!(cancel.open_orders.len(), 1);
    assert_eq!(&*cancel.open_orders[0].order_id, "w1");
}

#[tokio::test]
async fn test_status_when_new_breakers_not_configured_then_not_listed() {
    let a = api(LIMITS).await;
    let s = a.status().await;
    assert!(breaker(&s, "pre_trade").is_none());
    assert!(breaker(&s, "host_silent").is_none());
    assert!(breaker(&s, "order_rate").is_some());
}

#[tokio::test]
async fn test_day_order_when_session_closes_then_expired_audited_streamed_and_done_is_404() {
    // Monday 2026-03-09 10:00 New York; the default market closes at 16:00 (20:00Z).
    let a = api(LIMITS).await;
    let engine = a.engines.get("momentum").unwrap().clone();
    let mut stream = a.http.get(a.url("/events")).send().await.unwrap();
    let mut seen = String::new();
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    seen.push_str(&String::from_utf8_lossy(&first));
    assert!(seen.contains("event: hello"), "{seen}");
    // A time in force the API does not know is refused, naming the field and the value.
    let mut bad = limit("x", "AAPL", "buy", "1", "100");
    bad["time_in_force"] = json!("week");
    let (code, v) = a.post("/orders", bad).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let message = v["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("time_in_force") && message.contains("week"),
        "{v}"
    );
    // A day order (the default) and a good-till-cancelled one.
    assert_eq!(
        a.order(limit("d1", "AAPL", "buy", "10", "100")).await["decision"],
        "accepted"
    );
    let mut gtc = limit("g1", "MSFT", "sell", "5", "400");
    gtc["time_in_force"] = json!("gtc");
    assert_eq!(a.order(gtc).await["decision"], "accepted");
    let open = |s: &Value| -> Vec<String> {
        s["open_orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(open(&a.status().await), ["d1", "g1"]);
    // A nanosecond before the close nothing expires.
    let close: chrono::DateTime<chrono::Utc> = "2026-03-09T20:00:00Z".parse().unwrap();
    a.clock.set(close - Duration::nanoseconds(1));
    engine.tick().await;
    assert_eq!(open(&a.status().await), ["d1", "g1"]);
    // At the close the day order is closed as expired; the gtc one works on.
    a.clock.set(close);
    engine.tick().await;
    assert_eq!(open(&a.status().await), ["g1"]);
    assert_eq!(engine.book().open_orders.len(), 1);
    let audit: Value = a
        .http
        .get(a.url("/audit"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = audit
        .as_array()
        .or_else(|| audit["entries"].as_array())
        .cloned()
        .unwrap_or_default();
    let expired: Vec<&Value> = entries
        .iter()
        .filter(|e| e["cause"] == "order_expired")
        .collect();
    assert_eq!(expired.len(), 1, "{audit}");
    assert_eq!(expired[0]["details"]["order_ids"], json!(["d1"]), "{audit}");
    assert_eq!(expired[0]["from"], expired[0]["to"], "no state change");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("event: order_expired") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("order_expired on the stream within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"order_id\":\"d1\""), "{seen}");
    // `/done` for it: not held any more. For the gtc order: as before.
    let (code, v) = a
        .post("/orders/d1/done", json!({"status": "cancelled"}))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND, "{v}");
    let (code, v) = a
        .post("/orders/g1/done", json!({"status": "cancelled"}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{v}");
    // Its id is still within the duplicate window (this session and the one before).
    let v = a.order(limit("d1", "AAPL", "buy", "10", "100")).await;
    assert_eq!(v["check"], "duplicate_order_id", "{v}");
}
