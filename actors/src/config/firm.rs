//! `[firm]` and `[cluster]`: the firm's breakers over every strategy, and the bus that joins
//! many hosts.

use super::market;
use super::values::{positive_count, window_of, DurationValue};
use super::{is_valid_name, Env, MarketSection};
use crate::breakers::daily_loss::DailyLossSection;
use crate::breakers::drawdown::DrawdownSection;
use crate::breakers::order_rate::OrderRateSection;
use crate::breakers::DailyLossLimit;
use crate::settings::StrategySettings;
use rust_decimal::Decimal;
use serde::Deserialize;

/// `[firm.circuit_breakers]`: over the sum of every strategy of the firm, on every host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmBreakersSection {
    /// The firm's drawdown from its high-water mark.
    pub drawdown: Option<DrawdownSection>,
    /// The firm's loss since the open (of `[firm.market]`, or the strategies' one market).
    pub daily_loss: Option<DailyLossSection>,
    /// Orders over all strategies.
    pub order_rate: Option<OrderRateSection>,
}

/// `[firm]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmSection {
    /// Strategies sharing a firm name form the firm.
    pub name: Option<String>,
    /// The firm breakers; absent ones are off.
    pub circuit_breakers: Option<FirmBreakersSection>,
    /// The market whose open starts the firm's session (firm daily loss); absent: the one
    /// market every strategy of this host shares.
    pub market: Option<MarketSection>,
}

/// `[cluster]`: many hosts joined through NATS JetStream.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Server URLs, comma-separated; env `RUSTYBT_NATS_URL`.
    pub nats_url: Option<String>,
    /// This host's id, unique in the firm; env `RUSTYBT_HOST_ID`.
    pub host_id: Option<String>,
    /// How long without the bus before `on_bus_loss` applies (default 5 s).
    pub lease: Option<DurationValue>,
    /// `halt` (default) | `reduce_only` | `continue`.
    pub on_bus_loss: Option<BusLossPolicy>,
}

/// What a host does while it has lost the bus for longer than its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BusLossPolicy {
    /// No new orders (each order is rejected with `"breaker": "bus"`).
    #[default]
    Halt,
    /// Only orders that reduce a position.
    ReduceOnly,
    /// Trade on, unprotected by the firm.
    Continue,
}

impl BusLossPolicy {
    /// The name used in the configuration and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            BusLossPolicy::Halt => "halt",
            BusLossPolicy::ReduceOnly => "reduce_only",
            BusLossPolicy::Continue => "continue",
        }
    }
}

/// A validated `[firm]` (the defaults without one: firm `default`, no firm breaker).
#[derive(Debug, Clone, PartialEq)]
pub struct FirmConfig {
    /// The firm's name.
    pub name: String,
    /// The firm breakers.
    pub breakers: crate::firm::FirmBreakerSettings,
}

/// A validated `[cluster]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// Server URLs, comma-separated.
    pub nats_url: String,
    /// This host's id.
    pub host_id: String,
    /// How long without the bus before `on_bus_loss` applies.
    pub lease: chrono::Duration,
    /// What applies then.
    pub on_bus_loss: BusLossPolicy,
}

pub(super) fn firm_config(
    section: Option<&FirmSection>,
    strategies: &[StrategySettings],
    problems: &mut Vec<String>,
) -> FirmConfig {
    let section = section.cloned().unwrap_or_default();
    let name = section.name.unwrap_or_else(|| "default".into());
    if !is_valid_name(&name) {
        problems.push(format!(
            "firm.name: {name:?} must be 1-64 letters, digits, '-' or '_'"
        ));
    }
    let cb = section.circuit_breakers.unwrap_or_default();
    let mut breakers = crate::firm::FirmBreakerSettings::default();
    if let Some(d) = cb.drawdown.filter(|d| d.enabled.unwrap_or(true)) {
        let field = "firm.circuit_breakers.drawdown.threshold";
        match d
            .threshold
            .as_ref()
            .and_then(|v| v.to_decimal(field, problems))
        {
            Some(t) if t > Decimal::NEGATIVE_ONE && t < Decimal::ZERO => {
                breakers.drawdown = Some(t)
            }
            Some(t) => problems.push(format!(
                "{field}: {t} must be a ratio in (-1, 0), e.g. \"-0.08\" for an 8% drawdown"
            )),
            None if d.threshold.is_none() => problems.push(format!("{field}: missing")),
            None => {}
        }
    }
    if let Some(l) = cb.daily_loss.filter(|l| l.enabled.unwrap_or(true)) {
        let limit = firm_daily_loss_limit(&l, problems);
        let market = match section.market.as_ref() {
            Some(m) => market::market_session(Some(m), "firm.market", problems),
            None => market::shared_market(strategies, problems),
        };
        breakers.daily_loss = limit.zip(market);
    }
    if let Some(o) = cb.order_rate.filter(|o| o.enabled.unwrap_or(true)) {
        let max = positive_count(
            o.max_orders,
            500,
            "firm.circuit_breakers.order_rate.max_orders",
            problems,
        );
        let window = window_of(
            &o.window,
            "firm.circuit_breakers.order_rate.window",
            problems,
        );
        breakers.order_rate = Some((max, window));
    }
    FirmConfig { name, breakers }
}

