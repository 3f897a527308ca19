//! The bus layer against real `nats-server` processes on loopback: compare-and-set on the
//! firm's control record, its watch, host records, acknowledgements, telemetry and bus health,
//! on one node and on a three-node JetStream cluster with the bucket at three replicas.

use crate::support::nats::NatsCluster;
use futures::StreamExt;
use rust_decimal_macros::dec;
use rustybt::cluster::{BusConfig, FirmBus, HostRecord, HostStrategy, TelemetryRecord};
use rustybt_actors::breaker::{BreakerKind, Trip};
use rustybt_actors::clock::{SharedClock, SystemClock};
use rustybt_actors::firm::{FirmChange, FirmControl, FirmTrigger, FirmTrip};
use rustybt_actors::state_machine::EngineState;
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn clock() -> SharedClock {
    Arc::new(SystemClock::new())
}

async fn join(urls: &str, host: &str) -> FirmBus {
    FirmBus::connect(BusConfig::new(urls, "acme", host), clock())
        .await
        .expect("the bus is reachable")
}

fn drawdown_trip(host: &str) -> FirmTrigger {
    FirmTrigger::Trip(FirmTrip {
        trip: Trip {
            breaker: BreakerKind::Drawdown,
            at: chrono::Utc::now(),
            value: dec!(-0.09),
            limit: dec!(-0.08),
            details: Default::default(),
            summary: "drawdown -9% <= -8%".into(),
        },
        host_id: host.into(),
    })
}

fn halt(desk: &str) -> FirmTrigger {
    FirmTrigger::Halt {
        operator: "alice".into(),
        reason: "drill".into(),
        host_id: "host-a".into(),
        desk: Some(desk.into()),
    }
}

/// Waits with a deadline for `cond` over the watch's records.
async fn next_matching(
    watch: &mut (impl futures::Stream<Item = Result<(FirmControl, u64), rustybt::cluster::BusError>>
              + Unpin),
    cond: impl Fn(&FirmControl) -> bool,
) -> FirmControl {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (record, _) = watch
                .next()
                .await
                .expect("the watch goes on")
                .expect("readable record");
            if cond(&record) {
                return record;
            }
        }
    })
    .await
    .expect("the change arrives within 10 s")
}

#[test]
fn test_update_control_when_hosts_race_on_three_nodes_then_every_change_kept_and_trip_once() {
    let cluster = NatsCluster::three();
    runtime().block_on(async {
        let hosts = [
            join(&cluster.url(0), "host-a").await,
            join(&cluster.url(1), "host-b").await,
            join(&cluster.url(2), "host-c").await,
        ];
        let now = chrono::Utc::now();
        // Every host halts ten desks of its own and tries to write the same firm trip.
        let writers = hosts.iter().map(|bus| {
            let bus = bus.clone();
            tokio::spawn(async move {
                let mut trips_written = 0;
                for i in 0..10 {
                    let desk = format!("{}-{i}", bus.host_id());
                    bus.update_control(|c| c.apply(halt(&desk), now))
                        .await
                        .expect("bus")
                        .expect("accepted");
                    let (change, _, _) = bus
                        .update_control(|c| c.apply(drawdown_trip(bus.host_id()), now))
                        .await
                        .expect("bus")
                        .expect("accepted");
                    if change == FirmChange::Changed {
                        trips_written += 1;
                    }
                }
                trips_written
            })
        });
        let written: Vec<usize> = futures::future::join_all(writers)
            .await
            .into_iter()
            .map(|r| r.expect("writer ran"))
            .collect();
        assert_eq!(
            written.iter().sum::<usize>(),
            1,
            "the firm trip is written once"
        );
        let (control, revision) = hosts[0].read_control().await.expect("readable");
        assert_eq!(control.desk_halts.len(), 30, "no host's change lost");
        assert_eq!(control.trips.len(), 1);
        assert_eq!(control.state(), EngineState::Tripped);
        assert_eq!(control.generation, 31);
        assert!(revision > 0);
    });
}

#[test]
fn test_watch_control_when_changed_through_another_node_then_seen_with_record_in_force_first() {
    let cluster = NatsCluster::three();
    runtime().block_on(async {
        let writer = join(&cluster.url(0), "host-a").await;
        let reader = join(&cluster.url(2), "host-c").await;
        writer
            .update_control(|c| c.apply(halt("rates"), chrono::Utc::now()))
            .await
            .expect("bus")
            .expect("accepted");
        let mut watch = Box::pin(reader.watch_control().await.expect("watch"));
        let first = next_matching(&mut watch, |_| true).await;
        assert!(
            first.desk_halts.contains_key("rates"),
            "the record in force comes first"
        );
        writer
            .update_control(|c| {
                c.apply(
                    FirmTrigger::Halt {
                        operator: "alice".into(),
                        reason: "firm drill".into(),
                        host_id: "host-a".into(),
                        desk: None,
                    },
                    chrono::Utc::now(),
                )
            })
            .await
            .expect("bus")
            .expect("accepted");
        let seen = next_matching(&mut watch, |c| c.halt.is_some()).await;
        assert_eq!(seen.state(), EngineState::ManuallyHalted);
    });
}

