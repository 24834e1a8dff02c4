-- Server schema, PostgreSQL dialect: the same tables, columns and meaning
-- as sql/server/0001_init.sql. Times are text in schema.TimeFormat (UTC,
-- nanoseconds, fixed width), as in SQLite: both stores keep what devices
-- sent to the nanosecond, text order is time order, and a copy from one
-- store to the other is exact. JSON bodies are text as well: the store
-- writes and reads them whole and never looks inside. Text that is
-- ordered or compared (names, ids, times, HLCs) collates "C", byte by byte
-- as in SQLite, whatever the database's locale.
--
-- Every replicated row carries seq, a change sequence taken from the one
-- counters row 'seq', which a write transaction holds locked from its
-- first seq until it commits: seq order is commit order, so a pull cursor
-- (a seq) never skips a transaction that commits late.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('seq', 0);

CREATE TABLE squads (
    id            BIGINT PRIMARY KEY,
    name          TEXT NOT NULL,
    min_lat       DOUBLE PRECISION NOT NULL,
    min_lng       DOUBLE PRECISION NOT NULL,
    max_lat       DOUBLE PRECISION NOT NULL,
    max_lng       DOUBLE PRECISION NOT NULL,
    scope_version BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    badge_no      TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL CHECK (role IN ('admin', 'leader', 'inspector')),
    squad_id      BIGINT REFERENCES squads (id),
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT false,
    created_at    TEXT NOT NULL,
    seq           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX users_squad_seq ON users (squad_id, seq);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id),
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    revoked_at      TEXT,
    last_sync_at    TEXT,
    clock_offset_ms BIGINT,
    last_hlc        TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE device_clock_samples (
    device_id   TEXT NOT NULL REFERENCES devices (id),
    at          TEXT NOT NULL,
    offset_ms   BIGINT NOT NULL,
    endpoint    TEXT NOT NULL
);
CREATE INDEX device_clock_samples_device ON device_clock_samples (device_id, at);

CREATE TABLE tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    device_id  TEXT REFERENCES devices (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX tokens_user ON tokens (user_id);
-- RevokeDevice revokes a device's tokens by device.
CREATE INDEX tokens_device ON tokens (device_id);

CREATE TABLE enrollment_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT,
    device_id  TEXT
);

CREATE TABLE venues (
    id          TEXT COLLATE "C" PRIMARY KEY,
    squad_id    BIGINT NOT NULL REFERENCES squads (id),
    kind        TEXT NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    licence_no  TEXT NOT NULL DEFAULT '',
    licensed    BOOLEAN NOT NULL DEFAULT true,
    phone       TEXT NOT NULL DEFAULT '',
    open_state  TEXT NOT NULL DEFAULT 'open',
    lat         DOUBLE PRECISION NOT NULL,
    lng         DOUBLE PRECISION NOT NULL,
    deleted     BOOLEAN NOT NULL DEFAULT false,
    clocks      TEXT NOT NULL DEFAULT '{}',
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX venues_squad_seq ON venues (squad_id, seq);
CREATE INDEX venues_seq ON venues (seq);

CREATE TABLE venue_squad_history (
    venue_id  TEXT NOT NULL REFERENCES venues (id),
    squad_id  BIGINT NOT NULL REFERENCES squads (id),
    from_at   TEXT NOT NULL,
    to_at     TEXT COLLATE "C",
    left_seq  BIGINT
);
CREATE INDEX venue_squad_history_left ON venue_squad_history (squad_id, left_seq);
CREATE INDEX venue_squad_history_venue ON venue_squad_history (venue_id);

CREATE TABLE schools (
    id       TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    address  TEXT NOT NULL DEFAULT '',
    polygon  TEXT NOT NULL,
    min_lat  DOUBLE PRECISION NOT NULL,
    min_lng  DOUBLE PRECISION NOT NULL,
    max_lat  DOUBLE PRECISION NOT NULL,
    max_lng  DOUBLE PRECISION NOT NULL,
    seq      BIGINT NOT NULL
);
CREATE INDEX schools_seq ON schools (seq);

CREATE TABLE zone_rules (
    id             TEXT PRIMARY KEY,
    body           TEXT NOT NULL,
    effective_from TEXT NOT NULL,
    seq            BIGINT NOT NULL
);

CREATE TABLE checklists (
    version TEXT PRIMARY KEY,
    body    TEXT NOT NULL,
    seq     BIGINT NOT NULL
);

CREATE TABLE inspections (
    id                TEXT COLLATE "C" PRIMARY KEY,
    venue_id          TEXT NOT NULL REFERENCES venues (id),
    squad_id          BIGINT NOT NULL REFERENCES squads (id),
    device_id         TEXT NOT NULL,
    author_id         TEXT NOT NULL,
    checklist_version TEXT NOT NULL,
    status            TEXT NOT NULL,
    inspectors        TEXT NOT NULL,
    started_at        TEXT COLLATE "C" NOT NULL,
    finished_at       TEXT,
    items             TEXT NOT NULL,
    hlc               TEXT NOT NULL,
    time_suspect      BOOLEAN NOT NULL DEFAULT false,
    review            TEXT,
    received_at       TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    seq               BIGINT NOT NULL
);
CREATE INDEX inspections_squad_status ON inspections (squad_id, status, started_at);
CREATE INDEX inspections_author_seq ON inspections (author_id, seq);
CREATE INDEX inspections_venue ON inspections (venue_id, started_at);

CREATE TABLE applied_mutations (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    code        TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    conflict_id TEXT NOT NULL DEFAULT '',
    applied_at  TEXT NOT NULL
);

CREATE TABLE conflicts (
    id           TEXT COLLATE "C" PRIMARY KEY,
    squad_id     BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    field        TEXT NOT NULL DEFAULT '',
    server_value TEXT NOT NULL DEFAULT '',
    device_value TEXT NOT NULL DEFAULT '',
    winner       TEXT NOT NULL,
    mutation_id  TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT
);
CREATE INDEX conflicts_squad ON conflicts (squad_id, resolved_at);

CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    size        BIGINT NOT NULL,
    media_type  TEXT NOT NULL,
    width       INTEGER NOT NULL DEFAULT 0,
    height      INTEGER NOT NULL DEFAULT 0,
    thumb_key   TEXT NOT NULL DEFAULT '',
    received_at TEXT NOT NULL
);

CREATE TABLE inspection_photos (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_id       TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    squad_id      BIGINT NOT NULL,
    device_id     TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id, sha256)
);
CREATE INDEX inspection_photos_sha ON inspection_photos (sha256);
