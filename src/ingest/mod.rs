//! `forloeb import`: the six supplier feeds, streamed line by line in constant memory, each line
//! validated on its own, stored in batches of one transaction each. A bad line is reported and
//! never stops the good ones; the same line twice changes nothing; a killed import re-run
//! completes with the same final state.

mod parse;
mod pg_bulk;
mod progress;
mod rows;
mod store;

pub use parse::Rejection;
pub use store::Outcome;

use crate::config::ImportSettings;
use crate::db::{DbConnection, DbError};
use crate::on_backend;
use diesel::prelude::*;
use progress::Progress;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::Path;

/// Every feed in one table, in the order their references require (clusters before the
/// clinics that name them, clinics before patients and plans, plans before the app events
/// that name them): its file, the table it fills, how a line parses and how a batch is stored.
macro_rules! feeds {
    ($($kind:ident: $file:literal, $table:literal, $parse:path, $store:path;)+) => {
        /// The feeds, in the order their references require.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum FeedKind {
            $($kind),+
        }

        impl FeedKind {
            pub const ORDER: [FeedKind; <[&str]>::len(&[$(stringify!($kind)),+])] =
                [$(FeedKind::$kind),+];

            pub fn file_name(self) -> &'static str {
                match self {
                    $(FeedKind::$kind => $file),+
                }
            }

            /// The table this feed fills.
            fn table(self) -> &'static str {
                match self {
                    $(FeedKind::$kind => $table),+
                }
            }
        }

        impl Importer<'_> {
            /// One file of `kind` through its parser and its store.
            pub fn import_reader(
                &mut self,
                kind: FeedKind,
                name: &str,
                reader: impl BufRead + Send,
                size: Option<u64>,
            ) -> Result<FileSummary, ImportError> {
                match kind {
                    $(FeedKind::$kind => self.pipeline(kind, name, reader, size, $parse, $store)),+
                }
            }
        }
    };
}

feeds! {
    Clusters: "clusters.ndjson", "clusters", parse::cluster, store::clusters;
    Clinics: "clinics.ndjson", "clinics", parse::clinic, store::clinics;
    Patients: "patients.ndjson", "patients", parse::patient, store::patients;
    Delegations: "delegations.ndjson", "delegations", parse::delegation, store::delegations;
    Plans: "plans.ndjson", "plan_versions", parse::plan, store::plans;
    AppEvents: "app_events.ndjson", "app_events", parse::app_event, store::app_events;
    Milestones: "milestones.ndjson", "milestones", parse::milestone, store::milestones;
}

impl FeedKind {
    /// Refreshes PostgreSQL's statistics of the table. An import starts on small or empty
    /// tables; without this the planner keeps believing they are small and answers the
    /// batch lookups (`= ANY(…)`) with sequential scans, which measured minutes per query at
    /// national scale. SQLite's planner does not need it.
    fn analyze(self, conn: &mut DbConnection) -> Result<(), DbError> {
        if let DbConnection::Postgres(c) = conn {
            diesel::connection::SimpleConnection::batch_execute(
                c,
                &format!("ANALYZE {}", self.table()),
            )?;
        }
        Ok(())
    }

    /// Rows now stored for this feed (distinct keys).
    fn stored(self, conn: &mut DbConnection) -> Result<i64, DbError> {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let count = diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {}", self.table()));
        let row: Count = on_backend!(conn, |c| count.get_result(c))?;
        Ok(row.n)
    }
}

