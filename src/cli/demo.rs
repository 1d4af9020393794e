//! `forloeb demo`: deterministic synthetic data with the national shape, then serve it.

use super::bulk::{self, Loaded};
use super::serve::{self, ServeArgs};
use anyhow::Context;
use chrono::{Datelike, SecondsFormat};
use clap::Args;
use forloeb_gateway::auth::{Actor, Authenticator, Principal, Role};
use forloeb_gateway::config::Settings;
use forloeb_gateway::db::DbUrl;
use forloeb_gateway::demo::{self, DemoData};
use forloeb_gateway::domain::Cpr;
use forloeb_gateway::http::console::Tab;
use forloeb_gateway::http::cors::AllowedOrigin;
use forloeb_gateway::http::dashboard::DemoToken as DashboardToken;
use forloeb_gateway::http::DemoPages;
use forloeb_gateway::ingest::ImportOptions;
use forloeb_gateway::plans::patient_id::PatientIds;
use forloeb_gateway::trusted::Manifest;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Number of clinics (1693 is the national scale).
    #[arg(long, default_value_t = 120, value_name = "N")]
    clinics: usize,
    /// Random seed; the same seed always gives the same data.
    #[arg(long, default_value_t = 2022, value_name = "S")]
    seed: u64,
    /// Load the data and exit without serving.
    #[arg(long)]
    no_serve: bool,
    /// Where to write the demo's tokens as JSON [default: demo-tokens.json beside the
    /// database file, or in the working directory for PostgreSQL].
    #[arg(long, value_name = "PATH")]
    tokens_file: Option<PathBuf>,
}

