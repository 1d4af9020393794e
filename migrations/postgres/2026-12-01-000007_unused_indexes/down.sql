CREATE INDEX plan_versions_clinic_date ON plan_versions (ydernummer, local_date);
CREATE INDEX plan_versions_date ON plan_versions (local_date);
CREATE INDEX app_events_date ON app_events (local_date, cpr);
