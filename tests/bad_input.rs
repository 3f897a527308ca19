//! Bad input never panics, is refused with an error naming the problem, and changes nothing:
//! property tests over configuration files and the host's event bodies.

use crate::support::engine::*;
use chrono::Duration;
use proptest::prelude::*;
use rust_decimal_macros::dec;
use rustybt::config::Config;
use rustybt::{EngineState, ErrorReport, Fill, OrderRequest, PortfolioSnapshot};
use std::collections::HashMap;
use std::path::Path;

const VALID: &str = r#"
[engine]
data_dir = "./data"
[server]
bind = "127.0.0.1:8080"
[[strategy]]
name = "momentum"
profile = "moderate"
[strategy.market]
timezone = "America/New_York"
open = "09:30"
holidays = ["2026-12-25"]
[strategy.circuit_breakers]
drawdown = { threshold = "-0.10" }
daily_loss = { limit = "-0.05" }
order_rate = { max_orders = 100, window = 60 }
error_rate = { max_errors = 10, window = "1m" }
"#;

/// Values an operator might mistype into any slot.
fn nasty_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"NaN\"".to_string()),
        Just("\"inf\"".to_string()),
        Just("\"-0.10000000000000000000000000000001\"".to_string()),
        Just("\"99999999999999999999999999999999999\"".to_string()),
        Just("1e400".to_string()),
        Just("-0".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("\"\"".to_string()),
        Just("true".to_string()),
        Just("[1, 2]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("9223372036854775807".to_string()),
        Just("\"1 fortnight\"".to_string()),
        Just("\"25:99\"".to_string()),
        "\"[a-zA-Z0-9/_ .:-]{0,20}\"",
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>()
            .prop_filter("toml float", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Replacing any value of a valid file with a bad one: parse never panics, and when it
    /// fails every message names a field.
    #[test]
    fn prop_config_with_a_bad_value_never_panics(line in 0usize..20, value in nasty_value()) {
        let lines: Vec<&str> = VALID.lines().collect();
        let mut text = String::new();
        for (i, l) in lines.iter().enumerate() {
            if i == line % lines.len() && l.contains(" = ") && !l.starts_with('[') {
                let key = l.split(" = ").next().unwrap();
                text.push_str(&format!("{key} = {value}\n"));
            } else {
                text.push_str(l);
                text.push('\n');
            }
        }
        if let Err(e) = Config::parse(&text, Path::new("."), &HashMap::new()) {
            prop_assert!(!e.problems.is_empty());
            for p in &e.problems {
                prop_assert!(!p.trim().is_empty());
            }
        }
    }

    /// `[strategy.pre_trade]`, its per-asset overrides and the two new breakers with any bad
    /// value in any slot: never a panic; refused naming the field (its full path); accepted
    /// only with positive limits and a collar in (0, 1).
    #[test]
    fn prop_pre_trade_section_with_a_bad_value_never_panics(slot in 0usize..14, value in nasty_value()) {
        let keys = [
            ("strategy.pre_trade", "max_order_quantity"),
            ("strategy.pre_trade", "max_order_notional"),
            ("strategy.pre_trade", "max_position"),
            ("strategy.pre_trade", "max_gross_exposure"),
            ("strategy.pre_trade", "price_collar"),
            ("strategy.pre_trade", "max_reference_age"),
            ("strategy.pre_trade", "max_open_orders"),
            ("strategy.pre_trade", "duplicate_order_id"),
            ("strategy.pre_trade", "duplicate_window"),
            ("strategy.pre_trade.assets.AAPL", "max_position"),
            ("strategy.pre_trade.assets.AAPL", "price_collar"),
            ("strategy.circuit_breakers.pre_trade", "max_denials"),
            ("strategy.circuit_breakers.pre_trade", "window"),
            ("strategy.circuit_breakers.host_silent", "timeout"),
        ];
        let (table, key) = keys[slot];
        let text = format!("[[strategy]]\nname = \"m\"\n[{table}]\n{key} = {value}\n");
        match Config::parse(&text, Path::new("."), &HashMap::new()) {
            Err(e) => {
                let path = table.replacen("strategy", "strategy[0]", 1);
                prop_assert!(
                    e.problems.iter().any(|p| p.contains(&format!("{path}.{key}")) || p.contains(&format!("({table}.{key})"))),
                    "{:?} for {table}.{key} = {value}", e.problems
                );
            }
            Ok(c) => {
                let l = &c.strategies[0].pre_trade;
                let limits = [l.per_order.max_order_quantity, l.per_order.max_order_notional, l.per_order.max_position, l.max_gross_exposure];
                for v in limits.into_iter().flatten() {
                    prop_assert!(v > rust_decimal::Decimal::ZERO);
                }
                if let Some(w) = l.duplicate_window {
                    prop_assert!(w >= chrono::Duration::seconds(1));
                }
                for a in l.assets.values().chain([&l.per_order]) {
                    if let Some(collar) = a.price_collar {
                        prop_assert!(collar > rust_decimal::Decimal::ZERO && collar < rust_decimal::Decimal::ONE);
                    }
                }
            }
        }
    }

    /// `/prices` and `/done` bodies with absurd values: refused or accepted, never a panic.
    #[test]
    fn prop_pre_trade_bodies_never_panic(value in nasty_value(), field in 0usize..3) {
        use rustybt::api_types::{OrderDoneRequest, PricesRequest, HeartbeatRequest};
        let bodies = [
            format!(r#"{{"timestamp":"2026-03-09T14:00:00Z","prices":[{{"asset":"SPY","price":{value}}}]}}"#),
            format!(r#"{{"status":{value}}}"#),
            format!(r#"{{"timestamp":{value}}}"#),
        ];
        let body = bodies[field].as_bytes();
        let parsed = match field {
            0 => rustybt::server::body::parse::<PricesRequest>(body, &["prices[].price"]).map(|_| ()),
            1 => rustybt::server::body::parse::<OrderDoneRequest>(body, &[]).map(|_| ()),
            _ => rustybt::server::body::parse::<HeartbeatRequest>(body, &[]).map(|_| ()),
        };
        if let Err(e) = parsed {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Arbitrary text as a configuration file: an error or a configuration, never a panic.
    #[test]
    fn prop_config_arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = Config::parse(&text, Path::new("."), &HashMap::new());
    }

    /// Host event bodies with absurd values: they decode and validate or are refused; never a
    /// panic, and a refusal names a field.
    #[test]
    fn prop_event_bodies_never_panic(value in nasty_value(), field in 0usize..4) {
        let bodies = [
            format!(r#"{{"timestamp":"2026-03-09T14:00:00Z","portfolio_value":{value}}}"#),
            format!(r#"{{"order_id":"o","asset":"SPY","side":"buy","quantity":{value}}}"#),
            format!(r#"{{"order_id":"o","asset":"SPY","side":"sell","quantity":"1","price":{value},"timestamp":"2026-03-09T14:00:00Z"}}"#),
            format!(r#"{{"kind":{value},"message":"m"}}"#),
        ];
        let body = &bodies[field];
        let refused = match field {
            0 => serde_json::from_str::<PortfolioSnapshot>(body).map_err(|e| e.to_string()).and_then(|s| s.validate().map_err(|e| e.to_string())),
            1 => serde_json::from_str::<OrderRequest>(body).map_err(|e| e.to_string()).and_then(|o| o.validate().map_err(|e| e.to_string())),
            2 => serde_json::from_str::<Fill>(body).map_err(|e| e.to_string()).and_then(|f| f.validate().map_err(|e| e.to_string())),
            _ => serde_json::from_str::<ErrorReport>(body).map(|_| ()).map_err(|e| e.to_string()),
        };
        if let Err(msg) = refused {
            prop_assert!(!msg.is_empty());
        }
    }
}

#[tokio::test]
async fn test_engine_when_fed_bad_events_then_refuses_each_and_state_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    let before = h.engine.status().await.unwrap();
    let t = h.now();
    // A value of zero or below is no bad input (the breakers judge it: see
    // engine_breakers.rs); what is wrong with a snapshot is.
    let position = |quantity, market_price| rustybt::Position {
        asset: "SPY".into(),
        quantity,
        market_price,
    };
    let bad_snapshots = [
        (
            PortfolioSnapshot::valued(t - Duration::seconds(1), dec!(50000)),
            "timestamp",
        ),
        (
            PortfolioSnapshot::valued(t - Duration::seconds(1), dec!(-100000)),
            "timestamp",
        ),
        (
            PortfolioSnapshot::valued(t, dec!(-100000))
                .with_positions(vec![position(dec!(1), dec!(-1))]),
            "positions.market_price",
        ),
        (
            PortfolioSnapshot::valued(t, rust_decimal::Decimal::MIN)
                .with_positions(vec![position(rust_decimal::Decimal::MAX, dec!(2))]),
            "positions.market_price",
        ),
    ];
    for (s, field) in bad_snapshots {
        let e = h.engine.submit_snapshot(s).await.unwrap_err();
        assert!(e.to_string().starts_with(field), "{e}");
    }
    for q in [dec!(0), dec!(-1)] {
        let e = h
            .engine
            .check_order(OrderRequest::market("o", "SPY", rustybt::Side::Buy, q))
            .unwrap_err();
        assert!(e.to_string().contains("quantity"), "{e}");
    }
    let e = h
        .engine
        .check_order(OrderRequest::market("", "SPY", rustybt::Side::Buy, dec!(1)))
        .unwrap_err();
    assert!(e.to_string().contains("order_id"), "{e}");
    let after = h.engine.status().await.unwrap();
    assert_eq!(after.state, EngineState::Normal);
    assert_eq!(after.portfolio.value, before.portfolio.value);
    assert_eq!(
        after.portfolio.high_water_mark,
        before.portfolio.high_water_mark
    );
    assert_eq!(
        after.orders_accepted + after.orders_rejected.values().sum::<u64>(),
        0,
        "refused input is not an order"
    );
    assert!(h.engine.audit().await.unwrap().is_empty());
}

/// Decimals at the edge of what a body can carry, as the API's JSON strings.
fn extreme_decimal() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(rust_decimal::Decimal::MAX.to_string()),
        Just(rust_decimal::Decimal::MIN.to_string()),
        Just("0.0000000000000000000000000001".to_string()),
        Just("9.999999999999999999999999999".to_string()),
        Just("7922816251426433759354395033".to_string()),
        (
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<bool>(),
            0u32..=28
        )
            .prop_map(|(lo, mid, hi, neg, scale)| {
                rust_decimal::Decimal::from_parts(lo, mid, hi, neg, scale).to_string()
            }),
    ]
}

/// One server for every case: the engine must survive each sequence and still answer.
fn extreme_server() -> &'static (String, tokio::runtime::Runtime) {
    static SERVER: std::sync::OnceLock<(String, tokio::runtime::Runtime)> =
        std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        let mut s = rustybt::StrategySettings::moderate("edge");
        s.tick_interval = None;
        let engines = rustybt::engine::EngineBuilder::new(s)
            .data_dir(dir.path())
            .start_all()
            .unwrap();
        let base = rt.block_on(async {
            let server = crate::support::serve(&engines, "edge-token");
            let base = format!("http://{}", server.addr);
            Box::leak(Box::new((server, engines)));
            base
        });
        (base, rt)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Extreme decimals through the HTTP API: every answer is a clear 2xx or 4xx, and status,
    /// health and metrics keep answering (an overflowing position once made them drop the
    /// connection while orders still passed).
    #[test]
    fn prop_http_when_decimals_extreme_then_answers_and_keeps_answering(
        values in proptest::collection::vec(extreme_decimal(), 1..4),
        quantity in extreme_decimal(),
        price in extreme_decimal(),
    ) {
        let (base, rt) = extreme_server();
        rt.block_on(async {
            let http = reqwest::Client::new();
            let url = |p: &str| format!("{base}/api/v1/strategies/edge{p}");
            for v in &values {
                let body = serde_json::json!({
                    "timestamp": chrono::Utc::now().to_rfc3339(),
                    "portfolio_value": v,
                    "positions": [{"asset": "X", "quantity": quantity, "market_price": price}],
                });
                let r = http.post(url("/portfolio")).bearer_auth("edge-token").json(&body).send().await.unwrap();
                let code = r.status().as_u16();
                let text = r.text().await.unwrap();
                assert!(code == 202 || code == 400 || code == 422, "{code} {text}");
                let order = serde_json::json!({"order_id": "o", "asset": "X", "side": "sell", "quantity": quantity, "limit_price": price});
                let r = http.post(url("/orders")).bearer_auth("edge-token").json(&order).send().await.unwrap();
                assert!(r.status().as_u16() < 500, "{}", r.status());
            }
            for path in ["/api/v1/strategies/edge", "/healthz", "/metrics", "/api/v1/strategies"] {
                let r = http.get(format!("{base}{path}")).bearer_auth("edge-token").send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200, "{path}");
            }
        });
    }
}

#[test]
fn test_http_when_extreme_values_sent_then_halt_still_answers() {
    let (base, rt) = extreme_server();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let body = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "portfolio_value": "0.0000000000000000000000000001",
        });
        http.post(format!("{base}/api/v1/strategies/edge/portfolio"))
            .bearer_auth("edge-token")
            .json(&body)
            .send()
            .await
            .unwrap();
        let body = serde_json::json!({
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "portfolio_value": rust_decimal::Decimal::MAX.to_string(),
        });
        http.post(format!("{base}/api/v1/strategies/edge/portfolio"))
            .bearer_auth("edge-token")
            .json(&body)
            .send()
            .await
            .unwrap();
        let r = http
            .post(format!("{base}/api/v1/strategies/edge/halt"))
            .bearer_auth("edge-token")
            .json(&serde_json::json!({"operator": "alice", "reason": "extreme values"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["state"], "MANUALLY_HALTED");
    });
}
