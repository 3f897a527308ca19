//! The firm's figures through restarts, joins and departures.
//!
//! The firm's value is the sum of the **last known** value of every member strategy: a
//! strategy whose host restarts or cannot be reached keeps its last value (its host record in
//! the bus carries it), so a routine restart never moves the sum. Which strategies are members
//! is written in the control record ([`FirmControl::members`]), changed by compare-and-set:
//!
//! - a strategy reporting its first value **joins**: its value is added to the sum and to the
//!   firm breakers' baselines (high-water mark, the session's open value) alike, once, whichever
//!   hosts race to admit it;
//! - a host's strategies **leave** only by the operator's call (`DELETE
//!   /api/v1/firm/hosts/{host_id}`): their last values leave the sum and the baselines alike.
//!
//! Each change bumps [`FirmBreakerState::basis`], so that a host whose breakers hold an older
//! basis takes the record's baselines as they are (a departure lowers them; "the higher
//! high-water mark wins" would undo it).

use crate::firm::RemoteStrategy;
use crate::firm::{FirmBreakerState, FirmControl};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use thiserror::Error;

/// A change of membership that cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MembershipError {
    /// The baselines would not fit a decimal.
    #[error("the firm's {figure} {value} moved by {delta} does not fit a decimal")]
    Overflow {
        /// Which baseline.
        figure: &'static str,
        /// Its value.
        value: Decimal,
        /// The move.
        delta: Decimal,
    },
}

impl FirmBreakerState {
    /// Moves the baselines (high-water mark, the session's open value) by `delta` and bumps
    /// the basis. Nothing changes on an overflow.
    pub fn shift(&mut self, delta: Decimal) -> Result<(), MembershipError> {
        let mut next = self.clone();
        if let Some(d) = next.drawdown.as_mut() {
            d.high_water_mark =
                d.high_water_mark
                    .checked_add(delta)
                    .ok_or(MembershipError::Overflow {
                        figure: "high-water mark",
                        value: d.high_water_mark,
                        delta,
                    })?;
        }
        if let Some(s) = next.daily_loss.as_mut() {
            s.open_value = s
                .open_value
                .checked_add(delta)
                .ok_or(MembershipError::Overflow {
                    figure: "open value",
                    value: s.open_value,
                    delta,
                })?;
        }
        next.basis = next.basis.wrapping_add(1);
        *self = next;
        Ok(())
    }
}

impl FirmControl {
    /// Whether `strategy` of `host_id` counts in the firm's figures.
    pub fn is_member(&self, host_id: &str, strategy: &str) -> bool {
        self.members
            .get(host_id)
            .is_some_and(|s| s.contains(strategy))
    }

    /// Admits every reported strategy with a value that is not a member yet: the sum of their
    /// values joins the baselines. Answers how many joined.
    pub fn admit(&mut self, reported: &[RemoteStrategy]) -> Result<usize, MembershipError> {
        let mut delta = Decimal::ZERO;
        let mut joining = Vec::new();
        for s in reported {
            let Some(value) = s.portfolio_value else {
                continue;
            };
            if self.is_member(&s.host_id, &s.name) {
                continue;
            }
            delta = delta.checked_add(value).ok_or(MembershipError::Overflow {
                figure: "joining value",
                value: delta,
                delta: value,
            })?;
            joining.push((s.host_id.clone(), s.name.clone()));
        }
        if joining.is_empty() {
            return Ok(0);
        }
        self.breakers.shift(delta)?;
        for (host, name) in &joining {
            self.members
                .entry(host.clone())
                .or_default()
                .insert(name.clone());
        }
        Ok(joining.len())
    }

    /// Removes `host_id`'s strategies from the firm's figures: `last_values` (their last known
    /// values) leave the baselines. Answers the strategies removed (none: not a member).
    pub fn remove_host(
        &mut self,
        host_id: &str,
        last_values: &BTreeMap<String, Decimal>,
    ) -> Result<Vec<String>, MembershipError> {
        let Some(names) = self.members.get(host_id) else {
            return Ok(Vec::new());
        };
        let mut delta = Decimal::ZERO;
        for name in names {
            if let Some(v) = last_values.get(name) {
                delta = delta.checked_sub(*v).ok_or(MembershipError::Overflow {
                    figure: "leaving value",
                    value: delta,
                    delta: *v,
                })?;
            }
        }
        self.breakers.shift(delta)?;
        let removed = self.members.remove(host_id).unwrap_or_default();
        Ok(removed.into_iter().collect())
    }
}

