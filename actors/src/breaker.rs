//! What every breaker shares: its kind, its reset policy, the [`Trip`] it reports, and the
//! [`Rule`] trait every breaker rule implements so one generic actor can run any of them.
//!
//! Adding a breaker: one file in [`crate::breakers`] and one line in its registry.

use crate::domain::InputError;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::breakers::BreakerKind;

impl BreakerKind {
    /// Position in [`BreakerKind::ALL`].
    pub fn slot(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for BreakerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a tripped breaker returns to service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetPolicy {
    /// Only an operator's confirmed reset clears it.
    Manual,
    /// It clears by itself once its condition no longer holds.
    Auto,
}

/// A breaker's report that its limit was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trip {
    /// Which breaker.
    pub breaker: BreakerKind,
    /// When, by the engine's clock.
    pub at: DateTime<Utc>,
    /// The measured value (drawdown ratio, loss, count).
    pub value: Decimal,
    /// The limit it reached.
    pub limit: Decimal,
    /// Named figures for alerts and the audit trail, decimals as strings.
    pub details: BTreeMap<String, String>,
    /// One line a person can read.
    pub summary: String,
}

/// A breaker's current reading, for status pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakerReading {
    /// Which breaker.
    pub breaker: BreakerKind,
    /// Whether it is switched on.
    pub enabled: bool,
    /// Whether it has the input it needs to judge (fail closed until it has).
    pub ready: bool,
    /// Its measured value, when it has one.
    pub value: Option<Decimal>,
    /// Its limit, when it has one.
    pub limit: Option<Decimal>,
    /// Extra figures (per error kind, session date...).
    pub details: BTreeMap<String, String>,
}

impl BreakerReading {
    /// The reading of a breaker that is switched off.
    pub fn disabled(breaker: BreakerKind) -> Self {
        Self {
            breaker,
            enabled: false,
            ready: true,
            value: None,
            limit: None,
            details: BTreeMap::new(),
        }
    }
}

/// What a rule says about an input or the passing of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to report.
    Quiet,
    /// The limit was reached.
    Trip(Trip),
    /// A latched trip's condition passed: an auto-reset breaker clears.
    Cleared,
}

impl From<Option<Trip>> for Verdict {
    fn from(t: Option<Trip>) -> Self {
        t.map_or(Verdict::Quiet, Verdict::Trip)
    }
}

/// A breaker rule: pure and synchronous, no I/O and no clock of its own. The generic breaker
/// actor feeds it, saves its durable state, and turns its trips into messages.
pub trait Rule: Send + Unpin + 'static {
    /// What the breaker judges (a valuation, an error report...).
    type Input: Send + Sync + 'static;
    /// What survives a restart; `()` for a rule whose state is rebuilt from new input.
    type Durable: Serialize + DeserializeOwned + Clone + PartialEq + Send + Unpin + 'static;

    /// Which breaker this is.
    fn kind(&self) -> BreakerKind;

    /// Judges one input. Refused input changes nothing. A rule trips once per breach: it stays
    /// latched until [`Rule::rearm`] (or, for auto reset, until its condition passes).
    fn evaluate(&mut self, input: &Self::Input) -> Result<Verdict, InputError>;

    /// Time passed: time-driven checks and auto-reset clearing.
    fn on_tick(&mut self, _now: DateTime<Utc>) -> Verdict {
        Verdict::Quiet
    }

    /// The durable part, once there is one.
    fn durable_state(&self) -> Option<Self::Durable> {
        None
    }

    /// Restores the durable part from a checkpoint.
    fn restore(&mut self, _state: Self::Durable) {}

    /// After a confirmed reset: lets the rule trip again and judges its current input at once,
    /// answering the trip when its condition still holds. `rebase` asks the drawdown rule to
    /// take the current value as its new high-water mark.
    fn rearm(&mut self, rebase: bool, now: DateTime<Utc>) -> Option<Trip>;

    /// Whether it has the input it needs to judge (the gate is closed until it has).
    fn has_input(&self) -> bool {
        true
    }

    /// The reading for status pages.
    fn reading(&self, now: DateTime<Utc>) -> BreakerReading;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_slot_when_every_kind_then_its_index_in_all() {
        for (i, k) in BreakerKind::ALL.into_iter().enumerate() {
            assert_eq!(k.slot(), i, "{k}");
        }
        assert_eq!(BreakerKind::ALL.last(), Some(&BreakerKind::Manual));
    }

    #[test]
    fn test_serialize_when_every_kind_then_same_name_as_as_str() {
        for k in BreakerKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<BreakerKind>(&json).unwrap(), k);
        }
        assert_eq!(BreakerKind::PreTrade.as_str(), "pre_trade");
        assert_eq!(BreakerKind::HostSilent.to_string(), "host_silent");
    }
}
