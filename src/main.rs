//! The `forloeb` command line.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use forloeb_gateway::auth::{Actor, Authenticator, Principal};
use forloeb_gateway::config::{ImportSettings, LogFormat, Secret, Settings};
use forloeb_gateway::db::{run_migrations, Db, DbUrl};
use forloeb_gateway::domain::{Cpr, RegionCode, Source, Ydernummer};
use forloeb_gateway::ingest::{self, FeedKind, ImportOptions, Importer};
use forloeb_gateway::{access, app, demo, rollout, schema, telemetry};
use std::io::Write;
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
struct Cli {
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
    Serve(ServeArgs),
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
    Import(ImportArgs),
    /// Load a deterministic synthetic dataset with the national shape, then serve it.
    ///
    /// Generates clusters, clinics, patients, plans, app events and the steering group's
    /// milestones (invented people and numbers), loads them through the same checks as
    /// `import`, and starts the server. The default is a small country that loads in seconds;
    /// --clinics 1693 gives the national scale (about 0.5 M patients, 2,000 plans a week in
    /// 2022, a quarter of clinics making none). The same seed always gives the same data, so
    /// running it again changes nothing; use a fresh --database for another size or seed.
    Demo(DemoArgs),
    /// Print the GraphQL schema (SDL) to standard output.
    ///
    /// The same text as schema/schema.graphql in the repository; clients generate code from it.
    /// With --manifest: the trusted documents (schema/operations/) with their ids, in Apollo's
    /// persisted-query manifest format (schema/operations/manifest.json). With --subgraph NAME:
    /// that subgraph's Federation v2 SDL (schema/subgraphs/NAME.graphql).
    Schema(SchemaArgs),
    /// Mint a demo bearer token with the configured HS256 secret.
    ///
    /// For local use against a gateway that accepts HS256 (the default config). In production
    /// tokens come from the identity provider and are checked against its JWKS. Prints the
    /// token alone, for `curl -H "Authorization: Bearer $(forloeb token …)"`.
    Token(TokenArgs),
    /// Print the access policy as a Markdown table: who may read which field, how far.
    ///
    /// The same table the gateway enforces on every field; the README includes it.
    Policy,
    /// Print the steering group's status report for a date.
    ///
    /// National and per-region OK22 distribution, inactive and heart-plan clinics, active app
    /// users, plans made this year and weekly new/maintained plans, from the same queries as
    /// the API. --format json prints the shape of `reference.py --report D`.
    Report(ReportArgs),
    /// Read the logs an operator reviews.
    ///
    /// `audit questions --since D`: every ad-hoc question of a region or ministry user, and
    /// every question that used up disclosure budget, with its document, variables, user, the
    /// controlled cells it answered and whether it was refused. One JSON object a line,
    /// oldest first.
    Audit(AuditArgs),
}

#[derive(Args)]
struct AuditArgs {
    #[command(subcommand)]
    log: AuditLog,
}

#[derive(Subcommand)]
enum AuditLog {
    /// The question log (disclosure control), from a date on.
    Questions {
        #[command(flatten)]
        db: DbArgs,
        /// The first day to print, YYYY-MM-DD (Europe/Copenhagen).
        #[arg(long, value_name = "DATE")]
        since: String,
    },
}

#[derive(Args, Debug)]
struct SchemaArgs {
    /// Print the trusted-document manifest (id = SHA-256 of the text) instead of the SDL.
    #[arg(long, conflicts_with = "subgraph")]
    manifest: bool,
    /// Print one subgraph's Federation v2 SDL (schema/subgraphs/NAME.graphql) instead.
    #[arg(long, value_enum)]
    subgraph: Option<forloeb_gateway::federation::Subgraph>,
}

