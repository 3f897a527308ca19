//! What the decision core answers and is told: the order decision, the activity and book
//! views, the rules it judges with, and the Supervisor's word.

use crate::breaker::{BreakerKind, Trip};
use crate::breakers::{OrderRateRule, PreTradeDenialRule};
use crate::domain::{Fill, OrderRequest};
use crate::pretrade::{Denial, OpenOrder, PreTradeCheck, PreTradeLimits};
use crate::rules::MarketSession;
use crate::state_machine::{EngineState, StateRecord};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// The gate's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum OrderDecision {
    /// Send it.
    Accepted,
    /// Do not send it.
    Rejected {
        /// Why, naming the state and the breaker.
        reason: String,
        /// The state the gate judged against.
        state: EngineState,
        /// The breaker that enforced it, if one did.
        #[serde(skip_serializing_if = "Option::is_none")]
        breaker: Option<BreakerKind>,
        /// The pre-trade check that denied it, if one did (then no breaker).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        check: Option<PreTradeCheck>,
        /// The check's limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<Decimal>,
        /// The figure the check compared with its limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value: Option<Decimal>,
    },
}

impl OrderDecision {
    /// Whether the order may be sent.
    pub fn is_accepted(&self) -> bool {
        matches!(self, OrderDecision::Accepted)
    }

    /// The pre-trade check that denied the order, if one did.
    pub fn check(&self) -> Option<PreTradeCheck> {
        match self {
            OrderDecision::Rejected { check, .. } => *check,
            OrderDecision::Accepted => None,
        }
    }

    pub(crate) fn denied(denial: Denial, state: EngineState) -> Self {
        OrderDecision::Rejected {
            reason: denial.reason,
            state,
            breaker: None,
            check: Some(denial.check),
            limit: denial.limit,
            value: denial.value,
        }
    }
}

/// One order as decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRecord {
    /// When the gate decided.
    pub at: DateTime<Utc>,
    /// The order.
    pub order: OrderRequest,
    /// The decision.
    pub decision: OrderDecision,
}

/// What the gate has seen.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GateActivity {
    /// Recent orders, newest last.
    pub orders: Vec<OrderRecord>,
    /// Recent fills, newest last.
    pub fills: Vec<Fill>,
    /// Orders accepted since start.
    pub accepted: u64,
    /// Orders rejected since start, by the breaker, check or state that refused them.
    pub rejected: HashMap<String, u64>,
    /// Pre-trade denials since start, per check in [`PreTradeCheck::ALL`] order.
    pub denials: [u64; PreTradeCheck::COUNT],
}

/// The order book as the status shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BookView {
    /// Open orders, oldest first.
    pub open_orders: Vec<OpenOrder>,
    /// Σ |position + open remaining| × reference price; absent while an asset held or
    /// worked has no reference price.
    pub gross_exposure: Option<Decimal>,
    /// Reference prices per asset with the time of the event that carried them.
    pub references: Vec<(String, crate::pretrade::ReferencePrice)>,
}

/// What the core judges orders with besides the state.
#[derive(Debug, Clone, Default)]
pub struct GateRules {
    /// Let orders that shrink a position through while TRIPPED.
    pub reduce_only_when_tripped: bool,
    /// The order-rate breaker's rule, if it is on.
    pub order_rate: Option<OrderRateRule>,
    /// The pre-trade limits (all absent: no check).
    pub pre_trade: PreTradeLimits,
    /// The pre-trade breaker's rule (too many denials in a window), if it is on.
    pub pre_trade_denials: Option<PreTradeDenialRule>,
    /// The market's sessions: when `day` orders expire and, without a `duplicate_window`,
    /// how long ids are remembered. `None` (bare cores in tests): day orders never expire.
    pub market: Option<MarketSession>,
}

/// The Supervisor's word: the state orders are judged against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateUpdate {
    /// The state machine's record, shared rather than copied field by field: the state, the
    /// breakers tripped (first tripped first) and the reason named in rejections.
    pub record: Arc<StateRecord>,
    /// Trips with a sequence number up to this one are applied by the Supervisor.
    pub applied_trips: u64,
}

impl GateUpdate {
    /// The word for `record`, with trips up to `applied_trips` applied.
    pub fn new(record: StateRecord, applied_trips: u64) -> Self {
        Self {
            record: Arc::new(record),
            applied_trips,
        }
    }

    /// The global state.
    pub fn state(&self) -> EngineState {
        self.record.state
    }

    /// The first breaker tripped and not yet reset or cleared.
    pub fn first_tripped(&self) -> Option<BreakerKind> {
        self.record.tripped.first().map(|(k, _)| *k)
    }
}

/// A trip the core closed the gate for, numbered so the Supervisor's acknowledgement can be
/// matched to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedTrip {
    /// Order of closing, from 1.
    pub seq: u64,
    /// The trip.
    pub trip: Trip,
}
