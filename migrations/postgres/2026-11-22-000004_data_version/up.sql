-- Bumped by every import batch: the gateway rebuilds its in-memory rollout aggregates when it
-- changes, so figures stay exact under late-arriving data.
CREATE TABLE data_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO data_version (id, version) VALUES (1, 0);
