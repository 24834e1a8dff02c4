-- Complaints from the public (12318 / 12345): intake, assignment to the
-- squad whose area holds the venue, investigation by inspections, handling
-- and the reply. contact is the complainant's and never leaves the server
-- for a device. Times are stored like every other (UTC, fixed width).
CREATE TABLE complaints (
    id               TEXT PRIMARY KEY,
    number           TEXT NOT NULL UNIQUE,
    channel          TEXT NOT NULL,
    category         TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    received_by      TEXT NOT NULL,
    contact          TEXT NOT NULL DEFAULT '',
    reply_wanted     INTEGER NOT NULL DEFAULT 0,
    venue_id         TEXT REFERENCES venues (id),
    place            TEXT NOT NULL DEFAULT '',
    lat              REAL,
    lng              REAL,
    content          TEXT NOT NULL,
    squad_id         INTEGER NOT NULL REFERENCES squads (id),
    status           TEXT NOT NULL,
    accept_by        TEXT NOT NULL,
    due              TEXT NOT NULL,
    accepted_at      TEXT,
    accepted_by      TEXT NOT NULL DEFAULT '',
    reject_reason    TEXT NOT NULL DEFAULT '',
    extension_days   INTEGER NOT NULL DEFAULT 0,
    extension_reason TEXT NOT NULL DEFAULT '',
    extension_by     TEXT NOT NULL DEFAULT '',
    extension_at     TEXT,
    handling         TEXT NOT NULL DEFAULT '',
    handled_by       TEXT NOT NULL DEFAULT '',
    handled_at       TEXT,
    reply_text       TEXT NOT NULL DEFAULT '',
    reply_method     TEXT NOT NULL DEFAULT '',
    reply_by         TEXT NOT NULL DEFAULT '',
    reply_at         TEXT,
    closed_by        TEXT NOT NULL DEFAULT '',
    closed_at        TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    seq              INTEGER NOT NULL
);
-- Pull: a squad's complaints by change seq.
CREATE INDEX complaints_squad_seq ON complaints (squad_id, seq);
-- Workbench and API lists, newest first, by squad and state.
CREATE INDEX complaints_squad_status ON complaints (squad_id, status, received_at, id);
CREATE INDEX complaints_received ON complaints (received_at, id);
CREATE INDEX complaints_venue ON complaints (venue_id);

-- A complaint reassigned away from a squad: that squad's devices drop its
-- task (left_seq is the seq of the reassignment).
CREATE TABLE complaint_squad_left (
    complaint_id TEXT NOT NULL REFERENCES complaints (id),
    squad_id     INTEGER NOT NULL REFERENCES squads (id),
    left_seq     INTEGER NOT NULL,
    PRIMARY KEY (complaint_id, squad_id)
);
CREATE INDEX complaint_squad_left_seq ON complaint_squad_left (squad_id, left_seq);

-- The inspections that investigated a complaint.
CREATE TABLE complaint_inspections (
    complaint_id  TEXT NOT NULL REFERENCES complaints (id),
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    linked_at     TEXT NOT NULL,
    PRIMARY KEY (complaint_id, inspection_id)
);
CREATE INDEX complaint_inspections_inspection ON complaint_inspections (inspection_id);

-- The last complaint number given in each year (Asia/Shanghai).
CREATE TABLE complaint_numbers (
    year   INTEGER PRIMARY KEY,
    last_n INTEGER NOT NULL
);

-- The complaint an inspection was started to investigate ('' for none).
ALTER TABLE inspections ADD COLUMN complaint_id TEXT NOT NULL DEFAULT '';
