//! Work admission: what a request may make the gateway do, decided before the work starts.
//!
//! - **Cost by the work, not by the text.** A resolver whose work grows with the data states
//!   its cost in units (about one plan version scanned, or one listed patient read) from its
//!   arguments and the sizes it will touch; a request's costs add up against its role's
//!   budget (`work.budget`), and past it the field is refused with OPERATION_LIMIT naming the
//!   cost and the budget. Twelve aliased three-year breakdowns cost twelve times one.
//! - **Bounded concurrency.** Aggregate work runs with a permit: at most `work.concurrent`
//!   at once per role in this process and `work.per_user` per user, and work of
//!   `work.heavy_units` or more also needs one of `work.heavy_concurrent` heavy slots (one:
//!   on two cores the other stays free); a request waits at most `work.queue_ms` for a
//!   permit, then the answer is 503 OVERLOADED with Retry-After. Patients' plan reads take no
//!   permit and have connections of their own (`db::Lane::Reserved`).
//! - **Deadlines that fire.** The work runs on the blocking pool and checks the request's
//!   deadline as it goes, so a request past its deadline stops working, not only waiting.

use crate::auth::{Principal, Role};
use crate::config::WorkSettings;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// When a request's time is up.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(Instant);

/// The request's deadline passed while it worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request's deadline passed")]
pub struct Expired;

impl Deadline {
    pub fn after(d: Duration) -> Self {
        Self(Instant::now() + d)
    }

    /// A deadline far away, for the CLI and benchmarks.
    pub fn none() -> Self {
        Self(Instant::now() + Duration::from_secs(365 * 24 * 3600))
    }

    pub fn check(&self) -> Result<(), Expired> {
        if Instant::now() >= self.0 {
            Err(Expired)
        } else {
            Ok(())
        }
    }
}

/// What one request has spent, and whether it was turned away for capacity.
#[derive(Debug)]
pub struct WorkMeter {
    spent: AtomicU64,
    pub deadline: Deadline,
    overloaded: AtomicBool,
}

impl Default for WorkMeter {
    fn default() -> Self {
        Self::new(Deadline::none())
    }
}

impl WorkMeter {
    pub fn new(deadline: Deadline) -> Self {
        Self {
            spent: AtomicU64::new(0),
            deadline,
            overloaded: AtomicBool::new(false),
        }
    }

    pub fn overloaded(&self) -> bool {
        self.overloaded.load(Ordering::SeqCst)
    }

    /// Units this request has cost so far.
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::SeqCst)
    }
}

/// Why work was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "operation limit: work: this request would cost {cost} units (plan versions scanned, \
         patients read), past the budget of {budget} for the {role} role; ask for a shorter \
         range, fewer groups or fewer aliases"
    )]
    OverBudget { cost: u64, budget: u64, role: Role },
    #[error(
        "the gateway is busy with other aggregate questions of your role or of yours; try \
         again in a moment"
    )]
    Busy,
}

/// The one heavy-work slot of the process, for a request whose work is past
/// `work.heavy_units`: such work takes at most `work.heavy_concurrent` cores (1), so the
/// others stay free for patients and dashboards.
pub struct HeavyPermit(#[allow(dead_code)] OwnedSemaphorePermit);

/// Held while admitted work runs; dropping it lets the next request in.
pub struct Permit {
    _role: OwnedSemaphorePermit,
    user: String,
    users: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut users) = self.users.lock() {
            if let Some(n) = users.get_mut(&self.user) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    users.remove(&self.user);
                }
            }
        }
    }
}

/// The budgets and permits of this process.
pub struct WorkAdmission {
    settings: WorkSettings,
    roles: HashMap<Role, Arc<Semaphore>>,
    heavy: Arc<Semaphore>,
    users: Arc<Mutex<HashMap<String, usize>>>,
}

