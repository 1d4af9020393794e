//! Care plans (forløbsplaner) and the persons they belong to: the patient's own view in the
//! Min Læge App and the clinician's view of the clinic's patients.

pub mod entries;
pub mod entry_graphql;
pub mod graphql;
pub mod patient_id;
pub mod repo;
