-- Digital powers of attorney (fuldmagt) for care plans, from delegations.ndjson: one row per
-- (grantor, delegate); a later line for the pair replaces the row. Whether one holds on a day
-- is decided in code (domain::Delegation::holds_on), from these dates.
CREATE TABLE delegations (
    grantor TEXT NOT NULL CHECK (length(grantor) = 10),
    delegate TEXT NOT NULL CHECK (length(delegate) = 10),
    scope TEXT NOT NULL CHECK (scope = 'forloebsplaner'),
    valid_from DATE NOT NULL,
    valid_to DATE CHECK (valid_to IS NULL OR valid_to > valid_from),
    revoked_on DATE,
    PRIMARY KEY (grantor, delegate),
    CHECK (grantor <> delegate)
);
-- "The people I may act for": a delegate's delegations.
CREATE INDEX delegations_by_delegate ON delegations (delegate);
