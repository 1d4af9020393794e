//! `forloeb token`: a demo bearer token signed with the configured HS256 secret.

use anyhow::Context;
use clap::Args;
use forloeb_gateway::auth::{Actor, Authenticator, Principal};
use forloeb_gateway::config::Settings;
use forloeb_gateway::domain::{Cpr, RegionCode, Source, Ydernummer};
use std::process::ExitCode;

#[derive(Args)]
pub struct TokenArgs {
    /// The role the token acts as.
    #[arg(long, value_enum)]
    role: RoleArg,
    /// Patient: the CPR number the token belongs to.
    #[arg(long, value_name = "CPR")]
    cpr: Option<String>,
    /// Clinician: the clinic they act for.
    #[arg(long, value_name = "YDERNUMMER")]
    ydernummer: Option<String>,
    /// Region user: the region code (1081–1085).
    #[arg(long, value_name = "CODE")]
    region: Option<String>,
    /// Supplier: PLSP or KIAP.
    #[arg(long, value_name = "SOURCE")]
    source: Option<String>,
    /// The subject (`sub`): who acts; recorded in the audit log.
    #[arg(long, default_value = "demo-user")]
    sub: String,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    ttl: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum RoleArg {
    Patient,
    Clinician,
    Region,
    Ministry,
    Supplier,
}

pub fn run(settings: &Settings, args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let principal = principal(args)?;
    let ttl = std::time::Duration::from_secs(args.ttl);
    println!("{}", Authenticator::mint(&settings.auth, &principal, ttl)?);
    Ok(ExitCode::SUCCESS)
}

fn principal(args: &TokenArgs) -> anyhow::Result<Principal> {
    let need = |v: &Option<String>, flag: &str, role: &str| {
        v.clone()
            .with_context(|| format!("--role {role} needs {flag}"))
    };
    let actor = match args.role {
        RoleArg::Patient => {
            Actor::Patient(Cpr::parse(&need(&args.cpr, "--cpr", "patient")?).context("--cpr")?)
        }
        RoleArg::Clinician => Actor::Clinician(
            Ydernummer::parse(&need(&args.ydernummer, "--ydernummer", "clinician")?)
                .context("--ydernummer")?,
        ),
        RoleArg::Region => Actor::Region(
            RegionCode::parse(&need(&args.region, "--region", "region")?).context("--region")?,
        ),
        RoleArg::Ministry => Actor::Ministry,
        RoleArg::Supplier => Actor::Supplier(
            Source::parse(&need(&args.source, "--source", "supplier")?).context("--source")?,
        ),
    };
    Ok(Principal::new(args.sub.clone(), actor))
}
