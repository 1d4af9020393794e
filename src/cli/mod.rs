//! The `forloeb` command line: the arguments, and one file per command.

mod audit;
mod bulk;
mod demo;
mod export;
mod import;
mod migrate;
mod policy;
mod report;
mod schema;
mod serve;
mod token;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use forloeb_gateway::config::{LogFormat, Secret, Settings};
use forloeb_gateway::db::{run_migrations, Db, DbUrl};
use forloeb_gateway::telemetry;
use std::path::PathBuf;
use std::process::ExitCode;

/// forloeb — the GraphQL gateway to the digital care plans (forløbsplaner) of Danish general
/// practice: plans for patients in the Min Læge App, populations and cluster views for
/// clinicians, rollout figures for regions and the ministry.
///
/// Settings come from config/default.toml (built in), then --config FILE, then environment
/// variables FORLOEB_<SECTION>_<KEY> (e.g. FORLOEB_DATABASE_URL), then the flags below.
#[derive(Parser)]
#[command(name = "forloeb", version, propagate_version = true)]
pub struct Cli {
    /// A TOML file whose keys override the built-in defaults (unknown keys are errors).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log format: "text" for people, "json" for log collectors.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the GraphQL server (migrating the database first).
    ///
    /// Serves POST/GET /graphql, GraphiQL at /graphiql when enabled, /health/live and
    /// /health/ready. Stops gracefully on SIGTERM or SIGINT: no new connections, in-flight
    /// requests finish, then the database pool closes.
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    ///
    /// A missing SQLite file is created. Safe to run repeatedly: applied migrations are skipped.
    Migrate(DbArgs),
    /// Load supplier feeds (NDJSON) into the database.
    ///
    /// With a folder, loads every feed file in it in dependency order: clusters, clinics,
    /// patients, plans, app_events, milestones (.ndjson); missing files are skipped. With
    /// --kind, loads one file ('-' reads standard input). Every line is checked on its own: a
    /// bad line is reported as FILE:LINE: FIELD: REASON and never stops the good ones. Loading
    /// the same lines again changes nothing; an interrupted import can simply be re-run.
    ///
    /// Exit status: 0 when every line was accepted, 2 when some were rejected, 1 on a fatal
    /// error (database unreachable, file unreadable).
    Import(import::ImportArgs),
    /// Load a deterministic synthetic dataset with the national shape, then serve it.
    ///
    /// Generates clusters, clinics, patients, plans, app events and the steering group's
    /// milestones (invented people and numbers), loads them through the same checks as
    /// `import`, and starts the server. The default is a small country that loads in seconds;
    /// --clinics 1693 gives the national scale (about 0.5 M patients, 2,000 plans a week in
    /// 2022, a quarter of clinics making none). The same seed always gives the same data, so
    /// running it again changes nothing; use a fresh --database for another size or seed.
    Demo(demo::DemoArgs),
    /// Print the GraphQL schema (SDL) to standard output.
    ///
    /// The same text as schema/schema.graphql in the repository; clients generate code from it.
    /// With --manifest: the trusted documents (schema/operations/) with their ids, in Apollo's
    /// persisted-query manifest format (schema/operations/manifest.json). With --subgraph NAME:
    /// that subgraph's Federation v2 SDL (schema/subgraphs/NAME.graphql).
    Schema(schema::SchemaArgs),
    /// Mint a demo bearer token with the configured HS256 secret.
    ///
    /// For local use against a gateway that accepts HS256 (the default config). In production
    /// tokens come from the identity provider and are checked against its JWKS. Prints the
    /// token alone, for `curl -H "Authorization: Bearer $(forloeb token …)"`.
    Token(token::TokenArgs),
    /// Print the access policy as a Markdown table: who may read which field, how far.
    ///
    /// The same table the gateway enforces on every field; the README includes it.
    Policy,
    /// Print the steering group's status report for a date.
    ///
    /// National and per-region OK22 distribution, inactive and heart-plan clinics, active app
    /// users, plans made this year and weekly new/maintained plans, from the same queries as
    /// the API, with targets, the pace still needed and the milestones. --format html writes
    /// one self-contained page with charts (e.g. `> status.html`, then open, print or save as
    /// PDF); --region CODE one region's report with its clinics to call; --format json prints
    /// the shape of `reference.py --report D`.
    Report(report::ReportArgs),
    /// Read the logs an operator reviews.
    ///
    /// `audit questions --since D`: every ad-hoc question of a region or ministry user, and
    /// every question that used up disclosure budget, with its document, variables, user, the
    /// controlled cells it answered and whether it was refused. One JSON object a line,
    /// oldest first.
    Audit(audit::AuditArgs),
    /// Export figures for registries, exact (an operator's command, never an API answer).
    ///
    /// `export rkkp --as-of D`: every clinic's quality indicators (numerator and denominator)
    /// for RKKP, as CSV or as JSON in the shape of `reference.py --indicators D`'s `clinic`.
    Export(export::ExportArgs),
}

