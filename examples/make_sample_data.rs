//! Makes the sample histories in `examples/data/` (fixed seed: the files are reproducible).
//!
//! Run: `cargo run --example make_sample_data`

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::America::New_York;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use std::fmt::Write as _;

fn open_at(date: NaiveDate) -> DateTime<Utc> {
    New_York
        .from_local_datetime(&date.and_hms_opt(9, 30, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn money(v: f64) -> Decimal {
    Decimal::from_f64_retain(v).unwrap_or_default().round_dp(2)
}

fn main() -> std::io::Result<()> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data");
    std::fs::create_dir_all(&dir)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(611);

    // A calm month: March 2026, every NYSE weekday, one value a minute 09:30-15:59, a random
    // walk of a few basis points a minute pulled back toward 100,000: no limit is reached.
    let mut csv = String::from("timestamp,portfolio_value\n");
    let mut v = 100_000.0_f64;
    let mut day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    while day.month() == 3 {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            let open = open_at(day);
            for m in 0..390 {
                let pull = (100_000.0 - v) / 100_000.0 * 0.05;
                v *= 1.0 + rng.gen_range(-0.0004..0.0004) + pull;
                writeln!(csv, "{},{}", ts(open + Duration::minutes(m)), money(v)).unwrap();
            }
        }
        day = day.succ_opt().unwrap();
    }
    std::fs::write(dir.join("calm_month.csv"), csv)?;

    // A crash day: 2026-03-09 falls about 12% by early afternoon; the strategy keeps trading
    // (an order every five minutes). Moderate trips daily loss (-5%) then drawdown (-10%).
    let mut out = String::new();
    let open = open_at(NaiveDate::from_ymd_opt(2026, 3, 9).unwrap());
    let mut v = 250_000.0_f64;
    for m in 0..390 {
        let t = open + Duration::minutes(m);
        let drift = if (30..240).contains(&m) {
            -0.00062
        } else {
            0.0
        };
        v *= 1.0 + drift + rng.gen_range(-0.0003..0.0003);
        let price = money(v / 500.0);
        writeln!(
            out,
            r#"{{"type":"portfolio","timestamp":"{}","portfolio_value":"{}","positions":[{{"asset":"SPY","quantity":"500","market_price":"{price}"}}]}}"#,
            ts(t),
            money(v)
        )
        .unwrap();
        if m % 5 == 2 {
            writeln!(
                out,
                r#"{{"type":"order","order_id":"crash-{m}","asset":"SPY","side":"sell","quantity":"10","timestamp":"{}"}}"#,
                ts(t + Duration::seconds(20))
            )
            .unwrap();
        }
    }
    std::fs::write(dir.join("crash_day.jsonl"), out)?;

    // A runaway order loop: 2026-03-10 from 10:00, snapshots every second; at 10:01 a bug
    // submits 150 orders in 50 s. The order-rate breaker (100 / 60 s) trips on the 101st.
    let mut out = String::new();
    let start = open_at(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()) + Duration::minutes(30);
    let mut orders = 0;
    for ms in (0..180_000).step_by(100) {
        let t = start + Duration::milliseconds(ms);
        if ms % 1000 == 0 {
            writeln!(
                out,
                r#"{{"type":"portfolio","timestamp":"{}","portfolio_value":"100000"}}"#,
                t.to_rfc3339()
            )
            .unwrap();
        }
        if (60_000..110_000).contains(&ms) && ms % 300 == 0 && orders < 150 {
            orders += 1;
            writeln!(
                out,
                r#"{{"type":"order","order_id":"loop-{orders}","asset":"AAPL","side":"buy","quantity":"1","timestamp":"{}"}}"#,
                t.to_rfc3339()
            )
            .unwrap();
        }
    }
    std::fs::write(dir.join("runaway_orders.jsonl"), out)?;

    // A broker outage: 2026-03-11 from 11:00, snapshots every 10 s; at 11:02 the broker
    // rejects orders and errors out: 15 errors in 45 s. The error-rate breaker (10 / 60 s)
    // trips on the 11th.
    let mut out = String::new();
    let start = open_at(NaiveDate::from_ymd_opt(2026, 3, 11).unwrap()) + Duration::minutes(90);
    let mut errors = 0;
    for s in 0..300 {
        let t = start + Duration::seconds(s);
        if s % 10 == 0 {
            writeln!(
                out,
                r#"{{"type":"portfolio","timestamp":"{}","portfolio_value":"150000"}}"#,
                ts(t)
            )
            .unwrap();
        }
        if (120..165).contains(&s) && s % 3 == 0 && errors < 15 {
            errors += 1;
            let (kind, msg) = if errors % 2 == 0 {
                ("order_rejected", "REJECT: exchange unavailable")
            } else {
                ("broker_error", "gateway timeout")
            };
            writeln!(
                out,
                r#"{{"type":"order","order_id":"out-{errors}","asset":"MSFT","side":"buy","quantity":"5","timestamp":"{}"}}"#,
                ts(t)
            )
            .unwrap();
            writeln!(out, r#"{{"type":"error","kind":"{kind}","message":"{msg}","order_id":"out-{errors}","timestamp":"{}"}}"#, ts(t)).unwrap();
        }
    }
    std::fs::write(dir.join("broker_outage.jsonl"), out)?;
    println!("wrote {}", dir.display());
    Ok(())
}
