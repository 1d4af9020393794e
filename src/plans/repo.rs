//! Person-level reads. Every function takes a `Scope`; there is no unscoped variant.

use crate::access::{self, Scope};
use crate::db::tables::{patients, plan_versions};
use crate::db::{DbConnection, DbError};
use crate::domain::{
    Cpr, Diagnosis, Goal, Measurement, PlanStatus, PlanType, Source, StoredList, Timestamp,
    Ydernummer,
};
use chrono::NaiveDate;
use diesel::dsl::exists;
use diesel::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// A person's current listing, when the population feed has one. Typed as it is read: a
/// stored value that does not parse fails the query (`DbError::is_unparsable`), it is never
/// defaulted or dropped.
#[derive(Debug, Clone, Queryable)]
pub struct Listing {
    #[diesel(deserialize_as = String)]
    pub cpr: Cpr,
    #[diesel(deserialize_as = String)]
    pub ydernummer: Ydernummer,
    pub listed: bool,
    #[diesel(deserialize_as = String)]
    pub diagnoses: StoredList<Diagnosis>,
}

/// One stored plan version, typed as it is read (see `Listing`).
#[derive(Debug, Clone, Queryable)]
pub struct PlanVersionRow {
    #[diesel(deserialize_as = String)]
    pub source: Source,
    pub plan_id: String,
    pub version: i32,
    #[diesel(deserialize_as = String)]
    pub cpr: Cpr,
    #[diesel(deserialize_as = String)]
    pub ydernummer: Ydernummer,
    #[diesel(deserialize_as = String)]
    pub plan_type: PlanType,
    #[diesel(deserialize_as = i64)]
    pub created_at: Timestamp,
    #[diesel(deserialize_as = String)]
    pub status: PlanStatus,
    pub next_control: Option<NaiveDate>,
    pub is_new: bool,
    #[diesel(deserialize_as = String)]
    pub goals: StoredList<Goal>,
    #[diesel(deserialize_as = String)]
    pub measurements: StoredList<Measurement>,
}

/// Of `cprs`, the ones `scope` reaches: the patient themself and the people whose delegation
/// to them holds today, or the patients of the clinician's clinic (DOMAIN.md): listed there (a
/// population line naming the clinic with `listed: false` is not a listing), or with a plan
/// made by it.
pub fn persons_in_scope(
    conn: &mut DbConnection,
    scope: &Scope,
    cprs: &[String],
) -> Result<BTreeSet<String>, DbError> {
    match scope {
        Scope::Person(own) => {
            let mut found: BTreeSet<String> = BTreeSet::new();
            let mut others = Vec::new();
            for c in cprs {
                if c.as_str() == own.as_str() {
                    found.insert(c.clone());
                } else {
                    others.push(c.clone());
                }
            }
            // Only a read of someone else asks for delegations: the app's own reads stay one
            // statement.
            if !others.is_empty() {
                let held = access::delegation::holding(
                    conn,
                    own,
                    Some(&others),
                    access::delegation::today(),
                )?;
                found.extend(held.into_iter().map(|c| c.as_str().to_string()));
            }
            Ok(found)
        }
        Scope::Clinic(y) => {
            let mut found: BTreeSet<String> = patients::table
                .filter(patients::cpr.eq_any(cprs))
                .filter(patients::ydernummer.eq(y.as_str()))
                .filter(patients::listed.eq(true))
                .select(patients::cpr)
                .load::<String>(conn)?
                .into_iter()
                .collect();
            let treated: Vec<String> = plan_versions::table
                .filter(plan_versions::cpr.eq_any(cprs))
                .filter(plan_versions::ydernummer.eq(y.as_str()))
                .select(plan_versions::cpr)
                .distinct()
                .load(conn)?;
            found.extend(treated);
            Ok(found)
        }
        Scope::Supplier(_) | Scope::NoPersons => Ok(BTreeSet::new()),
    }
}

