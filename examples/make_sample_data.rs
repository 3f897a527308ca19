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
    std::fs::write(dir.join("fat_finger.jsonl"), fat_finger())?;
    println!("wrote {}", dir.display());
    Ok(())
}

/// 2026-03-12 from 11:00 New York: a strategy trading AAPL (about 170) and MSFT (about 410)
/// in tens, each order filled a second later, prices posted every 5 s, snapshots every 10 s.
/// Then what pre-trade checks are for:
/// - 11:01:00 an extra zero: 1000 AAPL instead of 100; 11:01:30 200 MSFT instead of 20;
/// - 11:02:00 a limit far through the market: sell AAPL at 120 with the market at 170;
/// - 11:04:00–11:06:00 a broker and data outage: orders go unanswered (never filled nor
///   done), errors come back, prices stop; at 11:05:30 a market order meets a stale price;
/// - 11:06:00 the broker is back and the strategy re-sends everything at once: the same ids
///   again, and a burst of new orders on top of the ones still open.
fn fat_finger() -> String {
    let start = open_at(NaiveDate::from_ymd_opt(2026, 3, 12).unwrap()) + Duration::minutes(90);
    let mut out = String::new();
    let aapl = |s: i64| Decimal::new(17000 + (s % 7) * 3, 2);
    let msft = |s: i64| Decimal::new(41000 + (s % 5) * 4, 2);
    let outage = 240..360;
    let mut held_aapl = 200i64;
    let mut held_msft = 50i64;
    let mut n = 0;
    let mut pending: Vec<(String, &str, i64, Decimal)> = Vec::new();
    let order = |out: &mut String,
                 id: &str,
                 asset: &str,
                 side: &str,
                 qty: i64,
                 limit: Option<Decimal>,
                 t: DateTime<Utc>| {
        let limit = limit
            .map(|p| format!(r#","limit_price":"{p}""#))
            .unwrap_or_default();
        writeln!(
            out,
            r#"{{"type":"order","order_id":"{id}","asset":"{asset}","side":"{side}","quantity":"{qty}"{limit},"timestamp":"{}"}}"#,
            ts(t)
        )
        .unwrap();
    };
    for s in 0..420i64 {
        let t = start + Duration::seconds(s);
        let in_outage = outage.contains(&s);
        if s % 5 == 0 && !in_outage {
            writeln!(
                out,
                r#"{{"type":"prices","timestamp":"{}","prices":[{{"asset":"AAPL","price":"{}"}},{{"asset":"MSFT","price":"{}"}}]}}"#,
                ts(t),
                aapl(s),
                msft(s)
            )
            .unwrap();
        }
        if s % 10 == 0 && in_outage {
            // The broker's positions are down too: the host values the book from its own
            // last prices and reports the value alone.
            writeln!(
                out,
                r#"{{"type":"portfolio","timestamp":"{}","portfolio_value":"{}"}}"#,
                ts(t),
                Decimal::from(held_aapl) * aapl(235)
                    + Decimal::from(held_msft) * msft(235)
                    + Decimal::new(200_000, 0)
            )
            .unwrap();
        } else if s % 10 == 0 {
            let value = Decimal::from(held_aapl) * aapl(s)
                + Decimal::from(held_msft) * msft(s)
                + Decimal::new(200_000, 0);
            writeln!(
                out,
                r#"{{"type":"portfolio","timestamp":"{}","portfolio_value":"{value}","positions":[{{"asset":"AAPL","quantity":"{held_aapl}","market_price":"{}"}},{{"asset":"MSFT","quantity":"{held_msft}","market_price":"{}"}}]}}"#,
                ts(t),
                aapl(s),
                msft(s)
            )
            .unwrap();
        }
        // Fills of the orders sent a second ago, while the broker answers.
        if !in_outage {
            for (id, asset, qty, price) in pending.drain(..) {
                let side = if qty > 0 { "buy" } else { "sell" };
                writeln!(
                    out,
                    r#"{{"type":"fill","order_id":"{id}","asset":"{asset}","side":"{side}","quantity":"{}","price":"{price}","timestamp":"{}"}}"#,
                    qty.abs(),
                    ts(t)
                )
                .unwrap();
                if asset == "AAPL" {
                    held_aapl += qty;
                } else {
                    held_msft += qty;
                }
            }
        }
        match s {
            60 => order(
                &mut out,
                "ff-aapl",
                "AAPL",
                "buy",
                1000,
                Some(aapl(s) + Decimal::new(10, 2)),
                t,
            ),
            90 => order(
                &mut out,
                "ff-msft",
                "MSFT",
                "buy",
                200,
                Some(msft(s) + Decimal::new(10, 2)),
                t,
            ),
            120 => order(
                &mut out,
                "through",
                "AAPL",
                "sell",
                10,
                Some(Decimal::new(120, 0)),
                t,
            ),
            330 => order(&mut out, "stale-mkt", "MSFT", "buy", 10, None, t),
            _ => {}
        }
        if in_outage && s % 20 == 0 {
            writeln!(
                out,
                r#"{{"type":"error","kind":"broker_error","message":"gateway timeout","timestamp":"{}"}}"#,
                ts(t)
            )
            .unwrap();
        }
        // The strategy's own rhythm: every 15 s, alternating assets and sides.
        if s % 15 == 0 && s < 360 {
            n += 1;
            let (asset, price) = if n % 2 == 0 {
                ("AAPL", aapl(s))
            } else {
                ("MSFT", msft(s))
            };
            let qty = if n % 3 == 0 { -10 } else { 10 };
            let id = format!("ord-{n}");
            order(
                &mut out,
                &id,
                asset,
                if qty > 0 { "buy" } else { "sell" },
                10,
                Some(price),
                t,
            );
            pending.push((id, asset, qty, price));
        }
        // Back from the outage: the unanswered orders are re-sent under their own ids, then a
        // burst of fresh orders, ten a second.
        if s == 360 {
            for k in (n - 7)..=n {
                order(
                    &mut out,
                    &format!("ord-{k}"),
                    "MSFT",
                    "buy",
                    10,
                    Some(msft(s)),
                    t,
                );
            }
        }
        if (361..363).contains(&s) {
            for k in 0..10 {
                order(
                    &mut out,
                    &format!("burst-{s}-{k}"),
                    "MSFT",
                    "buy",
                    10,
                    Some(msft(s)),
                    t,
                );
            }
        }
    }
    out
}
