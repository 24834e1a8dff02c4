-- Complaints assigned to this device's squad that wait for an
-- investigation (schema.ComplaintTask as pulled, JSON: never the
-- complainant or their contact). `patrol tasks` lists each until this
-- device has a submitted inspection naming it, or the server removes it
-- (handled, closed, rejected, or gone to another squad). A reset pull
-- drops them and sends them again.
CREATE TABLE complaint_tasks (
    id   TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;

-- The complaint an inspection was started to investigate ('' for none);
-- the pushed record carries it and the server links the two.
ALTER TABLE inspections ADD COLUMN complaint_id TEXT NOT NULL DEFAULT '';
CREATE INDEX inspections_complaint ON inspections (complaint_id) WHERE complaint_id <> '';
