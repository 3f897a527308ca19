//! `[strategy.reconciliation]`: the engine's book against the venue's reports, and what an
//! unclean stop means for the next start.

use super::values::{DecimalValue, DurationValue};
use crate::settings::{AfterCrash, ReconciliationSettings};
use rust_decimal::Decimal;
use serde::Deserialize;

/// `[strategy.reconciliation]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconciliationSection {
    /// |venue − own| allowed per asset (default 0).
    pub position_tolerance: Option<DecimalValue>,
    /// Seconds a difference may last (default 10).
    pub grace: Option<DurationValue>,
    /// `reconcile` (default) | `trust_checkpoint`.
    pub after_crash: Option<AfterCrash>,
}

/// Validates the section; `prefix` is `strategy[i].reconciliation`.
pub fn settings(
    s: &ReconciliationSection,
    prefix: &str,
    problems: &mut Vec<String>,
) -> Option<ReconciliationSettings> {
    let before = problems.len();
    let mut out = ReconciliationSettings::default();
    if let Some(v) = &s.position_tolerance {
        let field = format!("{prefix}.position_tolerance");
        match v.to_decimal(&field, problems) {
            Some(t) if t >= Decimal::ZERO => out.position_tolerance = t,
            Some(t) => problems.push(format!("{field}: {t} must be zero or positive")),
            None => {}
        }
    }
    if let Some(g) = &s.grace {
        if let Some(d) = g.to_duration(&format!("{prefix}.grace"), problems) {
            out.grace = d;
        }
    }
    if let Some(a) = s.after_crash {
        out.after_crash = a;
    }
    (problems.len() == before).then_some(out)
}
