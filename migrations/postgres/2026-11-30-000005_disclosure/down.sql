DROP TABLE question_log;
DROP TABLE disclosure_cells;
