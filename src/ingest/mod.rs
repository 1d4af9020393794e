//! `forloeb import`: the six supplier feeds, streamed line by line in constant memory, each line
//! validated on its own, stored in batches of one transaction each. A bad line is reported and
//! never stops the good ones; the same line twice changes nothing; a killed import re-run
//! completes with the same final state.

mod parse;
mod progress;
mod store;

pub use parse::Rejection;
pub use store::Outcome;

use crate::db::tables;
use crate::db::{DbConnection, DbError};
use crate::on_backend;
use diesel::prelude::*;
use progress::Progress;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::Path;

/// The feeds, in the order their references require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FeedKind {
    Clusters,
    Clinics,
    Patients,
    Plans,
    AppEvents,
    Milestones,
}

impl FeedKind {
    /// Clusters before the clinics that name them, clinics before patients and plans, plans
    /// before the app events that name them.
    pub const ORDER: [FeedKind; 6] = [
        FeedKind::Clusters,
        FeedKind::Clinics,
        FeedKind::Patients,
        FeedKind::Plans,
        FeedKind::AppEvents,
        FeedKind::Milestones,
    ];

    pub fn file_name(self) -> &'static str {
        match self {
            FeedKind::Clusters => "clusters.ndjson",
            FeedKind::Clinics => "clinics.ndjson",
            FeedKind::Patients => "patients.ndjson",
            FeedKind::Plans => "plans.ndjson",
            FeedKind::AppEvents => "app_events.ndjson",
            FeedKind::Milestones => "milestones.ndjson",
        }
    }

    /// Rows now stored for this feed (distinct keys).
    fn stored(self, conn: &mut DbConnection) -> Result<i64, DbError> {
        use tables::*;
        Ok(on_backend!(conn, |c| match self {
            FeedKind::Clusters => clusters::table.count().get_result(c),
            FeedKind::Clinics => clinics::table.count().get_result(c),
            FeedKind::Patients => patients::table.count().get_result(c),
            FeedKind::Plans => plan_versions::table.count().get_result(c),
            FeedKind::AppEvents => app_events::table.count().get_result(c),
            FeedKind::Milestones => milestones::table.count().get_result(c),
        })?)
    }
}

/// What one file did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub file: String,
    /// Non-blank lines read.
    pub read: u64,
    /// Lines that added or replaced a record.
    pub loaded: u64,
    /// Lines equal to what was already stored.
    pub unchanged: u64,
    pub rejected: u64,
    /// Records of this kind in the database afterwards.
    pub stored: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the rejects file: {0}")]
    Rejects(std::io::Error),
    #[error(
        "{file}: {source}; the batch in progress was rolled back, re-run the import to complete it"
    )]
    Db { file: String, source: DbError },
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Lines per transaction.
    pub batch_size: usize,
    /// Show a progress line (only on a terminal).
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_size: 5000,
            progress: false,
        }
    }
}

/// One rejected line, as written to the rejects file.
#[derive(Serialize)]
struct RejectRecord<'a> {
    file: &'a str,
    line: u64,
    field: &'a str,
    reason: &'a str,
    text: &'a str,
}

pub struct Importer<'a> {
    conn: &'a mut DbConnection,
    options: ImportOptions,
    /// Each rejected line with its reason, as NDJSON (`--rejects FILE`).
    rejects: Option<Box<dyn Write + 'a>>,
    /// Human-readable `file:line: field: reason` lines (stderr in the CLI).
    report: Box<dyn Write + 'a>,
}

impl<'a> Importer<'a> {
    pub fn new(conn: &'a mut DbConnection, options: ImportOptions) -> Self {
        Self {
            conn,
            options,
            rejects: None,
            report: Box::new(std::io::sink()),
        }
    }

    pub fn rejects_to(mut self, w: impl Write + 'a) -> Self {
        self.rejects = Some(Box::new(w));
        self
    }

    pub fn report_to(mut self, w: impl Write + 'a) -> Self {
        self.report = Box::new(w);
        self
    }

    /// Imports every feed file present in `dir`, in dependency order. Missing files are skipped.
    pub fn import_dir(&mut self, dir: &Path) -> Result<Vec<FileSummary>, ImportError> {
        let mut out = Vec::new();
        for kind in FeedKind::ORDER {
            let path = dir.join(kind.file_name());
            if path.exists() {
                out.push(self.import_file(kind, &path)?);
            }
        }
        Ok(out)
    }

    /// Imports one file; `-` reads standard input.
    pub fn import_file(&mut self, kind: FeedKind, path: &Path) -> Result<FileSummary, ImportError> {
        let read_error = |source| ImportError::Read {
            path: path.display().to_string(),
            source,
        };
        if path == Path::new("-") {
            let stdin = std::io::stdin();
            return self.import_reader(kind, "stdin", stdin.lock(), None);
        }
        let file = std::fs::File::open(path).map_err(read_error)?;
        let size = file.metadata().ok().map(|m| m.len());
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        self.import_reader(
            kind,
            &name,
            std::io::BufReader::with_capacity(1 << 20, file),
            size,
        )
    }

