//! `forloeb import`: supplier feeds (NDJSON) into the database, a folder or one file.

use super::bulk::{self, Loaded};
use super::DbArgs;
use anyhow::Context;
use clap::Args;
use forloeb_gateway::config::{ImportSettings, Settings};
use forloeb_gateway::ingest::{self, FeedKind, ImportOptions, Importer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit status when some lines were rejected but the rest loaded.
const EXIT_REJECTED: u8 = 2;

#[derive(Args)]
pub struct ImportArgs {
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
    /// Lines per transaction (a batch also ends after 8 MiB of input).
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
    /// Reject lines with a field the feed does not define (e.g. a misspelt "opend_on").
    /// Without it such a line loads as if the field were absent, and the summary names the
    /// field with the number of lines that had it.
    #[arg(long)]
    strict: bool,
    /// Write the import's figures (lines read, loaded, unchanged, rejected per feed; duration;
    /// when it finished) to FILE in Prometheus' text format, for a node exporter's textfile
    /// collector. Written whole or not at all.
    #[arg(long, value_name = "FILE")]
    metrics_file: Option<PathBuf>,
}

pub fn run(settings: &mut Settings, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    args.db.apply(settings);
    let options = ImportOptions {
        batch_size: args.batch_size.max(1),
        progress: !args.quiet,
        strict: args.strict,
        limits: ImportSettings {
            max_line_bytes: args
                .max_line_bytes
                .unwrap_or(settings.import.max_line_bytes)
                .max(1),
            ..settings.import
        },
    };
    let Loaded {
        rejected,
        summaries,
        seconds,
        ..
    } = bulk::load(settings, |conn| {
        let stderr = std::io::stderr();
        let mut importer = Importer::new(conn, options).report_to(stderr.lock());
        if let Some(path) = &args.rejects {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            importer = importer.rejects_to(std::io::BufWriter::new(file));
        }
        match args.kind {
            Some(kind) => Ok(vec![importer.import_file(kind, &args.path)?]),
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
                Ok(found)
            }
        }
    })?;
    if let Some(path) = &args.metrics_file {
        write_metrics(path, &summaries, seconds)?;
    }
    Ok(if rejected > 0 {
        ExitCode::from(EXIT_REJECTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The textfile, beside its final name first and then renamed over it, so that a collector
/// never reads half of it.
fn write_metrics(
    path: &std::path::Path,
    summaries: &[forloeb_gateway::ingest::FileSummary],
    seconds: f64,
) -> anyhow::Result<()> {
    let text = forloeb_gateway::metrics::import_textfile(
        summaries,
        seconds,
        chrono::Utc::now().timestamp(),
    )?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write the metrics to {}", path.display()))
}
