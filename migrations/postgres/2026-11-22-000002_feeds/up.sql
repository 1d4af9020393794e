-- The supplier feeds (DOMAIN.md "Supplier feeds"). Instants are microseconds since the epoch
-- (UTC); each plan version and app event also keeps its local date in Europe/Copenhagen, the
-- date every metric counts by, so no query has to convert time zones.

CREATE TABLE clusters (
    cluster_id TEXT PRIMARY KEY NOT NULL CHECK (cluster_id <> ''),
    name TEXT NOT NULL CHECK (name <> ''),
    region_code TEXT NOT NULL REFERENCES regions (code)
);
CREATE INDEX clusters_region ON clusters (region_code);

CREATE TABLE clinics (
    ydernummer TEXT PRIMARY KEY NOT NULL CHECK (length(ydernummer) = 6),
    name TEXT NOT NULL CHECK (name <> ''),
    region_code TEXT NOT NULL REFERENCES regions (code),
    cluster_id TEXT REFERENCES clusters (cluster_id),
    opened_on DATE,
    closed_on DATE,
    CHECK (opened_on IS NULL OR closed_on IS NULL OR closed_on > opened_on)
);
CREATE INDEX clinics_region ON clinics (region_code);
CREATE INDEX clinics_cluster ON clinics (cluster_id);

-- Today's listing. Birth date and sex are derived from the CPR number at import. The
-- diagnoses are kept as given (a JSON array of {"type", "since"}, shown to clinicians) and as
-- one flag per plan type, which is what the population counts filter on.
CREATE TABLE patients (
    cpr TEXT PRIMARY KEY NOT NULL CHECK (length(cpr) = 10),
    ydernummer TEXT NOT NULL REFERENCES clinics (ydernummer),
    listed BOOLEAN NOT NULL,
    birth_date DATE NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('F', 'M')),
    has_kol BOOLEAN NOT NULL,
    has_dm2 BOOLEAN NOT NULL,
    has_ihd BOOLEAN NOT NULL,
    diagnoses TEXT NOT NULL
);
CREATE INDEX patients_clinic ON patients (ydernummer, listed);

-- One row per plan version. No foreign key to patients: a plan needs no population line.
-- is_new: the first version of its (cpr, plan_type) by (created_at, source, plan_id, version);
-- the import keeps it exact when an older version arrives late. Goals and measurements are
-- the version's content, read whole and never aggregated: JSON arrays in the row, in order.
-- The key starts with plan_id, the column the import and app events look versions up by.
CREATE TABLE plan_versions (
    source TEXT NOT NULL CHECK (source IN ('PLSP', 'KIAP')),
    plan_id TEXT NOT NULL CHECK (plan_id <> ''),
    version INTEGER NOT NULL CHECK (version >= 1),
    cpr TEXT NOT NULL CHECK (length(cpr) = 10),
    ydernummer TEXT NOT NULL REFERENCES clinics (ydernummer),
    plan_type TEXT NOT NULL CHECK (plan_type IN ('KOL', 'DM2', 'IHD')),
    created_at BIGINT NOT NULL,
    local_date DATE NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'completed', 'cancelled')),
    next_control DATE,
    is_new BOOLEAN NOT NULL,
    content_hash TEXT NOT NULL,
    goals TEXT NOT NULL,
    measurements TEXT NOT NULL,
    PRIMARY KEY (plan_id, source, version)
);
CREATE INDEX plan_versions_patient ON plan_versions (cpr, plan_type, created_at);
CREATE INDEX plan_versions_clinic_date ON plan_versions (ydernummer, local_date);
CREATE INDEX plan_versions_date ON plan_versions (local_date);

-- Distinct by (cpr, plan, instant, event): the same view delivered twice counts once.
CREATE TABLE app_events (
    cpr TEXT NOT NULL,
    source TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('plan_viewed')),
    local_date DATE NOT NULL,
    PRIMARY KEY (cpr, source, plan_id, at, event)
);
CREATE INDEX app_events_date ON app_events (local_date, cpr);

CREATE TABLE milestones (
    number INTEGER PRIMARY KEY NOT NULL CHECK (number >= 1),
    text TEXT NOT NULL CHECK (text <> ''),
    planned DATE NOT NULL,
    reached DATE
);
