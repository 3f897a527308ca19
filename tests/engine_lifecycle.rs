//! Halts, resets, restarts and actor failures, through the actors on a real sled folder.

use crate::support::engine::*;
use chrono::Duration;
use rust_decimal_macros::dec;
use rustybt::{BreakerKind, EngineError, EngineState, OrderDecision, OrderRequest, Position, Side};
use rustybt_actors::state_machine::TransitionError;

#[tokio::test]
async fn test_manual_halt_when_requested_then_next_order_refused_and_cancel_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    assert!(h.order("o1").await.is_accepted());
    let record = h
        .engine
        .operator()
        .halt("alice", "fat finger")
        .await
        .unwrap();
    assert_eq!(record.state, EngineState::ManuallyHalted);
    match h.order("o2").await {
        OrderDecision::Rejected {
            state,
            breaker,
            reason,
            check: None,
            ..
        } => {
            assert_eq!(
                (state, breaker),
                (EngineState::ManuallyHalted, Some(BreakerKind::Manual))
            );
            assert!(reason.contains("fat finger"), "{reason}");
        }
        d => panic!("{d:?}"),
    }
    assert_eq!(
        h.cancels.try_recv().unwrap().state,
        EngineState::ManuallyHalted
    );
    let audit = h.engine.audit().await.unwrap();
    assert_eq!(audit[0].operator.as_deref(), Some("alice"));
    assert_eq!(audit[0].cause, "manual_halt");
}

#[tokio::test]
async fn test_halt_when_operator_or_reason_missing_then_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    let e = h.engine.operator().halt("", "why").await.unwrap_err();
    assert!(e.to_string().contains("operator"), "{e}");
    let e = h.engine.operator().halt("bob", " ").await.unwrap_err();
    assert!(e.to_string().contains("reason"), "{e}");
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Normal);
    assert!(h.engine.audit().await.unwrap().is_empty());
}

#[tokio::test]
async fn test_reset_needs_request_and_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    let e = h
        .engine
        .operator()
        .request_reset("bob", None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, EngineError::Transition(TransitionError::NothingToReset)),
        "{e}"
    );
    h.engine.operator().halt("alice", "drill").await.unwrap();
    let ticket = h
        .engine
        .operator()
        .request_reset("bob", Some("drill over"))
        .await
        .unwrap();
    assert_eq!(ticket.state, EngineState::Resetting);
    assert!(
        !h.order("during").await.is_accepted(),
        "no order passes while RESETTING"
    );
    let e = h
        .engine
        .operator()
        .confirm_reset("bob", "not-the-token", false)
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        EngineError::Transition(TransitionError::WrongToken)
    ));
    assert_eq!(
        h.engine.status().await.unwrap().state,
        EngineState::Resetting,
        "a wrong token leaves it pending"
    );
    let rec = h
        .engine
        .operator()
        .confirm_reset("carol", &ticket.confirmation_token, false)
        .await
        .unwrap();
    assert_eq!(rec.state, EngineState::Normal);
    assert!(h.order("after").await.is_accepted());
    let causes = h.causes().await;
    assert_eq!(
        causes,
        ["manual_halt", "reset_requested", "reset_confirmed"]
    );
}

#[tokio::test]
async fn test_reset_when_confirmation_expires_then_back_to_tripped() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    h.value(Duration::seconds(1), dec!(80000)).await;
    let ticket = h
        .engine
        .operator()
        .request_reset("bob", None)
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(301));
    let e = h
        .engine
        .operator()
        .confirm_reset("bob", &ticket.confirmation_token, false)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            EngineError::Transition(TransitionError::ResetExpired { .. })
        ),
        "{e}"
    );
    assert_eq!(h.engine.status().await.unwrap().state, EngineState::Tripped);
    assert_eq!(
        h.engine.audit().await.unwrap().last().unwrap().cause,
        "reset_expired"
    );
}

