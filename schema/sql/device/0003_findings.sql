-- The findings ledger of the venues this device sees, as the server last
-- sent it, so that re-checks due are known offline; and the server's
-- version of each own inspection with the finding it was started to
-- re-check.
CREATE TABLE findings (
    id         TEXT PRIMARY KEY,
    venue_id   TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    status     TEXT NOT NULL,
    deadline   TEXT NOT NULL DEFAULT '', -- the order's deadline, '' before an order
    body       TEXT NOT NULL             -- JSON schema.Finding
);
CREATE INDEX findings_venue ON findings (venue_id);

ALTER TABLE inspections ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inspections ADD COLUMN recheck_of TEXT NOT NULL DEFAULT '';
CREATE INDEX inspections_recheck ON inspections (recheck_of) WHERE recheck_of <> '';
