ALTER TABLE code_systems ALTER COLUMN key TYPE TEXT COLLATE "default";
ALTER TABLE code_system_aliases ALTER COLUMN system_key TYPE TEXT COLLATE "default";
ALTER TABLE concepts
    ALTER COLUMN system_key TYPE TEXT COLLATE "default",
    ALTER COLUMN code TYPE TEXT COLLATE "default",
    ALTER COLUMN row_key TYPE TEXT COLLATE "default";
ALTER TABLE concept_links
    ALTER COLUMN system_key TYPE TEXT COLLATE "default",
    ALTER COLUMN code TYPE TEXT COLLATE "default",
    ALTER COLUMN relation TYPE TEXT COLLATE "default";
ALTER TABLE release_changes
    ALTER COLUMN system_key TYPE TEXT COLLATE "default",
    ALTER COLUMN code TYPE TEXT COLLATE "default";
ALTER TABLE local_codes ALTER COLUMN code TYPE TEXT COLLATE "default";
ALTER TABLE mappings
    ALTER COLUMN local_code TYPE TEXT COLLATE "default",
    ALTER COLUMN target_system TYPE TEXT COLLATE "default",
    ALTER COLUMN target_code TYPE TEXT COLLATE "default";
ALTER TABLE mapping_candidates
    ALTER COLUMN local_code TYPE TEXT COLLATE "default",
    ALTER COLUMN target_system TYPE TEXT COLLATE "default",
    ALTER COLUMN target_code TYPE TEXT COLLATE "default";
ALTER TABLE mapping_history ALTER COLUMN local_code TYPE TEXT COLLATE "default";
