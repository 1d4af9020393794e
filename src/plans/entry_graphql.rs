//! The patient's own entries in GraphQL: the four writes of the Min Læge App (mutations, each
//! a trusted document), the entries as a plan's readers see them, and a supplier's cursor over
//! the entries on its plans. Whose plan may be written or read is the `Scope`'s to say
//! (`plans::entries`); here arguments parse into domain types, naming the argument and the
//! rule they broke, before anything is stored.

use super::entries::{self, Entry, NewEntry, Recorded, WritablePlan};
use crate::access::{self, AuditRecords, Scope};
use crate::domain::{self, Cpr, EntryContent, EntryId, Timestamp};
use crate::error::Code;
use crate::gql::{self, bad_input, db_error, Date, MeasurementCode, Source};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ErrorExtensions, Object, SimpleObject, ID};
use std::collections::HashMap;
use std::sync::Arc;

/// Loads the entries of many persons in one query, within the request's scope.
pub struct EntriesLoader {
    pub db: crate::db::Db,
    pub scope: Scope,
}

impl Loader<String> for EntriesLoader {
    type Value = Arc<Vec<Entry>>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let scope = self.scope.clone();
        let keys = keys.to_vec();
        let found = self
            .db
            .run(move |c| entries::entries_of(c, &scope, &keys))
            .await
            .map_err(db_error)?;
        let mut by: HashMap<String, Vec<Entry>> = HashMap::new();
        for e in found {
            by.entry(e.cpr.as_str().to_string()).or_default().push(e);
        }
        Ok(by.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

pub type EntriesDataLoader = DataLoader<EntriesLoader>;

/// All of `cpr`'s entries, oldest first, loaded once per request however many plans and goals
/// ask.
async fn of_person(ctx: &Context<'_>, cpr: &Cpr) -> gql::Result<Arc<Vec<Entry>>> {
    Ok(ctx
        .data::<EntriesDataLoader>()
        .map_err(|_| gql::internal("no entries loader"))?
        .load_one(cpr.as_str().to_string())
        .await?
        .unwrap_or_default())
}

/// The entries on one plan of `cpr`, oldest first (audited as a read when there are any).
pub async fn on_plan(
    ctx: &Context<'_>,
    cpr: &Cpr,
    source: domain::Source,
    plan_id: &str,
) -> gql::Result<Vec<Entry>> {
    let on: Vec<Entry> = of_person(ctx, cpr)
        .await?
        .iter()
        .filter(|e| e.source == source && e.plan_id == plan_id)
        .cloned()
        .collect();
    if !on.is_empty() {
        gql::state(ctx)?.trail.read(cpr, "PatientEntry");
    }
    Ok(on)
}

/// The latest mark on the goal `text`/`set_on` of a plan that is not withdrawn: it follows
/// the goal into every version that carries the same text and date (audited as a read when
/// there is one).
pub async fn goal_mark(
    ctx: &Context<'_>,
    cpr: &Cpr,
    (source, plan_id): (domain::Source, &str),
    (text, set_on): (&str, chrono::NaiveDate),
) -> gql::Result<Option<PatientGoalMark>> {
    let all = of_person(ctx, cpr).await?;
    let mark = all
        .iter()
        .rev()
        .filter(|e| e.source == source && e.plan_id == plan_id && !e.withdrawn)
        .find_map(|e| match &e.content {
            EntryContent::GoalMark {
                goal_text,
                goal_set_on,
                reached,
            } if goal_text == text && *goal_set_on == set_on => Some(PatientGoalMark {
                reached: *reached,
                at: e.at.to_local_rfc3339(),
                by_delegate: e.by_delegate(),
                entry: ID(e.id.to_string()),
            }),
            _ => None,
        });
    if mark.is_some() {
        gql::state(ctx)?.trail.read(cpr, "PatientEntry");
    }
    Ok(mark)
}

/// What kind of entry a patient made.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum PatientEntryKind {
    /// The patient's mark on a goal: reached or not reached.
    GoalMark,
    /// A measurement taken at home (patient-reported).
    HomeMeasurement,
    /// A note for the next check-up.
    Note,
    /// Takes back an earlier entry; both stay in the history.
    Withdrawal,
}

impl From<domain::EntryKind> for PatientEntryKind {
    fn from(k: domain::EntryKind) -> Self {
        match k {
            domain::EntryKind::GoalMark => Self::GoalMark,
            domain::EntryKind::HomeMeasurement => Self::HomeMeasurement,
            domain::EntryKind::Note => Self::Note,
            domain::EntryKind::Withdrawal => Self::Withdrawal,
        }
    }
}

/// An entry the patient (or their power-of-attorney holder) made on a care plan in the Min
/// Læge App. Never changed: a withdrawal is a later entry, and both stay.
pub struct PatientEntry(pub Entry);

/// An entry the patient (or their power-of-attorney holder) made on a care plan in the Min
/// Læge App. Never changed: a withdrawal is a later entry, and both stay.
#[Object]
impl PatientEntry {
    /// The id the app gave the entry (a UUID).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What kind of entry it is.
    async fn kind(&self) -> PatientEntryKind {
        self.0.content.kind().into()
    }
    /// When it was stored (local time, Europe/Copenhagen, RFC 3339).
    async fn at(&self) -> String {
        self.0.at.to_local_rfc3339()
    }
    /// The plan it is on: the care plan's opaque id (`CarePlan.id`).
    async fn plan(&self) -> ID {
        ID(format!("{}:{}", self.0.source, self.0.plan_id))
    }
    /// The platform that delivered the plan (datakilde).
    async fn source(&self) -> Source {
        self.0.source.into()
    }
    /// The plan's id at its source, for the GP system to file the entry with its plan.
    async fn plan_id(&self) -> &str {
        &self.0.plan_id
    }
    /// Made by the patient's power-of-attorney holder (fuldmagtshaver), not the patient.
    async fn by_delegate(&self) -> bool {
        self.0.by_delegate()
    }
    /// Whether a later entry withdrew this one.
    async fn withdrawn(&self) -> bool {
        self.0.withdrawn
    }
    /// The goal a goal mark is about: its text (null for other kinds).
    async fn goal_text(&self) -> Option<&str> {
        match &self.0.content {
            EntryContent::GoalMark { goal_text, .. } => Some(goal_text),
            _ => None,
        }
    }
    /// The goal a goal mark is about: the day it was set (null for other kinds).
    async fn goal_set_on(&self) -> Option<Date> {
        match &self.0.content {
            EntryContent::GoalMark { goal_set_on, .. } => Some(Date(*goal_set_on)),
            _ => None,
        }
    }
    /// A goal mark: whether the patient says the goal is reached (null for other kinds).
    async fn reached(&self) -> Option<bool> {
        match &self.0.content {
            EntryContent::GoalMark { reached, .. } => Some(*reached),
            _ => None,
        }
    }
    /// A home measurement (null for other kinds): reported by the patient, never one of the
    /// clinic's measurements and never in any figure.
    async fn measurement(&self) -> Option<HomeMeasurement> {
        match &self.0.content {
            EntryContent::HomeMeasurement {
                code,
                value,
                measured_on,
            } => Some(HomeMeasurement {
                code: (*code).into(),
                label: super::graphql::label(*code).to_string(),
                value: *value,
                unit: code.unit().to_string(),
                measured_on: Date(*measured_on),
            }),
            _ => None,
        }
    }
    /// A note for the next check-up (null for other kinds).
    async fn note(&self) -> Option<&str> {
        match &self.0.content {
            EntryContent::Note(text) => Some(text),
            _ => None,
        }
    }
    /// The entry a withdrawal takes back (null for other kinds).
    async fn withdraws(&self) -> Option<ID> {
        match &self.0.content {
            EntryContent::Withdrawal(id) => Some(ID(id.to_string())),
            _ => None,
        }
    }
}

/// A measurement the patient took at home (patient-reported).
#[derive(SimpleObject)]
pub struct HomeMeasurement {
    /// What is measured.
    pub code: MeasurementCode,
    /// What is measured, in Danish.
    pub label: String,
    /// The measured value, in `unit`.
    pub value: f64,
    /// The unit (enhed).
    pub unit: String,
    /// When it was measured.
    pub measured_on: Date,
}

/// The patient's own mark on a goal, beside the clinic's `achieved`.
#[derive(SimpleObject)]
pub struct PatientGoalMark {
    /// Whether the patient says the goal is reached.
    pub reached: bool,
    /// When the mark was made (local time, Europe/Copenhagen, RFC 3339).
    pub at: String,
    /// Made by the patient's power-of-attorney holder.
    pub by_delegate: bool,
    /// The entry that made the mark.
    pub entry: ID,
}

/// What a plan argument that is not one of the caller's plans gets: the same as a plan that
/// does not exist.
const NO_SUCH_PLAN: &str = "no such plan among the plans you may write on";

/// The patient's writes (Min Læge App). Each takes the app's id for the entry: sent again with
/// the same content it answers the stored entry and stores nothing; with other content it is a
/// CONFLICT. The entry and the audit record of its write are stored together, before the
/// answer leaves.
#[derive(Default)]
pub struct PlansMutation;

#[Object]
impl PlansMutation {
    /// Marks a goal of an active plan as reached or not reached. The goal is the current
    /// version's goal with this text and date; the mark follows it into later versions that
    /// keep them. The clinic's `achieved` is not changed.
    async fn mark_goal(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The app's id for the entry (a UUID).")] id: ID,
        #[graphql(desc = "The care plan's id (`CarePlan.id`).")] plan: ID,
        #[graphql(desc = "The goal's text, as the plan gives it.")] goal_text: String,
        #[graphql(desc = "The day the goal was set, as the plan gives it.")] goal_set_on: Date,
        #[graphql(desc = "Whether the patient says the goal is reached.")] reached: bool,
    ) -> gql::Result<PatientEntry> {
        let id = entry_id(&id)?;
        let target = writable_plan(ctx, &plan).await?;
        let on_current = gql::stored("goals", target.current.goals.items())?
            .iter()
            .any(|g| g.text == goal_text && g.set_on == goal_set_on.0);
        if !on_current {
            return Err(bad_input(
                "goalText",
                format!(
                    "the plan's current version has no goal with this text set on {}",
                    goal_set_on.0
                ),
            ));
        }
        let content = EntryContent::GoalMark {
            goal_text,
            goal_set_on: goal_set_on.0,
            reached,
        };
        store(ctx, id, &target, content).await
    }

