//! Trusted documents: the named operations of `schema/operations/`, known by the SHA-256 of
//! their exact text. Roles that may not send documents of their own run only these, by id or
//! by text; everyone may use the ids, which also spares sending the text.

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The operations, compiled in. A test keeps this list equal to the folder.
const SOURCES: &[(&str, &str)] = &[
    (
        "AddHomeMeasurement",
        include_str!("../schema/operations/AddHomeMeasurement.graphql"),
    ),
    (
        "ClinicPatients",
        include_str!("../schema/operations/ClinicPatients.graphql"),
    ),
    (
        "ClusterQuality",
        include_str!("../schema/operations/ClusterQuality.graphql"),
    ),
    (
        "ClusterView",
        include_str!("../schema/operations/ClusterView.graphql"),
    ),
    (
        "EntriesSince",
        include_str!("../schema/operations/EntriesSince.graphql"),
    ),
    (
        "HeartPlansBySource",
        include_str!("../schema/operations/HeartPlansBySource.graphql"),
    ),
    (
        "InviteNext",
        include_str!("../schema/operations/InviteNext.graphql"),
    ),
    (
        "MarkGoal",
        include_str!("../schema/operations/MarkGoal.graphql"),
    ),
    (
        "MyAccessLog",
        include_str!("../schema/operations/MyAccessLog.graphql"),
    ),
    (
        "MyClinic",
        include_str!("../schema/operations/MyClinic.graphql"),
    ),
    (
        "MyPlans",
        include_str!("../schema/operations/MyPlans.graphql"),
    ),
    (
        "NationalQuality",
        include_str!("../schema/operations/NationalQuality.graphql"),
    ),
    (
        "NationalStatus",
        include_str!("../schema/operations/NationalStatus.graphql"),
    ),
    (
        "PatientLookup",
        include_str!("../schema/operations/PatientLookup.graphql"),
    ),
    (
        "PlansByRegionTypeMonth",
        include_str!("../schema/operations/PlansByRegionTypeMonth.graphql"),
    ),
    (
        "PlansIActFor",
        include_str!("../schema/operations/PlansIActFor.graphql"),
    ),
    (
        "QuietClinics",
        include_str!("../schema/operations/QuietClinics.graphql"),
    ),
    (
        "RegionClusters",
        include_str!("../schema/operations/RegionClusters.graphql"),
    ),
    (
        "RegionalDashboard",
        include_str!("../schema/operations/RegionalDashboard.graphql"),
    ),
    (
        "RegionalQuality",
        include_str!("../schema/operations/RegionalQuality.graphql"),
    ),
    (
        "WithdrawEntry",
        include_str!("../schema/operations/WithdrawEntry.graphql"),
    ),
    (
        "WriteNote",
        include_str!("../schema/operations/WriteNote.graphql"),
    ),
];

/// One trusted document.
#[derive(Debug)]
pub struct TrustedDocument {
    /// Lower-case hex SHA-256 of `text`.
    pub id: String,
    pub name: &'static str,
    pub text: &'static str,
}

impl TrustedDocument {
    /// The `# variables:` line of the document's header: JSON that runs it against the
    /// default `forloeb demo`.
    pub fn example_variables(&self) -> Option<&'static str> {
        self.text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .find_map(|l| l.strip_prefix("# variables: "))
    }
}

/// The trusted documents by id.
#[derive(Debug)]
pub struct Manifest {
    documents: Vec<TrustedDocument>,
    by_id: HashMap<String, usize>,
    /// The same documents by their text: a text sent as is finds its document without
    /// hashing it (ad-hoc documents of up to 16 KB on every request).
    by_text: HashMap<&'static str, usize>,
    /// Each document parsed once, by name: a request of a trusted document starts from a copy
    /// of the parse instead of parsing its text again (the parse was about 3 % of a patient's
    /// read in the profile).
    parsed: HashMap<&'static str, ExecutableDocument>,
}

