-- Codes, keys and local codes compare and sort by bytes (COLLATE "C"), as SQLite's BINARY
-- does and whatever the database's default collation: every ORDER BY and every keyset page
-- (`local_code > $last`) then comes out the same on both backends.
ALTER TABLE code_systems ALTER COLUMN key TYPE TEXT COLLATE "C";
ALTER TABLE code_system_aliases ALTER COLUMN system_key TYPE TEXT COLLATE "C";
ALTER TABLE concepts
    ALTER COLUMN system_key TYPE TEXT COLLATE "C",
    ALTER COLUMN code TYPE TEXT COLLATE "C",
    ALTER COLUMN row_key TYPE TEXT COLLATE "C";
ALTER TABLE concept_links
    ALTER COLUMN system_key TYPE TEXT COLLATE "C",
    ALTER COLUMN code TYPE TEXT COLLATE "C",
    ALTER COLUMN relation TYPE TEXT COLLATE "C";
ALTER TABLE release_changes
    ALTER COLUMN system_key TYPE TEXT COLLATE "C",
    ALTER COLUMN code TYPE TEXT COLLATE "C";
ALTER TABLE local_codes ALTER COLUMN code TYPE TEXT COLLATE "C";
ALTER TABLE mappings
    ALTER COLUMN local_code TYPE TEXT COLLATE "C",
    ALTER COLUMN target_system TYPE TEXT COLLATE "C",
    ALTER COLUMN target_code TYPE TEXT COLLATE "C";
ALTER TABLE mapping_candidates
    ALTER COLUMN local_code TYPE TEXT COLLATE "C",
    ALTER COLUMN target_system TYPE TEXT COLLATE "C",
    ALTER COLUMN target_code TYPE TEXT COLLATE "C";
ALTER TABLE mapping_history ALTER COLUMN local_code TYPE TEXT COLLATE "C";