    /// Adds a measurement taken at home to an active plan: BP_SYS, BP_DIA, WEIGHT or BMI, a
    /// value in the code's range, measured not after today (Copenhagen) and not more than a
    /// year back. Shown as patient-reported, never among the clinic's measurements.
    async fn add_home_measurement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The app's id for the entry (a UUID).")] id: ID,
        #[graphql(desc = "The care plan's id (`CarePlan.id`).")] plan: ID,
        #[graphql(desc = "BP_SYS, BP_DIA, WEIGHT or BMI.")] code: MeasurementCode,
        #[graphql(desc = "In the code's unit, within its valid range.")] value: f64,
        #[graphql(desc = "The day it was measured: not after today, at most a year back.")]
        measured_on: Date,
    ) -> gql::Result<PatientEntry> {
        let id = entry_id(&id)?;
        let content = EntryContent::home_measurement(
            code.into(),
            value,
            measured_on.0,
            access::delegation::today(),
        )
        .map_err(refused)?;
        let target = writable_plan(ctx, &plan).await?;
        store(ctx, id, &target, content).await
    }

    /// Writes a note for the next check-up on an active plan: plain text of 1–2,000
    /// characters; line breaks are kept, other control characters are refused.
    async fn write_note(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The app's id for the entry (a UUID).")] id: ID,
        #[graphql(desc = "The care plan's id (`CarePlan.id`).")] plan: ID,
        #[graphql(desc = "The note: 1–2,000 characters of plain text.")] text: String,
    ) -> gql::Result<PatientEntry> {
        let id = entry_id(&id)?;
        let content = EntryContent::note(&text).map_err(refused)?;
        let target = writable_plan(ctx, &plan).await?;
        store(ctx, id, &target, content).await
    }

