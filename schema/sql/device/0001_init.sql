-- Device schema: a local copy of what the server lets this device see,
-- plus the device's own work (drafts, outbox, photos) that survives any
-- crash until the server acknowledged it.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE venues (
    id          TEXT PRIMARY KEY,
    squad_id    INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    licence_no  TEXT NOT NULL DEFAULT '',
    licensed    INTEGER NOT NULL DEFAULT 1,
    phone       TEXT NOT NULL DEFAULT '',
    open_state  TEXT NOT NULL DEFAULT 'open',
    lat         REAL NOT NULL,
    lng         REAL NOT NULL,
    clocks      TEXT NOT NULL DEFAULT '{}',
    local_only  INTEGER NOT NULL DEFAULT 0, -- created here, not yet acknowledged
    updated_at  TEXT NOT NULL DEFAULT ''
);

-- Unsent field edits: a pull never overwrites a field listed here.
CREATE TABLE venue_edits (
    venue_id TEXT NOT NULL,
    field    TEXT NOT NULL,
    value    TEXT NOT NULL,
    hlc      TEXT NOT NULL,
    base     TEXT NOT NULL,
    PRIMARY KEY (venue_id, field)
) WITHOUT ROWID;

CREATE TABLE schools (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE zone_rules (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE checklists (
    version TEXT PRIMARY KEY,
    body    TEXT NOT NULL
);
CREATE TABLE members (
    username TEXT PRIMARY KEY,
    body     TEXT NOT NULL
);

CREATE TABLE inspections (
    id                TEXT PRIMARY KEY,
    venue_id          TEXT NOT NULL,
    squad_id          INTEGER NOT NULL,
    status            TEXT NOT NULL,
    checklist_version TEXT NOT NULL,
    inspectors        TEXT NOT NULL,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    items             TEXT NOT NULL DEFAULT '[]',
    hlc               TEXT NOT NULL DEFAULT '',
    review            TEXT,
    server_status     TEXT NOT NULL DEFAULT '', -- as last pulled
    dirty             INTEGER NOT NULL DEFAULT 0 -- changed here since last acknowledged
);
CREATE INDEX inspections_venue ON inspections (venue_id);

-- The outbox: mutations in the order they were made. A row leaves only in
-- the transaction that records the server's answer for it.
CREATE TABLE outbox (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    entity_id  TEXT NOT NULL,
    body       TEXT NOT NULL, -- JSON schema.Mutation
    created_at TEXT NOT NULL,
    inflight   INTEGER NOT NULL DEFAULT 0,
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_entity ON outbox (entity_id, inflight);

-- Answers that need a person: conflicts and rejections, set aside with their reason.
CREATE TABLE answers (
    mutation_id TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    answered_at TEXT NOT NULL
) WITHOUT ROWID;

-- Photos copied into the device's own store under their hash.
CREATE TABLE photos (
    sha256        TEXT NOT NULL,
    inspection_id TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    size          INTEGER NOT NULL,
    media_type    TEXT NOT NULL,
    captured_at   TEXT NOT NULL,
    lat           REAL,
    lng           REAL,
    time_suspect  INTEGER NOT NULL DEFAULT 0,
    added_at      TEXT NOT NULL,
    PRIMARY KEY (sha256, inspection_id, item_id)
) WITHOUT ROWID;

-- Upload queue: one row per distinct hash until the server holds the bytes.
CREATE TABLE photo_uploads (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    uploaded    INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