/// The columns of a `PlanVersionRow`, in its order.
const VERSION_COLUMNS: (
    plan_versions::source,
    plan_versions::plan_id,
    plan_versions::version,
    plan_versions::cpr,
    plan_versions::ydernummer,
    plan_versions::plan_type,
    plan_versions::created_at,
    plan_versions::status,
    plan_versions::next_control,
    plan_versions::is_new,
    plan_versions::goals,
    plan_versions::measurements,
) = (
    plan_versions::source,
    plan_versions::plan_id,
    plan_versions::version,
    plan_versions::cpr,
    plan_versions::ydernummer,
    plan_versions::plan_type,
    plan_versions::created_at,
    plan_versions::status,
    plan_versions::next_control,
    plan_versions::is_new,
    plan_versions::goals,
    plan_versions::measurements,
);

/// A person in scope: `Some((cpr, listing))`; out of scope or unknown: `None`, alike.
pub fn person(
    conn: &mut DbConnection,
    scope: &Scope,
    cpr: &Cpr,
) -> Result<Option<Option<Listing>>, DbError> {
    let key = [cpr.as_str().to_string()];
    if persons_in_scope(conn, scope, &key)?.is_empty() {
        return Ok(None);
    }
    let listing = patients::table
        .filter(patients::cpr.eq(cpr.as_str()))
        .select((
            patients::cpr,
            patients::ydernummer,
            patients::listed,
            patients::diagnoses,
        ))
        .first::<Listing>(conn)
        .optional()?;
    // A patient with neither a listing nor a plan does not exist for anyone but themself.
    if listing.is_none() && matches!(scope, Scope::Clinic(_)) {
        let has_plan: bool = diesel::select(exists(
            plan_versions::table.filter(plan_versions::cpr.eq(cpr.as_str())),
        ))
        .get_result(conn)?;
        if !has_plan {
            return Ok(None);
        }
    }
    Ok(Some(listing))
}

/// A person's listing (None: not listed) and, when asked for, their plan versions.
pub type PersonRead = (Option<Listing>, Option<Vec<PlanVersionRow>>);

/// A person as `person` finds them, with their plan versions read on the same connection when
/// `with_plans` (one trip to the database for a patient's read, instead of a second for the
/// plans loader).
pub fn person_and_plans(
    conn: &mut DbConnection,
    scope: &Scope,
    cpr: &Cpr,
    with_plans: bool,
) -> Result<Option<PersonRead>, DbError> {
    let Some(listing) = person(conn, scope, cpr)? else {
        return Ok(None);
    };
    let plans = if with_plans {
        let key = cpr.as_str().to_string();
        let mut by = versions_by_person(conn, std::slice::from_ref(&key))?;
        Some(by.remove(&key).unwrap_or_default())
    } else {
        None
    };
    Ok(Some((listing, plans)))
}

/// All plan versions of the persons in `cprs` that `scope` reaches, by person.
pub fn plan_versions_of(
    conn: &mut DbConnection,
    scope: &Scope,
    cprs: &[String],
) -> Result<HashMap<String, Vec<PlanVersionRow>>, DbError> {
    let reach: Vec<String> = persons_in_scope(conn, scope, cprs)?.into_iter().collect();
    versions_by_person(conn, &reach)
}

/// The CPR number of a plan's patient, if the scope reaches them.
pub fn plan_owner(
    conn: &mut DbConnection,
    scope: &Scope,
    source: &str,
    plan_id: &str,
) -> Result<Option<String>, DbError> {
    let owner: Option<String> = plan_versions::table
        .filter(plan_versions::source.eq(source))
        .filter(plan_versions::plan_id.eq(plan_id))
        .select(plan_versions::cpr)
        .first(conn)
        .optional()?;
    let Some(cpr) = owner else {
        return Ok(None);
    };
    Ok(persons_in_scope(conn, scope, &[cpr])?.into_iter().next())
}