#[tokio::test]
async fn test_reset_when_condition_still_holds_then_trips_again_unless_rebased() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.breakers.daily_loss = None; // a 15% fall also breaches the daily loss limit, which no rebase clears
    let h = start(dir.path(), s, monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    h.value(Duration::seconds(1), dec!(85000)).await;
    let t = h
        .engine
        .operator()
        .request_reset("bob", None)
        .await
        .unwrap();
    let rec = h
        .engine
        .operator()
        .confirm_reset("bob", &t.confirmation_token, false)
        .await
        .unwrap();
    assert_eq!(
        rec.state,
        EngineState::Tripped,
        "the drawdown still holds: it trips again at once"
    );
    assert!(!h.order("o").await.is_accepted());
    let t = h
        .engine
        .operator()
        .request_reset("bob", None)
        .await
        .unwrap();
    let rec = h
        .engine
        .operator()
        .confirm_reset("bob", &t.confirmation_token, true)
        .await
        .unwrap();
    assert_eq!(
        rec.state,
        EngineState::Normal,
        "rebasing the high-water mark clears it"
    );
    let st = h.engine.status().await.unwrap();
    assert_eq!(st.portfolio.high_water_mark, Some(dec!(85000)));
    assert!(h.order("o2").await.is_accepted());
}

#[tokio::test]
async fn test_restart_when_tripped_then_resumes_tripped_with_high_water_mark() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = start(dir.path(), settings(), monday_morning());
        h.value(Duration::seconds(1), dec!(120000)).await;
        h.value(Duration::seconds(1), dec!(100000)).await;
        assert_eq!(h.engine.status().await.unwrap().state, EngineState::Tripped);
        // No graceful shutdown: drop everything as a crash would (the trip was flushed before
        // the state read TRIPPED).
        drop(h);
    }
    let h = start(
        dir.path(),
        settings(),
        monday_morning() + Duration::minutes(1),
    );
    let st = h.engine.status().await.unwrap();
    assert_eq!(
        st.state,
        EngineState::Tripped,
        "a crash while TRIPPED comes back TRIPPED"
    );
    assert!(st.reason.unwrap().contains("drawdown"));
    h.value(Duration::seconds(1), dec!(110000)).await;
    assert_eq!(
        h.engine.status().await.unwrap().portfolio.high_water_mark,
        Some(dec!(120000)),
        "high-water mark restored"
    );
    assert!(!h.order("o").await.is_accepted());
    let causes = h.causes().await;
    // The second breaker's trip while TRIPPED is on record, and so is its re-trip after the
    // restart: its condition still held when the restarted rule judged the next snapshot.
    assert_eq!(
        causes,
        ["trip:drawdown", "trip:daily_loss", "trip:daily_loss"]
    );
}

#[tokio::test]
async fn test_restart_when_checkpoint_corrupt_then_starts_manually_halted_with_reason() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = rustybt_actors::checkpoint::CheckpointStore::open(dir.path()).unwrap();
        store
            .strategy("momentum")
            .unwrap()
            .corrupt_state_for_test()
            .unwrap();
    }
    let h = start(dir.path(), settings(), monday_morning());
    let st = h.engine.status().await.unwrap();
    assert_eq!(st.state, EngineState::ManuallyHalted);
    let reason = st.reason.unwrap();
    assert!(
        reason.contains("checkpoint unreadable") && reason.contains("corrupt"),
        "{reason}"
    );
    h.value(Duration::seconds(1), dec!(100)).await;
    assert!(!h.order("o").await.is_accepted());
}

#[tokio::test]
async fn test_restart_when_data_dir_unusable_then_halted_and_reset_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let h = start(&file, settings(), monday_morning());
    let st = h.engine.status().await.unwrap();
    assert_eq!(st.state, EngineState::ManuallyHalted);
    assert!(st.checkpoint_error.is_some());
    let e = h
        .engine
        .operator()
        .request_reset("bob", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("checkpoint unavailable"), "{e}");
}

#[tokio::test]
async fn test_breaker_panic_when_injected_then_restarted_and_no_order_passes_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.breakers.daily_loss = None;
    let h = start(dir.path(), s, monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    assert!(h.order("before").await.is_accepted());
    h.engine.inject_panic("drawdown_breaker").await;
    match h.order("while-down").await {
        OrderDecision::Rejected { breaker, .. } => assert_eq!(breaker, Some(BreakerKind::Drawdown)),
        d => panic!("an order passed while the drawdown breaker was down: {d:?}"),
    }
    // The restarted breaker has its high-water mark back and is ready after its next input.
    h.value(Duration::seconds(1), dec!(95000)).await;
    assert!(h.order("after").await.is_accepted());
    h.value(Duration::seconds(1), dec!(90000)).await;
    assert_eq!(
        h.engine.status().await.unwrap().state,
        EngineState::Tripped,
        "HWM 100000 survived the restart"
    );
}

