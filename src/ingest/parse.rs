//! One feed line → one typed record, or a rejection naming the field and the rule. Pure: the
//! references to other records (a clinic's cluster, a plan's clinic…) are checked by `store`.
//! Messages never quote a CPR number.

use crate::config::ImportSettings;
use crate::domain::{
    parse_date, to_stored, Cpr, Delegation, Diagnosis, Goal, Invalid, Measurement, MeasurementCode,
    PlanStatus, PlanType, RegionCode, Source, Timestamp, Ydernummer,
};
use chrono::NaiveDate;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Why a line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub field: String,
    pub reason: String,
}

impl Rejection {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

type Parsed<T> = Result<T, Rejection>;

/// The fields of a line that the feed does not define, e.g. `opend_on` or `goals[].txt`
/// (list positions left out, so that one misspelling counts once per line).
pub type Unknown = Vec<String>;

/// The JSON object of one line, read field by field. It notes the fields read, so that the
/// ones no parser asked for can be reported as unknown (a misspelt field would otherwise be
/// dropped without a word, and read as absent).
struct Fields<'a> {
    map: &'a Map<String, Value>,
    /// Names the enclosing field in messages, e.g. `goals[1].`.
    prefix: String,
    limits: &'a ImportSettings,
    read: std::cell::RefCell<Vec<&'static str>>,
}

impl<'a> Fields<'a> {
    fn new(v: &'a Value, prefix: String, limits: &'a ImportSettings) -> Parsed<Self> {
        match v {
            Value::Object(map) => Ok(Self {
                map,
                prefix,
                limits,
                read: std::cell::RefCell::new(Vec::with_capacity(map.len())),
            }),
            _ => Err(Rejection::new(
                prefix.trim_end_matches('.').to_string(),
                "not a JSON object",
            )),
        }
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// The field's value, null or not; notes it as read.
    fn raw(&self, field: &'static str) -> Option<&'a Value> {
        self.read.borrow_mut().push(field);
        self.map.get(field)
    }

    /// Adds the fields of this object that were never read to `unknown`.
    fn unread(&self, unknown: &mut Unknown) {
        let read = self.read.borrow();
        for key in self.map.keys() {
            if !read.contains(&key.as_str()) {
                let name = without_positions(&self.name(key));
                if !unknown.contains(&name) {
                    unknown.push(name);
                }
            }
        }
    }

    fn reject(&self, field: &str, reason: impl Into<String>) -> Rejection {
        Rejection::new(self.name(field), reason)
    }

    fn get(&self, field: &'static str) -> Option<&'a Value> {
        self.raw(field).filter(|v| !v.is_null())
    }

    fn text(&self, field: &'static str) -> Parsed<&'a str> {
        let max = self.limits.max_chars(field);
        match self.get(field) {
            // PostgreSQL text cannot hold NUL; refusing it here keeps both backends alike.
            Some(Value::String(s)) if s.contains('\0') => {
                Err(self.reject(field, "must not contain NUL characters"))
            }
            Some(Value::String(s)) if s.chars().count() > max => {
                Err(self.reject(field, format!("longer than {max} characters")))
            }
            Some(Value::String(s)) if !s.is_empty() => Ok(s),
            Some(Value::String(_)) => Err(self.reject(field, "must not be empty")),
            Some(_) => Err(self.reject(field, "must be a string")),
            None => Err(self.reject(field, "missing")),
        }
    }

    fn parsed<T>(
        &self,
        field: &'static str,
        parse: impl Fn(&str) -> Result<T, Invalid>,
    ) -> Parsed<T> {
        let s = match self.get(field) {
            Some(Value::String(s)) => s,
            Some(_) => return Err(self.reject(field, "must be a string")),
            None => return Err(self.reject(field, "missing")),
        };
        parse(s).map_err(|e| self.reject(field, e.0))
    }

    fn date(&self, field: &'static str) -> Parsed<NaiveDate> {
        self.parsed(field, parse_date)
    }

    fn opt_date(&self, field: &'static str) -> Parsed<Option<NaiveDate>> {
        match self.get(field) {
            None => Ok(None),
            Some(_) => self.date(field).map(Some),
        }
    }

    fn bool(&self, field: &'static str) -> Parsed<bool> {
        match self.get(field) {
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.reject(field, "must be true or false")),
            None => Err(self.reject(field, "missing")),
        }
    }

    /// Absent means empty; null or anything but an array is refused.
    fn list(&self, field: &'static str) -> Parsed<&'a [Value]> {
        match self.raw(field) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.reject(field, "must be a list")),
        }
    }
}

/// `goals[1].txt` → `goals[].txt`.
fn without_positions(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_brackets = false;
    for c in name.chars() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            _ if in_brackets => continue,
            _ => {}
        }
        out.push(c);
    }
    out
}