pub(super) fn cluster_config(
    c: &ClusterSection,
    env: &dyn Env,
    problems: &mut Vec<String>,
) -> Option<ClusterConfig> {
    let before = problems.len();
    let nats_url = env
        .var("RUSTYBT_NATS_URL")
        .or_else(|| c.nats_url.clone())
        .unwrap_or_default();
    if nats_url.trim().is_empty() {
        problems.push("cluster.nats_url: missing (or set RUSTYBT_NATS_URL)".into());
    }
    for url in nats_url.split(',').map(str::trim).filter(|u| !u.is_empty()) {
        if !(url.starts_with("nats://") || url.starts_with("tls://"))
            || url::Url::parse(url).is_err()
        {
            problems.push(format!(
                "cluster.nats_url: {url:?} is not a URL like nats://127.0.0.1:4222"
            ));
        }
    }
    let host_id = env
        .var("RUSTYBT_HOST_ID")
        .or_else(|| c.host_id.clone())
        .unwrap_or_default();
    if !is_valid_name(&host_id) {
        problems.push(format!(
            "cluster.host_id: {host_id:?} must be 1-64 letters, digits, '-' or '_' (or set RUSTYBT_HOST_ID)"
        ));
    }
    let lease = c
        .lease
        .as_ref()
        .and_then(|l| l.to_duration("cluster.lease", problems))
        .unwrap_or_else(|| chrono::Duration::seconds(5));
    if lease <= chrono::Duration::zero() {
        problems.push(format!(
            "cluster.lease: {}s must be at least 1 second",
            lease.num_seconds()
        ));
    }
    (problems.len() == before).then(|| ClusterConfig {
        nats_url,
        host_id,
        lease,
        on_bus_loss: c.on_bus_loss.unwrap_or_default(),
    })
}

/// The firm's daily-loss limit, `None` after a problem.
fn firm_daily_loss_limit(
    l: &DailyLossSection,
    problems: &mut Vec<String>,
) -> Option<DailyLossLimit> {
    match (&l.limit, &l.limit_amount) {
        (Some(_), Some(_)) => {
            problems.push(
                "firm.circuit_breakers.daily_loss: give limit or limit_amount, not both".into(),
            );
            None
        }
        (Some(v), None) => {
            let field = "firm.circuit_breakers.daily_loss.limit";
            match v.to_decimal(field, problems) {
                Some(f) if f > Decimal::NEGATIVE_ONE && f < Decimal::ZERO => {
                    Some(DailyLossLimit::Fraction(f))
                }
                Some(f) => {
                    problems.push(format!("{field}: {f} must be a fraction in (-1, 0)"));
                    None
                }
                None => None,
            }
        }
        (None, Some(v)) => {
            let field = "firm.circuit_breakers.daily_loss.limit_amount";
            match v.to_decimal(field, problems) {
                Some(a) if a < Decimal::ZERO => Some(DailyLossLimit::Amount(a)),
                Some(a) => {
                    problems.push(format!("{field}: {a} must be a negative amount"));
                    None
                }
                None => None,
            }
        }
        (None, None) => {
            problems
                .push("firm.circuit_breakers.daily_loss: limit or limit_amount is required".into());
            None
        }
    }
}