#[tokio::test]
async fn test_each_actor_when_panicking_then_restarted_and_engine_keeps_working() {
    for actor in [
        "daily_loss_breaker",
        "error_rate_breaker",
        "stale_feed_breaker",
        "ledger_feed",
        "order_gate",
        "alert_dispatcher",
        "manual_breaker",
        "supervisor",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let h = start(dir.path(), settings(), monday_morning());
        h.value(Duration::seconds(1), dec!(100000)).await;
        assert!(h.engine.inject_panic(actor).await, "{actor} exists");
        let d = h.order("while-down").await;
        // A breaker that needs input stays closed until its next snapshot; the others are back
        // at once.
        if actor == "daily_loss_breaker" {
            assert!(
                !d.is_accepted(),
                "{actor}: an order passed while it was down"
            );
        }
        h.value(Duration::seconds(1), dec!(100001)).await;
        // The restart runs on the actor's own arbiter: wait for it (with a deadline) rather
        // than race it on a busy machine.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while h.engine.actor_health().iter().any(|a| !a.ready)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let after = h.order("after").await;
        assert!(
            after.is_accepted(),
            "{actor}: engine works after the restart: {after:?}"
        );
        if actor == "manual_breaker" {
            let rec = h
                .engine
                .operator()
                .halt("alice", "after the restart")
                .await
                .unwrap();
            assert_eq!(
                rec.state,
                EngineState::ManuallyHalted,
                "the restarted manual breaker halts"
            );
        }
        // Every panic and restart is on record with the actor's name.
        let causes = h.causes().await;
        for event in ["panicked", "restarted"] {
            assert!(
                causes.contains(&format!("actor_{event}:{actor}")),
                "{actor}: {event} recorded in {causes:?}"
            );
        }
        let health = h.engine.actor_health();
        let me = health
            .iter()
            .find(|a| a.actor.to_string() == actor)
            .unwrap();
        assert_eq!((me.ready, me.restarts), (true, 1), "{actor}: {health:?}");
        if actor == "order_gate" {
            for i in 0..100 {
                h.order(&format!("burst{i}")).await;
            }
            assert_eq!(
                h.engine.status().await.unwrap().state,
                EngineState::Tripped,
                "the restarted breaker still counts"
            );
        }
    }
}

#[tokio::test]
async fn test_reduce_only_when_tripped_then_only_shrinking_orders_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings();
    s.reduce_only_when_tripped = true;
    let h = start(dir.path(), s, monday_morning());
    let snap = |v, at| rustybt::PortfolioSnapshot {
        timestamp: at,
        portfolio_value: v,
        cash: None,
        positions: Some(vec![Position {
            asset: "SPY".into(),
            quantity: dec!(10),
            market_price: dec!(100),
        }]),
    };
    h.clock.advance(Duration::seconds(1));
    h.engine
        .submit_snapshot(snap(dec!(100000), h.now()))
        .await
        .unwrap();
    h.clock.advance(Duration::seconds(1));
    h.engine
        .submit_snapshot(snap(dec!(80000), h.now()))
        .await
        .unwrap();
    let check = |side, qty| {
        h.engine
            .check_order(OrderRequest::market("x", "SPY", side, qty))
    };
    assert!(
        check(Side::Sell, dec!(10)).unwrap().is_accepted(),
        "selling the long down passes"
    );
    assert!(
        !check(Side::Sell, dec!(11)).unwrap().is_accepted(),
        "crossing to short does not"
    );
    assert!(
        !check(Side::Buy, dec!(1)).unwrap().is_accepted(),
        "adding does not"
    );
    h.engine
        .operator()
        .halt("alice", "stop everything")
        .await
        .unwrap();
    assert!(
        !check(Side::Sell, dec!(1)).unwrap().is_accepted(),
        "never while MANUALLY_HALTED"
    );
}