fn object(line: &str) -> Parsed<Value> {
    let v = crate::domain::parse_unique(line.as_bytes()).map_err(|e| {
        let e = e.to_string();
        // The position is in the report already (file:line); a repeated name is its own rule.
        let what = e.split(" at line ").next().unwrap_or(&e);
        if what.starts_with("duplicate key") {
            Rejection::new("line", what.to_string())
        } else {
            Rejection::new("line", format!("not JSON: {e}"))
        }
    })?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(Rejection::new("line", "not a JSON object"))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRecord {
    pub cluster_id: String,
    pub name: String,
    pub region: RegionCode,
}

pub fn cluster(
    line: &str,
    limits: &ImportSettings,
    unknown: &mut Unknown,
) -> Parsed<ClusterRecord> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let record = ClusterRecord {
        cluster_id: f.text("cluster_id")?.to_string(),
        name: f.text("name")?.to_string(),
        region: f.parsed("region", RegionCode::parse)?,
    };
    f.unread(unknown);
    Ok(record)
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClinicRecord {
    pub ydernummer: Ydernummer,
    pub name: String,
    pub region: RegionCode,
    pub cluster_id: Option<String>,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
}

pub fn clinic(line: &str, limits: &ImportSettings, unknown: &mut Unknown) -> Parsed<ClinicRecord> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let ydernummer = f.parsed("ydernummer", Ydernummer::parse)?;
    let name = f.text("name")?.to_string();
    let region = f.parsed("region", RegionCode::parse)?;
    let cluster_id = match f.get("cluster_id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(f.reject("cluster_id", "must be a string or null")),
    };
    let opened_on = f.opt_date("opened_on")?;
    let closed_on = f.opt_date("closed_on")?;
    if let (Some(o), Some(c)) = (opened_on, closed_on) {
        if c <= o {
            return Err(f.reject("closed_on", "must be after opened_on"));
        }
    }
    f.unread(unknown);
    Ok(ClinicRecord {
        ydernummer,
        name,
        region,
        cluster_id,
        opened_on,
        closed_on,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatientRecord {
    pub cpr: Cpr,
    pub ydernummer: String,
    pub diagnoses: Vec<Diagnosis>,
    pub listed: bool,
}

impl PatientRecord {
    /// The diagnoses as stored and shown: `[{"since": "2014-05-02", "type": "KOL"}, …]`.
    pub fn diagnoses_json(&self) -> String {
        to_stored(&self.diagnoses)
    }
}

pub fn patient(
    line: &str,
    limits: &ImportSettings,
    unknown: &mut Unknown,
) -> Parsed<PatientRecord> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let cpr = f.parsed("cpr", Cpr::parse)?;
    // Only a reference: whether the clinic exists is the store's question.
    let ydernummer = f.text("ydernummer")?.to_string();
    let mut diagnoses = Vec::new();
    for (i, d) in f.list("diagnoses")?.iter().enumerate() {
        let d = Fields::new(d, format!("diagnoses[{i}]."), limits)?;
        diagnoses.push(Diagnosis {
            plan_type: d.parsed("type", PlanType::parse)?,
            since: d.date("since")?,
        });
        d.unread(unknown);
    }
    let listed = match f.raw("listed") {
        None => true,
        Some(_) => f.bool("listed")?,
    };
    f.unread(unknown);
    Ok(PatientRecord {
        cpr,
        ydernummer,
        diagnoses,
        listed,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanRecord {
    pub source: Source,
    pub plan_id: String,
    pub version: i32,
    pub cpr: Cpr,
    pub ydernummer: String,
    pub plan_type: PlanType,
    pub created_at: Timestamp,
    pub status: PlanStatus,
    pub next_control: Option<NaiveDate>,
    pub goals: Vec<Goal>,
    pub measurements: Vec<Measurement>,
    /// What the store writes besides the fields, worked out by the parsing stage: the import
    /// stores on one thread (one SQLite writer) while another parses, so work done here is
    /// off the path that sets the pace.
    pub stored: StoredForm,
}

/// A plan version's fingerprint and its goals and measurements as stored (JSON).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredForm {
    pub content_hash: String,
    pub goals: String,
    pub measurements: String,
}

impl PlanRecord {
    /// A fingerprint of the content compared as values (DOMAIN.md): the instant, not its
    /// spelling; numbers, not their notation; the CPR without its dash; goals and
    /// measurements in order. Two lines with the same identity and fingerprint are the same.
    fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut put = |s: &str| {
            h.update((s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        };
        put(self.cpr.as_str());
        put(&self.ydernummer);
        put(self.plan_type.as_str());
        put(&self.created_at.micros().to_string());
        put(self.status.as_str());
        put(&self.next_control.map(|d| d.to_string()).unwrap_or_default());
        put(&self.goals.len().to_string());
        for g in &self.goals {
            put(&g.text);
            put(&g.set_on.to_string());
            put(if g.achieved { "1" } else { "0" });
        }
        put(&self.measurements.len().to_string());
        for m in &self.measurements {
            put(m.code.as_str());
            // +0.0 for -0.0, so that 0 and -0.0 are the same value.
            put(&(m.value + 0.0).to_bits().to_string());
            put(&m.measured_on.to_string());
        }
        let digest = h.finalize();
        hex::encode(digest.get(..16).unwrap_or(&digest))
    }
}

impl PlanRecord {
    /// `[{"achieved": bool, "set_on": "YYYY-MM-DD", "text": …}, …]` in the order given.
    fn goals_json(&self) -> String {
        to_stored(&self.goals)
    }

    /// `[{"code": …, "measured_on": "YYYY-MM-DD", "value": number}, …]` in the order given.
    fn measurements_json(&self) -> String {
        to_stored(&self.measurements)
    }
}

pub fn plan(line: &str, limits: &ImportSettings, unknown: &mut Unknown) -> Parsed<PlanRecord> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let source = f.parsed("source", Source::parse)?;
    let plan_id = f.text("plan_id")?.to_string();
    let version = match f.get("version") {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => match n.as_i64() {
            Some(v) if v >= 1 => i32::try_from(v).map_err(|_| f.reject("version", "too large"))?,
            _ => return Err(f.reject("version", "must be 1 or more")),
        },
        Some(_) => return Err(f.reject("version", "must be a whole number")),
        None => return Err(f.reject("version", "missing")),
    };
    let cpr = f.parsed("cpr", Cpr::parse)?;
    let ydernummer = f.text("ydernummer")?.to_string();
    let plan_type = f.parsed("type", PlanType::parse)?;
    let created_at = f.parsed("created_at", Timestamp::parse)?;
    let status = f.parsed("status", PlanStatus::parse)?;
    let next_control = f.opt_date("next_control")?;
    let mut goals = Vec::new();
    for (i, g) in f.list("goals")?.iter().enumerate() {
        let g = Fields::new(g, format!("goals[{i}]."), limits)?;
        goals.push(Goal {
            text: g.text("text")?.to_string(),
            set_on: g.date("set_on")?,
            achieved: g.bool("achieved")?,
        });
        g.unread(unknown);
    }
    let mut measurements = Vec::new();
    for (i, m) in f.list("measurements")?.iter().enumerate() {
        let m = Fields::new(m, format!("measurements[{i}]."), limits)?;
        let code = m.parsed("code", MeasurementCode::parse)?;
        let value = match m.get("value") {
            Some(Value::Number(n)) => n
                .as_f64()
                .ok_or_else(|| m.reject("value", "not a number"))?,
            Some(_) => return Err(m.reject("value", "must be a number")),
            None => return Err(m.reject("value", "missing")),
        };
        let value = code.check(value).map_err(|e| m.reject("value", e.0))?;
        measurements.push(Measurement {
            code,
            value,
            measured_on: m.date("measured_on")?,
        });
        m.unread(unknown);
    }
    f.unread(unknown);
    let mut record = PlanRecord {
        source,
        plan_id,
        version,
        cpr,
        ydernummer,
        plan_type,
        created_at,
        status,
        next_control,
        goals,
        measurements,
        stored: StoredForm::default(),
    };
    record.stored = StoredForm {
        content_hash: record.content_hash(),
        goals: record.goals_json(),
        measurements: record.measurements_json(),
    };
    Ok(record)
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppEventRecord {
    pub cpr: Cpr,
    pub source: String,
    pub plan_id: String,
    pub at: Timestamp,
}

pub const PLAN_VIEWED: &str = "plan_viewed";

pub fn app_event(
    line: &str,
    limits: &ImportSettings,
    unknown: &mut Unknown,
) -> Parsed<AppEventRecord> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let cpr = f.parsed("cpr", Cpr::parse)?;
    let source = f.text("source")?.to_string();
    let plan_id = f.text("plan_id")?.to_string();
    let at = f.parsed("at", Timestamp::parse)?;
    if f.text("event")? != PLAN_VIEWED {
        return Err(f.reject("event", "unknown event kind (only plan_viewed)"));
    }
    f.unread(unknown);
    Ok(AppEventRecord {
        cpr,
        source,
        plan_id,
        at,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct MilestoneRecord {
    pub number: i32,
    pub text: String,
    pub planned: NaiveDate,
    pub reached: Option<NaiveDate>,
}

pub fn milestone(
    line: &str,
    limits: &ImportSettings,
    unknown: &mut Unknown,
) -> Parsed<MilestoneRecord> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let number = match f.get("number").and_then(Value::as_i64) {
        Some(n) if n >= 1 && i32::try_from(n).is_ok() => i32::try_from(n).unwrap_or(i32::MAX),
        _ => return Err(f.reject("number", "must be a whole number of 1 or more")),
    };
    let record = MilestoneRecord {
        number,
        text: f.text("text")?.to_string(),
        planned: f.date("planned")?,
        reached: f.opt_date("reached")?,
    };
    f.unread(unknown);
    Ok(record)
}

/// A line of `delegations.ndjson` (DOMAIN.md, "Delegated access").
pub fn delegation(
    line: &str,
    limits: &ImportSettings,
    unknown: &mut Unknown,
) -> Parsed<Delegation> {
    let v = object(line)?;
    let f = Fields::new(&v, String::new(), limits)?;
    let grantor = f.parsed("grantor", Cpr::parse)?;
    let delegate = f.parsed("delegate", Cpr::parse)?;
    let scope = f.text("scope")?;
    if scope != crate::domain::delegation_scope() {
        return Err(f.reject(
            "scope",
            format!(
                "\"{scope}\" is not a scope: the only one is \"{}\"",
                crate::domain::delegation_scope()
            ),
        ));
    }
    let valid_from = f.date("valid_from")?;
    let valid_to = f.opt_date("valid_to")?;
    let revoked_on = f.opt_date("revoked_on")?;
    f.unread(unknown);
    Delegation::new(grantor, delegate, valid_from, valid_to, revoked_on)
        .map_err(|e| f.reject(e.field(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // The parsers with the default maxima.
    fn plan(line: &str) -> Parsed<PlanRecord> {
        super::plan(line, &ImportSettings::default(), &mut Unknown::new())
    }
    fn clinic(line: &str) -> Parsed<ClinicRecord> {
        super::clinic(line, &ImportSettings::default(), &mut Unknown::new())
    }
    fn delegation(line: &str) -> Parsed<Delegation> {
        super::delegation(line, &ImportSettings::default(), &mut Unknown::new())
    }

    #[test]
    fn delegations_follow_the_domain_and_name_the_field() {
        let line = r#"{"grantor": "0103521234", "delegate": "1204801236", "scope": "forloebsplaner", "valid_from": "2022-01-01", "valid_to": "2023-01-01", "revoked_on": null}"#;
        let d = delegation(line).expect("the domain's example");
        assert_eq!(d.grantor().as_str(), "0103521234");
        assert_eq!(d.valid_to(), NaiveDate::from_ymd_opt(2023, 1, 1));
        assert_eq!(d.revoked_on(), None);
        // Absent end and revocation, and a CPR with its dash.
        let open = delegation(
            r#"{"grantor": "010352-1234", "delegate": "1204801236", "scope": "forloebsplaner", "valid_from": "2022-01-01"}"#,
        )
        .expect("open-ended");
        assert_eq!(open.valid_to(), None);
        for (bad, field, reason) in [
            (
                line.replace("1204801236", "0103521234"),
                "delegate",
                "own delegate",
            ),
            (
                line.replace("forloebsplaner", "alt"),
                "scope",
                "the only one is",
            ),
            (line.replace("2022-01-01", "2022-02-30"), "valid_from", ""),
            (
                line.replace("2023-01-01", "2022-01-01"),
                "valid_to",
                "not after valid_from",
            ),
            (line.replace("1204801236", "3113501234"), "delegate", ""),
            (
                line.replace(r#""scope": "forloebsplaner", "#, ""),
                "scope",
                "missing",
            ),
        ] {
            let e = delegation(&bad).expect_err(&bad);
            assert_eq!(e.field, field, "{bad}: {e:?}");
            assert!(e.reason.contains(reason), "{bad}: {e:?}");
            assert!(
                !e.reason.starts_with(field),
                "the field is named once: {e:?}"
            );
        }
    }
    fn patient(line: &str) -> Parsed<PatientRecord> {
        super::patient(line, &ImportSettings::default(), &mut Unknown::new())
    }
    fn milestone(line: &str) -> Parsed<MilestoneRecord> {
        super::milestone(line, &ImportSettings::default(), &mut Unknown::new())
    }

    const PLAN: &str = r#"{"source": "PLSP", "plan_id": "PLSP-7f3a91", "version": 2, "cpr": "0103521234",
        "ydernummer": "041234", "type": "DM2", "created_at": "2022-03-14T10:22:05+01:00",
        "status": "active", "next_control": "2023-03-01",
        "goals": [{"text": "Gå en tur hver dag", "set_on": "2022-03-14", "achieved": false}],
        "measurements": [{"code": "HBA1C", "value": 52, "measured_on": "2022-03-01"}]}"#;

    fn with(edit: impl FnOnce(&mut Map<String, Value>)) -> String {
        let mut v: Value = serde_json::from_str(PLAN).expect("json");
        edit(v.as_object_mut().expect("object"));
        v.to_string()
    }

    fn field_of(r: Parsed<PlanRecord>) -> String {
        r.expect_err("rejected").field
    }

    #[test]
    fn the_domain_example_parses() {
        let p = plan(PLAN).expect("valid");
        assert_eq!(p.version, 2);
        assert_eq!(p.measurements[0].value, 52.0);
        assert_eq!(p.goals[0].text, "Gå en tur hver dag");
    }

    #[test]
    fn same_content_in_other_spellings_has_the_same_fingerprint() {
        let a = plan(PLAN).expect("valid").content_hash();
        let b = plan(&with(|m| {
            m["created_at"] = "2022-03-14T09:22:05Z".into();
            m["cpr"] = "010352-1234".into();
            m["measurements"][0]["value"] = serde_json::json!(52.0);
            m.insert("ignored".into(), "x".into());
        }))
        .expect("valid")
        .content_hash();
        assert_eq!(a, b);
        let c = plan(&with(|m| m["goals"][0]["achieved"] = true.into())).expect("valid");
        assert_ne!(a, c.content_hash());
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(
            field_of(plan(&with(|m| m["source"] = "EPJ".into()))),
            "source"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["version"] = 0.into()))),
            "version"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["version"] = serde_json::json!(1.0)))),
            "version"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["version"] = true.into()))),
            "version"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["cpr"] = "0113501234".into()))),
            "cpr"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["type"] = "ASTMA".into()))),
            "type"
        );
        assert_eq!(
            field_of(plan(&with(
                |m| m["created_at"] = "2022-03-01T10:00:00".into()
            ))),
            "created_at"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["status"] = "draft".into()))),
            "status"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["next_control"] = "2023-02-30".into()))),
            "next_control"
        );
        assert_eq!(field_of(plan(&with(|m| m["goals"] = Value::Null))), "goals");
        assert_eq!(
            field_of(plan(&with(|m| m["goals"][0]["text"] = "".into()))),
            "goals[0].text"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["goals"][0]["achieved"] = "no".into()))),
            "goals[0].achieved"
        );
        assert_eq!(
            field_of(plan(&with(
                |m| m["measurements"][0]["code"] = "GLUCOSE".into()
            ))),
            "measurements[0].code"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["measurements"][0]["value"] = 900.into()))),
            "measurements[0].value"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["measurements"][0]["value"] = true.into()))),
            "measurements[0].value"
        );
        assert_eq!(
            field_of(plan(&with(|m| m["plan_id"] = "".into()))),
            "plan_id"
        );
        assert_eq!(field_of(plan("[1, 2, 3]")), "line");
        assert_eq!(
            field_of(plan(r#"{"source": "PLSP", "plan_id": "BAD-10""#)),
            "line"
        );
    }

    #[test]
    fn optional_fields_may_be_absent_or_null() {
        let p = plan(&with(|m| {
            m.remove("goals");
            m.remove("measurements");
            m["next_control"] = Value::Null;
        }))
        .expect("valid");
        assert!(p.goals.is_empty() && p.measurements.is_empty() && p.next_control.is_none());
    }

    #[test]
    fn cpr_never_appears_in_a_reason() {
        let r = plan(&with(|m| m["cpr"] = "3102501234".into())).expect_err("bad cpr");
        assert!(!r.reason.contains("3102501234"), "{r:?}");
    }

    #[test]
    fn clinics_patients_events_milestones() {
        let c = clinic(
            r#"{"ydernummer": "041234", "name": "L", "region": "1084", "cluster_id": null}"#,
        )
        .expect("ok");
        assert_eq!(c.cluster_id, None);
        let e = clinic(
            r#"{"ydernummer": "041234", "name": "L", "region": "1084", "opened_on": "2020-01-01", "closed_on": "2020-01-01"}"#,
        );
        assert_eq!(e.expect_err("closed").field, "closed_on");
        assert_eq!(
            clinic(r#"{"ydernummer": "12345", "name": "L", "region": "1081"}"#)
                .expect_err("yder")
                .field,
            "ydernummer"
        );
        let p = patient(r#"{"cpr": "010352-1234", "ydernummer": "041234", "diagnoses": [{"type": "KOL", "since": "2014-05-02"}]}"#).expect("ok");
        assert!(p.listed);
        assert_eq!(p.cpr.as_str(), "0103521234");
        assert_eq!(
            patient(r#"{"cpr": "0103521234", "ydernummer": "041234", "listed": null}"#)
                .expect_err("listed")
                .field,
            "listed"
        );
        assert_eq!(patient(r#"{"cpr": "0103521234", "ydernummer": "041234", "diagnoses": [{"type": "ASTMA", "since": "2015-01-01"}]}"#).expect_err("type").field, "diagnoses[0].type");
        let ev = r#"{"cpr": "0103521234", "plan_id": "P", "source": "PLSP", "at": "2022-05-01T08:00:00+02:00", "event": "plan_printed"}"#;
        assert_eq!(
            super::app_event(ev, &ImportSettings::default(), &mut Unknown::new())
                .expect_err("event")
                .field,
            "event"
        );
        let m =
            milestone(r#"{"number": 3, "text": "t", "planned": "2021-11-01", "reached": null}"#)
                .expect("ok");
        assert_eq!(m.reached, None);
    }

    #[test]
    fn fields_the_feed_does_not_define_are_named_once_per_line() {
        let limits = ImportSettings::default();
        let mut unknown = Unknown::new();
        let clinic = super::clinic(
            r#"{"ydernummer":"123456","name":"A","region":"1084","opend_on":"2020-01-01"}"#,
            &limits,
            &mut unknown,
        )
        .expect("the line still loads");
        assert_eq!(clinic.opened_on, None);
        assert_eq!(unknown, ["opend_on"]);

        let mut unknown = Unknown::new();
        super::plan(
            r#"{"source":"PLSP","plan_id":"p","version":1,"cpr":"0101901234","ydernummer":"123456",
                "type":"KOL","created_at":"2022-03-01T10:00:00+01:00","status":"active","colour":"red",
                "goals":[{"text":"a","set_on":"2022-03-01","achieved":false,"txt":"b"},
                         {"text":"a","set_on":"2022-03-01","achieved":true,"txt":"c"}],
                "measurements":[]}"#,
            &limits,
            &mut unknown,
        )
        .expect("valid");
        unknown.sort();
        assert_eq!(unknown, ["colour", "goals[].txt"]);

        let mut unknown = Unknown::new();
        super::patient(
            r#"{"cpr":"0101901234","ydernummer":"123456","listed":true,
                "diagnoses":[{"type":"KOL","since":"2020-01-01"}]}"#,
            &limits,
            &mut unknown,
        )
        .expect("valid");
        assert!(unknown.is_empty(), "{unknown:?}");
    }
}