/// Every version of the plan `source:plan_id`, in version order, if `scope` reaches its
/// patient; None, alike, when it does not or there is no such plan.
pub fn plan_versions(
    conn: &mut DbConnection,
    scope: &Scope,
    source: &str,
    plan_id: &str,
) -> Result<Option<Vec<PlanVersionRow>>, DbError> {
    if plan_owner(conn, scope, source, plan_id)?.is_none() {
        return Ok(None);
    }
    let rows: Vec<PlanVersionRow> = plan_versions::table
        .filter(plan_versions::source.eq(source))
        .filter(plan_versions::plan_id.eq(plan_id))
        .order(plan_versions::version)
        .select(VERSION_COLUMNS)
        .load(conn)?;
    Ok(Some(rows))
}

/// Plan versions of persons already known to be in scope; private, so that callers outside
/// this module always go through a `Scope`.
fn versions_by_person(
    conn: &mut DbConnection,
    reach: &[String],
) -> Result<HashMap<String, Vec<PlanVersionRow>>, DbError> {
    let rows: Vec<PlanVersionRow> = plan_versions::table
        .filter(plan_versions::cpr.eq_any(reach))
        .order((
            plan_versions::cpr,
            plan_versions::source,
            plan_versions::plan_id,
            plan_versions::version,
        ))
        .select(VERSION_COLUMNS)
        .load(conn)?;
    let mut by: HashMap<String, Vec<PlanVersionRow>> = HashMap::new();
    for r in rows {
        by.entry(r.cpr.as_str().to_string()).or_default().push(r);
    }
    Ok(by)
}

/// Which listed patients of a clinic a page shows.
#[derive(Debug, Clone, Copy)]
pub enum ClinicList {
    /// Everyone listed at the clinic.
    Listed,
    /// Listed with the diagnosis but no plan of that type yet: whom to invite next.
    Uninvited(PlanType),
}

/// A clinic page: each listed patient, with their plan versions when asked for.
pub type Page = Vec<(Listing, Option<Vec<PlanVersionRow>>)>;

/// A page of a clinic's listed patients, by CPR, and the total. `None` when `scope` is not a
/// clinician of that clinic. With `with_plans`, the page's plan versions come in one more
/// statement (the persons are in scope: they are listed at the clinician's own clinic).
pub fn clinic_patients(
    conn: &mut DbConnection,
    scope: &Scope,
    clinic: &str,
    list: ClinicList,
    (offset, limit): (i64, i64),
    with_plans: bool,
) -> Result<Option<(Page, i64)>, DbError> {
    let Scope::Clinic(own) = scope else {
        return Ok(None);
    };
    if own.as_str() != clinic {
        return Ok(None);
    }
    let base = || {
        let q = patients::table
            .filter(patients::ydernummer.eq(clinic.to_string()))
            .filter(patients::listed.eq(true))
            .into_boxed();
        match list {
            ClinicList::Listed => q,
            ClinicList::Uninvited(t) => {
                let planned = exists(
                    plan_versions::table
                        .filter(plan_versions::cpr.eq(patients::cpr))
                        .filter(plan_versions::plan_type.eq(t.as_str())),
                );
                let q = match t {
                    PlanType::Kol => q.filter(patients::has_kol.eq(true)),
                    PlanType::Dm2 => q.filter(patients::has_dm2.eq(true)),
                    PlanType::Ihd => q.filter(patients::has_ihd.eq(true)),
                };
                q.filter(diesel::dsl::not(planned))
            }
        }
    };
    let total: i64 = base().count().get_result(conn)?;
    let rows: Vec<Listing> = base()
        .order(patients::cpr)
        .offset(offset)
        .limit(limit)
        .select((
            patients::cpr,
            patients::ydernummer,
            patients::listed,
            patients::diagnoses,
        ))
        .load(conn)?;
    let mut plans = if with_plans {
        let cprs: Vec<String> = rows.iter().map(|r| r.cpr.as_str().to_string()).collect();
        Some(versions_by_person(conn, &cprs)?)
    } else {
        None
    };
    let page = rows
        .into_iter()
        .map(|r| {
            let p = plans
                .as_mut()
                .map(|m| m.remove(r.cpr.as_str()).unwrap_or_default());
            (r, p)
        })
        .collect();
    Ok(Some((page, total)))
}
