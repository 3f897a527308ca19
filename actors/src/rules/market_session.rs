//! When a market's trading session opens, in its own time zone.
//!
//! A session runs from the local open time to the close (or, without one, the end of that local
//! calendar day). Weekends and configured holidays have none, and instants before the open belong
//! to no session.
//!
//! An always-open market (crypto: [`MarketSession::always_open`]) has a session starting on every
//! calendar day that is not a holiday, weekends included, and each runs from that day's open to the
//! next calendar day's open, so consecutive sessions touch and the close is ignored. A holiday has
//! no session starting on it: the day before still runs to the holiday's open, and nothing runs
//! from there to the next day's open.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// A stretch of time `[from, until)` that belongs to one session, or to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSpan {
    /// The session, if any.
    pub session: Option<NaiveDate>,
    /// Start, inclusive.
    pub from: DateTime<Utc>,
    /// End, exclusive.
    pub until: DateTime<Utc>,
}

impl SessionSpan {
    /// Whether `at` falls inside.
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.from <= at && at < self.until
    }
}

/// A market's session calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketSession {
    timezone: Tz,
    open: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
    weekends: bool,
    close: Option<NaiveTime>,
    always_open: bool,
}

impl MarketSession {
    /// A calendar opening at `open` local time in `timezone`, closed on `holidays`.
    pub fn new(
        timezone: Tz,
        open: NaiveTime,
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Self {
        Self {
            timezone,
            open,
            holidays: holidays.into_iter().collect(),
            weekends: false,
            close: None,
            always_open: false,
        }
    }

    /// A calendar whose sessions end at `close` local time (without one, a session runs to
    /// the end of its local day).
    pub fn closing_at(mut self, close: NaiveTime) -> Self {
        self.close = Some(close);
        self
    }

    /// A calendar whose weekends have sessions too (crypto, demos).
    pub fn trading_every_day(mut self) -> Self {
        self.weekends = true;
        self
    }

    /// A 24/7 calendar (crypto): every calendar day but a holiday has a session, weekends
    /// included, running from its `open` to the next calendar day's `open` even when that next
    /// day is a holiday. A close set by [`Self::closing_at`], before or after, is ignored.
    pub fn always_open(mut self) -> Self {
        self.weekends = true;
        self.always_open = true;
        self
    }

    /// Whether the calendar was made [`Self::always_open`].
    pub fn is_always_open(&self) -> bool {
        self.always_open
    }

    /// The market's time zone.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// Whether `date` has a session.
    pub fn is_trading_day(&self, date: NaiveDate) -> bool {
        (self.weekends || !matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
            && !self.holidays.contains(&date)
    }

    /// The instant the session of `date` opens. On a daylight-saving gap the first valid
    /// instant after the local open time is taken.
    pub fn open_instant(&self, date: NaiveDate) -> DateTime<Utc> {
        self.local_instant(date, self.open)
    }

    /// The instant the session of `date` ends: its close, or the next local midnight; for an
    /// always-open market, the next calendar day's open (23 or 25 hours later across a
    /// daylight-saving change).
    pub fn close_instant(&self, date: NaiveDate) -> DateTime<Utc> {
        if self.always_open {
            return self.open_instant(date.succ_opt().expect("date in range"));
        }
        match self.close {
            Some(close) if close > self.open => self.local_instant(date, close),
            _ => self.local_midnight(date.succ_opt().expect("date in range")),
        }
    }

    fn local_instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = date.and_time(time);
        match self.timezone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
            chrono::LocalResult::None => self.first_after_gap(local),
        }
    }

