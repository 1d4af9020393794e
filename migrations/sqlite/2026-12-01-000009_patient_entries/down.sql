DROP TABLE patient_entries;
