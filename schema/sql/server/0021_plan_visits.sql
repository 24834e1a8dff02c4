-- The patrol plan: each row is one visit of a venue on a local day
-- (YYYY-MM-DD of the bureau's zone; starts_at the instant it begins) by
-- two inspectors (usernames). A plan saved again tombstones the visits it
-- drops (removed_at, new seq), so that the inspectors' devices remove
-- them. done_inspection_id is kept once a save finds the visit done.
CREATE TABLE plan_visits (
    id                 TEXT PRIMARY KEY,
    squad_id           INTEGER NOT NULL REFERENCES squads (id),
    venue_id           TEXT NOT NULL REFERENCES venues (id),
    month              TEXT NOT NULL,
    day                TEXT NOT NULL,
    starts_at          TEXT NOT NULL,
    inspector_a        TEXT NOT NULL,
    inspector_b        TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    done_inspection_id TEXT,
    removed_at         TEXT,
    seq                INTEGER NOT NULL
);
CREATE INDEX plan_visits_squad_month ON plan_visits (squad_id, month, day);
CREATE INDEX plan_visits_a ON plan_visits (inspector_a, seq);
CREATE INDEX plan_visits_b ON plan_visits (inspector_b, seq);