    /// The instant for a local time the zone skipped: the same wall time an hour later for
    /// the usual spring-forward gap (02:30 → 03:30), else the first quarter hour that exists,
    /// since a zone may skip a whole day (Samoa, 2011-12-30).
    fn first_after_gap(&self, local: chrono::NaiveDateTime) -> DateTime<Utc> {
        std::iter::once(local + chrono::Duration::hours(1))
            .chain((1..=48 * 4).map(|quarter| local + chrono::Duration::minutes(15 * quarter)))
            .find_map(|later| self.timezone.from_local_datetime(&later).earliest())
            .map_or_else(
                // No zone skips two days; read the wall time as UTC rather than fail.
                || Utc.from_utc_datetime(&local),
                |t| t.with_timezone(&Utc),
            )
    }

    /// The session `at` belongs to: its local date, if the market is open then.
    pub fn session_of(&self, at: DateTime<Utc>) -> Option<NaiveDate> {
        if self.always_open {
            let date = self.last_open_date(at);
            return self.is_trading_day(date).then_some(date);
        }
        let date = at.with_timezone(&self.timezone).date_naive();
        (self.is_trading_day(date)
            && at >= self.open_instant(date)
            && at < self.close_instant(date))
        .then_some(date)
    }

    /// The stretch of time around `at` over which [`Self::session_of`] gives the same answer.
    pub fn session_span(&self, at: DateTime<Utc>) -> SessionSpan {
        if self.always_open {
            let date = self.last_open_date(at);
            return SessionSpan {
                session: self.is_trading_day(date).then_some(date),
                from: self.open_instant(date),
                until: self.close_instant(date),
            };
        }
        let date = at.with_timezone(&self.timezone).date_naive();
        let day_start = self.local_midnight(date);
        let day_end = self.local_midnight(date.succ_opt().expect("date in range"));
        if !self.is_trading_day(date) {
            return SessionSpan {
                session: None,
                from: day_start,
                until: day_end,
            };
        }
        let open = self.open_instant(date);
        let close = self.close_instant(date);
        if at < open {
            SessionSpan {
                session: None,
                from: day_start,
                until: open,
            }
        } else if at < close {
            SessionSpan {
                session: Some(date),
                from: open,
                until: close,
            }
        } else {
            SessionSpan {
                session: None,
                from: close,
                until: day_end,
            }
        }
    }

    /// The latest calendar date whose open is at or before `at`: the date of the session `at`
    /// falls in when the market is always open (and that date is no holiday). Usually the local
    /// date of `at` or the day before; a zone that skipped a day can push an open later, so a
    /// few days back are tried.
    fn last_open_date(&self, at: DateTime<Utc>) -> NaiveDate {
        let local = at.with_timezone(&self.timezone).date_naive();
        let mut date = local;
        for _ in 0..4 {
            if self.open_instant(date) <= at {
                return date;
            }
            match date.pred_opt() {
                Some(before) => date = before,
                None => break,
            }
        }
        local.pred_opt().unwrap_or(local)
    }

    fn local_midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_time(NaiveTime::MIN);
        match self.timezone.from_local_datetime(&local).earliest() {
            Some(t) => t.with_timezone(&Utc),
            // A zone whose clocks skip midnight: the day starts when time exists again.
            None => self.first_after_gap(local),
        }
    }

    /// Whether sessions end at a configured close (or, always open, at the next day's open)
    /// rather than running to the next open.
    pub fn has_close(&self) -> bool {
        self.always_open || self.close.is_some()
    }

    /// The instant a `day` order accepted at `at` expires: the close of the session `at` falls
    /// in, or of the next session when `at` falls in none (API v1.2: a day order accepted
    /// outside a session belongs to the next one). Without a configured close a session runs
    /// to the next open, so the answer is the first open after `at`. Always later than `at`,
    /// and the same for every instant from `at` up to it.
    pub fn day_order_expiry(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        if !self.has_close() {
            return self.next_open_after(at);
        }
        let session = self.session_of(at).unwrap_or_else(|| {
            let open = self.next_open_after(at);
            if self.always_open {
                self.last_open_date(open)
            } else {
                open.with_timezone(&self.timezone).date_naive()
            }
        });
        self.close_instant(session)
    }

    /// The next session open strictly after `at`.
    pub fn next_open_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut date = at.with_timezone(&self.timezone).date_naive();
        loop {
            if self.is_trading_day(date) {
                let open = self.open_instant(date);
                if open > at {
                    return open;
                }
            }
            date = date.succ_opt().expect("date in range");
        }
    }
}

