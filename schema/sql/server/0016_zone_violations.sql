-- Standing violations of the school-zone rules: a venue of a kind a rule
-- covers inside a school's zone. A row is cleared (cleared_at, clear_reason),
-- never deleted, when the venue closes or moves out, so the record keeps
-- that it stood there. At most one row per (venue, school) stands at a time.
CREATE TABLE zone_violations (
    id           TEXT PRIMARY KEY,
    venue_id     TEXT NOT NULL REFERENCES venues (id),
    school_id    TEXT NOT NULL REFERENCES schools (id),
    squad_id     INTEGER NOT NULL REFERENCES squads (id),
    rule_id      TEXT NOT NULL,
    distance_m   REAL NOT NULL,
    since        TEXT NOT NULL,
    cleared_at   TEXT,
    clear_reason TEXT NOT NULL DEFAULT '',
    seq          INTEGER NOT NULL
);
CREATE UNIQUE INDEX zone_violations_standing ON zone_violations (venue_id, school_id) WHERE cleared_at IS NULL;
CREATE INDEX zone_violations_squad ON zone_violations (squad_id, cleared_at, since);
CREATE INDEX zone_violations_school ON zone_violations (school_id) WHERE cleared_at IS NULL;
