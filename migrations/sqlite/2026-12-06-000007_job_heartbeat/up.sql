-- When a job's node last said it still holds the job (queued or running). A job whose
-- heartbeat is older than the staleness limit belongs to a node that stopped: any node
-- marks it failed, whatever its node name.
ALTER TABLE jobs ADD COLUMN heartbeat_at TIMESTAMP;
UPDATE jobs SET heartbeat_at = created_at;
