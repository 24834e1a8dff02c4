-- Nightly compliance rollups. rollup_days holds each squad's figures of one
-- local day (YYYY-MM-DD in the bureau's zone, JSON body of jobs.SquadDay),
-- replaced whenever the day is rolled up again. rollup_months holds the
-- month's record (YYYY-MM), written once, when the first day of the next
-- month is rolled up, and never rewritten. late_arrivals lists inspections
-- received after the month they started in froze: they are kept apart
-- instead of changing the frozen record.
CREATE TABLE rollup_days (
    squad_id    BIGINT NOT NULL,
    day         TEXT COLLATE "C" NOT NULL,
    body        TEXT COLLATE "C" NOT NULL,
    computed_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (squad_id, day)
);
CREATE INDEX rollup_days_day ON rollup_days (day);

CREATE TABLE rollup_months (
    squad_id  BIGINT NOT NULL,
    month     TEXT COLLATE "C" NOT NULL,
    body      TEXT COLLATE "C" NOT NULL,
    frozen_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (squad_id, month)
);
CREATE INDEX rollup_months_month ON rollup_months (month);

CREATE TABLE late_arrivals (
    inspection_id TEXT COLLATE "C" PRIMARY KEY,
    squad_id      BIGINT NOT NULL,
    day           TEXT NOT NULL, -- the local day it was received on
    month         TEXT NOT NULL, -- the frozen month it started in
    received_at   TEXT NOT NULL
);
CREATE INDEX late_arrivals_month ON late_arrivals (month, squad_id);

-- The rollup reads a day's or a month's rows by time range, so each range
-- is an index range instead of a scan of the whole history.
CREATE INDEX inspections_squad_started ON inspections (squad_id, started_at);
CREATE INDEX inspections_received ON inspections (received_at);
CREATE INDEX findings_squad_ordered ON findings (squad_id, ordered_at) WHERE ordered_at IS NOT NULL;
CREATE INDEX findings_squad_closed ON findings (squad_id, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX venues_squad_created ON venues (squad_id, created_at);