#[test]
fn test_host_records_acks_and_telemetry_when_published_then_read_back_by_every_host() {
    let cluster = NatsCluster::single();
    runtime().block_on(async {
        let a = join(&cluster.urls(), "host-a").await;
        let b = join(&cluster.urls(), "host-b").await;
        for bus in [&a, &b] {
            let record = HostRecord {
                host_id: bus.host_id().into(),
                last_seen: chrono::Utc::now(),
                applied_generation: 3,
                strategies: vec![HostStrategy {
                    name: "momentum".into(),
                    desk: Some("equities".into()),
                    state: EngineState::Normal,
                    portfolio_value: Some(dec!(100000.50)),
                    daily_pnl: Some(dec!(-12.25)),
                    orders_submitted: 7,
                }],
            };
            bus.publish_host(&record).await.expect("published");
            bus.acknowledge(3).await.expect("acknowledged");
            bus.publish_telemetry(&TelemetryRecord {
                host_id: bus.host_id().into(),
                at: chrono::Utc::now(),
                kind: "state_changed".into(),
                details: serde_json::json!({"to": "NORMAL"}),
            })
            .await
            .expect("stored on the stream");
        }
        let hosts = a.hosts().await.expect("hosts");
        assert_eq!(hosts.keys().collect::<Vec<_>>(), ["host-a", "host-b"]);
        assert_eq!(
            hosts["host-b"].strategies[0].portfolio_value,
            Some(dec!(100000.50))
        );
        let acks = b.acknowledgements().await.expect("acks");
        assert_eq!(acks.get("host-a"), Some(&3));
        assert_eq!(acks.get("host-b"), Some(&3));
        assert_eq!(a.telemetry_count().await.expect("stream"), 2);
        let mut watch = Box::pin(b.watch_hosts().await.expect("watch hosts"));
        let first = tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .expect("history arrives")
            .expect("a record")
            .expect("readable");
        let rustybt::cluster::HostChange::Put(first) = first else {
            panic!("a record, not a removal: {first:?}");
        };
        assert!(first.host_id.starts_with("host-"));
        // A removed host's record leaves the watch and the listing.
        a.forget_host("host-b").await.expect("removed");
        let gone = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match watch.next().await {
                    Some(Ok(rustybt::cluster::HostChange::Gone(h))) => break h,
                    Some(_) => continue,
                    None => panic!("the watch ended"),
                }
            }
        })
        .await
        .expect("the removal arrives");
        assert_eq!(gone, "host-b");
        assert!(!a.hosts().await.expect("hosts").contains_key("host-b"));
        assert!(!a
            .acknowledgements()
            .await
            .expect("acks")
            .contains_key("host-b"));
    });
}

#[test]
fn test_update_control_when_one_node_of_three_killed_then_still_written_and_watched() {
    let mut cluster = NatsCluster::three();
    let rt = runtime();
    let (a, c) = rt.block_on(async {
        (
            join(&cluster.urls(), "host-a").await,
            join(&cluster.urls(), "host-c").await,
        )
    });
    cluster.kill(1);
    rt.block_on(async {
        // Quorum (2 of 3) remains: reads and writes may need a moment for a new stream leader.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        let watch = loop {
            match c.watch_control().await {
                Ok(w) => break w,
                Err(e) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "no watch with two nodes of three: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut watch = Box::pin(watch);
        let _ = next_matching(&mut watch, |_| true).await;
        loop {
            let written = a
                .update_control(|ctl| ctl.apply(halt("rates"), chrono::Utc::now()))
                .await;
            match written {
                Ok(answer) => {
                    answer.expect("accepted");
                    break;
                }
                Err(e) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "no write with two nodes of three: {e}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = next_matching(&mut watch, |ctl| ctl.desk_halts.contains_key("rates")).await;
        assert_eq!(seen.generation, 1);
    });
}

#[test]
fn test_bus_health_when_every_node_killed_then_lost_and_when_restarted_then_connected() {
    let mut cluster = NatsCluster::three();
    let rt = runtime();
    let bus = rt.block_on(join(&cluster.urls(), "host-a"));
    rt.block_on(async {
        bus.update_control(|ctl| ctl.apply(halt("rates"), chrono::Utc::now()))
            .await
            .expect("bus")
            .expect("accepted");
    });
    assert!(bus.health().status().connected);
    let mut status = bus.health().watch();
    cluster.kill_all();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), status.wait_for(|s| !s.connected))
            .await
            .expect("the loss is seen within 10 s")
            .expect("health board alive");
        assert!(bus.health().status().lost_since.is_some());
        assert!(
            bus.read_control().await.is_err(),
            "no answer without servers"
        );
    });
    cluster.restart_all();
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), status.wait_for(|s| s.connected))
            .await
            .expect("reconnected within 20 s")
            .expect("health board alive");
        // The firm's state survived every server's restart (file storage, three replicas).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let control = loop {
            match bus.read_control().await {
                Ok((control, _)) => break control,
                Err(e) => assert!(tokio::time::Instant::now() < deadline, "{e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(control.desk_halts.contains_key("rates"));
    });
}

#[test]
fn test_connect_when_no_server_listens_then_error_names_the_urls() {
    let port = crate::support::nats::free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let err = runtime()
        .block_on(FirmBus::connect(
            BusConfig::new(&url, "acme", "host-a"),
            clock(),
        ))
        .expect_err("nothing listens there");
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn test_connect_when_host_id_has_a_dot_then_refused_naming_field_and_value() {
    let err = runtime()
        .block_on(FirmBus::connect(
            BusConfig::new("nats://127.0.0.1:1", "acme", "host.a"),
            clock(),
        ))
        .expect_err("a dot would split the key");
    assert_eq!(
        err.to_string(),
        "cluster.host_id: \"host.a\" may hold only letters, digits, '-' and '_'"
    );
}
