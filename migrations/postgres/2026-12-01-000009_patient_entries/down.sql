DROP TABLE patient_entries;
DROP FUNCTION patient_entries_append_only();
