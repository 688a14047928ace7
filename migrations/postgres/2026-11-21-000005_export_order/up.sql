-- Exports read mappings in pages by (target system, local code), as a ConceptMap groups
-- them, continuing after the last row of the page before.
CREATE INDEX mappings_export_by_target ON mappings (project_id, target_system, local_code);
