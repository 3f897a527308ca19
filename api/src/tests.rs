//! Encoding tests of the shared types against the engine's own.

use crate::*;
use chrono::{DateTime, Utc};
use rustybt_actors::alerts::DeliveryRecord;
use rustybt_actors::breaker::BreakerKind;
use rustybt_actors::decision::{OrderDecision, OrderRecord};
use rustybt_actors::domain::{ErrorKind, Fill};
use rustybt_actors::engine::{
    BreakerCondition, BreakerStatus, EngineStatus, LoggedError, PendingResetStatus,
    PortfolioStatus, PositionStatus, PreTradeStatus,
};
use rustybt_actors::pretrade::{OpenOrder, PreTradeCheck};
use rustybt_actors::state_machine::{EngineState, StateRecord};
use rustybt_actors::supervision::{ActorHealth, ActorName};

use rust_decimal_macros::dec;
use rustybt_actors::actors::alert_dispatcher::DeliveryView;
use rustybt_actors::alerts::delivery_log::DeliveryStatus;
use rustybt_actors::domain::{ErrorReport, OrderRequest, Side};
use serde_json::{json, Value};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Every optional field set, so that nothing is skipped and every field is compared.
fn full_status() -> EngineStatus {
    EngineStatus {
        name: "momentum".into(),
        state: EngineState::Resetting,
        since: at("2026-03-02T15:04:05Z"),
        reason: Some("drill".into()),
        checkpoint_error: Some("disk full".into()),
        pending_reset: Some(PendingResetStatus {
            operator: "alice".into(),
            expires_at: at("2026-03-02T15:09:05Z"),
        }),
        breakers: vec![BreakerStatus {
            kind: BreakerKind::Drawdown,
            status: BreakerCondition::Tripped,
            enabled: true,
            ready: true,
            value: Some(dec!(-0.1042)),
            limit: Some(dec!(-0.10)),
            tripped_at: Some(at("2026-03-02T15:00:00Z")),
            details: [("high_water_mark".to_string(), "100000.00".to_string())].into(),
        }],
        actors: vec![ActorHealth {
            actor: ActorName::OrderGate,
            ready: true,
            restarts: 2,
        }],
        portfolio: full_portfolio(),
        recent_orders: full_orders(),
        recent_fills: vec![Fill {
            order_id: "o-0".into(),
            asset: "AAPL".into(),
            side: Side::Buy,
            quantity: dec!(1),
            price: dec!(170.1),
            timestamp: at("2026-03-02T14:59:00Z"),
        }],
        recent_errors: vec![LoggedError {
            received_at: at("2026-03-02T15:02:00Z"),
            report: ErrorReport {
                kind: ErrorKind::BrokerError,
                message: "timeout".into(),
                order_id: Some("o-1".into()),
                timestamp: Some(at("2026-03-02T15:01:59Z")),
            },
        }],
        error_totals: [("broker_error".to_string(), 1)].into(),
        orders_accepted: 3,
        orders_rejected: [("drawdown".to_string(), 1)].into(),
        open_orders: vec![OpenOrder {
            order_id: "o-2".into(),
            asset: "AAPL".into(),
            side: Side::Buy,
            quantity: dec!(5),
            filled: dec!(2),
            limit_price: Some(dec!(170)),
            since: at("2026-03-02T15:01:30Z"),
            expires_at: Some(at("2026-03-02T21:00:00Z")),
        }],
        pre_trade: full_pre_trade(),
        alerts: full_alerts(),
    }
}

fn full_orders() -> Vec<OrderRecord> {
    vec![OrderRecord {
        at: at("2026-03-02T15:01:00Z"),
        order: OrderRequest {
            order_id: "o-1".into(),
            asset: "AAPL".into(),
            side: Side::Sell,
            quantity: dec!(10),
            limit_price: Some(dec!(170)),
            timestamp: Some(at("2026-03-02T15:00:59Z")),
            time_in_force: Default::default(),
        },
        decision: OrderDecision::Rejected {
            reason: "tripped".into(),
            state: EngineState::Tripped,
            breaker: Some(BreakerKind::Drawdown),
            check: None,
            limit: None,
            value: None,
        },
    }]
}

fn full_portfolio() -> PortfolioStatus {
    PortfolioStatus {
        value: Some(dec!(89580.00)),
        cash: Some(dec!(1000.5)),
        high_water_mark: Some(dec!(100000.00)),
        drawdown: Some(dec!(-0.1042)),
        daily_pnl: Some(dec!(-10420.00)),
        positions: vec![PositionStatus {
            asset: "AAPL".into(),
            quantity: dec!(-10),
            market_price: dec!(170.25),
            market_value: Some(dec!(-1702.50)),
        }],
        as_of: Some(at("2026-03-02T15:04:00Z")),
        gross_exposure: Some(dec!(1702.50)),
        history: vec![(at("2026-03-02T15:04:00Z"), dec!(89580.00))],
        snapshots_accepted: 7,
        snapshots_refused: 1,
        last_refusal: Some("positions.market_price: -1 must not be negative".into()),
    }
}

