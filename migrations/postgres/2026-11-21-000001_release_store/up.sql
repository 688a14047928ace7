-- The versioned release store (PostgreSQL). Keep in step with ../../sqlite/.

CREATE TABLE code_systems (
    key TEXT PRIMARY KEY NOT NULL,
    master TEXT NOT NULL,
    name TEXT NOT NULL,
    canonical_url TEXT,
    description TEXT NOT NULL
);

CREATE TABLE code_system_aliases (
    alias TEXT PRIMARY KEY NOT NULL,
    system_key TEXT NOT NULL REFERENCES code_systems (key)
);

-- Every imported release; ids grow with import order and order a master's history.
CREATE TABLE releases (
    id BIGINT PRIMARY KEY NOT NULL,
    master TEXT NOT NULL,
    label TEXT NOT NULL,
    revision BIGINT NOT NULL,
    publication_date DATE,
    effective_date DATE,
    state TEXT NOT NULL,
    previous_release_id BIGINT REFERENCES releases (id),
    content_sha256 TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    imported_at TIMESTAMP NOT NULL,
    imported_by TEXT NOT NULL,
    UNIQUE (master, label, revision)
);

CREATE TABLE release_files (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    byte_size BIGINT NOT NULL,
    row_count BIGINT NOT NULL,
    encoding TEXT NOT NULL,
    PRIMARY KEY (release_id, position)
);

-- Per release and code system: rows, distinct codes, and the change counts vs the previous release.
CREATE TABLE release_stats (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    system_key TEXT NOT NULL,
    row_count BIGINT NOT NULL,
    code_count BIGINT NOT NULL,
    added BIGINT NOT NULL,
    removed BIGINT NOT NULL,
    changed BIGINT NOT NULL,
    PRIMARY KEY (release_id, system_key)
);

-- Notices of the import report that did not stop the import (e.g. HOT7 check digits).
CREATE TABLE release_notices (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    position BIGINT NOT NULL,
    file TEXT NOT NULL,
    line BIGINT,
    column_name TEXT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (release_id, position)
);

-- One version of one master row, valid from release `valid_from` up to (not including)
-- release `valid_to` (NULL: still valid in the newest release of its master).
-- concepts and concept_links are bulk-loaded (100k+ rows per release) and written only by the
-- import transaction, which sets valid_from/valid_to to the release it creates: they carry no
-- foreign keys, whose per-row checks would dominate the load.
CREATE TABLE concepts (
    id BIGINT PRIMARY KEY NOT NULL,
    master TEXT NOT NULL,
    system_key TEXT NOT NULL,
    code TEXT NOT NULL,
    row_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    status TEXT NOT NULL,
    display TEXT NOT NULL,
    attributes TEXT NOT NULL,
    designations TEXT NOT NULL,
    links TEXT NOT NULL
);
CREATE INDEX concepts_code ON concepts (system_key, code);
CREATE INDEX concepts_open ON concepts (master, valid_to, row_key);
CREATE INDEX concepts_from ON concepts (master, valid_from);

-- The reverse index of concepts.links: which concept versions carry (relation 'code') or point
-- to (relation 'successor') a code.
CREATE TABLE concept_links (
    system_key TEXT NOT NULL,
    code TEXT NOT NULL,
    relation TEXT NOT NULL,
    concept_id BIGINT NOT NULL,
    PRIMARY KEY (system_key, code, relation, concept_id)
);

-- The change set of each release against the release before it, by distinct code.
CREATE TABLE release_changes (
    release_id BIGINT NOT NULL REFERENCES releases (id),
    system_key TEXT NOT NULL,
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    display TEXT NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (release_id, system_key, code)
);
CREATE INDEX release_changes_kind ON release_changes (release_id, kind);

-- Which release each master serves, as a history: the current release of a master at time T
-- is its activation with the latest effective_from <= T (set explicitly, never "last imported
-- wins"); an activation may take effect in the future.
CREATE TABLE activations (
    id BIGSERIAL PRIMARY KEY,
    master TEXT NOT NULL,
    release_id BIGINT NOT NULL REFERENCES releases (id),
    effective_from TIMESTAMP NOT NULL,
    activated_at TIMESTAMP NOT NULL,
    activated_by TEXT NOT NULL
);
CREATE INDEX activations_master ON activations (master, effective_from);

-- A single row every writer updates first, so that imports run one at a time.
CREATE TABLE store_lock (
    id BIGINT PRIMARY KEY NOT NULL,
    generation BIGINT NOT NULL
);
INSERT INTO store_lock (id, generation) VALUES (1, 0);
