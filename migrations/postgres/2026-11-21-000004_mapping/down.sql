DROP TABLE mapping_candidates;
DROP TABLE mapping_checks;
DROP TABLE mapping_history;
DROP TABLE mappings;
DROP TABLE local_codes;
DROP TABLE mapping_projects;
