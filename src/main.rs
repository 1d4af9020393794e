//! The `forloeb` command line.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use forloeb_gateway::config::{LogFormat, Secret, Settings};
use forloeb_gateway::db::{run_migrations, Db, DbUrl};
use forloeb_gateway::{app, schema, telemetry};
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
    /// Print the GraphQL schema (SDL) to standard output.
    ///
    /// The same text as schema/schema.graphql in the repository; clients generate code from it.
    Schema,
}

#[derive(Args)]
struct DbArgs {
    /// Database: a file path or sqlite://PATH (embedded SQLite), or postgres://USER@HOST/DB.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
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
            serve(&settings)
        }
        Command::Migrate(args) => {
            apply_db(&mut settings, &args);
            migrate(&settings)
        }
        Command::Schema => {
            print!("{}", schema::sdl());
            Ok(())
        }
    }
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
        tracing::info!("listening on http://{addr}/graphql{graphiql}");
        server.await.context("server failed")?;
        drop(pool);
        tracing::info!("stopped: in-flight requests finished, database pool closed");
        Ok(())
    })
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let described = describe_db(settings);
    let db = Db::connect(&settings.database).with_context(|| format!("cannot open {described}"))?;
    let applied = run_migrations(&mut *db.get()?)?;
    if applied.is_empty() {
        println!("{described}: up to date");
    } else {
        println!("{described}: applied {}", applied.join(", "));
    }
    Ok(())
}
