//! `forloeb export rkkp --as-of D`: the quality indicators per clinic, exact, for the national
//! clinical quality databases (RKKP: DDiD for diabetes, DrKOL for COPD). An operator command
//! that reads the database directly; no API answer carries these exact figures beyond a
//! clinic's own clinicians.

use super::{open_existing, DbArgs};
use anyhow::Context;
use clap::{Args, Subcommand};
use forloeb_gateway::access::RecordKeys;
use forloeb_gateway::config::Settings;
use forloeb_gateway::domain::{parse_date, RegionCode};
use forloeb_gateway::facts::quality::Indicator;
use forloeb_gateway::facts::snapshot::Snapshot;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::process::ExitCode;

#[derive(Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    what: Export,
}

#[derive(Subcommand)]
enum Export {
    /// The quality indicators of every clinic as of a date: numerator and denominator, exact.
    ///
    /// CSV (ydernummer,indicator,numerator,denominator; one row per clinic and indicator) or
    /// JSON ({"as_of", "clinic": {ydernummer: {indicator: [numerator, denominator]}}}, the
    /// `clinic` part of `reference.py --indicators D`).
    Rkkp(RkkpArgs),
}

#[derive(Args)]
struct RkkpArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The as-of date, YYYY-MM-DD: measurements in the 12 months to it, from plan versions
    /// made on or before it.
    #[arg(long, value_name = "DATE")]
    as_of: String,
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    /// Only the clinics of this region (code, e.g. 1084).
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Csv,
    Json,
}

pub fn run(settings: &mut Settings, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let Export::Rkkp(args) = &args.what;
    args.db.apply(settings);
    let d = parse_date(&args.as_of).context("--as-of")?;
    let region = args
        .region
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .context("--region")?;
    let (db, _, _) = open_existing(settings)?;
    let keys = RecordKeys::new(settings.access.record_key_secret.expose())?;
    let snapshot = Snapshot::load(&mut *db.get()?, &keys)?;
    let quality = snapshot.quality(d);
    let mut clinics: Vec<(&String, _)> = quality
        .iter()
        .filter(|(y, _)| region.is_none() || snapshot.clinic_region(y) == region)
        .collect();
    clinics.sort_by_key(|(y, _)| *y);
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Csv => {
            writeln!(out, "ydernummer,indicator,numerator,denominator")?;
            for (y, cells) in clinics {
                for (ind, parts) in Indicator::ALL.iter().zip(cells) {
                    writeln!(
                        out,
                        "{y},{},{},{}",
                        ind.as_str(),
                        parts.numerator.len(),
                        parts.denominator.len()
                    )?;
                }
            }
        }
        Format::Json => {
            let clinic: Map<String, Value> = clinics
                .into_iter()
                .map(|(y, cells)| {
                    let per: Map<String, Value> = Indicator::ALL
                        .iter()
                        .zip(cells)
                        .map(|(ind, p)| {
                            (
                                ind.as_str().to_string(),
                                json!([p.numerator.len(), p.denominator.len()]),
                            )
                        })
                        .collect();
                    (y.clone(), Value::Object(per))
                })
                .collect();
            let doc = json!({ "as_of": d.to_string(), "clinic": clinic });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
