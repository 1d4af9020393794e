//! The plans subgraph in GraphQL: patients and their care plans, the patient's access log,
//! and a clinic's patient lists. Every object here is person-level: building one records the
//! read in the request's audit trail.

use super::entry_graphql::{self, EntryPage, PatientEntry, PatientGoalMark};
use super::patient_id::PatientIds;
use super::repo::{self, ClinicList, Listing, PlanVersionRow};
use crate::access::{self, Scope, Subject, Viewer};
use crate::domain::{self, Cpr};
use crate::facts::ClinicInfo;
use crate::gql::entities::{self, ClusterKey, RegionKey};
use crate::gql::{
    self, bad_input, db_error, stored, Date, Graph, MeasurementCode, PlanStatus, PlanType, Sex,
    Source,
};
use crate::{entity_part, root_part};
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Object, SimpleObject, ID};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

/// Loads plan versions of many persons in one query, within the request's scope.
pub struct PlansLoader {
    pub db: crate::db::Db,
    pub scope: Scope,
}

impl Loader<String> for PlansLoader {
    type Value = Arc<Vec<PlanVersionRow>>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let scope = self.scope.clone();
        let keys = keys.to_vec();
        let by = self
            .db
            .run(move |c| repo::plan_versions_of(c, &scope, &keys))
            .await
            .map_err(db_error)?;
        Ok(by.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

pub type PlansDataLoader = DataLoader<PlansLoader>;

/// A person as the patient themself or their clinic's clinicians see them.
pub struct Patient<G> {
    cpr: Cpr,
    listing: Option<Listing>,
    /// Plan versions loaded with the page this person came in, when the query asks for them.
    preloaded: Option<Arc<Vec<PlanVersionRow>>>,
    graph: PhantomData<G>,
}

impl<G: Graph> Patient<G> {
    /// The only constructor: the read goes into the audit trail.
    pub fn audited(ctx: &Context<'_>, cpr: Cpr, listing: Option<Listing>) -> gql::Result<Self> {
        gql::state(ctx)?.trail.read(&cpr, "Patient");
        Ok(Self {
            cpr,
            listing,
            preloaded: None,
            graph: PhantomData,
        })
    }

    /// A person of a page, with their plan versions when the page loaded them (a join for
    /// the whole page, so a page costs the same statements whatever its length).
    pub fn from_listing(
        ctx: &Context<'_>,
        listing: Listing,
        plans: Option<Vec<PlanVersionRow>>,
    ) -> gql::Result<Self> {
        let cpr = listing.cpr.clone();
        let mut p = Self::audited(ctx, cpr, Some(listing))?;
        p.preloaded = plans.map(Arc::new);
        Ok(p)
    }

    /// The person if the viewer's scope reaches them (audited), else None: someone else's
    /// CPR number answers like one nobody has. When the query asks for the person's plans,
    /// they are read in the same trip to the database.
    pub async fn find(ctx: &Context<'_>, cpr: Cpr) -> gql::Result<Option<Self>> {
        let scope = gql::viewer(ctx)?.scope();
        let key = cpr.clone();
        let with_plans = ctx.look_ahead().field("plans").exists();
        let found = gql::db(ctx)?
            .run(move |c| repo::person_and_plans(c, &scope, &key, with_plans))
            .await
            .map_err(db_error)?;
        match found {
            Some((listing, plans)) => {
                let mut person = Self::audited(ctx, cpr, listing)?;
                person.preloaded = plans.map(Arc::new);
                Ok(Some(person))
            }
            None => Ok(None),
        }
    }

    async fn load_plans(&self, ctx: &Context<'_>) -> gql::Result<Vec<CarePlan<G>>> {
        let rows = match &self.preloaded {
            Some(rows) => rows.clone(),
            None => ctx
                .data::<PlansDataLoader>()
                .map_err(|_| gql::internal("no plans loader"))?
                .load_one(self.cpr.as_str().to_string())
                .await?
                .unwrap_or_default(),
        };
        let viewer = gql::viewer(ctx)?;
        let trail = &gql::state(ctx)?.trail;
        if !rows.is_empty() {
            trail.read(&self.cpr, "CarePlan");
        }
        let mut plans: Vec<CarePlan<G>> = Vec::new();
        for row in rows.iter() {
            match plans.last_mut() {
                Some(p) if p.source == row.source && p.plan_id == row.plan_id => {
                    p.versions.push(row.clone())
                }
                _ => plans.push(CarePlan {
                    source: row.source,
                    plan_id: row.plan_id.clone(),
                    versions: vec![row.clone()],
                    graph: PhantomData,
                }),
            }
        }
        // Only the patient's own reads are their use of the app; a power-of-attorney
        // holder's reads are audited, not counted as the patient's views.
        if viewer.own_person() == Some(&self.cpr) {
            for p in &plans {
                trail.viewed(&self.cpr, p.source.as_str(), &p.plan_id);
            }
        }
        Ok(plans)
    }
}

/// A person (borger) with a CPR number: a patient of a clinic, with their care plans.
#[Object]
impl<G: Graph> Patient<G> {
    /// An opaque identifier of the person: the same in every request and gateway process,
    /// never containing the CPR number. The key of Patient in the federated graph.
    async fn id(&self, ctx: &Context<'_>) -> gql::Result<ID> {
        let ids = ctx
            .data::<PatientIds>()
            .map_err(|_| gql::internal("no patient id key"))?;
        Ok(ID(ids.encode(&self.cpr)))
    }
    /// CPR number (CPR-nummer), 10 digits.
    async fn cpr(&self) -> &str {
        self.cpr.as_str()
    }
    /// Birth date (fødselsdato), derived from the CPR number.
    async fn birth_date(&self) -> Date {
        Date(self.cpr.birth_date())
    }
    /// Sex (køn), derived from the CPR number.
    async fn sex(&self) -> Sex {
        self.cpr.sex().into()
    }
    /// Whether the patient is listed at their clinic today; null when the population feed
    /// has no line for them.
    async fn listed(&self) -> Option<bool> {
        self.listing.as_ref().map(|l| l.listed)
    }
    /// The clinic the patient is listed at (egen læge); null when unknown.
    async fn clinic(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Clinic>> {
        let Some(l) = &self.listing else {
            return Ok(None);
        };
        entities::clinic(ctx, l.ydernummer.as_str()).await
    }
    /// Diagnoses (diagnoser) as the population feed gives them.
    async fn diagnoses(&self) -> gql::Result<Vec<Diagnosis>> {
        let Some(l) = &self.listing else {
            return Ok(Vec::new());
        };
        Ok(stored("diagnoses", l.diagnoses.items())?
            .into_iter()
            .map(|d| Diagnosis {
                r#type: d.plan_type.into(),
                since: Date(d.since),
            })
            .collect())
    }
    /// The patient's care plans (forløbsplaner), optionally of one type.
    async fn plans(
        &self,
        ctx: &Context<'_>,
        r#type: Option<PlanType>,
    ) -> gql::Result<Vec<CarePlan<G>>> {
        let mut plans = self.load_plans(ctx).await?;
        if let Some(t) = r#type {
            let t = domain::PlanType::from(t);
            plans.retain(|p| p.latest().is_ok_and(|v| v.plan_type == t));
        }
        Ok(plans)
    }
    /// One of the patient's plans by its id; null when the patient has no such plan.
    async fn plan(&self, ctx: &Context<'_>, id: ID) -> gql::Result<Option<CarePlan<G>>> {
        Ok(self
            .load_plans(ctx)
            .await?
            .into_iter()
            .find(|p| p.opaque_id() == id.as_str()))
    }
    /// The people the signed-in patient may act for today under a digital power of attorney
    /// (fuldmagt): each read exactly as they would read themself, and recorded in their
    /// access log as read by their power-of-attorney holder. Empty on anyone but the
    /// signed-in patient.
    async fn acting_for(&self, ctx: &Context<'_>) -> gql::Result<Vec<Patient<G>>> {
        // The policy's reach for the field (own): on the signed-in patient only, never on a
        // person read through them.
        if !gql::viewer(ctx)?.may("Patient", "actingFor", Subject::Person(&self.cpr)) {
            return Ok(Vec::new());
        }
        let own = self.cpr.clone();
        let grantors = gql::db(ctx)?
            .run(move |c| access::delegation::holding(c, &own, None, access::delegation::today()))
            .await
            .map_err(db_error)?;
        let mut people = Vec::with_capacity(grantors.len());
        for cpr in grantors {
            // The same scoped read as any other: a delegation that stopped holding since the
            // list was read finds nobody.
            if let Some(p) = Patient::find(ctx, cpr).await? {
                people.push(p);
            }
        }
        Ok(people)
    }
}

/// A diagnosis (diagnose) of a listed patient.
#[derive(SimpleObject)]
pub struct Diagnosis {
    /// The condition, as a plan type.
    pub r#type: PlanType,
    /// Since when (siden).
    pub since: Date,
}

/// A care plan (forløbsplan): every version of one plan, the current one first in interest.
pub struct CarePlan<G> {
    source: domain::Source,
    plan_id: String,
    /// In version order; never empty.
    versions: Vec<PlanVersionRow>,
    graph: PhantomData<G>,
}

impl<G: Graph> CarePlan<G> {
    /// A plan by its opaque id, if the viewer's scope reaches its patient (audited as a read
    /// of that patient's plans), else None.
    pub async fn by_id(ctx: &Context<'_>, id: &str) -> gql::Result<Option<Self>> {
        let Some((source, plan_id)) = id.split_once(':') else {
            return Ok(None);
        };
        let scope = gql::viewer(ctx)?.scope();
        let (source, plan_id) = (source.to_string(), plan_id.to_string());
        let owner = gql::db(ctx)?
            .run(move |c| repo::plan_owner(c, &scope, &source, &plan_id))
            .await
            .map_err(db_error)?;
        let Some(cpr) = owner
            .map(|c| stored("plan owner's cpr", Cpr::parse(&c)))
            .transpose()?
        else {
            return Ok(None);
        };
        let Some(patient) = Patient::<G>::find(ctx, cpr).await? else {
            return Ok(None);
        };
        Ok(patient
            .load_plans(ctx)
            .await?
            .into_iter()
            .find(|p| p.opaque_id() == id))
    }

    /// The highest version: the last, as they are kept in version order.
    fn latest(&self) -> gql::Result<&PlanVersionRow> {
        self.versions
            .last()
            .ok_or_else(|| gql::internal("a care plan without versions"))
    }
    fn opaque_id(&self) -> String {
        format!("{}:{}", self.source, self.plan_id)
    }
}

/// A care plan (forløbsplan): every version of one plan.
#[Object]
impl<G: Graph> CarePlan<G> {
    /// Opaque id: source and plan id.
    async fn id(&self) -> ID {
        ID(self.opaque_id())
    }
    /// The platform that delivered the plan (datakilde).
    async fn source(&self) -> Source {
        self.source.into()
    }
    /// The plan's id at its source.
    async fn plan_id(&self) -> &str {
        &self.plan_id
    }
    /// The condition the plan is for.
    async fn r#type(&self) -> gql::Result<PlanType> {
        Ok(self.latest()?.plan_type.into())
    }
    /// The clinic that made the current version.
    async fn clinic(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Clinic>> {
        entities::clinic(ctx, self.latest()?.ydernummer.as_str()).await
    }
    /// The current (highest) version.
    async fn current(&self) -> gql::Result<PlanVersion<G>> {
        Ok(PlanVersion(self.latest()?.clone(), PhantomData))
    }
    /// Every version, oldest first (historik).
    async fn history(&self) -> Vec<PlanVersion<G>> {
        self.versions
            .iter()
            .map(|v| PlanVersion(v.clone(), PhantomData))
            .collect()
    }
    /// The patient's own entries on the plan (Min Læge App), oldest first: goal marks, home
    /// measurements, notes and withdrawals, the withdrawn ones too. Beside the clinic's
    /// content, never mixed into it.
    async fn entries(&self, ctx: &Context<'_>) -> gql::Result<Vec<PatientEntry>> {
        let latest = self.latest()?;
        Ok(
            entry_graphql::on_plan(ctx, &latest.cpr, self.source, &self.plan_id)
                .await?
                .into_iter()
                .map(PatientEntry)
                .collect(),
        )
    }
}

/// One version of a care plan as it was made in the GP system.
pub struct PlanVersion<G>(PlanVersionRow, PhantomData<G>);

/// One version of a care plan as it was made in the GP system.
#[Object]
impl<G: Graph> PlanVersion<G> {
    /// Version number, from 1.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The version's status.
    async fn status(&self) -> PlanStatus {
        self.0.status.into()
    }
    /// When the version was made (local time, Europe/Copenhagen, RFC 3339).
    async fn created_at(&self) -> String {
        self.0.created_at.to_local_rfc3339()
    }
    /// The next annual check-up (årskontrol), if planned.
    async fn next_control(&self) -> Option<Date> {
        self.0.next_control.map(Date)
    }
    /// Whether this version is a new plan (ny plan) rather than a maintained one
    /// (vedligeholdt plan): the patient's first of this type.
    async fn is_new(&self) -> bool {
        self.0.is_new
    }
    /// The clinic that made this version.
    async fn clinic(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Clinic>> {
        entities::clinic(ctx, self.0.ydernummer.as_str()).await
    }
    /// Goals (mål), in the order the plan lists them.
    async fn goals(&self) -> gql::Result<Vec<Goal>> {
        Ok(stored("goals", self.0.goals.items())?
            .into_iter()
            .map(|g| Goal {
                goal: g,
                owner: self.0.cpr.clone(),
                source: self.0.source,
                plan_id: self.0.plan_id.clone(),
            })
            .collect())
    }
    /// Measurements (målinger), in the order the plan lists them.
    async fn measurements(&self) -> gql::Result<Vec<Measurement>> {
        Ok(stored("measurements", self.0.measurements.items())?
            .into_iter()
            .map(|m| {
                let (min, max) = m.code.range();
                Measurement {
                    code: m.code.into(),
                    label: label(m.code).to_string(),
                    value: m.value,
                    unit: m.code.unit().to_string(),
                    valid_range: ValueRange { min, max },
                    measured_on: Date(m.measured_on),
                }
            })
            .collect())
    }
}

pub(crate) fn label(code: domain::MeasurementCode) -> &'static str {
    use domain::MeasurementCode;
    match code {
        MeasurementCode::Hba1c => "Langtidsblodsukker (HbA1c)",
        MeasurementCode::BpSys => "Blodtryk, systolisk",
        MeasurementCode::BpDia => "Blodtryk, diastolisk",
        MeasurementCode::Ldl => "LDL-kolesterol",
        MeasurementCode::Fev1Pct => "Lungefunktion (FEV1 % af forventet)",
        MeasurementCode::Mrc => "Åndenød (MRC)",
        MeasurementCode::Bmi => "BMI",
        MeasurementCode::Weight => "Vægt",
        MeasurementCode::Smoker => "Ryger",
    }
}

/// A goal (mål) the patient and the GP agreed on.
pub struct Goal {
    goal: domain::Goal,
    /// The plan it is on and the plan's patient, for the patient's mark.
    owner: Cpr,
    source: domain::Source,
    plan_id: String,
}

/// A goal (mål) the patient and the GP agreed on.
#[Object]
impl Goal {
    /// The goal in the patient's words.
    async fn text(&self) -> &str {
        &self.goal.text
    }
    /// When it was set.
    async fn set_on(&self) -> Date {
        Date(self.goal.set_on)
    }
    /// Whether it has been reached (opnået), as the clinic wrote it.
    async fn achieved(&self) -> bool {
        self.goal.achieved
    }
    /// The patient's own mark on the goal (Min Læge App), beside the clinic's `achieved`:
    /// the latest that is not withdrawn, made on any version with the same text and date.
    /// Null when the patient has not marked it.
    async fn patient_mark(&self, ctx: &Context<'_>) -> gql::Result<Option<PatientGoalMark>> {
        entry_graphql::goal_mark(
            ctx,
            &self.owner,
            (self.source, &self.plan_id),
            (&self.goal.text, self.goal.set_on),
        )
        .await
    }
}

/// A measurement (måling) with its unit and valid range.
#[derive(SimpleObject)]
pub struct Measurement {
    /// What is measured.
    pub code: MeasurementCode,
    /// What is measured, in Danish.
    pub label: String,
    /// The measured value, in `unit`.
    pub value: f64,
    /// The unit (enhed).
    pub unit: String,
    /// The range a value of this code must lie in.
    pub valid_range: ValueRange,
    /// When it was measured.
    pub measured_on: Date,
}

/// An inclusive range of valid values.
#[derive(SimpleObject)]
pub struct ValueRange {
    /// Lowest valid value.
    pub min: f64,
    /// Highest valid value.
    pub max: f64,
}

/// One read of a patient's data, as the patient sees it in the Min Læge App.
pub struct AccessLogEntry<G>(access::AccessLogEntry, PhantomData<G>);

/// One read of a patient's data, as the patient sees it in the Min Læge App.
#[Object]
impl<G: Graph> AccessLogEntry<G> {
    /// When the data was read (local time, Europe/Copenhagen).
    async fn at(&self) -> &str {
        &self.0.at
    }
    /// The reader's role: patient, clinician.
    async fn role(&self) -> &str {
        &self.0.role
    }
    /// What was run: the name of one of the gateway's named operations, or "ad hoc" for a
    /// document the reader's system wrote itself.
    async fn operation(&self) -> Option<&str> {
        self.0.operation.as_deref()
    }
    /// The clinic the reader acted for; null for the patient's own reads.
    async fn clinic(&self, ctx: &Context<'_>) -> gql::Result<Option<G::Clinic>> {
        match &self.0.clinic_id {
            Some(y) => entities::clinic(ctx, y).await,
            None => Ok(None),
        }
    }
}

/// The signed-in patient's CPR number; refused for everyone else.
fn own_cpr(viewer: &Viewer) -> gql::Result<&Cpr> {
    viewer.own_person().ok_or_else(access::forbidden)
}

root_part!(
    /// The plans subgraph's query fields.
    PlansQuery
);

#[Object]
impl<G: Graph> PlansQuery<G> {
    /// The signed-in patient (Min Læge App): who the token says, never an argument.
    async fn me(&self, ctx: &Context<'_>) -> gql::Result<Option<Patient<G>>> {
        let cpr = own_cpr(gql::viewer(ctx)?)?.clone();
        // The same read as patient(cpr); a patient the feeds do not know is still themself.
        match Patient::find(ctx, cpr.clone()).await? {
            Some(me) => Ok(Some(me)),
            None => Ok(Some(Patient::audited(ctx, cpr, None)?)),
        }
    }

    /// Who has read the signed-in patient's data (adgangslog), newest first. Null for
    /// everyone but patients.
    async fn my_access_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, desc = "How many entries, 1–500.")] first: i32,
    ) -> gql::Result<Option<Vec<AccessLogEntry<G>>>> {
        if !(1..=500).contains(&first) {
            return Err(bad_input("first", "must be between 1 and 500"));
        }
        let cpr = own_cpr(gql::viewer(ctx)?)?.clone();
        gql::db(ctx)?
            .run(move |c| access::access_log(c, &cpr, i64::from(first)))
            .await
            .map(|entries| {
                Some(
                    entries
                        .into_iter()
                        .map(|e| AccessLogEntry(e, PhantomData))
                        .collect(),
                )
            })
            .map_err(db_error)
    }

    /// The patients' entries on the plans of the signed-in supplier's source, in the order
    /// they were stored (GP systems fetch them from where they left off: `after` is the last
    /// `endCursor` they read). Each person's entries read are audited as a supplier read.
    async fn patient_entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100, desc = "Page size, 1–500.")] first: i32,
        #[graphql(desc = "The `endCursor` of the previous page; none for the first.")]
        after: Option<String>,
    ) -> gql::Result<Option<EntryPage>> {
        entry_graphql::supplier_page(ctx, first, after).await
    }

    /// A patient of the clinician's clinic by CPR number. Null when the person is not a
    /// patient of the clinic, exactly as when no such person exists.
    async fn patient(&self, ctx: &Context<'_>, cpr: String) -> gql::Result<Option<Patient<G>>> {
        let cpr = Cpr::parse(&cpr).map_err(|e| bad_input("cpr", e))?;
        Patient::find(ctx, cpr).await
    }
}