#[cfg(test)]
mod samoa {
    use super::*;

    /// Samoa skipped 2011-12-30 entirely (UTC−10 to UTC+14): no session there may panic.
    #[test]
    fn test_session_when_zone_skips_a_whole_day_then_no_panic() {
        let m = MarketSession::new(
            chrono_tz::Pacific::Apia,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [],
        )
        .closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap())
        .trading_every_day();
        let at: DateTime<Utc> = "2011-12-29T22:00:00Z".parse().unwrap();
        let _ = m.session_span(at);
        let _ = m.session_of(at);
        let skipped = NaiveDate::from_ymd_opt(2011, 12, 30).unwrap();
        let open = m.open_instant(skipped);
        assert!(open > at - chrono::Duration::days(2));
        let _ = m.close_instant(skipped);
        let _ = m.next_open_after(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nyse() -> MarketSession {
        MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
            [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
        )
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn test_open_instant_when_winter_then_1430z() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 6).unwrap(); // Friday before the change
        assert_eq!(nyse().open_instant(d), utc("2026-03-06T14:30:00Z"));
    }

    #[test]
    fn test_open_instant_when_summer_then_1330z() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(); // Monday after 2026-03-08
        assert_eq!(nyse().open_instant(d), utc("2026-03-09T13:30:00Z"));
    }

    #[test]
    fn test_session_of_when_before_open_then_none() {
        assert_eq!(nyse().session_of(utc("2026-03-09T13:29:59Z")), None);
        assert_eq!(
            nyse().session_of(utc("2026-03-09T13:30:00Z")),
            NaiveDate::from_ymd_opt(2026, 3, 9)
        );
    }

    #[test]
    fn test_session_of_when_close_set_then_evening_has_no_session() {
        let m = nyse().closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap());
        assert!(m.session_of(utc("2026-03-09T19:59:59Z")).is_some());
        assert_eq!(m.session_of(utc("2026-03-09T20:00:00Z")), None);
        let span = m.session_span(utc("2026-03-09T21:00:00Z"));
        assert_eq!(
            (span.session, span.from),
            (None, utc("2026-03-09T20:00:00Z"))
        );
    }

    #[test]
    fn test_session_of_when_weekend_or_holiday_then_none() {
        assert_eq!(nyse().session_of(utc("2026-03-07T15:00:00Z")), None); // Saturday
        assert_eq!(nyse().session_of(utc("2026-12-25T16:00:00Z")), None); // holiday
    }

    #[test]
    fn test_next_open_after_when_friday_evening_then_monday() {
        assert_eq!(
            nyse().next_open_after(utc("2026-03-06T21:00:00Z")),
            utc("2026-03-09T13:30:00Z")
        );
    }

    /// The calendars the span property is checked on: New York and UTC (whose "daylight-saving
    /// days" change nothing), plain, with a close, and always open; opens at 09:30, at midnight
    /// and inside New York's spring-forward gap.
    fn calendar(zone: u8, open: u8, mode: u8) -> MarketSession {
        let tz = if zone == 0 {
            chrono_tz::America::New_York
        } else {
            chrono_tz::UTC
        };
        let open = match open {
            0 => NaiveTime::from_hms_opt(9, 30, 0),
            1 => Some(NaiveTime::MIN),
            _ => NaiveTime::from_hms_opt(2, 30, 0),
        }
        .unwrap();
        let holidays = [
            NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, 8).unwrap(), // a Sunday, the spring change
            NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), // the Monday after the fall change
        ];
        let m = MarketSession::new(tz, open, holidays);
        match mode {
            0 => m,
            1 => m.closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap()),
            _ => m.always_open(),
        }
    }

    proptest::proptest! {
        /// The cached span agrees with the direct answer at every instant inside it.
        #[test]
        fn prop_session_span_agrees_with_session_of(secs in 0i64..(86_400 * 400), probe in 0i64..86_400, closes in proptest::bool::ANY) {
            let m = if closes { nyse().closing_at(NaiveTime::from_hms_opt(16, 0, 0).unwrap()) } else { nyse() };
            let at = utc("2026-01-01T00:00:00Z") + chrono::Duration::seconds(secs);
            let span = m.session_span(at);
            proptest::prop_assert!(span.contains(at));
            proptest::prop_assert_eq!(span.session, m.session_of(at));
            let inside = span.from + chrono::Duration::seconds(probe % ((span.until - span.from).num_seconds().max(1)));
            proptest::prop_assert_eq!(span.session, m.session_of(inside));
            proptest::prop_assert_eq!(m.session_of(span.until) == span.session && span.session.is_some(), false);
        }

        /// The same on every calendar kind, always-open included, and both agree with the
        /// definition: `at` is in the session of a trading day `d` when `open(d) <= at <
        /// close(d)`, and `next_open_after` is the first such open after `at`.
        #[test]
        fn prop_session_span_agrees_with_session_of_on_every_calendar(
            secs in 0i64..(86_400 * 400),
            probe in 0i64..(86_400 * 2),
            zone in 0u8..2,
            open in 0u8..3,
            mode in 0u8..3,
        ) {
            let m = calendar(zone, open, mode);
            let at = utc("2026-01-01T00:00:00Z") + chrono::Duration::seconds(secs);
            let span = m.session_span(at);
            proptest::prop_assert!(span.contains(at));
            proptest::prop_assert_eq!(span.session, m.session_of(at));
            let inside = span.from + chrono::Duration::seconds(probe % ((span.until - span.from).num_seconds().max(1)));
            proptest::prop_assert_eq!(span.session, m.session_of(inside));
            proptest::prop_assert_eq!(m.session_of(span.until) == span.session && span.session.is_some(), false);
            let local = at.with_timezone(&m.timezone()).date_naive();
            let by_definition = [local.pred_opt().unwrap(), local]
                .into_iter()
                .rev()
                .find(|&d| m.is_trading_day(d) && m.open_instant(d) <= at && at < m.close_instant(d));
            proptest::prop_assert_eq!(m.session_of(at), by_definition);
            let next = m.next_open_after(at);
            proptest::prop_assert!(next > at);
            let next_date = next.with_timezone(&m.timezone()).date_naive();
            proptest::prop_assert!(m.is_trading_day(next_date));
            proptest::prop_assert_eq!(m.open_instant(next_date), next);
            if let Some(d) = span.session {
                proptest::prop_assert_eq!((span.from, span.until), (m.open_instant(d), m.close_instant(d)));
                proptest::prop_assert!(next >= span.until || !m.is_always_open());
            }
        }
    }

    #[test]
    fn test_open_instant_when_open_in_dst_gap_then_next_valid_instant() {
        let m = MarketSession::new(
            chrono_tz::America::New_York,
            NaiveTime::from_hms_opt(2, 30, 0).unwrap(),
            [],
        );
        let d = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(m.open_instant(d), utc("2026-03-08T07:30:00Z"));
    }
}

