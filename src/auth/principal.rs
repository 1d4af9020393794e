//! Who is asking: the verified claims of a token, parsed into domain types.

use crate::domain::{Cpr, RegionCode, Source, Ydernummer};
use serde_json::{Map, Value};
use std::fmt;

/// The roles of DOMAIN.md "Who may see what".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Patient,
    Clinician,
    Region,
    Ministry,
    Supplier,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Patient,
        Role::Clinician,
        Role::Region,
        Role::Ministry,
        Role::Supplier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Clinician => "clinician",
            Role::Region => "region",
            Role::Ministry => "ministry",
            Role::Supplier => "supplier",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller acts as, with the claim that ties them to their data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Patient(Cpr),
    Clinician(Ydernummer),
    Region(RegionCode),
    Ministry,
    Supplier(Source),
}

/// A verified caller. Only `auth` constructs one from a token; tests and the CLI build them
/// through `Principal::new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`: who acts, as the identity provider names them. Goes into the audit.
    pub sub: String,
    pub actor: Actor,
}

impl Principal {
    pub fn new(sub: impl Into<String>, actor: Actor) -> Self {
        Self {
            sub: sub.into(),
            actor,
        }
    }

    pub fn role(&self) -> Role {
        match self.actor {
            Actor::Patient(_) => Role::Patient,
            Actor::Clinician(_) => Role::Clinician,
            Actor::Region(_) => Role::Region,
            Actor::Ministry => Role::Ministry,
            Actor::Supplier(_) => Role::Supplier,
        }
    }

    /// The clinic a clinician acts for.
    pub fn clinic(&self) -> Option<&Ydernummer> {
        match &self.actor {
            Actor::Clinician(y) => Some(y),
            _ => None,
        }
    }

    /// Reads `sub`, `role` and the role's own claim from verified claims. Claims of other
    /// roles are ignored; a wrong-typed or malformed claim is an error naming it.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, String> {
        let text = |name: &str| -> Result<&str, String> {
            match claims.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s),
                Some(Value::String(_)) => Err(format!("claim {name}: empty")),
                Some(_) => Err(format!("claim {name}: must be a string")),
                None => Err(format!("claim {name}: missing")),
            }
        };
        let sub = text("sub")?.to_string();
        let role = text("role")?;
        let role = Role::parse(role).ok_or_else(|| format!("claim role: unknown role {role:?}"))?;
        let invalid = |name: &str, e: crate::domain::Invalid| format!("claim {name}: {e}");
        let actor = match role {
            Role::Patient => {
                Actor::Patient(Cpr::parse(text("cpr")?).map_err(|e| invalid("cpr", e))?)
            }
            Role::Clinician => Actor::Clinician(
                Ydernummer::parse(text("ydernummer")?).map_err(|e| invalid("ydernummer", e))?,
            ),
            Role::Region => {
                Actor::Region(RegionCode::parse(text("region")?).map_err(|e| invalid("region", e))?)
            }
            Role::Ministry => Actor::Ministry,
            Role::Supplier => {
                Actor::Supplier(Source::parse(text("source")?).map_err(|e| invalid("source", e))?)
            }
        };
        Ok(Self { sub, actor })
    }

    /// The role's claims, as `forloeb token` writes them.
    pub fn claims(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("sub".into(), Value::String(self.sub.clone()));
        m.insert("role".into(), Value::String(self.role().as_str().into()));
        let (name, value) = match &self.actor {
            Actor::Patient(c) => ("cpr", c.as_str().to_string()),
            Actor::Clinician(y) => ("ydernummer", y.as_str().to_string()),
            Actor::Region(r) => ("region", r.as_str().to_string()),
            Actor::Supplier(s) => ("source", s.as_str().to_string()),
            Actor::Ministry => return m,
        };
        m.insert(name.into(), Value::String(value));
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn each_role_parses_with_its_claim() {
        let p = Principal::from_claims(&claims(
            json!({"sub": "u1", "role": "clinician", "ydernummer": "041234"}),
        ))
        .expect("clinician");
        assert_eq!(p.role(), Role::Clinician);
        assert_eq!(p.clinic().map(|y| y.as_str()), Some("041234"));
        let back = Principal::from_claims(&p.claims()).expect("round trip");
        assert_eq!(back, p);
    }

    #[test]
    fn malformed_claims_are_named() {
        for (v, want) in [
            (
                json!({"sub": "u", "role": "region", "region": "9999"}),
                "claim region",
            ),
            (
                json!({"sub": "u", "role": "patient", "cpr": "01O3521234"}),
                "claim cpr",
            ),
            (
                json!({"sub": "u", "role": "patient", "cpr": 103521234}),
                "claim cpr",
            ),
            (json!({"sub": "u", "role": "admin"}), "claim role"),
            (json!({"sub": "u"}), "claim role"),
            (json!({"role": "ministry"}), "claim sub"),
            (
                json!({"sub": "u", "role": "supplier", "source": "EPIC"}),
                "claim source",
            ),
        ] {
            let err = Principal::from_claims(&claims(v)).expect_err("refused");
            assert!(err.starts_with(want), "{err}");
        }
    }
}
