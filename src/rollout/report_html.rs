//! The status report as one self-contained HTML file (`forloeb report --format html`): inline
//! CSS and SVG, no script and nothing fetched, so it opens, prints and saves as PDF anywhere.
//! Every chart names its source and date.

use super::present::{count, percent, standing, targets, View, SOURCE};
use super::svg::{self, esc};
use crate::domain::RegionCode;
use crate::facts::metrics;
use chrono::Datelike;
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;\
color:#222;line-height:1.4;padding:0 1rem}h1{font-size:1.6rem;margin-bottom:.2rem}\
h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccc}\
.source{color:#666;font-size:.85rem}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}td.n{white-space:nowrap}figure{margin:1rem 0}\
figcaption{color:#666;font-size:.85rem}.late{color:#a00;font-weight:600}\
.reached{color:#060}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));\
gap:1rem}.card{border:1px solid #ddd;border-radius:6px;padding:.75rem}\
.card .v{font-size:1.5rem;font-weight:600}@media print{body{margin:0;max-width:none}\
h2{break-after:avoid}figure,.card{break-inside:avoid}}";

pub fn render(view: &View<'_>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_page(&mut out, view);
    out
}

fn figure(out: &mut String, chart: &str, caption: &str, view: &View<'_>) -> std::fmt::Result {
    write!(
        out,
        "<figure>{chart}<figcaption>{} — {} — pr. {}</figcaption></figure>",
        esc(caption),
        esc(SOURCE),
        view.as_of()
    )
}

fn write_page(out: &mut String, view: &View<'_>) -> std::fmt::Result {
    let r = view.report;
    let d = view.as_of();
    write!(
        out,
        "<!doctype html><html lang=\"da\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Forløbsplaner — status pr. {d} — {area}</title><style>{STYLE}</style></head><body>\
         <h1>Forløbsplaner — status pr. {d}</h1><p><strong>{area}</strong> \
         (status report of the digital care plans)</p><p class=\"source\">{source}; opgjort \
         (as of) {d}</p>",
        area = esc(view.area()),
        source = esc(SOURCE),
    )?;

    // Headline figures.
    out.push_str("<h2>Nøgletal (headline figures)</h2><div class=\"cards\">");
    let ytd = view.year_to_date();
    match view.pace() {
        Some(p) => write!(
            out,
            "<div class=\"card\" id=\"year-to-date\"><div>Planer lavet i {} (plans this year)</div>\
             <div class=\"v\">{}</div><div>af {} ({})</div>{}<div>mangler {}: {} pr. uge i {} uger \
             (still needed per week)</div></div>",
            d.year(),
            count(ytd),
            count(p.target),
            percent(metrics::share(ytd, p.target)),
            svg::share(metrics::share(ytd, p.target), &[], "Planer i år mod årets mål"),
            count(p.remaining),
            count(p.per_week),
            p.weeks_left
        )?,
        None => write!(
            out,
            "<div class=\"card\" id=\"year-to-date\"><div>Planer lavet i {} (plans this year)</div>\
             <div class=\"v\">{}</div></div>",
            d.year(),
            count(ytd)
        )?,
    }
    for h in view.headlines() {
        let of =
            h.of.map(|of| format!("af {} ({})", count(of), percent(h.share())))
                .unwrap_or_default();
        let goal = if h.targets.is_empty() {
            String::new()
        } else {
            format!("<div>mål (target): {}</div>", esc(&targets(h.targets)))
        };
        write!(
            out,
            "<div class=\"card\"><div>{} ({})</div><div class=\"v\">{}</div><div>{}</div>{}{}</div>",
            esc(h.danish),
            esc(h.english),
            count(h.value),
            of,
            svg::share(h.share(), h.targets, h.danish),
            goal
        )?;
    }
    out.push_str("</div>");

    // Plans per week.
    if let Some(weeks) = view.weeks() {
        let year = metrics::year_target(d.year()).filter(|_| view.region.is_none());
        out.push_str("<h2>Planer pr. uge (plans per ISO week)</h2>");
        let chart = svg::weekly(
            weeks,
            crate::domain::IsoWeek::of(d).year,
            year,
            "Nye og vedligeholdte planer pr. uge, og i alt i år",
        );
        let caption = match year {
            Some(t) => format!(
                "Nye og vedligeholdte planer pr. uge, stablet; rød linje: i alt i år mod årets mål \
                 på {} (stiplet)",
                count(t)
            ),
            None => "Nye og vedligeholdte planer pr. uge, stablet; rød linje: i alt i år".into(),
        };
        figure(out, &chart, &caption, view)?;
    }

    // OK22 distribution.
    if let Some(f) = view.figures() {
        out.push_str(
            "<h2>OK22: klinikker efter nye planer i 12 måneder (clinics by new plans)</h2>",
        );
        let bars: Vec<(&str, i64)> = metrics::BUCKETS
            .iter()
            .map(|(b, _, _)| (*b, f.buckets.get(b).copied().unwrap_or_default()))
            .collect();
        let met_from = metrics::BUCKETS
            .iter()
            .position(|(_, lo, _)| *lo >= metrics::OK22_MINIMUM)
            .unwrap_or(metrics::BUCKETS.len());
        let chart = svg::columns(&bars, met_from, "OK22-fordeling");
        let caption = format!(
            "Klinikker efter antal nye planer; mørke søjler opfylder OK22 (mindst {}): {} af {} \
             ({}); mål {}",
            metrics::OK22_MINIMUM,
            count(f.ok22_met),
            count(f.open_clinics),
            percent(metrics::share(f.ok22_met, f.open_clinics)),
            targets(metrics::OK22_TARGETS)
        );
        figure(out, &chart, &caption, view)?;
    }

    // Inactive clinics: per region nationally, by name for a region.
    out.push_str("<h2>Klinikker uden forløbsplaner i 12 måneder (clinics to call)</h2>");
    if view.region.is_none() {
        let bars: Vec<(&str, i64)> = RegionCode::ALL
            .iter()
            .map(|c| {
                let n = r.region.get(c.as_str()).map_or(0, |f| f.inactive);
                (c.name(), n)
            })
            .collect();
        let chart = svg::rows(&bars, "Klinikker uden planer pr. region");
        figure(
            out,
            &chart,
            "Åbne klinikker uden nogen forløbsplan i 12 måneder, pr. region",
            view,
        )?;
        out.push_str(
            "<p>Navnene står i hver regions rapport (names: <code>--region KODE</code>).</p>",
        );
    } else {
        out.push_str("<table id=\"clinics-to-call\"><thead><tr><th>ydernummer</th><th>klinik (clinic)</th></tr></thead><tbody>");
        for (_, clinics) in view.clinics_to_call() {
            for (ydernummer, name) in clinics {
                write!(
                    out,
                    "<tr><td>{}</td><td>{}</td></tr>",
                    esc(ydernummer),
                    esc(name)
                )?;
            }
        }
        out.push_str("</tbody></table>");
    }

    // Regions side by side (national report).
    if view.region.is_none() {
        out.push_str(
            "<h2>Regioner (regions)</h2><table id=\"regions\"><thead><tr><th>region</th>\
             <th class=\"n\">åbne klinikker (open)</th><th class=\"n\">OK22</th>\
             <th class=\"n\">uden planer (inactive)</th><th class=\"n\">hjerteplaner (heart)</th>\
             <th class=\"n\">planer i år (this year)</th></tr></thead><tbody>",
        );
        for code in RegionCode::ALL {
            let Some(f) = r.region.get(code.as_str()) else {
                continue;
            };
            let ytd = r
                .year_to_date
                .region
                .get(code.as_str())
                .copied()
                .unwrap_or_default();
            write!(
                out,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(code.name()),
                count(f.open_clinics),
                percent(metrics::share(f.ok22_met, f.open_clinics)),
                count(f.inactive),
                percent(metrics::share(f.heart, f.open_clinics)),
                count(ytd)
            )?;
        }
        out.push_str("</tbody></table>");
    }

    // Milestones.
    out.push_str(
        "<h2>Milepæle (milestones)</h2><table id=\"milestones\"><thead><tr><th>nr.</th>\
         <th>milepæl</th><th>planlagt (planned)</th><th>nået (reached)</th><th>status</th></tr>\
         </thead><tbody>",
    );
    for m in &r.milestones {
        let state = m.standing_on(d);
        let class = match state {
            super::repo::Standing::Reached => "reached",
            super::repo::Standing::Late => "late",
            super::repo::Standing::Pending => "pending",
        };
        write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            m.number,
            esc(&m.text),
            m.planned,
            m.reached_by(d).map(|x| x.to_string()).unwrap_or_default(),
            standing(state)
        )?;
    }
    write!(
        out,
        "</tbody></table><p class=\"source\">{}; opgjort (as of) {d}. Lavet af forloeb report.</p>\
         </body></html>",
        esc(SOURCE)
    )?;
    Ok(())
}
