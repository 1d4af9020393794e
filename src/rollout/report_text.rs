//! The status report in words (`forloeb report --format text`): Danish headings with the
//! English terms beside them, the figures against their targets, milestones and the clinics to
//! call.

use super::present::{count, percent, standing, targets, View};
use crate::domain::RegionCode;
use crate::facts::metrics;
use std::fmt::Write;

pub fn render(view: &View<'_>) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut out, view);
    out
}

fn write_report(out: &mut String, view: &View<'_>) -> std::fmt::Result {
    let r = view.report;
    writeln!(
        out,
        "Forløbsplaner — status pr. {} — {} (status report)",
        r.as_of,
        view.area()
    )?;
    writeln!(out, "{}", super::present::SOURCE)?;

    writeln!(out, "\nNøgletal (headline figures)")?;
    let ytd = view.year_to_date();
    match view.pace() {
        Some(p) => writeln!(
            out,
            "  Planer lavet i år (plans this year): {} af {} ({}); mangler {}, dvs. {} pr. uge i de {} uger, der er tilbage",
            count(ytd),
            count(p.target),
            percent(metrics::share(ytd, p.target)),
            count(p.remaining),
            count(p.per_week),
            p.weeks_left
        )?,
        None => writeln!(out, "  Planer lavet i år (plans this year): {}", count(ytd))?,
    }
    for h in view.headlines() {
        let of =
            h.of.map(|of| format!(" af {}", count(of)))
                .unwrap_or_default();
        let goal = if h.targets.is_empty() {
            String::new()
        } else {
            format!("; mål (target) {}", targets(h.targets))
        };
        writeln!(
            out,
            "  {} ({}): {}{} ({}){}",
            h.danish,
            h.english,
            count(h.value),
            of,
            percent(h.share()),
            goal
        )?;
    }

    if let Some(f) = view.figures() {
        writeln!(
            out,
            "\nOK22-fordeling: klinikker efter nye planer i 12 måneder (clinics by new plans in 12 months)"
        )?;
        for (bucket, _, _) in metrics::BUCKETS {
            let n = f.buckets.get(bucket).copied().unwrap_or_default();
            writeln!(
                out,
                "  {:>6} nye planer: {:>5} klinikker ({})",
                bucket,
                count(n),
                percent(metrics::share(n, f.open_clinics))
            )?;
        }
    }

    if view.region.is_none() {
        writeln!(out, "\nRegioner (regions)")?;
        writeln!(
            out,
            "  {:<22} {:>6} {:>9} {:>8} {:>8} {:>10}",
            "region", "åbne", "OK22", "uden", "hjerte", "i år"
        )?;
        writeln!(
            out,
            "  {:<22} {:>6} {:>9} {:>8} {:>8} {:>10}",
            "", "(open)", "(met)", "(inact.)", "(heart)", "(this yr)"
        )?;
        for code in RegionCode::ALL {
            let Some(f) = r.region.get(code.as_str()) else {
                continue;
            };
            writeln!(
                out,
                "  {:<22} {:>6} {:>9} {:>8} {:>8} {:>10}",
                code.name(),
                f.open_clinics,
                percent(metrics::share(f.ok22_met, f.open_clinics)),
                f.inactive,
                f.heart,
                count(
                    r.year_to_date
                        .region
                        .get(code.as_str())
                        .copied()
                        .unwrap_or_default()
                )
            )?;
        }
    }

    writeln!(out, "\nMilepæle (milestones)")?;
    for m in &r.milestones {
        let reached = m
            .reached_by(r.as_of)
            .map(|d| format!(", nået {d}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}. {} — planlagt {}{} — {}",
            m.number,
            m.text,
            m.planned,
            reached,
            standing(m.standing_on(r.as_of))
        )?;
    }

    writeln!(
        out,
        "\nKlinikker uden forløbsplaner i 12 måneder (clinics to call)"
    )?;
    for (region, clinics) in view.clinics_to_call() {
        writeln!(out, "  {region}: {}", clinics.len())?;
        if view.region.is_some() {
            for (ydernummer, name) in clinics {
                writeln!(out, "    {ydernummer}  {name}")?;
            }
        }
    }
    if view.region.is_none() {
        writeln!(out, "  (navnene: --region KODE) (names: --region CODE)")?;
    }

    if let Some(weeks) = view.weeks() {
        writeln!(
            out,
            "\nPlaner pr. uge (plans per ISO week): nye / vedligeholdte (new / maintained)"
        )?;
        for (week, c) in weeks {
            writeln!(
                out,
                "  {week}  {:>6} / {:>6}",
                count(c.new_plans),
                count(c.maintained)
            )?;
        }
    }
    Ok(())
}
