//! What the count-in-a-window breakers (order rate, error rate, pre-trade denials) share:
//! their settings, and reading them from a section whose count field has the breaker's own
//! name (`max_orders`, `max_errors`, `max_denials`).

use crate::breaker::ResetPolicy;
use crate::config::values::{positive_count, window_of};
use crate::config::DurationValue;
use chrono::Duration;

/// A count-in-a-window breaker's settings: more than `max` events inside `window` trips.
#[derive(Debug, Clone, PartialEq)]
pub struct CountWindowSettings {
    /// The most events allowed inside the window.
    pub max: usize,
    /// The window.
    pub window: Duration,
    /// How it resets.
    pub reset: ResetPolicy,
}

/// A count-in-a-window section as written, its count field whatever the breaker calls it.
pub(crate) struct CountWindowSection<'a> {
    /// The count as written.
    pub count: Option<i64>,
    /// The window as written (absent: 60 s).
    pub window: &'a Option<DurationValue>,
    /// The switch (absent: on).
    pub enabled: Option<bool>,
    /// The reset as written.
    pub reset: Option<ResetPolicy>,
}

/// What a breaker defaults to where its section is silent.
pub(crate) struct CountWindowDefaults {
    /// The count field's name in the section, for problems.
    pub count_field: &'static str,
    /// The count when none is written.
    pub count: usize,
    /// The reset when none is written.
    pub reset: ResetPolicy,
}

impl CountWindowSection<'_> {
    /// The settings, validated even when switched off (a typo in a disabled section is still
    /// a typo); `None` when switched off.
    pub(crate) fn settle(
        &self,
        defaults: CountWindowDefaults,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<CountWindowSettings> {
        let max = positive_count(
            self.count,
            defaults.count,
            &at(defaults.count_field),
            problems,
        );
        let window = window_of(self.window, &at("window"), problems);
        self.enabled.unwrap_or(true).then_some(CountWindowSettings {
            max,
            window,
            reset: self.reset.unwrap_or(defaults.reset),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(field: &str) -> String {
        format!("x.{field}")
    }

    const DEFAULTS: fn() -> CountWindowDefaults = || CountWindowDefaults {
        count_field: "max_things",
        count: 7,
        reset: ResetPolicy::Auto,
    };

    #[test]
    fn test_settle_when_silent_then_defaults_and_on() {
        let mut problems = vec![];
        let s = CountWindowSection {
            count: None,
            window: &None,
            enabled: None,
            reset: None,
        }
        .settle(DEFAULTS(), &at, &mut problems);
        assert!(problems.is_empty());
        assert_eq!(
            s,
            Some(CountWindowSettings {
                max: 7,
                window: Duration::seconds(60),
                reset: ResetPolicy::Auto
            })
        );
    }

    #[test]
    fn test_settle_when_off_with_bad_values_then_none_and_problems_name_the_fields() {
        let mut problems = vec![];
        let s = CountWindowSection {
            count: Some(0),
            window: &Some(DurationValue::Seconds(0)),
            enabled: Some(false),
            reset: Some(ResetPolicy::Manual),
        }
        .settle(DEFAULTS(), &at, &mut problems);
        assert_eq!(s, None);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("x.max_things: 0"), "{problems:?}");
        assert!(problems[1].starts_with("x.window: 0"), "{problems:?}");
    }

    #[test]
    fn test_settle_when_written_then_taken_as_written() {
        let mut problems = vec![];
        let s = CountWindowSection {
            count: Some(1_000_000),
            window: &Some(DurationValue::Text("1m".into())),
            enabled: Some(true),
            reset: Some(ResetPolicy::Manual),
        }
        .settle(DEFAULTS(), &at, &mut problems)
        .unwrap();
        assert!(problems.is_empty());
        assert_eq!(
            (s.max, s.window.num_seconds(), s.reset),
            (1_000_000, 60, ResetPolicy::Manual)
        );
    }
}
