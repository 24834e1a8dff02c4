-- The answers of an inspection become rows: one per answered checklist
-- item, with the severity of the item in the inspection's checklist
-- version, so that a findings ledger and per-item rollups read indexed rows
-- instead of parsing every record. The photos an item names, which
-- inspection_photos held as bare hashes beside the JSON, become whole rows
-- there. The JSON column goes: reads (the API, pulls) come from the rows.
CREATE TABLE inspection_items (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    item_id       TEXT NOT NULL,
    position      INTEGER NOT NULL,         -- order in the record as the device sent it
    result        TEXT NOT NULL,            -- pass, fail, na
    note          TEXT NOT NULL DEFAULT '',
    severity      TEXT NOT NULL DEFAULT '', -- of the item in the inspection's checklist version
    PRIMARY KEY (inspection_id, item_id)
) WITHOUT ROWID;

INSERT INTO inspection_items (inspection_id, item_id, position, result, note, severity)
SELECT i.id, json_extract(it.value, '$.item_id'), it.key, json_extract(it.value, '$.result'),
       coalesce(json_extract(it.value, '$.note'), ''),
       coalesce((SELECT json_extract(ci.value, '$.severity')
                   FROM checklists c, json_each(c.body, '$.items') ci
                  WHERE c.version = i.checklist_version AND json_extract(ci.value, '$.id') = json_extract(it.value, '$.item_id')), '')
  FROM inspections i, json_each(i.items) it;

-- Findings (failed items) by item, for the ledger and per-item rollups:
-- which venues fail NC03, how often each item fails. Passes are not
-- indexed: they are most rows, an index of every answer cost a push about a
-- fifth of its speed, and rollups of a period reach them through the
-- inspections of that period (inspections_squad_status) and the primary key
-- above. The findings of a venue are reached the same way, through
-- inspections_venue.
CREATE INDEX inspection_items_findings ON inspection_items (item_id) WHERE result = 'fail';

-- Every photo reference whole, in the order of its item's list (a photo
-- named twice by one item stays named twice, as in the record).
CREATE TABLE inspection_photos_new (
    inspection_id TEXT NOT NULL,
    item_id       TEXT NOT NULL,
    position      INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    size          INTEGER NOT NULL,
    media_type    TEXT NOT NULL,
    captured_at   TEXT NOT NULL,            -- RFC 3339
    lat           REAL,
    lng           REAL,
    captured_by   TEXT NOT NULL DEFAULT '', -- the device that made the photo
    time_suspect  INTEGER NOT NULL DEFAULT 0,
    squad_id      INTEGER NOT NULL,         -- the inspection's squad and device, for photo access
    device_id     TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id, position),
    FOREIGN KEY (inspection_id, item_id) REFERENCES inspection_items (inspection_id, item_id)
) WITHOUT ROWID;

INSERT INTO inspection_photos_new (inspection_id, item_id, position, sha256, size, media_type, captured_at, lat, lng,
                                   captured_by, time_suspect, squad_id, device_id)
SELECT i.id, json_extract(it.value, '$.item_id'), ph.key, json_extract(ph.value, '$.sha256'), json_extract(ph.value, '$.size'),
       json_extract(ph.value, '$.media_type'),
       json_extract(ph.value, '$.captured_at'), -- RFC 3339 as the device sent it, to the nanosecond
       json_extract(ph.value, '$.lat'), json_extract(ph.value, '$.lng'),
       coalesce(json_extract(ph.value, '$.device_id'), ''), coalesce(json_extract(ph.value, '$.time_suspect'), 0),
       i.squad_id, i.device_id
  FROM inspections i, json_each(i.items) it, json_each(it.value, '$.photos') ph;

DROP TABLE inspection_photos;
ALTER TABLE inspection_photos_new RENAME TO inspection_photos;
CREATE INDEX inspection_photos_sha ON inspection_photos (sha256);

ALTER TABLE inspections DROP COLUMN items;
