//! Patient populations (patientgrundlag): listed patients per clinic and plan type, their
//! age and sex, and coverage (dækningsgrad).

pub mod graphql;