pub fn run(settings: &mut Settings, args: &DemoArgs) -> anyhow::Result<ExitCode> {
    args.serve.apply(settings);
    if settings.server.cors_origins.is_empty() {
        // A front-end developer's page on a local development server may call the demo.
        settings.server.cors_origins = ["http://localhost:*", "http://127.0.0.1:*"]
            .into_iter()
            .map(|o| AllowedOrigin::try_from(o.to_string()))
            .collect::<Result<_, _>>()
            .map_err(anyhow::Error::msg)?;
    }
    println!(
        "generating and loading demo data: {} clinics, seed {}",
        args.clinics, args.seed
    );
    let options = ImportOptions {
        progress: true,
        limits: settings.import,
        ..ImportOptions::default()
    };
    let data = DemoData::new(args.clinics, args.seed);
    let Loaded { db, rejected, .. } =
        bulk::load(settings, |conn| Ok(demo::load(conn, &data, options)?))?;
    if rejected > 0 {
        anyhow::bail!("the demo generator wrote {rejected} invalid lines; this is a bug");
    }
    let cast = demo::Cast::find(&mut *db.get()?)?;
    let delegate = demo::Cast::delegate(&mut *db.get()?)?;
    drop(db);
    let tokens = DemoTokens::mint(settings, cast.as_ref(), delegate)?;
    println!("\ndemo tokens (valid 12 hours; send as \"Authorization: Bearer <token>\"):");
    for t in tokens.tokens.iter().chain(&tokens.delegate) {
        println!("  {:<10} {}:\n             {}", t.role, t.who, t.token);
    }
    let file = args
        .tokens_file
        .clone()
        .unwrap_or_else(|| beside_database(settings));
    tokens.write(&file)?;
    println!(
        "the same tokens, with whose they are, in {}",
        file.display()
    );
    if args.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    // The demo's data ends with 2022: the dashboard opens there rather than on an empty today.
    if settings.server.dashboard_as_of.is_empty() {
        settings.server.dashboard_as_of = "2022-12-31".into();
    }
    serve::serve_with_demo_pages(
        settings,
        DemoPages {
            console_tabs: tokens.console_tabs(),
            dashboard_tokens: tokens.dashboard_tokens(),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `demo-tokens.json`: each demo token with whose it is, for the examples in `examples/` and
/// for scripts (`jq -r '.tokens[] | select(.role == "patient") | .token' demo-tokens.json`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DemoTokens {
    expires_at: String,
    /// The people and places the tokens are for (absent when the data has no listed patient
    /// with a plan).
    cast: Option<CastJson>,
    tokens: Vec<DemoToken>,
    /// A patient token of someone who holds a power of attorney (fuldmagt) today: kept apart
    /// from `tokens`, which has one token per role.
    delegate: Option<DemoToken>,
    #[serde(skip)]
    by_role: Vec<(Role, String)>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CastJson {
    /// The patient's opaque id (`Patient.id`), not the CPR number.
    patient_id: String,
    birth_year: i32,
    clinic: ClinicJson,
    cluster: Option<String>,
    region: RegionJson,
}

#[derive(Serialize)]
struct ClinicJson {
    ydernummer: String,
    name: String,
}

#[derive(Serialize)]
struct RegionJson {
    code: &'static str,
    name: &'static str,
}

#[derive(Serialize)]
struct DemoToken {
    role: &'static str,
    subject: String,
    who: String,
    token: String,
}

impl DemoTokens {
    fn mint(
        settings: &Settings,
        cast: Option<&demo::Cast>,
        delegate: Option<Cpr>,
    ) -> anyhow::Result<Self> {
        let ttl = std::time::Duration::from_secs(12 * 3600);
        let expires_at = (chrono::Utc::now() + ttl).to_rfc3339_opts(SecondsFormat::Secs, true);
        let ids = PatientIds::new(settings.access.patient_id_key.expose())?;
        let mut tokens = Vec::new();
        let mut by_role = Vec::new();
        for p in demo::Cast::principals(cast) {
            let token = Authenticator::mint(&settings.auth, &p, ttl)?;
            by_role.push((p.role(), token.clone()));
            tokens.push(DemoToken {
                role: p.role().as_str(),
                subject: p.sub.clone(),
                who: cast.map_or_else(|| whose_without_cast(&p.actor), |c| whose(&p.actor, c)),
                token,
            });
        }
        let delegate = delegate
            .map(|cpr| -> anyhow::Result<DemoToken> {
                let p = Principal::new("demo-delegate", Actor::Patient(cpr));
                Ok(DemoToken {
                    role: "delegate",
                    subject: p.sub.clone(),
                    who: "a patient who holds a power of attorney (fuldmagt) for another today \
                          (their token is a patient token; run PlansIActFor)"
                        .into(),
                    token: Authenticator::mint(&settings.auth, &p, ttl)?,
                })
            })
            .transpose()?;
        let cast = cast.map(|c| CastJson {
            patient_id: ids.encode(&c.patient),
            birth_year: c.birth_date.year(),
            clinic: ClinicJson {
                ydernummer: c.clinic.as_str().to_string(),
                name: c.clinic_name.clone(),
            },
            cluster: c.cluster.clone(),
            region: RegionJson {
                code: c.region.as_str(),
                name: c.region.name(),
            },
        });
        Ok(Self {
            expires_at,
            cast,
            tokens,
            delegate,
            by_role,
        })
    }

    /// Readable by its owner alone: the tokens are credentials, if only for demo data.
    fn write(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = serde_json::to_string_pretty(self)?;
        let failed = || format!("cannot write the demo tokens to {}", path.display());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(failed)?;
        file.write_all((text + "\n").as_bytes())
            .with_context(failed)
    }

    /// The tokens the dashboard offers: the roles it has a view for.
    fn dashboard_tokens(&self) -> Vec<DashboardToken> {
        self.tokens
            .iter()
            .filter(|t| matches!(t.role, "region" | "ministry" | "clinician"))
            .map(|t| DashboardToken {
                role: t.role.to_string(),
                who: t.who.clone(),
                token: t.token.clone(),
            })
            .collect()
    }

    /// GraphiQL's tabs: per role with an example, that example with its variables and the
    /// role's token in the headers editor.
    fn console_tabs(&self) -> Vec<Tab> {
        let manifest = Manifest::builtin();
        self.by_role
            .iter()
            .filter_map(|(role, token)| {
                let doc = manifest.by_name(console_example(*role)?)?;
                Some(Tab {
                    query: doc.text.to_string(),
                    variables: doc.example_variables().unwrap_or("{}").to_string(),
                    headers: serde_json::json!({ "Authorization": format!("Bearer {token}") })
                        .to_string(),
                })
            })
            .collect()
    }
}

/// The example a role's console tab opens with.
fn console_example(role: Role) -> Option<&'static str> {
    match role {
        Role::Patient => Some("MyPlans"),
        Role::Clinician => Some("ClinicPatients"),
        Role::Region => Some("RegionalDashboard"),
        Role::Ministry => Some("NationalStatus"),
        Role::Supplier => None,
    }
}

/// `demo-tokens.json` beside an embedded database; in the working directory for PostgreSQL.
fn beside_database(settings: &Settings) -> PathBuf {
    let dir = match DbUrl::parse(settings.database.url.expose()) {
        Ok(DbUrl::Sqlite(path)) => path.parent().map(Path::to_path_buf),
        _ => None,
    };
    dir.unwrap_or_default().join("demo-tokens.json")
}

/// Whose a demo token is, so that a newcomer knows which clinic, region or patient to ask
/// about. The patient by opaque traits: a CPR number is not printed on a shared terminal.
fn whose(actor: &Actor, cast: &demo::Cast) -> String {
    let clinic = format!("{} (ydernummer {})", cast.clinic_name, cast.clinic.as_str());
    match actor {
        Actor::Patient(_) => format!(
            "a patient born in {} with plans, listed at {clinic}",
            cast.birth_date.year()
        ),
        Actor::Clinician(_) => match &cast.cluster {
            Some(k) => format!("a GP of {clinic}, in cluster {k}"),
            None => format!("a GP of {clinic}"),
        },
        other => whose_without_cast(other),
    }
}

fn whose_without_cast(actor: &Actor) -> String {
    match actor {
        Actor::Patient(_) => "a patient".into(),
        Actor::Clinician(y) => format!("a GP of clinic {}", y.as_str()),
        Actor::Region(r) => format!("{} (region code {})", r.name(), r.as_str()),
        Actor::Ministry => "the ministry's steering group: the whole country".into(),
        Actor::Supplier(s) => format!("the plan system {} (a supplier)", s.as_str()),
    }
}
