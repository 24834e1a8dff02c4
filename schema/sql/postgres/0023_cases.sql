-- Cases (立案): a critical or escalated finding, or a confirmed black café,
-- taken up as an administrative case that must be decided within 90 days
-- of opening (行政处罚法 art. 60). source_key names the finding or venue it
-- came from; one source holds at most one case that is not closed.
-- handlers and decision are JSON (schema.Inspector list, schema.CaseDecision).
-- Times are stored like every other (UTC, fixed width).
CREATE TABLE cases (
    id            TEXT PRIMARY KEY,
    number        TEXT NOT NULL UNIQUE,
    squad_id      BIGINT NOT NULL REFERENCES squads (id),
    venue_id      TEXT NOT NULL REFERENCES venues (id),
    source        TEXT NOT NULL,
    source_id     TEXT NOT NULL,
    source_key    TEXT NOT NULL,
    summary       TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    opened_by     TEXT NOT NULL,
    opened_at     TEXT NOT NULL,
    decide_by     TEXT NOT NULL,
    handlers      TEXT NOT NULL DEFAULT '[]',
    decision_type TEXT NOT NULL DEFAULT '',
    decision      TEXT,
    decided_at    TEXT,
    closed_by     TEXT NOT NULL DEFAULT '',
    closed_at     TEXT,
    close_note    TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX cases_one_open_per_source ON cases (source_key) WHERE status <> 'closed';
-- Lists, newest first, by squad and state; overdue reads by decide_by.
CREATE INDEX cases_squad_status ON cases (squad_id, status, opened_at, id);
CREATE INDEX cases_opened ON cases (opened_at, id);
-- Rollups count a squad's open and overdue cases as of a day.
CREATE INDEX cases_squad_opened ON cases (squad_id, opened_at);
CREATE INDEX cases_venue ON cases (venue_id);

-- The evidence attached to a case, in the order it was attached.
CREATE TABLE case_evidence (
    case_id  TEXT NOT NULL REFERENCES cases (id),
    pos      INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    ref      TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT '',
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, ref)
);
CREATE INDEX case_evidence_ref ON case_evidence (kind, ref);

-- The last case number given in each year (Asia/Shanghai).
CREATE TABLE case_numbers (
    year   INTEGER PRIMARY KEY,
    last_n INTEGER NOT NULL
);