fn full_pre_trade() -> PreTradeStatus {
    PreTradeStatus {
        configured: true,
        denials: PreTradeCheck::ALL.iter().map(|c| (*c, 1)).collect(),
        last_denial: Some(rustybt_actors::engine::LastDenial {
            at: at("2026-03-02T15:01:40Z"),
            order_id: "o-3".into(),
            check: PreTradeCheck::MaxOrderNotional,
            limit: Some(dec!(50000)),
            value: Some(dec!(62000.00)),
            reason: "order notional 62000.00 > max 50000 (AAPL)".into(),
        }),
        references: vec![(
            "AAPL".into(),
            rustybt_actors::pretrade::ReferencePrice {
                price: dec!(170.25),
                at: at("2026-03-02T15:04:00Z"),
            },
        )],
    }
}

fn full_alerts() -> DeliveryView {
    DeliveryView {
        recent: vec![DeliveryRecord {
            alert_id: "msg_1".into(),
            event_type: "circuit_breaker_tripped".into(),
            breaker: "drawdown".into(),
            channel: "webhook".into(),
            status: DeliveryStatus::Sent,
            attempts: 1,
            latency_ms: 12,
            error: None,
            at: at("2026-03-02T15:00:01Z"),
        }],
        counts: [("webhook".to_string(), [("sent".to_string(), 1)].into())].into(),
        dropped: 0,
        in_flight: 1,
        channels: vec!["webhook".into()],
    }
}

#[test]
fn test_encode_when_status_mirrored_then_same_json_as_the_engine() {
    let engine = full_status();
    let expected = serde_json::to_value(&engine).unwrap();
    let mirrored = StrategyStatus::from(engine);
    assert_eq!(serde_json::to_value(&mirrored).unwrap(), expected);
    let back: StrategyStatus = serde_json::from_value(expected).unwrap();
    assert_eq!(back, mirrored);
}

#[test]
fn test_encode_when_optional_figures_absent_then_same_json_as_the_engine() {
    let mut engine = full_status();
    engine.reason = None;
    engine.checkpoint_error = None;
    engine.pending_reset = None;
    engine.breakers[0].value = None;
    engine.breakers[0].limit = None;
    engine.breakers[0].tripped_at = None;
    engine.portfolio.value = None;
    engine.portfolio.last_refusal = None;
    engine.recent_errors[0].report.order_id = None;
    let expected = serde_json::to_value(&engine).unwrap();
    let mirrored = StrategyStatus::from(engine);
    assert_eq!(serde_json::to_value(&mirrored).unwrap(), expected);
    let back: StrategyStatus = serde_json::from_value(expected).unwrap();
    assert_eq!(back, mirrored);
}

#[test]
fn test_encode_when_order_answered_then_api_shapes() {
    assert_eq!(
        serde_json::to_value(OrderAnswer::from(OrderDecision::Accepted)).unwrap(),
        json!({"decision": "accepted"})
    );
    let rejected = OrderAnswer::from(OrderDecision::Rejected {
        reason: "halted".into(),
        state: EngineState::ManuallyHalted,
        breaker: None,
        check: None,
        limit: None,
        value: None,
    });
    assert_eq!(
        serde_json::to_value(&rejected).unwrap(),
        json!({"decision": "rejected", "reason": "halted", "state": "MANUALLY_HALTED", "breaker": null})
    );
    let denied = OrderAnswer::from(OrderDecision::Rejected {
        reason: "order notional 62000.00 > max 50000 (AAPL)".into(),
        state: EngineState::Normal,
        breaker: None,
        check: Some(PreTradeCheck::MaxOrderNotional),
        limit: Some(dec!(50000)),
        value: Some(dec!(62000.00)),
    });
    assert_eq!(
        serde_json::to_value(&denied).unwrap(),
        json!({"decision": "rejected", "state": "NORMAL", "check": "max_order_notional",
                   "limit": "50000", "value": "62000.00", "breaker": null,
                   "reason": "order notional 62000.00 > max 50000 (AAPL)"})
    );
    assert_eq!(
        serde_json::to_value(Accepted::ANSWER).unwrap(),
        json!({"status": "accepted"})
    );
}

#[test]
fn test_encode_when_halted_twice_then_status_with_flag() {
    let answer = HaltAnswer {
        after: HaltedState::Status(Box::new(full_status().into())),
        already_halted: true,
    };
    let mut expected = serde_json::to_value(full_status()).unwrap();
    expected["already_halted"] = Value::Bool(true);
    assert_eq!(serde_json::to_value(&answer).unwrap(), expected);
    let back: HaltAnswer = serde_json::from_value(expected).unwrap();
    assert_eq!(back, answer);
}

#[test]
fn test_decode_when_halt_answered_with_the_record_then_record() {
    let record = StateRecord {
        state: EngineState::ManuallyHalted,
        since: at("2026-03-02T15:04:05Z"),
        reason: Some("drill".into()),
        tripped: vec![],
        pending_reset: None,
        firm_hold: None,
    };
    let answer = HaltAnswer {
        after: HaltedState::Record(Box::new(record.clone())),
        already_halted: false,
    };
    let mut expected = serde_json::to_value(&record).unwrap();
    expected["already_halted"] = Value::Bool(false);
    assert_eq!(serde_json::to_value(&answer).unwrap(), expected);
    let back: HaltAnswer = serde_json::from_value(expected).unwrap();
    assert_eq!(back, answer);
    assert_eq!(back.after.reason(), Some("drill"));
}

#[test]
fn test_decode_when_event_data_then_tag_names_it() {
    let tag: EventTag = serde_json::from_str(r#"{"event":"manual_halt","strategy":"s"}"#).unwrap();
    assert_eq!(tag.event, "manual_halt");
}
