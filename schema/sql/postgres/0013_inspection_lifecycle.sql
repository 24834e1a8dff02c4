-- The inspection lifecycle and the findings ledger: see the SQLite twin of
-- this file for what each table is for and how "reviewed" is mapped.

ALTER TABLE inspections ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE inspections ADD COLUMN recheck_of TEXT NOT NULL DEFAULT '';

CREATE TABLE inspection_versions (
    inspection_id TEXT COLLATE "C" NOT NULL REFERENCES inspections (id),
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    record        TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    review        TEXT,
    PRIMARY KEY (inspection_id, version)
);

CREATE TABLE findings (
    id                    TEXT COLLATE "C" PRIMARY KEY,
    inspection_id         TEXT COLLATE "C" NOT NULL REFERENCES inspections (id),
    venue_id              TEXT COLLATE "C" NOT NULL REFERENCES venues (id),
    squad_id              BIGINT NOT NULL REFERENCES squads (id),
    item_id               TEXT COLLATE "C" NOT NULL,
    title_zh              TEXT NOT NULL DEFAULT '',
    severity              TEXT NOT NULL DEFAULT '',
    critical              BOOLEAN NOT NULL DEFAULT false,
    status                TEXT COLLATE "C" NOT NULL,
    note                  TEXT NOT NULL DEFAULT '',
    opened_at             TEXT COLLATE "C" NOT NULL,
    deadline              TEXT COLLATE "C",
    repeat                INTEGER NOT NULL DEFAULT 0,
    order_number          TEXT UNIQUE,
    order_action          TEXT NOT NULL DEFAULT '',
    order_legal_basis     TEXT NOT NULL DEFAULT '',
    order_comment         TEXT NOT NULL DEFAULT '',
    ordered_by            TEXT NOT NULL DEFAULT '',
    ordered_at            TEXT,
    recheck_inspection_id TEXT NOT NULL DEFAULT '',
    rechecked_at          TEXT,
    closed_at             TEXT,
    closed_by             TEXT NOT NULL DEFAULT '',
    close_note            TEXT NOT NULL DEFAULT '',
    escalated_at          TEXT,
    escalated_by          TEXT NOT NULL DEFAULT '',
    escalation_reason     TEXT NOT NULL DEFAULT '',
    case_id               TEXT NOT NULL DEFAULT '',
    updated_at            TEXT NOT NULL,
    seq                   BIGINT NOT NULL
);
CREATE INDEX findings_squad_seq ON findings (squad_id, seq);
CREATE INDEX findings_venue_item ON findings (venue_id, item_id, status);
CREATE INDEX findings_ledger ON findings (squad_id, status, opened_at, id);
CREATE INDEX findings_opened ON findings (opened_at, id);
CREATE INDEX findings_deadline ON findings (squad_id, deadline, id);
CREATE INDEX findings_inspection ON findings (inspection_id);

CREATE TABLE order_numbers (
    year INTEGER PRIMARY KEY,
    last_n INTEGER NOT NULL
);

INSERT INTO findings (id, inspection_id, venue_id, squad_id, item_id, title_zh, severity, critical, status, note, opened_at,
    deadline, order_number, order_action, order_legal_basis, ordered_by, ordered_at, escalated_at, escalated_by, escalation_reason,
    updated_at, seq)
