//! The checkpoint against real sled folders.

use super::*;
use crate::breakers::DrawdownState;
use crate::state_machine::{StateMachine, Trigger};
use rust_decimal_macros::dec;

#[test]
fn test_open_when_folder_held_by_an_open_store_then_error_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let _held = CheckpointStore::open(dir.path()).unwrap();
    let e = CheckpointStore::open_waiting(dir.path(), std::time::Duration::from_millis(50))
        .err()
        .expect("the folder is held");
    assert!(e.to_string().contains("another process holds it"), "{e}");
}

#[tokio::test]
async fn test_open_orders_when_staged_then_removed_then_read_back() {
    let store = CheckpointStore::temporary().unwrap();
    let cp = store.strategy("s").unwrap();
    let since = Utc::now();
    let open = |id: &str| OpenOrder {
        order_id: Arc::from(id),
        asset: Arc::from("AAPL"),
        side: crate::domain::Side::Buy,
        quantity: dec!(10),
        filled: dec!(4),
        limit_price: Some(dec!(170.5)),
        since,
        expires_at: Some(since + chrono::Duration::hours(2)),
    };
    cp.stage_open_orders(vec![
        (Arc::from("o1"), Some(open("o1"))),
        (Arc::from("o2#1"), Some(open("o2"))),
    ]);
    store.flush().await.unwrap();
    let read = cp.load_open_orders().unwrap();
    assert_eq!(read.len(), 2);
    assert_eq!((&*read[1].0, &read[1].1), ("o2#1", &open("o2")));
    cp.stage_open_orders(vec![(Arc::from("o1"), None)]);
    store.flush().await.unwrap();
    let read = cp.load_open_orders().unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(&*read[0].0, "o2#1");
}

#[test]
fn test_open_orders_when_record_corrupt_then_error_names_it() {
    let store = CheckpointStore::temporary().unwrap();
    let cp = store.strategy("s").unwrap();
    cp.tree
        .insert(b"open_order/o1", b"{not json".to_vec())
        .unwrap();
    let e = cp.load_open_orders().unwrap_err();
    assert!(e.to_string().contains("open_order/o1"), "{e}");
}

#[tokio::test]
async fn test_last_stop_when_fresh_then_clean_when_not_recorded_then_unclean_until_recorded() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(
            store.last_stop(),
            LastStop::Clean,
            "a new folder starts clean"
        );
    }
    // Dropped without recording a stop: a crash.
    {
        let store = CheckpointStore::open(dir.path()).unwrap();
        assert_eq!(store.last_stop(), LastStop::Unclean);
        store.record_clean_stop().await.unwrap();
    }
    let store = CheckpointStore::open(dir.path()).unwrap();
    assert_eq!(store.last_stop(), LastStop::Clean);
    drop(store);
    let store = CheckpointStore::open(dir.path()).unwrap();
    assert_eq!(
        store.last_stop(),
        LastStop::Unclean,
        "this run did not record its stop"
    );
}

#[tokio::test]
async fn test_commit_then_reopen_reads_state_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    {
        let store = CheckpointStore::open(dir.path()).unwrap();
        let cp = store.strategy("s").unwrap();
        let mut m = StateMachine::new(now);
        let t = m
            .apply(
                Trigger::Halt {
                    operator: "op".into(),
                    reason: "why".into(),
                },
                now,
            )
            .records;
        cp.commit(m.record(), &t).await.unwrap();
        cp.stage_breaker(
            BreakerKind::Drawdown,
            &DrawdownState {
                high_water_mark: dec!(1),
            },
        );
        cp.stage_breaker(
            BreakerKind::Drawdown,
            &DrawdownState {
                high_water_mark: dec!(2),
            },
        );
        store.flush().await.unwrap();
    }
    // Dropping the last handle joined the writer: the folder opens again at once.
    let store = CheckpointStore::open(dir.path()).unwrap();
    let cp = store.strategy("s").unwrap();
    let rec = cp.load_state().unwrap().unwrap();
    assert_eq!(rec.state, crate::state_machine::EngineState::ManuallyHalted);
    let audit = cp.audit().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].operator.as_deref(), Some("op"));
    let dd: DrawdownState = cp.load_breaker(BreakerKind::Drawdown).unwrap().unwrap();
    assert_eq!(
        dd.high_water_mark,
        dec!(2),
        "staged values coalesce to the newest"
    );
}

#[tokio::test]
async fn test_load_state_when_corrupt_then_error_names_key() {
    let store = CheckpointStore::temporary().unwrap();
    let cp = store.strategy("s").unwrap();
    cp.corrupt_state_for_test().unwrap();
    let err = cp.load_state().unwrap_err();
    assert!(err.to_string().contains("state"), "{err}");
}
