//! `forloeb report --as-of D`: the steering group's status report, as text or JSON.

use super::{open_existing, DbArgs};
use anyhow::Context;
use clap::Args;
use forloeb_gateway::access::RecordKeys;
use forloeb_gateway::config::Settings;
use forloeb_gateway::domain::parse_date;
use forloeb_gateway::rollout;
use std::process::ExitCode;

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The as-of date, YYYY-MM-DD.
    #[arg(long, value_name = "DATE")]
    as_of: String,
    /// "text" for people, "json" for machines.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

pub fn run(settings: &mut Settings, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    args.db.apply(settings);
    let d = parse_date(&args.as_of).context("--as-of")?;
    let (db, _, _) = open_existing(settings)?;
    let mut conn = db.get()?;
    let keys = RecordKeys::new(settings.access.record_key_secret.expose())?;
    let report = rollout::report::build(&mut conn, d, &keys)?;
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Text => print!("{report}"),
    }
    Ok(ExitCode::SUCCESS)
}
