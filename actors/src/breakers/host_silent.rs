//! The dead-man's switch: during a session, no host event (snapshot, order, fill, error,
//! `/done`, `/prices`, heartbeat) for longer than `timeout` trips. A [`SilenceRule`] that waits
//! for host events.
//!
//! Orders are host events too, and the order path must not send a message per order: it stamps
//! a shared [`HostBeacon`] instead (one atomic `fetch_max`), and the rule reads the beacon on
//! every tick. Events that reach the breaker as messages can still be fed through
//! [`Rule::evaluate`](crate::breaker::Rule::evaluate).

use crate::breaker::BreakerKind;
pub use crate::rules::beacon::HostBeacon;
use crate::rules::market_session::MarketSession;
use crate::rules::silence::{Awaited, Heard, SilenceRule};
use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;

/// The dead-man's switch: a [`SilenceRule`] whose input is a host event's time (by the
/// engine's clock), and which also reads a [`HostBeacon`] on every tick.
pub type HostSilentRule = SilenceRule<DateTime<Utc>>;

/// A host event's time is the event.
impl Heard for DateTime<Utc> {
    fn heard_at(&self) -> DateTime<Utc> {
        *self
    }
}

impl SilenceRule<DateTime<Utc>> {
    /// Trips when no host event came for more than `timeout` during a session on `market`,
    /// counting from `started` (start-up). Every tick first takes `beacon`'s latest stamp as a
    /// host event. Trip details: `seconds_since_host_event`, `timeout` (seconds),
    /// `last_host_event_at` (the start-up time when none came), `counted_from`.
    pub fn new(
        timeout: Duration,
        market: MarketSession,
        started: DateTime<Utc>,
        beacon: Arc<HostBeacon>,
    ) -> Self {
        SilenceRule::watching(
            BreakerKind::HostSilent,
            Awaited::HOST_EVENT,
            timeout,
            market,
            started,
            Some(beacon),
        )
    }
}

/// The dead-man's switch's settings (`[strategy.circuit_breakers.host_silent]`).
#[derive(Debug, Clone, PartialEq)]
pub struct HostSilentSettings {
    /// The longest silence from the host allowed during a session.
    pub timeout: Duration,
    /// How it resets.
    pub reset: crate::breaker::ResetPolicy,
}

/// `[strategy.circuit_breakers.host_silent]` as written: `{ timeout }` (absent: off).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSilentSection {
    /// Longest silence from the host during a session.
    pub timeout: Option<crate::config::DurationValue>,
    /// Switch.
    pub enabled: Option<bool>,
    /// `manual` (default) | `auto`.
    pub reset: Option<crate::breaker::ResetPolicy>,
}

impl super::BreakerSpec for HostSilentRule {
    type Settings = HostSilentSettings;
    type Section = HostSilentSection;
    const KIND: BreakerKind = BreakerKind::HostSilent;
    fn reset(settings: &HostSilentSettings) -> crate::breaker::ResetPolicy {
        settings.reset
    }
    fn settle(
        section: Option<&Self::Section>,
        _profile: crate::config::Profile,
        at: &dyn Fn(&str) -> String,
        problems: &mut Vec<String>,
    ) -> Option<Self::Settings> {
        let s = section.filter(|s| s.enabled.unwrap_or(true))?;
        let timeout = crate::config::values::window_of(&s.timeout, &at("timeout"), problems);
        Some(HostSilentSettings {
            timeout,
            reset: s.reset.unwrap_or(crate::breaker::ResetPolicy::Manual),
        })
    }
}

