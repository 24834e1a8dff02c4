-- The inspection lifecycle (submitted → approved | returned → submitted
-- again as a new version) and the findings ledger (台账). The single
-- "reviewed" state of before is mapped onto it: an accepted inspection is
-- approved; one whose review ordered a correction is approved with a
-- finding per failed item ordered corrected within 15 days; one whose
-- review opened a case is approved with its findings escalated.

ALTER TABLE inspections ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE inspections ADD COLUMN recheck_of TEXT NOT NULL DEFAULT '';

-- Every version of an inspection the server accepted, as it was stored,
-- with the review made of it (NULL until one is).
CREATE TABLE inspection_versions (
    inspection_id TEXT NOT NULL REFERENCES inspections (id),
    version       INTEGER NOT NULL,
    hlc           TEXT NOT NULL,
    record        TEXT NOT NULL, -- JSON schema.Inspection
    device_id     TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    review        TEXT,          -- JSON schema.Review
    PRIMARY KEY (inspection_id, version)
) WITHOUT ROWID;

CREATE TABLE findings (
    id                    TEXT PRIMARY KEY,
    inspection_id         TEXT NOT NULL REFERENCES inspections (id),
    venue_id              TEXT NOT NULL REFERENCES venues (id),
    squad_id              INTEGER NOT NULL REFERENCES squads (id), -- the venue's squad: whose ledger it is in
    item_id               TEXT NOT NULL,
    title_zh              TEXT NOT NULL DEFAULT '',
    severity              TEXT NOT NULL DEFAULT '',
    critical              INTEGER NOT NULL DEFAULT 0,
    status                TEXT NOT NULL,
    note                  TEXT NOT NULL DEFAULT '',
    opened_at             TEXT NOT NULL,
    deadline              TEXT,
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
    seq                   INTEGER NOT NULL
);
-- Pull: a squad's findings by change seq.
CREATE INDEX findings_squad_seq ON findings (squad_id, seq);
-- The venue's standing findings of an item, looked up on every approval.
CREATE INDEX findings_venue_item ON findings (venue_id, item_id, status);
-- Ledger pages, keyset by (opened_at, id) or (deadline, id).
CREATE INDEX findings_ledger ON findings (squad_id, status, opened_at, id);
CREATE INDEX findings_opened ON findings (opened_at, id);
CREATE INDEX findings_deadline ON findings (squad_id, deadline, id);
CREATE INDEX findings_inspection ON findings (inspection_id);

-- The last number given to an order to correct in each year (Asia/Shanghai).
CREATE TABLE order_numbers (
    year INTEGER PRIMARY KEY,
    last_n INTEGER NOT NULL
);

-- Findings of the reviews that ordered a correction or opened a case.
-- The review's time is normalised to the stored time format (UTC, fixed
-- width); ids are random UUIDs (version 4).
INSERT INTO findings (id, inspection_id, venue_id, squad_id, item_id, title_zh, severity, critical, status, note, opened_at,
    deadline, order_number, order_action, order_legal_basis, ordered_by, ordered_at, escalated_at, escalated_by, escalation_reason,
    updated_at, seq)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'
         || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
       x.inspection_id, x.venue_id, x.squad_id, x.item_id, x.title_zh, x.severity, x.severity = 'critical',
       CASE x.decision WHEN 'correction_ordered' THEN 'ordered' ELSE 'escalated' END,
       x.note, x.at,
       CASE x.decision WHEN 'correction_ordered' THEN strftime('%Y-%m-%dT%H:%M:%S.000000000Z', x.at, '+15 days') END,
       CASE x.decision WHEN 'correction_ordered' THEN
           '责改〔' || x.year || '〕' || row_number() OVER (PARTITION BY x.decision = 'correction_ordered', x.year ORDER BY x.at, x.inspection_id, x.position) || '号' END,
       CASE x.decision WHEN 'correction_ordered' THEN coalesce(nullif(x.review_note, ''), '按期改正') ELSE '' END,
       CASE x.decision WHEN 'correction_ordered' THEN x.legal_basis ELSE '' END,
       CASE x.decision WHEN 'correction_ordered' THEN x.reviewed_by ELSE '' END,
       CASE x.decision WHEN 'correction_ordered' THEN x.at END,
       CASE x.decision WHEN 'case_opened' THEN x.at END,
       CASE x.decision WHEN 'case_opened' THEN x.reviewed_by ELSE '' END,
       CASE x.decision WHEN 'case_opened' THEN coalesce(nullif(x.review_note, ''), 'case opened at review') ELSE '' END,
       x.at, (SELECT value + 1 FROM counters WHERE name = 'seq')