#[cfg(test)]
mod always_open {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// A crypto desk on UTC days, closed on one holiday (a Wednesday).
    fn crypto() -> MarketSession {
        MarketSession::new(chrono_tz::UTC, NaiveTime::MIN, [date(2026, 12, 23)]).always_open()
    }

    /// Always open, with a New York 09:30 open: sessions run 09:30 to 09:30 local.
    fn new_york() -> MarketSession {
        MarketSession::new(
            chrono_tz::America::New_York,
            hm(9, 30),
            [date(2026, 12, 25)],
        )
        .always_open()
    }

    #[test]
    fn test_session_of_when_always_open_on_weekend_then_that_day() {
        let m = crypto();
        assert_eq!(
            m.session_of(utc("2026-03-07T00:00:00Z")),
            Some(date(2026, 3, 7))
        );
        assert_eq!(
            m.session_of(utc("2026-03-08T03:00:00Z")),
            Some(date(2026, 3, 8))
        );
        assert!(m.is_trading_day(date(2026, 3, 8)));
        assert!(m.is_always_open());
        assert!(!MarketSession::new(chrono_tz::UTC, NaiveTime::MIN, []).is_always_open());
    }

    #[test]
    fn test_session_of_when_always_open_across_midnight_then_sessions_touch() {
        let m = crypto();
        assert_eq!(
            m.session_of(utc("2026-03-06T23:59:59Z")),
            Some(date(2026, 3, 6))
        );
        assert_eq!(
            m.session_of(utc("2026-03-07T00:00:00Z")),
            Some(date(2026, 3, 7))
        );
        assert_eq!(
            m.close_instant(date(2026, 3, 6)),
            m.open_instant(date(2026, 3, 7))
        );
    }