/// Where a command finds its database (every command that opens one takes it).
#[derive(Args)]
pub struct DbArgs {
    /// Database: a file path or sqlite://PATH (embedded SQLite), or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

impl DbArgs {
    /// --database over the settings' `database.url`.
    fn apply(&self, settings: &mut Settings) {
        if let Some(url) = &self.database {
            settings.database.url = Secret::new(url.clone());
        }
    }
}

/// Loads the settings, starts logging, and runs the command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(format) = cli.log_format {
        settings.log.format = format;
    }
    // Kept to the end of the command: dropping it sends the spans still queued.
    let _telemetry = telemetry::init(
        settings.log.format,
        &settings.log.filter,
        &settings.telemetry,
    )?;
    match cli.command {
        Command::Serve(args) => serve::run(&mut settings, &args),
        Command::Migrate(args) => migrate::run(&mut settings, &args),
        Command::Import(args) => import::run(&mut settings, &args),
        Command::Demo(args) => demo::run(&mut settings, &args),
        Command::Schema(args) => schema::run(&args),
        Command::Token(args) => token::run(&settings, &args),
        Command::Policy => policy::run(),
        Command::Report(args) => report::run(&mut settings, &args),
        Command::Audit(args) => audit::run(&mut settings, args),
        Command::Export(args) => export::run(&mut settings, &args),
    }
}

/// The database's URL safe to print (no password).
fn describe_db(settings: &Settings) -> String {
    DbUrl::parse(settings.database.url.expose())
        .map(|u| u.to_string())
        .unwrap_or_else(|_| "an invalid database url".into())
}

/// `open_migrated` for commands that only read what is stored (`report`, `audit`): an
/// embedded database file that does not exist is refused, naming the path, instead of being
/// created empty and reported on as zeros.
fn open_existing(settings: &Settings) -> anyhow::Result<(Db, String, Vec<String>)> {
    if let Ok(DbUrl::Sqlite(path)) = DbUrl::parse(settings.database.url.expose()) {
        if !path.exists() {
            anyhow::bail!(
                "no database at {}: load one first (`forloeb import` or `forloeb demo`), or \
                 name it with --database",
                path.display()
            );
        }
    }
    open_migrated(settings)
}

/// Connects and migrates; returns the pool, a description of the database safe to print, and
/// the migrations applied.
fn open_migrated(settings: &Settings) -> anyhow::Result<(Db, String, Vec<String>)> {
    let described = describe_db(settings);
    let db = Db::connect(&settings.database.unbounded())
        .with_context(|| format!("cannot open {described}"))?;
    let mut conn = db
        .get()
        .with_context(|| format!("cannot open {described}"))?;
    let applied = run_migrations(&mut conn)?;
    drop(conn);
    Ok((db, described, applied))
}