SELECT gen_random_uuid()::text, x.inspection_id, x.venue_id, x.squad_id, x.item_id, x.title_zh, x.severity, x.severity = 'critical',
       CASE x.decision WHEN 'correction_ordered' THEN 'ordered' ELSE 'escalated' END,
       x.note, to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"'),
       CASE x.decision WHEN 'correction_ordered' THEN to_char((x.at + interval '15 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"') END,
       CASE x.decision WHEN 'correction_ordered' THEN
           '责改〔' || x.year || '〕' || row_number() OVER (PARTITION BY x.decision = 'correction_ordered', x.year ORDER BY x.at, x.inspection_id, x.position) || '号' END,
       CASE x.decision WHEN 'correction_ordered' THEN coalesce(nullif(x.review_note, ''), '按期改正') ELSE '' END,
       CASE x.decision WHEN 'correction_ordered' THEN x.legal_basis ELSE '' END,
       CASE x.decision WHEN 'correction_ordered' THEN x.reviewed_by ELSE '' END,
       CASE x.decision WHEN 'correction_ordered' THEN to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"') END,
       CASE x.decision WHEN 'case_opened' THEN to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"') END,
       CASE x.decision WHEN 'case_opened' THEN x.reviewed_by ELSE '' END,
       CASE x.decision WHEN 'case_opened' THEN coalesce(nullif(x.review_note, ''), 'case opened at review') ELSE '' END,
       to_char(x.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000000000Z"'),
       (SELECT value + 1 FROM counters WHERE name = 'seq')
FROM (
    SELECT i.id AS inspection_id, i.venue_id, v.squad_id, it.item_id, it.position, it.note,
           coalesce(nullif(it.severity, ''), (SELECT ci ->> 'severity' FROM checklists c, jsonb_array_elements(c.body::jsonb -> 'items') ci
                     WHERE c.version = i.checklist_version AND ci ->> 'id' = it.item_id LIMIT 1), '') AS severity,
           i.review::jsonb ->> 'decision' AS decision,
           coalesce(i.review::jsonb ->> 'reviewed_by', '') AS reviewed_by,
           coalesce(i.review::jsonb ->> 'note', '') AS review_note,
           (i.review::jsonb ->> 'reviewed_at')::timestamptz AS at,
           extract(year FROM ((i.review::jsonb ->> 'reviewed_at')::timestamptz AT TIME ZONE 'Asia/Shanghai'))::integer AS year,
           coalesce((SELECT ci ->> 'title_zh' FROM checklists c, jsonb_array_elements(c.body::jsonb -> 'items') ci
                     WHERE c.version = i.checklist_version AND ci ->> 'id' = it.item_id LIMIT 1), '') AS title_zh,
           coalesce((SELECT ci ->> 'legal_basis' FROM checklists c, jsonb_array_elements(c.body::jsonb -> 'items') ci
                     WHERE c.version = i.checklist_version AND ci ->> 'id' = it.item_id LIMIT 1), '') AS legal_basis
    FROM inspections i
    JOIN inspection_items it ON it.inspection_id = i.id AND it.result = 'fail'
    JOIN venues v ON v.id = i.venue_id
    WHERE i.status = 'reviewed' AND i.review::jsonb ->> 'decision' IN ('correction_ordered', 'case_opened')
) x;

INSERT INTO order_numbers (year, last_n)
SELECT extract(year FROM (ordered_at::timestamptz AT TIME ZONE 'Asia/Shanghai'))::integer, count(*)
FROM findings WHERE order_number IS NOT NULL GROUP BY 1;

UPDATE inspections SET status = 'approved',
    review = jsonb_set(jsonb_set(review::jsonb, '{decision}', '"approved"'), '{version}', '1')::text,
    seq = (SELECT value + 1 FROM counters WHERE name = 'seq')
WHERE status = 'reviewed';
UPDATE counters SET value = value + 1
WHERE name = 'seq' AND EXISTS (SELECT 1 FROM inspections WHERE seq = (SELECT value + 1 FROM counters WHERE name = 'seq'));

INSERT INTO inspection_versions (inspection_id, version, hlc, record, device_id, received_at, review)
SELECT i.id, 1, i.hlc,
       jsonb_build_object('id', i.id, 'venue_id', i.venue_id, 'squad_id', i.squad_id, 'device_id', i.device_id, 'status', 'submitted',
           'checklist_version', i.checklist_version, 'inspectors', i.inspectors::jsonb, 'started_at', i.started_at,
           'finished_at', i.finished_at,
           'items', coalesce((SELECT jsonb_agg(jsonb_build_object('item_id', it.item_id, 'result', it.result, 'note', it.note,
                   'photos', coalesce((SELECT jsonb_agg(jsonb_build_object('sha256', p.sha256, 'size', p.size, 'media_type', p.media_type,
                           'captured_at', p.captured_at, 'lat', p.lat, 'lng', p.lng, 'device_id', p.captured_by,
                           'time_suspect', p.time_suspect, 'received', false) ORDER BY p.position)
                       FROM inspection_photos p WHERE p.inspection_id = it.inspection_id AND p.item_id = it.item_id), '[]'::jsonb))
                   ORDER BY it.position)
               FROM inspection_items it WHERE it.inspection_id = i.id), '[]'::jsonb),
           'hlc', i.hlc, 'time_suspect', i.time_suspect, 'version', 1)::text,
       i.device_id, i.received_at, i.review
FROM inspections i;
