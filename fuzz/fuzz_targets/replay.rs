//! Replay lines: `rustybt::replay::read` over any bytes, as JSON Lines or CSV, strict or
//! skipping bad lines. The first byte picks the mode (bit 0: CSV, bit 1: skip bad lines, so
//! '0' is strict JSONL, '1' strict CSV, '2' lenient JSONL, '3' lenient CSV); the rest is the
//! file. Whatever is read goes through what the replay then computes from it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rust_decimal::Decimal;
use rustybt::replay::{read, EventKind};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else {
        return;
    };
    let csv = mode & 1 == 1;
    let skip_bad = mode & 2 == 2;
    let mut reported = 0u64;
    let result = read(file, csv, skip_bad, |n| reported += n);
    // Progress counts each line and its end: never more than the file and one line end.
    assert!(
        reported <= file.len() as u64 + 1,
        "{reported} of {}",
        file.len()
    );
    let history = match result {
        Ok(h) => h,
        Err(e) => {
            assert!(e.line >= 1);
            let _ = e.to_string();
            return;
        }
    };
    let mut previous = None;
    for event in &history.events {
        if let Some((line, at)) = previous {
            assert!(event.line > line, "line {} after {line}", event.line);
            assert!(event.at >= at, "line {}: out of order", event.line);
        }
        previous = Some((event.line, event.at));
        match &event.kind {
            EventKind::Portfolio(s) => {
                assert_eq!(event.at, s.timestamp);
                assert!(s.validate().is_ok(), "line {}: {s:?}", event.line);
                for p in s.positions() {
                    assert!(p.market_value().is_some(), "line {}: {p:?}", event.line);
                }
                let gross = s.gross_exposure().expect("a replayed snapshot is valid");
                assert!(gross >= Decimal::ZERO);
            }
            EventKind::Order(o) => {
                assert!(o.validate().is_ok());
                assert_eq!(Some(event.at), o.timestamp);
                let _ = o.signed_quantity();
            }
            EventKind::Fill(f) => {
                assert!(f.validate().is_ok());
                assert_eq!(event.at, f.timestamp);
            }
            EventKind::Error(r) => assert_eq!(Some(event.at), r.timestamp),
            EventKind::Prices(prices) => {
                for (asset, price) in prices {
                    assert!(!asset.trim().is_empty(), "line {}", event.line);
                    assert!(*price > Decimal::ZERO, "line {}: {price}", event.line);
                }
            }
            EventKind::Done { order_id, .. } => {
                assert!(!order_id.trim().is_empty(), "line {}", event.line)
            }
            EventKind::Heartbeat => {}
        }
    }
    for bad in &history.skipped {
        assert!(skip_bad);
        let _ = bad.to_string();
    }
});
