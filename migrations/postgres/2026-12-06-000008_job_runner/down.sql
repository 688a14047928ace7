DROP INDEX jobs_one_recheck;
DROP INDEX jobs_state;
CREATE INDEX jobs_state ON jobs (state, node);
ALTER TABLE jobs DROP COLUMN upload_store;
ALTER TABLE jobs DROP COLUMN run_after;
ALTER TABLE jobs DROP COLUMN attempts;