    /// Withdraws an earlier entry on an active plan with a new entry that says so; both stay
    /// in the plan's history. An entry is withdrawn once; a withdrawal cannot be withdrawn.
    async fn withdraw_entry(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The app's id for this withdrawal (a UUID).")] id: ID,
        #[graphql(desc = "The id of the entry to withdraw.")] entry: ID,
    ) -> gql::Result<PatientEntry> {
        let id = entry_id(&id)?;
        let withdrawn = EntryId::parse(&entry).map_err(|e| bad_input("entry", e))?;
        let scope = gql::viewer(ctx)?.scope();
        let target = gql::db(ctx)?
            .run(move |c| entries::entry_in_scope(c, &scope, &withdrawn))
            .await
            .map_err(db_error)?
            .ok_or_else(|| bad_input("entry", "no such entry on the plans you may write on"))?;
        if matches!(target.content, EntryContent::Withdrawal(_)) {
            return Err(bad_input("entry", "a withdrawal cannot be withdrawn"));
        }
        let plan = writable_plan(ctx, &format!("{}:{}", target.source, target.plan_id)).await?;
        store(ctx, id, &plan, EntryContent::Withdrawal(target.id)).await
    }
}

fn entry_id(id: &str) -> gql::Result<EntryId> {
    EntryId::parse(id).map_err(|e| bad_input("id", e))
}

