-- What the client said, kept apart from what the gateway knows: `request_id` is always the
-- gateway's own id and `operation` the trusted document's name (or "ad hoc"); the caller's
-- x-request-id and operation name are recorded beside them, labelled as the client's.
ALTER TABLE audit_log ADD COLUMN client_request_id TEXT;
ALTER TABLE audit_log ADD COLUMN client_operation TEXT;
