//! The steering group's ad-hoc question: plan activity counted and grouped by any combination
//! of region, cluster, clinic, plan type, source, ISO week, month and year, filtered by a date
//! range and the same dimensions. One SQL statement per answer (two with the total); person
//! counts go through disclosure control.

use crate::db::sql::placeholders;
use crate::db::{DbConnection, DbError};
use crate::on_backend;
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, async_graphql::Enum)]
pub enum Dimension {
    Region,
    Cluster,
    Clinic,
    Type,
    Source,
    /// ISO week of the local date, e.g. 2022-W07.
    Week,
    /// Calendar month, e.g. 2022-03.
    Month,
    Year,
}

impl Dimension {
    /// The SQL expression, as text, on both backends.
    fn expr(self, conn: &DbConnection) -> &'static str {
        let pg = matches!(conn, DbConnection::Postgres(_));
        match (self, pg) {
            (Dimension::Region, _) => "c.region_code",
            (Dimension::Cluster, _) => "c.cluster_id",
            (Dimension::Clinic, _) => "v.ydernummer",
            (Dimension::Type, _) => "v.plan_type",
            (Dimension::Source, _) => "v.source",
            (Dimension::Week, true) => "to_char(v.local_date, 'IYYY-\"W\"IW')",
            (Dimension::Week, false) => "strftime('%G-W%V', v.local_date)",
            (Dimension::Month, true) => "to_char(v.local_date, 'YYYY-MM')",
            (Dimension::Month, false) => "substr(v.local_date, 1, 7)",
            (Dimension::Year, true) => "to_char(v.local_date, 'YYYY')",
            (Dimension::Year, false) => "substr(v.local_date, 1, 4)",
        }
    }

    fn column(self) -> &'static str {
        match self {
            Dimension::Region => "d_region",
            Dimension::Cluster => "d_cluster",
            Dimension::Clinic => "d_clinic",
            Dimension::Type => "d_type",
            Dimension::Source => "d_source",
            Dimension::Week => "d_week",
            Dimension::Month => "d_month",
            Dimension::Year => "d_year",
        }
    }
}

/// How rows are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, async_graphql::Enum)]
pub enum ActivityOrder {
    /// By the grouping keys, in the order given.
    Key,
    /// Most plan versions first.
    PlansDesc,
    /// Most new plans first.
    NewPlansDesc,
    /// Fewest plan versions first (whom to call).
    PlansAsc,
}

/// A validated question. Built by the GraphQL layer from arguments.
#[derive(Debug, Clone)]
pub struct Question {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group_by: Vec<Dimension>,
    pub regions: Vec<String>,
    pub clusters: Vec<String>,
    pub clinics: Vec<String>,
    pub types: Vec<String>,
    pub sources: Vec<String>,
    pub order: ActivityOrder,
    /// Rows returned at most; one more is read to tell whether the answer was cut.
    pub limit: i64,
}

/// One group's figures; keys are null for dimensions not grouped by.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct Group {
    #[diesel(sql_type = Nullable<Text>)]
    pub d_region: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_cluster: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_clinic: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_source: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_week: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_month: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub d_year: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub plans: i64,
    #[diesel(sql_type = BigInt)]
    pub new_plans: i64,
    #[diesel(sql_type = BigInt)]
    pub clinics: i64,
    #[diesel(sql_type = BigInt)]
    pub patients: i64,
}

const ALL: [Dimension; 8] = [
    Dimension::Region,
    Dimension::Cluster,
    Dimension::Clinic,
    Dimension::Type,
    Dimension::Source,
    Dimension::Week,
    Dimension::Month,
    Dimension::Year,
];

fn in_list(column: &str, n: usize) -> String {
    format!(" AND {column} IN ({})", vec!["?"; n].join(", "))
}

/// The groups (at most `limit + 1`) and the total over all of them.
pub fn answer(conn: &mut DbConnection, q: &Question) -> Result<(Vec<Group>, Group), DbError> {
    let mut filter = String::from("v.local_date >= ? AND v.local_date <= ?");
    let mut binds: Vec<&String> = Vec::new();
    for (column, values) in [
        ("c.region_code", &q.regions),
        ("c.cluster_id", &q.clusters),
        ("v.ydernummer", &q.clinics),
        ("v.plan_type", &q.types),
        ("v.source", &q.sources),
    ] {
        if !values.is_empty() {
            filter.push_str(&in_list(column, values.len()));
            binds.extend(values.iter());
        }
    }
    let select = |grouped: bool| {
        ALL.iter()
            .map(|d| {
                if grouped && q.group_by.contains(d) {
                    format!("{} AS {}", d.expr(conn), d.column())
                } else {
                    format!("CAST(NULL AS TEXT) AS {}", d.column())
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let measures =
        "COUNT(*) AS plans, COALESCE(SUM(CASE WHEN v.is_new THEN 1 ELSE 0 END), 0) AS new_plans, \
                    COUNT(DISTINCT v.ydernummer) AS clinics, COUNT(DISTINCT v.cpr) AS patients";
    let from = "FROM plan_versions v JOIN clinics c ON c.ydernummer = v.ydernummer";
    let keys: Vec<&str> = q.group_by.iter().map(|d| d.expr(conn)).collect();
    let key_order = q
        .group_by
        .iter()
        .map(|d| d.column())
        .collect::<Vec<_>>()
        .join(", ");
    let order = match q.order {
        ActivityOrder::Key => key_order.clone(),
        ActivityOrder::PlansDesc => format!("plans DESC, {key_order}"),
        ActivityOrder::NewPlansDesc => format!("new_plans DESC, {key_order}"),
        ActivityOrder::PlansAsc => format!("plans ASC, {key_order}"),
    };
    let grouped_sql = placeholders(
        conn,
        &format!(
            "SELECT {}, {measures} {from} WHERE {filter} GROUP BY {} ORDER BY {order} LIMIT {}",
            select(true),
            keys.join(", "),
            q.limit + 1
        ),
    );
    let total_sql = placeholders(
        conn,
        &format!("SELECT {}, {measures} {from} WHERE {filter}", select(false)),
    );
    let run = |conn: &mut DbConnection, sql: &str| -> Result<Vec<Group>, DbError> {
        Ok(on_backend!(conn, |c| {
            let mut query = diesel::sql_query(sql)
                .into_boxed()
                .bind::<Date, _>(q.from)
                .bind::<Date, _>(q.to);
            for b in &binds {
                query = query.bind::<Text, _>(*b);
            }
            query.load::<Group>(c)
        })?)
    };
    let groups = run(conn, &grouped_sql)?;
    let total = run(conn, &total_sql)?
        .into_iter()
        .next()
        .unwrap_or_default();
    Ok((groups, total))
}