/// The id of a text: lower-case hex SHA-256 of its UTF-8 bytes, as Apollo clients compute it.
pub fn document_id(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Manifest {
    pub fn builtin() -> Self {
        let documents: Vec<TrustedDocument> = SOURCES
            .iter()
            .map(|&(name, text)| TrustedDocument {
                id: document_id(text),
                name,
                text,
            })
            .collect();
        let by_id = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id.clone(), i))
            .collect();
        let by_text = documents
            .iter()
            .enumerate()
            .map(|(i, d)| (d.text, i))
            .collect();
        // The committed documents parse (a test runs each); one that did not would be parsed,
        // and refused, per request as any text is.
        let parsed = documents
            .iter()
            .filter_map(|d| Some((d.name, async_graphql::parser::parse_query(d.text).ok()?)))
            .collect();
        Self {
            documents,
            by_id,
            by_text,
            parsed,
        }
    }

    /// The parse of a trusted document, by name.
    pub fn parsed(&self, name: &str) -> Option<&ExecutableDocument> {
        self.parsed.get(name)
    }

    /// Looks up an id, with or without the `sha256:` prefix of the GraphQL-over-HTTP
    /// persisted-documents proposal, in either case of hex.
    pub fn get(&self, id: &str) -> Option<&TrustedDocument> {
        let hex = normalize_id(id);
        self.by_id
            .get(hex.as_str())
            .and_then(|&i| self.documents.get(i))
    }

    /// The trusted document with exactly this text.
    pub fn by_text(&self, text: &str) -> Option<&TrustedDocument> {
        self.by_text.get(text).and_then(|&i| self.documents.get(i))
    }

    /// A trusted document by its operation name.
    pub fn by_name(&self, name: &str) -> Option<&TrustedDocument> {
        self.documents.iter().find(|d| d.name == name)
    }

    pub fn documents(&self) -> &[TrustedDocument] {
        &self.documents
    }

    /// "query" or "mutation", from the document's parse, as the manifest's `type` says it.
    fn kind(&self, name: &str) -> &'static str {
        let mutation = self.parsed(name).is_some_and(|doc| {
            doc.operations
                .iter()
                .any(|(_, op)| op.node.ty == OperationType::Mutation)
        });
        if mutation {
            "mutation"
        } else {
            "query"
        }
    }

    /// Apollo's persisted-query manifest format, which routers and client tooling read.
    pub fn to_json(&self) -> Value {
        let operations: Vec<Value> = self
            .documents
            .iter()
            .map(|d| {
                json!({ "id": d.id, "name": d.name, "type": self.kind(d.name), "body": d.text })
            })
            .collect();
        json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": operations,
        })
    }
}

/// `sha256:ABC…` and `abc…` name the same document.
pub fn normalize_id(id: &str) -> String {
    id.trim()
        .strip_prefix("sha256:")
        .unwrap_or(id.trim())
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every trusted document is parsed once at start, so no request of one parses its text.
    #[test]
    fn every_trusted_document_is_parsed_once() {
        let m = Manifest::builtin();
        for d in m.documents() {
            let parsed = m
                .parsed(d.name)
                .unwrap_or_else(|| panic!("{} has no parse", d.name));
            assert_eq!(parsed.operations.iter().count(), 1, "{}", d.name);
        }
    }

    #[test]
    fn the_compiled_list_is_the_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/operations");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("schema/operations")
            .filter_map(Result::ok)
            .filter_map(|e| {
                let p = e.path();
                let stem = p.file_stem()?.to_string_lossy().to_string();
                (p.extension()? == "graphql").then_some(stem)
            })
            .collect();
        on_disk.sort();
        let compiled: Vec<String> = SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(
            compiled, on_disk,
            "add the new operation to SOURCES in src/trusted.rs"
        );
    }

    #[test]
    fn ids_are_sha256_and_prefix_and_case_do_not_matter() {
        // sha256("") is well known.
        assert_eq!(
            document_id(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let m = Manifest::builtin();
        let first = &m.documents()[0];
        assert_eq!(first.id, document_id(first.text));
        let upper = format!("sha256:{}", first.id.to_ascii_uppercase());
        assert_eq!(m.get(&upper).map(|d| d.name), Some(first.name));
        assert!(m.get("sha256:00").is_none());
    }

    #[test]
    fn the_committed_manifest_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("schema/operations/manifest.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        let current = format!(
            "{}\n",
            serde_json::to_string_pretty(&Manifest::builtin().to_json()).expect("json")
        );
        assert!(
            committed == current,
            "schema/operations/manifest.json is stale: run `forloeb schema --manifest > schema/operations/manifest.json`"
        );
    }
}