impl super::ActorBreaker for HostSilentRule {
    fn build(settings: &HostSilentSettings, context: &super::RuleContext) -> Self {
        HostSilentRule::new(
            settings.timeout,
            context.market.clone(),
            context.started,
            context.beacon.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::{Rule, Trip, Verdict};
    use chrono::{NaiveDate, NaiveTime};
    use rust_decimal::Decimal;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// NYSE hours: 09:30 to 16:00 New York, weekdays.
    fn nyse() -> MarketSession {
        MarketSession::new(chrono_tz::America::New_York, hm(9, 30), []).closing_at(hm(16, 0))
    }

    /// A crypto desk: UTC days, every day, closed on 2026-12-23.
    fn crypto() -> MarketSession {
        MarketSession::new(
            chrono_tz::UTC,
            NaiveTime::MIN,
            [NaiveDate::from_ymd_opt(2026, 12, 23).unwrap()],
        )
        .always_open()
    }

    fn rule(market: MarketSession, started: &str) -> (HostSilentRule, Arc<HostBeacon>) {
        let beacon = Arc::new(HostBeacon::new());
        let r = HostSilentRule::new(
            Duration::seconds(30),
            market,
            utc(started),
            Arc::clone(&beacon),
        );
        (r, beacon)
    }

    fn tick(r: &mut HostSilentRule, at: &str) -> Verdict {
        Rule::on_tick(r, utc(at))
    }

    fn tripped(v: Verdict) -> Trip {
        match v {
            Verdict::Trip(t) => t,
            other => panic!("expected a trip, got {other:?}"),
        }
    }

    #[test]
    fn test_stamp_when_older_than_last_then_keeps_latest() {
        let b = HostBeacon::new();
        assert_eq!(b.last(), None);
        b.stamp(utc("2026-03-09T14:00:05Z"));
        b.stamp(utc("2026-03-09T14:00:01Z"));
        assert_eq!(b.last(), Some(utc("2026-03-09T14:00:05Z")));
        b.stamp(utc("2026-03-09T14:00:05.000000001Z"));
        assert_eq!(b.last(), Some(utc("2026-03-09T14:00:05.000000001Z")));
        assert_eq!(HostBeacon::default().last(), None);
    }

    #[test]
    fn test_stamp_when_beyond_i64_nanoseconds_then_clamped_not_panicking() {
        let b = HostBeacon::new();
        b.stamp(utc("1600-01-01T00:00:00Z"));
        assert_eq!(b.last(), None, "clamped to the far past: as good as never");
        b.stamp(utc("2300-01-01T00:00:00Z"));
        assert_eq!(b.last(), Some(DateTime::from_timestamp_nanos(i64::MAX)));
    }

    #[test]
    fn test_stamp_when_many_threads_race_then_latest_wins() {
        let b = Arc::new(HostBeacon::new());
        let base = utc("2026-03-09T14:00:00Z");
        let threads: Vec<_> = (0..4)
            .map(|k| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        b.stamp(base + Duration::nanoseconds(i * 4 + k));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.last(), Some(base + Duration::nanoseconds(3999)));
    }

    #[test]
    fn test_on_tick_when_silent_since_start_up_past_timeout_then_trips_once() {
        let (mut r, _) = rule(nyse(), "2026-03-09T14:00:00Z");
        assert_eq!(
            tick(&mut r, "2026-03-09T14:00:30Z"),
            Verdict::Quiet,
            "exactly 30 s"
        );
        let t = tripped(tick(&mut r, "2026-03-09T14:00:31Z"));
        assert_eq!(t.breaker, BreakerKind::HostSilent);
        assert_eq!(t.at, utc("2026-03-09T14:00:31Z"));
        assert_eq!((t.value, t.limit), (Decimal::from(31), Decimal::from(30)));
        assert_eq!(t.summary, "no host event for 31 s > 30 s");
        assert_eq!(t.details["seconds_since_host_event"], "31");
        assert_eq!(t.details["timeout"], "30");
        assert_eq!(t.details["last_host_event_at"], "2026-03-09T14:00:00+00:00");
        assert_eq!(t.details["counted_from"], "2026-03-09T14:00:00+00:00");
        assert_eq!(
            tick(&mut r, "2026-03-09T14:10:00Z"),
            Verdict::Quiet,
            "latched"
        );
    }

    #[test]
    fn test_evaluate_when_host_event_then_timer_restarts() {
        let (mut r, _) = rule(nyse(), "2026-03-09T14:00:00Z");
        assert_eq!(r.evaluate(&utc("2026-03-09T14:00:20Z")), Ok(Verdict::Quiet));
        assert_eq!(tick(&mut r, "2026-03-09T14:00:50Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-03-09T14:00:51Z"));
        assert_eq!(t.details["last_host_event_at"], "2026-03-09T14:00:20+00:00");
        assert_eq!(t.value, Decimal::from(31));
    }

    #[test]
    fn test_evaluate_when_latched_and_new_event_then_cleared_and_can_trip_again() {
        let (mut r, _) = rule(nyse(), "2026-03-09T14:00:00Z");
        tripped(tick(&mut r, "2026-03-09T14:01:00Z"));
        assert_eq!(
            r.evaluate(&utc("2026-03-09T13:00:00Z")),
            Ok(Verdict::Quiet),
            "an event older than the last heard is old news"
        );
        assert_eq!(
            r.evaluate(&utc("2026-03-09T14:01:05Z")),
            Ok(Verdict::Cleared)
        );
        assert_eq!(r.evaluate(&utc("2026-03-09T14:01:06Z")), Ok(Verdict::Quiet));
        assert_eq!(tick(&mut r, "2026-03-09T14:01:36Z"), Verdict::Quiet);
        tripped(tick(&mut r, "2026-03-09T14:01:37Z"));
    }

    #[test]
    fn test_on_tick_when_beacon_stamped_then_counts_as_host_event() {
        let (mut r, beacon) = rule(nyse(), "2026-03-09T14:00:00Z");
        beacon.stamp(utc("2026-03-09T14:00:25Z"));
        assert_eq!(tick(&mut r, "2026-03-09T14:00:55Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-03-09T14:00:56Z"));
        assert_eq!(t.details["last_host_event_at"], "2026-03-09T14:00:25+00:00");
    }

    #[test]
    fn test_on_tick_when_beacon_stamped_after_trip_then_cleared_once() {
        let (mut r, beacon) = rule(nyse(), "2026-03-09T14:00:00Z");
        tripped(tick(&mut r, "2026-03-09T14:00:31Z"));
        assert_eq!(
            tick(&mut r, "2026-03-09T14:00:40Z"),
            Verdict::Quiet,
            "same stamp: still latched"
        );
        beacon.stamp(utc("2026-03-09T14:00:41Z"));
        assert_eq!(tick(&mut r, "2026-03-09T14:00:42Z"), Verdict::Cleared);
        assert_eq!(
            tick(&mut r, "2026-03-09T14:00:43Z"),
            Verdict::Quiet,
            "the same stamp is old news"
        );
        tripped(tick(&mut r, "2026-03-09T14:01:12Z"));
    }

    #[test]
    fn test_on_tick_when_beacon_older_than_evaluated_event_then_ignored() {
        let (mut r, beacon) = rule(nyse(), "2026-03-09T14:00:00Z");
        r.evaluate(&utc("2026-03-09T14:00:20Z")).unwrap();
        beacon.stamp(utc("2026-03-09T14:00:10Z"));
        assert_eq!(tick(&mut r, "2026-03-09T14:00:50Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-03-09T14:00:51Z"));
        assert_eq!(t.details["last_host_event_at"], "2026-03-09T14:00:20+00:00");
    }

    #[test]
    fn test_on_tick_when_outside_session_then_never_trips() {
        let (mut r, _) = rule(nyse(), "2026-03-06T20:59:00Z");
        assert_eq!(
            tick(&mut r, "2026-03-06T21:00:00Z"),
            Verdict::Quiet,
            "Friday after the close"
        );
        assert_eq!(
            tick(&mut r, "2026-03-07T15:00:00Z"),
            Verdict::Quiet,
            "Saturday"
        );
        assert_eq!(
            tick(&mut r, "2026-03-09T13:29:59Z"),
            Verdict::Quiet,
            "Monday before the open"
        );
    }

    #[test]
    fn test_on_tick_when_silent_since_before_open_then_counts_from_open() {
        let (mut r, _) = rule(nyse(), "2026-03-09T10:00:00Z");
        // Monday 2026-03-09 opens 13:30Z (daylight saving began on the 8th).
        assert_eq!(tick(&mut r, "2026-03-09T13:30:30Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-03-09T13:30:31Z"));
        assert_eq!(t.value, Decimal::from(31));
        assert_eq!(t.details["counted_from"], "2026-03-09T13:30:00+00:00");
        assert_eq!(t.details["last_host_event_at"], "2026-03-09T10:00:00+00:00");
    }

    #[test]
    fn test_on_tick_when_silent_since_previous_session_then_counts_from_this_open() {
        let (mut r, _) = rule(nyse(), "2026-03-06T14:30:00Z");
        r.evaluate(&utc("2026-03-06T20:59:50Z")).unwrap(); // Friday, 10 s before the close
        assert_eq!(tick(&mut r, "2026-03-09T13:30:30Z"), Verdict::Quiet);
        tripped(tick(&mut r, "2026-03-09T13:30:31Z"));
    }

    #[test]
    fn test_on_tick_when_crypto_desk_silent_at_3am_sunday_then_trips() {
        let (mut r, _) = rule(crypto(), "2026-03-07T12:00:00Z");
        r.evaluate(&utc("2026-03-08T02:59:00Z")).unwrap();
        assert_eq!(tick(&mut r, "2026-03-08T02:59:30Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-03-08T03:00:00Z"));
        assert_eq!(t.details["seconds_since_host_event"], "60");
    }

    #[test]
    fn test_on_tick_when_always_open_silent_across_daily_open_then_silence_carries_over() {
        let (mut r, _) = rule(crypto(), "2026-03-07T12:00:00Z");
        r.evaluate(&utc("2026-03-07T23:59:45Z")).unwrap();
        assert_eq!(tick(&mut r, "2026-03-08T00:00:15Z"), Verdict::Quiet, "30 s");
        let t = tripped(tick(&mut r, "2026-03-08T00:00:16Z"));
        assert_eq!(t.details["counted_from"], "2026-03-07T23:59:45+00:00");
    }

    #[test]
    fn test_on_tick_when_always_open_holiday_then_silence_counts_from_next_open() {
        let (mut r, _) = rule(crypto(), "2026-12-22T23:00:00Z");
        r.evaluate(&utc("2026-12-22T23:59:50Z")).unwrap();
        assert_eq!(
            tick(&mut r, "2026-12-23T00:00:00Z"),
            Verdict::Quiet,
            "10 s, then the holiday"
        );
        assert_eq!(
            tick(&mut r, "2026-12-23T12:00:00Z"),
            Verdict::Quiet,
            "the holiday has no session"
        );
        assert_eq!(tick(&mut r, "2026-12-24T00:00:30Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-12-24T00:00:31Z"));
        assert_eq!(t.details["counted_from"], "2026-12-24T00:00:00+00:00");
    }

    #[test]
    fn test_on_tick_when_always_open_new_york_across_spring_forward_then_exact() {
        let market = MarketSession::new(chrono_tz::America::New_York, hm(9, 30), []).always_open();
        let beacon = Arc::new(HostBeacon::new());
        let mut r = HostSilentRule::new(
            Duration::seconds(60),
            market,
            utc("2026-03-07T15:00:00Z"),
            Arc::clone(&beacon),
        );
        // Sunday 09:29:30 EDT, in Saturday's session; Sunday's opens at 13:30Z.
        beacon.stamp(utc("2026-03-08T13:29:30Z"));
        assert_eq!(tick(&mut r, "2026-03-08T13:30:30Z"), Verdict::Quiet);
        let t = tripped(tick(&mut r, "2026-03-08T13:30:31Z"));
        assert_eq!(t.value, Decimal::from(61));
    }

    #[test]
    fn test_on_tick_when_every_day_midnight_sessions_then_silence_carries_over_midnight() {
        // The demo calendar: UTC, open at midnight, every day, no close: sessions touch.
        let market = MarketSession::new(chrono_tz::UTC, NaiveTime::MIN, []).trading_every_day();
        let (mut r, _) = rule(market, "2026-03-07T23:59:50Z");
        assert_eq!(tick(&mut r, "2026-03-08T00:00:20Z"), Verdict::Quiet);
        tripped(tick(&mut r, "2026-03-08T00:00:21Z"));
    }

    #[test]
    fn test_rearm_when_still_silent_then_trips_again_at_once() {
        let (mut r, beacon) = rule(crypto(), "2026-03-08T03:00:00Z");
        tripped(tick(&mut r, "2026-03-08T03:00:31Z"));
        let again = Rule::rearm(&mut r, false, utc("2026-03-08T03:00:40Z")).expect("still silent");
        assert_eq!(again.value, Decimal::from(40));
        beacon.stamp(utc("2026-03-08T03:00:45Z"));
        assert_eq!(
            Rule::rearm(&mut r, false, utc("2026-03-08T03:00:50Z")),
            None
        );
        assert_eq!(tick(&mut r, "2026-03-08T03:01:15Z"), Verdict::Quiet);
        tripped(tick(&mut r, "2026-03-08T03:01:16Z"));
    }

    #[test]
    fn test_reading_when_beacon_newer_than_last_tick_then_shows_it() {
        let (mut r, beacon) = rule(crypto(), "2026-03-08T03:00:00Z");
        let reading = Rule::reading(&r, utc("2026-03-08T03:00:12Z"));
        assert_eq!(reading.breaker, BreakerKind::HostSilent);
        assert_eq!(
            (reading.value, reading.limit),
            (Some(Decimal::from(12)), Some(Decimal::from(30)))
        );
        beacon.stamp(utc("2026-03-08T03:00:10Z"));
        let reading = Rule::reading(&r, utc("2026-03-08T03:00:12Z"));
        assert_eq!(reading.value, Some(Decimal::from(2)));
        assert_eq!(
            reading.details["last_host_event_at"],
            "2026-03-08T03:00:10+00:00"
        );
        assert!(reading.enabled && reading.ready && r.has_input());
        assert_eq!(r.kind(), BreakerKind::HostSilent);
        assert_eq!(r.limit(), Duration::seconds(30));
        assert_eq!(r.durable_state(), None);
        assert_eq!(tick(&mut r, "2026-03-08T03:00:12Z"), Verdict::Quiet);
    }
}
