//! The HTTP API of API.md through real HTTP on loopback.

use chrono::Duration;
use reqwest::StatusCode;
use rustybt::engine::{EngineBuilder, Engines};
use rustybt::server::RunningServer;
use rustybt::{Clock, StrategySettings, TestClock};
use serde_json::{json, Value};
use std::sync::Arc;

const TOKEN: &str = "test-token";

struct Api {
    base: String,
    http: reqwest::Client,
    clock: Arc<TestClock>,
    _engines: Engines,
    _server: RunningServer,
    _dir: tempfile::TempDir,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let clock = TestClock::new("2026-03-09T14:00:00Z".parse().unwrap());
    let mut s = StrategySettings::moderate("momentum");
    s.tick_interval = None;
    s.breakers.daily_loss = None;
    let engines = EngineBuilder::new(s)
        .clock(clock.clone())
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    let server = crate::support::serve(&engines, TOKEN);
    Api {
        base: format!("http://{}", server.addr),
        http: reqwest::Client::new(),
        clock,
        _engines: engines,
        _server: server,
        _dir: dir,
    }
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

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn snapshot(&self, value: &str) -> StatusCode {
        self.clock.advance(Duration::seconds(1));
        let at = self.clock.now().to_rfc3339();
        self.post(
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": value}),
        )
        .await
        .0
    }

