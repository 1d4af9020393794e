-- Every rollout figure now comes from the in-memory aggregates, which read plan_versions and
-- app_events whole; no query looks versions up by clinic or by date, or events by date. The
-- three indexes only cost the import (each version and event paid an index insert at a random
-- place in a large tree).
DROP INDEX plan_versions_clinic_date;
DROP INDEX plan_versions_date;
DROP INDEX app_events_date;
