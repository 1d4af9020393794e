DROP TABLE milestones;
DROP TABLE app_events;
DROP TABLE plan_versions;
DROP TABLE patients;
DROP TABLE clinics;
DROP TABLE clusters;