    async fn order(&self, id: &str) -> Value {
        let (code, v) = self
            .post(
                "/orders",
                json!({"order_id": id, "asset": "SPY", "side": "buy", "quantity": "1"}),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{v}");
        v
    }
}

#[tokio::test]
async fn test_orders_accepted_then_rejected_after_drawdown_trip() {
    let a = api().await;
    assert_eq!(a.snapshot("100000").await, StatusCode::ACCEPTED);
    assert_eq!(a.order("o1").await, json!({"decision": "accepted"}));
    assert_eq!(a.snapshot("89000.00").await, StatusCode::ACCEPTED);
    let v = a.order("o2").await;
    assert_eq!(v["decision"], "rejected");
    assert_eq!(v["state"], "TRIPPED");
    assert_eq!(v["breaker"], "drawdown");
    assert!(v["reason"].as_str().unwrap().contains("drawdown"), "{v}");
    let s = a.get("").await;
    assert_eq!(s["state"], "TRIPPED");
    let dd = s["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "drawdown")
        .unwrap();
    assert_eq!(dd["status"], "tripped");
    assert_eq!(dd["value"], "-0.11");
    assert_eq!(dd["limit"], "-0.10");
    assert!(dd["tripped_at"].is_string());
    assert_eq!(s["portfolio"]["high_water_mark"], "100000");
    assert_eq!(s["recent_orders"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn test_portfolio_when_value_minus_80_after_100_then_202_and_drawdown_trips() {
    let a = api().await;
    assert_eq!(a.snapshot("100").await, StatusCode::ACCEPTED);
    // A margin account's equity below zero: accepted and judged, never refused.
    assert_eq!(a.snapshot("-80").await, StatusCode::ACCEPTED);
    let v = a.order("o1").await;
    assert_eq!(v["decision"], "rejected", "{v}");
    assert_eq!(v["breaker"], "drawdown", "{v}");
    let s = a.get("").await;
    assert_eq!(s["state"], "TRIPPED", "{s}");
    assert_eq!(s["portfolio"]["value"], "-80", "{s}");
    assert_eq!(s["portfolio"]["high_water_mark"], "100", "{s}");
    assert_eq!(s["portfolio"]["drawdown"], "-1.8", "{s}");
    let dd = s["breakers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "drawdown")
        .unwrap();
    assert_eq!(dd["status"], "tripped", "{s}");
    assert_eq!(dd["value"], "-1.8", "{s}");
    let audit = a.get("/audit").await;
    let text = audit.to_string();
    assert!(text.contains("drawdown -180% <= -10%"), "{text}");
}

#[tokio::test]
async fn test_portfolio_when_first_value_zero_or_below_then_202_and_drawdown_trips_unjudged() {
    for first in ["0", "-80"] {
        let a = api().await;
        assert_eq!(a.snapshot(first).await, StatusCode::ACCEPTED, "{first}");
        let s = a.get("").await;
        assert_eq!(s["state"], "TRIPPED", "{first}: {s}");
        let text = a.get("/audit").await.to_string();
        assert!(
            text.contains("drawdown cannot be judged"),
            "{first}: {text}"
        );
        assert!(
            text.contains("no positive high-water mark"),
            "{first}: {text}"
        );
    }
}

#[tokio::test]
async fn test_portfolio_when_first_value_1e_minus_28_then_no_trip() {
    // It used to trip at once with "drawdown 0% <= -10%".
    let a = api().await;
    assert_eq!(
        a.snapshot("0.0000000000000000000000000001").await,
        StatusCode::ACCEPTED
    );
    let s = a.get("").await;
    assert_eq!(s["state"], "NORMAL", "{s}");
    assert_eq!(a.order("o1").await, json!({"decision": "accepted"}));
    assert_eq!(a.snapshot("0").await, StatusCode::ACCEPTED);
    let text = a.get("/audit").await.to_string();
    assert!(text.contains("drawdown -100% <= -10%"), "{text}");
}

#[tokio::test]
async fn test_post_without_or_with_wrong_token_is_401_and_changes_nothing() {
    let a = api().await;
    a.snapshot("100000").await;
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("Basic dGVzdA=="),
        Some("Bearer "),
    ] {
        for (path, body) in [
            ("/halt", json!({"operator": "x", "reason": "y"})),
            (
                "/portfolio",
                json!({"timestamp": "2026-03-09T15:00:00Z", "portfolio_value": "1"}),
            ),
            (
                "/orders",
                json!({"order_id": "o", "asset": "SPY", "side": "buy", "quantity": "1"}),
            ),
            ("/reset", json!({"operator": "x"})),
        ] {
            let mut req = a.http.post(a.url(path)).json(&body);
            if let Some(h) = auth {
                req = req.header("Authorization", h);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path} {auth:?}");
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "unauthorized");
            assert!(v["message"].is_string());
        }
    }
    let s = a.get("").await;
    assert_eq!(s["state"], "NORMAL");
    assert_eq!(s["portfolio"]["value"], "100000");
    assert_eq!(s["recent_orders"].as_array().unwrap().len(), 0);
    assert_eq!(a.get("/audit").await, json!([]));
}

#[tokio::test]
async fn test_unknown_strategy_is_404() {
    let a = api().await;
    let r = a
        .http
        .get(format!("{}/api/v1/strategies/nope", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unknown_strategy");
    let r = a
        .http
        .post(format!("{}/api/v1/strategies/nope/halt", a.base))
        .bearer_auth(TOKEN)
        .json(&json!({"operator": "x", "reason": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn test_bad_bodies_are_400_or_422_naming_the_problem() {
    let a = api().await;
    let at = "2026-03-09T14:00:01Z";
    let cases = [
        (
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": "abc"}),
            422,
            "invalid_decimal",
            "portfolio_value: \"abc\" is not a decimal",
        ),
        (
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": 100.5}),
            422,
            "invalid_decimal",
            "portfolio_value: 100.5 must be a decimal",
        ),
        (
            "/portfolio",
            json!({"portfolio_value": "100"}),
            422,
            "invalid_body",
            "missing field `timestamp`",
        ),
        (
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": "5", "positions": [
                {"asset": "SPY", "quantity": "1", "market_price": "-5"}]}),
            422,
            "invalid_value",
            "positions.market_price: -5 must not be negative",
        ),
        (
            "/portfolio",
            json!({"timestamp": at, "portfolio_value": "99999999999999999999999999999999"}),
            422,
            "invalid_decimal",
            "portfolio_value: ",
        ),
        (
            "/portfolio",
            json!({"timestamp": "yesterday", "portfolio_value": "5"}),
            422,
            "invalid_body",
            "timestamp",
        ),
        (
            "/orders",
            json!({"order_id": "o", "asset": "SPY", "side": "hold", "quantity": "1"}),
            422,
            "invalid_body",
            "unknown variant `hold`",
        ),
        (
            "/orders",
            json!({"order_id": "o", "asset": "SPY", "side": "buy", "quantity": "0"}),
            422,
            "invalid_value",
            "quantity: 0",
        ),
        (
            "/orders",
            json!({"order_id": "o", "asset": "SPY", "side": "buy", "quantity": "1", "bogus": 1}),
            422,
            "invalid_body",
            "unknown field `bogus`",
        ),
        (
            "/errors",
            json!({"kind": "meteor", "message": "m"}),
            422,
            "invalid_body",
            "unknown variant `meteor`",
        ),
        (
            "/fills",
            json!({"order_id": "o", "asset": "A", "side": "buy", "quantity": "1", "price": "1e999999", "timestamp": at}),
            422,
            "invalid_decimal",
            "price",
        ),
        (
            "/halt",
            json!({"operator": "x"}),
            422,
            "invalid_body",
            "missing field `reason`",
        ),
        (
            "/halt",
            json!({"operator": "", "reason": "r"}),
            422,
            "invalid_value",
            "operator",
        ),
    ];
    for (path, body, code, error, needle) in cases {
        let (got, v) = a.post(path, body.clone()).await;
        assert_eq!(got.as_u16(), code, "{path} {body}: {v}");
        assert_eq!(v["error"], error, "{path} {body}: {v}");
        assert!(
            v["message"].as_str().unwrap().contains(needle),
            "{path} {body}: {v}"
        );
    }
    let r = a
        .http
        .post(a.url("/portfolio"))
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "malformed_json");
    let s = a.get("").await;
    assert_eq!(s["state"], "NORMAL");
    assert_eq!(
        s["portfolio"]["value"],
        Value::Null,
        "nothing bad was taken in"
    );
}

#[tokio::test]
async fn test_oversized_body_is_413() {
    let a = api().await;
    let big = json!({"operator": "x", "reason": "y".repeat(70_000)});
    let (code, v) = a.post("/halt", big).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"], "body_too_large");
    assert_eq!(a.get("").await["state"], "NORMAL");
}

#[tokio::test]
async fn test_halt_then_two_step_reset() {
    let a = api().await;
    a.snapshot("100000").await;
    let (code, v) = a.post("/reset", json!({"operator": "bob"})).await;
    assert_eq!(code, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "nothing_to_reset");
    let (code, v) = a
        .post(
            "/halt",
            json!({"operator": "alice", "reason": "fat finger"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["state"], "MANUALLY_HALTED");
    assert_eq!(a.order("o").await["decision"], "rejected");
    let (code, ticket) = a
        .post("/reset", json!({"operator": "bob", "reason": "checked"}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(ticket["state"], "RESETTING");
    assert!(ticket["expires_at"].is_string());
    let (code, v) = a
        .post(
            "/reset/confirm",
            json!({"operator": "bob", "confirmation_token": "wrong"}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert_eq!(v["error"], "wrong_confirmation_token");
    assert_eq!(
        a.get("").await["state"],
        "RESETTING",
        "a wrong token leaves the reset pending"
    );
    let (code, v) = a
        .post(
            "/reset/confirm",
            json!({"operator": "bob", "confirmation_token": ticket["confirmation_token"]}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "NORMAL");
    assert_eq!(a.order("o2").await["decision"], "accepted");
    let audit = a.get("/audit").await;
    let causes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cause"].as_str().unwrap())
        .collect();
    assert_eq!(
        causes,
        ["manual_halt", "reset_requested", "reset_confirmed"],
        "newest last"
    );
    assert_eq!(audit[0]["operator"], "alice");
    assert_eq!(audit[0]["from"], "NORMAL");
    assert_eq!(audit[0]["to"], "MANUALLY_HALTED");
}

#[tokio::test]
async fn test_order_that_trips_order_rate_is_itself_rejected() {
    let a = api().await;
    a.snapshot("100000").await;
    for i in 1..=100 {
        assert_eq!(
            a.order(&format!("o{i}")).await["decision"],
            "accepted",
            "order {i}"
        );
    }
    let v = a.order("o101").await;
    assert_eq!(v["decision"], "rejected");
    assert_eq!(v["breaker"], "order_rate");
}

#[tokio::test]
async fn test_fills_and_errors_are_recorded() {
    let a = api().await;
    a.snapshot("100000").await;
    let (code, _) = a
        .post("/fills", json!({"order_id": "o1", "asset": "SPY", "side": "buy", "quantity": "1", "price": "500.25", "timestamp": "2026-03-09T14:00:02Z"}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let (code, _) = a
        .post(
            "/errors",
            json!({"kind": "broker_error", "message": "gateway down"}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);
    let s = a.get("").await;
    assert_eq!(s["recent_fills"][0]["price"], "500.25");
    assert_eq!(s["recent_errors"][0]["kind"], "broker_error");
    assert_eq!(s["recent_errors"][0]["message"], "gateway down");
}

#[tokio::test]
async fn test_sse_delivers_a_state_change() {
    let a = api().await;
    a.snapshot("100000").await;
    let mut stream = a.http.get(a.url("/events")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    // The greeting arrives first; then halt and wait for the change.
    let first = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    seen.push_str(&String::from_utf8_lossy(&first));
    assert!(seen.contains("event: hello"), "{seen}");
    a.post("/halt", json!({"operator": "alice", "reason": "sse"}))
        .await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("event: state_changed") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("state change within 10 s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"to\":\"MANUALLY_HALTED\""), "{seen}");
}

#[tokio::test]
async fn test_list_health_and_metrics() {
    let a = api().await;
    a.snapshot("100000").await;
    a.order("o1").await;
    let list: Value = a
        .http
        .get(format!("{}/api/v1/strategies", a.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "momentum");
    assert_eq!(list[0]["state"], "NORMAL");
    let h = a
        .http
        .get(format!("{}/healthz", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), StatusCode::OK);
    let m = a
        .http
        .get(format!("{}/metrics", a.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for series in [
        "rustybt_state{strategy=\"momentum\"} 0",
        "rustybt_breaker_tripped{strategy=\"momentum\",breaker=\"drawdown\"} 0",
        "rustybt_portfolio_value{strategy=\"momentum\"} 100000",
        "rustybt_orders_total{strategy=\"momentum\",decision=\"accepted\",by=\"\"} 1",
        "# TYPE rustybt_gate_latency_seconds histogram",
        "# HELP rustybt_drawdown",
    ] {
        assert!(m.contains(series), "missing {series} in\n{m}");
    }
}

#[tokio::test]
async fn test_dashboard_is_served() {
    let a = api().await;
    let page = a.http.get(format!("{}/", a.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("rustybt"));
    let js = a
        .http
        .get(format!("{}/assets/app.js", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
}

#[test]
fn test_non_loopback_bind_without_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let engines = EngineBuilder::new(StrategySettings::moderate("s"))
        .data_dir(dir.path())
        .start_all()
        .unwrap();
    let e = rustybt::server::start(
        engines.all().clone(),
        "0.0.0.0:0".parse().unwrap(),
        String::new(),
        false,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("without RUSTYBT_API_TOKEN"), "{e}");
}

#[tokio::test]
async fn test_request_when_no_route_matches_then_404_json_naming_the_path() {
    let a = api().await;
    for path in [
        "/nope",
        "/api/v2/strategies",
        "/api/v1/strategies/momentum/bogus",
    ] {
        let r = a
            .http
            .get(format!("{}{path}", a.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{path}"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "not_found", "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains(&format!("{path:?}")),
            "{v}"
        );
    }
}

#[tokio::test]
async fn test_request_when_method_is_wrong_then_405_json_naming_method_and_path() {
    let a = api().await;
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/strategies"),
        (reqwest::Method::GET, "/api/v1/strategies/momentum/halt"),
        (reqwest::Method::DELETE, "/api/v1/strategies/momentum"),
        (reqwest::Method::PUT, "/metrics"),
    ] {
        let r = a
            .http
            .request(method.clone(), format!("{}{path}", a.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "method_not_allowed", "{v}");
        let m = v["message"].as_str().unwrap();
        assert!(
            m.contains(method.as_str()) && m.contains(&format!("{path:?}")),
            "{v}"
        );
    }
    // An unknown strategy keeps its own 404.
    let r = a
        .http
        .get(format!("{}/api/v1/strategies/ghost", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unknown_strategy", "{v}");
}

/// The series names of docs/monitoring.md's table.
fn documented_series() -> Vec<String> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/monitoring.md"),
    )
    .unwrap();
    let mut names = Vec::new();
    for line in doc.lines().filter(|l| l.starts_with("| `rustybt_")) {
        let first_cell = line.split('|').nth(1).unwrap();
        for name in first_cell.split('`').filter(|s| s.starts_with("rustybt_")) {
            names.push(name.to_string());
        }
    }
    names
}

#[tokio::test]
async fn test_metrics_when_nothing_happened_yet_then_every_documented_series_is_zero() {
    let dir = tempfile::tempdir().unwrap();
    let sms: Arc<dyn rustybt_actors::alerts::AlertChannel> = Arc::new(
        rustybt_actors::alerts::sms::SmsChannel::new(
            "http://127.0.0.1:9",
            "AC123".into(),
            rustybt_actors::alerts::sms::AuthToken("unused".into()),
            "+15551234567".into(),
            vec!["+15559876543".into()],
        )
        .unwrap(),
    );
    let engines = EngineBuilder::new(StrategySettings::moderate("momentum"))
        .data_dir(dir.path())
        .alert_channels(vec![sms])
        .start_all()
        .unwrap();
    let server = crate::support::serve(&engines, TOKEN);
    let m = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples: Vec<&str> = m.lines().filter(|l| !l.starts_with('#')).collect();
    let documented = documented_series();
    assert!(documented.len() >= 13, "{documented:?}");
    for name in &documented {
        assert!(
            samples.iter().any(|l| l.starts_with(&format!("{name}{{"))
                || l.starts_with(&format!("{name}_count{{"))),
            "no sample of {name} before any activity in\n{m}"
        );
    }
    let s = "strategy=\"momentum\"";
    let mut expected = vec![
        format!("rustybt_gate_latency_seconds_count{{{s}}} 0"),
        format!("rustybt_portfolio_value{{{s}}} 0"),
        format!("rustybt_snapshot_age_seconds{{{s}}} 0"),
        format!("rustybt_alerts_total{{{s},channel=\"sms\",status=\"sent\"}} 0"),
        format!("rustybt_alerts_total{{{s},channel=\"sms\",status=\"failed\"}} 0"),
        format!("rustybt_alerts_total{{{s},channel=\"*\",status=\"suppressed\"}} 0"),
        format!("rustybt_alerts_total{{{s},channel=\"*\",status=\"dropped\"}} 0"),
    ];
    for breaker in [
        "drawdown",
        "daily_loss",
        "order_rate",
        "error_rate",
        "stale_feed",
        "manual",
    ] {
        expected.push(format!(
            "rustybt_orders_total{{{s},decision=\"rejected\",by=\"{breaker}\"}} 0"
        ));
        expected.push(format!(
            "rustybt_breaker_tripped{{{s},breaker=\"{breaker}\"}} 0"
        ));
    }
    for kind in ["order_rejected", "broker_error", "data_error"] {
        expected.push(format!("rustybt_errors_total{{{s},kind=\"{kind}\"}} 0"));
    }
    for line in &expected {
        assert!(samples.contains(&line.as_str()), "missing {line} in\n{m}");
    }
    promtool_check(&m);
    server.stop().await;
}

/// `promtool check metrics` on the text (Debian's `prometheus` package: without it the test
/// fails, naming the command that installs it).
fn promtool_check(text: &str) {
    use std::io::Write;
    let promtool =
        crate::support::tools::require_on_path("promtool", "sudo apt-get install prometheus");
    let mut child = std::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", promtool.display()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