impl WorkAdmission {
    pub fn new(settings: WorkSettings) -> Self {
        let roles = [Role::Clinician, Role::Region, Role::Ministry]
            .into_iter()
            .map(|r| {
                let n = usize::try_from(settings.concurrent.of(r).max(1)).unwrap_or(usize::MAX);
                (r, Arc::new(Semaphore::new(n)))
            })
            .collect();
        Self {
            heavy: Arc::new(Semaphore::new(
                usize::try_from(settings.heavy_concurrent.max(1)).unwrap_or(usize::MAX),
            )),
            settings,
            roles,
            users: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Whether a request that has cost this many units needs the heavy slot.
    pub fn is_heavy(&self, cost: u64) -> bool {
        cost >= self.settings.heavy_units
    }

    /// The heavy-work slot, waiting at most `work.queue_ms`.
    pub async fn heavy_permit(&self, meter: &WorkMeter) -> Result<HeavyPermit, Refusal> {
        let wait = Duration::from_millis(self.settings.queue_ms);
        match actix_web::rt::time::timeout(wait, self.heavy.clone().acquire_owned()).await {
            Ok(Ok(p)) => Ok(HeavyPermit(p)),
            _ => {
                meter.overloaded.store(true, Ordering::SeqCst);
                Err(Refusal::Busy)
            }
        }
    }

    /// Charges `cost` units to the request; refuses past the role's budget.
    pub fn charge(&self, meter: &WorkMeter, role: Role, cost: u64) -> Result<(), Refusal> {
        let budget = self.settings.budget.of(role);
        let before = meter.spent.fetch_add(cost, Ordering::SeqCst);
        let total = before.saturating_add(cost);
        if total > budget {
            meter.spent.fetch_sub(cost, Ordering::SeqCst);
            return Err(Refusal::OverBudget {
                cost: total,
                budget,
                role,
            });
        }
        Ok(())
    }

    /// A permit for aggregate work, waiting at most `work.queue_ms`.
    pub async fn permit(
        &self,
        meter: &WorkMeter,
        principal: &Principal,
    ) -> Result<Permit, Refusal> {
        let role = principal.role();
        let Some(semaphore) = self.roles.get(&role).cloned() else {
            // Patients and suppliers run no aggregate work.
            return Err(Refusal::Busy);
        };
        let user = format!("{}:{}", role.as_str(), principal.sub);
        {
            let mut users = self.users.lock().map_err(|_| Refusal::Busy)?;
            let n = users.entry(user.clone()).or_default();
            if u64::try_from(*n).unwrap_or(u64::MAX) >= self.settings.per_user.max(1) {
                meter.overloaded.store(true, Ordering::SeqCst);
                return Err(Refusal::Busy);
            }
            *n += 1;
        }
        let wait = Duration::from_millis(self.settings.queue_ms);
        let acquired = actix_web::rt::time::timeout(wait, semaphore.acquire_owned()).await;
        match acquired {
            Ok(Ok(permit)) => Ok(Permit {
                _role: permit,
                user,
                users: self.users.clone(),
            }),
            _ => {
                // Give the user slot back: no permit will.
                if let Ok(mut users) = self.users.lock() {
                    if let Some(n) = users.get_mut(&user) {
                        *n = n.saturating_sub(1);
                    }
                }
                meter.overloaded.store(true, Ordering::SeqCst);
                Err(Refusal::Busy)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{RoleAmounts, WorkSettings};

    fn settings() -> WorkSettings {
        WorkSettings {
            budget: RoleAmounts {
                clinician: 10,
                region: 100,
                ministry: 100,
            },
            concurrent: RoleAmounts {
                clinician: 1,
                region: 1,
                ministry: 1,
            },
            per_user: 1,
            queue_ms: 50,
            heavy_units: 50,
            heavy_concurrent: 1,
        }
    }

    #[test]
    fn costs_add_up_within_a_request() {
        let w = WorkAdmission::new(settings());
        let m = WorkMeter::default();
        assert!(w.charge(&m, Role::Region, 60).is_ok());
        let e = w.charge(&m, Role::Region, 60).expect_err("past the budget");
        assert!(
            e.to_string().contains("120 units") && e.to_string().contains("100"),
            "{e}"
        );
        // A refused charge is not spent: a smaller one still fits.
        assert!(w.charge(&m, Role::Region, 40).is_ok());
        assert!(Deadline::after(Duration::ZERO).check().is_err());
        assert!(Deadline::none().check().is_ok());
    }

    #[test]
    fn permits_are_bounded_per_user_and_role() {
        actix_web::rt::System::new().block_on(async {
            let w = WorkAdmission::new(settings());
            let m = WorkMeter::default();
            let a = Principal::new("a", crate::auth::Actor::Ministry);
            let b = Principal::new("b", crate::auth::Actor::Ministry);
            let first = w.permit(&m, &a).await.expect("first");
            // The same user again: refused at once; another user waits, then is refused.
            assert_eq!(w.permit(&m, &a).await.err(), Some(Refusal::Busy));
            assert_eq!(w.permit(&m, &b).await.err(), Some(Refusal::Busy));
            assert!(m.overloaded());
            drop(first);
            assert!(w.permit(&m, &b).await.is_ok());
            // One heavy slot in the process, whoever asks.
            assert!(w.is_heavy(60) && !w.is_heavy(10));
            let heavy = w.heavy_permit(&m).await.expect("heavy");
            assert_eq!(w.heavy_permit(&m).await.err(), Some(Refusal::Busy));
            drop(heavy);
            assert!(w.heavy_permit(&m).await.is_ok());
        });
    }
}