/// Largest page of a list.
const MAX_PAGE: usize = 100;

fn page_size(first: Option<i32>) -> gql::Result<usize> {
    let first = first.unwrap_or(50);
    usize::try_from(first)
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| bad_input("first", format!("must be between 1 and {MAX_PAGE}")))
}

/// A page of a clinic's patients.
pub type PatientPage<G> = Connection<usize, Patient<G>, EmptyFields, EmptyFields>;

entity_part!(
    /// The plans subgraph's part of a clinic: its patient lists.
    ClinicFields(ClinicInfo),
    "Clinic",
    "PlansClinic"
);

impl<G: Graph> ClinicFields<G> {
    async fn page(
        &self,
        ctx: &Context<'_>,
        list: ClinicList,
        first: Option<i32>,
        after: Option<String>,
    ) -> gql::Result<PatientPage<G>> {
        let first = page_size(first)?;
        let offset = match after {
            None => 0,
            Some(cursor) => {
                cursor
                    .parse::<usize>()
                    .map_err(|_| bad_input("after", "not a cursor this list returned"))?
                    + 1
            }
        };
        let scope = gql::viewer(ctx)?.scope();
        let clinic = self.0.ydernummer.as_str().to_string();
        let look = ctx.look_ahead();
        let with_plans = look.field("edges").field("node").field("plans").exists()
            || look.field("nodes").field("plans").exists();
        let found = gql::db(ctx)?
            .run(move |c| {
                repo::clinic_patients(
                    c,
                    &scope,
                    &clinic,
                    list,
                    (offset as i64, first as i64),
                    with_plans,
                )
            })
            .await
            .map_err(db_error)?;
        let Some((rows, total)) = found else {
            return Err(access::forbidden());
        };
        let seen = i64::try_from(offset + rows.len()).unwrap_or(i64::MAX);
        let mut conn = Connection::new(offset > 0, seen < total);
        for (i, (row, plans)) in rows.into_iter().enumerate() {
            conn.edges.push(Edge::new(
                offset + i,
                Patient::from_listing(ctx, row, plans)?,
            ));
        }
        Ok(conn)
    }
}

