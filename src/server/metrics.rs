//! `/metrics`: Prometheus text. Gauges and counters are read from each engine's status at
//! scrape time (nothing on the trading path); the gate latency histogram is recorded by the
//! order endpoint. Each server has its own recorder, so several servers can share a process.
//! Prometheus values are floating point by nature: money is converted only for exposition.

use metrics::{
    counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rustybt_actors::alerts::DeliveryStatus;
use rustybt_actors::engine::EngineStatus;
use rustybt_actors::state_machine::EngineState;
use std::collections::BTreeMap;

/// The gate latency histogram's name.
pub const GATE_LATENCY: &str = "rustybt_gate_latency_seconds";

/// A server's metrics.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A recorder with every series described.
    pub fn new() -> Self {
        let buckets = [
            0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.0025,
            0.005, 0.01, 0.05,
        ];
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(GATE_LATENCY.into()), &buckets)
            .expect("valid buckets")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_gauge!(
                "rustybt_state",
                "Global state: 0 NORMAL, 1 TRIPPED, 2 MANUALLY_HALTED, 3 RESETTING"
            );
            describe_gauge!(
                "rustybt_breaker_tripped",
                "1 while the breaker is tripped, else 0"
            );
            describe_gauge!(
                "rustybt_breaker_value",
                "The breaker's measured value (ratio, amount or count)"
            );
            describe_gauge!("rustybt_breaker_limit", "The breaker's limit");
            describe_gauge!(
                "rustybt_portfolio_value",
                Unit::Count,
                "Last portfolio value"
            );
            describe_gauge!("rustybt_high_water_mark", "Highest portfolio value seen");
            describe_gauge!(
                "rustybt_drawdown",
                "Drawdown from the high-water mark, as a ratio (<= 0)"
            );
            describe_gauge!(
                "rustybt_daily_pnl",
                "Profit or loss since the session's open"
            );
            describe_gauge!(
                "rustybt_snapshot_age_seconds",
                "Seconds since the last portfolio snapshot"
            );
            describe_counter!(
                "rustybt_orders_total",
                "Orders decided by the gate, by decision and the breaker or state that refused"
            );
            describe_counter!(
                "rustybt_errors_total",
                "Errors reported by the host, by kind"
            );
            describe_counter!("rustybt_snapshots_total", "Portfolio snapshots, by result");
            describe_counter!(
                "rustybt_pretrade_denials_total",
                "Orders denied by a pre-trade check, by check"
            );
            describe_gauge!(
                "rustybt_open_orders",
                "Orders accepted and neither fully filled nor done"
            );
            describe_gauge!(
                "rustybt_gross_exposure",
                "Sum of |position + open remaining| x reference price over assets (0 while unknown)"
            );
            describe_counter!(
                "rustybt_alerts_total",
                "Alert deliveries, by channel and status"
            );
            describe_gauge!(
                "rustybt_firm_state",
                "The firm's state: 0 NORMAL, 1 TRIPPED, 2 MANUALLY_HALTED, 3 RESETTING"
            );
            describe_gauge!(
                "rustybt_firm_breaker_tripped",
                "1 while the firm breaker (over every strategy of the firm) is tripped, else 0"
            );
            describe_gauge!(
                "rustybt_firm_portfolio_value",
                "The sum of every strategy's portfolio value, on every host"
            );
            describe_gauge!(
                "rustybt_firm_high_water_mark",
                "The firm drawdown breaker's high-water mark"
            );
            describe_gauge!(
                "rustybt_firm_drawdown",
                "The firm's drawdown from its high-water mark, as a ratio (<= 0)"
            );
            describe_gauge!(
                "rustybt_firm_daily_pnl",
                "The firm's profit or loss since the open"
            );
            describe_gauge!("rustybt_firm_desk_halts", "Desk halts in force");
            describe_gauge!(
                "rustybt_firm_host_connected",
                "1 while the host reports to the firm's bus, else 0"
            );
            describe_gauge!(
                "rustybt_bus_connected",
                "1 while this host holds a connection to the firm's bus, else 0 ([cluster] only)"
            );
            describe_gauge!(
                "rustybt_bus_lost_seconds",
                "Seconds since this host lost the firm's bus, 0 while connected ([cluster] only)"
            );
            describe_gauge!(
                "rustybt_bus_loss_applied",
                "1 while on_bus_loss is in force on this host ([cluster] only)"
            );
            describe_histogram!(
                GATE_LATENCY,
                Unit::Seconds,
                "Order gate decision time at the API"
            );
        });
        Self { recorder, handle }
    }

    /// Records one gate decision's latency.
    pub fn observe_gate(&self, strategy: &str, seconds: f64) {
        metrics::with_local_recorder(&self.recorder, || {
            histogram!(GATE_LATENCY, "strategy" => strategy.to_string()).record(seconds);
        });
    }

    /// Sets the firm's series from its view (before [`Metrics::render`]).
    pub fn record_firm(&self, view: &rustybt_actors::firm::FirmView) {
        metrics::with_local_recorder(&self.recorder, || {
            let firm = view.firm.clone();
            gauge!("rustybt_firm_state", "firm" => firm.clone()).set(f64::from(view.state.code()));
            for b in &view.breakers {
                let tripped = b.status == rustybt_actors::engine::BreakerCondition::Tripped;
                gauge!("rustybt_firm_breaker_tripped", "firm" => firm.clone(), "breaker" => b.kind.as_str())
                    .set(if tripped { 1.0 } else { 0.0 });
            }
            let p = &view.portfolio;
            for (metric, v) in [
                ("rustybt_firm_portfolio_value", p.value),
                ("rustybt_firm_high_water_mark", p.high_water_mark),
                ("rustybt_firm_drawdown", p.drawdown),
                ("rustybt_firm_daily_pnl", p.daily_pnl),
            ] {
                gauge!(metric, "firm" => firm.clone()).set(as_gauge(v));
            }
            gauge!("rustybt_firm_desk_halts", "firm" => firm.clone())
                .set(view.control.desk_halts.len() as f64);
            for h in &view.hosts {
                gauge!("rustybt_firm_host_connected", "firm" => firm.clone(), "host_id" => h.host_id.clone())
                    .set(if h.connected { 1.0 } else { 0.0 });
            }
        });
    }

    /// Sets the bus-health series of this host (`[cluster]` only), readable even while the
    /// firm's record is not.
    pub fn record_bus(
        &self,
        host_id: &str,
        bus: &rustybt_actors::firm::BusView,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        metrics::with_local_recorder(&self.recorder, || {
            let host = [("host_id", host_id.to_string())];
            gauge!("rustybt_bus_connected", &host).set(if bus.connected { 1.0 } else { 0.0 });
            let lost = bus.lost_since.map_or(0.0, |at| {
                (now - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            gauge!("rustybt_bus_lost_seconds", &host).set(lost);
            gauge!("rustybt_bus_loss_applied", &host).set(if bus.on_bus_loss_applied {
                1.0
            } else {
                0.0
            });
        });
    }

    /// Renders every series, reading gauges from the statuses given. Every documented series
    /// is there from the first scrape, at zero until something happens (no snapshot yet, no
    /// rejection by that breaker, no delivery on that channel), so no panel starts empty and
    /// `increase()` sees the first event.
    pub fn render(&self, statuses: &[EngineStatus], now: chrono::DateTime<chrono::Utc>) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            for s in statuses {
                let name = s.name.clone();
                gauge!("rustybt_state", "strategy" => name.clone()).set(f64::from(s.state.code()));
                for b in &s.breakers {
                    let labels = [
                        ("strategy", name.clone()),
                        ("breaker", b.kind.as_str().to_string()),
                    ];
                    gauge!("rustybt_breaker_tripped", &labels).set(
                        if b.status == rustybt_actors::engine::BreakerCondition::Tripped {
                            1.0
                        } else {
                            0.0
                        },
                    );
                    gauge!("rustybt_breaker_value", &labels).set(as_gauge(b.value));
                    gauge!("rustybt_breaker_limit", &labels).set(as_gauge(b.limit));
                }
                let p = &s.portfolio;
                for (metric, v) in [
                    ("rustybt_portfolio_value", p.value),
                    ("rustybt_high_water_mark", p.high_water_mark),
                    ("rustybt_drawdown", p.drawdown),
                    ("rustybt_daily_pnl", p.daily_pnl),
                ] {
                    gauge!(metric, "strategy" => name.clone()).set(as_gauge(v));
                }
                let age = p.as_of.map_or(0.0, |at| {
                    (now - at).num_milliseconds().max(0) as f64 / 1000.0
                });
                gauge!("rustybt_snapshot_age_seconds", "strategy" => name.clone()).set(age);
                for (check, n) in &s.pre_trade.denials {
                    counter!("rustybt_pretrade_denials_total", "strategy" => name.clone(), "check" => check.as_str())
                        .absolute(*n);
                }
                gauge!("rustybt_open_orders", "strategy" => name.clone())
                    .set(s.open_orders.len() as f64);
                gauge!("rustybt_gross_exposure", "strategy" => name.clone())
                    .set(as_gauge(p.gross_exposure));
                counter!("rustybt_orders_total", "strategy" => name.clone(), "decision" => "accepted", "by" => "")
                    .absolute(s.orders_accepted);
                // `by` is the breaker that refused, or the state when no breaker did.
                let mut rejected: BTreeMap<String, u64> = s
                    .breakers
                    .iter()
                    .map(|b| b.kind.as_str().to_string())
                    .chain(EngineState::ALL.iter().map(|st| st.as_str().to_string()))
                    .chain(
                        rustybt_actors::pretrade::PreTradeCheck::ALL
                            .iter()
                            .map(|c| c.as_str().to_string()),
                    )
                    .map(|by| (by, 0))
                    .collect();
                rejected.extend(s.orders_rejected.iter().map(|(by, n)| (by.clone(), *n)));
                for (by, n) in rejected {
                    counter!("rustybt_orders_total", "strategy" => name.clone(), "decision" => "rejected", "by" => by)
                        .absolute(n);
                }
                for kind in ["order_rejected", "broker_error", "data_error"] {
                    let n = s.error_totals.get(kind).copied().unwrap_or(0);
                    counter!("rustybt_errors_total", "strategy" => name.clone(), "kind" => kind)
                        .absolute(n);
                }
                counter!("rustybt_snapshots_total", "strategy" => name.clone(), "result" => "accepted")
                    .absolute(p.snapshots_accepted);
                counter!("rustybt_snapshots_total", "strategy" => name.clone(), "result" => "refused")
                    .absolute(p.snapshots_refused);
                // Each configured channel sends or fails; suppression and drops happen before
                // any channel is chosen, so the dispatcher files them under channel "*".
                let mut alerts: BTreeMap<(String, String), u64> = s
                    .alerts
                    .channels
                    .iter()
                    .flat_map(|c| {
                        [DeliveryStatus::Sent, DeliveryStatus::Failed]
                            .map(|st| (c.clone(), st.as_str().to_string()))
                    })
                    .chain(
                        [DeliveryStatus::Suppressed, DeliveryStatus::Dropped]
                            .map(|st| ("*".to_string(), st.as_str().to_string())),
                    )
                    .map(|k| (k, 0))
                    .collect();
                for (channel, by_status) in &s.alerts.counts {
                    for (status, n) in by_status {
                        alerts.insert((channel.clone(), status.clone()), *n);
                    }
                }
                for ((channel, status), n) in alerts {
                    counter!("rustybt_alerts_total", "strategy" => name.clone(), "channel" => channel, "status" => status)
                        .absolute(n);
                }
                // Registering the histogram renders it with zero observations.
                let _ = histogram!(GATE_LATENCY, "strategy" => name.clone());
            }
        });
        self.handle.render()
    }
}

/// A gauge's value: 0 until there is a reading.
fn as_gauge(v: Option<Decimal>) -> f64 {
    v.and_then(|v| v.to_f64()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    /// Every series the Grafana dashboard queries is one this exporter writes: a renamed metric
    /// must not leave a panel silently empty.
    #[test]
    fn test_grafana_dashboard_when_read_then_every_series_is_exported() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../docs/grafana/dashboard.json")).unwrap();
        let exporter = include_str!("metrics.rs");
        let mut queried = Vec::new();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"].as_str().unwrap();
                let mut rest = expr;
                while let Some(at) = rest.find("rustybt_") {
                    let name: String = rest[at..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    rest = &rest[at + name.len()..];
                    let series = name.trim_end_matches("_bucket").to_string();
                    queried.push(series);
                }
            }
        }
        assert!(queried.len() > 20, "{queried:?}");
        for series in queried {
            assert!(
                exporter.contains(&format!("\"{series}\"")),
                "the dashboard queries {series}, which /metrics does not export"
            );
        }
    }
}
