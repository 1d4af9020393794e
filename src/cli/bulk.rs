//! The one bulk-load path of `import` and `demo`: open and migrate the database, prepare it
//! for bulk loading, load, restore it, and print what was loaded.

use super::open_migrated;
use forloeb_gateway::config::Settings;
use forloeb_gateway::db::{Db, DbConnection};
use forloeb_gateway::ingest::{self, FileSummary};

/// What a bulk load leaves: the pool (for what the command does next) and the rejected lines.
pub struct Loaded {
    pub db: Db,
    pub rejected: u64,
    /// Per file, what the load did; and how long it took.
    pub summaries: Vec<FileSummary>,
    pub seconds: f64,
}

/// Runs `load` on one connection between `ingest::prepare_bulk` and `ingest::finish_bulk`,
/// then prints the per-file table and the throughput.
pub fn load(
    settings: &Settings,
    load: impl FnOnce(&mut DbConnection) -> anyhow::Result<Vec<FileSummary>>,
) -> anyhow::Result<Loaded> {
    let (db, described, _) = open_migrated(settings)?;
    let mut conn = db.get()?;
    ingest::prepare_bulk(&mut conn)?;
    let started = std::time::Instant::now();
    let summaries = load(&mut conn)?;
    ingest::finish_bulk(&mut conn)?;
    drop(conn);
    let seconds = started.elapsed().as_secs_f64();
    let rejected = print_summary(&summaries, seconds, &described);
    Ok(Loaded {
        db,
        rejected,
        summaries,
        seconds,
    })
}

/// Prints the per-file table and the throughput; returns the number of rejected lines.
fn print_summary(summaries: &[FileSummary], secs: f64, described: &str) -> u64 {
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
    for s in summaries {
        for (field, n) in &s.unknown_fields {
            let lines = if *n == 1 { "line" } else { "lines" };
            println!(
                "unknown field '{field}' on {n} {lines} of {} (loaded as if absent; --strict \
                 rejects such lines)",
                s.file
            );
        }
    }
    println!(
        "{lines} lines in {secs:.1} s ({:.0} lines/s) into {described}",
        lines as f64 / secs.max(1e-9)
    );
    rejected
}