    pub fn import_reader(
        &mut self,
        kind: FeedKind,
        name: &str,
        mut reader: impl BufRead,
        size: Option<u64>,
    ) -> Result<FileSummary, ImportError> {
        let mut summary = FileSummary {
            file: name.to_string(),
            ..FileSummary::default()
        };
        let mut progress = Progress::new(name, size, self.options.progress);
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        let mut batch: Vec<(u64, String)> = Vec::with_capacity(self.options.batch_size);
        loop {
            buf.clear();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|source| ImportError::Read {
                    path: name.to_string(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            line_no += 1;
            progress.advance(n as u64);
            match std::str::from_utf8(&buf) {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => batch.push((line_no, text.trim_end_matches(['\n', '\r']).to_string())),
                Err(_) => {
                    summary.read += 1;
                    let rejection = Rejection::new("line", "not UTF-8");
                    self.reject(&mut summary, line_no, "", &rejection)?;
                    continue;
                }
            }
            if batch.len() >= self.options.batch_size {
                self.flush(kind, &mut summary, &mut batch)?;
            }
        }
        self.flush(kind, &mut summary, &mut batch)?;
        progress.finish();
        summary.stored = kind.stored(self.conn).map_err(|source| ImportError::Db {
            file: name.to_string(),
            source,
        })?;
        Ok(summary)
    }

    /// Parses and stores one batch in one transaction.
    fn flush(
        &mut self,
        kind: FeedKind,
        summary: &mut FileSummary,
        batch: &mut Vec<(u64, String)>,
    ) -> Result<(), ImportError> {
        if batch.is_empty() {
            return Ok(());
        }
        let outcomes = self
            .conn
            .transaction::<_, DbError, _>(|conn| apply(kind, conn, batch))
            .map_err(|source| ImportError::Db {
                file: summary.file.clone(),
                source,
            })?;
        for ((line_no, text), outcome) in batch.iter().zip(outcomes) {
            summary.read += 1;
            match outcome {
                Outcome::Loaded => summary.loaded += 1,
                Outcome::Unchanged => summary.unchanged += 1,
                Outcome::Rejected(r) => self.reject(summary, *line_no, text, &r)?,
            }
        }
        batch.clear();
        Ok(())
    }

    fn reject(
        &mut self,
        summary: &mut FileSummary,
        line: u64,
        text: &str,
        r: &Rejection,
    ) -> Result<(), ImportError> {
        summary.rejected += 1;
        // The report names file, line, field and rule; never the line's values.
        let _ = writeln!(
            self.report,
            "{}:{line}: {}: {}",
            summary.file, r.field, r.reason
        );
        if let Some(w) = self.rejects.as_mut() {
            let rec = RejectRecord {
                file: &summary.file,
                line,
                field: &r.field,
                reason: &r.reason,
                text,
            };
            serde_json::to_writer(&mut *w, &rec).map_err(|e| ImportError::Rejects(e.into()))?;
            w.write_all(b"\n").map_err(ImportError::Rejects)?;
        }
        Ok(())
    }
}

/// Parses each line of the batch and stores the valid ones; one outcome per line, in order.
fn apply(
    kind: FeedKind,
    conn: &mut DbConnection,
    batch: &[(u64, String)],
) -> Result<Vec<Outcome>, DbError> {
    match kind {
        FeedKind::Clusters => apply_with(conn, batch, parse::cluster, store::clusters),
        FeedKind::Clinics => apply_with(conn, batch, parse::clinic, store::clinics),
        FeedKind::Patients => apply_with(conn, batch, parse::patient, store::patients),
        FeedKind::Plans => apply_with(conn, batch, parse::plan, store::plans),
        FeedKind::AppEvents => apply_with(conn, batch, parse::app_event, store::app_events),
        FeedKind::Milestones => apply_with(conn, batch, parse::milestone, store::milestones),
    }
}

fn apply_with<R>(
    conn: &mut DbConnection,
    batch: &[(u64, String)],
    parse: fn(&str) -> Result<R, Rejection>,
    store: fn(&mut DbConnection, &[R]) -> Result<Vec<Outcome>, DbError>,
) -> Result<Vec<Outcome>, DbError> {
    let parsed: Vec<Result<R, Rejection>> = batch.iter().map(|(_, text)| parse(text)).collect();
    let mut valid = Vec::with_capacity(parsed.len());
    let mut slots = Vec::with_capacity(parsed.len());
    for p in parsed {
        match p {
            Ok(r) => {
                slots.push(None);
                valid.push(r);
            }
            Err(rej) => slots.push(Some(Outcome::Rejected(rej))),
        }
    }
    let mut stored = store(conn, &valid)?.into_iter();
    Ok(slots
        .into_iter()
        .map(|slot| slot.or_else(|| stored.next()).unwrap_or(Outcome::Unchanged))
        .collect())
}

/// The feed directory layout `import DIR` expects, for messages.
pub fn expected_files() -> String {
    FeedKind::ORDER
        .iter()
        .map(|k| k.file_name())
        .collect::<Vec<_>>()
        .join(", ")
}
