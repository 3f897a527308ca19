//! `--plot out.svg`: portfolio value and high-water mark over time, drawdown below, each trip
//! marked. Decimals become floats here only to place pixels.

use super::runner::ReplayReport;
use chrono::{DateTime, Utc};
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use std::path::Path;

/// Draws the chart for one replay.
pub fn draw(report: &ReplayReport, title: &str, path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        report.values.len() >= 2,
        "nothing to draw: fewer than two portfolio snapshots"
    );
    let points: Vec<(DateTime<Utc>, f64)> = report
        .values
        .iter()
        .map(|(t, v)| (*t, v.to_f64().unwrap_or(0.0)))
        .collect();
    // As the drawdown rule: the mark is the highest positive value; before there is one the
    // drawdown cannot be judged and is drawn at 0 (the trip marks it).
    let mut peak: Option<f64> = None;
    let with_hwm: Vec<(DateTime<Utc>, f64, f64, f64)> = points
        .iter()
        .map(|&(t, v)| {
            if v > 0.0 {
                peak = Some(peak.map_or(v, |p| p.max(v)));
            }
            match peak {
                Some(hwm) => (t, v, hwm, (v - hwm) / hwm * 100.0),
                None => (t, v, v, 0.0),
            }
        })
        .collect();
    let (t0, t1) = (points[0].0, points[points.len() - 1].0);
    let lo = points.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let hi = with_hwm.iter().map(|p| p.2).fold(f64::MIN, f64::max);
    let pad = ((hi - lo) * 0.05).max(1.0);
    let dd_min = with_hwm.iter().map(|p| p.3).fold(0.0, f64::min).min(-1.0) * 1.1;

    let root = SVGBackend::new(path, (1200, 700)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(470);
    let mut top = ChartBuilder::on(&upper)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(t0..t1, (lo - pad)..(hi + pad))?;
    top.configure_mesh()
        .y_desc("portfolio value")
        .x_labels(8)
        .draw()?;
    top.draw_series(LineSeries::new(
        with_hwm.iter().map(|p| (p.0, p.2)),
        RGBColor(150, 150, 150).stroke_width(1),
    ))?
    .label("high-water mark")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RGBColor(150, 150, 150)));
    top.draw_series(LineSeries::new(
        points.iter().copied(),
        BLUE.stroke_width(2),
    ))?
    .label("portfolio value")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLUE));
    for trip in &report.trips {
        top.draw_series(LineSeries::new(
            vec![(trip.at, lo - pad), (trip.at, hi + pad)],
            RED.stroke_width(2),
        ))?;
        top.draw_series(std::iter::once(Text::new(
            format!("{} trips", trip.breaker),
            (trip.at, hi + pad * 0.4),
            ("sans-serif", 14).into_font().color(&RED),
        )))?;
    }
    top.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let mut bottom = ChartBuilder::on(&lower)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(80)
        .build_cartesian_2d(t0..t1, dd_min..0.5)?;
    bottom
        .configure_mesh()
        .y_desc("drawdown %")
        .x_labels(8)
        .draw()?;
    bottom.draw_series(
        AreaSeries::new(with_hwm.iter().map(|p| (p.0, p.3)), 0.0, RED.mix(0.25)).border_style(RED),
    )?;
    for trip in &report.trips {
        bottom.draw_series(LineSeries::new(
            vec![(trip.at, dd_min), (trip.at, 0.5)],
            RED.stroke_width(1),
        ))?;
    }
    root.present()?;
    Ok(())
}