/// The firm's value as its members' last known values make it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirmTotal {
    /// The sum of every member's last known value.
    Value(Decimal),
    /// The sum does not fit a decimal: the bound of its sign, for a breaker to trip on as
    /// "cannot be judged" (fail closed).
    Unjudged(Decimal),
    /// No member yet, or a member without a value in what the hosts report (its host record
    /// lost): judging a sum that misses it would read its absence as a loss.
    Incomplete,
}

impl FirmTotal {
    /// The figure to show: the sum, saturated at the decimal bounds; none while incomplete.
    pub fn shown(self) -> Option<Decimal> {
        match self {
            FirmTotal::Value(v) | FirmTotal::Unjudged(v) => Some(v),
            FirmTotal::Incomplete => None,
        }
    }
}

/// The firm's value: the sum of every member's last known value (see [`FirmTotal`]).
pub fn member_total(control: &FirmControl, reported: &[RemoteStrategy]) -> FirmTotal {
    let mut total = Some(Decimal::ZERO);
    let mut bound = Decimal::MAX;
    let mut counted = 0usize;
    for s in reported {
        if !control.is_member(&s.host_id, &s.name) {
            continue;
        }
        let Some(v) = s.portfolio_value else {
            return FirmTotal::Incomplete;
        };
        if let Some(t) = total {
            total = t.checked_add(v);
            if total.is_none() {
                bound = if v < Decimal::ZERO {
                    Decimal::MIN
                } else {
                    Decimal::MAX
                };
            }
        }
        counted += 1;
    }
    let members: usize = control.members.values().map(|s| s.len()).sum();
    match total {
        _ if counted != members || members == 0 => FirmTotal::Incomplete,
        Some(t) => FirmTotal::Value(t),
        None => FirmTotal::Unjudged(bound),
    }
}

/// Submission counters last seen, one per strategy: how many orders the firm's strategies
/// submitted between two evaluations, a host's restart included.
#[derive(Debug, Clone, Default)]
pub struct OrderCounters {
    last: BTreeMap<(String, String), u64>,
}

