ALTER TABLE jobs DROP COLUMN heartbeat_at;
