//! The engine's full status: what `/status` serves.

use super::*;

impl EngineHandle {
    /// The full status.
    pub async fn status(&self) -> Result<EngineStatus, EngineError> {
        let i = &self.inner;
        let (record, degraded) = i.supervisor.send(ReadState).await?;
        let mut readings = read_breakers(&i.breakers).await;
        readings.push(
            i.manual
                .send(ReadBreaker)
                .await
                .unwrap_or_else(|_| BreakerReading::disabled(BreakerKind::Manual)),
        );
        let view = i.feed.send(ReadPortfolio).await?;
        let book = i.core.book();
        let activity: GateActivity = i.core.activity();
        let (recent_errors, error_totals) = {
            let log = i.errors.lock().unwrap_or_else(|p| p.into_inner());
            (log.recent.iter().cloned().collect(), log.totals.clone())
        };
        let alerts = i.dispatcher.send(ReadDeliveries).await.unwrap_or_default();
        Ok(EngineStatus {
            name: i.name.clone(),
            state: record.state,
            since: record.since,
            reason: record.reason.clone(),
            checkpoint_error: degraded,
            pending_reset: record.pending_reset.as_ref().map(|p| PendingResetStatus {
                operator: p.operator.clone(),
                expires_at: p.expires_at,
            }),
            breakers: breaker_statuses(&record, &readings),
            actors: i.health.report(),
            portfolio: portfolio_status(&readings, view, book.gross_exposure),
            pre_trade: pre_trade_status(&activity, i.core.pre_trade_limits(), book.references),
            recent_orders: activity.orders,
            recent_fills: activity.fills,
            recent_errors,
            error_totals,
            orders_accepted: activity.accepted,
            orders_rejected: activity.rejected,
            open_orders: book.open_orders,
            alerts,
        })
    }
}

/// Every breaker listed, with its reading and when it tripped (the manual one: when halted).
fn breaker_statuses(record: &StateRecord, readings: &[BreakerReading]) -> Vec<BreakerStatus> {
    let tripped: BTreeMap<BreakerKind, DateTime<Utc>> = record.tripped.iter().copied().collect();
    BreakerKind::ALL
        .iter()
        .filter(|kind| kind.listed_when_off() || readings.iter().any(|r| r.breaker == **kind))
        .map(|&kind| {
            let r = readings
                .iter()
                .find(|r| r.breaker == kind)
                .cloned()
                .unwrap_or_else(|| BreakerReading::disabled(kind));
            let mut tripped_at = tripped.get(&kind).copied();
            if kind == BreakerKind::Manual && record.state == EngineState::ManuallyHalted {
                tripped_at = Some(record.since);
            }
            BreakerStatus {
                kind,
                status: if tripped_at.is_some() {
                    BreakerCondition::Tripped
                } else {
                    BreakerCondition::Ok
                },
                enabled: r.enabled,
                ready: r.ready,
                value: r.value,
                limit: r.limit,
                tripped_at,
                details: r.details,
            }
        })
        .collect()
}

