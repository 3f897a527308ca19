//! Pure rule costs against baselines measured in the same run:
//! order-rate window record vs the `governor` crate's rate-limit check;
//! drawdown + daily-loss judgement per snapshot vs a bare Decimal comparison.

use chrono::{DateTime, Duration, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use governor::{Quota, RateLimiter};
use rust_decimal::Decimal;
use rustybt_actors::breakers::{DailyLossLimit, DailyLossRule, DrawdownRule, OrderRateRule};
use rustybt_actors::rules::MarketSession;
use std::hint::black_box;
use std::num::NonZeroU32;

fn t0() -> DateTime<Utc> {
    "2026-03-09T14:00:00Z".parse().unwrap()
}

fn order_rate(c: &mut Criterion) {
    let mut g = c.benchmark_group("order_rate_check");
    g.throughput(Throughput::Elements(1));
    // Spaced so the window never exceeds: the steady-state path.
    let mut rule = OrderRateRule::new(100, Duration::seconds(60));
    let mut at = t0();
    let step = Duration::milliseconds(601);
    g.bench_function("rustybt_sliding_window", |b| {
        b.iter(|| {
            at += step;
            black_box(rule.on_submission(black_box(at)).unwrap())
        })
    });
    // The same, with the timestamps made beforehand: the window's own cost, without the
    // calendar arithmetic of stepping a DateTime (governor reads a monotonic clock instead).
    let times: Vec<DateTime<Utc>> = (0..1_000_000).map(|i| t0() + step * i).collect();
    let mut fresh = OrderRateRule::new(100, Duration::seconds(60));
    let mut k = 0usize;
    g.bench_function("rustybt_sliding_window_precomputed_times", |b| {
        b.iter(|| {
            if k == times.len() {
                k = 0;
                fresh = OrderRateRule::new(100, Duration::seconds(60));
            }
            k += 1;
            black_box(fresh.on_submission(black_box(times[k - 1])).unwrap())
        })
    });
    let limiter = RateLimiter::direct(Quota::per_minute(NonZeroU32::new(100).unwrap()));
    g.bench_function("baseline_governor_check", |b| {
        b.iter(|| black_box(limiter.check().is_ok()))
    });
    g.finish();
}

fn snapshots(c: &mut Criterion) {
    let mut g = c.benchmark_group("snapshot_rules");
    g.throughput(Throughput::Elements(1));
    let market = MarketSession::new(
        chrono_tz::America::New_York,
        chrono::NaiveTime::from_hms_opt(9, 30, 0).unwrap(),
        [],
    );
    let mut dd = DrawdownRule::new(Decimal::new(-10, 2));
    let mut dl = DailyLossRule::new(DailyLossLimit::Fraction(Decimal::new(-5, 2)), market);
    let mut at = t0();
    let mut i: i64 = 0;
    g.bench_function("drawdown_and_daily_loss", |b| {
        b.iter(|| {
            i += 1;
            at += Duration::milliseconds(1);
            let v = Decimal::new(10_000_000 + (i % 1000), 2);
            black_box(dd.on_snapshot(v, at).unwrap());
            black_box(dl.on_snapshot(v, at).unwrap());
        })
    });
    let hwm = Decimal::new(10_000_000, 2);
    g.bench_function("baseline_decimal_compare", |b| {
        b.iter(|| {
            i += 1;
            let v = Decimal::new(10_000_000 + (i % 1000), 2);
            black_box(v - hwm <= Decimal::new(-10, 2) * hwm)
        })
    });
    g.finish();
}

criterion_group!(benches, order_rate, snapshots);
criterion_main!(benches);
