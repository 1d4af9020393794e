//! The report's charts as inline SVG, written by hand: four small kinds (weekly stacked bars
//! with a cumulative line, columns, horizontal bars, a share against its targets) need no
//! plotting crate, whose SVG backend would bring fonts and a larger build for the same lines.
//! Every text is escaped; every chart has a title for screen readers.

use crate::domain::IsoWeek;
use crate::facts::metrics::NewMaintained;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Text for HTML and SVG.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const NEW: &str = "#1f5f8b";
const MAINTAINED: &str = "#9cc3de";
const LINE: &str = "#c0392b";
const TARGET: &str = "#555";

fn open(width: f64, height: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" style=\"max-width:100%;height:auto\" \
         role=\"img\" font-family=\"sans-serif\" font-size=\"11\"><title>{}</title>",
        esc(title)
    )
}

/// A round top for an axis: 1, 2 or 5 times a power of ten, at least `max`.
fn nice(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * p)
}

/// New and maintained plans per ISO week of `year`, stacked, with the cumulative total on a
/// second axis against a straight line to the year's `target` when there is one.
pub fn weekly(
    weeks: &BTreeMap<IsoWeek, NewMaintained>,
    year: i32,
    target: Option<i64>,
    title: &str,
) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 280.0, 48.0, 56.0, 16.0, 36.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let last_week = 52.0;
    let top_week = weeks
        .values()
        .map(|c| c.new_plans + c.maintained)
        .max()
        .unwrap_or(0);
    let y_max = nice(top_week as f64);
    let total: i64 = weeks.values().map(|c| c.new_plans + c.maintained).sum();
    let cum_max = nice(target.unwrap_or(total).max(total) as f64);
    let x = |week: f64| left + (week - 1.0) / last_week * plot_w;
    let bar = plot_w / last_week * 0.8;
    let mut s = open(w, h, title);
    // Axes and gridlines.
    // Five steps: a round top (1, 2 or 5 × 10ⁿ) divides into round steps.
    for i in 0..=5 {
        let v = y_max * f64::from(i) / 5.0;
        let y = top + plot_h - v / y_max * plot_h;
        let _ = write!(
            s,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            w - right,
            left - 4.0,
            y + 4.0,
            v.round()
        );
        let c = cum_max * f64::from(i) / 5.0;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" fill=\"{LINE}\">{}</text>",
            w - right + 4.0,
            y + 4.0,
            c.round()
        );
    }
    for week in [1, 10, 20, 30, 40, 52] {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">uge {week}</text>",
            x(f64::from(week)) + bar / 2.0,
            h - bottom + 14.0
        );
    }
    // Bars: new at the bottom, maintained on top.
    let mut cumulative = 0;
    let mut line = String::new();
    for (week, c) in weeks.iter().filter(|(wk, _)| wk.year == year) {
        let x0 = x(f64::from(week.week));
        let new_h = c.new_plans as f64 / y_max * plot_h;
        let old_h = c.maintained as f64 / y_max * plot_h;
        let base = top + plot_h;
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{new_h:.1}\" fill=\"{NEW}\">\
             <title>{week}: {} nye</title></rect>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{old_h:.1}\" fill=\"{MAINTAINED}\">\
             <title>{week}: {} vedligeholdte</title></rect>",
            base - new_h,
            c.new_plans,
            base - new_h - old_h,
            c.maintained
        );
        cumulative += c.new_plans + c.maintained;
        let _ = write!(
            line,
            "{:.1},{:.1} ",
            x0 + bar / 2.0,
            base - cumulative as f64 / cum_max * plot_h
        );
    }
    let _ = write!(
        s,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{LINE}\" stroke-width=\"2\"/>",
        line.trim_end()
    );
    if let Some(t) = target {
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"{TARGET}\" \
             stroke-dasharray=\"5 4\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">mål {}</text>",
            top + plot_h,
            w - right,
            top + plot_h - t as f64 / cum_max * plot_h,
            w - right - 4.0,
            top + plot_h - t as f64 / cum_max * plot_h - 4.0,
            t
        );
    }
    // Legend.
    let _ = write!(
        s,
        "<rect x=\"{left}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{NEW}\"/>\
         <text x=\"{}\" y=\"{}\">nye (new)</text>\
         <rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{MAINTAINED}\"/>\
         <text x=\"{}\" y=\"{}\">vedligeholdte (maintained)</text>\
         <line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" stroke=\"{LINE}\" stroke-width=\"2\"/>\
         <text x=\"{}\" y=\"{}\">i alt i år (cumulative, right axis)</text></svg>",
        h - 12.0,
        left + 14.0,
        h - 3.0,
        left + 90.0,
        h - 12.0,
        left + 104.0,
        h - 3.0,
        left + 260.0,
        left + 280.0,
        h - 7.0,
        h - 7.0,
        left + 284.0,
        h - 3.0
    );
    s
}