    #[test]
    fn test_session_of_when_always_open_before_local_open_then_previous_day() {
        let m = new_york();
        // Sunday 2026-03-01 03:00 EST: the Saturday session runs until Sunday 09:30.
        assert_eq!(
            m.session_of(utc("2026-03-01T08:00:00Z")),
            Some(date(2026, 2, 28))
        );
        assert_eq!(
            m.session_of(utc("2026-03-01T14:29:59Z")),
            Some(date(2026, 2, 28))
        );
        assert_eq!(
            m.session_of(utc("2026-03-01T14:30:00Z")),
            Some(date(2026, 3, 1))
        );
    }

    #[test]
    fn test_close_instant_when_always_open_then_next_days_open_and_close_ignored() {
        let m = new_york().closing_at(hm(16, 0));
        assert_eq!(
            m.close_instant(date(2026, 3, 2)),
            utc("2026-03-03T14:30:00Z")
        );
        assert_eq!(
            m.session_of(utc("2026-03-02T22:00:00Z")),
            Some(date(2026, 3, 2))
        );
        let closed_first = MarketSession::new(chrono_tz::America::New_York, hm(9, 30), [])
            .closing_at(hm(16, 0))
            .always_open();
        assert_eq!(
            closed_first.close_instant(date(2026, 3, 2)),
            utc("2026-03-03T14:30:00Z")
        );
    }

    #[test]
    fn test_session_span_when_always_open_over_spring_forward_then_23_hours() {
        let m = new_york();
        // Saturday 2026-03-07 09:30 EST (14:30Z) to Sunday 2026-03-08 09:30 EDT (13:30Z).
        let span = m.session_span(utc("2026-03-08T07:00:00Z")); // 03:00 EDT, just after the gap
        assert_eq!(span.session, Some(date(2026, 3, 7)));
        assert_eq!(span.from, utc("2026-03-07T14:30:00Z"));
        assert_eq!(span.until, utc("2026-03-08T13:30:00Z"));
        assert_eq!(span.until - span.from, chrono::Duration::hours(23));
        assert_eq!(
            m.session_of(utc("2026-03-08T13:30:00Z")),
            Some(date(2026, 3, 8))
        );
    }

    #[test]
    fn test_session_span_when_always_open_over_fall_back_then_25_hours() {
        let m = new_york();
        // Saturday 2026-10-31 09:30 EDT (13:30Z) to Sunday 2026-11-01 09:30 EST (14:30Z).
        let span = m.session_span(utc("2026-11-01T06:30:00Z")); // 01:30 local, the repeated hour
        assert_eq!(span.session, Some(date(2026, 10, 31)));
        assert_eq!(
            (span.from, span.until),
            (utc("2026-10-31T13:30:00Z"), utc("2026-11-01T14:30:00Z"))
        );
        assert_eq!(
            m.next_open_after(utc("2026-11-01T06:30:00Z")),
            utc("2026-11-01T14:30:00Z")
        );
    }

