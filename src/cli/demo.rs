//! `forloeb demo`: deterministic synthetic data with the national shape, then serve it.

use super::bulk::{self, Loaded};
use super::serve::{self, ServeArgs};
use clap::Args;
use forloeb_gateway::auth::{Actor, Authenticator};
use forloeb_gateway::config::Settings;
use forloeb_gateway::demo::{self, DemoData};
use forloeb_gateway::ingest::ImportOptions;
use std::process::ExitCode;

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Number of clinics (1693 is the national scale).
    #[arg(long, default_value_t = 120, value_name = "N")]
    clinics: usize,
    /// Random seed; the same seed always gives the same data.
    #[arg(long, default_value_t = 2022, value_name = "S")]
    seed: u64,
    /// Load the data and exit without serving.
    #[arg(long)]
    no_serve: bool,
}

pub fn run(settings: &mut Settings, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    args.serve.apply(settings);
    println!(
        "generating and loading demo data: {} clinics, seed {}",
        args.clinics, args.seed
    );
    let options = ImportOptions {
        progress: true,
        limits: settings.import,
        ..ImportOptions::default()
    };
    let data = DemoData::new(args.clinics, args.seed);
    let Loaded { db, rejected } =
        bulk::load(settings, |conn| Ok(demo::load(conn, &data, options)?))?;
    if rejected > 0 {
        anyhow::bail!("the demo generator wrote {rejected} invalid lines; this is a bug");
    }
    let samples = demo::sample_principals(&mut *db.get()?)?;
    drop(db);
    println!("\ndemo tokens (valid 12 hours; send as \"Authorization: Bearer <token>\"):");
    for p in samples {
        let token = Authenticator::mint(
            &settings.auth,
            &p,
            std::time::Duration::from_secs(12 * 3600),
        )?;
        println!(
            "  {:<10} {}:\n             {token}",
            p.role().as_str(),
            whose(&p.actor)
        );
    }
    println!(
        "roles in documents.ad_hoc_roles ({}) may send any document; the others run only the \
         trusted ones: {{\"documentId\": \"sha256:…\"}}, ids from `forloeb schema --manifest`",
        settings
            .documents
            .ad_hoc_roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    serve::serve(settings)?;
    Ok(ExitCode::SUCCESS)
}

/// Whose a demo token is, so that a newcomer knows which clinic, region or patient to ask
/// about (the patient by the clinic they are listed at: a CPR number is never printed).
fn whose(actor: &Actor) -> String {
    match actor {
        Actor::Patient(_) => "a patient with plans, listed at the clinician's clinic".into(),
        Actor::Clinician(y) => format!("a GP of clinic {y} (ydernummer)"),
        Actor::Region(r) => format!("{} ({})", r.name(), r.as_str()),
        Actor::Ministry => "the ministry's steering group: the whole country".into(),
        Actor::Supplier(s) => format!("the plan system {} (a supplier)", s.as_str()),
    }
}
