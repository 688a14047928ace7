-- Background work (release uploads): state, progress and outcome, readable from every node.
-- Uploaded files live on the disk of the node that received them (column node), which runs
-- the job; a node marks its own unfinished jobs failed when it starts again.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    master TEXT NOT NULL,
    state TEXT NOT NULL,
    node TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    request TEXT NOT NULL,
    progress TEXT NOT NULL,
    problems TEXT NOT NULL,
    result TEXT,
    release_id BIGINT REFERENCES releases (id)
);
CREATE INDEX jobs_state ON jobs (state, node);
