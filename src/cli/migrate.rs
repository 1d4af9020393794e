//! `forloeb migrate`: apply pending migrations and exit.

use super::{open_migrated, DbArgs};
use forloeb_gateway::config::Settings;
use std::process::ExitCode;

pub fn run(settings: &mut Settings, args: &DbArgs) -> anyhow::Result<ExitCode> {
    args.apply(settings);
    let (_, described, applied) = open_migrated(settings)?;
    if applied.is_empty() {
        println!("{described}: up to date");
    } else {
        println!("{described}: applied {}", applied.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
