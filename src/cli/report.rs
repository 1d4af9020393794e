//! `forloeb report --as-of D`: the steering group's status report, in words, as a
//! self-contained HTML page with charts, or as JSON.

use super::{open_existing, DbArgs};
use anyhow::Context;
use clap::Args;
use forloeb_gateway::access::RecordKeys;
use forloeb_gateway::config::Settings;
use forloeb_gateway::domain::{parse_date, RegionCode};
use forloeb_gateway::rollout;
use std::process::ExitCode;

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The as-of date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    as_of: String,
    /// "text": the report in words; "html": one self-contained page with charts (open it in
    /// a browser, print it or save it as PDF); "json": the figures for machines (the shape of
    /// reference.py --report, national and every region).
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// One region's report (its code, e.g. 1084), with its clinics to call by name. Text and
    /// HTML only.
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Html,
    Json,
}

pub fn run(settings: &mut Settings, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    args.db.apply(settings);
    let d = parse_date(&args.as_of).context("--as-of")?;
    let region = args
        .region
        .as_deref()
        .map(RegionCode::parse)
        .transpose()
        .context("--region")?;
    if region.is_some() && args.format == ReportFormat::Json {
        anyhow::bail!(
            "--region: the JSON report holds every region already (its \"region\" object); \
             --region is for --format text or html"
        );
    }
    let (db, _, _) = open_existing(settings)?;
    let mut conn = db.get()?;
    let keys = RecordKeys::new(settings.access.record_key_secret.expose())?;
    let report = rollout::report::build(&mut conn, d, &keys)?;
    let view = rollout::present::View {
        report: &report,
        region,
    };
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Text => print!("{}", rollout::report_text::render(&view)),
        ReportFormat::Html => print!("{}", rollout::report_html::render(&view)),
    }
    Ok(ExitCode::SUCCESS)
}
