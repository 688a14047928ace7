-- The job runner (src/app/jobs): any node with free workers claims a queued job, so a job no
-- longer belongs to the node that received it.
--   attempts      how many times a node claimed the job; the current claim's number fences
--                 its writes (a node whose job was taken over cannot end it).
--   run_after     a queued job is not claimed before this moment (retry backoff).
--   upload_store  the upload folder holding the job's files under jobs/<id>/ (its store-id);
--                 only nodes that see that folder claim the job. NULL: no files.
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN run_after TIMESTAMP;
ALTER TABLE jobs ADD COLUMN upload_store TEXT;
-- Jobs left unfinished by the earlier version kept their files where no node finds them now.
UPDATE jobs SET state = 'failed', finished_at = (now() AT TIME ZONE 'UTC'),
    problems = '{"total":1,"items":[{"file":"(job)","kind":"interrupted","message":"the job was left unfinished by an earlier version of hyojun","fix":"upload the release again"}]}'
    WHERE state IN ('queued', 'running');
DROP INDEX jobs_state;
CREATE INDEX jobs_state ON jobs (state, kind, master, id);
-- At most one unfinished re-check per master: nodes that see a new current release at once
-- queue it once.
CREATE UNIQUE INDEX jobs_one_recheck ON jobs (master)
    WHERE kind = 'recheck_mappings' AND state IN ('queued', 'running');