impl OrderCounters {
    /// The submissions since the last call. A counter that went back (its host restarted
    /// without carrying it) counts from zero; a strategy seen for the first time counts
    /// nothing (its earlier orders were before this host looked). Strategies no longer
    /// reported are forgotten, so the table holds the firm's strategies only.
    pub fn advance(&mut self, reported: &[RemoteStrategy]) -> u64 {
        let mut next = BTreeMap::new();
        let mut new = 0u64;
        for s in reported {
            let key = (s.host_id.clone(), s.name.clone());
            if let Some(before) = self.last.get(&key) {
                new = new.saturating_add(if s.orders_submitted >= *before {
                    s.orders_submitted - before
                } else {
                    s.orders_submitted
                });
            }
            next.insert(key, s.orders_submitted);
        }
        self.last = next;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breakers::{DailyLossState, DrawdownState};
    use crate::state_machine::EngineState;
    use rust_decimal_macros::dec;

    fn report(host: &str, name: &str, value: Option<Decimal>, orders: u64) -> RemoteStrategy {
        RemoteStrategy {
            host_id: host.into(),
            name: name.into(),
            desk: None,
            state: EngineState::Normal,
            portfolio_value: value,
            daily_pnl: None,
            orders_submitted: orders,
        }
    }

    fn with_baselines(hwm: Decimal, open: Decimal) -> FirmControl {
        let mut c = FirmControl::default();
        c.breakers.drawdown = Some(DrawdownState {
            high_water_mark: hwm,
        });
        c.breakers.daily_loss = Some(DailyLossState {
            session_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(),
            open_value: open,
        });
        c
    }

    #[test]
    fn test_admit_when_strategy_reports_first_value_then_joins_value_and_baselines_alike() {
        let mut c = with_baselines(dec!(200), dec!(190));
        c.members.entry("a".into()).or_default().insert("s1".into());
        let reported = [
            report("a", "s1", Some(dec!(180)), 0),
            report("b", "s2", Some(dec!(100)), 0),
            report("c", "s3", None, 0),
        ];
        assert_eq!(c.admit(&reported), Ok(1));
        assert_eq!(c.breakers.drawdown.unwrap().high_water_mark, dec!(300));
        assert_eq!(c.breakers.daily_loss.unwrap().open_value, dec!(290));
        assert_eq!(c.breakers.basis, 1);
        assert!(c.is_member("b", "s2"));
        assert!(!c.is_member("c", "s3"), "no value yet: not a member");
        // Admitting again changes nothing: a join is counted once.
        let before = c.clone();
        assert_eq!(c.admit(&reported), Ok(0));
        assert_eq!(c, before);
    }

    #[test]
    fn test_admit_when_no_baseline_yet_then_members_only() {
        let mut c = FirmControl::default();
        assert_eq!(c.admit(&[report("a", "s1", Some(dec!(50)), 0)]), Ok(1));
        assert_eq!(c.breakers.drawdown, None);
        assert!(c.is_member("a", "s1"));
    }

    #[test]
    fn test_remove_host_when_member_then_last_values_leave_baselines() {
        let mut c = with_baselines(dec!(300), dec!(300));
        c.members.entry("a".into()).or_default().insert("s1".into());
        c.members.entry("b".into()).or_default().insert("s2".into());
        let values = BTreeMap::from([("s2".to_string(), dec!(120))]);
        assert_eq!(c.remove_host("b", &values), Ok(vec!["s2".to_string()]));
        assert_eq!(c.breakers.drawdown.unwrap().high_water_mark, dec!(180));
        assert_eq!(c.breakers.daily_loss.unwrap().open_value, dec!(180));
        assert!(!c.is_member("b", "s2"));
        assert_eq!(c.remove_host("b", &values), Ok(vec![]));
        assert_eq!(c.breakers.drawdown.unwrap().high_water_mark, dec!(180));
    }

    #[test]
    fn test_shift_when_overflowing_then_nothing_changes() {
        let mut s = FirmBreakerState {
            drawdown: Some(DrawdownState {
                high_water_mark: Decimal::MAX,
            }),
            ..Default::default()
        };
        let before = s.clone();
        assert!(s.shift(dec!(1)).is_err());
        assert_eq!(s, before);
    }

    #[test]
    fn test_member_total_when_a_member_has_no_value_then_none() {
        let mut c = FirmControl::default();
        c.admit(&[
            report("a", "s1", Some(dec!(10)), 0),
            report("b", "s2", Some(dec!(20)), 0),
        ])
        .unwrap();
        let full = [
            report("a", "s1", Some(dec!(11)), 0),
            report("b", "s2", Some(dec!(20)), 0),
            report("c", "s3", Some(dec!(5)), 0),
        ];
        assert_eq!(
            member_total(&c, &full),
            FirmTotal::Value(dec!(31)),
            "non-members left out"
        );
        let missing = [report("a", "s1", Some(dec!(11)), 0)];
        assert_eq!(member_total(&c, &missing), FirmTotal::Incomplete);
        let unvalued = [
            report("a", "s1", Some(dec!(11)), 0),
            report("b", "s2", None, 0),
        ];
        assert_eq!(member_total(&c, &unvalued), FirmTotal::Incomplete);
        assert_eq!(
            member_total(&FirmControl::default(), &full),
            FirmTotal::Incomplete
        );
        // A sum past the decimal's range is not a figure: the bound of its sign, to trip on.
        let huge = [
            report("a", "s1", Some(Decimal::MAX), 0),
            report("b", "s2", Some(dec!(1)), 0),
        ];
        assert_eq!(member_total(&c, &huge), FirmTotal::Unjudged(Decimal::MAX));
        let deep = [
            report("a", "s1", Some(Decimal::MIN), 0),
            report("b", "s2", Some(dec!(-1)), 0),
        ];
        assert_eq!(member_total(&c, &deep), FirmTotal::Unjudged(Decimal::MIN));
        assert_eq!(
            FirmTotal::Unjudged(Decimal::MIN).shown(),
            Some(Decimal::MIN)
        );
        assert_eq!(FirmTotal::Incomplete.shown(), None);
    }

    #[test]
    fn test_order_counters_when_host_restarts_then_new_orders_counted_from_zero() {
        let mut n = OrderCounters::default();
        assert_eq!(n.advance(&[report("a", "s1", None, 7)]), 0, "first sight");
        assert_eq!(n.advance(&[report("a", "s1", None, 9)]), 2);
        // Restarted: the counter went back to 3, all of them new.
        assert_eq!(
            n.advance(&[report("a", "s1", None, 3), report("b", "s2", None, 4)]),
            3
        );
        assert_eq!(
            n.advance(&[report("a", "s1", None, 3), report("b", "s2", None, 6)]),
            2
        );
        assert_eq!(n.advance(&[]), 0);
        assert!(n.last.is_empty(), "departed strategies forgotten");
    }
}
