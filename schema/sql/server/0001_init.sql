-- Server schema. Every replicated row carries seq: a change sequence the
-- server assigns inside its one write transaction (counters.seq). A pull
-- cursor is a seq, never a timestamp.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('seq', 0);

CREATE TABLE squads (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    -- jurisdiction bounding box (WGS-84); schools whose zone touches it are visible
    min_lat       REAL NOT NULL,
    min_lng       REAL NOT NULL,
    max_lat       REAL NOT NULL,
    max_lng       REAL NOT NULL,
    -- bumped when the jurisdiction changes: devices then re-pull from scratch
    scope_version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    badge_no      TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'leader', 'inspector')),
    squad_id      INTEGER REFERENCES squads (id),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    seq           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_squad_seq ON users (squad_id, seq);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    revoked_at      TEXT,
    last_sync_at    TEXT,
    clock_offset_ms INTEGER,
    last_hlc        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX devices_user ON devices (user_id);

-- One row per sync: the device clock offset measured at that moment.
CREATE TABLE device_clock_samples (
    device_id   TEXT NOT NULL REFERENCES devices (id),
    at          TEXT NOT NULL,
    offset_ms   INTEGER NOT NULL,
    endpoint    TEXT NOT NULL
);
CREATE INDEX device_clock_samples_device ON device_clock_samples (device_id, at);

-- Bearer tokens, stored as SHA-256 of the token. device_id set for device tokens.
CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    device_id  TEXT REFERENCES devices (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
) WITHOUT ROWID;
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE enrollment_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT
) WITHOUT ROWID;

CREATE TABLE venues (
    id          TEXT PRIMARY KEY,
    squad_id    INTEGER NOT NULL REFERENCES squads (id),
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    licence_no  TEXT NOT NULL DEFAULT '',
    licensed    INTEGER NOT NULL DEFAULT 1,
    phone       TEXT NOT NULL DEFAULT '',
    open_state  TEXT NOT NULL DEFAULT 'open',
    lat         REAL NOT NULL,
    lng         REAL NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    clocks      TEXT NOT NULL DEFAULT '{}', -- JSON: field -> HLC of its last write
    created_by  TEXT NOT NULL DEFAULT '',   -- device id when discovered in the field
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX venues_squad_seq ON venues (squad_id, seq);
CREATE INDEX venues_seq ON venues (seq);

-- Which squads a venue belonged to; left_seq is the seq of the move that
-- took it away, so devices of the old squad can be told to purge it.
CREATE TABLE venue_squad_history (
    venue_id  TEXT NOT NULL REFERENCES venues (id),
    squad_id  INTEGER NOT NULL REFERENCES squads (id),
    from_at   TEXT NOT NULL,
    to_at     TEXT,
    left_seq  INTEGER
);
CREATE INDEX venue_squad_history_left ON venue_squad_history (squad_id, left_seq);
CREATE INDEX venue_squad_history_venue ON venue_squad_history (venue_id);

CREATE TABLE schools (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    address  TEXT NOT NULL DEFAULT '',
    polygon  TEXT NOT NULL, -- JSON ring of [lng, lat]
    min_lat  REAL NOT NULL,
    min_lng  REAL NOT NULL,
    max_lat  REAL NOT NULL,
    max_lng  REAL NOT NULL,
    seq      INTEGER NOT NULL
);
CREATE INDEX schools_seq ON schools (seq);

CREATE TABLE zone_rules (
    id             TEXT PRIMARY KEY,
    body           TEXT NOT NULL, -- JSON schema.ZoneRule
    effective_from TEXT NOT NULL,
    seq            INTEGER NOT NULL
);

CREATE TABLE checklists (
    version TEXT PRIMARY KEY,
    body    TEXT NOT NULL, -- JSON schema.Checklist
    seq     INTEGER NOT NULL
);

CREATE TABLE inspections (
    id                TEXT PRIMARY KEY,
    venue_id          TEXT NOT NULL REFERENCES venues (id),
    squad_id          INTEGER NOT NULL REFERENCES squads (id),
    device_id         TEXT NOT NULL,
    author_id         TEXT NOT NULL,
    checklist_version TEXT NOT NULL,
    status            TEXT NOT NULL,
    inspectors        TEXT NOT NULL, -- JSON []schema.Inspector
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    items             TEXT NOT NULL, -- JSON []schema.ItemResult
    hlc               TEXT NOT NULL,
    time_suspect      INTEGER NOT NULL DEFAULT 0,
    review            TEXT,          -- JSON schema.Review once reviewed
    received_at       TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    seq               INTEGER NOT NULL
);
CREATE INDEX inspections_squad_status ON inspections (squad_id, status, started_at);
CREATE INDEX inspections_author_seq ON inspections (author_id, seq);
CREATE INDEX inspections_venue ON inspections (venue_id, started_at);

-- Every mutation id ever answered, with its answer, written in the same
-- transaction as its effects.
CREATE TABLE applied_mutations (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    conflict_id TEXT NOT NULL DEFAULT '',
    applied_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE conflicts (
    id           TEXT PRIMARY KEY,
    squad_id     INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    field        TEXT NOT NULL DEFAULT '',
    server_value TEXT NOT NULL DEFAULT '',
    device_value TEXT NOT NULL DEFAULT '',
    winner       TEXT NOT NULL,
    mutation_id  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT
);
CREATE INDEX conflicts_squad ON conflicts (squad_id, resolved_at);

-- Photo blobs the server holds (bytes live in the blob store).
CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    media_type  TEXT NOT NULL,
    width       INTEGER NOT NULL DEFAULT 0,
    height      INTEGER NOT NULL DEFAULT 0,
    thumb_key   TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
) WITHOUT ROWID;

-- Which photos each inspection item names as evidence (from the record).
CREATE TABLE inspection_photos (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_id       TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    squad_id      INTEGER NOT NULL,
    device_id     TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id, sha256)
) WITHOUT ROWID;
CREATE INDEX inspection_photos_sha ON inspection_photos (sha256);
