-- The daily budget of distinct controlled cells (DOMAIN.md, "Bounded question space"): each
-- cell a user was answered, by its set of persons' identity (size and record-key sum), per
-- Copenhagen day. Shared by every replica through the database; kept across restarts.
CREATE TABLE disclosure_cells (
    day DATE NOT NULL,
    actor_role TEXT NOT NULL,
    actor_sub TEXT NOT NULL,
    cell TEXT NOT NULL,
    PRIMARY KEY (day, actor_role, actor_sub, cell)
);

-- Every ad-hoc question of a region or ministry user, and every question that used up budget,
-- with its text, variables and user, and how many controlled cells it answered. Append-only,
-- like the audit log, so that a sustained attempt at differencing stays visible.
CREATE TABLE question_log (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_sub TEXT NOT NULL,
    operation TEXT,
    trusted BOOLEAN NOT NULL,
    document TEXT NOT NULL,
    variables TEXT NOT NULL,
    cells INTEGER NOT NULL,
    new_cells INTEGER NOT NULL,
    refused BOOLEAN NOT NULL
);
CREATE INDEX question_log_at ON question_log (at);

CREATE FUNCTION question_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'question_log is append-only';
END $$;
CREATE TRIGGER question_log_append_only BEFORE UPDATE OR DELETE ON question_log
FOR EACH ROW EXECUTE FUNCTION question_log_append_only();