#[derive(Args)]
struct TokenArgs {
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

#[derive(Args)]
struct ReportArgs {
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

#[derive(Args)]
struct DbArgs {
    /// Database: a file path or sqlite://PATH (embedded SQLite), or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(Args)]
struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// A feed folder, or with --kind a single file ('-' for standard input).
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// Load PATH as a single file of this kind.
    #[arg(long, value_enum)]
    kind: Option<FeedKind>,
    /// Write each rejected line with its file, line number, field and reason to FILE (NDJSON).
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Lines per transaction.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    batch_size: usize,
    /// Lines longer than this many bytes are rejected (`line: longer than N bytes`) without
    /// being read whole into memory [default: import.max_line_bytes, 1 MiB]. The lengths of
    /// text fields are set in [import] of the configuration.
    #[arg(long, value_name = "BYTES")]
    max_line_bytes: Option<usize>,
    /// No progress line, even on a terminal.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct DemoArgs {
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

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Serve one Apollo Federation v2 subgraph instead of the whole graph, for a federation
    /// router in front of several processes (README: Deployment).
    #[arg(long, value_enum, value_name = "NAME")]
    subgraph: Option<forloeb_gateway::federation::Subgraph>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(format) = cli.log_format {
        settings.log.format = format;
    }
    telemetry::init(settings.log.format, &settings.log.filter);
    match cli.command {
        Command::Serve(args) => {
            apply_db(&mut settings, &args.db);
            if let Some(bind) = args.bind {
                settings.server.bind = bind;
            }
            if let Some(subgraph) = args.subgraph {
                settings.server.subgraph = Some(subgraph);
            }
            serve(&settings).map(|()| ExitCode::SUCCESS)
        }
        Command::Migrate(args) => {
            apply_db(&mut settings, &args);
            migrate(&settings).map(|()| ExitCode::SUCCESS)
        }
        Command::Import(args) => {
            apply_db(&mut settings, &args.db);
            import(&settings, &args)
        }
        Command::Demo(args) => {
            apply_db(&mut settings, &args.serve.db);
            if let Some(bind) = &args.serve.bind {
                settings.server.bind = bind.clone();
            }
            demo(&settings, &args)
        }
        Command::Schema(args) => {
            if args.manifest {
                let manifest = forloeb_gateway::trusted::Manifest::builtin().to_json();
                println!("{}", serde_json::to_string_pretty(&manifest)?);
            } else if let Some(subgraph) = args.subgraph {
                print!("{}", forloeb_gateway::federation::subgraph_sdl(subgraph));
            } else {
                print!("{}", schema::sdl());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Token(args) => {
            let principal = principal(&args)?;
            let ttl = std::time::Duration::from_secs(args.ttl);
            println!("{}", Authenticator::mint(&settings.auth, &principal, ttl)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy => {
            print!("{}", access::policy::markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Report(args) => {
            apply_db(&mut settings, &args.db);
            report(&settings, &args)
        }
        Command::Audit(AuditArgs {
            log: AuditLog::Questions { db, since },
        }) => {
            apply_db(&mut settings, &db);
            audit_questions(&settings, &since)
        }
    }
}

fn audit_questions(settings: &Settings, since: &str) -> anyhow::Result<ExitCode> {
    let d = forloeb_gateway::domain::parse_date(since).context("--since")?;
    let start = forloeb_gateway::domain::Timestamp::local_midnight(d).context("--since")?;
    let (db, _, _) = open_migrated(settings)?;
    let mut conn = db.get()?;
    let rows = access::budget::questions_since(&mut conn, start.micros())?;
    let mut out = std::io::stdout().lock();
    for q in rows {
        let at = forloeb_gateway::domain::Timestamp::from_micros(q.at)
            .map(|t| t.to_local_rfc3339())
            .unwrap_or_default();
        let line = serde_json::json!({
            "at": at,
            "request_id": q.request_id,
            "role": q.actor_role,
            "sub": q.actor_sub,
            "operation": q.operation,
            "trusted": q.trusted,
            "document": q.document,
            "variables": serde_json::from_str::<serde_json::Value>(&q.variables)
                .unwrap_or(serde_json::Value::String(q.variables.clone())),
            "cells": q.cells,
            "new_cells": q.new_cells,
            "refused": q.refused,
        });
        writeln!(out, "{line}")?;
    }
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

fn report(settings: &Settings, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let d = forloeb_gateway::domain::parse_date(&args.as_of).context("--as-of")?;
    let (db, _, _) = open_migrated(settings)?;
    let mut conn = db.get()?;
    let keys =
        forloeb_gateway::access::RecordKeys::new(settings.access.record_key_secret.expose())?;
    let report = rollout::report::build(&mut conn, d, &keys)?;
    match args.format {
        ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        ReportFormat::Text => print!("{}", rollout::report::text(&report)),
    }
    Ok(ExitCode::SUCCESS)
}

fn apply_db(settings: &mut Settings, args: &DbArgs) {
    if let Some(url) = &args.database {
        settings.database.url = Secret::new(url.clone());
    }
}

fn describe_db(settings: &Settings) -> String {
    DbUrl::parse(settings.database.url.expose())
        .map(|u| u.to_string())
        .unwrap_or_else(|_| "an invalid database url".into())
}

fn serve(settings: &Settings) -> anyhow::Result<()> {
    let db = describe_db(settings);
    actix_web::rt::System::new().block_on(async {
        let app::Started {
            server,
            addr,
            db: pool,
        } = app::start(settings).with_context(|| format!("cannot start on {db}"))?;
        tracing::info!(database = %db, "database ready");
        let graphiql = if settings.server.graphiql {
            format!(", GraphiQL at http://{addr}/graphiql")
        } else {
            String::new()
        };
        let what = match settings.server.subgraph {
            Some(s) => format!(" (the {} subgraph)", s.as_str()),
            None => String::new(),
        };
        tracing::info!("listening on http://{addr}/graphql{graphiql}{what}");
        server.await.context("server failed")?;
        drop(pool);
        tracing::info!("stopped: in-flight requests finished, database pool closed");
        Ok(())
    })
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let (_, described, applied) = open_migrated(settings)?;
    if applied.is_empty() {
        println!("{described}: up to date");
    } else {
        println!("{described}: applied {}", applied.join(", "));
    }
    Ok(())
}

/// Exit status when some lines were rejected but the rest loaded.
const EXIT_REJECTED: u8 = 2;

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

fn import(settings: &Settings, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let (db, described, _) = open_migrated(settings)?;
    let mut conn = db.get()?;
    ingest::prepare_bulk(&mut conn)?;
    let options = ImportOptions {
        batch_size: args.batch_size.max(1),
        progress: !args.quiet,
        limits: ImportSettings {
            max_line_bytes: args
                .max_line_bytes
                .unwrap_or(settings.import.max_line_bytes)
                .max(1),
            ..settings.import
        },
    };
    let stderr = std::io::stderr();
    let mut importer = Importer::new(&mut conn, options).report_to(stderr.lock());
    if let Some(path) = &args.rejects {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        importer = importer.rejects_to(std::io::BufWriter::new(file));
    }
    let started = std::time::Instant::now();
    let summaries = match args.kind {
        Some(kind) => vec![importer.import_file(kind, &args.path)?],
        None => {
            if !args.path.is_dir() {
                anyhow::bail!(
                    "{} is not a folder; give a feed folder, or a file with --kind",
                    args.path.display()
                );
            }
            let found = importer.import_dir(&args.path)?;
            if found.is_empty() {
                anyhow::bail!(
                    "no feed files in {} (expected any of: {})",
                    args.path.display(),
                    ingest::expected_files()
                );
            }
            found
        }
    };
    drop(importer);
    ingest::finish_bulk(&mut conn)?;
    let rejected = print_summary(&summaries, started, &described);
    Ok(if rejected > 0 {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the per-file table and the throughput; returns the number of rejected lines.
fn print_summary(
    summaries: &[ingest::FileSummary],
    started: std::time::Instant,
    described: &str,
) -> u64 {
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<20} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "file", "read", "loaded", "unchanged", "rejected", "stored"
    );
    let (mut lines, mut rejected) = (0, 0);
    for s in summaries {
        println!(
            "{:<20} {:>10} {:>10} {:>10} {:>10} {:>10}",
            s.file, s.read, s.loaded, s.unchanged, s.rejected, s.stored
        );
        lines += s.read;
        rejected += s.rejected;
    }
    println!(
        "{lines} lines in {secs:.1} s ({:.0} lines/s) into {described}",
        lines as f64 / secs.max(1e-9)
    );
    rejected
}

fn demo(settings: &Settings, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let (db, described, _) = open_migrated(settings)?;
    {
        let mut conn = db.get()?;
        ingest::prepare_bulk(&mut conn)?;
        println!(
            "generating and loading demo data: {} clinics, seed {}",
            args.clinics, args.seed
        );
        let started = std::time::Instant::now();
        let options = ImportOptions {
            progress: true,
            limits: settings.import,
            ..ImportOptions::default()
        };
        let data = demo::DemoData::new(args.clinics, args.seed);
        let summaries = demo::load(&mut conn, &data, options)?;
        ingest::finish_bulk(&mut conn)?;
        let rejected = print_summary(&summaries, started, &described);
        if rejected > 0 {
            anyhow::bail!("the demo generator wrote {rejected} invalid lines; this is a bug");
        }
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
        println!("  {:<10} {token}", p.role().as_str());
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
    serve(settings).map(|()| ExitCode::SUCCESS)
}
