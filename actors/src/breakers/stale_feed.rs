//! Stale feed: during a session, no portfolio snapshot for longer than `max_snapshot_age`
//! trips, because every portfolio breaker is blind without one. A [`SilenceRule`] that waits
//! for snapshots.

use crate::breaker::BreakerKind;
use crate::domain::Valuation;
use crate::rules::market_session::MarketSession;
use crate::rules::silence::{Awaited, Heard, SilenceRule};
use chrono::{DateTime, Duration, Utc};

/// The stale-feed rule: a [`SilenceRule`] fed [`Valuation`]s through the
/// [`Rule`](crate::breaker::Rule) trait.
pub type StaleFeedRule = SilenceRule<Valuation>;

/// A snapshot counts by when the engine received it: a host's clock cannot keep the feed
/// looking fresh.
impl Heard for Valuation {
    fn heard_at(&self) -> DateTime<Utc> {
        self.received_at
    }
}

impl SilenceRule<Valuation> {
    /// Trips when no snapshot came for more than `max_age` during a session; the clock starts
    /// at `started` so a feed that never speaks is caught too.
    pub fn new(max_age: Duration, market: MarketSession, started: DateTime<Utc>) -> Self {
        SilenceRule::watching(
            BreakerKind::StaleFeed,
            Awaited::PORTFOLIO_SNAPSHOT,
            max_age,
            market,
            started,
            None,
        )
    }
}

/// The stale-feed breaker's settings (`[strategy.circuit_breakers.stale_feed]`).
#[derive(Debug, Clone, PartialEq)]
pub struct StaleFeedSettings {
    /// The longest silence allowed during a session.
    pub max_snapshot_age: Duration,
    /// How it resets.
    pub reset: crate::breaker::ResetPolicy,
}

/// `[strategy.circuit_breakers.stale_feed]` as written (absent: on, 60 s).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaleFeedSection {
    /// Longest silence during a session.
    pub max_snapshot_age: Option<crate::config::DurationValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

impl super::BreakerSpec for StaleFeedRule {
    type Settings = StaleFeedSettings;
    type Section = StaleFeedSection;
    const KIND: BreakerKind = BreakerKind::StaleFeed;
    const LISTED_WHEN_OFF: bool = true;
    fn reset(settings: &StaleFeedSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        _profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        let f = section.cloned().unwrap_or_default();
        let max_snapshot_age = crate::config::values::window_of(
            &f.max_snapshot_age,
            &at("max_snapshot_age"),
            problems,
        );
        f.enabled.unwrap_or(true).then_some(StaleFeedSettings {
            max_snapshot_age,
            reset: f.reset.unwrap_or(crate::breaker::ResetPolicy::Auto),
        })
    }
}

impl super::ActorBreaker for StaleFeedRule {
    fn build(settings: &StaleFeedSettings, context: &super::RuleContext) -> Self {
        StaleFeedRule::new(
            settings.max_snapshot_age,
            context.market.clone(),
            context.started,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{Rule, Verdict};
    use chrono::NaiveTime;
    use rust_decimal::Decimal;

    fn market() -> MarketSession {
        MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [],
        )
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn snapshot(received_at: &str) -> Valuation {
        Valuation {
            value: Decimal::ONE_HUNDRED,
            at: utc("2020-01-01T00:00:00Z"),
            received_at: utc(received_at),
        }
    }

    fn trip(v: Verdict) -> crate::breaker::Trip {
        match v {
            Verdict::Trip(t) => t,
            other => panic!("expected a trip, got {other:?}"),
        }
    }

    #[test]
    fn test_on_tick_when_silent_past_max_age_in_session_then_trips_once() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-09T14:00:00Z"));
        assert_eq!(
            r.on_tick(utc("2026-03-09T14:01:00Z")),
            Verdict::Quiet,
            "exactly 60 s is not stale"
        );
        let t = trip(r.on_tick(utc("2026-03-09T14:01:01Z")));
        assert_eq!(t.value, Decimal::from(61));
        assert_eq!(t.breaker, BreakerKind::StaleFeed);
        assert_eq!(t.summary, "no portfolio snapshot for 61 s > 60 s");
        assert_eq!(t.details["seconds_since_snapshot"], "61");
        assert_eq!(t.details["max_snapshot_age"], "60");
        assert_eq!(t.details["last_snapshot_at"], "2026-03-09T14:00:00+00:00");
        assert_eq!(r.on_tick(utc("2026-03-09T14:05:00Z")), Verdict::Quiet);
        assert!(
            r.on_heard(utc("2026-03-09T14:05:00Z")),
            "a snapshot clears it"
        );
    }

    #[test]
    fn test_evaluate_when_latched_then_snapshot_by_receipt_time_clears() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-09T14:00:00Z"));
        assert!(matches!(
            Rule::on_tick(&mut r, utc("2026-03-09T14:02:00Z")),
            Verdict::Trip(_)
        ));
        // The host's own timestamp is ancient; the receipt time is what counts.
        assert_eq!(
            r.evaluate(&snapshot("2026-03-09T14:02:01Z")),
            Ok(Verdict::Cleared)
        );
        assert_eq!(
            r.evaluate(&snapshot("2026-03-09T14:02:02Z")),
            Ok(Verdict::Quiet)
        );
        assert_eq!(r.kind(), BreakerKind::StaleFeed);
        assert!(r.has_input());
        assert_eq!(r.durable_state(), None);
    }

    #[test]
    fn test_on_tick_when_outside_session_then_never_trips() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-07T14:00:00Z"));
        assert_eq!(r.on_tick(utc("2026-03-07T20:00:00Z")), Verdict::Quiet); // Saturday
        assert_eq!(r.on_tick(utc("2026-03-09T13:00:00Z")), Verdict::Quiet); // Monday before the open
    }

    #[test]
    fn test_on_tick_when_silent_since_before_open_then_counts_from_open() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-09T10:00:00Z"));
        assert_eq!(r.on_tick(utc("2026-03-09T13:30:30Z")), Verdict::Quiet);
        assert!(matches!(
            r.on_tick(utc("2026-03-09T13:31:01Z")),
            Verdict::Trip(_)
        ));
    }

    #[test]
    fn test_rearm_when_still_silent_then_trips_again_and_reading_shows_age() {
        let mut r =
            StaleFeedRule::new(Duration::seconds(60), market(), utc("2026-03-09T14:00:00Z"));
        assert!(matches!(
            r.on_tick(utc("2026-03-09T14:01:01Z")),
            Verdict::Trip(_)
        ));
        assert!(Rule::rearm(&mut r, false, utc("2026-03-09T14:01:02Z")).is_some());
        r.on_heard(utc("2026-03-09T14:01:03Z"));
        assert!(Rule::rearm(&mut r, false, utc("2026-03-09T14:01:04Z")).is_none());
        let reading = Rule::reading(&r, utc("2026-03-09T14:01:13Z"));
        assert_eq!(reading.breaker, BreakerKind::StaleFeed);
        assert_eq!(reading.value, Some(Decimal::from(10)));
        assert_eq!(reading.limit, Some(Decimal::from(60)));
        assert!(reading.enabled && reading.ready);
    }
}
