//! `forloeb audit questions --since D`: the question log, one JSON object a line.

use super::{open_existing, DbArgs};
use anyhow::Context;
use clap::{Args, Subcommand};
use forloeb_gateway::access;
use forloeb_gateway::config::Settings;
use forloeb_gateway::domain::{parse_date, Timestamp};
use std::io::Write;
use std::process::ExitCode;

#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    log: AuditLog,
}

#[derive(Subcommand)]
pub enum AuditLog {
    /// The question log (disclosure control), from a date on.
    Questions {
        #[command(flatten)]
        db: DbArgs,
        /// The first day to print, YYYY-MM-DD (Europe/Copenhagen).
        #[arg(long, value_name = "DATE")]
        since: String,
    },
}

pub fn run(settings: &mut Settings, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let AuditLog::Questions { db, since } = args.log;
    db.apply(settings);
    let d = parse_date(&since).context("--since")?;
    let start = Timestamp::local_midnight(d).context("--since")?;
    let (db, _, _) = open_existing(settings)?;
    let mut conn = db.get()?;
    let rows = access::budget::questions_since(&mut conn, start.micros())?;
    let mut out = std::io::stdout().lock();
    for q in rows {
        let at = Timestamp::from_micros(q.at)
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