FROM (
    SELECT i.id AS inspection_id, i.venue_id, v.squad_id, it.item_id, it.position, it.note,
           coalesce(nullif(it.severity, ''), (SELECT json_extract(ci.value, '$.severity') FROM checklists c, json_each(c.body, '$.items') ci
                     WHERE c.version = i.checklist_version AND json_extract(ci.value, '$.id') = it.item_id), '') AS severity,
           json_extract(i.review, '$.decision') AS decision,
           coalesce(json_extract(i.review, '$.reviewed_by'), '') AS reviewed_by,
           coalesce(json_extract(i.review, '$.note'), '') AS review_note,
           strftime('%Y-%m-%dT%H:%M:%S.000000000Z', json_extract(i.review, '$.reviewed_at')) AS at,
           strftime('%Y', json_extract(i.review, '$.reviewed_at'), '+8 hours') AS year,
           coalesce((SELECT json_extract(ci.value, '$.title_zh') FROM checklists c, json_each(c.body, '$.items') ci
                     WHERE c.version = i.checklist_version AND json_extract(ci.value, '$.id') = it.item_id), '') AS title_zh,
           coalesce((SELECT json_extract(ci.value, '$.legal_basis') FROM checklists c, json_each(c.body, '$.items') ci
                     WHERE c.version = i.checklist_version AND json_extract(ci.value, '$.id') = it.item_id), '') AS legal_basis
    FROM inspections i
    JOIN inspection_items it ON it.inspection_id = i.id AND it.result = 'fail'
    JOIN venues v ON v.id = i.venue_id
    WHERE i.status = 'reviewed' AND json_extract(i.review, '$.decision') IN ('correction_ordered', 'case_opened')
) x;

INSERT INTO order_numbers (year, last_n)
SELECT CAST(strftime('%Y', ordered_at, '+8 hours') AS INTEGER), count(*) FROM findings WHERE order_number IS NOT NULL GROUP BY 1;

-- The migrated findings and inspections take one new change seq, so that
-- devices whose cursors are past their old seqs receive them.
UPDATE inspections SET status = 'approved',
    review = json_set(review, '$.decision', 'approved', '$.version', 1),
    seq = (SELECT value + 1 FROM counters WHERE name = 'seq')
WHERE status = 'reviewed';
UPDATE counters SET value = value + 1
WHERE name = 'seq' AND EXISTS (SELECT 1 FROM inspections WHERE seq = (SELECT value + 1 FROM counters WHERE name = 'seq'));

-- Version 1 of every inspection: the record as stored.
INSERT INTO inspection_versions (inspection_id, version, hlc, record, device_id, received_at, review)
SELECT i.id, 1, i.hlc,
       json_object('id', i.id, 'venue_id', i.venue_id, 'squad_id', i.squad_id, 'device_id', i.device_id, 'status', 'submitted',
           'checklist_version', i.checklist_version, 'inspectors', json(i.inspectors), 'started_at', i.started_at,
           'finished_at', i.finished_at,
           'items', json(coalesce((SELECT json_group_array(json(a.item)) FROM (
               SELECT json_object('item_id', it.item_id, 'result', it.result, 'note', it.note,
                   'photos', json(coalesce((SELECT json_group_array(json(b.photo)) FROM (
                       SELECT json_object('sha256', p.sha256, 'size', p.size, 'media_type', p.media_type, 'captured_at', p.captured_at,
                           'lat', p.lat, 'lng', p.lng, 'device_id', p.captured_by, 'time_suspect', json(CASE p.time_suspect WHEN 0 THEN 'false' ELSE 'true' END),
                           'received', json('false')) AS photo
                       FROM inspection_photos p WHERE p.inspection_id = it.inspection_id AND p.item_id = it.item_id ORDER BY p.position) b), '[]'))) AS item
               FROM inspection_items it WHERE it.inspection_id = i.id ORDER BY it.position) a), '[]')),
           'hlc', i.hlc, 'time_suspect', json(CASE i.time_suspect WHEN 0 THEN 'false' ELSE 'true' END), 'version', 1),
       i.device_id, i.received_at, i.review
FROM inspections i;
