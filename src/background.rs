//! Aggregate work at the lowest CPU priority. Dashboards and ad-hoc questions can take whole
//! seconds of CPU at national scale; on a two-core machine two of them would leave patients'
//! requests waiting for a core. Such work runs on a thread of its own with the scheduler's
//! batch policy at the highest nice value (on Linux: SCHED_BATCH, nice 19), so any request
//! thread that wants a core gets it first, and the work uses what is left. The thread ends
//! with the work, so no pooled thread ever keeps the low priority.

/// Runs `f` on a low-priority thread of its own; None if no thread could be started or the
/// work panicked.
pub async fn run<T, F>(f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("forloeb-aggregate".into())
        .spawn(move || {
            lower_priority();
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start a thread for aggregate work");
        return None;
    }
    rx.await.ok()
}

fn lower_priority() {
    #[cfg(unix)]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadSchedulePolicy,
        };
        let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Batch);
        if let Err(e) = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            policy,
        ) {
            // Still correct, only not yielding: say so once per thread, not per request.
            tracing::debug!(error = ?e, "aggregate work runs at normal priority");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn work_runs_and_answers() {
        let got = actix_web::rt::System::new().block_on(super::run(|| 6 * 7));
        assert_eq!(got, Some(42));
        let panicked =
            actix_web::rt::System::new().block_on(super::run(|| -> u8 { panic!("boom") }));
        assert_eq!(panicked, None);
    }
}
