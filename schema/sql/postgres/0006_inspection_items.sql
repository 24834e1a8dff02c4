-- The answers of an inspection become rows, as in sql/server/0006: one
-- per answered checklist item, with the severity of the item in the
-- inspection's checklist version, and the photos an item names become
-- whole rows. The JSON column goes: reads come from the rows.
CREATE TABLE inspection_items (
    inspection_id TEXT COLLATE "C" NOT NULL REFERENCES inspections (id),
    item_id       TEXT NOT NULL,
    position      INTEGER NOT NULL,          -- order in the record as the device sent it
    result        TEXT NOT NULL,             -- pass, fail, na
    note          TEXT NOT NULL DEFAULT '',
    severity      TEXT NOT NULL DEFAULT '',  -- of the item in the inspection's checklist version
    PRIMARY KEY (inspection_id, item_id)
);

INSERT INTO inspection_items (inspection_id, item_id, position, result, note, severity)
SELECT i.id, it.value ->> 'item_id', (it.n - 1)::integer, it.value ->> 'result', coalesce(it.value ->> 'note', ''),
       coalesce((SELECT ci ->> 'severity'
                   FROM checklists c, jsonb_array_elements(c.body::jsonb -> 'items') ci
                  WHERE c.version = i.checklist_version AND ci ->> 'id' = it.value ->> 'item_id' LIMIT 1), '')
  FROM inspections i
 CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(i.items::jsonb) = 'array' THEN i.items::jsonb ELSE '[]'::jsonb END)
       WITH ORDINALITY AS it (value, n);

CREATE INDEX inspection_items_findings ON inspection_items (item_id) WHERE result = 'fail';

-- Every photo reference whole, in the order of its item's list.
DROP TABLE inspection_photos;
CREATE TABLE inspection_photos (
    inspection_id TEXT COLLATE "C" NOT NULL,
    item_id       TEXT NOT NULL,
    position      INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    size          BIGINT NOT NULL,
    media_type    TEXT NOT NULL,
    captured_at   TEXT NOT NULL,             -- RFC 3339
    lat           DOUBLE PRECISION,
    lng           DOUBLE PRECISION,
    captured_by   TEXT NOT NULL DEFAULT '',  -- the device that made the photo
    time_suspect  BOOLEAN NOT NULL DEFAULT false,
    squad_id      BIGINT NOT NULL,           -- the inspection's squad and device, for photo access
    device_id     TEXT NOT NULL,
    PRIMARY KEY (inspection_id, item_id, position),
    FOREIGN KEY (inspection_id, item_id) REFERENCES inspection_items (inspection_id, item_id)
);

INSERT INTO inspection_photos (inspection_id, item_id, position, sha256, size, media_type, captured_at, lat, lng,
                               captured_by, time_suspect, squad_id, device_id)
SELECT i.id, it.value ->> 'item_id', (ph.n - 1)::integer, ph.value ->> 'sha256', (ph.value ->> 'size')::bigint,
       ph.value ->> 'media_type', ph.value ->> 'captured_at',
       (ph.value ->> 'lat')::double precision, (ph.value ->> 'lng')::double precision,
       coalesce(ph.value ->> 'device_id', ''), coalesce((ph.value ->> 'time_suspect')::boolean, false),
       i.squad_id, i.device_id
  FROM inspections i
 CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(i.items::jsonb) = 'array' THEN i.items::jsonb ELSE '[]'::jsonb END) AS it (value)
 CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(it.value -> 'photos') = 'array' THEN it.value -> 'photos' ELSE '[]'::jsonb END)
       WITH ORDINALITY AS ph (value, n);
CREATE INDEX inspection_photos_sha ON inspection_photos (sha256);

ALTER TABLE inspections DROP COLUMN items;
