-- Local-to-standard mapping: projects, the local codes a hospital uploads, one mapping per
-- local code with its review state, and the append-only history of every change.
CREATE TABLE mapping_projects (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL,
    -- URI or OID of the hospital's local code system.
    local_system TEXT NOT NULL,
    -- JSON array of the target code system keys.
    target_systems TEXT NOT NULL,
    four_eyes BOOLEAN NOT NULL,
    -- Bumped by every change to the project's local codes or mappings (caches compare it).
    revision BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL
);

CREATE TABLE local_codes (
    project_id BIGINT NOT NULL REFERENCES mapping_projects (id),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    unit TEXT,
    specimen TEXT,
    frequency BIGINT,
    category TEXT,
    -- JSON array of [header, value] for the upload's other columns, in file order.
    extra TEXT NOT NULL,
    -- Missing from the latest upload (its mapping is kept).
    withdrawn BOOLEAN NOT NULL,
    -- The name before the latest upload renamed it.
    previous_name TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, code)
);

CREATE TABLE mappings (
    project_id BIGINT NOT NULL,
    local_code TEXT NOT NULL,
    state TEXT NOT NULL,
    target_system TEXT,
    target_code TEXT,
    target_display TEXT,
    equivalence TEXT,
    comment TEXT NOT NULL,
    author TEXT,
    reviewer TEXT,
    assignee TEXT,
    flag_reason TEXT,
    -- Label of the release the target was chosen in.
    target_release TEXT,
    -- Bumped by every change (clients send it back to detect concurrent edits).
    version BIGINT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, local_code),
    FOREIGN KEY (project_id, local_code) REFERENCES local_codes (project_id, code)
);
CREATE INDEX mappings_state ON mappings (project_id, state);
CREATE INDEX mappings_target ON mappings (target_system, target_code);

CREATE TABLE mapping_history (
    id INTEGER PRIMARY KEY NOT NULL,
    project_id BIGINT NOT NULL,
    local_code TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    -- JSON object: field → [old, new], for the fields the change touched.
    changes TEXT NOT NULL
);
CREATE INDEX mapping_history_code ON mapping_history (project_id, local_code, id);

-- The release each master's mapping targets were last re-checked against: when a master's
-- current release differs, the approved mappings targeting it are checked again.
CREATE TABLE mapping_checks (
    master TEXT PRIMARY KEY NOT NULL,
    release_id BIGINT NOT NULL,
    checked_at TIMESTAMP NOT NULL
);

-- The suggested targets of each local code, best first, as the last candidates job left them.
CREATE TABLE mapping_candidates (
    project_id BIGINT NOT NULL,
    local_code TEXT NOT NULL,
    rank BIGINT NOT NULL,
    target_system TEXT NOT NULL,
    target_code TEXT NOT NULL,
    target_display TEXT NOT NULL,
    score REAL NOT NULL,
    -- JSON array of the reasons, in words.
    reasons TEXT NOT NULL,
    PRIMARY KEY (project_id, local_code, rank)
);