/// What one file did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    pub file: String,
    /// Which feed the file is (`plans`, …), whatever it is called.
    pub feed: &'static str,
    /// Non-blank lines read.
    pub read: u64,
    /// Lines that added or replaced a record.
    pub loaded: u64,
    /// Lines equal to what was already stored.
    pub unchanged: u64,
    pub rejected: u64,
    /// Records of this kind in the database afterwards.
    pub stored: i64,
    /// Fields the feed does not define, with the number of loaded lines that had each (a
    /// supplier's misspelling shows here; the line loads as if the field were absent).
    pub unknown_fields: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("cannot write the rejects file: {0}")]
    Rejects(std::io::Error),
    #[error(
        "{file}: {error}; the batch in progress was rolled back, re-run the import to complete it"
    )]
    Db { file: String, error: DbError },
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Lines per transaction.
    pub batch_size: usize,
    /// Show a progress line (only on a terminal).
    pub progress: bool,
    /// How long a line and its fields may be (`[import]`).
    pub limits: ImportSettings,
    /// Refuse lines with fields the feed does not define (`--strict`).
    pub strict: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            batch_size: 50_000,
            progress: false,
            limits: ImportSettings::default(),
            strict: false,
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
        let read_error = |error| ImportError::Read {
            path: path.display().to_string(),
            error,
        };
        if path == Path::new("-") {
            let stdin = std::io::BufReader::with_capacity(1 << 20, std::io::stdin());
            return self.import_reader(kind, "stdin", stdin, None);
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

    /// Two stages on two threads: one reads and parses the next batch while this one stores
    /// the current batch in a transaction. The channel is a rendezvous, so at most two
    /// batches are alive at a time whatever the file size.
    fn pipeline<R: Send>(
        &mut self,
        kind: FeedKind,
        name: &str,
        reader: impl BufRead + Send,
        size: Option<u64>,
        parse: Parser<R>,
        store: fn(&mut DbConnection, &[R]) -> Result<Vec<Outcome>, DbError>,
    ) -> Result<FileSummary, ImportError> {
        let batch_size = self.options.batch_size;
        let mut summary = FileSummary {
            file: name.to_string(),
            feed: kind.file_name().trim_end_matches(".ndjson"),
            ..FileSummary::default()
        };
        let mut progress = Progress::new(name, size, self.options.progress);
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(0);
            let file = name.to_string();
            // Line texts are only needed for the rejects file; without one they are dropped.
            let keep_text = self.rejects.is_some();
            let stage = ParseStage {
                parse,
                limits: self.options.limits,
                strict: self.options.strict,
                keep_text,
            };
            scope.spawn(move || read_batches(reader, &file, batch_size, &stage, &tx));
            for batch in rx {
                let batch: Batch<R> = batch?;
                progress.advance(batch.bytes, batch.lines);
                self.store_batch(&mut summary, batch, store)?;
                kind.analyze(self.conn).map_err(|error| ImportError::Db {
                    file: summary.file.clone(),
                    error,
                })?;
            }
            Ok::<(), ImportError>(())
        })?;
        progress.finish();
        summary.stored = kind.stored(self.conn).map_err(|error| ImportError::Db {
            file: name.to_string(),
            error,
        })?;
        Ok(summary)
    }

    /// Stores the valid records of one batch in one transaction and counts every line.
    fn store_batch<R>(
        &mut self,
        summary: &mut FileSummary,
        batch: Batch<R>,
        store: fn(&mut DbConnection, &[R]) -> Result<Vec<Outcome>, DbError>,
    ) -> Result<(), ImportError> {
        let mut valid = Vec::with_capacity(batch.items.len());
        let mut lines = Vec::with_capacity(batch.items.len());
        for item in batch.items {
            match item.parsed {
                Ok(r) => {
                    for field in item.unknown {
                        *summary.unknown_fields.entry(field).or_default() += 1;
                    }
                    valid.push(r);
                    lines.push((item.line, item.text, None));
                }
                Err(rej) => lines.push((item.line, item.text, Some(rej))),
            }
        }
        let mut stored = self
            .conn
            .transaction::<_, DbError, _>(|conn| {
                let outcomes = store(conn, &valid)?;
                crate::db::bump_data_version(conn)?;
                Ok(outcomes)
            })
            .map_err(|error| ImportError::Db {
                file: summary.file.clone(),
                error,
            })?
            .into_iter();
        for (line, text, rejection) in lines {
            summary.read += 1;
            let outcome = match rejection {
                Some(r) => Outcome::Rejected(r),
                None => stored.next().unwrap_or(Outcome::Unchanged),
            };
            match outcome {
                Outcome::Loaded => summary.loaded += 1,
                Outcome::Unchanged => summary.unchanged += 1,
                Outcome::Rejected(r) => self.reject(summary, line, &text, &r)?,
            }
        }
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

/// Tunes an SQLite connection for a long import: checkpoint the write-ahead log every ~400 MB
/// instead of every 4 MB, so that index pages dirtied batch after batch are copied back to the
/// database far less often. Durability per batch is unchanged. A no-op on PostgreSQL.
pub fn prepare_bulk(conn: &mut DbConnection) -> Result<(), DbError> {
    if let DbConnection::Sqlite(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "PRAGMA wal_autocheckpoint = 100000;",
        )?;
    }
    Ok(())
}

/// Folds the log back into the database file and truncates it, then restores the default.
pub fn finish_bulk(conn: &mut DbConnection) -> Result<(), DbError> {
    if let DbConnection::Sqlite(c) = conn {
        diesel::connection::SimpleConnection::batch_execute(
            c,
            "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint = 1000;",
        )?;
    }
    Ok(())
}

/// A batch also ends after this much input, whatever `batch_size` says: a plan line is about
/// 640 bytes and its parsed record a kilobyte more, so 50,000 of them, twice (one batch being
/// stored while the next is parsed), were most of the import's peak memory. 8 MiB is about
/// 13,000 plan lines and 65,000 patient lines. Measured on the national feeds (SQLite): 50,000
/// lines only, 22.5 s and 258 MB peak; 16 MiB, 21.5 s and 211 MB; 8 MiB, 20.3 s and 173 MB.
const BATCH_BYTES: u64 = 8 << 20;

