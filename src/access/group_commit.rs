//! The audit written in groups (group commit, as PostgreSQL does for its WAL). Every
//! person-level answer still waits until its audit records — and a patient's own plan views —
//! are committed; but the answers that arrive while one commit runs share the next transaction,
//! instead of each queueing for a write transaction of its own behind SQLite's one writer. When
//! a group's commit fails, every answer of the group is withheld, as one answer's was before.

use super::audit::{insert, AuditRecords};
use crate::db::{Db, DbError};
use diesel::Connection;
use std::sync::{mpsc, Arc};
use tokio::sync::oneshot;

/// Most answers in one transaction, so the first of a long queue does not wait for all of it.
const MOST_PER_GROUP: usize = 256;

struct Job {
    records: AuditRecords,
    committed: oneshot::Sender<Result<(), Arc<DbError>>>,
}

/// The audit's one writer: a thread of its own that takes what has arrived, commits it in one
/// transaction and then tells each waiting answer.
#[derive(Clone)]
pub struct AuditWriter {
    jobs: mpsc::Sender<Job>,
}

impl AuditWriter {
    /// Starts the writer on `db` (give it the reserved lane: a patient's answer must not wait
    /// for a connection behind dashboards). It stops when the last `AuditWriter` is dropped.
    pub fn start(db: Db) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_groups(&db, &queue))?;
        Ok(Self { jobs })
    }

    /// Puts one answer's records on record: returns once they are committed, or with the error
    /// that kept their group from committing.
    pub async fn write(&self, records: AuditRecords) -> Result<(), DbError> {
        let stopped = || DbError::Unavailable("the audit writer has stopped".into());
        let (committed, done) = oneshot::channel();
        self.jobs
            .send(Job { records, committed })
            .map_err(|_| stopped())?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(DbError::Unavailable(format!(
                "the audit group was not committed: {e}"
            ))),
            Err(_) => Err(stopped()),
        }
    }
}

fn write_groups(db: &Db, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        while group.len() < MOST_PER_GROUP {
            match queue.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = commit(db, &group).map_err(Arc::new);
        crate::metrics::audit_commit(
            group.iter().map(|j| j.records.len()).sum(),
            started.elapsed().as_secs_f64(),
            result.is_ok(),
        );
        if let Err(e) = &result {
            tracing::error!(error = %e, answers = group.len(), "an audit group was not committed");
        }
        for job in group {
            // An answer whose request has gone (client disconnected) has no one to tell.
            let _ = job.committed.send(result.clone());
        }
    }
}

fn commit(db: &Db, group: &[Job]) -> Result<(), DbError> {
    let answers: Vec<&AuditRecords> = group.iter().map(|j| &j.records).collect();
    let mut conn = db.get()?;
    conn.transaction::<_, DbError, _>(|c| insert(c, &answers))
}
