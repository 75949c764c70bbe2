//! Report charts as SVG, drawn with plotters on the server: the trend by bucket, the
//! hour-of-week heatmap and utilization by resource. Text is SVG text (a font with CJK glyphs,
//! such as Noto Sans CJK, renders the Chinese labels).

use super::reports::Utilization;
use super::{ServiceError, ServiceResult};
use plotters::prelude::*;

const FONT: &str = "Noto Sans CJK SC, Noto Sans SC, PingFang SC, Microsoft YaHei, sans-serif";

fn en(lang: &str) -> bool {
    lang.starts_with("en")
}

fn failed(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(anyhow::anyhow!("chart: {e}"))
}

/// Used and open hours of the space, bucket by bucket (bars: used hours; the caption names
/// the period).
///
/// # Errors
/// [`super::Code::Internal`] if drawing fails.
pub fn trend(u: &Utilization, lang: &str) -> ServiceResult<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let buckets = &u.report.whole.buckets;
        let max = buckets.iter().map(|(_, f)| f.used_hours).fold(1.0_f64, f64::max) * 1.15;
        let title = if en(lang) {
            format!("Used hours by {} · {} {} – {}", u.bucket, u.space.name_en, u.period.first, u.period.last)
        } else {
            format!(
                "使用小时（按{}）· {} {} – {}",
                bucket_zh(u.bucket.as_str()),
                u.space.name_zh,
                u.period.first,
                u.period.last
            )
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d((0..buckets.len().saturating_sub(1)).into_segmented(), 0.0..max)
            .map_err(failed)?;
        let labels: Vec<String> = buckets.iter().map(|(b, _)| b.label.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(if en(lang) { "hours" } else { "小时" })
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 12))
            .draw()
            .map_err(failed)?;
        // Rectangles drawn in order (plotters' Histogram sums through a HashMap, whose order
        // would make the same report give different bytes).
        chart
            .draw_series(buckets.iter().enumerate().map(|(i, (_, f))| {
                let mut bar = Rectangle::new(
                    [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), f.used_hours)],
                    RGBColor(0x2b, 0x6c, 0xb0).filled(),
                );
                bar.set_margin(0, 0, 6, 6);
                bar
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

fn bucket_zh(b: &str) -> &'static str {
    match b {
        "day" => "日",
        "week" => "周",
        "month" => "月",
        "quarter" => "季度",
        _ => "年",
    }
}

/// Used hours by local weekday and hour: a 7 × 24 grid, darker where more was used.
///
/// # Errors
/// [`super::Code::Internal`] if drawing fails.
pub fn heatmap(u: &Utilization, lang: &str) -> ServiceResult<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let grid = &u.report.whole.heatmap;
        let max = grid.iter().flatten().copied().fold(0.0_f64, f64::max).max(1e-9);
        let days: [&str; 7] = if en(lang) {
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        } else {
            ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]
        };
        let title = if en(lang) {
            "Used hours by weekday and hour (local time)"
        } else {
            "按星期与小时的使用时长（当地时间）"
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(48)
            .build_cartesian_2d(0..24, (0..6usize).into_segmented())
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(13)
            .y_label_formatter(&|y: &SegmentValue<usize>| match y {
                // Monday at the top.
                SegmentValue::CenterOf(i) => days.get(6 - (*i).min(6)).copied().unwrap_or("").to_owned(),
                _ => String::new(),
            })
            .label_style((FONT, 12))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series((0..7).flat_map(|d| (0..24).map(move |h| (d, h))).map(|(d, h)| {
                let v = grid[d][h] / max;
                let shade = (255.0 - v * 200.0) as u8;
                let row = 6 - d;
                Rectangle::new(
                    [(h as i32, SegmentValue::Exact(row)), (h as i32 + 1, SegmentValue::Exact(row + 1))],
                    RGBColor(shade, shade, 255).filled(),
                )
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}

/// Utilization of each group (a report by resource): one bar each, in percent.
///
/// # Errors
/// [`super::Code::Internal`] if drawing fails.
pub fn by_group(u: &Utilization, lang: &str) -> ServiceResult<String> {
    let mut svg = String::new();
    {
        let groups = &u.report.groups;
        let height = 80 + 28 * groups.len().max(1) as u32;
        let root = SVGBackend::with_string(&mut svg, (720, height)).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        let title =
            if en(lang) { "Utilization (used ÷ open hours)" } else { "使用率（使用小时 ÷ 开放小时）" };
        let names: Vec<String> = groups
            .iter()
            .map(|g| {
                u.names.get(&g.key).map(|n| if en(lang) { n.en.clone() } else { n.zh.clone() }).unwrap_or_default()
            })
            .collect();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(180)
            .build_cartesian_2d(0.0..100.0, (0..groups.len().saturating_sub(1)).into_segmented())
            .map_err(failed)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("%")
            .y_label_formatter(&|y| match y {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 12))
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(groups.iter().enumerate().map(|(i, g)| {
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (g.total.utilization.unwrap_or(0.0) * 100.0, SegmentValue::Exact(i + 1)),
                    ],
                    RGBColor(0x2f, 0x85, 0x5a).filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))
            .map_err(failed)?;
        root.present().map_err(failed)?;
    }
    Ok(svg)
}
