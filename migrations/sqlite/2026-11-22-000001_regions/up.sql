-- The five Danish regions: reference data every clinic, cluster and figure hangs on.
CREATE TABLE regions (
    code TEXT PRIMARY KEY NOT NULL CHECK (code IN ('1081', '1082', '1083', '1084', '1085')),
    name TEXT NOT NULL
);

INSERT INTO regions (code, name) VALUES
    ('1081', 'Region Nordjylland'),
    ('1082', 'Region Midtjylland'),
    ('1083', 'Region Syddanmark'),
    ('1084', 'Region Hovedstaden'),
    ('1085', 'Region Sjælland');