    #[test]
    fn test_session_span_when_always_open_in_utc_on_dst_days_then_24_hours() {
        let m = crypto();
        for day in [
            date(2026, 3, 8),
            date(2026, 3, 29),
            date(2026, 10, 25),
            date(2026, 11, 1),
        ] {
            let span = m.session_span(m.open_instant(day) + chrono::Duration::hours(12));
            assert_eq!(span.session, Some(day));
            assert_eq!(span.until - span.from, chrono::Duration::hours(24), "{day}");
        }
    }

    #[test]
    fn test_open_instant_when_always_open_and_open_in_dst_gap_then_shifted_an_hour() {
        let m = MarketSession::new(chrono_tz::America::New_York, hm(2, 30), []).always_open();
        assert_eq!(
            m.open_instant(date(2026, 3, 8)),
            utc("2026-03-08T07:30:00Z")
        );
        assert_eq!(
            m.close_instant(date(2026, 3, 7)),
            utc("2026-03-08T07:30:00Z")
        );
        assert_eq!(
            m.session_of(utc("2026-03-08T07:29:59Z")),
            Some(date(2026, 3, 7))
        );
        assert_eq!(
            m.session_of(utc("2026-03-08T07:30:00Z")),
            Some(date(2026, 3, 8))
        );
    }

    #[test]
    fn test_session_of_when_always_open_on_holiday_then_no_session_starts_on_it() {
        let m = crypto();
        // The day before runs to the holiday's open; the holiday itself has none.
        assert_eq!(
            m.session_of(utc("2026-12-22T23:59:59Z")),
            Some(date(2026, 12, 22))
        );
        assert_eq!(m.session_of(utc("2026-12-23T00:00:00Z")), None);
        assert_eq!(m.session_of(utc("2026-12-23T23:59:59Z")), None);
        assert_eq!(
            m.session_of(utc("2026-12-24T00:00:00Z")),
            Some(date(2026, 12, 24))
        );
        let span = m.session_span(utc("2026-12-23T12:00:00Z"));
        assert_eq!(
            (span.session, span.from, span.until),
            (
                None,
                utc("2026-12-23T00:00:00Z"),
                utc("2026-12-24T00:00:00Z")
            )
        );
        assert_eq!(
            m.next_open_after(utc("2026-12-22T12:00:00Z")),
            utc("2026-12-24T00:00:00Z")
        );
    }

    #[test]
    fn test_session_of_when_always_open_new_york_holiday_then_day_before_runs_to_its_open() {
        let m = new_york();
        // Christmas Eve's session ends at Christmas 09:30 EST; Christmas has none until the 26th.
        assert_eq!(
            m.session_of(utc("2026-12-25T14:29:59Z")),
            Some(date(2026, 12, 24))
        );
        assert_eq!(m.session_of(utc("2026-12-25T14:30:00Z")), None);
        assert_eq!(m.session_of(utc("2026-12-26T14:29:59Z")), None);
        assert_eq!(
            m.session_of(utc("2026-12-26T14:30:00Z")),
            Some(date(2026, 12, 26))
        );
        assert_eq!(
            m.next_open_after(utc("2026-12-25T14:30:00Z")),
            utc("2026-12-26T14:30:00Z")
        );
    }

    #[test]
    fn test_next_open_after_when_always_open_friday_evening_then_saturday() {
        assert_eq!(
            new_york().next_open_after(utc("2026-03-06T21:00:00Z")),
            utc("2026-03-07T14:30:00Z")
        );
        assert_eq!(
            crypto().next_open_after(utc("2026-03-07T00:00:00Z")),
            utc("2026-03-08T00:00:00Z"),
            "strictly after"
        );
    }
}
