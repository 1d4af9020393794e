//! Rollout metrics (DOMAIN.md "Metrics"): weekly plans, year to date, the OK22 distribution,
//! inactive and heart-plan clinics, active app users, milestones; and the steering group's
//! report built from the same figures.

pub mod graphql;
pub mod present;
pub mod repo;
pub mod report;
pub mod report_html;
pub mod report_text;
mod svg;