#[tokio::test]
async fn test_engine_when_supervisor_gone_then_orders_refused_and_halt_written_directly() {
    let dir = tempfile::tempdir().unwrap();
    {
        let h = start(dir.path(), settings(), monday_morning());
        h.value(Duration::seconds(1), dec!(100000)).await;
        assert!(h.order("before").await.is_accepted());
        let handle = h.engine.handle();
        // Every actor stops for good, the Supervisor with them; the host's handle lives on.
        h.engine.shutdown().await.unwrap();
        let d = handle
            .check_order(OrderRequest::market("after", "SPY", Side::Buy, dec!(1)))
            .unwrap();
        let OrderDecision::Rejected { reason, .. } = d else {
            panic!("an order passed with the Supervisor gone");
        };
        assert!(reason.contains("supervisor is gone"), "{reason}");
        assert!(!handle.trading_allowed());
        let rec = handle
            .operator()
            .halt("alice", "engine down, stop everything")
            .await
            .unwrap();
        assert_eq!(rec.state, EngineState::ManuallyHalted);
    }
    // The halt was durable: a restart comes back halted, with the halt on record.
    let h = start(
        dir.path(),
        settings(),
        monday_morning() + Duration::minutes(1),
    );
    let st = h.engine.status().await.unwrap();
    assert_eq!(st.state, EngineState::ManuallyHalted);
    let last = h.engine.audit().await.unwrap().pop().unwrap();
    assert_eq!(last.cause, "manual_halt");
    assert_eq!(last.operator.as_deref(), Some("alice"));
}

#[tokio::test]
async fn test_restart_when_checkpoint_holds_an_impossible_state_then_manually_halted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = rustybt_actors::checkpoint::CheckpointStore::open(dir.path()).unwrap();
        let record = rustybt_actors::state_machine::StateRecord {
            state: EngineState::Resetting,
            since: monday_morning(),
            reason: None,
            tripped: vec![(BreakerKind::Drawdown, monday_morning())],
            pending_reset: None,
            firm_hold: None,
        };
        let cp = store.strategy("momentum").unwrap();
        cp.commit(&record, &[]).await.unwrap();
    }
    let h = start(dir.path(), settings(), monday_morning());
    let st = h.engine.status().await.unwrap();
    assert_eq!(st.state, EngineState::ManuallyHalted);
    let reason = st.reason.unwrap();
    assert!(
        reason.contains("RESETTING with no pending reset"),
        "{reason}"
    );
    h.value(Duration::seconds(1), dec!(100)).await;
    assert!(!h.order("o").await.is_accepted());
}

#[tokio::test]
async fn test_supervisor_when_panicking_while_tripped_then_resumes_tripped_from_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    h.value(Duration::seconds(1), dec!(89000)).await;
    assert!(h.engine.inject_panic("supervisor").await);
    h.value(Duration::seconds(1), dec!(89500)).await;
    assert!(!h.order("o").await.is_accepted());
    let st = h.engine.status().await.unwrap();
    assert_eq!(st.state, EngineState::Tripped);
    let causes = h.causes().await;
    assert_eq!(
        causes,
        [
            "trip:drawdown",
            "trip:daily_loss",
            "actor_panicked:supervisor",
            "actor_restarted:supervisor",
            "actor_ready:supervisor"
        ]
    );
}

/// MiFID II RTS 6 asks for a record of every control event: the audit trail holds the second
/// breaker's trip while TRIPPED, the reset's request and confirmation, the re-trip right after
/// it, and a second halt with its own reason.
#[tokio::test]
async fn test_audit_when_trips_resets_and_halts_then_every_control_event_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let h = start(dir.path(), settings(), monday_morning());
    h.value(Duration::seconds(1), dec!(100000)).await;
    h.value(Duration::seconds(1), dec!(89000)).await;
    let op = h.engine.operator();
    let ticket = op.request_reset("bob", Some("reviewed")).await.unwrap();
    op.confirm_reset("carol", &ticket.confirmation_token, false)
        .await
        .unwrap();
    op.halt("alice", "first stop").await.unwrap();
    op.halt("dave", "second stop").await.unwrap();
    let audit = h.engine.audit().await.unwrap();
    let causes = h.causes().await;
    assert_eq!(
        causes,
        [
            "trip:drawdown",
            "trip:daily_loss",
            "reset_requested",
            "reset_confirmed",
            "trip:drawdown",
            "trip:daily_loss",
            "manual_halt",
            "manual_halt",
        ]
    );
    let second = audit.last().unwrap();
    assert_eq!(second.operator.as_deref(), Some("dave"));
    assert_eq!(second.details["reason"], "second stop");
    assert_eq!(
        (second.from, second.to),
        (EngineState::ManuallyHalted, EngineState::ManuallyHalted)
    );
}
