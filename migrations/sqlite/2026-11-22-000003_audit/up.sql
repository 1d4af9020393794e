-- Every read of person-level data (DOMAIN.md "Audit"): who read (role, sub, clinic), whose
-- data, which operation and types, when, and the request id. Append-only: the triggers refuse
-- any UPDATE or DELETE, so not even a bug in the application can rewrite history.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_sub TEXT NOT NULL,
    actor_clinic TEXT,
    subject_cpr TEXT NOT NULL CHECK (length(subject_cpr) = 10),
    operation TEXT,
    types TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_cpr, at);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