fn refused(e: domain::InvalidEntry) -> async_graphql::Error {
    bad_input(e.argument, e.rule)
}

/// The plan `plan` names, if it is one the caller may write on (their own, or of someone whose
/// delegation to them holds today) and its current version is active.
async fn writable_plan(ctx: &Context<'_>, plan: &str) -> gql::Result<WritablePlan> {
    let viewer = gql::viewer(ctx)?;
    // Policy admits only patients to the mutations; the author must be a person all the same.
    viewer.own_person().ok_or_else(access::forbidden)?;
    let Some((source, plan_id)) = plan.split_once(':') else {
        return Err(bad_input("plan", NO_SUCH_PLAN));
    };
    let scope = viewer.scope();
    let (source, plan_id) = (source.to_string(), plan_id.to_string());
    let found = gql::db(ctx)?
        .run(move |c| entries::plan_in_scope(c, &scope, &source, &plan_id))
        .await
        .map_err(db_error)?
        .ok_or_else(|| bad_input("plan", NO_SUCH_PLAN))?;
    if !found.is_active() {
        return Err(bad_input(
            "plan",
            format!(
                "the plan's current version is {}; entries go only on an active plan",
                found.current.status
            ),
        ));
    }
    Ok(found)
}

/// Stores the entry with the audit record of its write, in one transaction.
async fn store(
    ctx: &Context<'_>,
    id: EntryId,
    plan: &WritablePlan,
    content: EntryContent,
) -> gql::Result<PatientEntry> {
    let viewer = gql::viewer(ctx)?;
    let state = gql::state(ctx)?;
    let author = viewer.own_person().ok_or_else(access::forbidden)?.clone();
    let now = Timestamp::now();
    let new = NewEntry {
        id,
        source: plan.current.source,
        plan_id: plan.current.plan_id.clone(),
        cpr: plan.current.cpr.clone(),
        author,
        author_sub: viewer.principal.sub.clone(),
        at: now,
        content,
    };
    let audit = AuditRecords::of_write(
        &viewer.principal,
        &state.asked,
        &plan.current.cpr,
        "PatientEntry",
        now,
    );
    let recorded = gql::db(ctx)?
        .run(move |c| entries::record(c, &new, &audit))
        .await
        .map_err(db_error)?;
    match recorded {
        Recorded::Stored(entry) => Ok(PatientEntry(entry)),
        Recorded::Repeated(entry) => {
            // Nothing was written now; the stored entry in the answer is a read.
            state.trail.read(&entry.cpr, "PatientEntry");
            Ok(PatientEntry(entry))
        }
        Recorded::Conflict => Err(async_graphql::Error::new(
            "id: an entry with this id was stored with other content; make a new id for a new \
             entry",
        )
        .extend_with(|_, e| e.set("code", Code::Conflict.as_str()))),
        Recorded::AlreadyWithdrawn => Err(bad_input("entry", "is withdrawn already")),
    }
}

/// Largest page of a supplier's entries.
const MAX_ENTRIES_PAGE: i64 = 500;

/// A page of a supplier's entries.
pub type EntryPage = Connection<String, PatientEntry, EmptyFields, EmptyFields>;

/// A supplier's entries after a cursor: those on plans of its own source, in the order they
/// were stored, each person's read audited as a supplier read.
pub async fn supplier_page(
    ctx: &Context<'_>,
    first: i32,
    after: Option<String>,
) -> gql::Result<Option<EntryPage>> {
    let limit = i64::from(first);
    if !(1..=MAX_ENTRIES_PAGE).contains(&limit) {
        return Err(bad_input(
            "first",
            format!("must be between 1 and {MAX_ENTRIES_PAGE}"),
        ));
    }
    let after_seq = match &after {
        None => 0,
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| bad_input("after", "not a cursor this list returned"))?,
    };
    // Policy admits only suppliers; `entries_since` reads for a supplier's scope alone.
    let scope = gql::viewer(ctx)?.scope();
    // One more than asked: whether there is a next page.
    let mut rows = gql::db(ctx)?
        .run(move |c| entries::entries_since(c, &scope, after_seq, limit + 1))
        .await
        .map_err(db_error)?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let trail = &gql::state(ctx)?.trail;
    let mut page = Connection::new(after.is_some(), more);
    for e in rows {
        trail.read(&e.cpr, "PatientEntry");
        page.edges
            .push(Edge::new(e.seq.to_string(), PatientEntry(e)));
    }
    Ok(Some(page))
}