/// How a line of one feed parses (`parse.rs`).
type Parser<R> = fn(&str, &ImportSettings, &mut parse::Unknown) -> Result<R, Rejection>;

/// What the reading stage does with each line.
struct ParseStage<R> {
    parse: Parser<R>,
    limits: ImportSettings,
    /// A line with an unknown field is rejected instead of loaded.
    strict: bool,
    /// Line texts are only needed for the rejects file.
    keep_text: bool,
}

impl<R> ParseStage<R> {
    fn item(&self, line: u64, text: &str) -> Item<R> {
        let mut unknown = parse::Unknown::new();
        let parsed = match (self.parse)(text, &self.limits, &mut unknown) {
            Ok(_) if self.strict && !unknown.is_empty() => Err(Rejection::new(
                unknown.swap_remove(0),
                "not a field of this feed (--strict refuses unknown fields)",
            )),
            parsed => parsed,
        };
        Item {
            line,
            text: if self.keep_text {
                text.to_string()
            } else {
                String::new()
            },
            parsed,
            unknown,
        }
    }
}

/// One line read, with what parsing made of it.
struct Item<R> {
    line: u64,
    text: String,
    parsed: Result<R, Rejection>,
    /// Fields of a parsed line that the feed does not define.
    unknown: parse::Unknown,
}

impl<R> Item<R> {
    /// A line refused before parsing, as a whole.
    fn refused(line: u64, reason: String) -> Self {
        Self {
            line,
            text: String::new(),
            parsed: Err(Rejection::new("line", reason)),
            unknown: parse::Unknown::new(),
        }
    }
}

/// Up to `batch_size` non-blank lines, parsed.
struct Batch<R> {
    items: Vec<Item<R>>,
    /// Bytes and lines (blank ones too) consumed, for the progress line.
    bytes: u64,
    lines: u64,
}

/// The reading stage: splits the input into lines, skips blank ones, parses the rest, and
/// sends batches until the input ends, reading fails, or the storing stage hangs up.
/// Reads one line (through its `\n`) into `buf`, keeping at most `max` bytes of it: the rest
/// of a longer line is consumed from the reader's buffer and dropped, so memory stays bounded
/// whatever the line. Returns the bytes consumed and whether the line was cut.
fn read_line_bounded(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let (mut consumed, mut cut) = (0usize, false);
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((consumed, cut));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (available.get(..=i).unwrap_or(available), true),
            None => (available, false),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            cut = true;
        }
        buf.extend(chunk.iter().take(room));
        let n = chunk.len();
        reader.consume(n);
        consumed += n;
        if done {
            return Ok((consumed, cut));
        }
    }
}

fn read_batches<R>(
    mut reader: impl BufRead,
    file: &str,
    batch_size: usize,
    stage: &ParseStage<R>,
    tx: &std::sync::mpsc::SyncSender<Result<Batch<R>, ImportError>>,
) {
    let max_line = stage.limits.max_line_bytes;
    let mut buf = Vec::new();
    let mut line = 0u64;
    let new_batch = || Batch {
        items: Vec::with_capacity(batch_size),
        bytes: 0,
        lines: 0,
    };
    let mut batch = new_batch();
    loop {
        buf.clear();
        let (n, cut) = match read_line_bounded(&mut reader, &mut buf, max_line) {
            Ok(n) => n,
            Err(error) => {
                let _ = tx.send(Err(ImportError::Read {
                    path: file.to_string(),
                    error,
                }));
                return;
            }
        };
        if n == 0 {
            break;
        }
        line += 1;
        batch.bytes += n as u64;
        batch.lines += 1;
        // A UTF-8 byte-order mark, as some editors write, is not part of the first line.
        if line == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
            buf.drain(..3);
        }
        let item = match std::str::from_utf8(&buf) {
            _ if cut => Item::refused(line, format!("longer than {max_line} bytes")),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => stage.item(line, text.trim_end_matches(['\n', '\r'])),
            Err(_) => Item::refused(line, "not UTF-8".into()),
        };
        batch.items.push(item);
        if batch.items.len() >= batch_size || batch.bytes >= BATCH_BYTES {
            let full = std::mem::replace(&mut batch, new_batch());
            if tx.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(Ok(batch));
}

/// The feed directory layout `import DIR` expects, for messages.
pub fn expected_files() -> String {
    FeedKind::ORDER
        .iter()
        .map(|k| k.file_name())
        .collect::<Vec<_>>()
        .join(", ")
}
