//! `forloeb serve`: migrate, then serve until SIGTERM or SIGINT.

use super::{describe_db, DbArgs};
use anyhow::Context;
use clap::Args;
use forloeb_gateway::app;
use forloeb_gateway::config::Settings;
use forloeb_gateway::federation::Subgraph;
use forloeb_gateway::http::DemoPages;
use std::process::ExitCode;

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Serve one Apollo Federation v2 subgraph instead of the whole graph, for a federation
    /// router in front of several processes (README: Deployment).
    #[arg(long, value_enum, value_name = "NAME")]
    subgraph: Option<Subgraph>,
}

impl ServeArgs {
    /// The flags over the settings.
    pub fn apply(&self, settings: &mut Settings) {
        self.db.apply(settings);
        if let Some(bind) = &self.bind {
            settings.server.bind = bind.clone();
        }
        if let Some(subgraph) = self.subgraph {
            settings.server.subgraph = Some(subgraph);
        }
    }
}

pub fn run(settings: &mut Settings, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    args.apply(settings);
    serve(settings)?;
    Ok(ExitCode::SUCCESS)
}

/// Serves with these settings until the server stops.
pub fn serve(settings: &Settings) -> anyhow::Result<()> {
    serve_with_demo_pages(settings, DemoPages::default())
}

/// As `serve`, with GraphiQL's tabs and the dashboard's tokens of the demo.
pub fn serve_with_demo_pages(settings: &Settings, demo: DemoPages) -> anyhow::Result<()> {
    let db = describe_db(settings);
    actix_web::rt::System::new().block_on(async {
        let app::Started {
            server,
            addr,
            metrics_addr,
            db: pool,
        } = app::start_with_demo_pages(settings, demo)
            .with_context(|| format!("cannot start on {db}"))?;
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
        if let Some(m) = metrics_addr {
            tracing::info!("metrics at http://{m}/metrics (and nowhere else)");
        }
        server.await.context("server failed")?;
        drop(pool);
        tracing::info!("stopped: in-flight requests finished, database pool closed");
        Ok(())
    })
}