/// The portfolio as the feed last saw it, with the drawdown and daily-loss breakers' figures.
fn portfolio_status(
    readings: &[BreakerReading],
    view: crate::actors::ledger_feed::PortfolioView,
    gross_exposure: Option<Decimal>,
) -> PortfolioStatus {
    let drawdown_reading = readings.iter().find(|r| r.breaker == BreakerKind::Drawdown);
    let hwm = drawdown_reading
        .and_then(|r| r.details.get("high_water_mark"))
        .and_then(|h| h.parse::<Decimal>().ok());
    let daily_pnl = readings
        .iter()
        .find(|r| r.breaker == BreakerKind::DailyLoss)
        .and_then(|r| r.details.get("daily_pnl"))
        .and_then(|h| h.parse::<Decimal>().ok());
    let last = view.last.clone();
    PortfolioStatus {
        value: last.as_ref().map(|s| s.portfolio_value),
        cash: last.as_ref().and_then(|s| s.cash),
        high_water_mark: hwm,
        drawdown: drawdown_reading.and_then(|r| r.value),
        daily_pnl,
        positions: last
            .as_ref()
            .map(|s| {
                s.positions()
                    .iter()
                    .map(|p| PositionStatus {
                        asset: p.asset.clone(),
                        quantity: p.quantity,
                        market_price: p.market_price,
                        market_value: p.market_value(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        as_of: last.as_ref().map(|s| s.timestamp),
        history: view.history,
        gross_exposure,
        snapshots_accepted: view.accepted,
        snapshots_refused: view.refused,
        last_refusal: view.last_refusal,
    }
}

/// Denials per check and the last one, from the gate's activity.
fn pre_trade_status(
    activity: &GateActivity,
    limits: crate::pretrade::PreTradeLimits,
    references: Vec<(String, crate::pretrade::ReferencePrice)>,
) -> PreTradeStatus {
    PreTradeStatus {
        configured: limits.any(),
        denials: PreTradeCheck::ALL
            .iter()
            .map(|c| (*c, activity.denials[c.slot()]))
            .collect(),
        last_denial: activity
            .orders
            .iter()
            .rev()
            .find_map(|o| match &o.decision {
                OrderDecision::Rejected {
                    check: Some(check),
                    reason,
                    limit,
                    value,
                    ..
                } => Some(LastDenial {
                    at: o.at,
                    order_id: o.order.order_id.clone(),
                    check: *check,
                    limit: *limit,
                    value: *value,
                    reason: reason.clone(),
                }),
                _ => None,
            }),
        references,
    }
}

/// Whether a breaker is tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerCondition {
    /// Not tripped.
    Ok,
    /// Tripped and not yet reset or cleared.
    Tripped,
}

/// A breaker in the status.
#[derive(Debug, Clone, Serialize)]
pub struct BreakerStatus {
    /// `drawdown`, `daily_loss`, ...
    #[serde(rename = "type")]
    pub kind: BreakerKind,
    /// Tripped or not.
    pub status: BreakerCondition,
    /// Switched on in the configuration.
    pub enabled: bool,
    /// Up and has seen its first input.
    pub ready: bool,
    /// Its measured value (ratio, amount, count or seconds, as its limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// Its limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Decimal>,
    /// When it tripped, if it is tripped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tripped_at: Option<DateTime<Utc>>,
    /// Extra figures (per error kind, session date...).
    pub details: BTreeMap<String, String>,
}

/// A position with its market value.
#[derive(Debug, Clone, Serialize)]
pub struct PositionStatus {
    /// Instrument identifier.
    pub asset: String,
    /// Signed quantity: negative is short.
    pub quantity: Decimal,
    /// The price the host valued it at.
    pub market_price: Decimal,
    /// Quantity × price (absent if it does not fit a decimal).
    pub market_value: Option<Decimal>,
}

/// The portfolio in the status.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioStatus {
    /// Value of the last snapshot.
    pub value: Option<Decimal>,
    /// Cash of the last snapshot, if reported.
    pub cash: Option<Decimal>,
    /// The drawdown breaker's high-water mark.
    pub high_water_mark: Option<Decimal>,
    /// Drawdown ratio (≤ 0).
    pub drawdown: Option<Decimal>,
    /// Profit or loss since the session's open.
    pub daily_pnl: Option<Decimal>,
    /// Holdings of the last snapshot.
    pub positions: Vec<PositionStatus>,
    /// Time of the last snapshot.
    pub as_of: Option<DateTime<Utc>>,
    /// Σ |position + open remaining| × reference price over assets; absent while an asset
    /// held or worked has no reference price.
    pub gross_exposure: Option<Decimal>,
    /// Recent (time, value) points, oldest first.
    pub history: Vec<(DateTime<Utc>, Decimal)>,
    /// Snapshots accepted since start.
    pub snapshots_accepted: u64,
    /// Snapshots refused since start.
    pub snapshots_refused: u64,
    /// Why the last refused snapshot was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<String>,
}

/// The most recent pre-trade denial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LastDenial {
    /// When the gate denied it.
    pub at: DateTime<Utc>,
    /// The order denied.
    pub order_id: String,
    /// The check that denied it.
    pub check: PreTradeCheck,
    /// The check's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Decimal>,
    /// The figure compared with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Decimal>,
    /// The reason given to the host.
    pub reason: String,
}

/// Pre-trade checks in the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PreTradeStatus {
    /// Whether any check is configured.
    pub configured: bool,
    /// Denials since start per check, every check listed.
    pub denials: BTreeMap<PreTradeCheck, u64>,
    /// The newest denial among the recent orders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_denial: Option<LastDenial>,
    /// Reference prices per asset, with the time of the event that carried them.
    pub references: Vec<(String, crate::pretrade::ReferencePrice)>,
}

/// A pending reset, without its token.
#[derive(Debug, Clone, Serialize)]
pub struct PendingResetStatus {
    /// Who asked.
    pub operator: String,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

/// One strategy's full status.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    /// Strategy name.
    pub name: String,
    /// Global state, as the Supervisor recorded it.
    pub state: EngineState,
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why, when not NORMAL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the checkpoint is unusable, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_error: Option<String>,
    /// A reset awaiting confirmation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_reset: Option<PendingResetStatus>,
    /// Every breaker kind, in reporting order.
    pub breakers: Vec<BreakerStatus>,
    /// Every actor's health: the gate refuses while one is not ready.
    pub actors: Vec<ActorHealth>,
    /// The portfolio.
    pub portfolio: PortfolioStatus,
    /// Recent orders, newest last.
    pub recent_orders: Vec<crate::decision::OrderRecord>,
    /// Recent fills, newest last.
    pub recent_fills: Vec<Fill>,
    /// Recent errors, newest last.
    pub recent_errors: Vec<LoggedError>,
    /// Errors since start per kind.
    pub error_totals: BTreeMap<String, u64>,
    /// Orders accepted since start.
    pub orders_accepted: u64,
    /// Orders rejected since start, by check, breaker or state.
    pub orders_rejected: HashMap<String, u64>,
    /// Orders accepted and neither fully filled nor done, oldest first.
    pub open_orders: Vec<OpenOrder>,
    /// Pre-trade denials.
    pub pre_trade: PreTradeStatus,
    /// Alert deliveries.
    pub alerts: DeliveryView,
}
