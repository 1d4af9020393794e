-- The patient's own entries on their plans (DOMAIN.md, "The patient's own entries"): goal marks,
-- home measurements, notes for the next check-up and withdrawals. Append-only like the audit
-- log: the triggers refuse any UPDATE or DELETE; a withdrawal is a new entry. `seq` orders
-- them for the suppliers' cursor.
CREATE TABLE patient_entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The app's UUID of the entry (lowercase, hyphenated): the idempotency key.
    id TEXT NOT NULL UNIQUE CHECK (length(id) = 36),
    -- The plan it is about, and the plan's patient (whose data it is).
    source TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    cpr TEXT NOT NULL CHECK (length(cpr) = 10),
    -- Who made it: the patient, or their power-of-attorney holder (token subject and CPR).
    author_cpr TEXT NOT NULL CHECK (length(author_cpr) = 10),
    author_sub TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('goal_mark', 'home_measurement', 'note', 'withdrawal')),
    goal_text TEXT,
    goal_set_on DATE,
    reached BOOLEAN,
    code TEXT,
    value DOUBLE PRECISION,
    measured_on DATE,
    note TEXT,
    -- An entry is withdrawn at most once.
    withdraws TEXT UNIQUE REFERENCES patient_entries (id),
    CHECK ((kind = 'goal_mark') = (goal_text IS NOT NULL AND goal_set_on IS NOT NULL AND reached IS NOT NULL)),
    CHECK ((kind = 'home_measurement') = (code IS NOT NULL AND value IS NOT NULL AND measured_on IS NOT NULL)),
    CHECK ((kind = 'note') = (note IS NOT NULL)),
    CHECK ((kind = 'withdrawal') = (withdraws IS NOT NULL))
);
-- A patient's entries, for their plans' reads.
CREATE INDEX patient_entries_by_person ON patient_entries (cpr, seq);
-- A supplier's cursor over the entries on its plans.
CREATE INDEX patient_entries_by_source ON patient_entries (source, seq);

CREATE TRIGGER patient_entries_no_update BEFORE UPDATE ON patient_entries
BEGIN SELECT RAISE(ABORT, 'patient_entries is append-only'); END;
CREATE TRIGGER patient_entries_no_delete BEFORE DELETE ON patient_entries
BEGIN SELECT RAISE(ABORT, 'patient_entries is append-only'); END;
