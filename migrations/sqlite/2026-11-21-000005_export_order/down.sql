DROP INDEX mappings_export_by_target;