/// A general practice (lægehus, klinik), identified by its ydernummer.
#[Object(name_type)]
impl<G: Graph> ClinicFields<G> {
    /// Provider number (ydernummer): 6 digits, leading zeros kept.
    async fn ydernummer(&self) -> &str {
        self.0.ydernummer.as_str()
    }
    /// The clinic's listed patients, by CPR number (own clinic's clinicians only).
    async fn patients(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 1–100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last edge of the previous page.")] after: Option<
            String,
        >,
    ) -> gql::Result<Option<PatientPage<G>>> {
        self.page(ctx, ClinicList::Listed, first, after)
            .await
            .map(Some)
    }
    /// Listed patients with the diagnosis but no plan of that type: whom to invite next
    /// (own clinic's clinicians only).
    async fn uninvited(
        &self,
        ctx: &Context<'_>,
        r#type: PlanType,
        #[graphql(desc = "Page size, 1–100 (default 50).")] first: Option<i32>,
        #[graphql(desc = "The cursor of the last edge of the previous page.")] after: Option<
            String,
        >,
    ) -> gql::Result<Option<PatientPage<G>>> {
        self.page(ctx, ClinicList::Uninvited(r#type.into()), first, after)
            .await
            .map(Some)
    }
}

/// The plans subgraph served alone: its part of clinics; patients and plans are its own.
pub struct Alone;

impl Graph for Alone {
    type Clinic = ClinicFields<Alone>;
    type Cluster = ClusterKey;
    type Region = RegionKey;
}

/// How the router finds this subgraph's entities by key (`_entities`). Each lookup is the
/// same scoped lookup a direct query makes, so `_entities` reaches nothing a query could not:
/// a patient or plan outside the scope is null, and is audited when not; a patient is keyed
/// by the opaque `Patient.id`, never by the CPR number.
#[derive(Default)]
pub struct PlansEntities;

#[Object]
impl PlansEntities {
    #[graphql(entity)]
    async fn find_clinic_by_ydernummer(
        &self,
        ctx: &Context<'_>,
        ydernummer: String,
    ) -> gql::Result<Option<ClinicFields<Alone>>> {
        entities::clinic(ctx, &ydernummer).await
    }

    #[graphql(entity)]
    async fn find_care_plan_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> gql::Result<Option<CarePlan<Alone>>> {
        CarePlan::by_id(ctx, &id).await
    }

    #[graphql(entity)]
    async fn find_patient_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> gql::Result<Option<Patient<Alone>>> {
        let ids = ctx
            .data::<PatientIds>()
            .map_err(|_| gql::internal("no patient id key"))?;
        match ids.decode(&id) {
            Some(cpr) => Patient::find(ctx, cpr).await,
            None => Ok(None),
        }
    }
}