/// Columns with their counts, those from `highlight_from` on in the highlight colour.
pub fn columns(bars: &[(&str, i64)], highlight_from: usize, title: &str) -> String {
    let (w, h, left, top, bottom) = (480.0, 220.0, 40.0, 20.0, 34.0);
    let plot_h = h - top - bottom;
    // No axis: each column carries its count, so the tallest fills the height.
    let max = bars.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64 * 1.08;
    let slot = (w - left) / bars.len().max(1) as f64;
    let mut s = open(w, h, title);
    for (i, (label, v)) in bars.iter().enumerate() {
        let bh = *v as f64 / max * plot_h;
        let x0 = left + i as f64 * slot + slot * 0.1;
        let fill = if i >= highlight_from { NEW } else { MAINTAINED };
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{fill}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{v}</text>\
             <text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            top + plot_h - bh,
            slot * 0.8,
            x0 + slot * 0.4,
            top + plot_h - bh - 4.0,
            x0 + slot * 0.4,
            h - bottom + 14.0,
            esc(label)
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" x2=\"{w}\" y1=\"{}\" y2=\"{}\" stroke=\"#888\"/></svg>",
        top + plot_h,
        top + plot_h
    );
    s
}

/// Horizontal bars, one per row, with their values.
pub fn rows(bars: &[(&str, i64)], title: &str) -> String {
    let (w, left, row) = (560.0, 150.0, 24.0);
    let h = row * bars.len() as f64 + 8.0;
    let max = nice(bars.iter().map(|(_, v)| *v).max().unwrap_or(0) as f64);
    let mut s = open(w, h, title);
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row;
        let bw = *v as f64 / max * (w - left - 50.0);
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{}\" fill=\"{NEW}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{v}</text>",
            left - 6.0,
            y + 14.0,
            esc(label),
            row - 6.0,
            left + bw + 4.0,
            y + 14.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A share as a bar from 0 to 100 %, with each target's share marked.
pub fn share(share: Option<f64>, targets: &[(&str, f64)], title: &str) -> String {
    let (w, h, left, right) = (360.0, 34.0, 4.0, 4.0);
    let span = w - left - right;
    let mut s = open(w, h, title);
    let _ = write!(
        s,
        "<rect x=\"{left}\" y=\"6\" width=\"{span}\" height=\"12\" fill=\"#eee\"/>"
    );
    if let Some(v) = share {
        let _ = write!(
            s,
            "<rect x=\"{left}\" y=\"6\" width=\"{:.1}\" height=\"12\" fill=\"{NEW}\"/>",
            v.clamp(0.0, 1.0) * span
        );
    }
    for (due, t) in targets {
        let x = left + t * span;
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"2\" y2=\"22\" stroke=\"{LINE}\" stroke-width=\"2\"/>\
             <text x=\"{x:.1}\" y=\"32\" text-anchor=\"middle\" font-size=\"9\">{:.0} %<title>mål pr. {}</title></text>",
            t * 100.0,
            esc(due)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_axes_are_round() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(3.0), 5.0);
        assert_eq!(nice(2_300.0), 5_000.0);
        assert_eq!(nice(120_000.0), 200_000.0);
    }

    #[test]
    fn every_chart_is_one_svg_with_a_title_and_escaped_labels() {
        let mut weeks = BTreeMap::new();
        weeks.insert(
            IsoWeek {
                year: 2022,
                week: 7,
            },
            NewMaintained {
                new_plans: 10,
                maintained: 5,
            },
        );
        for svg in [
            weekly(&weeks, 2022, Some(120_000), "Planer <pr. uge>"),
            columns(&[("0", 3), ("5-9", 4)], 1, "OK22"),
            rows(&[("Region <H>", 2)], "Uden planer"),
            share(Some(0.5), &[("2022-06-30", 0.7)], "OK22"),
        ] {
            assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
            assert_eq!(svg.matches("<svg").count(), 1);
            assert!(svg.contains("<title>"), "{svg}");
            assert!(!svg.contains("<H>") && !svg.contains("<pr."), "{svg}");
        }
    }
}
